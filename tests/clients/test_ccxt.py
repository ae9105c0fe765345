"""ccxt's `backpack` class, unmodified, pointed at rucksack by its `urls` (see backpack-api.md §6).

On the quiet venue this module keeps to ETH_USDC for market data and SOL_USDC for orders.
"""

from __future__ import annotations

import time
from decimal import Decimal

import ccxt
import pytest

from support import SOL_REFERENCE, expected_deltas, until_filled, wait_until


def connect(venue, account=None) -> ccxt.backpack:
    config = {
        "urls": {"api": {"public": venue.url, "private": venue.url}},
        "timeout": 10_000,
    }
    if account is not None:
        config["apiKey"] = account["apiKey"]
        config["secret"] = account["apiSecret"]
    exchange = ccxt.backpack(config)
    exchange.load_markets()
    return exchange


def totals(balance: dict) -> dict:
    # ccxt's backpack balance has no `info`; its floats print back to the venue's decimals.
    return {code: Decimal(str(amount)) for code, amount in balance["total"].items()}


def test_load_markets_and_currencies(quiet_venue):
    exchange = connect(quiet_venue)
    assert set(exchange.symbols) == {
        "SOL/USDC", "BTC/USDC", "ETH/USDC", "SOL/USDC:USDC", "BTC/USDC:USDC", "ETH/USDC:USDC"
    }
    perp = exchange.market("BTC/USDC:USDC")
    assert (perp["id"], perp["type"], perp["settle"], perp["contractSize"]) == ("BTC_USDC_PERP", "swap", "USDC", 1)
    sol = exchange.market("SOL/USDC")
    assert (sol["id"], sol["base"], sol["quote"], sol["type"]) == ("SOL_USDC", "SOL", "USDC", "spot")
    assert sol["spot"] and sol["active"]
    assert sol["precision"] == {"amount": 0.01, "price": 0.01}
    assert sol["limits"]["amount"]["min"] == 0.01
    assert sol["limits"]["price"]["min"] == 0.01
    btc = exchange.market("BTC/USDC")
    assert btc["precision"] == {"amount": 0.00001, "price": 0.1}
    assert {"USDC", "SOL", "BTC", "ETH"} <= set(exchange.currencies)
    assert exchange.fetch_status()["status"] == "ok"


