//! `qingshan bench intake` — end-to-end intake figures on this machine: a real `qingshan
//! serve` child process on a fresh data folder (fsync on), driven over TCP by clients in this
//! process. Prints packets/s and values/s acknowledged after durable commit, ack latency
//! p50/p99, memory per idle connection and peak memory under a burst, with the store-only
//! commit rate measured in the same run as the baseline.

use std::collections::VecDeque;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use hj212::{Decoder, DecoderConfig, Mode, PacketBuilder};
use model::{Device, DeviceKind, Measurement, Period};
use store::{IntakePacket, SqliteStore, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// End-to-end HJ 212 intake: throughput, ack latency, memory per connection, burst.
    Intake(IntakeArgs),
    /// Engines: a year of hourly data for the county's sites — cold catch-up per engine and
    /// the incremental cost of one new hour.
    Engines(EnginesArgs),
}

#[derive(Args, Clone)]
pub struct IntakeArgs {
    /// Connections for the throughput and burst phases.
    #[arg(long, default_value_t = 200)]
    connections: usize,
    /// Packets per connection in the throughput phase.
    #[arg(long, default_value_t = 1000)]
    packets: usize,
    /// Values per packet (pollutants × Avg/Min/Max/Flag-less fields).
    #[arg(long, default_value_t = 8)]
    values: usize,
    /// Un-acknowledged packets a connection may have in flight.
    #[arg(long, default_value_t = 128)]
    window: usize,
    /// Idle connections for the memory-per-connection phase (0 skips it).
    #[arg(long, default_value_t = 10_000)]
    idle: usize,
    /// Burst phase: packets each connection writes at once, without waiting for acks.
    #[arg(long, default_value_t = 1000)]
    burst: usize,
    /// Also run the throughput phase with `serve --store` on PostgreSQL: a database of its own
    /// is created on this server (e.g. `postgres://postgres@127.0.0.1:5432/postgres`) and
    /// dropped afterwards.
    #[arg(long)]
    pg: Option<String>,
    /// Also run the throughput phase through the NATS JetStream intake bus at this URL:
    /// gateway nodes → stream → one writer node (a stream of its own, deleted afterwards),
    /// into PostgreSQL when --pg is given (a database of its own), else a data folder.
    #[arg(long, value_name = "URL")]
    bus: Option<String>,
    /// Gateway nodes in the bus phase (connections are spread over them).
    #[arg(long, default_value_t = 2)]
    gateways: usize,
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<std::process::ExitCode> {
    match cmd {
        BenchCommand::Intake(a) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(intake(a))?;
            Ok(std::process::ExitCode::SUCCESS)
        }
        BenchCommand::Engines(a) => {
            engines_bench(a)?;
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

fn mn(i: usize) -> String {
    format!("BE0C{i:020}")
}

fn frame(i: usize, k: usize, values: usize) -> Vec<u8> {
    // hour k of device i: distinct keys, so every value is a real insert
    let t = 1_600_000_000 + (k as i64) * 3600;
    let mut b = PacketBuilder::new("31", "2061", "123456", mn(i))
        .qn(format!("20260101{k:09}"))
        .flag(5)
        .item("DataTime", model::format_hj212_time(t));
    let codes = [
        "a21026", "a21002", "a34013", "a19001", "a00000", "a01012", "a01011", "a01014",
    ];
    let fields = ["Avg", "Min", "Max", "ZsAvg"];
    let mut n = 0;
    'outer: for c in codes {
        let mut g = Vec::new();
        for f in fields {
            if n == values {
                if !g.is_empty() {
                    b = b.group(g);
                }
                break 'outer;
            }
            g.push((
                format!("{c}-{f}"),
                format!("{}.{}", 10 + (k + n) % 90, n % 10),
            ));
            n += 1;
        }
        g.push((format!("{c}-Flag"), "N".to_string()));
        b = b.group(g);
    }
    hj212::encode(&b.build().expect("bench packet"))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

struct Server {
    child: Child,
    port: u16,
}

fn register(data: &Path, store: Option<&str>, devices: usize) -> anyhow::Result<()> {
    let mut s = store::StoreConfig::new(store, data)?.open()?;
    for i in 0..devices {
        s.put_device(&Device::new(
            &mn(i),
            "123456",
            &format!("BENCH-{i}"),
            DeviceKind::FlueGas,
        ))?;
    }
    Ok(())
}

/// Whether `serve`'s HTTP server answers (it starts once everything else is set up).
async fn http_answers(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await.is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await,
        Ok(Ok(n)) if n > 0
    )
}

impl Server {
    /// A `serve` node on the data folder (or PostgreSQL at `store`) with `extra` arguments,
    /// ready once its HTTP server answers.
    async fn node(data: &Path, store: Option<&str>, extra: &[String]) -> anyhow::Result<Server> {
        let port = free_port()?;
        let http = free_port()?;
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["serve", "--data"]).arg(data);
        if let Some(url) = store {
            cmd.args(["--store", url]);
        }
        let mut child = cmd
            .args(["--hj212", &format!("127.0.0.1:{port}")])
            .args(["--http", &format!("127.0.0.1:{http}")])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(120);
        while !http_answers(http).await {
            anyhow::ensure!(child.try_wait()?.is_none(), "serve node exited at start");
            anyhow::ensure!(Instant::now() < deadline, "serve node did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Server { child, port })
    }

    async fn start(data: &Path, devices: usize) -> anyhow::Result<Server> {
        Self::start_on(data, None, devices).await
    }

    /// `serve` on the data folder, or on PostgreSQL at `store` when given.
    async fn start_on(data: &Path, store: Option<&str>, devices: usize) -> anyhow::Result<Server> {
        {
            let mut s = store::StoreConfig::new(store, data)?.open()?;
            for i in 0..devices {
                s.put_device(&Device::new(
                    &mn(i),
                    "123456",
                    &format!("BENCH-{i}"),
                    DeviceKind::FlueGas,
                ))?;
            }
        }
        let port = free_port()?;
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["serve", "--data"]).arg(data);
        if let Some(url) = store {
            cmd.args(["--store", url]);
        }
        let child = cmd
            .args(["--hj212", &format!("127.0.0.1:{port}")])
            .args(["--http", &format!("127.0.0.1:{}", free_port()?)])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            anyhow::ensure!(Instant::now() < deadline, "server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Server { child, port })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// The throughput phase against a server: every connection pipelines its packets with a
/// window. Returns packets/s and the sorted ack latencies (µs).
async fn throughput(port: u16, a: &IntakeArgs) -> anyhow::Result<(f64, Vec<u32>)> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..a.connections {
        tasks.push(tokio::spawn(drive(
            port, i, 0, a.packets, a.values, a.window,
        )));
    }
    let mut lat = Vec::with_capacity(a.connections * a.packets);
    for t in tasks {
        lat.extend(t.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    Ok(((a.connections * a.packets) as f64 / secs, lat))
}

/// Sends `packets` frames of device `i` keeping at most `window` un-acked; returns the ack
/// latencies (µs). With `window == usize::MAX` it writes everything at once (burst).
async fn drive(
    port: u16,
    i: usize,
    first: usize,
    packets: usize,
    values: usize,
    window: usize,
) -> anyhow::Result<Vec<u32>> {
    let s = TcpStream::connect(("127.0.0.1", port)).await?;
    s.set_nodelay(true)?;
    let (mut rd, mut wr) = s.into_split();
    let sem = Arc::new(tokio::sync::Semaphore::new(window.min(1 << 20)));
    let sent_at: Arc<std::sync::Mutex<VecDeque<Instant>>> = Arc::default();
    let (sem2, sent2) = (sem.clone(), sent_at.clone());
    let writer = tokio::spawn(async move {
        let mut buf = Vec::with_capacity(64 * 1024);
        for k in first..first + packets {
            let permit = sem2.acquire().await.expect("open");
            permit.forget();
            buf.extend_from_slice(&frame(i, k, values));
            sent2.lock().unwrap().push_back(Instant::now());
            if buf.len() > 32 * 1024 || sem2.available_permits() == 0 || k + 1 == first + packets {
                wr.write_all(&buf).await?;
                buf.clear();
            }
        }
        anyhow::Ok(wr)
    });
    let mut dec = Decoder::new(DecoderConfig::new(Mode::Strict));
    let mut lat = Vec::with_capacity(packets);
    let mut buf = vec![0u8; 32 * 1024];
    while lat.len() < packets {
        let n = rd.read(&mut buf).await?;
        anyhow::ensure!(n > 0, "connection {i} closed after {} acks", lat.len());
        dec.feed(&buf[..n]);
        while let Some(f) = dec.next_frame() {
            let f = f.map_err(|e| anyhow::anyhow!("bad ack frame: {}", e.detail))?;
            if f.packet.cn() == "9014" {
                let t = sent_at
                    .lock()
                    .unwrap()
                    .pop_front()
                    .expect("ack for a sent packet");
                lat.push(t.elapsed().as_micros() as u32);
                sem.add_permits(1);
            }
        }
    }
    let _wr = writer.await??;
    Ok(lat)
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx] as f64 / 1000.0
}

/// Baseline: the store alone committing the same packets in batches of the writer's maximum
/// size (8,192), no network, no decoding.
fn store_baseline(dir: &Path, packets: usize, values: usize) -> anyhow::Result<f64> {
    let mut s = SqliteStore::open(dir)?;
    let started = Instant::now();
    let mut batch = Vec::with_capacity(8192);
    for k in 0..packets {
        let raw = frame(k % 64, k, values);
        let vals = (0..values)
            .map(|n| Measurement {
                site: format!("BASE-{}", k % 64),
                code: format!("a2102{}", n % 8),
                field: "Avg".into(),
                period: Period::Hour,
                time: 1_600_000_000 + k as i64 * 3600,
                value: 1.5,
                text: "1.5".into(),
                flag: Some("N".into()),
                eflag: None,
                mn: mn(k % 64),
            })
            .collect();
        batch.push(IntakePacket {
            received_ms: 0,
            mn: mn(k % 64),
            cn: "2061".into(),
            qn: None,
            peer: "bench".into(),
            raw,
            values: vals,
            deviations: vec![],
            answer: None,
            bus_id: None,
        });
        if batch.len() == 8192 {
            s.commit(&batch)?;
            batch.clear();
        }
    }
    s.commit(&batch)?;
    Ok(packets as f64 / started.elapsed().as_secs_f64())
}

async fn intake(a: IntakeArgs) -> anyhow::Result<()> {
    let tmp = std::env::temp_dir().join(format!("qingshan-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let total = a.connections * a.packets;
    let base_dir = tmp.join("baseline");
    let baseline = tokio::task::spawn_blocking({
        let (p, v) = (total.min(200_000), a.values);
        move || store_baseline(&base_dir, p, v)
    })
    .await??;
    println!(
        "baseline  store-only commit (same packets, no network): {:.0} packets/s, {:.0} values/s",
        baseline,
        baseline * a.values as f64
    );

    let data = tmp.join("data");
    let server = Server::start(&data, a.connections.max(a.idle)).await?;
    let pid = server.child.id();
    let rss_start = rss_kib(pid, "VmRSS:");

    // Throughput: every connection pipelines its packets with a window.
    let (pps, lat) = throughput(server.port, &a).await?;
    println!(
        "intake    {} connections × {} packets × {} values: {:.0} packets/s, {:.0} values/s acked after fsync'd commit ({:.2}× the store-only baseline); ack latency p50 {:.1} ms, p99 {:.1} ms with {} in flight per connection",
        a.connections, a.packets, a.values, pps, pps * a.values as f64, pps / baseline, pct(&lat, 0.5), pct(&lat, 0.99), a.window
    );
    if let Some(admin) = &a.pg {
        // The same phase with `serve --store` on PostgreSQL (a database of its own).
        let db = tokio::task::spawn_blocking({
            let admin = admin.clone();
            move || store::pg::TempDb::on_server(&admin)
        })
        .await??;
        let pg_server =
            Server::start_on(&tmp.join("pg-data"), Some(db.url()), a.connections).await?;
        let (pg_pps, lat) = throughput(pg_server.port, &a).await?;
        drop(pg_server);
        println!(
            "postgres  {} connections × {} packets × {} values: {:.0} packets/s, {:.0} values/s acked after PostgreSQL COMMIT (synchronous_commit on) ({:.2}× embedded SQLite in this run); ack latency p50 {:.1} ms, p99 {:.1} ms",
            a.connections, a.packets, a.values, pg_pps, pg_pps * a.values as f64, pg_pps / pps, pct(&lat, 0.5), pct(&lat, 0.99)
        );
        tokio::task::spawn_blocking(move || drop(db)).await?;
    }
    if let Some(url) = &a.bus {
        bus_phase(&a, url, &tmp, pps).await?;
    }

    // Lock-step: like a real data logger, each device sends its next packet only after the
    // 9014 of the previous one; the latency a device sees at this load.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..a.connections {
        tasks.push(tokio::spawn(drive(
            server.port,
            i,
            1_000_000,
            100,
            a.values,
            1,
        )));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    println!(
        "lockstep  {} connections × 100 packets, one in flight each (as data loggers do): {:.0} packets/s; ack latency p50 {:.1} ms, p99 {:.1} ms",
        a.connections, lat.len() as f64 / secs, pct(&lat, 0.5), pct(&lat, 0.99)
    );

    // Idle connections: each authenticates with one packet, then stays open.
    if a.idle > 0 {
        let before = rss_kib(pid, "VmRSS:");
        let mut conns = Vec::with_capacity(a.idle);
        let mut dec = Decoder::new(DecoderConfig::new(Mode::Strict));
        for i in 0..a.idle {
            let mut s = TcpStream::connect(("127.0.0.1", server.port)).await?;
            s.write_all(&frame(i, 1_500_000, 1)).await?;
            conns.push(s);
        }
        let mut buf = [0u8; 512];
        for s in conns.iter_mut() {
            // wait for the ack so the session is fully set up
            loop {
                let n = s.read(&mut buf).await?;
                anyhow::ensure!(n > 0, "idle connection closed");
                dec.feed(&buf[..n]);
                if dec.next_frame().is_some() {
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = rss_kib(pid, "VmRSS:");
        println!(
            "idle      {} connections open: server RSS {} → {} KiB, {:.1} KiB per idle connection",
            a.idle,
            before,
            after,
            (after.saturating_sub(before)) as f64 / a.idle as f64
        );
        drop(conns);
    }

    // Burst: every connection writes burst× its share at once, without waiting for acks.
    let hwm_before = rss_kib(pid, "VmHWM:");
    let started = Instant::now();
    let per = a.burst;
    let mut tasks = Vec::new();
    for i in 0..a.connections {
        tasks.push(tokio::spawn(drive(
            server.port,
            i,
            2_000_000,
            per,
            a.values,
            usize::MAX,
        )));
    }
    let mut acked = 0usize;
    for t in tasks {
        acked += t.await??.len();
    }
    let secs = started.elapsed().as_secs_f64();
    let hwm = rss_kib(pid, "VmHWM:");
    println!(
        "burst     {} connections each wrote {} packets at once: {} of {} acked (loss {}), {:.0} packets/s; server peak RSS {} KiB (before the burst {} KiB, at start {} KiB)",
        a.connections, per, acked, a.connections * per, a.connections * per - acked, acked as f64 / secs, hwm, hwm_before, rss_start
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

/// The throughput phase again, through `--gateways` gateway nodes → NATS JetStream → one
/// writer node: packets/s acknowledged (9014 on the stream's PubAck) and, once the writer has
/// drained the stream, packets/s committed end to end.
async fn bus_phase(
    a: &IntakeArgs,
    url: &str,
    tmp: &Path,
    in_process_pps: f64,
) -> anyhow::Result<()> {
    let data = tmp.join("bus-data");
    // into PostgreSQL with --pg (a database of its own), else a data folder
    let db = match &a.pg {
        Some(admin) => Some(
            tokio::task::spawn_blocking({
                let admin = admin.clone();
                move || store::pg::TempDb::on_server(&admin)
            })
            .await??,
        ),
        None => None,
    };
    let store_url = db.as_ref().map(|d| d.url().to_string());
    let store_url = store_url.as_deref();
    register(&data, store_url, a.connections)?;
    let tag = format!("{}_{}", std::process::id(), crate::engines::now_ms());
    let names = [
        "--bus".to_string(),
        url.to_string(),
        "--bus-stream".into(),
        format!("QSBENCH_{tag}"),
        "--bus-subject".into(),
        format!("qsbench.{tag}"),
        "--bus-consumer".into(),
        format!("qsbench_{tag}"),
    ];
    let with = |more: &[&str]| -> Vec<String> {
        names
            .iter()
            .cloned()
            .chain(more.iter().map(|s| s.to_string()))
            .collect()
    };
    let mut cfg = ingest::bus::BusConfig::new(url, "bench");
    cfg.stream = format!("QSBENCH_{tag}");
    cfg.subject = format!("qsbench.{tag}");
    let bus = ingest::bus::Bus::connect(cfg, Arc::default()).await?;
    let result = async {
        let writer = Server::node(&data, store_url, &with(&["--role", "writer"])).await?;
        let mut gateways = Vec::new();
        for g in 0..a.gateways.max(1) {
            let id = format!("g{g}");
            gateways.push(Server::node(
                    &data,
                    store_url,
                    &with(&["--role", "gateway", "--gateway-id", &id]),
                ).await?);
        }
        let total = a.connections * a.packets;
        let started = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..a.connections {
            let port = gateways[i % gateways.len()].port;
            tasks.push(tokio::spawn(drive(port, i, 3_000_000, a.packets, a.values, a.window)));
        }
        let mut lat = Vec::with_capacity(total);
        for t in tasks {
            lat.extend(t.await??);
        }
        let acked_secs = started.elapsed().as_secs_f64();
        let stream = bus.jetstream().get_stream(&bus.config().stream).await?;
        loop {
            let left = stream.get_info().await?.state.messages;
            if left == 0 {
                break;
            }
            anyhow::ensure!(started.elapsed() < Duration::from_secs(1800), "the writer did not drain the stream");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let committed_secs = started.elapsed().as_secs_f64();
        lat.sort_unstable();
        let pps = total as f64 / acked_secs;
        let cps = total as f64 / committed_secs;
        println!(
            "bus       {} gateway nodes → NATS JetStream → 1 writer node → {}, {} connections × {} packets × {} values: {:.0} packets/s, {:.0} values/s acked on the stream's PubAck ({:.2}× in-process); ack latency p50 {:.1} ms, p99 {:.1} ms; committed by the writer end to end: {:.0} packets/s, {:.0} values/s",
            gateways.len(), if store_url.is_some() { "PostgreSQL" } else { "SQLite" }, a.connections, a.packets, a.values, pps, pps * a.values as f64, pps / in_process_pps, pct(&lat, 0.5), pct(&lat, 0.99), cps, cps * a.values as f64
        );
        drop(gateways);
        drop(writer);
        anyhow::Ok(())
    }
    .await;
    let _ = bus.jetstream().delete_stream(&bus.config().stream).await;
    if let Some(db) = db {
        tokio::task::spawn_blocking(move || drop(db)).await?;
    }
    result
}

// ------------------------------------------------------------------ bench engines

/// `qingshan bench engines`: a temp store filled directly (no network) with a year of hourly
/// data for every monitoring site of the county profile except the restaurants (Dianjiang: 3 air
/// stations, 5 sections, 19 drinking-water sources, 6 noise points, 14 outlets = 47 sites,
/// ≈ 10 codes each, values from the simulator's models); then each engine's cold catch-up
/// (what `serve` does at start on a folder it has never derived) and the incremental cost of
/// one new hour for all sites (commit + each engine's commit observer, as in `serve`).
#[derive(Args, Clone)]
pub struct EnginesArgs {
    /// Days of hourly history before the new hour.
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// New hours to time one by one (the figure is their median).
    #[arg(long, default_value_t = 5)]
    hours: usize,
    /// County profile (built in: dianjiang) or a folder holding one.
    #[arg(long, default_value = "dianjiang")]
    profile: String,
    /// Keep the filled data folder here instead of a temp folder (must not exist).
    #[arg(long)]
    keep: Option<std::path::PathBuf>,
}

/// The measurements of one simulated device for the hour starting at `t`: `Avg` of every
/// channel (`ZsAvg` too for flue-gas pollutants, `Leq`-`Data` for noise), with the hour's flag.
fn engine_bench_hour(
    dev: &sim::SimDevice,
    chans: &[sim::models::Channel],
    m: &sim::models::Model,
    t: i64,
) -> Vec<Measurement> {
    use sim::models::Ch;
    let flag = m.flag(dev, t).to_string();
    let o2 = chans
        .iter()
        .find(|c| c.ch == Ch::O2)
        .map(|c| m.hour_mean(dev, c, t));
    let factor = o2
        .map(|o| ((21.0 - o) / (21.0 - dev.o2_ref)).clamp(0.05, 5.0))
        .unwrap_or(1.0);
    let mv = |code: &str, field: &str, v: f64, d: usize| {
        let text = format!("{v:.d$}");
        Measurement {
            site: dev.device.site.clone(),
            code: code.to_string(),
            field: field.to_string(),
            period: Period::Hour,
            time: t,
            value: text.parse().unwrap_or(v),
            text,
            flag: (code != "Leq").then(|| flag.clone()),
            eflag: None,
            mn: dev.device.mn.clone(),
        }
    };
    let mut out = Vec::with_capacity(chans.len() + 4);
    for c in chans {
        let v = m.hour_mean(dev, c, t);
        match c.ch {
            Ch::Leq => out.push(mv("Leq", "Data", v, 1)),
            Ch::Gas(_) => {
                out.push(mv(&c.code, "Avg", v * factor, c.decimals));
                out.push(mv(&c.code, "ZsAvg", v, c.decimals));
            }
            _ => out.push(mv(&c.code, "Avg", v, c.decimals)),
        }
    }
    out
}

fn engine_bench_packets(
    fleet: &[(sim::SimDevice, Vec<sim::models::Channel>)],
    m: &sim::models::Model,
    t: i64,
    received_ms: i64,
) -> Vec<IntakePacket> {
    fleet
        .iter()
        .map(|(dev, chans)| IntakePacket {
            received_ms,
            mn: dev.device.mn.clone(),
            cn: "2061".into(),
            qn: None,
            peer: "bench".into(),
            raw: Vec::new(),
            values: engine_bench_hour(dev, chans, m, t),
            deviations: vec![],
            answer: None,
            bus_id: None,
        })
        .collect()
}

fn engines_bench(a: EnginesArgs) -> anyhow::Result<()> {
    use engine::alarms::AlarmConfig;
    use engine::{AlarmEngine, QualityEngine, SourcesEngine, SourcesPolicy};
    use profile::SiteKind;

    let profile = crate::serve::load_profile(&a.profile)?;
    let kinds: Vec<SiteKind> = SiteKind::ALL
        .into_iter()
        .filter(|k| *k != SiteKind::Fume)
        .collect();
    let fleet: Vec<(sim::SimDevice, Vec<sim::models::Channel>)> =
        sim::fleet_of_kinds(&profile, None, &kinds)
            .into_iter()
            .map(|d| {
                let c = sim::models::channels(&d, sim::FUME_CODE);
                (d, c)
            })
            .collect();
    let model = sim::models::Model { seed: 1 };
    let tmp = tempfile_dir()?;
    let dir = a.keep.clone().unwrap_or_else(|| tmp.join("data"));
    anyhow::ensure!(!dir.exists(), "{} already exists", dir.display());
    let opts = store::SqliteOptions {
        fsync: false,
        ..Default::default()
    };
    let open = || SqliteStore::open_with(&dir, &opts);
    let mut s = open()?;
    for (d, _) in &fleet {
        s.put_device(&d.device)?;
    }
    let now_ms = crate::engines::now_ms();
    let h_end = (now_ms / 1000).div_euclid(3600) * 3600;
    let h0 = h_end - a.days * 86_400;
    eprintln!(
        "bench engines: filling {} sites × {} h ({} days) into {}",
        fleet.len(),
        (h_end - h0) / 3600,
        a.days,
        dir.display()
    );
    let started = Instant::now();
    let mut values = 0usize;
    let mut batch = Vec::new();
    let mut t = h0;
    while t < h_end {
        let b = engine_bench_packets(&fleet, &model, t, (t + 3600 + 300) * 1000);
        values += b.iter().map(|p| p.values.len()).sum::<usize>();
        batch.extend(b);
        if batch.len() >= 24 * fleet.len() {
            s.commit(&batch)?;
            batch.clear();
        }
        t += 3600;
    }
    s.commit(&batch)?;
    let fill = started.elapsed().as_secs_f64();
    let per_hour = values / ((h_end - h0) / 3600).max(1) as usize;
    eprintln!(
        "filled {values} values in {fill:.1} s ({:.0} values/s committed)",
        values as f64 / fill
    );

    let air = crate::report::air_engine(&profile);
    let water = crate::report::water_engine(&profile)?;
    let noise = crate::report::noise_engine(&profile)?;
    let quality = QualityEngine::default();
    let sources = SourcesEngine::from_profile(
        &profile,
        &standards::emissions::LimitLibrary::national(),
        SourcesPolicy::default(),
        engine::fume::FumePolicy::default(),
    );
    let alarms = AlarmEngine::new(AlarmConfig::from_profile(&profile))?;

    // Cold: each engine catches up on the whole year (no watermark yet).
    let mut cold: Vec<(&str, f64)> = Vec::new();
    let mut time = |name: &'static str, f: &mut dyn FnMut() -> anyhow::Result<()>| {
        let t = Instant::now();
        f()?;
        cold.push((name, t.elapsed().as_secs_f64()));
        anyhow::Ok(())
    };
    time("air", &mut || Ok(air.catch_up(&mut s).map(|_| ())?))?;
    time("water", &mut || Ok(water.catch_up(&mut s).map(|_| ())?))?;
    time("noise", &mut || Ok(noise.catch_up(&mut s).map(|_| ())?))?;
    time("quality", &mut || {
        Ok(quality.catch_up(&mut s).map(|_| ())?)
    })?;
    time("sources", &mut || {
        Ok(sources.catch_up(&mut s).map(|_| ())?)
    })?;
    time("alarms", &mut || {
        Ok(alarms.catch_up(&mut s, now_ms).map(|_| ())?)
    })?;

    // Incremental: one new hour for every site, committed, then each engine's observer (what
    // the writer's derive thread runs in `serve`), timed separately.
    let names = ["air", "water", "noise", "quality", "sources", "alarms"];
    let mut observers: Vec<ingest::CommitObserver> = vec![
        air.observer(Box::new(open()?)),
        water.observer(Box::new(open()?)),
        noise.observer(Box::new(open()?)),
        quality.observer(Box::new(open()?)),
        sources.observer(Box::new(open()?)),
        alarms.observer(Box::new(open()?)),
    ];
    let mut inc: Vec<Vec<f64>> = vec![Vec::new(); names.len() + 1];
    let mut new_values = 0;
    for k in 0..a.hours.max(1) {
        let t = h_end + k as i64 * 3600;
        let b = engine_bench_packets(&fleet, &model, t, crate::engines::now_ms());
        new_values = b.iter().map(|p| p.values.len()).sum();
        let t0 = Instant::now();
        s.commit(&b)?;
        inc[0].push(t0.elapsed().as_secs_f64());
        for (i, o) in observers.iter_mut().enumerate() {
            let t0 = Instant::now();
            o(&b);
            inc[i + 1].push(t0.elapsed().as_secs_f64());
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let cold_total: f64 = cold.iter().map(|c| c.1).sum();
    println!(
        "bench engines: {} sites, {} days of hourly data = {values} values ({per_hour} a hour)",
        fleet.len(),
        a.days
    );
    println!("cold (catch-up from nothing):");
    for (n, secs) in &cold {
        println!(
            "  {n:<8} {:>9.0} ms  {:>10.0} values/s",
            secs * 1000.0,
            values as f64 / secs
        );
    }
    println!(
        "  {:<8} {:>9.0} ms  {:>10.0} values/s",
        "all",
        cold_total * 1000.0,
        values as f64 / cold_total
    );
    println!(
        "incremental, one new hour of all {} sites ({new_values} values), median of {}:",
        fleet.len(),
        a.hours.max(1)
    );
    let mut inc_total = 0.0;
    let mut json = serde_json::Map::new();
    for (i, n) in std::iter::once("commit").chain(names).enumerate() {
        let m = median(&mut inc[i]);
        inc_total += m;
        println!("  {n:<8} {:>9.2} ms", m * 1000.0);
        json.insert(format!("incremental_{n}_ms"), (m * 1000.0).into());
    }
    println!("  {:<8} {:>9.2} ms", "all", inc_total * 1000.0);
    for (n, secs) in &cold {
        json.insert(format!("cold_{n}_ms"), (secs * 1000.0).into());
    }
    json.insert("sites".into(), fleet.len().into());
    json.insert("days".into(), a.days.into());
    json.insert("values".into(), values.into());
    json.insert("cold_all_ms".into(), (cold_total * 1000.0).into());
    json.insert(
        "cold_values_per_s".into(),
        (values as f64 / cold_total).into(),
    );
    json.insert("incremental_all_ms".into(), (inc_total * 1000.0).into());
    json.insert("fill_s".into(), fill.into());
    println!("{}", serde_json::Value::Object(json));
    drop(observers);
    drop(s);
    let _ = std::fs::remove_dir_all(&tmp); // the data, unless --keep put it elsewhere
    Ok(())
}

/// A fresh folder under the system temp dir (the CLI has no tempfile dependency).
fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let p = std::env::temp_dir().join(format!(
        "qingshan-bench-engines-{}-{}",
        std::process::id(),
        crate::engines::now_ms()
    ));
    std::fs::create_dir_all(&p)?;
    Ok(p)
}
