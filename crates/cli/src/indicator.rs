//! `qingshan indicator set|list` (departments report the plan's manual indicators) and
//! `qingshan report indicators` (every indicator per year against its 2025 target).
//!
//! `report indicators --format json` is a contract: a list of indicators, each with `code`,
//! `name`, `unit`, `target`, `values` (year → value) and `status` (docs/engine.md); added
//! beside them: `partial`, `progress`, `verdict`, `verdict_year`, `verdict_value`,
//! `trend_complete` (a year still running judged only once decided).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use engine::indicators::IndicatorReport;
use profile::{Computation, Profile};
use store::indicators::{EntryKind, IndicatorEntry};

use crate::report::Format;

#[derive(Subcommand)]
pub enum IndicatorCommand {
    /// Records a department's figure for an indicator and year (a value, or with `--target`
    /// the target a higher level assigned). Entries are kept; the newest one counts.
    Set(SetArgs),
    /// Lists every entry made, oldest first.
    List {
        #[command(flatten)]
        db: crate::storeargs::StoreArgs,
        #[arg(long)]
        code: Option<String>,
    },
}

#[derive(Args)]
pub struct SetArgs {
    #[command(flatten)]
    db: crate::storeargs::StoreArgs,
    /// Indicator code of the profile (I01…I15).
    #[arg(long)]
    code: String,
    #[arg(long)]
    year: i32,
    #[arg(long)]
    value: f64,
    /// Where the figure comes from (required).
    #[arg(long)]
    source: String,
    /// Evidence: document number, file name or link.
    #[arg(long, default_value = "")]
    evidence: String,
    /// Who enters it.
    #[arg(long)]
    by: String,
    /// The figure is the target set by the state or the city, not the year's value.
    #[arg(long)]
    target: bool,
    #[arg(long)]
    profile: Option<PathBuf>,
}

#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    db: crate::storeargs::StoreArgs,
    /// The year whose status is reported (values from 2021 up to it).
    #[arg(long)]
    year: i32,
    /// The Beijing day the report is reckoned to, `YYYY-MM-DD` (default: today): a year not
    /// ended by then is partial (progress, projection; judged only once decided).
    #[arg(long)]
    as_of: Option<String>,
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    #[arg(long)]
    profile: Option<PathBuf>,
}

fn load_profile(dir: &Option<PathBuf>) -> anyhow::Result<Profile> {
    match dir {
        Some(d) => Profile::load_dir(d).with_context(|| d.display().to_string()),
        None => Ok(Profile::dianjiang()),
    }
}

pub fn run(cmd: IndicatorCommand) -> anyhow::Result<std::process::ExitCode> {
    match cmd {
        IndicatorCommand::Set(a) => {
            let profile = load_profile(&a.profile)?;
            let ind = profile.indicator(&a.code).ok_or_else(|| {
                let known: Vec<&str> = profile
                    .indicators()
                    .iter()
                    .map(|i| i.code.as_str())
                    .collect();
                anyhow::anyhow!(
                    "--code {}: no such indicator (known: {})",
                    a.code,
                    known.join(" ")
                )
            })?;
            if !(2000..=2100).contains(&a.year) {
                anyhow::bail!("--year {}: expected a year between 2000 and 2100", a.year);
            }
            let mut store = a.db.open()?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            let id = store.add_indicator_entry(&IndicatorEntry {
                id: 0,
                code: ind.code.clone(),
                year: a.year,
                kind: if a.target {
                    EntryKind::Target
                } else {
                    EntryKind::Value
                },
                value: a.value,
                source: a.source,
                evidence: a.evidence,
                entered_by: a.by,
                entered_ms: now,
            })?;
            if ind.computed_from != Computation::Manual && !a.target {
                eprintln!(
                    "note: {} is computed from monitoring data; the entered figure replaces the computed one for {}",
                    ind.code, a.year
                );
            }
            println!(
                "recorded entry {id}: {} {} {} = {} {}",
                ind.code, ind.name, a.year, a.value, ind.unit
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        IndicatorCommand::List { db, code } => {
            let store = db.open()?;
            let mut out = std::io::stdout().lock();
            for e in store.indicator_entries(code.as_deref())? {
                writeln!(out, "{}", serde_json::to_string(&e)?)?;
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

/// Builds the indicators report (derived tables brought up to date first).
pub fn build_report(
    db: &crate::storeargs::StoreArgs,
    profile: &Profile,
    year: i32,
    today: standards::Date,
) -> anyhow::Result<Vec<IndicatorReport>> {
    let mut store = db.open()?;
    let air = crate::report::air_engine(profile);
    let water = crate::report::water_engine(profile)?;
    engine::indicators::profile_report(&mut *store, profile, &air, &water, year, today)
        .context("indicators report (air_days and water_days brought up to date)")
}

pub fn report(a: ReportArgs) -> anyhow::Result<std::process::ExitCode> {
    let profile = load_profile(&a.profile)?;
    let today = match &a.as_of {
        Some(d) => d
            .parse::<standards::Date>()
            .map_err(|e| anyhow::anyhow!("--as-of {d}: expected YYYY-MM-DD ({e})"))?,
        None => engine::sources_report::beijing_today(),
    };
    let rep = build_report(&a.db, &profile, a.year, today)?;
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &rep)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            let years: Vec<String> = (2020..=a.year).map(|y| y.to_string()).collect();
            let mut head = vec![
                "code",
                "name",
                "unit",
                "type",
                "target",
                "direction",
                "status",
                "trend",
            ];
            head.extend(years.iter().map(String::as_str));
            // Appended after the years (the leading columns are the contract).
            head.extend(["verdict", "verdict_year", "partial", "projection"]);
            w.write_record(&head)?;
            for r in &rep {
                let mut row = vec![
                    r.code.clone(),
                    r.name.clone(),
                    r.unit.clone(),
                    serde_json::to_value(r.kind)?
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    r.target
                        .value
                        .map(|v| v.to_string())
                        .or(r.target.text.clone())
                        .unwrap_or_default(),
                    r.target.direction.unwrap_or_default().to_string(),
                    serde_json::to_value(r.status)?
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    serde_json::to_value(r.trend)?
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ];
                row.extend(
                    years
                        .iter()
                        .map(|y| r.values.get(y).map(|v| v.to_string()).unwrap_or_default()),
                );
                row.extend([
                    serde_json::to_value(r.verdict)?
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    r.verdict_year.to_string(),
                    r.partial.to_string(),
                    r.progress
                        .as_ref()
                        .and_then(|p| p.projection)
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                ]);
                w.write_record(&row)?;
            }
            w.flush()?;
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
