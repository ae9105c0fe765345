//! Bad input never hurts: every malformed or unauthorised request gets a 4xx with the venue's
//! error code and changes nothing.

mod support;

use rucksack_api::auth::RequestParts;
use rucksack_api::server::now_ms;
use rucksack_node::client::ApiClient;
use rucksack_node::http;
use serde_json::{Value, json};
use support::{Server, ok};

/// Sends `body` (raw text) signed as if at `timestamp`; `sign_body` is what the signature covers.
fn raw(client: &ApiClient, method: &str, path: &str, body: &str, sign_body: &str, timestamp: u64) -> (u16, Value) {
    let parts = RequestParts { method, path, query: None, body: sign_body.as_bytes() };
    // A body too broken to sign still gets valid-looking headers, signed over no parameters.
    let empty = RequestParts { method, path, query: None, body: b"" };
    let signed = client
        .signer
        .sign_request(&parts, timestamp, None)
        .or_else(|_| client.signer.sign_request(&empty, timestamp, None))
        .expect("sign");
    let body = (!body.is_empty()).then_some(body);
    let response = http::request(&client.server, method, path, &signed.pairs(), body).expect("request");
    (response.status, serde_json::from_str(&response.body).unwrap_or(Value::String(response.body)))
}

/// `base` with `fields` set over it, as a JSON body.
fn merged(mut base: Value, fields: Value) -> String {
    if let (Some(base), Some(fields)) = (base.as_object_mut(), fields.as_object()) {
        for (k, v) in fields {
            base.insert(k.clone(), v.clone());
        }
    }
    base.to_string()
}

