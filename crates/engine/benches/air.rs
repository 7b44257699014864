//! Air engine benchmark (plain harness; prints figures):
//! a year of hourly data for 40 stations × 6 pollutants, cold rebuild of `air_days`, then the
//! incremental cost of one new hour for all 40 stations (touched + update).
//!
//! `cargo bench -p engine --bench air` (env `AIR_BENCH_SITES`, `AIR_BENCH_DAYS` to scale).

use std::time::Instant;

use engine::time::day_start_utc;
use engine::{AirEngine, AirStation};
use model::{Measurement, Period};
use standards::Date;
use store::{IntakePacket, SqliteOptions, SqliteStore, Store};

const CODES: [&str; 6] = ["a34004", "a34002", "a21026", "a21004", "a21005", "a05024"];

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn hour_values(sites: usize, t: i64, seed: u64) -> Vec<Measurement> {
    let mut out = Vec::with_capacity(sites * 6);
    for s in 0..sites {
        for (i, code) in CODES.iter().enumerate() {
            let x = (t as u64 / 3600)
                .wrapping_mul(6364136223846793005)
                .wrapping_add(seed + (s * 6 + i) as u64);
            let v = if i == 4 {
                format!("{:.1}", 0.3 + (x % 20) as f64 / 10.0)
            } else {
                format!("{}", 5 + x % 150)
            };
            out.push(Measurement {
                site: format!("AIR-{s:02}"),
                code: (*code).into(),
                field: "Avg".into(),
                period: Period::Hour,
                time: t,
                value: v.parse().unwrap(),
                text: v,
                flag: Some(if x.is_multiple_of(97) { "D" } else { "N" }.into()),
                eflag: None,
                mn: format!("MN{s:02}"),
            });
        }
    }
    out
}

fn main() {
    let sites = env("AIR_BENCH_SITES", 40);
    let ndays = env("AIR_BENCH_DAYS", 365);
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open_with(
        dir.path(),
        &SqliteOptions {
            fsync: false,
            cache_mib: 256,
        },
    )
    .unwrap();
    let engine = AirEngine::new((0..sites).map(|s| AirStation {
        site: format!("AIR-{s:02}"),
        urban: s < 4,
    }));
    let from = Date::ymd(2025, 1, 1);
    let t0 = day_start_utc(from);
    let hours = ndays as i64 * 24;
    let start = Instant::now();
    let mut batch = Vec::new();
    for h in 0..hours {
        batch.push(IntakePacket {
            received_ms: h,
            mn: "MN".into(),
            cn: "2061".into(),
            values: hour_values(sites, t0 + h * 3600, 1),
            ..IntakePacket::default()
        });
        if batch.len() == 24 * 7 {
            store.commit(&batch).unwrap();
            batch.clear();
        }
    }
    store.commit(&batch).unwrap();
    let values = hours as usize * sites * 6;
    println!(
        "load: {values} hour values ({sites} sites x 6 pollutants x {ndays} days) in {:.2?}",
        start.elapsed()
    );

    let mut to = from;
    for _ in 1..ndays {
        to = to.succ();
    }
    let start = Instant::now();
    let st = engine.rebuild(&mut store, from, to).unwrap();
    let cold = start.elapsed();
    println!(
        "cold rebuild: {} station days + {} county days from {} values in {:.2?} ({:.0} values/s)",
        st.station_days,
        st.county_days,
        st.values_read,
        cold,
        st.values_read as f64 / cold.as_secs_f64()
    );

    // Incremental: new hours arriving one at a time (each a packet per station, one commit).
    let n = 48;
    let mut update_total = std::time::Duration::ZERO;
    let mut commit_total = std::time::Duration::ZERO;
    for k in 0..n {
        let t = t0 + (hours - n + k) * 3600; // re-sent recent hours (replace in place)
        let batch: Vec<IntakePacket> = hour_values(sites, t, 2)
            .chunks(6)
            .map(|v| IntakePacket {
                received_ms: hours + k,
                mn: v[0].mn.clone(),
                cn: "2061".into(),
                values: v.to_vec(),
                ..IntakePacket::default()
            })
            .collect();
        let c = Instant::now();
        store.commit(&batch).unwrap();
        commit_total += c.elapsed();
        let u = Instant::now();
        let touched = engine.touched(&batch);
        engine.update(&mut store, &touched).unwrap();
        update_total += u.elapsed();
    }
    println!(
        "incremental: one new hour for {sites} stations ({} values) -> update {:.2?} per hour \
         ({:.0} µs per station day), commit {:.2?} per hour",
        sites * 6,
        update_total / n as u32,
        update_total.as_micros() as f64 / (n as f64 * sites as f64),
        commit_total / n as u32
    );
}
