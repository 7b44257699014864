//! 环境空气质量评价技术规范 HJ 663-2013 (until 2026-02-28) and HJ 663-2026 (from 2026-03-01):
//! daily means, O3 daily maximum 8-hour mean (MDA8), percentiles, annual evaluation items and
//! attainment, good-days ratio, heavy-pollution days, composite index, exceedance multiple.
//!
//! **HJ 663-2026 text was not obtained** (standards.md §5.9). Where it may differ (composite
//! index weights and denominators, rounding of intermediate statistics, exceptional events,
//! 3-year averages) this module does not guess: [`composite_index`] refuses HJ 663-2026, and the
//! other rules are applied as in HJ 663-2013 with [`AssessmentStandard::Hj663_2026`] documented
//! as "2013 rules, unverified for 2026".
//!
//! Hourly data: the natural day is indexed by the hour's **start** ([`DayHours`]); data labelled
//! by the hour's end must be converted with [`crate::date::HourStart::from`] first.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::ambient::{
    self, validity, AmbientPollutant, AmbientStandard, AveragingPeriod, ZoneClass,
};
use crate::date::{Date, HourEnding, HourStart};
use crate::rounding::gbt8170;
use crate::source::{Confidence, Source};
use crate::versions::AIR_2026_IN_FORCE;

/// Assessment regulation version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AssessmentStandard {
    /// HJ 663-2013.
    Hj663_2013,
    /// HJ 663-2026 (text not obtained: 2013 rules applied where not known to differ).
    Hj663_2026,
}

impl AssessmentStandard {
    /// Code stored with results.
    pub const fn code(self) -> &'static str {
        match self {
            AssessmentStandard::Hj663_2013 => "HJ663-2013",
            AssessmentStandard::Hj663_2026 => "HJ663-2026",
        }
    }
    /// The version in force on `date`.
    pub fn in_force_on(date: Date) -> AssessmentStandard {
        if date < AIR_2026_IN_FORCE {
            AssessmentStandard::Hj663_2013
        } else {
            AssessmentStandard::Hj663_2026
        }
    }
}

/// Citation of the HJ 663-2013 statistics (clause wording from memory, rules cross-checked).
pub const SOURCE_2013: Source = Source {
    standard: "HJ 663-2013",
    clause: "§4–5, Annex A",
    confidence: Confidence::Medium,
    note: "annual items certain; exact clause wording from the researcher's memory",
};

/// The hourly means of one natural day, indexed by the hour's **start** (index 0 = 00:00–01:00).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayHours {
    /// The natural day.
    pub date: Date,
    values: [Option<Decimal>; 24],
}

/// An hour that does not belong to the day being built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongDay(pub HourStart);

impl DayHours {
    /// An empty day (all hours missing).
    pub fn new(date: Date) -> DayHours {
        DayHours {
            date,
            values: [None; 24],
        }
    }

    /// From 24 values indexed by hour start (`None` = missing or invalid hour).
    pub fn from_array(date: Date, values: [Option<Decimal>; 24]) -> DayHours {
        DayHours { date, values }
    }

    /// Sets an hour labelled by its start.
    pub fn set(&mut self, at: HourStart, v: Option<Decimal>) -> Result<(), WrongDay> {
        if at.date != self.date || at.hour > 23 {
            return Err(WrongDay(at));
        }
        self.values[usize::from(at.hour)] = v;
        Ok(())
    }

    /// Sets an hour labelled by its end (stamp 00:00 belongs to the previous day's 23:00 hour).
    pub fn set_hour_ending(&mut self, at: HourEnding, v: Option<Decimal>) -> Result<(), WrongDay> {
        self.set(HourStart::from(at), v)
    }

    /// The value of hour `h` (start).
    pub fn get(&self, h: u8) -> Option<Decimal> {
        self.values.get(usize::from(h)).copied().flatten()
    }

    /// All 24 hours.
    pub fn hours(&self) -> &[Option<Decimal>; 24] {
        &self.values
    }

    /// Number of valid hours.
    pub fn valid_hours(&self) -> usize {
        self.values.iter().flatten().count()
    }
}

