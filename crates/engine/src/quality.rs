//! Data quality (数据有效性): anomaly checks per device and pollutant, and the daily counts the
//! transmission / validity / effective transmission rates are made of.
//!
//! Per (site, Beijing day) the engine reads the **raw** values with their arrival time and
//! operator mark ([`QualityStore::for_each_audited`]) and derives:
//! - findings (table `quality_findings`, [`store::quality::Finding`]): `zero`, `constant`,
//!   `out_of_range`, `negative`, `jump`, `flag`, `missing`, `clock_drift`; and, from the device
//!   state, `offline` ([`QualityEngine::check_offline`]);
//! - per device, code and day (hour data): expected, received and valid periods (table
//!   `quality_days`), from which [`crate::quality_report`] computes the rates.
//!
//! Checked values: the primary field of each period — `Rtd` of real-time data, `Avg` (or
//! `Data` for noise) of minute and hour data. Status channels (`SB*` fan/purifier) get only the
//! flag and missing checks. Value checks (zero, constant, range, negative, jump) run on minute
//! and hour data; real-time data get the flag and clock-drift checks. Each day is judged on its
//! own: a constant run that crosses Beijing midnight is judged per day.
//!
//! A value is **valid** for the rates when an operator marked it valid, or when it is not marked
//! invalid, carries flag `N` (or none), is finite, and no invalidating finding (`zero`,
//! `constant`, `out_of_range`, `negative`) covers it. See docs/engine-quality.md.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use model::{Device, DeviceKind, Period};
use standards::Date;
use store::quality::{AuditedValue, Finding, MarkState, QualityDay, QualityStore};
use store::IntakePacket;

use crate::time::{day_start_utc, days, hour_start_of};
use crate::Result;

/// Every finding kind.
pub const KINDS: [&str; 9] = [
    "zero",
    "constant",
    "out_of_range",
    "negative",
    "jump",
    "flag",
    "missing",
    "offline",
    "clock_drift",
];
/// Kinds derived per (site, day) from the values (all but `offline`).
pub const VALUE_KINDS: [&str; 8] = [
    "zero",
    "constant",
    "out_of_range",
    "negative",
    "jump",
    "flag",
    "missing",
    "clock_drift",
];
/// Findings that make the values they cover invalid for the validity rate.
pub const INVALIDATING: [&str; 4] = ["zero", "constant", "out_of_range", "negative"];
/// Watermark of the quality tables (newest `received_ms` processed by catch-up).
pub const WATERMARK: &str = "quality.received_ms";

/// A (site, day) that only real-time values touched is re-evaluated once its oldest such
/// value is this old (ms), or sooner with the day's next minute or hour value. Real-time
/// values feed only the flag and clock-drift findings, but evaluating a day re-reads all of
/// it: doing that for every real-time packet (each device every 30 s) was most of what the
/// live demo fleet cost the server.
pub const RTD_DEFER_MS: i64 = 600_000;

/// Instrument range and zero policy of one code (optionally for one kind of device: the same
/// code means µg/m³ at an air station and mg/m³ in a stack).
#[derive(Debug, Clone, PartialEq)]
pub struct CodeRule {
    /// `None` = any device kind (used when no kind-specific rule exists).
    pub kind: Option<DeviceKind>,
    pub code: String,
    /// Lowest value the instrument can report; `min >= 0` makes a negative value impossible.
    pub min: f64,
    /// Highest value the instrument can report (its range).
    pub max: f64,
    /// Whether an exact zero is suspicious (a real ambient/effluent concentration is never 0).
    pub zero_suspect: bool,
    /// How the `jump` check judges two consecutive values of the code.
    pub jump: JumpCheck,
}

/// How the `jump` check judges two consecutive values of a code: a jump is a change the
/// quantity cannot make between two intervals, so the test depends on what is measured
/// (docs/engine-quality.md, table of ranges). Codes without a rule are judged by ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum JumpCheck {
    /// Ratio-scale quantities (concentrations, conductivity, O2): the value is at least
    /// `jump_factor` × the previous one or at most 1/`jump_factor` of it, and differs from it
    /// by at least `jump_min_share` of the range.
    Ratio,
    /// Interval-scale quantities (temperatures in °C, where 0 is no zero of the quantity and a
    /// ratio means nothing): the values differ by at least this much, in the code's unit.
    Delta(f64),
    /// Angles in degrees round the compass (wind direction): the shorter way round differs by
    /// at least this many degrees — 357° → 21° is 24°, not 336°.
    Angle(f64),
    /// No jump check: for this quantity a sudden change is what is measured (gusts, flows that
    /// stop and start, pH excursions, noise events), not an instrument fault.
    Off,
}

