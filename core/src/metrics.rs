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

mod estimate;
mod report;
#[cfg(test)]
mod tests;

pub use estimate::*;
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

// ---------------------------------------------------------------------------------------------
// Inputs: orders and visits
// ---------------------------------------------------------------------------------------------

/// One value per line kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ByLine<T> {
    /// The product.
    pub product: T,
    /// The order bump.
    pub bump: T,
    /// The upsell.
    pub upsell: T,
    /// The downsell.
    pub downsell: T,
}

impl<T: Copy> ByLine<T> {
    /// The value for `kind`.
    pub fn get(&self, kind: LineKind) -> T {
        match kind {
            LineKind::Product => self.product,
            LineKind::Bump => self.bump,
            LineKind::Upsell => self.upsell,
            LineKind::Downsell => self.downsell,
        }
    }

    /// The value for `kind`, to change.
    pub fn get_mut(&mut self, kind: LineKind) -> &mut T {
        match kind {
            LineKind::Product => &mut self.product,
            LineKind::Bump => &mut self.bump,
            LineKind::Upsell => &mut self.upsell,
            LineKind::Downsell => &mut self.downsell,
        }
    }

    /// The values in line order.
    pub fn values(&self) -> [T; 4] {
        [self.product, self.bump, self.upsell, self.downsell]
    }

    fn map<U>(&self, f: impl Fn(T) -> U) -> ByLine<U> {
        ByLine {
            product: f(self.product),
            bump: f(self.bump),
            upsell: f(self.upsell),
            downsell: f(self.downsell),
        }
    }
}

impl ByLine<i128> {
    fn total(&self) -> Result<i128, MetricsError> {
        let mut total = 0_i128;
        for value in self.values() {
            total.accumulate(value)?;
        }
        Ok(total)
    }

    fn accumulate(&mut self, other: &ByLine<i128>) -> Result<(), MetricsError> {
        self.product.accumulate(other.product)?;
        self.bump.accumulate(other.bump)?;
        self.upsell.accumulate(other.upsell)?;
        self.downsell.accumulate(other.downsell)
    }
}

/// A paid line of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// Which line.
    pub kind: LineKind,
    /// What the buyer paid for it, minor units (with VAT added on top when prices exclude it: what
    /// its charge collected for it).
    pub amount: i64,
}

/// A refund of (part of) one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refund {
    /// The line refunded.
    pub line: LineKind,
    /// Amount returned, minor units.
    pub amount: i64,
    /// When it was issued (not before the order; it counts on the order's day all the same).
    pub day: Day,
}

/// A paid order (its primary charge succeeded), as storage-independent input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Order id (named in errors).
    pub order_id: String,
    /// Offer id.
    pub offer: String,
    /// Arm of the visit that placed it.
    pub arm: Arm,
    /// Currency of every amount of the order.
    pub currency: Currency,
    /// The day it was placed: the day its lines, charges, refunds and costs count on.
    pub day: Day,
    /// Priced with the exit-offer discount.
    pub exit_discount: bool,
    /// Paid lines, at most one per kind, with a product line.
    pub lines: Vec<Line>,
    /// Amount of each succeeded charge (declined attempts left out); they add up to the lines.
    pub charges: Vec<i64>,
    /// Refunds issued so far.
    pub refunds: Vec<Refund>,
}

/// One order's money, checked: what [`Aggregates::add_order`] folds, and what a drill-down shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderFigures {
    /// Which lines the order has.
    pub has_line: ByLine<bool>,
    /// Paid per line (0 for a line it does not have).
    pub gross: ByLine<i64>,
    /// Refunded per line.
    pub refunded: ByLine<i64>,
    /// Payment fees over its charges.
    pub fees: i64,
    /// Support cost of its refunds.
    pub support: i64,
    /// Number of succeeded charges.
    pub charges: u64,
    /// Number of refunds.
    pub refunds: u64,
}

impl OrderFigures {
    /// Paid over all lines.
    pub fn gross_total(&self) -> Result<i64, MetricsError> {
        sum_i64(self.gross.values())
    }

    /// Refunded over all lines.
    pub fn refunded_total(&self) -> Result<i64, MetricsError> {
        sum_i64(self.refunded.values())
    }

    /// Gross − refunded − fees − support.
    pub fn net(&self) -> Result<i64, MetricsError> {
        self.gross_total()?
            .checked_sub(self.refunded_total()?)
            .and_then(|n| n.checked_sub(self.fees))
            .and_then(|n| n.checked_sub(self.support))
            .ok_or(MetricsError::Overflow)
    }
}

