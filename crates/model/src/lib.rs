//! Shared domain types of qingshan: what a device, a site, a measurement and a period are.
//!
//! Time convention (DESIGN.md): instants are stored as UTC Unix seconds; every day, month and
//! year boundary a user sees is Beijing time (UTC+8, no daylight saving). HJ 212 `DataTime`
//! values are Beijing wall-clock times.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// Error for values that do not parse into a domain type; says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {value:?} is not one of {expected}")]
pub struct ParseError {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

macro_rules! str_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$v => $s),+ } }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                match s { $($s => Ok($name::$v),)+ _ => Err(ParseError {
                    what: $what, value: s.to_string(), expected: concat!($($s, " "),+) }) }
            }
        }
    };
}

str_enum!(
    /// What a device measures, i.e. the kind of site it is installed at.
    DeviceKind, "device kind" {
    /// 环境空气质量监测站 ambient air station
    Air = "air",
    /// 地表水断面 surface-water section
    SurfaceWater = "surface_water",
    /// 集中式饮用水水源地 drinking-water source
    DrinkingWater = "drinking_water",
    /// 声环境监测点 noise point
    Noise = "noise",
    /// 废气排放口 (CEMS) flue-gas outlet
    FlueGas = "flue_gas",
    /// 废水排放口 wastewater outlet
    Wastewater = "wastewater",
    /// 餐饮油烟 restaurant fume monitor
    Fume = "fume",
});

str_enum!(
    /// The period a stored value covers. HJ 212: 2011 real-time (an instant), 2051 minute,
    /// 2061 hour, 2031 day data; for the interval periods the time is the interval's start.
    Period, "period" {
    Rtd = "rtd",
    Min = "min",
    Hour = "hour",
    Day = "day",
});

impl Period {
    /// The period of the values an upload with this command code carries.
    pub fn of_command(cn: &str) -> Option<Period> {
        match cn {
            "2011" | "2021" => Some(Period::Rtd),
            "2051" => Some(Period::Min),
            "2061" => Some(Period::Hour),
            "2031" | "2041" => Some(Period::Day),
            _ => None,
        }
    }

    /// Small integer used as a compact storage key.
    pub fn id(self) -> i64 {
        match self {
            Period::Rtd => 0,
            Period::Min => 1,
            Period::Hour => 2,
            Period::Day => 3,
        }
    }

    pub fn from_id(id: i64) -> Option<Period> {
        Period::ALL.iter().copied().find(|p| p.id() == id)
    }
}

/// A registered data logger (数采仪), identified by its MN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// 设备唯一标识 MN.
    pub mn: String,
    /// 访问密码 PW.
    pub pw: String,
    /// Code of the site or outlet the device measures; values are stored under the site.
    pub site: String,
    pub kind: DeviceKind,
    #[serde(default)]
    pub name: String,
    /// Protocol version the device speaks ("2005", "2017", "2025"); `None` = take the Flag.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Deviations from the letter of HJ 212 this device is allowed (codec names such as
    /// `crc_modbus`, `lf_only`); a frame with any other deviation is refused. `*` allows all.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Calibrate the device clock (1012) when it connects.
    #[serde(default)]
    pub calibrate_clock: bool,
    /// Real-time upload interval to set on connect (1062), seconds.
    #[serde(default)]
    pub rtd_interval: Option<u32>,
    /// Minute-data interval to set on connect (1064), minutes.
    #[serde(default)]
    pub min_interval: Option<u32>,
    /// When the device was registered (commissioned), UTC seconds. The store sets it to the
    /// time of registration when a device is first put without one and keeps it on later
    /// updates; `None` for devices registered before qingshan recorded it. What a device is
    /// due to send starts at the earlier of this and its first data (docs/engine-quality.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered: Option<i64>,
}

impl Device {
    /// A device with the given identity and the default policy: strict protocol (no
    /// deviations allowed), no on-connect commands.
    pub fn new(mn: &str, pw: &str, site: &str, kind: DeviceKind) -> Device {
        Device {
            mn: mn.into(),
            pw: pw.into(),
            site: site.into(),
            kind,
            name: String::new(),
            protocol: None,
            allow: Vec::new(),
            calibrate_clock: false,
            rtd_interval: None,
            min_interval: None,
            registered: None,
        }
    }

