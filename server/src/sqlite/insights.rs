//! SQLite storage of the insights: funnel events and visits, creator costs, and the cells the
//! metrics read (see [`crate::insights::store`]).
//!
//! - `visits` is one row per visit (visit id, offer, arm, currency) with its day and its state
//!   folded from its events: steps reached as a bit mask of [`STEP_CODES`], the last bump toggle.
//!   `events` keeps every event once (`PRIMARY KEY (visit, step, at)`: a batch sent twice is
//!   stored once, `INSERT OR IGNORE`). `record_events` updates the visit and moves it from its old
//!   `visit_cells` row to its new one in the same transaction.
//! - `order_facts` is one row per paid order with its money shape, and `order_cells` counts orders
//!   per shape. Triggers on `charges`, `order_lines`, `refunds` and `orders` mark a changed order's
//!   fact row stale (`order_facts_stale`), so every write path of the store (and any added later)
//!   keeps them right without knowing about them, for a few microseconds per write; the stale rows
//!   are recomputed before cells are read, and the fact row's insert and delete move the order's
//!   count between cells (triggers on `order_facts`).
//! - In both cell tables `-1` stands for "absent" (no such paid line, no such succeeded charge):
//!   amounts are never negative (`CHECK`), and primary-key columns cannot be `NULL`.
//!
//! Days are UTC days of the server's clock: an order's is `created_at / 86400`, a visit's the day
//! its first batch arrived (`visits.day`; the widget's clock only orders a visit's bump toggles
//! and tells a resent event from a new one). [`VERSION`] names the derived tables' definition; a
//! database with another one (or none: created before them) has them rebuilt when opened.

use momentum_core::metrics::{ByLine, Costs};
use momentum_core::quote::LineKind;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::{err, SqliteStore};
use crate::insights::store::*;
use crate::store::StoreResult;

/// The definition of the derived tables and triggers; change it to have them rebuilt.
pub const VERSION: &str = "insights-1";

