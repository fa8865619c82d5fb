//! Stripe's answers mapped onto the gateway contract: a PaymentIntent's `status` onto
//! [`GatewayStatus`], Stripe's decline and error codes onto ours, with messages safe to show
//! shoppers (never Stripe's own text for fraud-related declines).

use serde_json::Value;

use crate::gateway::{GatewayCharge, GatewayStatus};

/// Our decline for Stripe's `code` / `decline_code` pair.
pub fn decline(code: Option<&str>, decline_code: Option<&str>) -> GatewayStatus {
    let (code, message) = match (code, decline_code) {
        (Some("payment_intent_authentication_failure"), _) => (
            "authentication_failed",
            "Your bank could not authenticate this payment.",
        ),
        (_, Some("insufficient_funds")) => {
            ("insufficient_funds", "Your card has insufficient funds.")
        }
        (Some("expired_card"), _) | (_, Some("expired_card")) => {
            ("card_declined", "Your card has expired.")
        }
        (Some("incorrect_cvc"), _) | (_, Some("incorrect_cvc")) => {
            ("card_declined", "Your card's security code is incorrect.")
        }
        // Everything else, including `fraudulent`, `stolen_card` and `lost_card`, which Stripe
        // asks not to reveal to the shopper.
        _ => ("card_declined", "Your card was declined."),
    };
    GatewayStatus::Declined {
        code: code.into(),
        message: message.into(),
    }
}

/// A PaymentIntent's state. `authenticate_url` turns its client secret into the page that runs
/// Stripe.js's 3-D Secure for it.
pub fn intent(pi: &Value, authenticate_url: &dyn Fn(&str) -> String) -> GatewayCharge {
    let reference = pi["id"].as_str().unwrap_or_default().to_string();
    let error = &pi["last_payment_error"];
    let status = match pi["status"].as_str().unwrap_or_default() {
        "succeeded" => GatewayStatus::Succeeded,
        // Automatic capture: `requires_capture` does not occur; read it as not settled yet.
        "processing" | "requires_capture" | "requires_confirmation" => GatewayStatus::Processing,
        "requires_action" => GatewayStatus::RequiresAction {
            url: authenticate_url(pi["client_secret"].as_str().unwrap_or_default()),
        },
        "canceled" => GatewayStatus::Canceled,
        // `requires_payment_method`: the attempt failed (declined, or authentication failed).
        _ => decline(error["code"].as_str(), error["decline_code"].as_str()),
    };
    GatewayCharge { reference, status }
}

/// A `402` (card error) answer: Stripe includes the PaymentIntent; localstripe only the charge.
pub fn card_error(body: &Value) -> GatewayCharge {
    let error = &body["error"];
    let reference = error["payment_intent"]["id"]
        .as_str()
        .or_else(|| error["charge"].as_str())
        .unwrap_or_default()
        .to_string();
    GatewayCharge {
        reference,
        status: decline(error["code"].as_str(), error["decline_code"].as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn url(secret: &str) -> String {
        format!("https://shop.example/stripe/authenticate#{secret}")
    }

    #[test]
    fn intent_statuses_map_onto_the_contract() {
        let cases = [
            (
                json!({"id": "pi_1", "status": "succeeded"}),
                GatewayStatus::Succeeded,
            ),
            (
                json!({"id": "pi_1", "status": "processing"}),
                GatewayStatus::Processing,
            ),
            (
                json!({"id": "pi_1", "status": "canceled"}),
                GatewayStatus::Canceled,
            ),
            (
                json!({"id": "pi_1", "status": "requires_action", "client_secret": "pi_1_secret_x"}),
                GatewayStatus::RequiresAction {
                    url: url("pi_1_secret_x"),
                },
            ),
            (
                json!({"id": "pi_1", "status": "requires_payment_method",
                       "last_payment_error": {"code": "payment_intent_authentication_failure"}}),
                GatewayStatus::Declined {
                    code: "authentication_failed".into(),
                    message: "Your bank could not authenticate this payment.".into(),
                },
            ),
        ];
        for (pi, status) in cases {
            let got = intent(&pi, &url);
            assert_eq!(got.reference, "pi_1");
            assert_eq!(got.status, status, "{pi}");
        }
    }

    #[test]
    fn declines_keep_fraud_codes_from_the_shopper() {
        let body = json!({"error": {"type": "card_error", "code": "card_declined",
            "decline_code": "stolen_card", "message": "Your card was reported stolen.",
            "payment_intent": {"id": "pi_9", "status": "requires_payment_method"}}});
        let got = card_error(&body);
        assert_eq!(got.reference, "pi_9");
        assert_eq!(
            got.status,
            GatewayStatus::Declined {
                code: "card_declined".into(),
                message: "Your card was declined.".into()
            }
        );
        let funds = decline(Some("card_declined"), Some("insufficient_funds"));
        assert!(
            matches!(funds, GatewayStatus::Declined { code, .. } if code == "insufficient_funds")
        );
        // localstripe: only the charge id, no decline code.
        let local = card_error(&json!({"error": {"code": "card_declined", "charge": "ch_1"}}));
        assert_eq!(local.reference, "ch_1");
    }
}
