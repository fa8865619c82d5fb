//! Leptos always depends on `server_fn` with its `browser` feature, whose `wasm-streams` exports
//! three JS classes (`IntoUnderlyingSource`, `…Sink`, `…ByteSource`) that stream server-function
//! bodies. The widget calls no server functions, and nothing in the module ever constructs one
//! (the glue has no `__wrap` for them), but an export is a root, so LTO and wasm-opt must keep
//! their code, and the glue's top-level `Symbol.dispose` assignments keep their classes in the
//! loader. This drops both: the exports with `wasm-metadce` (binaryen) before wasm-opt, and the
//! classes from the glue. A glue that no longer has the shape expected here fails the build.

use std::fs;
use std::path::Path;

use crate::run;

/// What the dead exports' names contain (their wasm names are lowercase, the JS classes not).
const DEAD: &str = "intounderlying";

/// Removes the dead exports from `module` (in place; `keep_names` keeps its name section) and
/// their classes from `glue`.
pub fn remove(module: &Path, glue: &Path, keep_names: bool) -> Result<(), String> {
    let wasm = fs::read(module).map_err(|e| format!("{}: {e}", module.display()))?;
    let exports = exports(&wasm)?;
    let (dead, live): (Vec<&String>, Vec<&String>) =
        exports.iter().partition(|name| name.contains(DEAD));
    if dead.is_empty() {
        return Err(format!(
            "{}: no `{DEAD}*` export left to drop; remove xtask/src/dead_exports.rs",
            module.display()
        ));
    }
    // The graph: everything outside reaches every live export; the dead ones are unreachable.
    let node = |name: &str| serde_json::json!({ "name": format!("export:{name}"), "export": name });
    let mut graph = vec![serde_json::json!({
        "name": "outside",
        "root": true,
        "reaches": live.iter().map(|name| format!("export:{name}")).collect::<Vec<_>>(),
    })];
    graph.extend(exports.iter().map(|name| node(name)));
    let graph_file = module.with_extension("metadce.json");
    fs::write(&graph_file, serde_json::Value::Array(graph).to_string())
        .map_err(|e| format!("{}: {e}", graph_file.display()))?;
    let path = module.to_string_lossy();
    let graph_path = graph_file.to_string_lossy();
    let mut args = vec![path.as_ref(), "--graph-file", graph_path.as_ref()];
    args.extend(crate::split::FEATURES);
    if keep_names {
        args.push("-g");
    }
    args.extend(["-o", path.as_ref()]);
    run("wasm-metadce", &args)?;

    let js = fs::read_to_string(glue).map_err(|e| format!("{}: {e}", glue.display()))?;
    let stripped = strip_classes(&js);
    if stripped.to_lowercase().contains(DEAD) {
        return Err(format!(
            "{}: wasm-bindgen's glue for the `IntoUnderlying*` classes has changed shape; \
             update xtask/src/dead_exports.rs",
            glue.display()
        ));
    }
    fs::write(glue, stripped).map_err(|e| format!("{}: {e}", glue.display()))?;
    println!("  dropped {} unused exports: {}", dead.len(), DEAD);
    Ok(())
}

fn exports(wasm: &[u8]) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ExportSection(reader) = payload.map_err(|e| e.to_string())? {
            for export in reader {
                names.push(export.map_err(|e| e.to_string())?.name.to_owned());
            }
        }
    }
    Ok(names)
}

/// The glue without the classes' definitions, their finalization registries, their
/// `Symbol.dispose` lines and the stream-type enum only they read.
fn strip_classes(js: &str) -> String {
    let class_end: fn(&str) -> bool = |line| line == "}";
    let statement_end: fn(&str) -> bool = |line| line.ends_with(';');
    let mut out = String::with_capacity(js.len());
    // Inside a skipped class or statement: what its last line looks like.
    let mut skipping: Option<fn(&str) -> bool> = None;
    for line in js.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if let Some(ends) = skipping {
            if ends(trimmed) {
                skipping = None;
            }
            continue;
        }
        let dead = |prefix: &str| {
            line.strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with("IntoUnderlying"))
        };
        if dead("export class ") {
            skipping = Some(class_end);
        } else if dead("const ") {
            skipping = (!statement_end(trimmed)).then_some(statement_end);
        } else if !dead("if (Symbol.dispose) ")
            && !line.starts_with("const __wbindgen_enum_ReadableStreamType ")
        {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::strip_classes;

    #[test]
    fn strips_the_classes_and_keeps_the_rest() {
        let js = "import x from \"y\";\n\nexport class IntoUnderlyingSink {\n    free() {\n        wasm.__wbg_intounderlyingsink_free(ptr, 0);\n    }\n}\nif (Symbol.dispose) IntoUnderlyingSink.prototype[Symbol.dispose] = IntoUnderlyingSink.prototype.free;\n\nexport function mount(a) {\n    wasm.mount(a);\n}\nconst __wbindgen_enum_ReadableStreamType = [\"bytes\"];\nconst IntoUnderlyingSinkFinalization = (typeof FinalizationRegistry === 'undefined')\n    ? { register: () => {}, unregister: () => {} }\n    : new FinalizationRegistry(ptr => wasm.__wbg_intounderlyingsink_free(ptr, 1));\nconst other = 1;\n";
        assert_eq!(
            strip_classes(js),
            "import x from \"y\";\n\n\nexport function mount(a) {\n    wasm.mount(a);\n}\nconst other = 1;\n"
        );
    }
}
