//! Bad profiles give precise errors: what, and where (file, item, field).

use profile::*;

/// Edit one embedded file as JSON and parse the result.
fn edited(file: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Profile {
    let src = match file {
        "county.json" => DIANJIANG.county,
        "towns.json" => DIANJIANG.towns,
        "sites.json" => DIANJIANG.sites,
        "enterprises.json" => DIANJIANG.enterprises.unwrap(),
        "fume.json" => DIANJIANG.fume.unwrap(),
        "indicators.json" => DIANJIANG.indicators.unwrap(),
        "targets.json" => DIANJIANG.targets.unwrap(),
        other => panic!("{other}"),
    };
    let mut v: serde_json::Value = serde_json::from_str(src).unwrap();
    edit(&mut v);
    let text = serde_json::to_string(&v).unwrap();
    let mut files = DIANJIANG;
    match file {
        "county.json" => files.county = &text,
        "towns.json" => files.towns = &text,
        "sites.json" => files.sites = &text,
        "enterprises.json" => files.enterprises = Some(&text),
        "fume.json" => files.fume = Some(&text),
        "indicators.json" => files.indicators = Some(&text),
        "targets.json" => files.targets = Some(&text),
        _ => unreachable!(),
    }
    Profile::from_json_strs(files).expect("parses")
}

fn issues(p: &Profile) -> Vec<Issue> {
    p.validate().expect_err("profile should be invalid")
}

fn site_mut<'a>(v: &'a mut serde_json::Value, code: &str) -> &'a mut serde_json::Value {
    v.as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["code"] == code)
        .unwrap()
}

#[test]
fn duplicate_site_code() {
    let p = edited("sites.json", |v| {
        site_mut(v, "AIR-02")["code"] = "AIR-01".into()
    });
    let i = issues(&p);
    assert_eq!(i.len(), 1, "{i:?}");
    assert_eq!(
        (i[0].file.as_str(), i[0].at.as_str(), i[0].field.as_str()),
        ("sites.json", "site AIR-01", "code")
    );
    assert!(matches!(&i[0].problem, Problem::DuplicateCode { code, .. } if code == "AIR-01"));
}

#[test]
fn outlet_code_clashing_with_a_site() {
    let p = edited("enterprises.json", |v| {
        v[0]["outlets"][0]["code"] = "AIR-01".into()
    });
    let i = issues(&p);
    assert_eq!(i[0].file, "enterprises.json");
    assert!(matches!(i[0].problem, Problem::DuplicateCode { .. }));
}

#[test]
fn unknown_town() {
    let p = edited("sites.json", |v| {
        site_mut(v, "NZ-03")["town"] = "500231999000".into()
    });
    let i = issues(&p);
    assert_eq!(i.len(), 1);
    assert_eq!(
        (i[0].at.as_str(), i[0].field.as_str()),
        ("site NZ-03", "town")
    );
    assert_eq!(
        i[0].problem,
        Problem::UnknownTown {
            town: "500231999000".into()
        }
    );
    assert_eq!(
        i[0].to_string(),
        "sites.json: site NZ-03: town: town \"500231999000\" is not in towns.json"
    );
}

#[test]
fn site_out_of_bbox_and_out_of_boundary() {
    let p = edited("sites.json", |v| {
        site_mut(v, "SW-LJT")["location"]["lon"] = 106.5.into();
        // Inside the bbox, outside the polygon (the bbox's north-west corner).
        site_mut(v, "SW-PS")["location"] =
            serde_json::json!({"lon": 107.23, "lat": 30.51, "approx": true});
    });
    let i = issues(&p);
    assert_eq!(i.len(), 2, "{i:?}");
    assert_eq!(i[0].at, "site SW-LJT");
    assert_eq!(i[0].field, "location");
    assert!(matches!(i[0].problem, Problem::OutOfBbox { lon, .. } if lon == 106.5));
    assert_eq!(i[1].at, "site SW-PS");
    assert!(matches!(i[1].problem, Problem::OutOfBoundary { .. }));
}

