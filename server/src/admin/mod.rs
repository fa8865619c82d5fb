//! The creator's dashboard at `/admin` (issue 13): server-rendered HTML that works without
//! JavaScript (there is no script at all), signed in with the admin key.
//!
//! | route | what |
//! | --- | --- |
//! | `GET /admin/login`, `POST /admin/login` | sign-in form ([`auth`]) |
//! | `POST /admin/logout` | sign-out |
//! | `GET /admin` | overview per offer, date range and control arm: figures and pictures ([`overview`], [`charts`]) |
//! | `GET /admin/orders?q=` | orders, search by e-mail or order id ([`orders`]) |
//! | `POST /admin/orders/refund` | "Refund X of line Y to card …?" (the confirmation step) |
//! | `POST /admin/orders/refund/confirm` | the refund, once per confirmation |
//! | `GET /admin/costs`, `POST /admin/costs` | payment fee and support cost ([`costs`]) |
//! | `GET /admin/export/orders.csv`, `GET /admin/export/metrics.csv` | CSV downloads ([`export`]) |
//! | `GET /admin/admin.css` | the stylesheet (public: the sign-in page needs it) |
//!
//! **Security.** Every page and action needs a session ([`session`]): a `GET` without one is
//! `303` to `/admin/login`, a `POST` without one is `403`. Every `POST` must come from this origin
//! (`Origin`, else `Referer`, must name this host; `Sec-Fetch-Site`, when sent, must be
//! `same-origin`) and, except the sign-in, carry the session's CSRF token. Every answer carries
//! `Cache-Control: no-store`, `Content-Security-Policy: default-src 'none'; style-src 'self';
//! img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
//! `X-Frame-Options: DENY`, `Referrer-Policy: same-origin` (searches put e-mails in URLs, which
//! must not reach other sites; `no-referrer` would make browsers send `Origin: null` with the
//! forms) and `Cross-Origin-Resource-Policy: same-origin`. Every value on a page is HTML-escaped
//! ([`html::esc`]).

pub mod auth;
pub mod charts;
pub mod costs;
pub mod export;
pub mod html;
pub mod orders;
pub mod overview;
pub mod session;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST, LOCATION, ORIGIN, REFERER};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::{ApiError, ApiResult};
use crate::http::AppState;

use html::{esc, Nav};
use session::{Sessions, Signed};

/// The policy of every dashboard answer: no script, styles and images from this origin only.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const CSS: &str = include_str!("admin.css");

/// The dashboard's state: the API's, and the sessions.
pub struct Ctx {
    /// The API's shared state (service, rate limiter).
    pub app: Arc<AppState>,
    /// Signed-in sessions.
    pub sessions: Sessions,
}

type St = State<Arc<Ctx>>;

