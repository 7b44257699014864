//! Alarms: dedupe, clear, life cycle, overdue escalation, webhook delivery, and the rules
//! (exceedance / pre-warning, offline, AQI jump) on crafted data in a temp store.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engine::alarms::notify::{Notifier, WebhookConfig};
use engine::alarms::{
    rule, AlarmConfig, AlarmEngine, AlarmInput, AlarmStatus, Alarms, ClearOutcome, Dispatch,
    Handling, OutletLimit, Severity, Touched,
};
use model::{Device, DeviceKind, Measurement, Period};
use standards::Date;
use store::alarms::{AlarmFilter, AlarmStore, NotificationStatus};
use store::{AirDay, IntakePacket, SqliteOptions, SqliteStore, Store};

const H: i64 = 3_600_000;
/// 2025-07-01T00:00+08:00 in UTC ms.
const T0: i64 = 1_751_299_200_000;

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_with(
        dir.path(),
        &SqliteOptions {
            fsync: false,
            cache_mib: 8,
        },
    )
    .unwrap();
    (dir, s)
}

fn input(rule: &str, site: &str, sev: Severity, value: f64, at_ms: i64) -> AlarmInput {
    AlarmInput {
        rule: rule.into(),
        site: site.into(),
        pollutant: Some("w01018".into()),
        severity: sev,
        title: format!("{site} 化学需氧量超标"),
        detail: format!("值 {value}"),
        value: Some(value),
        limit: Some(50.0),
        at_ms,
    }
}

#[test]
fn raise_twice_is_one_alarm_with_count_two() {
    let (_d, mut s) = open();
    let mut a = Alarms::with_clock(&mut s, T0);
    let r1 = a
        .raise(input(
            rule::EXCEEDANCE,
            "ENT-A-01",
            Severity::Warning,
            60.0,
            T0,
        ))
        .unwrap();
    let r2 = a
        .raise(input(
            rule::EXCEEDANCE,
            "ENT-A-01",
            Severity::Warning,
            55.0,
            T0 + H,
        ))
        .unwrap();
    assert!(r1.created && !r2.created && !r2.escalated);
    assert_eq!(r1.id, r2.id);
    let all = s.alarms(&AlarmFilter::default()).unwrap();
    assert_eq!(all.len(), 1);
    let x = &all[0];
    assert_eq!(x.count, 2);
    assert_eq!((x.first_seen_ms, x.last_seen_ms), (T0, T0 + H));
    assert_eq!(x.value, Some(55.0)); // latest
    assert_eq!((x.peak, x.peak_ms), (Some(60.0), Some(T0))); // peak kept
    assert_eq!(x.status, AlarmStatus::New);
    // A different pollutant or site is a different alarm.
    let mut b = input(rule::EXCEEDANCE, "ENT-A-01", Severity::Warning, 9.0, T0);
    b.pollutant = Some("w21003".into());
    let mut a = Alarms::with_clock(&mut s, T0);
    assert!(a.raise(b).unwrap().created);
    // One notification per new alarm.
    let n = s.notifications().unwrap();
    assert_eq!(n.len(), 2);
    assert!(n.iter().all(|n| n.event == "raised"));
}

#[test]
fn severity_only_goes_up_on_raise() {
    let (_d, mut s) = open();
    let mut a = Alarms::with_clock(&mut s, T0);
    let id = a
        .raise(input(rule::EXCEEDANCE, "S", Severity::Warning, 60.0, T0))
        .unwrap()
        .id;
    let r = a
        .raise(input(
            rule::EXCEEDANCE,
            "S",
            Severity::Critical,
            300.0,
            T0 + H,
        ))
        .unwrap();
    assert!(r.escalated);
    let r = a
        .raise(input(
            rule::EXCEEDANCE,
            "S",
            Severity::Info,
            51.0,
            T0 + 2 * H,
        ))
        .unwrap();
    assert!(!r.escalated);
    let x = a.get(id).unwrap();
    assert_eq!(x.severity, Severity::Critical);
    assert_eq!(x.peak, Some(300.0));
    let steps = s.alarm_steps(id).unwrap();
    let actions: Vec<&str> = steps.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(actions, ["raised", "escalated"]);
    let events: Vec<String> = s
        .notifications()
        .unwrap()
        .into_iter()
        .map(|n| n.event)
        .collect();
    assert_eq!(events, ["raised", "escalated"]);
}

#[test]
fn clear_then_raise_creates_a_new_alarm() {
    let (_d, mut s) = open();
    let mut a = Alarms::with_clock(&mut s, T0);
    let id1 = a
        .raise(input(rule::EXCEEDANCE, "S", Severity::Warning, 60.0, T0))
        .unwrap()
        .id;
    // A clear older than the last occurrence does not end it.
    assert_eq!(
        a.clear(rule::EXCEEDANCE, "S", Some("w01018"), T0 - H)
            .unwrap(),
        ClearOutcome::Stale(id1)
    );
    assert_eq!(
        a.clear(rule::EXCEEDANCE, "S", Some("w01018"), T0 + H)
            .unwrap(),
        ClearOutcome::Cleared(id1)
    );
    // Idempotent.
    assert_eq!(
        a.clear(rule::EXCEEDANCE, "S", Some("w01018"), T0 + 2 * H)
            .unwrap(),
        ClearOutcome::NotActive
    );
    let old = a.get(id1).unwrap();
    assert_eq!(old.status, AlarmStatus::Cleared);
    assert!(!old.active);
    assert_eq!(old.cleared_ms, Some(T0 + H));
    let r = a
        .raise(input(
            rule::EXCEEDANCE,
            "S",
            Severity::Warning,
            70.0,
            T0 + 3 * H,
        ))
        .unwrap();
    assert!(r.created);
    assert_ne!(r.id, id1);
    assert_eq!(a.get(r.id).unwrap().count, 1);
    // The old one stays in history, unchanged.
    assert_eq!(a.get(id1).unwrap().count, 1);
    assert_eq!(s.alarms(&AlarmFilter::default()).unwrap().len(), 2);
}

#[test]
fn a_dispatched_alarm_keeps_its_workflow_when_cleared() {
    let (_d, mut s) = open();
    let mut a = Alarms::with_clock(&mut s, T0);
    let id = a
        .raise(input(rule::EXCEEDANCE, "S", Severity::Warning, 60.0, T0))
        .unwrap()
        .id;
    a.acknowledge(id, "张三", T0 + 1).unwrap();
    a.dispatch(
        id,
        &Dispatch {
            to: "执法支队".into(),
            deadline_ms: T0 + 24 * H,
        },
        "张三",
        T0 + 2,
    )
    .unwrap();
    a.clear(rule::EXCEEDANCE, "S", Some("w01018"), T0 + H)
        .unwrap();
    let x = a.get(id).unwrap();
    assert_eq!(x.status, AlarmStatus::Dispatched);
    assert!(!x.active);
    assert_eq!(x.cleared_ms, Some(T0 + H));
    // Still handled and closed as usual.
    a.handle(id, &handling("李四"), T0 + 2 * H).unwrap();
    assert_eq!(
        a.close(id, "张三", T0 + 3 * H).unwrap().status,
        AlarmStatus::Closed
    );
}

fn handling(by: &str) -> Handling {
    Handling {
        result: "属实".into(),
        cause: "脱硫设施故障".into(),
        measures: "停产检修，更换循环泵".into(),
        attachments: vec![
            "现场照片1.jpg".into(),
            "https://example.org/report.pdf".into(),
        ],
        by: by.into(),
        at_ms: 0,
    }
}

