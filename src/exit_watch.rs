//! The browser side of exit intent: turns page events into `momentum_core::exit_intent` signals and
//! runs the detector's one timer. The decisions are the core's; this module only listens.
//!
//! - Desktop (`(pointer: coarse)` does not match): `pointermove` and `mouseout` (with no
//!   `relatedTarget`: the pointer left the window) on the document, with the leaving velocity
//!   measured from the last moves.
//! - Touch: `scroll` on the window, counted only while a finger is on the screen or the page is
//!   still gliding from it (`touchstart`/`touchend`, then scroll events that keep coming): a jump
//!   made by script once the page is at rest (a field scrolled into view, an anchor link, scroll
//!   restoration) is not the shopper flicking up.
//! - Both: `visibilitychange`, and the shopper's focus, typing and taps in the widget (`focusin`,
//!   `input`, `pointerdown` reach the `<momentum-checkout>` element from its shadow root). A
//!   checkout field that still has focus when the page is hidden is reported as an interaction at
//!   that moment, so coming back from copying something into the form is not taken for an exit
//!   (`FORM_TRIP_MS` in the core).
//! - The payment: its state is read before every decision (started, finished, paid), so a
//!   decision never misses a payment in flight, 3-D Secure included.
//!
//! Never `beforeunload`/`unload` (they break the back-forward cache) and no history entries to trap
//! the back button. Every listener is passive. The watch owns itself through its listeners: it
//! lives until the detector can no longer show the offer (shown, purchased) or the session is gone,
//! and then removes every listener and its timer.
//!
//! What survives the page is a flag in `sessionStorage` (the offer was shown this session) and, after
//! "No thanks", a timestamp in `localStorage` (the cooldown): nothing personal. Storage can throw
//! (private modes, sandboxed iframes); then there is simply no memory.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use momentum_core::exit_intent::{
    Decision, Device, ExitIntent, Memory, Signal, Thresholds, Trigger,
};
use wasm_bindgen::closure::Closure;

use crate::host::{self, Storage};
use wasm_bindgen::JsCast;
use web_sys::{AddEventListenerOptions, Event, EventTarget, HtmlElement, MouseEvent, PointerEvent};

type Listener = Closure<dyn FnMut(Event)>;

/// How far back pointer samples count for the leaving velocity (ms).
const VELOCITY_WINDOW_MS: f64 = 100.0;

/// Touch: after the finger lifts, the page glides while scroll events keep coming; a pause longer
/// than this (ms) means it came to rest.
const GLIDE_GAP_MS: f64 = 200.0;

/// What a listener does with its event.
type OnEvent = fn(&Rc<Inner>, &Event);

/// The payment as the checkout sees it: `(in flight, paid)`, or `None` once the session is gone.
pub type PaymentState = Box<dyn Fn() -> Option<(bool, bool)>>;

