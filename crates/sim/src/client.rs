//! The fleet on the wire: one tokio task and one TCP connection per device. A task is a
//! single loop over `readable` / `writable` / a timer, so a connection costs a decoder, an
//! output buffer and its pending-ack map (a few KB), and thousands fit in one process.
//!
//! * History (`history`): hour data (2061) and day data (2031) from `now - history` to now,
//!   as fast as acks allow, at most `window` un-acked packets per connection; then each
//!   device goes live (unless `live_after_history` is off: replay only).
//! * Live: real-time data (2011) paced by the wall clock at `rate` packets/s in total (or each
//!   device's RtdInterval), plus minute (2051), hour (2061) and day (2031) data when an
//!   interval completes. Restaurants disconnect outside opening hours (10:00–22:00).
//! * Burst: no window — every packet is written without waiting for acks (history), and
//!   live ticks of all devices fall on the same instants.
//! * Every upload asks for a 9014 (Flag=5); acks are matched by QN. An upload not acked
//!   within `ack_timeout` is resent with the same QN, up to `retries` times (Std Table 1:
//!   10 s, 3 retries); after a reconnect every pending upload is resent.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hj212::{Decoder, DecoderConfig, Mode};
use profile::SiteKind;
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};

use crate::fleet::SimDevice;
use crate::gen::{applies, DeviceGen, Upload};
use crate::models::fume_open;
use crate::respond::{respond, LoggerState, Out};
use crate::rng::unit;
use crate::time::{floor_day, floor_hour, now_ms, qn_number, DAY, HOUR};

/// Simulator settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub to: SocketAddr,
    /// Live real-time packets per second over the whole fleet; `None`: each device's
    /// RtdInterval (30 s unless the platform sets it with 1062).
    pub rate: Option<f64>,
    /// Bounds the whole run (history and live). `None`: until stopped, or until the history
    /// is acknowledged when there is no live phase (`live_after_history` false).
    pub duration: Option<Duration>,
    /// Replay this much history (hour + day data) first.
    pub history: Option<Duration>,
    /// Each device goes live once its history is sent (the demo: a fleet keeps reporting).
    /// `false`: the run ends when the history is acknowledged (replay only). Without a
    /// history the run is live from the start.
    pub live_after_history: bool,
    pub burst: bool,
    pub seed: u64,
    /// Un-acked packets per connection in history mode.
    pub window: usize,
    pub fume_code: String,
    /// Keep restaurants online at night (load tests).
    pub fume_always_open: bool,
    pub ack_timeout: Duration,
    pub retries: u32,
    /// Connection attempts in flight at once.
    pub connect_concurrency: usize,
}

impl SimConfig {
    pub fn new(to: SocketAddr) -> SimConfig {
        SimConfig {
            to,
            rate: None,
            duration: None,
            history: None,
            live_after_history: true,
            burst: false,
            seed: 1,
            window: 64,
            fume_code: crate::fleet::FUME_CODE.to_string(),
            fume_always_open: false,
            ack_timeout: Duration::from_secs(10),
            retries: 3,
            connect_concurrency: 128,
        }
    }
}

const BUCKETS: usize = 1200;
const GROWTH: f64 = 1.02;

/// Log-bucketed ack latency histogram (µs, ~2 % resolution), lock-free.
pub struct Histogram {
    buckets: Vec<AtomicU64>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Histogram {
    pub fn record(&self, d: Duration) {
        let us = d.as_micros() as f64;
        let i = ((us + 1.0).ln() / GROWTH.ln()) as usize;
        self.buckets[i.min(BUCKETS - 1)].fetch_add(1, Relaxed);
    }
    /// The `q` quantile in milliseconds (upper bound of its bucket), 0 when empty.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let target = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut acc = 0;
        for (i, c) in counts.iter().enumerate() {
            acc += c;
            if acc >= target {
                return (GROWTH.powi(i as i32 + 1) - 1.0) / 1000.0;
            }
        }
        0.0
    }
}