/// The angle between two directions in degrees, the shorter way round (0–180).
pub fn angular_distance(a: f64, b: f64) -> f64 {
    let d = (b - a).rem_euclid(360.0);
    d.min(360.0 - d)
}

fn rule(kind: Option<DeviceKind>, code: &str, min: f64, max: f64, zero: bool) -> CodeRule {
    CodeRule {
        kind,
        code: code.into(),
        min,
        max,
        zero_suspect: zero,
        jump: JumpCheck::Ratio,
    }
}

impl CodeRule {
    fn jump(mut self, j: JumpCheck) -> CodeRule {
        self.jump = j;
        self
    }
}

/// The default instrument ranges (documented in docs/engine-quality.md).
pub fn default_rules() -> Vec<CodeRule> {
    use DeviceKind::*;
    let air = Some(Air);
    let gas = Some(FlueGas);
    vec![
        // Ambient air (HJ 653 / HJ 654 analysers; µg/m³, CO mg/m³).
        rule(air, "a34004", 0.0, 1000.0, true),
        rule(air, "a34002", 0.0, 1000.0, true),
        rule(air, "a21026", 0.0, 1500.0, false),
        rule(air, "a21004", 0.0, 1000.0, true),
        rule(air, "a21005", 0.0, 60.0, true),
        rule(air, "a05024", 0.0, 1000.0, false),
        // Meteorology. Air temperature is °C (interval scale): a change of 10 °C within an
        // interval is beyond weather (a cold front drops a few °C an hour). Humidity swings
        // by tens of % with rain or sunrise and wind speed by any factor with gusts: no jump
        // check (a stuck or broken sensor shows as constant or out of range). Wind
        // direction is an angle: only a near-reversal between consecutive means, measured
        // round the compass, is a jump.
        rule(None, "a01001", -50.0, 60.0, false).jump(JumpCheck::Delta(10.0)),
        rule(None, "a01002", 0.0, 100.0, false).jump(JumpCheck::Off),
        rule(None, "a01007", 0.0, 60.0, false).jump(JumpCheck::Off),
        rule(None, "a01008", 0.0, 360.0, false).jump(JumpCheck::Angle(150.0)),
        // Flue gas CEMS (HJ 75/76; mg/m³, O2 %, °C).
        rule(gas, "a21026", 0.0, 5000.0, false),
        rule(gas, "a21002", 0.0, 5000.0, false),
        rule(gas, "a34013", 0.0, 500.0, false),
        rule(None, "a19001", 0.0, 25.0, true),
        // Flue temperature (°C): a start-up heats the flue by about 100 °C within an hour.
        rule(None, "a01012", 0.0, 500.0, true).jump(JumpCheck::Delta(150.0)),
        // Flows stop and start with production.
        rule(None, "a00000", 0.0, 1.0e8, false).jump(JumpCheck::Off),
        // Restaurant fume (mg/m³).
        rule(None, "a34041", 0.0, 100.0, false),
        // Water (surface/drinking/waste; mg/L, pH, °C, µS/cm).
        // pH is logarithmic and its excursions are what the exceedance and water-class rules
        // judge; a failing probe shows as zero, constant or out of 0–14.
        rule(None, "w01001", 0.0, 14.0, true).jump(JumpCheck::Off),
        rule(None, "w01009", 0.0, 20.0, false),
        rule(None, "w01019", 0.0, 100.0, false),
        rule(None, "w21003", 0.0, 100.0, false),
        rule(None, "w21011", 0.0, 20.0, false),
        rule(None, "w21001", 0.0, 100.0, false),
        rule(None, "w01018", 0.0, 2000.0, false),
        rule(None, "w01010", -5.0, 50.0, false).jump(JumpCheck::Delta(10.0)),
        rule(None, "w01014", 0.0, 20000.0, false),
        rule(None, "w00000", 0.0, 1.0e7, false).jump(JumpCheck::Off),
        // Noise (dB(A)): a level is logarithmic and loud events are what is measured.
        rule(None, "LA", 20.0, 140.0, true).jump(JumpCheck::Off),
        rule(None, "Leq", 20.0, 140.0, true).jump(JumpCheck::Off),
    ]
}

