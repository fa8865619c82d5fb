use leptos::html::Dialog;
use leptos::prelude::*;
use momentum_core::checkout::Payment;
use momentum_core::i18n::Msg;
use momentum_core::quote::discounted_price;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{HtmlElement, KeyboardEvent};

use crate::exit_watch;
use crate::intl;
use crate::session::{money, Session};

/// The exit offer: while the checkout is open it watches for a shopper about to leave and, at most
/// once, shows the offer's last discount in a modal dialog (the top layer: above any host z-index,
/// no layout shift). Focus moves in (to the first button: `showModal` focuses it) and stays in;
/// Escape or "No thanks" declines; focus then goes back where it was. Accepting re-prices the cart
/// on the server. Creator copy is rendered as text.
#[component]
pub fn ExitOffer(
    /// The checkout session; renders nothing when the offer has no exit offer.
    session: Session,
) -> impl IntoView {
    let config = session.offer.with_value(|o| o.exit_offer.clone())?;
    let dialog = NodeRef::<Dialog>::new();
    // The trigger's name while the offer is open; where focus was before it opened.
    let open = RwSignal::new(None::<String>);
    let return_to = StoredValue::new_local(None::<JsValue>);
    let host = session.host.with_value(|h| h.element().clone());
    let offer_id = session.offer.with_value(|o| o.id.clone());
    let on_show = {
        let host = host.clone();
        move |trigger: momentum_core::exit_intent::Trigger| {
            let signal = trigger.as_str();
            session.emit("exit_intent_detected", &[("signal", signal.into())]);
            let Some(element) = dialog.get_untracked() else {
                return;
            };
            return_to.set_value(exit_watch::focused(&host).map(JsValue::from));
            open.set(Some(signal.to_owned()));
            if element.show_modal().is_ok() {
                session.emit("exit_offer_shown", &[("signal", signal.into())]);
            }
        }
    };
    let payment = Box::new(move || {
        session
            .payment
            .try_with_untracked(|p| (p.is_busy(), matches!(p, Payment::Paid { .. })))
    });
    exit_watch::start(
        &offer_id,
        config.detector.unwrap_or_default(),
        host,
        payment,
        on_show,
    );

    // The buttons submit the dialog's own `method="dialog"` form, which closes it with the button's
    // value; Escape closes it with none. Its `close` event settles the answer either way.
    let closed = move || {
        let Some(signal) = open.get_untracked() else {
            return;
        };
        open.set(None);
        let detail = [("signal", signal.into())];
        let accepted = dialog
            .get_untracked()
            .is_some_and(|d| d.return_value() == "accept");
        if accepted {
            session.exit_offer.set(true);
            session.load_quotes();
            session.emit("exit_offer_accepted", &detail);
        } else {
            exit_watch::remember_declined(&session.offer.with_value(|o| o.id.clone()));
            session.emit("exit_offer_declined", &detail);
        }
        if let Some(element) = return_to
            .get_value()
            .and_then(|e| e.dyn_into::<HtmlElement>().ok())
        {
            let _ = element.focus();
        }
    };
    // Tab and Shift+Tab wrap around inside the dialog.
    let keep_focus = move |ev: KeyboardEvent| {
        let Some(dialog) = dialog.get_untracked() else {
            return;
        };
        let buttons = dialog.get_elements_by_tag_name("button");
        let edges = (
            buttons.item(0),
            buttons.item(buttons.length().saturating_sub(1)),
        );
        let (Some(first), Some(last)) = edges else {
            return;
        };
        let (from, to) = if ev.shift_key() {
            (first, last)
        } else {
            (last, first)
        };
        let at_edge = ev
            .target()
            .is_some_and(|t| JsValue::from(t) == JsValue::from(&from));
        if ev.key() == "Tab" && at_edge {
            ev.prevent_default();
            if let Ok(to) = to.dyn_into::<HtmlElement>() {
                let _ = to.focus();
            }
        }
    };
    let percent = config.discount_percent;
    let locale = session.locale.get_value();
    // The new product price, from the server's current quote and the offer's discount (the same
    // rounding the server applies); nothing when it cannot be worked out honestly.
    let price = move || {
        let (currency, amount) = session.quotes.with(|q| {
            let q = q.as_ref().filter(|q| !q.exit_offer)?;
            let line = q.without_bump.lines.iter().find(|l| l.id == "product")?;
            Some((q.currency, line.amount))
        })?;
        let discounted = discounted_price(amount, percent).ok()?;
        let format = |minor| intl::format(money(currency, minor), locale.as_deref());
        let (now, was) = (format(discounted), format(amount));
        Some(session.t_with(Msg::ExitPrice, &[("now", &now), ("was", &was)]))
    };
    let accept_label = session.t_with(Msg::ExitAccept, &[("percent", &percent.to_string())]);
    Some(html! {
        <dialog
            node_ref=dialog
            class="m-dialog m-exit"
            part="dialog"
            aria-labelledby="m-exit-title"
            aria-describedby="m-exit-body"
            on:keydown=keep_focus
            on:close=move |_| closed()
        >
            <h2 id="m-exit-title" class="m-title" part="heading" dir="auto">{config.headline}</h2>
            <div id="m-exit-body">
                <p dir="auto">{config.body}</p>
                <p class="m-price">{price}</p>
            </div>
            <form method="dialog" class="m-exit-actions">
                <button class="m-button" part="button" value="accept">{accept_label}</button>
                <button class="m-button m-secondary" part="button secondary-button" value="decline">{session.t(Msg::NoThanks)}</button>
            </form>
        </dialog>
    })
}
