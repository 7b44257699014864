//! Store extension: plan indicators (规划指标) entered by the responsible departments.
//!
//! Entries are append-only: a correction is a new entry, and the newest entry for an
//! (indicator, year, kind) is the one in force, so the history of who reported what, when and
//! on which evidence is never lost.

use rusqlite::params;
use serde::Serialize;

use crate::{Result, SqliteStore, StoreError};

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS indicator_entries(
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    year INTEGER NOT NULL,
    kind TEXT NOT NULL,
    value REAL NOT NULL,
    source TEXT NOT NULL,
    evidence TEXT NOT NULL DEFAULT '',
    entered_by TEXT NOT NULL,
    entered_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS indicator_entries_key ON indicator_entries(code, year, kind, id);
"#;

/// What an entry reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// The indicator's value for the year (年度值).
    Value,
    /// A target someone else sets for the year (e.g. 市级下达), entered when it is known.
    Target,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Value => "value",
            EntryKind::Target => "target",
        }
    }

    pub fn parse(s: &str) -> Option<EntryKind> {
        match s {
            "value" => Some(EntryKind::Value),
            "target" => Some(EntryKind::Target),
            _ => None,
        }
    }
}

/// One reported figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorEntry {
    pub id: i64,
    /// Indicator code (`I03`, …).
    pub code: String,
    pub year: i32,
    pub kind: EntryKind,
    pub value: f64,
    /// Where the figure comes from (e.g. 县林业局 2023 年森林资源年报).
    pub source: String,
    /// Evidence reference (document number, file name or link).
    pub evidence: String,
    pub entered_by: String,
    /// UTC Unix milliseconds.
    pub entered_ms: i64,
}

/// Indicator entries, for any store backend.
pub trait IndicatorStore {
    /// Appends an entry; `id` is assigned. Refuses a non-finite value or an empty source.
    fn add_indicator_entry(&mut self, entry: &IndicatorEntry) -> Result<i64>;
    /// Every entry (history included), oldest first, optionally of one indicator.
    fn indicator_entries(&self, code: Option<&str>) -> Result<Vec<IndicatorEntry>>;
}

impl IndicatorStore for SqliteStore {
    fn add_indicator_entry(&mut self, e: &IndicatorEntry) -> Result<i64> {
        if !e.value.is_finite() {
            return Err(StoreError::Invalid(format!(
                "indicator {} {}: value {} is not a number",
                e.code, e.year, e.value
            )));
        }
        if e.source.trim().is_empty() {
            return Err(StoreError::Invalid(format!(
                "indicator {} {}: a source is required",
                e.code, e.year
            )));
        }
        self.conn.execute(
            "INSERT INTO indicator_entries(code, year, kind, value, source, evidence, entered_by, entered_ms)
             VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![e.code, e.year, e.kind.as_str(), e.value, e.source, e.evidence, e.entered_by, e.entered_ms],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn indicator_entries(&self, code: Option<&str>) -> Result<Vec<IndicatorEntry>> {
        let mut st = self.conn.prepare(
            "SELECT id, code, year, kind, value, source, evidence, entered_by, entered_ms
             FROM indicator_entries WHERE (?1 IS NULL OR code = ?1) ORDER BY id",
        )?;
        let rows = st.query_map([code], |r| {
            let kind: String = r.get(3)?;
            Ok(IndicatorEntry {
                id: r.get(0)?,
                code: r.get(1)?,
                year: r.get(2)?,
                kind: EntryKind::parse(&kind).unwrap_or(EntryKind::Value),
                value: r.get(4)?,
                source: r.get(5)?,
                evidence: r.get(6)?,
                entered_by: r.get(7)?,
                entered_ms: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
