//! Store extension: data quality (数据有效性): operator audit marks and their trail, anomaly
//! findings, and per-device daily transmission/validity counts.
//!
//! Tables (see docs/engine-quality.md):
//! - `quality_marks`: the current operator mark of a stored value, keyed like `measurements`
//!   (series, time). The value itself is never touched; [`crate::ValueFilter::raw`] = false
//!   (the default, the *audited view*) leaves out values marked invalid and returns values
//!   marked valid with flag `N`. Writing a mark also sets the value's `received_ms` to the
//!   mark's time so that every engine's watermark catch-up (`Store::received_since`) recomputes
//!   what the value feeds; the original arrival is kept in `orig_received_ms`.
//! - `quality_audit`: append-only trail of every mark/unmark (who, when, before/after, reason).
//! - `quality_findings`: anomaly findings (kind, site, code, device, interval, count, detail),
//!   derived by `engine::quality`; read by the alarm rules through [`QualityStore::findings`].
//! - `quality_days`: per device, site, code, period and Beijing day: expected, received and
//!   valid periods (the transmission/validity rates are computed from these counts).

use std::collections::HashMap;

use model::Period;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::{Result, Store, StoreError};

/// Tables of this domain, created when a store opens.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS quality_marks(
    series INTEGER NOT NULL,
    time INTEGER NOT NULL,
    state TEXT NOT NULL,              -- 'invalid' | 'valid' | 'none' (unmarked)
    reason TEXT NOT NULL,
    by_user TEXT NOT NULL,
    marked_ms INTEGER NOT NULL,       -- when the current state was set
    orig_received_ms INTEGER NOT NULL,-- the value's arrival before marks bumped it
    PRIMARY KEY(series, time)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS quality_marks_time ON quality_marks(time);
CREATE TABLE IF NOT EXISTS quality_audit(
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL, code TEXT NOT NULL, field TEXT NOT NULL, period TEXT NOT NULL,
    time INTEGER NOT NULL,
    action TEXT NOT NULL,             -- 'mark' | 'unmark'
    before TEXT NOT NULL,             -- 'none' | 'invalid' | 'valid'
    after TEXT NOT NULL,
    reason TEXT NOT NULL,
    by_user TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS quality_audit_at ON quality_audit(at_ms);
CREATE TABLE IF NOT EXISTS quality_findings(
    kind TEXT NOT NULL,
    site TEXT NOT NULL,
    code TEXT NOT NULL,
    mn TEXT NOT NULL,
    from_t INTEGER NOT NULL,
    to_t INTEGER NOT NULL,
    count INTEGER NOT NULL,
    detail TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY(site, from_t, kind, code, mn, detail)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS quality_findings_from ON quality_findings(from_t);
CREATE TABLE IF NOT EXISTS quality_days(
    mn TEXT NOT NULL,
    site TEXT NOT NULL,
    code TEXT NOT NULL,
    period TEXT NOT NULL,
    day TEXT NOT NULL,
    expected INTEGER NOT NULL,
    received INTEGER NOT NULL,
    valid INTEGER NOT NULL,
    flagged INTEGER NOT NULL,
    marked_invalid INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY(site, day, mn, code, period)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS quality_days_day ON quality_days(day);
"#;

/// An operator's verdict on a stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkState {
    /// Left out of the audited view.
    Invalid,
    /// Returned with flag `N` (the operator overrides a device flag or an anomaly finding).
    Valid,
}

impl MarkState {
    pub fn as_str(self) -> &'static str {
        match self {
            MarkState::Invalid => "invalid",
            MarkState::Valid => "valid",
        }
    }
    pub(crate) fn parse(s: &str) -> Option<MarkState> {
        match s {
            "invalid" => Some(MarkState::Invalid),
            "valid" => Some(MarkState::Valid),
            _ => None,
        }
    }
}

/// The key of one stored value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueKey {
    pub site: String,
    pub code: String,
    pub field: String,
    pub period: Period,
    /// UTC seconds (interval start).
    pub time: i64,
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub site: String,
    pub code: String,
    pub field: String,
    pub period: Period,
    /// UTC seconds of the value.
    pub time: i64,
    /// `mark` | `unmark`.
    pub action: String,
    /// `none` | `invalid` | `valid`.
    pub before: String,
    pub after: String,
    pub reason: String,
    pub by: String,
    /// UTC Unix milliseconds of the action.
    pub at_ms: i64,
}

