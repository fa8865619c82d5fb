//! Abuse (issue 12): request budgets per client IP and per order (`429 rate_limited` with
//! `Retry-After`), connection hygiene (header and idle timeouts, a connection cap) and the admin
//! key rules at startup. Other client addresses come from 127.0.0.0/8, which Linux routes to the
//! loopback interface: a client bound to 127.0.0.2 is another shopper.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn code(v: &Value) -> &str {
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {v}"))
}

/// A client whose connections come from `127.0.0.<n>`.
fn client_from(n: u8) -> Client {
    Client::builder()
        .local_address(IpAddr::from([127, 0, 0, n]))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

async fn tokenize(s: &TestServer, client: &Client) -> reqwest::Response {
    client
        .post(s.url("/v1/test-gateway/tokens"))
        .json(&json!({"number": CARD_OK, "exp_month": 12, "exp_year": 2040}))
        .send()
        .await
        .expect("tokenize")
}

/// Checks a 429: the API's error shape, a sane `Retry-After`, no caching, readable cross-origin.
async fn assert_limited(r: reqwest::Response, what: &str) -> u64 {
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{what}");
    let h = r.headers().clone();
    let retry: u64 = h["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=600).contains(&retry), "{what}: Retry-After {retry}");
    assert_eq!(h["cache-control"], "no-store", "{what}");
    assert_eq!(h["access-control-allow-origin"], "*", "{what}");
    let v: Value = r.json().await.expect("json");
    assert_eq!(code(&v), "rate_limited", "{what}");
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    retry
}

/// A shopper from `client`: a token, a paid order, the upsell.
async fn shop(s: &TestServer, client: &Client) {
    let r = tokenize(s, client).await;
    assert_eq!(r.status(), StatusCode::OK);
    let tok: Value = r.json().await.expect("json");
    let r = client
        .post(s.url("/v1/orders"))
        .header("idempotency-key", uuid())
        .json(&TestServer::order_body(
            tok["token"].as_str().expect("token"),
            true,
        ))
        .send()
        .await
        .expect("order");
    assert_eq!(r.status(), StatusCode::CREATED);
    let o: Value = r.json().await.expect("json");
    assert_eq!(o["status"], "paid");
    let r = client
        .post(s.url(&format!(
            "/v1/orders/{}/addons",
            o["order_id"].as_str().expect("id")
        )))
        .bearer_auth(o["order_secret"].as_str().expect("secret"))
        .header("idempotency-key", uuid())
        .json(&json!({"offer": "upsell"}))
        .send()
        .await
        .expect("addon");
    assert_eq!(r.status(), StatusCode::OK);
    let a: Value = r.json().await.expect("json");
    assert_eq!(a["status"], "succeeded");
}

#[tokio::test]
async fn five_hundred_token_requests_meet_429_and_another_shopper_is_unaffected() {
    // The default budgets.
    let s = TestServer::start();
    let attacker = client_from(1);
    let start = Instant::now();
    let (mut ok, mut limited) = (0u32, 0u32);
    for i in 0..500 {
        let r = tokenize(&s, &attacker).await;
        match r.status() {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                limited += 1;
                if limited <= 3 || i == 499 {
                    assert_limited(r, "token flood").await;
                }
            }
            other => panic!("unexpected {other}"),
        }
    }
    // 20 at once, then one every 3 s.
    let refilled = (start.elapsed().as_secs() / 3) as u32 + 1;
    assert!(
        (20..=20 + refilled).contains(&ok),
        "{ok} tokens in {:?}",
        start.elapsed()
    );
    assert_eq!(ok + limited, 500);
    assert_eq!(s.count("SELECT COUNT(*) FROM tg_tokens"), i64::from(ok));
    // A forged X-Forwarded-For does not make the flood another client (not trusted by default).
    let r = attacker
        .post(s.url("/v1/test-gateway/tokens"))
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({"number": CARD_OK}))
        .send()
        .await
        .expect("send");
    assert_limited(r, "forged X-Forwarded-For").await;
    // Meanwhile a shopper elsewhere buys as usual, and reading offers is never limited.
    shop(&s, &client_from(2)).await;
    let r = attacker
        .get(s.url("/v1/offers/creator-course"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn order_and_addon_budgets_per_ip_and_per_order() {
    let s = TestServer::start_with(&[
        "--rate-limit",
        "off,orders=3/min",
        "--rate-limit",
        "addons=4/min,addons-per-order=2/min",
    ]);
    // Not 127.0.0.1, where the harness places its own orders.
    let a = client_from(9);
    // Every order creation counts, whatever becomes of it.
    for _ in 0..3 {
        let r = a
            .post(s.url("/v1/orders"))
            .header("idempotency-key", uuid())
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
    let r = a
        .post(s.url("/v1/orders"))
        .header("idempotency-key", uuid())
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    let retry = assert_limited(r, "fourth order").await;
    assert!(retry <= 20, "one more order every 20 s, not {retry}");

    // Per order: two accepts on one order, then 429 from any address.
    let (_, o) = s.order_with(CARD_OK, false).await;
    let path = format!("/v1/orders/{}/addons", o["order_id"].as_str().expect("id"));
    let secret = o["order_secret"].as_str().expect("secret");
    for n in [3u8, 4] {
        let r = client_from(n)
            .post(s.url(&path))
            .bearer_auth(secret)
            .header("idempotency-key", uuid())
            .json(&json!({"offer": "downsell"}))
            .send()
            .await
            .expect("send");
        assert_eq!(
            r.status(),
            StatusCode::CONFLICT,
            "offer_locked, but counted"
        );
    }
    let r = client_from(5)
        .post(s.url(&path))
        .bearer_auth(secret)
        .header("idempotency-key", uuid())
        .json(&json!({"offer": "upsell"}))
        .send()
        .await
        .expect("send");
    assert_limited(r, "third accept on one order").await;
    assert_eq!(
        s.count("SELECT COUNT(*) FROM charges WHERE kind = 'upsell'"),
        0
    );

    // Per IP: 4 accepts over two orders from one address, the fifth is refused.
    let b = client_from(6);
    let (_, o1) = s.order_with(CARD_OK, false).await;
    let (_, o2) = s.order_with(CARD_OK, false).await;
    let mut statuses = Vec::new();
    for o in [&o1, &o1, &o2, &o2, &o2] {
        let r = b
            .post(s.url(&format!(
                "/v1/orders/{}/addons",
                o["order_id"].as_str().expect("id")
            )))
            .bearer_auth(o["order_secret"].as_str().expect("secret"))
            .header("idempotency-key", uuid())
            .json(&json!({"offer": "downsell"}))
            .send()
            .await
            .expect("send");
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [409, 409, 409, 409, 429]);
}

#[tokio::test]
async fn failed_order_secrets_are_limited_per_ip_and_per_order() {
    let s = TestServer::start_with(&[
        "--rate-limit",
        "off,auth-failures=3/min,auth-failures-per-order=5/10min",
    ]);
    let (_, o) = s.order_with(CARD_OK, false).await;
    let (_, other) = s.order_with(CARD_OK, false).await;
    let path = format!("/v1/orders/{}", o["order_id"].as_str().expect("id"));
    let secret = o["order_secret"].as_str().expect("secret");
    let get = |client: Client, bearer: Option<String>, path: String| {
        let url = s.url(&path);
        async move {
            let mut req = client.get(url);
            if let Some(b) = bearer {
                req = req.bearer_auth(b);
            }
            req.send().await.expect("send")
        }
    };
    // No credential at all is not a guess: never counted.
    for _ in 0..6 {
        let r = get(client_from(1), None, path.clone()).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // Three wrong secrets (another order's, a forged pass, garbage) from one address…
    for bearer in [
        other["order_secret"].as_str().expect("secret").to_string(),
        "rsm_9999999999_00".to_string(),
        "osec_guess".to_string(),
    ] {
        let r = get(client_from(1), Some(bearer), path.clone()).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    // …and that address waits, even with the right one; the shopper elsewhere does not.
    let r = get(client_from(1), Some(secret.to_string()), path.clone()).await;
    assert_limited(r, "after three failures").await;
    let other_path = format!("/v1/orders/{}", other["order_id"].as_str().expect("id"));
    let other_secret = other["order_secret"].as_str().expect("secret").to_string();
    let r = get(
        client_from(1),
        Some(other_secret.clone()),
        other_path.clone(),
    )
    .await;
    assert_limited(r, "the same address on another order").await;
    let r = get(client_from(2), Some(secret.to_string()), path.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);

    // Per order: guesses from many addresses add up (3 above + 2 here = 5).
    for n in [3u8, 4] {
        let r = get(client_from(n), Some("osec_guess".into()), path.clone()).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "from 127.0.0.{n}");
    }
    let r = get(client_from(7), Some("osec_guess".into()), path.clone()).await;
    assert_limited(r, "sixth guess on one order").await;
    // The other order is not affected.
    let r = get(client_from(8), Some(other_secret), other_path).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn failed_admin_keys_are_limited_per_ip() {
    let s = TestServer::start_with(&["--rate-limit", "off,admin-failures=3/min"]);
    let wrong = "sk_wrong_key_wrong_key";
    let list = "/v1/admin/orders?email=ana@example.com";
    let a = client_from(1);
    for (method, path) in [
        (Method::GET, list),
        (Method::PUT, "/v1/offers/creator-course"),
        (Method::POST, "/v1/orders/ord_x/lines/product/refund"),
    ] {
        let r = a
            .request(method, s.url(path))
            .bearer_auth(wrong)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let r = a
        .get(s.url(list))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("send");
    assert_limited(r, "admin key after three failures").await;
    let r = client_from(2)
        .get(s.url(list))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn forwarded_for_is_the_client_only_when_trusted() {
    let s = TestServer::start_with(&["--trust-forwarded-for", "--rate-limit", "off,tokens=2/min"]);
    let proxy = client_from(1);
    let via = |client_ip: &'static str| {
        proxy
            .post(s.url("/v1/test-gateway/tokens"))
            // What a proxy appends to a client's own claim.
            .header("x-forwarded-for", format!("198.51.100.1, {client_ip}"))
            .json(&json!({"number": CARD_OK}))
            .send()
    };
    for _ in 0..2 {
        assert_eq!(
            via("203.0.113.7").await.expect("send").status(),
            StatusCode::OK
        );
    }
    assert_limited(
        via("203.0.113.7").await.expect("send"),
        "third from one client",
    )
    .await;
    assert_eq!(
        via("203.0.113.8").await.expect("send").status(),
        StatusCode::OK
    );
}

// ------------------------------------------------------------------------ connections

fn addr(s: &TestServer) -> String {
    s.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection (EOF or reset); returns what was read.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None, // still open
            Ok(Ok(0)) | Ok(Err(_)) => return Some(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

async fn healthy(s: &TestServer, within: Duration) -> bool {
    let client = Client::builder().timeout(within).build().expect("client");
    matches!(
        client.get(s.url("/healthz")).send().await,
        Ok(r) if r.status() == StatusCode::OK
    )
}

#[tokio::test]
async fn slow_request_heads_are_cut_off_while_health_keeps_answering() {
    let s = TestServer::start_with(&["--header-timeout-secs", "1", "--idle-timeout-secs", "60"]);
    let opened = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..40 {
        let mut c = TcpStream::connect(addr(&s)).await.expect("connect");
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a")
            .await
            .expect("write");
        slow.push(c);
    }
    // They keep trickling a byte every 200 ms and never end their headers.
    let trickle = tokio::spawn(async move {
        let mut closed_after = Vec::new();
        let mut open: Vec<(TcpStream, bool)> = slow.into_iter().map(|c| (c, true)).collect();
        while open.iter().any(|(_, o)| *o) && opened.elapsed() < Duration::from_secs(8) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            for (c, is_open) in open.iter_mut().filter(|(_, o)| *o) {
                let mut probe = [0u8; 1];
                let gone = matches!(
                    tokio::time::timeout(Duration::from_millis(1), c.read(&mut probe)).await,
                    Ok(Ok(0)) | Ok(Err(_))
                ) || c.write_all(b"a").await.is_err();
                if gone {
                    *is_open = false;
                    closed_after.push(opened.elapsed());
                }
            }
        }
        (closed_after, open.iter().filter(|(_, o)| *o).count())
    });
    // Meanwhile the server answers others at once.
    for _ in 0..3 {
        assert!(healthy(&s, Duration::from_millis(1000)).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (closed_after, still_open) = trickle.await.expect("trickle");
    assert_eq!(still_open, 0, "slow connections left open");
    assert_eq!(closed_after.len(), 40);
    for t in &closed_after {
        assert!(
            *t >= Duration::from_millis(900) && *t < Duration::from_secs(4),
            "closed after {t:?}, not after the 1 s header timeout"
        );
    }
    // An idle keep-alive connection is closed by the same timeout.
    let mut c = TcpStream::connect(addr(&s)).await.expect("connect");
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let t = Instant::now();
    let got = until_closed(&mut c, Duration::from_secs(5))
        .await
        .expect("the idle connection is closed");
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
    assert!(healthy(&s, Duration::from_millis(1000)).await);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_after_the_idle_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let size = 48 * 1024 * 1024;
    std::fs::write(dir.path().join("big.bin"), vec![7u8; size]).expect("write");
    let s = TestServer::start_with(&[
        "--static-dir",
        dir.path().to_str().expect("utf-8"),
        "--idle-timeout-secs",
        "1",
        "--header-timeout-secs",
        "30",
    ]);
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(16 * 1024).expect("rcvbuf");
    let mut c = socket
        .connect(addr(&s).parse().expect("addr"))
        .await
        .expect("connect");
    c.write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    // Not reading: the server's writes stall once the socket buffers are full.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let got = until_closed(&mut c, Duration::from_secs(20))
        .await
        .expect("closed");
    assert!(
        got.len() < size,
        "the whole file arrived ({} bytes): the stalled connection was kept",
        got.len()
    );
    assert!(String::from_utf8_lossy(&got[..12]).starts_with("HTTP/1.1 200"));
    // A reader that keeps up gets all of it.
    let r = s.client.get(s.url("/big.bin")).send().await.expect("send");
    assert_eq!(r.bytes().await.expect("body").len(), size);
}

#[tokio::test]
async fn connections_above_the_cap_wait_until_others_close() {
    let s = TestServer::start_with(&[
        "--max-connections",
        "4",
        "--header-timeout-secs",
        "30",
        "--idle-timeout-secs",
        "60",
    ]);
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(addr(&s)).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !healthy(&s, Duration::from_millis(800)).await,
        "a fifth connection was served above the cap of 4"
    );
    drop(held);
    let t = Instant::now();
    let mut ok = false;
    while t.elapsed() < Duration::from_secs(5) && !ok {
        ok = healthy(&s, Duration::from_millis(1000)).await;
    }
    assert!(
        ok,
        "health did not recover once the held connections closed"
    );
}

// ------------------------------------------------------------------------ startup

/// Starts the binary with `args` and `env` (no inherited admin key or limits); the exit status and
/// stderr if it stops within 10 s, or `None` if it started (it is then killed).
fn run_server(args: &[&str], env: &[(&str, &str)]) -> Option<(i32, String)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_momentum-server"));
    cmd.args(["--db"])
        .arg(dir.path().join("m.sqlite"))
        .args(args)
        .env_remove("MOMENTUM_ADMIN_KEY")
        .env_remove("MOMENTUM_RATE_LIMITS")
        .env_remove("MOMENTUM_TRUST_FORWARDED_FOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read stdout");
    if line.starts_with("momentum-server listening on ") {
        child.kill().expect("kill");
        child.wait().expect("wait");
        return None;
    }
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    Some((status.code().unwrap_or(-1), stderr))
}

#[test]
fn the_admin_key_rules_hold_at_startup() {
    let long = "sk_live_0123456789abcdef";
    // From the environment, a short key is refused like one from the flag.
    let (status, stderr) = run_server(
        &["--addr", "127.0.0.1:0"],
        &[("MOMENTUM_ADMIN_KEY", "short")],
    )
    .expect("refused");
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("MOMENTUM_ADMIN_KEY must be at least 16 characters"),
        "{stderr}"
    );
    let (status, stderr) =
        run_server(&["--addr", "127.0.0.1:0", "--admin-key", "short"], &[]).expect("refused");
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("--admin-key must be at least 16 characters"),
        "{stderr}"
    );
    // The demo key only on loopback.
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let (status, stderr) = run_server(&["--addr", addr], &[]).expect("refused");
        assert_eq!(status, 2, "{addr}: {stderr}");
        for needle in ["demo admin key", "--admin-key", "MOMENTUM_ADMIN_KEY"] {
            assert!(stderr.contains(needle), "{addr}: {stderr}");
        }
    }
    assert_eq!(
        run_server(&["--addr", "127.0.0.1:0"], &[]),
        None,
        "demo on loopback"
    );
    assert_eq!(
        run_server(&["--addr", "0.0.0.0:0"], &[("MOMENTUM_ADMIN_KEY", long)]),
        None,
        "a real key anywhere"
    );
    assert_eq!(
        run_server(&["--addr", "0.0.0.0:0", "--admin-key", long], &[]),
        None,
        "a real key anywhere"
    );
    // Bad limit and connection flags are refused with a reason.
    for (args, needle) in [
        (&["--rate-limit", "tokens=fast"][..], "--rate-limit"),
        (
            &["--rate-limit", "everything=off"][..],
            "unknown rate limit",
        ),
        (&["--max-connections", "0"][..], "--max-connections"),
        (&["--header-timeout-secs", "0"][..], "--header-timeout-secs"),
    ] {
        let mut all = vec!["--addr", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let (status, stderr) = run_server(&all, &[]).expect("refused");
        assert_eq!(status, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    let (status, stderr) = run_server(
        &["--addr", "127.0.0.1:0"],
        &[("MOMENTUM_RATE_LIMITS", "orders=often")],
    )
    .expect("refused");
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("MOMENTUM_RATE_LIMITS"), "{stderr}");
}

#[tokio::test]
async fn graceful_shutdown_still_finishes_the_request_in_flight() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_momentum-server"))
        .args(["--addr", "127.0.0.1:0", "--admin-key", ADMIN, "--db"])
        .arg(dir.path().join("m.sqlite"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("listen line");
    let addr = line
        .trim()
        .trim_start_matches("momentum-server listening on http://")
        .to_string();
    // An idle connection, and a request whose body is still on its way.
    let _idle = TcpStream::connect(&addr).await.expect("connect");
    let mut busy = TcpStream::connect(&addr).await.expect("connect");
    let body = br#"{"offer_id": "creator-course", "country": "DE"}"#;
    let head = format!(
        "POST /v1/quotes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    busy.write_all(head.as_bytes()).await.expect("write");
    busy.write_all(&body[..10]).await.expect("write");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(killed.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    busy.write_all(&body[10..])
        .await
        .expect("the connection is still served");
    let got = until_closed(&mut busy, Duration::from_secs(5))
        .await
        .expect("answered and closed");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("\"without_bump\""), "{text}");
    // Then the process ends by itself, idle connection or not.
    let t = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "still running after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}");
}

/// Sends a POST of `len` body bytes, 64 KiB at a time as a real link would deliver them, and
/// returns whether all of it could be written and what the server answered.
async fn post_oversized(s: &TestServer, len: usize) -> (std::io::Result<()>, Vec<u8>) {
    let mut c = TcpStream::connect(addr(s)).await.expect("connect");
    let head = format!(
        "POST /v1/quotes HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {len}\r\n\r\n"
    );
    let mut written = c.write_all(head.as_bytes()).await;
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0;
    while sent < len && written.is_ok() {
        let n = chunk.len().min(len - sent);
        written = c.write_all(&chunk[..n]).await;
        sent += n;
        // Gives the server time to answer mid-body, which is when an early close resets.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let got = until_closed(&mut c, Duration::from_secs(10))
        .await
        .unwrap_or_default();
    (written, got)
}

#[tokio::test]
async fn an_oversized_body_is_read_to_its_end_so_the_client_gets_its_413() {
    // Closing a socket with unread bytes makes the kernel reset the connection, which can destroy
    // the 413 before the client reads it (a Playwright client saw EPIPE instead of an answer).
    let s = TestServer::start();
    for len in [100 * 1024, 1 << 20, 3 << 20] {
        let (written, got) = post_oversized(&s, len).await;
        let got = String::from_utf8_lossy(&got);
        assert!(
            written.is_ok(),
            "{len} B: the body could not be sent: {written:?}"
        );
        assert!(got.starts_with("HTTP/1.1 413"), "{got}");
        assert!(got.contains("payload_too_large"), "{got}");
    }
    // Past the drain limit the server does not read on: it answers and closes at once.
    let t = Instant::now();
    let mut c = TcpStream::connect(addr(&s)).await.expect("connect");
    c.write_all(b"POST /v1/quotes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n")
        .await
        .expect("write");
    let got = until_closed(&mut c, Duration::from_secs(5))
        .await
        .expect("a gigabyte body is not waited for");
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 413"));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(healthy(&s, Duration::from_millis(1000)).await);
}
