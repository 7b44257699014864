//! Noise engine tests: Ld / Ln energy averages (GB 3096-2008 Annex C, HJ 640-2012) computed by
//! hand, the night boundary (a night belongs to the day it starts on), GB 3096-2008 Table 1
//! zone limits.

use std::collections::BTreeSet;

use engine::noise::{energy_mean, NoiseEngine, NoisePoint, NoiseReport};
use engine::time::day_start_utc;
use model::{Measurement, Period};
use standards::noise::{DayNight, Zone};
use standards::Date;
use store::water::WaterStore;
use store::{IntakePacket, SqliteOptions, SqliteStore, Store};

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

fn engine() -> NoiseEngine {
    NoiseEngine::new(
        [NoisePoint {
            site: "NZ".into(),
            name: "点位".into(),
            zone: Zone::Z2,
            town: "500231001000".into(),
            town_name: "桂溪街道".into(),
        }],
        DayNight::default(),
    )
    .unwrap()
}

fn v(code: &str, period: Period, time: i64, value: f64, flag: &str) -> Measurement {
    Measurement {
        site: "NZ".into(),
        code: code.into(),
        field: "Data".into(),
        period,
        time,
        value,
        text: value.to_string(),
        flag: Some(flag.into()),
        eflag: None,
        mn: "MN-NZ".into(),
    }
}

fn hour(d: Date, h: i64, level: f64) -> Measurement {
    v("Leq", Period::Hour, day_start_utc(d) + 3600 * h, level, "N")
}

fn commit(s: &mut SqliteStore, values: Vec<Measurement>, received_ms: i64) -> Vec<IntakePacket> {
    let p = vec![IntakePacket {
        received_ms,
        mn: "MN-NZ".into(),
        cn: "2061".into(),
        values,
        ..IntakePacket::default()
    }];
    s.commit(&p).unwrap();
    p
}

const D: Date = Date::ymd(2025, 7, 1);

/// 10·lg((10^6 + 10^7)/2) = 10·lg(5.5 × 10^6) = 67.404 dB(A).
#[test]
fn energy_average_by_hand() {
    assert!((energy_mean(&[60.0, 70.0]).unwrap() - 67.40363).abs() < 1e-4);
    assert_eq!(energy_mean(&[]), None);
    assert!((energy_mean(&[55.0; 5]).unwrap() - 55.0).abs() < 1e-9);
}

/// Zone 2 (GB 3096-2008 Table 1: day 60, night 50). Day D: 06–13 at 55, 14–21 at 65 →
/// Ld = 10·lg((10^5.5 + 10^6.5)/2) = 62.404 → 62.4 > 60, not compliant. Night of D: 22, 23 of D
/// and 00–05 of D+1 at 48 → Ln = 48.0 ≤ 50. Hours 00–05 of D (at 70) are the night of D−1:
/// 6 of its 8 hours (75 %) → Ln(D−1) = 70.0, and D−1 has no day hours → no Ld.
#[test]
fn ld_ln_and_night_boundary() {
    let (_d, mut s) = open();
    let e = engine();
    let mut vals = Vec::new();
    vals.extend((0..6).map(|h| hour(D, h, 70.0)));
    vals.extend((6..14).map(|h| hour(D, h, 55.0)));
    vals.extend((14..22).map(|h| hour(D, h, 65.0)));
    vals.extend((22..24).map(|h| hour(D, h, 48.0)));
    vals.extend((0..6).map(|h| hour(D.succ(), h, 48.0)));
    let p = commit(&mut s, vals, 1);
    let t = e.touched(&p);
    assert_eq!(
        t,
        BTreeSet::from([("NZ".to_string(), D.pred()), ("NZ".to_string(), D)])
    );
    e.update(&mut s, &t).unwrap();
    let rows = s
        .noise_days(Some("NZ"), "2025-06-30", "2025-07-02")
        .unwrap();
    assert_eq!(rows.len(), 2);
    let (prev, day) = (&rows[0], &rows[1]);
    assert_eq!(
        (prev.day.as_str(), prev.ld, prev.day_hours),
        ("2025-06-30", None, 0)
    );
    assert_eq!(prev.night_hours, 6);
    assert!((prev.ln.unwrap() - 70.0).abs() < 1e-9);
    assert_eq!((day.day_hours, day.night_hours), (16, 8));
    assert!((day.ld.unwrap() - 62.40363).abs() < 1e-4);
    assert!((day.ln.unwrap() - 48.0).abs() < 1e-9);
    let rep = NoiseReport::build(&s, &e, D, D).unwrap();
    let p = &rep.points[0];
    assert_eq!((p.day_limit, p.night_limit), (60, 50));
    assert_eq!(p.daily[0].ld, Some(62.4));
    assert_eq!(p.daily[0].ld_compliant, Some(false));
    assert_eq!(p.daily[0].ln_compliant, Some(true));
    assert_eq!((p.day_compliant_days, p.night_compliant_days), (0, 1));
    assert_eq!(
        (p.day_compliance_pct, p.night_compliance_pct),
        (Some(0.0), Some(100.0))
    );
    assert_eq!(
        (rep.day_start.as_str(), rep.night_start.as_str()),
        ("06:00", "22:00")
    );
    // By town: the one point's figures, its Ld mean over the day limit.
    assert_eq!(rep.towns.len(), 1);
    let t = &rep.towns[0];
    assert_eq!(
        (t.town.as_str(), t.town_name.as_str()),
        ("500231001000", "桂溪街道")
    );
    assert_eq!(t.points, ["NZ"]);
    assert_eq!((t.points_with_data, t.days, t.nights), (1, 1, 1));
    assert_eq!((t.day_compliant_days, t.night_compliant_days), (0, 1));
    assert_eq!(
        (t.day_compliance_pct, t.night_compliance_pct),
        (Some(0.0), Some(100.0))
    );
    assert_eq!((t.points_day_over, t.points_night_over), (1, 0));
}

