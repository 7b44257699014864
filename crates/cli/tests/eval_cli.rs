//! Integration tests of the `qingshan eval` JSON-lines contract (docs/standards.md).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

fn run(args: &[&str], input: &str) -> (Vec<Value>, i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qingshan"))
        .arg("eval")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn qingshan");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect();
    (lines, out.status.code().unwrap_or(-1))
}

/// HJ 633-2012 daily test vector (standards.json): AQI 107, 轻度污染, primary PM2.5.
#[test]
fn aqi_hj633_2012_daily_vector() {
    let (out, rc) = run(
        &["aqi", "--standard", "HJ633-2012"],
        r#"{"PM25_24H":80,"PM10_24H":120,"SO2_24H":10,"NO2_24H":45,"CO_24H":1.2,"O3_8H":150}"#,
    );
    assert_eq!(rc, 0);
    let o = &out[0];
    assert_eq!(o["aqi"], 107);
    assert_eq!(o["level"], 3);
    assert_eq!(o["category"], "轻度污染");
    assert_eq!(o["color"], "#FF7E00");
    assert_eq!(o["primary"], json!(["PM25_24H"]));
    assert_eq!(o["iaqi"]["PM25_24H"], 107);
    assert_eq!(o["iaqi"]["PM10_24H"], 85);
    assert_eq!(o["exceeding"], json!(["PM25_24H"]));
}

/// HJ 633-2026 via --date: the same data give 119; PM2.5 62 gives 102 (84 under 2012).
#[test]
fn aqi_by_date_picks_hj633_2026() {
    let input = concat!(
        r#"{"PM25_24H":80,"PM10_24H":120,"SO2_24H":10,"NO2_24H":45,"CO_24H":"1.2","O3_8H":150}"#,
        "\n",
        r#"{"PM25_24H":62,"PM10_24H":90,"SO2_24H":8,"NO2_24H":30,"CO_24H":0.8,"O3_8H":120}"#,
        "\n"
    );
    let (out, _) = run(&["aqi", "--date", "2026-03-01"], input);
    assert_eq!(out[0]["standard"], "HJ633-2026");
    assert_eq!(out[0]["aqi"], 119);
    assert_eq!(out[1]["aqi"], 102);
    assert_eq!(out[1]["category"], "轻度污染");
    let (out, _) = run(&["aqi", "--date", "2026-02-28"], input);
    assert_eq!(out[1]["standard"], "HJ633-2012");
    assert_eq!(out[1]["aqi"], 84);
    assert_eq!(out[1]["category"], "良");
}

/// HJ 633 CO 24h 2.2 mg/m³ → IAQI 55 (the f64 trap gives 56).
#[test]
fn aqi_co_22_is_55() {
    let (out, _) = run(&["aqi", "--standard", "HJ633-2012"], "{\"CO_24H\":2.2}\n");
    assert_eq!(out[0]["iaqi"]["CO_24H"], 55);
}

/// HJ 633-2026 §5.3: a missing pollutant with AQI ≤ 100 of the rest → "aqi": null.
#[test]
fn aqi_2026_na_is_null() {
    let (out, _) = run(
        &["aqi", "--standard", "HJ633-2026"],
        "{\"PM25_24H\":30}\n{\"PM25_24H\":100}\n",
    );
    assert_eq!(out[0]["aqi"], Value::Null);
    assert_eq!(out[0]["level"], Value::Null);
    assert_eq!(out[0]["iaqi"]["PM25_24H"], 43);
    assert_eq!(out[1]["aqi"], 137);
}

/// HJ 633-2026 real-time report: PM 1-h on the 24h table, SO2 1h > 800 fixed at 200.
#[test]
fn aqi_2026_hourly() {
    let (out, _) = run(
        &["aqi", "--standard", "HJ633-2026"],
        r#"{"SO2_1H":900,"NO2_1H":50,"CO_1H":1,"O3_1H":100,"PM10_1H":60,"PM25_1H":40}"#,
    );
    assert_eq!(out[0]["report"], "hourly");
    assert_eq!(out[0]["aqi"], 200);
    assert_eq!(out[0]["primary"], json!(["SO2_1H"]));
    assert_eq!(out[0]["iaqi"]["PM25_1H"], 60);
}

/// Contract: a bad line gets {"error": "line N, key K: …"}, the other lines continue, exit 0.
#[test]
fn bad_lines_are_reported_and_skipped() {
    let input = "{\"PM25_24H\":10}\nnot json\n{\"PM2.5\":3}\n{\"PM25_24H\":-1}\n\n{\"PM25_24H\":\"x\"}\n{\"PM25_24H\":35}\n";
    let (out, rc) = run(&["aqi", "--standard", "HJ633-2012"], input);
    assert_eq!(rc, 0);
    assert_eq!(out.len(), 7);
    assert_eq!(out[0]["iaqi"]["PM25_24H"], 15);
    assert!(out[1]["error"].as_str().unwrap().starts_with("line 2"));
    let e = out[2]["error"].as_str().unwrap();
    assert!(e.starts_with("line 3, key PM2.5"), "{e}");
    assert!(out[3]["error"].as_str().unwrap().contains("key PM25_24H"));
    assert!(out[4]["error"].as_str().unwrap().starts_with("line 5"));
    assert!(out[5]["error"]
        .as_str()
        .unwrap()
        .starts_with("line 6, key PM25_24H"));
    assert_eq!(out[6]["aqi"], 50);
}

