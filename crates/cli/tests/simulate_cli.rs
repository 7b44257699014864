//! `qingshan simulate` against a real `qingshan serve`: 30 simulated devices of every kind
//! registered into the data folder replay 2 days of history; everything sent is acknowledged
//! and `qingshan export` has values for every device's site. And the README demo: after its
//! history the fleet stays live, so the README's back-fill request reaches a device.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_qingshan");

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().unwrap().port()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM: the graceful shutdown path; fall back to SIGKILL if it hangs.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Kills a child still running when the test ends (a failed assertion).
struct Guard(Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn simulate_history_is_all_acknowledged_and_stored() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let http = free_port();
    let addr = format!("127.0.0.1:{port}");
    let server = Server(
        Command::new(BIN)
            .args(["serve", "--data"])
            .arg(&data)
            .args(["--hj212", &addr, "--http", &format!("127.0.0.1:{http}")])
            .arg("--no-fsync")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "server did not listen");
        std::thread::sleep(Duration::from_millis(100));
    }

    let out = Command::new(BIN)
        .args(["simulate", "--to", &addr, "--register", "--data"])
        .arg(&data)
        .args([
            "--devices",
            "30",
            "--history",
            "2d",
            "--no-live",
            "--progress",
            "0",
        ])
        .output()
        .expect("simulate runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "simulate failed: {stdout}\n{stderr}");
    let line = stdout.lines().last().expect("summary line");
    let s: serde_json::Value = serde_json::from_str(line).expect("summary is JSON");
    for k in [
        "devices",
        "connections",
        "sent",
        "acked",
        "unacked",
        "values",
        "elapsed_s",
        "packets_per_s",
        "ack_p50_ms",
        "ack_p99_ms",
        "by_kind",
    ] {
        assert!(s.get(k).is_some(), "summary lacks {k}: {line}");
    }
    assert_eq!(s["devices"], 30);
    let sent = s["sent"].as_u64().unwrap();
    assert!(sent > 30 * 20, "sent {sent}");
    assert_eq!(s["acked"].as_u64().unwrap(), sent, "{line}");
    assert_eq!(s["unacked"], 0);
    let kinds = s["by_kind"].as_object().unwrap();
    for k in [
        "air",
        "surface_water",
        "drinking_water",
        "noise",
        "flue_gas",
        "wastewater",
        "fume",
    ] {
        assert!(kinds.contains_key(k), "no {k} devices in {line}");
    }
    assert!(stderr.contains("acked"), "human line on stderr: {stderr}");

    // The registry holds the 30 devices; export has values for every one of their sites.
    let list = Command::new(BIN)
        .args(["device", "list", "--json", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(list.status.success());
    let listed = String::from_utf8_lossy(&list.stdout);
    let export = Command::new(BIN)
        .args(["export", "--format", "jsonl", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let mut sites = BTreeSet::new();
    let mut n = 0u64;
    for l in String::from_utf8_lossy(&export.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        sites.insert(v["site"].as_str().unwrap().to_string());
        n += 1;
    }
    assert_eq!(sites.len(), 30, "sites with values: {sites:?}");
    assert_eq!(n, s["values"].as_u64().unwrap(), "every value stored once");
    for site in &sites {
        assert!(listed.contains(site.as_str()), "{site} not registered");
    }
    drop(server);
}

/// One HTTP/1.1 request (`Connection: close`) with an optional cookie; returns (status, the
/// `Set-Cookie` value if any, body).
fn http(
    port: u16,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<&serde_json::Value>,
) -> (u16, Option<String>, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let b = body.map(|v| v.to_string()).unwrap_or_default();
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{cookie}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}",
        b.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    let set_cookie = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("set-cookie")
            .then(|| v.trim().split(';').next().unwrap_or_default().to_string())
    });
    (status, set_cookie, body.to_string())
}

/// The README demo as written: `simulate --register --history …` (no --no-live) replays the
/// history, says so, and then keeps the fleet reporting — every device stays online with its
/// last-seen time advancing — so that the README's back-fill request (`POST
/// /api/v1/devices/{mn}/commands`, CN 2061, HJ 212-2017 §6.6.3) reaches a connected device:
/// answered, not 409, with the device's 9011/9012 in the GET.
#[test]
fn simulate_history_then_stays_live_for_back_fill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (hj, web) = (free_port(), free_port());
    let addr = format!("127.0.0.1:{hj}");
    let mut child = Command::new(BIN)
        .args(["serve", "--no-fsync", "--data"])
        .arg(&data)
        .args(["--hj212", &addr, "--http", &format!("127.0.0.1:{web}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(p) = l.split("password: ").nth(1) {
                let _ = tx.send(p.split_whitespace().next().unwrap_or_default().to_string());
            }
        }
    });
    let _server = Server(child);
    let password = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("serve prints the first administrator's password");
    while TcpStream::connect(&addr).is_err() {
        std::thread::sleep(Duration::from_millis(100));
    }

    // Water and outlets report day and night (restaurants close at night); a rate of 6
    // real-time packets/s over the fleet makes "live" visible within seconds.
    let mut sim = Guard(Some(
        Command::new(BIN)
            .args(["simulate", "--to", &addr, "--register", "--data"])
            .arg(&data)
            .args([
                "--kinds",
                "surface_water,wastewater,flue_gas",
                "--devices",
                "3",
            ])
            .args(["--history", "6h", "--rate", "6", "--progress", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("simulate starts"),
    ));
    let child = sim.0.as_mut().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let said = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.contains("history acknowledged") => break l,
            Ok(_) => {}
            Err(_) => panic!("simulate did not report the end of its history"),
        }
    };
    assert!(said.contains("live now"), "{said}");
    assert!(
        sim.0.as_mut().unwrap().try_wait().unwrap().is_none(),
        "simulate must keep running after the history"
    );

    let (st, cookie, body) = http(
        web,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&serde_json::json!({"user": "admin", "password": password})),
    );
    assert_eq!(st, 200, "login: {body}");
    let cookie = cookie.expect("a session cookie");
    let devices = || -> Vec<serde_json::Value> {
        let (st, _, body) = http(
            web,
            "GET",
            "/api/v1/devices?per_page=100",
            Some(&cookie),
            None,
        );
        assert_eq!(st, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["items"].as_array().unwrap().clone()
    };
    let first = devices();
    assert_eq!(first.len(), 3, "{first:?}");
    std::thread::sleep(Duration::from_millis(2500));
    let later = devices();
    for d in &later {
        let before = first.iter().find(|x| x["mn"] == d["mn"]).unwrap();
        assert_eq!(d["online"], true, "{d}");
        assert!(
            d["packets"].as_i64() > before["packets"].as_i64(),
            "still sending live: {before} then {d}"
        );
        assert_ne!(
            d["last_seen"], before["last_seen"],
            "last seen advances: {d}"
        );
    }

    // The README's back-fill: hour data of the last three complete hours.
    let mn = later[0]["mn"].as_str().unwrap().to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let bj = |t: i64| {
        let t = t + 8 * 3600;
        let (days, s) = (t.div_euclid(86_400), t.rem_euclid(86_400));
        // civil-from-days (Howard Hinnant)
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        format!("{y:04}{m:02}{d:02}{:02}0000", s / 3600)
    };
    let (st, _, body) = http(
        web,
        "POST",
        &format!("/api/v1/devices/{mn}/commands"),
        Some(&cookie),
        Some(&serde_json::json!({
            "cn": "2061",
            "cp": {"BeginTime": bj(now - 4 * 3600), "EndTime": bj(now - 3600)}
        })),
    );
    assert_eq!(
        st, 200,
        "the back-fill request reaches the live device: {body}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (st, _, body) = http(
            web,
            "GET",
            &format!("/api/v1/devices/{mn}/commands"),
            Some(&cookie),
            None,
        );
        assert_eq!(st, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let c = &v.as_array().expect("a list of commands")[0];
        if c["qn_rtn"] == 1 && c["exe_rtn"] == 1 {
            assert_eq!(c["cn"], "2061", "{c}");
            break;
        }
        assert!(Instant::now() < deadline, "no 9011/9012 answer: {c}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Ctrl-C ends the live run with its summary: everything it sent was acknowledged.
    let mut child = sim.0.take().unwrap();
    let _ = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(out.lines().last().expect("summary line")).unwrap();
    assert!(status.success(), "{summary}");
    assert_eq!(summary["unacked"], 0, "{summary}");
}
