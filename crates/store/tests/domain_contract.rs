//! The domain extension traits (water, sources, quality, alarms, accounts, indicators, air
//! hours) as one contract: every test below runs against the embedded SQLite store (in a
//! temporary folder, `sqlite::…`) and against PostgreSQL (`postgres::…`, a database of its
//! own, `store::pg::TempDb`; server from `QINGSHAN_TEST_PG`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`).
//!
//! A test gets the store and an [`Env`]: `raw` runs one SQL statement on a separate
//! connection to the same database (for what the traits do not offer, such as trying to rewrite
//! the audit log), `open` gives another handle on it (a second process or node).

use model::{Measurement, Period};
use store::accounts::{AccountStore, AuthSession, NewUser};
use store::air_hours::AirHour;
use store::alarms::{
    Alarm, AlarmFilter, AlarmStatus, AlarmStep, AlarmStore, Attempt, Handling, NewNotification,
    NotificationStatus, Severity,
};
use store::indicators::{EntryKind, IndicatorEntry, IndicatorStore};
use store::pg::TempDb;
use store::quality::{Finding, MarkState, QualityDay, QualityStore, ValueKey};
use store::sources::{FumeDay, SourceEvent, SourceHour};
use store::water::{NoiseDay, WaterDay};
use store::{Backend, IntakePacket, PgStore, SqliteStore, Store, StoreError, ValueFilter};

/// Runs one SQL statement: rows changed, or the database's message.
type RawSql = Box<dyn Fn(&str) -> Result<u64, String>>;

/// What a test may use besides its store.
struct Env {
    /// Runs one SQL statement on a separate connection to the same database (for what the
    /// traits do not offer, such as trying to rewrite the audit log): rows changed, or the
    /// database's message.
    raw: RawSql,
    /// Opens another handle on the same database, as a second process or node would.
    open: Box<dyn Fn() -> Box<dyn Backend>>,
}

fn sqlite_env(dir: &std::path::Path) -> Env {
    let (a, b) = (dir.to_path_buf(), dir.to_path_buf());
    Env {
        raw: Box::new(move |sql| {
            let c = rusqlite::Connection::open(a.join("qingshan.db")).map_err(|e| e.to_string())?;
            c.execute(sql, [])
                .map(|n| n as u64)
                .map_err(|e| e.to_string())
        }),
        open: Box::new(move || Box::new(SqliteStore::open(&b).unwrap())),
    }
}

fn pg_env(url: &str) -> Env {
    let (a, b) = (url.to_string(), url.to_string());
    Env {
        raw: Box::new(move |sql| {
            let mut c =
                ::postgres::Client::connect(&a, ::postgres::NoTls).map_err(|e| e.to_string())?;
            c.execute(sql, &[]).map_err(|e| match e.as_db_error() {
                Some(db) => db.message().to_string(),
                None => e.to_string(),
            })
        }),
        open: Box::new(move || Box::new(PgStore::connect(&b).unwrap())),
    }
}

macro_rules! contract {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let mut s = store::SqliteStore::open(dir.path()).unwrap();
                    super::$name(&mut s, &super::sqlite_env(dir.path()));
                }
            )+
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    let db = store::pg::TempDb::new().unwrap();
                    let mut s = store::PgStore::connect(db.url()).unwrap();
                    super::$name(&mut s, &super::pg_env(db.url()));
                    drop(s);
                    drop(db);
                }
            )+
        }
    };
}

contract!(
    water_and_noise_days,
    floats_are_stored_as_sqlite_stores_them,
    source_hours_events_and_fume_days,
    audit_marks_trail_and_audited_views,
    audited_values_stream_in_order_and_stop_cleanly,
    findings_and_quality_days,
    one_active_alarm_per_key_and_versions,
    late_alarms_round_trip_and_older_stores_gain_the_column,
    concurrent_writers_keep_one_active_alarm_and_every_raise,
    alarm_lists_steps_and_overdue,
    notification_outbox,
    users_sessions_and_append_only_audit,
    audit_log_paging,
    entries_are_appended_and_checked,
    air_hours_round_trip,
);

// ---------------------------------------------------------------- water and noise

fn water_day(site: &str, day: &str, class: Option<&str>, ms: i64) -> WaterDay {
    WaterDay {
        site: site.into(),
        day: day.into(),
        means: "NH3N=0.412;TP=0.05".into(),
        hours: "NH3N=24;TP=20".into(),
        class: class.map(str::to_string),
        updated_ms: ms,
    }
}

fn water_and_noise_days<S: Backend>(s: &mut S, _env: &Env) {
    s.put_water_days(&[]).unwrap();
    // Byte order of site codes: upper case before lower case, as SQLite compares text.
    s.put_water_days(&[
        water_day("SW-b", "2024-01-02", Some("III"), 1),
        water_day("SW-A", "2024-01-02", Some("II"), 1),
        water_day("SW-A", "2024-01-01", None, 1),
        water_day("sw-a", "2024-01-01", Some("劣V"), 1),
        water_day("SW-A", "2024-01-03", Some("I"), 1),
    ])
    .unwrap();
    // Writing a day again replaces it.
    s.put_water_days(&[water_day("SW-A", "2024-01-02", Some("IV"), 2)])
        .unwrap();
    let all = s.water_days(None, "2024-01-01", "2024-01-02").unwrap();
    let keys: Vec<(&str, &str)> = all
        .iter()
        .map(|d| (d.site.as_str(), d.day.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("SW-A", "2024-01-01"),
            ("SW-A", "2024-01-02"),
            ("SW-b", "2024-01-02"),
            ("sw-a", "2024-01-01"),
        ]
    );
    assert_eq!(all[1], water_day("SW-A", "2024-01-02", Some("IV"), 2));
    assert_eq!(all[0].class, None);
    assert_eq!(all[3].class.as_deref(), Some("劣V"));
    let one = s
        .water_days(Some("SW-A"), "2024-01-02", "2024-12-31")
        .unwrap();
    assert_eq!(
        one.iter().map(|d| d.day.as_str()).collect::<Vec<_>>(),
        ["2024-01-02", "2024-01-03"]
    );
    assert!(s
        .water_days(Some("SW-X"), "2024-01-01", "2024-12-31")
        .unwrap()
        .is_empty());

    let noise = |site: &str, day: &str, ld: Option<f64>, ln: Option<f64>| NoiseDay {
        site: site.into(),
        day: day.into(),
        ld,
        ln,
        day_hours: 16,
        night_hours: if ln.is_some() { 8 } else { 3 },
        updated_ms: 7,
    };
    s.put_noise_days(&[
        noise("NZ-2", "2024-05-01", Some(55.25), Some(45.5)),
        noise("NZ-1", "2024-05-02", Some(61.0), None),
        noise("NZ-1", "2024-05-01", None, None),
    ])
    .unwrap();
    s.put_noise_days(&[noise("NZ-1", "2024-05-01", Some(50.125), Some(40.0))])
        .unwrap();
    assert_eq!(
        s.noise_days(None, "2024-05-01", "2024-05-02").unwrap(),
        [
            noise("NZ-1", "2024-05-01", Some(50.125), Some(40.0)),
            noise("NZ-1", "2024-05-02", Some(61.0), None),
            noise("NZ-2", "2024-05-01", Some(55.25), Some(45.5)),
        ]
    );
    assert_eq!(
        s.noise_days(Some("NZ-2"), "2024-05-02", "2024-05-31")
            .unwrap(),
        []
    );
}

/// SQLite stores a NaN as NULL: an optional float comes back `None`, a required one is refused
/// (and the batch with it is not written). Infinities are kept.
fn floats_are_stored_as_sqlite_stores_them<S: Backend>(s: &mut S, _env: &Env) {
    s.put_noise_days(&[NoiseDay {
        site: "NZ-1".into(),
        day: "2024-05-01".into(),
        ld: Some(f64::NAN),
        ln: Some(f64::INFINITY),
        day_hours: 1,
        night_hours: 1,
        updated_ms: 1,
    }])
    .unwrap();
    let got = s.noise_days(None, "2024-05-01", "2024-05-01").unwrap();
    assert_eq!(got[0].ld, None);
    assert_eq!(got[0].ln, Some(f64::INFINITY));

    let good = fume_day("R-1", "2024-05-01", 1);
    let mut bad = fume_day("R-2", "2024-05-01", 1);
    bad.purifier_run_hours = f64::NAN;
    assert!(s.put_fume_days(&[good, bad]).is_err());
    assert!(s
        .fume_days(None, "2024-01-01", "2024-12-31")
        .unwrap()
        .is_empty());
}

