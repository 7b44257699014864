//! [`SourcesStore`] for PostgreSQL: outlet hours, exceedance events and fume days, as
//! `crate::sources` keeps them in SQLite (same tables, columns and order; the 0/1 flags are
//! BOOLEAN here).

use postgres::types::ToSql;
use postgres::Row;

use super::domain::{and_eq, upsert_all, vals};
use super::PgStore;
use crate::sources::{FumeDay, SourceEvent, SourceHour, SourcesStore};
use crate::Result;

/// Tables of this domain (migration 2). Text keys sort bytewise (`COLLATE "C"`) like SQLite.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE source_hours (
    site TEXT COLLATE "C" NOT NULL, code TEXT COLLATE "C" NOT NULL, hour BIGINT NOT NULL,
    value DOUBLE PRECISION, measured DOUBLE PRECISION, device_value DOUBLE PRECISION,
    minutes_value DOUBLE PRECISION, valid_minutes BIGINT,
    origin TEXT NOT NULL, valid BOOLEAN NOT NULL, flag TEXT NOT NULL, disagree BOOLEAN NOT NULL,
    limit_value DOUBLE PRECISION, exceeds BOOLEAN NOT NULL, cou DOUBLE PRECISION,
    cou_method TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (site, code, hour)
);
CREATE TABLE source_events (
    site TEXT COLLATE "C" NOT NULL, code TEXT COLLATE "C" NOT NULL, start BIGINT NOT NULL,
    last_hour BIGINT NOT NULL, end_time BIGINT, hours BIGINT NOT NULL,
    peak DOUBLE PRECISION NOT NULL, peak_multiple DOUBLE PRECISION,
    limit_value DOUBLE PRECISION NOT NULL, bound TEXT NOT NULL, updated_ms BIGINT NOT NULL,
    PRIMARY KEY (site, code, start)
);
CREATE TABLE fume_days (
    site TEXT COLLATE "C" NOT NULL, day TEXT COLLATE "C" NOT NULL, period TEXT NOT NULL,
    interval_s BIGINT NOT NULL, readings BIGINT NOT NULL, readings_over BIGINT NOT NULL,
    hours_over BIGINT NOT NULL, max_value DOUBLE PRECISION, unpurified_readings BIGINT NOT NULL,
    unpurified_minutes DOUBLE PRECISION NOT NULL, unpurified_occurrences BIGINT NOT NULL,
    purifier_run_hours DOUBLE PRECISION NOT NULL, last_maintenance BIGINT,
    run_hours_after_maintenance DOUBLE PRECISION NOT NULL,
    expected BIGINT NOT NULL, with_data BIGINT NOT NULL, updated_ms BIGINT NOT NULL,
    PRIMARY KEY (site, day)
);
"#;

use crate::sources::{EVENT_COLS, FUME_COLS, HOUR_COLS};

fn hour_row(r: &Row) -> Result<SourceHour> {
    Ok(SourceHour {
        site: r.try_get(0)?,
        code: r.try_get(1)?,
        hour: r.try_get(2)?,
        value: r.try_get(3)?,
        measured: r.try_get(4)?,
        device_value: r.try_get(5)?,
        minutes_value: r.try_get(6)?,
        valid_minutes: r.try_get(7)?,
        origin: r.try_get(8)?,
        valid: r.try_get(9)?,
        flag: r.try_get(10)?,
        disagree: r.try_get(11)?,
        limit: r.try_get(12)?,
        exceeds: r.try_get(13)?,
        cou: r.try_get(14)?,
        cou_method: r.try_get(15)?,
        updated_ms: r.try_get(16)?,
    })
}

fn event_row(r: &Row) -> Result<SourceEvent> {
    Ok(SourceEvent {
        site: r.try_get(0)?,
        code: r.try_get(1)?,
        start: r.try_get(2)?,
        last_hour: r.try_get(3)?,
        end: r.try_get(4)?,
        hours: r.try_get(5)?,
        peak: r.try_get(6)?,
        peak_multiple: r.try_get(7)?,
        limit: r.try_get(8)?,
        bound: r.try_get(9)?,
        updated_ms: r.try_get(10)?,
    })
}

