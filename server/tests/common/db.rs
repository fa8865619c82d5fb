//! Where a test server keeps its data. By default a SQLite file in the test's temporary
//! directory; with `MOMENTUM_TEST_DB=postgres://user@host:port/any` (set by `cargo xtask test`
//! for its second run of the suite) a fresh Postgres database on that server for each test
//! server, so the same tests run against both stores. The test gateway's `tg_*` tables are always
//! in a SQLite file (the store's own with SQLite).
//!
//! Tests read and change stored rows through [`TestDb`] with SQL both stores understand;
//! parameters are written `?1`, `?2`… and are text.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The environment variable that selects Postgres.
pub const ENV: &str = "MOMENTUM_TEST_DB";

/// A test server's databases (cloned by a second server on the same store).
#[derive(Clone)]
pub struct TestDb {
    /// Keeps the SQLite files (and the gateway's) until every server using them is gone.
    _dir: Arc<tempfile::TempDir>,
    store: Store,
    gateway: PathBuf,
}

#[derive(Clone)]
enum Store {
    Sqlite(PathBuf),
    Postgres(String),
}

/// `true` when the suite runs against Postgres.
pub fn postgres() -> bool {
    std::env::var(ENV).is_ok_and(|v| !v.is_empty())
}

/// Runs `f` on a thread of its own: the sync Postgres client may not block a tokio worker.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().expect("postgres call panicked"))
}

fn connect(url: &str) -> postgres::Client {
    let mut config: postgres::Config = url.parse().expect("MOMENTUM_TEST_DB is a postgres URL");
    config.connect_timeout(Duration::from_secs(10));
    config
        .connect(postgres::NoTls)
        .unwrap_or_else(|e| panic!("connect to the test Postgres: {e}"))
}

/// `url` with its database name replaced by `name`.
fn with_dbname(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, format!("?{q}")),
        None => (rest, String::new()),
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}/{name}{query}")
}

/// `?1` → `$1`: the tests' SQL in Postgres' placeholder syntax.
fn dollar_params(sql: &str) -> String {
    sql.replace('?', "$")
}

impl TestDb {
    /// New, empty databases.
    pub fn new() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let sqlite = dir.path().join("momentum.sqlite");
        let (store, gateway) = match std::env::var(ENV).ok().filter(|v| !v.is_empty()) {
            None => (Store::Sqlite(sqlite.clone()), sqlite),
            Some(admin_url) => {
                let name = format!("mt_{}", super::uuid());
                off_runtime(|| {
                    connect(&admin_url)
                        .batch_execute(&format!("CREATE DATABASE {name}"))
                        .expect("create the test database")
                });
                (
                    Store::Postgres(with_dbname(&admin_url, &name)),
                    dir.path().join("test-gateway.sqlite"),
                )
            }
        };
        TestDb {
            _dir: Arc::new(dir),
            store,
            gateway,
        }
    }

    /// A SQLite store (and gateway) starting from a copy of `file`, e.g. a database made by an
    /// older server.
    pub fn sqlite_copy_of(file: &Path) -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("momentum.sqlite");
        std::fs::copy(file, &path).expect("copy the database");
        TestDb {
            _dir: Arc::new(dir),
            store: Store::Sqlite(path.clone()),
            gateway: path,
        }
    }

    /// The server's flags for these databases.
    pub fn args(&self) -> Vec<String> {
        let db = match &self.store {
            Store::Sqlite(path) => path.display().to_string(),
            Store::Postgres(url) => url.clone(),
        };
        vec![
            "--db".into(),
            db,
            "--test-gateway-db".into(),
            self.gateway.display().to_string(),
        ]
    }

    /// The SQLite file of the store, when the store is SQLite.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.store {
            Store::Sqlite(path) => Some(path),
            Store::Postgres(_) => None,
        }
    }

    /// The test gateway's tables (in every mode a SQLite file).
    pub fn gateway(&self) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(&self.gateway).expect("open gateway db");
        c.busy_timeout(Duration::from_secs(10))
            .expect("busy timeout");
        c
    }

    /// `SELECT COUNT(*)`-like queries with one integer answer; a query on the gateway's `tg_*`
    /// tables goes to the gateway's file.
    pub fn count(&self, sql: &str) -> i64 {
        if sql.contains("tg_") {
            return self.gateway().query_row(sql, [], |r| r.get(0)).expect(sql);
        }
        match &self.store {
            Store::Sqlite(path) => {
                let c = rusqlite::Connection::open(path).expect("open db");
                c.busy_timeout(Duration::from_secs(10)).expect("busy");
                c.query_row(sql, [], |r| r.get(0)).expect(sql)
            }
            // SUM over BIGINT is NUMERIC in Postgres.
            Store::Postgres(url) => off_runtime(|| {
                connect(url)
                    .query_one(&format!("SELECT ({sql})::BIGINT"), &[])
                    .and_then(|r| r.try_get(0))
                    .expect(sql)
            }),
        }
    }

    /// Runs a statement on the store; returns the rows changed.
    pub fn execute(&self, sql: &str, params: &[&str]) -> usize {
        match &self.store {
            Store::Sqlite(path) => {
                let c = rusqlite::Connection::open(path).expect("open db");
                c.busy_timeout(Duration::from_secs(10)).expect("busy");
                c.execute(sql, rusqlite::params_from_iter(params.iter()))
                    .expect(sql)
            }
            Store::Postgres(url) => off_runtime(|| {
                let values: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                connect(url)
                    .execute(&dollar_params(sql), &values)
                    .expect(sql) as usize
            }),
        }
    }

    /// The first column (text) of every row of a query on the store.
    pub fn strings(&self, sql: &str) -> Vec<String> {
        match &self.store {
            Store::Sqlite(path) => {
                let c = rusqlite::Connection::open(path).expect("open db");
                let mut q = c.prepare(sql).expect(sql);
                let rows = q
                    .query_map([], |r| r.get(0))
                    .expect(sql)
                    .collect::<Result<_, _>>()
                    .expect(sql);
                rows
            }
            Store::Postgres(url) => off_runtime(|| {
                connect(url)
                    .query(sql, &[])
                    .expect(sql)
                    .iter()
                    .map(|r| r.get(0))
                    .collect()
            }),
        }
    }
}
