//! The requests the Stripe gateway sends, as data: method, path, idempotency key and form fields
//! (Stripe's API takes `application/x-www-form-urlencoded` bodies with `a[b]` nesting). Building
//! them apart from sending them lets a unit test check each one against Stripe's documented API.

use crate::gateway::Purpose;

/// The Stripe API version the gateway is written against (the fields it reads, e.g.
/// `latest_charge`, and the defaults it relies on). Sent as `Stripe-Version` on every call.
pub const STRIPE_VERSION: &str = "2024-06-20";

/// Metadata key holding our charge id on a PaymentIntent (what reconciliation searches by).
pub const META_CHARGE: &str = "momentum_charge_id";
/// Metadata key holding our order id on a PaymentIntent (what webhooks settle by).
pub const META_ORDER: &str = "momentum_order_id";
/// Metadata key holding our refund id on a Refund (tells our refunds from the dashboard's).
pub const META_REFUND: &str = "momentum_refund_id";

/// What the server at `--stripe-api-base` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Stripe's documented API.
    Stripe,
    /// localstripe 1.15: no `setup_future_usage`, no PaymentMethods from tokens, no search, no
    /// `Idempotency-Key` (see `docs/backends.md`).
    Localstripe,
}

/// HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Read.
    Get,
    /// Create or act.
    Post,
}

/// One call to Stripe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeRequest {
    /// Method.
    pub method: Method,
    /// Path below the API base, e.g. `/v1/payment_intents`.
    pub path: String,
    /// `Idempotency-Key` header (every POST that creates or moves money has one).
    pub idempotency_key: Option<String>,
    /// Form fields (POST body) or query parameters (GET), in order.
    pub fields: Vec<(String, String)>,
}

