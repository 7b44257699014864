//! XLSX export (`?format=xlsx`): the tables of [`crate::table`] as one sheet with Chinese
//! headers, and the reports (`/reports/{kind}`, `/air`) as one sheet per list of rows in their
//! JSON (nested objects and lists kept as JSON text in a cell). Written with `rust_xlsxwriter`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
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
            (header::CONTENT_DISPOSITION, disposition(name, "xlsx")),
        ],
        bytes,
    )
        .into_response()
}

/// Chinese sheet name of a table export (`table` = the export name).
pub fn table_title(table: &str) -> &'static str {
    match table {
        "sites" => "点位",
        "devices" => "设备",
        "values" => "监测数据",
        "users" => "用户",
        "audit" => "操作日志",
        "audit-marks" => "数据审核记录",
        "alarms" => "告警",
        "refusals" => "拒收记录",
        "quality-findings" => "质控发现",
        _ => "数据",
    }
}

/// Chinese column header of a table's column or a report's key (`table` = the export name, or
/// the key of the list or object the key sits in); the key itself when there is none (tests
/// check that no download is left with one).
pub fn label(table: &str, col: &str) -> String {
    if let Some(s) = special(table, col) {
        return s.to_string();
    }
    if let Some(s) = generic(col) {
        return s.to_string();
    }
    if let Some(item) = standards::water::WaterItem::from_key(col) {
        return item.row().name_cn.to_string();
    }
    if let Some(n) = code_name(col) {
        return n.to_string();
    }
    col.to_string()
}

/// Labels that depend on where the key sits.
fn special(table: &str, col: &str) -> Option<&'static str> {
    Some(match (table, col) {
        ("sites", "code") => "点位编码",
        ("points", "zone") => "声环境功能区",
        // GB 3095-2012 §4.1: the ambient air function zone the statistics are judged for.
        ("attainment", "zone") => "环境空气功能区",
        ("sites", "name") => "点位名称",
        ("sites", "kind") => "点位类型",
        ("devices", "kind") => "设备类型",
        ("devices", "name") => "点位名称",
        ("devices", "values") => "数据条数",
        ("values" | "audit-marks" | "quality-findings", "code") => "污染物编码",
        ("values" | "audit-marks", "time") => "数据时间",
        ("quality-findings", "kind") => "发现类型编码",
        ("quality-findings", "from") => "开始时间",
        ("quality-findings", "to") => "结束时间",
        ("quality-findings", "period") => "数据类型",
        ("users", "name") => "用户名",
        ("users", "id") | ("audit", "id") | ("audit-marks", "id") | ("alarms", "id") => "编号",
        ("audit", "before") | ("audit-marks", "before") => "变更前",
        ("audit", "after") | ("audit-marks", "after") => "变更后",
        ("alarms", "value") => "触发值",
        ("alarms", "count") => "次数",
        ("alarms", "detail") => "详情",
        ("refusals", "total") => "拒收次数",
        ("refusals", "by_reason") => "按原因",
        // reports
        ("rivers", "sections") => "断面",
        ("river_status", "sections") | ("rivers", "sections_evaluated") => "参评断面数",
        ("share_iii_or_better", "sections") => "断面总数",
        ("share_iii_or_better", "pct") => "达到或优于III类比例(%)",
        ("towns", "points") => "点位",
        ("urban" | "township", "sources") => "水源地数",
        ("urban" | "township", "assessed") => "参评源·月数",
        ("urban" | "township", "compliant") => "达标源·月数",
        ("urban" | "township", "scope") => "类型",
        ("pollutants", "events") => "超标事件数",
        ("pollutants", "code") | ("events", "code") | ("items", "pollutant") => "污染物",
        ("pollutants", "name") => "污染物名称",
        ("quality", "valid") | ("devices", "valid") | ("months", "valid") | ("days", "valid") => {
            "有效小时数"
        }
        ("sections" | "sources", "days") | ("months", "days") => "有数据天数",
        ("points", "days") | ("towns", "days") => "昼间有效天数",
        ("points", "nights") | ("towns", "nights") => "夜间有效天数",
        ("points" | "towns", "town") => "乡镇(街道)编码",
        ("sections", "missing") | ("tli", "missing") => "缺少数据的项目",
        ("sections" | "months", "status") | ("rivers" | "river_status", "status") => "水质状况",
        ("tli", "value") => "综合营养状态指数TLI",
        ("tli", "state") => "营养状态",
        ("daily", "level") | ("county", "level") => "AQI级别",
        ("fume", "monitored") => "监控餐饮单位数",
        ("devices", "codes") => "监测因子",
        ("devices" | "total", "expected") | ("months" | "days", "expected") => "应收小时数",
        ("total", "valid") => "有效小时数",
        ("events", "end") => "结束时间",
        ("events", "start") => "开始时间",
        ("events", "hours") => "持续小时数",
        ("events", "limit") => "限值",
        ("items", "value") => "统计值",
        ("items", "limit") => "标准限值",
        ("attainment", "items") => "逐项评价",
        ("stations", "name") => "站点名称",
        ("outlets", "name") => "排口名称",
        ("enterprises", "name") => "企业名称",
        ("restaurants", "name") => "餐饮单位名称",
        ("sections", "name") => "断面名称",
        ("sources", "name") => "水源地名称",
        ("points", "name") => "点位名称",
        _ => return None,
    })
}

