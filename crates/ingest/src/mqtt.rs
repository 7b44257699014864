//! MQTT intake: data loggers (air micro-stations, restaurant fume monitors, …) that publish
//! HJ 212 frames to an MQTT broker instead of opening a TCP connection to the platform.
//!
//! The platform subscribes to the configured topic filters at QoS 1 with a persistent session
//! (clean session off) and manual acknowledgements. Each message's payload is decoded on its
//! own (it may hold one frame, several glued frames, or garbage) and every frame goes through
//! [`Gateway::intake`], the same pipeline as a TCP frame: registry, PW, the device's deviation
//! policy, refusals, split packets, conversion, the writer. State that spans frames (split
//! packets, refusal counts, the device sessions used for commands) is kept per topic, as a TCP
//! connection keeps it; the peer recorded with each packet is `mqtt:<topic>`.
//!
//! Durability: a message is acknowledged to the broker (PUBACK) only after the writer committed
//! every packet it carried, in arrival order. If a commit fails, the message is not
//! acknowledged and the client reconnects, so that the broker redelivers it from the session;
//! a crash or restart of the platform leaves unacknowledged messages in the session too.
//! Answers the protocol expects go to a reply topic derived from the incoming one: 9014 (once
//! durable) and 9013, at QoS 1; platform→device commands for a device last seen on a topic go
//! there as well.
//!
//! The client's event loop never waits on the rest of the pipeline (a wait there would stop it
//! sending the acknowledgements the pipeline waits for): messages go to the processing task
//! through an unbounded queue whose QoS 1 content the broker bounds (its in-flight window,
//! `max_inflight_messages` in Mosquitto), and QoS 0 messages beyond `max_queued` are dropped
//! and counted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hj212::{Decoder, DecoderConfig};
use rumqttc::{
    AsyncClient, ConnectionError, Event, MqttOptions, Packet, Publish, QoS, SubscribeFilter,
    SubscribeReasonCode,
};
use tokio::sync::{mpsc, oneshot, watch};

use crate::gateway::{Downlink, Gateway, Intake, Link};

/// The default topic filter when none is given.
pub const DEFAULT_TOPIC: &str = "hj212/+/up";

/// Where the answers to a message on a topic go.
///
/// Without a template: a topic ending in `/up` is answered on the same topic ending in
/// `/down`, any other topic on itself plus `/reply`. A template may use `{topic}` (the incoming
/// topic), `{stem}` (the topic without a trailing `/up`) and `{1}` … `{9}` (its levels,
/// counted from 1; a missing level is empty), e.g. `devices/{2}/ack`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyTopic(Option<String>);

