//! Enterprise outlets (排污单位排放口): flue gas (CEMS, HJ 75-2017 / HJ 76-2017) and wastewater
//! (HJ 355/356): hourly values per outlet and code in the derived table `source_hours`,
//! exceedance events in `source_events`, hourly discharge amounts (totals are their sums).
//! Restaurant fume is in [`crate::fume`]; [`SourcesEngine`] drives both from one observer.
//! Rules and sources: docs/engine-sources.md.
//!
//! Per outlet, code and hour (UTC start `h`, Beijing hours are whole UTC hours):
//! - **device hour**: the 2061 record. Flue-gas pollutants are judged on the O2-corrected
//!   (折算) value: the device's `ZsAvg` when sent, else `Avg × (21 − O2ref)/(21 − O2)` with the
//!   hour's O2 `a19001-Avg` (GB 13271-2014 §5.2 via [`emissions::o2_correct`]). Valid when its
//!   flag is `N` (or absent): HJ 212-2017 Table 8, and App. C.16 note — a flue-gas hour is
//!   flagged N only with ≥ 75 % normal minutes (= 45 of 60), a wastewater hour is abnormal if
//!   any of its values is.
//! - **minutes hour**: from 2051 data of the hour. Valid minute = flag `N`/none, finite, ≥ 0.
//!   Flue gas: valid with ≥ 45 valid minutes (HJ 75-2017 §11 有效小时均值; minute records of an
//!   interval L count L minutes, L inferred from the spacing); wastewater: valid only if no
//!   minute is abnormal (hj212.md §1.7, Std C.16 note). The hour mean is the arithmetic mean of
//!   the valid minutes; corrected from the minutes' `ZsAvg`, else from the means of `Avg` and O2.
//! - both present: the device value is judged, the minutes value kept; they **disagree** when
//!   `|device − minutes| > max(disagree_abs, disagree_rel × |minutes|)` (platform policy).
//! - amount: the hour's `Cou` (pollutants kg, flow m³), else the minutes' `Cou` sum, else
//!   measured concentration × flow × 3600 s (flue gas mg/m³ × m³/s / 10⁶ = kg; wastewater
//!   mg/L × L/s / 10⁶ = kg); flow without Cou: a00000 m³/s × 3600, w00000 L/s × 3.6.

use std::collections::{BTreeMap, BTreeSet};

use model::{Measurement, Period};
use standards::emissions::{self, LimitLibrary, TableKey};
use standards::Decimal;
use store::sources::{SourceEvent, SourceHour, SourcesStore};
use store::{IntakePacket, ValueFilter};

use crate::fume::{FumeEngine, FumeStats};
use crate::time::{day_start_utc, hour_start_of};
use crate::Result;

/// HJ 212 code of O2 (%).
pub const O2: &str = "a19001";
/// Flue-gas flow, m³/s (Cou m³).
pub const GAS_FLOW: &str = "a00000";
/// Wastewater flow, L/s (Cou m³).
pub const WATER_FLOW: &str = "w00000";
/// Watermark of the sources derived tables.
pub const WATERMARK: &str = "sources.received_ms";
const HOUR: i64 = 3600;

/// Flue gas or wastewater.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutletKind {
    FlueGas,
    Wastewater,
}

impl OutletKind {
    /// `flue_gas` / `wastewater`.
    pub fn code(self) -> &'static str {
        match self {
            OutletKind::FlueGas => "flue_gas",
            OutletKind::Wastewater => "wastewater",
        }
    }
}

/// The permit limit of one code at an outlet.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitSpec {
    /// HJ 212 code.
    pub code: String,
    /// Chinese name.
    pub name: String,
    pub unit: String,
    pub upper: Option<f64>,
    pub lower: Option<f64>,
    /// Where the numbers come from.
    pub source: String,
}

/// An outlet the engine evaluates.
#[derive(Debug, Clone, PartialEq)]
pub struct OutletSpec {
    /// Site code (`ENT-ZQBL-01`).
    pub site: String,
    pub name: String,
    pub enterprise: String,
    pub enterprise_name: String,
    pub kind: OutletKind,
    /// Standard and grade as the permit names them.
    pub standard: String,
    /// 基准含氧量, % (flue gas).
    pub reference_o2_pct: Option<f64>,
    pub limits: Vec<LimitSpec>,
}

