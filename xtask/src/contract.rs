//! The contract's steps of `cargo xtask test`: lint `docs/openapi.yaml`, and run the conformance
//! kit against the reference backend.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::{command, root, run, run_with};

/// `@redocly/cli lint` on the OpenAPI file (the npm devDependency).
pub fn lint_openapi() -> Result<(), String> {
    if !root().join("node_modules/.bin/redocly").exists() {
        run_with(
            "npm",
            &["ci", "--no-audit", "--no-fund"],
            &[("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")],
        )?;
    }
    run(
        "npx",
        &[
            "redocly",
            "lint",
            "--config",
            "docs/redocly.yaml",
            "docs/openapi.yaml",
        ],
    )
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root().join(d) })
        .unwrap_or_else(|| root().join("target"))
}

/// A throwaway SQLite file for the conformance run (removed first, so every run starts empty).
pub fn fresh_sqlite() -> Result<String, String> {
    fresh_file("conformance.sqlite")
}

/// `target/tmp/<name>`, with no database left there by an earlier run.
fn fresh_file(name: &str) -> Result<String, String> {
    let dir = target_dir().join("tmp");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let db = dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    Ok(db.to_string_lossy().into_owned())
}

/// With Postgres the test gateway keeps a SQLite file of its own: a fresh one under target/tmp.
fn gateway_file(db: &str) -> Result<Vec<String>, String> {
    if !db.starts_with("postgres") {
        return Ok(Vec::new());
    }
    let file = fresh_file("conformance-gateway.sqlite")?;
    Ok(vec!["--test-gateway-db".into(), file])
}

/// Builds the server and the kit, starts the server on a free port with `--db <db>` (a SQLite
/// path or any store URL the server takes), runs `momentum-conformance` against it, stops it.
pub fn conformance(db: &str) -> Result<(), String> {
    run(
        "cargo",
        &[
            "build",
            "-p",
            "momentum-server",
            "-p",
            "momentum-conformance",
        ],
    )?;
    let bin = target_dir().join("debug");
    // A key for this run only, handed over in the environment (never a flag).
    let key = format!("sk_test_conformance_{}", std::process::id());
    println!("\n==> momentum-server --db {db} + momentum-conformance");
    let mut server = Command::new(bin.join("momentum-server"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--db",
            db,
            // The kit places ~40 orders in a few seconds from one address.
            "--rate-limit",
            "off",
            "--processing-delay-ms",
            "300",
            // Charges take 2 × 100 ms, so that concurrent duplicates overlap the first one
            // (idempotency.in_flight_409).
            "--test-crash-window-ms",
            "100",
        ])
        .args(gateway_file(db)?)
        .env("MOMENTUM_ADMIN_KEY", &key)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("could not start momentum-server: {e}"))?;
    let mut line = String::new();
    let read = server
        .stdout
        .take()
        .map(|out| BufReader::new(out).read_line(&mut line));
    let base = line
        .trim()
        .strip_prefix("momentum-server listening on ")
        .map(str::to_string);
    let result = match (read, base) {
        (Some(Ok(_)), Some(base)) => {
            let status = command(&bin.join("momentum-conformance").to_string_lossy())
                .args(["--api", &base])
                .env("MOMENTUM_ADMIN_KEY", &key)
                .status()
                .map_err(|e| format!("could not start momentum-conformance: {e}"));
            match status {
                Ok(s) if s.success() => Ok(()),
                Ok(s) => Err(format!(
                    "momentum-conformance against --db {db} failed ({s})"
                )),
                Err(e) => Err(e),
            }
        }
        _ => Err(format!("momentum-server did not start: {line:?}")),
    };
    let _ = server.kill();
    let _ = server.wait();
    result
}
