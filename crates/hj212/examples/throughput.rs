//! Decoding throughput without criterion: packets/s and MB/s on one core.
//! `cargo run --release -p hj212 --example throughput`
use std::time::Instant;

use hj212::{Decoder, DecoderConfig, Mode};

const CORPUS: &str = include_str!("../tests/data/hj212_samples.jsonl");

fn main() {
    for mode in [Mode::Strict, Mode::Lenient] {
        let mut one = Vec::new();
        let mut n = 0usize;
        for line in CORPUS.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let t = v["packet"].as_str().unwrap();
            let cn_ok = ["CN=2011;", "CN=2051;", "CN=2061;"]
                .iter()
                .any(|c| t.contains(c));
            let ok = hj212::decode_all(mode, t.as_bytes())
                .iter()
                .all(|r| r.is_ok());
            if cn_ok && ok && t.ends_with("\r\n") {
                one.extend_from_slice(t.as_bytes());
                n += 1;
            }
        }
        let repeat = 2000;
        let s: Vec<u8> = one.repeat(repeat);
        let packets = n * repeat;
        let mut best = f64::MAX;
        let mut values = 0;
        for _ in 0..7 {
            let t0 = Instant::now();
            let mut d = Decoder::new(DecoderConfig::new(mode));
            let mut got = 0;
            values = 0;
            for chunk in s.chunks(64 * 1024) {
                d.feed(chunk);
                while let Some(r) = d.next_frame() {
                    let f = r.unwrap();
                    values += f.packet.values().count();
                    got += 1;
                }
            }
            assert_eq!(got, packets);
            best = best.min(t0.elapsed().as_secs_f64());
        }
        println!(
            "{mode:?}: {packets} packets ({n} distinct 2011/2051/2061, avg {} B), {values} values: \
             {:.0} packets/s, {:.1} MB/s (best of 7)",
            s.len() / packets,
            packets as f64 / best,
            s.len() as f64 / best / 1e6
        );
    }
}
