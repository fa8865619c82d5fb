//! SQLite implementation of [`Store`]: one connection in WAL mode behind a mutex, every method one
//! `BEGIN IMMEDIATE` transaction. Unique constraints back the invariants the service relies on:
//! one idempotency record per (endpoint, scope, key), one charge per (order, kind) — so at most one
//! primary, one upsell and one downsell charge per order — and one refund per line.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use momentum_core::api::{AddonKind, ChargeKind, ChargeStatus};
use momentum_core::offer::OfferConfig;
use momentum_core::quote::LineKind;
use momentum_core::tax::TaxMode;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::rules::{Funnel, Refusal, Slot};
use crate::store::*;

pub mod insights;
mod migrations;

/// Opens a SQLite connection tuned for this server: WAL, `synchronous = NORMAL` (durable across
/// process crashes; a power loss may lose the last transactions), foreign keys, 5 s busy timeout.
pub fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// The SQLite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// Keys leased by this process: SQLite serves one server process (see `docs/hosting.md`).
    leases: Arc<Mutex<HashSet<IdemKey>>>,
    /// Dropped with the store: stops its checkpointer.
    _checkpointer: Option<std::sync::mpsc::Sender<()>>,
    /// The file, and idle read-only connections to it (`None`: an in-memory database, read on
    /// the writer). WAL lets them read while the writer writes, so a status read or a replay
    /// does not queue behind the writes of other requests.
    readers: Option<(std::path::PathBuf, Mutex<Vec<Connection>>)>,
}

/// Idle reader connections kept (more are opened under load, then closed).
const IDLE_READERS: usize = 8;

/// A connection to read with: a pooled reader, or the writer for an in-memory database.
enum ReadConn<'a> {
    Pooled(&'a Mutex<Vec<Connection>>, Option<Connection>),
    Writer(MutexGuard<'a, Connection>),
}

impl std::ops::Deref for ReadConn<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            ReadConn::Pooled(_, Some(c)) => c,
            ReadConn::Pooled(_, None) => unreachable!("taken only on drop"),
            ReadConn::Writer(g) => g,
        }
    }
}

impl Drop for ReadConn<'_> {
    fn drop(&mut self) {
        if let ReadConn::Pooled(idle, conn) = self {
            let mut idle = idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < IDLE_READERS {
                idle.extend(conn.take());
            }
        }
    }
}

/// How often the background checkpointer copies the WAL into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Checkpoints the WAL of `path` every [`CHECKPOINT_EVERY`] on a thread and connection of its
/// own, until `stop`'s sender is dropped. With SQLite's automatic checkpoints the commit that
/// crosses 1,000 WAL pages runs the checkpoint, two fsyncs included, while the store's
/// connection (and so every request behind it) waits; a `PASSIVE` checkpoint here runs beside
/// the writers instead.
fn checkpointer(path: &Path) -> rusqlite::Result<std::sync::mpsc::Sender<()>> {
    let conn = open_connection(path)?;
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(CHECKPOINT_EVERY)
            {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    eprintln!("momentum-server: sqlite checkpoint: {e}");
                }
            }
        })
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    Ok(stop)
}

/// Runs `sql` through the connection's statement cache: preparing is a large part of a small
/// statement's cost here (a statement that fires a trigger compiles the trigger too).
fn exec(c: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    c.prepare_cached(sql)?.execute(params)
}

/// One row of `sql`, through the statement cache.
fn row<T>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    c.prepare_cached(sql)?.query_row(params, f)
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

fn event(
    tx: &Transaction<'_>,
    order_id: &str,
    kind: &str,
    charge_id: Option<&str>,
    line_id: Option<&str>,
    amount: Option<i64>,
    now: i64,
) -> rusqlite::Result<()> {
    exec(tx,
        "INSERT INTO order_events (order_id, type, charge_id, line_id, amount, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![order_id, kind, charge_id, line_id, amount, now],
    )?;
    Ok(())
}

