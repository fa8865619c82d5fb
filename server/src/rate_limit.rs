//! Request budgets per client IP and per order, so that card testing (tokens, orders), add-on
//! storms and guessing of order secrets or the admin key are slowed down. Each budget is a GCRA
//! (the token bucket as a "theoretical arrival time" per key) in memory: one `Instant` per key,
//! pruned once a minute, capped in size.
//!
//! A budget is `count/period`: bursts of up to `count` requests, refilled at `count` per `period`.
//! Over budget, the answer is `429 rate_limited` with `Retry-After`, before the handler runs.
//! Failed authentication is counted after the answer (a 401 or 403 to a request that sent an
//! `Authorization` header) and checked before the next one, so once a client has used up its
//! failures even a correct credential waits.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// `count` requests per `period`, in bursts of up to `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Burst size, and how many are refilled per `period`.
    pub count: u32,
    /// The refill period.
    pub period: Duration,
}

impl Rate {
    /// `count` per `period_secs` seconds.
    pub const fn per_secs(count: u32, period_secs: u64) -> Rate {
        Rate {
            count,
            period: Duration::from_secs(period_secs),
        }
    }

    /// Parses `20/min`, `10/10min`, `5/s`, `100/h`, `3/30s`.
    pub fn parse(text: &str) -> Result<Rate, String> {
        let bad = || format!("{text:?} is not a rate like 20/min, 10/10min, 5/s or 100/h");
        let (count, period) = text.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let period = period.trim();
        let digits = period.bytes().take_while(u8::is_ascii_digit).count();
        let (n, unit) = period.split_at(digits);
        let n: u64 = if n.is_empty() {
            1
        } else {
            n.parse().map_err(|_| bad())?
        };
        let unit_secs = match unit {
            "s" => 1,
            "min" => 60,
            "h" => 3600,
            _ => return Err(bad()),
        };
        let secs = n.checked_mul(unit_secs).ok_or_else(bad)?;
        if count == 0 || secs == 0 || secs > 7 * 24 * 3600 {
            return Err(format!(
                "{text:?}: the count must be at least 1 and the period 1 s to 7 days (or use off)"
            ));
        }
        Ok(Rate::per_secs(count, secs))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.period.as_secs();
        match secs {
            1 => write!(f, "{}/s", self.count),
            60 => write!(f, "{}/min", self.count),
            3600 => write!(f, "{}/h", self.count),
            s if s.is_multiple_of(3600) => write!(f, "{}/{}h", self.count, s / 3600),
            s if s.is_multiple_of(60) => write!(f, "{}/{}min", self.count, s / 60),
            s => write!(f, "{}/{s}s", self.count),
        }
    }
}

/// Every budget; `None` is off. The names are those of `--rate-limit name=rate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `POST /v1/test-gateway/tokens` per client IP.
    pub tokens: Option<Rate>,
    /// `POST /v1/orders` per client IP.
    pub orders: Option<Rate>,
    /// `POST /v1/orders/{id}/addons` per client IP.
    pub addons: Option<Rate>,
    /// `POST /v1/orders/{id}/addons` per order.
    pub addons_per_order: Option<Rate>,
    /// Failed order-secret or resume-pass checks per client IP.
    pub auth_failures: Option<Rate>,
    /// Failed order-secret or resume-pass checks per order.
    pub auth_failures_per_order: Option<Rate>,
    /// Failed admin-key checks per client IP.
    pub admin_failures: Option<Rate>,
    /// `POST /v1/events` (funnel event batches) per client IP.
    pub events: Option<Rate>,
}

impl Default for Limits {
    /// A shopper tokenizes and orders a handful of times, accepts at most two add-ons and never
    /// fails authentication; these leave room for retries and for a few shoppers behind one NAT.
    fn default() -> Limits {
        Limits {
            tokens: Some(Rate::per_secs(20, 60)),
            orders: Some(Rate::per_secs(20, 60)),
            addons: Some(Rate::per_secs(30, 60)),
            addons_per_order: Some(Rate::per_secs(10, 60)),
            auth_failures: Some(Rate::per_secs(10, 60)),
            auth_failures_per_order: Some(Rate::per_secs(10, 600)),
            admin_failures: Some(Rate::per_secs(10, 600)),
            // A widget sends a batch every few seconds while a shopper acts, and on every hide.
            events: Some(Rate::per_secs(120, 60)),
        }
    }
}

