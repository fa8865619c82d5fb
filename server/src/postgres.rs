//! Postgres implementation of [`Store`], for running more than one server process on one database.
//! Every method is one transaction on a pooled connection (READ COMMITTED), and the invariants
//! hold across processes through the database alone:
//!
//! - an idempotency key is claimed by `INSERT … ON CONFLICT DO NOTHING` on its primary key (a
//!   second inserter waits for the first transaction, then finds its record);
//! - add-ons and declines of one order are serialized by `SELECT … FOR NO KEY UPDATE` on the order
//!   row, and `UNIQUE (order_id, kind)` on charges still allows one charge per add-on;
//! - a charge's answer and a refund's completion lock their row before the terminal check;
//! - [`Store::try_lease`] is a session advisory lock held on one dedicated connection
//!   ([`leases`]): exclusive across processes, and released by Postgres when a process dies.
//!
//! The schema is in [`migrations`]; the insights' reads in [`insights`]. Adding a store method is
//! one more `fn` here over [`PostgresStore::write`] / [`PostgresStore::read`].

use std::time::Duration;

use momentum_core::api::{AddonKind, ChargeKind, ChargeStatus};
use momentum_core::offer::OfferConfig;
use momentum_core::quote::LineKind;
use momentum_core::tax::TaxMode;
use postgres::error::SqlState;
use postgres::{GenericClient, Row};

use self::conn::{Db, Manager, PgConn};

use crate::rules::{Funnel, Refusal, Slot};
use crate::store::*;

mod conn;
pub mod insights;
mod leases;
mod migrations;

/// Connections per server process (a request holds one only for one store call).
const POOL_SIZE: u32 = 16;

/// A failure inside a transaction: the database's (retried when it is a serialization failure or
/// a deadlock) or the store's own.
#[derive(Debug)]
pub(crate) enum Fail {
    Db(postgres::Error),
    Store(StoreError),
}

impl From<postgres::Error> for Fail {
    fn from(e: postgres::Error) -> Fail {
        Fail::Db(e)
    }
}

impl From<serde_json::Error> for Fail {
    fn from(e: serde_json::Error) -> Fail {
        Fail::Store(StoreError(e.to_string()))
    }
}

impl From<Fail> for StoreError {
    fn from(f: Fail) -> StoreError {
        match f {
            Fail::Db(e) => StoreError(format!("postgres: {e}")),
            Fail::Store(e) => e,
        }
    }
}

fn fail(message: impl Into<String>) -> Fail {
    Fail::Store(StoreError(message.into()))
}

fn retryable(f: &Fail) -> bool {
    matches!(f, Fail::Db(e) if e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE)
        || e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED))
}

/// `host:port/dbname` of a connection config: what messages may show (never the password).
pub fn describe(config: &postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or_default();
    format!("{host}:{port}/{db}")
}

/// The Postgres store.
pub struct PostgresStore {
    pool: r2d2::Pool<Manager>,
    leases: leases::Leases,
}

impl PostgresStore {
    /// Connects to the database `url` (`postgres://user[:password]@host[:port]/dbname`) and
    /// brings its schema up to date ([`migrations`]). Errors name the server, never the password.
    pub fn open(url: &str) -> StoreResult<PostgresStore> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError(format!("--db: not a valid postgres:// URL ({e})")))?;
        config.connect_timeout(Duration::from_secs(10));
        config.application_name("momentum-server");
        let name = describe(&config);
        let at = |e: postgres::Error| StoreError(format!("postgres {name}: {e}"));
        let mut first = config.connect(postgres::NoTls).map_err(at)?;
        migrations::run(&mut first).map_err(|f| match f {
            Fail::Db(e) => at(e),
            Fail::Store(e) => e,
        })?;
        drop(first);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(2))
            // `has_broken` (a closed socket) is checked on every checkout; a round trip is not.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(30))
            .error_handler(Box::new(r2d2::LoggingErrorHandler))
            .build(Manager(config.clone()))
            .map_err(|e| StoreError(format!("postgres {name}: {e}")))?;
        Ok(PostgresStore {
            pool,
            leases: leases::Leases::new(config),
        })
    }

    /// The schema version of the database (the last migration applied).
    pub fn schema_version(&self) -> StoreResult<i64> {
        self.read(|c| migrations::version(c.c))
    }

    fn client(&self) -> StoreResult<r2d2::PooledConnection<Manager>> {
        self.pool
            .get()
            .map_err(|e| StoreError(format!("postgres: no connection: {e}")))
    }

    /// Runs `f` in one transaction, again (up to 3 times) when Postgres aborts it for a
    /// serialization failure or a deadlock; nothing of a failed attempt is written.
    pub(crate) fn write<T>(
        &self,
        mut f: impl FnMut(&mut Tx<'_, '_>) -> Result<T, Fail>,
    ) -> StoreResult<T> {
        let mut conn = self.client()?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match conn.transaction(false, &mut f) {
                Err(e) if attempt < 3 && retryable(&e) => continue,
                other => return other.map_err(StoreError::from),
            }
        }
    }

    /// Runs reads outside a transaction (statements that need no common snapshot).
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&mut Db<'_, postgres::Client>) -> Result<T, Fail>,
    ) -> StoreResult<T> {
        let mut conn = self.client()?;
        f(&mut conn.db()).map_err(StoreError::from)
    }

    /// Runs reads in one read-only snapshot (REPEATABLE READ).
    pub(crate) fn snapshot<T>(
        &self,
        f: impl FnOnce(&mut Tx<'_, '_>) -> Result<T, Fail>,
    ) -> StoreResult<T> {
        let mut conn: r2d2::PooledConnection<Manager> = self.client()?;
        let conn: &mut PgConn = &mut conn;
        conn.transaction(true, f).map_err(StoreError::from)
    }
}

