//! The plan's indicators (规划指标, 专栏二) and other quantified targets, per year, against
//! their 2025 targets.
//!
//! Computed from monitoring data: indicator 6 (good air days, the county's urban stations,
//! from the air engine's days) and 7–9 (surface-water sections at Class III or better,
//! drinking-water source compliance urban / township, from the water engine); the PM2.5
//! annual mean target is computed as well. The others are entered each year by the
//! responsible department ([`store::indicators::IndicatorStore`]) with source and evidence.
//!
//! Status of a year (a platform rule, not a standard; docs/engine.md):
//! - the target year (2025) or later: `met` if the value meets the target, else `missed`;
//! - before it: `on_track` if the value already meets the target, else `at_risk`;
//! - `no_data` without a value; `target_pending` when the target is set by the state or the
//!   city and nobody has entered it yet.
//!
//! `status` judges the report year's value as it stands, also while that year is still
//! running (kept so for the tools that read it). `verdict` is what a person reads: it judges
//! the target year's value once the report year is past it, and a year still running
//! (`partial`) only when it is decided — the target can no longer be met, or can no longer be
//! missed, whatever the rest of the year brings ([`Progress`]) — else `in_progress`.
//!
//! Trend: the latest value against the previous year's in the target's direction
//! (`improving`, `worsening`, `stable`), or `unknown`; `trend_complete` the same over
//! complete years only.

use std::collections::BTreeMap;

use profile::{Computation, Direction, Indicator, IndicatorTarget, IndicatorType, Profile};
use serde::Serialize;
use standards::Date;
use store::indicators::{EntryKind, IndicatorEntry, IndicatorStore};
use store::Store;

use crate::air_report::{AirReport, RulesChoice};
use crate::time::days_from_date;
use crate::{AirEngine, Result};

/// The plan's target year.
pub const TARGET_YEAR: i32 = 2025;

/// A store that holds both monitoring data and indicator entries.
pub trait IndicatorSource: Store + IndicatorStore {}
impl<T: Store + IndicatorStore> IndicatorSource for T {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Met,
    OnTrack,
    AtRisk,
    Missed,
    NoData,
    TargetPending,
}

/// The judgement to show ([module docs](self)): `status`'s values, plus `in_progress` for a
/// year still running whose outcome is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Met,
    OnTrack,
    AtRisk,
    Missed,
    InProgress,
    NoData,
    TargetPending,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Improving,
    Worsening,
    Stable,
    Unknown,
}

/// The target as reported: a number with its direction, or who sets it (and, once entered,
/// the figure they set).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetView {
    pub value: Option<f64>,
    /// `>=`, `<=`, `=`.
    pub direction: Option<&'static str>,
    /// The plan's words where it fixes no number (e.g. 市级下达).
    pub text: Option<String>,
}

/// One year's value of an indicator and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YearValue {
    pub year: i32,
    pub value: f64,
    /// `baseline` (the plan's 2020 figure), `computed` (monitoring data) or `entered`.
    pub origin: &'static str,
    pub source: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub evidence: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entered_by: Option<String>,
    /// Basis of a computed figure (e.g. `valid_days=361`); a year still running says so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A computed figure of a year still running (Beijing): `value` is the figure so far.
    pub partial: bool,
    /// For a partial year: so far, the rate so far, a projection and what is still reachable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
}

/// How far a year still running has come (platform rule, docs/engine.md "Plan indicators").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// The Beijing day the year is reckoned to (today).
    pub as_of: String,
    /// Days of the year up to and including `as_of`.
    pub elapsed_days: u32,
    /// Days in the year.
    pub period_days: u32,
    /// The figure so far (the year's `value`).
    pub so_far: f64,
    /// Percent so far: for a count of days, the counted days per valid day (优良天数比例);
    /// for a rate, the rate itself.
    pub rate_so_far: Option<f64>,
    /// The year's figure if the rest of it goes like the part so far: a count of days = the
    /// rate so far × days in the year (whole days); a rate = the rate so far.
    pub projection: Option<f64>,
    /// The lowest and highest figure the year can still end at, given what is decided
    /// already: days already counted and already not good; source-months of months that have
    /// ended. Days and months without data count as still open (they may be back-filled).
    /// `None` where nothing bounds it (a share of sections judged on annual means).
    pub reachable_min: Option<f64>,
    pub reachable_max: Option<f64>,
    /// For a count of days: the valid days so far the rate and projection rest on (a
    /// projection from a few days of a long year says little; GB 3095 Table 4 wants ≥ 324
    /// valid days for a year's statistic). `None` for rates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_days: Option<u32>,
}

