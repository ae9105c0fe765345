"""ccxt pro's `backpack` class, unmodified, over rucksack's WebSocket API (backpack-api.md §4, §6.8).

The module runs its own quiet venue so the books it compares hold only its own orders.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import ccxt.pro
import pytest

from support import running_venue

SYMBOL = "SOL/USDC"
# The trading test keeps to its own market, away from the book the depth test leaves behind.
OTHER = "ETH/USDC"


@pytest.fixture(scope="module")
def venue():
    with running_venue("pro", demo_bots=False) as venue:
        yield venue


def connect(venue, account=None) -> ccxt.pro.backpack:
    config = {"urls": {"api": {"public": venue.url, "private": venue.url}}, "timeout": 10_000}
    if account is not None:
        config["apiKey"] = account["apiKey"]
        config["secret"] = account["apiSecret"]
    exchange = ccxt.pro.backpack(config)
    ws = venue.url.replace("http://", "ws://")
    exchange.urls["api"]["ws"] = {"public": ws, "private": ws}
    # The book is seeded from REST right after the first delta (§4.3).
    exchange.options["watchOrderBook"] = {"snapshotDelay": 0}
    return exchange


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 60))


def levels(side) -> list:
    return [(Decimal(str(price)), Decimal(str(size))) for price, size, *_ in side]


def rest_levels(side) -> list:
    return [(Decimal(price), Decimal(size)) for price, size in side]


def test_watch_order_book_tracks_rest_depth(venue):
    account = venue.create_account({"USDC": "1000000", "SOL": "10000"})

    async def scenario():
        maker = connect(venue, account)
        watcher = connect(venue)
        try:
            await maker.load_markets()
            await watcher.load_markets()
            await maker.create_order(SYMBOL, "limit", "buy", 1, 80)
            watching = asyncio.ensure_future(watcher.watch_order_book(SYMBOL))
            # Keep the book busy until the watcher has seeded itself from REST.
            price = 81
            while not watching.done():
                await maker.create_order(SYMBOL, "limit", "buy", 1, price)
                price += 0.01
                await asyncio.sleep(0.05)
            await watching
            for i in range(30):
                await maker.create_order(SYMBOL, "limit", "sell", 2, 120 + i)
                if i % 3 == 0:
                    await maker.create_order(SYMBOL, "limit", "buy", 1.5, 85 + i / 10)
            for order in (await maker.fetch_open_orders(SYMBOL))[:10]:
                await maker.cancel_order(order["id"], SYMBOL)
            rest = venue.get_json("/api/v1/depth?symbol=SOL_USDC&limit=1000")
            target = int(rest["lastUpdateId"])
            # A watch resolves on the next delta; the book may already hold the last one.
            book = watcher.orderbooks[SYMBOL]
            while book["nonce"] < target:
                book = await watcher.watch_order_book(SYMBOL)
            assert book["nonce"] == target
            assert levels(book["asks"]) == rest_levels(rest["asks"])
            assert levels(book["bids"]) == list(reversed(rest_levels(rest["bids"])))
        finally:
            await maker.close()
            await watcher.close()

    run(scenario())


def test_watch_trades_ticker_orders_and_balance(venue):
    maker_account = venue.create_account({"USDC": "100000", "ETH": "1000"})
    taker_account = venue.create_account({"USDC": "100000", "ETH": "1000"})

    async def scenario():
        maker = connect(venue, maker_account)
        taker = connect(venue, taker_account)
        public = connect(venue)
        try:
            for exchange in (maker, taker, public):
                await exchange.load_markets()
            trades = asyncio.ensure_future(public.watch_trades(OTHER))
            orders = asyncio.ensure_future(maker.watch_orders())
            balance = asyncio.ensure_future(maker.watch_balance())
            await asyncio.sleep(0.5)
            ask = await maker.create_order(OTHER, "limit", "sell", 2, 150)
            accepted = await orders
            assert accepted[-1]["id"] == ask["id"]
            assert (accepted[-1]["side"], accepted[-1]["price"], accepted[-1]["amount"]) == ("sell", 150, 2)
            locked = await balance
            assert locked["ETH"]["used"] == 2 and locked["ETH"]["free"] == 998

            orders = asyncio.ensure_future(maker.watch_orders())
            await taker.create_order(OTHER, "limit", "buy", 0.5, 150)
            seen = await trades
            assert (seen[-1]["price"], seen[-1]["amount"], seen[-1]["side"]) == (150, 0.5, "buy")
            filled = await orders
            assert filled[-1]["id"] == ask["id"] and filled[-1]["filled"] == 0.5

            ticker = await public.watch_ticker(OTHER)
            assert (ticker["last"], ticker["open"], ticker["baseVolume"]) == (150, 150, 0.5)
        finally:
            for exchange in (maker, taker, public):
                await exchange.close()

    run(scenario())
