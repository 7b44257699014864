//! The gateway over real TCP connections: ack after commit, no loss in paced or burst mode,
//! idempotent resends, refusals, split packets, garbage isolation, commands, shutdown.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use hj212::{Decoder, DecoderConfig, Mode, PacketBuilder};
use ingest::{spawn_writer, Gateway, GatewayConfig, Metrics, Registry, WriterConfig};
use model::{Device, DeviceKind};
use store::{SqliteOptions, SqliteStore, Store, ValueFilter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

struct Harness {
    addr: std::net::SocketAddr,
    gateway: Arc<Gateway>,
    stop: watch::Sender<bool>,
    run: Option<tokio::task::JoinHandle<()>>,
    writer_thread: Option<std::thread::JoinHandle<()>>,
    dir: tempfile::TempDir,
}

fn device(i: usize) -> Device {
    Device::new(
        &format!("0100{i:020}"),
        "123456",
        &format!("SITE-{i}"),
        DeviceKind::Wastewater,
    )
}

async fn start(devices: Vec<Device>, cfg: GatewayConfig) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let opts = SqliteOptions {
        fsync: false,
        cache_mib: 16,
    };
    let mut store = SqliteStore::open_with(dir.path(), &opts).unwrap();
    for d in &devices {
        store.put_device(d).unwrap();
    }
    let metrics = Arc::new(Metrics::default());
    let (writer, writer_thread) = spawn_writer(
        Box::new(store),
        WriterConfig {
            queue: 256,
            max_batch: 128,
            ..WriterConfig::default()
        },
        metrics.clone(),
        Vec::new(),
    );
    let registry = Arc::new(Registry::fixed(devices));
    let gateway = Gateway::new(cfg, registry, writer, metrics);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stop_rx) = watch::channel(false);
    let run = tokio::spawn(
        gateway
            .clone()
            .run(listener, stop_rx, Duration::from_secs(10)),
    );
    Harness {
        addr,
        gateway,
        stop,
        run: Some(run),
        writer_thread: Some(writer_thread),
        dir,
    }
}

impl Harness {
    /// Stops the gateway and the writer; returns a store to inspect.
    async fn stop(mut self) -> (SqliteStore, Arc<Metrics>, tempfile::TempDir) {
        let _ = self.stop.send(true);
        self.run.take().unwrap().await.unwrap();
        let metrics = self.gateway.metrics().clone();
        drop(self.gateway);
        let t = self.writer_thread.take().unwrap();
        tokio::task::spawn_blocking(move || t.join().unwrap())
            .await
            .unwrap();
        let store = SqliteStore::open(self.dir.path()).unwrap();
        (store, metrics, self.dir)
    }
}

fn upload(d: &Device, qn: u64, hour: u32, flag: u8) -> Vec<u8> {
    let p = PacketBuilder::new("32", "2061", &*d.pw, &*d.mn)
        .qn(format!("20260101{:09}", qn))
        .flag(flag)
        .item(
            "DataTime",
            format!("202601{:02}{:02}0000", 1 + hour / 24, hour % 24),
        )
        .group([
            ("w01018-Avg", format!("{}.5", qn % 100)),
            ("w01018-Flag", "N".into()),
        ])
        .group([("w21003-Avg", "1.25"), ("w21003-Flag", "N")])
        .build()
        .unwrap();
    hj212::encode(&p)
}

/// Reads frames from `s` until `n` have arrived or `wait` passes.
async fn read_frames(s: &mut TcpStream, n: usize, wait: Duration) -> Vec<hj212::Packet> {
    let mut dec = Decoder::new(DecoderConfig::new(Mode::Strict));
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    let deadline = tokio::time::Instant::now() + wait;
    while out.len() < n {
        let r = tokio::time::timeout_at(deadline, s.read(&mut buf)).await;
        match r {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(k)) => {
                dec.feed(&buf[..k]);
                while let Some(f) = dec.next_frame() {
                    out.push(f.expect("the gateway sends valid frames").packet);
                }
            }
        }
    }
    out
}

