//! Exactly-once under concurrency, asserted by reading the SQLite database.

mod common;

use common::*;
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;

const N: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_thousand_creates_with_one_key_charge_once() {
    // A thousand requests from one address on purpose: no request budgets.
    let s = TestServer::start_with(&["--rate-limit", "off"]);
    let tok = s.token(CARD_OK).await;
    let body = TestServer::order_body(&tok, true);
    let key = uuid();
    let results = join_all((0..N).map(|_| async {
        let r = s.post_order(&key, &body).await;
        let status = r.status();
        let replayed = r.headers().get("idempotent-replayed").is_some();
        (status, replayed, r.text().await.unwrap())
    }))
    .await;

    let charges = s.count("SELECT COUNT(*) FROM charges");
    let orders = s.count("SELECT COUNT(*) FROM orders");
    let gateway_charges = s.count("SELECT COUNT(*) FROM tg_charges");
    let keys = s.count("SELECT COUNT(*) FROM idempotency_keys");
    assert_eq!((charges, orders, gateway_charges, keys), (1, 1, 1, 1));

    let created: Vec<&(StatusCode, bool, String)> = results
        .iter()
        .filter(|r| r.0 == StatusCode::CREATED)
        .collect();
    let conflicts = results
        .iter()
        .filter(|r| r.0 == StatusCode::CONFLICT)
        .count();
    assert_eq!(
        created.len() + conflicts,
        N,
        "only 201 or 409: {:?}",
        results
            .iter()
            .map(|r| r.0)
            .collect::<std::collections::BTreeSet<_>>()
    );
    assert!(!created.is_empty());
    assert_eq!(
        created.iter().filter(|r| !r.1).count(),
        1,
        "exactly one original response"
    );
    let first = &created[0].2;
    assert!(
        created.iter().all(|r| &r.2 == first),
        "every 201 is byte-identical"
    );
    for r in results.iter().filter(|r| r.0 == StatusCode::CONFLICT) {
        let v: Value = serde_json::from_str(&r.2).unwrap();
        assert_eq!(v["error"]["code"], "idempotency_key_in_use");
    }
    let o: Value = serde_json::from_str(first).unwrap();
    assert_eq!(o["status"], "paid");
    // After the storm, the key replays.
    let r = s.post_order(&key, &body).await;
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    assert_eq!(&r.text().await.unwrap(), first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_thousand_addon_accepts_with_distinct_keys_charge_once() {
    // A thousand requests from one address on purpose: no request budgets.
    let s = TestServer::start_with(&["--rate-limit", "off"]);
    let (_, o) = s.order_with(CARD_OK, false).await;
    assert_eq!(o["status"], "paid");
    let results = join_all((0..N).map(|_| async { s.addon(&o, "upsell", &uuid()).await })).await;

    let upsells = s.count("SELECT COUNT(*) FROM charges WHERE kind = 'upsell'");
    let all = s.count("SELECT COUNT(*) FROM charges");
    let gateway_charges = s.count("SELECT COUNT(*) FROM tg_charges");
    let lines = s.count("SELECT COUNT(*) FROM order_lines WHERE kind = 'upsell'");
    assert_eq!((upsells, all, gateway_charges, lines), (1, 2, 2, 1));

    let mut succeeded = 0;
    for (status, v, _) in &results {
        match *status {
            StatusCode::OK => match v["status"].as_str() {
                Some("succeeded") => succeeded += 1,
                Some("already_applied") => {}
                other => panic!("unexpected add-on status {other:?}"),
            },
            StatusCode::CONFLICT => assert_eq!(v["error"]["code"], "addon_in_progress"),
            other => panic!("unexpected HTTP status {other}: {v}"),
        }
    }
    assert_eq!(succeeded, 1);
    // And the downsell stays closed.
    let (st, _, _) = s.addon(&o, "downsell", &uuid()).await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (_, v) = s.status(&o).await;
    assert_eq!(v["receipt"]["total"], 4900 + 2700);
    assert_receipt_consistent(&v["receipt"]);
}
