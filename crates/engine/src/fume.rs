//! Restaurant fume (餐饮油烟在线监控): one derived row per restaurant and Beijing day
//! (`fume_days`). Rules (docs/engine-sources.md):
//!
//! - readings: the day's 2051 minute records of the fume code (default `a34041`, configurable:
//!   the Std has none, hj212.md §1.12) when there are any, else its 2061 hour records; field
//!   `Avg`, flag `N` or none; fan `SB1-RS` and purifier `SB2-RS` (HJ 212-2017 running state:
//!   0 off, 1 on, 3 maintenance) of the same record time;
//! - over the limit: reading > the restaurant's limit (GB 18483-2001 Table 2: 2.0 mg/m³, the
//!   standards crate's [`standards::emissions::FUME_MAX_MG_M3`] unless the profile says
//!   otherwise); `hours_over` = clock hours with at least one reading over;
//! - fan on while purifier off: SB1-RS = 1 and SB2-RS = 0 (GB 18483-2001: fume discharged
//!   without purification counts as exceeding); occurrences = runs of consecutive such
//!   readings, minutes = readings × interval;
//! - purifier cleaning due (**platform policy, not a standard**): purifier run hours (SB2-RS = 1
//!   readings × interval) since the last maintenance reading (SB2-RS = 3) ≥
//!   `cleaning_run_hours` (default 500 h);
//! - online rate: the reading interval is the most common spacing of the day's readings (the
//!   period's nominal interval with fewer than two readings: minute data 600 s, hour 3600 s);
//!   expected = intervals of the day whose midpoint lies in the restaurant's opening hours
//!   (its own `open_hours`, else the policy's, default 10:00–22:00 Beijing), with data = those
//!   holding a reading. The report counts only the intervals **due** ([`crate::due`]: ended,
//!   since the monitor's commissioning).

use std::collections::{BTreeMap, BTreeSet};

use model::Period;
use standards::Date;
use store::sources::{FumeDay, SourcesStore};
use store::ValueFilter;

use crate::time::day_start_utc;
use crate::Result;

/// Default fume concentration code (sim::FUME_CODE).
pub const FUME_CODE: &str = "a34041";
/// Fan running state code (`SB1-RS`).
pub const FAN: &str = "SB1";
/// Purifier running state code (`SB2-RS`).
pub const PURIFIER: &str = "SB2";

/// A monitored restaurant.
#[derive(Debug, Clone, PartialEq)]
pub struct RestaurantSpec {
    pub site: String,
    pub name: String,
    pub town: String,
    /// mg/m³ (GB 18483-2001: 2.0).
    pub limit_mg_m3: f64,
    /// Opening hours (the hours the monitor is due to report); `None`: the policy's.
    pub open_hours: Option<crate::due::DailyWindow>,
}

/// Platform policies of the fume evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct FumePolicy {
    /// HJ 212 code of the fume concentration.
    pub code: String,
    /// Opening hours, Beijing, `[from, to)`.
    pub open_from_hour: u8,
    pub open_to_hour: u8,
    /// Purifier run hours after which cleaning is due.
    pub cleaning_run_hours: f64,
}

impl Default for FumePolicy {
    fn default() -> Self {
        FumePolicy {
            code: FUME_CODE.into(),
            open_from_hour: 10,
            open_to_hour: 22,
            cleaning_run_hours: 500.0,
        }
    }
}

/// What a fume update did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FumeStats {
    pub days: usize,
    pub values_read: usize,
}

/// The restaurant fleet and its policy.
#[derive(Debug, Clone, Default)]
pub struct FumeEngine {
    restaurants: BTreeMap<String, RestaurantSpec>,
    policy: FumePolicy,
}

#[derive(Default, Clone, Copy)]
struct Reading {
    conc: Option<f64>,
    fan: Option<f64>,
    purifier: Option<f64>,
}

fn most_common_gap(times: &[i64]) -> Option<i64> {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for w in times.windows(2) {
        let d = w[1] - w[0];
        if d > 0 {
            *counts.entry(d).or_default() += 1;
        }
    }
    // Most frequent; ties → the smaller spacing.
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(d, _)| d)
}

impl FumeEngine {
    pub fn new(restaurants: impl IntoIterator<Item = RestaurantSpec>, policy: FumePolicy) -> Self {
        FumeEngine {
            restaurants: restaurants
                .into_iter()
                .map(|r| (r.site.clone(), r))
                .collect(),
            policy,
        }
    }

    pub fn restaurants(&self) -> impl Iterator<Item = &RestaurantSpec> {
        self.restaurants.values()
    }

    pub fn policy(&self) -> &FumePolicy {
        &self.policy
    }

    pub fn is_restaurant(&self, site: &str) -> bool {
        self.restaurants.contains_key(site)
    }

    /// The policy's opening hours.
    pub fn default_hours(&self) -> crate::due::DailyWindow {
        crate::due::DailyWindow::hours(self.policy.open_from_hour, self.policy.open_to_hour)
    }

    /// Opening hours of a restaurant: its own, else the policy's.
    pub fn open_hours(&self, r: &RestaurantSpec) -> crate::due::DailyWindow {
        r.open_hours.unwrap_or_else(|| self.default_hours())
    }

