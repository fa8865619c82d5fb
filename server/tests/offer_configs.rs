//! The offer config conformance corpus (`core/testdata/offer_configs.json`) through the backend:
//! `PUT /v1/offers/{id}` over HTTP on the real server, and its parsing and validation in process
//! (`http::parse_object` + `OfferConfig::validate`). Every case must give exactly its `expect`:
//! `"valid"`, or the error's `field` and `code`. The widget runs the same corpus through
//! `decode::offer` (its wasm tests), so both readers report a config the same way.

mod common;

use common::{TestServer, ADMIN};
use momentum_core::offer::OfferConfig;
use momentum_server::error::ApiError;
use momentum_server::http::parse_object;
use reqwest::StatusCode;
use serde_json::Value;

const CORPUS: &str = include_str!("../../core/testdata/offer_configs.json");

struct Case {
    name: String,
    expect: String,
    config: Value,
}

/// `"valid"`, `"<code> at <field>"`, or just `"<code>"` for the body as a whole.
fn outcome(code: &str, field: Option<&str>) -> String {
    match field {
        Some(field) => format!("{code} at {field}"),
        None => code.to_string(),
    }
}

fn cases() -> Vec<Case> {
    let corpus: Value = serde_json::from_str(CORPUS).expect("the corpus is JSON");
    let cases: Vec<Case> = corpus["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().expect("name").to_string(),
            expect: match &c["expect"] {
                Value::String(s) if s == "valid" => s.clone(),
                e => outcome(
                    e["code"].as_str().expect("expect.code"),
                    e.get("field").map(|f| f.as_str().expect("expect.field")),
                ),
            },
            config: c["config"].clone(),
        })
        .collect();
    let valid = cases.iter().filter(|c| c.expect == "valid").count();
    assert!(
        valid >= 2 && cases.len() > valid + 50,
        "the corpus is too small"
    );
    cases
}

fn report(failures: Vec<String>, total: usize) {
    assert!(
        failures.is_empty(),
        "{} of {total} corpus cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// What `PUT /v1/offers/{id}` does with its body (`ApiJson` extraction, then `Service::put_offer`'s
/// validation), in process: the `--offers` file is read the same way (`parse_json`, `validate`).
fn read_and_validate(body: &[u8]) -> Result<OfferConfig, ApiError> {
    let offer: OfferConfig = parse_object(body)?;
    match offer.validate().into_iter().next() {
        Some(e) => Err(e.into()),
        None => Ok(offer),
    }
}

#[test]
fn offer_configs_read_and_validate_as_the_corpus_says() {
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases {
        let body = serde_json::to_vec(&case.config).expect("serialize");
        let got = match read_and_validate(&body) {
            Ok(_) => "valid".to_string(),
            Err(e) => outcome(e.code, e.field.as_deref()),
        };
        if got != case.expect {
            failures.push(format!(
                "{}: expected {}, got {got}",
                case.name, case.expect
            ));
        }
    }
    report(failures, cases.len());
}

/// Percent-encodes an offer id for the URL path.
fn path_segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every key `sent` has, `returned` has with the same value (defaults may be added).
fn keeps(sent: &Value, returned: &Value) -> bool {
    match (sent, returned) {
        (Value::Object(s), Value::Object(r)) => s.iter().all(|(k, v)| match r.get(k) {
            Some(rv) => keeps(v, rv),
            // Empty lists are left out of answers.
            None => v.as_array().is_some_and(Vec::is_empty),
        }),
        (Value::Array(s), Value::Array(r)) => {
            s.len() == r.len() && s.iter().zip(r).all(|(a, b)| keeps(a, b))
        }
        _ => sent == returned,
    }
}

#[tokio::test]
async fn offer_configs_over_http_answer_as_the_corpus_says() {
    let s = TestServer::start();
    let cases = cases();
    let (mut failures, mut sent) = (Vec::new(), 0);
    for case in &cases {
        // The URL carries the body's id (a mismatch is its own error, `id_mismatch`); a body whose
        // id is missing or not text fails to parse before the id is compared. An empty id cannot be
        // in a URL: that case runs through `read_and_validate` only.
        let id = match case.config.get("id") {
            Some(Value::String(id)) if id.is_empty() => continue,
            Some(Value::String(id)) => path_segment(id),
            _ => "creator-course".to_string(),
        };
        sent += 1;
        let r = s
            .client
            .put(s.url(&format!("/v1/offers/{id}")))
            .bearer_auth(ADMIN)
            .json(&case.config)
            .send()
            .await
            .expect("PUT");
        let status = r.status();
        let body: Value = r.json().await.expect("JSON answer");
        let got = if status == StatusCode::OK {
            if !keeps(&case.config, &body) {
                failures.push(format!("{}: answered {body}", case.name));
            }
            "valid".to_string()
        } else {
            let e = &body["error"];
            if status != StatusCode::BAD_REQUEST {
                failures.push(format!("{}: status {status}", case.name));
            }
            outcome(
                e["code"].as_str().unwrap_or("?"),
                e.get("field").and_then(Value::as_str),
            )
        };
        if got != case.expect {
            failures.push(format!(
                "{}: expected {}, got {got}",
                case.name, case.expect
            ));
        }
    }
    assert!(sent + 2 > cases.len(), "only {sent} cases were sent");
    report(failures, cases.len());
}
