//! 环境空气质量标准 GB 3095-2012 (with the 2018 amendment) and GB 3095-2026 (transition stage
//! 2026-03-01 … 2030-12-31, final stage from 2031-01-01): limits by pollutant, averaging
//! period and zone class; data-validity minima (Table 4, identical in both); reference state.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::date::{days_in_month, Date};
use crate::source::Source;
use crate::versions::{AIR_2026_IN_FORCE, GB3095_2026_FINAL_FROM, REFERENCE_STATE_2018_FROM};

/// Which ambient-limit rule set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AmbientStandard {
    /// GB 3095-2012 (and its 2018 amendment), until 2026-02-28.
    Gb3095_2012,
    /// GB 3095-2026 transition limits, 2026-03-01 … 2030-12-31.
    Gb3095_2026Transition,
    /// GB 3095-2026 final limits, from 2031-01-01.
    Gb3095_2026Final,
}

impl AmbientStandard {
    /// All three, oldest first.
    pub const ALL: [AmbientStandard; 3] = [
        AmbientStandard::Gb3095_2012,
        AmbientStandard::Gb3095_2026Transition,
        AmbientStandard::Gb3095_2026Final,
    ];

    /// Code stored with results.
    pub const fn code(self) -> &'static str {
        match self {
            AmbientStandard::Gb3095_2012 => "GB3095-2012",
            AmbientStandard::Gb3095_2026Transition => "GB3095-2026-transition",
            AmbientStandard::Gb3095_2026Final => "GB3095-2026-final",
        }
    }

    /// Parses a code.
    pub fn from_code(s: &str) -> Option<AmbientStandard> {
        AmbientStandard::ALL
            .into_iter()
            .find(|v| v.code().eq_ignore_ascii_case(s.trim()))
    }

    /// The rule set in force on `date`.
    pub fn in_force_on(date: Date) -> AmbientStandard {
        if date < AIR_2026_IN_FORCE {
            AmbientStandard::Gb3095_2012
        } else if date < GB3095_2026_FINAL_FROM {
            AmbientStandard::Gb3095_2026Transition
        } else {
            AmbientStandard::Gb3095_2026Final
        }
    }
}

/// 环境空气功能区 zone class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ZoneClass {
    /// 一类区 (nature reserves, scenic areas; 2026: national parks, natural parks…) → grade 1 limits.
    Class1,
    /// 二类区 (residential, commercial, industrial, rural…) → grade 2 limits.
    Class2,
}

/// Pollutants of GB 3095 Tables 1 and 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AmbientPollutant {
    /// SO2
    So2,
    /// NO2
    No2,
    /// CO (mg/m³)
    Co,
    /// O3
    O3,
    /// PM10
    Pm10,
    /// PM2.5
    Pm25,
    /// 总悬浮颗粒物 TSP
    Tsp,
    /// 氮氧化物 NOx (as NO2)
    Nox,
    /// 铅 Pb
    Pb,
    /// 苯并[a]芘 BaP
    Bap,
}

impl AmbientPollutant {
    /// Usual name.
    pub const fn name(self) -> &'static str {
        match self {
            AmbientPollutant::So2 => "SO2",
            AmbientPollutant::No2 => "NO2",
            AmbientPollutant::Co => "CO",
            AmbientPollutant::O3 => "O3",
            AmbientPollutant::Pm10 => "PM10",
            AmbientPollutant::Pm25 => "PM2.5",
            AmbientPollutant::Tsp => "TSP",
            AmbientPollutant::Nox => "NOx",
            AmbientPollutant::Pb => "Pb",
            AmbientPollutant::Bap => "BaP",
        }
    }

    /// Whether it is a gas reported at the 298.15 K reference state from 2018-09-01
    /// (particles and their components are at actual conditions).
    pub const fn is_gas(self) -> bool {
        matches!(
            self,
            AmbientPollutant::So2
                | AmbientPollutant::No2
                | AmbientPollutant::Co
                | AmbientPollutant::O3
                | AmbientPollutant::Nox
        )
    }

    /// Whether the unit is mg/m³ (CO) rather than µg/m³.
    pub const fn is_mg(self) -> bool {
        matches!(self, AmbientPollutant::Co)
    }
}

