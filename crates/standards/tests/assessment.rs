//! HJ 663 assessment: daily means, O3 MDA8 windows, hour labelling, percentiles, annual
//! evaluation, good days, composite index.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use standards::ambient::{AmbientPollutant as P, AmbientStandard, ZoneClass};
use standards::assessment::{self, AssessmentStandard, CompositeInputs, DayHours};
use standards::date::{HourEnding, HourStart};
use standards::Date;

const D: Date = Date::ymd(2026, 7, 1);

fn day(values: impl Fn(usize) -> Option<Decimal>) -> DayHours {
    let mut a = [None; 24];
    for (h, v) in a.iter_mut().enumerate() {
        *v = values(h);
    }
    DayHours::from_array(D, a)
}

/// GB 3095 Table 4 / HJ 663: a daily mean needs ≥ 20 valid hours (19 is not enough).
#[test]
fn daily_mean_needs_20_hours() {
    let d20 = day(|h| (h < 20).then(|| Decimal::from(h)));
    assert_eq!(assessment::daily_mean(&d20), Ok(dec!(9.5)));
    let d19 = day(|h| (h < 19).then_some(dec!(1)));
    let e = assessment::daily_mean(&d19).unwrap_err();
    assert_eq!((e.valid, e.required), (19, 20));
}

/// HJ 663 O3 MDA8: 17 windows inside the natural day (start 00 … 16); the window 16–23 is
/// the last; hours of the next day are never used.
#[test]
fn mda8_17_windows_inside_the_day() {
    let d = day(|h| Some(if h >= 16 { dec!(200) } else { dec!(50) }));
    let m = assessment::mda8(&d, dec!(160));
    assert_eq!(m.valid_windows, 17);
    assert_eq!(m.windows[16], Some(dec!(200)));
    assert_eq!(m.value(), Some(dec!(200)));
    assert!(!m.by_exceedance_rule);
}

/// HJ 663 / GB 3095 Table 4: a window needs ≥ 6 valid hours; the day needs ≥ 14 valid windows.
#[test]
fn mda8_window_and_day_validity() {
    // Hours 0..=2 missing: windows starting 0,1,2 have 5,6,7 hours → window 0 invalid.
    let d = day(|h| (h > 2).then_some(dec!(100)));
    let m = assessment::mda8(&d, dec!(160));
    assert_eq!(m.windows[0], None);
    assert_eq!(m.windows[1], Some(dec!(100)));
    assert_eq!(m.valid_windows, 16);
    assert!(m.valid);
    // Hours 0..=5 missing: windows 0..=3 invalid (2..5 hours), 13 valid → day invalid …
    let d = day(|h| (h > 5).then_some(dec!(100)));
    let m = assessment::mda8(&d, dec!(160));
    assert_eq!(m.valid_windows, 13);
    assert_eq!(m.value(), None);
    // … unless its maximum already exceeds the limit (partial-day exceedance rule).
    let d = day(|h| (h > 5).then_some(dec!(170)));
    let m = assessment::mda8(&d, dec!(160));
    assert!(m.valid && m.by_exceedance_rule);
    assert_eq!(m.value(), Some(dec!(170)));
    // Exactly at the limit is not an exceedance.
    let d = day(|h| (h > 5).then_some(dec!(160)));
    assert_eq!(assessment::mda8(&d, dec!(160)).value(), None);
}

/// HJ 663 §5.1 time-stamp caution: hour-ending data are shifted one hour back; the stamp 00:00
/// belongs to hour 23 of the previous day.
#[test]
fn hour_ending_labels_are_shifted() {
    let mut d = DayHours::new(D);
    for h in 1..24u8 {
        d.set_hour_ending(HourEnding { date: D, hour: h }, Some(Decimal::from(h)))
            .unwrap();
    }
    d.set_hour_ending(
        HourEnding {
            date: D.succ(),
            hour: 0,
        },
        Some(dec!(24)),
    )
    .unwrap();
    assert_eq!(d.get(0), Some(dec!(1)));
    assert_eq!(d.get(23), Some(dec!(24)));
    assert!(d
        .set_hour_ending(HourEnding { date: D, hour: 0 }, Some(dec!(0)))
        .is_err());
    assert!(d
        .set(
            HourStart {
                date: D.succ(),
                hour: 0
            },
            None
        )
        .is_err());
}

/// HJ 663 Annex A percentile: 1…365 gives p90 328.6, p95 346.8, p98 357.72; single value; n.
#[test]
fn percentile_formula() {
    let v: Vec<Decimal> = (1..=365).rev().map(Decimal::from).collect();
    assert_eq!(assessment::percentile(&v, dec!(90)), Some(dec!(328.6)));
    assert_eq!(assessment::percentile(&v, dec!(95)), Some(dec!(346.8)));
    assert_eq!(assessment::percentile(&v, dec!(98)), Some(dec!(357.72)));
    assert_eq!(assessment::percentile(&v, dec!(100)), Some(dec!(365)));
    assert_eq!(assessment::percentile(&v, dec!(0)), Some(dec!(1)));
    assert_eq!(assessment::percentile(&[dec!(7)], dec!(95)), Some(dec!(7)));
    assert_eq!(assessment::percentile(&[], dec!(95)), None);
}

