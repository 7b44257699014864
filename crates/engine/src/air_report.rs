//! The period report (year, or one month of it) per station and for the county, read from the
//! derived table `air_days` only. The JSON shape is a contract (docs/engine.md).

use serde::Serialize;
use standards::ambient::{self, AmbientPollutant};
use standards::aqi::{self, AqiStandard};
use standards::assessment::{self, CompositeInputs, Statistic};
use standards::rounding::gbt8170;
use standards::versions::{air_rules_on, AirRuleSet, AIR_2026_IN_FORCE};
use standards::{Date, Decimal};
use store::{AirDay, Store, COUNTY_SITE};

use crate::air::{daily_aqi, day_conc, o3_8h_limit, AirEngine, POLLUTANTS, ZONE};
use crate::Result;

/// Which rules judge the days of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulesChoice {
    /// Each day by the rule set in force on it (HJ 633-2012 before 2026-03-01, then 2026).
    ByDate,
    /// The whole period under one AQI version (trend comparison), clearly labelled.
    Fixed(AqiStandard),
}

impl RulesChoice {
    /// `by_date`, `HJ633-2012`, `HJ633-2026`.
    pub fn label(self) -> &'static str {
        match self {
            RulesChoice::ByDate => "by_date",
            RulesChoice::Fixed(s) => s.code(),
        }
    }

    fn rules_for_day(self, d: Date) -> AirRuleSet {
        match self {
            RulesChoice::ByDate => air_rules_on(d),
            RulesChoice::Fixed(AqiStandard::Hj633_2012) => air_rules_on(AIR_2026_IN_FORCE.pred()),
            RulesChoice::Fixed(AqiStandard::Hj633_2026) => air_rules_on(d.max(AIR_2026_IN_FORCE)),
        }
    }
}

/// One entry of `daily`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DailyEntry {
    /// Beijing natural day.
    pub date: String,
    /// Daily AQI (`null` = NA).
    pub aqi: Option<u16>,
    /// Level 1–6.
    pub level: Option<u8>,
    /// 类别 (优, 良, …).
    pub category: Option<&'static str>,
    /// Primary pollutants (HJ 633 indicator names: `PM25_24H`, `O3_8H`, …).
    pub primary: Vec<String>,
    /// HJ 633 version that judged the day.
    pub rules: &'static str,
}

/// Attainment per GB 3095 (HJ 663 annual items).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Attainment {
    /// GB 3095 rule set and zone the statistics were compared with.
    pub ambient_standard: &'static str,
    /// Zone class.
    pub zone: &'static str,
    /// Whether every pollutant was evaluated and attains (`null` when one is missing).
    pub attains: Option<bool>,
    /// Per pollutant.
    pub pollutants: std::collections::BTreeMap<&'static str, bool>,
    /// Every statistic: `{"item":"PM2.5 p95","value":…,"limit":…,"attains":…}`.
    pub items: Vec<serde_json_like::Item>,
    /// GB 3095 Table 4: ≥ 324 valid days and ≥ 27 per month (25 in Feb) for every annual mean
    /// (year reports only; `null` for a month).
    pub annual_data_sufficient: Option<bool>,
}

/// Small serializable helper types.
pub mod serde_json_like {
    use serde::Serialize;
    /// One annual statistic.
    #[derive(Debug, Clone, Serialize, PartialEq)]
    pub struct Item {
        pub pollutant: &'static str,
        pub statistic: String,
        pub value: f64,
        pub limit: f64,
        pub attains: bool,
        pub exceedance_multiple: Option<f64>,
    }
}

