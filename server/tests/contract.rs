//! `docs/openapi.yaml` covers the whole server: every route the router registers, and every error
//! code the code can answer, with its status. (That every response the tests receive matches it is
//! checked by the harness, `common/contract.rs`.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use momentum_conformance::spec::{load_spec, Contract};
use serde_json::Value;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn read_sources(crate_dir: &str) -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(crate_dir);
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read source");
            (p, text)
        })
        .collect()
}

/// The text from just after each `needle` in `text`.
fn after<'a>(text: &'a str, needle: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    text.match_indices(needle)
        .map(move |(i, _)| &text[i + needle.len()..])
}

/// A string literal at the start of `s` (after whitespace), and the rest.
fn literal(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start().strip_prefix('"')?;
    let end = s.find('"')?;
    Some((&s[..end], &s[end + 1..]))
}

/// The text of a call's arguments: from after `(` up to its closing `)`.
fn call_args(s: &str) -> &str {
    let mut depth = 1;
    let mut in_str = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => in_str = !in_str,
            '(' if !in_str => depth += 1,
            ')' if !in_str => {
                depth -= 1;
                if depth == 0 {
                    return &s[..i];
                }
            }
            _ => {}
        }
    }
    s
}

/// Every `(path, method)` the server's routers register, `/admin` (the HTML dashboard) apart.
fn routes() -> (BTreeSet<(String, String)>, BTreeSet<String>) {
    let mut api = BTreeSet::new();
    let mut dashboard = BTreeSet::new();
    for (file, text) in read_sources("src") {
        for rest in after(&text, ".route(") {
            let Some((path, rest)) = literal(rest) else {
                panic!("{}: a route whose path is not a literal", file.display());
            };
            let handlers = call_args(rest);
            if path.starts_with("/admin") {
                dashboard.insert(path.to_string());
                continue;
            }
            let mut methods = 0;
            for method in ["get", "post", "put", "delete", "patch", "any"] {
                let call = format!("{method}(");
                let handlers = handlers.trim_start().trim_start_matches(',').trim_start();
                let called = handlers.starts_with(&call) || handlers.contains(&format!(".{call}"));
                if called {
                    api.insert((path.to_string(), method.to_string()));
                    methods += 1;
                }
            }
            assert!(
                methods > 0,
                "{}: route {path} with no method",
                file.display()
            );
        }
    }
    (api, dashboard)
}

#[test]
fn every_route_is_in_the_spec_and_every_spec_path_is_routed() {
    let spec = load_spec();
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            if method != "parameters" {
                documented.insert((path.clone(), method.clone()));
            }
        }
    }
    let (routed, dashboard) = routes();
    assert!(
        routed.len() >= 20,
        "the route scan found too little: {routed:?}"
    );
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from docs/openapi.yaml: {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "docs/openapi.yaml documents routes the server does not have: {unrouted:?}"
    );
    // The creator's dashboard is HTML for a browser with a session, not part of the API.
    assert!(dashboard.contains("/admin"), "{dashboard:?}");
}

fn status_of(name: &str) -> u16 {
    match name {
        "BAD_REQUEST" => 400,
        "UNAUTHORIZED" => 401,
        "FORBIDDEN" => 403,
        "NOT_FOUND" => 404,
        "METHOD_NOT_ALLOWED" => 405,
        "REQUEST_TIMEOUT" => 408,
        "CONFLICT" => 409,
        "PAYLOAD_TOO_LARGE" => 413,
        "UNSUPPORTED_MEDIA_TYPE" => 415,
        "UNPROCESSABLE_ENTITY" => 422,
        "TOO_MANY_REQUESTS" => 429,
        "INTERNAL_SERVER_ERROR" => 500,
        "BAD_GATEWAY" => 502,
        "SERVICE_UNAVAILABLE" => 503,
        other => panic!("add StatusCode::{other} to status_of"),
    }
}

