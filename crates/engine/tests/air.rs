//! Air engine tests with hand-computed expectations. Hour data are HJ 212 2061 values labelled
//! by the hour's start (stored as UTC seconds); days are Beijing natural days.

use std::collections::BTreeSet;

use engine::time::day_start_utc;
use engine::{AirEngine, AirReport, AirStation, RulesChoice};
use model::{Measurement, Period};
use standards::aqi::AqiStandard;
use standards::Date;
use store::{AirDay, IntakePacket, SqliteOptions, SqliteStore, Store, COUNTY_SITE};

const PM25: &str = "a34004";
const PM10: &str = "a34002";
const SO2: &str = "a21026";
const NO2: &str = "a21004";
const CO: &str = "a21005";
const O3: &str = "a05024";

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

fn engine() -> AirEngine {
    AirEngine::new([
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
    ])
}

fn m(site: &str, code: &str, time: i64, value: &str, flag: &str) -> Measurement {
    Measurement {
        site: site.into(),
        code: code.into(),
        field: "Avg".into(),
        period: Period::Hour,
        time,
        value: value.parse().unwrap(),
        text: value.into(),
        flag: Some(flag.into()),
        eflag: None,
        mn: format!("MN-{site}"),
    }
}

/// 24 hourly values of `code` for Beijing day `d` (hour h = index h, labelled by start).
fn day_values(
    site: &str,
    code: &str,
    d: Date,
    vals: &[&str; 24],
    flags: &[&str; 24],
) -> Vec<Measurement> {
    let t0 = day_start_utc(d);
    (0..24)
        .map(|h| m(site, code, t0 + 3600 * h as i64, vals[h], flags[h]))
        .collect()
}

fn flat(site: &str, code: &str, d: Date, v: &str) -> Vec<Measurement> {
    day_values(site, code, d, &[v; 24], &["N"; 24])
}

fn packet(received_ms: i64, values: Vec<Measurement>) -> IntakePacket {
    IntakePacket {
        received_ms,
        mn: "MN".into(),
        cn: "2061".into(),
        values,
        ..IntakePacket::default()
    }
}

/// Commits the values and runs the incremental update for what the commit touched.
fn ingest(store: &mut SqliteStore, e: &AirEngine, received_ms: i64, values: Vec<Measurement>) {
    let batch = [packet(received_ms, values)];
    store.commit(&batch).unwrap();
    let touched = e.touched(&batch);
    e.update(store, &touched).unwrap();
}

fn day_row(store: &SqliteStore, site: &str, d: &str) -> Option<AirDay> {
    store.air_days(Some(site), d, d).unwrap().into_iter().next()
}

/// HJ 663-2013 natural day 00:00–24:00 Beijing; HJ 212 DataTime = hour start.
/// 2025-07-01 Beijing starts at 2025-06-30T16:00Z. Hours 00–22 = 48 and hour 23 (23:00–24:00,
/// stored as 15:00Z on 07-01) = 96 → mean (23·48 + 96)/24 = 50. The value at 16:00Z on 07-01
/// (Beijing 07-02 00:00) and at 15:00Z on 06-30 (Beijing 06-30 23:00) = 500 must not enter.
/// HJ 633-2012 Table 1 PM2.5 24h: IAQI = 50 + (100−50)(50−35)/(75−35) = 68.75 → 69 (§6.2 ceil).
#[test]
fn day_boundary_at_beijing_midnight() {
    let (_t, mut s) = open();
    let e = engine();
    let d = Date::ymd(2025, 7, 1);
    let t0 = day_start_utc(d);
    assert_eq!(t0, 1_751_299_200);
    let mut vals = ["48"; 24];
    vals[23] = "96";
    let mut v = day_values("S1", PM25, d, &vals, &["N"; 24]);
    v.push(m("S1", PM25, t0 - 3600, "500", "N"));
    v.push(m("S1", PM25, t0 + 86_400, "500", "N"));
    let batch = [packet(1, v)];
    let touched = e.touched(&batch);
    assert_eq!(
        touched,
        BTreeSet::from([
            ("S1".to_string(), Date::ymd(2025, 6, 30)),
            ("S1".to_string(), d),
            ("S1".to_string(), Date::ymd(2025, 7, 2)),
        ])
    );
    s.commit(&batch).unwrap();
    e.update(&mut s, &touched).unwrap();
    let r = day_row(&s, "S1", "2025-07-01").unwrap();
    assert_eq!(r.pm25.as_deref(), Some("50"));
    assert_eq!(r.aqi, Some(69));
    assert_eq!(r.level, Some(2));
    assert_eq!(r.primary, "PM25_24H");
    assert_eq!(r.rules, "HJ633-2012");
    // The neighbouring days hold one hour each: no daily mean (GB 3095 Table 4, ≥ 20 h).
    let prev = day_row(&s, "S1", "2025-06-30").unwrap();
    assert_eq!(prev.pm25, None);
    assert_eq!(prev.aqi, None);
    assert!(prev.hours.starts_with("PM2.5=1,"));
}

