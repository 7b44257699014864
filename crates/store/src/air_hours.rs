//! Store extension: the derived table `air_hours` — the hourly (real-time, 实时报) values and
//! AQI of each ambient-air station and of the county (site [`crate::COUNTY_SITE`]), kept by
//! `engine::air_hourly`.
//!
//! One row per (site, hour start UTC seconds). Concentrations are exact decimal text (µg/m³,
//! CO mg/m³). The 1-h values are the ones the hour is judged on (the device's 2061 hour, else
//! the hour rolled up from 2051 minute or 2011 real-time data); the minute roll-up is kept next
//! to a device hour so disagreements stay visible. Moving averages (O3 8-h, PM and SO2 24-h)
//! are those ending with the hour. The trait is free of SQLite types so a PostgreSQL store can
//! implement it too.

use rusqlite::params;

use crate::{Result, Store};

/// Tables of this domain, created when a store opens.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS air_hours (
    site TEXT NOT NULL,
    hour INTEGER NOT NULL,
    rules TEXT NOT NULL,
    pm25 TEXT, pm10 TEXT, so2 TEXT, no2 TEXT, co TEXT, o3 TEXT,
    pm25_24h TEXT, pm10_24h TEXT, so2_24h TEXT, o3_8h TEXT,
    sources TEXT NOT NULL,
    minutes TEXT NOT NULL,
    disagree TEXT NOT NULL,
    aqi INTEGER,
    level INTEGER,
    primary_pollutants TEXT NOT NULL,
    iaqi TEXT NOT NULL,
    stations INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (site, hour)
) WITHOUT ROWID;
";

/// One derived air hour of a station or of the county.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct AirHour {
    /// Station site code, or [`crate::COUNTY_SITE`].
    pub site: String,
    /// UTC seconds of the hour's start (HJ 212 DataTime of the 2061 record).
    pub hour: i64,
    /// HJ 633 version applied (the one in force on the hour's Beijing date).
    pub rules: String,
    /// 1-h values (`None` = no valid value): PM2.5, PM10, SO2, NO2, CO (mg/m³), O3.
    pub pm25: Option<String>,
    pub pm10: Option<String>,
    pub so2: Option<String>,
    pub no2: Option<String>,
    pub co: Option<String>,
    pub o3: Option<String>,
    /// 24-h moving averages ending with this hour (PM2.5, PM10, SO2).
    pub pm25_24h: Option<String>,
    pub pm10_24h: Option<String>,
    pub so2_24h: Option<String>,
    /// O3 8-h moving average ending with this hour.
    pub o3_8h: Option<String>,
    /// Where each 1-h value came from, `PM2.5=device,PM10=minutes,…` (`device`, `minutes`,
    /// `realtime`; county: `stations:n`).
    pub sources: String,
    /// Minute roll-ups, `PM2.5=34.8/50,…` (mean / valid minutes; mean empty when < 45 min),
    /// also where the device's hour was used.
    pub minutes: String,
    /// Pollutants whose device hour and minute roll-up disagree, comma separated.
    pub disagree: String,
    /// Hourly AQI (`None` = NA or nothing to judge).
    pub aqi: Option<i64>,
    /// Level 1–6.
    pub level: Option<i64>,
    /// Primary pollutants (HJ 633 indicator names), comma separated.
    pub primary: String,
    /// IAQI per indicator, `SO2_1H=3,PM25_24H=45,…`.
    pub iaqi: String,
    /// 1 for a station; county: stations with a valid 1-h value of any pollutant.
    pub stations: i64,
    /// UTC Unix milliseconds when the row was derived.
    pub updated_ms: i64,
}

/// Derived air hours.
pub trait AirHoursStore: Store {
    /// Adds or replaces air hours (keyed by (site, hour)) atomically.
    fn put_air_hours(&mut self, hours: &[AirHour]) -> Result<()>;
    /// Air hours of one site (all sites, county rows included, with `None`) with
    /// `from <= hour < to` (UTC seconds), ordered by (site, hour).
    fn air_hours(&self, site: Option<&str>, from: i64, to: i64) -> Result<Vec<AirHour>>;
}

impl AirHoursStore for crate::SqliteStore {
    fn put_air_hours(&mut self, hours: &[AirHour]) -> Result<()> {
        if hours.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT OR REPLACE INTO air_hours(site, hour, rules, pm25, pm10, so2, no2, co, o3,
                 pm25_24h, pm10_24h, so2_24h, o3_8h, sources, minutes, disagree, aqi, level,
                 primary_pollutants, iaqi, stations, updated_ms)
                 VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                 ?17, ?18, ?19, ?20, ?21, ?22)",
            )?;
            for h in hours {
                st.execute(params![
                    h.site,
                    h.hour,
                    h.rules,
                    h.pm25,
                    h.pm10,
                    h.so2,
                    h.no2,
                    h.co,
                    h.o3,
                    h.pm25_24h,
                    h.pm10_24h,
                    h.so2_24h,
                    h.o3_8h,
                    h.sources,
                    h.minutes,
                    h.disagree,
                    h.aqi,
                    h.level,
                    h.primary,
                    h.iaqi,
                    h.stations,
                    h.updated_ms
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn air_hours(&self, site: Option<&str>, from: i64, to: i64) -> Result<Vec<AirHour>> {
        // Two statements: `(?1 IS NULL OR site = ?1)` would keep SQLite off the primary key.
        const COLS: &str = "SELECT site, hour, rules, pm25, pm10, so2, no2, co, o3, pm25_24h,
             pm10_24h, so2_24h, o3_8h, sources, minutes, disagree, aqi, level,
             primary_pollutants, iaqi, stations, updated_ms FROM air_hours";
        let mut st = match site {
            Some(_) => self.conn.prepare_cached(&format!(
                "{COLS} WHERE site = ?1 AND hour >= ?2 AND hour < ?3 ORDER BY site, hour"
            ))?,
            None => self.conn.prepare_cached(&format!(
                "{COLS} WHERE ?1 IS NULL AND hour >= ?2 AND hour < ?3 ORDER BY site, hour"
            ))?,
        };
        let rows = st.query_map(params![site, from, to], |r| {
            Ok(AirHour {
                site: r.get(0)?,
                hour: r.get(1)?,
                rules: r.get(2)?,
                pm25: r.get(3)?,
                pm10: r.get(4)?,
                so2: r.get(5)?,
                no2: r.get(6)?,
                co: r.get(7)?,
                o3: r.get(8)?,
                pm25_24h: r.get(9)?,
                pm10_24h: r.get(10)?,
                so2_24h: r.get(11)?,
                o3_8h: r.get(12)?,
                sources: r.get(13)?,
                minutes: r.get(14)?,
                disagree: r.get(15)?,
                aqi: r.get(16)?,
                level: r.get(17)?,
                primary: r.get(18)?,
                iaqi: r.get(19)?,
                stations: r.get(20)?,
                updated_ms: r.get(21)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
