//! Momentum's reference backend: the host fetch API v1 (see `docs/api.md`) on axum + SQLite or
//! Postgres, with a test payment gateway or Stripe.
//!
//! Layers: [`serve`] (connections: timeouts, cap) → [`http`] (routes, extraction, CORS,
//! [`rate_limit`], [`static_files`]) → [`service`] (validation,
//! idempotency, orders, add-ons, refunds; synchronous, run on the blocking pool) → [`store::Store`]
//! (persistence, chosen by [`db`]: SQLite in [`sqlite`], Postgres in [`postgres`]) and
//! [`gateway::Gateway`] (payments, [`test_gateway`] or [`stripe_gateway`], whose webhooks and 3-D
//! Secure page are [`stripe_webhook`] and [`stripe_http`]).
//! [`insights`] adds the creator's metrics on the same layers: funnel events, costs, the report
//! from per-day cells, CSV exports.

pub mod admin;
pub mod body;
pub mod db;
pub mod error;
pub mod gateway;
pub mod http;
pub mod insights;
pub mod json;
pub mod postgres;
pub mod rate_limit;
pub mod rules;
pub mod serve;
pub mod service;
pub mod sqlite;
pub mod static_files;
pub mod store;
pub mod stripe_gateway;
pub mod stripe_http;
pub mod stripe_webhook;
pub mod test_gateway;
pub mod util;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use momentum_core::offer::{demo_offer, demo_offer_jpy, demo_offer_kwd, OfferConfig};

use crate::store::Store;

/// The admin key used when none is configured (demo and test mode only; documented).
pub const DEMO_ADMIN_KEY: &str = "sk_test_momentum_admin";

/// Server configuration (see `momentum-server --help`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address; port 0 picks a free port (printed on stdout).
    pub addr: SocketAddr,
    /// The store: a SQLite file (created if missing) or a Postgres URL.
    pub db: db::Database,
    /// The test gateway's SQLite file (default: the SQLite store's own file; with Postgres,
    /// `momentum-test-gateway.sqlite`). Server processes sharing a Postgres share it too.
    pub test_gateway_db: Option<PathBuf>,
    /// Directory served at `/` (widget bundle, demo page).
    pub static_dir: Option<PathBuf>,
    /// Creator key for refunds and offer edits.
    pub admin_key: String,
    /// How long a `processing` test payment takes to settle.
    pub processing_delay: Duration,
    /// Test flag: how long the test gateway takes to make a new charge, and again to answer it
    /// (the windows in which a crash leaves a charge unsent or unrecorded). Zero outside tests.
    pub test_crash_window: Duration,
    /// Public base URL (for 3-D Secure challenge links); `http://<bound addr>` when absent.
    pub public_url: Option<String>,
    /// JSON file with an array of offer configs, upserted at start (instead of the demo seed).
    pub offers_file: Option<PathBuf>,
    /// Request budgets per client IP and per order.
    pub limits: rate_limit::Limits,
    /// Count clients by the last `X-Forwarded-For` address (behind a reverse proxy) instead of
    /// the peer address.
    pub trust_forwarded_for: bool,
    /// Header read timeout, idle timeout and connection cap.
    pub connections: serve::ConnLimits,
    /// Who takes the payments.
    pub gateway: GatewayChoice,
}

/// The payment gateway (`--gateway`).
#[derive(Debug, Clone)]
pub enum GatewayChoice {
    /// The built-in test gateway (magic card numbers, challenge pages).
    Test,
    /// Stripe.
    Stripe(StripeSettings),
}

/// A secret that never shows in `Debug` output (logs, panics).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// How to reach Stripe (`--gateway stripe`).
#[derive(Debug, Clone)]
pub struct StripeSettings {
    /// `STRIPE_SECRET_KEY`.
    pub secret_key: Secret,
    /// `STRIPE_WEBHOOK_SECRET`; without it `POST /v1/webhooks/stripe` answers 404.
    pub webhook_secret: Option<Secret>,
    /// `STRIPE_PUBLISHABLE_KEY` or `--stripe-publishable-key` (public by design).
    pub publishable_key: String,
    /// `--stripe-api-base` (default `https://api.stripe.com`).
    pub api_base: String,
    /// `--stripe-js-url` (default `https://js.stripe.com/v3/`).
    pub js_url: String,
    /// `--stripe-dialect`.
    pub dialect: stripe_gateway::Dialect,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db: db::Database::Sqlite(PathBuf::from("momentum.sqlite")),
            test_gateway_db: None,
            static_dir: None,
            admin_key: DEMO_ADMIN_KEY.to_string(),
            processing_delay: Duration::from_millis(1500),
            test_crash_window: Duration::ZERO,
            public_url: None,
            offers_file: None,
            limits: rate_limit::Limits::default(),
            trust_forwarded_for: false,
            connections: serve::ConnLimits::default(),
            gateway: GatewayChoice::Test,
        }
    }
}

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// Loads offers from a file or seeds the demo offers, validating each.
fn load_offers(store: &dyn Store, file: Option<&PathBuf>) -> std::io::Result<()> {
    let now = util::now_secs();
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)?;
            let offers: Vec<OfferConfig> = http::parse_json(text.as_bytes())
                .map_err(|e| io_err(format!("{}: {}", path.display(), e.message)))?;
            for (i, o) in offers.iter().enumerate() {
                if let Some(e) = o.validate().into_iter().next() {
                    return Err(io_err(format!(
                        "{}: offers[{i}].{}: {}",
                        path.display(),
                        e.field,
                        e.message
                    )));
                }
                store.put_offer(o, now).map_err(io_err)?;
            }
        }
        None => {
            for o in [demo_offer(), demo_offer_jpy(), demo_offer_kwd()] {
                store.seed_offer(&o, now).map_err(io_err)?;
            }
        }
    }
    Ok(())
}

