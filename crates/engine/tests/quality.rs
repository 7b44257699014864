//! Data-quality tests with hand-computed expectations: each anomaly check on a crafted series,
//! the rates of a day with gaps and flags, the Beijing day boundary, and operator audit marks
//! (the audited view, the air engine's day, the trail). Hour data are HJ 212 2061 values labelled
//! by the hour's start (UTC seconds); days are Beijing natural days.

use std::collections::BTreeSet;

use engine::quality::{QualityEngine, WATERMARK};
use engine::time::day_start_utc;
use engine::{AirEngine, AirStation, QualityReport};
use model::{Device, DeviceKind, Measurement, Period};
use standards::Date;
use store::quality::{Finding, MarkState, QualityStore, ValueKey};
use store::{IntakePacket, SqliteOptions, SqliteStore, Store, StoreError, ValueFilter};

const PM25: &str = "a34004";
const MN: &str = "MN-A1";
const SITE: &str = "A1";

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open_with(
        dir.path(),
        &SqliteOptions {
            fsync: false,
            cache_mib: 16,
        },
    )
    .unwrap();
    s.put_device(&Device::new(MN, "123456", SITE, DeviceKind::Air))
        .unwrap();
    (dir, s)
}

fn d(y: i32, m: u8, dd: u8) -> Date {
    Date::new(y, m, dd).unwrap()
}

fn day() -> Date {
    d(2025, 7, 1)
}

/// The end of a Beijing day (UTC s): every hour of it has ended.
fn end(day: Date) -> i64 {
    day_start_utc(day) + 86_400
}

fn sched() -> engine::due::Schedules {
    engine::due::Schedules::default()
}

fn mv(code: &str, field: &str, period: Period, time: i64, v: &str, flag: &str) -> Measurement {
    Measurement {
        site: SITE.into(),
        code: code.into(),
        field: field.into(),
        period,
        time,
        value: v.parse().unwrap(),
        text: v.into(),
        flag: (!flag.is_empty()).then(|| flag.to_string()),
        eflag: None,
        mn: MN.into(),
    }
}

fn hour(h: i64, v: &str, flag: &str) -> Measurement {
    mv(
        PM25,
        "Avg",
        Period::Hour,
        day_start_utc(day()) + 3600 * h,
        v,
        flag,
    )
}

fn packet(received_ms: i64, values: Vec<Measurement>) -> IntakePacket {
    IntakePacket {
        received_ms,
        mn: MN.into(),
        cn: "2061".into(),
        values,
        ..IntakePacket::default()
    }
}

/// Received in the hour after the day (no clock drift for hour data).
fn on_time() -> i64 {
    (day_start_utc(day()) + 86_400 + 300) * 1000
}

fn ingest(s: &mut SqliteStore, e: &QualityEngine, received_ms: i64, values: Vec<Measurement>) {
    let batch = [packet(received_ms, values)];
    s.commit(&batch).unwrap();
    e.update(s, &e.touched(&batch)).unwrap();
}

fn kinds(fs: &[Finding], kind: &str) -> Vec<(i64, i64, i64, String)> {
    let t0 = day_start_utc(day());
    fs.iter()
        .filter(|f| f.kind == kind)
        .map(|f| {
            (
                (f.from - t0) / 3600,
                (f.to - t0) / 3600,
                f.count,
                f.detail.clone(),
            )
        })
        .collect()
}

/// The crafted PM2.5 day (hour → value, flag):
/// 0–5: 30..35 N; 6–11: 40 ×6 N (constant, default run 6); 12: 0 (zero); 13: −2 (negative);
/// 14: 1200 (> the 1000 µg/m³ range of an HJ 653 PM2.5 monitor); 15: 20 (jump 1200 → 20, ratio
/// 60 ≥ 5 and |Δ| 1180 ≥ 10 % of the range); 16: missing; 17, 18: 25, 26 flag D; 19: 27 flag M;
/// 20–22: 30, 31, 32; 23: missing.
fn crafted() -> Vec<Measurement> {
    let mut v = Vec::new();
    for h in 0..6 {
        v.push(hour(h, &(30 + h).to_string(), "N"));
    }
    for h in 6..12 {
        v.push(hour(h, "40", "N"));
    }
    v.push(hour(12, "0", "N"));
    v.push(hour(13, "-2", "N"));
    v.push(hour(14, "1200", "N"));
    v.push(hour(15, "20", "N"));
    v.push(hour(17, "25", "D"));
    v.push(hour(18, "26", "D"));
    v.push(hour(19, "27", "M"));
    for h in 20..23 {
        v.push(hour(h, &(10 + h).to_string(), "N"));
    }
    v
}

