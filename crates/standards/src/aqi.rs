//! 环境空气质量指数 AQI — HJ 633-2012 (in force 2016-01-01 … 2026-02-28) and HJ 633-2026
//! (from 2026-03-01).
//!
//! * 空气质量分指数 IAQI: segment interpolation on Table 1 with **exact** decimal arithmetic and
//!   rounding **up** (HJ 633-2012 §6.2, HJ 633-2026 §4.2.6). In `f64`, CO 24h 2.2 mg/m³ gives
//!   55.000…01 and a naive `ceil` returns 56; here it is 55.
//! * HJ 633-2026 first rounds the concentration by GB/T 8170 (CO to 0.1 mg/m³, the others to
//!   1 µg/m³) — see [`round_concentration`].
//! * Values above the top breakpoint are capped at IAQI 500 ("爆表"); the raw concentration is
//!   kept in [`Iaqi::concentration`]. Neither version defines this; it is the peer-code practice
//!   recommended by the reference (standards.md §3.2).
//! * SO2 1h > 800 and O3 8h > 800: 2012 defers to another indicator (SO2 24h, O3 1h); 2026 fixes
//!   the IAQI at 200 and 300 respectively.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::date::Date;
use crate::rounding::{ceil_div, gbt8170};
use crate::source::{Confidence, Source};
use crate::versions::AIR_2026_IN_FORCE;

/// AQI technical regulation version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AqiStandard {
    /// HJ 633-2012 环境空气质量指数(AQI)技术规定(试行), superseded 2026-03-01.
    Hj633_2012,
    /// HJ 633-2026, in force from 2026-03-01.
    Hj633_2026,
}

impl AqiStandard {
    /// Both versions, oldest first.
    pub const ALL: [AqiStandard; 2] = [AqiStandard::Hj633_2012, AqiStandard::Hj633_2026];

    /// Code as used on the command line and in `standards.json`: `HJ633-2012`, `HJ633-2026`.
    pub const fn code(self) -> &'static str {
        match self {
            AqiStandard::Hj633_2012 => "HJ633-2012",
            AqiStandard::Hj633_2026 => "HJ633-2026",
        }
    }

    /// Parses a code (`HJ633-2012`, `HJ 633-2012`, case-insensitive).
    pub fn from_code(s: &str) -> Option<AqiStandard> {
        let norm: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        AqiStandard::ALL.into_iter().find(|v| v.code() == norm)
    }

    /// The version in force on `date` (HJ 633-2012 before 2026-03-01, HJ 633-2026 from then on).
    pub fn in_force_on(date: Date) -> AqiStandard {
        if date < AIR_2026_IN_FORCE {
            AqiStandard::Hj633_2012
        } else {
            AqiStandard::Hj633_2026
        }
    }

    /// Whether concentrations are rounded (GB/T 8170) before the IAQI step (HJ 633-2026 §4.2.6).
    pub const fn rounds_concentration_first(self) -> bool {
        matches!(self, AqiStandard::Hj633_2026)
    }

    /// Whether the standard defines the "exceeding pollutant" 超标污染物 (2012 only; 2026 deleted it).
    pub const fn has_exceeding_pollutant(self) -> bool {
        matches!(self, AqiStandard::Hj633_2012)
    }
}

/// The six basic pollutants of the AQI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pollutant {
    /// 二氧化硫 SO2
    So2,
    /// 二氧化氮 NO2
    No2,
    /// 颗粒物(粒径小于等于10μm) PM10
    Pm10,
    /// 一氧化碳 CO
    Co,
    /// 臭氧 O3
    O3,
    /// 颗粒物(粒径小于等于2.5μm) PM2.5
    Pm25,
}

impl Pollutant {
    /// All six.
    pub const ALL: [Pollutant; 6] = [
        Pollutant::So2,
        Pollutant::No2,
        Pollutant::Pm10,
        Pollutant::Co,
        Pollutant::O3,
        Pollutant::Pm25,
    ];
    /// Chemical/usual name.
    pub const fn name(self) -> &'static str {
        match self {
            Pollutant::So2 => "SO2",
            Pollutant::No2 => "NO2",
            Pollutant::Pm10 => "PM10",
            Pollutant::Co => "CO",
            Pollutant::O3 => "O3",
            Pollutant::Pm25 => "PM2.5",
        }
    }
}

/// Concentration unit of an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// µg/m³
    MicrogramPerM3,
    /// mg/m³ (CO only)
    MilligramPerM3,
}