fn idem_get(tx: &Connection, key: &IdemKey) -> rusqlite::Result<Option<IdemRecord>> {
    row(tx,
        "SELECT fingerprint, resource_id, response_status, response_body, created_at FROM idempotency_keys WHERE endpoint = ?1 AND scope = ?2 AND key = ?3",
        params![key.endpoint, key.scope, key.key],
        |r| {
            let status: Option<u16> = r.get(2)?;
            let body: Option<String> = r.get(3)?;
            Ok(IdemRecord { fingerprint: r.get(0)?, resource_id: r.get(1)?, response: status.zip(body), created_at: r.get(4)? })
        },
    )
    .optional()
}

fn idem_insert(
    tx: &Transaction<'_>,
    key: &IdemKey,
    fingerprint: &str,
    resource_id: &str,
    now: i64,
) -> rusqlite::Result<()> {
    exec(tx,
        "INSERT INTO idempotency_keys (endpoint, scope, key, fingerprint, resource_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![key.endpoint, key.scope, key.key, fingerprint, resource_id, now],
    )?;
    Ok(())
}

fn insert_line(
    tx: &Transaction<'_>,
    order_id: &str,
    line: &NewLine,
    charge_id: &str,
    position: i64,
) -> rusqlite::Result<()> {
    exec(tx,
        "INSERT INTO order_lines (order_id, id, kind, label, amount, tax_amount, rate_bp, charge_id, position) VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![order_id, line.kind.as_str(), line.label, line.amount, line.tax_amount, line.rate_bp, charge_id, position],
    )?;
    Ok(())
}

fn insert_charge(
    tx: &Transaction<'_>,
    order_id: &str,
    charge: &NewCharge,
    now: i64,
) -> rusqlite::Result<()> {
    exec(tx,
        "INSERT INTO charges (id, order_id, kind, amount, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
        params![charge.id, order_id, charge.kind.as_str(), charge.amount, now],
    )?;
    Ok(())
}

