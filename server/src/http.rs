//! The HTTP layer: routes, JSON extraction with field-named errors, CORS, static files, and the
//! test gateway's tokenization endpoint and 3-D Secure challenge page.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use momentum_core::api::*;
use momentum_core::money::{Currency, Money};
use momentum_core::offer::OfferConfig;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tower_http::cors::{Any, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::admin::html::esc;
use crate::body::{self, BodyError, BODY_TIMEOUT, MAX_BODY_BYTES};
use crate::error::{ApiError, ApiResult};
use crate::json::{Document, Strict};
use crate::rate_limit::{self, RateLimiter};
use crate::service::{Reply, Service};
use crate::static_files;
use crate::test_gateway::{validate_card, TestGateway};
use crate::util::now_secs;

/// Shared state of the handlers.
pub struct AppState {
    /// The API logic.
    pub service: Arc<Service>,
    /// The test gateway (tokenization and challenge pages), when it is the gateway.
    pub test_gateway: Option<Arc<TestGateway>>,
    /// The Stripe gateway's webhook and 3-D Secure page, when Stripe is the gateway.
    pub stripe: Option<Arc<crate::stripe_http::StripeSite>>,
    /// Request budgets per client and per order.
    pub rate_limiter: Arc<RateLimiter>,
}

type St = State<Arc<AppState>>;

/// Runs blocking service code on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        eprintln!("momentum-server: request task failed: {e}");
        ApiError::internal()
    })?
}

pub(crate) fn json_response<T: Serialize>(status: StatusCode, v: &T) -> Response {
    match serde_json::to_vec(v) {
        Ok(body) => (
            status,
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            body,
        )
            .into_response(),
        Err(_) => ApiError::internal().into_response(),
    }
}

fn reply(r: Reply) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    let mut res = (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        r.body,
    )
        .into_response();
    if r.replayed {
        res.headers_mut().insert(
            HeaderName::from_static(REPLAYED_HEADER),
            HeaderValue::from_static("true"),
        );
    }
    res
}

pub(crate) fn result<T: Serialize>(r: ApiResult<T>) -> Response {
    match r {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => e.into_response(),
    }
}

// ------------------------------------------------------------------------ extractors

/// Strips serde_json's " at line L column C" suffix.
fn clean(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn backticked(msg: &str) -> Option<&str> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    Some(&msg[start..start + len])
}

/// Parses a JSON body into `T`, naming the field of any error. Strictly (see [`crate::json`]): a
/// struct only from an object, an enum only from a string, no key twice.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let Document(document) = serde_path_to_error::deserialize(&mut de).map_err(path_error)?;
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {}", clean(&e.to_string())),
        )
    })?;
    serde_path_to_error::deserialize(Strict(document)).map_err(path_error)
}

/// A JSON syntax error, or a data error named by its field path (`variants[1].upsell_price`).
fn path_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.inner();
    let msg = clean(&inner.to_string());
    if !inner.is_data() {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {msg}"),
        );
    }
    // serde_path_to_error already ends the path with an unknown field's name; a missing or
    // duplicate field's path ends at its parent.
    let join = |name: &str| {
        if path == "." || path == name {
            name.to_string()
        } else if path.ends_with(&format!(".{name}")) {
            path.clone()
        } else {
            format!("{path}.{name}")
        }
    };
    let named = |code: &'static str| {
        let name = backticked(&msg).unwrap_or("?");
        ApiError::field(code, join(name), msg.clone())
    };
    if msg.starts_with("unknown field") {
        named("unknown_field")
    } else if msg.starts_with("missing field") {
        named("missing_field")
    } else if msg.starts_with("duplicate field") {
        named("invalid_field")
    } else if path == "." {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", msg)
    } else {
        ApiError::field("invalid_field", path, msg)
    }
}

/// Parses a request body, which must be a JSON object.
pub fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | None => parse_json(bytes),
        Some(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "the body must be a JSON object",
        )),
    }
}

/// A JSON body with the API's error shape for every rejection.
pub struct ApiJson<T>(pub T);

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false)
}

pub(crate) async fn body_bytes(req: Request) -> ApiResult<Bytes> {
    body::read(req).await.map_err(|e| match e {
        BodyError::TooLarge => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body must be at most {MAX_BODY_BYTES} bytes"),
        ),
        BodyError::TimedOut => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the body did not arrive within {} s",
                BODY_TIMEOUT.as_secs()
            ),
        ),
        BodyError::Unreadable => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "the body could not be read",
        ),
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send Content-Type: application/json",
            ));
        }
        let bytes = body_bytes(req).await?;
        parse_object(&bytes).map(ApiJson)
    }
}

/// Path parameters, with a JSON 404 for anything undecodable.
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| PathParams(t))
            .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource"))
    }
}

