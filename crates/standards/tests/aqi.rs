//! HJ 633-2012 and HJ 633-2026: IAQI at, just below and just above every breakpoint of
//! every Table 1 row; the >800 and above-table rules; report rules; property tests.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use standards::aqi::{
    self, AqiStandard, IaqiOutcome, IaqiRule, Indicator, Reading, ReportKind, Table, IAQI_LEVELS,
};
use standards::Date;

/// Independent oracle: the integer recipe of standards.md §10 (concentration × 10^d in i128).
fn oracle(std: AqiStandard, table: Table, c: Decimal) -> Option<u16> {
    let t = aqi::breakpoints(std, table);
    let scale = dec!(10);
    let to_i = |x: Decimal| -> i128 {
        let y = x * scale * scale * scale;
        assert_eq!(y.fract(), Decimal::ZERO, "oracle needs ≤ 3 decimals");
        y.trunc().mantissa() / 10i128.pow(y.trunc().scale())
    };
    let ci = to_i(c);
    for i in 1..t.values.len() {
        let (lo, hi) = (to_i(t.values[i - 1]), to_i(t.values[i]));
        if ci <= hi {
            let (l0, l1) = (i128::from(IAQI_LEVELS[i - 1]), i128::from(IAQI_LEVELS[i]));
            let num = (l1 - l0) * (ci - lo);
            let den = hi - lo;
            return Some((l0 + (num + den - 1).div_euclid(den)) as u16);
        }
    }
    None
}

fn indicator_for(table: Table) -> Indicator {
    match table {
        Table::So2_24h => Indicator::So2_24h,
        Table::So2_1h => Indicator::So2_1h,
        Table::No2_24h => Indicator::No2_24h,
        Table::No2_1h => Indicator::No2_1h,
        Table::Pm10_24h => Indicator::Pm10_24h,
        Table::Co_24h => Indicator::Co_24h,
        Table::Co_1h => Indicator::Co_1h,
        Table::O3_1h => Indicator::O3_1h,
        Table::O3_8h => Indicator::O3_8h,
        Table::Pm25_24h => Indicator::Pm25_24h,
    }
}

fn value(std: AqiStandard, ind: Indicator, c: Decimal) -> Option<u16> {
    aqi::iaqi(std, ind, c).unwrap().value()
}

/// HJ 633-2012 Table 1 and HJ 633-2026 Table 1, every row and every breakpoint: at the
/// breakpoint the IAQI is the level; one reporting step (1 µg/m³, CO 0.1 mg/m³) below it is
/// ≤ the level; one step above is > the level; all three equal the integer oracle.
#[test]
fn hj633_table1_every_breakpoint_at_below_above() {
    let mut n = 0;
    for std in AqiStandard::ALL {
        for table in Table::ALL {
            let t = aqi::breakpoints(std, table);
            let ind = indicator_for(table);
            let step = if ind.rounding_dp() == 1 {
                dec!(0.1)
            } else {
                dec!(1)
            };
            for (i, &bp) in t.values.iter().enumerate() {
                let level = IAQI_LEVELS[i];
                assert_eq!(
                    value(std, ind, bp),
                    Some(level),
                    "{} {table:?} at {bp}",
                    std.code()
                );
                if i > 0 {
                    let below = value(std, ind, bp - step).unwrap();
                    assert!(
                        below <= level && below > IAQI_LEVELS[i - 1],
                        "{table:?} below {bp}"
                    );
                    assert_eq!(Some(below), oracle(std, table, bp - step));
                }
                if i + 1 < t.values.len() {
                    let above = value(std, ind, bp + step).unwrap();
                    assert!(above > level, "{} {table:?} above {bp}", std.code());
                    assert_eq!(Some(above), oracle(std, table, bp + step));
                }
                n += 1;
            }
        }
    }
    assert_eq!(n, 2 * (8 * 8 + 5 + 6));
}

