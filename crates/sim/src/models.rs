//! Value models: what each kind of device measures, as a pure function of (seed, device,
//! channel, time). Hour means are the core; real-time and minute values interpolate between
//! hour means, day values aggregate the 24 hours of the Beijing day.
//!
//! Levels are set for Dianjiang (a Chongqing county): PM2.5 annual mean ≈ 29 µg/m³ (2020),
//! winter 55–90 with episodes above 115, summer 15–25; O3 summer afternoon peaks 160–220;
//! rivers Class II–III, 打渔溪 IV–V (sometimes 劣V), reservoirs I–II; outlets near their
//! permit limits and over them a few % of hours; restaurants busy at lunch and dinner.

use std::f64::consts::TAU;

use profile::SiteKind;

use crate::fleet::SimDevice;
use crate::rng::{normal, signed, smooth, unit};
use crate::time::{floor_day, floor_hour, hour_frac, hour_of_day, season, DAY, HOUR};

/// What a channel is (one pollutant or parameter of a device).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ch {
    Pm25,
    Pm10,
    So2,
    No2,
    Co,
    O3,
    AirTemp,
    Rh,
    WindSpeed,
    WindDir,
    Ph,
    Do,
    CodMn,
    Nh3n,
    Tp,
    Tn,
    WaterTemp,
    Conductivity,
    /// Noise equivalent level, dB(A).
    Leq,
    /// A flue-gas pollutant with its limit (the value is the O2-corrected concentration).
    Gas(f64),
    O2,
    GasFlow,
    GasTemp,
    /// A wastewater pollutant with its limit.
    Water(f64),
    WastePh,
    WasteFlow,
    Fume,
    Fan,
    Purifier,
}

/// One channel of a device: HJ 212 code, decimals, model.
#[derive(Debug, Clone)]
pub struct Channel {
    pub code: String,
    pub decimals: usize,
    pub ch: Ch,
    /// Stable id for hashing.
    pub id: u64,
}

fn chan(code: &str, decimals: usize, ch: Ch) -> Channel {
    Channel {
        code: code.to_string(),
        decimals,
        ch,
        id: crate::rng::fnv1a(code.as_bytes()),
    }
}

/// Default limits for monitored outlet codes the profile gives no limit for.
fn default_limit(code: &str) -> f64 {
    match code {
        "a21026" => 100.0,
        "a21002" => 200.0,
        "a34013" => 20.0,
        "a21005" => 100.0,
        "w01018" => 100.0,
        "w21003" => 15.0,
        "w21011" => 1.0,
        "w21001" => 30.0,
        "w01012" => 70.0,
        _ => 50.0,
    }
}

/// The channels of a device.
pub fn channels(dev: &SimDevice, fume_code: &str) -> Vec<Channel> {
    match dev.kind {
        SiteKind::Air => vec![
            chan("a34004", 0, Ch::Pm25),
            chan("a34002", 0, Ch::Pm10),
            chan("a21026", 0, Ch::So2),
            chan("a21004", 0, Ch::No2),
            chan("a21005", 2, Ch::Co),
            chan("a05024", 0, Ch::O3),
            chan("a01001", 1, Ch::AirTemp),
            chan("a01002", 0, Ch::Rh),
            chan("a01007", 1, Ch::WindSpeed),
            chan("a01008", 0, Ch::WindDir),
        ],
        SiteKind::SurfaceWater | SiteKind::DrinkingWater => vec![
            chan("w01001", 2, Ch::Ph),
            chan("w01009", 2, Ch::Do),
            chan("w01019", 2, Ch::CodMn),
            chan("w21003", 3, Ch::Nh3n),
            chan("w21011", 3, Ch::Tp),
            chan("w21001", 2, Ch::Tn),
            chan("w01010", 1, Ch::WaterTemp),
            chan("w01014", 0, Ch::Conductivity),
        ],
        SiteKind::Noise => vec![chan("Leq", 1, Ch::Leq)],
        SiteKind::FlueGas => {
            let mut v = Vec::new();
            for code in &dev.monitored {
                let c = match code.as_str() {
                    "a00000" => chan(code, 2, Ch::GasFlow),
                    "a19001" => chan(code, 2, Ch::O2),
                    "a01012" => chan(code, 1, Ch::GasTemp),
                    other => chan(
                        other,
                        2,
                        Ch::Gas(dev.limit(other).unwrap_or_else(|| default_limit(other))),
                    ),
                };
                v.push(c);
            }
            v
        }
        SiteKind::Wastewater => {
            let mut v = Vec::new();
            for code in &dev.monitored {
                let c = match code.as_str() {
                    "w00000" => chan(code, 3, Ch::WasteFlow),
                    "w01001" => chan(code, 2, Ch::WastePh),
                    other => chan(
                        other,
                        3,
                        Ch::Water(dev.limit(other).unwrap_or_else(|| default_limit(other))),
                    ),
                };
                v.push(c);
            }
            v
        }
        SiteKind::Fume => vec![
            chan(fume_code, 2, Ch::Fume),
            chan("SB1", 0, Ch::Fan),
            chan("SB2", 0, Ch::Purifier),
        ],
    }
}