/// Tables holding data of their own (never rebuilt), and indexes on the order tables: migration 3
/// ([`super::migrations`]).
pub(super) const BASE: &str = r#"
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS visits (
    id INTEGER PRIMARY KEY,
    visit_key TEXT NOT NULL,
    offer_id TEXT NOT NULL,
    variant TEXT NOT NULL,
    holdout INTEGER NOT NULL,
    currency TEXT NOT NULL,
    day INTEGER NOT NULL,
    steps INTEGER NOT NULL,
    bump_at INTEGER,
    bump_checked INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (visit_key, offer_id, variant, holdout, currency)
);
CREATE TABLE IF NOT EXISTS events (
    visit INTEGER NOT NULL REFERENCES visits(id),
    step INTEGER NOT NULL,
    at INTEGER NOT NULL,
    checked INTEGER,
    PRIMARY KEY (visit, step, at)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS order_facts_stale (
    order_id TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS orders_offer_created ON orders (offer_id, created_at);
CREATE INDEX IF NOT EXISTS orders_created ON orders (created_at);
CREATE INDEX IF NOT EXISTS orders_email ON orders (email COLLATE NOCASE);
"#;

/// The columns of a fact row and of a cell's key, in the cells' primary-key order.
const FACT_COLS: [&str; 17] = [
    "offer_id",
    "day",
    "variant",
    "holdout",
    "currency",
    "exit_offer",
    "product",
    "bump",
    "upsell",
    "downsell",
    "primary_charge",
    "upsell_charge",
    "downsell_charge",
    "refunded_product",
    "refunded_bump",
    "refunded_upsell",
    "refunded_downsell",
];

const VISIT_CELL_COLS: &str = "offer_id, day, variant, holdout, currency, steps, bump_checked";

const LINE_KINDS: [LineKind; 4] = [
    LineKind::Product,
    LineKind::Bump,
    LineKind::Upsell,
    LineKind::Downsell,
];

fn cols() -> String {
    FACT_COLS.join(", ")
}

fn derived_tables() -> String {
    let typed = FACT_COLS
        .iter()
        .map(|c| match *c {
            "offer_id" | "variant" | "currency" => format!("{c} TEXT NOT NULL"),
            _ => format!("{c} INTEGER NOT NULL"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let cols = cols();
    format!(
        "CREATE TABLE IF NOT EXISTS order_facts (order_id TEXT PRIMARY KEY, {typed}) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS order_cells ({typed}, orders INTEGER NOT NULL, PRIMARY KEY ({cols})) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS visit_cells (
             offer_id TEXT NOT NULL, day INTEGER NOT NULL, variant TEXT NOT NULL, holdout INTEGER NOT NULL,
             currency TEXT NOT NULL, steps INTEGER NOT NULL, bump_checked INTEGER NOT NULL,
             visits INTEGER NOT NULL,
             PRIMARY KEY ({VISIT_CELL_COLS})) WITHOUT ROWID;"
    )
}

const DROP_DERIVED: &str =
    "DROP TABLE IF EXISTS order_cells; DROP TABLE IF EXISTS order_facts; DROP TABLE IF EXISTS visit_cells;";

/// The fact rows (`order_id` then [`FACT_COLS`]) of the paid orders matching `filter` (SQL on
/// `o`, the orders table). A line counts when its charge succeeded, with its VAT when VAT is added
/// on top (what its charge collected for it); a refund counts once the provider made it.
fn facts_select(filter: &str) -> String {
    let paid = |kind: &str| {
        format!(
            "IFNULL((SELECT l.amount + CASE WHEN o.tax_mode = 'exclusive' THEN l.tax_amount ELSE 0 END
                     FROM order_lines l JOIN charges c ON c.id = l.charge_id
                     WHERE l.order_id = o.id AND l.id = '{kind}' AND c.status = 'succeeded'), -1)"
        )
    };
    let refunded = |kind: &str| {
        format!(
            "IFNULL((SELECT r.amount FROM refunds r
                     WHERE r.order_id = o.id AND r.line_id = '{kind}' AND r.gateway_ref IS NOT NULL), 0)"
        )
    };
    let lines = LINE_KINDS.map(|k| paid(k.as_str())).join(", ");
    let refunds = LINE_KINDS.map(|k| refunded(k.as_str())).join(", ");
    format!(
        "SELECT o.id, o.offer_id, o.created_at / 86400, IFNULL(o.variant, ''), o.holdout, o.currency, o.exit_offer,
                {lines},
                cp.amount, IFNULL(cu.amount, -1), IFNULL(cd.amount, -1),
                {refunds}
         FROM orders o
         JOIN charges cp ON cp.order_id = o.id AND cp.kind = 'primary' AND cp.status = 'succeeded'
         LEFT JOIN charges cu ON cu.order_id = o.id AND cu.kind = 'upsell' AND cu.status = 'succeeded'
         LEFT JOIN charges cd ON cd.order_id = o.id AND cd.kind = 'downsell' AND cd.status = 'succeeded'
         WHERE {filter}"
    )
}

/// Marks the fact row of the order `id` (an SQL expression) stale.
fn mark_stale(id: &str) -> String {
    format!("INSERT OR IGNORE INTO order_facts_stale (order_id) VALUES ({id});")
}

/// Triggers keeping the facts and the cells. On the order tables they only mark the order's fact
/// row stale: a trigger's program is compiled into every statement that fires it, and the order
/// tables are written with statements prepared per call, so their triggers stay one tiny insert
/// (the write path of an order pays a few microseconds). [`refresh_stale`] recomputes the stale
/// rows before the cells are read. On the facts they move the order's count between cells. Rows
/// are never deleted by the store, but a deletion is followed all the same.
fn triggers() -> Vec<(String, String)> {
    let cols = cols();
    let new = FACT_COLS.map(|c| format!("NEW.{c}")).join(", ");
    let old_key = FACT_COLS.map(|c| format!("{c} = OLD.{c}")).join(" AND ");
    let mut out = Vec::new();
    // What in a row of each table can change an order's money.
    for (table, short, watched) in [
        ("charges", "charge", &["status", "amount", "kind"][..]),
        (
            "order_lines",
            "line",
            &["id", "amount", "tax_amount", "charge_id"][..],
        ),
        (
            "refunds",
            "refund",
            &["gateway_ref", "amount", "line_id"][..],
        ),
    ] {
        let changed = watched
            .iter()
            .chain(&["order_id"])
            .map(|c| format!("OLD.{c} IS NOT NEW.{c}"))
            .collect::<Vec<_>>()
            .join(" OR ");
        out.push((
            format!("insights_{short}_added"),
            format!(
                "AFTER INSERT ON {table} BEGIN {} END",
                mark_stale("NEW.order_id")
            ),
        ));
        out.push((
            format!("insights_{short}_changed"),
            format!(
                "AFTER UPDATE ON {table} WHEN {changed} BEGIN {} {} END",
                mark_stale("OLD.order_id"),
                mark_stale("NEW.order_id")
            ),
        ));
        out.push((
            format!("insights_{short}_removed"),
            format!(
                "AFTER DELETE ON {table} BEGIN {} END",
                mark_stale("OLD.order_id")
            ),
        ));
    }
    out.push((
        "insights_order_changed".into(),
        format!(
            "AFTER UPDATE ON orders BEGIN {} {} END",
            mark_stale("OLD.id"),
            mark_stale("NEW.id")
        ),
    ));
    out.push((
        "insights_order_removed".into(),
        format!("AFTER DELETE ON orders BEGIN {} END", mark_stale("OLD.id")),
    ));
    out.push((
        "insights_fact_added".into(),
        format!(
            "AFTER INSERT ON order_facts BEGIN
               INSERT INTO order_cells ({cols}, orders) VALUES ({new}, 1)
                 ON CONFLICT ({cols}) DO UPDATE SET orders = orders + 1;
             END"
        ),
    ));
    out.push((
        "insights_fact_removed".into(),
        format!(
            "AFTER DELETE ON order_facts BEGIN
               UPDATE order_cells SET orders = orders - 1 WHERE {old_key};
               DELETE FROM order_cells WHERE {old_key} AND orders <= 0;
             END"
        ),
    ));
    out
}

