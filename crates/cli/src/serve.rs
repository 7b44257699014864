//! `qingshan serve` — the platform's main job: the HJ 212 gateway, the store writer and the
//! HTTP API in one process, on the embedded store in `--data`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use ingest::{spawn_writer, Gateway, GatewayConfig, Metrics, Registry, WriterConfig};
use store::Store;

#[derive(Args)]
pub struct ServeArgs {
    /// The embedded store's data folder (created if missing), or `--store postgres://…`.
    #[command(flatten)]
    pub db: crate::storeargs::StoreArgs,
    /// Address the HJ 212 TCP gateway listens on.
    #[arg(long, default_value = "0.0.0.0:9212")]
    pub hj212: SocketAddr,
    /// Address of the HTTP API and web UI.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// County profile (built in: dianjiang) or a folder holding one.
    #[arg(long, default_value = "dianjiang")]
    pub profile: String,
    /// Refuse every deviation from the letter of HJ 212, whatever a device's policy allows.
    #[arg(long)]
    pub strict: bool,
    /// Keep raw packets in the archive this many days.
    #[arg(long, default_value_t = 400)]
    pub archive_days: u32,
    /// Commit without fsync (survives a process crash, not a power cut). Faster.
    #[arg(long)]
    pub no_fsync: bool,
    /// POST alarm notifications (JSON) to this http:// URL, with retries and a rate limit.
    #[arg(long)]
    pub webhook: Option<String>,
    /// Seconds to let connections finish and flush acks on shutdown.
    #[arg(long, default_value_t = 10)]
    pub grace: u64,
    /// Also take HJ 212 frames from an MQTT broker:
    /// mqtt://[user[:password]@]host[:port][?client_id=ID] (docs/mqtt.md).
    #[arg(long, value_name = "URL")]
    pub mqtt: Option<String>,
    /// MQTT topic filter to subscribe to at QoS 1; repeat for several (default hj212/+/up).
    #[arg(long = "mqtt-topic", value_name = "FILTER", requires = "mqtt")]
    pub mqtt_topics: Vec<String>,
    /// MQTT client id, also the name of the broker-side session that keeps unacknowledged
    /// messages: stable across restarts, one per node (default qingshan-<hostname>).
    #[arg(long, value_name = "ID", requires = "mqtt")]
    pub mqtt_client_id: Option<String>,
    /// MQTT user name (overrides the URL's).
    #[arg(long, value_name = "USER", requires = "mqtt")]
    pub mqtt_username: Option<String>,
    /// MQTT password (overrides the URL's); QINGSHAN_MQTT_PASSWORD in the environment is
    /// read when neither gives one, so it need not show in the process list.
    #[arg(long, value_name = "PASSWORD", requires = "mqtt")]
    pub mqtt_password: Option<String>,
    /// Where answers (9014, 9013) and commands go, from the incoming topic: {topic}, {stem}
    /// (without a trailing /up), {1}…{9} (its levels). Default: …/up → …/down, else
    /// <topic>/reply.
    #[arg(long, value_name = "TEMPLATE", requires = "mqtt")]
    pub mqtt_reply_topic: Option<String>,
}

/// The MQTT intake's settings from the serve flags, checked before anything starts.
pub fn mqtt_config(a: &ServeArgs) -> anyhow::Result<Option<ingest::MqttConfig>> {
    let Some(url) = &a.mqtt else {
        return Ok(None);
    };
    let mut c = ingest::MqttConfig::from_url(url).map_err(|e| anyhow::anyhow!("--mqtt: {e}"))?;
    c.topics = if a.mqtt_topics.is_empty() {
        vec![ingest::mqtt::DEFAULT_TOPIC.to_string()]
    } else {
        a.mqtt_topics.clone()
    };
    if let Some(id) = &a.mqtt_client_id {
        c.client_id = id.clone();
    }
    if let Some(u) = &a.mqtt_username {
        c.username = Some(u.clone());
    }
    if let Some(p) = &a.mqtt_password {
        c.password = Some(p.clone());
    } else if c.password.is_none() {
        if let Ok(p) = std::env::var("QINGSHAN_MQTT_PASSWORD") {
            c.password = Some(p);
        }
    }
    c.reply = ingest::ReplyTopic::new(a.mqtt_reply_topic.clone())
        .map_err(|e| anyhow::anyhow!("--mqtt-reply-topic: {e}"))?;
    c.validate().map_err(|e| anyhow::anyhow!("--mqtt: {e}"))?;
    Ok(Some(c))
}

pub fn load_profile(spec: &str) -> anyhow::Result<profile::Profile> {
    if spec == "dianjiang" {
        Ok(profile::Profile::dianjiang())
    } else {
        profile::Profile::load_dir(std::path::Path::new(spec))
            .map_err(|e| anyhow::anyhow!("profile {spec}: {e}"))
    }
}

