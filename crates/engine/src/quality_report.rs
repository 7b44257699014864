//! The data-quality report: transmission rate, validity rate and effective transmission rate
//! (传输有效率) per device per day and per month, from the derived `quality_days` counts.
//!
//! - transmission rate 传输率 = received periods / expected periods;
//! - validity rate 有效率 = valid periods / received periods;
//! - effective transmission rate 传输有效率 = transmission rate × validity rate
//!   (= valid / expected), expected ≥ 90 % ([`THRESHOLD`]).
//!
//! Basis: hour data (2061, field `Avg`/`Data`). Expected = the hours **due**
//! ([`crate::due`]): ended by the time of the report, from the device's commissioning, within
//! its site's reporting hours. A (device, code) that reported at least once in the period is
//! expected on every due hour of the period (days without any value count their due hours as
//! missing); received and valid hours count only within the due hours.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use model::Device;
use serde::Serialize;
use standards::Date;
use store::quality::QualityStore;
use store::DeviceState;

use crate::due::{Due, DueSpan, Schedules};
use crate::time::{day_start_utc, days, hour_start_of};
use crate::Result;

/// Expected effective transmission rate (传输有效率 ≥ 90 %).
pub const THRESHOLD: f64 = 0.9;

/// Counts and rates of one period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rates {
    pub expected: i64,
    pub received: i64,
    pub valid: i64,
    /// received / expected (`null` when nothing was expected).
    pub transmission_rate: Option<f64>,
    /// valid / received (`null` when nothing was received).
    pub validity_rate: Option<f64>,
    /// transmission × validity (`null` when nothing was expected).
    pub effective_rate: Option<f64>,
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

impl Rates {
    fn add(&mut self, expected: i64, received: i64, valid: i64) {
        self.expected += expected;
        self.received += received;
        self.valid += valid;
    }

    fn finish(mut self) -> Rates {
        let ratio = |a: i64, b: i64| (b > 0).then(|| a as f64 / b as f64);
        let t = ratio(self.received, self.expected);
        let v = ratio(self.valid, self.received);
        self.transmission_rate = t.map(round4);
        self.validity_rate = v.map(round4);
        self.effective_rate = t.map(|t| round4(t * v.unwrap_or(0.0)));
        self
    }
}

/// One day or month of a device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodRates {
    /// `YYYY-MM-DD` (daily) or `YYYY-MM` (monthly).
    pub period: String,
    #[serde(flatten)]
    pub rates: Rates,
}

/// One device over the report period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceQuality {
    pub mn: String,
    pub site: String,
    /// Codes whose hour data the device sent in the period.
    pub codes: Vec<String>,
    #[serde(flatten)]
    pub rates: Rates,
    /// effective_rate ≥ 0.9.
    pub meets_threshold: bool,
    /// Received hours with a device flag other than N.
    pub flagged: i64,
    /// Received hours an operator marked invalid.
    pub marked_invalid: i64,
    /// Findings overlapping the period, by kind.
    pub findings: BTreeMap<String, i64>,
    /// Per Beijing day (month reports) …
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<PeriodRates>,
    /// … or per month (year reports).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub months: Vec<PeriodRates>,
}

/// The report (JSON contract in docs/engine-quality.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityReport {
    pub from: String,
    pub to: String,
    pub basis: String,
    /// What counts as expected (due): docs/engine-quality.md "What is due".
    pub due: String,
    /// The time the due hours were counted to (Beijing, RFC 3339): hours ending later are not
    /// expected yet.
    pub as_of: String,
    pub threshold: f64,
    pub devices: Vec<DeviceQuality>,
    /// All devices together.
    pub total: Rates,
    /// Devices with effective_rate ≥ threshold.
    pub devices_meeting_threshold: usize,
}

/// Wording of [`QualityReport::due`].
pub const DUE_BASIS: &str = "expected = hours due: ended by as_of, from the device's \
commissioning (the earlier of its registration and its first data) to its retirement, within \
its site's reporting hours (restaurants: opening hours; other sites: all day); received and \
valid hours are counted within the hours due";

/// Per (mn): site, code → day → (received mask, valid mask, legacy received, legacy valid).
#[derive(Default)]
struct Dev {
    site: String,
    codes: BTreeMap<String, BTreeMap<String, DayCounts>>,
    flagged: i64,
    marked: i64,
}

#[derive(Default, Clone, Copy)]
struct DayCounts {
    received_mask: i64,
    valid_mask: i64,
    /// Counts of rows derived before the masks existed.
    legacy_received: i64,
    legacy_valid: i64,
}

