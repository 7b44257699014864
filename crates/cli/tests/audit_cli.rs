//! `qingshan audit mark|unmark|trail` and `qingshan report quality` on a data folder.

use std::path::Path;
use std::process::{Command, Output};

use model::{Measurement, Period};
use store::{IntakePacket, SqliteStore, Store};

/// Beijing 2025-07-01 00:00 = 2025-06-30T16:00Z.
const T0: i64 = 1_751_299_200;

fn fill(dir: &Path) {
    let mut s = SqliteStore::open(dir).unwrap();
    // AIR-01 PM2.5: 20 hours (00–19) of varying N values, hours 20–23 missing.
    let values = (0..20)
        .map(|h| Measurement {
            site: "AIR-01".into(),
            code: "a34004".into(),
            field: "Avg".into(),
            period: Period::Hour,
            time: T0 + 3600 * h,
            value: (30 + h % 3) as f64,
            text: (30 + h % 3).to_string(),
            flag: Some("N".into()),
            eflag: None,
            mn: "MN-AIR-01".into(),
        })
        .collect();
    s.commit(&[IntakePacket {
        received_ms: (T0 + 86_400) * 1000,
        mn: "MN-AIR-01".into(),
        cn: "2061".into(),
        values,
        ..IntakePacket::default()
    }])
    .unwrap();
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qingshan"))
        .args(args)
        .arg("--data")
        .arg(dir)
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

const VALUE: [&str; 10] = [
    "--site",
    "AIR-01",
    "--code",
    "a34004",
    "--field",
    "Avg",
    "--period",
    "hour",
    "--time",
    "2025-07-01T05:00",
];

fn with<'a>(head: &[&'a str], tail: &[&'a str]) -> Vec<&'a str> {
    head.iter()
        .chain(VALUE.iter())
        .chain(tail)
        .copied()
        .collect()
}

/// Marking hour 05 invalid leaves 19 valid hours: no PM2.5 daily mean any more (GB 3095
/// Table 4: ≥ 20 hours); the export (raw view) still has all 20 values; the trail shows the
/// mark and the unmark with who and why. Quality: 20 of 24 hours received (0.8333), 19 valid
/// of 20 (0.95) → effective 19/24 = 0.7917 < 0.9.
#[test]
fn mark_trail_and_quality_report() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path());
    let d = dir.path();
    let air = |d: &Path| -> serde_json::Value {
        serde_json::from_str(&ok(&run(
            d,
            &["report", "air", "--year", "2025", "--month", "7"],
        )))
        .unwrap()
    };
    let st = |j: &serde_json::Value| {
        j["stations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["site"] == "AIR-01")
            .unwrap()["daily"][0]["aqi"]
            .clone()
    };
    assert!(st(&air(d)).is_number());

    let out = ok(&run(
        d,
        &with(
            &["audit", "mark"],
            &["--invalid", "--reason", "停电恢复后异常", "--by", "zhang"],
        ),
    ));
    let j: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(j["action"], "mark");
    assert_eq!(j["after"], "invalid");
    assert_eq!(j["time"], "2025-07-01T05:00:00+08:00");
    // The day lost its valid PM2.5 mean (19 hours): the station's daily AQI is NA.
    let rep = air(d);
    assert!(st(&rep).is_null(), "{rep}");

    let exported = ok(&run(d, &["export", "--site", "AIR-01"]));
    assert_eq!(exported.lines().count(), 20, "export is the raw view");

    let q: serde_json::Value = serde_json::from_str(&ok(&run(
        d,
        &[
            "report",
            "quality",
            "--year",
            "2025",
            "--month",
            "7",
            "--today",
            "2025-07-01",
        ],
    )))
    .unwrap();
    let dev = &q["devices"][0];
    assert_eq!(dev["mn"], "MN-AIR-01");
    assert_eq!(dev["expected"], 24);
    assert_eq!(dev["received"], 20);
    assert_eq!(dev["valid"], 19);
    assert_eq!(dev["transmission_rate"], 0.8333);
    assert_eq!(dev["validity_rate"], 0.95);
    assert_eq!(dev["effective_rate"], 0.7917);
    assert_eq!(dev["meets_threshold"], false);
    assert_eq!(dev["marked_invalid"], 1);
    assert_eq!(dev["days"][0]["period"], "2025-07-01");
    assert_eq!(dev["findings"]["missing"], 1);

    let csv = ok(&run(
        d,
        &[
            "report",
            "quality",
            "--year",
            "2025",
            "--format",
            "csv",
            "--today",
            "2025-07-01",
        ],
    ));
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("mn,site,period,expected"));
    assert!(lines.contains(&"MN-AIR-01,AIR-01,2025-07,24,20,19,0.8333,0.95,0.7917,false"));

    ok(&run(
        d,
        &with(
            &["audit", "unmark"],
            &["--reason", "复核无误", "--by", "li"],
        ),
    ));
    assert!(st(&air(d)).is_number(), "unmarked: the day is back");

    let trail = ok(&run(d, &["audit", "trail", "--site", "AIR-01"]));
    let t: Vec<serde_json::Value> = trail
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(t.len(), 2);
    assert_eq!(
        (
            &t[0]["by"],
            &t[0]["before"],
            &t[0]["after"],
            &t[0]["reason"]
        ),
        (
            &"zhang".into(),
            &"none".into(),
            &"invalid".into(),
            &"停电恢复后异常".into()
        )
    );
    assert_eq!(
        (&t[1]["action"], &t[1]["by"]),
        (&"unmark".into(), &"li".into())
    );
    assert!(t[1]["at"].as_str().unwrap().ends_with("+08:00"));
    let csv = ok(&run(d, &["audit", "trail", "--format", "csv"]));
    assert_eq!(csv.lines().count(), 3);
    assert!(csv.starts_with("id,at,by,action,before,after,reason"));
}

#[test]
fn refused_marks() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path());
    let d = dir.path();
    // No reason.
    let o = run(
        d,
        &with(&["audit", "mark"], &["--invalid", "--by", "zhang"]),
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--reason"));
    // A value that does not exist (hour 21 was never received).
    let mut args = with(
        &["audit", "mark"],
        &["--invalid", "--reason", "x", "--by", "zhang"],
    );
    let i = args.iter().position(|a| *a == "2025-07-01T05:00").unwrap();
    args[i] = "2025-07-01T21:00";
    let o = run(d, &args);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no stored value") && err.contains("AIR-01"),
        "{err}"
    );
    // Neither --invalid nor --valid.
    let o = run(
        d,
        &with(&["audit", "mark"], &["--reason", "x", "--by", "zhang"]),
    );
    assert!(!o.status.success());
    // Unmark of an unmarked value.
    let o = run(
        d,
        &with(&["audit", "unmark"], &["--reason", "x", "--by", "zhang"]),
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no audit mark"));
    // Nothing reached the trail.
    assert_eq!(ok(&run(d, &["audit", "trail"])).lines().count(), 0);
}
