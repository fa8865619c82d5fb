//! The widget's words in the shopper's language. The language is negotiated by the core
//! (`data-locale`, else the browser's languages); English is built in, any other language is the
//! flat JSON file the loader fetched in parallel with the wasm, with the creator's overrides from
//! the offer config on top. Plural forms are picked by `Intl.PluralRules`. A key missing from a
//! file falls back to English.

use std::rc::Rc;

use js_sys::{Array, Intl, Object};
use momentum_core::i18n::{self, Msg};
use momentum_core::offer::lookup;
use wasm_bindgen::JsValue;

use crate::{api_client, js};

/// One widget's strings: shared by its components (`Rc`: cloning is free).
#[derive(Clone)]
pub struct Texts(Rc<Inner>);

struct Inner {
    lang: &'static str,
    /// The language file (a plain object), or undefined for English.
    file: JsValue,
    overrides: Vec<(String, String)>,
}

impl Texts {
    /// English with no overrides: what a widget says before (or without) its language file.
    pub fn english() -> Self {
        Self::new("en", JsValue::UNDEFINED)
    }

    fn new(lang: &'static str, file: JsValue) -> Self {
        Self(Rc::new(Inner {
            lang,
            file,
            overrides: Vec::new(),
        }))
    }

    /// The same strings with the creator's overrides for this language.
    pub fn with_overrides(&self, overrides: &[(String, String)]) -> Self {
        Self(Rc::new(Inner {
            lang: self.0.lang,
            file: self.0.file.clone(),
            overrides: overrides.to_vec(),
        }))
    }

    /// The negotiated language, e.g. `pt-BR`.
    pub fn lang(&self) -> &'static str {
        self.0.lang
    }

    fn lookup(&self, key: &str, english: &'static str) -> String {
        if let Some(text) = lookup(&self.0.overrides, key) {
            return text.clone();
        }
        if let Some(text) = js::get_string(&self.0.file, key) {
            return text;
        }
        english.to_owned()
    }

    /// The text of `msg`.
    pub fn get(&self, msg: Msg) -> String {
        self.lookup(msg.key(), msg.english())
    }

    /// The text of `msg` with its placeholders filled in.
    pub fn fill(&self, msg: Msg, args: &[(&str, &str)]) -> String {
        i18n::fill(&self.get(msg), args)
    }

    /// The plural message `msg` for `count`, its form chosen by `Intl.PluralRules` and `{count}`
    /// filled in.
    pub fn count(&self, msg: Msg, count: u32) -> String {
        let lang = Array::of1(&self.0.lang.into());
        let category = Intl::PluralRules::new(&lang, &Object::new())
            .select(f64::from(count))
            .as_string()
            .unwrap_or_else(|| "other".into());
        let form = |category: &str| {
            let key = [msg.key(), ".", category].concat();
            match lookup(&self.0.overrides, &key) {
                Some(text) => Some(text.clone()),
                // English has a form for every category it selects.
                None if self.0.file.is_undefined() => {
                    Some(self.lookup(&key, msg.english_plural(category)))
                }
                None => js::get_string(&self.0.file, &key),
            }
        };
        let template = form(&category)
            .or_else(|| form("other"))
            .unwrap_or_else(|| msg.english().to_owned());
        i18n::fill(&template, &[("count", &count.to_string())])
    }
}

/// The shopper's language: `data-locale` when the creator set it, else the browser's languages.
pub fn negotiate(locale: Option<&str>) -> &'static str {
    match locale {
        Some(locale) => i18n::negotiate([locale]),
        None => {
            let languages: Vec<String> = web_sys::window()
                .map(|w| {
                    w.navigator()
                        .languages()
                        .iter()
                        .filter_map(|l| l.as_string())
                        .collect()
                })
                .unwrap_or_default();
            i18n::negotiate(languages.iter().map(String::as_str))
        }
    }
}

/// What the loader did for the language file: its request (the language it asked for and
/// `fetch`'s promise), the bundle's `locales/` URL, and what its placeholder says.
#[derive(Default)]
pub struct Preload {
    pub request: Option<(String, js_sys::Promise)>,
    pub locales: Option<String>,
    /// The text of the loader's placeholder.
    pub placeholder: Option<String>,
}

/// The request for `lang`'s file: none for English (built in), the loader's
/// when it asked for this language, else one sent now (so it runs while the offer loads).
pub fn request(lang: &'static str, preload: Preload) -> Option<js_sys::Promise> {
    if lang == "en" {
        return None;
    }
    match preload {
        Preload {
            request: Some((asked, response)),
            ..
        } if asked == lang => Some(response),
        Preload {
            locales: Some(base),
            ..
        } => api_client::start(api_client::Call {
            url: &[base.as_str(), lang, ".json"].concat(),
            body: None,
            key: None,
            bearer: None,
        })
        .ok(),
        _ => None,
    }
}

/// The strings for `lang` from its file's `request`. A file that cannot be had leaves the widget
/// in English: it still sells.
pub async fn load(lang: &'static str, request: Option<js_sys::Promise>) -> Texts {
    let Some(request) = request else {
        return Texts::english();
    };
    match api_client::receive(request).await {
        Ok(file) if file.is_object() => Texts::new(lang, file),
        _ => {
            let warning = [
                "[momentum] the ",
                lang,
                " strings could not be loaded: showing English",
            ];
            web_sys::console::warn_1(&warning.concat().into());
            Texts::english()
        }
    }
}
