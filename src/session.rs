//! One shopper's checkout: the offer, both quotes, the order bump, the payment attempt and the
//! receipt. The logic lives in these methods; the components in `ui/` only render the signals and
//! call them. Secrets (the payment token, the order secret) live in memory here and nowhere else.

use leptos::prelude::*;
use leptos::task::spawn_local;
use momentum_core::api::{is_plausible_email, OfferAnswers};
use momentum_core::checkout::{Outcome, Payment};
use momentum_core::embed::Sticky;
use momentum_core::funnel::Stage;
use momentum_core::money::{Currency, Money};
use momentum_core::offer::OfferConfig;
use momentum_core::quote::Quote;
use momentum_core::tax::TaxMode;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::MessageEvent;

use crate::api_client::{self, ApiError, Call};
use crate::funnel_log::FunnelLog;
use crate::host::{self, Host};
use crate::js;
use crate::texts::Texts;
use momentum_core::i18n::{self, Msg};

mod addons;
mod answers;

use answers::{outcome, read_quotes, Unreadable};

/// Waits before asking again for quotes that failed (they are read-only, so retrying is safe).
const QUOTE_RETRY_MS: [u32; 2] = [500, 1_500];

/// How long the checkout waits for the page to register its payment provider.
const ADAPTER_WAIT_MS: u32 = 5_000;

/// What the `payment_failed` event says after the shopper closed the 3-D Secure dialog.
const CANCELED_MESSAGE: &str =
    "Authentication was canceled, so nothing was charged. You can try again.";

/// Both quotes for the current buyer country, so the bump toggles with no network wait.
#[derive(Clone, Debug, PartialEq)]
pub struct Quotes {
    pub currency: Currency,
    pub tax_mode: TaxMode,
    pub without_bump: Quote,
    pub with_bump: Quote,
    /// The buyer country these were priced for.
    pub country: String,
    /// Priced with the exit-offer discount (the cart the Pay button would order).
    pub exit_offer: bool,
}

/// A charge on the receipt: what, how much, to which card.
#[derive(Clone, Debug, PartialEq)]
pub struct ChargeLine {
    pub kind: String,
    pub amount: i64,
    pub card: String,
}

/// The order as the backend reports it after payment.
#[derive(Clone, Debug, PartialEq)]
pub struct Receipt {
    pub order_id: String,
    pub currency: Currency,
    pub money: Quote,
    pub charges: Vec<ChargeLine>,
    pub refund_terms: String,
    pub email: String,
    /// The buyer's country, as the order was priced.
    pub country: String,
    /// The saved card add-ons are charged to, e.g. "Visa •••• 4242".
    pub card: String,
    /// Where the upsell and downsell stand.
    pub answers: OfferAnswers,
}

/// Memory-only state of the attempt in progress (never stored, logged or emitted).
#[derive(Default)]
struct Secrets {
    /// The create-order body as sent (it carries the one-time token); retries resend it verbatim.
    body: Option<String>,
    order_id: Option<String>,
    order_secret: Option<String>,
    /// The order's time-limited resume pass: kept in sessionStorage while an add-on is offered.
    resume_pass: Option<String>,
    /// The newest `receipt` the backend sent with an answer, so the next step needs no request.
    receipt: Option<JsValue>,
}

