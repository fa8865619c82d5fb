//! Reading request bodies: at most [`MAX_BODY_BYTES`] kept, within [`BODY_TIMEOUT`], and an
//! over-limit body read to its end (discarded) before the 413 goes out. A server that answers
//! early and closes with unread bytes in its socket makes the kernel reset the connection, and the
//! reset can destroy the answer before the client reads it: the client sees a broken pipe instead
//! of `payload_too_large` (nginx's "lingering close" exists for the same reason). Reading on costs
//! bandwidth, not memory, and stops at [`DRAIN_LIMIT_BYTES`].

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header::CONTENT_LENGTH;
use http_body_util::BodyExt;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Time to receive a whole request body once its head has arrived: 64 KiB at ~2 KB/s, slower than
/// any real link, so a client trickling a body cannot hold a connection for long.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of an over-limit body is read and discarded so that its client can read the 413.
/// A body declared larger than this is answered at once, without reading any of it.
pub const DRAIN_LIMIT_BYTES: usize = 4 * 1024 * 1024;

/// Why a body was not read.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// Longer than [`MAX_BODY_BYTES`].
    TooLarge,
    /// Not complete within [`BODY_TIMEOUT`].
    TimedOut,
    /// The connection failed or the framing was invalid.
    Unreadable,
}

/// Reads a request body of at most [`MAX_BODY_BYTES`].
pub async fn read(req: Request) -> Result<Bytes, BodyError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > DRAIN_LIMIT_BYTES as u64) {
        return Err(BodyError::TooLarge);
    }
    tokio::time::timeout(BODY_TIMEOUT, read_to_end(req.into_body()))
        .await
        .unwrap_or(Err(BodyError::TimedOut))
}

async fn read_to_end(mut body: Body) -> Result<Bytes, BodyError> {
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Unreadable)?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        seen = seen.saturating_add(data.len());
        if seen > DRAIN_LIMIT_BYTES {
            return Err(BodyError::TooLarge);
        }
        if seen <= MAX_BODY_BYTES {
            kept.extend_from_slice(&data);
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge);
    }
    Ok(Bytes::from(kept))
}
