//! Pooled connections that keep their prepared statements: with a plain `query(sql, …)` the
//! client prepares the statement first, one more round trip for every statement (about half of
//! a create-order's). [`Db`] prepares each SQL text once per connection and reuses it.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls, Row, Statement};

/// A connection and its prepared statements (dropped together when the pool drops it).
pub struct PgConn {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// Opens [`PgConn`]s for the pool.
pub struct Manager(pub postgres::Config);

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConn, postgres::Error> {
        Ok(PgConn {
            client: self.0.connect(NoTls)?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed()
    }
}

/// Statements on a client or a transaction `C`, through the connection's statement cache.
pub struct Db<'a, C> {
    /// The client or transaction.
    pub c: &'a mut C,
    statements: &'a mut HashMap<String, Statement>,
}

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

impl<C: GenericClient> Db<'_, C> {
    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.c.prepare(sql)?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// Runs a statement; the rows changed.
    pub fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, postgres::Error> {
        let s = self.statement(sql)?;
        self.c.execute(&s, params)
    }

    /// Every row.
    pub fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.c.query(&s, params)
    }

    /// At most one row.
    pub fn query_opt(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.c.query_opt(&s, params)
    }

    /// Exactly one row.
    pub fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, postgres::Error> {
        let s = self.statement(sql)?;
        self.c.query_one(&s, params)
    }
}

impl PgConn {
    /// Runs `f` in a transaction of `builder`'s kind (committed when `f` succeeds; rolled back
    /// when the transaction drops otherwise).
    pub fn transaction<T, E: From<postgres::Error>>(
        &mut self,
        read_only_snapshot: bool,
        f: impl FnOnce(&mut Db<'_, postgres::Transaction<'_>>) -> Result<T, E>,
    ) -> Result<T, E> {
        let PgConn { client, statements } = self;
        let mut tx = if read_only_snapshot {
            client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?
        } else {
            client.transaction()?
        };
        let out = f(&mut Db {
            c: &mut tx,
            statements,
        })?;
        tx.commit()?;
        Ok(out)
    }

    /// Statements outside a transaction (each its own).
    pub fn db(&mut self) -> Db<'_, Client> {
        Db {
            c: &mut self.client,
            statements: &mut self.statements,
        }
    }
}
