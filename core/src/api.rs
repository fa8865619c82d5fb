//! Request and response types of the host fetch API, version 1 (`/v1`). `docs/api.md` is the
//! written contract; these types are its single Rust definition, shared by the widget (without
//! serde) and the reference backend (with the `serde` feature).
//!
//! Conventions: amounts are integer minor units of `currency` (`exponent` decimals); timestamps are
//! Unix seconds; optional fields are omitted when absent; request types reject unknown fields.

use crate::quote::{LineKind, Quote, TaxLine};
use crate::tax::TaxMode;

/// Path prefix of this version of the API.
pub const API_VERSION: &str = "v1";
/// Name of the idempotency header.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Header set on a replayed idempotent response.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// Longest accepted idempotency key.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// `POST /v1/quotes`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct QuoteRequest {
    /// Offer id.
    pub offer_id: String,
    /// A/B variant id.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub variant: Option<String>,
    /// Buyer country, ISO 3166-1 alpha-2.
    pub country: String,
    /// Price the product with the exit-offer discount.
    #[cfg_attr(feature = "serde", serde(default))]
    pub exit_offer: bool,
}

/// Response to `GET /v1/offers/{offer_id}/checkout?country=…`: everything the checkout needs to
/// become interactive, in one request the loader makes while the wasm downloads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CheckoutStart {
    /// The offer config, as `GET /v1/offers/{offer_id}` answers it.
    pub offer: crate::offer::OfferConfig,
    /// The `POST /v1/quotes` answer for that country without a variant (also the holdout's), then
    /// for each variant a new shopper can be assigned, in the config's order.
    pub quotes: Vec<QuoteResponse>,
}

/// Response to `POST /v1/quotes`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct QuoteResponse {
    /// Offer id.
    pub offer_id: String,
    /// Variant applied.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub variant: Option<String>,
    /// ISO 4217 code.
    pub currency: String,
    /// Decimal digits of the minor unit.
    pub exponent: u8,
    /// Whether line amounts include VAT.
    pub tax_mode: TaxMode,
    /// Buyer country the tax was computed for.
    pub country: String,
    /// Cart without the order bump.
    pub without_bump: Quote,
    /// Cart with the order bump.
    pub with_bump: Quote,
}

/// The buyer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Buyer {
    /// E-mail address for the receipt.
    pub email: String,
    /// ISO 3166-1 alpha-2 country (decides VAT).
    pub country: String,
}

/// `POST /v1/orders` (with `Idempotency-Key`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct CreateOrderRequest {
    /// Offer id.
    pub offer_id: String,
    /// A/B variant id.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub variant: Option<String>,
    /// Whether the shopper ticked the order bump.
    pub bump: bool,
    /// Whether the shopper accepted the exit offer.
    #[cfg_attr(feature = "serde", serde(default))]
    pub exit_offer: bool,
    /// The shopper is in the offer's holdout (`holdout` in the offer config): the order gets no
    /// add-ons (and no bump when the holdout hides it), and counts as the holdout in the metrics.
    #[cfg_attr(feature = "serde", serde(default))]
    pub holdout: bool,
    /// The buyer.
    pub buyer: Buyer,
    /// One-time payment token from the provider's fields (the test gateway's `tok_…`).
    pub payment_token: String,
    /// The total the shopper was shown (minor units). When the current price differs, the order
    /// is refused with `409 price_changed` and the new quote, and nothing is charged.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub expected_total: Option<i64>,
}

/// Outcome of the primary payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum OrderStatus {
    /// Charged.
    Paid,
    /// 3-D Secure needed: follow `next_action`, then `POST …/confirm`.
    RequiresAction,
    /// Declined; see `decline`. The order is closed; pay again with a new key.
    Declined,
    /// Accepted by the provider, not settled yet: poll `GET /v1/orders/{id}`.
    Processing,
}

impl OrderStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Paid => "paid",
            OrderStatus::RequiresAction => "requires_action",
            OrderStatus::Declined => "declined",
            OrderStatus::Processing => "processing",
        }
    }
}

