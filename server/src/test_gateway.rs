//! A test payment gateway that behaves like a real provider's test mode: card numbers become
//! one-time tokens, tokens become saved payment methods, and magic card numbers choose the outcome
//! (see [`TEST_CARDS`] and `docs/api.md`). Its state lives in its own `tg_*` tables (in the same
//! SQLite file, through its own connection), so it survives restarts and honours idempotency keys
//! like a real provider. Only the brand, the last four digits and the behaviour of a card are
//! stored, never the number.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::gateway::*;
use crate::util::{now_ms, random_id};

/// How a test card behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Everything succeeds.
    Success,
    /// The primary charge is declined (`card_declined`).
    Decline,
    /// The primary charge is declined (`insufficient_funds`).
    InsufficientFunds,
    /// The primary charge needs 3-D Secure; add-ons then succeed (exempt after authentication).
    ThreeDSecure,
    /// The primary charge is `processing`, then succeeds after the configured delay.
    Processing,
    /// The primary succeeds; add-on charges are declined.
    AddOnDecline,
    /// The primary succeeds; add-on charges need 3-D Secure.
    AddOnThreeDSecure,
}

impl Behaviour {
    fn as_str(self) -> &'static str {
        match self {
            Behaviour::Success => "success",
            Behaviour::Decline => "decline",
            Behaviour::InsufficientFunds => "insufficient_funds",
            Behaviour::ThreeDSecure => "3ds",
            Behaviour::Processing => "processing",
            Behaviour::AddOnDecline => "addon_decline",
            Behaviour::AddOnThreeDSecure => "addon_3ds",
        }
    }

    fn parse(s: &str) -> Behaviour {
        match s {
            "decline" => Behaviour::Decline,
            "insufficient_funds" => Behaviour::InsufficientFunds,
            "3ds" => Behaviour::ThreeDSecure,
            "processing" => Behaviour::Processing,
            "addon_decline" => Behaviour::AddOnDecline,
            "addon_3ds" => Behaviour::AddOnThreeDSecure,
            _ => Behaviour::Success,
        }
    }
}

/// The magic test card numbers. Any other Luhn-valid number behaves like `Success`.
pub const TEST_CARDS: [(&str, Behaviour, &str); 8] = [
    ("4242424242424242", Behaviour::Success, "succeeds"),
    (
        "5555555555554444",
        Behaviour::Success,
        "succeeds (Mastercard)",
    ),
    (
        "4000000000000002",
        Behaviour::Decline,
        "declined: card_declined",
    ),
    (
        "4000000000009995",
        Behaviour::InsufficientFunds,
        "declined: insufficient_funds",
    ),
    (
        "4000002500003155",
        Behaviour::ThreeDSecure,
        "requires 3-D Secure; add-ons then succeed",
    ),
    (
        "4000000000000150",
        Behaviour::Processing,
        "processing, settles to paid after the delay",
    ),
    (
        "4000000000000341",
        Behaviour::AddOnDecline,
        "primary succeeds, add-ons declined",
    ),
    (
        "4000002760003184",
        Behaviour::AddOnThreeDSecure,
        "primary succeeds, add-ons require 3-D Secure",
    ),
];

/// A problem with the card fields, named by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardError {
    /// `number`, `exp_month`, `exp_year` or `cvc`.
    pub field: &'static str,
    /// Stable code.
    pub code: &'static str,
    /// Message.
    pub message: &'static str,
}

/// `true` when `digits` passes the Luhn check.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

fn brand_of(digits: &str) -> &'static str {
    let two: u32 = digits.get(..2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let four: u32 = digits.get(..4).and_then(|s| s.parse().ok()).unwrap_or(0);
    if digits.starts_with('4') {
        "visa"
    } else if (51..=55).contains(&two) || (2221..=2720).contains(&four) {
        "mastercard"
    } else if two == 34 || two == 37 {
        "amex"
    } else {
        "unknown"
    }
}

/// Current (year, month) in UTC.
fn year_month(now_secs: i64) -> (i64, u32) {
    // Howard Hinnant's civil_from_days.
    let z = now_secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32)
}

/// A validated card: brand, last 4, behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// Brand.
    pub brand: &'static str,
    /// Last four digits.
    pub last4: String,
    /// Test behaviour.
    pub behaviour: Behaviour,
}

