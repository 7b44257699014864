//! From an accepted HJ 212 packet to stored values.
//!
//! HJ 212-2017 §6.3.3: `DataTime` is the sampling instant for 2011/2021 and the start of the
//! interval for 2051/2061/2031/2041; items are `code-Suffix=value`, with the group's
//! `code-Flag` (Table 8) and `code-EFlag` qualifying the values of the same code.

use model::{parse_hj212_time, Device, Measurement, Period};

/// Suffixes that qualify a value instead of being one.
const ATTRIBUTES: &[&str] = &["Flag", "EFlag", "SampleTime", "SN", "Info"];

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
    let mut out = Vec::new();
    let mut time: Option<i64> = None;
    for group in packet.groups() {
        // Attributes of this group, by code.
        let mut flags: Vec<(&str, &str)> = Vec::new();
        let mut eflags: Vec<(&str, &str)> = Vec::new();
        let mut bare_flag: Option<&str> = None;
        for (key, value) in group.items() {
            match key {
                "DataTime" => time = parse_hj212_time(value),
                "Flag" => bare_flag = Some(value),
                _ => {
                    if let Some((code, suffix)) = key.split_once('-') {
                        match suffix {
                            "Flag" => flags.push((code, value)),
                            "EFlag" => eflags.push((code, value)),
                            _ => {}
                        }
                    }
                }
            }
        }
        let start = out.len();
        for (key, value) in group.items() {
            let Some((code, suffix)) = key.split_once('-') else {
                continue;
            };
            if ATTRIBUTES.contains(&suffix) {
                continue;
            }
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
            let Ok(v) = value.trim().parse::<f64>() else {
                skipped.push(Skipped::NotANumber(key.to_string()));
                continue;
            };
            let flag = flags
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, f)| *f)
                .or(bare_flag);
            let eflag = eflags.iter().find(|(c, _)| *c == code).map(|(_, f)| *f);
            out.push(Measurement {
                site: device.site.clone(),
                code: hj212::normalise_code(code).to_string(),
                field: suffix.to_string(),
                period,
                time: t,
                value: v,
                text: value.to_string(),
                flag: flag.map(str::to_string),
                eflag: eflag.map(str::to_string),
                mn: device.mn.clone(),
            });
        }
        let _ = start;
    }
    out
}
