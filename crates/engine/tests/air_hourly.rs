//! Hourly air: minute → hour roll-up (GB 3095-2012 Table 4 / HJ 663: ≥ 45 valid minutes),
//! device hour vs roll-up, daily values from rolled-up hours, moving averages (HJ 663 / GB 3095
//! Table 4: O3 8-h ≥ 6 valid hours) and the real-time AQI (HJ 633-2012 §5.1.3, HJ 633-2026
//! §4.2.3) per station and county. Expectations are computed by hand in the comments.

use std::collections::BTreeSet;

use engine::air_hourly::{AirHourlyEngine, AirHoursReport, HourPolicy};
use engine::time::day_start_utc;
use engine::{AirEngine, AirStation, RulesChoice};
use model::{Measurement, Period};
use standards::aqi::AqiStandard;
use standards::Date;
use store::air_hours::{AirHour, AirHoursStore};
use store::{IntakePacket, SqliteOptions, SqliteStore, Store, COUNTY_SITE};

const PM25: &str = "a34004";
const PM10: &str = "a34002";
const SO2: &str = "a21026";
const NO2: &str = "a21004";
const CO: &str = "a21005";
const O3: &str = "a05024";
const H: i64 = 3600;

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_with(
        dir.path(),
        &SqliteOptions {
            fsync: false,
            cache_mib: 16,
        },
    )
    .unwrap();
    (dir, s)
}

fn stations() -> Vec<AirStation> {
    vec![
        AirStation {
            site: "S1".into(),
            urban: true,
        },
        AirStation {
            site: "S2".into(),
            urban: true,
        },
        AirStation {
            site: "S3".into(),
            urban: false,
        },
    ]
}

fn hourly() -> AirHourlyEngine {
    AirHourlyEngine::new(stations(), HourPolicy::default())
}

fn rec(site: &str, code: &str, period: Period, time: i64, value: &str, flag: &str) -> Measurement {
    Measurement {
        site: site.into(),
        code: code.into(),
        field: if period == Period::Rtd { "Rtd" } else { "Avg" }.into(),
        period,
        time,
        value: value.parse().unwrap(),
        text: value.into(),
        flag: Some(flag.into()),
        eflag: None,
        mn: format!("MN-{site}"),
    }
}

fn hour(site: &str, code: &str, time: i64, value: &str) -> Measurement {
    rec(site, code, Period::Hour, time, value, "N")
}

/// `n` minute records of `code` from `start`, `step` seconds apart; the first `valid` are
/// flag N with `value`, the rest carry `bad_flag` and 999.
#[allow(clippy::too_many_arguments)]
fn minutes(
    site: &str,
    code: &str,
    period: Period,
    start: i64,
    step: i64,
    n: i64,
    valid: i64,
    value: &str,
    bad_flag: &str,
) -> Vec<Measurement> {
    (0..n)
        .map(|k| {
            if k < valid {
                rec(site, code, period, start + k * step, value, "N")
            } else {
                rec(site, code, period, start + k * step, "999", bad_flag)
            }
        })
        .collect()
}

fn commit(s: &mut SqliteStore, values: Vec<Measurement>, received_ms: i64) -> Vec<IntakePacket> {
    let p = vec![IntakePacket {
        received_ms,
        mn: "MN".into(),
        cn: "2061".into(),
        values,
        ..IntakePacket::default()
    }];
    s.commit(&p).unwrap();
    p
}

fn row(s: &SqliteStore, site: &str, h: i64) -> AirHour {
    let rows = s.air_hours(Some(site), h, h + H).unwrap();
    assert_eq!(rows.len(), 1, "one row of {site} at {h}");
    rows.into_iter().next().unwrap()
}

fn no_row(s: &SqliteStore, site: &str, h: i64) {
    assert!(s.air_hours(Some(site), h, h + H).unwrap().is_empty());
}

fn ds(v: &Option<String>) -> Option<&str> {
    v.as_deref()
}

