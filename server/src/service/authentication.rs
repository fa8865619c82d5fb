//! The end of a 3-D Secure check, of the primary charge or an add-on: confirmed, or canceled by
//! the shopper (then voided, so nothing is taken).

use super::*;

impl Service {
    /// `POST /v1/orders/{id}/confirm`.
    pub fn confirm(
        &self,
        order_id: &str,
        bearer: Option<&str>,
        req: &ConfirmRequest,
    ) -> ApiResult<ConfirmResponse> {
        let order = self.authorized_order(order_id, bearer)?;
        let kind = target_kind(req.target);
        let order = self.refresh(order, Some(kind))?;
        let charge = order
            .charges
            .iter()
            .find(|c| c.kind == kind)
            .ok_or_else(|| {
                conflict(
                    "nothing_to_confirm",
                    "there is no such charge on this order",
                )
            })?;
        if charge.status == ChargeStatus::Pending {
            return Err(still_processing());
        }
        charge_answer(&order, req.target, charge)
    }

    /// `POST /v1/orders/{id}/cancel`: the shopper abandoned the 3-D Secure check of `target`. The
    /// charge is voided at the gateway and never captured afterwards; if the bank's approval won
    /// the race, the charge is refunded at once (the checkout said nothing was charged).
    pub fn cancel(
        &self,
        order_id: &str,
        bearer: Option<&str>,
        req: &ConfirmRequest,
    ) -> ApiResult<ConfirmResponse> {
        let order = self.authorized_order(order_id, bearer)?;
        let kind = target_kind(req.target);
        let order = self.refresh(order, Some(kind))?;
        let nothing = || {
            conflict(
                "nothing_to_cancel",
                "this charge has no 3-D Secure check to cancel",
            )
        };
        let charge = order
            .charges
            .iter()
            .find(|c| c.kind == kind)
            .ok_or_else(nothing)?;
        let challenged = charge.status == ChargeStatus::RequiresAction
            || order.events.iter().any(|e| {
                e.kind == "payment_requires_action" && e.charge_id.as_deref() == Some(&charge.id)
            });
        // A shopper who went on to the add-ons did not abandon the primary payment.
        let moved_on = kind == ChargeKind::Primary
            && (!order.declined.is_empty() || order.charges.iter().any(|c| c.kind != kind));
        match charge.status {
            ChargeStatus::Pending => Err(still_processing()),
            _ if !challenged || moved_on => Err(nothing()),
            // Declined or authentication failed: nothing was taken, nothing to undo.
            ChargeStatus::Declined => charge_answer(&order, req.target, charge),
            _ => {
                self.store
                    .request_cancel(&charge.id, now_secs())
                    .map_err(storage)?;
                let order = self.refresh(self.load(order_id)?, Some(kind))?;
                let charge = order
                    .charges
                    .iter()
                    .find(|c| c.kind == kind)
                    .ok_or_else(ApiError::internal)?;
                charge_answer(&order, req.target, charge)
            }
        }
    }
}
