//! `qingshan alarm …` against a data folder: scan raises an exceedance from stored hour values
//! of a Dianjiang outlet, then the follow-up runs through the CLI.

use std::process::{Command, Output};

use model::{Measurement, Period};
use store::{IntakePacket, SqliteStore, Store};

fn run(dir: &std::path::Path, args: &[&str]) -> Output {
    let mut a: Vec<String> = vec!["alarm".into()];
    a.extend(args.iter().map(|s| s.to_string()));
    a.push("--data".into());
    a.push(dir.display().to_string());
    Command::new(env!("CARGO_BIN_EXE_qingshan"))
        .args(&a)
        .output()
        .unwrap()
}

fn ok_json(o: Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn scan_list_and_follow_up() {
    let dir = tempfile::tempdir().unwrap();
    // 正清玻璃 ENT-ZQBL-01 particulate a34013, permit limit 50 mg/m3 (profiles/dianjiang,
    // GB 26453-2011 Table 2). 2025-07-01 10:00 Beijing, ZsAvg 120 → (120−50)/50 = 1.4 → major.
    let t = model::parse_user_time("2025-07-01T10:00").unwrap();
    {
        let mut s = SqliteStore::open(dir.path()).unwrap();
        s.commit(&[IntakePacket {
            received_ms: t * 1000 + 3_600_000,
            mn: "MN1".into(),
            cn: "2061".into(),
            values: vec![Measurement {
                site: "ENT-ZQBL-01".into(),
                code: "a34013".into(),
                field: "ZsAvg".into(),
                period: Period::Hour,
                time: t,
                value: 120.0,
                text: "120".into(),
                flag: Some("N".into()),
                eflag: None,
                mn: "MN1".into(),
            }],
            ..IntakePacket::default()
        }])
        .unwrap();
    }
    let scan = ok_json(run(dir.path(), &["scan", "--at", "2025-07-01T11:05"]));
    assert_eq!(scan["raised"], 1);
    assert_eq!(scan["open"], 1);
    let list = ok_json(run(dir.path(), &["list"]));
    let a = &list[0];
    assert_eq!(a["rule"], "exceedance");
    assert_eq!(a["site"], "ENT-ZQBL-01");
    assert_eq!(a["pollutant"], "a34013");
    assert_eq!(a["severity"], "major");
    assert_eq!(a["severity_cn"], "严重");
    assert_eq!(a["status"], "new");
    assert_eq!(a["first_seen"], "2025-07-01T10:00:00+08:00");
    assert_eq!(a["peak"], 120.0);
    let id = a["id"].as_i64().unwrap().to_string();
    // A second scan finds nothing new (watermark), no duplicate.
    let scan = ok_json(run(dir.path(), &["scan", "--at", "2025-07-01T11:10"]));
    assert_eq!(scan["raised"], 0);

    // Dispatching a new alarm is refused with a clear error.
    let o = run(
        dir.path(),
        &[
            "dispatch",
            &id,
            "--to",
            "执法支队",
            "--deadline",
            "2025-07-03",
            "--by",
            "王",
            "--at",
            "2025-07-01T12:00",
        ],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot dispatch") && err.contains("新告警"),
        "{err}"
    );

    ok_json(run(
        dir.path(),
        &["ack", &id, "--by", "王", "--at", "2025-07-01T12:00"],
    ));
    let d = ok_json(run(
        dir.path(),
        &[
            "dispatch",
            &id,
            "--to",
            "执法支队",
            "--deadline",
            "2025-07-03",
            "--by",
            "王",
            "--at",
            "2025-07-01T12:05",
        ],
    ));
    assert_eq!(d["status"], "dispatched");
    assert_eq!(d["deadline"], "2025-07-03T00:00:00+08:00");
    // Overdue: a scan after the deadline escalates major → critical.
    let scan = ok_json(run(dir.path(), &["scan", "--at", "2025-07-03T08:00"]));
    assert_eq!(scan["escalated"], 1);
    let h = ok_json(run(
        dir.path(),
        &[
            "handle",
            &id,
            "--result",
            "属实",
            "--cause",
            "布袋破损",
            "--measures",
            "更换布袋",
            "--attachment",
            "现场.jpg",
            "--attachment",
            "整改报告.pdf",
            "--by",
            "执法支队",
            "--at",
            "2025-07-03T09:00",
        ],
    ));
    assert_eq!(h["status"], "handled");
    assert_eq!(h["severity"], "critical");
    assert_eq!(h["overdue"], true);
    assert_eq!(h["handling"]["attachments"][1], "整改报告.pdf");
    let c = ok_json(run(
        dir.path(),
        &["close", &id, "--by", "科长", "--at", "2025-07-03T10:00"],
    ));
    assert_eq!(c["status"], "closed");
    let show = ok_json(run(dir.path(), &["show", &id]));
    let actions: Vec<&str> = show["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["raised", "ack", "dispatch", "overdue", "handle", "close"]
    );
    assert_eq!(show["steps"][1]["by"], "王");
    assert_eq!(show["steps"][1]["at"], "2025-07-01T12:00:00+08:00");

    // Closed: not in the open list, in `all`; CSV has a header and one row.
    assert_eq!(
        ok_json(run(dir.path(), &["list"]))
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        ok_json(run(dir.path(), &["list", "--status", "all"]))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let o = run(
        dir.path(),
        &["list", "--status", "closed", "--format", "csv"],
    );
    let csv = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("id,rule,site,pollutant,severity"));
    assert!(lines[1].contains("ENT-ZQBL-01") && lines[1].contains("critical"));
    // Bad inputs.
    let o = run(dir.path(), &["list", "--status", "bogus"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--status"));
    let o = run(dir.path(), &["show", "999"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("alarm 999 does not exist"));
    let o = run(
        dir.path(),
        &[
            "reopen",
            &id,
            "--reason",
            "复查",
            "--by",
            "科长",
            "--deadline",
            "tomorrow",
        ],
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("--deadline \"tomorrow\""));
}
