//! Outlet evaluation tests with hand-computed expectations (docs/engine-sources.md). Values are
//! committed as HJ 212 packets into a temp `SqliteStore`; hours are UTC starts, days Beijing.

use engine::fume::FumeEngine;
use engine::sources::{LimitSpec, OutletKind, OutletSpec, SourcesEngine, SourcesPolicy};
use engine::sources_report::SourcesReport;
use engine::time::day_start_utc;
use model::{Measurement, Period};
use standards::Date;
use store::sources::SourcesStore;
use store::{IntakePacket, SqliteOptions, SqliteStore};

const SO2: &str = "a21026";
const O2: &str = "a19001";
const FLOW: &str = "a00000";
const COD: &str = "w01018";
const WFLOW: &str = "w00000";
const GAS: &str = "FG-01";
const WATER: &str = "WW-01";

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

fn limit(code: &str, upper: f64) -> LimitSpec {
    LimitSpec {
        code: code.into(),
        name: code.into(),
        unit: "mg/m3".into(),
        upper: Some(upper),
        lower: None,
        source: "test".into(),
    }
}

/// A gas boiler (GB 13271-2014 Table 2 gas: SO2 50 mg/m³, reference O2 3.5 %) and a
/// wastewater outlet (GB 8978-1996 grade 1: COD 100 mg/L).
fn engine() -> SourcesEngine {
    SourcesEngine::new(
        [
            OutletSpec {
                site: GAS.into(),
                name: "锅炉".into(),
                enterprise: "ENT-A".into(),
                enterprise_name: "甲".into(),
                kind: OutletKind::FlueGas,
                standard: "GB 13271-2014 表2 燃气".into(),
                reference_o2_pct: Some(3.5),
                limits: vec![limit(SO2, 50.0)],
            },
            OutletSpec {
                site: WATER.into(),
                name: "总排口".into(),
                enterprise: "ENT-B".into(),
                enterprise_name: "乙".into(),
                kind: OutletKind::Wastewater,
                standard: "GB 8978-1996 一级".into(),
                reference_o2_pct: None,
                limits: vec![limit(COD, 100.0)],
            },
        ],
        FumeEngine::default(),
        SourcesPolicy::default(),
    )
}

fn m(
    site: &str,
    code: &str,
    field: &str,
    period: Period,
    time: i64,
    v: f64,
    flag: &str,
) -> Measurement {
    Measurement {
        site: site.into(),
        code: code.into(),
        field: field.into(),
        period,
        time,
        value: v,
        text: v.to_string(),
        flag: (!flag.is_empty()).then(|| flag.to_string()),
        eflag: None,
        mn: format!("MN-{site}"),
    }
}

fn commit(s: &mut SqliteStore, e: &SourcesEngine, values: Vec<Measurement>, received_ms: i64) {
    let p = IntakePacket {
        received_ms,
        mn: "MN".into(),
        cn: "2061".into(),
        values,
        ..IntakePacket::default()
    };
    store::Store::commit(s, std::slice::from_ref(&p)).unwrap();
    let t = e.touched(std::slice::from_ref(&p));
    e.update(s, &t).unwrap();
}

/// 2025-07-01 00:00 Beijing.
fn t0() -> i64 {
    day_start_utc(Date::ymd(2025, 7, 1))
}

fn hour_so2(h: i64, measured: f64, o2: f64) -> Vec<Measurement> {
    let t = t0() + h * 3600;
    vec![
        m(GAS, SO2, "Avg", Period::Hour, t, measured, "N"),
        m(GAS, O2, "Avg", Period::Hour, t, o2, "N"),
    ]
}

/// GB 13271-2014 §5.2: ρ = ρ′ × (21 − 3.5)/(21 − 7) = 40 × 17.5/14 = 50.0 mg/m³ (= limit:
/// complies, limits are inclusive); 42 → 52.5, 超标倍数 (52.5 − 50)/50 = 0.05.
#[test]
fn o2_correction_worked_example() {
    let (_d, mut s) = open();
    let e = engine();
    let mut v = hour_so2(0, 40.0, 7.0);
    v.extend(hour_so2(1, 42.0, 7.0));
    commit(&mut s, &e, v, 1);
    let h = s.source_hours(Some(GAS), Some(SO2), 0, i64::MAX).unwrap();
    assert_eq!(h.len(), 2);
    assert!((h[0].value.unwrap() - 50.0).abs() < 1e-9);
    assert!(!h[0].exceeds);
    assert!((h[1].value.unwrap() - 52.5).abs() < 1e-9);
    assert!(h[1].exceeds);
    assert_eq!(h[1].measured, Some(42.0));
    let ev = s.source_events(Some(GAS), Some(SO2), 0, i64::MAX).unwrap();
    assert_eq!(ev.len(), 1);
    assert!((ev[0].peak_multiple.unwrap() - 0.05).abs() < 1e-9);
    // The device's own ZsAvg is used as sent (no second correction).
    let t = t0() + 2 * 3600;
    commit(
        &mut s,
        &e,
        vec![
            m(GAS, SO2, "Avg", Period::Hour, t, 40.0, "N"),
            m(GAS, SO2, "ZsAvg", Period::Hour, t, 48.0, "N"),
            m(GAS, O2, "Avg", Period::Hour, t, 7.0, "N"),
        ],
        2,
    );
    let h = s.source_hours(Some(GAS), Some(SO2), t, t + 1).unwrap();
    assert_eq!(h[0].value, Some(48.0));
}

