//! The checks: each one exercises one rule of the contract (`docs/api.md`) against the backend and
//! says what it saw when the rule does not hold. Money checks count charges by asking the backend.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::client::{random_id, Answer, Backend, Order, Req};

type Check = Result<(), String>;

/// Test cards (docs/api.md, "Test payment gateway").
pub const CARD_OK: &str = "4242424242424242";
pub const CARD_3DS: &str = "4000002500003155";
pub const CARD_ADDON_3DS: &str = "4000002760003184";

/// The kit's own offers, one per minor-unit exponent.
pub const EUR: &str = "conformance-eur";
pub const JPY: &str = "conformance-jpy";
pub const KWD: &str = "conformance-kwd";

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Check {
    if ok {
        Ok(())
    } else {
        Err(what())
    }
}

fn expect_error(a: &Answer, status: u16, code: &str, context: &str) -> Check {
    ensure(a.status.as_u16() == status && a.code() == code, || {
        format!("{context}: expected {status} {code}, got {}", a.brief())
    })
}

/// Whether `got` has every field of `want` with the same value (and maybe more).
fn contains(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => w
            .iter()
            .all(|(k, v)| g.get(k).is_some_and(|gv| contains(gv, v))),
        (Value::Array(g), Value::Array(w)) => {
            g.len() == w.len() && g.iter().zip(w).all(|(g, w)| contains(g, w))
        }
        _ => got == want,
    }
}

fn offer(id: &str, currency: &str, tax_mode: &str, prices: [i64; 4]) -> Value {
    let [product, bump, upsell, downsell] = prices;
    json!({
        "id": id, "currency": currency, "tax_mode": tax_mode,
        "product": {"label": "Conformance course", "description": "What the kit buys.", "price": product},
        "bump": {"label": "Conformance bump", "description": "The order bump.", "price": bump, "pre_checked": false},
        "upsell": {"label": "Conformance upsell", "headline": "One more thing", "deliverable": "A video.", "price": upsell},
        "downsell": {"label": "Conformance downsell", "headline": "A smaller thing", "deliverable": "A checklist.", "price": downsell},
        "refund_terms": "14-day money-back guarantee.",
        "fallback_url": "https://example.com/checkout"
    })
}

/// The kit's offers (stored by the first check).
pub fn offers() -> Vec<Value> {
    vec![
        offer(EUR, "EUR", "inclusive", [4900, 900, 2700, 1200]),
        offer(JPY, "JPY", "exclusive", [4900, 980, 2900, 1500]),
        offer(KWD, "KWD", "exclusive", [15250, 2500, 9000, 4000]),
    ]
}

async fn put_offer(b: &Backend, v: &Value, key: &str) -> Result<Answer, String> {
    let path = format!("/v1/offers/{}", v["id"].as_str().unwrap_or(""));
    b.send(Req::new(Method::PUT, &path).bearer(key).json(v))
        .await
}

/// PUT then GET gives the config back.
pub async fn offers_round_trip(b: &Backend) -> Check {
    for v in offers() {
        let a = put_offer(b, &v, &b.admin_key).await?;
        ensure(a.status == StatusCode::OK, || format!("PUT: {}", a.brief()))?;
        let path = format!("/v1/offers/{}", v["id"].as_str().unwrap_or(""));
        let got = b.send(Req::new(Method::GET, &path)).await?;
        // A backend may add fields (the contract lets responses grow); none may change.
        ensure(
            got.status == StatusCode::OK && contains(&got.json(), &v),
            || format!("GET {path} differs from what was PUT: {}", got.brief()),
        )?;
    }
    let a = b
        .send(Req::new(
            Method::GET,
            "/v1/offers/conformance-no-such-offer",
        ))
        .await?;
    ensure(a.status == StatusCode::NOT_FOUND, || {
        format!("unknown offer: {}", a.brief())
    })
}