/// `(code, status)` of every error the API code constructs with a literal code: `ApiError::new`,
/// `ApiError::field` and `conflict` (400 and 409), `FieldError`s (offer configs, cards: 400).
fn emitted_codes() -> BTreeMap<String, BTreeSet<u16>> {
    let mut codes: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    let mut add = |code: &str, status: u16| {
        codes.entry(code.to_string()).or_default().insert(status);
    };
    let mut files = read_sources("src");
    files.extend(read_sources("../core/src"));
    for (file, text) in files {
        // The dashboard answers HTML pages; the widget's own state machine has no HTTP status.
        let name = file.to_string_lossy().replace('\\', "/");
        if name.contains("/src/admin/") || name.ends_with("/core/src/checkout.rs") {
            continue;
        }
        for rest in after(&text, "ApiError::new(") {
            let rest = rest.trim_start();
            let Some(rest) = rest.strip_prefix("StatusCode::") else {
                continue; // a status from a variable: the code is checked where it is made
            };
            let end = rest.find(|c: char| !c.is_ascii_uppercase() && c != '_');
            let (status, rest) = rest.split_at(end.unwrap_or(rest.len()));
            if let Some((code, _)) = rest.trim_start().strip_prefix(',').and_then(literal) {
                add(code, status_of(status));
            }
        }
        for needle in ["ApiError::field(", "errors.push(ApiError::field("] {
            for rest in after(&text, needle) {
                if let Some((code, _)) = literal(rest) {
                    add(code, 400);
                }
            }
        }
        for rest in after(&text, " conflict(") {
            if let Some((code, _)) = literal(rest) {
                add(code, 409);
            }
        }
        for rest in after(&text, "FieldError::new(") {
            let args = call_args(rest);
            let mut depth = 0;
            let second = args.char_indices().find_map(|(i, c)| match c {
                '(' => {
                    depth += 1;
                    None
                }
                ')' => {
                    depth -= 1;
                    None
                }
                ',' if depth == 0 => Some(&args[i + 1..]),
                _ => None,
            });
            if let Some((code, _)) = second.and_then(literal) {
                add(code, 400);
            }
        }
        for rest in after(&text, "code: ") {
            if let Some((code, rest)) = literal(rest) {
                if rest.trim_start().starts_with(',') && name.ends_with("test_gateway.rs") {
                    add(code, 400);
                }
            }
        }
    }
    codes
}

/// `code → status` from the spec's `ErrorNNN` schemas.
fn documented_codes(spec: &Value) -> BTreeMap<String, u16> {
    let mut out = BTreeMap::new();
    let schemas = &spec["components"]["schemas"];
    for (name, schema) in schemas.as_object().expect("schemas") {
        let Some(status) = name
            .strip_prefix("Error")
            .and_then(|s| s.parse::<u16>().ok())
        else {
            continue;
        };
        let mut code = &schema["properties"]["error"]["properties"]["code"];
        if let Some(r) = code["$ref"].as_str() {
            code = spec.pointer(r.trim_start_matches('#')).expect("ref");
        }
        for c in code["enum"].as_array().expect("code enum") {
            let c = c.as_str().expect("code").to_string();
            assert!(
                out.insert(c.clone(), status).is_none(),
                "{c} under two statuses"
            );
        }
    }
    out
}

#[test]
fn every_error_code_the_server_emits_is_in_the_spec_with_its_status() {
    let spec = load_spec();
    let documented = documented_codes(&spec);
    let emitted = emitted_codes();
    assert!(
        emitted.len() >= 50,
        "the source scan found too few codes: {emitted:?}"
    );
    let mut wrong = Vec::new();
    for (code, statuses) in &emitted {
        for status in statuses {
            match documented.get(code) {
                None => wrong.push(format!("{code} ({status}) is not documented")),
                Some(s) if s != status => {
                    wrong.push(format!("{code} is {status} in the code, {s} in the spec"))
                }
                Some(_) => {}
            }
        }
    }
    assert!(wrong.is_empty(), "docs/openapi.yaml: {wrong:#?}");
    // And nothing documented that the code never says.
    let mut all = read_sources("src");
    all.extend(read_sources("../core/src"));
    let text: String = all.into_iter().map(|(_, t)| t).collect();
    let dead: Vec<_> = documented
        .keys()
        .filter(|c| !text.contains(&format!("\"{c}\"")))
        .collect();
    assert!(dead.is_empty(), "documented codes nothing emits: {dead:?}");
}

#[test]
fn every_error_code_of_docs_api_md_is_in_the_spec() {
    let spec = load_spec();
    let documented = documented_codes(&spec);
    let prose =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api.md"))
            .expect("docs/api.md");
    let table = prose
        .split("| HTTP | code | when |")
        .nth(1)
        .expect("the error table of docs/api.md");
    let mut missing = Vec::new();
    let mut in_table = BTreeSet::new();
    for row in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let status: u16 = cells[1].parse().expect("status");
        // Parentheses name fields (`(field: offer_id)`, `(fee_basis_points)`), not codes.
        let mut codes_cell = String::new();
        let mut depth = 0;
        for c in cells[2].chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ if depth == 0 => codes_cell.push(c),
                _ => {}
            }
        }
        for code in codes_cell.split('`').skip(1).step_by(2) {
            in_table.insert(code.to_string());
            if documented.get(code) != Some(&status) {
                missing.push(format!("{status} {code}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "in docs/api.md, not in docs/openapi.yaml: {missing:?}"
    );
    let unexplained: Vec<_> = documented
        .keys()
        .filter(|c| !in_table.contains(*c))
        .collect();
    assert!(
        unexplained.is_empty(),
        "in docs/openapi.yaml, not in the error table of docs/api.md: {unexplained:?}"
    );
}

#[test]
fn the_spec_compiles() {
    // Every schema and $ref resolves (the harness would fail at its first response otherwise).
    let _ = Contract::strict();
    let _ = Contract::open();
}
