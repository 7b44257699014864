//! The alarm rules that work from what the store holds today, and [`AlarmEngine`] that runs
//! them: on every commit (exceedance / pre-warning of outlet hour values, AQI level jump of the
//! derived `air_days`) and on a periodic [`AlarmEngine::tick`] (device offline, overdue
//! escalation). Other evaluations raise through [`crate::alarms::AlarmSink`].
//!
//! (a) **Exceedance / pre-warning** (超标 / 预警): the outlet's hourly value (HJ 212 2061) of a
//!     pollutant that has a permit limit in the profile. Flue gas: the O2-corrected `ZsAvg`
//!     (折算浓度, the value the emission standards limit); if the device sent no `ZsAvg` for
//!     that hour, its `Avg` (documented fallback). Wastewater: `Avg`. Only valid values (flag
//!     `N` or none, HJ 212-2017 Table 8; finite). The verdict is
//!     `standards::emissions::PollutantLimit::complies` (upper limit inclusive, pH range); the
//!     pre-warning, while compliant, is `value ≥ share × upper` for an upper limit and, for a
//!     range (pH 6–9), within `(1 − share) × width` of either edge (share default 0.8, engine
//!     policy; pH 6–9 → ≥ 8.4 or ≤ 6.6). Severity: exceedance multiple `(C − L)/L` < 1 → warning (较重), < 3 → major
//!     (严重), ≥ 3 → critical (特别严重); below a lower limit → warning; pre-warning → info
//!     (一般). An hour that exceeds clears the pre-warning and vice versa; a compliant hour
//!     below the share clears both. Computed from the stored hour values directly (the
//!     sources engine's exceedance events had not landed when this was written).
//!     **Late and back-filled hours** (补传) within [`AlarmConfig::late_horizon_s`] raise the
//!     exceedances they would have raised, marked late: in time order they continue the
//!     condition like live data; at or before the newest hour judged they add past alarms
//!     (docs/engine-alarms.md, "Late and back-filled data").
//! (b) **Offline** (设备离线): a registered device whose silence since its last packet, counted
//!     only while it is due ([`crate::due`]: after its commissioning, in its site's reporting
//!     hours — a restaurant's opening hours), exceeds `multiple` × its interval (RtdInterval if
//!     set, else the minute interval; default multiple 3), or 2 h when the registry knows no
//!     interval (hour-only devices). A device that is due nothing (a restaurant at night) is
//!     not offline. One alarm per site (all its devices listed); severity warning, major after
//!     24 h of due silence. Cleared at the first tick that finds every
//!     device of the site back.
//! (c) **AQI jump** (AQI 级别跃升): a station's (or the county's) daily AQI level from
//!     `air_days` rises by ≥ 2 levels from the previous day, or is ≥ 4 (中度污染 and worse,
//!     HJ 633 Table 2 levels via `standards::aqi::category`). Severity: level 4 → warning,
//!     5 → major, 6 → critical; a jump to level ≤ 3 → info. A later day without the condition
//!     clears it.
//! (d) **Water below target** (水质未达目标): a surface-water section's day class (GB 3838-2002
//!     Table 1, single-factor method, from `water_days` through `WaterEngine::period_eval`)
//!     worse than its target class. Severity: 1 class below → warning, 2+ below or 劣V →
//!     major. A day at or better than the target clears it.
//! (e) **Drinking-water non-compliance** (饮用水水源地水质不达标): a (surface) drinking-water
//!     source's day is not Class I–III or a GB 3838 Table 2/3 item exceeds its limit
//!     (`PeriodEval::source_compliant`). Major. A compliant day clears it.
//!     (d) and (e) act only on the site's newest derived day: a late older day does not
//!     override what the newest day decided.
//! (f) **Data anomaly** (数据异常): the data-quality findings of a site's day of the kinds that
//!     make values invalid or suspect ([`ANOMALY_KINDS`]: zero, constant, out_of_range,
//!     negative, jump — not missing/offline/clock_drift/flag) → one alarm per (site, code),
//!     warning, with the kinds and counts. A day without such findings clears it. A day older
//!     than the newest stored (minute or hour) value of the code is not judged.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;

use model::{Measurement, Period};
use standards::emissions::PollutantLimit;
use standards::water::WaterClass;
use standards::{Date, Decimal};
use store::alarms::{AlarmFilter, AlarmStore, Severity};
use store::{IntakePacket, ValueFilter, COUNTY_SITE};

use store::quality::Finding;

use super::{rule, AlarmInput, Alarms};
use crate::air::CODES as AIR_CODES;
use crate::time::{day_start_utc, hour_start_of};
use crate::water::{WaterSite, WaterSiteKind};
use crate::{EngineError, Result, WaterEngine};

/// What the rules read and write: alarms, the derived water days, the quality findings.
/// What the rules read and write: every store does (the alarm, water and quality tables).
pub use store::Backend as RuleStore;

/// Quality finding kinds that raise `data_anomaly` (values invalid or suspect). `missing`,
/// `offline` (own rule) and `clock_drift`, `flag` (informational) do not.
pub const ANOMALY_KINDS: [&str; 5] = ["zero", "constant", "out_of_range", "negative", "jump"];

/// 1 (Class I) … 6 (劣V).
fn class_no(c: WaterClass) -> i64 {
    match c {
        WaterClass::I => 1,
        WaterClass::II => 2,
        WaterClass::III => 3,
        WaterClass::IV => 4,
        WaterClass::V => 5,
        WaterClass::WorseThanV => 6,
    }
}

/// Appends 主要污染指标 with their multiple of the Class III limit (when worse than III).
fn push_main_pollutants(detail: &mut String, ev: &crate::water::PeriodEval) {
    let main: Vec<String> = ev
        .main_pollutants()
        .into_iter()
        .map(|(i, m)| match m {
            Some(m) => format!("{}（超Ⅲ类标准 {m} 倍）", i.row().name_cn),
            None => i.row().name_cn.to_string(),
        })
        .collect();
    if !main.is_empty() {
        detail.push_str(&format!("；主要污染指标：{}", main.join("、")));
    }
}

