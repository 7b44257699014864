//! `qingshan report air`: the figures the bureau reports upward, read from the engine's derived
//! tables (brought up to date first). The JSON is a contract (docs/engine.md).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use engine::{AirEngine, AirReport, AirStation, AreaReport, RulesChoice};
use profile::{Profile, SiteKind};
use standards::aqi::AqiStandard;
use standards::date::days_in_month;
use standards::Date;
use store::SqliteStore;

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Ambient air: good days, annual statistics, composite index, attainment, daily AQI.
    Air(AirArgs),
    /// Data quality: transmission, validity and effective transmission rates per device.
    Quality(crate::audit::QualityArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Json,
    Csv,
}

#[derive(Args)]
pub struct AirArgs {
    /// Data folder (the one `qingshan serve` fills).
    #[arg(long)]
    data: PathBuf,
    /// Year (Beijing calendar).
    #[arg(long)]
    year: i32,
    /// Only this month (1–12).
    #[arg(long)]
    month: Option<u8>,
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Judge every day under one HJ 633 version (HJ633-2012 | HJ633-2026) instead of the one
    /// in force on each date; the output is labelled with it.
    #[arg(long)]
    standard: Option<String>,
    /// County profile folder (default: the embedded Dianjiang profile).
    #[arg(long)]
    profile: Option<PathBuf>,
}

pub fn run(cmd: ReportCommand) -> anyhow::Result<std::process::ExitCode> {
    match cmd {
        ReportCommand::Air(a) => air(a),
        ReportCommand::Quality(a) => crate::audit::quality_report(a),
    }
}

fn air(a: AirArgs) -> anyhow::Result<std::process::ExitCode> {
    let rules = match &a.standard {
        None => RulesChoice::ByDate,
        Some(s) => RulesChoice::Fixed(
            AqiStandard::from_code(s)
                .with_context(|| format!("--standard {s:?}: expected HJ633-2012 or HJ633-2026"))?,
        ),
    };
    let (from, to) = match a.month {
        None => (Date::new(a.year, 1, 1), Date::new(a.year, 12, 31)),
        Some(m) if (1..=12).contains(&m) => (
            Date::new(a.year, m, 1),
            Date::new(a.year, m, days_in_month(a.year, m)),
        ),
        Some(m) => bail!("--month {m}: expected 1..=12"),
    };
    let (from, to) = (
        from.map_err(|e| anyhow::anyhow!("--year: {e}"))?,
        to.map_err(|e| anyhow::anyhow!("--year: {e}"))?,
    );
    let profile = match &a.profile {
        Some(dir) => Profile::load_dir(dir).with_context(|| format!("{}", dir.display()))?,
        None => Profile::dianjiang(),
    };
    let engine = air_engine(&profile);
    let mut store = SqliteStore::open(&a.data)
        .with_context(|| format!("opening the data folder {}", a.data.display()))?;
    let stats = engine.catch_up(&mut store).context("updating air_days")?;
    tracing::debug!(?stats, "air_days caught up");
    let rep = AirReport::build(&store, &engine, from, to, rules)?;
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &rep)?;
            writeln!(out)?;
        }
        Format::Csv => write_csv(&mut out, &rep)?,
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// CSV columns, one row per station then the county.
pub const CSV_COLUMNS: [&str; 16] = [
    "site",
    "from",
    "to",
    "rules",
    "valid_days",
    "good_days",
    "good_days_ratio",
    "heavy_days",
    "PM25_annual_mean",
    "PM10_annual_mean",
    "SO2_annual_mean",
    "NO2_annual_mean",
    "CO_24H_p95",
    "O3_8H_p90",
    "composite_index",
    "attains",
];

fn write_csv(out: &mut dyn Write, rep: &AirReport) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS)?;
    let o = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for a in rep.stations.iter().chain(std::iter::once(&rep.county)) {
        let AreaReport {
            site,
            valid_days,
            good_days,
            good_days_ratio,
            heavy_days,
            ..
        } = a;
        w.write_record([
            site.clone(),
            rep.from.clone(),
            rep.to.clone(),
            rep.rules.to_string(),
            valid_days.to_string(),
            good_days.to_string(),
            o(*good_days_ratio),
            heavy_days.to_string(),
            o(a.pm25_annual_mean),
            o(a.pm10_annual_mean),
            o(a.so2_annual_mean),
            o(a.no2_annual_mean),
            o(a.co_24h_p95),
            o(a.o3_8h_p90),
            o(a.composite_index),
            a.attainment
                .attains
                .map(|b| b.to_string())
                .unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// The air engine over the profile's air stations (urban ones enter the county mean).
pub fn air_engine(profile: &Profile) -> AirEngine {
    AirEngine::new(profile.sites_by_kind(SiteKind::Air).map(|s| AirStation {
        site: s.code.clone(),
        urban: s.air.as_ref().is_some_and(|x| x.urban),
    }))
}
