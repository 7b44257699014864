//! The embedded store: SQLite in one data folder (`DIR/qingshan.db`, WAL mode).
//!
//! Layout: a `series` table names each (site, code, field, period) once; `measurements` is a
//! WITHOUT ROWID table keyed by (series, time), so an upsert of a resent value replaces it in
//! place. Raw packets are appended to `archive` in LZ4-compressed chunks, one per commit.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use model::{Device, DeviceKind, Measurement, Period};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, ToSql};

use crate::archive::{aggregate_state, archive_bounds, decode_archive, encode_archive};
use crate::{
    AirDay, ArchivedPacket, CommandAnswer, CommandRecord, CommitStats, DeviceState, IntakePacket,
    ReceivedKey, Result, Store, StoreError, ValueFilter,
};

/// Optional equality filters as SQL: `AND col = ?` only for the filters given, so SQLite can
/// use the table's key (`(?1 IS NULL OR site = ?1)` keeps it off the index and scans the
/// whole table). Returns the clause and the values to bind, in order.
pub(crate) fn and_eq<'a>(filters: &[(&str, Option<&'a str>)]) -> (String, Vec<&'a str>) {
    let mut sql = String::new();
    let mut args = Vec::new();
    for (col, v) in filters {
        if let Some(v) = v {
            sql.push_str(" AND ");
            sql.push_str(col);
            sql.push_str(" = ?");
            args.push(*v);
        }
    }
    (sql, args)
}

/// 2: `devices.registered`, `device_state.first_time`, `quality_days` hour masks
/// ([`upgrade`]).
const SCHEMA_VERSION: i64 = 2;

