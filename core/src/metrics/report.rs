//! The report: per (offer, currency) group, per arm, every figure with its estimate and its
//! difference against the control, and the daily series.

use super::*;

/// What to report on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    /// Days of visits and orders (refunds follow their order).
    pub range: DayRange,
    /// The arm every other arm is compared with: usually [`Arm::Holdout`], or the variant that
    /// runs the current offer.
    pub control: Arm,
}

/// How an arm compares with the control.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Comparison {
    /// This arm is the control.
    IsControl,
    /// The control arm has no data in this offer and currency.
    NoControl,
    /// This arm minus the control, with its 95 % interval.
    Difference(Estimate),
}

/// A proportion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Numerator.
    pub successes: u64,
    /// Denominator.
    pub trials: u64,
    /// Wilson score interval.
    pub estimate: Estimate,
    /// Newcombe hybrid score interval of the difference.
    pub vs_control: Comparison,
}

/// A mean in minor units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mean {
    /// Observations (buyers or visitors).
    pub n: u64,
    /// Exact sum, minor units.
    pub sum: i64,
    /// Mean with its t interval.
    pub estimate: Estimate,
    /// Welch interval of the difference.
    pub vs_control: Comparison,
}

/// Money of an arm or group over the range, minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoneyTotals {
    /// What buyers paid.
    pub gross: i64,
    /// What was refunded (for orders of the range, whenever issued).
    pub refunded: i64,
    /// Payment fees.
    pub fees: i64,
    /// Support cost of refunds.
    pub support: i64,
    /// Gross − refunded − fees − support.
    pub net: i64,
    /// Paid per line kind.
    pub gross_by_line: ByLine<i64>,
    /// Refunded per line kind: which offer the refunds come from.
    pub refunded_by_line: ByLine<i64>,
}

impl MoneyTotals {
    pub(super) fn of(orders: &OrderSums) -> Result<MoneyTotals, MetricsError> {
        let by_line = |sums: &ByLine<i128>| -> Result<ByLine<i64>, MetricsError> {
            Ok(ByLine {
                product: to_i64(sums.product)?,
                bump: to_i64(sums.bump)?,
                upsell: to_i64(sums.upsell)?,
                downsell: to_i64(sums.downsell)?,
            })
        };
        Ok(MoneyTotals {
            gross: to_i64(orders.gross_total()?)?,
            refunded: to_i64(orders.refunded_total()?)?,
            fees: to_i64(orders.fees)?,
            support: to_i64(orders.support)?,
            net: to_i64(orders.net()?)?,
            gross_by_line: by_line(&orders.gross)?,
            refunded_by_line: by_line(&orders.refunded)?,
        })
    }
}

/// Funnel counts of an arm (for bars).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Funnel {
    /// Visits recorded.
    pub visits: u64,
    /// Visitors used as the denominator: `max(visits, buyers)` (every buyer was a visitor).
    pub visitors: u64,
    /// Visits that reached each step.
    pub steps: StepCounts,
    /// Visits that ended with the bump ticked.
    pub bump_checked: u64,
    /// Paid orders.
    pub buyers: u64,
    /// Orders with a bump line.
    pub with_bump: u64,
    /// Orders with an upsell line.
    pub with_upsell: u64,
    /// Orders with a downsell line.
    pub with_downsell: u64,
    /// Orders with the exit discount.
    pub with_exit_discount: u64,
    /// Orders with a refund.
    pub with_refund: u64,
}

impl Funnel {
    pub(super) fn of(sums: &DaySums) -> Funnel {
        Funnel {
            visits: sums.visits.visits,
            visitors: visitors(sums),
            steps: sums.visits.steps,
            bump_checked: sums.visits.bump_checked,
            buyers: sums.orders.buyers,
            with_bump: sums.orders.with_bump,
            with_upsell: sums.orders.with_upsell,
            with_downsell: sums.orders.with_downsell,
            with_exit_discount: sums.orders.with_exit_discount,
            with_refund: sums.orders.with_refund,
        }
    }
}

pub(super) fn visitors(sums: &DaySums) -> u64 {
    sums.visits.visits.max(sums.orders.buyers)
}

