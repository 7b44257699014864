//! Restaurant fume tests with hand-computed expectations (docs/engine-sources.md). Fume code
//! a34041, fan SB1-RS, purifier SB2-RS as the simulator sends them (crates/sim).

use engine::fume::{FumeEngine, FumePolicy, RestaurantSpec};
use engine::sources::{SourcesEngine, SourcesPolicy};
use engine::sources_report::SourcesReport;
use engine::time::day_start_utc;
use model::{Device, DeviceKind, Measurement, Period};
use standards::Date;
use store::sources::SourcesStore;
use store::{IntakePacket, SqliteOptions, SqliteStore};

const R: &str = "FUME-0001";

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

fn engine(policy: FumePolicy) -> SourcesEngine {
    let r = |site: &str| RestaurantSpec {
        site: site.into(),
        name: "老王火锅".into(),
        town: "500231001000".into(),
        limit_mg_m3: 2.0, // GB 18483-2001 Table 2
        open_hours: None,
    };
    SourcesEngine::new(
        [],
        FumeEngine::new([r(R), r("FUME-0002")], policy),
        SourcesPolicy::default(),
    )
}

fn m(code: &str, field: &str, period: Period, time: i64, v: f64) -> Measurement {
    Measurement {
        site: R.into(),
        code: code.into(),
        field: field.into(),
        period,
        time,
        value: v,
        text: v.to_string(),
        flag: None,
        eflag: None,
        mn: "MN".into(),
    }
}

/// One reading: concentration, fan, purifier.
fn reading(period: Period, t: i64, c: f64, fan: f64, purifier: f64) -> Vec<Measurement> {
    vec![
        m("a34041", "Avg", period, t, c),
        m("SB1", "RS", period, t, fan),
        m("SB2", "RS", period, t, purifier),
    ]
}

fn commit(s: &mut SqliteStore, e: &SourcesEngine, values: Vec<Measurement>) {
    let p = IntakePacket {
        received_ms: 1,
        values,
        ..IntakePacket::default()
    };
    store::Store::commit(s, std::slice::from_ref(&p)).unwrap();
    let t = e.touched(std::slice::from_ref(&p));
    e.update(s, &t).unwrap();
}

fn day() -> Date {
    Date::ymd(2025, 7, 1)
}

/// The end of a Beijing day (UTC s): everything of it has ended.
fn end(d: Date) -> i64 {
    day_start_utc(d) + 86_400
}

/// Hour data 10:00–21:00 Beijing. Fan on / purifier off at 11, 12 (one run: 1 occurrence,
/// 120 min) and at 18 (second occurrence, 60 min) → 2 occurrences, 180 min. Concentration 4.0
/// in those hours (GB 18483-2001: > 2.0 exceeds; fume discharged without purification counts
/// as exceeding), exactly 2.0 at 19 (≤ limit complies), 0.5 otherwise → 3 readings / 3 hours
/// over. 12 readings in the 12 opening hours → online 100 %.
#[test]
fn fan_on_purifier_off_and_over_limit() {
    let (_d, mut s) = open();
    let e = engine(FumePolicy::default());
    let t0 = day_start_utc(day());
    let mut v = Vec::new();
    for h in 10..22 {
        let (c, fan, pur) = match h {
            11 | 12 | 18 => (4.0, 1.0, 0.0),
            19 => (2.0, 1.0, 1.0),
            17 => (0.5, 1.0, 1.0),
            _ => (0.5, 0.0, 0.0),
        };
        v.extend(reading(Period::Hour, t0 + h * 3600, c, fan, pur));
    }
    commit(&mut s, &e, v);
    let d = &s.fume_days(Some(R), "2025-07-01", "2025-07-01").unwrap()[0];
    assert_eq!(d.period, "hour");
    assert_eq!(d.interval_s, 3600);
    assert_eq!((d.readings, d.readings_over, d.hours_over), (12, 3, 3));
    assert_eq!(d.unpurified_readings, 3);
    assert_eq!(d.unpurified_occurrences, 2);
    assert_eq!(d.unpurified_minutes, 180.0);
    assert_eq!(d.purifier_run_hours, 2.0);
    assert_eq!((d.expected, d.with_data), (12, 12));
    assert_eq!(d.max_value, Some(4.0));
}

/// Online rate from minute data: readings every 10 min (the most common spacing), opening
/// 10:00–22:00 → 72 expected intervals; readings in 54 of them → 75.0 %. Readings before
/// 10:00 do not count. Fleet over the one evaluated day with FUME-0002 silent (its 12 hourly
/// intervals missing): 54 / (72 + 12) = 64.3 %.
#[test]
fn online_rate_from_the_device_interval() {
    let (_d, mut s) = open();
    let e = engine(FumePolicy::default());
    let open = day_start_utc(day()) + 10 * 3600;
    let mut v = Vec::new();
    for i in 0..54 {
        v.extend(reading(Period::Min, open + i * 600, 0.5, 0.0, 0.0));
    }
    v.extend(reading(Period::Min, open - 600, 0.5, 0.0, 0.0));
    commit(&mut s, &e, v);
    let d = &s.fume_days(Some(R), "2025-07-01", "2025-07-01").unwrap()[0];
    assert_eq!(d.period, "min");
    assert_eq!(d.interval_s, 600);
    assert_eq!((d.expected, d.with_data), (72, 54));
    let rep = SourcesReport::build(&s, &e, day(), day(), end(day())).unwrap();
    let f = &rep.fume;
    assert_eq!(f.monitored, 2);
    assert_eq!(f.reporting, 1);
    assert_eq!(f.days_evaluated, 1);
    assert_eq!(f.restaurants[0].online_rate, Some(75.0));
    assert_eq!(f.restaurants[1].online_rate, Some(0.0));
    assert_eq!(f.online_rate, Some(64.3));
}