/// An anomaly finding of the data-quality checks (`engine::quality`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `zero`, `constant`, `out_of_range`, `negative`, `jump`, `flag`, `missing`, `offline`,
    /// `clock_drift`.
    pub kind: String,
    pub site: String,
    /// Pollutant code (empty for device-level findings such as `offline`).
    pub code: String,
    /// Device MN.
    pub mn: String,
    /// UTC seconds, inclusive.
    pub from: i64,
    /// UTC seconds, exclusive (end of the last interval concerned).
    pub to: i64,
    /// Values (or periods) concerned.
    pub count: i64,
    /// Kind-specific detail (e.g. the flag letter, the value, the drift).
    pub detail: String,
}

/// Per device, site, code, period and Beijing day: the counts the rates are made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QualityDay {
    pub mn: String,
    pub site: String,
    pub code: String,
    pub period: Period,
    /// Beijing day `YYYY-MM-DD`.
    pub day: String,
    /// Periods the device should have sent (hour data: 24).
    pub expected: i64,
    /// Distinct periods received.
    pub received: i64,
    /// Received periods that are valid (flag N or none, not marked invalid, no invalidating
    /// finding; or marked valid).
    pub valid: i64,
    /// Received periods with a device flag other than N.
    pub flagged: i64,
    /// Received periods an operator marked invalid.
    pub marked_invalid: i64,
    /// Hour data: bit h (0–23, Beijing hour of the day) set when hour h was received. `None`
    /// for other periods and for rows derived before the masks existed.
    pub received_mask: Option<i64>,
    /// Hour data: bit h set when hour h was received and valid.
    pub valid_mask: Option<i64>,
}

/// A raw stored value with its arrival and its operator mark (for the quality checks).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditedValue {
    pub m: model::Measurement,
    /// UTC Unix milliseconds of the packet that carried it (before any mark bumped it).
    pub received_ms: i64,
    pub mark: Option<MarkState>,
}

/// Data-quality storage: marks, trail, findings, daily counts.
pub trait QualityStore: Store {
    /// Marks a stored value invalid or valid (the latest mark wins) and appends it to the trail.
    /// `reason` and `by` must not be blank; the value must exist.
    fn mark_value(
        &mut self,
        key: &ValueKey,
        state: MarkState,
        reason: &str,
        by: &str,
        at_ms: i64,
    ) -> Result<AuditEntry>;
    /// Removes the current mark of a value (it is seen as the device sent it again) and appends
    /// it to the trail. Fails when the value carries no mark.
    fn unmark_value(
        &mut self,
        key: &ValueKey,
        reason: &str,
        by: &str,
        at_ms: i64,
    ) -> Result<AuditEntry>;
    /// The trail, oldest first: actions of one site (or all) taken in `[from_ms, to_ms)`.
    fn audit_trail(
        &self,
        site: Option<&str>,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<Vec<AuditEntry>>;
    /// Raw values of `site` and `period` with `from <= time < to`, in (series, time) order,
    /// with their original arrival and current mark.
    fn for_each_audited(
        &self,
        site: &str,
        period: Period,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(&AuditedValue) -> Result<()>,
    ) -> Result<()>;
    /// Replaces, atomically, the findings of `site` with `from` in `[from, to)` and a kind in
    /// `kinds` by `findings`.
    fn replace_findings(
        &mut self,
        site: &str,
        from: i64,
        to: i64,
        kinds: &[&str],
        findings: &[Finding],
    ) -> Result<()>;
    /// Findings of one site (or all) overlapping `[from, to)` (UTC seconds), of the given kinds
    /// (all with `None`), ordered by (from, site, kind, code).
    fn findings(
        &self,
        site: Option<&str>,
        from: i64,
        to: i64,
        kinds: Option<&[&str]>,
    ) -> Result<Vec<Finding>>;
    /// Replaces, atomically, the daily counts of (site, day) for each pair in `days` by `rows`.
    fn replace_quality_days(
        &mut self,
        days: &[(String, String)],
        rows: &[QualityDay],
    ) -> Result<()>;
    /// Daily counts with `from_day <= day <= to_day`, ordered by (mn, code, day).
    fn quality_days(&self, from_day: &str, to_day: &str) -> Result<Vec<QualityDay>>;
}

/// Marks of values with `from <= time < to` (all with `None`), `(series, time) → valid?`, for
/// the audited view of `SqliteStore::for_each_value`. Empty (one cheap probe) when no value
/// was ever marked.
pub(crate) fn marks_map(
    conn: &Connection,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<HashMap<(i64, i64), bool>> {
    let mut out = HashMap::new();
    let any: bool = conn
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM quality_marks WHERE state <> 'none')")?
        .query_row([], |r| r.get(0))?;
    if !any {
        return Ok(out);
    }
    let mut st = conn.prepare_cached(
        "SELECT series, time, state FROM quality_marks
         WHERE state <> 'none' AND time >= ?1 AND time < ?2",
    )?;
    let mut rows = st.query(params![from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX)])?;
    while let Some(r) = rows.next()? {
        let state: String = r.get(2)?;
        out.insert((r.get(0)?, r.get(1)?), state == "valid");
    }
    Ok(out)
}

