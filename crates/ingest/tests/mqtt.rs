//! The MQTT intake against the real broker (Mosquitto at 127.0.0.1:1883): loggers publish HJ
//! 212 frames, the platform stores them, answers on the reply topic only after commit, counts
//! and isolates bad input, and leaves a message whose commit did not happen to the broker,
//! which redelivers it. Each test uses its own topic prefix and client ids, and clears the
//! platform's persistent session at the end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hj212::{Decoder, DecoderConfig, Mode, PacketBuilder};
use ingest::mqtt::{self, outcome, MqttConfig};
use ingest::{spawn_writer, Gateway, GatewayConfig, Metrics, Registry, WriterConfig};
use model::{Device, DeviceKind};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use store::{IntakePacket, SqliteOptions, SqliteStore, Store, ValueFilter};
use tokio::sync::{mpsc, watch};

const BROKER: &str = "mqtt://127.0.0.1:1883";

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("qs-test-{name}-{}-{nanos}", std::process::id())
}

fn device(i: usize) -> Device {
    Device::new(
        &format!("0200{i:020}"),
        "123456",
        &format!("MQTT-SITE-{i}"),
        DeviceKind::Fume,
    )
}

fn upload(d: &Device, qn: u64, hour: u32) -> Vec<u8> {
    let p = PacketBuilder::new("32", "2061", &*d.pw, &*d.mn)
        .qn(format!("20260101{qn:09}"))
        .flag(5)
        .item(
            "DataTime",
            format!("202601{:02}{:02}0000", 1 + hour / 24, hour % 24),
        )
        .group([
            ("a34041-Avg", format!("{}.5", qn % 100)),
            ("a34041-Flag", "N".into()),
        ])
        .group([("a01001-Avg", "21.5"), ("a01001-Flag", "N")])
        .build()
        .unwrap();
    hj212::encode(&p)
}

/// Commits pass through to SQLite unless `fail` is set; `hold` blocks them while locked.
struct FlakyStore {
    inner: SqliteStore,
    fail: Arc<AtomicBool>,
    hold: Arc<Mutex<()>>,
}

impl Store for FlakyStore {
    fn put_device(&mut self, d: &Device) -> store::Result<()> {
        self.inner.put_device(d)
    }
    fn remove_device(&mut self, mn: &str) -> store::Result<bool> {
        self.inner.remove_device(mn)
    }
    fn devices(&self) -> store::Result<Vec<Device>> {
        self.inner.devices()
    }
    fn device(&self, mn: &str) -> store::Result<Option<Device>> {
        self.inner.device(mn)
    }
    fn commit(&mut self, batch: &[IntakePacket]) -> store::Result<store::CommitStats> {
        let _held = self.hold.lock().unwrap_or_else(|e| e.into_inner());
        if self.fail.load(Relaxed) {
            return Err(store::StoreError::Io(std::io::Error::other(
                "disk full (test)",
            )));
        }
        self.inner.commit(batch)
    }
    fn for_each_value(
        &self,
        filter: &ValueFilter,
        f: &mut dyn FnMut(&model::Measurement) -> store::Result<()>,
    ) -> store::Result<()> {
        self.inner.for_each_value(filter, f)
    }
    fn device_states(&self) -> store::Result<Vec<store::DeviceState>> {
        self.inner.device_states()
    }
    fn latest_time(
        &self,
        site: &str,
        code: &str,
        period: model::Period,
    ) -> store::Result<Option<i64>> {
        self.inner.latest_time(site, code, period)
    }
    fn record_command(
        &mut self,
        mn: &str,
        qn: &str,
        cn: &str,
        request: &str,
        sent_ms: i64,
    ) -> store::Result<i64> {
        self.inner.record_command(mn, qn, cn, request, sent_ms)
    }
    fn commands(&self, mn: Option<&str>, limit: usize) -> store::Result<Vec<store::CommandRecord>> {
        self.inner.commands(mn, limit)
    }
    fn archived(
        &self,
        mn: Option<&str>,
        from_ms: i64,
        to_ms: i64,
    ) -> store::Result<Vec<store::ArchivedPacket>> {
        self.inner.archived(mn, from_ms, to_ms)
    }
    fn prune_archive(&mut self, before_ms: i64) -> store::Result<u64> {
        self.inner.prune_archive(before_ms)
    }
    fn received_since(
        &self,
        period: model::Period,
        since_ms: i64,
    ) -> store::Result<Vec<store::ReceivedKey>> {
        self.inner.received_since(period, since_ms)
    }
    fn put_air_days(&mut self, days: &[store::AirDay]) -> store::Result<()> {
        self.inner.put_air_days(days)
    }
    fn air_days(
        &self,
        site: Option<&str>,
        from_day: &str,
        to_day: &str,
    ) -> store::Result<Vec<store::AirDay>> {
        self.inner.air_days(site, from_day, to_day)
    }
    fn watermark(&self, name: &str) -> store::Result<Option<i64>> {
        self.inner.watermark(name)
    }
    fn set_watermark(&mut self, name: &str, value: i64) -> store::Result<()> {
        self.inner.set_watermark(name, value)
    }
}

