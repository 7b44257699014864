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

/// An HJ 212 2061 upload (hour data) as a frame.
fn upload(mn: &str, pw: &str, time: i64, items: &[(&str, &str)]) -> Vec<u8> {
    let p = hj212::PacketBuilder::new("22", "2061", pw, mn)
        .qn(format!("{}001", model::format_hj212_time(time)))
        .flag(5)
        .item("DataTime", model::format_hj212_time(time))
        .group(items.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .build()
        .unwrap();
    hj212::encode(&p)
}

/// Logs in through the login page and waits for the overview.
fn login_as(d: &Driver, base: &str, user: &str, password: &str) {
    d.go(&format!("{base}/login"));
    d.wait("login page", "document.getElementById('login-form')");
    d.type_into("#user", user);
    d.type_into("#password", password);
    d.click("#login-btn");
    d.wait("overview", "document.getElementById('ov-dev-total')");
}

fn logout(d: &Driver) {
    d.cmd(
        "POST",
        "/execute/async",
        Some(json!({"script": "const done = arguments[0]; fetch('/api/v1/auth/logout', {method: 'POST'}).then(() => done(1));", "args": []})),
    );
}

/// A POST with a JSON body from inside the browser session.
fn post_in_browser(d: &Driver, path: &str, body: &Value) -> (u16, String) {
    let v = d.cmd(
        "POST",
        "/execute/async",
        Some(json!({"script": format!("const done = arguments[0]; fetch('{path}', {{method: 'POST', headers: {{'Content-Type': 'application/json'}}, body: JSON.stringify({body})}}).then(async (r) => done([r.status, await r.text()]));"), "args": []})),
    );
    (
        v[0].as_u64().unwrap_or(0) as u16,
        v[1].as_str().unwrap_or_default().to_string(),
    )
}

/// The `data-*` values of the rows matched by `css` (e.g. the outlets a table lists).
fn row_ids(d: &Driver, css: &str, attr: &str) -> Vec<String> {
    d.js(&format!(
        "return [...document.querySelectorAll('{css}')].map((tr) => tr.dataset.{attr});"
    ))
    .as_array()
    .unwrap()
    .iter()
    .map(|x| x.as_str().unwrap_or_default().to_string())
    .collect()
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
    // Three days of history (replay only), then a live fleet of its own so that devices are
    // online for the command.
    let status = Command::new(BIN)
        .args([
            "simulate",
            "--register",
            "--devices",
            "30",
            "--history",
            "3d",
            "--no-live",
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
    // The air card names its day (the latest daily AQI is yesterday's until today's is valid).
    let day = d.text("#ov-aqi-day");
    assert!(
        ["今日", "昨日", "天前"].iter().any(|w| day.starts_with(w))
            && day.contains(" 20")
            && day.ends_with("日均 AQI"),
        "air card: {day}"
    );
    // The plan's indicators on the overview: a year still running shows as such, never 未达标.
    d.wait(
        "overview indicators",
        "document.querySelector('#ov-ind tr[data-code=\"I06\"]')",
    );
    let i06 = d.text("#ov-ind tr[data-code=\"I06\"]");
    assert!(
        i06.contains("年度进行中") && !i06.contains("未达标"),
        "overview I06: {i06}"
    );
    std::thread::sleep(Duration::from_millis(800));
    d.screenshot(&shots, "02-overview");
    // Unbuilt pages are disabled, not fake.
    assert_eq!(
        d.js("return document.querySelectorAll('nav.menu a.disabled').length;"),
        json!(0)
    );
    assert!(d.text("#nav-water").contains("水"));
    // Water sites carry their latest month's class on the overview map.
    let water_ok = (0..60).any(|_| {
        let (_, body) = http_get_with_cookie(&d, web, "/api/v1/overview");
        let v: Value = serde_json::from_str(&body).unwrap_or_default();
        let n = v["sites"].as_array().map_or(0, |a| {
            a.iter().filter(|s| s["water_class"].is_string()).count()
        });
        n > 0 || {
            std::thread::sleep(Duration::from_secs(1));
            false
        }
    });
    assert!(water_ok, "no water site has a class on the overview");

    d.go(&format!("{base}/#air"));
    d.wait("air page", "document.querySelector('#air-calendar canvas') && document.getElementById('air-annual').rows.length > 5");
    // Station and year comparison: good days by default, then PM2.5 monthly means.
    d.wait("air comparison", "document.querySelector('#air-compare canvas') && document.querySelector('#air-years canvas') && document.getElementById('air-years-title').textContent.includes('vs')");
    d.js("const m = document.getElementById('air-metric'); m.value = 'pm25'; m.onchange(); return 1;");
    d.wait("air PM2.5 comparison", "document.getElementById('air-cmp-title').textContent.includes('PM2.5') && echarts.getInstanceByDom(document.getElementById('air-compare')).getOption().series.some((s) => s.data.some((v) => v != null))");
    // The year is running: its statistics are progress, not a GB 3095 verdict.
    let annual = d.text("#air-annual");
    assert!(
        annual.contains("年度进行中") && !annual.contains("未达标"),
        "air annual: {annual}"
    );
    assert!(d.text("#air-annual-title").contains("年度进行中"));
    assert!(
        annual.contains("PM2.5 年均(截至目前)"),
        "means so far: {annual}"
    );
    std::thread::sleep(Duration::from_millis(800));
    d.screenshot(&shots, "03-air");

    // Real packets from the field: a zero PM2.5 hour from an air station (accepted, the quality
    // engine finds the zero), the same MN with a wrong password and an unregistered MN
    // (refused, counted per device).
    let (st, body) = http_get_with_cookie(&d, web, "/api/v1/devices?per_page=100");
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let (air_mn, air_site) = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["kind"] == "air" && x["packets"].as_i64() > Some(0))
        .map(|x| {
            (
                x["mn"].as_str().unwrap().to_string(),
                x["site"].as_str().unwrap().to_string(),
            )
        })
        .expect("an air station with data");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let zero_hour = now - now.rem_euclid(3600) - 2 * 3600;
    {
        let mut c = TcpStream::connect(("127.0.0.1", hj)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        c.write_all(&upload(
            &air_mn,
            &sim::pw_for(&air_site),
            zero_hour,
            &[("a34004-Avg", "0"), ("a34004-Flag", "N")],
        ))
        .unwrap();
        let mut buf = [0u8; 1024];
        let n = c.read(&mut buf).unwrap();
        assert!(
            String::from_utf8_lossy(&buf[..n]).contains("CN=9014"),
            "the zero hour is acknowledged"
        );
        c.write_all(&upload(
            &air_mn,
            "WRONG1",
            zero_hour,
            &[("a34004-Avg", "1"), ("a34004-Flag", "N")],
        ))
        .unwrap();
        c.write_all(&upload(
            "0000000000000000DEADBEEF",
            "123456",
            zero_hour,
            &[("a34004-Avg", "1"), ("a34004-Flag", "N")],
        ))
        .unwrap();
    }

    d.go(&format!("{base}/#devices"));
    d.wait("device list", "document.getElementById('dev-table') && document.getElementById('dev-table').rows.length === 31");
    // 设备 detail: the refusals by reason (and the unknown MN in the bureau's list).
    d.wait("refusal list", "document.getElementById('dev-refusals') && document.getElementById('dev-refusals').textContent.includes('未登记')");
    // 设备 search (the API's `q`): the station's MN finds exactly it; its site's name too.
    d.type_into("#dev-q", &air_mn);
    d.wait("device search", &format!("document.getElementById('dev-table').rows.length === 2 && document.querySelector('#dev-table tr[data-id=\"{air_mn}\"]')"));
    assert!(
        d.text("#dev-count").starts_with("共 1 台"),
        "{}",
        d.text("#dev-count")
    );
    d.js("const q = document.getElementById('dev-q'); q.value = '没有这个设备'; q.dispatchEvent(new Event('input')); return 1;");
    d.wait(
        "no match",
        "document.getElementById('dev-table').textContent.includes('没有符合条件的设备')",
    );
    d.js("const q = document.getElementById('dev-q'); q.value = ''; q.dispatchEvent(new Event('input')); return 1;");
    d.wait("every device again", "document.getElementById('dev-table').rows.length === 31 && document.getElementById('dev-page').textContent === '第 1 / 1 页'");
    d.click(&format!("#dev-table tr[data-id=\"{air_mn}\"]"));
    d.wait("device detail", "document.getElementById('dev-refused') && document.getElementById('dev-refused').textContent.includes('访问密码 PW 错误') && document.getElementById('dev-deviations')");
    // The detail and the back-fill sit beside the list: on screen without scrolling past it.
    assert_eq!(
        d.js("window.scrollTo(0, 0); const h = window.innerHeight; return ['dev-detail', 'cmd-panel'].every((id) => document.getElementById(id).getBoundingClientRect().top < h) && document.getElementById('cmd-mn').value !== '';"),
        Value::Bool(true),
        "device detail and back-fill visible at the top of the page"
    );
    std::thread::sleep(Duration::from_millis(300));
    d.screenshot(&shots, "04a-device-detail");
    d.wait(
        "online devices",
        "document.querySelector('#dev-table td.on')",
    );
    // Back-fill from an online device: select it, its detail and back-fill follow the row.
    let online_mn = d.js("const tr = document.querySelector('#dev-table td.on').closest('tr'); tr.click(); return tr.dataset.id;");
    let online_mn = online_mn.as_str().unwrap().to_string();
    d.wait("online device selected", &format!("document.getElementById('cmd-mn').value === '{online_mn}' && !document.getElementById('cmd-send').disabled && document.getElementById('dev-detail').textContent.includes('{online_mn}')"));
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
    // The history replay's exceedances came late (补传): the list marks them, and only them.
    let late = list["items"][0]["late"]
        .as_bool()
        .expect("late in the alarm JSON");
    let marked = d.js(&format!(
        "return document.querySelector('#al-table tr[data-id=\"{id}\"]').textContent.includes('补传');"
    ));
    assert_eq!(marked, Value::Bool(late), "alarm {id}: late {late}");
    assert!(
        d.js("return document.querySelectorAll('#al-table .badge.late').length;")
            .as_u64()
            .unwrap_or(0)
            > 0,
        "no alarm of the replayed history is shown as 补传"
    );
    d.click(&format!("#al-table tr[data-id=\"{id}\"]"));
    d.wait("alarm detail", "document.getElementById('al-ack')");
    d.click("#al-ack");
    d.wait("acknowledged", "document.getElementById('al-dispatch')");
    d.click("#al-dispatch");
    d.wait("dispatched", "document.getElementById('al-handle')");
    // Submitting the handling without a cause: the page shows the API's Chinese message, not
    // a status code.
    d.click("#al-handle");
    d.wait(
        "handling refused in Chinese",
        "document.getElementById('al-msg').textContent.includes('处置反馈:请填写') && !/\\d{3}|must/.test(document.getElementById('al-msg').textContent)",
    );
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
    // A running year shows its progress and no verdict; past the target year the target
    // year's value is judged (forest cover 2025 = 47.2 against ≥ 46), the latest beside it.
    let (st, body) = post_in_browser(
        &d,
        "/api/v1/indicators/I03/entries",
        &json!({"year": 2025, "value": 47.2, "source": "县林业局年报"}),
    );
    assert_eq!(st, 201, "{body}");
    d.js("document.getElementById('ind-year').onchange(); return 1;");
    d.wait(
        "forest cover judged on 2025",
        "(document.querySelector('#ind-table tr[data-id=\"I03\"] td.ind-verdict') || {}).textContent === '已达标按2025年'",
    );
    let i06 = d.text("#ind-table tr[data-id=\"I06\"]");
    let progress = d.text("#ind-table tr[data-id=\"I06\"] td.ind-progress");
    assert!(
        progress.contains("截至")
            && progress.contains("优良天数比例")
            && progress.contains("推算全年")
            && progress.contains("天,有效 "),
        "I06 progress: {progress}"
    );
    assert!(
        i06.contains("(进行中)") && !i06.contains("未达标") && !i06.contains("变差"),
        "I06: {i06}"
    );
    // No figure of the running year is judged missed here (3 days cannot decide a year).
    let missed_partial = d.js("return [...document.querySelectorAll('#ind-table tr[data-id]')].filter((tr) => tr.querySelector('td.ind-v.partial') && tr.querySelector('td.ind-verdict').textContent.includes('未达标')).map((tr) => tr.dataset.id);");
    assert_eq!(missed_partial, json!([]));
    std::thread::sleep(Duration::from_millis(300));
    d.screenshot(&shots, "06-plan-indicators");

    // 水: the month × section class grid, drinking-water sources, reservoirs' TLI.
    d.go(&format!("{base}/#water"));
    d.wait("water class grid", "document.querySelector('#wa-grid td.wcell[style]') && document.querySelector('#wa-sources td.wcell[style]')");
    d.wait(
        "water share",
        "/%$/.test(document.getElementById('wa-share').textContent)",
    );
    d.wait(
        "TLI rows",
        "document.getElementById('wa-tli').rows.length > 1",
    );
    d.wait(
        "per-river status",
        "document.querySelector('#wa-rivers tr[data-river] td.wa-river-status .badge')",
    );
    std::thread::sleep(Duration::from_millis(300));
    d.wait("water trend", "document.querySelector('#wa-trend canvas') && echarts.getInstanceByDom(document.getElementById('wa-trend')).getOption().series.some((s) => s.data.some((v) => v != null))");
    std::thread::sleep(Duration::from_millis(300));
    d.screenshot(&shots, "07-water");

    // 污染源: outlets with hours, events and totals (the whole year, whatever the day).
    d.go(&format!("{base}/#sources"));
    d.wait(
        "outlet table",
        "document.querySelector('#so-table tr[data-id]')",
    );
    d.wait(
        "outlet period",
        "document.getElementById('so-note').textContent.length > 0",
    );
    d.js("const m = document.getElementById('so-month'); m.value = ''; m.onchange(); return 1;");
    d.wait("outlet hours", "[...document.querySelectorAll('#so-table tr[data-id] td:nth-child(4)')].some((td) => !td.textContent.startsWith('0 /'))");
    d.wait("outlet detail", "document.getElementById('so-pollutants') && document.getElementById('so-pollutants').rows.length > 1 && document.getElementById('so-events')");
    // Live values: measured and O2-corrected next to the limit, with the data flag in Chinese;
    // transmission and validity rates per enterprise and outlet.
    d.wait("live values", "[...document.querySelectorAll('#so-live td.so-zs')].some((td) => /\\d/.test(td.textContent)) && [...document.querySelectorAll('#so-live td.so-flag')].some((td) => td.textContent.includes('正常'))");
    d.wait("rates", "[...document.querySelectorAll('#so-rates tr.so-rate-outlet')].some((tr) => /\\d+\\.\\d%/.test(tr.cells[4].textContent)) && document.querySelector('#so-rates tr.so-rate-ent')");
    std::thread::sleep(Duration::from_millis(300));
    d.screenshot(&shots, "08-sources");

    // 油烟: fleet figures, the sortable list, the map.
    d.go(&format!("{base}/#fume"));
    d.wait("fume list", "document.getElementById('fu-table') && document.getElementById('fu-table').rows.length > 1");
    d.wait(
        "fume period",
        "document.getElementById('fu-note').textContent.length > 0",
    );
    d.js("const m = document.getElementById('fu-month'); m.value = ''; m.onchange(); return 1;");
    d.wait("restaurants reporting", "[...document.querySelectorAll('#fu-table tr')].slice(1).some((tr) => tr.cells[2].textContent !== '0')");
    d.click("#fu-table th[data-k=\"online_rate\"]");
    d.wait("sorted by online rate", "document.querySelector('#fu-table th[data-k=\"online_rate\"]').textContent.includes('▼') && Number(document.getElementById('fu-table').rows[1].cells[3].textContent) > 0");
    d.wait("fume map", "document.querySelector('#fu-map canvas')");
    std::thread::sleep(Duration::from_millis(500));
    d.screenshot(&shots, "10-fume");

    // 噪声: points with zone, Ld/Ln against limits, compliant days.
    d.go(&format!("{base}/#noise"));
    d.wait("noise points", "[...document.querySelectorAll('#no-table tr[data-id]')].some((tr) => /\\d+\\.\\d%/.test(tr.cells[5].textContent))");
    d.wait("noise chart", "document.querySelector('#no-chart canvas')");
    d.wait(
        "noise by town",
        "[...document.querySelectorAll('#no-towns tr[data-town]')].some((tr) => /%/.test(tr.cells[2].textContent))",
    );
    std::thread::sleep(Duration::from_millis(300));
    d.screenshot(&shots, "11-noise");

    // 数据审核: find the station's PM2.5 hours, the zero hour carries the quality engine's
    // finding; mark a value invalid with a reason, see it in the trail, then unmark it.
    let site = air_site.clone();
    d.go(&format!("{base}/#audit"));
    d.wait("audit page", "document.getElementById('au-site') && document.getElementById('au-site').options.length > 1");
    d.wait(
        "first query done",
        "document.getElementById('au-count').textContent.length > 0",
    );
    d.js(&format!("document.getElementById('au-values').innerHTML = ''; document.getElementById('au-site').value = '{site}'; document.getElementById('au-site').dispatchEvent(new Event('change')); document.getElementById('au-code').value = 'a34004'; const f = document.getElementById('au-from'); f.value = new Date(Date.now() - 5 * 86400e3 + 8 * 3600e3).toISOString().slice(0, 16); return 1;"));
    d.click("#au-find");
    d.wait(
        "values found",
        "document.querySelector('#au-values .au-inv')",
    );
    // The zero hour shows its finding beside the value (the quality observer derives it).
    let zero_row = format!(
        "[...document.querySelectorAll('#au-values tr[data-i]')].find((tr) => tr.cells[0].textContent === '{}')",
        &model::format_beijing(zero_hour)[..16].replace('T', " ")
    );
    let found = (0..60).any(|_| {
        d.click("#au-find");
        std::thread::sleep(Duration::from_millis(500));
        d.js(&format!("const tr = {zero_row}; return !!tr && tr.cells[3].textContent === '0' && tr.querySelector('td.au-findings').textContent.includes('零值');")) == Value::Bool(true)
    });
    assert!(
        found,
        "the zero hour with its 零值 finding: {}",
        d.js("return document.getElementById('au-values').innerText;")
    );
    d.wait(
        "findings list",
        "document.getElementById('au-findings').textContent.includes('零值')",
    );
    d.click("#au-values tr[data-i=\"0\"] .au-inv");
    d.wait(
        "reason required, in Chinese",
        "document.getElementById('au-msg').textContent.includes('必须填写原因') && !/reason|40\\d/.test(document.getElementById('au-msg').textContent)",
    );
    // The pollutant is chosen by name.
    assert_eq!(
        d.js("const o = document.querySelector('#au-code option[value=\"a34004\"]'); return o && o.textContent;"),
        json!("PM2.5")
    );
    d.type_into("#au-reason", "停电恢复后仪器异常");
    // Three quick clicks: the first makes every mark button busy, so one mark is recorded.
    let busy = d.js("const b = document.querySelector('#au-values tr[data-i=\"0\"] .au-inv'); b.click(); const busy = b.disabled && b.textContent === '保存中…' && [...document.querySelectorAll('#au-values button')].every((x) => x.disabled); b.click(); b.click(); return busy;");
    assert_eq!(busy, Value::Bool(true), "busy while the mark saves");
    d.wait(
        "marked in the trail",
        "document.getElementById('au-trail').textContent.includes('停电恢复后仪器异常')",
    );
    d.wait(
        "marked in the list",
        "document.getElementById('au-values').textContent.includes('已标记无效')",
    );
    std::thread::sleep(Duration::from_millis(800));
    let (st, body) = http_get_with_cookie(&d, web, "/api/v1/audit-marks?per_page=100");
    assert_eq!(st, 200, "{body}");
    let trail: Value = serde_json::from_str(&body).unwrap();
    let n = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["reason"] == "停电恢复后仪器异常")
        .count();
    assert_eq!(n, 1, "one mark for three clicks: {trail}");
    std::thread::sleep(Duration::from_millis(300));
    d.screenshot(&shots, "12-audit");
    // Unmark it (the reason is still in the field): the trail says so, the mark is gone.
    d.wait(
        "unmark button",
        "document.querySelector('#au-values .au-unmark')",
    );
    d.js("document.getElementById('au-reason').value = ''; return 1;");
    d.type_into("#au-reason", "复核后确认仪器正常");
    d.click("#au-values .au-unmark");
    d.wait(
        "unmarked in the trail",
        "document.getElementById('au-trail').textContent.includes('撤销标记') && document.getElementById('au-trail').textContent.includes('复核后确认仪器正常')",
    );
    d.wait(
        "no mark left",
        "!document.getElementById('au-values').textContent.includes('已标记无效') && !document.querySelector('#au-values .au-unmark')",
    );
    d.screenshot(&shots, "12a-audit-unmarked");

    // A town official and an enterprise operator: each sees only their scope, and the pages
    // they may not open say so.
    let profile = profile::Profile::dianjiang();
    let fleet = profile.fleet();
    let town_of = |code: &str| {
        fleet
            .iter()
            .find(|x| x.code == code)
            .map(|x| x.town.clone())
    };
    let outlet = fleet
        .iter()
        .filter(|x| x.outlet.is_some())
        .find(|x| {
            fleet
                .iter()
                .any(|w| w.town == x.town && w.kind == profile::SiteKind::SurfaceWater)
        })
        .or_else(|| fleet.iter().find(|x| x.outlet.is_some()))
        .expect("an outlet")
        .clone();
    let town = outlet.town.clone();
    let ent = outlet.outlet.as_ref().unwrap().enterprise.clone();
    for (name, role, scope) in [("zhen", "town", &town), ("qiye", "enterprise", &ent)] {
        let (st, body) = post_in_browser(
            &d,
            "/api/v1/users",
            &json!({"name": name, "display": name, "role": role, "scope": scope, "password": "scoped-pass-123"}),
        );
        assert_eq!(st, 201, "{body}");
    }
    logout(&d);
    login_as(&d, &base, "zhen", "scoped-pass-123");
    let denied = |id: &str| {
        d.js(&format!(
            "return document.getElementById('nav-{id}').classList.contains('denied');"
        ))
    };
    for id in ["noise", "audit"] {
        assert_eq!(denied(id), json!(true), "town: {id} marked 无权限");
    }
    for id in ["water", "sources", "fume", "alarms", "devices", "plan"] {
        assert_eq!(denied(id), json!(false), "town: {id} open");
    }
    d.go(&format!("{base}/#noise"));
    d.wait("no access to 噪声", "document.getElementById('denied') && document.getElementById('denied').textContent.includes('无权查看「噪声」')");
    d.screenshot(&shots, "13-town-denied");
    d.go(&format!("{base}/#sources"));
    d.wait("town outlets", "document.querySelector('#so-table tr[data-id]') && document.getElementById('so-live').rows.length > 1");
    let ids = row_ids(&d, "#so-table tr[data-id]", "id");
    assert!(
        !ids.is_empty()
            && ids
                .iter()
                .all(|x| town_of(x).as_deref() == Some(town.as_str())),
        "town outlets only: {ids:?}"
    );
    let live = row_ids(&d, "#so-live tr.so-live-row", "site");
    assert!(
        live.iter()
            .all(|x| town_of(x).as_deref() == Some(town.as_str())),
        "{live:?}"
    );
    d.screenshot(&shots, "14-town-sources");
    d.go(&format!("{base}/#water"));
    d.wait("town water", "document.querySelector('#wa-grid tr[data-site]') && document.getElementById('wa-share-text').textContent.includes('局内用户')");
    let secs = row_ids(
        &d,
        "#wa-grid tr[data-site], #wa-sources tr[data-site]",
        "site",
    );
    assert!(
        !secs.is_empty()
            && secs
                .iter()
                .all(|x| town_of(x).as_deref() == Some(town.as_str())),
        "town water only: {secs:?}"
    );
    d.screenshot(&shots, "15-town-water");
    d.go(&format!("{base}/#fume"));
    d.wait(
        "town fume",
        "document.getElementById('fu-note').textContent.length > 0",
    );
    logout(&d);
    login_as(&d, &base, "qiye", "scoped-pass-123");
    for id in ["water", "fume", "noise", "audit", "plan"] {
        assert_eq!(denied(id), json!(true), "enterprise: {id} marked 无权限");
    }
    d.go(&format!("{base}/#water"));
    d.wait("no access to 水", "document.getElementById('denied') && document.getElementById('denied').textContent.includes('无权查看「水」')");
    d.go(&format!("{base}/#sources"));
    d.wait("own outlets", "document.querySelector('#so-table tr[data-id]') && document.getElementById('so-live').rows.length > 1");
    let own: Vec<String> = fleet
        .iter()
        .filter(|x| x.outlet.as_ref().is_some_and(|o| o.enterprise == ent))
        .map(|x| x.code.clone())
        .collect();
    let ids = row_ids(&d, "#so-table tr[data-id]", "id");
    assert!(
        !ids.is_empty() && ids.iter().all(|x| own.contains(x)),
        "own outlets only: {ids:?} vs {own:?}"
    );
    let live = row_ids(&d, "#so-live tr.so-live-row", "site");
    assert!(live.iter().all(|x| own.contains(x)), "{live:?}");
    let rates = d.js("return document.getElementById('so-rates').innerText;");
    assert!(!rates.as_str().unwrap().contains("无可查看"), "{rates}");
    std::thread::sleep(Duration::from_millis(300));
    d.screenshot(&shots, "16-enterprise-sources");

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
