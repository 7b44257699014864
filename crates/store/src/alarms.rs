//! Store extension: alarms and their follow-up: one active alarm per (rule, site, pollutant),
//! life-cycle steps, notifications.
//!
//! Tables:
//! - `alarms`: one row per alarm. `active = 1` marks the alarm that receives further raises of
//!   its (rule, site, pollutant) key — a partial unique index keeps it to one per key. `version`
//!   is bumped on every save: a save with a stale version is refused ([`AlarmStore::save_alarm`]
//!   returns `None`), so two writers never overwrite each other silently.
//! - `alarm_steps`: append-only history (who, when, from → to, note).
//! - `alarm_outbox`: durable notifications; a worker delivers them at least once and records
//!   attempts, errors and status.
//!
//! The trait carries no SQLite type: a PostgreSQL store implements the same.

use std::fmt;
use std::str::FromStr;

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::{Result, Store, StoreError};

/// Tables of this domain, created when a store opens.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS alarms(
    id INTEGER PRIMARY KEY,
    rule TEXT NOT NULL,
    site TEXT NOT NULL,
    pollutant TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    detail TEXT NOT NULL,
    status TEXT NOT NULL,
    active INTEGER NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    cleared_ms INTEGER,
    value REAL,
    peak REAL,
    peak_ms INTEGER,
    limit_value REAL,
    count INTEGER NOT NULL,
    assignee TEXT,
    deadline_ms INTEGER,
    overdue INTEGER NOT NULL DEFAULT 0,
    escalated_deadline_ms INTEGER,
    handling TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    late INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS alarms_active ON alarms(rule, site, pollutant) WHERE active = 1;
CREATE INDEX IF NOT EXISTS alarms_status ON alarms(status, deadline_ms);
CREATE TABLE IF NOT EXISTS alarm_steps(
    id INTEGER PRIMARY KEY,
    alarm_id INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    action TEXT NOT NULL,
    by_user TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS alarm_steps_alarm ON alarm_steps(alarm_id, id);
CREATE TABLE IF NOT EXISTS alarm_outbox(
    id INTEGER PRIMARY KEY,
    alarm_id INTEGER,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_attempt_ms INTEGER,
    last_error TEXT,
    sent_ms INTEGER,
    coalesced_into INTEGER
);
CREATE INDEX IF NOT EXISTS alarm_outbox_due ON alarm_outbox(status, next_attempt_ms);
"#;

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$v => $s),+ } }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
        impl FromStr for $name {
            type Err = StoreError;
            fn from_str(s: &str) -> Result<Self> {
                match s { $($s => Ok($name::$v),)+ _ => Err(StoreError::Invalid(format!(
                    "{} {:?} is not one of: {}", $what, s, concat!($($s, " "),+)))) }
            }
        }
    };
}

text_enum!(
    /// Alarm severity (告警级别), lowest first. Chinese names follow the four-level scale of
    /// the national emergency-plan practice (一般/较重/严重/特别严重) and its colours
    /// (蓝/黄/橙/红), see [`Severity::cn`] and [`Severity::colour_cn`].
    Severity, "severity" {
    /// 一般 (蓝色)
    Info = "info",
    /// 较重 (黄色)
    Warning = "warning",
    /// 严重 (橙色)
    Major = "major",
    /// 特别严重 (红色)
    Critical = "critical",
});

impl Severity {
    /// 一般 / 较重 / 严重 / 特别严重.
    pub fn cn(self) -> &'static str {
        match self {
            Severity::Info => "一般",
            Severity::Warning => "较重",
            Severity::Major => "严重",
            Severity::Critical => "特别严重",
        }
    }
    /// 蓝 / 黄 / 橙 / 红.
    pub fn colour_cn(self) -> &'static str {
        match self {
            Severity::Info => "蓝",
            Severity::Warning => "黄",
            Severity::Major => "橙",
            Severity::Critical => "红",
        }
    }
    /// One level up (critical stays critical).
    pub fn up(self) -> Severity {
        match self {
            Severity::Info => Severity::Warning,
            Severity::Warning => Severity::Major,
            Severity::Major | Severity::Critical => Severity::Critical,
        }
    }
}