fn count(store: &SqliteStore, filter: &ValueFilter) -> usize {
    let mut n = 0;
    store
        .for_each_value(filter, &mut |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
    n
}

/// HJ 212-2017 §6.5 / App. C: every upload with A=1 gets a 9014 echoing its QN; the platform
/// sends it only after commit. 40 connections, half paced, half bursting everything at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_and_burst_lose_nothing() {
    let devices: Vec<Device> = (0..40).map(device).collect();
    let h = start(devices.clone(), GatewayConfig::default()).await;
    let per_conn = 150u64;
    let mut tasks = Vec::new();
    for (i, d) in devices.iter().cloned().enumerate() {
        let addr = h.addr;
        tasks.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let frames: Vec<Vec<u8>> = (0..per_conn)
                .map(|k| upload(&d, k, k as u32 % 600, 5))
                .collect();
            if i % 2 == 0 {
                s.write_all(&frames.concat()).await.unwrap();
            } else {
                for f in &frames {
                    s.write_all(f).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            let acks = read_frames(&mut s, per_conn as usize, Duration::from_secs(60)).await;
            assert_eq!(acks.len(), per_conn as usize, "device {i}");
            let qns: HashSet<String> = acks
                .iter()
                .map(|a| {
                    assert_eq!((a.cn(), a.st(), a.flag()), ("9014", "91", Some(4)));
                    assert_eq!(a.mn(), d.mn);
                    a.qn().unwrap().to_string()
                })
                .collect();
            assert_eq!(qns.len(), per_conn as usize);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (store, metrics, _dir) = h.stop().await;
    // 2 values per packet; hours 0..149 distinct per device
    assert_eq!(count(&store, &ValueFilter::default()), 40 * 150 * 2);
    assert_eq!(
        metrics.acks_sent.load(std::sync::atomic::Ordering::Relaxed),
        40 * 150
    );
}

/// DESIGN.md "Idempotent storage": the same hour sent again (resend, back-fill) is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resends_do_not_double_count() {
    let d = device(1);
    let h = start(vec![d.clone()], GatewayConfig::default()).await;
    let mut s = TcpStream::connect(h.addr).await.unwrap();
    for _ in 0..3 {
        for k in 0..10 {
            s.write_all(&upload(&d, k, 7, 5)).await.unwrap();
        }
    }
    assert_eq!(
        read_frames(&mut s, 30, Duration::from_secs(20)).await.len(),
        30
    );
    drop(s);
    let (store, _, _dir) = h.stop().await;
    assert_eq!(count(&store, &ValueFilter::default()), 2);
    assert_eq!(store.archived(None, 0, i64::MAX).unwrap().len(), 30);
    assert_eq!(store.device_states().unwrap()[0].packets, 30);
}

/// Unknown MN and wrong PW are refused (no ack, nothing stored), counted by reason; after 20
/// refusals in a row the connection is closed. A good device beside it is unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_mn_and_wrong_pw_are_refused() {
    let good = device(1);
    let h = start(vec![good.clone()], GatewayConfig::default()).await;
    let mut bad_pw = good.clone();
    bad_pw.pw = "000000".into();
    let stranger = device(2);
    let mut a = TcpStream::connect(h.addr).await.unwrap();
    a.write_all(&upload(&bad_pw, 1, 1, 5)).await.unwrap();
    a.write_all(&upload(&stranger, 2, 1, 5)).await.unwrap();
    let mut g = TcpStream::connect(h.addr).await.unwrap();
    g.write_all(&upload(&good, 3, 1, 5)).await.unwrap();
    assert_eq!(
        read_frames(&mut g, 1, Duration::from_secs(10)).await.len(),
        1
    );
    assert!(read_frames(&mut a, 1, Duration::from_millis(500))
        .await
        .is_empty());
    // flood: the connection is closed after 20 refusals in a row
    for k in 0..30 {
        if a.write_all(&upload(&stranger, k, 1, 5)).await.is_err() {
            break;
        }
    }
    let mut buf = [0u8; 16];
    let closed = tokio::time::timeout(Duration::from_secs(5), a.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "connection closed"
    );
    let (store, metrics, _dir) = h.stop().await;
    assert_eq!(count(&store, &ValueFilter::default()), 2);
    assert_eq!(metrics.refusals.get("wrong_pw"), 1);
    assert!(metrics.refusals.get("unknown_mn") >= 19);
    let text = metrics.render();
    assert!(
        text.contains("qingshan_refusals_total{reason=\"wrong_pw\",transport=\"tcp\"} 1"),
        "{text}"
    );
}

/// Per-device policy: a device that may not use a deviation is refused when it does; one that
/// may is accepted and the deviation counted by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deviations_follow_device_policy() {
    let strict = device(1);
    let mut tolerant = device(2);
    tolerant.allow = vec!["lf_only".into()];
    let h = start(
        vec![strict.clone(), tolerant.clone()],
        GatewayConfig::default(),
    )
    .await;
    for (d, acked) in [(&strict, false), (&tolerant, true)] {
        let mut s = TcpStream::connect(h.addr).await.unwrap();
        let mut f = upload(d, 1, 1, 5);
        f.remove(f.len() - 2); // CR LF → LF
        s.write_all(&f).await.unwrap();
        let got = read_frames(
            &mut s,
            1,
            Duration::from_millis(if acked { 10_000 } else { 500 }),
        )
        .await;
        assert_eq!(got.len(), acked as usize, "{}", d.mn);
    }
    let (_store, metrics, _dir) = h.stop().await;
    assert_eq!(metrics.refusals.get("deviation_not_allowed"), 1);
    assert_eq!(metrics.deviation_count(hj212::Deviation::LfOnly), 1);
}

