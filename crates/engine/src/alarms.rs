//! Alarms and their follow-up (告警与处置): the API every evaluation raises and clears alarms
//! through, and the life cycle people drive. See docs/engine-alarms.md.
//!
//! - **One active alarm per (rule, site, pollutant).** [`Alarms::raise`] updates the active
//!   alarm of its key (last seen, count, latest value, peak, severity may only go up) or creates
//!   one. [`Alarms::clear`] ends the condition: the alarm stops being active (kept in history);
//!   if nobody dispatched it yet (status new/acknowledged) its status becomes `cleared`, a
//!   dispatched or handled alarm keeps its workflow. A raise after a clear **creates a new
//!   alarm** (the old one is history, possibly with its own follow-up). Clearing is idempotent,
//!   and a clear older than the alarm's last occurrence is ignored (a late value does not end a
//!   newer condition).
//! - **Life cycle.** new → acknowledged → dispatched (to a department or town, deadline) →
//!   handled (result, cause, measures, attachments) → closed (the follow-up ends; a condition
//!   still going on keeps counting into the closed alarm until it clears); reopen from handled, closed or
//!   cleared → acknowledged, or dispatched again when it had been dispatched. Anything else is
//!   refused with [`EngineError::Invalid`] naming the alarm, its status and the action.
//! - **Overdue.** [`Alarms::escalate_overdue`]: a dispatched alarm past its deadline goes one
//!   severity up, gets `overdue`, once per deadline (a new dispatch sets a new deadline).
//! - Every change appends a step (who, when, from → to) and, where someone should hear of it,
//!   enqueues a notification in the durable outbox (`alarm_notify` delivers it).

#[path = "alarm_notify.rs"]
pub mod notify;
#[path = "alarm_rules.rs"]
pub mod rules;

pub use rules::{AlarmConfig, AlarmEngine, OfflinePolicy, OutletLimit, RuleStats, Touched};
pub use store::alarms::{AlarmFilter, AlarmStatus, Handling, Severity};

use store::alarms::{Alarm, AlarmStep, AlarmStore, NewNotification};

use crate::{EngineError, Result};

/// Rule names used by the engine's own rules and by other evaluations.
pub mod rule {
    /// 超标: an hourly value over the outlet's permit limit.
    pub const EXCEEDANCE: &str = "exceedance";
    /// 预警: an hourly value at or above the pre-warning share of the limit.
    pub const PRE_WARNING: &str = "pre_warning";
    /// 数据异常 (data-quality findings).
    pub const DATA_ANOMALY: &str = "data_anomaly";
    /// 设备离线.
    pub const OFFLINE: &str = "offline";
    /// AQI 级别跃升 / 中度及以上污染.
    pub const AQI_JUMP: &str = "aqi_jump";
    /// 水质类别低于目标.
    pub const WATER_BELOW_TARGET: &str = "water_below_target";
    /// 饮用水源不达标.
    pub const DRINKING_WATER_NONCOMPLIANCE: &str = "drinking_water_noncompliance";
}

/// User name recorded for steps taken by rules and the clock.
pub const SYSTEM: &str = "system";

/// What an evaluation reports when its condition holds.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmInput {
    pub rule: String,
    pub site: String,
    pub pollutant: Option<String>,
    pub severity: Severity,
    /// Chinese title and detail (the latest occurrence's wording replaces the previous one).
    pub title: String,
    pub detail: String,
    /// The value that triggered it, and the limit it was judged against.
    pub value: Option<f64>,
    pub limit: Option<f64>,
    /// UTC ms of the occurrence (e.g. the hour's start, the day's start).
    pub at_ms: i64,
}

/// Anything evaluations can raise and clear alarms through: [`Alarms`] (writes the store) or
/// [`AlarmBuffer`] (collects, applied later — for evaluations that hold only a `&mut dyn
/// Store`).
pub trait AlarmSink {
    fn raise(&mut self, input: AlarmInput) -> Result<()>;
    fn clear(&mut self, rule: &str, site: &str, pollutant: Option<&str>, at_ms: i64) -> Result<()>;
}

