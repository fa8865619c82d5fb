//! The release bundle: trunk compiles the widget (wasm-bindgen, wasm-opt -Oz), esbuild bundles the
//! loader with the glue and the CSS into one minified module, and every build prints the size of
//! what a shopper's phone downloads and fails when the brotli total is over the budget.

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

/// Prints raw/gzip/brotli per shipped file and in total; fails over the budget.
fn report(dist: &Path) -> Result<u64, String> {
    let budget = budget()?;
    println!("\nShipped files (bytes)       raw       gzip     brotli");
    let mut total = [0u64; 3];
    for name in SHIPPED {
        let bytes = fs::read(dist.join(name)).map_err(|e| format!("dist/{name}: {e}"))?;
        let sizes = [bytes.len() as u64, gzip_len(&bytes)?, brotli_len(&bytes)?];
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
    let brotli = total[2];
    println!(
        "  brotli budget {budget} bytes: {} ({} bytes {})",
        if brotli <= budget { "ok" } else { "OVER" },
        budget.abs_diff(brotli),
        if brotli <= budget { "to spare" } else { "over" }
    );
    if brotli > budget {
        return Err(format!(
            "the bundle is {brotli} bytes brotli, over the {budget}-byte budget in Cargo.toml"
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

fn gzip_len(bytes: &[u8]) -> Result<u64, String> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).map_err(|e| e.to_string())?;
    Ok(encoder.finish().map_err(|e| e.to_string())?.len() as u64)
}

fn brotli_len(bytes: &[u8]) -> Result<u64, String> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).map_err(|e| e.to_string())?;
    Ok(out.len() as u64)
}
