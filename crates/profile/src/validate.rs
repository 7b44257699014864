//! The rules a profile must keep. Every problem is collected, each with file, item and field.

use std::collections::{HashMap, HashSet};

use crate::error::{Issue, Problem};
use crate::files;
use crate::types::*;
use crate::Profile;

struct Ctx {
    issues: Vec<Issue>,
}

impl Ctx {
    fn push(&mut self, file: &str, at: impl Into<String>, field: &str, problem: Problem) {
        self.issues.push(Issue {
            file: file.to_string(),
            at: at.into(),
            field: field.to_string(),
            problem,
        });
    }
}

/// ASCII letters, digits and `-`/`_`, starting with a letter or digit.
fn code_ok(code: &str) -> Result<(), &'static str> {
    if code.is_empty() {
        return Err("empty");
    }
    if !code
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("only ASCII letters, digits, '-' and '_' are allowed");
    }
    if code.len() > 32 {
        return Err("longer than 32 characters");
    }
    Ok(())
}

fn pollutant_ok(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 6 && (b[0] == b'a' || b[0] == b'w') && b[1..].iter().all(u8::is_ascii_digit)
}

pub(crate) fn validate(p: &Profile) -> Vec<Issue> {
    let mut c = Ctx { issues: Vec::new() };
    let county = &p.county;
    let bbox = county.bbox;

    // County.
    let at = format!("county {}", county.code);
    if county.code.len() != 6 || !county.code.bytes().all(|b| b.is_ascii_digit()) {
        c.push(
            files::COUNTY,
            &at,
            "code",
            Problem::BadText {
                value: county.code.clone(),
                why: "a GB/T 2260 code has 6 digits",
            },
        );
    }
    if county.utc_offset_seconds().is_none() {
        c.push(
            files::COUNTY,
            &at,
            "timezone",
            Problem::BadText {
                value: county.timezone.clone(),
                why: "expected ±HH:MM, e.g. +08:00",
            },
        );
    }
    let bbox_ok = bbox.min_lon < bbox.max_lon
        && bbox.min_lat < bbox.max_lat
        && (-180.0..=180.0).contains(&bbox.min_lon)
        && (-180.0..=180.0).contains(&bbox.max_lon)
        && (-90.0..=90.0).contains(&bbox.min_lat)
        && (-90.0..=90.0).contains(&bbox.max_lat);
    if !bbox_ok {
        c.push(
            files::COUNTY,
            &at,
            "bbox",
            Problem::BadText {
                value: format!("{bbox:?}"),
                why: "min must be below max, within lon/lat ranges",
            },
        );
    }
    if !bbox.contains(county.centre.lon, county.centre.lat) {
        c.push(
            files::COUNTY,
            &at,
            "centre",
            Problem::OutOfBbox {
                lon: county.centre.lon,
                lat: county.centre.lat,
            },
        );
    }
    if let Some(why) = p.boundary_error() {
        let file = county.boundary.clone().unwrap_or_else(|| "boundary".into());
        c.push(
            &file,
            &at,
            "geometry",
            Problem::BadBoundary {
                why: why.to_string(),
            },
        );
    }

    // Towns.
    let mut town_codes: HashMap<&str, String> = HashMap::new();
    for t in &p.towns {
        let at = format!("town {}", t.code);
        if let Some(first) = town_codes.get(t.code.as_str()) {
            c.push(
                files::TOWNS,
                &at,
                "code",
                Problem::DuplicateCode {
                    code: t.code.clone(),
                    first: first.clone(),
                },
            );
        } else {
            town_codes.insert(&t.code, format!("{} {}", files::TOWNS, t.name));
        }
        if t.code.len() != 12
            || !t.code.bytes().all(|b| b.is_ascii_digit())
            || !t.code.starts_with(&county.code)
        {
            c.push(
                files::TOWNS,
                &at,
                "code",
                Problem::BadCode {
                    code: t.code.clone(),
                    why: "a town code has 12 digits and starts with the county code",
                },
            );
        }
        check_location(&mut c, p, files::TOWNS, &at, "centre", &t.centre);
    }
    if !town_codes.contains_key(county.seat_town.as_str()) {
        c.push(
            files::COUNTY,
            format!("county {}", county.code),
            "seat_town",
            Problem::UnknownTown {
                town: county.seat_town.clone(),
            },
        );
    }

    // Sites (including outlets).
    let mut site_codes: HashMap<&str, &str> = HashMap::new();
    for s in &p.sites {
        let file = if s.file.is_empty() {
            files::SITES
        } else {
            s.file
        };
        let at = format!("site {}", s.code);
        if let Err(why) = code_ok(&s.code) {
            c.push(
                file,
                &at,
                "code",
                Problem::BadCode {
                    code: s.code.clone(),
                    why,
                },
            );
        }
        if let Some(first) = site_codes.get(s.code.as_str()) {
            c.push(
                file,
                &at,
                "code",
                Problem::DuplicateCode {
                    code: s.code.clone(),
                    first: first.to_string(),
                },
            );
        } else {
            site_codes.insert(&s.code, file);
        }
        if !town_codes.contains_key(s.town.as_str()) {
            c.push(
                file,
                &at,
                "town",
                Problem::UnknownTown {
                    town: s.town.clone(),
                },
            );
        }
        check_location(&mut c, p, file, &at, "location", &s.location);
        check_site_attrs(&mut c, file, &at, s);
    }

    // Enterprises.
    let mut ent_codes: HashSet<&str> = HashSet::new();
    for e in &p.enterprises {
        let at = format!("enterprise {}", e.code);
        if let Err(why) = code_ok(&e.code) {
            c.push(
                files::ENTERPRISES,
                &at,
                "code",
                Problem::BadCode {
                    code: e.code.clone(),
                    why,
                },
            );
        }
        if !ent_codes.insert(&e.code) || site_codes.contains_key(e.code.as_str()) {
            c.push(
                files::ENTERPRISES,
                &at,
                "code",
                Problem::DuplicateCode {
                    code: e.code.clone(),
                    first: files::ENTERPRISES.into(),
                },
            );
        }
        if !town_codes.contains_key(e.town.as_str()) {
            c.push(
                files::ENTERPRISES,
                &at,
                "town",
                Problem::UnknownTown {
                    town: e.town.clone(),
                },
            );
        }
        check_location(&mut c, p, files::ENTERPRISES, &at, "location", &e.location);
    }

    // Fume fleet.
    if let Some(f) = &p.fume {
        let at = "fume fleet";
        let sum: u32 = f.distribution.iter().map(|d| d.count).sum();
        if sum != f.count {
            c.push(
                files::FUME,
                at,
                "distribution",
                Problem::FumeCountMismatch {
                    count: f.count,
                    sum,
                },
            );
        }
        for (i, d) in f.distribution.iter().enumerate() {
            if !town_codes.contains_key(d.town.as_str()) {
                c.push(
                    files::FUME,
                    at,
                    &format!("distribution[{i}].town"),
                    Problem::UnknownTown {
                        town: d.town.clone(),
                    },
                );
            }
        }
        if f.limit_mg_m3.is_nan() || f.limit_mg_m3 <= 0.0 {
            c.push(
                files::FUME,
                at,
                "limit_mg_m3",
                Problem::BadValue {
                    value: f.limit_mg_m3,
                    why: "a limit is positive",
                },
            );
        }
        if !(0.0..=0.05).contains(&f.jitter_deg) {
            c.push(
                files::FUME,
                at,
                "jitter_deg",
                Problem::BadValue {
                    value: f.jitter_deg,
                    why: "0..0.05 degrees (about 5 km)",
                },
            );
        }
        if f.count > 9999 {
            c.push(
                files::FUME,
                at,
                "count",
                Problem::BadValue {
                    value: f.count as f64,
                    why: "restaurant codes have 4 digits (FUME-0001..9999)",
                },
            );
        }
    }

    // Indicators.
    let mut ind_codes: HashSet<&str> = HashSet::new();
    for i in &p.indicators {
        let at = format!("indicator {}", i.code);
        if let Err(why) = code_ok(&i.code) {
            c.push(
                files::INDICATORS,
                &at,
                "code",
                Problem::BadCode {
                    code: i.code.clone(),
                    why,
                },
            );
        }
        if !ind_codes.insert(&i.code) {
            c.push(
                files::INDICATORS,
                &at,
                "code",
                Problem::DuplicateCode {
                    code: i.code.clone(),
                    first: files::INDICATORS.into(),
                },
            );
        }
        match &i.target_2025 {
            None => c.push(
                files::INDICATORS,
                &at,
                "target_2025",
                Problem::MissingTarget,
            ),
            Some(IndicatorTarget::Numeric { value, .. }) if !value.is_finite() => c.push(
                files::INDICATORS,
                &at,
                "target_2025.value",
                Problem::BadValue {
                    value: *value,
                    why: "not a finite number",
                },
            ),
            Some(IndicatorTarget::Assigned { text, .. }) if text.trim().is_empty() => c.push(
                files::INDICATORS,
                &at,
                "target_2025.text",
                Problem::BadText {
                    value: text.clone(),
                    why: "say who sets it, e.g. 市级下达",
                },
            ),
            _ => {}
        }
        if i.unit == "%" {
            for (field, v) in [
                ("baseline_2020", i.baseline_2020),
                ("target_2025.value", numeric(&i.target_2025)),
            ] {
                if let Some(v) = v {
                    if !(0.0..=100.0).contains(&v) {
                        c.push(
                            files::INDICATORS,
                            &at,
                            field,
                            Problem::BadValue {
                                value: v,
                                why: "a percentage is within 0..100",
                            },
                        );
                    }
                }
            }
        }
        let has_department = matches!(i.department.as_deref(), Some(d) if !d.trim().is_empty());
        if i.computed_from == Computation::Manual && !has_department {
            c.push(
                files::INDICATORS,
                &at,
                "department",
                Problem::MissingDepartment,
            );
        }
    }

    // Targets.
    let mut tgt_codes: HashSet<&str> = HashSet::new();
    for t in &p.targets {
        let at = format!("target {}", t.code);
        if !tgt_codes.insert(&t.code) {
            c.push(
                files::TARGETS,
                &at,
                "code",
                Problem::DuplicateCode {
                    code: t.code.clone(),
                    first: files::TARGETS.into(),
                },
            );
        }
        if let Some(site) = &t.site {
            if !site_codes.contains_key(site.as_str()) {
                c.push(
                    files::TARGETS,
                    &at,
                    "site",
                    Problem::UnknownSite { site: site.clone() },
                );
            }
        }
        if let Some(class) = &t.class {
            if WaterClass::parse(class).is_none() {
                c.push(
                    files::TARGETS,
                    &at,
                    "class",
                    Problem::BadWaterClass {
                        class: class.clone(),
                    },
                );
            }
        }
        if t.value.is_some() != t.direction.is_some() {
            c.push(
                files::TARGETS,
                &at,
                "direction",
                Problem::BadText {
                    value: format!("{:?}", t.direction),
                    why: "value and direction go together",
                },
            );
        }
    }

    c.issues
}

