//! Properties over generated histories: the fold, the sums (as the SQL stores compute them) and
//! the intervals hold on any history, in any order.

use super::*;

const ARMS: [&str; 4] = ["holdout", "base", "a", "b"];

fn arm_of(index: usize) -> Arm {
    match ARMS[index % ARMS.len()] {
        "holdout" => Arm::Holdout,
        "base" => Arm::Base,
        id => variant(id),
    }
}

/// Indices 0–3 are the arms of "course", 4–5 the holdout and base of a second offer.
fn offer_of(index: usize) -> String {
    if index < ARMS.len() {
        "course"
    } else {
        "ebook"
    }
    .to_owned()
}

fn currency_of(index: usize) -> Currency {
    if index < 4 {
        Currency::Eur
    } else {
        Currency::Jpy
    }
}

/// (arm+offer, currency, day, product, bump, add-on kind, add-on price, exit discount, refunded
/// lines mask, partial refunds, refund delay)
type OrderSeed = (
    usize,
    usize,
    i32,
    i64,
    Option<i64>,
    u8,
    i64,
    bool,
    u8,
    bool,
    i32,
);

fn order_seed() -> impl Strategy<Value = OrderSeed> {
    (
        0..6usize,
        0..5usize,
        0..14i32,
        0..20_000i64,
        prop::option::of(1..5_000i64),
        0..3u8,
        1..10_000i64,
        any::<bool>(),
        0..16u8,
        any::<bool>(),
        0..40i32,
    )
}

fn order_from(index: usize, seed: OrderSeed) -> Order {
    let (who, currency, day, product, bump, addon, addon_price, exit, mask, partial, delay) = seed;
    let mut lines = vec![Line {
        kind: LineKind::Product,
        amount: product,
    }];
    if let Some(amount) = bump {
        lines.push(Line {
            kind: LineKind::Bump,
            amount,
        });
    }
    let mut charges = vec![product + bump.unwrap_or(0)];
    let addon_kind = match addon {
        1 => Some(LineKind::Upsell),
        2 => Some(LineKind::Downsell),
        _ => None,
    };
    if let Some(kind) = addon_kind {
        lines.push(Line {
            kind,
            amount: addon_price,
        });
        charges.push(addon_price);
    }
    let refunds = lines
        .iter()
        .enumerate()
        .filter(|(i, line)| mask & (1 << i) != 0 && line.amount > 0)
        .map(|(_, line)| Refund {
            line: line.kind,
            amount: if partial {
                (line.amount / 2).max(1)
            } else {
                line.amount
            },
            day: Day(day + delay),
        })
        .collect();
    Order {
        order_id: format!("o{index}"),
        offer: offer_of(who),
        arm: arm_of(who),
        currency: currency_of(currency),
        day: Day(day),
        exit_discount: exit,
        lines,
        charges,
        refunds,
    }
}

fn visit_seed() -> impl Strategy<Value = (usize, usize, i32, u32, bool)> {
    (
        0..6usize,
        0..5usize,
        0..14i32,
        0..(1u32 << 16),
        any::<bool>(),
    )
}

fn visit_from(
    index: usize,
    (who, currency, day, mask, bump): (usize, usize, i32, u32, bool),
) -> Visit {
    Visit {
        visit_id: index as u64,
        offer: offer_of(who),
        arm: arm_of(who),
        currency: currency_of(currency),
        day: Day(day),
        steps: Step::ALL
            .into_iter()
            .filter(|s| mask & (1 << *s as u32) != 0)
            .collect(),
        bump_checked: bump,
    }
}

fn costs_strategy() -> impl Strategy<Value = Costs> {
    (0..=1_000u32, 0..100i64, 0..500i64).prop_map(|(bp, fixed, support)| Costs {
        fee_basis_points: bp,
        fee_fixed_minor: fixed,
        support_per_refund_minor: support,
    })
}

#[derive(Debug, Clone)]
struct History {
    costs: Costs,
    orders: Vec<Order>,
    visits: Vec<Visit>,
}

