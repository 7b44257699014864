//! Size and speed of the intake bus's wire encoding (postcard, `bus::wire`) beside JSON of the
//! same packet: `cargo run --release -p ingest --example wire`. Figures in docs/scale-out.md.

use std::time::Instant;

use ingest::bus::wire;
use model::{Measurement, Period};
use serde::{Deserialize, Serialize};
use store::IntakePacket;

/// The packet as one would put it in JSON (every field named, the frame as text).
#[derive(Serialize, Deserialize)]
struct JsonPacket {
    received_ms: i64,
    mn: String,
    cn: String,
    qn: Option<String>,
    peer: String,
    raw: String,
    values: Vec<Measurement>,
    deviations: Vec<String>,
}

fn packet(values: usize) -> IntakePacket {
    let codes = [
        "a21026", "a21002", "a34013", "a19001", "a00000", "a01012", "a01011", "a01014",
    ];
    let fields = ["Avg", "Min", "Max", "ZsAvg"];
    let mn = "88888880000001".to_string();
    let vals: Vec<Measurement> = (0..values)
        .map(|n| Measurement {
            site: "ENT-ZQBL-01".into(),
            code: codes[n / 4 % 8].into(),
            field: fields[n % 4].into(),
            period: Period::Hour,
            time: 1_700_000_000,
            value: 12.3 + n as f64,
            text: format!("{:.1}", 12.3 + n as f64),
            flag: Some("N".into()),
            eflag: None,
            mn: mn.clone(),
        })
        .collect();
    let cp: Vec<String> = vals
        .iter()
        .map(|v| format!("{}-{}={},{}-Flag=N", v.code, v.field, v.text, v.code))
        .collect();
    let raw = format!(
        "##0000QN=20240101000000001;ST=31;CN=2061;PW=123456;MN={mn};Flag=5;CP=&&DataTime=20231115060000;{}&&ABCD\r\n",
        cp.join(";")
    );
    IntakePacket {
        received_ms: 1_700_000_000_123,
        mn,
        cn: "2061".into(),
        qn: Some("20240101000000001".into()),
        peer: "10.12.0.7:50112".into(),
        raw: raw.into_bytes(),
        values: vals,
        deviations: vec![],
        answer: None,
        bus_id: None,
    }
}

fn to_json(p: &IntakePacket) -> Vec<u8> {
    serde_json::to_vec(&JsonPacket {
        received_ms: p.received_ms,
        mn: p.mn.clone(),
        cn: p.cn.clone(),
        qn: p.qn.clone(),
        peer: p.peer.clone(),
        raw: String::from_utf8_lossy(&p.raw).into_owned(),
        values: p.values.clone(),
        deviations: p.deviations.clone(),
    })
    .unwrap()
}

fn main() {
    let n = 200_000;
    for values in [8, 32] {
        let p = packet(values);
        let bin = wire::encode(&p);
        let json = to_json(&p);
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(wire::decode(std::hint::black_box(&wire::encode(&p))).unwrap());
        }
        let bin_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        let t = Instant::now();
        for _ in 0..n {
            let j: JsonPacket = serde_json::from_slice(&to_json(std::hint::black_box(&p))).unwrap();
            std::hint::black_box(j);
        }
        let json_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!(
            "{values:>2} values, frame {} B: postcard {} B, {bin_us:.2} µs encode+decode; JSON {} B, {json_us:.2} µs",
            p.raw.len(),
            bin.len(),
            json.len()
        );
    }
}
