//! Surface water and drinking-water sources: GB 3838-2002 classes by the single-factor method
//! of 环办〔2011〕22号 (all through `standards::water`), kept in the derived table `water_days`
//! (one row per (site, Beijing day), [`store::water::WaterDay`]).
//!
//! - **sample**: the values of one site at one time — HJ 212 2061 `Avg` of each item
//!   ([`ITEM_CODES`]), valid only with flag `N` (or none) and a finite value ([`value_is_valid`]);
//!   classed by [`water::evaluate_sample`] ([`WaterEngine::samples`]).
//! - **day**: per item, the arithmetic mean of the day's valid hourly values, then the class of
//!   those means. Engine policy: no minimum number of hours (the hours behind each mean are
//!   stored and reported).
//! - **month / year**: per item, the arithmetic mean of the period's daily means
//!   ([`water::mean_sample`]), then the class of those means (环办〔2011〕22号: period values are the
//!   arithmetic means of the period's samples — standards.md §6.4; the annual class comes from
//!   the annual mean of each item). See [`period_eval`].
//!
//! The body (river, or lake/reservoir column) comes from the profile. Main pollutants, the
//! exceedance multiples against Class III, the river status and the share of sections at
//! Class III or better are the standards crate's. Drinking-water sources: a period is
//! compliant when its class is I–III and every supplementary (GB 3838 Table 2) or specific
//! (Table 3) item present is within its limit (standards.md §9.1).

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use model::{Measurement, Period};
use standards::water::{
    self, tli, SampleEvaluation, WaterBody, WaterClass, WaterItem, TABLE2, TABLE3,
};
use standards::{Date, Decimal};
use store::water::{WaterDay, WaterStore};
use store::{IntakePacket, ValueFilter};

use crate::time::{day_start_utc, days, hour_start_of};
use crate::{EngineError, Result};

/// HJ 212-2017 Appendix B (HJ 524/525-2009) codes of the GB 3838 Table 1 items. Codes of the
/// reference (hj212.md §1.12): pH, DO, CODMn, COD, NH3-N, TP, TN, petroleum, water temperature;
/// the others as used by field platforms (peer code, medium confidence: verify against the
/// Std's Table B.1 before relying on heavy metals). A deployment maps other codes with
/// [`WaterEngine::map_code`].
pub const ITEM_CODES: [(&str, WaterItem); 24] = [
    ("w01010", WaterItem::WaterTemp),
    ("w01001", WaterItem::Ph),
    ("w01009", WaterItem::Do),
    ("w01019", WaterItem::CodMn),
    ("w01018", WaterItem::Cod),
    ("w01017", WaterItem::Bod5),
    ("w21003", WaterItem::Nh3n),
    ("w21011", WaterItem::Tp),
    ("w21001", WaterItem::Tn),
    ("w20122", WaterItem::Cu),
    ("w20123", WaterItem::Zn),
    ("w21017", WaterItem::F),
    ("w20128", WaterItem::Se),
    ("w20119", WaterItem::As),
    ("w20111", WaterItem::Hg),
    ("w20115", WaterItem::Cd),
    ("w20117", WaterItem::Cr6),
    ("w20120", WaterItem::Pb),
    ("w21016", WaterItem::Cn),
    ("w23002", WaterItem::Phenol),
    ("w22001", WaterItem::Petroleum),
    ("w19002", WaterItem::Las),
    ("w21019", WaterItem::Sulfide),
    ("w02003", WaterItem::FecalColiform),
];

/// Chlorophyll a (叶绿素a, mg/m³) — a TLI input, not a GB 3838 item. No HJ 212 code is verified
/// here: data arrive under this key as code, or a deployment maps its code.
pub const CHLA: &str = "Chla";
/// Transparency (透明度, m) — a TLI input.
pub const SD: &str = "SD";
/// The field carrying the hourly mean.
pub const FIELD: &str = "Avg";
/// Watermark name of `water_days` (newest `received_ms` processed by catch-up).
pub const WATERMARK: &str = "water_days.received_ms";