fn generic(col: &str) -> Option<&'static str> {
    Some(match col {
        "code" => "编码",
        "name" => "名称",
        "kind" => "类型",
        "town" => "乡镇(街道)",
        "town_name" => "乡镇(街道)",
        "lon" => "经度",
        "lat" => "纬度",
        "enterprise" => "企业编码",
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
        "refusals" => "拒收次数",
        "registered" => "已登记",
        "last_at" => "最近拒收时间",
        "last_reason" => "最近拒收原因编码",
        "last_reason_cn" => "最近拒收原因",
        "last_detail" => "最近拒收详情",
        "last_peer" => "来源地址",
        "kind_cn" => "发现类型",
        "invalidating" => "计为无效",
        "field" => "字段",
        "period" => "时段",
        "time" => "时间",
        "value" => "数值",
        "flag" => "数据标记",
        "valid" => "有效",
        "mark" => "审核标记",
        "display" => "显示名",
        "role" => "角色",
        "scope" => "类型",
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
        "severity_cn" => "级别",
        "status" => "状态",
        "status_cn" => "状态",
        "active" => "持续中",
        "first_seen" => "首次发生",
        "peak" => "峰值",
        "limit" => "限值",
        "assignee" => "承办单位",
        "assignee_name" => "承办单位名称",
        "deadline" => "处置期限",
        "overdue" => "已超期",
        "title" => "标题",
        "detail" => "详情",
        "count" => "个数",
        "date" | "day" => "日期",
        "month" => "月份",
        "year" => "年份",
        "aqi" => "空气质量指数AQI",
        "level" => "级别",
        "primary" => "首要污染物",
        "pm25" | "PM2.5" | "PM25" => "PM2.5(细颗粒物)",
        "pm10" | "PM10" => "PM10(可吸入颗粒物)",
        "so2" | "SO2" => "SO2(二氧化硫)",
        "no2" | "NO2" => "NO2(二氧化氮)",
        "co" | "CO" => "CO(一氧化碳)",
        "o3" | "O3" => "O3(臭氧)",
        "o3_8h" => "O3日最大8小时平均",
        "class" => "水质类别",
        // air report
        "CO_24H_p95" => "CO 24小时平均第95百分位数",
        "O3_8H_p90" => "O3日最大8小时平均第90百分位数",
        "NO2_annual_mean" => "NO2年平均",
        "PM10_annual_mean" => "PM10年平均",
        "PM25_annual_mean" => "PM2.5年平均",
        "SO2_annual_mean" => "SO2年平均",
        "ambient_standard" => "环境空气质量标准",
        "annual_data_sufficient" => "年度数据是否充足",
        "aqi_standards" => "AQI技术规定",
        "assessment_standard" => "评价技术规范",
        "attainment" => "达标评价",
        "attains" => "是否达标",
        "category" => "空气质量类别",
        "composite_index" => "综合指数",
        "composite_index_2012" => "综合指数(2012版)",
        "composite_index_note" => "综合指数说明",
        "county" => "全县",
        "county_sites" => "参与全县评价的站点",
        "daily" => "逐日",
        "exceedance_multiple" => "超标倍数",
        "good_days" => "优良天数",
        "good_days_ratio" => "优良天数比例(%)",
        "heavy_days" => "重度及以上污染天数",
        "severe_days" => "严重污染天数",
        "stations" => "空气站",
        "statistic" => "统计指标",
        "rules" => "AQI规则",
        "valid_days" => "有效天数",
        "items" => "项目",
        // water report
        "report" => "报告",
        "from" => "开始日期",
        "to" => "结束日期",
        "method" => "评价方法",
        "sections" => "断面",
        "river" => "河流",
        "rivers" => "各河流水质状况",
        "river_status" => "全县河流水质状况",
        "water_body" => "水体类型",
        "met" => "是否达到目标",
        "days" => "天数",
        "main_pollutants" => "主要污染物",
        "item" => "项目",
        "multiple" => "超III类倍数",
        "exceed" => "超III类倍数",
        "means" => "均值",
        "missing" => "缺少的项目",
        "months" => "逐月",
        "tli" => "综合营养状态指数",
        "state" => "营养状态",
        "basis" => "评价方法",
        "sections_evaluated" => "参评断面数",
        "iii_or_better_pct" => "I–III类比例(%)",
        "worse_than_v_pct" => "劣V类比例(%)",
        "share_iii_or_better" => "达到或优于III类断面比例",
        "pct" => "比例(%)",
        "evaluated" => "参评断面数",
        "at_or_better" => "达到或优于III类断面数",
        "drinking_water" => "饮用水水源地",
        "urban" => "城镇(县级及以上)水源地",
        "township" => "乡镇(千吨万人)水源地",
        "sources" => "水源地",
        "assessed" => "是否参评",
        "assessed_months" => "参评月数",
        "compliant" => "是否达标",
        "compliant_months" => "达标月数",
        "rate_pct" => "达标率(%)",
        "sources_with_data" => "有数据水源地数",
        "not_assessed_sources" => "未参评水源地数",
        "failed" => "不达标项目",
        "Chla" => "叶绿素a",
        "SD" => "透明度",
        // noise report
        "standard" => "执行标准",
        "day_start" => "昼间开始",
        "night_start" => "夜间开始",
        "points" => "点位",
        "zone" => "功能区",
        "day_limit" => "昼间限值dB(A)",
        "night_limit" => "夜间限值dB(A)",
        "nights" => "夜数",
        "ld" => "昼间等效声级Ld",
        "ln" => "夜间等效声级Ln",
        "ld_mean" => "昼间等效声级均值",
        "ln_mean" => "夜间等效声级均值",
        "ld_compliant" => "昼间达标",
        "ln_compliant" => "夜间达标",
        "ld_mean_compliant" => "昼间均值达标",
        "ln_mean_compliant" => "夜间均值达标",
        "day_compliant_days" => "昼间达标天数",
        "night_compliant_days" => "夜间达标天数",
        "day_compliance_pct" => "昼间达标率(%)",
        "night_compliance_pct" => "夜间达标率(%)",
        "day_hours" => "昼间有效小时数",
        "night_hours" => "夜间有效小时数",
        "towns" => "各乡镇(街道)",
        "points_with_data" => "有数据点位数",
        "points_day_over" => "昼间均值超标点位数",
        "points_night_over" => "夜间均值超标点位数",
        // sources report
        "period_hours" => "时段小时数",
        "policy" => "平台规则",
        "min_valid_minutes" => "有效小时最少有效分钟数",
        "disagree_rel" => "设备值与分钟值容许相对差",
        "disagree_abs" => "设备值与分钟值容许绝对差",
        "fume_code" => "油烟监测因子编码",
        "fume_open_hours" => "营业时段(时)",
        "fume_cleaning_run_hours" => "净化器清洗周期(运行小时)",
        "enterprises" => "企业",
        "outlets" => "排口",
        "reference_o2_pct" => "基准氧含量(%)",
        "hours_with_data" => "有数据小时数",
        "hours_valid" => "有效小时数",
        "events_count" => "超标事件数",
        "event_hours" => "超标小时数(事件)",
        "worst_multiple" => "最大超标倍数",
        "flow_m3" => "流量(m³)",
        "pollutants" => "污染物",
        "unit" => "单位",
        "limit_upper" => "限值(上限)",
        "limit_lower" => "限值(下限)",
        "limit_source" => "限值依据",
        "hours_exceeding" => "超标小时数",
        "disagreements" => "设备值与分钟值不一致小时数",
        "events" => "超标事件",
        "open_events" => "持续中事件数",
        "max_value" => "最大值",
        "total_kg" => "排放总量(kg)",
        "total_hours_cou" => "采用设备排放量的小时数",
        "total_hours_computed" => "按浓度×流量计算的小时数",
        "start" => "开始时间",
        "end" => "结束时间",
        "hours" => "小时数",
        "peak_multiple" => "峰值超标倍数",
        "bound" => "限值类型",
        "open" => "持续中",
        "monthly_totals" => "逐月排放量",
        "daily_totals" => "逐日排放量",
        "kg" => "排放量(kg)",
        "fume" => "餐饮油烟",
        "limit_mg_m3" => "限值(mg/m³)",
        "monitored" => "监控因子",
        "reporting" => "有数据单位数",
        "days_evaluated" => "评价天数",
        "online_rate" => "在线率(%)",
        "restaurants_with_exceedances" => "超标单位数",
        "readings_over" => "超标读数",
        "hours_over" => "超标小时数",
        "unpurified_restaurants" => "风机开净化器关的单位数",
        "unpurified_occurrences" => "风机开净化器关(次)",
        "unpurified_minutes" => "未净化分钟数",
        "cleaning_due" => "净化器应清洗",
        "restaurants" => "餐饮单位",
        "days_with_data" => "有数据天数",
        "readings" => "读数",
        "purifier_run_hours_since_cleaning" => "上次清洗以来净化器运行小时数",
        // quality report
        "threshold" => "传输有效率要求",
        "due" => "应收口径",
        "as_of" => "统计截至",
        "devices" => "设备",
        "devices_meeting_threshold" => "达到要求的设备数",
        "codes" => "监测因子",
        "expected" => "应收小时数",
        "received" => "实收小时数",
        "transmission_rate" => "传输率",
        "validity_rate" => "有效率",
        "effective_rate" => "传输有效率",
        "meets_threshold" => "是否达到要求",
        "flagged" => "非正常标记小时数",
        "marked_invalid" => "人工标记无效小时数",
        "findings" => "质控发现",
        "total" => "合计",
        "zero" => "零值",
        "constant" => "恒值",
        "out_of_range" => "超出仪器量程",
        "negative" => "负值",
        "jump" => "突变",
        "offline" => "设备离线",
        "clock_drift" => "设备时钟偏差",
        "pH" => "pH值",
        _ => return None,
    })
}

