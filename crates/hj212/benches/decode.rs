//! Decoding throughput on real 2011/2051/2061 packets from the corpus (full framing, CRC and
//! CP parsing; every frame's values are walked too).
//! `cargo bench -p hj212 --bench decode`
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hj212::{Decoder, DecoderConfig, Mode};

const CORPUS: &str = include_str!("../tests/data/hj212_samples.jsonl");

/// Corpus packets with CN 2011/2051/2061 that decode in the given mode, glued into a stream.
fn stream(mode: Mode, repeat: usize) -> (Vec<u8>, usize) {
    let mut one = Vec::new();
    let mut n = 0;
    for line in CORPUS.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let pk = v["packet"].as_str().unwrap().as_bytes();
        let cn_ok = ["CN=2011;", "CN=2051;", "CN=2061;"]
            .iter()
            .any(|c| v["packet"].as_str().unwrap().contains(c));
        let ok = hj212::decode_all(mode, pk).iter().all(|r| r.is_ok());
        if cn_ok && ok && pk.ends_with(b"\r\n") {
            one.extend_from_slice(pk);
            n += 1;
        }
    }
    let mut s = Vec::with_capacity(one.len() * repeat);
    for _ in 0..repeat {
        s.extend_from_slice(&one);
    }
    (s, n * repeat)
}

fn decode_stream(mode: Mode, s: &[u8]) -> usize {
    let mut d = Decoder::new(DecoderConfig::new(mode));
    let mut n = 0;
    for chunk in s.chunks(64 * 1024) {
        d.feed(chunk);
        while let Some(r) = d.next_frame() {
            let f = r.unwrap();
            n += f.packet.values().count();
            black_box(&f);
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    for (name, mode) in [("strict", Mode::Strict), ("lenient", Mode::Lenient)] {
        let (s, packets) = stream(mode, 200);
        let mut g = c.benchmark_group(format!("decode_{name}"));
        g.throughput(Throughput::Elements(packets as u64));
        g.bench_function("packets", |b| b.iter(|| decode_stream(mode, black_box(&s))));
        g.throughput(Throughput::Bytes(s.len() as u64));
        g.bench_function("bytes", |b| b.iter(|| decode_stream(mode, black_box(&s))));
        g.finish();
    }
    let seg = b"QN=20160801085000001;ST=32;CN=2051;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801084000;w00000-Cou=10.5,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N;w01018-Cou=10.5,w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,w01018-Flag=N&&";
    let mut g = c.benchmark_group("crc16");
    g.throughput(Throughput::Bytes(seg.len() as u64));
    g.bench_function("hj212_325B", |b| b.iter(|| hj212::crc16(black_box(seg))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
