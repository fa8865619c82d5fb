use leptos::prelude::*;
use momentum_core::i18n::Msg;

use crate::texts::Texts;

/// A short, final error in the widget's place, with the creator's fallback checkout when there is one.
#[component]
pub fn ErrorNotice(
    /// The widget's strings (English when the language file never arrived).
    texts: Texts,
    /// What went wrong, in words the creator can act on (also sent to the console and `momentum:error`).
    message: String,
    /// The creator's fallback checkout URL (validated http(s)), offered as a plain link.
    fallback: Option<String>,
) -> impl IntoView {
    html! {
        <div class="m-card m-error" part="card error" role="alert">
            <p class="m-error-title">{texts.get(Msg::LoadFailed)}</p>
            <p class="m-error-detail">{message}</p>
            {fallback.map(|href| html! { <a class="m-button" part="button" href=href>{texts.get(Msg::ContinueToCheckout)}</a> })}
        </div>
    }
}