/// Offer configs and requests are validated strictly, naming the field.
pub async fn offers_strict_validation(b: &Backend) -> Check {
    let mut v = offers().remove(0);
    let a = put_offer(b, &v, "sk_not_the_admin_key_at_all").await?;
    expect_error(&a, 403, "forbidden", "PUT with a wrong key")?;
    let path = format!("/v1/offers/{EUR}");
    let a = b.send(Req::new(Method::PUT, &path).json(&v)).await?;
    expect_error(&a, 401, "unauthorized", "PUT without a key")?;
    v["bump"]["pre_checked"] = json!(true);
    let a = put_offer(b, &v, &b.admin_key).await?;
    expect_error(&a, 400, "pre_checked_bump", "a pre-checked bump")?;
    ensure(a.json()["error"]["field"] == "bump.pre_checked", || {
        format!("field not named: {}", a.brief())
    })?;
    let mut v = offers().remove(0);
    v["product"]["colour"] = json!("red");
    let a = put_offer(b, &v, &b.admin_key).await?;
    expect_error(&a, 400, "unknown_field", "an unknown field")?;
    ensure(a.json()["error"]["field"] == "product.colour", || {
        format!("field not named: {}", a.brief())
    })?;
    for (body, code, field) in [
        (
            json!({"offer_id": EUR, "country": "DE", "coupon": "FREE"}),
            "unknown_field",
            "coupon",
        ),
        (json!({"offer_id": EUR}), "missing_field", "country"),
        (
            json!({"offer_id": EUR, "country": "DE", "exit_offer": "yes"}),
            "invalid_field",
            "exit_offer",
        ),
        (
            json!({"offer_id": EUR, "country": "Germany"}),
            "invalid_country",
            "country",
        ),
    ] {
        let a = b
            .send(Req::new(Method::POST, "/v1/quotes").json(&body))
            .await?;
        expect_error(&a, 400, code, &format!("quote {body}"))?;
        ensure(a.json()["error"]["field"] == field, || {
            format!("quote {body}: field {field} not named: {}", a.brief())
        })?;
    }
    Ok(())
}

fn check_quote(q: &Value, tax_mode: &str) -> Check {
    let lines = q["lines"].as_array().ok_or("no lines")?;
    let mut sum: i64 = 0;
    let mut line_tax: i64 = 0;
    for l in lines {
        sum += l["amount"]
            .as_i64()
            .ok_or("a line without an integer amount")?;
        line_tax += l["tax_amount"]
            .as_i64()
            .ok_or("a line without tax_amount")?;
    }
    let tax: i64 = q["tax"]
        .as_array()
        .ok_or("no tax")?
        .iter()
        .map(|t| t["amount"].as_i64().unwrap_or(i64::MIN / 4))
        .sum();
    let expected = if tax_mode == "exclusive" {
        sum + tax
    } else {
        sum
    };
    ensure(q["total"].as_i64() == Some(expected), || {
        format!("total {} is not Σ lines ({expected}): {q}", q["total"])
    })?;
    ensure(tax == line_tax, || {
        format!("tax lines {tax} are not Σ line taxes {line_tax}: {q}")
    })
}

/// A quote's total is the sum of its lines (plus added tax), for exponents 2, 0 and 3.
pub async fn quotes_totals(b: &Backend, offer_id: &str, exponent: i64) -> Check {
    let a = b
        .send(
            Req::new(Method::POST, "/v1/quotes")
                .json(&json!({"offer_id": offer_id, "country": "NL"})),
        )
        .await?;
    ensure(a.status == StatusCode::OK, || a.brief())?;
    let q = a.json();
    ensure(q["exponent"].as_i64() == Some(exponent), || {
        format!("exponent {} for {}", q["exponent"], q["currency"])
    })?;
    let mode = q["tax_mode"].as_str().unwrap_or("");
    check_quote(&q["without_bump"], mode)?;
    check_quote(&q["with_bump"], mode)?;
    let bump_lines = q["with_bump"]["lines"]
        .as_array()
        .map_or(0, |l| l.iter().filter(|l| l["kind"] == "bump").count());
    ensure(bump_lines == 1, || {
        format!("with_bump has {bump_lines} bump lines")
    })
}

