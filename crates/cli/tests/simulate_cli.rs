//! `qingshan simulate` against a real `qingshan serve`: 30 simulated devices of every kind
//! registered into the data folder replay 2 days of history; everything sent is acknowledged
//! and `qingshan export` has values for every device's site.

use std::collections::BTreeSet;
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
        .args(["--devices", "30", "--history", "2d", "--progress", "0"])
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