def test_market_data_reflects_own_orders_and_trade(quiet_venue, funded_account):
    maker = connect(quiet_venue, funded_account(quiet_venue, {"USDC": "100000", "ETH": "10"}))
    taker = connect(quiet_venue, funded_account(quiet_venue, {"USDC": "100000"}))
    public = connect(quiet_venue)
    # Nothing has traded ETH_USDC yet: the ticker is all zeros, never null (ccxt shows a zero
    # price as None).
    ticker = public.fetch_ticker("ETH/USDC")
    assert (ticker["info"]["lastPrice"], ticker["info"]["firstPrice"], ticker["info"]["trades"]) == ("0", "0", "0")
    assert (ticker["baseVolume"], ticker["quoteVolume"]) == (0.0, 0.0)
    try:
        ask = maker.create_order("ETH/USDC", "limit", "sell", 0.5, 3600)
        bid = maker.create_order("ETH/USDC", "limit", "buy", 0.25, 3400.5)
        assert ask["status"] == "open" and bid["status"] == "open"

        book = public.fetch_order_book("ETH/USDC", 5)
        assert book["asks"] == [[3600.0, 0.5]]
        assert book["bids"] == [[3400.5, 0.25]]
        assert isinstance(book["nonce"], int)
        assert abs(book["timestamp"] - time.time() * 1000) < 60_000

        since = int(time.time() * 1000) - 1
        fill = taker.create_order("ETH/USDC", "limit", "buy", 0.2, 3600)
        assert fill["status"] == "closed"
        assert (fill["filled"], fill["remaining"], fill["average"]) == (0.2, 0.0, 3600.0)
        assert fill["cost"] == 720.0

        book = public.fetch_order_book("ETH/USDC")
        assert book["asks"] == [[3600.0, 0.3]]
        resting = maker.fetch_open_order(ask["id"], "ETH/USDC")
        assert (resting["status"], resting["filled"], resting["remaining"]) == ("open", 0.2, 0.3)
        assert resting["info"]["status"] == "PartiallyFilled"
        [made] = maker.fetch_my_trades("ETH/USDC", since=since)
        assert (made["order"], made["side"], made["takerOrMaker"]) == (ask["id"], "sell", "maker")
        assert (made["price"], made["amount"], made["fee"]["currency"]) == (3600.0, 0.2, "USDC")

        trades = public.fetch_trades("ETH/USDC", since=since)
        assert [(t["price"], t["amount"], t["cost"], t["side"]) for t in trades] == [(3600.0, 0.2, 720.0, "buy")]
        assert trades[0]["timestamp"] >= since

        ticker = public.fetch_ticker("ETH/USDC")
        assert (ticker["last"], ticker["open"], ticker["high"], ticker["low"]) == (3600.0,) * 4
        assert (ticker["baseVolume"], ticker["quoteVolume"]) == (0.2, 720.0)
        assert public.fetch_tickers()["ETH/USDC"]["last"] == 3600.0

        candles = public.fetch_ohlcv("ETH/USDC", "1m", limit=5)
        assert candles, "a candle for the trade"
        start, open_, high, low, close, volume = candles[-1]
        assert (open_, high, low, close, volume) == (3600.0, 3600.0, 3600.0, 3600.0, 0.2)
        assert start == trades[0]["timestamp"] // 60_000 * 60_000
        assert public.fetch_ohlcv("ETH/USDC", "1m", since=start, limit=2) == [candles[-1]]
        assert public.fetch_ohlcv("ETH/USDC", "1m", since=start + 60_000, limit=2) == []
    finally:
        maker.cancel_all_orders("ETH/USDC")
    assert public.fetch_order_book("ETH/USDC")["asks"] == []


def test_limit_order_lifecycle(quiet_venue, funded_account):
    exchange = connect(quiet_venue, funded_account(quiet_venue))
    balance = exchange.fetch_balance()
    assert (balance["USDC"]["free"], balance["USDC"]["used"]) == (100000.0, 0.0)
    assert balance["SOL"]["total"] == 1000.0

    order = exchange.create_order("SOL/USDC", "limit", "buy", 1.5, 101.25, {"clientOrderId": 4242})
    assert order["id"].isdigit()
    assert (order["status"], order["side"], order["type"]) == ("open", "buy", "limit")
    assert (order["price"], order["amount"], order["filled"]) == (101.25, 1.5, 0.0)
    assert order["clientOrderId"] == "4242"
    assert order["postOnly"] is False and order["timeInForce"] == "GTC"

    # 151.875 USDC (plus at most the taker fee) is held for the order.
    balance = exchange.fetch_balance()
    locked = Decimal(str(balance["USDC"]["used"]))
    assert Decimal("151.875") <= locked <= Decimal("151.875") * Decimal("1.001")
    assert Decimal(str(balance["USDC"]["free"])) + locked == 100000

    assert [(o["id"], o["price"], o["amount"]) for o in exchange.fetch_open_orders("SOL/USDC")] == [
        (order["id"], 101.25, 1.5)
    ]
    assert exchange.fetch_open_orders()[0]["id"] == order["id"]
    assert exchange.fetch_open_order(order["id"], "SOL/USDC")["clientOrderId"] == "4242"
    fetched = exchange.fetch_order(order["id"], "SOL/USDC")
    assert (fetched["status"], fetched["price"], fetched["amount"]) == ("open", 101.25, 1.5)
    assert [101.25, 1.5] in exchange.fetch_order_book("SOL/USDC")["bids"]

    cancelled = exchange.cancel_order(order["id"], "SOL/USDC")
    assert (cancelled["id"], cancelled["status"], cancelled["filled"]) == (order["id"], "canceled", 0.0)
    assert exchange.fetch_open_orders("SOL/USDC") == []
    assert exchange.fetch_order(order["id"], "SOL/USDC")["status"] == "canceled"
    history = exchange.fetch_orders("SOL/USDC", limit=10)
    assert [(o["id"], o["status"]) for o in history] == [(order["id"], "canceled")]
    assert [101.25, 1.5] not in exchange.fetch_order_book("SOL/USDC")["bids"]

    balance = exchange.fetch_balance()
    assert (balance["USDC"]["free"], balance["USDC"]["used"]) == (100000.0, 0.0)

    with pytest.raises(ccxt.BadRequest):
        exchange.cancel_order(order["id"], "SOL/USDC")


