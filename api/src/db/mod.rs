//! Persistence: the connection pool over SQLite or PostgreSQL, migrations, transactions
//! and the one place diesel errors become [`StoreError`]s.
//!
//! The backend is chosen from the URL scheme and nothing else: SQLite accepts any path,
//! so guessing would turn a typo into a stray empty database.

pub mod changes;
pub mod ids;
pub mod locator;
pub mod schema;
pub mod store;
pub mod workflow;

use std::path::Path;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use thiserror::Error;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// One database connection, to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// The pool every request borrows from.
pub type Pool = r2d2::Pool<Manager>;
/// A connection borrowed from the pool.
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// Which database engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database URL whose scheme we understand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    pub backend: Backend,
    /// What the driver is given: a file path for SQLite, the URL itself for PostgreSQL.
    pub target: String,
}

impl DatabaseUrl {
    /// Parses `sqlite://PATH`, `postgres://…` or `postgresql://…`; anything else is refused.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path == ":memory:" {
                return Err(StoreError::Config(
                    "sqlite:// needs a file path, e.g. sqlite://patrol.db (an in-memory \
                     database would give each pooled connection its own empty database)"
                        .into(),
                ));
            }
            return Ok(Self {
                backend: Backend::Sqlite,
                target: path.to_owned(),
            });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres,
                target: url.to_owned(),
            });
        }
        Err(StoreError::Config(
            "DATABASE_URL must start with sqlite://, postgres:// or postgresql://".into(),
        ))
    }
}

/// An r2d2 manager that opens the backend the URL names and reports the driver's own
/// error (diesel's derived `establish` hides it and r2d2 then retries for 30 s).
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
}

impl Manager {
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }
}

/// Settings applied to every SQLite connection. `synchronous = FULL` because an
/// acknowledged write must survive a power cut; WAL so readers never block the writer.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 15000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match self.url.backend {
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.url.target)
                    .map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
            Backend::Postgres => PgConnection::establish(&self.url.target)
                .map(DbConn::Pg)
                .map_err(r2d2::Error::ConnectionError),
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// A connection whose transaction could not be closed is not returned to the pool.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        match conn {
            DbConn::Pg(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
            DbConn::Sqlite(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
        }
    }
}

/// Creates a missing SQLite file readable by its owner only (SQLite gives its WAL and
/// shared-memory files the same mode): it holds residents' phone numbers and locations.
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Opens a pool and checks one connection, so a bad URL or password fails at start-up
/// with the driver's message.
pub fn connect(url: &DatabaseUrl, max_size: u32) -> Result<Pool, StoreError> {
    if url.backend == Backend::Sqlite {
        create_private(Path::new(&url.target))
            .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", url.target)))?;
    }
    let manager = Manager::new(url.clone());
    // Surface the real connection error before r2d2 starts retrying silently.
    manager
        .connect()
        .map_err(|e| StoreError::Config(format!("cannot open the database: {e}")))?;
    r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(Duration::from_secs(5))
        .build(manager)
        .map_err(|e| StoreError::Config(format!("cannot open the database pool: {e}")))
}

/// Runs every pending migration of the pool's backend.
pub fn migrate(conn: &mut DbConn) -> Result<usize, StoreError> {
    let migrations = match conn {
        DbConn::Sqlite(_) => SQLITE_MIGRATIONS,
        DbConn::Pg(_) => POSTGRES_MIGRATIONS,
    };
    if let DbConn::Pg(pg) = conn {
        // Two servers starting at once must not both migrate: serialise on an advisory
        // lock held for the session.
        pg.batch_execute("SELECT pg_advisory_lock(7315001)")?;
    }
    let run = |conn: &mut DbConn| {
        conn.run_pending_migrations(migrations)
            .map(|applied| applied.len())
            .map_err(|e| StoreError::Migration(e.to_string()))
    };
    let result = match conn {
        // On SQLite the write lock taken up front serialises servers starting together.
        DbConn::Sqlite(_) => write_tx(conn, run),
        DbConn::Pg(_) => run(conn),
    };
    if let DbConn::Pg(pg) = conn {
        pg.batch_execute("SELECT pg_advisory_unlock(7315001)")?;
    }
    result
}