/// The dashboard's routes, under `/admin`.
pub fn router<S: Clone + Send + Sync + 'static>(app: Arc<AppState>) -> Router<S> {
    let ctx = Arc::new(Ctx {
        app,
        sessions: Sessions::default(),
    });
    let header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::overriding(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    Router::new()
        .route("/admin", get(overview::page))
        .route("/admin/", get(to_overview))
        .route("/admin/admin.css", get(css))
        .route("/admin/login", get(auth::form).post(auth::sign_in))
        .route("/admin/logout", get(to_overview).post(auth::sign_out))
        .route("/admin/orders", get(orders::list))
        .route("/admin/orders/refund", get(to_orders).post(orders::ask))
        .route(
            "/admin/orders/refund/confirm",
            get(to_orders).post(orders::confirm),
        )
        .route("/admin/costs", get(costs::form).post(costs::save))
        .route("/admin/export/orders.csv", get(export::orders))
        .route("/admin/export/metrics.csv", get(export::metrics))
        .route("/admin/{*rest}", any(unknown))
        .layer(header("content-security-policy", CSP))
        .layer(header("x-frame-options", "DENY"))
        .layer(header("referrer-policy", "same-origin"))
        .layer(header("cross-origin-resource-policy", "same-origin"))
        .layer(header("cross-origin-opener-policy", "same-origin"))
        .layer(SetResponseHeaderLayer::overriding(
            CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .with_state(ctx)
}

async fn css() -> Response {
    ([(CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

async fn to_overview(State(ctx): St, headers: HeaderMap) -> Response {
    match signed_in(&ctx, &headers) {
        Ok(_) => see_other("/admin"),
        Err(r) => r.into_response(),
    }
}

async fn to_orders(State(ctx): St, headers: HeaderMap) -> Response {
    match signed_in(&ctx, &headers) {
        Ok(_) => see_other("/admin/orders"),
        Err(r) => r.into_response(),
    }
}

/// Any other path under `/admin`: sign-in first, then a 404 page (POST: 403 without a session).
async fn unknown(State(ctx): St, req: Request) -> Response {
    let signed =
        if req.method() == axum::http::Method::GET || req.method() == axum::http::Method::HEAD {
            signed_in(&ctx, req.headers()).map_err(IntoResponse::into_response)
        } else {
            ctx.sessions
                .find(req.headers())
                .ok_or_else(|| forbidden("You are not signed in."))
        };
    match signed {
        Ok(s) => html_response(
            StatusCode::NOT_FOUND,
            html::page(
                "Not found",
                Nav::None,
                Some(&s.csrf),
                "<h1>Page not found</h1><p><a href=\"/admin\">Back to the overview</a></p>",
            ),
        ),
        Err(r) => r,
    }
}

// ------------------------------------------------------------------------ responses

/// An HTML page.
pub fn html_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// `303 See Other` to a path of the dashboard.
pub fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(LOCATION, v);
    }
    res
}

/// `403` with a page that says why and how to go on.
pub fn forbidden(why: &str) -> Response {
    let main = format!(
        "<h1>This request was refused</h1><p>{}</p>\
<p><a href=\"/admin\">Go to the dashboard</a> (you may need to sign in), then try again.</p>",
        esc(why)
    );
    html_response(
        StatusCode::FORBIDDEN,
        html::page("Refused", Nav::None, None, &main),
    )
}

/// A page for an error of the service.
pub fn error_page(e: &ApiError, csrf: &str) -> Response {
    let main = format!(
        "<h1>Something went wrong</h1><p role=\"alert\">{} <span class=\"muted\">({})</span></p>\
<p><a href=\"/admin\">Back to the overview</a></p>",
        esc(&e.message),
        esc(e.code)
    );
    let status = if e.status.is_client_error() || e.status.is_server_error() {
        e.status
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    html_response(status, html::page("Error", Nav::None, Some(csrf), &main))
}

/// Runs blocking service code on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        eprintln!("momentum-server: dashboard task failed: {e}");
        ApiError::internal()
    })?
}

// ------------------------------------------------------------------------ guards

/// The answer to a `GET` without a session: `303` to the sign-in page.
pub struct ToLogin;

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        see_other("/admin/login")
    }
}

/// The session of a `GET`, or [`ToLogin`].
pub fn signed_in(ctx: &Ctx, headers: &HeaderMap) -> Result<Signed, ToLogin> {
    ctx.sessions.find(headers).ok_or(ToLogin)
}

/// Whether a `POST` comes from a page of this origin: `Origin` (else `Referer`) names the host
/// the request was sent to (`Host`, or `X-Forwarded-Host` behind a proxy), and `Sec-Fetch-Site`,
/// when the browser sends it, says `same-origin`.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name: HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(site) = text(HeaderName::from_static("sec-fetch-site")) {
        if site != "same-origin" {
            return false;
        }
    }
    let authority = |url: &str| -> Option<String> {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))?;
        let host = rest.split(['/', '?', '#']).next()?;
        (!host.is_empty() && !host.contains('@')).then(|| host.to_ascii_lowercase())
    };
    let claimed = match text(ORIGIN) {
        Some(origin) => authority(origin),
        None => text(REFERER).and_then(authority),
    };
    let Some(claimed) = claimed else {
        return false;
    };
    let forwarded = headers
        .get_all("x-forwarded-host")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let host = text(HOST).map(str::to_ascii_lowercase);
    [host, forwarded]
        .into_iter()
        .flatten()
        .any(|h| h == claimed)
}

