//! The Pay button's state machine. It decides when a new payment attempt may start (and so when a
//! new `Idempotency-Key` is minted) and how every backend outcome moves the checkout on, so that a
//! double click, a timeout or a lost response can never become a second charge.
//!
//! ```text
//! Idle ──pay──▶ Submitting ──paid──────────────▶ Paid
//!  ▲              │  ├─requires_action──▶ Authenticating ──▶ (confirm) ──▶ …
//!  │              │  ├─processing───────▶ Processing ──(poll)──▶ …
//!  │              │  └─lost/timeout/409─▶ Checking ──(replay same key)──▶ …
//!  └──pay (new key)── Declined ◀─declined─┘
//! ```
//! Only `Idle` and `Declined` accept a new attempt; every other state ignores the Pay button.

/// Where a payment attempt stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payment {
    /// Nothing sent yet.
    Idle,
    /// Tokenizing and creating the order with `key`.
    Submitting { key: String },
    /// The provider wants 3-D Secure: the shopper is in the challenge at `url`.
    Authenticating {
        key: String,
        order_id: String,
        url: String,
    },
    /// The provider accepted the payment but has not settled it; poll the order.
    Processing { key: String, order_id: String },
    /// The outcome is unknown (timeout, lost response, request still running): ask again with the
    /// same key. `attempts` counts the reconciliation requests made so far.
    Checking { key: String, attempts: u32 },
    /// Declined or failed before any charge; the shopper may try again (with a new key).
    Declined { code: String, message: String },
    /// Paid: the receipt follows.
    Paid { order_id: String },
}

/// What the backend (or the network) said about an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Paid {
        order_id: String,
    },
    RequiresAction {
        order_id: String,
        url: String,
    },
    Processing {
        order_id: String,
    },
    Declined {
        code: String,
        message: String,
    },
    /// No usable response: timeout, connection lost, 5xx, or 409 (the first request with this key
    /// is still running). The charge may or may not have happened.
    Unknown,
    /// The request was refused before any charge (4xx validation error, tokenizer failure).
    Rejected {
        code: String,
        message: String,
    },
}

/// Delays between reconciliation requests, in ms; after the last the widget keeps "checking" and
/// offers a manual "Check again" (still with the same key).
pub const RECONCILE_BACKOFF_MS: [u32; 6] = [500, 1_000, 2_000, 4_000, 8_000, 8_000];

/// How often a `processing` order is polled, in ms.
pub const PROCESSING_POLL_MS: u32 = 1_000;

impl Payment {
    /// Whether the Pay button starts a new attempt now.
    pub fn accepts_new_attempt(&self) -> bool {
        matches!(self, Payment::Idle | Payment::Declined { .. })
    }

    /// Whether a request for this purchase is in flight or its outcome is not known yet.
    pub fn is_busy(&self) -> bool {
        !matches!(
            self,
            Payment::Idle | Payment::Declined { .. } | Payment::Paid { .. }
        )
    }

    /// Starts a new attempt with a freshly minted `key`, if one may start; otherwise changes
    /// nothing and returns `false` (the second click of a double click lands here).
    pub fn start(&mut self, key: String) -> bool {
        if !self.accepts_new_attempt() {
            return false;
        }
        *self = Payment::Submitting { key };
        true
    }

    /// The idempotency key of the attempt in progress: every retry and reconciliation reuses it.
    pub fn key(&self) -> Option<&str> {
        match self {
            Payment::Submitting { key }
            | Payment::Authenticating { key, .. }
            | Payment::Processing { key, .. }
            | Payment::Checking { key, .. } => Some(key),
            _ => None,
        }
    }

    /// Applies the backend's answer for the attempt in progress. Outcomes that arrive when no
    /// attempt is in progress (a late response after `Paid`) change nothing.
    pub fn apply(&mut self, outcome: Outcome) {
        let Some(key) = self.key().map(str::to_owned) else {
            return;
        };
        *self = match outcome {
            Outcome::Paid { order_id } => Payment::Paid { order_id },
            Outcome::RequiresAction { order_id, url } => {
                Payment::Authenticating { key, order_id, url }
            }
            Outcome::Processing { order_id } => Payment::Processing { key, order_id },
            Outcome::Declined { code, message } | Outcome::Rejected { code, message } => {
                Payment::Declined { code, message }
            }
            Outcome::Unknown => match self {
                // A processing or authenticating order is known: keep polling it by id.
                Payment::Processing { .. } | Payment::Authenticating { .. } => return,
                Payment::Checking { attempts, .. } => Payment::Checking {
                    key,
                    attempts: attempts.saturating_add(1),
                },
                _ => Payment::Checking { key, attempts: 0 },
            },
        };
    }