/// HJ 633-2012 (no concentration rounding): fractional concentrations just below and just above
/// every breakpoint (±0.01, CO ±0.001) against the oracle.
#[test]
fn hj633_2012_fractional_neighbourhood_of_breakpoints() {
    let std = AqiStandard::Hj633_2012;
    for table in Table::ALL {
        let t = aqi::breakpoints(std, table);
        let ind = indicator_for(table);
        let eps = if ind.rounding_dp() == 1 {
            dec!(0.001)
        } else {
            dec!(0.01)
        };
        for (i, &bp) in t.values.iter().enumerate() {
            if i > 0 {
                assert_eq!(
                    value(std, ind, bp - eps),
                    Some(IAQI_LEVELS[i]),
                    "{table:?} {bp}-"
                );
                assert_eq!(value(std, ind, bp - eps), oracle(std, table, bp - eps));
            }
            if i + 1 < t.values.len() {
                assert_eq!(
                    value(std, ind, bp + eps),
                    Some(IAQI_LEVELS[i] + 1),
                    "{table:?} {bp}+"
                );
            }
        }
    }
}

/// HJ 633-2026 §4.2.6: concentrations are rounded by GB/T 8170 first — 35.5 → 36 (PM2.5 IAQI 52,
/// where 2012 gives 51); CO 2.25 → 2.2 (55; 2012 gives 57); 2.35 → 2.4 (60).
#[test]
fn hj633_2026_rounds_concentration_half_even_first() {
    let (a, b) = (AqiStandard::Hj633_2012, AqiStandard::Hj633_2026);
    assert_eq!(value(a, Indicator::Pm25_24h, dec!(35.5)), Some(51));
    assert_eq!(value(b, Indicator::Pm25_24h, dec!(35.5)), Some(52));
    assert_eq!(value(b, Indicator::Pm25_24h, dec!(36.5)), Some(52));
    assert_eq!(value(a, Indicator::Co_24h, dec!(2.25)), Some(57));
    assert_eq!(value(b, Indicator::Co_24h, dec!(2.25)), Some(55));
    assert_eq!(value(b, Indicator::Co_24h, dec!(2.35)), Some(60));
    // 60.4 rounds to 60, exactly the 2026 PM2.5 IAQI-100 breakpoint.
    assert_eq!(value(b, Indicator::Pm25_24h, dec!(60.4)), Some(100));
    let x = aqi::iaqi(b, Indicator::Pm25_24h, dec!(60.4)).unwrap();
    assert_eq!(x.concentration, dec!(60.4));
    assert_eq!(x.used_concentration, dec!(60));
}

/// HJ 633 Table 1 CO columns: every 0.1 mg/m³ step from 0 to 60 (24h) and 150 (1h) equals the
/// integer oracle — the f64 traps (e.g. CO 24h 2.2 → 55, not 56) are all avoided.
#[test]
fn hj633_co_every_tenth_matches_oracle() {
    for std in AqiStandard::ALL {
        for (table, top) in [(Table::Co_24h, 600), (Table::Co_1h, 1500)] {
            for k in 0..=top {
                let c = Decimal::new(k, 1);
                assert_eq!(
                    value(std, indicator_for(table), c),
                    oracle(std, table, c),
                    "{table:?} {c}"
                );
            }
        }
    }
    assert_eq!(
        value(AqiStandard::Hj633_2012, Indicator::Co_24h, dec!(2.2)),
        Some(55)
    );
}