/// `Authorization: Bearer <token>`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// The `Idempotency-Key` header, if sent (the service says whether it is required and valid).
/// Sent twice, it is refused: which one would the key be?
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut values = parts.headers.get_all(IDEMPOTENCY_HEADER).iter();
        let first = values.next();
        if values.next().is_some() {
            return Err(ApiError::field(
                "idempotency_key_invalid",
                "Idempotency-Key",
                "send the Idempotency-Key header once",
            ));
        }
        Ok(IdempotencyKey(first.map(|v| {
            String::from_utf8_lossy(v.as_bytes()).into_owned()
        })))
    }
}

/// A creator call authenticated by the admin key, checked before the body is read: without the
/// key the answer is 401/403 whatever the body, so the validator is no oracle for strangers.
pub struct Admin;

impl FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        state
            .service
            .require_admin(bearer(&parts.headers).as_deref())
            .map(|()| Admin)
    }
}

// ------------------------------------------------------------------------ handlers

async fn health() -> Response {
    json_response(StatusCode::OK, &serde_json::json!({"status": "ok"}))
}

async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this resource",
    )
    .into_response()
}

async fn get_offer(State(s): St, PathParams(id): PathParams<String>) -> Response {
    result(blocking(move || s.service.offer(&id)).await)
}

/// `?country=XX` and nothing else: a typo in the query is an error, not a silent default.
async fn checkout_start(
    State(s): St,
    PathParams(id): PathParams<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    if let Some(name) = query.keys().find(|name| *name != "country") {
        let message = format!("unknown query parameter `{name}` (only `country` is read)");
        return ApiError::field("unknown_field", name.clone(), message).into_response();
    }
    let Some(country) = query.get("country").cloned() else {
        let message = "missing query parameter `country` (ISO 3166-1 alpha-2, e.g. DE)";
        return ApiError::field("missing_field", "country", message).into_response();
    };
    result(blocking(move || s.service.checkout_start(&id, &country)).await)
}

async fn put_offer(
    State(s): St,
    PathParams(id): PathParams<String>,
    _: Admin,
    headers: HeaderMap,
    ApiJson(offer): ApiJson<OfferConfig>,
) -> Response {
    let auth = bearer(&headers);
    result(blocking(move || s.service.put_offer(&id, auth.as_deref(), offer)).await)
}

async fn quote(State(s): St, ApiJson(req): ApiJson<QuoteRequest>) -> Response {
    result(blocking(move || s.service.quote(&req)).await)
}

async fn create_order(
    State(s): St,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(req): ApiJson<CreateOrderRequest>,
) -> Response {
    match blocking(move || s.service.create_order(key.as_deref(), &req)).await {
        Ok(r) => reply(r),
        Err(e) => e.into_response(),
    }
}

async fn get_order(
    State(s): St,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
) -> Response {
    let auth = bearer(&headers);
    result(blocking(move || s.service.order(&id, auth.as_deref())).await)
}

async fn admin_orders(
    State(s): St,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let auth = bearer(&headers);
    let email = query.get("email").cloned().unwrap_or_default();
    result(blocking(move || s.service.orders_by_email(&email, auth.as_deref())).await)
}

async fn addon(
    State(s): St,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(req): ApiJson<AddonRequest>,
) -> Response {
    let auth = bearer(&headers);
    match blocking(move || s.service.addon(&id, auth.as_deref(), key.as_deref(), &req)).await {
        Ok(r) => reply(r),
        Err(e) => e.into_response(),
    }
}

async fn decline(
    State(s): St,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<DeclineOfferRequest>,
) -> Response {
    let auth = bearer(&headers);
    result(blocking(move || s.service.decline(&id, auth.as_deref(), &req)).await)
}

async fn confirm(
    State(s): St,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ConfirmRequest>,
) -> Response {
    let auth = bearer(&headers);
    result(blocking(move || s.service.confirm(&id, auth.as_deref(), &req)).await)
}

/// The shopper abandoned a 3-D Secure check; the body has confirm's shape (`{"target": …}`).
async fn cancel(
    State(s): St,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ConfirmRequest>,
) -> Response {
    let auth = bearer(&headers);
    result(blocking(move || s.service.cancel(&id, auth.as_deref(), &req)).await)
}

async fn refund(
    State(s): St,
    PathParams((id, line)): PathParams<(String, String)>,
    _: Admin,
    req: Request,
) -> Response {
    let headers = req.headers().clone();
    let auth = bearer(&headers);
    let bytes = match body_bytes(req).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let body: RefundRequest = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        RefundRequest::default()
    } else if !is_json(&headers) {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send Content-Type: application/json",
        )
        .into_response();
    } else {
        match parse_object(&bytes) {
            Ok(b) => b,
            Err(e) => return e.into_response(),
        }
    };
    result(blocking(move || s.service.refund(&id, &line, auth.as_deref(), &body)).await)
}

