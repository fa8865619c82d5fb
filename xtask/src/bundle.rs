//! The release bundle: `split.rs` compiles and splits the widget (wasm-bindgen, wasm-opt -Oz on
//! every module), esbuild bundles the loader with the glue and the CSS into one minified module,
//! and every build prints the size of what a shopper's phone downloads and applies the size
//! ratchet (see `ratchet`). The `.br`
//! and `.gz` next to each shipped file are the very bytes the report counts, so a server that sends
//! them (the reference backend does) delivers exactly the reported size.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::{locales, root, run, split};

/// The loader, bundled with the glue and the CSS: the script tag's file.
const LOADER: &str = "momentum.js";
/// The main wasm module; with the loader, the checkout's critical path.
const MAIN_WASM: &str = "momentum_bg.wasm";

/// Builds dist/ and returns the brotli total in bytes. With `keep_names` (`cargo xtask build
/// --names`) the modules keep their function names for twiggy and browser profiles: that is not a
/// release, so its sizes are printed but neither recorded nor held to the ratchet.
pub fn build(keep_names: bool) -> Result<u64, String> {
    let root = root();
    let modules = split::build(keep_names)?;
    let dist = root.join("dist");
    // A release is one atomic set of files: nothing from an earlier build stays behind.
    let _ = fs::remove_dir_all(&dist);
    fs::create_dir_all(&dist).map_err(|e| format!("dist/: {e}"))?;
    run(
        "esbuild",
        &[
            "style/momentum.css",
            "--minify",
            "--log-level=warning",
            "--outfile=target/momentum.min.css",
        ],
    )?;
    let glue = format!("--alias:momentum-glue=./{}/momentum.js", split::OUT);
    let (defines, languages) = locales::bundle(&root, &dist)?;
    let defines: Vec<&str> = defines.iter().map(String::as_str).collect();
    run(
        "esbuild",
        &[
            &defines[..],
            &[
                "src/loader.js",
                "--bundle",
                "--format=esm",
                "--minify",
                "--target=es2022",
                "--log-level=warning",
                // wasm-bindgen lists the split link module once per import in its imports object; both
                // keys are the same module namespace, so the duplicate is harmless.
                "--log-override:duplicate-object-key=silent",
                &glue,
                "--alias:momentum-style=./target/momentum.min.css",
                "--loader:.css=text",
                "--outfile=dist/momentum.js",
            ],
        ]
        .concat(),
    )?;
    let mut shipped = Vec::new();
    for module in std::iter::once(&modules.main).chain(&modules.chunks) {
        let name = module
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        copy(module, &dist.join(&name))?;
        shipped.push(name);
    }
    copy(&root.join("index.html"), &dist.join("index.html"))?;
    shipped.extend(languages);
    report(&dist, &shipped, !keep_names)
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("copy {} → {}: {e}", from.display(), to.display()))
}

/// Prints raw/gzip/brotli per shipped file, for the critical path (the loader and the main module,
/// all a shopper downloads before the checkout is interactive) and in total; writes the compressed
/// variants; for a `release`, also target/size-report.json and the ratchet on every figure.
fn report(dist: &Path, files: &[String], release: bool) -> Result<u64, String> {
    println!("\nShipped files (bytes)       raw       gzip     brotli");
    let names: Vec<&str> = std::iter::once(LOADER)
        .chain(files.iter().map(String::as_str))
        .collect();
    let mut rows = Vec::new();
    for name in names {
        rows.push((name.to_owned(), precompress(dist, name)?));
    }
    let sum = |pick: &dyn Fn(&str) -> bool| {
        rows.iter()
            .filter(|(name, _)| pick(name))
            .fold([0u64; 3], |mut sum, (_, sizes)| {
                sum.iter_mut().zip(sizes).for_each(|(s, x)| *s += x);
                sum
            })
    };
    let critical = sum(&|name| name == LOADER || name == MAIN_WASM);
    let total = sum(&|_| true);
    let files = rows.len();
    rows.push((CRITICAL_PATH.to_owned(), critical));
    rows.push((TOTAL.to_owned(), total));
    for (index, (name, [raw, gzip, brotli])) in rows.iter().enumerate() {
        if index == files {
            println!("  {}", "-".repeat(53));
        }
        println!("  {name:<22} {raw:>9} {gzip:>10} {brotli:>10}");
    }
    if !release {
        println!("  (names kept: not a release, so no size report and no ratchet)");
        return Ok(total[2]);
    }
    write_size_report(&rows[..files], critical, total)?;
    ratchet(&rows, &budgets()?)?;
    Ok(total[2])
}

/// The size-report and ratchet names of the two sums.
const CRITICAL_PATH: &str = "critical path";
const TOTAL: &str = "total";
/// The goal (README, Size): what a shopper downloads before the checkout is interactive.
const GOAL_BROTLI: u64 = 64 * 1024;
/// The most headroom the ratchet may leave above a measured size.
const MAX_HEADROOM: u64 = 4 * 1024;
/// The headroom to set when lowering the ratchet.
const HEADROOM: u64 = 2 * 1024;

