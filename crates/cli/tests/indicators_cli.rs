//! `qingshan indicator set` and `qingshan report indicators`: computed (good days from the air
//! engine), entered (forest cover) and assigned-target indicators; the JSON contract.

use std::process::Command;

use model::{Measurement, Period};
use store::{IntakePacket, SqliteStore, Store};

const BIN: &str = env!("CARGO_BIN_EXE_qingshan");

fn qingshan(args: &[&str], data: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap()
}

/// Two Beijing days of 2025 at both urban stations: PM2.5 40 µg/m³ (HJ 633-2012 IAQI 57, 良:
/// a good day) and 160 (IAQI 210, 重度污染: not good). Indicator 6 (优良天数) for 2025 = 1 day
/// of 2 valid; its target ≥ 330 is missed in the target year.
#[test]
fn indicators_report_computed_entered_and_assigned() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = SqliteStore::open(dir.path()).unwrap();
        let mut values = Vec::new();
        // 2025-07-01T00:00+08:00
        let day0 = 1_751_299_200;
        for site in ["AIR-01", "AIR-02"] {
            for (d, v) in [(0, 40.0), (1, 160.0)] {
                for h in 0..24 {
                    values.push(Measurement {
                        site: site.into(),
                        code: "a34004".into(),
                        field: "Avg".into(),
                        period: Period::Hour,
                        time: day0 + 86_400 * d + 3600 * h,
                        value: v,
                        text: v.to_string(),
                        flag: Some("N".into()),
                        eflag: None,
                        mn: "MN".into(),
                    });
                }
            }
        }
        s.commit(&[IntakePacket {
            received_ms: 1,
            mn: "MN".into(),
            cn: "2061".into(),
            values,
            ..IntakePacket::default()
        }])
        .unwrap();
    }
    let data = dir.path();
    let ok = |o: std::process::Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o
    };
    ok(qingshan(
        &[
            "indicator",
            "set",
            "--code",
            "I03",
            "--year",
            "2023",
            "--value",
            "46.5",
            "--source",
            "县林业局 2023 年森林资源年报",
            "--evidence",
            "垫林发〔2024〕3号",
            "--by",
            "planning",
        ],
        data,
    ));
    ok(qingshan(
        &[
            "indicator",
            "set",
            "--code",
            "I04",
            "--year",
            "2025",
            "--value",
            "18",
            "--target",
            "--source",
            "市生态环境局下达",
            "--by",
            "planning",
        ],
        data,
    ));
    // a bad entry is refused with what and where, and nothing is recorded
    let bad = qingshan(
        &[
            "indicator",
            "set",
            "--code",
            "I99",
            "--year",
            "2023",
            "--value",
            "1",
            "--source",
            "x",
            "--by",
            "p",
        ],
        data,
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--code I99"));
    let list = ok(qingshan(&["indicator", "list"], data));
    assert_eq!(String::from_utf8_lossy(&list.stdout).lines().count(), 2);

    let out = ok(qingshan(
        &["report", "indicators", "--year", "2025", "--format", "json"],
        data,
    ));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = j.as_array().unwrap();
    assert_eq!(list.len(), 15, "专栏二 has 15 indicators");
    let by = |code: &str| list.iter().find(|i| i["code"] == code).unwrap().clone();
    for i in list {
        for key in ["code", "name", "unit", "target", "values", "status"] {
            assert!(i.get(key).is_some(), "{} lacks {key}", i["code"]);
        }
    }
    let good = by("I06");
    assert_eq!(good["values"]["2020"], 350.0, "专栏二 2020 value");
    assert_eq!(good["values"]["2025"], 1.0);
    assert_eq!(good["target"]["value"], 330.0);
    assert_eq!(good["target"]["direction"], ">=");
    assert_eq!(good["status"], "missed");
    assert_eq!(good["trend"], "worsening");
    let forest = by("I03");
    assert_eq!(forest["values"]["2023"], 46.5);
    assert_eq!(forest["years"][1]["evidence"], "垫林发〔2024〕3号");
    assert_eq!(forest["status"], "no_data", "no 2025 figure entered yet");
    let co2 = by("I04");
    assert_eq!(co2["target"]["value"], 18.0);
    assert_eq!(co2["target"]["text"], "市级下达");
    assert_eq!(by("I05")["status"], "target_pending");

    let out = ok(qingshan(
        &["report", "indicators", "--year", "2023", "--format", "json"],
        data,
    ));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let forest = j
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["code"] == "I03")
        .unwrap()
        .clone();
    assert_eq!(
        forest["status"], "on_track",
        "46.5 ≥ 46 before the target year"
    );

    let out = ok(qingshan(
        &["report", "indicators", "--year", "2025", "--format", "csv"],
        data,
    ));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text
        .lines()
        .next()
        .unwrap()
        .starts_with("code,name,unit,type,target,direction,status,trend,2020"));
    assert_eq!(text.lines().count(), 16);
}