fn sum_i64(values: impl IntoIterator<Item = i64>) -> Result<i64, MetricsError> {
    values.into_iter().try_fold(0_i64, |total, value| {
        total.checked_add(value).ok_or(MetricsError::Overflow)
    })
}

/// Checks `order` and works out its money with `costs` (fees per charge, support per refund).
pub fn order_figures(order: &Order, costs: &Costs) -> Result<OrderFigures, MetricsError> {
    let invalid = |problem| MetricsError::InvalidOrder {
        order_id: order.order_id.clone(),
        problem,
    };
    let mut paid = ByLine::<Option<i64>>::default();
    for line in &order.lines {
        if line.amount < 0 {
            return Err(invalid(OrderProblem::NegativeAmount));
        }
        let slot = paid.get_mut(line.kind);
        if slot.is_some() {
            return Err(invalid(OrderProblem::DuplicateLine(line.kind)));
        }
        *slot = Some(line.amount);
    }
    if paid.product.is_none() {
        return Err(invalid(OrderProblem::NoProductLine));
    }
    let gross = paid.map(|amount| amount.unwrap_or(0));

    let mut refunded = ByLine::<i64>::default();
    for refund in &order.refunds {
        if refund.amount <= 0 {
            return Err(invalid(OrderProblem::NonPositiveRefund));
        }
        if refund.day < order.day {
            return Err(invalid(OrderProblem::RefundBeforeOrder));
        }
        let Some(line_amount) = paid.get(refund.line) else {
            return Err(invalid(OrderProblem::RefundOfMissingLine(refund.line)));
        };
        let so_far = refunded.get_mut(refund.line);
        *so_far = so_far
            .checked_add(refund.amount)
            .ok_or(MetricsError::Overflow)?;
        if *so_far > line_amount {
            return Err(invalid(OrderProblem::RefundExceedsLine(refund.line)));
        }
    }

    if order.charges.is_empty() {
        return Err(invalid(OrderProblem::NoCharges));
    }
    if order.charges.iter().any(|amount| *amount < 0) {
        return Err(invalid(OrderProblem::NegativeAmount));
    }
    if sum_i64(order.charges.iter().copied())? != sum_i64(gross.values())? {
        return Err(invalid(OrderProblem::ChargesDoNotMatchLines));
    }
    let fees = order
        .charges
        .iter()
        .map(|amount| costs.charge_fee(*amount))
        .try_fold(0_i64, |total, fee| {
            total.checked_add(fee?).ok_or(MetricsError::Overflow)
        })?;
    let refund_count = i64::try_from(order.refunds.len()).map_err(|_| MetricsError::Overflow)?;
    let support = costs
        .support_per_refund_minor
        .checked_mul(refund_count)
        .ok_or(MetricsError::Overflow)?;
    Ok(OrderFigures {
        has_line: paid.map(|amount| amount.is_some()),
        gross,
        refunded,
        fees,
        support,
        charges: order.charges.len() as u64,
        refunds: order.refunds.len() as u64,
    })
}

/// A funnel step: one of the widget's events (`momentum:<name>`), or `checkout_viewed` for the
/// checkout being rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// The checkout was rendered.
    CheckoutViewed,
    /// First interaction with the checkout.
    CheckoutInitiated,
    /// The order bump was ticked or unticked.
    BumpToggled,
    /// The primary payment was confirmed.
    Paid,
    /// The upsell card was shown.
    UpsellOffered,
    /// The upsell was charged.
    UpsellAccepted,
    /// "No thanks" to the upsell.
    UpsellDeclined,
    /// The upsell charge failed.
    UpsellFailed,
    /// The downsell card was shown.
    DownsellOffered,
    /// The downsell was charged.
    DownsellAccepted,
    /// "No thanks" to the downsell.
    DownsellDeclined,
    /// The downsell charge failed.
    DownsellFailed,
    /// The exit offer was shown.
    ExitOfferShown,
    /// The exit offer was taken (the cart re-priced with the discount).
    ExitOfferAccepted,
    /// "No thanks" to the exit offer.
    ExitOfferDeclined,
    /// The receipt was shown.
    ReceiptShown,
}

const STEP_COUNT: usize = 16;

impl Step {
    /// Every step, in funnel order.
    pub const ALL: [Step; STEP_COUNT] = [
        Step::CheckoutViewed,
        Step::CheckoutInitiated,
        Step::BumpToggled,
        Step::Paid,
        Step::UpsellOffered,
        Step::UpsellAccepted,
        Step::UpsellDeclined,
        Step::UpsellFailed,
        Step::DownsellOffered,
        Step::DownsellAccepted,
        Step::DownsellDeclined,
        Step::DownsellFailed,
        Step::ExitOfferShown,
        Step::ExitOfferAccepted,
        Step::ExitOfferDeclined,
        Step::ReceiptShown,
    ];

