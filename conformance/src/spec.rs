//! `docs/openapi.yaml`, compiled: checks one answer of a backend against it (status declared for
//! the operation, declared headers present and valid, body valid against the declared schema).
//!
//! Used by the kit on every answer it gets, and by the reference backend's integration tests on
//! every answer they get (`server/tests/common/contract.rs`). The spec lets backends add response
//! fields; [`Contract::strict`] does not (every object schema that lists its `properties` is
//! closed), so that the reference backend cannot send a field the spec does not name.

use std::collections::HashMap;

use reqwest::header::{HeaderMap, CONTENT_TYPE};
use serde_json::Value;

/// `docs/openapi.yaml`, as built into the kit.
pub const OPENAPI_YAML: &str = include_str!("../../docs/openapi.yaml");

/// The spec as JSON.
pub fn load_spec() -> Value {
    serde_norway::from_str(OPENAPI_YAML).expect("docs/openapi.yaml is YAML")
}

/// Closes every object schema that lists its properties (see the module comment).
fn close_objects(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let closable = map.get("type").and_then(Value::as_str) == Some("object")
                && map.get("properties").is_some_and(Value::is_object)
                && !map.contains_key("additionalProperties");
            if closable {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(close_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// Resolves a local `$ref` (`#/components/…`) of the spec, once.
fn deref<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => spec
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {r}")),
        None => v,
    }
}

/// Declared headers: lower-case name, whether required, schema (optional ones are checked when
/// sent).
type Headers = Vec<(String, bool, jsonschema::Validator)>;

fn declared_headers(spec: &Value, headers: &Value) -> Headers {
    let mut out = Vec::new();
    for (name, h) in headers.as_object().into_iter().flatten() {
        let h = deref(spec, h);
        let required = h["required"].as_bool().unwrap_or(false);
        out.push((
            name.to_ascii_lowercase(),
            required,
            validator(spec, &h["schema"]),
        ));
    }
    out
}

fn check_headers(what: &str, declared: &Headers, headers: &HeaderMap, problems: &mut Vec<String>) {
    for (name, required, schema) in declared {
        match headers.get(name.as_str()).map(|v| v.to_str()) {
            None if *required => problems.push(format!("{what}: header {name} missing")),
            None => {}
            Some(Err(_)) => problems.push(format!("{what}: header {name} is not text")),
            Some(Ok(text)) => {
                // A header is text; an integer schema (Retry-After) reads it as a number.
                let as_number = serde_json::from_str::<Value>(text).ok();
                let valid = schema.is_valid(&Value::String(text.into()))
                    || as_number.is_some_and(|n| n.is_number() && schema.is_valid(&n));
                if !valid {
                    problems.push(format!("{what}: header {name}: {text:?} is not valid"));
                }
            }
        }
    }
}

/// A response of one operation as the spec declares it.
struct Declared {
    headers: Headers,
    /// Media type essence → body validator (`None`: not JSON, the media type is checked only).
    content: Vec<(String, Option<jsonschema::Validator>)>,
}

/// The compiled spec.
pub struct Contract {
    /// (path template segments, method) → status → declared response.
    operations: Vec<(Vec<String>, String, HashMap<u16, Declared>)>,
    /// Error shapes by status, for answers outside any operation (unknown route or method).
    errors: HashMap<u16, jsonschema::Validator>,
    /// Headers of every answer (`x-every-response`).
    every: Headers,
}

fn validator(spec: &Value, schema: &Value) -> jsonschema::Validator {
    // The schema keeps the spec's components beside it, so that its `#/components/…` refs resolve.
    let mut root = schema.clone();
    if let Value::Object(map) = &mut root {
        map.insert("components".into(), spec["components"].clone());
    } else {
        root = serde_json::json!({"allOf": [schema], "components": spec["components"]});
    }
    jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("bad schema {schema}: {e}"))
}

impl Contract {
    /// The contract as any backend must keep it (additional response fields allowed).
    pub fn open() -> Contract {
        Contract::compile(&load_spec())
    }

    /// The contract for the reference backend: no response field the spec does not name.
    pub fn strict() -> Contract {
        let mut spec = load_spec();
        close_objects(&mut spec);
        Contract::compile(&spec)
    }