/// `GET /v1/offers/{id}/checkout?country=` (optional for a backend: a `404` passes, and the widget
/// falls back): when it answers, it is the offer and the quote `POST /v1/quotes` gives, in one.
pub async fn checkout_start(b: &Backend) -> Check {
    let path = format!("/v1/offers/{EUR}/checkout?country=NL");
    let a = b.send(Req::new(Method::GET, &path)).await?;
    if a.status == StatusCode::NOT_FOUND && a.code() == "not_found" {
        return Ok(()); // not implemented: the widget uses the offer and quote calls
    }
    ensure(a.status == StatusCode::OK, || {
        format!("GET {path}: {}", a.brief())
    })?;
    let start = a.json();
    let offer = b
        .send(Req::new(Method::GET, &format!("/v1/offers/{EUR}")))
        .await?;
    ensure(start["offer"] == offer.json(), || {
        format!("GET {path}: its offer differs from GET /v1/offers/{EUR}")
    })?;
    let quote = b
        .send(Req::new(Method::POST, "/v1/quotes").json(&json!({"offer_id": EUR, "country": "NL"})))
        .await?;
    ensure(start["quotes"][0] == quote.json(), || {
        format!("GET {path}: its first quote differs from POST /v1/quotes without a variant")
    })?;
    let bad = b
        .send(Req::new(
            Method::GET,
            &format!("/v1/offers/{EUR}/checkout?country=XX"),
        ))
        .await?;
    expect_error(&bad, 400, "invalid_country", "country=XX")
}

fn order_body(token: &str, email: &str, bump: bool) -> Value {
    json!({"offer_id": EUR, "bump": bump, "buyer": {"email": email, "country": "DE"},
           "payment_token": token})
}

/// A replayed create answers the same status and bytes.
pub async fn replay_body(b: &Backend) -> Check {
    let email = format!("replay-{}@example.com", &random_id()[..12]);
    let body = order_body(&b.token(CARD_OK).await?, &email, true);
    let key = random_id();
    let first = b
        .send(Req::new(Method::POST, "/v1/orders").key(&key).json(&body))
        .await?;
    ensure(first.status == StatusCode::CREATED, || first.brief())?;
    let again = b
        .send(Req::new(Method::POST, "/v1/orders").key(&key).json(&body))
        .await?;
    ensure(again.status == first.status, || {
        format!("replay status {} (first {})", again.status, first.status)
    })?;
    ensure(again.bytes == first.bytes, || {
        format!(
            "replay body differs:\n  first  {}\n  replay {}",
            first.brief(),
            again.brief()
        )
    })?;
    let charges = b.charges_by_email(&email).await?;
    ensure(charges.len() == 1, || {
        format!("{} charges after a replay", charges.len())
    })
}

/// A replay says so (`Idempotent-Replayed: true`); the first answer does not.
pub async fn replay_header(b: &Backend) -> Check {
    let email = format!("replay-{}@example.com", &random_id()[..12]);
    let body = order_body(&b.token(CARD_OK).await?, &email, false);
    let key = random_id();
    let first = b
        .send(Req::new(Method::POST, "/v1/orders").key(&key).json(&body))
        .await?;
    ensure(first.header("idempotent-replayed").is_none(), || {
        "the first answer says Idempotent-Replayed".into()
    })?;
    let again = b
        .send(Req::new(Method::POST, "/v1/orders").key(&key).json(&body))
        .await?;
    ensure(again.header("idempotent-replayed") == Some("true"), || {
        format!(
            "replay without Idempotent-Replayed: true ({:?})",
            again.header("idempotent-replayed")
        )
    })
}