/// The report of one station or of the county.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AreaReport {
    /// Site code, or `_county`.
    pub site: String,
    pub valid_days: usize,
    pub good_days: usize,
    /// 优良天数比例, percent, 1 decimal (GB/T 8170 once).
    pub good_days_ratio: Option<f64>,
    pub heavy_days: usize,
    pub severe_days: usize,
    #[serde(rename = "PM25_annual_mean")]
    pub pm25_annual_mean: Option<f64>,
    #[serde(rename = "PM10_annual_mean")]
    pub pm10_annual_mean: Option<f64>,
    #[serde(rename = "SO2_annual_mean")]
    pub so2_annual_mean: Option<f64>,
    #[serde(rename = "NO2_annual_mean")]
    pub no2_annual_mean: Option<f64>,
    #[serde(rename = "CO_24H_p95")]
    pub co_24h_p95: Option<f64>,
    #[serde(rename = "O3_8H_p90")]
    pub o3_8h_p90: Option<f64>,
    /// 综合指数 under the assessment rules of the period; `null` under HJ 663-2026 (unverified).
    pub composite_index: Option<f64>,
    /// The 2012-definition index (环办〔2014〕64号) for trend comparison, always given when
    /// the six statistics exist.
    pub composite_index_2012: Option<f64>,
    /// Why `composite_index` is null, if it is.
    pub composite_index_note: Option<String>,
    pub attainment: Attainment,
    pub daily: Vec<DailyEntry>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AirReport {
    pub report: &'static str,
    /// First and last day (Beijing).
    pub from: String,
    pub to: String,
    /// `by_date` or a fixed HJ 633 version.
    pub rules: &'static str,
    /// HJ 633 versions that judged at least one day.
    pub aqi_standards: Vec<&'static str>,
    /// HJ 663 version of the annual statistics (that of the period's last day, or fixed).
    pub assessment_standard: &'static str,
    /// Sites averaged into the county's daily values.
    pub county_sites: Vec<String>,
    pub county: AreaReport,
    pub stations: Vec<AreaReport>,
}

fn f(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(f64::NAN)
}

impl AirReport {
    /// Builds the report for `from..=to` from `air_days` (call [`AirEngine::catch_up`] first).
    pub fn build(
        store: &dyn Store,
        engine: &AirEngine,
        from: Date,
        to: Date,
        rules: RulesChoice,
    ) -> Result<AirReport> {
        let rows = store.air_days(None, &from.to_string(), &to.to_string())?;
        let period_rules = rules.rules_for_day(to);
        let year_report =
            from.month() == 1 && from.day() == 1 && to.month() == 12 && to.day() == 31;
        let mut aqi_standards = std::collections::BTreeSet::new();
        let mut area = |site: &str| -> AreaReport {
            let mine: Vec<&AirDay> = rows.iter().filter(|r| r.site == site).collect();
            let rep = area_report(site, &mine, rules, period_rules, year_report);
            for d in &rep.daily {
                aqi_standards.insert(d.rules);
            }
            rep
        };
        let county = area(COUNTY_SITE);
        let stations: Vec<AreaReport> = engine.stations().map(|s| area(&s.site)).collect();
        Ok(AirReport {
            report: "air",
            from: from.to_string(),
            to: to.to_string(),
            rules: rules.label(),
            aqi_standards: aqi_standards.into_iter().collect(),
            assessment_standard: period_rules.assessment.code(),
            county_sites: engine.county_sites(),
            county,
            stations,
        })
    }
}

