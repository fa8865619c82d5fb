use leptos::html::Dialog;
use leptos::prelude::*;

use momentum_core::i18n::Msg;

use crate::session::Session;

/// The bank's 3-D Secure challenge in a modal dialog (top layer, focus inside, Escape cancels).
#[component]
pub fn Challenge(
    /// The checkout session, to cancel the challenge.
    session: Session,
    /// The challenge page the backend returned.
    url: String,
) -> impl IntoView {
    let dialog = NodeRef::<Dialog>::new();
    dialog.on_load(|dialog| {
        let _ = dialog.show_modal();
    });
    html! {
        <dialog
            node_ref=dialog
            class="m-dialog m-challenge"
            part="dialog"
            aria-labelledby="m-challenge-title"
            on:cancel=move |ev: web_sys::Event| {
                ev.prevent_default();
                session.cancel_challenge();
            }
        >
            // Focus starts on the heading, not in the bank's frame, so Escape reaches the dialog.
            <h2 id="m-challenge-title" class="m-title" tabindex="-1" autofocus>
                {session.t(Msg::ChallengeTitle)}
            </h2>
            <iframe class="m-challenge-frame" src=url title=session.t(Msg::ChallengeFrame)></iframe>
            <button type="button" class="m-button m-secondary" part="button secondary-button" on:click=move |_| session.cancel_challenge()>
                {session.t(Msg::ChallengeCancel)}
            </button>
        </dialog>
    }
}