/// Chinese names of the HJ 212-2017 codes the reports use as keys (`standards::codes`; the
/// outlets' own names come from the profile in the sources report, these cover the keys of `kg`).
fn code_name(code: &str) -> Option<&'static str> {
    standards::codes::name_cn(code)
}

/// Chinese text of the codes the API uses as values (`drinking_water`, `major`, `hour`,
/// `invalid` …), by the key they sit under; `None` keeps the value as it is.
pub fn value_cn(key: &str, v: &str) -> Option<&'static str> {
    let site_kind = |v: &str| {
        Some(match v {
            "air" => "空气站",
            "surface_water" => "地表水断面",
            "drinking_water" => "饮用水水源地",
            "noise" => "噪声点",
            "flue_gas" => "废气排口",
            "wastewater" => "废水排口",
            "fume" => "餐饮油烟",
            _ => return None,
        })
    };
    Some(match key {
        "kind" | "water_kind" | "site_kind" => match site_kind(v) {
            Some(x) => x,
            None if engine::quality::KINDS.contains(&v) => crate::audit_marks::finding_kind_cn(v),
            None => return None,
        },
        "severity" => v.parse::<store::alarms::Severity>().ok()?.cn(),
        "status" | "from" | "to" => v.parse::<store::alarms::AlarmStatus>().ok()?.cn(),
        "rule" => match v {
            "exceedance" => "超标",
            "pre_warning" => "预警",
            "offline" => "离线",
            "aqi_jump" => "空气质量突变",
            "data_anomaly" => "数据异常",
            "water_below_target" => "水质未达标",
            "drinking_water_noncompliance" => "饮用水不达标",
            _ => return None,
        },
        "period" => match v {
            "rtd" => "实时值",
            "min" => "分钟值",
            "hour" => "小时值",
            "day" => "日均值",
            "device" => "设备",
            _ => return None,
        },
        "mark" | "before" | "after" => match v {
            "invalid" => "无效",
            "valid" => "有效",
            "none" => "未标记",
            _ => return None,
        },
        "action" => match v {
            "mark" => "标记",
            "unmark" => "撤销标记",
            "login" => "登录",
            "login.failed" => "登录失败",
            "user.create" => "创建用户",
            "user.update" => "修改用户",
            "token.create" => "创建令牌",
            "device.command" => "设备命令",
            "alarm.ack" => "确认告警",
            "alarm.dispatch" => "派发告警",
            "alarm.handle" => "告警处置反馈",
            "alarm.close" => "办结告警",
            "alarm.reopen" => "重新打开告警",
            "indicator.entry" => "录入指标数据",
            "audit.mark" => "数据审核标记",
            "audit.unmark" => "撤销数据审核标记",
            "raised" => "产生",
            "escalated" => "升级",
            "cleared" => "自动解除",
            "ack" => "确认",
            "dispatch" => "派发",
            "handle" => "处置反馈",
            "close" => "办结",
            "reopen" => "重新打开",
            "overdue" => "逾期",
            _ => return None,
        },
        "role" => crate::auth::Role::parse(v)?.label(),
        "water_body" => match v {
            "river" => "河流",
            "lake" => "湖库",
            _ => return None,
        },
        "bound" => match v {
            "upper" => "上限",
            "lower" => "下限",
            _ => return None,
        },
        "scope" => match v {
            "urban" => "城镇(县级及以上)",
            "township" => "乡镇(千吨万人)",
            _ => return None,
        },
        // GB 3095-2012 §4.1: 一类区 / 二类区 (ambient air function zones).
        "zone" => match v {
            "class1" => "一类区",
            "class2" => "二类区",
            "0" => "0类",
            "1" => "1类",
            "2" => "2类",
            "3" => "3类",
            "4a" => "4a类",
            "4b" => "4b类",
            _ => return None,
        },
        "statistic" => match v {
            "annual_mean" => "年平均",
            "p95" => "第95百分位数",
            "p90" => "第90百分位数",
            "p98" => "第98百分位数",
            _ => return None,
        },
        "corrected_origin" => match v {
            "device" => "设备上报",
            "computed" => "平台计算",
            _ => return None,
        },
        "method" | "basis" => match v {
            "share_of_sections" => "断面类别比例法",
            "mean_of_sections" | "section_mean" => "断面均值定类",
            "single_section" => "单一断面",
            _ => return None,
        },
        // An HJ 212 code under 污染物 (the alarms' pollutant) by its name.
        "pollutant" => standards::codes::name_cn(v)?,
        _ => return None,
    })
}

