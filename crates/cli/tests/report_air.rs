//! `qingshan report air` on a data folder filled without the engine: catch-up, JSON contract, CSV.

use std::process::Command;

use model::{Measurement, Period};
use store::{IntakePacket, SqliteStore, Store};

/// Beijing 2025-07-01 00:00 = 2025-06-30T16:00Z. AIR-01 PM2.5 40, AIR-02 60 (urban, county mean
/// 50 → HJ 633-2012 IAQI 68.75 → 69), AIR-03 (not urban) 500.
#[test]
fn report_air_json_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = SqliteStore::open(dir.path()).unwrap();
        let mut values = Vec::new();
        for (site, v) in [("AIR-01", 40.0), ("AIR-02", 60.0), ("AIR-03", 500.0)] {
            for h in 0..24 {
                values.push(Measurement {
                    site: site.into(),
                    code: "a34004".into(),
                    field: "Avg".into(),
                    period: Period::Hour,
                    time: 1_751_299_200 + 3600 * h,
                    value: v,
                    text: v.to_string(),
                    flag: Some("N".into()),
                    eflag: None,
                    mn: "MN".into(),
                });
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
    let bin = env!("CARGO_BIN_EXE_qingshan");
    let out = Command::new(bin)
        .args([
            "report", "air", "--year", "2025", "--format", "json", "--data",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["rules"], "by_date");
    assert_eq!(j["county"]["daily"][0]["aqi"], 69);
    assert_eq!(j["county"]["daily"][0]["date"], "2025-07-01");
    assert_eq!(j["county"]["PM25_annual_mean"], 50.0);
    let st = j["stations"].as_array().unwrap();
    assert!(st
        .iter()
        .any(|s| s["site"] == "AIR-03" && s["daily"][0]["aqi"] == 500));

    let out = Command::new(bin)
        .args([
            "report", "air", "--year", "2025", "--month", "7", "--format", "csv",
        ])
        .args(["--standard", "HJ633-2026", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("site,from,to,rules,valid_days"));
    let county = text.lines().find(|l| l.starts_with("_county,")).unwrap();
    // Under HJ 633-2026 PM2.5 50 alone is 80 with pollutants missing → NA: 0 valid days.
    assert!(
        county.starts_with("_county,2025-07-01,2025-07-31,HJ633-2026,0,"),
        "{county}"
    );
}
