//! After the primary payment: which add-on card the shopper sees next, and when a card's Accept
//! button may react.
//!
//! The order's `offers` answers (from the backend, after paying, after each answer, or after a
//! reload) decide the stage, so a reloaded page resumes exactly where the order stands and never
//! shows an offer already answered:
//!
//! ```text
//! paid ──▶ upsell open? ──yes──▶ Offer(Upsell) ──accept──▶ receipt
//!                 │                    └──no thanks──▶ downsell open? ──▶ Offer(Downsell) ──▶ receipt
//!                 └──no──▶ receipt
//! ```

use crate::api::{AddonKind, OfferAnswers, OfferState};
use crate::offer::OfferConfig;
use crate::quote::addon_quote;
use crate::tax::TaxRule;

/// How long an add-on card must have been on screen before Accept reacts, in ms. A tap that was
/// meant for the Pay button, or a click a page tricked the shopper into, lands in this window;
/// browsers guard their own payment and permission prompts the same way.
pub const ARM_DELAY_MS: f64 = 500.0;

/// What follows the primary payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Show this add-on's card.
    Offer(AddonKind),
    /// This add-on's charge is in flight or awaiting 3-D Secure (seen after a reload): settle it
    /// through the order status before showing anything else.
    Settling(AddonKind),
    /// Show the receipt.
    Receipt,
}

/// The stage for an order whose post-purchase answers are `answers`.
pub fn stage(answers: &OfferAnswers) -> Stage {
    let kinds = [
        (AddonKind::Upsell, answers.upsell),
        (AddonKind::Downsell, answers.downsell),
    ];
    for (kind, state) in kinds {
        match state {
            OfferState::Pending => return Stage::Settling(kind),
            OfferState::Open => return Stage::Offer(kind),
            _ => {}
        }
    }
    Stage::Receipt
}

/// Whether a card shown at `shown_at_ms` is armed at `now_ms` (same clock, e.g.
/// `performance.now()`).
pub fn armed(shown_at_ms: f64, now_ms: f64) -> bool {
    now_ms - shown_at_ms >= ARM_DELAY_MS
}

/// What an add-on card says: its copy with the variant's overrides applied, and the amount the
/// saved card is charged (the add-on's price, plus VAT when the offer prices exclusive of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// Benefit headline.
    pub headline: String,
    /// The concrete deliverable.
    pub deliverable: String,
    /// Charged now, in minor units: exactly what the backend charges.
    pub amount: i64,
}

/// The card for `kind` on an order from `offer`/`variant` by a buyer in `country`; `None` when the
/// offer has no such add-on (or can't be priced).
pub fn card(
    offer: &OfferConfig,
    variant: Option<&str>,
    kind: AddonKind,
    country: &str,
) -> Option<Card> {
    let config = match kind {
        AddonKind::Upsell => offer.upsell.as_ref(),
        AddonKind::Downsell => offer.downsell.as_ref(),
    }?;
    let headline = match kind {
        AddonKind::Upsell => offer
            .variants
            .iter()
            .find(|v| Some(v.id.as_str()) == variant)
            .and_then(|v| v.upsell_headline.clone()),
        AddonKind::Downsell => None,
    }
    .unwrap_or_else(|| config.headline.clone());
    let resolved = offer.resolve(variant).ok()?;
    let rule = TaxRule::for_country(country).ok()?;
    let quote = addon_quote(&resolved, kind.line_kind(), &rule).ok()??;
    Some(Card {
        headline,
        deliverable: config.deliverable.clone(),
        amount: quote.total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offer::demo_offer;
    use crate::tax::TaxMode;
    use OfferState::*;

    #[test]
    fn a_card_shows_the_variant_copy_and_the_exact_charge() {
        let mut offer = demo_offer();
        let b = offer.variants.iter_mut().find(|v| v.id == "b").unwrap();
        b.upsell_headline = Some("Your portfolio, reviewed".into());
        b.upsell_price = Some(1900);
        let plain = card(&offer, Some("a"), AddonKind::Upsell, "DE").unwrap();
        assert_eq!(plain.headline, offer.upsell.as_ref().unwrap().headline);
        assert_eq!(plain.amount, 2700);
        let with_b = card(&offer, Some("b"), AddonKind::Upsell, "DE").unwrap();
        assert_eq!(with_b.headline, "Your portfolio, reviewed");
        assert_eq!(with_b.amount, 1900);
        offer.tax_mode = TaxMode::Exclusive;
        let downsell = card(&offer, None, AddonKind::Downsell, "DE").unwrap();
        assert_eq!(downsell.amount, 1200 + 228, "19 % VAT added on top");
        assert_eq!(
            card(&offer, None, AddonKind::Downsell, "US")
                .unwrap()
                .amount,
            1200
        );
        offer.downsell = None;
        assert_eq!(card(&offer, None, AddonKind::Downsell, "DE"), None);
        assert_eq!(card(&offer, Some("zz"), AddonKind::Upsell, "DE"), None);
    }

    fn answers(upsell: OfferState, downsell: OfferState) -> OfferAnswers {
        OfferAnswers {
            bump: false,
            upsell,
            downsell,
        }
    }

    #[test]
    fn a_fresh_paid_order_offers_the_upsell() {
        assert_eq!(
            stage(&answers(Open, Locked)),
            Stage::Offer(AddonKind::Upsell)
        );
    }

    #[test]
    fn no_thanks_to_the_upsell_offers_the_downsell() {
        assert_eq!(
            stage(&answers(Declined, Open)),
            Stage::Offer(AddonKind::Downsell)
        );
    }

    #[test]
    fn answered_offers_are_never_shown_again() {
        for (upsell, downsell) in [
            (Accepted, Closed),
            (Failed, Closed),
            (Declined, Declined),
            (Declined, Accepted),
            (Declined, Failed),
            (NotAvailable, NotAvailable),
            (Declined, NotAvailable),
        ] {
            assert_eq!(stage(&answers(upsell, downsell)), Stage::Receipt);
        }
    }

    #[test]
    fn an_unpaid_order_shows_no_card() {
        assert_eq!(stage(&answers(Locked, Locked)), Stage::Receipt);
    }

    #[test]
    fn a_charge_in_flight_is_settled_first() {
        assert_eq!(
            stage(&answers(Pending, Locked)),
            Stage::Settling(AddonKind::Upsell)
        );
        assert_eq!(
            stage(&answers(Declined, Pending)),
            Stage::Settling(AddonKind::Downsell)
        );
    }

    #[test]
    fn accept_is_armed_after_half_a_second() {
        assert!(!armed(1_000.0, 1_000.0));
        assert!(!armed(1_000.0, 1_499.9));
        assert!(armed(1_000.0, 1_500.0));
    }
}
