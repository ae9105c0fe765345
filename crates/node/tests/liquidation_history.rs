//! A backstop liquidation on the record, end to end: the operator seeds the insurance fund and
//! registers two backstop providers with `rucksack admin`, SOL drops with nobody bidding, and the
//! trader's position moves to the providers. Both sides find it in their fill history, under its
//! own `fillType`; the `liquidation` stream reports it; the operator sees the fund's share.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rucksack_node::client::ApiClient;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use support::{BIN, Server, ok};

fn fills(client: &ApiClient, query: &str) -> Vec<Value> {
    let fills = ok(client, "GET", "/wapi/v1/history/fills", Some(query), None);
    fills.as_array().cloned().unwrap_or_default()
}

/// `rucksack admin ARGS`, which must fail; its error output.
fn admin_refused(server: &Server, args: &[&str]) -> String {
    let output = Command::new(BIN)
        .args(["admin", "--server", &server.url, "--data-dir"])
        .arg(&server.data_dir)
        .args(args)
        .output()
        .expect("run rucksack admin");
    assert!(!output.status.success(), "admin {args:?} should have failed");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn backstop_transfers_reach_both_accounts_histories_the_stream_and_the_operator() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("venue"), &["--no-demo-bots", "--manual-clock"]);
    server.admin(&["set-price", "SOL", "143"]);
    let (maker_id, maker) = server.account(&["USDC=1000000"]);
    let (_, trader) = server.account(&["USDC=200"]);
    let (first_id, first) = server.account(&["USDC=100000"]);
    let (second_id, _) = server.account(&["USDC=100000"]);

    let funded = server.admin(&["fund-insurance", "--account", &maker_id.to_string(), "USDC=1000"]);
    assert_eq!(funded["balance"], "1000.000000", "{funded}");
    server.admin(&["backstop", "--account", &first_id.to_string(), "--capacity", "1000"]);
    let providers = server.admin(&["backstop", "--account", &second_id.to_string(), "--capacity", "500"]);
    assert_eq!(
        providers["providers"],
        json!([
            { "accountId": first_id, "capacity": "1000.000000" },
            { "accountId": second_id, "capacity": "500.000000" },
        ])
    );
    // Refused, and nothing changes.
    assert!(admin_refused(&server, &["fund-insurance", "--account", &maker_id.to_string(), "DOGE=1"]).contains("400"));
    assert!(admin_refused(&server, &["backstop", "--account", "999999", "--capacity", "1"]).contains("404"));
    assert!(
        admin_refused(&server, &["backstop", "--account", &first_id.to_string(), "--capacity", "a lot"])
            .contains("400")
    );

    // The clock marks the perpetuals every second; orders wait for SOL's first mark. Then the
    // trader buys 10 SOL-perp at $143 on 200 USDC, which leaves the book empty.
    let marked = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, marks) = maker.public("/api/v1/markPrices?symbol=SOL_USDC_PERP").expect("mark prices");
        if marks[0]["markPrice"].as_str().is_some_and(|mark| mark != "0") {
            break;
        }
        assert!(Instant::now() < marked, "no mark price within 10 s: {marks}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let ask =
        json!({ "symbol": "SOL_USDC_PERP", "side": "Ask", "orderType": "Limit", "price": "143", "quantity": "10" });
    ok(&maker, "POST", "/api/v1/order", None, Some(&ask));
    let buy = json!({ "symbol": "SOL_USDC_PERP", "side": "Bid", "orderType": "Market", "quantity": "10" });
    ok(&trader, "POST", "/api/v1/order", None, Some(&buy));

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let url = format!("{}/ws", server.url.replace("http://", "ws://"));
    let (mut socket, _) = runtime.block_on(tokio_tungstenite::connect_async(url)).expect("websocket connects");
    let subscribe = json!({ "method": "SUBSCRIBE", "params": ["liquidation"] }).to_string();
    runtime.block_on(socket.send(Message::text(subscribe))).expect("subscribe");
    // The hub takes the subscription before the price moves.
    std::thread::sleep(Duration::from_millis(200));

    // A sweep within a second hands the position to the providers, pro rata to capacity, at
    // the mark: half a tick, kept exactly.
    server.admin(&["set-price", "SOL", "124.305"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let backstopped = loop {
        let backstopped = fills(&trader, "fillType=Backstop");
        if backstopped.len() == 2 {
            break backstopped;
        }
        assert!(Instant::now() < deadline, "no backstop transfer: {:?}", fills(&trader, ""));
        std::thread::sleep(Duration::from_millis(200));
    };
    let seen: Vec<(&Value, &Value, &Value, &Value)> =
        backstopped.iter().map(|f| (&f["side"], &f["quantity"], &f["price"], &f["systemOrderType"])).collect();
    let (ask, price, kind) = (json!("Ask"), json!("124.305"), json!("LiquidatePositionOnBackstop"));
    assert_eq!(seen, [(&ask, &json!("3.33"), &price, &kind), (&ask, &json!("6.67"), &price, &kind)]);
    let own = fills(&trader, "fillType=User");
    assert_eq!((own.len(), &own[0]["side"], &own[0]["systemOrderType"]), (1, &json!("Bid"), &Value::Null));
    assert_eq!(fills(&trader, "").len(), 3, "every fill by default");
    assert!(fills(&trader, "fillType=Adl").is_empty());
    let taken = fills(&first, "fillType=Liquidation");
    assert_eq!((taken.len(), &taken[0]["side"], &taken[0]["quantity"]), (1, &json!("Bid"), &json!("6.67")));
    // The position history: the trader's lifetime closed, all of it liquidated; the provider's
    // is open, its exposure live, and nothing of it closed.
    let history = |client: &ApiClient| ok(client, "GET", "/wapi/v1/history/position", None, None);
    let closed = history(&trader);
    let row = &closed[0];
    let figures = [&row["state"], &row["netQuantity"], &row["closedVolume"], &row["liquidated"]];
    assert_eq!(figures, [&json!("Closed"), &json!("0.00"), &json!("10.00"), &json!("10.00")], "{closed}");
    assert_eq!(row["liquidationFees"], "0.000000", "a backstop charges no liquidation fee: {closed}");
    let opened = history(&first);
    let row = &opened[0];
    let figures =
        [&row["state"], &row["netQuantity"], &row["netExposureQuantity"], &row["closedVolume"], &row["liquidated"]];
    assert_eq!(figures, [&json!("Open"), &json!("6.67"), &json!("6.67"), &json!("0.00"), &json!("0.00")], "{opened}");
    assert!(row["imf"].as_str().is_some_and(|imf| imf != "0"), "{opened}");
    assert!(row["unrealizedPnl"].is_string() && row["netExposureNotional"] != "0.000000", "{opened}");
    let (status, refused) =
        trader.call("GET", "/wapi/v1/history/fills", Some("fillType=Everything"), None).expect("call");
    assert_eq!((status, &refused["code"]), (400, &json!("INVALID_CLIENT_REQUEST")));

    // The stream: both transfers, as the trader traded them.
    let mut streamed = Vec::new();
    while streamed.len() < 2 {
        let message = runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(15), socket.next()).await })
            .expect("a frame in time")
            .expect("socket open")
            .expect("frame");
        if let Message::Text(text) = message {
            let frame: Value = serde_json::from_str(text.as_str()).expect("JSON");
            assert_eq!(frame["stream"], "liquidation", "{frame}");
            streamed.push(frame["data"].clone());
        }
    }
    let streamed: Vec<(&Value, &Value, &Value, &Value)> =
        streamed.iter().map(|d| (&d["s"], &d["S"], &d["q"], &d["p"])).collect();
    let symbol = json!("SOL_USDC_PERP");
    assert_eq!(streamed, [(&symbol, &ask, &json!("6.67"), &price), (&symbol, &ask, &json!("3.33"), &price)]);

    // The operator's view: the contribution and the backstop share, newest first.
    let insurance = server.admin(&["insurance"]);
    let reasons: Vec<&Value> =
        insurance["history"].as_array().map(|h| h.iter().map(|c| &c["reason"]).collect()).unwrap_or_default();
    assert_eq!(reasons.last(), Some(&&json!("Contribution")), "{insurance}");
    assert!(reasons.contains(&&json!("BackstopShare")), "{insurance}");
    let usdc = insurance["balances"].as_array().and_then(|b| b.iter().find(|b| b["asset"] == "USDC")).cloned();
    assert_eq!(usdc.map(|b| b["balance"].clone()), Some(insurance["history"][0]["balance"].clone()));
    let oldest =
        server.admin(&["insurance", "--asset", "USDC", "--limit", "1", "--offset", &(reasons.len() - 1).to_string()]);
    assert_eq!(oldest["history"][0]["reason"], "Contribution");
    assert_eq!(oldest["history"][0]["accountId"], maker_id);
    server.stop();
}