text_enum!(
    /// Where an alarm is in its follow-up (处置流程).
    AlarmStatus, "alarm status" {
    /// 新告警, nobody has looked at it.
    New = "new",
    /// 已确认.
    Acknowledged = "acknowledged",
    /// 已派发 to a department or town, with a deadline.
    Dispatched = "dispatched",
    /// 已处置: verification result, cause, measures recorded.
    Handled = "handled",
    /// 已办结.
    Closed = "closed",
    /// 已自动解除: the condition ended before anyone dispatched it.
    Cleared = "cleared",
});

impl AlarmStatus {
    pub fn cn(self) -> &'static str {
        match self {
            AlarmStatus::New => "新告警",
            AlarmStatus::Acknowledged => "已确认",
            AlarmStatus::Dispatched => "已派发",
            AlarmStatus::Handled => "已处置",
            AlarmStatus::Closed => "已办结",
            AlarmStatus::Cleared => "已自动解除",
        }
    }
    /// Whether the follow-up still needs someone (not closed, not auto-cleared).
    pub fn is_open(self) -> bool {
        !matches!(self, AlarmStatus::Closed | AlarmStatus::Cleared)
    }
}

/// What the handling department recorded (处置结果).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Handling {
    /// 核查结果 verification result.
    pub result: String,
    /// 原因 cause.
    pub cause: String,
    /// 措施 measures taken.
    pub measures: String,
    /// Attachment references (file names or URLs; the platform stores no uploads).
    #[serde(default)]
    pub attachments: Vec<String>,
    pub by: String,
    /// UTC ms.
    pub at_ms: i64,
}

/// One alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    /// 0 for an alarm not saved yet.
    pub id: i64,
    /// Rule name (`exceedance`, `pre_warning`, `offline`, `aqi_jump`, …).
    pub rule: String,
    pub site: String,
    /// Pollutant code (HJ 212), if the rule is about one.
    pub pollutant: Option<String>,
    pub severity: Severity,
    /// Chinese title and detail.
    pub title: String,
    pub detail: String,
    pub status: AlarmStatus,
    /// Receives further raises of its key (condition ongoing, alarm not closed).
    pub active: bool,
    /// UTC ms of the first and latest occurrence.
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// UTC ms when the condition ended.
    pub cleared_ms: Option<i64>,
    /// Latest value, peak value and when the peak occurred.
    pub value: Option<f64>,
    pub peak: Option<f64>,
    pub peak_ms: Option<i64>,
    /// The limit or threshold the value was judged against.
    pub limit: Option<f64>,
    /// Occurrences (raises) so far.
    pub count: i64,
    /// Department or town code it was dispatched to.
    pub assignee: Option<String>,
    /// UTC ms deadline of the dispatch.
    pub deadline_ms: Option<i64>,
    /// The deadline passed before it was handled (kept as a record once set).
    pub overdue: bool,
    /// The deadline whose overdue escalation was applied (once per deadline).
    pub escalated_deadline_ms: Option<i64>,
    pub handling: Option<Handling>,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// Optimistic-concurrency version (bumped by every save).
    pub version: i64,
    /// Raised from late or back-filled data (补传): its first occurrence was judged well after
    /// the hour it is about (docs/engine-alarms.md, "Late and back-filled data").
    pub late: bool,
}

impl Alarm {
    /// The documented JSON shape (docs/engine-alarms.md): times as Beijing RFC 3339 and UTC ms.
    pub fn to_json(&self) -> serde_json::Value {
        let t = |ms: i64| model::format_beijing(ms.div_euclid(1000));
        let ot = |ms: Option<i64>| ms.map(t);
        serde_json::json!({
            "id": self.id,
            "rule": self.rule,
            "site": self.site,
            "pollutant": self.pollutant,
            "severity": self.severity.as_str(),
            "severity_cn": self.severity.cn(),
            "colour_cn": self.severity.colour_cn(),
            "title": self.title,
            "detail": self.detail,
            "status": self.status.as_str(),
            "status_cn": self.status.cn(),
            "active": self.active,
            "first_seen": t(self.first_seen_ms),
            "last_seen": t(self.last_seen_ms),
            "cleared_at": ot(self.cleared_ms),
            "first_seen_ms": self.first_seen_ms,
            "last_seen_ms": self.last_seen_ms,
            "cleared_ms": self.cleared_ms,
            "value": self.value,
            "peak": self.peak,
            "peak_at": ot(self.peak_ms),
            "limit": self.limit,
            "count": self.count,
            "assignee": self.assignee,
            "deadline": ot(self.deadline_ms),
            "deadline_ms": self.deadline_ms,
            "overdue": self.overdue,
            "handling": self.handling,
            "updated_at": t(self.updated_ms),
            "late": self.late,
        })
    }
}

