//! `--static-dir`: the widget bundle and the demo page. `ServeDir` picks the precompressed variant
//! xtask writes next to each shipped file (`.br`, else `.gz`, by `Accept-Encoding` and its q-values)
//! and answers `If-Modified-Since`; this module adds what it leaves out: `Vary`, a cache policy,
//! an `ETag`, a UTF-8 charset on text, and `Timing-Allow-Origin`.

use std::path::PathBuf;

use axum::extract::Request;
use axum::handler::{Handler, HandlerWithoutStateExt};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, LAST_MODIFIED, VARY,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use sha2::{Digest, Sha256};
use tower_http::services::ServeDir;

use crate::util::hex;

/// Pages (the demo page): revalidated on every load, a 304 while unchanged.
const PAGE_CACHE: &str = "no-cache";

/// The bundle. Its names are stable (a creator's script tag says `momentum.js`; the wasm is found
/// next to it), so `immutable` or a long max-age would keep shoppers on an old release for as long.
/// Five minutes bounds how late a release reaches them; afterwards a stale copy may still be used
/// once while it is revalidated in the background (a 304 from the ETag, no download).
const BUNDLE_CACHE: &str = "public, max-age=300, stale-while-revalidate=86400";

/// Serves `dir` at `/`; requests for missing files go to `not_found`.
pub fn router<T: 'static>(dir: PathBuf, not_found: impl Handler<T, ()>) -> Router {
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .not_found_service(not_found.into_service());
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(release_headers))
}

async fn release_headers(mut request: Request, next: Next) -> Response {
    let if_none_match = request.headers().get(IF_NONE_MATCH).cloned();
    if if_none_match.is_some() {
        // RFC 9110 §13.1.3: If-None-Match overrides If-Modified-Since (which ServeDir would answer
        // alone, and wrongly 304 after a rollback to older files).
        request.headers_mut().remove(IF_MODIFIED_SINCE);
    }
    let path = request.uri().path();
    let cache = if path.ends_with('/') || path.ends_with(".html") {
        PAGE_CACHE
    } else {
        BUNDLE_CACHE
    };
    let mut response = next.run(request).await;
    if response.status() == StatusCode::OK {
        if let Some(etag) = entity_tag(response.headers()) {
            if if_none_match.is_some_and(|tags| matches_any(&tags, &etag)) {
                response = not_modified(response.headers());
            }
            response.headers_mut().insert(ETAG, etag);
        }
    }
    if !matches!(
        response.status(),
        StatusCode::OK | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED
    ) {
        return response;
    }
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    // Appended: the CORS layer appends its own Vary values too.
    headers.append(VARY, HeaderValue::from_static("accept-encoding"));
    // Lets pages (creators' RUM, our e2e test) read the transfer sizes of these cross-origin files.
    headers.insert(
        HeaderName::from_static("timing-allow-origin"),
        HeaderValue::from_static("*"),
    );
    let text_without_charset = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.starts_with("text/") && !v.contains(';'))
        .map(|v| format!("{v}; charset=utf-8"));
    if let Some(value) = text_without_charset.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert(CONTENT_TYPE, value);
    }
    response
}

/// A validator for the variant being sent, from its modification time, length and coding (like
/// nginx's): unlike If-Modified-Since, any change counts, a rollback to older files too.
fn entity_tag(headers: &HeaderMap) -> Option<HeaderValue> {
    headers.get(LAST_MODIFIED)?;
    let mut digest = Sha256::new();
    for name in [LAST_MODIFIED, CONTENT_LENGTH, CONTENT_ENCODING] {
        digest.update(headers.get(&name).map_or(&b""[..], HeaderValue::as_bytes));
        digest.update(b"\n");
    }
    HeaderValue::from_str(&format!("\"{}\"", hex(&digest.finalize()[..8]))).ok()
}

/// `If-None-Match` uses the weak comparison: `W/` is ignored.
fn matches_any(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let (Ok(tags), Ok(etag)) = (if_none_match.to_str(), etag.to_str()) else {
        return false;
    };
    tags.split(',')
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

fn not_modified(sent: &HeaderMap) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    if let Some(last_modified) = sent.get(LAST_MODIFIED) {
        response
            .headers_mut()
            .insert(LAST_MODIFIED, last_modified.clone());
    }
    response
}
