//! `qingshan serve --bus nats://…`: the flags of the NATS JetStream intake bus and which parts
//! of `serve` a node runs (`--role`). See docs/scale-out.md.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};
use ingest::bus::BusConfig;

/// What a `serve` node runs when the intake goes over a bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// HJ 212 port → stream: accepts devices, publishes accepted packets, 9014 on the PubAck.
    Gateway,
    /// Stream → store: commits, acknowledges to the stream, runs the engines and alarm rules.
    Writer,
    /// Both in one process, joined over the bus.
    All,
}

#[derive(Args, Clone, Debug)]
pub struct BusArgs {
    /// NATS JetStream intake bus, e.g. nats://127.0.0.1:4222 (comma-separate a cluster's
    /// servers). Without it the gateway hands packets to this process's writer directly.
    #[arg(long, value_name = "URL")]
    pub bus: Option<String>,
    /// With --bus: what this node runs (gateway, writer or all).
    #[arg(long, value_enum, default_value = "all", requires = "bus")]
    pub role: Role,
    /// With --bus: the JetStream stream (created if missing).
    #[arg(long, default_value = "QINGSHAN_INTAKE", value_name = "NAME")]
    pub bus_stream: String,
    /// With --bus: subject prefix; gateways publish to PREFIX.<gateway-id>.
    #[arg(long, default_value = "qingshan.intake", value_name = "PREFIX")]
    pub bus_subject: String,
    /// With --bus: the durable consumer every writer shares.
    #[arg(long, default_value = "qingshan-writer", value_name = "NAME")]
    pub bus_consumer: String,
    /// With --bus: stream replicas when it is created (3 on a NATS cluster).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub bus_replicas: usize,
    /// With --bus: publishes a gateway keeps waiting for their PubAck before it stops reading
    /// devices (backpressure).
    #[arg(long, default_value_t = 8192, value_name = "N")]
    pub bus_inflight: usize,
    /// With --bus: seconds the stream waits for a writer's ack before redelivering (set when
    /// the consumer is created).
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub bus_ack_wait: u64,
    /// With --bus: this gateway's id in subjects and message ids (letters, digits, '-', '_');
    /// default: the host name and the HJ 212 port.
    #[arg(long, value_name = "ID")]
    pub gateway_id: Option<String>,
}

impl BusArgs {
    /// The bus configuration, if a bus is configured.
    pub fn config(&self, hj212: SocketAddr) -> Option<BusConfig> {
        let url = self.bus.as_deref()?;
        let id = self
            .gateway_id
            .clone()
            .unwrap_or_else(|| format!("{}-{}", host_name(), hj212.port()));
        let mut cfg = BusConfig::new(url, &id);
        cfg.stream = self.bus_stream.clone();
        cfg.subject = self.bus_subject.clone();
        cfg.consumer = self.bus_consumer.clone();
        cfg.replicas = self.bus_replicas;
        cfg.max_inflight = self.bus_inflight.max(1);
        cfg.ack_wait = Duration::from_secs(self.bus_ack_wait.max(1));
        Some(cfg)
    }

    /// Whether this node accepts devices.
    pub fn gateway(&self) -> bool {
        self.bus.is_none() || self.role != Role::Writer
    }

    /// Whether this node commits to the store (and runs the engines).
    pub fn writer(&self) -> bool {
        self.bus.is_none() || self.role != Role::Gateway
    }
}

/// The host name as a subject token (other characters become '-').
fn host_name() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default();
    let name: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(48)
        .collect();
    if name.is_empty() {
        "qingshan".into()
    } else {
        name
    }
}
