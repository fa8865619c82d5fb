//! The SQL path (cells kept by triggers and `record_events`) against core's row-wise fold
//! (`Aggregates::add_order`, `add_event_rows`) over the same stored rows, on random histories
//! written through the store's own write paths.

use std::path::Path;

use momentum_core::api::{AddonKind, ChargeKind, ChargeStatus};
use momentum_core::metrics::{
    Aggregates, Arm, CostSchedule, Day, DayRange, EventRow, FunnelEvent, Line, Order, Refund,
    ReportQuery, Step,
};
use momentum_core::money::Currency;
use momentum_core::offer::{demo_offer, demo_offer_jpy, OfferConfig};
use momentum_core::tax::TaxMode;

use super::*;
use crate::insights::{aggregates_of, arm_of};
use crate::store::*;

/// splitmix64: a small deterministic generator, so a failing seed can be replayed.
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

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const BASE_SECS: i64 = 20_000 * 86_400;
const DAYS: i64 = 12;

fn charge(store: &SqliteStore, id: &str, status: ChargeStatus, now: i64) {
    let decline = (status == ChargeStatus::Declined).then(|| ("card_declined".into(), "no".into()));
    store
        .update_charge(
            &ChargeUpdate {
                charge_id: id.into(),
                status,
                gateway_ref: Some(format!("g_{id}")),
                action_url: None,
                decline,
            },
            now,
        )
        .expect("update charge");
}

fn line(kind: LineKind, amount: i64, tax_amount: i64) -> NewLine {
    NewLine {
        kind,
        label: format!("{} label", kind.as_str()),
        amount,
        tax_amount,
        rate_bp: 1900,
    }
}

/// Writes one random order through the store, as the service would.
fn random_order(store: &SqliteStore, rng: &mut Rng, i: usize, offers: &[OfferConfig]) {
    let offer = &offers[rng.below(offers.len() as u64) as usize];
    let exclusive = offer.tax_mode == TaxMode::Exclusive;
    let holdout = rng.chance(15);
    let variant = match (holdout, rng.below(3)) {
        (false, 1) => Some("a".to_string()),
        (false, 2) => Some("b".to_string()),
        _ => None,
    };
    let created = BASE_SECS + rng.below(DAYS as u64) as i64 * 86_400 + rng.below(86_400) as i64;
    let amount = |rng: &mut Rng| 1 + rng.below(9_000) as i64;
    let tax = |rng: &mut Rng, exclusive: bool| if exclusive { rng.below(900) as i64 } else { 0 };
    let mut lines = vec![line(LineKind::Product, amount(rng), tax(rng, exclusive))];
    if rng.chance(40) {
        lines.push(line(LineKind::Bump, amount(rng), tax(rng, exclusive)));
    }
    let charged = |l: &NewLine| l.amount + if exclusive { l.tax_amount } else { 0 };
    let order_id = format!("ord_{i:04}");
    let primary = format!("ch_{i:04}_p");
    let new = NewOrder {
        header: OrderHeader {
            id: order_id.clone(),
            offer_id: offer.id.clone(),
            variant,
            offer: offer.clone(),
            currency: offer.currency.clone(),
            tax_mode: offer.tax_mode,
            country: "DE".into(),
            email: format!("buyer{}@example.com", rng.below(5)),
            bump: lines.len() > 1,
            exit_offer: !holdout && rng.chance(20),
            holdout,
            payment_method: "pm".into(),
            card_brand: "visa".into(),
            card_last4: "4242".into(),
        },
        charge: NewCharge {
            id: primary.clone(),
            kind: ChargeKind::Primary,
            amount: lines.iter().map(charged).sum(),
        },
        lines,
    };
    let key = IdemKey {
        endpoint: "create_order",
        scope: String::new(),
        key: order_id.clone(),
    };
    assert_eq!(
        store.begin_order(&key, "fp", &new, created).expect("order"),
        Begin::Started
    );
    let status = match rng.below(20) {
        0 | 1 => ChargeStatus::Declined,
        2 => ChargeStatus::RequiresAction,
        3 => return, // left pending
        _ => ChargeStatus::Succeeded,
    };
    charge(store, &primary, status, created);
    if status != ChargeStatus::Succeeded {
        return;
    }
    let mut paid: Vec<(String, String, i64)> = new
        .lines
        .iter()
        .map(|l| (l.kind.as_str().to_string(), primary.clone(), charged(l)))
        .collect();
    let addon = |rng: &mut Rng, kind: ChargeKind, lk: LineKind, paid: &mut Vec<_>| {
        let l = line(lk, amount(rng), tax(rng, exclusive));
        let id = format!("ch_{i:04}_{}", kind.as_str());
        let c = NewCharge {
            id: id.clone(),
            kind,
            amount: charged(&l),
        };
        let key = IdemKey {
            endpoint: "addon",
            scope: order_id.clone(),
            key: id.clone(),
        };
        let begun = store
            .begin_addon(&key, "fp", &order_id, &l, &c, created + 5)
            .expect("addon");
        assert_eq!(begun, BeginAddon::Started);
        if rng.chance(80) {
            charge(store, &id, ChargeStatus::Succeeded, created + 6);
            paid.push((lk.as_str().to_string(), id, c.amount));
            true
        } else {
            charge(store, &id, ChargeStatus::Declined, created + 6);
            false
        }
    };
    if !holdout && offer.upsell.is_some() {
        if rng.chance(40) {
            addon(rng, ChargeKind::Upsell, LineKind::Upsell, &mut paid);
        } else if rng.chance(70) {
            store
                .record_decline(&order_id, AddonKind::Upsell, created + 5)
                .expect("decline");
            if offer.downsell.is_some() && rng.chance(40) {
                addon(rng, ChargeKind::Downsell, LineKind::Downsell, &mut paid);
            }
        }
    }
    for (line_id, charge_id, amount) in paid {
        if !rng.chance(12) {
            continue;
        }
        let at = created + rng.below(5 * 86_400) as i64;
        let refund = RefundRecord {
            id: format!("re_{i:04}_{line_id}"),
            line_id: line_id.clone(),
            charge_id,
            amount,
            gateway_ref: None,
            created_at: 0,
        };
        let BeginRefund::Go(r) = store
            .begin_refund(&order_id, &line_id, &refund, None, at)
            .expect("refund")
        else {
            panic!("refunded twice");
        };
        if rng.chance(85) {
            store
                .complete_refund(&r.id, "gref", at)
                .expect("complete refund");
        }
    }
}

