//! Store extension: data quality (数据有效性): anomaly findings, transmission/validity rates, operator audit marks and their trail.

/// Tables of this domain, created when a store opens.
pub(crate) const SCHEMA: &str = "";