pub fn run(a: ServeArgs) -> anyhow::Result<std::process::ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(a))?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn serve(a: ServeArgs) -> anyhow::Result<()> {
    let profile = load_profile(&a.profile)?;
    let mqtt = mqtt_config(&a)?;
    let cfg = a.db.config()?.with_fsync(!a.no_fsync);
    let store = cfg
        .open()
        .with_context(|| format!("opening the {}", cfg.describe()))?;
    let reader: Box<dyn Store> = cfg.clone().with_cache_mib(64).open()?;
    let devices_from = cfg.clone().with_fsync(false).with_cache_mib(2);
    let registry = Arc::new(
        Registry::new(Box::new(move || {
            devices_from
                .open()
                .and_then(|s| s.devices())
                .map_err(|e| e.to_string())
        }))
        .map_err(|e| anyhow::anyhow!("loading devices: {e}"))?,
    );
    let metrics = Arc::new(Metrics::default());
    // The engines keep derived tables (air, water, noise, quality, sources, alarms) current
    // from what each commit touched, after catching up on what arrived while they were not.
    let (observers, alarms) = crate::engines::start(&profile, &cfg)?;
    let (writer, writer_thread) =
        spawn_writer(store, WriterConfig::default(), metrics.clone(), observers);
    let gw_cfg = GatewayConfig {
        mode: if a.strict {
            hj212::Mode::Strict
        } else {
            hj212::Mode::Lenient
        },
        ..Default::default()
    };
    let gateway = Gateway::new(gw_cfg, registry.clone(), writer.clone(), metrics);
    let hj_listener = tokio::net::TcpListener::bind(a.hj212)
        .await
        .with_context(|| format!("binding HJ 212 port {}", a.hj212))?;
    let http_listener = tokio::net::TcpListener::bind(a.http)
        .await
        .with_context(|| format!("binding HTTP port {}", a.http))?;
    println!(
        "qingshan serving {} ({} sites) — HJ 212 on {}, HTTP on http://{}/ , {}, {} devices registered",
        profile.county.name,
        profile.sites.len(),
        hj_listener.local_addr()?,
        http_listener.local_addr()?,
        cfg.describe(),
        registry.len()
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (state, first_start) = web::AppState::open(gateway.clone(), reader, &cfg, profile.clone())
        .context("opening the accounts store")?;
    if let Some(note) = first_start {
        println!("{note}");
    }
    if let Some(c) = &mqtt {
        println!(
            "MQTT intake: mqtt://{}:{} as client {}, topics {}",
            c.host,
            c.port,
            c.client_id,
            c.topics.join(" ")
        );
    }
    let app = web::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let mut http_stop = stop_rx.clone();
    let http = tokio::spawn(async move {
        axum::serve(http_listener, app)
            .with_graceful_shutdown(async move {
                let _ = http_stop.changed().await;
            })
            .await
    });
    // Periodic chores: registry refresh (devices added by other processes), archive retention.
    let chores = {
        let registry = registry.clone();
        let writer = writer.clone();
        let days = a.archive_days;
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            let mut n: u64 = 0;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => break,
                }
                let r = registry.clone();
                let _ = tokio::task::spawn_blocking(move || r.reload()).await;
                if n.is_multiple_of(360) {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_millis() as i64)
                        .unwrap_or(0);
                    let before = now - i64::from(days) * 86_400_000;
                    match writer.prune_archive(before).await {
                        Ok(0) => {}
                        Ok(k) => tracing::info!(packets = k, days, "archive retention pruned"),
                        Err(e) => tracing::warn!(error = %e, "archive retention failed"),
                    }
                }
                n += 1;
            }
        })
    };
    // Alarm rules that depend on the clock: offline devices, overdue follow-up.
    let alarm_tick = {
        let mut st = cfg.open()?;
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => break,
                }
                let e = alarms.clone();
                let (back, r) = tokio::task::spawn_blocking(move || {
                    let r = e.tick(&mut *st, crate::engines::now_ms());
                    (st, r)
                })
                .await
                .expect("alarm tick task");
                st = back;
                if let Err(err) = r {
                    tracing::warn!(error = %err, "alarm tick failed");
                }
            }
        })
    };
    let notifier = match &a.webhook {
        Some(url) => Some(
            engine::alarms::notify::Notifier::new(engine::alarms::notify::WebhookConfig::new(url))?
                .spawn(cfg.open()?),
        ),
        None => None,
    };
    drop(writer);
    let gw_task = tokio::spawn(gateway.clone().run(
        hj_listener,
        stop_rx.clone(),
        Duration::from_secs(a.grace),
    ));
    let mqtt_task = mqtt.map(|c| {
        tokio::spawn(ingest::mqtt::run(
            gateway.clone(),
            c,
            stop_rx.clone(),
            Duration::from_secs(a.grace),
        ))
    });
    shutdown_signal().await;
    println!("qingshan: shutting down — finishing and acknowledging what is in flight");
    let _ = stop_tx.send(true);
    let _ = gw_task.await;
    if let Some(t) = mqtt_task {
        let _ = t.await;
    }
    let _ = chores.await;
    let _ = alarm_tick.await;
    if let Some(n) = notifier {
        n.stop();
    }
    let _ = http.await;
    drop(gateway);
    // The writer thread ends once the last handle is gone and its queue is drained.
    tokio::task::spawn_blocking(move || writer_thread.join())
        .await?
        .map_err(|_| anyhow::anyhow!("store writer panicked"))?;
    println!("qingshan: stopped cleanly");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
