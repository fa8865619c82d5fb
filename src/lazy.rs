//! Code a shopper needs only after paying (the add-on cards and their charge flow) or only when
//! leaving (the exit offer and its browser-signal watcher) lives in a wasm chunk of its own
//! (`split_offers.wasm`: one chunk, because both are fetched at the same moment), so it is not on
//! the checkout's critical path. The release pipeline (`cargo xtask build`) compiles with
//! `--cfg momentum_split` and splits the module at these functions; the chunks are fetched relative
//! to `momentum.js`, as soon as the checkout is idle and at the latest when Pay is pressed.
//!
//! A chunk that cannot be fetched is an `Err`, never a panic: the caller skips the add-on or the
//! exit offer, and the receipt (which is on the main module) always shows. Builds without the cfg
//! (the wasm tests, a plain `cargo build`) have no chunks: the same functions resolve at once.

use leptos::prelude::*;
use momentum_core::funnel::Stage;

use crate::session::Session;
use crate::ui::addon_card::AddonCard;
use crate::ui::exit_offer::ExitOffer;

pub use leptos::wasm_split::SplitLoaderError as ChunkError;

/// Builds a chunk's view: called by [`crate::ui::lazy_view::LazyView`] under its reactive owner.
pub type Build = Box<dyn FnOnce() -> AnyView>;

/// Declares a split point: `fn name(args) -> Result<T, ChunkError>`, and `preload()` for its chunk.
macro_rules! split_point {
    ($chunk:ident, $preload:ident, $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty $body:block) => {
        $(#[$doc])*
        #[cfg(momentum_split)]
        #[leptos::wasm_split::wasm_split($chunk, wasm_split_path = ::leptos::wasm_split, fallible, preload($preload))]
        pub fn $name($($arg: $ty),*) -> Result<$ret, ChunkError> {
            Ok($body)
        }

        $(#[$doc])*
        #[cfg(not(momentum_split))]
        pub async fn $name($($arg: $ty),*) -> Result<$ret, ChunkError> {
            Ok($body)
        }

        /// Fetches the chunk without running anything in it.
        #[cfg(not(momentum_split))]
        #[allow(dead_code)] // as with `wasm_split`'s own, not every chunk is preloaded
        pub async fn $preload() -> Result<(), ChunkError> {
            Ok(())
        }
    };
}

split_point!(
    offers,
    preload_addons,
    /// The upsell or downsell card for `stage` (and, reachable only from it, the add-on flow:
    /// announcing the offer, its charge, "No thanks").
    fn addon_card(session: Session, stage: Stage) -> Build {
        session.open_addon(stage);
        Box::new(move || match stage {
            Stage::Offer(kind) | Stage::Settling(kind) => {
                html! { <AddonCard session kind/> }.into_any()
            }
            Stage::Receipt => ().into_any(),
        })
    }
);

split_point!(
    offers,
    preload_exit,
    /// The exit-offer dialog and the watcher that decides when to show it.
    fn exit_offer(session: Session) -> Build {
        Box::new(move || html! { <ExitOffer session/> }.into_any())
    }
);

/// Starts fetching the add-on chunk (once; a failed fetch is retried by the next call).
pub fn start_addons() {
    leptos::task::spawn_local(async {
        let _ = preload_addons().await;
    });
}