fn history() -> impl Strategy<Value = History> {
    (
        costs_strategy(),
        prop::collection::vec(order_seed(), 0..300),
        prop::collection::vec(visit_seed(), 0..600),
    )
        .prop_map(|(costs, orders, visits)| History {
            costs,
            orders: orders
                .into_iter()
                .enumerate()
                .map(|(i, s)| order_from(i, s))
                .collect(),
            visits: visits
                .into_iter()
                .enumerate()
                .map(|(i, s)| visit_from(i, s))
                .collect(),
        })
}

fn full_range() -> ReportQuery {
    query(0, 13, Arm::Holdout)
}

/// An order's net worked out independently, the way the SQL does it: fees
/// `(amount × bp + 5000) / 10000 + fixed` per charge.
fn sql_net(order: &Order, costs: &Costs) -> (i64, i64, i64, i64) {
    let gross: i64 = order.lines.iter().map(|l| l.amount).sum();
    let refunded: i64 = order.refunds.iter().map(|r| r.amount).sum();
    let fees: i64 = order
        .charges
        .iter()
        .map(|a| (a * i64::from(costs.fee_basis_points) + 5_000) / 10_000 + costs.fee_fixed_minor)
        .sum();
    let support = order.refunds.len() as i64 * costs.support_per_refund_minor;
    (gross, refunded, fees, support)
}

/// What `GROUP BY offer, currency, arm, day` computes, written without the module's fold.
fn sql_sums(history: &History) -> BTreeMap<(String, &'static str, Arm, Day), (Currency, DaySums)> {
    let mut cells: BTreeMap<_, (Currency, DaySums)> = BTreeMap::new();
    let key = |offer: &str, currency: Currency, arm: &Arm, day| {
        (offer.to_owned(), currency.code(), arm.clone(), day)
    };
    for order in &history.orders {
        let (gross, refunded, fees, support) = sql_net(order, &history.costs);
        let net = gross - refunded - fees - support;
        let cell = cells
            .entry(key(&order.offer, order.currency, &order.arm, order.day))
            .or_insert((order.currency, DaySums::default()));
        let o = &mut cell.1.orders;
        let has = |kind| order.lines.iter().any(|l| l.kind == kind);
        o.buyers += 1;
        o.with_bump += u64::from(has(LineKind::Bump));
        o.with_upsell += u64::from(has(LineKind::Upsell));
        o.with_downsell += u64::from(has(LineKind::Downsell));
        o.with_exit_discount += u64::from(order.exit_discount);
        o.with_refund += u64::from(!order.refunds.is_empty());
        o.charges += order.charges.len() as u64;
        o.refunds += order.refunds.len() as u64;
        for line in &order.lines {
            *o.gross.get_mut(line.kind) += i128::from(line.amount);
        }
        for refund in &order.refunds {
            *o.refunded.get_mut(refund.line) += i128::from(refund.amount);
        }
        o.fees += i128::from(fees);
        o.support += i128::from(support);
        o.gross_squares += (gross as u128).pow(2);
        o.net_squares += u128::from(net.unsigned_abs()).pow(2);
    }
    for visit in &history.visits {
        let cell = cells
            .entry(key(&visit.offer, visit.currency, &visit.arm, visit.day))
            .or_insert((visit.currency, DaySums::default()));
        let v = &mut cell.1.visits;
        v.visits += 1;
        for step in Step::ALL {
            let reached = visit.steps.contains(step)
                || (step == Step::BumpToggled
                    || step == Step::CheckoutInitiated
                    || step == Step::CheckoutViewed)
                    && visit.bump_checked;
            if reached {
                v.steps.set(step, v.steps.get(step) + 1);
            }
        }
        v.bump_checked += u64::from(visit.bump_checked);
    }
    cells
}

/// SplitMix64, for shuffles.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        items.swap(i, (z % (i as u64 + 1)) as usize);
    }
}

