use leptos::prelude::*;

use crate::intl;
use crate::session::Session;

/// What the shopper is buying: the product's name, description and price.
#[component]
pub fn ProductSummary(
    /// The checkout session (offer and quotes).
    session: Session,
) -> impl IntoView {
    let (label, description) = session
        .offer
        .with_value(|o| (o.product.label.clone(), o.product.description.clone()));
    let price = move || {
        let line = session.quotes.with(|q| {
            q.as_ref().and_then(|q| {
                q.without_bump
                    .lines
                    .iter()
                    .find(|l| l.id == "product")
                    .map(|l| (q.currency, l.amount))
            })
        });
        line.map(|(currency, amount)| {
            intl::format(
                crate::session::money(currency, amount),
                session.locale.get_value().as_deref(),
            )
        })
    };
    html! {
        <header class="m-product">
            <h2 id="m-product-name" class="m-title" part="heading" dir="auto">{label}</h2>
            <p class="m-muted" dir="auto">{description}</p>
            <p class="m-price" data-testid="product-price">{price}</p>
        </header>
    }
}