fn order(fields: Value) -> String {
    merged(
        json!({ "symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "150", "quantity": "1" }),
        fields,
    )
}

fn state(client: &ApiClient) -> (Value, Value) {
    (ok(client, "GET", "/api/v1/capital", None, None), ok(client, "GET", "/api/v1/orders", None, None))
}

#[test]
fn malformed_requests_get_a_clear_4xx_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("venue"), &["--no-demo-bots"]);
    let (_, trader) = server.account(&["USDC=1000", "SOL=10"]);
    let before = state(&trader);
    let now = now_ms();
    let huge = "x".repeat(100 * 1024);
    // (name, body, expected status, expected code or None for a non-JSON body)
    let cases: Vec<(&str, String, u16, Option<&str>)> = vec![
        ("broken JSON", "{\"symbol\":".into(), 400, Some("INVALID_CLIENT_REQUEST")),
        ("not an object", "[1,2]".into(), 400, Some("INVALID_CLIENT_REQUEST")),
        ("price with too many decimals", order(json!({"price": "150.123"})), 400, Some("INVALID_PRICE")),
        ("price with an exponent", order(json!({"price": "1.5e2"})), 400, Some("INVALID_PRICE")),
        ("price as a boolean", order(json!({"price": true})), 400, Some("INVALID_CLIENT_REQUEST")),
        (
            "price off the tick",
            order(json!({"symbol": "BTC_USDC", "price": "95000.05", "quantity": "0.001"})),
            400,
            Some("INVALID_PRICE"),
        ),
        ("price above the market maximum", order(json!({"price": "99999999"})), 400, Some("INVALID_PRICE")),
        ("zero quantity", order(json!({"quantity": "0"})), 400, Some("INVALID_QUANTITY")),
        ("negative quantity", order(json!({"quantity": "-1"})), 400, Some("INVALID_QUANTITY")),
        (
            "overflowing quantity",
            order(json!({"quantity": "99999999999999999999999999"})),
            400,
            Some("INVALID_QUANTITY"),
        ),
        ("quantity finer than the step", order(json!({"quantity": "1.001"})), 400, Some("INVALID_QUANTITY")),
        ("quantity with whitespace", order(json!({"quantity": " 1"})), 400, Some("INVALID_QUANTITY")),
        ("NaN quantity", order(json!({"quantity": "NaN"})), 400, Some("INVALID_QUANTITY")),
        ("unknown symbol", order(json!({"symbol": "XYZ_USDC"})), 400, Some("INVALID_CLIENT_REQUEST")),
        ("unknown side", order(json!({"side": "Buy"})), 400, Some("INVALID_CLIENT_REQUEST")),
        (
            "missing order type",
            json!({"symbol": "SOL_USDC", "side": "Bid", "price": "1", "quantity": "1"}).to_string(),
            400,
            Some("INVALID_CLIENT_REQUEST"),
        ),
        ("client id out of range", order(json!({"clientId": 4_294_967_296u64})), 400, Some("INVALID_CLIENT_REQUEST")),
        ("client id not a number", order(json!({"clientId": "abc"})), 400, Some("INVALID_CLIENT_REQUEST")),
        ("post-only IOC", order(json!({"postOnly": true, "timeInForce": "IOC"})), 400, Some("INVALID_ORDER")),
        ("more than the balance", order(json!({"quantity": "100"})), 400, Some("INSUFFICIENT_FUNDS")),
        ("oversize body", order(json!({"pad": huge})), 413, None),
    ];
    let mut failures = Vec::new();
    for (name, body, status, code) in &cases {
        let (got, value) = raw(&trader, "POST", "/api/v1/order", body, body, now_ms());
        let got_code = value.get("code").and_then(Value::as_str);
        if got != *status || (code.is_some() && got_code != *code) {
            failures.push(format!("{name}: {got} {value}, expected {status} {code:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let valid = order(json!({"price": "100", "quantity": "0.5"}));
    let auth_cases: Vec<(&str, u16, &str, (u16, Value))> = vec![
        ("expired", 401, "INVALID_CLIENT_REQUEST", raw(&trader, "POST", "/api/v1/order", &valid, &valid, now - 60_000)),
        (
            "from the future",
            401,
            "INVALID_CLIENT_REQUEST",
            raw(&trader, "POST", "/api/v1/order", &valid, &valid, now + 60_000),
        ),
        (
            "signature over another body",
            401,
            "INVALID_SIGNATURE",
            raw(&trader, "POST", "/api/v1/order", &valid, &order(json!({})), now_ms()),
        ),
        (
            "a body on a GET",
            400,
            "INVALID_CLIENT_REQUEST",
            raw(&trader, "GET", "/api/v1/capital", "{}", "{}", now_ms()),
        ),
    ];
    for (name, status, code, (got, value)) in auth_cases {
        assert_eq!((got, value["code"].as_str()), (status, Some(code)), "{name}: {value}");
    }
    let unsigned = http::request(&server.url, "GET", "/api/v1/capital", &[], None).unwrap();
    assert_eq!(unsigned.status, 401);
    let unknown = http::request(&server.url, "GET", "/api/v1/nothing-here", &[], None).unwrap();
    assert_eq!(unknown.status, 404);
    assert_eq!(state(&trader), before, "refused requests changed the account");

    // The same signed request twice: the first is applied, the replay is refused.
    let parts = RequestParts { method: "POST", path: "/api/v1/order", query: None, body: valid.as_bytes() };
    let signed = trader.signer.sign_request(&parts, now_ms(), None).unwrap();
    let first = http::request(&server.url, "POST", "/api/v1/order", &signed.pairs(), Some(&valid)).unwrap();
    assert_eq!(first.status, 200, "{}", first.body);
    let replay = http::request(&server.url, "POST", "/api/v1/order", &signed.pairs(), Some(&valid)).unwrap();
    assert_eq!(replay.status, 401, "{}", replay.body);
    assert_eq!(ok(&trader, "GET", "/api/v1/orders", None, None).as_array().map(Vec::len), Some(1));
    server.stop();
}

/// The unified account's endpoints: every malformed request is a 4xx with the venue's code and
/// leaves balances, positions and pools as they were.
#[test]
fn malformed_borrow_lend_requests_get_a_clear_4xx_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("venue"), &["--no-demo-bots"]);
    let (_, trader) = server.account(&["USDC=1000", "SOL=10"]);
    let snapshot = |client: &ApiClient| {
        (
            ok(client, "GET", "/api/v1/capital", None, None),
            ok(client, "GET", "/api/v1/borrowLend/positions", None, None),
            // The pools, less the time they are reported at (refused commands still pass time).
            client
                .public("/api/v1/borrowLend/markets")
                .unwrap()
                .1
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    m.as_object()
                        .unwrap()
                        .iter()
                        .filter(|(k, _)| *k != "timestamp")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<serde_json::Map<_, _>>()
                })
                .collect::<Vec<_>>(),
        )
    };
    let before = snapshot(&trader);
    let borrow_lend = |fields| merged(json!({ "symbol": "USDC", "side": "Lend", "quantity": "1" }), fields);
    let withdrawal =
        |fields| merged(json!({ "symbol": "USDC", "quantity": "1", "address": "a", "blockchain": "Solana" }), fields);
    let cases: Vec<(&str, &str, String, &str)> = vec![
        ("borrowLend: unknown asset", "/api/v1/borrowLend", borrow_lend(json!({"symbol": "DOGE"})), "INVALID_ASSET"),
        ("borrowLend: side Bend", "/api/v1/borrowLend", borrow_lend(json!({"side": "Bend"})), "INVALID_CLIENT_REQUEST"),
        ("borrowLend: zero", "/api/v1/borrowLend", borrow_lend(json!({"quantity": "0"})), "INVALID_QUANTITY"),
        ("borrowLend: negative", "/api/v1/borrowLend", borrow_lend(json!({"quantity": "-5"})), "INVALID_QUANTITY"),
        (
            "borrowLend: finer than the asset",
            "/api/v1/borrowLend",
            borrow_lend(json!({"quantity": "0.0000001"})),
            "INVALID_QUANTITY",
        ),
        (
            "borrowLend: overflow",
            "/api/v1/borrowLend",
            borrow_lend(json!({"quantity": "99999999999999999999999"})),
            "INVALID_QUANTITY",
        ),
        (
            "borrowLend: more than held",
            "/api/v1/borrowLend",
            borrow_lend(json!({"quantity": "5000"})),
            "INSUFFICIENT_FUNDS",
        ),
        (
            "borrowLend: borrow from an empty pool",
            "/api/v1/borrowLend",
            borrow_lend(json!({"side": "Borrow", "quantity": "1000"})),
            "INSUFFICIENT_SUPPLY",
        ),
        ("borrowLend: not JSON", "/api/v1/borrowLend", "{\"symbol\":".into(), "INVALID_CLIENT_REQUEST"),
        (
            "withdrawal: missing address",
            "/wapi/v1/capital/withdrawals",
            json!({ "symbol": "USDC", "quantity": "1", "blockchain": "Solana" }).to_string(),
            "INVALID_CLIENT_REQUEST",
        ),
        (
            "withdrawal: more than held",
            "/wapi/v1/capital/withdrawals",
            withdrawal(json!({"quantity": "2000"})),
            "INSUFFICIENT_FUNDS",
        ),
        (
            "withdrawal: autoBorrow as text",
            "/wapi/v1/capital/withdrawals",
            withdrawal(json!({"autoBorrow": "yes"})),
            "INVALID_CLIENT_REQUEST",
        ),
        ("order: autoLend is not supported", "/api/v1/order", order(json!({"autoLend": true})), "NOT_IMPLEMENTED"),
    ];
    for (name, path, body, code) in &cases {
        let (got, value) = raw(&trader, "POST", path, body, body, now_ms());
        assert!((400..500).contains(&got), "{name}: status {got} {value}");
        assert_eq!(value["code"].as_str(), Some(*code), "{name}: {value}");
    }
    for (name, query) in [
        ("borrow limit: unknown asset", "/api/v1/account/limits/borrow?symbol=DOGE"),
        ("borrow limit: no symbol", "/api/v1/account/limits/borrow"),
        ("withdrawal limit: flag not a boolean", "/api/v1/account/limits/withdrawal?symbol=USDC&autoBorrow=maybe"),
        ("order limit: unknown market", "/api/v1/account/limits/order?symbol=XYZ_USDC&side=Bid"),
        ("order limit: bad price", "/api/v1/account/limits/order?symbol=SOL_USDC&side=Bid&price=1.234"),
        ("interest history: unknown asset", "/wapi/v1/history/interest?asset=DOGE"),
        ("interest history: bad limit", "/wapi/v1/history/interest?limit=5000"),
    ] {
        let (path, query) = query.split_once('?').unwrap_or((query, ""));
        let (got, value) = trader.call("GET", path, (!query.is_empty()).then_some(query), None).unwrap();
        assert!((400..500).contains(&got), "{name}: status {got} {value}");
        assert!(value["code"].is_string(), "{name}: {value}");
    }
    let (got, value) = trader.public("/api/v1/borrowLend/markets/history?interval=2d").unwrap();
    assert_eq!((got, value["code"].as_str()), (400, Some("INVALID_CLIENT_REQUEST")), "{value}");
    assert_eq!(snapshot(&trader), before, "nothing changed");
    server.stop();
}

