//! Persistence behind one interface.
//!
//! [`Store`] is everything the rest of the platform may ask of storage; [`SqliteStore`] is the
//! embedded default (one data folder, nothing to install); [`PgStore`] is PostgreSQL behind the
//! same trait for installations with several nodes (docs/postgres.md). Both pass the same
//! contract tests (`tests/contract.rs`). The store knows nothing of sockets or HTTP.
//!
//! Guarantees every implementation keeps:
//! - a value is keyed by (site, code, field, period, time): writing it again replaces it, so a
//!   resend or a back-fill never double-counts;
//! - [`Store::commit`] is atomic and durable when it returns: the gateway acknowledges a packet
//!   (HJ 212 9014) only after the batch carrying it was committed;
//! - raw packets go to an append-only archive (compressed, pruned only by retention).

use model::{Device, Measurement, Period};
use serde::Serialize;

mod archive;
mod sqlite;
pub use sqlite::{SqliteOptions, SqliteStore};
pub mod migrate;
pub mod pg;
pub use pg::{PgOptions, PgStore};

// Domain extensions: each module defines an extension trait of `Store` for its derived
// tables, implements it for `SqliteStore`, and lists its `CREATE TABLE IF NOT EXISTS` schema
// here so that opening a store creates it.
pub mod accounts;
pub mod air_hours;
pub mod alarms;
pub mod indicators;
pub mod quality;
pub mod sources;
pub mod water;

/// Everything a running platform asks of one store: the base interface and every domain
/// extension. Both stores implement it; the binary holds `Box<dyn Backend>` and never names
/// the store it runs on outside [`StoreConfig`].
pub trait Backend:
    Store
    + water::WaterStore
    + sources::SourcesStore
    + quality::QualityStore
    + alarms::AlarmStore
    + accounts::AccountStore
    + indicators::IndicatorStore
    + air_hours::AirHoursStore
{
}

impl<T> Backend for T where
    T: Store
        + water::WaterStore
        + sources::SourcesStore
        + quality::QualityStore
        + alarms::AlarmStore
        + accounts::AccountStore
        + indicators::IndicatorStore
        + air_hours::AirHoursStore
{
}

/// Where the platform's data lives: the embedded store in a data folder (one server), or a
/// PostgreSQL database (several nodes). Opening it twice gives two independent connections.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    Sqlite {
        dir: std::path::PathBuf,
        opts: SqliteOptions,
    },
    Postgres {
        url: String,
        /// `synchronous_commit` on (the default): a commit returns once its WAL is flushed.
        fsync: bool,
    },
}

impl StoreConfig {
    /// `store` is `postgres://…`/`postgresql://…` or absent (the embedded store in `data`).
    pub fn new(store: Option<&str>, data: &std::path::Path) -> Result<StoreConfig> {
        match store {
            None => Ok(StoreConfig::Sqlite {
                dir: data.to_path_buf(),
                opts: SqliteOptions::default(),
            }),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(StoreConfig::Postgres {
                    url: url.to_string(),
                    fsync: true,
                })
            }
            Some(other) => Err(StoreError::Invalid(format!(
                "--store {}: expected postgres://user@host:port/database (leave --store out \
                 for the embedded store in --data)",
                pg::redact(other)
            ))),
        }
    }

    /// The same store with fsync at commit on or off (SQLite `synchronous`, PostgreSQL
    /// `synchronous_commit`).
    pub fn with_fsync(mut self, on: bool) -> StoreConfig {
        match &mut self {
            StoreConfig::Sqlite { opts, .. } => opts.fsync = on,
            StoreConfig::Postgres { fsync, .. } => *fsync = on,
        }
        self
    }

    /// The same store with a page cache of `mib` (SQLite; PostgreSQL caches server-side).
    pub fn with_cache_mib(mut self, mib: u32) -> StoreConfig {
        if let StoreConfig::Sqlite { opts, .. } = &mut self {
            opts.cache_mib = mib;
        }
        self
    }

    /// Page cache of at most `mib` (SQLite).
    pub fn with_cache_at_most(self, mib: u32) -> StoreConfig {
        let now = match &self {
            StoreConfig::Sqlite { opts, .. } => opts.cache_mib,
            StoreConfig::Postgres { .. } => return self,
        };
        self.with_cache_mib(now.min(mib))
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, StoreConfig::Postgres { .. })
    }

    /// For messages: the data folder, or the database URL without its password.
    pub fn describe(&self) -> String {
        match self {
            StoreConfig::Sqlite { dir, .. } => format!("data folder {}", dir.display()),
            StoreConfig::Postgres { url, .. } => format!("PostgreSQL {}", pg::redact(url)),
        }
    }

    /// Opens a connection (creating the data folder / applying migrations if needed).
    pub fn open(&self) -> Result<Box<dyn Backend>> {
        match self {
            StoreConfig::Sqlite { dir, opts } => Ok(Box::new(SqliteStore::open_with(dir, opts)?)),
            StoreConfig::Postgres { url, fsync } => open_postgres(url, *fsync),
        }
    }

    /// Opens a store that must already hold data: a data folder without a database is an
    /// error (a mistyped `--data` would otherwise create an empty one and report nothing).
    pub fn open_existing(&self) -> Result<Box<dyn Backend>> {
        if let StoreConfig::Sqlite { dir, .. } = self {
            if !dir.join("qingshan.db").exists() {
                return Err(StoreError::NotFound(format!(
                    "{} holds no qingshan data (qingshan.db); give the folder `qingshan serve` \
                     uses with --data, or --store postgres://…",
                    dir.display()
                )));
            }
        }
        self.open()
    }
}

