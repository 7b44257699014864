//! Ambient air, hour by hour: the minute → hour roll-up (GB 3095 Table 4 / HJ 663: an hour mean
//! is valid with ≥ 45 minutes of valid data) and the hourly real-time AQI (实时报) per station
//! and for the county, kept in the derived table `air_hours` ([`store::air_hours::AirHour`]).
//!
//! **1-h values** per station, pollutant and clock hour (UTC start `h`; Beijing hours are whole
//! UTC hours):
//! - the device's own hour: HJ 212 2061 `Avg`, valid as [`crate::air::hour_is_valid`] says;
//! - else the **roll-up** of the hour's 2051 minute `Avg` records, else of its 2011 real-time
//!   `Rtd` records ([`roll_up`]): each record stands for the interval to the next one (the
//!   smallest spacing of the hour's records, 60 s when there is only one); a record is valid
//!   with flag `N`/none and a finite, non-negative value; the hour is valid with
//!   ≥ 45 valid minutes (GB 3095-2012 Table 4 "1 小时平均: 每小时至少有 45 分钟的采样时间",
//!   [`ambient::validity::HOURLY_MIN_MINUTES`]); its mean is the arithmetic mean of the valid
//!   records, exact decimals;
//! - where the device sent its hour **and** minutes exist, both are kept: the device's hour is
//!   used, the roll-up is stored beside it, and the pollutant is flagged as disagreeing when
//!   both are valid and `|device − roll-up| > max(5 % × roll-up, one unit of the HJ 663
//!   reporting precision: 1 µg/m³, CO 0.1 mg/m³)` ([`HourPolicy`], a platform policy).
//!
//! **Hourly AQI** by [`aqi::evaluate`] with [`ReportKind::Hourly`] under the HJ 633 version in
//! force on the hour's Beijing date (2012 before 2026-03-01, 2026 from then on), with the
//! indicator set of that version (standards crate `HOURLY_2012` / `HOURLY_2026`):
//! - HJ 633-2012 §5.1.3: SO2, NO2, CO, O3 1-h; O3 8-h moving average; PM10 and PM2.5 24-h
//!   moving averages (IAQI on the 24-h tables); PM10/PM2.5 1-h as concentrations only; the SO2
//!   24-h moving average stands in when SO2 1-h > 800 µg/m³ (Table 1 note 2);
//! - HJ 633-2026 §4.2.3: the six 1-h values, PM on the 24-h tables; §5.3 NA rule.
//!
//! Moving averages end with the hour: O3 8-h = hours h−7…h, valid with ≥ 6 valid hours
//! (HJ 663-2013 / GB 3095 Table 4, [`ambient::validity::O3_8H_MIN_HOURS`]); PM2.5, PM10, SO2
//! 24-h = hours h−23…h, valid with ≥ 20 valid hours (GB 3095 Table 4 24-h rule applied to the
//! moving window — engine policy, no separate minimum was found). They cross Beijing midnight.
//!
//! **County** rows ([`store::COUNTY_SITE`]): per pollutant the arithmetic mean of the county
//! stations' valid 1-h values of the hour (urban stations, all if none is urban — the same set
//! as the daily county row), then moving averages and AQI from that county hourly series.

use std::collections::{BTreeMap, BTreeSet};

use model::{Measurement, Period};
use standards::aqi::{self, AqiStandard, Indicator, Reading, ReportKind};
use standards::assessment::report_dp;
use standards::{ambient, Decimal};
use store::air_hours::{AirHour, AirHoursStore};
use store::{IntakePacket, Store, ValueFilter, COUNTY_SITE};

use crate::air::{decimal_of, hour_is_valid, AirEngine, AirStation, CODES, FIELD, POLLUTANTS};
use crate::air_report::RulesChoice;
use crate::time::{day_start_utc, hour_start_of};
use crate::Result;

/// Watermark of `air_hours`.
pub const WATERMARK: &str = "air_hours.received_ms";
/// HJ 212 field of 2011 real-time values.
pub const RTD_FIELD: &str = "Rtd";
const HOUR: i64 = 3600;
/// Hours before an hour that its 24-h moving average reaches back.
const BACK: i64 = 23 * HOUR;

