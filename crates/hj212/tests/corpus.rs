//! The sample corpus (`tests/data/hj212_samples.jsonl`, a copy of the shared reference file):
//! every packet, decoded alone as one stream, in strict and lenient mode, against the verdict
//! written down here; plus the fields the corpus states in `expected`.

use hj212::{decode_all, Deviation, Frame, FrameError, Mode, Version};

const CORPUS: &str = include_str!("data/hj212_samples.jsonl");

/// Expected outcome: `Ok(deviations)` or `Err(error kind)`.
type Verdict = Result<&'static [&'static str], &'static str>;

const STD: Verdict = Ok(&[]);

/// (strict, lenient) per corpus line. Derived from `crc_ok`, `check` and `notes`:
/// * HJ 212-2017 §6.3 Table 2 framing: Modbus CRC → `crc`, LF only / no tail → `tail`,
///   segment > 1024 → `too_long`, wrong length → `length` in strict mode; lenient accepts and
///   names them.
/// * Table 3 header rules (QN, Flag, MN/PW widths, field order) and App. B codes: strict
///   rejects (`deviation`), lenient names them.
/// * Deliberately wrong / stale CRCs are rejected in both modes.
const VERDICTS: [(Verdict, Verdict); 53] = [
    (STD, STD), // 0 Std 1062 example, CRC 1C80
    (STD, STD), // 1 9011
    (STD, STD), // 2 9012
    (STD, STD), // 3 1000
    (STD, STD), // 4 1011 upload
    (STD, STD), // 5 2011 request, empty CP
    (STD, STD), // 6 9014
    (STD, STD), // 7 2011 with SampleTime/EFlag
    (STD, STD), // 8 2051
    (STD, STD), // 9 2061
    (STD, STD), // 10 2081
    (STD, STD), // 11 noise LA
    (STD, STD), // 12 noise -Data
    (STD, STD), // 13 UTF-8 Info, 152 bytes, CRC 9741
    (STD, STD), // 14 split 1/2
    (STD, STD), // 15 split 2/2
    (STD, STD), // 16 split with ack
    // 17 2005 style, 17-digit DataTime
    (
        Err("deviation"),
        Ok(&["no_qn", "no_flag", "code_2005", "datatime_ms"]),
    ),
    (Err("crc"), Err("crc")), // 18 stale CRC (correct 3C00)
    // 19 lowercase CRC is fine; 2005 style is not
    (Err("deviation"), Ok(&["no_qn", "no_flag", "code_2005"])),
    // 20 LF only
    (
        Err("tail"),
        Ok(&["lf_only", "no_qn", "no_flag", "code_2005", "datatime_ms"]),
    ),
    (Err("crc"), Err("crc")),      // 21 deliberately bad CRC
    (Err("too_long"), Err("crc")), // 22 1025 bytes, stale CRC
    // 23 ';' instead of ','
    (
        Err("deviation"),
        Ok(&[
            "no_qn",
            "no_flag",
            "code_2005",
            "semicolon_in_group",
            "datatime_ms",
        ]),
    ),
    (Err("deviation"), Ok(&["mn_nonstandard"])), // 24 14-char MN with Flag=5
    (Err("deviation"), Ok(&["mn_nonstandard"])), // 25
    (Err("crc"), Err("crc")),                    // 26 wrong CRC
    (Err("crc"), Err("crc")),                    // 27 wrong CRC
    (
        Err("deviation"),
        Ok(&["mn_nonstandard", "code_nonstandard"]),
    ), // 28 a2106
    (
        Err("deviation"),
        Ok(&["mn_nonstandard", "code_nonstandard"]),
    ), // 29 a211
    // 30 PNO/PNUM without Flag, PNO first
    (
        Err("deviation"),
        Ok(&["no_flag", "field_order", "split_flag_mismatch"]),
    ),
    (Err("crc"), Err("crc")), // 31 stale CRC
    (Err("deviation"), Ok(&["pw_nonstandard", "mn_nonstandard"])), // 32 24-hex PW
    // 33 ST=101, no tail
    (
        Err("tail"),
        Ok(&[
            "no_tail",
            "no_qn",
            "no_flag",
            "st_nonstandard",
            "code_nonstandard",
        ]),
    ),
    // 34 no tail, 3-digit codes outside the 2005 map
    (
        Err("tail"),
        Ok(&["no_tail", "no_qn", "no_flag", "code_nonstandard"]),
    ),
    // 35 1623 bytes, Modbus CRC low byte first, no tail
    (
        Err("too_long"),
        Ok(&[
            "crc_modbus",
            "no_tail",
            "oversize",
            "no_flag",
            "code_nonstandard",
        ]),
    ),
    // 36 Modbus CRC, 7-char MN
    (
        Err("crc"),
        Ok(&[
            "crc_modbus",
            "no_tail",
            "no_qn",
            "no_flag",
            "mn_nonstandard",
            "code_nonstandard",
        ]),
    ),
    // 37 1025 bytes, Modbus CRC
    (
        Err("too_long"),
        Ok(&[
            "crc_modbus",
            "no_tail",
            "oversize",
            "no_qn",
            "no_flag",
            "code_nonstandard",
        ]),
    ),
    (Err("deviation"), Ok(&["mn_nonstandard"])), // 38 Flag=8 in 2021
    // 39 lowercase MN, ms DataTime, ele01 codes
    (
        Err("deviation"),
        Ok(&[
            "no_qn",
            "no_flag",
            "mn_nonstandard",
            "datatime_ms",
            "code_nonstandard",
        ]),
    ),
    (Err("deviation"), Ok(&["mn_nonstandard"])), // 40
    (STD, STD),                                  // 41
    (STD, STD),                                  // 42
    (STD, STD),                                  // 43
    (STD, STD),                                  // 44
    (Err("tail"), Ok(&["no_tail", "mn_nonstandard", "bare_flag"])), // 45 bare Flag=N
    (Err("truncated"), Err("truncated")),        // 46 missing closing "&&", at EOF
    (Err("length"), Err("crc")),                 // 47 wrong length and a CRC of nothing
    (STD, STD),                                  // 48 2025 3022
    (STD, STD),                                  // 49 2025 3024
    (STD, STD),                                  // 50 2025 2062
    (STD, STD),                                  // 51 2025 ST=44
    (STD, STD),                                  // 52 2025 3011 CalibrationType
];

