//! The business logic of the API, synchronous (run on tokio's blocking pool): validation,
//! idempotency, orders, add-ons, confirmation and refunds.
//!
//! # Idempotency (IETF `Idempotency-Key` draft, Stripe's practice)
//! A key belongs to one endpoint (`create_order`, or `addon` within one order). For a request:
//! 1. The body is parsed; parse errors are answered and nothing is stored.
//! 2. Fast path: an existing record with another fingerprint (SHA-256 of the canonical request) →
//!    422; with a stored response → that response again, `Idempotent-Replayed: true`.
//! 3. The key is leased ([`Store::try_lease`]: held by one request of one process at a time);
//!    already leased → 409.
//! 4. Validation errors are answered without storing anything (the key stays usable).
//! 5. One transaction inserts the record (in flight) together with the order or add-on charge.
//!    If a record appeared meanwhile, step 2's rules apply; a record that is in flight while we
//!    hold the lease was left by a crashed process and is resumed.
//! 6. The gateway is called with the charge id as its idempotency key, so a resumed request can
//!    never charge twice; its answer is stored; then the response is stored on the record.
//!
//! The lease plus the unique key of the record make the operation exactly-once. SQLite's leases
//! live in the process (one server process per file); Postgres' are session advisory locks, so any
//! number of processes share one database, and a process that dies releases its leases.

mod addons;
mod authentication;
mod orders;
mod receipt;
mod refunds;
mod webhooks;

pub use receipt::receipt;
use receipt::*;

use std::sync::Arc;

use axum::http::StatusCode;
use momentum_core::api::*;
use momentum_core::money::Currency;
use momentum_core::offer::{OfferConfig, ResolveError, ResolvedOffer};
use momentum_core::quote::{addon_quote, quote_pair, QuoteError, QuotePair, TaxLine};
use momentum_core::tax::{TaxMode, TaxRule};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::gateway::{
    ChargeRequest, Gateway, GatewayError, GatewayStatus, ProviderRefund, Purpose,
};
use crate::rules::{Funnel, Refusal, Slot};
use crate::store::*;
use crate::util::{constant_time_eq, hex, hmac_sha256, now_secs, random_id, sha256_hex};

/// How long idempotency records are kept (at least; purged hourly after that).
pub const IDEMPOTENCY_RETENTION_SECS: i64 = 24 * 60 * 60;

/// How long after its creation a primary charge that never reached the gateway (the process died
/// first) is still sent by recovery: the shopper's checkout keeps retrying it with the same key
/// for about that long, so the payment they are waiting for completes. Later they have gone, or
/// paid again, and it is recorded as interrupted instead. Recovery never sends an add-on.
pub const RESEND_PRIMARY_SECS: i64 = 10 * 60;

/// The decline of a charge voided because the shopper canceled its 3-D Secure check.
const CANCELED: (&str, &str) = (
    "authentication_canceled",
    "Authentication was canceled, so nothing was charged.",
);

/// The decline of a charge that never reached the gateway and that recovery does not send.
const INTERRUPTED: (&str, &str) = (
    "payment_interrupted",
    "The payment was interrupted before it reached the bank, so nothing was charged.",
);

/// Who drives a pending charge, one whose gateway answer was never recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drive {
    /// The request that created it, or a retry with its key: send it (the gateway dedups by the
    /// charge id, so a resumed request never charges twice).
    Send,
    /// Anyone else (start-up, a status read, another call on the order): ask the gateway what
    /// became of it.
    Recover,
}

/// A serialized response, possibly a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
    /// Whether it is a stored response replayed.
    pub replayed: bool,
}

/// The API's logic over a store and a gateway.
pub struct Service {
    store: Arc<dyn Store>,
    gateway: Arc<dyn Gateway>,
    secret: Vec<u8>,
    admin_key: String,
}

fn storage(e: StoreError) -> ApiError {
    ApiError::storage(e)
}

fn id_error(e: getrandom::Error) -> ApiError {
    ApiError::storage(e)
}