/// Platform policy of the roll-up (the 45 minutes are the standard's; the tolerance is ours).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HourPolicy {
    /// Valid minutes for a valid hour mean (GB 3095 Table 4: 45).
    pub min_valid_minutes: u32,
    /// Relative tolerance between the device's hour and the roll-up (of the roll-up).
    pub disagree_rel: Decimal,
}

impl Default for HourPolicy {
    fn default() -> Self {
        HourPolicy {
            min_valid_minutes: ambient::validity::HOURLY_MIN_MINUTES,
            disagree_rel: Decimal::new(5, 2),
        }
    }
}

/// Where an hour value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HourSource {
    /// The device's 2061 hour record.
    Device,
    /// Rolled up from 2051 minute records.
    Minutes,
    /// Rolled up from 2011 real-time records.
    Realtime,
}

impl HourSource {
    /// `device`, `minutes`, `realtime`.
    pub fn code(self) -> &'static str {
        match self {
            HourSource::Device => "device",
            HourSource::Minutes => "minutes",
            HourSource::Realtime => "realtime",
        }
    }
}

/// A roll-up of one pollutant's sub-hour records in one hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollUp {
    /// The hour mean when ≥ the minimum of valid minutes.
    pub mean: Option<Decimal>,
    /// Minutes covered by valid records (0–60).
    pub valid_minutes: u32,
    /// Minute or real-time records.
    pub source: HourSource,
}

/// The 1-h value of one pollutant in one hour, and how it was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourValue {
    /// The value the hour is judged on (`None` = invalid).
    pub value: Option<Decimal>,
    /// Where `value` came from.
    pub source: HourSource,
    /// The sub-hour roll-up, when sub-hour records exist (kept next to a device hour).
    pub rollup: Option<RollUp>,
    /// Device hour and roll-up both valid and further apart than the tolerance.
    pub disagree: bool,
}

/// Sub-hour records of one pollutant in one hour: time → value (`None` = invalid record).
type Records = BTreeMap<i64, Option<Decimal>>;

/// Everything stored for one pollutant in one hour.
#[derive(Debug, Clone, Default)]
struct RawCode {
    /// The device hour: `Some(value or None when invalid)`.
    device: Option<Option<Decimal>>,
    minutes: Records,
    realtime: Records,
}

type RawHour = [RawCode; 6];

fn record_value(m: &Measurement) -> Option<Decimal> {
    if hour_is_valid(m) {
        decimal_of(m)
    } else {
        None
    }
}

/// Rolls up sub-hour records of one hour (GB 3095 Table 4: ≥ 45 minutes of sampling). Each
/// record counts for the records' interval (smallest positive spacing, 60 s for a single
/// record); the mean is that of the valid records.
pub fn roll_up(records: &Records, source: HourSource, policy: &HourPolicy) -> RollUp {
    let interval = records
        .keys()
        .zip(records.keys().skip(1))
        .map(|(a, b)| b - a)
        .filter(|d| *d > 0)
        .min()
        .unwrap_or(60);
    let valid: Vec<Decimal> = records.values().flatten().copied().collect();
    let covered_s = (valid.len() as i64 * interval).min(HOUR);
    let valid_minutes = (covered_s / 60) as u32;
    let mean = (valid_minutes >= policy.min_valid_minutes && !valid.is_empty())
        .then(|| valid.iter().sum::<Decimal>() / Decimal::from(valid.len()));
    RollUp {
        mean,
        valid_minutes,
        source,
    }
}

/// The tolerance of the device-vs-roll-up comparison for pollutant index `i`.
fn tolerance(i: usize, rollup: Decimal, policy: &HourPolicy) -> Decimal {
    let unit = Decimal::new(1, report_dp(POLLUTANTS[i]));
    (rollup.abs() * policy.disagree_rel).max(unit)
}

fn resolve(i: usize, raw: &RawCode, policy: &HourPolicy) -> Option<HourValue> {
    let rollup = if !raw.minutes.is_empty() {
        Some(roll_up(&raw.minutes, HourSource::Minutes, policy))
    } else if !raw.realtime.is_empty() {
        Some(roll_up(&raw.realtime, HourSource::Realtime, policy))
    } else {
        None
    };
    match (raw.device, rollup) {
        (Some(dev), _) => Some(HourValue {
            value: dev,
            source: HourSource::Device,
            rollup,
            disagree: match (dev, rollup.and_then(|r| r.mean)) {
                (Some(d), Some(m)) => (d - m).abs() > tolerance(i, m, policy),
                _ => false,
            },
        }),
        (None, Some(r)) => Some(HourValue {
            value: r.mean,
            source: r.source,
            rollup: Some(r),
            disagree: false,
        }),
        (None, None) => None,
    }
}

