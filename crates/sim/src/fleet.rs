//! The simulated fleet: one data logger per site of a county profile (stations, sections,
//! sources, noise points, enterprise outlets and the generated restaurants).

use model::{Device, DeviceKind};
use profile::{Profile, Site, SiteKind};

use crate::rng::{fnv1a, hash};

/// System code (ST) the simulated restaurant fume monitors send. HJ 212-2017 has none for
/// 餐饮油烟; peers (`flash520/hj212`, `ringyee/fkhj212`) use 99, so do we.
pub const FUME_ST: &str = "99";

/// Default pollutant code for the fume concentration. The Std has no code for restaurant fume
/// (hj212.md §1.12: "make them configurable"); `a34041` is the code local fume specs use
/// next to the a340xx particulate codes. Override with [`SimConfig::fume_code`] /
/// `qingshan simulate --fume-code`.
pub const FUME_CODE: &str = "a34041";

/// Deviation allowed to (and shown by) the deliberately deviant devices.
pub const DEVIANT_ALLOW: &str = "crc_modbus";

/// One simulated device.
#[derive(Debug, Clone)]
pub struct SimDevice {
    pub device: Device,
    pub kind: SiteKind,
    /// HJ 212 system code (Std Table 5).
    pub st: &'static str,
    /// Stable 64-bit key of the site (values depend on it and on the seed).
    pub key: u64,
    /// Sends CRC-16/MODBUS frames (registered with `allow=["crc_modbus"]`).
    pub modbus_crc: bool,
    /// Water: pollution index (0.3 clean reservoir … 1.6 打渔溪). Noise: (day, night) limit.
    pub level: f64,
    /// Noise zone limits (day, night) dB(A).
    pub noise_limits: (f64, f64),
    /// Outlet limits: (code, upper) for the monitored pollutants; O2 reference.
    pub limits: Vec<(String, f64)>,
    pub o2_ref: f64,
    /// Codes an outlet monitors.
    pub monitored: Vec<String>,
    /// Water body is a lake/reservoir (TP and TN behave differently).
    pub lake: bool,
    /// Fume: purifier sometimes off while the fan runs.
    pub lazy_purifier: bool,
    /// Fume: number of stoves (scales flow and concentration).
    pub stoves: u8,
}

/// Deterministic MN for a site: 24 uppercase hex characters (Std Table 3: EPC-96 shape)
/// derived from the site code only, so re-registering gives the same MN.
pub fn mn_for(site_code: &str) -> String {
    let a = fnv1a(format!("qingshan-sim/mn/{site_code}").as_bytes());
    let b = fnv1a(format!("qingshan-sim/mn2/{site_code}").as_bytes());
    format!("{a:016X}{:08X}", b as u32)
}

/// Deterministic 6-digit password for a site.
pub fn pw_for(site_code: &str) -> String {
    format!(
        "{:06}",
        fnv1a(format!("qingshan-sim/pw/{site_code}").as_bytes()) % 1_000_000
    )
}

fn device_kind(k: SiteKind) -> DeviceKind {
    match k {
        SiteKind::Air => DeviceKind::Air,
        SiteKind::SurfaceWater => DeviceKind::SurfaceWater,
        SiteKind::DrinkingWater => DeviceKind::DrinkingWater,
        SiteKind::Noise => DeviceKind::Noise,
        SiteKind::FlueGas => DeviceKind::FlueGas,
        SiteKind::Wastewater => DeviceKind::Wastewater,
        SiteKind::Fume => DeviceKind::Fume,
    }
}

fn st_for(k: SiteKind) -> &'static str {
    match k {
        SiteKind::Air => "22",
        SiteKind::SurfaceWater | SiteKind::DrinkingWater => "21",
        SiteKind::Noise => "23",
        SiteKind::FlueGas => "31",
        SiteKind::Wastewater => "32",
        SiteKind::Fume => FUME_ST,
    }
}