/// Refuses an empty reason or actor of an audit mark (both stores).
pub(crate) fn blank(what: &str, v: &str) -> Result<()> {
    if v.trim().is_empty() {
        return Err(StoreError::Invalid(format!(
            "{what} is mandatory for an audit mark"
        )));
    }
    Ok(())
}

/// A value's key for messages (both stores).
pub(crate) fn describe(k: &ValueKey) -> String {
    format!(
        "site {} code {} field {} period {} time {}",
        k.site,
        k.code,
        k.field,
        k.period,
        model::format_beijing(k.time)
    )
}

impl crate::SqliteStore {
    /// (series id, received_ms) of a stored value.
    fn value_row(&self, k: &ValueKey) -> Result<(i64, i64)> {
        self.conn
            .query_row(
                "SELECT m.series, m.received_ms FROM measurements m JOIN series s ON s.id = m.series
                 WHERE s.site = ?1 AND s.code = ?2 AND s.field = ?3 AND s.period = ?4 AND m.time = ?5",
                params![k.site, k.code, k.field, k.period.id(), k.time],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("no stored value for {}", describe(k))))
    }

    fn write_mark(
        &mut self,
        k: &ValueKey,
        after: &str,
        action: &str,
        reason: &str,
        by: &str,
        at_ms: i64,
    ) -> Result<AuditEntry> {
        blank("a reason (--reason)", reason)?;
        blank("who (--by)", by)?;
        // IMMEDIATE: take the write lock before reading, so that a commit by another connection
        // (the gateway's writer, an engine) between the read and the write waits for the busy
        // timeout instead of failing at once with "database is locked" (a deferred transaction
        // cannot upgrade a stale WAL snapshot).
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let (series, received_ms): (i64, i64) = tx
            .query_row(
                "SELECT m.series, m.received_ms FROM measurements m JOIN series s ON s.id = m.series
                 WHERE s.site = ?1 AND s.code = ?2 AND s.field = ?3 AND s.period = ?4 AND m.time = ?5",
                params![k.site, k.code, k.field, k.period.id(), k.time],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("no stored value for {}", describe(k))))?;
        let existing: Option<(String, i64, i64)> = tx
            .query_row(
                "SELECT state, marked_ms, orig_received_ms FROM quality_marks
                 WHERE series = ?1 AND time = ?2",
                params![series, k.time],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let before = existing
            .as_ref()
            .map_or("none".to_string(), |e| e.0.clone());
        if action == "unmark" && before == "none" {
            return Err(StoreError::Invalid(format!(
                "{} carries no audit mark to remove",
                describe(k)
            )));
        }
        // The original arrival: kept from an earlier mark while the value was not resent since.
        let orig = match &existing {
            Some((_, marked_ms, orig)) if *marked_ms == received_ms => *orig,
            _ => received_ms,
        };
        tx.execute(
            "INSERT INTO quality_marks(series, time, state, reason, by_user, marked_ms, orig_received_ms)
             VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(series, time) DO UPDATE SET state = excluded.state,
               reason = excluded.reason, by_user = excluded.by_user,
               marked_ms = excluded.marked_ms, orig_received_ms = excluded.orig_received_ms",
            params![series, k.time, after, reason, by, at_ms, orig],
        )?;
        // Bump the arrival so that every engine's catch-up recomputes what the value feeds.
        tx.execute(
            "UPDATE measurements SET received_ms = ?1 WHERE series = ?2 AND time = ?3",
            params![at_ms, series, k.time],
        )?;
        tx.execute(
            "INSERT INTO quality_audit(site, code, field, period, time, action, before, after,
               reason, by_user, at_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                k.site,
                k.code,
                k.field,
                k.period.as_str(),
                k.time,
                action,
                before,
                after,
                reason,
                by,
                at_ms
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(AuditEntry {
            id,
            site: k.site.clone(),
            code: k.code.clone(),
            field: k.field.clone(),
            period: k.period,
            time: k.time,
            action: action.to_string(),
            before,
            after: after.to_string(),
            reason: reason.to_string(),
            by: by.to_string(),
            at_ms,
        })
    }
}

