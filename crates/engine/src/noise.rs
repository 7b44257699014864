//! Acoustic environment (GB 3096-2008): day level Ld and night level Ln per point and day,
//! kept in the derived table `noise_days` ([`store::water::NoiseDay`]), judged against the
//! point's functional zone (`standards::noise::gb3096_verdict`).
//!
//! - hour levels: HJ 212 `Leq-Data` of hour data (2061); for an hour without one, the energy
//!   average of the hour's minute `Leq-Data` (2051), else of its real-time `LA-Data` (2011).
//!   Valid only with flag `N` (or none) and a finite value.
//! - Ld = 10·lg(mean(10^(Lᵢ/10))) over the day hours (06:00–22:00 by default), Ln over the night
//!   hours (22:00–06:00) — the energy average of GB 3096-2008 Annex C / HJ 640-2012 (the
//!   standards crate has the hours, [`DayNight`], but no energy-average helper: [`energy_mean`]).
//! - **the night belongs to the day it starts on**: the row of day D holds Ld of D 06:00–22:00
//!   and Ln of D 22:00 – D+1 06:00 (a night is one continuous period; the simulator's own
//!   `Leq-NightData` day value uses the calendar day's 00–06 and 22–24 hours instead).
//! - engine policy: Ld needs ≥ 75 % of the day hours (12 of 16), Ln ≥ 75 % of the night hours
//!   (6 of 8); no normative minimum for automatic stations was found.
//! - levels are compared after rounding to 0.1 dB(A) (GB/T 8170), as reported.

use std::collections::{BTreeMap, BTreeSet};

use model::{Measurement, Period};
use serde::Serialize;
use standards::noise::{self, DayNight, Zone};
use standards::rounding::gbt8170;
use standards::{Date, Decimal};
use store::water::{NoiseDay, WaterStore};
use store::{IntakePacket, ValueFilter};

use crate::time::{day_start_utc, hour_start_of};
use crate::{EngineError, Result};

/// Code of the equivalent level (hour and minute data).
pub const LEQ: &str = "Leq";
/// Code of the instantaneous A level (real-time data).
pub const LA: &str = "LA";
/// Field of noise values (HJ 212 Table B.3 noise codes carry `-Data`).
pub const FIELD: &str = "Data";
/// Watermark of `noise_days`.
pub const WATERMARK: &str = "noise_days.received_ms";
/// Engine policy: share of a period's hours needed for its level, percent.
pub const MIN_COVERAGE_PCT: u32 = 75;

/// Energy (logarithmic) average of sound levels: 10·lg(mean(10^(Lᵢ/10))); `None` if empty.
pub fn energy_mean(levels: &[f64]) -> Option<f64> {
    if levels.is_empty() {
        return None;
    }
    let s: f64 = levels.iter().map(|l| 10f64.powf(l / 10.0)).sum();
    Some(10.0 * (s / levels.len() as f64).log10())
}

/// A noise point.
#[derive(Debug, Clone, PartialEq)]
pub struct NoisePoint {
    /// Site code.
    pub site: String,
    /// Name.
    pub name: String,
    /// GB 3096 functional zone.
    pub zone: Zone,
    /// 12-digit code of the town (乡镇/街道) the point lies in (empty if unknown).
    pub town: String,
    /// The town's name.
    pub town_name: String,
}

/// What an update did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoiseStats {
    /// Point days recomputed.
    pub point_days: usize,
    /// Values read.
    pub values_read: usize,
}

/// The noise engine.
#[derive(Debug, Clone)]
pub struct NoiseEngine {
    points: BTreeMap<String, NoisePoint>,
    hours: DayNight,
}

impl NoiseEngine {
    /// The profile's noise points, each against its GB 3096 functional zone, with the
    /// standard's default day/night hours.
    pub fn from_profile(profile: &profile::Profile) -> Result<NoiseEngine> {
        let mut points = Vec::new();
        for s in profile.sites_by_kind(profile::SiteKind::Noise) {
            let z = s.noise.as_ref().map(|n| n.zone.as_str()).unwrap_or("");
            let zone = Zone::from_code(z).ok_or_else(|| {
                EngineError::Invalid(format!(
                    "profile site {}: noise zone {z:?} is not 0|1|2|3|4a|4b",
                    s.code
                ))
            })?;
            points.push(NoisePoint {
                site: s.code.clone(),
                name: s.name.clone(),
                zone,
                town: s.town.clone(),
                town_name: profile
                    .town(&s.town)
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
            });
        }
        NoiseEngine::new(points, DayNight::default())
    }

