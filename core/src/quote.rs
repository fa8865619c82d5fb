//! Quotes: cart lines → priced lines, tax lines and a total that is always exactly the sum.
//!
//! Invariant (checked by [`Quote::check`] and property tests):
//! `total = Σ lines.amount + (exclusive ? Σ tax.amount : 0)`, and each tax line is the sum of the
//! per-line taxes of its rate. All arithmetic is checked; an overflow is an error.

use core::fmt;

use crate::money::{mul_div_round_half_up, Currency, MoneyError};
use crate::offer::ResolvedOffer;
use crate::tax::{TaxMode, TaxRule};

/// What a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum LineKind {
    /// The main product.
    Product,
    /// The order bump.
    Bump,
    /// The post-purchase upsell.
    Upsell,
    /// The downsell.
    Downsell,
}

impl LineKind {
    /// `"product"`, `"bump"`, `"upsell"`, `"downsell"`; also the line's id (one of each per order).
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Product => "product",
            LineKind::Bump => "bump",
            LineKind::Upsell => "upsell",
            LineKind::Downsell => "downsell",
        }
    }

    /// Inverse of [`LineKind::as_str`].
    pub fn parse(s: &str) -> Option<LineKind> {
        match s {
            "product" => Some(LineKind::Product),
            "bump" => Some(LineKind::Bump),
            "upsell" => Some(LineKind::Upsell),
            "downsell" => Some(LineKind::Downsell),
            _ => None,
        }
    }
}

/// A line to price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    /// Kind (and id) of the line.
    pub kind: LineKind,
    /// Receipt text.
    pub label: String,
    /// Price in minor units (≥ 0).
    pub amount: i64,
}

/// A priced line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct QuoteLine {
    /// Line id: `product`, `bump`, `upsell` or `downsell`.
    pub id: String,
    /// Line kind.
    pub kind: LineKind,
    /// Receipt text.
    pub label: String,
    /// Price in minor units, as displayed (VAT included when the tax mode is inclusive).
    pub amount: i64,
    /// VAT carried by this line (contained in `amount` when inclusive, added when exclusive).
    pub tax_amount: i64,
}

impl QuoteLine {
    /// What this line costs the buyer: `amount`, plus `tax_amount` when tax is exclusive.
    pub fn charged(&self, mode: TaxMode) -> Result<i64, MoneyError> {
        match mode {
            TaxMode::Inclusive => Ok(self.amount),
            TaxMode::Exclusive => self
                .amount
                .checked_add(self.tax_amount)
                .ok_or(MoneyError::Overflow),
        }
    }
}

/// A tax line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TaxLine {
    /// E.g. `"VAT 21% (NL)"`.
    pub label: String,
    /// Rate in basis points.
    pub rate_bp: u32,
    /// Sum of the per-line taxes, minor units.
    pub amount: i64,
    /// `true` when contained in the line amounts (inclusive pricing), `false` when added on top.
    pub included: bool,
}

/// Priced lines, tax and total.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Quote {
    /// The lines.
    pub lines: Vec<QuoteLine>,
    /// Tax lines (empty when no VAT applies).
    pub tax: Vec<TaxLine>,
    /// What the buyer pays, minor units.
    pub total: i64,
}

/// Why a quote could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteError {
    /// A line had a negative amount.
    NegativeAmount,
    /// Arithmetic overflowed.
    Overflow,
}

impl fmt::Display for QuoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuoteError::NegativeAmount => "negative line amount",
            QuoteError::Overflow => "amount out of range",
        })
    }
}

impl From<MoneyError> for QuoteError {
    fn from(_: MoneyError) -> QuoteError {
        QuoteError::Overflow
    }
}