/// Thresholds of the checks.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityConfig {
    /// `constant`: this many identical hour values in a row (default 6).
    pub constant_run_hour: usize,
    /// `constant`: this many identical minute values in a row (default 12 = 2 h at 10 min).
    pub constant_run_min: usize,
    /// `jump`: a value at least `jump_factor` × the previous one, or at most 1/`jump_factor`
    /// of it (default 5) …
    pub jump_factor: f64,
    /// … and differing from it by at least this share of the code's range (default 0.1), so
    /// low-level noise (2 → 11 µg/m³) is no jump. Codes without a range: no minimum.
    pub jump_min_share: f64,
    /// `clock_drift`: real-time DataTime more than this many seconds from the arrival, or an
    /// interval whose end lies more than this in the future of the arrival (default 600 s).
    pub drift_s: i64,
    /// `offline`: no packet for this many expected intervals (default 3).
    pub offline_intervals: i64,
    /// Minute interval when the device has no MinInterval and none can be inferred (600 s).
    pub default_min_interval_s: i64,
    pub rules: Vec<CodeRule>,
    /// Reporting hours per site / kind: `offline` counts only silence in them
    /// ([`crate::due`]).
    pub schedules: crate::due::Schedules,
}

impl Default for QualityConfig {
    fn default() -> Self {
        QualityConfig {
            constant_run_hour: 6,
            constant_run_min: 12,
            jump_factor: 5.0,
            jump_min_share: 0.1,
            drift_s: 600,
            offline_intervals: 3,
            default_min_interval_s: 600,
            rules: default_rules(),
            schedules: crate::due::Schedules::default(),
        }
    }
}

impl QualityConfig {
    /// The rule of `code` for a device of `kind`: the kind-specific one, else the generic one.
    pub fn rule(&self, kind: Option<DeviceKind>, code: &str) -> Option<&CodeRule> {
        self.rules
            .iter()
            .find(|r| r.code == code && r.kind.is_some() && r.kind == kind)
            .or_else(|| {
                self.rules
                    .iter()
                    .find(|r| r.code == code && r.kind.is_none())
            })
    }
}

/// What an update did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QualityStats {
    /// (site, day) pairs recomputed.
    pub site_days: usize,
    pub values_read: usize,
    pub findings: usize,
}

/// A commit observer (same type as `ingest::CommitObserver`).
pub use crate::observe::Observer;

/// The checked field of a period.
pub fn is_primary(period: Period, field: &str) -> bool {
    match period {
        Period::Rtd => field == "Rtd",
        Period::Min | Period::Hour => field == "Avg" || field == "Data",
        Period::Day => false,
    }
}

fn is_status(code: &str) -> bool {
    code.starts_with("SB")
}

fn is_valid_flag(flag: Option<&str>) -> bool {
    flag.is_none_or(|f| f == "N")
}

/// The data-quality engine.
#[derive(Debug, Clone, Default)]
pub struct QualityEngine {
    pub config: QualityConfig,
}

type SeriesKey = (String, String, String); // (mn, code, field)

impl QualityEngine {
    pub fn new(config: QualityConfig) -> QualityEngine {
        QualityEngine { config }
    }

    /// The (site, Beijing day) pairs a committed batch touched.
    pub fn touched(&self, packets: &[IntakePacket]) -> BTreeSet<(String, Date)> {
        let mut out = BTreeSet::new();
        for m in packets.iter().flat_map(|p| &p.values) {
            if is_primary(m.period, &m.field) {
                out.insert((m.site.clone(), hour_start_of(m.time).date));
            }
        }
        out
    }

    /// Recomputes findings and daily counts of every (site, day) in `touched`.
    pub fn update(
        &self,
        store: &mut dyn QualityStore,
        touched: &BTreeSet<(String, Date)>,
    ) -> Result<QualityStats> {
        let devices: HashMap<String, Device> = store
            .devices()?
            .into_iter()
            .map(|d| (d.mn.clone(), d))
            .collect();
        let mut stats = QualityStats::default();
        for (site, day) in touched {
            self.evaluate(store, &devices, site, *day, *day, &mut stats)?;
        }
        Ok(stats)
    }

