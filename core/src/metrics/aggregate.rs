//! The aggregate: sums per (offer, currency, arm, day), built from orders and visits (or from a
//! store's `GROUP BY` sums) and merged across days, then turned into the report.

use super::*;

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
pub(super) struct Segment {
    pub(super) key: SegmentKey,
    pub(super) days: BTreeMap<Day, DaySums>,
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
