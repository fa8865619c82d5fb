//! Creator insights (issue 13): what each arm of an offer earns, net of refunds and of the costs the
//! creator names, per buyer and per visitor, with 95 % intervals and the difference against a
//! control arm. Pure: no I/O, no clock; the server feeds it rows or `GROUP BY` sums from SQLite, the
//! benchmark feeds it synthetic data.
//!
//! # Definitions
//!
//! - **Arm** ([`Arm`]): the holdout (shown the product checkout alone: no bump, upsell, downsell or
//!   exit offer), the base offer (no variant applied), or one A/B variant. A visit is assigned to
//!   one arm; its order carries the same arm.
//! - **Visitor**: a recorded visit ([`Visit`]). **Buyer**: a paid order ([`Order`]: its primary
//!   charge succeeded). The widget is anonymous, so someone who buys twice counts twice. Every
//!   buyer was a visitor: when fewer visits than orders were recorded (events lost to a content
//!   blocker, a visit that began the day before the range), the visitor count used as a
//!   denominator is raised to the buyer count, so no rate exceeds 1; [`Funnel::visits`] keeps the
//!   recorded number.
//! - **Gross**: what buyers paid for the product, bump, upsell and downsell lines, as charged (with
//!   VAT, like the receipt's `total`).
//! - **Fees**: per succeeded charge, `round_half_up(amount × fee_basis_points / 10 000) +
//!   fee_fixed_minor`. Processors bill per charge, so an order with an accepted upsell (two
//!   charges) pays two fixed fees. Fees are not given back on a refund (card processors keep them).
//! - **Support**: `support_per_refund_minor` for every refund.
//! - **Net** = gross − refunded − fees − support. **Net revenue per buyer** = net / buyers, **per
//!   visitor** = net / visitors.
//! - Rates: conversion = buyers / visitors; bump attach = orders with a bump / buyers; upsell
//!   (downsell) acceptance = visits that accepted / visits it was offered in; exit-offer acceptance
//!   = visits that accepted / visits it was shown in; exit-discount share = orders priced with the
//!   exit discount / buyers; refund rate = orders with any refund / buyers.
//!
//! **Headline net revenue per visitor.** Offers change who buys, not only what buyers pay: an exit
//! discount turns some leavers into cheaper buyers, a pushy bump may put some off. Net revenue per
//! buyer compares different populations of buyers, so an arm can win on it while earning less
//! (fewer, bigger baskets). Per visitor, every arm, the holdout included, is measured over the same
//! kind of population (everyone assigned to it), so its difference against the holdout is what the
//! offers are worth. Net revenue per buyer and conversion belong beside it as the explanation
//! (per visitor = conversion × per buyer).
//!
//! # Refunds count in the period of their order (cohort view)
//!
//! An order's lines, charges, refunds and costs all count on the order's [`Day`]: a report answers
//! "what did the buyers of this period end up paying". A refund issued weeks later lowers that
//! period's net revenue per buyer after the fact, which is the point: an offer that raises attach
//! rates but also refunds shows up as what it is. Recent periods therefore improve on no one's
//! behalf and get worse as refunds arrive; the refund window of the offer says how long to wait.
//!
//! # Currencies
//!
//! Figures are grouped per (offer, currency) and never summed or compared across currencies: no
//! exchange rate is right for a creator's books. Each group is one [`GroupReport`]. Costs are in
//! minor units of the currency they are applied to ([`CostSchedule`] can name them per currency).
//!
//! # Money and precision
//!
//! Sums are integer minor units: `i128` accumulators inside (a million orders cannot overflow
//! them), checked `i64` in the report (any overflow is [`MetricsError::Overflow`]). Means are `f64`
//! minor units (`4733.5` is €47.335): they are display figures whose intervals are far wider than
//! `f64` rounding (one part in 2^53); the exact sum stays next to them ([`Mean::sum`]). The display
//! layer formats through `Intl` or the server's formatter.
//!
//! # Intervals and the sample-size rule
//!
//! All intervals are 95 %. A proportion uses the Wilson score interval (it stays inside [0, 1] and
//! behaves near 0 and 1, where the plain normal interval fails); a difference of proportions uses
//! Newcombe's hybrid score interval (method 10, built from the two Wilson intervals). A mean uses
//! the normal approximation of the sample mean (central limit theorem; per-order values are
//! independent draws within an arm) with the sample variance and Student's t quantile for n − 1
//! degrees of freedom; a difference of means uses Welch's interval (unequal variances,
//! Welch–Satterthwaite degrees of freedom). Sums and sums of squares are exact integers, so the
//! variance has no cancellation error.
//!
//! Below [`MIN_OBSERVATIONS`] observations, or for a proportion below [`MIN_SUCCESSES`] successes
//! or [`MIN_FAILURES`] failures, an estimate is [`Estimate::NotEnoughData`], never a number. The
//! n ≥ 30 rule is where the t quantile comes within 5 % of the normal one and the sampling
//! distribution of a mean of moderately skewed order values is close to normal; the 5-and-5 rule is
//! the classic np ≥ 5, n(1 − p) ≥ 5 condition under which the normal approximations behind the
//! score and Newcombe intervals hold (Wilson itself stays valid below it, but the interval is too
//! wide to act on: 0 of 12 is "between 0 % and 24 %"). Net revenue per visitor is mostly zeros (the
//! visitors who did not buy), so it also needs [`MIN_SUCCESSES`] buyers: its spread is driven by
//! conversion, the same np ≥ 5 condition. The raw counts are always in the report, so a dashboard
//! can still say "0 of 12".
//!
//! # Two ways in, one computation
//!
//! [`Aggregates`] holds one [`DaySums`] per (offer, currency, arm, day): counts, integer sums and
//! sums of squares. It is a commutative monoid ([`Aggregates::merge`]), so rows can be folded in
//! any order or partition. The row-wise path ([`Aggregates::add_order`], [`Aggregates::add_visit`],
//! [`VisitFold`] over event rows) folds each row into that same struct; the SQL path hands it
//! `GROUP BY` results ([`Aggregates::add_sums`], see [`OrderSums`] for the SQL of each field). The
//! report ([`Aggregates::report`]) reads only the sums: the math exists once.