impl OutletSpec {
    /// The limit of `code`.
    pub fn limit(&self, code: &str) -> Option<&LimitSpec> {
        self.limits.iter().find(|l| l.code == code)
    }
}

/// Platform policies of the outlet evaluation (not standards; documented).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourcesPolicy {
    /// Valid minutes for a valid flue-gas hour (HJ 75-2017: 45).
    pub min_valid_minutes: i64,
    /// Relative tolerance between the device hour and the minutes hour.
    pub disagree_rel: f64,
    /// Absolute tolerance (same unit as the value).
    pub disagree_abs: f64,
}

impl Default for SourcesPolicy {
    fn default() -> Self {
        SourcesPolicy {
            min_valid_minutes: 45,
            disagree_rel: 0.05,
            disagree_abs: 0.5,
        }
    }
}

/// What a commit touched: outlet hours and restaurant days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourcesTouched {
    /// (outlet site, UTC hour start).
    pub hours: BTreeSet<(String, i64)>,
    /// (restaurant site, Beijing day).
    pub fume_days: BTreeSet<(String, standards::Date)>,
}

impl SourcesTouched {
    pub fn is_empty(&self) -> bool {
        self.hours.is_empty() && self.fume_days.is_empty()
    }
}

/// What an update did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourcesStats {
    /// Outlet hours recomputed (one per (site, hour)).
    pub outlet_hours: usize,
    /// (site, code, hour) rows written.
    pub hour_rows: usize,
    /// (site, code) series whose events were recomputed.
    pub event_series: usize,
    pub fume: FumeStats,
    pub values_read: usize,
}

/// A commit observer (same type as `ingest::CommitObserver`).
pub use crate::observe::Observer;

/// Outlets and restaurants.
#[derive(Debug, Clone)]
pub struct SourcesEngine {
    outlets: BTreeMap<String, OutletSpec>,
    fume: FumeEngine,
    policy: SourcesPolicy,
}

/// Whether a code is an operating parameter (O2, temperature, pH…) rather than a discharged
/// pollutant: no O2 correction, no discharge amount.
pub fn is_parameter(code: &str) -> bool {
    code == O2
        || code.starts_with("a01")
        || matches!(code, "w01001" | "w01010" | "w01014")
        || code.starts_with("SB")
}

fn is_flow(code: &str) -> bool {
    code == GAS_FLOW || code == WATER_FLOW
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn dec(x: f64) -> Option<Decimal> {
    Decimal::try_from(x).ok()
}

fn f64_of(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(f64::NAN)
}

/// GB 13271-2014 §5.2 O2 correction `C × (21 − O2ref)/(21 − O2)` through the standards crate;
/// `None` when O2 is outside 0..21.
pub fn o2_corrected(measured: f64, o2: f64, o2_ref: f64) -> Option<f64> {
    emissions::o2_correct(dec(measured)?, dec(o2)?, dec(o2_ref)?)
        .ok()
        .map(f64_of)
}

fn valid_value(m: &Measurement) -> bool {
    m.flag.as_deref().is_none_or(|f| f == "N") && m.value.is_finite() && m.value >= 0.0
}

/// Library table of a permit's standard text (`GB 13271-2014` + `表2 新建锅炉 燃气` →
/// `GB13271-2014` `new/gas`; `GB 8978-1996` `一级` → `1`; `GB 18918-2002` `一级A` → `1A`).
pub fn library_key(standard: &str, grade: &str) -> Option<TableKey> {
    let std: String = standard.chars().filter(|c| !c.is_whitespace()).collect();
    let g = grade.replace(' ', "");
    let grade = match std.as_str() {
        emissions::GB13271 => {
            let table = if g.contains("表1") || g.contains("在用") {
                "in_use"
            } else if g.contains("表3") || g.contains("特别") {
                "special"
            } else if g.contains("表2") || g.contains("新建") {
                "new"
            } else {
                return None;
            };
            let fuel = if g.contains("燃气") {
                "gas"
            } else if g.contains("燃油") {
                "oil"
            } else if g.contains("燃煤") {
                "coal"
            } else {
                return None;
            };
            format!("{table}/{fuel}")
        }
        emissions::GB8978 => match g.as_str() {
            "一级" => "1".into(),
            "二级" => "2".into(),
            "三级" => "3".into(),
            _ => return None,
        },
        emissions::GB18918 => match g.as_str() {
            "一级A" => "1A".into(),
            "一级B" => "1B".into(),
            "二级" => "2".into(),
            "三级" => "3".into(),
            _ => return None,
        },
        emissions::GB18483 => return Some(TableKey::new(emissions::GB18483, None)),
        _ => return None,
    };
    Some(TableKey::new(&std, Some(&grade)))
}

/// The standards library's pollutant key of an HJ 212 code.
pub fn library_pollutant(code: &str) -> Option<&'static str> {
    Some(match code {
        "a34013" => "PM",
        "a21026" => "SO2",
        "a21002" => "NOx",
        "w01018" => "COD",
        "w21003" => "NH3N",
        "w21011" => "TP",
        "w21001" => "TN",
        "w01012" => "SS",
        "w01001" => "pH",
        "w01017" => "BOD5",
        _ => return None,
    })
}

