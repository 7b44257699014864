//! Print the strict and lenient verdict of every packet of a JSONL sample file.
//! `cargo run -p hj212 --example verdicts -- crates/hj212/tests/data/hj212_samples.jsonl`
use hj212::{decode_all, Mode};

fn verdict(mode: Mode, bytes: &[u8]) -> String {
    decode_all(mode, bytes)
        .iter()
        .map(|r| match r {
            Ok(f) => format!(
                "ok[{}]",
                f.deviations
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Err(e) => format!("err:{}", e.kind.as_str()),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    let path = std::env::args().nth(1).expect("path");
    let text = std::fs::read_to_string(path).unwrap();
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let pk = v["packet"].as_str().unwrap().as_bytes();
        println!(
            "{i:2} strict={} lenient={}",
            verdict(Mode::Strict, pk),
            verdict(Mode::Lenient, pk)
        );
    }
}
