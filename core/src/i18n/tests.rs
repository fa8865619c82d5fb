use super::*;
use std::collections::BTreeMap;

#[test]
fn negotiation_prefers_exact_then_primary_then_english() {
    let cases: [(&[&str], &str); 10] = [
        (&["de-AT", "en"], "de"),
        (&["pt-PT"], "pt-BR"),
        (&["pt-br"], "pt-BR"),
        (&["zh-CN", "fr-CA"], "fr"),
        (&["zh-CN"], "en"),
        (&[], "en"),
        (&["iw-IL"], "he"),
        (&["en-XA"], PSEUDO),
        (&["en-GB", "de"], "en"),
        (&["ar_EG"], "ar"),
    ];
    for (requested, expected) in cases {
        assert_eq!(
            negotiate(requested.iter().copied()),
            expected,
            "{requested:?}"
        );
    }
}

#[test]
fn right_to_left_languages() {
    assert!(is_rtl("ar") && is_rtl("he") && is_rtl("ar-EG"));
    assert!(!is_rtl("de") && !is_rtl("en-XA") && !is_rtl("pt-BR"));
}

#[test]
fn keys_are_unique_and_placeholders_are_parsed() {
    let mut keys: Vec<&str> = Msg::ALL.iter().map(|m| m.key()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), Msg::ALL.len());
    assert_eq!(Msg::ExitPrice.placeholders(), ["now", "was"]);
    assert_eq!(Msg::from_key("pay"), Some(Msg::Pay));
    assert_eq!(Msg::ReceiptItems.english_plural("one"), "{count} item");
}

#[test]
fn fill_replaces_known_placeholders_and_keeps_the_rest() {
    assert_eq!(fill("Pay {total}", &[("total", "€9.00")]), "Pay €9.00");
    assert_eq!(
        fill("{now} instead of {was}", &[("was", "b"), ("now", "a")]),
        "a instead of b"
    );
    assert_eq!(fill("{oops} and {", &[("total", "x")]), "{oops} and {");
    assert_eq!(fill("no braces", &[]), "no braces");
}

#[test]
fn pseudo_text_is_accented_longer_and_keeps_placeholders() {
    let long = Msg::StatusChecking.english();
    let p = pseudo(long);
    assert!(p.starts_with('[') && p.ends_with(']'));
    assert!(!p.chars().any(|c| c.is_ascii_lowercase()), "{p}");
    let ratio = p.chars().count() as f64 / long.chars().count() as f64;
    assert!((1.3..1.6).contains(&ratio), "{ratio}: {p}");
    assert_eq!(
        placeholders(&pseudo(Msg::ExitPrice.english())),
        ["now", "was"]
    );
}

/// The categories `Intl.PluralRules(lang)` selects from (Node 20's ICU, as Chromium's): a language
/// file must give a form for each.
fn plural_categories(lang: &str) -> &'static [&'static str] {
    match lang {
        "de" | "nl" | "sv" => &["one", "other"],
        "fr" | "es" | "it" | "pt-BR" => &["one", "many", "other"],
        "pl" => &["one", "few", "many", "other"],
        "ja" => &["other"],
        "ar" => &["zero", "one", "two", "few", "many", "other"],
        "he" => &["one", "two", "other"],
        _ => panic!("no plural categories on record for {lang}"),
    }
}

fn catalog(lang: &str) -> serde_json::Map<String, serde_json::Value> {
    let path = format!("{}/locales/{lang}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn set(names: Vec<&str>) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for name in names {
        *counts.entry(name).or_default() += 1;
    }
    counts
}

#[test]
fn every_language_has_every_key_with_its_placeholders() {
    let shipped: Vec<&str> = LANGUAGES
        .iter()
        .copied()
        .filter(|l| *l != "en" && *l != PSEUDO)
        .collect();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/locales");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("core/locales")
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".json")
                .map(str::to_owned)
        })
        .collect();
    files.sort();
    let mut expected: Vec<String> = shipped.iter().map(|l| l.to_string()).collect();
    expected.sort();
    assert_eq!(
        files, expected,
        "core/locales must hold exactly one file per shipped language"
    );
    for lang in shipped {
        let file = catalog(lang);
        let keys: Vec<&str> = file.keys().map(String::as_str).collect();
        let mut wanted: Vec<&str> = Msg::ALL
            .iter()
            .flat_map(|m| match m.is_plural() {
                false => vec![m.key().to_owned()],
                true => plural_categories(lang)
                    .iter()
                    .map(|c| format!("{}.{c}", m.key()))
                    .collect(),
            })
            .map(|k| &*k.leak())
            .collect();
        wanted.sort_unstable();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted, wanted,
            "{lang}: keys differ from the widget's messages"
        );
        for (key, value) in &file {
            let text = value
                .as_str()
                .unwrap_or_else(|| panic!("{lang}.{key}: not a string"));
            let message = crate::offer::message_for_key(key).expect("checked above");
            assert_eq!(
                set(placeholders(text)),
                set(message.placeholders()),
                "{lang}.{key}: placeholders differ from English"
            );
            assert!(
                !text.trim().is_empty() && text.trim() == text,
                "{lang}.{key}: blank or padded"
            );
        }
    }
}

#[test]
fn the_docs_list_every_message() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/i18n.md");
    let docs = std::fs::read_to_string(path).expect("docs/i18n.md");
    for msg in Msg::ALL {
        assert!(
            docs.contains(&format!("| `{}` |", msg.key())),
            "docs/i18n.md lacks `{}`",
            msg.key()
        );
    }
}
