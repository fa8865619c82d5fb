//! Hand-worked histories (the arithmetic is in the comments), currencies, costs and validation;
//! properties of the fold, the sums and the intervals are in `tests/properties.rs`.

use super::*;
use proptest::prelude::*;

mod properties;

const OFFER: &str = "course";

/// Stripe-like costs: 2.9 % + €0.25 per charge, €1.50 of support time per refund.
fn stripe_like() -> Costs {
    Costs {
        fee_basis_points: 290,
        fee_fixed_minor: 25,
        support_per_refund_minor: 150,
    }
}

fn free() -> Costs {
    Costs::default()
}

fn variant(id: &str) -> Arm {
    Arm::Variant(id.to_owned())
}

fn order(id: &str, arm: Arm, day: i32, lines: &[(LineKind, i64)], charges: &[i64]) -> Order {
    Order {
        order_id: id.to_owned(),
        offer: OFFER.to_owned(),
        arm,
        currency: Currency::Eur,
        day: Day(day),
        exit_discount: false,
        lines: lines
            .iter()
            .map(|&(kind, amount)| Line { kind, amount })
            .collect(),
        charges: charges.to_vec(),
        refunds: Vec::new(),
    }
}

fn product_only(id: &str, arm: Arm, day: i32, amount: i64) -> Order {
    order(id, arm, day, &[(LineKind::Product, amount)], &[amount])
}

fn visit(arm: Arm, day: i32, steps: &[Step]) -> Visit {
    Visit {
        visit_id: 0,
        offer: OFFER.to_owned(),
        arm,
        currency: Currency::Eur,
        day: Day(day),
        steps: steps.iter().copied().collect(),
        bump_checked: false,
    }
}

fn fold(costs: Costs, orders: &[Order], visits: &[Visit]) -> Aggregates {
    let mut aggregates = Aggregates::new(CostSchedule::uniform(costs).unwrap());
    for order in orders {
        aggregates.add_order(order).unwrap();
    }
    for visit in visits {
        aggregates.add_visit(visit).unwrap();
    }
    aggregates
}

fn query(first: i32, last: i32, control: Arm) -> ReportQuery {
    ReportQuery {
        range: DayRange::new(Day(first), Day(last)).unwrap(),
        control,
    }
}

fn arm<'r>(group: &'r GroupReport, arm: &Arm) -> &'r ArmReport {
    group.arms.iter().find(|a| &a.arm == arm).unwrap()
}

fn value(estimate: &Estimate) -> (f64, f64, f64) {
    match *estimate {
        Estimate::Value { value, low, high } => (value, low, high),
        Estimate::NotEnoughData { .. } => panic!("expected a value, got {estimate:?}"),
    }
}

fn difference(comparison: &Comparison) -> &Estimate {
    match comparison {
        Comparison::Difference(estimate) => estimate,
        other => panic!("expected a difference, got {other:?}"),
    }
}

fn assert_close(actual: (f64, f64, f64), expected: (f64, f64, f64), tolerance: f64) {
    let pairs = [
        (actual.0, expected.0),
        (actual.1, expected.1),
        (actual.2, expected.2),
    ];
    for (a, e) in pairs {
        assert!((a - e).abs() <= tolerance, "{actual:?} vs {expected:?}");
    }
}

const fn short(of: SampleCount, n: u64, needed: u64) -> Estimate {
    Estimate::NotEnoughData { of, n, needed }
}

// ---------------------------------------------------------------------------------------------
// A small history, worked by hand
// ---------------------------------------------------------------------------------------------

