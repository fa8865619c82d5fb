//! wasm-bindgen smoke tests in headless Chromium: the real widget mounted into a real DOM.

use js_sys::{Function, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

use crate::js;
use crate::money::format;
use momentum_core::money::{Currency, Money};

wasm_bindgen_test_configure!(run_in_browser);

fn element(tag: &str) -> HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let element = document.create_element(tag).unwrap();
    document.body().unwrap().append_child(&element).unwrap();
    element.unchecked_into()
}

/// Mounts a widget on a fresh host with `attributes`; resolves with the first `momentum:<event>`.
async fn mount_and_wait(attributes: &[(&str, &str)], event: &str) -> (HtmlElement, JsValue) {
    let host = element("div");
    for (name, value) in attributes {
        host.set_attribute(name, value).unwrap();
    }
    let root = element("div");
    let name = ["momentum:", event].concat();
    let target = host.clone();
    let seen = Promise::new(&mut |resolve: Function, _| {
        target
            .add_event_listener_with_callback(&name, &resolve)
            .unwrap();
    });
    crate::mount(host, root.clone());
    let event = JsFuture::from(seen).await.unwrap();
    (root, js::get(&event, "detail"))
}

#[wasm_bindgen_test]
async fn a_broken_config_shows_the_error_and_names_the_field() {
    let (root, detail) = mount_and_wait(
        &[("api", "/"), ("fallback", "https://pay.example/x")],
        "error",
    )
    .await;
    assert_eq!(
        js::get_string(&detail, "code").as_deref(),
        Some("config_invalid")
    );
    assert_eq!(js::get_string(&detail, "field").as_deref(), Some("offer"));
    let text = root.text_content().unwrap();
    assert!(text.contains("data-offer: missing"), "{text}");
    let link = root.query_selector("a").unwrap().unwrap();
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("https://pay.example/x")
    );
}

#[wasm_bindgen_test]
async fn a_backend_error_becomes_an_error_state_not_an_exception() {
    // The test runner's server has no offer API: the fetch answers 404.
    let (root, detail) = mount_and_wait(&[("offer", "missing"), ("api", "/no-api")], "error").await;
    assert_eq!(
        js::get_string(&detail, "code").as_deref(),
        Some("http_error")
    );
    // The view updates on the next tick after the state changes.
    JsFuture::from(Promise::resolve(&JsValue::NULL))
        .await
        .unwrap();
    let alert = root.query_selector("[role=alert]").unwrap();
    assert!(alert.is_some(), "{:?}", root.inner_text());
}

#[wasm_bindgen_test]
fn money_is_formatted_by_intl_from_integer_minor_units() {
    let money = |minor, code| Money::new(minor, Currency::from_code(code).unwrap());
    assert_eq!(format(money(4900, "EUR"), Some("en-GB")), "€49.00");
    assert_eq!(format(money(4900, "JPY"), Some("en-US")), "¥4,900");
    assert_eq!(
        format(money(15_250, "KWD"), Some("en-US")),
        "KWD\u{a0}15.250"
    );
    // Past 2^53: a float would lose the cents; the decimal string does not.
    assert_eq!(
        format(money(123_456_789_012_345_678, "EUR"), Some("en-GB")),
        "€1,234,567,890,123,456.78"
    );
}