/// Recomputes the fact rows marked stale (their cells follow by trigger); returns how many.
fn refresh_stale(tx: &Connection) -> rusqlite::Result<usize> {
    let ids = tx
        .prepare_cached("SELECT order_id FROM order_facts_stale")?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut delete = tx.prepare_cached("DELETE FROM order_facts WHERE order_id = ?1")?;
    let mut insert = tx.prepare_cached(&format!(
        "INSERT INTO order_facts (order_id, {}) {}",
        cols(),
        facts_select("o.id = ?1")
    ))?;
    for id in &ids {
        delete.execute([id])?;
        insert.execute([id])?;
    }
    tx.prepare_cached("DELETE FROM order_facts_stale")?
        .execute([])?;
    Ok(ids.len())
}

/// Drops every insights trigger, also ones an older version of this code created.
fn drop_triggers(tx: &Connection) -> rusqlite::Result<()> {
    let names = tx
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'insights\\_%' ESCAPE '\\'")?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    for name in names {
        tx.execute_batch(&format!("DROP TRIGGER IF EXISTS \"{name}\";"))?;
    }
    Ok(())
}

fn create_triggers(tx: &Connection) -> rusqlite::Result<()> {
    for (name, body) in triggers() {
        tx.execute_batch(&format!("CREATE TRIGGER {name} {body};"))?;
    }
    Ok(())
}

/// Adds `delta` visits to the cell of `visit` in `state` (a cell left with none is deleted).
fn move_visit(
    tx: &Connection,
    visit: &VisitKey<'_>,
    state: &VisitState,
    delta: i64,
) -> rusqlite::Result<()> {
    let (day, variant) = (state.day, visit.variant.unwrap_or(""));
    tx.prepare_cached(&format!(
        "INSERT INTO visit_cells ({VISIT_CELL_COLS}, visits) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT ({VISIT_CELL_COLS}) DO UPDATE SET visits = visits + excluded.visits"
    ))?
    .execute(params![
        visit.offer_id,
        day,
        variant,
        visit.holdout,
        visit.currency,
        state.steps,
        state.bump_checked,
        delta
    ])?;
    if delta < 0 {
        tx.prepare_cached(
            "DELETE FROM visit_cells WHERE offer_id = ?1 AND day = ?2 AND variant = ?3 AND holdout = ?4
             AND currency = ?5 AND steps = ?6 AND bump_checked = ?7 AND visits <= 0",
        )?
        .execute(params![
            visit.offer_id,
            day,
            variant,
            visit.holdout,
            visit.currency,
            state.steps,
            state.bump_checked
        ])?;
    }
    Ok(())
}