fn numeric(t: &Option<IndicatorTarget>) -> Option<f64> {
    match t {
        Some(IndicatorTarget::Numeric { value, .. }) => Some(*value),
        _ => None,
    }
}

fn check_location(c: &mut Ctx, p: &Profile, file: &str, at: &str, field: &str, l: &Location) {
    if !p.county.bbox.contains(l.lon, l.lat) {
        c.push(
            file,
            at,
            field,
            Problem::OutOfBbox {
                lon: l.lon,
                lat: l.lat,
            },
        );
    } else if p.has_boundary() && !p.contains(l.lon, l.lat) {
        c.push(
            file,
            at,
            field,
            Problem::OutOfBoundary {
                lon: l.lon,
                lat: l.lat,
            },
        );
    }
}

/// `HH:MM-HH:MM`, each 00:00–24:00, the two different.
fn open_hours_ok(v: &str) -> bool {
    let min = |x: &str| -> Option<u32> {
        let (h, m) = x.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
    };
    match v.split_once('-') {
        Some((a, b)) => matches!((min(a), min(b)), (Some(a), Some(b)) if a != b),
        None => false,
    }
}

fn check_site_attrs(c: &mut Ctx, file: &str, at: &str, s: &Site) {
    if let Some(h) = s.fume.as_ref().and_then(|f| f.open_hours.as_deref()) {
        if !open_hours_ok(h) {
            c.push(
                file,
                at,
                "fume.open_hours",
                Problem::BadOpenHours { value: h.into() },
            );
        }
    }
    let present: [(&'static str, bool, &[SiteKind]); 6] = [
        ("air", s.air.is_some(), &[SiteKind::Air]),
        (
            "surface_water",
            s.surface_water.is_some(),
            &[SiteKind::SurfaceWater],
        ),
        (
            "drinking_water",
            s.drinking_water.is_some(),
            &[SiteKind::DrinkingWater],
        ),
        ("noise", s.noise.is_some(), &[SiteKind::Noise]),
        (
            "outlet",
            s.outlet.is_some(),
            &[SiteKind::FlueGas, SiteKind::Wastewater],
        ),
        ("fume", s.fume.is_some(), &[SiteKind::Fume]),
    ];
    for (block, is_present, kinds) in present {
        let wanted = kinds.contains(&s.kind);
        if wanted && !is_present {
            c.push(
                file,
                at,
                block,
                Problem::MissingAttributes {
                    kind: s.kind.to_string(),
                    block,
                },
            );
        } else if !wanted && is_present {
            c.push(
                file,
                at,
                block,
                Problem::StrayAttributes {
                    kind: s.kind.to_string(),
                    block,
                },
            );
        }
    }
    if let Some(w) = &s.surface_water {
        if w.target().is_none() {
            c.push(
                file,
                at,
                "surface_water.target_class",
                Problem::BadWaterClass {
                    class: w.target_class.clone(),
                },
            );
        }
    }
    if let Some(d) = &s.drinking_water {
        if d.target().is_none() {
            c.push(
                file,
                at,
                "drinking_water.target_class",
                Problem::BadWaterClass {
                    class: d.target_class.clone(),
                },
            );
        }
    }
    if let Some(n) = &s.noise {
        if n.zone().is_none() {
            c.push(
                file,
                at,
                "noise.zone",
                Problem::BadZone {
                    zone: n.zone.clone(),
                },
            );
        }
    }
    if let Some(o) = &s.outlet {
        if !matches!(s.kind, SiteKind::FlueGas | SiteKind::Wastewater) {
            c.push(
                file,
                at,
                "kind",
                Problem::BadOutletKind {
                    kind: s.kind.to_string(),
                },
            );
        }
        match (s.kind, o.reference_o2_pct) {
            (SiteKind::FlueGas, None) => {
                c.push(file, at, "reference_o2_pct", Problem::MissingReferenceO2)
            }
            (_, Some(v)) if !(0.0..21.0).contains(&v) => c.push(
                file,
                at,
                "reference_o2_pct",
                Problem::BadReferenceO2 { value: v },
            ),
            _ => {}
        }
        for (i, code) in o.monitored.iter().enumerate() {
            if !pollutant_ok(code) {
                c.push(
                    file,
                    at,
                    &format!("monitored[{i}]"),
                    Problem::BadPollutantCode { code: code.clone() },
                );
            }
        }
        for (i, l) in o.limits.iter().enumerate() {
            if !pollutant_ok(&l.pollutant) {
                c.push(
                    file,
                    at,
                    &format!("limits[{i}].pollutant"),
                    Problem::BadPollutantCode {
                        code: l.pollutant.clone(),
                    },
                );
            }
            let bad = match (l.lower, l.upper) {
                (None, None) => true,
                (Some(lo), Some(up)) => lo > up || lo < 0.0,
                (Some(v), None) | (None, Some(v)) => v < 0.0 || !v.is_finite(),
            } || l.upper_low_temp.is_some_and(|v| v < 0.0);
            if bad {
                c.push(
                    file,
                    at,
                    &format!("limits[{i}] ({})", l.pollutant),
                    Problem::BadLimit,
                );
            }
        }
    }
}