/// The same key with another body is 422, and charges nothing.
pub async fn key_reused_422(b: &Backend) -> Check {
    let email = format!("reuse-{}@example.com", &random_id()[..12]);
    let body = order_body(&b.token(CARD_OK).await?, &email, false);
    let key = random_id();
    let first = b
        .send(Req::new(Method::POST, "/v1/orders").key(&key).json(&body))
        .await?;
    ensure(first.status == StatusCode::CREATED, || first.brief())?;
    let mut other = body.clone();
    other["bump"] = json!(true);
    let a = b
        .send(Req::new(Method::POST, "/v1/orders").key(&key).json(&other))
        .await?;
    expect_error(&a, 422, "idempotency_key_reused", "same key, other body")?;
    let a = b
        .send(Req::new(Method::POST, "/v1/orders").json(&other))
        .await?;
    expect_error(&a, 400, "idempotency_key_missing", "no key")?;
    let charges = b.charges_by_email(&email).await?;
    ensure(charges.len() == 1, || format!("{} charges", charges.len()))
}

/// Concurrent duplicates while the first is in flight: 409 `idempotency_key_in_use` with
/// `Retry-After`, or the answer of the one order; one charge.
pub async fn in_flight_409(b: &Backend) -> Check {
    const CONCURRENT: usize = 12;
    let mut saw_409 = false;
    for _attempt in 0..4 {
        let email = format!("flight-{}@example.com", &random_id()[..12]);
        let body = order_body(&b.token(CARD_OK).await?, &email, true);
        let key = random_id();
        let sends = (0..CONCURRENT)
            .map(|_| b.send(Req::new(Method::POST, "/v1/orders").key(&key).json(&body)));
        let answers = futures::future::join_all(sends).await;
        let mut order_ids = std::collections::BTreeSet::new();
        for a in answers {
            let a = a?;
            match a.status.as_u16() {
                201 => {
                    order_ids.insert(a.json()["order_id"].as_str().unwrap_or("").to_string());
                }
                409 => {
                    expect_error(&a, 409, "idempotency_key_in_use", "a duplicate in flight")?;
                    ensure(a.header("retry-after").is_some(), || {
                        "409 idempotency_key_in_use without Retry-After".into()
                    })?;
                    saw_409 = true;
                }
                _ => return Err(format!("a duplicate got {}", a.brief())),
            }
        }
        ensure(order_ids.len() <= 1, || {
            format!("one key made orders {order_ids:?}")
        })?;
        let charges = b.charges_by_email(&email).await?;
        ensure(charges.len() == 1, || {
            format!("{CONCURRENT} duplicates made {} charges", charges.len())
        })?;
        if saw_409 {
            return Ok(());
        }
    }
    Err(format!(
        "{CONCURRENT} concurrent duplicates never got 409 idempotency_key_in_use (4 tries)"
    ))
}

/// A key is scoped to its endpoint: the key of an order, reused on its add-ons, is a new key.
pub async fn key_scoped_per_endpoint(b: &Backend) -> Check {
    let email = format!("scope-{}@example.com", &random_id()[..12]);
    let body = order_body(&b.token(CARD_OK).await?, &email, false);
    let key = random_id();
    let first = b
        .send(Req::new(Method::POST, "/v1/orders").key(&key).json(&body))
        .await?;
    ensure(first.status == StatusCode::CREATED, || first.brief())?;
    let v = first.json();
    let path = format!("/v1/orders/{}/addons", v["order_id"].as_str().unwrap_or(""));
    let secret = v["order_secret"].as_str().unwrap_or("").to_string();
    let a = b
        .send(
            Req::new(Method::POST, &path)
                .bearer(&secret)
                .key(&key)
                .json(&json!({"offer": "upsell"})),
        )
        .await?;
    ensure(
        a.status == StatusCode::OK && a.json()["status"] == "succeeded",
        || format!("add-on with the order's key: {}", a.brief()),
    )?;
    let charges = b.charges_by_email(&email).await?;
    ensure(charges.len() == 2, || format!("{} charges", charges.len()))
}