struct Inner {
    detector: RefCell<ExitIntent>,
    offer_id: String,
    /// The `<momentum-checkout>` element.
    host: HtmlElement,
    payment: PaymentState,
    /// The payment was in flight at the last look.
    paying: Cell<bool>,
    on_show: Box<dyn Fn(Trigger)>,
    listeners: RefCell<Vec<(EventTarget, &'static str, Listener)>>,
    timer: Cell<Option<i32>>,
    tick: RefCell<Option<Closure<dyn FnMut()>>>,
    /// Touch: a finger is on the screen; until when (ms) the page may still be gliding from it.
    touching: Cell<bool>,
    glide_until: Cell<f64>,
    /// Recent pointer positions `(ms, x, y)`, newest last (`NAN` times: no sample yet).
    pointer: Cell<[(f64, f64, f64); 6]>,
    /// A checkout field lost focus in the task now running: leaving the page may clear the focus
    /// just before the page is hidden (Chromium does when the tab navigates away).
    field_just_left: Cell<bool>,
}

/// Starts watching the page of the widget in `host` for the offer `offer_id` with `thresholds`;
/// `on_show` runs once, when the detector decides. Does nothing when the offer could never show
/// anyway (already shown this session, in the cooldown after "No thanks").
pub fn start(
    offer_id: &str,
    thresholds: Thresholds,
    host: HtmlElement,
    payment: PaymentState,
    on_show: impl Fn(Trigger) + 'static,
) -> Option<()> {
    let window = web_sys::window()?;
    let document = window.document()?;
    let touch = window
        .match_media("(pointer: coarse)")
        .ok()
        .flatten()
        .is_some_and(|m| m.matches());
    let device = if touch {
        Device::Touch
    } else {
        Device::Desktop
    };
    let memory = Memory {
        shown_this_session: host::stored(Storage::Tab, &shown_key(offer_id)).is_some(),
        last_declined_at_ms: host::stored(Storage::Browser, &declined_key(offer_id))
            .and_then(|v| v.parse().ok()),
    };
    let detector = ExitIntent::new(device, thresholds, memory, js_sys::Date::now() as u64);
    if detector.closed().is_some() {
        return None;
    }
    let inner = Rc::new(Inner {
        detector: RefCell::new(detector),
        offer_id: offer_id.to_owned(),
        host: host.clone(),
        payment,
        paying: Cell::new(false),
        on_show: Box::new(on_show),
        listeners: RefCell::new(Vec::new()),
        timer: Cell::new(None),
        tick: RefCell::new(None),
        touching: Cell::new(false),
        glide_until: Cell::new(f64::NEG_INFINITY),
        pointer: Cell::new([(f64::NAN, 0.0, 0.0); 6]),
        field_just_left: Cell::new(false),
    });
    let this = Rc::clone(&inner);
    *inner.tick.borrow_mut() = Some(Closure::new(move || {
        this.timer.set(None);
        let at = now();
        if this.sync_payment(at) {
            let decision = this.detector.borrow_mut().tick(at);
            this.handle(decision);
        }
    }));
    match device {
        Device::Desktop => {
            inner.listen(&document, "pointermove", Inner::pointer_moved);
            inner.listen(&document, "mouseout", Inner::pointer_out);
        }
        Device::Touch => {
            inner.listen(&window, "scroll", Inner::scrolled);
            for name in ["touchstart", "touchend", "touchcancel"] {
                inner.listen(&document, name, Inner::touched);
            }
        }
    }
    inner.listen(&document, "visibilitychange", Inner::visibility_changed);
    inner.listen(&host, "focusout", Inner::focus_left);
    for name in ["focusin", "input", "pointerdown"] {
        inner.listen(&host, name, |inner, _| {
            inner.observe(Signal::CheckoutInteraction)
        });
    }
    if document.hidden() {
        inner.observe(Signal::PageHidden);
    }
    Some(())
}

/// Remembers a "No thanks" for the cooldown: only the time, in this browser.
pub fn remember_declined(offer_id: &str) {
    host::store(
        Storage::Browser,
        &declined_key(offer_id),
        &(js_sys::Date::now() as u64).to_string(),
    );
}

impl Inner {
    fn observe(self: &Rc<Self>, signal: Signal) {
        self.observe_at(now(), signal);
    }

    fn observe_at(self: &Rc<Self>, at: u64, signal: Signal) {
        if self.sync_payment(at) {
            let decision = self.detector.borrow_mut().observe(at, signal);
            self.handle(decision);
        }
    }

    /// Tells the detector what the payment did since the last look. `false` (and the watch
    /// stops) once the session is gone.
    fn sync_payment(self: &Rc<Self>, at: u64) -> bool {
        let Some((busy, paid)) = (self.payment)() else {
            self.stop();
            return false;
        };
        let signal = match (paid, busy, self.paying.replace(busy)) {
            (true, ..) => Signal::Purchased,
            (false, true, false) => Signal::PaymentStarted,
            (false, false, true) => Signal::PaymentFinished,
            _ => return true,
        };
        let decision = self.detector.borrow_mut().observe(at, signal);
        self.handle(decision);
        true
    }

    /// Acts on a decision (the detector is not borrowed here, so `on_show` may call back in).
    fn handle(self: &Rc<Self>, decision: Decision) {
        if let Decision::Show(trigger) = decision {
            host::store(Storage::Tab, &shown_key(&self.offer_id), "1");
            (self.on_show)(trigger);
        }
        if self.detector.borrow().closed().is_some() {
            return self.stop();
        }
        self.schedule();
    }

    /// One timer for the detector's next deadline.
    fn schedule(&self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Some(id) = self.timer.take() {
            window.clear_timeout_with_handle(id);
        }
        let Some(at) = self.detector.borrow().next_deadline() else {
            return;
        };
        let delay = at.saturating_sub(now()).min(i32::MAX as u64) as i32;
        if let Some(tick) = self.tick.borrow().as_ref() {
            self.timer.set(
                window
                    .set_timeout_with_callback_and_timeout_and_arguments_0(
                        tick.as_ref().unchecked_ref(),
                        delay,
                    )
                    .ok(),
            );
        }
    }

    /// Adds a passive listener that holds the watch alive until [`Inner::stop`].
    fn listen(self: &Rc<Self>, target: &EventTarget, name: &'static str, on: OnEvent) {
        let this = Rc::clone(self);
        let listener = Listener::new(move |event: Event| on(&this, &event));
        let options = AddEventListenerOptions::new();
        options.set_passive(true);
        let _ = target.add_event_listener_with_callback_and_add_event_listener_options(
            name,
            listener.as_ref().unchecked_ref(),
            &options,
        );
        self.listeners
            .borrow_mut()
            .push((target.clone(), name, listener));
    }

    /// Removes every listener and the timer; dropping them lets the watch go. Safe from inside a
    /// listener: wasm-bindgen frees a closure that is running only once it has returned.
    fn stop(&self) {
        for (target, name, listener) in self.listeners.take() {
            let _ =
                target.remove_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        }
        if let (Some(id), Some(window)) = (self.timer.take(), web_sys::window()) {
            window.clear_timeout_with_handle(id);
        }
        self.tick.take();
    }

