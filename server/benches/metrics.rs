//! Metrics benchmark (not a timed test): a SQLite database with 1 million orders (lines, charges,
//! about 5 % refunded) and 10 million funnel events for one offer over 90 days, plus noise for a
//! second offer, then `Service::metrics` for the 90 days, several runs, against the target of
//! 300 ms. Prints the database's size and indexes, and what a raw `GROUP BY` over one row per
//! order or visit would take instead of the cells.
//!
//!     cargo bench -p momentum-server --bench metrics --profile host
//!
//! The database is generated once (a minute or two: prepared statements in one transaction through
//! `sqlite::insights::bulk_load`, then the same rebuild a migration runs) and cached as
//! `target/tmp/momentum-bench/metrics-<version>.sqlite`; a change of [`VERSION`] or of the
//! insights' `VERSION` makes a new one. Its order rows carry `{}` as their offer snapshot: the
//! metrics never read it, and 1 million copies of a real one would be 1.5 GB.
//!
//! Tunables (environment): MOMENTUM_BENCH_RUNS (default 9).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use momentum_core::metrics::{Arm, Costs, Day, DayRange, Step};
use momentum_core::offer::{demo_offer, demo_offer_jpy};
use momentum_server::insights::store::step_code;
use momentum_server::insights::InsightsStore;
use momentum_server::service::Service;
use momentum_server::sqlite::{self, insights, SqliteStore};
use momentum_server::store::Store;
use momentum_server::test_gateway::TestGateway;
use rusqlite::{params, Connection, Transaction};

/// The synthetic history's definition; change it when the generator changes.
const VERSION: &str = "bench-2";
const ADMIN: &str = "sk_bench_metrics_admin_key";
const OFFER: &str = "creator-course";
const NOISE: &str = "tokyo-night-presets";
/// First day of the history (2025-07-31); 90 days follow.
const DAY0: i32 = 20_300;
const DAYS: i32 = 90;
const ORDERS: u64 = 1_000_000;
const EVENTS: u64 = 10_000_000;
const NOISE_ORDERS: u64 = 50_000;
const NOISE_EVENTS: u64 = 500_000;
const TARGET: Duration = Duration::from_millis(300);

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

/// What the generator wrote, checked against the report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Expected {
    buyers: u64,
    visits: u64,
    gross: i64,
    refunded: i64,
}

struct Statements<'t> {
    order: rusqlite::Statement<'t>,
    charge: rusqlite::Statement<'t>,
    line: rusqlite::Statement<'t>,
    refund: rusqlite::Statement<'t>,
    visit: rusqlite::Statement<'t>,
    event: rusqlite::Statement<'t>,
}

/// VAT of `amount` at `rate_bp`: included, or added on top.
fn vat(amount: i64, rate_bp: i64, exclusive: bool) -> i64 {
    let den = if exclusive { 10_000 } else { 10_000 + rate_bp };
    (amount * rate_bp * 2 + den) / (2 * den)
}

struct OfferShape {
    id: &'static str,
    currency: &'static str,
    exclusive: bool,
    product: i64,
    exit_product: i64,
    bump: [i64; 2],
    upsell: i64,
    downsell: i64,
    countries: &'static [(&'static str, i64)],
}

const MAIN: OfferShape = OfferShape {
    id: OFFER,
    currency: "EUR",
    exclusive: false,
    product: 4900,
    exit_product: 4410,
    bump: [900, 700],
    upsell: 2700,
    downsell: 1200,
    countries: &[("DE", 1900), ("NL", 2100), ("FR", 2000)],
};

const TOKYO: OfferShape = OfferShape {
    id: NOISE,
    currency: "JPY",
    exclusive: true,
    product: 4900,
    exit_product: 4900,
    bump: [900, 900],
    upsell: 2700,
    downsell: 2700,
    countries: &[("JP", 0), ("DE", 1900), ("HU", 2700), ("FI", 2550)],
};

#[derive(Default)]
struct Counters {
    order: u64,
    visit: u64,
}