/// Not enough data for a statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insufficient {
    /// Valid values present.
    pub valid: usize,
    /// Minimum required.
    pub required: usize,
}

fn mean(values: impl Iterator<Item = Decimal>) -> Option<Decimal> {
    let (s, n) = values.fold((Decimal::ZERO, 0u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| s / Decimal::from(n))
}

/// 24小时平均 daily mean of SO2, NO2, CO, PM10, PM2.5, NOx: the arithmetic mean of the valid
/// hourly means of the natural day, valid with ≥ 20 hours (GB 3095 Table 4). Exact, unrounded.
pub fn daily_mean(day: &DayHours) -> Result<Decimal, Insufficient> {
    let n = day.valid_hours();
    if n < validity::DAILY_MEAN_MIN_HOURS {
        return Err(Insufficient {
            valid: n,
            required: validity::DAILY_MEAN_MIN_HOURS,
        });
    }
    Ok(mean(day.values.iter().flatten().copied()).expect("n >= 20"))
}

/// Number of 8-hour windows wholly inside a natural day (starting at hours 0 … 16; HJ 663
/// words them as the 8-h means ending at 8:00 … 24:00).
pub const MDA8_WINDOWS: usize = 17;
/// Minimum valid windows for a valid MDA8 (HJ 663-2013).
pub const MDA8_MIN_WINDOWS: usize = 14;

/// O3 日最大8小时平均 MDA8 of one natural day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mda8 {
    /// The 17 window means (start hours 0 … 16), `None` where a window has < 6 valid hours.
    pub windows: [Option<Decimal>; MDA8_WINDOWS],
    /// Number of valid windows.
    pub valid_windows: usize,
    /// The maximum of the valid windows (exact), if any.
    pub max: Option<Decimal>,
    /// Whether the day's MDA8 counts: ≥ 14 valid windows, or fewer but `max` > the limit.
    pub valid: bool,
    /// Whether `valid` rests on the exceedance rule for a partial day.
    pub by_exceedance_rule: bool,
}

impl Mda8 {
    /// The MDA8 if the day counts.
    pub fn value(&self) -> Option<Decimal> {
        if self.valid {
            self.max
        } else {
            None
        }
    }
}

/// O3 MDA8 (HJ 663-2013 §4.3 as researched; windows per standards.md §5.1): 17 windows inside
/// the day, each needing ≥ 6 valid hours; the day needs ≥ 14 valid windows, unless the max of
/// the valid windows already exceeds `limit_8h` (pass the applicable GB 3095 8-h limit, e.g.
/// 160 µg/m³ for class-2 zones), in which case the day counts.
pub fn mda8(day: &DayHours, limit_8h: Decimal) -> Mda8 {
    let mut windows = [None; MDA8_WINDOWS];
    for (s, w) in windows.iter_mut().enumerate() {
        let vals = day.values[s..s + 8].iter().flatten().copied();
        let n = day.values[s..s + 8].iter().flatten().count();
        if n >= validity::O3_8H_MIN_HOURS {
            *w = mean(vals);
        }
    }
    let valid_windows = windows.iter().flatten().count();
    let max = windows.iter().flatten().copied().max();
    let full = valid_windows >= MDA8_MIN_WINDOWS;
    let by_exceedance_rule = !full && max.is_some_and(|m| m > limit_8h);
    Mda8 {
        windows,
        valid_windows,
        max,
        valid: full || by_exceedance_rule,
        by_exceedance_rule,
    }
}

/// Percentile by HJ 663 Annex A: sort ascending, `k = 1 + (n−1)·p/100`, `s = ⌊k⌋`,
/// `m_p = X(s) + (X(s+1) − X(s))·(k − s)`, and `X(n)` if `s = n` (numpy `linear`, R type 7).
/// `None` for empty input or `p` outside 0–100. Exact.
pub fn percentile(values: &[Decimal], p: Decimal) -> Option<Decimal> {
    if values.is_empty() || p < Decimal::ZERO || p > dec!(100) {
        return None;
    }
    let mut x = values.to_vec();
    x.sort();
    let n = x.len();
    let k = Decimal::ONE + Decimal::from(n - 1) * p / dec!(100);
    let s = k.floor();
    let si = usize::try_from(s.mantissa() / 10i128.pow(s.scale())).ok()?;
    if si >= n {
        return Some(x[n - 1]);
    }
    let (a, b) = (x[si - 1], x[si]);
    Some(a + (b - a) * (k - s))
}