/// A computed figure of a year: value, basis, and for a year still running its progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub value: f64,
    pub basis: String,
    pub progress: Option<Progress>,
}

/// `(elapsed days, days in the year)` when `year` has not ended on `today` (Beijing), else
/// `None`.
pub fn running(today: Date, year: i32) -> Option<(u32, u32)> {
    let period = if standards::date::is_leap_year(year) {
        366
    } else {
        365
    };
    match today.year().cmp(&year) {
        std::cmp::Ordering::Greater => None,
        std::cmp::Ordering::Less => Some((0, period)),
        std::cmp::Ordering::Equal => {
            let jan1 = Date::ymd(year, 1, 1);
            Some((
                (days_from_date(today) - days_from_date(jan1) + 1) as u32,
                period,
            ))
        }
    }
}

/// An indicator with its yearly values, target, status and trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorReport {
    pub code: String,
    pub name: String,
    pub field: String,
    pub unit: String,
    /// 约束性 / 预期性.
    #[serde(rename = "type")]
    pub kind: IndicatorType,
    pub computed_from: Computation,
    pub department: Option<String>,
    pub baseline_2020: Option<f64>,
    pub cumulative: bool,
    pub target: TargetView,
    /// Year → value, the contract's compact form.
    pub values: BTreeMap<String, f64>,
    /// The same with origin and evidence.
    pub years: Vec<YearValue>,
    /// Status of the report year's value as it stands (also a part year's; see `verdict`).
    pub status: Status,
    pub trend: Trend,
    /// The report year's value is of a year still running.
    pub partial: bool,
    /// The report year's progress when `partial`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// The judgement to show: of `verdict_year`, decided-or-`in_progress` while it runs.
    pub verdict: Verdict,
    /// The year judged: the report year, or the target year once the report year is past it.
    pub verdict_year: i32,
    /// That year's value.
    pub verdict_value: Option<f64>,
    /// The trend over complete years only (a part year's count is no year's figure).
    pub trend_complete: Trend,
}

fn direction_str(d: Direction) -> &'static str {
    match d {
        Direction::AtLeast => ">=",
        Direction::AtMost => "<=",
        Direction::Equal => "=",
    }
}

/// Status of `value` in `year` against `target` (numeric), per the module rule.
pub fn status_of(value: Option<f64>, target: Option<(f64, Direction)>, year: i32) -> Status {
    let Some((t, dir)) = target else {
        return Status::TargetPending;
    };
    let Some(v) = value else {
        return Status::NoData;
    };
    match (dir.met(v, t), year >= TARGET_YEAR) {
        (true, true) => Status::Met,
        (false, true) => Status::Missed,
        (true, false) => Status::OnTrack,
        (false, false) => Status::AtRisk,
    }
}

/// Whether every figure a running year can still end at meets the target (`Some(true)`),
/// none does (`Some(false)`), or it is still open (`None`).
pub fn decided(p: &Progress, target: f64, dir: Direction) -> Option<bool> {
    let (lo, hi) = (p.reachable_min?, p.reachable_max?);
    let (all, none) = match dir {
        Direction::AtLeast => (lo >= target, hi < target),
        Direction::AtMost => (hi <= target, lo > target),
        Direction::Equal => (
            dir.met(lo, target) && dir.met(hi, target),
            target < lo - 1e-9 || target > hi + 1e-9,
        ),
    };
    if all {
        Some(true)
    } else if none {
        Some(false)
    } else {
        None
    }
}

/// The verdict on `value` (of `year`) against `target`: a complete year as [`status_of`], a
/// running one only once [`decided`], else `in_progress`.
pub fn verdict_of(
    value: Option<&YearValue>,
    target: Option<(f64, Direction)>,
    year: i32,
) -> Verdict {
    let Some((t, dir)) = target else {
        return Verdict::TargetPending;
    };
    let Some(v) = value else {
        return Verdict::NoData;
    };
    let meets = match (&v.progress, v.partial) {
        (Some(p), true) => decided(p, t, dir),
        (None, true) => None,
        _ => Some(dir.met(v.value, t)),
    };
    match (meets, year >= TARGET_YEAR) {
        (None, _) => Verdict::InProgress,
        (Some(true), true) => Verdict::Met,
        (Some(false), true) => Verdict::Missed,
        (Some(true), false) => Verdict::OnTrack,
        (Some(false), false) => Verdict::AtRisk,
    }
}

