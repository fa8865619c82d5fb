//! Real payments: the [`Gateway`] on Stripe's API (PaymentIntents, with the card from Stripe
//! Elements saved on a Customer for this purchase's add-ons). Selected with
//! `momentum-server --gateway stripe`; the secret key comes from `STRIPE_SECRET_KEY` only.
//!
//! - `attach`: a Customer for the purchase, and the Elements token turned into a PaymentMethod.
//! - `charge`: a PaymentIntent created and confirmed with the shopper present, our charge id as
//!   `Idempotency-Key` and in metadata (with the order id). `requires_action` becomes a link to
//!   [`AUTHENTICATE_PATH`], a page of ours that runs Stripe.js's 3-D Secure inside the widget's
//!   challenge dialog and posts the widget's `momentum:3ds` message, so the widget needs no Stripe
//!   code.
//! - `find_by_key`: PaymentIntent search by metadata (reconciliation after a crash).
//! - `void` / `refund`: cancel the PaymentIntent / Refunds API.
//!
//! [`Dialect::Localstripe`] covers what the local test server lacks (see `docs/backends.md`).

mod outcome;
pub mod request;

use std::time::Duration;

use serde_json::Value;

use crate::gateway::*;
pub use request::Dialect;
use request::{IntentSpec, Method, StripeRequest, META_CHARGE, META_ORDER, META_REFUND};

/// The page that runs 3-D Secure for a PaymentIntent (its client secret in the URL fragment).
pub const AUTHENTICATE_PATH: &str = "/stripe/authenticate";

/// Stripe's production API.
pub const STRIPE_API: &str = "https://api.stripe.com";
/// Stripe.js, which Stripe requires to be loaded from its own origin.
pub const STRIPE_JS: &str = "https://js.stripe.com/v3/";

/// How the gateway reaches Stripe.
#[derive(Debug, Clone)]
pub struct StripeConfig {
    /// API base, e.g. `https://api.stripe.com` (`--stripe-api-base`).
    pub api_base: String,
    /// Secret key (`STRIPE_SECRET_KEY`): sent to Stripe only, never logged.
    pub secret_key: crate::Secret,
    /// What the API base understands.
    pub dialect: Dialect,
    /// Our public base URL, for the 3-D Secure page links.
    pub public_url: String,
}

/// A failed call: HTTP status (0: no answer) and Stripe's error code and message.
#[derive(Debug)]
struct Failure {
    status: u16,
    code: Option<String>,
    body: Value,
}

impl Failure {
    fn unavailable(&self) -> GatewayError {
        if matches!(self.status, 401 | 403) {
            // Stripe's message would quote part of the key.
            return GatewayError::Unavailable(format!(
                "Stripe refused the secret key ({}): check STRIPE_SECRET_KEY",
                self.status
            ));
        }
        let message = self.body["error"]["message"]
            .as_str()
            .unwrap_or("no answer");
        GatewayError::Unavailable(format!(
            "Stripe answered {} {}: {message}",
            self.status,
            self.code.as_deref().unwrap_or("")
        ))
    }

    /// The usual reading: `404` is an unknown object, anything else is retry-safe unavailability.
    fn into_error(self) -> GatewayError {
        match self.status {
            404 => GatewayError::NotFound,
            _ => self.unavailable(),
        }
    }
}

/// The Stripe gateway.
pub struct StripeGateway {
    client: reqwest::blocking::Client,
    config: StripeConfig,
}

/// The saved payment method as the service stores it: `cus_…/pm_…` (or `cus_…/tok_…` with
/// localstripe, which saves the token on the customer at the primary charge).
fn split_reference(reference: &str) -> Result<(&str, &str), GatewayError> {
    reference
        .split_once('/')
        .filter(|(c, p)| c.starts_with("cus_") && !p.is_empty())
        .ok_or(GatewayError::NotFound)
}

impl StripeGateway {
    /// A gateway with its HTTP client (rustls, 10 s to connect, 40 s per call). Call it outside
    /// an async context (the blocking client owns a runtime).
    pub fn new(config: StripeConfig) -> Result<StripeGateway, GatewayError> {
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(40))
            .user_agent(concat!("momentum-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        let config = StripeConfig {
            api_base: config.api_base.trim_end_matches('/').to_string(),
            public_url: config.public_url.trim_end_matches('/').to_string(),
            ..config
        };
        Ok(StripeGateway { client, config })
    }