/// A statistic of the annual evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Statistic {
    /// 年平均 annual mean of daily means.
    AnnualMean,
    /// p-th percentile of daily values (daily means, or MDA8 for O3).
    Percentile(u8),
}

/// One annual evaluation item: pollutant, statistic and the limit it is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnualItem {
    /// Pollutant.
    pub pollutant: AmbientPollutant,
    /// Statistic.
    pub statistic: Statistic,
    /// GB 3095 averaging period of the limit it is compared with.
    pub compare_to: AveragingPeriod,
}

const fn item(p: AmbientPollutant, s: Statistic, c: AveragingPeriod) -> AnnualItem {
    AnnualItem {
        pollutant: p,
        statistic: s,
        compare_to: c,
    }
}

/// HJ 663-2013 annual evaluation items (standards.md §5.2). A code fixture claims HJ 663-2026
/// keeps this set (low authority).
pub const ANNUAL_ITEMS: [AnnualItem; 10] = {
    use AmbientPollutant as P;
    use AveragingPeriod as T;
    use Statistic::*;
    [
        item(P::So2, AnnualMean, T::Annual),
        item(P::So2, Percentile(98), T::Day24h),
        item(P::No2, AnnualMean, T::Annual),
        item(P::No2, Percentile(98), T::Day24h),
        item(P::Pm10, AnnualMean, T::Annual),
        item(P::Pm10, Percentile(95), T::Day24h),
        item(P::Pm25, AnnualMean, T::Annual),
        item(P::Pm25, Percentile(95), T::Day24h),
        item(P::Co, Percentile(95), T::Day24h),
        item(P::O3, Percentile(90), T::DailyMax8h),
    ]
};

/// The six pollutants of the annual evaluation.
pub const ANNUAL_POLLUTANTS: [AmbientPollutant; 6] = [
    AmbientPollutant::So2,
    AmbientPollutant::No2,
    AmbientPollutant::Pm10,
    AmbientPollutant::Pm25,
    AmbientPollutant::Co,
    AmbientPollutant::O3,
];

/// Reporting precision (decimal places) of a concentration statistic: CO 1 (mg/m³), others 0.
pub const fn report_dp(p: AmbientPollutant) -> u32 {
    if p.is_mg() {
        1
    } else {
        0
    }
}

/// Rounds a statistic once, by GB/T 8170, to its reporting precision.
pub fn report_round(p: AmbientPollutant, exact: Decimal) -> Decimal {
    gbt8170(exact, report_dp(p))
}

/// 超标倍数 exceedance multiple `(C − S)/S`; `None` when `C ≤ S` (not exceeding).
pub fn exceedance_multiple(c: Decimal, s: Decimal) -> Option<Decimal> {
    (c > s && s > Decimal::ZERO).then(|| (c - s) / s)
}

/// One evaluated annual statistic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnualStat {
    /// The item.
    pub item: AnnualItem,
    /// Exact value.
    pub exact: Decimal,
    /// Value rounded once by GB/T 8170 to reporting precision; compared with the limit.
    pub value: Decimal,
    /// The GB 3095 limit.
    pub limit: Decimal,
    /// `value ≤ limit`.
    pub attains: bool,
    /// `(value − limit)/limit` when exceeding.
    pub exceedance_multiple: Option<Decimal>,
}

/// Annual evaluation of an area (city or county).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnualEvaluation {
    /// Every statistic that could be computed.
    pub stats: Vec<AnnualStat>,
    /// Per pollutant: attains iff every statistic of it attains.
    pub pollutants: Vec<(AmbientPollutant, bool)>,
    /// Area attains iff all six pollutants were evaluated and attain; `None` if any is missing.
    pub attains: Option<bool>,
}

