//! `--static-dir`: the widget bundle and the demo page. `ServeDir` picks the precompressed variant
//! xtask writes next to each shipped file (`.br`, else `.gz`, by `Accept-Encoding` and its q-values)
//! and answers `If-Modified-Since`; this module adds what it leaves out: `Vary`, a cache policy,
//! an `ETag`, a UTF-8 charset on text, and `Timing-Allow-Origin`. It also keeps `ServeDir` inside
//! the directory: no symlink out of it is followed, and no redirect leaves the origin.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::handler::{Handler, HandlerWithoutStateExt};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, LAST_MODIFIED, LOCATION, VARY,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use sha2::{Digest, Sha256};
use tower_http::services::ServeDir;

use crate::error::ApiError;
use crate::rate_limit::percent_decoded;
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
    // Resolved once: what every served file must resolve to a path under.
    let root = Arc::new(std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone()));
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .not_found_service(not_found.into_service());
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(release_headers))
        .layer(middleware::from_fn_with_state(root, confine))
}

fn missing() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource").into_response()
}

/// Refuses what `ServeDir` would get wrong: a path starting with `//` (for a directory it
/// redirects to the path plus `/`, and `//host/…` is another origin to a browser), a file that is
/// (or is reached through) a symlink leading out of the directory, and, whatever the path, a
/// redirect that is not to a path on this origin.
async fn confine(State(root): State<Arc<PathBuf>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.starts_with("//") || path.starts_with("/\\") || !stays_inside(&root, path).await {
        return missing();
    }
    let response = next.run(request).await;
    let off_origin = response.headers().get(LOCATION).is_some_and(|location| {
        let l = location.as_bytes();
        l.first() != Some(&b'/') || matches!(l.get(1), Some(b'/' | b'\\'))
    });
    if off_origin {
        return missing();
    }
    response
}

/// Whether every file `ServeDir` may open for `path` (the file, its `.br` and `.gz` variants, or
/// a directory's `index.html` and its variants) resolves to a path under `root`. Paths that
/// `ServeDir` refuses anyway (`..`, absolute) are left to it.
async fn stays_inside(root: &Path, path: &str) -> bool {
    let decoded = percent_decoded(path.trim_start_matches('/'));
    let mut file = root.to_path_buf();
    for component in Path::new(&decoded).components() {
        match component {
            Component::Normal(part) => file.push(part),
            Component::CurDir => {}
            _ => return true,
        }
    }
    let index = file.join("index.html");
    for base in [file, index] {
        for suffix in ["", ".br", ".gz"] {
            let mut candidate = base.clone().into_os_string();
            candidate.push(suffix);
            let candidate = PathBuf::from(candidate);
            if tokio::fs::symlink_metadata(&candidate).await.is_err() {
                continue; // absent: ServeDir will not open it either
            }
            match tokio::fs::canonicalize(&candidate).await {
                Ok(real) if real.starts_with(root) => {}
                _ => return false, // outside, or a dangling link
            }
        }
    }
    true
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