fn samples() -> Vec<serde_json::Value> {
    CORPUS
        .lines()
        .map(|l| serde_json::from_str(l).expect("corpus line is JSON"))
        .collect()
}

fn one(mode: Mode, packet: &[u8]) -> Result<Frame, FrameError> {
    let mut r = decode_all(mode, packet);
    assert_eq!(r.len(), 1, "one frame candidate expected, got {r:?}");
    r.pop().unwrap()
}

fn check(i: usize, mode: Mode, r: &Result<Frame, FrameError>, want: &Verdict) {
    match (r, want) {
        (Ok(f), Ok(devs)) => {
            let got: Vec<&str> = f.deviations.iter().map(Deviation::as_str).collect();
            assert_eq!(&got, devs, "sample {i} {mode:?}");
        }
        (Err(e), Err(kind)) => assert_eq!(e.kind.as_str(), *kind, "sample {i} {mode:?}: {e}"),
        _ => panic!("sample {i} {mode:?}: got {r:?}, want {want:?}"),
    }
}

/// HJ 212-2017 §6.3 Table 2 (framing, CRC App. A), Table 3 (header), Table 4 (CP):
/// every corpus packet gets its verdict in both modes.
#[test]
fn corpus_verdicts() {
    let s = samples();
    assert_eq!(s.len(), VERDICTS.len());
    for (i, (v, (strict, lenient))) in s.iter().zip(VERDICTS.iter()).enumerate() {
        let pk = v["packet"].as_str().unwrap().as_bytes();
        check(i, Mode::Strict, &one(Mode::Strict, pk), strict);
        check(i, Mode::Lenient, &one(Mode::Lenient, pk), lenient);
        // Wherever the HJ CRC is right, the corpus and the decoder agree.
        if v["crc_ok"].as_bool() == Some(true) && strict.is_ok() {
            assert!(one(Mode::Strict, pk).is_ok(), "sample {i}");
        }
    }
}

