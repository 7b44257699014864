//! GB 3838-2002 Table 1 class limits at, just below and just above every limit; 环办〔2011〕22号
//! sample, river and status rules; TLI; property tests of class monotonicity.

use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use standards::water::{self, tli, Limits, WaterBody, WaterClass, WaterItem, WaterStatus};

const BODIES: [WaterBody; 2] = [WaterBody::River, WaterBody::LakeReservoir];

/// A step one unit in the last decimal place of `x` (and at least 10× finer than any limit).
fn eps(x: Decimal) -> Decimal {
    Decimal::new(1, x.scale() + 2)
}

/// GB 3838-2002 Table 1, every item with limits, rivers and lakes, every class limit:
/// at the limit the class is the best class with that limit (equal adjacent limits → better
/// class); just on the compliant side it is no worse; just beyond it is strictly worse.
#[test]
fn gb3838_table1_every_limit_at_below_above() {
    let mut n = 0;
    for body in BODIES {
        for item in WaterItem::ALL {
            let Some(limits) = item.limits(body) else {
                continue;
            };
            match limits {
                Limits::Max(v) => {
                    for (k, &l) in v.iter().enumerate() {
                        let best = v.iter().position(|&x| x == l).unwrap();
                        let at = water::item_class(item, body, l).unwrap();
                        assert_eq!(at, WaterClass::LIMITED[best], "{item:?} {body:?} at {l}");
                        let below = water::item_class(item, body, l - eps(l)).unwrap();
                        assert!(below <= WaterClass::LIMITED[k], "{item:?} below {l}");
                        let above = water::item_class(item, body, l + eps(l)).unwrap();
                        assert!(above > WaterClass::LIMITED[k], "{item:?} above {l}");
                        n += 1;
                    }
                }
                Limits::Min(v) => {
                    for (k, &l) in v.iter().enumerate() {
                        assert_eq!(
                            water::item_class(item, body, l),
                            Some(WaterClass::LIMITED[k])
                        );
                        assert!(
                            water::item_class(item, body, l + eps(l)).unwrap()
                                <= WaterClass::LIMITED[k]
                        );
                        assert!(
                            water::item_class(item, body, l - eps(l)).unwrap()
                                > WaterClass::LIMITED[k]
                        );
                        n += 1;
                    }
                }
                Limits::Range(v) => {
                    let (lo, hi) = v[0];
                    assert_eq!(water::item_class(item, body, lo), Some(WaterClass::I));
                    assert_eq!(water::item_class(item, body, hi), Some(WaterClass::I));
                    assert_eq!(
                        water::item_class(item, body, lo - dec!(0.01)),
                        Some(WaterClass::WorseThanV)
                    );
                    assert_eq!(
                        water::item_class(item, body, hi + dec!(0.01)),
                        Some(WaterClass::WorseThanV)
                    );
                    n += 1;
                }
                Limits::None => unreachable!(),
            }
        }
    }
    // rivers: 20 max rows (no TN) ×5 + DO ×5 + pH; lakes: 21 max rows ×5 + DO ×5 + pH
    assert_eq!(n, (20 * 5 + 5 + 1) + (21 * 5 + 5 + 1));
}

/// GB 3838-2002 Table 1 row 9: TN applies to lakes/reservoirs only; row 1 water temperature
/// has no class limits; row 8 TP uses the lake column for lakes.
#[test]
fn gb3838_tn_lake_only_and_tp_columns() {
    assert_eq!(
        water::item_class(WaterItem::Tn, WaterBody::River, dec!(0.1)),
        None
    );
    assert_eq!(
        water::item_class(WaterItem::Tn, WaterBody::LakeReservoir, dec!(0.1)),
        Some(WaterClass::I)
    );
    assert_eq!(
        water::item_class(WaterItem::WaterTemp, WaterBody::River, dec!(20)),
        None
    );
    assert_eq!(
        water::item_class(WaterItem::Tp, WaterBody::River, dec!(0.1)),
        Some(WaterClass::II)
    );
    assert_eq!(
        water::item_class(WaterItem::Tp, WaterBody::LakeReservoir, dec!(0.1)),
        Some(WaterClass::IV)
    );
    assert_eq!(
        water::item_class(WaterItem::Tp, WaterBody::River, dec!(0.41)),
        Some(WaterClass::WorseThanV)
    );
}

