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
//! several nodes starting together migrate once. The base tables and the [`Store`](crate::Store)
//! implementation are in `base.rs` (migration 1; layout in docs/postgres.md "Storage layout");
//! each domain module (`pg/water.rs`, …) holds the PostgreSQL version of its tables next to its
//! trait implementation.
//!
//! Text keys that are ordered or range-compared are declared `COLLATE "C"` so that ordering is
//! by bytes, as in SQLite, whatever the database's locale (zh_CN, en_US, …).

use std::cell::{Cell, RefCell};
use std::mem::ManuallyDrop;

use crate::{Result, StoreError};

pub(crate) mod base;

/// One schema migration: applied once, in order, recorded in `schema_migrations`.
pub(crate) struct Migration {
    pub version: i32,
    pub name: &'static str,
    /// Statements (each may hold several `;`-separated ones), run in order in one transaction.
    pub sql: &'static [&'static str],
}

// Domain extensions: each module implements its extension trait for `PgStore` and holds the
// PostgreSQL DDL of its tables (`SCHEMA`), applied by the "domain" migration.
mod accounts;
mod air_hours;
mod alarms;
mod domain;
mod indicators;
mod quality;
mod sources;
mod water;

/// Every migration, in order. Append; never edit one that has shipped.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "base",
        sql: base::SCHEMA,
    },
    Migration {
        version: 2,
        name: "domain",
        sql: &[
            water::SCHEMA,
            sources::SCHEMA,
            quality::SCHEMA,
            alarms::SCHEMA,
            indicators::SCHEMA,
            accounts::SCHEMA,
            air_hours::SCHEMA,
        ],
    },
    Migration {
        version: 3,
        name: "bus_ids",
        sql: base::BUS_IDS_SCHEMA,
    },
    Migration {
        version: 4,
        name: "alarms_late",
        sql: &[alarms::LATE_SCHEMA],
    },
    Migration {
        version: 5,
        name: "due",
        sql: &[base::DUE_SCHEMA, quality::DUE_SCHEMA],
    },
];

/// Advisory lock key that serialises migrations across nodes ("qingshan" in ASCII).
const MIGRATION_LOCK: i64 = 0x7169_6e67_7368_616e;
/// Advisory lock key that serialises creating `measurements` partitions across nodes.
pub(crate) const PARTITION_LOCK: i64 = MIGRATION_LOCK + 1;
/// Advisory lock key that serialises inserting new `series`/`mn_ids` rows across writers (ids
/// are then handed out in first-seen order, and concurrent inserts cannot deadlock).
pub(crate) const IDS_LOCK: i64 = MIGRATION_LOCK + 2;

