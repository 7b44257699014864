//! The store contract: what every backend guarantees, tested through the `Store` trait. Each
//! test is written once and runs against SQLite (a temporary data folder) and PostgreSQL (a
//! database of its own on `QINGSHAN_TEST_PG`, default 127.0.0.1:5432, with the ICU `zh`
//! collation a Chinese installation would use, dropped afterwards): `sqlite::<test>` and
//! `postgres::<test>`. Backend specifics (partitions, NUL text) are at the end.

use std::sync::{Arc, Barrier};

use model::{Device, DeviceKind, Measurement, Period};
use store::pg::TempDb;
use store::{
    AirDay, CommandAnswer, IntakePacket, PgStore, ReceivedKey, SqliteStore, Store, ValueFilter,
};

// ---- backends ----

enum Backend {
    Sqlite(tempfile::TempDir),
    Pg(TempDb),
}

impl Backend {
    fn sqlite() -> Backend {
        Backend::Sqlite(tempfile::tempdir().unwrap())
    }

    fn pg() -> Backend {
        Backend::Pg(TempDb::with_icu_locale("zh").unwrap())
    }

    /// A store on the backend's data (call again to reopen, or for a second writer).
    fn open(&self) -> Box<dyn Store> {
        match self {
            Backend::Sqlite(dir) => Box::new(SqliteStore::open(dir.path()).unwrap()),
            Backend::Pg(db) => Box::new(PgStore::connect(db.url()).unwrap()),
        }
    }

    /// Makes every commit fail at its last step (the archive insert), after values, state and
    /// command answers were written: an honest fault from inside the database.
    fn break_commits(&self) {
        match self {
            Backend::Sqlite(dir) => {
                rusqlite::Connection::open(dir.path().join("qingshan.db"))
                    .unwrap()
                    .execute_batch(
                        "CREATE TRIGGER test_fault BEFORE INSERT ON archive
                         BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
                    )
                    .unwrap();
            }
            Backend::Pg(db) => {
                ::postgres::Client::connect(db.url(), ::postgres::NoTls)
                    .unwrap()
                    .batch_execute(
                        "CREATE FUNCTION test_fault() RETURNS trigger LANGUAGE plpgsql AS
                           $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$;
                         CREATE TRIGGER test_fault BEFORE INSERT ON archive
                           FOR EACH ROW EXECUTE FUNCTION test_fault();",
                    )
                    .unwrap();
            }
        }
    }

    fn heal_commits(&self) {
        match self {
            Backend::Sqlite(dir) => {
                rusqlite::Connection::open(dir.path().join("qingshan.db"))
                    .unwrap()
                    .execute_batch("DROP TRIGGER test_fault")
                    .unwrap();
            }
            Backend::Pg(db) => {
                ::postgres::Client::connect(db.url(), ::postgres::NoTls)
                    .unwrap()
                    .batch_execute("DROP TRIGGER test_fault ON archive")
                    .unwrap();
            }
        }
    }
}

/// Runs each listed test against both backends.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(&super::Backend::sqlite()); } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name(&super::Backend::pg()); } )*
        }
    };
}

contract!(
    devices_round_trip_and_update,
    resend_does_not_double_count,
    repeated_key_in_one_batch_last_wins,
    filters_and_reopen,
    filters_combine,
    values_in_first_seen_series_order_then_time,
    values_across_months_and_a_month_appearing_later,
    missing_values_and_flags_round_trip,
    device_state_aggregates_batches,
    commands_and_answers,
    commands_newest_first_with_limit,
    archive_retention,
    prune_drops_whole_chunks_and_counts_packets,
    latest_time_any_field,
    received_since_lists_arrivals_in_key_order,
    air_days_replace_and_order_bytewise,
    watermarks,
    failed_commit_leaves_nothing_and_store_stays_usable,
    two_writers_fill_the_same_new_months,
    bus_ids_store_a_redelivered_packet_once,
    two_writers_committing_the_same_messages_store_them_once,
    registration_time_is_recorded_once_and_kept,
    first_data_is_the_earliest_value_time,
    an_installation_from_before_due_is_upgraded_in_place,
);

// ---- helpers ----

fn device(mn: &str, site: &str) -> Device {
    Device {
        mn: mn.into(),
        pw: "123456".into(),
        site: site.into(),
        kind: DeviceKind::Wastewater,
        name: "测试排口".into(),
        protocol: None,
        allow: vec!["crc_modbus".into()],
        calibrate_clock: true,
        rtd_interval: Some(30),
        min_interval: None,
        registered: Some(1_751_299_200),
    }
}

fn value(site: &str, code: &str, time: i64, text: &str) -> Measurement {
    Measurement {
        site: site.into(),
        code: code.into(),
        field: "Avg".into(),
        period: Period::Hour,
        time,
        value: text.parse().unwrap(),
        text: text.into(),
        flag: Some("N".into()),
        eflag: None,
        mn: "MN1".into(),
    }
}

fn packet(ms: i64, values: Vec<Measurement>) -> IntakePacket {
    IntakePacket {
        received_ms: ms,
        mn: "MN1".into(),
        cn: "2061".into(),
        qn: Some("20160801085857223".into()),
        peer: "127.0.0.1:5000".into(),
        raw: b"##0000...\r\n".to_vec(),
        values,
        deviations: vec!["crc_modbus".into()],
        answer: None,
        bus_id: None,
    }
}

fn from(mn: &str, mut p: IntakePacket) -> IntakePacket {
    p.mn = mn.into();
    for v in p.values.iter_mut() {
        v.mn = mn.into();
    }
    p
}

fn all(store: &dyn Store, filter: &ValueFilter) -> Vec<Measurement> {
    let mut out = Vec::new();
    store
        .for_each_value(filter, &mut |m| {
            out.push(m.clone());
            Ok(())
        })
        .unwrap();
    out
}

fn keys(values: &[Measurement]) -> Vec<(String, String, i64, String)> {
    values
        .iter()
        .map(|m| (m.site.clone(), m.code.clone(), m.time, m.text.clone()))
        .collect()
}

