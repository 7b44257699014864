//! The embedded Dianjiang profile against the plan (垫江县生态环境保护"十四五"规划).

use std::collections::HashSet;

use profile::*;

fn dj() -> Profile {
    Profile::dianjiang()
}

#[test]
fn embedded_profile_loads_and_validates() {
    let p = dj();
    if let Err(issues) = p.validate() {
        panic!("{}", ProfileError::Invalid(issues));
    }
    assert_eq!(p.county.code, "500231");
    assert_eq!(p.county.name, "垫江县");
    assert_eq!(p.county.utc_offset_seconds(), Some(8 * 3600));
    assert!(p.has_boundary());
}

#[test]
fn load_dir_reads_the_same_profile_as_embedded() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../profiles/dianjiang");
    let loaded = Profile::load_dir(dir).expect("profiles/dianjiang loads");
    assert_eq!(loaded, dj());
}

#[test]
fn twenty_six_towns_with_reference_codes() {
    let p = dj();
    assert_eq!(p.towns().len(), 26);
    for (code, name) in [
        ("500231001000", "桂溪街道"),
        ("500231002000", "桂阳街道"),
        ("500231106000", "高安镇"),
        ("500231122000", "长龙镇"),
        ("500231202000", "沙河乡"),
        ("500231204000", "大石乡"),
    ] {
        assert_eq!(p.town(code).map(|t| t.name.as_str()), Some(name));
    }
    assert_eq!(p.county.seat_town, "500231001000");
    for t in p.towns() {
        assert!(t.centre.approx, "{} coordinates are not surveyed", t.name);
        assert!(
            p.contains(t.centre.lon, t.centre.lat),
            "{} centre outside boundary",
            t.name
        );
    }
}

/// 专栏二: (seq, name, type, 2020, cumulative, 2025 target).
type Row = (
    u32,
    &'static str,
    IndicatorType,
    Option<f64>,
    bool,
    IndicatorTarget,
);

#[test]
fn fifteen_indicators_match_zhuanlan_er() {
    use IndicatorTarget::*;
    let p = dj();
    assert_eq!(p.indicators().len(), 15);
    let num = |v: f64, d: Direction| Numeric {
        value: v,
        direction: d,
    };
    let state = || Assigned {
        text: "以国家核定为准".into(),
        set_by: SetBy::State,
    };
    let city = || Assigned {
        text: "市级下达".into(),
        set_by: SetBy::City,
    };
    let b = IndicatorType::Binding;
    let table: [Row; 15] = [
        (1, "生态保护红线面积占比", b, Some(13.14), false, state()),
        (2, "自然保护地面积占比", b, Some(11.8), false, state()),
        (
            3,
            "森林覆盖率",
            b,
            Some(46.0),
            false,
            num(46.0, Direction::AtLeast),
        ),
        (
            4,
            "单位生产总值二氧化碳排放量下降率",
            b,
            None,
            false,
            city(),
        ),
        (5, "单位地区生产总值能耗下降率", b, Some(12.0), true, city()),
        (
            6,
            "环境空气质量优良天数",
            b,
            Some(350.0),
            false,
            num(330.0, Direction::AtLeast),
        ),
        (
            7,
            "地表水水质优良（达到或好于III类）比例",
            b,
            Some(100.0),
            false,
            num(100.0, Direction::Equal),
        ),
        (
            8,
            "城市集中式饮用水水源地水质达标率",
            b,
            Some(100.0),
            false,
            num(100.0, Direction::Equal),
        ),
        (
            9,
            "乡镇集中式饮用水水源地水质达标率",
            IndicatorType::Expected,
            Some(93.2),
            false,
            num(93.0, Direction::AtLeast),
        ),
        (10, "氮氧化物排放量下降率", b, Some(6.8), true, city()),
        (11, "挥发性有机物排放量下降率", b, None, false, city()),
        (12, "化学需氧量排放量下降率", b, Some(8.2), true, city()),
        (13, "氨氮排放量下降率", b, Some(9.1), true, city()),
        (
            14,
            "受污染耕地安全利用率",
            b,
            Some(95.0),
            false,
            num(97.0, Direction::AtLeast),
        ),
        (
            15,
            "污染地块安全利用率",
            b,
            Some(100.0),
            false,
            num(100.0, Direction::Equal),
        ),
    ];
    for (seq, name, kind, base, cumulative, target) in table {
        let code = format!("I{seq:02}");
        let i = p
            .indicator(&code)
            .unwrap_or_else(|| panic!("{code} missing"));
        assert_eq!(i.seq, seq);
        assert_eq!(i.name, name, "{code}");
        assert_eq!(i.kind, kind, "{code}");
        assert_eq!(i.baseline_2020, base, "{code} 2020");
        assert_eq!(i.cumulative, cumulative, "{code} [ ]");
        assert_eq!(i.target_2025.as_ref(), Some(&target), "{code} 2025");
        assert_eq!(i.source, "规划 专栏二");
    }
    let comp = |c: &str| p.indicator(c).unwrap().computed_from;
    assert_eq!(comp("I06"), Computation::GoodDays);
    assert_eq!(comp("I07"), Computation::SectionsClassIiiShare);
    assert_eq!(comp("I08"), Computation::DrinkingWaterComplianceUrban);
    assert_eq!(comp("I09"), Computation::DrinkingWaterComplianceTownship);
    for i in p.indicators() {
        if i.computed_from == Computation::Manual {
            assert!(i.department.is_some(), "{}", i.code);
            assert_eq!(
                i.department_source.as_deref(),
                Some("assumed"),
                "{}: the plan names no department",
                i.code
            );
        }
    }
}

