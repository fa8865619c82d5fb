//! Money display. Amounts stay integer minor units everywhere; only here, at the last step, does
//! the browser's `Intl.NumberFormat` turn them into text in the shopper's locale.

use js_sys::{Array, Intl, Object};
use momentum_core::money::Money;
use wasm_bindgen::JsValue;

use crate::js;

/// Formats `money` for `locale` (the browser's language when `None`).
pub fn format(money: Money, locale: Option<&str>) -> String {
    let locales = Array::new();
    if let Some(locale) = locale {
        locales.push(&locale.into());
    }
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
