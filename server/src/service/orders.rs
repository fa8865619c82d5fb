//! Orders: creating one and charging its primary payment exactly once, settling charges whose
//! gateway answer was never recorded (after a crash, on start-up), and reading orders back.

use super::*;

impl Service {
    /// `POST /v1/orders`.
    pub fn create_order(&self, key: Option<&str>, req: &CreateOrderRequest) -> ApiResult<Reply> {
        let key = IdemKey {
            endpoint: "create_order",
            scope: String::new(),
            key: required_key(key)?,
        };
        let fp = fingerprint(key.endpoint, "", req)?;
        let _guard = match self.enter(&key, &fp)? {
            Ok(replay) => return Ok(replay),
            Err(guard) => guard,
        };

        // Validation: answered without storing anything.
        if !is_plausible_email(&req.buyer.email) {
            return Err(ApiError::field(
                "invalid_email",
                "buyer.email",
                "not a valid e-mail address",
            ));
        }
        let rule = tax_rule(&req.buyer.country, "buyer.country")?;
        if req.payment_token.is_empty() || req.payment_token.len() > 255 {
            return Err(ApiError::field(
                "invalid_payment_token",
                "payment_token",
                "the payment token is not valid",
            ));
        }
        let offer = self.offer_for(&req.offer_id)?;
        if req.exit_offer && offer.exit_offer.is_none() {
            return Err(ApiError::field(
                "not_available",
                "exit_offer",
                "this offer has no exit offer",
            ));
        }
        if req.bump && offer.bump.is_none() {
            return Err(ApiError::field(
                "not_available",
                "bump",
                "this offer has no order bump",
            ));
        }
        if req.holdout {
            holdout_allows(&offer, req)?;
        }
        let resolved = resolve_for_sale(&offer, req.variant.as_deref())?;
        let pair = quote_pair(&resolved, &rule, req.exit_offer).map_err(quote_error)?;
        let quote = if req.bump {
            &pair.with_bump
        } else {
            &pair.without_bump
        };
        // What is charged is what was shown: an offer edited since the quote is asked again.
        if req.expected_total.is_some_and(|shown| shown != quote.total) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "price_changed",
                "The price has changed since it was shown. Check the new total, then pay again.",
            )
            .with_quote(quote_response(&resolved, pair, &req.buyer.country)));
        }
        let quote = quote.clone();

        // Save the payment method (idempotent per key + request at the provider).
        let pm = self
            .gateway
            .attach(
                &req.payment_token,
                &format!(
                    "attach_{}",
                    sha256_hex(format!("{}\n{fp}", key.key).as_bytes())
                ),
            )
            .map_err(gateway_error)?;

        let order_id = random_id("ord_").map_err(id_error)?;
        let new = NewOrder {
            header: OrderHeader {
                id: order_id.clone(),
                offer_id: offer.id.clone(),
                variant: resolved.variant.clone(),
                currency: resolved.currency.code().to_string(),
                tax_mode: resolved.tax_mode,
                country: req.buyer.country.clone(),
                email: req.buyer.email.clone(),
                bump: req.bump,
                exit_offer: req.exit_offer,
                holdout: req.holdout,
                payment_method: pm.id,
                card_brand: pm.brand,
                card_last4: pm.last4,
                offer,
            },
            lines: quote
                .lines
                .iter()
                .map(|l| NewLine {
                    kind: l.kind,
                    label: l.label.clone(),
                    amount: l.amount,
                    tax_amount: l.tax_amount,
                    rate_bp: rule.rate_bp,
                })
                .collect(),
            charge: NewCharge {
                id: random_id("ch_").map_err(id_error)?,
                kind: ChargeKind::Primary,
                amount: quote.total,
            },
        };
        // Locked before it exists, so no recovery (of another process) can take it.
        let lock = self.charge_lock(&new.charge.id)?.ok_or_else(in_progress)?;
        let (order_id, lock) = match self
            .store
            .begin_order(&key, &fp, &new, now_secs())
            .map_err(storage)?
        {
            Begin::Started => (order_id, Some(lock)),
            Begin::Existing(rec) => match existing(&rec, &fp)? {
                Some(replay) => return Ok(replay),
                None => (rec.resource_id, None), // left in flight by a crashed process: resume it
            },
        };
        self.finish_primary(&key, &order_id, lock)
    }

    /// The lease of a charge, held while it is sent and its answer recorded, so that a recovery
    /// (of any process) never decides about a charge that a live request is sending. `None`: held.
    pub(super) fn charge_lock(&self, charge_id: &str) -> ApiResult<Option<Lease>> {
        self.lock(&IdemKey {
            endpoint: "charge",
            scope: String::new(),
            key: charge_id.to_string(),
        })
    }

    /// Drives a pending charge (its [`Self::charge_lock`] held by the caller) to the gateway's
    /// answer, records it, and returns the order as it stands afterwards. The charge id is the
    /// gateway's idempotency key. Recovery asks the gateway for the charge by that key; one the
    /// gateway never received is sent now if it is a primary charge younger than
    /// [`RESEND_PRIMARY_SECS`], else recorded as declined `payment_interrupted` (nothing taken).
    pub(super) fn settle_pending(
        &self,
        order_id: &str,
        charge_id: &str,
        drive: Drive,
        _lock: &Lease,
    ) -> ApiResult<OrderRecord> {
        // Read under the lock: whoever held it before may have settled it.
        let order = self.load(order_id)?;
        let Some(charge) = order
            .charges
            .iter()
            .find(|c| c.id == charge_id && c.status == ChargeStatus::Pending)
        else {
            return Ok(order);
        };
        let primary = charge.kind == ChargeKind::Primary;
        let found = match drive {
            Drive::Send => None,
            Drive::Recover => self
                .gateway
                .find_by_key(&charge.id)
                .map_err(gateway_error)?,
        };
        let send = drive == Drive::Send
            || (primary && now_secs().saturating_sub(charge.created_at) < RESEND_PRIMARY_SECS);
        let answer = match found {
            Some(g) => Some(g),
            None if send => Some(
                self.gateway
                    .charge(&ChargeRequest {
                        payment_method: &order.header.payment_method,
                        amount: charge.amount,
                        currency: &order.header.currency,
                        purpose: if primary {
                            Purpose::Primary
                        } else {
                            Purpose::AddOn
                        },
                        idempotency_key: &charge.id,
                        order_id,
                    })
                    .map_err(gateway_error)?,
            ),
            None => None,
        };
        let update = match answer {
            Some(g) => charge_update(&charge.id, &g),
            None => ChargeUpdate {
                charge_id: charge.id.clone(),
                status: ChargeStatus::Declined,
                gateway_ref: None,
                action_url: None,
                decline: owned(INTERRUPTED),
            },
        };
        self.store
            .update_charge(&update, now_secs())
            .map_err(storage)?;
        self.load(order_id)
    }

    /// Charges the primary payment (if not done yet) and stores the response.
    fn finish_primary(
        &self,
        key: &IdemKey,
        order_id: &str,
        lock: Option<Lease>,
    ) -> ApiResult<Reply> {
        let charge_id = primary(&self.load(order_id)?)?.id.clone();
        let lock = match lock {
            Some(lock) => lock,
            None => self.charge_lock(&charge_id)?.ok_or_else(in_progress)?,
        };
        let order = self.settle_pending(order_id, &charge_id, Drive::Send, &lock)?;
        let charge = primary(&order)?;
        let status = order_status(charge.status);
        let res = CreateOrderResponse {
            order_id: order.header.id.clone(),
            order_secret: self.order_secret(&order.header.id),
            resume_pass: resume_pass(
                &self.secret,
                &order.header.id,
                order.created_at + RESUME_WINDOW_SECS,
            ),
            status,
            next_action: next_action_of(charge),
            decline: decline_of(charge),
            card: card(&order),
            receipt: if status == OrderStatus::Paid {
                Some(receipt(&order)?)
            } else {
                None
            },
        };
        let body = to_json(&res)?;
        self.store
            .complete_idempotency(key, 201, &body, now_secs())
            .map_err(storage)?;
        Ok(Reply {
            status: 201,
            body,
            replayed: false,
        })
    }

    /// Brings the order's unsettled charges (all, or those of `only`) in line with the gateway and
    /// records what it says: a pending charge that no request is sending is recovered
    /// ([`Self::settle_pending`]), a processing or 3-D Secure one is retrieved, or voided if the
    /// shopper canceled it, and a canceled charge that took money anyway is refunded.
    pub(super) fn refresh(
        &self,
        order: OrderRecord,
        only: Option<ChargeKind>,
    ) -> ApiResult<OrderRecord> {
        let order_id = order.header.id.clone();
        let mut changed = false;
        for c in order
            .charges
            .iter()
            .filter(|c| only.is_none_or(|k| k == c.kind))
        {
            match (c.status, &c.gateway_ref) {
                (ChargeStatus::Pending, _) => {
                    // Held: a live request (of any process on the store) is sending it.
                    if let Some(lock) = self.charge_lock(&c.id)? {
                        self.settle_pending(&order_id, &c.id, Drive::Recover, &lock)?;
                        changed = true;
                    }
                }
                (ChargeStatus::Processing | ChargeStatus::RequiresAction, Some(reference)) => {
                    let g = match c.canceled_at {
                        Some(_) => self.gateway.void(reference),
                        None => self.gateway.retrieve(reference),
                    }
                    .map_err(gateway_error)?;
                    let update = charge_update(&c.id, &g);
                    if update.status != c.status {
                        self.store
                            .update_charge(&update, now_secs())
                            .map_err(storage)?;
                        changed = true;
                    }
                }
                _ => {}
            }
        }
        let order = if changed {
            self.load(&order_id)?
        } else {
            order
        };
        let owed = owed_refunds(&order, only);
        if owed.is_empty() {
            return Ok(order);
        }
        for line_id in &owed {
            match self.refund_line(&order, line_id, Some("3-D Secure canceled by the shopper")) {
                Ok(_) => {}
                // A concurrent call on the order got there first.
                Err(e) if e.code == "line_already_refunded" => {}
                Err(e) => return Err(e),
            }
        }
        self.load(&order_id)
    }

    /// Start-up recovery: drives every charge a crash left without its recorded outcome, and every
    /// canceled charge not yet voided or refunded, to the gateway's answer. A failure is logged and
    /// left to the next call on that order. Returns how many orders were looked at.
    pub fn recover(&self) -> usize {
        let ids = match self.store.orders_to_recover() {
            Ok(ids) => ids,
            Err(e) => {
                eprintln!("momentum-server: recovery: {e}");
                return 0;
            }
        };
        for id in &ids {
            if let Err(e) = self.load(id).and_then(|o| self.refresh(o, None)) {
                eprintln!("momentum-server: recovery of order {id}: {}", e.message);
            }
        }
        if !ids.is_empty() {
            eprintln!(
                "momentum-server: recovered {} order(s) left unsettled",
                ids.len()
            );
        }
        ids.len()
    }

    /// `GET /v1/orders/{id}`.
    pub fn order(&self, order_id: &str, bearer: Option<&str>) -> ApiResult<OrderView> {
        let order = self.authorized_order(order_id, bearer)?;
        let order = self.refresh(order, None)?;
        let p = primary(&order)?;
        Ok(OrderView {
            order_id: order.header.id.clone(),
            status: order_status(p.status),
            next_action: order.charges.iter().find_map(next_action_of),
            decline: decline_of(p),
            card: card(&order),
            receipt: receipt(&order)?,
        })
    }

    /// `GET /v1/admin/orders?email=…` (admin key): every order placed with `email`.
    pub fn orders_by_email(&self, email: &str, bearer: Option<&str>) -> ApiResult<BuyerOrders> {
        self.require_admin(bearer)?;
        let email = email.trim();
        if !is_plausible_email(email) {
            return Err(ApiError::field(
                "invalid_email",
                "email",
                "must be an email address",
            ));
        }
        let ids = self.store.order_ids_by_email(email).map_err(storage)?;
        let orders = ids
            .iter()
            .map(|id| self.order(id, bearer))
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(BuyerOrders {
            email: email.to_string(),
            orders,
        })
    }
}
