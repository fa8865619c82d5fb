//! `GET /v1/offers/{id}/checkout?country=…`: the offer and its quotes in one CORS-simple request,
//! equal to what `GET /v1/offers/{id}` and `POST /v1/quotes` answer one by one.

mod common;

use common::{TestServer, ADMIN};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn get(s: &TestServer, path: &str) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let r = s
        .client
        .get(s.url(path))
        .header("origin", "https://creator.example")
        .send()
        .await
        .expect("get");
    let (status, headers) = (r.status(), r.headers().clone());
    (status, r.json().await.expect("json"), headers)
}

async fn quote(s: &TestServer, variant: Option<&str>, country: &str) -> Value {
    let body = json!({"offer_id": "creator-course", "variant": variant, "country": country});
    let (status, json) = s.post_raw("/v1/quotes", &body.to_string(), &[]).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    json
}

#[tokio::test]
async fn answers_the_offer_and_the_quotes_of_every_sellable_variant() {
    let s = TestServer::start();
    let (_, mut offer, _) = get(&s, "/v1/offers/creator-course").await;
    offer["variants"] = json!([
        {"id": "a", "weight": 1},
        {"id": "paused", "weight": 0, "product_price": 3900},
        {"id": "b", "weight": 1, "product_price": 5900}
    ]);
    let put = s
        .client
        .put(s.url("/v1/offers/creator-course"))
        .bearer_auth(ADMIN)
        .json(&offer)
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), StatusCode::OK);

    let (status, start, headers) = get(&s, "/v1/offers/creator-course/checkout?country=DE").await;
    assert_eq!(status, StatusCode::OK, "{start}");
    // A cross-origin GET without custom headers: no preflight, and the page may read it.
    assert!(headers.contains_key("access-control-allow-origin"));
    let (_, alone, _) = get(&s, "/v1/offers/creator-course").await;
    assert_eq!(start["offer"], alone);
    let expected = [
        quote(&s, None, "DE").await,
        quote(&s, Some("a"), "DE").await,
        quote(&s, Some("b"), "DE").await,
    ];
    assert_eq!(
        start["quotes"],
        json!(expected),
        "no quote for a paused variant"
    );
    assert_eq!(start["quotes"][2]["without_bump"]["total"], 5900);
}

#[tokio::test]
async fn a_bad_query_or_offer_is_an_error_naming_it() {
    let s = TestServer::start();
    for (path, status, code, field) in [
        (
            "/v1/offers/creator-course/checkout",
            400,
            "missing_field",
            "country",
        ),
        (
            "/v1/offers/creator-course/checkout?country=XX",
            400,
            "invalid_country",
            "country",
        ),
        (
            "/v1/offers/creator-course/checkout?country=DE&contry=NL",
            400,
            "unknown_field",
            "contry",
        ),
        (
            "/v1/offers/nope/checkout?country=DE",
            404,
            "offer_not_found",
            "",
        ),
    ] {
        let (got, json, _) = get(&s, path).await;
        assert_eq!(got.as_u16(), status, "{path}: {json}");
        assert_eq!(json["error"]["code"], code, "{path}: {json}");
        if !field.is_empty() {
            assert_eq!(json["error"]["field"], field, "{path}: {json}");
        }
    }
}
