//! Small helpers for reading and building plain JS objects with `Reflect`, which costs far less
//! wasm than a JSON library for the few fields the widget needs.

use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

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

/// A promise that resolves after `ms` (setTimeout with the resolver itself: no closure to keep).
pub fn sleep(ms: u32) -> js_sys::Promise {
    js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ =
                window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    })
}

/// Resolves when the browser is idle (`requestIdleCallback`, at most a second late), or after a
/// tick where it is missing (Safari).
pub async fn idle() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let Some(window) = web_sys::window() else {
            return;
        };
        let request = get(&window, "requestIdleCallback");
        let options = object(&[("timeout", 1_000.into())]);
        let queued = request
            .dyn_ref::<js_sys::Function>()
            .is_some_and(|f| f.call2(&window, &resolve, &options).is_ok());
        if !queued {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 1);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Waits `ms`.
pub async fn wait(ms: u32) {
    let _ = wasm_bindgen_futures::JsFuture::from(sleep(ms)).await;
}

/// 128 random bits as 32 hex digits: an Idempotency-Key, unguessable and unique per attempt.
pub fn random_key() -> String {
    // Math.random only where Web Crypto is missing; crypto overwrites it everywhere else.
    let mut bytes = [0u8; 16].map(|_| (js_sys::Math::random() * 256.0) as u8);
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| {
            [
                HEX[usize::from(b >> 4)] as char,
                HEX[usize::from(b & 15)] as char,
            ]
        })
        .collect()
}