/// Offer "course", EUR, days 100–106, costs 2.9 % + 25 per charge and 150 per refund.
///
/// Holdout: H1 (day 100) and H2 (day 101), product 4900 in one charge each.
///   fee per charge: 4900 × 2.9 % = 142.1 → 142, + 25 = 167. gross 9800, fees 334, net 9466.
/// Variant a: A1 (day 100) product 4900 + bump 900 (one charge of 5800) and upsell 2700 (its own
///   charge): fees (168.2 → 168) + 25 + (78.3 → 78) + 25 = 296, net 8500 − 296 = 8204.
///   A2 (day 102) product 4900 + bump 900 in one charge of 5800: fee 193, net 5607.
///   gross 14300, fees 489, net 13811, per buyer 6905.5.
/// Variant b: three visits, no buyer.
fn small_history() -> (Vec<Order>, Vec<Visit>) {
    use LineKind::*;
    let orders = vec![
        product_only("H1", Arm::Holdout, 100, 4900),
        product_only("H2", Arm::Holdout, 101, 4900),
        order(
            "A1",
            variant("a"),
            100,
            &[(Product, 4900), (Bump, 900), (Upsell, 2700)],
            &[5800, 2700],
        ),
        order(
            "A2",
            variant("a"),
            102,
            &[(Product, 4900), (Bump, 900)],
            &[5800],
        ),
    ];
    use Step::*;
    let mut visits = vec![
        visit(Arm::Holdout, 100, &[ReceiptShown]),
        visit(Arm::Holdout, 101, &[ReceiptShown]),
        visit(Arm::Holdout, 101, &[CheckoutViewed]),
        visit(Arm::Holdout, 103, &[CheckoutViewed]),
        visit(variant("a"), 100, &[UpsellAccepted, ReceiptShown]),
        visit(variant("a"), 102, &[DownsellDeclined, ReceiptShown]),
        visit(variant("a"), 102, &[CheckoutInitiated]),
        visit(variant("a"), 104, &[CheckoutViewed]),
        visit(variant("a"), 105, &[ExitOfferAccepted]),
        visit(variant("b"), 100, &[CheckoutViewed]),
        visit(variant("b"), 101, &[ExitOfferDeclined]),
        visit(variant("b"), 106, &[CheckoutViewed]),
    ];
    visits[4].bump_checked = true;
    visits[5].bump_checked = true;
    (orders, visits)
}

#[test]
fn a_small_history_adds_up_by_hand() {
    let (orders, visits) = small_history();
    let report = fold(stripe_like(), &orders, &visits)
        .report(&query(100, 106, Arm::Holdout))
        .unwrap();
    assert_eq!(report.groups.len(), 1);
    let group = &report.groups[0];
    assert_eq!(
        (group.offer.as_str(), group.currency),
        (OFFER, Currency::Eur)
    );
    let arms: Vec<&Arm> = group.arms.iter().map(|a| &a.arm).collect();
    assert_eq!(arms, [&Arm::Holdout, &variant("a"), &variant("b")]);

    let holdout = arm(group, &Arm::Holdout);
    assert_eq!(
        (holdout.money.gross, holdout.money.fees, holdout.money.net),
        (9800, 334, 9466)
    );
    assert_eq!(holdout.net_per_buyer.sum, 9466);
    assert_eq!(holdout.net_per_buyer.vs_control, Comparison::IsControl);

    let a = arm(group, &variant("a"));
    assert_eq!(
        a.money,
        MoneyTotals {
            gross: 14300,
            refunded: 0,
            fees: 489,
            support: 0,
            net: 13811,
            gross_by_line: ByLine {
                product: 9800,
                bump: 1800,
                upsell: 2700,
                downsell: 0
            },
            refunded_by_line: ByLine::default(),
        }
    );
    assert_eq!((a.net_per_buyer.n, a.net_per_buyer.sum), (2, 13811));
    // Funnel of a: 5 visits; paid implies initiated, a declined downsell implies a declined
    // (hence offered) upsell, an accepted exit offer implies it was shown.
    let f = &a.funnel;
    assert_eq!((f.visits, f.visitors, f.buyers), (5, 5, 2));
    let steps = |s| f.steps.get(s);
    assert_eq!(steps(Step::CheckoutViewed), 5);
    assert_eq!(steps(Step::CheckoutInitiated), 3);
    assert_eq!(steps(Step::Paid), 2);
    assert_eq!(steps(Step::UpsellOffered), 2);
    assert_eq!(steps(Step::UpsellAccepted), 1);
    assert_eq!(steps(Step::UpsellDeclined), 1);
    assert_eq!(steps(Step::DownsellOffered), 1);
    assert_eq!(steps(Step::ExitOfferShown), 1);
    assert_eq!(steps(Step::ReceiptShown), 2);
    assert_eq!((steps(Step::BumpToggled), f.bump_checked), (2, 2));
    assert_eq!((f.with_bump, f.with_upsell), (2, 1));
    // 5 visitors is far below 30: a number, yes; an estimate, no.
    assert_eq!(a.conversion.successes, 2);
    assert_eq!(
        a.conversion.estimate,
        short(SampleCount::Observations, 5, 30)
    );
    assert_eq!(
        *difference(&a.conversion.vs_control),
        short(SampleCount::Observations, 5, 30)
    );
    assert_eq!(
        a.net_per_buyer.estimate,
        short(SampleCount::Observations, 2, 30)
    );

    // Daily series: one point per day; a's day 100 is A1 (8204), day 102 A2 (5607).
    assert_eq!(a.daily.len(), 7);
    let nets: Vec<i64> = a.daily.iter().map(|p| p.net).collect();
    assert_eq!(nets, [8204, 0, 5607, 0, 0, 0, 0]);
    assert_eq!(a.daily[6].cumulative_buyers, 2);

    // Group totals: 4 buyers, gross 9800 + 14300, net 9466 + 13811.
    assert_eq!((group.totals.buyers, group.totals.visits), (4, 12));
    assert_eq!(
        (group.totals.money.gross, group.totals.money.net),
        (24100, 23277)
    );
}

