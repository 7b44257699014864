//! `report water`: per section the target class, the class per month and of the period,
//! met / not met, main pollutants with multiples; the county's river status and share of
//! sections at Class III or better; drinking-water sources with compliance per month and the
//! period rate, urban and township. Built from `water_days` only. JSON contract:
//! docs/engine-water.md.

use std::collections::BTreeMap;

use serde::Serialize;
use standards::rounding::gbt8170;
use standards::water::{self, WaterBody, WaterClass, WaterItem};
use standards::{Date, Decimal};
use store::water::WaterStore;

use crate::water::{
    pct, DrinkingCompliance, PeriodEval, SourceScope, WaterEngine, WaterSite, WaterSiteKind,
};
use crate::Result;

/// Evaluation method cited in the report.
pub const METHOD: &str =
    "GB3838-2002 + 环办〔2011〕22号 (day = mean of valid hours; month/year = mean of daily means)";

/// The water report.
#[derive(Debug, Clone, Serialize)]
pub struct WaterReport {
    /// `"water"`.
    pub report: &'static str,
    /// First day `YYYY-MM-DD`.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Evaluation method.
    pub method: &'static str,
    /// Surface-water sections.
    pub sections: Vec<SectionReport>,
    /// The county's river status from its sections.
    pub river_status: RiverStatusReport,
    /// Each river's status from its own sections (same rule), by the profile's `river`;
    /// sections on the lake/reservoir column or without a river name are not in a river.
    pub rivers: Vec<RiverReport>,
    /// Share of sections at Class III or better (indicator 7 rule).
    pub share_iii_or_better: ShareReport,
    /// Drinking-water sources.
    pub drinking_water: DrinkingReport,
}

/// A main pollutant with its exceedance multiple against Class III.
#[derive(Debug, Clone, Serialize)]
pub struct MainPollutant {
    /// Item key (`NH3N`).
    pub item: String,
    /// Chinese name.
    pub name: String,
    /// Item class.
    pub class: String,
    /// (C − Class III limit) / Class III limit, 2 decimals; `null` for DO and pH.
    pub multiple: Option<f64>,
}

/// Class of one period (a month or the whole report period).
#[derive(Debug, Clone, Serialize)]
pub struct PeriodEntry {
    /// `YYYY-MM` for months, `"period"` for the whole period.
    pub period: String,
    /// GB 3838 class (`I`…`V`, `劣V`), `null` without data.
    pub class: Option<String>,
    /// 水质状况.
    pub status: Option<String>,
    /// Class no worse than the target (`null` without class or target).
    pub met: Option<bool>,
    /// Days with data.
    pub days: usize,
    /// Main pollutants (class worse than III).
    pub main_pollutants: Vec<MainPollutant>,
}

/// Lake trophic state.
#[derive(Debug, Clone, Serialize)]
pub struct TliReport {
    /// TLI(Σ), 2 decimals; `null` when an input is missing.
    pub value: Option<f64>,
    /// 贫营养 … 重度富营养.
    pub state: Option<String>,
    /// Inputs the data lacks (`Chla`, `SD`, `TP`, `TN`, `CODMn`).
    pub missing: Vec<String>,
}

/// One section.
#[derive(Debug, Clone, Serialize)]
pub struct SectionReport {
    /// Site code.
    pub site: String,
    /// Name.
    pub name: String,
    /// River.
    pub river: Option<String>,
    /// `river` / `lake`.
    pub water_body: &'static str,
    /// Target class.
    pub target_class: Option<String>,
    /// Class of the period.
    pub class: Option<String>,
    /// 水质状况 of the period.
    pub status: Option<String>,
    /// Period class meets the target.
    pub met: Option<bool>,
    /// Days with data.
    pub days: usize,
    /// Main pollutants of the period.
    pub main_pollutants: Vec<MainPollutant>,
    /// Exceedance multiple against Class III of every item above Class III (not pH/DO).
    pub exceed: BTreeMap<String, f64>,
    /// Period means per item (4 decimals, display only).
    pub means: BTreeMap<String, f64>,
    /// Evaluation items absent from the data.
    pub missing: Vec<String>,
    /// Per month.
    pub months: Vec<PeriodEntry>,
    /// Trophic state (lake/reservoir column only).
    pub tli: Option<TliReport>,
}

