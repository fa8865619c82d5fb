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

/// Formats `money` for `locale` (the browser's language when `None`).
pub fn format(money: Money, locale: Option<&str>) -> String {
    let locales = locales(locale);
    let digits = JsValue::from(money.currency().exponent());
    let options = js::object(&[
        ("style", "currency".into()),
        ("currency", money.currency().code().into()),
        ("minimumFractionDigits", digits.clone()),
        ("maximumFractionDigits", digits),
    ]);
    // A decimal string, not a float: Intl formats it exactly, however large the amount.
    let amount = money.to_decimal_string();
    let formatter = Intl::NumberFormat::new(&locales, &options);
    formatter
        .format()
        .call1(&Object::new().into(), &amount.into())
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_default()
}

/// The country's name in `locale` (`DE` → "Germany"), or the code where Intl.DisplayNames is missing.
pub fn country_name(code: &str, locale: Option<&str>) -> String {
    let names = js::get(&js_sys::global(), "Intl");
    let constructor = js::get(&names, "DisplayNames");
    let options = js::object(&[("type", "region".into())]);
    let args = Array::of2(&locales(locale), &options);
    js_sys::Reflect::construct(constructor.unchecked_ref::<js_sys::Function>(), &args)
        .ok()
        .and_then(|names| {
            let of: js_sys::Function = js::get(&names, "of").dyn_into().ok()?;
            of.call1(&names, &code.into()).ok()?.as_string()
        })
        .unwrap_or_else(|| code.to_owned())
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
    let options = js::object(&[
        ("style", "percent".into()),
        ("maximumFractionDigits", 2.into()),
    ]);
    let formatter = Intl::NumberFormat::new(&locales(locale), &options);
    formatter
        .format()
        .call1(&JsValue::NULL, &(f64::from(basis_points) / 10_000.0).into())
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_default()
}
