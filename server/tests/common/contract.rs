//! The contract check: every response the integration tests receive through a `TestServer`'s
//! client is validated against `docs/openapi.yaml`.
//!
//! The client sends its requests through a small forwarding HTTP proxy in this process (reqwest's
//! own proxy support, so the tests' URLs, raw TCP connections and restarts stay as they are). The
//! proxy forwards each request unchanged, checks the answer (status declared for the operation,
//! declared headers present, body valid against the declared schema) and hands it back byte for
//! byte. Violations are kept per `TestServer` and fail its test when the server is dropped.
//!
//! The spec allows backends to add response fields; the reference backend may not: here every
//! object schema with `properties` is closed (`additionalProperties: false`), so a field the
//! server sends and the spec does not name is a violation.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use axum::body::{Body, Bytes};
use hyper::{Request, Response};
use serde_json::Value;

/// Where the spec lives.
pub fn spec_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.yaml")
}

/// The spec as JSON.
pub fn load_spec() -> Value {
    let text = std::fs::read_to_string(spec_path()).expect("read docs/openapi.yaml");
    serde_norway::from_str(&text).expect("docs/openapi.yaml is YAML")
}

/// Closes every object schema that lists its properties (see the module comment).
fn close_objects(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let closable = map.get("type").and_then(Value::as_str) == Some("object")
                && map.get("properties").is_some_and(Value::is_object)
                && !map.contains_key("additionalProperties");
            if closable {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(close_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// Resolves a local `$ref` (`#/components/…`) of the spec, once.
fn deref<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => spec
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {r}")),
        None => v,
    }
}

/// A response of one operation as the spec declares it.
struct Declared {
    /// Required headers (lower case) with their schemas; optional ones too, checked when sent.
    headers: Vec<(String, bool, jsonschema::Validator)>,
    /// Media type essence → body validator (`None`: not JSON, the media type is checked only).
    content: Vec<(String, Option<jsonschema::Validator>)>,
}

/// The compiled spec.
pub struct Contract {
    /// (path template segments, method) → status → declared response.
    operations: Vec<(Vec<String>, String, HashMap<u16, Declared>)>,
    /// Error shapes by status, for answers outside any operation (unknown route or method).
    errors: HashMap<u16, jsonschema::Validator>,
}

fn validator(spec: &Value, schema: &Value) -> jsonschema::Validator {
    // The schema keeps the spec's components beside it, so that its `#/components/…` refs resolve.
    let mut root = schema.clone();
    if let Value::Object(map) = &mut root {
        map.insert("components".into(), spec["components"].clone());
    } else {
        root = serde_json::json!({"allOf": [schema], "components": spec["components"]});
    }
    jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("bad schema {schema}: {e}"))
}

impl Contract {
    /// Compiles `docs/openapi.yaml`.
    pub fn load() -> Contract {
        let mut spec = load_spec();
        close_objects(&mut spec);
        let spec = &spec;
        let mut operations = Vec::new();
        for (path, item) in spec["paths"].as_object().expect("paths") {
            let segments: Vec<String> = path.split('/').map(str::to_string).collect();
            for (method, op) in item.as_object().expect("path item") {
                if method == "parameters" {
                    continue;
                }
                let mut responses = HashMap::new();
                for (status, response) in op["responses"].as_object().expect("responses") {
                    let response = deref(spec, response);
                    let mut headers = Vec::new();
                    for (name, h) in response["headers"].as_object().into_iter().flatten() {
                        let h = deref(spec, h);
                        let required = h["required"].as_bool().unwrap_or(false);
                        headers.push((
                            name.to_ascii_lowercase(),
                            required,
                            validator(spec, &h["schema"]),
                        ));
                    }
                    let mut content = Vec::new();
                    for (media, m) in response["content"].as_object().into_iter().flatten() {
                        let v =
                            (media == "application/json").then(|| validator(spec, &m["schema"]));
                        content.push((media.clone(), v));
                    }
                    let status: u16 = status.parse().expect("numeric status codes only");
                    responses.insert(status, Declared { headers, content });
                }
                operations.push((segments.clone(), method.to_ascii_uppercase(), responses));
            }
        }
        let mut errors = HashMap::new();
        for (name, schema) in spec["components"]["schemas"].as_object().expect("schemas") {
            if let Some(status) = name
                .strip_prefix("Error")
                .and_then(|s| s.parse::<u16>().ok())
            {
                errors.insert(status, validator(spec, schema));
            }
        }
        Contract { operations, errors }
    }