/// Chinese name of an anomaly kind.
fn kind_cn(kind: &str) -> &str {
    match kind {
        "zero" => "零值",
        "constant" => "恒值",
        "out_of_range" => "超量程",
        "negative" => "负值",
        "jump" => "突变",
        k => k,
    }
}

/// A permit limit of an outlet (from the profile's `limits`).
#[derive(Debug, Clone, PartialEq)]
pub struct OutletLimit {
    /// Outlet site code (e.g. `ENT-ZQBL-01`).
    pub site: String,
    /// HJ 212 pollutant code.
    pub pollutant: String,
    /// Chinese name (颗粒物, 化学需氧量 …).
    pub name: String,
    pub unit: String,
    pub upper: Option<f64>,
    pub lower: Option<f64>,
    /// Judge the O2-corrected `ZsAvg` (flue gas) rather than `Avg`.
    pub corrected: bool,
}

/// Offline rule settings.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflinePolicy {
    /// Intervals without a packet before a device is offline.
    pub multiple: i64,
    /// Threshold for devices whose registry entry has no interval (hour-only devices), s.
    pub hour_only_s: i64,
    /// Offline longer than this → major, s.
    pub major_after_s: i64,
    /// Raise for registered devices that never sent anything.
    pub include_never_seen: bool,
}

impl Default for OfflinePolicy {
    fn default() -> Self {
        OfflinePolicy {
            multiple: 3,
            hour_only_s: 7_200,
            major_after_s: 86_400,
            include_never_seen: true,
        }
    }
}

/// What the engine's rules need.
#[derive(Debug, Clone)]
pub struct AlarmConfig {
    /// Pre-warning share of the upper limit (0 < share < 1; default 0.8).
    pub prewarn_share: f64,
    pub outlets: Vec<OutletLimit>,
    pub offline: OfflinePolicy,
    /// Air stations whose daily AQI level is watched ([`COUNTY_SITE`] may be listed too).
    pub aqi_sites: Vec<String>,
    /// Sections (target class) and drinking-water sources for `water_below_target` and
    /// `drinking_water_noncompliance`; `None` = no water rules.
    pub water: Option<WaterEngine>,
    /// Raise `data_anomaly` from the quality findings (default true).
    pub data_anomaly: bool,
    /// Reporting hours per site / kind ([`crate::due`]): offline counts only the silence in
    /// them (a restaurant closed at night owes nothing).
    pub schedules: crate::due::Schedules,
    /// Site code → name (stations, sections, outlets, restaurants): alarm titles name the
    /// site, not its code (a code without a name stays the code).
    pub site_names: HashMap<String, String>,
    /// Set by [`AlarmConfig::from_profile`] when the profile's water sites are invalid;
    /// [`AlarmEngine::new`] refuses the config with it.
    pub profile_error: Option<String>,
    /// An hour value judged more than this many seconds after its hour ended is late data
    /// (补传): the alarm it raises is marked `late` (default 3600 s: hour data arrive within
    /// minutes of the hour's end).
    pub late_after_s: i64,
    /// Hours older than this many seconds before the judgement raise nothing (their
    /// exceedances are in the sources engine's events and the reports); default 7 days.
    pub late_horizon_s: i64,
}

/// Default [`AlarmConfig::late_horizon_s`]: 7 days.
pub const LATE_HORIZON_S: i64 = 7 * 86_400;

impl Default for AlarmConfig {
    fn default() -> Self {
        AlarmConfig {
            prewarn_share: 0.8,
            outlets: Vec::new(),
            offline: OfflinePolicy::default(),
            aqi_sites: Vec::new(),
            water: None,
            data_anomaly: true,
            schedules: crate::due::Schedules::default(),
            site_names: HashMap::new(),
            profile_error: None,
            late_after_s: 3600,
            late_horizon_s: LATE_HORIZON_S,
        }
    }
}

impl AlarmConfig {
    /// The profile's outlet limits (flue gas judged on `ZsAvg`) and air stations (plus the
    /// county row), its sections and drinking-water sources (as `WaterEngine::from_profile`),
    /// default shares and offline policy. Restaurant fume limits are not included (the sources
    /// engine judges fume).
    pub fn from_profile(p: &profile::Profile) -> AlarmConfig {
        use profile::SiteKind;
        let mut cfg = AlarmConfig::default();
        for s in p
            .sites_by_kind(SiteKind::FlueGas)
            .chain(p.sites_by_kind(SiteKind::Wastewater))
        {
            let Some(o) = &s.outlet else { continue };
            for l in &o.limits {
                cfg.outlets.push(OutletLimit {
                    site: s.code.clone(),
                    pollutant: l.pollutant.clone(),
                    name: l.name.clone(),
                    unit: l.unit.clone(),
                    upper: l.upper,
                    lower: l.lower,
                    corrected: s.kind == SiteKind::FlueGas,
                });
            }
        }
        cfg.aqi_sites = p
            .sites_by_kind(SiteKind::Air)
            .map(|s| s.code.clone())
            .collect();
        cfg.aqi_sites.push(COUNTY_SITE.to_string());
        cfg.schedules = crate::due::Schedules::from_profile(p);
        cfg.site_names = p.fleet().into_iter().map(|s| (s.code, s.name)).collect();
        match WaterEngine::from_profile(p) {
            Ok(w) => cfg.water = Some(w),
            Err(e) => cfg.profile_error = Some(e.to_string()),
        }
        cfg
    }
}

/// What a run of the rules did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleStats {
    /// Outlet hours judged.
    pub hours: usize,
    /// Station days judged.
    pub days: usize,
    /// Water site days judged (sections and sources).
    pub water_days: usize,
    /// (site, day) pairs whose quality findings were judged.
    pub quality_days: usize,
    pub raised: usize,
    pub cleared: usize,
    /// Devices found offline / sites with an offline alarm raised.
    pub offline_sites: usize,
    /// Overdue escalations.
    pub escalated: usize,
}

/// An offline device: (mn, last seen ms, threshold s, due silence s).
type OfflineDevice = (String, Option<i64>, i64, i64);

/// Watermark of [`AlarmEngine::catch_up`].
pub const WATERMARK: &str = "alarms.received_ms";