/// A checkout session; `Copy`, so every handler can hold it.
#[derive(Clone, Copy)]
pub struct Session {
    pub(crate) host: StoredValue<Host, LocalStorage>,
    api: StoredValue<String>,
    pub locale: StoredValue<Option<String>>,
    /// The widget's strings in the shopper's language.
    texts: StoredValue<Texts, LocalStorage>,
    /// The creator's copy as the backend sends it (quote lines, refund terms) → its translation.
    translations: StoredValue<Vec<(String, String)>>,
    /// The offer, its copy in the shopper's language.
    pub offer: StoredValue<OfferConfig>,
    pub variant: StoredValue<Option<String>>,
    pub adapter: StoredValue<Option<JsValue>, LocalStorage>,
    /// The element the provider mounted its fields into (handed back to it when tokenizing).
    fields: StoredValue<Option<web_sys::HtmlElement>, LocalStorage>,
    secrets: StoredValue<Secrets, LocalStorage>,
    pub country: RwSignal<String>,
    pub quotes: RwSignal<Option<Quotes>>,
    pub bump: RwSignal<bool>,
    /// The shopper accepted the exit offer: quotes and the order ask for its discount.
    pub exit_offer: RwSignal<bool>,
    pub email: RwSignal<String>,
    pub email_error: RwSignal<Option<String>>,
    pub payment_error: RwSignal<Option<String>>,
    /// A fault that blocks purchase (quotes that don't add up, no payment provider).
    pub blocked: RwSignal<Option<String>>,
    /// Something the shopper should know that does not block paying (a discount that fell through).
    pub notice: RwSignal<Option<String>>,
    pub payment: RwSignal<Payment>,
    pub receipt: RwSignal<Option<Receipt>>,
    /// After the primary payment: the add-on card, or the receipt. `None` while checking out.
    pub stage: RwSignal<Option<Stage>>,
    /// The add-on charge in progress (its own Idempotency-Key, the same state machine).
    pub addon: RwSignal<Payment>,
    /// What happened to an add-on that was not charged, shown on the card or the receipt.
    pub addon_note: RwSignal<Option<String>>,
    /// A "No thanks" is being sent.
    pub declining: RwSignal<bool>,
    initiated: StoredValue<bool>,
    /// The shopper is in the offer's holdout: shown no offers, ordered as the holdout.
    holdout: bool,
    /// The funnel, reported to the backend for the creator's insights.
    funnel: StoredValue<Rc<FunnelLog>, LocalStorage>,
    /// Resolves the open 3-D Secure challenge (its result message, or the shopper's cancel).
    challenge_done: StoredValue<Option<js_sys::Function>, LocalStorage>,
}

impl Session {
    pub fn new(
        host: Host,
        api: String,
        locale: Option<String>,
        sticky: Sticky,
        offer: OfferConfig,
        country: String,
        texts: Texts,
    ) -> Self {
        // The shopper's language: the creator's overrides of our strings, and their copy.
        let lang = texts.lang();
        let texts = texts.with_overrides(offer.messages(lang));
        let translations = offer.translations(lang);
        let mut offer = offer.localized(lang);
        let bucket = host::ab_bucket(sticky);
        let holdout = offer.in_holdout(bucket);
        let variant = match holdout {
            true => None,
            false => offer.assign_variant(bucket).map(str::to_owned),
        };
        if holdout {
            // The holdout sees the product alone: with no offers in its copy of the config, no
            // component shows one (the backend refuses them for its orders too).
            offer.upsell = None;
            offer.downsell = None;
            offer.exit_offer = None;
            if offer.holdout.as_ref().is_some_and(|h| h.hide_bump) {
                offer.bump = None;
            }
        }
        let funnel = FunnelLog::new(
            &api,
            &offer.id,
            variant.as_deref(),
            holdout,
            &offer.currency,
        );
        Self {
            holdout,
            funnel: StoredValue::new_local(funnel),
            host: StoredValue::new_local(host),
            api: StoredValue::new(api),
            locale: StoredValue::new(locale),
            texts: StoredValue::new_local(texts),
            translations: StoredValue::new(translations),
            offer: StoredValue::new(offer),
            variant: StoredValue::new(variant),
            adapter: StoredValue::new_local(None),
            fields: StoredValue::new_local(None),
            secrets: StoredValue::new_local(Secrets::default()),
            country: RwSignal::new(country),
            quotes: RwSignal::new(None),
            bump: RwSignal::new(false),
            exit_offer: RwSignal::new(false),
            email: RwSignal::new(String::new()),
            email_error: RwSignal::new(None),
            payment_error: RwSignal::new(None),
            blocked: RwSignal::new(None),
            notice: RwSignal::new(None),
            payment: RwSignal::new(Payment::Idle),
            receipt: RwSignal::new(None),
            stage: RwSignal::new(None),
            addon: RwSignal::new(Payment::Idle),
            addon_note: RwSignal::new(None),
            declining: RwSignal::new(false),
            initiated: StoredValue::new(false),
            challenge_done: StoredValue::new_local(None),
        }
    }

