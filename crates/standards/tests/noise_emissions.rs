//! GB 3096-2008, GB 12348-2008, HJ 640-2012; GB 18483-2001, GB 13271-2014, local tables.

use rust_decimal_macros::dec;
use standards::emissions::{
    self, Context, LimitLibrary, LimitTable, Outlet, RestaurantScale, TableKey,
};
use standards::noise::{
    self, BackgroundCorrection, BoundaryZone, DayNight, Hj640Indicator, NightNoise, Period, Zone,
};

/// GB 3096-2008 Table 1, every zone, day and night: at the limit compliant, 0.1 above not.
#[test]
fn gb3096_every_zone_at_and_above_limit() {
    for z in Zone::ALL {
        for p in [Period::Day, Period::Night] {
            let l = rust_decimal::Decimal::from(noise::gb3096_limit(z, p));
            let at = noise::gb3096_verdict(z, p, l, None);
            assert!(at.compliant && at.exceedance.is_zero(), "{z:?} {p:?}");
            let below = noise::gb3096_verdict(z, p, l - dec!(0.1), None);
            assert!(below.compliant);
            let above = noise::gb3096_verdict(z, p, l + dec!(0.1), None);
            assert!(!above.compliant && above.exceedance == dec!(0.1));
        }
    }
}

/// GB 3096-2008 §5.4: at night Lmax may exceed the limit by at most 15 dB(A); no Lmax rule by day.
#[test]
fn gb3096_night_lmax() {
    let v = noise::gb3096_verdict(Zone::Z1, Period::Night, dec!(44), Some(dec!(60)));
    assert_eq!((v.lmax_limit, v.lmax_compliant), (Some(60), Some(true)));
    let v = noise::gb3096_verdict(Zone::Z1, Period::Night, dec!(44), Some(dec!(60.1)));
    assert_eq!(v.lmax_compliant, Some(false));
    let v = noise::gb3096_verdict(Zone::Z1, Period::Day, dec!(44), Some(dec!(90)));
    assert_eq!(v.lmax_limit, None);
}

/// GB 3096-2008 §3 / noise law: day 06:00–22:00 by default, configurable.
#[test]
fn day_night_hours_configurable() {
    let d = DayNight::default();
    assert_eq!(d.period_at(5, 59), Period::Night);
    assert_eq!(d.period_at(6, 0), Period::Day);
    assert_eq!(d.period_at(21, 59), Period::Day);
    assert_eq!(d.period_at(22, 0), Period::Night);
    let local = DayNight {
        day_start_min: 7 * 60,
        night_start_min: 23 * 60,
    };
    assert_eq!(local.period_at(6, 30), Period::Night);
    assert_eq!(local.period_at(22, 30), Period::Day);
}

/// GB 12348-2008 §4.1.2: night Lmax frequent +10, occasional +15; §4.1.4 indoor −10 dB.
#[test]
fn gb12348_boundary_rules() {
    assert_eq!(
        noise::gb12348_limit(BoundaryZone::Z4, Period::Night, false),
        55
    );
    assert_eq!(
        noise::gb12348_limit(BoundaryZone::Z2, Period::Day, true),
        50
    );
    let f = noise::gb12348_verdict(
        BoundaryZone::Z2,
        Period::Night,
        false,
        dec!(50),
        Some((NightNoise::Frequent, dec!(61))),
    );
    assert_eq!((f.lmax_limit, f.lmax_compliant), (Some(60), Some(false)));
    let o = noise::gb12348_verdict(
        BoundaryZone::Z2,
        Period::Night,
        false,
        dec!(50),
        Some((NightNoise::Occasional, dec!(61))),
    );
    assert_eq!((o.lmax_limit, o.lmax_compliant), (Some(65), Some(true)));
    assert_eq!(
        noise::gb12348_structure_borne(BoundaryZone::Z1, noise::RoomType::B),
        (45, 35)
    );
}

/// GB 12348-2008 §5.4 background correction: >10 none, 6–10 −1, 4–5 −2, 3 −3, <3 re-measure.
#[test]
fn gb12348_background_correction() {
    use BackgroundCorrection::*;
    assert_eq!(
        noise::background_correction(dec!(60), dec!(49)),
        Corrected(dec!(60))
    );
    assert_eq!(
        noise::background_correction(dec!(60), dec!(50)),
        Corrected(dec!(59))
    );
    assert_eq!(
        noise::background_correction(dec!(60), dec!(55.4)),
        Corrected(dec!(58))
    );
    assert_eq!(
        noise::background_correction(dec!(60), dec!(57)),
        Corrected(dec!(57))
    );
    assert_eq!(
        noise::background_correction(dec!(60), dec!(57.6)),
        Remeasure
    );
}

/// HJ 640-2012 grades (medium confidence): regional day ≤ 50 一级 … > 65 五级; traffic night.
#[test]
fn hj640_grades() {
    let g = |i, p, v| noise::hj640_grade(i, p, v);
    assert_eq!(g(Hj640Indicator::Regional, Period::Day, dec!(50.0)), 1);
    assert_eq!(g(Hj640Indicator::Regional, Period::Day, dec!(50.1)), 2);
    assert_eq!(g(Hj640Indicator::Regional, Period::Day, dec!(65.0)), 4);
    assert_eq!(g(Hj640Indicator::Regional, Period::Day, dec!(65.1)), 5);
    assert_eq!(g(Hj640Indicator::Traffic, Period::Night, dec!(58.0)), 1);
    assert_eq!(g(Hj640Indicator::Traffic, Period::Night, dec!(64.1)), 5);
    assert_eq!(noise::HJ640_GRADE_NAMES[4], "差");
}

