//! End to end, a year: a real `qingshan serve` (every engine observing commits), a focused
//! simulated fleet replaying 365 days of hour and day data over HJ 212, SIGTERM, then the
//! reports are checked against what the simulator's value model implies — computed here
//! independently, hour by hour, from `sim::models` and the `standards` crate:
//!
//! * air (3 stations, the 2 urban ones make the county): valid days, good days and the PM2.5
//!   annual mean per station and for the county — exact;
//! * surface water (2 sections) and drinking water (1 urban + 1 township source): annual class
//!   per section, compliant/assessed source-months and the rates — exact;
//! * outlets (2 flue-gas, 2 wastewater): the model's valid hours over the limit grouped into
//!   runs of consecutive hours = the exceedance events of `report sources` (start, hours, peak);
//! * indicators I06–I09 equal the figures above, `status` is `met` exactly when the target is;
//! * `alarm list` has an active exceedance alarm for each outlet pollutant whose latest hour
//!   exceeds, and none for one whose latest hour is valid and within the limit.
//!
//! The year checked is the calendar year holding most of the window (the window ends at the
//! last complete hour, so a "full" calendar year is never inside 365 days of history): its
//! first and last day may be partial; the model handles that exactly like the engines do.
//!
//! Fleet: `--kinds air,surface_water,drinking_water,flue_gas,wastewater --devices 11` (kinds
//! taken in turn: AIR-01..03, SW-LJT, SW-PS, DW-SHSK, DW-GJDSH, ENT-ZQBL-01, ENT-JLKJ-01,
//! ENT-YYJ-01, ENT-LNMB-01) — about 100,000 packets (2.4 M values), ≈ 80 s in a debug build on
//! the shared 2-core machine, ≈ 2 min with the reports.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use profile::{Profile, SiteKind};
use serde_json::Value;
use sim::models::{channels, Ch, Channel, Model};
use sim::time::{civil, floor_day, floor_hour, DAY, HOUR};
use sim::SimDevice;
use standards::aqi::{self, AqiStandard, Indicator, Reading, ReportKind};
use standards::assessment::{self, DayHours};
use standards::water::{self, WaterBody, WaterClass, WaterItem};
use standards::{Date, Decimal};

const BIN: &str = env!("CARGO_BIN_EXE_qingshan");
const KINDS: [SiteKind; 5] = [
    SiteKind::Air,
    SiteKind::SurfaceWater,
    SiteKind::DrinkingWater,
    SiteKind::FlueGas,
    SiteKind::Wastewater,
];
const DEVICES: usize = 11;
const HISTORY_DAYS: i64 = 365;
const SEED: u64 = 1;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server(Child);