/// Keys of the GB 3838 Table 2 supplementary items (same order as `standards::water::TABLE2`).
pub const TABLE2_KEYS: [&str; 5] = ["Sulfate", "Chloride", "Nitrate", "Fe", "Mn"];

/// Whether a stored value counts: flag `N` (or none) and a finite value (HJ 212-2017 Table 8:
/// F, M, S, D, C, T, B are not normal measurements).
pub fn value_is_valid(m: &Measurement) -> bool {
    m.flag.as_deref().is_none_or(|f| f == "N") && m.value.is_finite()
}

fn decimal_of(m: &Measurement) -> Option<Decimal> {
    Decimal::from_str(m.text.trim())
        .ok()
        .or_else(|| Decimal::try_from(m.value).ok())
}

/// Scope of a drinking-water source (indicator 8 urban, 9 township).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceScope {
    /// 城市(县城)集中式饮用水水源地
    #[default]
    Urban,
    /// 乡镇集中式饮用水水源地
    Township,
}

impl SourceScope {
    /// `urban` / `township`.
    pub const fn code(self) -> &'static str {
        match self {
            SourceScope::Urban => "urban",
            SourceScope::Township => "township",
        }
    }
}

/// What a water site is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaterSiteKind {
    /// 地表水断面
    Section,
    /// 集中式饮用水水源地 (groundwater sources are not assessed: GB/T 14848 is not implemented)
    Source {
        /// Urban or township.
        scope: SourceScope,
        /// Groundwater source.
        groundwater: bool,
    },
}

/// A surface-water section or drinking-water source the engine evaluates.
#[derive(Debug, Clone, PartialEq)]
pub struct WaterSite {
    /// Site code.
    pub site: String,
    /// Chinese name.
    pub name: String,
    /// Section or source.
    pub kind: WaterSiteKind,
    /// River column or lake/reservoir column of GB 3838 Table 1.
    pub body: WaterBody,
    /// Target class (sections; sources are judged against Class III).
    pub target: Option<WaterClass>,
    /// River name, if known.
    pub river: Option<String>,
}

impl WaterSite {
    /// Whether the site is a section.
    pub fn is_section(&self) -> bool {
        self.kind == WaterSiteKind::Section
    }
}

/// What an item key stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Basic(WaterItem),
    Tli(&'static str),
    Extra(usize),
}

/// A drinking-water item with a single maximum (GB 3838 Table 2 or 3).
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraItem {
    /// Key in the derived table and the report.
    pub key: String,
    /// Chinese name as in the standard.
    pub name_cn: String,
    /// Maximum, mg/L.
    pub limit: Decimal,
    /// `GB 3838-2002 Table 2` / `Table 3 row n`.
    pub source: String,
}

/// What an update did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaterStats {
    /// Site days recomputed.
    pub site_days: usize,
    /// Values read.
    pub values_read: usize,
}

/// A commit observer (same type as `ingest::CommitObserver`).
pub use crate::observe::Observer;

/// The water engine: sites, the code map, and the derivation of `water_days`.
#[derive(Debug, Clone)]
pub struct WaterEngine {
    sites: BTreeMap<String, WaterSite>,
    codes: BTreeMap<String, Key>,
    extras: Vec<ExtraItem>,
}