#[test]
fn full_life_cycle_records_every_step() {
    let (_d, mut s) = open();
    let mut a = Alarms::with_clock(&mut s, T0);
    let id = a
        .raise(input(rule::EXCEEDANCE, "S", Severity::Warning, 60.0, T0))
        .unwrap()
        .id;
    assert_eq!(
        a.acknowledge(id, "值班员", T0 + 60_000).unwrap().status,
        AlarmStatus::Acknowledged
    );
    let d = a
        .dispatch(
            id,
            &Dispatch {
                to: "500231002000".into(),
                deadline_ms: T0 + 48 * H,
            },
            "值班员",
            T0 + 120_000,
        )
        .unwrap();
    assert_eq!(d.status, AlarmStatus::Dispatched);
    assert_eq!(d.assignee.as_deref(), Some("500231002000"));
    let h = a.handle(id, &handling("镇环保办"), T0 + 5 * H).unwrap();
    assert_eq!(h.status, AlarmStatus::Handled);
    let hd = h.handling.unwrap();
    assert_eq!(hd.at_ms, T0 + 5 * H);
    assert_eq!(hd.attachments.len(), 2);
    // Verification rejected: reopen → dispatched again (it had been dispatched), new deadline.
    let r = a
        .reopen(id, "复核不通过", Some(T0 + 72 * H), "科长", T0 + 6 * H)
        .unwrap();
    assert_eq!(r.status, AlarmStatus::Dispatched);
    assert_eq!(r.deadline_ms, Some(T0 + 72 * H));
    a.handle(id, &handling("镇环保办"), T0 + 30 * H).unwrap();
    let c = a.close(id, "科长", T0 + 31 * H).unwrap();
    assert_eq!(c.status, AlarmStatus::Closed);
    assert!(c.active, "closing ends the follow-up, not the condition");
    let steps = s.alarm_steps(id).unwrap();
    let seq: Vec<(&str, &str, Option<&str>, &str, i64)> = steps
        .iter()
        .map(|s| {
            (
                s.action.as_str(),
                s.by.as_str(),
                s.from_status.as_deref(),
                s.to_status.as_str(),
                s.at_ms,
            )
        })
        .collect();
    assert_eq!(
        seq,
        [
            ("raised", "system", None, "new", T0),
            ("ack", "值班员", Some("new"), "acknowledged", T0 + 60_000),
            (
                "dispatch",
                "值班员",
                Some("acknowledged"),
                "dispatched",
                T0 + 120_000
            ),
            (
                "handle",
                "镇环保办",
                Some("dispatched"),
                "handled",
                T0 + 5 * H
            ),
            ("reopen", "科长", Some("handled"), "dispatched", T0 + 6 * H),
            (
                "handle",
                "镇环保办",
                Some("dispatched"),
                "handled",
                T0 + 30 * H
            ),
            ("close", "科长", Some("handled"), "closed", T0 + 31 * H),
        ]
    );
    assert_eq!(steps[4].note, "复核不通过");
    // The condition goes on after someone closed the alarm: it counts into the closed alarm
    // instead of coming back as a new one every hour, and nobody is notified again.
    let mut a = Alarms::with_clock(&mut s, T0 + 32 * H);
    let outbox = a.store().notifications().unwrap().len();
    for k in 32..35 {
        let r = a
            .raise(input(
                rule::EXCEEDANCE,
                "S",
                Severity::Warning,
                61.0,
                T0 + k * H,
            ))
            .unwrap();
        assert!(!r.created && r.id == id, "hour {k} opened a new alarm");
    }
    let c = a.get(id).unwrap();
    assert_eq!(
        (c.status, c.count, c.last_seen_ms),
        (AlarmStatus::Closed, 4, T0 + 34 * H)
    );
    assert_eq!(a.store().notifications().unwrap().len(), outbox);
    // It ends with the first clear (still closed); a later occurrence opens a new alarm.
    a.clear(rule::EXCEEDANCE, "S", Some("w01018"), T0 + 35 * H)
        .unwrap();
    let c = a.get(id).unwrap();
    assert_eq!((c.status, c.active), (AlarmStatus::Closed, false));
    let n = a
        .raise(input(
            rule::EXCEEDANCE,
            "S",
            Severity::Warning,
            61.0,
            T0 + 36 * H,
        ))
        .unwrap();
    assert!(n.created && n.id != id);
    // Reopen of a never-dispatched cleared alarm → acknowledged.
    a.clear(rule::EXCEEDANCE, "S", Some("w01018"), T0 + 37 * H)
        .unwrap();
    let r = a
        .reopen(n.id, "需人工核查", None, "科长", T0 + 38 * H)
        .unwrap();
    assert_eq!(r.status, AlarmStatus::Acknowledged);
}

#[test]
fn invalid_transitions_are_refused_with_a_clear_error() {
    let (_d, mut s) = open();
    let mut a = Alarms::with_clock(&mut s, T0);
    let id = a
        .raise(input(rule::EXCEEDANCE, "S", Severity::Warning, 60.0, T0))
        .unwrap()
        .id;
    let dsp = Dispatch {
        to: "执法支队".into(),
        deadline_ms: T0 + 24 * H,
    };
    let e = a.dispatch(id, &dsp, "u", T0 + 1).unwrap_err().to_string();
    assert!(
        e.contains(&format!("alarm {id}")) && e.contains("dispatch") && e.contains("new"),
        "{e}"
    );
    assert!(a.handle(id, &handling("u"), T0 + 1).is_err());
    assert!(a
        .close(id, "u", T0 + 1)
        .unwrap_err()
        .to_string()
        .contains("needs status handled"));
    assert!(a.reopen(id, "x", None, "u", T0 + 1).is_err());
    a.acknowledge(id, "u", T0 + 1).unwrap();
    assert!(a.acknowledge(id, "u", T0 + 2).is_err());
    // Deadline in the past, empty fields, unknown alarm.
    let past = Dispatch {
        to: "执法支队".into(),
        deadline_ms: T0,
    };
    assert!(a
        .dispatch(id, &past, "u", T0 + 5)
        .unwrap_err()
        .to_string()
        .contains("deadline"));
    assert!(a
        .acknowledge(id, "", T0 + 5)
        .unwrap_err()
        .to_string()
        .contains("by"));
    a.dispatch(id, &dsp, "u", T0 + 5).unwrap();
    let mut h = handling("u");
    h.cause = " ".into();
    assert!(a
        .handle(id, &h, T0 + 6)
        .unwrap_err()
        .to_string()
        .contains("cause"));
    assert!(a
        .reopen(id, "", None, "u", T0 + 6)
        .unwrap_err()
        .to_string()
        .contains("reason"));
    assert!(a
        .get(9999)
        .unwrap_err()
        .to_string()
        .contains("9999 does not exist"));
    // Nothing of the refused steps was recorded.
    let actions: Vec<String> = s
        .alarm_steps(id)
        .unwrap()
        .into_iter()
        .map(|s| s.action)
        .collect();
    assert_eq!(actions, ["raised", "ack", "dispatch"]);
}

#[test]
fn overdue_escalates_once_per_deadline() {
    let (_d, mut s) = open();
    let eng = AlarmEngine::new(AlarmConfig::default()).unwrap();
    let mut a = Alarms::with_clock(&mut s, T0);
    let id = a
        .raise(input(rule::EXCEEDANCE, "S", Severity::Warning, 60.0, T0))
        .unwrap()
        .id;
    a.acknowledge(id, "u", T0).unwrap();
    let deadline = T0 + 24 * H;
    a.dispatch(
        id,
        &Dispatch {
            to: "执法支队".into(),
            deadline_ms: deadline,
        },
        "u",
        T0,
    )
    .unwrap();
    // At the deadline it is not overdue yet; one ms later it is.
    assert_eq!(eng.tick(&mut s, deadline).unwrap().escalated, 0);
    assert_eq!(eng.tick(&mut s, deadline + 1).unwrap().escalated, 1);
    let x = s.alarm(id).unwrap().unwrap();
    assert_eq!(x.severity, Severity::Major); // warning + 1
    assert!(x.overdue);
    // Once per deadline.
    assert_eq!(eng.tick(&mut s, deadline + 10 * H).unwrap().escalated, 0);
    // Re-dispatch with a new deadline: may escalate again when that one passes.
    let mut a = Alarms::with_clock(&mut s, deadline + 11 * H);
    a.dispatch(
        id,
        &Dispatch {
            to: "执法支队".into(),
            deadline_ms: deadline + 48 * H,
        },
        "科长",
        deadline + 11 * H,
    )
    .unwrap();
    assert_eq!(eng.tick(&mut s, deadline + 47 * H).unwrap().escalated, 0);
    assert_eq!(eng.tick(&mut s, deadline + 49 * H).unwrap().escalated, 1);
    let x = s.alarm(id).unwrap().unwrap();
    assert_eq!(x.severity, Severity::Critical);
    let overdue_steps = s
        .alarm_steps(id)
        .unwrap()
        .into_iter()
        .filter(|s| s.action == "overdue")
        .count();
    assert_eq!(overdue_steps, 2);
    // Handled alarms are not escalated.
    let mut a = Alarms::with_clock(&mut s, deadline + 50 * H);
    a.handle(id, &handling("u"), deadline + 50 * H).unwrap();
    assert_eq!(eng.tick(&mut s, deadline + 500 * H).unwrap().escalated, 0);
    let events: Vec<String> = s
        .notifications()
        .unwrap()
        .into_iter()
        .map(|n| n.event)
        .collect();
    assert_eq!(
        events,
        ["raised", "dispatched", "overdue", "dispatched", "overdue"]
    );
}

// ---- webhook ----