fn k(site: &str, code: &str, time: i64, text: &str) -> (String, String, i64, String) {
    (site.into(), code.into(), time, text.into())
}

/// UTC seconds of a UTC calendar instant.
fn utc(y: i32, mo: u32, d: u32, h: u32) -> i64 {
    chrono::NaiveDate::from_ymd_opt(y, mo, d)
        .unwrap()
        .and_hms_opt(h, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp()
}

// ---- the contract ----

fn devices_round_trip_and_update(b: &Backend) {
    let mut s = b.open();
    let mut d = device("MN1", "ENT-01");
    s.put_device(&d).unwrap();
    assert_eq!(s.device("MN1").unwrap().unwrap(), d);
    d.pw = "654321".into();
    d.allow = vec![];
    d.protocol = Some("2017".into());
    d.min_interval = Some(u32::MAX);
    s.put_device(&d).unwrap();
    let mut z = device("A-0", "ENT-02");
    z.calibrate_clock = false;
    z.kind = DeviceKind::Air;
    s.put_device(&z).unwrap();
    // ordered by MN, byte-wise ('A' < 'M')
    assert_eq!(s.devices().unwrap(), vec![z, d]);
    assert!(s.remove_device("MN1").unwrap());
    assert!(!s.remove_device("MN1").unwrap());
    assert!(s.device("MN1").unwrap().is_none());
    assert_eq!(s.devices().unwrap().len(), 1);
}

/// A device put without a registration time gets the time of its registration; later puts
/// without one keep it; an explicit one (a device commissioned before it was entered) wins.
fn registration_time_is_recorded_once_and_kept(b: &Backend) {
    let mut s = b.open();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut d = device("MN-R", "ENT-01");
    d.registered = None;
    s.put_device(&d).unwrap();
    let got = s.device("MN-R").unwrap().unwrap().registered.unwrap();
    assert!(got >= before && got <= before + 5, "{got} vs {before}");
    d.pw = "999999".into();
    s.put_device(&d).unwrap();
    let again = s.device("MN-R").unwrap().unwrap();
    assert_eq!((again.registered, again.pw.as_str()), (Some(got), "999999"));
    d.registered = Some(1_000);
    s.put_device(&d).unwrap();
    assert_eq!(s.devices().unwrap()[0].registered, Some(1_000));
}

/// `first_time`: the earliest value time a device ever sent, across batches; a back-fill of
/// older data moves it back, newer data do not; a packet without values leaves it unset.
fn first_data_is_the_earliest_value_time(b: &Backend) {
    let mut s = b.open();
    s.commit(&[
        packet(
            500,
            vec![value("S", "a", 7200, "1"), value("S", "b", 3600, "1")],
        ),
        from("MN2", packet(400, vec![])),
    ])
    .unwrap();
    s.commit(&[packet(900, vec![value("S", "a", 10_800, "1")])])
        .unwrap();
    let st = s.device_states().unwrap();
    assert_eq!((st[0].mn.as_str(), st[0].first_time), ("MN1", Some(3600)));
    assert_eq!((st[1].mn.as_str(), st[1].first_time), ("MN2", None));
    s.commit(&[packet(1000, vec![value("S", "a", -3600, "1")])])
        .unwrap();
    assert_eq!(s.device_states().unwrap()[0].first_time, Some(-3600));
}

/// A data folder / database made before registration times, first data and the quality hour
/// masks existed: the columns are added on open (SQLite) or by migration 5 (PostgreSQL), and
/// each device's first data is back-filled from the values stored.
fn an_installation_from_before_due_is_upgraded_in_place(b: &Backend) {
    {
        let mut s = b.open();
        s.put_device(&device("MN1", "S")).unwrap();
        s.commit(&[
            packet(500, vec![value("S", "a", 7200, "1")]),
            packet(600, vec![value("S", "b", 3600, "1")]),
            from("MN2", packet(700, vec![value("T", "a", 86_400, "1")])),
        ])
        .unwrap();
    }
    // Back to the old schema.
    match b {
        Backend::Sqlite(dir) => {
            rusqlite::Connection::open(dir.path().join("qingshan.db"))
                .unwrap()
                .execute_batch(
                    "ALTER TABLE devices DROP COLUMN registered;
                     ALTER TABLE device_state DROP COLUMN first_time;
                     ALTER TABLE quality_days DROP COLUMN received_mask;
                     ALTER TABLE quality_days DROP COLUMN valid_mask;
                     UPDATE meta SET value = '1' WHERE key = 'schema_version';",
                )
                .unwrap();
        }
        Backend::Pg(db) => {
            ::postgres::Client::connect(db.url(), ::postgres::NoTls)
                .unwrap()
                .batch_execute(
                    "ALTER TABLE devices DROP COLUMN registered;
                     ALTER TABLE device_state DROP COLUMN first_time;
                     ALTER TABLE quality_days DROP COLUMN received_mask;
                     ALTER TABLE quality_days DROP COLUMN valid_mask;
                     DELETE FROM schema_migrations WHERE version >= 5;",
                )
                .unwrap();
        }
    }
    let s = b.open();
    assert_eq!(s.device("MN1").unwrap().unwrap().registered, None);
    let st = s.device_states().unwrap();
    assert_eq!(
        st.iter()
            .map(|x| (x.mn.as_str(), x.first_time))
            .collect::<Vec<_>>(),
        vec![("MN1", Some(3600)), ("MN2", Some(86_400))]
    );
    drop(s);
    // Opening again changes nothing.
    assert_eq!(b.open().device_states().unwrap(), st);
}

/// DESIGN.md "Idempotent storage": a resend replaces, never double-counts.
fn resend_does_not_double_count(b: &Backend) {
    let mut s = b.open();
    let p = packet(
        1000,
        vec![
            value("S", "w01018", 3600, "50.0"),
            value("S", "w21003", 3600, "1.5"),
        ],
    );
    let st = s.commit(&[p.clone(), p.clone()]).unwrap();
    assert_eq!((st.packets, st.values), (2, 4));
    s.commit(&[p]).unwrap();
    let mut fix = packet(2000, vec![value("S", "w01018", 3600, "51.25")]);
    fix.deviations.clear();
    s.commit(&[fix]).unwrap();
    let got = all(&*s, &ValueFilter::default());
    assert_eq!(got.len(), 2);
    let cod = got.iter().find(|m| m.code == "w01018").unwrap();
    assert_eq!(cod.text, "51.25");
    assert_eq!(cod.value, 51.25);
    let st = &s.device_states().unwrap()[0];
    assert_eq!(st.packets, 4);
    assert_eq!(st.values, 7, "values received, resends included");
    assert_eq!(st.deviations["crc_modbus"], 3);
    assert_eq!(st.last_seen_ms, Some(2000));
    // the archive keeps every packet received, including resends
    assert_eq!(s.archived(None, 0, i64::MAX).unwrap().len(), 4);
}

/// A key repeated inside one batch (in one packet and across packets): the last one wins,
/// with its packet's arrival and sender; every value counts as received.
fn repeated_key_in_one_batch_last_wins(b: &Backend) {
    let mut s = b.open();
    let a = packet(
        100,
        vec![
            value("S", "w01018", 3600, "1.0"),
            value("S", "w01018", 3600, "2.0"),
            value("S", "w01018", 7200, "3.0"),
        ],
    );
    let bb = from("MN2", packet(90, vec![value("S", "w01018", 3600, "4.0")]));
    let c = packet(80, vec![value("S", "w01018", 7200, "5.0")]);
    let st = s.commit(&[a, bb, c]).unwrap();
    assert_eq!((st.packets, st.values), (3, 5));
    let got = all(&*s, &ValueFilter::default());
    assert_eq!(
        keys(&got),
        vec![k("S", "w01018", 3600, "4.0"), k("S", "w01018", 7200, "5.0")]
    );
    assert_eq!(got[0].mn, "MN2");
    assert_eq!(got[1].mn, "MN1");
    let rk = s.received_since(Period::Hour, 0).unwrap();
    assert_eq!(
        rk.iter()
            .map(|r| (r.time, r.received_ms))
            .collect::<Vec<_>>(),
        vec![(3600, 90), (7200, 80)],
        "the arrival of the packet whose value stayed"
    );
    // the later batch replaces again, and the device filter follows the sender
    s.commit(&[packet(300, vec![value("S", "w01018", 3600, "6.0")])])
        .unwrap();
    let f = ValueFilter {
        mn: Some("MN2".into()),
        ..Default::default()
    };
    assert!(all(&*s, &f).is_empty());
    assert_eq!(all(&*s, &ValueFilter::default())[0].text, "6.0");
}

fn filters_and_reopen(b: &Backend) {
    {
        let mut s = b.open();
        let vals = (0..24)
            .map(|h| value("S", "w01018", h * 3600, "1.0"))
            .collect();
        s.commit(&[packet(5, vals)]).unwrap();
    }
    let s = b.open();
    let f = ValueFilter {
        from: Some(3600),
        to: Some(7200),
        ..Default::default()
    };
    assert_eq!(all(&*s, &f).len(), 1);
    let f = ValueFilter {
        mn: Some("other".into()),
        ..Default::default()
    };
    assert!(all(&*s, &f).is_empty());
    let f = ValueFilter {
        period: Some(Period::Day),
        ..Default::default()
    };
    assert!(all(&*s, &f).is_empty());
    assert_eq!(all(&*s, &ValueFilter::default()).len(), 24);
}

fn filters_combine(b: &Backend) {
    let mut s = b.open();
    let mut day = value("S1", "a21026", 0, "7");
    day.period = Period::Day;
    let mut max = value("S1", "a21026", 3600, "9");
    max.field = "Max".into();
    s.commit(&[
        packet(
            1,
            vec![
                value("S1", "a21026", 0, "1"),
                value("S1", "a21026", 3600, "2"),
                value("S1", "a21004", 3600, "3"),
                max,
                day,
            ],
        ),
        from(
            "MN2",
            packet(
                2,
                vec![
                    value("S2", "a21026", 3600, "4"),
                    value("S2", "a21026", 7200, "5"),
                ],
            ),
        ),
    ])
    .unwrap();
    let texts =
        |f: ValueFilter| -> Vec<String> { all(&*s, &f).into_iter().map(|m| m.text).collect() };
    assert_eq!(
        texts(ValueFilter {
            site: Some("S1".into()),
            code: Some("a21026".into()),
            period: Some(Period::Hour),
            ..Default::default()
        }),
        ["1", "2", "9"]
    );
    assert_eq!(
        texts(ValueFilter {
            code: Some("a21026".into()),
            from: Some(3600),
            to: Some(7200),
            ..Default::default()
        }),
        ["2", "9", "4"]
    );
    assert_eq!(
        texts(ValueFilter {
            mn: Some("MN2".into()),
            from: Some(7200),
            ..Default::default()
        }),
        ["5"]
    );
    assert_eq!(
        texts(ValueFilter {
            period: Some(Period::Day),
            ..Default::default()
        }),
        ["7"]
    );
    assert_eq!(
        texts(ValueFilter {
            site: Some("S3".into()),
            ..Default::default()
        }),
        Vec::<String>::new()
    );
}

/// (series, time) order: series in the order the store first stored them (not by name), each
/// series by time whatever order the values came in.
fn values_in_first_seen_series_order_then_time(b: &Backend) {
    let mut s = b.open();
    s.commit(&[packet(
        1,
        vec![
            value("Z", "w01018", 7200, "1"),
            value("A", "w01018", 3600, "2"),
            value("Z", "w01018", 3600, "3"),
        ],
    )])
    .unwrap();
    s.commit(&[packet(
        2,
        vec![
            value("M", "w01018", 0, "4"),
            value("A", "w01018", 0, "5"),
            value("Z", "w01018", 0, "6"),
        ],
    )])
    .unwrap();
    assert_eq!(
        keys(&all(&*s, &ValueFilter::default())),
        vec![
            k("Z", "w01018", 0, "6"),
            k("Z", "w01018", 3600, "3"),
            k("Z", "w01018", 7200, "1"),
            k("A", "w01018", 0, "5"),
            k("A", "w01018", 3600, "2"),
            k("M", "w01018", 0, "4"),
        ]
    );
}

/// Values spread over months (UTC) and years, before 1970 too, read back in order; a month
/// that appears later, before the months already stored, takes its place.
fn values_across_months_and_a_month_appearing_later(b: &Backend) {
    let mut s = b.open();
    let times = [
        utc(2025, 12, 31, 23),
        utc(2026, 1, 1, 0),
        utc(2026, 1, 31, 23),
        utc(2026, 2, 1, 0),
        utc(2026, 3, 15, 12),
        -3600,
        utc(2099, 12, 31, 23),
    ];
    let vals = times
        .iter()
        .enumerate()
        .map(|(i, t)| value("S", "a34004", *t, &i.to_string()))
        .collect();
    s.commit(&[packet(10, vals)]).unwrap();
    let got = all(&*s, &ValueFilter::default());
    let mut sorted = times.to_vec();
    sorted.sort();
    assert_eq!(got.iter().map(|m| m.time).collect::<Vec<_>>(), sorted);
    // a new month, earlier than most, in a later commit; and a resend across months
    s.commit(&[packet(
        20,
        vec![
            value("S", "a34004", utc(2024, 6, 1, 0), "100"),
            value("S", "a34004", utc(2026, 2, 1, 0), "200"),
        ],
    )])
    .unwrap();
    let f = ValueFilter {
        from: Some(utc(2024, 1, 1, 0)),
        to: Some(utc(2026, 3, 1, 0)),
        ..Default::default()
    };
    assert_eq!(
        keys(&all(&*s, &f)),
        vec![
            k("S", "a34004", utc(2024, 6, 1, 0), "100"),
            k("S", "a34004", utc(2025, 12, 31, 23), "0"),
            k("S", "a34004", utc(2026, 1, 1, 0), "1"),
            k("S", "a34004", utc(2026, 1, 31, 23), "2"),
            k("S", "a34004", utc(2026, 2, 1, 0), "200"),
        ]
    );
    assert_eq!(all(&*s, &ValueFilter::default()).len(), times.len() + 1);
    assert_eq!(
        s.latest_time("S", "a34004", Period::Hour).unwrap(),
        Some(utc(2099, 12, 31, 23))
    );
}

fn missing_values_and_flags_round_trip(b: &Backend) {
    let mut s = b.open();
    let mut nan = value("S", "a21026", 0, "1");
    nan.value = f64::NAN;
    nan.text = "".into();
    nan.flag = None;
    nan.eflag = Some("E1".into());
    let mut inf = value("S", "a21026", 3600, "1");
    inf.value = f64::INFINITY;
    inf.text = "1e999".into();
    inf.flag = Some("D".into());
    let mut utf = value("垫江-1", "a21026", 0, "3.25");
    utf.field = "ZsAvg".into();
    s.commit(&[packet(1, vec![nan, inf, utf])]).unwrap();
    let got = all(&*s, &ValueFilter::default());
    assert_eq!(got.len(), 3);
    assert!(got[0].value.is_nan() && got[0].text.is_empty());
    assert_eq!(
        (got[0].flag.as_deref(), got[0].eflag.as_deref()),
        (None, Some("E1"))
    );
    assert!(
        got[1].value.is_nan(),
        "non-finite values are stored as missing"
    );
    assert_eq!(
        (got[1].text.as_str(), got[1].flag.as_deref()),
        ("1e999", Some("D"))
    );
    assert_eq!(
        (got[2].site.as_str(), got[2].field.as_str(), got[2].value),
        ("垫江-1", "ZsAvg", 3.25)
    );
    assert_eq!(got[2].mn, "MN1");
}

/// Per device: last_seen is the newest arrival even when an older batch comes later; peer and
/// last command are those of the newest packet; counters add up.
fn device_state_aggregates_batches(b: &Backend) {
    let mut s = b.open();
    let mut p1 = packet(500, vec![value("S", "a", 0, "1"), value("S", "b", 0, "1")]);
    p1.peer = "10.0.0.1:1".into();
    p1.cn = "2061".into();
    let mut p2 = from("MN2", packet(400, vec![]));
    p2.deviations = vec!["lf_only".into(), "crc_modbus".into()];
    let mut p3 = packet(450, vec![value("S", "a", 3600, "1")]);
    p3.peer = "10.0.0.1:2".into();
    p3.cn = "2011".into();
    s.commit(&[p1, p2, p3]).unwrap();
    // an older packet of MN1 arrives in a later batch
    let mut old = packet(100, vec![]);
    old.peer = "10.0.0.9:9".into();
    old.cn = "9011".into();
    old.deviations.clear();
    s.commit(&[old]).unwrap();
    let st = s.device_states().unwrap();
    assert_eq!(st.len(), 2);
    assert_eq!(st[0].mn, "MN1");
    assert_eq!(
        (
            st[0].last_seen_ms,
            st[0].peer.as_deref(),
            st[0].last_cn.as_deref(),
            st[0].packets,
            st[0].values
        ),
        (Some(500), Some("10.0.0.1:1"), Some("2061"), 3, 3)
    );
    assert_eq!(st[0].deviations.len(), 1);
    assert_eq!(st[0].deviations["crc_modbus"], 2);
    assert_eq!(st[1].mn, "MN2");
    assert_eq!((st[1].packets, st[1].values), (1, 0));
    assert_eq!(
        st[1]
            .deviations
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        vec![("crc_modbus", 1), ("lf_only", 1)]
    );
    // a newer one takes over peer and command
    let mut newer = packet(900, vec![]);
    newer.peer = "10.0.0.3:3".into();
    newer.cn = "2051".into();
    s.commit(&[newer]).unwrap();
    let st = &s.device_states().unwrap()[0];
    assert_eq!(
        (
            st.last_seen_ms,
            st.peer.as_deref(),
            st.last_cn.as_deref(),
            st.packets
        ),
        (Some(900), Some("10.0.0.3:3"), Some("2051"), 4)
    );
}

fn commands_and_answers(b: &Backend) {
    let mut s = b.open();
    let id = s
        .record_command("MN1", "20260101000000001", "2061", "##...", 10)
        .unwrap();
    let mut p = packet(20, vec![]);
    p.answer = Some(CommandAnswer::QnRtn {
        qn: "20260101000000001".into(),
        code: 1,
    });
    let mut q = packet(30, vec![]);
    q.answer = Some(CommandAnswer::ExeRtn {
        qn: "20260101000000001".into(),
        code: 1,
    });
    s.commit(&[p, q]).unwrap();
    let c = &s.commands(Some("MN1"), 10).unwrap()[0];
    assert_eq!(c.id, id);
    assert_eq!(
        (c.qn_rtn, c.qn_rtn_ms, c.exe_rtn, c.exe_rtn_ms),
        (Some(1), Some(20), Some(1), Some(30))
    );
    // an answer from another device, or to an unknown QN, changes nothing
    let mut other = from("MN2", packet(40, vec![]));
    other.answer = Some(CommandAnswer::ExeRtn {
        qn: "20260101000000001".into(),
        code: 3,
    });
    let mut unknown = packet(50, vec![]);
    unknown.answer = Some(CommandAnswer::QnRtn {
        qn: "nope".into(),
        code: 2,
    });
    s.commit(&[other, unknown]).unwrap();
    assert_eq!(&s.commands(None, 10).unwrap()[0], c);
    // two answers to one command in one batch: the later packet's wins
    let mut a = packet(60, vec![]);
    a.answer = Some(CommandAnswer::ExeRtn {
        qn: "20260101000000001".into(),
        code: 100,
    });
    let mut bb = packet(61, vec![]);
    bb.answer = Some(CommandAnswer::ExeRtn {
        qn: "20260101000000001".into(),
        code: 2,
    });
    s.commit(&[a, bb]).unwrap();
    let c = &s.commands(Some("MN1"), 1).unwrap()[0];
    assert_eq!((c.exe_rtn, c.exe_rtn_ms), (Some(2), Some(61)));
}

fn commands_newest_first_with_limit(b: &Backend) {
    let mut s = b.open();
    let a = s.record_command("MN1", "q1", "1012", "##a", 1).unwrap();
    let bb = s.record_command("MN2", "q2", "1061", "##b", 2).unwrap();
    let c = s.record_command("MN1", "q3", "3020", "##c", 3).unwrap();
    assert!(a < bb && bb < c);
    let ids = |v: Vec<store::CommandRecord>| v.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(ids(s.commands(None, 2).unwrap()), vec![c, bb]);
    assert_eq!(
        ids(s.commands(Some("MN1"), usize::MAX).unwrap()),
        vec![c, a]
    );
    assert_eq!(ids(s.commands(Some("MN3"), 10).unwrap()), Vec::<i64>::new());
    let r = &s.commands(Some("MN2"), 10).unwrap()[0];
    assert_eq!(
        (
            r.mn.as_str(),
            r.qn.as_str(),
            r.cn.as_str(),
            r.request.as_str(),
            r.sent_ms
        ),
        ("MN2", "q2", "1061", "##b", 2)
    );
    assert_eq!((r.qn_rtn, r.exe_rtn), (None, None));
}

fn archive_retention(b: &Backend) {
    let mut s = b.open();
    s.commit(&[packet(100, vec![])]).unwrap();
    s.commit(&[packet(200, vec![]), packet(300, vec![])])
        .unwrap();
    assert_eq!(s.archived(Some("MN1"), 0, 1000).unwrap().len(), 3);
    assert_eq!(s.archived(Some("MN2"), 0, 1000).unwrap().len(), 0);
    assert_eq!(s.prune_archive(250).unwrap(), 1);
    let left = s.archived(None, 0, 1000).unwrap();
    assert_eq!(left.len(), 2);
    assert_eq!(left[0].raw, "##0000...\r\n");
}

/// Retention drops whole chunks (one per commit) whose newest packet is older than the limit,
/// and says how many packets went; reads cut chunks to the asked range.
fn prune_drops_whole_chunks_and_counts_packets(b: &Backend) {
    let mut s = b.open();
    let mut odd = from("MN2", packet(150, vec![]));
    odd.raw = "##中文 frame\r\n".as_bytes().to_vec();
    odd.peer = "10.1.1.1:7".into();
    odd.cn = "2011".into();
    s.commit(&[packet(100, vec![]), odd, packet(120, vec![])])
        .unwrap();
    s.commit(&[packet(200, vec![]), packet(400, vec![])])
        .unwrap();
    let got = s.archived(None, 0, i64::MAX).unwrap();
    assert_eq!(
        got.iter().map(|p| p.received_ms).collect::<Vec<_>>(),
        vec![100, 150, 120, 200, 400],
        "chunks in commit order, packets in batch order"
    );
    assert_eq!(
        (
            got[1].mn.as_str(),
            got[1].cn.as_str(),
            got[1].peer.as_str(),
            got[1].raw.as_str()
        ),
        ("MN2", "2011", "10.1.1.1:7", "##中文 frame\r\n")
    );
    assert_eq!(
        s.archived(None, 120, 200)
            .unwrap()
            .iter()
            .map(|p| p.received_ms)
            .collect::<Vec<_>>(),
        vec![150, 120]
    );
    assert_eq!(s.archived(Some("MN2"), 0, 1000).unwrap().len(), 1);
    // the second chunk spans 200..=400: kept whole by a limit inside it
    assert_eq!(s.prune_archive(300).unwrap(), 3);
    assert_eq!(s.prune_archive(300).unwrap(), 0);
    assert_eq!(
        s.archived(None, 0, i64::MAX)
            .unwrap()
            .iter()
            .map(|p| p.received_ms)
            .collect::<Vec<_>>(),
        vec![200, 400]
    );
    assert_eq!(s.prune_archive(401).unwrap(), 2);
    assert!(s.archived(None, 0, i64::MAX).unwrap().is_empty());
}

fn latest_time_any_field(b: &Backend) {
    let mut s = b.open();
    assert_eq!(s.latest_time("S", "a21026", Period::Hour).unwrap(), None);
    let mut max = value("S", "a21026", utc(2026, 2, 1, 5), "1");
    max.field = "Max".into();
    let mut day = value("S", "a21026", utc(2026, 3, 1, 0), "1");
    day.period = Period::Day;
    s.commit(&[packet(
        1,
        vec![
            value("S", "a21026", utc(2026, 1, 31, 23), "1"),
            max,
            day,
            value("S", "a21004", utc(2026, 4, 1, 0), "1"),
            value("T", "a21026", utc(2026, 5, 1, 0), "1"),
        ],
    )])
    .unwrap();
    assert_eq!(
        s.latest_time("S", "a21026", Period::Hour).unwrap(),
        Some(utc(2026, 2, 1, 5))
    );
    assert_eq!(
        s.latest_time("S", "a21026", Period::Day).unwrap(),
        Some(utc(2026, 3, 1, 0))
    );
    assert_eq!(s.latest_time("S", "a21026", Period::Min).unwrap(), None);
    // a late value does not move it back
    s.commit(&[packet(
        2,
        vec![value("S", "a21026", utc(2025, 1, 1, 0), "1")],
    )])
    .unwrap();
    assert_eq!(
        s.latest_time("S", "a21026", Period::Hour).unwrap(),
        Some(utc(2026, 2, 1, 5))
    );
}

fn received_since_lists_arrivals_in_key_order(b: &Backend) {
    let mut s = b.open();
    let mut day = value("S", "a", 0, "1");
    day.period = Period::Day;
    s.commit(&[packet(
        100,
        vec![value("S", "b", 7200, "1"), value("S", "a", 3600, "1"), day],
    )])
    .unwrap();
    s.commit(&[packet(200, vec![value("S", "b", 0, "1")])])
        .unwrap();
    let rk = |since| -> Vec<(String, i64, i64)> {
        s.received_since(Period::Hour, since)
            .unwrap()
            .into_iter()
            .map(|r| (r.code, r.time, r.received_ms))
            .collect()
    };
    assert_eq!(
        rk(i64::MIN),
        vec![
            ("b".into(), 0, 200),
            ("b".into(), 7200, 100),
            ("a".into(), 3600, 100)
        ]
    );
    assert_eq!(rk(200), vec![("b".into(), 0, 200)]);
    assert_eq!(rk(201), vec![]);
    // a resend moves the arrival
    s.commit(&[packet(300, vec![value("S", "a", 3600, "2")])])
        .unwrap();
    assert_eq!(
        s.received_since(Period::Hour, 250).unwrap(),
        vec![ReceivedKey {
            site: "S".into(),
            code: "a".into(),
            field: "Avg".into(),
            period: Period::Hour,
            time: 3600,
            received_ms: 300
        }]
    );
    assert_eq!(s.received_since(Period::Day, 0).unwrap().len(), 1);
}

fn air_day(site: &str, day: &str, aqi: Option<i64>) -> AirDay {
    AirDay {
        site: site.into(),
        day: day.into(),
        rules: "HJ633-2026".into(),
        pm25: Some("35.0".into()),
        pm10: None,
        so2: Some("5".into()),
        no2: Some("20".into()),
        co: Some("0.6".into()),
        o3_8h: None,
        o3_1h: Some("120".into()),
        o3_8h_max: Some("99".into()),
        o3_8h_windows: 11,
        hours: "PM2.5=24,PM10=0".into(),
        aqi,
        level: aqi.map(|_| 2),
        primary: "PM2.5".into(),
        stations: 1,
        updated_ms: 42,
    }
}

/// Ordered by (site, day) byte-wise as in SQLite: the county rows (`_county`) come after
/// upper-case station codes and before lower-case ones, whatever the database's locale.
fn air_days_replace_and_order_bytewise(b: &Backend) {
    let mut s = b.open();
    s.put_air_days(&[
        air_day("s-low", "2026-01-02", Some(50)),
        air_day(store::COUNTY_SITE, "2026-01-02", Some(60)),
        air_day("S-2", "2026-01-01", None),
        air_day("S-10", "2026-01-01", Some(70)),
        air_day("S-10", "2026-01-03", Some(80)),
    ])
    .unwrap();
    let order = |v: Vec<AirDay>| -> Vec<(String, String)> {
        v.into_iter().map(|d| (d.site, d.day)).collect()
    };
    let p = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        order(s.air_days(None, "2026-01-01", "2026-01-02").unwrap()),
        vec![
            p("S-10", "2026-01-01"),
            p("S-2", "2026-01-01"),
            p("_county", "2026-01-02"),
            p("s-low", "2026-01-02"),
        ]
    );
    let mut again = air_day("S-10", "2026-01-03", None);
    again.primary = String::new();
    again.updated_ms = 43;
    s.put_air_days(&[air_day("S-10", "2026-01-03", Some(1)), again.clone()])
        .unwrap();
    let got = s
        .air_days(Some("S-10"), "2026-01-01", "2026-12-31")
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], air_day("S-10", "2026-01-01", Some(70)));
    assert_eq!(got[1], again);
    assert!(s
        .air_days(Some("S-9"), "2026-01-01", "2026-12-31")
        .unwrap()
        .is_empty());
    s.put_air_days(&[]).unwrap();
}