/// River status.
#[derive(Debug, Clone, Serialize)]
pub struct RiverStatusReport {
    /// 优 / 良好 / 轻度污染 / 中度污染 / 重度污染, `null` without data.
    pub status: Option<String>,
    /// `share_of_sections` (≥ 5 sections) or `mean_of_sections` (fewer: each item averaged
    /// over the sections, classed as one section), 环办〔2011〕22号.
    pub basis: Option<&'static str>,
    /// Sections with a period class.
    pub sections: usize,
    /// Share of I–III, percent (1 dp).
    pub iii_or_better_pct: Option<f64>,
    /// Share of 劣V, percent (1 dp).
    pub worse_than_v_pct: Option<f64>,
    /// Class of the averaged sample (`mean_of_sections` only).
    pub class: Option<String>,
}

/// One river: its sections and their status (环办〔2011〕22号 river rule over them).
#[derive(Debug, Clone, Serialize)]
pub struct RiverReport {
    /// River name (the profile's `river`).
    pub river: String,
    /// Site codes of its sections (river column), in profile order.
    pub sections: Vec<String>,
    /// Sections with a period class.
    pub sections_evaluated: usize,
    /// 优 / 良好 / 轻度污染 / 中度污染 / 重度污染, `null` without data.
    pub status: Option<String>,
    /// `share_of_sections` (≥ 5 sections) or `mean_of_sections`.
    pub basis: Option<&'static str>,
    /// Share of I–III, percent (1 dp).
    pub iii_or_better_pct: Option<f64>,
    /// Share of 劣V, percent (1 dp).
    pub worse_than_v_pct: Option<f64>,
    /// Class of the averaged sample (`mean_of_sections` only).
    pub class: Option<String>,
}

/// Share of sections at Class III or better.
#[derive(Debug, Clone, Serialize)]
pub struct ShareReport {
    /// Percent, 1 decimal.
    pub pct: Option<f64>,
    /// Sections with a period class.
    pub evaluated: usize,
    /// Of those, Class I–III.
    pub at_or_better: usize,
    /// Sections of the profile.
    pub sections: usize,
}

/// Drinking-water part.
#[derive(Debug, Clone, Serialize)]
pub struct DrinkingReport {
    /// Urban sources (indicator 8).
    pub urban: DrinkingCompliance,
    /// Township sources (indicator 9).
    pub township: DrinkingCompliance,
    /// Every source.
    pub sources: Vec<SourceReport>,
}

/// A month of a source.
#[derive(Debug, Clone, Serialize)]
pub struct SourceMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// Class of the month.
    pub class: Option<String>,
    /// Class I–III and every Table 2/3 item within its limit (`null` without class).
    pub compliant: Option<bool>,
    /// Days with data.
    pub days: usize,
    /// Items that failed: main pollutants above Class III and Table 2/3 items over limit.
    pub failed: Vec<String>,
}

/// One drinking-water source.
#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    /// Site code.
    pub site: String,
    /// Name.
    pub name: String,
    /// `urban` / `township`.
    pub scope: &'static str,
    /// `river` / `lake`.
    pub water_body: &'static str,
    /// Whether assessed (groundwater sources are not).
    pub assessed: bool,
    /// Class of the period (mean of the daily means).
    pub class: Option<String>,
    /// Period compliance.
    pub compliant: Option<bool>,
    /// Months assessed.
    pub assessed_months: usize,
    /// Months compliant.
    pub compliant_months: usize,
    /// compliant / assessed months, percent (1 dp).
    pub rate_pct: Option<f64>,
    /// Per month.
    pub months: Vec<SourceMonth>,
    /// Trophic state (reservoirs).
    pub tli: Option<TliReport>,
}

fn f4(d: Decimal) -> f64 {
    gbt8170(d, 4).to_string().parse().unwrap_or(f64::NAN)
}

fn dec_f(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(f64::NAN)
}

fn body_code(b: WaterBody) -> &'static str {
    match b {
        WaterBody::River => "river",
        WaterBody::LakeReservoir => "lake",
    }
}

fn main_pollutants(p: &PeriodEval) -> Vec<MainPollutant> {
    let items = p
        .evaluation
        .as_ref()
        .map(|e| e.items.clone())
        .unwrap_or_default();
    p.main_pollutants()
        .into_iter()
        .map(|(i, m)| MainPollutant {
            item: i.key().to_string(),
            name: i.row().name_cn.to_string(),
            class: items
                .iter()
                .find(|(x, _)| *x == i)
                .map(|(_, c)| c.code().to_string())
                .unwrap_or_default(),
            multiple: m.map(dec_f),
        })
        .collect()
}