    /// Cold start: recomputes every site seen in the store from `from` to `to` (inclusive).
    pub fn rebuild(
        &self,
        store: &mut dyn QualityStore,
        sites: &[String],
        from: Date,
        to: Date,
    ) -> Result<QualityStats> {
        let devices: HashMap<String, Device> = store
            .devices()?
            .into_iter()
            .map(|d| (d.mn.clone(), d))
            .collect();
        let mut stats = QualityStats::default();
        for site in sites {
            self.evaluate(store, &devices, site, from, to, &mut stats)?;
        }
        Ok(stats)
    }

    /// Brings the quality tables up to date with every value received (or marked) since the
    /// watermark, then advances it.
    pub fn catch_up(&self, store: &mut dyn QualityStore) -> Result<QualityStats> {
        let since = store.watermark(WATERMARK)?.unwrap_or(i64::MIN);
        let mut touched = BTreeSet::new();
        let mut newest = since;
        for period in [Period::Rtd, Period::Min, Period::Hour] {
            for k in store.received_since(period, since)? {
                newest = newest.max(k.received_ms);
                if is_primary(k.period, &k.field) {
                    touched.insert((k.site.clone(), hour_start_of(k.time).date));
                }
            }
        }
        let stats = self.update(store, &touched)?;
        if newest > since {
            store.set_watermark(WATERMARK, newest)?;
        }
        Ok(stats)
    }

    /// `offline` findings: each registered device that, since its last packet, owes
    /// `offline_intervals` of its interval (real-time interval if set, else MinInterval, else
    /// one hour) at `now_ms` — silence counted only while the device is due
    /// ([`crate::due::Due::seconds`]: its site's reporting hours, after commissioning), so a
    /// restaurant closed at night is not offline. The finding runs from the last packet to
    /// `now`, `count` = intervals owed; it stays as the record of the outage when the device
    /// comes back. Returns the devices found offline now.
    pub fn check_offline(&self, store: &mut dyn QualityStore, now_ms: i64) -> Result<Vec<Finding>> {
        let states: HashMap<String, store::DeviceState> = store
            .device_states()?
            .into_iter()
            .map(|s| (s.mn.clone(), s))
            .collect();
        let now = now_ms.div_euclid(1000);
        let mut out = Vec::new();
        for d in store.devices()? {
            let Some(state) = states.get(&d.mn) else {
                continue;
            };
            let Some(last_ms) = state.last_seen_ms else {
                continue;
            };
            let last = last_ms.div_euclid(1000);
            let interval = device_interval(&d);
            let silent = self
                .config
                .schedules
                .due(&d, Some(state), now)
                .seconds(last, now);
            if silent < self.config.offline_intervals * interval {
                continue;
            }
            let f = Finding {
                kind: "offline".into(),
                site: d.site.clone(),
                code: String::new(),
                mn: d.mn.clone(),
                from: last,
                to: now,
                count: silent / interval,
                detail: format!("interval_s={interval}"),
            };
            store.replace_findings(
                &d.site,
                last,
                last + 1,
                &["offline"],
                std::slice::from_ref(&f),
            )?;
            out.push(f);
        }
        Ok(out)
    }