/// A local HTTP server answering the first `fail_first` requests with 500, then 200; it keeps
/// every request body.
fn server(fail_first: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let b = bodies.clone();
    std::thread::spawn(move || {
        for (n, conn) in l.incoming().enumerate() {
            let Ok(mut c) = conn else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let body = loop {
                let k = c.read(&mut chunk).unwrap_or(0);
                if k == 0 {
                    break String::new();
                }
                buf.extend_from_slice(&chunk[..k]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(i) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() >= i + 4 + len {
                        break String::from_utf8_lossy(&buf[i + 4..i + 4 + len]).to_string();
                    }
                }
            };
            b.lock().unwrap().push(body);
            let status = if n < fail_first {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let _ =
                c.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes());
        }
    });
    (url, bodies)
}

fn cfg(url: &str) -> WebhookConfig {
    let mut c = WebhookConfig::new(url);
    c.backoff_base_ms = 1_000;
    c.backoff_max_ms = 8_000;
    c.max_attempts = 4;
    c.timeout = Duration::from_secs(5);
    c
}

#[test]
fn webhook_retries_with_backoff_until_delivered() {
    let (_d, mut s) = open();
    let (url, bodies) = server(2);
    let mut a = Alarms::with_clock(&mut s, T0);
    let id = a
        .raise(input(rule::EXCEEDANCE, "S", Severity::Warning, 60.0, T0))
        .unwrap()
        .id;
    let mut n = Notifier::new(cfg(&url)).unwrap();
    // attempt 1 at T0 fails → next at T0 + 1 s; attempt 2 fails → next at +2 s (backoff
    // 1 s × 2^(attempts − 1)); attempt 3 succeeds.
    assert_eq!(n.run_once(&mut s, T0).unwrap().retried, 1);
    assert_eq!(n.run_once(&mut s, T0 + 999).unwrap(), Default::default());
    assert_eq!(n.run_once(&mut s, T0 + 1_000).unwrap().retried, 1);
    let row = &s.notifications().unwrap()[0];
    assert_eq!((row.attempts, row.next_attempt_ms), (2, T0 + 3_000));
    assert_eq!(row.last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(n.run_once(&mut s, T0 + 2_999).unwrap().sent, 0);
    assert_eq!(n.run_once(&mut s, T0 + 3_000).unwrap().sent, 1);
    let row = &s.notifications().unwrap()[0];
    assert_eq!(row.status, NotificationStatus::Sent);
    assert_eq!((row.attempts, row.sent_ms), (3, Some(T0 + 3_000)));
    // Nothing more to send.
    assert_eq!(n.run_once(&mut s, T0 + 10_000).unwrap(), Default::default());
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 3);
    let v: serde_json::Value = serde_json::from_str(&bodies[2]).unwrap();
    assert_eq!(v["event"], "raised");
    assert_eq!(v["event_cn"], "新告警");
    assert_eq!(v["attempt"], 3);
    assert_eq!(v["alarm_id"], id);
    assert_eq!(v["alarm"]["id"], id);
    assert_eq!(v["alarm"]["rule"], "exceedance");
    assert_eq!(v["alarm"]["severity_cn"], "较重");
    assert_eq!(v["alarm"]["first_seen"], "2025-07-01T00:00:00+08:00");
}

#[test]
fn webhook_gives_up_after_max_attempts() {
    let (_d, mut s) = open();
    let (url, _bodies) = server(usize::MAX);
    Alarms::with_clock(&mut s, T0)
        .raise(input(rule::EXCEEDANCE, "S", Severity::Warning, 60.0, T0))
        .unwrap();
    let mut n = Notifier::new(cfg(&url)).unwrap();
    let mut t = T0;
    for _ in 0..4 {
        n.run_once(&mut s, t).unwrap();
        t += 60_000;
    }
    let row = &s.notifications().unwrap()[0];
    assert_eq!(row.status, NotificationStatus::Failed);
    assert_eq!(row.attempts, 4);
    // An endpoint that is not listening is an error recorded, not a crash.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/x", l.local_addr().unwrap());
    drop(l);
    Alarms::with_clock(&mut s, T0)
        .raise(input(rule::OFFLINE, "S2", Severity::Warning, 1.0, T0))
        .unwrap();
    let mut n = Notifier::new(cfg(&dead)).unwrap();
    assert_eq!(n.run_once(&mut s, t).unwrap().retried, 1);
    let row = &s.notifications().unwrap()[1];
    assert!(
        row.last_error.as_deref().unwrap().contains("connect"),
        "{row:?}"
    );
    assert!(Notifier::new(cfg("https://example.org/x")).is_err());
    assert!(Notifier::new(cfg("ftp://x")).is_err());
}

#[test]
fn webhook_rate_limit_coalesces_into_a_summary() {
    let (_d, mut s) = open();
    let (url, bodies) = server(0);
    let mut a = Alarms::with_clock(&mut s, T0);
    for i in 0..10 {
        a.raise(input(
            rule::OFFLINE,
            &format!("S{i:02}"),
            Severity::Warning,
            1.0,
            T0,
        ))
        .unwrap();
    }
    let mut c = cfg(&url);
    c.max_per_minute = 3;
    let mut n = Notifier::new(c).unwrap();
    // 3 per minute: 2 one by one, the other 8 folded into one summary (3 requests).
    let st = n.run_once(&mut s, T0).unwrap();
    assert_eq!((st.sent, st.coalesced), (3, 8));
    let rows = s.notifications().unwrap();
    assert_eq!(rows.len(), 11);
    assert_eq!(
        rows.iter()
            .filter(|r| r.status == NotificationStatus::Coalesced)
            .count(),
        8
    );
    let summary = rows.last().unwrap();
    assert_eq!(
        (summary.event.as_str(), summary.status),
        ("summary", NotificationStatus::Sent)
    );
    assert!(rows[2..10]
        .iter()
        .all(|r| r.coalesced_into == Some(summary.id)));
    {
        let b = bodies.lock().unwrap();
        let v: serde_json::Value = serde_json::from_str(&b[2]).unwrap();
        assert_eq!(v["event"], "summary");
        assert_eq!(v["count"], 8);
        assert_eq!(v["items"][0]["alarm"]["site"], "S02");
    }
    // The window is full for the rest of the minute: new notifications wait.
    let mut a = Alarms::with_clock(&mut s, T0 + 1_000);
    a.raise(input(
        rule::OFFLINE,
        "S99",
        Severity::Warning,
        1.0,
        T0 + 1_000,
    ))
    .unwrap();
    let st = n.run_once(&mut s, T0 + 30_000).unwrap();
    assert_eq!((st.sent, st.deferred), (0, 1));
    let st = n.run_once(&mut s, T0 + 60_000).unwrap();
    assert_eq!(st.sent, 1);
    assert_eq!(bodies.lock().unwrap().len(), 4);
}

#[test]
fn the_outbox_survives_a_restart_and_the_worker_delivers_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = SqliteStore::open(dir.path()).unwrap();
        Alarms::new(&mut s)
            .raise(input(rule::EXCEEDANCE, "S", Severity::Major, 60.0, T0))
            .unwrap();
    } // "restart"
    let (url, bodies) = server(1);
    let mut c = cfg(&url);
    c.backoff_base_ms = 10;
    c.poll = Duration::from_millis(10);
    let h = Notifier::new(c)
        .unwrap()
        .spawn(Box::new(SqliteStore::open(dir.path()).unwrap()));
    let s = SqliteStore::open(dir.path()).unwrap();
    let t = std::time::Instant::now();
    while s.notifications().unwrap()[0].status != NotificationStatus::Sent {
        assert!(t.elapsed() < Duration::from_secs(10), "not delivered");
        std::thread::sleep(Duration::from_millis(10));
    }
    h.stop();
    assert_eq!(s.notifications().unwrap()[0].attempts, 2);
    assert_eq!(bodies.lock().unwrap().len(), 2);
}

// ---- rules ----

fn hour(site: &str, code: &str, field: &str, t_ms: i64, v: &str, flag: &str) -> Measurement {
    Measurement {
        site: site.into(),
        code: code.into(),
        field: field.into(),
        period: Period::Hour,
        time: t_ms / 1000,
        value: v.parse().unwrap(),
        text: v.into(),
        flag: Some(flag.into()),
        eflag: None,
        mn: format!("MN-{site}"),
    }
}

fn packet(mn: &str, received_ms: i64, values: Vec<Measurement>) -> IntakePacket {
    IntakePacket {
        received_ms,
        mn: mn.into(),
        cn: "2061".into(),
        values,
        ..IntakePacket::default()
    }
}

