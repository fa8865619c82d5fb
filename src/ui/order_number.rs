use leptos::prelude::*;

/// "Order ord_…" on one line, the way a receipt prints it: a long id is cut short with an ellipsis
/// on a narrow screen instead of breaking over two lines, while the whole id stays in the text
/// (one click selects all of it for copying, and screen readers read it whole).
#[component]
pub fn OrderNumber(
    /// The word before the id, in the shopper's language.
    label: String,
    /// The order id as the backend sent it.
    order_id: String,
) -> impl IntoView {
    html! {
        <span class="m-order">
            {label} " "
            <span class="m-order-id" data-testid="order-id">{order_id}</span>
        </span>
    }
}