    /// A commit observer: recomputes the days each commit touched through its own store handle
    /// (days touched only by real-time values after [`RTD_DEFER_MS`]), checks offline devices
    /// at most once a minute, and advances the watermark (only once a catch-up set it, and
    /// never past a deferred day's first value, so a restart's catch-up still derives it).
    /// Errors go to stderr; the next catch-up repairs them.
    pub fn observer(self, mut store: Box<dyn QualityStore>) -> Observer {
        let mut last_offline = i64::MIN;
        // (site, day) → arrival of its oldest real-time value not yet evaluated.
        let mut deferred: BTreeMap<(String, Date), i64> = BTreeMap::new();
        Box::new(move |packets: &[IntakePacket]| {
            let now = now_ms();
            let mut due = BTreeSet::new();
            for p in packets {
                for m in &p.values {
                    if !is_primary(m.period, &m.field) {
                        continue;
                    }
                    let key = (m.site.clone(), hour_start_of(m.time).date);
                    if m.period == Period::Rtd {
                        let first = deferred.entry(key).or_insert(p.received_ms);
                        *first = (*first).min(p.received_ms);
                    } else {
                        due.insert(key);
                    }
                }
            }
            deferred.retain(|k, first| {
                let ripe = now.saturating_sub(*first) >= RTD_DEFER_MS;
                if ripe {
                    due.insert(k.clone());
                }
                !ripe && !due.contains(k)
            });
            let r = (|| -> Result<()> {
                if !due.is_empty() {
                    self.update(store.as_mut(), &due)?;
                }
                let newest = packets.iter().map(|p| p.received_ms).max();
                let held = deferred.values().min().map(|first| first - 1);
                let target = match (newest, held) {
                    (Some(n), Some(h)) => Some(n.min(h)),
                    (n, _) => n,
                };
                if let (Some(t), Some(w)) = (target, store.watermark(WATERMARK)?) {
                    if t > w {
                        store.set_watermark(WATERMARK, t)?;
                    }
                }
                if now.saturating_sub(last_offline) >= 60_000 {
                    last_offline = now;
                    self.check_offline(store.as_mut(), now)?;
                }
                Ok(())
            })();
            if let Err(e) = r {
                eprintln!("engine: quality update failed: {e}");
            }
        })
    }

    fn evaluate(
        &self,
        store: &mut dyn QualityStore,
        devices: &HashMap<String, Device>,
        site: &str,
        from: Date,
        to: Date,
        stats: &mut QualityStats,
    ) -> Result<()> {
        let (t0, t1) = (day_start_utc(from), day_start_utc(to) + 86_400);
        // (period, series, day) → values in time order.
        let mut groups: BTreeMap<(Period, SeriesKey, Date), Vec<AuditedValue>> = BTreeMap::new();
        for period in [Period::Rtd, Period::Min, Period::Hour] {
            store.for_each_audited(site, period, t0, t1, &mut |v| {
                stats.values_read += 1;
                if is_primary(period, &v.m.field) {
                    let key = (v.m.mn.clone(), v.m.code.clone(), v.m.field.clone());
                    let day = hour_start_of(v.m.time).date;
                    groups
                        .entry((period, key, day))
                        .or_default()
                        .push(v.clone());
                }
                Ok(())
            })?;
        }
        let mut findings: BTreeMap<Date, Vec<Finding>> = BTreeMap::new();
        let mut rows = Vec::new();
        for ((period, (mn, code, _field), day), vals) in &groups {
            let device = devices.get(mn);
            let kind = device.map(|d| d.kind);
            let interval = match period {
                Period::Hour => 3600,
                Period::Min => device
                    .and_then(|d| d.min_interval)
                    .map(|m| i64::from(m) * 60)
                    .or_else(|| infer_interval(vals))
                    .unwrap_or(self.config.default_min_interval_s),
                _ => 0,
            };
            let ctx = SeriesCtx {
                site,
                mn,
                code,
                period: *period,
                interval,
                day_start: day_start_utc(*day),
            };
            let (found, invalid) = self.check_series(&ctx, kind, vals);
            if *period == Period::Hour {
                rows.push(day_counts(&ctx, *day, vals, &invalid));
            }
            findings.entry(*day).or_default().extend(found);
        }
        let all_days: Vec<(String, String)> = days(from, to)
            .map(|d| (site.to_string(), d.to_string()))
            .collect();
        for d in days(from, to) {
            let f = findings.remove(&d).unwrap_or_default();
            stats.findings += f.len();
            let s = day_start_utc(d);
            store.replace_findings(site, s, s + 86_400, &VALUE_KINDS, &f)?;
        }
        store.replace_quality_days(&all_days, &rows)?;
        stats.site_days += all_days.len();
        Ok(())
    }