fn watermarks(b: &Backend) {
    let mut s = b.open();
    assert_eq!(s.watermark("air").unwrap(), None);
    s.set_watermark("air", i64::MIN).unwrap();
    s.set_watermark("water", 5).unwrap();
    s.set_watermark("air", 7).unwrap();
    assert_eq!(s.watermark("air").unwrap(), Some(7));
    assert_eq!(s.watermark("water").unwrap(), Some(5));
    drop(s);
    assert_eq!(b.open().watermark("air").unwrap(), Some(7));
}

/// DESIGN.md "Ack after commit": a commit that fails leaves nothing of its batch behind —
/// values, new series and senders, device state, command answers, archive — and the same
/// store commits the batch once the fault is gone.
fn failed_commit_leaves_nothing_and_store_stays_usable(b: &Backend) {
    let mut s = b.open();
    s.commit(&[packet(10, vec![value("S", "a", 0, "1")])])
        .unwrap();
    let id = s.record_command("MN9", "q1", "3020", "##", 11).unwrap();
    let before_states = s.device_states().unwrap();

    let mut p = from(
        "MN9",
        packet(
            20,
            vec![
                value("NEW", "x", utc(2031, 7, 1, 0), "2"),
                value("S", "a", 0, "3"),
            ],
        ),
    );
    p.answer = Some(CommandAnswer::QnRtn {
        qn: "q1".into(),
        code: 1,
    });
    let q = packet(21, vec![value("S", "b", 3600, "4")]);
    let batch = vec![p, q];
    b.break_commits();
    let err = s.commit(&batch).unwrap_err();
    assert!(err.to_string().contains("injected fault"), "{err}");
    assert_eq!(
        keys(&all(&*s, &ValueFilter::default())),
        vec![k("S", "a", 0, "1")]
    );
    assert_eq!(s.device_states().unwrap(), before_states);
    assert_eq!(s.commands(None, 10).unwrap()[0].qn_rtn, None);
    assert_eq!(s.archived(None, 0, i64::MAX).unwrap().len(), 1);
    assert_eq!(s.received_since(Period::Hour, 15).unwrap(), vec![]);
    assert_eq!(s.latest_time("NEW", "x", Period::Hour).unwrap(), None);

    // a failing commit again (the writer retries), then the fault is gone
    assert!(s.commit(&batch).is_err());
    b.heal_commits();
    let st = s.commit(&batch).unwrap();
    assert_eq!((st.packets, st.values), (2, 3));
    assert_eq!(
        keys(&all(&*s, &ValueFilter::default())),
        vec![
            k("S", "a", 0, "3"),
            k("NEW", "x", utc(2031, 7, 1, 0), "2"),
            k("S", "b", 3600, "4"),
        ]
    );
    let f = ValueFilter {
        mn: Some("MN9".into()),
        ..Default::default()
    };
    assert_eq!(all(&*s, &f).len(), 2, "values keep their new sender");
    let c = &s.commands(None, 10).unwrap()[0];
    assert_eq!((c.id, c.qn_rtn, c.qn_rtn_ms), (id, Some(1), Some(20)));
    let states = s.device_states().unwrap();
    assert_eq!(
        states
            .iter()
            .map(|d| (d.mn.as_str(), d.packets))
            .collect::<Vec<_>>(),
        vec![("MN1", 2), ("MN9", 1)]
    );
    assert_eq!(s.archived(None, 0, i64::MAX).unwrap().len(), 3);
    // and a fresh store on the same data sees the same
    let again = b.open();
    assert_eq!(all(&*again, &ValueFilter::default()).len(), 3);
}