/// Perpetual futures' endpoints: every malformed request is a 4xx with the venue's code and
/// leaves balances and positions as they were.
#[test]
fn malformed_perpetual_requests_get_a_clear_4xx_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("venue"), &["--no-demo-bots"]);
    let (_, trader) = server.account(&["USDC=1000"]);
    // The venue's clock samples the first mark prices within a second of starting.
    let marked = || trader.public("/api/v1/markPrices?symbol=SOL_USDC_PERP").unwrap().1[0]["markPrice"] != "0";
    let started = std::time::Instant::now();
    while !marked() && started.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let snapshot = |client: &ApiClient| {
        (ok(client, "GET", "/api/v1/capital", None, None), ok(client, "GET", "/api/v1/position", None, None))
    };
    let before = snapshot(&trader);
    let perp = |fields| {
        merged(
            json!({"symbol": "SOL_USDC_PERP", "side": "Bid", "orderType": "Limit", "price": "150", "quantity": "1"}),
            fields,
        )
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("reduce-only on spot", order(json!({"reduceOnly": true})), "INVALID_ORDER"),
        ("reduce-only as text", perp(json!({"reduceOnly": "yes"})), "INVALID_CLIENT_REQUEST"),
        ("beyond initial margin", perp(json!({"quantity": "1000"})), "INSUFFICIENT_MARGIN"),
        ("a take-profit limit alone", perp(json!({"takeProfitLimitPrice": "160"})), "INVALID_CLIENT_REQUEST"),
        (
            "a stop-loss by nothing",
            perp(json!({"stopLossTriggerPrice": "140", "stopLossTriggerBy": "Nothing"})),
            "INVALID_CLIENT_REQUEST",
        ),
        (
            "exits on a quote-sized order",
            json!({"symbol": "SOL_USDC_PERP", "side": "Bid", "orderType": "Market", "quoteQuantity": "10",
                   "stopLossTriggerPrice": "140"})
            .to_string(),
            "INVALID_ORDER",
        ),
        ("trigger by the moon", perp(json!({"triggerPrice": "140", "triggerBy": "Moon"})), "INVALID_CLIENT_REQUEST"),
        ("trigger quantity alone", perp(json!({"triggerQuantity": "1"})), "INVALID_CLIENT_REQUEST"),
        (
            "quantity and trigger quantity",
            perp(json!({"triggerPrice": "140", "triggerQuantity": "1"})),
            "INVALID_CLIENT_REQUEST",
        ),
        ("trigger price off the tick", perp(json!({"triggerPrice": "140.001"})), "INVALID_PRICE"),
        (
            "a mark trigger on spot",
            order(json!({"triggerPrice": "140", "triggerBy": "MarkPrice"})),
            "PRECONDITION_FAILED",
        ),
        ("price off the tick", perp(json!({"price": "150.001"})), "INVALID_PRICE"),
        ("quantity off the step", perp(json!({"quantity": "0.001"})), "INVALID_QUANTITY"),
    ];
    for (name, body, code) in &cases {
        let (got, value) = raw(&trader, "POST", "/api/v1/order", body, body, now_ms());
        assert!((400..500).contains(&got), "{name}: status {got} {value}");
        assert_eq!(value["code"].as_str(), Some(*code), "{name}: {value}");
    }
    for (name, path, query) in [
        ("settlement: unknown source", "/wapi/v1/history/settlement", "source=Lottery"),
        ("position history: unknown state", "/wapi/v1/history/position", "state=Maybe"),
        ("funding history: a spot symbol", "/wapi/v1/history/funding", "symbol=SOL_USDC"),
        ("positions: unknown symbol", "/api/v1/position", "symbol=XYZ_USDC_PERP"),
        ("positions: unknown market type", "/api/v1/position", "marketType=FUTURE"),
    ] {
        let (got, value) = trader.call("GET", path, Some(query), None).unwrap();
        assert!((400..500).contains(&got), "{name}: status {got} {value}");
        assert!(value["code"].is_string(), "{name}: {value}");
    }
    for (name, path) in [
        ("mark prices: unknown symbol", "/api/v1/markPrices?symbol=XYZ_USDC_PERP"),
        ("open interest: a spot symbol", "/api/v1/openInterest?symbol=SOL_USDC"),
        ("funding rates: no symbol", "/api/v1/fundingRates"),
        ("funding rates: bad limit", "/api/v1/fundingRates?symbol=SOL_USDC_PERP&limit=99999"),
    ] {
        let (got, value) = trader.public(path).unwrap();
        assert!((400..500).contains(&got), "{name}: status {got} {value}");
        assert!(value["code"].is_string(), "{name}: {value}");
    }
    assert_eq!(snapshot(&trader), before, "nothing changed");
    server.stop();
}