fn has_column(conn: &Connection, table: &str, column: &str) -> Result<bool> {
    let mut st = conn.prepare(&format!("PRAGMA table_info(\"{table}\")"))?;
    let cols = st.query_map([], |r| r.get::<_, String>(1))?;
    for c in cols {
        if c? == column {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Brings a data folder made by an older qingshan up to this schema, in place (each step
/// checks whether it is needed, inside one IMMEDIATE transaction so that two processes
/// opening the folder at once do not both alter it):
/// - `devices.registered` (UTC s; NULL for devices registered before it was recorded);
/// - `device_state.first_time`, back-filled from the first stored value of every series
///   (one index seek per series);
/// - `quality_days.received_mask` / `valid_mask` (hour bits; NULL on rows derived before,
///   which the rates then count as before, bounded by the hours due).
fn upgrade(conn: &Connection) -> Result<()> {
    let needed = !has_column(conn, "devices", "registered")?
        || !has_column(conn, "device_state", "first_time")?
        || !has_column(conn, "quality_days", "received_mask")?;
    if !needed {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let r = (|| -> Result<()> {
        if !has_column(conn, "devices", "registered")? {
            conn.execute_batch("ALTER TABLE devices ADD COLUMN registered INTEGER")?;
        }
        if !has_column(conn, "device_state", "first_time")? {
            conn.execute_batch("ALTER TABLE device_state ADD COLUMN first_time INTEGER")?;
            let mut first: HashMap<String, i64> = HashMap::new();
            {
                let mut st = conn.prepare(
                    "SELECT i.mn, f.time FROM series s
                     JOIN measurements f ON f.series = s.id AND f.time =
                       (SELECT min(m.time) FROM measurements m WHERE m.series = s.id)
                     JOIN mn_ids i ON i.id = f.device",
                )?;
                let mut rows = st.query([])?;
                while let Some(r) = rows.next()? {
                    let (mn, t): (String, i64) = (r.get(0)?, r.get(1)?);
                    let e = first.entry(mn).or_insert(t);
                    *e = (*e).min(t);
                }
            }
            let mut up = conn.prepare("UPDATE device_state SET first_time = ?2 WHERE mn = ?1")?;
            for (mn, t) in &first {
                up.execute(params![mn, t])?;
            }
        }
        if !has_column(conn, "quality_days", "received_mask")? {
            conn.execute_batch(
                "ALTER TABLE quality_days ADD COLUMN received_mask INTEGER;
                 ALTER TABLE quality_days ADD COLUMN valid_mask INTEGER;",
            )?;
        }
        Ok(())
    })();
    match r {
        Ok(()) => conn.execute_batch("COMMIT")?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    Ok(())
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices(
    mn TEXT PRIMARY KEY,
    pw TEXT NOT NULL,
    site TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    protocol TEXT,
    allow TEXT NOT NULL DEFAULT '',
    calibrate_clock INTEGER NOT NULL DEFAULT 0,
    rtd_interval INTEGER,
    min_interval INTEGER
);
-- Every MN ever seen gets a small id that is never reused, so values keep their sender even
-- after a device is removed from the registry.
CREATE TABLE IF NOT EXISTS mn_ids(id INTEGER PRIMARY KEY, mn TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS series(
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    code TEXT NOT NULL,
    field TEXT NOT NULL,
    period INTEGER NOT NULL,
    UNIQUE(site, code, field, period)
);
CREATE TABLE IF NOT EXISTS measurements(
    series INTEGER NOT NULL,
    time INTEGER NOT NULL,
    value REAL,
    text TEXT NOT NULL,
    flag TEXT,
    eflag TEXT,
    device INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY(series, time)
) WITHOUT ROWID;
-- The engines' catch-up reads what arrived since its watermark (`received_since`): without
-- this every catch-up scanned the whole table.
CREATE INDEX IF NOT EXISTS measurements_received ON measurements(received_ms);
CREATE TABLE IF NOT EXISTS archive(
    id INTEGER PRIMARY KEY,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    packets INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS archive_last ON archive(last_ms);
CREATE TABLE IF NOT EXISTS device_state(
    mn TEXT PRIMARY KEY,
    last_seen_ms INTEGER,
    peer TEXT,
    last_cn TEXT,
    packets INTEGER NOT NULL DEFAULT 0,
    nvalues INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS device_deviations(
    mn TEXT NOT NULL,
    name TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY(mn, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS commands(
    id INTEGER PRIMARY KEY,
    mn TEXT NOT NULL,
    qn TEXT NOT NULL,
    cn TEXT NOT NULL,
    request TEXT NOT NULL,
    sent_ms INTEGER NOT NULL,
    qn_rtn INTEGER, qn_rtn_ms INTEGER,
    exe_rtn INTEGER, exe_rtn_ms INTEGER
);
CREATE INDEX IF NOT EXISTS commands_qn ON commands(mn, qn);
-- Derived tables (engine). Recomputable from `measurements` at any time.
CREATE TABLE IF NOT EXISTS air_days(
    site TEXT NOT NULL,
    day TEXT NOT NULL,
    rules TEXT NOT NULL,
    pm25 TEXT, pm10 TEXT, so2 TEXT, no2 TEXT, co TEXT, o3_8h TEXT, o3_1h TEXT,
    o3_8h_max TEXT,
    o3_8h_windows INTEGER NOT NULL,
    hours TEXT NOT NULL,
    aqi INTEGER,
    level INTEGER,
    "primary" TEXT NOT NULL,
    stations INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY(site, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS watermarks(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
-- Intake-bus message ids committed in the last BUS_ID_RETENTION_MS (IntakePacket::bus_id): a
-- message redelivered after a crash between commit and ack is not stored twice. A rowid
-- table, so rowid order is commit order and pruning reads only the oldest rows.
CREATE TABLE IF NOT EXISTS bus_ids(id TEXT PRIMARY KEY, committed_ms INTEGER NOT NULL);
"#;

const AIR_DAY_COLUMNS: &str = "site, day, rules, pm25, pm10, so2, no2, co, o3_8h, o3_1h, \
    o3_8h_max, o3_8h_windows, hours, aqi, level, \"primary\", stations, updated_ms";

fn air_day_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AirDay> {
    Ok(AirDay {
        site: r.get(0)?,
        day: r.get(1)?,
        rules: r.get(2)?,
        pm25: r.get(3)?,
        pm10: r.get(4)?,
        so2: r.get(5)?,
        no2: r.get(6)?,
        co: r.get(7)?,
        o3_8h: r.get(8)?,
        o3_1h: r.get(9)?,
        o3_8h_max: r.get(10)?,
        o3_8h_windows: r.get(11)?,
        hours: r.get(12)?,
        aqi: r.get(13)?,
        level: r.get(14)?,
        primary: r.get(15)?,
        stations: r.get(16)?,
        updated_ms: r.get(17)?,
    })
}

/// Tuning of the embedded store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// `PRAGMA synchronous=FULL` (fsync at every commit, survives power loss) when true;
    /// NORMAL otherwise (survives a process crash, not a power cut).
    pub fsync: bool,
    /// Page cache in MiB. The WITHOUT ROWID key layout is fast only with a large cache.
    pub cache_mib: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            fsync: true,
            cache_mib: 256,
        }
    }
}

pub struct SqliteStore {
    /// Shared with the domain modules (`crate::water`, `crate::sources`, …) that implement
    /// their extension traits for this store.
    pub(crate) conn: Connection,
    path: PathBuf,
    series: HashMap<String, i64>,
    mn_ids: HashMap<String, i64>,
    key: String,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in data folder `dir`.
    pub fn open(dir: &Path) -> Result<SqliteStore> {
        Self::open_with(dir, &SqliteOptions::default())
    }

    pub fn open_with(dir: &Path, opts: &SqliteOptions) -> Result<SqliteStore> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("qingshan.db");
        let conn = Connection::open(&path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(
            None,
            "synchronous",
            if opts.fsync { "FULL" } else { "NORMAL" },
        )?;
        conn.pragma_update(None, "cache_size", -(i64::from(opts.cache_mib) * 1024))?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // While the engines read, a checkpoint cannot rewind the WAL and it grows (past 1 GB in
        // a 30-day demo replay); once a checkpoint does rewind it, cut it back to this size.
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        conn.execute_batch(SCHEMA)?;
        for domain in crate::DOMAIN_SCHEMAS {
            conn.execute_batch(domain)?;
        }
        // Columns added since a data folder was created: `CREATE TABLE IF NOT EXISTS` left
        // its older table as it was.
        for (table, column, decl) in crate::alarms::ADDED_COLUMNS {
            let has: bool = conn.query_row(
                "SELECT count(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2",
                [table, column],
                |r| r.get(0),
            )?;
            if !has {
                conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))?;
            }
        }
        upgrade(&conn)?;
        let version: Option<i64> = conn
            .query_row(
                "SELECT value FROM meta WHERE key='schema_version'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|v| v.parse().ok());
        match version {
            None => {
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES('schema_version', ?1)",
                    [SCHEMA_VERSION.to_string()],
                )?;
            }
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StoreError::Invalid(format!(
                    "{}: schema version {v} is newer than this qingshan ({SCHEMA_VERSION})",
                    path.display()
                )))
            }
            Some(v) if v < SCHEMA_VERSION => {
                conn.execute(
                    "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
                    [SCHEMA_VERSION.to_string()],
                )?;
            }
            Some(_) => {}
        }
        Ok(SqliteStore {
            conn,
            path,
            series: HashMap::new(),
            mn_ids: HashMap::new(),
            key: String::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Inside the commit's transaction: records the bus ids of `batch`; returns the packets
    /// not committed before when some were (`None`: store the whole batch). Prunes ids older
    /// than [`crate::BUS_ID_RETENTION_MS`], a bounded number per commit so no commit pays for
    /// a backlog at once.
    fn skip_committed_bus_ids(
        &mut self,
        batch: &[IntakePacket],
        stats: &mut CommitStats,
    ) -> Result<Option<Vec<IntakePacket>>> {
        if batch.iter().all(|p| p.bus_id.is_none()) {
            return Ok(None);
        }
        let now = crate::pg::now_ms();
        let mut fresh = Vec::with_capacity(batch.len());
        let mut ins = self.conn.prepare_cached(
            "INSERT INTO bus_ids(id, committed_ms) VALUES(?1, ?2) ON CONFLICT(id) DO NOTHING",
        )?;
        let mut recorded = 0i64;
        for (i, p) in batch.iter().enumerate() {
            match &p.bus_id {
                Some(id) if ins.execute(params![id, now])? == 0 => stats.duplicates += 1,
                Some(_) => {
                    recorded += 1;
                    fresh.push(i);
                }
                None => fresh.push(i),
            }
        }
        drop(ins);
        // Twice as many as this commit added: old ids go faster than new ones come.
        self.conn
            .prepare_cached(
                "DELETE FROM bus_ids WHERE rowid IN (
                   SELECT rowid FROM (SELECT rowid, committed_ms FROM bus_ids ORDER BY rowid LIMIT ?1)
                   WHERE committed_ms < ?2)",
            )?
            .execute(params![2 * recorded, now - crate::BUS_ID_RETENTION_MS])?;
        Ok((fresh.len() < batch.len()).then(|| fresh.iter().map(|&i| batch[i].clone()).collect()))
    }

    fn series_id(&mut self, site: &str, code: &str, field: &str, period: Period) -> Result<i64> {
        self.key.clear();
        for part in [site, code, field] {
            self.key.push_str(part);
            self.key.push('\u{1f}');
        }
        self.key.push_str(period.as_str());
        if let Some(id) = self.series.get(self.key.as_str()) {
            return Ok(*id);
        }
        let id: i64 = self.conn.query_row(
            "INSERT INTO series(site, code, field, period) VALUES(?1, ?2, ?3, ?4)
             ON CONFLICT(site, code, field, period) DO UPDATE SET site = excluded.site
             RETURNING id",
            params![site, code, field, period.id()],
            |r| r.get(0),
        )?;
        self.series.insert(self.key.clone(), id);
        Ok(id)
    }

    fn mn_id(&mut self, mn: &str) -> Result<i64> {
        if let Some(id) = self.mn_ids.get(mn) {
            return Ok(*id);
        }
        let id: i64 = self.conn.query_row(
            "INSERT INTO mn_ids(mn) VALUES(?1) ON CONFLICT(mn) DO UPDATE SET mn = excluded.mn
             RETURNING id",
            [mn],
            |r| r.get(0),
        )?;
        self.mn_ids.insert(mn.to_string(), id);
        Ok(id)
    }
}

fn device_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    let kind: String = r.get(3)?;
    let allow: String = r.get(6)?;
    Ok(Device {
        mn: r.get(0)?,
        pw: r.get(1)?,
        site: r.get(2)?,
        kind: kind.parse::<DeviceKind>().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
        })?,
        name: r.get(4)?,
        protocol: r.get(5)?,
        allow: allow
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        calibrate_clock: r.get::<_, i64>(7)? != 0,
        rtd_interval: r.get(8)?,
        min_interval: r.get(9)?,
        registered: r.get(10)?,
    })
}

const DEVICE_COLUMNS: &str = "mn, pw, site, kind, name, protocol, allow, calibrate_clock, \
    rtd_interval, min_interval, registered";

impl Store for SqliteStore {
    fn put_device(&mut self, d: &Device) -> Result<()> {
        self.conn.execute(
            &format!(
                "INSERT INTO devices({DEVICE_COLUMNS})
                 VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,coalesce(?11,?12))
                 ON CONFLICT(mn) DO UPDATE SET pw=excluded.pw, site=excluded.site,
                 kind=excluded.kind, name=excluded.name, protocol=excluded.protocol,
                 allow=excluded.allow, calibrate_clock=excluded.calibrate_clock,
                 rtd_interval=excluded.rtd_interval, min_interval=excluded.min_interval,
                 registered=coalesce(?11, devices.registered)"
            ),
            params![
                d.mn,
                d.pw,
                d.site,
                d.kind.as_str(),
                d.name,
                d.protocol,
                d.allow.join(","),
                d.calibrate_clock as i64,
                d.rtd_interval,
                d.min_interval,
                d.registered,
                crate::pg::now_ms().div_euclid(1000)
            ],
        )?;
        Ok(())
    }

    fn remove_device(&mut self, mn: &str) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM devices WHERE mn = ?1", [mn])?
            > 0)
    }

    fn devices(&self) -> Result<Vec<Device>> {
        let mut st = self
            .conn
            .prepare(&format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY mn"))?;
        let rows = st.query_map([], device_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn device(&self, mn: &str) -> Result<Option<Device>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE mn = ?1"),
                [mn],
                device_from_row,
            )
            .optional()?)
    }

    fn commit(&mut self, batch: &[IntakePacket]) -> Result<CommitStats> {
        if batch.is_empty() {
            return Ok(CommitStats::default());
        }
        // One IMMEDIATE transaction per batch (group commit); managed by SQL rather than
        // rusqlite's Transaction so the id caches on `self` stay mutable inside it.
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = (|| -> Result<CommitStats> {
            let mut stats = CommitStats::default();
            let fresh = self.skip_committed_bus_ids(batch, &mut stats)?;
            let batch: &[IntakePacket] = fresh.as_deref().unwrap_or(batch);
            if batch.is_empty() {
                return Ok(stats);
            }
            // Resolve every id first (each may insert), then run one prepared upsert for all
            // values: looking the statement up per value cost more than the insert itself.
            let mut ids: Vec<(i64, i64)> =
                Vec::with_capacity(batch.iter().map(|p| p.values.len()).sum());
            for p in batch {
                let device = self.mn_id(&p.mn)?;
                for v in &p.values {
                    ids.push((
                        self.series_id(&v.site, &v.code, &v.field, v.period)?,
                        device,
                    ));
                }
            }
            let mut ins = self.conn.prepare_cached(
                "INSERT INTO measurements(series, time, value, text, flag, eflag, device, received_ms)
                 VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(series, time) DO UPDATE SET value=excluded.value,
                   text=excluded.text, flag=excluded.flag, eflag=excluded.eflag,
                   device=excluded.device, received_ms=excluded.received_ms",
            )?;
            let mut ids = ids.into_iter();
            for p in batch {
                for v in &p.values {
                    let (series, device) = ids.next().expect("one id pair per value");
                    let value = v.value.is_finite().then_some(v.value);
                    ins.execute(params![
                        series,
                        v.time,
                        value,
                        v.text,
                        v.flag,
                        v.eflag,
                        device,
                        p.received_ms
                    ])?;
                    stats.values += 1;
                }
            }
            drop(ins);
            stats.packets = batch.len() as u64;
            for p in batch {
                if let Some(answer) = &p.answer {
                    let (sql, qn, code) = match answer {
                        CommandAnswer::QnRtn { qn, code } => (
                            "UPDATE commands SET qn_rtn=?1, qn_rtn_ms=?2 WHERE mn=?3 AND qn=?4",
                            qn,
                            code,
                        ),
                        CommandAnswer::ExeRtn { qn, code } => (
                            "UPDATE commands SET exe_rtn=?1, exe_rtn_ms=?2 WHERE mn=?3 AND qn=?4",
                            qn,
                            code,
                        ),
                    };
                    self.conn.prepare_cached(sql)?.execute(params![
                        code,
                        p.received_ms,
                        p.mn,
                        qn
                    ])?;
                }
            }
            let (state, deviations) = aggregate_state(batch);
            let mut st = self.conn.prepare_cached(
                "INSERT INTO device_state(mn, last_seen_ms, peer, last_cn, packets, nvalues,
                   first_time)
                 VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(mn) DO UPDATE SET
                   first_time = coalesce(min(first_time, excluded.first_time), first_time,
                                         excluded.first_time),
                   peer = CASE WHEN excluded.last_seen_ms >= last_seen_ms THEN excluded.peer ELSE peer END,
                   last_cn = CASE WHEN excluded.last_seen_ms >= last_seen_ms THEN excluded.last_cn ELSE last_cn END,
                   last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),
                   packets = packets + excluded.packets,
                   nvalues = nvalues + excluded.nvalues",
            )?;
            for (mn, d) in &state {
                st.execute(params![
                    mn,
                    d.last_seen_ms,
                    d.peer,
                    d.last_cn,
                    d.packets as i64,
                    d.values as i64,
                    d.first_time
                ])?;
            }
            let mut st = self.conn.prepare_cached(
                "INSERT INTO device_deviations(mn, name, count) VALUES(?1, ?2, ?3)
                 ON CONFLICT(mn, name) DO UPDATE SET count = count + excluded.count",
            )?;
            for ((mn, name), n) in &deviations {
                st.execute(params![mn, name, *n as i64])?;
            }
            let (first, last) = archive_bounds(batch);
            self.conn
                .prepare_cached(
                    "INSERT INTO archive(first_ms, last_ms, packets, data) VALUES(?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    first,
                    last,
                    batch.len() as i64,
                    encode_archive(batch)
                ])?;
            Ok(stats)
        })();
        match result {
            Ok(stats) => {
                self.conn.execute_batch("COMMIT")?;
                Ok(stats)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                // Ids cached during the failed transaction may not exist any more.
                self.series.clear();
                self.mn_ids.clear();
                Err(e)
            }
        }
    }

    fn for_each_value(
        &self,
        filter: &ValueFilter,
        f: &mut dyn FnMut(&Measurement) -> Result<()>,
    ) -> Result<()> {
        let mut sql = String::from(
            "SELECT s.site, s.code, s.field, s.period, m.time, m.value, m.text, m.flag, m.eflag, i.mn,
                    m.series
             FROM measurements m JOIN series s ON s.id = m.series JOIN mn_ids i ON i.id = m.device
             WHERE 1=1",
        );
        let mut args: Vec<Box<dyn ToSql>> = Vec::new();
        if let Some(mn) = &filter.mn {
            sql.push_str(" AND i.mn = ?");
            args.push(Box::new(mn.clone()));
        }
        if let Some(site) = &filter.site {
            sql.push_str(" AND s.site = ?");
            args.push(Box::new(site.clone()));
        }
        if let Some(code) = &filter.code {
            sql.push_str(" AND s.code = ?");
            args.push(Box::new(code.clone()));
        }
        if let Some(period) = filter.period {
            sql.push_str(" AND s.period = ?");
            args.push(Box::new(period.id()));
        }
        if let Some(from) = filter.from {
            sql.push_str(" AND m.time >= ?");
            args.push(Box::new(from));
        }
        if let Some(to) = filter.to {
            sql.push_str(" AND m.time < ?");
            args.push(Box::new(to));
        }
        sql.push_str(" ORDER BY m.series, m.time");
        // Audited view: operator marks of the range, loaded first (nothing when none exist).
        let marks = if filter.raw {
            HashMap::new()
        } else {
            crate::quality::marks_map(&self.conn, filter.from, filter.to)?
        };
        let mut st = self.conn.prepare(&sql)?;
        let mut rows = st.query(params_from_iter(args.iter().map(|a| a.as_ref())))?;
        while let Some(r) = rows.next()? {
            let period_id: i64 = r.get(3)?;
            let m = Measurement {
                site: r.get(0)?,
                code: r.get(1)?,
                field: r.get(2)?,
                period: Period::from_id(period_id).ok_or_else(|| {
                    StoreError::Invalid(format!("unknown period id {period_id} in series"))
                })?,
                time: r.get(4)?,
                value: r.get::<_, Option<f64>>(5)?.unwrap_or(f64::NAN),
                text: r.get(6)?,
                flag: r.get(7)?,
                eflag: r.get(8)?,
                mn: r.get(9)?,
            };
            if !marks.is_empty() {
                match marks.get(&(r.get::<_, i64>(10)?, m.time)) {
                    Some(false) => continue,
                    Some(true) => {
                        let mut m = m;
                        m.flag = Some("N".into());
                        f(&m)?;
                        continue;
                    }
                    None => {}
                }
            }
            f(&m)?;
        }
        Ok(())
    }

    fn latest_time(&self, site: &str, code: &str, period: Period) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT max(m.time) FROM series s JOIN measurements m ON m.series = s.id
                 WHERE s.site = ?1 AND s.code = ?2 AND s.period = ?3",
            )?
            .query_row(params![site, code, period.id()], |r| r.get(0))?)
    }

    fn device_states(&self) -> Result<Vec<DeviceState>> {
        let mut out: Vec<DeviceState> = Vec::new();
        let mut st = self.conn.prepare(
            "SELECT mn, last_seen_ms, peer, last_cn, packets, nvalues, first_time FROM device_state
             ORDER BY mn",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            out.push(DeviceState {
                mn: r.get(0)?,
                last_seen_ms: r.get(1)?,
                first_time: r.get(6)?,
                peer: r.get(2)?,
                last_cn: r.get(3)?,
                packets: r.get::<_, i64>(4)? as u64,
                values: r.get::<_, i64>(5)? as u64,
                deviations: BTreeMap::new(),
            });
        }
        let mut st = self
            .conn
            .prepare("SELECT mn, name, count FROM device_deviations")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let mn: String = r.get(0)?;
            if let Ok(i) = out.binary_search_by(|s| s.mn.as_str().cmp(&mn)) {
                out[i]
                    .deviations
                    .insert(r.get(1)?, r.get::<_, i64>(2)? as u64);
            }
        }
        Ok(out)
    }

    fn record_command(
        &mut self,
        mn: &str,
        qn: &str,
        cn: &str,
        request: &str,
        sent_ms: i64,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO commands(mn, qn, cn, request, sent_ms) VALUES(?1, ?2, ?3, ?4, ?5)",
            params![mn, qn, cn, request, sent_ms],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn commands(&self, mn: Option<&str>, limit: usize) -> Result<Vec<CommandRecord>> {
        let mut st = self.conn.prepare(
            "SELECT id, mn, qn, cn, request, sent_ms, qn_rtn, qn_rtn_ms, exe_rtn, exe_rtn_ms
             FROM commands WHERE (?1 IS NULL OR mn = ?1) ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = st.query_map(params![mn, limit as i64], |r| {
            Ok(CommandRecord {
                id: r.get(0)?,
                mn: r.get(1)?,
                qn: r.get(2)?,
                cn: r.get(3)?,
                request: r.get(4)?,
                sent_ms: r.get(5)?,
                qn_rtn: r.get(6)?,
                qn_rtn_ms: r.get(7)?,
                exe_rtn: r.get(8)?,
                exe_rtn_ms: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn archived(&self, mn: Option<&str>, from_ms: i64, to_ms: i64) -> Result<Vec<ArchivedPacket>> {
        let mut st = self.conn.prepare(
            "SELECT data FROM archive WHERE last_ms >= ?1 AND first_ms < ?2 ORDER BY id",
        )?;
        let mut rows = st.query(params![from_ms, to_ms])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let data: Vec<u8> = r.get(0)?;
            out.extend(decode_archive(&data)?.into_iter().filter(|p| {
                p.received_ms >= from_ms && p.received_ms < to_ms && mn.is_none_or(|mn| p.mn == mn)
            }));
        }
        Ok(out)
    }

    fn prune_archive(&mut self, before_ms: i64) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT coalesce(sum(packets), 0) FROM archive WHERE last_ms < ?1",
            [before_ms],
            |r| r.get(0),
        )?;
        self.conn
            .execute("DELETE FROM archive WHERE last_ms < ?1", [before_ms])?;
        Ok(n as u64)
    }

    fn received_since(&self, period: Period, since_ms: i64) -> Result<Vec<ReceivedKey>> {
        // Since a watermark: the rows that arrived after it, through the index (the planner
        // would rather scan the table in key order than sort). Everything: the table, in order.
        let mut st = self.conn.prepare_cached(if since_ms == i64::MIN {
            "SELECT s.site, s.code, s.field, m.time, m.received_ms
             FROM measurements m JOIN series s ON s.id = m.series
             WHERE s.period = ?1 AND m.received_ms >= ?2
             ORDER BY m.series, m.time"
        } else {
            "SELECT s.site, s.code, s.field, m.time, m.received_ms
             FROM measurements m INDEXED BY measurements_received JOIN series s ON s.id = m.series
             WHERE s.period = ?1 AND m.received_ms >= ?2
             ORDER BY m.series, m.time"
        })?;
        let rows = st.query_map(params![period.id(), since_ms], |r| {
            Ok(ReceivedKey {
                site: r.get(0)?,
                code: r.get(1)?,
                field: r.get(2)?,
                period,
                time: r.get(3)?,
                received_ms: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn put_air_days(&mut self, days: &[AirDay]) -> Result<()> {
        if days.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(&format!(
                "INSERT OR REPLACE INTO air_days({AIR_DAY_COLUMNS})
                 VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)"
            ))?;
            for d in days {
                st.execute(params![
                    d.site,
                    d.day,
                    d.rules,
                    d.pm25,
                    d.pm10,
                    d.so2,
                    d.no2,
                    d.co,
                    d.o3_8h,
                    d.o3_1h,
                    d.o3_8h_max,
                    d.o3_8h_windows,
                    d.hours,
                    d.aqi,
                    d.level,
                    d.primary,
                    d.stations,
                    d.updated_ms
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn air_days(&self, site: Option<&str>, from_day: &str, to_day: &str) -> Result<Vec<AirDay>> {
        let (eq, mut args) = and_eq(&[("site", site)]);
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {AIR_DAY_COLUMNS} FROM air_days
             WHERE day >= ? AND day <= ?{eq} ORDER BY site, day"
        ))?;
        args.insert(0, to_day);
        args.insert(0, from_day);
        let rows = st.query_map(params_from_iter(args), air_day_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn watermark(&self, name: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM watermarks WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn set_watermark(&mut self, name: &str, value: i64) -> Result<()> {
        self.conn.execute(
            "INSERT INTO watermarks(name, value) VALUES(?1, ?2)
             ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            params![name, value],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod bus_id_tests {
    use super::*;

    /// Ids older than the retention go, oldest first, at most twice as many per commit as the
    /// commit records; recent ones stay.
    #[test]
    fn bus_ids_are_pruned_after_the_retention_a_bounded_number_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(dir.path()).unwrap();
        for i in 0..5 {
            s.conn
                .execute(
                    "INSERT INTO bus_ids(id, committed_ms) VALUES(?1, 1000)",
                    [format!("old{i}")],
                )
                .unwrap();
        }
        let count = |s: &SqliteStore, like: &str| -> i64 {
            s.conn
                .query_row(
                    "SELECT count(*) FROM bus_ids WHERE id LIKE ?1",
                    [like],
                    |r| r.get(0),
                )
                .unwrap()
        };
        let p = |id: &str| IntakePacket {
            mn: "MN1".into(),
            bus_id: Some(id.into()),
            ..IntakePacket::default()
        };
        s.commit(&[p("new0")]).unwrap();
        assert_eq!(count(&s, "old%"), 3, "two old ids pruned for one recorded");
        s.commit(&[p("new1"), p("new2")]).unwrap();
        assert_eq!(count(&s, "old%"), 0);
        assert_eq!(count(&s, "new%"), 3, "recent ids stay");
        // a pruned id is not known any more: stored again
        assert_eq!(s.commit(&[p("old0")]).unwrap().duplicates, 0);
    }
}