use core::cmp::Ordering;
use core::fmt;
use std::collections::BTreeMap;

use crate::money::{mul_div_round_half_up, Currency};
use crate::quote::LineKind;

mod aggregate;
mod estimate;
mod inputs;
mod report;
#[cfg(test)]
mod tests;

pub use aggregate::*;
pub use estimate::*;
pub use inputs::*;
pub use report::*;

/// An estimate needs at least this many observations (visitors, buyers, offers shown).
pub const MIN_OBSERVATIONS: u64 = 30;
/// A proportion needs at least this many successes (and net revenue per visitor this many buyers).
pub const MIN_SUCCESSES: u64 = 5;
/// A proportion needs at least this many failures.
pub const MIN_FAILURES: u64 = 5;
/// Longest report range, in days (ten years): the daily series has one point per day.
pub const MAX_RANGE_DAYS: u32 = 3_660;
/// Largest fee: 100 %.
pub const MAX_FEE_BASIS_POINTS: u32 = 10_000;

/// The two-sided 95 % quantile of the standard normal distribution.
const Z_95: f64 = 1.959_963_984_540_054;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why metrics could not be computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricsError {
    /// A sum does not fit its integer type.
    Overflow,
    /// A time maps to a day outside the `i32` day count.
    DayOutOfRange,
    /// The range's first day is after its last, or it is longer than [`MAX_RANGE_DAYS`].
    InvalidRange,
    /// A fee above 100 % or a negative cost.
    InvalidCosts,
    /// Aggregates computed with different costs cannot be merged.
    CostsDiffer,
    /// An order that cannot be a purchase as given.
    InvalidOrder {
        /// The order's id.
        order_id: String,
        /// What is wrong with it.
        problem: OrderProblem,
    },
    /// Event rows must come grouped by visit in ascending visit id (`ORDER BY visit_id, at`): this
    /// visit came after a larger id, so some of its rows may have been counted as another visit.
    EventRowsOutOfOrder {
        /// The visit id that came too late.
        visit_id: u64,
    },
    /// Rows of one visit disagree on offer, currency or arm.
    InconsistentVisit {
        /// The visit.
        visit_id: u64,
    },
    /// Pre-aggregated sums no set of rows could produce (a count above the count it is part of, a
    /// negative amount, a sum of squares below what the sum implies).
    InconsistentSums {
        /// The offending field.
        field: &'static str,
    },
}

