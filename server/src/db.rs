//! Which store `--db` names, and opening it: a `postgres://` (or `postgresql://`) URL selects
//! [`crate::postgres::PostgresStore`], anything else is a SQLite file ([`crate::sqlite::SqliteStore`]).
//! A URL may carry a password, so it is never printed: [`Database`]'s `Debug` and
//! [`Database::describe`] show the server and database only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::store::{Store, StoreResult};

/// The database a server runs on.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file, created if missing (one server process).
    Sqlite(PathBuf),
    /// A Postgres connection URL (any number of server processes).
    Postgres(String),
}

impl Database {
    /// Reads a `--db` value.
    pub fn parse(value: &str) -> Database {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            Database::Postgres(value.to_string())
        } else {
            Database::Sqlite(PathBuf::from(value))
        }
    }

    /// What logs may show: the file, or `postgres://host:port/dbname` (no user, no password).
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(url) => match url.parse::<postgres::Config>() {
                Ok(config) => format!("postgres://{}", crate::postgres::describe(&config)),
                Err(_) => "postgres://(invalid URL)".into(),
            },
        }
    }

    /// Opens the store, migrating its schema.
    pub fn open(&self) -> StoreResult<Arc<dyn Store>> {
        Ok(match self {
            Database::Sqlite(path) => Arc::new(crate::sqlite::SqliteStore::open(path)?),
            Database::Postgres(url) => Arc::new(crate::postgres::PostgresStore::open(url)?),
        })
    }

    /// The SQLite file of the test gateway when none is given: the store's own file, or
    /// `momentum-test-gateway.sqlite` beside the working directory for Postgres.
    pub fn default_test_gateway_file(&self) -> PathBuf {
        match self {
            Database::Sqlite(path) => path.clone(),
            Database::Postgres(_) => Path::new("momentum-test-gateway.sqlite").to_path_buf(),
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_picks_postgres_and_never_shows_its_password() {
        let db = Database::parse("postgres://shop:s3cret-pw@db.internal:6543/momentum");
        assert!(matches!(db, Database::Postgres(_)));
        assert_eq!(db.describe(), "postgres://db.internal:6543/momentum");
        assert!(!format!("{db:?}").contains("s3cret"));
        let db = Database::parse("postgresql://localhost/shop?password=s3cret");
        assert!(!db.describe().contains("s3cret"), "{}", db.describe());
        assert_eq!(
            Database::parse("orders.sqlite"),
            Database::Sqlite(PathBuf::from("orders.sqlite"))
        );
        assert!(!Database::parse("postgres://u:s3cret@[bad")
            .describe()
            .contains("s3cret"));
    }
}