fn area_report(
    site: &str,
    rows: &[&AirDay],
    rules: RulesChoice,
    period_rules: AirRuleSet,
    year_report: bool,
) -> AreaReport {
    let mut daily = Vec::new();
    let mut values: [Vec<Decimal>; 6] = Default::default();
    let mut per_month = [[0usize; 12]; 6];
    for r in rows {
        let Ok(date) = r.day.parse::<Date>() else {
            continue;
        };
        let day_rules = rules.rules_for_day(date);
        let limit = match rules {
            RulesChoice::ByDate => None,
            RulesChoice::Fixed(_) => Some(
                ambient::limit(
                    day_rules.ambient,
                    AmbientPollutant::O3,
                    ambient::AveragingPeriod::DailyMax8h,
                    ZONE,
                )
                .unwrap_or_else(|| o3_8h_limit(date)),
            ),
        };
        let conc = day_conc(r, limit);
        let (aqi, level) = match rules {
            // The stored judgement is the by-date one.
            RulesChoice::ByDate => (
                r.aqi.and_then(|a| u16::try_from(a).ok()),
                r.level.and_then(|l| u8::try_from(l).ok()),
            ),
            RulesChoice::Fixed(std) => {
                let (a, l, _) = daily_aqi(std, &conc);
                (a, l)
            }
        };
        let primary = match rules {
            RulesChoice::ByDate => r
                .primary
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            RulesChoice::Fixed(std) => daily_aqi(std, &conc).2,
        };
        daily.push(DailyEntry {
            date: r.day.clone(),
            aqi,
            level,
            category: aqi.map(|a| aqi::category(a).name_cn),
            primary,
            rules: day_rules.aqi.code(),
        });
        for (i, v) in conc.c.iter().enumerate() {
            if let Some(v) = v {
                values[i].push(*v);
                per_month[i][usize::from(date.month() - 1)] += 1;
            }
        }
    }
    let counts = assessment::count_days(&daily.iter().map(|d| d.aqi).collect::<Vec<Option<u16>>>());
    let inputs: Vec<(AmbientPollutant, &[Decimal])> = POLLUTANTS
        .iter()
        .zip(values.iter())
        .map(|(p, v)| (*p, v.as_slice()))
        .collect();
    let eval = assessment::evaluate_annual(period_rules.ambient, ZONE, &inputs);
    let stat = |p: AmbientPollutant, st: Statistic| {
        eval.stats
            .iter()
            .find(|s| s.item.pollutant == p && s.item.statistic == st)
            .map(|s| s.value)
    };
    use AmbientPollutant as P;
    let pm25 = stat(P::Pm25, Statistic::AnnualMean);
    let pm10 = stat(P::Pm10, Statistic::AnnualMean);
    let so2 = stat(P::So2, Statistic::AnnualMean);
    let no2 = stat(P::No2, Statistic::AnnualMean);
    let co = stat(P::Co, Statistic::Percentile(95));
    let o3 = stat(P::O3, Statistic::Percentile(90));
    let inputs = match (so2, no2, pm10, pm25, co, o3) {
        (Some(so2), Some(no2), Some(pm10), Some(pm25), Some(co_p95), Some(o3_p90)) => {
            Some(CompositeInputs {
                so2,
                no2,
                pm10,
                pm25,
                co_p95,
                o3_p90,
            })
        }
        _ => None,
    };
    let (ci, ci2012, note) = match &inputs {
        None => (
            None,
            None,
            Some("not all six annual statistics are available".to_string()),
        ),
        Some(c) => {
            let c2012 = assessment::composite_index_2012(c).value;
            match assessment::composite_index(period_rules.assessment, c) {
                Ok(ci) => (Some(f(ci.value)), Some(f(c2012)), None),
                Err(e) => (None, Some(f(c2012)), Some(e.to_string())),
            }
        }
    };
    let annual_data_sufficient = year_report.then(|| {
        (0..4).all(|i| ambient::annual_mean_valid(&per_month[i])) // PM2.5, PM10, SO2, NO2
    });
    let attainment = Attainment {
        ambient_standard: period_rules.ambient.code(),
        zone: "class2",
        attains: eval.attains,
        pollutants: eval
            .pollutants
            .iter()
            .map(|(p, a)| (p.name(), *a))
            .collect(),
        items: eval
            .stats
            .iter()
            .map(|s| serde_json_like::Item {
                pollutant: s.item.pollutant.name(),
                statistic: match s.item.statistic {
                    Statistic::AnnualMean => "annual_mean".to_string(),
                    Statistic::Percentile(p) => format!("p{p}"),
                },
                value: f(s.value),
                limit: f(s.limit),
                attains: s.attains,
                exceedance_multiple: s.exceedance_multiple.map(|m| f(gbt8170(m, 2))),
            })
            .collect(),
        annual_data_sufficient,
    };
    AreaReport {
        site: site.to_string(),
        valid_days: counts.valid_days,
        good_days: counts.good_days,
        good_days_ratio: counts.good_ratio_pct().map(|r| f(gbt8170(r, 1))),
        heavy_days: counts.heavy_days,
        severe_days: counts.severe_days,
        pm25_annual_mean: pm25.map(f),
        pm10_annual_mean: pm10.map(f),
        so2_annual_mean: so2.map(f),
        no2_annual_mean: no2.map(f),
        co_24h_p95: co.map(f),
        o3_8h_p90: o3.map(f),
        composite_index: ci,
        composite_index_2012: ci2012,
        composite_index_note: note,
        attainment,
        daily,
    }
}
