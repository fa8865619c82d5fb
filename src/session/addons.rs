//! After the primary payment: the upsell and downsell cards, their one-click charges on the saved
//! payment method, and the receipt. Which card shows comes from the order's own answers
//! (`core::funnel::stage`), so a reload resumes exactly where the order stands and never shows an
//! offer twice; every charge goes through the same `Payment` state machine as the primary one.

use leptos::prelude::*;
use leptos::task::spawn_local;
use momentum_core::api::{AddonKind, OfferState};
use momentum_core::checkout::{Outcome, Payment};
use momentum_core::funnel::{self, Card, Stage};
use momentum_core::i18n::Msg;
use wasm_bindgen::JsValue;

use super::answers::{self, answer_json, offer_state, outcome, read_receipt};
use super::{Receipt, Secrets, Session};
use crate::api_client::{self, ApiError};
use crate::host::{self, Host, Storage};
use crate::js;

/// Waits before re-asking for a receipt, or re-sending a "No thanks" or a 3-D Secure cancel whose
/// outcome is unknown.
pub(super) const RETRY_MS: [u32; 5] = [0, 500, 1_000, 2_000, 4_000];

impl Session {
    /// The primary payment is paid: the next card (or the receipt) shows at once, from the receipt
    /// that came with the paying answer.
    pub(super) async fn paid(&self) {
        self.secrets.update_value(|s| s.body = None);
        let Some(receipt) = self.current_receipt().await else {
            return;
        };
        let total = JsValue::from(receipt.money.total as f64);
        self.emit(
            "checkout_completed",
            &[
                ("order", receipt.order_id.as_str().into()),
                ("total", total),
            ],
        );
        self.advance(receipt);
    }

    /// Resumes an order this tab left waiting for an add-on answer (a reload during the upsell).
    /// Without one, or when its pass has expired, the checkout starts fresh.
    pub async fn resume(&self) {
        let Some((order_id, pass)) = self.saved_order() else {
            return;
        };
        self.secrets.update_value(|s| {
            s.order_id = Some(order_id.clone());
            s.resume_pass = Some(pass);
        });
        let paid = self
            .order_call("", None, None)
            .await
            .is_ok_and(|json| js::get_string(&json, "status").as_deref() == Some("paid"));
        match paid {
            true => {
                if let Some(receipt) = self.current_receipt().await {
                    self.payment.set(Payment::Paid { order_id });
                    self.advance(receipt);
                }
            }
            false => {
                self.forget_order();
                self.secrets.update_value(|s| *s = Secrets::default());
            }
        }
    }

    /// The newest receipt: the one the last answer carried, else asked for (with retries).
    async fn current_receipt(&self) -> Option<Receipt> {
        let mut failure = None;
        for delay in RETRY_MS {
            if self.secrets.with_value(|s| s.receipt.is_some()) {
                break;
            }
            js::wait(delay).await;
            match self.order_call("", None, None).await {
                Err(error) if error.outcome_unknown() => failure = Some(answers::failed(&error)),
                Err(error) => {
                    failure = Some(answers::failed(&error));
                    break;
                }
                Ok(_) => {}
            }
        }
        let json = self
            .secrets
            .try_update_value(|s| s.receipt.take())
            .flatten();
        let receipt = json
            .ok_or_else(|| failure.unwrap_or((Msg::ServerError, String::new())))
            .and_then(|json| read_receipt(&json));
        match receipt {
            Ok(receipt) => Some(receipt),
            Err((shopper, detail)) => {
                self.report("receipt_invalid", &detail);
                self.blocked.set(Some(self.t(shopper)));
                None
            }
        }
    }

    /// Shows what follows `receipt`: the open add-on's card, a charge in flight being settled, or
    /// the receipt itself. The card's own chunk opens an add-on stage ([`Self::open_addon`]), so
    /// the add-on flow's code is fetched with the card, not with the checkout.
    fn advance(&self, receipt: Receipt) {
        let stage = funnel::stage(&receipt.answers);
        self.receipt.set(Some(receipt));
        match stage {
            Stage::Offer(_) | Stage::Settling(_) => self.stage.set(Some(stage)),
            _ => self.show_receipt(),
        }
    }

