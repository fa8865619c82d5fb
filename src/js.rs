//! Small helpers for reading and building plain JS objects with `Reflect`, which costs far less
//! wasm than a JSON library for the few fields the widget needs.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

/// Builds `{ key: value, … }`.
pub fn object(pairs: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    for (key, value) in pairs {
        set(&object, key, value.clone());
    }
    object
}

pub fn set(object: &Object, key: &str, value: JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), &value);
}

/// `value[key]`, or `undefined` when `value` is not an object.
pub fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn get_string(value: &JsValue, key: &str) -> Option<String> {
    get(value, key).as_string()
}

/// An integer field (minor units, exponents): rejects fractions and anything past 2^53.
pub fn get_integer(value: &JsValue, key: &str) -> Option<i64> {
    let number = get(value, key).as_f64()?;
    let safe = number.fract() == 0.0 && number.abs() <= 9_007_199_254_740_991.0;
    safe.then_some(number as i64)
}
