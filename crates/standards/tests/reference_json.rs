//! Cross-checks against the researched reference `tests/data/standards.json` (a copy of
//! `shared/reference/standards.json`): every test vector, and every table of the crate
//! row by row against the JSON tables.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;
use standards::ambient::{self, AmbientPollutant, AmbientStandard, AveragingPeriod, ZoneClass};
use standards::aqi::{self, AqiStandard, Indicator, ReportKind, Table};
use standards::assessment;
use standards::emissions::{self, LimitLibrary, TableKey};
use standards::noise;
use standards::water::{self, Limits, WaterItem};

fn reference() -> Value {
    serde_json::from_str(include_str!("data/standards.json")).expect("valid JSON")
}

/// Exact decimal from a JSON number or numeric string.
fn d(v: &Value) -> Decimal {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a number: {other}"),
    };
    if s.contains(['e', 'E']) {
        Decimal::from_scientific(&s).unwrap()
    } else {
        Decimal::from_str(&s).unwrap()
    }
}

fn std_of(code: &str) -> AqiStandard {
    AqiStandard::from_code(code).expect("known AQI standard")
}

/// HJ 633-2012 §6 / HJ 633-2026 §4.2: every test vector of `air.aqi.test_vectors`
/// (daily reports and single IAQI checks, including the CO 2.2 → 55 f64 trap).
#[test]
fn hj633_every_test_vector() {
    let r = reference();
    let vectors = r["air"]["aqi"]["test_vectors"].as_array().unwrap();
    assert!(vectors.len() >= 18);
    let mut checked = 0;
    for v in vectors {
        let std = std_of(v["standard"].as_str().unwrap());
        if let Some(ind) = v.get("single_iaqi") {
            let ind = Indicator::from_name(ind.as_str().unwrap()).unwrap();
            let got = aqi::iaqi(std, ind, d(&v["input"])).unwrap();
            assert_eq!(
                got.value(),
                Some(v["expected_iaqi"].as_u64().unwrap() as u16),
                "{v}"
            );
        } else {
            assert_eq!(v["report"], "daily");
            let values: Vec<(Indicator, Decimal)> = v["inputs"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, x)| (Indicator::from_name(k).unwrap(), d(x)))
                .collect();
            let rep = aqi::evaluate_values(std, ReportKind::Daily, &values).unwrap();
            for (k, e) in v["expected_iaqi"].as_object().unwrap() {
                let ind = Indicator::from_name(k).unwrap();
                assert_eq!(
                    rep.iaqi[&ind].value(),
                    Some(e.as_u64().unwrap() as u16),
                    "{k} in {v}"
                );
            }
            assert_eq!(rep.aqi, Some(v["expected_aqi"].as_u64().unwrap() as u16));
            let primary: Vec<&str> = rep.primary.iter().map(|i| i.name()).collect();
            let expected: Vec<&str> = v["expected_primary"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            assert_eq!(primary, expected, "{v}");
        }
        checked += 1;
    }
    assert_eq!(checked, vectors.len());
}

fn table_of(name: &str) -> Table {
    match name {
        "SO2_24H" => Table::So2_24h,
        "SO2_1H" => Table::So2_1h,
        "NO2_24H" => Table::No2_24h,
        "NO2_1H" => Table::No2_1h,
        "PM10_24H" => Table::Pm10_24h,
        "CO_24H" => Table::Co_24h,
        "CO_1H" => Table::Co_1h,
        "O3_1H" => Table::O3_1h,
        "O3_8H" => Table::O3_8h,
        "PM25_24H" => Table::Pm25_24h,
        _ => panic!("unknown table {name}"),
    }
}

/// HJ 633-2012 Table 1 and HJ 633-2026 Table 1: every breakpoint equals the reference.
#[test]
fn hj633_table1_matches_reference() {
    let r = reference();
    let levels: Vec<u64> = r["air"]["aqi"]["iaqi_levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert_eq!(
        levels,
        aqi::IAQI_LEVELS
            .iter()
            .map(|&x| u64::from(x))
            .collect::<Vec<_>>()
    );
    for std in AqiStandard::ALL {
        let bps = r["air"]["aqi"][std.code()]["breakpoints"]
            .as_object()
            .unwrap();
        assert_eq!(bps.len(), 10);
        for (name, col) in bps {
            let ours = aqi::breakpoints(std, table_of(name));
            let theirs: Vec<Decimal> = col["values"].as_array().unwrap().iter().map(d).collect();
            assert_eq!(ours.values, theirs.as_slice(), "{} {name}", std.code());
            let mg = col["unit"] == "mg/m3";
            assert_eq!(ours.unit == aqi::Unit::MilligramPerM3, mg, "{name} unit");
        }
    }
}

