//! Counters for everything the intake does, rendered in the Prometheus text format.
//!
//! Hot-path counters are plain atomics; labelled counters whose label set is small and fixed
//! (deviations by name) are arrays; the rarer labelled ones (refusals, frame errors, these two
//! also by transport) use a mutex-protected map.

use std::collections::{BTreeMap, HashMap};
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

/// The refusals of one MN (registered or not), kept by [`RefusalsByDevice`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeviceRefusals {
    /// Reason (as in `qingshan_refusals_total{reason}`) → count.
    pub by_reason: BTreeMap<String, u64>,
    pub total: u64,
    /// UTC Unix milliseconds of the last refusal.
    pub last_ms: i64,
    pub last_reason: String,
    /// What exactly was refused last (e.g. the deviations not allowed, the item).
    pub last_detail: String,
    /// Client address of the last refusal.
    pub last_peer: String,
    /// Whether the MN was in the registry (an unknown MN is `false`).
    pub registered: bool,
}

/// Refusals per MN, bounded in memory: every registered MN (the registry bounds them) and at
/// most [`MAX_UNREGISTERED`] unknown MNs (the least recently refused one is dropped for a new
/// one), at most [`MAX_TRACKED`] in all; MNs longer than 64 bytes are cut.
#[derive(Default)]
pub struct RefusalsByDevice {
    map: Mutex<HashMap<String, DeviceRefusals>>,
    /// Entries dropped to keep the bound.
    pub dropped: AtomicU64,
}

/// Unknown MNs kept at most (a scan or a misconfigured fleet must not grow memory).
pub const MAX_UNREGISTERED: usize = 256;
/// MNs kept at most.
pub const MAX_TRACKED: usize = 100_000;
const MAX_MN: usize = 64;
const MAX_DETAIL: usize = 200;

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl RefusalsByDevice {
    /// Counts one refusal of `mn`.
    pub fn record(
        &self,
        mn: &str,
        registered: bool,
        reason: &str,
        detail: &str,
        peer: &str,
        now_ms: i64,
    ) {
        let mn = cut(mn, MAX_MN);
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if !m.contains_key(mn) {
            let unregistered = m.values().filter(|r| !r.registered).count();
            let full = m.len() >= MAX_TRACKED;
            if full || (!registered && unregistered >= MAX_UNREGISTERED) {
                // Drop the least recently refused (an unknown MN when the unknown ones are full).
                let victim = m
                    .iter()
                    .filter(|(_, r)| full || !r.registered)
                    .min_by_key(|(_, r)| r.last_ms)
                    .map(|(k, _)| k.clone());
                if let Some(k) = victim {
                    m.remove(&k);
                    self.dropped.fetch_add(1, Relaxed);
                }
            }
        }
        let r = m.entry(mn.to_string()).or_default();
        *r.by_reason.entry(reason.to_string()).or_default() += 1;
        r.total += 1;
        r.last_ms = now_ms;
        r.last_reason = reason.to_string();
        r.last_detail = cut(detail, MAX_DETAIL).to_string();
        r.last_peer = peer.to_string();
        r.registered = registered;
    }

    /// The refusals of one MN.
    pub fn get(&self, mn: &str) -> Option<DeviceRefusals> {
        let m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        m.get(mn).cloned()
    }

    /// Every MN with refusals, most recent first.
    pub fn all(&self) -> Vec<(String, DeviceRefusals)> {
        let m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<(String, DeviceRefusals)> =
            m.iter().map(|(k, r)| (k.clone(), r.clone())).collect();
        v.sort_by(|a, b| b.1.last_ms.cmp(&a.1.last_ms).then(a.0.cmp(&b.0)));
        v
    }
}