/// No credential is 401; another order's secret is 403; the resume pass works, a forged one is 403.
pub async fn order_credentials(b: &Backend) -> Check {
    let o = b.order(EUR, CARD_OK, false).await?;
    let other = b.order(EUR, CARD_OK, false).await?;
    let path = format!("/v1/orders/{}", o.id);
    let a = b.send(Req::new(Method::GET, &path)).await?;
    expect_error(&a, 401, "unauthorized", "no Authorization")?;
    let a = b
        .send(Req::new(Method::GET, &path).bearer(&other.secret))
        .await?;
    expect_error(&a, 403, "forbidden", "another order's secret")?;
    let a = b
        .send(
            Req::new(Method::POST, &format!("{path}/addons"))
                .bearer(&other.secret)
                .key(&random_id())
                .json(&json!({"offer": "upsell"})),
        )
        .await?;
    expect_error(
        &a,
        403,
        "forbidden",
        "an add-on with another order's secret",
    )?;
    let a = b
        .send(Req::new(Method::GET, &path).bearer(&o.resume_pass))
        .await?;
    ensure(a.status == StatusCode::OK, || {
        format!("the resume pass: {}", a.brief())
    })?;
    // A pass whose expiry was moved: its MAC no longer fits.
    let forged = forge_expiry(&o.resume_pass).ok_or("resume_pass is not rsm_<expiry>_<mac>")?;
    let a = b.send(Req::new(Method::GET, &path).bearer(&forged)).await?;
    expect_error(&a, 403, "forbidden", "a resume pass with a changed expiry")?;
    let a = b
        .send(Req::new(Method::GET, "/v1/orders/ord_conformance_unknown").bearer(&o.secret))
        .await?;
    ensure(a.status == StatusCode::NOT_FOUND, || {
        format!("an unknown order: {}", a.brief())
    })
}

fn forge_expiry(pass: &str) -> Option<String> {
    let rest = pass.strip_prefix("rsm_")?;
    let (expiry, mac) = rest.split_once('_')?;
    let expiry: i64 = expiry.parse().ok()?;
    Some(format!("rsm_{}_{mac}", expiry + 3600))
}

/// Accepts an add-on with a new key.
async fn accept(b: &Backend, o: &Order, offer: &str) -> Result<Answer, String> {
    let key = random_id();
    b.on_order(
        o,
        Method::POST,
        "/addons",
        Some(&key),
        Some(json!({"offer": offer})),
    )
    .await
}

fn count_kind(receipt: &Value, kind: &str) -> usize {
    receipt["charges"]
        .as_array()
        .map_or(0, |c| c.iter().filter(|c| c["kind"] == kind).count())
}

/// The bump is bought with the order, once; it is no add-on.
pub async fn caps_one_bump(b: &Backend) -> Check {
    let o = b.order(EUR, CARD_OK, true).await?;
    let r = &o.created["receipt"];
    let bumps = r["lines"]
        .as_array()
        .map_or(0, |l| l.iter().filter(|l| l["kind"] == "bump").count());
    ensure(bumps == 1, || format!("{bumps} bump lines: {r}"))?;
    let a = b
        .on_order(
            &o,
            Method::POST,
            "/addons",
            Some(&random_id()),
            Some(json!({"offer": "bump"})),
        )
        .await?;
    expect_error(&a, 400, "invalid_field", "the bump as an add-on")?;
    let charges = b.charges_by_email(&o.email).await?;
    ensure(charges.len() == 1, || format!("{} charges", charges.len()))
}