/// An AQI indicator (pollutant × averaging period), named as in `standards.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(non_camel_case_types)]
pub enum Indicator {
    /// SO2 24-hour mean.
    So2_24h,
    /// SO2 1-hour mean.
    So2_1h,
    /// NO2 24-hour mean.
    No2_24h,
    /// NO2 1-hour mean.
    No2_1h,
    /// PM10 24-hour mean (2012 real-time: 24-h moving average).
    Pm10_24h,
    /// PM10 1-hour mean (2026 real-time: judged on the 24h table; 2012: concentration only).
    Pm10_1h,
    /// CO 24-hour mean (mg/m³).
    Co_24h,
    /// CO 1-hour mean (mg/m³).
    Co_1h,
    /// O3 1-hour mean (2012 daily report: daily max 1-h).
    O3_1h,
    /// O3 8-hour mean (daily report: daily max 8-h; 2012 real-time: 8-h moving average).
    O3_8h,
    /// PM2.5 24-hour mean (2012 real-time: 24-h moving average).
    Pm25_24h,
    /// PM2.5 1-hour mean (2026 real-time: judged on the 24h table; 2012: concentration only).
    Pm25_1h,
}

impl Indicator {
    /// All twelve, in the order of the command-line contract.
    pub const ALL: [Indicator; 12] = [
        Indicator::So2_24h,
        Indicator::So2_1h,
        Indicator::No2_24h,
        Indicator::No2_1h,
        Indicator::Pm10_24h,
        Indicator::Pm10_1h,
        Indicator::Co_24h,
        Indicator::Co_1h,
        Indicator::O3_1h,
        Indicator::O3_8h,
        Indicator::Pm25_24h,
        Indicator::Pm25_1h,
    ];

    /// Name as in `standards.json` and the CLI (`PM25_24H`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Indicator::So2_24h => "SO2_24H",
            Indicator::So2_1h => "SO2_1H",
            Indicator::No2_24h => "NO2_24H",
            Indicator::No2_1h => "NO2_1H",
            Indicator::Pm10_24h => "PM10_24H",
            Indicator::Pm10_1h => "PM10_1H",
            Indicator::Co_24h => "CO_24H",
            Indicator::Co_1h => "CO_1H",
            Indicator::O3_1h => "O3_1H",
            Indicator::O3_8h => "O3_8H",
            Indicator::Pm25_24h => "PM25_24H",
            Indicator::Pm25_1h => "PM25_1H",
        }
    }

    /// Parses a name (`PM25_24H`, …).
    pub fn from_name(s: &str) -> Option<Indicator> {
        Indicator::ALL.into_iter().find(|i| i.name() == s)
    }

    /// The pollutant measured.
    pub const fn pollutant(self) -> Pollutant {
        match self {
            Indicator::So2_24h | Indicator::So2_1h => Pollutant::So2,
            Indicator::No2_24h | Indicator::No2_1h => Pollutant::No2,
            Indicator::Pm10_24h | Indicator::Pm10_1h => Pollutant::Pm10,
            Indicator::Co_24h | Indicator::Co_1h => Pollutant::Co,
            Indicator::O3_1h | Indicator::O3_8h => Pollutant::O3,
            Indicator::Pm25_24h | Indicator::Pm25_1h => Pollutant::Pm25,
        }
    }

    /// Unit of the concentration (mg/m³ for CO, µg/m³ otherwise).
    pub const fn unit(self) -> Unit {
        match self.pollutant() {
            Pollutant::Co => Unit::MilligramPerM3,
            _ => Unit::MicrogramPerM3,
        }
    }

    /// The Table 1 column this indicator is judged on under `std`; `None` when it carries no
    /// IAQI (HJ 633-2012 real-time PM10/PM2.5 1-h values are concentration-only).
    pub const fn table(self, std: AqiStandard) -> Option<Table> {
        Some(match self {
            Indicator::So2_24h => Table::So2_24h,
            Indicator::So2_1h => Table::So2_1h,
            Indicator::No2_24h => Table::No2_24h,
            Indicator::No2_1h => Table::No2_1h,
            Indicator::Pm10_24h => Table::Pm10_24h,
            Indicator::Co_24h => Table::Co_24h,
            Indicator::Co_1h => Table::Co_1h,
            Indicator::O3_1h => Table::O3_1h,
            Indicator::O3_8h => Table::O3_8h,
            Indicator::Pm25_24h => Table::Pm25_24h,
            // HJ 633-2026 §4.2.3: PM 1-h values use the daily-mean breakpoints.
            Indicator::Pm10_1h => match std {
                AqiStandard::Hj633_2012 => return None,
                AqiStandard::Hj633_2026 => Table::Pm10_24h,
            },
            Indicator::Pm25_1h => match std {
                AqiStandard::Hj633_2012 => return None,
                AqiStandard::Hj633_2026 => Table::Pm25_24h,
            },
        })
    }

    /// Decimal places of the HJ 633-2026 concentration rounding (CO 1, others 0).
    pub const fn rounding_dp(self) -> u32 {
        match self.pollutant() {
            Pollutant::Co => 1,
            _ => 0,
        }
    }
}