/// The test gateway's endpoints answer 404 when another gateway takes the payments.
fn no_test_gateway() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "the test gateway is off (the server runs with --gateway stripe)",
    )
}

async fn tokens(State(s): St, ApiJson(req): ApiJson<TokenRequest>) -> Response {
    result(
        blocking(move || {
            let card = validate_card(
                &req.number,
                req.exp_month,
                req.exp_year,
                req.cvc.as_deref(),
                now_secs(),
            )
            .map_err(|e| ApiError::field(e.code, e.field, e.message))?;
            let token = s
                .test_gateway
                .as_ref()
                .ok_or_else(no_test_gateway)?
                .tokenize(&card)
                .map_err(ApiError::storage)?;
            Ok(TokenResponse {
                token,
                card: CardSummary {
                    brand: card.brand.to_string(),
                    last4: card.last4,
                },
            })
        })
        .await,
    )
}

// ------------------------------------------------------------------------ 3-D Secure challenge page

const CHALLENGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors *";

const CHALLENGE_JS: &str = r#"// Tells the checkout that opened this challenge how it ended; the checkout then calls
// POST /v1/orders/{id}/confirm, which asks the gateway (the message itself proves nothing).
(function () {
  "use strict";
  var el = document.getElementById("momentum-3ds-result");
  if (!el) return;
  var msg = { type: "momentum:3ds", challenge: el.getAttribute("data-challenge"), outcome: el.getAttribute("data-outcome") };
  if (window.opener && !window.opener.closed) {
    window.opener.postMessage(msg, "*");
    setTimeout(function () { window.close(); }, 400);
  } else if (window.parent && window.parent !== window) {
    window.parent.postMessage(msg, "*");
  }
})();
"#;

