//! What an order looks like to its buyer and to the rules: the itemized receipt, the funnel
//! position, the card, declines and next actions.

use super::*;

pub(super) fn funnel(o: &OrderRecord) -> Funnel {
    let mut f = Funnel {
        primary: ChargeStatus::Pending,
        // The holdout is offered no add-ons.
        has_upsell: !o.header.holdout && o.header.offer.upsell.is_some(),
        has_downsell: !o.header.holdout && o.header.offer.downsell.is_some(),
        upsell: Slot::Open,
        downsell: Slot::Open,
    };
    for c in &o.charges {
        match c.kind {
            ChargeKind::Primary => f.primary = c.status,
            ChargeKind::Upsell => f.upsell = Slot::Charge(c.status),
            ChargeKind::Downsell => f.downsell = Slot::Charge(c.status),
        }
    }
    for k in &o.declined {
        match k {
            AddonKind::Upsell => f.upsell = Slot::Declined,
            AddonKind::Downsell => f.downsell = Slot::Declined,
        }
    }
    f
}

pub(super) fn primary(o: &OrderRecord) -> ApiResult<&ChargeRecord> {
    o.charges
        .iter()
        .find(|c| c.kind == ChargeKind::Primary)
        .ok_or_else(ApiError::internal)
}

pub(super) fn decline_of(c: &ChargeRecord) -> Option<Decline> {
    c.decline.as_ref().map(|(code, message)| Decline {
        code: code.clone(),
        message: message.clone(),
    })
}

pub(super) fn next_action_of(c: &ChargeRecord) -> Option<NextAction> {
    match (c.status, &c.action_url) {
        (ChargeStatus::RequiresAction, Some(url)) => {
            Some(NextAction::Redirect { url: url.clone() })
        }
        _ => None,
    }
}

/// What refunding `line` returns to the card: its amount, plus its tax when tax is exclusive.
pub(super) fn refundable_amount(order: &OrderRecord, line: &LineRecord) -> ApiResult<i64> {
    match order.header.tax_mode {
        TaxMode::Inclusive => Ok(line.amount),
        TaxMode::Exclusive => line
            .amount
            .checked_add(line.tax_amount)
            .ok_or_else(ApiError::internal),
    }
}

pub(super) fn card(o: &OrderRecord) -> CardSummary {
    CardSummary {
        brand: o.header.card_brand.clone(),
        last4: o.header.card_last4.clone(),
    }
}

/// The itemized receipt of an order: paid lines only; total = Σ lines (+ added tax).
pub fn receipt(o: &OrderRecord) -> ApiResult<Receipt> {
    let paid = |charge_id: &str| {
        o.charges
            .iter()
            .any(|c| c.id == charge_id && c.status == ChargeStatus::Succeeded)
    };
    let refunded_line = |line: &str| {
        o.refunds
            .iter()
            .any(|r| r.line_id == line && r.gateway_ref.is_some())
    };
    let lines: Vec<ReceiptLine> = o
        .lines
        .iter()
        .filter(|l| paid(&l.charge_id))
        .map(|l| ReceiptLine {
            id: l.id.clone(),
            kind: l.kind,
            label: l.label.clone(),
            amount: l.amount,
            tax_amount: l.tax_amount,
            charge_id: l.charge_id.clone(),
            refunded: refunded_line(&l.id),
        })
        .collect();
    let overflow = || {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_out_of_range",
            "amount out of range",
        )
    };
    let mut tax: Vec<TaxLine> = Vec::new();
    let rule = TaxRule::for_country(&o.header.country).ok();
    for l in o
        .lines
        .iter()
        .filter(|l| paid(&l.charge_id) && l.rate_bp > 0)
    {
        match tax.iter_mut().find(|t| t.rate_bp == l.rate_bp) {
            Some(t) => t.amount = t.amount.checked_add(l.tax_amount).ok_or_else(overflow)?,
            None => tax.push(TaxLine {
                label: rule
                    .map(|r| {
                        TaxRule {
                            rate_bp: l.rate_bp,
                            ..r
                        }
                        .label()
                    })
                    .unwrap_or_else(|| "VAT".into()),
                rate_bp: l.rate_bp,
                amount: l.tax_amount,
                included: o.header.tax_mode == TaxMode::Inclusive,
            }),
        }
    }
    let mut total: i64 = 0;
    for l in &lines {
        let charged = match o.header.tax_mode {
            TaxMode::Inclusive => l.amount,
            TaxMode::Exclusive => l.amount.checked_add(l.tax_amount).ok_or_else(overflow)?,
        };
        total = total.checked_add(charged).ok_or_else(overflow)?;
    }
    let refunds: Vec<RefundView> = o
        .refunds
        .iter()
        .filter(|r| r.gateway_ref.is_some())
        .map(|r| RefundView {
            id: r.id.clone(),
            line_id: r.line_id.clone(),
            amount: r.amount,
            created_at: r.created_at,
        })
        .collect();
    let refunded = refunds
        .iter()
        .try_fold(0i64, |a, r| a.checked_add(r.amount))
        .ok_or_else(overflow)?;
    let f = funnel(o);
    let c = card(o);
    Ok(Receipt {
        order_id: o.header.id.clone(),
        status: order_status(f.primary),
        offer_id: o.header.offer_id.clone(),
        variant: o.header.variant.clone(),
        exit_offer: o.header.exit_offer,
        holdout: o.header.holdout,
        currency: o.header.currency.clone(),
        exponent: Currency::from_code(&o.header.currency)
            .map(|c| c.exponent())
            .unwrap_or(2),
        tax_mode: o.header.tax_mode,
        email: o.header.email.clone(),
        country: o.header.country.clone(),
        lines,
        tax,
        total,
        refunded,
        net: total.checked_sub(refunded).ok_or_else(overflow)?,
        charges: o
            .charges
            .iter()
            .map(|ch| ChargeView {
                id: ch.id.clone(),
                kind: ch.kind,
                amount: ch.amount,
                status: ch.status,
                card: c.clone(),
                decline: decline_of(ch),
                created_at: ch.created_at,
            })
            .collect(),
        refunds,
        offers: OfferAnswers {
            bump: o.header.bump,
            upsell: f.state(AddonKind::Upsell),
            downsell: f.state(AddonKind::Downsell),
        },
        events: o
            .events
            .iter()
            .map(|e| EventView {
                kind: e.kind.clone(),
                at: e.at,
                charge_id: e.charge_id.clone(),
                line_id: e.line_id.clone(),
                amount: e.amount,
            })
            .collect(),
        refund_terms: o.header.offer.refund_terms.clone(),
        created_at: o.created_at,
    })
}
