//! `momentum-server`: the reference backend. Run `momentum-server --help`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use momentum_server::db::Database;
use momentum_server::stripe_gateway::{Dialect, STRIPE_API, STRIPE_JS};
use momentum_server::{Config, GatewayChoice, Secret, Server, StripeSettings, DEMO_ADMIN_KEY};

/// Shortest admin key accepted from `--admin-key` or `MOMENTUM_ADMIN_KEY`.
const MIN_ADMIN_KEY_CHARS: usize = 16;

const HELP: &str =
    "momentum-server: Momentum's reference backend (host fetch API v1; test payment gateway or Stripe)

USAGE: momentum-server [OPTIONS]

OPTIONS:
  --addr <ip:port>            listen address (default 127.0.0.1:8080; port 0 = any free port)
  --db <path | url>           SQLite file, created if missing (default momentum.sqlite), or a
                              Postgres URL postgres://user[:password]@host[:port]/dbname for
                              more than one server process (env MOMENTUM_DB, so that a
                              password stays out of the process list; the flag wins)
  --test-gateway-db <path>    the test gateway's SQLite file (default: the --db file; with
                              Postgres momentum-test-gateway.sqlite; processes sharing a
                              Postgres database share this file too)
  --static-dir <dir>          serve this directory at / (widget bundle, demo page), with CORS
  --admin-key <key>           creator key for refunds and offer edits, at least 16 characters
                              (env MOMENTUM_ADMIN_KEY; default: the demo key
                              sk_test_momentum_admin, refused on a non-loopback --addr)
  --processing-delay-ms <ms>  how long a 'processing' test payment takes to settle (default 1500)
  --test-crash-window-ms <ms> test flag: the test gateway takes this long to make a new charge,
                              and as long again to answer, so that crash tests can kill the
                              server in between (default 0)
  --public-url <url>          base URL for 3-D Secure challenge links (default http://<addr>)
  --offers <file.json>        upsert these offers (JSON array of offer configs) at start,
                              instead of seeding the demo offers
  --rate-limit <spec>         request budgets (repeatable; env MOMENTUM_RATE_LIMITS, applied
                              first): off | default | <name>=<count>/<period> | <name>=off,
                              comma-separated; period s, min, h or e.g. 10min. Names and
                              defaults: tokens=20/min, orders=20/min, addons=30/min (per client
                              IP), addons-per-order=10/min, auth-failures=10/min (per client IP),
                              auth-failures-per-order=10/10min, admin-failures=10/10min,
                              events=120/min (per client IP)
  --trust-forwarded-for       count clients by the last X-Forwarded-For address (only behind a
                              reverse proxy that sets it; env MOMENTUM_TRUST_FORWARDED_FOR=1)
  --header-timeout-secs <s>   time to send a request head, from connecting or from the previous
                              response; also closes idle keep-alive connections (default 10)
  --idle-timeout-secs <s>     close a connection on which nothing moves for this long while no
                              request is being handled (default 30)
  --max-connections <n>       connections served at once; more wait to be accepted (default 1024)
  --gateway <test|stripe>     who takes the payments (default test). stripe reads the secret key
                              from env STRIPE_SECRET_KEY (required), the webhook signing secret
                              from env STRIPE_WEBHOOK_SECRET (POST /v1/webhooks/stripe is off
                              without it) and the publishable key from --stripe-publishable-key
                              or env STRIPE_PUBLISHABLE_KEY (required)
  --stripe-publishable-key <pk_…>  Stripe.js key for the 3-D Secure page (public by design)
  --stripe-api-base <url>     Stripe's API (default https://api.stripe.com; tests: localstripe)
  --stripe-js-url <url>       Stripe.js (default https://js.stripe.com/v3/)
  --stripe-dialect <stripe|localstripe>  what --stripe-api-base understands (default stripe;
                              localstripe: see docs/backends.md)
  -h, --help                  this text

On start it prints 'momentum-server listening on http://<addr>' on stdout.";

fn admin_key(key: String, source: &str) -> Result<String, String> {
    if key.chars().count() < MIN_ADMIN_KEY_CHARS {
        return Err(format!(
            "{source} must be at least {MIN_ADMIN_KEY_CHARS} characters"
        ));
    }
    Ok(key)
}

fn secs(name: &str, value: String) -> Result<Duration, String> {
    match value.parse::<u64>() {
        Ok(s) if s > 0 => Ok(Duration::from_secs(s)),
        _ => Err(format!(
            "{name}: expected a whole number of seconds, at least 1"
        )),
    }
}

fn http_url(name: &str, value: String) -> Result<String, String> {
    if value.starts_with("https://") || value.starts_with("http://") {
        Ok(value)
    } else {
        Err(format!("{name}: expected an http:// or https:// URL"))
    }
}

/// The Stripe flags, checked together once all are read.
struct StripeFlags {
    gateway: bool,
    publishable_key: Option<String>,
    api_base: Option<String>,
    js_url: Option<String>,
    dialect: Dialect,
}

impl Default for StripeFlags {
    fn default() -> StripeFlags {
        StripeFlags {
            gateway: false,
            publishable_key: None,
            api_base: None,
            js_url: None,
            dialect: Dialect::Stripe,
        }
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl StripeFlags {
    fn choice(self) -> Result<GatewayChoice, String> {
        if !self.gateway {
            if self.publishable_key.is_some() || self.api_base.is_some() || self.js_url.is_some() {
                return Err("the --stripe-* options need --gateway stripe".into());
            }
            return Ok(GatewayChoice::Test);
        }
        // The secret key only ever comes from the environment, and is never echoed.
        let secret_key = env_var("STRIPE_SECRET_KEY")
            .ok_or("--gateway stripe needs the secret key in env STRIPE_SECRET_KEY")?;
        if !(secret_key.starts_with("sk_") || secret_key.starts_with("rk_")) {
            return Err(
                "STRIPE_SECRET_KEY: expected a secret key (sk_…) or restricted key (rk_…)".into(),
            );
        }
        let webhook_secret = env_var("STRIPE_WEBHOOK_SECRET");
        if webhook_secret
            .as_deref()
            .is_some_and(|w| !w.starts_with("whsec_"))
        {
            return Err(
                "STRIPE_WEBHOOK_SECRET: expected a webhook signing secret (whsec_…)".into(),
            );
        }
        let publishable_key = self
            .publishable_key
            .or_else(|| env_var("STRIPE_PUBLISHABLE_KEY"))
            .ok_or(
                "--gateway stripe needs --stripe-publishable-key or env STRIPE_PUBLISHABLE_KEY",
            )?;
        if !publishable_key.starts_with("pk_") {
            return Err("the Stripe publishable key must start with pk_".into());
        }
        Ok(GatewayChoice::Stripe(StripeSettings {
            secret_key: Secret(secret_key),
            webhook_secret: webhook_secret.map(Secret),
            publishable_key,
            api_base: self.api_base.unwrap_or_else(|| STRIPE_API.into()),
            js_url: self.js_url.unwrap_or_else(|| STRIPE_JS.into()),
            dialect: self.dialect,
        }))
    }
}

fn parse(args: Vec<String>) -> Result<Option<Config>, String> {
    let mut c = Config::default();
    // Checked after the flags: `--admin-key` wins over the variable.
    let env_key = std::env::var("MOMENTUM_ADMIN_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    let mut flag_key = false;
    let env_db = std::env::var("MOMENTUM_DB").ok().filter(|d| !d.is_empty());
    let mut flag_db = false;
    if let Ok(spec) = std::env::var("MOMENTUM_RATE_LIMITS") {
        c.limits
            .apply(&spec)
            .map_err(|e| format!("MOMENTUM_RATE_LIMITS: {e}"))?;
    }
    if let Ok(v) = std::env::var("MOMENTUM_TRUST_FORWARDED_FOR") {
        c.trust_forwarded_for = match v.as_str() {
            "1" | "true" => true,
            "" | "0" | "false" => false,
            _ => return Err("MOMENTUM_TRUST_FORWARDED_FOR: expected 1 or 0".into()),
        };
    }
    let mut stripe_flags = StripeFlags::default();
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "--trust-forwarded-for" if inline.is_none() => c.trust_forwarded_for = true,
            "--trust-forwarded-for" => return Err("--trust-forwarded-for takes no value".into()),
            "--addr" => c.addr = value()?.parse().map_err(|e| format!("--addr: {e}"))?,
            "--db" => {
                c.db = Database::parse(&value()?);
                flag_db = true;
            }
            "--test-gateway-db" => c.test_gateway_db = Some(PathBuf::from(value()?)),
            "--static-dir" => c.static_dir = Some(PathBuf::from(value()?)),
            "--admin-key" => {
                c.admin_key = admin_key(value()?, "--admin-key")?;
                flag_key = true;
            }
            "--rate-limit" => c
                .limits
                .apply(&value()?)
                .map_err(|e| format!("--rate-limit: {e}"))?,
            "--header-timeout-secs" => {
                c.connections.header_timeout = secs("--header-timeout-secs", value()?)?
            }
            "--idle-timeout-secs" => {
                c.connections.idle_timeout = secs("--idle-timeout-secs", value()?)?
            }
            "--max-connections" => {
                c.connections.max_connections = match value()?.parse::<usize>() {
                    Ok(n) if (1..=1_000_000).contains(&n) => n,
                    _ => return Err("--max-connections: expected 1 to 1000000".into()),
                }
            }
            "--processing-delay-ms" => {
                c.processing_delay = Duration::from_millis(
                    value()?
                        .parse()
                        .map_err(|e| format!("--processing-delay-ms: {e}"))?,
                )
            }
            "--test-crash-window-ms" => {
                c.test_crash_window = Duration::from_millis(
                    value()?
                        .parse()
                        .map_err(|e| format!("--test-crash-window-ms: {e}"))?,
                )
            }
            "--public-url" => c.public_url = Some(value()?),
            "--offers" => c.offers_file = Some(PathBuf::from(value()?)),
            "--gateway" => {
                stripe_flags.gateway = match value()?.as_str() {
                    "test" => false,
                    "stripe" => true,
                    _ => return Err("--gateway: expected test or stripe".into()),
                }
            }
            "--stripe-publishable-key" => stripe_flags.publishable_key = Some(value()?),
            "--stripe-api-base" => {
                stripe_flags.api_base = Some(http_url("--stripe-api-base", value()?)?)
            }
            "--stripe-js-url" => stripe_flags.js_url = Some(http_url("--stripe-js-url", value()?)?),
            "--stripe-dialect" => {
                stripe_flags.dialect = match value()?.as_str() {
                    "stripe" => Dialect::Stripe,
                    "localstripe" => Dialect::Localstripe,
                    _ => return Err("--stripe-dialect: expected stripe or localstripe".into()),
                }
            }
            other => return Err(format!("unknown option {other} (see --help)")),
        }
    }
    c.gateway = stripe_flags.choice()?;
    if let (Some(d), false) = (env_db, flag_db) {
        c.db = Database::parse(&d);
    }
    if let (Some(k), false) = (env_key, flag_key) {
        c.admin_key = admin_key(k, "MOMENTUM_ADMIN_KEY")?;
    }
    // The demo key is printed in the docs: anyone who can reach the server could refund orders.
    if c.admin_key == DEMO_ADMIN_KEY && !c.addr.ip().to_canonical().is_loopback() {
        return Err(format!(
            "refusing to listen on {} with the demo admin key: set --admin-key or \
             MOMENTUM_ADMIN_KEY (at least {MIN_ADMIN_KEY_CHARS} characters), or listen on a \
             loopback address such as 127.0.0.1",
            c.addr
        ));
    }
    Ok(Some(c))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match parse(std::env::args().skip(1).collect()) {
        Ok(Some(c)) => c,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("momentum-server: {e}");
            return ExitCode::from(2);
        }
    };
    if config.admin_key == DEMO_ADMIN_KEY {
        eprintln!("momentum-server: using the demo admin key (set --admin-key or MOMENTUM_ADMIN_KEY outside demos)");
    }
    let server = match Server::bind(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("momentum-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    match server.local_addr() {
        Ok(a) => println!("momentum-server listening on http://{a}"),
        Err(e) => {
            eprintln!("momentum-server: {e}");
            return ExitCode::FAILURE;
        }
    }
    match server.run(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("momentum-server: {e}");
            ExitCode::FAILURE
        }
    }
}
