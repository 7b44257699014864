//! Discharge standards as data. An outlet names a standard and grade; the limits come from a
//! [`LimitLibrary`] that holds the national tables ([`LimitLibrary::national`]) plus any local
//! (provincial) tables the caller loads as values — [`LimitTable`] is serde-(de)serialisable,
//! so a stricter local standard is added as data, without code. This crate does no file I/O.
//!
//! National tables: GB 18483-2001 (restaurant fume), GB 13271-2014 (boilers), GB 8978-1996
//! (integrated wastewater, Table 4 "other dischargers" and the partial Table 2), GB 18918-2002
//! (municipal WWTP, Table 1 and Table 2).

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};

use crate::date::Date;

/// A condition under which a limit row applies (e.g. GB 18918 NH3-N by water temperature).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// Water temperature strictly above `celsius`.
    WaterTempAbove {
        /// Threshold, °C.
        celsius: Decimal,
    },
    /// Water temperature at or below `celsius`.
    WaterTempAtMost {
        /// Threshold, °C.
        celsius: Decimal,
    },
    /// Plant built (or EIA approved) before `date`.
    BuiltBefore {
        /// Cut-off date.
        date: Date,
    },
    /// Plant built (or EIA approved) on or after `date`.
    BuiltFrom {
        /// Cut-off date.
        date: Date,
    },
}

/// Facts about the outlet needed to pick conditional rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context {
    /// Water temperature, °C.
    pub water_temp_c: Option<Decimal>,
    /// Construction (or EIA approval) date.
    pub built_on: Option<Date>,
}

impl Condition {
    /// Whether the condition holds; `None` when the context lacks the fact.
    pub fn holds(&self, ctx: &Context) -> Option<bool> {
        Some(match self {
            Condition::WaterTempAbove { celsius } => ctx.water_temp_c? > *celsius,
            Condition::WaterTempAtMost { celsius } => ctx.water_temp_c? <= *celsius,
            Condition::BuiltBefore { date } => ctx.built_on? < *date,
            Condition::BuiltFrom { date } => ctx.built_on? >= *date,
        })
    }
}

/// One pollutant limit of a discharge standard. Inclusive: compliant if ≤ `max`, ≥ `min`,
/// inside `range`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollutantLimit {
    /// Pollutant key (`COD`, `NH3N`, `NOx`, `fume`, …).
    pub pollutant: String,
    /// Unit (`mg/L`, `mg/m3`, …).
    pub unit: String,
    /// Maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Decimal>,
    /// Minimum (e.g. a removal efficiency in %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Decimal>,
    /// Range `[lo, hi]` (pH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[Decimal; 2]>,
    /// Reference O2 (%) the measured concentration must be converted to before comparing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_o2_pct: Option<Decimal>,
    /// Conditions under which this row applies (all must hold).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Note (footnotes, provisos).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl PollutantLimit {
    /// Whether `value` (already converted to the reference O2 where required) complies.
    pub fn complies(&self, value: Decimal) -> bool {
        self.max.is_none_or(|m| value <= m)
            && self.min.is_none_or(|m| value >= m)
            && self.range.is_none_or(|[lo, hi]| lo <= value && value <= hi)
    }

    /// Exceedance multiple `(C − max)/max` when above a maximum.
    pub fn exceedance_multiple(&self, value: Decimal) -> Option<Decimal> {
        let m = self.max?;
        (value > m && m > Decimal::ZERO).then(|| (value - m) / m)
    }

    /// Whether all conditions hold (`None` if the context cannot tell).
    pub fn applies(&self, ctx: &Context) -> Option<bool> {
        let mut all = true;
        for c in &self.conditions {
            all &= c.holds(ctx)?;
        }
        Some(all)
    }

    /// Whether `self` is at least as strict as `other` (lower max, higher min, narrower range).
    fn at_least_as_strict_as(&self, other: &PollutantLimit) -> bool {
        let ge = |a: Option<Decimal>, b: Option<Decimal>, lower: bool| match (a, b) {
            (Some(a), Some(b)) => {
                if lower {
                    a <= b
                } else {
                    a >= b
                }
            }
            (Some(_), None) | (None, None) => true,
            (None, Some(_)) => false,
        };
        ge(self.max, other.max, true)
            && ge(self.min, other.min, false)
            && ge(self.range.map(|r| r[1]), other.range.map(|r| r[1]), true)
            && ge(self.range.map(|r| r[0]), other.range.map(|r| r[0]), false)
    }
}