    /// The event name without the `momentum:` prefix (`"upsell_offered"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Step::CheckoutViewed => "checkout_viewed",
            Step::CheckoutInitiated => "checkout_initiated",
            Step::BumpToggled => "bump_toggled",
            Step::Paid => "paid",
            Step::UpsellOffered => "upsell_offered",
            Step::UpsellAccepted => "upsell_accepted",
            Step::UpsellDeclined => "upsell_declined",
            Step::UpsellFailed => "upsell_failed",
            Step::DownsellOffered => "downsell_offered",
            Step::DownsellAccepted => "downsell_accepted",
            Step::DownsellDeclined => "downsell_declined",
            Step::DownsellFailed => "downsell_failed",
            Step::ExitOfferShown => "exit_offer_shown",
            Step::ExitOfferAccepted => "exit_offer_accepted",
            Step::ExitOfferDeclined => "exit_offer_declined",
            Step::ReceiptShown => "receipt_shown",
        }
    }

    /// Inverse of [`Step::as_str`], with or without the `momentum:` prefix.
    pub fn parse(name: &str) -> Option<Step> {
        let name = name.strip_prefix("momentum:").unwrap_or(name);
        Step::ALL.into_iter().find(|step| step.as_str() == name)
    }

    /// The step this one cannot happen without (a declined upsell was offered; a downsell is
    /// offered only after the upsell was declined). Recording a step records its parents too, so
    /// a lost event never makes a funnel bar longer than the one before it.
    pub fn parent(self) -> Option<Step> {
        match self {
            Step::CheckoutViewed => None,
            Step::CheckoutInitiated | Step::ExitOfferShown => Some(Step::CheckoutViewed),
            Step::BumpToggled | Step::Paid => Some(Step::CheckoutInitiated),
            Step::UpsellOffered | Step::ReceiptShown => Some(Step::Paid),
            Step::UpsellAccepted | Step::UpsellDeclined | Step::UpsellFailed => {
                Some(Step::UpsellOffered)
            }
            Step::DownsellOffered => Some(Step::UpsellDeclined),
            Step::DownsellAccepted | Step::DownsellDeclined | Step::DownsellFailed => {
                Some(Step::DownsellOffered)
            }
            Step::ExitOfferAccepted | Step::ExitOfferDeclined => Some(Step::ExitOfferShown),
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// The steps a visit reached (each with the steps it implies, see [`Step::parent`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepSet(u32);

impl StepSet {
    /// Records `step` and the steps it implies.
    pub fn insert(&mut self, step: Step) {
        let mut next = Some(step);
        while let Some(step) = next {
            self.0 |= step.bit();
            next = step.parent();
        }
    }

    /// The set with `step` recorded.
    pub fn with(mut self, step: Step) -> StepSet {
        self.insert(step);
        self
    }

    /// Whether the visit reached `step`.
    pub fn contains(&self, step: Step) -> bool {
        self.0 & step.bit() != 0
    }

    /// The steps reached, in funnel order.
    pub fn iter(&self) -> impl Iterator<Item = Step> + '_ {
        Step::ALL.into_iter().filter(|step| self.contains(*step))
    }
}

impl FromIterator<Step> for StepSet {
    fn from_iter<I: IntoIterator<Item = Step>>(steps: I) -> StepSet {
        let mut set = StepSet::default();
        for step in steps {
            set.insert(step);
        }
        set
    }
}

/// One anonymous visit, summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    /// Visit id (named in errors of the event-row path).
    pub visit_id: u64,
    /// Offer id.
    pub offer: String,
    /// Arm the visit was assigned to.
    pub arm: Arm,
    /// Currency the checkout showed.
    pub currency: Currency,
    /// The day the visit began.
    pub day: Day,
    /// Steps reached.
    pub steps: StepSet,
    /// The bump's state after the visit's last `bump_toggled` (it is never pre-ticked).
    pub bump_checked: bool,
}

/// A funnel event as the widget emits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunnelEvent {
    /// The checkout was rendered.
    CheckoutViewed,
    /// First interaction.
    CheckoutInitiated,
    /// The bump checkbox changed; `checked` is its new state.
    BumpToggled {
        /// State after the toggle.
        checked: bool,
    },
    /// Paid.
    Paid,
    /// Upsell shown.
    UpsellOffered,
    /// Upsell charged.
    UpsellAccepted,
    /// Upsell declined.
    UpsellDeclined,
    /// Upsell charge failed.
    UpsellFailed,
    /// Downsell shown.
    DownsellOffered,
    /// Downsell charged.
    DownsellAccepted,
    /// Downsell declined.
    DownsellDeclined,
    /// Downsell charge failed.
    DownsellFailed,
    /// Exit offer shown.
    ExitOfferShown,
    /// Exit offer taken.
    ExitOfferAccepted,
    /// Exit offer declined.
    ExitOfferDeclined,
    /// Receipt shown.
    ReceiptShown,
}

