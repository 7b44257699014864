//! The stream decoder (Std §6.3 Table 2 framing: `##` + 4-digit length + data segment +
//! 4-hex CRC + CR LF), sans-IO: feed it the bytes of one TCP stream in any chunks.

use std::fmt;

use crate::crc::{crc16, crc16_modbus, parse_crc_hex};
use crate::deviation::{Deviation, DeviationSet};
use crate::packet::Packet;

/// Largest data segment the standard allows (Std §6.3 Table 2).
pub const STD_MAX_SEGMENT: usize = 1024;
/// Largest data segment a 4-digit length field can declare.
pub const MAX_SEGMENT: usize = 9999;
/// Largest frame: `##` + 4 + 9999 + 4 + CR LF.
pub const MAX_FRAME: usize = 2 + 4 + MAX_SEGMENT + 4 + 2;

/// Strict: the standard's letter; lenient: accept and report known deviations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Strict,
    Lenient,
}

/// Decoder settings.
#[derive(Debug, Clone)]
pub struct DecoderConfig {
    pub mode: Mode,
    /// Longest data segment accepted (1024 strict default, 9999 lenient default; capped at 9999).
    pub max_segment: usize,
}

impl DecoderConfig {
    pub fn strict() -> Self {
        DecoderConfig {
            mode: Mode::Strict,
            max_segment: STD_MAX_SEGMENT,
        }
    }
    pub fn lenient() -> Self {
        DecoderConfig {
            mode: Mode::Lenient,
            max_segment: MAX_SEGMENT,
        }
    }
    pub fn new(mode: Mode) -> Self {
        match mode {
            Mode::Strict => Self::strict(),
            Mode::Lenient => Self::lenient(),
        }
    }
}

impl Default for DecoderConfig {
    fn default() -> Self {
        Self::lenient()
    }
}

/// One accepted frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Stream offset of the leading `##`.
    pub offset: u64,
    /// The whole frame bytes, `##` to the tail (or to the CRC when the tail is missing).
    pub raw: Vec<u8>,
    pub packet: Packet,
    /// Every deviation, in bit order (empty in strict mode).
    pub deviations: Vec<Deviation>,
}

impl Frame {
    /// The deviations as a bit set, for cheap policy checks.
    pub fn deviation_set(&self) -> DeviationSet {
        self.deviations.iter().collect()
    }
}

/// Why a frame candidate was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// CRC matches neither the HJ 212 CRC nor (lenient) CRC-16/MODBUS; or (strict) it is MODBUS.
    Crc,
    /// The length field does not fit the frame (no `&&` + CRC where it points).
    Length,
    /// Bad or missing CR LF tail (strict).
    Tail,
    /// Declared data segment longer than the configured maximum.
    TooLong,
    /// The data segment breaks the grammar (Std Tables 3 and 4).
    Syntax,
    /// The stream ended inside a frame.
    Truncated,
    /// Strict mode: a field-level deviation (named in the detail).
    Deviation,
}

impl ErrorKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::Crc => "crc",
            ErrorKind::Length => "length",
            ErrorKind::Tail => "tail",
            ErrorKind::TooLong => "too_long",
            ErrorKind::Syntax => "syntax",
            ErrorKind::Truncated => "truncated",
            ErrorKind::Deviation => "deviation",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rejected frame candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// Stream offset of the `##` of the candidate.
    pub offset: u64,
    pub kind: ErrorKind,
    /// What and where, in words.
    pub detail: String,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at offset {}: {}",
            self.kind, self.offset, self.detail
        )
    }
}

impl std::error::Error for FrameError {}

/// How far we may look for an end: `drain` = no more bytes will come for now.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Drain {
    No,
    /// Idle: a frame that lacks only its tail may be emitted (lenient), nothing else.
    Idle,
    /// End of stream: everything left is emitted or reported.
    Eof,
}

/// Streaming decoder for one byte stream. Memory is bounded by one maximal frame
/// ([`MAX_FRAME`]) plus the last chunk fed.
#[derive(Debug, Clone)]
pub struct Decoder {
    cfg: DecoderConfig,
    buf: Vec<u8>,
    /// Consumed prefix of `buf`.
    start: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// Lenient early search: (stream offset of the candidate, stream offset up to which no
    /// next candidate was found), so byte-by-byte feeding does not rescan.
    scan_hint: (u64, u64),
}

enum Step {
    Emit(Result<Frame, FrameError>),
    NeedMore,
    /// `start` moved past a non-candidate; look again.
    Skip,
}

#[inline]
fn is_hex4(b: &[u8]) -> bool {
    b.len() == 4 && b.iter().all(u8::is_ascii_hexdigit)
}