/// Coverage (engine policy 75 %): 11 of 16 day hours give no Ld, 12 do. Flagged hours (D) do
/// not count. An hour without hour data takes the energy mean of its minute Leq values:
/// 50 and 60 → 10·lg((10^5 + 10^6)/2) = 57.404.
#[test]
fn coverage_flags_and_minute_fallback() {
    let (_d, mut s) = open();
    let e = engine();
    let mut vals: Vec<Measurement> = (6..17).map(|h| hour(D, h, 50.0)).collect();
    vals.push(v(
        "Leq",
        Period::Hour,
        day_start_utc(D) + 17 * 3600,
        90.0,
        "D",
    ));
    let p = commit(&mut s, vals, 1);
    e.update(&mut s, &e.touched(&p)).unwrap();
    let r = &s
        .noise_days(Some("NZ"), "2025-07-01", "2025-07-01")
        .unwrap()[0];
    assert_eq!((r.day_hours, r.ld), (11, None));
    let t = day_start_utc(D) + 18 * 3600;
    let p = commit(
        &mut s,
        vec![
            v("Leq", Period::Min, t, 50.0, "N"),
            v("Leq", Period::Min, t + 600, 60.0, "N"),
        ],
        2,
    );
    e.update(&mut s, &e.touched(&p)).unwrap();
    let r = &s
        .noise_days(Some("NZ"), "2025-07-01", "2025-07-01")
        .unwrap()[0];
    assert_eq!(r.day_hours, 12);
    // Ld = 10·lg((11·10^5 + (10^5 + 10^6)/2)/12)
    let want = 10.0 * ((11.0 * 1e5 + 5.5e5) / 12.0f64).log10();
    assert!((r.ld.unwrap() - want).abs() < 1e-9);
    assert!((energy_mean(&[50.0, 60.0]).unwrap() - 57.40363).abs() < 1e-4);
}

/// Catch-up by watermark and cold rebuild agree with the incremental rows.
#[test]
fn catch_up_and_rebuild() {
    let (_d, mut s) = open();
    let e = engine();
    commit(&mut s, (0..24).map(|h| hour(D, h, 52.0)).collect(), 5);
    assert_eq!(e.catch_up(&mut s).unwrap().point_days, 2);
    let a = s.noise_days(None, "2025-01-01", "2025-12-31").unwrap();
    e.rebuild(&mut s, D.pred(), D).unwrap();
    let b = s.noise_days(None, "2025-01-01", "2025-12-31").unwrap();
    let strip = |v: Vec<store::water::NoiseDay>| {
        v.into_iter()
            .map(|r| (r.day, r.ld, r.ln, r.day_hours, r.night_hours))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(a), strip(b));
    assert!(NoiseEngine::new(
        [],
        DayNight {
            day_start_min: 390,
            night_start_min: 1320
        }
    )
    .is_err());
}

/// By town: two points in 桂溪 (zone 2: 60/50; zone 1: 55/45), one in another town with no data.
/// A day at 58 / night at 48 everywhere: zone 2 complies day and night, zone 1 neither →
/// 桂溪 1 of 2 days and 1 of 2 nights compliant (50 %), one point over by day and by night;
/// the other town has its point without data.
#[test]
fn points_aggregate_by_town() {
    let (_d, mut s) = open();
    let pt = |site: &str, zone: Zone, town: &str, name: &str| NoisePoint {
        site: site.into(),
        name: site.into(),
        zone,
        town: town.into(),
        town_name: name.into(),
    };
    let e = NoiseEngine::new(
        [
            pt("NZ", Zone::Z2, "500231001000", "桂溪街道"),
            pt("NZ1", Zone::Z1, "500231001000", "桂溪街道"),
            pt("NZ9", Zone::Z2, "500231002000", "桂阳街道"),
        ],
        DayNight::default(),
    )
    .unwrap();
    let mut vals = Vec::new();
    for site in ["NZ", "NZ1"] {
        for h in 0..24 {
            let level = if (6..22).contains(&h) { 58.0 } else { 48.0 };
            vals.push(Measurement {
                site: site.into(),
                ..hour(D, h, level)
            });
        }
        for h in 0..6 {
            vals.push(Measurement {
                site: site.into(),
                ..hour(D.succ(), h, 48.0)
            });
        }
    }
    let p = commit(&mut s, vals, 1);
    e.update(&mut s, &e.touched(&p)).unwrap();
    let rep = NoiseReport::build(&s, &e, D, D).unwrap();
    assert_eq!(rep.towns.len(), 2);
    let g = &rep.towns[0];
    assert_eq!(
        (g.town.as_str(), g.town_name.as_str()),
        ("500231001000", "桂溪街道")
    );
    assert_eq!(g.points, ["NZ", "NZ1"]);
    assert_eq!((g.points_with_data, g.days, g.nights), (2, 2, 2));
    assert_eq!((g.day_compliant_days, g.night_compliant_days), (1, 1));
    assert_eq!(
        (g.day_compliance_pct, g.night_compliance_pct),
        (Some(50.0), Some(50.0))
    );
    assert_eq!((g.points_day_over, g.points_night_over), (1, 1));
    let o = &rep.towns[1];
    assert_eq!(
        (o.town_name.as_str(), o.points_with_data, o.days),
        ("桂阳街道", 0, 0)
    );
    assert_eq!(o.day_compliance_pct, None);
    let v = serde_json::to_value(&rep).unwrap();
    assert_eq!(v["points"][1]["town_name"], "桂溪街道");
}