fn gateway_error(e: GatewayError) -> ApiError {
    match e {
        GatewayError::InvalidToken => ApiError::field(
            "invalid_payment_token",
            "payment_token",
            "the payment token is not valid",
        ),
        GatewayError::TokenUsed => ApiError::field(
            "payment_token_used",
            "payment_token",
            "the payment token was already used; tokenize the card again",
        ),
        GatewayError::NotFound => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "gateway_error",
            "the payment provider does not know this payment",
        ),
        GatewayError::RefundExceedsCharge => ApiError::new(
            StatusCode::CONFLICT,
            "line_not_refundable",
            "the provider refused the refund",
        ),
        GatewayError::Unavailable(m) => {
            eprintln!("momentum-server: gateway unavailable: {m}");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "gateway_unavailable",
                "the payment provider is unavailable; retry with the same Idempotency-Key",
            )
        }
    }
}

fn to_json<T: Serialize>(v: &T) -> ApiResult<String> {
    serde_json::to_string(v).map_err(|_| ApiError::internal())
}

fn conflict(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, message)
}

fn refusal_error(r: Refusal) -> ApiError {
    match r {
        Refusal::OrderNotPaid => conflict(
            "order_not_paid",
            "the order is not paid; add-ons are only possible on a paid order",
        ),
        Refusal::NotAvailable => conflict("offer_not_available", "this offer has no such add-on"),
        Refusal::InProgress => conflict(
            "addon_in_progress",
            "this add-on is already being charged; check the order status",
        ),
        Refusal::Locked => conflict(
            "offer_locked",
            "the downsell is only available after the upsell was declined",
        ),
        Refusal::AlreadyApplied | Refusal::Closed | Refusal::AlreadyDeclined => {
            conflict("offer_closed", "this offer was already answered")
        }
    }
}

fn fingerprint<T: Serialize>(endpoint: &str, scope: &str, req: &T) -> ApiResult<String> {
    let body = to_json(req)?;
    Ok(sha256_hex(
        format!("{endpoint}\n{scope}\n{body}").as_bytes(),
    ))
}

fn required_key(key: Option<&str>) -> ApiResult<String> {
    match key {
        None => Err(ApiError::field(
            "idempotency_key_missing",
            "Idempotency-Key",
            "the Idempotency-Key header is required",
        )),
        Some(k) if !is_valid_idempotency_key(k) => Err(ApiError::field(
            "idempotency_key_invalid",
            "Idempotency-Key",
            "the Idempotency-Key must be 1–255 visible ASCII characters",
        )),
        Some(k) => Ok(k.to_string()),
    }
}

/// What a stored record means for this request: a replay, a 422, or `None` (in flight).
fn existing(rec: &IdemRecord, fp: &str) -> ApiResult<Option<Reply>> {
    if rec.fingerprint != fp {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request; use a new key for a new attempt",
        ));
    }
    Ok(rec.response.as_ref().map(|(status, body)| Reply {
        status: *status,
        body: body.clone(),
        replayed: true,
    }))
}

fn in_progress() -> ApiError {
    conflict(
        "idempotency_key_in_use",
        "a request with this Idempotency-Key is still being processed; retry shortly",
    )
}

fn resolve(offer: &OfferConfig, variant: Option<&str>) -> ApiResult<ResolvedOffer> {
    offer.resolve(variant).map_err(|e| match e {
        ResolveError::UnknownVariant => ApiError::field(
            "unknown_variant",
            "variant",
            "this offer has no such variant",
        ),
        ResolveError::Invalid(f) => {
            eprintln!("momentum-server: stored offer {} is invalid: {f}", offer.id);
            ApiError::new(
                StatusCode::CONFLICT,
                "offer_invalid",
                "the offer configuration is invalid",
            )
        }
    })
}

/// An order from the holdout: the offer has one, and it asks for nothing the holdout is not shown
/// (no exit discount; no bump when the holdout hides it).
fn holdout_allows(offer: &OfferConfig, req: &CreateOrderRequest) -> ApiResult<()> {
    let Some(holdout) = &offer.holdout else {
        return Err(ApiError::field(
            "not_available",
            "holdout",
            "this offer has no holdout",
        ));
    };
    if req.exit_offer {
        return Err(ApiError::field(
            "not_available",
            "exit_offer",
            "the holdout is shown no exit offer",
        ));
    }
    if req.bump && holdout.hide_bump {
        return Err(ApiError::field(
            "not_available",
            "bump",
            "this offer's holdout is shown no order bump",
        ));
    }
    Ok(())
}