    /// Whether `path` is part of the contract's namespace (the API, its test gateway, health);
    /// the creator's HTML dashboard (`/admin`) and static files are not.
    fn governs(path: &str) -> bool {
        path.starts_with("/v1/") || path == "/healthz" || path.starts_with("/test-gateway/")
    }

    /// The operations whose template matches `path`, the one with most literal segments first.
    fn matching(&self, path: &str) -> Vec<&(Vec<String>, String, HashMap<u16, Declared>)> {
        let parts: Vec<&str> = path.split('/').collect();
        let mut found: Vec<_> = self
            .operations
            .iter()
            .filter(|(t, _, _)| {
                t.len() == parts.len()
                    && t.iter()
                        .zip(&parts)
                        .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t.as_str() == *p)
            })
            .collect();
        let literal = |t: &Vec<String>| t.iter().filter(|s| !s.starts_with('{')).count();
        found.sort_by_key(|(t, _, _)| std::cmp::Reverse(literal(t)));
        found
    }

    /// Checks one answer; returns what is wrong with it.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        status: u16,
        headers: &hyper::HeaderMap,
        body: &[u8],
    ) -> Vec<String> {
        if !Contract::governs(path) || method == "OPTIONS" || method == "HEAD" {
            return Vec::new();
        }
        let what = format!("{method} {path} → {status}");
        let candidates = self.matching(path);
        let Some(template) = candidates.first().map(|(t, _, _)| t) else {
            // An unknown route: the API's 404 (or a rate limit that came first).
            return self.check_error(&what, &[404, 429], status, headers, body);
        };
        let op = candidates
            .iter()
            .find(|(t, m, _)| t == template && m == method);
        let Some((_, _, responses)) = op else {
            return self.check_error(&what, &[405, 429], status, headers, body);
        };
        let Some(declared) = responses.get(&status) else {
            return vec![format!("{what}: status not declared for this operation")];
        };
        let mut problems = Vec::new();
        for (name, required, schema) in &declared.headers {
            match headers.get(name.as_str()).map(|v| v.to_str()) {
                None if *required => problems.push(format!("{what}: header {name} missing")),
                None => {}
                Some(Err(_)) => problems.push(format!("{what}: header {name} is not text")),
                Some(Ok(text)) => {
                    // A header is text; an integer schema (Retry-After) reads it as a number.
                    let as_number = serde_json::from_str::<Value>(text).ok();
                    let valid = schema.is_valid(&Value::String(text.into()))
                        || as_number.is_some_and(|n| n.is_number() && schema.is_valid(&n));
                    if !valid {
                        problems.push(format!("{what}: header {name}: {text:?} is not valid"));
                    }
                }
            }
        }
        let media = essence(headers);
        match declared.content.iter().find(|(m, _)| *m == media) {
            None if declared.content.is_empty() => {}
            None => problems.push(format!(
                "{what}: Content-Type {media:?}, declared {:?}",
                declared.content.iter().map(|(m, _)| m).collect::<Vec<_>>()
            )),
            Some((_, None)) => {}
            Some((_, Some(schema))) => problems.extend(validate_json(&what, schema, body)),
        }
        problems
    }

    fn check_error(
        &self,
        what: &str,
        allowed: &[u16],
        status: u16,
        headers: &hyper::HeaderMap,
        body: &[u8],
    ) -> Vec<String> {
        if !allowed.contains(&status) {
            return vec![format!("{what}: no operation here answers this")];
        }
        if essence(headers) != "application/json" {
            return vec![format!("{what}: an error must be application/json")];
        }
        validate_json(what, &self.errors[&status], body)
    }
}