impl WaterEngine {
    /// The water engine over a profile's sections and drinking-water sources (shared by the
    /// CLI and the web).
    pub fn from_profile(profile: &profile::Profile) -> Result<WaterEngine> {
        use profile::SiteKind;
        use standards::water::WaterBody as Body;
        let body = |b: profile::WaterBody| match b {
            profile::WaterBody::River => Body::River,
            profile::WaterBody::Lake => Body::LakeReservoir,
        };
        let target = |site: &str, t: &str| {
            WaterClass::from_code(t)
                .filter(|c| *c != WaterClass::WorseThanV)
                .ok_or_else(|| {
                    EngineError::Invalid(format!(
                        "profile site {site}: target_class {t:?} is not I..V"
                    ))
                })
        };
        let missing = |site: &str, block: &str| {
            EngineError::Invalid(format!("profile site {site}: no {block} block"))
        };
        let mut sites = Vec::new();
        for s in profile.sites_by_kind(SiteKind::SurfaceWater) {
            let a = s
                .surface_water
                .as_ref()
                .ok_or_else(|| missing(&s.code, "surface_water"))?;
            sites.push(WaterSite {
                site: s.code.clone(),
                name: s.name.clone(),
                kind: WaterSiteKind::Section,
                body: body(a.water_body),
                target: Some(target(&s.code, &a.target_class)?),
                river: a.river.clone(),
            });
        }
        for s in profile.sites_by_kind(SiteKind::DrinkingWater) {
            let a = s
                .drinking_water
                .as_ref()
                .ok_or_else(|| missing(&s.code, "drinking_water"))?;
            sites.push(WaterSite {
                site: s.code.clone(),
                name: s.name.clone(),
                kind: WaterSiteKind::Source {
                    scope: match a.scope {
                        profile::SourceScope::Urban => SourceScope::Urban,
                        profile::SourceScope::Township => SourceScope::Township,
                    },
                    groundwater: a.source_type == profile::SourceType::Groundwater,
                },
                body: body(a.water_body),
                target: Some(target(&s.code, &a.target_class)?),
                river: None,
            });
        }
        Ok(WaterEngine::new(sites))
    }

    /// An engine over these sites, with [`ITEM_CODES`], the TLI keys and GB 3838 Table 2.
    pub fn new(sites: impl IntoIterator<Item = WaterSite>) -> WaterEngine {
        let mut codes: BTreeMap<String, Key> = BTreeMap::new();
        for (c, i) in ITEM_CODES {
            codes.insert(c.to_string(), Key::Basic(i));
            codes.insert(i.key().to_string(), Key::Basic(i));
        }
        codes.insert(CHLA.into(), Key::Tli(CHLA));
        codes.insert(SD.into(), Key::Tli(SD));
        let extras: Vec<ExtraItem> = TABLE2
            .iter()
            .zip(TABLE2_KEYS)
            .map(|(t, k)| ExtraItem {
                key: k.to_string(),
                name_cn: t.name_cn.to_string(),
                limit: t.limit,
                source: "GB 3838-2002 Table 2".into(),
            })
            .collect();
        for (i, e) in extras.iter().enumerate() {
            codes.insert(e.key.clone(), Key::Extra(i));
        }
        WaterEngine {
            sites: sites.into_iter().map(|s| (s.site.clone(), s)).collect(),
            codes,
            extras,
        }
    }

    /// Maps a data code to an item key (a GB 3838 Table 1 key such as `NH3N`, `Chla`, `SD`, a
    /// Table 2 key of [`TABLE2_KEYS`], or the key of an added specific item).
    pub fn map_code(&mut self, code: &str, key: &str) -> Result<()> {
        let k = self.codes.get(key).copied().ok_or_else(|| {
            EngineError::Invalid(format!("map_code {code:?}: unknown item key {key:?}"))
        })?;
        self.codes.insert(code.to_string(), k);
        Ok(())
    }

    /// Adds a GB 3838 Table 3 specific item (by its Chinese name in the standard) received
    /// under `code`; its key is the code.
    pub fn add_specific(&mut self, code: &str, name_cn: &str) -> Result<()> {
        let it = water::specific_item(name_cn).ok_or_else(|| {
            EngineError::Invalid(format!(
                "add_specific {code:?}: {name_cn:?} is not an item of GB 3838-2002 Table 3"
            ))
        })?;
        let row = TABLE3
            .iter()
            .position(|x| x.name_cn == it.name_cn)
            .unwrap_or(0)
            + 1;
        self.extras.push(ExtraItem {
            key: code.to_string(),
            name_cn: it.name_cn.to_string(),
            limit: it.limit,
            source: format!("GB 3838-2002 Table 3 row {row}"),
        });
        self.codes
            .insert(code.to_string(), Key::Extra(self.extras.len() - 1));
        Ok(())
    }