/// Runs the alarm rules.
#[derive(Debug, Clone)]
pub struct AlarmEngine {
    share: Decimal,
    limits: HashMap<(String, String), OutletLimit>,
    offline: OfflinePolicy,
    aqi_sites: BTreeSet<String>,
    water: Option<WaterEngine>,
    data_anomaly: bool,
    late_after_s: i64,
    late_horizon_s: i64,
    schedules: crate::due::Schedules,
    site_names: HashMap<String, String>,
}

/// The watermark of the newest hour of (outlet, pollutant) the hour rules judged in time
/// order; an hour at or before it is an out-of-order back-fill.
fn judged_key(site: &str, code: &str) -> String {
    format!("{WATERMARK}.hour/{site}/{code}")
}

fn dec(v: f64) -> Option<Decimal> {
    Decimal::try_from(v).ok()
}

fn valid(m: &Measurement) -> bool {
    m.flag.as_deref().is_none_or(|f| f == "N") && m.value.is_finite()
}

fn value_of(m: &Measurement) -> Option<Decimal> {
    Decimal::from_str(m.text.trim())
        .ok()
        .or_else(|| dec(m.value))
}

/// The permit limit of an outlet pollutant as the standards crate judges it.
fn permit(l: &OutletLimit) -> PollutantLimit {
    PollutantLimit {
        pollutant: l.pollutant.clone(),
        unit: l.unit.clone(),
        max: l.upper.and_then(dec),
        min: l.lower.and_then(dec),
        range: None,
        reference_o2_pct: None,
        conditions: Vec::new(),
        note: None,
    }
}