/// HJ 633-2012 Table 1 note (2): SO2 1h > 800 → no IAQI from the 1-h value, the 24-h IAQI is
/// reported; HJ 633-2026 Table 1 note: SO2 1h > 800 → IAQI 200.
#[test]
fn so2_1h_above_800() {
    let o = aqi::iaqi(AqiStandard::Hj633_2012, Indicator::So2_1h, dec!(801)).unwrap();
    assert_eq!(
        o.outcome,
        IaqiOutcome::Deferred {
            to: Indicator::So2_24h
        }
    );
    let o = aqi::iaqi(AqiStandard::Hj633_2026, Indicator::So2_1h, dec!(801)).unwrap();
    assert_eq!(
        o.outcome,
        IaqiOutcome::Value {
            iaqi: 200,
            rule: IaqiRule::FixedAbove800
        }
    );
    assert_eq!(
        value(AqiStandard::Hj633_2026, Indicator::So2_1h, dec!(800)),
        Some(200)
    );
    // 2026 rounds first: 800.4 → 800 (in the table), 800.6 → 801 (fixed rule), both 200.
    assert_eq!(
        value(AqiStandard::Hj633_2026, Indicator::So2_1h, dec!(800.6)),
        Some(200)
    );
    // In a 2012 hourly report the SO2 24-h IAQI stands in.
    let m: BTreeMap<Indicator, Reading> = [
        (Indicator::So2_1h, Reading::Value(dec!(900))),
        (Indicator::So2_24h, Reading::Value(dec!(475))),
        (Indicator::No2_1h, Reading::Value(dec!(50))),
    ]
    .into();
    let r = aqi::evaluate(AqiStandard::Hj633_2012, ReportKind::Hourly, &m).unwrap();
    assert_eq!(r.aqi, Some(150));
    assert_eq!(r.primary, vec![Indicator::So2_24h]);
    assert_eq!(r.deferred, vec![(Indicator::So2_1h, Indicator::So2_24h)]);
    // Without the 24-h value, the SO2 IAQI is missing (NA) under 2012.
    let m: BTreeMap<Indicator, Reading> = [
        (Indicator::So2_1h, Reading::Value(dec!(900))),
        (Indicator::No2_1h, Reading::Value(dec!(50))),
    ]
    .into();
    let r = aqi::evaluate(AqiStandard::Hj633_2012, ReportKind::Hourly, &m).unwrap();
    assert!(r.missing.contains(&Indicator::So2_24h));
    assert_eq!(r.aqi, Some(25));
}

/// HJ 633-2012 Table 1 note (3): O3 8h > 800 → use the O3 1-h IAQI; HJ 633-2026: fixed 300.
#[test]
fn o3_8h_above_800() {
    let o = aqi::iaqi(AqiStandard::Hj633_2012, Indicator::O3_8h, dec!(801)).unwrap();
    assert_eq!(
        o.outcome,
        IaqiOutcome::Deferred {
            to: Indicator::O3_1h
        }
    );
    assert_eq!(
        value(AqiStandard::Hj633_2026, Indicator::O3_8h, dec!(801)),
        Some(300)
    );
    assert_eq!(
        value(AqiStandard::Hj633_2026, Indicator::O3_8h, dec!(5000)),
        Some(300)
    );
    let r = aqi::evaluate_values(
        AqiStandard::Hj633_2012,
        ReportKind::Daily,
        &[(Indicator::O3_8h, dec!(900)), (Indicator::O3_1h, dec!(900))],
    )
    .unwrap();
    assert_eq!(r.aqi, Some(350));
    assert_eq!(r.primary, vec![Indicator::O3_1h]);
}

/// standards.md §3.2: above the last breakpoint the IAQI is capped at 500, raw value kept.
#[test]
fn above_table_capped_at_500_raw_kept() {
    for std in AqiStandard::ALL {
        let x = aqi::iaqi(std, Indicator::Pm25_24h, dec!(501)).unwrap();
        assert_eq!(
            x.outcome,
            IaqiOutcome::Value {
                iaqi: 500,
                rule: IaqiRule::CappedAboveTable
            }
        );
        assert_eq!(x.concentration, dec!(501));
        assert_eq!(value(std, Indicator::Co_1h, dec!(151)), Some(500));
        assert_eq!(value(std, Indicator::No2_1h, dec!(10000)), Some(500));
    }
}

/// HJ 633-2012 §5.1.3: PM 1-h values are concentration-only in the real-time report;
/// HJ 633-2026 §4.2.3: PM 1-h values are judged on the 24-h table.
#[test]
fn pm_1h_by_version() {
    let o = aqi::iaqi(AqiStandard::Hj633_2012, Indicator::Pm25_1h, dec!(80)).unwrap();
    assert_eq!(o.outcome, IaqiOutcome::ConcentrationOnly);
    assert_eq!(
        value(AqiStandard::Hj633_2026, Indicator::Pm25_1h, dec!(80)),
        Some(119)
    );
    let r = aqi::evaluate_values(
        AqiStandard::Hj633_2012,
        ReportKind::Hourly,
        &[
            (Indicator::Pm25_1h, dec!(80)),
            (Indicator::Pm25_24h, dec!(40)),
        ],
    )
    .unwrap();
    assert_eq!(
        r.concentration_only.get(&Indicator::Pm25_1h),
        Some(&dec!(80))
    );
    assert_eq!(r.aqi, Some(57));
}

