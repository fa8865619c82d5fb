use leptos::prelude::*;
use momentum_core::i18n::Msg;
use momentum_core::tax::COUNTRIES;

use crate::intl;
use crate::session::Session;

/// Email for the receipt and the buyer's country (it decides the VAT), with errors tied to fields.
#[component]
pub fn BuyerFields(
    /// The checkout session.
    session: Session,
) -> impl IntoView {
    // Names and their order in the shopper's language, from Intl (no country list of our own).
    let lang = session.texts().lang();
    let mut countries = intl::country_names(COUNTRIES.split(' '), Some(lang));
    intl::sort(&mut countries, lang);
    let selected = session.country.get_untracked();
    let options = countries
        .into_iter()
        .map(|(name, code)| html! { <option value=code selected=code == selected>{name}</option> })
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
                id="m-country"
                autocomplete="country"
                disabled=busy
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