/// One order with its lines, charges and maybe a refund; returns whether it was paid and its
/// gross and refunded amounts.
fn write_order(
    st: &mut Statements<'_>,
    rng: &mut Rng,
    n: &mut Counters,
    shape: &OfferShape,
) -> rusqlite::Result<Option<(i64, i64)>> {
    n.order += 1;
    let id = format!("ord_{:032x}", n.order);
    let day = DAY0 + rng.below(DAYS as u64) as i32;
    let created = i64::from(day) * 86_400 + rng.below(86_400) as i64;
    let holdout = rng.chance(100);
    let variant = match (holdout, rng.below(2)) {
        (true, _) => None,
        (false, 0) => Some("a"),
        (false, _) => Some("b"),
    };
    let exit = !holdout && rng.chance(80);
    let (country, rate) = shape.countries[rng.below(shape.countries.len() as u64) as usize];
    let email = format!("buyer{}@example.com", rng.below(300_000));
    st.order.execute(params![
        id,
        shape.id,
        variant,
        "{}",
        shape.currency,
        if shape.exclusive {
            "exclusive"
        } else {
            "inclusive"
        },
        country,
        email,
        false,
        exit,
        holdout,
        created
    ])?;
    let paid = !rng.chance(30);
    let charged = |amount: i64| {
        amount
            + if shape.exclusive {
                vat(amount, rate, true)
            } else {
                0
            }
    };
    let product = if exit {
        shape.exit_product
    } else {
        shape.product
    };
    let bump = (!holdout && rng.chance(350)).then(|| shape.bump[usize::from(variant == Some("b"))]);
    let primary = format!("ch_{:032x}_p", n.order);
    let primary_amount = charged(product) + bump.map_or(0, charged);
    st.charge.execute(params![
        primary,
        id,
        "primary",
        primary_amount,
        if paid { "succeeded" } else { "declined" },
        created
    ])?;
    let mut lines: Vec<(&str, i64, &str)> = vec![("product", product, "p")];
    if let Some(b) = bump {
        lines.push(("bump", b, "p"));
    }
    let mut gross = if paid { primary_amount } else { 0 };
    if paid && !holdout {
        if rng.chance(250) {
            let c = format!("ch_{:032x}_u", n.order);
            st.charge.execute(params![
                c,
                id,
                "upsell",
                charged(shape.upsell),
                "succeeded",
                created + 20
            ])?;
            lines.push(("upsell", shape.upsell, "u"));
            gross += charged(shape.upsell);
        } else if rng.chance(200) {
            let c = format!("ch_{:032x}_d", n.order);
            st.charge.execute(params![
                c,
                id,
                "downsell",
                charged(shape.downsell),
                "succeeded",
                created + 40
            ])?;
            lines.push(("downsell", shape.downsell, "d"));
            gross += charged(shape.downsell);
        }
    }
    for (position, (kind, amount, charge)) in lines.iter().enumerate() {
        let charge_id = format!("ch_{:032x}_{charge}", n.order);
        let tax = vat(*amount, rate, shape.exclusive);
        st.line.execute(params![
            id,
            kind,
            format!("{kind} label"),
            amount,
            tax,
            rate,
            charge_id,
            position as i64
        ])?;
    }
    if !paid {
        return Ok(None);
    }
    let mut refunded = 0;
    if rng.chance(50) {
        let (kind, amount, charge) = lines[rng.below(lines.len() as u64) as usize];
        let amount = charged(amount);
        st.refund.execute(params![
            format!("re_{:032x}", n.order),
            id,
            kind,
            format!("ch_{:032x}_{charge}", n.order),
            amount,
            created + rng.below(14 * 86_400) as i64
        ])?;
        refunded = amount;
    }
    Ok(Some((gross, refunded)))
}

