//! Harness for the Stripe gateway tests: a real localstripe process (installed by
//! `cargo xtask test` into `target/localstripe-venv`, or wherever `LOCALSTRIPE_BIN` points) and
//! the real `momentum-server` binary with `--gateway stripe` pointed at it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};

pub const ADMIN: &str = "sk_test_integration_admin_key";
pub const SECRET_KEY: &str = "sk_test_localstripe";
pub const PUBLISHABLE_KEY: &str = "pk_test_localstripe";
pub const WEBHOOK_SECRET: &str = "whsec_integration";
/// localstripe's failing test IBAN: the only payment it settles asynchronously (`processing`,
/// then failed half a second later, with a `payment_intent.payment_failed` webhook).
pub const SEPA_IBAN_FAILING: &str = "DE62370400440532013001";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

fn localstripe_bin() -> PathBuf {
    let bin = std::env::var_os("LOCALSTRIPE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/localstripe-venv/bin/localstripe")
        });
    assert!(
        bin.exists(),
        "localstripe is not installed at {}: run `cargo xtask localstripe` (`cargo xtask test` \
         does it too), or set LOCALSTRIPE_BIN",
        bin.display()
    );
    bin
}

/// A localstripe process on a free port, killed on drop.
pub struct Localstripe {
    child: Child,
    pub base: String,
    http: Client,
}