/// Keys whose text is a number (the exact text a device sent): written as a number.
const NUMERIC_TEXT: &[&str] = &["value"];

/// A cell of a download: what Excel stores and what CSV writes.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    /// A number and, for one that came as text, its decimals (shown as sent).
    Number(f64, Option<usize>),
    /// A Beijing date and time (y, m, d, h, min, s).
    DateTime(u16, u8, u8, u8, u8, u8),
    /// A Beijing date (y, m, d).
    Date(u16, u8, u8),
}

impl Cell {
    /// The cell as CSV (and people) write it: times `2026-12-04 11:00`, 是/否.
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Number(f, Some(d)) => format!("{f:.d$}", d = *d),
            Cell::Number(f, None) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
            Cell::Number(f, None) => f.to_string(),
            Cell::DateTime(y, m, d, h, mi, 0) => format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}"),
            Cell::DateTime(y, m, d, h, mi, s) => {
                format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            }
            Cell::Date(y, m, d) => format!("{y:04}-{m:02}-{d:02}"),
        }
    }
}

fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `YYYY-MM-DD`.
fn parse_date(s: &str) -> Option<(u16, u8, u8)> {
    let b = s.as_bytes();
    if s.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&s[..4])?, digits(&s[5..7])?, digits(&s[8..10])?);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
}