fn rules_engine() -> AlarmEngine {
    AlarmEngine::new(AlarmConfig {
        outlets: vec![
            // GB 13271-2014 Table 2 gas boiler particulate 20 mg/m³ is the profile's kind of
            // limit; here a flue-gas outlet with 50 mg/m³ (GB 26453-2011 Table 2, glass).
            OutletLimit {
                site: "ENT-G-01".into(),
                pollutant: "a34013".into(),
                name: "颗粒物".into(),
                unit: "mg/m3".into(),
                upper: Some(50.0),
                lower: None,
                corrected: true,
            },
            // GB 8978-1996 Table 4: pH 6–9.
            OutletLimit {
                site: "ENT-W-01".into(),
                pollutant: "w01001".into(),
                name: "pH值".into(),
                unit: "无量纲".into(),
                upper: Some(9.0),
                lower: Some(6.0),
                corrected: false,
            },
        ],
        aqi_sites: vec!["AIR-01".into(), store::COUNTY_SITE.into()],
        ..AlarmConfig::default()
    })
    .unwrap()
}

/// Commits `vals` and runs the rules the way the observer does.
fn commit_and_judge(s: &mut SqliteStore, e: &AlarmEngine, vals: Vec<Measurement>, now: i64) {
    let p = vec![packet("MN-X", now, vals)];
    s.commit(&p).unwrap();
    e.update(s, &e.touched(&p), now).unwrap();
}

fn active(
    s: &SqliteStore,
    rule: &str,
    site: &str,
    p: Option<&str>,
) -> Option<store::alarms::Alarm> {
    s.active_alarm(rule, site, p).unwrap()
}

#[test]
fn exceedance_and_pre_warning_from_hour_values() {
    let (_d, mut s) = open();
    let e = rules_engine();
    let g = |t, zs: &str, avg: &str| {
        vec![
            hour("ENT-G-01", "a34013", "ZsAvg", t, zs, "N"),
            hour("ENT-G-01", "a34013", "Avg", t, avg, "N"),
        ]
    };
    // Hour 0: ZsAvg 30 < 0.8 × 50 = 40 → nothing (Avg 45 is not what is judged).
    commit_and_judge(&mut s, &e, g(T0, "30", "45"), T0 + H);
    assert!(s.alarms(&AlarmFilter::default()).unwrap().is_empty());
    // Hour 1: 40 = 80 % of 50 → pre-warning (info).
    commit_and_judge(&mut s, &e, g(T0 + H, "40", "30"), T0 + 2 * H);
    let pw = active(&s, rule::PRE_WARNING, "ENT-G-01", Some("a34013")).unwrap();
    assert_eq!(pw.severity, Severity::Info);
    assert!(pw.detail.contains("80.0%"), "{}", pw.detail);
    // Hour 2: 50 = the limit → compliant (GB limits are "not more than"), still pre-warning.
    commit_and_judge(&mut s, &e, g(T0 + 2 * H, "50", "30"), T0 + 3 * H);
    assert!(active(&s, rule::EXCEEDANCE, "ENT-G-01", Some("a34013")).is_none());
    assert_eq!(
        active(&s, rule::PRE_WARNING, "ENT-G-01", Some("a34013"))
            .unwrap()
            .count,
        2
    );
    // Hour 3: 60 > 50 → exceedance, multiple (60−50)/50 = 0.2 → warning; pre-warning cleared.
    commit_and_judge(&mut s, &e, g(T0 + 3 * H, "60", "30"), T0 + 4 * H);
    let ex = active(&s, rule::EXCEEDANCE, "ENT-G-01", Some("a34013")).unwrap();
    assert_eq!(ex.severity, Severity::Warning);
    assert!(ex.detail.contains("超标 0.20 倍"), "{}", ex.detail);
    assert!(ex.detail.contains("折算"), "{}", ex.detail);
    assert!(active(&s, rule::PRE_WARNING, "ENT-G-01", Some("a34013")).is_none());
    // Hour 4: 160 → multiple 2.2 → major (escalates the same alarm). A flagged value (D,
    // fault) of 900 in hour 5 is not judged.
    commit_and_judge(&mut s, &e, g(T0 + 4 * H, "160", "30"), T0 + 5 * H);
    commit_and_judge(
        &mut s,
        &e,
        vec![hour("ENT-G-01", "a34013", "ZsAvg", T0 + 5 * H, "900", "D")],
        T0 + 6 * H,
    );
    let ex2 = active(&s, rule::EXCEEDANCE, "ENT-G-01", Some("a34013")).unwrap();
    assert_eq!(ex2.id, ex.id);
    assert_eq!(
        (ex2.count, ex2.severity, ex2.peak),
        (2, Severity::Major, Some(160.0))
    );
    // Hour 6: 20 → both cleared.
    commit_and_judge(&mut s, &e, g(T0 + 6 * H, "20", "30"), T0 + 7 * H);
    assert!(active(&s, rule::EXCEEDANCE, "ENT-G-01", Some("a34013")).is_none());
    assert_eq!(
        s.alarm(ex.id).unwrap().unwrap().status,
        AlarmStatus::Cleared
    );
    // Without ZsAvg the Avg is judged (documented fallback): Avg 250 → multiple 4 → critical.
    commit_and_judge(
        &mut s,
        &e,
        vec![hour("ENT-G-01", "a34013", "Avg", T0 + 7 * H, "250", "N")],
        T0 + 8 * H,
    );
    let ex3 = active(&s, rule::EXCEEDANCE, "ENT-G-01", Some("a34013")).unwrap();
    assert_eq!(ex3.severity, Severity::Critical);
    assert!(ex3.detail.contains("实测"));
    // pH 5.5 < 6 (GB 8978 Table 4 range 6–9) → exceedance of the lower limit.
    commit_and_judge(
        &mut s,
        &e,
        vec![hour("ENT-W-01", "w01001", "Avg", T0, "5.5", "N")],
        T0 + H,
    );
    let ph = active(&s, rule::EXCEEDANCE, "ENT-W-01", Some("w01001")).unwrap();
    assert_eq!(ph.severity, Severity::Warning);
    assert!(ph.detail.contains("下限 6"), "{}", ph.detail);
    // An outlet code without a limit raises nothing.
    commit_and_judge(
        &mut s,
        &e,
        vec![hour("ENT-W-01", "w00000", "Avg", T0, "99999", "N")],
        T0 + H,
    );
    assert_eq!(s.alarms(&AlarmFilter::default()).unwrap().len(), 4);
}

#[test]
fn catch_up_judges_what_a_server_stored() {
    let (_d, mut s) = open();
    let e = rules_engine();
    s.commit(&[packet(
        "MN-X",
        T0,
        vec![hour("ENT-G-01", "a34013", "ZsAvg", T0, "75", "N")],
    )])
    .unwrap();
    let st = e.catch_up(&mut s, T0 + H).unwrap();
    assert_eq!((st.hours, st.raised), (1, 1));
    assert_eq!(
        s.watermark(engine::alarms::rules::WATERMARK).unwrap(),
        Some(T0)
    );
    // Nothing new: nothing judged again.
    assert_eq!(e.catch_up(&mut s, T0 + H).unwrap().hours, 0);
    assert_eq!(
        active(&s, rule::EXCEEDANCE, "ENT-G-01", Some("a34013"))
            .unwrap()
            .count,
        1
    );
}

#[test]
fn offline_after_three_intervals_and_cleared_when_back() {
    let (_d, mut s) = open();
    let e = rules_engine();
    let mut d1 = Device::new("MN-AIR1", "123456", "AIR-01", DeviceKind::Air);
    d1.rtd_interval = Some(30); // → 3 × 30 s = 90 s
    s.put_device(&d1).unwrap();
    // No interval known: hour-only device, 2 h.
    s.put_device(&Device::new(
        "MN-W1",
        "123456",
        "SW-1",
        DeviceKind::SurfaceWater,
    ))
    .unwrap();
    s.commit(&[packet("MN-AIR1", T0, vec![]), packet("MN-W1", T0, vec![])])
        .unwrap();
    assert_eq!(e.tick(&mut s, T0 + 90_000).unwrap().offline_sites, 0);
    let st = e.tick(&mut s, T0 + 91_000).unwrap();
    assert_eq!(st.offline_sites, 1);
    let a = active(&s, rule::OFFLINE, "AIR-01", None).unwrap();
    assert_eq!(a.severity, Severity::Warning);
    assert!(
        a.detail.contains("MN-AIR1") && a.detail.contains("阈值 1 分钟"),
        "{}",
        a.detail
    );
    // SW-1 after 2 h + 1 s.
    assert!(active(&s, rule::OFFLINE, "SW-1", None).is_none());
    e.tick(&mut s, T0 + 2 * H + 1_000).unwrap();
    assert!(active(&s, rule::OFFLINE, "SW-1", None).is_some());
    assert_eq!(active(&s, rule::OFFLINE, "AIR-01", None).unwrap().count, 2);
    // Beyond 24 h → major.
    e.tick(&mut s, T0 + 25 * H).unwrap();
    assert_eq!(
        active(&s, rule::OFFLINE, "AIR-01", None).unwrap().severity,
        Severity::Major
    );
    // AIR-01 is back: cleared at the next tick; SW-1 stays.
    s.commit(&[packet("MN-AIR1", T0 + 26 * H, vec![])]).unwrap();
    let st = e.tick(&mut s, T0 + 26 * H + 10_000).unwrap();
    assert_eq!(st.cleared, 1);
    assert!(active(&s, rule::OFFLINE, "AIR-01", None).is_none());
    assert!(active(&s, rule::OFFLINE, "SW-1", None).is_some());
    // A registered device that never sent anything is offline too, once it owes more than
    // the threshold since its registration (hour-only: 2 h).
    let mut new = Device::new("MN-NEW", "123456", "NZ-01", DeviceKind::Noise);
    new.registered = Some((T0 + 26 * H) / 1000);
    s.put_device(&new).unwrap();
    e.tick(&mut s, T0 + 27 * H).unwrap();
    assert!(active(&s, rule::OFFLINE, "NZ-01", None).is_none());
    e.tick(&mut s, T0 + 28 * H + 1_000).unwrap();
    let n = active(&s, rule::OFFLINE, "NZ-01", None).unwrap();
    assert!(n.detail.contains("从未上线"), "{}", n.detail);
}

