//! The widget's only way to the creator's backend: JSON over `fetch`, with a timeout, errors that
//! say what failed, and (for payments, in later calls) an `Idempotency-Key` per logical attempt.

use js_sys::Promise;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, RequestInit, Response};

use crate::js;

/// How long a call may take before the widget stops waiting. A payment call that times out is not
/// "failed": its outcome is unknown and gets reconciled with the same Idempotency-Key.
const TIMEOUT_MS: u32 = 15_000;

/// Why a call did not produce the JSON the widget expected.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// No response: offline, DNS, CORS, or the timeout.
    Network,
    /// The backend answered with an error (its stable `error.code` and message when it sent one).
    Status {
        status: u16,
        code: String,
        message: String,
    },
    /// A 2xx whose body was not JSON.
    Malformed,
}

/// Serializes a JS object built with [`js::object`] for [`Call::body`].
pub fn json(value: &js_sys::Object) -> String {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

impl ApiError {
    /// Whether the outcome of a payment call is unknown (no answer, a server fault, or a charge
    /// still running: the first request with this key, or the add-on's charge), as opposed to a
    /// definite refusal such as `409 offer_closed`.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            ApiError::Network | ApiError::Malformed => true,
            ApiError::Status { status, code, .. } => {
                *status >= 500
                    || matches!(
                        code.as_str(),
                        "idempotency_key_in_use" | "addon_in_progress"
                    )
            }
        }
    }

    pub fn code(&self) -> &str {
        match self {
            ApiError::Network => "network",
            ApiError::Status { code, .. } => code,
            ApiError::Malformed => "malformed_response",
        }
    }

    pub fn message(&self) -> String {
        match self {
            ApiError::Network => "The checkout server could not be reached.".into(),
            ApiError::Status { message, .. } => message.clone(),
            ApiError::Malformed => {
                "The checkout server sent a response the widget can't read.".into()
            }
        }
    }
}

/// One call to the creator's backend.
pub struct Call<'a> {
    pub url: &'a str,
    /// A JSON body (already serialized, so retries send it byte for byte); `None` makes a GET.
    pub body: Option<&'a str>,
    /// The attempt's `Idempotency-Key`.
    pub key: Option<&'a str>,
    /// The order's secret, for calls about one order.
    pub bearer: Option<&'a str>,
}

/// `GET url` → parsed JSON body.
pub async fn get_json(url: &str) -> Result<JsValue, ApiError> {
    send(Call {
        url,
        body: None,
        key: None,
        bearer: None,
    })
    .await
}

/// Sends `call` → the parsed JSON body of a 2xx answer.
pub async fn send(call: Call<'_>) -> Result<JsValue, ApiError> {
    receive(start(call)?).await
}

/// Sends `call` now (`fetch`'s promise), to read with [`receive`] later.
pub fn start(call: Call<'_>) -> Result<Promise, ApiError> {
    let init = RequestInit::new();
    let headers = Headers::new().map_err(|_| ApiError::Network)?;
    if let Some(body) = call.body {
        init.set_method("POST");
        init.set_body(&body.into());
        let _ = headers.set("content-type", "application/json");
    }
    if let Some(key) = call.key {
        let _ = headers.set("idempotency-key", key);
    }
    if let Some(secret) = call.bearer {
        let _ = headers.set("authorization", &["Bearer ", secret].concat());
    }
    init.set_headers(&headers);
    init.set_signal(Some(&AbortSignal::timeout_with_u32(TIMEOUT_MS)));
    let window = web_sys::window().ok_or(ApiError::Network)?;
    Ok(window.fetch_with_str_and_init(call.url, &init))
}

/// The parsed JSON body of a 2xx answer to a request already on its way: `fetch`'s promise, from
/// [`send`] or from the loader, which asks for the offer while the wasm downloads.
pub async fn receive(request: Promise) -> Result<JsValue, ApiError> {
    let response: Response = JsFuture::from(request)
        .await
        .map_err(|_| ApiError::Network)?
        .dyn_into()
        .map_err(|_| ApiError::Network)?;
    let body = json_body(&response).await;
    if response.ok() {
        return body.ok_or(ApiError::Malformed);
    }
    let error = body
        .map(|b| js::get(&b, "error"))
        .unwrap_or(JsValue::UNDEFINED);
    Err(ApiError::Status {
        status: response.status(),
        code: js::get_string(&error, "code").unwrap_or_else(|| "http_error".into()),
        message: js::get_string(&error, "message").unwrap_or_else(|| {
            [
                "The checkout server answered ",
                &response.status().to_string(),
                ".",
            ]
            .concat()
        }),
    })
}

/// Posts `body` and forgets it: `keepalive`, so it is delivered even while the tab closes, and a
/// CORS-simple request (`text/plain`, no custom header), so it needs no preflight, which a closing
/// tab would not wait for. For reports nobody waits on (funnel events).
pub fn send_and_forget(url: &str, body: &str) {
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&body.into());
    // web-sys has no setter for it; RequestInit is a plain dictionary.
    js::set(&init, "keepalive", true.into());
    if let Ok(headers) = Headers::new() {
        let _ = headers.set("content-type", "text/plain;charset=UTF-8");
        init.set_headers(&headers);
    }
    if let Some(window) = web_sys::window() {
        // The promise rejects when offline; nothing waits on it, so nothing is lost but the report.
        let _ = window.fetch_with_str_and_init(url, &init);
    }
}

async fn json_body(response: &Response) -> Option<JsValue> {
    let promise: Promise = response.json().ok()?;
    JsFuture::from(promise).await.ok()
}
