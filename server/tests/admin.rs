//! The creator's dashboard at `/admin` (issue 13) over real HTTP: sign-in required everywhere,
//! wrong keys refused and rate limited (sharing the API's admin-failure budget), the session
//! cookie's attributes, CSRF token and Origin checks, sign-out, HTML escaping of hostile creator
//! copy and e-mails, and the two-step refund that refunds once on a double submit.

mod common;

use std::time::Duration;

use common::*;
use reqwest::header::{HeaderMap, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Every page of the dashboard (GET).
const PAGES: [&str; 8] = [
    "/admin",
    "/admin/?x=1",
    "/admin/orders",
    "/admin/orders?q=ana%40example.com",
    "/admin/costs",
    "/admin/export/orders.csv",
    "/admin/export/metrics.csv?offer=creator-course",
    "/admin/no-such-page",
];

/// Every action of the dashboard (POST), with a plausible body.
const ACTIONS: [(&str, &str); 5] = [
    ("/admin/logout", "csrf=x"),
    ("/admin/costs", "csrf=x&fee_percent=1&fee_fixed=0&support=0"),
    ("/admin/orders/refund", "csrf=x&order=ord_x&line=product"),
    ("/admin/orders/refund/confirm", "csrf=x&confirmation=abc"),
    ("/admin/no-such-action", "csrf=x"),
];

/// A browser on the dashboard: no redirects followed, its own cookie jar of one cookie.
struct Dash {
    base: String,
    client: Client,
    cookie: Option<String>,
}

fn no_redirects() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Dash {
    fn new(s: &TestServer) -> Dash {
        Dash {
            base: s.base.clone(),
            client: no_redirects(),
            cookie: None,
        }
    }

    async fn get(&self, path: &str) -> Page {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        let r = req.send().await.expect("get");
        Page {
            status: r.status(),
            headers: r.headers().clone(),
            body: r.text().await.expect("body"),
        }
    }

    /// A form POST as a browser on this origin sends it (plus `extra` headers).
    async fn post_with(&self, path: &str, body: &str, extra: &[(&str, &str)]) -> Page {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.to_string());
        if !extra
            .iter()
            .any(|(k, _)| *k == "origin" || *k == "no-origin")
        {
            req = req.header("origin", &self.base);
        }
        for (k, v) in extra {
            if *k != "no-origin" {
                req = req.header(*k, *v);
            }
        }
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        let r = req.send().await.expect("post");
        Page {
            status: r.status(),
            headers: r.headers().clone(),
            body: r.text().await.expect("body"),
        }
    }

    async fn post(&self, path: &str, body: &str) -> Page {
        self.post_with(path, body, &[]).await
    }

    async fn sign_in(&mut self, key: &str) -> Page {
        let p = self
            .post("/admin/login", &format!("key={}", enc(key)))
            .await;
        if let Some(v) = p.headers.get(SET_COOKIE) {
            let v = v.to_str().expect("ascii");
            self.cookie = Some(v.split(';').next().expect("pair").to_string());
        }
        p
    }

    /// The CSRF token of the signed-in session (from any page's sign-out form).
    async fn csrf(&self) -> String {
        let p = self.get("/admin/costs").await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        hidden(&p.body, "csrf")
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The value of the first hidden input `name` of a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden {name} in {html}"))
        + marker.len();
    let len = html[start..].find('"').expect("closing quote");
    html[start..start + len].to_string()
}

fn header<'a>(p: &'a Page, name: &str) -> &'a str {
    p.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("ascii")
}

fn assert_admin_headers(p: &Page, what: &str) {
    assert_eq!(header(p, "cache-control"), "no-store", "{what}");
    assert_eq!(header(p, "content-security-policy"), CSP, "{what}");
    assert_eq!(header(p, "x-frame-options"), "DENY", "{what}");
    assert_eq!(header(p, "referrer-policy"), "same-origin", "{what}");
}

fn euros(minor: i64) -> String {
    format!("€{}.{:02}", minor / 100, minor % 100)
}