/// GB 3095-2012 Table 4 / HJ 663-2013: a daily mean needs ≥ 20 valid hourly means; hours with
/// a flag other than N (HJ 212-2017 Table 8: D fault, M maintenance, C calibration …) are not
/// valid. 19 N hours + 5 D → no mean; 20 N hours at 40 + 4 C hours at 1000 → mean 40 →
/// IAQI 50 + 50·(40−35)/40 = 56.25 → 57.
#[test]
fn validity_and_flags() {
    let (_t, mut s) = open();
    let e = engine();
    let d1 = Date::ymd(2025, 3, 10);
    let mut flags = ["N"; 24];
    for f in flags.iter_mut().take(5) {
        *f = "D";
    }
    ingest(
        &mut s,
        &e,
        1,
        day_values("S1", PM25, d1, &["40"; 24], &flags),
    );
    let r = day_row(&s, "S1", "2025-03-10").unwrap();
    assert_eq!(r.pm25, None);
    assert_eq!(r.aqi, None);
    assert!(r.hours.starts_with("PM2.5=19,"));

    let d2 = Date::ymd(2025, 3, 11);
    let mut vals = ["40"; 24];
    let mut flags = ["N"; 24];
    for h in 0..4 {
        vals[h] = "1000";
        flags[h] = ["C", "M", "F", "T"][h];
    }
    ingest(&mut s, &e, 2, day_values("S1", PM25, d2, &vals, &flags));
    let r = day_row(&s, "S1", "2025-03-11").unwrap();
    assert_eq!(r.pm25.as_deref(), Some("40"));
    assert_eq!(r.aqi, Some(57));
}

/// The same concentrations judged by different rules across 2026-03-01 (HJ 633-2026 in force).
/// PM2.5 = 62 µg/m³: HJ 633-2012 Table 1: 50 + 50·27/40 = 83.75 → 84 (良);
/// HJ 633-2026 Table 1 (IAQI 100 at 60, 150 at 115): 100 + 50·2/55 = 101.8 → 102 (轻度污染),
/// published although the other pollutants are missing since > 100 (HJ 633-2026 §5.3).
/// PM2.5 = 50 alone: 2012 → 69; 2026 → 80 with pollutants missing → NA (§5.3).
#[test]
fn rule_switch_on_2026_03_01() {
    let (_t, mut s) = open();
    let e = engine();
    let (a, b) = (Date::ymd(2026, 2, 28), Date::ymd(2026, 3, 1));
    let mut v = flat("S1", PM25, a, "62");
    v.extend(flat("S1", PM25, b, "62"));
    v.extend(flat("S2", PM25, a, "50"));
    v.extend(flat("S2", PM25, b, "50"));
    ingest(&mut s, &e, 1, v);
    let ra = day_row(&s, "S1", "2026-02-28").unwrap();
    let rb = day_row(&s, "S1", "2026-03-01").unwrap();
    assert_eq!(
        (ra.aqi, ra.level, ra.rules.as_str()),
        (Some(84), Some(2), "HJ633-2012")
    );
    assert_eq!(
        (rb.aqi, rb.level, rb.rules.as_str()),
        (Some(102), Some(3), "HJ633-2026")
    );
    assert_eq!(day_row(&s, "S2", "2026-02-28").unwrap().aqi, Some(69));
    assert_eq!(day_row(&s, "S2", "2026-03-01").unwrap().aqi, None);

    // By date vs the whole series under one rule set, labelled.
    let by_date = AirReport::build(&s, &e, a, b, RulesChoice::ByDate).unwrap();
    assert_eq!(by_date.rules, "by_date");
    assert_eq!(by_date.aqi_standards, vec!["HJ633-2012", "HJ633-2026"]);
    let s1 = &by_date.stations[0];
    assert_eq!(
        s1.daily.iter().map(|d| d.aqi).collect::<Vec<_>>(),
        vec![Some(84), Some(102)]
    );
    assert_eq!(
        (s1.valid_days, s1.good_days, s1.good_days_ratio),
        (2, 1, Some(50.0))
    );
    let fixed =
        AirReport::build(&s, &e, a, b, RulesChoice::Fixed(AqiStandard::Hj633_2012)).unwrap();
    assert_eq!(fixed.rules, "HJ633-2012");
    let s1 = &fixed.stations[0];
    assert_eq!(
        s1.daily.iter().map(|d| d.aqi).collect::<Vec<_>>(),
        vec![Some(84), Some(84)]
    );
    assert!(s1.daily.iter().all(|d| d.rules == "HJ633-2012"));
    let s2 = &fixed.stations[1];
    assert_eq!(s2.valid_days, 2);
    let fixed26 =
        AirReport::build(&s, &e, a, b, RulesChoice::Fixed(AqiStandard::Hj633_2026)).unwrap();
    assert_eq!(
        fixed26.stations[0]
            .daily
            .iter()
            .map(|d| d.aqi)
            .collect::<Vec<_>>(),
        vec![Some(102), Some(102)]
    );
    assert_eq!(fixed26.stations[1].valid_days, 0); // NA days leave numerator and denominator
}

