//! The period report of enterprise outlets and the restaurant fume fleet (`qingshan report
//! sources`), read from the derived tables `source_hours`, `source_events`, `fume_days`.
//! The JSON shape is a contract (docs/engine-sources.md).

use std::collections::BTreeMap;

use serde::Serialize;
use standards::Date;
use store::sources::{FumeDay, SourceEvent, SourceHour, SourcesStore};

use crate::sources::SourcesEngine;
use crate::time::{date_from_days, day_start_utc, hour_start_of, BEIJING_OFFSET_S};
use crate::Result;

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct SourcesReport {
    pub report: &'static str,
    pub from: String,
    pub to: String,
    /// Hours in the period (the denominator of completeness figures).
    pub period_hours: i64,
    pub policy: PolicyOut,
    pub enterprises: Vec<EnterpriseReport>,
    pub fume: FumeFleetReport,
}

/// The platform policies the figures depend on.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyOut {
    pub min_valid_minutes: i64,
    pub disagree_rel: f64,
    pub disagree_abs: f64,
    pub fume_code: String,
    pub fume_open_hours: [u8; 2],
    pub fume_cleaning_run_hours: f64,
    pub multiple: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnterpriseReport {
    pub enterprise: String,
    pub name: String,
    pub outlets: Vec<OutletReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutletReport {
    pub site: String,
    pub name: String,
    pub kind: &'static str,
    pub standard: String,
    pub reference_o2_pct: Option<f64>,
    /// Hours with any value of a limited pollutant.
    pub hours_with_data: i64,
    /// Hours in which every limited pollutant that has data is valid (and at least one has).
    pub hours_valid: i64,
    pub events_count: i64,
    pub event_hours: i64,
    pub worst_multiple: Option<f64>,
    /// Flow total, m³.
    pub flow_m3: Option<f64>,
    pub pollutants: Vec<PollutantReport>,
    pub events: Vec<EventOut>,
    /// Per Beijing month `YYYY-MM`: flow m³ and code → kg.
    pub monthly_totals: Vec<TotalsOut>,
    /// Per Beijing day (month reports only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_totals: Option<Vec<TotalsOut>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PollutantReport {
    pub code: String,
    pub name: String,
    pub unit: String,
    pub limit_upper: Option<f64>,
    pub limit_lower: Option<f64>,
    pub limit_source: String,
    pub hours_with_data: i64,
    pub hours_valid: i64,
    pub hours_exceeding: i64,
    /// Hours where the device hour and the minutes hour disagree.
    pub disagreements: i64,
    pub events: i64,
    pub event_hours: i64,
    pub open_events: i64,
    pub worst_multiple: Option<f64>,
    pub max_value: Option<f64>,
    /// Total discharged, kg (`None` without amounts).
    pub total_kg: Option<f64>,
    /// Hours whose amount is the device's Cou / computed as concentration × flow.
    pub total_hours_cou: i64,
    pub total_hours_computed: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventOut {
    pub code: String,
    /// Beijing time of the first hour's start, RFC 3339.
    pub start: String,
    /// Beijing time of the last hour's end; `null` while open.
    pub end: Option<String>,
    pub hours: i64,
    pub peak: f64,
    pub peak_multiple: Option<f64>,
    pub limit: f64,
    pub bound: String,
    pub open: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TotalsOut {
    pub period: String,
    pub flow_m3: Option<f64>,
    pub kg: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FumeFleetReport {
    pub limit_mg_m3: Option<f64>,
    /// Restaurants in the profile.
    pub monitored: usize,
    /// Restaurants with at least one reading in the period.
    pub reporting: usize,
    /// Days the online rate is computed over.
    pub days_evaluated: i64,
    /// Percent: expected intervals with data / expected intervals, over every restaurant and
    /// evaluated day (a day without data counts its expected intervals as missing).
    pub online_rate: Option<f64>,
    pub restaurants_with_exceedances: usize,
    pub readings_over: i64,
    pub hours_over: i64,
    pub unpurified_restaurants: usize,
    pub unpurified_occurrences: i64,
    pub unpurified_minutes: f64,
    pub cleaning_due: usize,
    pub restaurants: Vec<RestaurantOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RestaurantOut {
    pub site: String,
    pub name: String,
    pub town: String,
    pub days_with_data: i64,
    pub online_rate: Option<f64>,
    pub readings: i64,
    pub readings_over: i64,
    pub hours_over: i64,
    pub max_value: Option<f64>,
    pub unpurified_occurrences: i64,
    pub unpurified_minutes: f64,
    pub purifier_run_hours_since_cleaning: f64,
    pub cleaning_due: bool,
}

fn beijing(utc: i64) -> String {
    model::format_beijing(utc)
}

fn month_of(utc: i64) -> String {
    let d = hour_start_of(utc).date;
    format!("{:04}-{:02}", d.year(), d.month())
}

fn day_of(utc: i64) -> String {
    date_from_days((utc + BEIJING_OFFSET_S).div_euclid(86_400)).to_string()
}

fn round(x: f64, dp: i32) -> f64 {
    let p = 10f64.powi(dp);
    (x * p).round() / p
}

fn pct(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| round(num as f64 * 100.0 / den as f64, 1))
}

fn max_opt(a: Option<f64>, b: f64) -> Option<f64> {
    Some(a.map_or(b, |a| a.max(b)))
}

/// Totals per bucket (`key` turns an hour start into the bucket label).
fn totals(rows: &[&SourceHour], flow_code: &str, key: fn(i64) -> String) -> Vec<TotalsOut> {
    let mut out: BTreeMap<String, TotalsOut> = BTreeMap::new();
    for h in rows {
        let Some(c) = h.cou else { continue };
        let k = key(h.hour);
        let t = out.entry(k.clone()).or_insert_with(|| TotalsOut {
            period: k,
            flow_m3: None,
            kg: BTreeMap::new(),
        });
        if h.code == flow_code {
            t.flow_m3 = Some(t.flow_m3.unwrap_or(0.0) + c);
        } else {
            *t.kg.entry(h.code.clone()).or_default() += c;
        }
    }
    out.into_values()
        .map(|mut t| {
            t.flow_m3 = t.flow_m3.map(|x| round(x, 3));
            for v in t.kg.values_mut() {
                *v = round(*v, 4);
            }
            t
        })
        .collect()
}

impl SourcesReport {
    /// The report of `from..=to` (Beijing days) as of `now` (UTC s): the fume online rate
    /// counts only the intervals due by then ([`crate::due`]).
    pub fn build(
        store: &dyn SourcesStore,
        engine: &SourcesEngine,
        from: Date,
        to: Date,
        now: i64,
    ) -> Result<SourcesReport> {
        let (t0, t1) = (day_start_utc(from), day_start_utc(to) + 86_400);
        let policy = engine.policy();
        let fp = engine.fume().policy();
        let mut by_ent: BTreeMap<String, EnterpriseReport> = BTreeMap::new();
        let monthly = from.year() != to.year() || from.month() != to.month() || from.day() != 1;
        for o in engine.outlets() {
            let hours = store.source_hours(Some(&o.site), None, t0, t1)?;
            let events = store.source_events(Some(&o.site), None, t0, t1)?;
            let flow_code = match o.kind {
                crate::sources::OutletKind::FlueGas => crate::sources::GAS_FLOW,
                crate::sources::OutletKind::Wastewater => crate::sources::WATER_FLOW,
            };
            let mut by_code: BTreeMap<&str, Vec<&SourceHour>> = BTreeMap::new();
            for h in &hours {
                by_code.entry(h.code.as_str()).or_default().push(h);
            }
            // Outlet-level hours over the limited pollutants.
            let mut hour_state: BTreeMap<i64, bool> = BTreeMap::new();
            let mut pollutants = Vec::new();
            for l in &o.limits {
                let rows = by_code.get(l.code.as_str()).cloned().unwrap_or_default();
                let ev: Vec<&SourceEvent> = events.iter().filter(|e| e.code == l.code).collect();
                for h in &rows {
                    let e = hour_state.entry(h.hour).or_insert(true);
                    *e &= h.valid;
                }
                let cou: Vec<f64> = rows.iter().filter_map(|h| h.cou).collect();
                pollutants.push(PollutantReport {
                    code: l.code.clone(),
                    name: l.name.clone(),
                    unit: l.unit.clone(),
                    limit_upper: l.upper,
                    limit_lower: l.lower,
                    limit_source: l.source.clone(),
                    hours_with_data: rows.len() as i64,
                    hours_valid: rows.iter().filter(|h| h.valid).count() as i64,
                    hours_exceeding: rows.iter().filter(|h| h.exceeds).count() as i64,
                    disagreements: rows.iter().filter(|h| h.disagree).count() as i64,
                    events: ev.len() as i64,
                    event_hours: ev.iter().map(|e| e.hours).sum(),
                    open_events: ev.iter().filter(|e| e.end.is_none()).count() as i64,
                    worst_multiple: ev
                        .iter()
                        .filter_map(|e| e.peak_multiple)
                        .fold(None, max_opt)
                        .map(|x| round(x, 2)),
                    max_value: rows.iter().filter_map(|h| h.value).fold(None, max_opt),
                    total_kg: (!cou.is_empty()).then(|| round(cou.iter().sum(), 4)),
                    total_hours_cou: rows.iter().filter(|h| h.cou_method == "cou").count() as i64,
                    total_hours_computed: rows.iter().filter(|h| h.cou_method == "computed").count()
                        as i64,
                });
            }
            let limited: Vec<&SourceHour> = hours
                .iter()
                .filter(|h| h.code == flow_code || o.limit(&h.code).is_some())
                .collect();
            let flow: Vec<f64> = by_code
                .get(flow_code)
                .map(|v| v.iter().filter_map(|h| h.cou).collect())
                .unwrap_or_default();
            let ev_out: Vec<EventOut> = events
                .iter()
                .map(|e| EventOut {
                    code: e.code.clone(),
                    start: beijing(e.start),
                    end: e.end.map(beijing),
                    hours: e.hours,
                    peak: e.peak,
                    peak_multiple: e.peak_multiple.map(|x| round(x, 2)),
                    limit: e.limit,
                    bound: e.bound.clone(),
                    open: e.end.is_none(),
                })
                .collect();
            let rep = OutletReport {
                site: o.site.clone(),
                name: o.name.clone(),
                kind: o.kind.code(),
                standard: o.standard.clone(),
                reference_o2_pct: o.reference_o2_pct,
                hours_with_data: hour_state.len() as i64,
                hours_valid: hour_state.values().filter(|v| **v).count() as i64,
                events_count: events.len() as i64,
                event_hours: events.iter().map(|e| e.hours).sum(),
                worst_multiple: pollutants
                    .iter()
                    .filter_map(|p| p.worst_multiple)
                    .fold(None, max_opt),
                flow_m3: (!flow.is_empty()).then(|| round(flow.iter().sum(), 3)),
                pollutants,
                events: ev_out,
                monthly_totals: totals(&limited, flow_code, month_of),
                daily_totals: (!monthly).then(|| totals(&limited, flow_code, day_of)),
            };
            by_ent
                .entry(o.enterprise.clone())
                .or_insert_with(|| EnterpriseReport {
                    enterprise: o.enterprise.clone(),
                    name: o.enterprise_name.clone(),
                    outlets: Vec::new(),
                })
                .outlets
                .push(rep);
        }
        let today = hour_start_of(now - 1).date;
        let fume = fume_report(store, engine, from, to.min(today), now)?;
        Ok(SourcesReport {
            report: "sources",
            from: from.to_string(),
            to: to.to_string(),
            period_hours: (t1 - t0) / 3600,
            policy: PolicyOut {
                min_valid_minutes: policy.min_valid_minutes,
                disagree_rel: policy.disagree_rel,
                disagree_abs: policy.disagree_abs,
                fume_code: fp.code.clone(),
                fume_open_hours: [fp.open_from_hour, fp.open_to_hour],
                fume_cleaning_run_hours: fp.cleaning_run_hours,
                multiple: "(C - limit) / limit",
            },
            enterprises: by_ent.into_values().collect(),
            fume,
        })
    }
}

fn fume_report(
    store: &dyn SourcesStore,
    engine: &SourcesEngine,
    from: Date,
    to: Date,
    now: i64,
) -> Result<FumeFleetReport> {
    let fe = engine.fume();
    let fp = fe.policy();
    // Every derived day up to the period end: the cleaning counter starts before the period.
    let all = store.fume_days(None, "0000-01-01", &to.to_string())?;
    let first = all.iter().map(|d| d.day.as_str()).min().map(str::to_string);
    let mut by_site: BTreeMap<&str, Vec<&FumeDay>> = BTreeMap::new();
    for d in &all {
        by_site.entry(d.site.as_str()).or_default().push(d);
    }
    let (from_s, to_s) = (from.to_string(), to.to_string());
    // Evaluated days: from the later of the period start and the first day with fume data.
    let eval_from = match &first {
        Some(f) if *f > from_s => f.parse::<Date>().unwrap_or(from),
        _ => from,
    };
    let days_evaluated = if first.is_none() || eval_from > to {
        0
    } else {
        crate::time::days_from_date(to) - crate::time::days_from_date(eval_from) + 1
    };
    let mut rep = FumeFleetReport {
        limit_mg_m3: fe.restaurants().next().map(|r| r.limit_mg_m3),
        monitored: fe.restaurants().count(),
        reporting: 0,
        days_evaluated,
        online_rate: None,
        restaurants_with_exceedances: 0,
        readings_over: 0,
        hours_over: 0,
        unpurified_restaurants: 0,
        unpurified_occurrences: 0,
        unpurified_minutes: 0.0,
        cleaning_due: 0,
        restaurants: Vec::new(),
    };
    // What each restaurant's monitor owes: from its commissioning (the earliest of its
    // devices'), within its opening hours, ended by `now`. Commissioning unknown: from the
    // first day any restaurant reported (as before).
    let states: BTreeMap<String, store::DeviceState> = store
        .device_states()?
        .into_iter()
        .map(|s| (s.mn.clone(), s))
        .collect();
    let mut spans: BTreeMap<String, crate::due::DueSpan> = BTreeMap::new();
    for d in store.devices()? {
        if !fe.is_restaurant(&d.site) {
            continue;
        }
        let sp = crate::due::DueSpan::of(Some(&d), states.get(&d.mn));
        let e = spans.entry(d.site.clone()).or_insert_with(|| sp.clone());
        e.from = match (e.from, sp.from) {
            (Some(a), Some(b)) => Some(a.min(b)),
            _ => None,
        };
    }
    let eval_days: Vec<Date> = if from <= to {
        crate::time::days(from, to).collect()
    } else {
        Vec::new()
    };
    // Commissioning unknown: due from the first day any restaurant reported (nothing is due
    // while no restaurant ever reported).
    let unknown_from = if first.is_some() {
        day_start_utc(eval_from)
    } else {
        i64::MAX
    };
    let (mut fleet_with, mut fleet_expected) = (0i64, 0i64);
    for r in fe.restaurants() {
        let days = by_site.get(r.site.as_str()).cloned().unwrap_or_default();
        let mut since_cleaning = 0.0;
        for d in &days {
            since_cleaning = if d.last_maintenance.is_some() {
                d.run_hours_after_maintenance
            } else {
                since_cleaning + d.purifier_run_hours
            };
        }
        let in_period: Vec<&&FumeDay> = days
            .iter()
            .filter(|d| d.day >= from_s && d.day <= to_s)
            .collect();
        // Expected intervals of a day without data: the restaurant's most common interval.
        let mut iv: BTreeMap<i64, usize> = BTreeMap::new();
        for d in &in_period {
            *iv.entry(d.interval_s).or_default() += 1;
        }
        let interval = iv
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(i, _)| *i)
            .unwrap_or(3600)
            .max(1);
        let mut span = spans.get(&r.site).cloned().unwrap_or_default();
        span.from = span.from.or(Some(unknown_from));
        let due = crate::due::Due {
            span,
            window: fe.open_hours(r),
            now,
        };
        let by_day: BTreeMap<&str, &&FumeDay> =
            in_period.iter().map(|d| (d.day.as_str(), *d)).collect();
        let (mut with, mut expected) = (0i64, 0i64);
        for day in &eval_days {
            let key = day.to_string();
            let row = by_day.get(key.as_str());
            let step = row.map_or(interval, |d| d.interval_s.max(1));
            let e = due.slots(day_start_utc(*day), step);
            expected += e;
            with += row.map_or(0, |d| d.with_data.min(e));
        }
        fleet_with += with;
        fleet_expected += expected;
        let out = RestaurantOut {
            site: r.site.clone(),
            name: r.name.clone(),
            town: r.town.clone(),
            days_with_data: in_period.iter().filter(|d| d.readings > 0).count() as i64,
            online_rate: pct(with, expected),
            readings: in_period.iter().map(|d| d.readings).sum(),
            readings_over: in_period.iter().map(|d| d.readings_over).sum(),
            hours_over: in_period.iter().map(|d| d.hours_over).sum(),
            max_value: in_period
                .iter()
                .filter_map(|d| d.max_value)
                .fold(None, max_opt),
            unpurified_occurrences: in_period.iter().map(|d| d.unpurified_occurrences).sum(),
            unpurified_minutes: in_period.iter().map(|d| d.unpurified_minutes).sum(),
            purifier_run_hours_since_cleaning: round(since_cleaning, 2),
            cleaning_due: since_cleaning >= fp.cleaning_run_hours,
        };
        if out.readings > 0 {
            rep.reporting += 1;
        }
        if out.readings_over > 0 {
            rep.restaurants_with_exceedances += 1;
        }
        if out.unpurified_occurrences > 0 {
            rep.unpurified_restaurants += 1;
        }
        if out.cleaning_due {
            rep.cleaning_due += 1;
        }
        rep.readings_over += out.readings_over;
        rep.hours_over += out.hours_over;
        rep.unpurified_occurrences += out.unpurified_occurrences;
        rep.unpurified_minutes += out.unpurified_minutes;
        rep.restaurants.push(out);
    }
    rep.online_rate = pct(fleet_with, fleet_expected);
    Ok(rep)
}

/// CSV columns of the outlet section (one row per outlet and limited pollutant).
pub const CSV_OUTLET_COLUMNS: [&str; 18] = [
    "enterprise",
    "site",
    "kind",
    "code",
    "name",
    "unit",
    "limit_upper",
    "limit_lower",
    "hours_with_data",
    "hours_valid",
    "hours_exceeding",
    "disagreements",
    "events",
    "event_hours",
    "open_events",
    "worst_multiple",
    "total_kg",
    "outlet_flow_m3",
];

/// CSV columns of the fume section (one row `fleet`).
pub const CSV_FUME_COLUMNS: [&str; 12] = [
    "fume",
    "monitored",
    "reporting",
    "days_evaluated",
    "online_rate",
    "restaurants_with_exceedances",
    "readings_over",
    "hours_over",
    "unpurified_restaurants",
    "unpurified_occurrences",
    "unpurified_minutes",
    "cleaning_due",
];

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_line(w: &mut dyn std::io::Write, fields: &[String]) -> std::io::Result<()> {
    let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    writeln!(w, "{}", line.join(","))
}

impl SourcesReport {
    /// Two CSV sections separated by an empty line: outlets × pollutants, then the fume fleet.
    pub fn write_csv(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let o = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        csv_line(w, &CSV_OUTLET_COLUMNS.map(str::to_string))?;
        for e in &self.enterprises {
            for out in &e.outlets {
                for p in &out.pollutants {
                    csv_line(
                        w,
                        &[
                            e.enterprise.clone(),
                            out.site.clone(),
                            out.kind.to_string(),
                            p.code.clone(),
                            p.name.clone(),
                            p.unit.clone(),
                            o(p.limit_upper),
                            o(p.limit_lower),
                            p.hours_with_data.to_string(),
                            p.hours_valid.to_string(),
                            p.hours_exceeding.to_string(),
                            p.disagreements.to_string(),
                            p.events.to_string(),
                            p.event_hours.to_string(),
                            p.open_events.to_string(),
                            o(p.worst_multiple),
                            o(p.total_kg),
                            o(out.flow_m3),
                        ],
                    )?;
                }
            }
        }
        writeln!(w)?;
        let f = &self.fume;
        csv_line(w, &CSV_FUME_COLUMNS.map(str::to_string))?;
        csv_line(
            w,
            &[
                "fleet".to_string(),
                f.monitored.to_string(),
                f.reporting.to_string(),
                f.days_evaluated.to_string(),
                o(f.online_rate),
                f.restaurants_with_exceedances.to_string(),
                f.readings_over.to_string(),
                f.hours_over.to_string(),
                f.unpurified_restaurants.to_string(),
                f.unpurified_occurrences.to_string(),
                f.unpurified_minutes.to_string(),
                f.cleaning_due.to_string(),
            ],
        )
    }
}

/// Today's Beijing date.
pub fn beijing_today() -> Date {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    date_from_days((now + BEIJING_OFFSET_S).div_euclid(86_400))
}