/// One recorded step of an alarm's life (append-only).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmStep {
    pub id: i64,
    pub alarm_id: i64,
    pub at_ms: i64,
    /// `raised`, `escalated`, `cleared`, `ack`, `dispatch`, `handle`, `close`, `reopen`,
    /// `overdue`.
    pub action: String,
    /// User name, or `system` for rules and the clock.
    pub by: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: String,
}

/// A notification to enqueue with a save (its body is the saved alarm's JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    /// `raised`, `escalated`, `overdue`, `dispatched`, `cleared`, `reopened`.
    pub event: String,
}

text_enum!(
    /// Delivery state of an outbox notification.
    NotificationStatus, "notification status" {
    Pending = "pending",
    Sent = "sent",
    /// Gave up after the maximum attempts.
    Failed = "failed",
    /// Folded into a summary notification by the rate limit.
    Coalesced = "coalesced",
});

/// A notification in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: i64,
    pub alarm_id: Option<i64>,
    pub event: String,
    /// JSON text: the alarm at the time of the event, or a summary's content.
    pub body: String,
    pub created_ms: i64,
    pub status: NotificationStatus,
    pub attempts: i64,
    pub next_attempt_ms: i64,
    pub last_attempt_ms: Option<i64>,
    pub last_error: Option<String>,
    pub sent_ms: Option<i64>,
    pub coalesced_into: Option<i64>,
}

/// The result of one delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// Delivered (2xx).
    Sent,
    /// Failed; try again at `next_ms`.
    Retry { error: String, next_ms: i64 },
    /// Failed for the last time.
    GiveUp { error: String },
}

/// Which alarms to list.
#[derive(Debug, Clone, Default)]
pub struct AlarmFilter {
    /// Only these statuses (empty = all).
    pub statuses: Vec<AlarmStatus>,
    pub site: Option<String>,
    pub rule: Option<String>,
    /// At most this many, newest first (0 = no limit).
    pub limit: usize,
}

/// Alarm persistence.
pub trait AlarmStore: Store {
    /// The active alarm of a key, if any.
    fn active_alarm(
        &self,
        rule: &str,
        site: &str,
        pollutant: Option<&str>,
    ) -> Result<Option<Alarm>>;
    fn alarm(&self, id: i64) -> Result<Option<Alarm>>;
    /// Alarms matching `filter`, newest (highest id) first.
    fn alarms(&self, filter: &AlarmFilter) -> Result<Vec<Alarm>>;
    /// Dispatched alarms whose deadline is before `now_ms` and whose escalation for that
    /// deadline has not been applied.
    fn overdue_alarms(&self, now_ms: i64) -> Result<Vec<Alarm>>;
    fn alarm_steps(&self, alarm_id: i64) -> Result<Vec<AlarmStep>>;
    /// Saves an alarm (inserts when `id == 0`, else updates if `version` is still the stored
    /// one), appends `steps` and enqueues `notes`, in one transaction. Returns the id, or
    /// `None` on a conflict (stale version, or another active alarm of the same key): re-read
    /// and retry.
    fn save_alarm(
        &mut self,
        alarm: &Alarm,
        steps: &[AlarmStep],
        notes: &[NewNotification],
    ) -> Result<Option<i64>>;