/// Trend of the last two values in the target's direction (larger is better for `>=`).
pub fn trend_of(values: &[(i32, f64)], dir: Option<Direction>) -> Trend {
    let n = values.len();
    if n < 2 {
        return Trend::Unknown;
    }
    let (prev, last) = (values[n - 2].1, values[n - 1].1);
    if (last - prev).abs() < 1e-9 {
        return Trend::Stable;
    }
    let up_is_good = match dir {
        Some(Direction::AtLeast) => true,
        Some(Direction::AtMost) => false,
        _ => return Trend::Unknown,
    };
    if (last > prev) == up_is_good {
        Trend::Improving
    } else {
        Trend::Worsening
    }
}

/// Monitoring figures an indicator may be computed from, per year.
pub trait MonitoringFigures {
    /// Value and basis for `what` in `year`, or `None` when the data does not give one; a
    /// year still running carries its [`Progress`].
    fn figure(&self, what: Computation, year: i32) -> Result<Option<Figure>>;
}

/// Air figures from the air engine's derived days (county = urban stations).
pub struct AirFigures<'a> {
    pub store: &'a dyn Store,
    pub engine: &'a AirEngine,
    /// The Beijing day the figures are reckoned to (a year not ended by then is partial).
    pub today: Date,
}

impl AirFigures<'_> {
    fn year_report(&self, year: i32) -> Result<Option<AirReport>> {
        let (Ok(from), Ok(to)) = (
            format!("{year}-01-01").parse::<Date>(),
            format!("{year}-12-31").parse::<Date>(),
        ) else {
            return Ok(None);
        };
        AirReport::build(self.store, self.engine, from, to, RulesChoice::ByDate).map(Some)
    }

    /// Good days (AQI ≤ 100) of the county in `year`, with the number of valid days; while
    /// the year runs, its progress: the good-days ratio so far, the ratio × days in the year
    /// as projection, and reachable from the good days so far to the days of the year less
    /// those already not good.
    pub fn good_days(&self, year: i32) -> Result<Option<Figure>> {
        let Some(r) = self.year_report(year)? else {
            return Ok(None);
        };
        let c = &r.county;
        if c.valid_days == 0 {
            return Ok(None);
        }
        let good = c.good_days as f64;
        let progress = running(self.today, year).map(|(elapsed, period)| {
            let not_good = (c.valid_days - c.good_days) as f64;
            Progress {
                as_of: self.today.to_string(),
                elapsed_days: elapsed,
                period_days: period,
                so_far: good,
                rate_so_far: c.good_days_ratio,
                projection: Some((good * f64::from(period) / c.valid_days as f64).round()),
                reachable_min: Some(good),
                reachable_max: Some(f64::from(period) - not_good),
                valid_days: Some(c.valid_days as u32),
            }
        });
        Ok(Some(Figure {
            value: good,
            basis: format!("valid_days={}", c.valid_days),
            progress,
        }))
    }

    /// The county's PM2.5 annual mean (µg/m³) in `year`.
    pub fn pm25_annual_mean(&self, year: i32) -> Result<Option<(f64, String)>> {
        Ok(self.year_report(year)?.and_then(|r| {
            r.county
                .pm25_annual_mean
                .map(|v| (v, format!("valid_days={}", r.county.valid_days)))
        }))
    }
}

/// The monitoring figures of a profile's indicators from the air and water engines' derived
/// tables (good days; sections at Class III or better; drinking-water compliance).
pub struct ProfileFigures<'a> {
    pub store: &'a dyn store::water::WaterStore,
    pub air: &'a AirEngine,
    pub water: &'a crate::WaterEngine,
    /// The Beijing day the figures are reckoned to.
    pub today: Date,
}

