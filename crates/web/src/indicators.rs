//! 规划指标 plan indicators: `/api/v1/indicators…` over `engine::indicators::profile_report`
//! (the same call as `qingshan report indicators`) and `store::indicators::IndicatorStore`.
//!
//! The report is cached per year ([`crate::ReportCache`]) while the air and water watermarks
//! are unchanged (at most [`crate::REPORT_TTL`]); a new entry drops the cached reports.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use store::indicators::{EntryKind, IndicatorEntry};

use crate::api::{audit, bad, not_found, today};
use crate::auth::{now_ms, Peer, Principal};
use crate::{ApiError, AppState};

type Res = Result<Response, ApiError>;

#[derive(Deserialize, Default)]
pub struct YearQuery {
    year: Option<i32>,
}

fn this_year() -> i32 {
    today()[..4].parse().unwrap_or(2026)
}

/// The stamp of the derived data the report reads: both engines' watermarks.
fn stamp(s: &AppState) -> Result<i64, ApiError> {
    let r = s.reader.lock().unwrap_or_else(|e| e.into_inner());
    let a = r.watermark(engine::air::WATERMARK)?.unwrap_or(0);
    let w = r.watermark(engine::water::WATERMARK)?.unwrap_or(0);
    Ok(a ^ w.rotate_left(21))
}

/// The indicators report of `year` as JSON (cached).
pub fn report_json(s: &AppState, year: i32) -> Result<bytes::Bytes, ApiError> {
    if !(2021..=2100).contains(&year) {
        return Err(bad(format!("year={year}: expected 2021..=2100")));
    }
    let st = stamp(s)?;
    // A running year's progress changes with the day: the day is part of the key.
    let day = today();
    let as_of: standards::Date = day.parse().map_err(|e| {
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("today {day}: {e}"),
        )
    })?;
    s.reports
        .get_or(&format!("ind:{year}:{day}"), st, crate::REPORT_TTL, || {
            let rep = {
                let mut d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
                engine::indicators::profile_report(
                    &mut **d, &s.profile, &s.air, &s.water, year, as_of,
                )
                .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            };
            let v = json!({"year": year, "target_year": engine::indicators::TARGET_YEAR,
                           "indicators": rep});
            Ok(bytes::Bytes::from(
                serde_json::to_vec(&v).unwrap_or_default(),
            ))
        })
}

/// `GET /api/v1/indicators?year=`: every indicator with yearly values (origin, source,
/// evidence; a year still running with its progress), target, status, trend and the verdict
/// (docs/engine.md "Plan indicators").
pub async fn report(State(s): State<AppState>, Query(q): Query<YearQuery>) -> Res {
    let year = q.year.unwrap_or_else(this_year);
    let body = crate::blocking(move || report_json(&s, year)).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The overview's summary: each indicator's latest value (with its progress while its year
/// runs) and the verdict on the target year's value, and counts by status and by verdict
/// (`None` for roles that do not read the plan).
pub fn overview_summary(s: &AppState, p: &Principal) -> Result<Option<Value>, ApiError> {
    if p.role == crate::Role::Enterprise {
        return Ok(None);
    }
    let year = this_year();
    let v: Value = serde_json::from_slice(&report_json(s, year)?).unwrap_or_default();
    let mut counts = serde_json::Map::new();
    let mut verdicts = serde_json::Map::new();
    let count = |m: &mut serde_json::Map<String, Value>, k: &str| {
        let e = m.entry(k.to_string()).or_insert(json!(0));
        *e = json!(e.as_u64().unwrap_or(0) + 1);
    };
    let items: Vec<Value> = v["indicators"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|i| {
            let st = i["status"].as_str().unwrap_or("no_data").to_string();
            let vd = i["verdict"].as_str().unwrap_or("no_data").to_string();
            count(&mut counts, &st);
            count(&mut verdicts, &vd);
            let latest = i["years"].as_array().and_then(|y| y.last()).cloned();
            let l = |k: &str| latest.as_ref().map(|l| l[k].clone());
            json!({"code": i["code"], "name": i["name"], "unit": i["unit"], "target": i["target"],
                   "computed_from": i["computed_from"],
                   "latest": l("value"), "latest_year": l("year"),
                   "latest_partial": l("partial").unwrap_or(json!(false)),
                   "latest_progress": l("progress").filter(|p| !p.is_null()),
                   "status": st, "verdict": vd, "verdict_year": i["verdict_year"],
                   "verdict_value": i["verdict_value"]})
        })
        .collect();
    Ok(Some(
        json!({"year": year, "target_year": engine::indicators::TARGET_YEAR, "counts": counts,
               "verdict_counts": verdicts, "items": items}),
    ))
}

fn indicator<'a>(s: &'a AppState, code: &str) -> Result<&'a profile::Indicator, ApiError> {
    s.profile
        .indicator(code)
        .ok_or_else(|| not_found(&format!("indicator {code}")))
}

fn entry_json(e: &IndicatorEntry) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    v["entered_at"] = json!(model::format_beijing(e.entered_ms.div_euclid(1000)));
    v
}

/// `GET /api/v1/indicators/{code}/entries`.
pub async fn entries(State(s): State<AppState>, Path(code): Path<String>) -> Res {
    indicator(&s, &code)?;
    let list = {
        let d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
        d.indicator_entries(Some(&code))?
    };
    Ok(Json(list.iter().map(entry_json).collect::<Vec<_>>()).into_response())
}

#[derive(Deserialize)]
pub struct EntryRequest {
    year: i32,
    value: f64,
    /// Where the figure comes from (required).
    source: String,
    #[serde(default)]
    evidence: String,
    /// The figure is the target a higher level set, not the year's value.
    #[serde(default)]
    target: bool,
}

/// `POST /api/v1/indicators/{code}/entries`: records a figure (audited); the newest entry of
/// a year counts.
pub async fn add_entry(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Extension(peer): Extension<Peer>,
    Path(code): Path<String>,
    Json(req): Json<EntryRequest>,
) -> Res {
    let ind = indicator(&s, &code)?;
    if !(2020..=2100).contains(&req.year) {
        return Err(bad(format!(
            "year={}: expected a year between 2020 and 2100",
            req.year
        )));
    }
    if !req.value.is_finite() {
        return Err(bad("value: expected a number"));
    }
    if req.source.trim().is_empty() {
        return Err(bad("source: where the figure comes from is required"));
    }
    let mut e = IndicatorEntry {
        id: 0,
        code: ind.code.clone(),
        year: req.year,
        kind: if req.target {
            EntryKind::Target
        } else {
            EntryKind::Value
        },
        value: req.value,
        source: req.source.trim().to_string(),
        evidence: req.evidence.trim().to_string(),
        entered_by: p.name.clone(),
        entered_ms: now_ms(),
    };
    let before = {
        let mut d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
        let before = d
            .indicator_entries(Some(&code))?
            .into_iter()
            .rfind(|x| x.year == e.year && x.kind == e.kind);
        e.id = d.add_indicator_entry(&e).map_err(|err| match err {
            store::StoreError::Invalid(m) => bad(m),
            other => other.into(),
        })?;
        before
    };
    s.reports.invalidate("ind:");
    s.overview_cache.clear();
    audit(
        &s,
        &p.name,
        "indicator.entry",
        &format!("indicator:{code}:{}", e.year),
        before.as_ref().map(entry_json),
        Some(entry_json(&e)),
        &peer,
    )?;
    Ok((StatusCode::CREATED, Json(entry_json(&e))).into_response())
}