/// One upsell: a second accept (another key) charges nothing; the downsell is closed.
pub async fn caps_one_upsell(b: &Backend) -> Check {
    let o = b.order(EUR, CARD_OK, false).await?;
    let first = accept(b, &o, "upsell").await?;
    ensure(
        first.status == StatusCode::OK && first.json()["status"] == "succeeded",
        || format!("first upsell: {}", first.brief()),
    )?;
    let second = accept(b, &o, "upsell").await?;
    let v = second.json();
    let refused = second.status == StatusCode::CONFLICT
        || (second.status == StatusCode::OK && v["status"] == "already_applied");
    ensure(refused, || {
        format!("a second upsell was not refused: {}", second.brief())
    })?;
    if second.status == StatusCode::OK {
        ensure(count_kind(&v["receipt"], "upsell") == 1, || {
            format!(
                "the second answer shows {} upsell charges",
                count_kind(&v["receipt"], "upsell")
            )
        })?;
    }
    let a = b
        .on_order(
            &o,
            Method::POST,
            "/addons",
            Some(&random_id()),
            Some(json!({"offer": "downsell"})),
        )
        .await?;
    expect_error(
        &a,
        409,
        "offer_closed",
        "the downsell after an accepted upsell",
    )?;
    let status = b.status(&o).await?;
    ensure(count_kind(&status["receipt"], "upsell") == 1, || {
        format!(
            "{} upsell charges",
            count_kind(&status["receipt"], "upsell")
        )
    })?;
    let charges = b.charges_by_email(&o.email).await?;
    ensure(charges.len() == 2, || format!("{} charges", charges.len()))
}

/// The downsell only after the shopper declined the upsell, and once.
pub async fn caps_downsell_after_declined_upsell(b: &Backend) -> Check {
    let o = b.order(EUR, CARD_OK, false).await?;
    let a = accept(b, &o, "downsell").await?;
    expect_error(
        &a,
        409,
        "offer_locked",
        "the downsell before the upsell was answered",
    )?;
    let a = b
        .on_order(
            &o,
            Method::POST,
            "/decline",
            None,
            Some(json!({"offer": "upsell"})),
        )
        .await?;
    ensure(
        a.status == StatusCode::OK && a.json()["next"] == "downsell",
        || format!("declining the upsell: {}", a.brief()),
    )?;
    let a = accept(b, &o, "downsell").await?;
    ensure(
        a.status == StatusCode::OK && a.json()["status"] == "succeeded",
        || format!("the downsell: {}", a.brief()),
    )?;
    let again = accept(b, &o, "downsell").await?;
    let v = again.json();
    let refused = again.status == StatusCode::CONFLICT
        || (again.status == StatusCode::OK && v["status"] == "already_applied");
    ensure(refused, || {
        format!("a second downsell was not refused: {}", again.brief())
    })?;
    let a = b
        .on_order(
            &o,
            Method::POST,
            "/addons",
            Some(&random_id()),
            Some(json!({"offer": "upsell"})),
        )
        .await?;
    ensure(a.status == StatusCode::CONFLICT, || {
        format!("the upsell after declining it: {}", a.brief())
    })?;
    let charges = b.charges_by_email(&o.email).await?;
    let downsells = charges.iter().filter(|c| c["kind"] == "downsell").count();
    ensure(charges.len() == 2 && downsells == 1, || {
        format!("{} charges, {downsells} downsells", charges.len())
    })
}