/// [`resolve`] for a new quote or order: a paused variant (weight 0) is not for sale.
fn resolve_for_sale(offer: &OfferConfig, variant: Option<&str>) -> ApiResult<ResolvedOffer> {
    let paused =
        variant.is_some_and(|id| offer.variants.iter().any(|v| v.id == id && v.weight == 0));
    if paused {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "variant_paused",
            "this variant is paused (weight 0): quote again without it",
        )
        .with_field("variant"));
    }
    resolve(offer, variant)
}

/// The answer to `POST /v1/quotes`, also sent with `409 price_changed`.
fn quote_response(resolved: &ResolvedOffer, pair: QuotePair, country: &str) -> QuoteResponse {
    QuoteResponse {
        offer_id: resolved.id.clone(),
        variant: resolved.variant.clone(),
        currency: pair.currency.code().to_string(),
        exponent: pair.currency.exponent(),
        tax_mode: pair.tax_mode,
        country: country.to_owned(),
        without_bump: pair.without_bump,
        with_bump: pair.with_bump,
    }
}

fn quote_error(e: QuoteError) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "amount_out_of_range",
        format!("the amounts cannot be priced: {e}"),
    )
}

fn tax_rule(country: &str, field: &str) -> ApiResult<TaxRule> {
    TaxRule::for_country(country)
        .map_err(|e| ApiError::field("invalid_country", field, e.to_string()))
}

fn order_status(primary: ChargeStatus) -> OrderStatus {
    match primary {
        ChargeStatus::Succeeded => OrderStatus::Paid,
        ChargeStatus::RequiresAction => OrderStatus::RequiresAction,
        ChargeStatus::Declined => OrderStatus::Declined,
        ChargeStatus::Pending | ChargeStatus::Processing => OrderStatus::Processing,
    }
}

fn charge_update(charge_id: &str, g: &crate::gateway::GatewayCharge) -> ChargeUpdate {
    let (status, action_url, decline) = match &g.status {
        GatewayStatus::Succeeded => (ChargeStatus::Succeeded, None, None),
        GatewayStatus::Processing => (ChargeStatus::Processing, None, None),
        GatewayStatus::RequiresAction { url } => {
            (ChargeStatus::RequiresAction, Some(url.clone()), None)
        }
        GatewayStatus::Declined { code, message } => (
            ChargeStatus::Declined,
            None,
            Some((code.clone(), message.clone())),
        ),
        GatewayStatus::Canceled => (ChargeStatus::Declined, None, owned(CANCELED)),
    };
    ChargeUpdate {
        charge_id: charge_id.to_string(),
        status,
        gateway_ref: Some(g.reference.clone()),
        action_url,
        decline,
    }
}

/// Lines (of `only`'s charge, or all) whose charge the shopper canceled but that took money
/// anyway, and that are not refunded yet.
fn owed_refunds(o: &OrderRecord, only: Option<ChargeKind>) -> Vec<String> {
    let canceled_but_paid = |charge_id: &str| {
        o.charges.iter().any(|c| {
            c.id == charge_id
                && c.canceled_at.is_some()
                && c.status == ChargeStatus::Succeeded
                && only.is_none_or(|k| k == c.kind)
        })
    };
    o.lines
        .iter()
        .filter(|l| canceled_but_paid(&l.charge_id))
        .filter(|l| {
            !o.refunds
                .iter()
                .any(|r| r.line_id == l.id && r.gateway_ref.is_some())
        })
        .map(|l| l.id.clone())
        .collect()
}

fn owned((code, message): (&str, &str)) -> Option<(String, String)> {
    Some((code.to_string(), message.to_string()))
}

fn target_kind(target: ConfirmTarget) -> ChargeKind {
    match target {
        ConfirmTarget::Order => ChargeKind::Primary,
        ConfirmTarget::Upsell => ChargeKind::Upsell,
        ConfirmTarget::Downsell => ChargeKind::Downsell,
    }
}

fn still_processing() -> ApiError {
    conflict(
        "addon_in_progress",
        "this charge is still being processed; retry shortly",
    )
}

