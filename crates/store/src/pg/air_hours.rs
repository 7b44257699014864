//! [`AirHoursStore`] for PostgreSQL: the derived hourly air values and AQI, as
//! `crate::air_hours` keeps them in SQLite (same table, columns and order).

use postgres::types::ToSql;

use super::domain::{and_eq, upsert_all, vals};
use super::PgStore;
use crate::air_hours::{AirHour, AirHoursStore};
use crate::Result;

/// Tables of this domain (migration 2). Text keys sort bytewise (`COLLATE "C"`) like SQLite.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE air_hours (
    site TEXT COLLATE "C" NOT NULL,
    hour BIGINT NOT NULL,
    rules TEXT NOT NULL,
    pm25 TEXT, pm10 TEXT, so2 TEXT, no2 TEXT, co TEXT, o3 TEXT,
    pm25_24h TEXT, pm10_24h TEXT, so2_24h TEXT, o3_8h TEXT,
    sources TEXT NOT NULL,
    minutes TEXT NOT NULL,
    disagree TEXT NOT NULL,
    aqi BIGINT,
    level BIGINT,
    primary_pollutants TEXT NOT NULL,
    iaqi TEXT NOT NULL,
    stations BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (site, hour)
);
"#;

const COLS: &str = "site, hour, rules, pm25, pm10, so2, no2, co, o3, pm25_24h, pm10_24h, \
    so2_24h, o3_8h, sources, minutes, disagree, aqi, level, primary_pollutants, iaqi, stations, \
    updated_ms";

impl AirHoursStore for PgStore {
    fn put_air_hours(&mut self, hours: &[AirHour]) -> Result<()> {
        if hours.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let mut tx = c.transaction()?;
            upsert_all(
                &mut tx,
                "air_hours",
                COLS,
                &["site", "hour"],
                hours,
                |h| (&h.site, h.hour),
                |h| {
                    vals![
                        &h.site,
                        h.hour,
                        &h.rules,
                        &h.pm25,
                        &h.pm10,
                        &h.so2,
                        &h.no2,
                        &h.co,
                        &h.o3,
                        &h.pm25_24h,
                        &h.pm10_24h,
                        &h.so2_24h,
                        &h.o3_8h,
                        &h.sources,
                        &h.minutes,
                        &h.disagree,
                        h.aqi,
                        h.level,
                        &h.primary,
                        &h.iaqi,
                        h.stations,
                        h.updated_ms,
                    ]
                },
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn air_hours(&self, site: Option<&str>, from: i64, to: i64) -> Result<Vec<AirHour>> {
        let (eq, args) = and_eq(2, &[("site", site)]);
        self.with(|c| {
            let mut bind: Vec<&(dyn ToSql + Sync)> = vec![&from, &to];
            bind.extend(args.iter().map(|a| a as &(dyn ToSql + Sync)));
            c.query(
                &format!(
                    "SELECT {COLS} FROM air_hours
                     WHERE hour >= $1 AND hour < $2{eq} ORDER BY site, hour"
                ),
                &bind,
            )?
            .iter()
            .map(|r| {
                Ok(AirHour {
                    site: r.try_get(0)?,
                    hour: r.try_get(1)?,
                    rules: r.try_get(2)?,
                    pm25: r.try_get(3)?,
                    pm10: r.try_get(4)?,
                    so2: r.try_get(5)?,
                    no2: r.try_get(6)?,
                    co: r.try_get(7)?,
                    o3: r.try_get(8)?,
                    pm25_24h: r.try_get(9)?,
                    pm10_24h: r.try_get(10)?,
                    so2_24h: r.try_get(11)?,
                    o3_8h: r.try_get(12)?,
                    sources: r.try_get(13)?,
                    minutes: r.try_get(14)?,
                    disagree: r.try_get(15)?,
                    aqi: r.try_get(16)?,
                    level: r.try_get(17)?,
                    primary: r.try_get(18)?,
                    iaqi: r.try_get(19)?,
                    stations: r.try_get(20)?,
                    updated_ms: r.try_get(21)?,
                })
            })
            .collect()
        })
    }
}
