//! 地表水环境质量标准 GB 3838-2002 and the national evaluation method
//! 地表水环境质量评价办法(试行) 环办〔2011〕22号; lake trophic state index (TLI) per
//! CNEMC 总站生字〔2001〕090号.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::source::{Confidence, Source};

/// 水质类别 water-quality class; ordered from best (I) to worst (劣V).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WaterClass {
    /// Ⅰ类
    I,
    /// Ⅱ类
    II,
    /// Ⅲ类
    III,
    /// Ⅳ类
    IV,
    /// Ⅴ类
    V,
    /// 劣Ⅴ类 — worse than Class V.
    WorseThanV,
}

impl WaterClass {
    /// The five classes that have limits.
    pub const LIMITED: [WaterClass; 5] = [
        WaterClass::I,
        WaterClass::II,
        WaterClass::III,
        WaterClass::IV,
        WaterClass::V,
    ];

    /// `I`, `II`, `III`, `IV`, `V`, `劣V`.
    pub const fn code(self) -> &'static str {
        match self {
            WaterClass::I => "I",
            WaterClass::II => "II",
            WaterClass::III => "III",
            WaterClass::IV => "IV",
            WaterClass::V => "V",
            WaterClass::WorseThanV => "劣V",
        }
    }

    /// Parses a code (`I` … `V`, `劣V`).
    pub fn from_code(s: &str) -> Option<WaterClass> {
        [
            WaterClass::I,
            WaterClass::II,
            WaterClass::III,
            WaterClass::IV,
            WaterClass::V,
            WaterClass::WorseThanV,
        ]
        .into_iter()
        .find(|c| c.code() == s)
    }

    /// 水质状况 of a section in this class (环办〔2011〕22号).
    pub const fn status(self) -> WaterStatus {
        match self {
            WaterClass::I | WaterClass::II => WaterStatus::Excellent,
            WaterClass::III => WaterStatus::Good,
            WaterClass::IV => WaterStatus::LightlyPolluted,
            WaterClass::V => WaterStatus::ModeratelyPolluted,
            WaterClass::WorseThanV => WaterStatus::HeavilyPolluted,
        }
    }

    /// Class I–III (meets Class III: 达到或优于Ⅲ类).
    pub const fn is_iii_or_better(self) -> bool {
        matches!(self, WaterClass::I | WaterClass::II | WaterClass::III)
    }
}

/// 水质状况 qualitative status of a section, river or basin (环办〔2011〕22号).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WaterStatus {
    /// 优 (blue)
    Excellent,
    /// 良好 (green)
    Good,
    /// 轻度污染 (yellow)
    LightlyPolluted,
    /// 中度污染 (orange)
    ModeratelyPolluted,
    /// 重度污染 (red)
    HeavilyPolluted,
}

impl WaterStatus {
    /// 优, 良好, 轻度污染, 中度污染, 重度污染.
    pub const fn name_cn(self) -> &'static str {
        match self {
            WaterStatus::Excellent => "优",
            WaterStatus::Good => "良好",
            WaterStatus::LightlyPolluted => "轻度污染",
            WaterStatus::ModeratelyPolluted => "中度污染",
            WaterStatus::HeavilyPolluted => "重度污染",
        }
    }
    /// Colour name as given by the method (no RGB is given in the reference).
    pub const fn color(self) -> &'static str {
        match self {
            WaterStatus::Excellent => "blue",
            WaterStatus::Good => "green",
            WaterStatus::LightlyPolluted => "yellow",
            WaterStatus::ModeratelyPolluted => "orange",
            WaterStatus::HeavilyPolluted => "red",
        }
    }
}

/// River (and canal) or lake/reservoir — differs for TP and TN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaterBody {
    /// 河流
    River,
    /// 湖泊、水库
    LakeReservoir,
}

/// The 24 basic items of GB 3838-2002 Table 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WaterItem {
    /// 1 水温 (°C)
    WaterTemp,
    /// 2 pH值
    Ph,
    /// 3 溶解氧 DO
    Do,
    /// 4 高锰酸盐指数 CODMn
    CodMn,
    /// 5 化学需氧量 COD
    Cod,
    /// 6 五日生化需氧量 BOD5
    Bod5,
    /// 7 氨氮 NH3-N
    Nh3n,
    /// 8 总磷 TP (as P)
    Tp,
    /// 9 总氮 TN (lakes/reservoirs, as N)
    Tn,
    /// 10 铜 Cu
    Cu,
    /// 11 锌 Zn
    Zn,
    /// 12 氟化物 F⁻
    F,
    /// 13 硒 Se
    Se,
    /// 14 砷 As
    As,
    /// 15 汞 Hg
    Hg,
    /// 16 镉 Cd
    Cd,
    /// 17 铬(六价) Cr(VI)
    Cr6,
    /// 18 铅 Pb
    Pb,
    /// 19 氰化物 CN
    Cn,
    /// 20 挥发酚
    Phenol,
    /// 21 石油类
    Petroleum,
    /// 22 阴离子表面活性剂 LAS
    Las,
    /// 23 硫化物
    Sulfide,
    /// 24 粪大肠菌群 (count/L)
    FecalColiform,
}