fn minutes(
    h: i64,
    n_valid: usize,
    n_bad: usize,
    bad_flag: &str,
    step_s: i64,
    v: f64,
) -> Vec<Measurement> {
    let t = t0() + h * 3600;
    let mut out = Vec::new();
    for i in 0..(n_valid + n_bad) {
        let flag = if i < n_valid { "N" } else { bad_flag };
        let tm = t + i as i64 * step_s;
        out.push(m(GAS, SO2, "ZsAvg", Period::Min, tm, v, ""));
        out.push(m(GAS, SO2, "Avg", Period::Min, tm, v, flag));
    }
    out
}

/// HJ 75-2017 §11 (有效小时均值): an hour needs ≥ 45 valid minutes; C (calibration) and M
/// (maintenance) minutes are not valid (HJ 212-2017 Table 8). 45 N of 60 → valid; 44 → not.
/// With 10-min records each counts 10 minutes: 5 N + 1 D = 50 → valid; 4 N + 2 D = 40 → not.
#[test]
fn forty_five_valid_minutes() {
    let (_d, mut s) = open();
    let e = engine();
    let mut v = minutes(0, 45, 15, "C", 60, 30.0);
    v.extend(minutes(1, 44, 16, "M", 60, 30.0));
    v.extend(minutes(2, 5, 1, "D", 600, 30.0));
    v.extend(minutes(3, 4, 2, "D", 600, 30.0));
    commit(&mut s, &e, v, 1);
    let h = s.source_hours(Some(GAS), Some(SO2), 0, i64::MAX).unwrap();
    let got: Vec<(Option<i64>, bool, &str)> = h
        .iter()
        .map(|h| (h.valid_minutes, h.valid, h.origin.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some(45), true, "minutes"),
            (Some(44), false, "minutes"),
            (Some(50), true, "minutes"),
            (Some(40), false, "minutes"),
        ]
    );
    assert_eq!(h[0].value, Some(30.0));
    assert_eq!(h[0].flag, "N");
    assert_eq!(h[1].flag, "D");
}

/// Device hour and minutes both present: both kept, the device value judged; |100 − 80| = 20 >
/// max(0.5, 5 % × 80 = 4) → disagreement. 81 vs 80: 1 ≤ 4 → agreement.
#[test]
fn device_hour_and_minutes_disagree() {
    let (_d, mut s) = open();
    let e = engine();
    let mut v = minutes(0, 60, 0, "N", 60, 80.0);
    v.push(m(GAS, SO2, "ZsAvg", Period::Hour, t0(), 100.0, ""));
    v.push(m(GAS, SO2, "Avg", Period::Hour, t0(), 90.0, "N"));
    v.extend(minutes(1, 60, 0, "N", 60, 80.0));
    v.push(m(GAS, SO2, "ZsAvg", Period::Hour, t0() + 3600, 81.0, ""));
    v.push(m(GAS, SO2, "Avg", Period::Hour, t0() + 3600, 70.0, "N"));
    commit(&mut s, &e, v, 1);
    let h = s.source_hours(Some(GAS), Some(SO2), 0, i64::MAX).unwrap();
    assert_eq!(h[0].origin, "device");
    assert_eq!(h[0].value, Some(100.0));
    assert_eq!(h[0].minutes_value, Some(80.0));
    assert!(h[0].disagree);
    assert!(!h[1].disagree);
}

fn so2_hours(hours: &[(i64, f64)]) -> Vec<Measurement> {
    hours
        .iter()
        .map(|(h, v)| m(GAS, SO2, "ZsAvg", Period::Hour, t0() + h * 3600, *v, ""))
        .chain(
            hours
                .iter()
                .map(|(h, v)| m(GAS, SO2, "Avg", Period::Hour, t0() + h * 3600, *v, "N")),
        )
        .collect()
}

fn events(s: &SqliteStore) -> Vec<(i64, i64, Option<i64>, f64)> {
    s.source_events(Some(GAS), Some(SO2), 0, i64::MAX)
        .unwrap()
        .iter()
        .map(|e| {
            (
                (e.start - t0()) / 3600,
                e.hours,
                e.end.map(|x| (x - t0()) / 3600),
                e.peak,
            )
        })
        .collect()
}

