//! 数据审核: operator audit marks over HTTP (docs/engine-quality.md §1).
//!
//! - `POST /api/v1/audit-marks` `{site, code, field, period, time, valid, reason}` marks one
//!   stored value valid or invalid (admin, monitoring). The stored value never changes; the
//!   audited view every report reads follows the mark. Each mark goes to the quality trail
//!   (`quality_audit`, `by` = the web user) and to the accounts audit log (`audit.mark`).
//!   The derived tables are caught up at once, as `qingshan audit mark` does.
//! - `GET /api/v1/audit-marks` the trail, newest first (paginated, csv), filters `site`,
//!   `from`, `to` (when the action was taken).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use store::quality::{AuditEntry, MarkState, ValueKey};

use crate::api::{audit, bad, not_found};
use crate::auth::{now_ms, Peer, Principal};
use crate::table::{respond, respond_all, Paging};
use crate::{ApiError, AppState};

type Res = Result<Response, ApiError>;

/// One trail entry as JSON (times Beijing RFC 3339), the shape of `qingshan audit trail`.
pub(crate) fn entry_json(e: &AuditEntry) -> Value {
    json!({
        "id": e.id, "at": model::format_beijing(e.at_ms.div_euclid(1000)), "by": e.by,
        "action": e.action, "before": e.before, "after": e.after, "reason": e.reason,
        "site": e.site, "code": e.code, "field": e.field, "period": e.period.as_str(),
        "time": model::format_beijing(e.time),
    })
}

fn text_field<'a>(body: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Err(bad(format!("{name}: required"))),
        Some(Value::String(s)) if s.trim().is_empty() => Err(bad(format!("{name}: required"))),
        Some(Value::String(s)) => Ok(s.trim()),
        Some(_) => Err(bad(format!("{name}: expected a string"))),
    }
}

/// The value a request names: `site, code, field, period, time` (400 naming a missing or bad
/// field, 404 for a site the profile does not know).
fn value_key(s: &AppState, body: &Value) -> Result<ValueKey, ApiError> {
    let site = text_field(body, "site")?;
    let code = text_field(body, "code")?;
    let field = text_field(body, "field")?;
    let period = text_field(body, "period")?;
    let time = text_field(body, "time")?;
    let period: model::Period = period
        .parse()
        .map_err(|_| bad(format!("period={period}: expected rtd, min, hour or day")))?;
    let t = model::parse_user_time(time)
        .or_else(|| model::parse_hj212_time(time))
        .ok_or_else(|| {
            bad(format!(
                "time={time}: expected RFC 3339 or YYYY-MM-DD[THH:MM[:SS]] (Beijing)"
            ))
        })?;
    if !s.owners.contains_key(site) {
        return Err(not_found(&format!("site {site}")));
    }
    Ok(ValueKey {
        site: site.to_string(),
        code: code.to_string(),
        field: field.to_string(),
        period,
        time: t,
    })
}

/// The mandatory reason of a mark or unmark.
fn reason_of(body: &Value, what: &str) -> Result<String, ApiError> {
    let reason = body
        .get("reason")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("");
    if reason.is_empty() {
        return Err(bad(format!(
            "reason: {what}必须填写原因 (a reason is required)"
        )));
    }
    Ok(reason.to_string())
}

fn store_err(e: store::StoreError) -> ApiError {
    match e {
        store::StoreError::Invalid(m) | store::StoreError::NotFound(m) => bad(m),
        other => ApiError::from(other),
    }
}

/// A mark or unmark bumped the value's arrival: bring the derived tables up to date now, so
/// reports and rates follow it at once (as `qingshan audit mark` does).
fn catch_up(s: &AppState, d: &mut dyn store::Backend) -> Result<(), ApiError> {
    s.air.catch_up(d).map_err(internal)?;
    s.water.catch_up(d).map_err(internal)?;
    s.noise.catch_up(d).map_err(internal)?;
    s.sources.catch_up(d).map_err(internal)?;
    engine::QualityEngine::default()
        .catch_up(d)
        .map_err(internal)?;
    Ok(())
}

fn object_of(key: &ValueKey) -> String {
    format!(
        "value:{}/{}/{}/{}/{}",
        key.site,
        key.code,
        key.field,
        key.period.as_str(),
        model::format_beijing(key.time)
    )
}

pub async fn mark(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Extension(peer): Extension<Peer>,
    Json(body): Json<Value>,
) -> Res {
    let key = value_key(&s, &body)?;
    let reason = reason_of(&body, "审核标记")?;
    let state = match body.get("valid") {
        Some(Value::Bool(true)) => MarkState::Valid,
        Some(Value::Bool(false)) => MarkState::Invalid,
        _ => return Err(bad("valid: required, true (有效) or false (无效)")),
    };
    apply(&s, &p, &peer, key, "audit.mark", move |d, key, by| {
        d.mark_value(key, state, &reason, by, now_ms())
    })
    .await
}

/// `POST /api/v1/audit-marks/unmark` `{site, code, field, period, time, reason}`: removes the
/// current mark of a value (it counts as the device sent it again), with a reason; to the
/// trail (`action` = `unmark`) and the accounts audit log (`audit.unmark`). 400 when the value
/// carries no mark.
pub async fn unmark(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Extension(peer): Extension<Peer>,
    Json(body): Json<Value>,
) -> Res {
    let key = value_key(&s, &body)?;
    let reason = reason_of(&body, "撤销审核标记")?;
    apply(&s, &p, &peer, key, "audit.unmark", move |d, key, by| {
        d.unmark_value(key, &reason, by, now_ms())
    })
    .await
}

