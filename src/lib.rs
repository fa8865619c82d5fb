//! Momentum widget: the checkout a creator embeds with one script tag, compiled to WebAssembly.
//!
//! The loader (`loader.js`) defines `<momentum-checkout>`, attaches its shadow root and calls
//! [`mount`]; everything the shopper sees is rendered here. Pure logic lives in `momentum-core`.
#![cfg(target_arch = "wasm32")]

/// `leptos::view!` for the widget's components. Leptos renders a subtree with nothing dynamic in it
/// by parsing it from an HTML string, a sink that a host page with Trusted Types
/// (`require-trusted-types-for 'script'`) refuses; a scope class turns that off, so every element
/// is created with `createElement`. The class (`m-el`) carries no style.
macro_rules! html {
    ($($view:tt)*) => {
        leptos::view! { class = "m-el", $($view)* }
    };
}

mod api_client;
mod decode;
mod exit_watch;
mod funnel_log;
mod host;
mod intl;
mod js;
mod lazy;
mod session;
mod texts;
mod ui;

use host::Host;
use momentum_core::embed::{safe_fallback, EmbedConfig};
use wasm_bindgen::prelude::*;

/// Mounts one independent widget for `element` (a `<momentum-checkout>`) into `root`, a container
/// inside the element's shadow root. `preload` holds the loader's requests, each used only if it
/// asked for what the widget would: the checkout start (`url`, `response`: `fetch`'s promise) and
/// the language file (`lang`, `strings`), and where language files are (`locales`, a URL). Bad
/// settings render an error in the widget's place and emit `momentum:error`; nothing is thrown
/// into the host page.
#[wasm_bindgen]
pub fn mount(element: web_sys::HtmlElement, root: web_sys::HtmlElement, preload: JsValue) {
    #[cfg(feature = "debug")]
    console_error_panic_hook::set_once();
    let host = Host::new(element);
    let config = EmbedConfig::parse(|name| host.attribute(name));
    if let Err(error) = &config {
        host.report_error("config_invalid", &error.to_string(), Some(error.field));
    }
    let fallback = safe_fallback(host.attribute("fallback"));
    let request = |name: &str, promise: &str| {
        js::get_string(&preload, name).zip(js::get(&preload, promise).dyn_into().ok())
    };
    let strings = texts::Preload {
        request: request("lang", "strings"),
        locales: js::get_string(&preload, "locales"),
        placeholder: js::get_string(&preload, "placeholder"),
    };
    let preload = request("url", "response");
    // The view owns everything the widget needs; the handle lives as long as the page.
    std::mem::forget(leptos::mount::mount_to(root, move || {
        leptos::view! { <ui::widget::Widget host config fallback preload strings/> }
    }));
}

#[cfg(test)]
mod smoke_tests;
