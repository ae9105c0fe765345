//! `rucksack bench-ws`: WebSocket fan-out under load. Many loopback clients subscribe to one
//! market's depth, trade and bookTicker streams while traders drive orders (single or in batch
//! requests) through the real server over signed REST; reports frames delivered per second, the
//! latency from each frame's `E` (when the engine thread handed the batch over) to its receipt,
//! how long each round of the fan-out takes to reach its first and its last client, and — given
//! the server's pid — the server's memory with a client attached that never reads.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::admin::Admin;
use crate::client::ApiClient;

pub struct WsBenchOptions {
    pub server: String,
    pub symbol: String,
    pub clients: usize,
    pub traders: usize,
    /// Orders per request: 1 places single orders, more sends batch requests (at most
    /// [`MAX_ORDERS_PER_REQUEST`]).
    pub orders_per_request: usize,
    pub seconds: u64,
    /// Orders per second offered by all traders together; `None`: as fast as the server takes
    /// them.
    pub rate: Option<u64>,
    /// The server's process id, to report its resident memory.
    pub server_pid: Option<u32>,
}

fn now_micros() -> u64 {
    rucksack_api::stream::wall_clock().0
}

/// `"E":<digits>` of a frame, without parsing the rest.
fn event_time(text: &str) -> Option<u64> {
    let at = text.find("\"E\":")? + 4;
    let digits: &str = &text[at..];
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    digits[..end].parse().ok()
}

fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")
}

/// Rounds a reader remembers; beyond this, a long saturated run only counts frames.
const ROUNDS_KEPT: usize = 20_000;

/// What one reader saw while measuring: every frame's latency, and for each fan-out round (the
/// frames sharing one `E`) the latency of its first frame, so the rounds' spread over the
/// clients can be told from the latency of each frame.
struct Reception {
    latency: Histogram<u64>,
    delivered: u64,
    rounds: Vec<(u64, u64)>,
}

impl Reception {
    fn new() -> Reception {
        Reception { latency: latency_histogram(), delivered: 0, rounds: Vec::new() }
    }

    fn record(&mut self, event: Option<u64>) {
        self.delivered += 1;
        let Some(event) = event else { return };
        let micros = now_micros().saturating_sub(event).max(1);
        let _ = self.latency.record(micros);
        if self.rounds.len() < ROUNDS_KEPT && self.rounds.last().is_none_or(|(last, _)| *last != event) {
            self.rounds.push((event, micros));
        }
    }
}

/// The most orders one batch request may carry.
pub const MAX_ORDERS_PER_REQUEST: usize = 50;

/// Orders a trader places between two cancel-alls of its resting orders.
const CANCEL_EVERY: u64 = 1_000;

/// One trader's load: requests of `orders` orders around a fixed mid, one per `every` (or as
/// fast as they are answered).
struct Load {
    symbol: String,
    orders: usize,
    every: Option<Duration>,
}

/// Places orders around a fixed mid until `stop`, half of them bids, and clears its resting
/// orders now and then; returns the orders placed.
fn trade(client: ApiClient, load: Arc<Load>, seed: u64, stop: Arc<AtomicBool>) -> u64 {
    let mut placed = 0u64;
    let mut due = Instant::now();
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let (mut requests, mut since_cancel) = (0u64, 0u64);
    while !stop.load(Ordering::Relaxed) {
        if let Some(every) = load.every {
            due += every;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        let orders: Vec<Value> = (0..load.orders)
            .map(|i| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let offset = (state >> 33) % 200;
                let side = if (i as u64 + requests).is_multiple_of(2) { "Bid" } else { "Ask" };
                // Bids 99.00-100.99, asks 100.00-101.99: about a third of the orders cross.
                let cents = if side == "Bid" { 9_900 + offset } else { 10_000 + offset };
                let price = format!("{}.{:02}", cents / 100, cents % 100);
                json!({ "symbol": load.symbol, "side": side, "orderType": "Limit", "price": price, "quantity": "1" })
            })
            .collect();
        let placed_now = if let [order] = &orders[..] {
            matches!(client.call("POST", "/api/v1/order", None, Some(order)), Ok((200, _)))
        } else {
            matches!(client.call("POST", "/api/v1/orders", None, Some(&Value::Array(orders))), Ok((200, _)))
        };
        if placed_now {
            placed += load.orders as u64;
        }
        requests += 1;
        since_cancel += load.orders as u64;
        if since_cancel >= CANCEL_EVERY {
            since_cancel = 0;
            let _ = client.call("DELETE", "/api/v1/orders", None, Some(&json!({ "symbol": load.symbol })));
        }
    }
    placed
}

/// Each read attempt zero-fills the read buffer's free space; frames here are small.
fn client_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(16 * 1024)
}