/// Fume monitors are online from 10:00 to 22:00 Beijing time.
pub fn fume_open(t: i64) -> bool {
    (10..22).contains(&hour_of_day(t))
}

/// Bell curve around `c` hours with width `s`.
fn bell(h: f64, c: f64, s: f64) -> f64 {
    let d = (h - c) / s;
    (-0.5 * d * d).exp()
}

/// Winter weight: 1 mid-January, 0 mid-July, 0.25 at the equinoxes.
fn winter(t: i64) -> f64 {
    let w = (1.0 + season(t)) / 2.0;
    w * w
}

/// Summer weight: 1 mid-July, 0 mid-January.
fn summer(t: i64) -> f64 {
    (1.0 - season(t)) / 2.0
}

/// The model inputs.
#[derive(Debug, Clone)]
pub struct Model {
    pub seed: u64,
}

impl Model {
    fn n(&self, dev: &SimDevice, ch: &Channel, t: i64, salt: u64) -> f64 {
        normal(&[self.seed, dev.key, ch.id, t as u64, salt])
    }
    fn u(&self, dev: &SimDevice, ch: &Channel, t: i64, salt: u64) -> f64 {
        unit(&[self.seed, dev.key, ch.id, t as u64, salt])
    }
    /// Regional weather (the same for every station of the county).
    fn regional(&self, what: u64, t: i64, scale: i64) -> f64 {
        smooth(crate::rng::hash(&[self.seed, what]), t, scale)
    }
    /// A property of the device (0..1), fixed for a seed.
    fn trait_of(&self, dev: &SimDevice, ch: &Channel, what: u64) -> f64 {
        unit(&[self.seed, dev.key, ch.id, what, 0x7A17])
    }

    /// PM2.5 hour mean at a station, µg/m³ (also drives PM10 and CO).
    fn pm25(&self, dev: &SimDevice, t: i64) -> f64 {
        let h = hour_frac(t);
        let base = 12.5 + 42.0 * winter(t);
        // Regional episodes lasting days; stronger in winter (inversions).
        let e = self.regional(0xE915, t, 3 * DAY);
        let episode = (e * (0.35 + 0.35 * winter(t))).exp();
        let diurnal = 1.0 + 0.18 * (TAU * (h - 2.0) / 24.0).cos();
        let station = 0.92 + 0.16 * unit(&[self.seed, dev.key, 0x57A7]);
        let noise = (0.12 * normal(&[self.seed, dev.key, 0x9425, t as u64])).exp();
        (base * episode * diurnal * station * noise).max(3.0)
    }

