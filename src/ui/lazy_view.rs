use leptos::prelude::*;
use leptos::task::spawn_local;
use std::future::Future;

use crate::lazy::{Build, ChunkError};

/// A view whose code lives in a lazily fetched chunk: nothing until the chunk has arrived (it was
/// preloaded, so usually at once), then the view; if the chunk cannot be fetched, `unavailable`
/// runs instead and nothing is shown.
#[component]
pub fn LazyView<L, U>(
    /// Fetches the chunk and returns the view's builder (a split point in `crate::lazy`).
    load: L,
    /// What to do when the chunk could not be fetched (skip the step it was for).
    unavailable: U,
) -> impl IntoView
where
    L: Future<Output = Result<Build, ChunkError>> + 'static,
    U: FnOnce() + 'static,
{
    let slot = RwSignal::new_local(None::<Build>);
    spawn_local(async move {
        match load.await {
            // The view may be gone meanwhile (the stage moved on): then nothing is built.
            Ok(build) => drop(slot.try_set(Some(build))),
            Err(_) => unavailable(),
        }
    });
    move || {
        slot.track();
        slot.try_update_untracked(Option::take)
            .flatten()
            .map(|build| build())
    }
}
