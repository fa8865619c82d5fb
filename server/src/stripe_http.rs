//! The Stripe gateway's HTTP surface: the webhook endpoint and the 3-D Secure page that the
//! widget's challenge dialog opens (Stripe.js runs the bank's check there, then the page posts the
//! widget's `momentum:3ds` message, exactly like the test gateway's challenge page).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::admin::html::esc;
use crate::error::ApiError;
use crate::stripe_webhook::{Handled, StripeWebhooks};
use crate::util::now_secs;

/// What the Stripe routes need.
pub struct StripeSite {
    /// Publishable key (`pk_…`) for Stripe.js on the 3-D Secure page.
    pub publishable_key: String,
    /// Where Stripe.js is loaded from.
    pub js_url: String,
    /// Stripe's API origin (Stripe.js talks to it).
    pub api_base: String,
    /// Our public base URL (the widget bundle and API, in the example page).
    pub public_url: String,
    /// The webhook endpoint, when `STRIPE_WEBHOOK_SECRET` is set.
    pub webhooks: Option<StripeWebhooks>,
}

/// The example host page (the README's recipe), served at [`EXAMPLE_PATH`].
pub const EXAMPLE_PATH: &str = "/stripe/example.html";

const EXAMPLE_HTML: &str = include_str!("../assets/stripe-example.html");

impl StripeSite {
    /// The Content-Security-Policy a host page with Stripe Elements and the widget sends: Stripe.js
    /// and the widget's bundle (WebAssembly), the two APIs, Stripe's frames and the Momentum
    /// backend's 3-D Secure page (the widget's challenge dialog frames it); inline scripts only
    /// with the page's nonce, no inline styles.
    pub fn host_csp(&self, nonce: &str) -> String {
        let momentum = origin(&self.public_url);
        let js = origin(&self.js_url);
        let api = origin(&self.api_base);
        [
            "default-src 'self'".to_string(),
            format!("script-src 'self' {js} https://*.js.stripe.com {momentum} 'nonce-{nonce}' 'wasm-unsafe-eval'"),
            format!("connect-src 'self' {momentum} {api}"),
            format!("frame-src {js} https://*.js.stripe.com https://hooks.stripe.com {momentum}"),
            "style-src 'self'".to_string(),
            "img-src 'self' https://*.stripe.com".to_string(),
            "base-uri 'none'".to_string(),
            "object-src 'none'".to_string(),
        ]
        .join("; ")
    }
}

type Site = State<Arc<StripeSite>>;

/// `scheme://host[:port]` of a URL (for CSP source lists).
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// The routes, for any router state.
pub fn routes<S: Clone + Send + Sync + 'static>(site: Arc<StripeSite>) -> Router<S> {
    Router::new()
        .route("/v1/webhooks/stripe", post(webhook))
        // Literal paths: server/tests/contract.rs reads them to check docs/openapi.yaml covers them.
        .route("/stripe/authenticate", get(authenticate_page))
        .route("/stripe/authenticate.js", get(authenticate_js))
        .route("/stripe/example.html", get(example_page))
        .with_state(site)
}