def test_self_trade_prevention(quiet_venue, funded_account):
    exchange = connect(quiet_venue, funded_account(quiet_venue))
    ask = exchange.create_order("SOL/USDC", "limit", "sell", 1, 188.8)
    # By default the incoming order expires and the resting one stays.
    taker = exchange.create_order("SOL/USDC", "limit", "buy", 1, 188.8)
    assert (taker["status"], taker["filled"], taker["info"]["status"]) == ("canceled", 0.0, "Expired")
    assert [o["id"] for o in exchange.fetch_open_orders("SOL/USDC")] == [ask["id"]]
    # EXPIRE_MAKER (RejectMaker) expires the resting order instead; the new one rests.
    bid = exchange.create_order("SOL/USDC", "limit", "buy", 1, 188.8, {"selfTradePrevention": "EXPIRE_MAKER"})
    assert bid["status"] == "open"
    assert [o["id"] for o in exchange.fetch_open_orders("SOL/USDC")] == [bid["id"]]
    history = {o["id"]: o["info"] for o in exchange.fetch_orders("SOL/USDC")}
    assert (history[ask["id"]]["status"], history[ask["id"]]["expiryReason"]) == ("Expired", "SelfTradePrevention")
    assert history[taker["id"]]["expiryReason"] == "SelfTradePrevention"
    assert exchange.fetch_my_trades("SOL/USDC") == []
    exchange.cancel_order(bid["id"], "SOL/USDC")


