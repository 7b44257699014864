//! `qingshan simulate` — a fleet of simulated HJ 212 data loggers (crates/sim): the README
//! demo and the benchmark's load generator. Prints one JSON summary line on stdout and a
//! human line on stderr.

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use sim::{SimConfig, Stats};

fn duration(s: &str) -> Result<Duration, String> {
    sim::parse_duration(s)
}

fn site_kind(s: &str) -> Result<profile::SiteKind, String> {
    profile::SiteKind::ALL
        .into_iter()
        .find(|k| k.as_str() == s.trim())
        .ok_or_else(|| {
            let all: Vec<&str> = profile::SiteKind::ALL.iter().map(|k| k.as_str()).collect();
            format!("unknown kind {s:?}: expected one of {}", all.join(", "))
        })
}

#[derive(Args)]
pub struct SimulateArgs {
    /// Address of the platform's HJ 212 gateway.
    #[arg(long, default_value = "127.0.0.1:9212")]
    pub to: String,
    /// Publish over MQTT instead (mqtt://[user[:password]@]host[:port]): each device's frames
    /// go to <prefix>/<MN>/up at QoS 1 and the platform's answers come back on
    /// <prefix>/<MN>/down, as `serve --mqtt` expects by default. --to is then not used.
    #[arg(long, value_name = "URL")]
    pub mqtt: Option<String>,
    /// Topic prefix for --mqtt.
    #[arg(long, default_value = "hj212", requires = "mqtt")]
    pub mqtt_prefix: String,
    /// How many devices of the fleet (kinds taken in turn); default: the whole fleet.
    #[arg(long)]
    pub devices: Option<usize>,
    /// Only these kinds of site, comma-separated (air, surface_water, drinking_water, noise,
    /// flue_gas, wastewater, fume), still taken in turn; default: every kind.
    #[arg(long, value_delimiter = ',', value_parser = site_kind)]
    pub kinds: Vec<profile::SiteKind>,
    /// Live real-time packets per second over the whole fleet (default: each device every
    /// 30 s, or the RtdInterval the platform sets).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Bound the whole run, e.g. 60s, 10m (default: until Ctrl-C, or until the history is
    /// acknowledged with --no-live).
    #[arg(long, value_parser = duration)]
    pub duration: Option<Duration>,
    /// Replay hour (2061) and day (2031) data for this much past time first, e.g. 30d, 365d;
    /// then each device goes live (unless --no-live).
    #[arg(long, value_parser = duration)]
    pub history: Option<Duration>,
    /// Replay the history only: end once it is acknowledged instead of going live.
    #[arg(long, requires = "history")]
    pub no_live: bool,
    /// Write without waiting for acks (history) / fire all devices at the same instants (live).
    #[arg(long)]
    pub burst: bool,
    /// Seed of the value models (same seed, same values).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Register the simulated devices in the data folder first.
    #[arg(long)]
    pub register: bool,
    #[command(flatten)]
    pub db: crate::storeargs::StoreArgs,
    /// County profile (built in: dianjiang) or a folder holding one.
    #[arg(long, default_value = "dianjiang")]
    pub profile: String,
    /// Un-acknowledged packets per connection in history mode. The whole fleet keeps
    /// devices × window uploads in flight: at 64, 1,404 devices had 90,000 waiting, more than
    /// a small server commits within the 10 s ack timeout, so they were resent for nothing.
    #[arg(long, default_value_t = 16)]
    pub window: usize,
    /// Pollutant code of the restaurant fume concentration (the Std has none).
    #[arg(long, default_value = sim::FUME_CODE)]
    pub fume_code: String,
    /// Keep restaurants online at night (they disconnect 22:00–10:00 otherwise).
    #[arg(long)]
    pub fume_always_open: bool,
    /// Resend an upload not acknowledged within this time (same QN).
    #[arg(long, value_parser = duration, default_value = "10s")]
    pub ack_timeout: Duration,
    /// Resends per upload before it counts as unacknowledged.
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Print a progress line on stderr this often (0 = never).
    #[arg(long, value_parser = duration, default_value = "10s")]
    pub progress: Duration,
}

