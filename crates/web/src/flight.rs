//! A single-flight cache of computed response bodies (the overview).
//!
//! Per key at most one computation runs at a time, on the blocking pool (it takes store
//! locks and may take a second on a year of data):
//!
//! - **fresh** (younger than the TTL): the cached copy;
//! - **expired**: the stale copy at once, and one refresh is started in the background if none
//!   is running (stale-while-revalidate) — a burst of clients never computes it twice;
//! - **cold** (never computed, or the last computation failed): the first request starts the
//!   computation and every request for that key waits for that one result.
//!
//! A failed computation is answered to the requests that waited for it and is not cached.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use bytes::Bytes;
use tokio::sync::watch;

use crate::ApiError;

type Outcome = Option<Result<Bytes, (StatusCode, String)>>;

#[derive(Default)]
struct Slot {
    value: Option<(Instant, Bytes)>,
    running: Option<watch::Receiver<Outcome>>,
}

/// Keys beyond which idle entries are dropped (keys are scopes: roles, towns, enterprises).
const MAX_KEYS: usize = 4096;

#[derive(Default)]
pub struct Flight {
    slots: Mutex<HashMap<String, Slot>>,
    /// Computations started (cold or refresh), for `/metrics` and tests.
    pub computations: AtomicU64,
    /// Requests answered with a stale copy while a refresh ran.
    pub stale_served: AtomicU64,
    /// Bumped by [`Flight::clear`]: a computation started before it does not store its result.
    generation: AtomicU64,
}