    /// The widget's strings (one shared copy: this clones a pointer).
    pub fn texts(&self) -> Texts {
        self.texts.get_value()
    }

    /// The text of `msg` in the shopper's language.
    pub fn t(&self, msg: Msg) -> String {
        self.texts().get(msg)
    }

    /// The text of `msg` with its placeholders filled in.
    pub fn t_with(&self, msg: Msg, args: &[(&str, &str)]) -> String {
        self.texts().fill(msg, args)
    }

    /// A creator text as the backend sent it, in the shopper's language when the creator
    /// translated it.
    pub fn translate(&self, text: &str) -> String {
        self.translations.with_value(|pairs| {
            pairs
                .iter()
                .find(|(base, _)| base == text)
                .map_or_else(|| text.to_owned(), |(_, translated)| translated.clone())
        })
    }

    /// What the shopper reads about a failure with `code`: our words for it, or the backend's
    /// `message` (written for shoppers) when we have none.
    pub fn reason(&self, code: &str, message: &str) -> String {
        i18n::for_code(code).map_or_else(|| message.to_owned(), |msg| self.t(msg))
    }

    fn url(&self, path: &str) -> String {
        [self.api.get_value().as_str(), path].concat()
    }

    /// The quote the shopper is looking at (with or without the bump).
    pub fn quote(&self) -> Option<Quote> {
        let bump = self.bump.get();
        self.quotes.with(|q| {
            q.as_ref().map(|q| {
                if bump {
                    q.with_bump.clone()
                } else {
                    q.without_bump.clone()
                }
            })
        })
    }

    pub fn currency(&self) -> Option<Currency> {
        self.quotes.with(|q| q.as_ref().map(|q| q.currency))
    }

    fn offer_id(&self) -> String {
        self.offer.with_value(|o| o.id.clone())
    }

    /// The A/B variant as JSON (`null` without one), for events and request bodies.
    fn variant_json(&self) -> JsValue {
        self.variant
            .get_value()
            .map_or(JsValue::NULL, JsValue::from)
    }

    /// `momentum:<name>` with the offer, variant and currency, plus `extra`.
    pub(crate) fn emit(&self, name: &str, extra: &[(&str, JsValue)]) {
        let detail = js::object(&[
            ("offer", self.offer_id().into()),
            ("variant", self.variant_json()),
            (
                "currency",
                self.offer.with_value(|o| o.currency.clone()).into(),
            ),
        ]);
        for (key, value) in extra {
            js::set(&detail, key, value.clone());
        }
        self.host.with_value(|h| h.emit(name, &detail));
        let checked = extra
            .iter()
            .find(|(key, _)| *key == "checked")
            .and_then(|(_, value)| value.as_bool());
        self.funnel.with_value(|log| log.record(name, checked));
    }

    /// The checkout is on screen (for the funnel; once per session).
    pub fn viewed(&self) {
        self.funnel
            .with_value(|log| log.record("checkout_viewed", None));
    }

    fn report(&self, code: &str, message: &str) {
        self.host
            .with_value(|h| h.report_error(code, message, None));
    }

    /// A lazily loaded part (`what`) could not be fetched: the page hears of it, the shopper goes on
    /// without it.
    pub fn chunk_failed(self, what: &str) {
        let message = ["The ", what, " could not be loaded, so it is skipped."].concat();
        self.report("chunk_failed", &message);
    }

    /// Takes this shopper's quotes from the checkout-start answer (one per variant), so the
    /// checkout is interactive without asking for them; a list without them changes nothing.
    pub fn use_quotes_from(&self, quotes: &JsValue) {
        let country = self.country.get_untracked();
        let variant = self.variant.get_value();
        let Some(list) = quotes.dyn_ref::<js_sys::Array>() else {
            return;
        };
        let ours = list.iter().find(|quote| {
            js::get_string(quote, "variant") == variant
                && js::get_string(quote, "country").as_deref() == Some(country.as_str())
        });
        if let Some(quotes) = ours.and_then(|q| read_quotes(&q, &country, false).ok()) {
            self.quotes.set(Some(quotes));
        }
    }

