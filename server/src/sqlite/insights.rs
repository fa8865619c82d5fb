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
mod tests {
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
        let decline =
            (status == ChargeStatus::Declined).then(|| ("card_declined".into(), "no".into()));
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
        let tax =
            |rng: &mut Rng, exclusive: bool| if exclusive { rng.below(900) as i64 } else { 0 };
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
}
