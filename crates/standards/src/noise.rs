//! Noise: 声环境质量标准 GB 3096-2008, 工业企业厂界环境噪声排放标准 GB 12348-2008 (and
//! GB 22337-2008, same table), 环境噪声监测技术规范 城市声环境常规监测 HJ 640-2012 grades.
//! Levels are dB(A); compared exactly on the decimal value.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::source::{Confidence, Source};

/// 昼间 day or 夜间 night.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// 昼间 (default 06:00–22:00).
    Day,
    /// 夜间 (default 22:00–06:00).
    Night,
}

impl Period {
    /// `day` / `night`.
    pub const fn code(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Night => "night",
        }
    }
}

/// Day/night boundaries; a county-level or higher government may redefine them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DayNight {
    /// Minute of the day where day begins (default 06:00 = 360).
    pub day_start_min: u16,
    /// Minute of the day where night begins (default 22:00 = 1320).
    pub night_start_min: u16,
}

impl Default for DayNight {
    /// 06:00–22:00 day, 22:00–06:00 night (噪声污染防治法, GB 3096 §3.3).
    fn default() -> Self {
        DayNight {
            day_start_min: 6 * 60,
            night_start_min: 22 * 60,
        }
    }
}

impl DayNight {
    /// Period of a clock time (hour 0–23, minute 0–59).
    pub fn period_at(&self, hour: u8, minute: u8) -> Period {
        let t = u16::from(hour) * 60 + u16::from(minute);
        let day = if self.day_start_min <= self.night_start_min {
            t >= self.day_start_min && t < self.night_start_min
        } else {
            t >= self.day_start_min || t < self.night_start_min
        };
        if day {
            Period::Day
        } else {
            Period::Night
        }
    }
}

/// 声环境功能区 of GB 3096-2008.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Zone {
    /// 0类 rehabilitation/sanatorium areas.
    Z0,
    /// 1类 residential, medical, education, research, administration.
    Z1,
    /// 2类 commerce/markets or mixed areas.
    Z2,
    /// 3类 industry, warehousing, logistics.
    Z3,
    /// 4a类 beside roads, surface urban rail, inland waterways.
    Z4a,
    /// 4b类 beside railway trunk lines (new lines with EIA approved from 2011-01-01).
    Z4b,
}

impl Zone {
    /// All zones.
    pub const ALL: [Zone; 6] = [Zone::Z0, Zone::Z1, Zone::Z2, Zone::Z3, Zone::Z4a, Zone::Z4b];
    /// `0`, `1`, `2`, `3`, `4a`, `4b`.
    pub const fn code(self) -> &'static str {
        match self {
            Zone::Z0 => "0",
            Zone::Z1 => "1",
            Zone::Z2 => "2",
            Zone::Z3 => "3",
            Zone::Z4a => "4a",
            Zone::Z4b => "4b",
        }
    }
    /// Parses a code (`4A` accepted).
    pub fn from_code(s: &str) -> Option<Zone> {
        Zone::ALL
            .into_iter()
            .find(|z| z.code().eq_ignore_ascii_case(s.trim()))
    }
}

/// Citation of GB 3096-2008 Table 1 and §5.4.
pub const GB3096_SOURCE: Source = Source::primary("GB 3096-2008", "Table 1, §5.4");

/// GB 3096-2008 Table 1: (zone, day, night) LAeq limits in dB(A).
pub const GB3096_LIMITS: [(Zone, u8, u8); 6] = [
    (Zone::Z0, 50, 40),
    (Zone::Z1, 55, 45),
    (Zone::Z2, 60, 50),
    (Zone::Z3, 65, 55),
    (Zone::Z4a, 70, 55),
    (Zone::Z4b, 70, 60),
];

/// GB 3096-2008 §5.3: background noise (no train passing) beside existing railway trunk lines
/// through built-up areas (and their rebuilds/extensions): day, night.
pub const GB3096_EXISTING_RAILWAY: (u8, u8) = (70, 55);

/// GB 3096-2008 §5.4: at night, Lmax of sudden noise may exceed the limit by at most 15 dB(A).
pub const GB3096_NIGHT_LMAX_MARGIN: u8 = 15;