    /// An engine over these points with the given day/night hours (boundaries on the hour,
    /// day start before night start).
    pub fn new(
        points: impl IntoIterator<Item = NoisePoint>,
        hours: DayNight,
    ) -> Result<NoiseEngine> {
        if !hours.day_start_min.is_multiple_of(60)
            || !hours.night_start_min.is_multiple_of(60)
            || hours.day_start_min >= hours.night_start_min
            || hours.night_start_min > 24 * 60
        {
            return Err(EngineError::Invalid(format!(
                "day/night hours: day starts at minute {}, night at minute {}: both must be whole hours with day before night",
                hours.day_start_min, hours.night_start_min
            )));
        }
        Ok(NoiseEngine {
            points: points.into_iter().map(|p| (p.site.clone(), p)).collect(),
            hours,
        })
    }

    /// The points.
    pub fn points(&self) -> impl Iterator<Item = &NoisePoint> {
        self.points.values()
    }

    /// Day/night hours.
    pub fn day_night(&self) -> DayNight {
        self.hours
    }

    fn offset_s(&self) -> i64 {
        i64::from(self.hours.day_start_min) * 60
    }

    /// The row day of an instant: the Beijing day whose day period starts before it
    /// (00:00–06:00 belongs to the previous day's night).
    pub fn row_day(&self, t: i64) -> Date {
        hour_start_of(t - self.offset_s()).date
    }

    fn is_noise(&self, site: &str, code: &str, field: &str, period: Period) -> bool {
        field == FIELD
            && self.points.contains_key(site)
            && match period {
                Period::Hour | Period::Min => code == LEQ,
                Period::Rtd => code == LA,
                Period::Day => false,
            }
    }

    /// The (point, row day) pairs a committed batch touched.
    pub fn touched(&self, packets: &[IntakePacket]) -> BTreeSet<(String, Date)> {
        packets
            .iter()
            .flat_map(|p| &p.values)
            .filter(|m| self.is_noise(&m.site, &m.code, &m.field, m.period))
            .map(|m| (m.site.clone(), self.row_day(m.time)))
            .collect()
    }

    /// Recomputes the point days in `touched`.
    pub fn update(
        &self,
        store: &mut dyn WaterStore,
        touched: &BTreeSet<(String, Date)>,
    ) -> Result<NoiseStats> {
        let mut stats = NoiseStats::default();
        let mut rows = Vec::new();
        for (site, day) in touched {
            if !self.points.contains_key(site) {
                continue;
            }
            let t0 = day_start_utc(*day) + self.offset_s();
            let mut slots = Slots::default();
            self.read(store, site, t0, t0 + 86_400, &mut |m| {
                stats.values_read += 1;
                slots.add(t0, m);
            })?;
            rows.push(self.row(site, *day, &slots));
            stats.point_days += 1;
        }
        store.put_noise_days(&rows)?;
        Ok(stats)
    }

    /// Cold start: recomputes every point day from `from` to `to`.
    pub fn rebuild(&self, store: &mut dyn WaterStore, from: Date, to: Date) -> Result<NoiseStats> {
        let mut stats = NoiseStats::default();
        let t0 = day_start_utc(from) + self.offset_s();
        let t1 = day_start_utc(to) + self.offset_s() + 86_400;
        for site in self.points.keys() {
            let mut by_day: BTreeMap<Date, Slots> = BTreeMap::new();
            self.read(store, site, t0, t1, &mut |m| {
                stats.values_read += 1;
                let d = self.row_day(m.time);
                by_day
                    .entry(d)
                    .or_default()
                    .add(day_start_utc(d) + self.offset_s(), m);
            })?;
            let rows: Vec<NoiseDay> = by_day.iter().map(|(d, s)| self.row(site, *d, s)).collect();
            stats.point_days += rows.len();
            store.put_noise_days(&rows)?;
        }
        Ok(stats)
    }