/// The ten columns of HJ 633 Table 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(non_camel_case_types)]
pub enum Table {
    /// SO2 24-h mean.
    So2_24h,
    /// SO2 1-h mean (stops at IAQI 200).
    So2_1h,
    /// NO2 24-h mean.
    No2_24h,
    /// NO2 1-h mean.
    No2_1h,
    /// PM10 24-h mean (IAQI-100 breakpoint 150 in 2012, 120 in 2026).
    Pm10_24h,
    /// CO 24-h mean, mg/m³.
    Co_24h,
    /// CO 1-h mean, mg/m³.
    Co_1h,
    /// O3 1-h mean.
    O3_1h,
    /// O3 8-h mean (stops at IAQI 300).
    O3_8h,
    /// PM2.5 24-h mean (IAQI-100 breakpoint 75 in 2012, 60 in 2026).
    Pm25_24h,
}

impl Table {
    /// All ten columns.
    pub const ALL: [Table; 10] = [
        Table::So2_24h,
        Table::So2_1h,
        Table::No2_24h,
        Table::No2_1h,
        Table::Pm10_24h,
        Table::Co_24h,
        Table::Co_1h,
        Table::O3_1h,
        Table::O3_8h,
        Table::Pm25_24h,
    ];
}

/// 空气质量分指数 IAQI levels of HJ 633 Table 1, aligned with every breakpoint column.
pub const IAQI_LEVELS: [u16; 8] = [0, 50, 100, 150, 200, 300, 400, 500];
/// Highest IAQI/AQI value.
pub const IAQI_MAX: u16 = 500;

/// What happens above the last breakpoint of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AboveTop {
    /// Not defined by the standard; capped at 500 (peer-code practice, standards.md §3.2).
    CapAt500,
    /// HJ 633-2012 Table 1 notes (2)/(3): no IAQI from this column; use the named indicator's.
    DeferTo(Indicator),
    /// HJ 633-2026 Table 1 notes: IAQI fixed at this value.
    Fixed(u16),
}

/// One column of HJ 633 Table 1: concentration breakpoints aligned with [`IAQI_LEVELS`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakpointTable {
    /// Which column.
    pub table: Table,
    /// Unit of the breakpoints.
    pub unit: Unit,
    /// Breakpoints `BP`, index-aligned with [`IAQI_LEVELS`] (shorter for SO2 1h and O3 8h).
    pub values: &'static [Decimal],
    /// Rule above the last breakpoint.
    pub above_top: AboveTop,
    /// Citation.
    pub source: Source,
}

const SRC_2012: Source = Source::primary("HJ 633-2012", "Table 1");
const SRC_2026: Source = Source::primary("HJ 633-2026", "Table 1");

const SO2_24H: [Decimal; 8] = [
    dec!(0),
    dec!(50),
    dec!(150),
    dec!(475),
    dec!(800),
    dec!(1600),
    dec!(2100),
    dec!(2620),
];
const SO2_1H: [Decimal; 5] = [dec!(0), dec!(150), dec!(500), dec!(650), dec!(800)];
const NO2_24H: [Decimal; 8] = [
    dec!(0),
    dec!(40),
    dec!(80),
    dec!(180),
    dec!(280),
    dec!(565),
    dec!(750),
    dec!(940),
];
const NO2_1H: [Decimal; 8] = [
    dec!(0),
    dec!(100),
    dec!(200),
    dec!(700),
    dec!(1200),
    dec!(2340),
    dec!(3090),
    dec!(3840),
];
const PM10_24H_2012: [Decimal; 8] = [
    dec!(0),
    dec!(50),
    dec!(150),
    dec!(250),
    dec!(350),
    dec!(420),
    dec!(500),
    dec!(600),
];
const PM10_24H_2026: [Decimal; 8] = [
    dec!(0),
    dec!(50),
    dec!(120),
    dec!(250),
    dec!(350),
    dec!(420),
    dec!(500),
    dec!(600),
];
const CO_24H: [Decimal; 8] = [
    dec!(0),
    dec!(2),
    dec!(4),
    dec!(14),
    dec!(24),
    dec!(36),
    dec!(48),
    dec!(60),
];
const CO_1H: [Decimal; 8] = [
    dec!(0),
    dec!(5),
    dec!(10),
    dec!(35),
    dec!(60),
    dec!(90),
    dec!(120),
    dec!(150),
];
const O3_1H: [Decimal; 8] = [
    dec!(0),
    dec!(160),
    dec!(200),
    dec!(300),
    dec!(400),
    dec!(800),
    dec!(1000),
    dec!(1200),
];
const O3_8H: [Decimal; 6] = [
    dec!(0),
    dec!(100),
    dec!(160),
    dec!(215),
    dec!(265),
    dec!(800),
];
const PM25_24H_2012: [Decimal; 8] = [
    dec!(0),
    dec!(35),
    dec!(75),
    dec!(115),
    dec!(150),
    dec!(250),
    dec!(350),
    dec!(500),
];
const PM25_24H_2026: [Decimal; 8] = [
    dec!(0),
    dec!(35),
    dec!(60),
    dec!(115),
    dec!(150),
    dec!(250),
    dec!(350),
    dec!(500),
];