/// `YYYY-MM-DDTHH:MM[:SS][+08:00]` (or a space for the `T`): the Beijing times of the API.
fn parse_datetime(s: &str) -> Option<(u16, u8, u8, u8, u8, u8)> {
    let s = s.strip_suffix("+08:00").unwrap_or(s);
    if s.len() != 16 && s.len() != 19 {
        return None;
    }
    let (date, time) = (s.get(..10)?, s.get(11..)?);
    if !matches!(s.as_bytes()[10], b'T' | b' ') {
        return None;
    }
    let (y, m, d) = parse_date(date)?;
    let tb = time.as_bytes();
    if tb[2] != b':' || (tb.len() == 8 && tb[5] != b':') {
        return None;
    }
    let h: u8 = digits(&time[..2])?;
    let mi: u8 = digits(&time[3..5])?;
    let sec: u8 = if tb.len() == 8 {
        digits(&time[6..8])?
    } else {
        0
    };
    (h < 24 && mi < 60 && sec < 60).then_some((y, m, d, h, mi, sec))
}

/// A number written as text (`12.30`): the value and its decimals.
fn numeric_text(s: &str) -> Option<(f64, usize)> {
    let t = s.trim();
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return None;
    }
    let f: f64 = t.parse().ok().filter(|f: &f64| f.is_finite())?;
    Some((f, t.split_once('.').map_or(0, |(_, d)| d.len())))
}

/// How the value under `key` goes into a download: numbers as numbers, Beijing times and
/// dates as dates, true/false as 是/否, codes in Chinese ([`value_cn`]), lists `、`-joined,
/// objects as `名称:值` pairs — never JSON.
pub fn cell(key: &str, v: &Value) -> Cell {
    match v {
        Value::Null => Cell::Empty,
        Value::Bool(b) => Cell::Text(if *b { "是" } else { "否" }.into()),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() => Cell::Number(f, None),
            _ => Cell::Text(n.to_string()),
        },
        Value::String(s) => {
            if let Some((y, m, d, h, mi, sec)) = parse_datetime(s) {
                return Cell::DateTime(y, m, d, h, mi, sec);
            }
            if let Some((y, m, d)) = parse_date(s) {
                return Cell::Date(y, m, d);
            }
            if NUMERIC_TEXT.contains(&key) {
                if let Some((f, dp)) = numeric_text(s) {
                    return Cell::Number(f, Some(dp));
                }
            }
            Cell::Text(
                value_cn(key, s)
                    .map(str::to_string)
                    .unwrap_or_else(|| crate::messages::human_times(s)),
            )
        }
        Value::Array(a) => Cell::Text(
            a.iter()
                .map(|x| cell(key, x).text())
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join("、"),
        ),
        Value::Object(m) => Cell::Text(
            m.iter()
                .filter(|(k, x)| !x.is_null() && !m.contains_key(&format!("{k}_cn")))
                .map(|(k, x)| format!("{}:{}", label(key, k), cell(k, x).text()))
                .collect::<Vec<_>>()
                .join(";"),
        ),
    }
}