fn every_estimate(arm: &ArmReport) -> Vec<(&'static str, Estimate, Option<Estimate>)> {
    let diff = |c: &Comparison| match c {
        Comparison::Difference(e) => Some(*e),
        _ => None,
    };
    let rates = [
        ("conversion", &arm.conversion),
        ("bump", &arm.bump_attach),
        ("upsell", &arm.upsell_acceptance),
        ("downsell", &arm.downsell_acceptance),
        ("exit", &arm.exit_offer_acceptance),
        ("exit share", &arm.exit_discount_share),
        ("refunds", &arm.refund_rate),
    ];
    let means = [
        ("aov", &arm.average_order_value),
        ("per buyer", &arm.net_per_buyer),
        ("per visitor", &arm.net_per_visitor),
    ];
    rates
        .iter()
        .map(|(name, r)| (*name, r.estimate, diff(&r.vs_control)))
        .chain(
            means
                .iter()
                .map(|(name, m)| (*name, m.estimate, diff(&m.vs_control))),
        )
        .collect()
}

fn is_rate(name: &str) -> bool {
    !matches!(name, "aov" | "per buyer" | "per visitor")
}

fn check_net_is_gross_minus_refunds_and_costs(h: &History) -> Result<(), TestCaseError> {
    let report = fold(h.costs, &h.orders, &h.visits)
        .report(&full_range())
        .unwrap();
    for group in &report.groups {
        let (mut gross, mut refunded, mut fees, mut support) = (0, 0, 0, 0);
        for order in h
            .orders
            .iter()
            .filter(|o| o.offer == group.offer && o.currency == group.currency)
        {
            let (g, r, f, s) = sql_net(order, &h.costs);
            gross += g;
            refunded += r;
            fees += f;
            support += s;
        }
        let m = group.totals.money;
        prop_assert_eq!(
            (m.gross, m.refunded, m.fees, m.support),
            (gross, refunded, fees, support)
        );
        prop_assert_eq!(m.net, gross - refunded - fees - support);
        for arm in &group.arms {
            let m = arm.money;
            prop_assert_eq!(m.net, m.gross - m.refunded - m.fees - m.support);
            prop_assert_eq!(m.gross, m.gross_by_line.values().iter().sum::<i64>());
            prop_assert_eq!(m.refunded, m.refunded_by_line.values().iter().sum::<i64>());
            prop_assert_eq!(arm.net_per_buyer.sum, m.net);
            prop_assert_eq!(arm.net_per_visitor.sum, m.net);
            prop_assert_eq!(arm.daily.iter().map(|p| p.net).sum::<i64>(), m.net);
        }
    }
    Ok(())
}

fn check_arms_add_up_to_the_totals(h: &History) -> Result<(), TestCaseError> {
    let report = fold(h.costs, &h.orders, &h.visits)
        .report(&full_range())
        .unwrap();
    let (mut buyers, mut visits) = (0, 0);
    for group in &report.groups {
        let sum = |f: fn(&ArmReport) -> i64| group.arms.iter().map(f).sum::<i64>();
        let t = &group.totals;
        prop_assert_eq!(sum(|a| a.funnel.buyers as i64), t.buyers as i64);
        prop_assert_eq!(sum(|a| a.funnel.visits as i64), t.visits as i64);
        prop_assert_eq!(sum(|a| a.money.gross), t.money.gross);
        prop_assert_eq!(sum(|a| a.money.refunded), t.money.refunded);
        prop_assert_eq!(sum(|a| a.money.fees), t.money.fees);
        prop_assert_eq!(sum(|a| a.money.support), t.money.support);
        prop_assert_eq!(sum(|a| a.money.net), t.money.net);
        buyers += t.buyers;
        visits += t.visits;
    }
    prop_assert_eq!(buyers as usize, h.orders.len());
    prop_assert_eq!(visits as usize, h.visits.len());
    Ok(())
}

/// `low ≤ value ≤ high` inside `[floor, ceiling]`, all finite.
fn check_interval(estimate: &Estimate, floor: f64, ceiling: f64) -> Result<(), TestCaseError> {
    if let Estimate::Value { value, low, high } = *estimate {
        prop_assert!(value.is_finite() && low.is_finite() && high.is_finite());
        prop_assert!(
            floor <= low && low <= value && value <= high && high <= ceiling,
            "{:?}",
            estimate
        );
    }
    Ok(())
}

