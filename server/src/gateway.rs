//! The payment provider, behind a trait. The reference backend ships [`crate::test_gateway`]; a real
//! provider (e.g. Stripe: tokens → PaymentMethods, charges → PaymentIntents) implements the same
//! six calls. Every call that moves money takes an idempotency key, and the implementation must
//! honour it (return the first result for a repeated key), because the server retries after
//! crashes and timeouts with the same key, and finds a charge whose answer it lost by that key.
//!
//! The trait is synchronous: the service runs each request on tokio's blocking pool, so an HTTP
//! provider client may block (or drive its own runtime handle).

/// A saved payment method: the server-side, reusable credential for this order's add-ons. Its
/// `id` never leaves the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethod {
    /// Provider reference.
    pub id: String,
    /// Card brand.
    pub brand: String,
    /// Last four digits.
    pub last4: String,
}

/// Why a charge is made: the primary purchase (shopper at the checkout) or a one-click add-on on
/// the saved method (the provider may treat it differently, e.g. ask for authentication again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The checkout payment.
    Primary,
    /// An upsell or downsell.
    AddOn,
}

/// A charge to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest<'a> {
    /// Saved payment method.
    pub payment_method: &'a str,
    /// Amount in minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: &'a str,
    /// Purpose.
    pub purpose: Purpose,
    /// Idempotency key (the server's charge id).
    pub idempotency_key: &'a str,
    /// The order the charge belongs to (providers keep it in the charge's metadata).
    pub order_id: &'a str,
}

/// A refund as the provider has it (whoever made it: our refund endpoint, or the creator in the
/// provider's dashboard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRefund {
    /// Provider reference.
    pub id: String,
    /// Minor units.
    pub amount: i64,
    /// Our refund id when we made it; `None` for one made in the provider's dashboard.
    pub ours: Option<String>,
}

/// State of a charge at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayStatus {
    /// Money taken.
    Succeeded,
    /// 3-D Secure: the shopper must visit `url`.
    RequiresAction {
        /// Challenge URL.
        url: String,
    },
    /// Accepted, settles later.
    Processing,
    /// Declined.
    Declined {
        /// Stable code.
        code: String,
        /// Shopper-safe message.
        message: String,
    },
    /// Voided by [`Gateway::void`] before it took any money; it never will.
    Canceled,
}

/// A charge at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayCharge {
    /// Provider reference.
    pub reference: String,
    /// State.
    pub status: GatewayStatus,
}

/// Provider failures (not declines: a decline is a [`GatewayStatus`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayError {
    /// The token does not exist (or expired).
    InvalidToken,
    /// The token was already used by another payment.
    TokenUsed,
    /// No such payment method / charge.
    NotFound,
    /// A refund larger than what is left on the charge.
    RefundExceedsCharge,
    /// The provider could not be reached or failed; safe to retry with the same key.
    Unavailable(String),
}

impl std::fmt::Display for GatewayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GatewayError::InvalidToken => f.write_str("invalid payment token"),
            GatewayError::TokenUsed => f.write_str("payment token already used"),
            GatewayError::NotFound => f.write_str("not found at the payment provider"),
            GatewayError::RefundExceedsCharge => f.write_str("refund exceeds the charge"),
            GatewayError::Unavailable(e) => write!(f, "payment provider unavailable: {e}"),
        }
    }
}

impl std::error::Error for GatewayError {}

/// A payment provider.
pub trait Gateway: Send + Sync {
    /// Turns a one-time token into a saved payment method. Idempotent per `idempotency_key`; a
    /// token used under another key is [`GatewayError::TokenUsed`].
    fn attach(&self, token: &str, idempotency_key: &str) -> Result<PaymentMethod, GatewayError>;
    /// Charges a saved payment method. Idempotent per `req.idempotency_key`.
    fn charge(&self, req: &ChargeRequest<'_>) -> Result<GatewayCharge, GatewayError>;
    /// Current state of a charge (after 3-D Secure, or while processing).
    fn retrieve(&self, reference: &str) -> Result<GatewayCharge, GatewayError>;
    /// The charge made under `idempotency_key` in its current state, or `None` when the provider
    /// never received it: how the server learns what became of a charge whose answer it did not
    /// record (the process died during the call). Stripe: search PaymentIntents by metadata.
    fn find_by_key(&self, idempotency_key: &str) -> Result<Option<GatewayCharge>, GatewayError>;
    /// Voids a charge that has not settled (awaiting 3-D Secure, processing), so that a later
    /// approval takes no money (Stripe: cancel the PaymentIntent). Returns the state afterwards:
    /// `Canceled`, or the settled state when it was too late (`Succeeded`: the approval came
    /// first, and the caller refunds it). Repeating it is harmless.
    fn void(&self, reference: &str) -> Result<GatewayCharge, GatewayError>;
    /// Refunds `amount` of a charge; returns the refund reference. Idempotent per key.
    fn refund(
        &self,
        reference: &str,
        amount: i64,
        idempotency_key: &str,
    ) -> Result<String, GatewayError>;
}