/// The formats a workbook's typed cells use (made once per workbook).
struct Formats {
    datetime: Format,
    date: Format,
    /// `0`, `0.0`, `0.00` … for numbers that came as text.
    decimals: Vec<Format>,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm"),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            decimals: (0..=8)
                .map(|d| {
                    let f = if d == 0 {
                        "0".to_string()
                    } else {
                        format!("0.{}", "0".repeat(d))
                    };
                    Format::new().set_num_format(f)
                })
                .collect(),
        }
    }
}

/// Writes one typed cell (text always as text, never a formula).
fn write_cell(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    c: &Cell,
    f: &Formats,
) -> Result<(), XlsxError> {
    match c {
        Cell::Empty => {}
        Cell::Text(s) => {
            ws.write_string(row, col, clip(s))?;
        }
        Cell::Number(x, Some(d)) if *d < f.decimals.len() => {
            ws.write_number_with_format(row, col, *x, &f.decimals[*d])?;
        }
        Cell::Number(x, _) => {
            ws.write_number(row, col, *x)?;
        }
        Cell::DateTime(y, m, d, h, mi, s) => {
            let t = ExcelDateTime::from_ymd(*y, *m, *d)?.and_hms(*h as u16, *mi, *s as f64)?;
            ws.write_datetime_with_format(row, col, &t, &f.datetime)?;
        }
        Cell::Date(y, m, d) => {
            let t = ExcelDateTime::from_ymd(*y, *m, *d)?;
            ws.write_datetime_with_format(row, col, &t, &f.date)?;
        }
    }
    Ok(())
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
        // Wide enough for the header (CJK characters count double) and a date and time.
        let w: usize = h.chars().map(|ch| if ch.is_ascii() { 1 } else { 2 }).sum();
        ws.set_column_width(col, (w.max(16) + 2) as f64)?;
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

/// The columns a user download shows: a code column is left out when its Chinese twin
/// (`severity` beside `severity_cn`) is there.
/// The assignee's code likewise beside its name (a town code means nothing to a reader).
pub fn user_columns<'a>(columns: &[&'a str]) -> Vec<&'a str> {
    columns
        .iter()
        .filter(|c| !columns.contains(&format!("{c}_cn").as_str()))
        .filter(|c| !(**c == "assignee" && columns.contains(&"assignee_name")))
        .copied()
        .collect()
}

/// A table as the rows of a user download: the Chinese header, then one typed row per item
/// (the XLSX sheet and the Chinese-header CSV are the same table).
pub fn table_cells(name: &str, columns: &[&str], items: &[Value]) -> (Vec<String>, Vec<Vec<Cell>>) {
    let cols = user_columns(columns);
    let headers = cols.iter().map(|c| label(name, c)).collect();
    let rows = items
        .iter()
        .map(|it| {
            cols.iter()
                .map(|c| cell(c, it.get(*c).unwrap_or(&Value::Null)))
                .collect()
        })
        .collect();
    (headers, rows)
}