/// What the client must do next to complete a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
pub enum NextAction {
    /// Open `url` (popup or redirect) for the 3-D Secure challenge; it `postMessage`s
    /// `{type: "momentum:3ds", outcome}` to its opener when done.
    Redirect {
        /// Challenge page.
        url: String,
    },
}

/// Why a payment was declined.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Decline {
    /// Stable code: `card_declined`, `insufficient_funds`, `authentication_failed`, …
    pub code: String,
    /// Message safe to show the shopper.
    pub message: String,
}

/// The card as the shopper may see it. Never a reusable credential.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CardSummary {
    /// `visa`, `mastercard`, `amex`, …
    pub brand: String,
    /// Last four digits.
    pub last4: String,
}

/// A card brand as shoppers know it from their card (`visa` → "Visa"); a brand this list does not
/// know is shown as the provider sent it, and no brand at all as "Card".
pub fn card_brand_name(brand: &str) -> &str {
    match brand.to_ascii_lowercase().as_str() {
        "visa" => "Visa",
        "mastercard" => "Mastercard",
        "amex" | "american_express" | "american express" => "Amex",
        "discover" => "Discover",
        "diners" | "diners_club" => "Diners Club",
        "jcb" => "JCB",
        "unionpay" => "UnionPay",
        "cartes_bancaires" => "Cartes Bancaires",
        "eftpos_au" => "eftpos",
        "interac" => "Interac",
        "" | "unknown" => "Card",
        _ => brand,
    }
}

/// The card as a receipt shows it: "Visa •••• 4242".
pub fn card_label(brand: &str, last4: &str) -> String {
    [card_brand_name(brand.trim()), " •••• ", last4].concat()
}

/// Which charge of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ChargeKind {
    /// Product (+ bump).
    Primary,
    /// The upsell.
    Upsell,
    /// The downsell.
    Downsell,
}

impl ChargeKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeKind::Primary => "primary",
            ChargeKind::Upsell => "upsell",
            ChargeKind::Downsell => "downsell",
        }
    }

    /// Inverse of [`ChargeKind::as_str`].
    pub fn parse(s: &str) -> Option<ChargeKind> {
        match s {
            "primary" => Some(ChargeKind::Primary),
            "upsell" => Some(ChargeKind::Upsell),
            "downsell" => Some(ChargeKind::Downsell),
            _ => None,
        }
    }
}

/// State of one charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ChargeStatus {
    /// Sent to the provider; outcome not known yet.
    Pending,
    /// Waiting for 3-D Secure.
    RequiresAction,
    /// Accepted, settling.
    Processing,
    /// Money taken.
    Succeeded,
    /// Declined (or authentication failed).
    Declined,
}

impl ChargeStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeStatus::Pending => "pending",
            ChargeStatus::RequiresAction => "requires_action",
            ChargeStatus::Processing => "processing",
            ChargeStatus::Succeeded => "succeeded",
            ChargeStatus::Declined => "declined",
        }
    }

    /// Inverse of [`ChargeStatus::as_str`].
    pub fn parse(s: &str) -> Option<ChargeStatus> {
        match s {
            "pending" => Some(ChargeStatus::Pending),
            "requires_action" => Some(ChargeStatus::RequiresAction),
            "processing" => Some(ChargeStatus::Processing),
            "succeeded" => Some(ChargeStatus::Succeeded),
            "declined" => Some(ChargeStatus::Declined),
            _ => None,
        }
    }
}

/// One charge on the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ChargeView {
    /// Charge id.
    pub id: String,
    /// Which part of the order.
    pub kind: ChargeKind,
    /// Amount, minor units.
    pub amount: i64,
    /// State.
    pub status: ChargeStatus,
    /// Card charged.
    pub card: CardSummary,
    /// Why it was declined.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub decline: Option<Decline>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A line on the receipt (only lines whose charge succeeded).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ReceiptLine {
    /// `product`, `bump`, `upsell`, `downsell`; the `{line_id}` of the refund endpoint.
    pub id: String,
    /// Kind.
    pub kind: LineKind,
    /// Text.
    pub label: String,
    /// Amount as displayed (VAT included when inclusive).
    pub amount: i64,
    /// VAT carried by the line.
    pub tax_amount: i64,
    /// The charge that paid for it.
    pub charge_id: String,
    /// Whether it has been refunded.
    pub refunded: bool,
}