#[test]
fn each_check_on_a_crafted_hour_series() {
    let (_d, mut s) = open();
    let e = QualityEngine::default();
    ingest(&mut s, &e, on_time(), crafted());
    let t0 = day_start_utc(day());
    let fs = s.findings(Some(SITE), t0, t0 + 86_400, None).unwrap();
    assert_eq!(
        kinds(&fs, "constant"),
        vec![(6, 12, 6, "value=40".to_string())]
    );
    assert_eq!(kinds(&fs, "zero"), vec![(12, 13, 1, String::new())]);
    assert_eq!(kinds(&fs, "negative"), vec![(13, 14, 1, String::new())]);
    assert_eq!(
        kinds(&fs, "out_of_range"),
        vec![(14, 15, 1, "range=0..1000".to_string())]
    );
    assert_eq!(
        kinds(&fs, "jump"),
        vec![(15, 16, 1, "1200->20".to_string())]
    );
    assert_eq!(
        kinds(&fs, "missing"),
        vec![
            (16, 17, 1, "interval_s=3600".to_string()),
            (23, 24, 1, "interval_s=3600".to_string())
        ]
    );
    assert_eq!(
        kinds(&fs, "flag"),
        vec![(17, 19, 2, "D".to_string()), (19, 20, 1, "M".to_string())]
    );
    assert!(kinds(&fs, "clock_drift").is_empty());
    assert!(fs.iter().all(|f| f.mn == MN && f.code == PM25));
    // Kind filter, as the alarm rules read it.
    let only = s
        .findings(None, t0, t0 + 86_400, Some(&["zero", "negative"]))
        .unwrap();
    assert_eq!(only.len(), 2);

    // Counts: 22 received (16 and 23 missing); invalid by finding: 6–11, 12, 13, 14 (9 hours);
    // flagged 17, 18, 19 (3) → valid 22 − 9 − 3 = 10.
    let rows = s.quality_days("2025-07-01", "2025-07-01").unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(
        (r.expected, r.received, r.valid, r.flagged, r.marked_invalid),
        (24, 22, 10, 3, 0)
    );

    // Rates: transmission 22/24 = 0.9167, validity 10/22 = 0.4545, effective 10/24 = 0.4167.
    let rep =
        QualityReport::build(&s, day(), day(), end(d(2025, 12, 31)), false, &sched()).unwrap();
    let dev = &rep.devices[0];
    assert_eq!(dev.rates.transmission_rate, Some(0.9167));
    assert_eq!(dev.rates.validity_rate, Some(0.4545));
    assert_eq!(dev.rates.effective_rate, Some(0.4167));
    assert!(!dev.meets_threshold);
    assert_eq!(dev.findings["missing"], 2);
    assert_eq!(dev.days.len(), 1);

    // Re-running the day replaces rather than duplicates.
    let touched: BTreeSet<(String, Date)> = [(SITE.to_string(), day())].into();
    e.update(&mut s, &touched).unwrap();
    assert_eq!(
        s.findings(Some(SITE), t0, t0 + 86_400, None).unwrap().len(),
        fs.len()
    );
}

/// A month report expects every due hour up to "now": July with data only on 07-01 and now
/// = the end of 07-02 → expected 48, received 22, valid 10: transmission 22/48 = 0.4583, validity
/// 10/22 = 0.4545, effective 10/48 = 0.2083. A full day of 24 valid hours → 1.0.
#[test]
fn month_rates_expect_days_without_data() {
    let (_d, mut s) = open();
    let e = QualityEngine::default();
    ingest(&mut s, &e, on_time(), crafted());
    let rep = QualityReport::build(
        &s,
        d(2025, 7, 1),
        d(2025, 7, 31),
        end(d(2025, 7, 2)),
        false,
        &sched(),
    )
    .unwrap();
    let dev = &rep.devices[0];
    assert_eq!(
        (dev.rates.expected, dev.rates.received, dev.rates.valid),
        (48, 22, 10)
    );
    assert_eq!(dev.rates.transmission_rate, Some(0.4583));
    assert_eq!(dev.rates.effective_rate, Some(0.2083));
    assert_eq!(dev.days.len(), 2);
    assert_eq!(dev.days[1].period, "2025-07-02");
    assert_eq!(dev.days[1].rates.received, 0);
    assert_eq!(dev.days[1].rates.validity_rate, None);
    assert_eq!(dev.days[1].rates.effective_rate, Some(0.0));

    let by_month = QualityReport::build(
        &s,
        d(2025, 1, 1),
        d(2025, 12, 31),
        end(d(2025, 7, 2)),
        true,
        &sched(),
    )
    .unwrap();
    let m = &by_month.devices[0].months;
    assert_eq!(m.len(), 7, "January to July (today)");
    assert_eq!(m[6].period, "2025-07");
    assert_eq!(m[6].rates.expected, 48);
    // Before the device's first data (07-01 00:00, earlier than its registration) nothing
    // was due.
    assert_eq!(m[0].rates.expected, 0);
    assert_eq!(m[0].rates.transmission_rate, None);

    // A clean day: 24 hours, all N, varying values → every rate 1.0 (≥ 0.9 expected).
    let (_d2, mut s2) = open();
    let vals = (0..24)
        .map(|h| hour(h, &(30 + h % 5).to_string(), "N"))
        .collect();
    ingest(&mut s2, &e, on_time(), vals);
    let rep = QualityReport::build(&s2, day(), day(), end(day()), false, &sched()).unwrap();
    assert_eq!(rep.devices[0].rates.effective_rate, Some(1.0));
    assert!(rep.devices[0].meets_threshold);
    assert_eq!(rep.devices_meeting_threshold, 1);
}

