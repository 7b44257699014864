//! Fuzz the stream decoder: the first bytes choose the chunk sizes, the rest is the stream.
//! Checks: no panic in either mode, `buffered()` stays within one maximal frame after
//! draining, every accepted frame re-encodes (strict: byte-exact when its CRC is uppercase),
//! and frame offsets are increasing.
#![no_main]

use hj212::{Decoder, DecoderConfig, Mode, MAX_FRAME};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let nsizes = (data[0] % 8) as usize + 1;
    if data.len() < 1 + nsizes {
        return;
    }
    let sizes: Vec<usize> = data[1..1 + nsizes]
        .iter()
        .map(|&b| b as usize + 1)
        .collect();
    let stream = &data[1 + nsizes..];
    for mode in [Mode::Strict, Mode::Lenient] {
        let mut dec = Decoder::new(DecoderConfig::new(mode));
        let mut pos = 0;
        let mut k = 0;
        let mut last_offset: Option<u64> = None;
        let mut check = |r: Result<hj212::Frame, hj212::FrameError>| {
            let off = match &r {
                Ok(f) => f.offset,
                Err(e) => e.offset,
            };
            if let Some(l) = last_offset {
                assert!(off > l, "offsets not increasing: {l} then {off}");
            }
            last_offset = Some(off);
            if let Ok(f) = r {
                let enc = hj212::try_encode(&f.packet).expect("≤ 9999");
                if mode == Mode::Strict {
                    let upper = !f.raw.iter().rev().take(6).any(u8::is_ascii_lowercase);
                    if upper {
                        assert_eq!(enc, f.raw);
                    }
                    let again = hj212::decode_all(Mode::Strict, &enc);
                    assert_eq!(again.len(), 1);
                    assert_eq!(again[0].as_ref().unwrap().packet, f.packet);
                }
            }
        };
        while pos < stream.len() {
            let n = sizes[k % sizes.len()].min(stream.len() - pos);
            k += 1;
            dec.feed(&stream[pos..pos + n]);
            pos += n;
            while let Some(r) = dec.next_frame() {
                check(r);
            }
            assert!(dec.buffered() <= MAX_FRAME, "buffered {}", dec.buffered());
        }
        while let Some(r) = dec.finish() {
            check(r);
        }
        assert_eq!(dec.buffered(), 0);
    }
});
