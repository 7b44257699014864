//! `qingshan report air-hours` on a data folder filled without the engine: catch-up, JSON and
//! CSV, fixed rules, errors.

use std::process::Command;

use model::{Measurement, Period};
use store::{IntakePacket, SqliteStore, Store};

fn m(site: &str, period: Period, time: i64, v: f64) -> Measurement {
    Measurement {
        site: site.into(),
        code: "a34004".into(),
        field: if period == Period::Rtd { "Rtd" } else { "Avg" }.into(),
        period,
        time,
        value: v,
        text: v.to_string(),
        flag: Some("N".into()),
        eflag: None,
        mn: "MN".into(),
    }
}

/// Beijing 2026-03-01 00:00 = 2026-02-28T16:00Z (HJ 633-2026 in force). AIR-01 sends a 2061
/// hour of PM2.5 75; AIR-02 only 10-min 2051 records of 55 (6 × 10 min ≥ 45 → 55). County
/// (both urban) = 65. HJ 633-2026 §4.2.3: PM2.5 1-h on the 24-h table (60→100, 115→150):
/// AIR-01 100 + 50 × 15/55 = 113.6 → 114; county 100 + 50 × 5/55 = 104.5 → 105. Under a fixed
/// HJ 633-2012 the PM2.5 1-h is concentration only and the 24-h moving average has 1 hour < 20:
/// no AQI.
#[test]
fn report_air_hours_json_csv_fixed_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let t = 1_772_294_400; // 2026-02-28T16:00:00Z
    {
        let mut s = SqliteStore::open(dir.path()).unwrap();
        let mut values = vec![m("AIR-01", Period::Hour, t, 75.0)];
        values.extend((0..6).map(|k| m("AIR-02", Period::Min, t + 600 * k, 55.0)));
        s.commit(&[IntakePacket {
            received_ms: 1,
            mn: "MN".into(),
            cn: "2061".into(),
            values,
            ..IntakePacket::default()
        }])
        .unwrap();
    }
    let bin = env!("CARGO_BIN_EXE_qingshan");
    let run = |args: &[&str]| {
        Command::new(bin)
            .args(["report", "air-hours", "--data"])
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--from", "2026-03-01", "--to", "2026-03-01"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["report"], "air_hours");
    assert_eq!(j["rules"], "by_date");
    let hours = j["hours"].as_array().unwrap();
    let by_site = |s: &str| hours.iter().find(|h| h["site"] == s).unwrap().clone();
    let a1 = by_site("AIR-01");
    assert_eq!(a1["hour"], "2026-03-01T00:00:00+08:00");
    assert_eq!(a1["rules"], "HJ633-2026");
    assert_eq!(a1["aqi"], 114);
    assert_eq!(a1["primary"][0], "PM25_1H");
    let a2 = by_site("AIR-02");
    assert_eq!(a2["sources"]["PM2.5"], "minutes");
    assert_eq!(a2["minutes"]["PM2.5"]["valid_minutes"], 60);
    assert_eq!(a2["concentrations"]["PM25_1H"], 55.0);
    let c = by_site("_county");
    assert_eq!(c["concentrations"]["PM25_1H"], 65.0);
    assert_eq!(c["aqi"], 105);

    let out = run(&[
        "--site",
        "_county",
        "--from",
        "2026-03-01T00:00",
        "--to",
        "2026-03-01T01:00",
        "--format",
        "csv",
        "--standard",
        "HJ633-2012",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("site,hour,rules,aqi,level,category,primary,PM25_1H"));
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[1].starts_with("_county,2026-03-01T00:00:00+08:00,HJ633-2012,,,,,65,"),
        "{}",
        lines[1]
    );

    let out = run(&[
        "--site",
        "AIR-99",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-02",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("AIR-99"));
    let out = run(&["--from", "yesterday", "--to", "2026-03-02"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from \"yesterday\""));
}
