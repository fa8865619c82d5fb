//! Text from the browser's Intl: money and country names in the shopper's locale, with no
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
