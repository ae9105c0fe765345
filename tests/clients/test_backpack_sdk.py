"""backpack-exchange-sdk 1.1.4, unmodified, pointed at rucksack with `base_url` (§7.2).

The SDK raises `BackpackAPIError` subclasses on error statuses. On the quiet venue this module
keeps to BTC_USDC for market data and SOL_USDC for orders.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from backpack_exchange_sdk._base.errors import (
    BackpackAPIError,
    BackpackInsufficientFundsError,
    BackpackInvalidRequestError,
)
from backpack_exchange_sdk.authenticated import AuthenticationClient
from backpack_exchange_sdk.public import PublicClient

from support import SOL_REFERENCE, balances_of, expected_deltas, until_filled, wait_until

D = Decimal


def public(venue) -> PublicClient:
    return PublicClient(base_url=venue.url + "/", timeout=10)


def account(venue, credentials) -> AuthenticationClient:
    return AuthenticationClient(credentials["apiKey"], credentials["apiSecret"], base_url=venue.url + "/", timeout=10)


def levels(side):
    return [(D(price), D(quantity)) for price, quantity in side]


def test_markets(quiet_venue):
    client = public(quiet_venue)
    markets = client.get_markets()
    assert [m["symbol"] for m in markets] == [
        "SOL_USDC", "BTC_USDC", "ETH_USDC", "SOL_USDC_PERP", "BTC_USDC_PERP", "ETH_USDC_PERP"
    ]
    assert [m["marketType"] for m in markets] == ["SPOT"] * 3 + ["PERP"] * 3
    btc = client.get_market("BTC_USDC")
    assert (btc["baseSymbol"], btc["quoteSymbol"]) == ("BTC", "USDC")
    assert (D(btc["filters"]["price"]["tickSize"]), D(btc["filters"]["quantity"]["stepSize"])) == (
        D("0.1"),
        D("0.00001"),
    )
    with pytest.raises(BackpackInvalidRequestError):
        client.get_market("DOGE_USDC")
    assert client.get_status()["status"] == "Ok"
    assert client.send_ping() == "pong"


def test_market_data_reflects_own_orders_and_trade(quiet_venue, funded_account):
    client = public(quiet_venue)
    maker = account(quiet_venue, funded_account(quiet_venue, {"USDC": "1000000", "BTC": "2"}))
    taker = account(quiet_venue, funded_account(quiet_venue, {"USDC": "1000000"}))

    ticker = client.get_ticker("BTC_USDC")
    assert (ticker["lastPrice"], ticker["trades"]) == ("0", "0")

    ask = maker.execute_order("Limit", "Ask", "BTC_USDC", price="95000.5", quantity="0.01234")
    bid = maker.execute_order("Limit", "Bid", "BTC_USDC", price="94000", quantity="0.5", timeInForce="GTC")
    assert ask["status"] == bid["status"] == "New"
    try:
        depth = client.get_depth("BTC_USDC")
        assert levels(depth["asks"]) == [(D("95000.5"), D("0.01234"))]
        assert levels(depth["bids"]) == [(D("94000"), D("0.5"))]

        fill = taker.execute_order("Market", "Bid", "BTC_USDC", quantity="0.01")
        assert fill["status"] == "Filled"
        assert (D(fill["executedQuantity"]), D(fill["executedQuoteQuantity"])) == (D("0.01"), D("950.005"))
        assert levels(client.get_depth("BTC_USDC")["asks"]) == [(D("95000.5"), D("0.00234"))]

        [trade] = client.get_recent_trades("BTC_USDC", 10)
        assert (D(trade["price"]), D(trade["quantity"]), trade["isBuyerMaker"]) == (D("95000.5"), D("0.01"), False)
        assert client.get_historical_trades("BTC_USDC", 10, 0) == [trade]

        ticker = client.get_ticker("BTC_USDC")
        assert (D(ticker["lastPrice"]), D(ticker["volume"]), D(ticker["quoteVolume"])) == (
            D("95000.5"),
            D("0.01"),
            D("950.005"),
        )
        assert {t["symbol"]: t for t in client.get_tickers()}["BTC_USDC"] == ticker

        now = int(time.time())
        [candle] = client.get_klines("BTC_USDC", "1h", now - 7200)
        hour = datetime.fromtimestamp(trade["timestamp"] // 3_600_000 * 3600, timezone.utc)
        assert candle["start"] == hour.strftime("%Y-%m-%d %H:%M:%S")
        assert (D(candle["close"]), D(candle["volume"]), candle["trades"]) == (D("95000.5"), D("0.01"), "1")
    finally:
        maker.cancel_open_orders("BTC_USDC")
    depth = client.get_depth("BTC_USDC")
    assert (depth["asks"], depth["bids"]) == ([], [])


def test_limit_order_lifecycle(quiet_venue, funded_account):
    client = account(quiet_venue, funded_account(quiet_venue))
    assert balances_of(client.get_balances()) == {"USDC": D(100000), "SOL": D(1000)}
    assert client.get_account()["limitOrders"] == 0

    order = client.execute_order("Limit", "Ask", "SOL_USDC", price="199.99", quantity="2.5", clientId=777)
    assert (order["status"], order["side"], order["clientId"]) == ("New", "Ask", 777)
    assert (D(order["price"]), D(order["quantity"])) == (D("199.99"), D("2.5"))
    assert order["postOnly"] is False
    balances = client.get_balances()
    assert (D(balances["SOL"]["available"]), D(balances["SOL"]["locked"])) == (D("997.5"), D("2.5"))

    assert client.get_users_open_orders("SOL_USDC", clientId=777)["id"] == order["id"]
    assert client.get_users_open_orders("SOL_USDC", orderId=order["id"])["clientId"] == 777
    assert [o["id"] for o in client.get_open_orders(symbol="SOL_USDC")] == [order["id"]]
    [historical] = client.get_order_history(orderId=order["id"], symbol="SOL_USDC")
    assert (historical["status"], historical["createdAt"][:2]) == ("New", "20")

    cancelled = client.cancel_open_order("SOL_USDC", clientId=777)
    assert (cancelled["id"], cancelled["status"], cancelled["clientId"]) == (order["id"], "Cancelled", 777)
    assert client.get_open_orders(symbol="SOL_USDC") == []
    assert balances_of(client.get_balances()) == {"USDC": D(100000), "SOL": D(1000)}
    [historical] = client.get_order_history(orderId=order["id"], symbol="SOL_USDC")
    assert historical["status"] == "Cancelled"

    with pytest.raises(BackpackAPIError) as error:
        client.get_users_open_orders("SOL_USDC", orderId=order["id"])
    assert error.value.code == "RESOURCE_NOT_FOUND"
    with pytest.raises(BackpackInvalidRequestError):
        client.cancel_open_order("SOL_USDC", orderId=order["id"])
    with pytest.raises(BackpackInsufficientFundsError):
        client.execute_order("Limit", "Ask", "SOL_USDC", price="150", quantity="5000")

    # A post-only order (timeInForce given, so the SDK sends postOnly only when asked).
    post_only = client.execute_order("Limit", "Bid", "SOL_USDC", price="120", quantity="1", postOnly=True)
    assert post_only["postOnly"] is True and post_only["timeInForce"] == "GTC"
    cancelled = client.cancel_open_order("SOL_USDC", orderId=post_only["id"])
    assert cancelled["status"] == "Cancelled"


def test_batch_orders_and_cancel_all(quiet_venue, funded_account):
    client = account(quiet_venue, funded_account(quiet_venue))
    results = client.execute_batch_orders(
        [
            {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "91.11", "quantity": "1.1"},
            {
                "symbol": "SOL_USDC",
                "side": "Ask",
                "orderType": "Limit",
                "price": "211.11",
                "quantity": "2.2",
                "clientId": 9,
            },
            # Not a price on the tick grid: this one alone fails.
            {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "90.001", "quantity": "1"},
        ]
    )
    assert [r["operation"] for r in results] == ["Ok", "Ok", "Err"]
    assert [(r["side"], D(r["price"]), D(r["quantity"]), r["status"]) for r in results[:2]] == [
        ("Bid", D("91.11"), D("1.1"), "New"),
        ("Ask", D("211.11"), D("2.2"), "New"),
    ]
    assert results[1]["clientId"] == 9
    assert results[2]["code"] == "INVALID_PRICE" and results[2]["message"]
    placed = {r["id"] for r in results[:2]}
    assert {o["id"] for o in client.get_open_orders(symbol="SOL_USDC")} == placed

    assert client.cancel_open_orders("SOL_USDC", "ConditionalOrder") == []
    cancelled = client.cancel_open_orders("SOL_USDC", "RestingLimitOrder")
    assert {(o["id"], o["status"]) for o in cancelled} == {(i, "Cancelled") for i in placed}
    assert client.get_open_orders() == []


def test_trades_against_the_market_maker(live_venue, funded_account):
    client = account(live_venue, funded_account(live_venue))
    before = balances_of(client.get_balances())
    since = int(time.time() * 1000) - 1
    depth = public(live_venue).get_depth("SOL_USDC")
    best_bid, best_ask = D(depth["bids"][-1][0]), D(depth["asks"][0][0])
    assert best_bid < SOL_REFERENCE < best_ask

    def limit_ioc(side, price, quantity):
        def place():
            order = client.execute_order(
                "Limit", side, "SOL_USDC", price=price, quantity=quantity, timeInForce="IOC"
            )
            return order["id"], order["status"] == "Filled", order

        return place

    # Marketable limit orders priced through the maker's five levels (25 bps each way).
    buys, bought = until_filled(limit_ioc("Bid", "150.5", "0.7"))
    sells, sold = until_filled(limit_ioc("Ask", "149.5", "0.7"))
    assert D(bought["executedQuantity"]) == D(sold["executedQuantity"]) == D("0.7")
    assert D(bought["executedQuoteQuantity"]) > D(sold["executedQuoteQuantity"])  # paid the spread

    ours = set(buys) | set(sells)
    fills = wait_until(
        lambda: [
            f
            for f in client.get_fill_history(symbol="SOL_USDC", fromTimestamp=since, limit=100, sortDirection="Asc")
            if f["orderId"] in ours
        ],
        5,
        "our fills",
    )
    assert [f["orderId"] for f in fills] == sorted((f["orderId"] for f in fills), key=int)
    assert all(not f["isMaker"] for f in fills)
    assert all(D(f["price"]) <= D("150.5") for f in fills if f["side"] == "Bid")
    assert all(D(f["price"]) >= D("149.5") for f in fills if f["side"] == "Ask")
    [only_buy] = {f["orderId"] for f in client.get_fill_history(orderId=bought["id"], symbol="SOL_USDC")}
    assert only_buy == bought["id"]

    after = balances_of(client.get_balances())
    deltas = expected_deltas(fills, "SOL", "USDC")
    assert after["SOL"] - before["SOL"] == deltas["SOL"]
    assert after["USDC"] - before["USDC"] == deltas["USDC"]

    history = client.get_order_history(symbol="SOL_USDC", limit=100)
    statuses = {o["id"]: o["status"] for o in history}
    assert statuses[bought["id"]] == statuses[sold["id"]] == "Filled"
