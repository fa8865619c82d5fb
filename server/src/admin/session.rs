//! Dashboard sessions: sign-in with the admin key, the session cookie, CSRF tokens, sign-out.
//!
//! - **Sign-in** compares the typed key with the server's admin key through
//!   [`Service::require_admin`](crate::service::Service::require_admin) (constant time). Every
//!   failure counts against the `admin-failures` budget of the client's address (the one that
//!   limits wrong `Authorization: Bearer` keys on the API), and once it is used up even the right
//!   key waits (`429` with `Retry-After`).
//! - **The cookie** `momentum_admin` holds only a random 256-bit session id (hex): `HttpOnly`,
//!   `SameSite=Strict`, `Path=/admin`, `Max-Age` of the session, and `Secure` when the request came
//!   over https (`X-Forwarded-Proto: https` or `Forwarded: proto=https` from the TLS proxy). The
//!   server keeps sessions in memory, keyed by the SHA-256 of the id (a lookup reveals nothing
//!   through timing), for [`SESSION_TTL`] from sign-in; a restart signs everyone out. The key the
//!   creator typed stays in the server-side session (it is what the dashboard passes to the
//!   service as the bearer); it never goes back to the browser.
//! - **CSRF**: every form carries the session's random token in a hidden `csrf` field, compared in
//!   constant time on every POST, on top of the `Origin` check in [`super::same_origin`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};

use crate::util::{constant_time_eq, hex};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "momentum_admin";

/// How long a session lasts from sign-in.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 60 * 60);

/// How long a refund confirmation stays answerable.
pub const CONFIRMATION_TTL: Duration = Duration::from_secs(30 * 60);

/// Sessions kept at once; signing in beyond it drops the oldest.
const MAX_SESSIONS: usize = 256;

/// Refund confirmations kept per session; beyond it the oldest are forgotten.
const MAX_CONFIRMATIONS: usize = 64;

/// What a refund confirmation did, once it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Refunded: the notice to show.
    Refunded(String),
    /// Refused or failed: the message to show.
    Failed(String),
}

/// One "Refund X of line Y?" question, answered at most once: its id is the idempotency key of
/// the refund, and the lock makes a double submit wait for the first and show its outcome.
#[derive(Debug)]
pub struct Confirmation {
    /// The order.
    pub order_id: String,
    /// The line.
    pub line_id: String,
    /// "€9.00 of line “…” to card Visa •••• 4242", for the notice.
    pub summary: String,
    /// Set once the refund ran.
    pub outcome: Option<Outcome>,
}

struct Session {
    key: String,
    csrf: String,
    expires: Instant,
    confirmations: Vec<(String, Instant, Arc<tokio::sync::Mutex<Confirmation>>)>,
}

/// A signed-in request's session.
#[derive(Clone)]
pub struct Signed {
    /// SHA-256 of the session id (the map key).
    pub id_hash: [u8; 32],
    /// The admin key, for the service calls.
    pub key: String,
    /// The CSRF token of this session's forms.
    pub csrf: String,
}

/// Every session of this process.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

