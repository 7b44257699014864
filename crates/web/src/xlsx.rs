//! XLSX export (`?format=xlsx`): the tables of [`crate::table`] as one sheet with Chinese
//! headers, and the reports (`/reports/{kind}`, `/air`) as one sheet per list of rows in their
//! JSON (nested objects and lists kept as JSON text in a cell). Written with `rust_xlsxwriter`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde_json::Value;

use crate::ApiError;

pub const CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Excel's limits: rows per sheet (header included), characters per cell, sheet name length.
const MAX_ROWS: usize = 1_048_576;
const MAX_CELL: usize = 32_767;
const MAX_SHEET_NAME: usize = 31;

fn internal(e: XlsxError) -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("xlsx: {e}"))
}

/// The download response for a workbook's bytes.
pub fn response(name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, CONTENT_TYPE.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.xlsx\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// Chinese column header of a table's column (`table` = the export name); the key itself when
/// there is none.
pub fn label(table: &str, col: &str) -> String {
    let special = match (table, col) {
        ("sites", "code") => Some("点位编码"),
        ("sites", "name") => Some("点位名称"),
        ("sites", "kind") => Some("点位类型"),
        ("devices", "kind") => Some("设备类型"),
        ("devices", "name") => Some("点位名称"),
        ("values" | "audit-marks", "code") => Some("污染物编码"),
        ("values" | "audit-marks", "time") => Some("数据时间"),
        ("users", "name") => Some("用户名"),
        ("users", "id") | ("audit", "id") | ("audit-marks", "id") | ("alarms", "id") => {
            Some("编号")
        }
        ("audit", "before") | ("audit-marks", "before") => Some("变更前"),
        ("audit", "after") | ("audit-marks", "after") => Some("变更后"),
        ("alarms", "value") => Some("触发值"),
        ("alarms", "count") => Some("次数"),
        _ => None,
    };
    if let Some(s) = special {
        return s.to_string();
    }
    let s = match col {
        "code" => "编码",
        "name" => "名称",
        "kind" => "类型",
        "town" => "乡镇(街道)",
        "lon" => "经度",
        "lat" => "纬度",
        "enterprise" => "企业",
        "target_class" => "目标类别",
        "mn" => "设备MN号",
        "site" => "点位编码",
        "site_name" => "点位名称",
        "online" => "在线",
        "last_seen" => "最后数据时间",
        "last_cn" => "最后命令编码(CN)",
        "packets" => "数据包数",
        "values" => "数据条数",
        "deviations" => "协议偏差数",
        "field" => "字段",
        "period" => "数据类型",
        "time" => "时间",
        "value" => "数值",
        "flag" => "数据标记",
        "valid" => "有效",
        "mark" => "审核标记",
        "display" => "显示名",
        "role" => "角色",
        "scope" => "管辖范围",
        "disabled" => "已停用",
        "created" => "创建时间",
        "updated" => "更新时间",
        "at" => "时间",
        "actor" => "操作人",
        "by" => "操作人",
        "action" => "操作",
        "object" => "对象",
        "before" => "变更前",
        "after" => "变更后",
        "peer" => "来源地址",
        "reason" => "理由",
        "rule" => "告警规则",
        "pollutant" => "污染物",
        "severity" => "级别",
        "severity_cn" => "级别(中文)",
        "status" => "状态",
        "status_cn" => "状态(中文)",
        "active" => "持续中",
        "first_seen" => "首次发生",
        "peak" => "峰值",
        "limit" => "限值",
        "assignee" => "承办单位",
        "deadline" => "处置期限",
        "overdue" => "已超期",
        "title" => "标题",
        "date" | "day" => "日期",
        "month" => "月份",
        "year" => "年份",
        "aqi" => "AQI",
        "level" => "级别",
        "primary" => "首要污染物",
        "pm25" => "PM2.5",
        "pm10" => "PM10",
        "so2" => "SO2",
        "no2" => "NO2",
        "co" => "CO",
        "o3_8h" => "O3-8h",
        "class" => "水质类别",
        other => other,
    };
    s.to_string()
}

/// A cell as Excel shows it: numbers as numbers, true/false as 是/否, text as text (never a
/// formula), lists and objects as JSON text.
fn write_cell(ws: &mut Worksheet, row: u32, col: u16, v: &Value) -> Result<(), XlsxError> {
    match v {
        Value::Null => Ok(()),
        Value::Bool(b) => ws
            .write_string(row, col, if *b { "是" } else { "否" })
            .map(|_| ()),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() => ws.write_number(row, col, f).map(|_| ()),
            _ => ws.write_string(row, col, n.to_string()).map(|_| ()),
        },
        Value::String(s) => ws.write_string(row, col, clip(s)).map(|_| ()),
        other => ws
            .write_string(row, col, clip(&other.to_string()))
            .map(|_| ()),
    }
}

