"""Perpetual futures through ccxt's `backpack` class, unmodified: a long and a short on
SOL/USDC:USDC from one unified account each, their positions, the mark price and funding rate,
open interest, an hour of funding paid from the long to the short, and the settlement of fees
and funding into USDC balances.

Runs on the manual-clock venue with no demo bots, so every number follows from the commands: SOL's
index stays at the demo's 150, and with no book left after the trade the mark is the index.
"""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest

from support import wait_until
from test_ccxt import connect

PERP = "SOL/USDC:USDC"


def usdc(exchange) -> Decimal:
    return Decimal(exchange.privateGetApiV1Capital()["USDC"]["available"])


def test_a_long_and_a_short_pay_funding_and_settle(clocked_venue, funded_account):
    # Other tests move this venue's clock on by days: give SOL a fresh index price (a risk-
    # increasing order needs one), which the clock samples into the mark within a second.
    clocked_venue.set_price("SOL", "150")
    short = connect(clocked_venue, funded_account(clocked_venue, {"USDC": "10000"}))
    long = connect(clocked_venue, funded_account(clocked_venue, {"USDC": "10000"}))
    assert long.markets[PERP]["swap"] and long.markets[PERP]["linear"]
    wait_until(lambda: Decimal(str(long.fetch_funding_rate(PERP)["markPrice"])) == 150, 10, "a mark price")

    # The short rests an ask of 10 SOL at 150; the long takes it: $1,500 traded, the maker pays
    # 2 bps ($0.30) and the taker 5 bps ($0.75).
    ask = short.create_order(PERP, "limit", "sell", 10, 150)
    assert ask["status"] == "open", ask
    bought = long.create_order(PERP, "market", "buy", 10)
    assert bought["status"] == "closed" and bought["filled"] == 10, bought

    (position,) = long.fetch_positions([PERP])
    assert position["side"] == "long" and Decimal(str(position["contracts"])) == 10, position
    assert Decimal(position["info"]["entryPrice"]) == 150
    (opposite,) = short.fetch_positions([PERP])
    assert opposite["side"] == "short" and abs(Decimal(str(opposite["contracts"]))) == 10, opposite

    interest = long.fetch_open_interest(PERP)
    assert Decimal(str(interest["openInterestAmount"] or interest["info"]["openInterest"])) == 10, interest

    # No premium over the index: the rate is the hourly interest part alone.
    rate = long.fetch_funding_rate(PERP)
    assert Decimal(str(rate["fundingRate"])) == Decimal("0.0000125"), rate
    assert Decimal(str(rate["markPrice"])) == 150 and Decimal(str(rate["indexPrice"])) == 150, rate
    next_funding = rate["fundingTimestamp"] or rate["nextFundingTimestamp"]
    assert next_funding % 3_600_000 == 0, rate

    # A bid for 1,000 SOL ($150,000) needs more than $10,000 of collateral at 10x: refused.
    with pytest.raises(ccxt.InsufficientFunds):
        long.create_order(PERP, "limit", "buy", 1000, 150)

    before_long, before_short = usdc(long), usdc(short)
    clocked_venue.admin("advance-clock", "1h")

    def funded():
        # The interval paid, and the one now running (listed first by the venue, last by ccxt).
        rows = long.fetch_funding_rate_history(PERP, limit=5)
        return rows if len(rows) >= 2 else None

    history = wait_until(funded, 10, "the interval's funding to be paid")
    assert [Decimal(str(row["fundingRate"])) for row in history] == [Decimal("0.0000125")] * 2, history
    assert history[1]["timestamp"] - history[0]["timestamp"] == 3_600_000, history

    # Funding on 10 SOL at a mark of 150: 0.0000125 × 1,500 = $0.01875, long to short; settled
    # into USDC with the fees within a realization period.
    def settled():
        return usdc(long) != before_long and usdc(short) != before_short

    wait_until(settled, 10, "PnL realization")
    assert usdc(long) == before_long - Decimal("0.75") - Decimal("0.01875")
    assert usdc(short) == before_short - Decimal("0.30") + Decimal("0.01875")

    (paid,) = long.fetch_funding_history(PERP)
    (received,) = short.fetch_funding_history(PERP)
    assert Decimal(str(paid["amount"])) == Decimal("-0.01875"), paid
    assert Decimal(str(received["amount"])) == Decimal("0.01875"), received

    rows = long.privateGetWapiV1HistorySettlement({"sortDirection": "Asc"})
    parts = {row["source"]: Decimal(row["quantity"]) for row in rows}
    assert parts == {"TradingFees": Decimal("-0.75"), "FundingPayment": Decimal("-0.01875")}, rows

    # The positions are unchanged by settlement.
    (position,) = long.fetch_positions([PERP])
    assert Decimal(str(position["contracts"])) == 10

    # An hour has passed: SOL's index needs refreshing before new orders that add risk.
    clocked_venue.set_price("SOL", "150")

    # A reduce-only ask for 15 is cut to the 10 held; the venue marks it reduce-only.
    order = long.create_order(PERP, "limit", "sell", 15, 160, params={"reduceOnly": True})
    assert order["status"] == "open" and order["amount"] == 10 and order["reduceOnly"], order
    # A reduce-only bid would add to the long: it expires at once.
    bid = long.create_order(PERP, "limit", "buy", 1, 140, params={"reduceOnly": True})
    assert long.fetch_order(bid["id"], PERP)["status"] == "canceled", bid
    long.cancel_order(order["id"], PERP)

    # A stop-market buy at a mark of 160 waits off the book as TriggerPending; cancelled, it goes.
    stop = long.create_order(PERP, "market", "buy", 2, None, params={"triggerPrice": 160})
    (waiting,) = long.fetch_open_orders(PERP)
    assert waiting["id"] == stop["id"] and waiting["status"] == "open", waiting
    assert waiting["info"]["status"] == "TriggerPending" and Decimal(waiting["info"]["triggerPrice"]) == 160
    assert waiting["info"]["triggerBy"] == "MarkPrice" and Decimal(waiting["info"]["triggerQuantity"]) == 2
    long.cancel_order(stop["id"], PERP)
    assert long.fetch_open_orders(PERP) == []

    # A bid with a take-profit and a stop-loss: both wait as trigger orders related to it.
    bid = long.create_order(
        PERP, "limit", "buy", 1, 120, params={"takeProfit": {"triggerPrice": 170}, "stopLoss": {"triggerPrice": 130}}
    )
    waiting = {o["id"]: o for o in long.fetch_open_orders(PERP)}
    exits = [o for o in waiting.values() if o["info"]["relatedOrderId"] == bid["id"]]
    assert len(waiting) == 3 and len(exits) == 2, waiting
    assert sorted(Decimal(o["info"]["triggerPrice"]) for o in exits) == [130, 170]
    assert all(o["side"] == "sell" and o["reduceOnly"] for o in exits), exits
    long.cancel_all_orders(PERP)
    assert long.fetch_open_orders(PERP) == []
