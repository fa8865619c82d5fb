//! Cancelling a 3-D Secure check (`POST /v1/orders/{id}/cancel`): the charge is voided at the
//! gateway, a later approval of the bank's challenge takes nothing, and an approval that beat the
//! cancel is refunded at once, so a shopper told "nothing was charged" who pays again is charged
//! once.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn cancel(s: &TestServer, order: &Value, target: &str) -> (StatusCode, Value) {
    let path = format!("/v1/orders/{}/cancel", order["order_id"].as_str().unwrap());
    let secret = order["order_secret"].as_str().unwrap();
    let (st, v, _) = s
        .authed(
            Method::POST,
            &path,
            secret,
            None,
            Some(json!({ "target": target })),
        )
        .await;
    (st, v)
}

/// The challenge's path (its URL names the server's port, which a restart changes).
fn challenge_url(v: &Value) -> String {
    let url = v["next_action"]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("no challenge in {v}"));
    let at = url.find("/test-gateway/").expect("challenge path");
    url[at..].to_string()
}

/// The bank's form answered after the checkout gave up on it (a tab left open on the challenge).
async fn approve_late(s: &TestServer, path: &str) -> String {
    let r = s
        .client
        .post(s.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("outcome=approve")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

fn event_types(receipt: &Value) -> Vec<String> {
    receipt["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

/// Succeeded charges across every order of `ana@example.com`, and the money kept (Σ net).
async fn kept(s: &TestServer) -> (usize, i64) {
    let r = s
        .client
        .get(s.url("/v1/admin/orders?email=ana@example.com"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let orders = v["orders"].as_array().unwrap();
    let charges = orders
        .iter()
        .flat_map(|o| o["receipt"]["charges"].as_array().unwrap())
        .filter(|c| c["status"] == "succeeded")
        .count();
    let net = orders
        .iter()
        .map(|o| o["receipt"]["net"].as_i64().unwrap())
        .sum();
    (charges, net)
}

#[tokio::test]
async fn a_canceled_challenge_approved_later_charges_nothing() {
    let s = TestServer::start();
    let (_, first) = s.order_with(CARD_3DS, false).await;
    assert_eq!(first["status"], "requires_action");
    let url = challenge_url(&first);

    let (st, c) = cancel(&s, &first, "order").await;
    assert_eq!(st, StatusCode::OK, "{c}");
    assert_eq!(
        (
            c["status"].as_str(),
            c["order_status"].as_str(),
            c["decline"]["code"].as_str()
        ),
        (
            Some("declined"),
            Some("declined"),
            Some("authentication_canceled")
        )
    );
    assert!(event_types(&c["receipt"]).contains(&"payment_canceled".to_string()));
    // Saying it again is harmless.
    let (st, again) = cancel(&s, &first, "order").await;
    assert_eq!(
        (st, again["status"].as_str()),
        (StatusCode::OK, Some("declined"))
    );

    // The shopper pays with another card (a new order), then the bank's challenge is approved.
    let (_, second) = s.order_with(CARD_OK, false).await;
    assert_eq!(second["status"], "paid");
    let page = approve_late(&s, &url).await;
    assert!(page.contains("Authentication canceled"), "{page}");
    for _ in 0..3 {
        let (_, v) = s.status(&first).await;
        assert_eq!(v["status"], "declined");
        assert_eq!(v["receipt"]["total"], 0);
    }
    let (_, confirmed, _) = s.confirm(&first, "order").await;
    assert_eq!(confirmed["status"], "declined");
    assert_eq!(kept(&s).await, (1, 4900), "exactly one charge kept");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM tg_charges WHERE status = 'canceled'"),
        1
    );
}

#[tokio::test]
async fn an_approval_that_beat_the_cancel_is_refunded_at_once() {
    let s = TestServer::start();
    let (_, first) = s.order_with(CARD_3DS, true).await;
    // Approved at the bank, but the shopper closed the dialog before the checkout heard of it:
    // the gateway's void answers "already succeeded".
    s.answer_challenge(&s.url(&challenge_url(&first)), "approve")
        .await;
    let (st, c) = cancel(&s, &first, "order").await;
    assert_eq!(st, StatusCode::OK, "{c}");
    let r = &c["receipt"];
    assert_eq!(c["status"], "succeeded");
    assert_eq!(
        (
            r["total"].as_i64(),
            r["refunded"].as_i64(),
            r["net"].as_i64()
        ),
        (Some(5800), Some(5800), Some(0))
    );
    assert!(r["lines"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["refunded"] == true));
    let events = event_types(r);
    for e in ["payment_canceled", "payment_succeeded", "refund_issued"] {
        assert!(events.contains(&e.to_string()), "{events:?}");
    }
    assert_receipt_consistent(r);
    // Reads and repeats refund nothing more.
    let (_, v) = s.status(&first).await;
    assert_eq!(v["receipt"]["net"], 0);
    let (st, _) = cancel(&s, &first, "order").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        s.count("SELECT COALESCE(SUM(amount), 0) FROM tg_refunds"),
        5800
    );

    let (_, second) = s.order_with(CARD_OK, false).await;
    assert_eq!(second["status"], "paid");
    assert_eq!(kept(&s).await, (2, 4900), "one charge kept, one given back");
}

#[tokio::test]
async fn a_cancel_after_a_recorded_approval_is_refunded_too() {
    let s = TestServer::start();
    let (_, first) = s.order_with(CARD_3DS, false).await;
    s.answer_challenge(&s.url(&challenge_url(&first)), "approve")
        .await;
    // A status read records the approval before the shopper's cancel arrives.
    let (_, v) = s.status(&first).await;
    assert_eq!(v["status"], "paid");
    let (st, c) = cancel(&s, &first, "order").await;
    assert_eq!(
        (st, c["receipt"]["net"].as_i64()),
        (StatusCode::OK, Some(0))
    );
}

#[tokio::test]
async fn a_canceled_add_on_challenge_fails_the_add_on_and_a_late_approval_charges_nothing() {
    let s = TestServer::start();
    let (_, o) = s.order_with(CARD_ADDON_3DS, false).await;
    let (_, a, _) = s.addon(&o, "upsell", &uuid()).await;
    assert_eq!(a["status"], "requires_action");
    let url = challenge_url(&a);

    let (st, c) = cancel(&s, &o, "upsell").await;
    assert_eq!(st, StatusCode::OK, "{c}");
    assert_eq!(
        (
            c["status"].as_str(),
            c["order_status"].as_str(),
            c["next"].as_str()
        ),
        (Some("declined"), Some("paid"), Some("receipt"))
    );
    assert_eq!(c["receipt"]["offers"]["upsell"], "failed");
    assert!(event_types(&c["receipt"]).contains(&"upsell_failed".to_string()));

    approve_late(&s, &url).await;
    let (_, v) = s.status(&o).await;
    assert_eq!(v["receipt"]["offers"]["upsell"], "failed");
    assert_eq!(v["receipt"]["total"], 4900);
    assert_eq!(kept(&s).await, (1, 4900));
    let (st, other, _) = s.addon(&o, "upsell", &uuid()).await;
    assert_eq!(
        (st, other["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("offer_closed"))
    );
}

#[tokio::test]
async fn a_cancel_a_crash_interrupted_is_finished_at_start_up() {
    let mut s = TestServer::start();
    // One cancel recorded but not voided, one whose approval came first and was not refunded.
    let (_, open) = s.order_with(CARD_3DS, false).await;
    let (_, approved) = s.order_with(CARD_3DS, false).await;
    s.answer_challenge(&s.url(&challenge_url(&approved)), "approve")
        .await;
    s.kill();
    s.db().execute(
        "INSERT INTO charge_cancels (charge_id, at) SELECT id, 0 FROM charges WHERE kind = 'primary'",
        &[],
    );
    s.restart();

    assert_eq!(
        s.count("SELECT COUNT(*) FROM tg_charges WHERE status = 'canceled'"),
        1
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM refunds WHERE gateway_ref IS NOT NULL"),
        1
    );
    let page = approve_late(&s, &challenge_url(&open)).await;
    assert!(page.contains("Authentication canceled"), "{page}");
    let (_, v) = s.status(&open).await;
    assert_eq!(v["status"], "declined");
    let (_, v) = s.status(&approved).await;
    assert_eq!(
        (v["status"].as_str(), v["receipt"]["net"].as_i64()),
        (Some("paid"), Some(0))
    );
}

#[tokio::test]
async fn only_a_3_d_secure_check_can_be_canceled() {
    let s = TestServer::start();
    let (_, paid) = s.order_with(CARD_OK, false).await;
    for target in ["order", "upsell"] {
        let (st, v) = cancel(&s, &paid, target).await;
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("nothing_to_cancel")),
            "{target}"
        );
    }
    // After the add-ons, the primary payment was not abandoned.
    let (_, o) = s.order_with(CARD_3DS, false).await;
    s.answer_challenge(&s.url(&challenge_url(&o)), "approve")
        .await;
    let (_, confirmed, _) = s.confirm(&o, "order").await;
    assert_eq!(confirmed["order_status"], "paid");
    let (_, a, _) = s.addon(&o, "upsell", &uuid()).await;
    assert_eq!(a["status"], "succeeded");
    let (st, v) = cancel(&s, &o, "order").await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("nothing_to_cancel"))
    );

    let path = format!("/v1/orders/{}/cancel", o["order_id"].as_str().unwrap());
    let (st, _) = s.post_raw(&path, r#"{"target":"order"}"#, &[]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let other = paid["order_secret"].as_str().unwrap();
    let (st, _, _) = s
        .authed(
            Method::POST,
            &path,
            other,
            None,
            Some(json!({"target": "order"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let secret = o["order_secret"].as_str().unwrap();
    let (st, v, _) = s
        .authed(
            Method::POST,
            &path,
            secret,
            None,
            Some(json!({"target": "bump"})),
        )
        .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_field"))
    );
}
