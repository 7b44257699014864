//! County profiles (县域配置): the towns, monitoring sites, enterprise outlets, plan indicators
//! and targets that make qingshan a platform for one county.
//!
//! A profile is data: a folder of JSON files (layout in `profiles/README.md`), loaded with
//! [`Profile::load_dir`] or from strings with [`Profile::from_json_strs`], and checked with
//! [`Profile::validate`]. Dianjiang County (垫江县, 500231) is embedded: [`Profile::dianjiang`].
//! No I/O happens outside `load_dir`.

mod error;
mod restaurants;
mod types;
mod validate;

use std::path::Path;

pub use error::{Issue, Problem, ProfileError};
pub use types::*;

/// A loaded county profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub county: County,
    pub towns: Vec<Town>,
    /// Every site: those of `sites.json`, then one per enterprise outlet. Restaurants are not
    /// here; see [`Profile::restaurants`] and [`Profile::fleet`].
    pub sites: Vec<Site>,
    pub enterprises: Vec<Enterprise>,
    pub fume: Option<FumeFleet>,
    pub indicators: Vec<Indicator>,
    pub targets: Vec<Target>,
    pub history: History,
    /// The boundary GeoJSON text, if the profile has one.
    pub boundary_geojson: Option<String>,
    /// Outer rings of the boundary polygons, `[lon, lat]` (empty without a boundary).
    boundary_rings: Vec<Vec<[f64; 2]>>,
    boundary_error: Option<String>,
}

/// The JSON texts of a profile's files. `county`, `towns` and `sites` are required.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProfileFiles<'a> {
    pub county: &'a str,
    pub towns: &'a str,
    pub sites: &'a str,
    pub enterprises: Option<&'a str>,
    pub fume: Option<&'a str>,
    pub indicators: Option<&'a str>,
    pub targets: Option<&'a str>,
    pub history: Option<&'a str>,
    pub boundary: Option<&'a str>,
}

/// File names inside a profile folder.
pub mod files {
    pub const COUNTY: &str = "county.json";
    pub const TOWNS: &str = "towns.json";
    pub const SITES: &str = "sites.json";
    pub const ENTERPRISES: &str = "enterprises.json";
    pub const FUME: &str = "fume.json";
    pub const INDICATORS: &str = "indicators.json";
    pub const TARGETS: &str = "targets.json";
    pub const HISTORY: &str = "history.json";
}

mod embedded {
    pub const COUNTY: &str = include_str!("../../../profiles/dianjiang/county.json");
    pub const TOWNS: &str = include_str!("../../../profiles/dianjiang/towns.json");
    pub const SITES: &str = include_str!("../../../profiles/dianjiang/sites.json");
    pub const ENTERPRISES: &str = include_str!("../../../profiles/dianjiang/enterprises.json");
    pub const FUME: &str = include_str!("../../../profiles/dianjiang/fume.json");
    pub const INDICATORS: &str = include_str!("../../../profiles/dianjiang/indicators.json");
    pub const TARGETS: &str = include_str!("../../../profiles/dianjiang/targets.json");
    pub const HISTORY: &str = include_str!("../../../profiles/dianjiang/history.json");
    pub const BOUNDARY: &str = include_str!("../../../profiles/dianjiang/boundary.geojson");
}

/// The embedded Dianjiang profile files.
pub const DIANJIANG: ProfileFiles<'static> = ProfileFiles {
    county: embedded::COUNTY,
    towns: embedded::TOWNS,
    sites: embedded::SITES,
    enterprises: Some(embedded::ENTERPRISES),
    fume: Some(embedded::FUME),
    indicators: Some(embedded::INDICATORS),
    targets: Some(embedded::TARGETS),
    history: Some(embedded::HISTORY),
    boundary: Some(embedded::BOUNDARY),
};

fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, ProfileError> {
    serde_json::from_str(text).map_err(|e| ProfileError::Parse {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

impl Profile {
    /// Dianjiang County (垫江县, 500231), embedded in the binary. It is validated by the
    /// crate's tests, so this does not fail.
    pub fn dianjiang() -> Profile {
        Profile::from_json_strs(DIANJIANG).expect("embedded Dianjiang profile parses")
    }

    /// Parse a profile from its files' texts. Only parses; call [`Profile::validate`] to check
    /// the rules (or use [`Profile::load_dir`], which does both).
    pub fn from_json_strs(f: ProfileFiles<'_>) -> Result<Profile, ProfileError> {
        let county: County = parse(files::COUNTY, f.county)?;
        let towns: Vec<Town> = parse(files::TOWNS, f.towns)?;
        let mut sites: Vec<Site> = parse(files::SITES, f.sites)?;
        for s in &mut sites {
            s.file = files::SITES;
        }
        let enterprises: Vec<Enterprise> = match f.enterprises {
            Some(t) => parse(files::ENTERPRISES, t)?,
            None => Vec::new(),
        };
        let fume = f.fume.map(|t| parse(files::FUME, t)).transpose()?;
        let indicators = match f.indicators {
            Some(t) => parse(files::INDICATORS, t)?,
            None => Vec::new(),
        };
        let targets = match f.targets {
            Some(t) => parse(files::TARGETS, t)?,
            None => Vec::new(),
        };
        let history = match f.history {
            Some(t) => parse(files::HISTORY, t)?,
            None => History::default(),
        };
        for e in &enterprises {
            for o in &e.outlets {
                sites.push(outlet_site(e, o));
            }
        }
        let (boundary_rings, boundary_error) = match f.boundary {
            Some(text) => match boundary_rings(text) {
                Ok(r) => (r, None),
                Err(why) => (Vec::new(), Some(why)),
            },
            None => (Vec::new(), None),
        };
        Ok(Profile {
            county,
            towns,
            sites,
            enterprises,
            fume,
            indicators,
            targets,
            history,
            boundary_geojson: f.boundary.map(str::to_string),
            boundary_rings,
            boundary_error,
        })
    }

    /// Read a profile folder, parse and validate it. Optional files may be absent; the boundary
    /// is read if `county.json` names one.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Profile, ProfileError> {
        let dir = dir.as_ref();
        let read = |name: &str| -> Result<Option<String>, ProfileError> {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(t) => Ok(Some(t)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(ProfileError::Io {
                    file: path.display().to_string(),
                    message: e.to_string(),
                }),
            }
        };
        let required = |name: &str| -> Result<String, ProfileError> {
            read(name)?.ok_or_else(|| ProfileError::Io {
                file: dir.join(name).display().to_string(),
                message: "required file is missing".into(),
            })
        };
        let county_text = required(files::COUNTY)?;
        let county: County = parse(files::COUNTY, &county_text)?;
        let boundary = match &county.boundary {
            Some(name) => Some(required(name)?),
            None => None,
        };
        let towns = required(files::TOWNS)?;
        let sites = required(files::SITES)?;
        let enterprises = read(files::ENTERPRISES)?;
        let fume = read(files::FUME)?;
        let indicators = read(files::INDICATORS)?;
        let targets = read(files::TARGETS)?;
        let history = read(files::HISTORY)?;
        let profile = Profile::from_json_strs(ProfileFiles {
            county: &county_text,
            towns: &towns,
            sites: &sites,
            enterprises: enterprises.as_deref(),
            fume: fume.as_deref(),
            indicators: indicators.as_deref(),
            targets: targets.as_deref(),
            history: history.as_deref(),
            boundary: boundary.as_deref(),
        })?;
        profile.validate().map_err(ProfileError::Invalid)?;
        Ok(profile)
    }

    /// Check every rule; all problems are reported, each with file, item and field.
    pub fn validate(&self) -> Result<(), Vec<Issue>> {
        let issues = validate::validate(self);
        if issues.is_empty() {
            Ok(())
        } else {
            Err(issues)
        }
    }

    /// The site with this code (stations, sections, sources, noise points, outlets).
    pub fn site(&self, code: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.code == code)
    }

    /// The sites of one kind, in file order.
    pub fn sites_by_kind(&self, kind: SiteKind) -> impl Iterator<Item = &Site> + '_ {
        self.sites.iter().filter(move |s| s.kind == kind)
    }

    /// The sites in one town.
    pub fn sites_in_town<'a>(&'a self, town: &'a str) -> impl Iterator<Item = &'a Site> + 'a {
        self.sites.iter().filter(move |s| s.town == town)
    }

    pub fn towns(&self) -> &[Town] {
        &self.towns
    }

    /// The town with this 12-digit code.
    pub fn town(&self, code: &str) -> Option<&Town> {
        self.towns.iter().find(|t| t.code == code)
    }

    /// The town with this Chinese name, e.g. 桂溪街道.
    pub fn town_by_name(&self, name: &str) -> Option<&Town> {
        self.towns.iter().find(|t| t.name == name)
    }

    pub fn indicators(&self) -> &[Indicator] {
        &self.indicators
    }

    /// The indicator with this code, e.g. `I06`.
    pub fn indicator(&self, code: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.code == code)
    }

    /// The target with this code, e.g. `T-AIR-PM25`.
    pub fn target(&self, code: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.code == code)
    }

    pub fn enterprise(&self, code: &str) -> Option<&Enterprise> {
        self.enterprises.iter().find(|e| e.code == code)
    }

    /// The restaurant fume monitors (餐饮油烟), generated deterministically from `fume.json`:
    /// codes `FUME-0001`…, Chinese names, town, coordinates within `jitter_deg` of the town
    /// centre, scale by stove count. Empty without a fume fleet.
    pub fn restaurants(&self) -> Vec<Site> {
        match &self.fume {
            Some(f) => restaurants::generate(f, &self.towns),
            None => Vec::new(),
        }
    }

    /// Every site including the generated restaurants: the device fleet of the county.
    pub fn fleet(&self) -> Vec<Site> {
        let mut all = self.sites.clone();
        all.extend(self.restaurants());
        all
    }

    /// Whether the point is inside the county: inside the boundary polygon when the profile has
    /// one, else inside the bbox.
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        if self.boundary_rings.is_empty() {
            self.county.bbox.contains(lon, lat)
        } else {
            self.boundary_rings
                .iter()
                .any(|r| point_in_ring(lon, lat, r))
        }
    }

    /// Whether the profile has a usable boundary polygon.
    pub fn has_boundary(&self) -> bool {
        !self.boundary_rings.is_empty()
    }

    pub(crate) fn boundary_error(&self) -> Option<&str> {
        self.boundary_error.as_deref()
    }
}