/// Checks card fields like a provider's hosted fields would.
pub fn validate_card(
    number: &str,
    exp_month: Option<u32>,
    exp_year: Option<u32>,
    cvc: Option<&str>,
    now_secs: i64,
) -> Result<Card, CardError> {
    let digits: String = number.chars().filter(|c| *c != ' ' && *c != '-').collect();
    if digits.len() < 12
        || digits.len() > 19
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !luhn_valid(&digits)
    {
        return Err(CardError {
            field: "number",
            code: "invalid_card_number",
            message: "Your card number is invalid.",
        });
    }
    if let Some(m) = exp_month {
        if !(1..=12).contains(&m) {
            return Err(CardError {
                field: "exp_month",
                code: "invalid_expiry",
                message: "The expiry month is invalid.",
            });
        }
    }
    if let Some(y) = exp_year {
        let (cy, cm) = year_month(now_secs);
        let y = i64::from(y);
        if !(1000..=9999).contains(&y) || y > cy + 50 {
            return Err(CardError {
                field: "exp_year",
                code: "invalid_expiry",
                message: "The expiry year is invalid.",
            });
        }
        if y < cy || (y == cy && exp_month.is_some_and(|m| m < cm)) {
            return Err(CardError {
                field: "exp_year",
                code: "card_expired",
                message: "Your card has expired.",
            });
        }
    }
    if let Some(c) = cvc {
        if !(3..=4).contains(&c.len()) || !c.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardError {
                field: "cvc",
                code: "invalid_cvc",
                message: "Your card's security code is invalid.",
            });
        }
    }
    let behaviour = TEST_CARDS
        .iter()
        .find(|(n, _, _)| *n == digits)
        .map(|(_, b, _)| *b)
        .unwrap_or(Behaviour::Success);
    Ok(Card {
        brand: brand_of(&digits),
        last4: digits[digits.len() - 4..].to_string(),
        behaviour,
    })
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS tg_tokens (
    token TEXT PRIMARY KEY,
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL,
    behaviour TEXT NOT NULL,
    payment_method TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tg_payment_methods (
    id TEXT PRIMARY KEY,
    attach_key TEXT NOT NULL UNIQUE,
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL,
    behaviour TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tg_charges (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    payment_method TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    challenge_id TEXT UNIQUE,
    challenge_state TEXT,
    settles_at_ms INTEGER,
    decline_code TEXT,
    decline_message TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tg_refunds (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    charge_id TEXT NOT NULL,
    amount INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
"#;

/// A charge as stored: the charge, when it settles (ms), and `challenge_id|state`.
type Loaded = (GatewayCharge, Option<i64>, Option<String>);

/// The test gateway.
pub struct TestGateway {
    conn: Mutex<Connection>,
    public_url: String,
    processing_delay: Duration,
    crash_window: Duration,
}

fn unavailable(e: impl std::fmt::Display) -> GatewayError {
    GatewayError::Unavailable(e.to_string())
}

/// What the challenge page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeView {
    /// Challenge id.
    pub id: String,
    /// Amount, minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
    /// Card last 4.
    pub last4: String,
    /// `pending`, `approved`, `failed` or `canceled` (voided: the checkout gave up on it).
    pub state: String,
}

impl TestGateway {
    /// Opens the gateway's tables in the SQLite file at `path`.
    pub fn open(
        path: &Path,
        public_url: &str,
        processing_delay: Duration,
    ) -> Result<TestGateway, GatewayError> {
        let conn = crate::sqlite::open_connection(path).map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        Ok(TestGateway {
            conn: Mutex::new(conn),
            public_url: public_url.trim_end_matches('/').to_string(),
            processing_delay,
            crash_window: Duration::ZERO,
        })
    }

    /// Test flag (`--test-crash-window-ms`): like a slow provider, a new charge is made `window`
    /// after the call and answered `window` after that, so that a crash test can kill the server
    /// before the gateway has the charge, and between the charge and the server recording it.
    pub fn with_crash_window(self, window: Duration) -> TestGateway {
        TestGateway {
            crash_window: window,
            ..self
        }
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a one-time token for a validated card.
    pub fn tokenize(&self, card: &Card) -> Result<String, GatewayError> {
        let token = random_id("tok_test_").map_err(unavailable)?;
        self.conn()
            .execute(
                "INSERT INTO tg_tokens (token, brand, last4, behaviour, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![token, card.brand, card.last4, card.behaviour.as_str(), now_ms() / 1000],
            )
            .map_err(unavailable)?;
        Ok(token)
    }

    /// The challenge page data.
    pub fn challenge(&self, id: &str) -> Result<ChallengeView, GatewayError> {
        self.conn()
            .query_row(
                "SELECT c.challenge_id, c.amount, c.currency, p.last4, c.challenge_state FROM tg_charges c JOIN tg_payment_methods p ON p.id = c.payment_method WHERE c.challenge_id = ?1",
                [id],
                |r| Ok(ChallengeView { id: r.get(0)?, amount: r.get(1)?, currency: r.get(2)?, last4: r.get(3)?, state: r.get(4)? }),
            )
            .optional()
            .map_err(unavailable)?
            .ok_or(GatewayError::NotFound)
    }

    /// Records the shopper's answer to a challenge (first answer wins; a voided challenge takes
    /// none).
    pub fn answer_challenge(&self, id: &str, approve: bool) -> Result<ChallengeView, GatewayError> {
        {
            let conn = self.conn();
            let state = if approve { "approved" } else { "failed" };
            conn.execute("UPDATE tg_charges SET challenge_state = ?2 WHERE challenge_id = ?1 AND challenge_state = 'pending'", params![id, state])
                .map_err(unavailable)?;
        }
        self.challenge(id)
    }

    fn load(conn: &Connection, column: &str, value: &str) -> rusqlite::Result<Option<Loaded>> {
        let sql = format!(
            "SELECT id, status, challenge_id, challenge_state, settles_at_ms, decline_code, decline_message FROM tg_charges WHERE {column} = ?1"
        );
        conn.query_row(&sql, [value], |r| {
            let id: String = r.get(0)?;
            let status: String = r.get(1)?;
            let challenge: Option<String> = r.get(2)?;
            let challenge_state: Option<String> = r.get(3)?;
            let settles: Option<i64> = r.get(4)?;
            let code: Option<String> = r.get(5)?;
            let msg: Option<String> = r.get(6)?;
            Ok((id, status, challenge, challenge_state, settles, code, msg))
        })
        .optional()
        .map(|row| {
            row.map(
                |(id, status, challenge, challenge_state, settles, code, msg)| {
                    let status = match status.as_str() {
                        "succeeded" => GatewayStatus::Succeeded,
                        "processing" => GatewayStatus::Processing,
                        "requires_action" => GatewayStatus::RequiresAction { url: String::new() },
                        "canceled" => GatewayStatus::Canceled,
                        _ => GatewayStatus::Declined {
                            code: code.unwrap_or_default(),
                            message: msg.unwrap_or_default(),
                        },
                    };
                    (
                        GatewayCharge {
                            reference: id,
                            status,
                        },
                        settles,
                        challenge.map(|c| format!("{c}|{}", challenge_state.unwrap_or_default())),
                    )
                },
            )
        })
    }

    fn challenge_url(&self, challenge_id: &str) -> String {
        format!("{}/test-gateway/challenge/{challenge_id}", self.public_url)
    }

    /// Settles time- and challenge-dependent states, persisting the transition.
    fn settle(
        &self,
        conn: &Connection,
        charge: GatewayCharge,
        settles_at: Option<i64>,
        challenge: Option<String>,
    ) -> rusqlite::Result<GatewayCharge> {
        match charge.status {
            GatewayStatus::Processing if settles_at.is_some_and(|t| now_ms() >= t) => {
                conn.execute("UPDATE tg_charges SET status = 'succeeded' WHERE id = ?1 AND status = 'processing'", [&charge.reference])?;
                Ok(GatewayCharge {
                    status: GatewayStatus::Succeeded,
                    ..charge
                })
            }
            GatewayStatus::RequiresAction { .. } => {
                let (cid, state) = challenge
                    .as_deref()
                    .and_then(|c| c.split_once('|'))
                    .unwrap_or(("", "pending"));
                match state {
                    "approved" => {
                        conn.execute("UPDATE tg_charges SET status = 'succeeded' WHERE id = ?1 AND status = 'requires_action'", [&charge.reference])?;
                        Ok(GatewayCharge {
                            status: GatewayStatus::Succeeded,
                            ..charge
                        })
                    }
                    "failed" => {
                        let (code, message) = (
                            "authentication_failed",
                            "We could not authenticate your payment. Your card was not charged.",
                        );
                        conn.execute(
                            "UPDATE tg_charges SET status = 'declined', decline_code = ?2, decline_message = ?3 WHERE id = ?1 AND status = 'requires_action'",
                            params![charge.reference, code, message],
                        )?;
                        Ok(GatewayCharge {
                            status: GatewayStatus::Declined {
                                code: code.into(),
                                message: message.into(),
                            },
                            ..charge
                        })
                    }
                    _ => Ok(GatewayCharge {
                        status: GatewayStatus::RequiresAction {
                            url: self.challenge_url(cid),
                        },
                        ..charge
                    }),
                }
            }
            _ => Ok(charge),
        }
    }
}

impl Gateway for TestGateway {
    fn attach(&self, token: &str, idempotency_key: &str) -> Result<PaymentMethod, GatewayError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(unavailable)?;
        let existing = tx
            .query_row(
                "SELECT id, brand, last4 FROM tg_payment_methods WHERE attach_key = ?1",
                [idempotency_key],
                |r| {
                    Ok(PaymentMethod {
                        id: r.get(0)?,
                        brand: r.get(1)?,
                        last4: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(unavailable)?;
        if let Some(pm) = existing {
            return Ok(pm);
        }
        let tok = tx
            .query_row(
                "SELECT brand, last4, behaviour, payment_method FROM tg_tokens WHERE token = ?1",
                [token],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(unavailable)?;
        let Some((brand, last4, behaviour, used)) = tok else {
            return Err(GatewayError::InvalidToken);
        };
        if used.is_some() {
            return Err(GatewayError::TokenUsed);
        }
        let id = random_id("pm_test_").map_err(unavailable)?;
        tx.execute(
            "INSERT INTO tg_payment_methods (id, attach_key, brand, last4, behaviour, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, idempotency_key, brand, last4, behaviour, now_ms() / 1000],
        )
        .map_err(unavailable)?;
        tx.execute(
            "UPDATE tg_tokens SET payment_method = ?2 WHERE token = ?1",
            params![token, id],
        )
        .map_err(unavailable)?;
        tx.commit().map_err(unavailable)?;
        Ok(PaymentMethod { id, brand, last4 })
    }

    fn charge(&self, req: &ChargeRequest<'_>) -> Result<GatewayCharge, GatewayError> {
        // Test flag: slow to make a new charge, and as slow again to answer (not holding the lock).
        let slow = !self.crash_window.is_zero() && self.find_by_key(req.idempotency_key)?.is_none();
        if slow {
            std::thread::sleep(self.crash_window);
        }
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(unavailable)?;
        if let Some((c, settles, challenge)) =
            Self::load(&tx, "idempotency_key", req.idempotency_key).map_err(unavailable)?
        {
            let c = self
                .settle(&tx, c, settles, challenge)
                .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            return Ok(c);
        }
        let behaviour: String = tx
            .query_row(
                "SELECT behaviour FROM tg_payment_methods WHERE id = ?1",
                [req.payment_method],
                |r| r.get(0),
            )
            .optional()
            .map_err(unavailable)?
            .ok_or(GatewayError::NotFound)?;
        let behaviour = Behaviour::parse(&behaviour);
        let primary = req.purpose == Purpose::Primary;
        let id = random_id("ch_test_").map_err(unavailable)?;
        let mut challenge: Option<String> = None;
        let mut settles: Option<i64> = None;
        let mut decline: Option<(&str, &str)> = None;
        let status = match (behaviour, primary) {
            (Behaviour::Decline, true) => {
                decline = Some(("card_declined", "Your card was declined."));
                "declined"
            }
            (Behaviour::InsufficientFunds, true) => {
                decline = Some(("insufficient_funds", "Your card has insufficient funds."));
                "declined"
            }
            (Behaviour::AddOnDecline, false) => {
                decline = Some(("card_declined", "Your card was declined."));
                "declined"
            }
            (Behaviour::ThreeDSecure, true) | (Behaviour::AddOnThreeDSecure, false) => {
                challenge = Some(random_id("chal_").map_err(unavailable)?);
                "requires_action"
            }
            (Behaviour::Processing, true) => {
                settles = Some(
                    now_ms() + i64::try_from(self.processing_delay.as_millis()).unwrap_or(i64::MAX),
                );
                "processing"
            }
            _ => "succeeded",
        };
        tx.execute(
            "INSERT INTO tg_charges (id, idempotency_key, payment_method, amount, currency, status, challenge_id, challenge_state, settles_at_ms, decline_code, decline_message, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                id,
                req.idempotency_key,
                req.payment_method,
                req.amount,
                req.currency,
                status,
                challenge,
                challenge.as_ref().map(|_| "pending"),
                settles,
                decline.map(|d| d.0),
                decline.map(|d| d.1),
                now_ms() / 1000
            ],
        )
        .map_err(unavailable)?;
        tx.commit().map_err(unavailable)?;
        drop(conn);
        if slow {
            std::thread::sleep(self.crash_window);
        }
        let status = match (status, decline, challenge) {
            ("succeeded", _, _) => GatewayStatus::Succeeded,
            ("processing", _, _) => GatewayStatus::Processing,
            (_, Some((code, message)), _) => GatewayStatus::Declined {
                code: code.into(),
                message: message.into(),
            },
            (_, _, Some(c)) => GatewayStatus::RequiresAction {
                url: self.challenge_url(&c),
            },
            _ => GatewayStatus::Succeeded,
        };
        Ok(GatewayCharge {
            reference: id,
            status,
        })
    }

    fn retrieve(&self, reference: &str) -> Result<GatewayCharge, GatewayError> {
        let conn = self.conn();
        let (c, settles, challenge) = Self::load(&conn, "id", reference)
            .map_err(unavailable)?
            .ok_or(GatewayError::NotFound)?;
        self.settle(&conn, c, settles, challenge)
            .map_err(unavailable)
    }

    fn find_by_key(&self, idempotency_key: &str) -> Result<Option<GatewayCharge>, GatewayError> {
        let conn = self.conn();
        Self::load(&conn, "idempotency_key", idempotency_key)
            .map_err(unavailable)?
            .map(|(c, settles, challenge)| self.settle(&conn, c, settles, challenge))
            .transpose()
            .map_err(unavailable)
    }

    fn void(&self, reference: &str) -> Result<GatewayCharge, GatewayError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(unavailable)?;
        let (c, settles, challenge) = Self::load(&tx, "id", reference)
            .map_err(unavailable)?
            .ok_or(GatewayError::NotFound)?;
        // An answer the bank already gave (or a settlement already due) stands: too late to void.
        let c = self
            .settle(&tx, c, settles, challenge)
            .map_err(unavailable)?;
        let c = match c.status {
            GatewayStatus::RequiresAction { .. } | GatewayStatus::Processing => {
                // The challenge can no longer be answered: `answer_challenge` only takes `pending`.
                tx.execute(
                    "UPDATE tg_charges SET status = 'canceled', challenge_state = CASE WHEN challenge_id IS NULL THEN NULL ELSE 'canceled' END WHERE id = ?1",
                    [reference],
                )
                .map_err(unavailable)?;
                GatewayCharge {
                    status: GatewayStatus::Canceled,
                    ..c
                }
            }
            _ => c,
        };
        tx.commit().map_err(unavailable)?;
        Ok(c)
    }

    fn refund(
        &self,
        reference: &str,
        amount: i64,
        idempotency_key: &str,
    ) -> Result<String, GatewayError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(unavailable)?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT id FROM tg_refunds WHERE idempotency_key = ?1",
                [idempotency_key],
                |r| r.get(0),
            )
            .optional()
            .map_err(unavailable)?;
        if let Some(id) = existing {
            return Ok(id);
        }
        let (charged, status): (i64, String) = tx
            .query_row(
                "SELECT amount, status FROM tg_charges WHERE id = ?1",
                [reference],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(unavailable)?
            .ok_or(GatewayError::NotFound)?;
        let refunded: i64 = tx
            .query_row(
                "SELECT COALESCE(SUM(amount), 0) FROM tg_refunds WHERE charge_id = ?1",
                [reference],
                |r| r.get(0),
            )
            .map_err(unavailable)?;
        if status != "succeeded"
            || amount <= 0
            || refunded.checked_add(amount).is_none_or(|t| t > charged)
        {
            return Err(GatewayError::RefundExceedsCharge);
        }
        let id = random_id("re_test_").map_err(unavailable)?;
        tx.execute(
            "INSERT INTO tg_refunds (id, idempotency_key, charge_id, amount, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, idempotency_key, reference, amount, now_ms() / 1000],
        )
        .map_err(unavailable)?;
        tx.commit().map_err(unavailable)?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards() {
        for (n, b, _) in TEST_CARDS {
            assert!(luhn_valid(n), "{n}");
            assert_eq!(
                validate_card(n, None, None, None, 0).map(|c| c.behaviour),
                Ok(b)
            );
        }
        let now = 1_767_225_600; // 2026-01-01
        assert_eq!(year_month(now), (2026, 1));
        assert_eq!(
            validate_card("4242 4242 4242 4241", None, None, None, now).map_err(|e| e.field),
            Err("number")
        );
        assert_eq!(
            validate_card("4242424242424242", Some(13), None, None, now).map_err(|e| e.field),
            Err("exp_month")
        );
        assert_eq!(
            validate_card("4242424242424242", Some(12), Some(2025), None, now).map_err(|e| e.code),
            Err("card_expired")
        );
        assert_eq!(
            validate_card("4242424242424242", Some(1), Some(2026), Some("12"), now)
                .map_err(|e| e.field),
            Err("cvc")
        );
        let c =
            validate_card("4242 4242 4242 4242", Some(1), Some(2026), Some("123"), now).unwrap();
        assert_eq!((c.brand, c.last4.as_str()), ("visa", "4242"));
        assert_eq!(
            validate_card("5555555555554444", None, None, None, now)
                .unwrap()
                .brand,
            "mastercard"
        );
    }
}
