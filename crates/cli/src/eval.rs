//! `qingshan eval …` — evaluate measurements against the national standards.
//!
//! Contract (documented in `docs/standards.md`): each subcommand reads JSON objects, one per
//! line, on stdin and writes exactly one JSON object per input line on stdout. A bad line gets
//! `{"error":"line N, key K: …"}` and the rest continue; the exit code is non-zero only on an
//! I/O failure. All arithmetic is exact decimal (see the `standards` crate).

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::str::FromStr;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Map, Value};
use standards::aqi::{self, AqiStandard, IaqiOutcome, IaqiRule, Indicator, Reading, ReportKind};
use standards::noise::{self, DayNight, Period, Zone};
use standards::rounding::gbt8170;
use standards::water::{self, WaterBody, WaterItem};
use standards::{Date, Decimal};

#[derive(Subcommand)]
pub enum EvalCommand {
    /// AQI by HJ 633-2012 or HJ 633-2026: {"PM25_24H":80,…} per line → {"aqi":107,…}.
    Aqi(AqiArgs),
    /// Surface-water class by GB 3838-2002 / 环办〔2011〕22号: {"NH3N":1.3,…} → {"class":"IV",…}.
    Water(WaterArgs),
    /// Acoustic-environment verdict by GB 3096-2008: {"period":"night","leq":…,"lmax":…}.
    Noise(NoiseArgs),
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("version").required(true).args(["standard", "date"])))]
pub struct AqiArgs {
    /// Version: HJ633-2012 or HJ633-2026.
    #[arg(long)]
    standard: Option<String>,
    /// Pick the version in force on this date (YYYY-MM-DD): HJ633-2026 from 2026-03-01.
    #[arg(long)]
    date: Option<String>,
    /// Report: daily, hourly, or auto (the report whose indicator set the keys match best).
    #[arg(long, value_enum, default_value_t = ReportArg::Auto)]
    report: ReportArg,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportArg {
    Auto,
    Daily,
    Hourly,
}

#[derive(Args)]
pub struct WaterArgs {
    /// Lake or reservoir (lake TP column; TN evaluated for reference).
    #[arg(long)]
    lake: bool,
}

#[derive(Args)]
pub struct NoiseArgs {
    /// GB 3096-2008 zone: 0, 1, 2, 3, 4a, 4b.
    #[arg(long)]
    zone: String,
    /// Start of the day period (HH:MM) when lines give "time" instead of "period".
    #[arg(long, default_value = "06:00")]
    day_start: String,
    /// Start of the night period (HH:MM).
    #[arg(long, default_value = "22:00")]
    night_start: String,
}

pub fn run(cmd: EvalCommand) -> anyhow::Result<std::process::ExitCode> {
    match cmd {
        EvalCommand::Aqi(a) => {
            let std = match (&a.standard, &a.date) {
                (Some(s), _) => AqiStandard::from_code(s).with_context(|| {
                    format!("--standard {s:?}: expected HJ633-2012 or HJ633-2026")
                })?,
                (None, Some(d)) => {
                    let date = Date::from_str(d).map_err(|e| anyhow::anyhow!("--date: {e}"))?;
                    AqiStandard::in_force_on(date)
                }
                (None, None) => unreachable!("clap requires --standard or --date"),
            };
            let report = a.report;
            process(|line| eval_aqi(std, report, line))
        }
        EvalCommand::Water(w) => {
            let body = if w.lake {
                WaterBody::LakeReservoir
            } else {
                WaterBody::River
            };
            process(|line| eval_water(body, line))
        }
        EvalCommand::Noise(n) => {
            let zone = Zone::from_code(&n.zone).with_context(|| {
                format!("--zone {:?}: expected one of 0, 1, 2, 3, 4a, 4b", n.zone)
            })?;
            let hours = DayNight {
                day_start_min: parse_hhmm(&n.day_start)
                    .map_err(|e| anyhow::anyhow!("--day-start: {e}"))?,
                night_start_min: parse_hhmm(&n.night_start)
                    .map_err(|e| anyhow::anyhow!("--night-start: {e}"))?,
            };
            process(|line| eval_noise(zone, hours, line))
        }
    }
}

/// Reads stdin line by line and writes one JSON object per line. Only I/O errors abort.
fn process(f: impl Fn(&str) -> Result<Value, String>) -> anyhow::Result<std::process::ExitCode> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (i, line) in stdin.lock().lines().enumerate() {
        let line = line.context("reading stdin")?;
        let n = i + 1;
        let v = f(&line).unwrap_or_else(|e| json!({ "error": format!("line {n}{e}") }));
        serde_json::to_writer(&mut out, &v).context("writing stdout")?;
        out.write_all(b"\n").context("writing stdout")?;
        out.flush().context("writing stdout")?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Parses one line into a JSON object. Errors start with ", " or ": " (appended to "line N").
fn object(line: &str) -> Result<Map<String, Value>, String> {
    if line.trim().is_empty() {
        return Err(": empty line, expected a JSON object".into());
    }
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(": expected a JSON object".into()),
        Err(e) => Err(format!(": invalid JSON: {e}")),
    }
}

/// An exact decimal from a JSON number or numeric string.
fn decimal(key: &str, v: &Value) -> Result<Decimal, String> {
    let s = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        other => return Err(format!(", key {key}: expected a number, got {other}")),
    };
    let d = if s.contains(['e', 'E']) {
        Decimal::from_scientific(&s)
    } else {
        Decimal::from_str(&s)
    };
    d.map_err(|_| format!(", key {key}: not a decimal number: {s:?}"))
}

