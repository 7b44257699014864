//! The HJ 212 gateway: the per-frame intake pipeline every transport shares, and the TCP
//! listener.
//!
//! [`Gateway::intake`] is the one implementation of what happens to a decoded frame, whatever
//! carried it (a TCP connection, an MQTT message): authenticate against the registry (MN, PW,
//! the device's deviation policy), count and log refusals, track split packets, convert to an
//! [`IntakePacket`], queue it for the writer, answer notifications at once, and hand back the
//! writer's oneshot with the 9014 to send once the packet is durable (ack after commit). State
//! that spans frames lives in a [`Link`]: one per TCP connection, one per MQTT topic.
//!
//! Each TCP connection has a reply queue drained by its own write task, in arrival order; the
//! queue is bounded, so a device that sends faster than the store commits is slowed down by
//! TCP flow control rather than buffered without limit.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hj212::{Decoder, DecoderConfig, Frame, FrameError, Mode};
use store::{CommandAnswer, IntakePacket};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use crate::convert::{values_of, Skipped};
use crate::metrics::Metrics;
use crate::registry::{Registered, Registry};
use crate::writer::WriterHandle;

/// Gateway settings.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Lenient decoding accepts the deviations real devices show; each device's own policy
    /// (its `allow` list) then decides which of them it may use. Strict refuses them all.
    pub mode: Mode,
    /// Replies (pending acks) a connection may have outstanding before it stops reading.
    pub max_inflight: usize,
    /// Consecutive refused packets after which a connection is closed.
    pub refusals_before_close: u32,
    /// A connection silent this long is closed.
    pub idle_timeout: Duration,
    /// Split-packet reassembly timeout.
    pub split_timeout: Duration,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            mode: Mode::Lenient,
            max_inflight: 1024,
            refusals_before_close: 20,
            idle_timeout: Duration::from_secs(15 * 60),
            split_timeout: Duration::from_secs(60),
        }
    }
}

pub(crate) enum Outgoing {
    /// Write now (after what is already queued).
    Frame(Vec<u8>),
    /// Wait until the packet is durable, then write `reply` (if any).
    AfterCommit {
        done: oneshot::Receiver<bool>,
        reply: Option<Vec<u8>>,
        arrived: Instant,
    },
}

struct Session {
    conn: u64,
    downlink: Downlink,
    st: String,
    pw: String,
    flag_version: hj212::Version,
}

/// Where the platform's frames for the devices of one link go.
#[derive(Clone)]
pub(crate) enum Downlink {
    /// A TCP connection's reply queue.
    Stream(mpsc::Sender<Outgoing>),
    /// A message bus: frames are published to `topic` by whoever drains `tx` (MQTT).
    Topic {
        topic: Arc<str>,
        tx: mpsc::Sender<(Arc<str>, Vec<u8>)>,
    },
}

impl Downlink {
    async fn send(&self, frame: Vec<u8>) -> bool {
        match self {
            Downlink::Stream(tx) => tx.send(Outgoing::Frame(frame)).await.is_ok(),
            Downlink::Topic { topic, tx } => tx.send((topic.clone(), frame)).await.is_ok(),
        }
    }
}

/// What one link (a TCP connection, an MQTT topic) keeps between frames.
pub(crate) struct Link {
    id: u64,
    /// `tcp` or `mqtt`: the `transport` label of the refusal counters.
    transport: &'static str,
    /// Shown in logs and stored with each packet: `ip:port`, or `mqtt:<topic>`.
    peer: String,
    downlink: Downlink,
    /// MNs seen on this link (their sessions route commands to `downlink`).
    mns: Vec<String>,
    /// Refusals in a row.
    refusals: u32,
    logged_refusals: u32,
    /// Created on the first split part only, so idle links do not pay for it.
    reassembler: Option<hj212::Reassembler>,
    started: Instant,
}

