//! The NATS JetStream intake bus: gateways on any number of nodes publish accepted packets to
//! one durable stream; writers on any number of nodes consume it and commit to the store.
//!
//! ```text
//! device ─TCP─▶ Gateway ─publish (Nats-Msg-Id)─▶ JetStream stream ─pull─▶ BusConsumer ─▶ writer ─▶ store
//!          ◀─9014 once the PubAck is back                  ◀─ack once the commit is done ─┘
//! ```
//!
//! **The durable point is the stream's PubAck**: JetStream answers a publish only after the
//! message is stored in the stream (file storage; with R > 1, on a quorum of the replicas).
//! From then on the packet is the stream's until a writer has committed it and acknowledged
//! it; a writer that dies before its ack lets JetStream redeliver the message after the
//! consumer's ack wait. Redelivery is made harmless by the store: values are idempotent
//! upserts, and the packet's message id ([`IntakePacket::bus_id`]) is recorded in the same
//! transaction as the packet, so a redelivered packet is skipped rather than archived and
//! counted twice.
//!
//! A gateway that gets no PubAck in time publishes again with the same `Nats-Msg-Id`; the
//! stream drops the copy within its duplicate window (2 minutes by default; the gateway's
//! retries stay well within it). Ids are `<gateway-id>:<boot>:<seq>` — unique per gateway
//! process, so a restarted gateway never collides with its previous life.
//!
//! Backpressure: at most `max_inflight` publishes per gateway process wait for their PubAck;
//! beyond that a connection waits to publish, stops reading its socket, and TCP slows the
//! device down, as with the in-process writer's bounded queue.

pub mod wire;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::PullConsumer, context::PublishAckFuture};
use bytes::Bytes;
use futures_util::StreamExt;
use store::IntakePacket;
use tokio::sync::{mpsc, oneshot, watch};

use crate::metrics::Metrics;
use crate::writer::WriterHandle;

pub use wire::{WireError, WIRE_VERSION};

/// Where the bus is and how it is laid out.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// `nats://host:port` (several comma-separated URLs for a cluster).
    pub url: String,
    /// JetStream stream name (created if missing).
    pub stream: String,
    /// Subject prefix: gateways publish to `<subject>.<gateway-id>`; the stream and the
    /// writers' consumer take `<subject>.>`.
    pub subject: String,
    /// Durable consumer shared by every writer.
    pub consumer: String,
    /// Stream replicas when the stream is created (1 on a single server, 3 for a cluster).
    pub replicas: usize,
    /// This gateway's id: a subject token (letters, digits, `-`, `_`).
    pub gateway_id: String,
    /// Publishes that may wait for their PubAck at once (per gateway process).
    pub max_inflight: usize,
    /// How long JetStream waits for a writer's ack before redelivering (when the consumer is
    /// created).
    pub ack_wait: Duration,
    /// Messages a writer keeps pulled ahead of its commits.
    pub prefetch: usize,
}

impl BusConfig {
    /// Defaults for `url`: stream `QINGSHAN_INTAKE`, subjects `qingshan.intake.*`, consumer
    /// `qingshan-writer`, one replica.
    pub fn new(url: &str, gateway_id: &str) -> BusConfig {
        BusConfig {
            url: url.to_string(),
            stream: "QINGSHAN_INTAKE".into(),
            subject: "qingshan.intake".into(),
            consumer: "qingshan-writer".into(),
            replicas: 1,
            gateway_id: gateway_id.to_string(),
            max_inflight: 8192,
            ack_wait: Duration::from_secs(30),
            prefetch: 4096,
        }
    }