/// GB 18483-2001: normalisation to 2000 m³/h per reference stove; scale and removal efficiency.
#[test]
fn gb18483_restaurant() {
    // 3 stoves, measured 1.5 mg/m3 at 8000 m3/h → 1.5 × 8000 / 6000 = 2.0 (compliant, inclusive).
    let c = emissions::fume_normalised(dec!(1.5), dec!(8000), dec!(3)).unwrap();
    assert_eq!(c, dec!(2));
    let lib = LimitLibrary::national();
    let outlet = Outlet {
        table: TableKey::new(emissions::GB18483, None),
        region: None,
        context: Context::default(),
    };
    let l = lib.effective_limit(&outlet, "fume").unwrap();
    assert!(l.limit.complies(c) && !l.limit.complies(dec!(2.01)));
    assert_eq!(
        RestaurantScale::from_stoves(dec!(2.9)),
        Some(RestaurantScale::Small)
    );
    assert_eq!(
        RestaurantScale::from_stoves(dec!(3)),
        Some(RestaurantScale::Medium)
    );
    assert_eq!(
        RestaurantScale::from_stoves(dec!(6)),
        Some(RestaurantScale::Large)
    );
    assert_eq!(RestaurantScale::from_stoves(dec!(0.5)), None);
    assert_eq!(emissions::reference_stoves_from_hood(dec!(3.3)), dec!(3));
    assert_eq!(
        emissions::removal_efficiency_pct(dec!(10), dec!(1000), dec!(2), dec!(1000)),
        Some(dec!(80))
    );
    // Annex A: a sample below 1/4 of the max is invalid; need ≥ 3 valid.
    assert_eq!(
        emissions::fume_sampling_result(&[dec!(2), dec!(1), dec!(1.5), dec!(0.4), dec!(0.5)]),
        Some(dec!(1.25))
    );
    assert_eq!(
        emissions::fume_sampling_result(&[dec!(4), dec!(0.5), dec!(0.9), dec!(1)]),
        None
    );
}

/// GB 13271-2014 §5.2: ρ = ρ′ × (21 − φ_ref)/(21 − φ′); gas boilers at 3.5 % O2.
#[test]
fn gb13271_o2_conversion() {
    assert_eq!(
        emissions::o2_correct(dec!(100), dec!(11), dec!(3.5)),
        Ok(dec!(175))
    );
    assert_eq!(
        emissions::o2_correct(dec!(100), dec!(9), dec!(9)),
        Ok(dec!(100))
    );
    assert!(emissions::o2_correct(dec!(100), dec!(21), dec!(9)).is_err());
    let lib = LimitLibrary::national();
    let grade = emissions::gb13271_grade(emissions::BoilerTable::New, emissions::Fuel::Gas);
    let outlet = Outlet {
        table: TableKey::new(emissions::GB13271, Some(&grade)),
        region: None,
        context: Context::default(),
    };
    let l = lib.effective_limit(&outlet, "NOx").unwrap();
    assert_eq!(
        (l.limit.max, l.limit.reference_o2_pct),
        (Some(dec!(200)), Some(dec!(3.5)))
    );
}

/// Local (provincial) limits are data: a JSON table that supersedes GB 13271 gas boilers with
/// NOx 30 mg/m³ tightens the limit for outlets in that region only.
#[test]
fn local_table_from_json_tightens_national() {
    let local: LimitTable = serde_json::from_str(
        r#"{"standard":"DB50/658-2016","grade":"gas","source":"DB50/658 Table 2 (example)",
            "region":"重庆","supersedes":[{"standard":"GB13271-2014","grade":"new/gas"}],
            "limits":[{"pollutant":"NOx","unit":"mg/m3","max":"30","reference_o2_pct":"3.5"}]}"#,
    )
    .unwrap();
    let mut lib = LimitLibrary::national();
    lib.add(local);
    let key = TableKey::new(emissions::GB13271, Some("new/gas"));
    let cq = Outlet {
        table: key.clone(),
        region: Some("重庆".into()),
        context: Context::default(),
    };
    let l = lib.effective_limit(&cq, "NOx").unwrap();
    assert_eq!(l.limit.max, Some(dec!(30)));
    assert_eq!(l.table.key.standard, "DB50/658-2016");
    // SO2 is not in the local table: the national limit stands.
    assert_eq!(
        lib.effective_limit(&cq, "SO2").unwrap().limit.max,
        Some(dec!(50))
    );
    let elsewhere = Outlet {
        table: key,
        region: Some("四川".into()),
        context: Context::default(),
    };
    assert_eq!(
        lib.effective_limit(&elsewhere, "NOx").unwrap().limit.max,
        Some(dec!(200))
    );
    // The library round-trips through JSON.
    let s = serde_json::to_string(&lib).unwrap();
    let back: LimitLibrary = serde_json::from_str(&s).unwrap();
    assert_eq!(back, lib);
}

/// GB 18918-2002 Table 1: NH3-N by water temperature; without the temperature the row is
/// undecidable and no limit is returned.
#[test]
fn gb18918_conditional_rows() {
    let lib = LimitLibrary::national();
    let mut o = Outlet {
        table: TableKey::new(emissions::GB18918, Some("1A")),
        region: None,
        context: Context::default(),
    };
    assert!(lib.effective_limit(&o, "NH3N").is_none());
    o.context.water_temp_c = Some(dec!(8));
    assert_eq!(
        lib.effective_limit(&o, "NH3N").unwrap().limit.max,
        Some(dec!(8))
    );
    let ph = lib.effective_limit(&o, "pH").unwrap().limit;
    assert!(ph.complies(dec!(6)) && ph.complies(dec!(9)) && !ph.complies(dec!(9.1)));
}
