//! Browser test of the web UI in headless Chromium (Debian `chromium` + `chromium-driver`,
//! installed by `.ci/run`): a real `qingshan serve` on a temp data folder with three days of
//! simulated data; log in as the printed administrator, see the overview with data, open each
//! built page, send a back-fill command on the devices page and see its answer, open the
//! public page without login. Screenshots go to `target/web-screenshots/`.
//!
//! WebDriver is JSON over HTTP: a tiny client on `std::net` keeps the build free of a
//! WebDriver crate. Without `chromedriver` on PATH the test says so and passes (CI installs
//! it; set `QINGSHAN_REQUIRE_BROWSER=1` to make its absence a failure).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_qingshan");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the child (by its own id) when dropped.
struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(cmd))
            .find(|f| f.is_file())
    })
}

/// One HTTP/1.1 request with `Connection: close`; returns (status, body).
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let b = body.map(|v| v.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}",
        b.len()
    )
    .unwrap();
    // Read the head, then exactly Content-Length bytes (servers may keep the connection).
    let mut r = BufReader::new(s);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    let lower = head.to_ascii_lowercase();
    let len = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let body = match len {
        Some(n) => {
            let mut b = vec![0u8; n];
            r.read_exact(&mut b).unwrap();
            String::from_utf8_lossy(&b).to_string()
        }
        None => {
            let mut b = Vec::new();
            r.read_to_end(&mut b).unwrap();
            let t = String::from_utf8_lossy(&b).to_string();
            if lower.contains("transfer-encoding: chunked") {
                dechunk(&t)
            } else {
                t
            }
        }
    };
    (status, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

struct Driver {
    port: u16,
    session: String,
}

impl Driver {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, text) = http(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            body.as_ref(),
        );
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert!(status == 200, "webdriver {method} {path}: {status} {text}");
        v["value"].clone()
    }
    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }
    fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }
    fn text(&self, css: &str) -> String {
        let id = self.find(css);
        self.cmd("GET", &format!("/element/{id}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
    fn js(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }
    /// Waits until `script` (an expression) is truthy.
    fn wait(&self, what: &str, script: &str) {
        let t0 = Instant::now();
        loop {
            let v = self.js(&format!("return !!({script});"));
            if v == Value::Bool(true) {
                return;
            }
            if t0.elapsed() > Duration::from_secs(30) {
                let body = self.js("return document.body.innerText;");
                panic!("timed out waiting for {what}: {body}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        );
    }
    fn click(&self, css: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})));
    }
    fn screenshot(&self, dir: &Path, name: &str) {
        use base64_decode as d;
        let v = self.cmd("GET", "/screenshot", None);
        let png = d(v.as_str().unwrap());
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// Standard base64 (WebDriver screenshots), no dependency.
/// A GET from inside the browser session (it carries the session cookie).
fn http_get_with_cookie(d: &Driver, _port: u16, path: &str) -> (u16, String) {
    let v = d.cmd(
        "POST",
        "/execute/async",
        Some(json!({"script": format!("const done = arguments[0]; fetch('{path}').then(async (r) => done([r.status, await r.text()]));"), "args": []})),
    );
    (
        v[0].as_u64().unwrap_or(0) as u16,
        v[1].as_str().unwrap_or_default().to_string(),
    )
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn web_ui_in_headless_chromium() {
    let (Some(chromedriver), Some(chromium)) = (which("chromedriver"), which("chromium")) else {
        assert!(
            std::env::var_os("QINGSHAN_REQUIRE_BROWSER").is_none(),
            "chromium/chromedriver not installed"
        );
        eprintln!("SKIPPED: chromium + chromium-driver not installed (apt-get install -y chromium chromium-driver)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/web-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let (hj, web) = (free_port(), free_port());
    let mut serve = Command::new(BIN)
        .args(["serve", "--no-fsync", "--data"])
        .arg(&data)
        .args([
            "--hj212",
            &format!("127.0.0.1:{hj}"),
            "--http",
            &format!("127.0.0.1:{web}"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = BufReader::new(serve.stdout.take().unwrap());
    let _serve = Kill(serve);
    // Read until the first administrator's password, then keep draining stdout in a thread
    // (a closed pipe would end the server at its next line).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            if let Some(p) = line.split("password: ").nth(1) {
                let _ = tx.send(p.split_whitespace().next().unwrap_or_default().to_string());
            }
        }
    });
    let password = rx.recv_timeout(Duration::from_secs(60)).ok();
    let password = password.expect("serve prints the first administrator's password");
    // Three days of history, then live data so that devices are online for the command.
    let status = Command::new(BIN)
        .args([
            "simulate",
            "--register",
            "--devices",
            "30",
            "--history",
            "3d",
            "--burst",
            "--progress",
            "0",
        ])
        .args(["--to", &format!("127.0.0.1:{hj}"), "--data"])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    // Derive the air days now (the report catches up by watermark), so the page does not
    // depend on the server's commit observers having run.
    let rep = Command::new(BIN)
        .args(["report", "air", "--year", "2026", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        rep.status.success(),
        "{}",
        String::from_utf8_lossy(&rep.stderr)
    );
    let _live = Kill(
        Command::new(BIN)
            .args([
                "simulate",
                "--devices",
                "30",
                "--rate",
                "5",
                "--progress",
                "0",
                "--fume-always-open",
            ])
            .args(["--to", &format!("127.0.0.1:{hj}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let wd_port = free_port();
    let _driver = Kill(
        Command::new(chromedriver)
            .arg(format!("--port={wd_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", wd_port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let profile_dir = dir.path().join("chromium-profile");
    let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
        "binary": chromium,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 "--window-size=1600,1000", format!("--user-data-dir={}", profile_dir.display())]}}}});
    let (st, text) = http(wd_port, "POST", "/session", Some(&caps));
    assert_eq!(st, 200, "new session: {text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let d = Driver {
        port: wd_port,
        session: v["value"]["sessionId"].as_str().unwrap().to_string(),
    };
    let base = format!("http://127.0.0.1:{web}");

    // Without a session the shell sends us to the login page.
    d.go(&format!("{base}/"));
    d.wait("login page", "document.getElementById('login-form')");
    d.type_into("#user", "admin");
    d.type_into("#password", "not the password");
    d.click("#login-btn");
    d.wait(
        "login error",
        "document.getElementById('login-error').textContent.length > 0",
    );
    d.screenshot(&shots, "01-login-error");
    d.go(&format!("{base}/login"));
    d.wait("login page", "document.getElementById('login-form')");
    d.type_into("#user", "admin");
    d.type_into("#password", &password);
    d.click("#login-btn");
    d.wait("overview", "document.getElementById('ov-dev-total')");
    d.wait(
        "overview data",
        "Number(document.getElementById('ov-dev-total').textContent) === 30",
    );
    d.wait(
        "county AQI",
        "/^\\d+$/.test(document.getElementById('ov-aqi').textContent)",
    );
    d.wait("map drawn", "document.querySelector('#ov-map canvas')");
    std::thread::sleep(Duration::from_millis(800));
    d.screenshot(&shots, "02-overview");
    // Unbuilt pages are disabled, not fake.
    assert_eq!(
        d.js("return document.querySelectorAll('nav.menu a.disabled').length;"),
        json!(5)
    );
    assert!(d.text("#nav-water").contains("水"));

    d.go(&format!("{base}/#air"));
    d.wait("air page", "document.querySelector('#air-calendar canvas') && document.getElementById('air-annual').rows.length > 5");
    std::thread::sleep(Duration::from_millis(800));
    d.screenshot(&shots, "03-air");

    d.go(&format!("{base}/#devices"));
    d.wait("device list", "document.getElementById('dev-table') && document.getElementById('dev-table').rows.length === 31");
    d.wait(
        "online devices",
        "document.querySelector('#dev-table td.on')",
    );
    d.click("#cmd-send");
    d.wait(
        "command sent",
        "document.getElementById('cmd-result').textContent.startsWith('已发送')",
    );
    d.wait("9011 answer", "document.querySelector('#cmd-table td.cmd-qnrtn') && document.querySelector('#cmd-table td.cmd-qnrtn').textContent !== '等待'");
    d.screenshot(&shots, "04-devices-command");

    // Log out; the public page works without login and shows no internal detail.
    // 告警: handle one alarm end to end (acknowledge, dispatch, record handling, close).
    let (st, body) = http_get_with_cookie(&d, web, "/api/v1/alarms?status=new&per_page=1");
    assert_eq!(st, 200, "{body}");
    let list: Value = serde_json::from_str(&body).unwrap();
    let id = list["items"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("the simulated history raised no alarm: {body}"));
    d.go(&format!("{base}/#alarms"));
    d.wait(
        "alarm list",
        &format!("document.querySelector('#al-table tr[data-id=\"{id}\"]')"),
    );
    d.click(&format!("#al-table tr[data-id=\"{id}\"]"));
    d.wait("alarm detail", "document.getElementById('al-ack')");
    d.click("#al-ack");
    d.wait("acknowledged", "document.getElementById('al-dispatch')");
    d.click("#al-dispatch");
    d.wait("dispatched", "document.getElementById('al-handle')");
    d.type_into("#al-result", "情况属实");
    d.type_into("#al-cause", "治理设施运行不稳定");
    d.type_into("#al-measures", "责令整改并复测");
    d.click("#al-handle");
    d.wait("handled", "document.getElementById('al-close')");
    d.click("#al-close");
    d.wait(
        "closed",
        "document.getElementById('al-state').textContent === '已办结' && document.getElementById('al-reopen')",
    );
    d.wait(
        "steps",
        "document.getElementById('al-steps').rows.length >= 6",
    );
    std::thread::sleep(Duration::from_millis(300));
    d.screenshot(&shots, "05-alarm-closed");

    // 规划指标: enter a manual indicator's value and see it in the table.
    d.go(&format!("{base}/#plan"));
    d.wait(
        "indicator table",
        "document.getElementById('ind-table') && document.getElementById('ind-table').rows.length === 16 && document.getElementById('ind-code').options.length === 15",
    );
    let code = d.js("const o = [...document.getElementById('ind-code').options].find((x) => !x.text.includes('监测计算')); document.getElementById('ind-code').value = o.value; return o.value;");
    let code = code.as_str().unwrap().to_string();
    let last_year = d.js("return document.getElementById('ind-y').value;");
    d.js("document.getElementById('ind-y').value = ''; return 1;");
    d.type_into("#ind-y", last_year.as_str().unwrap());
    d.type_into("#ind-value", "63.7");
    d.type_into("#ind-source", "县林业局年报");
    d.type_into("#ind-evidence", "垫林发〔2026〕1号");
    d.click("#ind-save");
    d.wait(
        "entered value in the table",
        &format!("[...document.querySelectorAll('#ind-table tr[data-id=\"{code}\"] td.ind-v')].some((td) => td.textContent === '63.7')"),
    );
    d.wait(
        "entry with evidence",
        "document.getElementById('ind-entries').textContent.includes('垫林发〔2026〕1号')",
    );
    std::thread::sleep(Duration::from_millis(300));
    d.screenshot(&shots, "06-plan-indicators");

    d.js("fetch('/api/v1/auth/logout', {method: 'POST'}); return 1;");
    std::thread::sleep(Duration::from_millis(300));
    d.go(&format!("{base}/public"));
    d.wait(
        "public page",
        "/^\\d+$/.test(document.getElementById('pub-aqi').textContent)",
    );
    d.wait(
        "public stations",
        "document.getElementById('pub-stations').rows.length > 1",
    );
    let body = d.js("return document.body.innerText;");
    assert!(
        !body.as_str().unwrap().contains("MN"),
        "no device detail on the public page"
    );
    std::thread::sleep(Duration::from_millis(500));
    d.screenshot(&shots, "09-public");
    // After logout the API refuses.
    let (st, _) = http(web, "GET", "/api/v1/overview", None);
    assert_eq!(st, 401);
    let _ = http(wd_port, "DELETE", &format!("/session/{}", d.session), None);
}