fn num(d: Decimal) -> Value {
    use std::str::FromStr as _;
    // Through the decimal string, so 0.3 prints as 0.3.
    serde_json::Number::from_str(&d.normalize().to_string())
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn names(v: &[Indicator]) -> Value {
    Value::Array(v.iter().map(|i| json!(i.name())).collect())
}

fn eval_aqi(std: AqiStandard, report: ReportArg, line: &str) -> Result<Value, String> {
    let m = object(line)?;
    let mut readings = BTreeMap::new();
    for (k, v) in &m {
        let ind = Indicator::from_name(k).ok_or_else(|| {
            format!(
                ", key {k}: unknown indicator (expected one of {})",
                Indicator::ALL.map(|i| i.name()).join(" ")
            )
        })?;
        let r = match v {
            Value::Null => Reading::Missing,
            Value::String(s) if s.trim() == "/" => Reading::NotMonitored,
            Value::String(s) if s.trim().eq_ignore_ascii_case("NA") || s.trim().is_empty() => {
                Reading::Missing
            }
            _ => {
                let d = decimal(k, v)?;
                if d.is_sign_negative() && !d.is_zero() {
                    return Err(format!(", key {k}: negative concentration"));
                }
                Reading::Value(d)
            }
        };
        readings.insert(ind, r);
    }
    if readings.is_empty() {
        return Err(": no indicator given".into());
    }
    let kind = match report {
        ReportArg::Daily => ReportKind::Daily,
        ReportArg::Hourly => ReportKind::Hourly,
        ReportArg::Auto => {
            let score = |k| {
                let d = aqi::report_definition(std, k);
                readings
                    .keys()
                    .filter(|i| {
                        d.with_iaqi.contains(i)
                            || d.concentration_only.contains(i)
                            || d.auxiliary.contains(i)
                    })
                    .count()
            };
            if score(ReportKind::Hourly) > score(ReportKind::Daily) {
                ReportKind::Hourly
            } else {
                ReportKind::Daily
            }
        }
    };
    let r = aqi::evaluate(std, kind, &readings).map_err(|e| format!(": {e}"))?;
    let mut iaqi = Map::new();
    let mut above = Vec::new();
    let mut used = Map::new();
    for (ind, x) in &r.iaqi {
        if let IaqiOutcome::Value { iaqi: v, rule } = x.outcome {
            iaqi.insert(ind.name().into(), json!(v));
            if rule != IaqiRule::Interpolated {
                above.push(*ind);
            }
        }
        if x.used_concentration != x.concentration {
            used.insert(ind.name().into(), num(x.used_concentration));
        }
    }
    let cat = r.category;
    let mut o = json!({
        "standard": std.code(),
        "report": kind.code(),
        "aqi": r.aqi,
        "level": cat.map(|c| c.level),
        "category": cat.map(|c| c.name_cn),
        "color": cat.map(|c| c.hex),
        "primary": names(&r.primary),
        "iaqi": iaqi,
        "health_effect": cat.map(|c| c.health_effect_cn),
        "advice": cat.map(|c| c.advice_cn),
    });
    let obj = o.as_object_mut().expect("object");
    if let Some(ex) = &r.exceeding {
        obj.insert("exceeding".into(), names(ex));
    }
    if r.aqi.is_none() && r.aqi_of_available.is_some() {
        obj.insert("aqi_of_available".into(), json!(r.aqi_of_available));
    }
    for (k, v) in [
        ("missing", &r.missing),
        ("not_monitored", &r.not_monitored),
        ("not_in_report", &r.not_in_report),
        ("above_table", &above),
    ] {
        if !v.is_empty() {
            obj.insert(k.into(), names(v));
        }
    }
    if !used.is_empty() {
        obj.insert("rounded_concentration".into(), Value::Object(used));
    }
    if !r.deferred.is_empty() {
        let d: Map<String, Value> = r
            .deferred
            .iter()
            .map(|(a, b)| (a.name().to_string(), json!(b.name())))
            .collect();
        obj.insert("deferred".into(), Value::Object(d));
    }
    if !r.concentration_only.is_empty() {
        let c: Map<String, Value> = r
            .concentration_only
            .iter()
            .map(|(i, v)| (i.name().to_string(), num(*v)))
            .collect();
        obj.insert("concentration_only".into(), Value::Object(c));
    }
    Ok(o)
}

/// Decimal places of the exceedance multiples printed by `eval water` (GB/T 8170, once).
const WATER_EXCEED_DP: u32 = 2;

fn eval_water(body: WaterBody, line: &str) -> Result<Value, String> {
    let m = object(line)?;
    let mut values = Vec::new();
    for (k, v) in &m {
        let item = WaterItem::from_key(k).ok_or_else(|| {
            format!(
                ", key {k}: unknown item (expected one of {})",
                WaterItem::ALL.map(|i| i.key()).join(" ")
            )
        })?;
        if v.is_null() {
            continue;
        }
        let d = decimal(k, v)?;
        if d.is_sign_negative() && !d.is_zero() && item != WaterItem::WaterTemp {
            return Err(format!(", key {k}: negative value"));
        }
        values.push((item, d));
    }
    let ev = water::evaluate_sample(body, &values).map_err(|e| format!(": {e}"))?;
    let classes = |v: &[(WaterItem, water::WaterClass)]| -> Map<String, Value> {
        v.iter()
            .map(|(i, c)| (i.key().to_string(), json!(c.code())))
            .collect()
    };
    let exceed: Map<String, Value> = ev
        .exceed
        .iter()
        .map(|(i, x)| (i.key().to_string(), num(gbt8170(*x, WATER_EXCEED_DP))))
        .collect();
    let keys = |v: &[WaterItem]| Value::Array(v.iter().map(|i| json!(i.key())).collect());
    let mut o = json!({
        "body": match body { WaterBody::River => "river", WaterBody::LakeReservoir => "lake" },
        "class": ev.class.map(|c| c.code()),
        "status": ev.status().map(|s| s.name_cn()),
        "items": classes(&ev.items),
        "exceed": exceed,
        "main_pollutants": keys(&ev.main_pollutants),
    });
    let obj = o.as_object_mut().expect("object");
    if !ev.reference.is_empty() {
        obj.insert("reference".into(), Value::Object(classes(&ev.reference)));
    }
    if !ev.not_evaluated.is_empty() {
        obj.insert("not_evaluated".into(), keys(&ev.not_evaluated));
    }
    if !ev.missing.is_empty() {
        obj.insert("missing".into(), keys(&ev.missing));
    }
    Ok(o)
}

fn parse_hhmm(s: &str) -> Result<u16, String> {
    let bad = || format!("expected HH:MM, got {s:?}");
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn eval_noise(zone: Zone, hours: DayNight, line: &str) -> Result<Value, String> {
    let m = object(line)?;
    for k in m.keys() {
        if !["period", "time", "leq", "lmax"].contains(&k.as_str()) {
            return Err(format!(
                ", key {k}: unknown key (expected period, time, leq, lmax)"
            ));
        }
    }
    let period = match (m.get("period"), m.get("time")) {
        (Some(Value::String(p)), _) => match p.trim() {
            "day" => Period::Day,
            "night" => Period::Night,
            other => {
                return Err(format!(
                    ", key period: expected \"day\" or \"night\", got {other:?}"
                ))
            }
        },
        (Some(v), _) => {
            return Err(format!(
                ", key period: expected \"day\" or \"night\", got {v}"
            ))
        }
        (None, Some(Value::String(t))) => {
            let min = parse_hhmm(t).map_err(|e| format!(", key time: {e}"))?;
            hours.period_at((min / 60) as u8, (min % 60) as u8)
        }
        (None, Some(v)) => return Err(format!(", key time: expected \"HH:MM\", got {v}")),
        (None, None) => return Err(", key period: missing (give period or time)".into()),
    };
    let leq = match m.get("leq") {
        Some(v) => decimal("leq", v)?,
        None => return Err(", key leq: missing".into()),
    };
    let lmax = match m.get("lmax") {
        None | Some(Value::Null) => None,
        Some(v) => Some(decimal("lmax", v)?),
    };
    let v = noise::gb3096_verdict(zone, period, leq, lmax);
    let mut o = json!({
        "standard": "GB3096-2008",
        "zone": zone.code(),
        "period": period.code(),
        "limit": v.limit,
        "compliant": v.compliant,
        "exceedance": num(v.exceedance),
    });
    let obj = o.as_object_mut().expect("object");
    if let Some(l) = v.lmax_limit {
        obj.insert("lmax_limit".into(), json!(l));
        obj.insert("lmax_compliant".into(), json!(v.lmax_compliant));
        obj.insert("lmax_exceedance".into(), json!(v.lmax_exceedance.map(num)));
    }
    Ok(o)
}