    /// The sites, by code.
    pub fn sites(&self) -> impl Iterator<Item = &WaterSite> {
        self.sites.values()
    }

    /// One site.
    pub fn site(&self, code: &str) -> Option<&WaterSite> {
        self.sites.get(code)
    }

    /// Drinking-water items with a single maximum (Table 2 and added Table 3 items).
    pub fn extras(&self) -> &[ExtraItem] {
        &self.extras
    }

    fn key_of(&self, code: &str) -> Option<Key> {
        self.codes.get(code).copied()
    }

    fn is_water_hour(&self, site: &str, code: &str, field: &str, period: Period) -> bool {
        period == Period::Hour
            && field == FIELD
            && self.sites.contains_key(site)
            && self.codes.contains_key(code)
    }

    /// The (site, Beijing day) pairs a committed batch touched (hour values labelled by start).
    pub fn touched(&self, packets: &[IntakePacket]) -> BTreeSet<(String, Date)> {
        packets
            .iter()
            .flat_map(|p| &p.values)
            .filter(|m| self.is_water_hour(&m.site, &m.code, &m.field, m.period))
            .map(|m| (m.site.clone(), hour_start_of(m.time).date))
            .collect()
    }

    /// Recomputes the site days in `touched`.
    pub fn update(
        &self,
        store: &mut dyn WaterStore,
        touched: &BTreeSet<(String, Date)>,
    ) -> Result<WaterStats> {
        let mut stats = WaterStats::default();
        let mut rows = Vec::new();
        for (site, day) in touched {
            let Some(ws) = self.sites.get(site) else {
                continue;
            };
            let t0 = day_start_utc(*day);
            let mut acc = DayAcc::default();
            self.read(store, site, t0, t0 + 86_400, &mut |k, v| {
                stats.values_read += 1;
                acc.add(k, v);
            })?;
            rows.push(self.day_row(ws, *day, &acc));
            stats.site_days += 1;
        }
        store.put_water_days(&rows)?;
        Ok(stats)
    }

    /// Cold start: recomputes every site day from `from` to `to`, one scan per site.
    pub fn rebuild(&self, store: &mut dyn WaterStore, from: Date, to: Date) -> Result<WaterStats> {
        let mut stats = WaterStats::default();
        let (t0, t1) = (day_start_utc(from), day_start_utc(to) + 86_400);
        for ws in self.sites.values() {
            let mut by_day: BTreeMap<Date, DayAcc> = BTreeMap::new();
            let filter = self.filter(&ws.site, t0, t1);
            store.for_each_value(&filter, &mut |m| {
                if let Some((k, v)) = self.sample_value(m) {
                    stats.values_read += 1;
                    by_day
                        .entry(hour_start_of(m.time).date)
                        .or_default()
                        .add(k, v);
                }
                Ok(())
            })?;
            let rows: Vec<WaterDay> = by_day
                .iter()
                .map(|(d, acc)| self.day_row(ws, *d, acc))
                .collect();
            stats.site_days += rows.len();
            store.put_water_days(&rows)?;
        }
        Ok(stats)
    }

    /// Brings `water_days` up to date with every hour value received since the watermark.
    pub fn catch_up(&self, store: &mut dyn WaterStore) -> Result<WaterStats> {
        let since = store.watermark(WATERMARK)?.unwrap_or(i64::MIN);
        let keys = store.received_since(Period::Hour, since)?;
        let mut touched = BTreeSet::new();
        let mut newest = since;
        for k in &keys {
            newest = newest.max(k.received_ms);
            if self.is_water_hour(&k.site, &k.code, &k.field, k.period) {
                touched.insert((k.site.clone(), hour_start_of(k.time).date));
            }
        }
        let stats = self.update(store, &touched)?;
        if newest > since {
            store.set_watermark(WATERMARK, newest)?;
        }
        Ok(stats)
    }

