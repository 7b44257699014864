//! Tables the API returns: paginated JSON `{page, per_page, total, items}` or, with
//! `?format=csv`, every row as CSV (UTF-8 with BOM so Excel opens Chinese text correctly), or,
//! with `?format=xlsx`, every row as an Excel workbook with Chinese headers ([`crate::xlsx`]).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use crate::ApiError;

/// `?page=&per_page=&format=`.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct Paging {
    pub page: Option<usize>,
    pub per_page: Option<usize>,
    pub format: Option<String>,
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
    let format = p.format()?;
    if format == Export::Xlsx {
        return Ok(crate::xlsx::response(
            name,
            crate::xlsx::table(name, columns, &items)?,
        ));
    }
    if format == Export::Csv {
        let mut out = String::from("\u{feff}");
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
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.csv\""),
                ),
            ],
            out,
        )
            .into_response());
    }
    Ok(Json(serde_json::json!({
        "page": p.page(), "per_page": p.per_page(), "total": total, "items": items
    }))
    .into_response())
}

/// Cuts a full list to the page and responds.
pub fn respond_all(
    p: &Paging,
    name: &str,
    columns: &[&str],
    all: Vec<Value>,
) -> Result<Response, ApiError> {
    let total = all.len();
    let (skip, take) = p.window()?;
    let items = all.into_iter().skip(skip).take(take).collect();
    respond(p, name, columns, items, total)
}

fn csv_cell(v: &Value) -> String {
    let s = match v {
        Value::Null => return String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
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
