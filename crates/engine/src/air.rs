//! Ambient air: station and county daily values and daily AQI, kept in the derived table
//! `air_days` (one row per (site, Beijing day), [`store::AirDay`]).
//!
//! Per station and natural day (HJ 663 / GB 3095 Table 4, via the `standards` crate):
//! - hour values: HJ 212 2061 `Avg` of PM2.5 a34004, PM10 a34002, SO2 a21026, NO2 a21004,
//!   CO a21005 (mg/m³), O3 a05024; an hour is valid only with flag `N` (or no flag) and a finite,
//!   non-negative value ([`hour_is_valid`]);
//! - 24-h means of PM2.5, PM10, SO2, NO2, CO with ≥ 20 valid hours ([`assessment::daily_mean`]);
//! - O3 MDA8 ([`assessment::mda8`]) with the GB 3095 8-h limit of the rules in force (class 2);
//! - O3 daily max 1-h (HJ 633-2012 daily indicator) with ≥ 20 valid hours (engine policy);
//! - daily AQI, level and primary pollutants by [`aqi::evaluate`] under the HJ 633 version in
//!   force on that day ([`standards::versions::air_rules_on`]).
//!
//! The county row ([`store::COUNTY_SITE`]) is the arithmetic mean over the county's assessment
//! stations (urban stations; all stations if none is urban) of each daily concentration,
//! then the AQI of those means (HJ 663-2013 城市尺度: city values are the arithmetic mean of the
//! city-scale points; see docs/engine.md).

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use model::{Measurement, Period};
use standards::ambient::{self, AmbientPollutant, AveragingPeriod, ZoneClass};
use standards::aqi::{self, AqiStandard, Indicator, Reading, ReportKind};
use standards::assessment::{self, DayHours, MDA8_MIN_WINDOWS};
use standards::versions::air_rules_on;
use standards::{Date, Decimal};
use store::{AirDay, IntakePacket, Store, COUNTY_SITE};

use crate::time::{day_start_utc, days, hour_start_of};
use crate::Result;

/// The six pollutants in the engine's fixed order.
pub const POLLUTANTS: [AmbientPollutant; 6] = [
    AmbientPollutant::Pm25,
    AmbientPollutant::Pm10,
    AmbientPollutant::So2,
    AmbientPollutant::No2,
    AmbientPollutant::Co,
    AmbientPollutant::O3,
];

/// HJ 212-2017 codes of [`POLLUTANTS`] (same order).
pub const CODES: [&str; 6] = ["a34004", "a34002", "a21026", "a21004", "a21005", "a05024"];
/// The field carrying the hourly mean.
pub const FIELD: &str = "Avg";
/// Watermark name of the air derived table (newest `received_ms` processed by catch-up).
pub const WATERMARK: &str = "air_days.received_ms";
/// Zone class the stations are judged in (二类区; the profile carries no zone yet).
pub const ZONE: ZoneClass = ZoneClass::Class2;

fn code_index(code: &str) -> Option<usize> {
    CODES.iter().position(|c| *c == code)
}

/// Whether a stored hour value counts for assessment.
///
/// HJ 212-2017 Table 8 flags: `N` normal is valid; `F` 停运 (stopped), `M` 维护 (maintenance),
/// `S` 手工输入 (set/manual value), `D` 故障 (fault), `C` 校准 (calibration), `T` 超限 (over
/// range), `B` 通讯异常 (communication) are not measurements of ambient air under normal
/// operation and are excluded (HJ 663-2013 / GB 3095 Table 4 count only valid hourly means;
/// HJ 818-2018 §9 treats calibration, maintenance and fault periods as invalid). A value
/// without a flag is taken as normal. Non-finite and negative values are excluded.
pub fn hour_is_valid(m: &Measurement) -> bool {
    m.flag.as_deref().is_none_or(|f| f == "N") && m.value.is_finite() && m.value >= 0.0
}