fn code_index(code: &str) -> Option<usize> {
    CODES.iter().position(|c| *c == code)
}

/// Reads the stored records of `site` in `[from, to)` of `period` into `raw` (hour → codes).
fn read_period<S: Store + ?Sized>(
    store: &S,
    site: &str,
    period: Period,
    from: i64,
    to: i64,
    raw: &mut BTreeMap<i64, RawHour>,
) -> Result<usize> {
    let field = if period == Period::Rtd {
        RTD_FIELD
    } else {
        FIELD
    };
    let filter = ValueFilter {
        site: Some(site.to_string()),
        period: Some(period),
        from: Some(from),
        to: Some(to),
        ..ValueFilter::default()
    };
    let mut n = 0;
    store.for_each_value(&filter, &mut |m| {
        if m.field != field {
            return Ok(());
        }
        let Some(i) = code_index(&m.code) else {
            return Ok(());
        };
        n += 1;
        let h = m.time.div_euclid(HOUR) * HOUR;
        let c = &mut raw.entry(h).or_default()[i];
        let v = record_value(m);
        match period {
            Period::Hour => c.device = Some(v),
            Period::Min => {
                c.minutes.insert(m.time, v);
            }
            _ => {
                c.realtime.insert(m.time, v);
            }
        }
        Ok(())
    })?;
    Ok(n)
}

/// The 1-h values of `site` in `[from, to)` as the daily engine uses them: the device's hours,
/// and for (pollutant, hour) without a device hour the roll-up of minute / real-time records
/// (read only over the span of hours that lack one). Calls `f(pollutant index, hour start,
/// value)` for every (pollutant, hour) with a record; returns the records read.
pub fn for_each_hour_value(
    store: &dyn Store,
    site: &str,
    from: i64,
    to: i64,
    policy: &HourPolicy,
    f: &mut dyn FnMut(usize, i64, Option<Decimal>),
) -> Result<usize> {
    let mut raw: BTreeMap<i64, RawHour> = BTreeMap::new();
    let mut n = read_period(store, site, Period::Hour, from, to, &mut raw)?;
    let first = from.div_euclid(HOUR) * HOUR;
    let lacking: Vec<i64> = (first..to)
        .step_by(HOUR as usize)
        .filter(|h| {
            raw.get(h)
                .is_none_or(|codes| codes.iter().any(|c| c.device.is_none()))
        })
        .collect();
    if let (Some(lo), Some(hi)) = (lacking.first(), lacking.last()) {
        let (lo, hi) = ((*lo).max(from), (hi + HOUR).min(to));
        n += read_period(store, site, Period::Min, lo, hi, &mut raw)?;
        n += read_period(store, site, Period::Rtd, lo, hi, &mut raw)?;
    }
    for (h, codes) in &raw {
        for (i, c) in codes.iter().enumerate() {
            if let Some(v) = resolve(i, c, policy) {
                f(i, *h, v.value);
            }
        }
    }
    Ok(n)
}

/// The concentrations an hourly AQI is computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourConc {
    /// 1-h values in [`POLLUTANTS`] order (PM2.5, PM10, SO2, NO2, CO, O3).
    pub c1h: [Option<Decimal>; 6],
    /// 24-h moving averages of PM2.5, PM10, SO2.
    pub pm25_24h: Option<Decimal>,
    pub pm10_24h: Option<Decimal>,
    pub so2_24h: Option<Decimal>,
    /// O3 8-h moving average.
    pub o3_8h: Option<Decimal>,
}

/// An hourly AQI judgement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HourlyAqi {
    /// AQI (`None` = NA).
    pub aqi: Option<u16>,
    /// Level 1–6.
    pub level: Option<u8>,
    /// Primary pollutants (indicator names).
    pub primary: Vec<String>,
    /// IAQI per indicator that entered the AQI.
    pub iaqi: Vec<(String, u16)>,
}

