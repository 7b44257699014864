//! `qingshan alarm …`: list, inspect and follow up alarms in a data folder; `scan` runs the
//! rules over what the folder holds. JSON shapes: docs/engine-alarms.md.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use engine::alarms::{AlarmEngine, AlarmFilter, AlarmStatus, Alarms, Dispatch, Handling};
use profile::Profile;
use store::alarms::Alarm;
use store::Backend;

#[derive(Subcommand)]
pub enum AlarmCommand {
    /// List alarms (newest first).
    List(ListArgs),
    /// One alarm with its steps.
    Show(IdArgs),
    /// Acknowledge (确认) a new alarm.
    Ack(ByArgs),
    /// Dispatch (派发) to a department or town with a deadline.
    Dispatch(DispatchArgs),
    /// Record the handling (处置反馈): result, cause, measures, attachments.
    Handle(HandleArgs),
    /// Close (办结) a handled alarm.
    Close(ByArgs),
    /// Reopen a handled, closed or cleared alarm, with a reason.
    Reopen(ReopenArgs),
    /// Run the rules over the folder: catch up on stored data, offline and overdue checks.
    Scan(ScanArgs),
}

#[derive(Args)]
pub struct Common {
    #[command(flatten)]
    db: crate::storeargs::StoreArgs,
    /// The time of the action (RFC 3339 or Beijing `YYYY-MM-DD[THH:MM[:SS]]`; default now).
    #[arg(long)]
    at: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Json,
    Csv,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    c: Common,
    /// `open` (not closed, not cleared), `all`, or one status (new, acknowledged, dispatched,
    /// handled, closed, cleared).
    #[arg(long, default_value = "open")]
    status: String,
    #[arg(long)]
    site: Option<String>,
    #[arg(long)]
    rule: Option<String>,
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
}

#[derive(Args)]
pub struct IdArgs {
    id: i64,
    #[command(flatten)]
    c: Common,
}

#[derive(Args)]
pub struct ByArgs {
    id: i64,
    /// Who does it.
    #[arg(long)]
    by: String,
    #[command(flatten)]
    c: Common,
}

#[derive(Args)]
pub struct DispatchArgs {
    id: i64,
    /// Department name or town code.
    #[arg(long)]
    to: String,
    /// Deadline (RFC 3339 or Beijing `YYYY-MM-DD[THH:MM[:SS]]`).
    #[arg(long)]
    deadline: String,
    #[arg(long)]
    by: String,
    #[command(flatten)]
    c: Common,
}

#[derive(Args)]
pub struct HandleArgs {
    id: i64,
    /// 核查结果.
    #[arg(long)]
    result: String,
    /// 原因.
    #[arg(long)]
    cause: String,
    /// 措施.
    #[arg(long)]
    measures: String,
    /// Attachment file name or URL (repeatable).
    #[arg(long = "attachment")]
    attachments: Vec<String>,
    #[arg(long)]
    by: String,
    #[command(flatten)]
    c: Common,
}

#[derive(Args)]
pub struct ReopenArgs {
    id: i64,
    #[arg(long)]
    reason: String,
    /// New deadline when it goes back to the department.
    #[arg(long)]
    deadline: Option<String>,
    #[arg(long)]
    by: String,
    #[command(flatten)]
    c: Common,
}

#[derive(Args)]
pub struct ScanArgs {
    #[command(flatten)]
    c: Common,
    /// County profile folder (default: the embedded Dianjiang profile).
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Late and back-filled hours up to this many days before `--at` raise alarms (marked
    /// late); older ones do not.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=400))]
    late_alarm_days: u32,
}

fn time(s: &str, what: &str) -> Result<i64> {
    model::parse_user_time(s)
        .map(|t| t * 1000)
        .with_context(|| {
            format!("{what} {s:?}: expected RFC 3339 or YYYY-MM-DD[THH:MM[:SS]] (Beijing)")
        })
}

fn now_ms(c: &Common) -> Result<i64> {
    match &c.at {
        Some(s) => time(s, "--at"),
        None => Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis() as i64),
    }
}

fn open(c: &Common) -> Result<Box<dyn Backend>> {
    c.db.open()
}