fn air_day(site: &str, day: &str, aqi: i64, level: i64) -> AirDay {
    AirDay {
        site: site.into(),
        day: day.into(),
        rules: "HJ633-2012".into(),
        aqi: Some(aqi),
        level: Some(level),
        primary: "PM2.5".into(),
        stations: 1,
        ..AirDay::default()
    }
}

fn judge_day(s: &mut SqliteStore, e: &AlarmEngine, site: &str, day: Date) {
    let mut t = Touched::default();
    t.days.insert((site.to_string(), day));
    e.update(s, &t, T0).unwrap();
}

#[test]
fn aqi_level_jump_and_moderate_pollution() {
    let (_d, mut s) = open();
    let e = rules_engine();
    // HJ 633-2012 Table 2: 0–50 level 1, 101–150 level 3, 151–200 level 4 (中度污染).
    s.put_air_days(&[
        air_day("AIR-01", "2025-07-01", 45, 1),
        air_day("AIR-01", "2025-07-02", 120, 3),
        air_day("AIR-01", "2025-07-03", 130, 3),
        air_day("AIR-01", "2025-07-04", 160, 4),
        air_day("AIR-01", "2025-07-05", 90, 2),
    ])
    .unwrap();
    let d = |n| Date::ymd(2025, 7, n);
    judge_day(&mut s, &e, "AIR-01", d(1));
    assert!(active(&s, rule::AQI_JUMP, "AIR-01", None).is_none());
    // 1 → 3: up 2 levels → info.
    judge_day(&mut s, &e, "AIR-01", d(2));
    let a = active(&s, rule::AQI_JUMP, "AIR-01", None).unwrap();
    assert_eq!(a.severity, Severity::Info);
    assert!(a.detail.contains("上升 2 级"), "{}", a.detail);
    assert!(a.title.contains("轻度污染"), "{}", a.title);
    // 3 → 3: condition over → cleared.
    judge_day(&mut s, &e, "AIR-01", d(3));
    assert!(active(&s, rule::AQI_JUMP, "AIR-01", None).is_none());
    // Level 4 (中度污染) → warning, even though only 1 level up.
    judge_day(&mut s, &e, "AIR-01", d(4));
    let b = active(&s, rule::AQI_JUMP, "AIR-01", None).unwrap();
    assert_eq!((b.severity, b.value), (Severity::Warning, Some(160.0)));
    assert_eq!(b.first_seen_ms, engine::time::day_start_utc(d(4)) * 1000);
    // A late re-judgement of an older day does not clear the newer condition.
    judge_day(&mut s, &e, "AIR-01", d(3));
    assert!(active(&s, rule::AQI_JUMP, "AIR-01", None).is_some());
    judge_day(&mut s, &e, "AIR-01", d(5));
    assert!(active(&s, rule::AQI_JUMP, "AIR-01", None).is_none());
    // A commit of air hour values names the day of the station and of the county.
    let p = vec![packet(
        "MN-AIR",
        T0,
        vec![hour("AIR-01", "a34004", "Avg", T0, "35", "N")],
    )];
    let t = e.touched(&p);
    assert!(t.days.contains(&("AIR-01".to_string(), d(1))));
    assert!(t.days.contains(&(store::COUNTY_SITE.to_string(), d(1))));
}

#[test]
fn config_is_checked_and_built_from_the_profile() {
    let c = AlarmConfig {
        prewarn_share: 1.2,
        ..AlarmConfig::default()
    };
    assert!(AlarmEngine::new(c)
        .unwrap_err()
        .to_string()
        .contains("prewarn_share"));
    let p = profile::Profile::dianjiang();
    let c = AlarmConfig::from_profile(&p);
    let zqbl: Vec<&OutletLimit> = c
        .outlets
        .iter()
        .filter(|l| l.site == "ENT-ZQBL-01")
        .collect();
    // profiles/dianjiang/enterprises.json: 正清玻璃 particulate 50, SO2 400, NOx 700 mg/m3.
    assert_eq!(zqbl.len(), 3);
    assert!(zqbl.iter().all(|l| l.corrected));
    assert!(zqbl
        .iter()
        .any(|l| l.pollutant == "a34013" && l.upper == Some(50.0)));
    assert!(c.aqi_sites.contains(&store::COUNTY_SITE.to_string()));
    assert!(c.aqi_sites.iter().any(|s| s.starts_with("AIR-")));
    // The profile's sections and drinking-water sources feed the water rules.
    let w = c.water.as_ref().expect("water sites from the profile");
    assert!(w.sites().any(|s| s.is_section() && s.target.is_some()));
    assert!(w.sites().any(|s| !s.is_section()));
    // Titles name the site: every site of the fleet (outlets, stations, restaurants).
    assert_eq!(
        c.site_names.get("ENT-ZQBL-01").map(String::as_str),
        p.site("ENT-ZQBL-01").map(|x| x.name.as_str())
    );
    assert!(c.site_names.keys().any(|k| k.starts_with("FUME-")));
    assert!(AlarmEngine::new(c).is_ok());
}

/// Alarm titles speak the bureau's language: the outlet's name and the pollutant's, never
/// `ENT-CNWS-01` or `a34013` (issue 11 item 9).
#[test]
fn titles_name_the_site_and_pollutant() {
    let (_d, mut s) = open();
    let p = profile::Profile::dianjiang();
    let e = AlarmEngine::new(AlarmConfig::from_profile(&p)).unwrap();
    let name = p.site("ENT-ZQBL-01").unwrap().name.clone();
    // GB 26453-2011 Table 2 (the profile's limit): particulate 50 mg/m3; 80 is over.
    let v = vec![hour("ENT-ZQBL-01", "a34013", "ZsAvg", T0, "80", "N")];
    commit_and_judge(&mut s, &e, v, T0 + H);
    let a = active(&s, rule::EXCEEDANCE, "ENT-ZQBL-01", Some("a34013")).unwrap();
    assert!(a.title.starts_with(&name), "{}", a.title);
    assert!(!a.title.contains("ENT-"), "{}", a.title);
}

/// A resent (late) hour does not override the newest hour: hour 1 within the limit cleared
/// the exceedance of hour 0; hour 0 arriving again (a device resending after a lost ack) must
/// not raise it again.
#[test]
fn a_resent_old_hour_does_not_re_raise() {
    let (_d, mut s) = open();
    let e = rules_engine();
    let g = |t, zs: &str| vec![hour("ENT-G-01", "a34013", "ZsAvg", t, zs, "N")];
    commit_and_judge(&mut s, &e, g(T0, "80"), T0 + H);
    assert!(active(&s, rule::EXCEEDANCE, "ENT-G-01", Some("a34013")).is_some());
    commit_and_judge(&mut s, &e, g(T0 + H, "20"), T0 + 2 * H);
    assert!(active(&s, rule::EXCEEDANCE, "ENT-G-01", Some("a34013")).is_none());
    commit_and_judge(&mut s, &e, g(T0, "80"), T0 + 2 * H + 5);
    assert!(
        active(&s, rule::EXCEEDANCE, "ENT-G-01", Some("a34013")).is_none(),
        "the resent hour 0 re-raised the exceedance"
    );
    // A genuinely new exceeding hour still raises.
    commit_and_judge(&mut s, &e, g(T0 + 2 * H, "90"), T0 + 3 * H);
    assert!(active(&s, rule::EXCEEDANCE, "ENT-G-01", Some("a34013")).is_some());
}