/// A connection sending garbage (and broken frames) does not disturb the good frames on it or
/// other connections; every bad candidate is counted by error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_isolated() {
    let d = device(1);
    let h = start(vec![d.clone()], GatewayConfig::default()).await;
    let mut s = TcpStream::connect(h.addr).await.unwrap();
    let mut bad_crc = upload(&d, 2, 2, 5);
    let n = bad_crc.len();
    bad_crc[n - 3] = if bad_crc[n - 3] == b'0' { b'1' } else { b'0' };
    let mut stream = b"\x00\xffnoise##12garbage####".to_vec();
    stream.extend(upload(&d, 1, 1, 5));
    stream.extend(&bad_crc);
    stream.extend(b"##0010short\r\n");
    stream.extend(upload(&d, 3, 3, 5));
    s.write_all(&stream).await.unwrap();
    let acks = read_frames(&mut s, 2, Duration::from_secs(10)).await;
    assert_eq!(acks.len(), 2);
    let (store, metrics, _dir) = h.stop().await;
    assert_eq!(count(&store, &ValueFilter::default()), 4);
    assert!(metrics.frames_rejected.get("crc") >= 1);
}

/// HJ 212-2017 App. C.47–C.50: split packets (Flag=7: D and A bits), each part with its own
/// QN, are each acknowledged after commit and their values stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_packets_are_acked_part_by_part() {
    let d = device(1);
    let h = start(vec![d.clone()], GatewayConfig::default()).await;
    let mut s = TcpStream::connect(h.addr).await.unwrap();
    for pno in 1..=2u32 {
        let p = PacketBuilder::new("32", "2061", &*d.pw, &*d.mn)
            .qn(format!("2026010100000000{pno}"))
            .flag(7)
            .split(2, pno)
            .item("DataTime", "20260101080000")
            .group([(format!("w0101{pno}-Avg"), "3.5")])
            .build()
            .unwrap();
        s.write_all(&hj212::encode(&p)).await.unwrap();
        let ack = read_frames(&mut s, 1, Duration::from_secs(10)).await;
        assert_eq!(ack[0].qn(), Some(format!("2026010100000000{pno}").as_str()));
    }
    let (store, metrics, _dir) = h.stop().await;
    assert_eq!(count(&store, &ValueFilter::default()), 2);
    assert_eq!(
        metrics
            .split_parts
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
}