const fn bt(
    table: Table,
    unit: Unit,
    values: &'static [Decimal],
    above_top: AboveTop,
    source: Source,
) -> BreakpointTable {
    BreakpointTable {
        table,
        unit,
        values,
        above_top,
        source,
    }
}

use AboveTop::CapAt500 as CAP;
use Unit::{MicrogramPerM3 as UG, MilligramPerM3 as MG};

/// HJ 633-2012 Table 1.
pub static TABLE1_2012: [BreakpointTable; 10] = [
    bt(Table::So2_24h, UG, &SO2_24H, CAP, SRC_2012),
    bt(
        Table::So2_1h,
        UG,
        &SO2_1H,
        AboveTop::DeferTo(Indicator::So2_24h),
        SRC_2012,
    ),
    bt(Table::No2_24h, UG, &NO2_24H, CAP, SRC_2012),
    bt(Table::No2_1h, UG, &NO2_1H, CAP, SRC_2012),
    bt(Table::Pm10_24h, UG, &PM10_24H_2012, CAP, SRC_2012),
    bt(Table::Co_24h, MG, &CO_24H, CAP, SRC_2012),
    bt(Table::Co_1h, MG, &CO_1H, CAP, SRC_2012),
    bt(Table::O3_1h, UG, &O3_1H, CAP, SRC_2012),
    bt(
        Table::O3_8h,
        UG,
        &O3_8H,
        AboveTop::DeferTo(Indicator::O3_1h),
        SRC_2012,
    ),
    bt(Table::Pm25_24h, UG, &PM25_24H_2012, CAP, SRC_2012),
];

/// HJ 633-2026 Table 1 (differs from 2012 only in PM10/PM2.5 at IAQI 100 and the >800 rules).
pub static TABLE1_2026: [BreakpointTable; 10] = [
    bt(Table::So2_24h, UG, &SO2_24H, CAP, SRC_2026),
    bt(Table::So2_1h, UG, &SO2_1H, AboveTop::Fixed(200), SRC_2026),
    bt(Table::No2_24h, UG, &NO2_24H, CAP, SRC_2026),
    bt(Table::No2_1h, UG, &NO2_1H, CAP, SRC_2026),
    bt(Table::Pm10_24h, UG, &PM10_24H_2026, CAP, SRC_2026),
    bt(Table::Co_24h, MG, &CO_24H, CAP, SRC_2026),
    bt(Table::Co_1h, MG, &CO_1H, CAP, SRC_2026),
    bt(Table::O3_1h, UG, &O3_1H, CAP, SRC_2026),
    bt(Table::O3_8h, UG, &O3_8H, AboveTop::Fixed(300), SRC_2026),
    bt(Table::Pm25_24h, UG, &PM25_24H_2026, CAP, SRC_2026),
];

/// The breakpoint column `table` of `std`.
pub fn breakpoints(std: AqiStandard, table: Table) -> &'static BreakpointTable {
    let all = match std {
        AqiStandard::Hj633_2012 => &TABLE1_2012,
        AqiStandard::Hj633_2026 => &TABLE1_2026,
    };
    all.iter()
        .find(|t| t.table == table)
        .expect("every Table has a column")
}

/// GB/T 8170 rounding of a concentration as HJ 633-2026 §4.2.6 requires before the IAQI step
/// (CO to 0.1 mg/m³, the others to 1 µg/m³). Under HJ 633-2012 the value is used as is.
pub fn round_concentration(std: AqiStandard, indicator: Indicator, c: Decimal) -> Decimal {
    if std.rounds_concentration_first() {
        gbt8170(c, indicator.rounding_dp())
    } else {
        c
    }
}

/// Errors from the AQI functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AqiError {
    /// Concentrations cannot be negative.
    Negative(Indicator),
}

impl std::fmt::Display for AqiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AqiError::Negative(i) => write!(f, "{}: negative concentration", i.name()),
        }
    }
}
impl std::error::Error for AqiError {}

/// Exact (unrounded) IAQI of `c` on `table` as a fraction `num/den` plus the lower level,
/// or `None` above the last breakpoint. `c` must be ≥ 0.
fn segment(table: &BreakpointTable, c: Decimal) -> Option<(u16, Decimal, Decimal)> {
    let v = table.values;
    for i in 1..v.len() {
        if c <= v[i] {
            let (bp_lo, bp_hi) = (v[i - 1], v[i]);
            let (lo, hi) = (IAQI_LEVELS[i - 1], IAQI_LEVELS[i]);
            let num = Decimal::from(hi - lo) * (c - bp_lo);
            let den = bp_hi - bp_lo;
            return Some((lo, num, den));
        }
    }
    None
}

/// The unrounded IAQI (to 28 significant digits) of `c` on `table`, for analysis and property
/// tests; `None` above the last breakpoint. Reports must use [`iaqi`], which is exact.
pub fn iaqi_unrounded(table: &BreakpointTable, c: Decimal) -> Option<Decimal> {
    segment(table, c).map(|(lo, num, den)| Decimal::from(lo) + num / den)
}

