//! Store extension: enterprise outlets and restaurant fume: hourly corrected values, exceedance events, discharge totals.

/// Tables of this domain, created when a store opens.
pub(crate) const SCHEMA: &str = "";