/// HJ 633 Annex A / Table 2: level bands, names and colours (hex, RGB, CMYK) of each category.
#[test]
fn hj633_categories_match_reference() {
    let r = reference();
    let cats = r["air"]["aqi"]["categories"].as_array().unwrap();
    assert_eq!(cats.len(), 6);
    for (c, ours) in cats.iter().zip(aqi::CATEGORIES.iter()) {
        assert_eq!(c["level"].as_u64().unwrap(), u64::from(ours.level));
        assert_eq!(c["level_cn"], ours.level_cn);
        assert_eq!(c["name_cn"], ours.name_cn);
        assert_eq!(c["color_cn"], ours.color_cn);
        assert_eq!(c["hex"], ours.hex);
        let rgb: Vec<u64> = c["rgb"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert_eq!(
            rgb,
            ours.rgb.iter().map(|&x| u64::from(x)).collect::<Vec<_>>()
        );
        let cmyk: Vec<u64> = c["cmyk"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert_eq!(
            cmyk,
            ours.cmyk.iter().map(|&x| u64::from(x)).collect::<Vec<_>>()
        );
        assert_eq!(c["aqi_min"].as_u64().unwrap(), u64::from(ours.aqi_min));
        if let Some(max) = c["aqi_max"].as_u64() {
            assert_eq!(max, u64::from(ours.aqi_max));
        }
    }
}

fn pollutant_of(s: &str) -> AmbientPollutant {
    match s {
        "SO2" => AmbientPollutant::So2,
        "NO2" => AmbientPollutant::No2,
        "CO" => AmbientPollutant::Co,
        "O3" => AmbientPollutant::O3,
        "PM10" => AmbientPollutant::Pm10,
        "PM2.5" => AmbientPollutant::Pm25,
        "TSP" => AmbientPollutant::Tsp,
        "NOx" => AmbientPollutant::Nox,
        "Pb" => AmbientPollutant::Pb,
        "BaP" => AmbientPollutant::Bap,
        _ => panic!("unknown pollutant {s}"),
    }
}

fn period_of(s: &str) -> AveragingPeriod {
    match s {
        "annual" => AveragingPeriod::Annual,
        "quarterly" => AveragingPeriod::Quarterly,
        "24h" => AveragingPeriod::Day24h,
        "daily_max_8h" => AveragingPeriod::DailyMax8h,
        "1h" => AveragingPeriod::Hour1,
        _ => panic!("unknown period {s}"),
    }
}

/// GB 3095-2012 Tables 1–2 and GB 3095-2026 Tables 1–2 (transition and final columns): every
/// limit equals the reference, and the crate has no row the reference lacks.
#[test]
fn gb3095_limits_match_reference() {
    let r = reference();
    let al = &r["air"]["ambient_limits"];
    let cases: [(&str, Option<&str>, AmbientStandard); 3] = [
        ("GB3095-2012", None, AmbientStandard::Gb3095_2012),
        (
            "GB3095-2026",
            Some("transition_2026_2030"),
            AmbientStandard::Gb3095_2026Transition,
        ),
        (
            "GB3095-2026",
            Some("from_2031"),
            AmbientStandard::Gb3095_2026Final,
        ),
    ];
    for (key, stage, std) in cases {
        let rows = al[key]["limits"].as_array().unwrap();
        assert_eq!(
            rows.len(),
            ambient::table(std).rows.len(),
            "{key} {stage:?}"
        );
        for row in rows {
            let p = pollutant_of(row["pollutant"].as_str().unwrap());
            let t = period_of(row["period"].as_str().unwrap());
            let g = match stage {
                None => row,
                Some(s) => &row[s],
            };
            for (zone, k) in [(ZoneClass::Class1, "grade1"), (ZoneClass::Class2, "grade2")] {
                assert_eq!(
                    ambient::limit(std, p, t, zone),
                    Some(d(&g[k])),
                    "{} {:?} {:?} {:?}",
                    std.code(),
                    p,
                    t,
                    zone
                );
            }
            assert_eq!(p.is_mg(), row["unit"] == "mg/m3");
        }
    }
}

/// HJ 663 Annex A percentile: the worked example {3,4,8,2,5,4} p90 = 6.5.
#[test]
fn hj663_percentile_worked_example() {
    let r = reference();
    let ex = &r["air"]["assessment"]["percentile"]["worked_example"];
    let data: Vec<Decimal> = ex["data"].as_array().unwrap().iter().map(d).collect();
    assert_eq!(
        assessment::percentile(&data, d(&ex["p"])),
        Some(d(&ex["result"]))
    );
}

/// 环办〔2014〕64号 composite index: the worked example gives 3.06; Sᵢ equal the reference.
#[test]
fn composite_index_worked_example() {
    let r = reference();
    let ci = &r["air"]["assessment"]["composite_index"];
    for (p, s) in assessment::COMPOSITE_S_2012 {
        assert_eq!(d(&ci["S_i_2012"][p.name()]), s, "{}", p.name());
    }
    let i = &ci["worked_example"]["inputs"];
    let c = assessment::CompositeInputs {
        so2: d(&i["SO2"]),
        no2: d(&i["NO2"]),
        pm10: d(&i["PM10"]),
        pm25: d(&i["PM2.5"]),
        co_p95: d(&i["CO"]),
        o3_p90: d(&i["O3"]),
    };
    let got = assessment::composite_index_2012(&c);
    assert_eq!(got.value, d(&ci["worked_example"]["result"]));
    assert_eq!(got.primary, vec![AmbientPollutant::O3]);
}

fn limits_vec(l: &Limits) -> Vec<Value> {
    match l {
        Limits::None => vec![Value::Null; 5],
        Limits::Max(v) | Limits::Min(v) => v.iter().map(|x| Value::String(x.to_string())).collect(),
        Limits::Range(v) => v
            .iter()
            .map(|(a, b)| {
                Value::Array(vec![
                    Value::String(a.to_string()),
                    Value::String(b.to_string()),
                ])
            })
            .collect(),
    }
}

fn json_limits(v: &Value) -> Vec<Value> {
    ["I", "II", "III", "IV", "V"]
        .iter()
        .map(|k| match &v[k] {
            Value::Null => Value::Null,
            Value::Array(a) => {
                Value::Array(a.iter().map(|x| Value::String(d(x).to_string())).collect())
            }
            x => Value::String(d(x).to_string()),
        })
        .collect()
}

/// GB 3838-2002 Table 1: all 24 items — number, direction, class limits, lake TP column,
/// TN for lakes only.
#[test]
fn gb3838_table1_matches_reference() {
    let r = reference();
    let rows = r["water"]["GB3838-2002"]["table1_basic"]
        .as_array()
        .unwrap();
    assert_eq!(rows.len(), 24);
    for row in rows {
        let no = row["no"].as_u64().unwrap() as usize;
        let ours = &water::TABLE1[no - 1];
        assert_eq!(usize::from(ours.no), no);
        assert_eq!(
            row["item_cn"].as_str().unwrap().replace(['(', ')'], ""),
            ours.name_cn
                .replace(['(', ')'], "")
                .replace("COD", "")
                .replace("BOD5", "")
                .replace("NH3-N", ""),
            "no {no}"
        );
        let dir = match ours.direction {
            water::Direction::Max => "max",
            water::Direction::Min => "min",
            water::Direction::Range => "range",
            water::Direction::Special => "special",
        };
        assert_eq!(row["direction"], dir, "no {no}");
        let ours_l = limits_vec(&ours.limits);
        assert_eq!(json_limits(&row["limits"]), ours_l, "no {no}");
        match (&row.get("lake_reservoir_limits"), &ours.lake_limits) {
            (Some(j), Some(l)) => assert_eq!(json_limits(j), limits_vec(l), "no {no} lake"),
            (None, None) => {}
            _ => panic!("lake column mismatch at no {no}"),
        }
        assert_eq!(ours.lake_only, ours.item == WaterItem::Tn);
    }
}

/// GB 3838-2002 Tables 2 and 3: the 5 supplementary and all 80 specific drinking-water items.
#[test]
fn gb3838_tables_2_and_3_match_reference() {
    let r = reference();
    let g = &r["water"]["GB3838-2002"];
    let t2 = g["table2_drinking_supplementary"]["items"]
        .as_array()
        .unwrap();
    assert_eq!(t2.len(), water::TABLE2.len());
    for (j, o) in t2.iter().zip(water::TABLE2.iter()) {
        assert_eq!(j["item_cn"], o.name_cn);
        assert_eq!(d(&j["limit"]), o.limit, "{}", o.name_cn);
    }
    let t3 = g["table3_drinking_specific"]["items"].as_array().unwrap();
    assert_eq!(t3.len(), 80);
    for (j, o) in t3.iter().zip(water::TABLE3.iter()) {
        assert_eq!(j["no"].as_u64().unwrap(), u64::from(o.no));
        assert_eq!(j["item_cn"], o.name_cn);
        assert_eq!(d(&j["limit_mg_L"]), o.limit, "{}", o.name_cn);
    }
    let counts = &g["counts"];
    assert_eq!(counts["total"].as_u64().unwrap(), 24 + 5 + 80);
}

/// 环办〔2011〕22号: the 21 evaluation items are Table 1 minus water temperature, TN, fecal coliform.
#[test]
fn huanban_2011_22_evaluation_items() {
    let r = reference();
    let items = r["water"]["evaluation_huanban_2011_22"]["routine_items"]
        .as_array()
        .unwrap();
    assert_eq!(items.len(), 21);
    assert_eq!(water::EVALUATION_ITEMS.len(), 21);
    for i in WaterItem::ALL {
        let excluded = matches!(
            i,
            WaterItem::WaterTemp | WaterItem::Tn | WaterItem::FecalColiform
        );
        assert_eq!(water::EVALUATION_ITEMS.contains(&i), !excluded, "{i:?}");
    }
}

/// CNEMC 总站生字〔2001〕090号: TLI weights and correlations equal the reference and the
/// weights are r²/Σr².
#[test]
fn tli_weights_match_reference() {
    let r = reference();
    let t = &r["water"]["lake_trophic_TLI"];
    let keys = ["chla", "TP", "TN", "SD", "CODMn"];
    let sum: f64 = water::tli::R.iter().map(|r| r * r).sum();
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(t["weights"][k].as_f64().unwrap(), water::tli::WEIGHTS[i]);
        assert_eq!(t["r"][k].as_f64().unwrap(), water::tli::R[i]);
        let w = water::tli::R[i].powi(2) / sum;
        assert!((w - water::tli::WEIGHTS[i]).abs() < 0.00006, "{k}");
    }
}

/// GB 3096-2008 Table 1, GB 12348-2008 Table 1 and HJ 640-2012 grade bounds equal the reference.
#[test]
fn noise_tables_match_reference() {
    let r = reference();
    let n = &r["noise"];
    for z in noise::Zone::ALL {
        let l = n["GB3096-2008"]["limits"][z.code()].as_array().unwrap();
        assert_eq!(
            l[0].as_u64().unwrap(),
            u64::from(noise::gb3096_limit(z, noise::Period::Day))
        );
        assert_eq!(
            l[1].as_u64().unwrap(),
            u64::from(noise::gb3096_limit(z, noise::Period::Night))
        );
    }
    use noise::BoundaryZone as B;
    for (k, z) in [
        ("0", B::Z0),
        ("1", B::Z1),
        ("2", B::Z2),
        ("3", B::Z3),
        ("4", B::Z4),
    ] {
        let l = n["GB12348-2008"]["limits"][k].as_array().unwrap();
        assert_eq!(
            l[0].as_u64().unwrap(),
            u64::from(noise::gb12348_limit(z, noise::Period::Day, false))
        );
        assert_eq!(
            l[1].as_u64().unwrap(),
            u64::from(noise::gb12348_limit(z, noise::Period::Night, false))
        );
    }
    use noise::{Hj640Indicator as H, Period as P};
    for (k, i, p) in [
        ("regional_day", H::Regional, P::Day),
        ("regional_night", H::Regional, P::Night),
        ("traffic_day", H::Traffic, P::Day),
        ("traffic_night", H::Traffic, P::Night),
    ] {
        let b: Vec<u64> = n["HJ640-2012_grading"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert_eq!(
            b,
            noise::hj640_bounds(i, p)
                .iter()
                .map(|&x| u64::from(x))
                .collect::<Vec<_>>()
        );
    }
}

fn max_of(lib: &LimitLibrary, std: &str, grade: Option<&str>, p: &str) -> Option<Decimal> {
    lib.table(&TableKey::new(std, grade))
        .unwrap_or_else(|| panic!("table {std} {grade:?}"))
        .limits
        .iter()
        .find(|l| l.pollutant == p && l.conditions.is_empty())
        .and_then(|l| l.max)
}

/// GB 13271-2014 Tables 1–3 and §5.2 reference O2: every value equals the reference.
#[test]
fn gb13271_tables_match_reference() {
    let r = reference();
    let g = &r["emissions"]["GB13271-2014"];
    let lib = LimitLibrary::national();
    for (jk, t) in [
        ("in_use_table1", "in_use"),
        ("new_boilers_table2_from_2014_07_01", "new"),
        ("special_limits_table3_key_regions", "special"),
    ] {
        for fuel in ["coal", "oil", "gas"] {
            let grade = format!("{t}/{fuel}");
            for p in ["PM", "SO2", "NOx", "Hg"] {
                let j = &g[jk][fuel][p];
                let ours = max_of(&lib, emissions::GB13271, Some(&grade), p);
                assert_eq!(ours, (!j.is_null()).then(|| d(j)), "{grade} {p}");
            }
            let tb = lib
                .table(&TableKey::new(emissions::GB13271, Some(&grade)))
                .unwrap();
            let o2 = d(&g["reference_O2_pct"][fuel]);
            assert!(tb
                .limits
                .iter()
                .filter(|l| l.unit == "mg/m3")
                .all(|l| l.reference_o2_pct == Some(o2)));
        }
    }
    assert_eq!(
        max_of(
            &lib,
            emissions::GB13271,
            Some(emissions::GB13271_IN_USE_COAL_SW),
            "SO2"
        ),
        Some(d(&g["in_use_table1"]["coal"]["SO2_GX_CQ_SC_GZ"]))
    );
}

/// GB 8978-1996 Table 4 ("other dischargers") and Table 2 rows equal the reference.
#[test]
fn gb8978_tables_match_reference() {
    let r = reference();
    let g = &r["emissions"]["GB8978-1996"];
    let lib = LimitLibrary::national();
    let map = [
        ("COD", "COD"),
        ("BOD5", "BOD5"),
        ("SS", "SS"),
        ("NH3-N", "NH3N"),
        ("phosphate_as_P", "phosphate_P"),
        ("petroleum", "petroleum"),
        ("animal_veg_oil", "animal_veg_oil"),
        ("LAS", "LAS"),
    ];
    for (jk, p) in map {
        let col = g["table4_units_built_from_1998_01_01_other_dischargers_mg_L"][jk]
            .as_array()
            .unwrap();
        for (i, grade) in ["1", "2", "3"].iter().enumerate() {
            let j = &col[i];
            assert_eq!(
                max_of(&lib, emissions::GB8978, Some(grade), p),
                (!j.is_null()).then(|| d(j)),
                "{p} grade {grade}"
            );
        }
    }
    for p in ["COD", "BOD5", "SS"] {
        let col = g["table2_units_built_before_1998_other_dischargers_mg_L"][p]
            .as_array()
            .unwrap();
        for (i, grade) in ["1", "2", "3"].iter().enumerate() {
            assert_eq!(
                max_of(&lib, emissions::GB8978_TABLE2, Some(grade), p),
                Some(d(&col[i]))
            );
        }
    }
}

/// GB 18918-2002 Table 1 (incl. the NH3-N temperature and TP build-date rows) and Table 2.
#[test]
fn gb18918_tables_match_reference() {
    use emissions::{Context, Outlet};
    use standards::Date;
    let r = reference();
    let g = &r["emissions"]["GB18918-2002"];
    let lib = LimitLibrary::national();
    let t1 = &g["table1_daily_mean_mg_L"];
    let cols = ["1A", "1B", "2", "3"];
    let cases: [(&str, &str, Context); 12] = [
        ("COD", "COD", Context::default()),
        ("BOD5", "BOD5", Context::default()),
        ("SS", "SS", Context::default()),
        ("animal_veg_oil", "animal_veg_oil", Context::default()),
        ("petroleum", "petroleum", Context::default()),
        ("LAS", "LAS", Context::default()),
        ("TN", "TN", Context::default()),
        ("colour_dilution", "colour", Context::default()),
        ("fecal_coliform_per_L", "fecal_coliform", Context::default()),
        (
            "NH3-N_temp_gt_12C",
            "NH3N",
            Context {
                water_temp_c: Some(Decimal::new(121, 1)),
                built_on: None,
            },
        ),
        (
            "NH3-N_temp_le_12C",
            "NH3N",
            Context {
                water_temp_c: Some(Decimal::new(12, 0)),
                built_on: None,
            },
        ),
        (
            "TP_built_before_2006",
            "TP",
            Context {
                water_temp_c: None,
                built_on: Some(Date::ymd(2005, 12, 31)),
            },
        ),
    ];
    for (jk, p, ctx) in cases.iter().cloned().chain([(
        "TP_built_from_2006_01_01",
        "TP",
        Context {
            water_temp_c: None,
            built_on: Some(Date::ymd(2006, 1, 1)),
        },
    )]) {
        let col = t1[jk].as_array().unwrap();
        for (i, grade) in cols.iter().enumerate() {
            let outlet = Outlet {
                table: TableKey::new(emissions::GB18918, Some(grade)),
                region: None,
                context: ctx,
            };
            let got = lib.effective_limit(&outlet, p).and_then(|e| e.limit.max);
            let j = &col[i];
            assert_eq!(got, (!j.is_null()).then(|| d(j)), "{jk} {grade}");
        }
    }
    for (k, v) in g["table2_class1_pollutants_mg_L"].as_object().unwrap() {
        if v.is_string() {
            continue; // alkyl-Hg: not detectable
        }
        let p = if k == "Cr6+" { "Cr6" } else { k.as_str() };
        for grade in cols {
            assert_eq!(
                max_of(&lib, emissions::GB18918, Some(grade), p),
                Some(d(v)),
                "{k}"
            );
        }
    }
}

/// GB 18483-2001: 2.0 mg/m³, 2000 m³/h per reference stove, removal efficiency by scale.
#[test]
fn gb18483_matches_reference() {
    let r = reference();
    let g = &r["emissions"]["GB18483-2001"];
    assert_eq!(d(&g["max_emission_mg_m3"]), emissions::FUME_MAX_MG_M3);
    assert_eq!(
        d(&g["reference_stove"]["reference_flow_m3_h"]),
        emissions::FUME_REFERENCE_FLOW_M3_H
    );
    assert_eq!(
        d(&g["reference_stove"]["hood_projection_m2"]),
        emissions::REFERENCE_STOVE_HOOD_M2
    );
    assert_eq!(
        d(&g["reference_stove"]["heat_power_J_h"]),
        emissions::REFERENCE_STOVE_HEAT_J_H
    );
    let scales = g["scale"].as_array().unwrap();
    for (s, ours) in scales.iter().zip([
        emissions::RestaurantScale::Small,
        emissions::RestaurantScale::Medium,
        emissions::RestaurantScale::Large,
    ]) {
        assert_eq!(
            d(&s["min_removal_efficiency_pct"]),
            ours.min_removal_efficiency_pct()
        );
    }
}

/// HJ 633-2012 §5.1.2–5.1.3 and HJ 633-2026 §4.2.2–4.2.3: report indicator sets.
#[test]
fn hj633_report_sets_match_reference() {
    let r = reference();
    let a = &r["air"]["aqi"];
    assert_eq!(a["HJ633-2012"]["daily_report"]["count"], 7);
    assert_eq!(aqi::DAILY_2012.with_iaqi.len(), 7);
    assert_eq!(a["HJ633-2012"]["realtime_report"]["count"], 9);
    assert_eq!(
        aqi::HOURLY_2012.with_iaqi.len() + aqi::HOURLY_2012.concentration_only.len(),
        9
    );
    let d26: Vec<String> = a["HJ633-2026"]["daily_report"]["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().split(' ').next().unwrap().to_string())
        .collect();
    let mut ours: Vec<String> = aqi::DAILY_2026
        .with_iaqi
        .iter()
        .map(|i| i.name().to_string())
        .collect();
    let mut theirs = d26.clone();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
    assert_eq!(aqi::HOURLY_2026.with_iaqi.len(), 6);
}