/// HJ 633-2026 §5.3: a missing pollutant makes the AQI NA unless the rest gives AQI > 100;
/// a pollutant outside the monitoring plan ("/") does not block publication.
#[test]
fn hj633_2026_na_rules() {
    let std = AqiStandard::Hj633_2026;
    let full = [
        (Indicator::So2_24h, dec!(10)),
        (Indicator::No2_24h, dec!(30)),
        (Indicator::Pm10_24h, dec!(60)),
        (Indicator::Co_24h, dec!(0.8)),
        (Indicator::O3_8h, dec!(90)),
        (Indicator::Pm25_24h, dec!(40)),
    ];
    let r = aqi::evaluate_values(std, ReportKind::Daily, &full).unwrap();
    assert_eq!(r.aqi, Some(60));
    let r = aqi::evaluate_values(std, ReportKind::Daily, &full[1..]).unwrap();
    assert_eq!(r.aqi, None, "SO2 missing, AQI 60 ≤ 100 → NA");
    assert_eq!(r.aqi_of_available, Some(60));
    assert!(r.primary.is_empty() && r.category.is_none());
    assert_eq!(r.missing, vec![Indicator::So2_24h]);
    let mut polluted = full[1..].to_vec();
    polluted[4].1 = dec!(80);
    let r = aqi::evaluate_values(std, ReportKind::Daily, &polluted).unwrap();
    assert_eq!(r.aqi, Some(119), "AQI of the rest > 100 → published");
    let mut m: BTreeMap<Indicator, Reading> = full[1..]
        .iter()
        .map(|&(i, v)| (i, Reading::Value(v)))
        .collect();
    m.insert(Indicator::So2_24h, Reading::NotMonitored);
    let r = aqi::evaluate(std, ReportKind::Daily, &m).unwrap();
    assert_eq!(r.aqi, Some(60));
    assert_eq!(r.not_monitored, vec![Indicator::So2_24h]);
    // HJ 633-2012 has no such rule: the AQI of the rest is published.
    let r = aqi::evaluate_values(AqiStandard::Hj633_2012, ReportKind::Daily, &full[1..]).unwrap();
    assert!(r.aqi.is_some());
}

/// HJ 633-2012 §7: primary pollutant only when AQI > 50, ties all listed; 超标污染物 IAQI > 100
/// (2012 only, deleted in 2026).
#[test]
fn primary_ties_and_exceeding() {
    let r = aqi::evaluate_values(
        AqiStandard::Hj633_2012,
        ReportKind::Daily,
        &[
            (Indicator::Pm25_24h, dec!(115)),
            (Indicator::Pm10_24h, dec!(250)),
            (Indicator::So2_24h, dec!(10)),
        ],
    )
    .unwrap();
    assert_eq!(r.aqi, Some(150));
    assert_eq!(r.primary, vec![Indicator::Pm10_24h, Indicator::Pm25_24h]);
    assert_eq!(
        r.exceeding,
        Some(vec![Indicator::Pm10_24h, Indicator::Pm25_24h])
    );
    let r = aqi::evaluate_values(
        AqiStandard::Hj633_2026,
        ReportKind::Daily,
        &[(Indicator::Pm25_24h, dec!(115))],
    )
    .unwrap();
    assert_eq!(r.exceeding, None);
    let r = aqi::evaluate_values(
        AqiStandard::Hj633_2012,
        ReportKind::Daily,
        &[(Indicator::Pm25_24h, dec!(35))],
    )
    .unwrap();
    assert_eq!(r.aqi, Some(50));
    assert!(r.primary.is_empty(), "AQI 50 → no primary pollutant");
}