/// A transaction through the connection's statement cache.
pub(crate) type Tx<'a, 'b> = Db<'a, postgres::Transaction<'b>>;

fn event(
    tx: &mut Tx<'_, '_>,
    order_id: &str,
    kind: &str,
    charge_id: Option<&str>,
    line_id: Option<&str>,
    amount: Option<i64>,
    now: i64,
) -> Result<(), Fail> {
    tx.execute(
        "INSERT INTO order_events (order_id, type, charge_id, line_id, amount, at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&order_id, &kind, &charge_id, &line_id, &amount, &now],
    )?;
    Ok(())
}

fn idem_get<C: GenericClient>(
    c: &mut Db<'_, C>,
    key: &IdemKey,
) -> Result<Option<IdemRecord>, Fail> {
    let row = c.query_opt(
        "SELECT fingerprint, resource_id, response_status, response_body, created_at FROM idempotency_keys WHERE endpoint = $1 AND scope = $2 AND key = $3",
        &[&key.endpoint, &key.scope, &key.key],
    )?;
    let Some(r) = row else { return Ok(None) };
    let status: Option<i32> = r.try_get(2)?;
    let body: Option<String> = r.try_get(3)?;
    let status = status
        .map(|s| u16::try_from(s).map_err(|_| fail(format!("bad stored status {s}"))))
        .transpose()?;
    Ok(Some(IdemRecord {
        fingerprint: r.try_get(0)?,
        resource_id: r.try_get(1)?,
        response: status.zip(body),
        created_at: r.try_get(4)?,
    }))
}

/// Inserts the record of `key` unless one exists; `false` when it existed (the caller reads it).
fn idem_insert(
    tx: &mut Tx<'_, '_>,
    key: &IdemKey,
    fingerprint: &str,
    resource_id: &str,
    now: i64,
) -> Result<bool, Fail> {
    let n = tx.execute(
        "INSERT INTO idempotency_keys (endpoint, scope, key, fingerprint, resource_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        &[&key.endpoint, &key.scope, &key.key, &fingerprint, &resource_id, &now],
    )?;
    Ok(n == 1)
}

fn insert_line(
    tx: &mut Tx<'_, '_>,
    order_id: &str,
    line: &NewLine,
    charge_id: &str,
    position: i64,
) -> Result<(), Fail> {
    tx.execute(
        "INSERT INTO order_lines (order_id, id, kind, label, amount, tax_amount, rate_bp, charge_id, position) VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8)",
        &[&order_id, &line.kind.as_str(), &line.label, &line.amount, &line.tax_amount, &i64::from(line.rate_bp), &charge_id, &position],
    )?;
    Ok(())
}

/// Inserts a pending charge unless the order has one of its kind; `false` then.
fn insert_charge(
    tx: &mut Tx<'_, '_>,
    order_id: &str,
    charge: &NewCharge,
    now: i64,
) -> Result<bool, Fail> {
    let n = tx.execute(
        "INSERT INTO charges (id, order_id, kind, amount, status, created_at, updated_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5) ON CONFLICT (order_id, kind) DO NOTHING",
        &[&charge.id, &order_id, &charge.kind.as_str(), &charge.amount, &now],
    )?;
    Ok(n == 1)
}

