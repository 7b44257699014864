//! The Chinese `message` of every API error (`{"error", "detail", "message"}`): what the UI
//! shows a user. `detail` stays the English text clients and logs have always had; the
//! message says the same in the bureau's language, with names and Beijing times as people
//! write them (`2026-12-04 11:00`).
//!
//! One table of patterns over the details the API (and the engine and store beneath it)
//! produce, `{}` marking the parts that vary; a detail no pattern knows gets the status's
//! Chinese meaning with the detail in brackets, so nothing is ever lost. The JSON and query
//! rejections of the extractors (plain text from axum) are turned into the same JSON by
//! [`plain_rejections`].

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The Chinese message for an error with this status and English detail.
pub fn chinese(status: StatusCode, detail: &str) -> String {
    let d = detail.trim();
    if let Some(m) = translate(d) {
        return m;
    }
    // Details written in Chinese already (with an English gloss in brackets) stay as they are.
    if d.chars().any(is_cjk) && !d.contains(" (") {
        return d.to_string();
    }
    if d.is_empty() {
        return generic(status).to_string();
    }
    format!("{}({d})", generic(status))
}

/// Whether the message is a translation rather than the generic fallback (tests).
pub fn is_translated(status: StatusCode, detail: &str) -> bool {
    let m = chinese(status, detail);
    !m.starts_with(&format!("{}(", generic(status))) && m.chars().any(is_cjk)
}

pub fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3000}'..='\u{303f}').contains(&c)
}

fn generic(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "请求有误",
        401 => "请先登录",
        403 => "无权执行此操作",
        404 => "未找到或无权查看",
        405 => "不支持的请求方式",
        409 => "当前状态不允许此操作",
        413 => "提交的内容过大",
        415 => "提交的内容格式不受支持",
        422 => "提交的内容格式不正确",
        429 => "请求过于频繁,请稍后再试",
        500..=599 => "服务器内部错误,请稍后重试或联系系统管理员",
        _ => "请求失败",
    }
}

/// The `{}` holes of `pat` in `s`: literal parts must match in order, the last hole runs to
/// the final literal (or the end). Adjacent holes are not supported.
fn holes<'a>(pat: &str, s: &'a str) -> Option<Vec<&'a str>> {
    let parts: Vec<&str> = pat.split("{}").collect();
    let mut rest = s.strip_prefix(parts[0])?;
    let mut out = Vec::new();
    let n = parts.len();
    for (i, lit) in parts.iter().enumerate().skip(1) {
        let last = i == n - 1;
        if lit.is_empty() {
            if !last {
                return None;
            }
            out.push(rest);
            rest = "";
            continue;
        }
        let at = if last {
            rest.strip_suffix(lit)?.len()
        } else {
            rest.find(lit)?
        };
        out.push(&rest[..at]);
        rest = &rest[at + lit.len()..];
    }
    rest.is_empty().then_some(out)
}