impl FunnelEvent {
    /// The funnel step the event marks.
    pub fn step(self) -> Step {
        match self {
            FunnelEvent::CheckoutViewed => Step::CheckoutViewed,
            FunnelEvent::CheckoutInitiated => Step::CheckoutInitiated,
            FunnelEvent::BumpToggled { .. } => Step::BumpToggled,
            FunnelEvent::Paid => Step::Paid,
            FunnelEvent::UpsellOffered => Step::UpsellOffered,
            FunnelEvent::UpsellAccepted => Step::UpsellAccepted,
            FunnelEvent::UpsellDeclined => Step::UpsellDeclined,
            FunnelEvent::UpsellFailed => Step::UpsellFailed,
            FunnelEvent::DownsellOffered => Step::DownsellOffered,
            FunnelEvent::DownsellAccepted => Step::DownsellAccepted,
            FunnelEvent::DownsellDeclined => Step::DownsellDeclined,
            FunnelEvent::DownsellFailed => Step::DownsellFailed,
            FunnelEvent::ExitOfferShown => Step::ExitOfferShown,
            FunnelEvent::ExitOfferAccepted => Step::ExitOfferAccepted,
            FunnelEvent::ExitOfferDeclined => Step::ExitOfferDeclined,
            FunnelEvent::ReceiptShown => Step::ReceiptShown,
        }
    }
}

/// One stored funnel event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// The visit it belongs to.
    pub visit_id: u64,
    /// Offer id.
    pub offer: String,
    /// Arm of the visit.
    pub arm: Arm,
    /// Currency the checkout showed.
    pub currency: Currency,
    /// Day of the event.
    pub day: Day,
    /// What happened.
    pub event: FunnelEvent,
}

// ---------------------------------------------------------------------------------------------
// The aggregate: sums per (offer, currency, arm, day)
// ---------------------------------------------------------------------------------------------

/// Visits that reached each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepCounts([u64; STEP_COUNT]);

impl StepCounts {
    /// Visits that reached `step`.
    pub fn get(&self, step: Step) -> u64 {
        self.0[step as usize]
    }

    /// Sets the count of `step` (the SQL path).
    pub fn set(&mut self, step: Step, visits: u64) {
        self.0[step as usize] = visits;
    }
}

/// Visit counts of one arm on one day.
///
/// SQL: `visits = COUNT(*)` over visits; `steps[s] = SUM(reached s or any step implying it)`;
/// `bump_checked = SUM(final bump state)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VisitCounts {
    /// Visits recorded.
    pub visits: u64,
    /// Visits that reached each step.
    pub steps: StepCounts,
    /// Visits whose bump was ticked at the end.
    pub bump_checked: u64,
}

impl VisitCounts {
    fn accumulate(&mut self, other: &VisitCounts) -> Result<(), MetricsError> {
        self.visits.accumulate(other.visits)?;
        for (mine, theirs) in self.steps.0.iter_mut().zip(other.steps.0) {
            mine.accumulate(theirs)?;
        }
        self.bump_checked.accumulate(other.bump_checked)
    }

    fn of_visit(steps: StepSet, bump_checked: bool) -> VisitCounts {
        let mut counts = VisitCounts {
            visits: 1,
            bump_checked: u64::from(bump_checked),
            ..VisitCounts::default()
        };
        for step in steps.iter() {
            counts.steps.set(step, 1);
        }
        counts
    }

    fn check(&self) -> Result<(), MetricsError> {
        for step in Step::ALL {
            let parent_count = step.parent().map_or(self.visits, |p| self.steps.get(p));
            ensure(self.steps.get(step) <= parent_count, step.as_str())?;
        }
        ensure(
            self.bump_checked <= self.steps.get(Step::BumpToggled),
            "bump_checked",
        )
    }
}

