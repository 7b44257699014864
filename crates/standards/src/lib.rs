//! # standards — Chinese national environmental standards as data and pure functions
//!
//! Every numeric table in this crate is a `const`/`static` data table that carries a
//! [`Source`] (standard number, table or clause, confidence). The functions over the tables
//! are pure: the crate does no I/O. Callers that need provincial (local) limits load them
//! themselves (e.g. from JSON with serde) and hand them over as values, see
//! [`emissions::LimitLibrary`].
//!
//! Module map:
//! - [`date`]: a small civil [`Date`] type and the hour-labelling newtypes
//!   ([`date::HourStart`], [`date::HourEnding`]).
//! - [`rounding`]: GB/T 8170 rounding (half to even on the decimal value) and exact ceiling.
//! - [`aqi`]: HJ 633-2012 / HJ 633-2026 — IAQI, AQI, primary and exceeding pollutants,
//!   levels, colours, health advice, report indicator sets, the 2026 completeness (NA) rules.
//! - [`ambient`]: GB 3095-2012 / GB 3095-2026 (transition and final) limits, data-validity
//!   minima, the 2018 reference-state rule.
//! - [`assessment`]: HJ 663 — daily means, O3 MDA8, percentiles, annual evaluation and
//!   attainment, good-days ratio, heavy-pollution days, composite index, exceedance multiple.
//! - [`water`]: GB 3838-2002 and 环办〔2011〕22号 — item and sample classes, exceedance
//!   multiples, main pollutants, section and river status, drinking-water items, TLI.
//! - [`noise`]: GB 3096-2008, GB 12348-2008, HJ 640-2012.
//! - [`emissions`]: GB 18483-2001, GB 13271-2014, GB 8978-1996, GB 18918-2002 and local tables.
//! - [`versions`]: which rule set is in force on a date.
//! - [`codes`]: HJ 212-2017 Appendix B monitoring-factor codes and their Chinese names.

pub mod ambient;
pub mod aqi;
pub mod assessment;
pub mod codes;
pub mod date;
pub mod emissions;
pub mod noise;
pub mod rounding;
pub mod source;
pub mod versions;
pub mod water;

pub use date::Date;
pub use rust_decimal::Decimal;
pub use source::{Confidence, Source};