#[test]
fn a_variant_without_buyers_has_no_estimate_and_no_division_by_zero() {
    let (orders, visits) = small_history();
    let report = fold(stripe_like(), &orders, &visits)
        .report(&query(100, 106, Arm::Holdout))
        .unwrap();
    let b = arm(&report.groups[0], &variant("b"));
    assert_eq!((b.funnel.visits, b.funnel.buyers), (3, 0));
    assert_eq!(b.money, MoneyTotals::of(&OrderSums::default()).unwrap());
    let nothing = short(SampleCount::Observations, 0, 30);
    for rate in [
        &b.bump_attach,
        &b.upsell_acceptance,
        &b.downsell_acceptance,
        &b.exit_discount_share,
        &b.refund_rate,
    ] {
        assert_eq!(rate.estimate, nothing);
    }
    assert_eq!(
        b.exit_offer_acceptance.estimate,
        short(SampleCount::Observations, 1, 30)
    );
    assert_eq!(
        b.conversion.estimate,
        short(SampleCount::Observations, 3, 30)
    );
    for mean in [&b.average_order_value, &b.net_per_buyer] {
        assert_eq!((mean.n, mean.sum, mean.estimate), (0, 0, nothing));
    }
    assert_eq!(b.net_per_visitor.n, 3);
    assert!(b
        .daily
        .iter()
        .all(|p| p.net_per_buyer == nothing && p.cumulative_net_per_buyer == nothing));
}

#[test]
fn a_refund_after_the_fact_lowers_the_period_it_belongs_to() {
    let (mut orders, visits) = small_history();
    let range = query(100, 106, Arm::Holdout);
    let before = fold(stripe_like(), &orders, &visits)
        .report(&range)
        .unwrap();
    // Day 120, two weeks after the range: A2's bump (900) is refunded, costing 150 of support.
    // The cohort view puts it on A2's day (102): a's net 13811 − 900 − 150 = 12761, per buyer
    // 6380.5 instead of 6905.5; the fee of the charge is not given back.
    orders[3].refunds.push(Refund {
        line: LineKind::Bump,
        amount: 900,
        day: Day(120),
    });
    let after = fold(stripe_like(), &orders, &visits)
        .report(&range)
        .unwrap();
    let (a_before, a_after) = (
        arm(&before.groups[0], &variant("a")),
        arm(&after.groups[0], &variant("a")),
    );
    assert_eq!(a_before.net_per_buyer.sum, 13811);
    assert_eq!(a_after.net_per_buyer.sum, 12761);
    assert_eq!(
        a_before.net_per_buyer.sum as f64 / 2.0,
        6905.5,
        "net per buyer before"
    );
    assert_eq!(a_after.net_per_buyer.sum as f64 / 2.0, 6380.5);
    assert_eq!(
        (
            a_after.money.refunded,
            a_after.money.support,
            a_after.money.fees
        ),
        (900, 150, 489)
    );
    assert_eq!(a_after.money.refunded_by_line.bump, 900);
    assert_eq!(
        (a_after.refund_rate.successes, a_after.refund_rate.trials),
        (1, 2)
    );
    assert_eq!(a_after.daily[2].net, 5607 - 1050);
    // The holdout is untouched.
    assert_eq!(before.groups[0].arms[0], after.groups[0].arms[0]);
}

