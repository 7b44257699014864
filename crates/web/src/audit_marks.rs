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
use crate::table::{respond, Paging};
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

pub async fn mark(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Extension(peer): Extension<Peer>,
    Json(body): Json<Value>,
) -> Res {
    let site = text_field(&body, "site")?;
    let code = text_field(&body, "code")?;
    let field = text_field(&body, "field")?;
    let period = text_field(&body, "period")?;
    let time = text_field(&body, "time")?;
    let reason = body
        .get("reason")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("");
    if reason.is_empty() {
        return Err(bad("reason: 审核标记必须填写原因 (a reason is required)"));
    }
    let state = match body.get("valid") {
        Some(Value::Bool(true)) => MarkState::Valid,
        Some(Value::Bool(false)) => MarkState::Invalid,
        _ => return Err(bad("valid: required, true (有效) or false (无效)")),
    };
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
    let key = ValueKey {
        site: site.to_string(),
        code: code.to_string(),
        field: field.to_string(),
        period,
        time: t,
    };
    let entry = {
        let mut d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
        let entry = d
            .mark_value(&key, state, reason, &p.name, now_ms())
            .map_err(|e| match e {
                store::StoreError::Invalid(m) | store::StoreError::NotFound(m) => bad(m),
                other => ApiError::from(other),
            })?;
        // The mark bumped the value's arrival: bring the derived tables up to date now, so
        // reports and rates follow the mark at once (as `qingshan audit mark` does).
        let st: &mut dyn store::Backend = &mut **d;
        s.air.catch_up(st).map_err(internal)?;
        s.water.catch_up(st).map_err(internal)?;
        s.noise.catch_up(st).map_err(internal)?;
        s.sources.catch_up(st).map_err(internal)?;
        engine::QualityEngine::default()
            .catch_up(st)
            .map_err(internal)?;
        entry
    };
    let object = format!(
        "value:{}/{}/{}/{}/{}",
        key.site,
        key.code,
        key.field,
        key.period.as_str(),
        model::format_beijing(key.time)
    );
    let after = entry_json(&entry);
    audit(
        &s,
        &p.name,
        "audit.mark",
        &object,
        Some(json!({"mark": entry.before})),
        Some(after.clone()),
        &peer,
    )?;
    s.reports.invalidate("");
    Ok((StatusCode::CREATED, Json(after)).into_response())
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
