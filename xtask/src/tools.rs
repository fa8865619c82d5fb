//! Installs what the build and the tests need, and skips what is already there, so a fresh machine
//! needs nothing but the two README commands and a warm one starts in seconds.

use std::path::{Path, PathBuf};

use crate::{command, root, run, run_with};

const TRUNK_VERSION: &str = "0.21.14";
const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Where `cargo install` puts binaries.
pub fn cargo_bin_dir() -> PathBuf {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    cargo_home.join("bin")
}

/// What `trunk build` and the bundle step need: the wasm target, trunk, the matching
/// wasm-bindgen CLI, and the npm tools (esbuild, binaryen's wasm-opt, Playwright).
pub fn ensure_build_tools() -> Result<(), String> {
    let targets = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !targets.lines().any(|t| t.trim() == WASM_TARGET) {
        run("rustup", &["target", "add", WASM_TARGET])?;
    }
    if !output("trunk", &["--version"]).is_some_and(|v| v.contains(TRUNK_VERSION)) {
        // trunk 0.22 needs a newer rustc than this machine has.
        run(
            "cargo",
            &["install", "trunk", "--version", TRUNK_VERSION, "--locked"],
        )?;
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
    let npm_ready = ["esbuild", "wasm-opt", "playwright"]
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

/// Debian's chromium and chromedriver, for the wasm tests and Playwright.
pub fn ensure_browser() -> Result<(), String> {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])
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