/// What became of one decoder result.
pub(crate) enum Intake {
    /// The decoder rejected the candidate (counted by error, logged).
    Rejected,
    /// Refused by the registry or the device's policy (counted by reason, logged); `close`: the
    /// link has had `refusals_before_close` in a row.
    Refused { close: bool },
    /// Queued for the writer: `done` resolves to `true` once the packet is durable, and then
    /// `ack` (the 9014, if the packet asked for one) is due.
    Queued {
        done: oneshot::Receiver<bool>,
        ack: Option<Vec<u8>>,
        arrived: Instant,
    },
    /// The writer has stopped.
    Stopped,
}

/// A command the platform sent to a device.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SentCommand {
    pub id: i64,
    pub qn: String,
    pub frame: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("device {0} is not connected")]
    NotConnected(String),
    #[error("device {0} is not registered")]
    UnknownDevice(String),
    #[error("{0}")]
    Invalid(String),
    #[error("store: {0}")]
    Store(String),
}

/// Shared state of the gateway.
pub struct Gateway {
    pub(crate) cfg: GatewayConfig,
    registry: Arc<Registry>,
    writer: WriterHandle,
    /// With a bus, accepted packets go to the stream (9014 on its PubAck) instead of the
    /// writer; the writer then only records commands sent to devices.
    bus: Option<crate::bus::Publisher>,
    metrics: Arc<Metrics>,
    sessions: Mutex<HashMap<String, Session>>,
    next_conn: AtomicU64,
    last_qn_ms: AtomicI64,
    log_window: Mutex<(Instant, u32)>,
}