    fn pointer_moved(self: &Rc<Self>, event: &Event) {
        let Some(event) = event.dyn_ref::<PointerEvent>() else {
            return;
        };
        if event.pointer_type() == "touch" {
            return;
        }
        let (x, y) = (f64::from(event.client_x()), f64::from(event.client_y()));
        let mut samples = self.pointer.get();
        samples.copy_within(1.., 0);
        samples[samples.len() - 1] = (event.time_stamp(), x, y);
        self.pointer.set(samples);
        let (width, height) = viewport();
        self.observe(Signal::PointerMove {
            x,
            y,
            viewport_width: width,
            viewport_height: height,
        });
    }

    /// `mouseout` with no `relatedTarget`: the pointer left the window.
    fn pointer_out(self: &Rc<Self>, event: &Event) {
        let Some(event) = event.dyn_ref::<MouseEvent>() else {
            return;
        };
        if event.related_target().is_some() {
            return;
        }
        let (x, y) = (f64::from(event.client_x()), f64::from(event.client_y()));
        let t = event.time_stamp();
        // Velocity (px/ms) from the oldest recent sample: the direction the pointer was heading.
        let samples = self.pointer.get();
        let newest = samples[samples.len() - 1];
        let (st, sx, sy) = samples
            .into_iter()
            .find(|(st, ..)| t - st <= VELOCITY_WINDOW_MS)
            .unwrap_or(newest);
        let dt = (t - st).max(1.0);
        let (vx, vy) = if st.is_nan() {
            (0.0, 0.0)
        } else {
            ((x - sx) / dt, (y - sy) / dt)
        };
        self.observe(Signal::PointerLeave { x, y, vx, vy });
    }

    fn touched(self: &Rc<Self>, event: &Event) {
        let touching = event.type_() == "touchstart";
        self.touching.set(touching);
        self.glide_until.set(event.time_stamp() + GLIDE_GAP_MS);
    }

    fn scrolled(self: &Rc<Self>, event: &Event) {
        let t = event.time_stamp();
        if !self.touching.get() && t > self.glide_until.get() {
            return;
        }
        self.glide_until.set(t + GLIDE_GAP_MS);
        let Some(window) = web_sys::window() else {
            return;
        };
        let height = window
            .document()
            .and_then(|d| d.document_element())
            .map_or(0.0, |e| f64::from(e.scroll_height()));
        self.observe(Signal::Scroll {
            y: window.scroll_y().unwrap_or(0.0),
            viewport_height: viewport().1,
            document_height: height,
        });
    }

    fn visibility_changed(self: &Rc<Self>, _: &Event) {
        let hidden = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.hidden());
        if hidden {
            // One clock reading for both: with `form_trip_ms: 0` a millisecond ticking over between
            // them would make the field's focus look older than the hiding.
            let at = now();
            if self.filling() || self.field_just_left.get() {
                self.observe_at(at, Signal::CheckoutInteraction);
            }
            self.observe_at(at, Signal::PageHidden);
        } else {
            self.observe(Signal::PageVisible);
        }
    }

    /// Remembers, until the next task, that a checkout field lost focus: a page hidden in the same
    /// task was left from that field (a shopper's own blur comes in a task of its own).
    fn focus_left(self: &Rc<Self>, event: &Event) {
        let in_form = event
            .composed_path()
            .get(0)
            .dyn_into::<web_sys::Element>()
            .is_ok_and(|el| el.closest("form").ok().flatten().is_some());
        if in_form && !self.field_just_left.replace(true) {
            let this = Rc::clone(self);
            wasm_bindgen_futures::spawn_local(async move {
                crate::js::wait(0).await;
                this.field_just_left.set(false);
            });
        }
    }

    /// A checkout field has focus (inside the shadow root: `document.activeElement` would only
    /// be the host element).
    fn filling(&self) -> bool {
        focused(&self.host)
            .and_then(|el| el.closest("form").ok().flatten())
            .is_some()
    }
}

/// The focused element, looking inside the widget's shadow root first.
pub fn focused(host: &HtmlElement) -> Option<web_sys::Element> {
    host.shadow_root()
        .and_then(|root| root.active_element())
        .or_else(|| web_sys::window()?.document()?.active_element())
}

/// ms since the page started loading (the detector's clock).
fn now() -> u64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0, |p| p.now() as u64)
}

fn viewport() -> (f64, f64) {
    let size = |v: Result<wasm_bindgen::JsValue, _>| v.ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
    web_sys::window().map_or((0.0, 0.0), |w| {
        (size(w.inner_width()), size(w.inner_height()))
    })
}

fn shown_key(offer_id: &str) -> String {
    ["momentum:exit-shown:", offer_id].concat()
}

fn declined_key(offer_id: &str) -> String {
    ["momentum:exit-declined:", offer_id].concat()
}
