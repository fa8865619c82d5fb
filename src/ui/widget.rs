use leptos::prelude::*;
use leptos::task::spawn_local;
use momentum_core::embed::{EmbedConfig, EmbedError};
use momentum_core::funnel::Stage;
use momentum_core::i18n::Msg;
use momentum_core::offer::OfferConfig;
use wasm_bindgen::JsValue;

use crate::host::{self, Host};
use crate::lazy;
use crate::session::Session;
use crate::texts::{self, Texts};
use crate::ui::checkout::Checkout;
use crate::ui::error_notice::ErrorNotice;
use crate::ui::lazy_view::LazyView;
use crate::ui::receipt::Receipt;
use crate::{api_client, decode, js};

#[derive(Clone)]
enum Load {
    Loading,
    Ready(Box<Session>),
    Failed(String),
}

/// The whole widget for one `<momentum-checkout>`: loads and validates the offer, then shows the
/// checkout, once paid the add-on cards, then the receipt.
#[component]
pub fn Widget(
    /// The element this widget lives in; events are dispatched on it.
    host: Host,
    /// The embed settings as parsed from the element's attributes.
    config: Result<EmbedConfig, EmbedError>,
    /// The fallback checkout URL, when it is safe to link to.
    fallback: Option<String>,
    /// The loader's checkout-start request: its URL and `fetch`'s promise.
    preload: Option<(String, js_sys::Promise)>,
    /// The loader's request for the language file, and where the files are.
    strings: texts::Preload,
) -> impl IntoView {
    let config = match config {
        Ok(config) => config,
        Err(error) => {
            let texts = Texts::english();
            return html! { <ErrorNotice texts message=error.to_string() fallback/> }.into_any();
        }
    };
    let lang = texts::negotiate(config.locale.as_deref());
    // What the loader's placeholder says, in the language it chose, until the widget's own words.
    let placeholder = strings.placeholder.clone();
    let strings = texts::request(lang, strings);
    let texts = RwSignal::new_local(Texts::english());
    let state = RwSignal::new_local(Load::Loading);
    let country = host::buyer_country(config.locale.as_deref());
    spawn_local(async move {
        let loaded = load_offer(&config, &country, preload).await;
        let strings = texts::load(lang, strings).await;
        if strings.lang() != lang {
            // Its file was unavailable: the words are English, and screen readers must know.
            speak_english(&host);
        }
        match loaded {
            Ok((offer, quotes)) => {
                for warning in momentum_core::advice::warnings(&offer) {
                    web_sys::console::warn_1(
                        &["[momentum] ", &warning.to_string()].concat().into(),
                    );
                }
                host.emit("ready", &js::object(&[("offer", offer.id.as_str().into())]));
                let session = Session::new(
                    host,
                    config.api.clone(),
                    config.locale.clone(),
                    config.sticky,
                    offer,
                    country,
                    strings,
                );
                session.use_quotes_from(&quotes);
                session.resume().await;
                // The checkout renders in a task of its own: reading the offer and rendering it
                // in one would be the longest task of the page's load.
                js::wait(0).await;
                state.set(Load::Ready(Box::new(session)));
            }
            Err((code, field, message)) => {
                host.report_error(&code, &message, field.as_deref());
                texts.set(strings);
                state.set(Load::Failed(message));
            }
        }
    });
    html! {
        <div
            class="m-widget"
            lang=lang
            dir=if momentum_core::i18n::is_rtl(lang) { "rtl" } else { "ltr" }
        >
            {move || match state.get() {
                // The loader's placeholder (src/loader.js): the same element, so nothing moves.
                Load::Loading => {
                    let text = placeholder.clone().unwrap_or_else(|| texts.with_untracked(|t| t.get(Msg::Loading)));
                    html! { <p class="m-card m-skeleton" part="card" role="status">{text}</p> }.into_any()
                }
                Load::Ready(session) => {
                    let session = *session;
                    // A memo, so a card re-renders (and re-arms) only when the stage really changes.
                    let stage = Memo::new(move |_| session.stage.get());
                    (move || match stage.get() {
                        None => html! { <Checkout session/> }.into_any(),
                        Some(stage @ (Stage::Offer(_) | Stage::Settling(_))) => html! {
                            <LazyView load=lazy::addon_card(session, stage) unavailable=move || session.addon_unavailable()/>
                        }.into_any(),
                        Some(Stage::Receipt) => html! { <Receipt session/> }.into_any(),
                    }).into_any()
                }
                Load::Failed(message) => {
                    let texts = texts.get_untracked();
                    html! { <ErrorNotice texts message fallback=fallback.clone()/> }.into_any()
                }
            }}
        </div>
    }
    .into_any()
}