// ---- water_below_target, drinking_water_noncompliance, data_anomaly ----------------------

use engine::water::{SourceScope, WaterSite, WaterSiteKind};
use engine::{QualityEngine, WaterEngine};
use standards::water::{WaterBody, WaterClass};

const D: i64 = 24 * H;

fn water_engine() -> WaterEngine {
    WaterEngine::new(vec![
        WaterSite {
            site: "SW-01".into(),
            name: "龙溪河断面".into(),
            kind: WaterSiteKind::Section,
            body: WaterBody::River,
            target: Some(WaterClass::III),
            river: Some("龙溪河".into()),
        },
        WaterSite {
            site: "DW-01".into(),
            name: "水源地一".into(),
            kind: WaterSiteKind::Source {
                scope: SourceScope::Urban,
                groundwater: false,
            },
            body: WaterBody::LakeReservoir,
            target: Some(WaterClass::III),
            river: None,
        },
    ])
}

fn water_rules() -> (WaterEngine, AlarmEngine) {
    let w = water_engine();
    let e = AlarmEngine::new(AlarmConfig {
        water: Some(w.clone()),
        ..AlarmConfig::default()
    })
    .unwrap();
    (w, e)
}

/// Commits, runs the water and quality engines' updates, then the alarm rules (the observer
/// order of `qingshan serve`).
fn commit_derive_judge(
    s: &mut SqliteStore,
    w: &WaterEngine,
    e: &AlarmEngine,
    vals: Vec<Measurement>,
    now: i64,
) -> engine::alarms::RuleStats {
    let p = vec![packet("MN-X", now, vals)];
    s.commit(&p).unwrap();
    w.update(s, &w.touched(&p)).unwrap();
    let q = QualityEngine::default();
    q.update(s, &q.touched(&p)).unwrap();
    e.update(s, &e.touched(&p), now).unwrap()
}

/// Three hours of one water item on day `day` (0 = 2025-07-01) at `site`.
fn water_day(site: &str, code: &str, day: i64, v: &str) -> Vec<Measurement> {
    (0..3)
        .map(|h| hour(site, code, "Avg", T0 + day * D + h * H, v, "N"))
        .collect()
}

/// GB 3838-2002 Table 1 row 7 (NH3-N, rivers): III ≤ 1.0, IV ≤ 1.5, V ≤ 2.0 mg/L.
#[test]
fn a_section_below_its_target_raises_and_clears_when_back() {
    let (_d, mut s) = open();
    let (w, e) = water_rules();
    let nh3n = "w21003";
    // Day 1: NH3-N 1.2 → Class IV, target III: one class below → warning. Main pollutant
    // NH3-N, (1.2 − 1.0) / 1.0 = 0.20 times over Class III.
    let st = commit_derive_judge(&mut s, &w, &e, water_day("SW-01", nh3n, 0, "1.2"), T0 + D);
    assert_eq!((st.water_days, st.raised), (1, 1));
    let a = active(&s, rule::WATER_BELOW_TARGET, "SW-01", None).unwrap();
    assert_eq!(a.severity, Severity::Warning);
    assert_eq!((a.value, a.limit), (Some(4.0), Some(3.0)));
    assert_eq!(a.first_seen_ms, T0);
    assert!(
        a.detail
            .contains("2025-07-01 日水质 IV类，未达到目标 III类（低 1 个类别）"),
        "{}",
        a.detail
    );
    assert!(
        a.detail.contains("超目标项目：氨氮(NH3-N) IV类"),
        "{}",
        a.detail
    );
    assert!(
        a.detail.contains("氨氮(NH3-N)（超Ⅲ类标准 0.20 倍）"),
        "{}",
        a.detail
    );
    // Day 2: 2.5 > 2.0 → 劣V → major (the same alarm, escalated).
    commit_derive_judge(
        &mut s,
        &w,
        &e,
        water_day("SW-01", nh3n, 1, "2.5"),
        T0 + 2 * D,
    );
    let b = active(&s, rule::WATER_BELOW_TARGET, "SW-01", None).unwrap();
    assert_eq!((b.id, b.severity, b.count), (a.id, Severity::Major, 2));
    assert!(b.detail.contains("劣V类"), "{}", b.detail);
    // Day 3: 0.8 ≤ 1.0 → Class III, target met → cleared.
    commit_derive_judge(
        &mut s,
        &w,
        &e,
        water_day("SW-01", nh3n, 2, "0.8"),
        T0 + 3 * D,
    );
    assert!(active(&s, rule::WATER_BELOW_TARGET, "SW-01", None).is_none());
    // Day 2 resent (late): day 3 is the newest day, so nothing is raised again.
    let st = commit_derive_judge(
        &mut s,
        &w,
        &e,
        water_day("SW-01", nh3n, 1, "2.5"),
        T0 + 3 * D + 5,
    );
    assert_eq!(st.raised, 0);
    assert!(active(&s, rule::WATER_BELOW_TARGET, "SW-01", None).is_none());
    // A new bad day still raises (a new alarm: the old one was cleared).
    commit_derive_judge(
        &mut s,
        &w,
        &e,
        water_day("SW-01", nh3n, 3, "1.8"),
        T0 + 4 * D,
    );
    let c = active(&s, rule::WATER_BELOW_TARGET, "SW-01", None).unwrap();
    // 1.8 ≤ 2.0 → Class V, two below III → major.
    assert_ne!(c.id, a.id);
    assert_eq!((c.severity, c.value), (Severity::Major, Some(5.0)));
}

/// A drinking-water source is judged against Class III and GB 3838-2002 Table 2. Lake TP
/// (Table 1 row 9, lakes/reservoirs): III ≤ 0.05, IV ≤ 0.1 mg/L; sulfate (Table 2) ≤ 250 mg/L.
#[test]
fn a_drinking_water_source_failing_class_iii_raises() {
    let (_d, mut s) = open();
    let (w, e) = water_rules();
    let tp = "w21011";
    // Day 1: TP 0.08 → Class IV → not compliant → major.
    commit_derive_judge(&mut s, &w, &e, water_day("DW-01", tp, 0, "0.08"), T0 + D);
    let a = active(&s, rule::DRINKING_WATER_NONCOMPLIANCE, "DW-01", None).unwrap();
    assert_eq!(a.severity, Severity::Major);
    assert!(a.detail.contains("IV类，未达到Ⅲ类标准"), "{}", a.detail);
    assert!(a.detail.contains("总磷"), "{}", a.detail);
    assert_eq!(a.title, "水源地一 饮用水水源地水质不达标");
    // A source is not a section: no water_below_target.
    assert!(active(&s, rule::WATER_BELOW_TARGET, "DW-01", None).is_none());
    // Day 2: TP 0.03 → Class III, compliant → cleared.
    commit_derive_judge(
        &mut s,
        &w,
        &e,
        water_day("DW-01", tp, 1, "0.03"),
        T0 + 2 * D,
    );
    assert!(active(&s, rule::DRINKING_WATER_NONCOMPLIANCE, "DW-01", None).is_none());
    // Day 3: Class III but sulfate 300 > 250 mg/L (Table 2) → not compliant.
    let mut v = water_day("DW-01", tp, 2, "0.03");
    v.extend(water_day("DW-01", "Sulfate", 2, "300"));
    commit_derive_judge(&mut s, &w, &e, v, T0 + 3 * D);
    let b = active(&s, rule::DRINKING_WATER_NONCOMPLIANCE, "DW-01", None).unwrap();
    assert!(b.detail.contains("III类（达到Ⅲ类）"), "{}", b.detail);
    assert!(
        b.detail.contains("300 mg/L 超过限值 250 mg/L"),
        "{}",
        b.detail
    );
    // A late day 2 (compliant) does not clear the newer day 3.
    commit_derive_judge(
        &mut s,
        &w,
        &e,
        water_day("DW-01", tp, 1, "0.03"),
        T0 + 3 * D + 5,
    );
    assert!(active(&s, rule::DRINKING_WATER_NONCOMPLIANCE, "DW-01", None).is_some());
}