impl ProfileFigures<'_> {
    /// A rate's progress: the rate so far is also the projection; `bounds` what is reachable.
    fn rate_progress(&self, year: i32, rate: f64, bounds: Option<(f64, f64)>) -> Option<Progress> {
        running(self.today, year).map(|(elapsed, period)| Progress {
            as_of: self.today.to_string(),
            elapsed_days: elapsed,
            period_days: period,
            so_far: rate,
            rate_so_far: Some(rate),
            projection: Some(rate),
            reachable_min: bounds.map(|b| b.0),
            reachable_max: bounds.map(|b| b.1),
            valid_days: None,
        })
    }

    /// Reachable compliance rates of a running year: the source-months of the months that
    /// have ended are decided; every other source-month of the year (the running month, the
    /// months to come, ended months without data) may still be assessed either way.
    fn compliance_bounds(
        &self,
        year: i32,
        scope: crate::SourceScope,
        all: &crate::water::DrinkingCompliance,
    ) -> Result<Option<(f64, f64)>> {
        let ended = if self.today.year() == year {
            self.today.month() - 1
        } else {
            0
        };
        let (compliant, assessed) = if ended == 0 {
            (0, 0)
        } else {
            let to = Date::ymd(year, ended, standards::date::days_in_month(year, ended));
            let c = self.water.drinking_water_compliance_between(
                self.store,
                Date::ymd(year, 1, 1),
                to,
                scope,
            )?;
            (c.compliant, c.assessed)
        };
        let open = (all.sources - all.not_assessed_sources)
            .saturating_mul(12)
            .saturating_sub(assessed);
        let pct = crate::water::pct;
        Ok(pct(compliant, assessed + open).zip(pct(compliant + open, assessed + open)))
    }
}

impl MonitoringFigures for ProfileFigures<'_> {
    fn figure(&self, what: Computation, year: i32) -> Result<Option<Figure>> {
        let air = AirFigures {
            store: self.store,
            engine: self.air,
            today: self.today,
        };
        let compliance = |scope| -> Result<Option<Figure>> {
            let c = self
                .water
                .drinking_water_compliance(self.store, year, scope)?;
            let Some(r) = c.rate_pct else {
                return Ok(None);
            };
            let progress = match running(self.today, year) {
                Some(_) => {
                    let bounds = self.compliance_bounds(year, scope, &c)?;
                    self.rate_progress(year, r, bounds)
                }
                None => None,
            };
            Ok(Some(Figure {
                value: r,
                basis: format!(
                    "compliant_months={} assessed_months={} sources={}",
                    c.compliant, c.assessed, c.sources
                ),
                progress,
            }))
        };
        match what {
            Computation::Manual => Ok(None),
            Computation::GoodDays => air.good_days(year),
            Computation::SectionsClassIiiShare => {
                let s = self
                    .water
                    .sections_at_or_better_than_iii_share(self.store, year)?;
                // Classes of annual means: a running year's share is not bounded.
                Ok(s.pct.map(|p| Figure {
                    value: p,
                    basis: format!(
                        "sections_iii_or_better={} evaluated={} sections={}",
                        s.at_or_better, s.evaluated, s.sections
                    ),
                    progress: self.rate_progress(year, p, None),
                }))
            }
            Computation::DrinkingWaterComplianceUrban => compliance(crate::SourceScope::Urban),
            Computation::DrinkingWaterComplianceTownship => {
                compliance(crate::SourceScope::Township)
            }
        }
    }
}

/// The indicators report of a profile for 2021..=`year`, reckoned to the Beijing day
/// `today` (a year not ended then is partial): brings `air_days` and `water_days` up to date
/// first (catch-up by watermark), then reads entries and figures. What `qingshan report
/// indicators` and `GET /api/v1/indicators` both call.
pub fn profile_report(
    store: &mut dyn store::Backend,
    profile: &Profile,
    air: &AirEngine,
    water: &crate::WaterEngine,
    year: i32,
    today: Date,
) -> Result<Vec<IndicatorReport>> {
    air.catch_up(store)?;
    water.catch_up(store)?;
    let figures = ProfileFigures {
        store: &*store,
        air,
        water,
        today,
    };
    indicators_report(profile, &*store, &figures, 2021, year)
}

/// Builds every indicator of the profile for the years `first..=year`.
pub fn indicators_report(
    profile: &Profile,
    store: &dyn IndicatorStore,
    figures: &dyn MonitoringFigures,
    first: i32,
    year: i32,
) -> Result<Vec<IndicatorReport>> {
    let entries = store.indicator_entries(None)?;
    let mut out = Vec::new();
    for ind in profile.indicators() {
        out.push(indicator_report(ind, &entries, figures, first, year)?);
    }
    Ok(out)
}

/// The newest entry of `kind` for (code, year).
fn latest<'a>(
    entries: &'a [IndicatorEntry],
    code: &str,
    year: i32,
    kind: EntryKind,
) -> Option<&'a IndicatorEntry> {
    entries
        .iter()
        .filter(|e| e.code == code && e.year == year && e.kind == kind)
        .max_by_key(|e| e.id)
}