/// A batch as sent: visit id, offer, variant, holdout, events, when it arrives (unix secs).
type Batch = (String, String, Option<String>, bool, Vec<NewEvent>, i64);

fn random_events(store: &SqliteStore, rng: &mut Rng, offers: &[OfferConfig], visits: usize) {
    let mut sent: Vec<Batch> = Vec::new();
    for v in 0..visits {
        let offer = &offers[rng.below(offers.len() as u64) as usize];
        let holdout = rng.chance(15);
        let variant = match (holdout, rng.below(3)) {
            (false, 1) => Some("a".to_string()),
            (false, 2) => Some("b".to_string()),
            _ => None,
        };
        // A few visit ids come back (another offer or arm in the same tab).
        let visit_id = format!("{:032x}", if v > 3 && rng.chance(10) { v - 3 } else { v });
        let start = BASE_SECS * 1000 + rng.below(DAYS as u64 * 86_400_000) as i64;
        for _ in 0..1 + rng.below(3) {
            let events: Vec<NewEvent> = (0..1 + rng.below(6))
                .map(|_| {
                    let step = STEP_CODES[rng.below(16) as usize];
                    NewEvent {
                        step,
                        at_ms: start + rng.below(2 * 86_400_000) as i64 - 3_600_000,
                        checked: (step == Step::BumpToggled).then(|| rng.chance(50)),
                    }
                })
                .collect();
            // Batches arrive up to a day and a half after the visit began (a tab left open).
            let arrives = start / 1000 + rng.below(129_600) as i64;
            sent.push((
                visit_id.clone(),
                offer.id.clone(),
                variant.clone(),
                holdout,
                events,
                arrives,
            ));
        }
    }
    // Some batches arrive twice, some late.
    for i in 0..sent.len() / 5 {
        let mut again = sent[i * 3 % sent.len()].clone();
        again.5 += 86_400;
        sent.push(again);
    }
    for (visit_id, offer_id, variant, holdout, events, arrives) in &sent {
        let currency = offers.iter().find(|o| &o.id == offer_id).expect("offer");
        let key = VisitKey {
            visit_id,
            offer_id,
            variant: variant.as_deref(),
            holdout: *holdout,
            currency: &currency.currency,
        };
        store.record_events(&key, events, *arrives).expect("events");
    }
}

