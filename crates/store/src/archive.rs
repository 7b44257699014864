//! What every backend does the same way with a committed batch: the raw archive chunk format
//! and the per-batch device-state aggregation. Shared so that SQLite and PostgreSQL cannot
//! drift apart.

use std::collections::BTreeMap;

use crate::{ArchivedPacket, IntakePacket, Result, StoreError};

/// Encodes a batch's frames as one LZ4-compressed archive chunk.
///
/// Record layout before compression (little endian): received_ms i64, then four
/// length-prefixed byte strings (u32 length): mn, cn, peer, raw frame.
pub(crate) fn encode_archive(batch: &[IntakePacket]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(batch.iter().map(|p| p.raw.len() + 64).sum());
    for p in batch {
        buf.extend_from_slice(&p.received_ms.to_le_bytes());
        for part in [p.mn.as_bytes(), p.cn.as_bytes(), p.peer.as_bytes(), &p.raw] {
            buf.extend_from_slice(&(part.len() as u32).to_le_bytes());
            buf.extend_from_slice(part);
        }
    }
    lz4_flex::compress_prepend_size(&buf)
}

/// Decodes an archive chunk written by [`encode_archive`].
pub(crate) fn decode_archive(data: &[u8]) -> Result<Vec<ArchivedPacket>> {
    let bad = |what: &str| StoreError::Invalid(format!("archive chunk is corrupt: {what}"));
    let buf = lz4_flex::decompress_size_prepended(data).map_err(|e| bad(&e.to_string()))?;
    let mut out = Vec::new();
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Result<&[u8]> {
        let end = at
            .checked_add(n)
            .filter(|e| *e <= buf.len())
            .ok_or_else(|| bad("truncated"))?;
        let s = &buf[*at..end];
        *at = end;
        Ok(s)
    };
    while at < buf.len() {
        let received_ms = i64::from_le_bytes(take(&mut at, 8)?.try_into().expect("8 bytes"));
        let mut parts = [String::new(), String::new(), String::new(), String::new()];
        for part in parts.iter_mut() {
            let n = u32::from_le_bytes(take(&mut at, 4)?.try_into().expect("4 bytes")) as usize;
            *part = String::from_utf8_lossy(take(&mut at, n)?).into_owned();
        }
        let [mn, cn, peer, raw] = parts;
        out.push(ArchivedPacket {
            received_ms,
            mn,
            cn,
            peer,
            raw,
        });
    }
    Ok(out)
}

/// The archive chunk's bounds: (first received_ms, last received_ms).
pub(crate) fn archive_bounds(batch: &[IntakePacket]) -> (i64, i64) {
    let first = batch.iter().map(|p| p.received_ms).min().unwrap_or(0);
    let last = batch.iter().map(|p| p.received_ms).max().unwrap_or(0);
    (first, last)
}

/// What one batch adds to a device's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StateDelta<'a> {
    /// Newest received_ms in the batch.
    pub last_seen_ms: i64,
    /// Earliest value time (UTC s) in the batch; `None` for packets without values.
    pub first_time: Option<i64>,
    /// Peer and command code of the newest packet (the later one on a tie).
    pub peer: &'a str,
    pub last_cn: &'a str,
    pub packets: u64,
    pub values: u64,
}

/// Per-device state deltas (ordered by MN) and deviation counts (ordered by (MN, name)) of a
/// batch. Stored by adding counters and keeping the newest peer/command.
#[allow(clippy::type_complexity)]
pub(crate) fn aggregate_state(
    batch: &[IntakePacket],
) -> (BTreeMap<&str, StateDelta<'_>>, BTreeMap<(&str, &str), u64>) {
    let mut state: BTreeMap<&str, StateDelta<'_>> = BTreeMap::new();
    let mut deviations: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for p in batch {
        let e = state.entry(&p.mn).or_insert(StateDelta {
            last_seen_ms: 0,
            first_time: None,
            peer: "",
            last_cn: "",
            packets: 0,
            values: 0,
        });
        if p.received_ms >= e.last_seen_ms {
            e.last_seen_ms = p.received_ms;
            e.peer = &p.peer;
            e.last_cn = &p.cn;
        }
        e.packets += 1;
        e.values += p.values.len() as u64;
        if let Some(t) = p.values.iter().map(|v| v.time).min() {
            e.first_time = Some(e.first_time.map_or(t, |f| f.min(t)));
        }
        for d in &p.deviations {
            *deviations.entry((&p.mn, d)).or_default() += 1;
        }
    }
    (state, deviations)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(ms: i64, mn: &str, raw: &[u8]) -> IntakePacket {
        IntakePacket {
            received_ms: ms,
            mn: mn.into(),
            cn: "2061".into(),
            peer: format!("10.0.0.1:{ms}"),
            raw: raw.to_vec(),
            deviations: vec!["crc_modbus".into()],
            ..Default::default()
        }
    }

    #[test]
    fn archive_round_trip_and_corruption() {
        let batch = vec![packet(5, "MN1", b"##abc\r\n"), packet(7, "MN2", b"")];
        let data = encode_archive(&batch);
        let back = decode_archive(&data).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(
            (
                back[0].received_ms,
                back[0].mn.as_str(),
                back[0].raw.as_str()
            ),
            (5, "MN1", "##abc\r\n")
        );
        assert_eq!(
            (back[1].peer.as_str(), back[1].raw.as_str()),
            ("10.0.0.1:7", "")
        );
        assert_eq!(archive_bounds(&batch), (5, 7));
        // a chunk cut short says so instead of returning half a packet
        let mut raw = lz4_flex::decompress_size_prepended(&data).unwrap();
        raw.truncate(raw.len() - 1);
        let err = decode_archive(&lz4_flex::compress_prepend_size(&raw)).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        assert!(decode_archive(b"\x01").is_err());
    }

    #[test]
    fn state_keeps_the_newest_peer_and_adds_counters() {
        let a = packet(20, "MN1", b"");
        let b = packet(10, "MN1", b"");
        let mut c = packet(20, "MN1", b"");
        c.peer = "later on a tie".into();
        let batch = [a, b, c];
        let (state, devs) = aggregate_state(&batch);
        let s = state["MN1"];
        assert_eq!(
            (s.last_seen_ms, s.peer, s.packets),
            (20, "later on a tie", 3)
        );
        assert_eq!(devs[&("MN1", "crc_modbus")], 3);
    }
}