impl ReplyTopic {
    /// A template (see the type's documentation); `None` keeps the default rule.
    pub fn new(template: Option<String>) -> Result<ReplyTopic, String> {
        let Some(t) = template else {
            return Ok(ReplyTopic(None));
        };
        if t.is_empty() {
            return Err("the MQTT reply topic template is empty".into());
        }
        if t.contains('+') || t.contains('#') {
            return Err(format!(
                "MQTT reply topic template {t:?}: a topic to publish to cannot hold the wildcards + or #"
            ));
        }
        // Every `{…}` must be a known placeholder.
        let mut rest = t.as_str();
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                return Err(format!("MQTT reply topic template {t:?}: a {{ without }}"));
            };
            let name = &rest[open + 1..open + close];
            let known = name == "topic"
                || name == "stem"
                || (name.len() == 1 && matches!(name.as_bytes()[0], b'1'..=b'9'));
            if !known {
                return Err(format!(
                    "MQTT reply topic template {t:?}: unknown placeholder {{{name}}} (use {{topic}}, {{stem}} or {{1}}…{{9}})"
                ));
            }
            rest = &rest[open + close + 1..];
        }
        Ok(ReplyTopic(Some(t)))
    }

    /// The reply topic for a message received on `topic`.
    pub fn for_topic(&self, topic: &str) -> String {
        let stem = topic.strip_suffix("/up");
        let Some(t) = &self.0 else {
            return match stem {
                Some(s) => format!("{s}/down"),
                None => format!("{topic}/reply"),
            };
        };
        let levels: Vec<&str> = topic.split('/').collect();
        let mut out = String::with_capacity(t.len() + topic.len());
        let mut rest = t.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = open + rest[open..].find('}').expect("validated in new");
            match &rest[open + 1..close] {
                "topic" => out.push_str(topic),
                "stem" => out.push_str(stem.unwrap_or(topic)),
                n => {
                    let i = n.parse::<usize>().expect("validated in new");
                    out.push_str(levels.get(i - 1).copied().unwrap_or(""));
                }
            }
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// Settings of the MQTT intake.
#[derive(Debug, Clone)]
pub struct MqttConfig {
    pub host: String,
    pub port: u16,
    /// Also the name of the broker-side session that holds unacknowledged messages: keep it
    /// stable across restarts, and give each node its own.
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Topic filters subscribed at QoS 1 (`+` and `#` wildcards, `$share/<group>/…`).
    pub topics: Vec<String>,
    pub reply: ReplyTopic,
    pub keep_alive: Duration,
    /// Largest MQTT packet accepted from the broker (a larger one breaks the connection: set
    /// the broker's `message_size_limit` below it).
    pub max_packet: usize,
    /// QoS 0 messages waiting for processing beyond which further QoS 0 messages are dropped.
    pub max_queued: usize,
    /// Reconnect delays: the first, doubled after each failure up to the second.
    pub backoff: (Duration, Duration),
}

impl MqttConfig {
    /// Parses `mqtt://[user[:password]@]host[:port][?client_id=ID]` (also `tcp://`); the
    /// port defaults to 1883, the client id to `qingshan-<hostname>`. User and password are
    /// percent-decoded.
    pub fn from_url(url: &str) -> Result<MqttConfig, String> {
        let bad = |why: &str| format!("MQTT URL {url:?}: {why}");
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("expected mqtt://host[:port]"))?;
        match scheme {
            "mqtt" | "tcp" => {}
            "mqtts" | "ssl" | "tls" | "ws" | "wss" => {
                return Err(bad(&format!(
                    "{scheme}:// is not supported by this build (plain mqtt:// only; put a TLS terminator such as the broker's own listener on the local side)"
                )))
            }
            other => return Err(bad(&format!("unknown scheme {other}:// (use mqtt://)"))),
        }
        let (authority, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let authority = authority.strip_suffix('/').unwrap_or(authority);
        if authority.contains('/') {
            return Err(bad("a path is not allowed; give topics with --mqtt-topic"));
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 address needs a closing ]"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(bad("unexpected text after the IPv6 address")),
            };
            (h.to_string(), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            None => 1883,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| bad(&format!("port {p:?} is not a number 1-65535")))?,
        };
        let decode = |s: &str| -> Result<String, String> {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad("user or password is not UTF-8 once percent-decoded"))
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((u, p)) => (Some(decode(u)?), Some(decode(p)?)),
                None => (Some(decode(u)?), None),
            },
        };
        let mut client_id = None;
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("client_id", v)) if !v.is_empty() => client_id = Some(decode(v)?),
                _ => {
                    return Err(bad(&format!(
                        "unknown query parameter {pair:?} (only client_id=…)"
                    )))
                }
            }
        }
        Ok(MqttConfig {
            host,
            port,
            client_id: client_id.unwrap_or_else(default_client_id),
            username,
            password,
            topics: Vec::new(),
            reply: ReplyTopic::default(),
            keep_alive: Duration::from_secs(30),
            max_packet: 1024 * 1024,
            max_queued: 10_000,
            backoff: (Duration::from_millis(500), Duration::from_secs(30)),
        })
    }

    /// Checks what the broker would only refuse later, or what would loop: topic filters that
    /// are not valid, and a reply topic that a filter would receive again.
    pub fn validate(&self) -> Result<(), String> {
        if self.client_id.is_empty() || self.client_id.len() > 65535 {
            return Err("the MQTT client id must not be empty".into());
        }
        if self.password.is_some() && self.username.is_none() {
            return Err("an MQTT password needs a user name".into());
        }
        if self.topics.is_empty() {
            return Err("no MQTT topic filter to subscribe to".into());
        }
        for f in &self.topics {
            let plain = unshared(f).ok_or_else(|| {
                format!("MQTT topic filter {f:?}: a shared subscription is $share/<group>/<filter>")
            })?;
            if !rumqttc::valid_filter(plain) {
                return Err(format!(
                    "MQTT topic filter {f:?} is not valid (+ stands for a whole level, # only at the end)"
                ));
            }
        }
        // A topic each filter matches, and the reply to it: a filter that matches a reply
        // would feed the platform's own answers back into the intake.
        for f in &self.topics {
            let plain = unshared(f).unwrap_or(f);
            let sample = plain
                .split('/')
                .map(|l| match l {
                    "+" => "x",
                    "#" => "x/up",
                    l => l,
                })
                .collect::<Vec<_>>()
                .join("/");
            let reply = self.reply.for_topic(&sample);
            for g in &self.topics {
                if rumqttc::matches(&reply, unshared(g).unwrap_or(g)) {
                    return Err(format!(
                        "MQTT replies to {sample:?} (from filter {f:?}) go to {reply:?}, which filter {g:?} would receive again: narrow the filter or set another reply topic"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The filter of a `$share/<group>/<filter>` subscription; the filter itself otherwise.
fn unshared(filter: &str) -> Option<&str> {
    match filter.strip_prefix("$share/") {
        None => Some(filter),
        Some(rest) => rest
            .split_once('/')
            .filter(|(g, f)| !g.is_empty() && !f.is_empty())
            .map(|(_, f)| f),
    }
}

fn default_client_id() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let host = if ok {
        let n = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..n]).into_owned()
    } else {
        String::new()
    };
    if host.is_empty() {
        "qingshan".into()
    } else {
        format!("qingshan-{host}")
    }
}

/// A message handed from the event loop to the processing task.
struct Delivery {
    /// The connection (counted from 1) it arrived on: an acknowledgement is only valid there.
    generation: u64,
    publish: Publish,
}

/// What the acknowledging task does for one message, in arrival order.
struct AckJob {
    generation: u64,
    /// Payload dropped; kept for its packet id and QoS.
    publish: Publish,
    reply: Arc<str>,
    /// The packets it carried: durable?, then the 9014 to publish.
    packets: Vec<(oneshot::Receiver<bool>, Option<Vec<u8>>, Instant)>,
}

/// A topic's link and when it last carried a message.
struct TopicLink {
    link: Link,
    reply: Arc<str>,
    last_seen: Instant,
}

/// Outcome labels of `qingshan_mqtt_messages_total`.
pub mod outcome {
    /// Everything the message carried is committed; acknowledged (PUBACK at QoS 1).
    pub const STORED: &str = "stored";
    /// No frame in it could be stored (garbage, rejected or refused frames only); acknowledged
    /// all the same, since a redelivery would bring the same bytes.
    pub const NOTHING_TO_STORE: &str = "nothing_to_store";
    /// A commit failed: not acknowledged, the client reconnects and the broker redelivers.
    pub const COMMIT_FAILED: &str = "commit_failed";
    /// Committed after the connection it came on was lost: the broker redelivers it.
    pub const CONNECTION_LOST: &str = "connection_lost";
    /// A QoS 0 message dropped because processing was `max_queued` messages behind.
    pub const DROPPED: &str = "dropped_qos0";
}

/// Runs the MQTT intake until `shutdown` turns true; then stops taking messages, waits (up to
/// `grace`) until what was already handed to the writer is committed and acknowledged, and
/// disconnects (the session, and any unacknowledged message, stays with the broker).
pub async fn run(
    gateway: Arc<Gateway>,
    cfg: MqttConfig,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let metrics = gateway.metrics().clone();
    let mut opts = MqttOptions::new(cfg.client_id.clone(), cfg.host.clone(), cfg.port);
    opts.set_clean_session(false)
        .set_manual_acks(true)
        .set_keep_alive(cfg.keep_alive)
        .set_max_packet_size(cfg.max_packet, cfg.max_packet)
        .set_inflight(512);
    if let Some(u) = &cfg.username {
        opts.set_credentials(u.clone(), cfg.password.clone().unwrap_or_default());
    }
    // Generous: subscriptions, acks and replies queue here while the loop is busy; the loop
    // drains it whenever it polls.
    let (client, mut eventloop) = AsyncClient::new(opts, 4096);
    let generation = Arc::new(AtomicU64::new(0));
    let queued = Arc::new(AtomicUsize::new(0));
    let (msg_tx, msg_rx) = mpsc::unbounded_channel::<Delivery>();
    let (ack_tx, ack_rx) = mpsc::channel::<AckJob>(1024);
    let (pub_tx, pub_rx) = mpsc::channel::<(Arc<str>, Vec<u8>)>(1024);
    let (stop_tx, stop_rx) = watch::channel(false);

    let processor = tokio::spawn(process(
        gateway.clone(),
        msg_rx,
        ack_tx,
        pub_tx,
        cfg.reply.clone(),
        queued.clone(),
        stop_rx,
    ));
    let mut acker = tokio::spawn(acknowledge(
        ack_rx,
        client.clone(),
        generation.clone(),
        metrics.clone(),
    ));
    let publisher = tokio::spawn(publish_frames(pub_rx, client.clone()));

    let filters: Vec<SubscribeFilter> = cfg
        .topics
        .iter()
        .map(|t| SubscribeFilter::new(t.clone(), QoS::AtLeastOnce))
        .collect();
    let mut subscribed_once = false;
    let mut subscribe_due = false;
    let mut backoff = cfg.backoff.0;
    let mut connected_since: Option<Instant> = None;
    let mut stopping = false;
    let deadline = tokio::time::sleep(Duration::from_secs(365 * 86_400));
    tokio::pin!(deadline);
    loop {
        if subscribe_due {
            match client.try_subscribe_many(filters.clone()) {
                Ok(()) => subscribe_due = false,
                Err(e) => tracing::warn!(error = %e, "MQTT subscribe request not queued; retrying"),
            }
        }
        let event = tokio::select! {
            ev = eventloop.poll() => ev,
            _ = shutdown.changed(), if !stopping => {
                stopping = true;
                let _ = stop_tx.send(true);
                deadline.as_mut().reset(tokio::time::Instant::now() + grace);
                continue;
            }
            _ = &mut acker, if stopping => break,
            _ = &mut deadline, if stopping => {
                tracing::warn!("MQTT: shutdown grace period over; unacknowledged messages stay with the broker");
                break;
            }
        };
        match event {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if stopping {
                    // Not taken, not acknowledged: the broker redelivers it to the next run.
                    continue;
                }
                if p.qos == QoS::AtMostOnce && queued.load(Relaxed) >= cfg.max_queued {
                    metrics.mqtt_messages.inc(outcome::DROPPED);
                    if gateway.may_log() {
                        tracing::warn!(topic = %p.topic, queued = cfg.max_queued, "MQTT: QoS 0 message dropped, processing is behind");
                    }
                    continue;
                }
                queued.fetch_add(1, Relaxed);
                let _ = msg_tx.send(Delivery {
                    generation: generation.load(Relaxed),
                    publish: p,
                });
            }
            Ok(Event::Incoming(Packet::ConnAck(c))) => {
                let g = generation.fetch_add(1, Relaxed) + 1;
                if g > 1 {
                    metrics.mqtt_reconnects.fetch_add(1, Relaxed);
                }
                metrics.mqtt_connected.store(1, Relaxed);
                connected_since = Some(Instant::now());
                // Subscriptions live in the session: renew them at start (the filters may
                // have changed) and whenever the broker lost the session.
                if !subscribed_once || !c.session_present {
                    subscribe_due = true;
                    subscribed_once = true;
                }
                tracing::info!(broker = %format!("{}:{}", cfg.host, cfg.port), client_id = %cfg.client_id, session_present = c.session_present, "MQTT connected");
            }
            Ok(Event::Incoming(Packet::SubAck(s))) => {
                let granted = s
                    .return_codes
                    .iter()
                    .filter(|c| matches!(c, SubscribeReasonCode::Success(_)))
                    .count();
                metrics.mqtt_subscriptions.store(granted as i64, Relaxed);
                for (code, f) in s.return_codes.iter().zip(&cfg.topics) {
                    match code {
                        SubscribeReasonCode::Success(q) => {
                            tracing::info!(filter = %f, qos = ?q, "MQTT subscribed")
                        }
                        SubscribeReasonCode::Failure => {
                            metrics.mqtt_subscribe_failures.fetch_add(1, Relaxed);
                            tracing::error!(filter = %f, "MQTT: the broker refused the subscription (check the filter and the broker's ACL)");
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                if stopping {
                    break;
                }
                metrics.mqtt_connected.store(0, Relaxed);
                metrics.mqtt_connection_errors.fetch_add(1, Relaxed);
                if connected_since.is_some_and(|t| t.elapsed() >= Duration::from_secs(10)) {
                    backoff = cfg.backoff.0;
                }
                connected_since = None;
                log_connection_error(&e, &cfg, backoff);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => {
                        let _ = stop_tx.send(true);
                        break;
                    }
                }
                backoff = (backoff * 2).min(cfg.backoff.1);
            }
        }
    }
    // Leave cleanly: the broker keeps the session (and what was not acknowledged) for the
    // next run.
    let _ = stop_tx.send(true);
    if metrics.mqtt_connected.load(Relaxed) == 1 && client.try_disconnect().is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
    }
    metrics.mqtt_connected.store(0, Relaxed);
    drop(msg_tx);
    // The acknowledging task is done or past the grace period; without it the processing
    // task cannot wait on a full acknowledgement queue, only (briefly) on the writer.
    acker.abort();
    let mut processor = processor;
    if tokio::time::timeout(Duration::from_secs(2), &mut processor)
        .await
        .is_err()
    {
        processor.abort();
    }
    publisher.abort();
}

fn log_connection_error(e: &ConnectionError, cfg: &MqttConfig, retry_in: Duration) {
    let broker = format!("{}:{}", cfg.host, cfg.port);
    match e {
        ConnectionError::ConnectionRefused(code) => {
            tracing::error!(broker = %broker, code = ?code, retry_in_ms = retry_in.as_millis() as u64, "MQTT: the broker refused the connection (check user, password, client id)")
        }
        e => {
            tracing::warn!(broker = %broker, error = %e, retry_in_ms = retry_in.as_millis() as u64, "MQTT connection lost; reconnecting")
        }
    }
}

/// Decodes each message and runs its frames through the gateway's pipeline, in order.
async fn process(
    gateway: Arc<Gateway>,
    mut rx: mpsc::UnboundedReceiver<Delivery>,
    acks: mpsc::Sender<AckJob>,
    downlink_tx: mpsc::Sender<(Arc<str>, Vec<u8>)>,
    reply: ReplyTopic,
    queued: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
) {
    let metrics = gateway.metrics().clone();
    let idle = gateway.cfg.idle_timeout;
    let mut links: HashMap<String, TopicLink> = HashMap::new();
    let mut sweep = tokio::time::interval(idle.min(Duration::from_secs(30)));
    'messages: loop {
        let d = tokio::select! {
            d = rx.recv() => match d {
                Some(d) => d,
                None => break,
            },
            _ = sweep.tick() => {
                // A topic silent as long as an idle TCP connection is closed the same way:
                // its devices are no longer listed as connected.
                let gone: Vec<String> = links
                    .iter()
                    .filter(|(_, l)| l.last_seen.elapsed() >= idle)
                    .map(|(t, _)| t.clone())
                    .collect();
                for t in gone {
                    if let Some(l) = links.remove(&t) {
                        gateway.close_link(l.link);
                    }
                }
                continue;
            }
            _ = stop.changed() => break,
        };
        queued.fetch_sub(1, Relaxed);
        let Delivery {
            generation,
            mut publish,
        } = d;
        let payload = std::mem::take(&mut publish.payload);
        metrics.mqtt_bytes.fetch_add(payload.len() as u64, Relaxed);
        if !links.contains_key(&publish.topic) {
            let r: Arc<str> = reply.for_topic(&publish.topic).into();
            let link = gateway.open_link(
                "mqtt",
                format!("mqtt:{}", publish.topic),
                Downlink::Topic {
                    topic: r.clone(),
                    tx: downlink_tx.clone(),
                },
            );
            links.insert(
                publish.topic.clone(),
                TopicLink {
                    link,
                    reply: r,
                    last_seen: Instant::now(),
                },
            );
        }
        let tl = links.get_mut(&publish.topic).expect("inserted above");
        tl.last_seen = Instant::now();
        let mut decoder = Decoder::new(DecoderConfig::new(gateway.cfg.mode));
        decoder.feed(&payload);
        let mut frames = 0u64;
        let mut packets = Vec::new();
        let mut at_end = false;
        loop {
            let r = if at_end {
                decoder.finish()
            } else {
                match decoder.next_frame() {
                    Some(r) => Some(r),
                    None => {
                        // The message is the whole stream: what is left is complete or broken.
                        at_end = true;
                        decoder.finish()
                    }
                }
            };
            let Some(r) = r else { break };
            frames += 1;
            match gateway.intake(r, &mut tl.link).await {
                Intake::Queued { done, ack, arrived } => packets.push((done, ack, arrived)),
                Intake::Rejected | Intake::Refused { .. } => {}
                // The writer is gone (shutting down): leave the message to the broker.
                Intake::Stopped => break 'messages,
            }
        }
        metrics.mqtt_frames.fetch_add(frames, Relaxed);
        if frames == 0 {
            metrics.frames_rejected.inc("mqtt", "no_frame");
            if gateway.may_log() {
                let head = String::from_utf8_lossy(&payload[..payload.len().min(40)]).into_owned();
                tracing::info!(topic = %publish.topic, bytes = payload.len(), head = %head, "MQTT message without an HJ 212 frame");
            }
        }
        let job = AckJob {
            generation,
            publish,
            reply: tl.reply.clone(),
            packets,
        };
        if acks.send(job).await.is_err() {
            break;
        }
    }
    for (_, l) in links.drain() {
        gateway.close_link(l.link);
    }
}

/// Acknowledges messages in arrival order, each once every packet it carried is durable; a
/// failed commit acknowledges nothing and reconnects so the broker redelivers.
async fn acknowledge(
    mut rx: mpsc::Receiver<AckJob>,
    client: AsyncClient,
    generation: Arc<AtomicU64>,
    metrics: Arc<crate::Metrics>,
) {
    let mut reconnect_asked_for = 0u64;
    while let Some(job) = rx.recv().await {
        let stored = !job.packets.is_empty();
        let mut durable = true;
        for (done, ack, arrived) in job.packets {
            if !done.await.unwrap_or(false) {
                durable = false;
                continue;
            }
            if let Some(frame) = ack {
                if client
                    .publish(&*job.reply, QoS::AtLeastOnce, false, frame)
                    .await
                    .is_ok()
                {
                    metrics.acks_sent.fetch_add(1, Relaxed);
                    metrics.ack_latency.observe(arrived.elapsed().as_secs_f64());
                }
            }
        }
        if !durable {
            metrics.mqtt_messages.inc(outcome::COMMIT_FAILED);
            if reconnect_asked_for != job.generation {
                reconnect_asked_for = job.generation;
                tracing::warn!(topic = %job.publish.topic, "MQTT: a commit failed; reconnecting so that the broker redelivers what was not acknowledged");
                let _ = client.disconnect().await;
            }
            continue;
        }
        if job.generation != generation.load(Relaxed) {
            // Its packet id belongs to a connection that is gone; the broker redelivers the
            // message on the new one (stored again idempotently) and it is acknowledged then.
            metrics.mqtt_messages.inc(outcome::CONNECTION_LOST);
            continue;
        }
        if client.ack(&job.publish).await.is_ok() {
            metrics.mqtt_messages.inc(if stored {
                outcome::STORED
            } else {
                outcome::NOTHING_TO_STORE
            });
        }
    }
}

/// Publishes what the pipeline sends to devices at once (9013, commands) at QoS 1.
async fn publish_frames(mut rx: mpsc::Receiver<(Arc<str>, Vec<u8>)>, client: AsyncClient) {
    while let Some((topic, frame)) = rx.recv().await {
        if client
            .publish(&*topic, QoS::AtLeastOnce, false, frame)
            .await
            .is_err()
        {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_reply_topics() {
        let r = ReplyTopic::default();
        assert_eq!(r.for_topic("hj212/ABC/up"), "hj212/ABC/down");
        assert_eq!(r.for_topic("stations/ABC"), "stations/ABC/reply");
        assert_eq!(r.for_topic("up"), "up/reply");
    }

    #[test]
    fn reply_topic_templates() {
        let r = ReplyTopic::new(Some("cmd/{2}/{stem}/{topic}/{9}".into())).unwrap();
        assert_eq!(r.for_topic("a/b/up"), "cmd/b/a/b/a/b/up/");
        for bad in ["", "x/+", "x/#", "{mn}", "{0}", "x/{2"] {
            assert!(ReplyTopic::new(Some(bad.into())).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls() {
        let c = MqttConfig::from_url("mqtt://u%40x:p%3Aw@broker.example:1884?client_id=node-1")
            .unwrap();
        assert_eq!(
            (
                c.host.as_str(),
                c.port,
                c.username.as_deref(),
                c.password.as_deref(),
                c.client_id.as_str()
            ),
            ("broker.example", 1884, Some("u@x"), Some("p:w"), "node-1")
        );
        let c = MqttConfig::from_url("tcp://[::1]").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("::1", 1883));
        assert!(c.client_id.starts_with("qingshan"));
        for bad in [
            "127.0.0.1:1883",
            "mqtts://h",
            "http://h",
            "mqtt://h:0",
            "mqtt://h:99999",
            "mqtt://h/topic",
            "mqtt://h?qos=1",
            "mqtt://:1883",
        ] {
            let e = MqttConfig::from_url(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn validation_catches_bad_filters_and_reply_loops() {
        let mut c = MqttConfig::from_url("mqtt://h").unwrap();
        assert!(c.validate().is_err(), "no topic");
        for (filters, ok) in [
            (vec!["hj212/+/up"], true),
            (vec!["$share/q/hj212/+/up"], true),
            (vec!["hj212/#"], false),
            (vec!["hj212/+/up", "hj212/+/+"], false),
            (vec!["a/#/b"], false),
            (vec!["a/b+"], false),
            (vec!["$share/q"], false),
            (vec!["stations/+"], true),
        ] {
            c.topics = filters.iter().map(|s| s.to_string()).collect();
            assert_eq!(c.validate().is_ok(), ok, "{filters:?}: {:?}", c.validate());
        }
        c.topics = vec!["hj212/#".into()];
        c.reply = ReplyTopic::new(Some("answers/{2}".into())).unwrap();
        assert!(c.validate().is_ok());
    }
}
