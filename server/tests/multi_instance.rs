//! Two server processes on one Postgres database (and one test gateway), as a shop running more
//! than one instance behind a load balancer would. Runs only in the Postgres pass of the suite
//! (`MOMENTUM_TEST_DB`, set by `cargo xtask test`); SQLite serves one process.
//!
//! - 1,000 concurrent creates with one key, split across both: one order, one charge;
//! - 1,000 concurrent add-on accepts with distinct keys across both: one add-on charge;
//! - an order created on one is resumed, confirmed (3-D Secure) and refunded on the other;
//! - when either dies with a charge at the gateway or on its way there, the other settles it.
//!
//! Charges are counted in the store and in the gateway's own records.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const N: usize = 1000;
/// The test gateway's delay before it makes a new charge, and again before it answers.
const CRASH_WINDOW_MS: u64 = 400;

/// Two instances on one new database, or `None` outside the Postgres pass.
fn pair(extra: &[&str]) -> Option<(TestServer, TestServer)> {
    if !common::db::postgres() {
        eprintln!(
            "multi_instance: skipped (set {} to run it)",
            common::db::ENV
        );
        return None;
    }
    let a = TestServer::start_with(extra);
    let b = a.start_sharing(extra);
    Some((a, b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_creates_with_one_key_across_two_instances_charge_once() {
    let Some((a, b)) = pair(&["--rate-limit", "off"]) else {
        return;
    };
    let token = a.token(CARD_OK).await;
    let body = TestServer::order_body(&token, true);
    let key = uuid();
    let results = join_all((0..N).map(|i| {
        let (s, body, key) = (if i % 2 == 0 { &a } else { &b }, &body, &key);
        async move {
            let r = s.post_order(key, body).await;
            let status = r.status();
            let replayed = r.headers().get("idempotent-replayed").is_some();
            (status, replayed, r.text().await.expect("body"))
        }
    }))
    .await;
    let statuses: BTreeSet<_> = results.iter().map(|r| r.0).collect();
    assert!(
        statuses.is_subset(&[StatusCode::CREATED, StatusCode::CONFLICT].into()),
        "only 201 or 409: {statuses:?}"
    );
    let created: Vec<_> = results
        .iter()
        .filter(|r| r.0 == StatusCode::CREATED)
        .collect();
    assert_eq!(
        created.iter().filter(|r| !r.1).count(),
        1,
        "exactly one original response"
    );
    assert!(
        created.iter().all(|r| r.2 == created[0].2),
        "every 201 is byte-identical"
    );
    for r in results.iter().filter(|r| r.0 == StatusCode::CONFLICT) {
        let v: Value = serde_json::from_str(&r.2).expect("json");
        assert_eq!(v["error"]["code"], "idempotency_key_in_use");
    }
    assert_eq!(
        (
            a.count("SELECT COUNT(*) FROM orders"),
            a.count("SELECT COUNT(*) FROM charges"),
            a.count("SELECT COUNT(*) FROM idempotency_keys"),
            a.count("SELECT COUNT(*) FROM tg_charges"),
        ),
        (1, 1, 1, 1)
    );
    // Both instances replay the stored response.
    for s in [&a, &b] {
        let r = s.post_order(&key, &body).await;
        assert_eq!(r.headers()["idempotent-replayed"], "true");
        assert_eq!(r.text().await.expect("body"), created[0].2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_add_on_accepts_across_two_instances_charge_once() {
    let Some((a, b)) = pair(&["--rate-limit", "off"]) else {
        return;
    };
    let (_, o) = a.order_with(CARD_OK, false).await;
    assert_eq!(o["status"], "paid");
    let results = join_all((0..N).map(|i| {
        let (s, o) = (if i % 2 == 0 { &a } else { &b }, &o);
        async move { s.addon(o, "upsell", &uuid()).await }
    }))
    .await;
    let mut succeeded = 0;
    for (status, v, _) in &results {
        match *status {
            StatusCode::OK => match v["status"].as_str() {
                Some("succeeded") => succeeded += 1,
                Some("already_applied") => {}
                other => panic!("unexpected add-on status {other:?}"),
            },
            StatusCode::CONFLICT => assert_eq!(v["error"]["code"], "addon_in_progress", "{v}"),
            other => panic!("unexpected HTTP status {other}: {v}"),
        }
    }
    assert_eq!(succeeded, 1);
    assert_eq!(
        (
            a.count("SELECT COUNT(*) FROM charges WHERE kind = 'upsell'"),
            a.count("SELECT COUNT(*) FROM charges"),
            a.count("SELECT COUNT(*) FROM order_lines WHERE kind = 'upsell'"),
            a.count("SELECT COUNT(*) FROM tg_charges"),
        ),
        (1, 2, 1, 2)
    );
    let (_, v) = b.status(&o).await;
    assert_eq!(v["receipt"]["total"], 4900 + 2700);
    assert_receipt_consistent(&v["receipt"]);
}

#[tokio::test]
async fn an_order_created_on_one_is_resumed_confirmed_and_refunded_on_the_other() {
    let Some((a, b)) = pair(&[]) else {
        return;
    };
    let (st, o) = a.order_with(CARD_3DS, false).await;
    assert_eq!(
        (st, o["status"].as_str()),
        (StatusCode::CREATED, Some("requires_action"))
    );
    let id = o["order_id"].as_str().expect("order_id");
    // Resumed on B with the resume pass (a reload that the balancer sent elsewhere).
    let pass = o["resume_pass"].as_str().expect("resume_pass");
    let (st, v, _) = b
        .authed(Method::GET, &format!("/v1/orders/{id}"), pass, None, None)
        .await;
    assert_eq!(
        (st, v["status"].as_str()),
        (StatusCode::OK, Some("requires_action")),
        "{v}"
    );
    // The bank's challenge (one gateway) answered, and the order confirmed, on B.
    let url = o["next_action"]["url"].as_str().expect("challenge url");
    b.answer_challenge(&b.url(&path_of_challenge(url)), "approve")
        .await;
    let (st, c, _) = b.confirm(&o, "order").await;
    assert_eq!(
        (st, c["order_status"].as_str()),
        (StatusCode::OK, Some("paid")),
        "{c}"
    );
    // Refunded on A; B sees it.
    let (st, r, _) = a
        .authed(
            Method::POST,
            &format!("/v1/orders/{id}/lines/product/refund"),
            ADMIN,
            None,
            Some(json!({"reason": "two instances"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let (_, v) = b.status(&o).await;
    assert_eq!(v["receipt"]["refunded"], 4900, "{v}");
    assert_receipt_consistent(&v["receipt"]);
    assert_eq!(
        (
            a.count("SELECT COUNT(*) FROM charges"),
            a.count("SELECT COUNT(*) FROM tg_charges"),
            a.count("SELECT COUNT(*) FROM tg_refunds"),
            a.count("SELECT COUNT(*) FROM refunds WHERE gateway_ref IS NOT NULL"),
        ),
        (1, 1, 1, 1)
    );
}

fn path_of_challenge(url: &str) -> String {
    let at = url.find("/test-gateway/").expect("challenge path");
    url[at..].to_string()
}

/// Reads the order (admin key) on `s` until no charge of it is pending: the survivor's lease
/// on a dead instance's charge is free once Postgres has seen that instance's session end.
async fn settled(s: &TestServer, order_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (st, v, _) = s
            .authed(
                Method::GET,
                &format!("/v1/orders/{order_id}"),
                ADMIN,
                None,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let pending = v["receipt"]["charges"]
            .as_array()
            .expect("charges")
            .iter()
            .any(|c| c["status"] == "pending");
        if !pending {
            return v;
        }
        assert!(Instant::now() < deadline, "still pending: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn gateway_charges_for(s: &TestServer, charge_id: &str) -> i64 {
    s.db()
        .gateway()
        .query_row(
            "SELECT COUNT(*) FROM tg_charges WHERE idempotency_key = ?1",
            [charge_id],
            |r| r.get(0),
        )
        .expect("count")
}

/// Starts a request on `dying` and SIGKILLs it as soon as its `kind` charge is pending in the
/// store and, if `at_gateway`, made at the gateway (the crash window holds each state for
/// [`CRASH_WINDOW_MS`]); returns the order and charge ids.
async fn kill_when(
    dying: &mut TestServer,
    request: reqwest::RequestBuilder,
    kind: &str,
    at_gateway: bool,
) -> (String, String) {
    let call = tokio::spawn(request.send());
    let deadline = Instant::now() + Duration::from_secs(10);
    let (order, charge) = loop {
        let rows = dying.db().strings(&format!(
            "SELECT order_id || ' ' || id FROM charges WHERE status = 'pending' AND kind = '{kind}'"
        ));
        if let Some((order, charge)) = rows.first().and_then(|r| r.split_once(' ')) {
            if gateway_charges_for(dying, charge) == i64::from(at_gateway) {
                break (order.to_string(), charge.to_string());
            }
        }
        assert!(
            Instant::now() < deadline,
            "no {kind} charge reached that state"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    dying.kill();
    assert!(
        call.await.expect("task").is_err(),
        "the request finished before the kill"
    );
    (order, charge)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_either_instance_dies_mid_charge_the_other_settles_it() {
    let window = CRASH_WINDOW_MS.to_string();
    let Some((mut a, mut b)) = pair(&["--test-crash-window-ms", &window]) else {
        return;
    };

    // A dies before the gateway has the primary charge: the shopper's retry on B sends it.
    let token = a.token(CARD_OK).await;
    let body = TestServer::order_body(&token, false);
    let key = uuid();
    let request = a
        .client
        .post(a.url("/v1/orders"))
        .header("idempotency-key", &key)
        .json(&body);
    let (order, charge) = kill_when(&mut a, request, "primary", false).await;
    assert_eq!(
        gateway_charges_for(&b, &charge),
        0,
        "killed before the gateway call"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let retried = loop {
        let r = b.post_order(&key, &body).await;
        let (st, text) = (r.status(), r.text().await.expect("body"));
        if st != StatusCode::CONFLICT || Instant::now() > deadline {
            break (st, text);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(retried.0, StatusCode::CREATED, "{}", retried.1);
    let v: Value = serde_json::from_str(&retried.1).expect("json");
    assert_eq!(
        (v["order_id"].as_str(), v["status"].as_str()),
        (Some(order.as_str()), Some("paid"))
    );
    assert_eq!(gateway_charges_for(&b, &charge), 1);
    a.restart();

    // A dies after the gateway charged, before recording it: B finds the charge by its key.
    let token = a.token(CARD_OK).await;
    let request = a
        .client
        .post(a.url("/v1/orders"))
        .header("idempotency-key", uuid())
        .json(&TestServer::order_body(&token, false));
    let (order, charge) = kill_when(&mut a, request, "primary", true).await;
    assert_eq!(
        gateway_charges_for(&b, &charge),
        1,
        "killed after the gateway call"
    );
    let v = settled(&b, &order).await;
    assert_eq!(v["status"], "paid", "{v}");
    assert_receipt_consistent(&v["receipt"]);
    assert_eq!(gateway_charges_for(&b, &charge), 1);
    a.restart();

    // B dies with an add-on charged but unrecorded: A puts it on the receipt.
    let (_, o) = a.order_with(CARD_OK, false).await;
    let addon = |s: &TestServer, o: &Value| {
        s.client
            .post(s.url(&format!(
                "/v1/orders/{}/addons",
                o["order_id"].as_str().unwrap()
            )))
            .bearer_auth(o["order_secret"].as_str().unwrap())
            .header("idempotency-key", uuid())
            .json(&json!({"offer": "upsell"}))
    };
    let request = addon(&b, &o);
    let (order, charge) = kill_when(&mut b, request, "upsell", true).await;
    let v = settled(&a, &order).await;
    assert_eq!(v["receipt"]["offers"]["upsell"], "accepted", "{v}");
    assert_eq!(v["receipt"]["total"], 4900 + 2700);
    assert_receipt_consistent(&v["receipt"]);
    assert_eq!(gateway_charges_for(&a, &charge), 1);
    b.restart();

    // B dies before the gateway has an add-on charge: A fails it, nothing taken.
    let (_, o) = a.order_with(CARD_OK, false).await;
    let request = addon(&b, &o);
    let (order, charge) = kill_when(&mut b, request, "upsell", false).await;
    let v = settled(&a, &order).await;
    assert_eq!(v["receipt"]["total"], 4900, "{v}");
    assert_receipt_consistent(&v["receipt"]);
    assert_eq!(gateway_charges_for(&a, &charge), 0);
    // Money on both sides: every succeeded charge in the store is one at the gateway.
    assert_eq!(
        a.count("SELECT COUNT(*) FROM charges WHERE status = 'succeeded'"),
        a.count("SELECT COUNT(*) FROM tg_charges WHERE status = 'succeeded'")
    );
}
