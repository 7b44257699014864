//! The profile's data types, one per kind of record in the profile files.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A point in WGS-84 degrees. `approx` marks coordinates that are not surveyed (the plan gives
/// none; a bureau replaces them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub lon: f64,
    pub lat: f64,
    #[serde(default)]
    pub approx: bool,
}

/// A lon/lat bounding box.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl BBox {
    /// Whether the point lies inside the box (edges included).
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        (self.min_lon..=self.max_lon).contains(&lon) && (self.min_lat..=self.max_lat).contains(&lat)
    }
}

/// The plan the profile implements (规划).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanInfo {
    pub title: String,
    pub period: String,
    pub baseline_year: u16,
    pub target_year: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlook_year: Option<u16>,
}

/// The county (县): `county.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct County {
    /// Chinese name, e.g. 垫江县.
    pub name: String,
    /// GB/T 2260 administrative code, e.g. `500231`.
    pub code: String,
    /// The province-level parent, e.g. 重庆市.
    pub parent: String,
    /// UTC offset of local time, `+08:00` (北京时间).
    pub timezone: String,
    pub centre: Location,
    /// Every coordinate of the profile must fall in this box.
    pub bbox: BBox,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bbox_source: Option<String>,
    pub area_km2: f64,
    /// The town code of the county seat (县城驻地).
    pub seat_town: String,
    /// File name of the boundary GeoJSON inside the profile folder, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary: Option<String>,
    pub plan: PlanInfo,
    pub source: String,
}

impl County {
    /// The timezone as seconds east of UTC, if it has the form `±HH:MM`.
    pub fn utc_offset_seconds(&self) -> Option<i32> {
        parse_offset(&self.timezone)
    }
}

pub(crate) fn parse_offset(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 6 || b[3] != b':' {
        return None;
    }
    let sign = match b[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h: i32 = s[1..3].parse().ok()?;
    let m: i32 = s[4..6].parse().ok()?;
    if !s[1..3].bytes().all(|c| c.is_ascii_digit())
        || !s[4..6].bytes().all(|c| c.is_ascii_digit())
        || h > 14
        || m > 59
    {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

/// Kind of town-level division.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TownKind {
    /// 街道
    Street,
    /// 镇
    Town,
    /// 乡
    Township,
}

/// A town-level division (乡镇/街道): `towns.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Town {
    /// 12-digit statistical division code, e.g. `500231001000` (桂溪街道).
    pub code: String,
    pub name: String,
    pub kind: TownKind,
    pub centre: Location,
    pub source: String,
}

/// What a site measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteKind {
    /// 环境空气自动监测站
    Air,
    /// 地表水监测断面
    SurfaceWater,
    /// 集中式饮用水水源地
    DrinkingWater,
    /// 噪声监测点
    Noise,
    /// 废气排放口 (固定污染源烟气)
    FlueGas,
    /// 废水排放口
    Wastewater,
    /// 餐饮油烟监测点
    Fume,
}

impl SiteKind {
    pub const ALL: [SiteKind; 7] = [
        SiteKind::Air,
        SiteKind::SurfaceWater,
        SiteKind::DrinkingWater,
        SiteKind::Noise,
        SiteKind::FlueGas,
        SiteKind::Wastewater,
        SiteKind::Fume,
    ];

    /// The snake_case name used in the profile files.
    pub fn as_str(self) -> &'static str {
        match self {
            SiteKind::Air => "air",
            SiteKind::SurfaceWater => "surface_water",
            SiteKind::DrinkingWater => "drinking_water",
            SiteKind::Noise => "noise",
            SiteKind::FlueGas => "flue_gas",
            SiteKind::Wastewater => "wastewater",
            SiteKind::Fume => "fume",
        }
    }
}

impl std::fmt::Display for SiteKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Control level of a station or section (国控/市控/县控).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlLevel {
    /// 国控 / 国考
    National,
    /// 市控
    City,
    /// 县控
    County,
    /// 乡镇
    Township,
}

/// Air station attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AirAttrs {
    pub level: ControlLevel,
    /// Urban (城区) stations count for the county's AQI and good days (优良天数).
    pub urban: bool,
}

/// Which GB 3838 column a water body is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaterBody {
    /// 河流
    River,
    /// 湖泊、水库 (the lake/reservoir column: stricter total phosphorus)
    Lake,
}

