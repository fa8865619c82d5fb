//! The funnel, reported to the creator's backend (`POST /v1/events`, docs/api.md) so the creator can
//! see what the offers earn. Batched (one request per few seconds, at most 50 events), sent without
//! waiting and with `keepalive` so a closing tab still delivers, flushed when the page is hidden.
//! A batch carries the offer, the variant or holdout, an anonymous per-visit id and, per event, its
//! step, time and (for the bump) whether it ended up ticked: never a token, an e-mail or card data.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use momentum_core::metrics::Step;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::host::{self, Storage};
use crate::{api_client, js};

/// Most events in one batch (the backend's limit).
const MAX_BATCH: usize = 50;
/// How long events wait for company before they are sent.
const FLUSH_MS: i32 = 3_000;

/// One widget's funnel log.
pub struct FunnelLog {
    url: String,
    batch: js_sys::Object,
    queue: RefCell<Vec<JsValue>>,
    timer: Cell<Option<i32>>,
    /// Flushes when the page is hidden or left (tab switch, close, navigation); kept for the
    /// page's life.
    _on_hide: Closure<dyn FnMut(web_sys::Event)>,
}

impl FunnelLog {
    /// A log for one offer and arm, sending to `{api}/v1/events`.
    pub fn new(
        api: &str,
        offer_id: &str,
        variant: Option<&str>,
        holdout: bool,
        currency: &str,
    ) -> Rc<Self> {
        let batch = js::object(&[
            ("visit_id", visit_id().into()),
            ("offer_id", offer_id.into()),
            ("variant", variant.map_or(JsValue::NULL, JsValue::from)),
            ("holdout", holdout.into()),
            ("currency", currency.into()),
        ]);
        Rc::new_cyclic(|weak: &std::rc::Weak<FunnelLog>| {
            let weak = weak.clone();
            let on_hide =
                Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                    let hidden = event.type_() == "pagehide"
                        || web_sys::window()
                            .and_then(|w| w.document())
                            .is_some_and(|d| d.hidden());
                    if let (true, Some(log)) = (hidden, weak.upgrade()) {
                        log.flush();
                    }
                });
            // `pagehide` too: not every browser makes a page hidden before it unloads it.
            if let Some(window) = web_sys::window() {
                let listener = on_hide.as_ref().unchecked_ref();
                let _ = window.add_event_listener_with_callback("pagehide", listener);
                if let Some(document) = window.document() {
                    let _ = document.add_event_listener_with_callback("visibilitychange", listener);
                }
            }
            FunnelLog {
                url: [api, "/v1/events"].concat(),
                batch,
                queue: RefCell::new(Vec::new()),
                timer: Cell::new(None),
                _on_hide: on_hide,
            }
        })
    }

    /// Records the widget event `name` when it is a funnel step (`checked`: the bump's new state).
    pub fn record(self: &Rc<Self>, name: &str, checked: Option<bool>) {
        let step = match name {
            "checkout_completed" => Some(Step::Paid),
            _ => Step::parse(name),
        };
        let Some(step) = step else {
            return;
        };
        let event = js::object(&[
            ("name", step.as_str().into()),
            ("at", js_sys::Date::now().floor().into()),
        ]);
        if let Some(checked) = checked {
            js::set(&event, "checked", checked.into());
        }
        let full = {
            let mut queue = self.queue.borrow_mut();
            queue.push(event.into());
            queue.len() >= MAX_BATCH
        };
        if full || step == Step::ReceiptShown {
            self.flush();
        } else if self.timer.get().is_none() {
            self.schedule();
        }
    }

    fn schedule(self: &Rc<Self>) {
        let this = Rc::clone(self);
        let tick = Closure::once_into_js(move || {
            this.timer.set(None);
            this.flush();
        });
        let id = web_sys::window().and_then(|w| {
            w.set_timeout_with_callback_and_timeout_and_arguments_0(tick.unchecked_ref(), FLUSH_MS)
                .ok()
        });
        self.timer.set(id);
    }

    /// Sends what is queued, now.
    pub fn flush(&self) {
        let events: Vec<JsValue> = self.queue.borrow_mut().drain(..).collect();
        for chunk in events.chunks(MAX_BATCH) {
            let list: js_sys::Array = chunk.iter().collect();
            js::set(&self.batch, "events", list.into());
            api_client::send_and_forget(&self.url, &api_client::json(&self.batch));
        }
    }
}

/// An anonymous id for this visit: random, in this tab's sessionStorage, so a reload is the same
/// visit and nothing outlives the tab.
fn visit_id() -> String {
    const KEY: &str = "momentum:visit";
    host::stored(Storage::Tab, KEY)
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| {
            let id = js::random_key();
            host::store(Storage::Tab, KEY, &id);
            id
        })
}