/// Prices `lines` for a buyer under `rule`, with per-line half-up tax (see `tax.rs`).
pub fn build_quote(lines: &[CartLine], mode: TaxMode, rule: &TaxRule) -> Result<Quote, QuoteError> {
    let mut out = Vec::with_capacity(lines.len());
    let mut tax_sum: i64 = 0;
    let mut line_sum: i64 = 0;
    for l in lines {
        if l.amount < 0 {
            return Err(QuoteError::NegativeAmount);
        }
        let tax = rule.tax_for(l.amount, mode)?;
        tax_sum = tax_sum.checked_add(tax).ok_or(QuoteError::Overflow)?;
        line_sum = line_sum.checked_add(l.amount).ok_or(QuoteError::Overflow)?;
        out.push(QuoteLine {
            id: l.kind.as_str().to_string(),
            kind: l.kind,
            label: l.label.clone(),
            amount: l.amount,
            tax_amount: tax,
        });
    }
    let tax = if rule.rate_bp == 0 {
        Vec::new()
    } else {
        vec![TaxLine {
            label: rule.label(),
            rate_bp: rule.rate_bp,
            amount: tax_sum,
            included: mode == TaxMode::Inclusive,
        }]
    };
    let total = match mode {
        TaxMode::Inclusive => line_sum,
        TaxMode::Exclusive => line_sum.checked_add(tax_sum).ok_or(QuoteError::Overflow)?,
    };
    Ok(Quote {
        lines: out,
        tax,
        total,
    })
}

impl Quote {
    /// `true` when the total is exactly the sum of the lines (plus added tax) and each tax line
    /// is the sum of the per-line taxes.
    pub fn check(&self, mode: TaxMode) -> bool {
        let lines: Option<i64> = self
            .lines
            .iter()
            .try_fold(0i64, |a, l| a.checked_add(l.amount));
        let line_tax: Option<i64> = self
            .lines
            .iter()
            .try_fold(0i64, |a, l| a.checked_add(l.tax_amount));
        let tax: Option<i64> = self
            .tax
            .iter()
            .try_fold(0i64, |a, t| a.checked_add(t.amount));
        let (Some(lines), Some(line_tax), Some(tax)) = (lines, line_tax, tax) else {
            return false;
        };
        let tax_ok = if self.tax.is_empty() {
            line_tax == 0
        } else {
            tax == line_tax
        };
        let expected = match mode {
            TaxMode::Inclusive => Some(lines),
            TaxMode::Exclusive => lines.checked_add(tax),
        };
        tax_ok && expected == Some(self.total)
    }
}

/// Quotes with and without the order bump, returned together so the widget can toggle the bump in
/// the same frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotePair {
    /// Currency of every amount.
    pub currency: Currency,
    /// Tax mode.
    pub tax_mode: TaxMode,
    /// The cart without the bump.
    pub without_bump: Quote,
    /// The cart with the bump (equal to `without_bump` when the offer has no bump).
    pub with_bump: Quote,
}

/// Product price after the exit-offer discount (rounded half up in minor units).
pub fn discounted_price(price: i64, percent: u8) -> Result<i64, MoneyError> {
    mul_div_round_half_up(price, 100 - i64::from(percent.min(100)), 100)
}

/// The product line (with the exit discount applied when `exit_offer`).
pub fn product_line(offer: &ResolvedOffer, exit_offer: bool) -> Result<CartLine, QuoteError> {
    let (amount, label) = match (exit_offer, offer.exit_discount_percent) {
        (true, Some(p)) => (
            discounted_price(offer.product.price, p)?,
            format!("{} ({p}% off)", offer.product.label),
        ),
        _ => (offer.product.price, offer.product.label.clone()),
    };
    Ok(CartLine {
        kind: LineKind::Product,
        label,
        amount,
    })
}

/// Both quotes for `offer` sold to a buyer under `rule`.
pub fn quote_pair(
    offer: &ResolvedOffer,
    rule: &TaxRule,
    exit_offer: bool,
) -> Result<QuotePair, QuoteError> {
    let product = product_line(offer, exit_offer)?;
    let without = build_quote(core::slice::from_ref(&product), offer.tax_mode, rule)?;
    let with = match &offer.bump {
        Some(b) => build_quote(
            &[
                product,
                CartLine {
                    kind: LineKind::Bump,
                    label: b.label.clone(),
                    amount: b.price,
                },
            ],
            offer.tax_mode,
            rule,
        )?,
        None => without.clone(),
    };
    Ok(QuotePair {
        currency: offer.currency,
        tax_mode: offer.tax_mode,
        without_bump: without,
        with_bump: with,
    })
}

