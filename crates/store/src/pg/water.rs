//! [`WaterStore`] for PostgreSQL: the derived water and noise days, as `crate::water` keeps
//! them in SQLite (same tables, columns and order).

use postgres::types::ToSql;

use super::domain::{and_eq, upsert_all, vals};
use super::PgStore;
use crate::water::{NoiseDay, WaterDay, WaterStore};
use crate::Result;

/// Tables of this domain (migration 2). Text keys sort bytewise (`COLLATE "C"`) like SQLite.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE water_days (
    site TEXT COLLATE "C" NOT NULL,
    day TEXT COLLATE "C" NOT NULL,
    means TEXT NOT NULL,
    hours TEXT NOT NULL,
    class TEXT,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (site, day)
);
CREATE TABLE noise_days (
    site TEXT COLLATE "C" NOT NULL,
    day TEXT COLLATE "C" NOT NULL,
    ld DOUBLE PRECISION,
    ln DOUBLE PRECISION,
    day_hours BIGINT NOT NULL,
    night_hours BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (site, day)
);
"#;

impl WaterStore for PgStore {
    fn put_water_days(&mut self, days: &[WaterDay]) -> Result<()> {
        if days.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let mut tx = c.transaction()?;
            upsert_all(
                &mut tx,
                "water_days",
                "site, day, means, hours, class, updated_ms",
                &["site", "day"],
                days,
                |d| (&d.site, &d.day),
                |d| vals![&d.site, &d.day, &d.means, &d.hours, &d.class, d.updated_ms],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn water_days(
        &self,
        site: Option<&str>,
        from_day: &str,
        to_day: &str,
    ) -> Result<Vec<WaterDay>> {
        let (eq, args) = and_eq(2, &[("site", site)]);
        self.with(|c| {
            let mut bind: Vec<&(dyn ToSql + Sync)> = vec![&from_day, &to_day];
            bind.extend(args.iter().map(|a| a as &(dyn ToSql + Sync)));
            let rows = c.query(
                &format!(
                    "SELECT site, day, means, hours, class, updated_ms FROM water_days
                     WHERE day >= $1 AND day <= $2{eq} ORDER BY site, day"
                ),
                &bind,
            )?;
            rows.iter()
                .map(|r| {
                    Ok(WaterDay {
                        site: r.try_get(0)?,
                        day: r.try_get(1)?,
                        means: r.try_get(2)?,
                        hours: r.try_get(3)?,
                        class: r.try_get(4)?,
                        updated_ms: r.try_get(5)?,
                    })
                })
                .collect()
        })
    }

    fn put_noise_days(&mut self, days: &[NoiseDay]) -> Result<()> {
        if days.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let mut tx = c.transaction()?;
            upsert_all(
                &mut tx,
                "noise_days",
                "site, day, ld, ln, day_hours, night_hours, updated_ms",
                &["site", "day"],
                days,
                |d| (&d.site, &d.day),
                |d| {
                    vals![
                        &d.site,
                        &d.day,
                        d.ld,
                        d.ln,
                        d.day_hours,
                        d.night_hours,
                        d.updated_ms,
                    ]
                },
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn noise_days(
        &self,
        site: Option<&str>,
        from_day: &str,
        to_day: &str,
    ) -> Result<Vec<NoiseDay>> {
        let (eq, args) = and_eq(2, &[("site", site)]);
        self.with(|c| {
            let mut bind: Vec<&(dyn ToSql + Sync)> = vec![&from_day, &to_day];
            bind.extend(args.iter().map(|a| a as &(dyn ToSql + Sync)));
            let rows = c.query(
                &format!(
                    "SELECT site, day, ld, ln, day_hours, night_hours, updated_ms FROM noise_days
                     WHERE day >= $1 AND day <= $2{eq} ORDER BY site, day"
                ),
                &bind,
            )?;
            rows.iter()
                .map(|r| {
                    Ok(NoiseDay {
                        site: r.try_get(0)?,
                        day: r.try_get(1)?,
                        ld: r.try_get(2)?,
                        ln: r.try_get(3)?,
                        day_hours: r.try_get(4)?,
                        night_hours: r.try_get(5)?,
                        updated_ms: r.try_get(6)?,
                    })
                })
                .collect()
        })
    }
}