type Rule = (&'static str, fn(&[&str]) -> String);

/// Patterns, most specific first.
const RULES: &[Rule] = &[
    // accounts
    ("wrong user name or password (用户名或密码错误)", |_| "用户名或密码错误".into()),
    ("too many failed logins; try again in {} s", |h| format!("登录失败次数过多,请 {} 秒后再试", h[0])),
    ("login required (session cookie or bearer token)", |_| "请先登录(未登录或登录已过期)".into()),
    ("role {} may not {} {}", |h| format!("当前角色({})无权执行此操作", role_cn(h[0]))),
    ("{} {}: not in the route table", |_| "没有这个接口".into()),
    ("an administrator cannot disable their own account", |_| "管理员不能停用自己的账号".into()),
    ("user {} exists", |h| format!("用户 {} 已存在", h[0])),
    // alarm workflow (engine::alarms)
    ("alarm {}: cannot {} an alarm that is {} ({}); {} needs status {}", |h| {
        let verb = if h[1] == "handle" { "提交处置反馈" } else { action_cn(h[1]) };
        format!("告警 {} 当前为「{}」,不能{verb}(须为{})", h[0], h[3], statuses_cn(h[5]))
    }),
    ("dispatch alarm {}: deadline {} is not after now ({})", |h| {
        format!("处置期限 {} 须晚于当前时间 {}", display_time(h[1]), display_time(h[2]))
    }),
    ("reopen alarm {}: deadline {} is not after now", |h| {
        format!("处置期限 {} 须晚于当前时间", display_time(h[1]))
    }),
    ("to={}: expected a department ({}) or a town code of the profile", |h| {
        format!("派发对象「{}」无效:应为 {} 或本县的乡镇(街道)", h[0], h[1])
    }),
    ("status={}: expected open, all, new, acknowledged, dispatched, handled, closed or cleared", |h| {
        format!("告警状态「{}」无效", h[0])
    }),
    ("{}: {} must not be empty", |h| format!("{}:请填写{}", action_cn(h[0]), field_cn(h[1]))),
    // audit marks (web::audit_marks, store::quality)
    ("reason: {}必须填写原因 (a reason is required)", |h| format!("{}必须填写原因", h[0])),
    ("valid: required, true (有效) or false (无效)", |_| "请选择标记为有效或无效".into()),
    ("{}: required", |h| format!("请填写{}", field_cn(h[0]))),
    ("{}: expected a string", |h| format!("{}应为文本", field_cn(h[0]))),
    ("{} is mandatory for an audit mark", |h| format!("审核标记必须填写{}", field_cn(h[0]))),
    ("no stored value for site {} code {} field {} period {} time {}", |h| {
        format!("没有这条数据:{}", value_cn(h))
    }),
    ("site {} code {} field {} period {} time {} carries no audit mark to remove", |h| {
        format!("这条数据没有可撤销的审核标记:{}", value_cn(h))
    }),
    ("period={}: expected rtd, min, hour or day", |h| {
        format!("数据类型「{}」无效,应为实时值、分钟值、小时值或日均值", h[0])
    }),
    ("kind={}: expected one of {}", |h| format!("质控发现类型「{}」无效", h[0])),
    // times and periods
    ("{}={}: expected RFC 3339 or YYYY-MM-DD[THH:MM[:SS]] (Beijing)", |h| {
        format!("{}「{}」格式不正确,应为 YYYY-MM-DD HH:MM(北京时间)", time_field_cn(h[0]), h[1])
    }),
    ("from..to: at most 400 days per request", |_| "查询的时间范围不能超过 400 天".into()),
    ("month={}: expected 1..=12", |h| format!("月份「{}」无效,应为 1–12", h[0])),
    ("year={}: expected a year between {} and {}", |h| format!("年份 {} 无效,应在 {}–{} 之间", h[0], h[1], h[2])),
    ("year={}: expected {}..={}", |h| format!("年份 {} 无效,应在 {}–{} 之间", h[0], h[1], h[2])),
    ("year={}: {}", |h| format!("年份「{}」无效", h[0])),
    ("year: {}", |_| "年份无效".into()),
    // indicators
    ("value: expected a number", |_| "数值必须是数字".into()),
    ("source: where the figure comes from is required", |_| "请填写数据来源".into()),
    ("indicator {} {}: value {} is not a number", |_| "数值必须是数字".into()),
    ("indicator {} {}: a source is required", |_| "请填写数据来源".into()),
    // devices and commands
    ("device {} is not connected", |h| format!("设备 {} 当前未连接,无法发送命令;请在设备在线时再试", h[0])),
    ("device {} is not registered", |h| format!("设备 {} 未登记", h[0])),
    ("cp.{}: expected a string or number, got {}", |h| format!("命令参数 {} 应为文本或数字", h[0])),
    // downloads
    ("format={}: expected json, csv or xlsx", |h| format!("导出格式「{}」无效,应为 json、csv 或 xlsx", h[0])),
    ("format={}: expected json or xlsx", |h| format!("导出格式「{}」无效,应为 json 或 xlsx", h[0])),
    ("keys={}: expected cn or en", |h| format!("表头语言「{}」无效,应为 cn 或 en", h[0])),
    ("{} rows do not fit one Excel sheet (at most {}); narrow the filters or use format=csv", |h| {
        format!("共 {} 行,超过 Excel 单个工作表的上限 {} 行;请缩小筛选范围或导出 CSV", h[0], h[1])
    }),
    // extractor rejections (axum's plain-text bodies, see `plain_rejections`)
    ("Failed to deserialize the JSON body into the target type: missing field `{}` at line {}", |h| {
        format!("缺少必填项:{}", field_cn(h[0]))
    }),
    ("Failed to deserialize the JSON body into the target type: {}: missing field `{}` at line {}", |h| {
        format!("缺少必填项:{}", field_cn(h[1]))
    }),
    ("Failed to deserialize the JSON body into the target type: {}: invalid type: {}, expected f64 at line {}", |h| {
        format!("{}必须是数字", field_cn(h[0]))
    }),
    ("Failed to deserialize the JSON body into the target type: {}: invalid type: {}, expected i{} at line {}", |h| {
        format!("{}必须是整数", field_cn(h[0]))
    }),
    ("Failed to deserialize the JSON body into the target type: {}: invalid type: {}, expected a string at line {}", |h| {
        format!("{}应为文本", field_cn(h[0]))
    }),
    ("Failed to deserialize the JSON body into the target type: {}: invalid type: {}, expected a boolean at line {}", |h| {
        format!("{}应为是或否", field_cn(h[0]))
    }),
    ("Failed to deserialize the JSON body into the target type: {}: invalid type: {} at line {}", |h| {
        format!("{}的格式不正确", field_cn(h[0]))
    }),
    ("Failed to deserialize the JSON body into the target type: {}: invalid value: {} at line {}", |h| {
        format!("{}的取值无效", field_cn(h[0]))
    }),
    ("Failed to deserialize the JSON body into the target type: {}", |_| "提交的内容格式不正确".into()),
    ("Failed to parse the request body as JSON: {}", |_| "提交的内容不是有效的 JSON".into()),
    ("Expected request with `Content-Type: application/json`", |_| "请求须以 JSON 提交(Content-Type: application/json)".into()),
    ("Failed to deserialize query string: {}: {}", |h| format!("查询参数{}的格式不正确", field_cn(h[0]))),
    ("Failed to deserialize query string: {}", |_| "查询参数的格式不正确".into()),
    ("Failed to buffer the request body: {}", |_| "提交的内容过大或不完整".into()),
    // not found (`api::not_found`): the object, then ": not found"
    ("{}: not found", |h| not_found_cn(h[0])),
];

fn translate(d: &str) -> Option<String> {
    RULES
        .iter()
        .find_map(|(pat, f)| holes(pat, d).map(|h| f(&h)))
}

fn not_found_cn(what: &str) -> String {
    let (kind, id) = what.split_once(' ').unwrap_or((what, ""));
    let noun = match kind {
        "alarm" => "告警",
        "site" => "点位",
        "device" => "设备",
        "user" => "用户",
        "indicator" => "指标",
        "boundary" => return "县界数据未配置".into(),
        _ => return format!("{}不存在或无权查看", field_cn(what)),
    };
    format!("{noun} {id} 不存在或无权查看")
}

/// A value key of the audit-mark messages: site, code, field, period, time.
fn value_cn(h: &[&str]) -> String {
    format!(
        "点位 {} {} {} {} {}",
        h[0],
        standards::codes::name_or_code(h[1]),
        h[2],
        period_cn(h[3]),
        display_time(h[4])
    )
}

/// `2026-12-04T11:00:00+08:00` → `2026-12-04 11:00` (other text unchanged).
pub fn display_time(t: &str) -> String {
    let b = t.as_bytes();
    if t.len() >= 16 && b[4] == b'-' && b[10] == b'T' && b[13] == b':' {
        format!("{} {}", &t[..10], &t[11..16])
    } else {
        t.to_string()
    }
}

/// Every Beijing time `YYYY-MM-DDTHH:MM:SS+08:00` inside a text (alarm details, step notes)
/// written as `YYYY-MM-DD HH:MM`.
pub fn human_times(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let digit = |j: usize| b.get(j).is_some_and(|c| c.is_ascii_digit());
    while i < b.len() {
        let is_time = b.len() >= i + 19
            && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
                .iter()
                .all(|k| digit(i + k))
            && b[i + 4] == b'-'
            && b[i + 7] == b'-'
            && b[i + 10] == b'T'
            && b[i + 13] == b':'
            && b[i + 16] == b':'
            && (i == 0 || !digit(i - 1));
        if is_time {
            out.push_str(&text[i..i + 10]);
            out.push(' ');
            out.push_str(&text[i + 11..i + 16]);
            i += 19;
            if text[i..].starts_with("+08:00") {
                i += 6;
            }
            continue;
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn period_cn(p: &str) -> &str {
    match p {
        "rtd" => "实时值",
        "min" => "分钟值",
        "hour" => "小时值",
        "day" => "日均值",
        other => other,
    }
}

fn role_cn(r: &str) -> &str {
    crate::auth::Role::parse(r).map(|r| r.label()).unwrap_or(r)
}

fn action_cn(a: &str) -> &str {
    match a {
        "ack" => "确认",
        "dispatch" => "派发",
        "handle" => "处置反馈",
        "close" => "办结",
        "reopen" => "重新打开",
        other => other,
    }
}

/// `acknowledged or dispatched`, `handled, closed or cleared` → 已确认或已派发 …
fn statuses_cn(list: &str) -> String {
    let words: Vec<&str> = list
        .split([',', ' '])
        .filter(|w| !w.is_empty() && *w != "or")
        .map(|w| {
            w.parse::<store::alarms::AlarmStatus>()
                .map(|s| s.cn())
                .unwrap_or(w)
        })
        .collect();
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{}或{last}", rest.join("、")),
        _ => words.join(""),
    }
}

fn time_field_cn(f: &str) -> &str {
    match f {
        "from" => "开始时间",
        "to" => "结束时间",
        "deadline" => "处置期限",
        "time" => "数据时间",
        other => field_cn(other),
    }
}

/// The Chinese name of a request field (JSON body or query).
pub fn field_cn(f: &str) -> &str {
    match f.trim_matches('`') {
        "user" => "用户名",
        "password" => "密码",
        "name" => "名称",
        "display" => "显示名",
        "role" => "角色",
        "scope" => "所属乡镇或企业",
        "label" => "令牌名称",
        "result" => "核查结果",
        "cause" => "原因",
        "measures" => "整改措施",
        "attachments" => "附件",
        "reason" => "原因",
        "to" => "派发对象",
        "deadline" => "处置期限",
        "by" => "操作人",
        "actor" => "操作人",
        "site" => "点位",
        "code" => "污染物",
        "field" => "字段",
        "period" => "数据类型",
        "time" => "数据时间",
        "valid" => "有效性",
        "year" => "年份",
        "month" => "月份",
        "value" => "数值",
        "source" => "数据来源",
        "evidence" => "佐证材料",
        "target" => "是否为目标值",
        "cn" => "命令编码",
        "cp" => "命令参数",
        "from" => "开始时间",
        "page" => "页码",
        "per_page" => "每页条数",
        "limit" => "条数",
        "online" => "在线状态",
        "kind" => "类型",
        "status" => "状态",
        "raw" => "原始数据",
        "disabled" => "停用",
        "q" => "搜索词",
        "a reason (--reason)" => "原因",
        "who (--by)" => "操作人",
        other => other,
    }
}

/// Turns the plain-text rejections of axum's extractors (a JSON body that does not
/// deserialize: 400/415/422; a query string that does not: 400) into the API's JSON error
/// with its Chinese message. The status stays what it was.
pub async fn plain_rejections(res: Response) -> Response {
    let st = res.status();
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !st.is_client_error() || !plain {
        return res;
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let detail = String::from_utf8_lossy(&bytes).to_string();
    let mut out = crate::ApiError(st, detail).into_response();
    for (k, v) in parts.headers.iter() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_inside_text_read_as_people_write_them() {
        assert_eq!(
            human_times(
                "2026-12-04T11:00:00+08:00 小时折算浓度 52，期限 2026-12-07T09:30:00+08:00。"
            ),
            "2026-12-04 11:00 小时折算浓度 52，期限 2026-12-07 09:30。"
        );
        assert_eq!(
            human_times("MN 12026-12-04T11:00:00"),
            "MN 12026-12-04T11:00:00"
        );
    }

    #[test]
    fn holes_capture_the_varying_parts() {
        assert_eq!(
            holes(
                "{}: {} must not be empty",
                "handle: cause must not be empty"
            ),
            Some(vec!["handle", "cause"])
        );
        assert_eq!(holes("a {} b", "a x b c"), None);
        assert_eq!(
            holes("{}: not found", "site X: not found"),
            Some(vec!["site X"])
        );
    }

    #[test]
    fn workflow_errors_in_chinese() {
        let b = StatusCode::BAD_REQUEST;
        assert_eq!(
            chinese(b, "handle: cause must not be empty"),
            "处置反馈:请填写原因"
        );
        assert_eq!(
            chinese(
                StatusCode::CONFLICT,
                "alarm 7: cannot close an alarm that is new (新告警); close needs status handled"
            ),
            "告警 7 当前为「新告警」,不能办结(须为已处置)"
        );
        assert_eq!(
            chinese(
                b,
                "dispatch alarm 3: deadline 2026-12-01T10:00:00+08:00 is not after now (2026-12-04T11:00:00+08:00)"
            ),
            "处置期限 2026-12-01 10:00 须晚于当前时间 2026-12-04 11:00"
        );
        assert_eq!(
            chinese(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Failed to deserialize the JSON body into the target type: missing field `cause` at line 1 column 30"
            ),
            "缺少必填项:原因"
        );
        // Unknown details keep the English in brackets behind the status's meaning.
        assert_eq!(chinese(b, "something new"), "请求有误(something new)");
        assert!(!is_translated(b, "something new"));
        assert!(is_translated(b, "handle: cause must not be empty"));
    }
}