#[test]
fn named_sections_and_sources_with_target_classes() {
    let p = dj();
    let w = WaterClass::III;
    for (code, name, level, class) in [
        ("SW-LJT", "龙溪河(六剑滩)", ControlLevel::National, w),
        ("SW-PS", "龙溪河(普顺)", ControlLevel::National, w),
        ("SW-WJ", "大沙河(汪家)", ControlLevel::City, w),
        ("SW-WD", "卧龙河(五洞)", ControlLevel::City, w),
        ("SW-HT", "打渔溪(海棠)", ControlLevel::County, WaterClass::V),
    ] {
        let s = p.site(code).unwrap_or_else(|| panic!("{code}"));
        assert_eq!(s.kind, SiteKind::SurfaceWater);
        assert_eq!(s.name, name);
        let a = s.surface_water.as_ref().unwrap();
        assert_eq!(a.control_level, level, "{code}");
        assert_eq!(s.target_class(), Some(class), "{code}");
        assert_eq!(a.water_body, WaterBody::River);
    }
    // 打渔溪(海棠)'s level and class are assumptions (the plan: eliminate 劣V).
    let ht = p.site("SW-HT").unwrap();
    assert!(ht.assumed.iter().any(|a| a == "control_level"));
    assert!(ht.assumed.iter().any(|a| a == "target_class"));

    let sh = p.site("DW-SHSK").unwrap();
    let d = sh.drinking_water.as_ref().unwrap();
    assert_eq!(
        (d.scope, d.water_body),
        (SourceScope::Urban, WaterBody::Lake)
    );
    assert_eq!(sh.target_class(), Some(WaterClass::III));
    let township: Vec<_> = p
        .sites_by_kind(SiteKind::DrinkingWater)
        .filter(|s| s.drinking_water.as_ref().unwrap().scope == SourceScope::Township)
        .collect();
    assert_eq!(
        township.len(),
        18,
        "the plan names 18 of its 26 township sources"
    );
    for s in &township {
        let d = s.drinking_water.as_ref().unwrap();
        assert_eq!(
            d.water_body == WaterBody::Lake,
            d.source_type == SourceType::Reservoir,
            "{}",
            s.code
        );
    }
}