/// Runs `f` in a write transaction. On SQLite the write lock is taken up front
/// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of failing
/// with "database is locked" when a read transaction tries to upgrade.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let outermost_sqlite =
        match conn {
            DbConn::Sqlite(inner) => <AnsiTransactionManager as TransactionManager<
                SqliteConnection,
            >>::transaction_manager_status_mut(inner)
            .transaction_depth()?
            .is_none(),
            DbConn::Pg(_) => false,
        };
    match conn {
        DbConn::Sqlite(inner) if outermost_sqlite => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?
        }
        // Nested calls become savepoints; PostgreSQL row locks need no up-front lock.
        _ => DbConn::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => match DbConn::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(commit_err) => {
                if let Err(rollback_err) = DbConn::rollback_transaction(conn) {
                    tracing::error!(error = %rollback_err, "rollback after a failed commit failed");
                }
                Err(commit_err.into())
            }
        },
        Err(err) => {
            if let Err(rollback_err) = DbConn::rollback_transaction(conn) {
                tracing::error!(error = %rollback_err, "rollback failed");
            }
            Err(err)
        }
    }
}

/// What persistence can fail with. Diesel errors are classified once, here.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; `constraint` says which if the driver knows.
    #[error("already exists: {constraint}")]
    Duplicate { constraint: String },
    /// No connection could be had in time: the caller should retry.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database's disk (or its size limit) is full: nothing was written, and a
    /// retry succeeds once space is freed.
    #[error("database storage full: {0}")]
    Full(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(diesel::result::Error),
}

/// Whether a driver message says the disk is full: SQLite's `SQLITE_FULL` ("database or
/// disk is full"; its VFS reports `ENOSPC` so), and PostgreSQL's `disk_full` (53100),
/// whose text names the file it could not extend or write and the OS error. Diesel
/// passes neither code on, and both texts are fixed in the servers' default messages.
fn reports_full_disk(message: &str) -> bool {
    message.contains("database or disk is full")
        || message.contains("No space left on device")
        || message.contains("could not extend file")
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => StoreError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Duplicate {
                    constraint: info
                        .constraint_name()
                        .map(str::to_owned)
                        .unwrap_or_else(|| info.message().to_owned()),
                }
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                StoreError::Unavailable(info.message().to_owned())
            }
            // PostgreSQL broke a lock cycle by aborting this transaction (40P01): nothing
            // was written and a retry succeeds. Diesel does not classify it; PostgreSQL's
            // message for it is fixed text in the server's default (C/English) messages.
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message() == "deadlock detected" =>
            {
                StoreError::Unavailable(info.message().to_owned())
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                StoreError::Unavailable(info.message().to_owned())
            }
            Error::DatabaseError(_, info) if reports_full_disk(info.message()) => {
                StoreError::Full(info.message().to_owned())
            }
            other => StoreError::Database(other),
        }
    }
}

impl From<r2d2::PoolError> for StoreError {
    fn from(e: r2d2::PoolError) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

/// Result alias for persistence.
pub type StoreResult<T> = Result<T, StoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend_by_scheme_and_refuse_the_rest() {
        let cases = [
            ("sqlite://patrol.db", Some((Backend::Sqlite, "patrol.db"))),
            (
                "sqlite:///var/lib/p.db",
                Some((Backend::Sqlite, "/var/lib/p.db")),
            ),
            (
                "postgres://u@h/db",
                Some((Backend::Postgres, "postgres://u@h/db")),
            ),
            (
                "postgresql://u@h/db",
                Some((Backend::Postgres, "postgresql://u@h/db")),
            ),
            ("patrol.db", None),
            ("mysql://x", None),
            ("sqlite://", None),
            ("sqlite://:memory:", None),
        ];
        for (url, want) in cases {
            let got = DatabaseUrl::parse(url).ok().map(|u| (u.backend, u.target));
            assert_eq!(got, want.map(|(b, t)| (b, t.to_owned())), "{url}");
        }
    }
}
