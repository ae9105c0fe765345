//! The unified account through the API: lend, borrow against collateral, interest over a day of
//! clock, repay; and the margin and throttle refusals.

mod support;

use serde_json::{Value, json};
use support::{Server, ok};

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