/// 3-D Secure on the order: `requires_action`, the challenge, confirm → paid; a GET reconciles,
/// while a replay answers the response as it was.
pub async fn three_ds_and_reconciliation(b: &Backend) -> Check {
    let email = format!("tds-{}@example.com", &random_id()[..12]);
    let body = json!({"offer_id": EUR, "bump": false, "buyer": {"email": email, "country": "DE"},
                      "payment_token": b.token(CARD_3DS).await?});
    let key = random_id();
    let first = b
        .send(Req::new(Method::POST, "/v1/orders").key(&key).json(&body))
        .await?;
    let v = first.json();
    ensure(v["status"] == "requires_action", || first.brief())?;
    let url = v["next_action"]["url"]
        .as_str()
        .ok_or("requires_action without next_action.url")?
        .to_string();
    let o = Order {
        id: v["order_id"].as_str().unwrap_or("").into(),
        secret: v["order_secret"].as_str().unwrap_or("").into(),
        resume_pass: String::new(),
        email: email.clone(),
        created: v.clone(),
    };
    let confirm = |target: &'static str| {
        let o = &o;
        async move {
            b.on_order(
                o,
                Method::POST,
                "/confirm",
                None,
                Some(json!({"target": target})),
            )
            .await
        }
    };
    let early = confirm("order").await?;
    ensure(early.json()["status"] == "requires_action", || {
        format!("confirm before the challenge: {}", early.brief())
    })?;
    b.answer_challenge(&url, "approve").await?;
    let done = confirm("order").await?;
    let d = done.json();
    ensure(
        d["status"] == "succeeded" && d["order_status"] == "paid",
        || format!("confirm after approval: {}", done.brief()),
    )?;
    let status = b.status(&o).await?;
    ensure(status["status"] == "paid", || format!("GET: {status}"))?;
    let replay = b
        .send(Req::new(Method::POST, "/v1/orders").key(&key).json(&body))
        .await?;
    ensure(replay.json()["status"] == "requires_action", || {
        format!(
            "a replay must answer the stored response: {}",
            replay.brief()
        )
    })?;
    // Add-on 3-D Secure.
    let o = b.order(EUR, CARD_ADDON_3DS, false).await?;
    let a = b
        .on_order(
            &o,
            Method::POST,
            "/addons",
            Some(&random_id()),
            Some(json!({"offer": "upsell"})),
        )
        .await?;
    let v = a.json();
    ensure(v["status"] == "requires_action", || {
        format!("add-on 3-D Secure: {}", a.brief())
    })?;
    let url = v["next_action"]["url"]
        .as_str()
        .ok_or("add-on requires_action without next_action.url")?
        .to_string();
    b.answer_challenge(&url, "approve").await?;
    let done = b
        .on_order(
            &o,
            Method::POST,
            "/confirm",
            None,
            Some(json!({"target": "upsell"})),
        )
        .await?;
    ensure(done.json()["status"] == "succeeded", || {
        format!("confirm the upsell: {}", done.brief())
    })?;
    let status = b.status(&o).await?;
    let r = &status["receipt"];
    let succeeded: i64 = r["charges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] == "succeeded")
        .filter_map(|c| c["amount"].as_i64())
        .sum();
    ensure(r["total"].as_i64() == Some(succeeded), || {
        format!(
            "total {} is not the succeeded charges {succeeded}",
            r["total"]
        )
    })?;
    let charges = b.charges_by_email(&o.email).await?;
    ensure(charges.len() == 2, || format!("{} charges", charges.len()))
}

/// One refund per line, of the line's charged amount, by the admin only.
pub async fn refunds(b: &Backend) -> Check {
    let o = b.order(KWD, CARD_OK, true).await?;
    let bump = o.created["receipt"]["lines"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["kind"] == "bump").cloned())
        .ok_or("no bump line")?;
    let path = format!("/v1/orders/{}/lines/bump/refund", o.id);
    let a = b
        .send(Req::new(Method::POST, &path).bearer(&o.secret))
        .await?;
    expect_error(&a, 403, "forbidden", "a refund with the order secret")?;
    let a = b
        .send(
            Req::new(Method::POST, &path)
                .bearer(&b.admin_key)
                .json(&json!({"reason": "conformance"})),
        )
        .await?;
    ensure(a.status == StatusCode::OK, || {
        format!("refund: {}", a.brief())
    })?;
    let v = a.json();
    // Exclusive tax: the line's amount plus its tax goes back.
    let charged = bump["amount"].as_i64().unwrap_or(0) + bump["tax_amount"].as_i64().unwrap_or(0);
    ensure(v["refund"]["amount"].as_i64() == Some(charged), || {
        format!(
            "refunded {} of a line charged {charged}",
            v["refund"]["amount"]
        )
    })?;
    let r = &v["receipt"];
    ensure(
        r["refunded"].as_i64() == Some(charged)
            && r["net"].as_i64() == r["total"].as_i64().map(|t| t - charged),
        || format!("receipt after the refund: {r}"),
    )?;
    let a = b
        .send(Req::new(Method::POST, &path).bearer(&b.admin_key))
        .await?;
    expect_error(&a, 409, "line_already_refunded", "a second refund")?;
    let a = b
        .send(
            Req::new(
                Method::POST,
                &format!("/v1/orders/{}/lines/upsell/refund", o.id),
            )
            .bearer(&b.admin_key),
        )
        .await?;
    expect_error(&a, 404, "line_not_found", "a line the order does not have")
}