    /// Quotes for the checkout: the ones that came with the offer, else [`Self::load_quotes`].
    pub fn ensure_quotes(self) {
        if !self.priced_for_current_cart() {
            self.load_quotes();
        }
    }

    /// Fetches both quotes for the buyer's country (and the exit offer, once accepted), retrying a
    /// failure. Totals that are not the sum of their lines block the purchase. An answer for a cart
    /// that changed meanwhile is dropped: the request for the new one is on its way. If the exit
    /// offer's discount cannot be priced, the shopper keeps the regular price and is told so: a
    /// failed discount must never stop them from paying.
    pub fn load_quotes(self) {
        spawn_local(async move {
            let mut failures = 0;
            loop {
                let cart = (
                    self.country.get_untracked(),
                    self.exit_offer.get_untracked(),
                );
                let answer = self.fetch_quotes(&cart.0, cart.1).await;
                if (
                    self.country.get_untracked(),
                    self.exit_offer.get_untracked(),
                ) != cart
                {
                    return;
                }
                let (shopper, message) = match answer {
                    Ok(quotes) => {
                        self.blocked.set(None);
                        self.quotes.set(Some(quotes));
                        return;
                    }
                    Err(failure) => failure,
                };
                if let Some(delay) = QUOTE_RETRY_MS.get(failures) {
                    failures += 1;
                    js::wait(*delay).await;
                    continue;
                }
                if !cart.1 {
                    self.report("quote_failed", &message);
                    return self.blocked.set(Some(self.t(shopper)));
                }
                self.report("exit_offer_unavailable", &message);
                self.notice.set(Some(self.t(Msg::DiscountUnavailable)));
                self.exit_offer.set(false);
                if self.priced_for_current_cart() {
                    return;
                }
                failures = 0;
            }
        });
    }

    /// Both quotes, or what to tell the shopper and the `quote_failed` event's message.
    async fn fetch_quotes(&self, country: &str, exit_offer: bool) -> Result<Quotes, Unreadable> {
        let body = js::object(&[
            ("offer_id", self.offer_id().into()),
            ("variant", self.variant_json()),
            ("country", country.into()),
            ("exit_offer", exit_offer.into()),
        ]);
        let body = api_client::json(&body);
        let url = self.url("/v1/quotes");
        let answer = api_client::send(Call {
            url: &url,
            body: Some(&body),
            key: None,
            bearer: None,
        })
        .await;
        let json = answer.map_err(|e| answers::failed(&e))?;
        read_quotes(&json, country, exit_offer)
    }

    /// The quotes on screen price the cart as it would be ordered (country, exit-offer discount).
    fn priced_for_current_cart(&self) -> bool {
        let (country, exit_offer) = (
            self.country.get_untracked(),
            self.exit_offer.get_untracked(),
        );
        self.quotes.with_untracked(|q| {
            q.as_ref()
                .is_some_and(|q| q.country == country && q.exit_offer == exit_offer)
        })
    }

    /// Mounts the page's payment provider fields into `container` once the page has registered it.
    pub fn attach_payment(self, container: web_sys::HtmlElement) {
        self.fields.set_value(Some(container.clone()));
        spawn_local(async move {
            let mounted = match host::payment_adapter(ADAPTER_WAIT_MS).await {
                Some(adapter) => host::call_adapter(&adapter, "mount", &container.into()).await.map(|_| adapter),
                None => Err("No payment method is set up on this page (Momentum('payment', …) was never called).".into()),
            };
            match mounted {
                Ok(adapter) => self.adapter.set_value(Some(adapter)),
                Err(message) => {
                    self.report("payment_unavailable", &message);
                    self.blocked.set(Some(self.t(Msg::PaymentUnavailable)));
                }
            }
        });
    }

    /// `checkout_initiated`, once, at the shopper's first interaction with the checkout.
    pub fn initiate(&self) {
        if !self.initiated.get_value() {
            self.initiated.set_value(true);
            self.emit("checkout_initiated", &self.amounts());
        }
    }