/// One day of an arm (for a line chart).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DailyPoint {
    /// The day.
    pub day: Day,
    /// Visitors that day.
    pub visitors: u64,
    /// Buyers that day.
    pub buyers: u64,
    /// Net revenue of that day's orders.
    pub net: i64,
    /// That day's net revenue per buyer (mostly not enough data for a small creator).
    pub net_per_buyer: Estimate,
    /// Buyers from the range's first day to this one.
    pub cumulative_buyers: u64,
    /// Net revenue per buyer from the range's first day to this one: the line that settles.
    pub cumulative_net_per_buyer: Estimate,
}

/// One arm over the range.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmReport {
    /// The arm.
    pub arm: Arm,
    /// Funnel counts.
    pub funnel: Funnel,
    /// Money.
    pub money: MoneyTotals,
    /// Buyers / visitors.
    pub conversion: Rate,
    /// Orders with a bump / buyers.
    pub bump_attach: Rate,
    /// Upsell accepted / offered (visits).
    pub upsell_acceptance: Rate,
    /// Downsell accepted / offered (visits).
    pub downsell_acceptance: Rate,
    /// Exit offer accepted / shown (visits).
    pub exit_offer_acceptance: Rate,
    /// Orders priced with the exit discount / buyers.
    pub exit_discount_share: Rate,
    /// Orders with any refund / buyers.
    pub refund_rate: Rate,
    /// Gross / buyers.
    pub average_order_value: Mean,
    /// Net / buyers.
    pub net_per_buyer: Mean,
    /// Net / visitors: the headline (see the module docs).
    pub net_per_visitor: Mean,
    /// One point per day of the range.
    pub daily: Vec<DailyPoint>,
}

/// One offer in one currency.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupReport {
    /// Offer id.
    pub offer: String,
    /// Currency of every amount of the group.
    pub currency: Currency,
    /// Costs applied.
    pub costs: Costs,
    /// All arms together.
    pub totals: Totals,
    /// Holdout, base, then variants by id.
    pub arms: Vec<ArmReport>,
}

/// Sums of a group over all its arms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Visits recorded.
    pub visits: u64,
    /// Buyers.
    pub buyers: u64,
    /// Money.
    pub money: MoneyTotals,
}

impl Totals {
    pub(super) fn of(sums: &DaySums) -> Result<Totals, MetricsError> {
        Ok(Totals {
            visits: sums.visits.visits,
            buyers: sums.orders.buyers,
            money: MoneyTotals::of(&sums.orders)?,
        })
    }
}

/// The insights report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Days covered.
    pub range: DayRange,
    /// The control arm.
    pub control: Arm,
    /// One per (offer, currency), by offer id then currency code.
    pub groups: Vec<GroupReport>,
}

/// What an arm is compared with.
pub(super) enum Against<'a> {
    Itself,
    Nothing,
    Control(&'a ArmInputs),
}

/// The samples behind an arm's figures.
pub(super) struct ArmInputs {
    conversion: Proportion,
    bump_attach: Proportion,
    upsell_acceptance: Proportion,
    downsell_acceptance: Proportion,
    exit_offer_acceptance: Proportion,
    exit_discount_share: Proportion,
    refund_rate: Proportion,
    average_order_value: Moments,
    net_per_buyer: Moments,
    net_per_visitor: Moments,
}

impl ArmInputs {
    pub(super) fn of(sums: &DaySums) -> Result<ArmInputs, MetricsError> {
        let orders = &sums.orders;
        let steps = &sums.visits.steps;
        let buyers = orders.buyers;
        let of_buyers = |successes| Proportion {
            successes,
            trials: buyers,
        };
        let of_steps = |accepted, offered| Proportion {
            successes: steps.get(accepted),
            trials: steps.get(offered),
        };
        let per_buyer = |sum, squares| Moments {
            n: buyers,
            sum,
            squares,
            contributors: buyers,
        };
        let net = orders.net()?;
        Ok(ArmInputs {
            conversion: Proportion {
                successes: buyers,
                trials: visitors(sums),
            },
            bump_attach: of_buyers(orders.with_bump),
            upsell_acceptance: of_steps(Step::UpsellAccepted, Step::UpsellOffered),
            downsell_acceptance: of_steps(Step::DownsellAccepted, Step::DownsellOffered),
            exit_offer_acceptance: of_steps(Step::ExitOfferAccepted, Step::ExitOfferShown),
            exit_discount_share: of_buyers(orders.with_exit_discount),
            refund_rate: of_buyers(orders.with_refund),
            average_order_value: per_buyer(orders.gross_total()?, orders.gross_squares),
            net_per_buyer: per_buyer(net, orders.net_squares),
            // Visitors who did not buy are zeros: they add to n, not to the sums.
            net_per_visitor: Moments {
                n: visitors(sums),
                sum: net,
                squares: orders.net_squares,
                contributors: buyers,
            },
        })
    }
}