    /// Checks names before anything touches the server, so a typo is reported as such.
    pub fn validate(&self) -> Result<(), BusError> {
        let token = |what: &str, s: &str, extra: &str| -> Result<(), BusError> {
            if s.is_empty()
                || s.len() > 64
                || !s
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || extra.contains(c))
            {
                return Err(BusError::Config(format!(
                    "{what} {s:?}: use 1–64 letters, digits, '-' or '_'{}",
                    if extra.is_empty() { "" } else { " or '.'" }
                )));
            }
            Ok(())
        };
        token("gateway id", &self.gateway_id, "")?;
        token("stream name", &self.stream, "")?;
        token("consumer name", &self.consumer, "")?;
        token("subject prefix", &self.subject, ".")?;
        if self.subject.starts_with('.')
            || self.subject.ends_with('.')
            || self.subject.contains("..")
        {
            return Err(BusError::Config(format!(
                "subject prefix {:?}: empty token",
                self.subject
            )));
        }
        if !(1..=5).contains(&self.replicas) {
            return Err(BusError::Config(format!(
                "replicas {}: JetStream allows 1 to 5",
                self.replicas
            )));
        }
        Ok(())
    }

    fn subject_filter(&self) -> String {
        format!("{}.>", self.subject)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus configuration: {0}")]
    Config(String),
    #[error("NATS at {url}: {what}: {error}")]
    Nats {
        url: String,
        what: &'static str,
        error: String,
    },
    #[error("the store writer has stopped")]
    WriterStopped,
}

/// A connection to the bus with its stream in place.
#[derive(Clone)]
pub struct Bus {
    cfg: BusConfig,
    client: async_nats::Client,
    js: jetstream::Context,
    metrics: Arc<Metrics>,
}

impl Bus {
    /// Connects and creates the stream if missing (file storage, work-queue retention: a
    /// message leaves the stream once a writer acknowledged it). An existing stream is used
    /// as it is, provided it takes this bus's subjects.
    pub async fn connect(cfg: BusConfig, metrics: Arc<Metrics>) -> Result<Bus, BusError> {
        cfg.validate()?;
        let err = |what: &'static str| {
            let url = cfg.url.clone();
            move |e: &dyn std::fmt::Display| BusError::Nats {
                url: url.clone(),
                what,
                error: e.to_string(),
            }
        };
        let client = async_nats::ConnectOptions::new()
            .name(format!("qingshan {}", cfg.gateway_id))
            .connect(cfg.url.as_str())
            .await
            .map_err(|e| err("connecting")(&e))?;
        let js = jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(5))
            .max_ack_inflight(cfg.max_inflight.max(1))
            .backpressure_on_inflight(true)
            .build(client.clone());
        let want = jetstream::stream::Config {
            name: cfg.stream.clone(),
            description: Some(
                "qingshan HJ 212 intake: accepted packets, gateways → writers".into(),
            ),
            subjects: vec![cfg.subject_filter()],
            storage: jetstream::stream::StorageType::File,
            retention: jetstream::stream::RetentionPolicy::WorkQueue,
            num_replicas: cfg.replicas,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        };
        let mut stream = js
            .get_or_create_stream(want)
            .await
            .map_err(|e| err("creating or opening the stream")(&e))?;
        let info = stream
            .info()
            .await
            .map_err(|e| err("reading the stream's configuration")(&e))?;
        let filter = cfg.subject_filter();
        if !info
            .config
            .subjects
            .iter()
            .any(|s| *s == filter || s == ">")
        {
            return Err(BusError::Config(format!(
                "stream {} exists with subjects {:?}, which do not include {filter}",
                cfg.stream, info.config.subjects
            )));
        }
        Ok(Bus {
            cfg,
            client,
            js,
            metrics,
        })
    }

    pub fn config(&self) -> &BusConfig {
        &self.cfg
    }

    /// The JetStream context (tests, tools).
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// A publisher for this gateway process.
    pub fn publisher(&self) -> Publisher {
        let boot = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        Publisher {
            inner: Arc::new(PublisherInner {
                js: self.js.clone(),
                subject: format!("{}.{}", self.cfg.subject, self.cfg.gateway_id),
                id_prefix: format!("{}:{boot:x}:{:x}", self.cfg.gateway_id, std::process::id()),
                seq: AtomicU64::new(0),
                metrics: self.metrics.clone(),
                log: LogLimit::default(),
            }),
        }
    }

    /// The writers' durable pull consumer (created if missing: explicit acks, unlimited
    /// redeliveries, `ack_wait` from the configuration).
    pub async fn consumer(&self) -> Result<BusConsumer, BusError> {
        let err = |what: &'static str, e: &dyn std::fmt::Display| BusError::Nats {
            url: self.cfg.url.clone(),
            what,
            error: e.to_string(),
        };
        let stream = self
            .js
            .get_stream(&self.cfg.stream)
            .await
            .map_err(|e| err("opening the stream", &e))?;
        let consumer: PullConsumer = stream
            .get_or_create_consumer(
                &self.cfg.consumer,
                jetstream::consumer::pull::Config {
                    durable_name: Some(self.cfg.consumer.clone()),
                    description: Some("qingshan writers: commit to the store, then ack".into()),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: self.cfg.ack_wait,
                    max_deliver: -1,
                    filter_subject: self.cfg.subject_filter(),
                    max_ack_pending: (self.cfg.prefetch * 8).max(1024) as i64,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| err("creating or opening the consumer", &e))?;
        Ok(BusConsumer {
            consumer,
            prefetch: self.cfg.prefetch.max(1),
            metrics: self.metrics.clone(),
            log: Arc::new(LogLimit::default()),
        })
    }

    /// Waits until everything published so far has left this process.
    pub async fn flush(&self) {
        let _ = self.client.flush().await;
    }
}

