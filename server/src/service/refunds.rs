//! Refunds: one per line, of what the line charged, through the gateway (the creator's call).

use super::*;

impl Service {
    /// `POST /v1/orders/{id}/lines/{line}/refund` (admin).
    pub fn refund(
        &self,
        order_id: &str,
        line_id: &str,
        bearer: Option<&str>,
        req: &RefundRequest,
    ) -> ApiResult<RefundResponse> {
        self.require_admin(bearer)?;
        if req.reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
            return Err(ApiError::field(
                "too_long",
                "reason",
                "must be at most 500 characters",
            ));
        }
        // A charge a crash left pending is settled first, so a line it paid can be refunded.
        let order = self.refresh(self.load(order_id)?, None)?;
        let refund_id = self.refund_line(&order, line_id, req.reason.as_deref())?;
        let order = self.load(order_id)?;
        let receipt = receipt(&order)?;
        let view = receipt
            .refunds
            .iter()
            .find(|r| r.id == refund_id)
            .cloned()
            .ok_or_else(ApiError::internal)?;
        Ok(RefundResponse {
            refund: view,
            receipt,
        })
    }

    /// Refunds one line of `order` in full (its amount, plus its tax when tax is exclusive) and
    /// returns the refund's id. The refund is recorded before the gateway call and its id is the
    /// gateway's idempotency key, so calling again after a failure resumes it.
    pub(super) fn refund_line(
        &self,
        order: &OrderRecord,
        line_id: &str,
        reason: Option<&str>,
    ) -> ApiResult<String> {
        let order_id = order.header.id.as_str();
        let line = order
            .lines
            .iter()
            .find(|l| l.id == line_id)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "line_not_found",
                    "no such line on this order",
                )
            })?;
        let charge = order
            .charges
            .iter()
            .find(|c| c.id == line.charge_id)
            .ok_or_else(ApiError::internal)?;
        let Some(reference) = charge
            .gateway_ref
            .clone()
            .filter(|_| charge.status == ChargeStatus::Succeeded)
        else {
            return Err(conflict("line_not_refundable", "this line was not paid"));
        };
        let amount = refundable_amount(order, line)?;
        let new = RefundRecord {
            id: random_id("re_").map_err(id_error)?,
            line_id: line.id.clone(),
            charge_id: charge.id.clone(),
            amount,
            gateway_ref: None,
            created_at: 0,
        };
        let refund = match self
            .store
            .begin_refund(order_id, line_id, &new, reason, now_secs())
            .map_err(storage)?
        {
            BeginRefund::AlreadyRefunded(_) => {
                return Err(conflict(
                    "line_already_refunded",
                    "this line was already refunded",
                ))
            }
            BeginRefund::Go(r) => r,
        };
        let gref = self
            .gateway
            .refund(&reference, refund.amount, &refund.id)
            .map_err(gateway_error)?;
        self.store
            .complete_refund(&refund.id, &gref, now_secs())
            .map_err(storage)?;
        Ok(refund.id)
    }
}
