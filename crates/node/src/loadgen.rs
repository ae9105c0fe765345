//! `rucksack bench-http`: signed order entry against a running server, measured open-loop.
//!
//! Requests are signed before the clock starts (each with its own client id, so no two are the
//! same), spread over many keys, and sent over keep-alive connections. In open-loop mode each
//! request has a scheduled send time and its latency counts from that time, so a stalled server
//! shows up as latency instead of silently lowering the offered load. The same run measures how
//! many ED25519 verifications per second the machine manages alone, since signature checks are
//! the gateway's main CPU cost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufStream};
use tokio::net::TcpStream;

use rucksack_api::auth::{ApiKeyText, Credentials, RequestParts, Signer};
use rucksack_api::server::now_ms;

use crate::admin::Admin;

pub struct LoadOptions {
    pub server: String,
    pub keys: usize,
    pub connections: usize,
    pub seconds: u64,
    /// Orders per second to offer; `None` finds the maximum first, then measures latency at
    /// half of it.
    pub rate: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct RunReport {
    pub offered_rate: Option<u64>,
    pub sent: u64,
    pub accepted: u64,
    pub failed: u64,
    pub seconds: f64,
    pub latency_us: Histogram<u64>,
}

impl RunReport {
    pub fn throughput(&self) -> f64 {
        self.accepted as f64 / self.seconds
    }