#[test]
fn fees_apply_per_charge() {
    use LineKind::*;
    let lines = [(Product, 4900), (Bump, 900), (Upsell, 2700)];
    // Two charges (5800 primary, 2700 upsell): (168 + 25) + (78 + 25) = 296, two fixed fees.
    let two_charges = order("A1", variant("a"), 100, &lines, &[5800, 2700]);
    let figures = order_figures(&two_charges, &stripe_like()).unwrap();
    assert_eq!((figures.charges, figures.fees), (2, 296));
    assert_eq!(figures.gross_total(), Ok(8500));
    assert_eq!(figures.net(), Ok(8204));
    // The same lines in one charge of 8500 would cost 246.5 → 247 (half up) + 25 = 272: one
    // fixed fee less (and one rounding).
    let one_charge = order("A1", variant("a"), 100, &lines, &[8500]);
    assert_eq!(
        order_figures(&one_charge, &stripe_like()).unwrap().fees,
        272
    );
}

// ---------------------------------------------------------------------------------------------
// Intervals on a history large enough to have them
// ---------------------------------------------------------------------------------------------

/// No costs, days 0–9.
/// Variant a: 100 visits, 40 buyers: 10 × (product 4000 + bump 1000), 10 × product 5000,
///   20 × product 3000. Sum 160 000, Σx² = 20·5000² + 20·3000² = 680 000 000.
/// Holdout: 120 visits, 30 buyers: 15 × 3000, 15 × 4000. Sum 105 000.
fn larger_history() -> (Vec<Order>, Vec<Visit>) {
    use LineKind::*;
    let mut orders = Vec::new();
    for i in 0..40 {
        let id = format!("a{i}");
        let day = i % 10;
        orders.push(match i {
            0..10 => order(
                &id,
                variant("a"),
                day,
                &[(Product, 4000), (Bump, 1000)],
                &[5000],
            ),
            10..20 => product_only(&id, variant("a"), day, 5000),
            _ => product_only(&id, variant("a"), day, 3000),
        });
    }
    for i in 0..30 {
        let amount = if i < 15 { 3000 } else { 4000 };
        orders.push(product_only(&format!("h{i}"), Arm::Holdout, i % 10, amount));
    }
    let mut visits = Vec::new();
    for i in 0..100 {
        visits.push(visit(variant("a"), i % 10, &[Step::CheckoutViewed]));
    }
    for i in 0..120 {
        visits.push(visit(Arm::Holdout, i % 10, &[Step::CheckoutViewed]));
    }
    (orders, visits)
}