/// Cleaning due (platform policy, threshold 20 run hours here): day 1 purifier on 12 hours,
/// day 2 on 12 hours → 24 ≥ 20 → due. A maintenance reading (SB2-RS = 3) at 15:00 on day 2
/// resets the counter: only the 6 run hours after it count → not due.
#[test]
fn purifier_cleaning_due_by_run_hours() {
    let (_d, mut s) = open();
    let policy = FumePolicy {
        cleaning_run_hours: 20.0,
        ..FumePolicy::default()
    };
    let e = engine(policy);
    let d1 = day_start_utc(day());
    let d2 = day_start_utc(day().succ());
    let mut v = Vec::new();
    for h in 10..22 {
        v.extend(reading(Period::Hour, d1 + h * 3600, 0.5, 1.0, 1.0));
        v.extend(reading(Period::Hour, d2 + h * 3600, 0.5, 1.0, 1.0));
    }
    commit(&mut s, &e, v);
    let rep = SourcesReport::build(&s, &e, day(), day().succ(), end(day().succ())).unwrap();
    assert_eq!(
        rep.fume.restaurants[0].purifier_run_hours_since_cleaning,
        24.0
    );
    assert!(rep.fume.restaurants[0].cleaning_due);
    assert_eq!(rep.fume.cleaning_due, 1);
    commit(
        &mut s,
        &e,
        reading(Period::Hour, d2 + 15 * 3600, 0.5, 1.0, 3.0),
    );
    let rep = SourcesReport::build(&s, &e, day(), day().succ(), end(day().succ())).unwrap();
    // Day 2 after 15:00: hours 16–21 = 6 run hours.
    assert_eq!(
        rep.fume.restaurants[0].purifier_run_hours_since_cleaning,
        6.0
    );
    assert!(!rep.fume.restaurants[0].cleaning_due);
}

/// The online rate counts only the intervals due: a monitor commissioned mid-month
/// (registered 2025-07-15 10:00) reporting every 10 min in the opening hours; the July
/// report at 07-16 11:22 expects 72 intervals on 07-15 (10:00–22:00) and 8 on 07-16
/// (10:00 … 11:10–11:20 have ended; 11:20–11:30 has not) = 80, all with data → 100 %.
/// (Before: July counted from the fleet's first day with the whole of 07-16's opening hours,
/// 72 + 72 = 144 → 55.6 %.) FUME-0002, registered only on 07-17, owes nothing yet.
#[test]
fn online_rate_counts_only_intervals_due() {
    let (_d, mut s) = open();
    let e = engine(FumePolicy::default());
    let d15 = day_start_utc(Date::ymd(2025, 7, 15));
    let d16 = d15 + 86_400;
    let mut dev = Device::new("MN", "123456", R, DeviceKind::Fume);
    dev.registered = Some(d15 + 10 * 3600);
    store::Store::put_device(&mut s, &dev).unwrap();
    let mut other = Device::new("MN-2", "123456", "FUME-0002", DeviceKind::Fume);
    other.registered = Some(d16 + 86_400);
    store::Store::put_device(&mut s, &other).unwrap();
    let mut v = Vec::new();
    for i in 0..72 {
        v.extend(reading(
            Period::Min,
            d15 + 10 * 3600 + i * 600,
            0.5,
            0.0,
            0.0,
        ));
    }
    // Minute data carry the interval's start and are sent when it ends: at 11:22 the last
    // one is 11:10 (sent 11:20).
    for i in 0..8 {
        v.extend(reading(
            Period::Min,
            d16 + 10 * 3600 + i * 600,
            0.5,
            0.0,
            0.0,
        ));
    }
    commit(&mut s, &e, v);
    let now = d16 + 11 * 3600 + 22 * 60;
    let rep =
        SourcesReport::build(&s, &e, Date::ymd(2025, 7, 1), Date::ymd(2025, 7, 31), now).unwrap();
    let f = &rep.fume;
    let r = f.restaurants.iter().find(|r| r.site == R).unwrap();
    assert_eq!(r.online_rate, Some(100.0));
    let o = f
        .restaurants
        .iter()
        .find(|r| r.site == "FUME-0002")
        .unwrap();
    assert_eq!(o.online_rate, None);
    assert_eq!(f.online_rate, Some(100.0));
}