/// The limit to apply: the permit's numbers, tightened by the library's effective limit
/// ([`LimitLibrary::effective_limit`], which includes local tables that supersede the
/// national one) when the permit names a standard the library holds. The stricter wins.
pub fn resolve_limit(
    permit: LimitSpec,
    library: &LimitLibrary,
    table: Option<&TableKey>,
    region: Option<&str>,
) -> LimitSpec {
    let (Some(table), Some(p)) = (table, library_pollutant(&permit.code)) else {
        return permit;
    };
    let outlet = emissions::Outlet {
        table: table.clone(),
        region: region.map(str::to_string),
        context: emissions::Context::default(),
    };
    let Some(eff) = library.effective_limit(&outlet, p) else {
        return permit;
    };
    let mut out = permit;
    let src = &eff.table.source;
    let (lib_hi, lib_lo) = match eff.limit.range {
        Some([lo, hi]) => (Some(f64_of(hi)), Some(f64_of(lo))),
        None => (eff.limit.max.map(f64_of), eff.limit.min.map(f64_of)),
    };
    if let Some(h) = lib_hi {
        if out.upper.is_none_or(|u| h < u) {
            out.upper = Some(h);
            out.source = src.clone();
        }
    }
    if let Some(l) = lib_lo {
        if out.lower.is_none_or(|u| l > u) {
            out.lower = Some(l);
            out.source = src.clone();
        }
    }
    out
}

/// One minute record: (Avg, ZsAvg, Cou, valid).
type MinuteRecord = (Option<f64>, Option<f64>, Option<f64>, bool);

/// Values of one code in one hour.
#[derive(Default)]
struct CodeHour {
    /// Hour record fields: Avg, ZsAvg, Cou.
    avg: Option<f64>,
    zs: Option<f64>,
    cou: Option<f64>,
    flag: Option<String>,
    hour_valid: bool,
    /// Minute records by time: (avg, zs, cou, valid).
    minutes: BTreeMap<i64, MinuteRecord>,
}

/// Interval of minute records in seconds: the smallest positive spacing; 60 s for one record.
fn minute_interval(times: &[i64]) -> i64 {
    times
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 0)
        .min()
        .unwrap_or(60)
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The minutes side of an hour: (valid minutes, all minutes valid, mean Avg, mean ZsAvg, Σ Cou).
struct MinuteSummary {
    valid_minutes: i64,
    any_abnormal: bool,
    avg: Option<f64>,
    zs: Option<f64>,
    cou: Option<f64>,
}

fn minutes_summary(c: &CodeHour) -> Option<MinuteSummary> {
    if c.minutes.is_empty() {
        return None;
    }
    let times: Vec<i64> = c.minutes.keys().copied().collect();
    let len_min = (minute_interval(&times) / 60).max(1);
    let valid: Vec<_> = c.minutes.values().filter(|m| m.3).collect();
    let avgs: Vec<f64> = valid.iter().filter_map(|m| m.0).collect();
    let zss: Vec<f64> = valid.iter().filter_map(|m| m.1).collect();
    let cous: Vec<f64> = c.minutes.values().filter_map(|m| m.2).collect();
    Some(MinuteSummary {
        valid_minutes: (valid.len() as i64 * len_min).min(60),
        any_abnormal: c.minutes.values().any(|m| !m.3),
        avg: mean(&avgs),
        zs: mean(&zss),
        cou: (cous.len() == c.minutes.len()).then(|| cous.iter().sum()),
    })
}

