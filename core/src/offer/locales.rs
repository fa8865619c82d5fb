//! The offer in other languages: per language, overrides of the widget's own strings (`messages`,
//! keyed as in [`crate::i18n::Msg`]) and translations of the creator's copy (`copy`, keyed by the
//! copy field's path, e.g. `bump.label`). Both are flat maps of text, so every reader (serde on the
//! backend, `Reflect` in the widget) reads them the same way. Maps are kept as lists of pairs in
//! document order (JSON objects on the wire): a `BTreeMap` costs the widget ~18 KB of wasm.

use super::{check_text, FieldError, OfferConfig, MAX_HEADLINE, MAX_LABEL, MAX_TEXT};
use crate::i18n::{self, Msg};

/// Longest override of one of the widget's strings, in characters.
pub const MAX_MESSAGE: usize = 200;

/// `Intl.PluralRules` categories a plural message may have.
pub const PLURAL_CATEGORIES: &[&str] = &["zero", "one", "two", "few", "many", "other"];

/// A JSON object as (key, value) pairs in document order.
pub type Pairs<T> = Vec<(String, T)>;

/// The value at `key` in `pairs`.
pub fn lookup<'a, T>(pairs: &'a [(String, T)], key: &str) -> Option<&'a T> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// One language's texts for an offer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct LocaleConfig {
    /// The widget's strings, by message key (`pay`), a plural form as `key.category`
    /// (`receipt_items.one`).
    #[cfg_attr(
        feature = "serde",
        serde(default, with = "pairs", skip_serializing_if = "Vec::is_empty")
    )]
    pub messages: Pairs<String>,
    /// The creator's copy in this language, by field path ([`COPY_FIELDS`]); absent fields keep
    /// the offer's own text.
    #[cfg_attr(
        feature = "serde",
        serde(default, with = "pairs", skip_serializing_if = "Vec::is_empty")
    )]
    pub copy: Pairs<String>,
}

/// The creator copy that can be translated: (path, longest text).
pub const COPY_FIELDS: &[(&str, usize)] = &[
    ("product.label", MAX_LABEL),
    ("product.description", MAX_TEXT),
    ("bump.label", MAX_LABEL),
    ("bump.description", MAX_TEXT),
    ("upsell.label", MAX_LABEL),
    ("upsell.headline", MAX_HEADLINE),
    ("upsell.deliverable", MAX_TEXT),
    ("downsell.label", MAX_LABEL),
    ("downsell.headline", MAX_HEADLINE),
    ("downsell.deliverable", MAX_TEXT),
    ("exit_offer.headline", MAX_HEADLINE),
    ("exit_offer.body", MAX_TEXT),
    ("refund_terms", MAX_TEXT),
];

/// The message a `messages` key overrides (`pay`, or `receipt_items.few` for a plural form).
pub fn message_for_key(key: &str) -> Option<Msg> {
    match key.split_once('.') {
        None => Msg::from_key(key).filter(|m| !m.is_plural()),
        Some((key, category)) => {
            Msg::from_key(key).filter(|m| m.is_plural() && PLURAL_CATEGORIES.contains(&category))
        }
    }
}

