use leptos::html::Div;
use leptos::prelude::*;

use momentum_core::i18n::Msg;

use crate::session::Session;

/// Where the page's payment provider mounts its own card fields. The widget never reads them; it
/// asks the provider for a one-time token when the shopper pays.
#[component]
pub fn PaymentField(
    /// The checkout session.
    session: Session,
) -> impl IntoView {
    let container = NodeRef::<Div>::new();
    container.on_load(move |element| session.attach_payment(element.into()));
    html! {
        <fieldset class="m-payment" aria-describedby="m-payment-error">
            <legend>{session.t(Msg::PaymentLegend)}</legend>
            <div node_ref=container class="m-payment-fields"></div>
            <p id="m-payment-error" class="m-field-error" role="alert">{move || session.payment_error.get()}</p>
        </fieldset>
    }
}