impl Limits {
    /// The names accepted by [`Limits::apply`].
    pub const NAMES: [&'static str; 8] = [
        "tokens",
        "orders",
        "addons",
        "addons-per-order",
        "auth-failures",
        "auth-failures-per-order",
        "admin-failures",
        "events",
    ];

    /// Every budget off.
    pub fn off() -> Limits {
        Limits {
            tokens: None,
            orders: None,
            addons: None,
            addons_per_order: None,
            auth_failures: None,
            auth_failures_per_order: None,
            admin_failures: None,
            events: None,
        }
    }

    fn slot(&mut self, name: &str) -> Option<&mut Option<Rate>> {
        Some(match name {
            "tokens" => &mut self.tokens,
            "orders" => &mut self.orders,
            "addons" => &mut self.addons,
            "addons-per-order" => &mut self.addons_per_order,
            "auth-failures" => &mut self.auth_failures,
            "auth-failures-per-order" => &mut self.auth_failures_per_order,
            "admin-failures" => &mut self.admin_failures,
            "events" => &mut self.events,
            _ => return None,
        })
    }

    /// Applies a comma-separated list of `off` (every budget), `default` (every budget back to its
    /// default), `name=rate` or `name=off`, left to right.
    pub fn apply(&mut self, spec: &str) -> Result<(), String> {
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item {
                "off" => *self = Limits::off(),
                "default" => *self = Limits::default(),
                _ => {
                    let (name, rate) = item.split_once('=').ok_or_else(|| {
                        format!("{item:?}: expected off, default or name=rate (e.g. tokens=20/min)")
                    })?;
                    let rate = match rate.trim() {
                        "off" => None,
                        r => Some(Rate::parse(r)?),
                    };
                    let slot = self.slot(name.trim()).ok_or_else(|| {
                        format!(
                            "unknown rate limit {:?} (one of {})",
                            name.trim(),
                            Limits::NAMES.join(", ")
                        )
                    })?;
                    *slot = rate;
                }
            }
        }
        Ok(())
    }
}

/// How often expired keys are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Keys kept per budget. Beyond it (after pruning), new keys pass uncounted: a flood of distinct
/// addresses defeats per-address budgets anyway, and memory stays bounded (a few MB).
const MAX_KEYS: usize = 100_000;

/// One GCRA budget over keys `K`.
struct Gcra<K> {
    /// Time between two conforming requests at the sustained rate.
    interval: Duration,
    /// How far ahead of now a key's arrival time may run: the burst.
    tolerance: Duration,
    table: Mutex<Table<K>>,
}

struct Table<K> {
    /// Per key, the theoretical arrival time of its next request; past it, the key is fresh.
    tats: HashMap<K, Instant>,
    pruned: Instant,
}

impl<K: Eq + Hash> Gcra<K> {
    fn new(rate: Rate) -> Gcra<K> {
        let interval = rate.period / rate.count.max(1);
        Gcra {
            interval,
            tolerance: interval * rate.count.max(1),
            table: Mutex::new(Table {
                tats: HashMap::new(),
                pruned: Instant::now(),
            }),
        }
    }

    /// Whether one more request for `key` fits at `now` (`Err`: how long until it would). With
    /// `take`, a request that fits is counted.
    fn check(&self, key: K, now: Instant, take: bool) -> Result<(), Duration> {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if now.saturating_duration_since(table.pruned) >= PRUNE_EVERY {
            table.tats.retain(|_, tat| *tat > now);
            table.pruned = now;
        }
        let tat = table
            .tats
            .get(&key)
            .copied()
            .filter(|tat| *tat > now)
            .unwrap_or(now);
        let next = tat + self.interval;
        let ahead = next.saturating_duration_since(now);
        if ahead > self.tolerance {
            return Err(ahead - self.tolerance);
        }
        if take {
            if table.tats.len() >= MAX_KEYS && !table.tats.contains_key(&key) {
                table.tats.retain(|_, tat| *tat > now);
                table.pruned = now;
                if table.tats.len() >= MAX_KEYS {
                    return Ok(());
                }
            }
            table.tats.insert(key, next);
        }
        Ok(())
    }
}