/// One sheet: the columns' Chinese headers, then a row per item.
pub fn table(name: &str, columns: &[&str], items: &[Value]) -> Result<Vec<u8>, ApiError> {
    if items.len() >= MAX_ROWS {
        return Err(too_many(items.len()));
    }
    let (headers, rows) = table_cells(name, columns, items);
    let f = Formats::new();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(table_title(name)).map_err(internal)?;
    header_row(ws, &headers).map_err(internal)?;
    for (r, row) in rows.iter().enumerate() {
        for (c, x) in row.iter().enumerate() {
            write_cell(ws, r as u32 + 1, c as u16, x, &f).map_err(internal)?;
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

/// One sheet of a report: rows of (column label, cell).
struct Sheet {
    /// The key path of the list (e.g. `enterprises.outlets.pollutants`).
    path: Vec<String>,
    rows: Vec<Vec<(String, Cell)>>,
}

/// Keys that identify a row; carried (prefixed with the row's kind) into the sheets of the
/// lists nested in it.
const ID_KEYS: &[&str] = &[
    "enterprise",
    "site",
    "mn",
    "river",
    "town",
    "code",
    "item",
    "date",
    "period",
    "month",
    "name",
];

/// What one element of a list is called (the parent columns of nested sheets).
fn singular(key: &str) -> String {
    match key {
        "enterprises" => "企业".into(),
        "outlets" => "排口".into(),
        "pollutants" => "污染物".into(),
        "sections" => "断面".into(),
        "sources" => "水源地".into(),
        "stations" => "空气站".into(),
        "points" => "点位".into(),
        "devices" => "设备".into(),
        "restaurants" => "餐饮单位".into(),
        "rivers" => "河流".into(),
        "towns" => "乡镇(街道)".into(),
        "months" => "月份".into(),
        "daily" => "日".into(),
        "items" => "项目".into(),
        "events" => "超标事件".into(),
        other => label("", other),
    }
}

fn is_object_list(v: &Value) -> bool {
    matches!(v, Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_object))
}

/// A report's JSON as a workbook, every header in Chinese: a first sheet 概要 with the scalar
/// fields (their key paths in Chinese, `·`-joined), then one sheet per list of rows, also the
/// lists nested in rows (a section's months, an outlet's pollutants and events …), each row
/// led by the identifying columns of the rows it sits in. Objects inside a row become columns
/// (`均值·氨氮`), lists of scalars one `、`-joined cell; cells typed as in [`cell`].
pub fn report(title: &str, v: &Value) -> Result<Vec<u8>, ApiError> {
    let mut scalars: Vec<(String, Cell)> = Vec::new();
    let mut sheets: Vec<Sheet> = Vec::new();
    top(&[], v, &mut scalars, &mut sheets);
    let f = Formats::new();
    let mut wb = Workbook::new();
    {
        let ws = wb.add_worksheet();
        ws.set_name("概要").map_err(internal)?;
        header_row(ws, &["项目".to_string(), title.to_string()]).map_err(internal)?;
        ws.set_column_width(0, 36).map_err(internal)?;
        for (r, (k, val)) in scalars.iter().enumerate() {
            let row = r as u32 + 1;
            ws.write_string(row, 0, k).map_err(internal)?;
            write_cell(ws, row, 1, val, &f).map_err(internal)?;
        }
    }
    let mut used = vec!["概要".to_string()];
    for sh in &sheets {
        if sh.rows.len() >= MAX_ROWS {
            return Err(too_many(sh.rows.len()));
        }
        let mut cols: Vec<String> = Vec::new();
        for r in &sh.rows {
            for (k, _) in r {
                if !cols.contains(k) {
                    cols.push(k.clone());
                }
            }
        }
        let base = sheet_name(&path_title(&sh.path, "-"));
        let mut name = base.clone();
        let mut n = 2;
        while used.contains(&name) {
            let suffix = format!("~{n}");
            name = base
                .chars()
                .take(MAX_SHEET_NAME - suffix.chars().count())
                .collect::<String>()
                + &suffix;
            n += 1;
        }
        used.push(name.clone());
        let ws = wb.add_worksheet();
        ws.set_name(&name).map_err(internal)?;
        header_row(ws, &cols).map_err(internal)?;
        for (r, row) in sh.rows.iter().enumerate() {
            for (k, val) in row {
                let c = cols.iter().position(|x| x == k).unwrap_or(0);
                write_cell(ws, r as u32 + 1, c as u16, val, &f).map_err(internal)?;
            }
        }
    }
    wb.save_to_buffer().map_err(internal)
}

/// The Chinese title of a key path (each key labelled in the context of its parent).
fn path_title(path: &[String], sep: &str) -> String {
    path.iter()
        .enumerate()
        .map(|(i, k)| label(if i == 0 { "" } else { &path[i - 1] }, k))
        .collect::<Vec<_>>()
        .join(sep)
}

/// The report's top level and the objects in it: scalars to 概要, lists of rows to sheets.
fn top(path: &[String], v: &Value, scalars: &mut Vec<(String, Cell)>, sheets: &mut Vec<Sheet>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if m.contains_key(&format!("{k}_cn")) {
                    continue;
                }
                let p: Vec<String> = path.iter().cloned().chain([k.clone()]).collect();
                top(&p, x, scalars, sheets);
            }
        }
        x if is_object_list(x) => {
            let items = x.as_array().map(Vec::as_slice).unwrap_or_default();
            rows(path, items, &[], sheets);
        }
        other => {
            let key = path.last().map(String::as_str).unwrap_or("");
            scalars.push((path_title(path, "·"), cell(key, other)))
        }
    }
}

/// Adds `items` (objects) as rows of the sheet of `path`, each led by `ctx`.
fn rows(path: &[String], items: &[Value], ctx: &[(String, Cell)], sheets: &mut Vec<Sheet>) {
    let idx = match sheets.iter().position(|s| s.path == path) {
        Some(i) => i,
        None => {
            sheets.push(Sheet {
                path: path.to_vec(),
                rows: Vec::new(),
            });
            sheets.len() - 1
        }
    };
    let list_key = path.last().map(String::as_str).unwrap_or("");
    for it in items {
        let Value::Object(m) = it else { continue };
        let mut row: Vec<(String, Cell)> = ctx.to_vec();
        let mut nested: Vec<(Vec<String>, &Vec<Value>)> = Vec::new();
        flatten(list_key, "", &[], m, &mut row, &mut nested);
        // Identifying columns of this row for the sheets of its nested lists.
        let who = singular(list_key);
        let mut child_ctx: Vec<(String, Cell)> = ctx.to_vec();
        for k in ID_KEYS {
            if let Some(x) = m.get(*k).filter(|x| !x.is_object() && !x.is_array()) {
                child_ctx.push((format!("{who}·{}", label(list_key, k)), cell(k, x)));
            }
        }
        sheets[idx].rows.push(row);
        for (sub, list) in nested {
            let p: Vec<String> = path.iter().cloned().chain(sub).collect();
            rows(&p, list, &child_ctx, sheets);
        }
    }
}

