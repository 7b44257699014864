//! Value models: ranges, diurnal and seasonal shape, determinism per seed.

use profile::Profile;
use sim::models::{channels, fume_open, Model};
use sim::time::{floor_day, hour_of_day, DAY, HOUR};
use sim::SimDevice;

fn device(code: &str) -> SimDevice {
    let p = Profile::dianjiang();
    let site = p
        .fleet()
        .into_iter()
        .find(|s| s.code == code)
        .unwrap_or_else(|| panic!("no site {code}"));
    SimDevice::from_site(&site)
}

/// 2025-01-01 00:00 Beijing.
const Y2025: i64 = 1_735_660_800;

fn hourly(dev: &SimDevice, code: &str, seed: u64, from: i64, hours: i64) -> Vec<(i64, f64)> {
    let m = Model { seed };
    let chs = channels(dev, sim::FUME_CODE);
    let ch = chs.iter().find(|c| c.code == code).expect("channel");
    (0..hours)
        .map(|i| {
            let t = from + i * HOUR;
            (t, m.hour_mean(dev, ch, t))
        })
        .collect()
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0);
    for x in v {
        s += x;
        n += 1;
    }
    s / n as f64
}

#[test]
fn pm25_year_matches_dianjiang() {
    let dev = device("AIR-01");
    for seed in [1, 2, 3] {
        let year = hourly(&dev, "a34004", seed, Y2025, 365 * 24);
        let annual = mean(year.iter().map(|x| x.1));
        assert!(
            (24.0..=36.0).contains(&annual),
            "seed {seed}: annual PM2.5 {annual:.1}"
        );
        let jan = mean(year[..31 * 24].iter().map(|x| x.1));
        let jul = mean(year[181 * 24..212 * 24].iter().map(|x| x.1));
        assert!(
            (45.0..=95.0).contains(&jan),
            "seed {seed}: January {jan:.1}"
        );
        assert!((10.0..=30.0).contains(&jul), "seed {seed}: July {jul:.1}");
        assert!(
            year.iter().any(|x| x.1 > 115.0),
            "seed {seed}: no episode above 115"
        );
        // Days whose mean PM2.5 exceeds the Grade II daily limit (75): a small minority.
        let over = year
            .chunks(24)
            .filter(|d| mean(d.iter().map(|x| x.1)) > 75.0)
            .count();
        assert!((2..=40).contains(&over), "seed {seed}: {over} days over 75");
        assert!(year.iter().all(|x| x.1 >= 3.0 && x.1 < 400.0));
        // Night higher than afternoon.
        let night = mean(year.iter().filter(|x| hour_of_day(x.0) <= 3).map(|x| x.1));
        let aft = mean(
            year.iter()
                .filter(|x| (13..=16).contains(&hour_of_day(x.0)))
                .map(|x| x.1),
        );
        assert!(night > aft * 1.1, "night {night:.1} afternoon {aft:.1}");
    }
}

#[test]
fn o3_and_no2_diurnal_and_seasonal() {
    let dev = device("AIR-02");
    let year = hourly(&dev, "a05024", 7, Y2025, 365 * 24);
    let jul = &year[181 * 24..212 * 24];
    let peak = jul.iter().map(|x| x.1).fold(0.0, f64::max);
    assert!((150.0..=280.0).contains(&peak), "July O3 peak {peak:.0}");
    let jul_15h = mean(jul.iter().filter(|x| hour_of_day(x.0) == 15).map(|x| x.1));
    assert!(
        (110.0..=230.0).contains(&jul_15h),
        "July 15:00 O3 {jul_15h:.0}"
    );
    let jul_6h = mean(jul.iter().filter(|x| hour_of_day(x.0) == 6).map(|x| x.1));
    assert!(jul_6h < jul_15h / 3.0);
    let jan_peak = year[..31 * 24].iter().map(|x| x.1).fold(0.0, f64::max);
    assert!(
        jan_peak < peak * 0.75,
        "January {jan_peak:.0} vs July {peak:.0}"
    );
    let no2 = hourly(&dev, "a21004", 7, Y2025, 365 * 24);
    let rush = mean(no2.iter().filter(|x| hour_of_day(x.0) == 8).map(|x| x.1));
    let small = mean(no2.iter().filter(|x| hour_of_day(x.0) == 3).map(|x| x.1));
    assert!(
        rush > small * 1.3,
        "NO2 08:00 {rush:.1} vs 03:00 {small:.1}"
    );
}

