//! The batching writer: one thread owns the store and commits whatever has queued up since
//! the last commit in one transaction (group commit), then releases the acks of exactly the
//! packets that commit made durable.
//!
//! The queue in front of it is bounded: when it is full, connection tasks wait to enqueue, stop
//! reading their sockets, and TCP flow control slows the devices down. A burst costs latency,
//! never memory.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use store::{IntakePacket, Store};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;

/// Called after every successful commit with the packets it made durable (the engine's hook),
/// on a thread of its own, in commit order.
pub type CommitObserver = Box<dyn FnMut(&[IntakePacket]) + Send>;

pub(crate) enum WriteOp {
    Packet {
        packet: IntakePacket,
        /// Told `true` once the packet is durable, `false` if its commit failed.
        done: Option<oneshot::Sender<bool>>,
    },
    Command {
        mn: String,
        qn: String,
        cn: String,
        request: String,
        sent_ms: i64,
        done: oneshot::Sender<Result<i64, String>>,
    },
    Prune {
        before_ms: i64,
        done: oneshot::Sender<Result<u64, String>>,
    },
}

/// Limits of the writer.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Packets that may wait in the queue.
    pub queue: usize,
    /// Most packets committed in one transaction.
    pub max_batch: usize,
    /// Committed packets that may wait for the engines (the hand-off to the `derive` thread),
    /// however many commits they came in. Under a steady load commits are small; bounding by
    /// packets rather than batches lets derivation take many of them in one go instead of
    /// falling back to a catch-up after a few.
    pub derive_queue: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            queue: 16_384,
            max_batch: 8_192,
            derive_queue: 16_384,
        }
    }
}

/// Cheap clonable handle to the writer thread. The thread stops once every handle is dropped
/// and the queue is drained.
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<WriteOp>,
    metrics: Arc<Metrics>,
}

impl WriterHandle {
    /// Enqueues a packet; waits while the queue is full (backpressure). The receiver resolves
    /// to `true` once the packet is durable.
    pub async fn submit(&self, packet: IntakePacket) -> Result<oneshot::Receiver<bool>, Closed> {
        let (tx, rx) = oneshot::channel();
        self.send(WriteOp::Packet {
            packet,
            done: Some(tx),
        })
        .await?;
        Ok(rx)
    }

    /// Records a command sent to a device; returns its id.
    pub async fn record_command(
        &self,
        mn: &str,
        qn: &str,
        cn: &str,
        request: &str,
        sent_ms: i64,
    ) -> Result<i64, String> {
        let (tx, rx) = oneshot::channel();
        self.send(WriteOp::Command {
            mn: mn.into(),
            qn: qn.into(),
            cn: cn.into(),
            request: request.into(),
            sent_ms,
            done: tx,
        })
        .await
        .map_err(|_| "writer stopped".to_string())?;
        rx.await.map_err(|_| "writer stopped".to_string())?
    }

    /// Drops raw-archive chunks older than `before_ms`.
    pub async fn prune_archive(&self, before_ms: i64) -> Result<u64, String> {
        let (tx, rx) = oneshot::channel();
        self.send(WriteOp::Prune {
            before_ms,
            done: tx,
        })
        .await
        .map_err(|_| "writer stopped".to_string())?;
        rx.await.map_err(|_| "writer stopped".to_string())?
    }

    async fn send(&self, op: WriteOp) -> Result<(), Closed> {
        self.metrics.queue_depth.fetch_add(1, Relaxed);
        self.tx.send(op).await.map_err(|_| {
            self.metrics.queue_depth.fetch_sub(1, Relaxed);
            Closed
        })
    }
}

/// The writer has stopped.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the store writer has stopped")]
pub struct Closed;

/// Brings every derived table up to date from the store (the engines' watermark catch-ups).
pub type CatchUp = Box<dyn FnMut() + Send>;

/// What runs after commits: the observers, and optionally a catch-up that makes derivation
/// lossy-but-repaired instead of a brake on intake.
#[derive(Default)]
pub struct Derivation {
    /// Run on every committed batch, in order, on the `derive` thread.
    pub observers: Vec<CommitObserver>,
    /// With a catch-up, the writer never waits for derivation: when the hand-off queue is
    /// full it drops batches (counted in `qingshan_derive_skipped_total`) and the derive thread
    /// runs the catch-up instead, which derives them from the store. Without one, commits wait
    /// for room in the queue.
    pub catch_up: Option<CatchUp>,
}