/// GB 3096-2008 limit of `zone` in `period`, dB(A).
pub fn gb3096_limit(zone: Zone, period: Period) -> u8 {
    let &(_, d, n) = GB3096_LIMITS
        .iter()
        .find(|(z, _, _)| *z == zone)
        .expect("every zone has a row");
    match period {
        Period::Day => d,
        Period::Night => n,
    }
}

/// A noise verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoiseVerdict {
    /// Limit applied to LAeq, dB(A).
    pub limit: u8,
    /// LAeq ≤ limit.
    pub compliant: bool,
    /// 超标值 LAeq − limit when above the limit, else 0.
    pub exceedance: Decimal,
    /// Limit for Lmax (night only), dB(A).
    pub lmax_limit: Option<u8>,
    /// Lmax ≤ lmax_limit (night, when Lmax was given).
    pub lmax_compliant: Option<bool>,
    /// Lmax − lmax_limit when above it, else 0 (night, when Lmax was given).
    pub lmax_exceedance: Option<Decimal>,
}

fn over(v: Decimal, limit: u8) -> Decimal {
    (v - Decimal::from(limit)).max(Decimal::ZERO)
}

fn verdict(limit: u8, leq: Decimal, lmax_limit: Option<u8>, lmax: Option<Decimal>) -> NoiseVerdict {
    let (lmax_compliant, lmax_exceedance) = match (lmax_limit, lmax) {
        (Some(l), Some(m)) => (Some(m <= Decimal::from(l)), Some(over(m, l))),
        _ => (None, None),
    };
    NoiseVerdict {
        limit,
        compliant: leq <= Decimal::from(limit),
        exceedance: over(leq, limit),
        lmax_limit,
        lmax_compliant,
        lmax_exceedance,
    }
}

/// Verdict for an acoustic-environment measurement (GB 3096-2008 Table 1; at night also the
/// §5.4 Lmax rule, limit + 15 dB(A), when `lmax` is given). `compliant` covers LAeq only.
pub fn gb3096_verdict(
    zone: Zone,
    period: Period,
    leq: Decimal,
    lmax: Option<Decimal>,
) -> NoiseVerdict {
    let limit = gb3096_limit(zone, period);
    let lmax_limit = (period == Period::Night).then_some(limit + GB3096_NIGHT_LMAX_MARGIN);
    verdict(limit, leq, lmax_limit, lmax)
}

/// Zone outside an industrial enterprise boundary (GB 12348-2008 Table 1; also GB 22337-2008).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BoundaryZone {
    /// 0类
    Z0,
    /// 1类
    Z1,
    /// 2类
    Z2,
    /// 3类
    Z3,
    /// 4类
    Z4,
}

/// Citation of GB 12348-2008.
pub const GB12348_SOURCE: Source = Source::primary("GB 12348-2008", "Table 1, §4.1.2–4.1.4, §5.4");

/// GB 12348-2008 Table 1: (zone, day, night) dB(A).
pub const GB12348_LIMITS: [(BoundaryZone, u8, u8); 5] = [
    (BoundaryZone::Z0, 50, 40),
    (BoundaryZone::Z1, 55, 45),
    (BoundaryZone::Z2, 60, 50),
    (BoundaryZone::Z3, 65, 55),
    (BoundaryZone::Z4, 70, 55),
];

/// Night noise character for the GB 12348 Lmax rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NightNoise {
    /// 频发噪声: Lmax ≤ limit + 10 dB(A).
    Frequent,
    /// 偶发噪声: Lmax ≤ limit + 15 dB(A).
    Occasional,
}

impl NightNoise {
    /// Allowed Lmax margin over the night limit.
    pub const fn margin(self) -> u8 {
        match self {
            NightNoise::Frequent => 10,
            NightNoise::Occasional => 15,
        }
    }
}

/// GB 12348 §4.1.4: boundary < 1 m from a sensitive building → measure indoors, limit − 10 dB.
pub const GB12348_INDOOR_REDUCTION: u8 = 10;

/// GB 12348-2008 limit, dB(A); `indoor` applies the −10 dB rule.
pub fn gb12348_limit(zone: BoundaryZone, period: Period, indoor: bool) -> u8 {
    let &(_, d, n) = GB12348_LIMITS
        .iter()
        .find(|(z, _, _)| *z == zone)
        .expect("every zone has a row");
    let l = match period {
        Period::Day => d,
        Period::Night => n,
    };
    if indoor {
        l - GB12348_INDOOR_REDUCTION
    } else {
        l
    }
}

