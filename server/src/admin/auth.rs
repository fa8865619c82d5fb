//! Sign-in and sign-out (see [`super::session`] for the session rules).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use super::html::{self, esc, Nav};
use super::session::{self, is_https};
use super::{forbidden, html_response, posted, read_form, same_origin, see_other, Ctx};

type St = State<Arc<Ctx>>;

fn login_page(status: StatusCode, error: Option<&str>) -> Response {
    let (invalid, described, message) = match error {
        Some(e) => (
            " aria-invalid=\"true\"",
            " aria-describedby=\"key-hint key-error\"",
            format!("<p id=\"key-error\" class=\"error\">{}</p>", esc(e)),
        ),
        None => ("", " aria-describedby=\"key-hint\"", String::new()),
    };
    let main = format!(
        "<h1>Sign in to your dashboard</h1>\
<form class=\"panel stack\" method=\"post\" action=\"/admin/login\">\
<div class=\"field\"><label for=\"key\">Admin key</label>\
<p id=\"key-hint\" class=\"hint\">The key the server was started with (<code>--admin-key</code> or <code>MOMENTUM_ADMIN_KEY</code>).</p>\
{message}<input id=\"key\" name=\"key\" type=\"password\" autocomplete=\"current-password\" required{invalid}{described}></div>\
<button type=\"submit\">Sign in</button></form>"
    );
    html_response(status, html::page("Sign in", Nav::None, None, &main))
}

/// `GET /admin/login`: the form (or the overview, when already signed in).
pub async fn form(State(ctx): St, headers: HeaderMap) -> Response {
    if ctx.sessions.find(&headers).is_some() {
        return see_other("/admin");
    }
    login_page(StatusCode::OK, None)
}

/// `POST /admin/login`: checks the key (constant time, rate limited), starts a session.
pub async fn sign_in(State(ctx): St, req: Request) -> Response {
    if !same_origin(req.headers()) {
        return forbidden("The form was not sent from this dashboard (its Origin does not match).");
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| *a);
    let limiter = ctx.app.rate_limiter.clone();
    let client = limiter.client_of(req.headers(), peer);
    if let Err(wait) = limiter.admin_attempt(client) {
        let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        let mut res = login_page(
            StatusCode::TOO_MANY_REQUESTS,
            Some(&format!(
                "Too many wrong keys from your address. Try again in {secs} seconds."
            )),
        );
        res.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
        return res;
    }
    let headers = req.headers().clone();
    let form = match read_form(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let key = form.get("key").unwrap_or("").to_string();
    if ctx.app.service.require_admin(Some(&key)).is_err() {
        limiter.admin_failed(client);
        return login_page(StatusCode::UNAUTHORIZED, Some("That is not the admin key."));
    }
    // A new id on every sign-in: a session id planted before it is worth nothing.
    if let Some(old) = ctx.sessions.find(&headers) {
        ctx.sessions.remove(&old.id_hash);
    }
    let id = match ctx.sessions.create(&key) {
        Ok(id) => id,
        Err(e) => {
            eprintln!("momentum-server: no randomness for a session id: {e}");
            return html_response(
                StatusCode::SERVICE_UNAVAILABLE,
                html::page(
                    "Unavailable",
                    Nav::None,
                    None,
                    "<h1>Sign-in is unavailable</h1><p>Try again in a moment.</p>",
                ),
            );
        }
    };
    let mut res = see_other("/admin");
    session::with_cookie(
        res.headers_mut(),
        session::set_cookie(&id, is_https(&headers)),
    );
    res
}

/// `POST /admin/logout`: ends the session and deletes the cookie.
pub async fn sign_out(State(ctx): St, req: Request) -> Response {
    let secure = is_https(req.headers());
    let (signed, _) = match posted(&ctx, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    ctx.sessions.remove(&signed.id_hash);
    let mut res = see_other("/admin/login");
    session::with_cookie(res.headers_mut(), session::clear_cookie(secure));
    res
}