    fn amounts(&self) -> Vec<(&'static str, JsValue)> {
        let total = self.quote().map(|q| q.total);
        vec![(
            "total",
            total.map_or(JsValue::NULL, |t| JsValue::from(t as f64)),
        )]
    }

    pub fn set_bump(&self, checked: bool) {
        self.initiate();
        self.bump.set(checked);
        let bump_amount = self.quotes.with_untracked(|q| {
            q.as_ref().and_then(|q| {
                q.with_bump
                    .lines
                    .iter()
                    .find(|l| l.id == "bump")
                    .map(|l| l.amount)
            })
        });
        let mut detail = self.amounts();
        detail.push(("checked", checked.into()));
        detail.push((
            "amount",
            bump_amount.map_or(JsValue::NULL, |a| JsValue::from(a as f64)),
        ));
        self.emit("bump_toggled", &detail);
    }

    /// The Pay button: only a trusted click, only when no attempt is in progress, only with valid
    /// details. Returns whether an attempt started.
    pub fn pay(self, trusted: bool) -> bool {
        if !trusted || !self.payment.with_untracked(Payment::accepts_new_attempt) {
            return false;
        }
        self.initiate();
        let email = self.email.get_untracked().trim().to_owned();
        let email_ok = is_plausible_email(&email);
        self.email_error
            .set((!email_ok).then(|| self.t(Msg::EmailInvalid)));
        let (Some(quote), Some(adapter)) = (
            self.quotes.with_untracked(|_| self.quote()),
            self.adapter.get_value(),
        ) else {
            return false;
        };
        // The cart must be priced as it will be ordered (a new country or the exit offer re-prices it).
        if !email_ok
            || !self.priced_for_current_cart()
            || self.blocked.with_untracked(Option::is_some)
        {
            return false;
        }
        let key = js::random_key();
        if !self
            .payment
            .try_update(|p| p.start(key.clone()))
            .unwrap_or(false)
        {
            return false;
        }
        // The add-on card must be ready the moment the payment is confirmed.
        if self.offer.with_value(|o| o.upsell.is_some()) {
            crate::lazy::start_addons();
        }
        self.payment_error.set(None);
        spawn_local(async move {
            let currency = self.offer.with_value(|o| o.currency.clone());
            let details = js::object(&[
                ("amount", JsValue::from(quote.total as f64)),
                ("currency", currency.into()),
                ("email", email.as_str().into()),
                (
                    "fields",
                    self.fields.get_value().map_or(JsValue::NULL, JsValue::from),
                ),
            ]);
            let token = host::call_adapter(&adapter, "tokenize", &details)
                .await
                .and_then(|t| {
                    t.as_string()
                        .filter(|t| !t.is_empty())
                        .ok_or_else(|| self.t(Msg::CardCheckFailed))
                });
            let token = match token {
                Ok(token) => token,
                Err(message) => {
                    self.payment.update(|p| {
                        p.apply(Outcome::Rejected {
                            code: "payment_details".into(),
                            message: message.clone(),
                        })
                    });
                    self.payment_error.set(Some(message));
                    return;
                }
            };
            let body = js::object(&[
                ("offer_id", self.offer_id().into()),
                ("variant", self.variant_json()),
                ("bump", self.bump.get_untracked().into()),
                ("exit_offer", self.exit_offer.get_untracked().into()),
                ("holdout", self.holdout.into()),
                (
                    "buyer",
                    js::object(&[
                        ("email", email.into()),
                        ("country", self.country.get_untracked().into()),
                    ])
                    .into(),
                ),
                ("payment_token", token.into()),
                // The server refuses the order if this is no longer the price (`price_changed`).
                ("expected_total", JsValue::from(quote.total as f64)),
            ]);
            self.secrets
                .update_value(|s| s.body = Some(api_client::json(&body)));
            self.settle(key).await;
        });
        true
    }

    /// "Check again" after automatic reconciliation gave up: same key, same body.
    pub fn check_again(self) {
        if let Some(key) = self.payment.with_untracked(|p| p.key().map(str::to_owned)) {
            spawn_local(self.settle(key));
        }
    }

