//! The Stripe gateway against a real localstripe: purchases, add-ons, 3-D Secure, declines,
//! refunds and crash recovery, counting charges on both sides.

mod stripe_support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use stripe_support::*;

const OK: &str = "4242424242424242";
const DECLINE: &str = "4000000000000002";
/// 3-D Secure on every payment (localstripe; Stripe: once per saved card, see docs/backends.md).
const THREE_DS: &str = "4000002500003155";
/// 3-D Secure on every payment (Stripe too).
const ALWAYS_3DS: &str = "4000002760003184";

fn order_id(order: &Value) -> &str {
    order["order_id"].as_str().expect("order id")
}

fn succeeded(intents: &[Value]) -> Vec<i64> {
    intents
        .iter()
        .filter(|p| p["status"] == json!("succeeded"))
        .map(|p| p["amount"].as_i64().unwrap())
        .collect()
}

/// What the 3-D Secure page's Stripe.js does when the shopper answers the bank.
fn answer_bank(ls: &Localstripe, next_action_url: &str, approve: bool) {
    let secret = next_action_url
        .split_once('#')
        .map(|(_, s)| s)
        .expect("client secret in the fragment");
    let intent = secret.split("_secret_").next().unwrap();
    let r = reqwest::blocking::Client::new()
        .post(format!(
            "{}/v1/payment_intents/{intent}/_authenticate?success={approve}",
            ls.base
        ))
        .json(&json!({"key": PUBLISHABLE_KEY, "client_secret": secret}))
        .send()
        .expect("authenticate");
    assert!(r.status().is_success(), "{:?}", r.text());
}

