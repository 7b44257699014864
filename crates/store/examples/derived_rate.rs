//! Derived-table write and read rate, SQLite against PostgreSQL:
//! `cargo run --release -p store --example derived_rate [ROWS]`.
//!
//! Writes ROWS air hours (10 sites) in one `put_air_hours`, writes them again (every row an
//! update), writes ROWS outlet hours, and reads the air hours back, on the embedded store and
//! on a fresh PostgreSQL database (`QINGSHAN_TEST_PG`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; dropped afterwards). Prints rows/s.

use std::time::Instant;

use store::air_hours::{AirHour, AirHoursStore};
use store::sources::{SourceHour, SourcesStore};
use store::{PgStore, SqliteStore};

fn run<S: AirHoursStore + SourcesStore>(
    name: &str,
    s: &mut S,
    air: &[AirHour],
    src: &[SourceHour],
) {
    let rate = |what: &str, n: usize, t: Instant| {
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{name:<10} {what:<24} {n:>8} rows {secs:>8.3} s {:>10.0} rows/s",
            n as f64 / secs
        );
    };
    let t = Instant::now();
    s.put_air_hours(air).expect("put air hours");
    rate("put_air_hours (insert)", air.len(), t);
    let t = Instant::now();
    s.put_air_hours(air).expect("put air hours");
    rate("put_air_hours (update)", air.len(), t);
    let t = Instant::now();
    s.put_source_hours(src).expect("put source hours");
    rate("put_source_hours", src.len(), t);
    let t = Instant::now();
    let n = s
        .air_hours(None, 0, i64::MAX)
        .expect("read air hours")
        .len();
    rate("air_hours (read)", n, t);
}

fn main() {
    let rows: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let air: Vec<AirHour> = (0..rows)
        .map(|i| AirHour {
            site: format!("AQ-{}", i % 10),
            hour: 1_600_000_000 + i / 10 * 3600,
            rules: "HJ633-2012".into(),
            pm25: Some("35.2".into()),
            pm10: Some("71".into()),
            no2: Some("40".into()),
            o3: Some("160".into()),
            pm25_24h: Some("34.58".into()),
            sources: "PM2.5=device,PM10=device".into(),
            minutes: "PM2.5=34.8/50".into(),
            aqi: Some(50),
            level: Some(1),
            iaqi: "PM25_24H=45".into(),
            stations: 1,
            updated_ms: 1,
            ..Default::default()
        })
        .collect();
    let src: Vec<SourceHour> = (0..rows)
        .map(|i| SourceHour {
            site: format!("WS-{}", i % 10),
            code: "w01018".into(),
            hour: 1_600_000_000 + i / 10 * 3600,
            value: Some(21.5),
            measured: Some(20.0),
            valid_minutes: Some(60),
            origin: "device".into(),
            valid: true,
            flag: "N".into(),
            limit: Some(50.0),
            cou: Some(1.25),
            cou_method: "cou".into(),
            updated_ms: 1,
            ..Default::default()
        })
        .collect();

    let dir = std::env::temp_dir().join(format!("qingshan-derived-rate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut lite = SqliteStore::open(&dir).expect("open store");
    run("sqlite", &mut lite, &air, &src);
    drop(lite);
    let _ = std::fs::remove_dir_all(&dir);

    let db = store::pg::TempDb::new().expect("create a PostgreSQL database");
    let mut pg = PgStore::connect(db.url()).expect("connect");
    run("postgres", &mut pg, &air, &src);
}
