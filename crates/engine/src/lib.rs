//! # engine — roll-ups and evaluations over the store
//!
//! Reads what the store holds, applies the `standards` crate, and writes derived tables back
//! through the [`store::Store`] trait, so a request never recomputes from raw values.
//! Incremental: [`air::AirEngine::touched`] names the (station, day) pairs a commit touched and
//! [`air::AirEngine::update`] recomputes only those. See `docs/engine.md`.
//!
//! Module map:
//! - [`time`]: Beijing natural days of stored UTC instants, HJ 212 hour-start labels as
//!   [`standards::date::HourStart`].
//! - [`air`]: station and county daily values, MDA8, daily AQI by the rules in force (derived
//!   table `air_days`), incremental update, cold rebuild, catch-up by watermark.
//! - [`air_hourly`]: minute → hour roll-up (≥ 45 min), hourly real-time AQI per station and
//!   county (derived table `air_hours`), the hourly report.
//! - [`air_report`]: the period (year/month) report per station and for the county.

pub mod air;
pub mod air_hourly;
pub mod air_report;
pub mod alarms;
pub mod due;
pub mod fume;
pub mod indicators;
pub mod noise;
pub mod observe;
pub mod quality;
pub mod quality_report;
pub mod sources;
pub mod sources_report;
pub mod time;
pub mod water;
pub mod water_report;

pub use air::{AirEngine, AirStation, UpdateStats};
pub use air_hourly::{AirHourlyEngine, AirHoursReport, HourPolicy};
pub use air_report::{AirReport, AreaReport, DailyEntry, RulesChoice};
pub use alarms::{AlarmEngine, AlarmInput, AlarmSink, Alarms};
pub use noise::{NoiseEngine, NoisePoint, NoiseReport};
pub use quality::{QualityConfig, QualityEngine, QualityStats};
pub use quality_report::QualityReport;
pub use sources::{OutletKind, OutletSpec, SourcesEngine, SourcesPolicy};
pub use water::{SourceScope, WaterEngine, WaterSite, WaterSiteKind};
pub use water_report::WaterReport;

/// Engine errors.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
