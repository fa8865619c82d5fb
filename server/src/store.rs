//! Persistence behind a trait. Every method is one transaction: a failure writes nothing.
//! Implementations: [`crate::sqlite::SqliteStore`] (one process, `BEGIN IMMEDIATE`) and
//! [`crate::postgres::PostgresStore`] (any number of processes: row locks, `ON CONFLICT`, and
//! session advisory locks for [`Store::try_lease`]).

use momentum_core::api::{AddonKind, ChargeKind, ChargeStatus};
use momentum_core::offer::OfferConfig;
use momentum_core::quote::LineKind;
use momentum_core::tax::TaxMode;

use crate::rules::Refusal;

/// A storage failure (I/O, corruption, busy beyond the timeout).
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// An idempotency key, scoped to an endpoint and (for order sub-resources) an order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdemKey {
    /// Endpoint name, e.g. `create_order`, `addon`.
    pub endpoint: &'static str,
    /// Order id for sub-resources, empty for `create_order`.
    pub scope: String,
    /// The client's key.
    pub key: String,
}

/// A stored idempotency record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdemRecord {
    /// SHA-256 of the canonical request.
    pub fingerprint: String,
    /// The resource the request created (order id, charge id).
    pub resource_id: String,
    /// `Some((status, body))` once the response is stored.
    pub response: Option<(u16, String)>,
    /// Unix seconds.
    pub created_at: i64,
}

/// Outcome of starting an idempotent operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// New: the record and the resource were inserted.
    Started,
    /// The key already has a record (completed, or left in flight by a crashed process).
    Existing(IdemRecord),
}

/// Outcome of starting an add-on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeginAddon {
    /// New add-on charge inserted.
    Started,
    /// The key already has a record.
    Existing(IdemRecord),
    /// The funnel rules refuse it (nothing written).
    Refused(Refusal),
}

/// A line to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    /// Kind (and id).
    pub kind: LineKind,
    /// Text.
    pub label: String,
    /// Amount as displayed.
    pub amount: i64,
    /// Tax carried.
    pub tax_amount: i64,
    /// Rate applied.
    pub rate_bp: u32,
}

/// A charge to insert (status `pending`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCharge {
    /// Charge id; also the gateway idempotency key.
    pub id: String,
    /// Kind.
    pub kind: ChargeKind,
    /// Amount, minor units.
    pub amount: i64,
}

/// What was bought, by whom, with which saved card: written once when the order is created and
/// never changed (later offer edits do not reprice it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderHeader {
    /// Order id.
    pub id: String,
    /// Offer id.
    pub offer_id: String,
    /// Variant.
    pub variant: Option<String>,
    /// The offer config as priced (later config edits do not change this order).
    pub offer: OfferConfig,
    /// ISO 4217.
    pub currency: String,
    /// Tax mode.
    pub tax_mode: TaxMode,
    /// Buyer country.
    pub country: String,
    /// Buyer e-mail.
    pub email: String,
    /// Bump taken.
    pub bump: bool,
    /// Exit offer taken.
    pub exit_offer: bool,
    /// Placed from the offer's holdout: no add-ons, counted as the holdout in the metrics.
    pub holdout: bool,
    /// Saved payment method (gateway reference; never leaves the server).
    pub payment_method: String,
    /// Card brand.
    pub card_brand: String,
    /// Card last 4.
    pub card_last4: String,
}

/// An order to insert, with its lines and primary charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// The order's header.
    pub header: OrderHeader,
    /// Lines.
    pub lines: Vec<NewLine>,
    /// Primary charge.
    pub charge: NewCharge,
}

/// A stored line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRecord {
    /// Line id (= kind).
    pub id: String,
    /// Kind.
    pub kind: LineKind,
    /// Text.
    pub label: String,
    /// Amount as displayed.
    pub amount: i64,
    /// Tax carried.
    pub tax_amount: i64,
    /// Rate.
    pub rate_bp: u32,
    /// Paying charge.
    pub charge_id: String,
}

/// A stored charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRecord {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: ChargeKind,
    /// Amount.
    pub amount: i64,
    /// Status.
    pub status: ChargeStatus,
    /// Gateway reference, once sent.
    pub gateway_ref: Option<String>,
    /// 3-D Secure URL while `requires_action`.
    pub action_url: Option<String>,
    /// Decline code and message.
    pub decline: Option<(String, String)>,
    /// Unix seconds.
    pub created_at: i64,
    /// When the shopper abandoned its 3-D Secure check (`POST …/cancel`): from then on it is
    /// voided, never captured, and refunded if it took money anyway.
    pub canceled_at: Option<i64>,
}

/// A stored refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    /// Id; also the gateway idempotency key.
    pub id: String,
    /// Line.
    pub line_id: String,
    /// Charge refunded.
    pub charge_id: String,
    /// Amount.
    pub amount: i64,
    /// Gateway reference once done.
    pub gateway_ref: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Type.
    pub kind: String,
    /// Unix seconds.
    pub at: i64,
    /// Charge.
    pub charge_id: Option<String>,
    /// Line.
    pub line_id: Option<String>,
    /// Amount.
    pub amount: Option<i64>,
}

/// An order with everything attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    /// The order's header.
    pub header: OrderHeader,
    /// Unix seconds.
    pub created_at: i64,
    /// Lines (all, including those of unpaid charges).
    pub lines: Vec<LineRecord>,
    /// Charges.
    pub charges: Vec<ChargeRecord>,
    /// Add-ons the shopper declined.
    pub declined: Vec<AddonKind>,
    /// Refunds.
    pub refunds: Vec<RefundRecord>,
    /// History.
    pub events: Vec<EventRecord>,
}