impl Server {
    /// SIGTERM (the graceful path: in-flight packets committed, observers drained).
    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        // Generous: a graceful stop lets the derive thread (nice +10) finish what was
        // committed, which on a 2-core machine busy with builds took over a minute.
        let deadline = Instant::now() + Duration::from_secs(600);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.0.try_wait() {
                assert!(st.success(), "serve exited with {st}");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("serve did not stop within 600 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn date_of(t: i64) -> Date {
    let (y, m, d, ..) = civil(t);
    Date::new(y as i32, m as u8, d as u8).unwrap()
}

fn rfc3339(t: i64) -> String {
    let (y, m, d, h, mi, s) = civil(t);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}+08:00")
}

/// A value as the simulator writes it on the wire (`gen::num`: rounded to the channel's
/// decimals, no "-0") and the engines parse it back.
fn wire(v: f64, decimals: usize) -> Decimal {
    let p = 10f64.powi(decimals as i32);
    let mut r = (v * p).round() / p;
    if r == 0.0 {
        r = 0.0;
    }
    Decimal::from_str(&format!("{r:.decimals$}")).unwrap()
}

/// The model's hour value of a channel as the engines see it: `None` when the hour's data
/// flag is not N (HJ 212-2017 Table 8) or the value is negative.
fn hour_value(m: &Model, dev: &SimDevice, ch: &Channel, t: i64) -> Option<Decimal> {
    if m.flag(dev, t) != 'N' {
        return None;
    }
    let v = wire(m.hour_mean(dev, ch, t), ch.decimals);
    (v >= Decimal::ZERO || ch.ch == Ch::WaterTemp).then_some(v)
}

fn report(data: &Path, what: &str, year: i32) -> Value {
    let out = Command::new(BIN)
        .args([
            "report",
            what,
            "--format",
            "json",
            "--year",
            &year.to_string(),
        ])
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "report {what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("report {what} JSON: {e}"))
}

fn dec_f64(d: Decimal) -> f64 {
    d.to_string().parse().unwrap()
}

// ---------------------------------------------------------------- air (HJ 663 / HJ 633)

/// One day's values in `[c; 6]` (PM2.5, PM10, SO2, NO2, CO 24-h means, O3 MDA8) + O3 1-h max.
#[derive(Clone, Default)]
struct DayConc {
    c: [Option<Decimal>; 6],
    o3_1h: Option<Decimal>,
}

const AIR_CODES: [&str; 6] = ["a34004", "a34002", "a21026", "a21004", "a21005", "a05024"];

fn air_days(m: &Model, dev: &SimDevice, h0: i64, h1: i64) -> BTreeMap<Date, DayConc> {
    let chans = channels(dev, sim::FUME_CODE);
    let ch: Vec<&Channel> = AIR_CODES
        .iter()
        .map(|c| chans.iter().find(|x| x.code == *c).unwrap())
        .collect();
    let mut hours: BTreeMap<Date, [[Option<Decimal>; 24]; 6]> = BTreeMap::new();
    let mut t = h0;
    while t < h1 {
        let (.., h, _, _) = civil(t);
        let e = hours.entry(date_of(t)).or_insert([[None; 24]; 6]);
        for (i, c) in ch.iter().enumerate() {
            e[i][h as usize] = hour_value(m, dev, c, t);
        }
        t += HOUR;
    }
    hours
        .into_iter()
        .map(|(date, p)| {
            let mut d = DayConc::default();
            for (c, hours) in d.c.iter_mut().zip(p).take(5) {
                // GB 3095-2012 Table 4: a 24-h mean needs ≥ 20 valid hours.
                *c = assessment::daily_mean(&DayHours::from_array(date, hours)).ok();
            }
            let o3 = DayHours::from_array(date, p[5]);
            // HJ 663 §4.3 MDA8 against the class-2 8-h limit of the GB 3095 version in force.
            d.c[5] = assessment::mda8(&o3, engine::air::o3_8h_limit(date)).value();
            d.o3_1h = (o3.valid_hours() >= standards::ambient::validity::DAILY_MEAN_MIN_HOURS)
                .then(|| o3.hours().iter().flatten().copied().max())
                .flatten();
            (date, d)
        })
        .collect()
}

/// Daily AQI by the HJ 633 version in force on the date (2012 before 2026-03-01).
fn day_aqi(date: Date, d: &DayConc) -> Option<u16> {
    let ind = [
        Indicator::Pm25_24h,
        Indicator::Pm10_24h,
        Indicator::So2_24h,
        Indicator::No2_24h,
        Indicator::Co_24h,
        Indicator::O3_8h,
    ];
    let mut r: BTreeMap<Indicator, Reading> = ind
        .iter()
        .zip(d.c)
        .map(|(&i, v)| (i, v.map_or(Reading::Missing, Reading::Value)))
        .collect();
    r.insert(
        Indicator::O3_1h,
        d.o3_1h.map_or(Reading::Missing, Reading::Value),
    );
    aqi::evaluate(AqiStandard::in_force_on(date), ReportKind::Daily, &r)
        .ok()
        .and_then(|x| x.aqi)
}

/// (valid days, good days, PM2.5 annual mean rounded for reporting) over the days of `year`.
fn air_summary(days: &BTreeMap<Date, DayConc>, year: i32) -> (usize, usize, Option<f64>) {
    let in_year: Vec<(&Date, &DayConc)> = days.iter().filter(|(d, _)| d.year() == year).collect();
    let aqis: Vec<Option<u16>> = in_year.iter().map(|(d, c)| day_aqi(**d, c)).collect();
    let counts = assessment::count_days(&aqis);
    let pm: Vec<Decimal> = in_year.iter().filter_map(|(_, c)| c.c[0]).collect();
    let mean = (!pm.is_empty()).then(|| {
        let exact = pm.iter().sum::<Decimal>() / Decimal::from(pm.len());
        dec_f64(assessment::report_round(
            standards::ambient::AmbientPollutant::Pm25,
            exact,
        ))
    });
    (counts.valid_days, counts.good_days, mean)
}

/// County day: per pollutant the mean of the urban stations' daily values that exist
/// (HJ 663-2013 city scale), then the AQI of those means.
fn county_days(stations: &[&BTreeMap<Date, DayConc>]) -> BTreeMap<Date, DayConc> {
    let dates: BTreeSet<Date> = stations.iter().flat_map(|s| s.keys().copied()).collect();
    let mean = |v: Vec<Decimal>| {
        (!v.is_empty()).then(|| v.iter().sum::<Decimal>() / Decimal::from(v.len()))
    };
    dates
        .into_iter()
        .map(|d| {
            let of: Vec<&DayConc> = stations.iter().filter_map(|s| s.get(&d)).collect();
            let mut c = DayConc::default();
            for i in 0..6 {
                c.c[i] = mean(of.iter().filter_map(|x| x.c[i]).collect());
            }
            c.o3_1h = mean(of.iter().filter_map(|x| x.o3_1h).collect());
            (d, c)
        })
        .collect()
}

// ---------------------------------------------------------------- water (GB 3838, 环办〔2011〕22号)

const WATER_ITEMS: [(&str, &str); 7] = [
    ("w01001", "pH"),
    ("w01009", "DO"),
    ("w01019", "CODMn"),
    ("w21003", "NH3N"),
    ("w21011", "TP"),
    ("w21001", "TN"),
    ("w01010", "WaterTemp"),
];

type Sample = Vec<(WaterItem, Decimal)>;

/// Day samples: per item the mean of the day's valid hours (no minimum, engine policy).
fn water_days(m: &Model, dev: &SimDevice, h0: i64, h1: i64) -> BTreeMap<Date, Sample> {
    let chans = channels(dev, sim::FUME_CODE);
    let mut acc: BTreeMap<Date, BTreeMap<usize, Vec<Decimal>>> = BTreeMap::new();
    let mut t = h0;
    while t < h1 {
        for (i, (code, _)) in WATER_ITEMS.iter().enumerate() {
            let c = chans.iter().find(|x| x.code == *code).unwrap();
            if let Some(v) = hour_value(m, dev, c, t) {
                acc.entry(date_of(t))
                    .or_default()
                    .entry(i)
                    .or_default()
                    .push(v);
            }
        }
        t += HOUR;
    }
    acc.into_iter()
        .map(|(d, items)| {
            let s = items
                .into_iter()
                .map(|(i, v)| {
                    (
                        WaterItem::from_key(WATER_ITEMS[i].1).unwrap(),
                        v.iter().sum::<Decimal>() / Decimal::from(v.len()),
                    )
                })
                .collect();
            (d, s)
        })
        .collect()
}

/// Class of the mean of the daily samples selected.
fn period_class<'a>(body: WaterBody, days: impl Iterator<Item = &'a Sample>) -> Option<WaterClass> {
    let samples: Vec<Sample> = days.cloned().collect();
    if samples.is_empty() {
        return None;
    }
    water::evaluate_sample(body, &water::mean_sample(&samples))
        .unwrap()
        .class
}

