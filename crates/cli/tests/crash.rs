//! Crash safety (issue 4, DESIGN.md "ack after commit"): `qingshan serve` is killed with
//! SIGKILL at random moments while devices send; after each restart, every packet that was
//! acknowledged (9014) must be in the store. Bounded: a few rounds of about a second each.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hj212::{Decoder, DecoderConfig, Mode, PacketBuilder};

const BIN: &str = env!("CARGO_BIN_EXE_qingshan");
const DEVICES: usize = 12;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn mn(i: usize) -> String {
    format!("C0A5{i:020}")
}

fn start_server(data: &std::path::Path, hj: u16) -> Child {
    let child = Command::new(BIN)
        .args(["serve", "--data"])
        .arg(data)
        .args(["--hj212", &format!("127.0.0.1:{hj}")])
        .args(["--http", &format!("127.0.0.1:{}", free_port())])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start qingshan serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", hj)).is_err() {
        assert!(Instant::now() < deadline, "server did not start listening");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// A tiny xorshift so the kill moments vary run to run without a rand dependency.
fn jitter(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_packet() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = dir.path().join("devices.csv");
    let mut rows = String::from("mn,pw,site,kind\n");
    for i in 0..DEVICES {
        rows.push_str(&format!("{},123456,CRASH-{i},wastewater\n", mn(i)));
    }
    std::fs::write(&csv, rows).unwrap();
    let st = Command::new(BIN)
        .args(["device", "import", "--data"])
        .arg(&data)
        .arg(&csv)
        .status()
        .unwrap();
    assert!(st.success());

    // QN → (site, hour index) of every packet sent; acked QNs.
    let sent: Arc<Mutex<HashMap<String, (usize, u64)>>> = Arc::default();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let next = Arc::new(AtomicU64::new(0));
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let hj = free_port();
    for _round in 0..4 {
        let mut server = start_server(&data, hj);
        let stop = Arc::new(AtomicBool::new(false));
        // Acks seen this round: the kill comes at a random moment once traffic flows (a
        // loaded machine may take seconds to start serving after the port is bound).
        let flowing = Arc::new(AtomicU64::new(0));
        let mut clients = Vec::new();
        for i in 0..DEVICES {
            let (sent, acked, next, stop, flowing) = (
                sent.clone(),
                acked.clone(),
                next.clone(),
                stop.clone(),
                flowing.clone(),
            );
            clients.push(std::thread::spawn(move || {
                let Ok(s) = TcpStream::connect(("127.0.0.1", hj)) else {
                    return;
                };
                let mut r = s.try_clone().unwrap();
                let reader = std::thread::spawn(move || {
                    let mut dec = Decoder::new(DecoderConfig::new(Mode::Strict));
                    let mut buf = [0u8; 8192];
                    let mut got = Vec::new();
                    while let Ok(n) = r.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        dec.feed(&buf[..n]);
                        while let Some(Ok(f)) = dec.next_frame() {
                            if f.packet.cn() == "9014" {
                                flowing.fetch_add(1, Ordering::Relaxed);
                                got.push(f.packet.qn().unwrap().to_string());
                            }
                        }
                    }
                    got
                });
                let mut w = s;
                while !stop.load(Ordering::Relaxed) {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let qn = format!("20260101{k:09}");
                    // every packet its own hour, so each acked packet must leave its own value
                    let t = 1_700_000_000 + k * 3600;
                    let p = PacketBuilder::new("32", "2061", "123456", mn(i))
                        .qn(&qn)
                        .flag(5)
                        .item("DataTime", model::format_hj212_time(t as i64))
                        .group([
                            ("w01018-Avg", format!("{}.5", k % 97)),
                            ("w01018-Flag", "N".into()),
                        ])
                        .build()
                        .unwrap();
                    sent.lock().unwrap().insert(qn, (i, t));
                    if w.write_all(&hj212::encode(&p)).is_err() {
                        break;
                    }
                    if k % 8 == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
                let got = reader.join().unwrap();
                acked.lock().unwrap().extend(got);
            }));
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while flowing.load(Ordering::Relaxed) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(300 + jitter(&mut seed) % 1200));
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 100,
        "the test must acknowledge a fair number of packets, got {}",
        acked.len()
    );

    let out = Command::new(BIN)
        .args(["export", "--format", "jsonl", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut stored = std::collections::HashSet::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let t = model::parse_user_time(v["time"].as_str().unwrap()).unwrap();
        stored.insert((v["site"].as_str().unwrap().to_string(), t as u64));
    }
    let sent = sent.lock().unwrap();
    let missing: Vec<&String> = acked
        .iter()
        .filter(|qn| {
            let (i, t) = sent[*qn];
            !stored.contains(&(format!("CRASH-{i}"), t))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged packets lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    eprintln!(
        "crash test: {} packets sent, {} acknowledged, {} values stored, all acknowledged present",
        sent.len(),
        acked.len(),
        stored.len()
    );
}
