//! `POST /v1/webhooks/stripe`: Stripe's events, verified by their `Stripe-Signature` and handled
//! once per event id. PaymentIntent events settle the order's charges (by asking Stripe, as a poll
//! would); refunds and disputes made in Stripe's dashboard go onto the receipt.

use std::sync::Arc;

use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::service::Service;
use crate::stripe_gateway::StripeGateway;
use crate::util::{constant_time_eq, hex, hmac_sha256};

/// Events older (or further in the future) than this are refused: a captured request cannot be
/// replayed later. Stripe's libraries use the same default.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No `Stripe-Signature` header.
    Missing,
    /// The header has no `t=` timestamp or no `v1=` signature.
    Malformed,
    /// The timestamp is outside [`TOLERANCE_SECS`].
    Stale,
    /// No `v1` signature matches (wrong secret, or a changed body).
    Mismatch,
}

impl SignatureError {
    fn message(self) -> &'static str {
        match self {
            SignatureError::Missing => "the Stripe-Signature header is missing",
            SignatureError::Malformed => {
                "the Stripe-Signature header needs a t= timestamp and a v1= signature"
            }
            SignatureError::Stale => "the Stripe-Signature timestamp is too old (or in the future)",
            SignatureError::Mismatch => {
                "the Stripe-Signature does not match the body (check STRIPE_WEBHOOK_SECRET)"
            }
        }
    }
}

/// The `Stripe-Signature` header value for `payload` at time `t` (what Stripe sends).
pub fn sign(payload: &[u8], secret: &str, t: i64) -> String {
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(payload);
    format!("t={t},v1={}", hex(&hmac_sha256(secret.as_bytes(), &signed)))
}

/// Checks `header` against `payload`: `HMAC-SHA256(secret, "<t>.<payload>")` equals one of the
/// `v1` signatures (compared in constant time), and `t` is within [`TOLERANCE_SECS`] of `now`.
pub fn verify(
    header: Option<&str>,
    payload: &[u8],
    secret: &str,
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(t) > TOLERANCE_SECS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(payload);
    let expected = hex(&hmac_sha256(secret.as_bytes(), &signed));
    // Every candidate is compared, so the time taken does not say which one came close.
    let matched = signatures.iter().fold(false, |found, s| {
        constant_time_eq(s.as_bytes(), expected.as_bytes()) | found
    });
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// What became of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// Acted on.
    Applied,
    /// Seen before (same event id): nothing done.
    Duplicate,
    /// Not about one of our payments, or a type we do not use.
    Ignored,
}

/// The webhook endpoint's state: the service, the gateway (to read what an event refers to) and
/// the signing secret (`STRIPE_WEBHOOK_SECRET`).
pub struct StripeWebhooks {
    /// The API logic.
    pub service: Arc<Service>,
    /// Stripe.
    pub gateway: Arc<StripeGateway>,
    /// Signing secret (`whsec_…`).
    pub secret: String,
}

fn bad_signature(e: SignatureError) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "invalid_signature",
        e.message(),
    )
}

fn gateway(e: crate::gateway::GatewayError) -> ApiError {
    eprintln!("momentum-server: stripe webhook: {e}");
    ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "gateway_unavailable",
        "Stripe could not be asked about this event; deliver it again later",
    )
}

impl StripeWebhooks {
    /// Verifies and handles one delivery. An error leaves the event unrecorded, so Stripe's
    /// retry of it is handled.
    pub fn receive(&self, signature: Option<&str>, body: &[u8], now: i64) -> ApiResult<Handled> {
        verify(signature, body, &self.secret, now).map_err(bad_signature)?;
        let event: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the event is not JSON: {e}"),
            )
        })?;
        let (Some(id), Some(kind)) = (event["id"].as_str(), event["type"].as_str()) else {
            return Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_event",
                "the event has no id or type",
            ));
        };
        if self.seen(id)? {
            return Ok(Handled::Duplicate);
        }
        let object = &event["data"]["object"];
        let handled = match self.apply(kind, object) {
            // Metadata naming an order this backend does not have (another installation on the
            // same Stripe account): acknowledged, or Stripe would retry it for days.
            Err(e) if e.code == "order_not_found" => Handled::Ignored,
            other => other?,
        };
        // Recorded once handled: two deliveries racing both apply, which every handler allows.
        if !self.service.first_delivery("stripe", id)? {
            return Ok(Handled::Duplicate);
        }
        Ok(handled)
    }

    fn seen(&self, id: &str) -> ApiResult<bool> {
        self.service.webhook_seen("stripe", id)
    }

    fn apply(&self, kind: &str, object: &Value) -> ApiResult<Handled> {
        match kind {
            "payment_intent.succeeded"
            | "payment_intent.processing"
            | "payment_intent.payment_failed"
            | "payment_intent.canceled"
            | "payment_intent.requires_action" => {
                match object["metadata"]["momentum_order_id"].as_str() {
                    Some(order_id) => {
                        self.service.settle_order(order_id)?;
                        Ok(Handled::Applied)
                    }
                    None => Ok(Handled::Ignored),
                }
            }
            "charge.refunded" | "charge.refund.updated" | "refund.created" | "refund.updated" => {
                let Some((intent, order_id, charge_id)) = self.ours(object)? else {
                    return Ok(Handled::Ignored);
                };
                let refunds = self.gateway.refunds_of(&intent).map_err(gateway)?;
                self.service
                    .record_provider_refunds(&order_id, &charge_id, &refunds)?;
                Ok(Handled::Applied)
            }
            "charge.dispute.created" => {
                let Some((_, order_id, charge_id)) = self.ours(object)? else {
                    return Ok(Handled::Ignored);
                };
                let amount = object["amount"].as_i64().unwrap_or(0);
                self.service.record_dispute(&order_id, &charge_id, amount)?;
                Ok(Handled::Applied)
            }
            _ => Ok(Handled::Ignored),
        }
    }

    /// The PaymentIntent an object (charge, refund, dispute) belongs to, with our order and
    /// charge ids from its metadata; `None` when it is not one of ours.
    fn ours(&self, object: &Value) -> ApiResult<Option<(String, String, String)>> {
        let Some(intent) = object["payment_intent"].as_str() else {
            return Ok(None);
        };
        match self.gateway.intent_ids(intent) {
            Ok(Some((order, charge))) => Ok(Some((intent.to_string(), order, charge))),
            Ok(None) | Err(crate::gateway::GatewayError::NotFound) => Ok(None),
            Err(e) => Err(gateway(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_unit";

    #[test]
    fn signatures_are_checked_for_secret_body_and_age() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, SECRET, 1_000);
        assert_eq!(verify(Some(&header), body, SECRET, 1_000), Ok(()));
        assert_eq!(verify(Some(&header), body, SECRET, 1_300), Ok(()));
        assert_eq!(
            verify(Some(&header), body, SECRET, 1_301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&header), body, "whsec_other", 1_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&header), br#"{"id":"evt_2"}"#, SECRET, 1_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(None, body, SECRET, 1_000),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(Some("v1=abc"), body, SECRET, 1_000),
            Err(SignatureError::Malformed)
        );
        // Stripe sends several v1 signatures while a secret is rolled: any one may match.
        let rolled = format!("t=1000,v1=00ff,{}", &header["t=1000,".len()..]);
        assert_eq!(verify(Some(&rolled), body, SECRET, 1_000), Ok(()));
    }
}