/// A platform with its MQTT intake on `prefix/+/up`.
struct Platform {
    gateway: Arc<Gateway>,
    metrics: Arc<Metrics>,
    stop: watch::Sender<bool>,
    run: Option<tokio::task::JoinHandle<()>>,
    writer_thread: Option<std::thread::JoinHandle<()>>,
    dir: tempfile::TempDir,
    client_id: String,
    fail: Arc<AtomicBool>,
    hold: Arc<Mutex<()>>,
}

async fn start(devices: &[Device], prefix: &str, client_id: &str, grace: Duration) -> Platform {
    let dir = tempfile::tempdir().unwrap();
    let opts = SqliteOptions {
        fsync: false,
        cache_mib: 16,
    };
    let mut inner = SqliteStore::open_with(dir.path(), &opts).unwrap();
    for d in devices {
        inner.put_device(d).unwrap();
    }
    let fail = Arc::new(AtomicBool::new(false));
    let hold = Arc::new(Mutex::new(()));
    let store = FlakyStore {
        inner,
        fail: fail.clone(),
        hold: hold.clone(),
    };
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
    let registry = Arc::new(Registry::fixed(devices.to_vec()));
    let gateway = Gateway::new(GatewayConfig::default(), registry, writer, metrics.clone());
    let mut cfg = MqttConfig::from_url(&format!("{BROKER}?client_id={client_id}")).unwrap();
    cfg.topics = vec![format!("{prefix}/+/up")];
    cfg.backoff = (Duration::from_millis(50), Duration::from_millis(400));
    cfg.validate().unwrap();
    let (stop, stop_rx) = watch::channel(false);
    let run = tokio::spawn(mqtt::run(gateway.clone(), cfg, stop_rx, grace));
    wait_for("the intake to subscribe", || {
        metrics.mqtt_subscriptions.load(Relaxed) == 1
    })
    .await;
    Platform {
        gateway,
        metrics,
        stop,
        run: Some(run),
        writer_thread: Some(writer_thread),
        dir,
        client_id: client_id.to_string(),
        fail,
        hold,
    }
}

impl Platform {
    /// Stops the intake and the writer; returns a store to inspect.
    async fn stop(mut self) -> (SqliteStore, Arc<Metrics>, tempfile::TempDir) {
        let _ = self.stop.send(true);
        if let Some(run) = self.run.take() {
            run.await.unwrap();
        }
        drop(self.gateway);
        let t = self.writer_thread.take().unwrap();
        tokio::task::spawn_blocking(move || t.join().unwrap())
            .await
            .unwrap();
        let store = SqliteStore::open(self.dir.path()).unwrap();
        (store, self.metrics, self.dir)
    }
}

/// Removes the broker-side session a test's platform left (clean session on connect).
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