fn finding_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Finding> {
    Ok(Finding {
        kind: r.get(0)?,
        site: r.get(1)?,
        code: r.get(2)?,
        mn: r.get(3)?,
        from: r.get(4)?,
        to: r.get(5)?,
        count: r.get(6)?,
        detail: r.get(7)?,
    })
}

fn period_of(s: &str) -> rusqlite::Result<Period> {
    s.parse::<Period>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

use crate::pg::now_ms;

impl QualityStore for crate::SqliteStore {
    fn mark_value(
        &mut self,
        key: &ValueKey,
        state: MarkState,
        reason: &str,
        by: &str,
        at_ms: i64,
    ) -> Result<AuditEntry> {
        self.write_mark(key, state.as_str(), "mark", reason, by, at_ms)
    }

    fn unmark_value(
        &mut self,
        key: &ValueKey,
        reason: &str,
        by: &str,
        at_ms: i64,
    ) -> Result<AuditEntry> {
        // A clear "not found" first, then "not marked".
        self.value_row(key)?;
        self.write_mark(key, "none", "unmark", reason, by, at_ms)
    }

    fn audit_trail(
        &self,
        site: Option<&str>,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<Vec<AuditEntry>> {
        let mut st = self.conn.prepare(
            "SELECT id, site, code, field, period, time, action, before, after, reason, by_user,
                    at_ms
             FROM quality_audit WHERE (?1 IS NULL OR site = ?1) AND at_ms >= ?2 AND at_ms < ?3
             ORDER BY id",
        )?;
        let rows = st.query_map(
            params![site, from_ms.unwrap_or(i64::MIN), to_ms.unwrap_or(i64::MAX)],
            |r| {
                Ok(AuditEntry {
                    id: r.get(0)?,
                    site: r.get(1)?,
                    code: r.get(2)?,
                    field: r.get(3)?,
                    period: period_of(&r.get::<_, String>(4)?)?,
                    time: r.get(5)?,
                    action: r.get(6)?,
                    before: r.get(7)?,
                    after: r.get(8)?,
                    reason: r.get(9)?,
                    by: r.get(10)?,
                    at_ms: r.get(11)?,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn for_each_audited(
        &self,
        site: &str,
        period: Period,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(&AuditedValue) -> Result<()>,
    ) -> Result<()> {
        let mut st = self.conn.prepare_cached(
            "SELECT s.code, s.field, m.time, m.value, m.text, m.flag, m.eflag, i.mn,
                    CASE WHEN q.marked_ms = m.received_ms THEN q.orig_received_ms
                         ELSE m.received_ms END,
                    q.state
             FROM series s JOIN measurements m ON m.series = s.id
               JOIN mn_ids i ON i.id = m.device
               LEFT JOIN quality_marks q ON q.series = m.series AND q.time = m.time
             WHERE s.site = ?1 AND s.period = ?2 AND m.time >= ?3 AND m.time < ?4
             ORDER BY m.series, m.time",
        )?;
        let mut rows = st.query(params![site, period.id(), from, to])?;
        while let Some(r) = rows.next()? {
            let state: Option<String> = r.get(9)?;
            let v = AuditedValue {
                m: model::Measurement {
                    site: site.to_string(),
                    code: r.get(0)?,
                    field: r.get(1)?,
                    period,
                    time: r.get(2)?,
                    value: r.get::<_, Option<f64>>(3)?.unwrap_or(f64::NAN),
                    text: r.get(4)?,
                    flag: r.get(5)?,
                    eflag: r.get(6)?,
                    mn: r.get(7)?,
                },
                received_ms: r.get(8)?,
                mark: state.as_deref().and_then(MarkState::parse),
            };
            f(&v)?;
        }
        Ok(())
    }

    fn replace_findings(
        &mut self,
        site: &str,
        from: i64,
        to: i64,
        kinds: &[&str],
        findings: &[Finding],
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut del = tx.prepare_cached(
                "DELETE FROM quality_findings WHERE site = ?1 AND from_t >= ?2 AND from_t < ?3
                 AND kind = ?4",
            )?;
            for k in kinds {
                del.execute(params![site, from, to, k])?;
            }
            let mut ins = tx.prepare_cached(
                "INSERT OR REPLACE INTO quality_findings(kind, site, code, mn, from_t, to_t, count,
                   detail, updated_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            let now = now_ms();
            for x in findings {
                ins.execute(params![
                    x.kind, x.site, x.code, x.mn, x.from, x.to, x.count, x.detail, now
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn findings(
        &self,
        site: Option<&str>,
        from: i64,
        to: i64,
        kinds: Option<&[&str]>,
    ) -> Result<Vec<Finding>> {
        // `from_t < to` bounds the index range; `to_t > from` keeps the overlapping ones.
        let (eq, args) = crate::sqlite::and_eq(&[("site", site)]);
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT kind, site, code, mn, from_t, to_t, count, detail FROM quality_findings
             WHERE from_t < ? AND to_t > ?{eq}
             ORDER BY from_t, site, kind, code, mn, detail",
        ))?;
        let mut bind: Vec<&dyn rusqlite::ToSql> = vec![&to, &from];
        bind.extend(args.iter().map(|a| a as &dyn rusqlite::ToSql));
        let rows = st.query_map(bind.as_slice(), finding_from_row)?;
        let mut out: Vec<Finding> = rows.collect::<rusqlite::Result<_>>()?;
        if let Some(kinds) = kinds {
            out.retain(|f| kinds.contains(&f.kind.as_str()));
        }
        Ok(out)
    }

    fn replace_quality_days(
        &mut self,
        days: &[(String, String)],
        rows: &[QualityDay],
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut del =
                tx.prepare_cached("DELETE FROM quality_days WHERE site = ?1 AND day = ?2")?;
            for (site, day) in days {
                del.execute(params![site, day])?;
            }
            let mut ins = tx.prepare_cached(
                "INSERT OR REPLACE INTO quality_days(mn, site, code, period, day, expected,
                   received, valid, flagged, marked_invalid, updated_ms, received_mask,
                   valid_mask)
                 VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?;
            let now = now_ms();
            for r in rows {
                ins.execute(params![
                    r.mn,
                    r.site,
                    r.code,
                    r.period.as_str(),
                    r.day,
                    r.expected,
                    r.received,
                    r.valid,
                    r.flagged,
                    r.marked_invalid,
                    now,
                    r.received_mask,
                    r.valid_mask
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn quality_days(&self, from_day: &str, to_day: &str) -> Result<Vec<QualityDay>> {
        let mut st = self.conn.prepare_cached(
            "SELECT mn, site, code, period, day, expected, received, valid, flagged, marked_invalid,
                    received_mask, valid_mask
             FROM quality_days WHERE day >= ?1 AND day <= ?2 ORDER BY mn, code, day",
        )?;
        let rows = st.query_map(params![from_day, to_day], |r| {
            Ok(QualityDay {
                mn: r.get(0)?,
                site: r.get(1)?,
                code: r.get(2)?,
                period: period_of(&r.get::<_, String>(3)?)?,
                day: r.get(4)?,
                expected: r.get(5)?,
                received: r.get(6)?,
                valid: r.get(7)?,
                flagged: r.get(8)?,
                marked_invalid: r.get(9)?,
                received_mask: r.get(10)?,
                valid_mask: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