/// Comparison direction of a limit (limits are inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Value ≤ limit.
    Max,
    /// Value ≥ limit (DO).
    Min,
    /// lo ≤ value ≤ hi (pH).
    Range,
    /// Rule not expressible as a limit (water temperature: man-made change only).
    Special,
}

/// Limits of one Table 1 row, classes I…V.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limits {
    /// No numeric class limits (water temperature).
    None,
    /// Maximum per class.
    Max([Decimal; 5]),
    /// Minimum per class.
    Min([Decimal; 5]),
    /// Range per class.
    Range([(Decimal, Decimal); 5]),
}

/// One row of GB 3838-2002 Table 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasicRow {
    /// Item.
    pub item: WaterItem,
    /// Row number 1–24.
    pub no: u8,
    /// CLI / data key (`NH3N`, …).
    pub key: &'static str,
    /// Chinese name as in the standard.
    pub name_cn: &'static str,
    /// Unit.
    pub unit: &'static str,
    /// Direction.
    pub direction: Direction,
    /// River limits (also the lake limits except for TP).
    pub limits: Limits,
    /// Lake/reservoir limits where different (TP).
    pub lake_limits: Option<Limits>,
    /// Applies to lakes/reservoirs only (TN).
    pub lake_only: bool,
}

/// Citation of Table 1.
pub const TABLE1_SOURCE: Source = Source::primary("GB 3838-2002", "Table 1");

const fn mx(v: [Decimal; 5]) -> Limits {
    Limits::Max(v)
}

const fn r(
    item: WaterItem,
    no: u8,
    key: &'static str,
    name_cn: &'static str,
    unit: &'static str,
    direction: Direction,
    limits: Limits,
) -> BasicRow {
    BasicRow {
        item,
        no,
        key,
        name_cn,
        unit,
        direction,
        limits,
        lake_limits: None,
        lake_only: false,
    }
}

use Direction::Max as LE;
use WaterItem as W;

const PH_RANGE: (Decimal, Decimal) = (dec!(6), dec!(9));

