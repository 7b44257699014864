//! Water engine tests with hand-computed expectations. Hour data are HJ 212 2061 `Avg` values
//! labelled by the hour's start (UTC seconds); days are Beijing natural days. Limits cited are
//! GB 3838-2002 Table 1 (row numbers), Table 2, and the method of 环办〔2011〕22号.

use std::collections::BTreeSet;

use engine::time::day_start_utc;
use engine::water::{SourceScope, WaterEngine, WaterSite, WaterSiteKind};
use engine::WaterReport;
use model::{Measurement, Period};
use standards::water::{WaterBody, WaterClass};
use standards::Date;
use store::water::WaterStore;
use store::{IntakePacket, SqliteOptions, SqliteStore, Store};

const NH3N: &str = "w21003";
const TP: &str = "w21011";
const TN: &str = "w21001";
const DO: &str = "w01009";
const CODMN: &str = "w01019";

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_with(
        dir.path(),
        &SqliteOptions {
            fsync: false,
            cache_mib: 16,
        },
    )
    .unwrap();
    (dir, s)
}

fn section(site: &str, body: WaterBody, target: WaterClass) -> WaterSite {
    WaterSite {
        site: site.into(),
        name: format!("断面{site}"),
        kind: WaterSiteKind::Section,
        body,
        target: Some(target),
        river: Some("龙溪河".into()),
    }
}

fn source(site: &str, body: WaterBody, scope: SourceScope) -> WaterSite {
    WaterSite {
        site: site.into(),
        name: format!("水源{site}"),
        kind: WaterSiteKind::Source {
            scope,
            groundwater: false,
        },
        body,
        target: Some(WaterClass::III),
        river: None,
    }
}

fn m(site: &str, code: &str, time: i64, value: &str, flag: &str) -> Measurement {
    Measurement {
        site: site.into(),
        code: code.into(),
        field: "Avg".into(),
        period: Period::Hour,
        time,
        value: value.parse().unwrap(),
        text: value.into(),
        flag: Some(flag.into()),
        eflag: None,
        mn: format!("MN-{site}"),
    }
}

fn commit(
    store: &mut SqliteStore,
    values: Vec<Measurement>,
    received_ms: i64,
) -> Vec<IntakePacket> {
    let p = vec![IntakePacket {
        received_ms,
        mn: "MN".into(),
        cn: "2061".into(),
        values,
        ..IntakePacket::default()
    }];
    store.commit(&p).unwrap();
    p
}

/// Hour `h` (Beijing, labelled by start) of day `d`.
fn at(d: Date, h: i64) -> i64 {
    day_start_utc(d) + 3600 * h
}

const D: Date = Date::ymd(2025, 7, 1);

/// Class of a sample at exact limits: GB 3838-2002 Table 1 limits are inclusive. River: row 7
/// NH3-N III ≤ 1.0, row 8 TP (river) III ≤ 0.2, row 3 DO III ≥ 5, row 4 CODMn III ≤ 6 → III;
/// NH3-N 1.001 → IV. Lake/reservoir column of row 8: TP III ≤ 0.05, 0.051 → IV.
#[test]
fn sample_class_at_exact_limits() {
    let (_d, mut s) = open();
    let e = WaterEngine::new([
        section("R", WaterBody::River, WaterClass::III),
        section("L", WaterBody::LakeReservoir, WaterClass::III),
    ]);
    let mut v = vec![
        m("R", NH3N, at(D, 0), "1.0", "N"),
        m("R", TP, at(D, 0), "0.2", "N"),
        m("R", DO, at(D, 0), "5", "N"),
        m("R", CODMN, at(D, 0), "6", "N"),
        m("R", NH3N, at(D, 1), "1.001", "N"),
        m("L", TP, at(D, 0), "0.05", "N"),
        m("L", TP, at(D, 1), "0.051", "N"),
    ];
    // TP 0.2 is Class III on the river column but V on the lake column (row 8: lake V ≤ 0.2).
    v.push(m("L", TP, at(D, 2), "0.2", "N"));
    commit(&mut s, v, 1);
    let r = e.samples(&s, "R", at(D, 0), at(D, 24)).unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].1.class, Some(WaterClass::III));
    assert!(r[0].1.exceed.is_empty());
    assert_eq!(r[1].1.class, Some(WaterClass::IV));
    let l = e.samples(&s, "L", at(D, 0), at(D, 24)).unwrap();
    let classes: Vec<_> = l.iter().map(|x| x.1.class.unwrap()).collect();
    assert_eq!(classes, [WaterClass::III, WaterClass::IV, WaterClass::V]);
}