/// The size ratchet, per shipped file, for the critical path and in total: fails when one grew
/// past its budget, and when one shrank so far below it that the budget must come down (in the
/// same commit) to keep growth visible.
fn ratchet(rows: &[(String, [u64; 3])], budgets: &[(String, u64)]) -> Result<(), String> {
    let mut problems = Vec::new();
    for (name, [.., brotli]) in rows {
        let Some(&(_, budget)) = budgets.iter().find(|(n, _)| n == name) else {
            problems.push(format!(
                "{name}: no budget; add `\"{name}\" = {}` to {BUDGET_TABLE} in Cargo.toml",
                brotli + HEADROOM
            ));
            continue;
        };
        let state = match budget.checked_sub(*brotli) {
            None => {
                problems.push(format!(
                    "{name} is {brotli} B brotli, over its {budget} B budget: make it smaller, or \
                     raise the budget in a commit that says why"
                ));
                format!("OVER by {} B", brotli - budget)
            }
            Some(headroom) if headroom > MAX_HEADROOM => {
                problems.push(format!(
                    "{name} shrank to {brotli} B brotli, more than {MAX_HEADROOM} B under its \
                     {budget} B budget: lower it to {} in this commit",
                    brotli + HEADROOM
                ));
                format!("{headroom} B of headroom: lower the budget")
            }
            Some(headroom) => format!("ok, {headroom} B of headroom"),
        };
        println!("  ratchet {name:<22} {budget:>7} B brotli: {state}");
    }
    if let Some((_, [.., critical])) = rows.iter().find(|(n, _)| n == CRITICAL_PATH) {
        println!(
            "  goal {GOAL_BROTLI} B brotli before the checkout is interactive: {}",
            match critical.checked_sub(GOAL_BROTLI) {
                Some(over) => format!(
                    "{over} B to cut ({:.2}x the goal)",
                    *critical as f64 / GOAL_BROTLI as f64
                ),
                None => format!("met, {} B under", GOAL_BROTLI - critical),
            }
        );
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(problems.join("\n")),
    }
}

const BUDGET_TABLE: &str = "[workspace.metadata.momentum.size-budget-brotli]";

/// `"<name>" = <bytes>` lines of the budget table in the root Cargo.toml.
fn budgets() -> Result<Vec<(String, u64)>, String> {
    let manifest =
        fs::read_to_string(root().join("Cargo.toml")).map_err(|e| format!("Cargo.toml: {e}"))?;
    let table = manifest
        .split_once(BUDGET_TABLE)
        .map(|(_, rest)| rest)
        .ok_or_else(|| format!("Cargo.toml: missing {BUDGET_TABLE}"))?;
    let mut budgets = Vec::new();
    for line in table.lines().map(str::trim) {
        if line.starts_with('[') {
            break;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let entry = line.split_once(" = ").and_then(|(name, value)| {
            let name = name.trim_matches('"').to_owned();
            Some((name, value.replace('_', "").parse().ok()?))
        });
        budgets
            .push(entry.ok_or_else(|| format!("Cargo.toml {BUDGET_TABLE}: can't read `{line}`"))?);
    }
    Ok(budgets)
}

/// Writes `<name>.gz` and `<name>.br` next to dist/<name>; returns the raw, gzip and brotli sizes.
fn precompress(dist: &Path, name: &str) -> Result<[u64; 3], String> {
    let raw = fs::read(dist.join(name)).map_err(|e| format!("dist/{name}: {e}"))?;
    let (gz, br) = (gzip(&raw)?, brotli(&raw)?);
    for (extension, compressed) in [("gz", &gz), ("br", &br)] {
        fs::write(dist.join(format!("{name}.{extension}")), compressed)
            .map_err(|e| format!("dist/{name}.{extension}: {e}"))?;
    }
    Ok([raw.len() as u64, gz.len() as u64, br.len() as u64])
}

/// target/size-report.json, the printed table for tests to read:
/// `{"files":{"momentum.js":{"raw":…,"gzip":…,"brotli":…},…},"critical_path":{…},"total":{…}}`.
fn write_size_report(
    per_file: &[(String, [u64; 3])],
    critical: [u64; 3],
    total: [u64; 3],
) -> Result<(), String> {
    let sizes = |[raw, gzip, brotli]: [u64; 3]| {
        format!(r#"{{"raw":{raw},"gzip":{gzip},"brotli":{brotli}}}"#)
    };
    let files: Vec<String> = per_file
        .iter()
        .map(|(name, file)| format!(r#""{name}":{}"#, sizes(*file)))
        .collect();
    let json = format!(
        r#"{{"files":{{{}}},"critical_path":{},"total":{}}}"#,
        files.join(","),
        sizes(critical),
        sizes(total)
    );
    fs::write(root().join("target/size-report.json"), json + "\n")
        .map_err(|e| format!("target/size-report.json: {e}"))
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).map_err(|e| e.to_string())?;
    encoder.finish().map_err(|e| e.to_string())
}

fn brotli(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).map_err(|e| e.to_string())?;
    Ok(out)
}
