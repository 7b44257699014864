//! The writer hands every committed batch to the observers, in commit order, on their own
//! thread, and waits for them on shutdown.

use std::sync::{Arc, Mutex};

use ingest::{spawn_writer, Metrics, WriterConfig};
use store::{IntakePacket, SqliteOptions, SqliteStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observers_see_every_committed_packet_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with(
        dir.path(),
        &SqliteOptions {
            fsync: false,
            cache_mib: 8,
        },
    )
    .unwrap();
    let seen: Arc<Mutex<Vec<i64>>> = Arc::default();
    let s2 = seen.clone();
    let observer: ingest::CommitObserver = Box::new(move |batch: &[IntakePacket]| {
        // slow observer: must not hold up acks
        std::thread::sleep(std::time::Duration::from_millis(2));
        s2.lock()
            .unwrap()
            .extend(batch.iter().map(|p| p.received_ms));
    });
    let (writer, thread) = spawn_writer(
        Box::new(store),
        WriterConfig {
            queue: 64,
            max_batch: 16,
            ..WriterConfig::default()
        },
        Arc::new(Metrics::default()),
        vec![observer],
    );
    let mut acks = Vec::new();
    for k in 0..500 {
        let p = IntakePacket {
            received_ms: k,
            mn: "MN".into(),
            cn: "2011".into(),
            ..IntakePacket::default()
        };
        acks.push(writer.submit(p).await.unwrap());
    }
    for a in acks {
        assert!(a.await.unwrap(), "durable");
    }
    drop(writer);
    tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), (0..500).collect::<Vec<i64>>());
}

/// An observer that panics does not stop the others or the writer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_observer_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let seen: Arc<Mutex<usize>> = Arc::default();
    let s2 = seen.clone();
    let bad: ingest::CommitObserver = Box::new(|_batch: &[IntakePacket]| panic!("engine bug"));
    let good: ingest::CommitObserver = Box::new(move |batch: &[IntakePacket]| {
        *s2.lock().unwrap() += batch.len();
    });
    let (writer, thread) = spawn_writer(
        Box::new(store),
        WriterConfig {
            queue: 8,
            max_batch: 4,
            ..WriterConfig::default()
        },
        Arc::new(Metrics::default()),
        vec![bad, good],
    );
    for k in 0..20 {
        let done = writer
            .submit(IntakePacket {
                received_ms: k,
                mn: "MN".into(),
                cn: "2011".into(),
                ..IntakePacket::default()
            })
            .await
            .unwrap();
        assert!(done.await.unwrap());
    }
    drop(writer);
    tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), 20);
}

/// With a catch-up, a slow engine never holds up commits: batches it cannot take are dropped
/// (counted) and the catch-up, which reads the store, covers them — every committed packet is
/// either observed or present when a catch-up runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lossy_derivation_is_repaired_by_catch_up() {
    use store::Store;
    let dir = tempfile::tempdir().unwrap();
    let opts = SqliteOptions {
        fsync: false,
        cache_mib: 8,
    };
    let store = SqliteStore::open_with(dir.path(), &opts).unwrap();
    let observed: Arc<Mutex<Vec<i64>>> = Arc::default();
    let caught: Arc<Mutex<Vec<i64>>> = Arc::default();
    let catch_ups = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let o2 = observed.clone();
    let slow: ingest::CommitObserver = Box::new(move |batch: &[IntakePacket]| {
        std::thread::sleep(std::time::Duration::from_millis(30));
        o2.lock()
            .unwrap()
            .extend(batch.iter().map(|p| p.received_ms));
    });
    let (c2, n2, path) = (caught.clone(), catch_ups.clone(), dir.path().to_path_buf());
    let catch_up: ingest::CatchUp = Box::new(move || {
        n2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let s = SqliteStore::open_with(&path, &opts).unwrap();
        let all = s.archived(None, i64::MIN, i64::MAX).unwrap();
        c2.lock().unwrap().extend(all.iter().map(|p| p.received_ms));
    });
    let metrics = Arc::new(Metrics::default());
    let (writer, thread) = spawn_writer(
        Box::new(store),
        WriterConfig {
            queue: 16,
            max_batch: 2,
            derive_queue: 4,
        },
        metrics.clone(),
        ingest::Derivation {
            observers: vec![slow],
            catch_up: Some(catch_up),
        },
    );
    for k in 0..400 {
        let done = writer
            .submit(IntakePacket {
                received_ms: k,
                mn: "MN".into(),
                cn: "2011".into(),
                ..IntakePacket::default()
            })
            .await
            .unwrap();
        assert!(done.await.unwrap());
    }
    drop(writer);
    tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
    let skipped = metrics
        .derive_skipped
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        skipped > 0,
        "the slow observer made the writer drop batches"
    );
    assert!(catch_ups.load(std::sync::atomic::Ordering::Relaxed) > 0);
    let seen: std::collections::HashSet<i64> = observed
        .lock()
        .unwrap()
        .iter()
        .chain(caught.lock().unwrap().iter())
        .copied()
        .collect();
    let missing: Vec<i64> = (0..400).filter(|k| !seen.contains(k)).collect();
    assert!(
        missing.is_empty(),
        "packets neither observed nor caught up: {missing:?}"
    );
}

