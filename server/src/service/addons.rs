//! After the primary payment: an add-on charged to the saved card, and "No thanks".

use super::*;

impl Service {
    /// `POST /v1/orders/{id}/addons`.
    pub fn addon(
        &self,
        order_id: &str,
        bearer: Option<&str>,
        key: Option<&str>,
        req: &AddonRequest,
    ) -> ApiResult<Reply> {
        let key = IdemKey {
            endpoint: "addon",
            scope: order_id.to_string(),
            key: required_key(key)?,
        };
        let order = self.authorized_order(order_id, bearer)?;
        let fp = fingerprint(key.endpoint, order_id, req)?;
        let _guard = match self.enter(&key, &fp)? {
            Ok(replay) => return Ok(replay),
            Err(guard) => guard,
        };
        // A charge a crash left pending is settled first, so the rules below see the truth.
        let order = self.refresh(order, None)?;
        let kind = req.offer;
        let resolved = resolve(&order.header.offer, order.header.variant.as_deref())?;
        let rule = tax_rule(&order.header.country, "country")?;
        let Some(q) = addon_quote(&resolved, kind.line_kind(), &rule).map_err(quote_error)? else {
            return Err(refusal_error(Refusal::NotAvailable));
        };
        let Some(ql) = q.lines.first() else {
            return Err(ApiError::internal());
        };
        let new_line = NewLine {
            kind: ql.kind,
            label: ql.label.clone(),
            amount: ql.amount,
            tax_amount: ql.tax_amount,
            rate_bp: rule.rate_bp,
        };
        let charge = NewCharge {
            id: random_id("ch_").map_err(id_error)?,
            kind: kind.charge_kind(),
            amount: q.total,
        };
        // Locked before it exists, so no recovery can take it for one a crash left behind.
        let mut lock = self.charge_lock(&charge.id)?.ok_or_else(in_progress)?;
        let charge_id = match self
            .store
            .begin_addon(&key, &fp, order_id, &new_line, &charge, now_secs())
            .map_err(storage)?
        {
            BeginAddon::Started => charge.id,
            BeginAddon::Existing(rec) => match existing(&rec, &fp)? {
                Some(replay) => return Ok(replay),
                None => {
                    lock = self
                        .charge_lock(&rec.resource_id)?
                        .ok_or_else(in_progress)?;
                    rec.resource_id
                }
            },
            BeginAddon::Refused(Refusal::AlreadyApplied) => {
                // Not stored: the answer is derived from the order, which only moves forward.
                let order = self.load(order_id)?;
                let res = AddonResponse {
                    offer: kind,
                    status: AddonStatus::AlreadyApplied,
                    next: Next::Receipt,
                    next_action: None,
                    decline: None,
                    receipt: receipt(&order)?,
                };
                return Ok(Reply {
                    status: 200,
                    body: to_json(&res)?,
                    replayed: false,
                });
            }
            BeginAddon::Refused(r) => return Err(refusal_error(r)),
        };
        self.finish_addon(&key, order_id, &charge_id, kind, &lock)
    }

    fn finish_addon(
        &self,
        key: &IdemKey,
        order_id: &str,
        charge_id: &str,
        kind: AddonKind,
        lock: &Lease,
    ) -> ApiResult<Reply> {
        let order = self.settle_pending(order_id, charge_id, Drive::Send, lock)?;
        let charge = order
            .charges
            .iter()
            .find(|c| c.id == charge_id)
            .ok_or_else(ApiError::internal)?;
        let status = match charge.status {
            ChargeStatus::Succeeded => AddonStatus::Succeeded,
            ChargeStatus::RequiresAction => AddonStatus::RequiresAction,
            ChargeStatus::Declined => AddonStatus::Declined,
            ChargeStatus::Pending | ChargeStatus::Processing => AddonStatus::Processing,
        };
        let res = AddonResponse {
            offer: kind,
            status,
            next: Next::Receipt,
            next_action: next_action_of(charge),
            decline: decline_of(charge),
            receipt: receipt(&order)?,
        };
        let body = to_json(&res)?;
        self.store
            .complete_idempotency(key, 200, &body, now_secs())
            .map_err(storage)?;
        Ok(Reply {
            status: 200,
            body,
            replayed: false,
        })
    }

    /// `POST /v1/orders/{id}/decline`.
    pub fn decline(
        &self,
        order_id: &str,
        bearer: Option<&str>,
        req: &DeclineOfferRequest,
    ) -> ApiResult<DeclineOfferResponse> {
        let order = self.authorized_order(order_id, bearer)?;
        self.refresh(order, None)?;
        match self
            .store
            .record_decline(order_id, req.offer, now_secs())
            .map_err(storage)?
        {
            DeclineOutcome::Recorded | DeclineOutcome::Refused(Refusal::AlreadyDeclined) => {}
            DeclineOutcome::Refused(r) => return Err(refusal_error(r)),
        }
        let order = self.load(order_id)?;
        Ok(DeclineOfferResponse {
            offer: req.offer,
            next: funnel(&order).next_after_decline(req.offer),
            receipt: receipt(&order)?,
        })
    }
}
