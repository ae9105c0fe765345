"""Fixtures of the client tests.

Two venues per pytest session:

* `quiet_venue`: no demo bots, so every order and trade on it comes from the tests and values
  can be asserted exactly. Each client test module keeps to its own market there.
* `live_venue`: the demo market maker quotes SOL_USDC, BTC_USDC and ETH_USDC; SOL is pinned at
  150 so its quotes are predictable. Tests trade against those quotes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Callable, Dict, Optional

import pytest

from support import SOL_REFERENCE, Venue, running_venue, wait_until


@pytest.fixture(scope="session")
def quiet_venue():
    with running_venue("quiet", demo_bots=False) as venue:
        yield venue


@pytest.fixture(scope="session")
def clocked_venue():
    """No demo bots and a manual clock: time moves only by `admin advance-clock`."""
    with running_venue("clocked", demo_bots=False, manual_clock=True) as venue:
        yield venue


@pytest.fixture(scope="session")
def live_venue():
    with running_venue("live", demo_bots=True) as venue:
        venue.set_price("SOL", str(SOL_REFERENCE))

        def quoted():
            depth = venue.get_json("/api/v1/depth?symbol=SOL_USDC")
            # Quotes around the pinned price (the walk may have moved it before the pin).
            return (
                depth["bids"]
                and depth["asks"]
                and abs(Decimal(depth["asks"][0][0]) - SOL_REFERENCE) < 1
                and abs(Decimal(depth["bids"][-1][0]) - SOL_REFERENCE) < 1
            )

        wait_until(quoted, 30, "the demo market maker to quote SOL_USDC around 150")
        yield venue


@pytest.fixture
def funded_account() -> Callable[..., dict]:
    """Factory: `funded_account(venue)` makes a fresh account with 100000 USDC and 1000 SOL."""

    def make(venue: Venue, funds: Optional[Dict[str, str]] = None) -> dict:
        return venue.create_account(funds or {"USDC": "100000", "SOL": "1000"})

    return make