/// The hourly AQI of `c` under `std` (HJ 633-2012 §5.1.3 / HJ 633-2026 §4.2.3 indicator sets,
/// via the standards crate; indicators outside the version's set are ignored).
pub fn hourly_aqi(std: AqiStandard, c: &HourConc) -> HourlyAqi {
    let r = |v: Option<Decimal>| v.map_or(Reading::Missing, Reading::Value);
    let readings: BTreeMap<Indicator, Reading> = [
        (Indicator::Pm25_1h, r(c.c1h[0])),
        (Indicator::Pm10_1h, r(c.c1h[1])),
        (Indicator::So2_1h, r(c.c1h[2])),
        (Indicator::No2_1h, r(c.c1h[3])),
        (Indicator::Co_1h, r(c.c1h[4])),
        (Indicator::O3_1h, r(c.c1h[5])),
        (Indicator::Pm25_24h, r(c.pm25_24h)),
        (Indicator::Pm10_24h, r(c.pm10_24h)),
        (Indicator::So2_24h, r(c.so2_24h)),
        (Indicator::O3_8h, r(c.o3_8h)),
    ]
    .into_iter()
    .collect();
    match aqi::evaluate(std, ReportKind::Hourly, &readings) {
        Ok(rep) => HourlyAqi {
            aqi: rep.aqi,
            level: rep.category.map(|c| c.level),
            primary: rep.primary.iter().map(|i| i.name().to_string()).collect(),
            iaqi: rep
                .iaqi
                .values()
                .filter_map(|x| x.value().map(|v| (x.indicator.name().to_string(), v)))
                .collect(),
        },
        // Negative values never get here (records are validated), so evaluate cannot fail.
        Err(_) => HourlyAqi::default(),
    }
}

/// The HJ 633 version in force on the Beijing date of the hour starting at `hour` (UTC s).
pub fn standard_of_hour(hour: i64) -> AqiStandard {
    AqiStandard::in_force_on(hour_start_of(hour).date)
}

fn s(d: Option<Decimal>) -> Option<String> {
    d.map(|d| d.normalize().to_string())
}

fn parse(s: &Option<String>) -> Option<Decimal> {
    s.as_deref().and_then(|s| s.parse().ok())
}

/// The 1-h values of a stored row.
pub fn row_1h(r: &AirHour) -> [Option<Decimal>; 6] {
    [
        parse(&r.pm25),
        parse(&r.pm10),
        parse(&r.so2),
        parse(&r.no2),
        parse(&r.co),
        parse(&r.o3),
    ]
}

/// The concentrations of a stored row.
pub fn row_conc(r: &AirHour) -> HourConc {
    HourConc {
        c1h: row_1h(r),
        pm25_24h: parse(&r.pm25_24h),
        pm10_24h: parse(&r.pm10_24h),
        so2_24h: parse(&r.so2_24h),
        o3_8h: parse(&r.o3_8h),
    }
}

/// Mean of the valid 1-h values of pollutant `i` over the `n` hours ending with `h`, if at
/// least `min` are valid.
fn moving(
    series: &BTreeMap<i64, [Option<Decimal>; 6]>,
    i: usize,
    h: i64,
    n: i64,
    min: usize,
) -> Option<Decimal> {
    let vals: Vec<Decimal> = series
        .range(h - (n - 1) * HOUR..=h)
        .filter_map(|(_, v)| v[i])
        .collect();
    (vals.len() >= min).then(|| vals.iter().sum::<Decimal>() / Decimal::from(vals.len()))
}

/// What a row says besides its values.
#[derive(Debug, Clone, Default)]
struct RowMeta {
    sources: String,
    minutes: String,
    disagree: String,
    stations: i64,
}