    pub fn allows(&self, deviation: &str) -> bool {
        self.allow.iter().any(|a| a == "*" || a == deviation)
    }
}

/// One stored value: keyed by (site, code, field, period, time) so that a resend or a
/// back-fill replaces instead of double-counting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub site: String,
    /// Pollutant or parameter code, normalised to HJ 212-2017 (e.g. `w01018`, `a34004`, `LA`).
    pub code: String,
    /// HJ 212 field suffix: Rtd, Avg, Min, Max, Cou, ZsRtd, ZsAvg, Data, RS, RT, …
    pub field: String,
    pub period: Period,
    /// UTC Unix seconds of the sample instant (rtd) or the interval start (min/hour/day).
    pub time: i64,
    pub value: f64,
    /// The exact decimal text the device sent.
    pub text: String,
    /// HJ 212-2017 Table 8 data flag (N, F, M, S, D, C, T, B); `None` if the device sent none.
    pub flag: Option<String>,
    /// Device-defined extended flag (EFlag).
    pub eflag: Option<String>,
    /// The device that sent it.
    pub mn: String,
}

/// Beijing time, UTC+8 (no daylight saving).
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// Parses an HJ 212 `DataTime`/`SystemTime` (`YYYYMMDDhhmmss`, Beijing wall clock; a 17-digit
/// form with milliseconds is accepted and the milliseconds dropped) into UTC Unix seconds.
pub fn parse_hj212_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let digits = match s.len() {
        14 => s,
        17 => &s[..14],
        _ => return None,
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let naive = NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M%S").ok()?;
    beijing()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.timestamp())
}

/// Formats UTC Unix seconds as an HJ 212 time (`YYYYMMDDhhmmss`, Beijing).
pub fn format_hj212_time(unix: i64) -> String {
    to_beijing(unix).format("%Y%m%d%H%M%S").to_string()
}

/// Formats UTC Unix seconds as RFC 3339 in Beijing time, e.g. `2026-11-28T08:00:00+08:00`.
pub fn format_beijing(unix: i64) -> String {
    to_beijing(unix).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

pub fn to_beijing(unix: i64) -> DateTime<FixedOffset> {
    Utc.timestamp_opt(unix, 0)
        .single()
        .unwrap_or_default()
        .with_timezone(&beijing())
}

/// Parses an RFC 3339 instant, or a bare `YYYY-MM-DD[THH:MM[:SS]]` taken as Beijing time.
pub fn parse_user_time(s: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S"))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight"))
        })
        .ok()?;
    beijing()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HJ 212-2017 §6.3.3: DataTime is YYYYMMDDhhmmss local (Beijing) time.
    #[test]
    fn hj212_time_is_beijing() {
        let t = parse_hj212_time("20160801084000").unwrap();
        assert_eq!(format_beijing(t), "2016-08-01T08:40:00+08:00");
        assert_eq!(t, 1470012000);
        assert_eq!(format_hj212_time(t), "20160801084000");
        assert_eq!(parse_hj212_time("20160801084000123"), Some(t));
        assert_eq!(parse_hj212_time("2016080108400"), None);
        assert_eq!(parse_hj212_time("20161301084000"), None);
    }

    #[test]
    fn user_times() {
        assert_eq!(
            parse_user_time("2016-08-01T08:40:00+08:00"),
            parse_hj212_time("20160801084000")
        );
        assert_eq!(
            parse_user_time("2016-08-01"),
            parse_hj212_time("20160801000000")
        );
    }

    #[test]
    fn enums_round_trip() {
        for k in DeviceKind::ALL {
            assert_eq!(k.as_str().parse::<DeviceKind>().unwrap(), *k);
        }
        assert!("boat".parse::<DeviceKind>().is_err());
        for p in Period::ALL {
            assert_eq!(Period::from_id(p.id()), Some(*p));
        }
    }
}
