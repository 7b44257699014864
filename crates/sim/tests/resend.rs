//! A data logger resends an upload whose 9014 does not come (HJ 212-2017 §6.6.3: resend
//! with the same QN after the timeout). Here the platform leaves the first uploads of the
//! history unanswered until their window is full: the resends must still go out (they are
//! already in flight, they need no free slot), or the logger waits forever — as `simulate
//! --history` did when a few group commits failed in the year test.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use hj212::{Decoder, DecoderConfig, Mode};
use profile::{Profile, SiteKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_left_unacknowledged_are_resent_even_with_a_full_window() {
    const WINDOW: usize = 4;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The platform: answers as usual, except the first WINDOW uploads the first time they come.
    tokio::spawn(async move {
        let dropped = Arc::new(std::sync::Mutex::new(HashSet::<String>::new()));
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let dropped = dropped.clone();
            tokio::spawn(async move {
                let mut dec = Decoder::new(DecoderConfig::new(Mode::Lenient));
                let mut buf = [0u8; 8192];
                while let Ok(n) = sock.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    dec.feed(&buf[..n]);
                    while let Some(Ok(f)) = dec.next_frame() {
                        let p = f.packet;
                        let first_time = {
                            let mut d = dropped.lock().unwrap();
                            let qn = p.qn().unwrap_or_default().to_string();
                            p.cn() != "9014" && d.len() < WINDOW && d.insert(qn)
                        };
                        if first_time {
                            continue;
                        }
                        if let Some(reply) = hj212::reply::platform_answer(&p) {
                            if sock.write_all(&hj212::encode(&reply)).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });

    let fleet = sim::fleet_of_kinds(&Profile::dianjiang(), Some(1), &[SiteKind::SurfaceWater]);
    assert_eq!(fleet.len(), 1);
    let mut cfg = sim::SimConfig::new(addr);
    cfg.history = Some(Duration::from_secs(86_400));
    cfg.live_after_history = false;
    cfg.window = WINDOW;
    cfg.ack_timeout = Duration::from_millis(300);
    cfg.retries = 5;
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stats = Arc::new(sim::Stats::default());
    let summary = tokio::time::timeout(
        Duration::from_secs(60),
        sim::run(cfg, fleet, stats, stop_rx),
    )
    .await
    .expect("the logger must resend its unacknowledged uploads, not wait for a free slot");
    assert!(summary.sent > WINDOW as u64, "{summary:?}");
    assert_eq!(summary.unacked, 0, "{summary:?}");
    assert_eq!(summary.acked, summary.sent, "{summary:?}");
    assert!(summary.resent >= WINDOW as u64, "{summary:?}");
}