#[derive(Default)]
struct KindStats {
    devices: AtomicU64,
    sent: AtomicU64,
    acked: AtomicU64,
    values: AtomicU64,
}

/// Counters shared by every device task.
#[derive(Default)]
pub struct Stats {
    pub connections: AtomicU64,
    pub connect_failures: AtomicU64,
    pub sent: AtomicU64,
    pub resent: AtomicU64,
    pub acked: AtomicU64,
    pub values: AtomicU64,
    pub requests: AtomicU64,
    pub expired: AtomicU64,
    /// Devices whose history is sent and every upload of it acknowledged (or given up).
    pub history_done: AtomicU64,
    pub latency: Histogram,
    by_kind: [KindStats; 7],
}

fn kind_index(k: SiteKind) -> usize {
    SiteKind::ALL.iter().position(|x| *x == k).unwrap_or(0)
}

/// Per-kind figures of the summary.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KindSummary {
    pub devices: u64,
    pub sent: u64,
    pub acked: u64,
    pub values: u64,
}

/// What a run sent and what was acknowledged (printed as one JSON line).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub devices: u64,
    pub connections: u64,
    pub sent: u64,
    pub acked: u64,
    pub unacked: u64,
    pub values: u64,
    pub elapsed_s: f64,
    pub packets_per_s: f64,
    pub ack_p50_ms: f64,
    pub ack_p99_ms: f64,
    pub resent: u64,
    pub requests: u64,
    pub connect_failures: u64,
    pub by_kind: std::collections::BTreeMap<String, KindSummary>,
}

impl Stats {
    pub fn summary(&self, devices: usize, elapsed: Duration) -> Summary {
        let sent = self.sent.load(Relaxed);
        let acked = self.acked.load(Relaxed);
        let secs = elapsed.as_secs_f64();
        let round = |x: f64, d: i32| {
            let p = 10f64.powi(d);
            (x * p).round() / p
        };
        Summary {
            devices: devices as u64,
            connections: self.connections.load(Relaxed),
            sent,
            acked,
            unacked: sent.saturating_sub(acked),
            values: self.values.load(Relaxed),
            elapsed_s: round(secs, 3),
            packets_per_s: round(if secs > 0.0 { acked as f64 / secs } else { 0.0 }, 1),
            ack_p50_ms: round(self.latency.quantile_ms(0.50), 3),
            ack_p99_ms: round(self.latency.quantile_ms(0.99), 3),
            resent: self.resent.load(Relaxed),
            requests: self.requests.load(Relaxed),
            connect_failures: self.connect_failures.load(Relaxed),
            by_kind: SiteKind::ALL
                .iter()
                .enumerate()
                .filter(|(i, _)| self.by_kind[*i].devices.load(Relaxed) > 0)
                .map(|(i, k)| {
                    let s = &self.by_kind[i];
                    (
                        k.as_str().to_string(),
                        KindSummary {
                            devices: s.devices.load(Relaxed),
                            sent: s.sent.load(Relaxed),
                            acked: s.acked.load(Relaxed),
                            values: s.values.load(Relaxed),
                        },
                    )
                })
                .collect(),
        }
    }
}

struct Ctx {
    cfg: SimConfig,
    stats: Arc<Stats>,
    stop: watch::Receiver<bool>,
    connect: Semaphore,
    /// Live tick interval per device when a total rate is given.
    tick: Option<Duration>,
    /// History range (Unix seconds): hours from `h0` to `h_end` (exclusive).
    h0: i64,
    h_end: i64,
}