fn fume_row(r: &Row) -> Result<FumeDay> {
    Ok(FumeDay {
        site: r.try_get(0)?,
        day: r.try_get(1)?,
        period: r.try_get(2)?,
        interval_s: r.try_get(3)?,
        readings: r.try_get(4)?,
        readings_over: r.try_get(5)?,
        hours_over: r.try_get(6)?,
        max_value: r.try_get(7)?,
        unpurified_readings: r.try_get(8)?,
        unpurified_minutes: r.try_get(9)?,
        unpurified_occurrences: r.try_get(10)?,
        purifier_run_hours: r.try_get(11)?,
        last_maintenance: r.try_get(12)?,
        run_hours_after_maintenance: r.try_get(13)?,
        expected: r.try_get(14)?,
        with_data: r.try_get(15)?,
        updated_ms: r.try_get(16)?,
    })
}

impl SourcesStore for PgStore {
    fn put_source_hours(&mut self, rows: &[SourceHour]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let mut tx = c.transaction()?;
            upsert_all(
                &mut tx,
                "source_hours",
                HOUR_COLS,
                &["site", "code", "hour"],
                rows,
                |h| (&h.site, &h.code, h.hour),
                |h| {
                    vals![
                        &h.site,
                        &h.code,
                        h.hour,
                        h.value,
                        h.measured,
                        h.device_value,
                        h.minutes_value,
                        h.valid_minutes,
                        &h.origin,
                        h.valid,
                        &h.flag,
                        h.disagree,
                        h.limit,
                        h.exceeds,
                        h.cou,
                        &h.cou_method,
                        h.updated_ms,
                    ]
                },
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn source_hours(
        &self,
        site: Option<&str>,
        code: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<SourceHour>> {
        let (eq, args) = and_eq(2, &[("site", site), ("code", code)]);
        self.with(|c| {
            let mut bind: Vec<&(dyn ToSql + Sync)> = vec![&from, &to];
            bind.extend(args.iter().map(|a| a as &(dyn ToSql + Sync)));
            c.query(
                &format!(
                    "SELECT {HOUR_COLS} FROM source_hours
                     WHERE hour >= $1 AND hour < $2{eq} ORDER BY site, code, hour"
                ),
                &bind,
            )?
            .iter()
            .map(hour_row)
            .collect()
        })
    }

    fn source_events(
        &self,
        site: Option<&str>,
        code: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<SourceEvent>> {
        let (eq, args) = and_eq(2, &[("site", site), ("code", code)]);
        self.with(|c| {
            let mut bind: Vec<&(dyn ToSql + Sync)> = vec![&to, &from];
            bind.extend(args.iter().map(|a| a as &(dyn ToSql + Sync)));
            c.query(
                &format!(
                    "SELECT {EVENT_COLS} FROM source_events
                     WHERE start < $1 AND (last_hour + 3600 > $2 OR end_time IS NULL){eq}
                     ORDER BY site, code, start"
                ),
                &bind,
            )?
            .iter()
            .map(event_row)
            .collect()
        })
    }

    fn replace_source_events(
        &mut self,
        site: &str,
        code: &str,
        remove: &[i64],
        add: &[SourceEvent],
    ) -> Result<()> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            let del = tx.prepare(
                "DELETE FROM source_events WHERE site = $1 AND code = $2 AND start = $3",
            )?;
            for s in remove {
                tx.execute(&del, &[&site, &code, s])?;
            }
            upsert_all(
                &mut tx,
                "source_events",
                EVENT_COLS,
                &["site", "code", "start"],
                add,
                |e| (&e.site, &e.code, e.start),
                |e| {
                    vals![
                        &e.site,
                        &e.code,
                        e.start,
                        e.last_hour,
                        e.end,
                        e.hours,
                        e.peak,
                        e.peak_multiple,
                        e.limit,
                        &e.bound,
                        e.updated_ms,
                    ]
                },
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn put_fume_days(&mut self, rows: &[FumeDay]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let mut tx = c.transaction()?;
            upsert_all(
                &mut tx,
                "fume_days",
                FUME_COLS,
                &["site", "day"],
                rows,
                |d| (&d.site, &d.day),
                |d| {
                    vals![
                        &d.site,
                        &d.day,
                        &d.period,
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
                        d.updated_ms,
                    ]
                },
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn fume_days(&self, site: Option<&str>, from_day: &str, to_day: &str) -> Result<Vec<FumeDay>> {
        let (eq, args) = and_eq(2, &[("site", site)]);
        self.with(|c| {
            let mut bind: Vec<&(dyn ToSql + Sync)> = vec![&from_day, &to_day];
            bind.extend(args.iter().map(|a| a as &(dyn ToSql + Sync)));
            c.query(
                &format!(
                    "SELECT {FUME_COLS} FROM fume_days
                     WHERE day >= $1 AND day <= $2{eq} ORDER BY site, day"
                ),
                &bind,
            )?
            .iter()
            .map(fume_row)
            .collect()
        })
    }
}