/// GB 3838-2002 water quality class (水质类别). 劣V is a measured result, never a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WaterClass {
    I,
    II,
    III,
    IV,
    V,
}

impl WaterClass {
    /// Parse `I`..`V` (Roman numerals, as the plan writes them).
    pub fn parse(s: &str) -> Option<WaterClass> {
        Some(match s {
            "I" => WaterClass::I,
            "II" => WaterClass::II,
            "III" => WaterClass::III,
            "IV" => WaterClass::IV,
            "V" => WaterClass::V,
            _ => return None,
        })
    }
}

/// Surface-water section attributes (地表水断面).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurfaceWaterAttrs {
    pub control_level: ControlLevel,
    /// Target class as text (`"III"`); see [`SurfaceWaterAttrs::target`].
    pub target_class: String,
    pub water_body: WaterBody,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub river: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl SurfaceWaterAttrs {
    /// The target class, if valid.
    pub fn target(&self) -> Option<WaterClass> {
        WaterClass::parse(&self.target_class)
    }
}

/// Drinking-water source scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceScope {
    /// 城市(县城)集中式饮用水水源地 — indicator 8.
    Urban,
    /// 乡镇集中式饮用水水源地 — indicator 9.
    Township,
}

/// What kind of water a drinking-water source takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceType {
    /// 水库型
    Reservoir,
    /// 河流型
    River,
    /// 地下水型
    Groundwater,
}

/// Drinking-water source attributes (集中式饮用水水源地).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrinkingWaterAttrs {
    pub scope: SourceScope,
    pub source_type: SourceType,
    pub water_body: WaterBody,
    pub target_class: String,
}

impl DrinkingWaterAttrs {
    pub fn target(&self) -> Option<WaterClass> {
        WaterClass::parse(&self.target_class)
    }
}

/// GB 3096-2008 acoustic functional zone (声环境功能区).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoiseZone {
    Z0,
    Z1,
    Z2,
    Z3,
    Z4a,
    Z4b,
}

impl NoiseZone {
    pub fn parse(s: &str) -> Option<NoiseZone> {
        Some(match s {
            "0" => NoiseZone::Z0,
            "1" => NoiseZone::Z1,
            "2" => NoiseZone::Z2,
            "3" => NoiseZone::Z3,
            "4a" => NoiseZone::Z4a,
            "4b" => NoiseZone::Z4b,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NoiseZone::Z0 => "0",
            NoiseZone::Z1 => "1",
            NoiseZone::Z2 => "2",
            NoiseZone::Z3 => "3",
            NoiseZone::Z4a => "4a",
            NoiseZone::Z4b => "4b",
        }
    }
}

/// Noise point attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseAttrs {
    /// `0|1|2|3|4a|4b`; see [`NoiseAttrs::zone`].
    pub zone: String,
}

impl NoiseAttrs {
    pub fn zone(&self) -> Option<NoiseZone> {
        NoiseZone::parse(&self.zone)
    }
}

/// The discharge standard an outlet is judged against (排放标准).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DischargeStandard {
    /// e.g. `GB 18918-2002`.
    pub standard: String,
    /// e.g. `一级A`, `表2 新建锅炉 燃气`.
    pub grade: String,
    /// True when the category of the source was assumed (the plan does not say).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub assumed: bool,
}

/// A limit for one pollutant at an outlet (排放限值), by HJ 212-2017 code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollutantLimit {
    /// HJ 212-2017 code, e.g. `a21026` (SO2), `w01018` (COD).
    pub pollutant: String,
    pub name: String,
    /// `mg/m3` (flue gas, at reference O2), `mg/L`, `无量纲` (pH).
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<f64>,
    /// Upper limit when water temperature ≤ 12 °C (GB 18918 NH3-N).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_low_temp: Option<f64>,
    /// Where the number comes from, e.g. `GB 8978-1996 表4 一级 (assumed category)`.
    pub limit_source: String,
}

/// An enterprise outlet as written in `enterprises.json` (排放口).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outlet {
    pub code: String,
    pub name: String,
    /// `flue_gas` or `wastewater`.
    pub kind: SiteKind,
    /// Defaults to the enterprise's location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    pub standard: DischargeStandard,
    /// Reference oxygen content (基准含氧量, %) for flue gas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_o2_pct: Option<f64>,
    /// HJ 212 codes the outlet's analyser reports (flow, O2, temperature…).
    #[serde(default)]
    pub monitored: Vec<String>,
    pub limits: Vec<PollutantLimit>,
}

