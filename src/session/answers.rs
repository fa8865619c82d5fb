//! Reading the backend's answers: a payment call's onto the state machine, quotes and receipts
//! into the session's types. An answer that cannot be used says what to tell the shopper and, for
//! the `momentum:error` event, what was wrong.

use momentum_core::api::{card_label, OfferAnswers, OfferState};
use momentum_core::checkout::Outcome;
use momentum_core::i18n::{self, Msg};
use momentum_core::money::Currency;
use momentum_core::tax::TaxMode;
use wasm_bindgen::JsValue;

use super::{ChargeLine, Quotes, Receipt};
use crate::api_client::ApiError;
use crate::{decode, js};

/// What to tell the shopper, and the detail for the creator (the event's message).
pub(super) type Unreadable = (Msg, String);

/// An answer's JSON, or what its failure means for a charge: unknown (ask again, same key) or a
/// definite refusal.
pub(super) fn answer_json(answer: Result<JsValue, ApiError>) -> Result<JsValue, Outcome> {
    answer.map_err(|error| match error.outcome_unknown() {
        true => Outcome::Unknown,
        false => Outcome::Rejected {
            code: error.code().to_owned(),
            message: error.message(),
        },
    })
}

/// Maps a create-order / order-status / confirm / add-on answer onto the state machine.
/// Confirm and add-on answers carry no `order_id`: `known_order` fills it in.
pub(super) fn outcome(
    answer: Result<JsValue, ApiError>,
    status_field: &str,
    known_order: Option<&str>,
) -> Outcome {
    let json = match answer_json(answer) {
        Ok(json) => json,
        Err(outcome) => return outcome,
    };
    let order_id = js::get_string(&json, "order_id")
        .or_else(|| known_order.map(str::to_owned))
        .unwrap_or_default();
    let decline = js::get(&json, "decline");
    match js::get_string(&json, status_field).as_deref() {
        Some("paid" | "succeeded" | "already_applied") => Outcome::Paid { order_id },
        Some("processing") => Outcome::Processing { order_id },
        Some("requires_action") => match js::get_string(&js::get(&json, "next_action"), "url") {
            Some(url) => Outcome::RequiresAction { order_id, url },
            None => Outcome::Unknown,
        },
        Some("declined") => Outcome::Declined {
            code: js::get_string(&decline, "code").unwrap_or_else(|| "declined".into()),
            message: js::get_string(&decline, "message")
                .unwrap_or_else(|| "The payment was declined.".into()),
        },
        _ => Outcome::Unknown,
    }
}

pub(super) fn read_quotes(
    json: &JsValue,
    country: &str,
    exit_offer: bool,
) -> Result<Quotes, Unreadable> {
    let code = js::get_string(json, "currency").unwrap_or_default();
    let currency = Currency::from_code(&code)
        .map_err(|_| unreadable(["quote: unknown currency ", &code].concat()))?;
    let tax_mode = js::get_string(json, "tax_mode")
        .and_then(|m| TaxMode::parse(&m))
        .ok_or_else(|| unreadable("quote: missing tax_mode".into()))?;
    let read = |key: &str| {
        decode::quote(&js::get(json, key), key)
            .map_err(|e| unreadable(["quote: ", &e.to_string()].concat()))
            .and_then(|q| match q.check(tax_mode) {
                true => Ok(q),
                false => Err(mismatch()),
            })
    };
    Ok(Quotes {
        currency,
        tax_mode,
        without_bump: read("without_bump")?,
        with_bump: read("with_bump")?,
        country: country.to_owned(),
        exit_offer,
    })
}

fn mismatch() -> Unreadable {
    let detail =
        "The order total does not equal the sum of its lines, so this purchase is blocked.";
    (Msg::TotalsMismatch, detail.into())
}

/// An answer the widget cannot use: the shopper hears of a fault on the server's side; the event
/// says what was wrong.
fn unreadable(detail: String) -> Unreadable {
    (Msg::ServerError, detail)
}

/// A call that failed, in the same terms.
pub(super) fn failed(error: &ApiError) -> Unreadable {
    let shopper = i18n::for_code(error.code()).unwrap_or(Msg::ServerError);
    (shopper, error.message())
}

pub(super) fn read_receipt(json: &JsValue) -> Result<Receipt, Unreadable> {
    let invalid = |what: &str| unreadable(["receipt: ", what].concat());
    let code = js::get_string(json, "currency").unwrap_or_default();
    let currency = Currency::from_code(&code).map_err(|_| invalid("unknown currency"))?;
    let tax_mode = js::get_string(json, "tax_mode")
        .and_then(|m| TaxMode::parse(&m))
        .ok_or_else(|| invalid("missing tax_mode"))?;
    let money = decode::quote(json, "receipt").map_err(|e| unreadable(e.to_string()))?;
    if !money.check(tax_mode) {
        return Err(mismatch());
    }
    let charges: Vec<ChargeLine> = js_sys::Array::from(&js::get(json, "charges"))
        .iter()
        .filter(|c| js::get_string(c, "status").as_deref() == Some("succeeded"))
        .map(|c| {
            let card = js::get(&c, "card");
            ChargeLine {
                kind: js::get_string(&c, "kind").unwrap_or_default(),
                amount: js::get_integer(&c, "amount").unwrap_or(0),
                card: card_label(
                    &js::get_string(&card, "brand").unwrap_or_default(),
                    &js::get_string(&card, "last4").unwrap_or_default(),
                ),
            }
        })
        .collect();
    let offers = js::get(json, "offers");
    let answers = OfferAnswers {
        bump: js::get(&offers, "bump").as_bool().unwrap_or(false),
        upsell: offer_state(&offers, "upsell"),
        downsell: offer_state(&offers, "downsell"),
    };
    Ok(Receipt {
        order_id: js::get_string(json, "order_id").ok_or_else(|| invalid("missing order_id"))?,
        currency,
        money,
        card: charges.first().map(|c| c.card.clone()).unwrap_or_default(),
        charges,
        refund_terms: js::get_string(json, "refund_terms").unwrap_or_default(),
        email: js::get_string(json, "email").unwrap_or_default(),
        country: js::get_string(json, "country").unwrap_or_default(),
        answers,
    })
}

/// An add-on's state in the receipt's `offers`; anything unreadable counts as answered, so a
/// garbled answer can never show an offer twice.
pub(super) fn offer_state(offers: &JsValue, kind: &str) -> OfferState {
    match js::get_string(offers, kind).as_deref() {
        Some("open") => OfferState::Open,
        Some("pending") => OfferState::Pending,
        Some("locked") => OfferState::Locked,
        Some("accepted") => OfferState::Accepted,
        Some("declined") => OfferState::Declined,
        Some("failed") => OfferState::Failed,
        Some("not_available") => OfferState::NotAvailable,
        _ => OfferState::Closed,
    }
}
