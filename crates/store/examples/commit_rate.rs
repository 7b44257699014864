//! Store-only commit rate: `cargo run --release -p store --example commit_rate [PACKETS]`.
//! Commits PACKETS packets of 8 hour values each (distinct keys) in batches of 8,192, fsync on,
//! and prints packets/s and values/s.

use model::{Measurement, Period};
use store::{IntakePacket, SqliteStore, Store};

fn main() {
    let packets: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let dir = std::env::temp_dir().join(format!("qingshan-commit-rate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut s = SqliteStore::open(&dir).expect("open store");
    let raw = vec![b'#'; 300];
    let started = std::time::Instant::now();
    let mut batch = Vec::with_capacity(8192);
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
        });
        if batch.len() == 8192 {
            s.commit(&batch).expect("commit");
            batch.clear();
        }
    }
    s.commit(&batch).expect("commit");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{packets} packets ({} values) in {secs:.2} s: {:.0} packets/s, {:.0} values/s",
        packets * 8,
        packets as f64 / secs,
        packets as f64 * 8.0 / secs
    );
    let _ = std::fs::remove_dir_all(&dir);
}
