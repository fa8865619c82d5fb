//! Text from the browser's Intl: money, country names and their order in the shopper's locale, with no
//! formatting tables in the wasm. Amounts stay integer minor units everywhere; only here, at the
//! last step, do they become text.

use js_sys::{Array, Intl, Object};
use momentum_core::money::Money;
use wasm_bindgen::{JsCast, JsValue};

use crate::js;

fn locales(locale: Option<&str>) -> Array {
    let locales = Array::new();
    if let Some(locale) = locale {
        locales.push(&locale.into());
    }
    locales
}

/// The Intl object under `key` in the page's cache (`__momentum.intl`, on the loader's registry),
/// made by `make` the first time. Constructing one is costly and using one is not: a NumberFormat
/// takes ~70 µs (every bump toggle reformats the summary, its tax line, the total and the Pay
/// button), the page's first DisplayNames ~17 ms on a laptop (~70 ms at 4× CPU: it loads the region
/// names). The loader makes the checkout's DisplayNames and Collator while the wasm downloads
/// (`warmIntl` in src/loader.js, with these keys), so the first render does not.
fn cached(key: &str, make: impl FnOnce() -> JsValue) -> JsValue {
    let registry = js::get(&js_sys::global(), "__momentum");
    let mut cache = js::get(&registry, "intl");
    if !cache.is_object() {
        cache = Object::new().into();
        if let Some(registry) = registry.dyn_ref::<Object>() {
            js::set(registry, "intl", cache.clone());
        }
    }
    let found = js::get(&cache, key);
    if found.is_object() {
        return found;
    }
    let made = make();
    if made.is_object() {
        js::set(cache.unchecked_ref(), key, made.clone());
    }
    made
}

/// A number formatter for `locale` and `kind` (a currency code, or `%`).
fn formatter(
    locale: Option<&str>,
    kind: &str,
    options: impl FnOnce() -> Object,
) -> Intl::NumberFormat {
    let key = ["NumberFormat ", locale.unwrap_or_default(), " ", kind].concat();
    cached(&key, || {
        Intl::NumberFormat::new(&locales(locale), &options()).into()
    })
    .unchecked_into()
}

fn format_with(formatter: Intl::NumberFormat, value: JsValue) -> String {
    formatter
        .format()
        .call1(&JsValue::NULL, &value)
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_default()
}

/// Formats `money` for `locale` (the browser's language when `None`).
pub fn format(money: Money, locale: Option<&str>) -> String {
    let currency = money.currency();
    let formatter = formatter(locale, currency.code(), || {
        let digits = JsValue::from(currency.exponent());
        js::object(&[
            ("style", "currency".into()),
            ("currency", currency.code().into()),
            ("minimumFractionDigits", digits.clone()),
            ("maximumFractionDigits", digits),
        ])
    });
    // A decimal string, not a float: Intl formats it exactly, however large the amount.
    format_with(formatter, money.to_decimal_string().into())
}

/// Each country's name in `lang` (`DE` → "Germany") with its code, in the order `lang` sorts
/// words (Intl.Collator: "Österreich" next to "Ostsee", not after "Z"); the code itself where
/// Intl.DisplayNames is missing. The names are compared as the JS strings DisplayNames made:
/// turning them into Rust strings for every comparison cost 4 000 conversions per render.
pub fn countries<'a>(codes: impl Iterator<Item = &'a str>, lang: &str) -> Vec<(String, &'a str)> {
    let names = cached(&["DisplayNames ", lang].concat(), || {
        let constructor = js::get(&js::get(&js_sys::global(), "Intl"), "DisplayNames");
        let options = js::object(&[("type", "region".into())]);
        let args = Array::of2(&locales(Some(lang)), &options);
        constructor
            .dyn_ref::<js_sys::Function>()
            .and_then(|c| js_sys::Reflect::construct(c, &args).ok())
            .unwrap_or(JsValue::UNDEFINED)
    });
    let names = Some(names).filter(JsValue::is_object);
    let of = names
        .as_ref()
        .and_then(|names| js::get(names, "of").dyn_into::<js_sys::Function>().ok());
    let mut items: Vec<(JsValue, &str)> = codes
        .map(|code| {
            let name = names
                .as_ref()
                .zip(of.as_ref())
                .and_then(|(names, of)| of.call1(names, &code.into()).ok())
                .filter(JsValue::is_string);
            (name.unwrap_or_else(|| code.into()), code)
        })
        .collect();
    let collator = cached(&["Collator ", lang].concat(), || {
        Intl::Collator::new(&locales(Some(lang)), &Object::new()).into()
    });
    let compare = collator.unchecked_into::<Intl::Collator>().compare();
    items.sort_unstable_by(|a, b| {
        let order = compare
            .call2(&JsValue::NULL, &a.0, &b.0)
            .ok()
            .and_then(|o| o.as_f64())
            .unwrap_or(0.0);
        order
            .partial_cmp(&0.0)
            .unwrap_or(core::cmp::Ordering::Equal)
    });
    items
        .into_iter()
        .map(|(name, code)| (name.as_string().unwrap_or_else(|| code.to_owned()), code))
        .collect()
}

/// A rate in basis points as `locale` writes a percentage (`1900` → "19 %" in German).
pub fn percent(basis_points: u32, locale: Option<&str>) -> String {
    let formatter = formatter(locale, "%", || {
        js::object(&[
            ("style", "percent".into()),
            ("maximumFractionDigits", 2.into()),
        ])
    });
    format_with(formatter, (f64::from(basis_points) / 10_000.0).into())
}