#[test]
fn intervals_match_the_formulas_worked_by_hand() {
    let (orders, visits) = larger_history();
    let report = fold(free(), &orders, &visits)
        .report(&query(0, 9, Arm::Holdout))
        .unwrap();
    let group = &report.groups[0];
    let a = arm(group, &variant("a"));

    // Wilson, 10 of 40: p = .25, z² = 3.8415, centre = (.25 + z²/80) / (1 + z²/40) = .27190,
    // half = z / (1 + z²/40) · √(.25·.75/40 + z²/6400) = .13003 → [.14187, .40194].
    assert_close(
        value(&a.bump_attach.estimate),
        (0.25, 0.141_871_186, 0.401_939_614),
        1e-8,
    );
    // Conversion 40/100 → [.30940, .49800]; holdout 30/120 → [.18110, .33441]; Newcombe:
    // .15 − √((.4 − .30940)² + (.33441 − .25)²) = .02617, .15 + √((.49800 − .4)² + (.25 − .18110)²)
    // = .26980.
    assert_close(
        value(&a.conversion.estimate),
        (0.4, 0.309_401_286, 0.497_997_413),
        1e-8,
    );
    assert_close(
        value(difference(&a.conversion.vs_control)),
        (0.15, 0.026_171_870, 0.269_795_445),
        1e-8,
    );
    // The holdout has no bump at all: 0 successes, so no difference either.
    assert_eq!(
        *difference(&a.bump_attach.vs_control),
        short(SampleCount::Successes, 0, 5)
    );

    // AOV: mean 4000, s² = (40 · 6.8e8 − 160000²) / (40 · 39) = 1 025 641.03, se = √(s²/40) =
    // 160.128, t(39) = 2.022691 → 4000 ± 323.890.
    assert_close(
        value(&a.average_order_value.estimate),
        (4000.0, 3_676.110_237, 4_323.889_763),
        1e-5,
    );
    // Per visitor: 60 zeros join the 40 values: mean 1600, s² = (100 · 6.8e8 − 160000²) /
    // (100 · 99) = 4 282 828.28, se = 206.950, t(99) = 1.984217 → 1600 ± 410.634.
    assert_close(
        value(&a.net_per_visitor.estimate),
        (1600.0, 1_189.366_396, 2_010.633_604),
        1e-5,
    );
    // Welch, per buyer: 4000 − 3500 = 500; holdout s² = 258 620.69; se² = 1 025 641.03/40 +
    // 258 620.69/30 = 34 261.71, df = 60.44, t = 2.0002 → 500 ± 370.198.
    assert_close(
        value(difference(&a.net_per_buyer.vs_control)),
        (500.0, 129.802_424, 870.197_576),
        1e-4,
    );
    assert!(difference(&a.net_per_buyer.vs_control).excludes_zero());
    // Welch, per visitor: 1600 − 875 = 725, df = 179.8 → 725 ± 493.922.
    assert_close(
        value(difference(&a.net_per_visitor.vs_control)),
        (725.0, 231.077_728, 1_218.922_272),
        1e-4,
    );
}

#[test]
fn the_sample_rule_names_what_is_short() {
    let rate = |successes, trials| Proportion { successes, trials }.estimate();
    assert_eq!(rate(3, 29), short(SampleCount::Observations, 29, 30));
    assert_eq!(rate(3, 100), short(SampleCount::Successes, 3, 5));
    assert_eq!(rate(97, 100), short(SampleCount::Failures, 3, 5));
    assert!(matches!(rate(5, 30), Estimate::Value { .. }));
    // 30 buyers who all paid the same: a certain mean, a zero-width interval, no NaN.
    let same = Moments {
        n: 30,
        sum: 30 * 4900,
        squares: 30 * 4900 * 4900,
        contributors: 30,
    };
    assert_eq!(
        same.estimate(),
        Estimate::Value {
            value: 4900.0,
            low: 4900.0,
            high: 4900.0
        }
    );
    assert_eq!(
        same.difference(&same),
        Estimate::Value {
            value: 0.0,
            low: 0.0,
            high: 0.0
        }
    );
    // Net per visitor needs 5 buyers among its 30+ visitors.
    let few_buyers = Moments {
        n: 1000,
        sum: 4 * 4900,
        squares: 4 * 4900 * 4900,
        contributors: 4,
    };
    assert_eq!(few_buyers.estimate(), short(SampleCount::Successes, 4, 5));
}

#[test]
fn t_quantiles_match_the_tables() {
    // Exact values (numerical inversion of the t distribution).
    for (degrees, exact) in [
        (10.0, 2.228_138_852),
        (29.0, 2.045_229_642),
        (39.0, 2.022_690_920),
        (99.0, 1.984_216_952),
        (120.0, 1.979_930_405),
    ] {
        assert!((t_quantile_975(degrees) - exact).abs() < 1e-5, "{degrees}");
    }
    assert!((t_quantile_975(29.0) - 2.045_229_642).abs() < 1e-7);
    assert_eq!(t_quantile_975(f64::INFINITY), Z_95);
}

