//! The kit catches real violations: it runs against the reference backend behind a fault proxy
//! that breaks one rule at a time, and must fail exactly the checks for that rule (and pass
//! everything without a fault).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use axum::body::{Body, Bytes};
use hyper::{Request, Response};
use momentum_server::{rate_limit::Limits, Config, Server};
use serde_json::{json, Value};

const ADMIN: &str = "sk_test_conformance_fault_proxy";

/// One broken rule.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    None,
    /// Replays lose their `Idempotent-Replayed` header.
    DropReplayedHeader,
    /// Replays answer the same JSON, but not the same bytes (re-serialized).
    ReplayAnotherBody,
    /// A second upsell on an order is "charged": its refusal becomes a success with a second
    /// upsell charge on the receipt.
    SecondUpsellCharged,
    /// Receipts lose a required field (`refund_terms`) that no behaviour check reads.
    ReceiptWithoutRefundTerms,
}

/// The reference backend, in this process, on a free port and a throwaway SQLite file.
async fn reference_backend(dir: &std::path::Path) -> SocketAddr {
    let config = Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        db: momentum_server::db::Database::Sqlite(dir.join("momentum.sqlite")),
        admin_key: ADMIN.into(),
        processing_delay: Duration::from_millis(300),
        // Charges take 2 × 100 ms, so that concurrent duplicates overlap the first one.
        test_crash_window: Duration::from_millis(100),
        limits: Limits::off(),
        ..Config::default()
    };
    let server = Server::bind(config)
        .await
        .expect("bind the reference backend");
    let addr = server.local_addr().expect("addr");
    tokio::spawn(server.run(std::future::pending()));
    addr
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn fault_proxy(upstream: SocketAddr, fault: Fault) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind proxy");
    let addr = listener.local_addr().expect("addr");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let client = client.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    forward(req, client.clone(), upstream, fault)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

async fn forward(
    req: Request<hyper::body::Incoming>,
    client: reqwest::Client,
    upstream: SocketAddr,
    fault: Fault,
) -> Result<Response<Body>, BoxError> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(Body::new(body), usize::MAX).await?;
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let mut out = client.request(parts.method.clone(), format!("http://{upstream}{path}"));
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST && name != hyper::header::CONTENT_LENGTH {
            out = out.header(name, value);
        }
    }
    let answer = out.body(body.clone()).send().await?;
    let mut status = answer.status();
    let mut headers = answer.headers().clone();
    let mut bytes: Bytes = answer.bytes().await?;
    let replayed = headers
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    match fault {
        Fault::None => {}
        Fault::DropReplayedHeader => {
            headers.remove("idempotent-replayed");
        }
        Fault::ReplayAnotherBody if replayed => {
            let v: Value = serde_json::from_slice(&bytes)?;
            bytes = serde_json::to_vec_pretty(&v)?.into();
        }
        Fault::ReplayAnotherBody => {}
        Fault::ReceiptWithoutRefundTerms => {
            if let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) {
                drop_refund_terms(&mut v);
                bytes = serde_json::to_vec(&v)?.into();
            }
        }
        Fault::SecondUpsellCharged => {
            let upsell = serde_json::from_slice::<Value>(&body)
                .is_ok_and(|b| b["offer"] == "upsell")
                && path.ends_with("/addons");
            let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let refused = status.as_u16() == 409 || v["status"] == "already_applied";
            if upsell && refused {
                let order = path.trim_end_matches("/addons");
                let mut get = client.get(format!("http://{upstream}{order}"));
                if let Some(auth) = parts.headers.get(hyper::header::AUTHORIZATION) {
                    get = get.header(hyper::header::AUTHORIZATION, auth);
                }
                let current: Value = get.send().await?.json().await?;
                // Only a second upsell: one refused for another reason (declined) stays refused.
                let charged = current["receipt"]["charges"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["kind"] == "upsell"));
                if charged {
                    let receipt = fabricate_second_upsell(current["receipt"].clone());
                    let fake = json!({"offer": "upsell", "status": "succeeded",
                                      "next": "receipt", "receipt": receipt});
                    status = hyper::StatusCode::OK;
                    bytes = serde_json::to_vec(&fake)?.into();
                }
            }
        }
    }
    let mut res = Response::new(Body::from(bytes));
    *res.status_mut() = status;
    for (name, value) in &headers {
        if name != hyper::header::CONTENT_LENGTH && name != hyper::header::TRANSFER_ENCODING {
            res.headers_mut().append(name, value.clone());
        }
    }
    Ok(res)
}