    /// The reporting hours of every restaurant (its opening hours), the policy's hours as the
    /// restaurants' default.
    pub fn schedules(&self) -> crate::due::Schedules {
        let mut s = crate::due::Schedules::default().with_fume_default(self.default_hours());
        for r in self.restaurants.values() {
            if let Some(w) = r.open_hours {
                s = s.with_site(&r.site, w);
            }
        }
        s
    }

    /// Codes whose values change a fume day.
    pub fn is_fume_code(&self, code: &str) -> bool {
        code == self.policy.code || code == FAN || code == PURIFIER
    }

    /// Recomputes these restaurant days.
    pub fn update(
        &self,
        store: &mut dyn SourcesStore,
        days: &BTreeSet<(String, Date)>,
    ) -> Result<FumeStats> {
        let mut stats = FumeStats::default();
        let mut rows = Vec::new();
        for (site, day) in days {
            let Some(r) = self.restaurants.get(site) else {
                continue;
            };
            if let Some(row) = self.day(store, r, *day, &mut stats.values_read)? {
                rows.push(row);
            }
        }
        stats.days = rows.len();
        store.put_fume_days(&rows)?;
        Ok(stats)
    }

    /// The derived day of one restaurant (`None` without readings).
    pub fn day(
        &self,
        store: &dyn SourcesStore,
        r: &RestaurantSpec,
        day: Date,
        read: &mut usize,
    ) -> Result<Option<FumeDay>> {
        let t0 = day_start_utc(day);
        let mut chosen = None;
        for period in [Period::Min, Period::Hour] {
            let mut readings: BTreeMap<i64, Reading> = BTreeMap::new();
            let filter = ValueFilter {
                site: Some(r.site.clone()),
                period: Some(period),
                from: Some(t0),
                to: Some(t0 + 86_400),
                ..ValueFilter::default()
            };
            store.for_each_value(&filter, &mut |m| {
                *read += 1;
                let e = readings.entry(m.time).or_default();
                if m.code == self.policy.code && m.field == "Avg" {
                    let ok = m.flag.as_deref().is_none_or(|f| f == "N")
                        && m.value.is_finite()
                        && m.value >= 0.0;
                    e.conc = ok.then_some(m.value);
                } else if m.code == FAN && m.field == "RS" {
                    e.fan = Some(m.value);
                } else if m.code == PURIFIER && m.field == "RS" {
                    e.purifier = Some(m.value);
                }
                Ok(())
            })?;
            readings.retain(|_, v| v.conc.is_some() || v.fan.is_some() || v.purifier.is_some());
            if !readings.is_empty() {
                chosen = Some((period, readings));
                break;
            }
        }
        let Some((period, readings)) = chosen else {
            return Ok(None);
        };
        let times: Vec<i64> = readings.keys().copied().collect();
        let nominal = if period == Period::Min { 600 } else { 3600 };
        let interval = most_common_gap(&times).unwrap_or(nominal);
        let mut d = FumeDay {
            site: r.site.clone(),
            day: day.to_string(),
            period: period.as_str().to_string(),
            interval_s: interval,
            ..FumeDay::default()
        };
        let mut hours_over = BTreeSet::new();
        let mut prev_unpurified: Option<i64> = None;
        let mut run_after = 0.0;
        let step_h = interval as f64 / 3600.0;
        for (&t, x) in &readings {
            if let Some(c) = x.conc {
                d.readings += 1;
                d.max_value = Some(d.max_value.map_or(c, |m: f64| m.max(c)));
                if c > r.limit_mg_m3 {
                    d.readings_over += 1;
                    hours_over.insert(t.div_euclid(3600));
                }
            }
            let fan_on = x.fan == Some(1.0);
            match x.purifier {
                Some(1.0) => {
                    d.purifier_run_hours += step_h;
                    run_after += step_h;
                }
                Some(3.0) => {
                    d.last_maintenance = Some(t);
                    run_after = 0.0;
                }
                _ => {}
            }
            if fan_on && x.purifier == Some(0.0) {
                d.unpurified_readings += 1;
                if prev_unpurified.is_none_or(|p| t - p > interval) {
                    d.unpurified_occurrences += 1;
                }
                prev_unpurified = Some(t);
            }
        }
        d.hours_over = hours_over.len() as i64;
        d.unpurified_minutes = d.unpurified_readings as f64 * interval as f64 / 60.0;
        d.run_hours_after_maintenance = if d.last_maintenance.is_some() {
            run_after
        } else {
            d.purifier_run_hours
        };
        // Slots of `interval` from the day's start; those whose midpoint lies in the opening
        // hours are expected (the same rule as crate::due::Due::slot).
        let open = self.open_hours(r);
        let step = interval.max(1);
        let in_hours = |slot: i64| open.contains(t0 + slot * step + step / 2);
        d.expected = (0..86_400 / step).filter(|s| in_hours(*s)).count() as i64;
        let slots: BTreeSet<i64> = readings
            .iter()
            .filter(|(t, x)| x.conc.is_some() && **t >= t0)
            .map(|(t, _)| (t - t0) / step)
            .filter(|s| *s < 86_400 / step && in_hours(*s))
            .collect();
        d.with_data = slots.len() as i64;
        d.updated_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|x| x.as_millis() as i64)
            .unwrap_or(0);
        Ok(Some(d))
    }
}