/// Annual evaluation (HJ 663 §5.2 of the reference): for each pollutant pass the year's valid
/// daily values (daily means; O3: valid MDA8 values). Checking GB 3095 Table 4 validity of the
/// year is the caller's job ([`ambient::annual_mean_valid`]). Statistics are rounded once by
/// GB/T 8170 to reporting precision and then compared with the limits of `ambient`/`zone`.
pub fn evaluate_annual(
    ambient_std: AmbientStandard,
    zone: ZoneClass,
    daily: &[(AmbientPollutant, &[Decimal])],
) -> AnnualEvaluation {
    let mut stats = Vec::new();
    let mut pollutants = Vec::new();
    for p in ANNUAL_POLLUTANTS {
        let Some((_, values)) = daily.iter().find(|(q, v)| *q == p && !v.is_empty()) else {
            continue;
        };
        let mut all = true;
        for it in ANNUAL_ITEMS.iter().filter(|i| i.pollutant == p) {
            let exact = match it.statistic {
                Statistic::AnnualMean => mean(values.iter().copied()).expect("non-empty"),
                Statistic::Percentile(q) => {
                    percentile(values, Decimal::from(q)).expect("non-empty")
                }
            };
            let limit = ambient::limit(ambient_std, p, it.compare_to, zone)
                .expect("every annual item has a GB 3095 limit");
            let value = report_round(p, exact);
            let attains = value <= limit;
            all &= attains;
            stats.push(AnnualStat {
                item: *it,
                exact,
                value,
                limit,
                attains,
                exceedance_multiple: exceedance_multiple(value, limit),
            });
        }
        pollutants.push((p, all));
    }
    let attains =
        (pollutants.len() == ANNUAL_POLLUTANTS.len()).then(|| pollutants.iter().all(|&(_, a)| a));
    AnnualEvaluation {
        stats,
        pollutants,
        attains,
    }
}

/// Good-days statistics of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCounts {
    /// Days with a publishable daily AQI (valid monitoring days).
    pub valid_days: usize,
    /// 优良天数: AQI ≤ 100.
    pub good_days: usize,
    /// 重污染天数 (重度及以上): AQI > 200.
    pub heavy_days: usize,
    /// 严重污染天数: AQI > 300.
    pub severe_days: usize,
}

impl DayCounts {
    /// 优良天数比例 in percent, exact (`None` without valid days). Round for display with
    /// [`gbt8170`] once (1 decimal is common practice, not a standard rule).
    pub fn good_ratio_pct(&self) -> Option<Decimal> {
        (self.valid_days > 0)
            .then(|| Decimal::from(self.good_days) * dec!(100) / Decimal::from(self.valid_days))
    }
}

/// AQI threshold of a good (优良) day.
pub const GOOD_DAY_MAX_AQI: u16 = 100;
/// AQI above which a day is heavily polluted (重度污染及以上).
pub const HEAVY_POLLUTION_ABOVE: u16 = 200;
/// AQI above which a day is severely polluted.
pub const SEVERE_POLLUTION_ABOVE: u16 = 300;

/// Counts good, heavy and severe days over daily AQIs; `None` entries (NA days, e.g. under
/// HJ 633-2026 a missing pollutant with AQI ≤ 100) are excluded from numerator and denominator.
pub fn count_days(daily_aqi: &[Option<u16>]) -> DayCounts {
    let v: Vec<u16> = daily_aqi.iter().flatten().copied().collect();
    DayCounts {
        valid_days: v.len(),
        good_days: v.iter().filter(|&&a| a <= GOOD_DAY_MAX_AQI).count(),
        heavy_days: v.iter().filter(|&&a| a > HEAVY_POLLUTION_ABOVE).count(),
        severe_days: v.iter().filter(|&&a| a > SEVERE_POLLUTION_ABOVE).count(),
    }
}