/// County value = arithmetic mean of the urban stations' daily concentrations, then the AQI
/// (HJ 663-2013 city scale; profile: urban stations count for the county). S1 40, S2 60 → 50
/// → 69; S3 (not urban) at 500 does not enter.
#[test]
fn county_mean_of_urban_stations() {
    let (_t, mut s) = open();
    let e = engine();
    let d = Date::ymd(2025, 5, 5);
    let mut v = flat("S1", PM25, d, "40");
    v.extend(flat("S2", PM25, d, "60"));
    v.extend(flat("S3", PM25, d, "500"));
    ingest(&mut s, &e, 1, v);
    let c = day_row(&s, COUNTY_SITE, "2025-05-05").unwrap();
    assert_eq!(c.pm25.as_deref(), Some("50"));
    assert_eq!(c.aqi, Some(69));
    assert_eq!(c.stations, 2);
    assert_eq!(day_row(&s, "S3", "2025-05-05").unwrap().aqi, Some(500));
}

/// O3 MDA8 (HJ 663-2013 §4.3, 17 windows in the day): hours 12–19 at 200, others 100 →
/// MDA8 = 200; HJ 633-2012 O3 8h: 100 + 50·(200−160)/(215−160) = 136.36 → 137; O3 1h max 200
/// → 100. AQI 137, primary O3_8H, level 3.
#[test]
fn o3_mda8_daily_aqi() {
    let (_t, mut s) = open();
    let e = engine();
    let d = Date::ymd(2025, 8, 1);
    let mut vals = ["100"; 24];
    for v in vals.iter_mut().take(20).skip(12) {
        *v = "200";
    }
    ingest(&mut s, &e, 1, day_values("S1", O3, d, &vals, &["N"; 24]));
    let r = day_row(&s, "S1", "2025-08-01").unwrap();
    assert_eq!(r.o3_8h.as_deref(), Some("200"));
    assert_eq!(r.o3_1h.as_deref(), Some("200"));
    assert_eq!(r.o3_8h_windows, 17);
    assert_eq!(
        (r.aqi, r.level, r.primary.as_str()),
        (Some(137), Some(3), "O3_8H")
    );
}

/// All six at the grade-2 limits: HJ 633-2012 IAQIs PM2.5 35→50, PM10 70→60, SO2 60→55,
/// NO2 40→50, CO 4→100, O3-8h 160→100, O3-1h 160→50 → AQI 100, primary CO_24H and O3_8H (tie,
/// §7 lists all). Composite index (环办〔2014〕64号) = 35/35+70/70+60/60+40/40+4/4+160/160 = 6.00.
/// Under HJ 663-2026 the index is refused (weights unverified) and the 2012 one is labelled.
#[test]
fn six_pollutants_and_composite_index() {
    let (_t, mut s) = open();
    let e = engine();
    let six = |d: Date| {
        let mut v = flat("S1", PM25, d, "35");
        v.extend(flat("S1", PM10, d, "70"));
        v.extend(flat("S1", SO2, d, "60"));
        v.extend(flat("S1", NO2, d, "40"));
        v.extend(flat("S1", CO, d, "4"));
        v.extend(flat("S1", O3, d, "160"));
        v
    };
    ingest(&mut s, &e, 1, six(Date::ymd(2025, 6, 1)));
    ingest(&mut s, &e, 2, six(Date::ymd(2026, 6, 1)));
    let r = day_row(&s, "S1", "2025-06-01").unwrap();
    assert_eq!((r.aqi, r.primary.as_str()), (Some(100), "CO_24H,O3_8H"));

    let y25 = AirReport::build(
        &s,
        &e,
        Date::ymd(2025, 1, 1),
        Date::ymd(2025, 12, 31),
        RulesChoice::ByDate,
    )
    .unwrap();
    let st = &y25.stations[0];
    assert_eq!(st.composite_index, Some(6.0));
    assert_eq!(st.pm25_annual_mean, Some(35.0));
    assert_eq!(st.co_24h_p95, Some(4.0));
    assert_eq!(st.o3_8h_p90, Some(160.0));
    assert_eq!(st.attainment.attains, Some(true));
    assert_eq!(st.attainment.annual_data_sufficient, Some(false)); // 1 day < 324
    let y26 = AirReport::build(
        &s,
        &e,
        Date::ymd(2026, 1, 1),
        Date::ymd(2026, 12, 31),
        RulesChoice::ByDate,
    )
    .unwrap();
    let st = &y26.stations[0];
    assert_eq!(st.composite_index, None);
    assert_eq!(st.composite_index_2012, Some(6.0));
    assert!(st
        .composite_index_note
        .as_deref()
        .unwrap()
        .contains("unverified"));
    assert_eq!(y26.assessment_standard, "HJ663-2026");
}