/// Day = mean of the valid hourly values per item (flag D excluded: HJ 212-2017 Table 8), then
/// the class. NH3-N 0.8, 1.2, 1.3 (+ 5.0 flagged D) → 1.1 → Class IV (row 7: III ≤ 1.0 < 1.1 ≤
/// 1.5); multiple (1.1 − 1.0)/1.0 = 0.1.
#[test]
fn day_mean_of_valid_hours_flags_excluded() {
    let (_d, mut s) = open();
    let e = WaterEngine::new([section("R", WaterBody::River, WaterClass::III)]);
    let p = commit(
        &mut s,
        vec![
            m("R", NH3N, at(D, 0), "0.8", "N"),
            m("R", NH3N, at(D, 1), "1.2", "N"),
            m("R", NH3N, at(D, 2), "1.3", "N"),
            m("R", NH3N, at(D, 3), "5.0", "D"),
            m("R", NH3N, at(D, 4), "5.0", "M"),
        ],
        1,
    );
    let t = e.touched(&p);
    assert_eq!(t, BTreeSet::from([("R".to_string(), D)]));
    e.update(&mut s, &t).unwrap();
    let rows = s.water_days(Some("R"), "2025-07-01", "2025-07-01").unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].means, "NH3N=1.1");
    assert_eq!(rows[0].hours, "NH3N=3");
    assert_eq!(rows[0].class.as_deref(), Some("IV"));
    let rep = WaterReport::build(&s, &e, D, D).unwrap();
    let sec = &rep.sections[0];
    assert_eq!(sec.class.as_deref(), Some("IV"));
    assert_eq!(sec.met, Some(false));
    assert_eq!(sec.exceed["NH3N"], 0.1);
    assert_eq!(sec.main_pollutants[0].item, "NH3N");
    assert_eq!(sec.main_pollutants[0].multiple, Some(0.1));
}

/// Beijing midnight: 2025-06-30T16:00Z is 07-01 00:00 (hour 0 of 07-01); 15:00Z is hour 23 of
/// 06-30. Each value lands in its own Beijing day.
#[test]
fn beijing_midnight_boundary() {
    let (_d, mut s) = open();
    let e = WaterEngine::new([section("R", WaterBody::River, WaterClass::III)]);
    let t0 = day_start_utc(D);
    assert_eq!(t0, 1_751_299_200);
    let p = commit(
        &mut s,
        vec![
            m("R", NH3N, t0 - 3600, "0.4", "N"),
            m("R", NH3N, t0, "1.4", "N"),
        ],
        1,
    );
    let t = e.touched(&p);
    assert_eq!(
        t,
        BTreeSet::from([
            ("R".to_string(), Date::ymd(2025, 6, 30)),
            ("R".to_string(), D)
        ])
    );
    e.update(&mut s, &t).unwrap();
    let rows = s.water_days(Some("R"), "2025-06-01", "2025-07-31").unwrap();
    let got: Vec<(&str, &str, Option<&str>)> = rows
        .iter()
        .map(|r| (r.day.as_str(), r.means.as_str(), r.class.as_deref()))
        .collect();
    // Row 7: 0.4 ≤ 0.5 → II; 1.4 ≤ 1.5 → IV.
    assert_eq!(
        got,
        [
            ("2025-06-30", "NH3N=0.4", Some("II")),
            ("2025-07-01", "NH3N=1.4", Some("IV"))
        ]
    );
}

