//! Store extension: alarms and their follow-up: one active alarm per (rule, site, pollutant), life-cycle steps, notifications.

/// Tables of this domain, created when a store opens.
pub(crate) const SCHEMA: &str = "";