    /// How long to wait before asking again, or `None` when nothing is pending or the automatic
    /// retries are used up (then the shopper can press "Check again").
    pub fn retry_delay_ms(&self) -> Option<u32> {
        match self {
            Payment::Processing { .. } => Some(PROCESSING_POLL_MS),
            Payment::Checking { attempts, .. } => {
                RECONCILE_BACKOFF_MS.get(*attempts as usize).copied()
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submitting() -> Payment {
        let mut payment = Payment::Idle;
        assert!(payment.start("key-1".into()));
        payment
    }

    #[test]
    fn a_second_click_while_submitting_does_nothing() {
        let mut payment = submitting();
        for _ in 0..10 {
            assert!(!payment.start("key-2".into()));
        }
        assert_eq!(payment.key(), Some("key-1"));
    }

    #[test]
    fn paid_is_final() {
        let mut payment = submitting();
        payment.apply(Outcome::Paid {
            order_id: "o1".into(),
        });
        assert_eq!(
            payment,
            Payment::Paid {
                order_id: "o1".into()
            }
        );
        assert!(!payment.start("key-2".into()));
        payment.apply(Outcome::Declined {
            code: "late".into(),
            message: "late".into(),
        });
        assert_eq!(
            payment,
            Payment::Paid {
                order_id: "o1".into()
            }
        );
    }

    #[test]
    fn a_decline_allows_a_new_attempt_with_a_new_key() {
        let mut payment = submitting();
        payment.apply(Outcome::Declined {
            code: "card_declined".into(),
            message: "Your card was declined.".into(),
        });
        assert!(!payment.is_busy());
        assert_eq!(payment.key(), None);
        assert!(payment.start("key-2".into()));
        assert_eq!(payment.key(), Some("key-2"));
    }

    #[test]
    fn lost_responses_are_reconciled_with_the_same_key_and_backoff() {
        let mut payment = submitting();
        let mut delays = Vec::new();
        for _ in 0..8 {
            payment.apply(Outcome::Unknown);
            assert_eq!(payment.key(), Some("key-1"));
            assert!(
                !payment.start("key-2".into()),
                "no new attempt while the outcome is unknown"
            );
            delays.push(payment.retry_delay_ms());
        }
        assert_eq!(delays[..6], RECONCILE_BACKOFF_MS.map(Some));
        assert_eq!(delays[6..], [None, None]);
        payment.apply(Outcome::Paid {
            order_id: "o1".into(),
        });
        assert_eq!(
            payment,
            Payment::Paid {
                order_id: "o1".into()
            }
        );
    }

    #[test]
    fn processing_polls_until_settled_and_survives_a_failed_poll() {
        let mut payment = submitting();
        payment.apply(Outcome::Processing {
            order_id: "o1".into(),
        });
        assert_eq!(payment.retry_delay_ms(), Some(PROCESSING_POLL_MS));
        payment.apply(Outcome::Unknown);
        assert!(matches!(payment, Payment::Processing { .. }));
        payment.apply(Outcome::Processing {
            order_id: "o1".into(),
        });
        payment.apply(Outcome::Paid {
            order_id: "o1".into(),
        });
        assert_eq!(
            payment,
            Payment::Paid {
                order_id: "o1".into()
            }
        );
    }

    #[test]
    fn three_d_secure_then_confirm() {
        let mut payment = submitting();
        payment.apply(Outcome::RequiresAction {
            order_id: "o1".into(),
            url: "https://api/challenge/1".into(),
        });
        assert!(payment.is_busy());
        assert_eq!(payment.key(), Some("key-1"));
        payment.apply(Outcome::Declined {
            code: "authentication_failed".into(),
            message: "Authentication failed.".into(),
        });
        assert!(payment.accepts_new_attempt());
    }

    #[test]
    fn outcomes_without_an_attempt_are_ignored() {
        let mut payment = Payment::Idle;
        payment.apply(Outcome::Paid {
            order_id: "o1".into(),
        });
        assert_eq!(payment, Payment::Idle);
    }
}
