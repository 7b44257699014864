//! `qingshan audit …`: operator marks on stored values (invalid / valid, with a mandatory reason
//! and who), their trail; and `qingshan report quality` (transmission, validity and effective
//! transmission rates per device). The domain lives in `store::quality` and `engine::quality`;
//! see docs/engine-quality.md.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use engine::{QualityEngine, QualityReport};
use model::Period;
use profile::Profile;
use standards::Date;
use store::quality::{AuditEntry, MarkState, ValueKey};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// 标记一个存储值无效（--invalid）或有效（--valid）：原值不变，记入审核轨迹。
    Mark(MarkArgs),
    /// 撤销一个存储值的审核标记（记入审核轨迹）。
    Unmark(UnmarkArgs),
    /// 审核轨迹：谁、何时、对哪个值、由何状态改为何状态、原因。
    Trail(TrailArgs),
}

#[derive(Args)]
pub struct ValueArgs {
    #[command(flatten)]
    db: crate::storeargs::StoreArgs,
    /// Site code (e.g. AIR-01).
    #[arg(long)]
    site: String,
    /// Pollutant code (HJ 212-2017, e.g. a34004).
    #[arg(long)]
    code: String,
    /// Field (Avg, Rtd, Data, ZsAvg, …).
    #[arg(long)]
    field: String,
    /// rtd|min|hour|day
    #[arg(long)]
    period: String,
    /// The value's time (interval start): YYYY-MM-DD[THH:MM[:SS]] Beijing, RFC 3339, or an HJ 212
    /// DataTime YYYYMMDDhhmmss.
    #[arg(long)]
    time: String,
    /// Why (mandatory).
    #[arg(long)]
    reason: Option<String>,
    /// Who (operator account or name; mandatory).
    #[arg(long)]
    by: Option<String>,
    /// County profile folder for the air stations to update (default: embedded Dianjiang).
    #[arg(long)]
    profile: Option<PathBuf>,
}

#[derive(Args)]
#[group(id = "state", required = true, multiple = false, args = ["invalid", "valid"])]
pub struct MarkArgs {
    #[command(flatten)]
    value: ValueArgs,
    /// Mark the value invalid (left out of every evaluation).
    #[arg(long)]
    invalid: bool,
    /// Mark the value valid (counted with flag N whatever the device flagged).
    #[arg(long)]
    valid: bool,
}

