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

/// Beijing 00:00 of day `n` after 2025-07-01 (UTC seconds).
fn day(n: i64) -> i64 {
    1_751_299_200 + 86_400 * n
}

fn hour_values(site: &str, code: &str, from_day: i64, days: i64, v: f64) -> Vec<Measurement> {
    (0..days * 24)
        .map(|h| Measurement {
            site: site.into(),
            code: code.into(),
            field: "Avg".into(),
            period: Period::Hour,
            time: day(from_day) + 3600 * h,
            value: v,
            text: v.to_string(),
            flag: Some("N".into()),
            eflag: None,
            mn: "MN".into(),
        })
        .collect()
}

fn commit(data: &std::path::Path, values: Vec<Measurement>) {
    let mut s = SqliteStore::open(data).unwrap();
    s.commit(&[IntakePacket {
        received_ms: 1,
        mn: "MN".into(),
        cn: "2061".into(),
        values,
        ..IntakePacket::default()
    }])
    .unwrap();
}

fn report_json(data: &std::path::Path, year: &str, as_of: &str) -> Vec<serde_json::Value> {
    let out = qingshan(
        &[
            "report",
            "indicators",
            "--year",
            year,
            "--as-of",
            as_of,
            "--format",
            "json",
        ],
        data,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn by<'a>(list: &'a [serde_json::Value], code: &str) -> &'a serde_json::Value {
    list.iter().find(|i| i["code"] == code).unwrap()
}

