//! The PostgreSQL store: the same [`Store`](crate::Store) interface and behaviour as the
//! embedded SQLite store, for installations that outgrow one server (several gateways and
//! writers, a province or the national network). `qingshan serve --store postgres://…`.
//!
//! Synchronous on purpose, like the rest of the store interface: it is called from the
//! writer and derive threads and, in the web, from request handlers. The `postgres` crate
//! drives its connection on a private runtime; [`blocking`] makes that safe to call from
//! inside a tokio runtime too.
//!
//! Schema: versioned migrations ([`MIGRATIONS`]) applied under an advisory lock at connect, so
//! several nodes starting together migrate once. Each domain module (`pg/water.rs`, …) holds
//! the PostgreSQL version of its tables next to its trait implementation.

use std::cell::RefCell;

use crate::{Result, StoreError};

/// One schema migration: applied once, in order, recorded in `schema_migrations`.
pub(crate) struct Migration {
    pub version: i32,
    pub name: &'static str,
    /// Statements (each may hold several `;`-separated ones), run in order in one transaction.
    pub sql: &'static [&'static str],
}

/// Every migration, in order. Append; never edit one that has shipped.
pub(crate) const MIGRATIONS: &[Migration] = &[];

/// Advisory lock key that serialises migrations across nodes ("qingshan" in ASCII).
const MIGRATION_LOCK: i64 = 0x7169_6e67_7368_616e;

pub struct PgStore {
    /// The connection. `RefCell` because reads (`&self`) need `&mut Client` too; the store is
    /// `Send`, never shared between threads without a lock.
    pub(crate) client: RefCell<postgres::Client>,
    url: String,
}

/// Runs `f`, which blocks on PostgreSQL I/O, so that it is safe from any context: directly on
/// a plain thread; via `block_in_place` on a multi-threaded tokio runtime; on a scoped helper
/// thread on a current-thread runtime (tests), where blocking in place is not allowed.
pub(crate) fn blocking<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    match tokio::runtime::Handle::try_current() {
        Err(_) => f(),
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        Ok(_) => std::thread::scope(|s| {
            s.spawn(f)
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        }),
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and applies pending migrations.
    pub fn connect(url: &str) -> Result<PgStore> {
        let client = blocking(|| postgres::Client::connect(url, postgres::NoTls))
            .map_err(|e| StoreError::Invalid(format!("connecting to {}: {e}", redact(url))))?;
        let store = PgStore {
            client: RefCell::new(client),
            url: url.to_string(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// The connection URL with any password left out (for messages and logs).
    pub fn url(&self) -> String {
        redact(&self.url)
    }

    /// Runs `f` with the connection (see [`blocking`]).
    pub(crate) fn with<T: Send>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<T> + Send,
    ) -> Result<T> {
        let mut c = self.client.borrow_mut();
        let c: &mut postgres::Client = &mut c;
        blocking(move || f(c))
    }

    fn migrate(&self) -> Result<()> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations(
                    version INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_ms BIGINT NOT NULL)",
            )?;
            let applied: Option<i32> = tx
                .query_one("SELECT max(version) FROM schema_migrations", &[])?
                .get(0);
            let applied = applied.unwrap_or(0);
            let newest = MIGRATIONS.last().map(|m| m.version).unwrap_or(0);
            if applied > newest {
                return Err(StoreError::Invalid(format!(
                    "the database's schema version {applied} is newer than this qingshan ({newest})"
                )));
            }
            for m in MIGRATIONS.iter().filter(|m| m.version > applied) {
                for sql in m.sql {
                    tx.batch_execute(sql).map_err(|e| {
                        StoreError::Invalid(format!("migration {} ({}): {e}", m.version, m.name))
                    })?;
                }
                tx.execute(
                    "INSERT INTO schema_migrations(version, name, applied_ms) VALUES($1, $2, $3)",
                    &[&m.version, &m.name, &crate::pg::now_ms()],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A database of its own for one test: created on a server (`QINGSHAN_TEST_PG`, default
/// `postgres://postgres@127.0.0.1:5432/postgres`) with a unique name, dropped on drop.
pub struct TempDb {
    admin: String,
    name: String,
    url: String,
}

impl TempDb {
    pub fn new() -> Result<TempDb> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let admin = std::env::var("QINGSHAN_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!(
            "qingshan_test_{}_{}_{}",
            std::process::id(),
            now_ms(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let url = match admin.rfind('/') {
            Some(i) if i > admin.find("://").map(|s| s + 2).unwrap_or(0) => {
                format!("{}/{name}", &admin[..i])
            }
            _ => {
                return Err(StoreError::Invalid(format!(
                    "QINGSHAN_TEST_PG {admin}: no database part"
                )))
            }
        };
        blocking(|| -> Result<()> {
            let mut c = postgres::Client::connect(&admin, postgres::NoTls)?;
            c.batch_execute(&format!("CREATE DATABASE {name}"))?;
            Ok(())
        })?;
        Ok(TempDb { admin, name, url })
    }

    /// The URL of the test's database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = blocking(move || -> Result<()> {
            let mut c = postgres::Client::connect(&admin, postgres::NoTls)?;
            c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://u:pw@h:5432/d"),
            "postgres://u:***@h:5432/d"
        );
        assert_eq!(redact("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(redact("postgres://h/d"), "postgres://h/d");
    }

    #[test]
    fn connects_and_migrates_once() {
        let db = TempDb::new().unwrap();
        let a = PgStore::connect(db.url()).unwrap();
        let b = PgStore::connect(db.url()).unwrap();
        let n: i64 = a
            .with(|c| {
                Ok(c.query_one("SELECT count(*) FROM schema_migrations", &[])?
                    .get(0))
            })
            .unwrap();
        assert_eq!(n as usize, MIGRATIONS.len());
        drop((a, b));
    }
}
