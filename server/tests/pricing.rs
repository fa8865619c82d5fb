//! What is charged is what was shown: quote binding (`expected_total` → `409 price_changed`), paused
//! variants, and when the exit-offer discount is granted.

mod common;

use common::{uuid, TestServer, ADMIN, CARD_OK};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn put_offer(s: &TestServer, offer: &Value) -> StatusCode {
    let id = offer["id"].as_str().expect("id");
    s.client
        .put(s.url(&format!("/v1/offers/{id}")))
        .bearer_auth(ADMIN)
        .json(offer)
        .send()
        .await
        .expect("put offer")
        .status()
}

async fn offer(s: &TestServer, id: &str) -> Value {
    let r = s
        .client
        .get(s.url(&format!("/v1/offers/{id}")))
        .send()
        .await
        .expect("get offer");
    r.json().await.expect("json")
}

async fn quote(s: &TestServer, body: Value) -> (StatusCode, Value) {
    s.post_raw("/v1/quotes", &body.to_string(), &[]).await
}

/// Charges the gateway holds (succeeded), all orders.
fn charges(s: &TestServer) -> i64 {
    s.count("SELECT COUNT(*) FROM charges WHERE status = 'succeeded'")
}

#[tokio::test]
async fn an_offer_repriced_after_the_quote_is_refused_with_the_new_quote_and_charges_nothing() {
    let s = TestServer::start();
    let mut offer = offer(&s, "creator-course").await;
    offer["id"] = json!("repriced");
    offer["variants"] = json!([]);
    assert_eq!(put_offer(&s, &offer).await, StatusCode::OK);
    let (_, shown) = quote(&s, json!({"offer_id": "repriced", "country": "DE"})).await;
    let shown_total = shown["without_bump"]["total"].as_i64().expect("total");

    offer["product"]["price"] = json!(5900);
    assert_eq!(put_offer(&s, &offer).await, StatusCode::OK);
    let order = |token: String, expected: i64| {
        json!({"offer_id": "repriced", "bump": false, "buyer": {"email": "ana@example.com", "country": "DE"},
               "payment_token": token, "expected_total": expected})
    };
    let r = s
        .post_order(&uuid(), &order(s.token(CARD_OK).await, shown_total))
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(
        r.headers().get("retry-after").is_none(),
        "waiting does not change a price"
    );
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "price_changed");
    let now = body["error"]["quote"]["without_bump"]["total"]
        .as_i64()
        .expect("new quote");
    assert_eq!(now, 5900);
    assert_eq!(charges(&s), 0);
    assert_eq!(s.count("SELECT COUNT(*) FROM orders"), 0);

    // Asked again with the total now shown, it is charged exactly that, once.
    let r = s
        .post_order(&uuid(), &order(s.token(CARD_OK).await, now))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["receipt"]["total"], now);
    assert_eq!(
        s.count("SELECT COALESCE(SUM(amount), 0) FROM charges WHERE status = 'succeeded'"),
        now
    );
}

#[tokio::test]
async fn a_paused_variant_can_be_neither_quoted_nor_ordered() {
    let s = TestServer::start();
    let mut offer = offer(&s, "creator-course").await;
    offer["id"] = json!("paused");
    offer["variants"] = json!([
        {"id": "live", "weight": 1},
        {"id": "cheap", "weight": 0, "product_price": 3900}
    ]);
    assert_eq!(put_offer(&s, &offer).await, StatusCode::OK);
    let (status, body) = quote(
        &s,
        json!({"offer_id": "paused", "variant": "cheap", "country": "DE"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "variant_paused");
    assert_eq!(body["error"]["field"], "variant");
    let token = s.token(CARD_OK).await;
    let r = s
        .post_order(
            &uuid(),
            &json!({"offer_id": "paused", "variant": "cheap", "bump": false,
                    "buyer": {"email": "ana@example.com", "country": "DE"}, "payment_token": token}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        (
            body["error"]["code"].as_str(),
            body["error"]["field"].as_str()
        ),
        (Some("variant_paused"), Some("variant"))
    );
    assert_eq!(charges(&s), 0);
    let (status, _) = quote(
        &s,
        json!({"offer_id": "paused", "variant": "live", "country": "DE"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_exit_discount_is_granted_only_where_the_creator_offers_one_and_is_visible_on_the_order(
) {
    let s = TestServer::start();
    let mut offer = offer(&s, "creator-course").await;
    offer["id"] = json!("no-exit");
    offer["variants"] = json!([]);
    offer.as_object_mut().expect("object").remove("exit_offer");
    assert_eq!(put_offer(&s, &offer).await, StatusCode::OK);
    let (status, body) = quote(
        &s,
        json!({"offer_id": "no-exit", "country": "DE", "exit_offer": true}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        (
            body["error"]["code"].as_str(),
            body["error"]["field"].as_str()
        ),
        (Some("not_available"), Some("exit_offer"))
    );
    let token = s.token(CARD_OK).await;
    let r = s
        .post_order(
            &uuid(),
            &json!({"offer_id": "no-exit", "exit_offer": true, "bump": false,
                    "buyer": {"email": "ana@example.com", "country": "DE"}, "payment_token": token}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(charges(&s), 0);

    // Where it is offered, an order that used it says so, for the creator to count.
    let token = s.token(CARD_OK).await;
    let mut body = TestServer::order_body(&token, false);
    body["exit_offer"] = json!(true);
    body["buyer"]["email"] = json!("exit@example.com");
    assert_eq!(
        s.post_order(&uuid(), &body).await.status(),
        StatusCode::CREATED
    );
    let r = s
        .client
        .get(s.url("/v1/admin/orders?email=exit@example.com"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("admin orders");
    let orders: Value = r.json().await.expect("json");
    assert_eq!(orders["orders"][0]["receipt"]["exit_offer"], true);
}