/// Locks the order row (add-ons and declines of one order take turns) and reads its funnel.
fn lock_funnel(tx: &mut Tx<'_, '_>, order_id: &str) -> Result<Option<Funnel>, Fail> {
    let Some(row) = tx.query_opt(
        "SELECT offer, holdout FROM orders WHERE id = $1 FOR NO KEY UPDATE",
        &[&order_id],
    )?
    else {
        return Ok(None);
    };
    let offer: OfferConfig = serde_json::from_str(row.try_get(0)?)?;
    let holdout: bool = row.try_get(1)?;
    // The holdout is offered no add-ons.
    let mut f = Funnel {
        primary: ChargeStatus::Pending,
        has_upsell: !holdout && offer.upsell.is_some(),
        has_downsell: !holdout && offer.downsell.is_some(),
        upsell: Slot::Open,
        downsell: Slot::Open,
    };
    for r in tx.query(
        "SELECT kind, status FROM charges WHERE order_id = $1",
        &[&order_id],
    )? {
        let status = ChargeStatus::parse(r.try_get(1)?).unwrap_or(ChargeStatus::Pending);
        match ChargeKind::parse(r.try_get(0)?) {
            Some(ChargeKind::Primary) => f.primary = status,
            Some(ChargeKind::Upsell) => f.upsell = Slot::Charge(status),
            Some(ChargeKind::Downsell) => f.downsell = Slot::Charge(status),
            None => {}
        }
    }
    for r in tx.query(
        "SELECT kind FROM offer_declines WHERE order_id = $1",
        &[&order_id],
    )? {
        match r.try_get::<_, &str>(0)? {
            "upsell" => f.upsell = Slot::Declined,
            "downsell" => f.downsell = Slot::Declined,
            _ => {}
        }
    }
    Ok(Some(f))
}

fn refund_of(r: &Row) -> Result<RefundRecord, Fail> {
    Ok(RefundRecord {
        id: r.try_get(0)?,
        line_id: r.try_get(1)?,
        charge_id: r.try_get(2)?,
        amount: r.try_get(3)?,
        gateway_ref: r.try_get(4)?,
        created_at: r.try_get(5)?,
    })
}

fn header_of(r: &Row) -> Result<OrderHeader, Fail> {
    let tax_mode: &str = r.try_get(5)?;
    Ok(OrderHeader {
        id: r.try_get(0)?,
        offer_id: r.try_get(1)?,
        variant: r.try_get(2)?,
        offer: serde_json::from_str(r.try_get(3)?)?,
        currency: r.try_get(4)?,
        tax_mode: TaxMode::parse(tax_mode)
            .ok_or_else(|| fail(format!("bad tax mode {tax_mode}")))?,
        country: r.try_get(6)?,
        email: r.try_get(7)?,
        bump: r.try_get(8)?,
        exit_offer: r.try_get(9)?,
        holdout: r.try_get(10)?,
        payment_method: r.try_get(11)?,
        card_brand: r.try_get(12)?,
        card_last4: r.try_get(13)?,
    })
}

