use leptos::prelude::*;

use momentum_core::i18n::Msg;

use crate::intl;
use crate::session::{money, Session};

/// The order bump: a real checkbox, never pre-ticked, framed as "Add for €9". Ticking it switches
/// to the quote that already includes it, in the same frame.
#[component]
pub fn OrderBump(
    /// The checkout session; renders nothing when the offer has no bump.
    session: Session,
) -> impl IntoView {
    let bump = session.offer.with_value(|o| o.bump.clone())?;
    let price = move || {
        session.quotes.with(|q| {
            let q = q.as_ref()?;
            let line = q.with_bump.lines.iter().find(|l| l.id == "bump")?;
            Some(intl::format(
                money(q.currency, line.amount),
                session.locale.get_value().as_deref(),
            ))
        })
    };
    let label = move || {
        session.quotes.with(|q| {
            q.as_ref().and_then(|q| {
                q.with_bump
                    .lines
                    .iter()
                    .find(|l| l.id == "bump")
                    .map(|l| session.translate(&l.label))
            })
        })
    };
    Some(html! {
        <div class="m-bump" part="bump">
            <input
                type="checkbox"
                id="m-bump"
                class="m-checkbox"
                aria-describedby="m-bump-description"
                prop:checked=move || session.bump.get()
                disabled=move || session.payment.with(|p| p.is_busy())
                on:change=move |ev| session.set_bump(event_target_checked(&ev))
            />
            <label for="m-bump" class="m-bump-label">
                <span class="m-bump-price">
                    {move || price().map(|price| session.t_with(Msg::BumpPrice, &[("price", &price)]))}
                </span>
                <span dir="auto">{move || label().unwrap_or_else(|| bump.label.clone())}</span>
            </label>
            <p id="m-bump-description" class="m-muted m-small" dir="auto">{bump.description.clone()}</p>
        </div>
    })
}