// ---------------------------------------------------------------- sources and fume

fn source_hour(site: &str, code: &str, hour: i64, value: Option<f64>, exceeds: bool) -> SourceHour {
    SourceHour {
        site: site.into(),
        code: code.into(),
        hour,
        value,
        measured: value.map(|v| v * 0.9),
        device_value: Some(12.5),
        minutes_value: None,
        valid_minutes: Some(58),
        origin: "device".into(),
        valid: value.is_some(),
        flag: "N".into(),
        disagree: !exceeds,
        limit: Some(30.0),
        exceeds,
        cou: None,
        cou_method: String::new(),
        updated_ms: 5,
    }
}

fn event(site: &str, code: &str, start: i64, hours: i64, open: bool) -> SourceEvent {
    let last_hour = start + (hours - 1) * 3600;
    SourceEvent {
        site: site.into(),
        code: code.into(),
        start,
        last_hour,
        end: (!open).then_some(last_hour + 3600),
        hours,
        peak: 45.5,
        peak_multiple: Some(0.5166),
        limit: 30.0,
        bound: "upper".into(),
        updated_ms: 9,
    }
}

fn fume_day(site: &str, day: &str, ms: i64) -> FumeDay {
    FumeDay {
        site: site.into(),
        day: day.into(),
        period: "min".into(),
        interval_s: 600,
        readings: 66,
        readings_over: 3,
        hours_over: 1,
        max_value: Some(2.75),
        unpurified_readings: 2,
        unpurified_minutes: 20.0,
        unpurified_occurrences: 1,
        purifier_run_hours: 10.5,
        last_maintenance: None,
        run_hours_after_maintenance: 10.5,
        expected: 72,
        with_data: 66,
        updated_ms: ms,
    }
}

fn source_hours_events_and_fume_days<S: Backend>(s: &mut S, _env: &Env) {
    let h = 1_700_000_000 / 3600 * 3600;
    s.put_source_hours(&[]).unwrap();
    s.put_source_hours(&[
        source_hour("WS-1", "w01018", h + 3600, Some(31.0), true),
        source_hour("WS-1", "w01018", h, Some(20.0), false),
        source_hour("WS-1", "B01", h, None, false),
        source_hour("WS-0", "w01018", h, Some(1.0), false),
        source_hour("WS-1", "w01018", h + 7200, Some(10.0), false),
    ])
    .unwrap();
    s.put_source_hours(&[source_hour("WS-1", "w01018", h, Some(35.0), true)])
        .unwrap();
    let all = s.source_hours(None, None, h, h + 7200).unwrap();
    let keys: Vec<(&str, &str, i64)> = all
        .iter()
        .map(|r| (r.site.as_str(), r.code.as_str(), r.hour))
        .collect();
    assert_eq!(
        keys,
        [
            ("WS-0", "w01018", h),
            ("WS-1", "B01", h),
            ("WS-1", "w01018", h),
            ("WS-1", "w01018", h + 3600),
        ]
    );
    assert_eq!(all[2], source_hour("WS-1", "w01018", h, Some(35.0), true));
    assert_eq!(all[1], source_hour("WS-1", "B01", h, None, false));
    assert!(!all[1].valid && all[1].disagree && !all[1].exceeds);
    assert_eq!(
        s.source_hours(Some("WS-1"), Some("w01018"), h, h + 86400)
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        s.source_hours(None, Some("B01"), 0, i64::MAX)
            .unwrap()
            .len(),
        1
    );

    // Events: a closed one, an open one, one of another outlet.
    s.replace_source_events(
        "WS-1",
        "w01018",
        &[],
        &[
            event("WS-1", "w01018", h, 2, false),
            event("WS-1", "w01018", h + 10 * 3600, 1, true),
        ],
    )
    .unwrap();
    s.replace_source_events(
        "WS-0",
        "w01018",
        &[],
        &[event("WS-0", "w01018", h, 1, false)],
    )
    .unwrap();
    // [h + 2h, h + 3h): the closed event ended at h + 2h, the open one starts later.
    assert!(s
        .source_events(Some("WS-1"), None, h + 2 * 3600, h + 3 * 3600)
        .unwrap()
        .is_empty());
    // The open event counts for any window after its start, however late.
    let late = s
        .source_events(None, None, h + 100 * 3600, h + 101 * 3600)
        .unwrap();
    assert_eq!(late, [event("WS-1", "w01018", h + 10 * 3600, 1, true)]);
    let all = s.source_events(None, None, h, h + 11 * 3600).unwrap();
    assert_eq!(
        all.iter()
            .map(|e| (e.site.as_str(), e.start))
            .collect::<Vec<_>>(),
        [("WS-0", h), ("WS-1", h), ("WS-1", h + 10 * 3600)]
    );
    // Replacing: the open event closes with a second hour; the other one goes.
    let mut closed = event("WS-1", "w01018", h + 10 * 3600, 2, false);
    closed.peak_multiple = None;
    closed.bound = "lower".into();
    s.replace_source_events("WS-1", "w01018", &[h, h + 10 * 3600], &[closed.clone()])
        .unwrap();
    assert_eq!(
        s.source_events(Some("WS-1"), Some("w01018"), 0, i64::MAX)
            .unwrap(),
        [closed]
    );

    s.put_fume_days(&[
        fume_day("R-2", "2024-05-01", 1),
        fume_day("R-1", "2024-05-02", 1),
        fume_day("R-1", "2024-05-01", 1),
    ])
    .unwrap();
    let mut again = fume_day("R-1", "2024-05-01", 2);
    again.last_maintenance = Some(1_714_500_000);
    again.max_value = None;
    s.put_fume_days(&[again.clone()]).unwrap();
    assert_eq!(
        s.fume_days(None, "2024-05-01", "2024-05-02").unwrap(),
        [
            again,
            fume_day("R-1", "2024-05-02", 1),
            fume_day("R-2", "2024-05-01", 1)
        ]
    );
    assert_eq!(
        s.fume_days(Some("R-2"), "2024-05-02", "2024-05-09")
            .unwrap(),
        []
    );
}

// ---------------------------------------------------------------- quality

fn measurement(
    site: &str,
    code: &str,
    field: &str,
    time: i64,
    text: &str,
    flag: &str,
) -> Measurement {
    Measurement {
        site: site.into(),
        code: code.into(),
        field: field.into(),
        period: Period::Hour,
        time,
        value: text.parse().unwrap_or(f64::NAN),
        text: text.into(),
        flag: Some(flag.into()),
        eflag: None,
        mn: "MN-Q".into(),
    }
}

fn packet(ms: i64, values: Vec<Measurement>) -> IntakePacket {
    IntakePacket {
        received_ms: ms,
        mn: "MN-Q".into(),
        cn: "2061".into(),
        qn: None,
        peer: "127.0.0.1:5000".into(),
        raw: b"##0000\r\n".to_vec(),
        values,
        deviations: vec![],
        answer: None,
        bus_id: None,
    }
}

fn key(code: &str, time: i64) -> ValueKey {
    ValueKey {
        site: "AQ-1".into(),
        code: code.into(),
        field: "Avg".into(),
        period: Period::Hour,
        time,
    }
}

fn values<S: Store>(s: &S, raw: bool) -> Vec<Measurement> {
    let mut out = Vec::new();
    s.for_each_value(
        &ValueFilter {
            site: Some("AQ-1".into()),
            raw,
            ..Default::default()
        },
        &mut |m| {
            out.push(m.clone());
            Ok(())
        },
    )
    .unwrap();
    out
}