/// Month = mean of the daily means (not of the hours): day 1 has one hour at 0.6, day 2 has
/// 24 hours at 1.6 → (0.6 + 1.6)/2 = 1.1 → IV. (An hour-weighted mean, (0.6 + 24 × 1.6)/25 =
/// 1.56, would be Class V.) A back-filled hour updates its day and the month.
#[test]
fn month_is_mean_of_daily_means_and_backfill_updates() {
    let (_d, mut s) = open();
    let e = WaterEngine::new([section("R", WaterBody::River, WaterClass::III)]);
    let d2 = D.succ();
    let mut v = vec![m("R", NH3N, at(D, 5), "0.6", "N")];
    v.extend((0..24).map(|h| m("R", NH3N, at(d2, h), "1.6", "N")));
    let p = commit(&mut s, v, 1);
    e.update(&mut s, &e.touched(&p)).unwrap();
    let rep = WaterReport::build(&s, &e, Date::ymd(2025, 7, 1), Date::ymd(2025, 7, 31)).unwrap();
    let sec = &rep.sections[0];
    assert_eq!(sec.days, 2);
    assert_eq!(sec.means["NH3N"], 1.1);
    assert_eq!(sec.class.as_deref(), Some("IV"));
    assert_eq!(sec.months.len(), 1);
    assert_eq!(sec.months[0].period, "2025-07");
    assert_eq!(sec.months[0].class.as_deref(), Some("IV"));
    // Back-fill day 1 hour 6 at 0.2 → day 1 = 0.4, month = (0.4 + 1.6)/2 = 1.0 → III (limit incl.).
    let p = commit(&mut s, vec![m("R", NH3N, at(D, 6), "0.2", "N")], 2);
    e.update(&mut s, &e.touched(&p)).unwrap();
    let rep = WaterReport::build(&s, &e, Date::ymd(2025, 7, 1), Date::ymd(2025, 7, 31)).unwrap();
    assert_eq!(rep.sections[0].means["NH3N"], 1.0);
    assert_eq!(rep.sections[0].class.as_deref(), Some("III"));
    assert_eq!(rep.sections[0].met, Some(true));
}

/// An 打渔溪-like section, target V: NH3-N 2.5 (row 7 V ≤ 2.0 → 劣V, multiple (2.5−1)/1 = 1.5),
/// TP 0.5 (row 8 river V ≤ 0.4 → 劣V, multiple (0.5−0.2)/0.2 = 1.5), CODMn 12 (row 4 V ≤ 15 →
/// V, multiple (12−6)/6 = 1.0) → 劣V, target not met. Main pollutants (环办〔2011〕22号): worst
/// class first, ties by multiple then table order: NH3N, TP, CODMn.
#[test]
fn worse_than_v_section_main_pollutants() {
    let (_d, mut s) = open();
    let e = WaterEngine::new([section("HT", WaterBody::River, WaterClass::V)]);
    let p = commit(
        &mut s,
        vec![
            m("HT", NH3N, at(D, 8), "2.5", "N"),
            m("HT", TP, at(D, 8), "0.5", "N"),
            m("HT", CODMN, at(D, 8), "12", "N"),
            m("HT", DO, at(D, 8), "4", "N"),
        ],
        1,
    );
    e.update(&mut s, &e.touched(&p)).unwrap();
    let rep = WaterReport::build(&s, &e, D, D).unwrap();
    let sec = &rep.sections[0];
    assert_eq!(sec.class.as_deref(), Some("劣V"));
    assert_eq!(sec.status.as_deref(), Some("重度污染"));
    assert_eq!(sec.target_class.as_deref(), Some("V"));
    assert_eq!(sec.met, Some(false));
    let mp: Vec<(&str, &str, Option<f64>)> = sec
        .main_pollutants
        .iter()
        .map(|p| (p.item.as_str(), p.class.as_str(), p.multiple))
        .collect();
    assert_eq!(
        mp,
        [
            ("NH3N", "劣V", Some(1.5)),
            ("TP", "劣V", Some(1.5)),
            ("CODMn", "V", Some(1.0))
        ]
    );
    // With NH3-N at 1.9 and TP 0.35 the section is V: target V met.
    let p = commit(
        &mut s,
        vec![
            m("HT", NH3N, at(D, 8), "1.9", "N"),
            m("HT", TP, at(D, 8), "0.35", "N"),
        ],
        2,
    );
    e.update(&mut s, &e.touched(&p)).unwrap();
    let rep = WaterReport::build(&s, &e, D, D).unwrap();
    assert_eq!(rep.sections[0].class.as_deref(), Some("V"));
    assert_eq!(rep.sections[0].met, Some(true));
}