/// Identifies a table: standard and grade.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableKey {
    /// Standard id (`GB18483-2001`, `DB50/859-2018`, …).
    pub standard: String,
    /// Grade/column (`1A`, `new/gas`, …); `None` for standards without grades, or in
    /// `supersedes` for "every grade".
    #[serde(default)]
    pub grade: Option<String>,
}

impl TableKey {
    /// Builds a key.
    pub fn new(standard: &str, grade: Option<&str>) -> TableKey {
        TableKey {
            standard: standard.to_string(),
            grade: grade.map(str::to_string),
        }
    }
}

/// A discharge limit table (one grade of one standard), national or local.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitTable {
    /// Standard and grade.
    #[serde(flatten)]
    pub key: TableKey,
    /// Citation: standard number, table/clause.
    pub source: String,
    /// Region where a local table applies (`None`: everywhere the library is used).
    #[serde(default)]
    pub region: Option<String>,
    /// National (or other) tables this table tightens: for an outlet under one of these, the
    /// stricter of both limits applies. A `grade` of `None` here matches every grade.
    #[serde(default)]
    pub supersedes: Vec<TableKey>,
    /// Limits.
    pub limits: Vec<PollutantLimit>,
}

/// What an outlet is regulated by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outlet {
    /// Standard and grade named in the permit.
    pub table: TableKey,
    /// Region of the outlet (to pick local tables).
    pub region: Option<String>,
    /// Facts for conditional rows.
    pub context: Context,
}

/// The limit that applies to a pollutant at an outlet, and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveLimit<'a> {
    /// The limit row.
    pub limit: &'a PollutantLimit,
    /// The table it comes from.
    pub table: &'a LimitTable,
}

/// A set of limit tables: the national ones and any local ones added as data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitLibrary {
    /// All tables.
    pub tables: Vec<LimitTable>,
}

impl LimitLibrary {
    /// The national tables of this crate.
    pub fn national() -> LimitLibrary {
        let mut t = Vec::new();
        t.push(gb18483());
        t.extend(gb13271());
        t.extend(gb8978());
        t.extend(gb18918());
        LimitLibrary { tables: t }
    }

    /// Adds (e.g. a provincial) table.
    pub fn add(&mut self, table: LimitTable) {
        self.tables.push(table);
    }

    /// The table with exactly this key.
    pub fn table(&self, key: &TableKey) -> Option<&LimitTable> {
        self.tables.iter().find(|t| &t.key == key)
    }

    /// The limit of `pollutant` at `outlet`: the row of the named table, tightened by every
    /// table that supersedes it (same region or region-free) — the strictest applicable row
    /// wins. Rows whose conditions do not hold (or cannot be decided) are skipped.
    pub fn effective_limit(&self, outlet: &Outlet, pollutant: &str) -> Option<EffectiveLimit<'_>> {
        let supersedes = |t: &LimitTable| {
            t.supersedes.iter().any(|k| {
                k.standard == outlet.table.standard
                    && (k.grade.is_none() || k.grade == outlet.table.grade)
            }) && (t.region.is_none() || t.region == outlet.region)
        };
        let mut best: Option<EffectiveLimit<'_>> = None;
        for t in self
            .tables
            .iter()
            .filter(|t| t.key == outlet.table || supersedes(t))
        {
            for l in t
                .limits
                .iter()
                .filter(|l| l.pollutant == pollutant && l.applies(&outlet.context) == Some(true))
            {
                if best
                    .as_ref()
                    .is_none_or(|b| l.at_least_as_strict_as(b.limit) && l != b.limit)
                {
                    best = Some(EffectiveLimit { limit: l, table: t });
                }
            }
        }
        best
    }
}

fn lim(pollutant: &str, unit: &str, max: Decimal) -> PollutantLimit {
    PollutantLimit {
        pollutant: pollutant.to_string(),
        unit: unit.to_string(),
        max: Some(max),
        min: None,
        range: None,
        reference_o2_pct: None,
        conditions: Vec::new(),
        note: None,
    }
}

fn ph(lo: Decimal, hi: Decimal) -> PollutantLimit {
    PollutantLimit {
        max: None,
        range: Some([lo, hi]),
        ..lim("pH", "dimensionless", Decimal::ZERO)
    }
}

