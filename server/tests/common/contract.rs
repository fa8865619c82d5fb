//! The contract check of the integration tests: every response a `TestServer`'s client receives
//! is validated against `docs/openapi.yaml`, strictly (`momentum_conformance::spec`).
//!
//! The client sends its requests through a small forwarding HTTP proxy in this process (reqwest's
//! own proxy support, so the tests' URLs, raw TCP connections and restarts stay as they are). The
//! proxy forwards each request unchanged, checks the answer and hands it back byte for byte.
//! Violations are kept per `TestServer` and fail its test when the server is dropped.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use axum::body::{Body, Bytes};
use hyper::{Request, Response};
use momentum_conformance::spec::Contract;

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
        let contract = Box::leak(Box::new(Contract::strict()));
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