fn outlet_site(e: &Enterprise, o: &Outlet) -> Site {
    Site {
        code: o.code.clone(),
        name: format!("{} {}", e.short_name, o.name),
        kind: o.kind,
        town: e.town.clone(),
        location: o.location.unwrap_or(e.location),
        source: e.source.clone(),
        assumed: e.assumed.clone(),
        air: None,
        surface_water: None,
        drinking_water: None,
        noise: None,
        outlet: Some(OutletAttrs {
            enterprise: e.code.clone(),
            standard: o.standard.clone(),
            reference_o2_pct: o.reference_o2_pct,
            monitored: o.monitored.clone(),
            limits: o.limits.clone(),
        }),
        fume: None,
        file: files::ENTERPRISES,
    }
}

/// Outer rings of every Polygon / MultiPolygon in a GeoJSON FeatureCollection, Feature or
/// geometry.
fn boundary_rings(text: &str) -> Result<Vec<Vec<[f64; 2]>>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut rings = Vec::new();
    collect_rings(&v, &mut rings)?;
    if rings.is_empty() {
        return Err("no polygon found".into());
    }
    Ok(rings)
}

fn collect_rings(v: &serde_json::Value, out: &mut Vec<Vec<[f64; 2]>>) -> Result<(), String> {
    let ring = |r: &serde_json::Value| -> Result<Vec<[f64; 2]>, String> {
        r.as_array()
            .ok_or("ring is not an array")?
            .iter()
            .map(|p| match p.as_array().map(|a| a.as_slice()) {
                Some([x, y, ..]) => match (x.as_f64(), y.as_f64()) {
                    (Some(x), Some(y)) => Ok([x, y]),
                    _ => Err("coordinate is not a number".to_string()),
                },
                _ => Err("position is not [lon, lat]".to_string()),
            })
            .collect()
    };
    match v.get("type").and_then(|t| t.as_str()) {
        Some("FeatureCollection") => {
            for f in v
                .get("features")
                .and_then(|f| f.as_array())
                .into_iter()
                .flatten()
            {
                collect_rings(f, out)?;
            }
        }
        Some("Feature") => {
            if let Some(g) = v.get("geometry") {
                collect_rings(g, out)?;
            }
        }
        Some("Polygon") => {
            if let Some(outer) = v.get("coordinates").and_then(|c| c.get(0)) {
                out.push(ring(outer)?);
            }
        }
        Some("MultiPolygon") => {
            for poly in v
                .get("coordinates")
                .and_then(|c| c.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(outer) = poly.get(0) {
                    out.push(ring(outer)?);
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Even-odd ray casting.
fn point_in_ring(x: f64, y: f64, ring: &[[f64; 2]]) -> bool {
    let mut inside = false;
    let n = ring.len();
    if n < 3 {
        return false;
    }
    let mut j = n - 1;
    for i in 0..n {
        let [xi, yi] = ring[i];
        let [xj, yj] = ring[j];
        if (yi > y) != (yj > y) && x < xi + (y - yi) * (xj - xi) / (yj - yi) {
            inside = !inside;
        }
        j = i;
    }
    inside
}