/// GB 3838-2002 Table 1, all 24 basic items (mg/L unless noted).
pub static TABLE1: [BasicRow; 24] = [
    r(
        W::WaterTemp,
        1,
        "WaterTemp",
        "水温",
        "°C",
        Direction::Special,
        Limits::None,
    ),
    r(
        W::Ph,
        2,
        "pH",
        "pH值",
        "dimensionless",
        Direction::Range,
        Limits::Range([PH_RANGE; 5]),
    ),
    r(
        W::Do,
        3,
        "DO",
        "溶解氧",
        "mg/L",
        Direction::Min,
        Limits::Min([dec!(7.5), dec!(6), dec!(5), dec!(3), dec!(2)]),
    ),
    r(
        W::CodMn,
        4,
        "CODMn",
        "高锰酸盐指数",
        "mg/L",
        LE,
        mx([dec!(2), dec!(4), dec!(6), dec!(10), dec!(15)]),
    ),
    r(
        W::Cod,
        5,
        "COD",
        "化学需氧量(COD)",
        "mg/L",
        LE,
        mx([dec!(15), dec!(15), dec!(20), dec!(30), dec!(40)]),
    ),
    r(
        W::Bod5,
        6,
        "BOD5",
        "五日生化需氧量(BOD5)",
        "mg/L",
        LE,
        mx([dec!(3), dec!(3), dec!(4), dec!(6), dec!(10)]),
    ),
    r(
        W::Nh3n,
        7,
        "NH3N",
        "氨氮(NH3-N)",
        "mg/L",
        LE,
        mx([dec!(0.15), dec!(0.5), dec!(1.0), dec!(1.5), dec!(2.0)]),
    ),
    BasicRow {
        lake_limits: Some(mx([
            dec!(0.01),
            dec!(0.025),
            dec!(0.05),
            dec!(0.1),
            dec!(0.2),
        ])),
        ..r(
            W::Tp,
            8,
            "TP",
            "总磷(以P计)",
            "mg/L",
            LE,
            mx([dec!(0.02), dec!(0.1), dec!(0.2), dec!(0.3), dec!(0.4)]),
        )
    },
    BasicRow {
        lake_only: true,
        ..r(
            W::Tn,
            9,
            "TN",
            "总氮(湖、库,以N计)",
            "mg/L",
            LE,
            mx([dec!(0.2), dec!(0.5), dec!(1.0), dec!(1.5), dec!(2.0)]),
        )
    },
    r(
        W::Cu,
        10,
        "Cu",
        "铜",
        "mg/L",
        LE,
        mx([dec!(0.01), dec!(1.0), dec!(1.0), dec!(1.0), dec!(1.0)]),
    ),
    r(
        W::Zn,
        11,
        "Zn",
        "锌",
        "mg/L",
        LE,
        mx([dec!(0.05), dec!(1.0), dec!(1.0), dec!(2.0), dec!(2.0)]),
    ),
    r(
        W::F,
        12,
        "F",
        "氟化物(以F-计)",
        "mg/L",
        LE,
        mx([dec!(1.0), dec!(1.0), dec!(1.0), dec!(1.5), dec!(1.5)]),
    ),
    r(
        W::Se,
        13,
        "Se",
        "硒",
        "mg/L",
        LE,
        mx([dec!(0.01), dec!(0.01), dec!(0.01), dec!(0.02), dec!(0.02)]),
    ),
    r(
        W::As,
        14,
        "As",
        "砷",
        "mg/L",
        LE,
        mx([dec!(0.05), dec!(0.05), dec!(0.05), dec!(0.1), dec!(0.1)]),
    ),
    r(
        W::Hg,
        15,
        "Hg",
        "汞",
        "mg/L",
        LE,
        mx([
            dec!(0.00005),
            dec!(0.00005),
            dec!(0.0001),
            dec!(0.001),
            dec!(0.001),
        ]),
    ),
    r(
        W::Cd,
        16,
        "Cd",
        "镉",
        "mg/L",
        LE,
        mx([
            dec!(0.001),
            dec!(0.005),
            dec!(0.005),
            dec!(0.005),
            dec!(0.01),
        ]),
    ),
    r(
        W::Cr6,
        17,
        "Cr6",
        "铬(六价)",
        "mg/L",
        LE,
        mx([dec!(0.01), dec!(0.05), dec!(0.05), dec!(0.05), dec!(0.1)]),
    ),
    r(
        W::Pb,
        18,
        "Pb",
        "铅",
        "mg/L",
        LE,
        mx([dec!(0.01), dec!(0.01), dec!(0.05), dec!(0.05), dec!(0.1)]),
    ),
    r(
        W::Cn,
        19,
        "CN",
        "氰化物",
        "mg/L",
        LE,
        mx([dec!(0.005), dec!(0.05), dec!(0.2), dec!(0.2), dec!(0.2)]),
    ),
    r(
        W::Phenol,
        20,
        "Phenol",
        "挥发酚",
        "mg/L",
        LE,
        mx([dec!(0.002), dec!(0.002), dec!(0.005), dec!(0.01), dec!(0.1)]),
    ),
    r(
        W::Petroleum,
        21,
        "Petroleum",
        "石油类",
        "mg/L",
        LE,
        mx([dec!(0.05), dec!(0.05), dec!(0.05), dec!(0.5), dec!(1.0)]),
    ),
    r(
        W::Las,
        22,
        "LAS",
        "阴离子表面活性剂",
        "mg/L",
        LE,
        mx([dec!(0.2), dec!(0.2), dec!(0.2), dec!(0.3), dec!(0.3)]),
    ),
    r(
        W::Sulfide,
        23,
        "Sulfide",
        "硫化物",
        "mg/L",
        LE,
        mx([dec!(0.05), dec!(0.1), dec!(0.2), dec!(0.5), dec!(1.0)]),
    ),
    r(
        W::FecalColiform,
        24,
        "FecalColiform",
        "粪大肠菌群",
        "个/L",
        LE,
        mx([dec!(200), dec!(2000), dec!(10000), dec!(20000), dec!(40000)]),
    ),
];

/// DO Class I alternative: saturation ≥ 90 % (饱和率90%) also meets Class I.
pub const DO_CLASS_I_SATURATION_PCT: Decimal = dec!(90);