fn table(
    standard: &str,
    grade: Option<&str>,
    source: &str,
    limits: Vec<PollutantLimit>,
) -> LimitTable {
    LimitTable {
        key: TableKey::new(standard, grade),
        source: source.to_string(),
        region: None,
        supersedes: Vec::new(),
        limits,
    }
}

// ---------------------------------------------------------------- GB 18483-2001

/// Standard id of GB 18483-2001.
pub const GB18483: &str = "GB18483-2001";
/// GB 18483-2001 Table 2: maximum fume emission, mg/m³ (standard state, dry), every scale.
pub const FUME_MAX_MG_M3: Decimal = dec!(2.0);
/// Reference exhaust flow per reference stove, m³/h.
pub const FUME_REFERENCE_FLOW_M3_H: Decimal = dec!(2000);
/// Heat power of one reference stove, J/h (1.67×10⁸).
pub const REFERENCE_STOVE_HEAT_J_H: Decimal = dec!(167000000);
/// Hood projection of one reference stove, m².
pub const REFERENCE_STOVE_HOOD_M2: Decimal = dec!(1.1);

/// GB 18483-2001 Table 2 as a limit table (fume ≤ 2.0 mg/m³; removal efficiency by scale is
/// in [`RestaurantScale::min_removal_efficiency_pct`]).
pub fn gb18483() -> LimitTable {
    table(
        GB18483,
        None,
        "GB 18483-2001 Table 2",
        vec![PollutantLimit {
            note: Some(
                "at 273 K, 101325 Pa, dry; normalised to 2000 m3/h per reference stove".into(),
            ),
            ..lim("fume", "mg/m3", FUME_MAX_MG_M3)
        }],
    )
}

/// 规模 restaurant scale by number of reference stoves (GB 18483-2001 Table 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RestaurantScale {
    /// 小型 ≥ 1, < 3.
    Small,
    /// 中型 ≥ 3, < 6.
    Medium,
    /// 大型 ≥ 6.
    Large,
}

impl RestaurantScale {
    /// Scale from the number of reference stoves (`None` below 1: outside the table).
    pub fn from_stoves(n: Decimal) -> Option<RestaurantScale> {
        if n < dec!(1) {
            None
        } else if n < dec!(3) {
            Some(RestaurantScale::Small)
        } else if n < dec!(6) {
            Some(RestaurantScale::Medium)
        } else {
            Some(RestaurantScale::Large)
        }
    }

    /// Minimum removal efficiency, % (Table 2): 60 / 75 / 85.
    pub const fn min_removal_efficiency_pct(self) -> Decimal {
        match self {
            RestaurantScale::Small => dec!(60),
            RestaurantScale::Medium => dec!(75),
            RestaurantScale::Large => dec!(85),
        }
    }
}

/// Number of reference stoves from the total hood projection area (1.1 m² each).
pub fn reference_stoves_from_hood(area_m2: Decimal) -> Decimal {
    area_m2 / REFERENCE_STOVE_HOOD_M2
}

/// Number of reference stoves from the total heat power (1.67×10⁸ J/h each).
pub fn reference_stoves_from_heat(power_j_h: Decimal) -> Decimal {
    power_j_h / REFERENCE_STOVE_HEAT_J_H
}

/// GB 18483-2001 normalisation: `c_ref = c_meas × Q_meas / (n × 2000)`. `None` if `n ≤ 0`.
pub fn fume_normalised(c_meas: Decimal, q_meas_m3_h: Decimal, stoves: Decimal) -> Option<Decimal> {
    (stoves > Decimal::ZERO).then(|| c_meas * q_meas_m3_h / (stoves * FUME_REFERENCE_FLOW_M3_H))
}

/// GB 18483-2001 removal efficiency, %: `(c₁Q₁ − c₂Q₂)/(c₁Q₁) × 100`.
pub fn removal_efficiency_pct(
    c_before: Decimal,
    q_before: Decimal,
    c_after: Decimal,
    q_after: Decimal,
) -> Option<Decimal> {
    let load = c_before * q_before;
    (load > Decimal::ZERO).then(|| (load - c_after * q_after) / load * dec!(100))
}

/// GB 18483-2001 Annex A sampling: 5 consecutive 10-min samples; a sample below ¼ of the
/// largest is invalid; the mean of ≥ 3 valid samples is the result (`None` otherwise).
pub fn fume_sampling_result(samples: &[Decimal]) -> Option<Decimal> {
    let max = samples.iter().copied().max()?;
    let valid: Vec<Decimal> = samples
        .iter()
        .copied()
        .filter(|&s| s * dec!(4) >= max)
        .collect();
    (valid.len() >= 3).then(|| valid.iter().sum::<Decimal>() / Decimal::from(valid.len()))
}

