//! The widget's only way to the creator's backend: JSON over `fetch`, with a timeout, errors that
//! say what failed, and (for payments, in later calls) an `Idempotency-Key` per logical attempt.

use js_sys::Promise;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, RequestInit, Response};

use crate::js;

/// How long a read may take before the widget gives up and says so.
const READ_TIMEOUT_MS: u32 = 10_000;

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

impl ApiError {
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

/// `GET url` → parsed JSON body.
pub async fn get_json(url: &str) -> Result<JsValue, ApiError> {
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_signal(Some(&AbortSignal::timeout_with_u32(READ_TIMEOUT_MS)));
    let window = web_sys::window().ok_or(ApiError::Network)?;
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
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

async fn json_body(response: &Response) -> Option<JsValue> {
    let promise: Promise = response.json().ok()?;
    JsFuture::from(promise).await.ok()
}