impl Localstripe {
    pub fn start() -> Localstripe {
        let port = free_port();
        let mut child = Command::new(localstripe_bin())
            .args(["--port", &port.to_string(), "--from-scratch"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start localstripe");
        let base = format!("http://127.0.0.1:{port}");
        let http = client();
        // Generous: the stripe tests start one localstripe (Python, seconds of imports) each, in
        // parallel, on a machine that may be compiling too; 30 s was seen to run out.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("localstripe exited before it answered: {status}");
            }
            let up = http
                .get(format!("{base}/js.stripe.com/v3/"))
                .send()
                .is_ok_and(|r| r.status().is_success());
            if up {
                break;
            }
            assert!(Instant::now() < deadline, "localstripe did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Localstripe { child, base, http }
    }

    /// A call with the secret key, as the dashboard or a test would make it.
    pub fn api(&self, method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> Value {
        let req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(SECRET_KEY);
        let req = if method == reqwest::Method::GET {
            req.query(form)
        } else {
            req.form(form)
        };
        let r = req.send().expect("localstripe call");
        let status = r.status();
        let body: Value = r.json().expect("localstripe json");
        assert!(status.is_success(), "localstripe {path}: {status} {body}");
        body
    }

    /// A card token, as Stripe Elements' `createToken` makes it.
    pub fn card_token(&self, number: &str) -> String {
        let t = self.api(
            reqwest::Method::POST,
            "/v1/tokens",
            &[
                ("card[number]", number),
                ("card[exp_month]", "12"),
                ("card[exp_year]", "2034"),
                ("card[cvc]", "123"),
            ],
        );
        t["id"].as_str().expect("token id").to_string()
    }

    /// A SEPA Direct Debit PaymentMethod that is `processing`, then fails.
    pub fn failing_sepa_method(&self) -> String {
        let pm = self.api(
            reqwest::Method::POST,
            "/v1/payment_methods",
            &[
                ("type", "sepa_debit"),
                ("sepa_debit[iban]", SEPA_IBAN_FAILING),
            ],
        );
        pm["id"].as_str().expect("pm id").to_string()
    }

    /// Every PaymentIntent localstripe has.
    pub fn intents(&self) -> Vec<Value> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut q = vec![("limit", "100".to_string())];
            if let Some(a) = &after {
                q.push(("starting_after", a.clone()));
            }
            let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let page = self.api(reqwest::Method::GET, "/v1/payment_intents", &q);
            let data = page["data"].as_array().cloned().unwrap_or_default();
            after = data
                .last()
                .and_then(|p| p["id"].as_str())
                .map(str::to_owned);
            all.extend(data);
            if page["has_more"] != json!(true) {
                return all;
            }
        }
    }

    /// The PaymentIntents of one of our orders (by metadata).
    pub fn intents_of(&self, order_id: &str) -> Vec<Value> {
        self.intents()
            .into_iter()
            .filter(|p| p["metadata"]["momentum_order_id"] == json!(order_id))
            .collect()
    }

    /// Points localstripe's webhooks at `url`, signed with [`WEBHOOK_SECRET`].
    pub fn send_webhooks_to(&self, url: &str) {
        let r = self
            .http
            .post(format!("{}/_config/webhooks/momentum", self.base))
            .form(&[("url", url), ("secret", WEBHOOK_SECRET)])
            .send()
            .expect("configure webhooks");
        assert!(r.status().is_success());
    }
}

impl Drop for Localstripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `momentum-server --gateway stripe` on a temporary database, against `ls`.
pub struct StripeServer {
    pub dir: tempfile::TempDir,
    pub base: String,
    pub http: Client,
    child: Option<Child>,
    stripe_base: String,
}

fn spawn(db: &PathBuf, stripe_base: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_momentum-server"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--admin-key",
            ADMIN,
            "--rate-limit",
            "off",
        ])
        .args(["--gateway", "stripe", "--stripe-dialect", "localstripe"])
        .args(["--stripe-publishable-key", PUBLISHABLE_KEY])
        .args(["--stripe-api-base", stripe_base])
        .arg("--stripe-js-url")
        .arg(format!("{stripe_base}/js.stripe.com/v3/"))
        .arg("--db")
        .arg(db)
        .env("STRIPE_SECRET_KEY", SECRET_KEY)
        .env("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
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

pub fn key() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("random");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl StripeServer {
    pub fn start(ls: &Localstripe) -> StripeServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let (child, base) = spawn(&dir.path().join("momentum.sqlite"), &ls.base);
        StripeServer {
            dir,
            base,
            http: client(),
            child: Some(child),
            stripe_base: ls.base.clone(),
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("momentum.sqlite")
    }

    pub fn db(&self) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(self.db_path()).expect("open db");
        c.busy_timeout(Duration::from_secs(10)).expect("busy");
        c
    }

    /// SIGKILL, then start again on the same database.
    pub fn restart(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("kill");
            c.wait().expect("wait");
        }
        let (child, base) = spawn(&self.db_path(), &self.stripe_base);
        self.child = Some(child);
        self.base = base;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POST `body` as JSON with optional bearer and idempotency key; (status, body).
    pub fn post(
        &self,
        path: &str,
        bearer: Option<&str>,
        idempotency_key: Option<&str>,
        body: &Value,
    ) -> (StatusCode, Value) {
        let mut req = self.http.post(self.url(path)).json(body);
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        if let Some(k) = idempotency_key {
            req = req.header("idempotency-key", k);
        }
        let r = req.send().expect("post");
        let s = r.status();
        (s, r.json().unwrap_or(Value::Null))
    }

    pub fn get(&self, path: &str, bearer: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(bearer)
            .send()
            .expect("get");
        let s = r.status();
        (s, r.json().unwrap_or(Value::Null))
    }

    /// Places an order paid with `token` (with the bump when `bump`).
    pub fn order(&self, token: &str, bump: bool, email: &str) -> Value {
        let body = json!({"offer_id": "creator-course", "bump": bump,
            "buyer": {"email": email, "country": "DE"}, "payment_token": token});
        let (s, v) = self.post("/v1/orders", None, Some(&key()), &body);
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    pub fn addon(&self, order: &Value, offer: &str) -> Value {
        let secret = order["order_secret"].as_str().expect("secret");
        let path = format!("/v1/orders/{}/addons", order["order_id"].as_str().unwrap());
        let (s, v) = self.post(
            &path,
            Some(secret),
            Some(&key()),
            &json!({ "offer": offer }),
        );
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// The receipt, as the admin sees it (reading it settles nothing here: admin reads do, so
    /// tests that must not settle read the database instead).
    pub fn receipt(&self, order: &Value) -> Value {
        let path = format!("/v1/orders/{}", order["order_id"].as_str().unwrap());
        let (s, v) = self.get(&path, ADMIN);
        assert_eq!(s, StatusCode::OK, "{v}");
        v["receipt"].clone()
    }

    /// POSTs a webhook delivery with the given signature header.
    pub fn webhook(&self, body: &str, signature: Option<&str>) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(self.url("/v1/webhooks/stripe"))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(sig) = signature {
            req = req.header("stripe-signature", sig);
        }
        let r = req.send().expect("webhook");
        let s = r.status();
        (s, r.json().unwrap_or(Value::Null))
    }

    /// Our charges of an order: (kind, status) from the database.
    pub fn charges(&self, order_id: &str) -> Vec<(String, String)> {
        let db = self.db();
        let mut st = db
            .prepare(
                "SELECT kind, status FROM charges WHERE order_id = ?1 ORDER BY created_at, kind",
            )
            .unwrap();
        st.query_map([order_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

impl Drop for StripeServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
