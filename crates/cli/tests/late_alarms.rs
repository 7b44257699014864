//! Issue 11, as a bureau meets it: a real `qingshan serve`, devices sending HJ 212 hour data
//! (2061) over TCP, the alarm workbench read with `qingshan alarm list` (its JSON).
//!
//! - pH is a range (GB 8978-1996 Table 4: 6–9): neutral water (7.5) never pre-warns, 8.8 and
//!   6.2 do (within 0.6 of an edge).
//! - A back-filled exceedance (补传) 2 days old raises an alarm marked `"late": true` that
//!   stays in the workbench; one 30 days old (beyond the 7-day horizon) raises none.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hj212::{Decoder, DecoderConfig, Mode, PacketBuilder};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_qingshan");
const PW: &str = "123456";
/// 正清玻璃 glass furnace flue (particulate a34013 ≤ 50 mg/m³, GB 26453-2011 Table 2).
const FLUE: (&str, &str) = ("C0A50000000000000000F001", "ENT-ZQBL-01");
/// Three wastewater outlets under GB 8978-1996 一级 (pH 6–9).
const WATER: [(&str, &str, &str); 3] = [
    ("C0A50000000000000000A001", "ENT-YYJ-01", "7.5"),
    ("C0A50000000000000000A002", "ENT-LNMB-01", "8.8"),
    ("C0A50000000000000000A003", "ENT-XFJG-01", "6.2"),
];

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends one hour upload and waits for its 9014 (sent after the commit).
fn send_hour(hj: u16, st: &str, mn: &str, t: i64, items: &[(&str, &str)], qn: u32) {
    let p = PacketBuilder::new(st, "2061", PW, mn)
        .qn(format!("{}{qn:03}", model::format_hj212_time(t)))
        .flag(5)
        .item("DataTime", model::format_hj212_time(t))
        .group(items.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .build()
        .unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", hj)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(&hj212::encode(&p)).unwrap();
    let mut dec = Decoder::new(DecoderConfig::new(Mode::Strict));
    let mut buf = [0u8; 4096];
    loop {
        let n = s
            .read(&mut buf)
            .expect("the platform acknowledges the upload");
        assert!(n > 0, "connection closed before the 9014 of {mn} {t}");
        dec.feed(&buf[..n]);
        while let Some(Ok(f)) = dec.next_frame() {
            if f.packet.cn() == "9014" {
                return;
            }
        }
    }
}

fn alarms(data: &Path) -> Vec<Value> {
    let o = Command::new(BIN)
        .args(["alarm", "list", "--status", "all", "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice::<Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn of<'a>(all: &'a [Value], rule: &str, site: &str) -> Vec<&'a Value> {
    all.iter()
        .filter(|a| a["rule"] == rule && a["site"] == site)
        .collect()
}

#[test]
fn ph_range_pre_warnings_and_back_filled_exceedances_marked_late() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = dir.path().join("devices.csv");
    let mut rows = format!("mn,pw,site,kind\n{},{PW},{},flue_gas\n", FLUE.0, FLUE.1);
    for (mn, site, _) in WATER {
        rows.push_str(&format!("{mn},{PW},{site},wastewater\n"));
    }
    std::fs::write(&csv, rows).unwrap();
    let st = Command::new(BIN)
        .args(["device", "import", "--data"])
        .arg(&data)
        .arg(&csv)
        .status()
        .unwrap();
    assert!(st.success());
    let hj = free_port();
    let _server = Server(
        Command::new(BIN)
            .args(["serve", "--no-fsync", "--data"])
            .arg(&data)
            .args(["--hj212", &format!("127.0.0.1:{hj}")])
            .args(["--http", &format!("127.0.0.1:{}", free_port())])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start qingshan serve"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", hj)).is_err() {
        assert!(Instant::now() < deadline, "server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The hour that ended last: its data are on time now.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let last = now.div_euclid(3600) * 3600 - 3600;
    for (mn, _, ph) in WATER {
        send_hour(
            hj,
            "32",
            mn,
            last,
            &[("w01001-Avg", ph), ("w01001-Flag", "N")],
            1,
        );
    }
    // The flue: compliant now; then the logger back-fills 2 days ago (120 mg/m³, 1.4 × over:
    // 严重) and 30 days ago (also 120).
    let zs = |v: &'static str| [("a34013-ZsAvg", v), ("a34013-Flag", "N")];
    send_hour(hj, "31", FLUE.0, last, &zs("30"), 1);
    send_hour(hj, "31", FLUE.0, last - 48 * 3600, &zs("120"), 2);
    send_hour(hj, "31", FLUE.0, last - 30 * 86_400, &zs("120"), 3);

    // The observers judge after each commit: wait for the two pre-warnings and the exceedance.
    let deadline = Instant::now() + Duration::from_secs(120);
    let all = loop {
        let all = alarms(&data);
        let n = all
            .iter()
            .filter(|a| a["rule"] == "pre_warning" || a["rule"] == "exceedance")
            .count();
        if n >= 3 {
            // Give a late third raise (which must not come) a moment.
            std::thread::sleep(Duration::from_secs(2));
            break alarms(&data);
        }
        assert!(Instant::now() < deadline, "alarms so far: {all:#?}");
        std::thread::sleep(Duration::from_millis(300));
    };

    // pH 7.5 is neutral: no pre-warning; 8.8 and 6.2 are within 0.6 of 9 and of 6.
    assert!(of(&all, "pre_warning", "ENT-YYJ-01").is_empty(), "{all:#?}");
    let high = of(&all, "pre_warning", "ENT-LNMB-01");
    assert_eq!(high.len(), 1, "{all:#?}");
    assert_eq!(high[0]["limit"], 9.0);
    assert_eq!(high[0]["late"], false);
    let low = of(&all, "pre_warning", "ENT-XFJG-01");
    assert_eq!(low.len(), 1, "{all:#?}");
    assert_eq!(low[0]["limit"], 6.0);
    assert!(all
        .iter()
        .all(|a| a["pollutant"] != "w01001" || a["rule"] == "pre_warning"));

    // The back-filled exceedance of 2 days ago: one alarm, marked late, still to be looked at.
    let ex = of(&all, "exceedance", FLUE.1);
    assert_eq!(ex.len(), 1, "only the 2-day-old back-fill raises: {all:#?}");
    let a = ex[0];
    assert_eq!(a["late"], true);
    assert_eq!(a["status"], "new");
    assert_eq!(a["severity"], "major");
    assert_eq!(a["first_seen_ms"], (last - 48 * 3600) * 1000);
    assert_eq!(a["peak"], 120.0);
    // The open workbench (the default list) holds it.
    let o = Command::new(BIN)
        .args(["alarm", "list", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let open: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(open
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == a["id"] && x["late"] == true));
}
