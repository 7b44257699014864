//! Store extension: enterprise outlets and restaurant fume: hourly corrected values, exceedance
//! events, discharge amounts (totals are sums of the hourly amounts), fume days.
//!
//! Written by `engine::SourcesEngine` (docs/engine-sources.md). The trait carries no SQLite
//! type, so a PostgreSQL store can implement it the same way.

use rusqlite::{params, Row};

use crate::{Result, SqliteStore, Store};

/// Tables of this domain, created when a store opens.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS source_hours (
    site TEXT NOT NULL, code TEXT NOT NULL, hour INTEGER NOT NULL,
    value REAL, measured REAL, device_value REAL, minutes_value REAL, valid_minutes INTEGER,
    origin TEXT NOT NULL, valid INTEGER NOT NULL, flag TEXT NOT NULL, disagree INTEGER NOT NULL,
    limit_value REAL, exceeds INTEGER NOT NULL, cou REAL, cou_method TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (site, code, hour)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS source_events (
    site TEXT NOT NULL, code TEXT NOT NULL, start INTEGER NOT NULL, last_hour INTEGER NOT NULL,
    end_time INTEGER, hours INTEGER NOT NULL, peak REAL NOT NULL, peak_multiple REAL,
    limit_value REAL NOT NULL, bound TEXT NOT NULL, updated_ms INTEGER NOT NULL,
    PRIMARY KEY (site, code, start)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fume_days (
    site TEXT NOT NULL, day TEXT NOT NULL, period TEXT NOT NULL, interval_s INTEGER NOT NULL,
    readings INTEGER NOT NULL, readings_over INTEGER NOT NULL, hours_over INTEGER NOT NULL,
    max_value REAL, unpurified_readings INTEGER NOT NULL, unpurified_minutes REAL NOT NULL,
    unpurified_occurrences INTEGER NOT NULL, purifier_run_hours REAL NOT NULL,
    last_maintenance INTEGER, run_hours_after_maintenance REAL NOT NULL,
    expected INTEGER NOT NULL, with_data INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
    PRIMARY KEY (site, day)
) WITHOUT ROWID;
";

/// One derived outlet hour of one code (pollutant, flow or O2), keyed by (site, code, hour).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceHour {
    pub site: String,
    pub code: String,
    /// UTC seconds of the hour's start.
    pub hour: i64,
    /// The value judged against the limit (O2-corrected for flue-gas pollutants when the
    /// outlet has a reference O2), `None` when the hour is not valid.
    pub value: Option<f64>,
    /// The measured (actual O2) hourly mean that was used, when known.
    pub measured: Option<f64>,
    /// The device's own hour value (2061 `ZsAvg` for flue-gas pollutants, else `Avg`).
    pub device_value: Option<f64>,
    /// The hour value computed from minute data (2051), same basis as `device_value`.
    pub minutes_value: Option<f64>,
    /// Valid minutes found in minute data (`None`: no minute data).
    pub valid_minutes: Option<i64>,
    /// `device`, `minutes` or `none`.
    pub origin: String,
    pub valid: bool,
    /// The device hour flag, or the one derived from minutes (`N`, `D`).
    pub flag: String,
    /// Device hour value and minutes value differ beyond the tolerance.
    pub disagree: bool,
    /// The limit bound the value was judged against (upper, or lower when below it).
    pub limit: Option<f64>,
    pub exceeds: bool,
    /// Amount discharged in the hour: kg for pollutants, m³ for flow.
    pub cou: Option<f64>,
    /// `cou` (device Cou), `computed` (concentration × flow) or empty.
    pub cou_method: String,
    pub updated_ms: i64,
}

/// An exceedance event (超标事件): consecutive exceeding hours of one outlet and pollutant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceEvent {
    pub site: String,
    pub code: String,
    /// UTC seconds of the first exceeding hour's start.
    pub start: i64,
    /// UTC seconds of the last exceeding hour's start.
    pub last_hour: i64,
    /// UTC seconds of the end (`last_hour + 3600`); `None` while the event is open (no later
    /// hour has arrived yet).
    pub end: Option<i64>,
    pub hours: i64,
    /// Largest value (upper bound) or smallest (lower bound).
    pub peak: f64,
    /// 超标倍数 (peak − limit)/limit for an upper limit; `None` for a lower bound.
    pub peak_multiple: Option<f64>,
    pub limit: f64,
    /// `upper` or `lower`.
    pub bound: String,
    pub updated_ms: i64,
}

