//! Restarts lose nothing: after a graceful stop (SIGTERM) and after a kill (SIGKILL), open
//! orders, balances and order and fill history are exactly as they were, and every order that
//! was acknowledged is there.

mod support;

use serde_json::{Value, json};
use support::{Server, ok};

fn limit(symbol: &str, side: &str, price: &str, quantity: &str) -> Value {
    json!({ "symbol": symbol, "side": side, "orderType": "Limit", "price": price, "quantity": quantity })
}

/// What an account can see about itself.
fn snapshot(client: &rucksack_node::client::ApiClient) -> Vec<Value> {
    vec![
        ok(client, "GET", "/api/v1/orders", None, None),
        ok(client, "GET", "/api/v1/capital", None, None),
        ok(client, "GET", "/wapi/v1/history/orders", Some("limit=1000"), None),
        ok(client, "GET", "/wapi/v1/history/fills", Some("limit=1000"), None),
    ]
}

#[test]
fn state_survives_sigterm_and_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("venue");
    let server = Server::start(&data_dir, &["--no-demo-bots"]);
    let (_, maker) = server.account(&["USDC=100000", "SOL=1000"]);
    let (_, taker) = server.account(&["USDC=100000"]);

    let resting = ok(&maker, "POST", "/api/v1/order", None, Some(&limit("SOL_USDC", "Ask", "150.25", "2")));
    ok(&maker, "POST", "/api/v1/order", None, Some(&limit("SOL_USDC", "Ask", "151", "1.5")));
    ok(&maker, "POST", "/api/v1/order", None, Some(&limit("SOL_USDC", "Bid", "140", "3")));
    let filled = ok(&taker, "POST", "/api/v1/order", None, Some(&limit("SOL_USDC", "Bid", "150.25", "0.5")));
    assert_eq!(filled["status"], "Filled");
    let cancelled =
        json!({ "symbol": "SOL_USDC", "orderId": ok(&maker, "GET", "/api/v1/orders", None, None)[2]["id"] });
    assert_eq!(ok(&maker, "DELETE", "/api/v1/order", None, Some(&cancelled))["status"], "Cancelled");
    assert_eq!(resting["status"], "New");

    let before = (snapshot(&maker), snapshot(&taker));
    assert_eq!(before.0[0].as_array().map(Vec::len), Some(2), "two orders rest");
    assert_eq!(before.1[3].as_array().map(Vec::len), Some(1), "the taker has one fill");
    server.stop();

    let server = Server::start(&data_dir, &["--no-demo-bots"]);
    let maker = rucksack_node::client::ApiClient { server: server.url.clone(), signer: maker.signer.clone() };
    let taker = rucksack_node::client::ApiClient { server: server.url.clone(), signer: taker.signer.clone() };
    assert_eq!((snapshot(&maker), snapshot(&taker)), before, "state after SIGTERM and restart");

    // A burst of acknowledged orders, then SIGKILL.
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let price = format!("{}.00", 160 + i);
        let order = ok(&maker, "POST", "/api/v1/order", None, Some(&limit("SOL_USDC", "Ask", &price, "0.1")));
        acknowledged.push(order["id"].as_str().unwrap().to_string());
    }
    let before = (snapshot(&maker), snapshot(&taker));
    server.kill();

    let server = Server::start(&data_dir, &["--no-demo-bots"]);
    let maker = rucksack_node::client::ApiClient { server: server.url.clone(), signer: maker.signer.clone() };
    let taker = rucksack_node::client::ApiClient { server: server.url.clone(), signer: taker.signer.clone() };
    let after = (snapshot(&maker), snapshot(&taker));
    let open: Vec<String> =
        after.0[0].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_string()).collect();
    for id in &acknowledged {
        assert!(open.contains(id), "acknowledged order {id} lost");
    }
    assert_eq!(after, before, "state after SIGKILL and restart");
    server.stop();
}
