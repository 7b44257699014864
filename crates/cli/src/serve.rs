//! `qingshan serve` — the platform's main job: the HJ 212 gateway, the store writer and the
//! HTTP API in one process, on the embedded store in `--data`. With `--bus nats://…` the
//! gateway and the writer talk over a NATS JetStream stream instead, and `--role` picks which
//! of them this node runs (`serve_bus.rs`, docs/scale-out.md).

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
    /// Late and back-filled data (补传) raise the alarms they would have raised, marked late,
    /// for hours up to this many days back; older ones only go into the reports.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=400))]
    pub late_alarm_days: u32,
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
    #[command(flatten)]
    pub bus: crate::serve_bus::BusArgs,
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
    let shutdown = shutdown_signal();
    let profile = load_profile(&a.profile)?;
    let mqtt = mqtt_config(&a)?;
    let (writes, accepts) = (a.bus.writer(), a.bus.gateway());
    anyhow::ensure!(
        accepts || mqtt.is_none(),
        "--mqtt takes devices in: run it on a node that accepts them (--role gateway or all)"
    );
    let cfg = a.db.config()?.with_fsync(!a.no_fsync);
    // A gateway-only node's writer records the commands it sends devices, nothing more.
    let writer_cfg = if writes {
        cfg.clone()
    } else {
        cfg.clone().with_cache_mib(8)
    };
    let store = writer_cfg
        .open()
        .with_context(|| format!("opening the {}", cfg.describe()))?;
    let reader: Box<dyn Store> = cfg.clone().with_cache_mib(64).open()?;
    // The registry reloads every 10 s and on an unknown MN (at most once a second): one
    // connection kept for it (reopened after an error), not a new one — on PostgreSQL a
    // connect also runs the migration check — per reload.
    let devices_from = cfg.clone().with_fsync(false).with_cache_mib(2);
    let conn: std::sync::Mutex<Option<Box<dyn store::Backend>>> = std::sync::Mutex::new(None);
    let registry = Arc::new(
        Registry::new(Box::new(move || {
            let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            if conn.is_none() {
                *conn = Some(devices_from.open().map_err(|e| e.to_string())?);
            }
            let r = conn.as_ref().map(|s| s.devices()).expect("opened above");
            if r.is_err() {
                *conn = None;
            }
            r.map_err(|e| e.to_string())
        }))
        .map_err(|e| anyhow::anyhow!("loading devices: {e}"))?,
    );
    let metrics = Arc::new(Metrics::default());
    // The engines keep derived tables (air, water, noise, quality, sources, alarms) current
    // from what each commit touched, after catching up on what arrived while they were not.
    let (observers, alarms) = if writes {
        let (o, a) = crate::engines::start(&profile, &cfg, a.late_alarm_days)?;
        (o, Some(a))
    } else {
        (ingest::Derivation::default(), None)
    };
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
    let bus = match a.bus.config(a.hj212) {
        Some(c) => Some(
            ingest::bus::Bus::connect(c, metrics.clone())
                .await
                .context("opening the intake bus")?,
        ),
        None => None,
    };
    let gateway = match &bus {
        Some(b) if accepts => Gateway::with_bus(
            gw_cfg,
            registry.clone(),
            writer.clone(),
            b.publisher(),
            metrics,
        ),
        _ => Gateway::new(gw_cfg, registry.clone(), writer.clone(), metrics),
    };
    let hj_listener = if accepts {
        Some(
            tokio::net::TcpListener::bind(a.hj212)
                .await
                .with_context(|| format!("binding HJ 212 port {}", a.hj212))?,
        )
    } else {
        None
    };
    let http_listener = tokio::net::TcpListener::bind(a.http)
        .await
        .with_context(|| format!("binding HTTP port {}", a.http))?;
    println!(
        "qingshan serving {} ({} sites) — HJ 212 on {}, HTTP on http://{}/ , {}, {} devices registered",
        profile.county.name,
        profile.sites.len(),
        match &hj_listener {
            Some(l) => l.local_addr()?.to_string(),
            None => "(none: writer node)".into(),
        },
        http_listener.local_addr()?,
        cfg.describe(),
        registry.len()
    );
    if let Some(b) = &bus {
        let c = b.config();
        println!(
            "intake bus {} — role {:?}, stream {}, subject {}.{}, consumer {}",
            c.url,
            a.bus.role,
            c.stream,
            c.subject,
            if accepts { c.gateway_id.as_str() } else { "*" },
            c.consumer
        );
    }
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
                // Archive retention is the writers' job.
                if writes && n.is_multiple_of(360) {
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
    // Alarm rules that depend on the clock: offline devices, overdue follow-up (writer nodes).
    let alarm_tick = alarms
        .map(|alarms| -> anyhow::Result<_> {
            let mut st = cfg.open()?;
            let mut stop = stop_rx.clone();
            Ok(tokio::spawn(async move {
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
            }))
        })
        .transpose()?;
    let notifier = match &a.webhook {
        Some(url) if writes => Some(
            engine::alarms::notify::Notifier::new(engine::alarms::notify::WebhookConfig::new(url))?
                .spawn(cfg.open()?),
        ),
        _ => None,
    };
    // A writer node consumes the stream into its writer (last, once nothing else can fail).
    let consuming = match &bus {
        Some(b) if writes => {
            let consumer = b
                .consumer()
                .await
                .context("opening the writers' consumer")?;
            Some(tokio::spawn(consumer.run(writer.clone(), stop_rx.clone())))
        }
        _ => None,
    };
    drop(writer);
    let gw_task = hj_listener.map(|l| {
        tokio::spawn(
            gateway
                .clone()
                .run(l, stop_rx.clone(), Duration::from_secs(a.grace)),
        )
    });
    let mqtt_task = mqtt.map(|c| {
        tokio::spawn(ingest::mqtt::run(
            gateway.clone(),
            c,
            stop_rx.clone(),
            Duration::from_secs(a.grace),
        ))
    });
    shutdown.await;
    println!("qingshan: shutting down — finishing and acknowledging what is in flight");
    let _ = stop_tx.send(true);
    if let Some(t) = gw_task {
        let _ = t.await;
    }
    if let Some(t) = mqtt_task {
        let _ = t.await;
    }
    // Commits of what the consumer handed over, then their acks to the stream.
    if let Some(t) = consuming {
        match t.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "intake bus consumer"),
            Err(e) => tracing::warn!(error = %e, "intake bus consumer task"),
            Ok(Ok(())) => {}
        }
    }
    if let Some(b) = &bus {
        b.flush().await;
    }
    let _ = chores.await;
    if let Some(t) = alarm_tick {
        let _ = t.await;
    }
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

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called (at start),
/// not when it is first awaited: a node stopped while it is still starting up (a SIGTERM
/// between binding its ports and setting up the rest) shuts down cleanly too.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("install SIGINT handler");
        async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
