//! `qingshan report air`: the figures the bureau reports upward, read from the engine's derived
//! tables (brought up to date first). The JSON is a contract (docs/engine.md).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use engine::{AirEngine, AirReport, AreaReport, RulesChoice};
use profile::Profile;
use standards::aqi::AqiStandard;
use standards::Date;

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Ambient air: good days, annual statistics, composite index, attainment, daily AQI.
    Air(AirArgs),
    /// Ambient air hour by hour: real-time AQI per station and for the county (HJ 633
    /// real-time report), 1-h values, moving averages, minute roll-ups and disagreements.
    AirHours(AirHoursArgs),
    /// Surface water and drinking-water sources: classes, targets, river status, compliance.
    Water(WaterArgs),
    /// Acoustic environment: Ld/Ln per point against its GB 3096 zone.
    Noise(NoiseArgs),
    /// Enterprise outlets (hours valid, exceedance events, discharge totals) and the
    /// restaurant fume fleet (online rate, over-limit, fan on while the purifier is off).
    Sources(SourcesArgs),
    /// The plan's 15 indicators per year against their 2025 targets (status, trend, evidence).
    Indicators(crate::indicator::ReportArgs),
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
    #[command(flatten)]
    db: crate::storeargs::StoreArgs,
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
        ReportCommand::AirHours(a) => air_hours(a),
        ReportCommand::Water(a) => water(a),
        ReportCommand::Noise(a) => noise(a),
        ReportCommand::Sources(a) => sources(a),
        ReportCommand::Quality(a) => crate::audit::quality_report(a),
        ReportCommand::Indicators(a) => crate::indicator::report(a),
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
    let (from, to) = crate::report::report_period(a.year, a.month)?;
    let profile = load_profile(&a.profile)?;
    let engine = air_engine(&profile);
    let mut store = a.db.open()?;
    let stats = engine.catch_up(&mut *store).context("updating air_days")?;
    tracing::debug!(?stats, "air_days caught up");
    let rep = AirReport::build(&*store, &engine, from, to, rules)?;
    print(a.format, &rep, write_csv)
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
    AirEngine::from_profile(profile)
}

#[derive(Args)]
pub struct SourcesArgs {
    #[command(flatten)]
    db: crate::storeargs::StoreArgs,
    /// Year (Beijing calendar).
    #[arg(long)]
    year: i32,
    /// Only this month (1–12); adds daily totals.
    #[arg(long)]
    month: Option<u8>,
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// County profile folder (default: the embedded Dianjiang profile).
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Count what was due up to this time (RFC 3339 or Beijing `YYYY-MM-DD[THH:MM[:SS]]`;
    /// default now): the restaurants' online rate expects only intervals ended by then.
    #[arg(long)]
    at: Option<String>,
}

/// `--at` (RFC 3339 or Beijing `YYYY-MM-DD[THH:MM[:SS]]`) as UTC seconds, default now.
pub fn at_or_now(at: Option<&str>) -> anyhow::Result<i64> {
    match at {
        Some(s) => model::parse_user_time(s).with_context(|| {
            format!("--at {s:?}: expected RFC 3339 or YYYY-MM-DD[THH:MM[:SS]] (Beijing)")
        }),
        None => Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64),
    }
}

fn sources(a: SourcesArgs) -> anyhow::Result<std::process::ExitCode> {
    use engine::sources_report::SourcesReport;
    let now = at_or_now(a.at.as_deref())?;
    let (from, to) = crate::report::report_period(a.year, a.month)?;
    let profile = load_profile(&a.profile)?;
    let engine = engine::SourcesEngine::from_profile(
        &profile,
        &standards::emissions::LimitLibrary::national(),
        engine::SourcesPolicy::default(),
        engine::fume::FumePolicy::default(),
    );
    let mut store = a.db.open()?;
    let stats = engine
        .catch_up(&mut *store)
        .context("updating the sources tables")?;
    tracing::debug!(?stats, "sources caught up");
    let rep = SourcesReport::build(&*store, &engine, from, to, now)?;
    print(a.format, &rep, |out, rep| Ok(rep.write_csv(out)?))
}

// ---- report water / report noise (docs/engine-water.md) ----

#[derive(Args)]
pub struct WaterArgs {
    #[command(flatten)]
    db: crate::storeargs::StoreArgs,
    /// Year (Beijing calendar).
    #[arg(long)]
    year: i32,
    /// Only this month (1–12).
    #[arg(long)]
    month: Option<u8>,
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// County profile folder (default: the embedded Dianjiang profile).
    #[arg(long)]
    profile: Option<PathBuf>,
}

/// Same options as `report water`.
pub type NoiseArgs = WaterArgs;