/// How an IAQI value was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IaqiRule {
    /// Segment interpolation, rounded up.
    Interpolated,
    /// Above the last breakpoint: capped at 500 (raw value kept).
    CappedAboveTable,
    /// HJ 633-2026 fixed value above 800 µg/m³ (SO2 1h → 200, O3 8h → 300).
    FixedAbove800,
}

/// The outcome of one IAQI computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IaqiOutcome {
    /// An IAQI value.
    Value {
        /// 空气质量分指数, integer, 0–500.
        iaqi: u16,
        /// How it was obtained.
        rule: IaqiRule,
    },
    /// HJ 633-2012: not computed from this indicator; use the IAQI of `to` instead.
    Deferred {
        /// The indicator whose IAQI stands in.
        to: Indicator,
    },
    /// HJ 633-2012 real-time PM10/PM2.5 1-h: concentration only, no IAQI.
    ConcentrationOnly,
}

/// One 空气质量分指数 IAQI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Iaqi {
    /// The indicator.
    pub indicator: Indicator,
    /// The raw concentration as given.
    pub concentration: Decimal,
    /// The concentration used in the formula (after HJ 633-2026 rounding).
    pub used_concentration: Decimal,
    /// The result.
    pub outcome: IaqiOutcome,
}

impl Iaqi {
    /// The integer IAQI if one was computed.
    pub fn value(&self) -> Option<u16> {
        match self.outcome {
            IaqiOutcome::Value { iaqi, .. } => Some(iaqi),
            _ => None,
        }
    }
}

/// 空气质量分指数 IAQI of one indicator under `std` (HJ 633 §6 / §4.2): exact interpolation,
/// rounded up; HJ 633-2026 rounds the concentration first.
pub fn iaqi(std: AqiStandard, indicator: Indicator, c: Decimal) -> Result<Iaqi, AqiError> {
    if c.is_sign_negative() && !c.is_zero() {
        return Err(AqiError::Negative(indicator));
    }
    let used = round_concentration(std, indicator, c);
    let outcome = match indicator.table(std) {
        None => IaqiOutcome::ConcentrationOnly,
        Some(t) => iaqi_on_table(breakpoints(std, t), used),
    };
    Ok(Iaqi {
        indicator,
        concentration: c,
        used_concentration: used,
        outcome,
    })
}

/// IAQI of a concentration (already rounded as the standard requires) on one column.
pub fn iaqi_on_table(table: &BreakpointTable, c: Decimal) -> IaqiOutcome {
    match segment(table, c) {
        Some((lo, num, den)) => {
            let v = i128::from(lo) + ceil_div(num, den);
            IaqiOutcome::Value {
                iaqi: u16::try_from(v).expect("IAQI within 0..=500"),
                rule: IaqiRule::Interpolated,
            }
        }
        None => match table.above_top {
            AboveTop::CapAt500 => IaqiOutcome::Value {
                iaqi: IAQI_MAX,
                rule: IaqiRule::CappedAboveTable,
            },
            AboveTop::Fixed(v) => IaqiOutcome::Value {
                iaqi: v,
                rule: IaqiRule::FixedAbove800,
            },
            AboveTop::DeferTo(to) => IaqiOutcome::Deferred { to },
        },
    }
}

/// Daily (日报) or real-time hourly (实时报) report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportKind {
    /// Daily report.
    Daily,
    /// Real-time (hourly) report.
    Hourly,
}

impl ReportKind {
    /// `daily` / `hourly`.
    pub const fn code(self) -> &'static str {
        match self {
            ReportKind::Daily => "daily",
            ReportKind::Hourly => "hourly",
        }
    }
}

/// A report's indicator set: which indicators carry an IAQI, which are concentration-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportDefinition {
    /// Version.
    pub standard: AqiStandard,
    /// Daily or hourly.
    pub kind: ReportKind,
    /// Indicators that get an IAQI and enter the AQI.
    pub with_iaqi: &'static [Indicator],
    /// Indicators reported as concentration only.
    pub concentration_only: &'static [Indicator],
    /// Indicators accepted only as stand-ins for the >800 rules (2012: SO2 24h in the
    /// real-time report).
    pub auxiliary: &'static [Indicator],
    /// Citation.
    pub source: Source,
}

use Indicator as I;

/// HJ 633-2012 §5.1.2 daily report: 7 indicators (O3 both daily max 1-h and max 8-h).
pub const DAILY_2012: ReportDefinition = ReportDefinition {
    standard: AqiStandard::Hj633_2012,
    kind: ReportKind::Daily,
    with_iaqi: &[
        I::So2_24h,
        I::No2_24h,
        I::Pm10_24h,
        I::Co_24h,
        I::O3_1h,
        I::O3_8h,
        I::Pm25_24h,
    ],
    concentration_only: &[],
    auxiliary: &[],
    source: Source::primary("HJ 633-2012", "§5.1.2"),
};

