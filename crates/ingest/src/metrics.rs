//! Counters for everything the intake does, rendered in the Prometheus text format.
//!
//! Hot-path counters are plain atomics; labelled counters whose label set is small and fixed
//! (deviations by name) are arrays; the rarer labelled ones (refusals, frame errors, these two
//! also by transport) use a mutex-protected map.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// Upper bounds (seconds) of the commit-latency histogram buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
];

#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, seconds: f64) {
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            if seconds <= *b {
                self.buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_us.fetch_add((seconds * 1e6) as u64, Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{b}\"}} {}",
                self.buckets[i].load(Relaxed)
            );
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_us.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {count}");
    }
}

#[derive(Default)]
pub struct Labelled(Mutex<BTreeMap<String, u64>>);

impl Labelled {
    pub fn inc(&self, label: &str) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match m.get_mut(label) {
            Some(v) => *v += 1,
            None => {
                m.insert(label.to_string(), 1);
            }
        }
    }

    pub fn get(&self, label: &str) -> u64 {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.get(label).copied().unwrap_or(0)
    }

    fn render(&self, out: &mut String, name: &str, label: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for (k, v) in m.iter() {
            let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {v}", escape(k));
        }
    }
}

/// A counter labelled by a reason and by the transport the input arrived on (`tcp`, `mqtt`).
#[derive(Default)]
pub struct ByTransport(Mutex<BTreeMap<(String, &'static str), u64>>);

impl ByTransport {
    pub fn inc(&self, transport: &'static str, label: &str) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match m.get_mut(&(label.to_string(), transport)) {
            Some(v) => *v += 1,
            None => {
                m.insert((label.to_string(), transport), 1);
            }
        }
    }

    /// The count of `label` over every transport.
    pub fn get(&self, label: &str) -> u64 {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.iter()
            .filter(|((l, _), _)| l == label)
            .map(|(_, v)| *v)
            .sum()
    }

    /// The count of `label` on one transport.
    pub fn get_on(&self, transport: &str, label: &str) -> u64 {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.iter()
            .filter(|((l, t), _)| l == label && *t == transport)
            .map(|(_, v)| *v)
            .sum()
    }

    fn render(&self, out: &mut String, name: &str, label: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for ((k, t), v) in m.iter() {
            let _ = writeln!(
                out,
                "{name}{{{label}=\"{}\",transport=\"{t}\"}} {v}",
                escape(k)
            );
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// All intake counters. One instance per process, shared by reference.
#[derive(Default)]
pub struct Metrics {
    pub connections_open: AtomicI64,
    pub connections_total: AtomicU64,
    pub bytes_received: AtomicU64,
    pub frames_accepted: AtomicU64,
    pub frames_rejected: ByTransport,
    pub packets_by_cn: Labelled,
    pub packets_committed: AtomicU64,
    pub values_committed: AtomicU64,
    pub refusals: ByTransport,
    pub deviations: [AtomicU64; 32],
    pub acks_sent: AtomicU64,
    pub replies_sent: AtomicU64,
    pub commands_sent: AtomicU64,
    pub split_parts: AtomicU64,
    pub split_completed: AtomicU64,
    pub split_expired: AtomicU64,
    pub queue_depth: AtomicI64,
    pub queue_capacity: AtomicI64,
    pub commit_batches: AtomicU64,
    pub commit_errors: AtomicU64,
    /// Committed batches not handed to the engines because derivation was behind (the
    /// engines' catch-up derives them from the store).
    pub derive_skipped: AtomicU64,
    pub commit_latency: Histogram,
    /// Time from a packet's arrival to its ack being handed to the socket.
    pub ack_latency: Histogram,
}

impl Metrics {
    pub fn deviation(&self, d: hj212::Deviation) {
        self.deviations[(d as usize) & 31].fetch_add(1, Relaxed);
    }

    pub fn deviation_count(&self, d: hj212::Deviation) -> u64 {
        self.deviations[(d as usize) & 31].load(Relaxed)
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let mut gauge = |name: &str, help: &str, v: i64, kind: &str| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        };
        gauge(
            "qingshan_connections_open",
            "HJ 212 TCP connections open.",
            self.connections_open.load(Relaxed),
            "gauge",
        );
        gauge(
            "qingshan_connections_total",
            "HJ 212 TCP connections accepted.",
            self.connections_total.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_bytes_received_total",
            "Bytes read from HJ 212 connections.",
            self.bytes_received.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_frames_accepted_total",
            "Frames the decoder accepted.",
            self.frames_accepted.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_packets_committed_total",
            "Packets durably committed to the store.",
            self.packets_committed.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_values_committed_total",
            "Values durably committed to the store.",
            self.values_committed.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_acks_sent_total",
            "9014 data answers sent after commit.",
            self.acks_sent.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_replies_sent_total",
            "Other replies sent (9013).",
            self.replies_sent.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_commands_sent_total",
            "Platform-to-device requests sent.",
            self.commands_sent.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_split_parts_total",
            "Parts of split (PNUM/PNO) packets received.",
            self.split_parts.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_split_completed_total",
            "Split packets whose parts all arrived.",
            self.split_completed.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_split_expired_total",
            "Split packets dropped incomplete after the timeout.",
            self.split_expired.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_queue_depth",
            "Packets waiting for the writer.",
            self.queue_depth.load(Relaxed),
            "gauge",
        );
        gauge(
            "qingshan_queue_capacity",
            "Capacity of the writer queue.",
            self.queue_capacity.load(Relaxed),
            "gauge",
        );
        gauge(
            "qingshan_commit_batches_total",
            "Group commits.",
            self.commit_batches.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_commit_errors_total",
            "Group commits that failed (nothing acknowledged).",
            self.commit_errors.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_derive_skipped_total",
            "Committed batches left to the engines' catch-up because derivation was behind.",
            self.derive_skipped.load(Relaxed) as i64,
            "counter",
        );
        self.frames_rejected.render(
            &mut out,
            "qingshan_frames_rejected_total",
            "error",
            "Frame candidates the decoder rejected, by error and transport.",
        );
        self.packets_by_cn.render(
            &mut out,
            "qingshan_packets_total",
            "cn",
            "Authenticated packets by command code.",
        );
        self.refusals.render(
            &mut out,
            "qingshan_refusals_total",
            "reason",
            "Packets refused (unknown MN, wrong PW, deviation not allowed), by reason and transport.",
        );
        let _ = writeln!(out, "# HELP qingshan_deviations_total Accepted frames showing each HJ 212 deviation.\n# TYPE qingshan_deviations_total counter");
        for d in hj212::Deviation::ALL {
            let _ = writeln!(
                out,
                "qingshan_deviations_total{{name=\"{}\"}} {}",
                d.as_str(),
                self.deviation_count(*d)
            );
        }
        self.commit_latency
            .render(&mut out, "qingshan_commit_seconds", "Group commit latency.");
        self.ack_latency.render(
            &mut out,
            "qingshan_ack_seconds",
            "Packet arrival to 9014 ack latency.",
        );
        out
    }
}