// ---------------------------------------------------------------- GB 13271-2014

/// Standard id of GB 13271-2014.
pub const GB13271: &str = "GB13271-2014";

/// Boiler fuel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fuel {
    /// 燃煤 (biomass briquette, coal-water slurry etc. follow coal).
    Coal,
    /// 燃油
    Oil,
    /// 燃气
    Gas,
}

impl Fuel {
    /// `coal`, `oil`, `gas`.
    pub const fn code(self) -> &'static str {
        match self {
            Fuel::Coal => "coal",
            Fuel::Oil => "oil",
            Fuel::Gas => "gas",
        }
    }
    /// GB 13271-2014 §5.2 reference O2: 9 % coal, 3.5 % oil and gas.
    pub const fn reference_o2_pct(self) -> Decimal {
        match self {
            Fuel::Coal => dec!(9),
            Fuel::Oil | Fuel::Gas => dec!(3.5),
        }
    }
}

/// Which GB 13271 table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BoilerTable {
    /// Table 1 in-use boilers (from 2015-10-01 for > 10 t/h or > 7 MW, else 2016-07-01).
    InUse,
    /// Table 2 new boilers (from 2014-07-01).
    New,
    /// Table 3 special limits (key regions).
    Special,
}

impl BoilerTable {
    /// `in_use`, `new`, `special`.
    pub const fn code(self) -> &'static str {
        match self {
            BoilerTable::InUse => "in_use",
            BoilerTable::New => "new",
            BoilerTable::Special => "special",
        }
    }
}

/// Grade string of a GB 13271 table: `"<table>/<fuel>"`, e.g. `new/gas`.
pub fn gb13271_grade(t: BoilerTable, f: Fuel) -> String {
    format!("{}/{}", t.code(), f.code())
}

/// Grade of the in-use coal boilers of Guangxi, Chongqing, Sichuan, Guizhou (SO2 550).
pub const GB13271_IN_USE_COAL_SW: &str = "in_use/coal/GX-CQ-SC-GZ";

/// GB 13271-2014 Tables 1–3 (mg/m³ at standard state, dry, at the reference O2).
pub fn gb13271() -> Vec<LimitTable> {
    use BoilerTable::*;
    use Fuel::*;
    // (table, fuel, PM, SO2, NOx, Hg)
    let rows: [(
        BoilerTable,
        Fuel,
        Decimal,
        Decimal,
        Decimal,
        Option<Decimal>,
    ); 9] = [
        (
            InUse,
            Coal,
            dec!(80),
            dec!(400),
            dec!(400),
            Some(dec!(0.05)),
        ),
        (InUse, Oil, dec!(60), dec!(300), dec!(400), None),
        (InUse, Gas, dec!(30), dec!(100), dec!(400), None),
        (New, Coal, dec!(50), dec!(300), dec!(300), Some(dec!(0.05))),
        (New, Oil, dec!(30), dec!(200), dec!(250), None),
        (New, Gas, dec!(20), dec!(50), dec!(200), None),
        (
            Special,
            Coal,
            dec!(30),
            dec!(200),
            dec!(200),
            Some(dec!(0.05)),
        ),
        (Special, Oil, dec!(30), dec!(100), dec!(200), None),
        (Special, Gas, dec!(20), dec!(50), dec!(150), None),
    ];
    let mut out = Vec::new();
    for (t, f, pm, so2, nox, hg) in rows {
        let o2 = Some(f.reference_o2_pct());
        let g = |p: &str, v: Decimal| PollutantLimit {
            reference_o2_pct: o2,
            ..lim(p, "mg/m3", v)
        };
        let mut limits = vec![g("PM", pm), g("SO2", so2), g("NOx", nox)];
        if let Some(hg) = hg {
            limits.push(g("Hg", hg));
        }
        limits.push(lim("smoke_blackness", "Ringelmann", dec!(1)));
        let n = match t {
            InUse => 1,
            New => 2,
            Special => 3,
        };
        let src = format!("GB 13271-2014 Table {n}, §5.2 (reference O2)");
        out.push(table(
            GB13271,
            Some(&gb13271_grade(t, f)),
            &src,
            limits.clone(),
        ));
        if t == InUse && f == Coal {
            for l in limits.iter_mut().filter(|l| l.pollutant == "SO2") {
                l.max = Some(dec!(550));
                l.note = Some("Guangxi, Chongqing, Sichuan, Guizhou".into());
            }
            out.push(table(GB13271, Some(GB13271_IN_USE_COAL_SW), &src, limits));
        }
    }
    out
}