/// HJ 212-2017 §6.1 and C.20: the platform asks a connected device for its hour data between
/// two times (2061 with BeginTime/EndTime); the device answers 9011, uploads, then 9012; the
/// answers are recorded against the command and the back-filled data stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_command_round_trip() {
    let mut d = device(1);
    d.calibrate_clock = true;
    let h = start(vec![d.clone()], GatewayConfig::default()).await;
    let mut s = TcpStream::connect(h.addr).await.unwrap();
    s.write_all(&upload(&d, 1, 1, 5)).await.unwrap();
    // the 9014 and the clock calibration (1012) on first contact, in either order
    let first = read_frames(&mut s, 2, Duration::from_secs(10)).await;
    let mut cns: Vec<&str> = first.iter().map(|p| p.cn()).collect();
    cns.sort();
    assert_eq!(cns, ["1012", "9014"]);
    let stranger = h.gateway.send_command("FFFF", "2061", vec![]).await;
    assert!(
        matches!(stranger, Err(ingest::CommandError::UnknownDevice(_))),
        "{stranger:?}"
    );
    let bad_cn = h.gateway.send_command(&d.mn, "4242", vec![]).await;
    assert!(
        matches!(bad_cn, Err(ingest::CommandError::Invalid(_))),
        "{bad_cn:?}"
    );
    let sent = h
        .gateway
        .send_command(
            &d.mn,
            "2061",
            vec![
                ("BeginTime".into(), "20260101000000".into()),
                ("EndTime".into(), "20260101020000".into()),
            ],
        )
        .await
        .unwrap();
    let req = read_frames(&mut s, 1, Duration::from_secs(10))
        .await
        .remove(0);
    assert_eq!((req.cn(), req.qn()), ("2061", Some(sent.qn.as_str())));
    assert_eq!(req.get("BeginTime"), Some("20260101000000"));
    s.write_all(&hj212::encode(&hj212::reply::request_answer_9011(
        &req,
        hj212::QnRtn::Ready,
    )))
    .await
    .unwrap();
    for k in 0..2 {
        s.write_all(&upload(&d, 100 + k, k as u32, 5))
            .await
            .unwrap();
    }
    s.write_all(&hj212::encode(&hj212::reply::exe_result_9012(
        &req,
        hj212::ExeRtn::Success,
    )))
    .await
    .unwrap();
    assert_eq!(
        read_frames(&mut s, 2, Duration::from_secs(10)).await.len(),
        2
    );
    drop(s);
    let (store, _, _dir) = h.stop().await;
    let cmds = store.commands(Some(&d.mn), 10).unwrap();
    let c = cmds.iter().find(|c| c.qn == sent.qn).unwrap();
    assert_eq!((c.qn_rtn, c.exe_rtn), (Some(1), Some(1)));
    assert!(cmds.iter().any(|c| c.cn == "1012"));
    assert_eq!(count(&store, &ValueFilter::default()), 2 * 2);
}

/// Graceful shutdown under load: every packet whose 9014 reached the device is in the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_under_load_keeps_every_ack() {
    let devices: Vec<Device> = (0..10).map(device).collect();
    let h = start(devices.clone(), GatewayConfig::default()).await;
    let mut tasks = Vec::new();
    for d in devices.clone() {
        let addr = h.addr;
        tasks.push(tokio::spawn(async move {
            let s = TcpStream::connect(addr).await.unwrap();
            let (mut rd, mut wr) = s.into_split();
            let d2 = d.clone();
            let sender = tokio::spawn(async move {
                for k in 0..100_000u64 {
                    if wr
                        .write_all(&upload(&d2, k, (k % 5000) as u32, 5))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            });
            let mut dec = Decoder::new(DecoderConfig::new(Mode::Strict));
            let mut acked = Vec::new();
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = rd.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                dec.feed(&buf[..n]);
                while let Some(Ok(f)) = dec.next_frame() {
                    acked.push(f.packet.qn().unwrap().to_string());
                }
            }
            sender.abort();
            (d, acked)
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (store, _, _dir) = h.stop().await;
    let mut total = 0;
    for t in tasks {
        let (d, acked) = t.await.unwrap();
        total += acked.len();
        let archived: HashSet<String> = store
            .archived(Some(&d.mn), 0, i64::MAX)
            .unwrap()
            .into_iter()
            .map(|p| p.raw[6..].split(';').next().unwrap()[3..].to_string())
            .collect();
        for qn in &acked {
            assert!(archived.contains(qn), "acked {qn} of {} not stored", d.mn);
        }
    }
    assert!(total > 0, "some packets were acknowledged before shutdown");
}

/// Field captures show loggers that end frames with no CR LF (hj212.md §2, `no_tail`): the last
/// such frame is released by the idle tick, so the device still gets its 9014 without having to
/// send another packet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_without_tail_is_acked_after_idle_tick() {
    let mut d = device(1);
    d.allow = vec!["no_tail".into()];
    let h = start(vec![d.clone()], GatewayConfig::default()).await;
    let mut s = TcpStream::connect(h.addr).await.unwrap();
    let mut f = upload(&d, 1, 1, 5);
    f.truncate(f.len() - 2);
    s.write_all(&f).await.unwrap();
    let acks = read_frames(&mut s, 1, Duration::from_secs(8)).await;
    assert_eq!(acks.len(), 1);
    let (store, metrics, _dir) = h.stop().await;
    assert_eq!(count(&store, &ValueFilter::default()), 2);
    assert_eq!(metrics.deviation_count(hj212::Deviation::NoTail), 1);
}
