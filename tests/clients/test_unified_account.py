"""The unified account through ccxt's `backpack` class, unmodified: deposit SOL, buy more SOL on
margin with USDC borrowed automatically, watch interest accrue over a day of clock, repay from
the proceeds of a sale, withdraw nothing that is owed; and the throttle stopping a borrow while
letting a repay through.

Runs on the manual-clock venue, so interest is a function of the commands alone.
"""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest

from test_ccxt import connect


def positions(exchange) -> dict:
    rows = exchange.privateGetApiV1BorrowLendPositions()
    return {row["symbol"]: Decimal(row["netQuantity"]) for row in rows}


def market(exchange, symbol: str) -> dict:
    return next(m for m in exchange.publicGetApiV1BorrowLendMarkets() if m["symbol"] == symbol)


def test_spot_margin_buy_interest_and_repay(clocked_venue, funded_account):
    lender = connect(clocked_venue, funded_account(clocked_venue, {"USDC": "200000"}))
    seller = connect(clocked_venue, funded_account(clocked_venue, {"SOL": "100", "USDC": "2000"}))
    trader = connect(clocked_venue, funded_account(clocked_venue, {"SOL": "10"}))

    lender.privatePostApiV1BorrowLend({"symbol": "USDC", "side": "Lend", "quantity": "100000"})
    assert Decimal(market(lender, "USDC")["lentQuantity"]) == Decimal("100000")

    # The trader holds 10 SOL ($1,500 at the index, $1,350 as collateral) and no USDC. Buying
    # 5 SOL at 150 with autoBorrow borrows the $750.375 (price and taker fee) it lacks.
    seller.create_order("SOL/USDC", "limit", "sell", 5, 150)
    order = trader.create_order("SOL/USDC", "limit", "buy", 5, 150, params={"autoBorrow": True})
    assert order["status"] == "closed", order
    debt = -positions(trader)["USDC"]
    assert Decimal("750.375") <= debt < Decimal("750.4"), debt
    collateral = trader.privateGetApiV1CapitalCollateral()
    assert Decimal(collateral["borrowLiability"]) >= Decimal("750.375")
    assert Decimal(collateral["netEquity"]) > 0
    assert {row["symbol"] for row in collateral["collateral"]} >= {"SOL"}

    # Without autoBorrow the same order is refused for funds; too large a margin buy is refused
    # for margin.
    with pytest.raises(ccxt.InsufficientFunds):
        trader.create_order("SOL/USDC", "limit", "buy", 1, 150)
    with pytest.raises(ccxt.ExchangeError):
        trader.create_order("SOL/USDC", "limit", "buy", 500, 150, params={"autoBorrow": True})

    clocked_venue.admin("advance-clock", "24h")

    def grown():
        return -positions(trader)["USDC"] > debt

    from support import wait_until

    wait_until(grown, 10, "a day of interest on the USDC borrow")
    after_day = -positions(trader)["USDC"]
    # U = 750/100000 = 0.75%: 10% * 0.0075 / 0.8 = 0.09375% a year, about 0.0019 USDC a day.
    assert after_day - debt < Decimal("0.01"), (debt, after_day)
    assert Decimal(market(lender, "USDC")["lentQuantity"]) > Decimal("100000")

    # Selling SOL with autoBorrowRepay repays the debt from the proceeds.
    bid = seller.create_order("SOL/USDC", "limit", "buy", 6, 150)
    assert bid["status"] == "open"
    sale = trader.create_order("SOL/USDC", "limit", "sell", 6, 150, params={"autoBorrowRepay": True})
    assert sale["status"] == "closed", sale
    assert "USDC" not in positions(trader), positions(trader)

    # Nothing is owed any more: the SOL left can be withdrawn, and the history shows the borrow,
    # its repayment from the sale, and the interest paid.
    held = Decimal(trader.privateGetApiV1Capital()["SOL"]["available"])
    withdrawal = trader.withdraw("SOL", float(held), "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin", params={"network": "SOL"})
    assert Decimal(str(withdrawal["amount"])) == held, withdrawal
    moves = trader.privateGetWapiV1HistoryBorrowLend({"sortDirection": "Asc"})
    assert [(m["eventType"], m["source"]) for m in moves] == [("Borrow", "SpotMargin"), ("BorrowRepay", "AutoBorrowRepay")], moves
    paid = trader.privateGetWapiV1HistoryInterest({"limit": 1000})
    assert {p["paymentType"] for p in paid} == {"EntryFee", "Borrow"}, paid
    assert sum(Decimal(p["quantity"]) for p in paid) < 0


def test_the_throttle_stops_borrows_and_lets_repays_through(clocked_venue, funded_account):
    # The clock may have moved past the demo's starting prices: publish a current one.
    clocked_venue.set_price("ETH", "3500")
    lender = connect(clocked_venue, funded_account(clocked_venue, {"ETH": "10"}))
    borrower = connect(clocked_venue, funded_account(clocked_venue, {"USDC": "100000"}))
    lender.privatePostApiV1BorrowLend({"symbol": "ETH", "side": "Lend", "quantity": "10"})
    # The throttle sits at 90% utilization: 8.9 ETH can be borrowed (with its entry fee), 9.5
    # cannot.
    with pytest.raises(ccxt.ExchangeError) as refused:
        borrower.privatePostApiV1BorrowLend({"symbol": "ETH", "side": "Borrow", "quantity": "9.5"})
    assert "BORROW_LIMIT" in str(refused.value)
    borrower.privatePostApiV1BorrowLend({"symbol": "ETH", "side": "Borrow", "quantity": "8.9"})
    assert Decimal(market(borrower, "ETH")["utilization"]) >= Decimal("0.89")
    # The lender cannot redeem above the throttle either; the borrower can always repay.
    with pytest.raises(ccxt.ExchangeError):
        lender.privatePostApiV1BorrowLend({"symbol": "ETH", "side": "Borrow", "quantity": "5"})
    borrower.privatePostApiV1BorrowLend({"symbol": "ETH", "side": "Lend", "quantity": "5"})
    assert -positions(borrower)["ETH"] < Decimal("3.91")
    lender.privatePostApiV1BorrowLend({"symbol": "ETH", "side": "Borrow", "quantity": "5"})
    assert positions(lender)["ETH"] < Decimal("5.01")
