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

/// A number formatter for `locale` and `kind` (a currency code, or `%`), made once per page and
/// kept on the loader's registry (`__momentum`): constructing one costs ~70 µs (~0.3 ms on a slow
/// phone), formatting with it under 1 µs, and every bump toggle reformats the summary, its tax
/// line, the total and the Pay button.
fn formatter(
    locale: Option<&str>,
    kind: &str,
    options: impl FnOnce() -> Object,
) -> Intl::NumberFormat {
    let registry = js::get(&js_sys::global(), "__momentum");
    let mut formats = js::get(&registry, "formats");
    if !formats.is_object() {
        formats = Object::new().into();
        if let Some(registry) = registry.dyn_ref::<Object>() {
            js::set(registry, "formats", formats.clone());
        }
    }
    let key = [locale.unwrap_or_default(), " ", kind].concat();
    let cached = js::get(&formats, &key);
    if cached.is_object() {
        return cached.unchecked_into();
    }
    let formatter = Intl::NumberFormat::new(&locales(locale), &options());
    js::set(formats.unchecked_ref(), &key, formatter.clone().into());
    formatter
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

/// Each country's name in `locale` (`DE` → "Germany"), with its code; the code itself where
/// Intl.DisplayNames is missing. One DisplayNames serves them all.
pub fn country_names<'a>(
    codes: impl Iterator<Item = &'a str>,
    locale: Option<&str>,
) -> Vec<(String, &'a str)> {
    let names = js::get(&js_sys::global(), "Intl");
    let constructor = js::get(&names, "DisplayNames");
    let options = js::object(&[("type", "region".into())]);
    let args = Array::of2(&locales(locale), &options);
    let names =
        js_sys::Reflect::construct(constructor.unchecked_ref::<js_sys::Function>(), &args).ok();
    let of = names
        .as_ref()
        .and_then(|names| js::get(names, "of").dyn_into::<js_sys::Function>().ok());
    codes
        .map(|code| {
            let name = names
                .as_ref()
                .zip(of.as_ref())
                .and_then(|(names, of)| of.call1(names, &code.into()).ok()?.as_string());
            (name.unwrap_or_else(|| code.to_owned()), code)
        })
        .collect()
}

/// Sorts `items` by name as `lang` orders words (Intl.Collator: "Österreich" next to "Ostsee", not after "Z").
pub fn sort<T>(items: &mut [(String, T)], lang: &str) {
    let collator = Intl::Collator::new(&locales(Some(lang)), &Object::new());
    let compare = collator.compare();
    items.sort_by(|a, b| {
        let order = compare
            .call2(&JsValue::NULL, &a.0.as_str().into(), &b.0.as_str().into())
            .ok()
            .and_then(|o| o.as_f64())
            .unwrap_or(0.0);
        order
            .partial_cmp(&0.0)
            .unwrap_or(core::cmp::Ordering::Equal)
    });
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