/// One visit's events (a plausible funnel); returns how many.
fn write_visit(
    st: &mut Statements<'_>,
    rng: &mut Rng,
    n: &mut Counters,
    shape: &OfferShape,
) -> rusqlite::Result<u64> {
    n.visit += 1;
    let day = DAY0 + rng.below(DAYS as u64) as i32;
    let mut at = i64::from(day) * 86_400_000 + rng.below(86_400_000 - 3_600_000) as i64;
    let holdout = rng.chance(100);
    let variant = match (holdout, rng.below(2)) {
        (true, _) => "",
        (false, 0) => "a",
        (false, _) => "b",
    };
    st.visit.execute(params![
        format!("{:032x}", n.visit),
        shape.id,
        variant,
        holdout,
        shape.currency,
        day,
        at / 1000
    ])?;
    let id = n.visit as i64;
    let mut steps = vec![(Step::CheckoutViewed, None)];
    let initiated = rng.chance(700);
    if initiated {
        steps.push((Step::CheckoutInitiated, None));
        if !holdout && rng.chance(300) {
            for _ in 0..1 + rng.below(3) {
                steps.push((Step::BumpToggled, Some(rng.chance(600))));
            }
        }
    }
    if initiated && rng.chance(570) {
        steps.push((Step::Paid, None));
        if !holdout {
            steps.push((Step::UpsellOffered, None));
            if rng.chance(250) {
                steps.push((Step::UpsellAccepted, None));
            } else {
                steps.push((Step::UpsellDeclined, None));
                steps.push((Step::DownsellOffered, None));
                steps.push(if rng.chance(200) {
                    (Step::DownsellAccepted, None)
                } else {
                    (Step::DownsellDeclined, None)
                });
            }
        }
        steps.push((Step::ReceiptShown, None));
    } else if !holdout && rng.chance(150) {
        steps.push((Step::ExitOfferShown, None));
        steps.push(if rng.chance(300) {
            (Step::ExitOfferAccepted, None)
        } else {
            (Step::ExitOfferDeclined, None)
        });
    }
    for (step, checked) in &steps {
        at += 1 + rng.below(20_000) as i64;
        st.event
            .execute(params![id, step_code(*step), at, checked])?;
    }
    let written = steps.len() as u64;
    Ok(written)
}

fn generate(tx: &Transaction<'_>) -> rusqlite::Result<Expected> {
    let mut st = Statements {
        order: tx.prepare(
            "INSERT INTO orders (id, offer_id, variant, offer, currency, tax_mode, country, email, bump, exit_offer, holdout, payment_method, card_brand, card_last4, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'pm_bench', 'visa', '4242', ?12)",
        )?,
        charge: tx.prepare(
            "INSERT INTO charges (id, order_id, kind, amount, status, gateway_ref, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'g', ?6, ?6)",
        )?,
        line: tx.prepare(
            "INSERT INTO order_lines (order_id, id, kind, label, amount, tax_amount, rate_bp, charge_id, position)
             VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?,
        refund: tx.prepare(
            "INSERT INTO refunds (id, order_id, line_id, charge_id, amount, gateway_ref, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'gr', ?6)",
        )?,
        visit: tx.prepare(
            "INSERT INTO visits (visit_key, offer_id, variant, holdout, currency, day, steps, bump_at, bump_checked, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, NULL, 0, ?7)",
        )?,
        event: tx.prepare("INSERT INTO events (visit, step, at, checked) VALUES (?1, ?2, ?3, ?4)")?,
    };
    let mut rng = Rng(13);
    let mut n = Counters::default();
    let mut expected = Expected::default();
    let t = Instant::now();
    for i in 0..ORDERS + NOISE_ORDERS {
        let main = i % (ORDERS / NOISE_ORDERS + 1) != 0;
        let shape = if main { &MAIN } else { &TOKYO };
        if let (Some((gross, refunded)), true) =
            (write_order(&mut st, &mut rng, &mut n, shape)?, main)
        {
            expected.buyers += 1;
            expected.gross += gross;
            expected.refunded += refunded;
        }
    }
    println!("  {} orders in {:.1} s", n.order, t.elapsed().as_secs_f64());
    let t = Instant::now();
    let (mut events, mut noise) = (0, 0);
    while events < EVENTS || noise < NOISE_EVENTS {
        if events < EVENTS {
            events += write_visit(&mut st, &mut rng, &mut n, &MAIN)?;
            expected.visits += 1;
        }
        if noise < NOISE_EVENTS && rng.chance(50) {
            noise += write_visit(&mut st, &mut rng, &mut n, &TOKYO)?;
        }
    }
    println!(
        "  {} visits with {} events in {:.1} s",
        n.visit,
        events + noise,
        t.elapsed().as_secs_f64()
    );
    Ok(expected)
}

fn build(path: &Path) -> Expected {
    let t = Instant::now();
    println!("generating {} (once; cached) …", path.display());
    let partial = path.with_extension("partial");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", partial.display()));
    }
    drop(SqliteStore::open(&partial).expect("schema"));
    let mut conn = sqlite::open_connection(&partial).expect("open");
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;",
    )
    .expect("pragmas");
    let mut expected = Expected::default();
    insights::bulk_load(&mut conn, |tx| {
        expected = generate(tx)?;
        println!("  rebuilding the insights' derived tables …");
        Ok(())
    })
    .expect("generate");
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('bench_expected', ?1)",
        [format!(
            "{} {} {} {}",
            expected.buyers, expected.visits, expected.gross, expected.refunded
        )],
    )
    .expect("meta");
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")
        .expect("checkpoint");
    drop(conn);
    std::fs::rename(&partial, path).expect("rename");
    let _ = std::fs::remove_file(format!("{}-wal", partial.display()));
    let _ = std::fs::remove_file(format!("{}-shm", partial.display()));
    println!("  generated in {:.0} s", t.elapsed().as_secs_f64());
    expected
}