async fn webhook(State(site): Site, req: Request) -> Response {
    let signature = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match crate::http::body_bytes(req).await {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    let answer = tokio::task::spawn_blocking(move || match &site.webhooks {
        Some(w) => w.receive(signature.as_deref(), &body, now_secs()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Stripe webhooks are not configured (set STRIPE_WEBHOOK_SECRET)",
        )),
    })
    .await;
    let mut res = match answer {
        Ok(Ok(handled)) => {
            let word = match handled {
                Handled::Applied => "applied",
                Handled::Duplicate => "duplicate",
                Handled::Ignored => "ignored",
            };
            (
                StatusCode::OK,
                Json(serde_json::json!({"received": true, "result": word})),
            )
                .into_response()
        }
        Ok(Err(e)) => e.into_response(),
        Err(_) => ApiError::internal().into_response(),
    };
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

const AUTHENTICATE_JS: &str = r#"// Runs the bank's 3-D Secure check for the PaymentIntent whose client secret is in this page's
// URL fragment (never sent to a server), through Stripe.js, then tells the checkout how it
// ended. The checkout then calls POST /v1/orders/{id}/confirm, which asks Stripe: the message
// itself proves nothing.
(function () {
  "use strict";
  var me = document.currentScript;
  var status = document.getElementById("momentum-3ds-status");
  var secret = decodeURIComponent(location.hash.slice(1));
  function tell(outcome, text) {
    status.textContent = text;
    status.setAttribute("data-outcome", outcome);
    var msg = { type: "momentum:3ds", challenge: secret.split("_secret_")[0], outcome: outcome };
    if (window.opener && !window.opener.closed) {
      window.opener.postMessage(msg, "*");
      setTimeout(function () { window.close(); }, 400);
    } else if (window.parent && window.parent !== window) {
      window.parent.postMessage(msg, "*");
    }
  }
  if (!/^pi_[A-Za-z0-9]+_secret_[A-Za-z0-9]+$/.test(secret) || typeof Stripe !== "function") {
    status.textContent = "This authentication link is not valid.";
    return;
  }
  // handleNextAction is Stripe's call for a PaymentIntent confirmed on the server; Stripe.js
  // versions (and fakes) without it do the same with confirmCardPayment.
  var stripe = Stripe(me.getAttribute("data-key"));
  var next = typeof stripe.handleNextAction === "function"
    ? stripe.handleNextAction({ clientSecret: secret })
    : stripe.confirmCardPayment(secret);
  next.then(function (result) {
    var intent = result && result.paymentIntent;
    if (intent && (intent.status === "succeeded" || intent.status === "processing")) {
      tell("approved", "Authentication approved. You can return to the checkout.");
    } else {
      tell("failed", "Authentication failed. You can return to the checkout.");
    }
  }, function () {
    tell("failed", "Authentication failed. You can return to the checkout.");
  });
})();
"#;

async fn authenticate_page(State(site): Site) -> Response {
    let js_origin = origin(&site.js_url);
    let api_origin = origin(&site.api_base);
    // Stripe.js from its origin (and its subdomains), its API, and the bank's frames via
    // hooks.stripe.com; nothing inline.
    let csp = format!(
        "default-src 'none'; script-src 'self' {js_origin} https://*.js.stripe.com; \
         connect-src {api_origin}; frame-src {js_origin} https://*.js.stripe.com https://hooks.stripe.com; \
         img-src https://*.stripe.com; base-uri 'none'; form-action 'none'; frame-ancestors *"
    );
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Confirm your payment</title></head>\
<body><main><h1>Confirm your payment</h1><p id=\"momentum-3ds-status\" role=\"status\">Contacting your bank…</p></main>\
<script src=\"{js}\"></script><script src=\"/stripe/authenticate.js\" data-key=\"{key}\"></script></body></html>\n",
        js = esc(&site.js_url),
        key = esc(&site.publishable_key),
    );
    let mut res = (
        StatusCode::OK,
        [(CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut()
            .insert(HeaderName::from_static("content-security-policy"), v);
    }
    // The fragment holds the secret: no referrer can carry the URL anywhere.
    res.headers_mut().insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The recipe as a working page, under the policy it documents.
async fn example_page(State(site): Site) -> Response {
    let Ok(nonce) = crate::util::random_id("") else {
        return ApiError::internal().into_response();
    };
    let body = EXAMPLE_HTML
        .replace("{{NONCE}}", &nonce)
        .replace("{{STRIPE_JS}}", &esc(&site.js_url))
        .replace("{{STRIPE_KEY}}", &esc(&site.publishable_key))
        .replace(
            "{{BUNDLE}}",
            &esc(&format!("{}/momentum.js", site.public_url)),
        )
        .replace("{{API}}", &esc(&site.public_url));
    let mut res = (
        StatusCode::OK,
        [(CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&site.host_csp(&nonce)) {
        res.headers_mut()
            .insert(HeaderName::from_static("content-security-policy"), v);
    }
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn authenticate_js() -> Response {
    (
        [(CONTENT_TYPE, "text/javascript; charset=utf-8")],
        AUTHENTICATE_JS,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn origins_drop_the_path() {
        assert_eq!(
            super::origin("https://js.stripe.com/v3/"),
            "https://js.stripe.com"
        );
        assert_eq!(
            super::origin("http://127.0.0.1:18350/js.stripe.com/v3/"),
            "http://127.0.0.1:18350"
        );
        assert_eq!(
            super::origin("https://api.stripe.com"),
            "https://api.stripe.com"
        );
    }
}
