//! The language files: `core/locales/{lang}.json` shipped minified as `dist/locales/{lang}.json`
//! (the loader fetches the shopper's one, relative to its own URL), the pseudo-locale's generated
//! from English (`i18n::pseudo`: no code for it in the wasm), and what the loader must know
//! before any of them arrives, defined into it at build time: the languages shipped and, per
//! language, its own three strings (the placeholder, the error title, the fallback link).

use std::fs;
use std::path::Path;

use momentum_core::i18n::{pseudo, Msg, LANGUAGES, PSEUDO};
use serde_json::{Map, Value};

/// The loader's strings, in the order it reads them.
const LOADER_MESSAGES: [Msg; 3] = [Msg::Loading, Msg::LoadFailed, Msg::ContinueToCheckout];

/// Writes `dist/locales/` and returns the esbuild `--define` arguments and the shipped file names.
pub fn bundle(root: &Path, dist: &Path) -> Result<(Vec<String>, Vec<String>), String> {
    let out = dist.join("locales");
    fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let english: Vec<Value> = LOADER_MESSAGES
        .iter()
        .map(|m| Value::from(m.english()))
        .collect();
    let mut loader_texts = Map::new();
    loader_texts.insert("en".into(), Value::from(english));
    let mut files = Vec::new();
    for lang in LANGUAGES.iter().filter(|l| **l != "en") {
        let strings = match *lang {
            PSEUDO => pseudo_strings(),
            _ => {
                let path = root.join("core/locales").join(format!("{lang}.json"));
                let text =
                    fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
        };
        let own = LOADER_MESSAGES
            .iter()
            .map(|m| strings.get(m.key()).cloned().unwrap_or(Value::Null))
            .collect();
        loader_texts.insert((*lang).into(), Value::Array(own));
        let name = format!("locales/{lang}.json");
        let minified = serde_json::to_string(&strings).map_err(|e| e.to_string())?;
        fs::write(dist.join(&name), minified).map_err(|e| format!("{name}: {e}"))?;
        files.push(name);
    }
    let defines = vec![
        format!(
            "--define:MOMENTUM_LANGUAGES={}",
            Value::from(LANGUAGES.to_vec())
        ),
        format!(
            "--define:MOMENTUM_LOADER_TEXTS={}",
            Value::Object(loader_texts)
        ),
    ];
    Ok((defines, files))
}

/// The pseudo-locale's file: every English string through `i18n::pseudo` (English's plural forms).
fn pseudo_strings() -> Map<String, Value> {
    let mut strings = Map::new();
    for msg in Msg::ALL {
        let forms: Vec<(String, &str)> = match msg.is_plural() {
            true => ["one", "other"]
                .iter()
                .map(|c| (format!("{}.{c}", msg.key()), msg.english_plural(c)))
                .collect(),
            false => vec![(msg.key().to_owned(), msg.english())],
        };
        for (key, english) in forms {
            strings.insert(key, Value::from(pseudo(english)));
        }
    }
    strings
}
