use leptos::prelude::*;
use leptos::task::spawn_local;
use momentum_core::embed::{EmbedConfig, EmbedError};

use crate::api_client;
use crate::host::Host;
use crate::js;
use crate::offer::Offer;
use crate::ui::error_notice::ErrorNotice;
use crate::ui::product_summary::ProductSummary;

#[derive(Clone)]
enum Load {
    Loading,
    Ready(Offer),
    Failed(String),
}

/// The whole widget for one `<momentum-checkout>`: loads the offer, then shows the checkout.
#[component]
pub fn Widget(
    /// The element this widget lives in; events are dispatched on it.
    host: Host,
    /// The embed settings as parsed from the element's attributes.
    config: Result<EmbedConfig, EmbedError>,
    /// The fallback checkout URL as written, for error states.
    fallback: Option<String>,
) -> impl IntoView {
    let config = match config {
        Ok(config) => config,
        Err(error) => {
            return view! { <ErrorNotice message=error.to_string() fallback/> }.into_any()
        }
    };
    let state = RwSignal::new(Load::Loading);
    let locale = config.locale.clone();
    spawn_local(async move {
        let loaded = api_client::get_json(&config.offer_url())
            .await
            .map_err(|e| (e.code().to_owned(), e.message()))
            .and_then(|json| Offer::read(&json).map_err(|e| ("offer_invalid".into(), e)));
        match loaded {
            Ok(offer) => {
                host.emit("ready", &js::object(&[("offer", offer.id.as_str().into())]));
                state.set(Load::Ready(offer));
            }
            Err((code, message)) => {
                host.report_error(&code, &message, None);
                state.set(Load::Failed(message));
            }
        }
    });
    view! {
        <div class="m-widget">
            {move || match state.get() {
                Load::Loading => view! { <p class="m-card m-muted" role="status">"Loading checkout…"</p> }.into_any(),
                Load::Ready(offer) => view! { <ProductSummary offer locale=locale.clone()/> }.into_any(),
                Load::Failed(message) => view! { <ErrorNotice message fallback=fallback.clone()/> }.into_any(),
            }}
        </div>
    }
    .into_any()
}