    /// Enqueues a notification not tied to one alarm save (e.g. a summary); returns its id.
    fn enqueue_notification(
        &mut self,
        alarm_id: Option<i64>,
        event: &str,
        body: &str,
        now_ms: i64,
    ) -> Result<i64>;
    /// Pending notifications due at `now_ms`, oldest first, at most `limit`.
    fn due_notifications(&self, now_ms: i64, limit: usize) -> Result<Vec<Notification>>;
    /// Every notification, oldest first (for inspection).
    fn notifications(&self) -> Result<Vec<Notification>>;
    /// Records a delivery attempt at `at_ms`.
    fn record_attempt(&mut self, id: i64, at_ms: i64, attempt: &Attempt) -> Result<()>;
    /// Marks `ids` as coalesced into a new summary notification with `body`; returns its id.
    fn coalesce_notifications(&mut self, ids: &[i64], body: &str, now_ms: i64) -> Result<i64>;
}

const ALARM_COLUMNS: &str = "id, rule, site, pollutant, severity, title, detail, status, active, \
    first_seen_ms, last_seen_ms, cleared_ms, value, peak, peak_ms, limit_value, count, assignee, \
    deadline_ms, overdue, escalated_deadline_ms, handling, created_ms, updated_ms, version, late";

/// Columns added after the first release, with their declaration: added to an existing data
/// folder's `alarms` table when the store opens (new ones get them from [`SCHEMA`]).
pub(crate) const ADDED_COLUMNS: &[(&str, &str, &str)] =
    &[("alarms", "late", "INTEGER NOT NULL DEFAULT 0")];

fn alarm_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Alarm> {
    let conv = |i: usize, e: StoreError| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    };
    let pollutant: String = r.get(3)?;
    let severity: String = r.get(4)?;
    let status: String = r.get(7)?;
    let handling: Option<String> = r.get(21)?;
    Ok(Alarm {
        id: r.get(0)?,
        rule: r.get(1)?,
        site: r.get(2)?,
        pollutant: (!pollutant.is_empty()).then_some(pollutant),
        severity: severity.parse().map_err(|e| conv(4, e))?,
        title: r.get(5)?,
        detail: r.get(6)?,
        status: status.parse().map_err(|e| conv(7, e))?,
        active: r.get::<_, i64>(8)? != 0,
        first_seen_ms: r.get(9)?,
        last_seen_ms: r.get(10)?,
        cleared_ms: r.get(11)?,
        value: r.get(12)?,
        peak: r.get(13)?,
        peak_ms: r.get(14)?,
        limit: r.get(15)?,
        count: r.get(16)?,
        assignee: r.get(17)?,
        deadline_ms: r.get(18)?,
        overdue: r.get::<_, i64>(19)? != 0,
        escalated_deadline_ms: r.get(20)?,
        handling: match handling {
            Some(h) => {
                Some(serde_json::from_str(&h).map_err(|e| {
                    conv(21, StoreError::Invalid(format!("alarm handling JSON: {e}")))
                })?)
            }
            None => None,
        },
        created_ms: r.get(22)?,
        updated_ms: r.get(23)?,
        version: r.get(24)?,
        late: r.get::<_, i64>(25)? != 0,
    })
}

fn notification_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Notification> {
    let status: String = r.get(5)?;
    Ok(Notification {
        id: r.get(0)?,
        alarm_id: r.get(1)?,
        event: r.get(2)?,
        body: r.get(3)?,
        created_ms: r.get(4)?,
        status: status.parse().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
        })?,
        attempts: r.get(6)?,
        next_attempt_ms: r.get(7)?,
        last_attempt_ms: r.get(8)?,
        last_error: r.get(9)?,
        sent_ms: r.get(10)?,
        coalesced_into: r.get(11)?,
    })
}

const NOTIFICATION_COLUMNS: &str = "id, alarm_id, event, body, created_ms, status, attempts, \
    next_attempt_ms, last_attempt_ms, last_error, sent_ms, coalesced_into";

fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