    /// The HTTP request for `req`, with its headers: bearer key, `Stripe-Version`,
    /// `Idempotency-Key`.
    pub fn http_request(
        &self,
        req: &StripeRequest,
    ) -> Result<reqwest::blocking::Request, GatewayError> {
        let url = format!("{}{}", self.config.api_base, req.path);
        let builder = match req.method {
            Method::Get => self.client.get(url).query(&req.fields),
            Method::Post => self.client.post(url).form(&req.fields),
        };
        let builder = builder
            .bearer_auth(&self.config.secret_key.0)
            .header("Stripe-Version", request::STRIPE_VERSION);
        let builder = match &req.idempotency_key {
            Some(key) => builder.header("Idempotency-Key", key),
            None => builder,
        };
        builder
            .build()
            .map_err(|e| GatewayError::Unavailable(e.to_string()))
    }

    fn send(&self, req: &StripeRequest) -> Result<Result<Value, Failure>, GatewayError> {
        let http = self.http_request(req)?;
        let response = match self.client.execute(http) {
            Ok(r) => r,
            Err(e) => {
                // Without the URL: it is ours, but keep logs free of anything request-shaped.
                return Err(GatewayError::Unavailable(format!(
                    "Stripe unreachable: {}",
                    e.without_url()
                )));
            }
        };
        let status = response.status().as_u16();
        let body: Value = response.json().unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(Ok(body));
        }
        Ok(Err(Failure {
            status,
            code: body["error"]["code"].as_str().map(str::to_owned),
            body,
        }))
    }

    /// `send`, reading every failure the usual way.
    fn call(&self, req: &StripeRequest) -> Result<Value, GatewayError> {
        self.send(req)?.map_err(Failure::into_error)
    }

    fn authenticate_url(&self, client_secret: &str) -> String {
        format!(
            "{}{AUTHENTICATE_PATH}#{client_secret}",
            self.config.public_url
        )
    }

    fn intent_charge(&self, pi: &Value) -> GatewayCharge {
        outcome::intent(pi, &|secret| self.authenticate_url(secret))
    }

    /// Brand and last four of a token or PaymentMethod.
    fn card_of(&self, token: &str) -> Result<(String, String), GatewayError> {
        let (req, card_field) = if token.starts_with("tok_") {
            (request::retrieve_token(token), "card")
        } else {
            (request::retrieve_payment_method(token), "card")
        };
        let object = self.send(&req)?.map_err(|f| match f.status {
            400 | 404 => GatewayError::InvalidToken,
            _ => f.unavailable(),
        })?;
        let card = &object[card_field];
        if let Some(last4) = card["last4"].as_str() {
            let brand = card["brand"].as_str().unwrap_or("unknown");
            return Ok((brand.to_ascii_lowercase(), last4.to_string()));
        }
        // A bank debit PaymentMethod (localstripe's only payment that settles asynchronously).
        match object["sepa_debit"]["last4"].as_str() {
            Some(last4) => Ok(("sepa_debit".into(), last4.to_string())),
            None => Err(GatewayError::InvalidToken),
        }
    }

    /// The PaymentIntent whose metadata names `charge_id`.
    fn search(&self, charge_id: &str) -> Result<Option<Value>, GatewayError> {
        let named = |pi: &Value| pi["metadata"][META_CHARGE].as_str() == Some(charge_id);
        match self.config.dialect {
            Dialect::Stripe => {
                let found = self.call(&request::search_intents(charge_id))?;
                Ok(found["data"]
                    .as_array()
                    .and_then(|d| d.iter().find(|pi| named(pi)).cloned()))
            }
            Dialect::Localstripe => {
                let mut after: Option<String> = None;
                loop {
                    let page = self.call(&request::list_intents(after.as_deref()))?;
                    let data = page["data"].as_array().cloned().unwrap_or_default();
                    if let Some(pi) = data.iter().find(|pi| named(pi)) {
                        return Ok(Some(pi.clone()));
                    }
                    match (page["has_more"].as_bool(), data.last()) {
                        (Some(true), Some(last)) => {
                            after = last["id"].as_str().map(str::to_owned);
                        }
                        _ => return Ok(None),
                    }
                }
            }
        }
    }

    /// The payment method to charge: localstripe saves the token or PaymentMethod on the
    /// customer at the primary charge (a decline there is the charge's decline).
    fn saved_method(
        &self,
        customer: &str,
        method: &str,
        req: &ChargeRequest<'_>,
    ) -> Result<Result<String, GatewayCharge>, GatewayError> {
        if self.config.dialect == Dialect::Stripe {
            return Ok(Ok(method.to_string()));
        }
        let declined = |f: Failure| -> Result<Result<String, GatewayCharge>, GatewayError> {
            match f.status {
                402 => Ok(Err(outcome::card_error(&f.body))),
                _ => Err(f.into_error()),
            }
        };
        match (req.purpose, method.starts_with("tok_")) {
            (Purpose::Primary, true) => {
                match self.send(&request::add_source(customer, method, req.idempotency_key))? {
                    Ok(card) => Ok(Ok(card["id"].as_str().unwrap_or_default().to_string())),
                    Err(f) => declined(f),
                }
            }
            (Purpose::AddOn, true) => {
                let cus = self.call(&request::retrieve_customer(customer))?;
                match cus["default_source"].as_str() {
                    Some(card) => Ok(Ok(card.to_string())),
                    None => Err(GatewayError::NotFound),
                }
            }
            (Purpose::Primary, false) => {
                let attach = request::attach_payment_method(method, customer, req.idempotency_key);
                match self.send(&attach)? {
                    Ok(_) => Ok(Ok(method.to_string())),
                    Err(f) => declined(f),
                }
            }
            (Purpose::AddOn, false) => Ok(Ok(method.to_string())),
        }
    }

    /// Our order and charge ids on a PaymentIntent.
    pub fn intent_ids(&self, intent: &str) -> Result<Option<(String, String)>, GatewayError> {
        let pi = self.call(&request::retrieve_intent(intent))?;
        let meta = &pi["metadata"];
        Ok(
            match (meta[META_ORDER].as_str(), meta[META_CHARGE].as_str()) {
                (Some(order), Some(charge)) => Some((order.to_string(), charge.to_string())),
                _ => None,
            },
        )
    }

    /// The succeeded refunds of a PaymentIntent, oldest first.
    pub fn refunds_of(&self, intent: &str) -> Result<Vec<ProviderRefund>, GatewayError> {
        let list = self.call(&request::list_refunds(intent))?;
        let mut refunds: Vec<(i64, ProviderRefund)> = list["data"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|r| r["status"].as_str().is_none_or(|s| s == "succeeded"))
            .filter_map(|r| {
                Some((
                    r["created"].as_i64().unwrap_or(0),
                    ProviderRefund {
                        id: r["id"].as_str()?.to_string(),
                        amount: r["amount"].as_i64()?,
                        ours: r["metadata"][META_REFUND].as_str().map(str::to_owned),
                    },
                ))
            })
            .collect();
        refunds.sort_by_key(|(created, _)| *created);
        Ok(refunds.into_iter().map(|(_, r)| r).collect())
    }
}

