//! Liquidation end to end: a real `rucksack serve`, Backpack's own Rust client
//! (`bpx-api-client`) as the trader, and the operator's `rucksack admin set-price` as the crash.
//!
//! The trader holds 200 USDC and buys 10 SOL-perp at $143, seven times leveraged, with a
//! take-profit resting at $150. SOL drops to $124.3: the risk engine cancels the take-profit and
//! sells the position into the market maker's bid a fifth at a time, once a second, until the
//! margin fraction is back above maintenance plus the buffer; then it stops.

mod support;

use std::time::{Duration, Instant};

use bpx_api_client::BpxClient;
use bpx_api_client::types::fill::FillsHistoryParams;
use bpx_api_client::types::order::{ExecuteOrderPayload, OrderType, Side};
use rucksack_node::client::ApiClient;
use serde_json::{Value, json};
use support::{Server, ok};

fn decimal(value: &Value) -> f64 {
    value.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not a decimal string: {value}"))
}

fn mark(client: &ApiClient) -> f64 {
    let (_, prices) = client.public("/api/v1/markPrices?symbol=SOL_USDC_PERP").expect("mark prices");
    let row = if prices.is_array() { prices[0].clone() } else { prices };
    decimal(&row["markPrice"])
}

fn perp_order(client: &ApiClient, side: &str, price: &str, quantity: &str) {
    let order = json!({
        "symbol": "SOL_USDC_PERP", "side": side, "orderType": "Limit", "price": price, "quantity": quantity,
    });
    ok(client, "POST", "/api/v1/order", None, Some(&order));
}

