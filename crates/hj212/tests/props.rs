//! Property tests: stream framing under any chunking (HJ 212-2017 §6.3 Table 2, "find `##`,
//! read the length, check CRC and CR LF, on failure skip and search again"), encode/decode
//! round trip (Tables 3 and 4), split reassembly (Table 3 PNUM/PNO, App. C.47–C.50).

use hj212::{
    decode_all, encode, Decoder, DecoderConfig, Mode, Packet, PacketBuilder, Reassembler,
    ReassemblerConfig,
};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?[0-9]{1,6}(\\.[0-9]{1,4})?",
        "[NFMSDCTB]",
        // Info text may hold separators and Chinese (Std Table C.40)
        "//[a-z0-9 ;,=清洗管路]{0,12}//",
    ]
}

fn item() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        (
            "[aw][0-9]{5}",
            prop::sample::select(vec![
                "Rtd", "Min", "Avg", "Max", "Cou", "ZsRtd", "ZsAvg", "Flag", "EFlag", "Info"
            ]),
            value()
        )
            .prop_map(|(c, s, v)| (format!("{c}-{s}"), v)),
        "[0-9]{14}".prop_map(|t| ("DataTime".to_string(), t)),
        (
            prop::sample::select(vec!["PolId", "QnRtn", "ExeRtn", "RtdInterval", "Unknown7"]),
            "[0-9A-Za-z]{1,8}"
        )
            .prop_map(|(k, v)| (k.to_string(), v)),
    ]
}

prop_compose! {
    fn packet()(
        qn in "[0-9]{17}",
        st in "[0-9A-Z]{2}",
        cn in prop::sample::select(vec!["2011", "2051", "2061", "1062", "9014", "3020", "2013"]),
        pw in "[0-9A-Za-z]{6}",
        mn in "[0-9A-F]{24}",
        version in 1u8..=2,
        ack in any::<bool>(),
        groups in prop::collection::vec(prop::collection::vec(item(), 1..4), 0..6),
    ) -> Packet {
        let mut b = PacketBuilder::new(st, cn, pw, mn).qn(qn).flag(version << 2 | ack as u8);
        for g in groups {
            b = b.group(g);
        }
        b.build().unwrap()
    }
}

/// Garbage between frames: plain bytes, and bytes that include `#`, `&`, digits, CR, LF.
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>().prop_filter("no #", |b| *b != b'#'), 0..40),
        prop::collection::vec(
            prop::sample::select(b"#&0123456789ABCDEF\r\n;=QN".to_vec()),
            0..40
        ),
    ]
}

fn chunked(
    stream: &[u8],
    sizes: &[usize],
    mode: Mode,
) -> Vec<Result<hj212::Frame, hj212::FrameError>> {
    let mut d = Decoder::new(DecoderConfig::new(mode));
    let mut out = Vec::new();
    let mut pos = 0;
    let mut k = 0;
    while pos < stream.len() {
        let n = sizes[k % sizes.len()].min(stream.len() - pos);
        k += 1;
        d.feed(&stream[pos..pos + n]);
        pos += n;
        while let Some(r) = d.next_frame() {
            out.push(r);
        }
        assert!(d.buffered() <= hj212::MAX_FRAME);
    }
    while let Some(r) = d.finish() {
        out.push(r);
    }
    assert_eq!(d.buffered(), 0);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any chunking of valid frames mixed with garbage yields exactly those frames, at their
    /// offsets, in both modes (HJ 212-2017 §6.3 Table 2).
    #[test]
    fn any_chunking_finds_every_frame(
        parts in prop::collection::vec((garbage(), packet()), 1..6),
        tail in garbage(),
        sizes in prop::collection::vec(1usize..300, 1..5),
    ) {
        let mut stream = Vec::new();
        let mut want = Vec::new();
        for (g, p) in &parts {
            stream.extend_from_slice(g);
            let f = encode(p);
            want.push((stream.len() as u64, f.clone(), p.clone()));
            stream.extend_from_slice(&f);
        }
        stream.extend_from_slice(&tail);
        for mode in [Mode::Strict, Mode::Lenient] {
            let got: Vec<_> = chunked(&stream, &sizes, mode)
                .into_iter()
                .filter_map(Result::ok)
                .map(|f| (f.offset, f.raw, f.packet))
                .collect();
            prop_assert_eq!(&got, &want, "mode {:?}", mode);
        }
    }

    /// decode(encode(x)) == x and encode(decode(frame)) == frame (Std Tables 2–4).
    #[test]
    fn encode_decode_round_trip(p in packet()) {
        prop_assert!(p.deviations().is_empty(), "{:?}", p.deviations());
        let f = encode(&p);
        let r = decode_all(Mode::Strict, &f);
        prop_assert_eq!(r.len(), 1);
        let got = r[0].as_ref().unwrap();
        prop_assert_eq!(&got.packet, &p);
        prop_assert_eq!(encode(&got.packet), f);
        prop_assert_eq!(got.packet.to_builder().build().unwrap(), p);
    }

    /// Split parts in any order, with duplicates, merge into one packet (Std App. C.47–C.50).
    #[test]
    fn split_any_order(order in Just((1u32..=5).collect::<Vec<_>>()).prop_shuffle(), dup in 0usize..5) {
        let parts = split_parts(5);
        let mut r = Reassembler::new(ReassemblerConfig::default());
        let mut feed: Vec<u32> = order.clone();
        feed.insert(dup.min(feed.len() - 1), order[0]); // a duplicate of the first part
        let mut merged = None;
        for (t, pno) in feed.iter().enumerate() {
            if let Some(m) = r.push(parts[*pno as usize - 1].clone(), t as u64) {
                prop_assert!(merged.is_none());
                merged = Some(m);
            }
        }
        let m = merged.expect("complete");
        prop_assert_eq!(m.cp_text(), expected_merged_cp(5));
        prop_assert_eq!(r.pending_sets(), 0);
        prop_assert_eq!(r.stats().duplicates, 1);
    }
}

