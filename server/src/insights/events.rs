//! `POST /v1/events`: the widget's funnel, one batch of one visit's events per request.
//!
//! Read strictly ([`crate::http::parse_json`]): an unknown field anywhere is refused naming it, so
//! a batch can never carry a payment token, an e-mail or card data, not even by mistake.

use momentum_core::metrics::Step;
use momentum_core::money::Currency;
use momentum_core::offer::OfferConfig;
use serde::{Deserialize, Serialize};

use super::store::NewEvent;
use crate::error::{ApiError, ApiResult};

/// Most events in one batch (the widget sends at most this many).
pub const MAX_EVENTS: usize = 50;

/// The largest `at`: JavaScript's largest safe integer (`Number.MAX_SAFE_INTEGER`), far beyond
/// any `Date.now()`.
pub const MAX_AT_MS: i64 = (1 << 53) - 1;

/// The request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    /// The widget's anonymous visit id: 32 lowercase hex digits, random per tab.
    pub visit_id: String,
    /// The offer shown.
    pub offer_id: String,
    /// The variant shown (`null` or absent: the base offer, or the holdout).
    #[serde(default)]
    pub variant: Option<String>,
    /// The visitor is in the offer's holdout.
    #[serde(default)]
    pub holdout: bool,
    /// The currency the checkout showed (the offer's).
    pub currency: String,
    /// 1 to [`MAX_EVENTS`] events.
    pub events: Vec<EventIn>,
}

/// One event of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventIn {
    /// A funnel step (`momentum_core::metrics::Step::as_str`): `checkout_viewed`, `paid`, …
    pub name: String,
    /// When, in milliseconds since the Unix epoch by the widget's clock (an integer). It orders the
    /// visit's bump toggles and tells a resent event from a new one; days come from the server's
    /// clock, so a shopper's clock set wrong does not move the visit.
    pub at: i64,
    /// Only with `bump_toggled`, and required there: the bump's state after the toggle.
    #[serde(default)]
    pub checked: Option<bool>,
}

fn is_visit_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The batch's own rules (everything but the offer): the visit id, the number of events, each
/// event's name, time (`0..=`[`MAX_AT_MS`]) and `checked`.
pub fn check_batch(batch: &EventBatch) -> ApiResult<Vec<NewEvent>> {
    if !is_visit_id(&batch.visit_id) {
        return Err(ApiError::field(
            "invalid_id",
            "visit_id",
            "must be 32 lowercase hexadecimal digits",
        ));
    }
    if batch.events.is_empty() || batch.events.len() > MAX_EVENTS {
        return Err(ApiError::field(
            "invalid_field",
            "events",
            format!(
                "send 1 to {MAX_EVENTS} events per batch (this one has {})",
                batch.events.len()
            ),
        ));
    }
    batch
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let field = |name: &str| format!("events[{i}].{name}");
            let step = Step::ALL
                .into_iter()
                .find(|s| s.as_str() == e.name)
                .ok_or_else(|| {
                    ApiError::field(
                        "invalid_field",
                        field("name"),
                        format!("{:?} is not a funnel step", e.name),
                    )
                })?;
            if !(0..=MAX_AT_MS).contains(&e.at) {
                return Err(ApiError::field(
                    "invalid_field",
                    field("at"),
                    "must be the event's time in milliseconds since the Unix epoch",
                ));
            }
            match (step, e.checked) {
                (Step::BumpToggled, None) => Err(ApiError::field(
                    "missing_field",
                    field("checked"),
                    "bump_toggled needs `checked`, the bump's state after the toggle",
                )),
                (Step::BumpToggled, checked) => Ok(NewEvent {
                    step,
                    at_ms: e.at,
                    checked,
                }),
                (_, Some(_)) => Err(ApiError::field(
                    "invalid_field",
                    field("checked"),
                    "only bump_toggled carries `checked`",
                )),
                (_, None) => Ok(NewEvent {
                    step,
                    at_ms: e.at,
                    checked: None,
                }),
            }
        })
        .collect()
}

/// The batch against its offer: the variant is one of the offer's (paused ones included: a visit
/// may outlive the pause), the holdout exists, the currency is the offer's.
pub fn check_against_offer(batch: &EventBatch, offer: &OfferConfig) -> ApiResult<()> {
    if let Some(variant) = &batch.variant {
        if !offer.variants.iter().any(|v| &v.id == variant) {
            return Err(ApiError::field(
                "unknown_variant",
                "variant",
                "this offer has no such variant",
            ));
        }
    }
    if batch.holdout && offer.holdout.is_none() {
        return Err(ApiError::field(
            "not_available",
            "holdout",
            "this offer has no holdout",
        ));
    }
    if Currency::from_code(&batch.currency).is_err() {
        return Err(ApiError::field(
            "unknown_currency",
            "currency",
            format!("unknown currency {:?}", batch.currency),
        ));
    }
    if batch.currency != offer.currency {
        return Err(ApiError::field(
            "invalid_field",
            "currency",
            format!("must be the offer's currency, {}", offer.currency),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(events: serde_json::Value) -> EventBatch {
        serde_json::from_value(serde_json::json!({
            "visit_id": "0123456789abcdef0123456789abcdef", "offer_id": "creator-course",
            "variant": null, "holdout": false, "currency": "EUR", "events": events,
        }))
        .expect("batch")
    }

    #[test]
    fn bump_toggles_carry_their_state_and_nothing_else_does() {
        let now: i64 = 1_767_225_600_000;
        let ok = batch(serde_json::json!([
            {"name": "checkout_viewed", "at": now},
            {"name": "bump_toggled", "at": now + 1, "checked": true},
        ]));
        let events = check_batch(&ok).expect("valid");
        assert_eq!(events[1].checked, Some(true));
        let missing = batch(serde_json::json!([{"name": "bump_toggled", "at": now}]));
        let e = check_batch(&missing).expect_err("no checked");
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("missing_field", Some("events[0].checked"))
        );
        let extra = batch(serde_json::json!([{"name": "paid", "at": now, "checked": false}]));
        let e = check_batch(&extra).expect_err("checked on paid");
        assert_eq!(e.field.as_deref(), Some("events[0].checked"));
    }

    #[test]
    fn names_times_and_ids_are_checked() {
        let now: i64 = 1_767_225_600_000;
        let prefixed = batch(serde_json::json!([{"name": "momentum:paid", "at": now}]));
        let e = check_batch(&prefixed).expect_err("prefixed name");
        assert_eq!(e.field.as_deref(), Some("events[0].name"));
        for bad in [-1, MAX_AT_MS + 1] {
            let b = batch(serde_json::json!([{"name": "paid", "at": bad}]));
            assert_eq!(
                check_batch(&b).expect_err("out of range").field.as_deref(),
                Some("events[0].at")
            );
        }
        let mut upper = batch(serde_json::json!([{"name": "paid", "at": now}]));
        upper.visit_id = upper.visit_id.to_uppercase();
        assert_eq!(check_batch(&upper).expect_err("upper").code, "invalid_id");
        let none = batch(serde_json::json!([]));
        assert_eq!(
            check_batch(&none).expect_err("empty").field.as_deref(),
            Some("events")
        );
    }
}