fn confirm(s: &StripeServer, order: &Value, target: &str) -> Value {
    let path = format!("/v1/orders/{}/confirm", order_id(order));
    let secret = order["order_secret"].as_str().unwrap();
    let (status, v) = s.post(&path, Some(secret), None, &json!({ "target": target }));
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

#[test]
fn bump_and_upsell_are_one_payment_intent_each_with_our_ids_in_metadata() {
    let ls = Localstripe::start();
    let s = StripeServer::start(&ls);
    let order = s.order(&ls.card_token(OK), true, "ana@example.com");
    assert_eq!(order["status"], "paid", "{order}");
    assert_eq!(order["card"], json!({"brand": "visa", "last4": "4242"}));
    let total = order["receipt"]["total"].as_i64().unwrap();
    let addon = s.addon(&order, "upsell");
    assert_eq!(addon["status"], "succeeded", "{addon}");

    let receipt = s.receipt(&order);
    let ours: Vec<(String, i64)> = receipt["charges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ours.len(), 2);
    assert_eq!(ours[0].1, total);
    let intents = ls.intents_of(order_id(&order));
    assert_eq!(intents.len(), 2, "exactly one PaymentIntent per charge");
    let mut theirs: Vec<(String, i64)> = intents
        .iter()
        .map(|p| {
            assert_eq!(p["status"], "succeeded");
            assert_eq!(p["currency"], "eur");
            (
                p["metadata"]["momentum_charge_id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                p["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut ours_sorted = ours.clone();
    theirs.sort();
    ours_sorted.sort();
    assert_eq!(theirs, ours_sorted);
    // Both on the same customer: the add-on reused the saved card.
    assert_eq!(intents[0]["customer"], intents[1]["customer"]);
    assert_eq!(
        receipt["total"].as_i64().unwrap(),
        ours.iter().map(|c| c.1).sum::<i64>()
    );
}

#[test]
fn a_declined_card_then_another_card_charges_once_on_both_sides() {
    let ls = Localstripe::start();
    let s = StripeServer::start(&ls);
    let declined = s.order(&ls.card_token(DECLINE), false, "bo@example.com");
    assert_eq!(declined["status"], "declined");
    assert_eq!(
        declined["decline"],
        json!({"code": "card_declined", "message": "Your card was declined."})
    );
    let paid = s.order(&ls.card_token(OK), false, "bo@example.com");
    assert_eq!(paid["status"], "paid");
    assert_eq!(
        s.charges(order_id(&declined)),
        [("primary".to_string(), "declined".to_string())]
    );
    assert_eq!(
        s.charges(order_id(&paid)),
        [("primary".to_string(), "succeeded".to_string())]
    );
    // localstripe refuses this card when it is saved, before any PaymentIntent.
    assert!(ls.intents_of(order_id(&declined)).is_empty());
    let intents = ls.intents_of(order_id(&paid));
    assert_eq!(
        succeeded(&intents),
        [paid["receipt"]["total"].as_i64().unwrap()]
    );
}

#[test]
fn three_d_secure_on_the_primary_runs_on_our_page_and_is_read_back_from_stripe() {
    let ls = Localstripe::start();
    let s = StripeServer::start(&ls);
    for approve in [true, false] {
        let order = s.order(&ls.card_token(THREE_DS), false, "cy@example.com");
        assert_eq!(order["status"], "requires_action", "{order}");
        let url = order["next_action"]["url"].as_str().unwrap().to_string();
        assert!(url.starts_with(&s.url("/stripe/authenticate#pi_")), "{url}");
        // The page loads Stripe.js from the configured origin under a CSP that allows it.
        let page = s.http.get(&url).send().unwrap();
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            csp.contains(&format!("script-src 'self' {}", ls.base)),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors *"));
        let html = page.text().unwrap();
        assert!(html.contains(&format!("{}/js.stripe.com/v3/", ls.base)));
        assert!(html.contains(PUBLISHABLE_KEY));
        assert!(
            !html.contains("_secret_"),
            "the client secret stays in the fragment"
        );

        // Unanswered: still waiting.
        let still = confirm(&s, &order, "order");
        assert_eq!(still["status"], "requires_action");
        answer_bank(&ls, &url, approve);
        let after = confirm(&s, &order, "order");
        if approve {
            assert_eq!(after["status"], "succeeded", "{after}");
            assert_eq!(after["order_status"], "paid");
        } else {
            assert_eq!(after["status"], "declined", "{after}");
            assert_eq!(after["decline"]["code"], "authentication_failed");
        }
        let intents = ls.intents_of(order_id(&order));
        assert_eq!(intents.len(), 1);
        assert_eq!(succeeded(&intents).len(), usize::from(approve));
    }
}

#[test]
fn three_d_secure_on_the_upsell_approve_and_fail() {
    let ls = Localstripe::start();
    let s = StripeServer::start(&ls);
    for approve in [true, false] {
        let order = s.order(&ls.card_token(ALWAYS_3DS), false, "di@example.com");
        answer_bank(&ls, order["next_action"]["url"].as_str().unwrap(), true);
        assert_eq!(confirm(&s, &order, "order")["status"], "succeeded");
        let addon = s.addon(&order, "upsell");
        assert_eq!(addon["status"], "requires_action", "{addon}");
        answer_bank(&ls, addon["next_action"]["url"].as_str().unwrap(), approve);
        let after = confirm(&s, &order, "upsell");
        let receipt = &after["receipt"];
        if approve {
            assert_eq!(after["status"], "succeeded", "{after}");
            assert_eq!(receipt["offers"]["upsell"], "accepted");
        } else {
            assert_eq!(after["status"], "declined", "{after}");
            assert_eq!(receipt["offers"]["upsell"], "failed");
        }
        let intents = ls.intents_of(order_id(&order));
        assert_eq!(intents.len(), 2);
        assert_eq!(succeeded(&intents).len(), 1 + usize::from(approve));
        assert_eq!(
            receipt["total"].as_i64().unwrap(),
            succeeded(&intents).iter().sum::<i64>()
        );
    }
}

#[test]
fn abandoning_3_d_secure_cancels_the_payment_intent() {
    let ls = Localstripe::start();
    let s = StripeServer::start(&ls);
    let order = s.order(&ls.card_token(THREE_DS), false, "ed@example.com");
    let path = format!("/v1/orders/{}/cancel", order_id(&order));
    let (status, v) = s.post(
        &path,
        order["order_secret"].as_str(),
        None,
        &json!({"target": "order"}),
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["decline"]["code"], "authentication_canceled");
    let intents = ls.intents_of(order_id(&order));
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0]["status"], "canceled");
}

#[test]
fn the_admin_refund_goes_through_stripe_once() {
    let ls = Localstripe::start();
    let s = StripeServer::start(&ls);
    let order = s.order(&ls.card_token(OK), true, "fa@example.com");
    let bump = order["receipt"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "bump")
        .cloned()
        .unwrap();
    let path = format!("/v1/orders/{}/lines/bump/refund", order_id(&order));
    let (status, v) = s.post(&path, Some(ADMIN), None, &json!({}));
    assert_eq!(status, StatusCode::OK, "{v}");
    let ours = v["refund"]["id"].as_str().unwrap().to_string();
    assert_eq!(v["receipt"]["refunded"], bump["amount"]);
    let (again, _) = s.post(&path, Some(ADMIN), None, &json!({}));
    assert_eq!(again, StatusCode::CONFLICT);

    let intent = ls.intents_of(order_id(&order))[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let refunds = ls.api(
        reqwest::Method::GET,
        "/v1/refunds",
        &[("payment_intent", intent.as_str())],
    );
    let refunds = refunds["data"].as_array().unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0]["amount"], bump["amount"]);
    assert_eq!(refunds[0]["metadata"]["momentum_refund_id"], json!(ours));
}

/// As if the process died while the charge was at Stripe: the recorded answer is gone.
fn forget_answer(s: &StripeServer, charge_id: &str) {
    let db = s.db();
    db.execute(
        "UPDATE charges SET status = 'pending', gateway_ref = NULL, action_url = NULL, decline_code = NULL, decline_message = NULL WHERE id = ?1",
        [charge_id],
    )
    .unwrap();
    db.execute(
        "DELETE FROM order_events WHERE charge_id = ?1 AND type LIKE 'payment_%'",
        [charge_id],
    )
    .unwrap();
}

#[test]
fn a_crash_between_stripes_charge_and_our_record_heals_on_restart_without_charging_again() {
    let ls = Localstripe::start();
    let mut s = StripeServer::start(&ls);
    let order = s.order(&ls.card_token(OK), false, "gu@example.com");
    s.addon(&order, "upsell");
    let charges: Vec<String> = s.receipt(&order)["charges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(charges.len(), 2);
    for charge in &charges {
        forget_answer(&s, charge);
    }
    s.restart();
    // Recovery ran before the server listened: both found at Stripe by their metadata.
    assert_eq!(
        s.charges(order_id(&order)),
        [
            ("primary".to_string(), "succeeded".to_string()),
            ("upsell".to_string(), "succeeded".to_string())
        ]
    );
    let receipt = s.receipt(&order);
    assert_eq!(receipt["offers"]["upsell"], "accepted");
    let intents = ls.intents_of(order_id(&order));
    assert_eq!(intents.len(), 2, "no second charge at Stripe");
    assert_eq!(
        receipt["total"].as_i64().unwrap(),
        succeeded(&intents).iter().sum::<i64>()
    );
}

#[test]
fn the_stripe_gateway_needs_its_keys_from_the_environment_and_never_echoes_them() {
    let run = |key: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_momentum-server"));
        cmd.args(["--addr", "127.0.0.1:0", "--gateway", "stripe"])
            .args(["--stripe-publishable-key", PUBLISHABLE_KEY])
            .env_remove("STRIPE_SECRET_KEY");
        if let Some(k) = key {
            cmd.env("STRIPE_SECRET_KEY", k);
        }
        let out = cmd.output().expect("run");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, err) = run(None);
    assert_eq!(code, Some(2));
    assert!(err.contains("STRIPE_SECRET_KEY"), "{err}");
    let (code, err) = run(Some("not_a_key_s3cr3t"));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("STRIPE_SECRET_KEY") && !err.contains("s3cr3t"),
        "{err}"
    );
    // No flag takes the secret key.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_momentum-server"))
        .args(["--stripe-secret-key", "sk_test_x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