/// An alarm operation collected by [`AlarmBuffer`].
#[derive(Debug, Clone, PartialEq)]
pub enum AlarmOp {
    Raise(AlarmInput),
    Clear {
        rule: String,
        site: String,
        pollutant: Option<String>,
        at_ms: i64,
    },
}

/// Collects raises and clears; [`AlarmBuffer::apply`] writes them in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlarmBuffer {
    pub ops: Vec<AlarmOp>,
}

impl AlarmBuffer {
    pub fn apply(self, alarms: &mut Alarms<'_>) -> Result<()> {
        for op in self.ops {
            match op {
                AlarmOp::Raise(i) => {
                    alarms.raise(i)?;
                }
                AlarmOp::Clear {
                    rule,
                    site,
                    pollutant,
                    at_ms,
                } => {
                    alarms.clear(&rule, &site, pollutant.as_deref(), at_ms)?;
                }
            }
        }
        Ok(())
    }
}

impl AlarmSink for AlarmBuffer {
    fn raise(&mut self, input: AlarmInput) -> Result<()> {
        self.ops.push(AlarmOp::Raise(input));
        Ok(())
    }
    fn clear(&mut self, rule: &str, site: &str, pollutant: Option<&str>, at_ms: i64) -> Result<()> {
        self.ops.push(AlarmOp::Clear {
            rule: rule.into(),
            site: site.into(),
            pollutant: pollutant.map(Into::into),
            at_ms,
        });
        Ok(())
    }
}

/// What [`Alarms::raise`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaiseOutcome {
    pub id: i64,
    /// A new alarm was created (otherwise the active one was updated).
    pub created: bool,
    /// The severity went up.
    pub escalated: bool,
}

/// What [`Alarms::clear`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClearOutcome {
    /// The active alarm `id` was cleared.
    Cleared(i64),
    /// No active alarm for the key (idempotent).
    NotActive,
    /// The clear is older than the alarm's last occurrence: ignored.
    Stale(i64),
}

/// A dispatch: to whom, by when.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatch {
    /// Department name or town code (12-digit GB/T 2260 + town code).
    pub to: String,
    /// UTC ms.
    pub deadline_ms: i64,
}

const MAX_RETRIES: usize = 5;

/// A workflow change: edits the alarm and returns its step and notification, or `None` when
/// there is nothing to do.
type Change<'c> =
    dyn FnMut(&mut Alarm) -> Result<Option<(AlarmStep, Option<NewNotification>)>> + 'c;

/// The alarm API over a store. Every method takes the time explicitly (`now_ms`) so a fixed
/// clock tests it.
pub struct Alarms<'a> {
    store: &'a mut dyn AlarmStore,
    /// Clock used by the [`AlarmSink`] methods for `updated_ms` (the occurrence time is the
    /// input's). `None` = the system clock.
    pub clock_ms: Option<i64>,
}

pub(crate) fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn step(
    a: &Alarm,
    at_ms: i64,
    action: &str,
    by: &str,
    from: Option<AlarmStatus>,
    note: String,
) -> AlarmStep {
    AlarmStep {
        id: 0,
        alarm_id: a.id,
        at_ms,
        action: action.into(),
        by: by.into(),
        from_status: from.map(|s| s.as_str().to_string()),
        to_status: a.status.as_str().to_string(),
        note,
    }
}

/// Counts occurrence `i` into alarm `a` at `now`: count, first/last seen (the newest
/// occurrence's value, title, detail and limit), peak, and severity only up — an escalation
/// gets its step (note prefixed by `why`) and notification. Returns them and whether it
/// escalated.
fn absorb(
    a: &mut Alarm,
    i: &AlarmInput,
    now: i64,
    why: &str,
) -> (Vec<AlarmStep>, Vec<NewNotification>, bool) {
    a.count += 1;
    a.first_seen_ms = a.first_seen_ms.min(i.at_ms);
    if i.at_ms >= a.last_seen_ms {
        a.last_seen_ms = i.at_ms;
        a.value = i.value.or(a.value);
        a.title = i.title.clone();
        a.detail = i.detail.clone();
        a.limit = i.limit.or(a.limit);
    }
    if let Some(v) = i.value {
        if a.peak.is_none_or(|p| v > p) {
            a.peak = Some(v);
            a.peak_ms = Some(i.at_ms);
        }
    }
    a.updated_ms = now;
    if i.severity <= a.severity {
        return (Vec::new(), Vec::new(), false);
    }
    let from = a.severity;
    a.severity = i.severity;
    let n = format!(
        "{why}级别 {} → {}: {}",
        from.cn(),
        a.severity.cn(),
        i.detail
    );
    let s = step(a, now, "escalated", SYSTEM, Some(a.status), n);
    (vec![s], vec![note("escalated")], true)
}