    /// A commit observer: updates the days each commit touched through its own store handle
    /// and advances the watermark once a catch-up has set it. Errors go to stderr; the next
    /// catch-up repairs them.
    pub fn observer(self, store: Box<dyn WaterStore>) -> Observer {
        crate::observe::observer("water", WATERMARK, store, move |store, packets| {
            let touched = self.touched(packets);
            if touched.is_empty() {
                return Ok(false);
            }
            self.update(store, &touched)?;
            Ok(true)
        })
    }

    /// Class per sample (each hour with at least one valid item) of a site in `[from, to)`
    /// UTC seconds: (hour start, evaluation).
    pub fn samples(
        &self,
        store: &dyn WaterStore,
        site: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, SampleEvaluation)>> {
        let ws = self
            .sites
            .get(site)
            .ok_or_else(|| EngineError::Invalid(format!("{site}: not a water site")))?;
        let mut by_time: BTreeMap<i64, Vec<(WaterItem, Decimal)>> = BTreeMap::new();
        let filter = self.filter(site, from, to);
        store.for_each_value(&filter, &mut |m| {
            if let Some((Key::Basic(i), v)) = self.sample_value(m) {
                let s = by_time.entry(m.time).or_default();
                if !s.iter().any(|(x, _)| *x == i) {
                    s.push((i, v));
                }
            }
            Ok(())
        })?;
        by_time
            .into_iter()
            .map(|(t, vals)| {
                water::evaluate_sample(ws.body, &vals)
                    .map(|e| (t, e))
                    .map_err(|e| EngineError::Invalid(format!("{site} at {t}: {e}")))
            })
            .collect()
    }

    fn filter(&self, site: &str, from: i64, to: i64) -> ValueFilter {
        ValueFilter {
            site: Some(site.to_string()),
            period: Some(Period::Hour),
            from: Some(from),
            to: Some(to),
            ..ValueFilter::default()
        }
    }

    fn sample_value(&self, m: &Measurement) -> Option<(Key, Decimal)> {
        if m.field != FIELD || !value_is_valid(m) {
            return None;
        }
        let k = self.key_of(&m.code)?;
        let v = decimal_of(m)?;
        // A negative concentration is not a measurement (water temperature may be below 0).
        (v >= Decimal::ZERO || k == Key::Basic(WaterItem::WaterTemp)).then_some((k, v))
    }

    fn read(
        &self,
        store: &dyn WaterStore,
        site: &str,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(Key, Decimal),
    ) -> Result<()> {
        let filter = self.filter(site, from, to);
        store.for_each_value(&filter, &mut |m| {
            if let Some((k, v)) = self.sample_value(m) {
                f(k, v);
            }
            Ok(())
        })?;
        Ok(())
    }

    fn key_name(&self, k: Key) -> String {
        match k {
            Key::Basic(i) => i.key().to_string(),
            Key::Tli(s) => s.to_string(),
            Key::Extra(i) => self.extras[i].key.clone(),
        }
    }

    fn day_row(&self, ws: &WaterSite, day: Date, acc: &DayAcc) -> WaterDay {
        let mut means = Vec::new();
        let mut hours = Vec::new();
        let mut basic = Vec::new();
        // Deterministic order: Table 1 order, then TLI keys, then extras.
        let mut keys: Vec<&Key> = acc.sums.keys().collect();
        keys.sort_by_key(|k| key_rank(**k));
        for k in keys {
            let (sum, n) = acc.sums[k];
            let mean = sum / Decimal::from(n);
            let name = self.key_name(*k);
            means.push(format!("{name}={}", mean.normalize()));
            hours.push(format!("{name}={n}"));
            if let Key::Basic(i) = k {
                basic.push((*i, mean));
            }
        }
        let class = water::evaluate_sample(ws.body, &basic)
            .ok()
            .and_then(|e| e.class)
            .map(|c| c.code().to_string());
        WaterDay {
            site: ws.site.clone(),
            day: day.to_string(),
            means: means.join(";"),
            hours: hours.join(";"),
            class,
            updated_ms: now_ms(),
        }
    }