/// Chinese meaning of a refusal reason (`qingshan_refusals_total{reason}`).
pub fn refusal_label_cn(reason: &str) -> &'static str {
    match reason {
        "unknown_mn" => "设备唯一标识 MN 未登记",
        "wrong_pw" => "访问密码 PW 错误",
        "deviation_not_allowed" => "出现未获准许的协议偏差",
        "no_datatime" => "数据包缺少数据时间 DataTime,其数值未入库",
        "value_not_a_number" => "监测值不是数字,该项未入库",
        _ => "其他原因",
    }
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
    /// The same refusals per MN (bounded), for the devices page.
    pub device_refusals: RefusalsByDevice,
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
    /// Catch-ups the derive thread ran because batches were left to them, and their time.
    pub derive_catchups: AtomicU64,
    pub derive_catchup_ms: AtomicU64,
    /// Committed packets waiting for the engines.
    pub derive_pending: AtomicI64,
    pub commit_latency: Histogram,
    /// Time from a packet's arrival to its ack being handed to the socket.
    pub ack_latency: Histogram,
    /// MQTT messages taken from the broker, by outcome (`mqtt::outcome`).
    pub mqtt_messages: Labelled,
    /// Decoder results (frames and rejected candidates) in MQTT messages.
    pub mqtt_frames: AtomicU64,
    /// Payload bytes of MQTT messages.
    pub mqtt_bytes: AtomicU64,
    /// 1 while connected to the MQTT broker.
    pub mqtt_connected: AtomicI64,
    /// Topic filters the broker granted in its last SUBACK.
    pub mqtt_subscriptions: AtomicI64,
    /// Connections to the broker after the first.
    pub mqtt_reconnects: AtomicU64,
    pub mqtt_connection_errors: AtomicU64,
    pub mqtt_subscribe_failures: AtomicU64,
    /// The NATS JetStream intake bus (`bus`): zero when no bus is configured.
    pub bus: BusMetrics,
}