/// GB 3095-2012 Table 4 "1 小时平均: 每小时至少有 45 分钟的采样时间": 45 valid minutes make an
/// hour, 44 do not — for 1-min 2051 records, 10-min 2051 records and 30-s 2011 records; records
/// with flags M, D, C, T, B, F, S (HJ 212-2017 Table 8) do not count.
#[test]
fn forty_five_minute_boundary_and_flags() {
    let (_d, mut s) = open();
    let t = day_start_utc(Date::ymd(2025, 7, 1)); // Beijing 2025-07-01 00:00
    let mut v = Vec::new();
    // Hour 0: 60 one-minute records, 45 valid (40), 15 in maintenance (M) → valid, mean 40.
    v.extend(minutes("S1", PM25, Period::Min, t, 60, 60, 45, "40", "M"));
    // Hour 1: 44 valid, 16 calibration (C) → 44 min < 45 → invalid.
    v.extend(minutes(
        "S1",
        PM25,
        Period::Min,
        t + H,
        60,
        60,
        44,
        "40",
        "C",
    ));
    // Hour 2: 10-min records: 5 valid (50 min) + 1 fault (D) → valid.
    v.extend(minutes(
        "S1",
        PM25,
        Period::Min,
        t + 2 * H,
        600,
        6,
        5,
        "30",
        "D",
    ));
    // Hour 3: 10-min records: 4 valid (40 min) + 2 over-range (T) → invalid.
    v.extend(minutes(
        "S1",
        PM25,
        Period::Min,
        t + 3 * H,
        600,
        6,
        4,
        "30",
        "T",
    ));
    // Hour 4: only 2011 real-time records every 30 s: 90 valid (45 min) + 30 comms (B) → valid.
    v.extend(minutes(
        "S1",
        PM25,
        Period::Rtd,
        t + 4 * H,
        30,
        120,
        90,
        "20",
        "B",
    ));
    // Hour 5: 88 valid real-time records (44 min) + 32 stopped (F) → invalid.
    v.extend(minutes(
        "S1",
        PM25,
        Period::Rtd,
        t + 5 * H,
        30,
        120,
        88,
        "20",
        "F",
    ));
    // Hour 6: mean of valid minutes only: 30 × 10 and 30 × 20 → 15; the 999 never counts.
    v.extend(minutes(
        "S1",
        O3,
        Period::Min,
        t + 6 * H,
        60,
        30,
        30,
        "10",
        "S",
    ));
    v.extend(minutes(
        "S1",
        O3,
        Period::Min,
        t + 6 * H + 1800,
        60,
        30,
        30,
        "20",
        "S",
    ));
    let p = commit(&mut s, v, 1);
    let e = hourly();
    let touched = e.touched(&p);
    assert_eq!(touched.len(), 7);
    e.update(&mut s, &touched).unwrap();

    let r0 = row(&s, "S1", t);
    assert_eq!(ds(&r0.pm25), Some("40"));
    assert_eq!(r0.sources, "PM2.5=minutes");
    assert_eq!(r0.minutes, "PM2.5=40/45");
    assert_eq!(r0.disagree, "");
    let r1 = row(&s, "S1", t + H);
    assert_eq!(ds(&r1.pm25), None);
    assert_eq!(r1.minutes, "PM2.5=/44");
    assert_eq!(ds(&row(&s, "S1", t + 2 * H).pm25), Some("30"));
    assert_eq!(row(&s, "S1", t + 2 * H).minutes, "PM2.5=30/50");
    assert_eq!(ds(&row(&s, "S1", t + 3 * H).pm25), None);
    assert_eq!(row(&s, "S1", t + 3 * H).minutes, "PM2.5=/40");
    let r4 = row(&s, "S1", t + 4 * H);
    assert_eq!(
        (ds(&r4.pm25), r4.sources.as_str()),
        (Some("20"), "PM2.5=realtime")
    );
    assert_eq!(r4.minutes, "PM2.5=20/45");
    assert_eq!(ds(&row(&s, "S1", t + 5 * H).pm25), None);
    assert_eq!(ds(&row(&s, "S1", t + 6 * H).o3), Some("15"));
    // HJ 633-2012 real-time: O3 1-h 15 → IAQI ⌈50 × 15/160⌉ = ⌈4.69⌉ = 5 (PM2.5 1-h is
    // concentration only, the 24-h moving average has 1 hour < 20).
    assert_eq!(row(&s, "S1", t + 6 * H).aqi, Some(5));
    assert_eq!(row(&s, "S1", t).aqi, None);
    no_row(&s, "S1", t + 7 * H);
}