impl OfferConfig {
    /// The problems with `locales`, each named by its path.
    pub(super) fn locale_problems(&self, errors: &mut Vec<FieldError>) {
        for (lang, texts) in &self.locales {
            let at = format!("locales.{lang}");
            if !i18n::LANGUAGES.contains(&lang.as_str()) || lang == i18n::PSEUDO {
                errors.push(FieldError::new(
                    at.clone(),
                    "unsupported_language",
                    format!(
                        "is not a language the widget speaks; use one of {}",
                        i18n::LANGUAGES[..i18n::LANGUAGES.len() - 1].join(", ")
                    ),
                ));
                continue;
            }
            for (key, text) in &texts.messages {
                let field = format!("{at}.messages.{key}");
                let Some(message) = message_for_key(key) else {
                    let why = match Msg::from_key(key).filter(|m| m.is_plural()) {
                        Some(_) => format!(
                            "is a plural message: give its forms as {key}.one, {key}.other, …"
                        ),
                        None => "is not one of the widget's message keys (docs/i18n.md)".into(),
                    };
                    errors.push(FieldError::new(field, "unknown_message", why));
                    continue;
                };
                check_text(errors, &field, text, MAX_MESSAGE);
                let allowed = message.placeholders();
                if let Some(name) = i18n::placeholders(text)
                    .into_iter()
                    .find(|name| !allowed.contains(name))
                {
                    let known = match allowed.is_empty() {
                        true => "this message has none".to_owned(),
                        false => format!("this message has {{{}}}", allowed.join("}, {")),
                    };
                    errors.push(FieldError::new(
                        field,
                        "invalid_placeholder",
                        format!("uses {{{name}}}; {known}"),
                    ));
                }
            }
            for (path, text) in &texts.copy {
                let field = format!("{at}.copy.{path}");
                let Some((_, max)) = COPY_FIELDS.iter().find(|(p, _)| p == path) else {
                    errors.push(FieldError::new(
                        field,
                        "unknown_field",
                        "is not a translatable copy field (product.label, bump.description, …)",
                    ));
                    continue;
                };
                if self.base_copy(path).is_none() {
                    errors.push(FieldError::new(
                        field,
                        "not_applicable",
                        "the offer has no such element",
                    ));
                    continue;
                }
                check_text(errors, &field, text, *max);
            }
        }
    }

    /// The offer's own text at a [`COPY_FIELDS`] path; `None` when the offer has no such part.
    fn base_copy(&self, path: &str) -> Option<String> {
        self.clone().copy_slot(path).map(|text| text.clone())
    }

    /// The text at a [`COPY_FIELDS`] path, to write a translation into.
    fn copy_slot(&mut self, path: &str) -> Option<&mut String> {
        let (part, field) = path.split_once('.').unwrap_or((path, ""));
        match (part, field) {
            ("product", "label") => Some(&mut self.product.label),
            ("product", _) => Some(&mut self.product.description),
            ("bump", "label") => self.bump.as_mut().map(|b| &mut b.label),
            ("bump", _) => self.bump.as_mut().map(|b| &mut b.description),
            ("upsell", _) => self.upsell.as_mut().map(|a| addon_slot(a, field)),
            ("downsell", _) => self.downsell.as_mut().map(|a| addon_slot(a, field)),
            ("exit_offer", "headline") => self.exit_offer.as_mut().map(|x| &mut x.headline),
            ("exit_offer", _) => self.exit_offer.as_mut().map(|x| &mut x.body),
            _ => Some(&mut self.refund_terms),
        }
    }

    /// The creator's texts for `lang`: (the offer's own text, its translation), for every copy
    /// field translated. The widget shows a text the backend sends (a quote line's label, the
    /// receipt's refund terms) in the shopper's language when it is one of these; a text the
    /// backend changed (an A/B variant's label) stays as sent.
    pub fn translations(&self, lang: &str) -> Vec<(String, String)> {
        let Some(texts) = lookup(&self.locales, lang) else {
            return Vec::new();
        };
        texts
            .copy
            .iter()
            .filter_map(|(path, text)| Some((self.base_copy(path)?, text.clone())))
            .collect()
    }

    /// This offer with its copy in `lang` where the creator translated it.
    pub fn localized(mut self, lang: &str) -> OfferConfig {
        let Some(texts) = lookup(&self.locales, lang).cloned() else {
            return self;
        };
        for (path, text) in texts.copy {
            if let Some(slot) = self.copy_slot(&path) {
                *slot = text;
            }
        }
        self
    }

    /// The creator's overrides of the widget's strings in `lang`.
    pub fn messages(&self, lang: &str) -> &[(String, String)] {
        lookup(&self.locales, lang).map_or(&[], |l| &l.messages)
    }
}

fn addon_slot<'a>(addon: &'a mut super::AddOnConfig, field: &str) -> &'a mut String {
    match field {
        "label" => &mut addon.label,
        "headline" => &mut addon.headline,
        _ => &mut addon.deliverable,
    }
}