/// Order sums of one arm on one day (orders counted on the day they were placed, refunds
/// included whenever issued). Money in minor units of the group's currency, computed with the
/// [`Aggregates`]' costs.
///
/// The SQL that feeds it groups per-order values by arm and day, e.g.:
///
/// ```sql
/// WITH per_order AS (
///   SELECT o.arm, o.day, o.exit_discount,
///          o.product, o.bump, o.upsell, o.downsell,             -- paid per line, 0 if absent
///          o.has_bump, o.has_upsell, o.has_downsell,
///          (SELECT COUNT(*) FROM charges c WHERE c.order_id = o.id) AS charges,
///          (SELECT COALESCE(SUM((c.amount * :fee_bp + 5000) / 10000 + :fee_fixed), 0)
///             FROM charges c WHERE c.order_id = o.id) AS fees,  -- half-up, per charge
///          (SELECT COUNT(*) FROM refunds r WHERE r.order_id = o.id) AS refunds,
///          ... refunded per line, support = refunds * :support_per_refund,
///          gross = product + bump + upsell + downsell,
///          net = gross - refunded - fees - support
///   FROM orders o WHERE o.offer = :offer AND o.day BETWEEN :first AND :last)
/// SELECT arm, day, COUNT(*) AS buyers, SUM(has_bump) AS with_bump, ...,
///        SUM(refunds > 0) AS with_refund, SUM(charges), SUM(refunds),
///        SUM(product), ..., SUM(fees), SUM(support),
///        SUM(gross * gross) AS gross_squares, SUM(net * net) AS net_squares
/// FROM per_order GROUP BY arm, day
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrderSums {
    /// Paid orders.
    pub buyers: u64,
    /// Orders with a bump line.
    pub with_bump: u64,
    /// Orders with an upsell line.
    pub with_upsell: u64,
    /// Orders with a downsell line.
    pub with_downsell: u64,
    /// Orders priced with the exit-offer discount.
    pub with_exit_discount: u64,
    /// Orders with at least one refund.
    pub with_refund: u64,
    /// Succeeded charges.
    pub charges: u64,
    /// Refunds.
    pub refunds: u64,
    /// Paid per line kind.
    pub gross: ByLine<i128>,
    /// Refunded per line kind.
    pub refunded: ByLine<i128>,
    /// Payment fees.
    pub fees: i128,
    /// Support costs.
    pub support: i128,
    /// Σ over orders of (order gross)².
    pub gross_squares: u128,
    /// Σ over orders of (order net)².
    pub net_squares: u128,
}

impl OrderSums {
    fn of_order(figures: &OrderFigures, exit_discount: bool) -> Result<OrderSums, MetricsError> {
        let square = |value: i64| u128::from(value.unsigned_abs()).pow(2);
        Ok(OrderSums {
            buyers: 1,
            with_bump: u64::from(figures.has_line.bump),
            with_upsell: u64::from(figures.has_line.upsell),
            with_downsell: u64::from(figures.has_line.downsell),
            with_exit_discount: u64::from(exit_discount),
            with_refund: u64::from(figures.refunds > 0),
            charges: figures.charges,
            refunds: figures.refunds,
            gross: figures.gross.map(i128::from),
            refunded: figures.refunded.map(i128::from),
            fees: i128::from(figures.fees),
            support: i128::from(figures.support),
            gross_squares: square(figures.gross_total()?),
            net_squares: square(figures.net()?),
        })
    }

    fn accumulate(&mut self, other: &OrderSums) -> Result<(), MetricsError> {
        self.buyers.accumulate(other.buyers)?;
        self.with_bump.accumulate(other.with_bump)?;
        self.with_upsell.accumulate(other.with_upsell)?;
        self.with_downsell.accumulate(other.with_downsell)?;
        self.with_exit_discount
            .accumulate(other.with_exit_discount)?;
        self.with_refund.accumulate(other.with_refund)?;
        self.charges.accumulate(other.charges)?;
        self.refunds.accumulate(other.refunds)?;
        self.gross.accumulate(&other.gross)?;
        self.refunded.accumulate(&other.refunded)?;
        self.fees.accumulate(other.fees)?;
        self.support.accumulate(other.support)?;
        self.gross_squares.accumulate(other.gross_squares)?;
        self.net_squares.accumulate(other.net_squares)
    }

    /// Paid over all lines.
    pub fn gross_total(&self) -> Result<i128, MetricsError> {
        self.gross.total()
    }

    /// Refunded over all lines.
    pub fn refunded_total(&self) -> Result<i128, MetricsError> {
        self.refunded.total()
    }

    /// Gross − refunded − fees − support.
    pub fn net(&self) -> Result<i128, MetricsError> {
        self.gross_total()?
            .checked_sub(self.refunded_total()?)
            .and_then(|n| n.checked_sub(self.fees))
            .and_then(|n| n.checked_sub(self.support))
            .ok_or(MetricsError::Overflow)
    }