/// What `confirm` and `cancel` answer: where the `target` charge stands now.
fn charge_answer(
    order: &OrderRecord,
    target: ConfirmTarget,
    charge: &ChargeRecord,
) -> ApiResult<ConfirmResponse> {
    let settled = matches!(
        charge.status,
        ChargeStatus::Succeeded | ChargeStatus::Declined
    );
    Ok(ConfirmResponse {
        target,
        status: charge.status,
        order_status: order_status(primary(order)?.status),
        next: if charge.kind != ChargeKind::Primary && settled {
            Some(Next::Receipt)
        } else {
            None
        },
        next_action: next_action_of(charge),
        decline: decline_of(charge),
        receipt: receipt(order)?,
    })
}

impl Service {
    /// A service over `store` and `gateway`; `admin_key` authenticates creator calls.
    pub fn new(
        store: Arc<dyn Store>,
        gateway: Arc<dyn Gateway>,
        admin_key: String,
    ) -> Result<Service, StoreError> {
        let secret = store.installation_secret()?;
        Ok(Service {
            store,
            gateway,
            secret,
            admin_key,
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The store's lease of `key` (shared by every server process on the store); `None`: held.
    fn lock(&self, key: &IdemKey) -> ApiResult<Option<Lease>> {
        self.store.try_lease(key).map_err(storage)
    }

    /// Steps 2–3 of the idempotency protocol: a replay, a 422, a 409, or the lock.
    fn enter(&self, key: &IdemKey, fp: &str) -> ApiResult<Result<Reply, Lease>> {
        if let Some(rec) = self.store.idempotency(key).map_err(storage)? {
            if let Some(reply) = existing(&rec, fp)? {
                return Ok(Ok(reply));
            }
        }
        let guard = self.lock(key)?.ok_or_else(in_progress)?;
        Ok(Err(guard))
    }

    /// The bearer secret of an order: HMAC(installation secret, order id). Nothing to store.
    pub fn order_secret(&self, order_id: &str) -> String {
        format!(
            "osec_{}",
            hex(&hmac_sha256(&self.secret, order_id.as_bytes()))
        )
    }

    fn is_admin(&self, bearer: &str) -> bool {
        constant_time_eq(bearer.as_bytes(), self.admin_key.as_bytes())
    }

    /// `401` without a bearer, `403` unless it is the admin key (the HTTP layer checks it before
    /// reading a creator call's body).
    pub fn require_admin(&self, bearer: Option<&str>) -> ApiResult<()> {
        match bearer {
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send Authorization: Bearer <admin key>",
            )),
            Some(b) if self.is_admin(b) => Ok(()),
            Some(_) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this key may not do that",
            )),
        }
    }

    /// The order, if `bearer` is its order secret, its unexpired resume pass or the admin key.
    fn authorized_order(&self, order_id: &str, bearer: Option<&str>) -> ApiResult<OrderRecord> {
        let Some(bearer) = bearer else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send Authorization: Bearer <order_secret>",
            ));
        };
        let order = self
            .store
            .order(order_id)
            .map_err(storage)?
            .ok_or_else(ApiError::order_not_found)?;
        if self.is_admin(bearer)
            || constant_time_eq(bearer.as_bytes(), self.order_secret(order_id).as_bytes())
            || is_resume_pass(&self.secret, order_id, bearer, now_secs())
        {
            Ok(order)
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this order secret does not belong to this order",
            ))
        }
    }

    fn load(&self, order_id: &str) -> ApiResult<OrderRecord> {
        self.store
            .order(order_id)
            .map_err(storage)?
            .ok_or_else(ApiError::order_not_found)
    }

    // ---------------------------------------------------------------- offers and quotes

    /// `GET /v1/offers/{id}`.
    pub fn offer(&self, id: &str) -> ApiResult<OfferConfig> {
        self.store
            .offer(id)
            .map_err(storage)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "offer_not_found", "no such offer"))
    }

    /// `PUT /v1/offers/{id}` (admin).
    pub fn put_offer(
        &self,
        id: &str,
        bearer: Option<&str>,
        offer: OfferConfig,
    ) -> ApiResult<OfferConfig> {
        self.require_admin(bearer)?;
        if offer.id != id {
            return Err(ApiError::field(
                "id_mismatch",
                "id",
                "the id in the body must match the URL",
            ));
        }
        if let Some(e) = offer.validate().into_iter().next() {
            return Err(e.into());
        }
        self.store.put_offer(&offer, now_secs()).map_err(storage)?;
        Ok(offer)
    }

    fn offer_for(&self, offer_id: &str) -> ApiResult<OfferConfig> {
        self.store.offer(offer_id).map_err(storage)?.ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, "unknown_offer", "no such offer")
                .with_field("offer_id")
        })
    }

    /// `GET /v1/offers/{offer_id}/checkout?country=…`: the offer and the quotes for each variant a
    /// shopper can be assigned, priced from the same read of the config.
    pub fn checkout_start(&self, offer_id: &str, country: &str) -> ApiResult<CheckoutStart> {
        let rule = tax_rule(country, "country")?;
        let offer = self.offer(offer_id)?;
        let variants = offer.variants.iter().filter(|v| v.weight > 0);
        let quotes = std::iter::once(None)
            .chain(variants.map(|v| Some(v.id.as_str())))
            .map(|variant| {
                let resolved = resolve_for_sale(&offer, variant)?;
                let pair = quote_pair(&resolved, &rule, false).map_err(quote_error)?;
                Ok(quote_response(&resolved, pair, country))
            })
            .collect::<ApiResult<_>>()?;
        Ok(CheckoutStart { offer, quotes })
    }

    /// `POST /v1/quotes`.
    pub fn quote(&self, req: &QuoteRequest) -> ApiResult<QuoteResponse> {
        let rule = tax_rule(&req.country, "country")?;
        let offer = self.offer_for(&req.offer_id)?;
        if req.exit_offer && offer.exit_offer.is_none() {
            return Err(ApiError::field(
                "not_available",
                "exit_offer",
                "this offer has no exit offer",
            ));
        }
        let resolved = resolve_for_sale(&offer, req.variant.as_deref())?;
        let pair = quote_pair(&resolved, &rule, req.exit_offer).map_err(quote_error)?;
        Ok(quote_response(&resolved, pair, &req.country))
    }

    /// Deletes idempotency records older than the retention period.
    pub fn purge(&self) -> Result<usize, StoreError> {
        self.store
            .purge_idempotency(now_secs() - IDEMPOTENCY_RETENTION_SECS)
    }
}

