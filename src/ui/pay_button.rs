use leptos::prelude::*;
use momentum_core::checkout::Payment;
use momentum_core::i18n::Msg;

use crate::intl;
use crate::session::{money, status_line, Session};

/// The Pay button with the exact total. It reacts to trusted clicks only, and only when no attempt
/// is in progress; the status line under it says what is happening while it is busy.
#[component]
pub fn PayButton(
    /// The checkout session.
    session: Session,
) -> impl IntoView {
    let total = move || {
        let currency = session.currency()?;
        let quote = session.quote()?;
        Some(intl::format(
            money(currency, quote.total),
            session.locale.get_value().as_deref(),
        ))
    };
    let status = move || {
        let msg = session
            .payment
            .with(|p| status_line(p, Msg::StatusSubmitting))?;
        Some(session.t(msg))
    };
    let gave_up = move || {
        session
            .payment
            .with(|p| matches!(p, Payment::Checking { .. }) && p.retry_delay_ms().is_none())
    };
    html! {
        <button
            type="button"
            class="m-button m-pay"
            part="button pay-button"
            aria-disabled=move || (session.payment.with(|p| p.is_busy()) || session.blocked.with(Option::is_some)).to_string()
            on:click=move |ev| { session.pay(ev.is_trusted()); }
        >
            {move || match total() {
                Some(total) => session.t_with(Msg::Pay, &[("total", &total)]),
                None => session.t(Msg::PayNoTotal),
            }}
        </button>
        <p class="m-status" role="status">{status}</p>
        <Show when=gave_up>
            <button type="button" class="m-button m-secondary" part="button secondary-button" on:click=move |_| session.check_again()>{session.t(Msg::CheckAgain)}</button>
        </Show>
    }
}