/// Waits (bounded, generously) for a condition the system reaches by itself.
async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A logger fleet's side of the broker: publishes at QoS 1 and collects what the platform
/// sends back on `prefix/+/down`.
struct Logger {
    client: AsyncClient,
    replies: mpsc::UnboundedReceiver<(String, hj212::Packet)>,
    task: tokio::task::JoinHandle<()>,
}

async fn logger(prefix: &str) -> Logger {
    let mut o = MqttOptions::new(unique("logger"), "127.0.0.1", 1883);
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut ev) = AsyncClient::new(o, 100);
    let (tx, replies) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    client
        .subscribe(format!("{prefix}/+/down"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let task = tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let mut d = Decoder::new(DecoderConfig::new(Mode::Strict));
                    d.feed(&p.payload);
                    while let Some(f) = d.next_frame() {
                        let f = f.expect("the platform publishes valid frames");
                        let _ = tx.send((p.topic.clone(), f.packet));
                    }
                }
                Ok(_) => {}
                Err(e) => panic!("logger lost the broker: {e}"),
            }
        }
    });
    ready_rx.await.unwrap();
    Logger {
        client,
        replies,
        task,
    }
}

impl Logger {
    async fn publish(&self, topic: &str, payload: Vec<u8>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
    }

    /// The next `n` frames the platform published (bounded wait).
    async fn replies(&mut self, n: usize) -> Vec<(String, hj212::Packet)> {
        let mut out = Vec::new();
        while out.len() < n {
            match tokio::time::timeout(Duration::from_secs(30), self.replies.recv()).await {
                Ok(Some(r)) => out.push(r),
                _ => panic!("expected {n} replies, got {}: {out:?}", out.len()),
            }
        }
        out
    }
}

impl Drop for Logger {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn count(store: &SqliteStore) -> usize {
    let mut n = 0;
    store
        .for_each_value(&ValueFilter::default(), &mut |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
    n
}

/// Loggers publish single and glued frames: every value is stored, every upload gets its 9014
/// on `…/down` (QN echoed), the archive names the topic as the peer, and a device that asks
/// for clock calibration gets its 1012 — and platform commands — on the same reply topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logger_frames_are_stored_and_answered_on_the_reply_topic() {
    let prefix = unique("store");
    let client_id = unique("platform");
    let mut devices: Vec<Device> = (0..3).map(device).collect();
    devices[0].calibrate_clock = true;
    let p = start(&devices, &prefix, &client_id, Duration::from_secs(10)).await;
    let mut lg = logger(&prefix).await;
    let mut sent = 0;
    for (i, d) in devices.iter().enumerate() {
        let topic = format!("{prefix}/{}/up", d.mn);
        for k in 0..4u64 {
            lg.publish(&topic, upload(d, 100 * i as u64 + k, k as u32))
                .await;
            sent += 1;
        }
        // three uploads glued in one message
        let glued: Vec<u8> = (4..7u64)
            .flat_map(|k| upload(d, 100 * i as u64 + k, k as u32))
            .collect();
        lg.publish(&topic, glued).await;
        sent += 3;
    }
    // 21 acks, plus the 1012 of the device that wants its clock set
    let replies = lg.replies(sent + 1).await;
    let mut acks: HashMap<String, Vec<String>> = HashMap::new();
    for (topic, r) in &replies {
        assert_eq!(topic, &format!("{prefix}/{}/down", r.mn()), "{r:?}");
        match r.cn() {
            "9014" => acks
                .entry(r.mn().to_string())
                .or_default()
                .push(r.qn().unwrap().to_string()),
            "1012" => assert_eq!(r.mn(), devices[0].mn),
            other => panic!("unexpected reply CN={other}"),
        }
    }
    for (i, d) in devices.iter().enumerate() {
        let mut got = acks.remove(&d.mn).unwrap_or_default();
        got.sort();
        let want: Vec<String> = (0..7u64)
            .map(|k| format!("20260101{:09}", 100 * i as u64 + k))
            .collect();
        assert_eq!(got, want, "{}", d.mn);
    }
    // a platform command reaches an MQTT device on its reply topic
    let sent_cmd = p
        .gateway
        .send_command(
            &devices[1].mn,
            "2061",
            vec![
                ("BeginTime".into(), "20260101000000".into()),
                ("EndTime".into(), "20260101020000".into()),
            ],
        )
        .await
        .unwrap();
    let (topic, req) = lg.replies(1).await.remove(0);
    assert_eq!(topic, format!("{prefix}/{}/down", devices[1].mn));
    assert_eq!((req.cn(), req.qn()), ("2061", Some(sent_cmd.qn.as_str())));
    assert!(p.gateway.connected().contains(&devices[2].mn));