/// 平均时间 averaging period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AveragingPeriod {
    /// 年平均
    Annual,
    /// 季平均 (Pb)
    Quarterly,
    /// 24小时平均
    Day24h,
    /// 日最大8小时平均 (O3)
    DailyMax8h,
    /// 1小时平均
    Hour1,
}

/// One row of a GB 3095 limit table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmbientLimit {
    /// Pollutant.
    pub pollutant: AmbientPollutant,
    /// Averaging period.
    pub period: AveragingPeriod,
    /// Grade 1 limit (zone class 1).
    pub grade1: Decimal,
    /// Grade 2 limit (zone class 2).
    pub grade2: Decimal,
}

impl AmbientLimit {
    /// The limit for a zone class.
    pub const fn for_zone(&self, zone: ZoneClass) -> Decimal {
        match zone {
            ZoneClass::Class1 => self.grade1,
            ZoneClass::Class2 => self.grade2,
        }
    }
}

/// A limit table with its citation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmbientTable {
    /// Which rule set.
    pub standard: AmbientStandard,
    /// Rows (µg/m³, CO in mg/m³).
    pub rows: &'static [AmbientLimit],
    /// Citation.
    pub source: Source,
}

use AmbientPollutant as P;
use AveragingPeriod as T;

const fn row(pollutant: P, period: T, grade1: Decimal, grade2: Decimal) -> AmbientLimit {
    AmbientLimit {
        pollutant,
        period,
        grade1,
        grade2,
    }
}

/// GB 3095-2012 Tables 1 and 2.
pub const GB3095_2012: AmbientTable = AmbientTable {
    standard: AmbientStandard::Gb3095_2012,
    source: Source::primary("GB 3095-2012", "Tables 1 and 2"),
    rows: &[
        row(P::So2, T::Annual, dec!(20), dec!(60)),
        row(P::So2, T::Day24h, dec!(50), dec!(150)),
        row(P::So2, T::Hour1, dec!(150), dec!(500)),
        row(P::No2, T::Annual, dec!(40), dec!(40)),
        row(P::No2, T::Day24h, dec!(80), dec!(80)),
        row(P::No2, T::Hour1, dec!(200), dec!(200)),
        row(P::Co, T::Day24h, dec!(4), dec!(4)),
        row(P::Co, T::Hour1, dec!(10), dec!(10)),
        row(P::O3, T::DailyMax8h, dec!(100), dec!(160)),
        row(P::O3, T::Hour1, dec!(160), dec!(200)),
        row(P::Pm10, T::Annual, dec!(40), dec!(70)),
        row(P::Pm10, T::Day24h, dec!(50), dec!(150)),
        row(P::Pm25, T::Annual, dec!(15), dec!(35)),
        row(P::Pm25, T::Day24h, dec!(35), dec!(75)),
        row(P::Tsp, T::Annual, dec!(80), dec!(200)),
        row(P::Tsp, T::Day24h, dec!(120), dec!(300)),
        row(P::Nox, T::Annual, dec!(50), dec!(50)),
        row(P::Nox, T::Day24h, dec!(100), dec!(100)),
        row(P::Nox, T::Hour1, dec!(250), dec!(250)),
        row(P::Pb, T::Annual, dec!(0.5), dec!(0.5)),
        row(P::Pb, T::Quarterly, dec!(1), dec!(1)),
        row(P::Bap, T::Annual, dec!(0.001), dec!(0.001)),
        row(P::Bap, T::Day24h, dec!(0.0025), dec!(0.0025)),
    ],
};