/// A bound server, ready to run.
pub struct Server {
    listener: tokio::net::TcpListener,
    app: axum::Router,
    service: Arc<service::Service>,
    connections: serve::ConnLimits,
}

impl Server {
    /// Opens the database, seeds offers and binds the listener.
    pub async fn bind(config: Config) -> std::io::Result<Server> {
        let listener = tokio::net::TcpListener::bind(config.addr).await?;
        let local = listener.local_addr()?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}"));
        let cfg = config.clone();
        let (service, test_gateway, stripe) =
            tokio::task::spawn_blocking(move || -> std::io::Result<_> {
                let store = cfg.db.open().map_err(io_err)?;
                load_offers(store.as_ref(), cfg.offers_file.as_ref())?;
                let (gateway, test_gw, stripe_gw): (Arc<dyn gateway::Gateway>, _, _) =
                    match &cfg.gateway {
                        GatewayChoice::Test => {
                            let gateway_file = cfg
                                .test_gateway_db
                                .clone()
                                .unwrap_or_else(|| cfg.db.default_test_gateway_file());
                            let gw = Arc::new(
                                test_gateway::TestGateway::open(
                                    &gateway_file,
                                    &public_url,
                                    cfg.processing_delay,
                                )
                                .map_err(io_err)?
                                .with_crash_window(cfg.test_crash_window),
                            );
                            (gw.clone(), Some(gw), None)
                        }
                        GatewayChoice::Stripe(st) => {
                            let gw = Arc::new(
                                stripe_gateway::StripeGateway::new(stripe_gateway::StripeConfig {
                                    api_base: st.api_base.clone(),
                                    secret_key: st.secret_key.clone(),
                                    dialect: st.dialect,
                                    public_url: public_url.clone(),
                                })
                                .map_err(io_err)?,
                            );
                            (gw.clone(), None, Some(gw))
                        }
                    };
                let service = Arc::new(
                    service::Service::new(store, gateway, cfg.admin_key.clone()).map_err(io_err)?,
                );
                // Before serving: charges a crash left without their outcome get it now.
                service.recover();
                let stripe = match (&cfg.gateway, stripe_gw) {
                    (GatewayChoice::Stripe(st), Some(gw)) => {
                        Some(Arc::new(stripe_http::StripeSite {
                            publishable_key: st.publishable_key.clone(),
                            js_url: st.js_url.clone(),
                            api_base: st.api_base.clone(),
                            public_url: public_url.clone(),
                            webhooks: st.webhook_secret.as_ref().map(|secret| {
                                stripe_webhook::StripeWebhooks {
                                    service: service.clone(),
                                    gateway: gw,
                                    secret: secret.0.clone(),
                                }
                            }),
                        }))
                    }
                    _ => None,
                };
                Ok((service, test_gw, stripe))
            })
            .await
            .map_err(io_err)??;
        let state = Arc::new(http::AppState {
            service: service.clone(),
            test_gateway,
            stripe,
            rate_limiter: Arc::new(rate_limit::RateLimiter::new(
                &config.limits,
                config.trust_forwarded_for,
            )),
        });
        let app = http::router(state, config.static_dir.clone());
        Ok(Server {
            listener,
            app,
            service,
            connections: config.connections,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves; purges old idempotency records hourly.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let service = self.service.clone();
        let purge = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tick.tick().await;
                let s = service.clone();
                match tokio::task::spawn_blocking(move || s.purge()).await {
                    Ok(Ok(n)) if n > 0 => {
                        println!("momentum-server: purged {n} idempotency records older than 24 h")
                    }
                    Ok(Err(e)) => eprintln!("momentum-server: purge failed: {e}"),
                    _ => {}
                }
            }
        });
        let out = serve::serve(self.listener, self.app, self.connections, shutdown).await;
        purge.abort();
        out
    }
}
