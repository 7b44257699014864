//! Persistence behind one interface.
//!
//! [`Store`] is everything the rest of the platform may ask of storage; [`SqliteStore`] is the
//! embedded default (one data folder, nothing to install). Later stages add PostgreSQL behind
//! the same trait. The store knows nothing of sockets or HTTP.
//!
//! Guarantees every implementation keeps:
//! - a value is keyed by (site, code, field, period, time): writing it again replaces it, so a
//!   resend or a back-fill never double-counts;
//! - [`Store::commit`] is atomic and durable when it returns: the gateway acknowledges a packet
//!   (HJ 212 9014) only after the batch carrying it was committed;
//! - raw packets go to an append-only archive (compressed, pruned only by retention).

use model::{Device, Measurement, Period};
use serde::Serialize;

mod sqlite;
pub use sqlite::{SqliteOptions, SqliteStore};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("not found: {0}")]
    NotFound(String),
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
}

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
    pub packets: u64,
    pub values: u64,
}

/// What the platform last saw of a device.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DeviceState {
    pub mn: String,
    /// UTC Unix milliseconds of the last accepted packet.
    pub last_seen_ms: Option<i64>,
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

/// Everything the platform may ask of storage.
pub trait Store: Send {
    /// Adds or replaces a device (keyed by MN).
    fn put_device(&mut self, device: &Device) -> Result<()>;
    fn remove_device(&mut self, mn: &str) -> Result<bool>;
    fn devices(&self) -> Result<Vec<Device>>;
    fn device(&self, mn: &str) -> Result<Option<Device>>;

    /// Commits a batch of accepted packets atomically and durably: values (idempotent
    /// upserts), the raw archive, device state and command answers.
    fn commit(&mut self, batch: &[IntakePacket]) -> Result<CommitStats>;

    /// Streams stored values matching `filter`, in (series, time) order.
    fn for_each_value(
        &self,
        filter: &ValueFilter,
        f: &mut dyn FnMut(&Measurement) -> Result<()>,
    ) -> Result<()>;

    fn device_states(&self) -> Result<Vec<DeviceState>>;

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
}
