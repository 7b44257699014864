//! Packet generation: the CP of each upload from the value models, framed as HJ 212-2017
//! with Flag=5 (ack wanted). Segments are written directly (no parse-back), so one core
//! generates well over 100,000 packets/s; the tests decode every kind in strict mode.

use std::fmt::Write;

use profile::SiteKind;

use crate::fleet::SimDevice;
use crate::models::{channels, fume_open, ldn, Ch, Channel, Model};
use crate::time::{floor_day, floor_hour, n14, DAY, HOUR};

/// The uploads a simulated logger sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Upload {
    /// 2011 real-time data (DataTime = the sampling instant).
    Rtd,
    /// 2051 minute data over the device's minute interval.
    Min,
    /// 2061 hour data.
    Hour,
    /// 2031 day data (Beijing day).
    Day,
}

impl Upload {
    pub fn cn(self) -> &'static str {
        match self {
            Upload::Rtd => "2011",
            Upload::Min => "2051",
            Upload::Hour => "2061",
            Upload::Day => "2031",
        }
    }
    pub fn from_cn(cn: &str) -> Option<Upload> {
        match cn {
            "2011" => Some(Upload::Rtd),
            "2051" => Some(Upload::Min),
            "2061" => Some(Upload::Hour),
            "2031" => Some(Upload::Day),
            _ => None,
        }
    }
}

/// Flag of every upload: HJ 212-2017 with the A bit (5).
pub const UPLOAD_FLAG: u8 = 5;

/// Whether a device has this kind of upload for the interval starting at `t`
/// (restaurants: no day data, no data while closed).
pub fn applies(dev: &SimDevice, up: Upload, t: i64) -> bool {
    match dev.kind {
        SiteKind::Fume => up != Upload::Day && fume_open(t),
        _ => true,
    }
}

/// Generates the packets of one device. Small: the channels and a reusable buffer.
#[derive(Debug, Clone)]
pub struct DeviceGen {
    pub channels: Vec<Channel>,
    pub model: Model,
    seg: String,
}

fn num(out: &mut String, v: f64, decimals: usize) {
    let p = 10f64.powi(decimals as i32);
    let mut r = (v * p).round() / p;
    if r == 0.0 {
        r = 0.0; // no "-0.00"
    }
    let _ = write!(out, "{r:.decimals$}");
}

fn item(out: &mut String, first: &mut bool, code: &str, suffix: &str, v: f64, decimals: usize) {
    if !*first {
        out.push(',');
    }
    *first = false;
    out.push_str(code);
    out.push('-');
    out.push_str(suffix);
    out.push('=');
    num(out, v, decimals);
}

fn flag_item(out: &mut String, code: &str, flag: char) {
    out.push(',');
    out.push_str(code);
    out.push_str("-Flag=");
    out.push(flag);
}

impl DeviceGen {
    pub fn new(dev: &SimDevice, seed: u64, fume_code: &str) -> DeviceGen {
        DeviceGen {
            channels: channels(dev, fume_code),
            model: Model { seed },
            seg: String::with_capacity(1024),
        }
    }

    fn find(&self, pred: impl Fn(&Ch) -> bool) -> Option<&Channel> {
        self.channels.iter().find(|c| pred(&c.ch))
    }