fn split_parts(n: u32) -> Vec<Packet> {
    (1..=n)
        .map(|pno| {
            PacketBuilder::new("32", "2061", "123456", "010000A8900016F000169DC0")
                .qn(format!("20160801085857{:03}", 533 + pno))
                .flag(7)
                .split(n, pno)
                .item("DataTime", "20160801080000")
                .group([
                    (format!("w0100{pno}-Avg"), "1.0".to_string()),
                    (format!("w0100{pno}-Flag"), "N".to_string()),
                ])
                .build()
                .unwrap()
        })
        .collect()
}

fn expected_merged_cp(n: u32) -> String {
    let mut s = "DataTime=20160801080000".to_string();
    for pno in 1..=n {
        s.push_str(&format!(";w0100{pno}-Avg=1.0,w0100{pno}-Flag=N"));
    }
    s
}

/// Std App. C.47–C.50: the corpus split pair (own QNs …534/…535) merges in order; header of
/// part 1, A and D bits cleared, no PNUM/PNO.
#[test]
fn split_in_order_corpus() {
    let a = b"##0260QN=20160801085857534;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=6;PNUM=2;PNO=1;CP=&&DataTime=20160801080000;w00000-Cou=63.0,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N&&DC41\r\n";
    let b = b"##0201QN=20160801085857535;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=6;PNUM=2;PNO=2;CP=&&DataTime=20160801080000;w01018-Cou=63.0,w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,w01018-Flag=N&&DEC1\r\n";
    let mut stream = a.to_vec();
    stream.extend_from_slice(b);
    let frames: Vec<_> = decode_all(Mode::Strict, &stream)
        .into_iter()
        .map(|r| r.unwrap().packet)
        .collect();
    let mut r = Reassembler::new(ReassemblerConfig::default());
    assert!(r.push(frames[0].clone(), 0).is_none());
    let m = r.push(frames[1].clone(), 10).unwrap();
    assert_eq!(m.qn(), Some("20160801085857534"));
    assert_eq!(m.flag(), Some(4));
    assert_eq!(m.pnum(), None);
    assert_eq!(m.groups().count(), 4);
    assert_eq!(m.values().filter(|v| v.code() == "w01018").count(), 4);
    assert!(m.deviations().is_empty());
    // a packet that is not split passes straight through
    let single = split_parts(1);
    assert!(r.push(single[0].clone(), 0).is_some());
}

/// An incomplete set is dropped after the timeout (Std §6.2: answers time out) and reported.
#[test]
fn split_timeout() {
    let parts = split_parts(3);
    let mut r = Reassembler::new(ReassemblerConfig {
        timeout_ms: 1000,
        ..Default::default()
    });
    assert!(r.push(parts[0].clone(), 0).is_none());
    assert!(r.push(parts[2].clone(), 500).is_none());
    assert!(r.expire(1400).is_empty());
    let e = r.expire(1500);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].received, vec![1, 3]);
    assert_eq!(e[0].reason, hj212::DropReason::Timeout);
    assert_eq!(e[0].first_qn.as_deref(), Some("20160801085857534"));
    assert_eq!(r.pending_sets(), 0);
    assert_eq!(r.pending_bytes(), 0);
    // the late part starts a new set, it does not complete the dropped one
    assert!(r.push(parts[1].clone(), 1600).is_none());
}

/// The reassembler holds at most `max_sets` sets and `max_bytes` bytes; the least recently
/// active set is evicted and reported by the next `expire`.
#[test]
fn split_bounds() {
    let mut r = Reassembler::new(ReassemblerConfig {
        max_sets: 2,
        max_bytes: 10_000,
        ..Default::default()
    });
    for (i, dt) in ["20160801080000", "20160801090000", "20160801100000"]
        .iter()
        .enumerate()
    {
        let p = PacketBuilder::new("32", "2061", "123456", "010000A8900016F000169DC0")
            .qn("20160801085857534")
            .flag(6)
            .split(2, 1)
            .item("DataTime", *dt)
            .build()
            .unwrap();
        assert!(r.push(p, i as u64).is_none());
    }
    assert_eq!(r.pending_sets(), 2);
    let e = r.expire(3);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].data_time.as_deref(), Some("20160801080000"));
    assert_eq!(e[0].reason, hj212::DropReason::Evicted);

    // byte bound: two sets of one part each do not fit in 1.5 parts' worth of bytes
    let a = split_parts(3);
    let per_part = a[0].segment().len();
    let mut r = Reassembler::new(ReassemblerConfig {
        max_bytes: per_part * 3 / 2,
        ..Default::default()
    });
    let b: Vec<_> = a
        .iter()
        .map(|p| {
            let s = p.segment().replace("20160801080000", "20160801090000");
            Packet::parse(s.as_bytes()).unwrap()
        })
        .collect();
    assert!(r.push(a[0].clone(), 0).is_none());
    assert!(r.push(b[0].clone(), 1).is_none());
    assert_eq!(r.pending_sets(), 1);
    assert!(r.pending_bytes() <= per_part * 3 / 2);
    let e = r.expire(2);
    assert_eq!(e[0].data_time.as_deref(), Some("20160801080000"));
    // invalid parts are refused
    let bad = PacketBuilder::new("32", "2061", "123456", "010000A8900016F000169DC0")
        .flag(6)
        .split(2, 3)
        .build()
        .unwrap();
    assert!(r.push(bad, 2).is_none());
    assert_eq!(r.stats().invalid, 1);
}