/// A refund of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RefundView {
    /// Refund id.
    pub id: String,
    /// Line refunded.
    pub line_id: String,
    /// Amount returned to the card (line amount, plus its tax when exclusive).
    pub amount: i64,
    /// Unix seconds.
    pub created_at: i64,
}

/// Where a post-purchase offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum OfferState {
    /// The offer has no such add-on.
    NotAvailable,
    /// May be shown now.
    Open,
    /// Not yet reachable (downsell before the upsell is answered) or no longer (order not paid).
    Locked,
    /// Accepted; its charge is in flight or awaiting 3-D Secure.
    Pending,
    /// Accepted and paid.
    Accepted,
    /// The shopper said no.
    Declined,
    /// Accepted but the card declined or authentication failed.
    Failed,
    /// Closed because of another answer (downsell after an accepted or failed upsell).
    Closed,
}

/// The post-purchase answers of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OfferAnswers {
    /// Whether the order bump was taken.
    pub bump: bool,
    /// Upsell state.
    pub upsell: OfferState,
    /// Downsell state.
    pub downsell: OfferState,
}

/// One entry of the order's history.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EventView {
    /// `order_created`, `payment_succeeded`, `payment_requires_action`, `payment_processing`,
    /// `payment_declined`, `upsell_accepted`, `upsell_declined`, `upsell_failed`,
    /// `downsell_accepted`, `downsell_declined`, `downsell_failed`, `payment_canceled`,
    /// `refund_issued`.
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    pub kind: String,
    /// Unix seconds.
    pub at: i64,
    /// Charge concerned.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub charge_id: Option<String>,
    /// Line concerned (refunds).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub line_id: Option<String>,
    /// Amount concerned, minor units.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub amount: Option<i64>,
}

/// The itemized receipt / order state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Receipt {
    /// Order id.
    pub order_id: String,
    /// Status of the primary payment.
    pub status: OrderStatus,
    /// Offer id.
    pub offer_id: String,
    /// Variant.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub variant: Option<String>,
    /// The exit-offer discount priced this order (so the creator can count its use).
    #[cfg_attr(feature = "serde", serde(default))]
    pub exit_offer: bool,
    /// The order was placed by a shopper in the holdout (no offers shown).
    #[cfg_attr(feature = "serde", serde(default))]
    pub holdout: bool,
    /// ISO 4217.
    pub currency: String,
    /// Minor-unit digits.
    pub exponent: u8,
    /// Whether line amounts include VAT.
    pub tax_mode: TaxMode,
    /// Buyer e-mail.
    pub email: String,
    /// Buyer country.
    pub country: String,
    /// Paid lines.
    pub lines: Vec<ReceiptLine>,
    /// Tax on the paid lines.
    pub tax: Vec<TaxLine>,
    /// Sum of the paid lines (plus added tax): what was charged.
    pub total: i64,
    /// Sum of refunds.
    pub refunded: i64,
    /// `total - refunded`.
    pub net: i64,
    /// Every charge attempt.
    pub charges: Vec<ChargeView>,
    /// Refunds.
    pub refunds: Vec<RefundView>,
    /// Bump / upsell / downsell answers.
    pub offers: OfferAnswers,
    /// History.
    pub events: Vec<EventView>,
    /// Refund terms of the offer.
    pub refund_terms: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// How long after an order is created its `resume_pass` is accepted: the post-purchase window.
pub const RESUME_WINDOW_SECS: i64 = 30 * 60;