    /// The card for `stage` is about to show (run from the add-on chunk, once per stage): an
    /// offer the config has is announced and kept for a reload, a charge in flight is settled,
    /// and an add-on this shopper has no card for goes straight to the receipt.
    pub fn open_addon(self, stage: Stage) {
        match stage {
            Stage::Offer(kind) if self.card(kind).is_some() => {
                self.addon.set(Payment::Idle);
                self.save_order();
                self.emit_addon(kind, "_offered", &[]);
            }
            Stage::Settling(kind) => {
                let order_id = self.order_id();
                self.addon.set(Payment::Processing {
                    key: String::new(),
                    order_id,
                });
                spawn_local(self.settle_addon(kind, String::new()));
            }
            _ => self.show_receipt(),
        }
    }

    /// The add-on card's code could not be fetched (offline after paying, a CDN hiccup): the
    /// shopper gets the receipt instead, and nothing is charged for an add-on they never saw.
    pub fn addon_unavailable(self) {
        self.chunk_failed("add-on card");
        self.show_receipt();
    }

    fn show_receipt(&self) {
        self.forget_order();
        self.stage.set(Some(Stage::Receipt));
        if let Some((order, total)) = self
            .receipt
            .with_untracked(|r| r.as_ref().map(|r| (r.order_id.clone(), r.money.total)))
        {
            self.emit(
                "receipt_shown",
                &[("order", order.into()), ("total", (total as f64).into())],
            );
        }
    }

    /// What the card for `kind` says and charges (the order's country prices its VAT).
    pub fn card(&self, kind: AddonKind) -> Option<Card> {
        let country = self
            .receipt
            .with_untracked(|r| r.as_ref().map(|r| r.country.clone()))?;
        let variant = self.variant.get_value();
        self.offer
            .with_value(|offer| funnel::card(offer, variant.as_deref(), kind, &country))
    }

    /// Accept on a card: only a trusted click, only once the card has been on screen for
    /// [`funnel::ARM_DELAY_MS`], only when no add-on charge is in flight. Returns whether a charge
    /// started (with its own Idempotency-Key).
    pub fn accept(self, kind: AddonKind, trusted: bool, shown_at_ms: f64) -> bool {
        let offered = self.stage.get_untracked() == Some(Stage::Offer(kind));
        if !trusted
            || !offered
            || self.declining.get_untracked()
            || !funnel::armed(shown_at_ms, js_sys::Date::now())
        {
            return false;
        }
        let key = js::random_key();
        if !self
            .addon
            .try_update(|p| p.accepts_new_attempt() && p.start(key.clone()))
            .unwrap_or(false)
        {
            return false;
        }
        self.addon_note.set(None);
        spawn_local(self.settle_addon(kind, key));
        true
    }

    /// "Check again" on a card whose charge outcome is still unknown: same key, same body.
    pub fn check_addon_again(self, kind: AddonKind) {
        if let Some(key) = self.addon.with_untracked(|p| p.key().map(str::to_owned)) {
            spawn_local(self.settle_addon(kind, key));
        }
    }

    /// Drives the add-on charge with `key` until it is charged, declined, or needs the shopper.
    async fn settle_addon(self, kind: AddonKind, key: String) {
        let body = api_client::json(&js::object(&[("offer", kind.as_str().into())]));
        loop {
            let order_id = self.order_id();
            let outcome = match self.addon.get_untracked() {
                Payment::Submitting { .. } | Payment::Checking { .. } => outcome(
                    self.order_call("/addons", Some(&body), Some(&key)).await,
                    "status",
                    Some(&order_id),
                ),
                Payment::Processing { .. } => self.addon_outcome(kind).await,
                Payment::Authenticating { url, .. } => match self.authenticate(&url).await {
                    Some(_) => self.confirm(&order_id, kind.as_str()).await,
                    None => {
                        // The backend voids the charge, so nothing is taken: on to the receipt.
                        self.cancel(&order_id, kind.as_str());
                        self.addon.set(Payment::Idle);
                        self.emit_addon(
                            kind,
                            "_failed",
                            &[("code", "authentication_canceled".into())],
                        );
                        self.addon_note
                            .set(Some(self.t(Msg::AddonAuthenticationCanceled)));
                        return self.show_receipt();
                    }
                },
                _ => return,
            };
            self.addon.update(|p| p.apply(outcome));
            match self.addon.get_untracked() {
                Payment::Paid { .. } => {
                    let Some(receipt) = self.current_receipt().await else {
                        return;
                    };
                    self.emit_addon(kind, "_accepted", &[]);
                    return self.advance(receipt);
                }
                Payment::Declined { code, message } => {
                    let reason = self.reason(&code, &message);
                    self.emit_addon(kind, "_failed", &[("code", code.into())]);
                    let note = [&reason, " ", &self.t(Msg::AddonNotCharged)].concat();
                    self.addon_note.set(Some(note));
                    if let Some(receipt) = self.current_receipt().await {
                        self.advance(receipt);
                    }
                    return;
                }
                payment => match payment.retry_delay_ms() {
                    Some(ms) => js::wait(ms).await,
                    None if matches!(payment, Payment::Checking { .. }) => return,
                    None => {}
                },
            }
        }
    }