impl WaterItem {
    /// All 24 in table order.
    pub const ALL: [WaterItem; 24] = [
        W::WaterTemp,
        W::Ph,
        W::Do,
        W::CodMn,
        W::Cod,
        W::Bod5,
        W::Nh3n,
        W::Tp,
        W::Tn,
        W::Cu,
        W::Zn,
        W::F,
        W::Se,
        W::As,
        W::Hg,
        W::Cd,
        W::Cr6,
        W::Pb,
        W::Cn,
        W::Phenol,
        W::Petroleum,
        W::Las,
        W::Sulfide,
        W::FecalColiform,
    ];

    /// Its Table 1 row.
    pub fn row(self) -> &'static BasicRow {
        &TABLE1[self as usize]
    }

    /// Data key (`NH3N`, `pH`, …).
    pub fn key(self) -> &'static str {
        self.row().key
    }

    /// Parses a data key.
    pub fn from_key(s: &str) -> Option<WaterItem> {
        TABLE1.iter().find(|r| r.key == s).map(|r| r.item)
    }

    /// The limits that apply in `body` (`None`: no class limits, or TN in a river).
    pub fn limits(self, body: WaterBody) -> Option<Limits> {
        let row = self.row();
        if row.lake_only && body == WaterBody::River {
            return None;
        }
        let l = match (body, row.lake_limits) {
            (WaterBody::LakeReservoir, Some(l)) => l,
            _ => row.limits,
        };
        (l != Limits::None).then_some(l)
    }

    /// The Class III limit (max or min) used for exceedance multiples; `None` for water
    /// temperature and pH.
    pub fn class_iii_limit(self, body: WaterBody) -> Option<Decimal> {
        match self.limits(body)? {
            Limits::Max(v) | Limits::Min(v) => Some(v[2]),
            _ => None,
        }
    }

    /// Cyanide and heavy metals, listed with priority among main pollutants (环办〔2011〕22号:
    /// "氰化物或铅、铬等重金属"). Which items count as heavy metals is not listed by the
    /// method; this library takes the metals/metalloid of the 21 items: Cu, Zn, As, Hg, Cd,
    /// Cr(VI), Pb (Se excluded).
    pub const fn is_priority_pollutant(self) -> bool {
        matches!(
            self,
            W::Cn | W::Cu | W::Zn | W::As | W::Hg | W::Cd | W::Cr6 | W::Pb
        )
    }
}

/// 环办〔2011〕22号: the 21 class evaluation items (Table 1 minus water temperature, TN, fecal coliform).
pub const EVALUATION_ITEMS: [WaterItem; 21] = [
    W::Ph,
    W::Do,
    W::CodMn,
    W::Cod,
    W::Bod5,
    W::Nh3n,
    W::Tp,
    W::Cu,
    W::Zn,
    W::F,
    W::Se,
    W::As,
    W::Hg,
    W::Cd,
    W::Cr6,
    W::Pb,
    W::Cn,
    W::Phenol,
    W::Petroleum,
    W::Las,
    W::Sulfide,
];

/// Items evaluated separately, for reference only (TN for lakes/reservoirs; fecal coliform).
pub const REFERENCE_ITEMS: [WaterItem; 2] = [W::Tn, W::FecalColiform];

/// Citation of the evaluation method.
pub const EVALUATION_SOURCE: Source = Source {
    standard: "环办〔2011〕22号 地表水环境质量评价办法(试行)",
    clause: "§3–4",
    confidence: Confidence::High,
    note: "main-pollutant tie-break wording and sample minimums medium confidence",
};

/// Class of one item value: the best class whose limit it meets (inclusive); 劣V beyond V.
/// `None` when the item has no class limits in `body` (water temperature; TN in rivers).
pub fn item_class(item: WaterItem, body: WaterBody, value: Decimal) -> Option<WaterClass> {
    let idx = match item.limits(body)? {
        Limits::None => return None,
        Limits::Max(v) => v.iter().position(|&l| value <= l),
        Limits::Min(v) => v.iter().position(|&l| value >= l),
        Limits::Range(v) => v.iter().position(|&(lo, hi)| lo <= value && value <= hi),
    };
    Some(idx.map_or(WaterClass::WorseThanV, |i| WaterClass::LIMITED[i]))
}

/// DO class with the Class I saturation alternative (≥ 7.5 mg/L **or** saturation ≥ 90 %).
pub fn do_class(value_mg_l: Decimal, saturation_pct: Option<Decimal>) -> WaterClass {
    let c = item_class(W::Do, WaterBody::River, value_mg_l).expect("DO has limits");
    if saturation_pct.is_some_and(|s| s >= DO_CLASS_I_SATURATION_PCT) {
        WaterClass::I
    } else {
        c
    }
}

/// Errors in a water sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaterError {
    /// A negative concentration.
    Negative(WaterItem),
    /// The same item twice.
    Duplicate(WaterItem),
}