/// Quality checks (docs/engine-quality.md): 6 identical hour values in a row are a `constant`
/// run; missing hours give `missing` findings, which do not raise `data_anomaly`.
#[test]
fn a_constant_run_raises_data_anomaly() {
    let (_d, mut s) = open();
    let (w, e) = water_rules();
    let pm = "a34004";
    // Day 1: hours 0, 1 → 30, 31; hours 2–7 → 40 ×6 (constant run); 8–23 missing.
    let mut v = vec![
        hour("AIR-09", pm, "Avg", T0, "30", "N"),
        hour("AIR-09", pm, "Avg", T0 + H, "31", "N"),
    ];
    for h in 2..8 {
        v.push(hour("AIR-09", pm, "Avg", T0 + h * H, "40", "N"));
    }
    let st = commit_derive_judge(&mut s, &w, &e, v.clone(), T0 + 8 * H);
    assert_eq!((st.quality_days, st.raised), (1, 1));
    let a = active(&s, rule::DATA_ANOMALY, "AIR-09", Some(pm)).unwrap();
    assert_eq!((a.severity, a.value), (Severity::Warning, Some(6.0)));
    // A site the config has no name for keeps its code; the pollutant is named.
    assert_eq!(a.title, "AIR-09 PM2.5 数据异常");
    assert!(
        a.detail
            .contains("2025-07-01 日 a34004 数据异常：恒值 6 个"),
        "{}",
        a.detail
    );
    assert!(!a.detail.contains("missing"), "{}", a.detail);
    // Day 2: varying values → no anomaly → cleared.
    let v2: Vec<Measurement> = (0..6)
        .map(|h| {
            hour(
                "AIR-09",
                pm,
                "Avg",
                T0 + D + h * H,
                &(30 + h).to_string(),
                "N",
            )
        })
        .collect();
    commit_derive_judge(&mut s, &w, &e, v2, T0 + D + 6 * H);
    assert!(active(&s, rule::DATA_ANOMALY, "AIR-09", Some(pm)).is_none());
    // Day 1 resent (late): day 2 is the newest day of the code → not raised again.
    let st = commit_derive_judge(&mut s, &w, &e, v, T0 + D + 7 * H);
    assert_eq!(st.raised, 0);
    assert!(active(&s, rule::DATA_ANOMALY, "AIR-09", Some(pm)).is_none());
}

// ---- pH pre-warning on a range; late and back-filled hours (issue 11) ---------------------

/// The pre-warnings of the pH outlet, oldest first.
fn ph_warnings(s: &SqliteStore) -> Vec<store::alarms::Alarm> {
    let mut v: Vec<_> = s
        .alarms(&AlarmFilter {
            rule: Some(rule::PRE_WARNING.into()),
            site: Some("ENT-W-01".into()),
            ..AlarmFilter::default()
        })
        .unwrap();
    v.reverse();
    v
}

#[test]
fn ph_pre_warns_near_either_edge_of_its_range_never_on_neutral_water() {
    let (_d, mut s) = open();
    let e = rules_engine();
    let ph = |t, v: &str| vec![hour("ENT-W-01", "w01001", "Avg", t, v, "N")];
    // GB 8978-1996 Table 4: pH 6–9. Neutral water all day (7.2–7.9, what the outlets send)
    // never warns: 80 % of the upper limit (7.2) is no edge of a range.
    for (k, v) in ["7.5", "7.2", "7.9", "7.5", "8.0", "7.0", "6.8", "8.2"]
        .iter()
        .cycle()
        .take(24)
        .enumerate()
    {
        let t = T0 + k as i64 * H;
        commit_and_judge(&mut s, &e, ph(t, v), t + H);
    }
    assert!(ph_warnings(&s).is_empty(), "{:?}", ph_warnings(&s));
    // Within (1 − 0.8) × (9 − 6) = 0.6 of an edge: 8.8 warns against the upper limit 9 …
    commit_and_judge(&mut s, &e, ph(T0 + 24 * H, "8.8"), T0 + 25 * H);
    let w = ph_warnings(&s);
    assert_eq!(w.len(), 1);
    assert!(w[0].active);
    assert_eq!((w[0].severity, w[0].limit), (Severity::Info, Some(9.0)));
    assert!(w[0].detail.contains("接近许可上限 9"), "{}", w[0].detail);
    assert!(w[0].detail.contains("许可范围 6–9"), "{}", w[0].detail);
    // … 7.5 clears it, 6.2 warns against the lower limit 6; the band's edges 8.4 and 6.6 warn,
    // 8.39 and 6.61 do not.
    commit_and_judge(&mut s, &e, ph(T0 + 25 * H, "7.5"), T0 + 26 * H);
    assert!(active(&s, rule::PRE_WARNING, "ENT-W-01", Some("w01001")).is_none());
    commit_and_judge(&mut s, &e, ph(T0 + 26 * H, "6.2"), T0 + 27 * H);
    let low = active(&s, rule::PRE_WARNING, "ENT-W-01", Some("w01001")).unwrap();
    assert_eq!(low.limit, Some(6.0));
    assert!(low.detail.contains("接近许可下限 6"), "{}", low.detail);
    let mut t = T0 + 27 * H;
    for (v, warns) in [
        ("8.39", false),
        ("8.4", true),
        ("7.5", false),
        ("6.61", false),
        ("6.6", true),
    ] {
        commit_and_judge(&mut s, &e, ph(t, v), t + H);
        assert_eq!(
            active(&s, rule::PRE_WARNING, "ENT-W-01", Some("w01001")).is_some(),
            warns,
            "pH {v}"
        );
        t += H;
    }
    // Outside the range is an exceedance, not a pre-warning.
    commit_and_judge(&mut s, &e, ph(t, "9.3"), t + H);
    assert!(active(&s, rule::PRE_WARNING, "ENT-W-01", Some("w01001")).is_none());
    assert!(active(&s, rule::EXCEEDANCE, "ENT-W-01", Some("w01001")).is_some());
}

#[test]
fn a_closed_pre_warning_whose_condition_persists_does_not_come_back_as_new() {
    let (_d, mut s) = open();
    let e = rules_engine();
    let ph = |t, v: &str| vec![hour("ENT-W-01", "w01001", "Avg", t, v, "N")];
    commit_and_judge(&mut s, &e, ph(T0, "8.7"), T0 + H);
    let id = active(&s, rule::PRE_WARNING, "ENT-W-01", Some("w01001"))
        .unwrap()
        .id;
    {
        let mut a = Alarms::with_clock(&mut s, T0 + H);
        a.acknowledge(id, "值班员", T0 + H).unwrap();
        a.dispatch(
            id,
            &Dispatch {
                to: "执法支队".into(),
                deadline_ms: T0 + 48 * H,
            },
            "值班员",
            T0 + H,
        )
        .unwrap();
        a.handle(id, &handling("执法支队"), T0 + 2 * H).unwrap();
        a.close(id, "科长", T0 + 2 * H).unwrap();
    }
    // The pH stays high for hours after the close: no new alarm, the closed one counts them.
    for k in 1..8 {
        commit_and_judge(&mut s, &e, ph(T0 + k * H, "8.7"), T0 + (k + 1) * H);
    }
    let w = ph_warnings(&s);
    assert_eq!(w.len(), 1, "a closed alarm came back as new: {w:?}");
    assert_eq!((w[0].status, w[0].count), (AlarmStatus::Closed, 8));
    // Once the condition ends, a later one is news again.
    commit_and_judge(&mut s, &e, ph(T0 + 8 * H, "7.4"), T0 + 9 * H);
    commit_and_judge(&mut s, &e, ph(T0 + 9 * H, "8.7"), T0 + 10 * H);
    let w = ph_warnings(&s);
    assert_eq!(w.len(), 2);
    assert_eq!((w[1].status, w[1].active), (AlarmStatus::New, true));
}

fn exceedances(s: &SqliteStore) -> Vec<store::alarms::Alarm> {
    let mut v: Vec<_> = s
        .alarms(&AlarmFilter {
            rule: Some(rule::EXCEEDANCE.into()),
            site: Some("ENT-G-01".into()),
            ..AlarmFilter::default()
        })
        .unwrap();
    v.reverse();
    v
}

fn zs(t: i64, v: &str) -> Measurement {
    hour("ENT-G-01", "a34013", "ZsAvg", t, v, "N")
}

/// Commits `vals` in batches of `n` (as a logger replaying its history fills a window) and
/// judges each batch at `now`.
fn replay(s: &mut SqliteStore, e: &AlarmEngine, vals: Vec<Measurement>, n: usize, now: i64) {
    for chunk in vals.chunks(n) {
        commit_and_judge(s, e, chunk.to_vec(), now);
    }
}