/// What is wrong with an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderProblem {
    /// No product line: not a purchase (declined attempts must be left out).
    NoProductLine,
    /// Two lines of the same kind (an order has at most one of each).
    DuplicateLine(LineKind),
    /// A line or charge below zero.
    NegativeAmount,
    /// No succeeded charge.
    NoCharges,
    /// The succeeded charges do not add up to the lines (they must, see the receipt's `total`).
    ChargesDoNotMatchLines,
    /// A refund of a line the order does not have.
    RefundOfMissingLine(LineKind),
    /// Refunds of a line exceed what was paid for it.
    RefundExceedsLine(LineKind),
    /// A refund of zero or less.
    NonPositiveRefund,
    /// A refund dated before its order.
    RefundBeforeOrder,
}

impl fmt::Display for OrderProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderProblem::NoProductLine => f.write_str("no product line"),
            OrderProblem::DuplicateLine(kind) => write!(f, "two {} lines", kind.as_str()),
            OrderProblem::NegativeAmount => f.write_str("negative amount"),
            OrderProblem::NoCharges => f.write_str("no succeeded charge"),
            OrderProblem::ChargesDoNotMatchLines => f.write_str("charges do not add up to lines"),
            OrderProblem::RefundOfMissingLine(kind) => {
                write!(f, "refund of a missing {} line", kind.as_str())
            }
            OrderProblem::RefundExceedsLine(kind) => {
                write!(f, "refunds exceed the {} line", kind.as_str())
            }
            OrderProblem::NonPositiveRefund => f.write_str("refund of zero or less"),
            OrderProblem::RefundBeforeOrder => f.write_str("refund dated before the order"),
        }
    }
}

impl fmt::Display for MetricsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetricsError::Overflow => f.write_str("sum out of range"),
            MetricsError::DayOutOfRange => f.write_str("day out of range"),
            MetricsError::InvalidRange => f.write_str("invalid day range"),
            MetricsError::InvalidCosts => f.write_str("invalid costs"),
            MetricsError::CostsDiffer => f.write_str("aggregates use different costs"),
            MetricsError::InvalidOrder { order_id, problem } => {
                write!(f, "order {order_id}: {problem}")
            }
            MetricsError::EventRowsOutOfOrder { visit_id } => {
                write!(
                    f,
                    "event rows not grouped by ascending visit id at visit {visit_id}"
                )
            }
            MetricsError::InconsistentVisit { visit_id } => {
                write!(
                    f,
                    "visit {visit_id}: rows disagree on offer, currency or arm"
                )
            }
            MetricsError::InconsistentSums { field } => {
                write!(f, "pre-aggregated sums are inconsistent: {field}")
            }
        }
    }
}

impl std::error::Error for MetricsError {}

/// Checked addition for the accumulators, so every sum in this module overflows into an error.
trait Accumulate: Sized {
    fn accumulate(&mut self, other: Self) -> Result<(), MetricsError>;
}

macro_rules! accumulate_checked {
    ($($t:ty),*) => {$(
        impl Accumulate for $t {
            fn accumulate(&mut self, other: $t) -> Result<(), MetricsError> {
                *self = self.checked_add(other).ok_or(MetricsError::Overflow)?;
                Ok(())
            }
        }
    )*};
}
accumulate_checked!(u64, i64, i128, u128);

fn to_i64(value: i128) -> Result<i64, MetricsError> {
    i64::try_from(value).map_err(|_| MetricsError::Overflow)
}

fn ensure(holds: bool, field: &'static str) -> Result<(), MetricsError> {
    if holds {
        Ok(())
    } else {
        Err(MetricsError::InconsistentSums { field })
    }
}

// ---------------------------------------------------------------------------------------------
// Calendar, arms, costs
// ---------------------------------------------------------------------------------------------

/// A calendar day: days since 1970-01-01 in the creator's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i32);

impl Day {
    /// The day of Unix time `secs` for a creator `utc_offset_secs` east of UTC (fixed: daylight
    /// saving shifts are the caller's to apply).
    pub fn from_unix_seconds(secs: i64, utc_offset_secs: i32) -> Result<Day, MetricsError> {
        let local = secs
            .checked_add(i64::from(utc_offset_secs))
            .ok_or(MetricsError::DayOutOfRange)?;
        i32::try_from(local.div_euclid(86_400))
            .map(Day)
            .map_err(|_| MetricsError::DayOutOfRange)
    }
}

/// Days `first..=last`, at most [`MAX_RANGE_DAYS`] long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    first: Day,
    last: Day,
}