/// An order's resume pass: `rsm_<expiry>_<HMAC(installation secret, "resume" order expiry)>`,
/// valid until `expires` (unix seconds). Like the order secret, nothing to store.
fn resume_pass(secret: &[u8], order_id: &str, expires: i64) -> String {
    let message = format!("resume\0{order_id}\0{expires}");
    format!(
        "rsm_{expires}_{}",
        hex(&hmac_sha256(secret, message.as_bytes()))
    )
}

/// Whether `bearer` is a resume pass of `order_id` that has not expired at `now`.
fn is_resume_pass(secret: &[u8], order_id: &str, bearer: &str, now: i64) -> bool {
    let Some(expires) = bearer
        .strip_prefix("rsm_")
        .and_then(|rest| rest.split_once('_'))
        .and_then(|(expires, _)| expires.parse::<i64>().ok())
    else {
        return false;
    };
    now < expires
        && constant_time_eq(
            bearer.as_bytes(),
            resume_pass(secret, order_id, expires).as_bytes(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resume_pass_opens_its_order_until_it_expires() {
        let pass = resume_pass(b"installation", "ord_a", 1_000);
        assert!(is_resume_pass(b"installation", "ord_a", &pass, 999));
        assert!(!is_resume_pass(b"installation", "ord_a", &pass, 1_000));
        assert!(!is_resume_pass(b"installation", "ord_b", &pass, 999));
        assert!(!is_resume_pass(b"another", "ord_a", &pass, 999));
        // Moving the expiry breaks the MAC.
        let stretched = pass.replacen("rsm_1000_", "rsm_9000_", 1);
        assert!(!is_resume_pass(b"installation", "ord_a", &stretched, 999));
        assert!(!is_resume_pass(b"installation", "ord_a", "osec_x", 0));
    }
}
