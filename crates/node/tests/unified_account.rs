//! The unified account through the API: lend, borrow against collateral, interest over a day of
//! clock, repay; and the margin and throttle refusals.

mod support;

use serde_json::{Value, json};
use support::{Server, ok};

/// A USDC amount string ("-0.000123") in micro-USDC, exactly.
fn micros(value: &Value) -> i128 {
    let text = value.as_str().unwrap_or_else(|| panic!("not a decimal string: {value}"));
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let negative = whole.starts_with('-');
    let units = whole.trim_start_matches('-').parse::<i128>().unwrap() * 1_000_000
        + format!("{fraction:0<6}")[..6].parse::<i128>().unwrap();
    if negative { -units } else { units }
}

fn decimal(value: &Value) -> f64 {
    value.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not a decimal string: {value}"))
}

#[test]
fn borrowing_against_sol_accrues_interest_and_repays() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("venue"), &["--no-demo-bots", "--manual-clock"]);
    let (_, lender) = server.account(&["USDC=100000"]);
    let (_, borrower) = server.account(&["SOL=10", "USDC=1"]);

    let public = |path: &str| {
        let (status, body) = lender.public(path).unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        body
    };
    let parameters = public("/api/v1/collateral");
    let sol = parameters.as_array().unwrap().iter().find(|r| r["symbol"] == "SOL").unwrap();
    assert_eq!(sol["haircutFunction"]["kind"]["type"], "inverseSqrt");
    assert_eq!(sol["imfFunction"]["type"], "sqrt");

    ok(
        &lender,
        "POST",
        "/api/v1/borrowLend",
        None,
        Some(&json!({ "symbol": "USDC", "side": "Lend", "quantity": "50000" })),
    );
    // 10 SOL at $150 with weight 0.9 is $1,350 of collateral: borrowing $20,000 (and holding
    // it) needs $2,000 of initial margin and is refused...
    let (status, body) = borrower
        .call(
            "POST",
            "/api/v1/borrowLend",
            None,
            Some(&json!({ "symbol": "USDC", "side": "Borrow", "quantity": "20000" })),
        )
        .unwrap();
    assert_eq!((status, body["code"].as_str()), (400, Some("INSUFFICIENT_MARGIN")), "{body}");
    // ...and $1,000 is within initial margin (requirement 10% of it).
    ok(
        &borrower,
        "POST",
        "/api/v1/borrowLend",
        None,
        Some(&json!({ "symbol": "USDC", "side": "Borrow", "quantity": "1000" })),
    );

    let collateral = ok(&borrower, "GET", "/api/v1/capital/collateral", None, None);
    assert!(decimal(&collateral["borrowLiability"]) >= 1_000.0, "{collateral}");
    let imf = decimal(&collateral["imf"]);
    assert!((0.1..0.1001).contains(&imf), "the borrow IMF is its 10% base: {collateral}");
    assert!(decimal(&collateral["netEquity"]) > 1_340.0, "the borrowed USDC is still held: {collateral}");
    let markets = public("/api/v1/borrowLend/markets");
    let usdc = markets.as_array().unwrap().iter().find(|m| m["symbol"] == "USDC").unwrap();
    assert!(decimal(&usdc["lentQuantity"]) > 50_000.0, "the entry fee went to the lenders: {usdc}");
    assert!(decimal(&usdc["borrowedQuantity"]) >= 1_000.0);
    assert!(usdc["timestamp"].as_str().unwrap().ends_with('Z'));

    let debt = |label: &str| {
        let positions = ok(&borrower, "GET", "/api/v1/borrowLend/positions", None, None);
        let usdc = positions
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["symbol"] == "USDC")
            .unwrap_or_else(|| panic!("{label}: {positions}"))
            .clone();
        -decimal(&usdc["netQuantity"])
    };
    let before = debt("after borrowing");
    assert!(before >= 1_000.0);
    server.admin(&["advance-clock", "24h"]);
    let mut after = before;
    for _ in 0..50 {
        after = debt("after a day");
        if after > before {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // 1,000 USDC at 2% utilization pays about 1000 * 0.1 * 0.02/0.8 / 365 = 0.0068 USDC a day.
    assert!(after > before && after < before + 0.05, "a day of interest: {before} -> {after}");
    let lent = ok(&lender, "GET", "/api/v1/borrowLend/positions", None, None);
    assert!(decimal(&lent[0]["netQuantity"]) > 50_000.0, "the lender earned: {lent}");

    // The history: the borrow, an entry fee and one payment for each of the 24 hours.
    let moves = ok(&borrower, "GET", "/wapi/v1/history/borrowLend", None, None);
    assert_eq!(moves[0]["eventType"], "Borrow", "{moves}");
    assert_eq!((moves[0]["quantity"].as_str(), moves[0]["source"].as_str()), (Some("1000.000000"), Some("Manual")));
    let interest = ok(&borrower, "GET", "/wapi/v1/history/interest", Some("limit=1000"), None);
    let rows = interest.as_array().unwrap();
    let kinds = |kind: &str| rows.iter().filter(|r| r["paymentType"] == kind).count();
    assert_eq!((kinds("EntryFee"), kinds("Borrow")), (1, 24), "{interest}");
    // Exactly what the debt grew by since the borrow of 1,000 USDC, entry fee included.
    let paid: i128 = rows.iter().map(|r| micros(&r["quantity"])).sum();
    let usdc_debt = ok(&borrower, "GET", "/api/v1/borrowLend/positions", None, None);
    let debt = -micros(&usdc_debt.as_array().unwrap().iter().find(|p| p["symbol"] == "USDC").unwrap()["netQuantity"]);
    assert_eq!(-paid, debt - 1_000_000_000, "payments add up to the debt's growth");
    let usdc_position = usdc_debt.as_array().unwrap().iter().find(|p| p["symbol"] == "USDC").unwrap();
    assert_eq!(micros(&usdc_position["cumulativeInterest"]), paid, "the position shows what it paid: {usdc_position}");
    let lent_position = ok(&lender, "GET", "/api/v1/borrowLend/positions", None, None);
    assert!(micros(&lent_position[0]["cumulativeInterest"]) > 0, "{lent_position}");
    assert_eq!(rows[0]["interval"], 3_600_000);
    assert_eq!(rows[0]["marketSymbol"], "USDC");
    let earned = ok(&lender, "GET", "/wapi/v1/history/interest", Some("limit=1000"), None);
    assert_eq!(earned.as_array().unwrap().iter().filter(|r| r["paymentType"] == "Lend").count(), 24, "{earned}");
    let history = public("/api/v1/borrowLend/markets/history?interval=1d&symbol=USDC");
    assert_eq!(history.as_array().unwrap().len(), 24, "{history}");

    // Lend on a borrowed asset repays: the whole debt, from the borrowed cash and one more USDC.
    ok(
        &borrower,
        "POST",
        "/api/v1/borrowLend",
        None,
        Some(&json!({ "symbol": "USDC", "side": "Lend", "quantity": format!("{:.6}", after) })),
    );
    let positions = ok(&borrower, "GET", "/api/v1/borrowLend/positions", None, None);
    assert!(positions.as_array().unwrap().iter().all(|p| p["symbol"] != "USDC"), "repaid: {positions}");
    server.stop();
}

/// The limits queries are exact: one unit more than the answer is refused, the answer itself is
/// accepted. Checked for a borrow, a withdrawal that borrows, and a margin buy.
#[test]
fn limits_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("venue"), &["--no-demo-bots", "--manual-clock"]);
    let (_, lender) = server.account(&["USDC=100000", "SOL=1000"]);
    let (_, trader) = server.account(&["SOL=10", "USDC=5"]);
    for (symbol, quantity) in [("USDC", "90000"), ("SOL", "900")] {
        ok(
            &lender,
            "POST",
            "/api/v1/borrowLend",
            None,
            Some(&json!({ "symbol": symbol, "side": "Lend", "quantity": quantity })),
        );
    }
    let text = |value: &Value| value.as_str().unwrap().to_string();
    // One smallest unit more than `amount` (a decimal string with the asset's places).
    let plus_one_unit = |amount: &str| {
        let places = amount.split('.').nth(1).map_or(0, str::len);
        let digits: String = amount.chars().filter(|c| *c != '.').collect();
        let next = (digits.parse::<u128>().unwrap() + 1).to_string();
        let padded = format!("{next:0>width$}", width = places + 1);
        let (whole, fraction) = padded.split_at(padded.len() - places);
        if places == 0 { whole.to_string() } else { format!("{whole}.{fraction}") }
    };
    let refused = |method: &str, path: &str, body: &Value| {
        let (status, reply) = trader.call(method, path, None, Some(body)).unwrap();
        assert_eq!(status, 400, "{path} {body} was accepted: {reply}");
        reply["code"].as_str().unwrap().to_string()
    };

    let borrow = ok(&trader, "GET", "/api/v1/account/limits/borrow", Some("symbol=USDC"), None);
    let max = text(&borrow["maxBorrowQuantity"]);
    assert!(max.parse::<f64>().unwrap() > 1_000.0, "10 SOL carry some USDC borrowing: {borrow}");
    let code = refused(
        "POST",
        "/api/v1/borrowLend",
        &json!({ "symbol": "USDC", "side": "Borrow", "quantity": plus_one_unit(&max) }),
    );
    assert_eq!(code, "INSUFFICIENT_MARGIN");
    ok(
        &trader,
        "POST",
        "/api/v1/borrowLend",
        None,
        Some(&json!({ "symbol": "USDC", "side": "Borrow", "quantity": max })),
    );
    // Repay most of it again so the other limits have room.
    ok(
        &trader,
        "POST",
        "/api/v1/borrowLend",
        None,
        Some(&json!({ "symbol": "USDC", "side": "Lend", "quantity": "1000" })),
    );

    let order_query = "symbol=SOL_USDC&side=Bid&price=150&autoBorrow=true";
    let order = ok(&trader, "GET", "/api/v1/account/limits/order", Some(order_query), None);
    let lots = text(&order["maxOrderQuantity"]);
    assert!(lots.parse::<f64>().unwrap() > 0.0, "{order}");
    let bid = |quantity: String| json!({ "symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "150", "quantity": quantity, "autoBorrow": true });
    let code = refused("POST", "/api/v1/order", &bid(plus_one_unit(&lots)));
    assert_eq!(code, "INSUFFICIENT_MARGIN");
    ok(&trader, "POST", "/api/v1/order", None, Some(&bid(lots)));

    // Withdrawing USDC may borrow it: the limit is what margin allows beyond the balance.
    let withdrawal = ok(&trader, "GET", "/api/v1/account/limits/withdrawal", Some("symbol=USDC&autoBorrow=true"), None);
    assert_eq!(withdrawal["autoBorrow"], true);
    let max = text(&withdrawal["maxWithdrawalQuantity"]);
    assert!(max.parse::<f64>().unwrap() > 0.0, "{withdrawal}");
    let withdraw = |quantity: String| json!({ "symbol": "USDC", "quantity": quantity, "address": "0xabc", "blockchain": "Ethereum", "autoBorrow": true });
    let code = refused("POST", "/wapi/v1/capital/withdrawals", &withdraw(plus_one_unit(&max)));
    assert_eq!(code, "INSUFFICIENT_MARGIN");
    let done = ok(&trader, "POST", "/wapi/v1/capital/withdrawals", None, Some(&withdraw(max.clone())));
    assert_eq!(done["quantity"], max.as_str());
    // Nothing is left to take.
    let after = ok(&trader, "GET", "/api/v1/account/limits/withdrawal", Some("symbol=USDC&autoBorrow=true"), None);
    assert_eq!(after["maxWithdrawalQuantity"], "0.000000", "{after}");
    server.stop();
}