/// Prints a report as pretty JSON or, with its own writer, CSV.
fn print<T: serde::Serialize>(
    format: Format,
    rep: &T,
    csv: impl FnOnce(&mut dyn Write, &T) -> anyhow::Result<()>,
) -> anyhow::Result<std::process::ExitCode> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, rep)?;
            writeln!(out)?;
        }
        Format::Csv => csv(&mut out, rep)?,
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// The year or month a report covers; errors name the flag.
pub(crate) fn report_period(year: i32, month: Option<u8>) -> anyhow::Result<(Date, Date)> {
    standards::date::year_or_month(year, month).map_err(|e| match month {
        Some(m) if !(1..=12).contains(&m) => anyhow::anyhow!("--month {m}: expected 1..=12"),
        _ => anyhow::anyhow!("--year {year}: {e}"),
    })
}

fn load_profile(dir: &Option<PathBuf>) -> anyhow::Result<Profile> {
    Ok(match dir {
        Some(dir) => Profile::load_dir(dir).with_context(|| format!("{}", dir.display()))?,
        None => Profile::dianjiang(),
    })
}

/// The water engine over the profile's sections and drinking-water sources.
pub fn water_engine(profile: &Profile) -> anyhow::Result<engine::WaterEngine> {
    Ok(engine::WaterEngine::from_profile(profile)?)
}

/// The noise engine over the profile's noise points (GB 3096 default day/night hours).
pub fn noise_engine(profile: &Profile) -> anyhow::Result<engine::NoiseEngine> {
    Ok(engine::NoiseEngine::from_profile(profile)?)
}

fn water(a: WaterArgs) -> anyhow::Result<std::process::ExitCode> {
    let (from, to) = report_period(a.year, a.month)?;
    let profile = load_profile(&a.profile)?;
    let engine = water_engine(&profile)?;
    let mut store = a.db.open()?;
    engine
        .catch_up(&mut *store)
        .context("updating water_days")?;
    let rep = engine::WaterReport::build(&*store, &engine, from, to)?;
    print(a.format, &rep, write_water_csv)
}

/// `report water --format csv` columns: one row per site for the period (`period` = `all`),
/// then one per site and month.
pub const WATER_CSV_COLUMNS: [&str; 10] = [
    "kind",
    "site",
    "name",
    "period",
    "target_class",
    "class",
    "met",
    "compliant",
    "main_pollutants",
    "days",
];