/// An enterprise (排污单位) and its outlets: `enterprises.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enterprise {
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub industry: String,
    /// 统一社会信用代码, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_code: Option<String>,
    pub town: String,
    pub location: Location,
    pub source: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assumed: Vec<String>,
    pub outlets: Vec<Outlet>,
}

/// Outlet attributes on a [`Site`] of kind flue_gas / wastewater.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutletAttrs {
    /// Code of the owning enterprise.
    pub enterprise: String,
    pub standard: DischargeStandard,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_o2_pct: Option<f64>,
    #[serde(default)]
    pub monitored: Vec<String>,
    pub limits: Vec<PollutantLimit>,
}

impl OutletAttrs {
    /// The limit for one pollutant code.
    pub fn limit(&self, pollutant: &str) -> Option<&PollutantLimit> {
        self.limits.iter().find(|l| l.pollutant == pollutant)
    }
}

/// Restaurant size by number of cooking stoves (基准灶头数), GB 18483-2001.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FumeScale {
    /// 小型: 1–2 stoves
    Small,
    /// 中型: 3–5 stoves
    Medium,
    /// 大型: ≥ 6 stoves
    Large,
}

impl FumeScale {
    pub fn from_stoves(stoves: u8) -> FumeScale {
        match stoves {
            0..=2 => FumeScale::Small,
            3..=5 => FumeScale::Medium,
            _ => FumeScale::Large,
        }
    }
}

/// Restaurant fume monitor attributes (餐饮油烟在线监控).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FumeAttrs {
    pub stoves: u8,
    pub scale: FumeScale,
    /// Maximum allowed fume concentration, mg/m³ (GB 18483-2001: 2.0).
    pub limit_mg_m3: f64,
    /// Minimum purifier removal efficiency for this scale, %.
    pub min_removal_pct: f64,
    /// Opening hours `HH:MM-HH:MM` (Beijing; may run past midnight, e.g. `17:00-02:00`): the
    /// hours the fume monitor is due to report. Absent: the restaurant default 10:00-22:00.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_hours: Option<String>,
}

/// A monitoring site: a station, section, source, noise point, outlet or restaurant.
///
/// Exactly one attribute block — the one named after `kind` — is present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Stable ASCII code, e.g. `AIR-01`, `SW-LJT`, `ENT-ZQBL-01`, `FUME-0001`.
    pub code: String,
    /// Chinese name.
    pub name: String,
    pub kind: SiteKind,
    /// 12-digit code of the town the site lies in.
    pub town: String,
    pub location: Location,
    /// Plan section the site comes from (`规划 专栏二`), or `assumed`.
    pub source: String,
    /// Attributes of this item that are assumptions, not plan facts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assumed: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub air: Option<AirAttrs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface_water: Option<SurfaceWaterAttrs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drinking_water: Option<DrinkingWaterAttrs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<NoiseAttrs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlet: Option<OutletAttrs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fume: Option<FumeAttrs>,
    /// The profile file the site came from (not serialized).
    #[serde(skip)]
    pub file: &'static str,
}

impl Site {
    /// The water-quality target class of a section or drinking-water source.
    pub fn target_class(&self) -> Option<WaterClass> {
        match (&self.surface_water, &self.drinking_water) {
            (Some(s), _) => s.target(),
            (_, Some(d)) => d.target(),
            _ => None,
        }
    }

    /// The GB 3838 column (river or lake/reservoir) a water site is judged on.
    pub fn water_body(&self) -> Option<WaterBody> {
        match (&self.surface_water, &self.drinking_water) {
            (Some(s), _) => Some(s.water_body),
            (_, Some(d)) => Some(d.water_body),
            _ => None,
        }
    }
}

/// The number of towns' restaurants in the fume fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TownCount {
    pub town: String,
    pub count: u32,
}

/// Minimum purifier removal efficiency by scale, % (GB 18483-2001).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemovalBySize {
    pub small: f64,
    pub medium: f64,
    pub large: f64,
}

