//! `qingshan report sources` on a data folder filled without the engine: catch-up, JSON
//! contract (docs/engine-sources.md), CSV, bad arguments.

use std::process::Command;

use model::{Measurement, Period};
use store::{IntakePacket, SqliteStore, Store};

/// Beijing 2025-07-01 00:00 = 2025-06-30T16:00Z.
const DAY: i64 = 1_751_299_200;

fn m(site: &str, code: &str, field: &str, time: i64, v: f64, flag: Option<&str>) -> Measurement {
    Measurement {
        site: site.into(),
        code: code.into(),
        field: field.into(),
        period: Period::Hour,
        time,
        value: v,
        text: v.to_string(),
        flag: flag.map(str::to_string),
        eflag: None,
        mn: "MN".into(),
    }
}

/// ENT-JLKJ-01 (gas boiler, GB 13271-2014 Table 2: SO2 ≤ 50 mg/m³ at 3.5 % O2): ZsAvg 60, 70
/// at 10:00 and 11:00, 30 at 12:00 → one closed event of 2 hours, peak 70, 超标倍数
/// (70 − 50)/50 = 0.4; SO2 Cou 1 kg each hour → 3 kg; flow Cou 36 000 m³ each → 108 000 m³.
/// FUME-0001: hour data 10:00–21:00, at 11:00 fan on / purifier off with 4.0 mg/m³ (> 2.0).
fn fill(dir: &std::path::Path) {
    let mut s = SqliteStore::open(dir).unwrap();
    let mut v = Vec::new();
    for (h, zs) in [(10, 60.0), (11, 70.0), (12, 30.0)] {
        let t = DAY + h * 3600;
        let o = "ENT-JLKJ-01";
        v.push(m(o, "a21026", "Avg", t, zs * 0.8, Some("N")));
        v.push(m(o, "a21026", "ZsAvg", t, zs, None));
        v.push(m(o, "a21026", "Cou", t, 1.0, None));
        v.push(m(o, "a00000", "Avg", t, 10.0, Some("N")));
        v.push(m(o, "a00000", "Cou", t, 36_000.0, None));
        v.push(m(o, "a19001", "Avg", t, 6.0, Some("N")));
    }
    for h in 10..22 {
        let t = DAY + h * 3600;
        let bad = h == 11;
        let f = "FUME-0001";
        v.push(m(f, "a34041", "Avg", t, if bad { 4.0 } else { 0.6 }, None));
        v.push(m(f, "SB1", "RS", t, 1.0, None));
        v.push(m(f, "SB2", "RS", t, if bad { 0.0 } else { 1.0 }, None));
    }
    s.commit(&[IntakePacket {
        received_ms: 1,
        mn: "MN".into(),
        cn: "2061".into(),
        values: v,
        ..IntakePacket::default()
    }])
    .unwrap();
}

fn run(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qingshan"))
        .args(args)
        .arg("--data")
        .arg(dir)
        .output()
        .unwrap()
}

#[test]
fn report_sources_json_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path());
    let out = run(
        &[
            "report", "sources", "--year", "2025", "--month", "7", "--format", "json",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in [
        "report",
        "from",
        "to",
        "period_hours",
        "policy",
        "enterprises",
        "fume",
    ] {
        assert!(j.get(k).is_some(), "missing key {k}");
    }
    assert_eq!(j["report"], "sources");
    assert_eq!(j["from"], "2025-07-01");
    assert_eq!(j["to"], "2025-07-31");
    assert_eq!(j["period_hours"], 744);
    let ents = j["enterprises"].as_array().unwrap();
    assert_eq!(ents.len(), 12, "every enterprise of the Dianjiang profile");
    let e = ents.iter().find(|e| e["enterprise"] == "ENT-JLKJ").unwrap();
    assert_eq!(e["name"], "金龙科技");
    let o = &e["outlets"][0];
    for k in [
        "site",
        "name",
        "kind",
        "standard",
        "reference_o2_pct",
        "hours_with_data",
        "hours_valid",
        "events_count",
        "event_hours",
        "worst_multiple",
        "flow_m3",
        "pollutants",
        "events",
        "monthly_totals",
        "daily_totals",
    ] {
        assert!(o.get(k).is_some(), "outlet key {k}");
    }
    assert_eq!(o["site"], "ENT-JLKJ-01");
    assert_eq!(o["kind"], "flue_gas");
    assert_eq!(o["hours_with_data"], 3);
    assert_eq!(o["hours_valid"], 3);
    assert_eq!(o["events_count"], 1);
    assert_eq!(o["event_hours"], 2);
    assert_eq!(o["worst_multiple"], 0.4);
    assert_eq!(o["flow_m3"], 108_000.0);
    let so2 = o["pollutants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "a21026")
        .unwrap();
    assert_eq!(so2["limit_upper"], 50.0);
    assert_eq!(so2["hours_exceeding"], 2);
    assert_eq!(so2["total_kg"], 3.0);
    let ev = &o["events"][0];
    assert_eq!(ev["start"], "2025-07-01T10:00:00+08:00");
    assert_eq!(ev["end"], "2025-07-01T12:00:00+08:00");
    assert_eq!(ev["peak"], 70.0);
    assert_eq!(ev["peak_multiple"], 0.4);
    assert_eq!(ev["open"], false);
    assert_eq!(o["daily_totals"][0]["period"], "2025-07-01");
    assert_eq!(o["daily_totals"][0]["kg"]["a21026"], 3.0);
    let f = &j["fume"];
    for k in [
        "monitored",
        "reporting",
        "online_rate",
        "restaurants_with_exceedances",
        "unpurified_restaurants",
        "unpurified_occurrences",
        "cleaning_due",
        "restaurants",
    ] {
        assert!(f.get(k).is_some(), "fume key {k}");
    }
    assert_eq!(f["monitored"], 1357);
    assert_eq!(f["reporting"], 1);
    assert_eq!(f["restaurants_with_exceedances"], 1);
    assert_eq!(f["unpurified_restaurants"], 1);
    assert_eq!(f["unpurified_occurrences"], 1);
    assert_eq!(f["unpurified_minutes"], 60.0);
    let r = &f["restaurants"][0];
    assert_eq!(r["site"], "FUME-0001");
    // Evaluated days: from the first day with fume data (07-01) to the period end (07-31):
    // 12 hourly intervals with data of 31 × 12 expected = 3.2 %.
    assert_eq!(f["days_evaluated"], 31);
    assert_eq!(r["online_rate"], 3.2);

    let out = run(
        &[
            "report", "sources", "--year", "2025", "--month", "7", "--format", "csv",
        ],
        dir.path(),
    );
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut sections = text.split("\n\n");
    let outlets = sections.next().unwrap();
    assert!(outlets.starts_with("enterprise,site,kind,code,name,unit,limit_upper"));
    assert!(outlets
        .lines()
        .any(|l| l.starts_with("ENT-JLKJ,ENT-JLKJ-01,flue_gas,a21026,")));
    let fume = sections.next().unwrap();
    assert!(fume.starts_with("fume,monitored,reporting"));
    assert!(fume.lines().nth(1).unwrap().starts_with("fleet,1357,1,"));
}

#[test]
fn report_sources_bad_month() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &["report", "sources", "--year", "2025", "--month", "13"],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--month 13"));
}