/// Runs the fleet until it is done (history acked, duration over, or `stop` set) and returns
/// the summary. `stats` may be watched while it runs.
pub async fn run(
    cfg: SimConfig,
    fleet: Vec<SimDevice>,
    stats: Arc<Stats>,
    stop: watch::Receiver<bool>,
) -> Summary {
    let start = Instant::now();
    let n = fleet.len();
    let now = now_ms() / 1000;
    let h_end = floor_hour(now);
    let h0 = cfg
        .history
        .map(|h| floor_hour(now - h.as_secs() as i64))
        .unwrap_or(h_end);
    let tick = cfg
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(n.max(1) as f64 / r));
    // The run's own stop: the caller's, or the duration.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut caller_stop = stop;
    let duration = cfg.duration;
    let stopper = tokio::spawn(async move {
        let deadline = async {
            match duration {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = deadline => {}
            _ = caller_stop.wait_for(|s| *s) => {}
        }
        let _ = stop_tx.send(true);
    });
    let ctx = Arc::new(Ctx {
        connect: Semaphore::new(cfg.connect_concurrency.max(1)),
        cfg,
        stats: stats.clone(),
        stop: stop_rx,
        tick,
        h0,
        h_end,
    });
    let mut tasks = tokio::task::JoinSet::new();
    for dev in fleet {
        stats.by_kind[kind_index(dev.kind)]
            .devices
            .fetch_add(1, Relaxed);
        let ctx = ctx.clone();
        tasks.spawn(async move { Device::new(dev, &ctx).run(&ctx).await });
    }
    while tasks.join_next().await.is_some() {}
    stopper.abort();
    stats.summary(n, start.elapsed())
}

struct Pending {
    up: Upload,
    t: i64,
    sent: Instant,
    tries: u32,
    /// Part of the history replay (not a live upload).
    history: bool,
}

/// History cursor: hour data for every hour, then the day data once a day is complete.
struct History {
    /// Range start: day data only for Beijing days wholly inside the range.
    start: i64,
    next: i64,
    end: i64,
    day_due: Option<i64>,
}

impl History {
    fn next(&mut self, dev: &SimDevice) -> Option<(Upload, i64)> {
        loop {
            if let Some(d) = self.day_due.take() {
                if applies(dev, Upload::Day, d) {
                    return Some((Upload::Day, d));
                }
            }
            if self.next >= self.end {
                return None;
            }
            let t = self.next;
            self.next += HOUR;
            // The Beijing day that ends with this hour is complete: its day data follows.
            if floor_day(self.next) == self.next && self.next - DAY >= self.start {
                self.day_due = Some(self.next - DAY);
            }
            if applies(dev, Upload::Hour, t) {
                return Some((Upload::Hour, t));
            }
        }
    }
}

struct Device {
    dev: SimDevice,
    gen: DeviceGen,
    state: LoggerState,
    history: History,
    queue: VecDeque<Out>,
    resend: VecDeque<u64>,
    pending: HashMap<u64, Pending>,
    last_qn: u64,
    kind: usize,
    /// Counted in `Stats::history_done`.
    history_noted: bool,
    /// Live: next real-time tick, last boundary check (Unix s).
    next_tick: Instant,
    last_check: i64,
    frame: Vec<u8>,
}

enum SessionEnd {
    /// Nothing left to do.
    Done,
    /// The connection broke: reconnect.
    Broken,
    /// Restaurant closed for the night.
    Closed,
}

impl Device {
    fn new(dev: SimDevice, ctx: &Ctx) -> Device {
        let gen = DeviceGen::new(&dev, ctx.cfg.seed, &ctx.cfg.fume_code);
        let phase = if ctx.cfg.burst {
            0.0
        } else {
            unit(&[ctx.cfg.seed, dev.key, 0x9A5E])
        };
        let first = ctx.tick.unwrap_or(Duration::from_secs(30)).mul_f64(phase);
        // Day data only for days wholly inside the range.
        let history = History {
            start: ctx.h0,
            next: ctx.h0,
            end: ctx.h_end,
            day_due: None,
        };
        let kind = kind_index(dev.kind);
        Device {
            gen,
            state: LoggerState::default(),
            history,
            queue: VecDeque::new(),
            resend: VecDeque::new(),
            pending: HashMap::new(),
            last_qn: 0,
            kind,
            history_noted: false,
            next_tick: Instant::now() + first,
            last_check: now_ms() / 1000,
            frame: Vec::with_capacity(1024),
            dev,
        }
    }

    fn stopped(ctx: &Ctx) -> bool {
        *ctx.stop.borrow()
    }