#[test]
fn a_history_replay_raises_its_exceedances_marked_late_and_kept_for_review() {
    let (_d, mut s) = open();
    let e = rules_engine();
    // Three days of hours (limit 50 mg/m³): exceedances at hours 24–25 (2 hours: 60, 130) and
    // 50, a near-limit 45 at hour 60 (a pre-warning if it had come live), replayed in windows
    // of 40 hours at T0 + 72 h: everything is late.
    let now = T0 + 72 * H + 10 * 60_000;
    let vals: Vec<Measurement> = (0..72)
        .map(|k| {
            let v = match k {
                24 => "60",
                25 => "130",
                50 => "75",
                60 => "45",
                _ => "30",
            };
            zs(T0 + k * H, v)
        })
        .collect();
    replay(&mut s, &e, vals.clone(), 40, now);
    let ex = exceedances(&s);
    assert_eq!(ex.len(), 2, "{ex:?}");
    for a in &ex {
        assert!(a.late, "{a:?}");
        assert!(!a.active, "the next hour ended it");
        // Nobody saw it while it lasted: it stays new (in the workbench), not auto-cleared.
        assert_eq!(a.status, AlarmStatus::New);
        assert_eq!(a.to_json()["late"], serde_json::json!(true));
    }
    assert_eq!(
        (ex[0].first_seen_ms, ex[0].last_seen_ms, ex[0].count),
        (T0 + 24 * H, T0 + 25 * H, 2)
    );
    assert_eq!(
        (ex[0].severity, ex[0].peak, ex[0].cleared_ms),
        (Severity::Major, Some(130.0), Some(T0 + 26 * H))
    );
    assert_eq!((ex[1].first_seen_ms, ex[1].count), (T0 + 50 * H, 1));
    assert!(s
        .alarm_steps(ex[1].id)
        .unwrap()
        .iter()
        .any(|st| st.action == "raised" && st.note.starts_with("补传数据")));
    // A pre-warning about the past warns nobody.
    assert!(s
        .alarms(&AlarmFilter {
            rule: Some(rule::PRE_WARNING.into()),
            ..AlarmFilter::default()
        })
        .unwrap()
        .is_empty());
    // A live hour after the replay is judged as usual, not late.
    commit_and_judge(
        &mut s,
        &e,
        vec![zs(T0 + 72 * H, "80")],
        T0 + 73 * H + 60_000,
    );
    let live = active(&s, rule::EXCEEDANCE, "ENT-G-01", Some("a34013")).unwrap();
    assert!(!live.late);
    // The whole replay again (resends after lost acks) counts nothing twice.
    replay(&mut s, &e, vals, 40, T0 + 74 * H);
    let ex2 = exceedances(&s);
    assert_eq!(ex2.len(), 3);
    assert_eq!(ex2[0].count, 2);
    assert_eq!(ex2[1].count, 1);
    assert_eq!(ex2[2].count, 1);
}

#[test]
fn a_back_filled_gap_raises_a_past_alarm_within_the_horizon_only() {
    let (_d, mut s) = open();
    let e = rules_engine();
    let now = T0 + 40 * D;
    // Live: the newest hour is compliant.
    commit_and_judge(&mut s, &e, vec![zs(now - H, "30")], now);
    // The logger fills a gap 2 days back (补传): hours 48 and 47 before now exceed.
    let two_days = now - 48 * H;
    commit_and_judge(&mut s, &e, vec![zs(two_days, "90")], now + 60_000);
    let ex = exceedances(&s);
    assert_eq!(ex.len(), 1);
    let a = &ex[0];
    assert!(a.late && !a.active, "{a:?}");
    assert_eq!(a.status, AlarmStatus::New);
    assert_eq!(
        (a.first_seen_ms, a.cleared_ms),
        (two_days, Some(two_days + H))
    );
    assert_eq!(a.severity, Severity::Warning);
    // The neighbouring hour joins it; a resend of either changes nothing; a compliant
    // back-filled hour changes nothing.
    commit_and_judge(&mut s, &e, vec![zs(two_days + H, "210")], now + 120_000);
    commit_and_judge(&mut s, &e, vec![zs(two_days, "90")], now + 180_000);
    commit_and_judge(&mut s, &e, vec![zs(two_days + 2 * H, "20")], now + 240_000);
    let ex = exceedances(&s);
    assert_eq!(ex.len(), 1);
    assert_eq!(
        (ex[0].count, ex[0].last_seen_ms, ex[0].cleared_ms),
        (2, two_days + H, Some(two_days + 2 * H))
    );
    assert_eq!(
        (ex[0].severity, ex[0].peak),
        (Severity::Critical, Some(210.0))
    );
    assert!(
        !ex[0].active,
        "a back-fill never makes the past the current state"
    );
    // 30 days back is beyond the horizon (7 days): the reports keep it, no alarm.
    commit_and_judge(&mut s, &e, vec![zs(now - 30 * D, "300")], now + 300_000);
    assert_eq!(exceedances(&s).len(), 1);
    // The live state was not touched: the next live exceedance opens a live alarm.
    commit_and_judge(&mut s, &e, vec![zs(now, "70")], now + H);
    let live = active(&s, rule::EXCEEDANCE, "ENT-G-01", Some("a34013")).unwrap();
    assert!(!live.late);
    assert_eq!(exceedances(&s).len(), 2);
}

#[test]
fn the_late_horizon_is_configurable() {
    let (_d, mut s) = open();
    let mut cfg = AlarmConfig {
        outlets: vec![OutletLimit {
            site: "ENT-G-01".into(),
            pollutant: "a34013".into(),
            name: "颗粒物".into(),
            unit: "mg/m3".into(),
            upper: Some(50.0),
            lower: None,
            corrected: true,
        }],
        late_horizon_s: 86_400,
        ..AlarmConfig::default()
    };
    let e = AlarmEngine::new(cfg.clone()).unwrap();
    let now = T0 + 10 * D;
    commit_and_judge(&mut s, &e, vec![zs(now - 48 * H, "90")], now);
    assert!(
        exceedances(&s).is_empty(),
        "2 days is beyond a 1-day horizon"
    );
    commit_and_judge(&mut s, &e, vec![zs(now - 20 * H, "90")], now);
    assert_eq!(exceedances(&s).len(), 1);
    cfg.late_horizon_s = 60;
    let err = AlarmEngine::new(cfg).unwrap_err().to_string();
    assert!(err.contains("late_horizon_s"), "{err}");
}

/// A restaurant (fume monitor, due 10:00–22:00 by default, no interval registered → hour-only,
/// threshold 2 h = 2 hourly intervals) is due nothing while it is closed: last packet 22:00 →
/// no offline alarm at 23:30, nor the next morning at 10:30 (0.5 h owed). One that fell
/// silent at 21:00 has missed 21:00–22:00 and, the next day, 10:00–11:00: at 11:30 it owes
/// 2.5 h → offline. An air station silent since 22:00 is offline at 00:01 (all day is due).
#[test]
fn restaurants_closed_at_night_are_not_offline() {
    let (_d, mut s) = open();
    let e = rules_engine();
    for (mn, site, kind) in [
        ("MN-F1", "FUME-0001", DeviceKind::Fume),
        ("MN-F2", "FUME-0002", DeviceKind::Fume),
        ("MN-A9", "AIR-09", DeviceKind::Air),
    ] {
        let mut d = Device::new(mn, "123456", site, kind);
        d.registered = Some(T0 / 1000 - 86_400);
        s.put_device(&d).unwrap();
    }
    s.commit(&[
        packet("MN-F1", T0 + 22 * H, vec![]),
        packet("MN-F2", T0 + 21 * H, vec![]),
        packet("MN-A9", T0 + 22 * H, vec![]),
    ])
    .unwrap();
    e.tick(&mut s, T0 + 23 * H + 30 * 60_000).unwrap();
    assert!(active(&s, rule::OFFLINE, "FUME-0001", None).is_none());
    assert!(active(&s, rule::OFFLINE, "FUME-0002", None).is_none());
    assert!(active(&s, rule::OFFLINE, "AIR-09", None).is_none());
    e.tick(&mut s, T0 + 24 * H + 60_000).unwrap();
    assert!(active(&s, rule::OFFLINE, "AIR-09", None).is_some());
    assert!(active(&s, rule::OFFLINE, "FUME-0002", None).is_none());
    e.tick(&mut s, T0 + 34 * H + 30 * 60_000).unwrap(); // 10:30 next day
    assert!(active(&s, rule::OFFLINE, "FUME-0001", None).is_none());
    assert!(active(&s, rule::OFFLINE, "FUME-0002", None).is_none());
    let st = e.tick(&mut s, T0 + 35 * H + 30 * 60_000).unwrap(); // 11:30
    assert!(active(&s, rule::OFFLINE, "FUME-0001", None).is_none());
    let a = active(&s, rule::OFFLINE, "FUME-0002", None).expect("offline at 11:30");
    assert!(
        a.detail.contains("应报时段内已 150 分钟无数据"),
        "{}",
        a.detail
    );
    assert_eq!(st.offline_sites, 2, "FUME-0002 and AIR-09");
}