fn funnel_event(step: Step, checked: Option<bool>) -> FunnelEvent {
    use FunnelEvent as F;
    match step {
        Step::CheckoutViewed => F::CheckoutViewed,
        Step::CheckoutInitiated => F::CheckoutInitiated,
        Step::BumpToggled => F::BumpToggled {
            checked: checked.unwrap_or(false),
        },
        Step::Paid => F::Paid,
        Step::UpsellOffered => F::UpsellOffered,
        Step::UpsellAccepted => F::UpsellAccepted,
        Step::UpsellDeclined => F::UpsellDeclined,
        Step::UpsellFailed => F::UpsellFailed,
        Step::DownsellOffered => F::DownsellOffered,
        Step::DownsellAccepted => F::DownsellAccepted,
        Step::DownsellDeclined => F::DownsellDeclined,
        Step::DownsellFailed => F::DownsellFailed,
        Step::ExitOfferShown => F::ExitOfferShown,
        Step::ExitOfferAccepted => F::ExitOfferAccepted,
        Step::ExitOfferDeclined => F::ExitOfferDeclined,
        Step::ReceiptShown => F::ReceiptShown,
    }
}

/// Core's row-wise fold over the stored rows, read independently of the cells.
fn row_fold(path: &Path, costs: Costs) -> Aggregates {
    let conn = Connection::open(path).expect("open");
    let mut aggregates = Aggregates::new(CostSchedule::uniform(costs).expect("costs"));
    let mut orders = conn
        .prepare(
            "SELECT o.id, o.offer_id, o.variant, o.holdout, o.currency, o.tax_mode, o.exit_offer, o.created_at
             FROM orders o JOIN charges c ON c.order_id = o.id
             WHERE c.kind = 'primary' AND c.status = 'succeeded' ORDER BY o.id",
        )
        .expect("orders");
    let rows = orders
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, bool>(6)?,
                r.get::<_, i64>(7)?,
            ))
        })
        .expect("rows")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    for (id, offer, variant, holdout, currency, tax_mode, exit_offer, created) in rows {
        let day = Day::from_unix_seconds(created, 0).expect("day");
        let lines = conn
            .prepare("SELECT l.kind, l.amount, l.tax_amount FROM order_lines l JOIN charges c ON c.id = l.charge_id WHERE l.order_id = ?1 AND c.status = 'succeeded'")
            .expect("lines")
            .query_map([&id], |r| {
                let kind: String = r.get(0)?;
                let (amount, tax): (i64, i64) = (r.get(1)?, r.get(2)?);
                Ok(Line {
                    kind: LineKind::parse(&kind).expect("kind"),
                    amount: amount + if tax_mode == "exclusive" { tax } else { 0 },
                })
            })
            .expect("lines")
            .collect::<Result<Vec<_>, _>>()
            .expect("lines");
        let charges = conn
            .prepare("SELECT amount FROM charges WHERE order_id = ?1 AND status = 'succeeded'")
            .expect("charges")
            .query_map([&id], |r| r.get::<_, i64>(0))
            .expect("charges")
            .collect::<Result<Vec<_>, _>>()
            .expect("charges");
        let refunds = conn
            .prepare("SELECT line_id, amount, created_at FROM refunds WHERE order_id = ?1 AND gateway_ref IS NOT NULL")
            .expect("refunds")
            .query_map([&id], |r| {
                let line: String = r.get(0)?;
                Ok(Refund {
                    line: LineKind::parse(&line).expect("line"),
                    amount: r.get(1)?,
                    day: Day::from_unix_seconds(r.get(2)?, 0).expect("day"),
                })
            })
            .expect("refunds")
            .collect::<Result<Vec<_>, _>>()
            .expect("refunds");
        aggregates
            .add_order(&Order {
                order_id: id,
                offer,
                arm: arm_of(holdout, variant.as_deref()),
                currency: Currency::from_code(&currency).expect("currency"),
                day,
                exit_discount: exit_offer,
                lines,
                charges,
                refunds,
            })
            .expect("add order");
    }
    let mut events = conn
        .prepare(
            "SELECT v.id, v.offer_id, v.variant, v.holdout, v.currency, e.step, e.at, e.checked, v.day
             FROM events e JOIN visits v ON v.id = e.visit ORDER BY v.id, e.at",
        )
        .expect("events");
    let rows = events
        .query_map([], |r| {
            let variant: String = r.get(2)?;
            let currency: String = r.get(4)?;
            Ok(EventRow {
                visit_id: r.get::<_, i64>(0)? as u64,
                offer: r.get(1)?,
                arm: arm_of(r.get(3)?, (!variant.is_empty()).then_some(variant.as_str())),
                currency: Currency::from_code(&currency).expect("currency"),
                day: Day(r.get(8)?),
                event: funnel_event(step_of_code(r.get(5)?).expect("step"), r.get(7)?),
            })
        })
        .expect("events")
        .collect::<Result<Vec<_>, _>>()
        .expect("events");
    aggregates.add_event_rows(&rows).expect("event rows");
    aggregates
}