/// Response to `POST /v1/orders`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CreateOrderResponse {
    /// Order id (unguessable).
    pub order_id: String,
    /// Bearer secret for every follow-up call on this order. Keep in memory only.
    pub order_secret: String,
    /// A bearer pass for the same calls that expires [`RESUME_WINDOW_SECS`] after the order was
    /// created: the one credential a widget may keep in `sessionStorage`, so that a reload during
    /// the upsell resumes the order. Delete it when the receipt is shown.
    pub resume_pass: String,
    /// Outcome.
    pub status: OrderStatus,
    /// For `requires_action`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub next_action: Option<NextAction>,
    /// For `declined`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub decline: Option<Decline>,
    /// Card used.
    pub card: CardSummary,
    /// When `paid`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub receipt: Option<Receipt>,
}

/// Response to `GET /v1/admin/orders?email=…`: a buyer's orders, oldest first (creator support,
/// reconciliation, and end-to-end tests that count charges).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BuyerOrders {
    /// The email the orders were placed with, as asked.
    pub email: String,
    /// Every order with that email.
    pub orders: Vec<OrderView>,
}

/// Response to `GET /v1/orders/{order_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OrderView {
    /// Order id.
    pub order_id: String,
    /// Current status of the primary payment.
    pub status: OrderStatus,
    /// Pending 3-D Secure of the order or of an add-on.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub next_action: Option<NextAction>,
    /// Why the primary payment was declined.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub decline: Option<Decline>,
    /// Card.
    pub card: CardSummary,
    /// Receipt.
    pub receipt: Receipt,
}

/// An add-on offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum AddonKind {
    /// The upsell.
    Upsell,
    /// The downsell.
    Downsell,
}

impl AddonKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AddonKind::Upsell => "upsell",
            AddonKind::Downsell => "downsell",
        }
    }

    /// The matching charge kind.
    pub fn charge_kind(self) -> ChargeKind {
        match self {
            AddonKind::Upsell => ChargeKind::Upsell,
            AddonKind::Downsell => ChargeKind::Downsell,
        }
    }

    /// The matching line kind.
    pub fn line_kind(self) -> LineKind {
        match self {
            AddonKind::Upsell => LineKind::Upsell,
            AddonKind::Downsell => LineKind::Downsell,
        }
    }
}

/// `POST /v1/orders/{order_id}/addons` (with `Idempotency-Key`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct AddonRequest {
    /// Which offer was accepted.
    pub offer: AddonKind,
}

/// Outcome of an add-on charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum AddonStatus {
    /// Charged; the receipt has the line.
    Succeeded,
    /// 3-D Secure needed: `next_action`, then `POST …/confirm {"target": "upsell"}`.
    RequiresAction,
    /// The card declined; the primary purchase stands.
    Declined,
    /// This add-on was already charged on this order (no second charge).
    AlreadyApplied,
    /// The charge is accepted and settling.
    Processing,
}

/// What the widget shows next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Next {
    /// The downsell card.
    Downsell,
    /// The receipt.
    Receipt,
}

/// Response to `POST /v1/orders/{order_id}/addons`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AddonResponse {
    /// Which offer.
    pub offer: AddonKind,
    /// Outcome.
    pub status: AddonStatus,
    /// What comes next (after the challenge, for `requires_action`).
    pub next: Next,
    /// For `requires_action`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub next_action: Option<NextAction>,
    /// For `declined`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub decline: Option<Decline>,
    /// Receipt after this step.
    pub receipt: Receipt,
}

/// `POST /v1/orders/{order_id}/decline`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct DeclineOfferRequest {
    /// Which offer the shopper said no to.
    pub offer: AddonKind,
}

/// Response to `POST /v1/orders/{order_id}/decline`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DeclineOfferResponse {
    /// Which offer.
    pub offer: AddonKind,
    /// What comes next.
    pub next: Next,
    /// Receipt.
    pub receipt: Receipt,
}

/// What a confirm call is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ConfirmTarget {
    /// The primary payment.
    Order,
    /// The upsell charge.
    Upsell,
    /// The downsell charge.
    Downsell,
}

/// `POST /v1/orders/{order_id}/confirm`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct ConfirmRequest {
    /// Which charge's 3-D Secure just finished.
    pub target: ConfirmTarget,
}