fn fmt_num(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl AlarmEngine {
    /// The site's name for alarm titles (its code when the config has no name for it).
    fn site_name<'a>(&'a self, code: &'a str) -> &'a str {
        self.site_names
            .get(code)
            .map(String::as_str)
            .unwrap_or(code)
    }

    pub fn new(cfg: AlarmConfig) -> Result<AlarmEngine> {
        if let Some(e) = &cfg.profile_error {
            return Err(EngineError::Invalid(format!("alarm config: {e}")));
        }
        if !(cfg.prewarn_share > 0.0 && cfg.prewarn_share < 1.0) {
            return Err(EngineError::Invalid(format!(
                "alarm config: prewarn_share {} must be between 0 and 1 (exclusive)",
                cfg.prewarn_share
            )));
        }
        if cfg.offline.multiple < 1 || cfg.offline.hour_only_s < 1 {
            return Err(EngineError::Invalid(
                "alarm config: offline multiple and hour_only_s must be at least 1".into(),
            ));
        }
        if cfg.late_after_s < 0 || cfg.late_horizon_s < 3600 {
            return Err(EngineError::Invalid(format!(
                "alarm config: late_after_s {} must not be negative and late_horizon_s {} must \
                 be at least one hour",
                cfg.late_after_s, cfg.late_horizon_s
            )));
        }
        let mut limits = HashMap::new();
        for l in cfg.outlets {
            if l.upper.is_none() && l.lower.is_none() {
                continue;
            }
            limits.insert((l.site.clone(), l.pollutant.clone()), l);
        }
        Ok(AlarmEngine {
            share: dec(cfg.prewarn_share).unwrap_or(Decimal::ONE),
            limits,
            offline: cfg.offline,
            aqi_sites: cfg.aqi_sites.into_iter().collect(),
            water: cfg.water,
            data_anomaly: cfg.data_anomaly,
            late_after_s: cfg.late_after_s,
            late_horizon_s: cfg.late_horizon_s,
            schedules: cfg.schedules,
            site_names: cfg.site_names,
        })
    }

    fn is_outlet_hour(&self, site: &str, code: &str, field: &str, period: Period) -> bool {
        period == Period::Hour
            && (field == "Avg" || field == "ZsAvg")
            && self
                .limits
                .contains_key(&(site.to_string(), code.to_string()))
    }

    fn is_air_hour(&self, site: &str, code: &str, field: &str, period: Period) -> bool {
        period == Period::Hour
            && field == crate::air::FIELD
            && AIR_CODES.contains(&code)
            && self.aqi_sites.contains(site)
    }

    fn water_site(&self, site: &str) -> Option<(&WaterEngine, &WaterSite)> {
        let w = self.water.as_ref()?;
        Some((w, w.site(site)?))
    }

    /// Outlet hours (site, code, hour start), station days, water days and device days a
    /// batch touched.
    pub fn touched(&self, packets: &[IntakePacket]) -> Touched {
        let mut t = Touched::default();
        for m in packets.iter().flat_map(|p| &p.values) {
            self.touch(&mut t, &m.site, &m.code, &m.field, m.period, m.time);
        }
        t
    }

    fn touch(
        &self,
        t: &mut Touched,
        site: &str,
        code: &str,
        field: &str,
        period: Period,
        time: i64,
    ) {
        if self.data_anomaly
            && matches!(period, Period::Min | Period::Hour)
            && crate::quality::is_primary(period, field)
        {
            t.quality_days
                .insert((site.to_string(), hour_start_of(time).date));
        }
        if period == Period::Hour && field == crate::water::FIELD && self.water_site(site).is_some()
        {
            t.water_days
                .insert((site.to_string(), hour_start_of(time).date));
        }
        if self.is_outlet_hour(site, code, field, period) {
            t.hours.insert((site.to_string(), code.to_string(), time));
        } else if self.is_air_hour(site, code, field, period) {
            let d = hour_start_of(time).date;
            t.days.insert((site.to_string(), d));
            if self.aqi_sites.contains(COUNTY_SITE) {
                t.days.insert((COUNTY_SITE.to_string(), d));
            }
        }
    }

    /// Judges what a commit touched. Run after the air, water and quality engines updated
    /// `air_days`, `water_days` and the findings.
    pub fn update(&self, store: &mut dyn RuleStore, t: &Touched, now_ms: i64) -> Result<RuleStats> {
        let mut st = RuleStats::default();
        self.judge_hours(store, &t.hours, now_ms, &mut st)?;
        self.judge_days(store, &t.days, now_ms, &mut st)?;
        self.judge_water(store, &t.water_days, now_ms, &mut st)?;
        self.judge_quality(store, &t.quality_days, now_ms, &mut st)?;
        Ok(st)
    }

    fn judge_hours(
        &self,
        store: &mut dyn RuleStore,
        hours: &BTreeSet<(String, String, i64)>,
        now_ms: i64,
        st: &mut RuleStats,
    ) -> Result<()> {
        // Per site: one read of the hour range touched.
        let mut by_site: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
        for (site, _, t) in hours {
            let e = by_site.entry(site).or_insert((*t, *t));
            e.0 = e.0.min(*t);
            e.1 = e.1.max(*t);
        }
        for (site, (from, to)) in by_site {
            // (code, time) → (Avg, ZsAvg)
            let mut vals: BTreeMap<(String, i64), (Option<Measurement>, Option<Measurement>)> =
                BTreeMap::new();
            let filter = ValueFilter {
                site: Some(site.to_string()),
                period: Some(Period::Hour),
                from: Some(from),
                to: Some(to + 1),
                ..ValueFilter::default()
            };
            store.for_each_value(&filter, &mut |m| {
                if hours.contains(&(m.site.clone(), m.code.clone(), m.time)) {
                    let e = vals.entry((m.code.clone(), m.time)).or_default();
                    match m.field.as_str() {
                        "Avg" => e.0 = Some(m.clone()),
                        "ZsAvg" => e.1 = Some(m.clone()),
                        _ => {}
                    }
                }
                Ok(())
            })?;
            // Time order per pollutant, so the last hour decides what stays raised.
            let mut ordered: Vec<_> = vals.into_iter().collect();
            ordered.sort_by(|a, b| (a.0 .1, &a.0 .0).cmp(&(b.0 .1, &b.0 .0)));
            // Older than the horizon: no alarm (the sources engine's events and the reports
            // keep them).
            let oldest = now_ms.div_euclid(1000) - self.late_horizon_s;
            ordered.retain(|((_, time), _)| *time >= oldest);
            // Per pollutant the newest hour judged in time order. A later hour continues the
            // condition (raise / clear, as live data would, marked late when it came late);
            // an hour at or before it is a resend or an out-of-order back-fill, which can only
            // add a past exceedance and never changes what the newer hours decided.
            let mut judged: BTreeMap<String, (Option<i64>, Option<i64>)> = BTreeMap::new();
            for ((code, _), _) in &ordered {
                if !judged.contains_key(code) {
                    let j = store.watermark(&judged_key(site, code))?;
                    judged.insert(code.clone(), (j, j));
                }
            }
            let mut alarms = Alarms::with_clock(&mut *store, now_ms);
            for ((code, time), (avg, zs)) in ordered {
                let Some(limit) = self.limits.get(&(site.to_string(), code.clone())) else {
                    continue;
                };
                let (m, corrected) = match (limit.corrected, zs, avg) {
                    (true, Some(z), _) if valid(&z) => (z, true),
                    (_, _, Some(a)) if valid(&a) => (a, false),
                    _ => continue,
                };
                let Some(v) = value_of(&m) else { continue };
                st.hours += 1;
                let late = now_ms.div_euclid(1000) - (time + 3600) > self.late_after_s;
                let j = judged.get_mut(&code).expect("read above");
                if j.1.is_none_or(|n| time > n) {
                    let first = j.1.is_none();
                    j.1 = Some(time);
                    self.judge_one(&mut alarms, limit, &m, v, corrected, time, late, first, st)?;
                } else {
                    self.judge_past(&mut alarms, limit, &m, v, corrected, time, st)?;
                }
            }
            for (code, (before, after)) in judged {
                if let Some(t) = after.filter(|_| after != before) {
                    store.set_watermark(&judged_key(site, &code), t)?;
                }
            }
        }
        Ok(())
    }

    /// The exceedance verdict of an hour: `None` when it complies, else severity and detail.
    fn exceedance(
        l: &OutletLimit,
        limit: &PollutantLimit,
        m: &Measurement,
        v: Decimal,
        corrected: bool,
        time: i64,
    ) -> Option<(Severity, String)> {
        if limit.complies(v) {
            return None;
        }
        let when = model::format_beijing(time);
        let kind = if corrected { "折算" } else { "实测" };
        Some(match limit.exceedance_multiple(v) {
            Some(x) => {
                let sev = if x < Decimal::ONE {
                    Severity::Warning
                } else if x < Decimal::from(3) {
                    Severity::Major
                } else {
                    Severity::Critical
                };
                (
                    sev,
                    format!(
                        "{when} 小时{kind}浓度 {} {}，超过许可限值 {} {}，超标 {} 倍",
                        m.text,
                        l.unit,
                        fmt_num(l.upper.unwrap_or_default()),
                        l.unit,
                        x.round_dp(2)
                    ),
                )
            }
            None => (
                Severity::Warning,
                format!(
                    "{when} 小时{kind}值 {} {}，超出许可范围（下限 {}，上限 {}）",
                    m.text,
                    l.unit,
                    l.lower.map(fmt_num).unwrap_or("—".into()),
                    l.upper.map(fmt_num).unwrap_or("—".into())
                ),
            ),
        })
    }

    fn exceedance_input(
        &self,
        l: &OutletLimit,
        m: &Measurement,
        severity: Severity,
        detail: String,
        time: i64,
    ) -> AlarmInput {
        AlarmInput {
            rule: rule::EXCEEDANCE.into(),
            site: l.site.clone(),
            pollutant: Some(l.pollutant.clone()),
            severity,
            title: format!("{} {}超标", self.site_name(&l.site), l.name),
            detail,
            value: Some(m.value),
            limit: l.upper.or(l.lower),
            at_ms: time * 1000,
        }
    }

    /// The alarms of (exceedance, outlet, pollutant) whose span contains `at_ms` or borders on
    /// it (the hour before its first or after its last occurrence).
    fn exceedance_alarms_near(
        alarms: &mut Alarms<'_>,
        l: &OutletLimit,
        at_ms: i64,
    ) -> Result<Vec<store::alarms::Alarm>> {
        Ok(alarms
            .store()
            .alarms(&AlarmFilter {
                site: Some(l.site.clone()),
                rule: Some(rule::EXCEEDANCE.into()),
                ..AlarmFilter::default()
            })?
            .into_iter()
            .filter(|a| a.pollutant.as_deref() == Some(l.pollutant.as_str()))
            .filter(|a| a.first_seen_ms - 3_600_000 <= at_ms && at_ms <= a.last_seen_ms + 3_600_000)
            .collect())
    }

    /// An hour at or before the newest one judged (a resend, or a back-fill of a gap after
    /// newer hours were judged): an exceedance not yet counted joins the alarm it borders on,
    /// or becomes a past alarm of its own (late, inactive, ended with its hour). A compliant
    /// hour, or one inside an alarm's span (already counted), changes nothing; pre-warnings
    /// are about what comes next and are not raised for the past.
    #[allow(clippy::too_many_arguments)]
    fn judge_past(
        &self,
        alarms: &mut Alarms<'_>,
        l: &OutletLimit,
        m: &Measurement,
        v: Decimal,
        corrected: bool,
        time: i64,
        st: &mut RuleStats,
    ) -> Result<()> {
        let limit = permit(l);
        let Some((severity, detail)) = Self::exceedance(l, &limit, m, v, corrected, time) else {
            return Ok(());
        };
        let at_ms = time * 1000;
        let near = Self::exceedance_alarms_near(alarms, l, at_ms)?;
        if near
            .iter()
            .any(|a| a.first_seen_ms <= at_ms && at_ms <= a.last_seen_ms)
        {
            return Ok(());
        }
        let input = self.exceedance_input(l, m, severity, detail, time);
        let end_ms = at_ms + 3_600_000;
        match near.iter().find(|a| a.active).or(near.first()) {
            Some(a) if a.active => {
                alarms.raise(input)?;
            }
            Some(a) => {
                alarms.extend_past(a.id, input, end_ms)?;
            }
            None => {
                alarms.record_past(input, end_ms)?;
            }
        }
        st.raised += 1;
        Ok(())
    }

    /// An hour after the newest one judged: raises or clears the exceedance and the
    /// pre-warning. `late`: the hour came late (补传) — an alarm it opens is marked late, and
    /// no pre-warning is raised for it (a warning about the past warns nobody). `first`: the
    /// first hour judged for the pollutant (a store from before the per-pollutant watermark):
    /// an exceedance already inside an alarm's span is not counted twice.
    #[allow(clippy::too_many_arguments)]
    fn judge_one(
        &self,
        alarms: &mut Alarms<'_>,
        l: &OutletLimit,
        m: &Measurement,
        v: Decimal,
        corrected: bool,
        time: i64,
        late: bool,
        first: bool,
        st: &mut RuleStats,
    ) -> Result<()> {
        let limit = permit(l);
        let at_ms = time * 1000;
        let key = |r: &str| (r.to_string(), l.site.clone(), l.pollutant.clone());
        let clear = |alarms: &mut Alarms<'_>, r: &str, st: &mut RuleStats| -> Result<()> {
            let (r, s, p) = key(r);
            if let super::ClearOutcome::Cleared(_) = alarms.clear(&r, &s, Some(&p), at_ms)? {
                st.cleared += 1;
            }
            Ok(())
        };
        if let Some((severity, detail)) = Self::exceedance(l, &limit, m, v, corrected, time) {
            let counted = first
                && Self::exceedance_alarms_near(alarms, l, at_ms)?
                    .iter()
                    .any(|a| a.first_seen_ms <= at_ms && at_ms <= a.last_seen_ms);
            if !counted {
                let input = self.exceedance_input(l, m, severity, detail, time);
                if late {
                    alarms.raise_late(input)?;
                } else {
                    alarms.raise(input)?;
                }
                st.raised += 1;
            }
            clear(alarms, rule::PRE_WARNING, st)?;
            return Ok(());
        }
        match self.pre_warning(l, v, &m.text) {
            Some((edge, detail)) if !late => {
                let when = model::format_beijing(time);
                let kind = if corrected { "折算" } else { "实测" };
                alarms.raise(AlarmInput {
                    rule: rule::PRE_WARNING.into(),
                    site: l.site.clone(),
                    pollutant: Some(l.pollutant.clone()),
                    severity: Severity::Info,
                    title: format!("{} {}接近限值（预警）", self.site_name(&l.site), l.name),
                    detail: format!("{when} 小时{kind}{detail}"),
                    value: Some(m.value),
                    limit: Some(edge),
                    at_ms,
                })?;
                st.raised += 1;
            }
            _ => clear(alarms, rule::PRE_WARNING, st)?,
        }
        clear(alarms, rule::EXCEEDANCE, st)
    }

    /// Whether a compliant value is close enough to the permit's edge to pre-warn: the edge
    /// approached and the wording of the detail (after "小时折算/实测").
    ///
    /// - Upper limit only (concentrations): `v ≥ share × upper` (e.g. ≥ 40 of 50 mg/m³).
    /// - A range (pH 6–9, GB 8978-1996 Table 4): within `(1 − share) × (upper − lower)` of
    ///   either edge — for pH 6–9 and share 0.8 a band of 0.6: `v ≥ 8.4` or `v ≤ 6.6`. The
    ///   upper limit's percentage means nothing for a range: 80 % of 9 is 7.2, neutral water.
    /// - Lower limit only: within `(1 − share) × lower` above it.
    fn pre_warning(&self, l: &OutletLimit, v: Decimal, text: &str) -> Option<(f64, String)> {
        let one = Decimal::ONE;
        let (upper, lower) = (l.upper.and_then(dec), l.lower.and_then(dec));
        let n = |x: Decimal| fmt_num(f64::try_from(x).unwrap_or_default());
        match (lower, upper) {
            (Some(lo), Some(hi)) => {
                let band = (one - self.share) * (hi - lo);
                let range = format!("（许可范围 {}–{}，预警带 {}）", n(lo), n(hi), n(band));
                if v >= hi - band {
                    Some((
                        l.upper.unwrap_or_default(),
                        format!("值 {} {}，接近许可上限 {}{range}", text, l.unit, n(hi)),
                    ))
                } else if v <= lo + band {
                    Some((
                        l.lower.unwrap_or_default(),
                        format!("值 {} {}，接近许可下限 {}{range}", text, l.unit, n(lo)),
                    ))
                } else {
                    None
                }
            }
            (None, Some(hi)) => (v >= hi * self.share).then(|| {
                (
                    l.upper.unwrap_or_default(),
                    format!(
                        "浓度 {} {}，达到许可限值 {} {} 的 {}%",
                        text,
                        l.unit,
                        n(hi),
                        l.unit,
                        (v / hi * Decimal::from(100)).round_dp(1)
                    ),
                )
            }),
            (Some(lo), None) => (v <= lo + (one - self.share) * lo).then(|| {
                (
                    l.lower.unwrap_or_default(),
                    format!("值 {} {}，接近许可下限 {}", text, l.unit, n(lo)),
                )
            }),
            (None, None) => None,
        }
    }

    fn judge_days(
        &self,
        store: &mut dyn RuleStore,
        days: &BTreeSet<(String, Date)>,
        now_ms: i64,
        st: &mut RuleStats,
    ) -> Result<()> {
        for (site, day) in days {
            let rows = store.air_days(Some(site), &day.pred().to_string(), &day.to_string())?;
            let today = rows.iter().find(|r| r.day == day.to_string());
            let Some(level) = today.and_then(|r| r.level) else {
                continue; // no AQI (yet): nothing to judge
            };
            st.days += 1;
            let prev = rows
                .iter()
                .find(|r| r.day == day.pred().to_string())
                .and_then(|r| r.level);
            let jump = prev.map(|p| level - p).filter(|d| *d >= 2);
            let at_ms = day_start_utc(*day) * 1000;
            let mut alarms = Alarms::with_clock(&mut *store, now_ms);
            if level >= 4 || jump.is_some() {
                let aqi = today.and_then(|r| r.aqi).unwrap_or_default();
                let cat = standards::aqi::category(aqi.clamp(0, 500) as u16);
                let severity = match level {
                    6.. => Severity::Critical,
                    5 => Severity::Major,
                    4 => Severity::Warning,
                    _ => Severity::Info,
                };
                let primary = today.map(|r| r.primary.as_str()).unwrap_or("");
                let mut detail = format!("{day} 日 AQI {aqi}，{}（{}）", cat.level_cn, cat.name_cn);
                if let (Some(p), Some(d)) = (prev, jump) {
                    detail.push_str(&format!("，较前一日（{p} 级）上升 {d} 级"));
                }
                if !primary.is_empty() {
                    detail.push_str(&format!("，首要污染物 {primary}"));
                }
                let name = if site == COUNTY_SITE {
                    "全县"
                } else {
                    self.site_name(site)
                };
                alarms.raise(AlarmInput {
                    rule: rule::AQI_JUMP.into(),
                    site: site.clone(),
                    pollutant: None,
                    severity,
                    title: format!("{name} 空气质量{}", cat.name_cn),
                    detail,
                    value: Some(aqi as f64),
                    limit: None,
                    at_ms,
                })?;
                st.raised += 1;
            } else if let super::ClearOutcome::Cleared(_) =
                alarms.clear(rule::AQI_JUMP, site, None, at_ms)?
            {
                st.cleared += 1;
            }
        }
        Ok(())
    }

    /// (d) and (e): per site, only its newest derived water day, if the batch touched it.
    fn judge_water(
        &self,
        store: &mut dyn RuleStore,
        days: &BTreeSet<(String, Date)>,
        now_ms: i64,
        st: &mut RuleStats,
    ) -> Result<()> {
        let mut by_site: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for (site, day) in days {
            by_site.entry(site).or_default().insert(day.to_string());
        }
        for (site, touched) in by_site {
            let Some((w, ws)) = self.water_site(site) else {
                continue;
            };
            let Some(oldest) = touched.first() else {
                continue;
            };
            // The newest derived day of the site from the oldest touched one on (rows come in
            // day order); a touched day older than it is late and does not override it.
            let rows = store.water_days(Some(site), oldest, "9999-12-31")?;
            let Some(row) = rows.last() else { continue };
            if !touched.contains(&row.day) {
                continue;
            }
            let Ok(day) = Date::from_str(&row.day) else {
                continue;
            };
            let ev = w.period_eval(ws, std::slice::from_ref(row));
            let at_ms = day_start_utc(day) * 1000;
            match ws.kind {
                WaterSiteKind::Section => {
                    let (Some(class), Some(target)) = (ev.class(), ws.target) else {
                        continue;
                    };
                    st.water_days += 1;
                    let mut alarms = Alarms::with_clock(store as &mut dyn AlarmStore, now_ms);
                    if class > target {
                        let below = class_no(class) - class_no(target);
                        let severity = if below >= 2 || class == WaterClass::WorseThanV {
                            Severity::Major
                        } else {
                            Severity::Warning
                        };
                        let mut worse: Vec<(WaterClass, &str)> = ev
                            .evaluation
                            .iter()
                            .flat_map(|e| &e.items)
                            .filter(|(_, c)| *c > target)
                            .map(|(i, c)| (*c, i.row().name_cn))
                            .collect();
                        worse.sort_by_key(|w| std::cmp::Reverse(w.0));
                        let mut detail = format!(
                            "{day} 日水质 {}类，未达到目标 {}类（低 {below} 个类别）",
                            class.code(),
                            target.code()
                        );
                        if !worse.is_empty() {
                            let items: Vec<String> = worse
                                .iter()
                                .map(|(c, n)| format!("{n} {}类", c.code()))
                                .collect();
                            detail.push_str(&format!("；超目标项目：{}", items.join("、")));
                        }
                        push_main_pollutants(&mut detail, &ev);
                        alarms.raise(AlarmInput {
                            rule: rule::WATER_BELOW_TARGET.into(),
                            site: site.to_string(),
                            pollutant: None,
                            severity,
                            title: format!(
                                "{} 水质 {}类，未达到目标 {}类",
                                ws.name,
                                class.code(),
                                target.code()
                            ),
                            detail,
                            value: Some(class_no(class) as f64),
                            limit: Some(class_no(target) as f64),
                            at_ms,
                        })?;
                        st.raised += 1;
                    } else if let super::ClearOutcome::Cleared(_) =
                        alarms.clear(rule::WATER_BELOW_TARGET, site, None, at_ms)?
                    {
                        st.cleared += 1;
                    }
                }
                WaterSiteKind::Source { groundwater, .. } => {
                    // Groundwater sources are not assessed (GB/T 14848 not implemented).
                    if groundwater {
                        continue;
                    }
                    let Some(ok) = ev.source_compliant() else {
                        continue;
                    };
                    st.water_days += 1;
                    let mut alarms = Alarms::with_clock(store as &mut dyn AlarmStore, now_ms);
                    if ok {
                        if let super::ClearOutcome::Cleared(_) =
                            alarms.clear(rule::DRINKING_WATER_NONCOMPLIANCE, site, None, at_ms)?
                        {
                            st.cleared += 1;
                        }
                        continue;
                    }
                    let class = ev.class().unwrap_or(WaterClass::WorseThanV);
                    let mut detail = format!("{day} 日水质 {}类", class.code());
                    if class.is_iii_or_better() {
                        detail.push_str("（达到Ⅲ类）");
                    } else {
                        detail.push_str("，未达到Ⅲ类标准（GB 3838-2002 表1）");
                        push_main_pollutants(&mut detail, &ev);
                    }
                    for x in ev.extras.iter().filter(|x| !x.compliant) {
                        let name = w
                            .extras()
                            .iter()
                            .find(|e| e.key == x.key)
                            .map_or(x.key.as_str(), |e| e.name_cn.as_str());
                        detail.push_str(&format!(
                            "；{name} {} mg/L 超过限值 {} mg/L",
                            x.value.round_dp(4).normalize(),
                            x.limit.normalize()
                        ));
                    }
                    alarms.raise(AlarmInput {
                        rule: rule::DRINKING_WATER_NONCOMPLIANCE.into(),
                        site: site.to_string(),
                        pollutant: None,
                        severity: Severity::Major,
                        title: format!("{} 饮用水水源地水质不达标", ws.name),
                        detail,
                        value: Some(class_no(class) as f64),
                        limit: Some(class_no(WaterClass::III) as f64),
                        at_ms,
                    })?;
                    st.raised += 1;
                }
            }
        }
        Ok(())
    }

    /// (f): per (site, day), the anomaly findings of each code.
    fn judge_quality(
        &self,
        store: &mut dyn RuleStore,
        days: &BTreeSet<(String, Date)>,
        now_ms: i64,
        st: &mut RuleStats,
    ) -> Result<()> {
        for (site, day) in days {
            let from = day_start_utc(*day);
            let to = day_start_utc(day.succ());
            let found: Vec<Finding> = store
                .findings(Some(site), from, to, Some(&ANOMALY_KINDS))?
                .into_iter()
                .filter(|f| f.from >= from && f.from < to && !f.code.is_empty())
                .collect();
            // code → (kind → count, first time)
            let mut by_code: BTreeMap<String, (BTreeMap<String, i64>, i64)> = BTreeMap::new();
            for f in &found {
                let e = by_code
                    .entry(f.code.clone())
                    .or_insert((BTreeMap::new(), f.from));
                *e.0.entry(f.kind.clone()).or_default() += f.count;
                e.1 = e.1.min(f.from);
            }
            let active: Vec<String> = store
                .alarms(&AlarmFilter {
                    site: Some(site.clone()),
                    rule: Some(rule::DATA_ANOMALY.into()),
                    ..AlarmFilter::default()
                })?
                .into_iter()
                .filter(|a| a.active)
                .filter_map(|a| a.pollutant)
                .collect();
            let codes: BTreeSet<String> = by_code.keys().cloned().chain(active).collect();
            if codes.is_empty() {
                continue;
            }
            st.quality_days += 1;
            let at_ms = from * 1000;
            for code in codes {
                // A late or resent older day does not override the newest day of the code.
                let mut newest = None;
                for p in [Period::Min, Period::Hour] {
                    newest = newest.max(store.latest_time(site, &code, p)?);
                }
                if newest.is_some_and(|n| hour_start_of(n).date > *day) {
                    continue;
                }
                let mut alarms = Alarms::with_clock(store as &mut dyn AlarmStore, now_ms);
                let Some((kinds, first)) = by_code.get(&code) else {
                    if let super::ClearOutcome::Cleared(_) =
                        alarms.clear(rule::DATA_ANOMALY, site, Some(&code), at_ms)?
                    {
                        st.cleared += 1;
                    }
                    continue;
                };
                let total: i64 = kinds.values().sum();
                let parts: Vec<String> = ANOMALY_KINDS
                    .iter()
                    .filter_map(|k| kinds.get(*k).map(|n| format!("{} {n} 个", kind_cn(k))))
                    .collect();
                alarms.raise(AlarmInput {
                    rule: rule::DATA_ANOMALY.into(),
                    site: site.clone(),
                    pollutant: Some(code.clone()),
                    severity: Severity::Warning,
                    title: format!(
                        "{} {} 数据异常",
                        self.site_name(site),
                        standards::codes::name_or_code(&code)
                    ),
                    detail: format!(
                        "{day} 日 {code} 数据异常：{}（首次 {}）",
                        parts.join("、"),
                        model::format_beijing(*first)
                    ),
                    value: Some(total as f64),
                    limit: None,
                    at_ms,
                })?;
                st.raised += 1;
            }
        }
        Ok(())
    }

    /// Judges everything received since the watermark (all on the first run), then advances
    /// it. Run the air, water and quality catch-ups first so their tables are current. (Hour
    /// values only: a day with minute data has hour data too.)
    pub fn catch_up(&self, store: &mut dyn RuleStore, now_ms: i64) -> Result<RuleStats> {
        let since = store.watermark(WATERMARK)?.unwrap_or(i64::MIN);
        // `received_since` is inclusive; a raise is not idempotent (it counts), so start after
        // the watermark.
        let keys = store.received_since(Period::Hour, since.saturating_add(1))?;
        let mut t = Touched::default();
        let mut newest = since;
        for k in &keys {
            newest = newest.max(k.received_ms);
            self.touch(&mut t, &k.site, &k.code, &k.field, k.period, k.time);
        }
        let st = self.update(store, &t, now_ms)?;
        if newest > since {
            store.set_watermark(WATERMARK, newest)?;
        }
        Ok(st)
    }

    /// The periodic checks: offline devices, overdue escalation.
    pub fn tick(&self, store: &mut dyn AlarmStore, now_ms: i64) -> Result<RuleStats> {
        let mut st = RuleStats::default();
        self.check_offline(store, now_ms, &mut st)?;
        st.escalated = Alarms::with_clock(&mut *store, now_ms)
            .escalate_overdue(now_ms)?
            .len();
        Ok(st)
    }

    fn check_offline(
        &self,
        store: &mut dyn AlarmStore,
        now_ms: i64,
        st: &mut RuleStats,
    ) -> Result<()> {
        let states: HashMap<String, store::DeviceState> = store
            .device_states()?
            .into_iter()
            .map(|s| (s.mn.clone(), s))
            .collect();
        let now_s = now_ms.div_euclid(1000);
        // site → [(mn, last_seen, threshold_s, due silence s)] of offline devices; sites with
        // devices.
        let mut offline: BTreeMap<String, Vec<OfflineDevice>> = BTreeMap::new();
        let mut sites: BTreeSet<String> = BTreeSet::new();
        for d in store.devices()? {
            sites.insert(d.site.clone());
            let interval = d
                .rtd_interval
                .map(i64::from)
                .or(d.min_interval.map(|m| i64::from(m) * 60))
                .filter(|i| *i > 0);
            let threshold =
                interval.map_or(self.offline.hour_only_s, |i| i * self.offline.multiple);
            let state = states.get(&d.mn);
            let last = state.and_then(|s| s.last_seen_ms);
            // Silence counted only while the device is due: after its commissioning, in its
            // site's reporting hours (docs/engine-quality.md "What is due").
            let due = self.schedules.due(&d, state, now_s);
            let silent = match last {
                Some(t) => Some(due.seconds(t.div_euclid(1000), now_s)),
                // Never seen: owed since its registration; unknown registration → offline
                // when the policy includes never-seen devices.
                None if self.offline.include_never_seen => {
                    Some(due.span.from.map_or(i64::MAX, |r| due.seconds(r, now_s)))
                }
                None => None,
            };
            if let Some(silent) = silent.filter(|s| *s > threshold) {
                offline.entry(d.site.clone()).or_default().push((
                    d.mn.clone(),
                    last,
                    threshold,
                    silent,
                ));
            }
        }
        let mut alarms = Alarms::with_clock(&mut *store, now_ms);
        for site in &sites {
            match offline.get(site) {
                Some(devs) => {
                    let longest_s = devs.iter().map(|x| x.3).max().unwrap_or(0);
                    let severity = if longest_s > self.offline.major_after_s {
                        Severity::Major
                    } else {
                        Severity::Warning
                    };
                    let parts: Vec<String> = devs
                        .iter()
                        .map(|(mn, l, th, silent)| match l {
                            Some(t) if (now_ms - t) / 1000 > *silent => format!(
                                "设备 {mn} 最后数据 {}，应报时段内已 {} 分钟无数据（阈值 {} 分钟，\
                                 共 {} 分钟）",
                                model::format_beijing(t.div_euclid(1000)),
                                silent / 60,
                                th / 60,
                                (now_ms - t) / 60_000
                            ),
                            Some(t) => format!(
                                "设备 {mn} 最后数据 {}，已 {} 分钟无数据（阈值 {} 分钟）",
                                model::format_beijing(t.div_euclid(1000)),
                                (now_ms - t) / 60_000,
                                th / 60
                            ),
                            None => format!("设备 {mn} 注册后从未上线"),
                        })
                        .collect();
                    alarms.raise(AlarmInput {
                        rule: rule::OFFLINE.into(),
                        site: site.clone(),
                        pollutant: None,
                        severity,
                        title: format!("{} 设备离线", self.site_name(site)),
                        detail: parts.join("；"),
                        value: (longest_s != i64::MAX).then_some(longest_s as f64 / 60.0),
                        limit: None,
                        at_ms: now_ms,
                    })?;
                    st.raised += 1;
                    st.offline_sites += 1;
                }
                None => {
                    if let super::ClearOutcome::Cleared(_) =
                        alarms.clear(rule::OFFLINE, site, None, now_ms)?
                    {
                        st.cleared += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// A commit observer (`ingest::CommitObserver`): judges what each commit touched through
    /// its own store handle. Register it **after** the air, water and quality observers (it
    /// reads `air_days`, `water_days` and the findings). Errors go to stderr; `catch_up`
    /// repairs.
    pub fn observer(self, store: Box<dyn RuleStore>) -> crate::observe::Observer {
        crate::observe::observer("alarm rules", WATERMARK, store, move |store, packets| {
            let t = self.touched(packets);
            if t.is_empty() {
                return Ok(false);
            }
            self.update(store, &t, super::system_now_ms())?;
            Ok(true)
        })
    }
}

/// What a commit touched, for the rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    /// (outlet site, pollutant, hour start UTC s).
    pub hours: BTreeSet<(String, String, i64)>,
    /// (station or county, Beijing day).
    pub days: BTreeSet<(String, Date)>,
    /// (water section or source, Beijing day).
    pub water_days: BTreeSet<(String, Date)>,
    /// (any site with minute/hour values, Beijing day): its quality findings.
    pub quality_days: BTreeSet<(String, Date)>,
}

impl Touched {
    /// Nothing touched.
    pub fn is_empty(&self) -> bool {
        self.hours.is_empty()
            && self.days.is_empty()
            && self.water_days.is_empty()
            && self.quality_days.is_empty()
    }
}
