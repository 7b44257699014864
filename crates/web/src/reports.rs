//! `GET /api/v1/reports/{water|noise|sources|quality}?year=&month=` — the reports of
//! `qingshan report …` over HTTP, the same JSON (docs/engine-*.md). Read from the derived
//! tables that `serve`'s engines keep current; cached per period until the engine's watermark
//! moves (at most `REPORT_TTL`). Bureau roles see the whole report. Town officials and
//! enterprise operators get a scoped copy (`scoped`): `sources` filtered to the outlets (and,
//! for towns, restaurants) they may see by `Principal::sees_site`, `water` (towns only) to their
//! town's sections and sources without the county-wide figures; `noise` and `quality` stay
//! bureau-only (403).

use axum::extract::{Extension, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use standards::Date;

use crate::api::bad;
use crate::auth::{Principal, Role};
use crate::{ApiError, AppState};

type Res = Result<Response, ApiError>;

#[derive(Deserialize)]
pub struct PeriodQuery {
    year: Option<i32>,
    month: Option<u8>,
    /// `json` (default) or `xlsx` (a sheet of the scalar fields, one per list of rows).
    format: Option<String>,
}

impl PeriodQuery {
    /// The month asked for (`None`: the whole year).
    pub(crate) fn month(&self) -> Option<u8> {
        self.month
    }
}

/// `?format=` of a report: false = JSON, true = XLSX.
pub(crate) fn wants_xlsx(format: Option<&str>) -> Result<bool, ApiError> {
    match format {
        None | Some("json") => Ok(false),
        Some("xlsx") => Ok(true),
        Some(f) => Err(bad(format!("format={f}: expected json or xlsx"))),
    }
}

/// The cached JSON of a report as the answer the query asked for.
pub(crate) fn answer(body: bytes::Bytes, xlsx: bool, name: &str, title: &str) -> Res {
    if !xlsx {
        return Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response());
    }
    let v: serde_json::Value = serde_json::from_slice(&body).map_err(internal)?;
    Ok(crate::xlsx::response(name, crate::xlsx::report(title, &v)?))
}

/// The Beijing calendar period of a query (the year's months, or one month).
pub(crate) fn period(q: &PeriodQuery) -> Result<(Date, Date), ApiError> {
    let year = q
        .year
        .unwrap_or_else(|| crate::api::today()[..4].parse().unwrap_or(2026));
    standards::date::year_or_month(year, q.month).map_err(|e| match q.month {
        Some(m) if !(1..=12).contains(&m) => bad(format!("month={m}: expected 1..=12")),
        _ => bad(format!("year={year}: {e}")),
    })
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

fn json<T: serde::Serialize>(v: &T) -> Result<bytes::Bytes, ApiError> {
    serde_json::to_vec(v)
        .map(bytes::Bytes::from)
        .map_err(internal)
}

pub async fn report(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(kind): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> Res {
    let (from, to) = period(&q)?;
    let xlsx = wants_xlsx(q.format.as_deref())?;
    let scoped_ok = match p.role {
        Role::Town => matches!(kind.as_str(), "sources" | "water"),
        Role::Enterprise => kind == "sources",
        _ => true,
    };
    if !scoped_ok && matches!(kind.as_str(), "water" | "noise" | "sources" | "quality") {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            format!("the {kind} report is for the bureau roles"),
        ));
    }
    let watermark = match kind.as_str() {
        "water" => engine::water::WATERMARK,
        "noise" => engine::noise::WATERMARK,
        "sources" => engine::sources::WATERMARK,
        "quality" => engine::quality::WATERMARK,
        other => {
            return Err(ApiError(
                StatusCode::NOT_FOUND,
                format!("no report {other:?}: water, noise, sources or quality"),
            ))
        }
    };
    let body = {
        let (s, kind) = (s.clone(), kind.clone());
        let by_month = q.month.is_none();
        crate::blocking(move || cached_report(&s, &kind, watermark, from, to, by_month)).await?
    };
    let body = if p.role.scoped() {
        let mut v: Value = serde_json::from_slice(&body).map_err(internal)?;
        scoped(&mut v, &kind, &p, &s.owners);
        json(&v)?
    } else {
        body
    };
    let title = match kind.as_str() {
        "water" => "水环境质量报告",
        "noise" => "声环境质量报告",
        "sources" => "污染源排放报告",
        _ => "数据质量报告",
    };
    let name = match q.month {
        Some(m) => format!("report-{kind}-{}-{m:02}", from.year()),
        None => format!("report-{kind}-{}", from.year()),
    };
    answer(body, xlsx, &name, title)
}

