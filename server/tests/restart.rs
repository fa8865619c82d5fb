//! Restarts: the order, its secret and its idempotency record survive a killed process, and an
//! operation left in flight by a crash is resumed without a second charge.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn order_and_idempotency_record_survive_a_kill() {
    let mut s = TestServer::start();
    let tok = s.token(CARD_OK).await;
    let body = TestServer::order_body(&tok, true);
    let key = uuid();
    let r = s.post_order(&key, &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let first = r.text().await.unwrap();
    let o: Value = serde_json::from_str(&first).unwrap();

    s.restart(); // SIGKILL, then a new process on the same database

    let (st, v) = s.status(&o).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["status"], "paid");
    assert_eq!(v["receipt"]["total"], 5800);
    let r = s.post_order(&key, &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    assert_eq!(r.text().await.unwrap(), first);
    // The order secret still works (derived from a persisted installation secret).
    let (_, a, _) = s.addon(&o, "upsell", &uuid()).await;
    assert_eq!(a["status"], "succeeded");
    assert_eq!(s.count("SELECT COUNT(*) FROM charges"), 2);
}

#[tokio::test]
async fn a_request_interrupted_by_a_crash_resumes_without_a_second_charge() {
    let mut s = TestServer::start();
    let tok = s.token(CARD_OK).await;
    let body = TestServer::order_body(&tok, false);
    let key = uuid();
    let r = s.post_order(&key, &body).await;
    let o: Value = r.json().await.unwrap();
    assert_eq!(o["status"], "paid");
    s.kill();
    // Make the database look like the process died after the gateway charged the card but before
    // the answer and the response were recorded.
    s.db().execute(
        "UPDATE charges SET status = 'pending', gateway_ref = NULL",
        &[],
    );
    s.db().execute(
        "UPDATE idempotency_keys SET response_status = NULL, response_body = NULL, completed_at = NULL",
        &[],
    );
    s.restart();
    // Start-up recovery found the charge at the gateway by its key: paid, before any retry.
    assert_eq!(
        s.count("SELECT COUNT(*) FROM charges WHERE status = 'pending'"),
        0
    );
    let (_, v) = s.status(&o).await;
    assert_eq!(v["status"], "paid");
    assert_eq!(v["receipt"]["total"], o["receipt"]["total"]);

    let r = s.post_order(&key, &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(
        r.headers().get("idempotent-replayed").is_none(),
        "resumed, not replayed"
    );
    let resumed: Value = r.json().await.unwrap();
    assert_eq!(resumed["order_id"], o["order_id"]);
    assert_eq!(resumed["order_secret"], o["order_secret"]);
    assert_eq!(resumed["status"], "paid");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM tg_charges"),
        1,
        "the gateway saw one charge"
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM charges"), 1);
    let r = s.post_order(&key, &body).await;
    assert_eq!(r.headers()["idempotent-replayed"], "true");
}

#[tokio::test]
async fn processing_settles_across_a_restart() {
    let mut s = TestServer::start();
    let (_, o) = s.order_with(CARD_PROCESSING, false).await;
    assert_eq!(o["status"], "processing");
    s.restart();
    let mut status = String::new();
    for _ in 0..100 {
        let (_, v) = s.status(&o).await;
        status = v["status"].as_str().unwrap().to_string();
        if status == "paid" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "paid");
}
