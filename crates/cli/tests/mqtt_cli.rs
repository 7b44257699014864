//! `qingshan serve --mqtt …` as a user runs it, against the real broker (Mosquitto at
//! 127.0.0.1:1883): loggers publish HJ 212 uploads at QoS 1 and get their 9014 on `…/down`;
//! the server is killed with SIGKILL mid-run, the loggers go on publishing while it is down,
//! and after a restart every upload published is in the store, exactly once per value key —
//! what was not acknowledged to the broker before the kill is redelivered from the session.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hj212::{Decoder, DecoderConfig, Mode, PacketBuilder};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

const BIN: &str = env!("CARGO_BIN_EXE_qingshan");
const DEVICES: usize = 3;
/// Uploads per device; the total stays below Mosquitto's default per-session queue (1000).
const UPLOADS: u64 = 60;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("qs-cli-{name}-{}-{nanos}", std::process::id())
}

fn mn(i: usize) -> String {
    format!("F0A5{i:020}")
}

fn upload(i: usize, k: u64) -> Vec<u8> {
    let t = 1_767_225_600 + k as i64 * 3600; // 2026-01-01T08:00+08:00, one hour apart
    let p = PacketBuilder::new("32", "2061", "123456", mn(i))
        .qn(format!("20260101{:03}{k:06}", i))
        .flag(5)
        .item("DataTime", model::format_hj212_time(t))
        .group([
            ("a34041-Avg", format!("{}.5", k % 50)),
            ("a34041-Flag", "N".into()),
        ])
        .build()
        .unwrap();
    hj212::encode(&p)
}

/// GET over plain HTTP/1.0; the body.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

