//! Insights over HTTP against the real binary: funnel events (`POST /v1/events`), costs, the
//! metrics report of a seeded history with exact figures, CSV exports, and the admin key on every
//! creator route.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const OFFER: &str = "creator-course";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

fn visit(n: u8) -> String {
    format!("{n:02x}").repeat(16)
}

fn batch(visit_id: &str, variant: Option<&str>, holdout: bool, events: Value) -> Value {
    json!({"visit_id": visit_id, "offer_id": OFFER, "variant": variant, "holdout": holdout,
           "currency": "EUR", "events": events})
}

/// A funnel as the widget sends it: these steps, a few milliseconds apart.
fn steps(names: &[&str], start: i64) -> Value {
    Value::Array(
        names
            .iter()
            .enumerate()
            .map(|(i, name)| match name.strip_prefix("bump:") {
                Some(checked) => {
                    json!({"name": "bump_toggled", "at": start + i as i64, "checked": checked == "on"})
                }
                None => json!({"name": name, "at": start + i as i64}),
            })
            .collect(),
    )
}

/// Posts a batch the way the widget does (`text/plain`, no custom header).
async fn post_events(s: &TestServer, body: &Value) -> (StatusCode, Value) {
    let r = s
        .client
        .post(s.url("/v1/events"))
        .header("content-type", "text/plain;charset=UTF-8")
        .header("origin", "https://creator.example")
        .body(body.to_string())
        .send()
        .await
        .expect("post events");
    let status = r.status();
    if status == StatusCode::ACCEPTED {
        assert_eq!(
            r.headers()
                .get("access-control-allow-origin")
                .map(|v| v.as_bytes()),
            Some(&b"*"[..]),
            "a CORS-simple request's answer must be readable cross-origin"
        );
    }
    let text = r.text().await.expect("text");
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")),
    )
}

async fn admin_get(s: &TestServer, path: &str) -> (StatusCode, Value) {
    let (status, body, _) = s.authed(Method::GET, path, ADMIN, None, None).await;
    (status, body)
}

async fn admin_text(s: &TestServer, path: &str) -> (StatusCode, String, String) {
    let r = s
        .client
        .get(s.url(path))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("get");
    let status = r.status();
    let kind = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, kind, r.text().await.expect("text"))
}

fn error(body: &Value) -> (&str, &str) {
    (
        body["error"]["code"].as_str().unwrap_or("?"),
        body["error"]["field"].as_str().unwrap_or(""),
    )
}