pub(crate) fn decimal_of(m: &Measurement) -> Option<Decimal> {
    Decimal::from_str(m.text.trim())
        .ok()
        .or_else(|| Decimal::try_from(m.value).ok())
}

/// An air station the engine evaluates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AirStation {
    /// Site code (e.g. `AIR-01`).
    pub site: String,
    /// Whether the station enters the county mean (城区 assessment station).
    pub urban: bool,
}

/// What an update did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpdateStats {
    /// Station days recomputed.
    pub station_days: usize,
    /// County days recomputed.
    pub county_days: usize,
    /// Hour values read.
    pub values_read: usize,
}

/// A commit observer (same type as `ingest::CommitObserver`).
pub use crate::observe::Observer;

/// The hour values of one station and one day, per pollutant, indexed by hour start.
type StationHours = [DayHours; 6];

/// The air engine: station list and the derivation of `air_days`.
#[derive(Debug, Clone)]
pub struct AirEngine {
    stations: BTreeMap<String, AirStation>,
}

impl AirEngine {
    /// The air engine over a profile's air stations (shared by the CLI and the web).
    pub fn from_profile(profile: &profile::Profile) -> AirEngine {
        AirEngine::new(
            profile
                .sites_by_kind(profile::SiteKind::Air)
                .map(|s| AirStation {
                    site: s.code.clone(),
                    urban: s.air.as_ref().is_some_and(|x| x.urban),
                }),
        )
    }

    /// An engine over these stations.
    pub fn new(stations: impl IntoIterator<Item = AirStation>) -> AirEngine {
        AirEngine {
            stations: stations.into_iter().map(|s| (s.site.clone(), s)).collect(),
        }
    }

    /// The stations, by site code.
    pub fn stations(&self) -> impl Iterator<Item = &AirStation> {
        self.stations.values()
    }

    /// The sites whose mean is the county's: urban stations, or every station if none is urban.
    pub fn county_sites(&self) -> Vec<String> {
        let urban: Vec<String> = self
            .stations
            .values()
            .filter(|s| s.urban)
            .map(|s| s.site.clone())
            .collect();
        if urban.is_empty() {
            self.stations.keys().cloned().collect()
        } else {
            urban
        }
    }

    /// A record the daily values depend on: 2061 hour or 2051 minute `Avg`, or 2011 `Rtd`
    /// (hours without a device hour are rolled up from them, [`crate::air_hourly`]).
    fn is_air_hour(&self, site: &str, code: &str, field: &str, period: Period) -> bool {
        let field_ok = match period {
            Period::Hour | Period::Min => field == FIELD,
            Period::Rtd => field == crate::air_hourly::RTD_FIELD,
            Period::Day => false,
        };
        field_ok && code_index(code).is_some() && self.stations.contains_key(site)
    }

    /// The (station, Beijing day) pairs a committed batch touched. Hour values are labelled by
    /// their start (HJ 212 DataTime); the day is that hour's Beijing natural day. Minute and
    /// real-time records touch the day of their hour too.
    pub fn touched(&self, packets: &[IntakePacket]) -> BTreeSet<(String, Date)> {
        let mut out = BTreeSet::new();
        for m in packets.iter().flat_map(|p| &p.values) {
            if self.is_air_hour(&m.site, &m.code, &m.field, m.period) {
                out.insert((m.site.clone(), hour_start_of(m.time).date));
            }
        }
        out
    }

    /// Recomputes the station days in `touched` and the county day of every date among them.
    pub fn update(
        &self,
        store: &mut dyn Store,
        touched: &BTreeSet<(String, Date)>,
    ) -> Result<UpdateStats> {
        let mut stats = UpdateStats::default();
        let mut rows = Vec::new();
        let mut dates = BTreeSet::new();
        for (site, day) in touched {
            if !self.stations.contains_key(site) {
                continue;
            }
            let from = day_start_utc(*day);
            let mut hours = empty_hours(*day);
            stats.values_read += read_hours(store, site, from, from + 86_400, &mut |i, t, v| {
                put_hour(&mut hours, i, t, v);
            })?;
            rows.push(station_day(site, &hours));
            dates.insert(*day);
            stats.station_days += 1;
        }
        store.put_air_days(&rows)?;
        stats.county_days = self.update_county(store, &dates)?;
        Ok(stats)
    }

