//! What a device is due to send, as a user meets it on the command line (issue 11, items 1
//! and 4): `qingshan report quality --at …` mid-day and for a device commissioned mid-month,
//! `qingshan report sources --at …` for the restaurants' 在线率, and `qingshan alarm scan
//! --at …` for restaurants closed at night. docs/engine-quality.md "What is due".

use std::path::Path;
use std::process::{Command, Output};

use model::{Measurement, Period};
use store::{IntakePacket, SqliteStore, Store};

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qingshan"))
        .args(args)
        .arg("--data")
        .arg(dir)
        .output()
        .unwrap()
}

fn ok_json(o: Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn t(s: &str) -> i64 {
    model::parse_user_time(s).unwrap()
}

fn add(dir: &Path, mn: &str, site: &str, kind: &str, registered: &str) {
    let o = run(
        dir,
        &[
            "device",
            "add",
            "--mn",
            mn,
            "--pw",
            "123456",
            "--site",
            site,
            "--kind",
            kind,
            "--registered",
            registered,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn value(
    mn: &str,
    site: &str,
    code: &str,
    field: &str,
    p: Period,
    time: i64,
    v: f64,
) -> Measurement {
    Measurement {
        site: site.into(),
        code: code.into(),
        field: field.into(),
        period: p,
        time,
        value: v,
        text: v.to_string(),
        flag: Some("N".into()),
        eflag: None,
        mn: mn.into(),
    }
}

/// Each value in its own packet, received when its interval has ended.
fn send(dir: &Path, mn: &str, values: Vec<Measurement>, len: i64) {
    let mut s = SqliteStore::open(dir).unwrap();
    let mut by_time: std::collections::BTreeMap<i64, Vec<Measurement>> = Default::default();
    for v in values {
        by_time.entry(v.time).or_default().push(v);
    }
    let batch: Vec<IntakePacket> = by_time
        .into_iter()
        .map(|(time, values)| IntakePacket {
            received_ms: (time + len) * 1000 + 30_000,
            mn: mn.into(),
            cn: if len == 3600 { "2061" } else { "2051" }.into(),
            values,
            ..IntakePacket::default()
        })
        .collect();
    s.commit(&batch).unwrap();
}

/// Hour values of PM2.5 at `site` for the hours `[from, to)`.
fn hours(mn: &str, site: &str, from: i64, to: i64) -> Vec<Measurement> {
    (0..(to - from) / 3600)
        .map(|i| {
            let v = 30.0 + (i % 7) as f64;
            value(mn, site, "a34004", "Avg", Period::Hour, from + i * 3600, v)
        })
        .collect()
}

fn device<'a>(rep: &'a serde_json::Value, mn: &str) -> &'a serde_json::Value {
    rep["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["mn"] == mn)
        .unwrap_or_else(|| panic!("{mn} not in {rep}"))
}

/// AIR-01's new analyser, commissioned 2026-11-04 10:00, sends every hour from then on. At
/// 2026-11-05 11:22 November owes 14 hours on 11-04 (10–23) and 11 on 11-05 (0–10; 11:00–12:00
/// has not ended) = 25; all 25 received → 传输率 = 有效率 = 传输有效率 = 1.0, 达标. The year to
/// date owes the same 25 (before: 0.2083 for the month, 25 / 7 440 for the year). A second
/// analyser at AIR-02, commissioned at the same time, silent from 11-05 05:00: 14 + 5 = 19
/// of 25 → 0.76.
#[test]
fn report_quality_counts_only_hours_due() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    add(d, "MN-AIR-01", "AIR-01", "air", "2026-11-04T10:00");
    add(d, "MN-AIR-02", "AIR-02", "air", "2026-11-04T10:00");
    send(
        d,
        "MN-AIR-01",
        hours(
            "MN-AIR-01",
            "AIR-01",
            t("2026-11-04T10:00"),
            t("2026-11-05T11:00"),
        ),
        3600,
    );
    send(
        d,
        "MN-AIR-02",
        hours(
            "MN-AIR-02",
            "AIR-02",
            t("2026-11-04T10:00"),
            t("2026-11-05T05:00"),
        ),
        3600,
    );
    let at = ["--at", "2026-11-05T11:22"];
    let month = ok_json(run(
        d,
        &[
            "report", "quality", "--year", "2026", "--month", "11", at[0], at[1],
        ],
    ));
    let a = device(&month, "MN-AIR-01");
    assert_eq!(
        (a["expected"].as_i64(), a["received"].as_i64()),
        (Some(25), Some(25)),
        "{a}"
    );
    assert_eq!(a["effective_rate"], 1.0);
    assert_eq!(a["meets_threshold"], true);
    assert_eq!(month["as_of"], "2026-11-05T11:22:00+08:00");
    let b = device(&month, "MN-AIR-02");
    assert_eq!(
        (b["expected"].as_i64(), b["received"].as_i64()),
        (Some(25), Some(19)),
        "{b}"
    );
    assert_eq!(b["transmission_rate"], 0.76);
    let year = ok_json(run(
        d,
        &["report", "quality", "--year", "2026", at[0], at[1]],
    ));
    let a = device(&year, "MN-AIR-01");
    assert_eq!(
        (a["expected"].as_i64(), a["effective_rate"].as_f64()),
        (Some(25), Some(1.0))
    );
    // `--today` keeps its meaning: the whole of that day is due.
    let whole = ok_json(run(
        d,
        &[
            "report",
            "quality",
            "--year",
            "2026",
            "--month",
            "11",
            "--today",
            "2026-11-05",
        ],
    ));
    assert_eq!(device(&whole, "MN-AIR-01")["expected"], 14 + 24);
}

/// Restaurant FUME-0001's monitor, commissioned 2026-11-15 10:00, sends minute data every
/// 10 min in its opening hours (10:00–22:00). At 11-16 11:22 November owes 72 intervals on
/// 11-15 and 8 on 11-16 (10:00 … 11:10; the last one sent at 11:20) = 80, all with data →
/// 在线率 100.0 % (before: 72 + 72 expected → 55.6 %).
#[test]
fn report_sources_online_rate_counts_only_intervals_due() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    add(d, "MN-F1", "FUME-0001", "fume", "2026-11-15T10:00");
    let mut v = Vec::new();
    let reading = |v: &mut Vec<Measurement>, time: i64| {
        v.push(value(
            "MN-F1",
            "FUME-0001",
            "a34041",
            "Avg",
            Period::Min,
            time,
            0.5,
        ));
        v.push(value(
            "MN-F1",
            "FUME-0001",
            "SB1",
            "RS",
            Period::Min,
            time,
            1.0,
        ));
        v.push(value(
            "MN-F1",
            "FUME-0001",
            "SB2",
            "RS",
            Period::Min,
            time,
            1.0,
        ));
    };
    for i in 0..72 {
        reading(&mut v, t("2026-11-15T10:00") + i * 600);
    }
    for i in 0..8 {
        reading(&mut v, t("2026-11-16T10:00") + i * 600);
    }
    send(d, "MN-F1", v, 600);
    let rep = ok_json(run(
        d,
        &[
            "report",
            "sources",
            "--year",
            "2026",
            "--month",
            "11",
            "--at",
            "2026-11-16T11:22",
        ],
    ));
    let r = rep["fume"]["restaurants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["site"] == "FUME-0001")
        .unwrap();
    assert_eq!(r["online_rate"], 100.0, "{r}");
}

/// Restaurants close 22:00–10:00 (default opening hours); registered without an interval they
/// report hourly (offline after 2 h owed = 2 missed hourly intervals). FUME-0001 sent until
/// 22:00: no offline alarm at 23:30, nor at 11:30 the next day (1.5 h owed). FUME-0002 fell
/// silent at 21:00: at 23:30 it owes 1 h — not offline; at 11:30 it has missed 21:00–22:00
/// and 10:00–11:00 (2.5 h owed) → offline. AIR-01, silent since 22:00, owes every hour: at
/// 23:30 1.5 h (not yet), at 11:30 13.5 h → offline.
#[test]
fn alarm_scan_restaurants_closed_at_night_are_not_offline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    add(d, "MN-F1", "FUME-0001", "fume", "2026-11-01T10:00");
    add(d, "MN-F2", "FUME-0002", "fume", "2026-11-01T10:00");
    add(d, "MN-A1", "AIR-01", "air", "2026-11-01T10:00");
    {
        let mut s = SqliteStore::open(d).unwrap();
        let p = |mn: &str, at: &str| IntakePacket {
            received_ms: t(at) * 1000,
            mn: mn.into(),
            cn: "2011".into(),
            ..IntakePacket::default()
        };
        s.commit(&[
            p("MN-F1", "2026-11-04T22:00"),
            p("MN-F2", "2026-11-04T21:00"),
            p("MN-A1", "2026-11-04T22:00"),
        ])
        .unwrap();
    }
    let offline = |d: &Path| -> Vec<String> {
        let list = ok_json(run(d, &["alarm", "list", "--rule", "offline"]));
        let mut s: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["site"].as_str().unwrap().to_string())
            .collect();
        s.sort();
        s
    };
    let scan = ok_json(run(d, &["alarm", "scan", "--at", "2026-11-04T23:30"]));
    assert_eq!(scan["offline_sites"], 0, "{scan}");
    assert!(offline(d).is_empty());
    let scan = ok_json(run(d, &["alarm", "scan", "--at", "2026-11-05T11:30"]));
    assert_eq!(scan["offline_sites"], 2, "{scan}");
    assert_eq!(offline(d), vec!["AIR-01", "FUME-0002"]);
    let list = ok_json(run(
        d,
        &["alarm", "list", "--rule", "offline", "--site", "FUME-0002"],
    ));
    let detail = list[0]["detail"].as_str().unwrap();
    assert!(detail.contains("应报时段内已 150 分钟无数据"), "{detail}");
}