/// Bad arguments are a usage error (non-zero), not a per-line error.
#[test]
fn bad_standard_argument_fails() {
    let (_, rc) = run(&["aqi", "--standard", "HJ633-1999"], "");
    assert_ne!(rc, 0);
    let (_, rc) = run(&["aqi"], "");
    assert_ne!(rc, 0);
}

/// GB 3838-2002 Table 1 / 环办〔2011〕22号: NH3-N 1.3 → IV, exceed 0.3 against Class III,
/// main pollutant NH3N; TN is not evaluated for rivers.
#[test]
fn water_river_sample() {
    let (out, rc) = run(
        &["water"],
        r#"{"NH3N":1.3,"DO":6,"pH":7.2,"TP":0.15,"TN":3,"WaterTemp":18}"#,
    );
    assert_eq!(rc, 0);
    let o = &out[0];
    assert_eq!(o["class"], "IV");
    assert_eq!(o["items"]["NH3N"], "IV");
    assert_eq!(o["items"]["DO"], "II");
    assert_eq!(o["items"]["TP"], "III");
    assert_eq!(o["exceed"], json!({"NH3N": 0.3}));
    assert_eq!(o["main_pollutants"], json!(["NH3N"]));
    assert!(o["items"].get("TN").is_none());
}

/// GB 3838-2002 Table 1 lake TP column (0.05 for Class III); TN for lakes is reference only;
/// pH outside 6–9 is 劣V.
#[test]
fn water_lake_and_ph() {
    let (out, _) = run(
        &["water", "--lake"],
        "{\"TP\":0.06,\"TN\":1.2}\n{\"pH\":9.1}\n",
    );
    assert_eq!(out[0]["class"], "IV");
    assert_eq!(out[0]["reference"]["TN"], "IV");
    assert_eq!(out[1]["class"], "劣V");
    assert_eq!(out[1]["exceed"], json!({}));
    let (out, _) = run(&["water"], "{\"TP\":0.06}\n{\"Foo\":1}\n");
    assert_eq!(out[0]["class"], "II");
    assert!(out[1]["error"]
        .as_str()
        .unwrap()
        .starts_with("line 2, key Foo"));
}

/// 环办〔2011〕22号 main pollutants: heavy metals first, then class, then exceedance multiple; top 3.
#[test]
fn water_main_pollutants_top3() {
    let (out, _) = run(&["water"], r#"{"NH3N":2.3,"Pb":0.06,"CODMn":16,"TP":0.45}"#);
    assert_eq!(out[0]["class"], "劣V");
    assert_eq!(out[0]["main_pollutants"], json!(["Pb", "CODMn", "NH3N"]));
    assert_eq!(out[0]["exceed"]["NH3N"], 1.3);
}

/// GB 3096-2008 Table 1 and §5.4: zone 2 day 60 / night 50; night Lmax ≤ limit + 15.
#[test]
fn noise_zone_limits_and_lmax() {
    let input = concat!(
        r#"{"period":"day","leq":60}"#,
        "\n",
        r#"{"period":"day","leq":60.1}"#,
        "\n",
        r#"{"period":"night","leq":48,"lmax":66}"#,
        "\n",
        r#"{"period":"evening","leq":48}"#,
        "\n"
    );
    let (out, rc) = run(&["noise", "--zone", "2"], input);
    assert_eq!(rc, 0);
    assert_eq!(out[0]["limit"], 60);
    assert_eq!(out[0]["compliant"], true);
    assert_eq!(out[0]["exceedance"], 0);
    assert_eq!(out[1]["compliant"], false);
    assert_eq!(out[1]["exceedance"], 0.1);
    assert_eq!(out[2]["limit"], 50);
    assert_eq!(out[2]["compliant"], true);
    assert_eq!(out[2]["lmax_limit"], 65);
    assert_eq!(out[2]["lmax_compliant"], false);
    assert!(out[3]["error"]
        .as_str()
        .unwrap()
        .starts_with("line 4, key period"));
}

/// GB 3096-2008 zones 4a (70/55) and 4b (70/60); configurable day/night hours via "time".
#[test]
fn noise_zone_4_and_time() {
    let (out, _) = run(
        &["noise", "--zone", "4b"],
        "{\"period\":\"night\",\"leq\":58}\n",
    );
    assert_eq!(out[0]["limit"], 60);
    let (out, _) = run(
        &["noise", "--zone", "4a", "--night-start", "23:00"],
        "{\"time\":\"22:30\",\"leq\":58}\n{\"time\":\"23:30\",\"leq\":58}\n",
    );
    assert_eq!(out[0]["period"], "day");
    assert_eq!(out[1]["period"], "night");
    assert_eq!(out[1]["limit"], 55);
    let (_, rc) = run(&["noise", "--zone", "5"], "");
    assert_ne!(rc, 0);
}
