use leptos::html::H2;
use leptos::prelude::*;
use momentum_core::i18n::Msg;

use crate::intl;
use crate::session::{money, Session};
use crate::ui::order_number::OrderNumber;
use crate::ui::order_summary::OrderSummary;

/// The itemized receipt: every line, tax, the total, each charge with its card, refund terms.
#[component]
pub fn Receipt(
    /// The session; renders its receipt.
    session: Session,
) -> impl IntoView {
    let heading = NodeRef::<H2>::new();
    // The checkout this replaces had focus: move it to the receipt's heading.
    heading.on_load(|heading| {
        let _ = heading.focus();
    });
    let locale = session.locale.get_value();
    move || {
        let receipt = session.receipt.get()?;
        let currency = receipt.currency;
        let charges = receipt
            .charges
            .iter()
            .map(|charge| {
                let amount = intl::format(money(currency, charge.amount), locale.as_deref());
                let text = session.t_with(
                    Msg::ChargedTo,
                    &[("amount", &amount), ("card", &charge.card)],
                );
                html! { <li>{text}</li> }
            })
            .collect_view();
        let items = u32::try_from(receipt.money.lines.len()).unwrap_or(u32::MAX);
        let items = session.texts().count(Msg::ReceiptItems, items);
        let sent = session.t_with(Msg::ReceiptSent, &[("email", &receipt.email)]);
        Some(html! {
            <section class="m-card m-receipt" aria-labelledby="m-receipt-title" part="card receipt">
                <h2 id="m-receipt-title" class="m-title" part="heading" tabindex="-1" node_ref=heading>{session.t(Msg::ReceiptTitle)}</h2>
                <p class="m-muted"><OrderNumber label=session.t(Msg::OrderLabel) order_id=receipt.order_id.clone()/></p>
                <p class="m-muted m-small" data-testid="receipt-items">{items}</p>
                <p class="m-error-detail" role="status">{session.addon_note.get_untracked()}</p>
                <OrderSummary session quote=receipt.money.clone() currency caption=session.t(Msg::ReceiptCaption)/>
                <ul class="m-charges" aria-label=session.t(Msg::Charges)>{charges}</ul>
                <p class="m-muted m-small">{sent}</p>
                <p class="m-muted m-small" dir="auto">{session.translate(&receipt.refund_terms)}</p>
            </section>
        })
    }
}