#[test]
fn a_leveraged_long_is_liquidated_through_the_book_step_by_step_until_its_buffer_is_restored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("venue"), &["--no-demo-bots", "--manual-clock"]);
    server.admin(&["set-price", "SOL", "143"]);
    let (_, maker) = server.account(&["USDC=1000000"]);
    // The clock marks the perpetuals every second: wait for SOL's first mark.
    let marked = Instant::now() + Duration::from_secs(10);
    while mark(&maker) == 0.0 {
        assert!(Instant::now() < marked, "no mark price within 10 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let keys = server.admin(&["create-account", "--fund", "USDC=200"]);
    let secret = keys["apiSecret"].as_str().expect("a secret");
    let trader_api = ApiClient::new(&server.url, secret).expect("client");
    let trader = BpxClient::init(server.url.clone(), secret, None).expect("bpx client");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");

    perp_order(&maker, "Bid", "142.90", "1");
    perp_order(&maker, "Ask", "143.00", "10");
    let buy = ExecuteOrderPayload {
        symbol: "SOL_USDC_PERP".into(),
        side: Side::Bid,
        order_type: OrderType::Market,
        quantity: Some("10".parse().expect("quantity")),
        ..ExecuteOrderPayload::default()
    };
    runtime.block_on(trader.execute_order(buy)).expect("the trader buys 10 SOL");
    let take_profit = ExecuteOrderPayload {
        symbol: "SOL_USDC_PERP".into(),
        side: Side::Ask,
        order_type: OrderType::Limit,
        price: Some("150".parse().expect("price")),
        quantity: Some("5".parse().expect("quantity")),
        reduce_only: Some(true),
        ..ExecuteOrderPayload::default()
    };
    runtime.block_on(trader.execute_order(take_profit)).expect("the take-profit rests");

    // The maker quotes around where SOL is going; then the operator moves it.
    ok(&maker, "DELETE", "/api/v1/orders", None, Some(&json!({ "symbol": "SOL_USDC_PERP" })));
    perp_order(&maker, "Bid", "124.20", "100");
    perp_order(&maker, "Ask", "124.40", "100");
    let size = || -> f64 {
        let positions = runtime.block_on(trader.get_open_future_positions()).expect("positions");
        positions.iter().find(|p| p.symbol == "SOL_USDC_PERP").map_or(0.0, |p| p.net_quantity.parse().expect("size"))
    };
    let opened = size();
    server.admin(&["set-price", "SOL", "124.3"]);

    let collateral = || ok(&trader_api, "GET", "/api/v1/capital/collateral", None, None);
    let (mut sizes, mut refused_while_liquidating) = (vec![opened], false);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut unchanged_since = Instant::now();
    while unchanged_since.elapsed() < Duration::from_secs(4) {
        assert!(Instant::now() < deadline, "liquidation did not settle within 60 s: sizes {sizes:?}");
        std::thread::sleep(Duration::from_millis(250));
        let now = size();
        if Some(&now) != sizes.last() {
            sizes.push(now);
            unchanged_since = Instant::now();
            // Mid-liquidation the account may not trade.
            let order = json!({ "symbol": "SOL_USDC_PERP", "side": "Ask", "orderType": "Market", "quantity": "0.01" });
            let (status, body) = trader_api.call("POST", "/api/v1/order", None, Some(&order)).expect("request");
            refused_while_liquidating |= status == 400 && body["code"] == "ACCOUNT_LIQUIDATING";
        }
    }
    // Step by step: at least three steps, each smaller than the last, and some of the position
    // kept.
    assert_eq!(sizes[0], 10.0);
    assert!(sizes.len() >= 4, "sizes {sizes:?}");
    assert!(sizes.windows(2).all(|w| w[1] < w[0]), "sizes {sizes:?}");
    let steps: Vec<f64> = sizes.windows(2).map(|w| w[0] - w[1]).collect();
    assert!(steps.windows(2).all(|w| w[1] <= w[0] + 1e-9), "each step a fifth of what is left: {steps:?}");
    assert!(*sizes.last().expect("a size") > 0.0, "only what was needed was sold: {sizes:?}");
    assert!(refused_while_liquidating, "orders are refused while the account is liquidated");
    // Each step is a fill of the exchange's order in the trader's history. (bpx-api-client
    // 0.23 sends its fill-type filter as `fill_type`, a parameter the venue does not know and
    // ignores, so the filter is checked with the venue's own name below.)
    let params = FillsHistoryParams { symbol: Some("SOL_USDC_PERP".into()), ..FillsHistoryParams::default() };
    let fills = runtime.block_on(trader.get_historical_fills(params)).expect("fills");
    let system: Vec<_> = fills.iter().filter(|f| f.system_order_type.is_some()).collect();
    assert!(system.len() >= sizes.len() - 1, "{fills:?}");
    assert!(system.iter().all(|f| f.system_order_type.as_deref() == Some("LiquidatePositionOnBook")), "{fills:?}");
    let sold: f64 = system.iter().map(|f| f.quantity.to_string().parse::<f64>().expect("quantity")).sum();
    assert!((sold - (10.0 - sizes.last().expect("a size"))).abs() < 1e-9, "{sold} sold, sizes {sizes:?}");
    let query = "symbol=SOL_USDC_PERP&fillType=BookLiquidation";
    let filtered = ok(&trader_api, "GET", "/wapi/v1/history/fills", Some(query), None);
    assert_eq!(filtered.as_array().map(Vec::len), Some(system.len()), "{filtered}");
    // The position's history: what the steps sold is its liquidated volume, and it paid their fees.
    let positions = ok(&trader_api, "GET", "/wapi/v1/history/position", Some("symbol=SOL_USDC_PERP"), None);
    let row = &positions[0];
    assert_eq!(row["state"], "Open", "{positions}");
    assert!((decimal(&row["liquidated"]) - sold).abs() < 1e-9, "{sold} sold: {positions}");
    assert_eq!(row["liquidated"], row["closedVolume"], "{positions}");
    assert!(decimal(&row["liquidationFees"]) > 0.0, "{positions}");
    // The take-profit was cancelled first.
    let open = runtime.block_on(trader.get_open_orders(Some("SOL_USDC_PERP"))).expect("open orders");
    assert!(open.is_empty(), "{open:?}");
    // It stopped once the margin fraction was back above maintenance plus the 0.5% buffer.
    let after = collateral();
    assert!(decimal(&after["marginFraction"]) >= decimal(&after["mmf"]) + 0.005, "{after}");
    // And the account trades again.
    let order = json!({ "symbol": "SOL_USDC_PERP", "side": "Ask", "orderType": "Market", "quantity": "0.01" });
    ok(&trader_api, "POST", "/api/v1/order", None, Some(&order));
    server.stop();
}