/// At most a few warnings a second from one hot path (the bus may fail for every packet).
#[derive(Default)]
struct LogLimit {
    window: std::sync::Mutex<Option<(Instant, u32)>>,
}

impl LogLimit {
    fn allow(&self) -> bool {
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match &mut *w {
            Some((start, n)) if now.duration_since(*start) < Duration::from_secs(1) => {
                *n += 1;
                *n <= 5
            }
            _ => {
                *w = Some((now, 1));
                true
            }
        }
    }
}

/// Publishes a gateway's accepted packets; clonable.
#[derive(Clone)]
pub struct Publisher {
    inner: Arc<PublisherInner>,
}

struct PublisherInner {
    js: jetstream::Context,
    subject: String,
    id_prefix: String,
    seq: AtomicU64,
    metrics: Arc<Metrics>,
    log: LogLimit,
}

/// A publish gets this long, retries included, to reach the stream. Well inside the stream's
/// 2-minute duplicate window, so a retry of a publish that did arrive is recognised.
const PUBLISH_DEADLINE: Duration = Duration::from_secs(60);

impl Publisher {
    /// Publishes `packet`; waits while `max_inflight` publishes already wait for their PubAck
    /// (backpressure). The receiver resolves to `true` once the stream stored the packet,
    /// `false` if it could not within [`PUBLISH_DEADLINE`] (the device is not acknowledged and
    /// resends).
    pub async fn submit(&self, packet: IntakePacket) -> oneshot::Receiver<bool> {
        let inner = self.inner.clone();
        let seq = inner.seq.fetch_add(1, Relaxed);
        let id = format!("{}:{seq:x}", inner.id_prefix);
        let payload = Bytes::from(wire::encode(&packet));
        drop(packet);
        let started = Instant::now();
        let first = inner.send(&id, payload.clone()).await;
        inner.metrics.bus.publish_inflight.fetch_add(1, Relaxed);
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let ok = inner.confirm(first, &id, payload, started).await;
            inner.metrics.bus.publish_inflight.fetch_sub(1, Relaxed);
            let _ = tx.send(ok);
        });
        rx
    }
}

impl PublisherInner {
    async fn send(
        &self,
        id: &str,
        payload: Bytes,
    ) -> Result<PublishAckFuture, jetstream::context::PublishError> {
        self.js
            .send_publish(
                self.subject.clone(),
                jetstream::message::PublishMessage::build()
                    .payload(payload)
                    .message_id(id),
            )
            .await
    }