    /// Drives the attempt with `key` until it is paid, declined, or waiting for the shopper.
    async fn settle(self, key: String) {
        loop {
            let outcome = match self.payment.get_untracked() {
                Payment::Submitting { .. } | Payment::Checking { .. } => {
                    self.create_order(&key).await
                }
                Payment::Processing { order_id, .. } => self.order_outcome(&order_id).await,
                Payment::Authenticating { order_id, url, .. } => {
                    match self.authenticate(&url).await {
                        Some(_) => self.confirm(&order_id, "order").await,
                        None => {
                            self.cancel(&order_id, "order");
                            Outcome::Declined {
                                code: "authentication_canceled".into(),
                                message: CANCELED_MESSAGE.into(),
                            }
                        }
                    }
                }
                _ => return,
            };
            self.payment.update(|p| p.apply(outcome));
            match self.payment.get_untracked() {
                Payment::Paid { .. } => return self.paid().await,
                Payment::Declined { code, message } => {
                    self.secrets.update_value(|s| *s = Secrets::default());
                    self.payment_error.set(Some(self.reason(&code, &message)));
                    if code == "price_changed" {
                        // Nothing was charged: show the new total; the shopper decides again.
                        self.load_quotes();
                    }
                    let mut detail = self.amounts();
                    detail.push(("code", code.into()));
                    detail.push(("message", message.into()));
                    return self.emit("payment_failed", &detail);
                }
                payment => match payment.retry_delay_ms() {
                    Some(ms) => js::wait(ms).await,
                    None if matches!(payment, Payment::Checking { .. }) => return,
                    None => {}
                },
            }
        }
    }

    /// Whether the page's payment provider runs 3-D Secure itself (`authenticate(next_action)` on
    /// its adapter, e.g. Stripe.js's `handleNextAction`): then the widget shows no challenge dialog.
    pub fn provider_authenticates(&self) -> bool {
        self.adapter.with_value(|a| {
            a.as_ref()
                .is_some_and(|a| js::get(a, "authenticate").is_function())
        })
    }

