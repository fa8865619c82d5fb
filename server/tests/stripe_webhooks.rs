//! `POST /v1/webhooks/stripe` with real signatures: refused when the secret, the body or the age
//! is wrong; handled once per event id; a processing payment settled by localstripe's own
//! webhook; refunds and disputes made in Stripe's dashboard reaching the receipt.

mod stripe_support;

use std::time::{Duration, Instant};

use momentum_server::stripe_webhook::sign;
use momentum_server::util::now_secs;
use reqwest::StatusCode;
use serde_json::{json, Value};
use stripe_support::*;

const OK: &str = "4242424242424242";

fn event(id: &str, kind: &str, object: Value) -> String {
    json!({"id": id, "object": "event", "type": kind, "created": now_secs(),
           "data": {"object": object}})
    .to_string()
}

fn intent_of(ls: &Localstripe, order: &Value) -> String {
    let intents = ls.intents_of(order["order_id"].as_str().unwrap());
    assert_eq!(intents.len(), 1);
    intents[0]["id"].as_str().unwrap().to_string()
}

#[test]
fn signatures_are_verified_and_each_event_is_handled_once() {
    let ls = Localstripe::start();
    let s = StripeServer::start(&ls);
    let order = s.order(&ls.card_token(OK), false, "ana@example.com");
    let intent = intent_of(&ls, &order);
    let body = event(
        "evt_dispute_1",
        "charge.dispute.created",
        json!({"id": "dp_1", "object": "dispute", "amount": 4900, "payment_intent": intent,
               "reason": "fraudulent"}),
    );
    let now = now_secs();

    let refused = [
        (None, "missing"),
        (
            Some(sign(body.as_bytes(), "whsec_wrong", now)),
            "wrong secret",
        ),
        (
            Some(sign(body.as_bytes(), WEBHOOK_SECRET, now - 301)),
            "too old",
        ),
        (Some(sign(b"{}", WEBHOOK_SECRET, now)), "another body"),
        (Some(format!("t={now}")), "no v1"),
    ];
    for (signature, why) in refused {
        let (status, v) = s.webhook(&body, signature.as_deref());
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {v}");
        assert_eq!(v["error"]["code"], "invalid_signature", "{why}: {v}");
    }
    let disputes = |s: &StripeServer| {
        s.receipt(&order)["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "dispute_opened")
            .count()
    };
    assert_eq!(disputes(&s), 0, "a refused delivery changes nothing");

    let valid = sign(body.as_bytes(), WEBHOOK_SECRET, now);
    let (status, v) = s.webhook(&body, Some(&valid));
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["result"], "applied");
    // Stripe redelivers: same id, even with a fresh signature.
    let again = sign(body.as_bytes(), WEBHOOK_SECRET, now_secs());
    let (status, v) = s.webhook(&body, Some(&again));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["result"], "duplicate");
    let receipt = s.receipt(&order);
    let dispute: Vec<&Value> = receipt["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "dispute_opened")
        .collect();
    assert_eq!(dispute.len(), 1);
    assert_eq!(dispute[0]["amount"], 4900);
    assert_eq!(dispute[0]["charge_id"], receipt["charges"][0]["id"]);
    let seen: i64 = s
        .db()
        .query_row("SELECT COUNT(*) FROM webhook_events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(seen, 1);

    // Signed but not an event.
    let (status, v) = s.webhook("not json", Some(&sign(b"not json", WEBHOOK_SECRET, now)));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], "invalid_json");

    // Not one of ours (no such PaymentIntent, or an order another installation made), and a type
    // we do not use: acknowledged, ignored.
    for (id, kind, object) in [
        (
            "evt_x",
            "charge.dispute.created",
            json!({"payment_intent": "pi_unknown"}),
        ),
        ("evt_y", "customer.created", json!({"id": "cus_1"})),
        (
            "evt_z",
            "payment_intent.succeeded",
            json!({"id": "pi_other", "metadata": {"momentum_order_id": "ord_elsewhere"}}),
        ),
    ] {
        let body = event(id, kind, object);
        let (status, v) = s.webhook(&body, Some(&sign(body.as_bytes(), WEBHOOK_SECRET, now)));
        assert_eq!(
            (status, v["result"].clone()),
            (StatusCode::OK, json!("ignored"))
        );
    }
}

#[test]
fn a_processing_payment_is_settled_by_stripes_webhook() {
    let ls = Localstripe::start();
    let s = StripeServer::start(&ls);
    ls.send_webhooks_to(&s.url("/v1/webhooks/stripe"));
    let order = s.order(&ls.failing_sepa_method(), false, "bo@example.com");
    assert_eq!(order["status"], "processing", "{order}");
    let id = order["order_id"].as_str().unwrap();
    // Nobody polls the order: only localstripe's signed payment_intent.payment_failed can
    // settle it (the database is read directly, since reading the order would ask Stripe).
    let deadline = Instant::now() + Duration::from_secs(15);
    while s.charges(id) != [("primary".to_string(), "declined".to_string())] {
        assert!(
            Instant::now() < deadline,
            "not settled: {:?}",
            s.charges(id)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let handled: i64 = s
        .db()
        .query_row(
            "SELECT COUNT(*) FROM webhook_events WHERE provider = 'stripe'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(handled >= 1);
    let receipt = s.receipt(&order);
    assert_eq!(receipt["status"], "declined");
    let intents = ls.intents_of(id);
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0]["status"], "requires_payment_method");
    assert!(succeeded_none(&receipt));
}

fn succeeded_none(receipt: &Value) -> bool {
    receipt["charges"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] != "succeeded")
}

