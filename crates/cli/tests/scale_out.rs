//! Scale-out over the NATS JetStream intake bus (issue 7) with real `qingshan serve` processes:
//! two gateway nodes and one writer node sharing a stream at 127.0.0.1:4222, devices spread
//! over both gateways; one gateway is killed (SIGKILL) mid-run and restarted. Every packet a
//! device got a 9014 for must be stored, and no packet may be stored twice (archive and device
//! counters), whatever the kill cut short.
//!
//! The store is PostgreSQL (a database of its own, dropped afterwards) and, in a second run, the
//! embedded one in a data folder the three nodes share (one machine). The stream,
//! its subjects and consumer are unique to the run and deleted at the end.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hj212::{Decoder, DecoderConfig, Mode, PacketBuilder};
use store::StoreConfig;

const BIN: &str = env!("CARGO_BIN_EXE_qingshan");
const NATS: &str = "nats://127.0.0.1:4222";
const DEVICES: usize = 16;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn mn(i: usize) -> String {
    format!("5CA1{i:020}")
}

/// The run's stream, subjects and consumer; the stream is deleted on drop.
struct Names {
    stream: String,
    subject: String,
    consumer: String,
}

impl Names {
    fn new() -> Names {
        let u = format!(
            "{}_{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        Names {
            stream: format!("QSTEST_SCALE_{u}"),
            subject: format!("qstest.scale.{u}"),
            consumer: format!("writers_{u}"),
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// Messages in the stream (a work queue: those not yet acknowledged by a writer).
    fn backlog(&self) -> u64 {
        Names::rt().block_on(async {
            let js = async_nats::jetstream::new(async_nats::connect(NATS).await.unwrap());
            let mut s = js.get_stream(&self.stream).await.unwrap();
            s.info().await.unwrap().state.messages
        })
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        let name = self.stream.clone();
        Names::rt().block_on(async {
            if let Ok(c) = async_nats::connect(NATS).await {
                let _ = async_nats::jetstream::new(c).delete_stream(&name).await;
            }
        });
    }
}

fn http_answers(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if n > 0)
}

/// A `serve` node; stopped with SIGTERM (graceful) on drop unless killed before.
struct Node {
    child: Option<Child>,
}

impl Node {
    fn start(db: &[String], names: &Names, role: &str, hj: Option<(u16, &str)>) -> Node {
        let http = free_port();
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .args(db)
            .args(["--bus", NATS, "--role", role])
            .args(["--bus-stream", &names.stream])
            .args(["--bus-subject", &names.subject])
            .args(["--bus-consumer", &names.consumer])
            .args(["--bus-ack-wait", "3"])
            .args(["--http", &format!("127.0.0.1:{http}")])
            .args(["--no-fsync", "--grace", "20"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some((port, id)) = hj {
            cmd.args(["--hj212", &format!("127.0.0.1:{port}")])
                .args(["--gateway-id", id]);
        }
        let mut child = cmd.spawn().expect("start qingshan serve");
        // Ready once HTTP answers: the ports are bound before the rest is set up (the
        // accounts store, the engines' catch-up), the HTTP server starts after it.
        let deadline = Instant::now() + Duration::from_secs(120);
        while !http_answers(http) {
            assert!(
                child.try_wait().unwrap().is_none(),
                "{role} node exited at start"
            );
            assert!(Instant::now() < deadline, "{role} node did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Node { child: Some(child) }
    }

    fn kill(&mut self) {
        let mut c = self.child.take().unwrap();
        c.kill().unwrap(); // SIGKILL
        c.wait().unwrap();
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let st = c.wait().unwrap();
            assert!(st.success(), "node stopped with {st}");
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[derive(Default)]
struct Ledger {
    /// QN → (device, value time) of every packet sent.
    sent: Mutex<HashMap<String, (usize, i64)>>,
    /// QNs acknowledged with 9014.
    acked: Mutex<Vec<String>>,
    next: AtomicU64,
}

/// Packets a simulated data logger keeps un-acknowledged.
const WINDOW: usize = 4;

/// One data logger per device in `devices`, sending distinct hours to `port` with at most
/// [`WINDOW`] awaiting their 9014, until `stop` (then it waits for the outstanding acks) or
/// until its connection breaks.
fn clients(
    port: u16,
    devices: std::ops::Range<usize>,
    ledger: &Arc<Ledger>,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    devices
        .map(|i| {
            let (ledger, stop) = (ledger.clone(), stop.clone());
            std::thread::spawn(move || {
                let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
                    return;
                };
                s.set_read_timeout(Some(Duration::from_millis(100)))
                    .unwrap();
                let mut dec = Decoder::new(DecoderConfig::new(Mode::Strict));
                let mut buf = [0u8; 8192];
                let mut outstanding = 0usize;
                loop {
                    let stopping = stop.load(Ordering::Relaxed);
                    while !stopping && outstanding < WINDOW {
                        let k = ledger.next.fetch_add(1, Ordering::Relaxed);
                        let qn = format!("20260101{k:09}");
                        let t = 1_700_000_000 + k as i64 * 3600;
                        let p = PacketBuilder::new("32", "2061", "123456", mn(i))
                            .qn(&qn)
                            .flag(5)
                            .item("DataTime", model::format_hj212_time(t))
                            .group([
                                ("w01018-Avg", format!("{}.5", k % 97)),
                                ("w01018-Flag", "N".into()),
                            ])
                            .build()
                            .unwrap();
                        ledger.sent.lock().unwrap().insert(qn, (i, t));
                        if s.write_all(&hj212::encode(&p)).is_err() {
                            return;
                        }
                        outstanding += 1;
                    }
                    if stopping && outstanding == 0 {
                        return;
                    }
                    match s.read(&mut buf) {
                        Ok(0) => return,
                        Ok(n) => {
                            dec.feed(&buf[..n]);
                            while let Some(Ok(f)) = dec.next_frame() {
                                if f.packet.cn() == "9014" {
                                    let qn = f.packet.qn().unwrap().to_string();
                                    ledger.acked.lock().unwrap().push(qn);
                                    outstanding = outstanding.saturating_sub(1);
                                }
                            }
                        }
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(_) => return,
                    }
                }
            })
        })
        .collect()
}

#[test]
fn two_gateways_one_writer_gateway_killed_and_restarted_stores_every_acked_packet_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    scale_out(
        dir.path(),
        &["--data".into(), data.display().to_string()],
        StoreConfig::new(None, &data).unwrap(),
    );
}

/// The same over PostgreSQL (the multi-node test): two gateways and a writer into one
/// database.
#[test]
fn two_gateways_one_writer_over_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let db = store::pg::TempDb::new().unwrap();
    scale_out(
        dir.path(),
        &["--store".into(), db.url().to_string()],
        StoreConfig::new(Some(db.url()), dir.path()).unwrap(),
    );
}

fn scale_out(dir: &std::path::Path, db: &[String], check: StoreConfig) {
    let names = Names::new();
    let csv = dir.join("devices.csv");
    let mut rows = String::from("mn,pw,site,kind\n");
    for i in 0..DEVICES {
        rows.push_str(&format!("{},123456,SCALE-{i},wastewater\n", mn(i)));
    }
    std::fs::write(&csv, rows).unwrap();
    let st = Command::new(BIN)
        .args(["device", "import"])
        .args(db)
        .arg(&csv)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());

    let (p1, p2) = (free_port(), free_port());
    let half = DEVICES / 2;
    let mut writer = Node::start(db, &names, "writer", None);
    let mut g1 = Node::start(db, &names, "gateway", Some((p1, "g1")));
    let mut g2 = Node::start(db, &names, "gateway", Some((p2, "g2")));
    let ledger = Arc::new(Ledger::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = clients(p1, 0..half, &ledger, &stop);
    threads.extend(clients(p2, half..DEVICES, &ledger, &stop));

    std::thread::sleep(Duration::from_millis(2000));
    g1.kill();
    let acked_before_kill = ledger.acked.lock().unwrap().len();
    // G1's devices reconnect once it is back (as data loggers do).
    let mut g1 = Node::start(db, &names, "gateway", Some((p1, "g1")));
    let first_after_restart = ledger.next.load(Ordering::Relaxed);
    threads.extend(clients(p1, 0..half, &ledger, &stop));
    std::thread::sleep(Duration::from_millis(2000));

    stop.store(true, Ordering::Relaxed);
    // Graceful stop: each gateway writes the acks of what it already published, then closes.
    g1.stop();
    g2.stop();
    for t in threads {
        t.join().unwrap();
    }
    let acked = ledger.acked.lock().unwrap().clone();
    let sent = ledger.sent.lock().unwrap().clone();
    assert!(
        acked.len() > 200,
        "the run must acknowledge a fair number of packets, got {}",
        acked.len()
    );
    assert!(
        acked_before_kill > 0,
        "traffic was acknowledged before the kill"
    );
    let k_of = |qn: &str| qn[8..].parse::<u64>().unwrap();
    assert!(
        acked
            .iter()
            .any(|q| sent[q].0 < half && k_of(q) >= first_after_restart),
        "the restarted gateway acknowledged packets too"
    );
    // The writer drains the stream (work queue: acknowledged messages leave it).
    let deadline = Instant::now() + Duration::from_secs(120);
    while names.backlog() > 0 {
        assert!(
            Instant::now() < deadline,
            "the writer did not drain the stream"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    writer.stop();

    let s = check.open().unwrap();
    let archived = s.archived(None, 0, i64::MAX).unwrap();
    let mut stored_qns = HashSet::new();
    for p in &archived {
        let at = p.raw.find("QN=").expect("archived frame has a QN") + 3;
        let qn = p.raw[at..].split(';').next().unwrap().to_string();
        assert!(stored_qns.insert(qn.clone()), "packet {qn} stored twice");
    }
    let missing: Vec<&String> = acked.iter().filter(|q| !stored_qns.contains(*q)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged packets not stored, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let counted: u64 = s.device_states().unwrap().iter().map(|d| d.packets).sum();
    assert_eq!(
        counted,
        archived.len() as u64,
        "device counters count each packet once"
    );
    let mut values = HashSet::new();
    s.for_each_value(&store::ValueFilter::default(), &mut |m| {
        values.insert((m.site.clone(), m.time));
        Ok(())
    })
    .unwrap();
    for qn in &acked {
        let (i, t) = sent[qn];
        assert!(values.contains(&(format!("SCALE-{i}"), t)), "value of {qn}");
    }
    eprintln!(
        "scale-out: {} packets sent, {} acknowledged ({} before the kill), {} stored, each once",
        sent.len(),
        acked.len(),
        acked_before_kill,
        archived.len()
    );
}
