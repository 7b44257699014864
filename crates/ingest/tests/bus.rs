//! The NATS JetStream intake bus against the real server at 127.0.0.1:4222: devices over real
//! TCP → gateway → stream → writer → SQLite, with the 9014 on the stream's PubAck; a writer
//! that dies between its commit and its ack (the redelivery is stored once); a gateway
//! acknowledging while no writer runs (the data lands once one starts).
//!
//! Each test has its own stream, subjects and consumer, deleted at the end (also on failure).

use std::collections::HashSet;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use hj212::{Decoder, DecoderConfig, Mode, PacketBuilder};
use ingest::bus::{Bus, BusConfig};
use ingest::{spawn_writer, Gateway, GatewayConfig, Metrics, Registry, WriterConfig, WriterHandle};
use model::{Device, DeviceKind};
use store::{SqliteOptions, SqliteStore, Store, ValueFilter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

const NATS: &str = "nats://127.0.0.1:4222";

/// A unique stream, subject prefix and consumer; the stream (and with it the consumer) is
/// deleted when this is dropped.
struct TestBus {
    cfg: BusConfig,
}

impl TestBus {
    fn new(tag: &str) -> TestBus {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let u = format!(
            "{}_{nanos:x}_{}",
            std::process::id(),
            N.fetch_add(1, Relaxed)
        );
        let mut cfg = BusConfig::new(NATS, "gw1");
        cfg.stream = format!("QSTEST_{tag}_{u}");
        cfg.subject = format!("qstest.{tag}.{u}");
        cfg.consumer = format!("writers_{u}");
        // Short, so the redelivery test does not wait long.
        cfg.ack_wait = Duration::from_secs(2);
        TestBus { cfg }
    }
}

impl Drop for TestBus {
    fn drop(&mut self) {
        let name = self.cfg.stream.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(c) = async_nats::connect(NATS).await {
                    let _ = async_nats::jetstream::new(c).delete_stream(&name).await;
                }
            })
        })
        .join();
    }
}

fn device(i: usize) -> Device {
    Device::new(
        &format!("0B05{i:020}"),
        "123456",
        &format!("BUS-{i}"),
        DeviceKind::Wastewater,
    )
}

fn upload(d: &Device, k: u64) -> Vec<u8> {
    let p = PacketBuilder::new("32", "2061", &*d.pw, &*d.mn)
        .qn(format!("20260101{k:09}"))
        .flag(5)
        .item(
            "DataTime",
            model::format_hj212_time(1_700_000_000 + k as i64 * 3600),
        )
        .group([
            ("w01018-Avg", format!("{}.5", k % 100)),
            ("w01018-Flag", "N".into()),
        ])
        .group([("w21003-Avg", "1.25"), ("w21003-Flag", "N")])
        .build()
        .unwrap();
    hj212::encode(&p)
}

fn opts() -> SqliteOptions {
    SqliteOptions {
        fsync: false,
        cache_mib: 16,
    }
}

/// A store with `devices` registered and a writer over it.
fn writer_over(
    dir: &std::path::Path,
    devices: &[Device],
    metrics: &Arc<Metrics>,
) -> (WriterHandle, std::thread::JoinHandle<()>) {
    let mut store = SqliteStore::open_with(dir, &opts()).unwrap();
    for d in devices {
        store.put_device(d).unwrap();
    }
    spawn_writer(
        Box::new(store),
        WriterConfig {
            queue: 512,
            max_batch: 256,
            ..WriterConfig::default()
        },
        metrics.clone(),
        Vec::new(),
    )
}

/// A gateway publishing to the bus; returns its address and what stops it.
async fn gateway_node(
    bus: &Bus,
    devices: &[Device],
    writer: WriterHandle,
    metrics: &Arc<Metrics>,
) -> (
    std::net::SocketAddr,
    watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let gateway = Gateway::with_bus(
        GatewayConfig::default(),
        Arc::new(Registry::fixed(devices.to_vec())),
        writer,
        bus.publisher(),
        metrics.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stop_rx) = watch::channel(false);
    let run = tokio::spawn(gateway.run(listener, stop_rx, Duration::from_secs(10)));
    (addr, stop, run)
}

/// Sends `n` uploads of device `d` (pipelined) and returns the QNs acknowledged with 9014.
async fn send(addr: std::net::SocketAddr, d: &Device, first: u64, n: u64) -> HashSet<String> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let frames: Vec<u8> = (first..first + n).flat_map(|k| upload(d, k)).collect();
    s.write_all(&frames).await.unwrap();
    let mut dec = Decoder::new(DecoderConfig::new(Mode::Strict));
    let mut acked = HashSet::new();
    let mut buf = vec![0u8; 65536];
    while (acked.len() as u64) < n {
        let k = match tokio::time::timeout(Duration::from_secs(60), s.read(&mut buf)).await {
            Ok(Ok(k)) if k > 0 => k,
            _ => break,
        };
        dec.feed(&buf[..k]);
        while let Some(f) = dec.next_frame() {
            let p = f.unwrap().packet;
            if p.cn() == "9014" {
                assert_eq!(p.mn(), d.mn);
                acked.insert(p.qn().unwrap().to_string());
            }
        }
    }
    acked
}