def test_post_only_and_errors(quiet_venue, funded_account):
    maker = connect(quiet_venue, funded_account(quiet_venue))
    taker = connect(quiet_venue, funded_account(quiet_venue))
    ask = maker.create_order("SOL/USDC", "limit", "sell", 1, 190.5)
    try:
        with pytest.raises(ccxt.InvalidOrder):
            taker.create_order("SOL/USDC", "limit", "buy", 1, 190.5, {"postOnly": True})
        with pytest.raises(ccxt.InsufficientFunds):
            taker.create_order("SOL/USDC", "limit", "buy", 10_000, 180)
        # ccxt rounds prices to the tick itself, so an off-grid price goes through the raw API.
        with pytest.raises(ccxt.InvalidOrder):
            taker.private_post_api_v1_order(
                {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100.001", "quantity": "1"}
            )
        with pytest.raises(ccxt.BadRequest):
            taker.fetch_open_order("1", "SOL/USDC", {"symbol": "NOPE_USDC"})
    finally:
        maker.cancel_order(ask["id"], "SOL/USDC")


def test_batch_orders_and_cancel_all(quiet_venue, funded_account):
    exchange = connect(quiet_venue, funded_account(quiet_venue))
    placed = exchange.create_orders(
        [
            {"symbol": "SOL/USDC", "type": "limit", "side": "buy", "amount": 1, "price": 90.1},
            {"symbol": "SOL/USDC", "type": "limit", "side": "sell", "amount": 2, "price": 210.2},
        ]
    )
    assert [(o["side"], o["price"], o["amount"], o["status"]) for o in placed] == [
        ("buy", 90.1, 1.0, "open"),
        ("sell", 210.2, 2.0, "open"),
    ]
    open_ids = {o["id"] for o in exchange.fetch_open_orders("SOL/USDC")}
    assert open_ids == {o["id"] for o in placed}
    book = exchange.fetch_order_book("SOL/USDC")
    assert [90.1, 1.0] in book["bids"] and [210.2, 2.0] in book["asks"]

    cancelled = exchange.cancel_all_orders("SOL/USDC")
    assert {(o["id"], o["status"]) for o in cancelled} == {(o["id"], "canceled") for o in placed}
    assert exchange.fetch_open_orders("SOL/USDC") == []


def test_trades_against_the_market_maker(live_venue, funded_account):
    exchange = connect(live_venue, funded_account(live_venue))
    before = totals(exchange.fetch_balance())
    since = int(time.time() * 1000) - 1

    book = exchange.fetch_order_book("SOL/USDC", 5)
    assert book["asks"] and book["bids"]
    assert book["bids"][0][0] < float(SOL_REFERENCE) < book["asks"][0][0]

    def market(side, amount):
        def place():
            order = exchange.create_order("SOL/USDC", "market", side, amount)
            return order["id"], order["status"] == "closed" and order["remaining"] == 0, order

        return place

    buys, bought = until_filled(market("buy", 0.5))
    assert (bought["status"], bought["filled"], bought["side"]) == ("closed", 0.5, "buy")
    # The maker quotes five levels 5 bps apart above the pinned 150.
    assert 150 < bought["average"] <= 150 * 1.0026
    sells, sold = until_filled(market("sell", 0.3))
    assert (sold["status"], sold["filled"], sold["side"]) == ("closed", 0.3, "sell")
    assert 150 * 0.9974 <= sold["average"] < 150

    # A market buy sized by what it may spend (ccxt's create_market_buy_order_with_cost itself
    # fails on a missing option in 4.5.90; the `cost` parameter is what it would send).
    def spend():
        order = exchange.create_order("SOL/USDC", "market", "buy", None, None, {"cost": 40})
        return order["id"], order["status"] == "closed", order

    costed, spent = until_filled(spend)
    assert spent["info"]["quoteQuantity"] is not None and Decimal(spent["info"]["quoteQuantity"]) == 40
    assert 38 < spent["cost"] <= 40 and spent["filled"] > 0

    ours = set(buys) | set(sells) | set(costed)
    fills = wait_until(
        lambda: [t for t in exchange.fetch_my_trades("SOL/USDC", since=since) if t["order"] in ours],
        5,
        "our fills",
    )
    assert all(t["takerOrMaker"] == "taker" and t["fee"]["currency"] == "USDC" for t in fills)
    for t in fills:
        # Taker fee is 5 bps of the notional, rounded up to the USDC unit.
        assert Decimal(str(t["cost"])) * Decimal("0.0005") <= Decimal(t["info"]["fee"])
        assert Decimal(t["info"]["fee"]) <= Decimal(str(t["cost"])) * Decimal("0.0005") + Decimal("0.000001")
    assert sum(Decimal(t["info"]["quantity"]) for t in fills if t["order"] == bought["id"]) == Decimal("0.5")
    assert sum(Decimal(t["info"]["quantity"]) for t in fills if t["order"] == sold["id"]) == Decimal("0.3")

    after = totals(exchange.fetch_balance())
    deltas = expected_deltas([t["info"] for t in fills], "SOL", "USDC")
    assert after["SOL"] - before["SOL"] == deltas["SOL"]
    assert after["USDC"] - before["USDC"] == deltas["USDC"]

    assert exchange.fetch_order(bought["id"], "SOL/USDC")["status"] == "closed"
    history = {o["id"]: o for o in exchange.fetch_orders("SOL/USDC", limit=100)}
    assert history[bought["id"]]["filled"] == 0.5 and history[sold["id"]]["filled"] == 0.3
    public_ids = {t["id"] for t in exchange.fetch_trades("SOL/USDC", limit=1000)}
    assert {t["id"] for t in fills} <= public_ids
