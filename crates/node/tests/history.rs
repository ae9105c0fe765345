//! The history store survives a kill: orders and fills acknowledged during a burst, a SIGKILL in
//! the middle of it, a restart that lets the projector catch up, and then the store equals one
//! rebuilt from the journal by `rucksack history rebuild`, row for row.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rucksack_node::client::ApiClient;
use rucksack_store::{
    Candle, CandleInterval, FillQuery, FillRecord, HistoryStore, OrderQuery, OrderRecord, Page, SortDirection,
    TradeRecord, TransferKind, TransferQuery, TransferRecord,
};
use rucksack_types::{AccountId, MarketId};
use serde_json::{Value, json};
use support::{BIN, Server, ok};

fn limit(side: &str, price: &str, quantity: &str) -> Value {
    json!({ "symbol": "SOL_USDC", "side": side, "orderType": "Limit", "price": price, "quantity": quantity })
}

/// Everything the store holds for these accounts and markets.
#[derive(Debug, PartialEq, Eq)]
struct Contents {
    orders: Vec<OrderRecord>,
    fills: Vec<FillRecord>,
    transfers: Vec<TransferRecord>,
    trades: Vec<TradeRecord>,
    candles: Vec<Candle>,
}

fn page(offset: u64) -> Page {
    Page { limit: 1_000, offset, direction: SortDirection::Asc }
}

/// Every page of a query, `$page` standing for the page in `$query`.
macro_rules! all_pages {
    ($page:ident => $query:expr) => {{
        let mut rows = Vec::new();
        loop {
            let $page = page(rows.len() as u64);
            let batch = $query.await.expect("history query");
            let done = batch.len() < 1_000;
            rows.extend(batch);
            if done {
                break rows;
            }
        }
    }};
}

fn contents(url: &str, accounts: &[AccountId], markets: &[MarketId]) -> Contents {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = HistoryStore::open(url).await.expect("open the history store");
        let mut contents =
            Contents { orders: vec![], fills: vec![], transfers: vec![], trades: vec![], candles: vec![] };
        for &account in accounts {
            let orders = all_pages!(page => store.orders(&OrderQuery { account, market: None, order: None, page }));
            contents.orders.extend(orders);
            let fills = all_pages!(page => store.fills(&FillQuery {
                account, market: None, order: None, from: None, to: None, page
            }));
            contents.fills.extend(fills);
            for kind in [TransferKind::Deposit, TransferKind::Withdrawal] {
                let transfers =
                    all_pages!(page => store.transfers(&TransferQuery { account, kind, from: None, to: None, page }));
                contents.transfers.extend(transfers);
            }
        }
        for &market in markets {
            contents.trades.extend(all_pages!(page => store.trades(market, page)));
            contents.candles.extend(store.candles(market, CandleInterval::Minute1, 0, None).await.expect("candles"));
        }
        contents
    })
}

