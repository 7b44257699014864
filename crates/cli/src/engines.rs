//! The engines that keep derived tables current while `serve` runs: each catches up on what
//! arrived while it was not running, then observes every commit (on the writer's derive
//! thread, in this order — the alarm rules read what air and sources derived).

use std::path::Path;

use anyhow::Context;
use engine::alarms::AlarmConfig;
use engine::{AlarmEngine, QualityEngine, SourcesEngine, SourcesPolicy};
use ingest::CommitObserver;
use profile::Profile;
use store::{SqliteOptions, SqliteStore};

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Catches every engine up and returns their commit observers, plus the alarm engine for the
/// periodic tick (offline devices, overdue alarms).
pub fn start(
    profile: &Profile,
    data: &Path,
    opts: &SqliteOptions,
) -> anyhow::Result<(Vec<CommitObserver>, AlarmEngine)> {
    // Engines read recent days and write small derived rows: a modest page cache each, so
    // six of them do not each grow to the writer's large cache.
    let opts = SqliteOptions {
        cache_mib: opts.cache_mib.min(32),
        ..opts.clone()
    };
    let open = || SqliteStore::open_with(data, &opts).context("opening a store for an engine");
    let air = crate::report::air_engine(profile);
    let air_hours = engine::AirHourlyEngine::from_air(&air);
    let water = crate::report::water_engine(profile)?;
    let noise = crate::report::noise_engine(profile)?;
    let quality = QualityEngine::default();
    let sources = SourcesEngine::from_profile(
        profile,
        &standards::emissions::LimitLibrary::national(),
        SourcesPolicy::default(),
        engine::fume::FumePolicy::default(),
    );
    let alarms = AlarmEngine::new(AlarmConfig::from_profile(profile))?;
    let mut s = open()?;
    let started = std::time::Instant::now();
    air.catch_up(&mut s).context("air days at start")?;
    air_hours.catch_up(&mut s).context("air hours at start")?;
    water.catch_up(&mut s).context("water days at start")?;
    noise.catch_up(&mut s).context("noise days at start")?;
    quality
        .catch_up(&mut s)
        .context("data-quality findings at start")?;
    sources
        .catch_up(&mut s)
        .context("source hours and events at start")?;
    alarms
        .catch_up(&mut s, now_ms())
        .context("alarm rules at start")?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "derived tables caught up"
    );
    let observers = vec![
        air.observer(Box::new(open()?)),
        air_hours.observer(Box::new(open()?)),
        water.observer(Box::new(open()?)),
        noise.observer(Box::new(open()?)),
        quality.observer(Box::new(open()?)),
        sources.observer(Box::new(open()?)),
        alarms.clone().observer(Box::new(open()?)),
    ];
    Ok((observers, alarms))
}