impl AlarmStore for crate::SqliteStore {
    fn active_alarm(
        &self,
        rule: &str,
        site: &str,
        pollutant: Option<&str>,
    ) -> Result<Option<Alarm>> {
        let sql = format!(
            "SELECT {ALARM_COLUMNS} FROM alarms WHERE rule=?1 AND site=?2 AND pollutant=?3 AND active=1"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![rule, site, pollutant.unwrap_or("")], alarm_from_row)
            .optional()?)
    }

    fn alarm(&self, id: i64) -> Result<Option<Alarm>> {
        let sql = format!("SELECT {ALARM_COLUMNS} FROM alarms WHERE id=?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], alarm_from_row)
            .optional()?)
    }

    fn alarms(&self, filter: &AlarmFilter) -> Result<Vec<Alarm>> {
        let mut sql = format!("SELECT {ALARM_COLUMNS} FROM alarms WHERE 1=1");
        let mut args: Vec<String> = Vec::new();
        if !filter.statuses.is_empty() {
            let marks: Vec<String> = filter
                .statuses
                .iter()
                .map(|s| {
                    args.push(s.as_str().to_string());
                    format!("?{}", args.len())
                })
                .collect();
            sql.push_str(&format!(" AND status IN ({})", marks.join(",")));
        }
        if let Some(site) = &filter.site {
            args.push(site.clone());
            sql.push_str(&format!(" AND site = ?{}", args.len()));
        }
        if let Some(rule) = &filter.rule {
            args.push(rule.clone());
            sql.push_str(&format!(" AND rule = ?{}", args.len()));
        }
        sql.push_str(" ORDER BY id DESC");
        if filter.limit > 0 {
            sql.push_str(&format!(" LIMIT {}", filter.limit));
        }
        let mut st = self.conn.prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args.iter()), alarm_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn overdue_alarms(&self, now_ms: i64) -> Result<Vec<Alarm>> {
        let sql = format!(
            "SELECT {ALARM_COLUMNS} FROM alarms WHERE status='dispatched' AND deadline_ms < ?1
             AND (escalated_deadline_ms IS NULL OR escalated_deadline_ms <> deadline_ms)
             ORDER BY id"
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let rows = st.query_map([now_ms], alarm_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn alarm_steps(&self, alarm_id: i64) -> Result<Vec<AlarmStep>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, alarm_id, at_ms, action, by_user, from_status, to_status, note
             FROM alarm_steps WHERE alarm_id=?1 ORDER BY id",
        )?;
        let rows = st.query_map([alarm_id], |r| {
            Ok(AlarmStep {
                id: r.get(0)?,
                alarm_id: r.get(1)?,
                at_ms: r.get(2)?,
                action: r.get(3)?,
                by: r.get(4)?,
                from_status: r.get(5)?,
                to_status: r.get(6)?,
                note: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn save_alarm(
        &mut self,
        a: &Alarm,
        steps: &[AlarmStep],
        notes: &[NewNotification],
    ) -> Result<Option<i64>> {
        let tx = self.conn.transaction()?;
        let handling = a
            .handling
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Invalid(format!("alarm handling: {e}")))?;
        let pollutant = a.pollutant.as_deref().unwrap_or("");
        let id = if a.id == 0 {
            let r = tx.execute(
                "INSERT INTO alarms(rule, site, pollutant, severity, title, detail, status, active,
                   first_seen_ms, last_seen_ms, cleared_ms, value, peak, peak_ms, limit_value, count,
                   assignee, deadline_ms, overdue, escalated_deadline_ms, handling, created_ms,
                   updated_ms, version, late)
                 VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,
                   ?22,?23,1,?24)",
                params![
                    a.rule,
                    a.site,
                    pollutant,
                    a.severity.as_str(),
                    a.title,
                    a.detail,
                    a.status.as_str(),
                    a.active as i64,
                    a.first_seen_ms,
                    a.last_seen_ms,
                    a.cleared_ms,
                    a.value,
                    a.peak,
                    a.peak_ms,
                    a.limit,
                    a.count,
                    a.assignee,
                    a.deadline_ms,
                    a.overdue as i64,
                    a.escalated_deadline_ms,
                    handling,
                    a.created_ms,
                    a.updated_ms,
                    a.late as i64,
                ],
            );
            match r {
                Ok(_) => tx.last_insert_rowid(),
                Err(e) if is_constraint(&e) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        } else {
            let r = tx.execute(
                "UPDATE alarms SET severity=?1, title=?2, detail=?3, status=?4, active=?5,
                   first_seen_ms=?6, last_seen_ms=?7, cleared_ms=?8, value=?9, peak=?10, peak_ms=?11,
                   limit_value=?12, count=?13, assignee=?14, deadline_ms=?15, overdue=?16,
                   escalated_deadline_ms=?17, handling=?18, updated_ms=?19, version=version+1,
                   late=?22
                 WHERE id=?20 AND version=?21",
                params![
                    a.severity.as_str(),
                    a.title,
                    a.detail,
                    a.status.as_str(),
                    a.active as i64,
                    a.first_seen_ms,
                    a.last_seen_ms,
                    a.cleared_ms,
                    a.value,
                    a.peak,
                    a.peak_ms,
                    a.limit,
                    a.count,
                    a.assignee,
                    a.deadline_ms,
                    a.overdue as i64,
                    a.escalated_deadline_ms,
                    handling,
                    a.updated_ms,
                    a.id,
                    a.version,
                    a.late as i64,
                ],
            );
            match r {
                Ok(0) => return Ok(None),
                Ok(_) => a.id,
                Err(e) if is_constraint(&e) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        };
        for s in steps {
            tx.execute(
                "INSERT INTO alarm_steps(alarm_id, at_ms, action, by_user, from_status, to_status, note)
                 VALUES(?1,?2,?3,?4,?5,?6,?7)",
                params![id, s.at_ms, s.action, s.by, s.from_status, s.to_status, s.note],
            )?;
        }
        if !notes.is_empty() {
            let mut saved = a.clone();
            saved.id = id;
            let body = saved.to_json().to_string();
            for n in notes {
                tx.execute(
                    "INSERT INTO alarm_outbox(alarm_id, event, body, created_ms, status, next_attempt_ms)
                     VALUES(?1,?2,?3,?4,'pending',?4)",
                    params![id, n.event, body, a.updated_ms],
                )?;
            }
        }
        tx.commit()?;
        Ok(Some(id))
    }

    fn enqueue_notification(
        &mut self,
        alarm_id: Option<i64>,
        event: &str,
        body: &str,
        now_ms: i64,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO alarm_outbox(alarm_id, event, body, created_ms, status, next_attempt_ms)
             VALUES(?1,?2,?3,?4,'pending',?4)",
            params![alarm_id, event, body, now_ms],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn due_notifications(&self, now_ms: i64, limit: usize) -> Result<Vec<Notification>> {
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM alarm_outbox
             WHERE status='pending' AND next_attempt_ms <= ?1 ORDER BY id LIMIT ?2"
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let rows = st.query_map(params![now_ms, limit as i64], notification_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn notifications(&self) -> Result<Vec<Notification>> {
        let sql = format!("SELECT {NOTIFICATION_COLUMNS} FROM alarm_outbox ORDER BY id");
        let mut st = self.conn.prepare(&sql)?;
        let rows = st.query_map([], notification_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn record_attempt(&mut self, id: i64, at_ms: i64, attempt: &Attempt) -> Result<()> {
        let n = match attempt {
            Attempt::Sent => self.conn.execute(
                "UPDATE alarm_outbox SET status='sent', attempts=attempts+1, last_attempt_ms=?2,
                   sent_ms=?2 WHERE id=?1",
                params![id, at_ms],
            )?,
            Attempt::Retry { error, next_ms } => self.conn.execute(
                "UPDATE alarm_outbox SET attempts=attempts+1, last_attempt_ms=?2, last_error=?3,
                   next_attempt_ms=?4 WHERE id=?1",
                params![id, at_ms, error, next_ms],
            )?,
            Attempt::GiveUp { error } => self.conn.execute(
                "UPDATE alarm_outbox SET status='failed', attempts=attempts+1, last_attempt_ms=?2,
                   last_error=?3 WHERE id=?1",
                params![id, at_ms, error],
            )?,
        };
        if n == 0 {
            return Err(StoreError::NotFound(format!("notification {id}")));
        }
        Ok(())
    }

    fn coalesce_notifications(&mut self, ids: &[i64], body: &str, now_ms: i64) -> Result<i64> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO alarm_outbox(alarm_id, event, body, created_ms, status, next_attempt_ms)
             VALUES(NULL,'summary',?1,?2,'pending',?2)",
            params![body, now_ms],
        )?;
        let summary = tx.last_insert_rowid();
        for id in ids {
            tx.execute(
                "UPDATE alarm_outbox SET status='coalesced', coalesced_into=?2 WHERE id=?1",
                params![id, summary],
            )?;
        }
        tx.commit()?;
        Ok(summary)
    }
}