/// The single line of an add-on charge (`Upsell` or `Downsell`), or `None` if the offer has none.
pub fn addon_line(offer: &ResolvedOffer, kind: LineKind) -> Option<CartLine> {
    let item = match kind {
        LineKind::Upsell => offer.upsell.as_ref(),
        LineKind::Downsell => offer.downsell.as_ref(),
        _ => None,
    }?;
    Some(CartLine {
        kind,
        label: item.label.clone(),
        amount: item.price,
    })
}

/// The quote of an add-on charge: its one line priced for the buyer's tax rule. `total` is what
/// the card is charged (the widget's "Add for …" and the server's charge), `None` if the offer has
/// no such add-on.
pub fn addon_quote(
    offer: &ResolvedOffer,
    kind: LineKind,
    rule: &TaxRule,
) -> Result<Option<Quote>, QuoteError> {
    addon_line(offer, kind)
        .map(|line| build_quote(&[line], offer.tax_mode, rule))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offer::{demo_offer, demo_offer_jpy, demo_offer_kwd};
    use proptest::prelude::*;

    #[test]
    fn addon_quote_is_the_charge_with_tax_on_top_when_exclusive() {
        let mut offer = demo_offer();
        offer.variants.clear();
        let de = TaxRule::for_country("DE").unwrap();
        let inclusive = addon_quote(&offer.resolve(None).unwrap(), LineKind::Upsell, &de)
            .unwrap()
            .unwrap();
        assert_eq!(inclusive.total, 2700);
        assert_eq!(inclusive.lines.len(), 1);
        offer.tax_mode = TaxMode::Exclusive;
        let exclusive = addon_quote(&offer.resolve(None).unwrap(), LineKind::Downsell, &de)
            .unwrap()
            .unwrap();
        assert_eq!(exclusive.total, 1200 + 228);
        assert!(exclusive.check(TaxMode::Exclusive));
        let jpy = demo_offer_jpy().resolve(None).unwrap();
        assert_eq!(addon_quote(&jpy, LineKind::Downsell, &de), Ok(None));
    }

    #[test]
    fn demo_quote_nl() {
        let o = demo_offer().resolve(None).unwrap();
        let nl = TaxRule::for_country("NL").unwrap();
        let q = quote_pair(&o, &nl, false).unwrap();
        assert_eq!(q.without_bump.total, 4900);
        assert_eq!(q.with_bump.total, 5800);
        // 4900*21/121 = 850.41 → 850 ; 900*21/121 = 156.19 → 156
        assert_eq!(q.with_bump.tax[0].amount, 850 + 156);
        assert!(q.with_bump.tax[0].included);
        assert!(q.with_bump.check(TaxMode::Inclusive));
        let x = quote_pair(&o, &nl, true).unwrap();
        assert_eq!(x.without_bump.total, 4410);
        assert_eq!(
            x.without_bump.lines[0].label,
            "Lightroom Presets Masterclass (10% off)"
        );
    }

    #[test]
    fn exclusive_jpy_and_kwd() {
        let de = TaxRule::for_country("DE").unwrap();
        let j = quote_pair(&demo_offer_jpy().resolve(None).unwrap(), &de, false).unwrap();
        // 4900 * 0.19 = 931 ; 980*0.19 = 186.2 → 186
        assert_eq!(j.without_bump.total, 4900 + 931);
        assert_eq!(j.with_bump.total, 4900 + 931 + 980 + 186);
        let k = quote_pair(
            &demo_offer_kwd().resolve(None).unwrap(),
            &TaxRule::for_country("KW").unwrap(),
            false,
        )
        .unwrap();
        assert_eq!(k.with_bump.total, 15_250 + 2_125);
        assert!(k.with_bump.tax.is_empty());
    }

    #[test]
    fn overflow_is_an_error() {
        let de = TaxRule::for_country("DE").unwrap();
        let lines = [
            CartLine {
                kind: LineKind::Product,
                label: "a".into(),
                amount: i64::MAX,
            },
            CartLine {
                kind: LineKind::Bump,
                label: "b".into(),
                amount: 1,
            },
        ];
        assert_eq!(
            build_quote(&lines, TaxMode::Inclusive, &de),
            Err(QuoteError::Overflow)
        );
        assert_eq!(
            build_quote(&lines[..1], TaxMode::Exclusive, &de),
            Err(QuoteError::Overflow)
        );
        let neg = [CartLine {
            kind: LineKind::Product,
            label: "a".into(),
            amount: -1,
        }];
        assert_eq!(
            build_quote(&neg, TaxMode::Inclusive, &de),
            Err(QuoteError::NegativeAmount)
        );
    }

    fn country() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["DE", "NL", "FI", "HU", "LU", "US", "JP", "KW", "GB"])
    }

    fn mode() -> impl Strategy<Value = TaxMode> {
        prop_oneof![Just(TaxMode::Inclusive), Just(TaxMode::Exclusive)]
    }

    fn kind() -> impl Strategy<Value = LineKind> {
        prop_oneof![
            Just(LineKind::Product),
            Just(LineKind::Bump),
            Just(LineKind::Upsell),
            Just(LineKind::Downsell)
        ]
    }

    proptest! {
        #[test]
        fn total_is_sum_of_lines(amounts in prop::collection::vec((kind(), 0i64..=crate::money::MAX_PRICE_MINOR), 0..6), c in country(), m in mode()) {
            let rule = TaxRule::for_country(c).unwrap();
            let lines: Vec<CartLine> = amounts.iter().map(|(k, a)| CartLine { kind: *k, label: "x".into(), amount: *a }).collect();
            let q = build_quote(&lines, m, &rule).unwrap();
            prop_assert!(q.check(m));
            let sum: i64 = lines.iter().map(|l| l.amount).sum();
            let tax: i64 = q.lines.iter().map(|l| l.tax_amount).sum();
            let charged: i64 = q.lines.iter().map(|l| l.charged(m).unwrap()).sum();
            prop_assert_eq!(charged, q.total);
            match m {
                TaxMode::Inclusive => prop_assert_eq!(q.total, sum),
                TaxMode::Exclusive => prop_assert_eq!(q.total, sum + tax),
            }
            for l in &q.lines {
                prop_assert!(l.tax_amount >= 0 && l.tax_amount <= l.amount);
            }
        }

        #[test]
        fn never_panics_on_any_amount(a in any::<i64>(), b in any::<i64>(), c in country(), m in mode()) {
            let rule = TaxRule::for_country(c).unwrap();
            let lines = [CartLine { kind: LineKind::Product, label: "a".into(), amount: a }, CartLine { kind: LineKind::Bump, label: "b".into(), amount: b }];
            if let Ok(q) = build_quote(&lines, m, &rule) {
                prop_assert!(q.check(m));
            }
        }

        #[test]
        fn pair_for_every_exponent(price in 2i64..=1_000_000, bump_frac in 1i64..100, c in country(), cur in prop::sample::select(vec!["EUR", "JPY", "KWD", "USD", "GBP"]), m in mode(), exit in any::<bool>()) {
            let mut o = demo_offer();
            o.currency = cur.into();
            o.tax_mode = m;
            o.product.price = price;
            if let Some(b) = o.bump.as_mut() { b.price = (price * bump_frac / 100).max(1).min(price - 1); }
            o.variants.clear();
            let r = o.resolve(None).unwrap();
            let rule = TaxRule::for_country(c).unwrap();
            let q = quote_pair(&r, &rule, exit).unwrap();
            prop_assert!(q.without_bump.check(m));
            prop_assert!(q.with_bump.check(m));
            prop_assert!(q.with_bump.total > q.without_bump.total);
            prop_assert_eq!(q.with_bump.lines[0].clone(), q.without_bump.lines[0].clone());
        }
    }
}