/// After intake outran the engines and then went quiet, the catch-up still runs (it must not
/// wait for the next batch or for shutdown).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_runs_when_intake_goes_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let catch_ups = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n2 = catch_ups.clone();
    let slow: ingest::CommitObserver = Box::new(|_b: &[IntakePacket]| {
        std::thread::sleep(std::time::Duration::from_millis(40));
    });
    let metrics = Arc::new(Metrics::default());
    let (writer, thread) = spawn_writer(
        Box::new(store),
        WriterConfig {
            queue: 64,
            max_batch: 1,
            derive_queue: 4,
        },
        metrics.clone(),
        ingest::Derivation {
            observers: vec![slow],
            catch_up: Some(Box::new(move || {
                n2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })),
        },
    );
    let mut acks = Vec::new();
    for k in 0..64 {
        let p = IntakePacket {
            received_ms: k,
            mn: "MN".into(),
            cn: "2011".into(),
            ..IntakePacket::default()
        };
        acks.push(writer.submit(p).await.unwrap());
    }
    for a in acks {
        assert!(a.await.unwrap());
    }
    assert!(
        metrics
            .derive_skipped
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    // quiet now: the catch-up must come without further intake
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while catch_ups.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no catch-up while intake is quiet"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    drop(writer);
    tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
}

/// Many small commits (a live fleet: each commit holds a packet or two) and observers slower
/// than one commit: the derive queue, bounded by packets, holds them, and the derive thread
/// takes them in a few large turns — nothing is left to a catch-up (the demo fleet used to
/// drop batches every few seconds once four commits were waiting).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_commits_wait_for_a_slow_observer_without_catch_up() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SqliteOptions {
        fsync: false,
        cache_mib: 8,
    };
    let store = SqliteStore::open_with(dir.path(), &opts).unwrap();
    let observed: Arc<Mutex<Vec<i64>>> = Arc::default();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let catch_ups = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (o2, c2, n2) = (observed.clone(), calls.clone(), catch_ups.clone());
    let slow: ingest::CommitObserver = Box::new(move |batch: &[IntakePacket]| {
        c2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::thread::sleep(std::time::Duration::from_millis(20));
        o2.lock()
            .unwrap()
            .extend(batch.iter().map(|p| p.received_ms));
    });
    let metrics = Arc::new(Metrics::default());
    let (writer, thread) = spawn_writer(
        Box::new(store),
        WriterConfig {
            queue: 64,
            max_batch: 1,
            ..WriterConfig::default()
        },
        metrics.clone(),
        ingest::Derivation {
            observers: vec![slow],
            catch_up: Some(Box::new(move || {
                n2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })),
        },
    );
    let mut acks = Vec::new();
    for k in 0..300 {
        let p = IntakePacket {
            received_ms: k,
            mn: "MN".into(),
            cn: "2011".into(),
            ..IntakePacket::default()
        };
        acks.push(writer.submit(p).await.unwrap());
    }
    for a in acks {
        assert!(a.await.unwrap());
    }
    drop(writer);
    tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
    let m = &metrics;
    assert_eq!(
        m.derive_skipped.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert_eq!(catch_ups.load(std::sync::atomic::Ordering::Relaxed), 0);
    assert_eq!(
        m.derive_catchups.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert!(m.commit_batches.load(std::sync::atomic::Ordering::Relaxed) >= 300);
    let mut seen = observed.lock().unwrap().clone();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (0..300).collect::<Vec<i64>>(),
        "every packet observed once"
    );
    let turns = calls.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        turns < 300,
        "commits were taken together ({turns} observer turns)"
    );
}