pub fn run(options: WsBenchOptions, admin: &Admin) -> anyhow::Result<Value> {
    let per_request = options.orders_per_request.clamp(1, MAX_ORDERS_PER_REQUEST);
    let funds = [("USDC".to_string(), "100000000".to_string()), ("SOL".to_string(), "1000000".to_string())];
    let mut traders = Vec::new();
    for _ in 0..options.traders.max(1) {
        let created = admin.create_account(&funds)?;
        let secret = created["apiSecret"].as_str().ok_or_else(|| anyhow::anyhow!("no secret in {created}"))?;
        traders.push(ApiClient::new(&options.server, secret)?);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let ws_url = format!("{}/ws", options.server.replace("http://", "ws://"));
    let streams: Vec<String> =
        ["depth", "trade", "bookTicker"].iter().map(|kind| format!("{kind}.{}", options.symbol)).collect();
    let subscribe = json!({ "method": "SUBSCRIBE", "params": streams }).to_string();

    runtime.block_on(async move {
        let measuring = Arc::new(AtomicBool::new(false));
        let (done_tx, done) = tokio::sync::watch::channel(false);
        let mut readers = Vec::new();
        for _ in 0..options.clients {
            let (mut socket, _) =
                tokio_tungstenite::connect_async_with_config(&ws_url, Some(client_config()), true).await?;
            socket.send(Message::text(subscribe.clone())).await?;
            let (measuring, mut done) = (measuring.clone(), done.clone());
            readers.push(tokio::spawn(async move {
                let mut reception = Reception::new();
                loop {
                    let message = tokio::select! {
                        message = socket.next() => message,
                        _ = done.changed() => break,
                    };
                    let Some(Ok(message)) = message else { break };
                    if let Message::Text(text) = message
                        && measuring.load(Ordering::Relaxed)
                    {
                        reception.record(event_time(text.as_str()));
                    }
                }
                reception
            }));
        }
        // A client that subscribes and never reads again.
        let (mut slow, _) = tokio_tungstenite::connect_async(&ws_url).await?;
        slow.send(Message::text(subscribe.clone())).await?;
        let memory_before = options.server_pid.and_then(resident_kib);

        let stop = Arc::new(AtomicBool::new(false));
        // Each trader sends one request per `every` to offer `rate` orders per second.
        let every = options.rate.map(|rate| {
            let per_trader = rate.max(1) as f64 / traders.len() as f64 / per_request as f64;
            Duration::from_secs_f64(1.0 / per_trader)
        });
        let load = Arc::new(Load { symbol: options.symbol.clone(), orders: per_request, every });
        let workers: Vec<_> = traders
            .into_iter()
            .enumerate()
            .map(|(i, client)| {
                let (load, stop) = (load.clone(), stop.clone());
                std::thread::spawn(move || trade(client, load, i as u64 + 1, stop))
            })
            .collect();
        // Warm up, then measure.
        tokio::time::sleep(Duration::from_secs(2)).await;
        measuring.store(true, Ordering::Relaxed);
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs(options.seconds)).await;
        measuring.store(false, Ordering::Relaxed);
        let elapsed = started.elapsed().as_secs_f64();
        let memory_loaded = options.server_pid.and_then(resident_kib);
        stop.store(true, Ordering::Relaxed);
        let mut orders = 0;
        for worker in workers {
            orders += worker.join().unwrap_or(0);
        }
        let _ = done_tx.send(true);
        drop(slow);
        let mut latency = latency_histogram();
        let mut frames = 0u64;
        let mut rounds: HashMap<u64, (u64, u64)> = HashMap::new();
        for reader in readers {
            if let Ok(Ok(reception)) = tokio::time::timeout(Duration::from_secs(5), reader).await {
                latency.add(&reception.latency)?;
                frames += reception.delivered;
                for (event, micros) in reception.rounds {
                    let (first, last) = rounds.entry(event).or_insert((u64::MAX, 0));
                    (*first, *last) = ((*first).min(micros), (*last).max(micros));
                }
            }
        }
        let (mut first_client, mut last_client) = (latency_histogram(), latency_histogram());
        for (first, last) in rounds.values() {
            first_client.record(*first)?;
            last_client.record(*last)?;
        }
        let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1_000.0;
        anyhow::Ok(json!({
            "clients": options.clients,
            "traders": options.traders,
            "ordersPerRequest": per_request,
            "offeredOrdersPerSecond": options.rate,
            "streamsPerClient": 3,
            "seconds": elapsed,
            "ordersPlaced": orders,
            "framesDelivered": frames,
            "framesPerSecond": frames as f64 / elapsed,
            "latencyMs": {
                "p50": ms(&latency, 0.5), "p90": ms(&latency, 0.9), "p99": ms(&latency, 0.99),
                "p999": ms(&latency, 0.999), "max": latency.max() as f64 / 1_000.0,
            },
            "latencySamples": latency.len(),
            "rounds": {
                "count": rounds.len(),
                "firstClientMs": { "p50": ms(&first_client, 0.5), "p99": ms(&first_client, 0.99) },
                "lastClientMs": { "p50": ms(&last_client, 0.5), "p99": ms(&last_client, 0.99) },
            },
            "serverRssKiB": { "beforeLoad": memory_before, "underLoadWithSlowClient": memory_loaded },
        }))
    })
}