/// Removes `refund_terms` from every receipt (an object with `charges`), not from offer configs.
fn drop_refund_terms(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.contains_key("charges") {
                map.remove("refund_terms");
            }
            map.values_mut().for_each(drop_refund_terms);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_refund_terms),
        _ => {}
    }
}

/// The receipt with its upsell charged a second time.
fn fabricate_second_upsell(mut receipt: Value) -> Value {
    let charge = receipt["charges"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["kind"] == "upsell").cloned());
    let line = receipt["lines"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["kind"] == "upsell").cloned());
    if let (Some(mut charge), Some(mut line)) = (charge, line) {
        charge["id"] = json!("ch_fabricated_second_upsell");
        line["charge_id"] = json!("ch_fabricated_second_upsell");
        let amount = charge["amount"].as_i64().unwrap_or(0);
        receipt["total"] = json!(receipt["total"].as_i64().unwrap_or(0) + amount);
        receipt["net"] = json!(receipt["net"].as_i64().unwrap_or(0) + amount);
        if let Some(c) = receipt["charges"].as_array_mut() {
            c.push(charge);
        }
        if let Some(l) = receipt["lines"].as_array_mut() {
            l.push(line);
        }
    }
    receipt
}

/// Runs the kit against the backend behind `fault`; returns the checks that failed and the
/// closing line.
async fn run_kit(fault: Fault) -> (BTreeSet<String>, String, bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = reference_backend(dir.path()).await;
    let proxy = fault_proxy(backend, fault).await;
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_momentum-conformance"))
            .args(["--api", &format!("http://{proxy}")])
            .env("MOMENTUM_ADMIN_KEY", ADMIN)
            .output()
            .expect("run momentum-conformance")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{fault:?}:\n{stdout}");
    let failed = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("FAIL "))
        .map(|l| l.split(':').next().unwrap_or(l).to_string())
        .collect();
    let closing = stdout.lines().last().unwrap_or("").to_string();
    (failed, closing, out.status.success())
}

fn names(n: &[&str]) -> BTreeSet<String> {
    n.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_backend_passes() {
    let (failed, closing, ok) = run_kit(Fault::None).await;
    assert_eq!(failed, names(&[]));
    assert_eq!(closing, "20 passed, 0 failed");
    assert!(ok, "exit status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_without_its_header_fails_the_header_check_only() {
    let (failed, closing, ok) = run_kit(Fault::DropReplayedHeader).await;
    assert_eq!(failed, names(&["idempotency.replay_header"]));
    assert_eq!(closing, "19 passed, 1 failed");
    assert!(!ok, "exit status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_with_other_bytes_fails_the_body_check_only() {
    let (failed, closing, ok) = run_kit(Fault::ReplayAnotherBody).await;
    assert_eq!(failed, names(&["idempotency.replay_body"]));
    assert_eq!(closing, "19 passed, 1 failed");
    assert!(!ok, "exit status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_upsell_let_through_fails_the_upsell_cap() {
    let (failed, closing, ok) = run_kit(Fault::SecondUpsellCharged).await;
    assert_eq!(failed, names(&["caps.one_upsell"]));
    assert_eq!(closing, "19 passed, 1 failed");
    assert!(!ok, "exit status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_missing_a_required_field_fails_the_schema_check_only() {
    let (failed, closing, ok) = run_kit(Fault::ReceiptWithoutRefundTerms).await;
    assert_eq!(failed, names(&["schema.every_answer"]));
    assert_eq!(closing, "19 passed, 1 failed");
    assert!(!ok, "exit status");
}

#[test]
fn the_admin_key_is_never_a_flag_value() {
    let out = Command::new(env!("CARGO_BIN_EXE_momentum-conformance"))
        .args(["--api", "http://127.0.0.1:9", "--admin-key", ADMIN])
        .env_remove("MOMENTUM_ADMIN_KEY")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("env:VAR or file:PATH"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_momentum-conformance"))
        .args(["--api", "http://127.0.0.1:9"])
        .env_remove("MOMENTUM_ADMIN_KEY")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("MOMENTUM_ADMIN_KEY is not set"), "{err}");
}