fn body_of(p: &Profile, site: &str) -> WaterBody {
    let s = p.sites.iter().find(|s| s.code == site).unwrap();
    let lake = s
        .surface_water
        .as_ref()
        .map(|w| matches!(w.water_body, profile::WaterBody::Lake))
        .or_else(|| {
            s.drinking_water
                .as_ref()
                .map(|w| matches!(w.water_body, profile::WaterBody::Lake))
        })
        .unwrap();
    if lake {
        WaterBody::LakeReservoir
    } else {
        WaterBody::River
    }
}

// ---------------------------------------------------------------- outlets (HJ 75, GB 13271 …)

#[derive(Debug, PartialEq)]
struct Event {
    start: String,
    hours: i64,
    peak: f64,
    open: bool,
}

/// Valid hours outside [lower, upper] grouped into runs of consecutive hours (an invalid or
/// missing hour ends a run); a run reaching the window's last hour is still open.
fn model_events(
    m: &Model,
    dev: &SimDevice,
    ch: &Channel,
    (upper, lower): (Option<Decimal>, Option<Decimal>),
    h0: i64,
    h1: i64,
) -> Vec<(i64, Event)> {
    let mut out = Vec::new();
    let mut cur: Option<(i64, i64, Decimal, bool)> = None; // start, hours, peak, upper bound
    let mut t = h0;
    let flush = |cur: &mut Option<(i64, i64, Decimal, bool)>, out: &mut Vec<(i64, Event)>, open| {
        if let Some((s, n, p, _)) = cur.take() {
            out.push((
                s,
                Event {
                    start: rfc3339(s),
                    hours: n,
                    peak: dec_f64(p),
                    open,
                },
            ));
        }
    };
    while t < h1 {
        let v = hour_value(m, dev, ch, t);
        let bound = v.and_then(|v| {
            if upper.is_some_and(|u| v > u) {
                Some(true)
            } else if lower.is_some_and(|l| v < l) {
                Some(false)
            } else {
                None
            }
        });
        match (bound, cur.as_mut()) {
            (Some(b), Some(c)) if c.3 == b => {
                c.1 += 1;
                c.2 = if b {
                    c.2.max(v.unwrap())
                } else {
                    c.2.min(v.unwrap())
                };
            }
            (Some(b), _) => {
                flush(&mut cur, &mut out, false);
                cur = Some((t, 1, v.unwrap(), b));
            }
            (None, _) => flush(&mut cur, &mut out, false),
        }
        t += HOUR;
    }
    flush(&mut cur, &mut out, true);
    out
}