/// The budgets of one server, and how it finds a request's client address.
pub struct RateLimiter {
    tokens: Option<Gcra<IpAddr>>,
    orders: Option<Gcra<IpAddr>>,
    addons: Option<Gcra<IpAddr>>,
    addons_per_order: Option<Gcra<String>>,
    auth_failures: Option<Gcra<IpAddr>>,
    auth_failures_per_order: Option<Gcra<String>>,
    admin_failures: Option<Gcra<IpAddr>>,
    events: Option<Gcra<IpAddr>>,
    trust_forwarded_for: bool,
}

impl RateLimiter {
    /// Budgets as configured; with `trust_forwarded_for`, the client address is the last one in
    /// `X-Forwarded-For` (the one the reverse proxy in front appended) instead of the peer's.
    pub fn new(limits: &Limits, trust_forwarded_for: bool) -> RateLimiter {
        RateLimiter {
            tokens: limits.tokens.map(Gcra::new),
            orders: limits.orders.map(Gcra::new),
            addons: limits.addons.map(Gcra::new),
            addons_per_order: limits.addons_per_order.map(Gcra::new),
            auth_failures: limits.auth_failures.map(Gcra::new),
            auth_failures_per_order: limits.auth_failures_per_order.map(Gcra::new),
            admin_failures: limits.admin_failures.map(Gcra::new),
            events: limits.events.map(Gcra::new),
            trust_forwarded_for,
        }
    }

    /// The address a request is counted under, if known.
    fn client(&self, req: &Request) -> Option<IpAddr> {
        let forwarded = self
            .trust_forwarded_for
            .then(|| forwarded_for(req.headers()))
            .flatten();
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        forwarded.or(peer).map(client_key)
    }

    /// The address a request to a handler outside `/v1` is counted under (the dashboard's
    /// sign-in form, which this middleware does not classify): same rules as for the API.
    pub fn client_of(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
        let forwarded = self
            .trust_forwarded_for
            .then(|| forwarded_for(headers))
            .flatten();
        forwarded.or(peer.map(|a| a.ip())).map(client_key)
    }

    /// Whether `client` may try an admin key now (`Err`: how long until it may): the
    /// `admin-failures` budget, shared by `Authorization: Bearer` API calls and dashboard
    /// sign-ins. Does not count anything.
    pub fn admin_attempt(&self, client: Option<IpAddr>) -> Result<(), Duration> {
        check(&self.admin_failures, client, Instant::now(), false)
    }

    /// Counts one failed admin-key attempt (a wrong key in the dashboard's sign-in form).
    pub fn admin_failed(&self, client: Option<IpAddr>) {
        let _ = check(&self.admin_failures, client, Instant::now(), true);
    }
}

/// The last address of the last `X-Forwarded-For` header: what the nearest proxy saw. The ones
/// before it are the client's own claims.
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?;
    let hop = last.to_str().ok()?.rsplit(',').next()?.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// One key per IPv4 address and per IPv6 /64 (what one subscriber usually gets), so a client
/// cannot step around its budget by rotating through its own prefix.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// What a request is counted as.
#[derive(Debug, PartialEq, Eq)]
enum Class {
    Tokens,
    CreateOrder,
    /// `POST /v1/events`.
    Events,
    /// A call on one order (its secret, resume pass or the admin key); `addon`: an accept.
    Order {
        id: String,
        addon: bool,
    },
    /// A creator call (admin key only).
    Admin,
}

/// Classifies by method and path, so that every route under `/v1/orders/{id}` is covered,
/// including ones added later.
fn classify(method: &Method, path: &str) -> Option<Class> {
    let rest = path.strip_prefix("/v1/")?;
    let mut segments = rest.split('/');
    let first = segments.next()?;
    let second = segments.next();
    let third = segments.next();
    let fourth = segments.next();
    match (first, second, third, fourth) {
        ("test-gateway", Some("tokens"), None, _) if method == Method::POST => Some(Class::Tokens),
        ("orders", None, _, _) if method == Method::POST => Some(Class::CreateOrder),
        ("events", None, _, _) if method == Method::POST => Some(Class::Events),
        ("orders", Some(id), Some("lines"), _) if !id.is_empty() => Some(Class::Admin),
        ("orders", Some(id), third, fourth) if !id.is_empty() && method != Method::OPTIONS => {
            Some(Class::Order {
                id: percent_decoded(id),
                addon: method == Method::POST && third == Some("addons") && fourth.is_none(),
            })
        }
        ("admin", _, _, _) if method != Method::OPTIONS => Some(Class::Admin),
        ("offers", Some(_), None, _) if method == Method::PUT => Some(Class::Admin),
        _ => None,
    }
}