#[test]
fn every_arm_is_compared_with_the_control_it_names() {
    let (orders, visits) = larger_history();
    let aggregates = fold(free(), &orders, &visits);
    let against_a = aggregates.report(&query(0, 9, variant("a"))).unwrap();
    let group = &against_a.groups[0];
    assert_eq!(
        arm(group, &variant("a")).conversion.vs_control,
        Comparison::IsControl
    );
    // Holdout − a = −(a − holdout).
    let (d, low, high) = value(difference(
        &arm(group, &Arm::Holdout).net_per_buyer.vs_control,
    ));
    assert_close((d, low, high), (-500.0, -870.197_576, -129.802_424), 1e-4);
    let no_such = aggregates.report(&query(0, 9, variant("z"))).unwrap();
    for arm in &no_such.groups[0].arms {
        assert_eq!(arm.net_per_visitor.vs_control, Comparison::NoControl);
    }
}

// ---------------------------------------------------------------------------------------------
// Currencies, costs, validation
// ---------------------------------------------------------------------------------------------

#[test]
fn currencies_are_grouped_never_summed() {
    let mut yen = product_only("J1", Arm::Base, 3, 4900);
    yen.currency = Currency::Jpy;
    let euro = product_only("E1", Arm::Base, 3, 4900);
    // Fixed fees differ by currency: €0.25, but ¥40.
    let costs = CostSchedule::uniform(stripe_like())
        .unwrap()
        .with_currency(
            Currency::Jpy,
            Costs {
                fee_basis_points: 360,
                fee_fixed_minor: 40,
                support_per_refund_minor: 300,
            },
        )
        .unwrap();
    let mut aggregates = Aggregates::new(costs);
    aggregates.add_order(&yen).unwrap();
    aggregates.add_order(&euro).unwrap();
    let report = aggregates.report(&query(0, 9, Arm::Base)).unwrap();
    let groups: Vec<(Currency, i64, i64)> = report
        .groups
        .iter()
        .map(|g| (g.currency, g.totals.money.gross, g.totals.money.fees))
        .collect();
    // EUR: 142 + 25. JPY: 4900 × 3.6 % = 176.4 → 176, + 40.
    assert_eq!(
        groups,
        [(Currency::Eur, 4900, 167), (Currency::Jpy, 4900, 216)]
    );
    assert_eq!(report.groups[1].costs.fee_fixed_minor, 40);
}

#[test]
fn orders_that_cannot_be_purchases_are_refused_with_the_reason() {
    use LineKind::*;
    let problem = |order: &Order| match order_figures(order, &stripe_like()) {
        Err(MetricsError::InvalidOrder { order_id, problem }) => {
            assert_eq!(order_id, "X");
            problem
        }
        other => panic!("expected an invalid order, got {other:?}"),
    };
    let base = || order("X", Arm::Base, 10, &[(Product, 4900), (Bump, 900)], &[5800]);
    let refund = |line, amount, day| Refund {
        line,
        amount,
        day: Day(day),
    };

    let mut o = order("X", Arm::Base, 10, &[(Bump, 900)], &[900]);
    assert_eq!(problem(&o), OrderProblem::NoProductLine);
    o = order("X", Arm::Base, 10, &[(Product, 1), (Product, 1)], &[2]);
    assert_eq!(problem(&o), OrderProblem::DuplicateLine(Product));
    o = order("X", Arm::Base, 10, &[(Product, -1)], &[-1]);
    assert_eq!(problem(&o), OrderProblem::NegativeAmount);
    o = base();
    o.charges.clear();
    assert_eq!(problem(&o), OrderProblem::NoCharges);
    o = base();
    o.charges = vec![4900];
    assert_eq!(problem(&o), OrderProblem::ChargesDoNotMatchLines);
    o = base();
    o.refunds.push(refund(Upsell, 100, 11));
    assert_eq!(problem(&o), OrderProblem::RefundOfMissingLine(Upsell));
    o = base();
    o.refunds = vec![refund(Bump, 500, 11), refund(Bump, 401, 12)];
    assert_eq!(problem(&o), OrderProblem::RefundExceedsLine(Bump));
    o = base();
    o.refunds.push(refund(Bump, 0, 11));
    assert_eq!(problem(&o), OrderProblem::NonPositiveRefund);
    o = base();
    o.refunds.push(refund(Bump, 900, 9));
    assert_eq!(problem(&o), OrderProblem::RefundBeforeOrder);
    // Two partial refunds of one line that add up to it are fine.
    o = base();
    o.refunds = vec![refund(Bump, 500, 11), refund(Bump, 400, 12)];
    let figures = order_figures(&o, &stripe_like()).unwrap();
    assert_eq!((figures.refunded.bump, figures.support), (900, 300));

    // A refused order leaves the aggregates as they were.
    let mut aggregates = fold(free(), &[], &[]);
    o.refunds.push(refund(Bump, 1, 13));
    assert!(aggregates.add_order(&o).is_err());
    assert_eq!(aggregates, fold(free(), &[], &[]));
}

