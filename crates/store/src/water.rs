//! Store extension: surface water, drinking-water sources and noise — the derived day tables
//! the engine (`engine::water`, `engine::noise`) keeps current.
//!
//! - `water_days`: one row per (site, Beijing day) of a surface-water section or a
//!   drinking-water source: the daily mean of each item's valid hourly values (exact decimal
//!   text) and the number of valid hours behind it, plus the day's GB 3838 class. Months and
//!   years are derived from these rows (mean of the daily values), never from raw hours.
//! - `noise_days`: one row per (site, day): Ld (day LAeq) and Ln (night LAeq; the night that
//!   **starts** on `day`), energy averages of the hourly levels, and the hours behind them.
//!
//! The trait is free of SQLite types so a PostgreSQL store can implement it too.

use rusqlite::params;

use crate::{Result, Store};

/// Tables of this domain, created when a store opens.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS water_days (
    site TEXT NOT NULL,
    day TEXT NOT NULL,
    means TEXT NOT NULL,
    hours TEXT NOT NULL,
    class TEXT,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (site, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS noise_days (
    site TEXT NOT NULL,
    day TEXT NOT NULL,
    ld REAL,
    ln REAL,
    day_hours INTEGER NOT NULL,
    night_hours INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (site, day)
) WITHOUT ROWID;
";

/// One derived water day of a section or source.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct WaterDay {
    /// Site code (`SW-…`, `DW-…`).
    pub site: String,
    /// Beijing natural day `YYYY-MM-DD`.
    pub day: String,
    /// Daily means, `key=decimal` joined by `;` (keys: GB 3838 item keys such as `NH3N`,
    /// `Chla`/`SD` for the trophic index, drinking-water extra items by HJ 212 code).
    pub means: String,
    /// Valid hours behind each mean, `key=n` joined by `;`.
    pub hours: String,
    /// GB 3838 class of the day (`I`…`V`, `劣V`), `None` without any evaluation item.
    pub class: Option<String>,
    /// UTC Unix milliseconds when the row was derived.
    pub updated_ms: i64,
}

/// One derived noise day of a point.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct NoiseDay {
    /// Site code (`NZ-…`).
    pub site: String,
    /// Beijing day `YYYY-MM-DD` (the night is the one starting that evening).
    pub day: String,
    /// Day LAeq Ld, dB(A) (energy average), `None` when too few hours.
    pub ld: Option<f64>,
    /// Night LAeq Ln, dB(A), `None` when too few hours.
    pub ln: Option<f64>,
    /// Valid day hours behind Ld.
    pub day_hours: i64,
    /// Valid night hours behind Ln.
    pub night_hours: i64,
    /// UTC Unix milliseconds when the row was derived.
    pub updated_ms: i64,
}

/// Derived water and noise days.
pub trait WaterStore: Store {
    /// Adds or replaces water days (keyed by (site, day)) atomically.
    fn put_water_days(&mut self, days: &[WaterDay]) -> Result<()>;
    /// Water days of one site (all with `None`), `from_day <= day <= to_day`, by (site, day).
    fn water_days(&self, site: Option<&str>, from_day: &str, to_day: &str)
        -> Result<Vec<WaterDay>>;
    /// Adds or replaces noise days atomically.
    fn put_noise_days(&mut self, days: &[NoiseDay]) -> Result<()>;
    /// Noise days of one site (all with `None`), `from_day <= day <= to_day`, by (site, day).
    fn noise_days(&self, site: Option<&str>, from_day: &str, to_day: &str)
        -> Result<Vec<NoiseDay>>;
}

impl WaterStore for crate::SqliteStore {
    fn put_water_days(&mut self, days: &[WaterDay]) -> Result<()> {
        if days.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT OR REPLACE INTO water_days(site, day, means, hours, class, updated_ms)
                 VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for d in days {
                st.execute(params![
                    d.site,
                    d.day,
                    d.means,
                    d.hours,
                    d.class,
                    d.updated_ms
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn water_days(
        &self,
        site: Option<&str>,
        from_day: &str,
        to_day: &str,
    ) -> Result<Vec<WaterDay>> {
        let (eq, mut args) = crate::sqlite::and_eq(&[("site", site)]);
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT site, day, means, hours, class, updated_ms FROM water_days
             WHERE day >= ? AND day <= ?{eq} ORDER BY site, day",
        ))?;
        args.splice(0..0, [from_day, to_day]);
        let rows = st.query_map(rusqlite::params_from_iter(args), |r| {
            Ok(WaterDay {
                site: r.get(0)?,
                day: r.get(1)?,
                means: r.get(2)?,
                hours: r.get(3)?,
                class: r.get(4)?,
                updated_ms: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn put_noise_days(&mut self, days: &[NoiseDay]) -> Result<()> {
        if days.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT OR REPLACE INTO noise_days(site, day, ld, ln, day_hours, night_hours,
                 updated_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for d in days {
                st.execute(params![
                    d.site,
                    d.day,
                    d.ld,
                    d.ln,
                    d.day_hours,
                    d.night_hours,
                    d.updated_ms
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn noise_days(
        &self,
        site: Option<&str>,
        from_day: &str,
        to_day: &str,
    ) -> Result<Vec<NoiseDay>> {
        let (eq, mut args) = crate::sqlite::and_eq(&[("site", site)]);
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT site, day, ld, ln, day_hours, night_hours, updated_ms FROM noise_days
             WHERE day >= ? AND day <= ?{eq} ORDER BY site, day",
        ))?;
        args.splice(0..0, [from_day, to_day]);
        let rows = st.query_map(rusqlite::params_from_iter(args), |r| {
            Ok(NoiseDay {
                site: r.get(0)?,
                day: r.get(1)?,
                ld: r.get(2)?,
                ln: r.get(3)?,
                day_hours: r.get(4)?,
                night_hours: r.get(5)?,
                updated_ms: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