    /// Cold start: recomputes every station and county day from `from` to `to` (inclusive),
    /// one scan per station.
    pub fn rebuild(&self, store: &mut dyn Store, from: Date, to: Date) -> Result<UpdateStats> {
        let mut stats = UpdateStats::default();
        let (t0, t1) = (day_start_utc(from), day_start_utc(to) + 86_400);
        let all_days: Vec<Date> = days(from, to).collect();
        for site in self.stations.keys() {
            let mut by_day: BTreeMap<Date, StationHours> = BTreeMap::new();
            stats.values_read += read_hours(store, site, t0, t1, &mut |i, t, v| {
                let d = hour_start_of(t).date;
                put_hour(by_day.entry(d).or_insert_with(|| empty_hours(d)), i, t, v);
            })?;
            let rows: Vec<AirDay> = by_day.values().map(|h| station_day(site, h)).collect();
            stats.station_days += rows.len();
            store.put_air_days(&rows)?;
        }
        stats.county_days = self.update_county(store, &all_days.into_iter().collect())?;
        Ok(stats)
    }

    /// Brings `air_days` up to date with every hour value received since the watermark
    /// (all values on the first run), then advances the watermark. Use before reading the
    /// derived table from a data folder that a server filled.
    pub fn catch_up(&self, store: &mut dyn Store) -> Result<UpdateStats> {
        let since = store.watermark(WATERMARK)?.unwrap_or(i64::MIN);
        let mut keys = store.received_since(Period::Hour, since)?;
        keys.extend(store.received_since(Period::Min, since)?);
        keys.extend(store.received_since(Period::Rtd, since)?);
        let mut touched = BTreeSet::new();
        let mut newest = since;
        for k in &keys {
            newest = newest.max(k.received_ms);
            if self.is_air_hour(&k.site, &k.code, &k.field, k.period) {
                touched.insert((k.site.clone(), hour_start_of(k.time).date));
            }
        }
        let stats = self.update(store, &touched)?;
        if newest > since {
            store.set_watermark(WATERMARK, newest)?;
        }
        Ok(stats)
    }

    /// A commit observer for `ingest::spawn_writer`: updates the days each commit touched,
    /// through its own store handle (open a second `SqliteStore` on the same folder), and
    /// advances the watermark. Errors are logged to stderr; the next catch-up repairs them.
    pub fn observer(self, store: Box<dyn Store>) -> Observer {
        crate::observe::observer("air", WATERMARK, store, move |store, packets| {
            let touched = self.touched(packets);
            if touched.is_empty() {
                return Ok(false);
            }
            self.update(store, &touched)?;
            Ok(true)
        })
    }

    fn update_county(&self, store: &mut dyn Store, dates: &BTreeSet<Date>) -> Result<usize> {
        let members: BTreeSet<String> = self.county_sites().into_iter().collect();
        let (Some(first), Some(last)) = (dates.first(), dates.last()) else {
            return Ok(0);
        };
        let mut by_day: BTreeMap<String, Vec<AirDay>> = BTreeMap::new();
        for r in store.air_days(None, &first.to_string(), &last.to_string())? {
            if members.contains(&r.site) {
                by_day.entry(r.day.clone()).or_default().push(r);
            }
        }
        let mut rows = Vec::new();
        for d in dates {
            let key = d.to_string();
            let stations = by_day.remove(&key).unwrap_or_default();
            if stations.is_empty() {
                continue;
            }
            rows.push(county_day(*d, &stations));
        }
        store.put_air_days(&rows)?;
        Ok(rows.len())
    }
}

