//! Store-only commit rate, SQLite and PostgreSQL in the same run:
//!
//! ```text
//! cargo run --release -p store --example commit_rate -- [PACKETS] [--pg URL]
//! ```
//!
//! Commits PACKETS packets (default 200,000) of 8 hour values each (distinct keys, 200 sites)
//! in batches of 8,192, durable at every commit (SQLite `synchronous=FULL`; PostgreSQL
//! `synchronous_commit=on`), and prints packets/s and values/s. With `--pg URL` (or
//! `QINGSHAN_BENCH_PG=URL`) the same packets then go to a scratch database created on that
//! server (the URL's user must be allowed to create databases) and dropped afterwards.

use model::{Measurement, Period};
use store::pg::TempDb;
use store::{IntakePacket, PgStore, SqliteStore, Store};

const BATCH: usize = 8192;

fn main() {
    let mut packets: usize = 200_000;
    let mut pg = std::env::var("QINGSHAN_BENCH_PG").ok();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--pg" => pg = Some(args.next().expect("--pg needs a URL")),
            n => packets = n.parse().expect("PACKETS must be a number"),
        }
    }

    let dir = std::env::temp_dir().join(format!("qingshan-commit-rate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut s = SqliteStore::open(&dir).expect("open store");
    let lite = run("sqlite", &mut s, packets);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);

    if let Some(url) = pg {
        let db = TempDb::on_server(&url).expect("create a scratch database");
        let mut s = PgStore::connect(db.url()).expect("connect");
        let pg = run("postgres", &mut s, packets);
        println!("postgres/sqlite rate: {:.2}", lite / pg);
    }
}

/// Commits the packets, prints the rates, returns the seconds taken.
fn run(name: &str, s: &mut dyn Store, packets: usize) -> f64 {
    let raw = vec![b'#'; 300];
    let started = std::time::Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    for k in 0..packets {
        let site = format!("S-{}", k % 200);
        let values = (0..8)
            .map(|n| Measurement {
                site: site.clone(),
                code: format!("a2102{n}"),
                field: "Avg".into(),
                period: Period::Hour,
                time: 1_600_000_000 + (k / 200) as i64 * 3600,
                value: 12.5,
                text: "12.5".into(),
                flag: Some("N".into()),
                eflag: None,
                mn: format!("MN{}", k % 200),
            })
            .collect();
        batch.push(IntakePacket {
            received_ms: k as i64,
            mn: format!("MN{}", k % 200),
            cn: "2061".into(),
            qn: None,
            peer: "127.0.0.1:1".into(),
            raw: raw.clone(),
            values,
            deviations: vec![],
            answer: None,
            bus_id: None,
        });
        if batch.len() == BATCH {
            s.commit(&batch).expect("commit");
            batch.clear();
        }
    }
    s.commit(&batch).expect("commit");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{name}: {packets} packets ({} values) in {secs:.2} s: {:.0} packets/s, {:.0} values/s",
        packets * 8,
        packets as f64 / secs,
        packets as f64 * 8.0 / secs
    );
    secs
}
