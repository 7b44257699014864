//! Stream framing edge cases (HJ 212-2017 §6.3 Table 2: `##`, 4-digit length, CRC, CR LF;
//! "on failure skip and search again").

use hj212::{decode_all, Decoder, DecoderConfig, Deviation, Mode};

const GOOD: &str = "##0087QN=20160801085857223;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&3240\r\n";
const NO_CLOSE: &str = "##0121QN=20250131202809340;ST=39;CN=2051;PW=123456;MN=0507A010003242;Flag=4;CP=&&DataTime=20250131202809;a34001-Avg=92;Flag=N65C0";

fn kinds(mode: Mode, s: &str) -> Vec<String> {
    decode_all(mode, s.as_bytes())
        .iter()
        .map(|r| match r {
            Ok(f) => format!("ok@{}", f.offset),
            Err(e) => format!("{}@{}", e.kind.as_str(), e.offset),
        })
        .collect()
}

/// A frame without its closing `&&` (corpus 46) does not take the next good frame with it.
#[test]
fn bad_frame_then_good() {
    let s = format!("{NO_CLOSE}{GOOD}");
    let off = NO_CLOSE.len();
    assert_eq!(
        kinds(Mode::Strict, &s),
        vec!["length@0".to_string(), format!("ok@{off}")]
    );
    assert_eq!(
        kinds(Mode::Lenient, &s),
        vec!["length@0".to_string(), format!("ok@{off}")]
    );
}

/// A stray `#` (or `##` + non-digits) before a frame.
#[test]
fn hashes_before_frame() {
    for pre in ["#", "##", "###", "##x#", "##12"] {
        let s = format!("{pre}{GOOD}");
        let off = pre.len();
        assert_eq!(
            kinds(Mode::Strict, &s),
            vec![format!("ok@{off}")],
            "{pre:?}"
        );
    }
}

/// Lenient: a length field that is too large does not hold back the frames after it once
/// the frame's end and the next frame are in the buffer (`length_mismatch`).
#[test]
fn too_large_length_lenient() {
    let bad = GOOD.replacen("##0087", "##0900", 1);
    let s = format!("{bad}{GOOD}");
    let mut d = Decoder::new(DecoderConfig::lenient());
    d.feed(s.as_bytes());
    let f = d.next_frame().unwrap().unwrap();
    assert_eq!(f.deviations, vec![Deviation::LengthMismatch]);
    let g = d.next_frame().unwrap().unwrap();
    assert_eq!(g.offset as usize, bad.len());
    assert!(d.next_frame().is_none());
    // strict waits for the declared length and then rejects; the good frame still comes out
    assert_eq!(
        kinds(Mode::Strict, &s),
        vec!["truncated@0".to_string(), format!("ok@{}", bad.len())]
    );
}

/// Lenient: a too-small length field (corpus 47 style) is found by `&&` + CRC + CR LF.
#[test]
fn too_small_length_lenient() {
    let bad = GOOD.replacen("##0087", "##0050", 1);
    let r = decode_all(Mode::Lenient, bad.as_bytes());
    let f = r[0].as_ref().unwrap();
    assert_eq!(f.deviations, vec![Deviation::LengthMismatch]);
    assert_eq!(f.raw, bad.as_bytes());
    assert_eq!(kinds(Mode::Strict, &bad), vec!["length@0"]);
}

/// A frame without CR LF is emitted when the next frame starts, at `finish`, or on
/// `flush_idle` (lenient); never on its own while more bytes may come.
#[test]
fn no_tail_flush() {
    let bare = GOOD.trim_end();
    let mut d = Decoder::new(DecoderConfig::lenient());
    d.feed(bare.as_bytes());
    assert!(d.next_frame().is_none());
    let f = d.flush_idle().unwrap().unwrap();
    assert_eq!(f.deviations, vec![Deviation::NoTail]);
    let mut d = Decoder::new(DecoderConfig::strict());
    d.feed(bare.as_bytes());
    assert!(d.next_frame().is_none());
    assert!(d.flush_idle().is_none());
    assert_eq!(d.finish().unwrap().unwrap_err().kind.as_str(), "tail");
}

/// Byte-at-a-time feeding and garbage without `##` keep the buffer small.
#[test]
fn garbage_is_dropped() {
    let mut d = Decoder::new(DecoderConfig::lenient());
    for _ in 0..100_000 {
        d.feed(b"garbage ");
        assert!(d.next_frame().is_none());
    }
    assert_eq!(d.buffered(), 0);
    for b in GOOD.as_bytes() {
        d.feed(std::slice::from_ref(b));
        if let Some(r) = d.next_frame() {
            assert_eq!(r.unwrap().offset, 800_000);
        }
    }
    assert_eq!(d.buffered(), 0);
}