#[derive(Args)]
pub struct UnmarkArgs {
    #[command(flatten)]
    value: ValueArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum TrailFormat {
    Jsonl,
    Csv,
}

#[derive(Args)]
pub struct TrailArgs {
    #[command(flatten)]
    db: crate::storeargs::StoreArgs,
    #[arg(long)]
    site: Option<String>,
    /// Actions taken at or after (YYYY-MM-DD[THH:MM[:SS]] Beijing or RFC 3339).
    #[arg(long)]
    from: Option<String>,
    /// Actions taken before (exclusive).
    #[arg(long)]
    to: Option<String>,
    #[arg(long, value_enum, default_value = "jsonl")]
    format: TrailFormat,
}

pub fn run(cmd: AuditCommand) -> anyhow::Result<std::process::ExitCode> {
    match cmd {
        AuditCommand::Mark(a) => {
            let state = if a.invalid {
                MarkState::Invalid
            } else {
                MarkState::Valid
            };
            change(a.value, Some(state))
        }
        AuditCommand::Unmark(a) => change(a.value, None),
        AuditCommand::Trail(a) => trail(a),
    }
}

fn parse_time(name: &str, s: &str) -> anyhow::Result<i64> {
    model::parse_user_time(s)
        .or_else(|| model::parse_hj212_time(s))
        .with_context(|| {
            format!(
                "--{name} {s:?}: expected YYYY-MM-DD[THH:MM[:SS]] (Beijing), RFC 3339 or YYYYMMDDhhmmss"
            )
        })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn change(a: ValueArgs, state: Option<MarkState>) -> anyhow::Result<std::process::ExitCode> {
    let reason = a.reason.as_deref().map(str::trim).unwrap_or("");
    if reason.is_empty() {
        bail!("审核标记必须填写原因：--reason \"…\"（a reason is mandatory)");
    }
    let by = a.by.as_deref().map(str::trim).unwrap_or("");
    if by.is_empty() {
        bail!("审核标记必须填写操作人：--by USER（who is mandatory)");
    }
    let period: Period = a
        .period
        .parse()
        .map_err(|e| anyhow::anyhow!("--period: {e}"))?;
    let key = ValueKey {
        site: a.site,
        code: a.code,
        field: a.field,
        period,
        time: parse_time("time", &a.time)?,
    };
    let mut store = a.db.open_existing()?;
    let at = now_ms();
    let entry = match state {
        Some(s) => store.mark_value(&key, s, reason, by, at),
        None => store.unmark_value(&key, reason, by, at),
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    // Bring the derived tables up to date now (the mark bumped the value's arrival, so every
    // engine's catch-up picks it up; doing it here keeps the reports current at once).
    let profile = match &a.profile {
        Some(dir) => Profile::load_dir(dir).with_context(|| format!("{}", dir.display()))?,
        None => Profile::dianjiang(),
    };
    crate::report::air_engine(&profile)
        .catch_up(&mut *store)
        .context("updating air_days")?;
    QualityEngine::default()
        .catch_up(&mut *store)
        .context("updating the quality tables")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", entry_json(&entry))?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// One trail entry as JSON (times in Beijing RFC 3339).
pub fn entry_json(e: &AuditEntry) -> serde_json::Value {
    serde_json::json!({
        "id": e.id,
        "at": model::format_beijing(e.at_ms.div_euclid(1000)),
        "by": e.by,
        "action": e.action,
        "before": e.before,
        "after": e.after,
        "reason": e.reason,
        "site": e.site,
        "code": e.code,
        "field": e.field,
        "period": e.period.as_str(),
        "time": model::format_beijing(e.time),
    })
}

/// CSV columns of `audit trail --format csv`.
pub const TRAIL_COLUMNS: [&str; 12] = [
    "id", "at", "by", "action", "before", "after", "reason", "site", "code", "field", "period",
    "time",
];

fn trail(a: TrailArgs) -> anyhow::Result<std::process::ExitCode> {
    let from = a
        .from
        .as_deref()
        .map(|s| parse_time("from", s))
        .transpose()?;
    let to = a.to.as_deref().map(|s| parse_time("to", s)).transpose()?;
    let store = a.db.open_existing()?;
    let rows = store.audit_trail(
        a.site.as_deref(),
        from.map(|t| t * 1000),
        to.map(|t| t * 1000),
    )?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match a.format {
        TrailFormat::Jsonl => {
            for e in &rows {
                writeln!(out, "{}", entry_json(e))?;
            }
        }
        TrailFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(TRAIL_COLUMNS)?;
            for e in &rows {
                let j = entry_json(e);
                w.write_record(TRAIL_COLUMNS.iter().map(|c| match &j[*c] {
                    serde_json::Value::String(s) => s.clone(),
                    v => v.to_string(),
                }))?;
            }
            w.flush()?;
        }
    }
    out.flush()?;
    Ok(std::process::ExitCode::SUCCESS)
}

#[derive(Clone, Copy, ValueEnum)]
pub enum QualityFormat {
    Json,
    Csv,
}

#[derive(Args)]
pub struct QualityArgs {
    #[command(flatten)]
    db: crate::storeargs::StoreArgs,
    /// Year (Beijing calendar).
    #[arg(long)]
    year: i32,
    /// Only this month (1–12): rates per day; otherwise per month.
    #[arg(long)]
    month: Option<u8>,
    #[arg(long, value_enum, default_value = "json")]
    format: QualityFormat,
    /// Days after this date (YYYY-MM-DD) are not expected yet (default: today, Beijing); the
    /// whole of this day is (same as `--at` the next day 00:00).
    #[arg(long, conflicts_with = "at")]
    today: Option<String>,
    /// Count the hours due up to this time (RFC 3339 or Beijing `YYYY-MM-DD[THH:MM[:SS]]`;
    /// default now): hours ending later are not expected yet.
    #[arg(long)]
    at: Option<String>,
    /// County profile folder for the restaurants' opening hours (default: embedded Dianjiang).
    #[arg(long)]
    profile: Option<PathBuf>,
}

fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()
}

/// `qingshan report quality`.
pub fn quality_report(a: QualityArgs) -> anyhow::Result<std::process::ExitCode> {
    let (from, to) = crate::report::report_period(a.year, a.month)?;
    let now = match &a.today {
        Some(s) => {
            let d = parse_date(s).with_context(|| format!("--today {s:?}: expected YYYY-MM-DD"))?;
            engine::time::day_start_utc(d) + 86_400
        }
        None => crate::report::at_or_now(a.at.as_deref())?,
    };
    let profile = match &a.profile {
        Some(dir) => Profile::load_dir(dir).with_context(|| format!("{}", dir.display()))?,
        None => Profile::dianjiang(),
    };
    let schedules = engine::due::Schedules::from_profile(&profile);
    let mut store = a.db.open_existing()?;
    let engine = QualityEngine::new(engine::QualityConfig {
        schedules: schedules.clone(),
        ..Default::default()
    });
    engine
        .catch_up(&mut *store)
        .context("updating the quality tables")?;
    engine.check_offline(&mut *store, now_ms())?;
    let rep = QualityReport::build(&*store, from, to, now, a.month.is_none(), &schedules)?;
    let mut out = std::io::stdout().lock();
    match a.format {
        QualityFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &rep)?;
            writeln!(out)?;
        }
        QualityFormat::Csv => write_quality_csv(&mut out, &rep)?,
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// CSV columns of `report quality --format csv`: per device one row per day (month report) or
/// month (year report), then its total row (`period` = `from..to`).
pub const QUALITY_CSV_COLUMNS: [&str; 10] = [
    "mn",
    "site",
    "period",
    "expected",
    "received",
    "valid",
    "transmission_rate",
    "validity_rate",
    "effective_rate",
    "meets_threshold",
];

fn write_quality_csv(out: &mut dyn Write, rep: &QualityReport) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(QUALITY_CSV_COLUMNS)?;
    let o = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for d in &rep.devices {
        let total = format!("{}..{}", rep.from, rep.to);
        let periods = d
            .days
            .iter()
            .chain(&d.months)
            .map(|p| (&p.period, &p.rates));
        for (period, r) in periods.chain(std::iter::once((&total, &d.rates))) {
            let meets = r.effective_rate.is_some_and(|x| x >= rep.threshold);
            w.write_record([
                d.mn.clone(),
                d.site.clone(),
                period.clone(),
                r.expected.to_string(),
                r.received.to_string(),
                r.valid.to_string(),
                o(r.transmission_rate),
                o(r.validity_rate),
                o(r.effective_rate),
                meets.to_string(),
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}
