use leptos::prelude::*;

/// A short, final error in the widget's place, with the creator's fallback checkout when there is one.
#[component]
pub fn ErrorNotice(
    /// What went wrong, in words the creator can act on (also sent to the console and `momentum:error`).
    message: String,
    /// The creator's fallback checkout URL (validated http(s)), offered as a plain link.
    fallback: Option<String>,
) -> impl IntoView {
    html! {
        <div class="m-card m-error" role="alert">
            <p class="m-error-title">"This checkout can’t load here."</p>
            <p class="m-error-detail">{message}</p>
            {fallback.map(|href| html! { <a class="m-button" href=href>"Continue to checkout"</a> })}
        </div>
    }
}