fn load_order(c: &mut Tx<'_, '_>, id: &str) -> Result<Option<OrderRecord>, Fail> {
    let Some(row) = c.query_opt(
        "SELECT id, offer_id, variant, offer, currency, tax_mode, country, email, bump, exit_offer, holdout, payment_method, card_brand, card_last4, created_at FROM orders WHERE id = $1",
        &[&id],
    )?
    else {
        return Ok(None);
    };
    let header = header_of(&row)?;
    let created_at: i64 = row.try_get(14)?;
    let lines = c
        .query(
            "SELECT id, kind, label, amount, tax_amount, rate_bp, charge_id FROM order_lines WHERE order_id = $1 ORDER BY position, seq",
            &[&id],
        )?
        .iter()
        .map(|r| {
            let rate: i64 = r.try_get(5)?;
            Ok(LineRecord {
                id: r.try_get(0)?,
                kind: LineKind::parse(r.try_get(1)?).unwrap_or(LineKind::Product),
                label: r.try_get(2)?,
                amount: r.try_get(3)?,
                tax_amount: r.try_get(4)?,
                rate_bp: u32::try_from(rate).map_err(|_| fail(format!("bad rate {rate}")))?,
                charge_id: r.try_get(6)?,
            })
        })
        .collect::<Result<Vec<_>, Fail>>()?;
    let charges = c
        .query(
            "SELECT c.id, c.kind, c.amount, c.status, c.gateway_ref, c.action_url, c.decline_code, c.decline_message, c.created_at, x.at FROM charges c LEFT JOIN charge_cancels x ON x.charge_id = c.id WHERE c.order_id = $1 ORDER BY c.created_at, c.seq",
            &[&id],
        )?
        .iter()
        .map(|r| {
            let code: Option<String> = r.try_get(6)?;
            let msg: Option<String> = r.try_get(7)?;
            Ok(ChargeRecord {
                id: r.try_get(0)?,
                kind: ChargeKind::parse(r.try_get(1)?).unwrap_or(ChargeKind::Primary),
                amount: r.try_get(2)?,
                status: ChargeStatus::parse(r.try_get(3)?).unwrap_or(ChargeStatus::Pending),
                gateway_ref: r.try_get(4)?,
                action_url: r.try_get(5)?,
                decline: code.zip(msg),
                created_at: r.try_get(8)?,
                canceled_at: r.try_get(9)?,
            })
        })
        .collect::<Result<Vec<_>, Fail>>()?;
    let declined = c
        .query(
            "SELECT kind FROM offer_declines WHERE order_id = $1 ORDER BY at, kind",
            &[&id],
        )?
        .iter()
        .map(|r| r.try_get::<_, String>(0))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter_map(|k| match k.as_str() {
            "upsell" => Some(AddonKind::Upsell),
            "downsell" => Some(AddonKind::Downsell),
            _ => None,
        })
        .collect();
    let refunds = c
        .query(
            "SELECT id, line_id, charge_id, amount, gateway_ref, created_at FROM refunds WHERE order_id = $1 ORDER BY created_at, seq",
            &[&id],
        )?
        .iter()
        .map(refund_of)
        .collect::<Result<Vec<_>, Fail>>()?;
    let events = c
        .query(
            "SELECT type, at, charge_id, line_id, amount FROM order_events WHERE order_id = $1 ORDER BY seq",
            &[&id],
        )?
        .iter()
        .map(|r| {
            Ok(EventRecord {
                kind: r.try_get(0)?,
                at: r.try_get(1)?,
                charge_id: r.try_get(2)?,
                line_id: r.try_get(3)?,
                amount: r.try_get(4)?,
            })
        })
        .collect::<Result<Vec<_>, Fail>>()?;
    Ok(Some(OrderRecord {
        header,
        created_at,
        lines,
        charges,
        declined,
        refunds,
        events,
    }))
}

fn strings(rows: Vec<Row>) -> Result<Vec<String>, Fail> {
    rows.iter()
        .map(|r| r.try_get(0).map_err(Fail::from))
        .collect()
}

impl Store for PostgresStore {
    fn offer(&self, id: &str) -> StoreResult<Option<OfferConfig>> {
        self.read(|c| {
            let row = c.query_opt("SELECT config FROM offers WHERE id = $1", &[&id])?;
            row.map(|r| Ok(serde_json::from_str(r.try_get(0)?)?))
                .transpose()
        })
    }

