//! The widget's side of the host-page boundary: its element's attributes and the namespaced
//! `momentum:*` events it dispatches there (bubbling, composed, never carrying a payment token).

use crate::js;
use js_sys::{Array, Function, Object, Promise};
use momentum_core::embed::{Sticky, STICKY_BROWSER_DAYS};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CustomEvent, CustomEventInit, HtmlElement};

/// The `<momentum-checkout>` element a widget belongs to.
#[derive(Clone)]
pub struct Host {
    element: HtmlElement,
}

impl Host {
    pub fn new(element: HtmlElement) -> Self {
        Self { element }
    }

    /// The `<momentum-checkout>` element.
    pub fn element(&self) -> &HtmlElement {
        &self.element
    }

    /// Tells this widget apart from the others on the page, the same way after a reload: the
    /// element's `id` when the creator gave it one, else its place among the page's widgets. Saved
    /// progress is keyed by it, so two widgets for one offer never resume each other's order.
    pub fn instance(&self) -> String {
        let id = self.element.id();
        if !id.is_empty() {
            return ["#", &id].concat();
        }
        let widgets = self
            .element
            .owner_document()
            .map(|d| d.get_elements_by_tag_name("momentum-checkout"));
        let place = widgets.and_then(|widgets| {
            (0..widgets.length()).find(|&i| {
                widgets
                    .item(i)
                    .is_some_and(|w| JsValue::from(w) == JsValue::from(&self.element))
            })
        });
        place.unwrap_or(0).to_string()
    }

    /// An attribute of the element (the loader copied the script tag's `data-*` onto it).
    pub fn attribute(&self, name: &str) -> Option<String> {
        self.element.get_attribute(name)
    }

    /// Dispatches `momentum:<name>` with `detail`. A host listener that throws cannot break the widget.
    pub fn emit(&self, name: &str, detail: &Object) {
        let init = CustomEventInit::new();
        init.set_bubbles(true);
        init.set_composed(true);
        init.set_detail(detail);
        let event_name = ["momentum:", name].concat();
        if let Ok(event) = CustomEvent::new_with_event_init_dict(&event_name, &init) {
            let _ = self.element.dispatch_event(&event);
        }
    }

    /// Tells the creator what went wrong: in the console and as a `momentum:error` event.
    pub fn report_error(&self, code: &str, message: &str, field: Option<&str>) {
        web_sys::console::error_1(&["[momentum] ", message].concat().into());
        let detail = js::object(&[("code", code.into()), ("message", message.into())]);
        if let Some(field) = field {
            js::set(&detail, "field", field.into());
        }
        self.emit("error", &detail);
    }
}

/// The page's payment provider adapter (`Momentum('payment', …)`), waiting up to `wait_ms` for the
/// page to register one.
pub async fn payment_adapter(wait_ms: u32) -> Option<JsValue> {
    let registry = js::get(&web_sys::window()?.into(), "__momentum");
    let registered: Promise = js::get(&registry, "payment").dyn_into().ok()?;
    let first = Promise::race(&Array::of2(&registered, &js::sleep(wait_ms)));
    let adapter = JsFuture::from(first).await.ok()?;
    (!adapter.is_undefined()).then_some(adapter)
}

/// Calls `adapter.method(argument)` and awaits it when it returns a promise. A throw or a rejection
/// becomes `Err` with the adapter's message.
pub async fn call_adapter(
    adapter: &JsValue,
    method: &str,
    argument: &JsValue,
) -> Result<JsValue, String> {
    let message = |error: JsValue| {
        js::get_string(&error, "message")
            .or_else(|| error.as_string())
            .unwrap_or_else(|| "The payment provider failed.".into())
    };
    let function: Function = js::get(adapter, method)
        .dyn_into()
        .map_err(|_| ["The payment provider has no ", method, "()."].concat())?;
    let result = function.call1(adapter, argument).map_err(message)?;
    match result.dyn_into::<Promise>() {
        Ok(promise) => JsFuture::from(promise).await.map_err(message),
        Err(value) => Ok(value),
    }
}

/// The buyer country the checkout starts with: from `data-locale`, else the browser's language.
pub fn buyer_country(locale: Option<&str>) -> String {
    let browser = || web_sys::window()?.navigator().language();
    momentum_core::embed::buyer_country(locale.map(str::to_owned).or_else(browser).as_deref())
}

/// A random number (nothing personal) that decides the shopper's A/B variant and holdout, kept so
/// they see the same one throughout: in this tab's session by default, or with `sticky="browser"`
/// for [`STICKY_BROWSER_DAYS`] in this browser (stored as `<bucket> <expiry ms>`). A fresh one per
/// page load where storage is unavailable.
pub fn ab_bucket(sticky: Sticky) -> u64 {
    const KEY: &str = "momentum:ab-bucket";
    let now = js_sys::Date::now();
    let (kind, expires) = match sticky {
        Sticky::Tab => (Storage::Tab, None),
        Sticky::Browser => (
            Storage::Browser,
            Some(now + f64::from(STICKY_BROWSER_DAYS) * 86_400_000.0),
        ),
    };
    let kept = stored(kind, KEY).and_then(|v| {
        let mut parts = v.split(' ');
        let bucket: u64 = parts.next()?.parse().ok()?;
        // A value without an expiry predates it: it starts its term now.
        let expired = parts
            .next()
            // Integer ms: parsing a float would link the float parser (~15 KB of wasm).
            .is_some_and(|until| {
                until
                    .parse::<u64>()
                    .map_or(true, |until| until as f64 <= now)
            });
        (!expired).then_some(bucket)
    });
    let bucket = kept.unwrap_or_else(|| (js_sys::Math::random() * 4_294_967_296.0) as u64);
    let value = match expires {
        // A returning shopper's term runs from their last visit.
        Some(until) => [bucket.to_string(), (until as u64).to_string()].join(" "),
        None => bucket.to_string(),
    };
    store(kind, KEY, &value);
    bucket
}

/// Where the host page's Web Storage keeps a value.
#[derive(Clone, Copy)]
pub enum Storage {
    /// This tab, until it closes (`sessionStorage`).
    Tab,
    /// This browser (`localStorage`).
    Browser,
}

/// The storage, or `None` where the browser refuses it (private modes, sandboxed iframes can
/// throw): then the widget simply remembers nothing.
fn storage(kind: Storage) -> Option<web_sys::Storage> {
    let window = web_sys::window()?;
    match kind {
        Storage::Tab => window.session_storage(),
        Storage::Browser => window.local_storage(),
    }
    .ok()
    .flatten()
}

pub fn stored(kind: Storage, key: &str) -> Option<String> {
    storage(kind)?.get_item(key).ok().flatten()
}

pub fn store(kind: Storage, key: &str, value: &str) {
    if let Some(storage) = storage(kind) {
        let _ = storage.set_item(key, value);
    }
}

pub fn unstore(kind: Storage, key: &str) {
    if let Some(storage) = storage(kind) {
        let _ = storage.remove_item(key);
    }
}