    /// Where an add-on charge in flight stands, from the order status (which settles it).
    async fn addon_outcome(&self, kind: AddonKind) -> Outcome {
        let json = match answer_json(self.order_call("", None, None).await) {
            Ok(json) => json,
            Err(outcome) => return outcome,
        };
        let order_id = self.order_id();
        let offers = js::get(&js::get(&json, "receipt"), "offers");
        match offer_state(&offers, kind.as_str()) {
            OfferState::Accepted => Outcome::Paid { order_id },
            OfferState::Pending => match js::get_string(&js::get(&json, "next_action"), "url") {
                Some(url) => Outcome::RequiresAction { order_id, url },
                None => Outcome::Processing { order_id },
            },
            _ => Outcome::Declined {
                code: "card_declined".into(),
                message: "Your card declined the add-on.".into(),
            },
        }
    }

    /// "No thanks": the backend records it and says what follows (the downsell or the receipt).
    /// Armed like Accept, so the tail of a burst of taps on Pay can't dismiss an offer unseen.
    /// Saying it twice is harmless; while it is being said, Accept does nothing.
    pub fn decline(self, kind: AddonKind, shown_at_ms: f64) {
        let offered = self.stage.get_untracked() == Some(Stage::Offer(kind));
        if !offered
            || !funnel::armed(shown_at_ms, js_sys::Date::now())
            || self.declining.get_untracked()
            || self.addon.with_untracked(Payment::is_busy)
        {
            return;
        }
        self.declining.set(true);
        self.addon_note.set(None);
        spawn_local(async move {
            let body = api_client::json(&js::object(&[("offer", kind.as_str().into())]));
            let mut answer = Err(ApiError::Network);
            for delay in RETRY_MS {
                js::wait(delay).await;
                answer = self.order_call("/decline", Some(&body), None).await;
                if !matches!(&answer, Err(e) if e.outcome_unknown()) {
                    break;
                }
            }
            self.declining.set(false);
            match answer {
                Err(error) if error.outcome_unknown() => self
                    .addon_note
                    .set(Some(self.reason(error.code(), &error.message()))),
                answer => {
                    if answer.is_ok() {
                        self.emit_addon(kind, "_declined", &[]);
                    }
                    // A refusal (already answered) also moves on to where the order stands.
                    if let Some(receipt) = self.current_receipt().await {
                        self.advance(receipt);
                    }
                }
            }
        });
    }

    /// `momentum:upsell_offered` and friends, with the order and the add-on's amount.
    fn emit_addon(&self, kind: AddonKind, suffix: &str, extra: &[(&str, JsValue)]) {
        let amount = self
            .card(kind)
            .map_or(JsValue::NULL, |c| (c.amount as f64).into());
        let mut detail = vec![("order", self.order_id().into()), ("amount", amount)];
        detail.extend_from_slice(extra);
        self.emit(&[kind.as_str(), suffix].concat(), &detail);
    }

    fn order_id(&self) -> String {
        self.secrets
            .with_value(|s| s.order_id.clone())
            .unwrap_or_default()
    }

    /// Per offer and widget instance, so two widgets on one page keep their own orders.
    fn storage_key(&self) -> String {
        let instance = self.host.with_value(Host::instance);
        [
            "momentum:order:",
            &self.offer.with_value(|o| o.id.clone()),
            ":",
            &instance,
        ]
        .concat()
    }

    /// Keeps the order id and its resume pass (never the order secret) in this tab's
    /// sessionStorage while an add-on waits for an answer.
    fn save_order(&self) {
        if let Some(pass) = self.secrets.with_value(|s| s.resume_pass.clone()) {
            let saved = [self.order_id(), pass].join(" ");
            host::store(Storage::Tab, &self.storage_key(), &saved);
        }
    }

    fn saved_order(&self) -> Option<(String, String)> {
        let saved = host::stored(Storage::Tab, &self.storage_key())?;
        let (order, pass) = saved.split_once(' ')?;
        Some((order.to_owned(), pass.to_owned()))
    }

    fn forget_order(&self) {
        host::unstore(Storage::Tab, &self.storage_key());
    }
}