/// Drinking-water compliance per source-month: class I–III and every GB 3838 Table 2 item
/// within its limit (standards.md §9.1). Urban: one reservoir, Jan and Feb TP 0.04 (lake row 8
/// III ≤ 0.05) → 2/2 = 100 %. Township: river source Jan NH3-N 0.5 (II) ok, Feb 1.2 (IV) not;
/// second source Jan class II but iron 0.4 > 0.3 (Table 2) → 1 of 3 = 33.3 %.
#[test]
fn drinking_water_compliance_urban_and_township() {
    let (_d, mut s) = open();
    let mut e = WaterEngine::new([
        source("U1", WaterBody::LakeReservoir, SourceScope::Urban),
        source("T1", WaterBody::River, SourceScope::Township),
        source("T2", WaterBody::River, SourceScope::Township),
    ]);
    e.map_code("w20125", "Fe").unwrap();
    let jan = Date::ymd(2025, 1, 10);
    let feb = Date::ymd(2025, 2, 10);
    let p = commit(
        &mut s,
        vec![
            m("U1", TP, at(jan, 9), "0.04", "N"),
            m("U1", TP, at(feb, 9), "0.04", "N"),
            m("T1", NH3N, at(jan, 9), "0.5", "N"),
            m("T1", NH3N, at(feb, 9), "1.2", "N"),
            m("T2", NH3N, at(jan, 9), "0.3", "N"),
            m("T2", "w20125", at(jan, 9), "0.4", "N"),
        ],
        1,
    );
    e.update(&mut s, &e.touched(&p)).unwrap();
    let u = e
        .drinking_water_compliance(&s, 2025, SourceScope::Urban)
        .unwrap();
    assert_eq!((u.assessed, u.compliant, u.rate_pct), (2, 2, Some(100.0)));
    assert_eq!((u.sources, u.sources_with_data), (1, 1));
    let t = e
        .drinking_water_compliance(&s, 2025, SourceScope::Township)
        .unwrap();
    assert_eq!((t.assessed, t.compliant, t.rate_pct), (3, 1, Some(33.3)));
    let rep = WaterReport::build(&s, &e, Date::ymd(2025, 1, 1), Date::ymd(2025, 12, 31)).unwrap();
    let t2 = rep
        .drinking_water
        .sources
        .iter()
        .find(|x| x.site == "T2")
        .unwrap();
    assert_eq!(t2.class.as_deref(), Some("II"));
    assert_eq!(t2.compliant, Some(false));
    assert_eq!(t2.months[0].failed, ["Fe"]);
    assert_eq!(rep.drinking_water.township.rate_pct, Some(33.3));
    assert!(e.map_code("x", "Nope").is_err());
}

/// Indicator 7: sections with annual class I–III / sections evaluated. III, IV, 劣V → 1/3 =
/// 33.3 %; fewer than 5 sections → the river status is judged on the mean of the sections
/// (环办〔2011〕22号): NH3-N (1.0 + 1.4 + 2.5)/3 = 1.6333 → V → 中度污染.
#[test]
fn share_of_sections_and_river_status() {
    let (_d, mut s) = open();
    let e = WaterEngine::new([
        section("A", WaterBody::River, WaterClass::III),
        section("B", WaterBody::River, WaterClass::III),
        section("C", WaterBody::River, WaterClass::V),
        section("N", WaterBody::River, WaterClass::III), // no data
    ]);
    let p = commit(
        &mut s,
        vec![
            m("A", NH3N, at(D, 0), "1.0", "N"),
            m("B", NH3N, at(D, 0), "1.4", "N"),
            m("C", NH3N, at(D, 0), "2.5", "N"),
        ],
        1,
    );
    e.update(&mut s, &e.touched(&p)).unwrap();
    let sh = e.sections_at_or_better_than_iii_share(&s, 2025).unwrap();
    assert_eq!((sh.sections, sh.evaluated, sh.at_or_better), (4, 3, 1));
    assert_eq!(sh.pct, Some(33.3));
    let rep = WaterReport::build(&s, &e, Date::ymd(2025, 1, 1), Date::ymd(2025, 12, 31)).unwrap();
    assert_eq!(rep.share_iii_or_better.pct, Some(33.3));
    assert_eq!(rep.river_status.basis, Some("mean_of_sections"));
    assert_eq!(rep.river_status.class.as_deref(), Some("V"));
    assert_eq!(rep.river_status.status.as_deref(), Some("中度污染"));
    let n = rep.sections.iter().find(|x| x.site == "N").unwrap();
    assert_eq!((n.class.as_deref(), n.met), (None, None));
}