fn open_postgres(url: &str, fsync: bool) -> Result<Box<dyn Backend>> {
    Ok(Box::new(PgStore::connect_with(
        url,
        &pg::PgOptions { fsync },
    )?))
}

pub(crate) const DOMAIN_SCHEMAS: &[&str] = &[
    water::SCHEMA,
    sources::SCHEMA,
    quality::SCHEMA,
    alarms::SCHEMA,
    indicators::SCHEMA,
    accounts::SCHEMA,
    air_hours::SCHEMA,
];

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {}", pg_message(.0))]
    Postgres(#[from] postgres::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("not found: {0}")]
    NotFound(String),
}

/// A PostgreSQL error with the server's message, SQLSTATE, detail and hint (the client
/// library's own text for a server error is only "db error").
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                s.push_str("; ");
                s.push_str(d);
            }
            if let Some(h) = db.hint() {
                s.push_str("; hint: ");
                s.push_str(h);
            }
            s
        }
        None => match std::error::Error::source(e) {
            Some(src) => format!("{e}: {src}"),
            None => e.to_string(),
        },
    }
}

/// One accepted packet as the gateway hands it to the store.
#[derive(Debug, Clone, Default)]
pub struct IntakePacket {
    /// UTC Unix milliseconds when the gateway received it.
    pub received_ms: i64,
    pub mn: String,
    pub cn: String,
    pub qn: Option<String>,
    /// Peer address (for audit).
    pub peer: String,
    /// The frame exactly as received.
    pub raw: Vec<u8>,
    /// Values it carried (already mapped to the device's site).
    pub values: Vec<Measurement>,
    /// Names of the HJ 212 deviations the frame showed.
    pub deviations: Vec<String>,
    /// If it answers a platform command (9011/9012 or a data upload for a request).
    pub answer: Option<CommandAnswer>,
    /// The intake-bus message id (the `Nats-Msg-Id` its gateway published it with); `None` for
    /// packets that did not come over a bus. [`Store::commit`] skips a packet whose id it
    /// already committed, so a message redelivered after a crash between commit and ack is
    /// archived and counted once.
    pub bus_id: Option<String>,
}

/// How long a store remembers the [`IntakePacket::bus_id`]s it committed. A bus message is
/// redelivered only while unacknowledged (the writer acks right after its commit), so a day
/// covers a writer crash followed by hours without any writer; a redelivery later than this
/// would be archived and counted twice (its values are idempotent upserts either way).
pub const BUS_ID_RETENTION_MS: i64 = 24 * 3600 * 1000;

