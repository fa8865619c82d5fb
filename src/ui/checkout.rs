use leptos::prelude::*;
use momentum_core::checkout::Payment;
use momentum_core::i18n::Msg;

use crate::lazy;
use crate::session::Session;
use crate::ui::buyer_fields::BuyerFields;
use crate::ui::challenge::Challenge;
use crate::ui::lazy_view::LazyView;
use crate::ui::order_bump::OrderBump;
use crate::ui::order_summary::OrderSummary;
use crate::ui::pay_button::PayButton;
use crate::ui::payment_field::PaymentField;
use crate::ui::product_summary::ProductSummary;

/// The checkout: product, order bump, buyer details, payment, summary and the Pay button; the exit
/// offer watches it while it is open. Once it is on screen and the browser is idle, the chunks
/// for what may follow (the exit offer, the add-on cards) are fetched.
#[component]
pub fn Checkout(
    /// The checkout session.
    session: Session,
) -> impl IntoView {
    session.ensure_quotes();
    session.viewed();
    let (upsell, exit_offer) = session
        .offer
        .with_value(|o| (o.upsell.is_some(), o.exit_offer.is_some()));
    if upsell {
        leptos::task::spawn_local(async {
            crate::js::idle().await;
            lazy::start_addons();
        });
    }
    let exit_offer = exit_offer.then(|| {
        let load = async move {
            crate::js::idle().await;
            lazy::exit_offer(session).await
        };
        html! { <LazyView load unavailable=move || session.chunk_failed("exit offer")/> }
    });
    let summary = move || {
        let quote = session.quote()?;
        let currency = session.currency()?;
        Some(html! { <OrderSummary session quote currency caption=session.t(Msg::OrderSummary)/> })
    };
    let challenge = move || match session.payment.get() {
        Payment::Authenticating { url, .. } if !session.provider_authenticates() => {
            Some(html! { <Challenge session url/> })
        }
        _ => None,
    };
    html! {
        <form
            class="m-card m-checkout"
            part="card checkout"
            aria-labelledby="m-product-name"
            novalidate
            on:focusin=move |_| session.initiate()
            // Enter in a field never pays: only a click on the Pay button does.
            on:submit=move |ev| ev.prevent_default()
        >
            <ProductSummary session/>
            <OrderBump session/>
            <BuyerFields session/>
            <PaymentField session/>
            {summary}
            <p class="m-error-detail" role="alert">{move || session.blocked.get()}</p>
            <p class="m-status" role="status">{move || session.notice.get()}</p>
            <PayButton session/>
            <p class="m-muted m-small" dir="auto">{session.offer.with_value(|o| o.refund_terms.clone())}</p>
        </form>
        {challenge}
        {exit_offer}
    }
}
