//! `cargo xtask demo` runs the demo; `cargo xtask test` runs every test. Both install what the
//! project needs on a fresh machine and skip what is already there.

mod bundle;
mod contract;
mod dead_exports;
mod locales;
mod postgres;
mod split;
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask <command>

  demo [--port N] [--stripe]
                    build the widget (release) and serve the demo on http://127.0.0.1:8080;
                    --stripe takes payments with Stripe (env STRIPE_SECRET_KEY and
                    STRIPE_PUBLISHABLE_KEY: your test-mode keys) and serves the Stripe
                    Elements example page at /stripe/example.html
  test              run every test: fmt, clippy, host tests (the server's on SQLite, then on a
                    throwaway Postgres), wasm tests, size budget, benchmarks, Playwright
  test-postgres     only the server's tests, the conformance kit and the load generator on a
                    throwaway Postgres
  build [--names]   build the release bundle into dist/ and print its sizes; --names keeps
                    the wasm function names (for twiggy and browser profiles; no ratchet)
  conformance       lint docs/openapi.yaml and run momentum-conformance against the reference backend
  localstripe       install localstripe (the Stripe tests' fake Stripe) into target/ and print its path";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(&args[1..]),
        Some("test") => test(),
        Some("conformance") => contract::lint_openapi()
            .and_then(|()| contract::fresh_sqlite())
            .and_then(|db| contract::conformance(&db)),
        Some("test-postgres") => postgres_pass(),
        Some("build") => build(&args[1..]),
        Some("localstripe") => {
            tools::ensure_localstripe().map(|_| println!("{}", tools::localstripe_bin().display()))
        }
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn build(args: &[String]) -> Result<(), String> {
    let keep_names = match args {
        [] => false,
        [flag] if flag == "--names" => true,
        _ => return Err(USAGE.to_owned()),
    };
    tools::ensure_build_tools()?;
    bundle::build(keep_names).map(drop)
}

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs `command` in the workspace root with node_modules/.bin first on PATH; fails on non-zero.
pub fn run(program: &str, args: &[&str]) -> Result<(), String> {
    run_with(program, args, &[])
}

pub fn run_with(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let line = format!("{program} {}", args.join(" "));
    println!("\n==> {line}");
    let status = command(program)
        .args(args)
        .envs(env.iter().copied())
        .status()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

/// A command with the project's environment: node_modules/.bin and cargo's bin dir on PATH.
pub fn command(program: &str) -> Command {
    let root = root();
    let mut path = vec![root.join("node_modules/.bin"), tools::cargo_bin_dir()];
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let mut command = Command::new(program);
    command
        .current_dir(&root)
        .env("PATH", std::env::join_paths(path).unwrap_or_default());
    command
}

fn demo(args: &[String]) -> Result<(), String> {
    let stripe = args.iter().any(|a| a == "--stripe");
    let rest: Vec<&String> = args.iter().filter(|a| *a != "--stripe").collect();
    let port = match rest.as_slice() {
        [] => "8080".to_owned(),
        [flag, port] if *flag == "--port" && port.parse::<u16>().is_ok() => port.to_string(),
        _ => {
            return Err(format!(
                "demo: expected `--port N` and/or `--stripe`, got {args:?}\n\n{USAGE}"
            ))
        }
    };
    tools::ensure_build_tools()?;
    bundle::build(false)?;
    run(
        "cargo",
        &["build", "--profile", "host", "-p", "momentum-server"],
    )?;
    let db = root().join("target/demo.sqlite");
    let addr = format!("127.0.0.1:{port}");
    println!(
        "\nMomentum demo: http://{addr}/  (Ctrl-C to stop; orders are kept in {})",
        db.display()
    );
    if stripe {
        println!("Stripe Elements example page: http://{addr}/stripe/example.html");
    }
    let db = db.to_string_lossy();
    let mut server = vec!["--addr", &addr, "--db", &db, "--static-dir", "dist"];
    if stripe {
        server.extend(["--gateway", "stripe"]);
    }
    run("target/host/momentum-server", &server)
}

/// The server's integration suite again on a throwaway Postgres (with the two-instance tests,
/// which only run there), then the open-loop load generator on both stores. The cluster is
/// stopped when this returns, failed or not.
fn postgres_pass() -> Result<(), String> {
    let pg = postgres::TestPostgres::start()?;
    let url = pg.url();
    let env = [("MOMENTUM_TEST_DB", url.as_str())];
    run_with("cargo", &["test", "-p", "momentum-server", "--tests"], &env)?;
    // The contract on Postgres: the cluster's own database is left to the kit (the tests made theirs).
    contract::conformance(&url)?;
    run_with(
        "cargo",
        &[
            "bench",
            "-p",
            "momentum-server",
            "--bench",
            "load",
            "--profile",
            "host",
        ],
        &env,
    )
}

fn test() -> Result<(), String> {
    tools::ensure_build_tools()?;
    tools::ensure_browser()?;
    tools::ensure_localstripe()?;
    let wasm = "wasm32-unknown-unknown";
    run("cargo", &["fmt", "--all", "--check"])?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    run(
        "cargo",
        &[
            "clippy",
            "-p",
            "momentum",
            "--target",
            wasm,
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    run("cargo", &["test", "--workspace"])?;
    run("cargo", &["test", "-p", "momentum", "--target", wasm])?;
    bundle::build(false)?;
    run(
        "cargo",
        &[
            "bench",
            "-p",
            "momentum-server",
            "--bench",
            "create_order",
            "--profile",
            "host",
        ],
    )?;
    postgres_pass()?;
    run(
        "cargo",
        &["bench", "-p", "momentum-core", "--bench", "exit_intent"],
    )?;
    run(
        "cargo",
        &["bench", "-p", "momentum-core", "--bench", "metrics"],
    )?;
    // The dashboard's metrics over 1 M orders and 10 M events (the database is generated once,
    // ~65 s, and cached under target/tmp).
    run(
        "cargo",
        &[
            "bench",
            "-p",
            "momentum-server",
            "--bench",
            "metrics",
            "--profile",
            "host",
        ],
    )?;
    run("cargo", &["build", "-p", "momentum-server"])?;
    contract::lint_openapi()?;
    contract::conformance(&contract::fresh_sqlite()?)?;
    let no_download = [("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")];
    run_with(
        "npx",
        &["playwright", "test", "--config", "e2e/playwright.config.ts"],
        &no_download,
    )?;
    // The Stripe gateway end to end: Stripe Elements (localstripe's) on a host page, the widget,
    // the backend with --gateway stripe, and localstripe, started and stopped by Playwright.
    run_with(
        "npx",
        &[
            "playwright",
            "test",
            "--config",
            "e2e/playwright.stripe.config.ts",
        ],
        &no_download,
    )?;
    // Browser benchmarks (they print figures; e.g. payment → upsell card under 4x CPU throttling).
    run_with(
        "npx",
        &[
            "playwright",
            "test",
            "--config",
            "e2e/playwright.bench.config.ts",
        ],
        &no_download,
    )
}
