//! `--static-dir` over real HTTP: the precompressed variant `Accept-Encoding` asks for, with the
//! headers a browser and a CDN need (type, coding, Vary, cache policy, validators, CORS).

mod common;

use common::*;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

const JS: &[u8] = b"export const momentum = 'the loader';\n";
const JS_BR: &[u8] = b"stands in for momentum.js brotli";
const JS_GZ: &[u8] = b"stands in for momentum.js gzip";
const WASM: &[u8] = b"\0asm\x01\0\0\0";
const WASM_BR: &[u8] = b"stands in for the wasm brotli";
const BUNDLE_CACHE: &str = "public, max-age=300, stale-while-revalidate=86400";

fn bundle_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in [
        ("momentum.js", JS),
        ("momentum.js.br", JS_BR),
        ("momentum.js.gz", JS_GZ),
        ("momentum_bg.wasm", WASM),
        ("momentum_bg.wasm.br", WASM_BR),
        ("index.html", b"<!doctype html><title>demo</title>"),
    ] {
        std::fs::write(dir.path().join(name), bytes).expect("write bundle file");
    }
    dir
}

fn start(dir: &tempfile::TempDir) -> TestServer {
    TestServer::start_with(&["--static-dir", dir.path().to_str().expect("utf-8 path")])
}

/// GET `path` from a creator's page origin with these extra request headers.
async fn get(
    s: &TestServer,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = s
        .client
        .get(s.url(path))
        .header("origin", "https://creator.example");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let r = request.send().await.expect("send");
    let (status, headers) = (r.status(), r.headers().clone());
    (status, headers, r.bytes().await.expect("body").to_vec())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .map_or("", |v| v.to_str().expect("ASCII header"))
}

/// Whether one of the `Vary` lines (the CORS layer adds its own) names `Accept-Encoding`.
fn varies_by_encoding(headers: &HeaderMap) -> bool {
    headers
        .get_all("vary")
        .iter()
        .flat_map(|v| v.to_str().expect("ASCII vary").split(','))
        .any(|name| name.trim().eq_ignore_ascii_case("accept-encoding"))
}

#[tokio::test]
async fn the_variant_follows_accept_encoding() {
    let dir = bundle_dir();
    let s = start(&dir);
    for (accept_encoding, body, coding) in [
        (Some("br"), JS_BR, "br"),
        (Some("gzip"), JS_GZ, "gzip"),
        (None, JS, ""),
        (Some("br;q=0, gzip"), JS_GZ, "gzip"),
        (Some("gzip;q=0.5, br"), JS_BR, "br"),
        // Chromium's; zstd has no variant on disk, so brotli.
        (Some("gzip, deflate, br, zstd"), JS_BR, "br"),
        (Some("br;q=0, gzip;q=0"), JS, ""),
    ] {
        let request: Vec<_> = accept_encoding
            .map(|v| ("accept-encoding", v))
            .into_iter()
            .collect();
        let (status, headers, got) = get(&s, "/momentum.js", &request).await;
        let case = format!("Accept-Encoding: {accept_encoding:?}");
        assert_eq!(status, StatusCode::OK, "{case}");
        assert_eq!(got, body, "{case}");
        assert_eq!(header(&headers, "content-encoding"), coding, "{case}");
        assert_eq!(
            header(&headers, "content-type"),
            "text/javascript; charset=utf-8",
            "{case}"
        );
        assert!(varies_by_encoding(&headers), "{case}: {headers:?}");
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            "*",
            "{case}"
        );
        assert_eq!(header(&headers, "timing-allow-origin"), "*", "{case}");
        assert_eq!(header(&headers, "cache-control"), BUNDLE_CACHE, "{case}");
        assert!(!header(&headers, "etag").is_empty(), "{case}");
        assert!(!header(&headers, "last-modified").is_empty(), "{case}");
    }
}

#[tokio::test]
async fn wasm_keeps_its_type_for_streaming_compilation_and_html_is_revalidated() {
    let dir = bundle_dir();
    let s = start(&dir);
    let (status, headers, body) = get(&s, "/momentum_bg.wasm", &[("accept-encoding", "br")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, WASM_BR);
    assert_eq!(header(&headers, "content-type"), "application/wasm");
    assert_eq!(header(&headers, "content-encoding"), "br");
    // No .gz on disk for the wasm: identity, not a 404.
    let (status, headers, body) =
        get(&s, "/momentum_bg.wasm", &[("accept-encoding", "gzip")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, WASM);
    assert_eq!(header(&headers, "content-encoding"), "");

    for path in ["/", "/index.html"] {
        let (status, headers, _) = get(&s, path, &[("accept-encoding", "br")]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(header(&headers, "cache-control"), "no-cache", "{path}");
        assert_eq!(
            header(&headers, "content-type"),
            "text/html; charset=utf-8",
            "{path}"
        );
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            "*",
            "{path}"
        );
    }
}

#[tokio::test]
async fn revalidation_answers_304_for_the_same_variant_only() {
    let dir = bundle_dir();
    let s = start(&dir);
    let br = [("accept-encoding", "br")];
    let (_, sent, _) = get(&s, "/momentum.js", &br).await;
    let etag = header(&sent, "etag").to_string();
    let last_modified = header(&sent, "last-modified").to_string();
    let (_, identity, _) = get(&s, "/momentum.js", &[]).await;
    assert_ne!(
        header(&identity, "etag"),
        etag,
        "each variant has its own validator"
    );

    for (validator, value) in [
        ("if-none-match", etag.as_str()),
        ("if-none-match", &format!("\"other\", W/{etag}")),
        ("if-modified-since", last_modified.as_str()),
    ] {
        let (status, headers, body) = get(&s, "/momentum.js", &[br[0], (validator, value)]).await;
        let case = format!("{validator}: {value}");
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{case}");
        assert!(body.is_empty(), "{case}");
        // What a cache needs to refresh its stored response (RFC 9110 §15.4.5).
        assert_eq!(header(&headers, "cache-control"), BUNDLE_CACHE, "{case}");
        assert!(varies_by_encoding(&headers), "{case}");
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            "*",
            "{case}"
        );
    }
    let (_, headers, _) = get(&s, "/momentum.js", &[br[0], ("if-none-match", &etag)]).await;
    assert_eq!(header(&headers, "etag"), etag);

    // The brotli validator does not match the gzip variant.
    let (status, _, body) = get(
        &s,
        "/momentum.js",
        &[("accept-encoding", "gzip"), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, JS_GZ);

    // A rollback to older files: the ETag no longer matches, and If-Modified-Since (which alone
    // would say "not modified since") is ignored next to If-None-Match.
    let (status, _, body) = get(
        &s,
        "/momentum.js",
        &[
            br[0],
            ("if-none-match", "\"a-later-release\""),
            ("if-modified-since", "Fri, 01 Jan 2100 00:00:00 GMT"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, JS_BR);
}