/// Errors of the O2 conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadOxygen(pub Decimal);

impl std::fmt::Display for BadOxygen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "measured O2 {}% must be in 0..21", self.0)
    }
}
impl std::error::Error for BadOxygen {}

/// GB 13271-2014 §5.2 conversion to the reference O2: `ρ = ρ′ × (21 − φ_ref)/(21 − φ′)`.
pub fn o2_correct(
    measured: Decimal,
    o2_measured_pct: Decimal,
    o2_ref_pct: Decimal,
) -> Result<Decimal, BadOxygen> {
    if o2_measured_pct < Decimal::ZERO || o2_measured_pct >= dec!(21) {
        return Err(BadOxygen(o2_measured_pct));
    }
    Ok(measured * (dec!(21) - o2_ref_pct) / (dec!(21) - o2_measured_pct))
}

// ---------------------------------------------------------------- GB 8978-1996

/// Standard id of GB 8978-1996 Table 4 (units built from 1998-01-01).
pub const GB8978: &str = "GB8978-1996";
/// Standard id of GB 8978-1996 Table 2 (units built before 1998-01-01; partial here).
pub const GB8978_TABLE2: &str = "GB8978-1996/table2";

/// GB 8978-1996 Table 4 row "other dischargers" (grades `1`, `2`, `3`) and the COD/BOD5/SS
/// rows of Table 2. Sector rows are not included (sector standards take precedence where they
/// exist; 不交叉执行).
pub fn gb8978() -> Vec<LimitTable> {
    let mg = "mg/L";
    let rows: [(&str, [Option<Decimal>; 3]); 8] = [
        ("COD", [Some(dec!(100)), Some(dec!(150)), Some(dec!(500))]),
        ("BOD5", [Some(dec!(20)), Some(dec!(30)), Some(dec!(300))]),
        ("SS", [Some(dec!(70)), Some(dec!(150)), Some(dec!(400))]),
        ("NH3N", [Some(dec!(15)), Some(dec!(25)), None]),
        ("phosphate_P", [Some(dec!(0.5)), Some(dec!(1.0)), None]),
        ("petroleum", [Some(dec!(5)), Some(dec!(10)), Some(dec!(20))]),
        (
            "animal_veg_oil",
            [Some(dec!(10)), Some(dec!(15)), Some(dec!(100))],
        ),
        ("LAS", [Some(dec!(5.0)), Some(dec!(10)), Some(dec!(20))]),
    ];
    let t2: [(&str, [Decimal; 3]); 3] = [
        ("COD", [dec!(100), dec!(150), dec!(500)]),
        ("BOD5", [dec!(30), dec!(60), dec!(300)]),
        ("SS", [dec!(70), dec!(200), dec!(400)]),
    ];
    let mut out = Vec::new();
    for (gi, g) in ["1", "2", "3"].into_iter().enumerate() {
        let mut l: Vec<PollutantLimit> = rows
            .iter()
            .filter_map(|(p, v)| v[gi].map(|m| lim(p, mg, m)))
            .collect();
        l.push(ph(dec!(6), dec!(9)));
        out.push(table(
            GB8978,
            Some(g),
            "GB 8978-1996 Table 4 (other dischargers)",
            l,
        ));
        out.push(table(
            GB8978_TABLE2,
            Some(g),
            "GB 8978-1996 Table 2 (other dischargers; only COD, BOD5, SS in the reference)",
            t2.iter().map(|(p, v)| lim(p, mg, v[gi])).collect(),
        ));
    }
    out
}

// ---------------------------------------------------------------- GB 18918-2002

/// Standard id of GB 18918-2002.
pub const GB18918: &str = "GB18918-2002";
/// GB 18918 NH3-N temperature switch, °C (bracketed values at ≤ 12 °C).
pub const GB18918_NH3N_TEMP_C: Decimal = dec!(12);
/// GB 18918 TP: plants built from this date use the tighter row.
pub const GB18918_TP_CUTOFF: Date = Date::ymd(2006, 1, 1);