pub struct PgStore {
    /// The connection. `RefCell` because reads (`&self`) need `&mut Client` too; the store is
    /// `Send`, never shared between threads without a lock. `ManuallyDrop` because dropping a
    /// client blocks on its private runtime, which must happen through [`blocking`] (see
    /// `Drop`); it is replaced by a new connection when the server closed it.
    pub(crate) client: ManuallyDrop<RefCell<postgres::Client>>,
    url: String,
    fsync: bool,
    /// Bumped whenever the connection is replaced (prepared statements are per connection).
    generation: Cell<u64>,
    /// Id, partition and statement caches of the base store (`base.rs`).
    base: base::Caches,
    /// Whether the quality domain's `quality_marks` table exists (known once it does).
    has_marks: Cell<Option<bool>>,
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
        Self::connect_with(url, &PgOptions::default())
    }

    pub fn connect_with(url: &str, opts: &PgOptions) -> Result<PgStore> {
        let client = blocking(|| postgres::Client::connect(url, postgres::NoTls))
            .map_err(|e| StoreError::Invalid(format!("connecting to {}: {e}", redact(url))))?;
        let store = PgStore {
            client: ManuallyDrop::new(RefCell::new(client)),
            url: url.to_string(),
            fsync: opts.fsync,
            generation: Cell::new(0),
            base: base::Caches::default(),
            has_marks: Cell::new(None),
        };
        store.migrate()?;
        let fsync = store.fsync;
        store.with(|c| session_settings(c, fsync))?;
        Ok(store)
    }

    /// The connection URL with any password left out (for messages and logs).
    pub fn url(&self) -> String {
        redact(&self.url)
    }

    /// Runs `f` with the connection (see [`blocking`]), connecting again first if the server
    /// closed the connection (a restart, a failover): one failed call, not a dead store.
    pub(crate) fn with<T: Send>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<T> + Send,
    ) -> Result<T> {
        let mut c = self.connection()?;
        let c: &mut postgres::Client = &mut c;
        let (url, fsync, generation) = (&self.url, self.fsync, &self.generation);
        let gen = generation.get();
        let (r, gen) = blocking(move || {
            let gen = match reopen_if_closed(c, url, fsync) {
                Ok(true) => gen + 1,
                Ok(false) => gen,
                Err(e) => return (Err(e), gen),
            };
            (f(c), gen)
        });
        generation.set(gen);
        r
    }

    /// The connection, or a clear error when it is in use: a callback of
    /// [`Store::for_each_value`](crate::Store::for_each_value) may not call the same store
    /// (the connection is streaming the values; use a second store).
    pub(crate) fn connection(&self) -> Result<std::cell::RefMut<'_, postgres::Client>> {
        self.client.try_borrow_mut().map_err(|_| {
            StoreError::Invalid(
                "the PostgreSQL store was called from inside its own for_each_value callback; \
                 collect first or use a second store"
                    .into(),
            )
        })
    }

    fn migrate(&self) -> Result<()> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
            // `IF NOT EXISTS` on an existing table raises a NOTICE the client logs at INFO on
            // every connect; not worth a line per connection.
            tx.batch_execute("SET LOCAL client_min_messages = warning")?;
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

/// Tuning of the PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// `synchronous_commit` on (the default): a commit returns once its WAL is flushed, so a
    /// batch is durable when [`Store::commit`](crate::Store::commit) returns, across a crash of
    /// the server or of its machine. Off: commits return before the flush; a server crash can
    /// lose the last moments of commits already acknowledged to devices (benchmarks only).
    pub fsync: bool,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions { fsync: true }
    }
}

/// Settings every session of the store runs with.
fn session_settings(c: &mut postgres::Client, fsync: bool) -> Result<()> {
    // The durability point is COMMIT: with synchronous_commit off the server acknowledges a
    // commit before its WAL is flushed, and a crash could lose a batch the gateway already
    // acknowledged. Keep a stricter setting (remote_write, remote_apply) if the server has one.
    if !fsync {
        c.batch_execute("SET synchronous_commit = off")?;
        return Ok(());
    }
    let sync: String = c.query_one("SHOW synchronous_commit", &[])?.get(0);
    if sync == "off" {
        c.batch_execute("SET synchronous_commit = on")?;
    }
    Ok(())
}

/// Replaces a connection the server closed with a new one; `true` when it did.
fn reopen_if_closed(c: &mut postgres::Client, url: &str, fsync: bool) -> Result<bool> {
    if !c.is_closed() {
        return Ok(false);
    }
    let mut fresh = postgres::Client::connect(url, postgres::NoTls)
        .map_err(|e| StoreError::Invalid(format!("reconnecting to {}: {e}", redact(url))))?;
    session_settings(&mut fresh, fsync)?;
    *c = fresh;
    Ok(true)
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // SAFETY: `client` is not used after this point; `drop` runs once.
        let client = unsafe { ManuallyDrop::take(&mut self.client) };
        blocking(move || drop(client));
    }
}

/// A value whose drop blocks on PostgreSQL I/O (a transaction rolls back on drop): dropped
/// through [`blocking`], also when a panic unwinds past it.
pub(crate) struct Blocked<T: Send>(pub Option<T>);

impl<T: Send> Drop for Blocked<T> {
    fn drop(&mut self) {
        if let Some(v) = self.0.take() {
            blocking(move || drop(v));
        }
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
        Self::create(&test_server(), "")
    }

