//! HTTP to the backend under test: raw answers (status, headers, bytes) so that checks can compare
//! replays byte for byte.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::spec::Contract;

/// One answer of the backend.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The body as sent.
    pub bytes: Vec<u8>,
}

impl Answer {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `error.code`, for an error answer.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// "status code" for messages.
    pub fn brief(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        let cut = text.char_indices().nth(300).map_or(text.len(), |(i, _)| i);
        format!("{} {}", self.status.as_u16(), &text[..cut])
    }
}

/// The backend under test.
pub struct Backend {
    /// Base URL (the `/v1` paths are appended).
    pub api: String,
    /// Admin key (from the environment).
    pub admin_key: String,
    /// Where test-mode tokens come from.
    pub token_endpoint: String,
    http: reqwest::Client,
    contract: Contract,
    /// What the answers so far broke of docs/openapi.yaml.
    violations: Mutex<Vec<String>>,
}

/// A request to send.
pub struct Req<'a> {
    pub method: Method,
    pub path: &'a str,
    pub bearer: Option<&'a str>,
    pub key: Option<&'a str>,
    pub body: Option<Vec<u8>>,
    pub content_type: &'a str,
    pub headers: Vec<(&'a str, &'a str)>,
}

impl<'a> Req<'a> {
    pub fn new(method: Method, path: &'a str) -> Req<'a> {
        Req {
            method,
            path,
            bearer: None,
            key: None,
            body: None,
            content_type: "application/json",
            headers: Vec::new(),
        }
    }
    pub fn json(mut self, v: &Value) -> Req<'a> {
        self.body = Some(v.to_string().into_bytes());
        self
    }
    pub fn raw(mut self, body: &str) -> Req<'a> {
        self.body = Some(body.as_bytes().to_vec());
        self
    }
    pub fn bearer(mut self, token: &'a str) -> Req<'a> {
        self.bearer = Some(token);
        self
    }
    pub fn key(mut self, key: &'a str) -> Req<'a> {
        self.key = Some(key);
        self
    }
    pub fn header(mut self, name: &'a str, value: &'a str) -> Req<'a> {
        self.headers.push((name, value));
        self
    }
    pub fn content_type(mut self, ct: &'a str) -> Req<'a> {
        self.content_type = ct;
        self
    }
}

/// A random key (128 bits, hex).
pub fn random_id() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the system's random source");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Backend {
    pub fn new(api: &str, admin_key: String, token_endpoint: Option<String>) -> Backend {
        let api = api.trim_end_matches('/').to_string();
        let token_endpoint =
            token_endpoint.unwrap_or_else(|| format!("{api}/v1/test-gateway/tokens"));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Backend {
            api,
            admin_key,
            token_endpoint,
            http,
            contract: Contract::open(),
            violations: Mutex::new(Vec::new()),
        }
    }

    /// Checks an answer against docs/openapi.yaml, when it is the API's (not another host's).
    fn check_schema(&self, method: &Method, url: &str, a: &Answer) {
        let Some(rest) = url.strip_prefix(&self.api) else {
            return;
        };
        let path = rest.split('?').next().unwrap_or(rest);
        let problems = self.contract.check(
            method.as_str(),
            path,
            a.status.as_u16(),
            &a.headers,
            &a.bytes,
        );
        if !problems.is_empty() {
            let mut v = self.violations.lock().unwrap_or_else(|e| e.into_inner());
            v.extend(problems);
        }
    }

    /// Everything the answers so far broke of docs/openapi.yaml.
    pub fn schema_violations(&self) -> Vec<String> {
        self.violations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.api)
        }
    }

    /// Sends one request.
    pub async fn send(&self, r: Req<'_>) -> Result<Answer, String> {
        let url = self.url(r.path);
        let mut b = self.http.request(r.method.clone(), &url);
        if let Some(t) = r.bearer {
            b = b.bearer_auth(t);
        }
        if let Some(k) = r.key {
            b = b.header("idempotency-key", k);
        }
        for (k, v) in &r.headers {
            b = b.header(*k, *v);
        }
        if let Some(body) = r.body {
            b = b.header("content-type", r.content_type).body(body);
        }
        let res = b
            .send()
            .await
            .map_err(|e| format!("{} {}: {e}", r.method, r.path))?;
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res
            .bytes()
            .await
            .map_err(|e| format!("{} {}: body: {e}", r.method, r.path))?
            .to_vec();
        let a = Answer {
            status,
            headers,
            bytes,
        };
        self.check_schema(&r.method, &url, &a);
        Ok(a)
    }

    /// A test-mode payment token for `card`.
    pub async fn token(&self, card: &str) -> Result<String, String> {
        let endpoint = self.token_endpoint.clone();
        let a = self
            .send(
                Req::new(Method::POST, &endpoint).json(
                    &json!({"number": card, "exp_month": 12, "exp_year": 2040, "cvc": "123"}),
                ),
            )
            .await?;
        a.json()["token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("no token from {}: {}", self.token_endpoint, a.brief()))
    }

    /// `POST /v1/orders` with a fresh token for `card`.
    pub async fn order(&self, offer: &str, card: &str, bump: bool) -> Result<Order, String> {
        let email = format!("conformance-{}@example.com", &random_id()[..12]);
        let token = self.token(card).await?;
        let body = json!({"offer_id": offer, "bump": bump,
            "buyer": {"email": email, "country": "DE"}, "payment_token": token});
        let key = random_id();
        let a = self
            .send(Req::new(Method::POST, "/v1/orders").key(&key).json(&body))
            .await?;
        if a.status != StatusCode::CREATED {
            return Err(format!("POST /v1/orders: {}", a.brief()));
        }
        let v = a.json();
        Ok(Order {
            id: v["order_id"].as_str().unwrap_or("").to_string(),
            secret: v["order_secret"].as_str().unwrap_or("").to_string(),
            resume_pass: v["resume_pass"].as_str().unwrap_or("").to_string(),
            email,
            created: v,
        })
    }

    /// A call on an order with its secret.
    pub async fn on_order(
        &self,
        o: &Order,
        method: Method,
        action: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Result<Answer, String> {
        let path = format!("/v1/orders/{}{action}", o.id);
        let mut r = Req::new(method, &path).bearer(&o.secret);
        if let Some(k) = key {
            r = r.key(k);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        self.send(r).await
    }

    /// `GET /v1/orders/{id}`.
    pub async fn status(&self, o: &Order) -> Result<Value, String> {
        let a = self.on_order(o, Method::GET, "", None, None).await?;
        if a.status != StatusCode::OK {
            return Err(format!("GET /v1/orders/{}: {}", o.id, a.brief()));
        }
        Ok(a.json())
    }

    /// The order's charges as the backend's support view lists them (`GET /v1/admin/orders`).
    pub async fn charges_by_email(&self, email: &str) -> Result<Vec<Value>, String> {
        let path = format!("/v1/admin/orders?email={email}");
        let a = self
            .send(Req::new(Method::GET, &path).bearer(&self.admin_key))
            .await?;
        if a.status != StatusCode::OK {
            return Err(format!("GET /v1/admin/orders: {}", a.brief()));
        }
        Ok(a.json()["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|o| {
                o["receipt"]["charges"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect())
    }

    /// Answers a test-mode 3-D Secure challenge like the shopper would (the page's form).
    pub async fn answer_challenge(&self, url: &str, outcome: &str) -> Result<(), String> {
        let a = self
            .send(
                Req::new(Method::POST, url)
                    .content_type("application/x-www-form-urlencoded")
                    .raw(&format!("outcome={outcome}")),
            )
            .await?;
        if a.status.is_success() {
            Ok(())
        } else {
            Err(format!("challenge {url}: {}", a.status))
        }
    }
}

/// An order the kit created.
pub struct Order {
    pub id: String,
    pub secret: String,
    pub resume_pass: String,
    pub email: String,
    /// The `POST /v1/orders` answer.
    pub created: Value,
}