/// An `application/x-www-form-urlencoded` body.
#[derive(Debug, Default)]
pub struct Form(HashMap<String, String>);

impl Form {
    /// Parses a form body; a name sent twice keeps its first value.
    pub fn parse(body: &str) -> Form {
        let mut map = HashMap::new();
        for pair in body.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.entry(form_decode(k)).or_insert_with(|| form_decode(v));
        }
        Form(map)
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// Decodes one form component (`+` is a space, `%XX` a byte); invalid UTF-8 becomes U+FFFD.
pub fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < bytes.len()
                && hex(bytes[i + 1]).is_some()
                && hex(bytes[i + 2]).is_some() =>
            {
                out.push(
                    (hex(bytes[i + 1]).unwrap_or(0) * 16 + hex(bytes[i + 2]).unwrap_or(0)) as u8,
                );
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query string of a request as a form.
pub fn query(req_uri: &axum::http::Uri) -> Form {
    Form::parse(req_uri.query().unwrap_or(""))
}

async fn read_form(req: Request) -> Result<Form, Response> {
    match crate::body::read(req).await {
        Ok(bytes) => Ok(Form::parse(&String::from_utf8_lossy(&bytes))),
        _ => Err(html_response(
            StatusCode::BAD_REQUEST,
            html::page(
                "Bad request",
                Nav::None,
                None,
                "<h1>Bad request</h1><p>The form could not be read.</p>",
            ),
        )),
    }
}

/// A `POST` of a signed-in page: same origin, a live session, and its CSRF token in `csrf`;
/// anything less is `403`.
pub async fn posted(ctx: &Ctx, req: Request) -> Result<(Signed, Form), Response> {
    if !same_origin(req.headers()) {
        return Err(forbidden(
            "The form was not sent from this dashboard (its Origin does not match).",
        ));
    }
    let Some(signed) = ctx.sessions.find(req.headers()) else {
        return Err(forbidden(
            "You are not signed in, or your session has ended.",
        ));
    };
    let form = read_form(req).await?;
    if !Sessions::csrf_ok(&signed, form.get("csrf")) {
        return Err(forbidden(
            "The form has expired (its security token does not match this session).",
        ));
    }
    Ok((signed, form))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn origin_must_name_this_host() {
        let host = ("host", "127.0.0.1:8080");
        assert!(same_origin(&h(&[
            host,
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(same_origin(&h(&[
            host,
            ("referer", "http://127.0.0.1:8080/admin/orders?q=x")
        ])));
        assert!(!same_origin(&h(&[host, ("origin", "http://evil.example")])));
        assert!(!same_origin(&h(&[host, ("origin", "null")])));
        assert!(!same_origin(&h(&[host])));
        assert!(!same_origin(&h(&[
            host,
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(same_origin(&h(&[
            host,
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin")
        ])));
        assert!(same_origin(&h(&[
            host,
            ("x-forwarded-host", "shop.example"),
            ("origin", "https://shop.example")
        ])));
    }

    #[test]
    fn forms_decode() {
        let f = Form::parse("a=1+2&b=%3Cx%3E&a=3&c&d=%ZZ");
        assert_eq!(f.get("a"), Some("1 2"));
        assert_eq!(f.get("b"), Some("<x>"));
        assert_eq!(f.get("c"), Some(""));
        assert_eq!(f.get("d"), Some("%ZZ"));
        assert_eq!(form_decode("%E2%82%AC"), "€");
        assert_eq!(form_decode("%4"), "%4");
    }
}
