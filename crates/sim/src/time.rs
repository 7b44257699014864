//! Beijing wall-clock arithmetic on UTC Unix seconds (UTC+8, no daylight saving), without a
//! calendar crate: the simulator formats millions of DataTimes.

pub const BEIJING_OFFSET: i64 = 8 * 3600;
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86_400;

/// (year, month, day, hour, minute, second) in Beijing time.
pub fn civil(unix: i64) -> (i64, u32, u32, u32, u32, u32) {
    let t = unix + BEIJING_OFFSET;
    let days = t.div_euclid(DAY);
    let secs = t.rem_euclid(DAY);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        m,
        d,
        (secs / 3600) as u32,
        (secs % 3600 / 60) as u32,
        (secs % 60) as u32,
    )
}

/// `YYYYMMDDhhmmss` in Beijing time (an HJ 212 DataTime).
pub fn n14(unix: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix);
    format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}")
}

/// A 17-digit QN number for a Unix time in milliseconds (Beijing).
pub fn qn_number(unix_ms: i64) -> u64 {
    let (y, mo, d, h, mi, s) = civil(unix_ms.div_euclid(1000));
    let ms = unix_ms.rem_euclid(1000) as u64;
    ((((((y as u64 * 100 + mo as u64) * 100 + d as u64) * 100 + h as u64) * 100 + mi as u64) * 100
        + s as u64)
        * 1000)
        + ms
}

/// Beijing hour of day, 0..24.
pub fn hour_of_day(unix: i64) -> u32 {
    ((unix + BEIJING_OFFSET).rem_euclid(DAY) / HOUR) as u32
}

/// Hour of day with minutes as a fraction.
pub fn hour_frac(unix: i64) -> f64 {
    (unix + BEIJING_OFFSET).rem_euclid(DAY) as f64 / HOUR as f64
}

/// Start of the Beijing hour / day containing `unix`.
pub fn floor_hour(unix: i64) -> i64 {
    unix - unix.rem_euclid(HOUR)
}
pub fn floor_day(unix: i64) -> i64 {
    unix - (unix + BEIJING_OFFSET).rem_euclid(DAY)
}

/// Season: +1 in mid-January (winter), -1 in mid-July (summer).
pub fn season(unix: i64) -> f64 {
    let days = (unix + BEIJING_OFFSET) as f64 / DAY as f64;
    // 1970-01-15 is day 14; 365.2425 days per year keeps the phase over centuries.
    let frac = (days - 14.0) / 365.2425;
    (std::f64::consts::TAU * frac).cos()
}

/// Wall-clock now, Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_matches_model() {
        for t in [
            0i64,
            951_782_400,
            1_700_000_000,
            1_735_660_800,
            4_102_444_799,
            1_582_934_400,
        ] {
            assert_eq!(n14(t), model::format_hj212_time(t), "t={t}");
            assert_eq!(model::parse_hj212_time(&n14(t)), Some(t));
        }
        let mut t = 1_577_836_800; // 2020-01-01 UTC
        while t < 1_609_459_200 + 2 * DAY {
            assert_eq!(n14(t), model::format_hj212_time(t));
            t += 86_413;
        }
        assert_eq!(qn_number(1_700_000_000_123), 20231115061320123);
        assert_eq!(floor_day(1_700_000_000), 1_699_977_600); // 2023-11-15 00:00 +08:00
        assert_eq!(hour_of_day(1_699_977_600), 0);
        assert!(season(1_705_276_800) > 0.99); // 2024-01-15
        assert!(season(1_721_001_600) < -0.99); // 2024-07-15
    }
}