/// Annual statistics over daily values (HJ 663 Annex A percentile): CO daily means 1, 2, 3 →
/// p95: k = 1 + 2·0.95 = 2.9 → 2 + 0.9·(3−2) = 2.9; PM2.5 means 30, 40, 50 → annual mean 40.
#[test]
fn annual_statistics() {
    let (_t, mut s) = open();
    let e = engine();
    for (i, (pm, co)) in [("30", "1"), ("40", "2"), ("50", "3")].iter().enumerate() {
        let d = Date::ymd(2025, 4, 1 + i as u8);
        let mut v = flat("S1", PM25, d, pm);
        v.extend(flat("S1", CO, d, co));
        ingest(&mut s, &e, i as i64, v);
    }
    let rep = AirReport::build(
        &s,
        &e,
        Date::ymd(2025, 4, 1),
        Date::ymd(2025, 4, 30),
        RulesChoice::ByDate,
    )
    .unwrap();
    let st = &rep.stations[0];
    assert_eq!(st.pm25_annual_mean, Some(40.0));
    assert_eq!(st.co_24h_p95, Some(2.9));
    assert_eq!(st.valid_days, 3);
    assert_eq!(st.attainment.annual_data_sufficient, None); // a month, not a year
                                                            // County = S1 only (S2 has no data): the same figures.
    assert_eq!(rep.county.pm25_annual_mean, Some(40.0));
}

/// A late / back-filled hour (补发) updates its day and the year: 19 hours → no AQI; the 20th
/// arrives later → mean and AQI appear, valid_days 0 → 1. A resend replacing a value with a
/// flagged one removes it again. Catch-up by watermark sees data committed without the observer.
#[test]
fn late_and_backfilled_data() {
    let (_t, mut s) = open();
    let e = engine();
    let d = Date::ymd(2025, 11, 20);
    let t0 = day_start_utc(d);
    let v: Vec<Measurement> = (0..19)
        .map(|h| m("S1", PM25, t0 + 3600 * h, "50", "N"))
        .collect();
    ingest(&mut s, &e, 1, v);
    let year = |s: &SqliteStore| {
        AirReport::build(
            s,
            &e,
            Date::ymd(2025, 1, 1),
            Date::ymd(2025, 12, 31),
            RulesChoice::ByDate,
        )
        .unwrap()
    };
    assert_eq!(year(&s).stations[0].valid_days, 0);
    ingest(
        &mut s,
        &e,
        2,
        vec![m("S1", PM25, t0 + 3600 * 23, "50", "N")],
    );
    assert_eq!(day_row(&s, "S1", "2025-11-20").unwrap().aqi, Some(69));
    let y = year(&s);
    assert_eq!((y.stations[0].valid_days, y.county.valid_days), (1, 1));
    ingest(
        &mut s,
        &e,
        3,
        vec![m("S1", PM25, t0 + 3600 * 23, "50", "M")],
    );
    assert_eq!(day_row(&s, "S1", "2025-11-20").unwrap().aqi, None);

    // Data committed with no observer running: catch_up finds it by received_ms.
    let first = e.catch_up(&mut s).unwrap();
    assert!(first.station_days >= 1);
    s.commit(&[packet(10, vec![m("S1", PM25, t0 + 3600 * 20, "50", "N")])])
        .unwrap();
    assert_eq!(day_row(&s, "S1", "2025-11-20").unwrap().aqi, None);
    let st = e.catch_up(&mut s).unwrap();
    assert_eq!(st.station_days, 1);
    assert_eq!(day_row(&s, "S1", "2025-11-20").unwrap().aqi, Some(69));
    assert_eq!(e.catch_up(&mut s).unwrap().station_days, 1); // boundary ms reprocessed, idempotent
}