fn clip(s: &str) -> &str {
    if s.chars().count() <= MAX_CELL {
        return s;
    }
    let end = s
        .char_indices()
        .nth(MAX_CELL)
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    &s[..end]
}

fn header_row(ws: &mut Worksheet, headers: &[String]) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    for (c, h) in headers.iter().enumerate() {
        let col = c as u16;
        ws.write_string_with_format(0, col, h, &bold)?;
        // Wide enough for the header (CJK characters count double).
        let w: usize = h.chars().map(|ch| if ch.is_ascii() { 1 } else { 2 }).sum();
        ws.set_column_width(col, (w.max(10) + 2) as f64)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn too_many(rows: usize) -> ApiError {
    ApiError(
        StatusCode::BAD_REQUEST,
        format!("{rows} rows do not fit one Excel sheet (at most {}); narrow the filters or use format=csv", MAX_ROWS - 1),
    )
}

/// One sheet: the columns' Chinese headers, then a row per item.
pub fn table(name: &str, columns: &[&str], items: &[Value]) -> Result<Vec<u8>, ApiError> {
    if items.len() >= MAX_ROWS {
        return Err(too_many(items.len()));
    }
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name(name)).map_err(internal)?;
    let headers: Vec<String> = columns.iter().map(|c| label(name, c)).collect();
    header_row(ws, &headers).map_err(internal)?;
    for (r, it) in items.iter().enumerate() {
        for (c, col) in columns.iter().enumerate() {
            write_cell(
                ws,
                r as u32 + 1,
                c as u16,
                it.get(*col).unwrap_or(&Value::Null),
            )
            .map_err(internal)?;
        }
    }
    wb.save_to_buffer().map_err(internal)
}

fn sheet_name(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(MAX_SHEET_NAME)
        .collect();
    if cleaned.is_empty() {
        "Sheet".to_string()
    } else {
        cleaned
    }
}

/// A report's JSON as a workbook: a first sheet 概要 with the scalar fields (dotted path,
/// value), then one sheet per list of objects (named by its path, e.g. `stations` or
/// `drinking_water.sources`) with a column per key; lists inside rows stay JSON text.
pub fn report(title: &str, v: &Value) -> Result<Vec<u8>, ApiError> {
    let mut scalars: Vec<(String, Value)> = Vec::new();
    let mut lists: Vec<(String, Vec<Value>)> = Vec::new();
    walk("", v, &mut scalars, &mut lists);
    let mut wb = Workbook::new();
    {
        let ws = wb.add_worksheet();
        ws.set_name("概要").map_err(internal)?;
        header_row(ws, &["项目".to_string(), title.to_string()]).map_err(internal)?;
        ws.set_column_width(0, 28).map_err(internal)?;
        for (r, (k, val)) in scalars.iter().enumerate() {
            let row = r as u32 + 1;
            ws.write_string(row, 0, k).map_err(internal)?;
            write_cell(ws, row, 1, val).map_err(internal)?;
        }
    }
    let mut used = vec!["概要".to_string()];
    for (path, rows) in &lists {
        if rows.len() >= MAX_ROWS {
            return Err(too_many(rows.len()));
        }
        let mut cols: Vec<String> = Vec::new();
        for r in rows {
            if let Value::Object(m) = r {
                for k in m.keys() {
                    if !cols.contains(k) {
                        cols.push(k.clone());
                    }
                }
            }
        }
        let mut name = sheet_name(path);
        let mut n = 2;
        while used.contains(&name) {
            let suffix = format!("~{n}");
            name = sheet_name(path)
                .chars()
                .take(MAX_SHEET_NAME - suffix.len())
                .collect::<String>()
                + &suffix;
            n += 1;
        }
        used.push(name.clone());
        let ws = wb.add_worksheet();
        ws.set_name(&name).map_err(internal)?;
        let last = path.rsplit('.').next().unwrap_or(path);
        let headers: Vec<String> = cols.iter().map(|c| label(last, c)).collect();
        header_row(ws, &headers).map_err(internal)?;
        for (r, it) in rows.iter().enumerate() {
            for (c, col) in cols.iter().enumerate() {
                write_cell(
                    ws,
                    r as u32 + 1,
                    c as u16,
                    it.get(col).unwrap_or(&Value::Null),
                )
                .map_err(internal)?;
            }
        }
    }
    wb.save_to_buffer().map_err(internal)
}

fn walk(
    path: &str,
    v: &Value,
    scalars: &mut Vec<(String, Value)>,
    lists: &mut Vec<(String, Vec<Value>)>,
) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(&p, x, scalars, lists);
            }
        }
        Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_object) => {
            lists.push((path.to_string(), a.clone()));
        }
        other => scalars.push((path.to_string(), other.clone())),
    }
}