    fn put_offer(&self, offer: &OfferConfig, now: i64) -> StoreResult<()> {
        let json = serde_json::to_string(offer).map_err(|e| StoreError(e.to_string()))?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO offers (id, config, updated_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at",
                &[&offer.id, &json, &now],
            )?;
            Ok(())
        })
    }

    fn seed_offer(&self, offer: &OfferConfig, now: i64) -> StoreResult<bool> {
        let json = serde_json::to_string(offer).map_err(|e| StoreError(e.to_string()))?;
        self.write(|tx| {
            let n = tx.execute(
                "INSERT INTO offers (id, config, updated_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&offer.id, &json, &now],
            )?;
            Ok(n == 1)
        })
    }

    fn installation_secret(&self) -> StoreResult<Vec<u8>> {
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|e| StoreError(e.to_string()))?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('installation_secret', $1) ON CONFLICT DO NOTHING",
                &[&&fresh[..]],
            )?;
            let row = tx.query_one(
                "SELECT value FROM meta WHERE key = 'installation_secret'",
                &[],
            )?;
            Ok(row.try_get(0)?)
        })
    }

    fn try_lease(&self, key: &IdemKey) -> StoreResult<Option<Lease>> {
        self.leases.try_take(key)
    }

    fn idempotency(&self, key: &IdemKey) -> StoreResult<Option<IdemRecord>> {
        self.read(|c| idem_get(c, key))
    }

    fn complete_idempotency(
        &self,
        key: &IdemKey,
        status: u16,
        body: &str,
        now: i64,
    ) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE idempotency_keys SET response_status = $4, response_body = $5, completed_at = $6 WHERE endpoint = $1 AND scope = $2 AND key = $3 AND response_status IS NULL",
                &[&key.endpoint, &key.scope, &key.key, &i32::from(status), &body, &now],
            )?;
            Ok(())
        })
    }

    fn purge_idempotency(&self, before: i64) -> StoreResult<usize> {
        self.write(|tx| {
            let n = tx.execute(
                "DELETE FROM idempotency_keys WHERE response_status IS NOT NULL AND created_at < $1",
                &[&before],
            )?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }

    fn begin_order(
        &self,
        key: &IdemKey,
        fingerprint: &str,
        o: &NewOrder,
        now: i64,
    ) -> StoreResult<Begin> {
        let offer =
            serde_json::to_string(&o.header.offer).map_err(|e| StoreError(e.to_string()))?;
        let h = &o.header;
        self.write(|tx| {
            // The claim: a concurrent claimer of the same key waits for this transaction.
            if !idem_insert(tx, key, fingerprint, &h.id, now)? {
                return match idem_get(tx, key)? {
                    Some(existing) => Ok(Begin::Existing(existing)),
                    None => Err(fail("idempotency record vanished while claimed")),
                };
            }
            tx.execute(
                "INSERT INTO orders (id, offer_id, variant, offer, currency, tax_mode, country, email, bump, exit_offer, holdout, payment_method, card_brand, card_last4, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                &[
                    &h.id, &h.offer_id, &h.variant, &offer, &h.currency, &h.tax_mode.as_str(), &h.country, &h.email, &h.bump, &h.exit_offer,
                    &h.holdout, &h.payment_method, &h.card_brand, &h.card_last4, &now,
                ],
            )?;
            if !insert_charge(tx, &h.id, &o.charge, now)? {
                return Err(fail("a new order already had a primary charge"));
            }
            for (i, line) in o.lines.iter().enumerate() {
                insert_line(tx, &h.id, line, &o.charge.id, i as i64)?;
            }
            event(tx, &h.id, "order_created", Some(&o.charge.id), None, Some(o.charge.amount), now)?;
            Ok(Begin::Started)
        })
    }

    fn order(&self, id: &str) -> StoreResult<Option<OrderRecord>> {
        // One snapshot for the order and everything attached.
        self.snapshot(|tx| load_order(tx, id))
    }

    fn order_ids_by_email(&self, email: &str) -> StoreResult<Vec<String>> {
        self.read(|c| {
            strings(c.query(
                "SELECT id FROM orders WHERE lower(email COLLATE \"C\") = lower($1 COLLATE \"C\") ORDER BY seq",
                &[&email],
            )?)
        })
    }

    fn update_charge(&self, u: &ChargeUpdate, now: i64) -> StoreResult<()> {
        self.write(|tx| {
            let row = tx.query_one(
                "SELECT order_id, kind, amount, status FROM charges WHERE id = $1 FOR UPDATE",
                &[&u.charge_id],
            )?;
            let (order_id, kind, amount): (String, String, i64) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            let old = ChargeStatus::parse(row.try_get(3)?).unwrap_or(ChargeStatus::Pending);
            // Terminal states never change again (a late or replayed gateway answer is ignored).
            if matches!(old, ChargeStatus::Succeeded | ChargeStatus::Declined) {
                return Ok(());
            }
            let (code, msg) = match &u.decline {
                Some((c, m)) => (Some(c.as_str()), Some(m.as_str())),
                None => (None, None),
            };
            tx.execute(
                "UPDATE charges SET status = $2, gateway_ref = $3, action_url = $4, decline_code = $5, decline_message = $6, updated_at = $7 WHERE id = $1",
                &[&u.charge_id, &u.status.as_str(), &u.gateway_ref, &u.action_url, &code, &msg, &now],
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
            let n = tx.execute(
                "INSERT INTO charge_cancels (charge_id, at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&charge_id, &now],
            )?;
            if n == 1 {
                let row = tx.query_one(
                    "SELECT order_id, amount FROM charges WHERE id = $1",
                    &[&charge_id],
                )?;
                let (order_id, amount): (String, i64) = (row.try_get(0)?, row.try_get(1)?);
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
        self.read(|c| {
            strings(c.query(
                "SELECT order_id FROM charges WHERE status = 'pending'
                 UNION
                 SELECT c.order_id FROM charge_cancels x JOIN charges c ON c.id = x.charge_id
                 WHERE c.status IN ('requires_action', 'processing')
                    OR (c.status = 'succeeded' AND EXISTS (
                        SELECT 1 FROM order_lines l WHERE l.charge_id = c.id AND NOT EXISTS (
                            SELECT 1 FROM refunds r
                            WHERE r.order_id = l.order_id AND r.line_id = l.id AND r.gateway_ref IS NOT NULL)))",
                &[],
            )?)
        })
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
            // The order's row lock first: every add-on key of the order is scoped to it, so the
            // reads below see every add-on committed before, and none can commit meanwhile.
            let Some(f) = lock_funnel(tx, order_id)? else {
                return Err(fail(format!("no order {order_id}")));
            };
            if let Some(existing) = idem_get(tx, key)? {
                return Ok(BeginAddon::Existing(existing));
            }
            if let Err(refusal) = f.can_accept(kind) {
                return Ok(BeginAddon::Refused(refusal));
            }
            // The unique (order, kind) constraint is the last line of defence.
            if !insert_charge(tx, order_id, charge, now)? {
                return Ok(BeginAddon::Refused(Refusal::InProgress));
            }
            if !idem_insert(tx, key, fingerprint, &charge.id, now)? {
                return Err(fail("idempotency key claimed under the order's lock"));
            }
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
            let Some(f) = lock_funnel(tx, order_id)? else {
                return Err(fail(format!("no order {order_id}")));
            };
            if let Err(refusal) = f.can_decline(kind) {
                return Ok(DeclineOutcome::Refused(refusal));
            }
            tx.execute(
                "INSERT INTO offer_declines (order_id, kind, at) VALUES ($1, $2, $3)",
                &[&order_id, &kind.as_str(), &now],
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
            // Unique per line: a concurrent refund of the line waits, then finds this one.
            let n = tx.execute(
                "INSERT INTO refunds (id, order_id, line_id, charge_id, amount, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (order_id, line_id) DO NOTHING",
                &[&refund.id, &order_id, &line_id, &refund.charge_id, &refund.amount, &reason, &now],
            )?;
            if n == 1 {
                return Ok(BeginRefund::Go(RefundRecord {
                    created_at: now,
                    ..refund.clone()
                }));
            }
            let r = refund_of(&tx.query_one(
                "SELECT id, line_id, charge_id, amount, gateway_ref, created_at FROM refunds WHERE order_id = $1 AND line_id = $2",
                &[&order_id, &line_id],
            )?)?;
            Ok(match r.gateway_ref {
                Some(_) => BeginRefund::AlreadyRefunded(r),
                None => BeginRefund::Go(r),
            })
        })
    }

    fn complete_refund(&self, refund_id: &str, gateway_ref: &str, now: i64) -> StoreResult<()> {
        self.write(|tx| {
            let row = tx.query_one(
                "SELECT order_id, line_id, amount, gateway_ref FROM refunds WHERE id = $1 FOR UPDATE",
                &[&refund_id],
            )?;
            let (order_id, line_id, amount, done): (String, String, i64, Option<String>) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
            if done.is_some() {
                return Ok(());
            }
            tx.execute(
                "UPDATE refunds SET gateway_ref = $2 WHERE id = $1",
                &[&refund_id, &gateway_ref],
            )?;
            event(tx, &order_id, "refund_issued", None, Some(&line_id), Some(amount), now)?;
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
        self.read(|c| {
            let row = c.query_opt(
                "SELECT 1 FROM webhook_events WHERE provider = $1 AND event_id = $2",
                &[&provider, &event_id],
            )?;
            Ok(row.is_some())
        })
    }

    fn record_webhook_event(&self, provider: &str, event_id: &str, now: i64) -> StoreResult<bool> {
        self.write(|tx| {
            let added = tx.execute(
                "INSERT INTO webhook_events (provider, event_id, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&provider, &event_id, &now],
            )?;
            Ok(added == 1)
        })
    }
}