/// Waits (bounded) until `f` holds; the assertions come after.
async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..600 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("gave up waiting for {what}");
}

fn stored(dir: &std::path::Path) -> (usize, u64, usize) {
    let s = SqliteStore::open_with(dir, &opts()).unwrap();
    let archived = s.archived(None, 0, i64::MAX).unwrap().len();
    let counted: u64 = s.device_states().unwrap().iter().map(|d| d.packets).sum();
    let mut values = 0;
    s.for_each_value(&ValueFilter::default(), &mut |_| {
        values += 1;
        Ok(())
    })
    .unwrap();
    (archived, counted, values)
}

async fn join_writer(t: std::thread::JoinHandle<()>) {
    tokio::task::spawn_blocking(move || t.join().unwrap())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_to_stream_to_writer_over_tcp() {
    let tb = TestBus::new("e2e");
    let devices: Vec<Device> = (0..6).map(device).collect();
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::default());
    let (writer, writer_thread) = writer_over(dir.path(), &devices, &metrics);
    let bus = Bus::connect(tb.cfg.clone(), metrics.clone()).await.unwrap();
    let consumer = bus.consumer().await.unwrap();
    let (stop_w, stop_w_rx) = watch::channel(false);
    let consuming = tokio::spawn(consumer.run(writer.clone(), stop_w_rx));
    let (addr, stop_g, gw) = gateway_node(&bus, &devices, writer.clone(), &metrics).await;

    let per = 50u64;
    let mut tasks = Vec::new();
    for d in devices.clone() {
        tasks.push(tokio::spawn(async move { send(addr, &d, 0, per).await }));
    }
    for t in tasks {
        assert_eq!(
            t.await.unwrap().len() as u64,
            per,
            "every packet acknowledged"
        );
    }
    let total = devices.len() as u64 * per;
    assert_eq!(metrics.bus.published.load(Relaxed), total);
    assert_eq!(metrics.acks_sent.load(Relaxed), total);
    wait_until("every packet committed and acked to the stream", || {
        metrics.bus.acked.load(Relaxed) == total
    })
    .await;

    let _ = stop_g.send(true);
    gw.await.unwrap();
    let _ = stop_w.send(true);
    consuming.await.unwrap().unwrap();
    drop(writer);
    join_writer(writer_thread).await;
    assert_eq!(
        stored(dir.path()),
        (total as usize, total, total as usize * 2),
        "archive, device counters and values: each packet exactly once"
    );
    assert_eq!(metrics.packets_committed.load(Relaxed), total);
    assert_eq!(metrics.bus.redelivered.load(Relaxed), 0);
    assert!(metrics
        .render()
        .contains("qingshan_bus_published_total 300"));
    // the work queue is empty once every message was acknowledged
    let info = bus
        .jetstream()
        .get_stream(&tb.cfg.stream)
        .await
        .unwrap()
        .get_info()
        .await
        .unwrap();
    assert_eq!(info.state.messages, 0);
}