/// GB 3838-2002 Table 1 row 3: DO Class I is 7.5 mg/L or 90 % saturation.
#[test]
fn gb3838_do_saturation_alternative() {
    assert_eq!(water::do_class(dec!(7.0), None), WaterClass::II);
    assert_eq!(water::do_class(dec!(7.0), Some(dec!(90))), WaterClass::I);
    assert_eq!(
        water::do_class(dec!(1.9), Some(dec!(50))),
        WaterClass::WorseThanV
    );
}

/// 环办〔2011〕22号 §3: section class = worst of the 21 items; TN and fecal coliform are reference
/// only; exceedance multiples against Class III, not for pH and DO; main pollutants top 3 with
/// cyanide/heavy metals first.
#[test]
fn huanban_sample_evaluation() {
    let s = [
        (WaterItem::Ph, dec!(7)),
        (WaterItem::Do, dec!(2.5)),
        (WaterItem::Nh3n, dec!(1.8)),
        (WaterItem::Tp, dec!(0.25)),
        (WaterItem::Cod, dec!(45)),
        (WaterItem::Cn, dec!(0.21)),
        (WaterItem::FecalColiform, dec!(30000)),
        (WaterItem::Tn, dec!(5)),
    ];
    let ev = water::evaluate_sample(WaterBody::River, &s).unwrap();
    assert_eq!(ev.class, Some(WaterClass::WorseThanV));
    assert_eq!(ev.status(), Some(WaterStatus::HeavilyPolluted));
    assert_eq!(
        ev.reference,
        vec![(WaterItem::FecalColiform, WaterClass::V)]
    );
    assert_eq!(ev.not_evaluated, vec![WaterItem::Tn]);
    assert!(ev
        .exceed
        .iter()
        .all(|(i, _)| *i != WaterItem::Do && *i != WaterItem::Ph));
    assert!(ev.exceed.contains(&(WaterItem::Cod, dec!(1.25))));
    assert!(ev.exceed.contains(&(WaterItem::Nh3n, dec!(0.8))));
    // CN (IV, priority) first; then COD 劣V; then the V items: NH3N 0.8 > TP 0.25 (DO has none).
    assert_eq!(
        ev.main_pollutants,
        vec![WaterItem::Cn, WaterItem::Cod, WaterItem::Nh3n]
    );
    // Class III or better: no main pollutants.
    let ev = water::evaluate_sample(WaterBody::River, &[(WaterItem::Nh3n, dec!(1.0))]).unwrap();
    assert_eq!(ev.class, Some(WaterClass::III));
    assert!(ev.main_pollutants.is_empty() && ev.exceed.is_empty());
    assert!(water::evaluate_sample(WaterBody::River, &[(WaterItem::Nh3n, dec!(-1))]).is_err());
}

/// 环办〔2011〕22号 §4: river/basin status by shares of sections (≥ 5 sections).
#[test]
fn huanban_river_status_thresholds() {
    use WaterClass::*;
    let mk = |good: usize, bad: usize, other: usize| {
        let mut v = vec![II; good];
        v.extend(vec![WorseThanV; bad]);
        v.extend(vec![IV; other]);
        water::river_status(&v).unwrap()
    };
    assert_eq!(mk(9, 0, 1), WaterStatus::Excellent); // 90 %
    assert_eq!(mk(8, 0, 2), WaterStatus::Good); // 80 %
    assert_eq!(mk(6, 0, 2), WaterStatus::Good); // 75 %
    assert_eq!(mk(7, 1, 2), WaterStatus::LightlyPolluted); // 70 %, 劣V 10 %
    assert_eq!(mk(7, 2, 1), WaterStatus::ModeratelyPolluted); // 劣V 20 %
    assert_eq!(mk(5, 4, 1), WaterStatus::HeavilyPolluted); // 劣V 40 %
    assert_eq!(mk(3, 2, 0), WaterStatus::HeavilyPolluted); // 60 % / 40 %: the documented edge case
    assert!(water::river_status(&[I, II, III, IV]).is_err());
    assert_eq!(water::share_iii_or_better_pct(&[I, IV]), Some(dec!(50)));
    // Fewer than 5 sections: classify the mean of the sections.
    let m = water::mean_sample(&[
        vec![(WaterItem::Nh3n, dec!(0.9))],
        vec![(WaterItem::Nh3n, dec!(1.3))],
    ]);
    assert_eq!(m, vec![(WaterItem::Nh3n, dec!(1.1))]);
}

