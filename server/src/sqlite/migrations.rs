//! The SQLite schema as numbered migrations, applied in order on open and recorded in
//! `schema_version`: an existing database is upgraded in place, never recreated. A database made
//! before versioning (no `schema_version`) is at version 0; the first migrations are written so
//! that they leave such a database's tables as they are (`IF NOT EXISTS`, column checks), so it
//! goes through the same steps as a new one. A new migration is appended, never edited.

use rusqlite::{Connection, Transaction, TransactionBehavior};

/// One step of the schema.
pub struct Migration {
    /// Its number: 1, 2, … in order.
    pub version: i64,
    /// What it does.
    pub name: &'static str,
    /// The change, in the migration's transaction.
    pub apply: fn(&Transaction<'_>) -> rusqlite::Result<()>,
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "offers, orders, charges, lines, refunds, events, idempotency keys",
        apply: |tx| tx.execute_batch(ORDERS),
    },
    Migration {
        version: 2,
        name: "orders.holdout",
        apply: add_holdout,
    },
    Migration {
        version: 3,
        name: "insights: settings, visits, events, stale facts, order indexes",
        apply: |tx| tx.execute_batch(super::insights::BASE),
    },
    Migration {
        version: 4,
        name: "webhook_events: payment-provider events handled once",
        apply: |tx| tx.execute_batch(WEBHOOK_EVENTS),
    },
];

/// A payment provider's webhook events, one row per handled event id (Stripe's redeliveries).
const WEBHOOK_EVENTS: &str = r#"
CREATE TABLE IF NOT EXISTS webhook_events (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (provider, event_id)
);
"#;

const ORDERS: &str = r#"
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS offers (
    id TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    endpoint TEXT NOT NULL,
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    response_status INTEGER,
    response_body TEXT,
    created_at INTEGER NOT NULL,
    completed_at INTEGER,
    PRIMARY KEY (endpoint, scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    offer_id TEXT NOT NULL,
    variant TEXT,
    offer TEXT NOT NULL,
    currency TEXT NOT NULL,
    tax_mode TEXT NOT NULL,
    country TEXT NOT NULL,
    email TEXT NOT NULL,
    bump INTEGER NOT NULL,
    exit_offer INTEGER NOT NULL,
    payment_method TEXT NOT NULL,
    card_brand TEXT NOT NULL,
    card_last4 TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS charges (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    kind TEXT NOT NULL CHECK (kind IN ('primary', 'upsell', 'downsell')),
    amount INTEGER NOT NULL CHECK (amount >= 0),
    status TEXT NOT NULL,
    gateway_ref TEXT,
    action_url TEXT,
    decline_code TEXT,
    decline_message TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (order_id, kind)
);
CREATE TABLE IF NOT EXISTS order_lines (
    order_id TEXT NOT NULL REFERENCES orders(id),
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount >= 0),
    tax_amount INTEGER NOT NULL CHECK (tax_amount >= 0),
    rate_bp INTEGER NOT NULL,
    charge_id TEXT NOT NULL REFERENCES charges(id),
    position INTEGER NOT NULL,
    PRIMARY KEY (order_id, id)
);
CREATE TABLE IF NOT EXISTS offer_declines (
    order_id TEXT NOT NULL REFERENCES orders(id),
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (order_id, kind)
);
CREATE TABLE IF NOT EXISTS refunds (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    line_id TEXT NOT NULL,
    charge_id TEXT NOT NULL REFERENCES charges(id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    reason TEXT,
    gateway_ref TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (order_id, line_id)
);
CREATE TABLE IF NOT EXISTS order_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL REFERENCES orders(id),
    type TEXT NOT NULL,
    charge_id TEXT,
    line_id TEXT,
    amount INTEGER,
    at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS order_events_order ON order_events (order_id, seq);
CREATE INDEX IF NOT EXISTS charges_pending ON charges (order_id) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS charge_cancels (
    charge_id TEXT PRIMARY KEY REFERENCES charges(id),
    at INTEGER NOT NULL
);
"#;

fn add_holdout(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    // Databases made before versioning may have it already.
    let has: bool = tx.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('orders') WHERE name = 'holdout'",
        [],
        |r| r.get(0),
    )?;
    if !has {
        tx.execute_batch("ALTER TABLE orders ADD COLUMN holdout INTEGER NOT NULL DEFAULT 0")?;
    }
    Ok(())
}

/// The last migration applied (0: none, or a database made before versioning).
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    let exists: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(0);
    }
    conn.query_row("SELECT MAX(version) FROM schema_version", [], |r| {
        r.get::<_, Option<i64>>(0)
    })
    .map(Option::unwrap_or_default)
}

/// Applies the migrations the database has not had, each in its own `BEGIN IMMEDIATE`
/// transaction (two processes opening one file take turns). A database from a newer server is
/// refused rather than guessed at.
pub fn run(conn: &mut Connection) -> rusqlite::Result<()> {
    let latest = MIGRATIONS.last().map_or(0, |m| m.version);
    for m in MIGRATIONS {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_version (
                 version INTEGER PRIMARY KEY,
                 name TEXT NOT NULL,
                 applied_at INTEGER NOT NULL
             )",
        )?;
        let current = version(&tx)?;
        if current > latest {
            return Err(rusqlite::Error::ToSqlConversionFailure(
                format!(
                    "the database is at schema version {current}, newer than this server's {latest}: \
                     run a newer momentum-server"
                )
                .into(),
            ));
        }
        if m.version <= current {
            continue;
        }
        (m.apply)(&tx)?;
        tx.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?1, ?2, unixepoch())",
            rusqlite::params![m.version, m.name],
        )?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "{}", m.name);
        }
    }

    #[test]
    fn a_new_database_gets_every_migration_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn).unwrap();
        run(&mut conn).unwrap();
        let latest = MIGRATIONS.last().unwrap().version;
        assert_eq!(version(&conn).unwrap(), latest);
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, latest);
        let name: String = conn
            .query_row(
                "SELECT name FROM schema_version WHERE version = 2",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(name, "orders.holdout");
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'future', 0)",
            [],
        )
        .unwrap();
        let e = run(&mut conn).unwrap_err().to_string();
        assert!(e.contains("schema version 999"), "{e}");
    }
}