#[test]
fn overflow_is_an_error_not_a_wrap() {
    use LineKind::*;
    let huge = order(
        "X",
        Arm::Base,
        1,
        &[(Product, i64::MAX), (Bump, 1)],
        &[i64::MAX, 1],
    );
    assert_eq!(order_figures(&huge, &free()), Err(MetricsError::Overflow));
    let fee = Costs {
        fee_basis_points: 10_000,
        fee_fixed_minor: i64::MAX,
        support_per_refund_minor: 0,
    };
    assert_eq!(fee.charge_fee(1), Err(MetricsError::Overflow));
    // Sums that fit i128 but not the report's i64 are an error in the report.
    let mut aggregates = fold(free(), &[], &[]);
    for i in 0..3 {
        let big = product_only(&format!("B{i}"), Arm::Base, 1, i64::MAX / 2);
        aggregates.add_order(&big).unwrap();
    }
    assert_eq!(
        aggregates.report(&query(0, 9, Arm::Base)),
        Err(MetricsError::Overflow)
    );
}

#[test]
fn costs_ranges_and_days_are_checked() {
    let bad = [
        Costs {
            fee_basis_points: 10_001,
            ..free()
        },
        Costs {
            fee_fixed_minor: -1,
            ..free()
        },
        Costs {
            support_per_refund_minor: -1,
            ..free()
        },
    ];
    for costs in bad {
        assert_eq!(
            CostSchedule::uniform(costs),
            Err(MetricsError::InvalidCosts)
        );
    }
    assert_eq!(
        DayRange::new(Day(5), Day(4)),
        Err(MetricsError::InvalidRange)
    );
    assert_eq!(
        DayRange::new(Day(0), Day(MAX_RANGE_DAYS as i32)),
        Err(MetricsError::InvalidRange)
    );
    assert!(DayRange::new(Day(i32::MAX), Day(i32::MAX)).is_ok());
    // 2026-01-01T00:00:00Z is day 20454; in UTC−5 it is still 2025-12-31.
    assert_eq!(Day::from_unix_seconds(1_767_225_600, 0), Ok(Day(20_454)));
    assert_eq!(
        Day::from_unix_seconds(1_767_225_600, -5 * 3600),
        Ok(Day(20_453))
    );
    assert_eq!(Day::from_unix_seconds(-1, 0), Ok(Day(-1)));
    assert_eq!(
        Day::from_unix_seconds(i64::MAX, 0),
        Err(MetricsError::DayOutOfRange)
    );
    let mut eur = fold(free(), &[], &[]);
    assert_eq!(
        eur.merge(&fold(stripe_like(), &[], &[])),
        Err(MetricsError::CostsDiffer)
    );
}