impl Gateway for StripeGateway {
    fn attach(&self, token: &str, idempotency_key: &str) -> Result<PaymentMethod, GatewayError> {
        if !(token.starts_with("tok_") || token.starts_with("pm_")) {
            return Err(GatewayError::InvalidToken);
        }
        let (brand, last4) = self.card_of(token)?;
        let customer = self.call(&request::create_customer(idempotency_key))?;
        let customer = customer["id"].as_str().unwrap_or_default();
        let method = match (self.config.dialect, token.starts_with("tok_")) {
            (Dialect::Stripe, true) => {
                let req = request::payment_method_from_token(token, idempotency_key);
                let pm = self.send(&req)?.map_err(|f| match f.code.as_deref() {
                    Some("token_already_used") => GatewayError::TokenUsed,
                    Some("resource_missing") => GatewayError::InvalidToken,
                    _ => f.into_error(),
                })?;
                pm["id"].as_str().unwrap_or_default().to_string()
            }
            _ => token.to_string(),
        };
        if customer.is_empty() || method.is_empty() {
            return Err(GatewayError::Unavailable(
                "Stripe answered without an id".into(),
            ));
        }
        Ok(PaymentMethod {
            id: format!("{customer}/{method}"),
            brand,
            last4,
        })
    }

    fn charge(&self, req: &ChargeRequest<'_>) -> Result<GatewayCharge, GatewayError> {
        let (customer, method) = split_reference(req.payment_method)?;
        // localstripe ignores Idempotency-Key: look before charging, so a resend never charges
        // twice there either.
        if self.config.dialect == Dialect::Localstripe {
            if let Some(pi) = self.search(req.idempotency_key)? {
                return Ok(self.intent_charge(&pi));
            }
        }
        let method = match self.saved_method(customer, method, req)? {
            Ok(m) => m,
            Err(declined) => return Ok(declined),
        };
        let spec = IntentSpec {
            customer,
            payment_method: &method,
            amount: req.amount,
            currency: req.currency,
            purpose: req.purpose,
            charge_id: req.idempotency_key,
            order_id: req.order_id,
        };
        match self.send(&request::create_intent(&spec, self.config.dialect))? {
            Ok(pi) => Ok(self.intent_charge(&pi)),
            Err(f) if f.status == 402 => Ok(outcome::card_error(&f.body)),
            Err(f) => Err(f.into_error()),
        }
    }