const CHALLENGE_CSS: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}\
h1{font-size:1.25rem}dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem}\
button{font:inherit;padding:.6rem 1.2rem;margin:.5rem .5rem 0 0;border-radius:.4rem;border:2px solid #1a1a1a;cursor:pointer}\
button.approve{background:#1a1a1a;color:#fff}button:focus-visible{outline:3px solid #2563eb;outline-offset:2px}\n";

fn html(status: StatusCode, body: String) -> Response {
    let mut res = (
        status,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    res.headers_mut().insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(CHALLENGE_CSP),
    );
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn page(title: &str, main: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t}</title><link rel=\"stylesheet\" href=\"/test-gateway/challenge.css\"></head>\
<body><main>{main}</main><script src=\"/test-gateway/challenge.js\" defer></script></body></html>\n",
        t = esc(title)
    )
}

fn challenge_page(v: &crate::test_gateway::ChallengeView) -> Response {
    let amount = Currency::from_code(&v.currency)
        .map(|c| {
            format!(
                "{} {}",
                Money::new(v.amount, c).to_decimal_string(),
                c.code()
            )
        })
        .unwrap_or_else(|_| v.amount.to_string());
    if v.state != "pending" {
        let (word, outcome) = match v.state.as_str() {
            "approved" => ("approved", "approved"),
            "canceled" => ("canceled", "failed"),
            _ => ("failed", "failed"),
        };
        let main = format!(
            "<h1>Authentication {word}</h1><p id=\"momentum-3ds-result\" data-challenge=\"{id}\" data-outcome=\"{outcome}\" role=\"status\">\
You can close this window and return to the checkout.</p>",
            id = esc(&v.id)
        );
        return html(
            StatusCode::OK,
            page(&format!("Authentication {word}"), &main),
        );
    }
    let main = format!(
        "<h1>Confirm your payment</h1><p>Test mode: this page stands in for your bank's 3-D Secure check.</p>\
<dl><dt>Amount</dt><dd>{amount}</dd><dt>Card</dt><dd>•••• {last4}</dd></dl>\
<form method=\"post\" action=\"/test-gateway/challenge/{id}\">\
<button class=\"approve\" type=\"submit\" name=\"outcome\" value=\"approve\">Approve payment</button>\
<button type=\"submit\" name=\"outcome\" value=\"fail\">Fail authentication</button></form>",
        amount = esc(&amount),
        last4 = esc(&v.last4),
        id = esc(&v.id)
    );
    html(StatusCode::OK, page("Confirm your payment", &main))
}

fn challenge_missing() -> Response {
    html(
        StatusCode::NOT_FOUND,
        page(
            "Challenge not found",
            "<h1>Challenge not found</h1><p>This authentication link is not valid.</p>",
        ),
    )
}

async fn challenge_get(State(s): St, PathParams(id): PathParams<String>) -> Response {
    let Some(gw) = s.test_gateway.clone() else {
        return challenge_missing();
    };
    match tokio::task::spawn_blocking(move || gw.challenge(&id)).await {
        Ok(Ok(v)) => challenge_page(&v),
        _ => challenge_missing(),
    }
}

async fn challenge_post(
    State(s): St,
    PathParams(id): PathParams<String>,
    req: Request,
) -> Response {
    let Ok(body) = body_bytes(req).await else {
        return html(
            StatusCode::BAD_REQUEST,
            page(
                "Bad request",
                "<h1>Bad request</h1><p>The form could not be read.</p>",
            ),
        );
    };
    let form = String::from_utf8_lossy(&body);
    let approve = match form.split('&').find_map(|kv| kv.strip_prefix("outcome=")) {
        Some("approve") => true,
        Some("fail") => false,
        _ => {
            return html(
                StatusCode::BAD_REQUEST,
                page(
                    "Bad request",
                    "<h1>Bad request</h1><p>Choose approve or fail.</p>",
                ),
            )
        }
    };
    let Some(gw) = s.test_gateway.clone() else {
        return challenge_missing();
    };
    match tokio::task::spawn_blocking(move || gw.answer_challenge(&id, approve)).await {
        Ok(Ok(v)) => challenge_page(&v),
        _ => challenge_missing(),
    }
}

async fn challenge_js() -> Response {
    (
        [(CONTENT_TYPE, "text/javascript; charset=utf-8")],
        CHALLENGE_JS,
    )
        .into_response()
}

/// The test gateway's card fields and tokenizer, for host pages in test mode (what a provider's
/// own script is to a live checkout).
async fn test_card_js() -> Response {
    (
        [(CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../assets/test-card.js"),
    )
        .into_response()
}

async fn challenge_css() -> Response {
    ([(CONTENT_TYPE, "text/css; charset=utf-8")], CHALLENGE_CSS).into_response()
}

// ------------------------------------------------------------------------ router

/// The whole application: API, test gateway, health, static files.
pub fn router(state: Arc<AppState>, static_dir: Option<PathBuf>) -> Router {
    let api = Router::new()
        .route("/v1/offers/{offer_id}", get(get_offer).put(put_offer))
        .route("/v1/offers/{offer_id}/checkout", get(checkout_start))
        .route("/v1/quotes", post(quote))
        .route("/v1/orders", post(create_order))
        .route("/v1/orders/{order_id}", get(get_order))
        .route("/v1/admin/orders", get(admin_orders))
        .route("/v1/orders/{order_id}/addons", post(addon))
        .route("/v1/orders/{order_id}/decline", post(decline))
        .route("/v1/orders/{order_id}/confirm", post(confirm))
        .route("/v1/orders/{order_id}/cancel", post(cancel))
        .route("/v1/orders/{order_id}/lines/{line_id}/refund", post(refund))
        .route("/v1/test-gateway/tokens", post(tokens))
        .merge(crate::insights::routes::routes())
        .layer(SetResponseHeaderLayer::overriding(
            CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let app = Router::new()
        .route("/healthz", get(health))
        .route("/test-gateway/challenge.js", get(challenge_js))
        .route("/test-gateway/test-card.js", get(test_card_js))
        .route("/test-gateway/challenge.css", get(challenge_css))
        .route(
            "/test-gateway/challenge/{challenge_id}",
            get(challenge_get).post(challenge_post),
        )
        .merge(api)
        .merge(crate::admin::router(state.clone()));
    let app = match &state.stripe {
        Some(site) => app.merge(crate::stripe_http::routes(site.clone())),
        None => app,
    };
    let app = app.method_not_allowed_fallback(method_not_allowed);
    let app = match static_dir {
        Some(dir) => app.fallback_service(static_files::router(dir, not_found)),
        None => app.fallback(not_found),
    };
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::OPTIONS])
        .allow_headers([
            CONTENT_TYPE,
            axum::http::header::AUTHORIZATION,
            HeaderName::from_static(IDEMPOTENCY_HEADER),
        ])
        .expose_headers([HeaderName::from_static(REPLAYED_HEADER)])
        .max_age(Duration::from_secs(600));
    let limiter = state.rate_limiter.clone();
    // Bodies are read by `body::read`; this only bounds an extractor that would read one itself.
    app.layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Inside CORS, so that a browser can read a 429.
        .layer(axum::middleware::from_fn_with_state(
            limiter,
            rate_limit::guard,
        ))
        .layer(cors)
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("cross-origin"),
        ))
        // Everything that sets no cache policy of its own (static files and challenge pages do)
        // is not to be stored: 404s, 405s, rejections and 429s included.
        .layer(SetResponseHeaderLayer::if_not_present(
            CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .with_state(state)
}