impl From<Vec<CommitObserver>> for Derivation {
    fn from(observers: Vec<CommitObserver>) -> Self {
        Derivation {
            observers,
            catch_up: None,
        }
    }
}

/// Committed packets on their way to the `derive` thread: one queue bounded by packets (not by
/// commits), taken whole by the derive thread.
struct Handoff {
    state: Mutex<HandoffState>,
    /// Signalled when packets arrive, the writer stops, or the derive thread took packets.
    changed: Condvar,
    capacity: usize,
}

#[derive(Default)]
struct HandoffState {
    packets: Vec<IntakePacket>,
    /// Lossy mode: a batch was dropped since the derive thread last took the queue. While set
    /// the writer drops every batch, so that no later batch can move a watermark past a
    /// dropped one; the derive thread takes the flag with the queue and catches up.
    behind: bool,
    closed: bool,
}

impl Handoff {
    fn lock(&self) -> std::sync::MutexGuard<'_, HandoffState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a committed batch. Lossy: drops it (returns false) when the queue has no room or
    /// is behind; otherwise waits for room.
    fn put(&self, batch: Vec<IntakePacket>, lossy: bool, m: &Metrics) -> bool {
        let mut s = self.lock();
        let full = |s: &HandoffState| {
            !s.packets.is_empty() && s.packets.len() + batch.len() > self.capacity
        };
        if lossy {
            if s.behind || full(&s) {
                s.behind = true;
                self.changed.notify_all();
                return false;
            }
        } else {
            while full(&s) {
                s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
            }
        }
        if s.packets.is_empty() {
            s.packets = batch;
        } else {
            s.packets.extend(batch);
        }
        m.derive_pending.store(s.packets.len() as i64, Relaxed);
        self.changed.notify_all();
        true
    }

    /// Everything queued and whether batches were dropped before it; `None` once the writer
    /// stopped and nothing is left.
    fn take(&self, m: &Metrics) -> Option<(Vec<IntakePacket>, bool)> {
        let mut s = self.lock();
        loop {
            if !s.packets.is_empty() || s.behind {
                let packets = std::mem::take(&mut s.packets);
                let behind = std::mem::take(&mut s.behind);
                m.derive_pending.store(0, Relaxed);
                self.changed.notify_all();
                return Some((packets, behind));
            }
            if s.closed {
                return None;
            }
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }
}

/// The catch-ups after intake outran derivation: counted on /metrics and logged at most once
/// a minute (under a sustained overload they would otherwise log every few seconds).
struct CatchUpLog {
    last: Option<Instant>,
    unlogged: u64,
}

impl CatchUpLog {
    fn record(&mut self, m: &Metrics, elapsed: std::time::Duration) {
        m.derive_catchups.fetch_add(1, Relaxed);
        m.derive_catchup_ms
            .fetch_add(elapsed.as_millis() as u64, Relaxed);
        self.unlogged += 1;
        if self
            .last
            .is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(60))
        {
            tracing::info!(
                catch_ups = self.unlogged,
                elapsed_ms = elapsed.as_millis() as u64,
                "derived tables caught up after intake outran them (qingshan_derive_catchups_total)"
            );
            self.last = Some(Instant::now());
            self.unlogged = 0;
        }
    }
}

