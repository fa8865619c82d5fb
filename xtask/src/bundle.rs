//! The release bundle: trunk compiles the widget (wasm-bindgen, wasm-opt -Oz), esbuild bundles the
//! loader with the glue and the CSS into one minified module, and every build prints the size of
//! what a shopper's phone downloads and applies the size ratchet (see `ratchet`). The `.br`
//! and `.gz` next to each shipped file are the very bytes the report counts, so a server that sends
//! them (the reference backend does) delivers exactly the reported size.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::{root, run};

/// The files a creator's page loads, in dist/.
const SHIPPED: [&str; 2] = ["momentum.js", "momentum_bg.wasm"];

/// Builds dist/ and returns the brotli total in bytes.
pub fn build() -> Result<u64, String> {
    let root = root();
    run("trunk", &["build", "--release"])?;
    let dist = root.join("dist");
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
    run(
        "esbuild",
        &[
            "src/loader.js",
            "--bundle",
            "--format=esm",
            "--minify",
            "--target=es2022",
            "--log-level=warning",
            "--alias:momentum-glue=./target/trunk/momentum.js",
            "--alias:momentum-style=./target/momentum.min.css",
            "--loader:.css=text",
            "--outfile=dist/momentum.js",
        ],
    )?;
    copy(
        &root.join("target/trunk/momentum_bg.wasm"),
        &dist.join("momentum_bg.wasm"),
    )?;
    // With inject_scripts off, trunk leaves its own <link data-trunk …> tag behind; drop it.
    let page = fs::read_to_string(root.join("target/trunk/index.html"))
        .map_err(|e| format!("index.html: {e}"))?;
    let page: Vec<&str> = page
        .lines()
        .filter(|line| !line.contains("data-trunk"))
        .collect();
    fs::write(dist.join("index.html"), page.join("\n"))
        .map_err(|e| format!("dist/index.html: {e}"))?;
    report(&dist)
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("copy {} → {}: {e}", from.display(), to.display()))
}

/// Prints raw/gzip/brotli per shipped file and in total, writes the compressed variants and
/// target/size-report.json; then applies the ratchet.
fn report(dist: &Path) -> Result<u64, String> {
    println!("\nShipped files (bytes)       raw       gzip     brotli");
    let mut total = [0u64; 3];
    let mut per_file = Vec::new();
    for name in SHIPPED {
        let sizes = precompress(dist, name)?;
        per_file.push((name, sizes));
        println!(
            "  {name:<22} {:>9} {:>10} {:>10}",
            sizes[0], sizes[1], sizes[2]
        );
        for (sum, size) in total.iter_mut().zip(sizes) {
            *sum += size;
        }
    }
    println!(
        "  {:<22} {:>9} {:>10} {:>10}",
        "total", total[0], total[1], total[2]
    );
    write_size_report(&per_file, total)?;
    ratchet(total[2], budget()?)
}

/// The goal (README, Size): what a shopper downloads before the checkout is interactive.
const GOAL_BROTLI: u64 = 64 * 1024;
/// The most headroom the ratchet may leave above the measured size.
const MAX_HEADROOM: u64 = 4 * 1024;
/// The headroom to set when lowering the ratchet.
const HEADROOM: u64 = 2 * 1024;

/// The size ratchet: fails when the bundle grew past `size-budget-brotli`, and when it shrank so
/// far below it that the ratchet must come down (in the same commit) to keep growth visible.
fn ratchet(brotli: u64, budget: u64) -> Result<u64, String> {
    println!(
        "  ratchet {budget} B brotli: {}",
        if brotli <= budget {
            format!("ok, {} B of headroom", budget - brotli)
        } else {
            format!("OVER by {} B", brotli - budget)
        }
    );
    println!(
        "  goal {GOAL_BROTLI} B brotli before the checkout is interactive: {}",
        match brotli.checked_sub(GOAL_BROTLI) {
            Some(over) => format!(
                "{over} B to cut ({:.2}x the goal)",
                brotli as f64 / GOAL_BROTLI as f64
            ),
            None => format!("met, {} B under", GOAL_BROTLI - brotli),
        }
    );
    let suggestion = brotli + HEADROOM;
    if brotli > budget {
        return Err(format!(
            "the bundle is {brotli} B brotli, over the {budget} B ratchet (`size-budget-brotli` in \
             Cargo.toml): make it smaller, or raise the ratchet in a commit that says why"
        ));
    }
    if budget - brotli > MAX_HEADROOM {
        return Err(format!(
            "the bundle shrank to {brotli} B brotli, more than {MAX_HEADROOM} B under the {budget} B \
             ratchet: lower `size-budget-brotli` in Cargo.toml to {suggestion} in this commit"
        ));
    }
    Ok(brotli)
}

/// `[workspace.metadata.momentum] size-budget-brotli` in the root Cargo.toml.
fn budget() -> Result<u64, String> {
    let manifest =
        fs::read_to_string(root().join("Cargo.toml")).map_err(|e| format!("Cargo.toml: {e}"))?;
    manifest
        .lines()
        .find_map(|line| line.strip_prefix("size-budget-brotli = "))
        .and_then(|value| value.trim().replace('_', "").parse().ok())
        .ok_or_else(|| {
            "Cargo.toml: missing `size-budget-brotli = <bytes>` under [workspace.metadata.momentum]"
                .into()
        })
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
/// `{"files":{"momentum.js":{"raw":…,"gzip":…,"brotli":…},…},"total":{…}}`.
fn write_size_report(per_file: &[(&str, [u64; 3])], total: [u64; 3]) -> Result<(), String> {
    let sizes = |[raw, gzip, brotli]: [u64; 3]| {
        format!(r#"{{"raw":{raw},"gzip":{gzip},"brotli":{brotli}}}"#)
    };
    let files: Vec<String> = per_file
        .iter()
        .map(|&(name, file)| format!(r#""{name}":{}"#, sizes(file)))
        .collect();
    let json = format!(
        r#"{{"files":{{{}}},"total":{}}}"#,
        files.join(","),
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