    fn check(&self) -> Result<(), MetricsError> {
        let buyers = self.buyers;
        ensure(self.with_bump <= buyers, "with_bump")?;
        ensure(self.with_upsell <= buyers, "with_upsell")?;
        ensure(self.with_downsell <= buyers, "with_downsell")?;
        ensure(self.with_exit_discount <= buyers, "with_exit_discount")?;
        ensure(self.with_refund <= buyers, "with_refund")?;
        ensure(self.with_refund <= self.refunds, "refunds")?;
        ensure(self.charges >= buyers, "charges")?;
        for (paid, refunded) in self.gross.values().into_iter().zip(self.refunded.values()) {
            ensure(paid >= 0, "gross")?;
            ensure((0..=paid).contains(&refunded), "refunded")?;
        }
        ensure(self.fees >= 0, "fees")?;
        ensure(self.support >= 0, "support")?;
        let consistent = |sum, squares| squares_cover_sum(buyers, sum, squares);
        ensure(
            consistent(self.gross_total()?, self.gross_squares),
            "gross_squares",
        )?;
        ensure(consistent(self.net()?, self.net_squares), "net_squares")
    }
}

/// Cauchy–Schwarz: n values summing to `sum` have Σ x² ≥ sum² / n, and none sum to anything but 0.
fn squares_cover_sum(n: u64, sum: i128, squares: u128) -> bool {
    if n == 0 {
        return sum == 0 && squares == 0;
    }
    let magnitude = sum.unsigned_abs();
    match (
        u128::from(n).checked_mul(squares),
        magnitude.checked_mul(magnitude),
    ) {
        (Some(n_squares), Some(sum_squared)) => n_squares >= sum_squared,
        (None, Some(_)) => true,
        (Some(_), None) => false,
        (None, None) => n as f64 * squares as f64 >= (magnitude as f64).powi(2) * (1.0 - 1e-12),
    }
}

/// Everything recorded for one arm on one day: the unit of aggregation (what a SQL `GROUP BY arm,
/// day` row carries). Adding them is commutative and associative, with `default()` as identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DaySums {
    /// The funnel.
    pub visits: VisitCounts,
    /// The money.
    pub orders: OrderSums,
}

impl DaySums {
    /// Adds `other` into `self`; on overflow `self` is unchanged.
    pub fn accumulate(&mut self, other: &DaySums) -> Result<(), MetricsError> {
        let mut sum = *self;
        sum.visits.accumulate(&other.visits)?;
        sum.orders.accumulate(&other.orders)?;
        *self = sum;
        Ok(())
    }

    /// Checks sums handed in from outside could come from rows (see [`MetricsError::InconsistentSums`]).
    pub fn check(&self) -> Result<(), MetricsError> {
        self.visits.check()?;
        self.orders.check()
    }
}

/// Which offer, currency and arm a cell belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SegmentKey {
    /// Offer id.
    pub offer: String,
    /// Currency.
    pub currency: Currency,
    /// Arm.
    pub arm: Arm,
}

impl SegmentKey {
    /// Order by offer, currency code, arm, against borrowed parts (no allocation per row).
    fn cmp_parts(&self, offer: &str, currency: Currency, arm: &Arm) -> Ordering {
        let by_currency = || {
            // Equal currencies are the common case; their codes are looked up only to order.
            if self.currency == currency {
                Ordering::Equal
            } else {
                self.currency.code().cmp(currency.code())
            }
        };
        self.offer
            .as_str()
            .cmp(offer)
            .then_with(by_currency)
            .then_with(|| self.arm.cmp(arm))
    }

    fn same_group(&self, other: &SegmentKey) -> bool {
        self.offer == other.offer && self.currency == other.currency
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    key: SegmentKey,
    days: BTreeMap<Day, DaySums>,
}

impl Segment {
    fn total_over(&self, range: &DayRange) -> Result<DaySums, MetricsError> {
        let mut total = DaySums::default();
        for sums in self.days.range(range.first..=range.last).map(|(_, s)| s) {
            total.accumulate(sums)?;
        }
        Ok(total)
    }
}

/// Sums per (offer, currency, arm, day), computed with one [`CostSchedule`]. Fold rows into it
/// ([`add_order`](Aggregates::add_order), [`add_visit`](Aggregates::add_visit), [`VisitFold`]),
/// hand it SQL sums ([`add_sums`](Aggregates::add_sums)), merge partial folds
/// ([`merge`](Aggregates::merge)), then ask for a [`report`](Aggregates::report).
///
/// Segments are kept sorted, so two aggregates of the same rows are equal whatever order or
/// partition the rows were folded in. Lookup is a binary search over the (few) segments and a
/// B-tree over days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregates {
    costs: CostSchedule,
    segments: Vec<Segment>,
}

