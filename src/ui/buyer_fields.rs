use leptos::html::Select;
use leptos::prelude::*;
use leptos::task::spawn_local;
use momentum_core::i18n::Msg;
use momentum_core::tax::COUNTRIES;
use web_sys::HtmlOptionElement;

use crate::session::Session;
use crate::{intl, js};

/// Email for the receipt and the buyer's country (it decides the VAT), with errors tied to fields.
#[component]
pub fn BuyerFields(
    /// The checkout session.
    session: Session,
) -> impl IntoView {
    // Names and their order in the shopper's language, from Intl (no country list of our own). The
    // first render has the selected country alone, the one the field shows; the other 249 (a name,
    // a place in the order and an element each: a fifth of the checkout's first render) are added
    // around it when the browser is idle, or at once when the shopper reaches the field. Added as
    // plain `Option`s, not through the view: a reactive list of 250 cost the module 1.4 KB.
    let lang = session.texts().lang();
    let selected = session.country.get_untracked();
    let selected = COUNTRIES.split(' ').find(|code| *code == selected);
    let first = intl::countries(selected.into_iter(), lang);
    let select = NodeRef::<Select>::new();
    let listed = StoredValue::new(false);
    let list_all = move || {
        // Nothing once the checkout is gone (paid before the browser was idle).
        let unlisted = listed.try_get_value() == Some(false);
        let Some(select) = select.try_get_untracked().flatten().filter(|_| unlisted) else {
            return;
        };
        listed.set_value(true);
        let shown = select.first_child();
        let mut before_shown = shown.is_some();
        for (name, code) in intl::countries(COUNTRIES.split(' '), lang) {
            if Some(code) == selected {
                before_shown = false;
                continue;
            }
            if let Ok(option) = HtmlOptionElement::new_with_text_and_value(&name, code) {
                let _ = select.insert_before(&option, shown.as_ref().filter(|_| before_shown));
            }
        }
    };
    spawn_local(async move {
        js::idle().await;
        list_all();
    });
    let options = first
        .into_iter()
        .map(|(name, code)| html! { <option value=code selected=true>{name}</option> })
        .collect_view();
    let busy = move || session.payment.with(|p| p.is_busy());
    html! {
        <div class="m-field">
            <label for="m-email">{session.t(Msg::EmailLabel)}</label>
            <input
                id="m-email"
                // An address reads left to right in every language.
                dir="ltr"
                type="email"
                inputmode="email"
                autocomplete="email"
                required
                aria-invalid=move || session.email_error.with(Option::is_some).to_string()
                aria-describedby="m-email-error"
                prop:value=move || session.email.get()
                readonly=busy
                on:input=move |ev| {
                    session.email.set(event_target_value(&ev));
                    session.email_error.set(None);
                }
            />
            <p id="m-email-error" class="m-field-error">{move || session.email_error.get()}</p>
        </div>
        <div class="m-field">
            <label for="m-country">{session.t(Msg::CountryLabel)}</label>
            <select
                node_ref=select
                id="m-country"
                autocomplete="country"
                disabled=busy
                on:focus=move |_| list_all()
                on:change=move |ev| {
                    session.country.set(event_target_value(&ev));
                    session.load_quotes();
                }
            >
                {options}
            </select>
        </div>
    }
}