/// Beijing day: 2025-06-30T16:00Z is 07-01 00:00 Beijing, 15:00Z is 06-30 23:00.
#[test]
fn beijing_day_boundary() {
    let (_d, mut s) = open();
    let e = QualityEngine::default();
    let t = day_start_utc(day());
    assert_eq!(t, 1_751_299_200);
    let vals = vec![
        mv(PM25, "Avg", Period::Hour, t - 3600, "30", "N"),
        mv(PM25, "Avg", Period::Hour, t, "31", "D"),
    ];
    ingest(&mut s, &e, on_time(), vals);
    let rows = s.quality_days("2025-06-30", "2025-07-01").unwrap();
    let got: Vec<(&str, i64, i64, i64)> = rows
        .iter()
        .map(|r| (r.day.as_str(), r.received, r.valid, r.flagged))
        .collect();
    assert_eq!(got, vec![("2025-06-30", 1, 1, 0), ("2025-07-01", 1, 0, 1)]);
    // 06-30 misses hours 0–22 (one run of 23), 07-01 misses 1–23.
    let fs = s
        .findings(Some(SITE), t - 86_400, t + 86_400, Some(&["missing"]))
        .unwrap();
    assert_eq!(
        fs.iter().map(|f| (f.from, f.count)).collect::<Vec<_>>(),
        vec![(t - 86_400, 23), (t + 3600, 23)]
    );
}

/// Clock drift (default 600 s): a real-time value whose DataTime is 700 s before its arrival
/// drifts, one 30 s before does not; an hour value that arrives 1 h before its hour ends
/// (device clock ahead) drifts by 3600 s.
#[test]
fn clock_drift() {
    let (_d, mut s) = open();
    let e = QualityEngine::default();
    let t = day_start_utc(day()) + 10 * 3600;
    let rtd = |time: i64| mv(PM25, "Rtd", Period::Rtd, time, "30", "N");
    ingest(&mut s, &e, (t + 700) * 1000, vec![rtd(t)]);
    ingest(&mut s, &e, (t + 100 + 30) * 1000, vec![rtd(t + 100)]);
    ingest(&mut s, &e, t * 1000, vec![hour(10, "30", "N")]);
    let fs = s
        .findings(Some(SITE), t - 3600, t + 3600, Some(&["clock_drift"]))
        .unwrap();
    let got: Vec<(i64, i64, String)> = fs
        .iter()
        .map(|f| (f.from, f.count, f.detail.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (t, 1, "max_s=3600".to_string()),
            (t, 1, "max_s=700;period=rtd".to_string())
        ]
    );
}