/// Consecutive exceeding hours make one event: hours 10, 11, 12 over 50 (60, 75, 55), 13 under
/// → one event 10:00–13:00, 3 hours, peak 75, 超标倍数 (75 − 50)/50 = 0.5.
#[test]
fn consecutive_hours_merge_into_one_event() {
    let (_d, mut s) = open();
    let e = engine();
    commit(
        &mut s,
        &e,
        so2_hours(&[(9, 30.0), (10, 60.0), (11, 75.0), (12, 55.0), (13, 40.0)]),
        1,
    );
    assert_eq!(events(&s), vec![(10, 3, Some(13), 75.0)]);
    let ev = s.source_events(Some(GAS), Some(SO2), 0, i64::MAX).unwrap();
    assert_eq!(ev[0].peak_multiple, Some(0.5));
}

/// Late data: hours 10–11 and 13–14 over, 12 missing → two events, the second open (no later
/// hour yet). Hour 12 arrives late, over → one event 10–15 (5 h), still open. Hour 15 arrives
/// under → closed at 15:00. A resend of hour 11 under the limit splits it again (10 | 12–14).
#[test]
fn late_hour_extends_merges_and_splits_events() {
    let (_d, mut s) = open();
    let e = engine();
    commit(
        &mut s,
        &e,
        so2_hours(&[(10, 60.0), (11, 61.0), (13, 70.0), (14, 62.0)]),
        1,
    );
    assert_eq!(
        events(&s),
        vec![(10, 2, Some(12), 61.0), (13, 2, None, 70.0)]
    );
    commit(&mut s, &e, so2_hours(&[(12, 80.0)]), 2);
    assert_eq!(events(&s), vec![(10, 5, None, 80.0)]);
    commit(&mut s, &e, so2_hours(&[(15, 20.0)]), 3);
    assert_eq!(events(&s), vec![(10, 5, Some(15), 80.0)]);
    commit(&mut s, &e, so2_hours(&[(11, 45.0)]), 4);
    assert_eq!(
        events(&s),
        vec![(10, 1, Some(11), 60.0), (12, 3, Some(15), 80.0)]
    );
}

/// Wastewater (HJ 212-2017 App. C.16 note, hj212.md §1.7): one abnormal minute makes the hour
/// abnormal, even with 5 normal ones.
#[test]
fn wastewater_one_abnormal_minute_makes_the_hour_abnormal() {
    let (_d, mut s) = open();
    let e = engine();
    let t = t0();
    let mut v: Vec<Measurement> = (0..6)
        .map(|i| {
            m(
                WATER,
                COD,
                "Avg",
                Period::Min,
                t + i * 600,
                50.0,
                if i == 3 { "D" } else { "N" },
            )
        })
        .collect();
    v.extend((0..6).map(|i| {
        m(
            WATER,
            COD,
            "Avg",
            Period::Min,
            t + 3600 + i * 600,
            50.0,
            "N",
        )
    }));
    commit(&mut s, &e, v, 1);
    let h = s.source_hours(Some(WATER), Some(COD), 0, i64::MAX).unwrap();
    assert!(!h[0].valid);
    assert_eq!(h[0].flag, "D");
    assert!(h[1].valid);
    assert_eq!(h[1].value, Some(50.0));
}