pub(super) fn rate(
    inputs: &ArmInputs,
    against: &Against,
    pick: fn(&ArmInputs) -> Proportion,
) -> Rate {
    let sample = pick(inputs);
    Rate {
        successes: sample.successes,
        trials: sample.trials,
        estimate: sample.estimate(),
        vs_control: match against {
            Against::Itself => Comparison::IsControl,
            Against::Nothing => Comparison::NoControl,
            Against::Control(control) => Comparison::Difference(sample.difference(&pick(control))),
        },
    }
}

pub(super) fn mean(
    inputs: &ArmInputs,
    against: &Against,
    pick: fn(&ArmInputs) -> Moments,
) -> Result<Mean, MetricsError> {
    let sample = pick(inputs);
    Ok(Mean {
        n: sample.n,
        sum: to_i64(sample.sum)?,
        estimate: sample.estimate(),
        vs_control: match against {
            Against::Itself => Comparison::IsControl,
            Against::Nothing => Comparison::NoControl,
            Against::Control(control) => Comparison::Difference(sample.difference(&pick(control))),
        },
    })
}

pub(super) fn arm_report(
    segment: &Segment,
    totals: &DaySums,
    against: &Against,
    range: &DayRange,
) -> Result<ArmReport, MetricsError> {
    let inputs = ArmInputs::of(totals)?;
    Ok(ArmReport {
        arm: segment.key.arm.clone(),
        funnel: Funnel::of(totals),
        money: MoneyTotals::of(&totals.orders)?,
        conversion: rate(&inputs, against, |i| i.conversion),
        bump_attach: rate(&inputs, against, |i| i.bump_attach),
        upsell_acceptance: rate(&inputs, against, |i| i.upsell_acceptance),
        downsell_acceptance: rate(&inputs, against, |i| i.downsell_acceptance),
        exit_offer_acceptance: rate(&inputs, against, |i| i.exit_offer_acceptance),
        exit_discount_share: rate(&inputs, against, |i| i.exit_discount_share),
        refund_rate: rate(&inputs, against, |i| i.refund_rate),
        average_order_value: mean(&inputs, against, |i| i.average_order_value)?,
        net_per_buyer: mean(&inputs, against, |i| i.net_per_buyer)?,
        net_per_visitor: mean(&inputs, against, |i| i.net_per_visitor)?,
        daily: daily_series(segment, range)?,
    })
}

pub(super) fn daily_series(
    segment: &Segment,
    range: &DayRange,
) -> Result<Vec<DailyPoint>, MetricsError> {
    let per_buyer = |orders: &OrderSums| -> Result<Estimate, MetricsError> {
        let moments = Moments {
            n: orders.buyers,
            sum: orders.net()?,
            squares: orders.net_squares,
            contributors: orders.buyers,
        };
        Ok(moments.estimate())
    };
    let mut running = DaySums::default();
    let mut points = Vec::new();
    for day in range.days() {
        let today = segment.days.get(&day).copied().unwrap_or_default();
        running.accumulate(&today)?;
        points.push(DailyPoint {
            day,
            visitors: visitors(&today),
            buyers: today.orders.buyers,
            net: to_i64(today.orders.net()?)?,
            net_per_buyer: per_buyer(&today.orders)?,
            cumulative_buyers: running.orders.buyers,
            cumulative_net_per_buyer: per_buyer(&running.orders)?,
        });
    }
    Ok(points)
}