impl SimDevice {
    pub fn from_site(site: &Site) -> SimDevice {
        let key = fnv1a(site.code.as_bytes());
        // About one device in 40 speaks CRC-16/MODBUS, as field loggers do (hj212.md §0.3).
        let modbus_crc = hash(&[key, 0xC2C]) % 40 < 1;
        let kind = site.kind;
        let mut level = 0.6;
        let mut lake = false;
        if let Some(sw) = &site.surface_water {
            lake = matches!(sw.water_body, profile::WaterBody::Lake);
            level = match sw.target_class.as_str() {
                "I" | "II" => 0.45,
                "III" => 0.62,
                "IV" => 1.1,
                _ => 1.45, // 打渔溪: Class IV–V, sometimes 劣V
            };
        }
        if let Some(dw) = &site.drinking_water {
            lake = matches!(dw.water_body, profile::WaterBody::Lake);
            level = match dw.source_type {
                profile::SourceType::Reservoir => 0.32,
                _ => 0.5,
            };
        }
        let noise_limits = match site.noise.as_ref().map(|n| n.zone.as_str()) {
            Some("0") => (50.0, 40.0),
            Some("1") => (55.0, 45.0),
            Some("2") => (60.0, 50.0),
            Some("3") => (65.0, 55.0),
            Some("4a") => (70.0, 55.0),
            Some("4b") => (70.0, 60.0),
            _ => (55.0, 45.0),
        };
        let (limits, o2_ref, monitored) = match &site.outlet {
            Some(o) => (
                o.limits
                    .iter()
                    .filter_map(|l| l.upper.map(|u| (l.pollutant.clone(), u)))
                    .collect(),
                o.reference_o2_pct.unwrap_or(9.0),
                o.monitored.clone(),
            ),
            None => (Vec::new(), 9.0, Vec::new()),
        };
        let stoves = site.fume.as_ref().map(|f| f.stoves).unwrap_or(2).max(1);
        let allow = if modbus_crc {
            vec![DEVIANT_ALLOW.to_string()]
        } else {
            Vec::new()
        };
        SimDevice {
            device: Device {
                mn: mn_for(&site.code),
                pw: pw_for(&site.code),
                site: site.code.clone(),
                kind: device_kind(kind),
                name: format!("sim {}", site.name),
                protocol: Some("2017".into()),
                allow,
                calibrate_clock: false,
                rtd_interval: None,
                min_interval: None,
                registered: None,
            },
            kind,
            st: st_for(kind),
            key,
            modbus_crc,
            level,
            noise_limits,
            limits,
            o2_ref,
            monitored,
            lake,
            lazy_purifier: hash(&[key, 0x1A27]) % 8 < 1,
            stoves,
        }
    }

    pub fn limit(&self, code: &str) -> Option<f64> {
        self.limits.iter().find(|(c, _)| c == code).map(|(_, u)| *u)
    }
}

/// The fleet of a profile: every site and restaurant, at most `n` of them. When `n` is less
/// than the whole fleet the kinds are taken in turn (air, water, …, fume, air, …) so that a
/// small fleet still has every kind.
pub fn fleet(profile: &Profile, n: Option<usize>) -> Vec<SimDevice> {
    fleet_of_kinds(profile, n, &SiteKind::ALL)
}

/// [`fleet`] restricted to some kinds of site (in the order of [`SiteKind::ALL`]), e.g. a
/// focused fleet of stations, sections and outlets without the 1,357 restaurants.
pub fn fleet_of_kinds(profile: &Profile, n: Option<usize>, kinds: &[SiteKind]) -> Vec<SimDevice> {
    let all: Vec<Site> = profile
        .fleet()
        .into_iter()
        .filter(|s| kinds.contains(&s.kind))
        .collect();
    let total = all.len();
    let n = n.unwrap_or(total).min(total);
    let mut by_kind: Vec<Vec<&Site>> = SiteKind::ALL
        .iter()
        .filter(|k| kinds.contains(k))
        .map(|k| all.iter().filter(|s| s.kind == *k).collect())
        .collect();
    for v in &mut by_kind {
        v.reverse();
    }
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        for v in by_kind.iter_mut() {
            if out.len() >= n {
                break;
            }
            if let Some(s) = v.pop() {
                out.push(SimDevice::from_site(s));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_restrict_the_fleet_and_are_still_taken_in_turn() {
        let p = Profile::dianjiang();
        let kinds = [SiteKind::Air, SiteKind::SurfaceWater, SiteKind::FlueGas];
        let f = fleet_of_kinds(&p, Some(7), &kinds);
        let got: Vec<&str> = f.iter().map(|d| d.device.site.as_str()).collect();
        assert_eq!(
            got,
            [
                "AIR-01",
                "SW-LJT",
                "ENT-ZQBL-01",
                "AIR-02",
                "SW-PS",
                "ENT-JLKJ-01",
                "AIR-03"
            ]
        );
        // Without a limit: every site of those kinds (3 air, 5 sections, 6 flue-gas outlets).
        assert_eq!(fleet_of_kinds(&p, None, &kinds).len(), 14);
        assert_eq!(fleet(&p, Some(7)).len(), 7);
    }
}