/// Serde for [`Pairs`]: a JSON object, its entries kept in document order.
#[cfg(feature = "serde")]
pub(super) mod pairs {
    use core::marker::PhantomData;
    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
    use serde::{Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        pairs: &[(String, T)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(pairs.iter().map(|(k, v)| (k, v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Vec<(String, T)>, D::Error> {
        struct Entries<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Entries<T> {
            type Value = Vec<(String, T)>;
            fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(entries)
            }
        }
        deserializer.deserialize_map(Entries(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offer::demo_offer;

    fn with_locale(lang: &str, messages: &[(&str, &str)], copy: &[(&str, &str)]) -> OfferConfig {
        let mut offer = demo_offer();
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        offer.locales.push((
            lang.into(),
            LocaleConfig {
                messages: map(messages),
                copy: map(copy),
            },
        ));
        offer
    }

    fn problems(offer: &OfferConfig) -> Vec<(String, &'static str)> {
        offer
            .validate()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn valid_locales_pass() {
        let offer = with_locale(
            "de",
            &[
                ("pay", "Jetzt kaufen · {total}"),
                ("receipt_items.one", "1 Artikel"),
            ],
            &[
                ("bump.label", "Das Preset-Paket dazu"),
                ("refund_terms", "14 Tage Rückgabe."),
            ],
        );
        assert_eq!(problems(&offer), vec![]);
    }

    #[test]
    fn problems_name_the_language_and_key() {
        let cases: [(OfferConfig, &str, &str); 7] = [
            (
                with_locale("tr", &[], &[]),
                "locales.tr",
                "unsupported_language",
            ),
            (
                with_locale("en-XA", &[], &[]),
                "locales.en-XA",
                "unsupported_language",
            ),
            (
                with_locale("de", &[("payy", "x")], &[]),
                "locales.de.messages.payy",
                "unknown_message",
            ),
            (
                with_locale("de", &[("pay.one", "x")], &[]),
                "locales.de.messages.pay.one",
                "unknown_message",
            ),
            (
                with_locale("de", &[("pay", "Zahlen {amount}")], &[]),
                "locales.de.messages.pay",
                "invalid_placeholder",
            ),
            (
                with_locale("de", &[], &[("bump.price", "9")]),
                "locales.de.copy.bump.price",
                "unknown_field",
            ),
            (
                with_locale("de", &[], &[("product.label", " ")]),
                "locales.de.copy.product.label",
                "required",
            ),
        ];
        for (offer, field, code) in cases {
            assert_eq!(problems(&offer), vec![(field.to_owned(), code)], "{field}");
        }
        let mut no_bump = with_locale("fr", &[], &[("bump.label", "Le pack")]);
        no_bump.bump = None;
        no_bump.variants.clear();
        assert_eq!(
            problems(&no_bump),
            vec![("locales.fr.copy.bump.label".to_owned(), "not_applicable")]
        );
    }

    #[test]
    fn placeholder_errors_say_which_are_allowed() {
        let offer = with_locale("de", &[("pay", "Zahlen {amount}")], &[]);
        assert_eq!(
            offer.validate()[0].message,
            "uses {amount}; this message has {total}"
        );
    }

    #[test]
    fn localized_replaces_translated_copy_only() {
        let offer = with_locale(
            "de",
            &[],
            &[("bump.label", "Das Paket"), ("refund_terms", "Rückgabe")],
        );
        let base = offer.clone();
        let de = offer.clone().localized("de");
        assert_eq!(
            de.bump.as_ref().map(|b| b.label.as_str()),
            Some("Das Paket")
        );
        assert_eq!(de.refund_terms, "Rückgabe");
        assert_eq!(de.product, base.product);
        assert_eq!(offer.clone().localized("fr"), base);
        let pairs = offer.translations("de");
        assert!(pairs.contains(&(base.bump.unwrap().label, "Das Paket".into())));
        assert_eq!(offer.translations("fr"), vec![]);
    }
}