fn expected_of(conn: &Connection) -> Expected {
    let text: String = conn
        .query_row(
            "SELECT CAST(value AS TEXT) FROM meta WHERE key = 'bench_expected'",
            [],
            |r| r.get(0),
        )
        .expect("expected figures");
    let v: Vec<i64> = text
        .split(' ')
        .map(|x| x.parse().expect("number"))
        .collect();
    Expected {
        buyers: v[0] as u64,
        visits: v[1] as u64,
        gross: v[2],
        refunded: v[3],
    }
}

/// The write path's cost: orders through the store (as the service writes them: the order with its
/// lines and pending charge, then the charge's success), with and without the insights' triggers,
/// and event batches through `record_events`, on a fresh database.
fn write_costs() {
    use momentum_core::api::{ChargeKind, ChargeStatus};
    use momentum_core::quote::LineKind;
    use momentum_server::insights::store::{NewEvent, VisitKey};
    use momentum_server::store::{
        ChargeUpdate, IdemKey, NewCharge, NewLine, NewOrder, OrderHeader,
    };

    const N: usize = 2_000;
    let mut per_order = Vec::new();
    for triggers in [true, false] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("writes.sqlite");
        let store = SqliteStore::open(&path).expect("store");
        if !triggers {
            let conn = Connection::open(&path).expect("open");
            let names: Vec<String> = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'insights_%'")
                .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
                .expect("triggers");
            for name in names {
                conn.execute_batch(&format!("DROP TRIGGER \"{name}\";"))
                    .expect("drop");
            }
        }
        let line = |kind: LineKind, amount: i64| NewLine {
            kind,
            label: "label".into(),
            amount,
            tax_amount: amount * 19 / 119,
            rate_bp: 1900,
        };
        let t = Instant::now();
        for i in 0..N {
            let id = format!("ord_{i:032x}");
            let charge = format!("ch_{i:032x}");
            let order = NewOrder {
                header: OrderHeader {
                    id: id.clone(),
                    offer_id: OFFER.into(),
                    variant: Some("a".into()),
                    offer: demo_offer(),
                    currency: "EUR".into(),
                    tax_mode: momentum_core::tax::TaxMode::Inclusive,
                    country: "DE".into(),
                    email: "bench@example.com".into(),
                    bump: true,
                    exit_offer: false,
                    holdout: false,
                    payment_method: "pm".into(),
                    card_brand: "visa".into(),
                    card_last4: "4242".into(),
                },
                lines: vec![line(LineKind::Product, 4900), line(LineKind::Bump, 900)],
                charge: NewCharge {
                    id: charge.clone(),
                    kind: ChargeKind::Primary,
                    amount: 5800,
                },
            };
            let key = IdemKey {
                endpoint: "create_order",
                scope: String::new(),
                key: id,
            };
            store
                .begin_order(&key, "fp", &order, 1_767_225_600)
                .expect("order");
            store
                .update_charge(
                    &ChargeUpdate {
                        charge_id: charge,
                        status: ChargeStatus::Succeeded,
                        gateway_ref: Some("g".into()),
                        action_url: None,
                        decline: None,
                    },
                    1_767_225_600,
                )
                .expect("charge");
        }
        per_order.push(t.elapsed() / N as u32);
        if triggers {
            // The orders' fact rows are stale until the next read brings them up to date.
            let t = Instant::now();
            let (cells, _) = store.insight_cells(OFFER, 0, 40_000).expect("cells");
            assert_eq!(cells.iter().map(|c| c.orders).sum::<u64>(), N as u64);
            println!(
                "writes: the first report after {N} new orders brings their facts up to date: {} ({:.0} µs per order)",
                ms(t.elapsed()),
                (t.elapsed() / N as u32).as_secs_f64() * 1e6
            );
            let t = Instant::now();
            for i in 0..N {
                let visit_id = format!("{i:032x}");
                let key = VisitKey {
                    visit_id: &visit_id,
                    offer_id: OFFER,
                    variant: Some("a"),
                    holdout: false,
                    currency: "EUR",
                };
                let events: Vec<NewEvent> = [
                    Step::CheckoutViewed,
                    Step::CheckoutInitiated,
                    Step::Paid,
                    Step::UpsellOffered,
                    Step::ReceiptShown,
                ]
                .iter()
                .enumerate()
                .map(|(k, step)| NewEvent {
                    step: *step,
                    at_ms: 1_767_225_600_000 + k as i64,
                    checked: None,
                })
                .collect();
                store
                    .record_events(&key, &events, 1_767_225_600)
                    .expect("events");
            }
            println!(
                "writes: record_events, a batch of 5 events of a new visit: {:.0} µs",
                (t.elapsed() / N as u32).as_secs_f64() * 1e6
            );
        }
    }
    println!(
        "writes: an order through the store (begin_order + update_charge): {:.0} µs with the insights' triggers, {:.0} µs without",
        per_order[0].as_secs_f64() * 1e6,
        per_order[1].as_secs_f64() * 1e6
    );
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).expect(sql)
}