fn f(v: &Value) -> Option<Decimal> {
    v.as_f64()
        .map(|x| Decimal::from_str(&x.to_string()).unwrap())
}

#[test]
fn a_simulated_year_matches_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let hj = format!("127.0.0.1:{}", free_port());
    let server = Server(
        Command::new(BIN)
            .args(["serve", "--no-fsync", "--data"])
            .arg(&data)
            .args([
                "--hj212",
                &hj,
                "--http",
                &format!("127.0.0.1:{}", free_port()),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(&hj).is_err() {
        assert!(Instant::now() < deadline, "server did not listen");
        std::thread::sleep(Duration::from_millis(100));
    }
    let kinds: Vec<&str> = KINDS.iter().map(|k| k.as_str()).collect();
    let before = now_s();
    let out = Command::new(BIN)
        .args(["simulate", "--to", &hj, "--register", "--progress", "0"])
        .arg("--data")
        .arg(&data)
        .args(["--kinds", &kinds.join(",")])
        .args(["--devices", &DEVICES.to_string()])
        .args(["--history", &format!("{HISTORY_DAYS}d"), "--no-live"])
        .args(["--seed", &SEED.to_string()])
        .output()
        .unwrap();
    let after = now_s();
    assert!(
        out.status.success(),
        "simulate: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(summary["unacked"], 0, "{summary}");
    server.stop();

    // The window the simulator replayed: hours [floor(now − 365 d), floor(now)) of its start.
    // The run reads the clock once between `before` and `after`; if an hour boundary fell in
    // between, the stored hours tell which side (the window only — no value is read).
    let h1 = if floor_hour(before) == floor_hour(after) {
        floor_hour(before)
    } else {
        let s = store::SqliteStore::open(&data).unwrap();
        let mut seen = false;
        store::Store::for_each_value(
            &s,
            &store::ValueFilter {
                site: Some("AIR-01".into()),
                code: Some("a34004".into()),
                period: Some(model::Period::Hour),
                from: Some(floor_hour(after) - HOUR),
                to: Some(floor_hour(after)),
                ..Default::default()
            },
            &mut |_| {
                seen = true;
                Ok(())
            },
        )
        .unwrap();
        if seen {
            floor_hour(after)
        } else {
            floor_hour(before)
        }
    };
    let h0 = floor_hour(h1 - HISTORY_DAYS * DAY);
    // The calendar year holding most of the window.
    let year = date_of(h1 - HISTORY_DAYS * DAY / 2).year();

    let profile = Profile::dianjiang();
    let fleet = sim::fleet_of_kinds(&profile, Some(DEVICES), &KINDS);
    let m = Model { seed: SEED };
    let of_kind = |k: SiteKind| fleet.iter().filter(move |d| d.kind == k);

    // ---- air
    let air = report(&data, "air", year);
    let mut station_days = BTreeMap::new();
    for dev in of_kind(SiteKind::Air) {
        station_days.insert(dev.device.site.clone(), air_days(&m, dev, h0, h1));
    }
    assert_eq!(station_days.len(), 3);
    let check_air = |row: &Value, days: &BTreeMap<Date, DayConc>| {
        let (valid, good, pm25) = air_summary(days, year);
        let site = row["site"].as_str().unwrap();
        assert_eq!(
            row["valid_days"].as_u64(),
            Some(valid as u64),
            "{site} valid days"
        );
        assert_eq!(
            row["good_days"].as_u64(),
            Some(good as u64),
            "{site} good days"
        );
        assert_eq!(
            row["PM25_annual_mean"].as_f64(),
            pm25,
            "{site} PM2.5 annual mean"
        );
        assert!(valid > 200, "{site}: {valid} valid days in {year}");
        (valid, good)
    };
    for row in air["stations"].as_array().unwrap() {
        let site = row["site"].as_str().unwrap();
        check_air(row, &station_days[site]);
    }
    let urban: Vec<&str> = air["county_sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        urban,
        ["AIR-01", "AIR-02"],
        "urban stations make the county"
    );
    let county = county_days(&urban.iter().map(|s| &station_days[*s]).collect::<Vec<_>>());
    let (_, county_good) = check_air(&air["county"], &county);

    // ---- water
    let water_r = report(&data, "water", year);
    let mut classes = Vec::new();
    for dev in of_kind(SiteKind::SurfaceWater) {
        let site = &dev.device.site;
        let days = water_days(&m, dev, h0, h1);
        let class = period_class(
            body_of(&profile, site),
            days.iter()
                .filter(|(d, _)| d.year() == year)
                .map(|(_, s)| s),
        )
        .unwrap();
        let row = water_r["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["site"] == site.as_str())
            .unwrap();
        assert_eq!(
            row["class"].as_str(),
            Some(class.code()),
            "{site} annual class"
        );
        classes.push(class);
    }
    let share = water::share_iii_or_better_pct(&classes).unwrap();
    // Drinking water: month class (mean of daily means) I–III = compliant (GB 3838 Table 1
    // basic items; the simulator sends no Table 2/3 items).
    let mut rates = BTreeMap::new();
    for dev in of_kind(SiteKind::DrinkingWater) {
        let site = &dev.device.site;
        let scope = profile
            .sites
            .iter()
            .find(|s| &s.code == site)
            .and_then(|s| s.drinking_water.as_ref())
            .map(|d| format!("{:?}", d.scope).to_lowercase())
            .unwrap();
        let days = water_days(&m, dev, h0, h1);
        let (mut assessed, mut compliant) = (0u64, 0u64);
        for month in 1..=12u8 {
            let c = period_class(
                body_of(&profile, site),
                days.iter()
                    .filter(|(d, _)| d.year() == year && d.month() == month)
                    .map(|(_, s)| s),
            );
            if let Some(c) = c {
                assessed += 1;
                compliant += u64::from(c <= WaterClass::III);
            }
        }
        let dw = &water_r["drinking_water"][scope.as_str()];
        assert_eq!(
            dw["assessed"].as_u64(),
            Some(assessed),
            "{scope} assessed months"
        );
        assert_eq!(
            dw["compliant"].as_u64(),
            Some(compliant),
            "{scope} compliant months"
        );
        let rate = standards::rounding::gbt8170(
            Decimal::from(compliant) * Decimal::from(100) / Decimal::from(assessed),
            1,
        );
        assert_eq!(dw["rate_pct"].as_f64(), Some(dec_f64(rate)), "{scope} rate");
        rates.insert(scope, rate);
    }
    assert_eq!(rates.len(), 2, "an urban and a township source");

    // ---- outlets
    let src = report(&data, "sources", year);
    let outlets: Vec<&Value> = src["enterprises"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["outlets"].as_array().unwrap())
        .collect();
    let (y0, y1) = (floor_day(day_start(year)), floor_day(day_start(year + 1)));
    let mut latest_over: BTreeMap<(String, String), Option<bool>> = BTreeMap::new();
    let mut total_events = 0;
    for dev in of_kind(SiteKind::FlueGas).chain(of_kind(SiteKind::Wastewater)) {
        let site = &dev.device.site;
        let row = outlets.iter().find(|o| o["site"] == site.as_str()).unwrap();
        for p in row["pollutants"].as_array().unwrap() {
            let code = p["code"].as_str().unwrap();
            let (upper, lower) = (f(&p["limit_upper"]), f(&p["limit_lower"]));
            if upper.is_none() && lower.is_none() {
                continue;
            }
            // The report's upper limit is the permit limit of the profile the model was set to.
            if let Some(l) = dev.limit(code) {
                assert_eq!(upper.map(dec_f64), Some(l), "{site} {code} limit");
            }
            let chans = channels(dev, sim::FUME_CODE);
            let ch = chans.iter().find(|c| c.code == code).unwrap();
            let want: Vec<Event> = model_events(&m, dev, ch, (upper, lower), h0, h1)
                .into_iter()
                .filter(|(s, _)| (y0..y1).contains(s))
                .map(|(_, e)| e)
                .collect();
            let got: Vec<Event> = row["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["code"] == code)
                .filter(|e| e["start"].as_str().unwrap().starts_with(&year.to_string()))
                .map(|e| Event {
                    start: e["start"].as_str().unwrap().to_string(),
                    hours: e["hours"].as_i64().unwrap(),
                    peak: e["peak"].as_f64().unwrap(),
                    open: e["open"].as_bool().unwrap(),
                })
                .collect();
            assert_eq!(got.len(), want.len(), "{site} {code}: number of events");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g, w, "{site} {code}");
            }
            total_events += want.len();
            let last = hour_value(&m, dev, ch, h1 - HOUR);
            latest_over.insert(
                (site.clone(), code.to_string()),
                last.map(|v| upper.is_some_and(|u| v > u) || lower.is_some_and(|l| v < l)),
            );
        }
    }
    assert!(
        total_events > 100,
        "the model's ≈3 % of hours over: {total_events}"
    );

    // ---- indicators
    let ind = report(&data, "indicators", year);
    let by_code = |c: &str| {
        ind.as_array()
            .unwrap()
            .iter()
            .find(|x| x["code"] == c)
            .unwrap()
            .clone()
    };
    let ys = year.to_string();
    for (code, want) in [
        ("I06", county_good as f64),
        ("I07", dec_f64(share)),
        ("I08", dec_f64(rates["urban"])),
        ("I09", dec_f64(rates["township"])),
    ] {
        let i = by_code(code);
        assert_eq!(i["values"][&ys].as_f64(), Some(want), "{code} {year}: {i}");
        let latest = i["values"]
            .as_object()
            .unwrap()
            .keys()
            .filter_map(|k| k.parse::<i32>().ok())
            .max();
        if latest == Some(year) {
            let t = i["target"]["value"].as_f64().unwrap();
            let met = match i["target"]["direction"].as_str().unwrap() {
                ">=" => want >= t,
                "<=" => want <= t,
                _ => want == t,
            };
            assert_eq!(i["status"] == "met", met, "{code} status: {i}");
        }
    }

    // ---- alarms: an active exceedance alarm exactly where the latest hour exceeds.
    let out = Command::new(BIN)
        .args([
            "alarm",
            "list",
            "--status",
            "open",
            "--rule",
            "exceedance",
            "--data",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alarms: Value = serde_json::from_slice(&out.stdout).unwrap();
    let active: BTreeSet<(String, String)> = alarms
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["active"] == true)
        .map(|a| {
            (
                a["site"].as_str().unwrap().to_string(),
                a["pollutant"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (k, over) in &latest_over {
        match over {
            Some(true) => assert!(active.contains(k), "no exceedance alarm for {k:?}"),
            Some(false) => assert!(!active.contains(k), "stale exceedance alarm for {k:?}"),
            None => {}
        }
    }
}

/// 00:00 Beijing on 1 January of `year`, UTC seconds.
fn day_start(year: i32) -> i64 {
    engine::time::day_start_utc(Date::new(year, 1, 1).unwrap())
}