impl Flight {
    /// The body for `key`: see the module doc. `compute` runs on the blocking pool.
    pub async fn get<F>(
        self: &Arc<Self>,
        key: &str,
        ttl: Duration,
        compute: F,
    ) -> Result<Bytes, ApiError>
    where
        F: FnOnce() -> Result<Bytes, ApiError> + Send + 'static,
    {
        let mut wait = {
            let mut m = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            if m.len() > MAX_KEYS {
                m.retain(|_, s| s.running.is_some());
            }
            let slot = m.entry(key.to_string()).or_default();
            match (&slot.value, &slot.running) {
                (Some((at, b)), _) if at.elapsed() < ttl => return Ok(b.clone()),
                (Some((_, b)), Some(_)) => {
                    self.stale_served.fetch_add(1, Ordering::Relaxed);
                    return Ok(b.clone());
                }
                (None, Some(rx)) => rx.clone(),
                (stale, None) => {
                    let stale = stale.as_ref().map(|(_, b)| b.clone());
                    let rx = self.start(slot, key, compute);
                    if let Some(b) = stale {
                        self.stale_served.fetch_add(1, Ordering::Relaxed);
                        return Ok(b);
                    }
                    rx
                }
            }
        };
        let out = wait
            .wait_for(Option::is_some)
            .await
            .map(|v| v.clone())
            .ok()
            .flatten();
        match out {
            Some(Ok(b)) => Ok(b),
            Some(Err((status, msg))) => Err(ApiError(status, msg)),
            None => Err(ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the computation ended without a result".into(),
            )),
        }
    }

    /// Forgets every cached body after a change they depend on; computations still running
    /// answer their waiters but are not cached, and the next request computes afresh.
    pub fn clear(&self) {
        let mut m = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::Relaxed);
        m.clear();
    }

    /// Starts the one computation of `key` (the slot's lock is held by the caller).
    fn start<F>(
        self: &Arc<Self>,
        slot: &mut Slot,
        key: &str,
        compute: F,
    ) -> watch::Receiver<Outcome>
    where
        F: FnOnce() -> Result<Bytes, ApiError> + Send + 'static,
    {
        self.computations.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = watch::channel(None);
        slot.running = Some(rx.clone());
        let me = Arc::clone(self);
        let key = key.to_string();
        let generation = self.generation.load(Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(compute))
                .unwrap_or_else(|_| {
                    Err(ApiError(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("computing {key} panicked"),
                    ))
                })
                .map_err(|ApiError(s, m)| (s, m));
            let mut m = me.slots.lock().unwrap_or_else(|e| e.into_inner());
            // After a `clear` the result is only its waiters' (it may predate the change).
            if me.generation.load(Ordering::Relaxed) == generation {
                let slot = m.entry(key).or_default();
                slot.running = None;
                if let Ok(b) = &r {
                    slot.value = Some((Instant::now(), b.clone()));
                }
            }
            drop(m);
            let _ = tx.send(Some(r));
        });
        rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(s: &str) -> Result<Bytes, ApiError> {
        Ok(Bytes::from(s.to_string()))
    }

    /// Many requests on a cold key: one computation, everyone gets its result.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cold_key_computes_once_for_every_waiter() {
        let f = Arc::new(Flight::default());
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let f = f.clone();
            let gate = gate.clone();
            tasks.spawn(async move {
                f.get("k", Duration::from_secs(60), move || {
                    gate.lock().unwrap().recv().unwrap();
                    body("v1")
                })
                .await
            });
        }
        // Every request is in (they wait on the one computation), then let it finish.
        while f.computations.load(Ordering::Relaxed) == 0 {
            tokio::task::yield_now().await;
        }
        release.send(()).unwrap();
        while let Some(r) = tasks.join_next().await {
            assert_eq!(r.unwrap().ok().unwrap(), "v1");
        }
        assert_eq!(f.computations.load(Ordering::Relaxed), 1);
        // Fresh: served from the cache without computing.
        let v = f
            .get("k", Duration::from_secs(60), || panic!("must not compute"))
            .await
            .ok()
            .unwrap();
        assert_eq!(v, "v1");
        assert_eq!(f.computations.load(Ordering::Relaxed), 1);
    }

    /// Expired: every request gets the stale copy at once while exactly one refresh runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn expired_key_serves_stale_during_one_refresh() {
        let f = Arc::new(Flight::default());
        f.get("k", Duration::ZERO, || body("old"))
            .await
            .ok()
            .unwrap();
        while f.slots.lock().unwrap()["k"].running.is_some() {
            tokio::task::yield_now().await;
        }
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        for _ in 0..50 {
            let gate = gate.clone();
            let v = f
                .get("k", Duration::ZERO, move || {
                    gate.lock().unwrap().recv().unwrap();
                    body("new")
                })
                .await
                .ok()
                .unwrap();
            assert_eq!(v, "old", "stale copy while the refresh runs");
        }
        assert_eq!(f.computations.load(Ordering::Relaxed), 2, "one refresh");
        assert_eq!(f.stale_served.load(Ordering::Relaxed), 50);
        release.send(()).unwrap();
        while f.slots.lock().unwrap()["k"].running.is_some() {
            tokio::task::yield_now().await;
        }
        let v = f
            .get("k", Duration::from_secs(60), || panic!("fresh"))
            .await
            .ok()
            .unwrap();
        assert_eq!(v, "new");
    }

    /// A failed (or panicking) computation answers its waiters with the error, is not cached,
    /// and the next request computes again.
    #[tokio::test]
    async fn failures_are_answered_and_not_cached() {
        let f = Arc::new(Flight::default());
        let e = f
            .get("k", Duration::from_secs(60), || {
                Err(ApiError(StatusCode::INTERNAL_SERVER_ERROR, "disk".into()))
            })
            .await
            .err()
            .unwrap();
        assert_eq!(e.1, "disk");
        let e = f
            .get("k", Duration::from_secs(60), || panic!("boom"))
            .await
            .err()
            .unwrap();
        assert!(e.1.contains("panicked"), "{}", e.1);
        let v = f
            .get("k", Duration::from_secs(60), || body("ok"))
            .await
            .ok()
            .unwrap();
        assert_eq!(v, "ok");
        assert_eq!(f.computations.load(Ordering::Relaxed), 3);
    }
}
