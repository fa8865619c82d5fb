//! The Postgres schema as numbered migrations, applied in order at start and recorded in
//! `schema_version`; an existing database is upgraded in place, never recreated. Servers starting
//! together take turns (a transaction-scoped advisory lock). A new migration is appended, never
//! edited. Same tables and meaning as the SQLite store's (`crate::sqlite`), in Postgres types:
//! `BIGINT` amounts and times, `BOOLEAN` flags, and a `seq` identity where SQLite's `rowid` orders
//! rows.

use postgres::Client;

use super::Fail;

/// One step of the schema.
pub struct Migration {
    /// Its number: 1, 2, … in order.
    pub version: i64,
    /// What it does.
    pub name: &'static str,
    /// The change (run in the migration's transaction).
    pub sql: &'static str,
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "offers, orders, charges, lines, refunds, events, idempotency keys",
        sql: ORDERS,
    },
    Migration {
        version: 2,
        name: "insights: settings, visits, events, order indexes",
        sql: INSIGHTS,
    },
    Migration {
        version: 3,
        name: "webhook_events: payment-provider events handled once",
        sql: WEBHOOK_EVENTS,
    },
];

/// A payment provider's webhook events, one row per handled event id (Stripe's redeliveries).
pub(super) const WEBHOOK_EVENTS: &str = r#"
CREATE TABLE IF NOT EXISTS webhook_events (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (provider, event_id)
);
"#;

const ORDERS: &str = r#"
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
CREATE TABLE offers (
    id TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE idempotency_keys (
    endpoint TEXT NOT NULL,
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    response_status INTEGER,
    response_body TEXT,
    created_at BIGINT NOT NULL,
    completed_at BIGINT,
    PRIMARY KEY (endpoint, scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
CREATE TABLE orders (
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id TEXT PRIMARY KEY,
    offer_id TEXT NOT NULL,
    variant TEXT,
    offer TEXT NOT NULL,
    currency TEXT NOT NULL,
    tax_mode TEXT NOT NULL,
    country TEXT NOT NULL,
    email TEXT NOT NULL,
    bump BOOLEAN NOT NULL,
    exit_offer BOOLEAN NOT NULL,
    holdout BOOLEAN NOT NULL DEFAULT FALSE,
    payment_method TEXT NOT NULL,
    card_brand TEXT NOT NULL,
    card_last4 TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE charges (
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    kind TEXT NOT NULL CHECK (kind IN ('primary', 'upsell', 'downsell')),
    amount BIGINT NOT NULL CHECK (amount >= 0),
    status TEXT NOT NULL,
    gateway_ref TEXT,
    action_url TEXT,
    decline_code TEXT,
    decline_message TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (order_id, kind)
);
CREATE TABLE order_lines (
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    order_id TEXT NOT NULL REFERENCES orders(id),
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount >= 0),
    tax_amount BIGINT NOT NULL CHECK (tax_amount >= 0),
    rate_bp BIGINT NOT NULL,
    charge_id TEXT NOT NULL REFERENCES charges(id),
    position BIGINT NOT NULL,
    PRIMARY KEY (order_id, id)
);
CREATE INDEX order_lines_charge ON order_lines (charge_id);
CREATE TABLE offer_declines (
    order_id TEXT NOT NULL REFERENCES orders(id),
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (order_id, kind)
);
CREATE TABLE refunds (
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    line_id TEXT NOT NULL,
    charge_id TEXT NOT NULL REFERENCES charges(id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    reason TEXT,
    gateway_ref TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (order_id, line_id)
);
CREATE TABLE order_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    type TEXT NOT NULL,
    charge_id TEXT,
    line_id TEXT,
    amount BIGINT,
    at BIGINT NOT NULL
);
CREATE INDEX order_events_order ON order_events (order_id, seq);
CREATE INDEX charges_pending ON charges (order_id) WHERE status = 'pending';
CREATE TABLE charge_cancels (
    charge_id TEXT PRIMARY KEY REFERENCES charges(id),
    at BIGINT NOT NULL
);
"#;

const INSIGHTS: &str = r#"
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE visits (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    visit_key TEXT NOT NULL,
    offer_id TEXT NOT NULL,
    variant TEXT NOT NULL,
    holdout BOOLEAN NOT NULL,
    currency TEXT NOT NULL,
    day BIGINT NOT NULL,
    steps BIGINT NOT NULL,
    bump_at BIGINT,
    bump_checked BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (visit_key, offer_id, variant, holdout, currency)
);
CREATE INDEX visits_offer_day ON visits (offer_id, day);
CREATE TABLE events (
    visit BIGINT NOT NULL REFERENCES visits(id),
    step BIGINT NOT NULL,
    at BIGINT NOT NULL,
    checked BOOLEAN,
    PRIMARY KEY (visit, step, at)
);
CREATE INDEX orders_offer_created ON orders (offer_id, created_at);
CREATE INDEX orders_created ON orders (created_at);
CREATE INDEX orders_email ON orders (lower(email COLLATE "C"));
"#;

/// Any number that fits in Postgres' `bigint` advisory lock space; names the migration lock.
const MIGRATION_LOCK: i64 = 0x6d6f_6d65_6e74_756d; // "momentum"

/// The last migration applied (0: a new database).
pub fn version(c: &mut impl postgres::GenericClient) -> Result<i64, Fail> {
    let exists: bool = c
        .query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[])?
        .try_get(0)?;
    if !exists {
        return Ok(0);
    }
    let v: Option<i64> = c
        .query_one("SELECT MAX(version) FROM schema_version", &[])?
        .try_get(0)?;
    Ok(v.unwrap_or_default())
}

/// Applies the migrations the database has not had, all in one transaction under the
/// migration lock. A database from a newer server is refused rather than guessed at.
pub fn run(c: &mut Client) -> Result<(), Fail> {
    let latest = MIGRATIONS.last().map_or(0, |m| m.version);
    let mut tx = c.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version BIGINT PRIMARY KEY,
             name TEXT NOT NULL,
             applied_at BIGINT NOT NULL
         )",
    )?;
    let current = version(&mut tx)?;
    if current > latest {
        return Err(super::fail(format!(
            "the database is at schema version {current}, newer than this server's {latest}: \
             run a newer momentum-server"
        )));
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.batch_execute(m.sql)?;
        tx.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, extract(epoch FROM now())::BIGINT)",
            &[&m.version, &m.name],
        )?;
    }
    tx.commit()?;
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
}
