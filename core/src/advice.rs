//! Advice for creators: offer settings that are valid but likely to cost sales. The widget prints
//! these to the console as warnings; they never block a checkout.

use core::fmt;

use crate::offer::OfferConfig;

/// Order bumps convert best at 10–30 % of the main price.
pub const BUMP_PERCENT_RANGE: (i64, i64) = (10, 30);
/// An upsell above half of what the shopper just paid reads as a second purchase, not an add-on.
pub const UPSELL_MAX_PERCENT_OF_CART: i64 = 50;

/// One piece of advice, naming the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub field: &'static str,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// `part` as a whole percentage of `whole` (rounded down), without overflow.
fn percent(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        return 0;
    }
    (i128::from(part) * 100 / i128::from(whole)) as i64
}

/// Warnings for a valid offer (run it through `OfferConfig::validate` first).
pub fn warnings(offer: &OfferConfig) -> Vec<Warning> {
    let mut out = Vec::new();
    let product = offer.product.price;
    if let Some(bump) = &offer.bump {
        let share = percent(bump.price, product);
        let (low, high) = BUMP_PERCENT_RANGE;
        if !(low..=high).contains(&share) {
            out.push(Warning {
                field: "bump.price",
                message: format!(
                    "is {share} % of the product price; order bumps work best at {low}–{high} %"
                ),
            });
        }
    }
    if let Some(upsell) = &offer.upsell {
        let cart = product.saturating_add(offer.bump.as_ref().map_or(0, |b| b.price));
        let share = percent(upsell.price, cart);
        if share > UPSELL_MAX_PERCENT_OF_CART {
            out.push(Warning {
                field: "upsell.price",
                message: format!(
                    "is {share} % of the cart; one-click upsells work best at up to {UPSELL_MAX_PERCENT_OF_CART} %"
                ),
            });
        }
    }
    out.extend(crate::copy_budget::warnings(offer));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offer::demo_offer;

    #[test]
    fn the_demo_offer_needs_no_advice() {
        assert_eq!(warnings(&demo_offer()), vec![]);
    }

    #[test]
    fn a_bump_outside_ten_to_thirty_percent_is_flagged() {
        let mut offer = demo_offer();
        offer.bump.as_mut().unwrap().price = 400; // 8 % of 49.00
        assert_eq!(warnings(&offer)[0].field, "bump.price");
        offer.bump.as_mut().unwrap().price = 1_500; // 30.6 %: rounds down to 30, still fine
        assert!(warnings(&offer).is_empty());
        offer.bump.as_mut().unwrap().price = 1_600;
        assert_eq!(warnings(&offer)[0].field, "bump.price");
    }

    #[test]
    fn an_upsell_over_half_the_cart_is_flagged() {
        let mut offer = demo_offer();
        offer.upsell.as_mut().unwrap().price = 2_900; // of 49.00 + 9.00 = 50 %
        assert!(warnings(&offer).is_empty());
        offer.upsell.as_mut().unwrap().price = 3_000;
        let advice = warnings(&offer);
        assert_eq!(advice[0].field, "upsell.price");
        assert!(advice[0].to_string().starts_with("upsell.price: is 51 %"));
    }

    #[test]
    fn copy_over_the_three_second_budget_is_flagged() {
        let mut offer = demo_offer();
        offer.upsell.as_mut().unwrap().headline =
            "Get your portfolio reviewed by me, personally, in a video".into();
        let advice = warnings(&offer);
        assert_eq!(advice.len(), 1);
        assert_eq!(advice[0].field, "upsell.headline");
        assert!(advice[0].message.contains("a 3-second skim fits 22"));
        offer.downsell.as_mut().unwrap().deliverable =
            "The 25-point checklist and the worksheet that I use myself for every single review I do."
                .into();
        let fields: Vec<_> = warnings(&offer).iter().map(|w| w.field).collect();
        assert_eq!(fields, ["upsell.headline", "downsell.headline"]);
    }
}