impl SourcesEngine {
    /// An engine over these outlets and restaurants.
    pub fn new(
        outlets: impl IntoIterator<Item = OutletSpec>,
        fume: FumeEngine,
        policy: SourcesPolicy,
    ) -> SourcesEngine {
        SourcesEngine {
            outlets: outlets.into_iter().map(|o| (o.site.clone(), o)).collect(),
            fume,
            policy,
        }
    }

    pub fn outlets(&self) -> impl Iterator<Item = &OutletSpec> {
        self.outlets.values()
    }

    pub fn outlet(&self, site: &str) -> Option<&OutletSpec> {
        self.outlets.get(site)
    }

    pub fn fume(&self) -> &FumeEngine {
        &self.fume
    }

    pub fn policy(&self) -> &SourcesPolicy {
        &self.policy
    }

    fn touch(&self, t: &mut SourcesTouched, site: &str, code: &str, period: Period, time: i64) {
        if !matches!(period, Period::Min | Period::Hour) {
            return;
        }
        if self.outlets.contains_key(site) {
            t.hours
                .insert((site.to_string(), time.div_euclid(HOUR) * HOUR));
        } else if self.fume.is_restaurant(site) && self.fume.is_fume_code(code) {
            t.fume_days
                .insert((site.to_string(), hour_start_of(time).date));
        }
    }

    /// The outlet hours and restaurant days a committed batch touched.
    pub fn touched(&self, packets: &[IntakePacket]) -> SourcesTouched {
        let mut t = SourcesTouched::default();
        for m in packets.iter().flat_map(|p| &p.values) {
            self.touch(&mut t, &m.site, &m.code, m.period, m.time);
        }
        t
    }

    /// Recomputes the touched outlet hours, the events of the series they belong to, and the
    /// touched restaurant days.
    pub fn update(
        &self,
        store: &mut dyn SourcesStore,
        touched: &SourcesTouched,
    ) -> Result<SourcesStats> {
        let mut stats = SourcesStats::default();
        let mut rows = Vec::new();
        // (site, code) → (min hour, max hour) of the rows written.
        let mut series: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
        for (site, hour) in &touched.hours {
            let Some(o) = self.outlets.get(site) else {
                continue;
            };
            let hrs = self.outlet_hour(store, o, *hour, &mut stats.values_read)?;
            stats.outlet_hours += 1;
            for h in hrs {
                if o.limit(&h.code).is_some() {
                    let e = series
                        .entry((h.site.clone(), h.code.clone()))
                        .or_insert((h.hour, h.hour));
                    e.0 = e.0.min(h.hour);
                    e.1 = e.1.max(h.hour);
                }
                rows.push(h);
            }
        }
        stats.hour_rows = rows.len();
        store.put_source_hours(&rows)?;
        for ((site, code), (lo, hi)) in &series {
            update_events(store, site, code, *lo, *hi)?;
            stats.event_series += 1;
        }
        stats.fume = self.fume.update(store, &touched.fume_days)?;
        Ok(stats)
    }

    /// Cold start: every outlet hour and restaurant day from `from` to `to` (Beijing days,
    /// inclusive) that has data.
    pub fn rebuild(
        &self,
        store: &mut dyn SourcesStore,
        from: standards::Date,
        to: standards::Date,
    ) -> Result<SourcesStats> {
        let (t0, t1) = (day_start_utc(from), day_start_utc(to) + 86_400);
        let mut t = SourcesTouched::default();
        for period in [Period::Min, Period::Hour] {
            let filter = ValueFilter {
                period: Some(period),
                from: Some(t0),
                to: Some(t1),
                ..ValueFilter::default()
            };
            store.for_each_value(&filter, &mut |m| {
                self.touch(&mut t, &m.site, &m.code, m.period, m.time);
                Ok(())
            })?;
        }
        self.update(store, &t)
    }

