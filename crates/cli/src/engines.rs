//! The engines that keep derived tables current while `serve` runs: each catches up on what
//! arrived while it was not running, then observes every commit (on the writer's derive
//! thread, in this order — the alarm rules read what air and sources derived).

use anyhow::Context;
use engine::alarms::AlarmConfig;
use engine::{AlarmEngine, QualityEngine, SourcesEngine, SourcesPolicy};
use ingest::{CatchUp, CommitObserver, Derivation};
use profile::Profile;
use store::{Backend, StoreConfig};

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The alarm rules of `profile`, late data raising alarms up to `late_alarm_days` back.
pub fn alarm_config(profile: &Profile, late_alarm_days: u32) -> AlarmConfig {
    AlarmConfig {
        late_horizon_s: i64::from(late_alarm_days) * 86_400,
        ..AlarmConfig::from_profile(profile)
    }
}

/// Every engine that keeps a derived table, built from the profile.
struct Engines {
    air: engine::AirEngine,
    air_hours: engine::AirHourlyEngine,
    water: engine::WaterEngine,
    noise: engine::NoiseEngine,
    quality: QualityEngine,
    sources: SourcesEngine,
    alarms: AlarmEngine,
}

impl Engines {
    fn build(profile: &Profile, late_alarm_days: u32) -> anyhow::Result<Engines> {
        let air = crate::report::air_engine(profile);
        Ok(Engines {
            air_hours: engine::AirHourlyEngine::from_air(&air),
            air,
            water: crate::report::water_engine(profile)?,
            noise: crate::report::noise_engine(profile)?,
            quality: QualityEngine::new(engine::QualityConfig {
                schedules: engine::due::Schedules::from_profile(profile),
                ..Default::default()
            }),
            sources: SourcesEngine::from_profile(
                profile,
                &standards::emissions::LimitLibrary::national(),
                SourcesPolicy::default(),
                engine::fume::FumePolicy::default(),
            ),
            alarms: AlarmEngine::new(alarm_config(profile, late_alarm_days))?,
        })
    }

    /// Derives whatever arrived since each engine's watermark, in observer order; returns the
    /// time it took.
    fn catch_up(&self, s: &mut dyn Backend) -> anyhow::Result<std::time::Duration> {
        let started = std::time::Instant::now();
        self.air.catch_up(s).context("air days")?;
        self.air_hours.catch_up(s).context("air hours")?;
        self.water.catch_up(s).context("water days")?;
        self.noise.catch_up(s).context("noise days")?;
        self.quality.catch_up(s).context("data-quality findings")?;
        self.sources
            .catch_up(s)
            .context("source hours and events")?;
        self.alarms.catch_up(s, now_ms()).context("alarm rules")?;
        Ok(started.elapsed())
    }

    fn observers(
        self,
        open: impl Fn() -> anyhow::Result<Box<dyn Backend>>,
    ) -> anyhow::Result<Vec<CommitObserver>> {
        Ok(vec![
            self.air.observer(open()?),
            self.air_hours.observer(open()?),
            self.water.observer(open()?),
            self.noise.observer(open()?),
            self.quality.observer(open()?),
            self.sources.observer(open()?),
            self.alarms.observer(open()?),
        ])
    }
}

/// Catches every engine up and returns what the writer runs after commits — the observers,
/// and a catch-up for when intake outruns them (so derivation never slows intake) — plus the
/// alarm engine for the periodic tick (offline devices, overdue alarms).
pub fn start(
    profile: &Profile,
    cfg: &StoreConfig,
    late_alarm_days: u32,
) -> anyhow::Result<(Derivation, AlarmEngine)> {
    // Engines read recent days and write small derived rows: a small page cache each (the
    // OS page cache holds the rest), so the eight connections do not each grow to the
    // writer's large cache (at 32 MiB each they held a quarter of a GB). No fsync per
    // derived write: the tables are recomputable, and a power cut loses a suffix of the
    // engine's commits, its watermark with them, so the next catch-up redoes it (one fsync
    // per site-day made the quality engine's catch-up after a 30-day replay take minutes).
    let cfg = cfg.clone().with_cache_at_most(16).with_fsync(false);
    let open = || cfg.open().context("opening a store for an engine");
    let engines = Engines::build(profile, late_alarm_days)?;
    let took = engines
        .catch_up(&mut *open()?)
        .context("deriving at start")?;
    // Later catch-ups (after intake outran the engines) are counted and logged by the writer.
    tracing::info!(
        elapsed_ms = took.as_millis() as u64,
        "derived tables caught up"
    );
    let again = Engines::build(profile, late_alarm_days)?;
    let mut store = open()?;
    let catch_up: CatchUp = Box::new(move || {
        if let Err(e) = again.catch_up(&mut *store) {
            tracing::warn!(error = %e, "derived tables' catch-up failed; the next one retries");
        }
    });
    let alarms = engines.alarms.clone();
    Ok((
        Derivation {
            observers: engines.observers(open)?,
            catch_up: Some(catch_up),
        },
        alarms,
    ))
}