/// Minute data against the device's MinInterval (10 min → 144 a day): 4 slots missing in a
/// row (02:00–02:40) → one `missing` finding of 4; 12 identical minute values → `constant`.
#[test]
fn minute_missing_and_constant() {
    let (_d, mut s) = open();
    let mut dev = Device::new(MN, "123456", SITE, DeviceKind::Air);
    dev.min_interval = Some(10);
    s.put_device(&dev).unwrap();
    let e = QualityEngine::default();
    let t0 = day_start_utc(day());
    let vals: Vec<Measurement> = (0..144)
        .filter(|k| !(12..16).contains(k))
        .map(|k| {
            let v = if (100..112).contains(&k) {
                "50".to_string()
            } else {
                (20 + k % 7).to_string()
            };
            mv(PM25, "Avg", Period::Min, t0 + 600 * k, &v, "N")
        })
        .collect();
    ingest(&mut s, &e, on_time(), vals);
    let fs = s.findings(Some(SITE), t0, t0 + 86_400, None).unwrap();
    let got: Vec<(&str, i64, i64, i64)> = fs
        .iter()
        .map(|f| {
            (
                f.kind.as_str(),
                (f.from - t0) / 600,
                (f.to - t0) / 600,
                f.count,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![("missing", 12, 16, 4), ("constant", 100, 112, 12)]
    );
    // Minute data do not enter the hour-based daily counts.
    assert!(s
        .quality_days("2025-07-01", "2025-07-01")
        .unwrap()
        .is_empty());
}

/// Offline: no packet for 3 intervals (default interval 1 h without Rtd/MinInterval).
#[test]
fn offline_device() {
    let (_d, mut s) = open();
    let e = QualityEngine::default();
    let seen = on_time();
    ingest(&mut s, &e, seen, crafted());
    assert!(e
        .check_offline(&mut s, seen + 3 * 3_600_000 - 1000)
        .unwrap()
        .is_empty());
    let now = seen + 3 * 3_600_000 + 1000;
    let off = e.check_offline(&mut s, now).unwrap();
    assert_eq!(off.len(), 1);
    assert_eq!(
        (off[0].kind.as_str(), off[0].mn.as_str(), off[0].count),
        ("offline", MN, 3)
    );
    // Checked again later: the same outage is extended, not duplicated.
    e.check_offline(&mut s, now + 3_600_000).unwrap();
    let fs = s
        .findings(None, seen / 1000, now / 1000 + 7200, Some(&["offline"]))
        .unwrap();
    assert_eq!(fs.len(), 1);
    assert_eq!(fs[0].to, now / 1000 + 3600);
    assert_eq!(fs[0].count, 4);
}

fn key(h: i64) -> ValueKey {
    ValueKey {
        site: SITE.into(),
        code: PM25.into(),
        field: "Avg".into(),
        period: Period::Hour,
        time: day_start_utc(day()) + 3600 * h,
    }
}

fn values(s: &SqliteStore, raw: bool) -> Vec<Measurement> {
    let mut out = Vec::new();
    s.for_each_value(
        &ValueFilter {
            raw,
            ..ValueFilter::default()
        },
        &mut |m| {
            out.push(m.clone());
            Ok(())
        },
    )
    .unwrap();
    out
}

/// Marks: HJ 663 / GB 3095 Table 4 — a 24-h mean needs ≥ 20 valid hours. 20 hours of PM2.5
/// = 35 → mean 35. Marking hour 5 invalid leaves 19 → no daily mean. Hour 20 carries flag D
/// (not valid); marking it valid (operator override) → 19 × 35 + 55 over 20 hours = 36.
#[test]
fn marks_change_the_audited_view_and_the_air_day() {
    let (_d, mut s) = open();
    let air = AirEngine::new([AirStation {
        site: SITE.into(),
        urban: true,
    }]);
    let q = QualityEngine::default();
    let mut vals: Vec<Measurement> = (0..20).map(|h| hour(h, "35", "N")).collect();
    vals.push(hour(20, "55", "D"));
    s.commit(&[packet(on_time(), vals)]).unwrap();
    air.catch_up(&mut s).unwrap();
    q.catch_up(&mut s).unwrap();
    let pm25 = |s: &SqliteStore| {
        let r = &s.air_days(Some(SITE), "2025-07-01", "2025-07-01").unwrap()[0];
        (
            r.pm25.clone(),
            r.hours.split(',').next().unwrap().to_string(),
        )
    };
    assert_eq!(pm25(&s), (Some("35".into()), "PM2.5=20".into()));
    // 35 repeated 20 times is also a constant run: valid 0 of 21 before any mark.
    assert_eq!(
        s.quality_days("2025-07-01", "2025-07-01").unwrap()[0].valid,
        0
    );

    let at = on_time() + 60_000;
    let e1 = s
        .mark_value(&key(5), MarkState::Invalid, "校准期间数据", "zhang", at)
        .unwrap();
    assert_eq!((e1.before.as_str(), e1.after.as_str()), ("none", "invalid"));
    let st = air.catch_up(&mut s).unwrap();
    assert_eq!(
        st.station_days, 1,
        "the marked day is recomputed by catch-up"
    );
    assert_eq!(pm25(&s), (None, "PM2.5=19".into()));
    // Audited view leaves it out; the raw view is untouched.
    assert_eq!(values(&s, false).len(), 20);
    let raw = values(&s, true);
    assert_eq!(raw.len(), 21);
    assert!(raw.iter().any(|m| m.time == key(5).time && m.text == "35"));

    let e2 = s
        .mark_value(
            &key(20),
            MarkState::Valid,
            "现场核查：数据正常",
            "li",
            at + 1000,
        )
        .unwrap();
    assert_eq!((e2.before.as_str(), e2.after.as_str()), ("none", "valid"));
    air.catch_up(&mut s).unwrap();
    assert_eq!(pm25(&s), (Some("36".into()), "PM2.5=20".into()));
    let audited = values(&s, false);
    let h20 = audited.iter().find(|m| m.time == key(20).time).unwrap();
    assert_eq!(h20.flag.as_deref(), Some("N"));
    let raw20 = values(&s, true)
        .into_iter()
        .find(|m| m.time == key(20).time)
        .unwrap();
    assert_eq!(raw20.flag.as_deref(), Some("D"));

    // The quality counts follow the marks (the watermark moved with the bump).
    q.catch_up(&mut s).unwrap();
    let r = &s.quality_days("2025-07-01", "2025-07-01").unwrap()[0];
    assert_eq!(
        (r.received, r.valid, r.marked_invalid, r.flagged),
        (21, 1, 1, 1)
    );
    assert!(s.watermark(WATERMARK).unwrap().unwrap() >= at + 1000);

    // Latest mark wins; unmark restores the device's view.
    s.mark_value(&key(5), MarkState::Valid, "复核后恢复", "zhang", at + 2000)
        .unwrap();
    let e4 = s
        .unmark_value(&key(5), "撤销标记", "wang", at + 3000)
        .unwrap();
    assert_eq!((e4.before.as_str(), e4.after.as_str()), ("valid", "none"));
    air.catch_up(&mut s).unwrap();
    assert_eq!(pm25(&s).1, "PM2.5=21");

    let trail = s.audit_trail(Some(SITE), None, None).unwrap();
    let got: Vec<(&str, &str, &str, &str, &str, i64)> = trail
        .iter()
        .map(|t| {
            (
                t.action.as_str(),
                t.before.as_str(),
                t.after.as_str(),
                t.by.as_str(),
                t.reason.as_str(),
                t.at_ms - at,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("mark", "none", "invalid", "zhang", "校准期间数据", 0),
            ("mark", "none", "valid", "li", "现场核查：数据正常", 1000),
            ("mark", "invalid", "valid", "zhang", "复核后恢复", 2000),
            ("unmark", "valid", "none", "wang", "撤销标记", 3000),
        ]
    );
    assert_eq!(trail[0].time, key(5).time);
    let window = s
        .audit_trail(None, Some(at + 1000), Some(at + 3000))
        .unwrap();
    assert_eq!(window.len(), 2);
}

#[test]
fn bad_marks_are_refused() {
    let (_d, mut s) = open();
    s.commit(&[packet(on_time(), vec![hour(0, "35", "N")])])
        .unwrap();
    let err = s
        .mark_value(&key(1), MarkState::Invalid, "原因", "zhang", 1)
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    assert!(err.to_string().contains("a34004"), "{err}");
    let err = s
        .mark_value(&key(0), MarkState::Invalid, "  ", "zhang", 1)
        .unwrap_err();
    assert!(err.to_string().contains("reason"), "{err}");
    let err = s
        .mark_value(&key(0), MarkState::Invalid, "原因", "", 1)
        .unwrap_err();
    assert!(err.to_string().contains("--by"), "{err}");
    let err = s.unmark_value(&key(0), "原因", "zhang", 1).unwrap_err();
    assert!(err.to_string().contains("no audit mark"), "{err}");
    assert!(s.audit_trail(None, None, None).unwrap().is_empty());
    assert_eq!(values(&s, false).len(), 1);
}

/// The commit observer checks offline devices on its first commit (its "last check" starts at
/// `i64::MIN`: `now - i64::MIN` overflowed — a panic of the derive thread in debug builds, and
/// in release a wrapped negative gap, so the observer never checked offline devices).
#[test]
fn observer_checks_offline_devices_on_its_first_commit() {
    let (dir, mut s) = open();
    let e = QualityEngine::default();
    let seen = on_time(); // 2025-07-02: long before the wall clock the observer reads
    let batch = [packet(seen, crafted())];
    s.commit(&batch).unwrap();
    let other = SqliteStore::open_with(
        dir.path(),
        &SqliteOptions {
            fsync: false,
            cache_mib: 16,
        },
    )
    .unwrap();
    let mut observe = e.observer(Box::new(other));
    observe(&batch);
    let fs = s
        .findings(None, seen / 1000, i64::MAX / 2, Some(&["offline"]))
        .unwrap();
    assert_eq!(fs.len(), 1, "{fs:?}");
    assert_eq!(fs[0].mn, MN);
}

/// The `jump` check measures each quantity as it is: wind direction round the compass, °C by
/// difference, and not at all where a sudden change is what is measured (issue 11).
#[test]
fn jumps_are_judged_as_the_quantity_allows() {
    let (_d, mut s) = open();
    let e = QualityEngine::default();
    let t0 = day_start_utc(day());
    let series = |code: &str, vals: &[&str]| -> Vec<Measurement> {
        vals.iter()
            .enumerate()
            .map(|(h, v)| mv(code, "Avg", Period::Hour, t0 + 3600 * h as i64, v, "N"))
            .collect()
    };
    let mut vals = Vec::new();
    // Wind direction veering across north: 357 → 21 is 24°, 21 → 350 is 31°, 350 → 10 is
    // 20°. A reversal 10 → 190 (180°) is one; 190 → 45 is 145°, below 150°.
    vals.extend(series(
        "a01008",
        &["357", "21", "350", "10", "190", "45", "60"],
    ));
    // Wind speed gusting 0.3 → 4.5 → 0.2 m/s (×15): no check.
    vals.extend(series("a01007", &["0.3", "4.5", "0.2", "3.9"]));
    // Air temperature (°C): 0.5 → 3 is ×6 but 2.5 °C — no jump; 3 → 14 is 11 °C — a jump.
    vals.extend(series("a01001", &["0.5", "3", "14", "13"]));
    // Relative humidity 12 → 95 % with rain: no check.
    vals.extend(series("a01002", &["12", "95", "90"]));
    // PM2.5 still by ratio: 30 → 400 (×13, Δ 370 ≥ 100) and back 400 → 10 are jumps,
    // 10 → 45 (Δ 35) is not.
    vals.extend(series(PM25, &["30", "400", "10", "45"]));
    ingest(&mut s, &e, on_time(), vals);
    let fs = s
        .findings(Some(SITE), t0, t0 + 86_400, Some(&["jump"]))
        .unwrap();
    let mut got: Vec<(&str, i64, &str)> = fs
        .iter()
        .map(|f| (f.code.as_str(), (f.from - t0) / 3600, f.detail.as_str()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("a01001", 2, "3->14"),
            ("a01008", 4, "10->190"),
            (PM25, 1, "30->400"),
            (PM25, 2, "400->10"),
        ]
    );
    assert_eq!(engine::quality::angular_distance(357.0, 21.0), 24.0);
    assert_eq!(engine::quality::angular_distance(21.0, 357.0), 24.0);
    assert_eq!(engine::quality::angular_distance(0.0, 180.0), 180.0);
    assert_eq!(engine::quality::angular_distance(90.0, 90.0), 0.0);
}

// ---- What is due (docs/engine-quality.md "What is due") ----

/// Hour values of `site`/`mn` (PM2.5, clean, varying) for hours `[from, to)` (UTC s, hour
/// starts), committed and derived.
fn hours_of(s: &mut SqliteStore, e: &QualityEngine, mn: &str, site: &str, from: i64, to: i64) {
    let vals: Vec<Measurement> = (0..(to - from) / 3600)
        .map(|i| Measurement {
            site: site.into(),
            mn: mn.into(),
            ..hour(0, &(30 + i % 7).to_string(), "N")
        })
        .enumerate()
        .map(|(i, mut m)| {
            m.time = from + i as i64 * 3600;
            m
        })
        .collect();
    let batch = [IntakePacket {
        received_ms: to * 1000 + 300_000,
        mn: mn.into(),
        cn: "2061".into(),
        values: vals,
        ..IntakePacket::default()
    }];
    s.commit(&batch).unwrap();
    e.update(s, &e.touched(&batch)).unwrap();
}

/// The report at 11:22: the hours 11:00–12:00 … 23:00–24:00 have not ended and are not
/// expected. A device that sent every hour since its first data on 2026-11-04 10:00 (it was
/// registered later, at 2026-11-04 12:00): November expects 14 hours on 11-04 (10–23) and 11
/// on 11-05 (0–10) = 25, received 25 → every rate 1.0; the year to date the same 25 hours.
/// Before this change the month expected 5 × 24 = 120 (0.2083) and the year 309 × 24.
#[test]
fn rates_count_only_hours_due_mid_day_and_since_commissioning() {
    let (_d, mut s) = open();
    let e = QualityEngine::default();
    let d4 = day_start_utc(d(2026, 11, 4));
    let mut dev = Device::new("MN-NEW", "123456", "A2", DeviceKind::Air);
    dev.registered = Some(d4 + 12 * 3600);
    s.put_device(&dev).unwrap();
    let now = d4 + 86_400 + 11 * 3600 + 22 * 60; // 11-05 11:22
    hours_of(
        &mut s,
        &e,
        "MN-NEW",
        "A2",
        d4 + 10 * 3600,
        d4 + 86_400 + 11 * 3600,
    );
    let month =
        QualityReport::build(&s, d(2026, 11, 1), d(2026, 11, 30), now, false, &sched()).unwrap();
    let r = month.devices.iter().find(|x| x.mn == "MN-NEW").unwrap();
    assert_eq!(
        (r.rates.expected, r.rates.received, r.rates.valid),
        (25, 25, 25)
    );
    assert_eq!(r.rates.effective_rate, Some(1.0));
    assert!(r.meets_threshold);
    let days: Vec<(&str, i64)> = r
        .days
        .iter()
        .map(|p| (p.period.as_str(), p.rates.expected))
        .collect();
    assert_eq!(
        days,
        vec![
            ("2026-11-01", 0),
            ("2026-11-02", 0),
            ("2026-11-03", 0),
            ("2026-11-04", 14),
            ("2026-11-05", 11)
        ]
    );
    assert_eq!(month.as_of, "2026-11-05T11:22:00+08:00");
    let year =
        QualityReport::build(&s, d(2026, 1, 1), d(2026, 12, 31), now, true, &sched()).unwrap();
    let y = year.devices.iter().find(|x| x.mn == "MN-NEW").unwrap();
    assert_eq!((y.rates.expected, y.rates.effective_rate), (25, Some(1.0)));

    // Registered 10:20 (earlier than its first data at 12:00), silent after 11-05 05:00:
    // due 11-04 10 (midpoint 10:30 ≥ 10:20) … 23 = 14, 11-05 0–10 = 11 → 25; received
    // 11-04 12–23 = 12 and 11-05 0–4 = 5 → 17: 17 / 25 = 0.68.
    let mut late = Device::new("MN-LATE", "123456", "A3", DeviceKind::Air);
    late.registered = Some(d4 + 10 * 3600 + 20 * 60);
    s.put_device(&late).unwrap();
    hours_of(
        &mut s,
        &e,
        "MN-LATE",
        "A3",
        d4 + 12 * 3600,
        d4 + 86_400 + 5 * 3600,
    );
    let month =
        QualityReport::build(&s, d(2026, 11, 1), d(2026, 11, 30), now, false, &sched()).unwrap();
    let r = month.devices.iter().find(|x| x.mn == "MN-LATE").unwrap();
    assert_eq!((r.rates.expected, r.rates.received), (25, 17));
    assert_eq!(r.rates.transmission_rate, Some(0.68));
}

/// A restaurant (kind fume, 10:00–22:00 by default) is due only in its opening hours: hour
/// data 10–21 on 2026-11-04, report at 23:30 → 12 expected, 12 received, 1.0 (before: 24
/// expected, 0.5). Its own hours (09:30–21:30) move the due hours to those with the midpoint
/// inside: 9 … 20; hour 9 is before its first data (10:00), 21 (midpoint 21:30) is not in the
/// hours → 11 due, 11 received (its 21:00 value is not counted).
#[test]
fn restaurants_are_due_in_their_opening_hours() {
    let (_d, mut s) = open();
    let e = QualityEngine::default();
    let d4 = day_start_utc(d(2026, 11, 4));
    s.put_device(&Device::new(
        "MN-F1",
        "123456",
        "FUME-0001",
        DeviceKind::Fume,
    ))
    .unwrap();
    hours_of(
        &mut s,
        &e,
        "MN-F1",
        "FUME-0001",
        d4 + 10 * 3600,
        d4 + 22 * 3600,
    );
    let now = d4 + 23 * 3600 + 30 * 60;
    let rep =
        QualityReport::build(&s, d(2026, 11, 4), d(2026, 11, 4), now, false, &sched()).unwrap();
    let r = rep.devices.iter().find(|x| x.mn == "MN-F1").unwrap();
    assert_eq!((r.rates.expected, r.rates.received), (12, 12));
    assert_eq!(r.rates.effective_rate, Some(1.0));
    let own = sched().with_site(
        "FUME-0001",
        engine::due::DailyWindow::parse("09:30-21:30").unwrap(),
    );
    let rep = QualityReport::build(&s, d(2026, 11, 4), d(2026, 11, 4), now, false, &own).unwrap();
    let r = rep.devices.iter().find(|x| x.mn == "MN-F1").unwrap();
    assert_eq!((r.rates.expected, r.rates.received), (11, 11));
}

/// `offline` (quality finding) counts only the silence in a restaurant's opening hours: last
/// packet 22:00 → at 23:30 nothing is owed; the next day at 11:30 it owes 1.5 h (< 3 × its
/// hourly interval), at 13:00 3 h → offline. An air station silent from 22:00 is offline at
/// 01:00.
#[test]
fn offline_finding_counts_only_opening_hours() {
    let (_d, mut s) = open();
    let e = QualityEngine::default();
    let d4 = day_start_utc(d(2026, 11, 4));
    s.put_device(&Device::new(
        "MN-F1",
        "123456",
        "FUME-0001",
        DeviceKind::Fume,
    ))
    .unwrap();
    let p = |ms: i64| IntakePacket {
        received_ms: ms,
        mn: "MN-F1".into(),
        cn: "2011".into(),
        ..IntakePacket::default()
    };
    s.commit(&[p((d4 + 22 * 3600) * 1000)]).unwrap();
    let off = |s: &mut SqliteStore, t: i64| {
        e.check_offline(s, t * 1000)
            .unwrap()
            .into_iter()
            .filter(|f| f.mn == "MN-F1")
            .count()
    };
    assert_eq!(off(&mut s, d4 + 23 * 3600 + 30 * 60), 0);
    assert_eq!(off(&mut s, d4 + 86_400 + 11 * 3600 + 30 * 60), 0);
    assert_eq!(off(&mut s, d4 + 86_400 + 13 * 3600), 1, "3 h owed at 13:00");
    // An air station: all day is due.
    let (_d2, mut s2) = open();
    s2.commit(&[IntakePacket {
        received_ms: (d4 + 22 * 3600) * 1000,
        mn: MN.into(),
        cn: "2011".into(),
        ..IntakePacket::default()
    }])
    .unwrap();
    assert_eq!(
        e.check_offline(&mut s2, (d4 + 86_400 + 3600) * 1000)
            .unwrap()
            .len(),
        1
    );
}

/// Live intake: a day touched only by real-time values waits (they feed only the flag and
/// clock-drift findings, and evaluating re-reads the whole day) until the day's next minute or
/// hour value, or `RTD_DEFER_MS`; meanwhile the watermark stays before that real-time value, so
/// a restart's catch-up still derives it.
#[test]
fn observer_defers_days_touched_only_by_real_time_values() {
    let (dir, mut s) = open();
    let e = QualityEngine::default();
    // A catch-up sets the watermark first (the observer only advances one that is set).
    ingest(&mut s, &e, on_time(), vec![hour(0, "10", "N")]);
    e.catch_up(&mut s).unwrap();
    let set = s.watermark(WATERMARK).unwrap().unwrap();
    let other = SqliteStore::open_with(
        dir.path(),
        &SqliteOptions {
            fsync: false,
            cache_mib: 16,
        },
    )
    .unwrap();
    let mut observe = e.observer(Box::new(other));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // An hour that ended before now; its real-time value a minute into it (same day).
    let h = (now / 1000 - 3600).div_euclid(3600) * 3600;
    let rtd = [packet(
        now,
        vec![mv(PM25, "Rtd", Period::Rtd, h + 60, "12", "D")],
    )];
    s.commit(&rtd).unwrap();
    observe(&rtd);
    let flags = |s: &SqliteStore| {
        s.findings(Some(SITE), h, h + 3600, Some(&["flag"]))
            .unwrap()
    };
    assert!(
        flags(&s).is_empty(),
        "a real-time value alone defers its day"
    );
    let w = s.watermark(WATERMARK).unwrap().unwrap();
    assert!(
        w >= set && w < now,
        "watermark {w} held before the deferred value ({now})"
    );
    let hr = [packet(
        now + 1,
        vec![mv(PM25, "Avg", Period::Hour, h, "12", "N")],
    )];
    s.commit(&hr).unwrap();
    observe(&hr);
    let fs = flags(&s);
    assert_eq!(
        fs.len(),
        1,
        "the hour value evaluates the day, real-time values too: {fs:?}"
    );
    assert!(fs[0].detail.contains("period=rtd"), "{fs:?}");
    assert_eq!(s.watermark(WATERMARK).unwrap(), Some(now + 1));
}