fn build_row(
    site: &str,
    h: i64,
    meta: &RowMeta,
    series: &BTreeMap<i64, [Option<Decimal>; 6]>,
) -> AirHour {
    let c1h = series.get(&h).copied().unwrap_or_default();
    let day_min = ambient::validity::DAILY_MEAN_MIN_HOURS;
    let conc = HourConc {
        c1h,
        pm25_24h: moving(series, 0, h, 24, day_min),
        pm10_24h: moving(series, 1, h, 24, day_min),
        so2_24h: moving(series, 2, h, 24, day_min),
        o3_8h: moving(series, 5, h, 8, ambient::validity::O3_8H_MIN_HOURS),
    };
    let std = standard_of_hour(h);
    let j = hourly_aqi(std, &conc);
    AirHour {
        site: site.to_string(),
        hour: h,
        rules: std.code().to_string(),
        pm25: s(c1h[0]),
        pm10: s(c1h[1]),
        so2: s(c1h[2]),
        no2: s(c1h[3]),
        co: s(c1h[4]),
        o3: s(c1h[5]),
        pm25_24h: s(conc.pm25_24h),
        pm10_24h: s(conc.pm10_24h),
        so2_24h: s(conc.so2_24h),
        o3_8h: s(conc.o3_8h),
        sources: meta.sources.clone(),
        minutes: meta.minutes.clone(),
        disagree: meta.disagree.clone(),
        aqi: j.aqi.map(i64::from),
        level: j.level.map(i64::from),
        primary: j.primary.join(","),
        iaqi: j
            .iaqi
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
        stations: meta.stations,
        updated_ms: now_ms(),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn station_meta(values: &[Option<HourValue>; 6]) -> RowMeta {
    let mut sources = Vec::new();
    let mut minutes = Vec::new();
    let mut disagree = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let Some(v) = v else { continue };
        let name = POLLUTANTS[i].name();
        sources.push(format!("{name}={}", v.source.code()));
        if let Some(r) = v.rollup {
            let mean = r
                .mean
                .map(|m| m.normalize().to_string())
                .unwrap_or_default();
            minutes.push(format!("{name}={mean}/{}", r.valid_minutes));
        }
        if v.disagree {
            disagree.push(name);
        }
    }
    RowMeta {
        sources: sources.join(","),
        minutes: minutes.join(","),
        disagree: disagree.join(","),
        stations: 1,
    }
}

/// What an update did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourlyStats {
    /// Station hours written (recomputed 1-h values, and later hours whose moving averages
    /// changed).
    pub station_hours: usize,
    /// County hours written.
    pub county_hours: usize,
    /// Stored records read.
    pub values_read: usize,
}

/// A commit observer (same type as `ingest::CommitObserver`).
pub use crate::observe::Observer;

/// The hourly air engine: roll-up, moving averages, real-time AQI, table `air_hours`.
#[derive(Debug, Clone)]
pub struct AirHourlyEngine {
    air: AirEngine,
    policy: HourPolicy,
}

/// Splits sorted hours into clusters whose gaps are at most two days (one read each).
fn clusters(hours: &BTreeSet<i64>) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &h in hours {
        match out.last_mut() {
            Some((_, hi)) if h - *hi <= 48 * HOUR => *hi = h,
            _ => out.push((h, h)),
        }
    }
    out
}

impl AirHourlyEngine {
    /// An engine over these stations (the county set is that of [`AirEngine::county_sites`]).
    pub fn new(stations: impl IntoIterator<Item = AirStation>, policy: HourPolicy) -> Self {
        AirHourlyEngine {
            air: AirEngine::new(stations),
            policy,
        }
    }

    /// The same stations as a daily engine.
    pub fn from_air(air: &AirEngine) -> Self {
        AirHourlyEngine {
            air: air.clone(),
            policy: HourPolicy::default(),
        }
    }

    /// The stations' daily engine (station list, county sites).
    pub fn air(&self) -> &AirEngine {
        &self.air
    }

    /// The roll-up policy.
    pub fn policy(&self) -> &HourPolicy {
        &self.policy
    }

    fn is_station(&self, site: &str) -> bool {
        self.air.stations().any(|s| s.site == site)
    }

    fn is_air_record(&self, site: &str, code: &str, field: &str, period: Period) -> bool {
        let field_ok = match period {
            Period::Hour | Period::Min => field == FIELD,
            Period::Rtd => field == RTD_FIELD,
            Period::Day => false,
        };
        field_ok && code_index(code).is_some() && self.is_station(site)
    }

    /// The (station, UTC hour start) pairs a committed batch touched (2061, 2051 and 2011
    /// records of the six pollutants).
    pub fn touched(&self, packets: &[IntakePacket]) -> BTreeSet<(String, i64)> {
        packets
            .iter()
            .flat_map(|p| &p.values)
            .filter(|m| self.is_air_record(&m.site, &m.code, &m.field, m.period))
            .map(|m| (m.site.clone(), m.time.div_euclid(HOUR) * HOUR))
            .collect()
    }