fn indicator_report(
    ind: &Indicator,
    entries: &[IndicatorEntry],
    figures: &dyn MonitoringFigures,
    first: i32,
    year: i32,
) -> Result<IndicatorReport> {
    let mut years = Vec::new();
    if let Some(b) = ind.baseline_2020 {
        years.push(YearValue {
            year: 2020,
            value: b,
            origin: "baseline",
            source: ind.source.clone(),
            evidence: String::new(),
            entered_by: None,
            detail: None,
            partial: false,
            progress: None,
        });
    }
    for y in first.max(2021)..=year {
        // An entered figure wins over a computed one (the department's official number).
        if let Some(e) = latest(entries, &ind.code, y, EntryKind::Value) {
            years.push(YearValue {
                year: y,
                value: e.value,
                origin: "entered",
                source: e.source.clone(),
                evidence: e.evidence.clone(),
                entered_by: Some(e.entered_by.clone()),
                detail: None,
                partial: false,
                progress: None,
            });
        } else if ind.computed_from != Computation::Manual {
            if let Some(f) = figures.figure(ind.computed_from, y)? {
                years.push(YearValue {
                    year: y,
                    value: f.value,
                    origin: "computed",
                    source: "监测数据".into(),
                    evidence: String::new(),
                    entered_by: None,
                    detail: Some(match &f.progress {
                        Some(p) => format!("{} as_of={}", f.basis, p.as_of),
                        None => f.basis,
                    }),
                    partial: f.progress.is_some(),
                    progress: f.progress,
                });
            }
        }
    }
    let (target, numeric) = match &ind.target_2025 {
        Some(IndicatorTarget::Numeric { value, direction }) => (
            TargetView {
                value: Some(*value),
                direction: Some(direction_str(*direction)),
                text: None,
            },
            Some((*value, *direction)),
        ),
        Some(IndicatorTarget::Assigned { text, .. }) => {
            // The assigning body's figure, once entered, is judged like a fixed one; the
            // direction follows the baseline's sense (reductions and shares: at least).
            let set = latest(entries, &ind.code, TARGET_YEAR, EntryKind::Target).map(|e| e.value);
            (
                TargetView {
                    value: set,
                    direction: set.map(|_| ">="),
                    text: Some(text.clone()),
                },
                set.map(|v| (v, Direction::AtLeast)),
            )
        }
        None => (
            TargetView {
                value: None,
                direction: None,
                text: None,
            },
            None,
        ),
    };
    let this = years.iter().find(|v| v.year == year);
    let this_year = this.map(|v| v.value);
    let series: Vec<(i32, f64)> = years.iter().map(|v| (v.year, v.value)).collect();
    let complete: Vec<(i32, f64)> = years
        .iter()
        .filter(|v| !v.partial)
        .map(|v| (v.year, v.value))
        .collect();
    let verdict_year = year.min(TARGET_YEAR);
    let judged = years.iter().find(|v| v.year == verdict_year);
    Ok(IndicatorReport {
        code: ind.code.clone(),
        name: ind.name.clone(),
        field: ind.field.clone(),
        unit: ind.unit.clone(),
        kind: ind.kind,
        computed_from: ind.computed_from,
        department: ind.department.clone(),
        baseline_2020: ind.baseline_2020,
        cumulative: ind.cumulative,
        values: years
            .iter()
            .map(|v| (v.year.to_string(), v.value))
            .collect(),
        status: status_of(this_year, numeric, year),
        trend: trend_of(&series, numeric.map(|(_, d)| d)),
        partial: this.is_some_and(|v| v.partial),
        progress: this.and_then(|v| v.progress.clone()),
        verdict: verdict_of(judged, numeric, verdict_year),
        verdict_year,
        verdict_value: judged.map(|v| v.value),
        trend_complete: trend_of(&complete, numeric.map(|(_, d)| d)),
        target,
        years,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Module rule: before 2025 a value meeting the target is on track, one not meeting it is
    /// at risk; from 2025 met / missed.
    #[test]
    fn statuses() {
        let t = Some((330.0, Direction::AtLeast));
        assert_eq!(status_of(Some(340.0), t, 2023), Status::OnTrack);
        assert_eq!(status_of(Some(320.0), t, 2023), Status::AtRisk);
        assert_eq!(status_of(Some(330.0), t, 2025), Status::Met);
        assert_eq!(status_of(Some(329.0), t, 2025), Status::Missed);
        assert_eq!(status_of(None, t, 2025), Status::NoData);
        assert_eq!(status_of(Some(1.0), None, 2025), Status::TargetPending);
        let pm = Some((35.0, Direction::AtMost));
        assert_eq!(status_of(Some(36.0), pm, 2026), Status::Missed);
    }

    fn running_value(value: f64, reach: Option<(f64, f64)>) -> YearValue {
        YearValue {
            year: 2025,
            value,
            origin: "computed",
            source: String::new(),
            evidence: String::new(),
            entered_by: None,
            detail: None,
            partial: true,
            progress: Some(Progress {
                as_of: "2025-12-05".into(),
                elapsed_days: 339,
                period_days: 365,
                so_far: value,
                rate_so_far: Some(100.0),
                projection: Some(365.0),
                reachable_min: reach.map(|r| r.0),
                reachable_max: reach.map(|r| r.1),
                valid_days: None,
            }),
        }
    }

    /// Platform rule: a running year is judged only once decided. ≥ 330 good days of 365:
    /// 29 good days and none bad leaves 29..=365 open; 36 days already not good leave at
    /// most 329 — missed early (before the target year: at risk); 330 good days already —
    /// met early. A share without bounds stays open; `= 100 %` with a month already not
    /// compliant can no longer be met.
    #[test]
    fn a_running_year_is_judged_only_once_decided() {
        let t = Some((330.0, Direction::AtLeast));
        let open = running_value(29.0, Some((29.0, 365.0)));
        assert_eq!(verdict_of(Some(&open), t, 2025), Verdict::InProgress);
        assert_eq!(
            status_of(Some(29.0), t, 2025),
            Status::Missed,
            "status as it stands"
        );
        let lost = running_value(200.0, Some((200.0, 329.0)));
        assert_eq!(verdict_of(Some(&lost), t, 2025), Verdict::Missed);
        assert_eq!(verdict_of(Some(&lost), t, 2024), Verdict::AtRisk);
        let won = running_value(330.0, Some((330.0, 360.0)));
        assert_eq!(verdict_of(Some(&won), t, 2025), Verdict::Met);
        assert_eq!(verdict_of(Some(&won), t, 2023), Verdict::OnTrack);
        let share = running_value(80.0, None);
        let hundred = Some((100.0, Direction::Equal));
        assert_eq!(verdict_of(Some(&share), hundred, 2025), Verdict::InProgress);
        let failed_month = running_value(91.7, Some((8.3, 98.9)));
        assert_eq!(
            verdict_of(Some(&failed_month), hundred, 2025),
            Verdict::Missed
        );
        let clean = running_value(100.0, Some((8.3, 100.0)));
        assert_eq!(verdict_of(Some(&clean), hundred, 2025), Verdict::InProgress);
        let pm = Some((35.0, Direction::AtMost));
        assert_eq!(
            verdict_of(Some(&running_value(30.0, Some((40.0, 50.0)))), pm, 2025),
            Verdict::Missed
        );
        // A complete year is judged as `status` judges it.
        let mut done = running_value(331.0, None);
        done.partial = false;
        done.progress = None;
        assert_eq!(verdict_of(Some(&done), t, 2025), Verdict::Met);
        assert_eq!(verdict_of(None, t, 2025), Verdict::NoData);
        assert_eq!(verdict_of(Some(&done), None, 2025), Verdict::TargetPending);
    }

    #[test]
    fn running_years_count_elapsed_days() {
        let d = Date::ymd(2026, 12, 5);
        assert_eq!(running(d, 2026), Some((339, 365)));
        assert_eq!(running(d, 2025), None);
        assert_eq!(running(d, 2027), Some((0, 365)));
        assert_eq!(running(Date::ymd(2024, 3, 1), 2024), Some((61, 366)));
    }

    #[test]
    fn trends_follow_the_target_direction() {
        let up = [(2021, 340.0), (2022, 345.0)];
        assert_eq!(trend_of(&up, Some(Direction::AtLeast)), Trend::Improving);
        assert_eq!(trend_of(&up, Some(Direction::AtMost)), Trend::Worsening);
        assert_eq!(trend_of(&up[..1], Some(Direction::AtLeast)), Trend::Unknown);
        assert_eq!(
            trend_of(&[(2021, 5.0), (2022, 5.0)], Some(Direction::AtLeast)),
            Trend::Stable
        );
    }
}