/// HJ 663 annual evaluation items against GB 3095-2012 grade 2: attainment requires every
/// statistic ≤ limit; statistics are rounded once (GB/T 8170) before comparing.
#[test]
fn annual_evaluation_and_attainment() {
    let flat = |x: Decimal| vec![x; 330];
    let so2 = flat(dec!(10));
    let no2 = flat(dec!(30));
    let pm10 = flat(dec!(60));
    let co = flat(dec!(1.0));
    let o3 = flat(dec!(150));
    // PM2.5 annual mean 35.4 rounds to 35 → attains; 35.5 rounds to 36 → fails.
    let pm25_ok = flat(dec!(35.4));
    let data = [
        (P::So2, &so2[..]),
        (P::No2, &no2[..]),
        (P::Pm10, &pm10[..]),
        (P::Pm25, &pm25_ok[..]),
        (P::Co, &co[..]),
        (P::O3, &o3[..]),
    ];
    let ev = assessment::evaluate_annual(AmbientStandard::Gb3095_2012, ZoneClass::Class2, &data);
    assert_eq!(ev.stats.len(), 10);
    assert_eq!(ev.attains, Some(true));
    let pm25_bad = flat(dec!(35.5));
    let data2 = [
        (P::So2, &so2[..]),
        (P::No2, &no2[..]),
        (P::Pm10, &pm10[..]),
        (P::Pm25, &pm25_bad[..]),
        (P::Co, &co[..]),
        (P::O3, &o3[..]),
    ];
    let ev = assessment::evaluate_annual(AmbientStandard::Gb3095_2012, ZoneClass::Class2, &data2);
    assert_eq!(ev.attains, Some(false));
    let s = ev
        .stats
        .iter()
        .find(|s| {
            s.item.pollutant == P::Pm25 && s.item.statistic == assessment::Statistic::AnnualMean
        })
        .unwrap();
    assert_eq!((s.value, s.limit), (dec!(36), dec!(35)));
    assert_eq!(s.exceedance_multiple, Some(dec!(1) / dec!(35)));
    // The same data under GB 3095-2026 transition (PM2.5 annual 30, PM10 annual 60): fails.
    let ev = assessment::evaluate_annual(
        AmbientStandard::Gb3095_2026Transition,
        ZoneClass::Class2,
        &data,
    );
    assert_eq!(ev.attains, Some(false));
    // Missing a pollutant: area attainment unknown.
    let ev =
        assessment::evaluate_annual(AmbientStandard::Gb3095_2012, ZoneClass::Class2, &data[..5]);
    assert_eq!(ev.attains, None);
}

/// HJ 663 / HJ 633: good days AQI ≤ 100, heavy pollution AQI > 200; NA days excluded.
#[test]
fn good_days_ratio_and_heavy_days() {
    let c = assessment::count_days(&[Some(50), Some(100), Some(101), Some(201), Some(301), None]);
    assert_eq!(
        (c.valid_days, c.good_days, c.heavy_days, c.severe_days),
        (5, 2, 2, 1)
    );
    assert_eq!(c.good_ratio_pct(), Some(dec!(40)));
    assert_eq!(assessment::count_days(&[None]).good_ratio_pct(), None);
}

/// 环办〔2014〕64号 composite index: 2012 definition available; HJ 663-2026 refused (weights
/// unverified, not guessed).
#[test]
fn composite_index_versions() {
    let c = CompositeInputs {
        so2: dec!(60),
        no2: dec!(40),
        pm10: dec!(70),
        pm25: dec!(35),
        co_p95: dec!(4),
        o3_p90: dec!(160),
    };
    let i = assessment::composite_index(AssessmentStandard::Hj663_2013, &c).unwrap();
    assert_eq!(i.value, dec!(6.00));
    assert_eq!(i.primary.len(), 6);
    assert!(assessment::composite_index(AssessmentStandard::Hj663_2026, &c).is_err());
    assert_eq!(
        AssessmentStandard::in_force_on(Date::ymd(2026, 3, 1)),
        AssessmentStandard::Hj663_2026
    );
}

/// HJ 663: exceedance multiple (C − S)/S only when exceeding.
#[test]
fn exceedance_multiple() {
    assert_eq!(
        assessment::exceedance_multiple(dec!(90), dec!(75)),
        Some(dec!(0.2))
    );
    assert_eq!(assessment::exceedance_multiple(dec!(75), dec!(75)), None);
    assert_eq!(assessment::report_round(P::Co, dec!(1.25)), dec!(1.2));
    assert_eq!(assessment::report_round(P::Pm25, dec!(34.5)), dec!(34));
}