fn main() {
    let runs: usize = std::env::var("MOMENTUM_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9)
        .max(1);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("momentum-bench");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let path = dir.join(format!("metrics-{VERSION}-{}.sqlite", insights::VERSION));
    if !path.exists() {
        build(&path);
    }
    let conn = Connection::open(&path).expect("open");
    let expected = expected_of(&conn);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "database: {} ({:.0} MB): {} orders, {} charges, {} order lines, {} refunds, {} visits, {} events",
        path.display(),
        size as f64 / 1e6,
        count(&conn, "SELECT COUNT(*) FROM orders"),
        count(&conn, "SELECT COUNT(*) FROM charges"),
        count(&conn, "SELECT COUNT(*) FROM order_lines"),
        count(&conn, "SELECT COUNT(*) FROM refunds"),
        count(&conn, "SELECT COUNT(*) FROM visits"),
        count(&conn, "SELECT COUNT(*) FROM events"),
    );
    println!(
        "cells: {} order cells and {} visit cells ({} and {} for {OFFER})",
        count(&conn, "SELECT COUNT(*) FROM order_cells"),
        count(&conn, "SELECT COUNT(*) FROM visit_cells"),
        count(
            &conn,
            "SELECT COUNT(*) FROM order_cells WHERE offer_id = 'creator-course'"
        ),
        count(
            &conn,
            "SELECT COUNT(*) FROM visit_cells WHERE offer_id = 'creator-course'"
        ),
    );
    println!("indexes:");
    let mut st = conn
        .prepare("SELECT tbl_name, name, IFNULL(sql, '(automatic: primary key or unique)') FROM sqlite_master WHERE type = 'index' ORDER BY tbl_name, name")
        .expect("indexes");
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .expect("indexes");
    for row in rows {
        let (table, name, sql) = row.expect("index");
        println!(
            "  {table:<16} {name:<36} {}",
            sql.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    for (table, pk) in [
        ("order_cells", "PRIMARY KEY (offer_id, day, variant, holdout, currency, exit_offer, <amounts>) WITHOUT ROWID"),
        ("visit_cells", "PRIMARY KEY (offer_id, day, variant, holdout, currency, steps, bump_checked) WITHOUT ROWID"),
        ("events", "PRIMARY KEY (visit, step, at) WITHOUT ROWID"),
    ] {
        println!("  {table:<16} {:<36} {pk}", "(table)");
    }

    let store = Arc::new(SqliteStore::open(&path).expect("store"));
    for offer in [demo_offer(), demo_offer_jpy()] {
        store.seed_offer(&offer, 0).expect("offer");
    }
    let gateway =
        Arc::new(TestGateway::open(&path, "http://127.0.0.1", Duration::ZERO).expect("gateway"));
    let service = Service::new(store.clone(), gateway, ADMIN.into()).expect("service");
    let costs = Costs {
        fee_basis_points: 290,
        fee_fixed_minor: 25,
        support_per_refund_minor: 500,
    };
    service.set_costs(costs, Some(ADMIN)).expect("costs");
    let range = DayRange::new(Day(DAY0), Day(DAY0 + DAYS - 1)).expect("range");

    let mut times = Vec::new();
    let mut report = None;
    for run in 0..=runs {
        let t = Instant::now();
        let r = service
            .metrics(OFFER, range, Arm::Holdout, Some(ADMIN))
            .expect("metrics");
        if run > 0 {
            times.push(t.elapsed());
        }
        report = Some(r);
    }
    times.sort();
    let report = report.expect("a report");
    let t = Instant::now();
    let (orders, visits) = store
        .insight_cells(OFFER, range.first().0, range.last().0)
        .expect("cells");
    let read = t.elapsed();
    println!(
        "Service::metrics({OFFER}, 90 days, control holdout), {runs} runs after a warm-up: min {}  median {}  max {}  (target ≤ {}); of which reading {} + {} cells: {}",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
        ms(TARGET),
        orders.len(),
        visits.len(),
        ms(read)
    );

    // The report must account for every generated order and visit.
    let group = report
        .groups
        .iter()
        .find(|g| g.currency.code() == "EUR")
        .expect("EUR group");
    let got = Expected {
        buyers: group.totals.buyers,
        visits: group.totals.visits,
        gross: group.totals.money.gross,
        refunded: group.totals.money.refunded,
    };
    println!(
        "  report: {} buyers, {} visits, gross {} refunded {} net {} (EUR cents); arms {}",
        got.buyers,
        got.visits,
        got.gross,
        got.refunded,
        group.totals.money.net,
        group
            .arms
            .iter()
            .map(|a| momentum_server::insights::arm_label(&a.arm))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let correct = got == expected;
    if !correct {
        println!("  MISMATCH: the generator wrote {expected:?}");
    }

    // For comparison: what the same sums cost as a GROUP BY over one row per order or visit.
    let t = Instant::now();
    let n: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM (SELECT variant, holdout, day, COUNT(*), SUM(product >= 0), SUM(bump >= 0),
                    SUM(upsell >= 0), SUM(downsell >= 0), SUM(exit_offer),
                    SUM(MAX(product, 0) + MAX(bump, 0) + MAX(upsell, 0) + MAX(downsell, 0)),
                    SUM(refunded_product + refunded_bump + refunded_upsell + refunded_downsell),
                    SUM((primary_charge * 290 + 5000) / 10000 + 25
                        + CASE WHEN upsell_charge >= 0 THEN (upsell_charge * 290 + 5000) / 10000 + 25 ELSE 0 END
                        + CASE WHEN downsell_charge >= 0 THEN (downsell_charge * 290 + 5000) / 10000 + 25 ELSE 0 END)
             FROM order_facts WHERE offer_id = ?1 AND day BETWEEN ?2 AND ?3 GROUP BY variant, holdout, day)",
            params![OFFER, range.first().0, range.last().0],
            |r| r.get(0),
        )
        .expect("raw orders");
    let raw_orders = t.elapsed();
    let t = Instant::now();
    let m: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM (SELECT variant, holdout, day, COUNT(*),
                    SUM(steps & 1), SUM(steps >> 1 & 1), SUM(steps >> 2 & 1), SUM(steps >> 3 & 1), SUM(steps >> 4 & 1),
                    SUM(steps >> 5 & 1), SUM(steps >> 6 & 1), SUM(bump_checked)
             FROM visits WHERE offer_id = ?1 AND day BETWEEN ?2 AND ?3 GROUP BY variant, holdout, day)",
            params![OFFER, range.first().0, range.last().0],
            |r| r.get(0),
        )
        .expect("raw visits");
    println!(
        "  for comparison, a GROUP BY over one row per order (order_facts): {} ({n} groups); per visit (visits, no index): {} ({m} groups)",
        ms(raw_orders),
        ms(t.elapsed())
    );
    write_costs();
    let fast = times[times.len() / 2] <= TARGET;
    if !fast {
        println!("  median above the target");
    }
    if !(fast && correct) {
        std::process::exit(1);
    }
}