/// The device's 2061 hour is used; the roll-up of its minutes is kept beside it and a
/// difference beyond max(5 % × roll-up, 1 µg/m³ | CO 0.1 mg/m³) is flagged.
#[test]
fn device_hour_wins_and_disagreement_is_flagged() {
    let (_d, mut s) = open();
    let t = day_start_utc(Date::ymd(2025, 7, 1)) + 10 * H;
    let mut v = vec![
        hour("S1", PM25, t, "50"), // minutes 40: |10| > max(2, 1) → disagree
        hour("S1", CO, t, "1.0"),  // minutes 1.04: |0.04| ≤ max(0.052, 0.1) → agree
        hour("S1", O3, t, "100"),  // minutes 104.9: |4.9| ≤ 5.245 → agree
        hour("S1", NO2, t, "100"), // minutes 106: |6| > 5.3 → disagree
        rec("S1", SO2, Period::Hour, t, "8", "M"), // device says maintenance: invalid, kept
    ];
    v.extend(minutes("S1", PM25, Period::Min, t, 60, 60, 60, "40", "N"));
    v.extend(minutes("S1", CO, Period::Min, t, 60, 60, 60, "1.04", "N"));
    v.extend(minutes("S1", O3, Period::Min, t, 60, 60, 60, "104.9", "N"));
    v.extend(minutes("S1", NO2, Period::Min, t, 60, 60, 60, "106", "N"));
    v.extend(minutes("S1", SO2, Period::Min, t, 60, 60, 60, "9", "N"));
    let p = commit(&mut s, v, 1);
    let e = hourly();
    e.update(&mut s, &e.touched(&p)).unwrap();
    let r = row(&s, "S1", t);
    assert_eq!(ds(&r.pm25), Some("50"));
    assert_eq!(ds(&r.co), Some("1"));
    assert_eq!(ds(&r.o3), Some("100"));
    assert_eq!(ds(&r.no2), Some("100"));
    assert_eq!(
        ds(&r.so2),
        None,
        "the device's invalid hour is not replaced"
    );
    assert_eq!(
        r.sources,
        "PM2.5=device,SO2=device,NO2=device,CO=device,O3=device"
    );
    assert_eq!(
        r.minutes,
        "PM2.5=40/60,SO2=9/60,NO2=106/60,CO=1.04/60,O3=104.9/60"
    );
    assert_eq!(r.disagree, "PM2.5,NO2");
    // The report shows it.
    let rep = AirHoursReport::build(&s, &e, Some("S1"), t, t + H, RulesChoice::ByDate).unwrap();
    assert_eq!(rep.hours[0].disagree, vec!["PM2.5", "NO2"]);
    assert_eq!(rep.hours[0].sources["PM2.5"], "device");
    assert_eq!(rep.hours[0].minutes["PM2.5"].valid_minutes, 60);
    assert_eq!(rep.hours[0].minutes["PM2.5"].mean, Some(40.0));
}

