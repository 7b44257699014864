//! The embedded store's guarantees, tested through the `Store` trait.

use model::{Device, DeviceKind, Measurement, Period};
use store::{CommandAnswer, IntakePacket, SqliteStore, Store, ValueFilter};

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
    }
}

fn all(store: &SqliteStore, filter: &ValueFilter) -> Vec<Measurement> {
    let mut out = Vec::new();
    store
        .for_each_value(filter, &mut |m| {
            out.push(m.clone());
            Ok(())
        })
        .unwrap();
    out
}

#[test]
fn devices_round_trip_and_update() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open(dir.path()).unwrap();
    let mut d = device("MN1", "ENT-01");
    s.put_device(&d).unwrap();
    assert_eq!(s.device("MN1").unwrap().unwrap(), d);
    d.pw = "654321".into();
    s.put_device(&d).unwrap();
    assert_eq!(s.devices().unwrap(), vec![d]);
    assert!(s.remove_device("MN1").unwrap());
    assert!(!s.remove_device("MN1").unwrap());
    assert!(s.device("MN1").unwrap().is_none());
}

/// DESIGN.md "Idempotent storage": a resend replaces, never double-counts.
#[test]
fn resend_does_not_double_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open(dir.path()).unwrap();
    let p = packet(
        1000,
        vec![
            value("S", "w01018", 3600, "50.0"),
            value("S", "w21003", 3600, "1.5"),
        ],
    );
    s.commit(&[p.clone(), p.clone()]).unwrap();
    s.commit(&[p]).unwrap();
    let mut fix = packet(2000, vec![value("S", "w01018", 3600, "51.25")]);
    fix.deviations.clear();
    s.commit(&[fix]).unwrap();
    let got = all(&s, &ValueFilter::default());
    assert_eq!(got.len(), 2);
    let cod = got.iter().find(|m| m.code == "w01018").unwrap();
    assert_eq!(cod.text, "51.25");
    let st = &s.device_states().unwrap()[0];
    assert_eq!(st.packets, 4);
    assert_eq!(st.values, 7, "values received, resends included");
    assert_eq!(st.deviations["crc_modbus"], 3);
    assert_eq!(st.last_seen_ms, Some(2000));
    // the archive keeps every packet received, including resends
    assert_eq!(s.archived(None, 0, i64::MAX).unwrap().len(), 4);
}

#[test]
fn filters_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = SqliteStore::open(dir.path()).unwrap();
        let vals = (0..24)
            .map(|h| value("S", "w01018", h * 3600, "1.0"))
            .collect();
        s.commit(&[packet(5, vals)]).unwrap();
    }
    let s = SqliteStore::open(dir.path()).unwrap();
    let f = ValueFilter {
        from: Some(3600),
        to: Some(7200),
        ..Default::default()
    };
    assert_eq!(all(&s, &f).len(), 1);
    let f = ValueFilter {
        mn: Some("other".into()),
        ..Default::default()
    };
    assert!(all(&s, &f).is_empty());
    let f = ValueFilter {
        period: Some(Period::Day),
        ..Default::default()
    };
    assert!(all(&s, &f).is_empty());
    assert_eq!(all(&s, &ValueFilter::default()).len(), 24);
}

#[test]
fn commands_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open(dir.path()).unwrap();
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
}

#[test]
fn archive_retention() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open(dir.path()).unwrap();
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
