//! The device registry reloads from the store when an unknown MN shows up.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use ingest::Registry;
use model::{Device, DeviceKind};

fn device(mn: &str) -> Device {
    Device {
        mn: mn.into(),
        pw: "123456".into(),
        site: format!("S-{mn}"),
        kind: DeviceKind::Air,
        name: String::new(),
        protocol: None,
        allow: Vec::new(),
        calibrate_clock: false,
        rtd_interval: None,
        min_interval: None,
        registered: None,
    }
}

/// Devices registered by another process connect at once: the first unknown MN starts a
/// (slow) reload, and a second unknown MN looked up while it runs waits for it instead of
/// being refused because a reload "just happened".
#[test]
fn an_unknown_mn_during_a_reload_waits_for_it() {
    let loads = Arc::new(AtomicUsize::new(0));
    let l = loads.clone();
    let registry = Arc::new(
        Registry::new(Box::new(move || {
            // The first load (at start) knows nothing; later ones know both devices.
            if l.fetch_add(1, Relaxed) == 0 {
                return Ok(Vec::new());
            }
            std::thread::sleep(Duration::from_millis(300));
            Ok(vec![device("A"), device("B")])
        }))
        .unwrap(),
    );
    // Past the reload rate limit.
    std::thread::sleep(Duration::from_millis(300));
    let r = registry.clone();
    let first = std::thread::spawn(move || r.lookup("A").is_some());
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        registry.lookup("B").is_some(),
        "B arrived during A's reload"
    );
    assert!(first.join().unwrap());
    assert_eq!(loads.load(Relaxed), 2, "one reload served both");
}