impl std::fmt::Display for WaterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WaterError::Negative(i) => write!(f, "{}: negative value", i.key()),
            WaterError::Duplicate(i) => write!(f, "{}: given twice", i.key()),
        }
    }
}
impl std::error::Error for WaterError {}

/// Evaluation of one sample (or of a period mean) at one section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleEvaluation {
    /// River or lake.
    pub body: WaterBody,
    /// Section class: worst class over the evaluation items present (`None` if none present).
    pub class: Option<WaterClass>,
    /// Class of each evaluation item present, in table order.
    pub items: Vec<(WaterItem, WaterClass)>,
    /// Reference classes (TN for lakes, fecal coliform), not part of `class`.
    pub reference: Vec<(WaterItem, WaterClass)>,
    /// 超标倍数 against Class III for evaluation items above Class III (not pH, DO), exact.
    pub exceed: Vec<(WaterItem, Decimal)>,
    /// 主要污染指标 (top 3) when the class is worse than III.
    pub main_pollutants: Vec<WaterItem>,
    /// Items given but not evaluated (water temperature; TN in rivers).
    pub not_evaluated: Vec<WaterItem>,
    /// Evaluation items absent from the sample.
    pub missing: Vec<WaterItem>,
}

impl SampleEvaluation {
    /// 水质状况 of the section.
    pub fn status(&self) -> Option<WaterStatus> {
        self.class.map(WaterClass::status)
    }
}

/// Number of main pollution indicators reported.
pub const MAIN_POLLUTANTS_MAX: usize = 3;

/// Evaluates a sample by the single-factor method of 环办〔2011〕22号 on GB 3838-2002 Table 1.
pub fn evaluate_sample(
    body: WaterBody,
    values: &[(WaterItem, Decimal)],
) -> Result<SampleEvaluation, WaterError> {
    let mut seen = Vec::new();
    for &(item, v) in values {
        if seen.contains(&item) {
            return Err(WaterError::Duplicate(item));
        }
        seen.push(item);
        if v < Decimal::ZERO && item != W::WaterTemp {
            return Err(WaterError::Negative(item));
        }
    }
    let get = |i: WaterItem| values.iter().find(|(x, _)| *x == i).map(|&(_, v)| v);
    let mut ev = SampleEvaluation {
        body,
        class: None,
        items: Vec::new(),
        reference: Vec::new(),
        exceed: Vec::new(),
        main_pollutants: Vec::new(),
        not_evaluated: Vec::new(),
        missing: Vec::new(),
    };
    for item in WaterItem::ALL {
        let Some(v) = get(item) else {
            if EVALUATION_ITEMS.contains(&item) {
                ev.missing.push(item);
            }
            continue;
        };
        let Some(class) = item_class(item, body, v) else {
            ev.not_evaluated.push(item);
            continue;
        };
        if REFERENCE_ITEMS.contains(&item) {
            ev.reference.push((item, class));
            continue;
        }
        ev.items.push((item, class));
        if class > WaterClass::III && item != W::Ph && item != W::Do {
            if let Some(s3) = item.class_iii_limit(body) {
                ev.exceed.push((item, (v - s3) / s3));
            }
        }
    }
    ev.class = ev.items.iter().map(|&(_, c)| c).max();
    if ev.class.is_some_and(|c| c > WaterClass::III) {
        ev.main_pollutants = main_pollutants(&ev.items, &ev.exceed);
    }
    Ok(ev)
}

/// 主要污染指标 (环办〔2011〕22号): among items worse than Class III, cyanide and heavy metals
/// first; then worst class first; ties by larger exceedance multiple (items without one — DO,
/// pH — after those with one); then table order. At most 3.
pub fn main_pollutants(
    items: &[(WaterItem, WaterClass)],
    exceed: &[(WaterItem, Decimal)],
) -> Vec<WaterItem> {
    let mut cands: Vec<(WaterItem, WaterClass, Option<Decimal>)> = items
        .iter()
        .filter(|(_, c)| *c > WaterClass::III)
        .map(|&(i, c)| (i, c, exceed.iter().find(|(x, _)| *x == i).map(|&(_, m)| m)))
        .collect();
    cands.sort_by(|a, b| {
        b.0.is_priority_pollutant()
            .cmp(&a.0.is_priority_pollutant())
            .then(b.1.cmp(&a.1))
            .then(b.2.cmp(&a.2))
            .then(a.0.cmp(&b.0))
    });
    cands
        .into_iter()
        .take(MAIN_POLLUTANTS_MAX)
        .map(|(i, _, _)| i)
        .collect()
}