#[tokio::test]
async fn events_are_accepted_once_and_anything_else_is_refused_naming_the_field() {
    let s = TestServer::start();
    let t = now_ms();
    let good = batch(
        &visit(1),
        Some("a"),
        false,
        steps(&["checkout_viewed", "bump:on"], t),
    );
    assert_eq!(
        post_events(&s, &good).await,
        (StatusCode::ACCEPTED, json!({}))
    );
    // Sent again (a retried beacon): stored once.
    assert_eq!(post_events(&s, &good).await.0, StatusCode::ACCEPTED);
    assert_eq!(s.count("SELECT COUNT(*) FROM events"), 2);
    // application/json is fine too.
    let (status, _) = s
        .post_raw(
            "/v1/events",
            &batch(&visit(2), None, false, steps(&["checkout_viewed"], t)).to_string(),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let mut with_token = good.clone();
    with_token["payment_token"] = json!("tok_test_4242");
    let mut with_email = good.clone();
    with_email["events"][1]["email"] = json!("ana@example.com");
    let too_many = batch(
        &visit(3),
        None,
        false,
        Value::Array(
            (0..51)
                .map(|i| json!({"name": "checkout_viewed", "at": t + i}))
                .collect(),
        ),
    );
    let refused: Vec<(Value, StatusCode, &str, &str)> = vec![
        (
            with_token,
            StatusCode::BAD_REQUEST,
            "unknown_field",
            "payment_token",
        ),
        (
            with_email,
            StatusCode::BAD_REQUEST,
            "unknown_field",
            "events[1].email",
        ),
        (too_many, StatusCode::BAD_REQUEST, "invalid_field", "events"),
        (
            batch(
                &visit(3),
                None,
                false,
                json!([{"name": "checkout_viewed", "at": t}, {"name": "bogus", "at": t}]),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "events[1].name",
        ),
        (
            batch(
                &visit(3),
                None,
                false,
                json!([{"name": "bump_toggled", "at": t}]),
            ),
            StatusCode::BAD_REQUEST,
            "missing_field",
            "events[0].checked",
        ),
        (
            batch(
                &visit(3),
                None,
                false,
                json!([{"name": "paid", "at": t, "checked": true}]),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "events[0].checked",
        ),
        (
            batch(&visit(3), None, false, json!([{"name": "paid", "at": -1}])),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "events[0].at",
        ),
        (
            batch(
                &visit(3),
                None,
                false,
                json!([{"name": "paid", "at": 1.5e12}]),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "events[0].at",
        ),
        (
            batch("NOT-A-VISIT", None, false, steps(&["paid"], t)),
            StatusCode::BAD_REQUEST,
            "invalid_id",
            "visit_id",
        ),
        (
            batch(&visit(3), Some("zzz"), false, steps(&["paid"], t)),
            StatusCode::BAD_REQUEST,
            "unknown_variant",
            "variant",
        ),
        (
            batch(&visit(3), None, true, steps(&["paid"], t)),
            StatusCode::BAD_REQUEST,
            "not_available",
            "holdout",
        ),
        (
            json!({"visit_id": visit(3), "offer_id": OFFER, "currency": "JPY", "events": steps(&["paid"], t)}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "currency",
        ),
        (
            json!({"visit_id": visit(3), "offer_id": "no-such-offer", "currency": "EUR", "events": steps(&["paid"], t)}),
            StatusCode::NOT_FOUND,
            "unknown_offer",
            "offer_id",
        ),
        (
            json!({"visit_id": visit(3), "offer_id": OFFER, "currency": "EUR"}),
            StatusCode::BAD_REQUEST,
            "missing_field",
            "events",
        ),
    ];
    for (body, status, code, field) in refused {
        let (got, answer) = post_events(&s, &body).await;
        assert_eq!(
            (got, error(&answer)),
            (status, (code, field)),
            "{body} -> {answer}"
        );
    }
    let (status, answer) = s.post_raw("/v1/events", "[1, 2]", &[]).await;
    assert_eq!(
        (status, error(&answer).0),
        (StatusCode::BAD_REQUEST, "invalid_body")
    );
    // Only JSON or plain text.
    let r = s
        .client
        .post(s.url("/v1/events"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(good.to_string())
        .send()
        .await
        .expect("form");
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Nothing refused was stored.
    assert_eq!(s.count("SELECT COUNT(*) FROM events"), 3);
    assert_eq!(s.count("SELECT COUNT(*) FROM visits"), 2);
}

#[tokio::test]
async fn event_batches_are_rate_limited_per_client() {
    let s = TestServer::start_with(&["--rate-limit", "events=5/min"]);
    let t = now_ms();
    for i in 0..5 {
        let body = batch(&visit(i), None, false, steps(&["checkout_viewed"], t));
        assert_eq!(
            post_events(&s, &body).await.0,
            StatusCode::ACCEPTED,
            "batch {i}"
        );
    }
    let r = s
        .client
        .post(s.url("/v1/events"))
        .header("content-type", "text/plain")
        .body(batch(&visit(9), None, false, steps(&["checkout_viewed"], t)).to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "rate_limited");
}

/// The offer with a 10 % holdout.
async fn with_holdout(s: &TestServer) {
    let (status, mut offer) = admin_get(s, &format!("/v1/offers/{OFFER}")).await;
    assert_eq!(status, StatusCode::OK);
    offer["holdout"] = json!({"percent": 10});
    let (status, body, _) = s
        .authed(
            Method::PUT,
            &format!("/v1/offers/{OFFER}"),
            ADMIN,
            None,
            Some(offer),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn order(s: &TestServer, card: &str, body: Value) -> Value {
    let mut body = body;
    body["payment_token"] = json!(s.token(card).await);
    let r = s.post_order(&uuid(), &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.expect("json")
}

fn order_body(variant: Option<&str>, bump: bool, holdout: bool) -> Value {
    let mut body = json!({"offer_id": OFFER, "bump": bump, "holdout": holdout,
                          "buyer": {"email": "ana@example.com", "country": "DE"}});
    if let Some(v) = variant {
        body["variant"] = json!(v);
    }
    body
}

/// Four buyers (holdout, two on variant a with add-ons, one on b whose bump is refunded), a
/// declined attempt, six visits.
async fn seed(s: &TestServer) {
    with_holdout(s).await;
    let o1 = order(s, CARD_OK, order_body(Some("a"), true, false)).await;
    assert_eq!(o1["status"], "paid");
    let (status, _, _) = s.addon(&o1, "upsell", &uuid()).await;
    assert_eq!(status, StatusCode::OK);
    let o2 = order(s, CARD_OK, order_body(Some("a"), false, false)).await;
    assert_eq!(s.decline(&o2, "upsell").await.0, StatusCode::OK);
    let (status, body, _) = s.addon(&o2, "downsell", &uuid()).await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::OK, &json!("succeeded"))
    );
    let o3 = order(s, CARD_OK, order_body(Some("b"), true, false)).await;
    let refund = format!(
        "/v1/orders/{}/lines/bump/refund",
        o3["order_id"].as_str().expect("id")
    );
    let (status, body, _) = s.authed(Method::POST, &refund, ADMIN, None, None).await;
    assert_eq!(
        (status, &body["refund"]["amount"]),
        (StatusCode::OK, &json!(700))
    );
    let o4 = order(s, CARD_OK, order_body(None, false, true)).await;
    assert_eq!(o4["receipt"]["holdout"], true);
    let o5 = order(s, CARD_DECLINE, order_body(Some("a"), false, false)).await;
    assert_eq!(o5["status"], "declined");

    let t = now_ms();
    let visits: [(u8, Option<&str>, bool, &[&str]); 6] = [
        (
            1,
            Some("a"),
            false,
            &[
                "checkout_viewed",
                "checkout_initiated",
                "bump:on",
                "paid",
                "upsell_offered",
                "upsell_accepted",
                "receipt_shown",
            ],
        ),
        // No checkout_initiated: paid implies it.
        (
            2,
            Some("a"),
            false,
            &[
                "checkout_viewed",
                "paid",
                "upsell_offered",
                "upsell_declined",
                "downsell_offered",
                "downsell_accepted",
                "receipt_shown",
            ],
        ),
        (
            3,
            Some("a"),
            false,
            &["checkout_viewed", "exit_offer_shown", "exit_offer_declined"],
        ),
        (
            4,
            Some("b"),
            false,
            &[
                "checkout_viewed",
                "checkout_initiated",
                "bump:on",
                "bump:off",
                "bump:on",
            ],
        ),
        (
            5,
            None,
            true,
            &[
                "checkout_viewed",
                "checkout_initiated",
                "paid",
                "receipt_shown",
            ],
        ),
        (6, None, true, &["checkout_viewed"]),
    ];
    for (n, variant, holdout, names) in visits {
        let body = batch(&visit(n), variant, holdout, steps(names, t));
        assert_eq!(post_events(s, &body).await.0, StatusCode::ACCEPTED);
    }
    // Visit 4's second batch arrives twice, its first event again among them.
    let more = batch(
        &visit(4),
        Some("b"),
        false,
        json!([{"name": "checkout_viewed", "at": t}, {"name": "paid", "at": t + 10}, {"name": "receipt_shown", "at": t + 11}]),
    );
    assert_eq!(post_events(s, &more).await.0, StatusCode::ACCEPTED);
    assert_eq!(post_events(s, &more).await.0, StatusCode::ACCEPTED);

    let costs =
        json!({"fee_basis_points": 290, "fee_fixed_minor": 25, "support_per_refund_minor": 500});
    let (status, body, _) = s
        .authed(
            Method::PUT,
            "/v1/admin/costs",
            ADMIN,
            None,
            Some(costs.clone()),
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, costs));
}

fn today_range() -> String {
    // Yesterday to tomorrow (UTC): the history is "now", whatever the time of day.
    let day = now_ms().div_euclid(86_400_000);
    let date = |d: i64| {
        let secs = d * 86_400;
        let (y, m, dd) = civil(secs.div_euclid(86_400));
        format!("{y:04}-{m:02}-{dd:02}")
    };
    format!("from={}&to={}", date(day - 1), date(day + 1))
}

fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn arm<'a>(report: &'a Value, label: &str) -> &'a Value {
    report["groups"][0]["arms"]
        .as_array()
        .expect("arms")
        .iter()
        .find(|a| a["arm"] == label)
        .unwrap_or_else(|| panic!("no arm {label} in {report}"))
}

#[tokio::test]
async fn the_report_of_a_seeded_history_has_exact_figures() {
    let s = TestServer::start();
    seed(&s).await;
    let path = format!(
        "/v1/admin/metrics?offer={OFFER}&{}&control=holdout",
        today_range()
    );
    let (status, report) = admin_get(&s, &path).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["offer_id"], OFFER);
    assert_eq!(report["time_zone"], "UTC");
    assert_eq!(report["control"], "holdout");
    let groups = report["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1);
    let group = &groups[0];
    assert_eq!(
        (&group["currency"], &group["exponent"]),
        (&json!("EUR"), &json!(2))
    );
    assert_eq!(
        group["costs"],
        json!({"fee_basis_points": 290, "fee_fixed_minor": 25, "support_per_refund_minor": 500})
    );
    let labels: Vec<&str> = group["arms"]
        .as_array()
        .expect("arms")
        .iter()
        .map(|a| a["arm"].as_str().expect("arm"))
        .collect();
    assert_eq!(labels, ["holdout", "variant:a", "variant:b"]);

    // Fees per charge: round_half_up(amount × 2.9 %) + 25.
    // holdout: 4900 → 142 + 25 = 167.
    let h = arm(&report, "holdout");
    assert_eq!(h["funnel"]["visits"], 2);
    assert_eq!(h["funnel"]["buyers"], 1);
    assert_eq!(h["funnel"]["steps"]["paid"], 1);
    assert_eq!(
        h["money"],
        json!({"gross": 4900, "refunded": 0, "fees": 167, "support": 0, "net": 4733,
               "gross_by_line": {"product": 4900, "bump": 0, "upsell": 0, "downsell": 0},
               "refunded_by_line": {"product": 0, "bump": 0, "upsell": 0, "downsell": 0}})
    );
    assert_eq!(h["conversion"]["vs_control"], "is_control");
    assert_eq!(
        h["net_per_buyer"],
        json!({"n": 1, "sum": 4733,
               "estimate": {"not_enough_data": {"of": "observations", "n": 1, "needed": 30}},
               "vs_control": "is_control"})
    );

    // a: 5800 + 2700 (193 + 103) and 4900 + 1200 (167 + 60).
    let a = arm(&report, "variant:a");
    assert_eq!(a["variant"], "a");
    let f = &a["funnel"];
    assert_eq!(
        (
            f["visits"].as_u64(),
            f["visitors"].as_u64(),
            f["buyers"].as_u64()
        ),
        (Some(3), Some(3), Some(2))
    );
    let st = &f["steps"];
    for (step, n) in [
        ("checkout_viewed", 3),
        ("checkout_initiated", 2),
        ("bump_toggled", 1),
        ("paid", 2),
        ("upsell_offered", 2),
        ("upsell_accepted", 1),
        ("upsell_declined", 1),
        ("downsell_offered", 1),
        ("downsell_accepted", 1),
        ("exit_offer_shown", 1),
        ("exit_offer_declined", 1),
        ("exit_offer_accepted", 0),
        ("receipt_shown", 2),
    ] {
        assert_eq!(st[step], n, "{step}");
    }
    assert_eq!(f["bump_checked"], 1);
    assert_eq!(
        (
            &f["with_bump"],
            &f["with_upsell"],
            &f["with_downsell"],
            &f["with_refund"]
        ),
        (&json!(1), &json!(1), &json!(1), &json!(0))
    );
    assert_eq!(
        a["money"],
        json!({"gross": 14600, "refunded": 0, "fees": 523, "support": 0, "net": 14077,
               "gross_by_line": {"product": 9800, "bump": 900, "upsell": 2700, "downsell": 1200},
               "refunded_by_line": {"product": 0, "bump": 0, "upsell": 0, "downsell": 0}})
    );
    assert_eq!(
        a["conversion"],
        json!({"successes": 2, "trials": 3,
               "estimate": {"not_enough_data": {"of": "observations", "n": 3, "needed": 30}},
               "vs_control": {"not_enough_data": {"of": "observations", "n": 3, "needed": 30}}})
    );
    assert_eq!(
        (
            &a["upsell_acceptance"]["successes"],
            &a["upsell_acceptance"]["trials"]
        ),
        (&json!(1), &json!(2))
    );
    assert_eq!(
        (
            &a["average_order_value"]["n"],
            &a["average_order_value"]["sum"]
        ),
        (&json!(2), &json!(14600))
    );
    assert_eq!(
        (&a["net_per_visitor"]["n"], &a["net_per_visitor"]["sum"]),
        (&json!(3), &json!(14077))
    );
    let daily = a["daily"].as_array().expect("daily");
    assert_eq!(daily.len(), 3);
    assert_eq!(
        daily
            .iter()
            .map(|d| d["buyers"].as_u64().expect("n"))
            .sum::<u64>(),
        2
    );
    assert_eq!(
        daily
            .iter()
            .map(|d| d["net"].as_i64().expect("n"))
            .sum::<i64>(),
        14077
    );
    assert_eq!(daily[2]["cumulative_buyers"], 2);

    // b: 5600 (162 + 25), its 700 bump refunded, one refund's support.
    let b = arm(&report, "variant:b");
    assert_eq!(
        b["money"],
        json!({"gross": 5600, "refunded": 700, "fees": 187, "support": 500, "net": 4213,
               "gross_by_line": {"product": 4900, "bump": 700, "upsell": 0, "downsell": 0},
               "refunded_by_line": {"product": 0, "bump": 700, "upsell": 0, "downsell": 0}})
    );
    let f = &b["funnel"];
    assert_eq!(
        (&f["visits"], &f["bump_checked"], &f["with_refund"]),
        (&json!(1), &json!(1), &json!(1))
    );
    assert_eq!(
        (&f["steps"]["bump_toggled"], &f["steps"]["paid"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(
        (&b["refund_rate"]["successes"], &b["refund_rate"]["trials"]),
        (&json!(1), &json!(1))
    );

    assert_eq!(
        group["totals"],
        json!({"visits": 6, "buyers": 4, "money": {
            "gross": 25100, "refunded": 700, "fees": 877, "support": 500, "net": 23023,
            "gross_by_line": {"product": 19600, "bump": 1600, "upsell": 2700, "downsell": 1200},
            "refunded_by_line": {"product": 0, "bump": 700, "upsell": 0, "downsell": 0}}})
    );

    // Another control; a day with nothing; bad parameters.
    let (_, report) = admin_get(
        &s,
        &format!(
            "/v1/admin/metrics?offer={OFFER}&{}&control=a",
            today_range()
        ),
    )
    .await;
    assert_eq!(report["control"], "variant:a");
    assert_eq!(
        arm(&report, "variant:a")["conversion"]["vs_control"],
        "is_control"
    );
    let (status, empty) = admin_get(
        &s,
        &format!("/v1/admin/metrics?offer={OFFER}&from=2020-01-01&to=2020-01-31"),
    )
    .await;
    assert_eq!((status, &empty["groups"]), (StatusCode::OK, &json!([])));
    for (query, status, code, field) in [
        (
            "from=2020-01-01",
            StatusCode::BAD_REQUEST,
            "missing_field",
            "offer",
        ),
        (
            "offer=nope",
            StatusCode::NOT_FOUND,
            "unknown_offer",
            "offer",
        ),
        (
            "offer=creator-course&from=2020-02-30",
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "from",
        ),
        (
            "offer=creator-course&from=2020-02-02&to=2020-02-01",
            StatusCode::BAD_REQUEST,
            "invalid_range",
            "from",
        ),
        (
            "offer=creator-course&control=Nope!",
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "control",
        ),
        (
            "offer=creator-course&days=7",
            StatusCode::BAD_REQUEST,
            "unknown_field",
            "days",
        ),
        (
            "offer=creator-course&offer=other",
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "offer",
        ),
    ] {
        let (got, body) = admin_get(&s, &format!("/v1/admin/metrics?{query}")).await;
        assert_eq!(
            (got, error(&body)),
            (status, (code, field)),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn costs_round_trip_and_are_checked() {
    let s = TestServer::start();
    let zero = json!({"fee_basis_points": 0, "fee_fixed_minor": 0, "support_per_refund_minor": 0});
    assert_eq!(
        admin_get(&s, "/v1/admin/costs").await,
        (StatusCode::OK, zero)
    );
    let costs =
        json!({"fee_basis_points": 150, "fee_fixed_minor": 25, "support_per_refund_minor": 300});
    let (status, body, _) = s
        .authed(
            Method::PUT,
            "/v1/admin/costs",
            ADMIN,
            None,
            Some(costs.clone()),
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, costs.clone()));
    assert_eq!(
        admin_get(&s, "/v1/admin/costs").await,
        (StatusCode::OK, costs.clone())
    );
    for (body, code, field) in [
        (
            json!({"fee_basis_points": 10_001, "fee_fixed_minor": 0, "support_per_refund_minor": 0}),
            "invalid_percent",
            "fee_basis_points",
        ),
        (
            json!({"fee_basis_points": 0, "fee_fixed_minor": -1, "support_per_refund_minor": 0}),
            "invalid_amount",
            "fee_fixed_minor",
        ),
        (
            json!({"fee_basis_points": 0, "fee_fixed_minor": 0, "support_per_refund_minor": 2e9}),
            "invalid_field",
            "support_per_refund_minor",
        ),
        (
            json!({"fee_basis_points": 0, "fee_fixed_minor": 0}),
            "missing_field",
            "support_per_refund_minor",
        ),
        (
            json!({"fee_basis_points": 0, "fee_fixed_minor": 0, "support_per_refund_minor": 0, "currency": "EUR"}),
            "unknown_field",
            "currency",
        ),
        (
            json!({"fee_basis_points": -5, "fee_fixed_minor": 0, "support_per_refund_minor": 0}),
            "invalid_field",
            "fee_basis_points",
        ),
    ] {
        let (status, answer, _) = s
            .authed(
                Method::PUT,
                "/v1/admin/costs",
                ADMIN,
                None,
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            (status, error(&answer)),
            (StatusCode::BAD_REQUEST, (code, field)),
            "{body}"
        );
    }
    // Refused costs changed nothing.
    assert_eq!(
        admin_get(&s, "/v1/admin/costs").await,
        (StatusCode::OK, costs)
    );
}

/// Splits RFC 4180 text into rows of fields (quoted fields may hold commas, quotes, line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CRLF line ends");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\n') => panic!("a bare LF ends a row"),
            (false, c) => field.push(c),
        }
    }
    assert!(
        row.is_empty() && field.is_empty(),
        "the last row ends with CRLF"
    );
    rows
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

#[tokio::test]
async fn csv_exports_have_one_row_per_line_or_metric_and_defuse_formulas() {
    let s = TestServer::start();
    seed(&s).await;
    // A buyer and a label that a spreadsheet would run as formulas.
    let (_, mut offer) = admin_get(&s, &format!("/v1/offers/{OFFER}")).await;
    offer["product"]["label"] = json!("=HYPERLINK(\"https://evil.example\",\"x\"), cheap");
    let (status, _, _) = s
        .authed(
            Method::PUT,
            &format!("/v1/offers/{OFFER}"),
            ADMIN,
            None,
            Some(offer),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut body = order_body(Some("a"), false, false);
    body["buyer"]["email"] = json!("=1+2@example.com");
    let evil = order(&s, CARD_OK, body).await;
    assert_eq!(evil["status"], "paid");

    let (status, kind, text) = admin_text(
        &s,
        &format!("/v1/admin/orders.csv?offer={OFFER}&{}", today_range()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(kind, "text/csv; charset=utf-8");
    assert!(
        text.contains("\"'=HYPERLINK(\"\"https://evil.example\"\",\"\"x\"\"), cheap\""),
        "{text}"
    );
    let rows = parse_csv(&text);
    let header = &rows[0];
    assert_eq!(header[0], "order_id");
    // o1: 3 lines, o2: 2, o3: 2, o4: 1, the declined o5: 1, the new one: 1.
    assert_eq!(rows.len(), 1 + 10, "{text}");
    assert!(rows.iter().all(|r| r.len() == header.len()));
    let (email, label, refund, status_col, arm_col) = (
        column(header, "email"),
        column(header, "line_label"),
        column(header, "refund_amount"),
        column(header, "order_status"),
        column(header, "arm"),
    );
    let last = rows.last().expect("row");
    assert_eq!(last[email], "'=1+2@example.com");
    assert_eq!(
        last[label],
        "'=HYPERLINK(\"https://evil.example\",\"x\"), cheap"
    );
    assert!(
        rows[1..]
            .iter()
            .all(|r| !r.iter().any(|f| f.starts_with(['=', '+', '-', '@']))),
        "no field may start a formula"
    );
    let refunded: Vec<&Vec<String>> = rows[1..].iter().filter(|r| !r[refund].is_empty()).collect();
    assert_eq!(refunded.len(), 1);
    assert_eq!(
        (
            refunded[0][refund].as_str(),
            refunded[0][column(header, "line_id")].as_str()
        ),
        ("700", "bump")
    );
    assert_eq!(
        rows[1..]
            .iter()
            .filter(|r| r[status_col] == "declined")
            .count(),
        1
    );
    assert_eq!(
        rows[1..].iter().filter(|r| r[arm_col] == "holdout").count(),
        1
    );

    let (status, kind, text) = admin_text(
        &s,
        &format!(
            "/v1/admin/metrics.csv?offer={OFFER}&{}&control=holdout",
            today_range()
        ),
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::OK, "text/csv; charset=utf-8")
    );
    let rows = parse_csv(&text);
    let header = &rows[0];
    assert_eq!(
        &header[..8],
        ["offer_id", "currency", "exponent", "from", "to", "control", "arm", "metric"]
    );
    // Per arm: visits, visitors, 16 steps, bump_checked, buyers, 5 money figures, 7 rates, 3 means.
    assert_eq!(rows.len(), 1 + 3 * 35);
    let (arm_col, metric, numerator, estimate, vs) = (
        column(header, "arm"),
        column(header, "metric"),
        column(header, "numerator"),
        column(header, "estimate"),
        column(header, "vs_control"),
    );
    let find = |a: &str, m: &str| {
        rows.iter()
            .find(|r| r[arm_col] == a && r[metric] == m)
            .unwrap_or_else(|| panic!("no {a} {m}"))
    };
    assert_eq!(find("variant:b", "net")[numerator], "4213");
    // The new order is a's third buyer: 4900 − 167.
    assert_eq!(find("variant:a", "net")[numerator], "18810");
    assert_eq!(find("variant:a", "step:upsell_offered")[numerator], "2");
    let conversion = find("variant:a", "conversion");
    assert_eq!(
        (
            conversion[numerator].as_str(),
            conversion[column(header, "denominator")].as_str(),
            conversion[estimate].as_str(),
            conversion[vs].as_str()
        ),
        ("3", "3", "not_enough_data", "not_enough_data")
    );
    assert_eq!(find("holdout", "conversion")[vs], "is_control");
}

#[tokio::test]
async fn every_insights_route_for_creators_wants_the_admin_key() {
    let s = TestServer::start();
    let routes = [
        (Method::GET, "/v1/admin/costs"),
        (Method::PUT, "/v1/admin/costs"),
        (Method::GET, "/v1/admin/metrics?offer=creator-course"),
        (Method::GET, "/v1/admin/metrics.csv?offer=creator-course"),
        (Method::GET, "/v1/admin/orders.csv"),
    ];
    let body = json!({"fee_basis_points": 99_999, "bogus": true});
    for (method, path) in &routes {
        let r = s
            .client
            .request(method.clone(), s.url(path))
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["error"]["code"], "unauthorized");
        // A wrong key is refused before the body or the query is looked at.
        let (status, v, _) = s
            .authed(
                method.clone(),
                path,
                "osec_not_the_admin_key",
                None,
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            (status, error(&v).0),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{method} {path}"
        );
    }
    // Nothing was changed.
    let (_, costs) = admin_get(&s, "/v1/admin/costs").await;
    assert_eq!(costs["fee_basis_points"], 0);
}
