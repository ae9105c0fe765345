//! Backpack's own Rust client, `bpx-api-client`, unmodified, against a real `rucksack serve`:
//! its strict serde types check every field of the wire format it reads.
//!
//! The venue runs without demo bots so every value is known: one account makes, another takes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bpx_api_client::BpxClient;
use bpx_api_client::types::fill::FillsHistoryParams;
use bpx_api_client::types::order::{
    BatchOrderResponse, CancelOpenOrdersPayload, ExecuteOrderPayload, Order, OrderStatus, OrderType, Side,
};
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_rucksack");
const READY: &str = "rucksack is serving on ";

/// A decimal from the client's types as its shortest text ("151.50" -> "151.5").
macro_rules! dec {
    ($value:expr) => {
        $value.normalize().to_string()
    };
}

/// A `rucksack serve` on a free loopback port: `stop` sends SIGTERM; dropping it kills it.
struct Server {
    child: Child,
    url: String,
    data_dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let mut child = Command::new(BINARY)
            .args(["serve", "--no-demo-bots", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data_dir.path().join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("rucksack serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let (ready, wait) = mpsc::channel();
        // Keeps reading so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix(READY) {
                    let _ = ready.send(url.trim().to_string());
                }
            }
        });
        let url = match wait.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!("rucksack serve did not print its ready line within 30 s");
            }
        };
        Server { child, url, data_dir }
    }

    /// `rucksack admin create-account --fund ...`: `{accountId, apiKey, apiSecret}`. (The admin
    /// command's HTTP calls time out on their own.)
    fn create_account(&self, funds: &[&str]) -> Value {
        let mut admin = Command::new(BINARY);
        admin
            .args(["admin", "--server", &self.url, "--data-dir"])
            .arg(self.data_dir.path().join("data"))
            .arg("create-account");
        for fund in funds {
            admin.args(["--fund", fund]);
        }
        let output = admin.output().expect("rucksack admin runs");
        assert!(output.status.success(), "create-account failed: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).expect("one JSON line")
    }

    fn client(&self, account: Option<&Value>) -> BpxClient {
        let mut builder = BpxClient::builder().base_url(&self.url).timeout(10);
        if let Some(account) = account {
            builder = builder.secret(account["apiSecret"].as_str().expect("apiSecret"));
        }
        builder.build().expect("client")
    }

    /// SIGTERM, then the exit status (killing the server if it does not stop in time).
    fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("rucksack serve ignored SIGTERM for 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn limit_order(side: Side, price: &str, quantity: &str) -> ExecuteOrderPayload {
    ExecuteOrderPayload {
        symbol: "SOL_USDC".into(),
        side,
        order_type: OrderType::Limit,
        price: Some(price.parse().expect("a price")),
        quantity: Some(quantity.parse().expect("a quantity")),
        ..ExecuteOrderPayload::default()
    }
}

fn limit(order: Order) -> bpx_api_client::types::order::LimitOrder {
    match order {
        Order::Limit(limit) => limit,
        Order::Market(market) => panic!("expected a limit order, got {market:?}"),
    }
}

fn now_seconds() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bpx_api_client_trades_on_rucksack() {
    let server = Server::start();
    tokio::time::timeout(Duration::from_secs(120), exercise(&server))
        .await
        .expect("the client session finishes within 120 s");
    let status = server.stop();
    assert!(status.success(), "rucksack serve exited with {status} on SIGTERM");
}

async fn exercise(server: &Server) {
    let public = server.client(None);
    let maker_account = server.create_account(&["USDC=100000", "SOL=1000"]);
    let taker_account = server.create_account(&["USDC=100000"]);
    let maker = server.client(Some(&maker_account));
    let taker = server.client(Some(&taker_account));

    // Markets and assets.
    let markets = public.get_markets().await.expect("markets");
    let symbols: Vec<&str> = markets.iter().map(|m| m.symbol.as_str()).collect();
    assert_eq!(symbols, ["SOL_USDC", "BTC_USDC", "ETH_USDC", "SOL_USDC_PERP", "BTC_USDC_PERP", "ETH_USDC_PERP"]);
    assert!(markets[3..].iter().all(|m| m.market_type == "PERP"), "the perpetuals parse as PERP");
    let sol = &markets[0];
    assert_eq!((sol.base_symbol.as_str(), sol.quote_symbol.as_str()), ("SOL", "USDC"));
    assert_eq!(sol.market_type, "SPOT");
    assert_eq!((sol.price_decimal_places(), sol.quantity_decimal_places()), (2, 2));
    assert_eq!(dec!(sol.filters.quantity.min_quantity), "0.01");
    let assets = public.get_assets().await.expect("assets");
    assert_eq!(assets.len(), 4);
    assert!(public.get_securities().await.expect("securities").is_empty());

    // A market that never traded still has a well-formed ticker.
    let ticker = public.get_ticker("SOL_USDC").await.expect("ticker before any trade");
    assert_eq!((dec!(ticker.last_price), ticker.trades.as_str()), ("0".into(), "0"));

    // Balances as funded.
    let balances = maker.get_balances().await.expect("balances");
    assert_eq!(dec!(balances["USDC"].available), "100000");
    assert_eq!(dec!(balances["SOL"].total()), "1000");

    // Resting orders, seen through depth and order queries.
    let ask = limit(
        maker
            .execute_order(ExecuteOrderPayload { client_id: Some(41), ..limit_order(Side::Ask, "151.5", "2") })
            .await
            .expect("ask"),
    );
    assert_eq!((ask.status, ask.side, ask.client_id), (OrderStatus::New, Side::Ask, Some(41)));
    assert_eq!((dec!(ask.price), dec!(ask.quantity)), ("151.5".into(), "2".into()));
    let bid = limit(
        maker
            .execute_order(ExecuteOrderPayload {
                client_id: Some(42),
                post_only: Some(true),
                ..limit_order(Side::Bid, "148.75", "1.25")
            })
            .await
            .expect("bid"),
    );
    assert!(bid.post_only);

    let depth = public.get_order_book_depth("SOL_USDC", None).await.expect("depth");
    let asks: Vec<(String, String)> = depth.asks.iter().map(|(p, q)| (dec!(p), dec!(q))).collect();
    let bids: Vec<(String, String)> = depth.bids.iter().map(|(p, q)| (dec!(p), dec!(q))).collect();
    assert_eq!(asks, [("151.5".to_string(), "2".to_string())]);
    assert_eq!(bids, [("148.75".to_string(), "1.25".to_string())]);
    assert!(depth.last_update_id > 0);

    let by_id = limit(maker.get_open_order("SOL_USDC", Some(&bid.id), None).await.expect("by id"));
    let by_client_id = limit(maker.get_open_order("SOL_USDC", None, Some(42)).await.expect("by client id"));
    assert_eq!((by_id.id.as_str(), dec!(by_id.price)), (bid.id.as_str(), "148.75".into()));
    assert_eq!(by_client_id.id, bid.id);
    assert_eq!(maker.get_open_orders(Some("SOL_USDC")).await.expect("open orders").len(), 2);
    let settings = maker.get_account().await.expect("account");
    assert_eq!(settings.limit_orders, 2);
    assert_eq!((dec!(settings.spot_maker_fee), dec!(settings.spot_taker_fee)), ("2".into(), "5".into()));

    // The taker lifts part of the ask.
    let since_ms = now_seconds() * 1_000 - 1_000;
    let taken = match taker
        .execute_order(ExecuteOrderPayload {
            symbol: "SOL_USDC".into(),
            side: Side::Bid,
            order_type: OrderType::Market,
            quantity: Some("0.5".parse().expect("a quantity")),
            ..ExecuteOrderPayload::default()
        })
        .await
        .expect("market order")
    {
        Order::Market(market) => market,
        Order::Limit(limit) => panic!("expected a market order, got {limit:?}"),
    };
    assert_eq!(taken.status, OrderStatus::Filled);
    assert_eq!((dec!(taken.executed_quantity), dec!(taken.executed_quote_quantity)), ("0.5".into(), "75.75".into()));

    let taker_fills = taker
        .get_historical_fills(FillsHistoryParams::default().with_symbol("SOL_USDC").with_from(since_ms))
        .await
        .expect("taker fills");
    assert_eq!(taker_fills.len(), 1);
    let fill = &taker_fills[0];
    assert_eq!((fill.order_id.as_str(), fill.side, fill.is_maker), (taken.id.as_str(), Side::Bid, false));
    assert_eq!((dec!(fill.price), dec!(fill.quantity)), ("151.5".into(), "0.5".into()));
    assert_eq!(fill.fee_symbol, "USDC");
    let maker_fills =
        maker.get_historical_fills(FillsHistoryParams::default().with_symbol("SOL_USDC")).await.expect("maker fills");
    assert_eq!(maker_fills.len(), 1);
    assert_eq!((maker_fills[0].order_id.as_str(), maker_fills[0].is_maker), (ask.id.as_str(), true));
    assert_eq!(maker_fills[0].client_id.as_deref(), Some("41"));
    assert_eq!(maker_fills[0].trade_id, fill.trade_id);

    // Balances moved by exactly the fill and its fee.
    let balances = taker.get_balances().await.expect("taker balances");
    assert_eq!(dec!(balances["SOL"].total()), "0.5");
    assert_eq!(dec!(balances["USDC"].total() + fill.fee), "99924.25");

    // Public trades, ticker and klines show the trade.
    let trades = public.get_recent_trades("SOL_USDC", Some(10)).await.expect("trades");
    assert_eq!(trades.len(), 1);
    assert_eq!((dec!(trades[0].price), dec!(trades[0].quantity)), ("151.5".into(), "0.5".into()));
    assert_eq!(Some(trades[0].id), fill.trade_id);
    assert!(!trades[0].is_buyer_maker);
    let ticker = public.get_ticker("SOL_USDC").await.expect("ticker");
    assert_eq!((dec!(ticker.last_price), dec!(ticker.volume)), ("151.5".into(), "0.5".into()));
    let klines =
        public.get_k_lines("SOL_USDC", "1m", now_seconds() - 600, Some(now_seconds() + 60)).await.expect("klines");
    assert_eq!(klines.len(), 1);
    assert_eq!(klines[0].close.map(|c| dec!(c)).as_deref(), Some("151.5"));
    assert_eq!((dec!(klines[0].volume), klines[0].trades.as_str()), ("0.5".into(), "1"));

    // Cancel one order, then the rest.
    let cancelled = limit(maker.cancel_order("SOL_USDC", Some(&bid.id), None).await.expect("cancel"));
    assert_eq!((cancelled.id.as_str(), cancelled.status), (bid.id.as_str(), OrderStatus::Cancelled));
    let rest =
        maker.cancel_open_orders(CancelOpenOrdersPayload { symbol: "SOL_USDC".into() }).await.expect("cancel all");
    let rest: Vec<_> = rest.into_iter().map(limit).collect();
    assert_eq!(rest.len(), 1);
    assert_eq!((rest[0].id.as_str(), rest[0].status), (ask.id.as_str(), OrderStatus::Cancelled));
    assert_eq!(dec!(rest[0].executed_quantity), "0.5");
    assert!(maker.cancel_order("SOL_USDC", Some(&bid.id), None).await.is_err());

    // A batch: two orders placed, one refused.
    let results = maker
        .execute_orders(vec![
            limit_order(Side::Bid, "90", "1"),
            limit_order(Side::Ask, "210", "1"),
            limit_order(Side::Ask, "210", "5000"),
        ])
        .await
        .expect("batch");
    let placed: Vec<String> = results
        .iter()
        .filter_map(|r| match r {
            BatchOrderResponse::Order(Order::Limit(o)) if o.status == OrderStatus::New => Some(o.id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(placed.len(), 2, "{results:?}");
    match &results[2] {
        BatchOrderResponse::Error(error) => {
            assert_eq!((error.operation.as_str(), error.code.as_str()), ("Err", "INSUFFICIENT_FUNDS"))
        }
        other => panic!("expected the third order to fail, got {other:?}"),
    }
    let cancelled = maker
        .cancel_open_orders(CancelOpenOrdersPayload { symbol: "SOL_USDC".into() })
        .await
        .expect("cancel the batch");
    assert_eq!(cancelled.len(), 2);
    assert!(maker.get_open_orders(None).await.expect("no open orders").is_empty());

    // Order history: the client has no method for it, but signs any endpoint it is told the
    // instruction of.
    let url = format!("{}/wapi/v1/history/orders?symbol=SOL_USDC&limit=10", server.url);
    let get = "GET".parse().expect("a method");
    let request =
        maker.build_signed_request(url.as_str(), get, "orderHistoryQueryAll", None::<&()>).expect("signed request");
    let history: Vec<Value> = maker.execute(request).await.expect("order history").json().await.expect("JSON");
    let statuses: Vec<(&str, &str)> = history
        .iter()
        .map(|o| (o["id"].as_str().unwrap_or_default(), o["status"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(statuses.len(), 4, "{history:?}");
    assert!(statuses.contains(&(ask.id.as_str(), "Cancelled")));
    assert!(statuses.contains(&(bid.id.as_str(), "Cancelled")));
}

/// Backpack's Rust client's WebSocket subscriptions, public and signed, decode rucksack's
/// frames into its strict types.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bpx_api_client_streams_from_rucksack() {
    use bpx_api_client::types::markets::OrderBookDepthUpdate;
    use bpx_api_client::types::order::{OrderUpdate, OrderUpdateType};
    use bpx_api_client::types::trade::TradeUpdate;

    let server = Server::start();
    let maker_account = server.create_account(&["SOL=100", "USDC=100000"]);
    let taker_account = server.create_account(&["USDC=100000"]);
    let ws_url = format!("{}/ws", server.url.replace("http://", "ws://"));
    let streaming = |account: Option<&Value>| {
        let mut builder = BpxClient::builder().base_url(&server.url).ws_url(&ws_url).timeout(10);
        if let Some(account) = account {
            builder = builder.secret(account["apiSecret"].as_str().expect("apiSecret"));
        }
        builder.build().expect("client")
    };
    let (orders_tx, mut orders) = tokio::sync::mpsc::channel::<OrderUpdate>(64);
    let (trades_tx, mut trades) = tokio::sync::mpsc::channel::<TradeUpdate>(64);
    let (depth_tx, mut depth) = tokio::sync::mpsc::channel::<OrderBookDepthUpdate>(64);
    let maker_stream = streaming(Some(&maker_account));
    let public_stream = streaming(None);
    let public_depth = streaming(None);
    let subscriptions = [
        tokio::spawn(async move { maker_stream.subscribe("account.orderUpdate.SOL_USDC", orders_tx).await }),
        tokio::spawn(async move { public_stream.subscribe("trade.SOL_USDC", trades_tx).await }),
        tokio::spawn(async move { public_depth.subscribe("depth.SOL_USDC", depth_tx).await }),
    ];

    let maker = server.client(Some(&maker_account));
    let taker = server.client(Some(&taker_account));
    let session = async {
        // Subscribing is not acknowledged: trade until the first frames arrive.
        let mut resting = Vec::new();
        let trade = loop {
            let ask = maker.execute_order(limit_order(Side::Ask, "150.25", "0.5")).await.expect("maker order");
            resting.push(limit(ask).id);
            taker.execute_order(limit_order(Side::Bid, "150.25", "0.5")).await.expect("taker order");
            if let Ok(Some(trade)) = tokio::time::timeout(Duration::from_secs(1), trades.recv()).await {
                break trade;
            }
        };
        assert_eq!(
            (trade.symbol.as_str(), dec!(trade.price), dec!(trade.quantity)),
            ("SOL_USDC", "150.25".to_string(), "0.5".to_string())
        );
        assert!(resting.contains(&trade.seller_order_id), "the trade's seller is one of the maker's asks");
        let maker_order = trade.seller_order_id.clone();

        let mut maker_events = Vec::new();
        while let Ok(Some(update)) = tokio::time::timeout(Duration::from_secs(2), orders.recv()).await {
            let done = update.order_id == maker_order && matches!(update.event_type, OrderUpdateType::OrderFill);
            maker_events.push(update);
            if done {
                break;
            }
        }
        let fill = maker_events.last().expect("order updates for the maker");
        assert_eq!(fill.order_id, maker_order);
        assert!(matches!(fill.event_type, OrderUpdateType::OrderFill));
        assert_eq!(fill.order_status, OrderStatus::Filled);
        let filled = (fill.fill_price.map(|p| dec!(p)), fill.fill_quantity.map(|q| dec!(q)));
        assert_eq!(filled, (Some("150.25".to_string()), Some("0.5".to_string())));
        assert_eq!(fill.was_maker, Some(true));
        let accepted =
            |u: &OrderUpdate| u.order_id == maker_order && matches!(u.event_type, OrderUpdateType::OrderAccepted);
        assert!(maker_events.iter().any(accepted), "the maker's order was accepted before it filled");

        let book =
            tokio::time::timeout(Duration::from_secs(2), depth.recv()).await.expect("a depth frame").expect("open");
        assert_eq!(book.symbol, "SOL_USDC");
        assert!(book.first_update_id <= book.last_update_id);
    };
    tokio::time::timeout(Duration::from_secs(60), session).await.expect("the stream session finishes within 60 s");
    for subscription in subscriptions {
        subscription.abort();
    }
    assert!(server.stop().success());
}

/// The unified account through `bpx-api-client`'s strict types: borrow-lend markets, collateral,
/// positions, the three limits (each one taken exactly), a margin buy and a borrowing withdrawal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bpx_api_client_reads_the_unified_account() {
    use bpx_api_client::types::account::MaxOrderQuery;
    use bpx_api_client::types::capital::RequestWithdrawalPayload;

    let server = Server::start();
    let lender = server.create_account(&["USDC=100000"]);
    let trader_account = server.create_account(&["SOL=10"]);
    let setup = rucksack_node::client::ApiClient::new(&server.url, lender["apiSecret"].as_str().unwrap()).unwrap();
    let (status, body) = setup
        .call(
            "POST",
            "/api/v1/borrowLend",
            None,
            Some(&serde_json::json!({ "symbol": "USDC", "side": "Lend", "quantity": "50000" })),
        )
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let trader = server.client(Some(&trader_account));

    let markets = server.client(None).get_borrow_lend_markets().await.expect("borrow-lend markets decode");
    let usdc = markets.iter().find(|m| m.symbol == "USDC").expect("a USDC market");
    assert_eq!(dec!(usdc.lent_quantity), "50000");

    let max_borrow = trader.get_account_max_borrow("USDC").await.expect("max borrow decodes");
    assert!(max_borrow.max_borrow_quantity.is_sign_positive() && !max_borrow.max_borrow_quantity.is_zero());
    let query = MaxOrderQuery::new("SOL_USDC", Side::Bid).with_price("150".parse().unwrap()).with_auto_borrow(true);
    let max_order = trader.get_account_max_order(query).await.expect("max order decodes");
    let mut buy = limit_order(Side::Bid, "150", &max_order.max_order_quantity.to_string());
    buy.auto_borrow = Some(true);
    let order = limit(trader.execute_order(buy).await.expect("the largest margin buy is accepted"));
    assert_eq!(order.status, OrderStatus::New, "it rests: nobody sells");

    let collateral = trader.get_collateral().await.expect("collateral decodes");
    assert!(!collateral.borrow_liability.is_zero());
    assert!(collateral.collateral.iter().any(|row| row.symbol == "SOL"));
    let positions = trader.get_borrow_lend_positions().await.expect("positions decode");
    let borrow = positions.iter().find(|p| p.symbol == "USDC").expect("a USDC borrow");
    assert!(borrow.net_quantity.is_sign_negative());

    trader.cancel_open_orders(CancelOpenOrdersPayload { symbol: "SOL_USDC".into() }).await.expect("cancel");
    let max_withdrawal =
        trader.get_account_max_withdrawal("USDC", Some(true), None).await.expect("max withdrawal decodes");
    assert_eq!(max_withdrawal.auto_borrow, Some(true));
    let withdrawal = trader
        .request_withdrawal(RequestWithdrawalPayload {
            address: "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin".into(),
            blockchain: bpx_api_client::types::Blockchain::Solana,
            client_id: None,
            quantity: max_withdrawal.max_withdrawal_quantity,
            symbol: "USDC".into(),
            two_factor_token: None,
            auto_lend_redeem: None,
            auto_borrow: Some(true),
        })
        .await
        .expect("the largest borrowing withdrawal is accepted and decodes");
    assert_eq!(withdrawal.quantity, max_withdrawal.max_withdrawal_quantity);
    assert!(server.stop().success());
}
