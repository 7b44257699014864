//! `qingshan migrate --data DIR --to postgres://…`: an embedded installation moves into
//! PostgreSQL whole — values (audited and raw), devices, accounts and the audit log, audit
//! marks, indicator entries — and the platform carries on there (new ids after the copied
//! ones); a database that already holds data is refused.

use std::process::Command;

use model::{Device, DeviceKind, Measurement, Period};
use store::accounts::{AccountStore, NewUser};
use store::indicators::{EntryKind, IndicatorEntry, IndicatorStore};
use store::quality::{MarkState, QualityStore, ValueKey};
use store::{IntakePacket, SqliteStore, Store};

const BIN: &str = env!("CARGO_BIN_EXE_qingshan");

fn run(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(BIN)
        .args(args)
        .env_remove("QINGSHAN_STORE")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

fn value(mn: &str, site: &str, time: i64, v: f64) -> Measurement {
    Measurement {
        mn: mn.into(),
        site: site.into(),
        code: "w01018".into(),
        field: "Avg".into(),
        period: Period::Hour,
        time,
        value: v,
        text: format!("{v}"),
        flag: Some("N".into()),
        eflag: None,
    }
}

/// A data folder with values in three months, two devices, a user with an audit entry, an
/// audit mark and an indicator entry.
fn fill(dir: &std::path::Path) {
    let mut s = SqliteStore::open(dir).unwrap();
    for (mn, site) in [
        ("MIG0000000000000000000001", "S-1"),
        ("MIG0000000000000000000002", "S-2"),
    ] {
        s.put_device(&Device::new(mn, "123456", site, DeviceKind::Wastewater))
            .unwrap();
    }
    // 2026-01-31 23:00, 2026-02-15, 2026-03-01 UTC: three monthly partitions.
    let times = [1_769_900_400_i64, 1_771_117_200, 1_772_323_200];
    let mut batch = Vec::new();
    for (i, t) in times.iter().enumerate() {
        for (mn, site) in [
            ("MIG0000000000000000000001", "S-1"),
            ("MIG0000000000000000000002", "S-2"),
        ] {
            batch.push(IntakePacket {
                received_ms: t * 1000 + 5_000,
                mn: mn.into(),
                cn: "2061".into(),
                peer: "127.0.0.1:5000".into(),
                raw: format!("##raw {mn} {i}").into_bytes(),
                values: vec![value(mn, site, *t, 10.0 + i as f64)],
                ..Default::default()
            });
        }
    }
    s.commit(&batch).unwrap();
    let u = s
        .create_user(
            &NewUser {
                name: "li".into(),
                display: "李工".into(),
                role: "monitoring".into(),
                scope: None,
                pw_hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
            },
            1_772_323_200_000,
        )
        .unwrap();
    s.append_audit(
        1_772_323_200_000,
        "admin",
        "user.add",
        &format!("user:{}", u.id),
        None,
        Some(&serde_json::json!({"name": "li"})),
        "cli",
    )
    .unwrap();
    s.mark_value(
        &ValueKey {
            site: "S-1".into(),
            code: "w01018".into(),
            field: "Avg".into(),
            period: Period::Hour,
            time: times[1],
        },
        MarkState::Invalid,
        "仪器校准期间数据",
        "li",
        1_772_323_300_000,
    )
    .unwrap();
    s.add_indicator_entry(&IndicatorEntry {
        id: 0,
        code: "I10".into(),
        year: 2025,
        kind: EntryKind::Value,
        value: 42.0,
        source: "统计年鉴".into(),
        evidence: String::new(),
        entered_by: "li".into(),
        entered_ms: 1_772_323_400_000,
    })
    .unwrap();
}

#[test]
fn an_embedded_installation_moves_into_postgres_whole() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fill(&data);
    let d = data.to_str().unwrap();
    let db = store::pg::TempDb::new().unwrap();
    let url = db.url();

    let (ok, out, err) = run(&["migrate", "--data", d, "--to", url]);
    assert!(ok, "migrate failed: {err}");
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let rows = |t: &str| {
        summary["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["table"] == t)
            .map(|x| x["rows"].as_u64().unwrap())
    };
    assert_eq!(rows("measurements"), Some(6), "{summary}");
    assert_eq!(rows("devices"), Some(2));
    assert_eq!(rows("users"), Some(1));
    assert_eq!(rows("quality_marks"), Some(1));
    assert_eq!(rows("indicator_entries"), Some(1));
    assert!(
        err.contains("measurements"),
        "progress per table on stderr: {err}"
    );

    // The same answers from both stores: the export, devices, indicator entries.
    for args in [
        vec!["export"],
        vec!["device", "list", "--json"],
        vec!["indicator", "list"],
    ] {
        let mut a = args.clone();
        a.extend(["--data", d]);
        let (ok1, from_sqlite, e1) = run(&a);
        let mut b = args.clone();
        b.extend(["--store", url]);
        let (ok2, from_pg, e2) = run(&b);
        assert!(ok1 && ok2, "{args:?}: {e1} {e2}");
        assert!(!from_sqlite.trim().is_empty(), "{args:?} printed nothing");
        assert_eq!(from_sqlite, from_pg, "{args:?} differs after migrate");
    }

    // The platform carries on in PostgreSQL: a new user gets an id after the copied one and the
    // append-only audit log keeps its history.
    let mut pg = store::PgStore::connect(url).unwrap();
    // The audit mark came along: the audited view leaves the marked value out.
    let count = |raw: bool| {
        let mut n = 0;
        let f = store::ValueFilter {
            raw,
            ..Default::default()
        };
        pg.for_each_value(&f, &mut |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
        n
    };
    assert_eq!((count(true), count(false)), (6, 5));
    let u = pg
        .create_user(
            &NewUser {
                name: "wang".into(),
                display: "王工".into(),
                role: "enforcement".into(),
                scope: None,
                pw_hash: "x".into(),
            },
            1_772_400_000_000,
        )
        .unwrap();
    assert_eq!(u.id, 2);
    let (audit, total) = pg.audit(0, 10).unwrap();
    assert_eq!(total, 1);
    assert_eq!(audit[0].action, "user.add");
    drop(pg);

    // Running it again is refused: the database is no longer empty.
    let (ok, _, err) = run(&["migrate", "--data", d, "--to", url]);
    assert!(!ok);
    assert!(err.contains("already holds rows"), "{err}");

    // A folder without data is refused with what to do.
    let empty = dir.path().join("nothing");
    let (ok, _, err) = run(&["migrate", "--data", empty.to_str().unwrap(), "--to", url]);
    assert!(!ok);
    assert!(err.contains("holds no qingshan data"), "{err}");
}