/// HJ 633-2012 §5.1.3 real-time report: 7 with IAQI (PM and O3 8-h as moving averages on the
/// 24h/8h tables), PM10/PM2.5 1-h as concentrations only (9 in total).
pub const HOURLY_2012: ReportDefinition = ReportDefinition {
    standard: AqiStandard::Hj633_2012,
    kind: ReportKind::Hourly,
    with_iaqi: &[
        I::So2_1h,
        I::No2_1h,
        I::Pm10_24h,
        I::Co_1h,
        I::O3_1h,
        I::O3_8h,
        I::Pm25_24h,
    ],
    concentration_only: &[I::Pm10_1h, I::Pm25_1h],
    auxiliary: &[I::So2_24h],
    source: Source::primary("HJ 633-2012", "§5.1.3, Table 1 note (2)"),
};

/// HJ 633-2026 §4.2.2 daily report: 6 indicators (O3 1h dropped).
pub const DAILY_2026: ReportDefinition = ReportDefinition {
    standard: AqiStandard::Hj633_2026,
    kind: ReportKind::Daily,
    with_iaqi: &[
        I::So2_24h,
        I::No2_24h,
        I::Pm10_24h,
        I::Co_24h,
        I::O3_8h,
        I::Pm25_24h,
    ],
    concentration_only: &[],
    auxiliary: &[],
    source: Source::primary("HJ 633-2026", "§4.2.2"),
};

/// HJ 633-2026 §4.2.3 real-time report: 6 one-hour indicators, PM on the 24h tables.
pub const HOURLY_2026: ReportDefinition = ReportDefinition {
    standard: AqiStandard::Hj633_2026,
    kind: ReportKind::Hourly,
    with_iaqi: &[
        I::So2_1h,
        I::No2_1h,
        I::Pm10_1h,
        I::Co_1h,
        I::O3_1h,
        I::Pm25_1h,
    ],
    concentration_only: &[],
    auxiliary: &[],
    source: Source::primary("HJ 633-2026", "§4.2.3"),
};

/// The report definition of `std` and `kind`.
pub const fn report_definition(std: AqiStandard, kind: ReportKind) -> &'static ReportDefinition {
    match (std, kind) {
        (AqiStandard::Hj633_2012, ReportKind::Daily) => &DAILY_2012,
        (AqiStandard::Hj633_2012, ReportKind::Hourly) => &HOURLY_2012,
        (AqiStandard::Hj633_2026, ReportKind::Daily) => &DAILY_2026,
        (AqiStandard::Hj633_2026, ReportKind::Hourly) => &HOURLY_2026,
    }
}

/// 空气质量指数类别: level, category, colour and health advice (HJ 633 Table 2 / Annex A).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Category {
    /// Level 1–6.
    pub level: u8,
    /// 一级 … 六级.
    pub level_cn: &'static str,
    /// 优, 良, 轻度污染, 中度污染, 重度污染, 严重污染.
    pub name_cn: &'static str,
    /// Lowest AQI of the level (0 for level 1; HJ 633-2026 writes the range as 1–50).
    pub aqi_min: u16,
    /// Highest AQI of the level (500 for level 6).
    pub aqi_max: u16,
    /// 绿色 …
    pub color_cn: &'static str,
    /// `#00E400` …
    pub hex: &'static str,
    /// RGB.
    pub rgb: [u8; 3],
    /// CMYK (%).
    pub cmyk: [u8; 4],
    /// 对健康影响情况.
    pub health_effect_cn: &'static str,
    /// 建议采取的措施.
    pub advice_cn: &'static str,
}

/// Citation of the category/colour table.
pub const CATEGORY_SOURCE: Source =
    Source::primary("HJ 633-2012 / HJ 633-2026", "Table 2, Annex A");
/// Citation of the Chinese health texts. The reference (standards.md §3.3) only paraphrases
/// them; the strings below are the HJ 633-2012 Table 2 wording as known to the implementer and
/// are used for both versions. HJ 633-2026 reworded level ≥ 3 ("青少年/儿童", "心脑血管疾病");
/// its exact strings are **not verified** — replace when the text is at hand.
pub const HEALTH_TEXT_SOURCE: Source = Source {
    standard: "HJ 633-2012",
    clause: "Table 2 (columns 对健康影响情况, 建议采取的措施)",
    confidence: Confidence::Medium,
    note: "Chinese wording not in the reference; HJ 633-2026 wording unverified",
};