    /// A scratch database on the server of `admin` (a URL whose user may create databases),
    /// e.g. for a benchmark; dropped on drop like a test's.
    pub fn on_server(admin: &str) -> Result<TempDb> {
        Self::create(admin, "")
    }

    /// A database whose default collation is the ICU locale `locale` (e.g. `zh`, the usual
    /// choice of a Chinese installation): text sorts differently there than in SQLite, so
    /// tests on it show where an order depends on the database's locale.
    pub fn with_icu_locale(locale: &str) -> Result<TempDb> {
        if !locale
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(StoreError::Invalid(format!("bad ICU locale {locale:?}")));
        }
        Self::create(
            &test_server(),
            &format!(
                " TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE '{locale}'"
            ),
        )
    }

    fn create(admin: &str, options: &str) -> Result<TempDb> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let admin = admin.to_string();
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
                    "{}: no database part",
                    redact(&admin)
                )))
            }
        };
        blocking(|| -> Result<()> {
            let mut c = postgres::Client::connect(&admin, postgres::NoTls)?;
            c.batch_execute(&format!("CREATE DATABASE {name}{options}"))?;
            Ok(())
        })?;
        Ok(TempDb { admin, name, url })
    }

    /// The URL of the test's database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// The server tests create their databases on: `QINGSHAN_TEST_PG`, default
/// `postgres://postgres@127.0.0.1:5432/postgres`.
fn test_server() -> String {
    std::env::var("QINGSHAN_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
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

    /// The client blocks on a private runtime when it is dropped; inside a tokio runtime that
    /// must go through `blocking`, or it panics.
    #[test]
    fn usable_and_droppable_inside_tokio() {
        let db = TempDb::new().unwrap();
        for rt in [
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .build()
                .unwrap(),
        ] {
            let url = db.url().to_string();
            rt.block_on(async move {
                let s = PgStore::connect(&url).unwrap();
                assert!(crate::Store::devices(&s).unwrap().is_empty());
                drop(s);
            });
        }
    }

    /// The durability point is COMMIT with synchronous_commit on, whatever the database's
    /// default; off only when asked for.
    #[test]
    fn synchronous_commit_follows_the_options() {
        let db = TempDb::new().unwrap();
        let name = db.url().rsplit('/').next().unwrap().to_string();
        let mut admin = postgres::Client::connect(db.url(), postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {name} SET synchronous_commit = off"
            ))
            .unwrap();
        drop(admin);
        let show = |s: &PgStore| -> String {
            s.with(|c| Ok(c.query_one("SHOW synchronous_commit", &[])?.get(0)))
                .unwrap()
        };
        assert_eq!(show(&PgStore::connect(db.url()).unwrap()), "on");
        let off = PgStore::connect_with(db.url(), &PgOptions { fsync: false }).unwrap();
        assert_eq!(show(&off), "off");
    }

    /// A connection the server closed (restart, failover, idle timeout) costs one failed call,
    /// not the store.
    #[test]
    fn connects_again_after_the_server_closed_the_connection() {
        use crate::Store;
        let db = TempDb::new().unwrap();
        let mut s = PgStore::connect(db.url()).unwrap();
        s.set_watermark("w", 1).unwrap();
        let pid: i32 = s
            .with(|c| Ok(c.query_one("SELECT pg_backend_pid()", &[])?.get(0)))
            .unwrap();
        let mut admin = postgres::Client::connect(db.url(), postgres::NoTls).unwrap();
        let killed: bool = admin
            .query_one("SELECT pg_terminate_backend($1)", &[&pid])
            .unwrap()
            .get(0);
        assert!(killed);
        drop(admin);
        // the first call may see the closed connection; the next one runs on a new one
        let first = s.watermark("w");
        let second = s.watermark("w").unwrap();
        assert_eq!(second, Some(1), "first call: {first:?}");
        s.set_watermark("w", 2).unwrap();
        assert_eq!(s.watermark("w").unwrap(), Some(2));
    }
}