    let client_id = p.client_id.clone();
    let (store, metrics, _dir) = p.stop().await;
    clear_session(&client_id).await;
    assert_eq!(count(&store), 3 * 7 * 2);
    let archived = store.archived(Some(&devices[2].mn), 0, i64::MAX).unwrap();
    assert_eq!(archived.len(), 7);
    assert!(archived
        .iter()
        .all(|a| a.peer == format!("mqtt:{prefix}/{}/up", devices[2].mn)));
    assert_eq!(metrics.mqtt_messages.get(outcome::STORED), 3 * 5);
    assert_eq!(metrics.acks_sent.load(Relaxed), 21);
    let text = metrics.render();
    assert!(
        text.contains("qingshan_mqtt_messages_total{outcome=\"stored\"} 15"),
        "{text}"
    );
}

/// Unknown MN, wrong PW, a payload with no frame at all, and a frame with a bad CRC glued to
/// a good one: each is counted by reason on the mqtt transport, only the good frame is stored
/// and answered, and every message is acknowledged (a redelivery would bring the same bytes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_counted_and_the_good_frame_beside_it_stored() {
    let prefix = unique("bad");
    let client_id = unique("platform");
    let good = device(7);
    let p = start(
        std::slice::from_ref(&good),
        &prefix,
        &client_id,
        Duration::from_secs(10),
    )
    .await;
    let mut lg = logger(&prefix).await;
    let topic = format!("{prefix}/{}/up", good.mn);
    let stranger = device(8);
    let mut wrong_pw = good.clone();
    wrong_pw.pw = "000000".into();
    lg.publish(
        &format!("{prefix}/{}/up", stranger.mn),
        upload(&stranger, 1, 1),
    )
    .await;
    lg.publish(&topic, upload(&wrong_pw, 2, 2)).await;
    lg.publish(&topic, b"hello, not a frame".to_vec()).await;
    let mut bad_crc = upload(&good, 3, 3);
    let n = bad_crc.len();
    bad_crc[n - 3] = if bad_crc[n - 3] == b'0' { b'1' } else { b'0' };
    let mut glued = bad_crc;
    glued.extend(upload(&good, 4, 4));
    lg.publish(&topic, glued).await;
    let replies = lg.replies(1).await;
    assert_eq!(
        (replies[0].1.cn(), replies[0].1.qn()),
        ("9014", Some("20260101000000004"))
    );
    wait_for("every message to be acknowledged", || {
        p.metrics.mqtt_messages.get(outcome::NOTHING_TO_STORE) == 3
    })
    .await;
    let client_id = p.client_id.clone();
    let (store, metrics, _dir) = p.stop().await;
    clear_session(&client_id).await;
    assert_eq!(count(&store), 2);
    assert_eq!(metrics.refusals.get_on("mqtt", "unknown_mn"), 1);
    assert_eq!(metrics.refusals.get_on("mqtt", "wrong_pw"), 1);
    assert_eq!(metrics.refusals.get_on("tcp", "wrong_pw"), 0);
    assert_eq!(metrics.frames_rejected.get_on("mqtt", "crc"), 1);
    assert_eq!(metrics.frames_rejected.get_on("mqtt", "no_frame"), 1);
    assert_eq!(metrics.mqtt_messages.get(outcome::STORED), 1);
    assert!(lg.replies.try_recv().is_err(), "nothing else answered");
    let text = metrics.render();
    assert!(
        text.contains("qingshan_refusals_total{reason=\"unknown_mn\",transport=\"mqtt\"} 1"),
        "{text}"
    );
}

