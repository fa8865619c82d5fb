//! Every status and every bad input of the v1 API, over real HTTP against the real binary.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn code(v: &Value) -> &str {
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {v}"))
}

fn field(v: &Value) -> &str {
    v["error"]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field in {v}"))
}

#[tokio::test]
async fn health_offers_and_quotes() {
    let s = TestServer::start();
    let r = s.client.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let offer: Value = s
        .client
        .get(s.url("/v1/offers/creator-course"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(offer["currency"], "EUR");
    assert_eq!(offer["product"]["price"], 4900);
    assert_eq!(offer["bump"]["price"], 900);
    assert_eq!(offer["bump"]["pre_checked"], false);
    assert_eq!(offer["upsell"]["price"], 2700);
    assert_eq!(offer["downsell"]["price"], 1200);
    assert!(offer["refund_terms"].as_str().unwrap().len() > 10);
    assert!(offer["fallback_url"]
        .as_str()
        .unwrap()
        .starts_with("https://"));

    let r = s.client.get(s.url("/v1/offers/nope")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(code(&r.json().await.unwrap()), "offer_not_found");

    let (st, q) = s
        .post_raw(
            "/v1/quotes",
            r#"{"offer_id":"creator-course","country":"NL"}"#,
            &[],
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (q["currency"].as_str(), q["exponent"].as_u64()),
        (Some("EUR"), Some(2))
    );
    assert_eq!(q["without_bump"]["total"], 4900);
    assert_eq!(q["with_bump"]["total"], 5800);
    assert_eq!(q["with_bump"]["tax"][0]["label"], "VAT 21% (NL)");
    assert_eq!(q["with_bump"]["tax"][0]["amount"], 850 + 156);
    assert_eq!(q["with_bump"]["lines"].as_array().unwrap().len(), 2);

    let (_, q) = s
        .post_raw(
            "/v1/quotes",
            r#"{"offer_id":"creator-course","country":"NL","variant":"b","exit_offer":true}"#,
            &[],
        )
        .await;
    assert_eq!(q["variant"], "b");
    assert_eq!(q["without_bump"]["total"], 4410);
    assert_eq!(q["with_bump"]["total"], 4410 + 700);

    let (_, q) = s
        .post_raw(
            "/v1/quotes",
            r#"{"offer_id":"tokyo-night-presets","country":"DE"}"#,
            &[],
        )
        .await;
    assert_eq!(
        (q["currency"].as_str(), q["exponent"].as_u64()),
        (Some("JPY"), Some(0))
    );
    assert_eq!(q["without_bump"]["total"], 4900 + 931);
    let (_, q) = s
        .post_raw(
            "/v1/quotes",
            r#"{"offer_id":"desert-light-course","country":"KW"}"#,
            &[],
        )
        .await;
    assert_eq!(
        (q["currency"].as_str(), q["exponent"].as_u64()),
        (Some("KWD"), Some(3))
    );
    assert_eq!(q["with_bump"]["total"], 15_250 + 2_125);
    assert_eq!(q["with_bump"]["tax"], json!([]));

    let (st, e) = s
        .post_raw(
            "/v1/quotes",
            r#"{"offer_id":"creator-course","country":"Germany"}"#,
            &[],
        )
        .await;
    assert_eq!(
        (st, code(&e), field(&e)),
        (StatusCode::BAD_REQUEST, "invalid_country", "country")
    );
    let (st, e) = s
        .post_raw("/v1/quotes", r#"{"offer_id":"nope","country":"DE"}"#, &[])
        .await;
    assert_eq!(
        (st, code(&e), field(&e)),
        (StatusCode::NOT_FOUND, "unknown_offer", "offer_id")
    );
    let (st, e) = s
        .post_raw(
            "/v1/quotes",
            r#"{"offer_id":"creator-course","country":"DE","variant":"zz"}"#,
            &[],
        )
        .await;
    assert_eq!(
        (st, code(&e), field(&e)),
        (StatusCode::BAD_REQUEST, "unknown_variant", "variant")
    );
    let (st, e) = s
        .post_raw(
            "/v1/quotes",
            r#"{"offer_id":"tokyo-night-presets","country":"DE","exit_offer":true}"#,
            &[],
        )
        .await;
    assert_eq!(
        (st, code(&e), field(&e)),
        (StatusCode::BAD_REQUEST, "not_available", "exit_offer")
    );
}

#[tokio::test]
async fn create_order_paid_replay_and_key_rules() {
    let s = TestServer::start();
    let tok = s.token(CARD_OK).await;
    let body = TestServer::order_body(&tok, true);
    let r = s.post_order("key-1", &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(r.headers().get("idempotent-replayed").is_none());
    assert_eq!(r.headers().get("access-control-allow-origin").unwrap(), "*");
    let first = r.text().await.unwrap();
    assert!(!first.contains(&tok), "the token must never be echoed");
    assert!(
        !first.contains("pm_"),
        "no reusable credential in responses"
    );
    let o: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(o["status"], "paid");
    assert_eq!(o["card"], json!({"brand": "visa", "last4": "4242"}));
    assert!(o["order_id"].as_str().unwrap().len() >= 36);
    assert!(o["order_secret"].as_str().unwrap().starts_with("osec_"));
    let receipt = &o["receipt"];
    assert_eq!(receipt["total"], 5800);
    assert_eq!(receipt["lines"].as_array().unwrap().len(), 2);
    assert_eq!(
        receipt["offers"],
        json!({"bump": true, "upsell": "open", "downsell": "locked"})
    );
    assert_receipt_consistent(receipt);

    // Replay: identical body, marked.
    let r = s.post_order("key-1", &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(r.text().await.unwrap(), first);

    // Same key, different body → 422.
    let other = TestServer::order_body(&tok, false);
    let r = s.post_order("key-1", &other).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&r.json().await.unwrap()), "idempotency_key_reused");

    // The key belongs to one endpoint: the same key on an add-on is a different record.
    let (st, a, replayed) = s.addon(&o, "upsell", "key-1").await;
    assert_eq!(
        (st, a["status"].as_str(), replayed),
        (StatusCode::OK, Some("succeeded"), false)
    );

    // Missing / invalid key.
    let (st, e) = s.post_raw("/v1/orders", &body.to_string(), &[]).await;
    assert_eq!(
        (st, code(&e), field(&e)),
        (
            StatusCode::BAD_REQUEST,
            "idempotency_key_missing",
            "Idempotency-Key"
        )
    );
    let (st, e) = s
        .post_raw(
            "/v1/orders",
            &body.to_string(),
            &[("idempotency-key", &"k".repeat(300))],
        )
        .await;
    assert_eq!(
        (st, code(&e)),
        (StatusCode::BAD_REQUEST, "idempotency_key_invalid")
    );

    // GET status.
    let (st, v) = s.status(&o).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["status"], "paid");
    assert_eq!(v["receipt"]["total"], 5800 + 2700);
    assert_receipt_consistent(&v["receipt"]);
    let events: Vec<&str> = v["receipt"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "order_created",
            "payment_succeeded",
            "upsell_accepted",
            "payment_succeeded"
        ]
    );

    assert_eq!(
        s.count("SELECT COUNT(*) FROM charges WHERE kind = 'primary'"),
        1
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM tg_charges"), 2);
}

#[tokio::test]
async fn declined_cards() {
    let s = TestServer::start();
    let (st, o) = s.order_with(CARD_DECLINE, false).await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(o["status"], "declined");
    assert_eq!(
        o["decline"],
        json!({"code": "card_declined", "message": "Your card was declined."})
    );
    assert_eq!(o["card"]["last4"], "0002");
    assert!(o.get("receipt").is_none());
    let (st, e, _) = s.addon(&o, "upsell", &uuid()).await;
    assert_eq!((st, code(&e)), (StatusCode::CONFLICT, "order_not_paid"));
    let (st, e, _) = s.decline(&o, "upsell").await;
    assert_eq!((st, code(&e)), (StatusCode::CONFLICT, "order_not_paid"));
    let (_, v) = s.status(&o).await;
    assert_eq!(v["status"], "declined");
    assert_eq!(v["receipt"]["total"], 0);
    assert_eq!(v["receipt"]["lines"], json!([]));

    let (_, o) = s.order_with(CARD_FUNDS, false).await;
    assert_eq!(o["status"], "declined");
    assert_eq!(o["decline"]["code"], "insufficient_funds");
}

#[tokio::test]
async fn three_d_secure_on_the_order() {
    let s = TestServer::start();
    for (outcome, expect) in [("approve", "paid"), ("fail", "declined")] {
        let (st, o) = s.order_with(CARD_3DS, false).await;
        assert_eq!(st, StatusCode::CREATED);
        assert_eq!(o["status"], "requires_action");
        assert_eq!(o["next_action"]["type"], "redirect");
        let url = o["next_action"]["url"].as_str().unwrap().to_string();
        assert!(
            url.starts_with(&s.base) && url.contains("/test-gateway/challenge/"),
            "{url}"
        );
        let (_, v) = s.status(&o).await;
        assert_eq!(v["status"], "requires_action");
        assert_eq!(v["next_action"]["url"], url.as_str());
        let (st, e, _) = s.addon(&o, "upsell", &uuid()).await;
        assert_eq!((st, code(&e)), (StatusCode::CONFLICT, "order_not_paid"));
        // Confirm before the challenge: still requires_action.
        let (st, c, _) = s.confirm(&o, "order").await;
        assert_eq!(
            (st, c["status"].as_str()),
            (StatusCode::OK, Some("requires_action"))
        );

        let page = s.answer_challenge(&url, outcome).await;
        let expected_outcome = if outcome == "approve" {
            "approved"
        } else {
            "failed"
        };
        assert!(
            page.contains(&format!("data-outcome=\"{expected_outcome}\"")),
            "{page}"
        );
        let js = s
            .client
            .get(s.url("/test-gateway/challenge.js"))
            .send()
            .await
            .unwrap();
        assert!(js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"));
        assert!(js.text().await.unwrap().contains("postMessage"));

        let (st, c, _) = s.confirm(&o, "order").await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(c["order_status"], expect);
        if expect == "declined" {
            assert_eq!(c["decline"]["code"], "authentication_failed");
        } else {
            assert_eq!(c["status"], "succeeded");
            assert_eq!(c["receipt"]["total"], 4900);
            // Add-ons on a card authenticated once go through without a new challenge.
            let (_, a, _) = s.addon(&o, "upsell", &uuid()).await;
            assert_eq!(a["status"], "succeeded");
        }
        // A second answer to the same challenge changes nothing.
        s.client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("outcome=approve")
            .send()
            .await
            .unwrap();
        let (_, v) = s.status(&o).await;
        assert_eq!(v["status"], expect);
    }
    let (st, e, _) = s
        .confirm(&s.order_with(CARD_OK, false).await.1, "upsell")
        .await;
    assert_eq!((st, code(&e)), (StatusCode::CONFLICT, "nothing_to_confirm"));
}

#[tokio::test]
async fn processing_settles_to_paid() {
    let s = TestServer::start();
    let (_, o) = s.order_with(CARD_PROCESSING, true).await;
    assert_eq!(o["status"], "processing");
    let (st, e, _) = s.addon(&o, "upsell", &uuid()).await;
    assert_eq!((st, code(&e)), (StatusCode::CONFLICT, "order_not_paid"));
    let mut status = String::new();
    for _ in 0..100 {
        let (_, v) = s.status(&o).await;
        status = v["status"].as_str().unwrap().to_string();
        if status == "paid" {
            assert_eq!(v["receipt"]["total"], 5800);
            break;
        }
        assert_eq!(status, "processing");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "paid");
    let (_, a, _) = s.addon(&o, "upsell", &uuid()).await;
    assert_eq!(a["status"], "succeeded");
}

#[tokio::test]
async fn upsell_accepted_then_everything_else_closed() {
    let s = TestServer::start();
    let (_, o) = s.order_with(CARD_OK, true).await;
    let key = uuid();
    let (st, a, replayed) = s.addon(&o, "upsell", &key).await;
    assert_eq!((st, replayed), (StatusCode::OK, false));
    assert_eq!(a["status"], "succeeded");
    assert_eq!(a["next"], "receipt");
    let r = &a["receipt"];
    assert_eq!(r["lines"].as_array().unwrap().len(), 3);
    assert_eq!(r["charges"].as_array().unwrap().len(), 2);
    assert_eq!(r["total"], 4900 + 900 + 2700);
    assert_eq!(r["offers"]["upsell"], "accepted");
    assert_eq!(r["offers"]["downsell"], "closed");
    assert_receipt_consistent(r);

    let (st, again, replayed) = s.addon(&o, "upsell", &key).await;
    assert_eq!((st, replayed), (StatusCode::OK, true));
    assert_eq!(again, a);
    let (st, e, _) = s.addon(&o, "downsell", &key).await;
    assert_eq!(
        (st, code(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
    );
    let (st, b, _) = s.addon(&o, "upsell", &uuid()).await;
    assert_eq!(
        (st, b["status"].as_str()),
        (StatusCode::OK, Some("already_applied"))
    );
    let (st, e, _) = s.addon(&o, "downsell", &uuid()).await;
    assert_eq!((st, code(&e)), (StatusCode::CONFLICT, "offer_closed"));
    let (st, e, _) = s.decline(&o, "upsell").await;
    assert_eq!((st, code(&e)), (StatusCode::CONFLICT, "offer_closed"));
    let (st, e, _) = s.addon(&o, "bogus", &uuid()).await;
    assert_eq!(
        (st, code(&e), field(&e)),
        (StatusCode::BAD_REQUEST, "invalid_field", "offer")
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM charges"), 2);
}

#[tokio::test]
async fn decline_upsell_then_downsell() {
    let s = TestServer::start();
    let (_, o) = s.order_with(CARD_OK, false).await;
    let (st, e, _) = s.addon(&o, "downsell", &uuid()).await;
    assert_eq!((st, code(&e)), (StatusCode::CONFLICT, "offer_locked"));
    let (st, e, _) = s.decline(&o, "downsell").await;
    assert_eq!((st, code(&e)), (StatusCode::CONFLICT, "offer_locked"));
    let (st, d, _) = s.decline(&o, "upsell").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(d["next"], "downsell");
    assert_eq!(d["receipt"]["offers"]["upsell"], "declined");
    assert_eq!(d["receipt"]["offers"]["downsell"], "open");
    let (st, d2, _) = s.decline(&o, "upsell").await;
    assert_eq!(
        (st, d2["next"].as_str()),
        (StatusCode::OK, Some("downsell"))
    );
    let (st, e, _) = s.addon(&o, "upsell", &uuid()).await;
    assert_eq!((st, code(&e)), (StatusCode::CONFLICT, "offer_closed"));
    let (_, a, _) = s.addon(&o, "downsell", &uuid()).await;
    assert_eq!(a["status"], "succeeded");
    assert_eq!(a["receipt"]["total"], 4900 + 1200);
    assert_eq!(a["receipt"]["offers"]["downsell"], "accepted");
    assert_receipt_consistent(&a["receipt"]);

    // Decline both.
    let (_, o) = s.order_with(CARD_OK, false).await;
    s.decline(&o, "upsell").await;
    let (st, d, _) = s.decline(&o, "downsell").await;
    assert_eq!((st, d["next"].as_str()), (StatusCode::OK, Some("receipt")));
    let (_, v) = s.status(&o).await;
    let events: Vec<&str> = v["receipt"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "order_created",
            "payment_succeeded",
            "upsell_declined",
            "downsell_declined"
        ]
    );

    // An offer without a downsell: next is the receipt; a downsell is not available.
    let tok = s.token(CARD_OK).await;
    let body = json!({"offer_id": "tokyo-night-presets", "bump": false, "buyer": {"email": "ken@example.jp", "country": "JP"}, "payment_token": tok});
    let o: Value = s.post_order(&uuid(), &body).await.json().await.unwrap();
    assert_eq!(o["receipt"]["total"], 4900);
    let (_, d, _) = s.decline(&o, "upsell").await;
    assert_eq!(d["next"], "receipt");
    let (st, e, _) = s.addon(&o, "downsell", &uuid()).await;
    assert_eq!(
        (st, code(&e)),
        (StatusCode::CONFLICT, "offer_not_available")
    );
}

#[tokio::test]
async fn addon_declined_by_the_card_closes_the_funnel() {
    let s = TestServer::start();
    let (_, o) = s.order_with(CARD_ADDON_DECLINE, true).await;
    assert_eq!(o["status"], "paid");
    let (st, a, _) = s.addon(&o, "upsell", &uuid()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(a["status"], "declined");
    assert_eq!(a["decline"]["code"], "card_declined");
    assert_eq!(a["next"], "receipt");
    assert_eq!(a["receipt"]["total"], 5800);
    assert_eq!(a["receipt"]["offers"]["upsell"], "failed");
    assert_eq!(a["receipt"]["offers"]["downsell"], "closed");
    assert_receipt_consistent(&a["receipt"]);
    let (st, e, _) = s.addon(&o, "downsell", &uuid()).await;
    assert_eq!((st, code(&e)), (StatusCode::CONFLICT, "offer_closed"));
    let (st, e, _) = s.addon(&o, "upsell", &uuid()).await;
    assert_eq!((st, code(&e)), (StatusCode::CONFLICT, "offer_closed"));
    let (_, v) = s.status(&o).await;
    assert!(v["receipt"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "upsell_failed"));
}

#[tokio::test]
async fn addon_requiring_authentication() {
    let s = TestServer::start();
    for (outcome, expect) in [("approve", "succeeded"), ("fail", "declined")] {
        let (_, o) = s.order_with(CARD_ADDON_3DS, false).await;
        assert_eq!(o["status"], "paid");
        let (_, a, _) = s.addon(&o, "upsell", &uuid()).await;
        assert_eq!(a["status"], "requires_action");
        let url = a["next_action"]["url"].as_str().unwrap().to_string();
        let (st, e, _) = s.addon(&o, "upsell", &uuid()).await;
        assert_eq!((st, code(&e)), (StatusCode::CONFLICT, "addon_in_progress"));
        s.answer_challenge(&url, outcome).await;
        let (st, c, _) = s.confirm(&o, "upsell").await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(c["status"], expect);
        assert_eq!(c["next"], "receipt");
        let total = if expect == "succeeded" {
            4900 + 2700
        } else {
            4900
        };
        assert_eq!(c["receipt"]["total"], total);
        assert_receipt_consistent(&c["receipt"]);
    }
}

#[tokio::test]
async fn orders_are_only_reachable_with_their_secret() {
    let s = TestServer::start();
    let (_, mine) = s.order_with(CARD_OK, false).await;
    let (_, theirs) = s.order_with(CARD_OK, false).await;
    let id = theirs["order_id"].as_str().unwrap();
    let my_secret = mine["order_secret"].as_str().unwrap();
    let (st, e, _) = s
        .authed(
            Method::POST,
            &format!("/v1/orders/{id}/addons"),
            my_secret,
            Some(&uuid()),
            Some(json!({"offer": "upsell"})),
        )
        .await;
    assert_eq!((st, code(&e)), (StatusCode::FORBIDDEN, "forbidden"));
    let (st, e, _) = s
        .authed(
            Method::GET,
            &format!("/v1/orders/{id}"),
            my_secret,
            None,
            None,
        )
        .await;
    assert_eq!((st, code(&e)), (StatusCode::FORBIDDEN, "forbidden"));
    let (st, e, _) = s
        .authed(
            Method::POST,
            &format!("/v1/orders/{id}/decline"),
            my_secret,
            None,
            Some(json!({"offer": "upsell"})),
        )
        .await;
    assert_eq!((st, code(&e)), (StatusCode::FORBIDDEN, "forbidden"));
    let r = s
        .client
        .get(s.url(&format!("/v1/orders/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(code(&r.json().await.unwrap()), "unauthorized");
    let (st, e, _) = s
        .authed(
            Method::GET,
            "/v1/orders/ord_00000000000000000000000000000000",
            my_secret,
            None,
            None,
        )
        .await;
    assert_eq!((st, code(&e)), (StatusCode::NOT_FOUND, "order_not_found"));
    // The resume pass (what a reloaded widget holds) opens its own order only.
    let my_pass = mine["resume_pass"].as_str().unwrap();
    assert!(my_pass.starts_with("rsm_"));
    let (st, e, _) = s
        .authed(
            Method::GET,
            &format!("/v1/orders/{id}"),
            my_pass,
            None,
            None,
        )
        .await;
    assert_eq!((st, code(&e)), (StatusCode::FORBIDDEN, "forbidden"));
    let mine_id = mine["order_id"].as_str().unwrap();
    let (st, v, _) = s
        .authed(
            Method::GET,
            &format!("/v1/orders/{mine_id}"),
            my_pass,
            None,
            None,
        )
        .await;
    assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("paid")));
    let (st, e, _) = s
        .authed(
            Method::GET,
            &format!("/v1/orders/{mine_id}"),
            &my_pass.replacen("rsm_", "rsm_9", 1),
            None,
            None,
        )
        .await;
    assert_eq!((st, code(&e)), (StatusCode::FORBIDDEN, "forbidden"));
    let (st, v, _) = s
        .authed(Method::GET, &format!("/v1/orders/{id}"), ADMIN, None, None)
        .await;
    assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("paid")));
    assert_eq!(
        s.count("SELECT COUNT(*) FROM charges WHERE kind <> 'primary'"),
        0
    );
}

#[tokio::test]
async fn bad_inputs_are_4xx_naming_the_field_and_write_nothing() {
    let s = TestServer::start();
    let tok = s.token(CARD_OK).await;
    let good = TestServer::order_body(&tok, false);
    let k = [("idempotency-key", "bad-input-key")];
    let cases: Vec<(String, StatusCode, &str, Option<&str>)> = vec![
        ("{\"offer_id\": ".into(), StatusCode::BAD_REQUEST, "malformed_json", None),
        ("[1,2]".into(), StatusCode::BAD_REQUEST, "invalid_body", None),
        (format!("{good} trailing"), StatusCode::BAD_REQUEST, "malformed_json", None),
        (json!({"offer_id": "creator-course", "bump": false, "buyer": {"email": "a@b.co", "country": "DE", "phone": "1"}, "payment_token": tok}).to_string(), StatusCode::BAD_REQUEST, "unknown_field", Some("buyer.phone")),
        (json!({"offer_id": "creator-course", "bump": false, "buyer": {"email": "a@b.co", "country": "DE"}, "payment_token": tok, "amount": -5}).to_string(), StatusCode::BAD_REQUEST, "unknown_field", Some("amount")),
        (json!({"offer_id": "creator-course", "bump": "yes", "buyer": {"email": "a@b.co", "country": "DE"}, "payment_token": tok}).to_string(), StatusCode::BAD_REQUEST, "invalid_field", Some("bump")),
        (json!({"offer_id": "creator-course", "bump": false, "buyer": {"country": "DE"}, "payment_token": tok}).to_string(), StatusCode::BAD_REQUEST, "missing_field", Some("buyer.email")),
        (json!({"offer_id": "creator-course", "bump": false, "buyer": {"email": "not-an-email", "country": "DE"}, "payment_token": tok}).to_string(), StatusCode::BAD_REQUEST, "invalid_email", Some("buyer.email")),
        (json!({"offer_id": "creator-course", "bump": false, "buyer": {"email": "a@b.co", "country": "XX"}, "payment_token": tok}).to_string(), StatusCode::BAD_REQUEST, "invalid_country", Some("buyer.country")),
        (json!({"offer_id": "no-such-offer", "bump": false, "buyer": {"email": "a@b.co", "country": "DE"}, "payment_token": tok}).to_string(), StatusCode::NOT_FOUND, "unknown_offer", Some("offer_id")),
        (json!({"offer_id": "creator-course", "variant": "zz", "bump": false, "buyer": {"email": "a@b.co", "country": "DE"}, "payment_token": tok}).to_string(), StatusCode::BAD_REQUEST, "unknown_variant", Some("variant")),
        (json!({"offer_id": "creator-course", "bump": false, "buyer": {"email": "a@b.co", "country": "DE"}, "payment_token": "tok_forged"}).to_string(), StatusCode::BAD_REQUEST, "invalid_payment_token", Some("payment_token")),
    ];
    for (body, status, c, f) in &cases {
        let (st, e) = s.post_raw("/v1/orders", body, &k).await;
        assert_eq!((st, code(&e)), (*status, *c), "{body} → {e}");
        assert_eq!(e["error"]["field"].as_str(), *f, "{body} → {e}");
        assert!(e["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    // Nothing was written for any of them, and the key is still usable.
    assert_eq!(s.count("SELECT COUNT(*) FROM orders"), 0);
    assert_eq!(s.count("SELECT COUNT(*) FROM charges"), 0);
    assert_eq!(s.count("SELECT COUNT(*) FROM idempotency_keys"), 0);
    let r = s.post_order("bad-input-key", &good).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // A used token.
    let r = s.post_order(&uuid(), &good).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let e: Value = r.json().await.unwrap();
    assert_eq!(
        (code(&e), field(&e)),
        ("payment_token_used", "payment_token")
    );

    // Not JSON.
    let r = s
        .client
        .post(s.url("/v1/orders"))
        .header("idempotency-key", "x")
        .body(good.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(code(&r.json().await.unwrap()), "unsupported_media_type");
    // Too large.
    let big = format!("{{\"offer_id\": \"{}\"}}", "a".repeat(100_000));
    let (st, e) = s.post_raw("/v1/quotes", &big, &[]).await;
    assert_eq!(
        (st, code(&e)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );

    // Card fields.
    for (card, f, c) in [
        (
            json!({"number": "4242424242424241"}),
            "number",
            "invalid_card_number",
        ),
        (json!({"number": "4242"}), "number", "invalid_card_number"),
        (
            json!({"number": "4242424242424242", "exp_month": 13}),
            "exp_month",
            "invalid_expiry",
        ),
        (
            json!({"number": "4242424242424242", "exp_month": 1, "exp_year": 2001}),
            "exp_year",
            "card_expired",
        ),
        (
            json!({"number": "4242424242424242", "cvc": "1"}),
            "cvc",
            "invalid_cvc",
        ),
        (
            json!({"number": "4242424242424242", "pin": "1"}),
            "pin",
            "unknown_field",
        ),
    ] {
        let (st, e) = s
            .post_raw("/v1/test-gateway/tokens", &card.to_string(), &[])
            .await;
        assert_eq!(
            (st, code(&e), field(&e)),
            (StatusCode::BAD_REQUEST, c, f),
            "{card}"
        );
    }

    // Unknown route and method: JSON too.
    let r = s.client.get(s.url("/v1/nope")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(code(&r.json().await.unwrap()), "not_found");
    let r = s.client.delete(s.url("/v1/orders")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(code(&r.json().await.unwrap()), "method_not_allowed");
}

#[tokio::test]
async fn offer_config_validation_over_http() {
    let s = TestServer::start();
    let base: Value = s
        .client
        .get(s.url("/v1/offers/creator-course"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let put = |body: Value, key: Option<&'static str>| {
        let mut req = s.client.put(s.url("/v1/offers/creator-course")).json(&body);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        async move {
            let r = req.send().await.unwrap();
            let st = r.status();
            (st, r.json::<Value>().await.unwrap())
        }
    };
    let (st, e) = put(base.clone(), None).await;
    assert_eq!((st, code(&e)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let (st, e) = put(base.clone(), Some("sk_wrong_key_wrong_key")).await;
    assert_eq!((st, code(&e)), (StatusCode::FORBIDDEN, "forbidden"));

    let mutate = |f: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        f(&mut v);
        v
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            mutate(&|v| v["product"]["price"] = json!(-100)),
            "invalid_amount",
            "product.price",
        ),
        (
            mutate(&|v| v["product"]["price"] = json!(2_000_000_000_i64)),
            "invalid_amount",
            "product.price",
        ),
        (
            mutate(&|v| v["product"]["price"] = json!(1e30)),
            "invalid_field",
            "product.price",
        ),
        (
            mutate(&|v| v["product"]["price"] = json!(49.5)),
            "invalid_field",
            "product.price",
        ),
        (
            mutate(&|v| v["currency"] = json!("EURO")),
            "unknown_currency",
            "currency",
        ),
        (
            mutate(&|v| v["bump"]["price"] = json!(4900)),
            "bump_price_too_high",
            "bump.price",
        ),
        (
            mutate(&|v| v["bump"]["pre_checked"] = json!(true)),
            "pre_checked_bump",
            "bump.pre_checked",
        ),
        (
            mutate(&|v| v["upsell"]["headline"] = json!("")),
            "required",
            "upsell.headline",
        ),
        (
            mutate(&|v| v["refund_terms"] = json!("  ")),
            "required",
            "refund_terms",
        ),
        (
            mutate(&|v| v["fallback_url"] = json!("javascript:alert(1)")),
            "invalid_url",
            "fallback_url",
        ),
        (
            mutate(&|v| v["variants"][1]["bump_price"] = json!(9_999)),
            "bump_price_too_high",
            "variants[1].bump_price",
        ),
        (
            mutate(&|v| v["bump"]["colour"] = json!("red")),
            "unknown_field",
            "bump.colour",
        ),
        (mutate(&|v| v["id"] = json!("other")), "id_mismatch", "id"),
    ];
    for (body, c, f) in cases {
        let (st, e) = put(body, Some(ADMIN)).await;
        assert_eq!(
            (st, code(&e), field(&e)),
            (StatusCode::BAD_REQUEST, c, f),
            "{e}"
        );
    }
    // Nothing changed.
    let now: Value = s
        .client
        .get(s.url("/v1/offers/creator-course"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(now, base);
    // A valid edit.
    let (st, _) = put(mutate(&|v| v["upsell"]["price"] = json!(2900)), Some(ADMIN)).await;
    assert_eq!(st, StatusCode::OK);
    let (_, q) = s
        .post_raw(
            "/v1/quotes",
            r#"{"offer_id":"creator-course","country":"DE"}"#,
            &[],
        )
        .await;
    assert_eq!(q["with_bump"]["total"], 5800);
    let now: Value = s
        .client
        .get(s.url("/v1/offers/creator-course"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(now["upsell"]["price"], 2900);
}

#[tokio::test]
async fn refunds_of_one_line() {
    let s = TestServer::start();
    let (_, o) = s.order_with(CARD_OK, true).await;
    s.addon(&o, "upsell", &uuid()).await;
    let id = o["order_id"].as_str().unwrap();
    let path = |line: &str| format!("/v1/orders/{id}/lines/{line}/refund");
    let (st, e, _) = s
        .authed(
            Method::POST,
            &path("bump"),
            o["order_secret"].as_str().unwrap(),
            None,
            None,
        )
        .await;
    assert_eq!((st, code(&e)), (StatusCode::FORBIDDEN, "forbidden"));
    let r = s.client.post(s.url(&path("bump"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let (st, r, _) = s
        .authed(
            Method::POST,
            &path("bump"),
            ADMIN,
            None,
            Some(json!({"reason": "duplicate purchase"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["refund"]["line_id"], "bump");
    assert_eq!(r["refund"]["amount"], 900);
    let rc = &r["receipt"];
    assert_eq!(rc["total"], 4900 + 900 + 2700);
    assert_eq!(rc["refunded"], 900);
    assert_eq!(rc["net"], 4900 + 2700);
    assert!(rc["lines"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["id"] == "bump" && l["refunded"] == true));
    let refund_event = rc["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "refund_issued")
        .expect("refund_issued event");
    assert_eq!(
        (
            refund_event["line_id"].as_str(),
            refund_event["amount"].as_i64()
        ),
        (Some("bump"), Some(900))
    );

    let (st, e, _) = s
        .authed(Method::POST, &path("bump"), ADMIN, None, None)
        .await;
    assert_eq!(
        (st, code(&e)),
        (StatusCode::CONFLICT, "line_already_refunded")
    );
    let (st, e, _) = s
        .authed(Method::POST, &path("downsell"), ADMIN, None, None)
        .await;
    assert_eq!((st, code(&e)), (StatusCode::NOT_FOUND, "line_not_found"));
    let (st, r, _) = s
        .authed(Method::POST, &path("upsell"), ADMIN, None, None)
        .await;
    assert_eq!(
        (st, r["refund"]["amount"].as_i64()),
        (StatusCode::OK, Some(2700))
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM refunds"), 2);
    assert_eq!(s.count("SELECT COUNT(*) FROM tg_refunds"), 2);

    // Exclusive tax: the refund includes the line's tax.
    let tok = s.token(CARD_OK).await;
    let body = json!({"offer_id": "tokyo-night-presets", "bump": true, "buyer": {"email": "ken@example.jp", "country": "DE"}, "payment_token": tok});
    let o: Value = s.post_order(&uuid(), &body).await.json().await.unwrap();
    assert_eq!(o["receipt"]["total"], 4900 + 931 + 980 + 186);
    assert_receipt_consistent(&o["receipt"]);
    let id = o["order_id"].as_str().unwrap();
    let (_, r, _) = s
        .authed(
            Method::POST,
            &format!("/v1/orders/{id}/lines/bump/refund"),
            ADMIN,
            None,
            None,
        )
        .await;
    assert_eq!(r["refund"]["amount"], 980 + 186);

    // A declined order has nothing to refund.
    let (_, o) = s.order_with(CARD_DECLINE, false).await;
    let id = o["order_id"].as_str().unwrap();
    let (st, e, _) = s
        .authed(
            Method::POST,
            &format!("/v1/orders/{id}/lines/product/refund"),
            ADMIN,
            None,
            None,
        )
        .await;
    assert_eq!(
        (st, code(&e)),
        (StatusCode::CONFLICT, "line_not_refundable")
    );
}

#[tokio::test]
async fn exit_offer_and_variants_are_priced_by_the_server() {
    let s = TestServer::start();
    let tok = s.token(CARD_OK).await;
    let body = json!({"offer_id": "creator-course", "variant": "b", "exit_offer": true, "bump": true, "buyer": {"email": "a@b.co", "country": "FR"}, "payment_token": tok});
    let o: Value = s.post_order(&uuid(), &body).await.json().await.unwrap();
    let r = &o["receipt"];
    assert_eq!(r["variant"], "b");
    assert_eq!(r["lines"][0]["amount"], 4410);
    assert_eq!(r["lines"][1]["amount"], 700);
    assert_eq!(r["total"], 5110);
    assert_eq!(r["tax"][0]["label"], "VAT 20% (FR)");
    assert_receipt_consistent(r);
}

#[tokio::test]
async fn cors_and_static_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("momentum.js"), "export {};\n").unwrap();
    std::fs::write(dir.path().join("momentum_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>demo</title>",
    )
    .unwrap();
    let s = TestServer::start_with(&["--static-dir", dir.path().to_str().unwrap()]);
    for (path, ct) in [
        ("/momentum.js", "text/javascript"),
        ("/momentum_bg.wasm", "application/wasm"),
        ("/", "text/html"),
    ] {
        let r = s
            .client
            .get(s.url(path))
            .header("origin", "https://creator.example")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(ct),
            "{path}: {:?}",
            r.headers()["content-type"]
        );
        assert_eq!(r.headers()["access-control-allow-origin"], "*", "{path}");
    }
    let r = s.client.get(s.url("/missing.js")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(code(&r.json().await.unwrap()), "not_found");

    let r = s
        .client
        .request(Method::OPTIONS, s.url("/v1/orders"))
        .header("origin", "https://creator.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, idempotency-key, authorization",
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let allowed = r.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_string();
    for h in ["content-type", "idempotency-key", "authorization"] {
        assert!(allowed.contains(h), "{allowed}");
    }
    let (_, o) = s.order_with(CARD_OK, false).await;
    let r = s
        .client
        .get(s.url(&format!("/v1/orders/{}", o["order_id"].as_str().unwrap())))
        .bearer_auth(o["order_secret"].as_str().unwrap())
        .header("origin", "https://creator.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-expose-headers"],
        "idempotent-replayed"
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn admins_list_a_buyers_orders_with_their_charges() {
    let s = TestServer::start();
    let (_, declined) = s.order_with(CARD_DECLINE, false).await;
    let (_, paid) = s.order_with(CARD_OK, true).await;
    let path = "/v1/admin/orders?email=ana@example.com";

    let r = s.client.get(s.url(path)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let secret = paid["order_secret"].as_str().unwrap();
    let (st, e, _) = s.authed(Method::GET, path, secret, None, None).await;
    assert_eq!((st, code(&e)), (StatusCode::FORBIDDEN, "forbidden"));
    let (st, e, _) = s
        .authed(
            Method::GET,
            "/v1/admin/orders?email=nope",
            ADMIN,
            None,
            None,
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("email"))
    );

    let (st, list, _) = s.authed(Method::GET, path, ADMIN, None, None).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    let orders = list["orders"].as_array().unwrap();
    let ids: Vec<&Value> = orders.iter().map(|o| &o["order_id"]).collect();
    assert_eq!(ids, [&declined["order_id"], &paid["order_id"]]);
    assert_eq!(orders[0]["status"], "declined");
    assert_eq!(orders[1]["status"], "paid");
    let succeeded = |o: &Value| {
        o["receipt"]["charges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "succeeded")
            .count()
    };
    assert_eq!((succeeded(&orders[0]), succeeded(&orders[1])), (0, 1));
    // The charge count agrees with the database.
    assert_eq!(
        s.count("SELECT COUNT(*) FROM charges WHERE status = 'succeeded'"),
        1
    );

    let (_, none, _) = s
        .authed(
            Method::GET,
            "/v1/admin/orders?email=bo@example.com",
            ADMIN,
            None,
            None,
        )
        .await;
    assert_eq!(none["orders"], json!([]));
}
