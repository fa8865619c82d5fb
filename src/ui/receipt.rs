use leptos::html::H2;
use leptos::prelude::*;

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
                html! { <li>{amount} " charged to " {charge.card.clone()}</li> }
            })
            .collect_view();
        Some(html! {
            <section class="m-card m-receipt" aria-labelledby="m-receipt-title">
                <h2 id="m-receipt-title" class="m-title" tabindex="-1" node_ref=heading>"Thank you! Your order is confirmed."</h2>
                <p class="m-muted"><OrderNumber order_id=receipt.order_id.clone()/></p>
                <p class="m-error-detail" role="status">{session.addon_note.get_untracked()}</p>
                <OrderSummary quote=receipt.money.clone() currency locale=locale.clone() caption="Receipt"/>
                <ul class="m-charges" aria-label="Charges">{charges}</ul>
                <p class="m-muted m-small">"A receipt was sent to " {receipt.email.clone()} "."</p>
                <p class="m-muted m-small">{receipt.refund_terms.clone()}</p>
            </section>
        })
    }
}
