//! Installs what the build and the tests need, and skips what is already there, so a fresh machine
//! needs nothing but the two README commands and a warm one starts in seconds.

use std::path::{Path, PathBuf};

use crate::{command, root, run, run_with};

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Where `cargo install` puts binaries.
pub fn cargo_bin_dir() -> PathBuf {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    cargo_home.join("bin")
}

/// What the release pipeline (`split.rs`, `bundle.rs`) needs: the wasm target, the matching
/// wasm-bindgen CLI, and the npm tools (esbuild, binaryen's wasm-opt, Playwright, Redocly's linter).
pub fn ensure_build_tools() -> Result<(), String> {
    let targets = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !targets.lines().any(|t| t.trim() == WASM_TARGET) {
        run("rustup", &["target", "add", WASM_TARGET])?;
    }
    let bindgen = wasm_bindgen_version()?;
    let bindgen_installed = output("wasm-bindgen", &["--version"])
        .is_some_and(|v| v.split_whitespace().nth(1) == Some(bindgen.as_str()));
    if !bindgen_installed {
        // Not --locked: one of its locked dependencies is no longer in the index.
        run(
            "cargo",
            &[
                "install",
                "wasm-bindgen-cli",
                "--version",
                &bindgen,
                "--force",
            ],
        )?;
    }
    let npm_ready = ["esbuild", "wasm-opt", "playwright", "redocly"]
        .iter()
        .all(|bin| root().join("node_modules/.bin").join(bin).exists());
    if !npm_ready {
        // Playwright drives Debian's chromium; its own browser download cannot work here.
        run_with(
            "npm",
            &["ci", "--no-audit", "--no-fund"],
            &[("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")],
        )?;
    }
    Ok(())
}

/// Debian's chromium and chromedriver, for the wasm tests and Playwright, and the DejaVu fonts the
/// committed screenshots were taken with (their Arabic and Hebrew glyphs among them).
pub fn ensure_browser() -> Result<(), String> {
    let present = [
        "/usr/bin/chromium",
        "/usr/bin/chromedriver",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    ];
    if present.iter().all(|path| Path::new(path).exists()) {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver", "fonts-dejavu-core"])
}

/// `true` when running as root.
pub fn is_root() -> bool {
    output("id", &["-u"]).is_some_and(|id| id.trim() == "0")
}

/// Installs Debian packages (after `apt-get update`).
pub fn apt_install(packages: &[&str]) -> Result<(), String> {
    // These machines run as root; elsewhere go through sudo (which keeps DEBIAN_FRONTEND via -E).
    let as_root = is_root();
    let apt = |args: &[&str]| {
        let env = [("DEBIAN_FRONTEND", "noninteractive")];
        if as_root {
            run_with("apt-get", args, &env)
        } else {
            run_with("sudo", &[&["-E", "apt-get"], args].concat(), &env)
        }
    };
    apt(&["update"])?;
    apt(&[&["install", "-y"], packages].concat())
}

/// localstripe, the fake Stripe the Stripe gateway's tests run against: pinned, from PyPI, in a
/// virtual environment under target/ (created once; reinstalled when the version differs).
pub const LOCALSTRIPE_VERSION: &str = "1.15.10";

/// The localstripe executable [`ensure_localstripe`] installs.
pub fn localstripe_bin() -> PathBuf {
    root().join("target/localstripe-venv/bin/localstripe")
}

pub fn ensure_localstripe() -> Result<(), String> {
    let venv = root().join("target/localstripe-venv");
    let pip = venv.join("bin/pip");
    let pip = pip.to_string_lossy();
    let installed = output(&pip, &["show", "localstripe"]).is_some_and(|info| {
        info.lines()
            .any(|l| l.trim() == format!("Version: {LOCALSTRIPE_VERSION}"))
    });
    if installed && localstripe_bin().exists() {
        return Ok(());
    }
    if !venv.join("bin/pip").exists() {
        let create = || {
            run(
                "python3",
                &["-m", "venv", "--clear", &venv.to_string_lossy()],
            )
        };
        if create().is_err() {
            // Debian ships venv's pip bootstrap separately.
            apt_install(&["python3-venv"])?;
            create()?;
        }
    }
    run(
        &pip,
        &[
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("localstripe=={LOCALSTRIPE_VERSION}"),
        ],
    )
}

/// The wasm-bindgen version Cargo.lock resolved (the CLI must match it exactly).
fn wasm_bindgen_version() -> Result<String, String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("Cargo.lock: {e} (run `cargo generate-lockfile`)"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            if let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                return Ok(version.trim_end_matches('"').to_owned());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen package".into())
}

/// A command's stdout, or None when it is missing or fails.
fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = command(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