    /// The findings of one series on one day, and the times an invalidating finding covers.
    fn check_series(
        &self,
        c: &SeriesCtx<'_>,
        kind: Option<DeviceKind>,
        vals: &[AuditedValue],
    ) -> (Vec<Finding>, BTreeSet<i64>) {
        let cfg = &self.config;
        let mut out = Vec::new();
        let mut invalid = BTreeSet::new();
        let step = c.interval.max(1);
        let end_of = |t: i64| t + if c.period == Period::Rtd { 1 } else { step };
        // Flags: one finding per letter.
        let mut by_flag: BTreeMap<&str, (i64, i64, i64)> = BTreeMap::new();
        for v in vals {
            if let Some(f) = v.m.flag.as_deref().filter(|f| *f != "N") {
                let e = by_flag.entry(f).or_insert((v.m.time, v.m.time, 0));
                e.1 = v.m.time;
                e.2 += 1;
            }
        }
        for (flag, (a, b, n)) in by_flag {
            out.push(c.finding("flag", a, end_of(b), n, flag.to_string()));
        }
        // Clock drift.
        let mut drift: Option<(i64, i64, i64, i64)> = None; // first, last, count, max |drift|
        for v in vals {
            let arrival = v.received_ms.div_euclid(1000);
            let d = match c.period {
                Period::Rtd => (arrival - v.m.time).abs(),
                // An interval that ends after its arrival: the device clock runs ahead.
                _ => end_of(v.m.time) - arrival,
            };
            if d > cfg.drift_s {
                let e = drift.get_or_insert((v.m.time, v.m.time, 0, 0));
                e.1 = v.m.time;
                e.2 += 1;
                e.3 = e.3.max(d);
            }
        }
        if let Some((a, b, n, max)) = drift {
            out.push(c.finding("clock_drift", a, end_of(b), n, format!("max_s={max}")));
        }
        if c.period == Period::Rtd {
            return (out, invalid);
        }
        // Missing periods against the expected interval.
        let slots = 86_400 / step;
        let have: BTreeSet<i64> = vals
            .iter()
            .map(|v| (v.m.time - c.day_start).div_euclid(step))
            .collect();
        let mut gap: Option<i64> = None;
        for s in 0..=slots {
            let missing = s < slots && !have.contains(&s);
            match (missing, gap) {
                (true, None) => gap = Some(s),
                (false, Some(g)) => {
                    out.push(c.finding(
                        "missing",
                        c.day_start + g * step,
                        c.day_start + s * step,
                        s - g,
                        format!("interval_s={step}"),
                    ));
                    gap = None;
                }
                _ => {}
            }
        }
        if is_status(c.code) {
            return (out, invalid);
        }
        // Value checks.
        let rule = cfg.rule(kind, c.code);
        let mut runs: Vec<(&str, i64, i64, i64, String)> = Vec::new(); // kind, from, last, n, detail
        let push_run = |runs: &mut Vec<(&str, i64, i64, i64, String)>,
                        kind: &'static str,
                        t: i64,
                        detail: String| {
            if let Some(last) = runs.iter_mut().rev().find(|r| r.0 == kind) {
                // Extend the run when this value follows the run's last value directly.
                if last.4 == detail && last.2 + step == t {
                    last.2 = t;
                    last.3 += 1;
                    return;
                }
            }
            runs.push((kind, t, t, 1, detail));
        };
        let finite: Vec<&AuditedValue> = vals.iter().filter(|v| v.m.value.is_finite()).collect();
        for v in &finite {
            let x = v.m.value;
            let t = v.m.time;
            if let Some(r) = rule {
                if x < 0.0 && r.min >= 0.0 {
                    push_run(&mut runs, "negative", t, String::new());
                } else if x < r.min || x > r.max {
                    push_run(
                        &mut runs,
                        "out_of_range",
                        t,
                        format!("range={}..{}", r.min, r.max),
                    );
                } else if x == 0.0 && r.zero_suspect {
                    push_run(&mut runs, "zero", t, String::new());
                }
            }
        }
        for (kind, a, b, n, detail) in runs {
            for v in &finite {
                if v.m.time >= a && v.m.time <= b {
                    invalid.insert(v.m.time);
                }
            }
            out.push(c.finding(kind, a, end_of(b), n, detail));
        }
        // Constant: n identical values in a row (consecutive received values).
        let need = match c.period {
            Period::Min => cfg.constant_run_min,
            _ => cfg.constant_run_hour,
        }
        .max(2);
        let mut i = 0;
        while i < finite.len() {
            let mut j = i + 1;
            while j < finite.len() && finite[j].m.value == finite[i].m.value {
                j += 1;
            }
            if j - i >= need {
                for v in &finite[i..j] {
                    invalid.insert(v.m.time);
                }
                out.push(c.finding(
                    "constant",
                    finite[i].m.time,
                    end_of(finite[j - 1].m.time),
                    (j - i) as i64,
                    format!("value={}", finite[i].m.text),
                ));
            }
            i = j;
        }
        // Jumps against the previous value, as the code's quantity allows.
        let min_delta = rule.map_or(0.0, |r| r.max * cfg.jump_min_share);
        let check = rule.map_or(JumpCheck::Ratio, |r| r.jump);
        for w in finite.windows(2) {
            let (p, x) = (w[0].m.value, w[1].m.value);
            let jump = match check {
                JumpCheck::Ratio => {
                    p > 0.0
                        && x > 0.0
                        && (if x > p { x / p } else { p / x }) >= cfg.jump_factor
                        && (x - p).abs() >= min_delta
                }
                JumpCheck::Delta(d) => (x - p).abs() >= d,
                JumpCheck::Angle(d) => angular_distance(p, x) >= d,
                JumpCheck::Off => false,
            };
            if jump {
                out.push(c.finding(
                    "jump",
                    w[1].m.time,
                    end_of(w[1].m.time),
                    1,
                    format!("{}->{}", w[0].m.text, w[1].m.text),
                ));
            }
        }
        (out, invalid)
    }
}

