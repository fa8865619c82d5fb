//! The holdout: a share of shoppers who are shown no offers, so the offers' worth can be measured.

mod common;

use common::{uuid, TestServer, ADMIN, CARD_OK};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn put_offer(s: &TestServer, offer: &Value) -> (StatusCode, Value) {
    let id = offer["id"].as_str().expect("id");
    let r = s
        .client
        .put(s.url(&format!("/v1/offers/{id}")))
        .bearer_auth(ADMIN)
        .json(offer)
        .send()
        .await
        .expect("put offer");
    let status = r.status();
    (status, r.json().await.expect("json"))
}

async fn held_out_offer(s: &TestServer, hide_bump: bool) -> Value {
    let r = s
        .client
        .get(s.url("/v1/offers/creator-course"))
        .send()
        .await
        .expect("get");
    let mut offer: Value = r.json().await.expect("json");
    offer["id"] = json!("held-out");
    offer["holdout"] = json!({"percent": 20, "hide_bump": hide_bump});
    assert_eq!(put_offer(s, &offer).await.0, StatusCode::OK);
    offer
}

async fn order(s: &TestServer, offer: &str, extra: Value) -> (StatusCode, Value) {
    let mut body = json!({"offer_id": offer, "bump": false, "holdout": true,
        "buyer": {"email": "held@example.com", "country": "DE"}, "payment_token": s.token(CARD_OK).await});
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    let r = s.post_order(&uuid(), &body).await;
    let status = r.status();
    (status, r.json().await.expect("json"))
}

#[tokio::test]
async fn a_holdout_order_is_marked_and_offered_no_add_ons() {
    let s = TestServer::start();
    held_out_offer(&s, false).await;
    let (status, paid) = order(&s, "held-out", json!({"bump": true})).await;
    assert_eq!(status, StatusCode::CREATED);
    let receipt = &paid["receipt"];
    assert_eq!(receipt["holdout"], true);
    assert_eq!(receipt["offers"]["upsell"], "not_available");
    assert_eq!(receipt["offers"]["downsell"], "not_available");
    let secret = paid["order_secret"].as_str().expect("secret");
    let path = format!(
        "/v1/orders/{}/addons",
        paid["order_id"].as_str().expect("id")
    );
    let (status, body, _) = s
        .authed(
            Method::POST,
            &path,
            secret,
            Some(&uuid()),
            Some(json!({"offer": "upsell"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "offer_not_available");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM charges WHERE status = 'succeeded'"),
        1
    );
}

#[tokio::test]
async fn the_holdout_asks_for_nothing_it_is_not_shown() {
    let s = TestServer::start();
    // No holdout on the offer.
    let (status, body) = order(&s, "creator-course", json!({})).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("holdout"))
    );
    held_out_offer(&s, true).await;
    // No exit discount, and no bump where the holdout hides it.
    let (status, body) = order(&s, "held-out", json!({"exit_offer": true})).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("exit_offer"))
    );
    let (status, body) = order(&s, "held-out", json!({"bump": true})).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bump"))
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM orders"), 0);
    let (status, _) = order(&s, "held-out", json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_holdout_share_outside_1_to_50_percent_names_the_field() {
    let s = TestServer::start();
    let mut offer = held_out_offer(&s, false).await;
    for percent in [0, 51] {
        offer["holdout"] = json!({"percent": percent});
        let (status, body) = put_offer(&s, &offer).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            (
                body["error"]["code"].as_str(),
                body["error"]["field"].as_str()
            ),
            (Some("invalid_percent"), Some("holdout.percent"))
        );
    }
}