/// A device's answer to a command the platform sent.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandAnswer {
    /// 9011 request answer, QnRtn.
    QnRtn { qn: String, code: i64 },
    /// 9012 execution result, ExeRtn.
    ExeRtn { qn: String, code: i64 },
}

/// Figures of one commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Packets stored.
    pub packets: u64,
    pub values: u64,
    /// Packets skipped because their [`IntakePacket::bus_id`] was already committed.
    pub duplicates: u64,
}

/// What the platform last saw of a device.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DeviceState {
    pub mn: String,
    /// UTC Unix milliseconds of the last accepted packet.
    pub last_seen_ms: Option<i64>,
    /// UTC seconds: the earliest value time (sample instant or interval start) the device ever
    /// sent, whenever it arrived (a back-fill moves it back). Its first data.
    #[serde(default)]
    pub first_time: Option<i64>,
    pub peer: Option<String>,
    pub last_cn: Option<String>,
    pub packets: u64,
    pub values: u64,
    /// Deviation name → count.
    pub deviations: std::collections::BTreeMap<String, u64>,
}

/// Filter for reading values back.
#[derive(Debug, Clone, Default)]
pub struct ValueFilter {
    pub mn: Option<String>,
    pub site: Option<String>,
    pub code: Option<String>,
    pub period: Option<Period>,
    /// Inclusive UTC seconds.
    pub from: Option<i64>,
    /// Exclusive UTC seconds.
    pub to: Option<i64>,
    /// `false` (default): the *audited view* — values an operator marked invalid are left out
    /// and values marked valid come with flag `N` (see [`quality`]). `true`: the stored values
    /// exactly as the devices sent them (exports).
    pub raw: bool,
}

/// A command the platform sent to a device, and what came back.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CommandRecord {
    pub id: i64,
    pub mn: String,
    pub qn: String,
    pub cn: String,
    /// The frame sent, as text.
    pub request: String,
    pub sent_ms: i64,
    pub qn_rtn: Option<i64>,
    pub qn_rtn_ms: Option<i64>,
    pub exe_rtn: Option<i64>,
    pub exe_rtn_ms: Option<i64>,
}

/// A packet read back from the raw archive.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ArchivedPacket {
    pub received_ms: i64,
    pub mn: String,
    pub cn: String,
    pub peer: String,
    pub raw: String,
}

/// One derived air day: the HJ 663 daily values and the HJ 633 daily AQI of a station, or of
/// the county (site [`COUNTY_SITE`]), on one Beijing natural day. Written by the engine
/// (`engine::AirEngine`), keyed by (site, day); writing it again replaces it.
///
/// Concentrations are exact decimal strings (µg/m³; CO mg/m³) so the annual statistics are
/// computed without binary rounding; `None` where the day has no valid value.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AirDay {
    /// Station site code, or [`COUNTY_SITE`].
    pub site: String,
    /// Beijing natural day `YYYY-MM-DD`.
    pub day: String,
    /// AQI rule set applied (`HJ633-2012` / `HJ633-2026`): the one in force on `day`.
    pub rules: String,
    /// PM2.5 24-h mean.
    pub pm25: Option<String>,
    /// PM10 24-h mean.
    pub pm10: Option<String>,
    /// SO2 24-h mean.
    pub so2: Option<String>,
    /// NO2 24-h mean.
    pub no2: Option<String>,
    /// CO 24-h mean (mg/m³).
    pub co: Option<String>,
    /// O3 daily maximum 8-h mean (MDA8), when the day's MDA8 counts.
    pub o3_8h: Option<String>,
    /// O3 daily maximum 1-h mean (HJ 633-2012 daily report indicator).
    pub o3_1h: Option<String>,
    /// Largest valid 8-h window even when the MDA8 does not count (`None` without windows).
    pub o3_8h_max: Option<String>,
    /// Number of valid 8-h windows (0–17).
    pub o3_8h_windows: i64,
    /// Valid hours per pollutant, `PM2.5=24,PM10=24,SO2=24,NO2=24,CO=24,O3=24` (county: stations).
    pub hours: String,
    /// Daily AQI (`None` = NA).
    pub aqi: Option<i64>,
    /// AQI level 1–6.
    pub level: Option<i64>,
    /// Primary pollutants (HJ 633 indicator names, comma separated; empty when AQI ≤ 50).
    pub primary: String,
    /// Stations that contributed (1 for a station; county: stations with any valid value).
    pub stations: i64,
    /// UTC Unix milliseconds when the row was derived.
    pub updated_ms: i64,
}