/// A change to a charge after the gateway answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeUpdate {
    /// Charge id.
    pub charge_id: String,
    /// New status.
    pub status: ChargeStatus,
    /// Gateway reference (`None`: the gateway never received the charge).
    pub gateway_ref: Option<String>,
    /// 3-D Secure URL.
    pub action_url: Option<String>,
    /// Decline.
    pub decline: Option<(String, String)>,
}

/// Outcome of starting a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeginRefund {
    /// Inserted (or found unfinished): call the gateway with its id.
    Go(RefundRecord),
    /// Already refunded.
    AlreadyRefunded(RefundRecord),
}

/// Outcome of recording a declined offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineOutcome {
    /// Recorded now.
    Recorded,
    /// Refused (or already declined: [`Refusal::AlreadyDeclined`]).
    Refused(Refusal),
}

/// Exclusive use of a key (an idempotency key in flight, a charge being sent) until dropped.
/// Whoever holds it is the only caller, in every process sharing the store, that works on the key;
/// a process that dies releases its leases with it.
pub struct Lease(Option<Box<dyn FnOnce() + Send + Sync>>);

impl Lease {
    /// A lease that runs `release` when dropped.
    pub fn new(release: impl FnOnce() + Send + Sync + 'static) -> Lease {
        Lease(Some(Box::new(release)))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(release) = self.0.take() {
            release();
        }
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lease")
    }
}

/// Orders, charges, refunds, offers and idempotency records.
pub trait Store: crate::insights::InsightsStore + Send + Sync {
    /// An offer config.
    fn offer(&self, id: &str) -> StoreResult<Option<OfferConfig>>;
    /// Creates or replaces an offer config.
    fn put_offer(&self, offer: &OfferConfig, now: i64) -> StoreResult<()>;
    /// Inserts an offer config unless one with its id exists; `true` when inserted.
    fn seed_offer(&self, offer: &OfferConfig, now: i64) -> StoreResult<bool>;
    /// A per-installation random secret (created on first use), for order secrets.
    fn installation_secret(&self) -> StoreResult<Vec<u8>>;
    /// Takes the [`Lease`] of `key`, or `None` while another caller (in any process sharing this
    /// store) holds it. Not reentrant.
    fn try_lease(&self, key: &IdemKey) -> StoreResult<Option<Lease>>;

    /// The idempotency record of `key`.
    fn idempotency(&self, key: &IdemKey) -> StoreResult<Option<IdemRecord>>;
    /// Stores the response of `key` (in flight → completed).
    fn complete_idempotency(
        &self,
        key: &IdemKey,
        status: u16,
        body: &str,
        now: i64,
    ) -> StoreResult<()>;
    /// Deletes completed records created before `before`; returns how many.
    fn purge_idempotency(&self, before: i64) -> StoreResult<usize>;

    /// One transaction: the idempotency record (in flight) + order + lines + pending primary charge
    /// + `order_created` event; or the existing record of `key`.
    fn begin_order(
        &self,
        key: &IdemKey,
        fingerprint: &str,
        order: &NewOrder,
        now: i64,
    ) -> StoreResult<Begin>;
    /// The order and everything attached.
    fn order(&self, id: &str) -> StoreResult<Option<OrderRecord>>;
    /// Ids of the orders placed with `email` (ASCII letters case-insensitively: support types
    /// `Ana@Example.com` for `ana@example.com`), oldest first.
    fn order_ids_by_email(&self, email: &str) -> StoreResult<Vec<String>>;
    /// Records the gateway's answer for a charge (+ an event when the status changes).
    fn update_charge(&self, update: &ChargeUpdate, now: i64) -> StoreResult<()>;
    /// Records that the shopper canceled the charge's 3-D Secure check (once, with a
    /// `payment_canceled` event); the service then voids it, or refunds it if it succeeded.
    fn request_cancel(&self, charge_id: &str, now: i64) -> StoreResult<()>;
    /// Ids of the orders recovery must look at: a charge still `pending` (its gateway answer was
    /// never recorded), or a canceled charge not voided yet or not fully refunded.
    fn orders_to_recover(&self) -> StoreResult<Vec<String>>;
    /// One transaction: checks the funnel rules against the current state, then inserts the
    /// idempotency record + add-on line + pending charge + `…_accepted` event. The add-on is
    /// `charge.kind` (upsell or downsell).
    fn begin_addon(
        &self,
        key: &IdemKey,
        fingerprint: &str,
        order_id: &str,
        line: &NewLine,
        charge: &NewCharge,
        now: i64,
    ) -> StoreResult<BeginAddon>;
    /// One transaction: checks the rules, records the shopper's no + `…_declined` event.
    fn record_decline(
        &self,
        order_id: &str,
        kind: AddonKind,
        now: i64,
    ) -> StoreResult<DeclineOutcome>;
    /// One transaction: inserts a pending refund of `line_id` (unique per line), or returns the
    /// existing one.
    fn begin_refund(
        &self,
        order_id: &str,
        line_id: &str,
        refund: &RefundRecord,
        reason: Option<&str>,
        now: i64,
    ) -> StoreResult<BeginRefund>;
    /// Marks a refund done + `refund_issued` event.
    fn complete_refund(&self, refund_id: &str, gateway_ref: &str, now: i64) -> StoreResult<()>;

    /// Appends an event to an order's history (what the provider reported, e.g. a dispute).
    fn add_order_event(&self, order_id: &str, event: &EventRecord) -> StoreResult<()>;
    /// Whether the provider's webhook event `event_id` was handled already.
    fn webhook_event_seen(&self, provider: &str, event_id: &str) -> StoreResult<bool>;
    /// Records that the provider's webhook event `event_id` was handled; `false` when it already
    /// was (providers deliver an event more than once).
    fn record_webhook_event(&self, provider: &str, event_id: &str, now: i64) -> StoreResult<bool>;
}