/// GB 3095-2026 Tables 1 and 2, transition stage (2026-03-01 … 2030-12-31).
/// Table 2 items (TSP, NOx, Pb, BaP) are implemented as MEE or the province decides.
pub const GB3095_2026_TRANSITION: AmbientTable = AmbientTable {
    standard: AmbientStandard::Gb3095_2026Transition,
    source: Source::primary("GB 3095-2026", "Table 1 (transition column), Table 2"),
    rows: &[
        row(P::So2, T::Annual, dec!(20), dec!(60)),
        row(P::So2, T::Day24h, dec!(50), dec!(150)),
        row(P::So2, T::Hour1, dec!(150), dec!(500)),
        row(P::No2, T::Annual, dec!(40), dec!(40)),
        row(P::No2, T::Day24h, dec!(80), dec!(80)),
        row(P::No2, T::Hour1, dec!(200), dec!(200)),
        row(P::Co, T::Day24h, dec!(4), dec!(4)),
        row(P::Co, T::Hour1, dec!(10), dec!(10)),
        row(P::O3, T::DailyMax8h, dec!(100), dec!(160)),
        row(P::O3, T::Hour1, dec!(160), dec!(200)),
        row(P::Pm10, T::Annual, dec!(40), dec!(60)),
        row(P::Pm10, T::Day24h, dec!(50), dec!(120)),
        row(P::Pm25, T::Annual, dec!(15), dec!(30)),
        row(P::Pm25, T::Day24h, dec!(35), dec!(60)),
        row(P::Tsp, T::Annual, dec!(80), dec!(200)),
        row(P::Tsp, T::Day24h, dec!(120), dec!(300)),
        row(P::Nox, T::Annual, dec!(50), dec!(50)),
        row(P::Nox, T::Day24h, dec!(100), dec!(100)),
        row(P::Nox, T::Hour1, dec!(250), dec!(250)),
        row(P::Pb, T::Annual, dec!(0.5), dec!(0.5)),
        row(P::Pb, T::Quarterly, dec!(1.0), dec!(1.0)),
        row(P::Bap, T::Annual, dec!(0.001), dec!(0.001)),
        row(P::Bap, T::Day24h, dec!(0.0025), dec!(0.0025)),
    ],
};

/// GB 3095-2026 Tables 1 and 2, final stage (from 2031-01-01).
pub const GB3095_2026_FINAL: AmbientTable = AmbientTable {
    standard: AmbientStandard::Gb3095_2026Final,
    source: Source::primary("GB 3095-2026", "Table 1 (final column), Table 2"),
    rows: &[
        row(P::So2, T::Annual, dec!(20), dec!(20)),
        row(P::So2, T::Day24h, dec!(50), dec!(50)),
        row(P::So2, T::Hour1, dec!(150), dec!(150)),
        row(P::No2, T::Annual, dec!(30), dec!(30)),
        row(P::No2, T::Day24h, dec!(50), dec!(50)),
        row(P::No2, T::Hour1, dec!(200), dec!(200)),
        row(P::Co, T::Day24h, dec!(4), dec!(4)),
        row(P::Co, T::Hour1, dec!(10), dec!(10)),
        row(P::O3, T::DailyMax8h, dec!(100), dec!(160)),
        row(P::O3, T::Hour1, dec!(160), dec!(200)),
        row(P::Pm10, T::Annual, dec!(20), dec!(50)),
        row(P::Pm10, T::Day24h, dec!(50), dec!(100)),
        row(P::Pm25, T::Annual, dec!(10), dec!(25)),
        row(P::Pm25, T::Day24h, dec!(25), dec!(50)),
        row(P::Tsp, T::Annual, dec!(80), dec!(200)),
        row(P::Tsp, T::Day24h, dec!(120), dec!(300)),
        row(P::Nox, T::Annual, dec!(40), dec!(40)),
        row(P::Nox, T::Day24h, dec!(70), dec!(70)),
        row(P::Nox, T::Hour1, dec!(250), dec!(250)),
        row(P::Pb, T::Annual, dec!(0.5), dec!(0.5)),
        row(P::Pb, T::Quarterly, dec!(1.0), dec!(1.0)),
        row(P::Bap, T::Annual, dec!(0.001), dec!(0.001)),
        row(P::Bap, T::Day24h, dec!(0.0025), dec!(0.0025)),
    ],
};