/// Counters of the intake bus, on gateways (publish) and writers (consume).
#[derive(Default)]
pub struct BusMetrics {
    /// Packets the stream confirmed (PubAck) as stored.
    pub published: AtomicU64,
    /// Publishes the stream answered as duplicates of an earlier one (a retry that had in fact
    /// arrived): counted once in `published` already.
    pub publish_duplicates: AtomicU64,
    /// Publish attempts that failed (no PubAck in time, no stream, connection down); retried.
    pub publish_failures: AtomicU64,
    /// Packets given up after every retry failed: not acknowledged, the device resends.
    pub publish_abandoned: AtomicU64,
    /// Publishes waiting for their PubAck.
    pub publish_inflight: AtomicI64,
    /// Messages received from the consumer.
    pub received: AtomicU64,
    /// Messages received more than once (a writer died or was slow before acking).
    pub redelivered: AtomicU64,
    /// Packets the store skipped because their bus id was already committed.
    pub duplicates_skipped: AtomicU64,
    /// Messages acknowledged to the stream after their commit.
    pub acked: AtomicU64,
    /// Messages handed back (NAK) because their commit failed.
    pub nacked: AtomicU64,
    /// Messages that could not be decoded, by reason.
    pub bad_messages: Labelled,
    /// Consumer state at the last poll: messages not yet delivered to any writer, and
    /// delivered but not yet acknowledged.
    pub pending: AtomicI64,
    pub ack_pending: AtomicI64,
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
        gauge(
            "qingshan_derive_catchups_total",
            "Catch-ups the engines ran from the store after intake outran derivation.",
            self.derive_catchups.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_derive_pending_packets",
            "Committed packets waiting for the engines (bounded by the derive queue).",
            self.derive_pending.load(Relaxed),
            "gauge",
        );
        gauge(
            "qingshan_refusal_devices_dropped_total",
            "MNs dropped from the per-device refusal counts to keep them bounded.",
            self.device_refusals.dropped.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_mqtt_connected",
            "1 while connected to the MQTT broker.",
            self.mqtt_connected.load(Relaxed),
            "gauge",
        );
        gauge(
            "qingshan_mqtt_subscriptions",
            "MQTT topic filters the broker granted in its last SUBACK.",
            self.mqtt_subscriptions.load(Relaxed),
            "gauge",
        );
        gauge(
            "qingshan_mqtt_reconnects_total",
            "Connections to the MQTT broker after the first.",
            self.mqtt_reconnects.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_mqtt_connection_errors_total",
            "MQTT connection attempts that failed and connections lost.",
            self.mqtt_connection_errors.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_mqtt_subscribe_failures_total",
            "Topic filters the MQTT broker refused to subscribe.",
            self.mqtt_subscribe_failures.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_mqtt_frames_total",
            "Frames and rejected frame candidates in MQTT messages.",
            self.mqtt_frames.load(Relaxed) as i64,
            "counter",
        );
        gauge(
            "qingshan_mqtt_bytes_received_total",
            "Payload bytes of MQTT messages.",
            self.mqtt_bytes.load(Relaxed) as i64,
            "counter",
        );
        let b = &self.bus;
        for (name, help, v, kind) in [
            (
                "qingshan_bus_published_total",
                "Packets the NATS stream confirmed stored (PubAck).",
                b.published.load(Relaxed) as i64,
                "counter",
            ),
            (
                "qingshan_bus_publish_duplicates_total",
                "Publish retries the stream recognised as duplicates (Nats-Msg-Id).",
                b.publish_duplicates.load(Relaxed) as i64,
                "counter",
            ),
            (
                "qingshan_bus_publish_failures_total",
                "Publish attempts that failed and were retried.",
                b.publish_failures.load(Relaxed) as i64,
                "counter",
            ),
            (
                "qingshan_bus_publish_abandoned_total",
                "Packets not acknowledged to the device because every publish retry failed.",
                b.publish_abandoned.load(Relaxed) as i64,
                "counter",
            ),
            (
                "qingshan_bus_publish_inflight",
                "Publishes waiting for their PubAck.",
                b.publish_inflight.load(Relaxed),
                "gauge",
            ),
            (
                "qingshan_bus_received_total",
                "Messages a writer received from the stream.",
                b.received.load(Relaxed) as i64,
                "counter",
            ),
            (
                "qingshan_bus_redelivered_total",
                "Messages received again (not acknowledged in time before).",
                b.redelivered.load(Relaxed) as i64,
                "counter",
            ),
            (
                "qingshan_bus_duplicates_skipped_total",
                "Redelivered packets the store had already committed (stored once).",
                b.duplicates_skipped.load(Relaxed) as i64,
                "counter",
            ),
            (
                "qingshan_bus_acked_total",
                "Messages acknowledged to the stream after commit.",
                b.acked.load(Relaxed) as i64,
                "counter",
            ),
            (
                "qingshan_bus_nacked_total",
                "Messages handed back to the stream because their commit failed.",
                b.nacked.load(Relaxed) as i64,
                "counter",
            ),
            (
                "qingshan_bus_consumer_pending",
                "Messages in the stream not yet delivered to a writer (consumer lag).",
                b.pending.load(Relaxed),
                "gauge",
            ),
            (
                "qingshan_bus_consumer_ack_pending",
                "Messages delivered to writers, not yet acknowledged.",
                b.ack_pending.load(Relaxed),
                "gauge",
            ),
        ] {
            gauge(name, help, v, kind);
        }
        self.bus.bad_messages.render(
            &mut out,
            "qingshan_bus_bad_messages_total",
            "reason",
            "Bus messages a writer could not decode, by reason.",
        );
        self.mqtt_messages.render(
            &mut out,
            "qingshan_mqtt_messages_total",
            "outcome",
            "MQTT messages, by outcome: stored (acknowledged after commit), nothing_to_store, commit_failed, connection_lost (left to the broker to redeliver), dropped_qos0.",
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
        let _ = writeln!(
            out,
            "# HELP qingshan_derive_catchup_seconds_total Time the engines spent in those catch-ups.\n\
             # TYPE qingshan_derive_catchup_seconds_total counter\n\
             qingshan_derive_catchup_seconds_total {}",
            self.derive_catchup_ms.load(Relaxed) as f64 / 1000.0
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_per_device_are_counted_and_bounded() {
        let r = RefusalsByDevice::default();
        r.record("MN-A", true, "wrong_pw", "", "10.0.0.1", 1);
        r.record(
            "MN-A",
            true,
            "deviation_not_allowed",
            "lf_only",
            "10.0.0.1",
            2,
        );
        r.record("MN-A", true, "wrong_pw", "", "10.0.0.2", 3);
        let a = r.get("MN-A").unwrap();
        assert_eq!(a.total, 3);
        assert_eq!(a.by_reason["wrong_pw"], 2);
        assert_eq!(a.by_reason["deviation_not_allowed"], 1);
        assert_eq!((a.last_ms, a.last_peer.as_str()), (3, "10.0.0.2"));
        // A flood of unknown MNs keeps at most MAX_UNREGISTERED of them, the newest, and never
        // drops a registered device's record.
        for i in 0..(MAX_UNREGISTERED + 50) {
            r.record(
                &format!("X{i}"),
                false,
                "unknown_mn",
                "",
                "x",
                10 + i as i64,
            );
        }
        let all = r.all();
        assert_eq!(all.len(), MAX_UNREGISTERED + 1);
        assert!(r.get("MN-A").is_some());
        assert!(r.get("X0").is_none() && r.get(&format!("X{}", MAX_UNREGISTERED + 49)).is_some());
        assert_eq!(r.dropped.load(Relaxed), 50);
        assert_eq!(
            all[0].0,
            format!("X{}", MAX_UNREGISTERED + 49),
            "most recent first"
        );
        // A very long MN is cut.
        r.record(&"Z".repeat(1000), false, "unknown_mn", "", "x", 1_000);
        assert!(r.all().iter().all(|(k, _)| k.len() <= 64));
        assert_eq!(refusal_label_cn("wrong_pw"), "访问密码 PW 错误");
    }
}