/// The six AQI categories, level 1 to 6.
pub const CATEGORIES: [Category; 6] = [
    Category {
        level: 1,
        level_cn: "一级",
        name_cn: "优",
        aqi_min: 0,
        aqi_max: 50,
        color_cn: "绿色",
        hex: "#00E400",
        rgb: [0, 228, 0],
        cmyk: [40, 0, 100, 0],
        health_effect_cn: "空气质量令人满意，基本无空气污染",
        advice_cn: "各类人群可正常活动",
    },
    Category {
        level: 2,
        level_cn: "二级",
        name_cn: "良",
        aqi_min: 51,
        aqi_max: 100,
        color_cn: "黄色",
        hex: "#FFFF00",
        rgb: [255, 255, 0],
        cmyk: [0, 0, 100, 0],
        health_effect_cn: "空气质量可接受，但某些污染物可能对极少数异常敏感人群健康有较弱影响",
        advice_cn: "极少数异常敏感人群应减少户外活动",
    },
    Category {
        level: 3,
        level_cn: "三级",
        name_cn: "轻度污染",
        aqi_min: 101,
        aqi_max: 150,
        color_cn: "橙色",
        hex: "#FF7E00",
        rgb: [255, 126, 0],
        cmyk: [0, 52, 100, 0],
        health_effect_cn: "易感人群症状有轻度加剧，健康人群出现刺激症状",
        advice_cn: "儿童、老年人及心脏病、呼吸系统疾病患者应减少长时间、高强度的户外锻炼",
    },
    Category {
        level: 4,
        level_cn: "四级",
        name_cn: "中度污染",
        aqi_min: 151,
        aqi_max: 200,
        color_cn: "红色",
        hex: "#FF0000",
        rgb: [255, 0, 0],
        cmyk: [0, 100, 100, 0],
        health_effect_cn: "进一步加剧易感人群症状，可能对健康人群心脏、呼吸系统有影响",
        advice_cn: "儿童、老年人及心脏病、呼吸系统疾病患者避免长时间、高强度的户外锻炼，一般人群适量减少户外运动",
    },
    Category {
        level: 5,
        level_cn: "五级",
        name_cn: "重度污染",
        aqi_min: 201,
        aqi_max: 300,
        color_cn: "紫色",
        hex: "#99004C",
        rgb: [153, 0, 76],
        cmyk: [10, 100, 40, 30],
        health_effect_cn: "心脏病和肺病患者症状显著加剧，运动耐受力降低，健康人群普遍出现症状",
        advice_cn: "儿童、老年人和心脏病、肺病患者应停留在室内，停止户外运动，一般人群减少户外运动",
    },
    Category {
        level: 6,
        level_cn: "六级",
        name_cn: "严重污染",
        aqi_min: 301,
        aqi_max: 500,
        color_cn: "褐红色",
        hex: "#7E0023",
        rgb: [126, 0, 35],
        cmyk: [30, 100, 100, 30],
        health_effect_cn: "健康人群运动耐受力降低，有明显强烈症状，提前出现某些疾病",
        advice_cn: "儿童、老年人和病人应当留在室内，避免体力消耗，一般人群应避免户外活动",
    },
];

/// The category of an AQI value (identical bands in both versions).
pub fn category(aqi: u16) -> &'static Category {
    CATEGORIES
        .iter()
        .find(|c| aqi <= c.aqi_max)
        .unwrap_or(&CATEGORIES[5])
}

/// HJ 633-2026 Table 2 (new): sensitive groups for a pollutant with IAQI > 100.
/// English paraphrase from the reference; the Chinese wording is not in the reference.
pub fn sensitive_groups_2026(p: Pollutant) -> &'static str {
    match p {
        Pollutant::So2 => "asthmatics, children/teenagers, the elderly",
        Pollutant::No2 => {
            "people with respiratory disease (e.g. asthma), children/teenagers, the elderly"
        }
        Pollutant::Co => "people with cardiovascular disease",
        Pollutant::O3 => {
            "respiratory patients (e.g. asthma), children/teenagers, people frequently outdoors, the elderly"
        }
        Pollutant::Pm10 | Pollutant::Pm25 => {
            "cardiovascular or respiratory patients, children/teenagers, people frequently outdoors, the elderly"
        }
    }
}

/// AQI threshold above which a primary pollutant is named (HJ 633-2012 §7, HJ 633-2026 §4.3).
pub const PRIMARY_POLLUTANT_ABOVE: u16 = 50;
/// IAQI above which a pollutant is an exceeding pollutant 超标污染物 (HJ 633-2012 only).
pub const EXCEEDING_ABOVE: u16 = 100;
/// HJ 633-2026 §5.3: with a pollutant missing, the AQI of the rest is published only if above this.
pub const NA_PUBLISH_ABOVE: u16 = 100;

/// One input reading for an AQI report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// A valid concentration (µg/m³, CO mg/m³).
    Value(Decimal),
    /// Missing or invalid (缺测/无效) — triggers the HJ 633-2026 NA rule.
    Missing,
    /// Not in the monitoring plan (HJ 633-2026 §5.3, shown as `/`): does not block publication.
    /// The 3-year "never primary on a polluted day" condition is the caller's to check.
    NotMonitored,
}