    /// Brings the derived tables up to date with every minute and hour value received since
    /// the watermark (everything on the first run), then advances the watermark.
    pub fn catch_up(&self, store: &mut dyn SourcesStore) -> Result<SourcesStats> {
        let since = store.watermark(WATERMARK)?.unwrap_or(i64::MIN);
        let mut t = SourcesTouched::default();
        let mut newest = since;
        for period in [Period::Min, Period::Hour] {
            for k in store.received_since(period, since)? {
                newest = newest.max(k.received_ms);
                self.touch(&mut t, &k.site, &k.code, k.period, k.time);
            }
        }
        let stats = self.update(store, &t)?;
        if newest > since {
            store.set_watermark(WATERMARK, newest)?;
        }
        Ok(stats)
    }

    /// A commit observer for `ingest::spawn_writer` (its own store handle on the same folder).
    /// Advances the watermark only once a catch-up has set it; errors go to stderr and the
    /// next catch-up repairs them.
    pub fn observer(self, store: Box<dyn SourcesStore>) -> Observer {
        crate::observe::observer("sources", WATERMARK, store, move |store, packets| {
            let touched = self.touched(packets);
            if touched.is_empty() {
                return Ok(false);
            }
            self.update(store, &touched)?;
            Ok(true)
        })
    }

    /// The derived rows of every code of one outlet hour.
    fn outlet_hour(
        &self,
        store: &dyn SourcesStore,
        o: &OutletSpec,
        hour: i64,
        read: &mut usize,
    ) -> Result<Vec<SourceHour>> {
        let mut codes: BTreeMap<String, CodeHour> = BTreeMap::new();
        for period in [Period::Hour, Period::Min] {
            let filter = ValueFilter {
                site: Some(o.site.clone()),
                period: Some(period),
                from: Some(hour),
                to: Some(hour + HOUR),
                ..ValueFilter::default()
            };
            store.for_each_value(&filter, &mut |m| {
                *read += 1;
                if m.code.starts_with("SB") {
                    return Ok(());
                }
                let c = codes.entry(m.code.clone()).or_default();
                let v = m.value.is_finite().then_some(m.value);
                if period == Period::Hour {
                    if m.time != hour {
                        return Ok(());
                    }
                    match m.field.as_str() {
                        "Avg" => {
                            c.avg = v;
                            c.flag = m.flag.clone();
                            c.hour_valid = valid_value(m);
                        }
                        "ZsAvg" => c.zs = v,
                        "Cou" => c.cou = v,
                        _ => {}
                    }
                    if c.flag.is_none() {
                        c.flag = m.flag.clone();
                    }
                } else {
                    let e = c.minutes.entry(m.time).or_insert((None, None, None, true));
                    match m.field.as_str() {
                        "Avg" => {
                            e.0 = v;
                            e.3 &= valid_value(m);
                        }
                        "ZsAvg" => e.1 = v,
                        "Cou" => e.2 = v,
                        _ => {}
                    }
                }
                Ok(())
            })?;
        }
        let flue = o.kind == OutletKind::FlueGas;
        let (o2_dev, o2_min) = codes
            .get(O2)
            .map(|c| {
                (
                    c.avg.filter(|_| c.hour_valid),
                    minutes_summary(c).and_then(|s| s.avg),
                )
            })
            .unwrap_or((None, None));
        let flow = codes
            .get(if flue { GAS_FLOW } else { WATER_FLOW })
            .and_then(|c| c.avg.or_else(|| minutes_summary(c).and_then(|s| s.avg)));
        let o2_ref = o.reference_o2_pct;
        let mut out = Vec::new();
        for (code, c) in &codes {
            let correct = flue && o2_ref.is_some() && !is_parameter(code) && !is_flow(code);
            let basis = |avg: Option<f64>, zs: Option<f64>, o2: Option<f64>| -> Option<f64> {
                if !correct {
                    return avg;
                }
                zs.or_else(|| o2_corrected(avg?, o2?, o2_ref?))
            };
            let has_hour = c.avg.is_some() || c.zs.is_some();
            let device_value = has_hour.then(|| basis(c.avg, c.zs, o2_dev)).flatten();
            let ms = minutes_summary(c);
            let minutes_value = ms.as_ref().and_then(|s| basis(s.avg, s.zs, o2_min));
            let minutes_valid = ms.as_ref().is_some_and(|s| {
                minutes_value.is_some()
                    && if flue {
                        s.valid_minutes >= self.policy.min_valid_minutes
                    } else {
                        !s.any_abnormal
                    }
            });
            let (origin, value, valid, flag, measured) = if has_hour {
                let valid = c.hour_valid && device_value.is_some();
                (
                    "device",
                    device_value.filter(|_| valid),
                    valid,
                    c.flag.clone().unwrap_or_else(|| "N".into()),
                    c.avg,
                )
            } else if let Some(s) = &ms {
                (
                    "minutes",
                    minutes_value.filter(|_| minutes_valid),
                    minutes_valid,
                    if minutes_valid { "N" } else { "D" }.to_string(),
                    s.avg,
                )
            } else {
                ("none", None, false, String::new(), None)
            };
            let disagree = match (device_value, minutes_value) {
                (Some(d), Some(m)) if minutes_valid => {
                    (d - m).abs()
                        > self
                            .policy
                            .disagree_abs
                            .max(self.policy.disagree_rel * m.abs())
                }
                _ => false,
            };
            let (limit, exceeds) = match (o.limit(code), value) {
                (Some(l), Some(v)) => {
                    if let Some(u) = l.upper.filter(|u| v > *u) {
                        (Some(u), true)
                    } else if let Some(lo) = l.lower.filter(|lo| v < *lo) {
                        (Some(lo), true)
                    } else {
                        (l.upper.or(l.lower), false)
                    }
                }
                (Some(l), None) => (l.upper.or(l.lower), false),
                _ => (None, false),
            };
            let (cou, cou_method) = if is_parameter(code) {
                (None, "")
            } else if let Some(x) = c.cou {
                (Some(x), "cou")
            } else if let Some(x) = ms.as_ref().and_then(|s| s.cou) {
                (Some(x), "cou")
            } else if is_flow(code) {
                let q = c.avg.or_else(|| ms.as_ref().and_then(|s| s.avg));
                let k = if code == GAS_FLOW { 3600.0 } else { 3.6 };
                (q.map(|q| q * k), "computed")
            } else {
                let cm = measured.or_else(|| ms.as_ref().and_then(|s| s.avg));
                match (cm, flow) {
                    (Some(cm), Some(q)) => (Some(cm * q * 3600.0 / 1e6), "computed"),
                    _ => (None, ""),
                }
            };
            out.push(SourceHour {
                site: o.site.clone(),
                code: code.clone(),
                hour,
                value,
                measured,
                device_value,
                minutes_value,
                valid_minutes: ms.as_ref().map(|s| s.valid_minutes),
                origin: origin.into(),
                valid,
                flag,
                disagree,
                limit,
                exceeds,
                cou,
                cou_method: cou_method.into(),
                updated_ms: now_ms(),
            });
        }
        Ok(out)
    }
}