/// HJ 633 Table 2: category bands 0–50, 51–100, 101–150, 151–200, 201–300, > 300.
#[test]
fn category_bands() {
    for (aqi_v, level, name) in [
        (0, 1, "优"),
        (50, 1, "优"),
        (51, 2, "良"),
        (100, 2, "良"),
        (101, 3, "轻度污染"),
        (150, 3, "轻度污染"),
        (151, 4, "中度污染"),
        (200, 4, "中度污染"),
        (201, 5, "重度污染"),
        (300, 5, "重度污染"),
        (301, 6, "严重污染"),
        (500, 6, "严重污染"),
    ] {
        let c = aqi::category(aqi_v);
        assert_eq!((c.level, c.name_cn), (level, name), "AQI {aqi_v}");
        assert!(!c.health_effect_cn.is_empty() && !c.advice_cn.is_empty());
    }
    assert_eq!(aqi::category(107).hex, "#FF7E00");
}

/// HJ 633-2026 (in force 2026-03-01): version by date.
#[test]
fn version_by_date() {
    assert_eq!(
        AqiStandard::in_force_on(Date::ymd(2026, 2, 28)),
        AqiStandard::Hj633_2012
    );
    assert_eq!(
        AqiStandard::in_force_on(Date::ymd(2026, 3, 1)),
        AqiStandard::Hj633_2026
    );
}

/// Negative concentrations are rejected.
#[test]
fn negative_rejected() {
    assert!(aqi::iaqi(AqiStandard::Hj633_2012, Indicator::Pm25_24h, dec!(-1)).is_err());
}

fn conc(max_tenths: i64) -> impl Strategy<Value = Decimal> {
    (0..=max_tenths).prop_map(|k| Decimal::new(k, 1))
}

proptest! {
    /// HJ 633 Table 1 (both versions, every column): IAQI is monotonic non-decreasing in the
    /// concentration, and stays within 0–500.
    #[test]
    fn iaqi_monotonic(a in conc(40000), b in conc(40000), t in 0usize..10, s in 0usize..2) {
        let std = AqiStandard::ALL[s];
        let table = Table::ALL[t];
        let ind = indicator_for(table);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let f = |c| aqi::iaqi(std, ind, c).unwrap();
        let (x, y) = (f(lo), f(hi));
        if let (Some(x), Some(y)) = (x.value(), y.value()) {
            prop_assert!(x <= y, "{:?} {} -> {}, {} -> {}", table, lo, x, hi, y);
            prop_assert!(y <= 500);
        }
    }

    /// HJ 633 Table 1: the unrounded IAQI is continuous across segments — approaching any
    /// breakpoint from either side the values converge to its level (|ΔIAQI| ≤ slope·ε).
    #[test]
    fn iaqi_continuous_at_breakpoints(t in 0usize..10, s in 0usize..2, i in 1usize..7, e in 1i64..1000) {
        let std = AqiStandard::ALL[s];
        let table = aqi::breakpoints(std, Table::ALL[t]);
        prop_assume!(i + 1 < table.values.len());
        let bp = table.values[i];
        let eps = Decimal::new(e, 6);
        let below = aqi::iaqi_unrounded(table, bp - eps).unwrap();
        let above = aqi::iaqi_unrounded(table, bp + eps).unwrap();
        let level = Decimal::from(IAQI_LEVELS[i]);
        // Steepest slope in any table is 50 IAQI per 2 mg/m3 (CO 24h): 25 per unit.
        let bound = eps * dec!(100);
        prop_assert!((level - below) >= Decimal::ZERO && (level - below) <= bound);
        prop_assert!((above - level) >= Decimal::ZERO && (above - level) <= bound);
        prop_assert_eq!(aqi::iaqi_unrounded(table, bp).unwrap(), level);
    }

    /// HJ 633: the AQI is the maximum IAQI, and is monotonic when any one input rises.
    #[test]
    fn aqi_is_max_and_monotonic(p in conc(3000), q in conc(3000), bump in conc(500)) {
        let std = AqiStandard::Hj633_2026;
        let base = [(Indicator::Pm25_24h, p), (Indicator::Pm10_24h, q)];
        let r = aqi::evaluate_values(std, ReportKind::Daily, &base).unwrap();
        let m = r.iaqi.values().filter_map(|x| x.value()).max();
        prop_assert_eq!(r.aqi_of_available, m);
        let r2 = aqi::evaluate_values(std, ReportKind::Daily, &[(Indicator::Pm25_24h, p + bump), (Indicator::Pm10_24h, q)]).unwrap();
        prop_assert!(r2.aqi_of_available >= r.aqi_of_available);
    }
}