/// The corpus `expected` fields (from peer tests and the Std examples).
#[test]
fn corpus_expected_fields() {
    for (i, v) in samples().iter().enumerate() {
        let exp = &v["expected"];
        if exp.is_null() {
            continue;
        }
        let pk = v["packet"].as_str().unwrap().as_bytes();
        // sample 18 has a wrong CRC: check the fields on the segment itself
        let packet = match one(Mode::Lenient, pk) {
            Ok(f) => f.packet,
            Err(_) => {
                let len: usize = std::str::from_utf8(&pk[2..6]).unwrap().parse().unwrap();
                hj212::Packet::parse(&pk[6..6 + len]).unwrap()
            }
        };
        let field = |k: &str| exp.get(k).and_then(|x| x.as_str());
        if let Some(x) = field("QN") {
            assert_eq!(packet.qn(), Some(x), "{i}");
        }
        for (k, got) in [
            ("ST", packet.st()),
            ("CN", packet.cn()),
            ("PW", packet.pw()),
            ("MN", packet.mn()),
        ] {
            if let Some(x) = field(k) {
                assert_eq!(got, x, "sample {i} {k}");
            }
        }
        if let Some(x) = field("Flag") {
            assert_eq!(packet.flag().map(|f| f.to_string()).as_deref(), Some(x));
        }
        if let Some(x) = exp.get("len").and_then(|x| x.as_u64()) {
            assert_eq!(packet.segment().len() as u64, x);
        }
        if let Some(x) = field("crc") {
            assert_eq!(
                format!("{:04X}", hj212::crc16(packet.segment().as_bytes())),
                x
            );
        }
        if let Some(x) = field("CP_raw") {
            assert_eq!(packet.cp_text(), x, "sample {i}");
        }
        if let Some(cp) = exp.get("CP").and_then(|x| x.as_object()) {
            for (k, val) in cp {
                assert_eq!(packet.get(k), val.as_str(), "sample {i} CP {k}");
            }
        }
    }
}

/// The whole corpus glued into one stream (what a TCP link delivers): every verdict is the
/// same as packet by packet, in order, at the right offsets.
#[test]
fn corpus_as_one_stream() {
    let s = samples();
    let mut stream = Vec::new();
    let mut offsets = Vec::new();
    for v in &s {
        offsets.push(stream.len() as u64);
        stream.extend_from_slice(v["packet"].as_str().unwrap().as_bytes());
    }
    let got = decode_all(Mode::Lenient, &stream);
    let ok: Vec<u64> = got
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|f| f.offset))
        .collect();
    let want: Vec<u64> = VERDICTS
        .iter()
        .zip(&offsets)
        .filter(|((_, l), _)| l.is_ok())
        .map(|(_, o)| *o)
        .collect();
    assert_eq!(ok, want);
}

/// HJ 212-2017 §6.3: the length counts bytes of UTF-8 text (Std Table C.40 log, 152 bytes,
/// CRC 9741); the Info text is returned whole.
#[test]
fn utf8_info_packet() {
    let s = samples();
    let pk = s[13]["packet"].as_str().unwrap();
    let f = one(Mode::Strict, pk.as_bytes()).unwrap();
    assert_eq!(f.packet.segment().len(), 152);
    let info = f.packet.items().find(|i| i.key() == "i11001-Info").unwrap();
    assert_eq!(info.info_text(), Some("清洗管路"));
    assert_eq!(hj212::encode(&f.packet), pk.as_bytes());
}

/// HJ 212-2025 (hj212.md §1.14): Flag version 2 and the 2025 command codes.
#[test]
fn v2025_packets() {
    let s = samples();
    for v in &s[48..=52] {
        let pk = v["packet"].as_str().unwrap();
        let f = one(Mode::Strict, pk.as_bytes()).unwrap();
        assert_eq!(f.packet.version(), Version::V2025);
        assert!(f.packet.ack_requested());
        assert_eq!(hj212::encode(&f.packet), pk.as_bytes());
    }
    let f = one(Mode::Strict, s[48]["packet"].as_str().unwrap().as_bytes()).unwrap();
    let cmd = f.packet.command().unwrap();
    assert_eq!((cmd.code, cmd.since), (3022, Version::V2025));
}

/// Std App. B: 2005 codes normalised; the raw code stays available.
#[test]
fn code_2005_normalised() {
    let s = samples();
    let f = one(Mode::Lenient, s[17]["packet"].as_str().unwrap().as_bytes()).unwrap();
    let v: Vec<(&str, &str, &str)> = f
        .packet
        .values()
        .map(|v| (v.code(), v.raw_code(), v.text()))
        .collect();
    assert_eq!(
        v,
        vec![
            ("w00000", "B01", "36.91"),
            ("w01018", "011", "231.0"),
            ("w21003", "060", "1.803")
        ]
    );
    // ';' instead of ',' (sample 23): the flag is still found for its value
    let f = one(Mode::Lenient, s[23]["packet"].as_str().unwrap().as_bytes()).unwrap();
    let cod = f.packet.values().find(|v| v.code() == "w01018").unwrap();
    assert_eq!(cod.flag(), Some("N"));
}