#[test]
fn bad_zone_and_bad_water_class() {
    let p = edited("sites.json", |v| {
        site_mut(v, "NZ-01")["noise"]["zone"] = "5".into();
        site_mut(v, "SW-WD")["surface_water"]["target_class"] = "劣V".into();
        site_mut(v, "DW-SHSK")["drinking_water"]["target_class"] = "VI".into();
    });
    let i = issues(&p);
    assert_eq!(i.len(), 3, "{i:?}");
    assert_eq!(
        (i[0].at.as_str(), i[0].field.as_str()),
        ("site SW-WD", "surface_water.target_class")
    );
    assert_eq!(
        i[0].problem,
        Problem::BadWaterClass {
            class: "劣V".into()
        }
    );
    assert_eq!(
        (i[1].at.as_str(), i[1].field.as_str()),
        ("site DW-SHSK", "drinking_water.target_class")
    );
    assert_eq!(
        (i[2].at.as_str(), i[2].field.as_str()),
        ("site NZ-01", "noise.zone")
    );
    assert_eq!(i[2].problem, Problem::BadZone { zone: "5".into() });
}

#[test]
fn missing_and_stray_attribute_blocks() {
    let p = edited("sites.json", |v| {
        let s = site_mut(v, "AIR-03");
        let air = s.as_object_mut().unwrap().remove("air").unwrap();
        s["noise"] = serde_json::json!({"zone": "2"});
        let _ = air;
    });
    let i = issues(&p);
    assert_eq!(i.len(), 2, "{i:?}");
    assert!(matches!(
        i[0].problem,
        Problem::MissingAttributes { block: "air", .. }
    ));
    assert!(matches!(
        i[1].problem,
        Problem::StrayAttributes { block: "noise", .. }
    ));
}

#[test]
fn indicator_missing_target_and_department() {
    let p = edited("indicators.json", |v| {
        v[5].as_object_mut().unwrap().remove("target_2025");
        v[2].as_object_mut().unwrap().remove("department");
    });
    let i = issues(&p);
    assert_eq!(i.len(), 2, "{i:?}");
    assert_eq!(
        (i[0].file.as_str(), i[0].at.as_str(), i[0].field.as_str()),
        ("indicators.json", "indicator I03", "department")
    );
    assert_eq!(i[0].problem, Problem::MissingDepartment);
    assert_eq!(
        (i[1].at.as_str(), i[1].field.as_str()),
        ("indicator I06", "target_2025")
    );
    assert_eq!(i[1].problem, Problem::MissingTarget);
}

#[test]
fn bad_outlet_pollutant_limit_and_o2() {
    let p = edited("enterprises.json", |v| {
        let o = &mut v[0]["outlets"][0];
        o["limits"][0]["pollutant"] = "SO2".into();
        o["limits"][1]["upper"] = (-1.0).into();
        o.as_object_mut().unwrap().remove("reference_o2_pct");
    });
    let i = issues(&p);
    assert_eq!(i.len(), 3, "{i:?}");
    assert!(i
        .iter()
        .all(|x| x.file == "enterprises.json" && x.at == "site ENT-ZQBL-01"));
    assert_eq!(i[0].problem, Problem::MissingReferenceO2);
    assert_eq!(i[1].field, "limits[0].pollutant");
    assert_eq!(
        i[1].problem,
        Problem::BadPollutantCode { code: "SO2".into() }
    );
    assert_eq!(i[2].problem, Problem::BadLimit);
}

#[test]
fn fume_distribution_must_add_up() {
    let p = edited("fume.json", |v| v["count"] = 1000.into());
    let i = issues(&p);
    assert_eq!(
        i[0].problem,
        Problem::FumeCountMismatch {
            count: 1000,
            sum: 1357
        }
    );
}

#[test]
fn target_unknown_site() {
    let p = edited("targets.json", |v| {
        let t = v
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|t| t["code"] == "T-SW-LJT")
            .unwrap();
        t["site"] = "SW-NOPE".into();
    });
    let i = issues(&p);
    assert_eq!(
        (i[0].at.as_str(), i[0].field.as_str()),
        ("target T-SW-LJT", "site")
    );
}

#[test]
fn parse_errors_name_file_line_and_column() {
    let mut files = DIANJIANG;
    files.towns = "[\n  {\"code\": \"500231001000\", \"name\": \"桂溪街道\", \"kind\": \"street\", \"colour\": 1}\n]";
    let e = Profile::from_json_strs(files).unwrap_err();
    match e {
        ProfileError::Parse {
            file,
            line,
            message,
            ..
        } => {
            assert_eq!(file, "towns.json");
            assert_eq!(line, 2);
            assert!(message.contains("colour"), "{message}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn load_dir_reports_missing_folder() {
    let e = Profile::load_dir("/nonexistent/profile").unwrap_err();
    assert!(matches!(e, ProfileError::Io { .. }), "{e}");
}
