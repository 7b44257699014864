//! `qingshan report water` and `report noise` on a data folder filled by committing packets
//! straight into the store (no engine running): catch-up, the JSON contract
//! (docs/engine-water.md), CSV, errors.

use std::path::Path;
use std::process::Command;

use model::{Measurement, Period};
use store::{IntakePacket, SqliteStore, Store};

/// Beijing 2025-07-01 00:00 = 2025-06-30T16:00Z.
const T0: i64 = 1_751_299_200;

fn val(site: &str, code: &str, field: &str, period: Period, time: i64, v: f64) -> Measurement {
    Measurement {
        site: site.into(),
        code: code.into(),
        field: field.into(),
        period,
        time,
        value: v,
        text: v.to_string(),
        flag: Some("N".into()),
        eflag: None,
        mn: "MN".into(),
    }
}

/// SW-LJT (六剑滩, target III): NH3-N 1.2 all day → IV (GB 3838 Table 1 row 7), not met,
/// multiple 0.2. SW-HT (打渔溪, target V): NH3-N 2.5 → 劣V. DW-SHSK (urban reservoir): TP 0.04 →
/// III (lake column), compliant. DW-GJDSH (township river): NH3-N 1.2 → IV, not compliant.
/// NZ-01 (zone 1, 55/45): 24 hours at 50 dB(A) → Ld 50.0 compliant, Ln 50.0 not.
fn fill(dir: &Path) {
    let mut s = SqliteStore::open(dir).unwrap();
    let mut values = Vec::new();
    for h in 0..24 {
        let t = T0 + 3600 * h;
        values.push(val("SW-LJT", "w21003", "Avg", Period::Hour, t, 1.2));
        values.push(val("SW-HT", "w21003", "Avg", Period::Hour, t, 2.5));
        values.push(val("DW-SHSK", "w21011", "Avg", Period::Hour, t, 0.04));
        values.push(val("DW-GJDSH", "w21003", "Avg", Period::Hour, t, 1.2));
        values.push(val("NZ-01", "Leq", "Data", Period::Hour, t, 50.0));
    }
    // The night of 07-01 runs to 07-02 06:00.
    for h in 24..30 {
        values.push(val(
            "NZ-01",
            "Leq",
            "Data",
            Period::Hour,
            T0 + 3600 * h,
            50.0,
        ));
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

fn run(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qingshan"))
        .args(args)
        .arg("--data")
        .arg(dir)
        .output()
        .unwrap()
}

#[test]
fn report_water_json_csv_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path());
    let out = run(
        &["report", "water", "--year", "2025", "--format", "json"],
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
        "method",
        "sections",
        "river_status",
        "share_iii_or_better",
        "drinking_water",
    ] {
        assert!(j.get(k).is_some(), "missing key {k}");
    }
    assert_eq!(j["report"], "water");
    assert_eq!(
        (j["from"].as_str(), j["to"].as_str()),
        (Some("2025-01-01"), Some("2025-12-31"))
    );
    let secs = j["sections"].as_array().unwrap();
    assert_eq!(secs.len(), 5);
    let sec = |code: &str| secs.iter().find(|s| s["site"] == code).unwrap().clone();
    let ljt = sec("SW-LJT");
    for k in [
        "site",
        "name",
        "river",
        "water_body",
        "target_class",
        "class",
        "status",
        "met",
        "days",
        "main_pollutants",
        "exceed",
        "means",
        "missing",
        "months",
        "tli",
    ] {
        assert!(ljt.get(k).is_some(), "section key {k}");
    }
    assert_eq!(ljt["target_class"], "III");
    assert_eq!(ljt["class"], "IV");
    assert_eq!(ljt["met"], false);
    assert_eq!(ljt["main_pollutants"][0]["item"], "NH3N");
    assert_eq!(ljt["main_pollutants"][0]["multiple"], 0.2);
    assert_eq!(ljt["months"][0]["period"], "2025-07");
    assert_eq!(ljt["months"][0]["class"], "IV");
    let ht = sec("SW-HT");
    assert_eq!(
        (ht["class"].as_str(), ht["met"].as_bool()),
        (Some("劣V"), Some(false))
    );
    assert_eq!(sec("SW-PS")["class"], serde_json::Value::Null);
    // Two sections with a class (< 5): river status from the mean of the sections.
    assert_eq!(j["river_status"]["basis"], "mean_of_sections");
    assert_eq!(j["share_iii_or_better"]["pct"], 0.0);
    assert_eq!(j["share_iii_or_better"]["evaluated"], 2);
    let dw = &j["drinking_water"];
    assert_eq!(dw["urban"]["rate_pct"], 100.0);
    assert_eq!(dw["urban"]["assessed"], 1);
    assert_eq!(dw["township"]["rate_pct"], 0.0);
    assert_eq!(dw["township"]["sources"], 18);
    let shsk = dw["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["site"] == "DW-SHSK")
        .unwrap();
    assert_eq!(shsk["scope"], "urban");
    assert_eq!(shsk["class"], "III");
    assert_eq!(shsk["compliant"], true);
    assert_eq!(shsk["months"][0]["month"], "2025-07");
    assert_eq!(
        shsk["tli"]["missing"],
        serde_json::json!(["Chla", "TN", "SD", "CODMn"])
    );

    let out = run(
        &[
            "report", "water", "--year", "2025", "--month", "7", "--format", "csv",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "kind,site,name,period,target_class,class,met,compliant,main_pollutants,days"
    );
    assert!(text.contains("section,SW-LJT,龙溪河(六剑滩),all,III,IV,false,,NH3N/0.2,1"));

    let out = run(
        &["report", "water", "--year", "2025", "--month", "13"],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--month 13"));
}

#[test]
fn report_noise_json_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path());
    let out = run(
        &[
            "report", "noise", "--year", "2025", "--month", "7", "--format", "json",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["report"], "noise");
    assert_eq!(j["standard"], "GB3096-2008");
    let pts = j["points"].as_array().unwrap();
    assert_eq!(pts.len(), 6);
    let p = pts.iter().find(|p| p["site"] == "NZ-01").unwrap();
    for k in [
        "zone",
        "day_limit",
        "night_limit",
        "days",
        "nights",
        "ld_mean",
        "ln_mean",
        "day_compliant_days",
        "night_compliant_days",
        "day_compliance_pct",
        "night_compliance_pct",
        "daily",
    ] {
        assert!(p.get(k).is_some(), "point key {k}");
    }
    assert_eq!(
        (p["zone"].as_str(), p["day_limit"].as_u64()),
        (Some("1"), Some(55))
    );
    assert_eq!(p["ld_mean"], 50.0);
    assert_eq!(p["ln_mean"], 50.0);
    assert_eq!(p["day_compliant_days"], 1);
    assert_eq!(p["night_compliant_days"], 0);
    let daily = p["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 1);
    assert_eq!(daily[0]["date"], "2025-07-01");
    assert_eq!(daily[0]["ld_compliant"], true);
    assert_eq!(daily[0]["ln_compliant"], false);
    // The year: 2025-06-30 carries the night 06-30 22:00 → 07-01 06:00 (6 of 8 hours: 75 %).
    let out = run(&["report", "noise", "--year", "2025"], dir.path());
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = j["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["site"] == "NZ-01")
        .unwrap()
        .clone();
    assert_eq!(p["daily"][0]["date"], "2025-06-30");
    assert_eq!(p["daily"][0]["night_hours"], 6);
    assert_eq!(p["daily"][0]["ld"], serde_json::Value::Null);
    assert_eq!(
        (p["days"].as_u64(), p["nights"].as_u64()),
        (Some(1), Some(2))
    );

    let out = run(
        &["report", "noise", "--year", "2025", "--format", "csv"],
        dir.path(),
    );
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("site,name,zone,day_limit,night_limit,days,nights,ld_mean,ln_mean,"));
    assert!(text.contains("NZ-01,"));
}