/// Cold rebuild gives the same rows as the incremental path.
#[test]
fn rebuild_equals_incremental() {
    let (_t, mut s) = open();
    let e = engine();
    let d = Date::ymd(2025, 2, 3);
    let mut v = flat("S1", PM25, d, "80");
    v.extend(flat("S2", PM10, d.succ(), "120"));
    ingest(&mut s, &e, 1, v);
    let strip = |mut r: Vec<AirDay>| {
        r.iter_mut().for_each(|x| x.updated_ms = 0);
        r
    };
    let inc = strip(s.air_days(None, "2025-01-01", "2025-12-31").unwrap());
    let (_t2, mut s2) = open();
    let v: Vec<Measurement> = {
        let mut v = flat("S1", PM25, d, "80");
        v.extend(flat("S2", PM10, d.succ(), "120"));
        v
    };
    s2.commit(&[packet(1, v)]).unwrap();
    let st = e
        .rebuild(&mut s2, Date::ymd(2025, 1, 1), Date::ymd(2025, 12, 31))
        .unwrap();
    assert_eq!(st.station_days, 2);
    assert_eq!(
        strip(s2.air_days(None, "2025-01-01", "2025-12-31").unwrap()),
        inc
    );
}

/// The report JSON contract: `county` and `stations` (each with `site`) carry the figures
/// and `daily` entries with date, aqi, level, primary.
#[test]
fn report_json_contract() {
    let (_t, mut s) = open();
    let e = engine();
    ingest(&mut s, &e, 1, flat("S1", PM25, Date::ymd(2025, 9, 9), "80"));
    let rep = AirReport::build(
        &s,
        &e,
        Date::ymd(2025, 1, 1),
        Date::ymd(2025, 12, 31),
        RulesChoice::ByDate,
    )
    .unwrap();
    let j = serde_json::to_value(&rep).unwrap();
    assert_eq!(j["rules"], "by_date");
    let keys = [
        "valid_days",
        "good_days",
        "good_days_ratio",
        "heavy_days",
        "PM25_annual_mean",
        "PM10_annual_mean",
        "SO2_annual_mean",
        "NO2_annual_mean",
        "CO_24H_p95",
        "O3_8H_p90",
        "composite_index",
        "daily",
    ];
    let mut areas = vec![&j["county"]];
    areas.extend(j["stations"].as_array().unwrap());
    assert_eq!(areas.len(), 4);
    for a in areas {
        assert!(a["site"].is_string());
        for k in keys {
            assert!(a.get(k).is_some(), "missing {k} in {a}");
        }
    }
    let d = &j["stations"][0]["daily"][0];
    // 80: 100 + 50·(80−75)/(115−75) = 106.25 → 107 (HJ 633-2012 Table 1), 轻度污染.
    assert_eq!(d["date"], "2025-09-09");
    assert_eq!(d["aqi"], 107);
    assert_eq!(d["level"], 3);
    assert_eq!(d["primary"], serde_json::json!(["PM25_24H"]));
    assert_eq!(j["county"]["PM25_annual_mean"], 80.0);
}

/// The commit observer (what `serve` runs): after a catch-up has set the watermark, each
/// observed batch is derived and the watermark advances to the batch's newest packet; a batch
/// touching nothing of the air engine changes nothing.
#[test]
fn observer_derives_and_advances_the_watermark() {
    let (dir, mut store) = open();
    let d = Date::new(2025, 7, 1).unwrap();
    store
        .commit(&[packet(1_000, flat("S2", "a34004", d, "50"))])
        .unwrap();
    engine().catch_up(&mut store).unwrap();
    assert_eq!(
        store.watermark(engine::air::WATERMARK).unwrap(),
        Some(1_000)
    );
    let mut obs = engine().observer(Box::new(
        SqliteStore::open_with(
            dir.path(),
            &SqliteOptions {
                fsync: false,
                cache_mib: 4,
            },
        )
        .unwrap(),
    ));
    let batch = [packet(5_000, flat("S1", "a34004", d, "50"))];
    store.commit(&batch).unwrap();
    assert!(day_row(&store, "S1", "2025-07-01").is_none());
    obs(&batch);
    assert_eq!(day_row(&store, "S1", "2025-07-01").unwrap().aqi, Some(69));
    assert_eq!(
        store.watermark(engine::air::WATERMARK).unwrap(),
        Some(5_000)
    );
    obs(&[packet(9_000, vec![])]);
    assert_eq!(
        store.watermark(engine::air::WATERMARK).unwrap(),
        Some(5_000)
    );
}
