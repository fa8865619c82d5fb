//! Creator-insights timing: the row-wise fold of 1 million synthetic orders and 10 million synthetic
//! event rows (one offer, 90 days, a holdout and two variants), then the report from the
//! aggregates, and the SQL path (per-(arm, day) sums handed in, then the report). Prints figures,
//! asserts no timings: `cargo bench -p momentum-core --bench metrics`.
//!
//! Rows are generated in chunks outside the timed sections (a seeded SplitMix64, so the figures
//! are reproducible), so only the fold itself is measured and memory stays small.

use std::time::{Duration, Instant};

use momentum_core::metrics::{
    Aggregates, Arm, Comparison, CostSchedule, Costs, Day, DayRange, DaySums, Estimate, EventRow,
    FunnelEvent, Line, Order, Refund, ReportQuery, SegmentKey,
};
use momentum_core::money::Currency;
use momentum_core::quote::LineKind;

const ORDERS: usize = 1_000_000;
const EVENT_ROWS: usize = 10_000_000;
const DAYS: i32 = 90;
const FIRST_DAY: i32 = 20_454; // 2026-01-01
const CHUNK: usize = 50_000;
const REPORT_RUNS: u32 = 50;
const SEED: u64 = 0x6d6f_6d65_6e74_756d; // "momentum"
const OFFER: &str = "creator-course";

/// SplitMix64 (Steele, Lea & Flood 2014).
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// 10 % holdout, 45 % each variant.
fn pick_arm(rng: &mut Rng) -> Arm {
    match rng.below(20) {
        0 | 1 => Arm::Holdout,
        2..=10 => Arm::Variant("a".into()),
        _ => Arm::Variant("b".into()),
    }
}

fn synthetic_order(rng: &mut Rng, index: usize) -> Order {
    let arm = pick_arm(rng);
    let offers = arm != Arm::Holdout;
    let day = FIRST_DAY + rng.below(DAYS as u64) as i32;
    let exit_discount = offers && rng.chance(0.05);
    let product = if exit_discount { 4410 } else { 4900 };
    // Variant b prices the bump lower (700) and attaches more often, with more refunds.
    let is_b = arm == Arm::Variant("b".into());
    let (bump_price, bump_rate, bump_refunds) = if is_b {
        (700, 0.40, 0.10)
    } else {
        (900, 0.30, 0.05)
    };
    let mut lines = vec![Line {
        kind: LineKind::Product,
        amount: product,
    }];
    if offers && rng.chance(bump_rate) {
        lines.push(Line {
            kind: LineKind::Bump,
            amount: bump_price,
        });
    }
    let mut charges = vec![lines.iter().map(|l| l.amount).sum()];
    if offers && rng.chance(0.15) {
        lines.push(Line {
            kind: LineKind::Upsell,
            amount: 2700,
        });
        charges.push(2700);
    } else if offers && rng.chance(0.08) {
        lines.push(Line {
            kind: LineKind::Downsell,
            amount: 1200,
        });
        charges.push(1200);
    }
    let mut refunds = Vec::new();
    for line in &lines {
        let rate = match line.kind {
            LineKind::Bump => bump_refunds,
            LineKind::Product => 0.03,
            _ => 0.06,
        };
        if rng.chance(rate) {
            refunds.push(Refund {
                line: line.kind,
                amount: line.amount,
                day: Day(day + rng.below(14) as i32),
            });
        }
    }
    Order {
        order_id: format!("ord_{index}"),
        offer: OFFER.into(),
        arm,
        currency: Currency::Eur,
        day: Day(day),
        exit_discount,
        lines,
        charges,
        refunds,
    }
}

/// One visit's rows, in time order: about five on average.
fn synthetic_visit(rng: &mut Rng, visit_id: u64, rows: &mut Vec<EventRow>) {
    use FunnelEvent::*;
    let arm = pick_arm(rng);
    let offers = arm != Arm::Holdout;
    let day = Day(FIRST_DAY + rng.below(DAYS as u64) as i32);
    let mut push = |event| {
        rows.push(EventRow {
            visit_id,
            offer: OFFER.into(),
            arm: arm.clone(),
            currency: Currency::Eur,
            day,
            event,
        })
    };
    push(CheckoutViewed);
    if !rng.chance(0.7) {
        if offers && rng.chance(0.2) {
            push(ExitOfferShown);
            push(if rng.chance(0.3) {
                ExitOfferAccepted
            } else {
                ExitOfferDeclined
            });
        }
        return;
    }
    push(CheckoutInitiated);
    if offers && rng.chance(0.35) {
        push(BumpToggled { checked: true });
        if rng.chance(0.1) {
            push(BumpToggled { checked: false });
        }
    }
    if !rng.chance(0.75) {
        return;
    }
    push(Paid);
    if offers {
        push(UpsellOffered);
        if rng.chance(0.15) {
            push(UpsellAccepted);
        } else {
            push(UpsellDeclined);
            push(DownsellOffered);
            push(if rng.chance(0.1) {
                DownsellAccepted
            } else {
                DownsellDeclined
            });
        }
    }
    push(ReceiptShown);
}