/// Recomputes every visit's state from its events, then every derived table.
fn rebuild(tx: &Connection) -> rusqlite::Result<()> {
    tx.execute_batch(
        "DELETE FROM order_cells; DELETE FROM order_facts; DELETE FROM visit_cells; DELETE FROM order_facts_stale;",
    )?;
    let cols = cols();
    tx.execute(
        &format!(
            "INSERT INTO order_facts (order_id, {cols}) {}",
            facts_select("1")
        ),
        [],
    )?;
    tx.execute(
        &format!(
            "INSERT INTO order_cells ({cols}, orders) SELECT {cols}, COUNT(*) FROM order_facts GROUP BY {cols}"
        ),
        [],
    )?;
    {
        let mut update = tx.prepare(
            "UPDATE visits SET steps = ?2, bump_at = ?3, bump_checked = ?4 WHERE id = ?1",
        )?;
        let mut read = tx.prepare("SELECT visit, step, at, checked FROM events ORDER BY visit")?;
        let mut rows = read.query([])?;
        let mut open: Option<(i64, VisitState)> = None;
        let mut save = |id: i64, s: &VisitState| {
            update
                .execute(params![id, s.steps, s.bump_at, s.bump_checked])
                .map(|_| ())
        };
        while let Some(row) = rows.next()? {
            let (visit, code, at, checked): (i64, i64, i64, Option<bool>) =
                (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
            let Some(step) = step_of_code(code) else {
                continue;
            };
            match &mut open {
                Some((id, state)) if *id == visit => state.fold(step, at, checked),
                _ => {
                    if let Some((id, state)) = &open {
                        save(*id, state)?;
                    }
                    // The day is the visit's own; only what the events add up to is rebuilt.
                    let mut state = VisitState::new(0);
                    state.fold(step, at, checked);
                    open = Some((visit, state));
                }
            }
        }
        if let Some((id, state)) = &open {
            save(*id, state)?;
        }
    }
    tx.execute(
        &format!(
            "INSERT INTO visit_cells ({VISIT_CELL_COLS}, visits)
             SELECT offer_id, day, variant, holdout, currency, steps, bump_checked, COUNT(*)
             FROM visits WHERE steps <> 0 GROUP BY offer_id, day, variant, holdout, currency, steps, bump_checked"
        ),
        [],
    )?;
    Ok(())
}

fn meta_version(tx: &Connection) -> rusqlite::Result<Option<String>> {
    tx.query_row(
        "SELECT CAST(value AS TEXT) FROM meta WHERE key = 'insights_version'",
        [],
        |r| r.get(0),
    )
    .optional()
}

/// Creates the insights triggers of a freshly opened (and migrated) store, and rebuilds the
/// derived tables when their [`VERSION`] changed (or they are new). Called by
/// [`SqliteStore::open`], after the order tables exist.
pub(super) fn apply(conn: &Connection) -> rusqlite::Result<()> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    drop_triggers(&tx)?;
    if meta_version(&tx)?.as_deref() != Some(VERSION) {
        let orders: i64 = tx.query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0))?;
        if orders > 0 {
            eprintln!("momentum-server: building the insights' tables ({VERSION}) from {orders} orders and their events");
        }
        tx.execute_batch(DROP_DERIVED)?;
        tx.execute_batch(&derived_tables())?;
        rebuild(&tx)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('insights_version', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [VERSION],
        )?;
    }
    create_triggers(&tx)?;
    tx.commit()
}

/// Loads many rows at once (an import, or the benchmark's synthetic history): `load` writes the
/// base tables (`orders`, `charges`, `order_lines`, `refunds`, `visits` with any state, `events`)
/// without the per-row triggers, then every derived table is rebuilt from them, in one
/// transaction. `conn` must be a database [`SqliteStore::open`] has set up.
pub fn bulk_load(
    conn: &mut Connection,
    load: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    drop_triggers(&tx)?;
    load(&tx)?;
    rebuild(&tx)?;
    create_triggers(&tx)?;
    tx.commit()
}

fn opt_amount(value: i64) -> Option<i64> {
    (value >= 0).then_some(value)
}

fn variant_of(stored: String) -> Option<String> {
    (!stored.is_empty()).then_some(stored)
}

const COST_KEYS: [&str; 3] = [
    "fee_basis_points",
    "fee_fixed_minor",
    "support_per_refund_minor",
];

