//! The WebSocket API against a real `rucksack serve`: public and private streams, the depth
//! synchronisation contract with REST, error frames, unsubscribe, and slow consumers.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rucksack_node::client::ApiClient;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use support::{Server, ok};

/// Longest wait for an expected frame.
const PATIENCE: Duration = Duration::from_secs(15);

struct Ws {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Frames read while waiting for another stream's, kept for the next wait: streams'
    /// frames need not arrive in the order a test asks for them.
    held: Vec<Value>,
}

impl Ws {
    async fn connect(server: &Server, path: &str) -> Ws {
        let url = format!("{}{path}", server.url.replace("http://", "ws://"));
        let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
        Ws { socket, held: Vec::new() }
    }

    async fn send(&mut self, frame: Value) {
        self.socket.send(Message::text(frame.to_string())).await.expect("send");
    }

    async fn send_text(&mut self, text: &str) {
        self.socket.send(Message::text(text)).await.expect("send");
    }

    /// The next text frame as JSON.
    async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a frame in time")
                .expect("socket open")
                .expect("frame");
            if let Message::Text(text) = message {
                return serde_json::from_str(text.as_str()).expect("frames are JSON");
            }
        }
    }

    /// The next frame of `stream` whose data satisfies `wanted`, skipping others.
    async fn next_on(&mut self, stream: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let matches = |frame: &Value| frame["stream"] == stream && wanted(&frame["data"]);
        if let Some(at) = self.held.iter().position(matches) {
            return self.held.remove(at)["data"].clone();
        }
        loop {
            let frame = self.next().await;
            if matches(&frame) {
                return frame["data"].clone();
            }
            self.held.push(frame);
        }
    }

    /// Subscribes, then waits until the server has read the request: an invalid frame sent right
    /// after is answered only once the subscription reached the hub.
    async fn subscribe(&mut self, streams: &[&str], signature: Option<[String; 4]>) {
        let mut frame = json!({ "method": "SUBSCRIBE", "params": streams });
        if let Some(signature) = signature {
            frame["signature"] = json!(signature);
        }
        self.send(frame).await;
        self.barrier().await;
    }

    async fn barrier(&mut self) {
        self.send_text("not json").await;
        loop {
            let frame = self.next().await;
            if frame.get("error").is_some() {
                assert_eq!(frame, json!({ "id": null, "error": { "code": 4002, "message": "Parse error" } }));
                return;
            }
        }
    }
}

fn venue() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("venue"), &["--no-demo-bots"]);
    (dir, server)
}

fn limit(client: &ApiClient, side: &str, price: &str, quantity: &str) -> Value {
    let order =
        json!({ "symbol": "SOL_USDC", "side": side, "orderType": "Limit", "price": price, "quantity": quantity });
    ok(client, "POST", "/api/v1/order", None, Some(&order))
}

fn cancel(client: &ApiClient, id: &str) -> Value {
    ok(client, "DELETE", "/api/v1/order", None, Some(&json!({ "symbol": "SOL_USDC", "orderId": id })))
}