/// Five sections: the share rule (环办〔2011〕22号): I–III 3/5 = 60 % < 75 %, 劣V 1/5 = 20 % →
/// 中度污染 (20 % ≤ 劣V < 40 %).
#[test]
fn river_status_by_share_with_five_sections() {
    let (_d, mut s) = open();
    let e = WaterEngine::new(
        ["A", "B", "C", "D", "E"].map(|x| section(x, WaterBody::River, WaterClass::III)),
    );
    let vals = [
        ("A", "0.4"),
        ("B", "0.9"),
        ("C", "1.0"),
        ("D", "1.2"),
        ("E", "2.1"),
    ];
    let p = commit(
        &mut s,
        vals.iter()
            .map(|(x, v)| m(x, NH3N, at(D, 0), v, "N"))
            .collect(),
        1,
    );
    e.update(&mut s, &e.touched(&p)).unwrap();
    let rep = WaterReport::build(&s, &e, D, D).unwrap();
    let r = &rep.river_status;
    assert_eq!(r.basis, Some("share_of_sections"));
    assert_eq!(
        (r.iii_or_better_pct, r.worse_than_v_pct),
        (Some(60.0), Some(20.0))
    );
    assert_eq!(r.status.as_deref(), Some("中度污染"));
}

/// Per river: each river's sections judged by the same rule. 龙溪河 A (NH3-N 1.0, III) and B
/// (2.5, 劣V) → mean 1.75 → V → 中度污染; 大沙河 C (0.4, II) → 优; a lake-column section and a
/// section without a river name belong to no river; the county's status covers all river and
/// lake sections as before.
#[test]
fn river_status_per_river() {
    let (_d, mut s) = open();
    let on = |x: &str, river: Option<&str>, body: WaterBody| WaterSite {
        river: river.map(str::to_string),
        ..section(x, body, WaterClass::III)
    };
    let e = WaterEngine::new([
        on("A", Some("龙溪河"), WaterBody::River),
        on("C", Some("大沙河"), WaterBody::River),
        on("B", Some("龙溪河"), WaterBody::River),
        on("L", Some("龙溪河"), WaterBody::LakeReservoir),
        on("X", None, WaterBody::River),
    ]);
    let p = commit(
        &mut s,
        vec![
            m("A", NH3N, at(D, 0), "1.0", "N"),
            m("B", NH3N, at(D, 0), "2.5", "N"),
            m("C", NH3N, at(D, 0), "0.4", "N"),
            m("L", NH3N, at(D, 0), "0.4", "N"),
        ],
        1,
    );
    e.update(&mut s, &e.touched(&p)).unwrap();
    let rep = WaterReport::build(&s, &e, D, D).unwrap();
    let names: Vec<&str> = rep.rivers.iter().map(|r| r.river.as_str()).collect();
    assert_eq!(
        names,
        ["龙溪河", "大沙河"],
        "profile order, no lake, no unnamed"
    );
    let l = &rep.rivers[0];
    assert_eq!(l.sections, ["A", "B"]);
    assert_eq!(l.sections_evaluated, 2);
    assert_eq!(l.basis, Some("mean_of_sections"));
    assert_eq!(l.class.as_deref(), Some("V"));
    assert_eq!(l.status.as_deref(), Some("中度污染"));
    assert_eq!(l.iii_or_better_pct, Some(50.0));
    let d = &rep.rivers[1];
    assert_eq!(
        (d.class.as_deref(), d.status.as_deref()),
        (Some("II"), Some("优"))
    );
    let v = serde_json::to_value(&rep).unwrap();
    assert_eq!(v["rivers"][0]["sections"], serde_json::json!(["A", "B"]));
    assert_eq!(v["rivers"][0]["status"], "中度污染");
}

