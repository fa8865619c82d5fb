//! The widget's side of the host-page boundary: its element's attributes and the namespaced
//! `momentum:*` events it dispatches there (bubbling, composed, never carrying a payment token).

use crate::js;
use js_sys::Object;
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