/// A year still running (2025, reckoned to a day of it) shows progress and is judged only
/// once decided (platform rule, docs/engine.md "Plan indicators"):
/// - I06 优良天数 ≥ 330: PM2.5 40 µg/m³ (HJ 633-2012 IAQI 57, 良) on 07-01 and 07-02, 160
///   (IAQI 210, 重度污染) on 07-03: 2 good of 3 valid days → rate so far 66.7 %, projection
///   2/3 × 365 = 243 days, reachable 2..=364, `in_progress` (its `status`, judging the figure
///   as it stands, stays `missed`). With 35 days not good the year can still end at 330
///   (open); with 36 it can end at 329 at most — `missed` before the year is out.
/// - I08 城镇水源地达标率 = 100 %: DW-SHSK (湖库, TP 0.04 → III, GB 3838 Table 1) compliant
///   in July (running) → 100 % so far, open; a June day at TP 0.3 (劣V) makes a month that has
///   ended non-compliant: at most 11/12 = 91.7 % → `missed` early.
/// - I07 断面达标比例 = 100 %: SW-LJT at NH3-N 1.2 (IV) → 0 % of 1 evaluated so far, rate and
///   projection shown, no bound (annual means) → `in_progress`.
#[test]
fn a_running_year_shows_progress_and_is_judged_once_decided() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let mut v = Vec::new();
    for site in ["AIR-01", "AIR-02"] {
        v.extend(hour_values(site, "a34004", 0, 2, 40.0));
        v.extend(hour_values(site, "a34004", 2, 1, 160.0));
    }
    v.extend(hour_values("DW-SHSK", "w21011", 0, 1, 0.04));
    v.extend(hour_values("SW-LJT", "w21003", 0, 1, 1.2));
    commit(data, v);

    let rep = report_json(data, "2025", "2025-07-10");
    let good = by(&rep, "I06");
    assert_eq!(good["values"]["2025"], 2.0);
    assert_eq!(good["partial"], true, "{good}");
    assert_eq!(good["verdict"], "in_progress");
    assert_eq!(good["verdict_year"], 2025);
    assert_eq!(good["status"], "missed", "status keeps its documented rule");
    let p = &good["progress"];
    assert_eq!(p["as_of"], "2025-07-10");
    assert_eq!(p["elapsed_days"], 191);
    assert_eq!(p["period_days"], 365);
    assert_eq!(p["so_far"], 2.0);
    assert_eq!(p["rate_so_far"], 66.7);
    assert_eq!(p["valid_days"], 3, "the days the rate rests on");
    assert_eq!(p["projection"], 243.0);
    assert_eq!(
        (p["reachable_min"].as_f64(), p["reachable_max"].as_f64()),
        (Some(2.0), Some(364.0))
    );
    let y2025 = good["years"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (y2025["year"].as_i64(), y2025["partial"].as_bool()),
        (Some(2025), Some(true))
    );
    assert_eq!(
        good["trend_complete"], "unknown",
        "only the 2020 baseline is complete"
    );
    let urban = by(&rep, "I08");
    assert_eq!(urban["values"]["2025"], 100.0);
    assert_eq!(urban["verdict"], "in_progress", "{urban}");
    assert_eq!(urban["progress"]["rate_so_far"], 100.0);
    assert_eq!(urban["progress"]["projection"], 100.0);
    assert_eq!(urban["progress"]["reachable_max"], 100.0);
    let share = by(&rep, "I07");
    assert_eq!(share["values"]["2025"], 0.0);
    assert_eq!(share["verdict"], "in_progress", "{share}");
    assert_eq!(share["progress"]["rate_so_far"], 0.0);
    assert_eq!(share["progress"]["projection"], 0.0);
    assert!(share["progress"]["reachable_max"].is_null());
    assert!(
        share["progress"].get("valid_days").is_none(),
        "a rate has none"
    );
    // No partial figure is judged missed.
    for i in &rep {
        if i["partial"] == true {
            assert_ne!(i["verdict"], "missed", "{}", i["code"]);
        }
    }
    // The same year once over: judged on its figures (and no progress).
    let done = report_json(data, "2025", "2026-01-01");
    assert_eq!(by(&done, "I06")["partial"], false);
    assert_eq!(by(&done, "I06")["verdict"], "missed");
    assert!(by(&done, "I06")["progress"].is_null());
    assert_eq!(by(&done, "I08")["verdict"], "met");

    // A June day at TP 0.3: a month that has ended is non-compliant.
    commit(data, hour_values("DW-SHSK", "w21011", -10, 1, 0.3));
    // 34 more days not good (08-01 … 09-03): 35 in all, the year can still end at 330.
    let mut v = Vec::new();
    for site in ["AIR-01", "AIR-02"] {
        v.extend(hour_values(site, "a34004", 31, 34, 160.0));
    }
    commit(data, v);
    let rep = report_json(data, "2025", "2025-09-10");
    let good = by(&rep, "I06");
    assert_eq!(good["progress"]["reachable_max"], 330.0, "{good}");
    assert_eq!(good["verdict"], "in_progress");
    let urban = by(&rep, "I08");
    assert_eq!(urban["values"]["2025"], 50.0, "June 劣V, July III");
    assert_eq!(urban["progress"]["reachable_max"], 91.7, "{urban}");
    assert_eq!(urban["verdict"], "missed", "100 % can no longer be met");
    // The 36th day not good: at most 329 good days.
    let mut v = Vec::new();
    for site in ["AIR-01", "AIR-02"] {
        v.extend(hour_values(site, "a34004", 65, 1, 160.0));
    }
    commit(data, v);
    let rep = report_json(data, "2025", "2025-09-10");
    let good = by(&rep, "I06");
    assert_eq!(good["progress"]["reachable_max"], 329.0, "{good}");
    assert_eq!(good["verdict"], "missed", "no longer reachable");

    // CSV appends the verdict after the year columns.
    let out = qingshan(
        &[
            "report",
            "indicators",
            "--year",
            "2025",
            "--as-of",
            "2025-09-10",
            "--format",
            "csv",
        ],
        data,
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let head = text.lines().next().unwrap();
    assert!(
        head.ends_with("2025,verdict,verdict_year,partial,projection"),
        "{head}"
    );
    let i06 = text.lines().find(|l| l.starts_with("I06,")).unwrap();
    assert!(i06.contains(",missed,2025,true,"), "{i06}");
    // A bad --as-of says what and where.
    let bad = qingshan(
        &[
            "report",
            "indicators",
            "--year",
            "2025",
            "--as-of",
            "2025-13-01",
        ],
        data,
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--as-of 2025-13-01"));
}

/// Past the target year the verdict judges the target year's value (the plan's 2025
/// target): forest cover 2025 = 47.2 against ≥ 46 is met in the 2026 report, though 2026 has
/// no figure (its `status` is `no_data`, as documented); a later figure shows beside it.
#[test]
fn past_the_target_year_the_target_years_value_is_judged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    SqliteStore::open(data).unwrap();
    for (year, value) in [("2024", "46.8"), ("2025", "47.2")] {
        let o = qingshan(
            &[
                "indicator",
                "set",
                "--code",
                "I03",
                "--year",
                year,
                "--value",
                value,
                "--source",
                "县林业局年报",
                "--by",
                "planning",
            ],
            data,
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let rep = report_json(data, "2026", "2026-12-05");
    let forest = by(&rep, "I03");
    assert_eq!(forest["status"], "no_data", "{forest}");
    assert_eq!(forest["verdict"], "met");
    assert_eq!(forest["verdict_year"], 2025);
    assert_eq!(forest["verdict_value"], 47.2);
    assert_eq!(forest["trend_complete"], "improving");
    let o = qingshan(
        &[
            "indicator",
            "set",
            "--code",
            "I03",
            "--year",
            "2026",
            "--value",
            "45.0",
            "--source",
            "县林业局年报",
            "--by",
            "planning",
        ],
        data,
    );
    assert!(o.status.success());
    let rep = report_json(data, "2026", "2026-12-05");
    let forest = by(&rep, "I03");
    assert_eq!(forest["verdict"], "met", "judged on 2025: {forest}");
    assert_eq!(forest["values"]["2026"], 45.0, "the latest beside it");
    assert_eq!(forest["status"], "missed");
    // Before the target year the report year is judged.
    let rep = report_json(data, "2024", "2026-12-05");
    assert_eq!(by(&rep, "I03")["verdict"], "on_track");
    assert_eq!(by(&rep, "I03")["verdict_year"], 2024);
}