fn resolve(to: &str) -> anyhow::Result<SocketAddr> {
    to.to_socket_addrs()
        .with_context(|| format!("--to {to}"))?
        .next()
        .ok_or_else(|| anyhow::anyhow!("--to {to}: no address"))
}

pub fn run(a: SimulateArgs) -> anyhow::Result<ExitCode> {
    let profile = crate::serve::load_profile(&a.profile)?;
    let kinds = if a.kinds.is_empty() {
        profile::SiteKind::ALL.to_vec()
    } else {
        a.kinds.clone()
    };
    let fleet = sim::fleet_of_kinds(&profile, a.devices, &kinds);
    if fleet.is_empty() {
        anyhow::bail!("the profile has no sites of the kinds asked for to simulate");
    }
    if a.register {
        let mut store = a.db.open()?;
        for d in &fleet {
            store
                .put_device(&d.device)
                .with_context(|| format!("registering {}", d.device.mn))?;
        }
        eprintln!(
            "registered {} simulated devices in {}",
            fleet.len(),
            a.db.describe()
        );
        // A running server reloads its registry for an unknown MN at most once a second;
        // give it that second so the first packets are not refused (they would be resent
        // after --ack-timeout, but the demo should not stall).
        std::thread::sleep(Duration::from_millis(1100));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let to = match &a.mqtt {
        Some(url) => {
            let addr = rt.block_on(crate::mqtt_bridge::start(url, &a.mqtt_prefix))?;
            eprintln!(
                "simulate: publishing over MQTT to {}/<MN>/up, answers on {}/<MN>/down",
                a.mqtt_prefix, a.mqtt_prefix
            );
            addr
        }
        None => resolve(&a.to)?,
    };
    let mut cfg = SimConfig::new(to);
    cfg.rate = a.rate;
    cfg.duration = a.duration;
    cfg.history = a.history;
    cfg.live_after_history = !a.no_live;
    cfg.burst = a.burst;
    cfg.seed = a.seed;
    cfg.window = a.window.max(1);
    cfg.fume_code = a.fume_code.clone();
    cfg.fume_always_open = a.fume_always_open;
    cfg.ack_timeout = a.ack_timeout;
    cfg.retries = a.retries;
    let summary = rt.block_on(async move {
        let stats = Arc::new(Stats::default());
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = stop_tx.send(true);
            }
        });
        if a.history.is_some() {
            // Say when the replay is over: the demo's figures are complete from then on
            // (once the engines derived them), and the fleet keeps reporting live.
            let s = stats.clone();
            let (devices, live) = (fleet.len() as u64, !a.no_live);
            tokio::spawn(async move {
                let start = Instant::now();
                while s.history_done.load(Relaxed) < devices {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                eprintln!(
                    "simulate: history acknowledged in {:.0}s ({} packets, {} resent){}",
                    start.elapsed().as_secs_f64(),
                    s.acked.load(Relaxed),
                    s.resent.load(Relaxed),
                    if live {
                        "; the fleet is live now (Ctrl-C to stop)"
                    } else {
                        ""
                    }
                );
            });
        }
        if !a.progress.is_zero() {
            let s = stats.clone();
            let every = a.progress;
            tokio::spawn(async move {
                let start = Instant::now();
                loop {
                    tokio::time::sleep(every).await;
                    eprintln!(
                        "simulate: {:.0}s sent {} acked {} values {} connections {}",
                        start.elapsed().as_secs_f64(),
                        s.sent.load(Relaxed),
                        s.acked.load(Relaxed),
                        s.values.load(Relaxed),
                        s.connections.load(Relaxed)
                    );
                }
            });
        }
        sim::run(cfg, fleet, stats, stop_rx).await
    });
    rt.shutdown_timeout(Duration::from_millis(100));
    println!("{}", serde_json::to_string(&summary)?);
    eprintln!(
        "simulate: {} devices, {} connections: sent {} packets ({} values), acked {}, unacked {} in {:.1}s = {:.0} packets/s; ack p50 {:.2} ms, p99 {:.2} ms",
        summary.devices,
        summary.connections,
        summary.sent,
        summary.values,
        summary.acked,
        summary.unacked,
        summary.elapsed_s,
        summary.packets_per_s,
        summary.ack_p50_ms,
        summary.ack_p99_ms
    );
    Ok(if summary.unacked == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
