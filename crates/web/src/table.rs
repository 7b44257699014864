//! Tables the API returns: paginated JSON `{page, per_page, total, items}` or, with
//! `?format=csv`, every row as CSV (UTF-8 with BOM so Excel opens Chinese text correctly), or,
//! with `?format=xlsx`, every row as an Excel workbook with Chinese headers ([`crate::xlsx`]).
//! The CSV is the same table as the workbook (Chinese headers, codes in Chinese, times as
//! `2026-12-04 11:00`); `?format=csv&keys=en` gives the English-keyed CSV of the raw JSON
//! fields for tools.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use crate::ApiError;

/// `?page=&per_page=&format=&keys=`.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct Paging {
    pub page: Option<usize>,
    pub per_page: Option<usize>,
    pub format: Option<String>,
    /// CSV headers: `cn` (default: the Chinese table of the XLSX) or `en` (the JSON keys).
    pub keys: Option<String>,
}

/// What a table answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Json,
    Csv,
    Xlsx,
}

pub const MAX_PER_PAGE: usize = 10_000;

impl Paging {
    pub fn page(&self) -> usize {
        self.page.unwrap_or(1).max(1)
    }
    pub fn per_page(&self) -> usize {
        self.per_page.unwrap_or(100).clamp(1, MAX_PER_PAGE)
    }
    pub fn format(&self) -> Result<Export, ApiError> {
        match self.format.as_deref() {
            None | Some("json") => Ok(Export::Json),
            Some("csv") => Ok(Export::Csv),
            Some("xlsx") => Ok(Export::Xlsx),
            Some(f) => Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("format={f}: expected json, csv or xlsx"),
            )),
        }
    }
    /// Whether a CSV has the JSON keys as headers (`keys=en`) rather than the Chinese table.
    pub fn english_keys(&self) -> Result<bool, ApiError> {
        match self.keys.as_deref() {
            None | Some("cn") => Ok(false),
            Some("en") => Ok(true),
            Some(k) => Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("keys={k}: expected cn or en"),
            )),
        }
    }
    /// The row range of this page (CSV and XLSX: all rows).
    pub fn window(&self) -> Result<(usize, usize), ApiError> {
        if self.format()? != Export::Json {
            Ok((0, usize::MAX))
        } else {
            let skip = (self.page() - 1).saturating_mul(self.per_page());
            Ok((skip, self.per_page()))
        }
    }
}

/// Rows already cut to the page (`items`) and the total count of matching rows.
pub fn respond(
    p: &Paging,
    name: &str,
    columns: &[&str],
    items: Vec<Value>,
    total: usize,
) -> Result<Response, ApiError> {
    respond_extra(p, name, columns, items, total, Value::Null)
}

/// As [`respond`], with `extra` fields (an object) beside `page, per_page, total, items` in
/// the JSON answer (e.g. counts over every matching row).
fn respond_extra(
    p: &Paging,
    name: &str,
    columns: &[&str],
    items: Vec<Value>,
    total: usize,
    extra: Value,
) -> Result<Response, ApiError> {
    let format = p.format()?;
    if format == Export::Xlsx {
        return Ok(crate::xlsx::response(
            name,
            crate::xlsx::table(name, columns, &items)?,
        ));
    }
    if format == Export::Csv {
        let mut out = String::from("\u{feff}");
        if p.english_keys()? {
            out.push_str(&columns.join(","));
            out.push_str("\r\n");
            for it in &items {
                let cells: Vec<String> = columns
                    .iter()
                    .map(|c| csv_cell(it.get(*c).unwrap_or(&Value::Null)))
                    .collect();
                out.push_str(&cells.join(","));
                out.push_str("\r\n");
            }
        } else {
            let (headers, rows) = crate::xlsx::table_cells(name, columns, &items);
            let line = |cells: Vec<String>| cells.join(",") + "\r\n";
            out.push_str(&line(headers.iter().map(|h| csv_text(h)).collect()));
            for r in rows {
                out.push_str(&line(r.iter().map(|c| csv_text(&c.text())).collect()));
            }
        }
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    crate::xlsx::disposition(name, "csv"),
                ),
            ],
            out,
        )
            .into_response());
    }
    let mut body = serde_json::json!({
        "page": p.page(), "per_page": p.per_page(), "total": total, "items": items
    });
    if let (Value::Object(b), Value::Object(x)) = (&mut body, extra) {
        b.extend(x);
    }
    Ok(Json(body).into_response())
}

/// Cuts a full list to the page and responds.
pub fn respond_all(
    p: &Paging,
    name: &str,
    columns: &[&str],
    all: Vec<Value>,
) -> Result<Response, ApiError> {
    respond_all_with(p, name, columns, all, Value::Null)
}

/// As [`respond_all`], with `extra` fields beside the page in the JSON answer.
pub fn respond_all_with(
    p: &Paging,
    name: &str,
    columns: &[&str],
    all: Vec<Value>,
    extra: Value,
) -> Result<Response, ApiError> {
    let total = all.len();
    let (skip, take) = p.window()?;
    let items = all.into_iter().skip(skip).take(take).collect();
    respond_extra(p, name, columns, items, total, extra)
}

fn csv_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => csv_text(s),
        other => csv_text(&other.to_string()),
    }
}

fn csv_text(s: &str) -> String {
    let s = s.to_string();
    // Keep spreadsheet formulas out (CSV injection) and quote when needed.
    let s = if s.starts_with(['=', '+', '-', '@']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}
