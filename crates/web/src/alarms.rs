//! 告警 alarm workbench: `/api/v1/alarms…` over `engine::alarms::Alarms` and
//! `store::alarms::AlarmStore` (docs/engine-alarms.md).
//!
//! Scope: bureau roles see every alarm; a town official sees the alarms of their town's sites
//! and those dispatched to their town; an enterprise operator sees the alarms of their own
//! outlets (read-only). An alarm outside the scope answers 404, for reads and actions alike.
//! Every step is also appended to the audit log (`alarm.ack`, `alarm.dispatch`, …) with the
//! alarm before and after.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use engine::alarms::Dispatch;
use engine::{Alarms, EngineError};
use serde::Deserialize;
use serde_json::{json, Value};
use store::alarms::{Alarm, AlarmFilter, AlarmStatus, Handling};

use crate::api::{audit, bad, not_found};
use crate::auth::{now_ms, Peer, Principal, Role};
use crate::table::{respond_all, Paging};
use crate::{ApiError, AppState};

type Res = Result<Response, ApiError>;

/// Bureau departments an alarm can be dispatched to (besides the towns of the profile).
pub const DEPARTMENTS: &[&str] = &["监测站", "执法支队", "规划科", "水生态环境科", "大气环境科"];

/// Whether the principal may see this alarm.
fn sees(s: &AppState, p: &Principal, a: &Alarm) -> bool {
    match p.role {
        Role::Town => {
            p.sees_site(&s.owners, &a.site)
                || (a.assignee.is_some() && a.assignee.as_deref() == p.scope.as_deref())
        }
        Role::Enterprise => p.sees_site(&s.owners, &a.site),
        _ => true,
    }
}

fn site_name(s: &AppState, code: &str) -> Option<String> {
    if code == store::COUNTY_SITE {
        return Some(format!("{}(全县)", s.profile.county.name));
    }
    s.fleet
        .iter()
        .find(|x| x.code == code)
        .map(|x| x.name.clone())
}

fn assignee_name(s: &AppState, code: &str) -> String {
    s.profile
        .town(code)
        .map(|t| t.name.clone())
        .unwrap_or_else(|| code.to_string())
}

fn alarm_json(s: &AppState, a: &Alarm) -> Value {
    let mut v = a.to_json();
    v["site_name"] = json!(site_name(s, &a.site));
    v["assignee_name"] = json!(a.assignee.as_deref().map(|x| assignee_name(s, x)));
    v
}

const ALARM_COLS: &[&str] = &[
    "id",
    "rule",
    "site",
    "site_name",
    "pollutant",
    "severity",
    "severity_cn",
    "status",
    "status_cn",
    "active",
    "first_seen",
    "last_seen",
    "count",
    "value",
    "peak",
    "limit",
    "assignee",
    "assignee_name",
    "deadline",
    "overdue",
    "title",
];

#[derive(Deserialize, Default)]
pub struct AlarmQuery {
    /// `open` (default: not closed, not auto-cleared), `all`, or one status.
    status: Option<String>,
    site: Option<String>,
    rule: Option<String>,
    /// Department name or town code the alarm was dispatched to.
    assignee: Option<String>,
}

fn severity_rank(a: &Alarm) -> i32 {
    match a.severity.as_str() {
        "critical" => 0,
        "major" => 1,
        "warning" => 2,
        _ => 3,
    }
}

/// `GET /api/v1/alarms`: by deadline (soonest first, none last), then severity, then newest.
pub async fn list(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<AlarmQuery>,
    Query(paging): Query<Paging>,
) -> Res {
    let statuses = match q.status.as_deref().unwrap_or("open") {
        "open" => vec![
            AlarmStatus::New,
            AlarmStatus::Acknowledged,
            AlarmStatus::Dispatched,
            AlarmStatus::Handled,
        ],
        "all" => vec![],
        x => vec![x.parse::<AlarmStatus>().map_err(|_| {
            bad(format!(
                "status={x}: expected open, all, new, acknowledged, dispatched, handled, closed or cleared"
            ))
        })?],
    };
    let filter = AlarmFilter {
        statuses,
        site: q.site.clone(),
        rule: q.rule.clone(),
        limit: 0,
    };
    let mut all: Vec<Alarm> = {
        let d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
        d.alarms(&filter)?
    };
    all.retain(|a| sees(&s, &p, a));
    if let Some(x) = &q.assignee {
        all.retain(|a| a.assignee.as_deref() == Some(x));
    }
    all.sort_by_key(|a| {
        (
            a.deadline_ms.filter(|_| a.status.is_open()).is_none(),
            a.deadline_ms.unwrap_or(0),
            severity_rank(a),
            -a.last_seen_ms,
            -a.id,
        )
    });
    let rows = all.iter().map(|a| alarm_json(&s, a)).collect();
    respond_all(&paging, "alarms", ALARM_COLS, rows)
}

