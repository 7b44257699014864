//! Store extension: surface water, drinking-water sources and noise: derived per-sample/day/month/year tables.

/// Tables of this domain, created when a store opens.
pub(crate) const SCHEMA: &str = "";