/// Two writers (two nodes) commit at the same moments into months nobody wrote before, to the
/// same new series and partly the same keys: both succeed, nothing is lost or doubled.
fn two_writers_fill_the_same_new_months(b: &Backend) {
    const ROUNDS: i64 = 6;
    let barrier = Arc::new(Barrier::new(2));
    let writers: Vec<_> = ["MN-A", "MN-B"]
        .into_iter()
        .enumerate()
        .map(|(w, mn)| {
            let mut s = b.open();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                for r in 0..ROUNDS {
                    let month = utc(2030, 1 + r as u32, 1, 0);
                    let mut vals = Vec::new();
                    for site in ["S-1", "S-2", "S-3"] {
                        for h in 0..10 {
                            // hours 0..5 both writers (same text), 5..10 each its own code
                            let code = if h < 5 {
                                "shared".to_string()
                            } else {
                                format!("w{w}")
                            };
                            vals.push(value(site, &code, month + h * 3600, "1.5"));
                        }
                    }
                    let p = from(mn, packet(r * 10 + w as i64, vals));
                    barrier.wait();
                    s.commit(&[p]).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let s = b.open();
    let got = all(&*s, &ValueFilter::default());
    // per round and site: 5 shared hours + 5 of each writer's own code
    assert_eq!(got.len(), (ROUNDS * 3 * 15) as usize);
    let mut uniq: Vec<_> = got
        .iter()
        .map(|m| (m.site.clone(), m.code.clone(), m.time))
        .collect();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), got.len());
    let st = s.device_states().unwrap();
    assert_eq!(
        st.iter()
            .map(|d| (d.mn.as_str(), d.packets, d.values))
            .collect::<Vec<_>>(),
        vec![("MN-A", 6, 180), ("MN-B", 6, 180)]
    );
    for w in ["w0", "w1"] {
        let f = ValueFilter {
            code: Some(w.into()),
            ..Default::default()
        };
        assert_eq!(all(&*s, &f).len(), (ROUNDS * 3 * 5) as usize);
    }
}

/// A packet that came over the intake bus is stored once per message id: a redelivery (in the
/// same batch or a later one, after reopening) is skipped and counted, not archived or counted
/// again; packets without an id are stored as always.
fn bus_ids_store_a_redelivered_packet_once(b: &Backend) {
    let with_id = |ms: i64, id: Option<&str>, t: i64| IntakePacket {
        bus_id: id.map(str::to_string),
        ..packet(ms, vec![value("S1", "w01018", t, "1.5")])
    };
    {
        let mut s = b.open();
        let st = s
            .commit(&[
                with_id(1_000, Some("gw:1:1:0"), 3600),
                with_id(1_001, Some("gw:1:1:1"), 7200),
                with_id(1_001, Some("gw:1:1:1"), 7200),
                with_id(1_002, None, 10_800),
            ])
            .unwrap();
        assert_eq!((st.packets, st.values, st.duplicates), (3, 3, 1));
    }
    let mut s = b.open();
    let st = s
        .commit(&[
            with_id(1_000, Some("gw:1:1:0"), 3600),
            with_id(1_001, Some("gw:1:1:1"), 7200),
        ])
        .unwrap();
    assert_eq!((st.packets, st.values, st.duplicates), (0, 0, 2));
    let st = s
        .commit(&[
            with_id(1_003, Some("gw:1:1:2"), 14_400),
            with_id(1_002, None, 10_800),
        ])
        .unwrap();
    assert_eq!((st.packets, st.duplicates), (2, 0));
    assert_eq!(s.archived(None, 0, i64::MAX).unwrap().len(), 5);
    let state = &s.device_states().unwrap()[0];
    assert_eq!((state.packets, state.values), (5, 5));
    assert_eq!(all(&*s, &ValueFilter::default()).len(), 4);
}

/// Two writers (nodes) get the same messages at the same moment (a redelivery while the first
/// writer was still committing): each message is stored by exactly one of them.
fn two_writers_committing_the_same_messages_store_them_once(b: &Backend) {
    const ROUNDS: usize = 8;
    const PER: usize = 20;
    let barrier = Arc::new(Barrier::new(2));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let mut s = b.open();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut stored = 0;
                for r in 0..ROUNDS {
                    // the two writers see the round's messages in opposite orders
                    let mut batch: Vec<IntakePacket> = (0..PER)
                        .map(|i| {
                            let t = 3600 * (r * PER + i) as i64;
                            IntakePacket {
                                bus_id: Some(format!("gw:1:1:{r}-{i}")),
                                ..packet(t, vec![value("S1", "w01018", t, "1.5")])
                            }
                        })
                        .collect();
                    if w == 1 {
                        batch.reverse();
                    }
                    barrier.wait();
                    let st = s.commit(&batch).unwrap();
                    assert_eq!(st.packets + st.duplicates, PER as u64);
                    stored += st.packets;
                }
                stored
            })
        })
        .collect();
    let stored: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(stored, (ROUNDS * PER) as u64);
    let s = b.open();
    assert_eq!(s.archived(None, 0, i64::MAX).unwrap().len(), ROUNDS * PER);
    assert_eq!(s.device_states().unwrap()[0].packets, (ROUNDS * PER) as u64);
}