/// The restaurant fume fleet (餐饮油烟在线监控): `fume.json`. The restaurants themselves are
/// generated deterministically by [`crate::Profile::restaurants`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FumeFleet {
    pub count: u32,
    pub count_source: String,
    pub limit_mg_m3: f64,
    pub limit_source: String,
    pub min_removal_pct: RemovalBySize,
    pub scale_source: String,
    /// Seed of the generator; the same seed gives the same restaurants.
    pub seed: u64,
    /// Maximum distance of a restaurant from its town centre, degrees.
    pub jitter_deg: f64,
    pub distribution: Vec<TownCount>,
    pub distribution_source: String,
}

/// 约束性 (binding) or 预期性 (expected) indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IndicatorType {
    #[serde(rename = "约束性")]
    Binding,
    #[serde(rename = "预期性")]
    Expected,
}

/// Comparison of a value with a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = "=")]
    Equal,
}

impl Direction {
    /// Whether `actual` meets `target` in this direction (`=` allows 1e-9).
    pub fn met(self, actual: f64, target: f64) -> bool {
        match self {
            Direction::AtLeast => actual >= target,
            Direction::AtMost => actual <= target,
            Direction::Equal => (actual - target).abs() < 1e-9,
        }
    }
}

/// Who sets a target the plan does not fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetBy {
    /// 国家 (以国家核定为准)
    State,
    /// 市级 (市级下达)
    City,
    /// 县级
    County,
}

/// A 2025 target of an indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IndicatorTarget {
    /// A number the plan fixes, e.g. `≥ 330` days.
    Numeric { value: f64, direction: Direction },
    /// A figure someone else sets, e.g. `市级下达`.
    Assigned { text: String, set_by: SetBy },
}

/// How an indicator's yearly value is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Computation {
    /// Entered each year by the responsible department.
    Manual,
    /// 环境空气质量优良天数: days with AQI ≤ 100 at the urban stations.
    GoodDays,
    /// 地表水水质优良比例: share of assessed sections at Class III or better.
    SectionsClassIiiShare,
    /// 城市集中式饮用水水源地水质达标率.
    DrinkingWaterComplianceUrban,
    /// 乡镇集中式饮用水水源地水质达标率.
    DrinkingWaterComplianceTownship,
}

/// A plan indicator (规划指标), e.g. one row of 专栏二: `indicators.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// `I01`…`I15`.
    pub code: String,
    /// The plan's 序号.
    pub seq: u32,
    /// 领域, e.g. 环境质量改善.
    pub field: String,
    pub name: String,
    pub unit: String,
    #[serde(rename = "type")]
    pub kind: IndicatorType,
    /// 2020 status (现状值); `None` for "—" (not assessed).
    pub baseline_2020: Option<f64>,
    /// The value is a five-year cumulative figure (the plan's `[ ]`).
    #[serde(default)]
    pub cumulative: bool,
    #[serde(default)]
    pub target_2025: Option<IndicatorTarget>,
    pub computed_from: Computation,
    /// Responsible department for manual indicators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// `assumed` unless the plan names the department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_source: Option<String>,
    #[serde(default)]
    pub notes: Vec<String>,
    pub source: String,
}

/// Another quantified target of the plan text: `targets.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub code: String,
    /// air, water, rural, ecology, complaint, noise, risk…
    pub category: String,
    pub name: String,
    pub year: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// The site the target is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Water class the site must reach or better.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// The value is due every year, not once by `year`.
    #[serde(default)]
    pub per_year: bool,
    /// Hint for the engine: which computation measures progress, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computed_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub source: String,
}

/// A row of the previous plan's completion table (专栏一).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryRow {
    pub seq: u32,
    pub category: String,
    pub name: String,
    pub unit: String,
    /// As written in the plan (may be text such as `完成市下达的目标`).
    pub target_2020: String,
    pub actual_2020: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub source: String,
}

/// 2020 air quality figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Air2020 {
    pub good_days: u32,
    pub pm25_annual_mean_ug_m3: f64,
    pub source: String,
}

/// History: `history.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    #[serde(default)]
    pub indicators: Vec<HistoryRow>,
    /// Emission reductions of 2020 against 2015, %.
    #[serde(default)]
    pub reductions_vs_2015_pct: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reductions_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub air_2020: Option<Air2020>,
}
