//! `momentum-conformance`: runs the Momentum host API contract against a backend in test mode and
//! prints one line per check and `N passed, N failed`; exits 1 when a check fails, 2 on bad usage.
//! See docs/backends.md.

use std::process::ExitCode;

use momentum_conformance::checks;
use momentum_conformance::client::Backend;

const USAGE: &str = "usage: momentum-conformance --api <base url> [--admin-key env:VAR | file:PATH]
                            [--test-token-endpoint <url>]

  --api                  the backend's base URL (the /v1 paths are appended), e.g. https://shop.example
  --admin-key            where the admin key comes from; default env:MOMENTUM_ADMIN_KEY. Never the key
                         itself: a flag shows in process lists and CI logs.
  --test-token-endpoint  the test-mode tokenizer (default <api>/v1/test-gateway/tokens):
                         POST {\"number\", \"exp_month\", \"exp_year\", \"cvc\"} -> {\"token\"}";

struct Args {
    api: String,
    admin_key: String,
    token_endpoint: Option<String>,
}

/// The admin key from `env:VAR` or `file:PATH`.
fn admin_key(source: &str) -> Result<String, String> {
    let key = if let Some(var) = source.strip_prefix("env:") {
        std::env::var(var).map_err(|_| format!("--admin-key {source}: {var} is not set"))?
    } else if let Some(path) = source.strip_prefix("file:") {
        std::fs::read_to_string(path)
            .map_err(|e| format!("--admin-key {source}: {e}"))?
            .trim()
            .to_string()
    } else {
        return Err(
            "--admin-key takes env:VAR or file:PATH, not the key itself (a flag shows in \
             process lists and CI logs); or set MOMENTUM_ADMIN_KEY"
                .into(),
        );
    };
    if key.is_empty() {
        return Err(format!("--admin-key {source}: the key is empty"));
    }
    Ok(key)
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut api = None;
    let mut key_source = "env:MOMENTUM_ADMIN_KEY".to_string();
    let mut token_endpoint = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--api" => api = Some(value()?),
            "--admin-key" => key_source = value()?,
            "--test-token-endpoint" => token_endpoint = Some(value()?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let api = api.ok_or("--api is required")?;
    if !(api.starts_with("http://") || api.starts_with("https://")) {
        return Err(format!("--api {api:?} is not an http(s) URL"));
    }
    Ok(Args {
        api,
        admin_key: admin_key(&key_source)?,
        token_endpoint,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&argv) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("momentum-conformance: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let b = Backend::new(&args.api, args.admin_key, args.token_endpoint);
    println!("momentum-conformance: {}", b.api);
    let mut passed = 0;
    let mut failed = 0;
    macro_rules! check {
        ($name:expr, $run:expr) => {{
            match $run.await {
                Ok(()) => {
                    passed += 1;
                    println!("ok   {}", $name);
                }
                Err(e) => {
                    failed += 1;
                    println!("FAIL {}: {}", $name, e.replace('\n', "\n     "));
                }
            }
        }};
    }
    // The first check stores the kit's offers; the others use them.
    check!("offers.round_trip", checks::offers_round_trip(&b));
    check!(
        "offers.strict_validation",
        checks::offers_strict_validation(&b)
    );
    check!(
        "quotes.total_exponent_2",
        checks::quotes_totals(&b, checks::EUR, 2)
    );
    check!(
        "quotes.total_exponent_0",
        checks::quotes_totals(&b, checks::JPY, 0)
    );
    check!(
        "quotes.total_exponent_3",
        checks::quotes_totals(&b, checks::KWD, 3)
    );
    check!("offers.checkout_start", checks::checkout_start(&b));
    check!("idempotency.replay_body", checks::replay_body(&b));
    check!("idempotency.replay_header", checks::replay_header(&b));
    check!("idempotency.key_reused_422", checks::key_reused_422(&b));
    check!("idempotency.in_flight_409", checks::in_flight_409(&b));
    check!(
        "idempotency.scoped_per_endpoint",
        checks::key_scoped_per_endpoint(&b)
    );
    check!(
        "auth.order_secret_and_resume_pass",
        checks::order_credentials(&b)
    );
    check!("caps.one_bump", checks::caps_one_bump(&b));
    check!("caps.one_upsell", checks::caps_one_upsell(&b));
    check!(
        "caps.downsell_after_declined_upsell",
        checks::caps_downsell_after_declined_upsell(&b)
    );
    check!(
        "three_ds.and_reconciliation",
        checks::three_ds_and_reconciliation(&b)
    );
    check!("refunds.one_per_line", checks::refunds(&b));
    check!("errors.one_shape", checks::error_shape(&b));
    check!("cors", checks::cors(&b));
    // Last: it judges the answers of all the checks above.
    check!(
        "schema.every_answer",
        checks::every_answer_matches_the_schema(&b)
    );
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