fn check_intervals_hold_their_estimate(h: &History) -> Result<(), TestCaseError> {
    let report = fold(h.costs, &h.orders, &h.visits)
        .report(&full_range())
        .unwrap();
    for arm in report.groups.iter().flat_map(|g| &g.arms) {
        for (name, estimate, vs_control) in every_estimate(arm) {
            let (floor, ceiling, difference_floor) = if is_rate(name) {
                (0.0, 1.0, -1.0)
            } else {
                (f64::MIN, f64::MAX, f64::MIN)
            };
            check_interval(&estimate, floor, ceiling)?;
            if let Some(difference) = vs_control {
                check_interval(&difference, difference_floor, ceiling)?;
            }
        }
        for point in &arm.daily {
            check_interval(&point.net_per_buyer, f64::MIN, f64::MAX)?;
            check_interval(&point.cumulative_net_per_buyer, f64::MIN, f64::MAX)?;
        }
    }
    Ok(())
}

/// Every `parts`-th item, starting at `part`.
fn every_nth<T: Clone>(items: &[T], parts: usize, part: usize) -> Vec<T> {
    items.iter().skip(part).step_by(parts).cloned().collect()
}

fn check_folds_in_any_order_and_partition_agree(
    h: &History,
    seed: u64,
    parts: usize,
) -> Result<(), TestCaseError> {
    let whole = fold(h.costs, &h.orders, &h.visits);
    let (mut orders, mut visits) = (h.orders.clone(), h.visits.clone());
    shuffle(&mut orders, seed);
    shuffle(&mut visits, seed ^ 1);
    let folds: Vec<Aggregates> = (0..parts)
        .map(|p| {
            fold(
                h.costs,
                &every_nth(&orders, parts, p),
                &every_nth(&visits, parts, p),
            )
        })
        .collect();
    // Merge back to front, starting from the identity (empty aggregates)...
    let mut merged = fold(h.costs, &[], &[]);
    for part in folds.iter().rev() {
        merged.merge(part).unwrap();
    }
    prop_assert_eq!(&merged, &whole);
    // ...and front to back, each partial sum merged into the next part (the other side).
    let mut swapped = folds[0].clone();
    for part in folds.iter().skip(1) {
        let mut next = part.clone();
        next.merge(&swapped).unwrap();
        swapped = next;
    }
    prop_assert_eq!(&swapped, &whole);
    prop_assert_eq!(merged.report(&full_range()), whole.report(&full_range()));
    Ok(())
}

fn check_sql_sums_equal_the_row_fold(
    h: &History,
    first: i32,
    len: i32,
) -> Result<(), TestCaseError> {
    let rows = fold(h.costs, &h.orders, &h.visits);
    let mut from_sql = fold(h.costs, &[], &[]);
    for ((offer, _, arm, day), (currency, sums)) in sql_sums(h) {
        let key = SegmentKey {
            offer,
            currency,
            arm,
        };
        from_sql.add_sums(&key, day, &sums).unwrap();
    }
    prop_assert_eq!(&from_sql, &rows);
    let partial = query(first, first + len - 1, Arm::Base);
    prop_assert_eq!(from_sql.report(&partial), rows.report(&partial));
    Ok(())
}

/// A visit as the widget would have sent it: one row per step reached (parents included), the
/// bump toggled to its final state last, and at least a `checkout_viewed`.
fn rows_of(visit: &Visit) -> Vec<EventRow> {
    let row = |event| EventRow {
        visit_id: visit.visit_id,
        offer: visit.offer.clone(),
        arm: visit.arm.clone(),
        currency: visit.currency,
        day: visit.day,
        event,
    };
    let mut rows: Vec<EventRow> = visit
        .steps
        .iter()
        .map(|step| match step {
            Step::BumpToggled => FunnelEvent::BumpToggled {
                checked: !visit.bump_checked,
            },
            other => funnel_event(other),
        })
        .map(row)
        .collect();
    if visit.bump_checked || visit.steps.contains(Step::BumpToggled) {
        rows.push(row(FunnelEvent::BumpToggled {
            checked: visit.bump_checked,
        }));
    }
    if rows.is_empty() {
        rows.push(row(FunnelEvent::CheckoutViewed));
    }
    rows
}