fn rebuild(data_dir: &Path, url: &str) {
    let output = Command::new(BIN)
        .args(["history", "rebuild", "--data-dir"])
        .arg(data_dir)
        .args(["--database-url", url])
        .output()
        .expect("run rucksack history rebuild");
    assert!(output.status.success(), "rebuild failed: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn history_after_a_kill_equals_history_rebuilt_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("venue");
    let server = Server::start(&data_dir, &["--no-demo-bots"]);
    let (maker_id, maker) = server.account(&["USDC=1000000", "SOL=10000"]);
    let (taker_id, taker) = server.account(&["USDC=1000000"]);

    // A burst of resting asks, crossing bids and cancels from two threads, killed part-way.
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let burst = |client: ApiClient, side: &'static str, acknowledged: Arc<AtomicUsize>| {
        std::thread::spawn(move || {
            let mut ids = Vec::new();
            for i in 0..400u32 {
                let price = format!("{}.{:02}", 100 + i % 7, i % 100);
                let order = limit(side, &price, "0.25");
                // The kill ends the burst: a refused connection or a reply cut short.
                let Ok((200, reply)) = client.call("POST", "/api/v1/order", None, Some(&order)) else { break };
                acknowledged.fetch_add(1, Ordering::SeqCst);
                ids.push(reply["id"].as_str().unwrap_or_default().to_string());
                if i % 5 == 4 {
                    let cancel = json!({ "symbol": "SOL_USDC", "orderId": ids[ids.len() - 3] });
                    let _ = client.call("DELETE", "/api/v1/order", None, Some(&cancel));
                }
            }
            ids
        })
    };
    let same = |client: &ApiClient| ApiClient { server: client.server.clone(), signer: client.signer.clone() };
    let asks = burst(same(&maker), "Ask", acknowledged.clone());
    let bids = burst(same(&taker), "Bid", acknowledged.clone());
    while acknowledged.load(Ordering::SeqCst) < 300 {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    server.kill();
    let (asks, bids) = (asks.join().unwrap(), bids.join().unwrap());
    let acked: Vec<String> = [asks.clone(), bids].concat();
    assert!(acked.len() >= 300, "the burst ran before the kill");

    // Restart: the projector catches up from the journal. A history query waits for it.
    let server = Server::start(&data_dir, &["--no-demo-bots"]);
    let maker = ApiClient { server: server.url.clone(), signer: maker.signer.clone() };
    let history = ok(&maker, "GET", "/wapi/v1/history/orders", Some("limit=1000"), None);
    let listed: Vec<&str> = history.as_array().unwrap().iter().filter_map(|o| o["id"].as_str()).collect();
    for id in &asks {
        assert!(listed.contains(&id.as_str()), "the maker's acknowledged order {id} is not in its history");
    }
    let fills = ok(&maker, "GET", "/wapi/v1/history/fills", Some("limit=1000"), None);
    assert!(!fills.as_array().unwrap().is_empty(), "the burst traded");
    server.stop();

    let live_url = format!("sqlite://{}", data_dir.join("history.sqlite").display());
    let rebuilt_url = format!("sqlite://{}", dir.path().join("rebuilt.sqlite").display());
    rebuild(&data_dir, &rebuilt_url);
    let accounts = [AccountId(maker_id), AccountId(taker_id)];
    let markets = [MarketId(0), MarketId(1), MarketId(2)];
    let live = contents(&live_url, &accounts, &markets);
    let rebuilt = contents(&rebuilt_url, &accounts, &markets);
    for id in &acked {
        assert!(live.orders.iter().any(|o| o.id.0.to_string() == *id), "acknowledged order {id} missing from history");
    }
    assert!(!live.trades.is_empty() && !live.candles.is_empty() && live.transfers.len() == 3);
    assert_eq!(live, rebuilt, "history after the kill differs from history rebuilt from the journal");

    // A second rebuild into the live store (the server is stopped) gives the same rows again.
    rebuild(&data_dir, &live_url);
    assert_eq!(contents(&live_url, &accounts, &markets), rebuilt);
}

#[test]
fn deposits_trades_and_klines_come_from_the_store_with_the_venues_paging() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("venue"), &["--no-demo-bots"]);
    let (account, maker) = server.account(&["USDC=1000", "SOL=50"]);
    server.admin(&["fund", "--account", &account.to_string(), "USDC=2.5"]);
    let (_, taker) = server.account(&["USDC=100000"]);

    let deposits = ok(&maker, "GET", "/wapi/v1/capital/deposits", None, None);
    let quantities: Vec<&str> = deposits.as_array().unwrap().iter().map(|d| d["quantity"].as_str().unwrap()).collect();
    assert_eq!(quantities, ["2.500000", "50.000000000", "1000.000000"], "newest first: {deposits}");
    assert_eq!(deposits[0]["symbol"], "USDC");
    assert_eq!(deposits[0]["status"], "confirmed");
    let oldest = ok(&maker, "GET", "/wapi/v1/capital/deposits", Some("limit=1&offset=2"), None);
    assert_eq!(oldest[0]["quantity"], "1000.000000");
    assert_eq!(ok(&maker, "GET", "/wapi/v1/capital/withdrawals", None, None), json!([]));

    for (i, price) in ["101", "102", "103"].iter().enumerate() {
        ok(&maker, "POST", "/api/v1/order", None, Some(&limit("Ask", price, "1")));
        let bought = ok(&taker, "POST", "/api/v1/order", None, Some(&limit("Bid", price, "1")));
        assert_eq!(bought["status"], "Filled", "trade {i}");
    }
    let (status, trades) = maker.public("/api/v1/trades/history?symbol=SOL_USDC&limit=2").unwrap();
    assert_eq!(status, 200);
    let prices: Vec<&str> = trades.as_array().unwrap().iter().map(|t| t["price"].as_str().unwrap()).collect();
    assert_eq!(prices, ["102.00", "103.00"], "the newest two, oldest first");
    let (_, skipped) = maker.public("/api/v1/trades/history?symbol=SOL_USDC&limit=2&offset=2").unwrap();
    assert_eq!(skipped[0]["price"], "101.00");

    let (status, klines) = maker.public("/api/v1/klines?symbol=SOL_USDC&interval=1h&startTime=0").unwrap();
    assert_eq!(status, 200);
    assert_eq!(klines.as_array().map(Vec::len), Some(1), "{klines}");
    assert_eq!(
        (&klines[0]["open"], &klines[0]["high"], &klines[0]["low"], &klines[0]["close"], &klines[0]["trades"]),
        (&json!("101.00"), &json!("103.00"), &json!("101.00"), &json!("103.00"), &json!("3"))
    );
    assert_eq!(klines[0]["volume"], "3.00");

    // Bad paging is refused and changes nothing.
    for query in ["limit=1001", "limit=-1", "offset=x", "from=soon", "sortDirection=Sideways"] {
        let (status, _) = maker.call("GET", "/wapi/v1/capital/deposits", Some(query), None).unwrap();
        assert_eq!(status, 400, "deposits?{query}");
        let (status, _) = maker.call("GET", "/wapi/v1/history/fills", Some(query), None).unwrap();
        assert_eq!(status, 400, "fills?{query}");
    }
    let (status, _) = maker.public("/api/v1/klines?symbol=SOL_USDC&interval=7m&startTime=0").unwrap();
    assert_eq!(status, 400);
    server.stop();
}