/// The limit table of a rule set.
pub const fn table(std: AmbientStandard) -> &'static AmbientTable {
    match std {
        AmbientStandard::Gb3095_2012 => &GB3095_2012,
        AmbientStandard::Gb3095_2026Transition => &GB3095_2026_TRANSITION,
        AmbientStandard::Gb3095_2026Final => &GB3095_2026_FINAL,
    }
}

/// The limit of `pollutant` over `period` for `zone` under `std` (`None` if the standard sets
/// no such limit). µg/m³, CO in mg/m³; compliant if the value is ≤ the limit.
pub fn limit(
    std: AmbientStandard,
    pollutant: AmbientPollutant,
    period: AveragingPeriod,
    zone: ZoneClass,
) -> Option<Decimal> {
    table(std)
        .rows
        .iter()
        .find(|r| r.pollutant == pollutant && r.period == period)
        .map(|r| r.for_zone(zone))
}

/// GB 3095 Table 4 (identical in 2012 and 2026): data-validity minima.
pub mod validity {
    use crate::source::Source;

    /// Citation.
    pub const SOURCE: Source = Source::primary("GB 3095-2012 / GB 3095-2026", "Table 4");
    /// Daily (24h) mean of SO2, NO2, CO, PM10, PM2.5, NOx: ≥ 20 hourly means per natural day.
    pub const DAILY_MEAN_MIN_HOURS: usize = 20;
    /// 8-h O3 mean: ≥ 6 hourly means in the window.
    pub const O3_8H_MIN_HOURS: usize = 6;
    /// 1-h mean: ≥ 45 minutes of sampling.
    pub const HOURLY_MIN_MINUTES: u32 = 45;
    /// Annual mean of SO2, NO2, PM10, PM2.5, NOx: ≥ 324 daily means per year…
    pub const ANNUAL_MIN_DAYS: usize = 324;
    /// …and ≥ 27 per month…
    pub const MONTH_MIN_DAYS: usize = 27;
    /// …(≥ 25 in February).
    pub const FEBRUARY_MIN_DAYS: usize = 25;
    /// Annual mean of TSP, BaP, Pb: ≥ 60 evenly spread daily means per year…
    pub const TSP_BAP_PB_ANNUAL_MIN_DAYS: usize = 60;
    /// …and ≥ 5 per month.
    pub const TSP_BAP_PB_MONTH_MIN_DAYS: usize = 5;
    /// Quarterly Pb mean: ≥ 15 evenly spread daily means per quarter…
    pub const PB_QUARTER_MIN_DAYS: usize = 15;
    /// …and ≥ 5 per month.
    pub const PB_QUARTER_MONTH_MIN_DAYS: usize = 5;
    /// Daily mean of TSP, BaP, Pb: 24 h of sampling.
    pub const TSP_BAP_PB_DAILY_SAMPLING_HOURS: u32 = 24;
}

/// Whether an annual mean of SO2, NO2, PM10, PM2.5 or NOx is valid (GB 3095 Table 4):
/// `valid_days_per_month[m]` is the number of valid daily means in month `m+1`.
pub fn annual_mean_valid(valid_days_per_month: &[usize; 12]) -> bool {
    let total: usize = valid_days_per_month.iter().sum();
    total >= validity::ANNUAL_MIN_DAYS
        && valid_days_per_month.iter().enumerate().all(|(m, &n)| {
            n >= if m == 1 {
                validity::FEBRUARY_MIN_DAYS
            } else {
                validity::MONTH_MIN_DAYS
            }
        })
}