impl Decoder {
    pub fn new(mut cfg: DecoderConfig) -> Self {
        cfg.max_segment = cfg.max_segment.min(MAX_SEGMENT);
        Decoder {
            cfg,
            buf: Vec::with_capacity(4096),
            start: 0,
            base: 0,
            scan_hint: (u64::MAX, 0),
        }
    }

    pub fn config(&self) -> &DecoderConfig {
        &self.cfg
    }

    /// Append bytes of the stream.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            if self.start == self.buf.len() {
                self.buf.clear();
            } else {
                self.buf.drain(..self.start);
            }
            self.base += self.start as u64;
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held (an incomplete frame, or a trailing `#`).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Stream offset of the next unconsumed byte.
    pub fn position(&self) -> u64 {
        self.base + self.start as u64
    }

    /// The next frame or rejected candidate in stream order; `None` = need more bytes.
    pub fn next_frame(&mut self) -> Option<Result<Frame, FrameError>> {
        self.step(Drain::No)
    }

    /// At end of stream: like `next_frame`, but a frame lacking only its tail is emitted
    /// (lenient) or rejected (strict), and an incomplete leftover is reported as `truncated`.
    /// Call until it returns `None`; then the buffer is empty.
    pub fn finish(&mut self) -> Option<Result<Frame, FrameError>> {
        self.step(Drain::Eof)
    }

    /// For a link that has been idle a while: in lenient mode emit a buffered frame that is
    /// complete except for its tail (devices that never send CR LF); nothing else changes.
    pub fn flush_idle(&mut self) -> Option<Result<Frame, FrameError>> {
        self.step(Drain::Idle)
    }

    fn err(&self, p: usize, kind: ErrorKind, detail: String) -> FrameError {
        FrameError {
            offset: self.base + p as u64,
            kind,
            detail,
        }
    }

    fn step(&mut self, drain: Drain) -> Option<Result<Frame, FrameError>> {
        loop {
            // Find the next "##".
            let p = match self.find_start() {
                Some(p) => p,
                None => {
                    // discard garbage, keep a trailing '#' (may start "##")
                    let n = self.buf.len();
                    self.start = if drain != Drain::Eof && n > self.start && self.buf[n - 1] == b'#'
                    {
                        n - 1
                    } else {
                        n
                    };
                    return None;
                }
            };
            self.start = p;
            match self.try_frame(p, drain) {
                Step::Emit(r) => return Some(r),
                Step::Skip => continue,
                Step::NeedMore => {
                    if drain == Drain::Eof {
                        // Incomplete candidate at end of stream.
                        let have = self.buf.len() - p;
                        let r =
                            if have >= 6 && self.buf[p + 2..p + 6].iter().all(u8::is_ascii_digit) {
                                Some(self.err(
                                    p,
                                    ErrorKind::Truncated,
                                    format!("stream ended {have} bytes into a frame"),
                                ))
                            } else {
                                None
                            };
                        self.start = p + if have >= 6 { 2 } else { have.min(2) };
                        match r {
                            Some(e) => return Some(Err(e)),
                            None => continue,
                        }
                    }
                    return None;
                }
            }
        }
    }

    fn find_start(&self) -> Option<usize> {
        let mut i = self.start;
        let b = &self.buf;
        while let Some(k) = memchr::memchr(b'#', &b[i..]) {
            let j = i + k;
            match b.get(j + 1) {
                Some(b'#') => return Some(j),
                Some(_) => i = j + 2,
                None => return None,
            }
        }
        None
    }

    /// Try to decode the candidate at `p` ("##" there).
    fn try_frame(&mut self, p: usize, drain: Drain) -> Step {
        let b = &self.buf;
        if b.len() < p + 6 {
            // A "##" that cannot be a frame start if a non-digit already follows.
            if b[p + 2..].iter().all(u8::is_ascii_digit) {
                return Step::NeedMore;
            }
            self.start = p + 1;
            return Step::Skip;
        }
        let lf = &b[p + 2..p + 6];
        if !lf.iter().all(u8::is_ascii_digit) {
            // Not a frame candidate ("##" inside garbage or "###"): skip one byte silently.
            self.start = p + 1;
            return Step::Skip;
        }
        let len = lf.iter().fold(0usize, |a, &c| a * 10 + (c - b'0') as usize);
        if len > self.cfg.max_segment {
            self.start = p + 2;
            return Step::Emit(Err(self.err(
                p,
                ErrorKind::TooLong,
                format!(
                    "length field {len} is over the maximum data segment of {} bytes",
                    self.cfg.max_segment
                ),
            )));
        }
        let seg_start = p + 6;
        let seg_end = seg_start + len;
        let crc_end = seg_end + 4;
        let lenient = self.cfg.mode == Mode::Lenient;
        if b.len() < crc_end {
            if lenient {
                // At the end of the stream, or if a later frame has begun already, look for
                // this frame's end by its shape instead of waiting for the declared length.
                return self.search_end(p, drain, drain != Drain::Eof);
            }
            return Step::NeedMore;
        }
        let plausible = is_hex4(&b[seg_end..crc_end]) && b[seg_start..seg_end].ends_with(b"&&");
        if !plausible {
            if lenient {
                return self.search_end(p, drain, false);
            }
            self.start = p + 2;
            let what = String::from_utf8_lossy(&b[seg_end..crc_end]).into_owned();
            return Step::Emit(Err(self.err(
                p,
                ErrorKind::Length,
                format!(
                    "length field says {len} bytes, but byte {} of the frame is not the end of \
                     a data segment ('&&' then 4 hex CRC digits; found {what:?})",
                    6 + len
                ),
            )));
        }
        // Tail.
        let mut devs = DeviationSet::EMPTY;
        let end = match b.get(crc_end) {
            Some(b'\r') => match b.get(crc_end + 1) {
                Some(b'\n') => crc_end + 2,
                Some(_) => {
                    devs.insert(Deviation::NoTail);
                    crc_end
                }
                None if drain == Drain::Eof => {
                    devs.insert(Deviation::NoTail);
                    crc_end
                }
                None => return Step::NeedMore,
            },
            Some(b'\n') => {
                devs.insert(Deviation::LfOnly);
                crc_end + 1
            }
            Some(_) => {
                devs.insert(Deviation::NoTail);
                crc_end
            }
            None if drain == Drain::Eof || (drain == Drain::Idle && lenient) => {
                devs.insert(Deviation::NoTail);
                crc_end
            }
            None => return Step::NeedMore,
        };
        Step::Emit(self.complete(p, seg_start, seg_end, end, devs))
    }

    /// Lenient: the length field is wrong; look for `&&` + 4 hex + (CR LF | LF) (or + end of
    /// stream) before the next frame candidate. `early`: the declared length has not arrived
    /// yet; only accept an end that is directly followed by the next frame candidate, and
    /// otherwise keep waiting.
    fn search_end(&mut self, p: usize, drain: Drain, early: bool) -> Step {
        let b = &self.buf;
        let seg_start = p + 6;
        let limit = b.len().min(seg_start + self.cfg.max_segment + 6);
        // Stop at the next plausible frame start.
        let mut stop = limit;
        let mut i = p + 2;
        let p_abs = self.base + p as u64;
        if early && self.scan_hint.0 == p_abs {
            i = i
                .max(self.scan_hint.1.saturating_sub(self.base) as usize)
                .min(limit);
        }
        while let Some(k) = memchr::memmem::find(&b[i..limit], b"##") {
            let j = i + k;
            if j + 6 <= b.len() && b[j + 2..j + 6].iter().all(u8::is_ascii_digit) {
                stop = j;
                break;
            }
            i = j + 1;
        }
        if early && stop == limit {
            let resume = limit.saturating_sub(6).max(p + 2);
            self.scan_hint = (p_abs, self.base + resume as u64);
            return Step::NeedMore;
        }
        let mut i = seg_start;
        while i + 1 < stop {
            let Some(k) = memchr::memmem::find(&b[i..stop], b"&&") else {
                break;
            };
            let a = i + k;
            let crc = a + 2..a + 6;
            if a + 6 <= stop && is_hex4(&b[crc.clone()]) {
                let seg_end = a + 2;
                let mut devs = DeviationSet::EMPTY;
                devs.insert(Deviation::LengthMismatch);
                let tail = match (b.get(a + 6), b.get(a + 7)) {
                    (Some(b'\r'), Some(b'\n')) => Some(a + 8),
                    (Some(b'\n'), _) => {
                        devs.insert(Deviation::LfOnly);
                        Some(a + 7)
                    }
                    (None, _) if drain == Drain::Eof => {
                        devs.insert(Deviation::NoTail);
                        Some(a + 6)
                    }
                    _ => None,
                };
                if let Some(end) = tail {
                    let next_ok = !early
                        || (end + 6 <= b.len()
                            && &b[end..end + 2] == b"##"
                            && b[end + 2..end + 6].iter().all(u8::is_ascii_digit));
                    if next_ok && seg_end - seg_start <= self.cfg.max_segment {
                        return Step::Emit(self.complete(p, seg_start, seg_end, end, devs));
                    }
                }
            }
            i = a + 1;
        }
        if early {
            return Step::NeedMore;
        }
        let declared = String::from_utf8_lossy(&b[p + 2..p + 6]).into_owned();
        let declared_end = seg_start + (declared.parse::<usize>().unwrap_or(0)) + 4;
        if drain == Drain::Eof && stop == limit && b.len() < declared_end {
            self.start = p + 2;
            let have = b.len() - p;
            return Step::Emit(Err(self.err(
                p,
                ErrorKind::Truncated,
                format!(
                    "stream ended {have} bytes into a frame whose length field says {declared},                      and no '&&' + CRC before the end"
                ),
            )));
        }
        if stop < limit || limit == seg_start + self.cfg.max_segment + 6 || drain == Drain::Eof {
            self.start = p + 2;
            let why = if stop < limit {
                "before the next frame"
            } else if drain == Drain::Eof {
                "before the end of the stream"
            } else {
                "within the maximum frame size"
            };
            return Step::Emit(Err(self.err(
                p,
                ErrorKind::Length,
                format!(
                    "length field {declared} does not point at the end of the data segment, and \
                     no '&&' + CRC + tail was found {why}"
                ),
            )));
        }
        Step::NeedMore
    }

    /// Check the CRC, parse the segment, apply the mode; consume the frame or skip its "##".
    fn complete(
        &mut self,
        p: usize,
        seg_start: usize,
        seg_end: usize,
        end: usize,
        mut devs: DeviationSet,
    ) -> Result<Frame, FrameError> {
        let b = &self.buf;
        let seg = &b[seg_start..seg_end];
        let crc_txt = &b[seg_end..seg_end + 4];
        let given = parse_crc_hex(crc_txt).unwrap_or(0);
        let calc = crc16(seg);
        if given != calc {
            let m = crc16_modbus(seg);
            if given == m || given == m.swap_bytes() {
                devs.insert(Deviation::CrcModbus);
            } else {
                self.start = p + 2;
                let txt = String::from_utf8_lossy(crc_txt).into_owned();
                let mut detail = format!(
                    "CRC field {txt} at byte {} does not match the data segment's HJ 212 CRC {calc:04X}",
                    seg_end - p
                );
                if devs.contains(Deviation::LengthMismatch) {
                    detail.push_str(&format!(
                        " (length field {}, data segment found by its end is {} bytes)",
                        String::from_utf8_lossy(&b[p + 2..p + 6]),
                        seg.len()
                    ));
                }
                return Err(self.err(p, ErrorKind::Crc, detail));
            }
        }
        if seg.len() > STD_MAX_SEGMENT {
            devs.insert(Deviation::Oversize);
        }
        let packet = match Packet::parse(seg) {
            Ok(pk) => pk,
            Err(e) => {
                self.start = p + 2;
                return Err(self.err(
                    p,
                    ErrorKind::Syntax,
                    format!("{} at data segment byte {}", e.detail, e.position),
                ));
            }
        };
        let all = devs.union(packet.deviations());
        if self.cfg.mode == Mode::Strict && !all.is_empty() {
            self.start = p + 2;
            let first = all.iter().next().expect("non-empty");
            let (kind, what) = match first {
                Deviation::CrcModbus => (
                    ErrorKind::Crc,
                    format!("CRC field is CRC-16/MODBUS, not the HJ 212 CRC {calc:04X}"),
                ),
                Deviation::LfOnly => (ErrorKind::Tail, "frame ends with LF, not CR LF".into()),
                Deviation::NoTail => (ErrorKind::Tail, "no CR LF after the CRC".into()),
                Deviation::Oversize => (
                    ErrorKind::TooLong,
                    format!("data segment of {} bytes is over 1024", seg.len()),
                ),
                Deviation::LengthMismatch => (ErrorKind::Length, "length mismatch".into()),
                d => (ErrorKind::Deviation, format!("non-standard packet ({d})")),
            };
            let names: Vec<&str> = all.iter().map(|d| d.as_str()).collect();
            return Err(self.err(p, kind, format!("{what}; deviations: {}", names.join(","))));
        }
        let raw = b[p..end].to_vec();
        self.start = end;
        Ok(Frame {
            offset: self.base + p as u64,
            raw,
            packet,
            deviations: if all.is_empty() {
                Vec::new()
            } else {
                all.iter().collect()
            },
        })
    }
}

/// Decode a whole byte stream at once (convenience for tests and tools).
pub fn decode_all(mode: Mode, bytes: &[u8]) -> Vec<Result<Frame, FrameError>> {
    let mut d = Decoder::new(DecoderConfig::new(mode));
    d.feed(bytes);
    let mut out = Vec::new();
    while let Some(r) = d.next_frame() {
        out.push(r);
    }
    while let Some(r) = d.finish() {
        out.push(r);
    }
    out
}
