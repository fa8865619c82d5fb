use leptos::prelude::*;

use crate::money;
use crate::offer::Offer;

/// What the shopper is buying: name, one-line description, price.
#[component]
pub fn ProductSummary(
    /// The validated offer.
    offer: Offer,
    /// Locale for the price; the browser's language when `None`.
    locale: Option<String>,
) -> impl IntoView {
    let price = money::format(offer.product_price, locale.as_deref());
    view! {
        <section class="m-card" aria-labelledby="m-product-name">
            <h2 id="m-product-name" class="m-title">{offer.product_name}</h2>
            <p class="m-muted">{offer.product_description}</p>
            <p class="m-price" data-testid="product-price">{price}</p>
        </section>
    }
}