    /// Evaluates a period (month, year, or any day range) of one site from its derived days.
    pub fn period_eval(&self, ws: &WaterSite, days: &[WaterDay]) -> PeriodEval {
        let parsed: Vec<Vec<(String, Decimal)>> =
            days.iter().map(|d| parse_means(&d.means)).collect();
        let mut sums: BTreeMap<String, (Decimal, u32)> = BTreeMap::new();
        for day in &parsed {
            for (k, v) in day {
                let e = sums.entry(k.clone()).or_insert((Decimal::ZERO, 0));
                e.0 += *v;
                e.1 += 1;
            }
        }
        let means: BTreeMap<String, Decimal> = sums
            .into_iter()
            .map(|(k, (s, n))| (k, s / Decimal::from(n)))
            .collect();
        let basic: Vec<(WaterItem, Decimal)> = WaterItem::ALL
            .into_iter()
            .filter_map(|i| means.get(i.key()).map(|v| (i, *v)))
            .collect();
        let evaluation = water::evaluate_sample(ws.body, &basic).ok();
        let extras: Vec<ExtraVerdict> = self
            .extras
            .iter()
            .filter_map(|e| {
                means.get(&e.key).map(|v| ExtraVerdict {
                    key: e.key.clone(),
                    value: *v,
                    limit: e.limit,
                    compliant: water::drinking_item_compliant(e.limit, *v),
                })
            })
            .collect();
        let tli = (ws.body == WaterBody::LakeReservoir).then(|| tli_of(&means));
        PeriodEval {
            days: days.len(),
            means,
            evaluation,
            extras,
            tli,
        }
    }

    /// Derived days of a site in `[from, to]`.
    pub fn days_of(
        &self,
        store: &dyn WaterStore,
        site: &str,
        from: Date,
        to: Date,
    ) -> Result<Vec<WaterDay>> {
        Ok(store.water_days(Some(site), &from.to_string(), &to.to_string())?)
    }

    /// Drinking-water compliance of the sources of `scope` over `year` (indicators 8 and 9):
    /// every (source, month) with data is assessed; it is compliant when the month's class
    /// (mean of the daily means) is I–III and every Table 2/3 item present is within its limit.
    /// Rate = compliant / assessed × 100 (GB/T 8170, 1 decimal). Groundwater sources are not
    /// assessed (GB/T 14848 not implemented) and counted in `not_assessed_sources`.
    pub fn drinking_water_compliance(
        &self,
        store: &dyn WaterStore,
        year: i32,
        scope: SourceScope,
    ) -> Result<DrinkingCompliance> {
        let (from, to) = year_range(year)?;
        let mut c = self.drinking_water_compliance_between(store, from, to, scope)?;
        c.year = year;
        Ok(c)
    }

    /// [`Self::drinking_water_compliance`] over the months of `[from, to]` (whole months:
    /// each month's days inside the range).
    pub fn drinking_water_compliance_between(
        &self,
        store: &dyn WaterStore,
        from: Date,
        to: Date,
        scope: SourceScope,
    ) -> Result<DrinkingCompliance> {
        let mut out = DrinkingCompliance {
            scope,
            year: from.year(),
            ..DrinkingCompliance::default()
        };
        for ws in self.sites.values() {
            let WaterSiteKind::Source {
                scope: s,
                groundwater,
            } = ws.kind
            else {
                continue;
            };
            if s != scope {
                continue;
            }
            out.sources += 1;
            if groundwater {
                out.not_assessed_sources += 1;
                continue;
            }
            let rows = self.days_of(store, &ws.site, from, to)?;
            let months = self.monthly(ws, &rows);
            let assessed: Vec<bool> = months
                .iter()
                .filter_map(|(_, p)| p.source_compliant())
                .collect();
            if !assessed.is_empty() {
                out.sources_with_data += 1;
            }
            out.assessed += assessed.len();
            out.compliant += assessed.iter().filter(|c| **c).count();
        }
        out.rate_pct = pct(out.compliant, out.assessed);
        Ok(out)
    }