    /// The mean of a channel over the hour starting at `t` (a Beijing hour boundary).
    pub fn hour_mean(&self, dev: &SimDevice, ch: &Channel, t: i64) -> f64 {
        let t = floor_hour(t);
        let h = hour_frac(t) + 0.5;
        let afternoon = (TAU * (h - 15.0) / 24.0).cos();
        match ch.ch {
            Ch::Pm25 => self.pm25(dev, t),
            Ch::Pm10 => self.pm25(dev, t) * (1.45 + 0.3 * self.u(dev, ch, t, 1)) + 3.0,
            Ch::So2 => {
                (6.0 + 7.0 * winter(t))
                    * (0.2 * self.n(dev, ch, t, 0)).exp()
                    * (1.0 + 0.2 * afternoon)
            }
            Ch::No2 => {
                let rush = bell(h, 8.5, 1.5) + bell(h, 19.0, 2.0);
                (17.0 + 12.0 * winter(t))
                    * (0.7 + 0.6 * rush)
                    * (0.15 * self.n(dev, ch, t, 0)).exp()
            }
            Ch::Co => 0.4 + 0.006 * self.pm25(dev, t) + 0.05 * self.n(dev, ch, t, 0).abs(),
            Ch::O3 => {
                let s = summer(t);
                let weather = (0.25 * self.regional(0x03, t, 2 * DAY)).exp();
                let d = afternoon.max(0.0).powf(1.5);
                (12.0 + 10.0 * s + (50.0 + 130.0 * s) * d * weather)
                    * (0.1 * self.n(dev, ch, t, 0)).exp()
            }
            Ch::AirTemp => {
                17.5 - 10.0 * season(t)
                    + 4.0 * afternoon
                    + 2.5 * self.regional(0x7E, t, 4 * DAY)
                    + 0.4 * self.n(dev, ch, t, 0)
            }
            Ch::Rh => (79.0 + 4.0 * season(t) - 14.0 * afternoon
                + 8.0 * self.regional(0x44, t, 3 * DAY)
                + 2.0 * self.n(dev, ch, t, 0))
            .clamp(25.0, 100.0),
            Ch::WindSpeed => ((1.2 + 0.8 * afternoon.max(0.0) + 0.5 * self.regional(0x3D, t, DAY))
                * (0.25 * self.n(dev, ch, t, 0)).exp())
            .max(0.1),
            Ch::WindDir => {
                (25.0 + 70.0 * self.regional(0xD1, t, DAY / 2) + 25.0 * self.n(dev, ch, t, 0))
                    .rem_euclid(360.0)
            }
            Ch::Ph => 7.4 + 0.25 * afternoon + 0.12 * self.n(dev, ch, t, 0),
            Ch::Do => (10.0 - 3.5 * dev.level - 1.3 * summer(t)
                + 0.5 * afternoon
                + 0.25 * self.n(dev, ch, t, 0))
            .max(1.0),
            Ch::CodMn => {
                6.2 * dev.level * self.water_episode(dev, t) * (0.08 * self.n(dev, ch, t, 0)).exp()
            }
            Ch::Nh3n => {
                0.85 * dev.level.powf(1.3)
                    * self.water_episode(dev, t).powf(1.4)
                    * (0.12 * self.n(dev, ch, t, 0)).exp()
            }
            Ch::Tp => {
                let k = if dev.lake { 0.06 } else { 0.16 };
                k * dev.level * self.water_episode(dev, t) * (0.1 * self.n(dev, ch, t, 0)).exp()
            }
            Ch::Tn => {
                1.5 * dev.level * self.water_episode(dev, t) * (0.08 * self.n(dev, ch, t, 0)).exp()
            }
            Ch::WaterTemp => 17.0 - 9.0 * season(t) + 0.8 * afternoon + 0.2 * self.n(dev, ch, t, 0),
            Ch::Conductivity => 280.0 + 180.0 * dev.level + 15.0 * self.n(dev, ch, t, 0),
            Ch::Leq => {
                let (day, night) = dev.noise_limits;
                let hr = hour_of_day(t);
                let base = if (6..22).contains(&hr) {
                    day - 3.5 + 1.5 * (bell(h, 8.0, 1.5) + bell(h, 18.0, 1.5))
                } else {
                    night - 2.5 - 1.5 * bell(h, 3.0, 1.5)
                };
                base + 1.8 * self.n(dev, ch, t, 0)
            }
            Ch::Gas(limit) => {
                let ratio = 0.45 + 0.3 * self.trait_of(dev, ch, 1);
                let load = 0.88 + 0.12 * smooth(dev.key ^ ch.id, t, DAY);
                // A few % of hours over the limit (upset combustion, bypassed scrubber).
                if self.u(dev, ch, t, 2) < 0.03 {
                    return limit * (1.08 + 0.5 * self.u(dev, ch, t, 3));
                }
                limit * ratio * load * (0.08 * self.n(dev, ch, t, 0)).exp()
            }
            Ch::O2 => (dev.o2_ref
                + 2.0
                + 0.8 * smooth(dev.key ^ 0x02, t, DAY / 2)
                + 0.3 * self.n(dev, ch, t, 0))
            .clamp(1.0, 19.5),
            Ch::GasFlow => {
                let base = 8.0 + 30.0 * self.trait_of(dev, ch, 1);
                base * (0.88 + 0.12 * smooth(dev.key ^ ch.id, t, DAY))
                    * (0.04 * self.n(dev, ch, t, 0)).exp()
            }
            Ch::GasTemp => 50.0 + 90.0 * self.trait_of(dev, ch, 1) + 3.0 * self.n(dev, ch, t, 0),
            Ch::Water(limit) => {
                let ratio = 0.35 + 0.35 * self.trait_of(dev, ch, 1);
                if self.u(dev, ch, t, 2) < 0.03 {
                    return limit * (1.08 + 0.5 * self.u(dev, ch, t, 3));
                }
                limit * ratio * (0.12 * self.n(dev, ch, t, 0)).exp()
            }
            Ch::WastePh => {
                let u = self.u(dev, ch, t, 2);
                if u < 0.005 {
                    9.2 + 0.5 * self.u(dev, ch, t, 3)
                } else if u < 0.01 {
                    5.9 - 0.4 * self.u(dev, ch, t, 3)
                } else {
                    7.3 + 0.25 * self.n(dev, ch, t, 0)
                }
            }
            Ch::WasteFlow => {
                let base = 2.0 + 15.0 * self.trait_of(dev, ch, 1);
                let shift = if (8..20).contains(&hour_of_day(t)) {
                    1.0
                } else {
                    0.45
                };
                base * shift * (0.1 * self.n(dev, ch, t, 0)).exp()
            }
            Ch::Fume => {
                let (fan, purifier) = self.fume_state(dev, t);
                let limit = 2.0;
                let stoves = 0.8 + 0.05 * dev.stoves as f64;
                let c = match (fan, purifier) {
                    (false, _) => 0.05 + 0.1 * self.u(dev, ch, t, 1),
                    (true, true) => limit * (0.15 + 0.35 * self.trait_of(dev, ch, 1)) * stoves,
                    (true, false) => limit * (1.6 + 1.6 * self.u(dev, ch, t, 1)) * stoves,
                };
                c * (0.1 * self.n(dev, ch, t, 0)).exp()
            }
            Ch::Fan => self.fume_state(dev, t).0 as u8 as f64,
            Ch::Purifier => self.fume_state(dev, t).1 as u8 as f64,
        }
    }