fn audited<S: QualityStore>(
    s: &S,
    from: i64,
    to: i64,
) -> Vec<(String, i64, i64, Option<MarkState>)> {
    let mut out = Vec::new();
    s.for_each_audited("AQ-1", Period::Hour, from, to, &mut |v| {
        out.push((v.m.code.clone(), v.m.time, v.received_ms, v.mark));
        Ok(())
    })
    .unwrap();
    out
}

fn audit_marks_trail_and_audited_views<S: Backend>(s: &mut S, _env: &Env) {
    let t = 1_700_000_000 / 3600 * 3600;
    s.commit(&[packet(
        1000,
        vec![
            measurement("AQ-1", "a34004", "Avg", t, "35", "N"),
            measurement("AQ-1", "a34004", "Avg", t + 3600, "0", "D"),
            measurement("AQ-1", "a21026", "Avg", t, "8", "N"),
        ],
    )])
    .unwrap();

    // Refusals: blank reason or user, a value that does not exist, removing a missing mark.
    let e = s
        .mark_value(&key("a34004", t), MarkState::Invalid, " ", "ops", 2000)
        .unwrap_err();
    assert!(e.to_string().contains("reason"), "{e}");
    assert!(s
        .mark_value(&key("a34004", t), MarkState::Invalid, "r", "", 2000)
        .is_err());
    let e = s
        .mark_value(
            &key("a34004", t + 7200),
            MarkState::Invalid,
            "r",
            "ops",
            2000,
        )
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e}");
    let e = s
        .unmark_value(&key("a34004", t + 7200), "r", "ops", 2000)
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e}");
    let e = s
        .unmark_value(&key("a34004", t), "r", "ops", 2000)
        .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "{e}");
    assert!(e.to_string().contains("no audit mark"), "{e}");
    assert!(s.audit_trail(None, None, None).unwrap().is_empty());

    // Mark one value invalid and the flagged one valid.
    let first = s
        .mark_value(
            &key("a34004", t),
            MarkState::Invalid,
            "维护期间",
            "ops",
            2000,
        )
        .unwrap();
    assert_eq!(
        (
            first.action.as_str(),
            first.before.as_str(),
            first.after.as_str()
        ),
        ("mark", "none", "invalid")
    );
    s.mark_value(
        &key("a34004", t + 3600),
        MarkState::Valid,
        "核实有效",
        "chief",
        3000,
    )
    .unwrap();
    let audited_view = values(s, false);
    assert_eq!(
        audited_view
            .iter()
            .map(|m| (m.code.as_str(), m.time, m.flag.as_deref()))
            .collect::<Vec<_>>(),
        [("a34004", t + 3600, Some("N")), ("a21026", t, Some("N"))]
    );
    assert_eq!(values(s, true).len(), 3);
    assert_eq!(values(s, true)[1].flag.as_deref(), Some("D"));

    // The marks bump the arrival, so the engines' catch-up sees the values again; the audited
    // read keeps the original arrival.
    let since = s.received_since(Period::Hour, 2000).unwrap();
    assert_eq!(since.len(), 2);
    assert!(since.iter().all(|k| k.code == "a34004"));
    assert_eq!(
        audited(s, t, t + 7200),
        [
            ("a34004".into(), t, 1000, Some(MarkState::Invalid)),
            ("a34004".into(), t + 3600, 1000, Some(MarkState::Valid)),
            ("a21026".into(), t, 1000, None),
        ]
    );
    assert_eq!(audited(s, t + 3600, t + 7200).len(), 1);

    // Marked again: the original arrival stays; changed minds are in the trail.
    let again = s
        .mark_value(
            &key("a34004", t),
            MarkState::Valid,
            "复核有效",
            "chief",
            4000,
        )
        .unwrap();
    assert_eq!(
        (again.before.as_str(), again.after.as_str()),
        ("invalid", "valid")
    );
    assert_eq!(audited(s, t, t + 1)[0].2, 1000);
    // A resend replaces the value and its arrival: the mark stays, the arrival is the resend's.
    s.commit(&[packet(
        5000,
        vec![measurement("AQ-1", "a34004", "Avg", t, "36", "N")],
    )])
    .unwrap();
    assert_eq!(audited(s, t, t + 1)[0].2, 5000);
    let un = s
        .unmark_value(&key("a34004", t), "误标", "chief", 6000)
        .unwrap();
    assert_eq!(
        (un.action.as_str(), un.before.as_str(), un.after.as_str()),
        ("unmark", "valid", "none")
    );
    assert_eq!(audited(s, t, t + 1)[0].2, 5000);
    assert_eq!(audited(s, t, t + 1)[0].3, None);
    assert_eq!(values(s, false).len(), 3);
    let e = s
        .unmark_value(&key("a34004", t), "again", "chief", 7000)
        .unwrap_err();
    assert!(e.to_string().contains("no audit mark"), "{e}");

    let trail = s.audit_trail(None, None, None).unwrap();
    assert_eq!(
        trail
            .iter()
            .map(|a| (
                a.at_ms,
                a.action.as_str(),
                a.before.as_str(),
                a.after.as_str()
            ))
            .collect::<Vec<_>>(),
        [
            (2000, "mark", "none", "invalid"),
            (3000, "mark", "none", "valid"),
            (4000, "mark", "invalid", "valid"),
            (6000, "unmark", "valid", "none"),
        ]
    );
    assert!(trail.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(trail[0], first);
    assert_eq!(trail[0].reason, "维护期间");
    assert_eq!(trail[1].by, "chief");
    assert_eq!(trail[1].period, Period::Hour);
    assert_eq!(trail[1].field, "Avg");
    assert_eq!(
        s.audit_trail(None, Some(3000), Some(6000)).unwrap().len(),
        2
    );
    assert_eq!(
        s.audit_trail(Some("AQ-1"), Some(6000), None).unwrap().len(),
        1
    );
    assert!(s.audit_trail(Some("AQ-2"), None, None).unwrap().is_empty());
}

