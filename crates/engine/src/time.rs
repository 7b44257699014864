//! Time: stored instants are UTC seconds; every day boundary is Beijing (UTC+8, no DST).
//!
//! HJ 212 hour data (2061) carry `DataTime` = the **start** of the hour in Beijing wall-clock
//! time, and the store keeps that instant as UTC seconds. HJ 663 / GB 3095 natural days are
//! indexed by the hour's start too ([`HourStart`]); the standards crate's [`HourEnding`] is the
//! other, end-labelled convention (the stamp `00:00` = 23:00–24:00 of the previous day). The
//! functions here make the conversion explicit so no caller does `+8h` arithmetic of its own.
//!
//! [`HourEnding`]: standards::date::HourEnding

use standards::date::HourStart;
use standards::Date;

/// Beijing offset from UTC, seconds.
pub const BEIJING_OFFSET_S: i64 = 8 * 3600;
const DAY_S: i64 = 86_400;

/// Days since 1970-01-01 → civil date (H. Hinnant's `civil_from_days`).
pub fn date_from_days(z: i64) -> Date {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = yoe + era * 400 + i64::from(m <= 2);
    Date::ymd(y as i32, m, d)
}

/// Civil date → days since 1970-01-01 (H. Hinnant's `days_from_civil`).
pub fn days_from_date(d: Date) -> i64 {
    let (m, dd) = (i64::from(d.month()), i64::from(d.day()));
    let y = i64::from(d.year()) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + dd - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The Beijing hour (labelled by its **start**) of a stored hour value whose UTC instant is the
/// interval start. E.g. 2025-06-30T16:00Z is Beijing 2025-07-01 00:00–01:00 → (07-01, hour 0);
/// 2025-06-30T15:00Z is Beijing 23:00–24:00 → (06-30, hour 23).
pub fn hour_start_of(utc_start: i64) -> HourStart {
    let local = utc_start + BEIJING_OFFSET_S;
    HourStart {
        date: date_from_days(local.div_euclid(DAY_S)),
        hour: (local.rem_euclid(DAY_S) / 3600) as u8,
    }
}

/// UTC seconds of Beijing 00:00 on `day` (the natural day is `[start, start + 86 400)`).
pub fn day_start_utc(day: Date) -> i64 {
    days_from_date(day) * DAY_S - BEIJING_OFFSET_S
}

/// Every date from `from` to `to` inclusive.
pub fn days(from: Date, to: Date) -> impl Iterator<Item = Date> {
    let mut d = Some(from);
    std::iter::from_fn(move || {
        let cur = d?;
        d = (cur < to).then(|| cur.succ());
        (cur <= to).then_some(cur)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use standards::date::HourEnding;

    #[test]
    fn civil_round_trip() {
        for z in -800_000..800_000i64 {
            if z % 97 == 0 {
                assert_eq!(days_from_date(date_from_days(z)), z);
            }
        }
        assert_eq!(date_from_days(0), Date::ymd(1970, 1, 1));
        assert_eq!(days_from_date(Date::ymd(2026, 3, 1)), 20_513);
        assert_eq!(date_from_days(20_513).pred(), Date::ymd(2026, 2, 28));
    }

    /// HJ 663 natural day 00:00–24:00 Beijing: 16:00Z opens the next Beijing day.
    #[test]
    fn beijing_day_boundary() {
        let d = Date::ymd(2025, 7, 1);
        let start = day_start_utc(d);
        assert_eq!(start, 1_751_299_200); // 2025-06-30T16:00:00Z
        assert_eq!(hour_start_of(start), HourStart { date: d, hour: 0 });
        assert_eq!(
            hour_start_of(start - 3600),
            HourStart {
                date: Date::ymd(2025, 6, 30),
                hour: 23
            }
        );
        // The same hour named by its end is stamped 07-01 00:00 (HJ 663 §5.1 caution).
        let end = HourEnding::from(hour_start_of(start - 3600));
        assert_eq!(end, HourEnding { date: d, hour: 0 });
    }
}