/// One restaurant fume day (Beijing natural day).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FumeDay {
    pub site: String,
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Period of the readings evaluated: `min` or `hour`.
    pub period: String,
    /// Reading interval, seconds (inferred from the data).
    pub interval_s: i64,
    pub readings: i64,
    pub readings_over: i64,
    pub hours_over: i64,
    pub max_value: Option<f64>,
    /// Readings with the fan on and the purifier off.
    pub unpurified_readings: i64,
    pub unpurified_minutes: f64,
    /// Runs of consecutive fan-on / purifier-off readings.
    pub unpurified_occurrences: i64,
    pub purifier_run_hours: f64,
    /// UTC seconds of the last purifier maintenance (SB2-RS = 3) reading of the day.
    pub last_maintenance: Option<i64>,
    /// Purifier run hours of the day after `last_maintenance` (all of them without one).
    pub run_hours_after_maintenance: f64,
    /// Expected intervals in the opening hours.
    pub expected: i64,
    /// Expected intervals with data.
    pub with_data: i64,
    pub updated_ms: i64,
}

/// Derived tables of outlets and restaurants.
pub trait SourcesStore: Store {
    /// Adds or replaces hours (keyed by (site, code, hour)) atomically.
    fn put_source_hours(&mut self, rows: &[SourceHour]) -> Result<()>;
    /// Hours with `from <= hour < to`, optionally of one site and code, by (site, code, hour).
    fn source_hours(
        &self,
        site: Option<&str>,
        code: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<SourceHour>>;
    /// Events with `start < to` that reach past `from` (`last_hour + 3600 > from`) or are open.
    fn source_events(
        &self,
        site: Option<&str>,
        code: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<SourceEvent>>;
    /// Removes the events of (site, code) starting at `remove` and adds `add`, atomically.
    fn replace_source_events(
        &mut self,
        site: &str,
        code: &str,
        remove: &[i64],
        add: &[SourceEvent],
    ) -> Result<()>;
    /// Adds or replaces fume days (keyed by (site, day)) atomically.
    fn put_fume_days(&mut self, rows: &[FumeDay]) -> Result<()>;
    /// Fume days with `from_day <= day <= to_day`, by (site, day).
    fn fume_days(&self, site: Option<&str>, from_day: &str, to_day: &str) -> Result<Vec<FumeDay>>;
}

pub(crate) const HOUR_COLS: &str = "site, code, hour, value, measured, device_value, minutes_value, \
    valid_minutes, origin, valid, flag, disagree, limit_value, exceeds, cou, cou_method, updated_ms";
pub(crate) const EVENT_COLS: &str =
    "site, code, start, last_hour, end_time, hours, peak, peak_multiple, limit_value, bound, updated_ms";
pub(crate) const FUME_COLS: &str =
    "site, day, period, interval_s, readings, readings_over, hours_over, \
    max_value, unpurified_readings, unpurified_minutes, unpurified_occurrences, \
    purifier_run_hours, last_maintenance, run_hours_after_maintenance, expected, with_data, \
    updated_ms";

fn hour_row(r: &Row<'_>) -> rusqlite::Result<SourceHour> {
    Ok(SourceHour {
        site: r.get(0)?,
        code: r.get(1)?,
        hour: r.get(2)?,
        value: r.get(3)?,
        measured: r.get(4)?,
        device_value: r.get(5)?,
        minutes_value: r.get(6)?,
        valid_minutes: r.get(7)?,
        origin: r.get(8)?,
        valid: r.get(9)?,
        flag: r.get(10)?,
        disagree: r.get(11)?,
        limit: r.get(12)?,
        exceeds: r.get(13)?,
        cou: r.get(14)?,
        cou_method: r.get(15)?,
        updated_ms: r.get(16)?,
    })
}

fn event_row(r: &Row<'_>) -> rusqlite::Result<SourceEvent> {
    Ok(SourceEvent {
        site: r.get(0)?,
        code: r.get(1)?,
        start: r.get(2)?,
        last_hour: r.get(3)?,
        end: r.get(4)?,
        hours: r.get(5)?,
        peak: r.get(6)?,
        peak_multiple: r.get(7)?,
        limit: r.get(8)?,
        bound: r.get(9)?,
        updated_ms: r.get(10)?,
    })
}

fn fume_row(r: &Row<'_>) -> rusqlite::Result<FumeDay> {
    Ok(FumeDay {
        site: r.get(0)?,
        day: r.get(1)?,
        period: r.get(2)?,
        interval_s: r.get(3)?,
        readings: r.get(4)?,
        readings_over: r.get(5)?,
        hours_over: r.get(6)?,
        max_value: r.get(7)?,
        unpurified_readings: r.get(8)?,
        unpurified_minutes: r.get(9)?,
        unpurified_occurrences: r.get(10)?,
        purifier_run_hours: r.get(11)?,
        last_maintenance: r.get(12)?,
        run_hours_after_maintenance: r.get(13)?,
        expected: r.get(14)?,
        with_data: r.get(15)?,
        updated_ms: r.get(16)?,
    })
}

impl SourcesStore for SqliteStore {
    fn put_source_hours(&mut self, rows: &[SourceHour]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(&format!(
                "INSERT OR REPLACE INTO source_hours({HOUR_COLS})
                 VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)"
            ))?;
            for h in rows {
                st.execute(params![
                    h.site,
                    h.code,
                    h.hour,
                    h.value,
                    h.measured,
                    h.device_value,
                    h.minutes_value,
                    h.valid_minutes,
                    h.origin,
                    h.valid,
                    h.flag,
                    h.disagree,
                    h.limit,
                    h.exceeds,
                    h.cou,
                    h.cou_method,
                    h.updated_ms
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn source_hours(
        &self,
        site: Option<&str>,
        code: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<SourceHour>> {
        let (eq, args) = crate::sqlite::and_eq(&[("site", site), ("code", code)]);
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {HOUR_COLS} FROM source_hours
             WHERE hour >= ? AND hour < ?{eq} ORDER BY site, code, hour"
        ))?;
        let mut bind: Vec<&dyn rusqlite::ToSql> = vec![&from, &to];
        bind.extend(args.iter().map(|a| a as &dyn rusqlite::ToSql));
        let rows = st.query_map(bind.as_slice(), hour_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn source_events(
        &self,
        site: Option<&str>,
        code: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<SourceEvent>> {
        let (eq, args) = crate::sqlite::and_eq(&[("site", site), ("code", code)]);
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {EVENT_COLS} FROM source_events
             WHERE start < ? AND (last_hour + 3600 > ? OR end_time IS NULL){eq}
             ORDER BY site, code, start"
        ))?;
        let mut bind: Vec<&dyn rusqlite::ToSql> = vec![&to, &from];
        bind.extend(args.iter().map(|a| a as &dyn rusqlite::ToSql));
        let rows = st.query_map(bind.as_slice(), event_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn replace_source_events(
        &mut self,
        site: &str,
        code: &str,
        remove: &[i64],
        add: &[SourceEvent],
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut del = tx.prepare_cached(
                "DELETE FROM source_events WHERE site = ?1 AND code = ?2 AND start = ?3",
            )?;
            for s in remove {
                del.execute(params![site, code, s])?;
            }
            let mut ins = tx.prepare_cached(&format!(
                "INSERT OR REPLACE INTO source_events({EVENT_COLS})
                 VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"
            ))?;
            for e in add {
                ins.execute(params![
                    e.site,
                    e.code,
                    e.start,
                    e.last_hour,
                    e.end,
                    e.hours,
                    e.peak,
                    e.peak_multiple,
                    e.limit,
                    e.bound,
                    e.updated_ms
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn put_fume_days(&mut self, rows: &[FumeDay]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(&format!(
                "INSERT OR REPLACE INTO fume_days({FUME_COLS})
                 VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)"
            ))?;
            for d in rows {
                st.execute(params![
                    d.site,
                    d.day,
                    d.period,
                    d.interval_s,
                    d.readings,
                    d.readings_over,
                    d.hours_over,
                    d.max_value,
                    d.unpurified_readings,
                    d.unpurified_minutes,
                    d.unpurified_occurrences,
                    d.purifier_run_hours,
                    d.last_maintenance,
                    d.run_hours_after_maintenance,
                    d.expected,
                    d.with_data,
                    d.updated_ms
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn fume_days(&self, site: Option<&str>, from_day: &str, to_day: &str) -> Result<Vec<FumeDay>> {
        let (eq, mut args) = crate::sqlite::and_eq(&[("site", site)]);
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {FUME_COLS} FROM fume_days WHERE day >= ? AND day <= ?{eq} ORDER BY site, day"
        ))?;
        args.splice(0..0, [from_day, to_day]);
        let rows = st.query_map(rusqlite::params_from_iter(args), fume_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