#[test]
fn pre_aggregated_sums_are_checked() {
    let key = SegmentKey {
        offer: OFFER.to_owned(),
        currency: Currency::Eur,
        arm: variant("c"),
    };
    let mut aggregates = fold(free(), &[], &[]);
    let refused = |sums: DaySums| {
        let mut copy = aggregates.clone();
        match copy.add_sums(&key, Day(1), &sums) {
            Err(MetricsError::InconsistentSums { field }) => field,
            other => panic!("expected inconsistent sums, got {other:?}"),
        }
    };
    let mut sums = DaySums::default();
    sums.visits.visits = 10;
    sums.visits.steps.set(Step::UpsellAccepted, 1);
    assert_eq!(
        refused(sums),
        "upsell_accepted",
        "accepted but never offered"
    );
    let mut sums = DaySums::default();
    sums.orders.buyers = 1;
    sums.orders.charges = 1;
    sums.orders.with_bump = 2;
    assert_eq!(refused(sums), "with_bump");
    let mut sums = DaySums::default();
    sums.orders.buyers = 1;
    sums.orders.charges = 1;
    sums.orders.gross.product = 100;
    sums.orders.refunded.product = 101;
    assert_eq!(refused(sums), "refunded");
    // Two orders summing to 100 have Σx² ≥ 5000.
    let mut sums = DaySums::default();
    sums.orders.buyers = 2;
    sums.orders.charges = 2;
    sums.orders.gross.product = 100;
    sums.orders.gross_squares = 4_999;
    sums.orders.net_squares = 5_000;
    assert_eq!(refused(sums), "gross_squares");
    sums.orders.gross_squares = 5_000;
    assert_eq!(aggregates.clone().add_sums(&key, Day(1), &sums), Ok(()));

    // An all-zero row lists an arm that has no data yet.
    aggregates
        .add_sums(&key, Day(1), &DaySums::default())
        .unwrap();
    let report = aggregates.report(&query(0, 9, Arm::Holdout)).unwrap();
    assert_eq!(report.groups[0].arms[0].arm, variant("c"));
    assert_eq!(report.groups[0].arms[0].funnel.visits, 0);
}

#[test]
fn steps_imply_the_steps_before_them() {
    let set: StepSet = [Step::DownsellAccepted].into_iter().collect();
    let reached: Vec<&str> = set.iter().map(Step::as_str).collect();
    assert_eq!(
        reached,
        [
            "checkout_viewed",
            "checkout_initiated",
            "paid",
            "upsell_offered",
            "upsell_declined",
            "downsell_offered",
            "downsell_accepted"
        ]
    );
    for step in Step::ALL {
        assert_eq!(Step::parse(step.as_str()), Some(step));
        assert_eq!(
            Step::parse(&format!("momentum:{}", step.as_str())),
            Some(step)
        );
    }
    assert_eq!(Step::parse("checkout_completed"), None);
}

fn row(visit_id: u64, arm: Arm, day: i32, event: FunnelEvent) -> EventRow {
    EventRow {
        visit_id,
        offer: OFFER.to_owned(),
        arm,
        currency: Currency::Eur,
        day: Day(day),
        event,
    }
}

#[test]
fn event_rows_fold_into_visits() {
    use FunnelEvent::*;
    let rows = [
        row(1, Arm::Base, 4, CheckoutViewed),
        row(1, Arm::Base, 4, BumpToggled { checked: true }),
        row(1, Arm::Base, 5, BumpToggled { checked: false }),
        row(1, Arm::Base, 5, ExitOfferShown),
        row(7, Arm::Base, 5, BumpToggled { checked: true }),
        row(7, Arm::Base, 5, Paid),
        row(9, Arm::Holdout, 6, CheckoutViewed),
    ];
    let mut from_rows = fold(free(), &[], &[]);
    from_rows.add_event_rows(&rows).unwrap();
    // Visit 1 began on day 4 and ended with the bump unticked; visit 7 ended with it ticked.
    let mut first = visit(Arm::Base, 4, &[Step::BumpToggled, Step::ExitOfferShown]);
    first.visit_id = 1;
    let mut second = visit(Arm::Base, 5, &[Step::Paid]);
    second.bump_checked = true;
    let third = visit(Arm::Holdout, 6, &[Step::CheckoutViewed]);
    assert_eq!(from_rows, fold(free(), &[], &[first, second, third]));

    let mut out_of_order = fold(free(), &[], &[]);
    let rows = [
        row(2, Arm::Base, 1, CheckoutViewed),
        row(1, Arm::Base, 1, Paid),
    ];
    assert_eq!(
        out_of_order.add_event_rows(&rows),
        Err(MetricsError::EventRowsOutOfOrder { visit_id: 1 })
    );
    let rows = [
        row(3, Arm::Base, 1, CheckoutViewed),
        row(3, variant("a"), 1, Paid),
    ];
    assert_eq!(
        fold(free(), &[], &[]).add_event_rows(&rows),
        Err(MetricsError::InconsistentVisit { visit_id: 3 })
    );
}