/// Marks the widget's content as English, left to right (set once, on a rare path: a reactive
/// attribute would cost every shopper more code).
fn speak_english(host: &Host) {
    let root = host.element().shadow_root();
    if let Some(widget) = root.and_then(|r| r.query_selector(".m-widget").ok().flatten()) {
        let _ = widget.set_attribute("lang", "en");
        let _ = widget.set_attribute("dir", "ltr");
    }
}

/// (event code: ours, or the backend's own stable code; attribute or config field at fault;
/// message).
type LoadError = (String, Option<String>, String);

/// The offer from inline config (`data-config="#json-script"`) or the backend, strictly validated,
/// and the quotes that came with it (the checkout-start answer's list; else none). The loader's
/// request is used when it asked for what this widget would (the same URL), else the offer alone.
async fn load_offer(
    config: &EmbedConfig,
    country: &str,
    preload: Option<(String, js_sys::Promise)>,
) -> Result<(OfferConfig, JsValue), LoadError> {
    let failed = |e: api_client::ApiError| (e.code().to_owned(), None, e.message());
    let (json, quotes) = match (&config.inline, preload) {
        (Some(selector), _) => (inline_json(selector)?, JsValue::UNDEFINED),
        // A backend without the endpoint, or any failure: the offer alone, as before it existed.
        (None, Some((url, response))) if url == config.checkout_url(country) => {
            match api_client::receive(response).await {
                Ok(start) => (js::get(&start, "offer"), js::get(&start, "quotes")),
                Err(_) => (
                    offer_alone(config).await.map_err(failed)?,
                    JsValue::UNDEFINED,
                ),
            }
        }
        (None, _) => (
            offer_alone(config).await.map_err(failed)?,
            JsValue::UNDEFINED,
        ),
    };
    // The event names the config field at fault (`fallback_url`, `variants[1].upsell_price`), as the
    // backend's error does; only a config that is not an object at all has none.
    let offer = decode::offer(json).map_err(|e| {
        let field = (!e.field.is_empty()).then_some(e.field);
        let at = field
            .as_deref()
            .map(|f| [f, ": "].concat())
            .unwrap_or_default();
        let message = ["Offer config: ", &at, &e.message].concat();
        ("offer_invalid".into(), field, message)
    })?;
    if config.offer.as_deref().is_some_and(|id| id != offer.id) {
        let message = [
            "data-offer: \"",
            config.offer.as_deref().unwrap_or_default(),
            "\" does not match the config's id \"",
            &offer.id,
            "\"",
        ]
        .concat();
        return Err(("config_invalid".into(), Some("offer".into()), message));
    }
    Ok((offer, quotes))
}

async fn offer_alone(config: &EmbedConfig) -> Result<JsValue, api_client::ApiError> {
    api_client::get_json(&config.offer_url()).await
}

fn inline_json(selector: &str) -> Result<JsValue, LoadError> {
    let missing = || {
        (
            "config_invalid".into(),
            Some("config".into()),
            ["data-config: no element matches \"", selector, "\""].concat(),
        )
    };
    let text = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(selector).ok().flatten())
        .and_then(|el| el.text_content())
        .ok_or_else(missing)?;
    js_sys::JSON::parse(&text).map_err(|e| {
        let reason = js::get_string(&e, "message").unwrap_or_default();
        (
            "config_invalid".into(),
            Some("config".into()),
            ["data-config: not valid JSON (", &reason, ")"].concat(),
        )
    })
}