    fn compile(spec: &Value) -> Contract {
        let mut operations = Vec::new();
        for (path, item) in spec["paths"].as_object().expect("paths") {
            let segments: Vec<String> = path.split('/').map(str::to_string).collect();
            for (method, op) in item.as_object().expect("path item") {
                if method == "parameters" {
                    continue;
                }
                let mut responses = HashMap::new();
                for (status, response) in op["responses"].as_object().expect("responses") {
                    let response = deref(spec, response);
                    let headers = declared_headers(spec, &response["headers"]);
                    let mut content = Vec::new();
                    for (media, m) in response["content"].as_object().into_iter().flatten() {
                        let v =
                            (media == "application/json").then(|| validator(spec, &m["schema"]));
                        content.push((media.clone(), v));
                    }
                    let status: u16 = status.parse().expect("numeric status codes only");
                    responses.insert(status, Declared { headers, content });
                }
                operations.push((segments.clone(), method.to_ascii_uppercase(), responses));
            }
        }
        let mut errors = HashMap::new();
        for (name, schema) in spec["components"]["schemas"].as_object().expect("schemas") {
            if let Some(status) = name
                .strip_prefix("Error")
                .and_then(|s| s.parse::<u16>().ok())
            {
                errors.insert(status, validator(spec, schema));
            }
        }
        let every = declared_headers(spec, &spec["x-every-response"]["headers"]);
        Contract {
            operations,
            errors,
            every,
        }
    }

    /// Whether `path` is part of the contract's namespace (the API, its test gateway, health);
    /// the creator's HTML dashboard (`/admin`) and static files are not.
    pub fn governs(path: &str) -> bool {
        path.starts_with("/v1/") || path == "/healthz" || path.starts_with("/test-gateway/")
    }

    /// The operations whose template matches `path`, the one with most literal segments first.
    fn matching(&self, path: &str) -> Vec<&(Vec<String>, String, HashMap<u16, Declared>)> {
        let parts: Vec<&str> = path.split('/').collect();
        let mut found: Vec<_> = self
            .operations
            .iter()
            .filter(|(t, _, _)| {
                t.len() == parts.len()
                    && t.iter()
                        .zip(&parts)
                        .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t.as_str() == *p)
            })
            .collect();
        let literal = |t: &Vec<String>| t.iter().filter(|s| !s.starts_with('{')).count();
        found.sort_by_key(|(t, _, _)| std::cmp::Reverse(literal(t)));
        found
    }

    /// Checks one answer; returns what is wrong with it.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Vec<String> {
        if !Contract::governs(path) || method == "OPTIONS" || method == "HEAD" {
            return Vec::new();
        }
        let what = format!("{method} {path} → {status}");
        let mut problems = Vec::new();
        check_headers(&what, &self.every, headers, &mut problems);
        problems.extend(self.check_operation(&what, method, path, status, headers, body));
        problems
    }

    fn check_operation(
        &self,
        what: &str,
        method: &str,
        path: &str,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Vec<String> {
        let candidates = self.matching(path);
        let Some(template) = candidates.first().map(|(t, _, _)| t) else {
            // An unknown route: the API's 404 (or a rate limit that came first).
            return self.check_error(what, &[404, 429], status, headers, body);
        };
        let op = candidates
            .iter()
            .find(|(t, m, _)| t == template && m == method);
        let Some((_, _, responses)) = op else {
            return self.check_error(what, &[405, 429], status, headers, body);
        };
        let Some(declared) = responses.get(&status) else {
            return vec![format!("{what}: status not declared for this operation")];
        };
        let mut problems = Vec::new();
        check_headers(what, &declared.headers, headers, &mut problems);
        let media = essence(headers);
        match declared.content.iter().find(|(m, _)| *m == media) {
            None if declared.content.is_empty() => {}
            None => problems.push(format!(
                "{what}: Content-Type {media:?}, declared {:?}",
                declared.content.iter().map(|(m, _)| m).collect::<Vec<_>>()
            )),
            Some((_, None)) => {}
            Some((_, Some(schema))) => problems.extend(validate_json(what, schema, body)),
        }
        problems
    }

    fn check_error(
        &self,
        what: &str,
        allowed: &[u16],
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Vec<String> {
        if !allowed.contains(&status) {
            return vec![format!("{what}: no operation here answers this")];
        }
        if essence(headers) != "application/json" {
            return vec![format!("{what}: an error must be application/json")];
        }
        validate_json(what, &self.errors[&status], body)
    }
}

fn essence(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn validate_json(what: &str, schema: &jsonschema::Validator, body: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return vec![format!(
            "{what}: body is not JSON: {}",
            String::from_utf8_lossy(body)
        )];
    };
    let errors: Vec<String> = schema
        .iter_errors(&value)
        .map(|e| format!("{what}: at {:?}: {e}", e.instance_path().as_str()))
        .collect();
    if errors.is_empty() {
        errors
    } else {
        let mut errors = errors;
        let text = value.to_string();
        let cut = text.char_indices().nth(400).map_or(text.len(), |(i, _)| i);
        errors.push(format!("{what}: body {}", &text[..cut]));
        errors
    }
}