fn random_hex() -> Result<String, getrandom::Error> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b)?;
    Ok(hex(&b))
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new session for `key` (already checked); returns the id to put in the cookie.
    pub fn create(&self, key: &str) -> Result<String, getrandom::Error> {
        let id = random_hex()?;
        let csrf = random_hex()?;
        let now = Instant::now();
        let mut map = self.lock();
        map.retain(|_, s| s.expires > now);
        while map.len() >= MAX_SESSIONS {
            let oldest = map.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k);
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(
            digest(&id),
            Session {
                key: key.to_string(),
                csrf,
                expires: now + SESSION_TTL,
                confirmations: Vec::new(),
            },
        );
        Ok(id)
    }

    /// The live session named by a `momentum_admin` cookie of `headers`.
    pub fn find(&self, headers: &HeaderMap) -> Option<Signed> {
        let now = Instant::now();
        let mut map = self.lock();
        for id in cookie_values(headers) {
            let h = digest(&id);
            match map.get(&h) {
                Some(s) if s.expires > now => {
                    return Some(Signed {
                        id_hash: h,
                        key: s.key.clone(),
                        csrf: s.csrf.clone(),
                    })
                }
                Some(_) => {
                    map.remove(&h);
                }
                None => {}
            }
        }
        None
    }

    /// Ends the session.
    pub fn remove(&self, id_hash: &[u8; 32]) {
        self.lock().remove(id_hash);
    }

    /// Whether `token` is the session's CSRF token (constant time).
    pub fn csrf_ok(signed: &Signed, token: Option<&str>) -> bool {
        token.is_some_and(|t| {
            constant_time_eq(
                &Sha256::digest(t.as_bytes()),
                &Sha256::digest(signed.csrf.as_bytes()),
            )
        })
    }

    /// Records a refund question; returns its id (random, 256 bits).
    pub fn add_confirmation(
        &self,
        signed: &Signed,
        confirmation: Confirmation,
    ) -> Result<Option<String>, getrandom::Error> {
        let id = random_hex()?;
        let now = Instant::now();
        let mut map = self.lock();
        let Some(s) = map.get_mut(&signed.id_hash) else {
            return Ok(None);
        };
        s.confirmations
            .retain(|(_, at, _)| now.saturating_duration_since(*at) < CONFIRMATION_TTL);
        if s.confirmations.len() >= MAX_CONFIRMATIONS {
            s.confirmations.remove(0);
        }
        s.confirmations.push((
            id.clone(),
            now,
            Arc::new(tokio::sync::Mutex::new(confirmation)),
        ));
        Ok(Some(id))
    }

    /// The session's refund question `id`, if it is still answerable.
    pub fn confirmation(
        &self,
        signed: &Signed,
        id: &str,
    ) -> Option<Arc<tokio::sync::Mutex<Confirmation>>> {
        let now = Instant::now();
        let map = self.lock();
        let s = map.get(&signed.id_hash)?;
        s.confirmations
            .iter()
            .find(|(cid, at, _)| {
                now.saturating_duration_since(*at) < CONFIRMATION_TTL
                    && constant_time_eq(cid.as_bytes(), id.as_bytes())
            })
            .map(|(_, _, c)| c.clone())
    }
}

/// Every value of a `momentum_admin` cookie in the request (64 hex digits only).
fn cookie_values(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name.trim() == COOKIE_NAME).then(|| value.trim().to_string())
        })
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect()
}

/// Whether the request reached the TLS proxy in front over https.
pub fn is_https(headers: &HeaderMap) -> bool {
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .next()
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
        });
    let forwarded = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([';', ',']))
        .any(|part| {
            part.trim().split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("proto")
                    && v.trim().trim_matches('"').eq_ignore_ascii_case("https")
            })
        });
    proto || forwarded
}

/// The `Set-Cookie` that starts a session.
pub fn set_cookie(id: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let v = format!(
        "{COOKIE_NAME}={id}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_TTL.as_secs()
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The `Set-Cookie` that deletes the session cookie.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Adds `cookie` to a response's headers.
pub fn with_cookie(headers: &mut HeaderMap, cookie: HeaderValue) {
    headers.append(SET_COOKIE, cookie);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_lives_until_removed_and_only_under_its_id() {
        let sessions = Sessions::default();
        let id = sessions.create("k").expect("id");
        assert_eq!(id.len(), 64);
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_str(&format!("other=1; {COOKIE_NAME}={id}")).expect("header"),
        );
        let s = sessions.find(&h).expect("found");
        assert_eq!(s.key, "k");
        assert!(Sessions::csrf_ok(&s, Some(&s.csrf.clone())));
        assert!(!Sessions::csrf_ok(&s, Some("x")));
        assert!(!Sessions::csrf_ok(&s, None));
        sessions.remove(&s.id_hash);
        assert!(sessions.find(&h).is_none());
        let mut forged = HeaderMap::new();
        forged.insert(COOKIE, HeaderValue::from_static("momentum_admin=00"));
        assert!(sessions.find(&forged).is_none());
    }

    #[test]
    fn https_is_read_from_the_proxy() {
        let mut h = HeaderMap::new();
        assert!(!is_https(&h));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(is_https(&h));
        let mut h = HeaderMap::new();
        h.insert(
            "forwarded",
            HeaderValue::from_static("for=1.2.3.4;proto=https"),
        );
        assert!(is_https(&h));
    }
}