    /// Evaluations per calendar month (`YYYY-MM`) of a site's derived days (any order).
    pub fn monthly(&self, ws: &WaterSite, rows: &[WaterDay]) -> Vec<(String, PeriodEval)> {
        let mut by_month: BTreeMap<String, Vec<WaterDay>> = BTreeMap::new();
        for d in rows {
            if let Some(m) = d.day.get(..7) {
                by_month.entry(m.to_string()).or_default().push(d.clone());
            }
        }
        by_month
            .into_iter()
            .map(|(m, days)| {
                let p = self.period_eval(ws, &days);
                (m, p)
            })
            .collect()
    }

    /// Share of the sections whose annual class (annual mean of each item) is I–III
    /// (indicator 7, standards.md §6.4).
    pub fn sections_at_or_better_than_iii_share(
        &self,
        store: &dyn WaterStore,
        year: i32,
    ) -> Result<SectionShare> {
        let (from, to) = year_range(year)?;
        let mut out = SectionShare {
            year,
            ..SectionShare::default()
        };
        let mut classes = Vec::new();
        for ws in self.sites.values().filter(|s| s.is_section()) {
            out.sections += 1;
            let rows = self.days_of(store, &ws.site, from, to)?;
            if let Some(c) = self.period_eval(ws, &rows).class() {
                classes.push(c);
            }
        }
        out.evaluated = classes.len();
        out.at_or_better = classes.iter().filter(|c| c.is_iii_or_better()).count();
        out.pct = water::share_iii_or_better_pct(&classes).map(round1);
        Ok(out)
    }
}

fn key_rank(k: Key) -> (u8, usize) {
    match k {
        Key::Basic(i) => (0, i as usize),
        Key::Tli(s) => (1, usize::from(s == SD)),
        Key::Extra(i) => (2, i),
    }
}

#[derive(Default)]
struct DayAcc {
    sums: BTreeMap<Key, (Decimal, u32)>,
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        key_rank(*self).cmp(&key_rank(*other))
    }
}

impl DayAcc {
    fn add(&mut self, k: Key, v: Decimal) {
        let e = self.sums.entry(k).or_insert((Decimal::ZERO, 0));
        e.0 += v;
        e.1 += 1;
    }
}

/// Parses `key=decimal;…` of a derived day.
pub fn parse_means(s: &str) -> Vec<(String, Decimal)> {
    s.split(';')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), Decimal::from_str(v).ok()?))
        })
        .collect()
}

/// A drinking-water item verdict over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraVerdict {
    /// Item key.
    pub key: String,
    /// Period mean.
    pub value: Decimal,
    /// Maximum.
    pub limit: Decimal,
    /// Value ≤ limit.
    pub compliant: bool,
}

/// Trophic state of a reservoir over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct TliResult {
    /// TLI(Σ), `None` when an input is missing.
    pub value: Option<f64>,
    /// Trophic state of the value.
    pub state: Option<tli::TrophicState>,
    /// Inputs absent from the data (`Chla`, `SD`, `TP`, `TN`, `CODMn`).
    pub missing: Vec<&'static str>,
}

/// TLI of period means (CNEMC 总站生字〔2001〕090号 via `standards::water::tli`).
fn tli_of(means: &BTreeMap<String, Decimal>) -> TliResult {
    let keys = [
        CHLA,
        WaterItem::Tp.key(),
        WaterItem::Tn.key(),
        SD,
        WaterItem::CodMn.key(),
    ];
    let vals: Vec<Option<f64>> = keys
        .iter()
        .map(|k| {
            means
                .get(*k)
                .and_then(|d| d.to_string().parse::<f64>().ok())
        })
        .collect();
    let missing: Vec<&'static str> = keys
        .iter()
        .zip(&vals)
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| *k)
        .collect();
    let value = if missing.is_empty() {
        tli::tli(&tli::TliInputs {
            chla: vals[0].unwrap_or(0.0),
            tp: vals[1].unwrap_or(0.0),
            tn: vals[2].unwrap_or(0.0),
            sd: vals[3].unwrap_or(0.0),
            codmn: vals[4].unwrap_or(0.0),
        })
    } else {
        None
    };
    TliResult {
        value,
        state: value.map(tli::state),
        missing,
    }
}