/// The daily engine uses rolled-up hours where the device sent none, with Beijing day
/// boundaries: minutes 15:00–15:50Z are Beijing 23:00 of day D, 16:00Z opens day D+1.
#[test]
fn daily_values_use_rolled_up_hours_at_beijing_boundaries() {
    let (_d, mut s) = open();
    let d = Date::ymd(2025, 7, 1);
    let t = day_start_utc(d);
    let mut v: Vec<Measurement> = (0..20).map(|h| hour("S1", PM25, t + h * H, "30")).collect();
    // Hours 20, 21, 23: six 10-min records of 53 (60 min) → valid; hour 22: four (40 min).
    for h in [20, 21, 23] {
        v.extend(minutes(
            "S1",
            PM25,
            Period::Min,
            t + h * H,
            600,
            6,
            6,
            "53",
            "N",
        ));
    }
    v.extend(minutes(
        "S1",
        PM25,
        Period::Min,
        t + 22 * H,
        600,
        4,
        4,
        "53",
        "N",
    ));
    // D+1 00:00 Beijing = 16:00Z: minutes of 70.
    v.extend(minutes(
        "S1",
        PM25,
        Period::Min,
        t + 24 * H,
        600,
        6,
        6,
        "70",
        "N",
    ));
    let p = commit(&mut s, v, 1);
    let air = AirEngine::new(stations());
    let touched = air.touched(&p);
    assert_eq!(
        touched,
        BTreeSet::from([("S1".to_string(), d), ("S1".to_string(), d.succ())])
    );
    air.update(&mut s, &touched).unwrap();
    let days = s.air_days(Some("S1"), "2025-07-01", "2025-07-02").unwrap();
    // GB 3095 Table 4: 20 device hours + 3 rolled-up hours = 23 ≥ 20;
    // mean (20 × 30 + 3 × 53)/23 = 759/23 = 33.
    assert_eq!(days[0].pm25.as_deref(), Some("33"));
    assert!(days[0].hours.starts_with("PM2.5=23,"), "{}", days[0].hours);
    // D+1 has its one rolled-up hour only (< 20 → no 24-h mean).
    assert_eq!(days[1].pm25, None);
    assert!(days[1].hours.starts_with("PM2.5=1,"), "{}", days[1].hours);

    // The hourly table agrees: Beijing 23:00 of D is 15:00Z, 22:00 is invalid.
    let e = hourly();
    e.update(&mut s, &e.touched(&p)).unwrap();
    assert_eq!(ds(&row(&s, "S1", t + 23 * H).pm25), Some("53"));
    assert_eq!(ds(&row(&s, "S1", t + 22 * H).pm25), None);
    assert_eq!(ds(&row(&s, "S1", t + 24 * H).pm25), Some("70"));
    // Catch-up by watermark reaches the same days (minute records are scanned too).
    let (_d2, mut s2) = open();
    commit(&mut s2, p[0].values.clone(), 1);
    air.catch_up(&mut s2).unwrap();
    assert_eq!(
        s2.air_days(Some("S1"), "2025-07-01", "2025-07-01").unwrap()[0]
            .pm25
            .as_deref(),
        Some("33")
    );
}