fn tli_report(p: &PeriodEval) -> Option<TliReport> {
    p.tli.as_ref().map(|t| TliReport {
        value: t.value.map(|v| (v * 100.0).round() / 100.0),
        state: t.state.map(|s| s.name_cn().to_string()),
        missing: t.missing.iter().map(|s| s.to_string()).collect(),
    })
}

fn entry(period: String, p: &PeriodEval, target: Option<WaterClass>) -> PeriodEntry {
    PeriodEntry {
        period,
        class: p.class().map(|c| c.code().to_string()),
        status: p.class().map(|c| c.status().name_cn().to_string()),
        met: p.met(target),
        days: p.days,
        main_pollutants: main_pollutants(p),
    }
}

impl WaterReport {
    /// Builds the report for `[from, to]` from the derived days.
    pub fn build(
        store: &dyn WaterStore,
        engine: &WaterEngine,
        from: Date,
        to: Date,
    ) -> Result<WaterReport> {
        let mut sections = Vec::new();
        let mut section_evals: Vec<PeriodEval> = Vec::new();
        // river → (section codes, evaluations)
        let mut by_river: Vec<(String, Vec<String>, Vec<PeriodEval>)> = Vec::new();
        let mut drinking = Vec::new();
        for ws in engine.sites() {
            let rows = engine.days_of(store, &ws.site, from, to)?;
            let p = engine.period_eval(ws, &rows);
            let months = engine.monthly(ws, &rows);
            match ws.kind {
                WaterSiteKind::Section => {
                    sections.push(section_report(ws, &p, &months));
                    if let (Some(river), WaterBody::River) = (&ws.river, ws.body) {
                        match by_river.iter_mut().find(|(r, _, _)| r == river) {
                            Some((_, codes, evals)) => {
                                codes.push(ws.site.clone());
                                evals.push(p.clone());
                            }
                            None => by_river.push((
                                river.clone(),
                                vec![ws.site.clone()],
                                vec![p.clone()],
                            )),
                        }
                    }
                    section_evals.push(p);
                }
                WaterSiteKind::Source { scope, groundwater } => {
                    drinking.push(source_report(ws, scope, groundwater, &p, &months));
                }
            }
        }
        let classes: Vec<WaterClass> = section_evals.iter().filter_map(|p| p.class()).collect();
        let share = ShareReport {
            pct: water::share_iii_or_better_pct(&classes).map(|d| dec_f(gbt8170(d, 1))),
            evaluated: classes.len(),
            at_or_better: classes.iter().filter(|c| c.is_iii_or_better()).count(),
            sections: sections.len(),
        };
        let county_status = river_status(&section_evals, &classes);
        let rivers = by_river
            .into_iter()
            .map(|(river, codes, evals)| {
                let classes: Vec<WaterClass> = evals.iter().filter_map(|p| p.class()).collect();
                let st = river_status(&evals, &classes);
                RiverReport {
                    river,
                    sections: codes,
                    sections_evaluated: st.sections,
                    status: st.status,
                    basis: st.basis,
                    iii_or_better_pct: st.iii_or_better_pct,
                    worse_than_v_pct: st.worse_than_v_pct,
                    class: st.class,
                }
            })
            .collect();
        Ok(WaterReport {
            report: "water",
            from: from.to_string(),
            to: to.to_string(),
            method: METHOD,
            sections,
            river_status: county_status,
            rivers,
            share_iii_or_better: share,
            drinking_water: DrinkingReport {
                urban: engine.drinking_water_compliance_between(
                    store,
                    from,
                    to,
                    SourceScope::Urban,
                )?,
                township: engine.drinking_water_compliance_between(
                    store,
                    from,
                    to,
                    SourceScope::Township,
                )?,
                sources: drinking,
            },
        })
    }
}