/// Arithmetic mean per item over several samples (period means of one section, or the
/// all-section average of a river with fewer than 5 sections). Items absent from a sample are
/// averaged over the samples that have them.
pub fn mean_sample(samples: &[Vec<(WaterItem, Decimal)>]) -> Vec<(WaterItem, Decimal)> {
    WaterItem::ALL
        .into_iter()
        .filter_map(|item| {
            let v: Vec<Decimal> = samples
                .iter()
                .filter_map(|s| s.iter().find(|(x, _)| *x == item).map(|&(_, v)| v))
                .collect();
            (!v.is_empty()).then(|| (item, v.iter().sum::<Decimal>() / Decimal::from(v.len())))
        })
        .collect()
}

/// Minimum number of sections for the share-based river/basin status.
pub const RIVER_MIN_SECTIONS: usize = 5;

/// A river/basin needs at least 5 sections for [`river_status`]; with fewer, average each item
/// over the sections ([`mean_sample`]) and classify the mean like one section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooFewSections(pub usize);

/// Share (percent, exact) of sections of Class I–III.
pub fn share_iii_or_better_pct(classes: &[WaterClass]) -> Option<Decimal> {
    share_pct(classes, |c| c.is_iii_or_better())
}

fn share_pct(classes: &[WaterClass], f: impl Fn(WaterClass) -> bool) -> Option<Decimal> {
    (!classes.is_empty()).then(|| {
        Decimal::from(classes.iter().filter(|&&c| f(c)).count()) * dec!(100)
            / Decimal::from(classes.len())
    })
}

/// River/basin status with ≥ 5 sections (环办〔2011〕22号): I–III share ≥ 90 % 优; ≥ 75 %
/// 良好; otherwise 劣V share < 20 % 轻度污染, < 40 % 中度污染, else 重度污染.
///
/// The original text reportedly requires I–III < 60 % for 重度污染; a river with exactly 60 %
/// I–III and 40 % 劣V would then match no row. This library classes it 重度污染 (the < 75 %
/// reading of the Shenzhen MEEB Q&A); every other case is the same under both readings.
pub fn river_status(classes: &[WaterClass]) -> Result<WaterStatus, TooFewSections> {
    if classes.len() < RIVER_MIN_SECTIONS {
        return Err(TooFewSections(classes.len()));
    }
    let good = share_iii_or_better_pct(classes).expect("non-empty");
    let bad = share_pct(classes, |c| c == WaterClass::WorseThanV).expect("non-empty");
    Ok(if good >= dec!(90) {
        WaterStatus::Excellent
    } else if good >= dec!(75) {
        WaterStatus::Good
    } else if bad < dec!(20) {
        WaterStatus::LightlyPolluted
    } else if bad < dec!(40) {
        WaterStatus::ModeratelyPolluted
    } else {
        WaterStatus::HeavilyPolluted
    })
}

/// One item of GB 3838-2002 Table 2 (supplementary items for centralised drinking-water
/// sources): a single maximum in mg/L.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupplementaryItem {
    /// Chinese name.
    pub name_cn: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// Maximum (mg/L).
    pub limit: Decimal,
}

/// GB 3838-2002 Table 2.
pub static TABLE2: [SupplementaryItem; 5] = [
    SupplementaryItem {
        name_cn: "硫酸盐(以SO4 2-计)",
        name_en: "sulfate",
        limit: dec!(250),
    },
    SupplementaryItem {
        name_cn: "氯化物(以Cl-计)",
        name_en: "chloride",
        limit: dec!(250),
    },
    SupplementaryItem {
        name_cn: "硝酸盐(以N计)",
        name_en: "nitrate as N",
        limit: dec!(10),
    },
    SupplementaryItem {
        name_cn: "铁",
        name_en: "iron",
        limit: dec!(0.3),
    },
    SupplementaryItem {
        name_cn: "锰",
        name_en: "manganese",
        limit: dec!(0.1),
    },
];

/// Citation of Tables 2 and 3.
pub const DRINKING_SOURCE: Source = Source::primary("GB 3838-2002", "Tables 2 and 3");

/// One item of GB 3838-2002 Table 3 (specific items for drinking-water sources): a maximum in mg/L.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecificItem {
    /// Row number 1–80.
    pub no: u8,
    /// Chinese name as in the standard.
    pub name_cn: &'static str,
    /// Maximum (mg/L).
    pub limit: Decimal,
}

const fn sp(no: u8, name_cn: &'static str, limit: Decimal) -> SpecificItem {
    SpecificItem { no, name_cn, limit }
}