impl Aggregates {
    /// Empty aggregates whose orders will be costed with `costs`.
    pub fn new(costs: CostSchedule) -> Aggregates {
        Aggregates {
            costs,
            segments: Vec::new(),
        }
    }

    /// The costs orders are folded with.
    pub fn costs(&self) -> &CostSchedule {
        &self.costs
    }

    /// Every cell, by offer, currency, arm and day.
    pub fn cells(&self) -> impl Iterator<Item = (&SegmentKey, Day, &DaySums)> {
        self.segments.iter().flat_map(|segment| {
            segment
                .days
                .iter()
                .map(move |(day, sums)| (&segment.key, *day, sums))
        })
    }

    fn segment_index(&mut self, offer: &str, currency: Currency, arm: &Arm) -> usize {
        match self
            .segments
            .binary_search_by(|s| s.key.cmp_parts(offer, currency, arm))
        {
            Ok(index) => index,
            Err(index) => {
                let key = SegmentKey {
                    offer: offer.to_owned(),
                    currency,
                    arm: arm.clone(),
                };
                self.segments.insert(
                    index,
                    Segment {
                        key,
                        days: BTreeMap::new(),
                    },
                );
                index
            }
        }
    }

    fn cell(&mut self, segment: usize, day: Day) -> &mut DaySums {
        self.segments[segment].days.entry(day).or_default()
    }

    fn add_at(&mut self, segment: usize, day: Day, sums: &DaySums) -> Result<(), MetricsError> {
        self.cell(segment, day).accumulate(sums)
    }

    /// Folds one paid order (checked, costed with this currency's costs). A refused order adds
    /// nothing (after an overflow its arm and day may be listed with zeros).
    pub fn add_order(&mut self, order: &Order) -> Result<(), MetricsError> {
        let costs = self.costs.costs_for(order.currency);
        let figures = order_figures(order, &costs)?;
        let sums = OrderSums::of_order(&figures, order.exit_discount)?;
        let segment = self.segment_index(&order.offer, order.currency, &order.arm);
        // Only the order half of the cell changes; a copy keeps it unchanged on overflow.
        let cell = self.cell(segment, order.day);
        let mut orders = cell.orders;
        orders.accumulate(&sums)?;
        cell.orders = orders;
        Ok(())
    }

    /// Folds one visit summary. A ticked bump counts as a toggle.
    pub fn add_visit(&mut self, visit: &Visit) -> Result<(), MetricsError> {
        let segment = self.segment_index(&visit.offer, visit.currency, &visit.arm);
        self.add_visit_at(segment, visit.day, visit.steps, visit.bump_checked)
    }

    fn add_visit_at(
        &mut self,
        segment: usize,
        day: Day,
        steps: StepSet,
        bump_checked: bool,
    ) -> Result<(), MetricsError> {
        let steps = if bump_checked {
            steps.with(Step::BumpToggled)
        } else {
            steps
        };
        let cell = self.cell(segment, day);
        let mut visits = cell.visits;
        visits.accumulate(&VisitCounts::of_visit(steps, bump_checked))?;
        cell.visits = visits;
        Ok(())
    }