fn audited_values_stream_in_order_and_stop_cleanly<S: Backend>(s: &mut S, env: &Env) {
    // More values than one fetch of the PostgreSQL cursor, in two series.
    let t0 = 1_600_000_000 / 3600 * 3600;
    let n = 2600;
    let batch: Vec<Measurement> = (0..n)
        .flat_map(|i| {
            let t = t0 + i * 3600;
            [
                measurement("AQ-1", "a21026", "Avg", t, "5", "N"),
                measurement("AQ-1", "a05024", "Avg", t, "80", "N"),
            ]
        })
        .collect();
    s.commit(&[packet(100, batch)]).unwrap();
    s.mark_value(
        &key("a05024", t0 + 7 * 3600),
        MarkState::Invalid,
        "r",
        "ops",
        200,
    )
    .unwrap();
    let all = audited(s, t0, t0 + n * 3600);
    assert_eq!(all.len(), 2 * n as usize);
    // (series, time) order: the series created first comes first.
    assert!(all[..n as usize].iter().all(|v| v.0 == "a21026"));
    assert!(all[n as usize..].iter().all(|v| v.0 == "a05024"));
    assert!(all[..n as usize].windows(2).all(|w| w[0].1 < w[1].1));
    assert_eq!(all[n as usize + 7].3, Some(MarkState::Invalid));
    assert_eq!(all[n as usize + 7].2, 100);

    // A callback error ends the reading with that error; the store stays usable.
    let mut seen = 0;
    let e = s
        .for_each_audited("AQ-1", Period::Hour, t0, t0 + n * 3600, &mut |_| {
            seen += 1;
            if seen == 2100 {
                return Err(StoreError::Invalid("enough".into()));
            }
            Ok(())
        })
        .unwrap_err();
    assert_eq!(e.to_string(), "enough");
    assert_eq!(seen, 2100);
    s.mark_value(&key("a21026", t0), MarkState::Valid, "r", "ops", 300)
        .unwrap();
    assert_eq!(audited(s, t0, t0 + 1)[0].3, Some(MarkState::Valid));
    assert_eq!(s.audit_trail(None, None, None).unwrap().len(), 2);
    assert!(audited(s, t0 - 3600, t0).is_empty());

    // One snapshot: a value another node writes into the range while the reading runs is not
    // in it; and the callback may read the same store.
    let mut other = (env.open)();
    let mut seen = 0;
    let mut trail_seen = None;
    s.for_each_audited("AQ-1", Period::Hour, t0, t0 + n * 3600, &mut |v| {
        if seen == 0 {
            other
                .commit(&[packet(
                    400,
                    vec![measurement("AQ-1", "a34004", "Avg", v.m.time, "30", "N")],
                )])
                .unwrap();
            trail_seen = Some(s.audit_trail(None, None, None)?.len());
        }
        seen += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, 2 * n as usize);
    assert_eq!(trail_seen, Some(2));
    assert_eq!(audited(s, t0, t0 + n * 3600).len(), 2 * n as usize + 1);
}

fn finding(kind: &str, site: &str, code: &str, from: i64, to: i64, detail: &str) -> Finding {
    Finding {
        kind: kind.into(),
        site: site.into(),
        code: code.into(),
        mn: "MN-Q".into(),
        from,
        to,
        count: (to - from) / 3600,
        detail: detail.into(),
    }
}

fn qday(mn: &str, site: &str, code: &str, period: Period, day: &str, valid: i64) -> QualityDay {
    QualityDay {
        mn: mn.into(),
        site: site.into(),
        code: code.into(),
        period,
        day: day.into(),
        expected: 24,
        received: 23,
        valid,
        flagged: 1,
        marked_invalid: 0,
        received_mask: (period == Period::Hour).then_some(0xff_ff_fe),
        valid_mask: (period == Period::Hour).then_some((1 << valid) - 1),
    }
}

fn findings_and_quality_days<S: Backend>(s: &mut S, _env: &Env) {
    let h = 3600;
    s.replace_findings(
        "AQ-1",
        0,
        100 * h,
        &["zero", "flag"],
        &[
            finding("zero", "AQ-1", "a34004", 10 * h, 14 * h, ""),
            finding("flag", "AQ-1", "a34004", 10 * h, 11 * h, "D"),
            finding("flag", "AQ-1", "a21026", 10 * h, 11 * h, "M"),
            finding("zero", "AQ-1", "a34004", 2 * h, 3 * h, ""),
        ],
    )
    .unwrap();
    s.replace_findings(
        "aq-0",
        0,
        100 * h,
        &["offline"],
        &[finding("offline", "aq-0", "", 10 * h, 20 * h, "")],
    )
    .unwrap();
    s.replace_findings(
        "AQ-9",
        0,
        100 * h,
        &["offline"],
        &[finding("offline", "AQ-9", "", 10 * h, 20 * h, "")],
    )
    .unwrap();
    // Overlapping [12h, 13h): ordered by (from, site, kind, code, mn, detail), bytewise.
    let got = s.findings(None, 12 * h, 13 * h, None).unwrap();
    assert_eq!(
        got.iter()
            .map(|f| (f.site.as_str(), f.kind.as_str()))
            .collect::<Vec<_>>(),
        [("AQ-1", "zero"), ("AQ-9", "offline"), ("aq-0", "offline")]
    );
    let got = s.findings(Some("AQ-1"), 0, 100 * h, None).unwrap();
    assert_eq!(
        got,
        [
            finding("zero", "AQ-1", "a34004", 2 * h, 3 * h, ""),
            finding("flag", "AQ-1", "a21026", 10 * h, 11 * h, "M"),
            finding("flag", "AQ-1", "a34004", 10 * h, 11 * h, "D"),
            finding("zero", "AQ-1", "a34004", 10 * h, 14 * h, ""),
        ]
    );
    let flags = s.findings(None, 0, 100 * h, Some(&["flag"])).unwrap();
    assert_eq!(flags.len(), 2);
    // An interval touching only the end is not overlapping.
    assert!(s
        .findings(Some("AQ-1"), 14 * h, 20 * h, None)
        .unwrap()
        .is_empty());
    // Replacing only "flag" in [10h, 11h) keeps the zero findings; an equal key is replaced.
    let mut longer = finding("flag", "AQ-1", "a34004", 10 * h, 12 * h, "D");
    longer.count = 7;
    s.replace_findings(
        "AQ-1",
        10 * h,
        11 * h,
        &["flag"],
        &[longer.clone(), longer.clone()],
    )
    .unwrap();
    let got = s.findings(Some("AQ-1"), 0, 100 * h, None).unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got[1], longer);
    // No kinds: nothing is removed, only added.
    s.replace_findings("AQ-1", 0, 100 * h, &[], &[]).unwrap();
    assert_eq!(s.findings(Some("AQ-1"), 0, 100 * h, None).unwrap().len(), 3);

    s.replace_quality_days(
        &[],
        &[
            qday("MN-2", "S-1", "a34004", Period::Hour, "2024-01-01", 20),
            qday("MN-1", "S-2", "a34004", Period::Hour, "2024-01-01", 21),
            qday("MN-1", "S-1", "a34004", Period::Min, "2024-01-01", 22),
            qday("MN-1", "S-1", "a34004", Period::Hour, "2024-01-01", 23),
            qday("MN-1", "S-1", "a21026", Period::Hour, "2024-01-02", 19),
            qday("MN-1", "S-1", "a21026", Period::Hour, "2024-01-01", 18),
        ],
    )
    .unwrap();
    let got = s.quality_days("2024-01-01", "2024-01-02").unwrap();
    assert_eq!(
        got.iter().map(|d| d.valid).collect::<Vec<_>>(),
        [18, 19, 23, 22, 21, 20],
        "by (mn, code, day), then site and period"
    );
    assert_eq!(got[3].period, Period::Min);
    // Replacing (S-1, 2024-01-01) drops all of its rows (any mn, code, period).
    s.replace_quality_days(
        &[("S-1".into(), "2024-01-01".into())],
        &[qday(
            "MN-1",
            "S-1",
            "a34004",
            Period::Hour,
            "2024-01-01",
            24,
        )],
    )
    .unwrap();
    let got = s.quality_days("2024-01-01", "2024-01-01").unwrap();
    assert_eq!(
        got.iter()
            .map(|d| (d.mn.as_str(), d.site.as_str(), d.valid))
            .collect::<Vec<_>>(),
        [("MN-1", "S-1", 24), ("MN-1", "S-2", 21)]
    );
    assert_eq!(s.quality_days("2024-01-02", "2024-12-31").unwrap().len(), 1);
}

// ---------------------------------------------------------------- alarms

fn new_alarm(rule: &str, site: &str, pollutant: Option<&str>, ms: i64) -> Alarm {
    Alarm {
        id: 0,
        rule: rule.into(),
        site: site.into(),
        pollutant: pollutant.map(str::to_string),
        severity: Severity::Warning,
        title: "超标".into(),
        detail: "化学需氧量小时均值超标".into(),
        status: AlarmStatus::New,
        active: true,
        first_seen_ms: ms,
        last_seen_ms: ms,
        cleared_ms: None,
        value: Some(52.5),
        peak: Some(52.5),
        peak_ms: Some(ms),
        limit: Some(50.0),
        count: 1,
        assignee: None,
        deadline_ms: None,
        overdue: false,
        escalated_deadline_ms: None,
        handling: None,
        created_ms: ms,
        updated_ms: ms,
        version: 0,
        late: false,
    }
}

/// `late` (补传) is stored, updated, shown in the JSON, and a store created before the column
/// existed gains it (false for the alarms it held) when it is opened again: SQLite adds the
/// column at open, PostgreSQL by migration 4.
fn late_alarms_round_trip_and_older_stores_gain_the_column<S: Backend>(s: &mut S, env: &Env) {
    let mut late = new_alarm("exceedance", "WS-1", Some("w01018"), 1000);
    late.late = true;
    late.active = false;
    late.cleared_ms = Some(2000);
    let id = s.save_alarm(&late, &[], &[]).unwrap().unwrap();
    let back = s.alarm(id).unwrap().unwrap();
    assert!(back.late);
    assert_eq!(back.to_json()["late"], serde_json::json!(true));
    let on_time = s
        .save_alarm(
            &new_alarm("exceedance", "WS-1", Some("w01018"), 3000),
            &[],
            &[],
        )
        .unwrap()
        .unwrap();
    let mut a = s.alarm(on_time).unwrap().unwrap();
    assert!(!a.late);
    assert_eq!(a.to_json()["late"], serde_json::json!(false));
    a.late = true;
    s.save_alarm(&a, &[], &[]).unwrap().unwrap();
    assert!(
        s.alarm(on_time).unwrap().unwrap().late,
        "an update stores it"
    );

    // An installation from before the column: drop it (and, on PostgreSQL, forget migration
    // 4 and every later one, so that it runs again), then open the store again as the upgraded
    // binary would.
    (env.raw)("ALTER TABLE alarms DROP COLUMN late").unwrap();
    let _ = (env.raw)("DELETE FROM schema_migrations WHERE version >= 4");
    let reopened = (env.open)();
    let old = reopened.alarm(id).unwrap().unwrap();
    assert!(!old.late, "alarms of an older store were not late");
    assert_eq!(old.first_seen_ms, 1000);
    assert_eq!(
        (env.raw)(&format!("UPDATE alarms SET late = (1 = 1) WHERE id = {id}")),
        Ok(1),
        "the column is back"
    );
}