/// HJ 633-2012 §5.1.3 real-time report: SO2/NO2/CO/O3 1-h, O3 8-h moving average (≥ 6 valid
/// hours of the 8, GB 3095 Table 4), PM 24-h moving averages (≥ 20 of 24, engine policy),
/// across Beijing midnight; a late hour re-judges the later hours whose windows contain it.
#[test]
fn real_time_aqi_2012_moving_averages() {
    let (dir, mut s) = open();
    let t = day_start_utc(Date::ymd(2025, 7, 1));
    let mut v = Vec::new();
    for h in 0..24 {
        if h != 5 {
            v.push(hour("S1", PM25, t + h * H, "75"));
        }
        v.push(hour("S1", PM10, t + h * H, "100"));
    }
    for h in 16..22 {
        v.push(hour("S1", O3, t + h * H, "200"));
    }
    for h in 22..24 {
        v.push(rec("S1", O3, Period::Hour, t + h * H, "999", "C"));
    }
    v.push(hour("S1", SO2, t + 23 * H, "10"));
    v.push(hour("S1", NO2, t + 23 * H, "40"));
    v.push(hour("S1", CO, t + 23 * H, "1.0"));
    // Next Beijing day 00:00.
    v.push(hour("S1", PM25, t + 24 * H, "75"));
    let p = commit(&mut s, v, 1);
    let e = hourly();
    e.catch_up(&mut s).unwrap(); // sets the watermark: the observer advances it from now on
    let _ = p;

    // 18:00: PM 24-h windows hold hours 0–18 minus 5 = 18 < 20 → none; O3 8-h window 11–18
    // has 3 valid hours < 6 → none; O3 1-h 200 → IAQI 100 (O3 1h table 160→50, 200→100).
    let r18 = row(&s, "S1", t + 18 * H);
    assert_eq!((r18.pm25_24h.clone(), r18.o3_8h.clone()), (None, None));
    assert_eq!(
        (r18.aqi, r18.level, r18.primary.as_str()),
        (Some(100), Some(2), "O3_1H")
    );
    // 21:00: O3 8-h window 14–21 = six hours of 200 → 200 → IAQI (O3 8h table 160→100, 215→150)
    // 100 + 50 × 40/55 = 136.4 → 137;
    // PM2.5 24-h window 0–21 minus 5 = 21 hours of 75 → 75 → IAQI 100.
    let r21 = row(&s, "S1", t + 21 * H);
    assert_eq!(ds(&r21.o3_8h), Some("200"));
    assert_eq!(ds(&r21.pm25_24h), Some("75"));
    assert_eq!(
        (r21.aqi, r21.level, r21.primary.as_str()),
        (Some(137), Some(3), "O3_8H")
    );
    // 23:00: O3 1-h invalid (C); O3 8-h window 16–23 still 6 valid → 137; SO2 ⌈50×10/150⌉ = 4,
    // NO2 ⌈50×40/100⌉ = 20, CO ⌈50×1/5⌉ = 10, PM10 24-h 100 → 50 + 50×50/100 = 75.
    let r23 = row(&s, "S1", t + 23 * H);
    assert_eq!(r23.aqi, Some(137));
    assert_eq!(
        r23.iaqi,
        "SO2_1H=4,NO2_1H=20,PM10_24H=75,CO_1H=10,O3_8H=137,PM25_24H=100"
    );
    assert_eq!(r23.rules, "HJ633-2012");
    // Next day 00:00: O3 8-h window 17–24 has 5 valid hours → none (crosses midnight);
    // PM2.5 24-h window 1–24 minus 5 = 23 hours → 75 → 100 → AQI 100, primary PM25_24H.
    let r24 = row(&s, "S1", t + 24 * H);
    assert_eq!(r24.o3_8h, None);
    assert_eq!((r24.aqi, r24.primary.as_str()), (Some(100), "PM25_24H"));

    // Late hour 5 = 99 through the commit observer: 23:00's window 0–23 now has 24 hours,
    // (23 × 75 + 99)/24 = 1824/24 = 76 → IAQI 100 + 50 × 1/40 = 101.25 → 102; 23:00 itself
    // was not in the packet.
    let mut obs = e.observer(Box::new(SqliteStore::open(dir.path()).unwrap()));
    let late = commit(&mut s, vec![hour("S1", PM25, t + 5 * H, "99")], 2);
    obs(&late);
    let r23 = row(&s, "S1", t + 23 * H);
    assert_eq!(ds(&r23.pm25_24h), Some("76"));
    assert_eq!((r23.aqi, r23.primary.as_str()), (Some(137), "O3_8H"));
    assert!(r23.iaqi.ends_with("PM25_24H=102"), "{}", r23.iaqi);
    // 2025-07-02 04:00 (window 05:00 D … 04:00 D+1) has no row: no data that hour.
    no_row(&s, "S1", t + 28 * H);
    assert_eq!(s.watermark(engine::air_hourly::WATERMARK).unwrap(), Some(2));
}