    /// Brings `noise_days` up to date with every noise value received since the watermark.
    pub fn catch_up(&self, store: &mut dyn WaterStore) -> Result<NoiseStats> {
        let since = store.watermark(WATERMARK)?.unwrap_or(i64::MIN);
        let mut touched = BTreeSet::new();
        let mut newest = since;
        for period in [Period::Hour, Period::Min, Period::Rtd] {
            for k in store.received_since(period, since)? {
                newest = newest.max(k.received_ms);
                if self.is_noise(&k.site, &k.code, &k.field, k.period) {
                    touched.insert((k.site.clone(), self.row_day(k.time)));
                }
            }
        }
        let stats = self.update(store, &touched)?;
        if newest > since {
            store.set_watermark(WATERMARK, newest)?;
        }
        Ok(stats)
    }

    /// A commit observer (see `WaterEngine::observer`).
    pub fn observer(self, store: Box<dyn WaterStore>) -> crate::observe::Observer {
        crate::observe::observer("noise", WATERMARK, store, move |store, packets| {
            let touched = self.touched(packets);
            if touched.is_empty() {
                return Ok(false);
            }
            self.update(store, &touched)?;
            Ok(true)
        })
    }

    fn read(
        &self,
        store: &dyn WaterStore,
        site: &str,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(&Measurement),
    ) -> Result<()> {
        for period in [Period::Hour, Period::Min, Period::Rtd] {
            let filter = ValueFilter {
                site: Some(site.to_string()),
                period: Some(period),
                from: Some(from),
                to: Some(to),
                ..ValueFilter::default()
            };
            store.for_each_value(&filter, &mut |m| {
                if self.is_noise(&m.site, &m.code, &m.field, m.period)
                    && m.flag.as_deref().is_none_or(|f| f == "N")
                    && m.value.is_finite()
                {
                    f(m);
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    fn row(&self, site: &str, day: Date, s: &Slots) -> NoiseDay {
        let day_slots = usize::from((self.hours.night_start_min - self.hours.day_start_min) / 60);
        let levels: Vec<Option<f64>> = (0..24).map(|i| s.level(i)).collect();
        let d: Vec<f64> = levels[..day_slots].iter().flatten().copied().collect();
        let n: Vec<f64> = levels[day_slots..].iter().flatten().copied().collect();
        let enough = |got: usize, of: usize| got * 100 >= of * MIN_COVERAGE_PCT as usize;
        NoiseDay {
            site: site.to_string(),
            day: day.to_string(),
            ld: energy_mean(&d).filter(|_| enough(d.len(), day_slots)),
            ln: energy_mean(&n).filter(|_| enough(n.len(), 24 - day_slots)),
            day_hours: d.len() as i64,
            night_hours: n.len() as i64,
            updated_ms: now_ms(),
        }
    }
}

/// The hour slots of a row window (slot 0 = the day period's first hour).
#[derive(Default)]
struct Slots {
    hour: BTreeMap<usize, f64>,
    min: BTreeMap<usize, Vec<f64>>,
    rtd: BTreeMap<usize, Vec<f64>>,
}

impl Slots {
    fn add(&mut self, t0: i64, m: &Measurement) {
        let i = (m.time - t0).div_euclid(3600);
        if !(0..24).contains(&i) {
            return;
        }
        let i = i as usize;
        match m.period {
            Period::Hour => {
                self.hour.insert(i, m.value);
            }
            Period::Min => self.min.entry(i).or_default().push(m.value),
            Period::Rtd => self.rtd.entry(i).or_default().push(m.value),
            Period::Day => {}
        }
    }

    fn level(&self, i: usize) -> Option<f64> {
        self.hour
            .get(&i)
            .copied()
            .or_else(|| self.min.get(&i).and_then(|v| energy_mean(v)))
            .or_else(|| self.rtd.get(&i).and_then(|v| energy_mean(v)))
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A level rounded to 0.1 dB(A) (GB/T 8170).
pub fn round_level(l: f64) -> Option<Decimal> {
    Decimal::try_from(l).ok().map(|d| gbt8170(d, 1))
}

fn f1(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(f64::NAN)
}

/// The noise report (JSON contract: docs/engine-water.md).
#[derive(Debug, Clone, Serialize)]
pub struct NoiseReport {
    /// `"noise"`.
    pub report: &'static str,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// `GB3096-2008`.
    pub standard: &'static str,
    /// Day period start `HH:MM`.
    pub day_start: String,
    /// Night period start `HH:MM`.
    pub night_start: String,
    /// Points.
    pub points: Vec<PointReport>,
    /// The points aggregated by town (乡镇/街道), by town code.
    pub towns: Vec<TownReport>,
}

/// The noise points of one town over the period: compliance by point-days (达标点次 /
/// 监测点次, day and night) and the points whose period mean exceeds their zone's limit.
#[derive(Debug, Clone, Serialize)]
pub struct TownReport {
    /// 12-digit town code.
    pub town: String,
    /// Town name.
    pub town_name: String,
    /// Site codes of its points.
    pub points: Vec<String>,
    /// Points with at least one Ld or Ln.
    pub points_with_data: usize,
    /// Σ days with Ld over its points.
    pub days: usize,
    /// Σ nights with Ln.
    pub nights: usize,
    /// Σ compliant days.
    pub day_compliant_days: usize,
    /// Σ compliant nights.
    pub night_compliant_days: usize,
    /// day_compliant_days / days × 100 (1 dp).
    pub day_compliance_pct: Option<f64>,
    /// night_compliant_days / nights × 100 (1 dp).
    pub night_compliance_pct: Option<f64>,
    /// Points whose period Ld mean exceeds the day limit.
    pub points_day_over: usize,
    /// Points whose period Ln mean exceeds the night limit.
    pub points_night_over: usize,
}

/// One day of a point.
#[derive(Debug, Clone, Serialize)]
pub struct NoiseDayEntry {
    /// `YYYY-MM-DD` (the night starts that evening).
    pub date: String,
    /// Ld, 0.1 dB(A).
    pub ld: Option<f64>,
    /// Ln, 0.1 dB(A).
    pub ln: Option<f64>,
    /// Ld ≤ day limit.
    pub ld_compliant: Option<bool>,
    /// Ln ≤ night limit.
    pub ln_compliant: Option<bool>,
    /// Valid day hours.
    pub day_hours: i64,
    /// Valid night hours.
    pub night_hours: i64,
}

/// One point over the period.
#[derive(Debug, Clone, Serialize)]
pub struct PointReport {
    /// Site code.
    pub site: String,
    /// Name.
    pub name: String,
    /// Town code.
    pub town: String,
    /// Town name.
    pub town_name: String,
    /// GB 3096 zone `0|1|2|3|4a|4b`.
    pub zone: &'static str,
    /// Day limit dB(A).
    pub day_limit: u8,
    /// Night limit dB(A).
    pub night_limit: u8,
    /// Days with Ld.
    pub days: usize,
    /// Nights with Ln.
    pub nights: usize,
    /// Energy average of the daily Ld, 0.1 dB(A).
    pub ld_mean: Option<f64>,
    /// Energy average of the nightly Ln.
    pub ln_mean: Option<f64>,
    /// Days with Ld ≤ limit.
    pub day_compliant_days: usize,
    /// Nights with Ln ≤ limit.
    pub night_compliant_days: usize,
    /// day_compliant_days / days × 100 (1 dp).
    pub day_compliance_pct: Option<f64>,
    /// night_compliant_days / nights × 100 (1 dp).
    pub night_compliance_pct: Option<f64>,
    /// Mean of the period compliant (ld_mean ≤ day limit).
    pub ld_mean_compliant: Option<bool>,
    /// ln_mean ≤ night limit.
    pub ln_mean_compliant: Option<bool>,
    /// Per day.
    pub daily: Vec<NoiseDayEntry>,
}

fn hhmm(min: u16) -> String {
    format!("{:02}:{:02}", min / 60, min % 60)
}

impl NoiseReport {
    /// Builds the report over `[from, to]` (row days) from `noise_days`.
    pub fn build(
        store: &dyn WaterStore,
        engine: &NoiseEngine,
        from: Date,
        to: Date,
    ) -> Result<NoiseReport> {
        let mut points = Vec::new();
        for p in engine.points() {
            let rows = store.noise_days(Some(&p.site), &from.to_string(), &to.to_string())?;
            let verdict = |l: Option<f64>, per: noise::Period| {
                l.and_then(round_level)
                    .map(|d| noise::gb3096_verdict(p.zone, per, d, None).compliant)
            };
            let daily: Vec<NoiseDayEntry> = rows
                .iter()
                .map(|r| NoiseDayEntry {
                    date: r.day.clone(),
                    ld: r.ld.and_then(round_level).map(f1),
                    ln: r.ln.and_then(round_level).map(f1),
                    ld_compliant: verdict(r.ld, noise::Period::Day),
                    ln_compliant: verdict(r.ln, noise::Period::Night),
                    day_hours: r.day_hours,
                    night_hours: r.night_hours,
                })
                .collect();
            let lds: Vec<f64> = rows.iter().filter_map(|r| r.ld).collect();
            let lns: Vec<f64> = rows.iter().filter_map(|r| r.ln).collect();
            let dc = daily
                .iter()
                .filter(|d| d.ld_compliant == Some(true))
                .count();
            let nc = daily
                .iter()
                .filter(|d| d.ln_compliant == Some(true))
                .count();
            let ld_mean = energy_mean(&lds);
            let ln_mean = energy_mean(&lns);
            points.push(PointReport {
                site: p.site.clone(),
                name: p.name.clone(),
                town: p.town.clone(),
                town_name: p.town_name.clone(),
                zone: p.zone.code(),
                day_limit: noise::gb3096_limit(p.zone, noise::Period::Day),
                night_limit: noise::gb3096_limit(p.zone, noise::Period::Night),
                days: lds.len(),
                nights: lns.len(),
                ld_mean: ld_mean.and_then(round_level).map(f1),
                ln_mean: ln_mean.and_then(round_level).map(f1),
                day_compliant_days: dc,
                night_compliant_days: nc,
                day_compliance_pct: crate::water::pct(dc, lds.len()),
                night_compliance_pct: crate::water::pct(nc, lns.len()),
                ld_mean_compliant: verdict(ld_mean, noise::Period::Day),
                ln_mean_compliant: verdict(ln_mean, noise::Period::Night),
                daily,
            });
        }
        let mut towns: BTreeMap<String, TownReport> = BTreeMap::new();
        for p in &points {
            let t = towns.entry(p.town.clone()).or_insert_with(|| TownReport {
                town: p.town.clone(),
                town_name: p.town_name.clone(),
                points: Vec::new(),
                points_with_data: 0,
                days: 0,
                nights: 0,
                day_compliant_days: 0,
                night_compliant_days: 0,
                day_compliance_pct: None,
                night_compliance_pct: None,
                points_day_over: 0,
                points_night_over: 0,
            });
            t.points.push(p.site.clone());
            t.points_with_data += usize::from(p.days + p.nights > 0);
            t.days += p.days;
            t.nights += p.nights;
            t.day_compliant_days += p.day_compliant_days;
            t.night_compliant_days += p.night_compliant_days;
            t.points_day_over += usize::from(p.ld_mean_compliant == Some(false));
            t.points_night_over += usize::from(p.ln_mean_compliant == Some(false));
        }
        let towns: Vec<TownReport> = towns
            .into_values()
            .map(|mut t| {
                t.day_compliance_pct = crate::water::pct(t.day_compliant_days, t.days);
                t.night_compliance_pct = crate::water::pct(t.night_compliant_days, t.nights);
                t
            })
            .collect();
        let dn = engine.day_night();
        Ok(NoiseReport {
            report: "noise",
            from: from.to_string(),
            to: to.to_string(),
            standard: "GB3096-2008",
            day_start: hhmm(dn.day_start_min),
            night_start: hhmm(dn.night_start_min),
            points,
            towns,
        })
    }
}
