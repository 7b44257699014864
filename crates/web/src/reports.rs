//! `GET /api/v1/reports/{water|noise|sources|quality}?year=&month=` — the reports of
//! `qingshan report …` over HTTP, the same JSON (docs/engine-*.md). Read from the derived
//! tables that `serve`'s engines keep current; cached per period until the engine's watermark
//! moves (at most `REPORT_TTL`). Bureau roles only: the reports span every town and
//! enterprise.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use standards::Date;
use store::Store;

use crate::api::bad;
use crate::{ApiError, AppState};

type Res = Result<Response, ApiError>;

#[derive(Deserialize)]
pub struct PeriodQuery {
    year: Option<i32>,
    month: Option<u8>,
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
    Path(kind): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> Res {
    let (from, to) = period(&q)?;
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
    let stamp = {
        let d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
        d.watermark(watermark)?.unwrap_or(0)
    };
    let key = format!("report:{kind}:{from}:{to}");
    let body = s.reports.get_or(&key, stamp, crate::REPORT_TTL, || {
        let d = s.domain.lock().unwrap_or_else(|e| e.into_inner());
        let today = engine::sources_report::beijing_today();
        match kind.as_str() {
            "water" => {
                json(&engine::WaterReport::build(&*d, &s.water, from, to).map_err(internal)?)
            }
            "noise" => {
                json(&engine::NoiseReport::build(&*d, &s.noise, from, to).map_err(internal)?)
            }
            "sources" => json(
                &engine::sources_report::SourcesReport::build(&*d, &s.sources, from, to, today)
                    .map_err(internal)?,
            ),
            _ => json(
                &engine::QualityReport::build(&*d, from, to, today, q.month.is_none())
                    .map_err(internal)?,
            ),
        }
    })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