impl InsightsStore for SqliteStore {
    fn record_events(
        &self,
        visit: &VisitKey<'_>,
        events: &[NewEvent],
        now: i64,
    ) -> StoreResult<Recorded> {
        if events.is_empty() {
            return Ok(Recorded::default());
        }
        let today = now.div_euclid(86_400);
        self.write(|tx| {
            let variant = visit.variant.unwrap_or("");
            let found = tx
                .prepare_cached(
                    "SELECT id, day, steps, bump_at, bump_checked FROM visits
                     WHERE visit_key = ?1 AND offer_id = ?2 AND variant = ?3 AND holdout = ?4 AND currency = ?5",
                )?
                .query_row(
                    params![visit.visit_id, visit.offer_id, variant, visit.holdout, visit.currency],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            VisitState {
                                day: r.get(1)?,
                                steps: r.get(2)?,
                                bump_at: r.get(3)?,
                                bump_checked: r.get(4)?,
                            },
                        ))
                    },
                )
                .optional()?;
            let (id, old) = match found {
                Some((id, state)) => (id, Some(state)),
                None => {
                    tx.prepare_cached(
                        "INSERT INTO visits (visit_key, offer_id, variant, holdout, currency, day, steps, bump_at, bump_checked, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, NULL, 0, ?7)",
                    )?
                    .execute(params![visit.visit_id, visit.offer_id, variant, visit.holdout, visit.currency, today, now])?;
                    (tx.last_insert_rowid(), None)
                }
            };
            let mut state = old.unwrap_or(VisitState::new(today));
            let mut recorded = Recorded::default();
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR IGNORE INTO events (visit, step, at, checked) VALUES (?1, ?2, ?3, ?4)",
                )?;
                for e in events {
                    if insert.execute(params![id, step_code(e.step), e.at_ms, e.checked])? == 1 {
                        recorded.inserted += 1;
                        state.fold(e.step, e.at_ms, e.checked);
                    } else {
                        recorded.duplicates += 1;
                    }
                }
            }
            if old != Some(state) {
                if let Some(old) = &old {
                    move_visit(tx, visit, old, -1)?;
                }
                move_visit(tx, visit, &state, 1)?;
                tx.prepare_cached(
                    "UPDATE visits SET steps = ?2, bump_at = ?3, bump_checked = ?4 WHERE id = ?1",
                )?
                .execute(params![id, state.steps, state.bump_at, state.bump_checked])?;
            }
            Ok(recorded)
        })
    }

    fn insight_cells(
        &self,
        offer_id: &str,
        first_day: i32,
        last_day: i32,
    ) -> StoreResult<(Vec<OrderCell>, Vec<VisitCell>)> {
        let stale: bool = self
            .conn()
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM order_facts_stale)")
            .and_then(|mut st| st.query_row([], |r| r.get(0)))
            .map_err(err)?;
        if stale {
            self.write(|tx| refresh_stale(tx))?;
        }
        let conn = self.conn();
        let orders = conn
            .prepare_cached(
                "SELECT variant, holdout, currency, day, exit_offer, product, bump, upsell, downsell,
                        primary_charge, upsell_charge, downsell_charge,
                        refunded_product, refunded_bump, refunded_upsell, refunded_downsell, orders
                 FROM order_cells WHERE offer_id = ?1 AND day BETWEEN ?2 AND ?3",
            )
            .and_then(|mut st| {
                st.query_map(params![offer_id, first_day, last_day], |r| {
                    let charges = [r.get::<_, i64>(9)?, r.get(10)?, r.get(11)?];
                    Ok(OrderCell {
                        variant: variant_of(r.get(0)?),
                        holdout: r.get(1)?,
                        currency: r.get(2)?,
                        day: r.get(3)?,
                        exit_offer: r.get(4)?,
                        paid: ByLine {
                            product: opt_amount(r.get(5)?),
                            bump: opt_amount(r.get(6)?),
                            upsell: opt_amount(r.get(7)?),
                            downsell: opt_amount(r.get(8)?),
                        },
                        charges: charges.into_iter().filter_map(opt_amount).collect(),
                        refunded: ByLine {
                            product: r.get(12)?,
                            bump: r.get(13)?,
                            upsell: r.get(14)?,
                            downsell: r.get(15)?,
                        },
                        orders: r.get(16)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(err)?;
        let visits = conn
            .prepare_cached(
                "SELECT variant, holdout, currency, day, steps, bump_checked, visits
                 FROM visit_cells WHERE offer_id = ?1 AND day BETWEEN ?2 AND ?3",
            )
            .and_then(|mut st| {
                st.query_map(params![offer_id, first_day, last_day], |r| {
                    Ok(VisitCell {
                        variant: variant_of(r.get(0)?),
                        holdout: r.get(1)?,
                        currency: r.get(2)?,
                        day: r.get(3)?,
                        steps: mask_steps(r.get(4)?),
                        bump_checked: r.get(5)?,
                        visits: r.get(6)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(err)?;
        Ok((orders, visits))
    }

    fn costs(&self) -> StoreResult<Costs> {
        let conn = self.conn();
        let get = |key: &str| -> StoreResult<i64> {
            conn.prepare_cached("SELECT value FROM settings WHERE key = ?1")
                .and_then(|mut st| st.query_row([key], |r| r.get(0)).optional())
                .map(Option::unwrap_or_default)
                .map_err(err)
        };
        Ok(Costs {
            fee_basis_points: u32::try_from(get(COST_KEYS[0])?).map_err(err)?,
            fee_fixed_minor: get(COST_KEYS[1])?,
            support_per_refund_minor: get(COST_KEYS[2])?,
        })
    }

    fn set_costs(&self, costs: &Costs, now: i64) -> StoreResult<()> {
        let values = [
            i64::from(costs.fee_basis_points),
            costs.fee_fixed_minor,
            costs.support_per_refund_minor,
        ];
        self.write(|tx| {
            for (key, value) in COST_KEYS.iter().zip(values) {
                tx.execute(
                    "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    params![key, value, now],
                )?;
            }
            Ok(())
        })
    }

    fn search_order_ids(&self, query: &str, limit: usize) -> StoreResult<Vec<String>> {
        let conn = self.conn();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        conn.prepare_cached(
            "SELECT id FROM (
                 SELECT id, created_at, rowid AS seq FROM orders WHERE id = ?1
                 UNION
                 SELECT id, created_at, rowid AS seq FROM orders WHERE email = ?1 COLLATE NOCASE)
             ORDER BY created_at DESC, seq DESC LIMIT ?2",
        )
        .and_then(|mut st| {
            st.query_map(params![query, limit], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(err)
    }

    fn offer_ids(&self) -> StoreResult<Vec<String>> {
        let conn = self.conn();
        conn.prepare_cached("SELECT id FROM offers ORDER BY id")
            .and_then(|mut st| {
                st.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(err)
    }

    fn export_rows(
        &self,
        offer_id: Option<&str>,
        from_secs: i64,
        until_secs: i64,
        limit: usize,
    ) -> StoreResult<Vec<ExportRow>> {
        let conn = self.conn();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let filter = match offer_id {
            Some(_) => "o.offer_id = ?1 AND",
            None => "?1 IS NULL AND",
        };
        let sql = format!(
            "SELECT o.id, o.created_at, o.offer_id, o.variant, o.holdout, o.exit_offer, IFNULL(p.status, 'pending'),
                    o.email, o.country, o.currency, o.tax_mode,
                    l.id, l.label, l.amount, l.tax_amount, l.charge_id, c.kind, c.status, c.amount,
                    r.id, r.amount, r.created_at
             FROM orders o
             JOIN order_lines l ON l.order_id = o.id
             JOIN charges c ON c.id = l.charge_id
             LEFT JOIN charges p ON p.order_id = o.id AND p.kind = 'primary'
             LEFT JOIN refunds r ON r.order_id = o.id AND r.line_id = l.id AND r.gateway_ref IS NOT NULL
             WHERE {filter} o.created_at >= ?2 AND o.created_at < ?3
             ORDER BY o.created_at, o.rowid, l.position, l.rowid
             LIMIT ?4"
        );
        conn.prepare_cached(&sql)
            .and_then(|mut st| {
                st.query_map(params![offer_id, from_secs, until_secs, limit], |r| {
                    let refund_id: Option<String> = r.get(19)?;
                    let refund = match refund_id {
                        Some(id) => Some((id, r.get(20)?, r.get(21)?)),
                        None => None,
                    };
                    Ok(ExportRow {
                        order_id: r.get(0)?,
                        created_at: r.get(1)?,
                        offer_id: r.get(2)?,
                        variant: r.get(3)?,
                        holdout: r.get(4)?,
                        exit_offer: r.get(5)?,
                        primary_status: r.get(6)?,
                        email: r.get(7)?,
                        country: r.get(8)?,
                        currency: r.get(9)?,
                        tax_mode: r.get(10)?,
                        line_id: r.get(11)?,
                        label: r.get(12)?,
                        amount: r.get(13)?,
                        tax_amount: r.get(14)?,
                        charge_id: r.get(15)?,
                        charge_kind: r.get(16)?,
                        charge_status: r.get(17)?,
                        charge_amount: r.get(18)?,
                        refund,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(err)
    }
}

#[cfg(test)]
mod tests;
