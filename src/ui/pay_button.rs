use leptos::prelude::*;
use momentum_core::checkout::Payment;

use crate::intl;
use crate::session::{money, Session};

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
    let status = move || match session.payment.get() {
        Payment::Submitting { .. } => Some("Processing your payment…"),
        Payment::Authenticating { .. } => Some("Waiting for your bank to confirm…"),
        Payment::Processing { .. } => Some("Your bank is processing the payment…"),
        Payment::Checking { .. } => Some("Checking your payment… You will not be charged twice."),
        _ => None,
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
            aria-disabled=move || (session.payment.with(|p| p.is_busy()) || session.blocked.with(Option::is_some)).to_string()
            on:click=move |ev| { session.pay(ev.is_trusted()); }
        >
            {move || match total() {
                Some(total) => ["Pay ", &total].concat(),
                None => "Pay".into(),
            }}
        </button>
        <p class="m-status" role="status">{status}</p>
        <Show when=gave_up>
            <button type="button" class="m-button m-secondary" on:click=move |_| session.check_again()>"Check again"</button>
        </Show>
    }
}