/// Totals by Beijing day: wastewater Cou at 15:00Z (Beijing 23:00, 07-01) and 16:00Z (00:00,
/// 07-02) fall on different days. COD Cou 1.5 kg + 2.5 kg; flow Cou 100 + 200 m³. An hour
/// without Cou is computed: COD 50 mg/L × 10 L/s × 3600 s / 10⁶ = 1.8 kg; flow 10 L/s × 3.6 =
/// 36 m³.
#[test]
fn totals_follow_the_beijing_day_boundary() {
    let (_d, mut s) = open();
    let e = engine();
    let d2 = day_start_utc(Date::ymd(2025, 7, 2)); // 2025-07-01T16:00Z
    let h23 = d2 - 3600;
    let mut v = vec![
        m(WATER, COD, "Avg", Period::Hour, h23, 40.0, "N"),
        m(WATER, COD, "Cou", Period::Hour, h23, 1.5, "N"),
        m(WATER, WFLOW, "Avg", Period::Hour, h23, 9.0, "N"),
        m(WATER, WFLOW, "Cou", Period::Hour, h23, 100.0, "N"),
        m(WATER, COD, "Avg", Period::Hour, d2, 40.0, "N"),
        m(WATER, COD, "Cou", Period::Hour, d2, 2.5, "N"),
        m(WATER, WFLOW, "Avg", Period::Hour, d2, 9.0, "N"),
        m(WATER, WFLOW, "Cou", Period::Hour, d2, 200.0, "N"),
    ];
    v.push(m(WATER, COD, "Avg", Period::Hour, d2 + 3600, 50.0, "N"));
    v.push(m(WATER, WFLOW, "Avg", Period::Hour, d2 + 3600, 10.0, "N"));
    commit(&mut s, &e, v, 1);
    let rep = SourcesReport::build(
        &s,
        &e,
        Date::ymd(2025, 7, 1),
        Date::ymd(2025, 7, 31),
        engine::time::day_start_utc(Date::ymd(2026, 1, 1)),
    )
    .unwrap();
    let ent = rep
        .enterprises
        .iter()
        .find(|x| x.enterprise == "ENT-B")
        .unwrap();
    let o = &ent.outlets[0];
    let daily = o.daily_totals.as_ref().unwrap();
    assert_eq!(daily.len(), 2);
    assert_eq!(daily[0].period, "2025-07-01");
    assert_eq!(daily[0].kg[COD], 1.5);
    assert_eq!(daily[0].flow_m3, Some(100.0));
    assert_eq!(daily[1].period, "2025-07-02");
    assert_eq!(daily[1].kg[COD], 2.5 + 1.8);
    assert_eq!(daily[1].flow_m3, Some(236.0));
    assert_eq!(o.pollutants[0].total_kg, Some(5.8));
    assert_eq!(o.pollutants[0].total_hours_cou, 2);
    assert_eq!(o.pollutants[0].total_hours_computed, 1);
    assert_eq!(o.flow_m3, Some(336.0));
}

/// Flue gas amount without Cou: measured (not corrected) 40 mg/m³ × 10 m³/s × 3600 / 10⁶ =
/// 1.44 kg; flow 10 m³/s × 3600 = 36 000 m³.
#[test]
fn flue_gas_amount_from_concentration_and_flow() {
    let (_d, mut s) = open();
    let e = engine();
    let mut v = hour_so2(0, 40.0, 7.0);
    v.push(m(GAS, FLOW, "Avg", Period::Hour, t0(), 10.0, "N"));
    commit(&mut s, &e, v, 1);
    let h = s.source_hours(Some(GAS), None, 0, i64::MAX).unwrap();
    let so2 = h.iter().find(|h| h.code == SO2).unwrap();
    assert!((so2.cou.unwrap() - 1.44).abs() < 1e-9);
    assert_eq!(so2.cou_method, "computed");
    let q = h.iter().find(|h| h.code == FLOW).unwrap();
    assert_eq!(q.cou, Some(36_000.0));
    assert!(h.iter().find(|h| h.code == O2).unwrap().cou.is_none());
}

/// Catch-up by watermark derives what a server committed while nobody watched, and the cold
/// rebuild gives the same rows.
#[test]
fn catch_up_and_rebuild() {
    let (_d, mut s) = open();
    let e = engine();
    let p = IntakePacket {
        received_ms: 5,
        values: so2_hours(&[(10, 60.0), (11, 30.0)]),
        ..IntakePacket::default()
    };
    store::Store::commit(&mut s, &[p]).unwrap();
    let st = e.catch_up(&mut s).unwrap();
    assert_eq!(st.outlet_hours, 2);
    assert_eq!(events(&s), vec![(10, 1, Some(11), 60.0)]);
    // The watermark is inclusive (values received at it are re-derived, idempotently).
    let st = e.catch_up(&mut s).unwrap();
    assert_eq!(st.outlet_hours, 2);
    assert_eq!(events(&s), vec![(10, 1, Some(11), 60.0)]);
    let st = e
        .rebuild(&mut s, Date::ymd(2025, 7, 1), Date::ymd(2025, 7, 1))
        .unwrap();
    assert_eq!(st.outlet_hours, 2);
    assert_eq!(events(&s), vec![(10, 1, Some(11), 60.0)]);
}

/// The library's effective limit tightens a permit number, with its source.
#[test]
fn library_limit_resolution() {
    use engine::sources::{library_key, resolve_limit};
    use standards::emissions::LimitLibrary;
    let key = library_key("GB 13271-2014", "表2 新建锅炉 燃气").unwrap();
    assert_eq!(key.grade.as_deref(), Some("new/gas"));
    let lib = LimitLibrary::national();
    let permit = limit(SO2, 80.0);
    let r = resolve_limit(permit, &lib, Some(&key), None);
    assert_eq!(r.upper, Some(50.0));
    assert!(r.source.contains("GB 13271-2014 Table 2"));
    let ph = LimitSpec {
        code: "w01001".into(),
        upper: None,
        lower: None,
        ..limit("w01001", 0.0)
    };
    let k = library_key("GB 8978-1996", "一级").unwrap();
    let r = resolve_limit(ph, &lib, Some(&k), None);
    assert_eq!((r.lower, r.upper), (Some(6.0), Some(9.0)));
}