fn check_event_rows_fold_like_visit_summaries(h: &History) -> Result<(), TestCaseError> {
    let rows: Vec<EventRow> = h.visits.iter().flat_map(rows_of).collect();
    let mut from_rows = fold(h.costs, &[], &[]);
    from_rows.add_event_rows(&rows).unwrap();
    // A visit without any step has a `checkout_viewed` row.
    let summaries: Vec<Visit> = h
        .visits
        .iter()
        .map(|v| Visit {
            steps: v.steps.with(Step::CheckoutViewed),
            ..v.clone()
        })
        .collect();
    prop_assert_eq!(from_rows, fold(h.costs, &[], &summaries));
    Ok(())
}

fn check_wilson_and_newcombe(a: Proportion, b: Proportion) -> Result<(), TestCaseError> {
    for p in [a, b] {
        let (value, low, high) = p.wilson();
        prop_assert!(low <= value + 1e-12 && value <= high + 1e-12);
        check_interval(&p.estimate(), 0.0, 1.0)?;
    }
    let difference = a.difference(&b);
    check_interval(&difference, -1.0, 1.0)?;
    if let Some(value) = difference.value() {
        let share = |p: Proportion| p.successes as f64 / p.trials as f64;
        prop_assert!((value - (share(a) - share(b))).abs() < 1e-12);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn net_is_gross_minus_refunds_and_costs(h in history()) {
        check_net_is_gross_minus_refunds_and_costs(&h)?;
    }

    #[test]
    fn arms_add_up_to_the_totals(h in history()) {
        check_arms_add_up_to_the_totals(&h)?;
    }

    #[test]
    fn intervals_hold_their_estimate(h in history()) {
        check_intervals_hold_their_estimate(&h)?;
    }

    #[test]
    fn folds_in_any_order_and_partition_agree(
        h in history(),
        seed in any::<u64>(),
        parts in 1..5usize,
    ) {
        check_folds_in_any_order_and_partition_agree(&h, seed, parts)?;
    }

    #[test]
    fn sql_sums_equal_the_row_fold(h in history(), first in 0..14i32, len in 1..14i32) {
        check_sql_sums_equal_the_row_fold(&h, first, len)?;
    }

    #[test]
    fn event_rows_fold_like_visit_summaries(h in history()) {
        check_event_rows_fold_like_visit_summaries(&h)?;
    }

    #[test]
    fn wilson_and_newcombe_stay_in_bounds(
        s1 in 0..1_000_000_000u64,
        n1 in 1..1_000_000_000u64,
        s2 in 0..1_000u64,
        n2 in 1..1_000u64,
    ) {
        let a = Proportion { successes: s1.min(n1), trials: n1 };
        let b = Proportion { successes: s2.min(n2), trials: n2 };
        check_wilson_and_newcombe(a, b)?;
    }
}

/// The widget event of a step (the bump toggle as unticked).
fn funnel_event(step: Step) -> FunnelEvent {
    use FunnelEvent::*;
    match step {
        Step::CheckoutViewed => CheckoutViewed,
        Step::CheckoutInitiated => CheckoutInitiated,
        Step::BumpToggled => BumpToggled { checked: false },
        Step::Paid => Paid,
        Step::UpsellOffered => UpsellOffered,
        Step::UpsellAccepted => UpsellAccepted,
        Step::UpsellDeclined => UpsellDeclined,
        Step::UpsellFailed => UpsellFailed,
        Step::DownsellOffered => DownsellOffered,
        Step::DownsellAccepted => DownsellAccepted,
        Step::DownsellDeclined => DownsellDeclined,
        Step::DownsellFailed => DownsellFailed,
        Step::ExitOfferShown => ExitOfferShown,
        Step::ExitOfferAccepted => ExitOfferAccepted,
        Step::ExitOfferDeclined => ExitOfferDeclined,
        Step::ReceiptShown => ReceiptShown,
    }
}