/// Open alarms in the principal's scope: `{open, new, overdue, by_severity}` (overview).
pub fn counts(s: &AppState, p: &Principal) -> Result<Value, ApiError> {
    let filter = AlarmFilter {
        statuses: vec![
            AlarmStatus::New,
            AlarmStatus::Acknowledged,
            AlarmStatus::Dispatched,
            AlarmStatus::Handled,
        ],
        ..Default::default()
    };
    let all: Vec<Alarm> = {
        let d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
        d.alarms(&filter)?
    };
    let now = now_ms();
    let mut by = serde_json::Map::new();
    let (mut open, mut new, mut overdue) = (0, 0, 0);
    for a in all.iter().filter(|a| sees(s, p, a)) {
        open += 1;
        new += (a.status == AlarmStatus::New) as usize;
        overdue += (a.overdue
            || (a.status == AlarmStatus::Dispatched && a.deadline_ms.is_some_and(|d| d < now)))
            as usize;
        let e = by.entry(a.severity.as_str()).or_insert(json!(0));
        *e = json!(e.as_u64().unwrap_or(0) + 1);
    }
    Ok(json!({"open": open, "new": new, "overdue": overdue, "by_severity": by}))
}

fn load(s: &AppState, p: &Principal, id: &str) -> Result<Alarm, ApiError> {
    let n: i64 = id.parse().map_err(|_| not_found(&format!("alarm {id}")))?;
    let a = {
        let d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
        d.alarm(n)?
    };
    match a {
        Some(a) if sees(s, p, &a) => Ok(a),
        _ => Err(not_found(&format!("alarm {id}"))),
    }
}

fn detail(s: &AppState, a: &Alarm) -> Result<Value, ApiError> {
    let steps = {
        let d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
        d.alarm_steps(a.id)?
    };
    let mut v = alarm_json(s, a);
    v["steps"] = steps
        .iter()
        .map(|st| {
            json!({"at": model::format_beijing(st.at_ms.div_euclid(1000)), "action": st.action,
                   "by": st.by, "from": st.from_status, "to": st.to_status, "note": st.note,
                   "note_text": note_text(s, st)})
        })
        .collect();
    Ok(v)
}

/// A step's note as the workbench shows it: a handling record (stored as JSON) as
/// 核查结果/原因/整改措施/附件, town codes as the towns' names, times as `2026-12-04 11:00`.
fn note_text(s: &AppState, st: &store::alarms::AlarmStep) -> String {
    if st.action == "handle" {
        if let Ok(h) = serde_json::from_str::<Handling>(&st.note) {
            let mut t = format!(
                "核查结果:{};原因:{};整改措施:{}",
                h.result, h.cause, h.measures
            );
            if !h.attachments.is_empty() {
                t.push_str(&format!(";附件:{}", h.attachments.join("、")));
            }
            return t;
        }
    }
    let mut t = crate::messages::human_times(&st.note);
    for town in s.profile.towns() {
        if t.contains(&town.code) {
            t = t.replace(&town.code, &town.name);
        }
    }
    t
}