    /// Recomputes the touched station hours, the 23 hours after each (their 24-h moving
    /// averages include it), and the county hours of the same span.
    pub fn update(
        &self,
        store: &mut dyn AirHoursStore,
        touched: &BTreeSet<(String, i64)>,
    ) -> Result<HourlyStats> {
        let mut stats = HourlyStats::default();
        let mut by_site: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
        for (site, h) in touched {
            if self.is_station(site) {
                by_site.entry(site).or_default().insert(*h);
            }
        }
        let county: BTreeSet<String> = self.air.county_sites().into_iter().collect();
        let mut county_hours = BTreeSet::new();
        for (site, hours) in &by_site {
            for (lo, hi) in clusters(hours) {
                let mut raw: BTreeMap<i64, RawHour> = BTreeMap::new();
                for p in [Period::Hour, Period::Min, Period::Rtd] {
                    stats.values_read += read_period(&*store, site, p, lo, hi + HOUR, &mut raw)?;
                }
                let mut fresh: BTreeMap<i64, ([Option<Decimal>; 6], RowMeta)> = BTreeMap::new();
                for &h in hours.range(lo..=hi) {
                    let codes = raw.remove(&h).unwrap_or_default();
                    let values: [Option<HourValue>; 6] =
                        std::array::from_fn(|i| resolve(i, &codes[i], &self.policy));
                    let c1h = std::array::from_fn(|i| values[i].and_then(|v| v.value));
                    fresh.insert(h, (c1h, station_meta(&values)));
                }
                stats.station_hours += self.write_window(store, site, lo, hi, fresh)?;
                if county.contains(*site) {
                    county_hours.extend(hours.range(lo..=hi).copied());
                }
            }
        }
        for (lo, hi) in clusters(&county_hours) {
            let mut per_hour: BTreeMap<i64, Vec<[Option<Decimal>; 6]>> = BTreeMap::new();
            for site in &county {
                for r in store.air_hours(Some(site), lo, hi + HOUR)? {
                    if county_hours.contains(&r.hour) {
                        per_hour.entry(r.hour).or_default().push(row_1h(&r));
                    }
                }
            }
            let mut fresh = BTreeMap::new();
            for &h in county_hours.range(lo..=hi) {
                let rows = per_hour.remove(&h).unwrap_or_default();
                fresh.insert(h, county_hour(&rows));
            }
            stats.county_hours += self.write_window(store, COUNTY_SITE, lo, hi, fresh)?;
        }
        Ok(stats)
    }

    /// Writes the fresh hours of `site` in `[lo, hi]` and re-judges every stored hour up to
    /// `hi + 23 h` (their moving averages reach back into the fresh hours).
    fn write_window(
        &self,
        store: &mut dyn AirHoursStore,
        site: &str,
        lo: i64,
        hi: i64,
        fresh: BTreeMap<i64, ([Option<Decimal>; 6], RowMeta)>,
    ) -> Result<usize> {
        let mut series: BTreeMap<i64, [Option<Decimal>; 6]> = BTreeMap::new();
        let mut metas: BTreeMap<i64, RowMeta> = BTreeMap::new();
        for r in store.air_hours(Some(site), lo - BACK, hi + BACK + HOUR)? {
            series.insert(r.hour, row_1h(&r));
            if r.hour >= lo {
                metas.insert(
                    r.hour,
                    RowMeta {
                        sources: r.sources,
                        minutes: r.minutes,
                        disagree: r.disagree,
                        stations: r.stations,
                    },
                );
            }
        }
        for (h, (c1h, meta)) in fresh {
            series.insert(h, c1h);
            metas.insert(h, meta);
        }
        let rows: Vec<AirHour> = metas
            .iter()
            .map(|(h, meta)| build_row(site, *h, meta, &series))
            .collect();
        store.put_air_hours(&rows)?;
        Ok(rows.len())
    }

    /// Cold start: every station and county hour with data from `from` to `to` (Beijing days,
    /// inclusive).
    pub fn rebuild(
        &self,
        store: &mut dyn AirHoursStore,
        from: standards::Date,
        to: standards::Date,
    ) -> Result<HourlyStats> {
        let (t0, t1) = (day_start_utc(from), day_start_utc(to) + 86_400);
        let mut touched = BTreeSet::new();
        for st in self.air.stations() {
            let filter = ValueFilter {
                site: Some(st.site.clone()),
                from: Some(t0),
                to: Some(t1),
                ..ValueFilter::default()
            };
            store.for_each_value(&filter, &mut |m| {
                if self.is_air_record(&m.site, &m.code, &m.field, m.period) {
                    touched.insert((m.site.clone(), m.time.div_euclid(HOUR) * HOUR));
                }
                Ok(())
            })?;
        }
        self.update(store, &touched)
    }