struct SeriesCtx<'a> {
    site: &'a str,
    mn: &'a str,
    code: &'a str,
    period: Period,
    interval: i64,
    day_start: i64,
}

impl SeriesCtx<'_> {
    fn finding(&self, kind: &str, from: i64, to: i64, count: i64, detail: String) -> Finding {
        Finding {
            kind: kind.into(),
            site: self.site.into(),
            code: self.code.into(),
            mn: self.mn.into(),
            from,
            to,
            count,
            detail: if self.period == Period::Hour {
                detail
            } else if detail.is_empty() {
                format!("period={}", self.period)
            } else {
                format!("{detail};period={}", self.period)
            },
        }
    }
}

fn day_counts(
    c: &SeriesCtx<'_>,
    day: Date,
    vals: &[AuditedValue],
    invalid: &BTreeSet<i64>,
) -> QualityDay {
    let mut seen = BTreeSet::new();
    let (mut valid, mut flagged, mut marked) = (0, 0, 0);
    let hourly = c.period == Period::Hour;
    let (mut received_mask, mut valid_mask) = (0i64, 0i64);
    for v in vals {
        if !seen.insert(v.m.time) {
            continue;
        }
        let bit = hourly
            .then(|| (v.m.time - c.day_start).div_euclid(3600))
            .filter(|h| (0..24).contains(h))
            .map_or(0, |h| 1i64 << h);
        received_mask |= bit;
        if !is_valid_flag(v.m.flag.as_deref()) {
            flagged += 1;
        }
        let ok = match v.mark {
            Some(MarkState::Valid) => true,
            Some(MarkState::Invalid) => {
                marked += 1;
                false
            }
            None => {
                is_valid_flag(v.m.flag.as_deref())
                    && v.m.value.is_finite()
                    && !invalid.contains(&v.m.time)
            }
        };
        valid += i64::from(ok);
        if ok {
            valid_mask |= bit;
        }
    }
    QualityDay {
        mn: c.mn.into(),
        site: c.site.into(),
        code: c.code.into(),
        period: c.period,
        day: day.to_string(),
        expected: 86_400 / c.interval.max(1),
        received: seen.len() as i64,
        valid,
        flagged,
        marked_invalid: marked,
        received_mask: hourly.then_some(received_mask),
        valid_mask: hourly.then_some(valid_mask),
    }
}

/// The most common positive gap between consecutive values (needs at least 2 gaps).
fn infer_interval(vals: &[AuditedValue]) -> Option<i64> {
    let mut count: BTreeMap<i64, usize> = BTreeMap::new();
    for w in vals.windows(2) {
        let g = w[1].m.time - w[0].m.time;
        if g > 0 {
            *count.entry(g).or_default() += 1;
        }
    }
    if count.values().sum::<usize>() < 2 {
        return None;
    }
    count
        .into_iter()
        .max_by_key(|(g, n)| (*n, std::cmp::Reverse(*g)))
        .map(|(g, _)| g)
        .filter(|g| 86_400 % g == 0)
}

/// Expected seconds between a device's packets (offline check).
pub fn device_interval(d: &Device) -> i64 {
    d.rtd_interval
        .map(i64::from)
        .or(d.min_interval.map(|m| i64::from(m) * 60))
        .filter(|s| *s > 0)
        .unwrap_or(3600)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
