//! Webhook notifications of alarm events: a worker delivers the durable outbox
//! (`alarm_outbox`, filled in the same transaction as the alarm change) by HTTP POST of JSON.
//!
//! - **At least once**: a notification is marked `sent` only after a 2xx answer; it survives a
//!   restart (it is a row, not a queue in memory). A receiver deduplicates by `id`.
//! - **Retries**: on a connection error, timeout or non-2xx status, the next attempt waits
//!   `backoff_base_ms × 2^(attempts−1)`, at most `backoff_max_ms`; after `max_attempts` the
//!   notification is `failed` (attempts, last error and times are recorded).
//! - **Rate limit**: at most `max_per_minute` requests per endpoint in any 60 s window. When
//!   more are due than the window allows, the first ones go out one by one and the rest are
//!   folded into one `summary` notification (the folded rows become `coalesced`, pointing to
//!   it). The window is kept in memory (a restart starts a fresh window).
//! - HTTP: a minimal HTTP/1.1 client over `std::net::TcpStream` (`http://` only, no TLS,
//!   `Connection: close`): no extra dependency; for an `https://` receiver put a local relay in
//!   front. Body shape: docs/engine-alarms.md.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use store::alarms::{AlarmStore, Attempt, Notification};

use crate::{EngineError, Result};

/// Webhook settings.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// `http://host[:port]/path`.
    pub url: String,
    /// Requests per rolling minute to this endpoint (≥ 1).
    pub max_per_minute: usize,
    /// Attempts before a notification is given up (≥ 1).
    pub max_attempts: i64,
    pub backoff_base_ms: i64,
    pub backoff_max_ms: i64,
    /// Connect / read / write timeout of one request.
    pub timeout: Duration,
    /// How often the worker looks at the outbox.
    pub poll: Duration,
}

impl WebhookConfig {
    /// Defaults: 20 a minute, 8 attempts, backoff 2 s doubling up to 10 min, 10 s timeout,
    /// poll every second.
    pub fn new(url: &str) -> WebhookConfig {
        WebhookConfig {
            url: url.to_string(),
            max_per_minute: 20,
            max_attempts: 8,
            backoff_base_ms: 2_000,
            backoff_max_ms: 600_000,
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(1),
        }
    }
}

/// A parsed `http://` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint> {
        let bad = |why: &str| EngineError::Invalid(format!("webhook URL {url:?}: {why}"));
        let rest = if let Some(r) = url.strip_prefix("http://") {
            r
        } else if url.starts_with("https://") {
            return Err(bad(
                "https is not supported by the built-in client (plain http only; put a local relay in front)",
            ));
        } else {
            return Err(bad("must start with http://"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(bad("no host"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
                h.to_string(),
                p.parse::<u16>()
                    .map_err(|_| bad(&format!("port {p:?} is not a number 0–65535")))?,
            ),
            _ => (authority.to_string(), 80),
        };
        Ok(Endpoint {
            host,
            port,
            path: path.to_string(),
        })
    }
}

/// POSTs `body` (JSON) and returns the HTTP status, or a description of what failed.
pub fn post_json(ep: &Endpoint, body: &str, timeout: Duration) -> std::result::Result<u16, String> {
    let addr = (ep.host.as_str(), ep.port)
        .to_socket_addrs()
        .map_err(|e| format!("resolve {}:{}: {e}", ep.host, ep.port))?
        .next()
        .ok_or_else(|| format!("resolve {}:{}: no address", ep.host, ep.port))?;
    let mut s =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let req = format!(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\nUser-Agent: qingshan-alarms\r\n\r\n",
        ep.path,
        ep.host,
        ep.port,
        body.len()
    );
    s.write_all(req.as_bytes())
        .and_then(|_| s.write_all(body.as_bytes()))
        .map_err(|e| format!("send: {e}"))?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < 8192 {
        let n = s
            .read(&mut chunk)
            .map_err(|e| format!("read status: {e}"))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    let line = line.lines().next().unwrap_or("");
    let mut parts = line.split_whitespace();
    match (
        parts.next(),
        parts.next().and_then(|c| c.parse::<u16>().ok()),
    ) {
        (Some(v), Some(code)) if v.starts_with("HTTP/1.") => Ok(code),
        _ => Err(format!("bad status line {line:?}")),
    }
}

/// What one pass over the outbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    /// Notifications folded into a summary in this pass.
    pub coalesced: usize,
    /// Due notifications left for a later pass (window full).
    pub deferred: usize,
}

/// Delivers the outbox to one webhook endpoint.
pub struct Notifier {
    cfg: WebhookConfig,
    endpoint: Endpoint,
    /// Request instants (ms) within the last minute.
    window: VecDeque<i64>,
}

fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The JSON POSTed for a notification (docs/engine-alarms.md).
pub fn payload(n: &Notification, attempt: i64) -> String {
    let body: serde_json::Value =
        serde_json::from_str(&n.body).unwrap_or(serde_json::Value::String(n.body.clone()));
    let mut v = serde_json::json!({
        "id": n.id,
        "event": n.event,
        "event_cn": event_cn(&n.event),
        "alarm_id": n.alarm_id,
        "created_at": model::format_beijing(n.created_ms.div_euclid(1000)),
        "attempt": attempt,
    });
    if n.event == "summary" {
        if let (Some(obj), serde_json::Value::Object(b)) = (v.as_object_mut(), body) {
            obj.extend(b);
        }
    } else {
        v["alarm"] = body;
    }
    v.to_string()
}

/// Chinese name of a notification event.
pub fn event_cn(event: &str) -> &'static str {
    match event {
        "raised" => "新告警",
        "escalated" => "告警升级",
        "overdue" => "超期升级",
        "dispatched" => "已派发",
        "cleared" => "告警解除",
        "reopened" => "重新打开",
        "summary" => "告警汇总",
        _ => "告警通知",
    }
}