/// Recomputes the events of (site, code) around the hours `lo..=hi` (UTC hour starts): every
/// stored event that overlaps or touches the range widens it, is removed and rebuilt from
/// `source_hours`, so a late hour can extend, merge or split events. An event is a run of
/// consecutive clock hours that are valid and exceed the same bound (an invalid or missing
/// hour ends it); it is open while no later hour of the series exists.
pub fn update_events(
    store: &mut dyn SourcesStore,
    site: &str,
    code: &str,
    lo: i64,
    hi: i64,
) -> Result<()> {
    let old = store.source_events(Some(site), Some(code), lo - HOUR, hi + 2 * HOUR)?;
    let (mut lo, mut hi) = (lo, hi);
    for e in &old {
        lo = lo.min(e.start);
        hi = hi.max(e.last_hour);
    }
    let hours = store.source_hours(Some(site), Some(code), lo, hi + HOUR)?;
    let latest = store
        .source_hours(Some(site), Some(code), hi + HOUR, i64::MAX)?
        .last()
        .map(|h| h.hour)
        .or_else(|| hours.last().map(|h| h.hour));
    let mut events: Vec<SourceEvent> = Vec::new();
    for h in hours.iter().filter(|h| h.exceeds) {
        let (Some(v), Some(limit)) = (h.value, h.limit) else {
            continue;
        };
        let bound = if v > limit { "upper" } else { "lower" };
        match events.last_mut() {
            Some(e) if e.last_hour + HOUR == h.hour && e.bound == bound => {
                e.last_hour = h.hour;
                e.hours += 1;
                let worse = if bound == "upper" {
                    v > e.peak
                } else {
                    v < e.peak
                };
                if worse {
                    e.peak = v;
                    e.limit = limit;
                }
            }
            _ => events.push(SourceEvent {
                site: site.into(),
                code: code.into(),
                start: h.hour,
                last_hour: h.hour,
                end: None,
                hours: 1,
                peak: v,
                peak_multiple: None,
                limit,
                bound: bound.into(),
                updated_ms: now_ms(),
            }),
        }
    }
    for e in &mut events {
        e.end = (latest.is_some_and(|l| l > e.last_hour)).then_some(e.last_hour + HOUR);
        e.peak_multiple = exceedance_multiple(e.peak, e.limit, &e.bound);
    }
    let remove: Vec<i64> = old.iter().map(|e| e.start).collect();
    store.replace_source_events(site, code, &remove, &events)?;
    Ok(())
}