fn step(action: &str, from: Option<&str>, to: &str, ms: i64) -> AlarmStep {
    AlarmStep {
        id: 0,
        alarm_id: 0,
        at_ms: ms,
        action: action.into(),
        by: "system".into(),
        from_status: from.map(str::to_string),
        to_status: to.into(),
        note: String::new(),
    }
}

fn one_active_alarm_per_key_and_versions<S: Backend>(s: &mut S, _env: &Env) {
    let a = new_alarm("exceedance", "WS-1", Some("w01018"), 1000);
    let id = s
        .save_alarm(&a, &[step("raised", None, "new", 1000)], &[])
        .unwrap()
        .expect("first active alarm of its key");
    // A second active alarm of the same key is refused; other keys are not.
    assert_eq!(s.save_alarm(&a, &[], &[]).unwrap(), None);
    let other_pollutant = s
        .save_alarm(
            &new_alarm("exceedance", "WS-1", Some("w01001"), 1000),
            &[],
            &[],
        )
        .unwrap()
        .unwrap();
    let no_pollutant = s
        .save_alarm(&new_alarm("exceedance", "WS-1", None, 1000), &[], &[])
        .unwrap()
        .unwrap();
    assert!(s
        .save_alarm(&new_alarm("exceedance", "WS-1", None, 1001), &[], &[])
        .unwrap()
        .is_none());
    assert_ne!(other_pollutant, no_pollutant);

    let mut stored = s
        .active_alarm("exceedance", "WS-1", Some("w01018"))
        .unwrap()
        .unwrap();
    assert_eq!(stored.id, id);
    assert_eq!(stored.version, 1);
    assert_eq!(
        stored,
        Alarm {
            id,
            version: 1,
            ..a.clone()
        }
    );
    assert_eq!(
        s.active_alarm("exceedance", "WS-1", None)
            .unwrap()
            .unwrap()
            .pollutant,
        None
    );
    assert!(s.active_alarm("offline", "WS-1", None).unwrap().is_none());

    // An update with the stored version wins once; the stale copy is refused.
    let stale = stored.clone();
    stored.count = 2;
    stored.last_seen_ms = 2000;
    stored.peak = Some(60.25);
    stored.severity = Severity::Major;
    stored.handling = Some(Handling {
        result: "属实".into(),
        cause: "设备故障".into(),
        measures: "停产整改".into(),
        attachments: vec!["现场照片.jpg".into()],
        by: "执法支队".into(),
        at_ms: 1900,
    });
    stored.updated_ms = 2000;
    assert_eq!(
        s.save_alarm(&stored, &[step("escalated", Some("new"), "new", 2000)], &[])
            .unwrap(),
        Some(id)
    );
    assert_eq!(s.save_alarm(&stale, &[], &[]).unwrap(), None);
    let now = s.alarm(id).unwrap().unwrap();
    assert_eq!(now.version, 2);
    assert_eq!(
        now,
        Alarm {
            version: 2,
            ..stored.clone()
        }
    );
    assert!(s.alarm(id + 1000).unwrap().is_none());

    // Deactivated, the key is free for a new alarm; reactivating the old one is then refused.
    let mut cleared = now.clone();
    cleared.active = false;
    cleared.status = AlarmStatus::Cleared;
    cleared.cleared_ms = Some(3000);
    assert_eq!(s.save_alarm(&cleared, &[], &[]).unwrap(), Some(id));
    let next = s
        .save_alarm(
            &new_alarm("exceedance", "WS-1", Some("w01018"), 4000),
            &[],
            &[],
        )
        .unwrap()
        .unwrap();
    assert!(next > id);
    let mut back = s.alarm(id).unwrap().unwrap();
    assert!(!back.active);
    back.active = true;
    assert_eq!(s.save_alarm(&back, &[], &[]).unwrap(), None);
    assert!(
        !s.alarm(id).unwrap().unwrap().active,
        "the refused save changed nothing"
    );
    assert_eq!(
        s.active_alarm("exceedance", "WS-1", Some("w01018"))
            .unwrap()
            .unwrap()
            .id,
        next
    );
    // Steps of refused saves were not written.
    assert_eq!(
        s.alarm_steps(id)
            .unwrap()
            .iter()
            .map(|st| st.action.as_str())
            .collect::<Vec<_>>(),
        ["raised", "escalated"]
    );
}

