//! qingshan device simulator: a fleet of HJ 212 data loggers built from a county profile
//! (air stations, water sections and sources, noise points, enterprise outlets, restaurant
//! fume monitors), each on its own TCP connection, with realistic deterministic values,
//! answering the platform's requests like a real data logger. The demo and the load
//! generator; see `docs/simulator.md`.
//!
//! * [`fleet`]: the devices of a profile (deterministic MN/PW per site code).
//! * [`models`]: value models (diurnal, seasonal, near-limit discharge, restaurant hours).
//! * [`gen`]: upload frames (2011/2051/2061/2031, Flag=5).
//! * [`respond`]: answers to platform requests (9011 → uploads → 9012).
//! * [`client`]: the tokio fleet runner and its [`Summary`].

pub mod client;
pub mod fleet;
pub mod gen;
pub mod models;
pub mod respond;
pub mod rng;
pub mod time;

pub use client::{run, SimConfig, Stats, Summary};
pub use fleet::{fleet, fleet_of_kinds, mn_for, pw_for, SimDevice, FUME_CODE, FUME_ST};
pub use gen::{DeviceGen, Upload};
pub use respond::{respond, LoggerState, Out};

/// Parses a duration such as `60s`, `10m`, `2h`, `365d` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a number with s, m, h or d"))?;
    let mult = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return Err(format!("{s:?}: unit must be ms, s, m, h or d")),
    };
    if !(n * mult).is_finite() || n < 0.0 {
        return Err(format!("{s:?}: not a valid duration"));
    }
    Ok(std::time::Duration::from_secs_f64(n * mult))
}
