//! The encoder (Std §6.3 Table 2): `##` + 4-digit byte length + segment + uppercase CRC + CR LF.

use std::fmt;

use crate::crc::{crc16, crc_hex};
use crate::decoder::MAX_SEGMENT;
use crate::packet::Packet;

/// The packet's data segment is longer than a 4-digit length field can say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError {
    pub segment_len: usize,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "data segment of {} bytes does not fit a 4-digit length field",
            self.segment_len
        )
    }
}

impl std::error::Error for EncodeError {}

/// Frame a packet; fails only if the data segment is over 9999 bytes (merged split sets can be).
pub fn try_encode(packet: &Packet) -> Result<Vec<u8>, EncodeError> {
    let seg = packet.segment().as_bytes();
    if seg.len() > MAX_SEGMENT {
        return Err(EncodeError {
            segment_len: seg.len(),
        });
    }
    let mut out = Vec::with_capacity(seg.len() + 12);
    encode_segment_into(seg, &mut out);
    Ok(out)
}

/// Frame a packet. Panics if its data segment is over 9999 bytes, which only a merged split
/// set can be; use [`try_encode`] for those.
pub fn encode(packet: &Packet) -> Vec<u8> {
    try_encode(packet).expect("data segment over 9999 bytes")
}

/// Append the frame of a raw data segment (≤ 9999 bytes) to `out`.
pub fn encode_segment_into(seg: &[u8], out: &mut Vec<u8>) {
    assert!(seg.len() <= MAX_SEGMENT, "data segment over 9999 bytes");
    let n = seg.len();
    out.extend_from_slice(b"##");
    out.extend_from_slice(&[
        b'0' + (n / 1000) as u8,
        b'0' + (n / 100 % 10) as u8,
        b'0' + (n / 10 % 10) as u8,
        b'0' + (n % 10) as u8,
    ]);
    out.extend_from_slice(seg);
    out.extend_from_slice(&crc_hex(crc16(seg)));
    out.extend_from_slice(b"\r\n");
}

/// A calendar time given by the caller (the crate has no clock), for QN and time fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timestamp {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub millis: u16,
}

impl Timestamp {
    pub fn new(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        millis: u16,
    ) -> Self {
        Timestamp {
            year,
            month,
            day,
            hour,
            minute,
            second,
            millis,
        }
    }
    /// `YYYYMMDDhhmmsszzz`: a QN (Std Table 3).
    pub fn qn(&self) -> String {
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}{:03}",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millis
        )
    }
    /// `YYYYMMDDhhmmss`: a DataTime / SystemTime / BeginTime / EndTime value (N14).
    pub fn n14(&self) -> String {
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

impl From<(u16, u8, u8, u8, u8, u8, u16)> for Timestamp {
    fn from(t: (u16, u8, u8, u8, u8, u8, u16)) -> Self {
        Timestamp::new(t.0, t.1, t.2, t.3, t.4, t.5, t.6)
    }
}

/// A QN generator: the caller's time as `YYYYMMDDhhmmsszzz`, made unique per generator by
/// bumping the milliseconds when two requests fall in the same millisecond or time goes back.
#[derive(Debug, Clone, Default)]
pub struct QnGenerator {
    last: Option<String>,
}

impl QnGenerator {
    pub fn new() -> Self {
        Self::default()
    }
    /// The next QN for the time `now`.
    pub fn next(&mut self, now: impl Into<Timestamp>) -> String {
        let mut qn = now.into().qn();
        if let Some(last) = &self.last {
            if qn.len() == 17 && last.len() == 17 && qn.as_str() <= last.as_str() {
                // same or earlier: last + 1 ms (digits only, so increment as a number)
                let v: u64 = last.parse().unwrap_or(0) + 1;
                qn = format!("{v:017}");
            }
        }
        self.last = Some(qn.clone());
        qn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qn_format() {
        let t = Timestamp::new(2016, 8, 1, 8, 58, 57, 223);
        assert_eq!(t.qn(), "20160801085857223");
        assert_eq!(t.n14(), "20160801085857");
        let mut g = QnGenerator::new();
        assert_eq!(g.next(t), "20160801085857223");
        assert_eq!(g.next(t), "20160801085857224");
        assert_eq!(g.next((2016, 8, 1, 8, 58, 57, 100)), "20160801085857225");
    }
}