    fn retrieve(&self, reference: &str) -> Result<GatewayCharge, GatewayError> {
        let pi = self.call(&request::retrieve_intent(reference))?;
        Ok(self.intent_charge(&pi))
    }

    fn find_by_key(&self, idempotency_key: &str) -> Result<Option<GatewayCharge>, GatewayError> {
        Ok(self
            .search(idempotency_key)?
            .map(|pi| self.intent_charge(&pi)))
    }

    fn void(&self, reference: &str) -> Result<GatewayCharge, GatewayError> {
        match self.send(&request::cancel_intent(reference))? {
            Ok(pi) => Ok(self.intent_charge(&pi)),
            // Too late to cancel (it succeeded, or is canceled already): say where it stands.
            Err(f) if f.status == 400 => self.retrieve(reference),
            Err(f) => Err(f.into_error()),
        }
    }

    fn refund(
        &self,
        reference: &str,
        amount: i64,
        idempotency_key: &str,
    ) -> Result<String, GatewayError> {
        if self.config.dialect == Dialect::Localstripe {
            let done = self.refunds_of(reference)?;
            if let Some(r) = done
                .iter()
                .find(|r| r.ours.as_deref() == Some(idempotency_key))
            {
                return Ok(r.id.clone());
            }
        }
        let req = request::create_refund(reference, amount, idempotency_key);
        let refund = self.send(&req)?.map_err(|f| match f.code.as_deref() {
            Some("amount_too_large" | "charge_already_refunded") => {
                GatewayError::RefundExceedsCharge
            }
            _ => f.into_error(),
        })?;
        refund["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| GatewayError::Unavailable("Stripe answered without an id".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gateway(dialect: Dialect) -> StripeGateway {
        StripeGateway::new(StripeConfig {
            api_base: "https://api.stripe.com/".into(),
            secret_key: crate::Secret("sk_test_unit".into()),
            dialect,
            public_url: "https://shop.example".into(),
        })
        .unwrap()
    }

    fn body(req: &reqwest::blocking::Request) -> String {
        let bytes = req.body().and_then(|b| b.as_bytes()).unwrap_or_default();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn spec(purpose: Purpose) -> IntentSpec<'static> {
        IntentSpec {
            customer: "cus_1",
            payment_method: "pm_1",
            amount: 5800,
            currency: "EUR",
            purpose,
            charge_id: "ch_abc",
            order_id: "ord_def",
        }
    }

    /// Stripe's documented request for a customer-present PaymentIntent that saves the card for
    /// later on-session use: `setup_future_usage=on_session`, `confirm=true`, and an
    /// `Idempotency-Key` header (which localstripe ignores: see `docs/backends.md`).
    #[test]
    fn the_primary_payment_intent_is_the_one_stripe_documents() {
        let gw = gateway(Dialect::Stripe);
        let req = request::create_intent(&spec(Purpose::Primary), Dialect::Stripe);
        let http = gw.http_request(&req).unwrap();
        assert_eq!(http.method(), reqwest::Method::POST);
        assert_eq!(
            http.url().as_str(),
            "https://api.stripe.com/v1/payment_intents"
        );
        let h = http.headers();
        assert_eq!(h["authorization"], "Bearer sk_test_unit");
        assert_eq!(h["idempotency-key"], "ch_abc");
        assert_eq!(h["stripe-version"], request::STRIPE_VERSION);
        assert_eq!(h["content-type"], "application/x-www-form-urlencoded");
        assert_eq!(
            body(&http),
            "amount=5800&currency=eur&customer=cus_1&payment_method=pm_1\
             &payment_method_types%5B%5D=card&confirm=true&off_session=false\
             &metadata%5Bmomentum_charge_id%5D=ch_abc&metadata%5Bmomentum_order_id%5D=ord_def\
             &setup_future_usage=on_session"
        );
    }

    #[test]
    fn add_ons_are_on_session_charges_of_the_saved_method_and_localstripe_gets_no_future_usage() {
        let addon = request::create_intent(&spec(Purpose::AddOn), Dialect::Stripe);
        assert_eq!(addon.field("setup_future_usage"), None);
        assert_eq!(addon.field("off_session"), Some("false"));
        assert_eq!(addon.idempotency_key.as_deref(), Some("ch_abc"));
        let local = request::create_intent(&spec(Purpose::Primary), Dialect::Localstripe);
        assert_eq!(local.field("setup_future_usage"), None);
        // The key is still sent: harmless there, and the same code talks to Stripe.
        assert_eq!(local.idempotency_key.as_deref(), Some("ch_abc"));
    }

    #[test]
    fn tokens_become_payment_methods_and_refunds_carry_our_id() {
        let gw = gateway(Dialect::Stripe);
        let pm = request::payment_method_from_token("tok_1", "attach_k");
        let http = gw.http_request(&pm).unwrap();
        assert_eq!(http.url().path(), "/v1/payment_methods");
        assert_eq!(body(&http), "type=card&card%5Btoken%5D=tok_1");
        assert_eq!(http.headers()["idempotency-key"], "attach_k-pm");
        let refund = gw
            .http_request(&request::create_refund("pi_1", 900, "re_ours"))
            .unwrap();
        assert_eq!(refund.headers()["idempotency-key"], "re_ours");
        assert_eq!(
            body(&refund),
            "payment_intent=pi_1&amount=900&metadata%5Bmomentum_refund_id%5D=re_ours"
        );
        let search = gw
            .http_request(&request::search_intents("ch_abc'x"))
            .unwrap();
        assert_eq!(search.url().path(), "/v1/payment_intents/search");
        assert_eq!(
            search.url().query(),
            Some("query=metadata%5B%27momentum_charge_id%27%5D%3A%27ch_abcx%27&limit=10")
        );
        assert!(search.headers().get("idempotency-key").is_none());
    }

    #[test]
    fn a_refused_key_is_reported_without_stripes_message_which_quotes_it() {
        let refused = Failure {
            status: 401,
            code: None,
            body: serde_json::json!({"error": {"message": "Invalid API Key provided: sk_live_****1234"}}),
        };
        let message = refused.into_error().to_string();
        assert!(
            message.contains("STRIPE_SECRET_KEY") && !message.contains("1234"),
            "{message}"
        );
    }

    #[test]
    fn references_are_customer_and_method() {
        assert_eq!(split_reference("cus_1/pm_2"), Ok(("cus_1", "pm_2")));
        assert_eq!(split_reference("pm_2"), Err(GatewayError::NotFound));
        assert_eq!(request::segment("pi_1/../x"), "pi_1%2F%2E%2E%2Fx");
    }
}