impl Notifier {
    pub fn new(cfg: WebhookConfig) -> Result<Notifier> {
        let endpoint = Endpoint::parse(&cfg.url)?;
        if cfg.max_per_minute == 0 || cfg.max_attempts < 1 {
            return Err(EngineError::Invalid(format!(
                "webhook {}: max_per_minute and max_attempts must be at least 1",
                cfg.url
            )));
        }
        Ok(Notifier {
            cfg,
            endpoint,
            window: VecDeque::new(),
        })
    }

    fn backoff_ms(&self, attempts: i64) -> i64 {
        let exp = (attempts - 1).clamp(0, 30) as u32;
        self.cfg
            .backoff_base_ms
            .saturating_mul(1i64 << exp)
            .min(self.cfg.backoff_max_ms)
    }

    fn send(
        &mut self,
        store: &mut dyn AlarmStore,
        n: &Notification,
        now_ms: i64,
        st: &mut DeliveryStats,
    ) -> Result<()> {
        let attempt = n.attempts + 1;
        self.window.push_back(now_ms);
        let r = post_json(&self.endpoint, &payload(n, attempt), self.cfg.timeout);
        let outcome = match r {
            Ok(code) if (200..300).contains(&code) => Attempt::Sent,
            other => {
                let error = match other {
                    Ok(code) => format!("HTTP {code}"),
                    Err(e) => e,
                };
                if attempt >= self.cfg.max_attempts {
                    Attempt::GiveUp { error }
                } else {
                    Attempt::Retry {
                        error,
                        next_ms: now_ms + self.backoff_ms(attempt),
                    }
                }
            }
        };
        match &outcome {
            Attempt::Sent => st.sent += 1,
            Attempt::Retry { .. } => st.retried += 1,
            Attempt::GiveUp { .. } => st.failed += 1,
        }
        store.record_attempt(n.id, now_ms, &outcome)?;
        Ok(())
    }

    /// One pass: sends what is due at `now_ms` within the rate limit.
    pub fn run_once(&mut self, store: &mut dyn AlarmStore, now_ms: i64) -> Result<DeliveryStats> {
        let mut st = DeliveryStats::default();
        while self.window.front().is_some_and(|t| *t <= now_ms - 60_000) {
            self.window.pop_front();
        }
        let capacity = self.cfg.max_per_minute.saturating_sub(self.window.len());
        let mut due = store.due_notifications(now_ms, 10_000)?;
        if capacity == 0 {
            st.deferred = due.len();
            return Ok(st);
        }
        if due.len() > capacity {
            // capacity − 1 one by one, the rest as one summary.
            let rest = due.split_off(capacity - 1);
            let items: Vec<serde_json::Value> = rest
                .iter()
                .map(|n| {
                    serde_json::json!({
                        "id": n.id,
                        "event": n.event,
                        "alarm_id": n.alarm_id,
                        "alarm": serde_json::from_str::<serde_json::Value>(&n.body)
                            .unwrap_or(serde_json::Value::Null),
                    })
                })
                .collect();
            let body = serde_json::json!({
                "count": items.len(),
                "title": format!("{} 条告警通知（超过每分钟 {} 条的发送上限，合并发送）",
                    items.len(), self.cfg.max_per_minute),
                "items": items,
            })
            .to_string();
            let ids: Vec<i64> = rest.iter().map(|n| n.id).collect();
            let sid = store.coalesce_notifications(&ids, &body, now_ms)?;
            st.coalesced = ids.len();
            due.extend(
                store
                    .due_notifications(now_ms, 10_000)?
                    .into_iter()
                    .filter(|n| n.id == sid),
            );
        }
        for n in &due {
            self.send(store, n, now_ms, &mut st)?;
        }
        Ok(st)
    }

    /// Runs the worker on its own thread with its own store handle until the handle is stopped.
    pub fn spawn(mut self, mut store: Box<dyn AlarmStore>) -> NotifierHandle {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let poll = self.cfg.poll;
        let thread = std::thread::Builder::new()
            .name("alarm-webhook".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    if let Err(e) = self.run_once(store.as_mut(), system_now_ms()) {
                        eprintln!("alarms: webhook delivery pass failed: {e}");
                    }
                    std::thread::sleep(poll);
                }
            })
            .expect("spawn alarm-webhook thread");
        NotifierHandle {
            stop,
            thread: Some(thread),
        }
    }
}

/// Stops the worker thread (after its current pass) when dropped or stopped.
pub struct NotifierHandle {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NotifierHandle {
    pub fn stop(mut self) {
        self.shutdown();
    }
    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for NotifierHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}