/// GB 18918-2002 Table 1 (daily means; grades `1A`, `1B`, `2`, `3`) with Table 2 (class-1
/// pollutants, same for all grades). The 2026 amendment was only partly seen by the reference
/// (Table 1 not shown as changed); the 2006 grade-applicability amendment is from memory.
pub fn gb18918() -> Vec<LimitTable> {
    let mg = "mg/L";
    let simple: [(&str, &str, [Option<Decimal>; 4]); 8] = [
        (
            "COD",
            mg,
            [
                Some(dec!(50)),
                Some(dec!(60)),
                Some(dec!(100)),
                Some(dec!(120)),
            ],
        ),
        (
            "BOD5",
            mg,
            [
                Some(dec!(10)),
                Some(dec!(20)),
                Some(dec!(30)),
                Some(dec!(60)),
            ],
        ),
        (
            "SS",
            mg,
            [
                Some(dec!(10)),
                Some(dec!(20)),
                Some(dec!(30)),
                Some(dec!(50)),
            ],
        ),
        (
            "animal_veg_oil",
            mg,
            [Some(dec!(1)), Some(dec!(3)), Some(dec!(5)), Some(dec!(20))],
        ),
        (
            "petroleum",
            mg,
            [Some(dec!(1)), Some(dec!(3)), Some(dec!(5)), Some(dec!(15))],
        ),
        (
            "LAS",
            mg,
            [Some(dec!(0.5)), Some(dec!(1)), Some(dec!(2)), Some(dec!(5))],
        ),
        ("TN", mg, [Some(dec!(15)), Some(dec!(20)), None, None]),
        (
            "colour",
            "dilution factor",
            [
                Some(dec!(30)),
                Some(dec!(30)),
                Some(dec!(40)),
                Some(dec!(50)),
            ],
        ),
    ];
    let nh3_hi = [Some(dec!(5)), Some(dec!(8)), Some(dec!(25)), None];
    let nh3_lo = [Some(dec!(8)), Some(dec!(15)), Some(dec!(30)), None];
    let tp_old = [dec!(1), dec!(1.5), dec!(3), dec!(5)];
    let tp_new = [dec!(0.5), dec!(1), dec!(3), dec!(5)];
    let coli = [Some(dec!(1000)), Some(dec!(10000)), Some(dec!(10000)), None];
    let class1: [(&str, Decimal); 6] = [
        ("Hg", dec!(0.001)),
        ("Cd", dec!(0.01)),
        ("total_Cr", dec!(0.1)),
        ("Cr6", dec!(0.05)),
        ("As", dec!(0.1)),
        ("Pb", dec!(0.1)),
    ];
    let t = GB18918_NH3N_TEMP_C;
    let mut out = Vec::new();
    for (gi, g) in ["1A", "1B", "2", "3"].into_iter().enumerate() {
        let mut l: Vec<PollutantLimit> = simple
            .iter()
            .filter_map(|(p, u, v)| v[gi].map(|m| lim(p, u, m)))
            .collect();
        if let Some(m) = nh3_hi[gi] {
            l.push(PollutantLimit {
                conditions: vec![Condition::WaterTempAbove { celsius: t }],
                ..lim("NH3N", mg, m)
            });
        }
        if let Some(m) = nh3_lo[gi] {
            l.push(PollutantLimit {
                conditions: vec![Condition::WaterTempAtMost { celsius: t }],
                ..lim("NH3N", mg, m)
            });
        }
        l.push(PollutantLimit {
            conditions: vec![Condition::BuiltBefore {
                date: GB18918_TP_CUTOFF,
            }],
            ..lim("TP", mg, tp_old[gi])
        });
        l.push(PollutantLimit {
            conditions: vec![Condition::BuiltFrom {
                date: GB18918_TP_CUTOFF,
            }],
            ..lim("TP", mg, tp_new[gi])
        });
        l.push(ph(dec!(6), dec!(9)));
        if let Some(m) = coli[gi] {
            l.push(lim("fecal_coliform", "count/L", m));
        }
        for (p, m) in class1 {
            l.push(PollutantLimit {
                note: Some("Table 2 (class-1 pollutants); alkyl-Hg: not detectable".into()),
                ..lim(p, mg, m)
            });
        }
        out.push(table(GB18918, Some(g), "GB 18918-2002 Tables 1 and 2", l));
    }
    out
}