async fn admin_get(s: &TestServer, path: &str) -> Value {
    let (status, v, _) = s
        .authed(reqwest::Method::GET, path, ADMIN, None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

#[tokio::test]
async fn every_page_and_action_needs_a_session() {
    let s = TestServer::start();
    let d = Dash::new(&s);
    for path in PAGES {
        let p = d.get(path).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "GET {path}");
        assert_eq!(header(&p, LOCATION.as_str()), "/admin/login", "GET {path}");
        assert_admin_headers(&p, path);
    }
    for (path, body) in ACTIONS {
        let p = d.post(path, body).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "POST {path}");
        assert_admin_headers(&p, path);
        assert!(!p.body.contains("<script"), "{}", p.body);
    }
    // A made-up or stale session cookie is no session.
    let mut forged = Dash::new(&s);
    forged.cookie = Some(format!("momentum_admin={}", "ab".repeat(32)));
    assert_eq!(forged.get("/admin").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        forged.post("/admin/costs", "csrf=x").await.status,
        StatusCode::FORBIDDEN
    );
    // The sign-in page and the stylesheet are public, and carry the same policy.
    let login = d.get("/admin/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert_admin_headers(&login, "login");
    assert!(login.body.contains("<label for=\"key\">Admin key</label>"));
    assert!(!login.body.contains("<script"));
    let css = d.get("/admin/admin.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(header(&css, "content-type").starts_with("text/css"));
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_rate_limited_with_the_api_admin_budget() {
    let s = TestServer::start_with(&["--rate-limit", "admin-failures=3/10min"]);
    let mut d = Dash::new(&s);
    // One wrong bearer on the API and two wrong sign-ins use up the budget of 3 together.
    let (status, _, _) = s
        .authed(
            reqwest::Method::GET,
            "/v1/admin/orders?email=ana@example.com",
            "sk_wrong_wrong_wrong",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for wrong in ["sk_test_integration_admin_keY", ""] {
        let p = d.sign_in(wrong).await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "{wrong:?}");
        assert!(p.headers.get(SET_COOKIE).is_none());
        assert!(p.body.contains("That is not the admin key."), "{}", p.body);
        assert!(p.body.contains("aria-describedby=\"key-hint key-error\""));
        assert!(!p.body.contains(wrong) || wrong.is_empty());
    }
    // Over budget: even the right key waits, with Retry-After.
    let p = d.sign_in(ADMIN).await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS, "{}", p.body);
    assert!(p.headers.get(SET_COOKIE).is_none());
    let retry: u64 = header(&p, "retry-after").parse().expect("seconds");
    assert!((1..=600).contains(&retry), "{retry}");
    assert_eq!(d.get("/admin").await.status, StatusCode::SEE_OTHER);
    // Another client address has its own budget.
    let mut elsewhere = Dash::new(&s);
    elsewhere.client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("client");
    assert_eq!(elsewhere.sign_in(ADMIN).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_scoped_and_secure_behind_https() {
    let s = TestServer::start();
    let mut d = Dash::new(&s);
    let p = d.sign_in(ADMIN).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(header(&p, LOCATION.as_str()), "/admin");
    let cookie = header(&p, SET_COOKIE.as_str()).to_string();
    let attrs: Vec<&str> = cookie.split(';').map(str::trim).collect();
    let (name, value) = attrs[0].split_once('=').expect("pair");
    assert_eq!(name, "momentum_admin");
    assert_eq!(value.len(), 64, "256 random bits in hex: {cookie}");
    assert!(value.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(
        !cookie.contains(ADMIN),
        "the key never goes into the cookie"
    );
    for want in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/admin",
        "Max-Age=43200",
    ] {
        assert!(attrs.contains(&want), "{want} missing: {cookie}");
    }
    assert!(!attrs.contains(&"Secure"), "plain http: {cookie}");
    // Signed in, the overview renders, under the policy and without any script.
    let overview = d.get("/admin").await;
    assert_eq!(overview.status, StatusCode::OK, "{}", overview.body);
    assert_admin_headers(&overview, "overview");
    assert!(!overview.body.contains("<script"));
    assert!(
        overview.body.contains("<h1>Overview</h1>"),
        "{}",
        overview.body
    );
    assert!(overview
        .body
        .contains("No visits or orders in this range yet."));
    // Two sign-ins are two sessions with two ids.
    let mut second = Dash::new(&s);
    second.sign_in(ADMIN).await;
    assert_ne!(second.cookie, d.cookie);
    // Behind a TLS proxy the cookie is Secure.
    let tls = Dash::new(&s);
    let p = tls
        .post_with(
            "/admin/login",
            &format!("key={}", enc(ADMIN)),
            &[("x-forwarded-proto", "https")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let cookie = header(&p, SET_COOKIE.as_str());
    assert!(cookie.split(';').any(|a| a.trim() == "Secure"), "{cookie}");
}

#[tokio::test]
async fn posts_need_the_csrf_token_and_this_origin() {
    let s = TestServer::start();
    let mut d = Dash::new(&s);
    assert_eq!(d.sign_in(ADMIN).await.status, StatusCode::SEE_OTHER);
    let csrf = d.csrf().await;
    assert_eq!(csrf.len(), 64);
    let costs =
        |token: &str, fee: &str| format!("csrf={token}&fee_percent={fee}&fee_fixed=30&support=500");
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);
    let refused: [Case; 7] = [
        (
            "no token",
            "fee_percent=9&fee_fixed=30&support=500".to_string(),
            vec![],
        ),
        ("empty token", costs("", "9"), vec![]),
        ("wrong token", costs(&"0".repeat(64), "9"), vec![]),
        (
            "other origin",
            costs(&csrf, "9"),
            vec![("origin", "http://evil.example")],
        ),
        // Another port of this host is the same *site*: the SameSite=Strict cookie is sent from
        // there, so the Origin check is what refuses it.
        (
            "same site, other port",
            costs(&csrf, "9"),
            vec![("origin", "http://127.0.0.1:1")],
        ),
        (
            "no origin or referer",
            costs(&csrf, "9"),
            vec![("no-origin", "")],
        ),
        (
            "cross-site fetch",
            costs(&csrf, "9"),
            vec![("sec-fetch-site", "cross-site")],
        ),
    ];
    for (what, body, extra) in &refused {
        let p = d.post_with("/admin/costs", body, extra).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{what}: {}", p.body);
        assert_admin_headers(&p, what);
    }
    // The sign-in form checks the origin too (login CSRF).
    let p = Dash::new(&s)
        .post_with(
            "/admin/login",
            &format!("key={}", enc(ADMIN)),
            &[("origin", "http://evil.example")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.headers.get(SET_COOKIE).is_none());
    // Nothing refused was saved; the right token from this origin is.
    let page = d.get("/admin/costs").await;
    assert!(!page.body.contains("value=\"9.00\""), "{}", page.body);
    let ok = d.post("/admin/costs", &costs(&csrf, "2.90")).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(header(&ok, LOCATION.as_str()), "/admin/costs?saved=1");
    let page = d.get("/admin/costs?saved=1").await;
    assert!(page.body.contains("value=\"2.90\""), "{}", page.body);
    assert!(page.body.contains("value=\"30\""));
    assert!(page.body.contains("value=\"500\""));
    assert!(page.body.contains("Costs saved."));
    // A Referer from this origin stands in for a missing Origin.
    let referer = format!("{}/admin/costs", s.base);
    let p = d
        .post_with(
            "/admin/costs",
            &costs(&csrf, "3"),
            &[("no-origin", ""), ("referer", &referer)],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    // Invalid values: 400, each error next to its field.
    let p = d
        .post(
            "/admin/costs",
            &format!("csrf={csrf}&fee_percent=2.905&fee_fixed=-1&support=5"),
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.body.contains("id=\"fee_percent-error\""), "{}", p.body);
    assert!(p
        .body
        .contains("aria-describedby=\"fee_percent-hint fee_percent-error\""));
    assert!(p.body.contains("id=\"fee_fixed-error\""));
    assert!(!p.body.contains("id=\"support-error\""));
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let s = TestServer::start();
    let mut d = Dash::new(&s);
    d.sign_in(ADMIN).await;
    let csrf = d.csrf().await;
    // Sign-out is a POST with the token: a wrong one does not sign out.
    assert_eq!(
        d.post("/admin/logout", "csrf=nope").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(d.get("/admin").await.status, StatusCode::OK);
    let p = d.post("/admin/logout", &format!("csrf={csrf}")).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(header(&p, LOCATION.as_str()), "/admin/login");
    let cleared = header(&p, SET_COOKIE.as_str());
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The old cookie is worth nothing now, for pages and for actions.
    let p = d.get("/admin").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(header(&p, LOCATION.as_str()), "/admin/login");
    let p = d
        .post(
            "/admin/costs",
            &format!("csrf={csrf}&fee_percent=1&fee_fixed=0&support=0"),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn hostile_offer_copy_and_emails_are_escaped() {
    let s = TestServer::start();
    let hostile_label = "<img src=x onerror=alert(1)>\"'&";
    let offer = admin_get(&s, "/v1/offers/creator-course").await;
    let mut offer: Value = offer;
    offer["id"] = json!("hostile");
    offer["product"]["label"] = json!(hostile_label);
    offer["variants"] = json!([]);
    let (status, v, _) = s
        .authed(
            reqwest::Method::PUT,
            "/v1/offers/hostile",
            ADMIN,
            None,
            Some(offer),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let email = "<script>alert(1)</script>'\"&@evil.example";
    let token = s.token(CARD_OK).await;
    let body = json!({"offer_id": "hostile", "bump": false, "buyer": {"email": email, "country": "DE"}, "payment_token": token});
    let r = s.post_order(&uuid(), &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let order: Value = r.json().await.expect("json");
    let mut d = Dash::new(&s);
    d.sign_in(ADMIN).await;
    for path in [
        format!("/admin/orders?q={}", enc(email)),
        format!(
            "/admin/orders?q={}",
            order["order_id"].as_str().expect("id")
        ),
        "/admin?offer=hostile".to_string(),
        format!("/admin/orders?q={}", enc("<b>not found</b>")),
    ] {
        let p = d.get(&path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}: {}", p.body);
        for raw in ["<script", "<img", "<b>", "onerror=alert(1)>"] {
            assert!(!p.body.contains(raw), "{path}: {raw} unescaped");
        }
    }
    let p = d.get(&format!("/admin/orders?q={}", enc(email))).await;
    assert!(
        p.body
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;&#39;&quot;&amp;@evil.example"),
        "{}",
        p.body
    );
    assert!(p
        .body
        .contains("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"));
    let p = d.get("/admin?offer=hostile").await;
    assert!(
        p.body
            .contains("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"),
        "{}",
        p.body
    );
}

#[tokio::test]
async fn a_refund_is_confirmed_first_and_happens_once_on_a_double_submit() {
    let s = TestServer::start();
    let (status, order) = s.order_with(CARD_OK, true).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let order_id = order["order_id"].as_str().expect("id").to_string();
    let bump = order["receipt"]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["id"] == "bump")
        .expect("bump line")
        .clone();
    let amount = bump["amount"].as_i64().expect("amount");
    let mut d = Dash::new(&s);
    d.sign_in(ADMIN).await;
    let list = d.get(&format!("/admin/orders?q={order_id}")).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(&order_id), "{}", list.body);
    let csrf = hidden(&list.body, "csrf");
    // Step 1: the question, nothing refunded yet.
    let ask = d
        .post(
            "/admin/orders/refund",
            &format!("csrf={csrf}&order={order_id}&line=bump&q={order_id}"),
        )
        .await;
    assert_eq!(ask.status, StatusCode::OK, "{}", ask.body);
    let question = format!(
        "Refund {} of line “{}” to card Visa •••• 4242?",
        euros(amount),
        bump["label"].as_str().expect("label")
    );
    assert!(ask.body.contains(&question), "{}", ask.body);
    assert!(ask.body.contains(">Confirm</button>") && ask.body.contains(">Cancel</a>"));
    let after_ask = admin_get(&s, &format!("/v1/orders/{order_id}")).await;
    assert_eq!(after_ask["receipt"]["refunds"], json!([]));
    let confirmation = hidden(&ask.body, "confirmation");
    assert_eq!(confirmation.len(), 64);
    // Without the token, or from another origin, the confirmation does nothing.
    let body = format!("csrf={csrf}&confirmation={confirmation}");
    assert_eq!(
        d.post(
            "/admin/orders/refund/confirm",
            &format!("confirmation={confirmation}")
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        d.post_with(
            "/admin/orders/refund/confirm",
            &body,
            &[("origin", "http://evil.example")]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    // Step 2, submitted twice at once and once more later: one refund.
    let (a, b) = tokio::join!(
        d.post("/admin/orders/refund/confirm", &body),
        d.post("/admin/orders/refund/confirm", &body)
    );
    let c = d.post("/admin/orders/refund/confirm", &body).await;
    let done = format!("/admin/orders?q={order_id}&notice={confirmation}");
    for p in [&a, &b, &c] {
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        assert_eq!(header(p, LOCATION.as_str()), done);
    }
    let after = admin_get(&s, &format!("/v1/orders/{order_id}")).await;
    let refunds = after["receipt"]["refunds"].as_array().expect("refunds");
    assert_eq!(refunds.len(), 1, "{after}");
    assert_eq!(refunds[0]["line_id"], "bump");
    assert_eq!(refunds[0]["amount"].as_i64(), Some(amount));
    assert_eq!(after["receipt"]["refunded"].as_i64(), Some(amount));
    assert_eq!(s.count("SELECT COUNT(*) FROM refunds"), 1);
    // The order shows the outcome and the line as refunded, with no second refund button.
    let shown = d.get(&done).await;
    assert!(
        shown
            .body
            .contains(&format!("Refunded {} of line “", euros(amount))),
        "{}",
        shown.body
    );
    assert!(shown.body.contains("role=\"status\""));
    assert!(
        !shown.body.contains("name=\"line\" value=\"bump\""),
        "{}",
        shown.body
    );
    // A second question for the same line is refused: the line is refunded.
    let again = d
        .post(
            "/admin/orders/refund",
            &format!("csrf={csrf}&order={order_id}&line=bump"),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("already refunded"));
    // Another session cannot answer this session's confirmation.
    let mut other = Dash::new(&s);
    other.sign_in(ADMIN).await;
    let other_csrf = other.csrf().await;
    let p = other
        .post(
            "/admin/orders/refund/confirm",
            &format!("csrf={other_csrf}&confirmation={confirmation}"),
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn csv_exports_are_attachments_for_the_signed_in_creator() {
    let s = TestServer::start();
    let (status, _) = s.order_with(CARD_OK, false).await;
    assert_eq!(status, StatusCode::CREATED);
    let mut d = Dash::new(&s);
    d.sign_in(ADMIN).await;
    for (path, prefix) in [
        ("/admin/export/orders.csv", "momentum-orders-"),
        (
            "/admin/export/metrics.csv?offer=creator-course&control=variant:a",
            "momentum-metrics-creator-course-",
        ),
    ] {
        let p = d.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}: {}", p.body);
        assert_eq!(header(&p, "content-type"), "text/csv; charset=utf-8");
        let disposition = header(&p, "content-disposition");
        assert!(
            disposition.starts_with(&format!("attachment; filename=\"{prefix}")),
            "{disposition}"
        );
        assert_eq!(header(&p, "cache-control"), "no-store");
        assert!(!p.body.is_empty());
    }
    let p = d
        .get("/admin/export/metrics.csv?offer=creator-course&from=2026-02-30")
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
}

/// The text of the first `class="value"` after `marker` inside the section of `arm`.
fn figure(html: &str, arm: &str, marker: &str) -> String {
    let section = html
        .find(&format!("data-arm=\"{arm}\"><h3"))
        .unwrap_or_else(|| panic!("no section for {arm} in {html}"));
    let rest = &html[section..];
    let row = rest
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} for {arm}"));
    let rest = &rest[row..];
    let start = rest.find("class=\"value\">").expect("value") + "class=\"value\">".len();
    let len = rest[start..].find('<').expect("end");
    rest[start..start + len].to_string()
}

#[tokio::test]
async fn the_overview_shows_exact_figures_per_arm_and_moves_with_refunds_and_costs() {
    let s = TestServer::start();
    let order = |variant: &'static str, bump: bool| {
        let s = &s;
        async move {
            let token = s.token(CARD_OK).await;
            let body = json!({"offer_id": "creator-course", "variant": variant, "bump": bump,
                "buyer": {"email": format!("{variant}@example.com"), "country": "DE"}, "payment_token": token});
            let r = s.post_order(&uuid(), &body).await;
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.expect("json")
        }
    };
    let a = order("a", true).await;
    order("b", false).await;
    let mut d = Dash::new(&s);
    d.sign_in(ADMIN).await;
    let page = d.get("/admin?offer=creator-course&control=variant:a").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert_eq!(figure(body, "variant:a", "data-money=\"gross\""), "€58.00");
    assert_eq!(
        figure(body, "variant:a", "data-figure=\"net_per_buyer\""),
        "€58.00"
    );
    assert_eq!(
        figure(body, "variant:a", "data-figure=\"net_per_visitor\""),
        "€58.00"
    );
    assert_eq!(
        figure(body, "variant:b", "data-figure=\"average_order_value\""),
        "€49.00"
    );
    assert_eq!(
        figure(body, "variant:b", "data-figure=\"bump_attach\""),
        "0.0%"
    );
    assert_eq!(
        figure(body, "variant:a", "data-figure=\"bump_attach\""),
        "100.0%"
    );
    assert!(
        body.contains("Not enough data yet (1 of 30 buyers needed)"),
        "{body}"
    );
    assert!(body.contains("Difference vs Variant a"));
    assert!(body.contains("role=\"img\"") && body.contains("<title id=\"g0-npb-title\">"));
    // A refund of a's bump lowers a's net; costs lower both.
    let path = format!(
        "/v1/orders/{}/lines/bump/refund",
        a["order_id"].as_str().expect("id")
    );
    let (status, v, _) = s
        .authed(reqwest::Method::POST, &path, ADMIN, None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let body = d
        .get("/admin?offer=creator-course&control=variant:a")
        .await
        .body;
    assert_eq!(
        figure(&body, "variant:a", "data-money=\"refunded\""),
        "€9.00"
    );
    assert_eq!(
        figure(&body, "variant:a", "data-figure=\"net_per_buyer\""),
        "€49.00"
    );
    assert_eq!(
        figure(&body, "variant:a", "data-figure=\"refund_rate\""),
        "100.0%"
    );
    let csrf = hidden(&body, "csrf");
    let saved = d
        .post(
            "/admin/costs",
            &format!("csrf={csrf}&fee_percent=2.90&fee_fixed=30&support=500"),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let body = d
        .get("/admin?offer=creator-course&control=variant:a")
        .await
        .body;
    // b: 4900 − (142 + 30) fees. a: 5800 − 900 refunded − (168 + 30) fees − 500 support.
    assert_eq!(
        figure(&body, "variant:b", "data-figure=\"net_per_buyer\""),
        "€47.28"
    );
    assert_eq!(
        figure(&body, "variant:a", "data-figure=\"net_per_buyer\""),
        "€42.02"
    );
    assert_eq!(figure(&body, "variant:a", "data-money=\"fees\""), "€1.98");
    assert_eq!(
        figure(&body, "variant:a", "data-money=\"support\""),
        "€5.00"
    );
}