fn write_water_csv(out: &mut dyn Write, rep: &engine::WaterReport) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(WATER_CSV_COLUMNS)?;
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let b = |v: Option<bool>| v.map(|x| x.to_string()).unwrap_or_default();
    let mp = |v: &[engine::water_report::MainPollutant]| {
        v.iter()
            .map(|p| match p.multiple {
                Some(m) => format!("{}/{m}", p.item),
                None => p.item.clone(),
            })
            .collect::<Vec<_>>()
            .join(";")
    };
    for s in &rep.sections {
        w.write_record([
            "section".into(),
            s.site.clone(),
            s.name.clone(),
            "all".into(),
            o(&s.target_class),
            o(&s.class),
            b(s.met),
            String::new(),
            mp(&s.main_pollutants),
            s.days.to_string(),
        ])?;
        for m in &s.months {
            w.write_record([
                "section".into(),
                s.site.clone(),
                s.name.clone(),
                m.period.clone(),
                o(&s.target_class),
                o(&m.class),
                b(m.met),
                String::new(),
                mp(&m.main_pollutants),
                m.days.to_string(),
            ])?;
        }
    }
    for s in &rep.drinking_water.sources {
        w.write_record([
            format!("source_{}", s.scope),
            s.site.clone(),
            s.name.clone(),
            "all".into(),
            "III".into(),
            o(&s.class),
            String::new(),
            b(s.compliant),
            String::new(),
            s.months.iter().map(|m| m.days).sum::<usize>().to_string(),
        ])?;
        for m in &s.months {
            w.write_record([
                format!("source_{}", s.scope),
                s.site.clone(),
                s.name.clone(),
                m.month.clone(),
                "III".into(),
                o(&m.class),
                String::new(),
                b(m.compliant),
                m.failed.join(";"),
                m.days.to_string(),
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}

fn noise(a: NoiseArgs) -> anyhow::Result<std::process::ExitCode> {
    let (from, to) = report_period(a.year, a.month)?;
    let profile = load_profile(&a.profile)?;
    let engine = noise_engine(&profile)?;
    let mut store = a.db.open()?;
    engine
        .catch_up(&mut *store)
        .context("updating noise_days")?;
    let rep = engine::NoiseReport::build(&*store, &engine, from, to)?;
    print(a.format, &rep, |out, rep| {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(NOISE_CSV_COLUMNS)?;
        let f = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        for p in &rep.points {
            w.write_record([
                p.site.clone(),
                p.name.clone(),
                p.zone.to_string(),
                p.day_limit.to_string(),
                p.night_limit.to_string(),
                p.days.to_string(),
                p.nights.to_string(),
                f(p.ld_mean),
                f(p.ln_mean),
                p.day_compliant_days.to_string(),
                p.night_compliant_days.to_string(),
                f(p.day_compliance_pct),
                f(p.night_compliance_pct),
            ])?;
        }
        w.flush()?;
        Ok(())
    })
}

/// `report noise --format csv` columns, one row per point.
pub const NOISE_CSV_COLUMNS: [&str; 13] = [
    "site",
    "name",
    "zone",
    "day_limit",
    "night_limit",
    "days",
    "nights",
    "ld_mean",
    "ln_mean",
    "day_compliant_days",
    "night_compliant_days",
    "day_compliance_pct",
    "night_compliance_pct",
];

#[derive(Args)]
pub struct AirHoursArgs {
    #[command(flatten)]
    db: crate::storeargs::StoreArgs,
    /// One station (site code) or `_county`; default: every station and the county.
    #[arg(long)]
    site: Option<String>,
    /// First hour, Beijing time: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` or RFC 3339 (inclusive).
    #[arg(long)]
    from: String,
    /// End, Beijing time (exclusive); a bare date `YYYY-MM-DD` includes that whole day.
    #[arg(long)]
    to: String,
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Judge every hour under one HJ 633 version (HJ633-2012 | HJ633-2026) instead of the one
    /// in force on each date; the output is labelled with it.
    #[arg(long)]
    standard: Option<String>,
    /// County profile folder (default: the embedded Dianjiang profile).
    #[arg(long)]
    profile: Option<PathBuf>,
}

/// CSV columns of `report air-hours`, one row per (site, hour).
pub const AIR_HOURS_CSV_COLUMNS: [&str; 20] = [
    "site", "hour", "rules", "aqi", "level", "category", "primary", "PM25_1H", "PM10_1H", "SO2_1H",
    "NO2_1H", "CO_1H", "O3_1H", "PM25_24H", "PM10_24H", "SO2_24H", "O3_8H", "sources", "disagree",
    "stations",
];

fn user_time(flag: &str, s: &str, end_of_day: bool) -> anyhow::Result<i64> {
    let t = model::parse_user_time(s).with_context(|| {
        format!("{flag} {s:?}: expected YYYY-MM-DD, YYYY-MM-DDTHH:MM (Beijing) or RFC 3339")
    })?;
    let bare_date = s.len() == 10 && s.as_bytes().get(4) == Some(&b'-');
    Ok(if end_of_day && bare_date {
        t + 86_400
    } else {
        t
    })
}

fn air_hours(a: AirHoursArgs) -> anyhow::Result<std::process::ExitCode> {
    let rules = match &a.standard {
        None => RulesChoice::ByDate,
        Some(s) => RulesChoice::Fixed(
            AqiStandard::from_code(s)
                .with_context(|| format!("--standard {s:?}: expected HJ633-2012 or HJ633-2026"))?,
        ),
    };
    let from = user_time("--from", &a.from, false)?;
    let to = user_time("--to", &a.to, true)?;
    if to <= from {
        bail!(
            "--from {} --to {}: the range is empty (--to is exclusive)",
            a.from,
            a.to
        );
    }
    let profile = load_profile(&a.profile)?;
    let engine = engine::AirHourlyEngine::from_air(&air_engine(&profile));
    let mut store = a.db.open()?;
    let stats = engine.catch_up(&mut *store).context("updating air_hours")?;
    tracing::debug!(?stats, "air_hours caught up");
    let rep = engine::AirHoursReport::build(&*store, &engine, a.site.as_deref(), from, to, rules)?;
    print(a.format, &rep, |out, rep| {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(AIR_HOURS_CSV_COLUMNS)?;
        let o = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        for h in &rep.hours {
            let c = |k: &str| o(h.concentrations.get(k).copied().flatten());
            let mut rec = vec![
                h.site.clone(),
                h.hour.clone(),
                h.rules.to_string(),
                h.aqi.map(|x| x.to_string()).unwrap_or_default(),
                h.level.map(|x| x.to_string()).unwrap_or_default(),
                h.category.unwrap_or_default().to_string(),
                h.primary.join(" "),
            ];
            rec.extend(AIR_HOURS_CSV_COLUMNS[7..17].iter().map(|k| c(k)));
            rec.push(
                h.sources
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            rec.push(h.disagree.join(" "));
            rec.push(h.stations.to_string());
            w.write_record(rec)?;
        }
        w.flush()?;
        Ok(())
    })
}