    fn json(&self) -> Value {
        let q = |p: f64| self.latency_us.value_at_quantile(p);
        json!({
            "offeredRate": self.offered_rate,
            "sent": self.sent,
            "accepted": self.accepted,
            "failed": self.failed,
            "seconds": self.seconds,
            "ordersPerSecond": self.throughput().round(),
            "latencyMicros": { "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "p999": q(0.999), "max": self.latency_us.max() },
        })
    }
}

/// ED25519 verifications per second with `threads` threads, through the gateway's own
/// verification path (signing-string rebuild included).
pub fn verify_throughput(threads: usize, duration: Duration) -> f64 {
    let signer = Signer::from_seed(&[7; 32]);
    let body =
        br#"{"clientId":1,"orderType":"Limit","price":"10.00","quantity":"0.01","side":"Bid","symbol":"SOL_USDC"}"#;
    let parts = RequestParts { method: "POST", path: "/api/v1/order", query: None, body };
    let now = now_ms();
    let Ok(signed) = signer.sign_request(&parts, now, Some(60_000)) else {
        return 0.0;
    };
    let signed = Arc::new(signed);
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let signed = signed.clone();
            std::thread::spawn(move || {
                let parts = RequestParts { method: "POST", path: "/api/v1/order", query: None, body };
                // As the gateway does: the key decompressed once, then per request the header
                // parse, the signing-string rebuild and the signature check.
                let Ok(key) = Credentials::from_headers(&signed.auth_headers())
                    .and_then(|c| c.api_key().verifying_key().ok_or(rucksack_api::auth::AuthError::InvalidApiKey))
                else {
                    return 0;
                };
                let mut count = 0u64;
                while started.elapsed() < duration {
                    let verified = Credentials::from_headers(&signed.auth_headers())
                        .and_then(|credentials| credentials.verify_request_with(&key, &parts));
                    if verified.is_ok() {
                        count += 1;
                    }
                }
                count
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    total as f64 / started.elapsed().as_secs_f64()
}

/// One pre-built HTTP request.
type Wire = Vec<u8>;

fn host_of(server: &str) -> anyhow::Result<String> {
    Ok(server
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("the server URL must start with http://"))?
        .trim_end_matches('/')
        .to_string())
}

/// Signs `count` limit orders spread over `signers`; they rest far below the market, so every
/// one is a full place-and-rest through the engine.
fn presign(signers: &[Signer], host: &str, count: usize, first_client_id: u64) -> anyhow::Result<Vec<Wire>> {
    let now = now_ms();
    let mut requests = Vec::with_capacity(count);
    for i in 0..count {
        let signer = &signers[i % signers.len()];
        let client_id = first_client_id + i as u64;
        let price = format!("{}.{:02}", 1 + (i % 40), i % 100);
        let body = format!(
            r#"{{"clientId":{client_id},"orderType":"Limit","postOnly":true,"price":"{price}","quantity":"0.01","side":"Bid","symbol":"SOL_USDC"}}"#
        );
        let parts = RequestParts { method: "POST", path: "/api/v1/order", query: None, body: body.as_bytes() };
        let signed = signer.sign_request(&parts, now, Some(60_000)).map_err(|e| anyhow::anyhow!("signing: {e}"))?;
        let mut wire = format!(
            "POST /api/v1/order HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in signed.pairs() {
            wire.push_str(&format!("{name}: {value}\r\n"));
        }
        wire.push_str("\r\n");
        wire.push_str(&body);
        requests.push(wire.into_bytes());
    }
    Ok(requests)
}

/// Sends one request on a keep-alive connection and reads the status and body.
async fn exchange(stream: &mut BufStream<TcpStream>, request: &[u8], line: &mut String) -> std::io::Result<u16> {
    stream.write_all(request).await?;
    stream.flush().await?;
    line.clear();
    stream.read_line(line).await?;
    let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut length = 0usize;
    loop {
        line.clear();
        if stream.read_line(line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await?;
    Ok(status)
}

/// Sends `requests` over `connections`. Closed loop (no `rate`): each connection sends its next
/// request as soon as the last one is answered. Open loop: a dispatcher thread releases request
/// `i` at `i / rate` seconds (a thread's sleep is far finer than the async timer's millisecond)
/// and any idle connection takes it; latency counts from the scheduled time.
async fn run(host: &str, requests: Arc<Vec<Wire>>, connections: usize, rate: Option<u64>) -> anyhow::Result<RunReport> {
    // Every connection is open before the clock starts, so no measured request pays for a
    // TCP handshake.
    let mut streams = Vec::with_capacity(connections);
    for _ in 0..connections {
        let tcp = TcpStream::connect(host).await.with_context(|| format!("connecting to {host}"))?;
        tcp.set_nodelay(true)?;
        streams.push(BufStream::new(tcp));
    }
    let (due_tx, due_rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let due_rx = Arc::new(tokio::sync::Mutex::new(due_rx));
    let started = Instant::now();
    let total = requests.len();
    let dispatcher = std::thread::spawn(move || {
        for i in 0..total {
            let due = match rate {
                Some(rate) => {
                    let due = started + Duration::from_nanos(i as u64 * 1_000_000_000 / rate.max(1));
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    due
                }
                None => started,
            };
            if due_tx.send((i, due)).is_err() {
                return;
            }
        }
    });
    let mut tasks = Vec::new();
    for (connection, mut stream) in streams.into_iter().enumerate() {
        let requests = requests.clone();
        let due_rx = due_rx.clone();
        tasks.push(tokio::spawn(async move {
            let mut histogram =
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| anyhow::anyhow!("{e}"))?;
            let (mut accepted, mut failed) = (0u64, 0u64);
            let mut line = String::new();
            loop {
                let next = due_rx.lock().await.recv().await;
                let Some((i, due)) = next else { break };
                // Closed loop measures service time from the actual send.
                let from = if rate.is_some() { due } else { Instant::now() };
                match exchange(&mut stream, &requests[i], &mut line).await {
                    Ok(200) => accepted += 1,
                    Ok(_) => failed += 1,
                    Err(error) => return Err(anyhow::anyhow!("connection {connection}: {error}")),
                }
                let _ = histogram.record((from.elapsed().as_micros() as u64).max(1));
            }
            anyhow::Ok((histogram, accepted, failed))
        }));
    }
    let mut latency_us = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (mut accepted, mut failed) = (0, 0);
    for task in tasks {
        let (histogram, a, f) = task.await??;
        latency_us.add(&histogram).map_err(|e| anyhow::anyhow!("{e}"))?;
        accepted += a;
        failed += f;
    }
    let _ = dispatcher.join();
    Ok(RunReport {
        offered_rate: rate,
        sent: requests.len() as u64,
        accepted,
        failed,
        seconds: started.elapsed().as_secs_f64(),
        latency_us,
    })
}

pub fn bench(options: LoadOptions, admin: &Admin) -> anyhow::Result<Value> {
    let host = host_of(&options.server)?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let verify_rate = verify_throughput(cores, Duration::from_secs(2));
    eprintln!("ED25519 verification alone: {verify_rate:.0}/s on {cores} threads");

    let mut signers = Vec::with_capacity(options.keys);
    for _ in 0..options.keys.max(1) {
        let created = admin.create_account(&[("USDC".into(), "100000000".into())])?;
        let secret = created["apiSecret"].as_str().unwrap_or_default();
        signers.push(Signer::from_secret_base64(secret).map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut client_id = 1u64;
    let mut measure = |rate: Option<u64>, count: usize| -> anyhow::Result<RunReport> {
        let requests = Arc::new(presign(&signers, &host, count, client_id)?);
        client_id += count as u64;
        runtime.block_on(run(&host, requests, options.connections.max(1), rate))
    };
    let mut result = json!({ "verifyPerSecond": verify_rate.round(), "threads": cores });
    let max = match options.rate {
        Some(_) => None,
        None => {
            // Closed loop: as fast as the server answers.
            let estimate = (verify_rate as u64).max(1_000);
            let report = measure(None, (estimate * options.seconds / 2) as usize)?;
            eprintln!("maximum: {:.0} orders/s ({} failed)", report.throughput(), report.failed);
            result["maximum"] = report.json();
            result["ratioToVerification"] = json!(((report.throughput() / verify_rate) * 1_000.0).round() / 1_000.0);
            Some(report.throughput())
        }
    };
    let rate = options.rate.unwrap_or_else(|| (max.unwrap_or(1_000.0) / 2.0) as u64).max(1);
    let report = measure(Some(rate), (rate * options.seconds) as usize)?;
    eprintln!(
        "open loop at {rate}/s: {:.0} orders/s, p50 {} µs, p99 {} µs, p99.9 {} µs",
        report.throughput(),
        report.latency_us.value_at_quantile(0.5),
        report.latency_us.value_at_quantile(0.99),
        report.latency_us.value_at_quantile(0.999)
    );
    result["openLoop"] = report.json();
    Ok(result)
}