/// GB 3838-2002 Table 3, all 80 items.
pub static TABLE3: [SpecificItem; 80] = [
    sp(1, "三氯甲烷", dec!(0.06)),
    sp(2, "四氯化碳", dec!(0.002)),
    sp(3, "三溴甲烷", dec!(0.1)),
    sp(4, "二氯甲烷", dec!(0.02)),
    sp(5, "1,2-二氯乙烷", dec!(0.03)),
    sp(6, "环氧氯丙烷", dec!(0.02)),
    sp(7, "氯乙烯", dec!(0.005)),
    sp(8, "1,1-二氯乙烯", dec!(0.03)),
    sp(9, "1,2-二氯乙烯", dec!(0.05)),
    sp(10, "三氯乙烯", dec!(0.07)),
    sp(11, "四氯乙烯", dec!(0.04)),
    sp(12, "氯丁二烯", dec!(0.002)),
    sp(13, "六氯丁二烯", dec!(0.0006)),
    sp(14, "苯乙烯", dec!(0.02)),
    sp(15, "甲醛", dec!(0.9)),
    sp(16, "乙醛", dec!(0.05)),
    sp(17, "丙烯醛", dec!(0.1)),
    sp(18, "三氯乙醛", dec!(0.01)),
    sp(19, "苯", dec!(0.01)),
    sp(20, "甲苯", dec!(0.7)),
    sp(21, "乙苯", dec!(0.3)),
    sp(22, "二甲苯", dec!(0.5)),
    sp(23, "异丙苯", dec!(0.25)),
    sp(24, "氯苯", dec!(0.3)),
    sp(25, "1,2-二氯苯", dec!(1.0)),
    sp(26, "1,4-二氯苯", dec!(0.3)),
    sp(27, "三氯苯", dec!(0.02)),
    sp(28, "四氯苯", dec!(0.02)),
    sp(29, "六氯苯", dec!(0.05)),
    sp(30, "硝基苯", dec!(0.017)),
    sp(31, "二硝基苯", dec!(0.5)),
    sp(32, "2,4-二硝基甲苯", dec!(0.0003)),
    sp(33, "2,4,6-三硝基甲苯", dec!(0.5)),
    sp(34, "硝基氯苯", dec!(0.05)),
    sp(35, "2,4-二硝基氯苯", dec!(0.5)),
    sp(36, "2,4-二氯苯酚", dec!(0.093)),
    sp(37, "2,4,6-三氯苯酚", dec!(0.2)),
    sp(38, "五氯酚", dec!(0.009)),
    sp(39, "苯胺", dec!(0.1)),
    sp(40, "联苯胺", dec!(0.0002)),
    sp(41, "丙烯酰胺", dec!(0.0005)),
    sp(42, "丙烯腈", dec!(0.1)),
    sp(43, "邻苯二甲酸二丁酯", dec!(0.003)),
    sp(44, "邻苯二甲酸二(2-乙基己基)酯", dec!(0.008)),
    sp(45, "水合肼", dec!(0.01)),
    sp(46, "四乙基铅", dec!(0.0001)),
    sp(47, "吡啶", dec!(0.2)),
    sp(48, "松节油", dec!(0.2)),
    sp(49, "苦味酸", dec!(0.5)),
    sp(50, "丁基黄原酸", dec!(0.005)),
    sp(51, "活性氯", dec!(0.01)),
    sp(52, "滴滴涕", dec!(0.001)),
    sp(53, "林丹", dec!(0.002)),
    sp(54, "环氧七氯", dec!(0.0002)),
    sp(55, "对硫磷", dec!(0.003)),
    sp(56, "甲基对硫磷", dec!(0.002)),
    sp(57, "马拉硫磷", dec!(0.05)),
    sp(58, "乐果", dec!(0.08)),
    sp(59, "敌敌畏", dec!(0.05)),
    sp(60, "敌百虫", dec!(0.05)),
    sp(61, "内吸磷", dec!(0.03)),
    sp(62, "百菌清", dec!(0.01)),
    sp(63, "甲萘威", dec!(0.05)),
    sp(64, "溴氰菊酯", dec!(0.02)),
    sp(65, "阿特拉津", dec!(0.003)),
    sp(66, "苯并(a)芘", dec!(0.0000028)),
    sp(67, "甲基汞", dec!(0.000001)),
    sp(68, "多氯联苯", dec!(0.00002)),
    sp(69, "微囊藻毒素-LR", dec!(0.001)),
    sp(70, "黄磷", dec!(0.003)),
    sp(71, "钼", dec!(0.07)),
    sp(72, "钴", dec!(1.0)),
    sp(73, "铍", dec!(0.002)),
    sp(74, "硼", dec!(0.5)),
    sp(75, "锑", dec!(0.005)),
    sp(76, "镍", dec!(0.02)),
    sp(77, "钡", dec!(0.7)),
    sp(78, "钒", dec!(0.05)),
    sp(79, "钛", dec!(0.1)),
    sp(80, "铊", dec!(0.0001)),
];