    /// Brings `air_hours` up to date with every record received since the watermark
    /// (everything on the first run), then advances the watermark.
    pub fn catch_up(&self, store: &mut dyn AirHoursStore) -> Result<HourlyStats> {
        let since = store.watermark(WATERMARK)?.unwrap_or(i64::MIN);
        let mut touched = BTreeSet::new();
        let mut newest = since;
        for period in [Period::Hour, Period::Min, Period::Rtd] {
            for k in store.received_since(period, since)? {
                newest = newest.max(k.received_ms);
                if self.is_air_record(&k.site, &k.code, &k.field, k.period) {
                    touched.insert((k.site.clone(), k.time.div_euclid(HOUR) * HOUR));
                }
            }
        }
        let stats = self.update(store, &touched)?;
        if newest > since {
            store.set_watermark(WATERMARK, newest)?;
        }
        Ok(stats)
    }

    /// A commit observer for `ingest::spawn_writer` (its own store handle on the same folder).
    /// Advances the watermark only once a catch-up has set it; errors go to stderr and the
    /// next catch-up repairs them.
    pub fn observer(self, store: Box<dyn AirHoursStore>) -> Observer {
        crate::observe::observer("air_hours", WATERMARK, store, move |store, packets| {
            let touched = self.touched(packets);
            if touched.is_empty() {
                return Ok(false);
            }
            self.update(store, &touched)?;
            Ok(true)
        })
    }
}

fn county_hour(rows: &[[Option<Decimal>; 6]]) -> ([Option<Decimal>; 6], RowMeta) {
    let mut c1h = [None; 6];
    let mut sources = Vec::new();
    for (i, c) in c1h.iter_mut().enumerate() {
        let vals: Vec<Decimal> = rows.iter().filter_map(|r| r[i]).collect();
        if !vals.is_empty() {
            *c = Some(vals.iter().sum::<Decimal>() / Decimal::from(vals.len()));
            sources.push(format!("{}=stations:{}", POLLUTANTS[i].name(), vals.len()));
        }
    }
    let meta = RowMeta {
        sources: sources.join(","),
        stations: rows
            .iter()
            .filter(|r| r.iter().any(Option::is_some))
            .count() as i64,
        ..RowMeta::default()
    };
    (c1h, meta)
}

/// One hour of the hourly report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HourEntry {
    /// Site code or `_county`.
    pub site: String,
    /// Hour start, Beijing (`2025-07-01T08:00:00+08:00`).
    pub hour: String,
    /// Hour start, UTC seconds.
    pub hour_utc: i64,
    /// HJ 633 version that judged the hour.
    pub rules: &'static str,
    /// Hourly AQI (`null` = NA).
    pub aqi: Option<u16>,
    pub level: Option<u8>,
    /// 类别.
    pub category: Option<&'static str>,
    pub primary: Vec<String>,
    /// IAQI per indicator that entered the AQI.
    pub iaqi: BTreeMap<String, u16>,
    /// Concentrations: `PM25_1H`, `PM10_1H`, `SO2_1H`, `NO2_1H`, `CO_1H`, `O3_1H`, `PM25_24H`,
    /// `PM10_24H`, `SO2_24H` (24-h moving), `O3_8H` (8-h moving); `null` when invalid.
    pub concentrations: BTreeMap<&'static str, Option<f64>>,
    /// Where each 1-h value came from (`device`, `minutes`, `realtime`, county `stations:n`).
    pub sources: BTreeMap<String, String>,
    /// Sub-hour roll-ups `{"PM2.5":{"mean":…,"valid_minutes":…}}`.
    pub minutes: BTreeMap<String, MinuteRollUp>,
    /// Pollutants whose device hour disagrees with the roll-up.
    pub disagree: Vec<String>,
    /// Stations behind the row (county: stations with a valid value).
    pub stations: i64,
}

/// A stored roll-up as reported.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MinuteRollUp {
    pub mean: Option<f64>,
    pub valid_minutes: u32,
}

/// The hourly report: `qingshan report air-hours`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AirHoursReport {
    pub report: &'static str,
    /// First hour start (inclusive) and end (exclusive), Beijing.
    pub from: String,
    pub to: String,
    /// `by_date` or the fixed HJ 633 version (trend comparison).
    pub rules: &'static str,
    pub county_sites: Vec<String>,
    pub hours: Vec<HourEntry>,
}