/// A new alarm (status 新告警, active, one occurrence) raised by `i` at `now`.
fn new_alarm(i: &AlarmInput, now: i64, late: bool) -> Alarm {
    Alarm {
        id: 0,
        rule: i.rule.clone(),
        site: i.site.clone(),
        pollutant: i.pollutant.clone(),
        severity: i.severity,
        title: i.title.clone(),
        detail: i.detail.clone(),
        status: AlarmStatus::New,
        active: true,
        first_seen_ms: i.at_ms,
        last_seen_ms: i.at_ms,
        cleared_ms: None,
        value: i.value,
        peak: i.value,
        peak_ms: i.value.map(|_| i.at_ms),
        limit: i.limit,
        count: 1,
        assignee: None,
        deadline_ms: None,
        overdue: false,
        escalated_deadline_ms: None,
        handling: None,
        created_ms: now,
        updated_ms: now,
        version: 0,
        late,
    }
}

/// The note of a `raised` step: the detail, prefixed 补传数据 for late data.
fn raised_note(i: &AlarmInput, late: bool) -> String {
    if late {
        format!("补传数据：{}", i.detail)
    } else {
        i.detail.clone()
    }
}

fn note(event: &str) -> NewNotification {
    NewNotification {
        event: event.into(),
    }
}

fn invalid(a: &Alarm, action: &str, allowed: &str) -> EngineError {
    EngineError::Invalid(format!(
        "alarm {}: cannot {action} an alarm that is {} ({}); {action} needs status {allowed}",
        a.id,
        a.status,
        a.status.cn()
    ))
}

fn need(field: &str, v: &str, action: &str) -> Result<()> {
    if v.trim().is_empty() {
        return Err(EngineError::Invalid(format!(
            "{action}: {field} must not be empty"
        )));
    }
    Ok(())
}