/// TLI (总站生字〔2001〕090号) of period means Chla 10 mg/m³, TP 0.05, TN 1.0, SD 1.0 m, CODMn 4:
/// components 50.0061, 45.7093, 54.53, 51.18, 37.9793; weighted by 0.2663, 0.1879, 0.1790,
/// 0.1834, 0.1834 → 48.018 → 48.02, 中营养 (30 ≤ TLI ≤ 50). Without Chla and SD the report says
/// so and gives no value.
#[test]
fn tli_of_reservoir_and_missing_inputs() {
    let (_d, mut s) = open();
    let e = WaterEngine::new([
        section("L", WaterBody::LakeReservoir, WaterClass::III),
        section("M", WaterBody::LakeReservoir, WaterClass::III),
        section("R", WaterBody::River, WaterClass::III),
    ]);
    let p = commit(
        &mut s,
        vec![
            m("L", "Chla", at(D, 0), "10", "N"),
            m("L", TP, at(D, 0), "0.05", "N"),
            m("L", TN, at(D, 0), "1.0", "N"),
            m("L", "SD", at(D, 0), "1.0", "N"),
            m("L", CODMN, at(D, 0), "4", "N"),
            m("M", TP, at(D, 0), "0.05", "N"),
            m("M", TN, at(D, 0), "1.0", "N"),
            m("M", CODMN, at(D, 0), "4", "N"),
            m("R", TP, at(D, 0), "0.05", "N"),
        ],
        1,
    );
    e.update(&mut s, &e.touched(&p)).unwrap();
    let rep = WaterReport::build(&s, &e, D, D).unwrap();
    let get = |x: &str| rep.sections.iter().find(|s| s.site == x).unwrap();
    let l = get("L").tli.as_ref().unwrap();
    assert_eq!(l.value, Some(48.02));
    assert_eq!(l.state.as_deref(), Some("中营养"));
    assert!(l.missing.is_empty());
    let mm = get("M").tli.as_ref().unwrap();
    assert_eq!(mm.value, None);
    assert_eq!(mm.missing, ["Chla", "SD"]);
    assert!(get("R").tli.is_none());
    // TN is a reference item for lakes: it does not enter the class (环办〔2011〕22号); TP 0.05
    // (lake III) and CODMn 4 (II) → III.
    assert_eq!(get("L").class.as_deref(), Some("III"));
}

/// Cold rebuild and watermark catch-up give the same rows as the incremental update.
#[test]
fn rebuild_and_catch_up_match_incremental() {
    let (_d, mut s) = open();
    let e = WaterEngine::new([section("R", WaterBody::River, WaterClass::III)]);
    let d2 = D.succ();
    commit(
        &mut s,
        vec![
            m("R", NH3N, at(D, 3), "0.7", "N"),
            m("R", NH3N, at(d2, 3), "1.7", "N"),
            m("R", TP, at(d2, 4), "0.1", "N"),
        ],
        10,
    );
    let st = e.catch_up(&mut s).unwrap();
    assert_eq!(st.site_days, 2);
    let a = s.water_days(None, "2025-01-01", "2025-12-31").unwrap();
    assert_eq!(s.watermark(engine::water::WATERMARK).unwrap(), Some(10));
    assert_eq!(e.catch_up(&mut s).unwrap().site_days, 2); // received_ms ≥ watermark: re-done
    e.rebuild(&mut s, D, d2).unwrap();
    let b = s.water_days(None, "2025-01-01", "2025-12-31").unwrap();
    let strip = |v: Vec<store::water::WaterDay>| {
        v.into_iter()
            .map(|r| (r.site, r.day, r.means, r.hours, r.class))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(a), strip(b.clone()));
    assert_eq!(b[1].means, "NH3N=1.7;TP=0.1");
    assert_eq!(b[1].class.as_deref(), Some("V"));
}