    /// Rainy/dry spells that move every water parameter together; 打渔溪 swings widely.
    fn water_episode(&self, dev: &SimDevice, t: i64) -> f64 {
        let amp = if dev.level > 1.0 { 0.35 } else { 0.2 };
        (amp * smooth(crate::rng::hash(&[self.seed, dev.key, 0xA7E2]), t, 5 * DAY)).exp()
    }

    /// (fan running, purifier running) in the hour containing `t`.
    pub fn fume_state(&self, dev: &SimDevice, t: i64) -> (bool, bool) {
        let t = floor_hour(t);
        if !fume_open(t) {
            return (false, false);
        }
        let h = hour_of_day(t);
        let u = unit(&[self.seed, dev.key, t as u64, 0xFA2]);
        let fan = match h {
            11 | 12 | 17 | 18 | 19 => true,
            10 | 13 | 16 | 20 => u < 0.6,
            _ => u < 0.2,
        };
        let off = dev.lazy_purifier && unit(&[self.seed, dev.key, t as u64, 0xF0F]) < 0.35;
        (fan, fan && !off)
    }

    /// The HJ 212 data flag of a device's values in the hour containing `t` (Std Table 8):
    /// N mostly, now and then M (maintenance), C (calibration) or D (fault).
    pub fn flag(&self, dev: &SimDevice, t: i64) -> char {
        if dev.kind == SiteKind::Fume || dev.kind == SiteKind::Noise {
            return 'N';
        }
        let u = unit(&[self.seed, dev.key, floor_hour(t) as u64, 0xF1A6]);
        if u < 0.006 {
            'M'
        } else if u < 0.009 {
            'C'
        } else if u < 0.011 {
            'D'
        } else {
            'N'
        }
    }