/// Several handles (processes, nodes) saving at once: one active alarm per key, and with
/// "re-read and retry" on a refused save, no raise is lost.
fn concurrent_writers_keep_one_active_alarm_and_every_raise<S: Backend>(s: &mut S, env: &Env) {
    const WRITERS: usize = 6;
    const RAISES: i64 = 5;
    let fresh = new_alarm("offline", "AQ-1", None, 1000);
    let handles: Vec<Box<dyn Backend>> = (0..WRITERS).map(|_| (env.open)()).collect();
    let saved: Vec<Option<i64>> = std::thread::scope(|scope| {
        let running: Vec<_> = handles
            .into_iter()
            .map(|mut h| {
                let a = fresh.clone();
                scope.spawn(move || h.save_alarm(&a, &[], &[]).unwrap())
            })
            .collect();
        running.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let ids: Vec<i64> = saved.into_iter().flatten().collect();
    assert_eq!(ids.len(), 1, "exactly one writer created the active alarm");
    let id = ids[0];

    let handles: Vec<Box<dyn Backend>> = (0..WRITERS).map(|_| (env.open)()).collect();
    std::thread::scope(|scope| {
        for (w, mut h) in handles.into_iter().enumerate() {
            scope.spawn(move || {
                for r in 0..RAISES {
                    let ms = 2000 + (w as i64) * 100 + r;
                    loop {
                        let mut a = h.alarm(id).unwrap().unwrap();
                        a.count += 1;
                        a.last_seen_ms = a.last_seen_ms.max(ms);
                        let st = step("raised", Some("new"), "new", ms);
                        if h.save_alarm(&a, &[st], &[]).unwrap().is_some() {
                            break;
                        }
                    }
                }
            });
        }
    });
    let total = WRITERS as i64 * RAISES;
    let a = s.alarm(id).unwrap().unwrap();
    assert_eq!((a.count, a.version), (1 + total, 1 + total));
    assert_eq!(s.alarm_steps(id).unwrap().len() as i64, total);
    assert_eq!(s.alarms(&AlarmFilter::default()).unwrap().len(), 1);
}

fn alarm_lists_steps_and_overdue<S: Backend>(s: &mut S, _env: &Env) {
    let mut ids = Vec::new();
    for (rule, site, status) in [
        ("exceedance", "WS-1", AlarmStatus::New),
        ("offline", "WS-1", AlarmStatus::Dispatched),
        ("exceedance", "WS-2", AlarmStatus::Dispatched),
        ("exceedance", "WS-1", AlarmStatus::Closed),
        ("aqi_jump", "AQ-1", AlarmStatus::Dispatched),
    ] {
        let mut a = new_alarm(rule, site, None, 1000);
        a.status = status;
        a.active = status.is_open();
        if status == AlarmStatus::Dispatched {
            a.assignee = Some("town-01".into());
            a.deadline_ms = Some(5000 + ids.len() as i64);
        }
        let mut st = step("raised", None, "new", 1000);
        st.note = format!("{rule} {site}");
        let mut st2 = step("dispatch", Some("new"), status.as_str(), 1001);
        st2.by = "监测站".into();
        ids.push(s.save_alarm(&a, &[st, st2], &[]).unwrap().unwrap());
    }
    let all = s.alarms(&AlarmFilter::default()).unwrap();
    assert_eq!(
        all.iter().map(|a| a.id).collect::<Vec<_>>(),
        ids.iter().rev().copied().collect::<Vec<_>>(),
        "newest first"
    );
    let dispatched = s
        .alarms(&AlarmFilter {
            statuses: vec![AlarmStatus::Dispatched, AlarmStatus::Closed],
            site: Some("WS-1".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        dispatched.iter().map(|a| a.id).collect::<Vec<_>>(),
        [ids[3], ids[1]]
    );
    let limited = s
        .alarms(&AlarmFilter {
            rule: Some("exceedance".into()),
            limit: 2,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        limited.iter().map(|a| a.id).collect::<Vec<_>>(),
        [ids[3], ids[2]]
    );

    let steps = s.alarm_steps(ids[2]).unwrap();
    assert_eq!(steps.len(), 2);
    assert!(steps.iter().all(|st| st.alarm_id == ids[2]));
    assert!(steps[0].id < steps[1].id);
    assert_eq!(steps[0].from_status, None);
    assert_eq!(steps[0].note, "exceedance WS-2");
    assert_eq!(
        (
            steps[1].by.as_str(),
            steps[1].from_status.as_deref(),
            steps[1].to_status.as_str()
        ),
        ("监测站", Some("new"), "dispatched")
    );
    assert!(s.alarm_steps(0).unwrap().is_empty());

    // Overdue: dispatched, deadline before now, escalation for that deadline not yet applied.
    assert!(s.overdue_alarms(5001).unwrap().is_empty());
    assert_eq!(
        s.overdue_alarms(5003)
            .unwrap()
            .iter()
            .map(|a| a.id)
            .collect::<Vec<_>>(),
        [ids[1], ids[2]]
    );
    let mut escalated = s.alarm(ids[1]).unwrap().unwrap();
    escalated.overdue = true;
    escalated.escalated_deadline_ms = escalated.deadline_ms;
    s.save_alarm(&escalated, &[], &[]).unwrap().unwrap();
    assert!(s.alarm(ids[1]).unwrap().unwrap().overdue);
    assert_eq!(
        s.overdue_alarms(i64::MAX)
            .unwrap()
            .iter()
            .map(|a| a.id)
            .collect::<Vec<_>>(),
        [ids[2], ids[4]]
    );
    // A new deadline makes it due again once that one passes.
    escalated = s.alarm(ids[1]).unwrap().unwrap();
    escalated.deadline_ms = Some(9000);
    s.save_alarm(&escalated, &[], &[]).unwrap().unwrap();
    assert_eq!(s.overdue_alarms(9001).unwrap().len(), 3);
}

fn notification_outbox<S: Backend>(s: &mut S, _env: &Env) {
    let a = new_alarm("exceedance", "WS-1", Some("w01018"), 1000);
    let id = s
        .save_alarm(
            &a,
            &[],
            &[
                NewNotification {
                    event: "raised".into(),
                },
                NewNotification {
                    event: "dispatched".into(),
                },
            ],
        )
        .unwrap()
        .unwrap();
    // A refused save enqueues nothing.
    assert!(s
        .save_alarm(
            &a,
            &[],
            &[NewNotification {
                event: "raised".into()
            }]
        )
        .unwrap()
        .is_none());
    let notes = s.notifications().unwrap();
    assert_eq!(notes.len(), 2);
    let body: serde_json::Value = serde_json::from_str(&notes[0].body).unwrap();
    assert_eq!(body["id"], id);
    assert_eq!(body["severity_cn"], "较重");
    assert_eq!(
        notes[0].body,
        Alarm { id, ..a.clone() }.to_json().to_string()
    );
    assert_eq!(
        (notes[0].alarm_id, notes[0].event.as_str(), notes[0].status),
        (Some(id), "raised", NotificationStatus::Pending)
    );
    assert_eq!(
        (notes[0].created_ms, notes[0].next_attempt_ms),
        (1000, 1000)
    );
    assert_eq!((notes[0].attempts, notes[0].last_attempt_ms), (0, None));

    let free = s
        .enqueue_notification(None, "summary", "{\"n\":3}", 1500)
        .unwrap();
    assert!(free > notes[1].id);
    assert_eq!(s.due_notifications(999, 10).unwrap(), []);
    assert_eq!(s.due_notifications(1000, 10).unwrap().len(), 2);
    assert_eq!(s.due_notifications(2000, 10).unwrap().len(), 3);
    assert_eq!(
        s.due_notifications(2000, 1).unwrap()[0].id,
        notes[0].id,
        "oldest first"
    );
    assert_eq!(s.due_notifications(2000, usize::MAX).unwrap().len(), 3);

    s.record_attempt(notes[0].id, 2000, &Attempt::Sent).unwrap();
    s.record_attempt(
        notes[1].id,
        2000,
        &Attempt::Retry {
            error: "HTTP 503".into(),
            next_ms: 2600,
        },
    )
    .unwrap();
    s.record_attempt(
        free,
        2000,
        &Attempt::GiveUp {
            error: "连接被拒绝".into(),
        },
    )
    .unwrap();
    let e = s
        .record_attempt(free + 100, 2000, &Attempt::Sent)
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e}");
    let notes = s.notifications().unwrap();
    assert_eq!(
        (
            notes[0].status,
            notes[0].attempts,
            notes[0].sent_ms,
            notes[0].last_attempt_ms
        ),
        (NotificationStatus::Sent, 1, Some(2000), Some(2000))
    );
    assert_eq!(
        (
            notes[1].status,
            notes[1].attempts,
            notes[1].next_attempt_ms,
            notes[1].last_error.as_deref()
        ),
        (NotificationStatus::Pending, 1, 2600, Some("HTTP 503"))
    );
    assert_eq!(
        (
            notes[2].status,
            notes[2].attempts,
            notes[2].last_error.as_deref(),
            notes[2].alarm_id
        ),
        (NotificationStatus::Failed, 1, Some("连接被拒绝"), None)
    );
    assert!(s.due_notifications(2599, 10).unwrap().is_empty());
    assert_eq!(s.due_notifications(2600, 10).unwrap().len(), 1);

    // Coalescing folds pending ones into one summary.
    let more: Vec<i64> = (0..3)
        .map(|i| {
            s.enqueue_notification(Some(id), "escalated", "{}", 3000 + i)
                .unwrap()
        })
        .collect();
    let summary = s
        .coalesce_notifications(&[notes[1].id, more[0], more[1]], "{\"alarms\":3}", 3100)
        .unwrap();
    let notes = s.notifications().unwrap();
    let by_id = |i: i64| notes.iter().find(|n| n.id == i).unwrap();
    assert!(summary > more[2]);
    assert_eq!(
        (
            by_id(summary).event.as_str(),
            by_id(summary).alarm_id,
            by_id(summary).status
        ),
        ("summary", None, NotificationStatus::Pending)
    );
    assert_eq!(by_id(summary).body, "{\"alarms\":3}");
    assert_eq!(by_id(summary).next_attempt_ms, 3100);
    for i in [more[0], more[1]] {
        assert_eq!(
            (by_id(i).status, by_id(i).coalesced_into),
            (NotificationStatus::Coalesced, Some(summary))
        );
    }
    assert_eq!(by_id(more[2]).status, NotificationStatus::Pending);
    assert_eq!(
        s.due_notifications(i64::MAX, 10)
            .unwrap()
            .iter()
            .map(|n| n.id)
            .collect::<Vec<_>>(),
        [more[2], summary]
    );
    assert_eq!(
        notes.iter().map(|n| n.id).collect::<Vec<_>>(),
        {
            let mut v: Vec<i64> = notes.iter().map(|n| n.id).collect();
            v.sort();
            v
        },
        "oldest first"
    );
}

// ---------------------------------------------------------------- accounts

fn users_sessions_and_append_only_audit<S: Backend>(s: &mut S, env: &Env) {
    let u = s
        .create_user(
            &NewUser {
                name: "admin".into(),
                role: "admin".into(),
                pw_hash: "h".into(),
                ..Default::default()
            },
            1,
        )
        .unwrap();
    assert!(s
        .create_user(
            &NewUser {
                name: "admin".into(),
                role: "admin".into(),
                ..Default::default()
            },
            2
        )
        .is_err());
    s.put_session(&AuthSession {
        secret_sha256: "abc".into(),
        user_id: u.id,
        kind: "session".into(),
        label: String::new(),
        created_ms: 1,
        expires_ms: 100,
    })
    .unwrap();
    assert!(s.session("abc", 50).unwrap().is_some());
    assert!(s.session("abc", 100).unwrap().is_none(), "expired");
    s.set_disabled(u.id, true, 3).unwrap();
    assert!(s.session("abc", 50).unwrap().is_none(), "disabled ends it");
    let id = s
        .append_audit(
            5,
            "admin",
            "user.disable",
            "user:admin",
            None,
            Some(&serde_json::json!({"disabled": true})),
            "",
        )
        .unwrap();
    assert!((env.raw)(&format!("UPDATE audit_log SET actor = 'x' WHERE id = {id}")).is_err());
    assert!((env.raw)("DELETE FROM audit_log").is_err());
    let (entries, total) = s.audit(0, 10).unwrap();
    assert_eq!(total, 1);
    assert_eq!(entries[0].after.as_ref().unwrap()["disabled"], true);

    // Beyond the original test: the refusals name the rule, and nothing changed.
    let e = (env.raw)(&format!("UPDATE audit_log SET actor = 'x' WHERE id = {id}")).unwrap_err();
    assert!(e.contains("append-only"), "{e}");
    assert_eq!(
        (env.raw)("INSERT INTO audit_log (at_ms, actor, action, object) VALUES (6, 'a', 'b', 'c')"),
        Ok(1)
    );
    assert_eq!(s.audit(0, 10).unwrap().0[1].actor, "admin");
    assert_eq!(s.audit(0, 10).unwrap().1, 2);

    // Users, passwords, sessions and tokens.
    let e = s
        .create_user(
            &NewUser {
                name: " ".into(),
                ..Default::default()
            },
            4,
        )
        .unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
    let e = s
        .create_user(
            &NewUser {
                name: "admin".into(),
                ..Default::default()
            },
            4,
        )
        .unwrap_err();
    assert!(e.to_string().contains("user admin exists"), "{e}");
    let op = s
        .create_user(
            &NewUser {
                name: "Admin".into(),
                display: "企业运维".into(),
                role: "operator".into(),
                scope: Some("ENT-01".into()),
                pw_hash: "$argon2id$v=19$x".into(),
            },
            10,
        )
        .unwrap();
    assert!(op.id > u.id);
    assert_eq!(
        (
            op.display.as_str(),
            op.scope.as_deref(),
            op.disabled,
            op.created_ms,
            op.updated_ms
        ),
        ("企业运维", Some("ENT-01"), false, 10, 10)
    );
    assert_eq!(s.user(op.id).unwrap().unwrap(), op);
    assert_eq!(s.user_by_name("Admin").unwrap().unwrap(), op);
    assert!(s.user_by_name("ADMIN").unwrap().is_none());
    assert!(s.user(op.id + 100).unwrap().is_none());
    assert_eq!(s.user_count().unwrap(), 2);
    assert_eq!(
        s.users().unwrap().iter().map(|u| u.id).collect::<Vec<_>>(),
        [u.id, op.id]
    );
    assert!(s.users().unwrap()[0].disabled);
    s.set_disabled(u.id, false, 11).unwrap();
    assert!(!s.user(u.id).unwrap().unwrap().disabled);
    assert!(matches!(
        s.set_disabled(op.id + 100, true, 11).unwrap_err(),
        StoreError::NotFound(_)
    ));

    let session = |secret: &str, kind: &str, expires_ms: i64| AuthSession {
        secret_sha256: secret.into(),
        user_id: op.id,
        kind: kind.into(),
        label: if kind == "token" {
            "数据接口".into()
        } else {
            String::new()
        },
        created_ms: 20,
        expires_ms,
    };
    s.put_session(&session("s1", "session", 1000)).unwrap();
    s.put_session(&session("s2", "session", 30)).unwrap();
    s.put_session(&session("t1", "token", 5000)).unwrap();
    // Put again: replaced.
    s.put_session(&session("s2", "session", 40)).unwrap();
    let (got, user) = s.session("t1", 21).unwrap().unwrap();
    assert_eq!(got, session("t1", "token", 5000));
    assert_eq!(user, op);
    assert_eq!(s.session("s2", 39).unwrap().unwrap().0.expires_ms, 40);
    assert_eq!(s.prune_sessions(40).unwrap(), 1);
    assert!(s.session("s2", 0).unwrap().is_none());
    s.set_password(op.id, "new-hash", 50).unwrap();
    assert!(
        s.session("s1", 60).unwrap().is_none(),
        "a new password ends sessions"
    );
    let (_, user) = s.session("t1", 60).unwrap().expect("tokens stay");
    assert_eq!((user.pw_hash.as_str(), user.updated_ms), ("new-hash", 50));
    assert!(matches!(
        s.set_password(op.id + 100, "x", 50).unwrap_err(),
        StoreError::NotFound(_)
    ));
    assert!(s.delete_session("t1").unwrap());
    assert!(!s.delete_session("t1").unwrap());
    assert!(s.session("t1", 60).unwrap().is_none());
}

fn audit_log_paging<S: Backend>(s: &mut S, _env: &Env) {
    assert_eq!(s.audit(0, 10).unwrap(), (vec![], 0));
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            s.append_audit(
                100 + i,
                "admin",
                "device.put",
                &format!("device:MN{i}"),
                (i > 0)
                    .then(|| serde_json::json!({"site": "WS-1", "n": i - 1}))
                    .as_ref(),
                Some(&serde_json::json!({"site": "WS-1", "n": i, "名称": "排口"})),
                "127.0.0.1",
            )
            .unwrap(),
        );
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let (page, total) = s.audit(1, 2).unwrap();
    assert_eq!(total, 5);
    assert_eq!(
        page.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids[3], ids[2]]
    );
    assert_eq!(page[0].object, "device:MN3");
    assert_eq!(
        page[0].before,
        Some(serde_json::json!({"site": "WS-1", "n": 2}))
    );
    assert_eq!(page[0].after.as_ref().unwrap()["名称"], "排口");
    assert_eq!((page[0].at_ms, page[0].peer.as_str()), (103, "127.0.0.1"));
    assert_eq!(s.audit(4, 10).unwrap().0[0].before, None);
    assert!(s.audit(5, 10).unwrap().0.is_empty());
    // Counts past i64::MAX read as SQLite reads them: no limit, and an offset of 0.
    assert_eq!(s.audit(0, usize::MAX).unwrap().0.len(), 5);
    assert_eq!(s.audit(usize::MAX, 2).unwrap().0.len(), 2);
}

// ---------------------------------------------------------------- indicators

fn entry(code: &str, year: i32, value: f64) -> IndicatorEntry {
    IndicatorEntry {
        id: 0,
        code: code.into(),
        year,
        kind: EntryKind::Value,
        value,
        source: "县林业局年报".into(),
        evidence: "林发〔2023〕1号".into(),
        entered_by: "planning".into(),
        entered_ms: 1,
    }
}

fn entries_are_appended_and_checked<S: Backend>(s: &mut S, _env: &Env) {
    s.add_indicator_entry(&entry("I03", 2023, 46.2)).unwrap();
    s.add_indicator_entry(&entry("I03", 2023, 46.4)).unwrap();
    s.add_indicator_entry(&entry("I14", 2023, 96.0)).unwrap();
    let all = s.indicator_entries(Some("I03")).unwrap();
    assert_eq!(
        all.iter().map(|e| e.value).collect::<Vec<_>>(),
        [46.2, 46.4]
    );
    assert_eq!(s.indicator_entries(None).unwrap().len(), 3);
    let mut bad = entry("I03", 2023, f64::NAN);
    assert!(s.add_indicator_entry(&bad).is_err());
    bad.value = 1.0;
    bad.source = " ".into();
    let e = s.add_indicator_entry(&bad).unwrap_err().to_string();
    assert!(e.contains("source is required"), "{e}");

    // Beyond the original test: ids, kinds and every field come back as written.
    let mut target = entry("I01", 2025, 0.001);
    target.kind = EntryKind::Target;
    target.entered_ms = 1_735_660_800_000;
    let id = s.add_indicator_entry(&target).unwrap();
    assert!(s
        .add_indicator_entry(&entry("I01", 2025, f64::INFINITY))
        .is_err());
    let got = s.indicator_entries(Some("I01")).unwrap();
    assert_eq!(got, [IndicatorEntry { id, ..target }]);
    let ids: Vec<i64> = s
        .indicator_entries(None)
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first");
    assert_eq!(*ids.last().unwrap(), id);
    assert!(s.indicator_entries(Some("i03")).unwrap().is_empty());
}

// ---------------------------------------------------------------- air hours

fn air_hour(site: &str, hour: i64, aqi: Option<i64>) -> AirHour {
    AirHour {
        site: site.into(),
        hour,
        rules: "HJ633-2012".into(),
        pm25: Some("35.0".into()),
        pm10: Some("70".into()),
        so2: None,
        no2: Some("40".into()),
        co: Some("0.8".into()),
        o3: Some("160".into()),
        pm25_24h: Some("34.58".into()),
        pm10_24h: None,
        so2_24h: None,
        o3_8h: Some("150".into()),
        sources: "PM2.5=device,PM10=minutes".into(),
        minutes: "PM2.5=34.8/50".into(),
        disagree: String::new(),
        aqi,
        level: aqi.map(|a| if a > 100 { 3 } else { 2 }),
        primary: "O3_1H".into(),
        iaqi: "SO2_1H=3,PM25_24H=45".into(),
        stations: 1,
        updated_ms: 42,
    }
}

fn air_hours_round_trip<S: Backend>(s: &mut S, _env: &Env) {
    let h = 1_700_000_000 / 3600 * 3600;
    s.put_air_hours(&[]).unwrap();
    s.put_air_hours(&[
        air_hour("_county", h, Some(80)),
        air_hour("AQ-2", h + 3600, None),
        air_hour("AQ-1", h + 3600, Some(120)),
        air_hour("AQ-1", h, Some(60)),
    ])
    .unwrap();
    let mut county = air_hour("_county", h, Some(81));
    county.stations = 2;
    county.sources = "PM2.5=stations:2".into();
    s.put_air_hours(&[county.clone()]).unwrap();
    assert_eq!(
        s.air_hours(None, h, h + 7200).unwrap(),
        [
            air_hour("AQ-1", h, Some(60)),
            air_hour("AQ-1", h + 3600, Some(120)),
            air_hour("AQ-2", h + 3600, None),
            county.clone(),
        ]
    );
    assert_eq!(
        s.air_hours(Some("AQ-1"), h + 3600, h + 7200).unwrap(),
        [air_hour("AQ-1", h + 3600, Some(120))]
    );
    assert_eq!(s.air_hours(Some("_county"), h, h + 1).unwrap(), [county]);
    assert!(s.air_hours(None, h + 7200, h + 10800).unwrap().is_empty());
}

// ---------------------------------------------------------------- schema

/// The PostgreSQL domain tables have SQLite's names and columns (other parts of the platform,
/// such as the base store's audited reads of `quality_marks`, rely on them).
#[test]
fn postgres_domain_tables_have_sqlite_names_and_columns() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    let lite = rusqlite::Connection::open(dir.path().join("qingshan.db")).unwrap();
    let db = TempDb::new().unwrap();
    drop(PgStore::connect(db.url()).unwrap());
    let mut pg = ::postgres::Client::connect(db.url(), ::postgres::NoTls).unwrap();
    let tables = [
        "water_days",
        "noise_days",
        "source_hours",
        "source_events",
        "fume_days",
        "quality_marks",
        "quality_audit",
        "quality_findings",
        "quality_days",
        "alarms",
        "alarm_steps",
        "alarm_outbox",
        "indicator_entries",
        "users",
        "auth_sessions",
        "audit_log",
        "air_hours",
    ];
    for t in tables {
        let lite_cols: Vec<String> = lite
            .prepare(&format!(
                "SELECT name FROM pragma_table_info('{t}') ORDER BY cid"
            ))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let pg_cols: Vec<String> = pg
            .query(
                "SELECT column_name::TEXT FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1
                 ORDER BY ordinal_position",
                &[&t],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(!lite_cols.is_empty(), "{t} in SQLite");
        assert_eq!(pg_cols, lite_cols, "columns of {t}");
    }
    // TRUNCATE (which SQLite does not have) cannot empty the audit log either.
    let e = pg.batch_execute("TRUNCATE audit_log").unwrap_err();
    let db = e.as_db_error().expect("refused by the database");
    assert!(db.message().contains("append-only"), "{e:?}");
    assert_eq!(
        db.code(),
        &::postgres::error::SqlState::INTEGRITY_CONSTRAINT_VIOLATION
    );
    drop(pg);
}

/// Text keys sort bytewise, as in SQLite, whatever the database's default collation: here
/// databases whose default is ICU `en-US` or `zh` (which would put `sw-a` next to `SW-A`, or
/// `_county` first).
#[test]
fn postgres_orders_text_bytewise_under_a_linguistic_default_collation() {
    for locale in ["en-US", "zh"] {
        let db = TempDb::with_icu_locale(locale).unwrap();
        let mut s = PgStore::connect(db.url()).unwrap();
        // The default collation orders otherwise: the checks below would fail without the
        // columns' `COLLATE "C"`.
        let mut c = ::postgres::Client::connect(db.url(), ::postgres::NoTls).unwrap();
        let linguistic: Vec<String> = c
            .query(
                "SELECT x FROM unnest(ARRAY['sw-a', 'SW-b', 'SW-A', '_county']) x ORDER BY x",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_ne!(linguistic, ["SW-A", "SW-b", "_county", "sw-a"], "{locale}");
        drop(c);
        let env = pg_env(db.url());
        water_and_noise_days(&mut s, &env);
        findings_and_quality_days(&mut s, &env);
        air_hours_round_trip(&mut s, &env);
        drop(s);
    }
}

/// PostgreSQL text cannot hold a NUL byte (SQLite's can): what an operator or a client typed
/// is refused with the field named, and nothing else is lost; a delivery error (whatever a
/// webhook answered) is kept with the NUL written as `\0`.
#[test]
fn postgres_refuses_nul_text_naming_the_field() {
    let db = TempDb::new().unwrap();
    let mut s = PgStore::connect(db.url()).unwrap();
    let e = s
        .create_user(
            &NewUser {
                name: "a\0b".into(),
                role: "admin".into(),
                ..Default::default()
            },
            1,
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("user name contains a NUL byte"),
        "{e}"
    );
    assert_eq!(s.user_count().unwrap(), 0);
    let mut bad = entry("I03", 2023, 1.0);
    bad.evidence = "x\0".into();
    let e = s.add_indicator_entry(&bad).unwrap_err();
    assert!(e.to_string().contains("indicator evidence"), "{e}");
    let mut a = new_alarm("exceedance", "WS-1", None, 1);
    a.detail = "\0".into();
    let e = s.save_alarm(&a, &[], &[]).unwrap_err();
    assert!(e.to_string().contains("alarm detail"), "{e}");
    assert!(s.alarms(&AlarmFilter::default()).unwrap().is_empty());

    let id = s.enqueue_notification(None, "summary", "{}", 1).unwrap();
    s.record_attempt(
        id,
        2,
        &Attempt::Retry {
            error: "HTTP 500: a\0b".into(),
            next_ms: 3,
        },
    )
    .unwrap();
    assert_eq!(
        s.notifications().unwrap()[0].last_error.as_deref(),
        Some("HTTP 500: a\\0b")
    );
    drop(s);
}