/// Boundary-noise verdict (GB 12348-2008): LAeq against Table 1; at night Lmax against the
/// limit + 10 (frequent) or + 15 (occasional) dB(A).
pub fn gb12348_verdict(
    zone: BoundaryZone,
    period: Period,
    indoor: bool,
    leq: Decimal,
    night: Option<(NightNoise, Decimal)>,
) -> NoiseVerdict {
    let limit = gb12348_limit(zone, period, indoor);
    match (period, night) {
        (Period::Night, Some((kind, lmax))) => {
            verdict(limit, leq, Some(limit + kind.margin()), Some(lmax))
        }
        _ => verdict(limit, leq, None, None),
    }
}

/// Room type for structure-borne noise (GB 12348-2008 Table 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoomType {
    /// A类房间: for sleeping.
    A,
    /// B类房间: other rooms.
    B,
}

/// GB 12348-2008 Table 2 structure-borne indoor limits (day, night) dB(A).
pub fn gb12348_structure_borne(zone: BoundaryZone, room: RoomType) -> (u8, u8) {
    match (zone, room) {
        (BoundaryZone::Z0, _) => (40, 30),
        (BoundaryZone::Z1, RoomType::A) => (40, 30),
        (BoundaryZone::Z1, RoomType::B) => (45, 35),
        (_, RoomType::A) => (45, 35),
        (_, RoomType::B) => (50, 40),
    }
}

/// Background correction of GB 12348-2008 §5.4 (Table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackgroundCorrection {
    /// Corrected level.
    Corrected(Decimal),
    /// Difference < 3 dB: reduce the background and measure again.
    Remeasure,
}

/// Corrects a measured level for background noise: the difference is rounded to an integer
/// (GB/T 8170); > 10 no correction, 6–10 −1, 4–5 −2, 3 −3, < 3 re-measure.
pub fn background_correction(measured: Decimal, background: Decimal) -> BackgroundCorrection {
    let diff = crate::rounding::gbt8170(measured - background, 0);
    let corr = if diff > dec!(10) {
        dec!(0)
    } else if diff >= dec!(6) {
        dec!(1)
    } else if diff >= dec!(4) {
        dec!(2)
    } else if diff >= dec!(3) {
        dec!(3)
    } else {
        return BackgroundCorrection::Remeasure;
    };
    BackgroundCorrection::Corrected(measured - corr)
}

/// What an HJ 640 grade is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hj640Indicator {
    /// 区域声环境 regional noise.
    Regional,
    /// 道路交通声环境 road-traffic noise.
    Traffic,
}

/// Citation of the HJ 640 grades (medium confidence: one peer source plus memory).
pub const HJ640_SOURCE: Source = Source {
    standard: "HJ 640-2012",
    clause: "grading tables (regional, traffic; day/night)",
    confidence: Confidence::Medium,
    note: "one peer source plus memory; verify against the text",
};

/// Upper bounds of grades 1–4 (grade 5 is above the last), dB(A).
pub const fn hj640_bounds(ind: Hj640Indicator, period: Period) -> [u8; 4] {
    match (ind, period) {
        (Hj640Indicator::Regional, Period::Day) => [50, 55, 60, 65],
        (Hj640Indicator::Regional, Period::Night) => [40, 45, 50, 55],
        (Hj640Indicator::Traffic, Period::Day) => [68, 70, 72, 74],
        (Hj640Indicator::Traffic, Period::Night) => [58, 60, 62, 64],
    }
}

/// HJ 640 grade names: 一级 好, 二级 较好, 三级 一般, 四级 较差, 五级 差.
pub const HJ640_GRADE_NAMES: [&str; 5] = ["好", "较好", "一般", "较差", "差"];

/// HJ 640-2012 grade 1–5 of a (city-wide mean) level.
pub fn hj640_grade(ind: Hj640Indicator, period: Period, leq: Decimal) -> u8 {
    let b = hj640_bounds(ind, period);
    b.iter()
        .position(|&x| leq <= Decimal::from(x))
        .map_or(5, |i| i as u8 + 1)
}
