//! `simulate --mqtt`: the simulated loggers publish over MQTT instead of holding TCP
//! connections to the platform. Each simulated device connects to this in-process bridge as if
//! it were the platform; every frame it writes is published at QoS 1 to `<prefix>/<MN>/up`, and
//! what the platform publishes on `<prefix>/<MN>/down` (9014, 9013, requests) is written back to
//! that device's connection — so the simulator's acks, resends and request answers work as over
//! TCP, with the broker in between.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hj212::{Decoder, DecoderConfig, Mode};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

type Routes = Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Vec<u8>>>>>;

/// Starts the bridge to the broker at `url` (`mqtt://…`, as `serve --mqtt`) for topics under
/// `prefix`; returns the local address the simulated devices connect to, once the bridge is
/// subscribed to the platform's answers.
pub async fn start(url: &str, prefix: &str) -> anyhow::Result<SocketAddr> {
    let cfg = ingest::MqttConfig::from_url(url).map_err(|e| anyhow::anyhow!("--mqtt: {e}"))?;
    if prefix.is_empty() || prefix.contains(['+', '#']) {
        anyhow::bail!("--mqtt-prefix {prefix:?}: a topic prefix without wildcards");
    }
    let client_id = if url.contains("client_id=") {
        cfg.client_id.clone()
    } else {
        format!("qingshan-sim-{}", std::process::id())
    };
    let mut opts = MqttOptions::new(client_id, cfg.host.clone(), cfg.port);
    opts.set_keep_alive(Duration::from_secs(30))
        .set_max_packet_size(1 << 20, 1 << 20)
        .set_inflight(1000);
    if let Some(u) = &cfg.username {
        opts.set_credentials(u.clone(), cfg.password.clone().unwrap_or_default());
    }
    let (client, mut eventloop) = AsyncClient::new(opts, 4096);
    let routes: Routes = Arc::default();
    let down = format!("{prefix}/+/down");
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<(), String>>();
    {
        let routes = routes.clone();
        let client = client.clone();
        tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            let mut failures = 0u32;
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        failures = 0;
                        let _ = client.try_subscribe(down.clone(), QoS::AtLeastOnce);
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        if let Some(r) = ready.take() {
                            let _ = r.send(Ok(()));
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        // <prefix>/<MN>/down
                        let mn = p.topic.rsplit('/').nth(1).unwrap_or_default();
                        let to = routes
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get(mn)
                            .cloned();
                        if let Some(to) = to {
                            let _ = to.send(p.payload.to_vec());
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        failures += 1;
                        if failures >= 20 {
                            if let Some(r) = ready.take() {
                                let _ = r.send(Err(e.to_string()));
                                return;
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        });
    }
    match ready_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => anyhow::bail!("--mqtt {url}: cannot reach the broker: {e}"),
        Err(_) => anyhow::bail!("--mqtt {url}: the bridge stopped"),
    }
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let prefix = prefix.to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(device_link(
                stream,
                client.clone(),
                routes.clone(),
                prefix.clone(),
            ));
        }
    });
    Ok(addr)
}

/// One simulated device's connection: its frames out as messages, its answers back in.
async fn device_link(stream: TcpStream, client: AsyncClient, routes: Routes, prefix: String) {
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        while let Some(b) = rx.recv().await {
            if wr.write_all(&b).await.is_err() {
                break;
            }
        }
    });
    let mut decoder = Decoder::new(DecoderConfig::new(Mode::Lenient));
    let mut buf = vec![0u8; 16 * 1024];
    let mut mns: Vec<String> = Vec::new();
    'read: while let Ok(n) = rd.read(&mut buf).await {
        if n == 0 {
            break;
        }
        decoder.feed(&buf[..n]);
        while let Some(f) = decoder.next_frame() {
            let Ok(f) = f else { continue };
            let mn = f.packet.mn().to_string();
            if !mns.contains(&mn) {
                routes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(mn.clone(), tx.clone());
                mns.push(mn.clone());
            }
            let topic = format!("{prefix}/{mn}/up");
            if client
                .publish(topic, QoS::AtLeastOnce, false, f.raw)
                .await
                .is_err()
            {
                break 'read;
            }
        }
    }
    {
        let mut r = routes.lock().unwrap_or_else(|e| e.into_inner());
        for mn in &mns {
            if r.get(mn).is_some_and(|s| s.same_channel(&tx)) {
                r.remove(mn);
            }
        }
    }
    drop(tx);
    writer.abort();
}