/// 日达标率 daily attainment rate in percent: attaining days / valid days × 100.
pub fn daily_attainment_rate_pct(attaining: usize, valid: usize) -> Option<Decimal> {
    (valid > 0).then(|| Decimal::from(attaining) * dec!(100) / Decimal::from(valid))
}

/// Inputs of the composite index: period statistics per pollutant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompositeInputs {
    /// SO2 period mean (µg/m³).
    pub so2: Decimal,
    /// NO2 period mean.
    pub no2: Decimal,
    /// PM10 period mean.
    pub pm10: Decimal,
    /// PM2.5 period mean.
    pub pm25: Decimal,
    /// CO 95th percentile of daily means (mg/m³).
    pub co_p95: Decimal,
    /// O3 90th percentile of MDA8.
    pub o3_p90: Decimal,
}

/// 综合指数 composite index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompositeIndex {
    /// Single indices `Iᵢ = Cᵢ/Sᵢ` (exact).
    pub single: Vec<(AmbientPollutant, Decimal)>,
    /// `I = Σ Iᵢ` (exact).
    pub exact: Decimal,
    /// `I` rounded once to 2 decimals by GB/T 8170 (reporting practice).
    pub value: Decimal,
    /// Pollutant(s) with the largest single index (首要污染物 of the period).
    pub primary: Vec<AmbientPollutant>,
}

/// The composite index is not defined for this version in this library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompositeUnverified;

impl std::fmt::Display for CompositeUnverified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "HJ 663-2026 composite index weights/denominators are unverified; \
             use composite_index_2012 explicitly for a 2012-definition series",
        )
    }
}
impl std::error::Error for CompositeUnverified {}

/// Denominators Sᵢ of the 2012 composite index (grade-2 limits of GB 3095-2012: annual for
/// SO2, NO2, PM10, PM2.5; 24h for CO; 8h for O3). Source: 环办〔2014〕64号 城市环境空气质量排名技术规定.
pub const COMPOSITE_S_2012: [(AmbientPollutant, Decimal); 6] = [
    (AmbientPollutant::So2, dec!(60)),
    (AmbientPollutant::No2, dec!(40)),
    (AmbientPollutant::Pm10, dec!(70)),
    (AmbientPollutant::Pm25, dec!(35)),
    (AmbientPollutant::Co, dec!(4)),
    (AmbientPollutant::O3, dec!(160)),
];

/// Citation of the composite index.
pub const COMPOSITE_SOURCE: Source = Source {
    standard: "环办〔2014〕64号 城市环境空气质量排名技术规定 / HJ 663-2013",
    clause: "composite index",
    confidence: Confidence::High,
    note: "2012 form certain; 2026 weights (claimed PM2.5×3, NO2×2, O3×2) unverified and not implemented",
};

/// 综合指数 with the 2012 definition `I = Σ Cᵢ/Sᵢ` (unweighted).
pub fn composite_index_2012(c: &CompositeInputs) -> CompositeIndex {
    let cs = [c.so2, c.no2, c.pm10, c.pm25, c.co_p95, c.o3_p90];
    let single: Vec<(AmbientPollutant, Decimal)> = COMPOSITE_S_2012
        .iter()
        .zip(cs)
        .map(|(&(p, s), c)| (p, c / s))
        .collect();
    let exact: Decimal = single.iter().map(|&(_, i)| i).sum();
    let max = single.iter().map(|&(_, i)| i).max().expect("six items");
    CompositeIndex {
        primary: single
            .iter()
            .filter(|&&(_, i)| i == max)
            .map(|&(p, _)| p)
            .collect(),
        single,
        exact,
        value: gbt8170(exact, 2),
    }
}

/// Composite index under `std`: HJ 663-2013 → the 2012 definition; HJ 663-2026 → refused
/// (weights and denominators unverified; do not guess).
pub fn composite_index(
    std: AssessmentStandard,
    c: &CompositeInputs,
) -> Result<CompositeIndex, CompositeUnverified> {
    match std {
        AssessmentStandard::Hj663_2013 => Ok(composite_index_2012(c)),
        AssessmentStandard::Hj663_2026 => Err(CompositeUnverified),
    }
}