/// A path segment as the router sees it (`%61` and `a` are one order, so one budget).
pub(crate) fn percent_decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Order ids are 36 characters; a longer one cannot be an order, so it gets no per-order entry.
const MAX_ORDER_KEY: usize = 64;

fn order_key(id: &str) -> Option<String> {
    (id.len() <= MAX_ORDER_KEY).then(|| id.to_string())
}

/// Checks one budget (`Err`: retry after); a missing budget or key always fits.
fn check<K: Eq + Hash>(
    budget: &Option<Gcra<K>>,
    key: Option<K>,
    now: Instant,
    take: bool,
) -> Result<(), Duration> {
    match (budget, key) {
        (Some(budget), Some(key)) => budget.check(key, now, take),
        _ => Ok(()),
    }
}

/// `429 rate_limited` with `Retry-After` in whole seconds (at least 1).
fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let mut res = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests; retry in {secs} s"),
    )
    .into_response();
    res.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(secs));
    res
}

/// The middleware: refuses a request over one of its budgets, and counts failed authentication.
pub async fn guard(State(limiter): State<Arc<RateLimiter>>, req: Request, next: Next) -> Response {
    let Some(class) = classify(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    let l = limiter.as_ref();
    let ip = l.client(&req);
    let bears = req.headers().contains_key(AUTHORIZATION);
    let now = Instant::now();
    let verdict = match &class {
        Class::Tokens => check(&l.tokens, ip, now, true),
        Class::CreateOrder => check(&l.orders, ip, now, true),
        Class::Events => check(&l.events, ip, now, true),
        Class::Order { id, addon } => {
            let failures = if bears {
                check(&l.auth_failures, ip, now, false)
                    .and_then(|()| check(&l.auth_failures_per_order, order_key(id), now, false))
            } else {
                Ok(())
            };
            failures.and_then(|()| {
                if *addon {
                    check(&l.addons, ip, now, true)
                        .and_then(|()| check(&l.addons_per_order, order_key(id), now, true))
                } else {
                    Ok(())
                }
            })
        }
        Class::Admin if bears => check(&l.admin_failures, ip, now, false),
        Class::Admin => Ok(()),
    };
    if let Err(wait) = verdict {
        return too_many(wait);
    }
    let res = next.run(req).await;
    let failed = bears
        && matches!(
            res.status(),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        );
    if failed {
        let now = Instant::now();
        // Both budgets count it; whether the next request fits is decided before it runs.
        match &class {
            Class::Order { id, .. } => {
                let _ = check(&l.auth_failures, ip, now, true);
                let _ = check(&l.auth_failures_per_order, order_key(id), now, true);
            }
            Class::Admin => {
                let _ = check(&l.admin_failures, ip, now, true);
            }
            Class::Tokens | Class::CreateOrder | Class::Events => {}
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print() {
        for (text, count, secs, shown) in [
            ("20/min", 20, 60, "20/min"),
            ("10/10min", 10, 600, "10/10min"),
            ("5/s", 5, 1, "5/s"),
            ("100/h", 100, 3600, "100/h"),
            ("3/30s", 3, 30, "3/30s"),
            (" 7 / 2h ", 7, 7200, "7/2h"),
        ] {
            let rate = Rate::parse(text).expect(text);
            assert_eq!((rate.count, rate.period.as_secs()), (count, secs), "{text}");
            assert_eq!(rate.to_string(), shown);
        }
        for bad in [
            "", "20", "0/min", "20/0s", "20/day", "x/min", "20/min/s", "-1/min",
        ] {
            assert!(Rate::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn limits_apply_left_to_right() {
        let mut l = Limits::default();
        l.apply("off, tokens=5/min").expect("valid");
        assert_eq!(l.tokens, Some(Rate::per_secs(5, 60)));
        assert_eq!(l.orders, None);
        l.apply("default,orders=off").expect("valid");
        assert_eq!(l.tokens, Limits::default().tokens);
        assert_eq!(l.orders, None);
        assert!(l.apply("bogus=1/min").is_err());
        assert!(l.apply("tokens").is_err());
        assert!(l.apply("tokens=fast").is_err());
    }

    #[test]
    fn a_burst_then_one_per_interval() {
        let g: Gcra<u8> = Gcra::new(Rate::per_secs(3, 3));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(g.check(1, t0, true), Ok(()));
        }
        let wait = g.check(1, t0, true).expect_err("over the burst");
        assert_eq!(wait, Duration::from_secs(1));
        // Another key is not affected; a peek does not count.
        assert_eq!(g.check(2, t0, false), Ok(()));
        assert_eq!(g.check(2, t0, false), Ok(()));
        // One interval later exactly one more fits.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(g.check(1, t1, true), Ok(()));
        assert!(g.check(1, t1, true).is_err());
        // After the whole period the burst is back, and pruning forgets the key.
        let t2 = t0 + Duration::from_secs(61);
        for _ in 0..3 {
            assert_eq!(g.check(1, t2, true), Ok(()));
        }
        let table = g.table.lock().expect("lock");
        assert_eq!(table.tats.len(), 1, "only key 1, pruned and counted again");
    }

    #[test]
    fn requests_are_classified_by_route() {
        let order = |id: &str, addon| {
            Some(Class::Order {
                id: id.to_string(),
                addon,
            })
        };
        let post = Method::POST;
        assert_eq!(
            classify(&post, "/v1/test-gateway/tokens"),
            Some(Class::Tokens)
        );
        assert_eq!(classify(&post, "/v1/orders"), Some(Class::CreateOrder));
        assert_eq!(classify(&post, "/v1/events"), Some(Class::Events));
        assert_eq!(classify(&Method::OPTIONS, "/v1/events"), None);
        assert_eq!(
            classify(&Method::GET, "/v1/admin/metrics.csv"),
            Some(Class::Admin)
        );
        assert_eq!(
            classify(&post, "/v1/orders/ord_a/addons"),
            order("ord_a", true)
        );
        assert_eq!(
            classify(&post, "/v1/orders/ord_%61/decline"),
            order("ord_a", false)
        );
        assert_eq!(
            classify(&post, "/v1/orders/ord_a/cancel"),
            order("ord_a", false)
        );
        assert_eq!(
            classify(&Method::GET, "/v1/orders/ord_a"),
            order("ord_a", false)
        );
        assert_eq!(
            classify(&post, "/v1/orders/ord_a/lines/bump/refund"),
            Some(Class::Admin)
        );
        assert_eq!(
            classify(&Method::GET, "/v1/admin/orders"),
            Some(Class::Admin)
        );
        assert_eq!(
            classify(&Method::PUT, "/v1/offers/creator-course"),
            Some(Class::Admin)
        );
        assert_eq!(classify(&Method::GET, "/v1/offers/creator-course"), None);
        assert_eq!(classify(&post, "/v1/quotes"), None);
        assert_eq!(classify(&Method::OPTIONS, "/v1/orders/ord_a"), None);
        assert_eq!(classify(&Method::GET, "/healthz"), None);
    }

    #[test]
    fn clients_are_keyed_by_address_and_ipv6_prefix() {
        let v6 = |s: &str| client_key(s.parse().expect("ip"));
        assert_eq!(v6("2001:db8:1:2:3:4:5:6"), v6("2001:db8:1:2:ffff::1"));
        assert_ne!(v6("2001:db8:1:2::1"), v6("2001:db8:1:3::1"));
        assert_eq!(v6("::ffff:192.0.2.1"), v6("192.0.2.1"));
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 10.0.0.1"),
        );
        h.append("x-forwarded-for", HeaderValue::from_static("198.51.100.7"));
        assert_eq!(forwarded_for(&h), "198.51.100.7".parse().ok());
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_static("[2001:db8::1]:443"),
        );
        assert_eq!(forwarded_for(&h), "2001:db8::1".parse().ok());
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        let res = too_many(Duration::from_millis(2_100));
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[RETRY_AFTER], "3");
        assert_eq!(too_many(Duration::ZERO).headers()[RETRY_AFTER], "1");
    }
}