/// 超标倍数 = (C − limit)/limit (the multiple the bureau reports, as in HJ 663 / GB 3838
/// practice and [`standards::emissions::PollutantLimit::exceedance_multiple`]); `None` for a
/// lower bound (pH below 6) or a non-positive limit.
pub fn exceedance_multiple(value: f64, limit: f64, bound: &str) -> Option<f64> {
    let lim = emissions::PollutantLimit {
        pollutant: String::new(),
        unit: String::new(),
        max: Some(dec(limit)?),
        min: None,
        range: None,
        reference_o2_pct: None,
        conditions: Vec::new(),
        note: None,
    };
    if bound != "upper" {
        return None;
    }
    lim.exceedance_multiple(dec(value)?).map(f64_of)
}

impl SourcesEngine {
    /// The outlets (`enterprises.json`) and restaurants (`fume.json`) of a county profile.
    /// Each permit limit is tightened by the library's effective limit where the permit names
    /// a standard the library holds ([`resolve_limit`]).
    pub fn from_profile(
        p: &profile::Profile,
        library: &LimitLibrary,
        policy: SourcesPolicy,
        fume_policy: crate::fume::FumePolicy,
    ) -> SourcesEngine {
        let mut outlets = Vec::new();
        for e in &p.enterprises {
            for o in &e.outlets {
                let kind = match o.kind {
                    profile::SiteKind::FlueGas => OutletKind::FlueGas,
                    profile::SiteKind::Wastewater => OutletKind::Wastewater,
                    _ => continue,
                };
                let key = library_key(&o.standard.standard, &o.standard.grade);
                let limits = o
                    .limits
                    .iter()
                    .map(|l| {
                        let permit = LimitSpec {
                            code: l.pollutant.clone(),
                            name: l.name.clone(),
                            unit: l.unit.clone(),
                            upper: l.upper,
                            lower: l.lower,
                            source: l.limit_source.clone(),
                        };
                        resolve_limit(permit, library, key.as_ref(), None)
                    })
                    .collect();
                outlets.push(OutletSpec {
                    site: o.code.clone(),
                    name: o.name.clone(),
                    enterprise: e.code.clone(),
                    enterprise_name: e.name.clone(),
                    kind,
                    standard: format!("{} {}", o.standard.standard, o.standard.grade),
                    reference_o2_pct: o.reference_o2_pct,
                    limits,
                });
            }
        }
        let restaurants = p
            .restaurants()
            .into_iter()
            .map(|s| crate::fume::RestaurantSpec {
                limit_mg_m3: s
                    .fume
                    .as_ref()
                    .map_or(f64_of(emissions::FUME_MAX_MG_M3), |f| f.limit_mg_m3),
                open_hours: s
                    .fume
                    .as_ref()
                    .and_then(|f| f.open_hours.as_deref())
                    .and_then(|h| crate::due::DailyWindow::parse(h).ok()),
                site: s.code,
                name: s.name,
                town: s.town,
            });
        SourcesEngine::new(outlets, FumeEngine::new(restaurants, fume_policy), policy)
    }
}