impl<'a> Alarms<'a> {
    pub fn new(store: &'a mut dyn AlarmStore) -> Alarms<'a> {
        Alarms {
            store,
            clock_ms: None,
        }
    }

    /// With a fixed clock for `updated_ms` of raises and clears (tests).
    pub fn with_clock(store: &'a mut dyn AlarmStore, now_ms: i64) -> Alarms<'a> {
        Alarms {
            store,
            clock_ms: Some(now_ms),
        }
    }

    fn now(&self) -> i64 {
        self.clock_ms.unwrap_or_else(system_now_ms)
    }

    pub fn store(&mut self) -> &mut dyn AlarmStore {
        self.store
    }

    /// Raises an alarm: updates the active alarm of (rule, site, pollutant) or creates one.
    pub fn raise(&mut self, i: AlarmInput) -> Result<RaiseOutcome> {
        self.raise_as(i, false)
    }

    /// [`Alarms::raise`] for an occurrence judged from late or back-filled data (补传): an
    /// alarm it creates is marked `late` (an active alarm it updates keeps its mark).
    pub fn raise_late(&mut self, i: AlarmInput) -> Result<RaiseOutcome> {
        self.raise_as(i, true)
    }

    fn raise_as(&mut self, i: AlarmInput, late: bool) -> Result<RaiseOutcome> {
        if i.rule.trim().is_empty() || i.site.trim().is_empty() {
            return Err(EngineError::Invalid(format!(
                "raise: rule and site must not be empty (rule {:?}, site {:?})",
                i.rule, i.site
            )));
        }
        let now = self.now();
        for _ in 0..MAX_RETRIES {
            let current = self
                .store
                .active_alarm(&i.rule, &i.site, i.pollutant.as_deref())?;
            let (alarm, steps, notes, created, escalated) = match current {
                None => {
                    let a = new_alarm(&i, now, late);
                    let s = step(&a, now, "raised", SYSTEM, None, raised_note(&i, late));
                    (a, vec![s], vec![note("raised")], true, false)
                }
                Some(mut a) => {
                    let (steps, notes, escalated) = absorb(&mut a, &i, now, "");
                    (a, steps, notes, false, escalated)
                }
            };
            if let Some(id) = self.store.save_alarm(&alarm, &steps, &notes)? {
                return Ok(RaiseOutcome {
                    id,
                    created,
                    escalated,
                });
            }
        }
        Err(EngineError::Invalid(format!(
            "raise {} {} {:?}: concurrent updates kept conflicting",
            i.rule, i.site, i.pollutant
        )))
    }

    /// Ends the condition of (rule, site, pollutant) at `at_ms`. Idempotent.
    pub fn clear(
        &mut self,
        rule: &str,
        site: &str,
        pollutant: Option<&str>,
        at_ms: i64,
    ) -> Result<ClearOutcome> {
        let now = self.now();
        for _ in 0..MAX_RETRIES {
            let Some(mut a) = self.store.active_alarm(rule, site, pollutant)? else {
                return Ok(ClearOutcome::NotActive);
            };
            if at_ms < a.last_seen_ms {
                return Ok(ClearOutcome::Stale(a.id));
            }
            let from = a.status;
            a.active = false;
            a.cleared_ms = Some(at_ms);
            a.updated_ms = now;
            // A late alarm was never seen while its condition lasted: it stays in the workbench
            // (new / acknowledged) instead of being auto-cleared.
            if matches!(a.status, AlarmStatus::New | AlarmStatus::Acknowledged) && !a.late {
                a.status = AlarmStatus::Cleared;
            }
            let s = step(
                &a,
                now,
                "cleared",
                SYSTEM,
                Some(from),
                "告警条件已解除".into(),
            );
            if let Some(id) = self.store.save_alarm(&a, &[s], &[note("cleared")])? {
                return Ok(ClearOutcome::Cleared(id));
            }
        }
        Err(EngineError::Invalid(format!(
            "clear {rule} {site} {pollutant:?}: concurrent updates kept conflicting"
        )))
    }

    /// Records an occurrence that lies in the past of what was already judged (an out-of-order
    /// back-fill, 补传): a new alarm that is `late`, not active (newer data decided the
    /// current state) and ended at `end_ms`, status `new` so that someone looks at it. Its
    /// raise is notified like any other.
    pub fn record_past(&mut self, i: AlarmInput, end_ms: i64) -> Result<i64> {
        let now = self.now();
        let a = Alarm {
            active: false,
            cleared_ms: Some(end_ms),
            ..new_alarm(&i, now, true)
        };
        let s = step(&a, now, "raised", SYSTEM, None, raised_note(&i, true));
        self.store
            .save_alarm(&a, &[s], &[note("raised")])?
            .ok_or_else(|| {
                EngineError::Invalid(format!(
                    "record {} {} {:?}: the store refused an inactive alarm",
                    i.rule, i.site, i.pollutant
                ))
            })
    }

    /// Adds a past occurrence to alarm `id` (an inactive one it borders on, or lies within):
    /// count, first/last seen, peak, the end of the condition (`end_ms` when later), severity
    /// only up (step `escalated`, notified).
    pub fn extend_past(&mut self, id: i64, i: AlarmInput, end_ms: i64) -> Result<Alarm> {
        let now = self.now();
        for _ in 0..MAX_RETRIES {
            let mut a = self.get(id)?;
            if !a.active {
                a.cleared_ms = Some(a.cleared_ms.map_or(end_ms, |c| c.max(end_ms)));
            }
            let (steps, notes, _) = absorb(&mut a, &i, now, "补传数据：");
            if self.store.save_alarm(&a, &steps, &notes)?.is_some() {
                return self.get(id);
            }
        }
        Err(EngineError::Invalid(format!(
            "alarm {id}: concurrent updates kept conflicting"
        )))
    }

    /// Reads an alarm or says it does not exist.
    pub fn get(&self, id: i64) -> Result<Alarm> {
        self.store
            .alarm(id)?
            .ok_or_else(|| EngineError::Invalid(format!("alarm {id} does not exist")))
    }

    /// Applies a workflow change to alarm `id` under optimistic concurrency.
    fn transition(&mut self, id: i64, change: &mut Change<'_>) -> Result<Alarm> {
        for _ in 0..MAX_RETRIES {
            let mut a = self.get(id)?;
            let Some((s, n)) = change(&mut a)? else {
                return self.get(id);
            };
            let notes: Vec<NewNotification> = n.into_iter().collect();
            if self.store.save_alarm(&a, &[s], &notes)?.is_some() {
                return self.get(id);
            }
        }
        Err(EngineError::Invalid(format!(
            "alarm {id}: concurrent updates kept conflicting"
        )))
    }

    /// new → acknowledged (确认).
    pub fn acknowledge(&mut self, id: i64, by: &str, now_ms: i64) -> Result<Alarm> {
        need("by", by, "ack")?;
        self.transition(id, &mut |a| {
            if a.status != AlarmStatus::New {
                return Err(invalid(a, "ack", "new"));
            }
            let from = a.status;
            a.status = AlarmStatus::Acknowledged;
            a.updated_ms = now_ms;
            Ok(Some((
                step(a, now_ms, "ack", by, Some(from), String::new()),
                None,
            )))
        })
    }

    /// acknowledged (or dispatched: re-dispatch) → dispatched to a department or town with a
    /// deadline (派发). A new deadline allows a new overdue escalation.
    pub fn dispatch(&mut self, id: i64, d: &Dispatch, by: &str, now_ms: i64) -> Result<Alarm> {
        need("by", by, "dispatch")?;
        need("to", &d.to, "dispatch")?;
        if d.deadline_ms <= now_ms {
            return Err(EngineError::Invalid(format!(
                "dispatch alarm {id}: deadline {} is not after now ({})",
                model::format_beijing(d.deadline_ms.div_euclid(1000)),
                model::format_beijing(now_ms.div_euclid(1000))
            )));
        }
        self.transition(id, &mut |a| {
            if !matches!(
                a.status,
                AlarmStatus::Acknowledged | AlarmStatus::Dispatched
            ) {
                return Err(invalid(a, "dispatch", "acknowledged or dispatched"));
            }
            let from = a.status;
            a.status = AlarmStatus::Dispatched;
            a.assignee = Some(d.to.clone());
            a.deadline_ms = Some(d.deadline_ms);
            a.updated_ms = now_ms;
            let n = format!(
                "派发至 {}，期限 {}",
                d.to,
                model::format_beijing(d.deadline_ms.div_euclid(1000))
            );
            Ok(Some((
                step(a, now_ms, "dispatch", by, Some(from), n),
                Some(note("dispatched")),
            )))
        })
    }

    /// dispatched → handled (处置反馈): verification result, cause, measures, attachments.
    pub fn handle(&mut self, id: i64, h: &Handling, now_ms: i64) -> Result<Alarm> {
        need("result", &h.result, "handle")?;
        need("cause", &h.cause, "handle")?;
        need("measures", &h.measures, "handle")?;
        need("by", &h.by, "handle")?;
        self.transition(id, &mut |a| {
            if a.status != AlarmStatus::Dispatched {
                return Err(invalid(a, "handle", "dispatched"));
            }
            let from = a.status;
            a.status = AlarmStatus::Handled;
            let mut h = h.clone();
            h.at_ms = now_ms;
            a.handling = Some(h.clone());
            a.updated_ms = now_ms;
            let n = serde_json::to_string(&h).unwrap_or_default();
            Ok(Some((
                step(a, now_ms, "handle", &h.by, Some(from), n),
                None,
            )))
        })
    }

    /// handled → closed (办结).
    pub fn close(&mut self, id: i64, by: &str, now_ms: i64) -> Result<Alarm> {
        need("by", by, "close")?;
        self.transition(id, &mut |a| {
            if a.status != AlarmStatus::Handled {
                return Err(invalid(a, "close", "handled"));
            }
            let from = a.status;
            a.status = AlarmStatus::Closed;
            // `active` is the condition, not the follow-up: a condition still going on keeps
            // counting into the closed alarm (no fresh alarm every hour after someone closed
            // it); the first clear ends it, and a later occurrence opens a new alarm.
            a.updated_ms = now_ms;
            Ok(Some((
                step(a, now_ms, "close", by, Some(from), String::new()),
                None,
            )))
        })
    }

    /// handled, closed or cleared → dispatched again (if it had been dispatched; the deadline
    /// is `deadline_ms` if given, else unchanged) or acknowledged (重新打开). Needs a reason.
    pub fn reopen(
        &mut self,
        id: i64,
        reason: &str,
        deadline_ms: Option<i64>,
        by: &str,
        now_ms: i64,
    ) -> Result<Alarm> {
        need("reason", reason, "reopen")?;
        need("by", by, "reopen")?;
        if let Some(d) = deadline_ms.filter(|d| *d <= now_ms) {
            return Err(EngineError::Invalid(format!(
                "reopen alarm {id}: deadline {} is not after now",
                model::format_beijing(d.div_euclid(1000))
            )));
        }
        self.transition(id, &mut |a| {
            if !matches!(
                a.status,
                AlarmStatus::Handled | AlarmStatus::Closed | AlarmStatus::Cleared
            ) {
                return Err(invalid(a, "reopen", "handled, closed or cleared"));
            }
            let from = a.status;
            a.status = if a.assignee.is_some() {
                AlarmStatus::Dispatched
            } else {
                AlarmStatus::Acknowledged
            };
            if let Some(d) = deadline_ms {
                a.deadline_ms = Some(d);
            }
            a.updated_ms = now_ms;
            Ok(Some((
                step(a, now_ms, "reopen", by, Some(from), reason.to_string()),
                Some(note("reopened")),
            )))
        })
    }

    /// Escalates every dispatched alarm whose deadline passed before `now_ms`: severity +1,
    /// `overdue`, once per deadline. Returns the escalated ids.
    pub fn escalate_overdue(&mut self, now_ms: i64) -> Result<Vec<i64>> {
        let mut out = Vec::new();
        for cand in self.store.overdue_alarms(now_ms)? {
            let mut done = false;
            self.transition(cand.id, &mut |a| {
                // Re-checked on the fresh row: another worker may have escalated it already.
                let due = a.status == AlarmStatus::Dispatched
                    && a.deadline_ms.is_some_and(|d| d < now_ms)
                    && a.escalated_deadline_ms != a.deadline_ms;
                if !due {
                    return Ok(None);
                }
                done = true;
                let from_sev = a.severity;
                a.severity = a.severity.up();
                a.overdue = true;
                a.escalated_deadline_ms = a.deadline_ms;
                a.updated_ms = now_ms;
                let n = format!(
                    "超期未处置（期限 {}），级别 {} → {}",
                    a.deadline_ms
                        .map(|d| model::format_beijing(d.div_euclid(1000)))
                        .unwrap_or_default(),
                    from_sev.cn(),
                    a.severity.cn()
                );
                Ok(Some((
                    step(a, now_ms, "overdue", SYSTEM, Some(a.status), n),
                    Some(note("overdue")),
                )))
            })?;
            if done {
                out.push(cand.id);
            }
        }
        Ok(out)
    }
}

impl AlarmSink for Alarms<'_> {
    fn raise(&mut self, input: AlarmInput) -> Result<()> {
        Alarms::raise(self, input).map(|_| ())
    }
    fn clear(&mut self, rule: &str, site: &str, pollutant: Option<&str>, at_ms: i64) -> Result<()> {
        Alarms::clear(self, rule, site, pollutant, at_ms).map(|_| ())
    }
}