/// Starts the writer thread over `store`.
pub fn spawn_writer(
    mut store: Box<dyn Store>,
    cfg: WriterConfig,
    metrics: Arc<Metrics>,
    derivation: impl Into<Derivation>,
) -> (WriterHandle, std::thread::JoinHandle<()>) {
    let Derivation {
        mut observers,
        mut catch_up,
    } = derivation.into();
    let lossy = catch_up.is_some();
    // Observers (the engines' derived tables) run on their own thread, handed the committed
    // packets by move, so their cost never delays a commit or an ack.
    let derive: Option<(Arc<Handoff>, std::thread::JoinHandle<()>)> =
        (!observers.is_empty()).then(|| {
            let handoff = Arc::new(Handoff {
                state: Mutex::new(HandoffState::default()),
                changed: Condvar::new(),
                capacity: cfg.derive_queue.max(1),
            });
            let h = handoff.clone();
            let m = metrics.clone();
            let join = std::thread::Builder::new()
                .name("derive".into())
                .spawn(move || {
                    lower_priority();
                    let mut log = CatchUpLog {
                        last: None,
                        unlogged: 0,
                    };
                    // Everything committed since the last turn, in one go: engines recompute
                    // per touched key, so fewer, larger batches cost less than many small ones.
                    while let Some((batch, behind)) = h.take(&m) {
                        match catch_up.as_mut() {
                            // Batches were dropped after these: the catch-up derives them
                            // all from the store.
                            Some(c) if behind => {
                                let started = Instant::now();
                                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut *c))
                                    .is_err()
                                {
                                    tracing::error!("the derived tables' catch-up panicked");
                                }
                                log.record(&m, started.elapsed());
                                release_free_memory();
                            }
                            _ => {
                                for (i, o) in observers.iter_mut().enumerate() {
                                    // One engine's bug must not stop the others (or intake):
                                    // report it; that engine's next catch-up repairs it.
                                    let r = std::panic::catch_unwind(
                                        std::panic::AssertUnwindSafe(|| o(&batch)),
                                    );
                                    if r.is_err() {
                                        tracing::error!(observer = i, packets = batch.len(), "a commit observer panicked; its derived table misses this batch until its next catch-up");
                                    }
                                }
                            }
                        }
                    }
                })
                .expect("spawn derive thread");
            (handoff, join)
        });
    let (tx, mut rx) = mpsc::channel::<WriteOp>(cfg.queue.max(1));
    metrics.queue_capacity.store(cfg.queue as i64, Relaxed);
    let m = metrics.clone();
    let join = std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || {
            let mut packets: Vec<IntakePacket> = Vec::with_capacity(cfg.max_batch);
            let mut waiters: Vec<Option<oneshot::Sender<bool>>> = Vec::with_capacity(cfg.max_batch);
            while let Some(first) = rx.blocking_recv() {
                let mut next = Some(first);
                while let Some(op) = next.take() {
                    m.queue_depth.fetch_sub(1, Relaxed);
                    match op {
                        WriteOp::Packet { packet, done } => {
                            packets.push(packet);
                            waiters.push(done);
                        }
                        WriteOp::Command {
                            mn,
                            qn,
                            cn,
                            request,
                            sent_ms,
                            done,
                        } => {
                            let r = store
                                .record_command(&mn, &qn, &cn, &request, sent_ms)
                                .map_err(|e| e.to_string());
                            let _ = done.send(r);
                        }
                        WriteOp::Prune { before_ms, done } => {
                            let _ = done.send(store.prune_archive(before_ms).map_err(|e| e.to_string()));
                        }
                    }
                    if packets.len() < cfg.max_batch {
                        next = rx.try_recv().ok();
                    }
                }
                if packets.is_empty() {
                    continue;
                }
                let started = Instant::now();
                match store.commit(&packets) {
                    Ok(stats) => {
                        m.commit_latency.observe(started.elapsed().as_secs_f64());
                        m.commit_batches.fetch_add(1, Relaxed);
                        m.packets_committed.fetch_add(stats.packets, Relaxed);
                        m.values_committed.fetch_add(stats.values, Relaxed);
                        m.bus.duplicates_skipped.fetch_add(stats.duplicates, Relaxed);
                        for w in waiters.drain(..).flatten() {
                            let _ = w.send(true);
                        }
                        if let Some((handoff, _)) = &derive {
                            let mut batch = std::mem::replace(
                                &mut packets,
                                Vec::with_capacity(cfg.max_batch),
                            );
                            // the engines derive from values; the raw frames are archived
                            for p in batch.iter_mut() {
                                p.raw = Vec::new();
                            }
                            if !handoff.put(batch, lossy, &m) {
                                m.derive_skipped.fetch_add(1, Relaxed);
                            }
                        }
                    }
                    Err(e) => {
                        m.commit_errors.fetch_add(1, Relaxed);
                        tracing::error!(error = %e, packets = packets.len(), "group commit failed; nothing in it is acknowledged");
                        for w in waiters.drain(..).flatten() {
                            let _ = w.send(false);
                        }
                    }
                }
                packets.clear();
            }
            // Queue drained and closed: let derivation finish what was committed.
            if let Some((handoff, join)) = derive {
                handoff.close();
                let _ = join.join();
            }
        })
        .expect("spawn writer thread");
    (WriterHandle { tx, metrics }, join)
}

/// A catch-up reads every key that arrived since its watermark (millions after a history
/// replay); once it is done, give the freed heap back to the OS instead of keeping the peak
/// as resident memory for good.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Derivation runs at a lower CPU priority than intake (nice +10 for this thread): on a small
/// server the engines use what the gateway and the writer leave, and catch up when idle.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread; failure only leaves the priority as is.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}