/// An estimate as `value [low, high]`, scaled (100 for a percentage) with `decimals` digits.
fn estimate(e: &Estimate, scale: f64, decimals: usize) -> String {
    match e {
        Estimate::Value { value, low, high } => format!(
            "{:.decimals$} [{:.decimals$}, {:.decimals$}]",
            value * scale,
            low * scale,
            high * scale
        ),
        Estimate::NotEnoughData { of, n, needed } => format!("not enough {of:?} ({n}/{needed})"),
    }
}

fn versus(c: &Comparison) -> String {
    match c {
        Comparison::Difference(e) => estimate(e, 1.0, 1),
        Comparison::IsControl => "control".into(),
        Comparison::NoControl => "no control".into(),
    }
}

fn main() {
    let costs = CostSchedule::uniform(Costs {
        fee_basis_points: 290,
        fee_fixed_minor: 25,
        support_per_refund_minor: 150,
    })
    .expect("valid costs");
    let mut aggregates = Aggregates::new(costs.clone());
    let mut rng = Rng(SEED);

    let mut order_time = Duration::ZERO;
    let mut chunk = Vec::with_capacity(CHUNK);
    for start in (0..ORDERS).step_by(CHUNK) {
        chunk.clear();
        chunk.extend((start..(start + CHUNK).min(ORDERS)).map(|i| synthetic_order(&mut rng, i)));
        let started = Instant::now();
        for order in &chunk {
            aggregates.add_order(order).expect("valid synthetic order");
        }
        order_time += started.elapsed();
    }

    let mut event_time = Duration::ZERO;
    let (mut visit_id, mut event_rows) = (0_u64, 0_usize);
    let mut rows = Vec::with_capacity(CHUNK * 2 + 16);
    {
        let mut fold = aggregates.visit_fold();
        while event_rows < EVENT_ROWS {
            rows.clear();
            while rows.len() < CHUNK * 2 && event_rows + rows.len() < EVENT_ROWS {
                synthetic_visit(&mut rng, visit_id, &mut rows);
                visit_id += 1;
            }
            let started = Instant::now();
            for row in &rows {
                fold.push(row).expect("sorted synthetic rows");
            }
            event_time += started.elapsed();
            event_rows += rows.len();
        }
        let started = Instant::now();
        fold.finish().expect("last visit");
        event_time += started.elapsed();
    }

    let range = DayRange::new(Day(FIRST_DAY), Day(FIRST_DAY + DAYS - 1)).expect("90 days");
    let query = ReportQuery {
        range,
        control: Arm::Holdout,
    };
    let started = Instant::now();
    let mut report = aggregates.report(&query).expect("report");
    for _ in 1..REPORT_RUNS {
        report = aggregates.report(&query).expect("report");
    }
    let report_time = started.elapsed() / REPORT_RUNS;

    // The SQL path: one `GROUP BY arm, day` row per cell, handed in and reported on.
    let sql_rows: Vec<(SegmentKey, Day, DaySums)> = aggregates
        .cells()
        .map(|(key, day, sums)| (key.clone(), day, *sums))
        .collect();
    let started = Instant::now();
    let mut from_sql_report = None;
    for _ in 0..REPORT_RUNS {
        let mut from_sql = Aggregates::new(costs.clone());
        for (key, day, sums) in &sql_rows {
            from_sql.add_sums(key, *day, sums).expect("consistent sums");
        }
        from_sql_report = Some(from_sql.report(&query).expect("report"));
    }
    let sql_time = started.elapsed() / REPORT_RUNS;
    assert_eq!(from_sql_report.as_ref(), Some(&report), "one computation");

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "row-wise fold: {ORDERS} orders in {:.1} ms ({:.0} ns/order); {event_rows} event rows ({visit_id} visits) in {:.1} ms ({:.1} ns/row); total {:.1} ms",
        ms(order_time),
        order_time.as_nanos() as f64 / ORDERS as f64,
        ms(event_time),
        event_time.as_nanos() as f64 / event_rows as f64,
        ms(order_time + event_time),
    );
    println!(
        "report from the aggregates ({} cells, {DAYS} days): {:.3} ms; from SQL sums (add_sums + report): {:.3} ms",
        sql_rows.len(),
        ms(report_time),
        ms(sql_time),
    );
    for group in &report.groups {
        println!(
            "{} {}: {} visits, {} buyers, net {} minor units",
            group.offer,
            group.currency,
            group.totals.visits,
            group.totals.buyers,
            group.totals.money.net
        );
        for arm in &group.arms {
            println!(
                "  {:<10} conversion {} %  net/buyer {}  net/visitor {} (vs holdout {})  refund rate {} %",
                arm.arm.to_string(),
                estimate(&arm.conversion.estimate, 100.0, 2),
                estimate(&arm.net_per_buyer.estimate, 1.0, 1),
                estimate(&arm.net_per_visitor.estimate, 1.0, 1),
                versus(&arm.net_per_visitor.vs_control),
                estimate(&arm.refund_rate.estimate, 100.0, 2),
            );
        }
    }
}
