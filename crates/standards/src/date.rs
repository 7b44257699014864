//! A small civil date (proleptic Gregorian, China Standard Time is implied by the caller) and
//! the two hour-labelling conventions used by monitoring data.
//!
//! Chinese hourly data are very often labelled by the **end** of the hour (the value stamped
//! `2026-03-02 00:00` is the mean of 23:00–24:00 on 2026-03-01). HJ 663 windows and daily
//! means are defined on the natural day by the hours' *start*. The two newtypes below make
//! the convention explicit; convert with `HourStart::from(HourEnding { .. })`.

use std::fmt;
use std::str::FromStr;

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

/// Why a date could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateError(pub String);

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for DateError {}

/// Whether `year` is a leap year in the Gregorian calendar.
pub const fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// A reporting period of the Beijing calendar: the whole `year`, or one `month` of it, as
/// inclusive first and last days. The error says which part is wrong (`month 13: expected
/// 1..=12`, or the year's problem).
pub fn year_or_month(year: i32, month: Option<u8>) -> Result<(Date, Date), DateError> {
    match month {
        None => Ok((Date::new(year, 1, 1)?, Date::new(year, 12, 31)?)),
        Some(m) if (1..=12).contains(&m) => Ok((
            Date::new(year, m, 1)?,
            Date::new(year, m, days_in_month(year, m))?,
        )),
        Some(m) => Err(DateError(format!("month {m}: expected 1..=12"))),
    }
}

/// Number of days in `month` (1–12) of `year`.
pub const fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// Builds a date, checking month and day.
    pub fn new(year: i32, month: u8, day: u8) -> Result<Date, DateError> {
        if !(1..=12).contains(&month) {
            return Err(DateError(format!("month {month} out of 1..=12")));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(DateError(format!(
                "day {day} out of range for {year:04}-{month:02}"
            )));
        }
        Ok(Date { year, month, day })
    }

    /// Builds a date known to be valid at compile time (panics otherwise).
    pub const fn ymd(year: i32, month: u8, day: u8) -> Date {
        assert!(month >= 1 && month <= 12 && day >= 1 && day <= days_in_month(year, month));
        Date { year, month, day }
    }

    /// Year.
    pub const fn year(self) -> i32 {
        self.year
    }
    /// Month 1–12.
    pub const fn month(self) -> u8 {
        self.month
    }
    /// Day of month.
    pub const fn day(self) -> u8 {
        self.day
    }

    /// The day before.
    pub fn pred(self) -> Date {
        if self.day > 1 {
            Date {
                day: self.day - 1,
                ..self
            }
        } else if self.month > 1 {
            let m = self.month - 1;
            Date {
                year: self.year,
                month: m,
                day: days_in_month(self.year, m),
            }
        } else {
            Date {
                year: self.year - 1,
                month: 12,
                day: 31,
            }
        }
    }

    /// The day after.
    pub fn succ(self) -> Date {
        if self.day < days_in_month(self.year, self.month) {
            Date {
                day: self.day + 1,
                ..self
            }
        } else if self.month < 12 {
            Date {
                year: self.year,
                month: self.month + 1,
                day: 1,
            }
        } else {
            Date {
                year: self.year + 1,
                month: 1,
                day: 1,
            }
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = DateError;
    /// Parses `YYYY-MM-DD`.
    fn from_str(s: &str) -> Result<Date, DateError> {
        let bad = || DateError(format!("expected YYYY-MM-DD, got {s:?}"));
        let mut it = s.split('-');
        let (y, m, d) = (
            it.next().ok_or_else(bad)?,
            it.next().ok_or_else(bad)?,
            it.next().ok_or_else(bad)?,
        );
        if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let y: i32 = y.parse().map_err(|_| bad())?;
        let m: u8 = m.parse().map_err(|_| bad())?;
        let d: u8 = d.parse().map_err(|_| bad())?;
        Date::new(y, m, d)
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An hour named by its **start**: `hour` 0–23 is the interval `hour:00 – hour+1:00` of `date`.
/// This is the convention HJ 663 windows and natural-day means are defined on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HourStart {
    /// The natural day the hour belongs to.
    pub date: Date,
    /// 0–23.
    pub hour: u8,
}

/// An hour named by its **end** (common in Chinese monitoring data and HJ 212 streams):
/// `hour` 0–23 stamped on `date` is the interval `hour−1:00 – hour:00`; the stamp
/// `date 00:00` therefore is the last hour (23:00–24:00) of the *previous* day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HourEnding {
    /// Date of the time stamp.
    pub date: Date,
    /// 0–23 (the clock hour of the stamp).
    pub hour: u8,
}

impl From<HourEnding> for HourStart {
    fn from(e: HourEnding) -> HourStart {
        if e.hour == 0 {
            HourStart {
                date: e.date.pred(),
                hour: 23,
            }
        } else {
            HourStart {
                date: e.date,
                hour: e.hour - 1,
            }
        }
    }
}

impl From<HourStart> for HourEnding {
    fn from(s: HourStart) -> HourEnding {
        if s.hour == 23 {
            HourEnding {
                date: s.date.succ(),
                hour: 0,
            }
        } else {
            HourEnding {
                date: s.date,
                hour: s.hour + 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// Reporting periods are whole Beijing calendar months or years (GB/T 7408 days).
    #[test]
    fn year_or_month_periods() {
        let (f, t) = year_or_month(2024, Some(2)).unwrap();
        assert_eq!(
            (f.to_string(), t.to_string()),
            ("2024-02-01".into(), "2024-02-29".into())
        );
        let (f, t) = year_or_month(2025, None).unwrap();
        assert_eq!(
            (f.to_string(), t.to_string()),
            ("2025-01-01".into(), "2025-12-31".into())
        );
        assert_eq!(
            year_or_month(2025, Some(13)).unwrap_err().to_string(),
            "month 13: expected 1..=12"
        );
    }

    use super::*;

    #[test]
    fn parse_and_display() {
        let d: Date = "2026-03-01".parse().unwrap();
        assert_eq!(d, Date::ymd(2026, 3, 1));
        assert_eq!(d.to_string(), "2026-03-01");
        assert!("2026-02-29".parse::<Date>().is_err());
        assert!("2024-02-29".parse::<Date>().is_ok());
        assert!("2026-3-1".parse::<Date>().is_err());
        assert!("2026-13-01".parse::<Date>().is_err());
    }

    #[test]
    fn pred_succ_cross_year() {
        assert_eq!(Date::ymd(2026, 1, 1).pred(), Date::ymd(2025, 12, 31));
        assert_eq!(Date::ymd(2024, 3, 1).pred(), Date::ymd(2024, 2, 29));
        assert_eq!(Date::ymd(2025, 12, 31).succ(), Date::ymd(2026, 1, 1));
    }

    /// HJ 663 §5.1 time-stamp caution: the stamp 00:00 (hour ending) is hour 23 of the day before.
    #[test]
    fn hour_ending_midnight_is_previous_day() {
        let e = HourEnding {
            date: Date::ymd(2026, 3, 2),
            hour: 0,
        };
        let s = HourStart::from(e);
        assert_eq!(
            s,
            HourStart {
                date: Date::ymd(2026, 3, 1),
                hour: 23
            }
        );
        assert_eq!(HourEnding::from(s), e);
        let e1 = HourEnding {
            date: Date::ymd(2026, 3, 2),
            hour: 1,
        };
        assert_eq!(HourStart::from(e1).hour, 0);
    }
}