/// Every error has one shape, unknown routes and methods included.
pub async fn error_shape(b: &Backend) -> Check {
    let shaped = |a: &Answer| {
        let v = a.json();
        v["error"]["code"].is_string() && v["error"]["message"].is_string()
    };
    let cases = [
        (
            Req::new(Method::GET, "/v1/conformance-no-such-route"),
            404,
            "not_found",
        ),
        (
            Req::new(Method::DELETE, "/v1/quotes"),
            405,
            "method_not_allowed",
        ),
        (
            Req::new(Method::POST, "/v1/quotes").raw("{\"offer_id\": "),
            400,
            "malformed_json",
        ),
        (
            Req::new(Method::POST, "/v1/quotes").raw("[1, 2]"),
            400,
            "invalid_body",
        ),
        (
            Req::new(Method::POST, "/v1/quotes")
                .content_type("text/plain")
                .raw("{}"),
            415,
            "unsupported_media_type",
        ),
    ];
    for (req, status, code) in cases {
        let what = format!("{} {}", req.method, req.path);
        let a = b.send(req).await?;
        expect_error(&a, status, code, &what)?;
        ensure(shaped(&a), || {
            format!("{what}: not the error shape: {}", a.brief())
        })?;
        ensure(
            a.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            || format!("{what}: errors are application/json"),
        )?;
    }
    Ok(())
}

/// CORS: any origin, the widget's headers allowed, `Idempotent-Replayed` exposed, no caching.
pub async fn cors(b: &Backend) -> Check {
    let origin = "https://shop.example";
    let pre = b
        .send(
            Req::new(Method::OPTIONS, "/v1/orders")
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "content-type,idempotency-key,authorization",
                ),
        )
        .await?;
    ensure(pre.status.is_success(), || {
        format!("preflight: {}", pre.status)
    })?;
    let allow_origin = pre.header("access-control-allow-origin").unwrap_or("");
    ensure(allow_origin == "*" || allow_origin == origin, || {
        format!("preflight Access-Control-Allow-Origin {allow_origin:?}")
    })?;
    let allowed = pre
        .header("access-control-allow-headers")
        .unwrap_or("")
        .to_ascii_lowercase();
    for h in ["content-type", "idempotency-key", "authorization"] {
        ensure(allowed.contains(h) || allowed.contains('*'), || {
            format!("preflight does not allow {h}: {allowed:?}")
        })?;
    }
    let a = b
        .send(Req::new(Method::GET, &format!("/v1/offers/{EUR}")).header("origin", origin))
        .await?;
    let allow_origin = a.header("access-control-allow-origin").unwrap_or("");
    ensure(allow_origin == "*" || allow_origin == origin, || {
        format!("GET Access-Control-Allow-Origin {allow_origin:?}")
    })?;
    let exposed = a
        .header("access-control-expose-headers")
        .unwrap_or("")
        .to_ascii_lowercase();
    ensure(exposed.contains("idempotent-replayed"), || {
        format!("Idempotent-Replayed not exposed: {exposed:?}")
    })?;
    ensure(a.header("cache-control") == Some("no-store"), || {
        format!("Cache-Control {:?}", a.header("cache-control"))
    })
}

/// Every answer the checks above got is one docs/openapi.yaml declares: status, headers, body.
pub async fn every_answer_matches_the_schema(b: &Backend) -> Check {
    let v = b.schema_violations();
    ensure(v.is_empty(), || {
        let shown: Vec<&str> = v.iter().take(5).map(String::as_str).collect();
        format!("{} problem(s), first:\n{}", v.len(), shown.join("\n"))
    })
}