fn full_hours(site: &str, from: i64, n: i64) -> Vec<Measurement> {
    let mut v = Vec::new();
    for k in 0..n {
        let t = from + k * H;
        for (c, x) in [
            (PM25, "75"),
            (PM10, "100"),
            (SO2, "10"),
            (NO2, "40"),
            (CO, "1.0"),
            (O3, "100"),
        ] {
            v.push(hour(site, c, t, x));
        }
    }
    v
}

/// The rules switch with the hour's Beijing date: 2026-02-28 23:00 is HJ 633-2012, 2026-03-01
/// 00:00 is HJ 633-2026 (§4.2.3: PM 1-h on the 24-h tables, no moving averages); a fixed
/// rule set recomputes either hour for trend comparison, labelled.
#[test]
fn switch_to_hj633_2026_and_fixed_rules() {
    let (_d, mut s) = open();
    let t = day_start_utc(Date::ymd(2026, 2, 28));
    let p = commit(&mut s, full_hours("S1", t, 25), 1);
    let e = hourly();
    e.update(&mut s, &e.touched(&p)).unwrap();
    // 2012 at 02-28 23:00: PM2.5 24-h 75 → 100; PM10 24-h 100 → 75; O3 1-h ⌈50×100/160⌉ =
    // 32; O3 8-h 100 → 50; SO2 4, NO2 20, CO 10 → AQI 100, 良, PM25_24H.
    let a = row(&s, "S1", t + 23 * H);
    assert_eq!(
        (a.rules.as_str(), a.aqi, a.level),
        ("HJ633-2012", Some(100), Some(2))
    );
    assert_eq!(a.primary, "PM25_24H");
    // 2026 at 03-01 00:00: PM2.5 1-h 75 on the 2026 24-h table (35→50, 60→100, 115→150):
    // 100 + 50 × 15/55 = 113.6 → 114; PM10 1-h 100 (50→50, 120→100): 50 + 50×50/70 = 85.7 → 86.
    let b = row(&s, "S1", t + 24 * H);
    assert_eq!(
        (b.rules.as_str(), b.aqi, b.level),
        ("HJ633-2026", Some(114), Some(3))
    );
    assert_eq!(b.primary, "PM25_1H");
    assert_eq!(
        b.iaqi,
        "SO2_1H=4,NO2_1H=20,PM10_1H=86,CO_1H=10,O3_1H=32,PM25_1H=114"
    );

    let by_date = AirHoursReport::build(
        &s,
        &e,
        Some("S1"),
        t + 23 * H,
        t + 25 * H,
        RulesChoice::ByDate,
    )
    .unwrap();
    assert_eq!(by_date.rules, "by_date");
    let got: Vec<_> = by_date.hours.iter().map(|h| (h.rules, h.aqi)).collect();
    assert_eq!(
        got,
        vec![("HJ633-2012", Some(100)), ("HJ633-2026", Some(114))]
    );
    assert_eq!(by_date.hours[1].hour, "2026-03-01T00:00:00+08:00");
    let fixed_2012 = AirHoursReport::build(
        &s,
        &e,
        Some("S1"),
        t + 23 * H,
        t + 25 * H,
        RulesChoice::Fixed(AqiStandard::Hj633_2012),
    )
    .unwrap();
    assert_eq!(fixed_2012.rules, "HJ633-2012");
    let got: Vec<_> = fixed_2012.hours.iter().map(|h| (h.rules, h.aqi)).collect();
    assert_eq!(
        got,
        vec![("HJ633-2012", Some(100)), ("HJ633-2012", Some(100))]
    );
    let fixed_2026 = AirHoursReport::build(
        &s,
        &e,
        Some("S1"),
        t + 23 * H,
        t + 25 * H,
        RulesChoice::Fixed(AqiStandard::Hj633_2026),
    )
    .unwrap();
    let got: Vec<_> = fixed_2026.hours.iter().map(|h| (h.rules, h.aqi)).collect();
    assert_eq!(
        got,
        vec![("HJ633-2026", Some(114)), ("HJ633-2026", Some(114))]
    );
    assert_eq!(fixed_2026.hours[0].primary, vec!["PM25_1H"]);
}