/// A failed commit acknowledges nothing: no 9014, no PUBACK. The intake reconnects and the
/// broker redelivers the message from the persistent session until a commit succeeds; then it
/// is stored (once) and answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_commit_is_not_acknowledged_and_the_broker_redelivers() {
    let prefix = unique("fail");
    let client_id = unique("platform");
    let d = device(3);
    let p = start(
        std::slice::from_ref(&d),
        &prefix,
        &client_id,
        Duration::from_secs(10),
    )
    .await;
    let mut lg = logger(&prefix).await;
    p.fail.store(true, Relaxed);
    lg.publish(&format!("{prefix}/{}/up", d.mn), upload(&d, 9, 9))
        .await;
    wait_for("a redelivery after a failed commit", || {
        p.metrics.mqtt_messages.get(outcome::COMMIT_FAILED) >= 2
    })
    .await;
    assert!(
        lg.replies.try_recv().is_err(),
        "no 9014 for a failed commit"
    );
    assert_eq!(p.metrics.mqtt_messages.get(outcome::STORED), 0);
    p.fail.store(false, Relaxed);
    let replies = lg.replies(1).await;
    assert_eq!(replies[0].1.qn(), Some("20260101000000009"));
    wait_for("the PUBACK", || {
        p.metrics.mqtt_messages.get(outcome::STORED) == 1
    })
    .await;
    let client_id = p.client_id.clone();
    let (store, metrics, _dir) = p.stop().await;
    clear_session(&client_id).await;
    assert_eq!(count(&store), 2);
    assert!(metrics.mqtt_reconnects.load(Relaxed) >= 2);
    assert!(metrics.commit_errors.load(Relaxed) >= 2);
}

/// A message whose commit had not completed when the platform stopped was never acknowledged:
/// the next run with the same client id gets it from the broker and stores it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacknowledged_message_is_redelivered_after_a_restart() {
    let prefix = unique("restart");
    let client_id = unique("platform");
    let d = device(4);
    let first = start(
        std::slice::from_ref(&d),
        &prefix,
        &client_id,
        Duration::from_millis(300),
    )
    .await;
    let mut lg = logger(&prefix).await;
    // The commit hangs (then fails), as if the process died in the middle of it.
    let held = first.hold.clone();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let _guard = held.lock().unwrap();
        locked_tx.send(()).unwrap();
        let _ = release_rx.recv();
    });
    locked_rx.recv().unwrap();
    first.fail.store(true, Relaxed);
    lg.publish(&format!("{prefix}/{}/up", d.mn), upload(&d, 5, 5))
        .await;
    wait_for("the frame to reach the writer", || {
        first.metrics.mqtt_frames.load(Relaxed) == 1
    })
    .await;
    let _ = first.stop.send(true);
    let mut first = first;
    first.run.take().unwrap().await.unwrap();
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let (store, metrics, _dir) = first.stop().await;
    assert_eq!(count(&store), 0);
    assert_eq!(metrics.mqtt_messages.get(outcome::STORED), 0);
    assert!(lg.replies.try_recv().is_err(), "no 9014 before commit");

    let second = start(
        std::slice::from_ref(&d),
        &prefix,
        &client_id,
        Duration::from_secs(10),
    )
    .await;
    let replies = lg.replies(1).await;
    assert_eq!(replies[0].1.qn(), Some("20260101000000005"));
    wait_for("the PUBACK", || {
        second.metrics.mqtt_messages.get(outcome::STORED) == 1
    })
    .await;
    let (store, _metrics, _dir) = second.stop().await;
    clear_session(&client_id).await;
    assert_eq!(count(&store), 2);
}
