//! Schema migrations on a real database file: one made by the server before the schema was
//! versioned (`fixtures/unversioned-2026-12-01.sqlite`: main of 2026-12-01, one paid order with a
//! bump, an accepted upsell, a refunded bump, and two funnel events) is upgraded in place and
//! keeps its orders, secrets and money. The Postgres schema's migrations run in every test of the
//! Postgres pass (each server starts on a new database, `restart.rs` on an existing one).

mod common;

use std::path::Path;

use common::db::{self, TestDb};
use common::*;
use reqwest::StatusCode;
use serde_json::json;

const ORDER: &str = "ord_9ea0ef491e628a7ce971ca35dd2e88fc";
const SECRET: &str = "osec_641a5cf8816e842ccc06fb853f392d689da2c001eb6cfd2ebe4c703a084b11d5";

fn fixture() -> TestDb {
    TestDb::sqlite_copy_of(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/unversioned-2026-12-01.sqlite"),
    )
}

#[tokio::test]
async fn a_database_from_before_versioning_is_upgraded_in_place() {
    if db::postgres() {
        return; // A SQLite file: the SQLite pass runs it.
    }
    let store = fixture();
    assert_eq!(
        store.count("SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_version'"),
        0,
        "the fixture predates versioning"
    );
    let mut s = TestServer::start_on(store, &[]);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM schema_version"),
        s.count("SELECT MAX(version) FROM schema_version"),
        "every migration recorded once"
    );
    assert_eq!(s.count("SELECT MIN(version) FROM schema_version"), 1);
    // The old order, read with the secret the old server issued (same installation secret).
    let order = json!({"order_id": ORDER, "order_secret": SECRET});
    let (st, v) = s.status(&order).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let r = &v["receipt"];
    assert_eq!(v["status"], "paid");
    assert_eq!(r["total"], 4900 + 900 + 2700);
    assert_eq!(r["refunded"], 900);
    assert_eq!(r["offers"]["upsell"], "accepted", "{r}");
    assert_receipt_consistent(r);
    assert_eq!(s.count("SELECT COUNT(*) FROM charges"), 2);
    assert_eq!(s.count("SELECT COUNT(*) FROM tg_charges"), 2);
    // Its insights survived (events and the visit) and new orders go on.
    assert_eq!(s.count("SELECT COUNT(*) FROM events"), 2);
    let (st, o) = s.order_with(CARD_OK, true).await;
    assert_eq!(
        (st, o["status"].as_str()),
        (StatusCode::CREATED, Some("paid"))
    );
    let versions = s.count("SELECT COUNT(*) FROM schema_version");
    // Opening an up-to-date database applies nothing.
    s.restart();
    assert_eq!(s.count("SELECT COUNT(*) FROM schema_version"), versions);
    assert_eq!(s.count("SELECT COUNT(*) FROM orders"), 2);
}

#[tokio::test]
async fn a_database_from_a_newer_server_is_refused() {
    if db::postgres() {
        return;
    }
    let store = fixture();
    let s = TestServer::start_on(store.clone(), &[]);
    drop(s);
    store.execute(
        "INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'from the future', 0)",
        &[],
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_momentum-server"))
        .args(["--addr", "127.0.0.1:0"])
        .args(store.args())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("schema version 999"), "{err}");
}