    fn history_left(&self) -> bool {
        self.history.next < self.history.end || self.history.day_due.is_some()
    }

    /// Live phase: no history left, and the run goes live after it (or has no history).
    fn live(&self, ctx: &Ctx) -> bool {
        !self.history_left() && (ctx.cfg.history.is_none() || ctx.cfg.live_after_history)
    }

    /// Counts the device in `history_done` once its history is sent and acknowledged.
    fn note_history(&mut self, ctx: &Ctx) {
        if !self.history_noted
            && ctx.cfg.history.is_some()
            && !self.history_left()
            && !self.pending.values().any(|p| p.history)
        {
            self.history_noted = true;
            ctx.stats.history_done.fetch_add(1, Relaxed);
        }
    }

    fn nothing_in_flight(&self) -> bool {
        self.queue.is_empty() && self.resend.is_empty() && self.pending.is_empty()
    }

    async fn run(mut self, ctx: &Ctx) {
        let mut failures = 0u32;
        loop {
            if Self::stopped(ctx)
                || (!self.live(ctx) && !self.history_left() && self.nothing_in_flight())
            {
                return;
            }
            if self.dev.kind == SiteKind::Fume
                && self.live(ctx)
                && !ctx.cfg.fume_always_open
                && !fume_open(now_ms() / 1000)
                && self.nothing_in_flight()
            {
                // Closed: wait for opening time (or the end of the run).
                let mut stop = ctx.stop.clone();
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                continue;
            }
            let stream = {
                let _permit = ctx.connect.acquire().await;
                tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(ctx.cfg.to)).await
            };
            let stream = match stream {
                Ok(Ok(s)) => s,
                _ => {
                    ctx.stats.connect_failures.fetch_add(1, Relaxed);
                    failures += 1;
                    if failures > 30 {
                        return;
                    }
                    let mut stop = ctx.stop.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(500 * failures.min(4) as u64)) => {}
                        _ = stop.wait_for(|s| *s) => return,
                    }
                    continue;
                }
            };
            failures = 0;
            let _ = stream.set_nodelay(true);
            ctx.stats.connections.fetch_add(1, Relaxed);
            // Whatever was not acked on the previous connection goes again.
            let mut again: Vec<u64> = self.pending.keys().copied().collect();
            again.sort_unstable();
            self.resend.clear();
            self.resend.extend(again);
            match self.session(ctx, stream).await {
                SessionEnd::Done => return,
                SessionEnd::Broken => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                SessionEnd::Closed => {}
            }
        }
    }

    fn next_qn(&mut self) -> u64 {
        let qn = qn_number(now_ms()).max(self.last_qn + 1);
        self.last_qn = qn;
        qn
    }

    /// Frames an upload into `out` and records it as pending.
    fn write_upload(
        &mut self,
        ctx: &Ctx,
        up: Upload,
        t: i64,
        qn: Option<u64>,
        history: bool,
        out: &mut Vec<u8>,
    ) {
        let (qn, tries, history) = match qn {
            Some(q) => match self.pending.get(&q) {
                Some(p) => (q, p.tries + 1, p.history),
                None => (q, 1, history),
            },
            None => (self.next_qn(), 0, history),
        };
        self.frame.clear();
        let values = self.gen.frame(
            &self.dev,
            up,
            t,
            qn,
            self.state.min_interval,
            &mut self.frame,
        );
        out.extend_from_slice(&self.frame);
        let s = &ctx.stats;
        if tries == 0 {
            s.sent.fetch_add(1, Relaxed);
            s.values.fetch_add(values as u64, Relaxed);
            s.by_kind[self.kind].sent.fetch_add(1, Relaxed);
            s.by_kind[self.kind]
                .values
                .fetch_add(values as u64, Relaxed);
        } else {
            s.resent.fetch_add(1, Relaxed);
        }
        self.pending.insert(
            qn,
            Pending {
                up,
                t,
                sent: Instant::now(),
                tries,
                history,
            },
        );
    }

    /// Whether the device has this live upload (restaurants kept open keep sending at night).
    fn live_applies(&self, ctx: &Ctx, up: Upload, t: i64) -> bool {
        applies(&self.dev, up, t)
            || (ctx.cfg.fume_always_open && self.dev.kind == SiteKind::Fume && up != Upload::Day)
    }

    /// Live: what is due now (real-time tick, completed intervals).
    fn live_due(&mut self, ctx: &Ctx) {
        let now_i = Instant::now();
        let now = now_ms() / 1000;
        if now_i >= self.next_tick {
            if self.state.realtime && self.live_applies(ctx, Upload::Rtd, now) {
                self.queue.push_back(Out::Upload {
                    up: Upload::Rtd,
                    t: now,
                });
            }
            let step = ctx
                .tick
                .unwrap_or(Duration::from_secs(self.state.rtd_interval.max(1) as u64));
            self.next_tick += step;
            if self.next_tick < now_i {
                // Fell behind (slow server): do not try to catch up in a burst.
                self.next_tick = now_i + step;
            }
        }
        if now > self.last_check {
            let prev = self.last_check;
            self.last_check = now;
            let min = self.state.min_interval.max(1) as i64 * 60;
            let fl = |t: i64, s: i64| t - t.rem_euclid(s);
            if fl(now, min) > fl(prev, min) {
                let t = fl(now, min) - min;
                if self.live_applies(ctx, Upload::Min, t) {
                    self.queue.push_back(Out::Upload { up: Upload::Min, t });
                }
            }
            if floor_hour(now) > floor_hour(prev) {
                let t = floor_hour(now) - HOUR;
                if self.live_applies(ctx, Upload::Hour, t) {
                    self.queue.push_back(Out::Upload {
                        up: Upload::Hour,
                        t,
                    });
                }
            }
            if floor_day(now) > floor_day(prev) {
                let t = floor_day(now) - DAY;
                if applies(&self.dev, Upload::Day, t) {
                    self.queue.push_back(Out::Upload { up: Upload::Day, t });
                }
            }
        }
    }

    /// Expires or re-queues uploads whose ack is overdue.
    fn check_overdue(&mut self, ctx: &Ctx) {
        let now = Instant::now();
        let mut expired = Vec::new();
        for (qn, p) in &self.pending {
            if now.duration_since(p.sent) >= ctx.cfg.ack_timeout && !self.resend.contains(qn) {
                if p.tries < ctx.cfg.retries {
                    self.resend.push_back(*qn);
                } else {
                    expired.push(*qn);
                }
            }
        }
        for qn in expired {
            self.pending.remove(&qn);
            ctx.stats.expired.fetch_add(1, Relaxed);
        }
    }

    fn fill(&mut self, ctx: &Ctx, out: &mut Vec<u8>, live: bool, stopping: bool) {
        const OUT_MAX: usize = 64 * 1024;
        let window = if ctx.cfg.burst {
            usize::MAX
        } else {
            ctx.cfg.window.max(1)
        };
        while out.len() < OUT_MAX {
            let room = self.pending.len() < window;
            // A resend is already in flight (counted in `pending`): it needs no free slot.
            // Waiting for one would wait forever once the whole window awaits resends.
            if let Some(&qn) = self.resend.front() {
                self.resend.pop_front();
                if let Some(p) = self.pending.get(&qn) {
                    let (up, t) = (p.up, p.t);
                    self.write_upload(ctx, up, t, Some(qn), false, out);
                }
                continue;
            }
            match self.queue.front() {
                Some(Out::Frame(_)) => {
                    if let Some(Out::Frame(f)) = self.queue.pop_front() {
                        out.extend_from_slice(&f);
                    }
                    continue;
                }
                Some(Out::Upload { .. }) => {
                    if !room {
                        break;
                    }
                    if let Some(Out::Upload { up, t }) = self.queue.pop_front() {
                        self.write_upload(ctx, up, t, None, false, out);
                    }
                    continue;
                }
                None => {}
            }
            if stopping || live || !room {
                break;
            }
            match self.history.next(&self.dev) {
                Some((up, t)) => self.write_upload(ctx, up, t, None, true, out),
                None => break,
            }
        }
    }

    async fn session(&mut self, ctx: &Ctx, stream: TcpStream) -> SessionEnd {
        let mut decoder = Decoder::new(DecoderConfig::new(Mode::Lenient));
        let mut out: Vec<u8> = Vec::new();
        let mut pos = 0usize;
        let mut rbuf = vec![0u8; 4096];
        let mut stop = ctx.stop.clone();
        let mut next_overdue = Instant::now() + Duration::from_secs(1);
        let mut stop_at: Option<Instant> = None;
        loop {
            let stopping = Self::stopped(ctx);
            if stopping && stop_at.is_none() {
                // Give in-flight uploads one ack timeout to be acknowledged.
                stop_at = Some(Instant::now() + ctx.cfg.ack_timeout);
                self.queue.retain(|o| matches!(o, Out::Frame(_)));
            }
            let live = self.live(ctx);
            if live && !stopping {
                self.live_due(ctx);
            }
            if Instant::now() >= next_overdue {
                self.check_overdue(ctx);
                next_overdue = Instant::now() + Duration::from_secs(1);
            }
            if pos == out.len() {
                out.clear();
                pos = 0;
            }
            if out.len() - pos < 16 * 1024 {
                if pos > 0 {
                    out.drain(..pos);
                    pos = 0;
                }
                self.fill(ctx, &mut out, live, stopping);
            }
            self.note_history(ctx);
            let idle = pos == out.len() && self.nothing_in_flight();
            if idle && (stopping || (!live && !self.history_left())) {
                return SessionEnd::Done;
            }
            if stop_at.is_some_and(|s| Instant::now() >= s) {
                return SessionEnd::Done;
            }
            if live
                && idle
                && self.dev.kind == SiteKind::Fume
                && !ctx.cfg.fume_always_open
                && !fume_open(now_ms() / 1000)
            {
                return SessionEnd::Closed;
            }
            let mut wake = next_overdue;
            if live && !stopping {
                wake = wake.min(self.next_tick);
                // Interval boundaries are checked at least every second.
                wake = wake.min(Instant::now() + Duration::from_secs(1));
            }
            if let Some(s) = stop_at {
                wake = wake.min(s);
            }
            let want_write = pos < out.len();
            tokio::select! {
                r = stream.readable() => {
                    if r.is_err() {
                        return SessionEnd::Broken;
                    }
                    match stream.try_read(&mut rbuf) {
                        Ok(0) => return SessionEnd::Broken,
                        Ok(n) => {
                            decoder.feed(&rbuf[..n]);
                            while let Some(fr) = decoder.next_frame() {
                                if let Ok(fr) = fr {
                                    self.on_packet(ctx, &fr.packet);
                                }
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(_) => return SessionEnd::Broken,
                    }
                }
                w = stream.writable(), if want_write => {
                    if w.is_err() {
                        return SessionEnd::Broken;
                    }
                    match stream.try_write(&out[pos..]) {
                        Ok(n) => pos += n,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(_) => return SessionEnd::Broken,
                    }
                }
                _ = tokio::time::sleep_until(wake.into()) => {}
                _ = stop.changed(), if !stopping => {}
            }
        }
    }

    fn on_packet(&mut self, ctx: &Ctx, p: &hj212::Packet) {
        match p.cn() {
            "9014" => {
                if let Some(qn) = p.qn().and_then(|q| q.parse::<u64>().ok()) {
                    if let Some(pd) = self.pending.remove(&qn) {
                        let s = &ctx.stats;
                        s.acked.fetch_add(1, Relaxed);
                        s.by_kind[self.kind].acked.fetch_add(1, Relaxed);
                        s.latency.record(pd.sent.elapsed());
                    }
                }
            }
            "9013" | "9011" | "9012" => {}
            _ => {
                ctx.stats.requests.fetch_add(1, Relaxed);
                let outs = respond(&self.dev, &mut self.state, p, now_ms() / 1000);
                self.queue.extend(outs);
            }
        }
    }
}