    /// The value at an instant: between the hour means, plus a little noise.
    pub fn instant(&self, dev: &SimDevice, ch: &Channel, t: i64) -> f64 {
        if matches!(ch.ch, Ch::Fan | Ch::Purifier) {
            return self.hour_mean(dev, ch, t);
        }
        let h0 = floor_hour(t);
        let f = (t - h0) as f64 / HOUR as f64;
        // Interpolate from the middle of one hour to the middle of the next.
        let (a, b, g) = if f < 0.5 {
            (
                self.hour_mean(dev, ch, h0 - HOUR),
                self.hour_mean(dev, ch, h0),
                f + 0.5,
            )
        } else {
            (
                self.hour_mean(dev, ch, h0),
                self.hour_mean(dev, ch, h0 + HOUR),
                f - 0.5,
            )
        };
        let v = a + (b - a) * g;
        let jitter = 0.03 * signed(&[self.seed, dev.key, ch.id, t as u64, 0x1257]);
        if matches!(
            ch.ch,
            Ch::WindDir | Ch::Leq | Ch::Ph | Ch::WastePh | Ch::AirTemp | Ch::WaterTemp
        ) {
            v + jitter * 3.0
        } else {
            (v * (1.0 + jitter)).max(0.0)
        }
    }

    /// (avg, min, max) over an interval of `len` seconds starting at `t`.
    pub fn interval(&self, dev: &SimDevice, ch: &Channel, t: i64, len: i64) -> (f64, f64, f64) {
        if len >= DAY {
            let d0 = floor_day(t);
            let hours: Vec<(f64, f64, f64)> = (0..24)
                .map(|i| self.interval(dev, ch, d0 + i * HOUR, HOUR))
                .collect();
            let avg = if ch.ch == Ch::Leq {
                energy_mean(hours.iter().map(|h| h.0))
            } else {
                hours.iter().map(|h| h.0).sum::<f64>() / 24.0
            };
            let min = hours.iter().map(|h| h.1).fold(f64::INFINITY, f64::min);
            let max = hours.iter().map(|h| h.2).fold(f64::NEG_INFINITY, f64::max);
            return (avg, min, max);
        }
        let avg = if len >= HOUR {
            self.hour_mean(dev, ch, t)
        } else {
            self.instant(dev, ch, t + len / 2)
        };
        if matches!(ch.ch, Ch::Fan | Ch::Purifier) {
            return (avg, avg, avg);
        }
        let spread = if len >= HOUR { 0.12 } else { 0.05 };
        let a = spread * (0.5 + unit(&[self.seed, dev.key, ch.id, t as u64, 0x3141]));
        let b = spread * (0.5 + unit(&[self.seed, dev.key, ch.id, t as u64, 0x2718]));
        match ch.ch {
            Ch::WindDir => (avg, (avg - 60.0 * a).max(0.0), (avg + 60.0 * b).min(359.0)),
            Ch::Leq | Ch::Ph | Ch::WastePh | Ch::AirTemp | Ch::WaterTemp => {
                (avg, avg - 10.0 * a, avg + 10.0 * b)
            }
            _ => (avg, avg * (1.0 - a), avg * (1.0 + 1.5 * b)),
        }
    }

    /// Day / night Leq (dB(A)) of the Beijing day starting at `d0` (GB 3096: day 06–22).
    pub fn noise_day_night(&self, dev: &SimDevice, ch: &Channel, d0: i64) -> (f64, f64) {
        let hours: Vec<(u32, f64)> = (0..24)
            .map(|i| {
                let t = d0 + i * HOUR;
                (hour_of_day(t), self.hour_mean(dev, ch, t))
            })
            .collect();
        let day = energy_mean(hours.iter().filter(|h| (6..22).contains(&h.0)).map(|h| h.1));
        let night = energy_mean(
            hours
                .iter()
                .filter(|h| !(6..22).contains(&h.0))
                .map(|h| h.1),
        );
        (day, night)
    }
}

/// Energy (logarithmic) mean of levels in dB.
pub fn energy_mean(levels: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for l in levels {
        s += 10f64.powf(l / 10.0);
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    10.0 * (s / n as f64).log10()
}

/// Day-night level Ldn (GB 3096 / ISO 1996: night +10 dB).
pub fn ldn(day: f64, night: f64) -> f64 {
    10.0 * ((16.0 * 10f64.powf(day / 10.0) + 8.0 * 10f64.powf((night + 10.0) / 10.0)) / 24.0)
        .log10()
}
