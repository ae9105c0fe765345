"""bpx-py 2.0.11, unmodified, pointed at rucksack through its base-URL attributes (§7.1).

bpx-py returns whatever JSON the server sends (it never raises on an error status), so every
call here is checked for the venue's exact shapes. It has no batch-order call. It needs an
older `cryptography` than ccxt, so it runs in its own environment and pytest session; on the
quiet venue it keeps to SOL_USDC.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from decimal import Decimal

from bpx.account import Account
from bpx.public import Public

from support import SOL_REFERENCE, balances_of, expected_deltas, until_filled, wait_until

D = Decimal


def public(venue) -> Public:
    client = Public()
    client.BASE_URL = venue.url + "/"
    return client


def account(venue, credentials) -> Account:
    client = Account(credentials["apiKey"], credentials["apiSecret"])
    client.BPX_API_URL = venue.url + "/"
    return client


def levels(side):
    return [(D(price), D(quantity)) for price, quantity in side]


def test_markets_and_system(quiet_venue):
    client = public(quiet_venue)
    markets = {m["symbol"]: m for m in client.get_markets()}
    assert set(markets) == {"SOL_USDC", "BTC_USDC", "ETH_USDC", "SOL_USDC_PERP", "BTC_USDC_PERP", "ETH_USDC_PERP"}
    sol = markets["SOL_USDC"]
    assert (sol["baseSymbol"], sol["quoteSymbol"], sol["marketType"]) == ("SOL", "USDC", "SPOT")
    assert D(sol["filters"]["price"]["tickSize"]) == D("0.01")
    assert D(sol["filters"]["quantity"]["stepSize"]) == D("0.01")
    assert sol["orderBookState"] == "Open"
    assert {a["symbol"] for a in client.get_assets()} == {"USDC", "SOL", "BTC", "ETH"}
    assert client.get_status() == {"status": "Ok", "message": None}
    assert client.get_ping() == "pong"
    assert abs(int(client.get_time()) - time.time() * 1000) < 60_000


def test_market_data_reflects_own_orders_and_trade(quiet_venue, funded_account):
    client = public(quiet_venue)
    maker = account(quiet_venue, funded_account(quiet_venue))
    taker = account(quiet_venue, funded_account(quiet_venue))

    ticker = client.get_ticker("SOL_USDC")
    assert (ticker["lastPrice"], ticker["volume"], ticker["trades"]) == ("0", "0", "0")

    for side, price, quantity in [("Ask", "151.5", "2"), ("Bid", "148.75", "1.25"), ("Bid", "148.5", "3")]:
        order = maker.execute_order("SOL_USDC", side, "Limit", quantity=quantity, price=price)
        assert order["status"] == "New", order
    try:
        depth = client.get_depth("SOL_USDC")
        # The venue's wire order: both sides ascending, so the best bid is last.
        assert levels(depth["asks"]) == [(D("151.5"), D(2))]
        assert levels(depth["bids"]) == [(D("148.5"), D(3)), (D("148.75"), D("1.25"))]
        assert isinstance(depth["lastUpdateId"], str) and depth["lastUpdateId"].isdigit()
        assert abs(depth["timestamp"] / 1_000_000 - time.time()) < 60

        fill = taker.execute_order("SOL_USDC", "Bid", "Limit", quantity="0.4", price="151.5")
        assert fill["status"] == "Filled", fill
        assert (D(fill["executedQuantity"]), D(fill["executedQuoteQuantity"])) == (D("0.4"), D("60.6"))
        assert levels(client.get_depth("SOL_USDC")["asks"]) == [(D("151.5"), D("1.6"))]

        trades = client.get_recent_trades("SOL_USDC", 10)
        assert len(trades) == 1
        trade = trades[0]
        assert (D(trade["price"]), D(trade["quantity"]), D(trade["quoteQuantity"])) == (D("151.5"), D("0.4"), D("60.6"))
        assert trade["isBuyerMaker"] is False
        assert client.get_history_trades("SOL_USDC", 10, 0) == trades

        ticker = client.get_ticker("SOL_USDC")
        assert D(ticker["lastPrice"]) == D(ticker["firstPrice"]) == D(ticker["high"]) == D("151.5")
        assert (D(ticker["volume"]), D(ticker["quoteVolume"]), ticker["trades"]) == (D("0.4"), D("60.6"), "1")
        assert [t["symbol"] for t in client.get_tickers()] == [
            "SOL_USDC", "BTC_USDC", "ETH_USDC", "SOL_USDC_PERP", "BTC_USDC_PERP", "ETH_USDC_PERP"
        ]

        now = int(time.time())
        candles = client.get_klines("SOL_USDC", "1m", now - 600, now + 60)
        assert len(candles) == 1
        candle = candles[0]
        assert all(D(candle[k]) == D("151.5") for k in ("open", "high", "low", "close"))
        assert (D(candle["volume"]), candle["trades"]) == (D("0.4"), "1")
        minute = datetime.fromtimestamp(trade["timestamp"] // 60_000 * 60, timezone.utc)
        assert candle["start"] == minute.strftime("%Y-%m-%d %H:%M:%S")
    finally:
        cancelled = maker.cancel_all_orders("SOL_USDC")
    assert sorted(D(o["price"]) for o in cancelled) == [D("148.5"), D("148.75"), D("151.5")]
    assert all(o["status"] == "Cancelled" for o in cancelled)
    assert client.get_depth("SOL_USDC")["asks"] == []


def test_limit_order_lifecycle(quiet_venue, funded_account):
    client = account(quiet_venue, funded_account(quiet_venue))
    balances = client.get_balances()
    assert (D(balances["USDC"]["available"]), D(balances["USDC"]["locked"])) == (D(100000), D(0))
    assert D(balances["SOL"]["available"]) == D(1000)

    order = client.execute_order(
        "SOL_USDC", "Bid", "Limit", quantity="1.5", price="101.25", client_id=4242, time_in_force="GTC"
    )
    assert order["status"] == "New", order
    assert (order["side"], order["orderType"], order["clientId"]) == ("Bid", "Limit", 4242)
    assert (D(order["price"]), D(order["quantity"]), D(order["executedQuantity"])) == (D("101.25"), D("1.5"), 0)
    assert isinstance(order["createdAt"], int)

    locked = D(client.get_balances()["USDC"]["locked"])
    assert D("151.875") <= locked <= D("151.875") * D("1.001")
    assert client.get_account()["limitOrders"] == 1

    by_client_id = client.get_open_order("SOL_USDC", client_id=4242)
    by_id = client.get_open_order("SOL_USDC", order_id=order["id"])
    assert by_client_id["id"] == by_id["id"] == order["id"]
    assert [o["id"] for o in client.get_open_orders(symbol="SOL_USDC")] == [order["id"]]
    # Every market here is spot: a filter for another type selects nothing.
    assert [o["id"] for o in client.get_open_orders(market_type="SPOT")] == [order["id"]]
    assert client.get_open_orders(market_type="PERP") == []
    history = client.get_order_history(symbol="SOL_USDC", order_id=order["id"])
    assert [(o["id"], o["status"]) for o in history] == [(order["id"], "New")]
    assert client.get_order_history(symbol="SOL_USDC", market_type="PERP") == []

    # bpx-py sends the client id of a cancel as a string.
    cancelled = client.cancel_order("SOL_USDC", client_id=4242)
    assert (cancelled["id"], cancelled["status"]) == (order["id"], "Cancelled")
    assert client.get_open_orders(symbol="SOL_USDC") == []
    history = client.get_order_history(symbol="SOL_USDC", order_id=order["id"])
    assert [(o["id"], o["status"], D(o["price"])) for o in history] == [(order["id"], "Cancelled", D("101.25"))]
    assert D(client.get_balances()["USDC"]["locked"]) == 0

    again = client.cancel_order("SOL_USDC", order_id=order["id"])
    assert again == {"code": "INVALID_CLIENT_REQUEST", "message": "Order not found"}
    assert client.get_open_order("SOL_USDC", order_id=order["id"])["code"] == "RESOURCE_NOT_FOUND"

    # An IOC order with nothing to meet expires at once.
    ioc = client.execute_order("SOL_USDC", "Bid", "Limit", quantity="1", price="50", time_in_force="IOC")
    assert (ioc["status"], ioc["timeInForce"], D(ioc["executedQuantity"])) == ("Expired", "IOC", 0)


def test_cancel_all(quiet_venue, funded_account):
    client = account(quiet_venue, funded_account(quiet_venue))
    ids = {
        client.execute_order("SOL_USDC", "Bid", "Limit", quantity="1", price="90.1")["id"],
        client.execute_order("SOL_USDC", "Ask", "Limit", quantity="2", price="210.2", post_only=True)["id"],
    }
    assert {o["id"] for o in client.get_open_orders(symbol="SOL_USDC")} == ids
    cancelled = client.cancel_all_orders("SOL_USDC")
    assert {(o["id"], o["status"]) for o in cancelled} == {(i, "Cancelled") for i in ids}
    assert client.get_open_orders() == []


def test_trades_against_the_market_maker(live_venue, funded_account):
    client = account(live_venue, funded_account(live_venue))
    before = balances_of(client.get_balances())
    since = int(time.time() * 1000) - 1

    def market(side, **size):
        def place():
            order = client.execute_order("SOL_USDC", side, "Market", **size)
            assert "id" in order, order
            return order["id"], order["status"] == "Filled", order

        return place

    buys, bought = until_filled(market("Bid", quantity="0.5"))
    assert D(bought["executedQuantity"]) == D("0.5")
    average = D(bought["executedQuoteQuantity"]) / D("0.5")
    assert SOL_REFERENCE < average <= SOL_REFERENCE * D("1.0026")

    # Sell for (at most) 30 USDC: a market order sized in the quote asset.
    sells, sold = until_filled(market("Ask", quote_quantity="30"))
    assert D("29") < D(sold["executedQuoteQuantity"]) <= D(30)
    assert sold["quoteQuantity"] is not None and D(sold["quoteQuantity"]) == D(30)

    ours = set(buys) | set(sells)
    fills = wait_until(
        lambda: [f for f in client.get_fill_history(symbol="SOL_USDC", limit=100, from_=since) if f["orderId"] in ours],
        5,
        "our fills",
    )
    assert all(f["isMaker"] is False and f["feeSymbol"] == "USDC" for f in fills)
    assert sum(D(f["quantity"]) for f in fills if f["orderId"] == bought["id"]) == D("0.5")
    assert sum(D(f["quantity"]) for f in fills if f["orderId"] == sold["id"]) == D(sold["executedQuantity"])
    user_fills = client.get_fill_history(symbol="SOL_USDC", limit=100, from_=since, fill_type="User")
    assert {f["tradeId"] for f in user_fills} == {f["tradeId"] for f in fills}
    assert client.get_fill_history(symbol="SOL_USDC", from_=since, fill_type="Liquidation") == []
    assert client.get_fill_history(from_=since, market_type="PERP") == []
    assert len(client.get_fill_history(from_=since, market_type="SPOT")) == len(fills)

    after = balances_of(client.get_balances())
    deltas = expected_deltas(fills, "SOL", "USDC")
    assert after["SOL"] - before["SOL"] == deltas["SOL"]
    assert after["USDC"] - before["USDC"] == deltas["USDC"]

    history = {o["id"]: o for o in client.get_order_history(symbol="SOL_USDC", limit=100)}
    assert history[bought["id"]]["status"] == "Filled"
    assert D(history[sold["id"]]["executedQuoteQuantity"]) == D(sold["executedQuoteQuantity"])
    public_trades = {t["id"] for t in public(live_venue).get_recent_trades("SOL_USDC", 1000)}
    assert {f["tradeId"] for f in fills} <= public_trades
