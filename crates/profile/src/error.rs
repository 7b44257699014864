//! Errors: a profile that cannot be read or parsed, and the precise problems `validate` finds.

use std::fmt;

/// Why a profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A file could not be read.
    #[error("{file}: cannot read: {message}")]
    Io { file: String, message: String },
    /// A file is not valid JSON for its schema (unknown field, wrong type, missing field…).
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// The profile parsed but breaks the rules checked by [`crate::Profile::validate`].
    #[error("{}", Issues(.0))]
    Invalid(Vec<Issue>),
}

struct Issues<'a>(&'a [Issue]);

impl fmt::Display for Issues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "profile has {} problem(s)", self.0.len())?;
        for issue in self.0 {
            write!(f, "\n  {issue}")?;
        }
        Ok(())
    }
}

/// One problem found by validation: what, and where (file, item, field).
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// The profile file, e.g. `sites.json`.
    pub file: String,
    /// The item: a site, town, indicator, target or enterprise code, e.g. `site SW-LJT`.
    pub at: String,
    /// The field path inside the item, e.g. `surface_water.target_class`.
    pub field: String,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}: {}",
            self.file, self.at, self.field, self.problem
        )
    }
}

/// What is wrong with a profile item.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error("code {code:?} is used more than once (first in {first})")]
    DuplicateCode { code: String, first: String },
    #[error("{code:?} is not a valid code ({why})")]
    BadCode { code: String, why: &'static str },
    #[error("town {town:?} is not in towns.json")]
    UnknownTown { town: String },
    #[error("site {site:?} is not a site of this profile")]
    UnknownSite { site: String },
    #[error("({lon}, {lat}) is outside the county bbox")]
    OutOfBbox { lon: f64, lat: f64 },
    #[error("({lon}, {lat}) is outside the county boundary")]
    OutOfBoundary { lon: f64, lat: f64 },
    #[error("{zone:?} is not a noise functional zone (0, 1, 2, 3, 4a, 4b)")]
    BadZone { zone: String },
    #[error("{class:?} is not a water quality class (I, II, III, IV, V)")]
    BadWaterClass { class: String },
    #[error("a site of kind {kind} needs the `{block}` attribute block")]
    MissingAttributes { kind: String, block: &'static str },
    #[error("attribute block `{block}` does not belong to a site of kind {kind}")]
    StrayAttributes { kind: String, block: &'static str },
    #[error("open_hours {value:?} is not HH:MM-HH:MM (e.g. 10:00-22:00)")]
    BadOpenHours { value: String },
    #[error("outlet kind must be flue_gas or wastewater, not {kind}")]
    BadOutletKind { kind: String },
    #[error("a flue-gas outlet needs reference_o2_pct (基准含氧量)")]
    MissingReferenceO2,
    #[error("reference_o2_pct {value} is not a percentage in 0..21")]
    BadReferenceO2 { value: f64 },
    #[error("{code:?} is not an HJ 212-2017 pollutant code (a/w + 5 digits)")]
    BadPollutantCode { code: String },
    #[error("limit needs upper and/or lower, with lower <= upper and no negative value")]
    BadLimit,
    #[error("the indicator has no 2025 target")]
    MissingTarget,
    #[error("a manually entered indicator needs a responsible department")]
    MissingDepartment,
    #[error("{value} is not a plausible value here ({why})")]
    BadValue { value: f64, why: &'static str },
    #[error("{value:?} is not valid here ({why})")]
    BadText { value: String, why: &'static str },
    #[error("distribution sums to {sum}, but count is {count}")]
    FumeCountMismatch { count: u32, sum: u32 },
    #[error("the boundary GeoJSON has no Polygon or MultiPolygon ({why})")]
    BadBoundary { why: String },
}