/// A writer commits a batch and dies before acknowledging it: JetStream redelivers the
/// messages to the next writer, whose store recognises their ids and stores nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivery_after_a_crash_between_commit_and_ack_stores_once() {
    let tb = TestBus::new("crash");
    let devices: Vec<Device> = (0..4).map(device).collect();
    let dir = tempfile::tempdir().unwrap();
    let n = 40usize;
    {
        let metrics = Arc::new(Metrics::default());
        let bus = Bus::connect(tb.cfg.clone(), metrics.clone()).await.unwrap();
        let publisher = bus.publisher();
        let mut confirms = Vec::new();
        for k in 0..n {
            let d = &devices[k % devices.len()];
            let raw = upload(d, k as u64);
            let packet = store::IntakePacket {
                received_ms: 1_700_000_000_000 + k as i64,
                mn: d.mn.clone(),
                cn: "2061".into(),
                qn: Some(format!("Q{k}")),
                peer: "test".into(),
                raw,
                values: vec![model::Measurement {
                    site: d.site.clone(),
                    code: "w01018".into(),
                    field: "Avg".into(),
                    period: model::Period::Hour,
                    time: 1_700_000_000 + k as i64 * 3600,
                    value: 1.0,
                    text: "1.0".into(),
                    flag: Some("N".into()),
                    eflag: None,
                    mn: d.mn.clone(),
                }],
                deviations: vec![],
                answer: None,
                bus_id: None,
            };
            confirms.push(publisher.submit(packet).await);
        }
        for c in confirms {
            assert!(c.await.unwrap(), "published durably");
        }

        // The writer that crashes: pulls, commits, never acks.
        let (writer, writer_thread) = writer_over(dir.path(), &devices, &metrics);
        let consumer = bus.consumer().await.unwrap();
        let mut held = Vec::new();
        let mut ids = HashSet::new();
        while held.len() < n {
            let mut batch = consumer
                .jetstream()
                .fetch()
                .max_messages(n - held.len())
                .messages()
                .await
                .unwrap();
            while let Some(m) = batch.next().await {
                let d = consumer.delivery(m.unwrap()).await.expect("decodable");
                assert_eq!(d.delivered, 1);
                let (packet, settle) = d.split();
                let id = packet
                    .bus_id
                    .clone()
                    .expect("every message carries its Nats-Msg-Id");
                assert!(id.starts_with("gw1:"), "{id}");
                ids.insert(id);
                let done = writer.submit(packet).await.unwrap();
                held.push((done, settle));
            }
        }
        assert_eq!(ids.len(), n, "message ids are unique");
        for (done, _) in held.iter_mut() {
            assert!(done.await.unwrap(), "committed");
        }
        drop(writer);
        join_writer(writer_thread).await;
        assert_eq!(stored(dir.path()), (n, n as u64, n));
        // crash: the connection goes away with every message unacknowledged
        drop(held);
    }

    // The next writer: gets everything again after the ack wait, stores nothing twice.
    let metrics = Arc::new(Metrics::default());
    let (writer, writer_thread) = writer_over(dir.path(), &devices, &metrics);
    let bus = Bus::connect(tb.cfg.clone(), metrics.clone()).await.unwrap();
    let (stop, stop_rx) = watch::channel(false);
    let consuming = tokio::spawn(bus.consumer().await.unwrap().run(writer.clone(), stop_rx));
    wait_until("the redelivered messages acknowledged", || {
        metrics.bus.acked.load(Relaxed) == n as u64
    })
    .await;
    let _ = stop.send(true);
    consuming.await.unwrap().unwrap();
    drop(writer);
    join_writer(writer_thread).await;
    assert_eq!(metrics.bus.redelivered.load(Relaxed), n as u64);
    assert_eq!(metrics.bus.duplicates_skipped.load(Relaxed), n as u64);
    assert_eq!(metrics.packets_committed.load(Relaxed), 0);
    assert_eq!(
        stored(dir.path()),
        (n, n as u64, n),
        "archive and device counters still count each packet once"
    );
}

/// With no writer running, the gateway still acknowledges: the packets are durable in the
/// stream. A writer started later stores them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_acknowledges_without_a_writer_and_data_lands_later() {
    let tb = TestBus::new("nowriter");
    let devices: Vec<Device> = (0..3).map(device).collect();
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::default());
    let bus = Bus::connect(tb.cfg.clone(), metrics.clone()).await.unwrap();
    // The gateway node's own writer only records commands; nothing consumes the stream.
    let (cmd_writer, cmd_thread) = writer_over(dir.path(), &devices, &metrics);
    let (addr, stop_g, gw) = gateway_node(&bus, &devices, cmd_writer, &metrics).await;
    let per = 20u64;
    for d in &devices {
        assert_eq!(send(addr, d, 0, per).await.len() as u64, per);
    }
    let total = devices.len() as u64 * per;
    let _ = stop_g.send(true);
    gw.await.unwrap();
    join_writer(cmd_thread).await;
    assert_eq!(stored(dir.path()), (0, 0, 0), "nothing committed yet");
    let info = bus
        .jetstream()
        .get_stream(&tb.cfg.stream)
        .await
        .unwrap()
        .get_info()
        .await
        .unwrap();
    assert_eq!(info.state.messages, total, "all waiting in the stream");

    let wm = Arc::new(Metrics::default());
    let (writer, writer_thread) = writer_over(dir.path(), &devices, &wm);
    let bus = Bus::connect(tb.cfg.clone(), wm.clone()).await.unwrap();
    let (stop, stop_rx) = watch::channel(false);
    let consuming = tokio::spawn(bus.consumer().await.unwrap().run(writer.clone(), stop_rx));
    wait_until("the backlog committed", || {
        wm.bus.acked.load(Relaxed) == total
    })
    .await;
    let _ = stop.send(true);
    consuming.await.unwrap().unwrap();
    drop(writer);
    join_writer(writer_thread).await;
    assert_eq!(
        stored(dir.path()),
        (total as usize, total, total as usize * 2)
    );
}

/// Names that are not subject tokens are refused before anything reaches the server.
#[tokio::test]
async fn bad_names_are_refused_with_the_reason() {
    let mut cfg = BusConfig::new(NATS, "gw.1");
    let e = Bus::connect(cfg.clone(), Arc::default())
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("gateway id \"gw.1\""), "{e}");
    cfg.gateway_id = "gw1".into();
    cfg.replicas = 7;
    let e = Bus::connect(cfg.clone(), Arc::default())
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("replicas 7"), "{e}");
    cfg.replicas = 1;
    cfg.url = "nats://127.0.0.1:1".into();
    let e = Bus::connect(cfg, Arc::default()).await.err().unwrap();
    assert!(
        e.to_string()
            .contains("NATS at nats://127.0.0.1:1: connecting"),
        "{e}"
    );
}
