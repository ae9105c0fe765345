//! Operating a node: metrics, the admin token, and one server per data directory.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use rucksack_node::http;
use serde_json::json;
use support::{BIN, Server, ok};

#[test]
fn a_node_exposes_metrics_guards_admin_and_owns_its_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("venue");
    let server = Server::start(&data_dir, &["--no-demo-bots"]);

    let mode = std::fs::metadata(data_dir.join("admin.token")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the admin token is private to its owner");

    let (_, trader) = server.account(&["USDC=1000"]);
    let order = json!({ "symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "1" });
    ok(&trader, "POST", "/api/v1/order", None, Some(&order));
    let (status, _) = trader.call("POST", "/api/v1/order", None, Some(&json!({ "symbol": "NOPE" }))).unwrap();
    assert_eq!(status, 400);

    let metrics = http::request(&server.url, "GET", "/metrics", &[], None).unwrap();
    assert_eq!(metrics.status, 200);
    for name in [
        "rucksack_sequence",
        "rucksack_queue_depth",
        "rucksack_batch_commands",
        "rucksack_fsync_seconds",
        "rucksack_command_ack_seconds",
        "rucksack_rejected_requests_total{code=\"INVALID_CLIENT_REQUEST\"}",
    ] {
        assert!(metrics.body.contains(name), "/metrics lacks {name}:\n{}", metrics.body);
    }

    let forged = http::request(
        &server.url,
        "POST",
        "/admin/v1/deposits",
        &[("Authorization", "Bearer not-the-token")],
        Some(r#"{"accountId":1,"asset":"USDC","amount":"1000000","txId":"x"}"#),
    )
    .unwrap();
    assert_eq!(forged.status, 401);

    let second = Command::new(BIN)
        .args(["serve", "--no-demo-bots", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(!second.status.success(), "a second server on the same data directory must refuse to start");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("another rucksack"), "unclear refusal: {stderr}");
    server.stop();
}

#[test]
fn a_manual_clock_moves_only_when_told() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("venue"), &["--no-demo-bots", "--manual-clock"]);
    let (_, trader) = server.account(&["USDC=1000"]);
    let place = |price: &str| {
        let order =
            json!({ "symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": price, "quantity": "1" });
        ok(&trader, "POST", "/api/v1/order", None, Some(&order))["createdAt"].as_u64().unwrap()
    };
    let first = place("100");
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(place("101"), first, "time stands still");
    server.admin(&["advance-clock", "1h"]);
    assert_eq!(place("102"), first + 3_600_000);
    server.stop();
}

#[test]
fn a_key_without_trade_permission_cannot_place_orders() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("venue"), &["--no-demo-bots"]);
    let created = server.admin(&["create-account", "--fund", "USDC=1000", "--permissions", "read"]);
    let reader = rucksack_node::client::ApiClient::new(&server.url, created["apiSecret"].as_str().unwrap()).unwrap();
    let order = json!({ "symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "1" });
    let (status, body) = reader.call("POST", "/api/v1/order", None, Some(&order)).unwrap();
    assert_eq!((status, body["code"].as_str()), (403, Some("FORBIDDEN")), "{body}");
    assert_eq!(ok(&reader, "GET", "/api/v1/capital", None, None)["USDC"]["available"], "1000.000000");
    assert_eq!(ok(&reader, "GET", "/api/v1/orders", None, None), json!([]));
    server.stop();
}

#[test]
fn account_settings_and_order_limits() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("venue"), &["--no-demo-bots"]);
    let (_, trader) = server.account(&["USDC=1000", "SOL=10"]);
    let account = ok(&trader, "GET", "/api/v1/account", None, None);
    assert_eq!((account["autoLend"].as_bool(), account["leverageLimit"].as_str()), (Some(false), Some("10")));

    let (status, _) = trader
        .call("PATCH", "/api/v1/account", None, Some(&json!({ "autoLend": true, "leverageLimit": "20" })))
        .unwrap();
    assert_eq!(status, 200);
    let account = ok(&trader, "GET", "/api/v1/account", None, None);
    assert_eq!((account["autoLend"].as_bool(), account["leverageLimit"].as_str()), (Some(true), Some("20")));
    let (status, body) = trader.call("PATCH", "/api/v1/account", None, Some(&json!({ "leverageLimit": "0" }))).unwrap();
    assert_eq!(status, 400, "{body}");

    // 1,000 USDC buys 999 lots at 100 (each 1 USDC plus a 5 bp taker fee); 10 SOL sells 1,000.
    let bid = ok(&trader, "GET", "/api/v1/account/limits/order", Some("symbol=SOL_USDC&side=Bid&price=100"), None);
    assert_eq!(bid["maxOrderQuantity"], "9.99");
    let ask = ok(&trader, "GET", "/api/v1/account/limits/order", Some("symbol=SOL_USDC&side=Ask"), None);
    assert_eq!(ask["maxOrderQuantity"], "10.00");
    let order =
        json!({ "symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "9.99" });
    assert_eq!(ok(&trader, "POST", "/api/v1/order", None, Some(&order))["status"], "New");
    let (status, body) = trader.call("POST", "/api/v1/order", None, Some(&json!({ "symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "0.01" }))).unwrap();
    assert_eq!((status, body["code"].as_str()), (400, Some("INSUFFICIENT_FUNDS")), "the limit was exact");
    server.stop();
}

#[test]
fn a_config_file_lists_the_operators_venue() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("venue.toml");
    std::fs::write(
        &config,
        r#"
        key_rate_limit = 500
        [[assets]]
        symbol = "USDC"
        decimals = 6
        [[assets]]
        symbol = "JTO"
        decimals = 9
        [[markets]]
        base = "JTO"
        quote = "USDC"
        tick_size = "0.001"
        step_size = "0.1"
        min_price = "0.001"
        max_price = "10000"
        min_quantity = "0.1"
        max_quantity = "1000000"
        maker_fee_bps = 0
        taker_fee_bps = 10
        "#,
    )
    .unwrap();
    let server = Server::start(&dir.path().join("venue"), &["--config", config.to_str().unwrap()]);
    let markets = http::request(&server.url, "GET", "/api/v1/markets", &[], None).unwrap();
    let markets: serde_json::Value = serde_json::from_str(&markets.body).unwrap();
    let symbols: Vec<&str> = markets.as_array().unwrap().iter().map(|m| m["symbol"].as_str().unwrap()).collect();
    assert_eq!(symbols, ["JTO_USDC"]);
    assert_eq!(markets[0]["filters"]["price"]["tickSize"], "0.001");
    let (_, trader) = server.account(&["USDC=100"]);
    let order = json!({ "symbol": "JTO_USDC", "side": "Bid", "orderType": "Limit", "price": "2.5", "quantity": "10" });
    assert_eq!(ok(&trader, "POST", "/api/v1/order", None, Some(&order))["status"], "New");
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let depth = http::request(&server.url, "GET", "/api/v1/depth?symbol=JTO_USDC", &[], None).unwrap();
    assert!(depth.body.contains(r#""asks":[]"#), "no demo bots quote a configured venue: {}", depth.body);
    server.stop();
}

/// Runs a load generator against `server` and parses the JSON line it prints last.
fn bench(server: &Server, args: &[&str]) -> serde_json::Value {
    let output = Command::new(BIN)
        .args(args)
        .args(["--server", &server.url, "--data-dir"])
        .arg(&server.data_dir)
        .output()
        .expect("run the load generator");
    assert!(output.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().expect("a report")).expect("the report is JSON")
}

#[test]
fn the_load_generators_measure_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("venue"), &["--no-demo-bots", "--key-rate-limit", "100000"]);

    let http = bench(&server, &["bench-http", "--keys", "2", "--connections", "2", "--seconds", "1", "--rate", "200"]);
    assert!(http["verifyPerSecond"].as_f64().unwrap() > 0.0, "{http}");
    let open_loop = &http["openLoop"];
    assert_eq!(open_loop["offeredRate"], 200, "{http}");
    assert!(open_loop["accepted"].as_u64().unwrap() > 0, "{http}");
    assert_eq!(open_loop["failed"], 0, "{http}");

    let pid = server.child.id().to_string();
    let ws = bench(
        &server,
        &[
            "bench-ws",
            "--clients",
            "20",
            "--traders",
            "2",
            "--orders-per-request",
            "1",
            "--rate",
            "40",
            "--seconds",
            "1",
            "--server-pid",
            &pid,
        ],
    );
    assert!(ws["ordersPlaced"].as_u64().unwrap() > 0, "{ws}");
    let frames = ws["framesDelivered"].as_u64().unwrap();
    assert!(frames > 0, "{ws}");
    assert_eq!(ws["latencySamples"].as_u64().unwrap(), frames, "every frame carries its event time: {ws}");
    let rounds = &ws["rounds"];
    assert!(rounds["count"].as_u64().unwrap() > 0, "{ws}");
    assert!(
        rounds["firstClientMs"]["p50"].as_f64().unwrap() <= rounds["lastClientMs"]["p50"].as_f64().unwrap(),
        "a round reaches its first client no later than its last: {ws}"
    );
    assert!(ws["serverRssKiB"]["underLoadWithSlowClient"].as_u64().unwrap() > 0, "{ws}");
}