// ---- backend specifics ----

/// PostgreSQL: one partition per UTC month written, named after it.
#[test]
fn postgres_partitions_per_month() {
    let b = Backend::pg();
    let mut s = b.open();
    s.commit(&[packet(
        1,
        vec![
            value("S", "a", utc(2026, 1, 31, 23), "1"),
            value("S", "a", utc(2026, 2, 1, 0), "1"),
            value("S", "a", -1, "1"),
        ],
    )])
    .unwrap();
    s.commit(&[packet(2, vec![value("S", "a", utc(2027, 12, 1, 0), "1")])])
        .unwrap();
    let Backend::Pg(db) = &b else { unreachable!() };
    let mut c = ::postgres::Client::connect(db.url(), ::postgres::NoTls).unwrap();
    let parts: Vec<String> = c
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'measurements'::regclass AND c.relkind = 'r' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for want in [
        "measurements_196912",
        "measurements_202601",
        "measurements_202602",
        "measurements_202712",
    ] {
        assert!(parts.contains(&want.to_string()), "{want} in {parts:?}");
    }
    // each value sits in the partition of its month
    let n: i64 = c
        .query_one("SELECT count(*) FROM measurements_202602", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

/// PostgreSQL text cannot hold NUL: the commit says which packet and field, stores nothing of
/// the batch, and the store goes on.
#[test]
fn postgres_refuses_nul_text_clearly() {
    let b = Backend::pg();
    let mut s = b.open();
    let mut bad = value("S", "a21026", 0, "1");
    bad.text = "1\0".into();
    let good = value("S", "a21004", 0, "2");
    let err = s
        .commit(&[packet(7, vec![good.clone(), bad])])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("MN \"MN1\"") && err.contains("text of value a21026"),
        "{err}"
    );
    assert!(err.contains("NUL"), "{err}");
    assert!(all(&*s, &ValueFilter::default()).is_empty());
    assert!(s.device_states().unwrap().is_empty());
    s.commit(&[packet(8, vec![good])]).unwrap();
    assert_eq!(all(&*s, &ValueFilter::default()).len(), 1);
}

/// PostgreSQL errors carry the server's message, not just "db error".
#[test]
fn postgres_errors_say_what_the_server_said() {
    let b = Backend::pg();
    let mut s = b.open();
    b.break_commits();
    let err = s.commit(&[packet(1, vec![])]).unwrap_err().to_string();
    assert!(
        err.contains("injected fault") && err.contains("P0001"),
        "{err}"
    );
}

/// PostgreSQL streams values on the store's one connection: calling the same store from inside
/// the callback is a clear error (SQLite allows it), not a panic; the store goes on afterwards.
#[test]
fn postgres_reentrant_call_is_a_clear_error() {
    let b = Backend::pg();
    let mut s = b.open();
    s.commit(&[packet(1, vec![value("S", "a", 0, "1")])])
        .unwrap();
    let s: &dyn Store = &*s;
    let mut inner = None;
    s.for_each_value(&ValueFilter::default(), &mut |_| {
        inner = Some(s.watermark("w"));
        Ok(())
    })
    .unwrap();
    let err = inner.unwrap().unwrap_err().to_string();
    assert!(err.contains("for_each_value callback"), "{err}");
    assert_eq!(s.watermark("w").unwrap(), None);
}