/// County hour = mean of the urban stations' 1-h values (S3 is not urban), then the AQI.
#[test]
fn county_hour_is_the_mean_of_urban_stations() {
    let (_d, mut s) = open();
    let t = day_start_utc(Date::ymd(2025, 7, 1)) + 9 * H;
    let mut v = vec![
        hour("S1", PM25, t, "40"),
        hour("S1", O3, t, "100"),
        hour("S2", O3, t, "140"),
        hour("S3", PM25, t, "500"),
        hour("S3", O3, t, "900"),
    ];
    // S2 sends minutes only: 60 × 60 → 60.
    v.extend(minutes("S2", PM25, Period::Min, t, 60, 60, 60, "60", "N"));
    let p = commit(&mut s, v, 1);
    let e = hourly();
    let st = e.update(&mut s, &e.touched(&p)).unwrap();
    assert_eq!((st.station_hours, st.county_hours), (3, 1));
    let c = row(&s, COUNTY_SITE, t);
    // PM2.5 (40 + 60)/2 = 50; O3 (100 + 140)/2 = 120 → O3 1-h IAQI ⌈50 × 120/160⌉ = ⌈37.5⌉ = 38.
    assert_eq!((ds(&c.pm25), ds(&c.o3)), (Some("50"), Some("120")));
    assert_eq!(c.sources, "PM2.5=stations:2,O3=stations:2");
    assert_eq!((c.stations, c.aqi, c.level), (2, Some(38), Some(1)));
    assert_eq!(c.primary, "");
    let rep = AirHoursReport::build(&s, &e, None, t, t + H, RulesChoice::ByDate).unwrap();
    let sites: Vec<_> = rep.hours.iter().map(|h| h.site.as_str()).collect();
    assert_eq!(sites, vec!["S1", "S2", "S3", COUNTY_SITE]);
    assert_eq!(rep.county_sites, vec!["S1", "S2"]);
    assert_eq!(rep.hours[3].concentrations["PM25_1H"], Some(50.0));
    // Bad input is refused with what and where.
    let err = AirHoursReport::build(&s, &e, Some("AIR-99"), t, t + H, RulesChoice::ByDate)
        .unwrap_err()
        .to_string();
    assert!(err.contains("AIR-99") && err.contains("S1"), "{err}");
    let err = AirHoursReport::build(&s, &e, None, t, t, RulesChoice::ByDate)
        .unwrap_err()
        .to_string();
    assert!(err.contains("empty hour range"), "{err}");
}

/// A cold rebuild gives the same rows as the incremental updates.
#[test]
fn rebuild_matches_incremental() {
    let (_d, mut s) = open();
    let t = day_start_utc(Date::ymd(2025, 7, 1));
    let e = hourly();
    for k in 0..30 {
        let p = commit(&mut s, full_hours("S1", t + k * H, 1), k + 1);
        e.update(&mut s, &e.touched(&p)).unwrap();
    }
    let strip = |rows: Vec<AirHour>| -> Vec<AirHour> {
        rows.into_iter()
            .map(|mut r| {
                r.updated_ms = 0;
                r
            })
            .collect()
    };
    let inc = strip(s.air_hours(None, t, t + 30 * H).unwrap());
    assert_eq!(inc.len(), 60);
    let (_d2, mut s2) = open();
    commit(&mut s2, full_hours("S1", t, 30), 1);
    e.rebuild(&mut s2, Date::ymd(2025, 7, 1), Date::ymd(2025, 7, 2))
        .unwrap();
    assert_eq!(strip(s2.air_hours(None, t, t + 30 * H).unwrap()), inc);
}
