//! Clear errors for bad input (issue 12): each case is answered with the documented code and
//! field, and every API answer, errors included, is `Cache-Control: no-store`.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn code(v: &Value) -> &str {
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {v}"))
}

/// `(status, code, field)` of an error answer.
fn error(status: StatusCode, v: &Value) -> (StatusCode, &str, Option<&str>) {
    (status, code(v), v["error"]["field"].as_str())
}

async fn offer(s: &TestServer) -> Value {
    s.client
        .get(s.url("/v1/offers/creator-course"))
        .send()
        .await
        .expect("get offer")
        .json()
        .await
        .expect("offer json")
}

async fn put_offer(s: &TestServer, body: &str, key: Option<&str>) -> (StatusCode, Value) {
    let mut req = s
        .client
        .put(s.url("/v1/offers/creator-course"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    let r = req.send().await.expect("put offer");
    let status = r.status();
    (status, r.json().await.expect("json"))
}

#[tokio::test]
async fn a_wrong_type_on_an_enum_field_is_invalid_field_naming_it() {
    let s = TestServer::start();
    let (_, o) = s.order_with(CARD_OK, false).await;
    let id = o["order_id"].as_str().expect("id");
    let secret = o["order_secret"].as_str().expect("secret");
    for offer in [
        json!(1),
        json!(true),
        json!(null),
        json!(["upsell"]),
        json!({"upsell": null}),
    ] {
        let body = json!({ "offer": offer });
        let (st, e, _) = s
            .authed(
                Method::POST,
                &format!("/v1/orders/{id}/addons"),
                secret,
                Some(&uuid()),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            error(st, &e),
            (StatusCode::BAD_REQUEST, "invalid_field", Some("offer")),
            "addon {body}"
        );
        let (st, e, _) = s
            .authed(
                Method::POST,
                &format!("/v1/orders/{id}/decline"),
                secret,
                None,
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            error(st, &e),
            (StatusCode::BAD_REQUEST, "invalid_field", Some("offer")),
            "decline {body}"
        );
    }
    let (st, e, _) = s
        .authed(
            Method::POST,
            &format!("/v1/orders/{id}/confirm"),
            secret,
            None,
            Some(json!({"target": 7})),
        )
        .await;
    assert_eq!(
        error(st, &e),
        (StatusCode::BAD_REQUEST, "invalid_field", Some("target"))
    );
    let base = offer(&s).await;
    for tax_mode in [json!(null), json!(1), json!({"inclusive": null})] {
        let mut body = base.clone();
        body["tax_mode"] = tax_mode.clone();
        let (st, e) = put_offer(&s, &body.to_string(), Some(ADMIN)).await;
        assert_eq!(
            error(st, &e),
            (StatusCode::BAD_REQUEST, "invalid_field", Some("tax_mode")),
            "{tax_mode}"
        );
    }
    // Nothing was charged or changed.
    assert_eq!(
        s.count("SELECT COUNT(*) FROM charges WHERE kind <> 'primary'"),
        0
    );
    assert_eq!(offer(&s).await, base);
}

#[tokio::test]
async fn a_truncated_body_is_malformed_json_even_after_an_unknown_key() {
    let s = TestServer::start();
    for (path, body, headers) in [
        (
            "/v1/quotes",
            r#"{"unknown": 1, "offer_id": "creator-c"#,
            vec![],
        ),
        (
            "/v1/quotes",
            r#"{"offer_id": "creator-course", "zone": {"a": [1, 2"#,
            vec![],
        ),
        (
            "/v1/orders",
            r#"{"unknown": 1, "offer_id": "creator-c"#,
            vec![("idempotency-key", "truncated-1")],
        ),
        (
            "/v1/test-gateway/tokens",
            r#"{"pin": 1, "number": "42"#,
            vec![],
        ),
    ] {
        let (st, e) = s.post_raw(path, body, &headers).await;
        assert_eq!(
            error(st, &e),
            (StatusCode::BAD_REQUEST, "malformed_json", None),
            "{path} {body}"
        );
    }
    // A complete body with the unknown key is still about the key.
    let (st, e) = s
        .post_raw(
            "/v1/quotes",
            r#"{"unknown": 1, "offer_id": "creator-course", "country": "DE"}"#,
            &[],
        )
        .await;
    assert_eq!(
        error(st, &e),
        (StatusCode::BAD_REQUEST, "unknown_field", Some("unknown"))
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM idempotency_keys"), 0);
}

#[tokio::test]
async fn detector_keys_and_thresholds_are_reported_as_documented() {
    let s = TestServer::start();
    let base = offer(&s).await;
    for (detector, c, f) in [
        (
            json!({"idle": 30000}),
            "unknown_field",
            "exit_offer.detector.idle",
        ),
        (
            json!({"idle_ms": 30000, "min_time_on_page": 1}),
            "unknown_field",
            "exit_offer.detector.min_time_on_page",
        ),
        (
            json!({"idle_ms": 10}),
            "invalid_threshold",
            "exit_offer.detector.idle_ms",
        ),
        (
            json!({"cooldown_days": 400}),
            "invalid_threshold",
            "exit_offer.detector.cooldown_days",
        ),
        (
            json!({"top_edge_px": -1}),
            "invalid_field",
            "exit_offer.detector.top_edge_px",
        ),
        (
            json!({"idle_ms": "30s"}),
            "invalid_field",
            "exit_offer.detector.idle_ms",
        ),
    ] {
        let mut body = base.clone();
        body["exit_offer"]["detector"] = detector.clone();
        let (st, e) = put_offer(&s, &body.to_string(), Some(ADMIN)).await;
        assert_eq!(
            error(st, &e),
            (StatusCode::BAD_REQUEST, c, Some(f)),
            "{detector}"
        );
    }
}

fn no_store(r: &reqwest::Response, what: &str) {
    assert_eq!(
        r.headers()
            .get("cache-control")
            .map(|v| v.to_str().expect("ascii")),
        Some("no-store"),
        "{what}: {} {:?}",
        r.status(),
        r.headers()
    );
}

#[tokio::test]
async fn every_api_answer_is_no_store_errors_included() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("momentum.js"), "export {};\n").expect("write");
    let s = TestServer::start_with(&["--static-dir", dir.path().to_str().expect("utf-8")]);
    let c = &s.client;
    let checks: Vec<(&str, reqwest::RequestBuilder, StatusCode)> = vec![
        (
            "unknown API route",
            c.get(s.url("/v1/nope")),
            StatusCode::NOT_FOUND,
        ),
        (
            "unknown file",
            c.get(s.url("/missing.js")),
            StatusCode::NOT_FOUND,
        ),
        (
            "wrong method",
            c.delete(s.url("/v1/orders")),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "wrong method on a route with a parameter",
            c.delete(s.url("/v1/offers/creator-course")),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        ("health", c.get(s.url("/healthz")), StatusCode::OK),
        (
            "offer",
            c.get(s.url("/v1/offers/creator-course")),
            StatusCode::OK,
        ),
        (
            "unknown offer",
            c.get(s.url("/v1/offers/nope")),
            StatusCode::NOT_FOUND,
        ),
        (
            "wrong content type",
            c.post(s.url("/v1/quotes")).body("{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "malformed body",
            c.post(s.url("/v1/quotes"))
                .header("content-type", "application/json")
                .body("{"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "body too large",
            c.post(s.url("/v1/quotes"))
                .header("content-type", "application/json")
                .body(format!("{{\"offer_id\": \"{}\"}}", "a".repeat(70_000))),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "no credential",
            c.get(s.url("/v1/orders/ord_00000000000000000000000000000000")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "unknown order",
            c.get(s.url("/v1/orders/ord_00000000000000000000000000000000"))
                .bearer_auth(ADMIN),
            StatusCode::NOT_FOUND,
        ),
        (
            "preflight",
            c.request(Method::OPTIONS, s.url("/v1/orders"))
                .header("origin", "https://creator.example")
                .header("access-control-request-method", "POST"),
            StatusCode::OK,
        ),
    ];
    for (what, request, status) in checks {
        let r = request.send().await.expect(what);
        assert_eq!(r.status(), status, "{what}");
        no_store(&r, what);
    }
    // The bundle keeps its own cache policy.
    let r = c.get(s.url("/momentum.js")).send().await.expect("bundle");
    assert_eq!(r.status(), StatusCode::OK);
    assert_ne!(r.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn bidi_controls_are_refused_in_emails_and_creator_copy() {
    let s = TestServer::start();
    for email in [
        "ana\u{202E}moc.elpmaxe@example.com",
        "ana@example.com\u{2066}",
        "\u{200F}ana@example.com",
    ] {
        let tok = s.token(CARD_OK).await;
        let body = json!({"offer_id": "creator-course", "bump": false, "buyer": {"email": email, "country": "DE"}, "payment_token": tok});
        let (st, e) = s
            .post_raw(
                "/v1/orders",
                &body.to_string(),
                &[("idempotency-key", &uuid())],
            )
            .await;
        assert_eq!(
            error(st, &e),
            (
                StatusCode::BAD_REQUEST,
                "invalid_email",
                Some("buyer.email")
            ),
            "{email:?}"
        );
        let (st, e, _) = s
            .authed(
                Method::GET,
                &format!("/v1/admin/orders?email={}", urlencode(email)),
                ADMIN,
                None,
                None,
            )
            .await;
        assert_eq!(
            error(st, &e),
            (StatusCode::BAD_REQUEST, "invalid_email", Some("email")),
            "{email:?}"
        );
    }
    assert_eq!(s.count("SELECT COUNT(*) FROM orders"), 0);
    let base = offer(&s).await;
    for (path, text) in [
        (&["product", "label"][..], "Presets \u{202E}(evil)"),
        (
            &["upsell", "headline"][..],
            "Reviewed \u{2067}by me\u{2069}",
        ),
        (&["refund_terms"][..], "\u{202B}14 days"),
    ] {
        let mut body = base.clone();
        let mut slot = &mut body;
        for key in path {
            slot = &mut slot[*key];
        }
        *slot = json!(text);
        let (st, e) = put_offer(&s, &body.to_string(), Some(ADMIN)).await;
        assert_eq!(
            error(st, &e),
            (
                StatusCode::BAD_REQUEST,
                "invalid_text",
                Some(path.join(".").as_str())
            ),
            "{text:?}"
        );
    }
    assert_eq!(offer(&s).await, base);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"@.-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn an_idempotency_key_sent_twice_is_refused_naming_the_header() {
    let s = TestServer::start();
    let tok = s.token(CARD_OK).await;
    let body = TestServer::order_body(&tok, false);
    let r = s
        .client
        .post(s.url("/v1/orders"))
        .header("idempotency-key", "key-a")
        .header("idempotency-key", "key-b")
        .json(&body)
        .send()
        .await
        .expect("send");
    let st = r.status();
    let e: Value = r.json().await.expect("json");
    assert_eq!(
        error(st, &e),
        (
            StatusCode::BAD_REQUEST,
            "idempotency_key_invalid",
            Some("Idempotency-Key")
        )
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM orders"), 0);
    assert_eq!(s.count("SELECT COUNT(*) FROM idempotency_keys"), 0);
    // The token was not used up: the same request with one key goes through.
    let r = s.post_order("key-a", &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let o: Value = r.json().await.expect("json");

    let r = s
        .client
        .post(s.url(&format!(
            "/v1/orders/{}/addons",
            o["order_id"].as_str().expect("id")
        )))
        .bearer_auth(o["order_secret"].as_str().expect("secret"))
        .header("idempotency-key", "addon-a")
        .header("idempotency-key", "addon-a")
        .json(&json!({"offer": "upsell"}))
        .send()
        .await
        .expect("send");
    let st = r.status();
    let e: Value = r.json().await.expect("json");
    assert_eq!(
        error(st, &e),
        (
            StatusCode::BAD_REQUEST,
            "idempotency_key_invalid",
            Some("Idempotency-Key")
        )
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM charges WHERE kind = 'upsell'"),
        0
    );
}

#[tokio::test]
async fn creator_calls_check_the_admin_key_before_the_body() {
    let s = TestServer::start();
    for (key, status, c) in [
        (None, StatusCode::UNAUTHORIZED, "unauthorized"),
        (
            Some("osec_not_the_admin_key_at_all"),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
    ] {
        for body in [
            "{\"id\": ",
            "[1]",
            "{\"id\": \"creator-course\", \"colour\": 1}",
        ] {
            let (st, e) = put_offer(&s, body, key).await;
            assert_eq!((st, code(&e)), (status, c), "PUT {key:?} {body}");
        }
        // Not even the content type is looked at first.
        let mut req = s
            .client
            .put(s.url("/v1/offers/creator-course"))
            .header("content-type", "text/plain")
            .body("hello");
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        let r = req.send().await.expect("send");
        assert_eq!(r.status(), status, "PUT text/plain {key:?}");
        // Refunds too.
        let mut req = s
            .client
            .post(s.url("/v1/orders/ord_x/lines/product/refund"))
            .header("content-type", "application/json")
            .body("{\"reason\": ");
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        let r = req.send().await.expect("send");
        assert_eq!(r.status(), status, "refund {key:?}");
    }
    // With the key, the body is read as before.
    let (st, e) = put_offer(&s, "{\"id\": ", Some(ADMIN)).await;
    assert_eq!(
        error(st, &e),
        (StatusCode::BAD_REQUEST, "malformed_json", None)
    );
}

#[tokio::test]
async fn the_admin_email_search_ignores_case() {
    let s = TestServer::start();
    let (_, o) = s.order_with(CARD_OK, false).await;
    for email in ["ana@example.com", "Ana@Example.COM", "ANA@EXAMPLE.COM"] {
        let (st, list, _) = s
            .authed(
                Method::GET,
                &format!("/v1/admin/orders?email={email}"),
                ADMIN,
                None,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{list}");
        let ids: Vec<&Value> = list["orders"]
            .as_array()
            .expect("orders")
            .iter()
            .map(|o| &o["order_id"])
            .collect();
        assert_eq!(ids, [&o["order_id"]], "{email}");
    }
    let (_, list, _) = s
        .authed(
            Method::GET,
            "/v1/admin/orders?email=an@example.com",
            ADMIN,
            None,
            None,
        )
        .await;
    assert_eq!(list["orders"], json!([]));
}

/// One raw HTTP/1.1 request (so the path reaches the server exactly as written); the status line
/// and headers of the answer.
async fn raw_get(s: &TestServer, target: &str) -> (u16, String) {
    let addr = s.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let head = text.split("\r\n\r\n").next().unwrap_or("").to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, head)
}

fn location(head: &str) -> Option<&str> {
    head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("location").then(|| value.trim())
    })
}

#[tokio::test]
async fn static_files_never_redirect_off_the_origin() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("evil.example")).expect("mkdir");
    std::fs::create_dir(dir.path().join("docs")).expect("mkdir");
    std::fs::write(dir.path().join("docs/index.html"), "<!doctype html>docs").expect("write");
    let s = TestServer::start_with(&["--static-dir", dir.path().to_str().expect("utf-8")]);
    for target in [
        "//evil.example",
        "//evil.example/",
        "///evil.example",
        "//evil.example/%2e%2e",
        "//docs",
        "/.//evil.example",
    ] {
        let (status, head) = raw_get(&s, target).await;
        if let Some(l) = location(&head) {
            assert!(
                l.starts_with('/') && !l.starts_with("//") && !l.starts_with("/\\"),
                "{target} → {head}"
            );
        }
        assert!(
            !(300..400).contains(&status) || location(&head).is_some(),
            "{head}"
        );
    }
    let (status, head) = raw_get(&s, "//evil.example").await;
    assert_eq!(status, 404, "{head}");
    // The ordinary trailing-slash redirect stays on this origin.
    let (status, head) = raw_get(&s, "/docs").await;
    assert_eq!((status, location(&head)), (307, Some("/docs/")), "{head}");
    let (status, _) = raw_get(&s, "/docs/").await;
    assert_eq!(status, 200);
}

#[cfg(unix)]
#[tokio::test]
async fn static_files_do_not_follow_symlinks_out_of_the_directory() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("secret.txt"), "the installation secret").expect("write");
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::write(root.join("momentum.js"), "export {};\n").expect("write");
    std::fs::write(root.join("real.js"), "export const real = 1;\n").expect("write");
    symlink(outside.path().join("secret.txt"), root.join("secret.js")).expect("link");
    symlink(outside.path(), root.join("outside")).expect("link");
    symlink(root.join("real.js"), root.join("alias.js")).expect("link");
    // A precompressed variant that leads out: ServeDir would send it for `Accept-Encoding: br`.
    symlink(
        outside.path().join("secret.txt"),
        root.join("momentum.js.br"),
    )
    .expect("link");
    let s = TestServer::start_with(&["--static-dir", root.to_str().expect("utf-8")]);
    for (path, encoding) in [
        ("/secret.js", "identity"),
        ("/outside/secret.txt", "identity"),
        ("/outside/", "identity"),
        ("/%73ecret.js", "identity"),
        ("/momentum.js", "br"),
    ] {
        let r = s
            .client
            .get(s.url(path))
            .header("accept-encoding", encoding)
            .send()
            .await
            .expect("send");
        let status = r.status();
        let body = r.text().await.expect("body");
        assert!(!body.contains("installation secret"), "{path}: {body}");
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // A link that stays inside is served.
    let r = s.client.get(s.url("/alias.js")).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.expect("body"), "export const real = 1;\n");
}