#[test]
fn other_sites_and_outlets() {
    let p = dj();
    let air: Vec<_> = p.sites_by_kind(SiteKind::Air).collect();
    assert!((2..=4).contains(&air.len()));
    assert!(air.iter().all(|s| s.source == "assumed"));
    let zones: HashSet<_> = p
        .sites_by_kind(SiteKind::Noise)
        .map(|s| s.noise.as_ref().unwrap().zone().unwrap())
        .collect();
    assert!(zones.len() >= 4);
    assert_eq!(p.enterprises.len(), 12);
    let zq = p.site("ENT-ZQBL-01").unwrap();
    assert_eq!(zq.kind, SiteKind::FlueGas);
    assert_eq!(zq.outlet.as_ref().unwrap().enterprise, "ENT-ZQBL");
    let wwtp = p.site("ENT-CNWS-01").unwrap().outlet.as_ref().unwrap();
    assert_eq!(wwtp.standard.standard, "GB 18918-2002");
    assert_eq!(wwtp.limit("w01018").unwrap().upper, Some(50.0));
    assert_eq!(wwtp.limit("w21003").unwrap().upper_low_temp, Some(8.0));
    let ph = wwtp.limit("w01001").unwrap();
    assert_eq!((ph.lower, ph.upper), (Some(6.0), Some(9.0)));
    for s in p.sites_by_kind(SiteKind::FlueGas) {
        assert!(
            s.outlet.as_ref().unwrap().reference_o2_pct.is_some(),
            "{}",
            s.code
        );
    }
    for s in &p.sites {
        assert!(s.location.approx, "{}", s.code);
        assert!(!s.source.is_empty(), "{}", s.code);
    }
}

#[test]
fn targets_cite_the_plan() {
    let p = dj();
    let pm = p.target("T-AIR-PM25").unwrap();
    assert_eq!(
        (pm.value, pm.direction),
        (Some(35.0), Some(Direction::AtMost))
    );
    assert_eq!(p.target("T-FUME-ONLINE").unwrap().value, Some(1357.0));
    assert_eq!(p.target("T-RURAL-SEWAGE").unwrap().value, Some(37.0));
    assert_eq!(
        p.target("T-SW-LJT").unwrap().site.as_deref(),
        Some("SW-LJT")
    );
    assert!(p.targets.iter().all(|t| t.source.starts_with("规划")));
    assert_eq!(p.history.air_2020.as_ref().unwrap().good_days, 350);
}

#[test]
fn restaurants_are_1357_deterministic_unique_and_inside() {
    let p = dj();
    let a = p.restaurants();
    assert_eq!(a.len(), 1357);
    assert_eq!(a, p.restaurants(), "deterministic");
    assert_eq!(a[0].code, "FUME-0001");
    assert_eq!(a[1356].code, "FUME-1357");
    let mut codes: HashSet<&str> = p.sites.iter().map(|s| s.code.as_str()).collect();
    for r in &a {
        assert!(codes.insert(&r.code), "duplicate {}", r.code);
        assert_eq!(r.kind, SiteKind::Fume);
        assert!(
            p.county.bbox.contains(r.location.lon, r.location.lat),
            "{} outside bbox",
            r.code
        );
        assert!(
            p.contains(r.location.lon, r.location.lat),
            "{} outside boundary",
            r.code
        );
        assert!(p.town(&r.town).is_some());
        let f = r.fume.as_ref().unwrap();
        assert_eq!(f.scale, FumeScale::from_stoves(f.stoves));
        assert_eq!(f.limit_mg_m3, 2.0);
        assert!(!r.name.is_ascii(), "Chinese name");
    }
    let scales: HashSet<_> = a.iter().map(|r| r.fume.as_ref().unwrap().scale).collect();
    assert_eq!(scales.len(), 3);
    assert_eq!(p.fleet().len(), p.sites.len() + 1357);
    // Every kind is in the fleet, for the simulator.
    let kinds: HashSet<_> = p.fleet().iter().map(|s| s.kind).collect();
    assert_eq!(kinds.len(), SiteKind::ALL.len());
}