fn print_json(v: &serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

fn with_steps(store: &dyn Backend, a: &Alarm) -> Result<serde_json::Value> {
    let mut v = a.to_json();
    let steps: Vec<serde_json::Value> = store
        .alarm_steps(a.id)?
        .into_iter()
        .map(|s| {
            serde_json::json!({
                "at": model::format_beijing(s.at_ms.div_euclid(1000)),
                "action": s.action, "by": s.by, "from": s.from_status, "to": s.to_status,
                "note": s.note,
            })
        })
        .collect();
    v["steps"] = serde_json::Value::Array(steps);
    Ok(v)
}

pub fn run(cmd: AlarmCommand) -> Result<std::process::ExitCode> {
    match cmd {
        AlarmCommand::List(a) => list(a)?,
        AlarmCommand::Show(a) => {
            let store = open(&a.c)?;
            let al = store.alarm(a.id)?.with_context(|| {
                format!("alarm {} does not exist in {}", a.id, a.c.db.describe())
            })?;
            print_json(&with_steps(&*store, &al)?)?;
        }
        AlarmCommand::Ack(a) => {
            let t = now_ms(&a.c)?;
            let mut s = open(&a.c)?;
            let r = Alarms::new(&mut *s).acknowledge(a.id, &a.by, t)?;
            print_json(&with_steps(&*s, &r)?)?;
        }
        AlarmCommand::Dispatch(a) => {
            let t = now_ms(&a.c)?;
            let d = Dispatch {
                to: a.to.clone(),
                deadline_ms: time(&a.deadline, "--deadline")?,
            };
            let mut s = open(&a.c)?;
            let r = Alarms::new(&mut *s).dispatch(a.id, &d, &a.by, t)?;
            print_json(&with_steps(&*s, &r)?)?;
        }
        AlarmCommand::Handle(a) => {
            let t = now_ms(&a.c)?;
            let h = Handling {
                result: a.result,
                cause: a.cause,
                measures: a.measures,
                attachments: a.attachments,
                by: a.by,
                at_ms: t,
            };
            let mut s = open(&a.c)?;
            let r = Alarms::new(&mut *s).handle(a.id, &h, t)?;
            print_json(&with_steps(&*s, &r)?)?;
        }
        AlarmCommand::Close(a) => {
            let t = now_ms(&a.c)?;
            let mut s = open(&a.c)?;
            let r = Alarms::new(&mut *s).close(a.id, &a.by, t)?;
            print_json(&with_steps(&*s, &r)?)?;
        }
        AlarmCommand::Reopen(a) => {
            let t = now_ms(&a.c)?;
            let d = a
                .deadline
                .as_deref()
                .map(|d| time(d, "--deadline"))
                .transpose()?;
            let mut s = open(&a.c)?;
            let r = Alarms::new(&mut *s).reopen(a.id, &a.reason, d, &a.by, t)?;
            print_json(&with_steps(&*s, &r)?)?;
        }
        AlarmCommand::Scan(a) => {
            let t = now_ms(&a.c)?;
            let profile = match &a.profile {
                Some(dir) => {
                    Profile::load_dir(dir).with_context(|| format!("{}", dir.display()))?
                }
                None => Profile::dianjiang(),
            };
            let mut s = open(&a.c)?;
            crate::report::air_engine(&profile)
                .catch_up(&mut *s)
                .context("updating air_days")?;
            crate::report::water_engine(&profile)?
                .catch_up(&mut *s)
                .context("updating water_days")?;
            engine::QualityEngine::new(engine::QualityConfig {
                schedules: engine::due::Schedules::from_profile(&profile),
                ..Default::default()
            })
            .catch_up(&mut *s)
            .context("updating the data-quality findings")?;
            let e = AlarmEngine::new(crate::engines::alarm_config(&profile, a.late_alarm_days))?;
            let r = e.catch_up(&mut *s, t)?;
            let k = e.tick(&mut *s, t)?;
            print_json(&serde_json::json!({
                "hours": r.hours, "days": r.days,
                "raised": r.raised + k.raised, "cleared": r.cleared + k.cleared,
                "offline_sites": k.offline_sites, "escalated": k.escalated,
                "open": s.alarms(&open_filter())?.len(),
            }))?;
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn open_filter() -> AlarmFilter {
    AlarmFilter {
        statuses: AlarmStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_open())
            .collect(),
        ..AlarmFilter::default()
    }
}

fn list(a: ListArgs) -> Result<()> {
    let mut f = match a.status.as_str() {
        "open" => open_filter(),
        "all" => AlarmFilter::default(),
        s => match s.parse::<AlarmStatus>() {
            Ok(st) => AlarmFilter {
                statuses: vec![st],
                ..AlarmFilter::default()
            },
            Err(e) => bail!("--status: {e}, open, all"),
        },
    };
    f.site = a.site;
    f.rule = a.rule;
    let store = open(&a.c)?;
    let alarms = store.alarms(&f)?;
    match a.format {
        Format::Json => print_json(&serde_json::Value::Array(
            alarms.iter().map(Alarm::to_json).collect(),
        ))?,
        Format::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout().lock());
            w.write_record([
                "id",
                "rule",
                "site",
                "pollutant",
                "severity",
                "severity_cn",
                "status",
                "active",
                "first_seen",
                "last_seen",
                "count",
                "value",
                "peak",
                "limit",
                "assignee",
                "deadline",
                "overdue",
                "title",
            ])?;
            for al in &alarms {
                let j = al.to_json();
                let s = |k: &str| match &j[k] {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                w.write_record([
                    s("id"),
                    s("rule"),
                    s("site"),
                    s("pollutant"),
                    s("severity"),
                    s("severity_cn"),
                    s("status"),
                    s("active"),
                    s("first_seen"),
                    s("last_seen"),
                    s("count"),
                    s("value"),
                    s("peak"),
                    s("limit"),
                    s("assignee"),
                    s("deadline"),
                    s("overdue"),
                    s("title"),
                ])?;
            }
            w.flush()?;
        }
    }
    Ok(())
}