#[test]
fn water_classes_by_site() {
    let hours = 365 * 24;
    let ljt = device("SW-LJT");
    let nh3 = mean(hourly(&ljt, "w21003", 1, Y2025, hours).iter().map(|x| x.1));
    let cod = mean(hourly(&ljt, "w01019", 1, Y2025, hours).iter().map(|x| x.1));
    assert!(
        nh3 <= 1.0 && cod <= 6.0,
        "六剑滩 should be Class II–III: NH3-N {nh3:.2} CODMn {cod:.2}"
    );
    let ht = device("SW-HT");
    let v = hourly(&ht, "w21003", 1, Y2025, hours);
    let nh3 = mean(v.iter().map(|x| x.1));
    assert!(
        (1.0..=2.0).contains(&nh3),
        "打渔溪 NH3-N {nh3:.2} (Class IV–V)"
    );
    let worse_than_v = v.iter().filter(|x| x.1 > 2.0).count();
    assert!(
        worse_than_v > 0 && worse_than_v < hours as usize / 3,
        "劣V hours {worse_than_v}"
    );
    let res = device("DW-SHSK");
    let tp = mean(hourly(&res, "w21011", 1, Y2025, hours).iter().map(|x| x.1));
    assert!(tp <= 0.05, "reservoir TP {tp:.3} (lake Class III ≤ 0.05)");
    let ph = hourly(&res, "w01001", 1, Y2025, hours);
    assert!(ph.iter().all(|x| (6.0..=9.0).contains(&x.1)));
}

#[test]
fn outlets_near_and_sometimes_over_their_limits() {
    for (code, pol) in [
        ("ENT-JLKJ-01", "a21026"),
        ("ENT-ZQBL-01", "a34013"),
        ("ENT-CNWS-01", "w01018"),
    ] {
        let dev = device(code);
        let limit = dev.limit(pol).expect("limit");
        let v = hourly(&dev, pol, 3, Y2025, 365 * 24);
        let ratio = mean(v.iter().map(|x| x.1)) / limit;
        assert!(
            (0.3..=0.95).contains(&ratio),
            "{code} {pol} mean/limit {ratio:.2}"
        );
        let over = v.iter().filter(|x| x.1 > limit).count() as f64 / v.len() as f64;
        assert!(
            (0.005..=0.08).contains(&over),
            "{code} {pol} over-limit share {over:.3}"
        );
    }
}

#[test]
fn noise_day_and_night_by_zone() {
    let dev = device("NZ-01"); // zone 1: 55 / 45
    let v = hourly(&dev, "Leq", 1, Y2025, 60 * 24);
    let day = mean(
        v.iter()
            .filter(|x| (8..20).contains(&hour_of_day(x.0)))
            .map(|x| x.1),
    );
    let night = mean(v.iter().filter(|x| hour_of_day(x.0) < 5).map(|x| x.1));
    assert!((50.0..=57.0).contains(&day), "day {day:.1}");
    assert!((38.0..=46.0).contains(&night), "night {night:.1}");
    let busy = device("NZ-05"); // 4a: 70 / 55
    let b = hourly(&busy, "Leq", 1, Y2025, 60 * 24);
    assert!(mean(b.iter().map(|x| x.1)) > mean(v.iter().map(|x| x.1)) + 5.0);
}

#[test]
fn restaurants_cook_at_meal_times_and_close_at_night() {
    let p = Profile::dianjiang();
    let devs: Vec<SimDevice> = p.restaurants().iter().map(SimDevice::from_site).collect();
    let m = Model { seed: 1 };
    let day = Y2025 + 10 * DAY;
    let mut lazy_seen = false;
    for d in &devs {
        assert_eq!(m.fume_state(d, day + 3 * HOUR), (false, false));
        assert!(m.fume_state(d, day + 12 * HOUR).0, "fan runs at lunch");
        for h in 0..24 {
            let (fan, purifier) = m.fume_state(d, day + h * HOUR);
            if fan && !purifier {
                assert!(d.lazy_purifier);
                lazy_seen = true;
            }
        }
    }
    assert!(lazy_seen, "some purifiers are off while the fan runs");
    assert!(!fume_open(day + 23 * HOUR) && fume_open(day + 12 * HOUR));
    // Concentration: over the limit only when the purifier is off.
    let lazy = devs
        .iter()
        .find(|d| d.lazy_purifier)
        .expect("a lazy restaurant");
    let v = hourly(lazy, sim::FUME_CODE, 1, day, 24 * 30);
    let chs = channels(lazy, sim::FUME_CODE);
    let _ = chs;
    for (t, c) in v {
        let (fan, purifier) = m.fume_state(lazy, t);
        if fan && purifier {
            assert!(c < 2.0, "purified fume {c}");
        }
        if fan && !purifier {
            assert!(c > 2.0, "unpurified fume {c}");
        }
    }
}

#[test]
fn deterministic_per_seed() {
    let dev = device("AIR-03");
    let a = hourly(&dev, "a34004", 42, Y2025, 500);
    let b = hourly(&dev, "a34004", 42, Y2025, 500);
    let c = hourly(&dev, "a34004", 43, Y2025, 500);
    assert_eq!(a, b);
    assert_ne!(a, c);
    // Day aggregation is consistent with the hours.
    let m = Model { seed: 42 };
    let chs = channels(&dev, sim::FUME_CODE);
    let ch = &chs[0];
    let d0 = floor_day(Y2025 + 5 * DAY);
    let (avg, lo, hi) = m.interval(&dev, ch, d0, DAY);
    let hours = hourly(&dev, "a34004", 42, d0, 24);
    let expect = mean(hours.iter().map(|x| x.1));
    assert!((avg - expect).abs() < 1e-9);
    assert!(lo <= avg && avg <= hi);
}