    /// Awaits the PubAck, publishing again (same id) after a failure, until the deadline.
    async fn confirm(
        &self,
        mut attempt: Result<PublishAckFuture, jetstream::context::PublishError>,
        id: &str,
        payload: Bytes,
        started: Instant,
    ) -> bool {
        let mut backoff = Duration::from_millis(50);
        loop {
            let outcome = match attempt {
                Ok(ack) => ack.await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(ack) => {
                    if ack.duplicate {
                        self.metrics.bus.publish_duplicates.fetch_add(1, Relaxed);
                    } else {
                        self.metrics.bus.published.fetch_add(1, Relaxed);
                    }
                    return true;
                }
                Err(e) => {
                    self.metrics.bus.publish_failures.fetch_add(1, Relaxed);
                    let give_up = started.elapsed() + backoff >= PUBLISH_DEADLINE;
                    if self.log.allow() {
                        tracing::warn!(subject = %self.subject, msg_id = id, error = %e, give_up, "publishing to the intake stream failed");
                    }
                    if give_up {
                        self.metrics.bus.publish_abandoned.fetch_add(1, Relaxed);
                        return false;
                    }
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
            attempt = self.send(id, payload.clone()).await;
        }
    }
}

/// A writer's view of the shared durable consumer.
pub struct BusConsumer {
    consumer: PullConsumer,
    prefetch: usize,
    metrics: Arc<Metrics>,
    log: Arc<LogLimit>,
}

/// One message taken from the stream, decoded, not yet acknowledged.
pub struct Delivery {
    pub packet: IntakePacket,
    /// How many times the stream has delivered this message (1 = first time).
    pub delivered: i64,
    pub stream_sequence: u64,
    message: jetstream::Message,
}

impl Delivery {
    /// The packet, and what settles the message once the packet's fate is known.
    pub fn split(self) -> (IntakePacket, Settle) {
        (
            self.packet,
            Settle {
                message: self.message,
                stream_sequence: self.stream_sequence,
            },
        )
    }
}

/// Settles one delivered message.
pub struct Settle {
    message: jetstream::Message,
    pub stream_sequence: u64,
}

impl Settle {
    /// Tells the stream the packet is committed: it is not delivered again.
    pub async fn ack(&self) -> Result<(), String> {
        self.message.ack().await.map_err(|e| e.to_string())
    }

    /// Hands the message back for redelivery after `delay`.
    pub async fn nak(&self, delay: Duration) -> Result<(), String> {
        self.message
            .ack_with(jetstream::AckKind::Nak(Some(delay)))
            .await
            .map_err(|e| e.to_string())
    }
}

impl BusConsumer {
    /// The underlying JetStream consumer (tests, tools).
    pub fn jetstream(&self) -> &PullConsumer {
        &self.consumer
    }

    /// Decodes a message into a [`Delivery`]; a message that cannot be decoded is counted,
    /// logged with its stream position, and settled: a newer wire version is handed back for
    /// a newer writer (NAK, 30 s delay); anything else is terminated (it would never decode).
    pub async fn delivery(&self, message: jetstream::Message) -> Option<Delivery> {
        let bus = &self.metrics.bus;
        bus.received.fetch_add(1, Relaxed);
        let (delivered, stream_sequence) = message
            .info()
            .map(|i| (i.delivered, i.stream_sequence))
            .unwrap_or((1, 0));
        if delivered > 1 {
            bus.redelivered.fetch_add(1, Relaxed);
        }
        match wire::decode(&message.payload) {
            Ok(mut packet) => {
                packet.bus_id = message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
                    .map(|v| v.as_str().to_string());
                Some(Delivery {
                    packet,
                    delivered,
                    stream_sequence,
                    message,
                })
            }
            Err(e) => {
                bus.bad_messages.inc(e.reason());
                if self.log.allow() {
                    tracing::error!(subject = %message.subject, stream_sequence, bytes = message.payload.len(), error = %e, "intake bus message not decodable");
                }
                let kind = match e {
                    WireError::UnknownVersion(_) => {
                        jetstream::AckKind::Nak(Some(Duration::from_secs(30)))
                    }
                    _ => jetstream::AckKind::Term,
                };
                let _ = message.ack_with(kind).await;
                None
            }
        }
    }

    /// Consumes until `shutdown` turns true: each packet goes to `writer` (whose bounded queue
    /// is the backpressure) and is acknowledged once its group commit succeeded, or handed
    /// back (NAK) for redelivery if the commit failed. On shutdown it stops pulling and waits
    /// for the commits and acks of what it already handed to the writer; messages pulled but
    /// not yet handed over go back to the stream after the ack wait.
    pub async fn run(
        self,
        writer: WriterHandle,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), BusError> {
        let (ack_tx, mut ack_rx) =
            mpsc::channel::<(oneshot::Receiver<bool>, Settle)>(self.prefetch * 4);
        let metrics = self.metrics.clone();
        let log = self.log.clone();
        // Commits complete in queue order, so acks are sent in that order too.
        let acker = tokio::spawn(async move {
            while let Some((done, d)) = ack_rx.recv().await {
                if done.await.unwrap_or(false) {
                    match d.ack().await {
                        Ok(()) => metrics.bus.acked.fetch_add(1, Relaxed),
                        // The stream redelivers it; the store skips it then.
                        Err(e) => {
                            if log.allow() {
                                tracing::warn!(error = %e, stream_sequence = d.stream_sequence, "ack to the intake stream failed; the message will be redelivered and skipped");
                            }
                            0
                        }
                    };
                } else {
                    let _ = d.nak(Duration::from_secs(1)).await;
                    metrics.bus.nacked.fetch_add(1, Relaxed);
                }
            }
        });
        let lag = tokio::spawn(poll_lag(
            self.consumer.clone(),
            self.metrics.clone(),
            shutdown.clone(),
        ));
        let mut result = Ok(());
        'outer: while !*shutdown.borrow() {
            let mut messages = match self
                .consumer
                .stream()
                .max_messages_per_batch(self.prefetch)
                .heartbeat(Duration::from_secs(4))
                // Short pulls: a pull still open at the server when its writer died is
                // served to nobody (those messages wait for the ack wait) until it expires.
                .expires(Duration::from_secs(10))
                .messages()
                .await
            {
                Ok(m) => m,
                Err(e) => {
                    if self.log.allow() {
                        tracing::warn!(error = %e, "cannot pull from the intake stream; retrying");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        _ = shutdown.changed() => break,
                    }
                }
            };
            loop {
                let next = tokio::select! {
                    n = messages.next() => n,
                    _ = shutdown.changed() => break 'outer,
                };
                match next {
                    Some(Ok(message)) => {
                        let Some(d) = self.delivery(message).await else {
                            continue;
                        };
                        let (packet, settle) = d.split();
                        let Ok(done) = writer.submit(packet).await else {
                            result = Err(BusError::WriterStopped);
                            break 'outer;
                        };
                        if ack_tx.send((done, settle)).await.is_err() {
                            break 'outer;
                        }
                    }
                    Some(Err(e)) => {
                        if self.log.allow() {
                            tracing::warn!(error = %e, "pulling from the intake stream");
                        }
                    }
                    // The pull stream ended (consumer deleted, limits): open a new one.
                    None => {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue 'outer;
                    }
                }
            }
        }
        drop(ack_tx);
        let _ = acker.await;
        lag.abort();
        result
    }
}

/// Polls the consumer's state every few seconds into the lag gauges.
async fn poll_lag(
    consumer: PullConsumer,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        if let Ok(info) = consumer.get_info().await {
            metrics.bus.pending.store(info.num_pending as i64, Relaxed);
            metrics
                .bus
                .ack_pending
                .store(info.num_ack_pending as i64, Relaxed);
        }
    }
}
