//! From an accepted HJ 212 packet to stored values.
//!
//! HJ 212-2017 §6.3.3: `DataTime` is the sampling instant for 2011/2021 and the start of the
//! interval for 2051/2061/2031/2041; items are `code-Suffix=value`, with `code-Flag` (Table 8)
//! and `code-EFlag` qualifying the values of the same code. A `DataTime` applies to the groups
//! that follow it, so a packet carrying several times (back-fill) stores each under its own.

use model::{parse_hj212_time, Device, Measurement, Period};

/// Why some of a packet's content could not be stored (the rest is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// An interval upload without a parseable DataTime: its values have no time.
    NoDataTime,
    /// A value that is not a number, with its key.
    NotANumber(String),
}

/// The values an upload carries, keyed to the device's site. `received_s` stands in for a
/// missing DataTime of a real-time (2011/2021) upload only.
pub fn values_of(
    packet: &hj212::Packet,
    device: &Device,
    received_s: i64,
    skipped: &mut Vec<Skipped>,
) -> Vec<Measurement> {
    let Some(period) = Period::of_command(packet.cn()) else {
        return Vec::new();
    };
    // Groups that carry a DataTime or a bare `Flag=` (seen on some loggers).
    struct Mark<'a> {
        group: usize,
        /// `Some(None)`: a DataTime that does not parse.
        time: Option<Option<i64>>,
        bare_flag: Option<&'a str>,
    }
    let mut marks: Vec<Mark<'_>> = Vec::new();
    for (i, g) in packet.groups().enumerate() {
        let dt = g.get("DataTime").map(parse_hj212_time);
        let bare = g.get("Flag");
        if dt.is_some() || bare.is_some() {
            marks.push(Mark {
                group: i,
                time: dt,
                bare_flag: bare,
            });
        }
    }
    let mut out = Vec::new();
    for v in packet.values() {
        let g = v.item().group_index();
        let time = marks
            .iter()
            .rev()
            .find(|m| m.group <= g && m.time.is_some())
            .and_then(|m| m.time)
            .flatten();
        let t = match (time, period) {
            (Some(t), _) => t,
            (None, Period::Rtd) => received_s,
            (None, _) => {
                if !skipped.contains(&Skipped::NoDataTime) {
                    skipped.push(Skipped::NoDataTime);
                }
                continue;
            }
        };
        let Some(number) = v.number().filter(|n| n.is_finite()) else {
            skipped.push(Skipped::NotANumber(v.item().key().to_string()));
            continue;
        };
        let flag = v.flag().or_else(|| {
            marks
                .iter()
                .find(|m| m.group == g && m.bare_flag.is_some())
                .and_then(|m| m.bare_flag)
        });
        out.push(Measurement {
            site: device.site.clone(),
            code: v.code().to_string(),
            field: v.field().to_string(),
            period,
            time: t,
            value: number,
            text: v.text().to_string(),
            flag: flag.map(str::to_string),
            eflag: v.eflag().map(str::to_string),
            mn: device.mn.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::DeviceKind;

    fn dev() -> Device {
        Device::new(
            "010000A8900016F000169DC0",
            "123456",
            "ENT-01",
            DeviceKind::Wastewater,
        )
    }

    fn packet(cn: &str, cp: &str) -> hj212::Packet {
        let seg = format!("QN=20160801085857223;ST=32;CN={cn};PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&{cp}&&");
        hj212::Packet::parse(seg.as_bytes()).unwrap()
    }

    /// HJ 212-2017 Table C.16: 2061 hour data; DataTime is the start of the hour.
    #[test]
    fn hour_data_with_flags() {
        let p = packet("2061", "DataTime=20160801080000;w01018-Min=10.0,w01018-Avg=20.5,w01018-Max=30.0,w01018-Flag=N;w21003-Avg=1.25,w21003-Flag=D");
        let mut skipped = vec![];
        let v = values_of(&p, &dev(), 0, &mut skipped);
        assert!(skipped.is_empty());
        assert_eq!(v.len(), 4);
        let t = parse_hj212_time("20160801080000").unwrap();
        assert!(v
            .iter()
            .all(|m| m.time == t && m.period == Period::Hour && m.site == "ENT-01"));
        assert_eq!(
            (
                v[1].field.as_str(),
                v[1].text.as_str(),
                v[1].flag.as_deref()
            ),
            ("Avg", "20.5", Some("N"))
        );
        assert_eq!(
            (v[3].code.as_str(), v[3].flag.as_deref()),
            ("w21003", Some("D"))
        );
    }

    #[test]
    fn each_group_takes_the_datatime_before_it() {
        let p = packet(
            "2061",
            "DataTime=20160801080000;w01018-Avg=1;DataTime=20160801090000;w01018-Avg=2",
        );
        let v = values_of(&p, &dev(), 0, &mut vec![]);
        assert_eq!(v[0].time + 3600, v[1].time);
    }

    #[test]
    fn interval_data_without_time_is_skipped_and_reported() {
        let p = packet("2051", "w01018-Avg=1,w01018-Flag=N");
        let mut skipped = vec![];
        assert!(values_of(&p, &dev(), 99, &mut skipped).is_empty());
        assert_eq!(skipped, [Skipped::NoDataTime]);
        let p = packet("2011", "w01018-Rtd=1;w21003-Rtd=abc");
        let mut skipped = vec![];
        let v = values_of(&p, &dev(), 99, &mut skipped);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].time, 99);
        assert_eq!(skipped, [Skipped::NotANumber("w21003-Rtd".into())]);
    }

    #[test]
    fn non_data_commands_carry_no_values() {
        let p = packet("9011", "QnRtn=1");
        assert!(values_of(&p, &dev(), 0, &mut vec![]).is_empty());
    }
}