fn essence(headers: &hyper::HeaderMap) -> String {
    headers
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn validate_json(what: &str, schema: &jsonschema::Validator, body: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return vec![format!(
            "{what}: body is not JSON: {}",
            String::from_utf8_lossy(body)
        )];
    };
    let errors: Vec<String> = schema
        .iter_errors(&value)
        .map(|e| format!("{what}: at {:?}: {e}", e.instance_path().as_str()))
        .collect();
    if errors.is_empty() {
        errors
    } else {
        let mut errors = errors;
        let text = value.to_string();
        let cut = text.char_indices().nth(400).map_or(text.len(), |(i, _)| i);
        errors.push(format!("{what}: body {}", &text[..cut]));
        errors
    }
}

// ------------------------------------------------------------------ the checking proxy

/// Violations per session (one per `TestServer`).
static VIOLATIONS: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());
static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

struct Proxy {
    addr: SocketAddr,
}

fn proxy() -> &'static Proxy {
    static PROXY: OnceLock<Proxy> = OnceLock::new();
    PROXY.get_or_init(|| {
        let contract = Box::leak(Box::new(Contract::load()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind contract proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        std::thread::Builder::new()
            .name("contract-proxy".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(serve(listener, contract));
            })
            .expect("spawn contract proxy");
        Proxy { addr }
    })
}

async fn serve(listener: std::net::TcpListener, contract: &'static Contract) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
    let upstream = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(2000)
        .build()
        .expect("upstream client");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let upstream = upstream.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req| forward(req, upstream.clone(), contract));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Forwards one request; an upstream failure closes the client's connection without an answer,
/// as the server's own failure would.
async fn forward(
    req: Request<hyper::body::Incoming>,
    upstream: reqwest::Client,
    contract: &'static Contract,
) -> Result<Response<Body>, BoxError> {
    let session = req
        .headers()
        .get(hyper::header::PROXY_AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("session "))
        .and_then(|v| v.parse::<u64>().ok());
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(Body::new(body), usize::MAX).await?;
    let mut out = upstream.request(parts.method.clone(), parts.uri.to_string());
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) && name != hyper::header::HOST {
            out = out.header(name, value);
        }
    }
    if !body.is_empty() {
        out = out.body(body);
    }
    let answer = out.send().await?;
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes: Bytes = answer.bytes().await?;
    let problems = contract.check(
        parts.method.as_str(),
        parts.uri.path(),
        status.as_u16(),
        &headers,
        &bytes,
    );
    if !problems.is_empty() {
        let mut v = VIOLATIONS.lock().unwrap_or_else(|e| e.into_inner());
        v.extend(problems.into_iter().map(|p| (session.unwrap_or(0), p)));
    }
    let mut res = Response::new(Body::from(bytes));
    *res.status_mut() = status;
    for (name, value) in &headers {
        if !HOP_BY_HOP.contains(&name.as_str()) && name != hyper::header::CONTENT_LENGTH {
            res.headers_mut().append(name, value.clone());
        }
    }
    Ok(res)
}

/// One test server's share of the check: its client's proxy, and its violations on drop.
pub struct Session {
    id: u64,
}

impl Session {
    pub fn new() -> Session {
        Session {
            id: NEXT_SESSION.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The proxy for this session's client.
    pub fn proxy(&self) -> reqwest::Proxy {
        let url = format!("http://{}", proxy().addr);
        reqwest::Proxy::http(url)
            .expect("proxy url")
            .custom_http_auth(
                format!("session {}", self.id)
                    .parse()
                    .expect("header value"),
            )
    }

    fn take(&self) -> Vec<String> {
        let mut v = VIOLATIONS.lock().unwrap_or_else(|e| e.into_inner());
        let (mine, rest): (Vec<_>, Vec<_>) = v.drain(..).partition(|(id, _)| *id == self.id);
        *v = rest;
        mine.into_iter().map(|(_, p)| p).collect()
    }
}

impl Default for Session {
    fn default() -> Session {
        Session::new()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let problems = self.take();
        if !problems.is_empty() && !std::thread::panicking() {
            panic!(
                "{} response(s) broke docs/openapi.yaml:\n  {}",
                problems.len(),
                problems.join("\n  ")
            );
        }
    }
}