/// The SQL path: every offer's cells through `aggregates_of`, merged.
fn from_cells(store: &SqliteStore, offers: &[OfferConfig], costs: Costs) -> Aggregates {
    let mut all = Aggregates::new(CostSchedule::uniform(costs).expect("costs"));
    for offer in offers {
        let (orders, visits) = store.insight_cells(&offer.id, 0, 40_000).expect("cells");
        let part = aggregates_of(&offer.id, &orders, &visits, costs).expect("aggregates");
        all.merge(&part).expect("merge");
    }
    all
}

fn all_cells(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).expect("open");
    let mut out = Vec::new();
    for table in ["order_facts", "order_cells", "visit_cells"] {
        let mut st = conn
            .prepare(&format!(
                "SELECT * FROM {table} ORDER BY 1, 2, 3, 4, 5, 6, 7"
            ))
            .expect("select");
        let n = st.column_count();
        let rows = st
            .query_map([], |r| {
                let values = (0..n)
                    .map(|i| {
                        r.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(format!("{table}: {}", values.join(" ")))
            })
            .expect("rows")
            .collect::<Result<Vec<_>, _>>()
            .expect("rows");
        out.extend(rows);
    }
    out.sort();
    out
}

fn check_seed(seed: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("insights.sqlite");
    let store = SqliteStore::open(&path).expect("open");
    let mut offer_b = demo_offer();
    offer_b.id = "second-course".into();
    let offers = vec![demo_offer(), demo_offer_jpy(), offer_b];
    let mut rng = Rng(seed);
    for i in 0..40 + rng.below(40) as usize {
        random_order(&store, &mut rng, i, &offers);
    }
    let visits = 30 + rng.below(40) as usize;
    random_events(&store, &mut rng, &offers, visits);
    let costs = Costs {
        fee_basis_points: rng.below(1_000) as u32,
        fee_fixed_minor: rng.below(60) as i64,
        support_per_refund_minor: rng.below(800) as i64,
    };
    let rows = row_fold(&path, costs);
    let cells = from_cells(&store, &offers, costs);
    assert_eq!(cells, rows, "seed {seed}: cells differ from the row fold");
    // The same reports, also over part of the range and against another control.
    let first = 20_000 + rng.below(DAYS as u64) as i32;
    let range = DayRange::new(Day(first), Day(first + rng.below(6) as i32)).expect("range");
    for control in [Arm::Holdout, Arm::Variant("a".into())] {
        let query = ReportQuery {
            range,
            control: control.clone(),
        };
        assert_eq!(cells.report(&query), rows.report(&query), "seed {seed}");
    }
    // A rebuild (a new VERSION, or a database from before the insights) finds the same cells.
    let before = all_cells(&path);
    drop(store);
    Connection::open(&path)
        .and_then(|c| c.execute("DELETE FROM meta WHERE key = 'insights_version'", []))
        .expect("forget version");
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(all_cells(&path), before, "seed {seed}: rebuild differs");
    assert_eq!(from_cells(&store, &offers, costs), rows, "seed {seed}");
    let installed: i64 = Connection::open(&path)
        .and_then(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'insights_%'",
                [],
                |r| r.get(0),
            )
        })
        .expect("triggers");
    assert_eq!(installed as usize, triggers().len(), "each trigger once");
}