/// The columns of one row object: scalars (and lists of scalars) as cells, objects flattened
/// with `·`-joined labels, lists of objects handed back as nested sheets; a code with its
/// Chinese twin beside it (`kind`, `kind_cn`) only as the twin.
fn flatten<'a>(
    parent: &str,
    prefix: &str,
    sub: &[String],
    m: &'a serde_json::Map<String, Value>,
    row: &mut Vec<(String, Cell)>,
    nested: &mut Vec<(Vec<String>, &'a Vec<Value>)>,
) {
    for (k, x) in m {
        if m.contains_key(&format!("{k}_cn")) {
            continue;
        }
        let l = label(parent, k);
        let name = if prefix.is_empty() {
            l
        } else {
            format!("{prefix}·{l}")
        };
        let path: Vec<String> = sub.iter().cloned().chain([k.clone()]).collect();
        match x {
            Value::Object(o) => flatten(k, &name, &path, o, row, nested),
            Value::Array(a) if is_object_list(x) => nested.push((path, a)),
            other => row.push((name, cell(k, other))),
        }
    }
}

/// The Chinese file name of a download (`devices` → 设备, `report-water-2026-11` →
/// 水环境质量报告-2026年11月, `air-2026` → 空气质量报告-2026年).
pub fn chinese_name(name: &str) -> String {
    let period = |rest: &str| -> String {
        match rest.split_once('-') {
            Some((y, m)) => format!("{y}年{m}月"),
            None if rest.is_empty() => String::new(),
            None => format!("{rest}年"),
        }
    };
    if let Some(rest) = name.strip_prefix("air-") {
        return format!("空气质量报告-{}", period(rest));
    }
    if let Some(rest) = name.strip_prefix("report-") {
        let (kind, when) = rest.split_once('-').unwrap_or((rest, ""));
        let title = match kind {
            "water" => "水环境质量报告",
            "noise" => "声环境质量报告",
            "sources" => "污染源排放报告",
            "quality" => "数据质量报告",
            _ => "报告",
        };
        return format!("{title}-{}", period(when));
    }
    match table_title(name) {
        "数据" => name.to_string(),
        t => t.to_string(),
    }
}

/// `Content-Disposition` of a download: the English name for old clients, the Chinese one
/// (RFC 6266 / RFC 5987 `filename*`) for browsers.
pub fn disposition(name: &str, ext: &str) -> String {
    let cn = format!("{}.{ext}", chinese_name(name));
    let enc: String = cn
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{name}.{ext}\"; filename*=UTF-8''{enc}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_are_typed() {
        assert_eq!(
            cell("last_seen", &json!("2026-12-04T11:00:00+08:00")),
            Cell::DateTime(2026, 12, 4, 11, 0, 0)
        );
        assert_eq!(cell("date", &json!("2026-12-04")), Cell::Date(2026, 12, 4));
        assert_eq!(cell("value", &json!("12.30")), Cell::Number(12.3, Some(2)));
        assert_eq!(cell("value", &json!("12.30")).text(), "12.30");
        // A code that looks like a number stays text.
        assert_eq!(
            cell("mn", &json!("88888880000001")),
            Cell::Text("88888880000001".into())
        );
        assert_eq!(
            cell("kind", &json!("drinking_water")),
            Cell::Text("饮用水水源地".into())
        );
        assert_eq!(cell("zone", &json!("class2")), Cell::Text("二类区".into()));
        assert_eq!(
            cell("pollutant", &json!("w01018")),
            Cell::Text("化学需氧量".into())
        );
        assert_eq!(
            cell("last_seen", &json!("2026-12-04T11:00:00+08:00")).text(),
            "2026-12-04 11:00"
        );
        assert_eq!(cell("online", &json!(true)).text(), "是");
    }

    #[test]
    fn download_names_in_chinese() {
        assert_eq!(chinese_name("devices"), "设备");
        assert_eq!(
            chinese_name("report-water-2026-11"),
            "水环境质量报告-2026年11月"
        );
        assert_eq!(chinese_name("air-2026"), "空气质量报告-2026年");
        assert_eq!(
            disposition("devices", "xlsx"),
            "attachment; filename=\"devices.xlsx\"; filename*=UTF-8''%E8%AE%BE%E5%A4%87.xlsx"
        );
    }
}