/// A concentration as reported: 3 decimals (GB/T 8170) so moving averages do not print 28
/// digits; the exact values stay in `air_hours` and judged the AQI.
fn f(d: Decimal) -> f64 {
    standards::rounding::gbt8170(d, 3)
        .to_string()
        .parse()
        .unwrap_or(f64::NAN)
}

fn pairs(s: &str) -> impl Iterator<Item = (&str, &str)> {
    s.split(',').filter_map(|p| p.split_once('='))
}

/// One stored row as a report entry, judged by `rules` (`Fixed` recomputes from the stored
/// concentrations under that version).
pub fn hour_entry(r: &AirHour, rules: RulesChoice) -> HourEntry {
    let conc = row_conc(r);
    let (std, j) = match rules {
        RulesChoice::ByDate => {
            let std = AqiStandard::from_code(&r.rules).unwrap_or(standard_of_hour(r.hour));
            let j = HourlyAqi {
                aqi: r.aqi.and_then(|a| u16::try_from(a).ok()),
                level: r.level.and_then(|l| u8::try_from(l).ok()),
                primary: r
                    .primary
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                iaqi: pairs(&r.iaqi)
                    .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
                    .collect(),
            };
            (std, j)
        }
        RulesChoice::Fixed(std) => (std, hourly_aqi(std, &conc)),
    };
    let names = ["PM25_1H", "PM10_1H", "SO2_1H", "NO2_1H", "CO_1H", "O3_1H"];
    let mut concentrations: BTreeMap<&'static str, Option<f64>> = names
        .iter()
        .zip(conc.c1h)
        .map(|(n, v)| (*n, v.map(f)))
        .collect();
    concentrations.insert("PM25_24H", conc.pm25_24h.map(f));
    concentrations.insert("PM10_24H", conc.pm10_24h.map(f));
    concentrations.insert("SO2_24H", conc.so2_24h.map(f));
    concentrations.insert("O3_8H", conc.o3_8h.map(f));
    HourEntry {
        site: r.site.clone(),
        hour: model::format_beijing(r.hour),
        hour_utc: r.hour,
        rules: std.code(),
        aqi: j.aqi,
        level: j.level,
        category: j.aqi.map(|a| aqi::category(a).name_cn),
        primary: j.primary,
        iaqi: j.iaqi.into_iter().collect(),
        concentrations,
        sources: pairs(&r.sources)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        minutes: pairs(&r.minutes)
            .filter_map(|(k, v)| {
                let (mean, n) = v.split_once('/')?;
                Some((
                    k.to_string(),
                    MinuteRollUp {
                        mean: mean.parse::<Decimal>().ok().map(f),
                        valid_minutes: n.parse().ok()?,
                    },
                ))
            })
            .collect(),
        disagree: r
            .disagree
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        stations: r.stations,
    }
}

impl AirHoursReport {
    /// The hours `from <= hour < to` (UTC seconds) of `site` (every station and the county with
    /// `None`), read from `air_hours` (call [`AirHourlyEngine::catch_up`] first).
    pub fn build(
        store: &dyn AirHoursStore,
        engine: &AirHourlyEngine,
        site: Option<&str>,
        from: i64,
        to: i64,
        rules: RulesChoice,
    ) -> Result<AirHoursReport> {
        if let Some(s) = site {
            if s != COUNTY_SITE && !engine.is_station(s) {
                return Err(crate::EngineError::Invalid(format!(
                    "site {s:?} is not an air station of the profile (stations: {}; county: {COUNTY_SITE})",
                    engine
                        .air
                        .stations()
                        .map(|s| s.site.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        if to <= from {
            return Err(crate::EngineError::Invalid(format!(
                "empty hour range: from {} is not before to {}",
                model::format_beijing(from),
                model::format_beijing(to)
            )));
        }
        let hours = store
            .air_hours(site, from, to)?
            .iter()
            .map(|r| hour_entry(r, rules))
            .collect();
        Ok(AirHoursReport {
            report: "air_hours",
            from: model::format_beijing(from),
            to: model::format_beijing(to),
            rules: rules.label(),
            county_sites: engine.air.county_sites(),
            hours,
        })
    }
}