/// At most this many refusal log lines a second, across all connections.
const REFUSAL_LOGS_PER_SECOND: u32 = 20;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Gateway {
    pub fn new(
        cfg: GatewayConfig,
        registry: Arc<Registry>,
        writer: WriterHandle,
        metrics: Arc<Metrics>,
    ) -> Arc<Gateway> {
        Arc::new(Gateway {
            cfg,
            registry,
            writer,
            bus: None,
            metrics,
            sessions: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            last_qn_ms: AtomicI64::new(0),
            log_window: Mutex::new((Instant::now(), 0)),
        })
    }

    /// A gateway that publishes accepted packets to the intake bus (see [`crate::bus`]);
    /// `writer` records the commands it sends to devices.
    pub fn with_bus(
        cfg: GatewayConfig,
        registry: Arc<Registry>,
        writer: WriterHandle,
        bus: crate::bus::Publisher,
        metrics: Arc<Metrics>,
    ) -> Arc<Gateway> {
        let mut g = Gateway::new(cfg, registry, writer, metrics);
        Arc::get_mut(&mut g).expect("just created").bus = Some(bus);
        g
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub fn writer(&self) -> &WriterHandle {
        &self.writer
    }

    /// MNs with an open connection.
    pub fn connected(&self) -> Vec<String> {
        let mut v: Vec<String> = self.lock_sessions().keys().cloned().collect();
        v.sort();
        v
    }

    fn lock_sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Accepts connections until `shutdown` turns true, then waits (up to `grace`) for every
    /// connection to finish and flush the acks of what it already handed to the writer.
    pub async fn run(
        self: Arc<Self>,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
        grace: Duration,
    ) {
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let gw = self.clone();
                        let sd = shutdown.clone();
                        tasks.spawn(async move { gw.connection(stream, peer, sd).await });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                _ = shutdown.changed() => break,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        drop(listener);
        let deadline = tokio::time::sleep(grace);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                next = tasks.join_next() => if next.is_none() { break },
                _ = &mut deadline => {
                    tracing::warn!(open = tasks.len(), "shutdown grace period over; closing remaining connections");
                    tasks.abort_all();
                    break;
                }
            }
        }
    }

    async fn connection(
        self: Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        mut shutdown: watch::Receiver<bool>,
    ) {
        self.metrics.connections_total.fetch_add(1, Relaxed);
        self.metrics.connections_open.fetch_add(1, Relaxed);
        let _ = stream.set_nodelay(true);
        let (rd, wr) = stream.into_split();
        let (tx, rx) = mpsc::channel(self.cfg.max_inflight.max(1));
        let writer_task = tokio::spawn(write_loop(wr, rx, self.metrics.clone()));
        let mut ctx = ConnCtx {
            link: self.open_link("tcp", peer.to_string(), Downlink::Stream(tx.clone())),
            tx,
            decoder: Decoder::new(DecoderConfig::new(self.cfg.mode)),
        };
        let mut open = true;
        let mut idle = Duration::ZERO;
        // Wake at least this often: a device that ends frames without CR LF has its last frame
        // released by `flush_idle` instead of waiting for the next packet.
        let tick = Duration::from_secs(2).min(self.cfg.idle_timeout);
        while open {
            let readable = tokio::select! {
                r = tokio::time::timeout(tick, rd.readable()) => r,
                _ = shutdown.changed() => break,
            };
            match readable {
                Err(_) => {
                    if let Some(r) = ctx.decoder.flush_idle() {
                        if !self.frame(r, &mut ctx).await {
                            break;
                        }
                    }
                    idle += tick;
                    if idle >= self.cfg.idle_timeout {
                        tracing::debug!(peer = %peer, "idle timeout");
                        break;
                    }
                    continue;
                }
                Ok(Err(_)) => break,
                Ok(Ok(())) => idle = Duration::ZERO,
            }
            match read_some(&rd, &mut ctx.decoder) {
                Ok(0) => {
                    // End of stream: a last frame without tail may be pending.
                    if let Some(r) = ctx.decoder.finish() {
                        self.frame(r, &mut ctx).await;
                    }
                    break;
                }
                Ok(n) => {
                    self.metrics.bytes_received.fetch_add(n as u64, Relaxed);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(_) => break,
            }
            while let Some(r) = ctx.decoder.next_frame() {
                if !self.frame(r, &mut ctx).await {
                    open = false;
                    break;
                }
            }
        }
        let ConnCtx { link, tx, .. } = ctx;
        self.close_link(link);
        drop(tx);
        // Every ack already queued is written once its commit completes.
        let _ = writer_task.await;
        self.metrics.connections_open.fetch_sub(1, Relaxed);
    }

    /// Handles one decoder result of a TCP connection; false closes the connection.
    async fn frame(&self, r: Result<Frame, FrameError>, ctx: &mut ConnCtx) -> bool {
        match self.intake(r, &mut ctx.link).await {
            Intake::Rejected => true,
            Intake::Refused { close } => !close,
            Intake::Stopped => false,
            Intake::Queued { done, ack, arrived } => {
                let _ = ctx
                    .tx
                    .send(Outgoing::AfterCommit {
                        done,
                        reply: ack,
                        arrived,
                    })
                    .await;
                true
            }
        }
    }

    /// A new link for a transport: `peer` names it in logs and in the archive.
    pub(crate) fn open_link(
        &self,
        transport: &'static str,
        peer: String,
        downlink: Downlink,
    ) -> Link {
        Link {
            id: self.next_conn.fetch_add(1, Relaxed),
            transport,
            peer,
            downlink,
            mns: Vec::new(),
            refusals: 0,
            logged_refusals: 0,
            reassembler: None,
            started: Instant::now(),
        }
    }

    /// The link is gone: its devices are no longer reachable through it, and split packets
    /// still incomplete on it are counted as expired.
    pub(crate) fn close_link(&self, link: Link) {
        {
            let mut sessions = self.lock_sessions();
            for mn in &link.mns {
                if sessions.get(mn).is_some_and(|s| s.conn == link.id) {
                    sessions.remove(mn);
                }
            }
        }
        if let Some(r) = &link.reassembler {
            self.metrics
                .split_expired
                .fetch_add(r.pending_sets() as u64, Relaxed);
        }
    }

    /// The intake pipeline for one decoder result, shared by every transport: policy checks,
    /// refusals, split packets, conversion, the writer, and answers that do not wait for the
    /// commit (9013, the clock for a 1013). The caller sends `ack` once `done` says durable.
    pub(crate) async fn intake(&self, r: Result<Frame, FrameError>, link: &mut Link) -> Intake {
        let frame = match r {
            Ok(f) => f,
            Err(e) => {
                self.metrics
                    .frames_rejected
                    .inc(link.transport, e.kind.as_str());
                if self.may_log() {
                    tracing::info!(peer = %link.peer, offset = e.offset, error = e.kind.as_str(), detail = %e.detail, "frame rejected");
                }
                return Intake::Rejected;
            }
        };
        self.metrics.frames_accepted.fetch_add(1, Relaxed);
        let p = &frame.packet;
        let Some(reg) = self.registry.lookup(p.mn()) else {
            return self.refuse(link, "unknown_mn", p.mn(), false, String::new());
        };
        if reg.device.pw != p.pw() {
            return self.refuse(link, "wrong_pw", p.mn(), true, String::new());
        }
        let devs = frame.deviation_set();
        if !devs.is_subset(reg.allowed) {
            let names: Vec<&str> = devs
                .difference(reg.allowed)
                .iter()
                .map(|d| d.as_str())
                .collect();
            return self.refuse(link, "deviation_not_allowed", p.mn(), true, names.join(","));
        }
        link.refusals = 0;
        for d in devs.iter() {
            self.metrics.deviation(d);
        }
        self.metrics.packets_by_cn.inc(p.cn());
        if !link.mns.iter().any(|m| m == p.mn()) {
            link.mns.push(p.mn().to_string());
            self.lock_sessions().insert(
                p.mn().to_string(),
                Session {
                    conn: link.id,
                    downlink: link.downlink.clone(),
                    st: p.st().to_string(),
                    pw: p.pw().to_string(),
                    flag_version: p.version(),
                },
            );
            self.on_connect(&reg).await;
        }
        if p.is_split() {
            // Each part carries complete groups with its own DataTime and QN and is acked on
            // its own (the field sends part n+1 only after the 9014 of part n), so its values
            // are stored as they come; reassembly tracks that every set completes.
            self.metrics.split_parts.fetch_add(1, Relaxed);
            let now = link.started.elapsed().as_millis() as u64;
            let timeout_ms = self.cfg.split_timeout.as_millis() as u64;
            let r = link.reassembler.get_or_insert_with(|| {
                hj212::Reassembler::new(hj212::ReassemblerConfig {
                    timeout_ms,
                    ..Default::default()
                })
            });
            if r.push(p.clone(), now).is_some() {
                self.metrics.split_completed.fetch_add(1, Relaxed);
            }
            let expired = r.expire(now).len() as u64;
            self.metrics.split_expired.fetch_add(expired, Relaxed);
        }
        let received_ms = now_ms();
        let mut skipped = Vec::new();
        let values = values_of(p, &reg.device, received_ms.div_euclid(1000), &mut skipped);
        for s in &skipped {
            let (reason, detail) = match s {
                Skipped::NoDataTime => ("no_datatime", String::new()),
                Skipped::NotANumber(item) => ("value_not_a_number", item.to_string()),
            };
            self.metrics.refusals.inc(link.transport, reason);
            self.metrics.device_refusals.record(
                p.mn(),
                true,
                reason,
                &detail,
                &link.peer,
                received_ms,
            );
        }
        let answer = match p.cn() {
            "9011" => p.qn().zip(p.get("QnRtn")).and_then(|(qn, c)| {
                c.parse().ok().map(|code| CommandAnswer::QnRtn {
                    qn: qn.to_string(),
                    code,
                })
            }),
            "9012" => p.qn().zip(p.get("ExeRtn")).and_then(|(qn, c)| {
                c.parse().ok().map(|code| CommandAnswer::ExeRtn {
                    qn: qn.to_string(),
                    code,
                })
            }),
            _ => None,
        };
        // Std §6.1/§6.5: uploads with A=1 get 9014 (here only once durable); notifications
        // and heartbeats with A=1 get 9013 at once.
        let (ack, notify_ack) = match hj212::reply::platform_answer(p) {
            Some(a) if a.cn() == "9014" => (Some(hj212::encode(&a)), None),
            Some(a) => (None, Some(hj212::encode(&a))),
            None => (None, None),
        };
        let packet = IntakePacket {
            received_ms,
            mn: p.mn().to_string(),
            cn: p.cn().to_string(),
            qn: p.qn().map(str::to_string),
            peer: link.peer.clone(),
            raw: frame.raw.to_vec(),
            values,
            deviations: devs.iter().map(|d| d.as_str().to_string()).collect(),
            answer,
            bus_id: None,
        };
        let arrived = Instant::now();
        let done = match &self.bus {
            Some(bus) => bus.submit(packet).await,
            None => match self.writer.submit(packet).await {
                Ok(done) => done,
                Err(_) => return Intake::Stopped,
            },
        };
        if let Some(frame) = notify_ack {
            if link.downlink.send(frame).await {
                self.metrics.replies_sent.fetch_add(1, Relaxed);
            }
        }
        if p.cn() == "1013" {
            // The field asked for time calibration (Std C.3): answer 9013, then set its clock.
            let _ = self.calibrate_clock(&reg.device.mn).await;
        }
        Intake::Queued { done, ack, arrived }
    }

    fn refuse(
        &self,
        link: &mut Link,
        reason: &'static str,
        mn: &str,
        registered: bool,
        detail: String,
    ) -> Intake {
        self.metrics.refusals.inc(link.transport, reason);
        self.metrics
            .device_refusals
            .record(mn, registered, reason, &detail, &link.peer, now_ms());
        link.refusals += 1;
        link.logged_refusals += 1;
        if link.logged_refusals <= 3 && self.may_log() {
            tracing::warn!(peer = %link.peer, mn = %mn, reason, detail = %detail, "packet refused");
        }
        let close = link.refusals >= self.cfg.refusals_before_close;
        if close && link.transport == "tcp" && self.may_log() {
            tracing::warn!(peer = %link.peer, refusals = link.refusals, "closing connection after repeated refusals");
        }
        Intake::Refused { close }
    }
    /// Global log rate limit so that no device can flood the log.
    pub(crate) fn may_log(&self) -> bool {
        let mut w = self.log_window.lock().unwrap_or_else(|e| e.into_inner());
        if w.0.elapsed() >= Duration::from_secs(1) {
            *w = (Instant::now(), 0);
        }
        w.1 += 1;
        w.1 <= REFUSAL_LOGS_PER_SECOND
    }

    async fn on_connect(&self, reg: &Registered) {
        let d = &reg.device;
        if d.calibrate_clock {
            let _ = self.calibrate_clock(&d.mn).await;
        }
        if let Some(s) = d.rtd_interval {
            let _ = self
                .send_command(&d.mn, "1062", vec![("RtdInterval".into(), s.to_string())])
                .await;
        }
        if let Some(m) = d.min_interval {
            let _ = self
                .send_command(&d.mn, "1064", vec![("MinInterval".into(), m.to_string())])
                .await;
        }
    }

    async fn calibrate_clock(&self, mn: &str) -> Result<SentCommand, CommandError> {
        let now = model::format_hj212_time(now_ms() / 1000);
        self.send_command(mn, "1012", vec![("SystemTime".into(), now)])
            .await
    }

    /// Sends a platform→device request (e.g. 2061 with BeginTime/EndTime to back-fill) to a
    /// connected device; the 9011/9012 answers are recorded against the returned id.
    pub async fn send_command(
        &self,
        mn: &str,
        cn: &str,
        cp: Vec<(String, String)>,
    ) -> Result<SentCommand, CommandError> {
        if hj212::CommandCode::lookup_str(cn).is_none() {
            return Err(CommandError::Invalid(format!(
                "unknown command code CN={cn}"
            )));
        }
        if self.registry.get(mn).is_none() {
            return Err(CommandError::UnknownDevice(mn.to_string()));
        }
        let (downlink, st, pw, version) = {
            let sessions = self.lock_sessions();
            let s = sessions
                .get(mn)
                .ok_or_else(|| CommandError::NotConnected(mn.to_string()))?;
            (
                s.downlink.clone(),
                s.st.clone(),
                s.pw.clone(),
                s.flag_version,
            )
        };
        let qn = self.next_qn();
        let items: Vec<(&str, &str)> = cp.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let packet = hj212::commands::Target::new(&st, &pw, mn, version)
            .request(&qn, cn, &items)
            .map_err(|e| CommandError::Invalid(e.to_string()))?;
        let frame = hj212::encode(&packet);
        let text = String::from_utf8_lossy(&frame).into_owned();
        let id = self
            .writer
            .record_command(mn, &qn, cn, &text, now_ms())
            .await
            .map_err(CommandError::Store)?;
        if !downlink.send(frame).await {
            return Err(CommandError::NotConnected(mn.to_string()));
        }
        self.metrics.commands_sent.fetch_add(1, Relaxed);
        Ok(SentCommand {
            id,
            qn,
            frame: text,
        })
    }

    /// A fresh QN (YYYYMMDDhhmmsszzz, Beijing), strictly increasing within this process.
    fn next_qn(&self) -> String {
        let now = now_ms();
        let mut prev = self.last_qn_ms.load(Relaxed);
        let ms = loop {
            let next = now.max(prev + 1);
            match self
                .last_qn_ms
                .compare_exchange(prev, next, Relaxed, Relaxed)
            {
                Ok(_) => break next,
                Err(p) => prev = p,
            }
        };
        format!(
            "{}{:03}",
            model::format_hj212_time(ms.div_euclid(1000)),
            ms.rem_euclid(1000)
        )
    }
}

