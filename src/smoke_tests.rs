//! wasm-bindgen smoke tests in headless Chromium: the real widget mounted into a real DOM.

use js_sys::{Function, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

use crate::intl::format;
use crate::js;
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
    crate::mount(host, root.clone(), JsValue::UNDEFINED);
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

#[wasm_bindgen_test]
fn exit_offer_detector_thresholds_are_read_strictly() {
    let offer = |detector: &str| {
        let text = [
            r#"{"id": "c", "currency": "EUR", "tax_mode": "inclusive",
                "product": {"label": "Course", "description": "Lessons.", "price": 4900},
                "exit_offer": {"headline": "Wait", "body": "10% off.", "discount_percent": 10,
                               "detector": "#,
            detector,
            r#"},
                "refund_terms": "14 days.", "fallback_url": "https://pay.example/c"}"#,
        ]
        .concat();
        crate::decode::offer(js_sys::JSON::parse(&text).unwrap())
    };
    let read = offer(r#"{"min_time_on_page_ms": 0, "form_trip_ms": 2500}"#).unwrap();
    let t = read.exit_offer.unwrap().detector.unwrap();
    assert_eq!((t.min_time_on_page_ms, t.form_trip_ms), (0, 2_500));
    assert_eq!(t.idle_ms, momentum_core::exit_intent::IDLE_MS);
    let field = |d: &str| offer(d).unwrap_err().field;
    assert_eq!(field(r#"{"idle": 1}"#), "exit_offer.detector.idle");
    assert_eq!(field(r#"{"idle_ms": 10}"#), "exit_offer.detector.idle_ms");
    assert_eq!(
        field(r#"{"top_edge_px": -1}"#),
        "exit_offer.detector.top_edge_px"
    );
}
