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
//! Trend: the latest value against the previous year's in the target's direction
//! (`improving`, `worsening`, `stable`), or `unknown`.

use std::collections::BTreeMap;

use profile::{Computation, Direction, Indicator, IndicatorTarget, IndicatorType, Profile};
use serde::Serialize;
use standards::Date;
use store::indicators::{EntryKind, IndicatorEntry, IndicatorStore};
use store::Store;

use crate::air_report::{AirReport, RulesChoice};
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
    /// Status of the report year.
    pub status: Status,
    pub trend: Trend,
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
    /// Value and basis for `what` in `year`, or `None` when the data does not give one.
    fn figure(&self, what: Computation, year: i32) -> Result<Option<(f64, String)>>;
}

/// Air figures from the air engine's derived days (county = urban stations).
pub struct AirFigures<'a> {
    pub store: &'a dyn Store,
    pub engine: &'a AirEngine,
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

    /// Good days (AQI ≤ 100) of the county in `year`, with the number of valid days.
    pub fn good_days(&self, year: i32) -> Result<Option<(f64, String)>> {
        Ok(self.year_report(year)?.and_then(|r| {
            (r.county.valid_days > 0).then(|| {
                (
                    r.county.good_days as f64,
                    format!("valid_days={}", r.county.valid_days),
                )
            })
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
}

impl MonitoringFigures for ProfileFigures<'_> {
    fn figure(&self, what: Computation, year: i32) -> Result<Option<(f64, String)>> {
        let air = AirFigures {
            store: self.store,
            engine: self.air,
        };
        let compliance = |scope| -> Result<Option<(f64, String)>> {
            let c = self
                .water
                .drinking_water_compliance(self.store, year, scope)?;
            Ok(c.rate_pct.map(|r| {
                (
                    r,
                    format!(
                        "compliant_months={} assessed_months={} sources={}",
                        c.compliant, c.assessed, c.sources
                    ),
                )
            }))
        };
        match what {
            Computation::Manual => Ok(None),
            Computation::GoodDays => air.good_days(year),
            Computation::SectionsClassIiiShare => {
                let s = self
                    .water
                    .sections_at_or_better_than_iii_share(self.store, year)?;
                Ok(s.pct.map(|p| {
                    (
                        p,
                        format!(
                            "sections_iii_or_better={} evaluated={} sections={}",
                            s.at_or_better, s.evaluated, s.sections
                        ),
                    )
                }))
            }
            Computation::DrinkingWaterComplianceUrban => compliance(crate::SourceScope::Urban),
            Computation::DrinkingWaterComplianceTownship => {
                compliance(crate::SourceScope::Township)
            }
        }
    }
}

/// The indicators report of a profile for 2021..=`year`: brings `air_days` and `water_days`
/// up to date first (catch-up by watermark), then reads entries and figures. What `qingshan
/// report indicators` and `GET /api/v1/indicators` both call.
pub fn profile_report(
    store: &mut dyn store::Backend,
    profile: &Profile,
    air: &AirEngine,
    water: &crate::WaterEngine,
    year: i32,
) -> Result<Vec<IndicatorReport>> {
    air.catch_up(store)?;
    water.catch_up(store)?;
    let figures = ProfileFigures {
        store: &*store,
        air,
        water,
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
            });
        } else if ind.computed_from != Computation::Manual {
            if let Some((v, basis)) = figures.figure(ind.computed_from, y)? {
                years.push(YearValue {
                    year: y,
                    value: v,
                    origin: "computed",
                    source: "监测数据".into(),
                    evidence: String::new(),
                    entered_by: None,
                    detail: Some(basis),
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
    let this_year = years.iter().find(|v| v.year == year).map(|v| v.value);
    let series: Vec<(i32, f64)> = years.iter().map(|v| (v.year, v.value)).collect();
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