/// Looks up a Table 3 item by its Chinese name.
pub fn specific_item(name_cn: &str) -> Option<&'static SpecificItem> {
    TABLE3.iter().find(|i| i.name_cn == name_cn)
}

/// Whether a drinking-water item value meets its single maximum (inclusive).
pub fn drinking_item_compliant(limit: Decimal, value: Decimal) -> bool {
    value <= limit
}

/// 湖泊营养状态指数 TLI (CNEMC 总站生字〔2001〕090号). Continuous index; computed in `f64`.
pub mod tli {
    use crate::source::Source;

    /// Citation.
    pub const SOURCE: Source = Source::primary("总站生字〔2001〕090号", "TLI(Σ) method");

    /// Correlation of each parameter with chl-a (rⱼ), in the order chl-a, TP, TN, SD, CODMn.
    pub const R: [f64; 5] = [1.0, 0.84, 0.82, -0.83, 0.83];
    /// Published weights Wⱼ = rⱼ²/Σr² (rounded to 4 decimals in the method).
    pub const WEIGHTS: [f64; 5] = [0.2663, 0.1879, 0.1790, 0.1834, 0.1834];

    /// Inputs: chl-a (mg/m³ = µg/L), TP, TN, CODMn (mg/L), SD (transparency, m).
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct TliInputs {
        /// 叶绿素a, mg/m³.
        pub chla: f64,
        /// 总磷, mg/L.
        pub tp: f64,
        /// 总氮, mg/L.
        pub tn: f64,
        /// 透明度, m.
        pub sd: f64,
        /// 高锰酸盐指数, mg/L.
        pub codmn: f64,
    }

    /// Trophic state.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum TrophicState {
        /// 贫营养 TLI < 30
        Oligotrophic,
        /// 中营养 30 ≤ TLI ≤ 50
        Mesotrophic,
        /// 轻度富营养 50 < TLI ≤ 60
        LightEutrophic,
        /// 中度富营养 60 < TLI ≤ 70
        MiddleEutrophic,
        /// 重度富营养 TLI > 70
        HyperEutrophic,
    }

    impl TrophicState {
        /// Chinese name.
        pub const fn name_cn(self) -> &'static str {
            match self {
                TrophicState::Oligotrophic => "贫营养",
                TrophicState::Mesotrophic => "中营养",
                TrophicState::LightEutrophic => "轻度富营养",
                TrophicState::MiddleEutrophic => "中度富营养",
                TrophicState::HyperEutrophic => "重度富营养",
            }
        }
        /// Whether eutrophic (富营养, TLI > 50).
        pub const fn is_eutrophic(self) -> bool {
            matches!(
                self,
                TrophicState::LightEutrophic
                    | TrophicState::MiddleEutrophic
                    | TrophicState::HyperEutrophic
            )
        }
    }

    /// Component indices TLI(j) in the order chl-a, TP, TN, SD, CODMn. Inputs must be > 0.
    pub fn components(x: &TliInputs) -> [f64; 5] {
        [
            10.0 * (2.5 + 1.086 * x.chla.ln()),
            10.0 * (9.436 + 1.624 * x.tp.ln()),
            10.0 * (5.453 + 1.694 * x.tn.ln()),
            10.0 * (5.118 - 1.94 * x.sd.ln()),
            10.0 * (0.109 + 2.661 * x.codmn.ln()),
        ]
    }

    /// TLI(Σ) = Σ Wⱼ·TLI(j) with the published weights. `None` unless every input is > 0.
    pub fn tli(x: &TliInputs) -> Option<f64> {
        let ok = [x.chla, x.tp, x.tn, x.sd, x.codmn]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0);
        ok.then(|| components(x).iter().zip(WEIGHTS).map(|(t, w)| t * w).sum())
    }

    /// Trophic state of a TLI value (boundaries as in the CNEMC text).
    pub fn state(tli: f64) -> TrophicState {
        if tli < 30.0 {
            TrophicState::Oligotrophic
        } else if tli <= 50.0 {
            TrophicState::Mesotrophic
        } else if tli <= 60.0 {
            TrophicState::LightEutrophic
        } else if tli <= 70.0 {
            TrophicState::MiddleEutrophic
        } else {
            TrophicState::HyperEutrophic
        }
    }
}
