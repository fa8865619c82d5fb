//! The one error shape of the API: `{"error": {"code", "message", "field"?}}` with a stable code.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use momentum_core::api::{ErrorBody, ErrorResponse, QuoteResponse};
use momentum_core::offer::FieldError;

/// An API error: HTTP status, stable code, message, optional field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code (see `docs/api.md`).
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
    /// Field path, for validation errors.
    pub field: Option<String>,
    /// The current quote, for `price_changed`.
    pub quote: Option<Box<QuoteResponse>>,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            quote: None,
        }
    }

    /// A 400 naming `field`.
    pub fn field(
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
            field: Some(field.into()),
            quote: None,
        }
    }

    /// Attaches the current quote (for `price_changed`).
    pub fn with_quote(mut self, quote: QuoteResponse) -> ApiError {
        self.quote = Some(Box::new(quote));
        self
    }

    /// Sets the field.
    pub fn with_field(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    /// 404 `order_not_found`.
    pub fn order_not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "order_not_found", "no such order")
    }

    /// 503 for a storage failure (transient; nothing was half-written).
    pub fn storage(e: impl std::fmt::Display) -> ApiError {
        eprintln!("momentum-server: storage error: {e}");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the order store is temporarily unavailable; retry with the same Idempotency-Key",
        )
    }

    /// 500 for a bug (a panic caught at the edge). Never expected.
    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; retry with the same Idempotency-Key",
        )
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorResponse {
        ErrorResponse {
            error: ErrorBody {
                code: self.code.to_string(),
                message: self.message.clone(),
                field: self.field.clone(),
                quote: self.quote.clone(),
            },
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> ApiError {
        ApiError::field(e.code, e.field, e.message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_else(|_| {
            b"{\"error\":{\"code\":\"internal\",\"message\":\"internal error\"}}".to_vec()
        });
        let mut res = (self.status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        // Only where waiting helps: a transient fault, or work still in progress under this key.
        let retry_later = self.status == StatusCode::SERVICE_UNAVAILABLE
            || matches!(self.code, "idempotency_key_in_use" | "addon_in_progress");
        if retry_later {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        res
    }
}

/// Result type of the service layer.
pub type ApiResult<T> = Result<T, ApiError>;