struct ConnCtx {
    link: Link,
    tx: mpsc::Sender<Outgoing>,
    decoder: Decoder,
}

/// Reads what the socket has into the decoder through a stack buffer, so an idle connection
/// holds no read buffer at all.
fn read_some(rd: &OwnedReadHalf, decoder: &mut Decoder) -> std::io::Result<usize> {
    let mut buf = [0u8; 16 * 1024];
    let n = rd.try_read(&mut buf)?;
    decoder.feed(&buf[..n]);
    Ok(n)
}

async fn write_loop(wr: OwnedWriteHalf, mut rx: mpsc::Receiver<Outgoing>, metrics: Arc<Metrics>) {
    let mut wr = tokio::io::BufWriter::with_capacity(4096, wr);
    let mut broken = false;
    while let Some(out) = rx.recv().await {
        let (bytes, ack_of) = match out {
            Outgoing::Frame(b) => (Some(b), None),
            Outgoing::AfterCommit {
                done,
                reply,
                arrived,
            } => {
                let durable = done.await.unwrap_or(false);
                if durable {
                    (reply, Some(arrived))
                } else {
                    (None, None)
                }
            }
        };
        if let (Some(b), false) = (bytes, broken) {
            if wr.write_all(&b).await.is_err() {
                broken = true;
            } else if let Some(arrived) = ack_of {
                metrics.acks_sent.fetch_add(1, Relaxed);
                metrics.ack_latency.observe(arrived.elapsed().as_secs_f64());
            }
        }
        if rx.is_empty() && !broken && wr.flush().await.is_err() {
            broken = true;
        }
    }
    let _ = wr.flush().await;
    let _ = wr.shutdown().await;
}