/// The evaluation of a site over a period from its derived days.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodEval {
    /// Days with data.
    pub days: usize,
    /// Period means per item key.
    pub means: BTreeMap<String, Decimal>,
    /// GB 3838 evaluation of the means (`None` without data).
    pub evaluation: Option<SampleEvaluation>,
    /// Drinking-water items with a single maximum present in the data.
    pub extras: Vec<ExtraVerdict>,
    /// TLI (lake/reservoir sites only).
    pub tli: Option<TliResult>,
}

impl PeriodEval {
    /// The period class.
    pub fn class(&self) -> Option<WaterClass> {
        self.evaluation.as_ref().and_then(|e| e.class)
    }

    /// Met the target (class no worse than the target); `None` without class or target.
    pub fn met(&self, target: Option<WaterClass>) -> Option<bool> {
        Some(self.class()? <= target?)
    }

    /// Drinking-water compliance: class I–III and every Table 2/3 item within its limit;
    /// `None` without a class.
    pub fn source_compliant(&self) -> Option<bool> {
        let c = self.class()?;
        Some(c.is_iii_or_better() && self.extras.iter().all(|e| e.compliant))
    }

    /// Main pollutants with their exceedance multiple against Class III (GB/T 8170, 2 dp;
    /// `None` for DO and pH).
    pub fn main_pollutants(&self) -> Vec<(WaterItem, Option<Decimal>)> {
        let Some(e) = &self.evaluation else {
            return Vec::new();
        };
        e.main_pollutants
            .iter()
            .map(|i| {
                let m = e
                    .exceed
                    .iter()
                    .find(|(x, _)| x == i)
                    .map(|(_, m)| standards::rounding::gbt8170(*m, 2));
                (*i, m)
            })
            .collect()
    }
}

/// Result of [`WaterEngine::drinking_water_compliance`].
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct DrinkingCompliance {
    /// Scope.
    pub scope: SourceScope,
    /// Year.
    pub year: i32,
    /// Compliant / assessed × 100, 1 decimal; `None` when nothing was assessed.
    pub rate_pct: Option<f64>,
    /// Source-months assessed.
    pub assessed: usize,
    /// Source-months compliant.
    pub compliant: usize,
    /// Sources of the scope in the profile.
    pub sources: usize,
    /// Sources with at least one assessed month.
    pub sources_with_data: usize,
    /// Groundwater sources (not assessed).
    pub not_assessed_sources: usize,
}

/// Result of [`WaterEngine::sections_at_or_better_than_iii_share`].
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct SectionShare {
    /// Year.
    pub year: i32,
    /// Share of evaluated sections at Class I–III, percent, 1 decimal.
    pub pct: Option<f64>,
    /// Sections with an annual class.
    pub evaluated: usize,
    /// Of those, Class I–III.
    pub at_or_better: usize,
    /// Sections in the profile.
    pub sections: usize,
}

/// `compliant / total × 100`, GB/T 8170 to 1 decimal.
pub fn pct(n: usize, total: usize) -> Option<f64> {
    (total > 0).then(|| round1(Decimal::from(n) * Decimal::from(100) / Decimal::from(total)))
}

fn round1(d: Decimal) -> f64 {
    standards::rounding::gbt8170(d, 1)
        .to_string()
        .parse()
        .unwrap_or(f64::NAN)
}

/// 1 January to 31 December.
pub fn year_range(year: i32) -> Result<(Date, Date)> {
    let e = |e: standards::date::DateError| EngineError::Invalid(format!("year {year}: {e}"));
    Ok((
        Date::new(year, 1, 1).map_err(e)?,
        Date::new(year, 12, 31).map_err(e)?,
    ))
}

/// Month of a `YYYY-MM-DD` day.
pub fn month_of(day: &str) -> Option<u8> {
    day.get(5..7)?.parse().ok()
}

/// Every day from `from` to `to` (re-export for reports).
pub fn each_day(from: Date, to: Date) -> impl Iterator<Item = Date> {
    days(from, to)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