    /// Writes the CP content (between `&&` and `&&`) of an upload; returns the number of
    /// values it carries (items other than Flag).
    pub fn cp_into(
        &self,
        dev: &SimDevice,
        up: Upload,
        t: i64,
        min_interval: u32,
        out: &mut String,
    ) -> u32 {
        let m = &self.model;
        let mut values = 0u32;
        out.push_str("DataTime=");
        out.push_str(&n14(t));
        let len = match up {
            Upload::Rtd => 0,
            Upload::Min => min_interval.max(1) as i64 * 60,
            Upload::Hour => HOUR,
            Upload::Day => DAY,
        };
        let flag = match up {
            Upload::Day => {
                let bad = (0..24).filter(|i| m.flag(dev, t + i * HOUR) != 'N').count();
                if bad > 6 {
                    'D'
                } else {
                    'N'
                }
            }
            _ => m.flag(dev, t),
        };
        // Interval means of O2 and flow, for O2-corrected values and discharge amounts.
        let avg_of = |pred: fn(&Ch) -> bool| -> Option<f64> {
            self.find(pred).map(|c| {
                if len == 0 {
                    m.instant(dev, c, t)
                } else {
                    m.interval(dev, c, t, len).0
                }
            })
        };
        let o2 = avg_of(|c| matches!(c, Ch::O2));
        let gas_flow = avg_of(|c| matches!(c, Ch::GasFlow));
        let water_flow = avg_of(|c| matches!(c, Ch::WasteFlow));
        let o2_factor = o2
            .map(|o| (21.0 - o) / (21.0 - dev.o2_ref))
            .unwrap_or(1.0)
            .clamp(0.05, 5.0);
        for c in &self.channels {
            out.push(';');
            let code = c.code.as_str();
            let d = c.decimals;
            let mut first = true;
            match c.ch {
                Ch::Fan | Ch::Purifier => {
                    let v = m.hour_mean(dev, c, t);
                    item(out, &mut first, code, "RS", v, 0);
                    values += 1;
                    continue;
                }
                Ch::Leq => {
                    match up {
                        Upload::Rtd => {
                            item(out, &mut first, "LA", "Data", m.instant(dev, c, t), d);
                            values += 1;
                        }
                        Upload::Day => {
                            let (dd, nn) = m.noise_day_night(dev, c, floor_day(t));
                            item(out, &mut first, "Leq", "DayData", dd, d);
                            item(out, &mut first, "Leq", "NightData", nn, d);
                            item(out, &mut first, "Ldn", "Data", ldn(dd, nn), d);
                            values += 3;
                        }
                        _ => {
                            let (a, lo, hi) = m.interval(dev, c, t, len);
                            for (k, v) in [
                                ("Leq", a),
                                ("L10", a + 2.5),
                                ("L50", a - 1.5),
                                ("L90", a - 4.5),
                                ("LMx", hi + 9.0),
                                ("LMn", lo - 5.0),
                            ] {
                                item(out, &mut first, k, "Data", v, d);
                            }
                            values += 6;
                        }
                    }
                    continue;
                }
                _ => {}
            }
            if up == Upload::Rtd {
                let v = m.instant(dev, c, t);
                match c.ch {
                    Ch::Gas(_) => {
                        item(out, &mut first, code, "Rtd", v * o2_factor, d);
                        item(out, &mut first, code, "ZsRtd", v, d);
                        values += 2;
                    }
                    _ => {
                        item(out, &mut first, code, "Rtd", v, d);
                        values += 1;
                    }
                }
            } else {
                let (a, lo, hi) = m.interval(dev, c, t, len);
                let secs = len as f64;
                match c.ch {
                    Ch::Gas(_) => {
                        // The model gives the O2-corrected value; the measured one is diluted.
                        item(out, &mut first, code, "Avg", a * o2_factor, d);
                        item(out, &mut first, code, "Min", lo * o2_factor, d);
                        item(out, &mut first, code, "Max", hi * o2_factor, d);
                        item(out, &mut first, code, "ZsAvg", a, d);
                        // kg = mg/m³ × m³/s × s / 1e6
                        let cou = a * o2_factor * gas_flow.unwrap_or(0.0) * secs / 1e6;
                        item(out, &mut first, code, "Cou", cou, 3);
                        values += 5;
                    }
                    Ch::GasFlow => {
                        for (s, v) in [("Avg", a), ("Min", lo), ("Max", hi)] {
                            item(out, &mut first, code, s, v, d);
                        }
                        item(out, &mut first, code, "Cou", a * secs, 1);
                        values += 4;
                    }
                    Ch::Water(_) => {
                        for (s, v) in [("Avg", a), ("Min", lo), ("Max", hi)] {
                            item(out, &mut first, code, s, v, d);
                        }
                        // kg = mg/L × L/s × s / 1e6
                        let cou = a * water_flow.unwrap_or(0.0) * secs / 1e6;
                        item(out, &mut first, code, "Cou", cou, 4);
                        values += 4;
                    }
                    Ch::WasteFlow => {
                        for (s, v) in [("Avg", a), ("Min", lo), ("Max", hi)] {
                            item(out, &mut first, code, s, v, d);
                        }
                        item(out, &mut first, code, "Cou", a * secs / 1000.0, 2);
                        values += 4;
                    }
                    _ => {
                        for (s, v) in [("Avg", a), ("Min", lo), ("Max", hi)] {
                            item(out, &mut first, code, s, v, d);
                        }
                        values += 3;
                    }
                }
            }
            if !matches!(c.ch, Ch::Fume) {
                flag_item(out, code, flag);
            }
        }
        values
    }

    /// The framed upload with this QN; returns the frame bytes and the number of values.
    pub fn frame(
        &mut self,
        dev: &SimDevice,
        up: Upload,
        t: i64,
        qn: u64,
        min_interval: u32,
        out: &mut Vec<u8>,
    ) -> u32 {
        let mut seg = std::mem::take(&mut self.seg);
        seg.clear();
        let _ = write!(
            seg,
            "QN={qn:017};ST={};CN={};PW={};MN={};Flag={UPLOAD_FLAG};CP=&&",
            dev.st,
            up.cn(),
            dev.device.pw,
            dev.device.mn
        );
        let values = self.cp_into(dev, up, t, min_interval, &mut seg);
        seg.push_str("&&");
        frame_segment(dev, seg.as_bytes(), out);
        self.seg = seg;
        values
    }
}

/// Frames a data segment for this device: the HJ 212 CRC, or CRC-16/MODBUS for the devices
/// that deliberately deviate.
pub fn frame_segment(dev: &SimDevice, seg: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    hj212::encode_segment_into(seg, out);
    if dev.modbus_crc {
        let crc = hj212::crc_hex(hj212::crc16_modbus(seg));
        let end = out.len() - 2;
        out[end - 4..end].copy_from_slice(&crc);
        debug_assert!(out.len() > start);
    }
}

/// Interval starts of `up` in `[begin, end]` whose interval is complete by `now`.
pub fn interval_starts(
    dev: &SimDevice,
    up: Upload,
    begin: i64,
    end: i64,
    now: i64,
    min_interval: u32,
) -> impl Iterator<Item = i64> + '_ {
    let (step, first) = match up {
        Upload::Rtd | Upload::Min => {
            let s = min_interval.max(1) as i64 * 60;
            (s, begin + (s - begin.rem_euclid(s)) % s)
        }
        Upload::Hour => (HOUR, {
            let f = floor_hour(begin);
            if f < begin {
                f + HOUR
            } else {
                f
            }
        }),
        Upload::Day => (DAY, {
            let f = floor_day(begin);
            if f < begin {
                f + DAY
            } else {
                f
            }
        }),
    };
    let mut t = first;
    std::iter::from_fn(move || {
        while t <= end && t + step <= now {
            let cur = t;
            t += step;
            if applies(dev, up, cur) {
                return Some(cur);
            }
        }
        None
    })
}