/// Response to `POST /v1/orders/{order_id}/confirm`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ConfirmResponse {
    /// Which charge.
    pub target: ConfirmTarget,
    /// Its state now.
    pub status: ChargeStatus,
    /// For the order: its status now.
    pub order_status: OrderStatus,
    /// For add-ons: what comes next once settled.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub next: Option<Next>,
    /// Still `requires_action`: the challenge again.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub next_action: Option<NextAction>,
    /// Declined / authentication failed.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub decline: Option<Decline>,
    /// Receipt.
    pub receipt: Receipt,
}

/// `POST /v1/orders/{order_id}/lines/{line_id}/refund` (creator auth). The body may be empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct RefundRequest {
    /// Free-text reason kept with the refund.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub reason: Option<String>,
}

/// Response to a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RefundResponse {
    /// The refund.
    pub refund: RefundView,
    /// Receipt after it.
    pub receipt: Receipt,
}

/// `POST /v1/test-gateway/tokens`: what a provider's own card fields would send.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct TokenRequest {
    /// Card number; spaces allowed.
    pub number: String,
    /// 1–12.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub exp_month: Option<u32>,
    /// Four digits, not in the past.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub exp_year: Option<u32>,
    /// 3–4 digits.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub cvc: Option<String>,
}

/// Response to a tokenization.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TokenResponse {
    /// One-time token for `payment_token`.
    pub token: String,
    /// The card.
    pub card: CardSummary,
}

/// The one error shape: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorBody,
}

/// Body of an error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ErrorBody {
    /// Stable code (see `docs/api.md`).
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Field path for validation errors, e.g. `buyer.email`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub field: Option<String>,
    /// With `price_changed`: the cart as it is priced now.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub quote: Option<Box<QuoteResponse>>,
}

/// Minimal e-mail check: one `@`, non-empty local part, a dotted domain, no spaces, ≤ 254 chars.
pub fn is_plausible_email(email: &str) -> bool {
    // Bidirectional controls would let `ana@example.com` display as another address.
    let odd = |c: char| {
        c.is_whitespace()
            || c.is_control()
            || crate::offer::is_bidi_control(c)
            || crate::offer::is_invisible(c)
    };
    if email.len() > 254 || email.chars().any(odd) {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

/// `true` for an acceptable `Idempotency-Key`: 1–255 visible ASCII characters.
pub fn is_valid_idempotency_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_IDEMPOTENCY_KEY
        && key.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    #[test]
    fn card_brands_read_as_shoppers_know_them() {
        use super::card_label;
        assert_eq!(card_label("visa", "4242"), "Visa •••• 4242");
        assert_eq!(card_label("mastercard", "4444"), "Mastercard •••• 4444");
        assert_eq!(card_label("AMEX", "0005"), "Amex •••• 0005");
        assert_eq!(card_label("unknown", "1117"), "Card •••• 1117");
        assert_eq!(card_label("", "1117"), "Card •••• 1117");
        assert_eq!(card_label("elo", "1234"), "elo •••• 1234");
    }

    use super::*;

    #[test]
    fn emails() {
        assert!(is_plausible_email("ana@example.com"));
        assert!(!is_plausible_email("ana@example"));
        assert!(!is_plausible_email("ana example.com"));
        assert!(!is_plausible_email("@example.com"));
        assert!(!is_plausible_email("a@b@c.com"));
        assert!(!is_plausible_email("a@.com"));
        for c in [
            '\u{202E}', '\u{2066}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{FEFF}',
        ] {
            assert!(!is_plausible_email(&format!("ana{c}@example.com")), "{c:?}");
        }
    }

    #[test]
    fn keys() {
        assert!(is_valid_idempotency_key(
            "9b1d7c1e-2f8e-4a57-b4c0-1b1f0b0d1c11"
        ));
        assert!(!is_valid_idempotency_key(""));
        assert!(!is_valid_idempotency_key("a b"));
        assert!(!is_valid_idempotency_key(&"k".repeat(256)));
    }
}