impl DayRange {
    /// The range `first..=last`; [`MetricsError::InvalidRange`] when empty or too long.
    pub fn new(first: Day, last: Day) -> Result<DayRange, MetricsError> {
        let len = i64::from(last.0) - i64::from(first.0) + 1;
        if len < 1 || len > i64::from(MAX_RANGE_DAYS) {
            return Err(MetricsError::InvalidRange);
        }
        Ok(DayRange { first, last })
    }

    /// First day (included).
    pub fn first(&self) -> Day {
        self.first
    }

    /// Last day (included).
    pub fn last(&self) -> Day {
        self.last
    }

    /// Whether `day` is in the range.
    pub fn contains(&self, day: Day) -> bool {
        self.first <= day && day <= self.last
    }

    /// Every day of the range, in order.
    pub fn days(&self) -> impl Iterator<Item = Day> {
        (self.first.0..=self.last.0).map(Day)
    }
}

/// Which arm of the experiment a visit or order belongs to. Orders: holdout, base, then variants
/// by id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arm {
    /// Shown the product checkout alone (no bump, upsell, downsell or exit offer): what the offers
    /// are worth is measured against it.
    Holdout,
    /// The offer as configured, without a variant.
    Base,
    /// The A/B variant with this id.
    Variant(String),
}

impl Arm {
    /// The arm of a non-holdout order or visit with this variant (the receipt's `variant`).
    pub fn from_variant(variant: Option<&str>) -> Arm {
        variant.map_or(Arm::Base, |id| Arm::Variant(id.to_owned()))
    }
}

impl fmt::Display for Arm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arm::Holdout => f.write_str("holdout"),
            Arm::Base => f.write_str("base"),
            Arm::Variant(id) => write!(f, "variant {id}"),
        }
    }
}

/// What the creator pays per charge and per refund, in minor units of the order's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Costs {
    /// Payment fee on each charge, in hundredths of a percent (290 = 2.9 %).
    pub fee_basis_points: u32,
    /// Fixed payment fee per charge.
    pub fee_fixed_minor: i64,
    /// What handling one refund costs.
    pub support_per_refund_minor: i64,
}

impl Costs {
    /// Checks the fee is at most 100 % and the amounts are not negative.
    pub fn validate(&self) -> Result<(), MetricsError> {
        let valid = self.fee_basis_points <= MAX_FEE_BASIS_POINTS
            && self.fee_fixed_minor >= 0
            && self.support_per_refund_minor >= 0;
        if valid {
            Ok(())
        } else {
            Err(MetricsError::InvalidCosts)
        }
    }

    /// The fee on one charge of `amount`: the percentage rounded half up, plus the fixed part.
    pub fn charge_fee(&self, amount: i64) -> Result<i64, MetricsError> {
        let percentage = mul_div_round_half_up(amount, i64::from(self.fee_basis_points), 10_000)
            .map_err(|_| MetricsError::Overflow)?;
        percentage
            .checked_add(self.fee_fixed_minor)
            .ok_or(MetricsError::Overflow)
    }
}

/// Costs per currency: a default, and overrides for currencies where the processor bills
/// differently (a fixed fee of 25 is €0.25 but ¥25).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostSchedule {
    default: Costs,
    /// Sorted by currency code, one entry per currency, so equal schedules compare equal.
    overrides: Vec<(Currency, Costs)>,
}

impl CostSchedule {
    /// The same costs in every currency.
    pub fn uniform(costs: Costs) -> Result<CostSchedule, MetricsError> {
        costs.validate()?;
        Ok(CostSchedule {
            default: costs,
            overrides: Vec::new(),
        })
    }

    /// These costs for `currency` (replacing an earlier override).
    pub fn with_currency(
        mut self,
        currency: Currency,
        costs: Costs,
    ) -> Result<CostSchedule, MetricsError> {
        costs.validate()?;
        match self
            .overrides
            .binary_search_by(|(c, _)| c.code().cmp(currency.code()))
        {
            Ok(i) => self.overrides[i].1 = costs,
            Err(i) => self.overrides.insert(i, (currency, costs)),
        }
        Ok(self)
    }

    /// The costs that apply to orders in `currency`.
    pub fn costs_for(&self, currency: Currency) -> Costs {
        self.overrides
            .iter()
            .find(|(c, _)| *c == currency)
            .map_or(self.default, |(_, costs)| *costs)
    }
}
