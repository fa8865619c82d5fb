use leptos::prelude::*;
use momentum_core::money::Currency;
use momentum_core::quote::Quote;

use crate::intl;
use crate::session::money;

/// Line items, tax and total; the same table on the checkout and on the receipt.
#[component]
pub fn OrderSummary(
    /// The lines to show (the total was checked to equal their sum before it got here).
    quote: Quote,
    /// Currency of every amount.
    currency: Currency,
    /// Locale for amounts.
    locale: Option<String>,
    /// Accessible name of the table.
    caption: &'static str,
) -> impl IntoView {
    let format = move |minor: i64| intl::format(money(currency, minor), locale.as_deref());
    let lines = quote
        .lines
        .iter()
        .map(|line| html! { <tr data-line=line.id.clone()><th scope="row">{line.label.clone()}</th><td>{format(line.amount)}</td></tr> })
        .collect_view();
    let tax = quote
        .tax
        .iter()
        .map(|tax| {
            let label = if tax.included { ["Includes ", &tax.label].concat() } else { tax.label.clone() };
            html! { <tr class="m-tax"><th scope="row">{label}</th><td>{format(tax.amount)}</td></tr> }
        })
        .collect_view();
    html! {
        <table class="m-summary">
            <caption class="m-visually-hidden">{caption}</caption>
            <tbody>{lines}{tax}</tbody>
            <tfoot><tr><th scope="row">"Total"</th><td data-testid="total">{format(quote.total)}</td></tr></tfoot>
        </table>
    }
}
