//! The device registry as the gateway sees it: MN → device and its allowed deviations.
//!
//! Devices are added by `qingshan device add/import` (another process) or the API, so the
//! registry reloads from the store: periodically, and when an unknown MN shows up (at most
//! four times a second, so a flood of unknown MNs cannot hammer the store).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use hj212::{Deviation, DeviationSet};
use model::Device;

/// A registered device with its policy decoded for the hot path.
#[derive(Debug)]
pub struct Registered {
    pub device: Device,
    /// Deviations this device may show.
    pub allowed: DeviationSet,
}

impl Registered {
    pub fn new(device: Device) -> Registered {
        let mut allowed = DeviationSet::default();
        for name in &device.allow {
            if name == "*" {
                allowed = DeviationSet::all();
            } else if let Some(d) = Deviation::from_name(name) {
                allowed.insert(d);
            }
        }
        Registered { device, allowed }
    }
}

pub type Loader = Box<dyn Fn() -> Result<Vec<Device>, String> + Send + Sync>;

pub struct Registry {
    devices: RwLock<HashMap<String, Arc<Registered>>>,
    loader: Loader,
    last_reload: Mutex<Instant>,
    /// Held by a reload for an unknown MN: a lookup of another unknown MN waits for it and
    /// looks again, instead of being refused because a reload "just happened" (a fleet of
    /// newly registered devices connecting at once had some refused, then resent 10 s later).
    reloading: Mutex<()>,
    min_interval: Duration,
}

impl Registry {
    pub fn new(loader: Loader) -> Result<Registry, String> {
        let r = Registry {
            devices: RwLock::new(HashMap::new()),
            loader,
            last_reload: Mutex::new(Instant::now()),
            reloading: Mutex::new(()),
            min_interval: Duration::from_millis(250),
        };
        r.reload()?;
        Ok(r)
    }

    /// A registry over a fixed list (tests, benchmarks).
    pub fn fixed(devices: Vec<Device>) -> Registry {
        let list = devices.clone();
        Registry::new(Box::new(move || Ok(list.clone()))).expect("fixed loader cannot fail")
    }

    pub fn reload(&self) -> Result<usize, String> {
        let list = (self.loader)()?;
        let map: HashMap<_, _> = list
            .into_iter()
            .map(|d| (d.mn.clone(), Arc::new(Registered::new(d))))
            .collect();
        let n = map.len();
        *self.devices.write().unwrap_or_else(|e| e.into_inner()) = map;
        *self.last_reload.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        Ok(n)
    }

    pub fn get(&self, mn: &str) -> Option<Arc<Registered>> {
        self.devices
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(mn)
            .cloned()
    }

    /// Looks `mn` up; if unknown, reloads from the store first (rate limited).
    pub fn lookup(&self, mn: &str) -> Option<Arc<Registered>> {
        if let Some(r) = self.get(mn) {
            return Some(r);
        }
        let _reloading = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        // A reload that was under way may have brought it.
        if let Some(r) = self.get(mn) {
            return Some(r);
        }
        let due = {
            let mut last = self.last_reload.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() >= self.min_interval {
                *last = Instant::now();
                true
            } else {
                false
            }
        };
        if due {
            if let Err(e) = self.reload() {
                tracing::warn!(error = %e, "device registry reload failed");
            }
            return self.get(mn);
        }
        None
    }

    pub fn len(&self) -> usize {
        self.devices.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