/// Site code of the county-level rows in the derived air tables.
pub const COUNTY_SITE: &str = "_county";

/// A value's key and arrival, as [`Store::received_since`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedKey {
    pub site: String,
    pub code: String,
    pub field: String,
    pub period: Period,
    /// UTC seconds of the value.
    pub time: i64,
    /// UTC Unix milliseconds when the packet that carried it (last) arrived.
    pub received_ms: i64,
}

/// Everything the platform may ask of storage.
pub trait Store: Send {
    /// Adds or replaces a device (keyed by MN).
    fn put_device(&mut self, device: &Device) -> Result<()>;
    fn remove_device(&mut self, mn: &str) -> Result<bool>;
    fn devices(&self) -> Result<Vec<Device>>;
    fn device(&self, mn: &str) -> Result<Option<Device>>;

    /// Commits a batch of accepted packets atomically and durably: values (idempotent
    /// upserts), the raw archive, device state and command answers.
    ///
    /// A packet with a [`IntakePacket::bus_id`] already committed (within
    /// [`BUS_ID_RETENTION_MS`]) is skipped and counted in [`CommitStats::duplicates`]; the id
    /// is recorded in the same transaction as the packet, so "stored" and "seen" never
    /// disagree, whichever of several writers commits it.
    fn commit(&mut self, batch: &[IntakePacket]) -> Result<CommitStats>;

    /// Streams stored values matching `filter`, in (series, time) order: series (site, code,
    /// field, period) in the order the store first stored a value of them, then by time.
    fn for_each_value(
        &self,
        filter: &ValueFilter,
        f: &mut dyn FnMut(&Measurement) -> Result<()>,
    ) -> Result<()>;

    fn device_states(&self) -> Result<Vec<DeviceState>>;

    /// The newest time stored for (site, code, period), any field: lets a rule tell a late
    /// or resent value from the current one.
    fn latest_time(&self, site: &str, code: &str, period: Period) -> Result<Option<i64>>;

    /// Records a command the platform sent; returns its id.
    fn record_command(
        &mut self,
        mn: &str,
        qn: &str,
        cn: &str,
        request: &str,
        sent_ms: i64,
    ) -> Result<i64>;
    fn commands(&self, mn: Option<&str>, limit: usize) -> Result<Vec<CommandRecord>>;

    /// Raw packets received in `[from_ms, to_ms)`, optionally of one device.
    fn archived(&self, mn: Option<&str>, from_ms: i64, to_ms: i64) -> Result<Vec<ArchivedPacket>>;
    /// Drops archive chunks whose newest packet is older than `before_ms`; returns packets dropped.
    fn prune_archive(&mut self, before_ms: i64) -> Result<u64>;

    // ---- derived tables (written by the engine; additive) ----

    /// Keys of the values of `period` whose packet arrived at or after `since_ms`, in (series,
    /// time) order like [`Store::for_each_value`] (a scan: used by the engine to catch up on
    /// data committed while it was not watching).
    fn received_since(&self, period: Period, since_ms: i64) -> Result<Vec<ReceivedKey>>;

    /// Adds or replaces derived air days (keyed by (site, day)) atomically.
    fn put_air_days(&mut self, days: &[AirDay]) -> Result<()>;

    /// Derived air days of one site (or all sites, county rows included, with `None`) with
    /// `from_day <= day <= to_day` (`YYYY-MM-DD`), ordered by (site, day).
    fn air_days(&self, site: Option<&str>, from_day: &str, to_day: &str) -> Result<Vec<AirDay>>;

    /// A named watermark of a derived table (e.g. the newest `received_ms` processed).
    fn watermark(&self, name: &str) -> Result<Option<i64>>;
    fn set_watermark(&mut self, name: &str, value: i64) -> Result<()>;
}