#[test]
fn sql_cells_equal_the_row_fold_on_random_histories() {
    for seed in 0..24 {
        check_seed(seed);
    }
}

#[test]
fn orders_are_found_by_id_or_email_newest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("search.sqlite");
    let store = SqliteStore::open(&path).expect("open");
    let mut rng = Rng(7);
    for i in 0..60 {
        random_order(&store, &mut rng, i, &[demo_offer()]);
    }
    let conn = Connection::open(&path).expect("open");
    let expected: Vec<String> = conn
        .prepare("SELECT id FROM orders WHERE email = 'buyer1@example.com' ORDER BY created_at DESC, rowid DESC")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .expect("expected");
    assert!(expected.len() > 3);
    assert_eq!(
        store
            .search_order_ids("Buyer1@EXAMPLE.com", 200)
            .expect("search"),
        expected
    );
    assert_eq!(
        store
            .search_order_ids("buyer1@example.com", 2)
            .expect("search"),
        expected[..2]
    );
    assert_eq!(
        store.search_order_ids("ord_0007", 200).expect("search"),
        ["ord_0007"]
    );
    assert!(store
        .search_order_ids("nobody@example.com", 200)
        .expect("search")
        .is_empty());
    assert_eq!(
        store.offer_ids().expect("offers"),
        Vec::<String>::new(),
        "SqliteStore::open seeds nothing"
    );
}

#[test]
fn a_batch_sent_twice_counts_once_and_the_latest_toggle_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("e.sqlite")).expect("open");
    let key = VisitKey {
        visit_id: "0123456789abcdef0123456789abcdef",
        offer_id: "creator-course",
        variant: Some("a"),
        holdout: false,
        currency: "EUR",
    };
    let day = 20_000_i64;
    let now = day * 86_400 + 10;
    let at = now * 1000;
    let batch = [
        NewEvent {
            step: Step::CheckoutViewed,
            at_ms: at,
            checked: None,
        },
        NewEvent {
            step: Step::BumpToggled,
            at_ms: at + 5,
            checked: Some(true),
        },
    ];
    let first = store.record_events(&key, &batch, now).expect("first");
    assert_eq!(first.inserted, 2);
    let again = store
        .record_events(&key, &batch, now + 86_400)
        .expect("again");
    assert_eq!((again.inserted, again.duplicates), (0, 2));
    let (_, visits) = store
        .insight_cells("creator-course", 0, 40_000)
        .expect("cells");
    assert_eq!(visits.len(), 1);
    assert_eq!((visits[0].visits, visits[0].bump_checked), (1, true));
    assert!(visits[0].steps.contains(Step::CheckoutInitiated), "implied");
    // A batch arriving the next day, with an untick after the tick and an event from before
    // both: the untick is the bump state, and the visit stays on the day it was first heard of.
    let late = [
        NewEvent {
            step: Step::BumpToggled,
            at_ms: at + 9,
            checked: Some(false),
        },
        NewEvent {
            step: Step::Paid,
            at_ms: at - 60_000,
            checked: None,
        },
    ];
    store
        .record_events(&key, &late, now + 86_400)
        .expect("late");
    let (_, visits) = store
        .insight_cells("creator-course", 0, 40_000)
        .expect("cells");
    assert_eq!(visits.len(), 1, "{visits:?}");
    assert_eq!((visits[0].day, visits[0].bump_checked), (day as i32, false));
    assert!(visits[0].steps.contains(Step::Paid));
    // An older toggle arriving last changes nothing.
    let older = [NewEvent {
        step: Step::BumpToggled,
        at_ms: at + 7,
        checked: Some(true),
    }];
    store
        .record_events(&key, &older, now + 90_000)
        .expect("older");
    let (_, visits) = store
        .insight_cells("creator-course", 0, 40_000)
        .expect("cells");
    assert!(!visits[0].bump_checked);
}