fn empty_hours(d: Date) -> StationHours {
    std::array::from_fn(|_| DayHours::new(d))
}

/// The 1-h values of `site` in `[from, to)`: the device's 2061 hours, and where a pollutant has
/// none, the hour rolled up from 2051/2011 records (≥ 45 valid minutes, [`crate::air_hourly`]).
/// Returns the records read.
fn read_hours(
    store: &dyn Store,
    site: &str,
    from: i64,
    to: i64,
    f: &mut dyn FnMut(usize, i64, Option<Decimal>),
) -> Result<usize> {
    crate::air_hourly::for_each_hour_value(
        store,
        site,
        from,
        to,
        &crate::air_hourly::HourPolicy::default(),
        f,
    )
}

fn put_hour(hours: &mut StationHours, i: usize, time: i64, v: Option<Decimal>) {
    // HourStart built from the UTC interval start; a value of another day is ignored.
    let _ = hours[i].set(hour_start_of(time), v);
}

/// Concentrations of one day in [`POLLUTANTS`] order plus O3 1-h max.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayConc {
    /// PM2.5, PM10, SO2, NO2, CO 24-h means; O3 MDA8 (valid under the given rules).
    pub c: [Option<Decimal>; 6],
    /// O3 daily max 1-h.
    pub o3_1h: Option<Decimal>,
}

/// The daily AQI of `conc` under `std` (HJ 633 §5–7, 2026 completeness rule §5.3):
/// (AQI, level, primary indicator names).
pub fn daily_aqi(std: AqiStandard, conc: &DayConc) -> (Option<u16>, Option<u8>, Vec<String>) {
    let ind = [
        Indicator::Pm25_24h,
        Indicator::Pm10_24h,
        Indicator::So2_24h,
        Indicator::No2_24h,
        Indicator::Co_24h,
        Indicator::O3_8h,
    ];
    let mut readings: BTreeMap<Indicator, Reading> = ind
        .iter()
        .zip(conc.c)
        .map(|(&i, v)| (i, v.map_or(Reading::Missing, Reading::Value)))
        .collect();
    readings.insert(
        Indicator::O3_1h,
        conc.o3_1h.map_or(Reading::Missing, Reading::Value),
    );
    // Negative values never reach here (hour_is_valid), so evaluate cannot fail.
    match aqi::evaluate(std, ReportKind::Daily, &readings) {
        Ok(r) => (
            r.aqi,
            r.category.map(|c| c.level),
            r.primary.iter().map(|i| i.name().to_string()).collect(),
        ),
        Err(_) => (None, None, Vec::new()),
    }
}

/// The GB 3095 O3 8-h limit (class 2) of the ambient rules of `date`.
pub fn o3_8h_limit(date: Date) -> Decimal {
    ambient::limit(
        air_rules_on(date).ambient,
        AmbientPollutant::O3,
        AveragingPeriod::DailyMax8h,
        ZONE,
    )
    .expect("GB 3095 has an O3 8-h limit")
}

fn s(d: Option<Decimal>) -> Option<String> {
    d.map(|d| d.normalize().to_string())
}