/// Reads the funnel state of an order inside a transaction.
fn funnel(tx: &Connection, order_id: &str) -> rusqlite::Result<Option<Funnel>> {
    let row: Option<(String, bool)> = row(
        tx,
        "SELECT offer, holdout FROM orders WHERE id = ?1",
        [order_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?;
    let Some((offer, holdout)) = row else {
        return Ok(None);
    };
    let offer: OfferConfig = serde_json::from_str(&offer)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    // The holdout is offered no add-ons.
    let mut f = Funnel {
        primary: ChargeStatus::Pending,
        has_upsell: !holdout && offer.upsell.is_some(),
        has_downsell: !holdout && offer.downsell.is_some(),
        upsell: Slot::Open,
        downsell: Slot::Open,
    };
    let mut st = tx.prepare_cached("SELECT kind, status FROM charges WHERE order_id = ?1")?;
    let rows = st.query_map([order_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (kind, status) = row?;
        let status = ChargeStatus::parse(&status).unwrap_or(ChargeStatus::Pending);
        match ChargeKind::parse(&kind) {
            Some(ChargeKind::Primary) => f.primary = status,
            Some(ChargeKind::Upsell) => f.upsell = Slot::Charge(status),
            Some(ChargeKind::Downsell) => f.downsell = Slot::Charge(status),
            None => {}
        }
    }
    let mut st = tx.prepare_cached("SELECT kind FROM offer_declines WHERE order_id = ?1")?;
    let rows = st.query_map([order_id], |r| r.get::<_, String>(0))?;
    for row in rows {
        match row?.as_str() {
            "upsell" => f.upsell = Slot::Declined,
            "downsell" => f.downsell = Slot::Declined,
            _ => {}
        }
    }
    Ok(Some(f))
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path` and brings its schema up to date
    /// ([`migrations`]).
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        let mut conn = open_connection(path).map_err(err)?;
        migrations::run(&mut conn).map_err(err)?;
        insights::apply(&conn).map_err(err)?;
        // Checkpoints move to the background (see `checkpointer`); not for in-memory databases.
        let checkpointer = if path.as_os_str().is_empty() || path == Path::new(":memory:") {
            None
        } else {
            conn.pragma_update(None, "wal_autocheckpoint", 0)
                .map_err(err)?;
            Some(checkpointer(path).map_err(err)?)
        };
        let readers = checkpointer
            .is_some()
            .then(|| (path.to_path_buf(), Mutex::new(Vec::new())));
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            leases: Arc::default(),
            _checkpointer: checkpointer,
            readers,
        })
    }

    /// The schema version of the database (the last migration applied).
    pub fn schema_version(&self) -> StoreResult<i64> {
        migrations::version(&self.conn()).map_err(err)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done transaction (rusqlite rolls back
        // on drop), so a poisoned lock is safe to keep using.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reader(&self) -> StoreResult<ReadConn<'_>> {
        let Some((path, idle)) = &self.readers else {
            return Ok(ReadConn::Writer(self.conn()));
        };
        let pooled = idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = open_connection(path).map_err(err)?;
                c.pragma_update(None, "query_only", true).map_err(err)?;
                c
            }
        };
        Ok(ReadConn::Pooled(idle, Some(conn)))
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>) -> StoreResult<T> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let out = f(&tx).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(out)
    }
}

impl Store for SqliteStore {
    fn offer(&self, id: &str) -> StoreResult<Option<OfferConfig>> {
        let conn = self.reader()?;
        let json: Option<String> = row(
            &conn,
            "SELECT config FROM offers WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()
        .map_err(err)?;
        json.map(|j| serde_json::from_str(&j).map_err(err))
            .transpose()
    }

    fn put_offer(&self, offer: &OfferConfig, now: i64) -> StoreResult<()> {
        let json = serde_json::to_string(offer).map_err(err)?;
        self.write(|tx| {
            exec(tx,
                "INSERT INTO offers (id, config, updated_at) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at",
                params![offer.id, json, now],
            )
        })?;
        Ok(())
    }

    fn seed_offer(&self, offer: &OfferConfig, now: i64) -> StoreResult<bool> {
        let json = serde_json::to_string(offer).map_err(err)?;
        let n = self.write(|tx| {
            exec(
                tx,
                "INSERT OR IGNORE INTO offers (id, config, updated_at) VALUES (?1, ?2, ?3)",
                params![offer.id, json, now],
            )
        })?;
        Ok(n == 1)
    }

    fn installation_secret(&self) -> StoreResult<Vec<u8>> {
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(err)?;
        self.write(|tx| {
            exec(
                tx,
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('installation_secret', ?1)",
                [&fresh[..]],
            )?;
            row(
                tx,
                "SELECT value FROM meta WHERE key = 'installation_secret'",
                [],
                |r| r.get(0),
            )
        })
    }

    fn try_lease(&self, key: &IdemKey) -> StoreResult<Option<Lease>> {
        // Only inserts and removes happen under the lock: a poisoned set is still consistent.
        let mut set = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        if !set.insert(key.clone()) {
            return Ok(None);
        }
        let (leases, key) = (self.leases.clone(), key.clone());
        Ok(Some(Lease::new(move || {
            leases
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key);
        })))
    }

    fn idempotency(&self, key: &IdemKey) -> StoreResult<Option<IdemRecord>> {
        idem_get(&*self.reader()?, key).map_err(err)
    }

    fn complete_idempotency(
        &self,
        key: &IdemKey,
        status: u16,
        body: &str,
        now: i64,
    ) -> StoreResult<()> {
        self.write(|tx| {
            exec(tx,
                "UPDATE idempotency_keys SET response_status = ?4, response_body = ?5, completed_at = ?6 WHERE endpoint = ?1 AND scope = ?2 AND key = ?3 AND response_status IS NULL",
                params![key.endpoint, key.scope, key.key, status, body, now],
            )
        })?;
        Ok(())
    }

    fn purge_idempotency(&self, before: i64) -> StoreResult<usize> {
        self.write(|tx| exec(tx, "DELETE FROM idempotency_keys WHERE response_status IS NOT NULL AND created_at < ?1", [before]))
    }

    fn begin_order(
        &self,
        key: &IdemKey,
        fingerprint: &str,
        o: &NewOrder,
        now: i64,
    ) -> StoreResult<Begin> {
        let offer = serde_json::to_string(&o.header.offer).map_err(err)?;
        self.write(|tx| {
            if let Some(existing) = idem_get(tx, key)? {
                return Ok(Begin::Existing(existing));
            }
            idem_insert(tx, key, fingerprint, &o.header.id, now)?;
            exec(tx,
                "INSERT INTO orders (id, offer_id, variant, offer, currency, tax_mode, country, email, bump, exit_offer, holdout, payment_method, card_brand, card_last4, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                params![
                    o.header.id, o.header.offer_id, o.header.variant, offer, o.header.currency, o.header.tax_mode.as_str(), o.header.country, o.header.email, o.header.bump, o.header.exit_offer,
                    o.header.holdout, o.header.payment_method, o.header.card_brand, o.header.card_last4, now
                ],
            )?;
            insert_charge(tx, &o.header.id, &o.charge, now)?;
            for (i, line) in o.lines.iter().enumerate() {
                insert_line(tx, &o.header.id, line, &o.charge.id, i as i64)?;
            }
            event(tx, &o.header.id, "order_created", Some(&o.charge.id), None, Some(o.charge.amount), now)?;
            Ok(Begin::Started)
        })
    }

    fn order_ids_by_email(&self, email: &str) -> StoreResult<Vec<String>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare("SELECT id FROM orders WHERE email = ?1 COLLATE NOCASE ORDER BY rowid")
            .map_err(err)?;
        let ids = statement
            .query_map([email], |r| r.get::<_, String>(0))
            .map_err(err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(err);
        ids
    }

    fn order(&self, id: &str) -> StoreResult<Option<OrderRecord>> {
        let conn = self.reader()?;
        // One snapshot for the order and everything attached (the writer may commit meanwhile).
        let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Deferred).map_err(err)?;
        let c: &Connection = &tx;
        let row = row(c,
                "SELECT id, offer_id, variant, offer, currency, tax_mode, country, email, bump, exit_offer, payment_method, card_brand, card_last4, created_at, holdout FROM orders WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        (r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, String>(3)?),
                        (r.get::<_, String>(4)?, r.get::<_, String>(5)?, r.get::<_, String>(6)?, r.get::<_, String>(7)?),
                        (r.get::<_, bool>(8)?, r.get::<_, bool>(9)?, r.get::<_, String>(10)?, r.get::<_, String>(11)?, r.get::<_, String>(12)?, r.get::<_, i64>(13)?),
                        r.get::<_, bool>(14)?,
                    ))
                },
            )
            .optional()
            .map_err(err)?;
        let Some((
            (id, offer_id, variant, offer),
            (currency, tax_mode, country, email),
            (bump, exit_offer, payment_method, card_brand, card_last4, created_at),
            holdout,
        )) = row
        else {
            return Ok(None);
        };
        let offer: OfferConfig = serde_json::from_str(&offer).map_err(err)?;
        let tax_mode = TaxMode::parse(&tax_mode)
            .ok_or_else(|| StoreError(format!("bad tax mode {tax_mode}")))?;
        let q = |sql: &str| c.prepare_cached(sql).map_err(err);
        let lines = q("SELECT id, kind, label, amount, tax_amount, rate_bp, charge_id FROM order_lines WHERE order_id = ?1 ORDER BY position, rowid")?
            .query_map([&id], |r| {
                let kind: String = r.get(1)?;
                Ok(LineRecord {
                    id: r.get(0)?,
                    kind: LineKind::parse(&kind).unwrap_or(LineKind::Product),
                    label: r.get(2)?,
                    amount: r.get(3)?,
                    tax_amount: r.get(4)?,
                    rate_bp: r.get(5)?,
                    charge_id: r.get(6)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(err)?;
        let charges = q("SELECT c.id, c.kind, c.amount, c.status, c.gateway_ref, c.action_url, c.decline_code, c.decline_message, c.created_at, x.at FROM charges c LEFT JOIN charge_cancels x ON x.charge_id = c.id WHERE c.order_id = ?1 ORDER BY c.created_at, c.rowid")?
            .query_map([&id], |r| {
                let kind: String = r.get(1)?;
                let status: String = r.get(3)?;
                let code: Option<String> = r.get(6)?;
                let msg: Option<String> = r.get(7)?;
                Ok(ChargeRecord {
                    id: r.get(0)?,
                    kind: ChargeKind::parse(&kind).unwrap_or(ChargeKind::Primary),
                    amount: r.get(2)?,
                    status: ChargeStatus::parse(&status).unwrap_or(ChargeStatus::Pending),
                    gateway_ref: r.get(4)?,
                    action_url: r.get(5)?,
                    decline: code.zip(msg),
                    created_at: r.get(8)?,
                    canceled_at: r.get(9)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(err)?;
        let declined = q("SELECT kind FROM offer_declines WHERE order_id = ?1 ORDER BY at")?
            .query_map([&id], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(err)?
            .into_iter()
            .filter_map(|k| match k.as_str() {
                "upsell" => Some(AddonKind::Upsell),
                "downsell" => Some(AddonKind::Downsell),
                _ => None,
            })
            .collect();
        let refunds = q("SELECT id, line_id, charge_id, amount, gateway_ref, created_at FROM refunds WHERE order_id = ?1 ORDER BY created_at, rowid")?
            .query_map([&id], |r| {
                Ok(RefundRecord { id: r.get(0)?, line_id: r.get(1)?, charge_id: r.get(2)?, amount: r.get(3)?, gateway_ref: r.get(4)?, created_at: r.get(5)? })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(err)?;
        let events = q("SELECT type, at, charge_id, line_id, amount FROM order_events WHERE order_id = ?1 ORDER BY seq")?
            .query_map([&id], |r| Ok(EventRecord { kind: r.get(0)?, at: r.get(1)?, charge_id: r.get(2)?, line_id: r.get(3)?, amount: r.get(4)? }))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(err)?;
        Ok(Some(OrderRecord {
            header: OrderHeader {
                id,
                offer_id,
                variant,
                offer,
                currency,
                tax_mode,
                country,
                email,
                bump,
                exit_offer,
                holdout,
                payment_method,
                card_brand,
                card_last4,
            },
            created_at,
            lines,
            charges,
            declined,
            refunds,
            events,
        }))
    }

    fn update_charge(&self, u: &ChargeUpdate, now: i64) -> StoreResult<()> {
        self.write(|tx| {
            let (order_id, kind, amount, old): (String, String, i64, String) = row(tx,
                "SELECT order_id, kind, amount, status FROM charges WHERE id = ?1",
                [&u.charge_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            let old = ChargeStatus::parse(&old).unwrap_or(ChargeStatus::Pending);
            // Terminal states never change again (a late or replayed gateway answer is ignored).
            if matches!(old, ChargeStatus::Succeeded | ChargeStatus::Declined) {
                return Ok(());
            }
            let (code, msg) = match &u.decline {
                Some((c, m)) => (Some(c.as_str()), Some(m.as_str())),
                None => (None, None),
            };
            exec(tx,
                "UPDATE charges SET status = ?2, gateway_ref = ?3, action_url = ?4, decline_code = ?5, decline_message = ?6, updated_at = ?7 WHERE id = ?1",
                params![u.charge_id, u.status.as_str(), u.gateway_ref, u.action_url, code, msg, now],
            )?;
            if old != u.status {
                let name = match u.status {
                    ChargeStatus::Succeeded => "payment_succeeded",
                    ChargeStatus::RequiresAction => "payment_requires_action",
                    ChargeStatus::Processing => "payment_processing",
                    ChargeStatus::Declined => "payment_declined",
                    ChargeStatus::Pending => "payment_pending",
                };
                event(tx, &order_id, name, Some(&u.charge_id), None, Some(amount), now)?;
                if u.status == ChargeStatus::Declined && kind != "primary" {
                    event(tx, &order_id, &format!("{kind}_failed"), Some(&u.charge_id), None, Some(amount), now)?;
                }
            }
            Ok(())
        })
    }

    fn request_cancel(&self, charge_id: &str, now: i64) -> StoreResult<()> {
        self.write(|tx| {
            let n = exec(
                tx,
                "INSERT OR IGNORE INTO charge_cancels (charge_id, at) VALUES (?1, ?2)",
                params![charge_id, now],
            )?;
            if n == 1 {
                let (order_id, amount): (String, i64) = row(
                    tx,
                    "SELECT order_id, amount FROM charges WHERE id = ?1",
                    [charge_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                event(
                    tx,
                    &order_id,
                    "payment_canceled",
                    Some(charge_id),
                    None,
                    Some(amount),
                    now,
                )?;
            }
            Ok(())
        })
    }

    fn orders_to_recover(&self) -> StoreResult<Vec<String>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare(
                "SELECT order_id FROM charges WHERE status = 'pending'
                 UNION
                 SELECT c.order_id FROM charge_cancels x JOIN charges c ON c.id = x.charge_id
                 WHERE c.status IN ('requires_action', 'processing')
                    OR (c.status = 'succeeded' AND EXISTS (
                        SELECT 1 FROM order_lines l WHERE l.charge_id = c.id AND NOT EXISTS (
                            SELECT 1 FROM refunds r
                            WHERE r.order_id = l.order_id AND r.line_id = l.id AND r.gateway_ref IS NOT NULL)))",
            )
            .map_err(err)?;
        let ids = statement
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(err);
        ids
    }

    fn begin_addon(
        &self,
        key: &IdemKey,
        fingerprint: &str,
        order_id: &str,
        line: &NewLine,
        charge: &NewCharge,
        now: i64,
    ) -> StoreResult<BeginAddon> {
        let kind = match charge.kind {
            ChargeKind::Upsell => AddonKind::Upsell,
            ChargeKind::Downsell => AddonKind::Downsell,
            ChargeKind::Primary => {
                return Err(StoreError("begin_addon with a primary charge".into()))
            }
        };
        self.write(|tx| {
            if let Some(existing) = idem_get(tx, key)? {
                return Ok(BeginAddon::Existing(existing));
            }
            let Some(f) = funnel(tx, order_id)? else {
                return Err(rusqlite::Error::QueryReturnedNoRows);
            };
            if let Err(refusal) = f.can_accept(kind) {
                return Ok(BeginAddon::Refused(refusal));
            }
            match insert_charge(tx, order_id, charge, now) {
                // The unique (order, kind) constraint is the last line of defence; nothing has
                // been written in this transaction yet.
                Err(e) if is_unique_violation(&e) => {
                    return Ok(BeginAddon::Refused(Refusal::InProgress))
                }
                other => other?,
            }
            idem_insert(tx, key, fingerprint, &charge.id, now)?;
            insert_line(tx, order_id, line, &charge.id, 10)?;
            event(
                tx,
                order_id,
                &format!("{}_accepted", kind.as_str()),
                Some(&charge.id),
                None,
                Some(charge.amount),
                now,
            )?;
            Ok(BeginAddon::Started)
        })
    }

    fn record_decline(
        &self,
        order_id: &str,
        kind: AddonKind,
        now: i64,
    ) -> StoreResult<DeclineOutcome> {
        self.write(|tx| {
            let Some(f) = funnel(tx, order_id)? else {
                return Err(rusqlite::Error::QueryReturnedNoRows);
            };
            if let Err(refusal) = f.can_decline(kind) {
                return Ok(DeclineOutcome::Refused(refusal));
            }
            exec(
                tx,
                "INSERT INTO offer_declines (order_id, kind, at) VALUES (?1, ?2, ?3)",
                params![order_id, kind.as_str(), now],
            )?;
            event(
                tx,
                order_id,
                &format!("{}_declined", kind.as_str()),
                None,
                None,
                None,
                now,
            )?;
            Ok(DeclineOutcome::Recorded)
        })
    }

    fn begin_refund(
        &self,
        order_id: &str,
        line_id: &str,
        refund: &RefundRecord,
        reason: Option<&str>,
        now: i64,
    ) -> StoreResult<BeginRefund> {
        self.write(|tx| {
            let existing = row(tx,
                    "SELECT id, line_id, charge_id, amount, gateway_ref, created_at FROM refunds WHERE order_id = ?1 AND line_id = ?2",
                    params![order_id, line_id],
                    |r| Ok(RefundRecord { id: r.get(0)?, line_id: r.get(1)?, charge_id: r.get(2)?, amount: r.get(3)?, gateway_ref: r.get(4)?, created_at: r.get(5)? }),
                )
                .optional()?;
            match existing {
                Some(r) if r.gateway_ref.is_some() => Ok(BeginRefund::AlreadyRefunded(r)),
                Some(r) => Ok(BeginRefund::Go(r)),
                None => {
                    exec(tx,
                        "INSERT INTO refunds (id, order_id, line_id, charge_id, amount, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![refund.id, order_id, line_id, refund.charge_id, refund.amount, reason, now],
                    )?;
                    Ok(BeginRefund::Go(RefundRecord { created_at: now, ..refund.clone() }))
                }
            }
        })
    }

    fn complete_refund(&self, refund_id: &str, gateway_ref: &str, now: i64) -> StoreResult<()> {
        self.write(|tx| {
            let (order_id, line_id, amount, done): (String, String, i64, Option<String>) = row(
                tx,
                "SELECT order_id, line_id, amount, gateway_ref FROM refunds WHERE id = ?1",
                [refund_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            if done.is_some() {
                return Ok(());
            }
            exec(
                tx,
                "UPDATE refunds SET gateway_ref = ?2 WHERE id = ?1",
                params![refund_id, gateway_ref],
            )?;
            event(
                tx,
                &order_id,
                "refund_issued",
                None,
                Some(&line_id),
                Some(amount),
                now,
            )?;
            Ok(())
        })
    }

    fn add_order_event(&self, order_id: &str, e: &EventRecord) -> StoreResult<()> {
        self.write(|tx| {
            event(
                tx,
                order_id,
                &e.kind,
                e.charge_id.as_deref(),
                e.line_id.as_deref(),
                e.amount,
                e.at,
            )
        })
    }

    fn webhook_event_seen(&self, provider: &str, event_id: &str) -> StoreResult<bool> {
        self.conn()
            .query_row(
                "SELECT 1 FROM webhook_events WHERE provider = ?1 AND event_id = ?2",
                params![provider, event_id],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(err)
    }

    fn record_webhook_event(&self, provider: &str, event_id: &str, now: i64) -> StoreResult<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "INSERT OR IGNORE INTO webhook_events (provider, event_id, received_at) VALUES (?1, ?2, ?3)",
                params![provider, event_id, now],
            )?;
            Ok(n == 1)
        })
    }
}
