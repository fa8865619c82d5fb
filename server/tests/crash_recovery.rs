//! Crash recovery: a charge whose gateway answer was never recorded (the process died in between)
//! is looked up at the gateway by its key at start-up and on the next call on its order. One the
//! gateway never received is sent if it is a primary charge the shopper is still waiting for, and
//! failed if it is an add-on. The first tests rewrite the database the way a crash leaves it; the
//! last one SIGKILLs the real server at random moments under order and add-on load.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use tokio::sync::watch;

fn pending(s: &TestServer) -> i64 {
    s.count("SELECT COUNT(*) FROM charges WHERE status = 'pending'")
}

fn charge_id(receipt: &Value, kind: &str) -> String {
    receipt["charges"]
        .as_array()
        .expect("charges")
        .iter()
        .find(|c| c["kind"] == kind)
        .and_then(|c| c["id"].as_str())
        .unwrap_or_else(|| panic!("no {kind} charge in {receipt}"))
        .to_string()
}

fn line_ids(receipt: &Value) -> Vec<String> {
    receipt["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l["id"].as_str().expect("id").to_string())
        .collect()
}

/// Makes the database look as if the process died while `charge_id` was at the gateway: its
/// recorded answer, its payment events and the stored response of its request are gone.
fn forget_answer(s: &TestServer, charge_id: &str) {
    let db = s.db();
    db.execute(
        "UPDATE charges SET status = 'pending', gateway_ref = NULL, action_url = NULL, decline_code = NULL, decline_message = NULL WHERE id = ?1",
        &[charge_id],
    );
    db.execute(
        "DELETE FROM order_events WHERE charge_id = ?1 AND type LIKE 'payment_%'",
        &[charge_id],
    );
    db.execute(
        "UPDATE idempotency_keys SET response_status = NULL, response_body = NULL, completed_at = NULL
         WHERE resource_id = ?1 OR resource_id = (SELECT order_id FROM charges WHERE id = ?1 AND kind = 'primary')",
        &[charge_id],
    );
}

/// As [`forget_answer`], and the process died before the call: the gateway never saw it.
fn never_sent(s: &TestServer, charge_id: &str) {
    forget_answer(s, charge_id);
    s.db()
        .gateway()
        .execute(
            "DELETE FROM tg_charges WHERE idempotency_key = ?1",
            [charge_id],
        )
        .unwrap();
}

#[tokio::test]
async fn an_add_on_charged_before_the_crash_is_on_the_receipt_and_refundable() {
    let mut s = TestServer::start();
    let (_, o) = s.order_with(CARD_OK, false).await;
    let key = uuid();
    let (_, a, _) = s.addon(&o, "upsell", &key).await;
    assert_eq!(a["status"], "succeeded");
    let upsell = charge_id(&a["receipt"], "upsell");
    s.kill();
    forget_answer(&s, &upsell);
    s.restart();
    assert_eq!(pending(&s), 0, "start-up recovery asked the gateway");

    let (_, v) = s.status(&o).await;
    assert_eq!(v["receipt"]["offers"]["upsell"], "accepted");
    assert_eq!(line_ids(&v["receipt"]), ["product", "upsell"]);
    assert_receipt_consistent(&v["receipt"]);
    // The shopper's retry resumes the same charge; a new accept is answered from the order.
    let (st, again, replayed) = s.addon(&o, "upsell", &key).await;
    assert_eq!(
        (st, again["status"].as_str(), replayed),
        (StatusCode::OK, Some("succeeded"), false)
    );
    let (_, other, _) = s.addon(&o, "upsell", &uuid()).await;
    assert_eq!(other["status"], "already_applied");
    let order_id = o["order_id"].as_str().unwrap();
    let (st, r, _) = s
        .authed(
            Method::POST,
            &format!("/v1/orders/{order_id}/lines/upsell/refund"),
            ADMIN,
            None,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["receipt"]["refunded"], 2700);
    assert_eq!(s.count("SELECT COUNT(*) FROM tg_charges"), 2);
}

#[tokio::test]
async fn an_add_on_that_never_reached_the_gateway_fails_and_charges_nothing() {
    let mut s = TestServer::start();
    let (_, o) = s.order_with(CARD_OK, false).await;
    let key = uuid();
    let (_, a, _) = s.addon(&o, "upsell", &key).await;
    let upsell = charge_id(&a["receipt"], "upsell");
    s.kill();
    never_sent(&s, &upsell);
    s.restart();
    assert_eq!(pending(&s), 0);

    let (_, v) = s.status(&o).await;
    let r = &v["receipt"];
    assert_eq!(v["status"], "paid");
    assert_eq!(r["offers"]["upsell"], "failed");
    assert_eq!(line_ids(r), ["product"]);
    assert_eq!(r["total"], 4900);
    let failed = &r["charges"][1];
    assert_eq!(
        (
            failed["status"].as_str(),
            failed["decline"]["code"].as_str()
        ),
        (Some("declined"), Some("payment_interrupted"))
    );
    assert!(r["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "upsell_failed"));
    assert_receipt_consistent(r);
    // The shopper's retry learns that nothing was charged; a new accept is closed, not "in
    // progress"; the gateway still holds the primary charge only.
    let (st, again, _) = s.addon(&o, "upsell", &key).await;
    assert_eq!(
        (st, again["status"].as_str()),
        (StatusCode::OK, Some("declined"))
    );
    let (st, other, _) = s.addon(&o, "upsell", &uuid()).await;
    assert_eq!(
        (st, other["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("offer_closed"))
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM tg_charges"), 1);
}

#[tokio::test]
async fn a_primary_charge_that_never_reached_the_gateway_is_completed_for_the_waiting_shopper() {
    let mut s = TestServer::start();
    let tok = s.token(CARD_OK).await;
    let body = TestServer::order_body(&tok, true);
    let key = uuid();
    let o: Value = s.post_order(&key, &body).await.json().await.unwrap();
    s.kill();
    never_sent(&s, &charge_id(&o["receipt"], "primary"));
    s.restart();
    assert_eq!(pending(&s), 0);

    let (_, v) = s.status(&o).await;
    assert_eq!(v["status"], "paid");
    assert_eq!(v["receipt"]["total"], 5800);
    let r = s.post_order(&key, &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let resumed: Value = r.json().await.unwrap();
    assert_eq!(
        (&resumed["order_id"], resumed["status"].as_str()),
        (&o["order_id"], Some("paid"))
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM tg_charges"), 1);
}

#[tokio::test]
async fn a_primary_charge_that_never_reached_the_gateway_is_not_sent_once_the_shopper_has_gone() {
    let mut s = TestServer::start();
    let tok = s.token(CARD_OK).await;
    let body = TestServer::order_body(&tok, false);
    let key = uuid();
    let o: Value = s.post_order(&key, &body).await.json().await.unwrap();
    s.kill();
    let primary = charge_id(&o["receipt"], "primary");
    never_sent(&s, &primary);
    // Older than the window in which the checkout keeps retrying (RESEND_PRIMARY_SECS).
    s.db().execute(
        "UPDATE charges SET created_at = created_at - 3600 WHERE id = ?1",
        &[&primary],
    );
    s.restart();
    assert_eq!(pending(&s), 0);

    let (_, v) = s.status(&o).await;
    assert_eq!(v["status"], "declined");
    assert_eq!(v["decline"]["code"], "payment_interrupted");
    assert_eq!(v["receipt"]["total"], 0);
    let late: Value = s.post_order(&key, &body).await.json().await.unwrap();
    assert_eq!(late["status"], "declined");
    assert_eq!(s.count("SELECT COUNT(*) FROM tg_charges"), 0);
}

#[tokio::test]
async fn a_status_read_recovers_a_charge_a_failed_call_left_pending() {
    let s = TestServer::start();
    let (_, o) = s.order_with(CARD_OK, false).await;
    // No restart: the request died after the gateway charged (e.g. the store failed).
    forget_answer(&s, &charge_id(&o["receipt"], "primary"));
    let (_, v) = s.status(&o).await;
    assert_eq!(v["status"], "paid");
    assert_eq!(pending(&s), 0);
    assert_receipt_consistent(&v["receipt"]);
}

// ------------------------------------------------------------------------ SIGKILL under load

const CLIENTS: usize = 6;
const KILLS: u64 = 12;
/// `--test-crash-window-ms`: the test gateway takes this long to make a new charge, and again to
/// answer it, so a kill lands before or after the gateway has the charge.
const CRASH_WINDOW_MS: &str = "100";

fn random_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("random");
    u64::from_le_bytes(b) % n
}

#[derive(Default)]
struct Stats {
    /// Requests cut off by a kill after they had been sent.
    in_flight: AtomicUsize,
    /// Of those, sent again with the same key and body after the restart (as the widget does).
    retried: AtomicUsize,
    /// Of those, given up (the shopper left): only the server's recovery settles them.
    abandoned: AtomicUsize,
}

/// The current server: (epoch, base URL). A new epoch after each restart.
type Current = watch::Receiver<(u64, String)>;

/// Sends a request (built against the current server) until it gets an answer. A request cut
/// off by a kill waits for the next server, then is sent again if `retry` (or if it never left),
/// else given up (`None`).
async fn call(
    current: &mut Current,
    stats: &Stats,
    retry: bool,
    build: impl Fn(&str) -> RequestBuilder,
) -> Option<(StatusCode, Value)> {
    loop {
        let (epoch, base) = current.borrow().clone();
        let sent = match build(&base).send().await {
            Ok(r) => {
                let status = r.status();
                match r.text().await {
                    Ok(text) => {
                        let v = serde_json::from_str(&text)
                            .unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
                        return Some((status, v));
                    }
                    Err(_) => true,
                }
            }
            Err(e) => !e.is_connect(),
        };
        // Only a kill cuts a request off: one that fails while the server is up never sees a restart.
        tokio::time::timeout(
            Duration::from_secs(20),
            current.wait_for(|(e, _)| *e > epoch),
        )
        .await
        .expect("a request failed while the server was up")
        .ok()?;
        // Shoppers come back at different moments, so the next kill finds them at different steps.
        tokio::time::sleep(Duration::from_millis(random_below(100))).await;
        if sent {
            stats.in_flight.fetch_add(1, Ordering::Relaxed);
            if !retry {
                stats.abandoned.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            stats.retried.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A shopper after another: pays with the OK card, then accepts the upsell, or declines it and
/// accepts the downsell. Every other flow retries what a kill cut off; the others abandon it.
async fn shopper(
    n: usize,
    http: Client,
    mut current: Current,
    stop: Arc<AtomicBool>,
    stats: Arc<Stats>,
) {
    let email = format!("crash-{n}@example.com");
    let mut flow = 0u64;
    while !stop.load(Ordering::Relaxed) {
        flow += 1;
        let retry = flow.is_multiple_of(2);
        let Some((_, t)) = call(&mut current, &stats, true, |base| {
            http.post(format!("{base}/v1/test-gateway/tokens"))
                .json(&json!({"number": CARD_OK}))
        })
        .await
        else {
            continue;
        };
        let body = json!({"offer_id": "creator-course", "bump": flow.is_multiple_of(3),
            "buyer": {"email": email, "country": "DE"}, "payment_token": t["token"]});
        let key = uuid();
        let Some((st, order)) = call(&mut current, &stats, retry, |base| {
            http.post(format!("{base}/v1/orders"))
                .header("idempotency-key", &key)
                .json(&body)
        })
        .await
        else {
            continue;
        };
        assert_eq!(
            (st, order["status"].as_str()),
            (StatusCode::CREATED, Some("paid")),
            "{order}"
        );
        let id = order["order_id"].as_str().unwrap().to_string();
        let secret = order["order_secret"].as_str().unwrap().to_string();
        let on = |base: &str, path: &str| {
            http.post(format!("{base}/v1/orders/{id}/{path}"))
                .bearer_auth(&secret)
        };
        let offer = if flow.is_multiple_of(4) {
            let declined = call(&mut current, &stats, retry, |base| {
                on(base, "decline").json(&json!({"offer": "upsell"}))
            })
            .await;
            match declined {
                Some((StatusCode::OK, _)) => "downsell",
                Some(other) => panic!("decline: {other:?}"),
                None => continue,
            }
        } else {
            "upsell"
        };
        let key = uuid();
        let accepted = call(&mut current, &stats, retry, |base| {
            on(base, "addons")
                .header("idempotency-key", &key)
                .json(&json!({"offer": offer}))
        })
        .await;
        if let Some((st, a)) = accepted {
            // Resumed after a crash that kept the charge from the gateway: failed, not charged.
            let interrupted = a["decline"]["code"] == "payment_interrupted";
            assert!(
                st == StatusCode::OK && (a["status"] == "succeeded" || interrupted),
                "{st} {a}"
            );
        }
    }
}

/// Of the charges left pending: how many the gateway has (charged, answer unrecorded), and how
/// many add-ons it never received. (The store and the gateway may be two databases.)
fn pending_at_gateway(s: &TestServer) -> (i64, i64) {
    let at_gateway: HashSet<String> = {
        let db = s.db().gateway();
        let mut q = db
            .prepare("SELECT idempotency_key FROM tg_charges")
            .unwrap();
        let keys = q
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        keys
    };
    let pending = s
        .db()
        .strings("SELECT id || ' ' || kind FROM charges WHERE status = 'pending'");
    let mut out = (0, 0);
    for row in &pending {
        let (id, kind) = row.split_once(' ').unwrap();
        if at_gateway.contains(id) {
            out.0 += 1;
        } else if kind != "primary" {
            out.1 += 1;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_leaves_every_charge_on_exactly_one_receipt() {
    let started = Instant::now();
    let mut s = TestServer::start_with(&[
        "--test-crash-window-ms",
        CRASH_WINDOW_MS,
        "--rate-limit",
        "off",
    ]);
    let (publish, current) = watch::channel((0u64, s.base.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(Stats::default());
    let shoppers: Vec<_> = (0..CLIENTS)
        .map(|n| {
            tokio::spawn(shopper(
                n,
                s.client.clone(),
                current.clone(),
                stop.clone(),
                stats.clone(),
            ))
        })
        .collect();
    let (mut left_pending, mut charged_unrecorded, mut unsent_addons) = (0, 0, 0);
    for epoch in 1..=KILLS {
        tokio::time::sleep(Duration::from_millis(150 + random_below(450))).await;
        s.kill();
        // What the crash left: charges without a recorded answer, some of them made already.
        left_pending += pending(&s);
        let (charged, unsent) = pending_at_gateway(&s);
        charged_unrecorded += charged;
        unsent_addons += unsent;
        s.restart();
        assert_eq!(
            pending(&s),
            0,
            "after kill {epoch}, start-up recovery left charges pending"
        );
        publish.send_replace((epoch, s.base.clone()));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for shopper in shoppers {
        shopper.await.expect("shopper");
    }
    assert!(
        charged_unrecorded > 0 && left_pending > charged_unrecorded,
        "the kills did not land both before and after the gateway had a charge"
    );

    // Every order, read like support would (which also settles anything left).
    let ids = s.db().strings("SELECT id FROM orders");
    let mut on_receipts: HashMap<String, (i64, usize)> = HashMap::new();
    for id in &ids {
        let (st, v, _) = s
            .authed(Method::GET, &format!("/v1/orders/{id}"), ADMIN, None, None)
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["status"], "paid", "an order stayed unsettled: {v}");
        let r = &v["receipt"];
        assert_receipt_consistent(r);
        for offer in ["upsell", "downsell"] {
            assert_ne!(r["offers"][offer], "pending", "{r}");
        }
        let charges = r["charges"].as_array().unwrap();
        let succeeded: Vec<&Value> = charges
            .iter()
            .filter(|c| c["status"] == "succeeded")
            .collect();
        for line in r["lines"].as_array().unwrap() {
            assert!(
                succeeded.iter().any(|c| c["id"] == line["charge_id"]),
                "a receipt line without its charge: {r}"
            );
        }
        for c in succeeded {
            let entry = on_receipts
                .entry(c["id"].as_str().unwrap().to_string())
                .or_insert((c["amount"].as_i64().unwrap(), 0));
            entry.1 += 1;
        }
    }
    let gateway: Vec<(String, i64, String)> = {
        let db = s.db().gateway();
        let mut q = db
            .prepare("SELECT idempotency_key, amount, status FROM tg_charges")
            .unwrap();
        let rows = q
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows
    };
    for (key, amount, status) in &gateway {
        assert_eq!(status, "succeeded", "the OK card never declines");
        assert_eq!(
            on_receipts.get(key),
            Some(&(*amount, 1)),
            "gateway charge {key} is not on exactly one receipt"
        );
    }
    assert_eq!(
        on_receipts.len(),
        gateway.len(),
        "a receipt shows a charge the gateway does not hold"
    );
    assert_eq!(pending(&s), 0);
    let failed = s.count("SELECT COUNT(*) FROM charges WHERE decline_code = 'payment_interrupted'");
    assert_eq!(failed, unsent_addons, "only unsent add-ons fail");
    println!(
        "crash recovery: {KILLS} kills, {} requests cut off in flight ({} retried with their key, {} abandoned); \
         {left_pending} charges left pending by the kills: {charged_unrecorded} already charged at the gateway and \
         recovered from it, {} unsent primary charges sent, {failed} unsent add-ons failed; {} orders, {} gateway \
         charges, each on one receipt; {:.1} s",
        stats.in_flight.load(Ordering::Relaxed),
        stats.retried.load(Ordering::Relaxed),
        stats.abandoned.load(Ordering::Relaxed),
        left_pending - charged_unrecorded - unsent_addons,
        ids.len(),
        gateway.len(),
        started.elapsed().as_secs_f64()
    );
}
