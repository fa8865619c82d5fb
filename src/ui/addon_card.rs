use leptos::html::{Section, H2};
use leptos::prelude::*;
use momentum_core::api::AddonKind;
use momentum_core::checkout::Payment;
use momentum_core::funnel::ARM_DELAY_MS;
use momentum_core::i18n::Msg;
use std::time::Duration;

use crate::intl;
use crate::session::{money, status_line, Session};
use crate::ui::challenge::Challenge;
use crate::ui::order_number::OrderNumber;

/// The one-click add-on card shown right after payment: a headline, the deliverable, the price as
/// an increment, which card pays, refund terms, Accept and "No thanks". Built to be read in three
/// seconds. On a phone it is a bottom sheet in the top layer; on a desktop it takes the checkout's
/// place. Focus moves to its heading.
#[component]
pub fn AddonCard(
    /// The session after payment.
    session: Session,
    /// Which add-on this card offers.
    kind: AddonKind,
) -> impl IntoView {
    let card = session.card(kind);
    let paid = session.receipt.with_untracked(|r| {
        r.as_ref()
            .map(|r| (r.currency, r.card.clone(), r.order_id.clone()))
    });
    let (Some(card), Some((currency, paid_with, order_id))) = (card, paid) else {
        return ().into_any();
    };
    let locale = session.locale.get_value();
    let price = intl::format(money(currency, card.amount), locale.as_deref());
    let refund_terms = session.offer.with_value(|o| o.refund_terms.clone());
    let add = session.t_with(Msg::AddonAccept, &[("price", &price)]);
    let friction = session.t_with(Msg::AddonTerms, &[("card", &paid_with)]);

    // The buttons arm once the card has been painted and on screen for half a second; until then
    // they say so (aria-disabled) and the session checks the time again.
    let shown_at = StoredValue::new(f64::INFINITY);
    let armed = RwSignal::new(false);
    let sheet = NodeRef::<Section>::new();
    let heading = NodeRef::<H2>::new();
    let narrow = window()
        .match_media("(max-width: 40em)")
        .ok()
        .flatten()
        .is_some_and(|m| m.matches());
    // The top layer: above any host z-index, out of the host's containment and layout. It steps
    // aside while the page's payment provider runs 3-D Secure in the page (its own modal is not
    // in the top layer), and comes back for the answer.
    Effect::new(move |_| {
        let provider_busy = session.provider_authenticates()
            && session
                .addon
                .with(|p| matches!(p, Payment::Authenticating { .. }));
        if let Some(sheet) = sheet.get().filter(|_| narrow) {
            let _ = match provider_busy {
                true => sheet.hide_popover(),
                false => sheet.show_popover(),
            };
        }
    });
    heading.on_load(move |heading| {
        let _ = heading.focus();
        request_animation_frame(move || {
            shown_at.set_value(js_sys::Date::now());
            set_timeout(
                move || armed.set(true),
                Duration::from_millis(ARM_DELAY_MS as u64),
            );
        });
    });

    let busy = move || session.addon.with(Payment::is_busy) || session.declining.get();
    let status = move || {
        let msg = session
            .addon
            .with(|p| status_line(p, Msg::AddonSubmitting))
            .or_else(|| session.declining.get().then_some(Msg::OneMoment))?;
        Some(session.t(msg))
    };
    let gave_up = move || {
        session
            .addon
            .with(|p| matches!(p, Payment::Checking { .. }) && p.retry_delay_ms().is_none())
    };
    let challenge = move || match session.addon.get() {
        Payment::Authenticating { url, .. } if !session.provider_authenticates() => {
            Some(html! { <Challenge session url/> })
        }
        _ => None,
    };
    html! {
        <p class="m-card m-paid" part="card" role="status">
            <span>{session.t(Msg::PaymentReceived)}</span>
            <OrderNumber label=session.t(Msg::OrderLabel) order_id/>
        </p>
        <section
            node_ref=sheet
            popover="manual"
            class="m-card m-addon"
            part="card addon-card"
            aria-labelledby="m-addon-title"
            aria-describedby="m-addon-deliverable"
            data-testid=kind.as_str()
        >
            <h2 id="m-addon-title" class="m-title" part="heading" tabindex="-1" node_ref=heading>
                <span class="m-visually-hidden">{session.t(Msg::OneTimeOffer)} " "</span>
                <span dir="auto">{card.headline}</span>
            </h2>
            <p id="m-addon-deliverable" dir="auto">{card.deliverable}</p>
            <button
                type="button"
                class="m-button m-pay"
                part="button pay-button"
                aria-disabled=move || (busy() || !armed.get()).to_string()
                on:click=move |ev| {
                    session.accept(kind, ev.is_trusted(), shown_at.get_value());
                }
            >
                {add}
            </button>
            <p class="m-muted m-small">{friction}</p>
            <p class="m-muted m-small" dir="auto">{refund_terms}</p>
            <p class="m-status" role="status">{status}</p>
            <p class="m-error-detail" role="alert">{move || session.addon_note.get()}</p>
            <Show when=gave_up>
                <button type="button" class="m-button m-secondary" part="button secondary-button" on:click=move |_| session.check_addon_again(kind)>
                    {session.t(Msg::CheckAgain)}
                </button>
            </Show>
            <button
                type="button"
                class="m-button m-secondary" part="button secondary-button"
                aria-disabled=move || (busy() || !armed.get()).to_string()
                on:click=move |_| session.decline(kind, shown_at.get_value())
            >
                {session.t(Msg::NoThanks)}
            </button>
        </section>
        {challenge}
    }
    .into_any()
}
