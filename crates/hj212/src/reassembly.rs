//! Split packets (Std Table 3 PNUM/PNO, App. C.47–C.50): every part has its own QN and the
//! same MN, CN, PNUM and DataTime. Parts are collected per (MN, CN, PNUM, DataTime) and merged
//! when all PNO 1..=PNUM are in. Sans-IO: the caller passes a monotonic `now` in ms.

use crate::packet::{Packet, PacketBuilder};

/// Limits of a [`Reassembler`].
#[derive(Debug, Clone)]
pub struct ReassemblerConfig {
    /// A set with no new part for this long is dropped (`expire`).
    pub timeout_ms: u64,
    /// Most incomplete sets held at once; the least recently active is evicted beyond this.
    pub max_sets: usize,
    /// Most data-segment bytes held over all incomplete sets.
    pub max_bytes: usize,
    /// Largest PNUM accepted.
    pub max_parts: u32,
}

impl Default for ReassemblerConfig {
    fn default() -> Self {
        ReassemblerConfig {
            timeout_ms: 120_000,
            max_sets: 64,
            max_bytes: 1 << 20,
            max_parts: 64,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    mn: String,
    cn: String,
    pnum: u32,
    data_time: Option<String>,
}

#[derive(Debug)]
struct Pending {
    key: Key,
    parts: Vec<Option<Packet>>,
    bytes: usize,
    last_ms: u64,
}

/// Why a set was given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// No part within `timeout_ms`.
    Timeout,
    /// Evicted to stay within `max_sets` / `max_bytes`.
    Evicted,
}

/// An incomplete set that was given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    pub mn: String,
    pub cn: String,
    pub pnum: u32,
    pub data_time: Option<String>,
    /// PNOs received.
    pub received: Vec<u32>,
    /// QN of the first part received.
    pub first_qn: Option<String>,
    pub reason: DropReason,
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    pub completed: u64,
    pub duplicates: u64,
    /// Parts with PNO 0, PNO > PNUM, PNUM over `max_parts` or a part that could not be merged.
    pub invalid: u64,
    pub expired: u64,
    pub evicted: u64,
}

/// Collects split parts and merges complete sets.
#[derive(Debug, Default)]
pub struct Reassembler {
    cfg: ReassemblerConfig,
    sets: Vec<Pending>,
    bytes: usize,
    dropped: Vec<Expired>,
    stats: ReassemblyStats,
}

impl Reassembler {
    pub fn new(cfg: ReassemblerConfig) -> Self {
        Reassembler {
            cfg,
            ..Default::default()
        }
    }

    pub fn stats(&self) -> ReassemblyStats {
        self.stats
    }
    /// Incomplete sets held.
    pub fn pending_sets(&self) -> usize {
        self.sets.len()
    }
    /// Data-segment bytes held.
    pub fn pending_bytes(&self) -> usize {
        self.bytes
    }

    /// Add a packet. A packet that is not split (no PNUM/PNO) is returned as is. A part is
    /// held until its set is complete, then the merged packet is returned: header of part 1
    /// (its QN, Flag with A and D cleared, no PNUM/PNO), CP = part 1's groups followed by the
    /// groups of parts 2.. except their `DataTime` group. A duplicate PNO is ignored.
    pub fn push(&mut self, packet: Packet, now_ms: u64) -> Option<Packet> {
        let (Some(pnum), Some(pno)) = (packet.pnum(), packet.pno()) else {
            return Some(packet);
        };
        if pno == 0 || pno > pnum || pnum > self.cfg.max_parts {
            self.stats.invalid += 1;
            return None;
        }
        if pnum == 1 {
            self.stats.completed += 1;
            return merge(&[packet]).or_else(|| {
                self.stats.invalid += 1;
                None
            });
        }
        let key = Key {
            mn: packet.mn().to_owned(),
            cn: packet.cn().to_owned(),
            pnum,
            data_time: packet.data_time().map(str::to_owned),
        };
        let idx = match self.sets.iter().position(|s| s.key == key) {
            Some(i) => i,
            None => {
                self.sets.push(Pending {
                    key,
                    parts: vec![None; pnum as usize],
                    bytes: 0,
                    last_ms: now_ms,
                });
                self.sets.len() - 1
            }
        };
        let set = &mut self.sets[idx];
        let slot = &mut set.parts[pno as usize - 1];
        if slot.is_some() {
            self.stats.duplicates += 1;
            set.last_ms = now_ms;
            return None;
        }
        let len = packet.segment().len();
        *slot = Some(packet);
        set.bytes += len;
        set.last_ms = now_ms;
        self.bytes += len;
        if set.parts.iter().all(Option::is_some) {
            let set = self.sets.swap_remove(idx);
            self.bytes -= set.bytes;
            let parts: Vec<Packet> = set.parts.into_iter().flatten().collect();
            return match merge(&parts) {
                Some(p) => {
                    self.stats.completed += 1;
                    Some(p)
                }
                None => {
                    self.stats.invalid += 1;
                    None
                }
            };
        }
        self.enforce_bounds(idx);
        None
    }

    /// Evict least recently active sets (never `keep` unless it is the only one) until within
    /// bounds.
    fn enforce_bounds(&mut self, keep: usize) {
        while self.sets.len() > self.cfg.max_sets
            || (self.bytes > self.cfg.max_bytes && !self.sets.is_empty())
        {
            let keep_key = self.sets.get(keep).map(|s| s.key.clone());
            let victim = self
                .sets
                .iter()
                .enumerate()
                .filter(|(_, s)| Some(&s.key) != keep_key.as_ref() || self.sets.len() == 1)
                .min_by_key(|(_, s)| s.last_ms)
                .map(|(i, _)| i);
            let Some(v) = victim else { break };
            let set = self.sets.swap_remove(v);
            self.stats.evicted += 1;
            self.drop_set(set, DropReason::Evicted);
        }
    }

    fn drop_set(&mut self, set: Pending, reason: DropReason) {
        self.bytes -= set.bytes;
        let received = set
            .parts
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_some())
            .map(|(i, _)| i as u32 + 1)
            .collect();
        let first_qn = set
            .parts
            .iter()
            .flatten()
            .next()
            .and_then(|p| p.qn().map(str::to_owned));
        self.dropped.push(Expired {
            mn: set.key.mn,
            cn: set.key.cn,
            pnum: set.key.pnum,
            data_time: set.key.data_time,
            received,
            first_qn,
            reason,
        });
    }

    /// Drop sets idle for `timeout_ms` or more; returns them, plus any evicted since the last
    /// call.
    pub fn expire(&mut self, now_ms: u64) -> Vec<Expired> {
        let mut i = 0;
        while i < self.sets.len() {
            if now_ms.saturating_sub(self.sets[i].last_ms) >= self.cfg.timeout_ms {
                let set = self.sets.swap_remove(i);
                self.stats.expired += 1;
                self.drop_set(set, DropReason::Timeout);
            } else {
                i += 1;
            }
        }
        std::mem::take(&mut self.dropped)
    }
}

/// Merge complete parts (ordered by PNO).
fn merge(parts: &[Packet]) -> Option<Packet> {
    let first = parts.first()?;
    let flag = first.flag().map(|f| f & !0b11);
    let mut b = PacketBuilder::new(first.st(), first.cn(), first.pw(), first.mn())
        .maybe_qn(first.qn())
        .maybe_flag(flag);
    for (i, part) in parts.iter().enumerate() {
        for g in part.groups() {
            if i > 0 && g.len() == 1 && g.get("DataTime").is_some() {
                continue;
            }
            b = b.group(g.items());
        }
    }
    b.build().ok()
}