/// The result of an AQI report for one hour or day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AqiReport {
    /// Version applied.
    pub standard: AqiStandard,
    /// Daily or hourly.
    pub kind: ReportKind,
    /// 空气质量指数 AQI, `None` where the standard says NA.
    pub aqi: Option<u16>,
    /// Max IAQI over the available indicators, even when `aqi` is NA (`None` if nothing).
    pub aqi_of_available: Option<u16>,
    /// Level/category/colour/advice of `aqi` (None when NA).
    pub category: Option<&'static Category>,
    /// 首要污染物: indicators with the max IAQI when AQI > 50 (ties all listed).
    pub primary: Vec<Indicator>,
    /// IAQI per indicator that entered the AQI.
    pub iaqi: BTreeMap<Indicator, Iaqi>,
    /// 超标污染物 (HJ 633-2012 only: IAQI > 100); `None` under HJ 633-2026.
    pub exceeding: Option<Vec<Indicator>>,
    /// Indicators of the report set that were missing/invalid (or needed as stand-ins).
    pub missing: Vec<Indicator>,
    /// Indicators flagged as not monitored.
    pub not_monitored: Vec<Indicator>,
    /// Concentration-only indicators (2012 real-time PM 1-h) with their values.
    pub concentration_only: BTreeMap<Indicator, Decimal>,
    /// HJ 633-2012 >800 deferrals applied: (from, to).
    pub deferred: Vec<(Indicator, Indicator)>,
    /// Indicators given that are not part of this report (ignored).
    pub not_in_report: Vec<Indicator>,
}

/// Computes an AQI report (HJ 633 §6–7, and HJ 633-2026 §5.3 completeness rules).
///
/// Under HJ 633-2012 missing indicators are simply NA and the AQI is computed from the rest.
/// Under HJ 633-2026 a missing pollutant makes the AQI NA unless the AQI of the rest is > 100.
pub fn evaluate(
    std: AqiStandard,
    kind: ReportKind,
    readings: &BTreeMap<Indicator, Reading>,
) -> Result<AqiReport, AqiError> {
    let def = report_definition(std, kind);
    let mut r = AqiReport {
        standard: std,
        kind,
        aqi: None,
        aqi_of_available: None,
        category: None,
        primary: Vec::new(),
        iaqi: BTreeMap::new(),
        exceeding: None,
        missing: Vec::new(),
        not_monitored: Vec::new(),
        concentration_only: BTreeMap::new(),
        deferred: Vec::new(),
        not_in_report: Vec::new(),
    };
    for (&ind, reading) in readings {
        let in_set = def.with_iaqi.contains(&ind)
            || def.concentration_only.contains(&ind)
            || def.auxiliary.contains(&ind);
        if !in_set {
            r.not_in_report.push(ind);
        } else if def.concentration_only.contains(&ind) {
            if let Reading::Value(v) = reading {
                if v.is_sign_negative() && !v.is_zero() {
                    return Err(AqiError::Negative(ind));
                }
                r.concentration_only.insert(ind, *v);
            }
        }
    }
    for &ind in def.with_iaqi {
        match readings.get(&ind) {
            None | Some(Reading::Missing) => r.missing.push(ind),
            Some(Reading::NotMonitored) => r.not_monitored.push(ind),
            Some(Reading::Value(c)) => {
                let mut x = iaqi(std, ind, *c)?;
                if let IaqiOutcome::Deferred { to } = x.outcome {
                    r.deferred.push((ind, to));
                    if def.with_iaqi.contains(&to) {
                        // The stand-in is part of the report anyway (2012 daily O3 1h).
                        continue;
                    }
                    match readings.get(&to) {
                        Some(Reading::Value(c2)) => x = iaqi(std, to, *c2)?,
                        _ => {
                            r.missing.push(to);
                            continue;
                        }
                    }
                }
                r.iaqi.insert(x.indicator, x);
            }
        }
    }
    let max = r.iaqi.values().filter_map(Iaqi::value).max();
    r.aqi_of_available = max;
    let publish = match (std, max) {
        (_, None) => false,
        (AqiStandard::Hj633_2012, Some(_)) => true,
        (AqiStandard::Hj633_2026, Some(m)) => r.missing.is_empty() || m > NA_PUBLISH_ABOVE,
    };
    if publish {
        let aqi = max.expect("publish implies a value");
        r.aqi = Some(aqi);
        r.category = Some(category(aqi));
        if aqi > PRIMARY_POLLUTANT_ABOVE {
            r.primary = r
                .iaqi
                .values()
                .filter(|x| x.value() == Some(aqi))
                .map(|x| x.indicator)
                .collect();
        }
    }
    if std.has_exceeding_pollutant() {
        r.exceeding = Some(
            r.iaqi
                .values()
                .filter(|x| x.value().is_some_and(|v| v > EXCEEDING_ABOVE))
                .map(|x| x.indicator)
                .collect(),
        );
    }
    Ok(r)
}

/// Convenience: AQI report of plain values (no missing/not-monitored markers).
pub fn evaluate_values(
    std: AqiStandard,
    kind: ReportKind,
    values: &[(Indicator, Decimal)],
) -> Result<AqiReport, AqiError> {
    let m = values
        .iter()
        .map(|&(i, v)| (i, Reading::Value(v)))
        .collect();
    evaluate(std, kind, &m)
}