fn section_report(
    ws: &WaterSite,
    p: &PeriodEval,
    months: &[(String, PeriodEval)],
) -> SectionReport {
    let e = p.evaluation.as_ref();
    SectionReport {
        site: ws.site.clone(),
        name: ws.name.clone(),
        river: ws.river.clone(),
        water_body: body_code(ws.body),
        target_class: ws.target.map(|c| c.code().to_string()),
        class: p.class().map(|c| c.code().to_string()),
        status: p.class().map(|c| c.status().name_cn().to_string()),
        met: p.met(ws.target),
        days: p.days,
        main_pollutants: main_pollutants(p),
        exceed: e
            .map(|e| {
                e.exceed
                    .iter()
                    .map(|(i, m)| (i.key().to_string(), dec_f(gbt8170(*m, 2))))
                    .collect()
            })
            .unwrap_or_default(),
        means: p.means.iter().map(|(k, v)| (k.clone(), f4(*v))).collect(),
        missing: e
            .map(|e| e.missing.iter().map(|i| i.key().to_string()).collect())
            .unwrap_or_else(|| {
                water::EVALUATION_ITEMS
                    .iter()
                    .map(|i| i.key().to_string())
                    .collect()
            }),
        months: months
            .iter()
            .map(|(m, pm)| entry(m.clone(), pm, ws.target))
            .collect(),
        tli: tli_report(p),
    }
}

fn failed(p: &PeriodEval) -> Vec<String> {
    let mut out: Vec<String> = p
        .evaluation
        .as_ref()
        .map(|e| {
            e.items
                .iter()
                .filter(|(_, c)| !c.is_iii_or_better())
                .map(|(i, _)| i.key().to_string())
                .collect()
        })
        .unwrap_or_default();
    out.extend(
        p.extras
            .iter()
            .filter(|x| !x.compliant)
            .map(|x| x.key.clone()),
    );
    out
}

fn source_report(
    ws: &WaterSite,
    scope: SourceScope,
    groundwater: bool,
    p: &PeriodEval,
    months: &[(String, PeriodEval)],
) -> SourceReport {
    let ms: Vec<SourceMonth> = months
        .iter()
        .map(|(m, pm)| SourceMonth {
            month: m.clone(),
            class: pm.class().map(|c| c.code().to_string()),
            compliant: if groundwater {
                None
            } else {
                pm.source_compliant()
            },
            days: pm.days,
            failed: failed(pm),
        })
        .collect();
    let assessed = ms.iter().filter(|m| m.compliant.is_some()).count();
    let compliant = ms.iter().filter(|m| m.compliant == Some(true)).count();
    SourceReport {
        site: ws.site.clone(),
        name: ws.name.clone(),
        scope: scope.code(),
        water_body: body_code(ws.body),
        assessed: !groundwater,
        class: p.class().map(|c| c.code().to_string()),
        compliant: if groundwater {
            None
        } else {
            p.source_compliant()
        },
        assessed_months: assessed,
        compliant_months: compliant,
        rate_pct: pct(compliant, assessed),
        months: ms,
        tli: tli_report(p),
    }
}

fn river_status(evals: &[PeriodEval], classes: &[WaterClass]) -> RiverStatusReport {
    let share = |f: &dyn Fn(&WaterClass) -> bool| {
        pct(classes.iter().filter(|c| f(c)).count(), classes.len())
    };
    let mut r = RiverStatusReport {
        status: None,
        basis: None,
        sections: classes.len(),
        iii_or_better_pct: share(&|c| c.is_iii_or_better()),
        worse_than_v_pct: share(&|c| *c == WaterClass::WorseThanV),
        class: None,
    };
    if classes.is_empty() {
        return r;
    }
    match water::river_status(classes) {
        Ok(s) => {
            r.status = Some(s.name_cn().to_string());
            r.basis = Some("share_of_sections");
        }
        Err(_) => {
            // Fewer than 5 sections: each item averaged over the sections, classed as one.
            let samples: Vec<Vec<(WaterItem, Decimal)>> = evals
                .iter()
                .filter(|p| p.class().is_some())
                .map(|p| {
                    WaterItem::ALL
                        .into_iter()
                        .filter_map(|i| p.means.get(i.key()).map(|v| (i, *v)))
                        .collect()
                })
                .collect();
            let mean = water::mean_sample(&samples);
            let c = water::evaluate_sample(WaterBody::River, &mean)
                .ok()
                .and_then(|e| e.class);
            r.class = c.map(|c| c.code().to_string());
            r.status = c.map(|c| c.status().name_cn().to_string());
            r.basis = Some("mean_of_sections");
        }
    }
    r
}