struct Server {
    child: Child,
    http: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        // a failed test leaves no server behind
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn start_server(data: &std::path::Path, client_id: &str, prefix: &str) -> Server {
    let http = free_port();
    let child = Command::new(BIN)
        .args(["serve", "--data"])
        .arg(data)
        .args(["--hj212", &format!("127.0.0.1:{}", free_port())])
        .args(["--http", &format!("127.0.0.1:{http}")])
        .args([
            "--mqtt",
            &format!("mqtt://127.0.0.1:1883?client_id={client_id}"),
        ])
        .args(["--mqtt-topic", &format!("{prefix}/+/up")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start qingshan serve");
    // Ready once the broker granted the subscription (as /metrics tells).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if http_get(http, "/metrics")
            .is_some_and(|m| m.contains("\nqingshan_mqtt_subscriptions 1\n"))
        {
            break;
        }
        assert!(Instant::now() < deadline, "serve --mqtt did not subscribe");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child, http }
}

/// Removes the broker-side session the server left.
async fn clear_session(client_id: &str) {
    let mut o = MqttOptions::new(client_id, "127.0.0.1", 1883);
    o.set_clean_session(true);
    let (c, mut ev) = AsyncClient::new(o, 10);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = c.disconnect().await;
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
}

enum Seen {
    /// The broker took one of our publishes (PUBACK to the logger).
    Published,
    /// A 9014 from the platform: (MN, QN).
    Ack(String, String),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_mqtt_stores_every_published_upload_across_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = dir.path().join("devices.csv");
    let mut rows = String::from("mn,pw,site,kind\n");
    for i in 0..DEVICES {
        rows.push_str(&format!("{},123456,FUME-MQTT-{i},fume\n", mn(i)));
    }
    std::fs::write(&csv, rows).unwrap();
    let st = Command::new(BIN)
        .args(["device", "import", "--data"])
        .arg(&data)
        .arg(&csv)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let prefix = unique("fleet");
    let client_id = unique("serve");

    // rejected before anything starts: a filter that would receive the platform's own answers
    let out = Command::new(BIN)
        .args(["serve", "--data"])
        .arg(&data)
        .args(["--mqtt", "mqtt://127.0.0.1:1883", "--mqtt-topic", "x/#"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("x/#") && err.contains("x/x/down"), "{err}");

    let mut server = start_server(&data, &client_id, &prefix);

    // the loggers' side of the broker
    let mut o = MqttOptions::new(unique("loggers"), "127.0.0.1", 1883);
    o.set_inflight(1000);
    let (client, mut ev) = AsyncClient::new(o, 1000);
    client
        .subscribe(format!("{prefix}/+/down"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let (tx, mut seen) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let down_prefix = prefix.clone();
    let events = tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
                Ok(Event::Incoming(Packet::PubAck(_))) => {
                    let _ = tx.send(Seen::Published);
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let mut d = Decoder::new(DecoderConfig::new(Mode::Strict));
                    d.feed(&p.payload);
                    while let Some(Ok(f)) = d.next_frame() {
                        assert_eq!(p.topic, format!("{down_prefix}/{}/down", f.packet.mn()));
                        if f.packet.cn() == "9014" {
                            let _ = tx.send(Seen::Ack(
                                f.packet.mn().to_string(),
                                f.packet.qn().unwrap().to_string(),
                            ));
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => panic!("the loggers lost the broker: {e}"),
            }
        }
    });
    ready_rx.await.unwrap();

    let mut published = 0u64;
    let mut acked: HashMap<(String, String), u32> = HashMap::new();
    fn take(s: Seen, published: &mut u64, acked: &mut HashMap<(String, String), u32>) {
        match s {
            Seen::Published => *published += 1,
            Seen::Ack(m, q) => *acked.entry((m, q)).or_default() += 1,
        }
    }
    // first half while the server runs
    for k in 0..UPLOADS / 2 {
        for i in 0..DEVICES {
            client
                .publish(
                    format!("{prefix}/{}/up", mn(i)),
                    QoS::AtLeastOnce,
                    false,
                    upload(i, k),
                )
                .await
                .unwrap();
        }
    }
    // some acks, then SIGKILL in the middle of things
    while acked.len() < 20 {
        let s = tokio::time::timeout(Duration::from_secs(60), seen.recv())
            .await
            .expect("acks from serve --mqtt")
            .unwrap();
        take(s, &mut published, &mut acked);
    }
    let acked_before_kill = acked.len();
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    // the second half while it is down: the broker keeps it in the server's session
    for k in UPLOADS / 2..UPLOADS {
        for i in 0..DEVICES {
            client
                .publish(
                    format!("{prefix}/{}/up", mn(i)),
                    QoS::AtLeastOnce,
                    false,
                    upload(i, k),
                )
                .await
                .unwrap();
        }
    }
    let total = UPLOADS * DEVICES as u64;
    while published < total {
        let s = tokio::time::timeout(Duration::from_secs(60), seen.recv())
            .await
            .expect("the broker takes every publish")
            .unwrap();
        take(s, &mut published, &mut acked);
    }
    let mut server = start_server(&data, &client_id, &prefix);
    while (acked.len() as u64) < total {
        let s = tokio::time::timeout(Duration::from_secs(60), seen.recv())
            .await
            .unwrap_or_else(|_| panic!("9014 for every upload; {} of {total}", acked.len()))
            .unwrap();
        take(s, &mut published, &mut acked);
    }
    let metrics = http_get(server.http, "/metrics").unwrap();
    assert!(metrics.contains("qingshan_mqtt_connected 1"), "{metrics}");
    let stored_after_restart = metrics
        .lines()
        .find_map(|l| l.strip_prefix("qingshan_mqtt_messages_total{outcome=\"stored\"} "))
        .unwrap_or("0")
        .to_string();
    let st = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    assert!(
        server.child.wait().unwrap().success(),
        "serve stops cleanly on SIGTERM"
    );
    events.abort();
    clear_session(&client_id).await;

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
    let mut stored = HashSet::new();
    let mut lines = 0;
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        lines += 1;
        stored.insert((
            v["site"].as_str().unwrap().to_string(),
            v["time"].as_str().unwrap().to_string(),
        ));
    }
    assert_eq!(lines, total as usize, "one value per upload, none twice");
    eprintln!(
        "mqtt cli: {total} uploads published, {acked_before_kill} acknowledged before SIGKILL, \
         {stored_after_restart} messages taken from the session after the restart, all stored once"
    );
    assert_eq!(stored.len(), total as usize);
    for i in 0..DEVICES {
        for k in 0..UPLOADS {
            assert!(acked.contains_key(&(mn(i), format!("20260101{i:03}{k:06}"))));
        }
    }
}

/// `simulate --mqtt`: the simulator's air micro-stations and restaurant fume monitors replay a
/// day of history over the broker to `serve --mqtt`; every upload is acknowledged (9014 via
/// `…/down`) and stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_over_mqtt_is_acknowledged_and_stored() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let prefix = unique("sim");
    let client_id = unique("serve");
    let mut server = start_server(&data, &client_id, &prefix);
    let out = Command::new(BIN)
        .args(["simulate", "--register", "--progress", "0", "--data"])
        .arg(&data)
        .args(["--mqtt", "mqtt://127.0.0.1:1883", "--mqtt-prefix", &prefix])
        .args([
            "--kinds",
            "air,fume",
            "--devices",
            "4",
            "--history",
            "1d",
            "--no-live",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "simulate: {stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(summary["unacked"], 0, "{summary}");
    let acked = summary["acked"].as_u64().unwrap();
    // a day of hours from each of the two air stations; restaurants upload while open
    assert_eq!(summary["by_kind"]["air"]["acked"], 2 * 24, "{summary}");
    assert!(
        summary["by_kind"]["fume"]["acked"].as_u64().unwrap() > 0,
        "{summary}"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status();
    assert!(server.child.wait().unwrap().success());
    clear_session(&client_id).await;
    let out = Command::new(BIN)
        .args(["export", "--format", "jsonl", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let values = String::from_utf8_lossy(&out.stdout).lines().count() as u64;
    assert!(values >= acked, "{values} values stored for {summary}");
    eprintln!("simulate --mqtt: {}", stderr.lines().last().unwrap_or(""));
}