/// The bureau JSON of report `kind` over `[from, to]`, cached until `watermark` moves (at
/// most `REPORT_TTL`). Blocks while it computes: call it on the blocking pool.
pub(crate) fn cached_report(
    s: &AppState,
    kind: &str,
    watermark: &str,
    from: Date,
    to: Date,
    by_month: bool,
) -> Result<bytes::Bytes, ApiError> {
    let stamp = {
        let d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
        d.watermark(watermark)?.unwrap_or(0)
    };
    let key = format!("report:{kind}:{from}:{to}");
    s.reports.get_or(&key, stamp, crate::REPORT_TTL, || {
        let d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
        let now = crate::auth::now_ms().div_euclid(1000);
        match kind {
            "water" => {
                json(&engine::WaterReport::build(&**d, &s.water, from, to).map_err(internal)?)
            }
            "noise" => {
                json(&engine::NoiseReport::build(&**d, &s.noise, from, to).map_err(internal)?)
            }
            "sources" => json(
                &engine::sources_report::SourcesReport::build(&**d, &s.sources, from, to, now)
                    .map_err(internal)?,
            ),
            _ => json(
                &engine::QualityReport::build(
                    &**d,
                    from,
                    to,
                    now,
                    by_month,
                    &s.sources.fume().schedules(),
                )
                .map_err(internal)?,
            ),
        }
    })
}

/// Cut a report's JSON down to what a town official or enterprise operator may see.
/// `sources`: the outlets they see (enterprises left without one dropped); towns get their
/// town's restaurants with the fleet figures recomputed over them, enterprises no fume fleet
/// (`fume: null`). `water` (towns): their sections and drinking-water sources, the rivers that
/// have a section in the town (`rivers`, each judged over all its sections); the county-wide
/// figures (`river_status`, `share_iii_or_better`, urban/township compliance) become null.
pub(crate) fn scoped(
    v: &mut Value,
    kind: &str,
    p: &Principal,
    owners: &std::collections::HashMap<String, crate::auth::SiteOwner>,
) {
    let sees = |x: &Value| p.sees_site(owners, x["site"].as_str().unwrap_or_default());
    match kind {
        "sources" => {
            if let Some(ents) = v["enterprises"].as_array_mut() {
                for e in ents.iter_mut() {
                    if let Some(o) = e["outlets"].as_array_mut() {
                        o.retain(sees);
                    }
                }
                ents.retain(|e| e["outlets"].as_array().is_some_and(|o| !o.is_empty()));
            }
            if p.role != Role::Town {
                v["fume"] = Value::Null;
            } else if let Some(f) = v.get_mut("fume").and_then(Value::as_object_mut) {
                let mut list = f
                    .get("restaurants")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                list.retain(sees);
                let count = |k: &str| list.iter().filter(|r| truthy(&r[k])).count();
                let sum_i = |k: &str| list.iter().filter_map(|r| r[k].as_i64()).sum::<i64>();
                let sum_f = |k: &str| list.iter().filter_map(|r| r[k].as_f64()).sum::<f64>();
                // The restaurants share the opening hours and (nearly always) the interval:
                // the mean of their rates stands for Σ with_data / Σ expected.
                let rates: Vec<f64> = list
                    .iter()
                    .filter_map(|r| r["online_rate"].as_f64())
                    .collect();
                let online = if rates.is_empty() {
                    Value::Null
                } else {
                    let mean = rates.iter().sum::<f64>() / rates.len() as f64;
                    json!((mean * 10.0).round() / 10.0)
                };
                f.insert("monitored".into(), json!(list.len()));
                f.insert("reporting".into(), json!(count("readings")));
                f.insert("online_rate".into(), online);
                f.insert(
                    "restaurants_with_exceedances".into(),
                    json!(count("readings_over")),
                );
                f.insert("readings_over".into(), json!(sum_i("readings_over")));
                f.insert("hours_over".into(), json!(sum_i("hours_over")));
                f.insert(
                    "unpurified_restaurants".into(),
                    json!(count("unpurified_occurrences")),
                );
                f.insert(
                    "unpurified_occurrences".into(),
                    json!(sum_i("unpurified_occurrences")),
                );
                f.insert(
                    "unpurified_minutes".into(),
                    json!(sum_f("unpurified_minutes")),
                );
                f.insert("cleaning_due".into(), json!(count("cleaning_due")));
                f.insert("restaurants".into(), Value::Array(list));
            }
        }
        "water" => {
            if let Some(x) = v["sections"].as_array_mut() {
                x.retain(sees);
            }
            if let Some(x) = v["drinking_water"]["sources"].as_array_mut() {
                x.retain(sees);
            }
            // The rivers flowing through the town, each with its status over all its sections
            // (the sections' classes are public on the disclosure page too).
            if let Some(x) = v["rivers"].as_array_mut() {
                x.retain(|r| {
                    r["sections"].as_array().is_some_and(|a| {
                        a.iter()
                            .any(|c| p.sees_site(owners, c.as_str().unwrap_or_default()))
                    })
                });
            }
            for k in ["river_status", "share_iii_or_better"] {
                v[k] = Value::Null;
            }
            if let Some(dw) = v["drinking_water"].as_object_mut() {
                dw.insert("urban".into(), Value::Null);
                dw.insert("township".into(), Value::Null);
            }
        }
        _ => {}
    }
}

/// A count of "some": a positive number or `true`.
fn truthy(v: &Value) -> bool {
    v.as_bool().unwrap_or(false) || v.as_f64().is_some_and(|n| n > 0.0)
}