    /// A fold over event rows grouped by visit; see [`VisitFold`].
    pub fn visit_fold(&mut self) -> VisitFold<'_> {
        VisitFold {
            aggregates: self,
            open: None,
        }
    }

    /// Folds a complete stream of event rows, grouped by ascending visit id (`ORDER BY visit_id,
    /// at`).
    pub fn add_event_rows<'r>(
        &mut self,
        rows: impl IntoIterator<Item = &'r EventRow>,
    ) -> Result<(), MetricsError> {
        let mut fold = self.visit_fold();
        for row in rows {
            fold.push(row)?;
        }
        fold.finish()
    }

    /// Adds pre-aggregated sums for one arm on one day (a SQL `GROUP BY arm, day` row), computed
    /// with this aggregate's costs. They are checked first. An all-zero `sums` lists the arm in
    /// reports even without data.
    pub fn add_sums(
        &mut self,
        key: &SegmentKey,
        day: Day,
        sums: &DaySums,
    ) -> Result<(), MetricsError> {
        sums.check()?;
        let segment = self.segment_index(&key.offer, key.currency, &key.arm);
        self.add_at(segment, day, sums)
    }

    /// Adds `other` into `self` (the monoid operation). Refused when the costs differ; on overflow
    /// `self` is left partly merged.
    pub fn merge(&mut self, other: &Aggregates) -> Result<(), MetricsError> {
        if self.costs != other.costs {
            return Err(MetricsError::CostsDiffer);
        }
        for theirs in &other.segments {
            let key = &theirs.key;
            let segment = self.segment_index(&key.offer, key.currency, &key.arm);
            for (day, sums) in &theirs.days {
                self.add_at(segment, *day, sums)?;
            }
        }
        Ok(())
    }

    /// The report over `query.range`, one group per (offer, currency), arms compared against
    /// `query.control`.
    pub fn report(&self, query: &ReportQuery) -> Result<Report, MetricsError> {
        let groups = self
            .segments
            .chunk_by(|a, b| a.key.same_group(&b.key))
            .map(|segments| self.group_report(segments, query))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Report {
            range: query.range,
            control: query.control.clone(),
            groups,
        })
    }

    fn group_report(
        &self,
        segments: &[Segment],
        query: &ReportQuery,
    ) -> Result<GroupReport, MetricsError> {
        let totals_by_arm = segments
            .iter()
            .map(|segment| segment.total_over(&query.range))
            .collect::<Result<Vec<_>, _>>()?;
        let control = segments
            .iter()
            .zip(&totals_by_arm)
            .find(|(segment, _)| segment.key.arm == query.control)
            .map(|(_, totals)| ArmInputs::of(totals))
            .transpose()?;
        let mut group_totals = DaySums::default();
        let mut arms = Vec::with_capacity(segments.len());
        for (segment, totals) in segments.iter().zip(&totals_by_arm) {
            group_totals.accumulate(totals)?;
            let against = match &control {
                _ if segment.key.arm == query.control => Against::Itself,
                Some(control) => Against::Control(control),
                None => Against::Nothing,
            };
            arms.push(arm_report(segment, totals, &against, &query.range)?);
        }
        // Every segment of a group shares its offer and currency (chunk_by on the sorted keys).
        let key = &segments[0].key;
        Ok(GroupReport {
            offer: key.offer.clone(),
            currency: key.currency,
            costs: self.costs.costs_for(key.currency),
            totals: Totals::of(&group_totals)?,
            arms,
        })
    }
}

/// Folds event rows into visits, then the visits into [`Aggregates`]. Rows must come grouped by
/// visit in ascending visit id, and in time order within a visit (`ORDER BY visit_id, at`): a
/// visit is closed when the next id arrives, its bump state is its last toggle, and its day is
/// its first row's. Call [`finish`](VisitFold::finish) to fold the last visit.
#[must_use = "call finish() to fold the last visit"]
pub struct VisitFold<'a> {
    aggregates: &'a mut Aggregates,
    open: Option<OpenVisit>,
}

struct OpenVisit {
    visit_id: u64,
    /// Index of the visit's segment: valid while the visit is open, since segments are only
    /// inserted when a visit opens.
    segment: usize,
    day: Day,
    steps: StepSet,
    bump_checked: bool,
}

impl OpenVisit {
    fn record(&mut self, event: FunnelEvent) {
        self.steps.insert(event.step());
        if let FunnelEvent::BumpToggled { checked } = event {
            self.bump_checked = checked;
        }
    }
}

impl VisitFold<'_> {
    /// Adds one row.
    pub fn push(&mut self, row: &EventRow) -> Result<(), MetricsError> {
        if let Some(open) = &mut self.open {
            if row.visit_id == open.visit_id {
                let key = &self.aggregates.segments[open.segment].key;
                if key.cmp_parts(&row.offer, row.currency, &row.arm) != Ordering::Equal {
                    return Err(MetricsError::InconsistentVisit {
                        visit_id: row.visit_id,
                    });
                }
                open.record(row.event);
                return Ok(());
            }
            if row.visit_id < open.visit_id {
                return Err(MetricsError::EventRowsOutOfOrder {
                    visit_id: row.visit_id,
                });
            }
        }
        self.close()?;
        let segment = self
            .aggregates
            .segment_index(&row.offer, row.currency, &row.arm);
        let mut open = OpenVisit {
            visit_id: row.visit_id,
            segment,
            day: row.day,
            steps: StepSet::default(),
            bump_checked: false,
        };
        open.record(row.event);
        self.open = Some(open);
        Ok(())
    }

    fn close(&mut self) -> Result<(), MetricsError> {
        match self.open.take() {
            Some(open) => {
                self.aggregates
                    .add_visit_at(open.segment, open.day, open.steps, open.bump_checked)
            }
            None => Ok(()),
        }
    }

    /// Folds the last open visit.
    pub fn finish(mut self) -> Result<(), MetricsError> {
        self.close()
    }
}