impl StripeRequest {
    fn post(path: String, key: Option<String>, fields: Vec<(&str, String)>) -> StripeRequest {
        StripeRequest {
            method: Method::Post,
            path,
            idempotency_key: key,
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }

    fn get(path: String, fields: Vec<(&str, String)>) -> StripeRequest {
        StripeRequest {
            method: Method::Get,
            path,
            idempotency_key: None,
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }

    /// The value of form field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Percent-encodes a path segment (ids are `[A-Za-z0-9_]`, but never trust that).
pub fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `POST /v1/customers`: the customer this purchase's payment method is saved on.
pub fn create_customer(idempotency_key: &str) -> StripeRequest {
    StripeRequest::post(
        "/v1/customers".into(),
        Some(format!("{idempotency_key}-customer")),
        vec![("metadata[momentum]", "checkout".into())],
    )
}

/// `POST /v1/payment_methods` from a card token (Stripe only).
pub fn payment_method_from_token(token: &str, idempotency_key: &str) -> StripeRequest {
    StripeRequest::post(
        "/v1/payment_methods".into(),
        Some(format!("{idempotency_key}-pm")),
        vec![("type", "card".into()), ("card[token]", token.into())],
    )
}

/// `POST /v1/customers/{id}/sources`: saves a card token on the customer (localstripe's only way
/// to use an Elements token; Stripe accepts it too).
pub fn add_source(customer: &str, token: &str, idempotency_key: &str) -> StripeRequest {
    StripeRequest::post(
        format!("/v1/customers/{}/sources", segment(customer)),
        Some(format!("{idempotency_key}-source")),
        vec![("source", token.into())],
    )
}

/// `POST /v1/payment_methods/{id}/attach`.
pub fn attach_payment_method(
    payment_method: &str,
    customer: &str,
    idempotency_key: &str,
) -> StripeRequest {
    StripeRequest::post(
        format!("/v1/payment_methods/{}/attach", segment(payment_method)),
        Some(format!("{idempotency_key}-attach")),
        vec![("customer", customer.into())],
    )
}

/// What a PaymentIntent is created for.
#[derive(Debug, Clone, Copy)]
pub struct IntentSpec<'a> {
    /// Customer.
    pub customer: &'a str,
    /// PaymentMethod (`pm_…`) or card (`card_…`).
    pub payment_method: &'a str,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217, any case.
    pub currency: &'a str,
    /// Primary or add-on.
    pub purpose: Purpose,
    /// Our charge id: idempotency key and metadata.
    pub charge_id: &'a str,
    /// Our order id: metadata.
    pub order_id: &'a str,
}

/// `POST /v1/payment_intents`, created and confirmed at once, the shopper present. The primary
/// payment saves its method for this purchase's add-ons (`setup_future_usage=on_session`, so the
/// bank's authentication of the primary covers them where it can); an add-on is an on-session
/// charge of the saved method.
pub fn create_intent(spec: &IntentSpec<'_>, dialect: Dialect) -> StripeRequest {
    let mut fields = vec![
        ("amount", spec.amount.to_string()),
        ("currency", spec.currency.to_ascii_lowercase()),
        ("customer", spec.customer.to_string()),
        ("payment_method", spec.payment_method.to_string()),
        ("payment_method_types[]", "card".into()),
        ("confirm", "true".into()),
        ("off_session", "false".into()),
        ("metadata[momentum_charge_id]", spec.charge_id.to_string()),
        ("metadata[momentum_order_id]", spec.order_id.to_string()),
    ];
    if spec.purpose == Purpose::Primary && dialect == Dialect::Stripe {
        fields.push(("setup_future_usage", "on_session".into()));
    }
    StripeRequest::post(
        "/v1/payment_intents".into(),
        Some(spec.charge_id.to_string()),
        fields,
    )
}

/// `GET /v1/payment_intents/{id}`.
pub fn retrieve_intent(id: &str) -> StripeRequest {
    StripeRequest::get(format!("/v1/payment_intents/{}", segment(id)), vec![])
}

/// `POST /v1/payment_intents/{id}/cancel`.
pub fn cancel_intent(id: &str) -> StripeRequest {
    StripeRequest::post(
        format!("/v1/payment_intents/{}/cancel", segment(id)),
        Some(format!("cancel-{id}")),
        vec![],
    )
}

/// `GET /v1/payment_intents/search` by our charge id in metadata (Stripe only; eventually
/// consistent, see `docs/backends.md`).
pub fn search_intents(charge_id: &str) -> StripeRequest {
    // Charge ids are `ch_` + hex, so the quoted value needs no escaping; refuse anything else.
    let value: String = charge_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    StripeRequest::get(
        "/v1/payment_intents/search".into(),
        vec![
            ("query", format!("metadata['{META_CHARGE}']:'{value}'")),
            ("limit", "10".into()),
        ],
    )
}

/// `GET /v1/payment_intents` (localstripe: its only way to find one by metadata).
pub fn list_intents(starting_after: Option<&str>) -> StripeRequest {
    let mut fields = vec![("limit", "100".to_string())];
    if let Some(id) = starting_after {
        fields.push(("starting_after", id.to_string()));
    }
    StripeRequest::get("/v1/payment_intents".into(), fields)
}

/// `POST /v1/refunds` of `amount` of a PaymentIntent, keyed and labelled by our refund id.
pub fn create_refund(intent: &str, amount: i64, refund_id: &str) -> StripeRequest {
    StripeRequest::post(
        "/v1/refunds".into(),
        Some(refund_id.to_string()),
        vec![
            ("payment_intent", intent.to_string()),
            ("amount", amount.to_string()),
            ("metadata[momentum_refund_id]", refund_id.to_string()),
        ],
    )
}

/// `GET /v1/refunds?payment_intent=…`.
pub fn list_refunds(intent: &str) -> StripeRequest {
    StripeRequest::get(
        "/v1/refunds".into(),
        vec![
            ("payment_intent", intent.to_string()),
            ("limit", "100".into()),
        ],
    )
}

/// `GET /v1/tokens/{id}`.
pub fn retrieve_token(id: &str) -> StripeRequest {
    StripeRequest::get(format!("/v1/tokens/{}", segment(id)), vec![])
}

/// `GET /v1/payment_methods/{id}`.
pub fn retrieve_payment_method(id: &str) -> StripeRequest {
    StripeRequest::get(format!("/v1/payment_methods/{}", segment(id)), vec![])
}

/// `GET /v1/customers/{id}`.
pub fn retrieve_customer(id: &str) -> StripeRequest {
    StripeRequest::get(format!("/v1/customers/{}", segment(id)), vec![])
}