/// Whether a month's daily means suffice for the annual statistic (27, February 25). Months
/// shorter than the minimum cannot occur (every month has ≥ 28 days).
pub fn month_valid_for_annual(year: i32, month: u8, valid_days: usize) -> bool {
    debug_assert!(days_in_month(year, month) >= 28);
    valid_days
        >= if month == 2 {
            validity::FEBRUARY_MIN_DAYS
        } else {
            validity::MONTH_MIN_DAYS
        }
}

/// Reporting state of a concentration (the 2018 amendment, kept in GB 3095-2026 §3.14, §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferenceState {
    /// 标准状态 273 K, 101.325 kPa (everything before 2018-09-01).
    Standard273K,
    /// 参比状态 298.15 K, 1013.25 hPa (gases from 2018-09-01).
    Reference298K,
    /// 实况状态 actual ambient temperature and pressure (particles and components from 2018-09-01).
    Actual,
}

/// Citation of the reference-state rule.
pub const REFERENCE_STATE_SOURCE: Source = Source::primary(
    "GB 3095-2012 amendment (MEE/SAMR 2018-08-13) / GB 3095-2026",
    "§3.14, §4.3",
);

/// The state concentrations of `pollutant` measured on `date` are reported in.
pub fn reporting_state(pollutant: AmbientPollutant, date: Date) -> ReferenceState {
    if date < REFERENCE_STATE_2018_FROM {
        ReferenceState::Standard273K
    } else if pollutant.is_gas() {
        ReferenceState::Reference298K
    } else {
        ReferenceState::Actual
    }
}

/// Converts a gas concentration from the standard state (273 K) to the reference state
/// (298.15 K) at equal pressure: `C_ref = C_std × 273 / 298.15` (≈ 0.9157).
pub fn standard_to_reference(c_std: Decimal) -> Decimal {
    c_std * dec!(273) / dec!(298.15)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GB 3095-2026 §0 of the reference: grade-2 PM limits tighten already in the transition stage.
    #[test]
    fn pm_limits_by_stage() {
        use AmbientStandard::*;
        let z = ZoneClass::Class2;
        assert_eq!(limit(Gb3095_2012, P::Pm25, T::Day24h, z), Some(dec!(75)));
        assert_eq!(
            limit(Gb3095_2026Transition, P::Pm25, T::Day24h, z),
            Some(dec!(60))
        );
        assert_eq!(
            limit(Gb3095_2026Final, P::Pm25, T::Day24h, z),
            Some(dec!(50))
        );
        assert_eq!(
            limit(Gb3095_2026Final, P::Pm25, T::Annual, ZoneClass::Class1),
            Some(dec!(10))
        );
        assert_eq!(limit(Gb3095_2012, P::Co, T::Annual, z), None);
    }

    /// GB 3095 Table 4: ≥ 324 days and ≥ 27 per month (25 in February).
    #[test]
    fn annual_validity() {
        let mut m = [27usize; 12];
        m[1] = 25;
        assert_eq!(m.iter().sum::<usize>(), 322);
        assert!(!annual_mean_valid(&m)); // 322 < 324
        m[0] = 29;
        m[2] = 29;
        assert!(annual_mean_valid(&m));
        m[1] = 24;
        m[3] = 30;
        assert!(!annual_mean_valid(&m));
    }

    /// GB 3095-2012 amendment 2018: gases at 298.15 K from 2018-09-01, particles at actual state.
    #[test]
    fn reference_state_2018() {
        let d0 = Date::ymd(2018, 8, 31);
        let d1 = Date::ymd(2018, 9, 1);
        assert_eq!(reporting_state(P::So2, d0), ReferenceState::Standard273K);
        assert_eq!(reporting_state(P::So2, d1), ReferenceState::Reference298K);
        assert_eq!(reporting_state(P::Pm25, d1), ReferenceState::Actual);
        assert_eq!(reporting_state(P::Pb, d1), ReferenceState::Actual);
        let r = standard_to_reference(dec!(100));
        assert!(r > dec!(91.56) && r < dec!(91.57));
    }
}
