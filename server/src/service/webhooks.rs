//! What a payment provider reports on its own (webhooks): charges settled, refunds and disputes
//! made in its dashboard, recorded onto the order.

use super::*;

impl Service {
    /// A provider reported a change to one of the order's charges: asks the gateway where its
    /// unsettled charges stand and records it (the same as polling the order).
    pub fn settle_order(&self, order_id: &str) -> ApiResult<()> {
        self.refresh(self.load(order_id)?, None).map(|_| ())
    }

    /// Puts the provider's refunds of `charge_id` onto the receipt: ours complete their record (a
    /// crash may have lost the answer); one made in the provider's dashboard refunds the unrefunded
    /// line of that charge whose amount it equals, or all of them when it equals their sum. Any
    /// other amount is logged and left to the creator (receipt lines are refunded whole). Returns
    /// how many refunds it recorded.
    pub fn record_provider_refunds(
        &self,
        order_id: &str,
        charge_id: &str,
        refunds: &[ProviderRefund],
    ) -> ApiResult<usize> {
        let mut recorded = 0;
        for r in refunds {
            let order = self.load(order_id)?;
            if let Some(ours) = &r.ours {
                if order
                    .refunds
                    .iter()
                    .any(|x| &x.id == ours && x.gateway_ref.is_none())
                {
                    self.store
                        .complete_refund(ours, &r.id, now_secs())
                        .map_err(storage)?;
                    recorded += 1;
                }
                continue;
            }
            if order
                .refunds
                .iter()
                .any(|x| x.gateway_ref.as_deref() == Some(r.id.as_str()))
            {
                continue;
            }
            let paid = order
                .charges
                .iter()
                .any(|c| c.id == charge_id && c.status == ChargeStatus::Succeeded);
            let mut open = Vec::new();
            for line in order
                .lines
                .iter()
                .filter(|l| paid && l.charge_id == charge_id)
            {
                if !order.refunds.iter().any(|x| x.line_id == line.id) {
                    open.push((line, refundable_amount(&order, line)?));
                }
            }
            let sum = open
                .iter()
                .try_fold(0i64, |acc, (_, a)| acc.checked_add(*a))
                .ok_or_else(ApiError::internal)?;
            let lines: Vec<_> = match open.iter().find(|(_, a)| *a == r.amount) {
                Some(one) => vec![*one],
                None if sum == r.amount && sum > 0 => open,
                None => {
                    eprintln!(
                        "momentum-server: provider refund {} of {} on order {order_id} matches no \
                         unrefunded line; not recorded on the receipt",
                        r.id, r.amount
                    );
                    continue;
                }
            };
            for (line, amount) in lines {
                let new = RefundRecord {
                    id: random_id("re_").map_err(id_error)?,
                    line_id: line.id.clone(),
                    charge_id: charge_id.to_string(),
                    amount,
                    gateway_ref: None,
                    created_at: 0,
                };
                let reason = Some("refunded in the payment provider's dashboard");
                // Only a record made here: one found instead is a refund of ours in flight,
                // which completes itself.
                let begun = self
                    .store
                    .begin_refund(order_id, &line.id, &new, reason, now_secs())
                    .map_err(storage)?;
                if matches!(&begun, BeginRefund::Go(rec) if rec.id == new.id) {
                    self.store
                        .complete_refund(&new.id, &r.id, now_secs())
                        .map_err(storage)?;
                    recorded += 1;
                }
            }
        }
        Ok(recorded)
    }

    /// The provider reported a dispute (chargeback) of `amount` on `charge_id`: the receipt's
    /// history says so (`dispute_opened`), once per charge.
    pub fn record_dispute(&self, order_id: &str, charge_id: &str, amount: i64) -> ApiResult<bool> {
        let order = self.load(order_id)?;
        if !order.charges.iter().any(|c| c.id == charge_id) {
            return Err(ApiError::internal());
        }
        if order
            .events
            .iter()
            .any(|e| e.kind == "dispute_opened" && e.charge_id.as_deref() == Some(charge_id))
        {
            return Ok(false);
        }
        let event = EventRecord {
            kind: "dispute_opened".into(),
            at: now_secs(),
            charge_id: Some(charge_id.to_string()),
            line_id: None,
            amount: Some(amount),
        };
        self.store
            .add_order_event(order_id, &event)
            .map_err(storage)?;
        Ok(true)
    }

    /// Whether a provider's webhook event was handled before.
    pub fn webhook_seen(&self, provider: &str, event_id: &str) -> ApiResult<bool> {
        self.store
            .webhook_event_seen(provider, event_id)
            .map_err(storage)
    }

    /// Records a provider's webhook event id; `false` when it was handled before.
    pub fn first_delivery(&self, provider: &str, event_id: &str) -> ApiResult<bool> {
        self.store
            .record_webhook_event(provider, event_id, now_secs())
            .map_err(storage)
    }
}
