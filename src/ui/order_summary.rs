use leptos::prelude::*;
use momentum_core::i18n::Msg;
use momentum_core::money::Currency;
use momentum_core::quote::Quote;

use crate::intl;
use crate::session::{money, Session};

/// Line items, tax and total; the same table on the checkout and on the receipt.
#[component]
pub fn OrderSummary(
    /// The session: its locale for amounts, its language for words and the creator's labels.
    session: Session,
    /// The lines to show (the total was checked to equal their sum before it got here).
    quote: Quote,
    /// Currency of every amount.
    currency: Currency,
    /// Accessible name of the table.
    caption: String,
) -> impl IntoView {
    let locale = session.locale.get_value();
    let format = move |minor: i64| intl::format(money(currency, minor), locale.as_deref());
    let lines = quote
        .lines
        .iter()
        .map(|line| html! { <tr data-line=line.id.clone()><th scope="row" dir="auto">{session.translate(&line.label)}</th><td>{format(line.amount)}</td></tr> })
        .collect_view();
    let tax = quote
        .tax
        .iter()
        .map(|tax| {
            let rate = intl::percent(tax.rate_bp, session.locale.get_value().as_deref());
            let msg = if tax.included { Msg::TaxIncluded } else { Msg::TaxAdded };
            let label = session.t_with(msg, &[("rate", &rate)]);
            html! { <tr class="m-tax"><th scope="row">{label}</th><td>{format(tax.amount)}</td></tr> }
        })
        .collect_view();
    html! {
        <table class="m-summary">
            <caption class="m-visually-hidden">{caption}</caption>
            <tbody>{lines}{tax}</tbody>
            <tfoot><tr><th scope="row">{session.t(Msg::Total)}</th><td data-testid="total">{format(quote.total)}</td></tr></tfoot>
        </table>
    }
}
