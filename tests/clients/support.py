"""Shared helpers of the client tests: a running `rucksack serve` and polling.

Each venue is a `rucksack serve` on a free loopback port with its own temporary data
directory; accounts are created and funded through `rucksack admin`; the server is stopped with
SIGTERM and must exit cleanly.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Callable, Dict, Optional

import pytest

REPO = Path(__file__).resolve().parents[2]
READY = "rucksack is serving on "
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
ADMIN_TIMEOUT = 30.0
# The price the live venue's SOL reference is pinned at; its market maker quotes around it.
SOL_REFERENCE = Decimal("150")


def rucksack_binary() -> Path:
    explicit = os.environ.get("RUCKSACK_BIN")
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    if not target.is_absolute():
        target = REPO / target
    return target / "debug" / "rucksack"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Venue:
    """One running `rucksack serve`."""

    def __init__(self, name: str, demo_bots: bool, seed: int = 7, manual_clock: bool = False):
        self.name = name
        self.demo_bots = demo_bots
        self.manual_clock = manual_clock
        self.seed = seed
        self.binary = rucksack_binary()
        if not self.binary.exists():
            raise RuntimeError(f"{self.binary} not found; run `cargo build -p rucksack-node` first")
        self.root = Path(tempfile.mkdtemp(prefix=f"rucksack-{name}-"))
        self.data_dir = self.root / "data"
        self.process: Optional[subprocess.Popen] = None
        self.url = ""

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        # A free port can be taken between probing and binding; try a few.
        last_error = None
        for _ in range(3):
            try:
                self._start_on(free_port())
                return
            except RuntimeError as error:
                last_error = error
                self._kill()
        raise RuntimeError(f"{self.name} venue did not start: {last_error}")

    def _start_on(self, port: int) -> None:
        args = [
            str(self.binary),
            "serve",
            "--listen",
            f"127.0.0.1:{port}",
            "--data-dir",
            str(self.data_dir),
            "--seed",
            str(self.seed),
        ]
        if not self.demo_bots:
            args.append("--no-demo-bots")
        if self.manual_clock:
            args.append("--manual-clock")
        # Output goes to files so a chatty server can never block on a full pipe.
        self.stdout_path = self.root / "stdout.log"
        self.stderr_path = self.root / "stderr.log"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for line in self.stdout_path.read_text(errors="replace").splitlines():
                if line.startswith(READY):
                    self.url = line[len(READY):].strip()
                    return
            if self.process.poll() is not None:
                raise RuntimeError(f"exited with {self.process.returncode}: {self.logs()}")
            time.sleep(0.05)
        raise RuntimeError(f"no ready line within {START_TIMEOUT}s: {self.logs()}")

    def logs(self) -> str:
        text = []
        for path in (self.stdout_path, self.stderr_path):
            if path.exists():
                text.append(f"--- {path.name} ---\n" + path.read_text(errors="replace")[-4000:])
        return "\n".join(text)

    def stop(self) -> int:
        """SIGTERM, wait for a clean exit, return the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._kill()
                raise RuntimeError(f"{self.name} venue ignored SIGTERM for {STOP_TIMEOUT}s")
        return self.process.returncode

    def _kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def cleanup(self) -> None:
        self._kill()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- operator commands -----------------------------------------------------------------

    def admin(self, *args: str) -> str:
        command = [
            str(self.binary),
            "admin",
            "--server",
            self.url,
            "--data-dir",
            str(self.data_dir),
            *args,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=ADMIN_TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {done.stderr}{done.stdout}")
        return done.stdout.strip()

    def create_account(self, funds: Dict[str, str]) -> dict:
        fund_args = []
        for asset, amount in funds.items():
            fund_args += ["--fund", f"{asset}={amount}"]
        account = json.loads(self.admin("create-account", *fund_args))
        assert set(account) >= {"accountId", "apiKey", "apiSecret"}, account
        return account

    def set_price(self, asset: str, price: str) -> None:
        self.admin("set-price", asset, price)

    # -- plain HTTP, for waiting on state without going through a client under test ----------

    def get_json(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.loads(response.read())


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.1):
    """Polls `predicate` until it returns something truthy; fails the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@contextmanager
def running_venue(name: str, demo_bots: bool, manual_clock: bool = False):
    venue = Venue(name, demo_bots, manual_clock=manual_clock)
    try:
        venue.start()
        yield venue
        code = venue.stop()
        assert code == 0, f"{name} venue exited with {code} on SIGTERM:\n{venue.logs()}"
    finally:
        venue.cleanup()


def balances_of(capital: dict) -> Dict[str, Decimal]:
    """`GET /api/v1/capital` (raw) to asset -> total (available + locked + staked)."""
    return {
        asset: Decimal(row["available"]) + Decimal(row["locked"]) + Decimal(row["staked"])
        for asset, row in capital.items()
    }


def expected_deltas(fills: list, base: str, quote: str) -> Dict[str, Decimal]:
    """Balance changes that raw `/wapi/v1/history/fills` rows imply: the base and quote legs
    of each fill, less its fee in the fee asset."""
    deltas = {base: Decimal(0), quote: Decimal(0)}
    for fill in fills:
        quantity = Decimal(fill["quantity"])
        notional = Decimal(fill["price"]) * quantity
        sign = 1 if fill["side"] == "Bid" else -1
        deltas[base] += sign * quantity
        deltas[quote] -= sign * notional
        deltas[fill["feeSymbol"]] = deltas.get(fill["feeSymbol"], Decimal(0)) - Decimal(fill["fee"])
    return deltas


def until_filled(place: Callable[[], tuple], attempts: int = 20, pause: float = 0.3) -> tuple:
    """Submits taker orders against the demo market maker until one fills completely.

    The maker re-quotes every second by cancelling and re-posting, so an order can meet an
    empty or half-built book; such attempts are kept (their fills count for balances) and
    retried. `place()` submits one order and returns `(order_id, filled_completely, raw)`.
    Returns `(ids of every attempt, raw response of the complete one)`."""
    ids = []
    for _ in range(attempts):
        order_id, complete, raw = place()
        ids.append(order_id)
        if complete:
            return ids, raw
        time.sleep(pause)
    pytest.fail(f"no order filled completely against the market maker in {attempts} attempts")