    /// Waits for the 3-D Secure challenge at `url` to finish: run by the page's provider when its
    /// adapter can, else shown by the `Challenge` dialog, whose page posts its result from its own
    /// origin. `None` when the shopper closed the dialog, or the provider said `canceled` or failed
    /// to run it (the backend then voids the charge: nothing is taken).
    async fn authenticate(&self, url: &str) -> Option<String> {
        if let Some(adapter) = self
            .adapter
            .get_value()
            .filter(|_| self.provider_authenticates())
        {
            let next_action = js::object(&[("type", "redirect".into()), ("url", url.into())]);
            let outcome = host::call_adapter(&adapter, "authenticate", &next_action).await;
            // Whatever the provider says, the backend's confirm asks the gateway what happened.
            return outcome
                .ok()
                .map(|o| o.as_string().unwrap_or_default())
                .filter(|o| o != "canceled");
        }
        let origin = web_sys::Url::new(url).ok()?.origin();
        let mut resolver = None;
        let done = js_sys::Promise::new(&mut |resolve, _| resolver = Some(resolve));
        let resolve = resolver?;
        self.challenge_done.set_value(Some(resolve.clone()));
        let listener = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            if event.origin() == origin
                && js::get_string(&data, "type").as_deref() == Some("momentum:3ds")
            {
                let _ = resolve.call1(&JsValue::NULL, &js::get(&data, "outcome"));
            }
        });
        let window = web_sys::window()?;
        let _ =
            window.add_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
        let result = wasm_bindgen_futures::JsFuture::from(done).await.ok();
        let _ = window
            .remove_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
        self.challenge_done.set_value(None);
        result.and_then(|r| r.as_string())
    }

    /// The shopper closed the challenge: nothing is charged; they may pay again.
    pub fn cancel_challenge(&self) {
        if let Some(resolve) = self.challenge_done.get_value() {
            let _ = resolve.call1(&JsValue::NULL, &JsValue::NULL);
        }
    }

    async fn create_order(&self, key: &str) -> Outcome {
        let Some(body) = self.secrets.with_value(|s| s.body.clone()) else {
            return Outcome::Unknown;
        };
        let url = self.url("/v1/orders");
        let answer = api_client::send(Call {
            url: &url,
            body: Some(&body),
            key: Some(key),
            bearer: None,
        })
        .await;
        if let Ok(json) = &answer {
            self.secrets.update_value(|s| {
                s.order_id = js::get_string(json, "order_id");
                s.order_secret = js::get_string(json, "order_secret");
                s.resume_pass = js::get_string(json, "resume_pass");
            });
        }
        self.remember_receipt(&answer);
        outcome(answer, "status", None)
    }

    /// The order's secret, or (after a reload) its resume pass.
    fn bearer(&self) -> Option<String> {
        self.secrets
            .with_value(|s| s.order_secret.clone().or_else(|| s.resume_pass.clone()))
    }

    /// Keeps the `receipt` an answer carries, for the step after it.
    fn remember_receipt(&self, answer: &Result<JsValue, ApiError>) {
        if let Ok(json) = answer {
            let receipt = js::get(json, "receipt");
            if receipt.is_object() {
                self.secrets.update_value(|s| s.receipt = Some(receipt));
            }
        }
    }

    /// A call about the current order (`GET` without a body), remembering its receipt.
    async fn order_call(
        &self,
        path: &str,
        body: Option<&str>,
        key: Option<&str>,
    ) -> Result<JsValue, ApiError> {
        let order_id = self
            .secrets
            .with_value(|s| s.order_id.clone())
            .unwrap_or_default();
        let url = self.url(&["/v1/orders/", &order_id, path].concat());
        let bearer = self.bearer();
        let answer = api_client::send(Call {
            url: &url,
            body,
            key,
            bearer: bearer.as_deref(),
        })
        .await;
        self.remember_receipt(&answer);
        answer
    }

    async fn order_outcome(&self, order_id: &str) -> Outcome {
        outcome(
            self.order_call("", None, None).await,
            "status",
            Some(order_id),
        )
    }

    /// The shopper gave up on the 3-D Secure check of `target`: the backend voids the charge, so a
    /// late approval at the bank takes nothing (or is refunded). Sent in the background, again
    /// while its outcome is unknown; the shopper never waits for it. The order's credential is
    /// taken now, as a declined primary payment forgets it.
    fn cancel(&self, order_id: &str, target: &'static str) {
        let url = self.url(&["/v1/orders/", order_id, "/cancel"].concat());
        let bearer = self.bearer();
        spawn_local(async move {
            let body = api_client::json(&js::object(&[("target", target.into())]));
            for delay in addons::RETRY_MS {
                js::wait(delay).await;
                let answer = api_client::send(Call {
                    url: &url,
                    body: Some(&body),
                    key: None,
                    bearer: bearer.as_deref(),
                })
                .await;
                if !matches!(&answer, Err(e) if e.outcome_unknown()) {
                    break;
                }
            }
        });
    }

    /// After 3-D Secure: asks the backend to confirm `target` (`order`, `upsell`, `downsell`).
    async fn confirm(&self, order_id: &str, target: &str) -> Outcome {
        let body = api_client::json(&js::object(&[("target", target.into())]));
        // The order's own state is `order_status`; an add-on's charge state is `status`.
        let field = if target == "order" {
            "order_status"
        } else {
            "status"
        };
        outcome(
            self.order_call("/confirm", Some(&body), None).await,
            field,
            Some(order_id),
        )
    }
}

/// The status line under a button while its payment is in progress; `submitting` says what is
/// being sent (the purchase, or an add-on).
pub fn status_line(payment: &Payment, submitting: Msg) -> Option<Msg> {
    Some(match payment {
        Payment::Submitting { .. } => submitting,
        Payment::Authenticating { .. } => Msg::StatusAuthenticating,
        Payment::Processing { .. } => Msg::StatusProcessing,
        Payment::Checking { .. } => Msg::StatusChecking,
        _ => return None,
    })
}

/// Money in the session's currency.
pub fn money(currency: Currency, minor: i64) -> Money {
    Money::new(minor, currency)
}