#[test]
fn refunds_made_in_stripes_dashboard_reach_the_receipt() {
    let ls = Localstripe::start();
    let s = StripeServer::start(&ls);
    let order = s.order(&ls.card_token(OK), true, "cy@example.com");
    let intent = intent_of(&ls, &order);
    let lines = order["receipt"]["lines"].as_array().unwrap().clone();
    let amount = |kind: &str| {
        lines.iter().find(|l| l["kind"] == kind).unwrap()["amount"]
            .as_i64()
            .unwrap()
    };
    let refunded = |kind: &str| {
        s.receipt(&order)["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["kind"] == kind)
            .unwrap()["refunded"]
            .clone()
    };
    let deliver = |id: &str| {
        // What Stripe sends after a dashboard refund (localstripe sends none: docs/backends.md).
        let body = event(
            id,
            "charge.refunded",
            json!({"id": "ch_x", "object": "charge", "payment_intent": intent}),
        );
        let (status, v) = s.webhook(
            &body,
            Some(&sign(body.as_bytes(), WEBHOOK_SECRET, now_secs())),
        );
        assert_eq!(status, StatusCode::OK, "{v}");
    };

    // The creator refunds the bump's amount in the dashboard.
    let bump = amount("bump").to_string();
    ls.api(
        reqwest::Method::POST,
        "/v1/refunds",
        &[
            ("payment_intent", intent.as_str()),
            ("amount", bump.as_str()),
        ],
    );
    deliver("evt_refund_1");
    assert_eq!(refunded("bump"), json!(true));
    assert_eq!(refunded("product"), json!(false));
    // Another event about the same refund records nothing twice.
    deliver("evt_refund_2");
    let receipt = s.receipt(&order);
    assert_eq!(receipt["refunds"].as_array().unwrap().len(), 1);
    assert_eq!(receipt["refunded"].as_i64().unwrap(), amount("bump"));

    // Then the rest: the product line.
    let product = amount("product").to_string();
    ls.api(
        reqwest::Method::POST,
        "/v1/refunds",
        &[
            ("payment_intent", intent.as_str()),
            ("amount", product.as_str()),
        ],
    );
    deliver("evt_refund_3");
    let receipt = s.receipt(&order);
    assert_eq!(receipt["net"], 0);
    assert_eq!(
        receipt["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "refund_issued")
            .count(),
        2
    );
    // And the admin refund endpoint knows the line is refunded already.
    let path = format!(
        "/v1/orders/{}/lines/bump/refund",
        order["order_id"].as_str().unwrap()
    );
    let (status, v) = s.post(&path, Some(ADMIN), None, &json!({}));
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(v["error"]["code"], "line_already_refunded");
}

#[test]
fn our_own_refund_whose_answer_a_crash_lost_is_completed_by_the_webhook() {
    let ls = Localstripe::start();
    let s = StripeServer::start(&ls);
    let order = s.order(&ls.card_token(OK), true, "du@example.com");
    let intent = intent_of(&ls, &order);
    let path = format!(
        "/v1/orders/{}/lines/bump/refund",
        order["order_id"].as_str().unwrap()
    );
    let (status, v) = s.post(&path, Some(ADMIN), None, &json!({}));
    assert_eq!(status, StatusCode::OK, "{v}");
    let ours = v["refund"]["id"].clone();
    // As if the process died after Stripe refunded, before the answer was recorded.
    let db = s.db();
    db.execute("UPDATE refunds SET gateway_ref = NULL", [])
        .unwrap();
    db.execute("DELETE FROM order_events WHERE type = 'refund_issued'", [])
        .unwrap();
    assert_eq!(s.receipt(&order)["refunded"], 0);

    let body = event(
        "evt_refund_ours",
        "charge.refunded",
        json!({"object": "charge", "payment_intent": intent}),
    );
    let (status, v) = s.webhook(
        &body,
        Some(&sign(body.as_bytes(), WEBHOOK_SECRET, now_secs())),
    );
    assert_eq!(
        (status, v["result"].clone()),
        (StatusCode::OK, json!("applied"))
    );
    let receipt = s.receipt(&order);
    assert_eq!(receipt["refunds"].as_array().unwrap().len(), 1);
    assert_eq!(receipt["refunds"][0]["id"], ours);
    assert_eq!(
        receipt["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["refunded"] == json!(true))
            .count(),
        1
    );
    let at_stripe = ls.api(
        reqwest::Method::GET,
        "/v1/refunds",
        &[("payment_intent", intent.as_str())],
    );
    assert_eq!(
        at_stripe["data"].as_array().unwrap().len(),
        1,
        "refunded once at Stripe"
    );
}