fn signature(client: &ApiClient) -> [String; 4] {
    client.signer.sign_subscribe(rucksack_api::server::now_ms(), 5_000).ws_signature()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_streams_report_book_trades_and_candles() {
    let (_dir, server) = venue();
    let (_, maker) = server.account(&["USDC=100000", "SOL=1000"]);
    let (_, taker) = server.account(&["USDC=100000", "SOL=1000"]);
    let mut ws = Ws::connect(&server, "/ws").await;
    let streams = ["depth.SOL_USDC", "trade.SOL_USDC", "bookTicker.SOL_USDC", "ticker.SOL_USDC", "kline.1m.SOL_USDC"];
    ws.subscribe(&streams, None).await;

    let bid = limit(&maker, "Bid", "100.5", "2");
    let depth = ws.next_on("depth.SOL_USDC", |_| true).await;
    assert_eq!(depth["e"], "depth");
    assert_eq!(depth["s"], "SOL_USDC");
    assert_eq!(depth["b"], json!([["100.50", "2.00"]]));
    assert_eq!(depth["a"], json!([]));
    assert_eq!(depth["U"], depth["u"]);
    let rest: Value = maker.public("/api/v1/depth?symbol=SOL_USDC").unwrap().1;
    assert_eq!(rest["lastUpdateId"], depth["u"].to_string());
    let top = ws.next_on("bookTicker.SOL_USDC", |_| true).await;
    assert_eq!((top["b"].as_str(), top["B"].as_str(), &top["a"]), (Some("100.50"), Some("2.00"), &Value::Null));
    assert!(top["u"].is_u64(), "bookTicker u is a number: {top}");

    limit(&taker, "Ask", "100.5", "0.75");
    let trade = ws.next_on("trade.SOL_USDC", |_| true).await;
    assert_eq!((trade["p"].as_str(), trade["q"].as_str()), (Some("100.50"), Some("0.75")));
    assert_eq!(trade["b"], bid["id"]);
    assert_eq!(trade["m"], true, "the buyer was the maker");
    assert!(trade["t"].is_u64() && trade["T"].as_u64().unwrap() > 1_600_000_000_000_000);
    let after = ws.next_on("depth.SOL_USDC", |_| true).await;
    assert_eq!(after["b"], json!([["100.50", "1.25"]]));
    assert_eq!(after["U"].as_u64().unwrap(), depth["u"].as_u64().unwrap() + 1);

    let ticker = ws.next_on("ticker.SOL_USDC", |d| d["n"] == 1).await;
    assert_eq!(
        (ticker["o"].as_str(), ticker["c"].as_str(), ticker["v"].as_str()),
        (Some("100.50"), Some("100.50"), Some("0.75"))
    );
    assert_eq!(ticker["V"], "75.375000");
    let kline = ws.next_on("kline.1m.SOL_USDC", |_| true).await;
    assert_eq!(
        (kline["o"].as_str(), kline["h"].as_str(), kline["n"].as_u64()),
        (Some("100.50"), Some("100.50"), Some(1))
    );
    assert_eq!(kline["X"], false);
    let start = kline["t"].as_str().unwrap();
    assert!(start.len() == 19 && start.ends_with(":00") && start.contains('T'), "{start}");
    server.stop();
}

/// Applies a depth frame's absolute levels to one side of a local book.
fn apply(side: &mut BTreeMap<String, String>, levels: &Value) {
    for level in levels.as_array().unwrap() {
        let (price, size) = (level[0].as_str().unwrap(), level[1].as_str().unwrap());
        if size.trim_start_matches(['0', '.']).is_empty() {
            side.remove(price);
        } else {
            side.insert(price.to_string(), size.to_string());
        }
    }
}

fn book(levels: &Value) -> BTreeMap<String, String> {
    let mut side = BTreeMap::new();
    apply(&mut side, levels);
    side
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_book_rebuilt_from_rest_and_deltas_equals_rest_depth() {
    let (_dir, server) = venue();
    let (_, maker) = server.account(&["USDC=1000000", "SOL=10000"]);
    let (_, taker) = server.account(&["USDC=1000000", "SOL=10000"]);
    // The bare root path, as ccxt and the venue's SDK connect.
    let mut ws = Ws::connect(&server, "/").await;
    ws.subscribe(&["depth.SOL_USDC"], None).await;
    limit(&maker, "Bid", "90", "1");
    let mut buffered = vec![ws.next_on("depth.SOL_USDC", |_| true).await];

    let snapshot: Value = maker.public("/api/v1/depth?symbol=SOL_USDC&limit=1000").unwrap().1;
    let mut ids = Vec::new();
    for i in 0..40u32 {
        let price = format!("{}.{:02}", 95 + i % 5, i * 7 % 100);
        let ask = format!("{}.{:02}", 100 + i % 5, i * 3 % 100);
        ids.push(limit(&maker, "Bid", &price, "1.5")["id"].as_str().unwrap().to_string());
        limit(&maker, "Ask", &ask, "2");
        if i % 3 == 0 {
            limit(&taker, "Ask", "96", "1");
        }
        if i % 4 == 1 {
            cancel(&maker, &ids[ids.len() - 2]);
        }
    }
    let last: Value = maker.public("/api/v1/depth?symbol=SOL_USDC&limit=1000").unwrap().1;
    let target: u64 = last["lastUpdateId"].as_str().unwrap().parse().unwrap();
    while buffered.last().unwrap()["u"].as_u64().unwrap() < target {
        buffered.push(ws.next_on("depth.SOL_USDC", |_| true).await);
    }

    // §4.3: drop deltas with u <= L; the first kept one spans L + 1; then each follows the last.
    let snapshot_id: u64 = snapshot["lastUpdateId"].as_str().unwrap().parse().unwrap();
    let (mut bids, mut asks) = (book(&snapshot["bids"]), book(&snapshot["asks"]));
    let mut last_u = snapshot_id;
    let mut applied = 0;
    for delta in buffered.iter().filter(|d| d["u"].as_u64().unwrap() > snapshot_id) {
        let (first, final_id) = (delta["U"].as_u64().unwrap(), delta["u"].as_u64().unwrap());
        if applied == 0 {
            assert!(first <= snapshot_id + 1 && snapshot_id < final_id, "first delta spans the snapshot");
        } else {
            assert_eq!(first, last_u + 1, "deltas are contiguous");
        }
        apply(&mut bids, &delta["b"]);
        apply(&mut asks, &delta["a"]);
        last_u = final_id;
        applied += 1;
    }
    assert!(applied > 40, "the burst produced deltas ({applied})");
    assert_eq!(last_u, target);
    assert_eq!(bids, book(&last["bids"]));
    assert_eq!(asks, book(&last["asks"]));
    assert!(!bids.is_empty() && !asks.is_empty());
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_the_venues_error_frames() {
    let (_dir, server) = venue();
    let mut ws = Ws::connect(&server, "/ws/").await;
    let error = |code: u16, message: &str| json!({ "id": null, "error": { "code": code, "message": message } });
    ws.send_text("{").await;
    assert_eq!(ws.next().await, error(4002, "Parse error"));
    ws.send(json!({ "method": "LIST", "params": [] })).await;
    assert_eq!(ws.next().await, error(4002, "Parse error"));
    ws.send(json!({ "method": "SUBSCRIBE", "params": ["candles.SOL_USDC"], "id": 7 })).await;
    assert_eq!(ws.next().await, error(4006, "Invalid stream"));
    ws.send(json!({ "method": "SUBSCRIBE", "params": ["depth.100ms.SOL_USDC"] })).await;
    assert_eq!(ws.next().await, error(4008, "Invalid depth window"));
    // An unknown symbol earns no reply at all: the next frame answers the next request.
    ws.send(json!({ "method": "SUBSCRIBE", "params": ["trade.NOPE_USDC", "depth.600ms.SOL_USDC"] })).await;
    ws.send_text("[]").await;
    assert_eq!(ws.next().await, error(4002, "Parse error"));
    // Private streams need a valid signature.
    ws.send(json!({ "method": "SUBSCRIBE", "params": ["account.orderUpdate"] })).await;
    assert_eq!(ws.next().await, error(4001, "Invalid signature"));
    let (_, trader) = server.account(&["USDC=1000"]);
    let mut forged = signature(&trader);
    forged[2] = (forged[2].parse::<u64>().unwrap() + 1).to_string();
    ws.send(json!({ "method": "SUBSCRIBE", "params": ["account.balanceUpdate"], "signature": forged })).await;
    assert_eq!(ws.next().await, error(4001, "Invalid signature"));
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_streams_report_orders_fills_and_balances() {
    let (_dir, server) = venue();
    let (_, maker) = server.account(&["USDC=100000", "SOL=1000"]);
    let (_, taker) = server.account(&["USDC=100000", "SOL=1000"]);
    let mut maker_ws = Ws::connect(&server, "/ws").await;
    maker_ws.subscribe(&["account.orderUpdate", "account.balanceUpdate"], Some(signature(&maker))).await;
    let mut taker_ws = Ws::connect(&server, "/ws").await;
    taker_ws.subscribe(&["account.orderUpdate.SOL_USDC"], Some(signature(&taker))).await;

    let order = json!({ "symbol": "SOL_USDC", "side": "Ask", "orderType": "Limit", "price": "120", "quantity": "3", "clientId": 42 });
    let placed = ok(&maker, "POST", "/api/v1/order", None, Some(&order));
    let accepted = maker_ws.next_on("account.orderUpdate", |d| d["e"] == "orderAccepted").await;
    assert_eq!(accepted["i"], placed["id"]);
    assert_eq!(
        (accepted["S"].as_str(), accepted["o"].as_str(), accepted["f"].as_str()),
        (Some("Ask"), Some("LIMIT"), Some("GTC"))
    );
    assert_eq!(
        (accepted["p"].as_str(), accepted["q"].as_str(), accepted["X"].as_str()),
        (Some("120.00"), Some("3.00"), Some("New"))
    );
    assert_eq!(accepted["c"], 42);
    let locked = maker_ws.next_on("account.balanceUpdate", |d| d["a"] == "SOL").await;
    assert_eq!(
        (locked["e"].as_str(), locked["A"].as_str(), locked["L"].as_str()),
        (Some("balanceUpdate"), Some("997.000000000"), Some("3.000000000"))
    );

    let taken = limit(&taker, "Bid", "120", "1");
    let taker_fill = taker_ws.next_on("account.orderUpdate.SOL_USDC", |d| d["e"] == "orderFill").await;
    assert_eq!(taker_fill["i"], taken["id"]);
    assert_eq!(
        (taker_fill["l"].as_str(), taker_fill["L"].as_str(), taker_fill["m"].as_bool()),
        (Some("1.00"), Some("120.00"), Some(false))
    );
    assert_eq!(
        (taker_fill["X"].as_str(), taker_fill["z"].as_str(), taker_fill["N"].as_str()),
        (Some("Filled"), Some("1.00"), Some("USDC"))
    );
    assert!(taker_fill["t"].is_u64() && taker_fill["n"].is_string() && taker_fill["Z"] == "120.000000");
    let maker_fill = maker_ws.next_on("account.orderUpdate", |d| d["e"] == "orderFill").await;
    assert_eq!(
        (maker_fill["m"].as_bool(), maker_fill["X"].as_str(), maker_fill["z"].as_str()),
        (Some(true), Some("PartiallyFilled"), Some("1.00"))
    );
    assert_eq!(maker_fill["t"], taker_fill["t"]);
    let usdc = maker_ws.next_on("account.balanceUpdate", |d| d["a"] == "USDC").await;
    assert!(usdc["A"].as_str().unwrap().starts_with("1001"), "{usdc}");

    cancel(&maker, placed["id"].as_str().unwrap());
    let cancelled = maker_ws.next_on("account.orderUpdate", |d| d["e"] == "orderCancelled").await;
    assert_eq!((cancelled["X"].as_str(), cancelled["z"].as_str()), (Some("Cancelled"), Some("1.00")));
    // The taker's socket carries only its own account.
    taker_ws.barrier().await;
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_stops_the_data() {
    let (_dir, server) = venue();
    let (_, maker) = server.account(&["USDC=100000", "SOL=1000"]);
    let mut ws = Ws::connect(&server, "/ws").await;
    let mut witness = Ws::connect(&server, "/ws").await;
    ws.subscribe(&["depth.SOL_USDC", "depth.SOL_USDC"], None).await;
    witness.subscribe(&["depth.SOL_USDC"], None).await;
    limit(&maker, "Bid", "50", "1");
    let first = ws.next_on("depth.SOL_USDC", |_| true).await;
    witness.next_on("depth.SOL_USDC", |_| true).await;
    // Subscribing twice was one subscription: the next frame is the answer to a bad request.
    ws.barrier().await;

    ws.send(json!({ "method": "UNSUBSCRIBE", "params": ["depth.SOL_USDC"] })).await;
    ws.barrier().await;
    limit(&maker, "Bid", "51", "1");
    let seen = witness.next_on("depth.SOL_USDC", |_| true).await;
    assert_eq!(seen["U"].as_u64(), first["u"].as_u64().map(|u| u + 1));
    // The hub handled that batch for both sockets before the witness saw it.
    ws.barrier().await;
    server.stop();
}

fn metric(server: &Server, name: &str) -> f64 {
    let response = rucksack_node::http::request(&server.url, "GET", "/metrics", &[], None).unwrap();
    response
        .body
        .lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or(0.0)
}

fn resident_kib(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_dropped_while_others_keep_receiving() {
    let (_dir, server) = venue();
    let (_, maker) = server.account(&["USDC=10000000", "SOL=100000"]);
    let streams = ["depth.SOL_USDC", "bookTicker.SOL_USDC", "account.orderUpdate"];
    // A client that subscribes and then never reads again.
    let mut slow = Ws::connect(&server, "/ws").await;
    slow.subscribe(&streams, Some(signature(&maker))).await;
    let mut fast = Ws::connect(&server, "/ws").await;
    fast.subscribe(&streams, Some(signature(&maker))).await;
    let before = resident_kib(&server);

    let orders: Vec<Value> = (0..50)
        .map(|i| json!({ "symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": format!("{}.{:02}", 10 + i, i), "quantity": "1" }))
        .collect();
    let mut rounds = 0;
    while metric(&server, "rucksack_ws_slow_consumer_disconnects_total") < 1.0 {
        assert!(rounds < 2_000, "the slow client was never dropped");
        ok(&maker, "POST", "/api/v1/orders", None, Some(&Value::Array(orders.clone())));
        ok(&maker, "DELETE", "/api/v1/orders", None, Some(&json!({ "symbol": "SOL_USDC" })));
        // The fast client keeps up.
        while let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_millis(1), fast.socket.next()).await {}
        rounds += 1;
    }
    let grown = resident_kib(&server).saturating_sub(before);
    assert!(grown < 256 * 1024, "server memory grew by {grown} KiB");

    // The fast client still gets every frame.
    limit(&maker, "Ask", "999", "1");
    fast.next_on("account.orderUpdate", |d| d["e"] == "orderAccepted" && d["p"] == "999.00").await;
    // The slow one, once it reads again, finds its stream ended.
    let ended = async {
        loop {
            match slow.socket.next().await {
                None | Some(Err(_)) => return None,
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.reason.to_string()),
                Some(Ok(_)) => {}
            }
        }
    };
    let reason = tokio::time::timeout(Duration::from_secs(60), ended).await.expect("the slow stream ends");
    if let Some(reason) = reason {
        assert_eq!(reason, "slow consumer");
    }
    server.stop();
}