fn station_day(site: &str, h: &StationHours) -> AirDay {
    let date = h[0].date;
    let mut conc = DayConc::default();
    for (c, day) in conc.c.iter_mut().zip(h.iter()).take(5) {
        *c = assessment::daily_mean(day).ok();
    }
    let o3 = &h[5];
    let m = assessment::mda8(o3, o3_8h_limit(date));
    conc.c[5] = m.value();
    conc.o3_1h = (o3.valid_hours() >= ambient::validity::DAILY_MEAN_MIN_HOURS)
        .then(|| o3.hours().iter().flatten().copied().max())
        .flatten();
    let std = AqiStandard::in_force_on(date);
    let (aqi, level, primary) = daily_aqi(std, &conc);
    let hours = POLLUTANTS
        .iter()
        .zip(h.iter())
        .map(|(p, d)| format!("{}={}", p.name(), d.valid_hours()))
        .collect::<Vec<_>>()
        .join(",");
    AirDay {
        site: site.to_string(),
        day: date.to_string(),
        rules: std.code().to_string(),
        pm25: s(conc.c[0]),
        pm10: s(conc.c[1]),
        so2: s(conc.c[2]),
        no2: s(conc.c[3]),
        co: s(conc.c[4]),
        o3_8h: s(conc.c[5]),
        o3_1h: s(conc.o3_1h),
        o3_8h_max: s(m.max),
        o3_8h_windows: m.valid_windows as i64,
        hours,
        aqi: aqi.map(i64::from),
        level: level.map(i64::from),
        primary: primary.join(","),
        stations: 1,
        updated_ms: now_ms(),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn parse(s: &Option<String>) -> Option<Decimal> {
    s.as_deref().and_then(|s| Decimal::from_str(s).ok())
}

/// The stored concentrations of a derived day, with the MDA8 judged under the O3 8-h `limit`
/// of the rules to apply (HJ 663 §4.3: ≥ 14 valid windows, or fewer with the max over the limit).
pub fn day_conc(r: &AirDay, limit_8h: Option<Decimal>) -> DayConc {
    let o3_8h = match (limit_8h, r.site.as_str()) {
        (Some(limit), site) if site != COUNTY_SITE => parse(&r.o3_8h_max)
            .filter(|m| r.o3_8h_windows as usize >= MDA8_MIN_WINDOWS || *m > limit),
        _ => parse(&r.o3_8h),
    };
    DayConc {
        c: [
            parse(&r.pm25),
            parse(&r.pm10),
            parse(&r.so2),
            parse(&r.no2),
            parse(&r.co),
            o3_8h,
        ],
        o3_1h: parse(&r.o3_1h),
    }
}

fn county_day(date: Date, stations: &[AirDay]) -> AirDay {
    let concs: Vec<DayConc> = stations.iter().map(|r| day_conc(r, None)).collect();
    let mut conc = DayConc::default();
    let mut counts = [0usize; 7];
    let mean = |vals: Vec<Decimal>| -> Option<Decimal> {
        (!vals.is_empty()).then(|| vals.iter().sum::<Decimal>() / Decimal::from(vals.len()))
    };
    for (i, (c, n)) in conc.c.iter_mut().zip(counts.iter_mut()).enumerate() {
        let vals: Vec<Decimal> = concs.iter().filter_map(|x| x.c[i]).collect();
        *n = vals.len();
        *c = mean(vals);
    }
    let vals: Vec<Decimal> = concs.iter().filter_map(|c| c.o3_1h).collect();
    counts[6] = vals.len();
    conc.o3_1h = mean(vals);
    let std = AqiStandard::in_force_on(date);
    let (aqi, level, primary) = daily_aqi(std, &conc);
    let hours = POLLUTANTS
        .iter()
        .zip(counts)
        .map(|(p, n)| format!("{}={n}", p.name()))
        .collect::<Vec<_>>()
        .join(",");
    AirDay {
        site: COUNTY_SITE.to_string(),
        day: date.to_string(),
        rules: std.code().to_string(),
        pm25: s(conc.c[0]),
        pm10: s(conc.c[1]),
        so2: s(conc.c[2]),
        no2: s(conc.c[3]),
        co: s(conc.c[4]),
        o3_8h: s(conc.c[5]),
        o3_1h: s(conc.o3_1h),
        o3_8h_max: None,
        o3_8h_windows: 0,
        hours,
        aqi: aqi.map(i64::from),
        level: level.map(i64::from),
        primary: primary.join(","),
        stations: concs
            .iter()
            .filter(|c| c.c.iter().any(Option::is_some))
            .count() as i64,
        updated_ms: now_ms(),
    }
}