/// `GET /api/v1/alarms/{id}`: the alarm, its steps, and whom it can be dispatched to.
pub async fn show(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Res {
    let a = load(&s, &p, &id)?;
    let mut v = detail(&s, &a)?;
    let mut to: Vec<Value> = DEPARTMENTS
        .iter()
        .map(|d| json!({"code": d, "name": d}))
        .collect();
    to.extend(
        s.profile
            .towns()
            .iter()
            .map(|t| json!({"code": t.code, "name": t.name})),
    );
    v["assignees"] = json!(to);
    Ok(Json(v).into_response())
}

fn engine_error(e: EngineError) -> ApiError {
    match e {
        EngineError::Invalid(m) if m.contains("cannot ") => ApiError(StatusCode::CONFLICT, m),
        EngineError::Invalid(m) => ApiError(StatusCode::BAD_REQUEST, m),
        EngineError::Store(e) => e.into(),
    }
}

fn parse_time(name: &str, v: &str) -> Result<i64, ApiError> {
    model::parse_user_time(v).map(|t| t * 1000).ok_or_else(|| {
        bad(format!(
            "{name}={v}: expected RFC 3339 or YYYY-MM-DD[THH:MM[:SS]] (Beijing)"
        ))
    })
}

/// Runs one workflow step on an alarm in scope and audits it.
fn step(
    s: &AppState,
    p: &Principal,
    peer: &Peer,
    id: &str,
    action: &str,
    run: impl FnOnce(&mut Alarms<'_>, i64, i64) -> engine::Result<Alarm>,
) -> Res {
    let before = load(s, p, id)?;
    let after = {
        let mut d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
        let mut alarms = Alarms::new(&mut **d);
        run(&mut alarms, before.id, now_ms()).map_err(engine_error)?
    };
    audit(
        s,
        &p.name,
        &format!("alarm.{action}"),
        &format!("alarm:{}", before.id),
        Some(before.to_json()),
        Some(after.to_json()),
        peer,
    )?;
    Ok(Json(detail(s, &after)?).into_response())
}

pub async fn ack(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Extension(peer): Extension<Peer>,
    Path(id): Path<String>,
) -> Res {
    step(&s, &p, &peer, &id, "ack", |a, id, now| {
        a.acknowledge(id, &p.name, now)
    })
}

#[derive(Deserialize)]
pub struct DispatchRequest {
    /// Department name or town code.
    to: String,
    /// Beijing `YYYY-MM-DD[THH:MM[:SS]]` or RFC 3339.
    deadline: String,
}

pub async fn dispatch(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Extension(peer): Extension<Peer>,
    Path(id): Path<String>,
    Json(req): Json<DispatchRequest>,
) -> Res {
    let deadline_ms = parse_time("deadline", &req.deadline)?;
    if !DEPARTMENTS.contains(&req.to.as_str()) && s.profile.town(&req.to).is_none() {
        return Err(bad(format!(
            "to={}: expected a department ({}) or a town code of the profile",
            req.to,
            DEPARTMENTS.join("、")
        )));
    }
    let d = Dispatch {
        to: req.to.clone(),
        deadline_ms,
    };
    step(&s, &p, &peer, &id, "dispatch", |a, id, now| {
        a.dispatch(id, &d, &p.name, now)
    })
}

#[derive(Deserialize)]
pub struct HandleRequest {
    result: String,
    cause: String,
    measures: String,
    #[serde(default)]
    attachments: Vec<String>,
}

pub async fn handle(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Extension(peer): Extension<Peer>,
    Path(id): Path<String>,
    Json(req): Json<HandleRequest>,
) -> Res {
    let h = Handling {
        result: req.result,
        cause: req.cause,
        measures: req.measures,
        attachments: req.attachments,
        by: p.name.clone(),
        at_ms: 0,
    };
    step(&s, &p, &peer, &id, "handle", |a, id, now| {
        a.handle(id, &h, now)
    })
}

pub async fn close(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Extension(peer): Extension<Peer>,
    Path(id): Path<String>,
) -> Res {
    step(&s, &p, &peer, &id, "close", |a, id, now| {
        a.close(id, &p.name, now)
    })
}

#[derive(Deserialize)]
pub struct ReopenRequest {
    reason: String,
    deadline: Option<String>,
}

pub async fn reopen(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Extension(peer): Extension<Peer>,
    Path(id): Path<String>,
    Json(req): Json<ReopenRequest>,
) -> Res {
    let deadline = req
        .deadline
        .as_deref()
        .filter(|x| !x.is_empty())
        .map(|x| parse_time("deadline", x))
        .transpose()?;
    step(&s, &p, &peer, &id, "reopen", |a, id, now| {
        a.reopen(id, &req.reason, deadline, &p.name, now)
    })
}
