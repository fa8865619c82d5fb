//! Test harness: runs the real `momentum-server` binary on 127.0.0.1 with an ephemeral port and a
//! temporary SQLite file (or a fresh Postgres database, see [`db`]), and talks HTTP to it.
#![allow(dead_code)]

pub mod contract;
pub mod db;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

pub const ADMIN: &str = "sk_test_integration_admin_key";
pub const CARD_OK: &str = "4242424242424242";
pub const CARD_DECLINE: &str = "4000000000000002";
pub const CARD_FUNDS: &str = "4000000000009995";
pub const CARD_3DS: &str = "4000002500003155";
pub const CARD_PROCESSING: &str = "4000000000000150";
pub const CARD_ADDON_DECLINE: &str = "4000000000000341";
pub const CARD_ADDON_3DS: &str = "4000002760003184";

pub struct TestServer {
    pub dir: tempfile::TempDir,
    /// The store (and test gateway) databases.
    pub store: db::TestDb,
    pub base: String,
    pub client: Client,
    child: Option<Child>,
    extra: Vec<String>,
    /// Every response `client` receives is checked against docs/openapi.yaml.
    contract: contract::Session,
}

fn spawn(db: &db::TestDb, extra: &[String]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_momentum-server"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--admin-key",
            ADMIN,
            "--processing-delay-ms",
            "400",
        ])
        .args(db.args())
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start momentum-server");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read listen line");
    let base = line
        .trim()
        .strip_prefix("momentum-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (child, base)
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> TestServer {
        TestServer::start_on(db::TestDb::new(), extra)
    }

    /// Another server process on the same databases (Postgres: two instances of one shop).
    pub fn start_sharing(&self, extra: &[&str]) -> TestServer {
        TestServer::start_on(self.store.clone(), extra)
    }

    /// A server on `store`.
    pub fn start_on(store: db::TestDb, extra: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (child, base) = spawn(&store, &extra);
        let contract = contract::Session::new();
        let client = Client::builder()
            .proxy(contract.proxy())
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(2000)
            .build()
            .expect("client");
        TestServer {
            dir,
            store,
            base,
            client,
            child: Some(child),
            extra,
            contract,
        }
    }

    /// SIGKILL the server process (no graceful shutdown).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("kill");
            c.wait().expect("wait");
        }
    }

    /// Kill and start again on the same database (new port).
    pub fn restart(&mut self) {
        self.kill();
        let (child, base) = spawn(&self.store, &self.extra);
        self.child = Some(child);
        self.base = base;
    }

    /// The stored rows, whichever the store (see [`db::TestDb`]).
    pub fn db(&self) -> &db::TestDb {
        &self.store
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.store.count(sql)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn token(&self, number: &str) -> String {
        let r = self
            .client
            .post(self.url("/v1/test-gateway/tokens"))
            .json(&json!({"number": number, "exp_month": 12, "exp_year": 2040, "cvc": "123"}))
            .send()
            .await
            .expect("tokenize");
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.expect("json");
        v["token"].as_str().expect("token").to_string()
    }

    pub fn order_body(token: &str, bump: bool) -> Value {
        json!({"offer_id": "creator-course", "bump": bump, "buyer": {"email": "ana@example.com", "country": "DE"}, "payment_token": token})
    }

    pub async fn post_order(&self, key: &str, body: &Value) -> Response {
        self.client
            .post(self.url("/v1/orders"))
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .expect("post order")
    }

    /// Creates an order with `card`; returns (status, body).
    pub async fn order_with(&self, card: &str, bump: bool) -> (StatusCode, Value) {
        let tok = self.token(card).await;
        let r = self
            .post_order(&uuid(), &TestServer::order_body(&tok, bump))
            .await;
        let s = r.status();
        (s, r.json().await.expect("json"))
    }

    pub async fn post_raw(
        &self,
        path: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.expect("send");
        let s = r.status();
        let text = r.text().await.expect("text");
        (
            s,
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({s}): {text}")),
        )
    }

    pub async fn authed(
        &self,
        method: reqwest::Method,
        path: &str,
        secret: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value, bool) {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(secret);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("send");
        let s = r.status();
        let replayed = r
            .headers()
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true");
        let text = r.text().await.expect("text");
        (
            s,
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({s}): {text}")),
            replayed,
        )
    }

    pub async fn addon(&self, order: &Value, offer: &str, key: &str) -> (StatusCode, Value, bool) {
        let path = format!(
            "/v1/orders/{}/addons",
            order["order_id"].as_str().expect("order_id")
        );
        self.authed(
            reqwest::Method::POST,
            &path,
            order["order_secret"].as_str().expect("secret"),
            Some(key),
            Some(json!({"offer": offer})),
        )
        .await
    }

    pub async fn decline(&self, order: &Value, offer: &str) -> (StatusCode, Value, bool) {
        let path = format!(
            "/v1/orders/{}/decline",
            order["order_id"].as_str().expect("order_id")
        );
        self.authed(
            reqwest::Method::POST,
            &path,
            order["order_secret"].as_str().expect("secret"),
            None,
            Some(json!({"offer": offer})),
        )
        .await
    }

    pub async fn confirm(&self, order: &Value, target: &str) -> (StatusCode, Value, bool) {
        let path = format!(
            "/v1/orders/{}/confirm",
            order["order_id"].as_str().expect("order_id")
        );
        self.authed(
            reqwest::Method::POST,
            &path,
            order["order_secret"].as_str().expect("secret"),
            None,
            Some(json!({"target": target})),
        )
        .await
    }

    pub async fn status(&self, order: &Value) -> (StatusCode, Value) {
        let path = format!(
            "/v1/orders/{}",
            order["order_id"].as_str().expect("order_id")
        );
        let (s, v, _) = self
            .authed(
                reqwest::Method::GET,
                &path,
                order["order_secret"].as_str().expect("secret"),
                None,
                None,
            )
            .await;
        (s, v)
    }

    /// Answers a 3-D Secure challenge like the shopper would (form post).
    pub async fn answer_challenge(&self, url: &str, outcome: &str) -> String {
        let page = self.client.get(url).send().await.expect("challenge page");
        assert_eq!(page.status(), StatusCode::OK);
        let csp = page
            .headers()
            .get("content-security-policy")
            .expect("csp")
            .to_str()
            .expect("csp")
            .to_string();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        let html = page.text().await.expect("html");
        assert!(
            html.contains("Approve payment") && !html.contains("<script>"),
            "{html}"
        );
        let r = self
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("outcome={outcome}"))
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), StatusCode::OK);
        r.text().await.expect("html")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn uuid() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("random");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Asserts the receipt's total equals the sum of its lines (inclusive tax) and the paid charges.
pub fn assert_receipt_consistent(receipt: &Value) {
    let lines = receipt["lines"].as_array().expect("lines");
    let inclusive = receipt["tax_mode"] == "inclusive";
    let sum: i64 = lines
        .iter()
        .map(|l| {
            l["amount"].as_i64().expect("amount")
                + if inclusive {
                    0
                } else {
                    l["tax_amount"].as_i64().expect("tax")
                }
        })
        .sum();
    assert_eq!(
        receipt["total"].as_i64(),
        Some(sum),
        "total != sum of lines: {receipt}"
    );
    let paid: i64 = receipt["charges"]
        .as_array()
        .expect("charges")
        .iter()
        .filter(|c| c["status"] == "succeeded")
        .map(|c| c["amount"].as_i64().expect("amount"))
        .sum();
    assert_eq!(paid, sum, "charges != lines: {receipt}");
    let tax: i64 = receipt["tax"]
        .as_array()
        .expect("tax")
        .iter()
        .map(|t| t["amount"].as_i64().expect("amount"))
        .sum();
    let line_tax: i64 = lines
        .iter()
        .map(|l| l["tax_amount"].as_i64().expect("tax"))
        .sum();
    assert_eq!(tax, line_tax);
}