impl DayCounts {
    /// (received, valid) within the due hours `mask` (`due` of them).
    fn within(&self, mask: i64, due: i64) -> (i64, i64) {
        let r = i64::from((self.received_mask & mask).count_ones());
        let v = i64::from((self.valid_mask & mask).count_ones());
        let lr = self.legacy_received.min((due - r).max(0));
        let lv = self.legacy_valid.min(lr);
        (r + lr, v + lv)
    }
}

impl QualityReport {
    /// Builds the report over `[from, to]` (Beijing days) as of `now` (UTC s): an hour is
    /// expected only when it is due ([`crate::due`]): ended by `now`, in the device's span
    /// (commissioning to retirement) and its site's reporting hours (`schedules`). `by_month`
    /// lists months per device, otherwise days.
    pub fn build(
        store: &dyn QualityStore,
        from: Date,
        to: Date,
        now: i64,
        by_month: bool,
        schedules: &Schedules,
    ) -> Result<QualityReport> {
        let today = hour_start_of(now - 1).date;
        let last = if today < to { today } else { to };
        let period_days: Vec<Date> = if last < from {
            Vec::new()
        } else {
            days(from, last).collect()
        };
        let registry: HashMap<String, Device> = store
            .devices()?
            .into_iter()
            .map(|d| (d.mn.clone(), d))
            .collect();
        let states: HashMap<String, DeviceState> = store
            .device_states()?
            .into_iter()
            .map(|s| (s.mn.clone(), s))
            .collect();
        let rows = store.quality_days(&from.to_string(), &to.to_string())?;
        let mut devs: BTreeMap<String, Dev> = BTreeMap::new();
        for r in rows {
            let d = devs.entry(r.mn.clone()).or_default();
            d.site = r.site.clone();
            d.flagged += r.flagged;
            d.marked += r.marked_invalid;
            let c = d.codes.entry(r.code.clone()).or_default();
            let e = c.entry(r.day.clone()).or_default();
            match (r.received_mask, r.valid_mask) {
                (Some(rm), Some(vm)) => {
                    e.received_mask |= rm;
                    e.valid_mask |= vm;
                }
                _ => {
                    e.legacy_received += r.received;
                    e.legacy_valid += r.valid;
                }
            }
        }
        let (t0, t1) = (day_start_utc(from), day_start_utc(to) + 86_400);
        let mut by_kind: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        for f in store.findings(None, t0, t1, None)? {
            *by_kind
                .entry(f.mn.clone())
                .or_default()
                .entry(f.kind.clone())
                .or_default() += 1;
        }
        let mut total = Rates::default();
        let mut devices = Vec::new();
        for (mn, d) in devs {
            let device = registry.get(&mn);
            let due = Due {
                span: DueSpan::of(device, states.get(&mn)),
                window: schedules.window(&d.site, device.map(|x| x.kind)),
                now,
            };
            let mut all = Rates::default();
            let mut per: BTreeMap<String, Rates> = BTreeMap::new();
            for day in &period_days {
                let key = day.to_string();
                let bucket = if by_month {
                    key[..7].to_string()
                } else {
                    key.clone()
                };
                let mask = due.hour_mask(day_start_utc(*day));
                let e = i64::from(mask.count_ones());
                let p = per.entry(bucket).or_default();
                for c in d.codes.values() {
                    let (r, v) = c.get(&key).map_or((0, 0), |x| x.within(mask, e));
                    p.add(e, r, v);
                    all.add(e, r, v);
                }
            }
            let list: Vec<PeriodRates> = per
                .into_iter()
                .map(|(period, rates)| PeriodRates {
                    period,
                    rates: rates.finish(),
                })
                .collect();
            total.add(all.expected, all.received, all.valid);
            let rates = all.finish();
            devices.push(DeviceQuality {
                meets_threshold: rates.effective_rate.is_some_and(|r| r >= THRESHOLD),
                mn: mn.clone(),
                site: d.site,
                codes: d
                    .codes
                    .keys()
                    .cloned()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                rates,
                flagged: d.flagged,
                marked_invalid: d.marked,
                findings: by_kind.remove(&mn).unwrap_or_default(),
                days: if by_month { Vec::new() } else { list.clone() },
                months: if by_month { list } else { Vec::new() },
            });
        }
        Ok(QualityReport {
            from: from.to_string(),
            to: to.to_string(),
            basis: "hour data (2061), field Avg/Data, 24 hours per code and Beijing day, \
                    expected only when due"
                .into(),
            due: DUE_BASIS.into(),
            as_of: model::format_beijing(now),
            threshold: THRESHOLD,
            devices_meeting_threshold: devices.iter().filter(|d| d.meets_threshold).count(),
            devices,
            total: total.finish(),
        })
    }
}