/// 环办〔2011〕22号: section status per class (I–II 优, III 良好, IV 轻度, V 中度, 劣V 重度).
#[test]
fn huanban_section_status() {
    use WaterClass::*;
    let s: Vec<&str> = [I, II, III, IV, V, WorseThanV]
        .iter()
        .map(|c| c.status().name_cn())
        .collect();
    assert_eq!(s, ["优", "优", "良好", "轻度污染", "中度污染", "重度污染"]);
}

/// GB 3838-2002 Table 3: lookup by name; benzo[a]pyrene 2.8×10⁻⁶ mg/L.
#[test]
fn gb3838_table3_lookup() {
    assert_eq!(
        water::specific_item("苯并(a)芘").unwrap().limit,
        dec!(0.0000028)
    );
    assert!(water::drinking_item_compliant(dec!(0.01), dec!(0.01)));
    assert!(!water::drinking_item_compliant(dec!(0.01), dec!(0.011)));
}

/// 总站生字〔2001〕090号: TLI class boundaries (< 30, ≤ 50, ≤ 60, ≤ 70, > 70) and a worked value.
#[test]
fn tli_states_and_value() {
    use tli::TrophicState::*;
    assert_eq!(tli::state(29.99), Oligotrophic);
    assert_eq!(tli::state(30.0), Mesotrophic);
    assert_eq!(tli::state(50.0), Mesotrophic);
    assert_eq!(tli::state(50.01), LightEutrophic);
    assert_eq!(tli::state(60.0), LightEutrophic);
    assert_eq!(tli::state(70.0), MiddleEutrophic);
    assert_eq!(tli::state(70.01), HyperEutrophic);
    // chl-a 10 mg/m3, TP 0.05, TN 1.0, SD 1.0 m, CODMn 4 → components by the formulas.
    let x = tli::TliInputs {
        chla: 10.0,
        tp: 0.05,
        tn: 1.0,
        sd: 1.0,
        codmn: 4.0,
    };
    let c = tli::components(&x);
    assert!((c[2] - 54.53).abs() < 1e-9 && (c[3] - 51.18).abs() < 1e-9);
    let t = tli::tli(&x).unwrap();
    let expect: f64 = c.iter().zip(tli::WEIGHTS).map(|(a, w)| a * w).sum();
    assert!(
        (t - expect).abs() < 1e-12 && tli::state(t) == Mesotrophic && t > 48.0 && t < 48.1,
        "{t}"
    );
    assert!(tli::tli(&tli::TliInputs { sd: 0.0, ..x }).is_none());
}

proptest! {
    /// GB 3838-2002 Table 1: for every max-limited item the class is monotonic non-decreasing
    /// in concentration; for DO (min) non-increasing.
    #[test]
    fn classes_monotonic(a in 0i64..1_000_000, b in 0i64..1_000_000, k in 0usize..24, lake in any::<bool>()) {
        let item = WaterItem::ALL[k];
        let body = if lake { WaterBody::LakeReservoir } else { WaterBody::River };
        let (lo, hi) = (Decimal::new(a.min(b), 4), Decimal::new(a.max(b), 4));
        if let (Some(x), Some(y)) = (water::item_class(item, body, lo), water::item_class(item, body, hi)) {
            match item.row().direction {
                water::Direction::Max => prop_assert!(x <= y),
                water::Direction::Min => prop_assert!(x >= y),
                _ => {}
            }
        }
    }

    /// 环办〔2011〕22号: adding an item never improves a sample's class.
    #[test]
    fn sample_class_is_worst(a in 0i64..30000, b in 0i64..30000) {
        let s1 = [(WaterItem::Nh3n, Decimal::new(a, 4))];
        let s2 = [(WaterItem::Nh3n, Decimal::new(a, 4)), (WaterItem::Cod, Decimal::new(b, 3))];
        let c1 = water::evaluate_sample(WaterBody::River, &s1).unwrap().class;
        let c2 = water::evaluate_sample(WaterBody::River, &s2).unwrap().class;
        prop_assert!(c2 >= c1);
    }
}