/// Marks or unmarks one value (`change`) on the domain store, brings the quality findings up
/// to date, records the change in the accounts audit log as `action`, and drops the cached
/// reports and overview that read the audited view. 201 with the trail entry.
async fn apply(
    s: &AppState,
    p: &Principal,
    peer: &Peer,
    key: ValueKey,
    action: &str,
    change: impl FnOnce(&mut dyn store::Backend, &ValueKey, &str) -> store::Result<AuditEntry>
        + Send
        + 'static,
) -> Res {
    let entry = {
        let (s, key, by) = (s.clone(), key.clone(), p.name.clone());
        crate::blocking(move || {
            let mut d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
            let entry = change(&mut **d, &key, &by).map_err(store_err)?;
            catch_up(&s, &mut **d)?;
            Ok(entry)
        })
        .await?
    };
    let after = entry_json(&entry);
    audit(
        s,
        &p.name,
        action,
        &object_of(&key),
        Some(json!({"mark": entry.before})),
        Some(after.clone()),
        peer,
    )?;
    s.reports.invalidate("");
    s.overview_cache.clear();
    Ok((StatusCode::CREATED, Json(after)).into_response())
}

/// Chinese name of a quality finding kind (docs/engine-quality.md §2).
pub(crate) fn finding_kind_cn(kind: &str) -> &'static str {
    match kind {
        "zero" => "零值",
        "constant" => "恒值(连续不变)",
        "out_of_range" => "超出仪器量程",
        "negative" => "负值",
        "jump" => "突变",
        "flag" => "非正常数据标记",
        "missing" => "数据缺失",
        "offline" => "设备离线",
        "clock_drift" => "设备时钟偏差",
        _ => "其他",
    }
}

#[derive(Deserialize, Default)]
pub struct FindingQuery {
    site: Option<String>,
    code: Option<String>,
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

const FINDING_COLS: &[&str] = &[
    "kind",
    "kind_cn",
    "invalidating",
    "site",
    "code",
    "mn",
    "period",
    "from",
    "to",
    "count",
    "detail",
];

/// `GET /api/v1/quality-findings`: the quality engine's findings (`quality_findings`) that
/// overlap `[from, to)` (Beijing; default the last 24 h), of one site, code and kind if given,
/// oldest first (paginated, csv, xlsx). `period` is the data type the finding concerns
/// (`hour`, `min`, `rtd`; `device` for offline); `invalidating` says whether it makes the
/// values it covers invalid for the validity rate.
pub async fn findings(
    State(s): State<AppState>,
    Query(q): Query<FindingQuery>,
    Query(paging): Query<Paging>,
) -> Res {
    let t = |x: &Option<String>, name: &str| -> Result<Option<i64>, ApiError> {
        x.as_deref()
            .map(|v| {
                model::parse_user_time(v).ok_or_else(|| {
                    bad(format!(
                        "{name}={v}: expected RFC 3339 or YYYY-MM-DD[THH:MM[:SS]] (Beijing)"
                    ))
                })
            })
            .transpose()
    };
    let now = now_ms() / 1000;
    let from = t(&q.from, "from")?.unwrap_or(now - 86_400);
    let to = t(&q.to, "to")?.unwrap_or(now + 3600);
    if let Some(k) = q.kind.as_deref() {
        if !engine::quality::KINDS.contains(&k) {
            return Err(bad(format!(
                "kind={k}: expected one of {}",
                engine::quality::KINDS.join(", ")
            )));
        }
    }
    let list = {
        let (s, site, kind) = (s.clone(), q.site.clone(), q.kind.clone());
        crate::blocking(move || {
            let d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
            let kinds = kind.as_deref().map(|k| [k]);
            Ok(d.findings(site.as_deref(), from, to, kinds.as_ref().map(|k| &k[..]))?)
        })
        .await?
    };
    let all: Vec<Value> = list
        .iter()
        .filter(|f| q.code.as_deref().is_none_or(|c| f.code == c))
        .map(|f| {
            let period = if f.kind == "offline" {
                "device"
            } else if f.detail.contains("period=min") {
                "min"
            } else if f.detail.contains("period=rtd") {
                "rtd"
            } else {
                "hour"
            };
            json!({
                "kind": f.kind, "kind_cn": finding_kind_cn(&f.kind),
                "invalidating": engine::quality::INVALIDATING.contains(&f.kind.as_str()),
                "site": f.site, "code": f.code, "mn": f.mn, "period": period,
                "from": model::format_beijing(f.from), "to": model::format_beijing(f.to),
                "count": f.count, "detail": f.detail,
            })
        })
        .collect();
    respond_all(&paging, "quality-findings", FINDING_COLS, all)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

#[derive(Deserialize, Default)]
pub struct TrailQuery {
    site: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

const TRAIL_COLS: &[&str] = &[
    "id", "at", "by", "action", "before", "after", "reason", "site", "code", "field", "period",
    "time",
];

pub async fn trail(
    State(s): State<AppState>,
    Query(q): Query<TrailQuery>,
    Query(paging): Query<Paging>,
) -> Res {
    let t = |x: &Option<String>, name: &str| -> Result<Option<i64>, ApiError> {
        x.as_deref()
            .map(|v| {
                model::parse_user_time(v).map(|t| t * 1000).ok_or_else(|| {
                    bad(format!(
                        "{name}={v}: expected RFC 3339 or YYYY-MM-DD[THH:MM[:SS]] (Beijing)"
                    ))
                })
            })
            .transpose()
    };
    let (from, to) = (t(&q.from, "from")?, t(&q.to, "to")?);
    let (skip, take) = paging.window()?;
    let mut all = {
        let d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
        d.audit_trail(q.site.as_deref(), from, to)?
    };
    all.reverse(); // newest first
    let total = all.len();
    let items = all.iter().skip(skip).take(take).map(entry_json).collect();
    respond(&paging, "audit-marks", TRAIL_COLS, items, total)
}
