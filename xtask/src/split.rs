//! The release wasm pipeline that trunk cannot do (trunk-rs/trunk#1022): compile with the split
//! points on and relocations kept, split the module at them (`wasm_split_cli_support`, the splitter
//! Leptos' own tooling uses), run wasm-bindgen on the main module, drop the exports nothing uses
//! (`dead_exports.rs`), then wasm-opt on every module.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{root, run, run_with};

const TARGET: &str = "wasm32-unknown-unknown";
/// Where the split modules, the link module and wasm-bindgen's glue are written.
pub const OUT: &str = "target/split";

/// The wasm files of one release, in `OUT`, optimized: the main module first, then the chunks.
pub struct Modules {
    pub main: PathBuf,
    pub chunks: Vec<PathBuf>,
}

/// Compiles, splits, binds and optimizes the widget; the glue is `OUT/momentum.js`. With
/// `keep_names`, every module keeps its function names (for twiggy and browser profiles).
pub fn build(keep_names: bool) -> Result<Modules, String> {
    let root = root();
    // `momentum_split` turns on the split points (src/lazy.rs); the splitter needs the relocations.
    // `erase_components` has Leptos type-erase each component's view: its many nested view types
    // compress worse than one erased type per component (main -2.0 KB, chunk -3.1 KB brotli).
    let rustflags = "--cfg momentum_split --cfg erase_components -Clink-args=--emit-relocs";
    run_with(
        "cargo",
        &[
            "build",
            "--release",
            "--lib",
            "-p",
            "momentum",
            "--target",
            TARGET,
        ],
        &[("RUSTFLAGS", rustflags)],
    )?;
    let out = root.join(OUT);
    // Chunks of an earlier build must not linger into this release.
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(&out).map_err(|e| format!("{OUT}: {e}"))?;
    let input = root.join(format!("target/{TARGET}/release/momentum.wasm"));
    let wasm = fs::read(&input).map_err(|e| format!("{}: {e}", input.display()))?;
    let unbound = out.join("momentum_split.wasm");
    println!("\n==> split {}", input.display());
    let split = wasm_split_cli_support::transform({
        let mut options = wasm_split_cli_support::Options::new(&wasm);
        options.output_dir = &out;
        options.main_out_path = &unbound;
        // The link module imports `initSync` from the glue, next to it.
        options.main_module = "./momentum.js";
        options
    })
    .map_err(|e| format!("wasm split: {e:#}"))?;
    let keep_debug: &[&str] = if keep_names { &["--keep-debug"] } else { &[] };
    run(
        "wasm-bindgen",
        &[
            keep_debug,
            &[
                "--target",
                "web",
                "--no-typescript",
                // The chunks link against the main module's own exports (memory, table, functions).
                "--keep-lld-exports",
                "--out-name",
                "momentum",
                "--out-dir",
                OUT,
                &unbound.to_string_lossy(),
            ],
        ]
        .concat(),
    )?;
    let main = out.join("momentum_bg.wasm");
    crate::dead_exports::remove(&main, &out.join("momentum.js"), keep_names)?;
    let mut modules = Modules {
        main: main.clone(),
        chunks: split.split_modules,
    };
    modules.chunks.sort();
    for module in std::iter::once(&modules.main).chain(&modules.chunks) {
        optimize(module, keep_names)?;
    }
    Ok(modules)
}

/// What rustc's wasm32 target emits by default, for binaryen's tools (chunks carry no
/// target_features section to read it from).
pub const FEATURES: [&str; 6] = [
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// wasm-opt -Oz in place (binaryen from npm; Debian's miscompiles this glue); `-g` keeps names.
fn optimize(module: &Path, keep_names: bool) -> Result<(), String> {
    let path = module.to_string_lossy();
    let mut args = vec!["-Oz"];
    if keep_names {
        args.push("-g");
    }
    args.extend(FEATURES);
    args.extend([path.as_ref(), "-o", path.as_ref()]);
    run("wasm-opt", &args)
}
