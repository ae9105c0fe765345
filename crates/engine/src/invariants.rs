//! The invariants that must hold after every command. Tests run them after each step, and
//! debug builds after every `apply`.
//!
//! 1. Conservation, per asset: the sum over accounts of available + locked, plus the fee and
//!    dust accounts and the pool's cash, equals deposits minus withdrawals.
//! 2. Every account's locked balance equals what its open orders reserve.
//! 3. No balance is negative.
//! 4. No book is crossed, and every level's total and count match its orders.
//! 5. Every memoised margin valuation that claims to be current is.
//! 6. Each money-market pool holds non-negative cash (counted in conservation), its shares are
//!    exactly its accounts' shares, lenders' claims never exceed its lent total and debts never
//!    fall short of its borrowed total.
//! 7. Per perpetual market: long sizes equal short sizes and the open interest; the positions'
//!    open values (with funding not yet applied) equal what was settled out of them plus the fees
//!    charged into them plus what was forfeited, exactly; every account's open-order sums match its orders,
//!    and its reduce-only orders never add up to more than the position they reduce. The settlement
//!    reserve is not negative and is counted in conservation. Deficits written off by a
//!    bankruptcy are subtracted from that identity.
//! 8. The insurance fund is never negative and is counted in conservation; every account in
//!    liquidation and every backstop provider exists; every account at or below maintenance is
//!    one the next sweep will value.

use std::fmt;

use rucksack_types::{Amount, Side};

use crate::margin::perp::OpenSide;

use crate::book::arena::NIL;
use crate::engine::Engine;
use crate::lending::PoolPosition;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvariantViolation(pub String);

impl fmt::Display for InvariantViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvariantViolation {}

macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            return Err(InvariantViolation(format!($($arg)*)));
        }
    };
}

impl Engine {
    /// Checks every invariant against the whole state. O(state): for tests and debug builds.
    pub fn check(&self) -> Result<(), InvariantViolation> {
        let assets = self.assets.len();
        let accounts = self.ledger.accounts.len();
        // What the open orders of each account should have locked, per asset.
        let mut expected_locked = vec![0i128; accounts * assets];
        let mut resting = 0usize;
        for (market_index, market) in self.markets.iter().enumerate() {
            let book = &market.book;
            if let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask()) {
                ensure!(bid < ask, "market {} is crossed: bid {bid} >= ask {ask}", market.spec.symbol);
            }
            for side in [Side::Bid, Side::Ask] {
                let asset = usize::from(self.side_asset(market_index, side).0);
                for (price, level_index) in book.ladder(side).iter_best_first() {
                    let level = book.level(level_index);
                    ensure!(level.price == price, "level price mismatch at {price}");
                    let (mut total, mut count, mut handle, mut prev) = (0i64, 0u32, level.head, NIL);
                    while handle != NIL {
                        let order = self.orders.get(handle);
                        ensure!(order.prev == prev, "broken level links at order {}", order.id);
                        ensure!(order.price == price && order.side == side, "order {} on the wrong level", order.id);
                        ensure!(order.remaining.is_positive(), "order {} rests with nothing left", order.id);
                        ensure!(self.order_index.get(&order.id) == Some(&handle), "order {} not indexed", order.id);
                        let reserved = self
                            .reservation(market_index, side, order.price, order.remaining)
                            .map_err(|e| InvariantViolation(format!("reservation of order {}: {e}", order.id)))?;
                        ensure!(
                            order.reserved_per_lot.0 * order.remaining.0 == reserved.0,
                            "order {} keeps {} per lot, its price reserves {reserved} in all",
                            order.id,
                            order.reserved_per_lot
                        );
                        expected_locked[order.account as usize * assets + asset] += i128::from(reserved.0);
                        total += order.remaining.0;
                        count += 1;
                        prev = handle;
                        handle = order.next;
                    }
                    ensure!(level.tail == prev, "level {price} tail is not its last order");
                    ensure!(
                        level.total.0 == total && level.orders == count,
                        "level {price} totals disagree with its orders"
                    );
                    resting += count as usize;
                }
            }
        }
        ensure!(resting == self.orders.live(), "{} orders in the arena, {resting} on books", self.orders.live());
        ensure!(
            resting == self.order_index.len(),
            "order index holds {} entries for {resting} orders",
            self.order_index.len()
        );

        let mut listed = 0usize;
        for (index, account) in self.ledger.accounts.iter().enumerate() {
            let mut handle = account.orders_head;
            let mut last_id = 0u64;
            while handle != NIL {
                let order = self.orders.get(handle);
                ensure!(order.account as usize == index, "order {} on another account's list", order.id);
                ensure!(order.id.0 > last_id, "account {} orders out of id order", account.id);
                last_id = order.id.0;
                listed += 1;
                handle = order.account_next;
            }
        }
        ensure!(listed == resting, "account lists hold {listed} orders, books {resting}");

        for (key, (account, _)) in &self.ledger.api_keys {
            ensure!(self.ledger.find(*account).is_some(), "API key {key:?} belongs to no account");
        }

        self.check_margin_memo().map_err(|e| InvariantViolation(format!("stale margin memo: {e}")))?;
        ensure!(self.triggers.consistent(), "trigger orders and their index disagree");
        for asset in 0..assets {
            let mut total: i128 = 0;
            for (index, account) in self.ledger.accounts.iter().enumerate() {
                let balance = account.balances[asset];
                ensure!(
                    balance.available >= Amount::ZERO && balance.locked >= Amount::ZERO,
                    "account {} has a negative balance of asset {asset}: {balance:?}",
                    account.id
                );
                ensure!(
                    i128::from(balance.locked.0) == expected_locked[index * assets + asset],
                    "account {} locks {} of asset {asset} but its orders reserve {}",
                    account.id,
                    balance.locked,
                    expected_locked[index * assets + asset]
                );
                total += i128::from(balance.available.0) + i128::from(balance.locked.0);
            }
            let (fees, dust, insurance) =
                (self.ledger.fees[asset], self.ledger.dust[asset], self.ledger.insurance[asset]);
            ensure!(
                fees >= Amount::ZERO && dust >= Amount::ZERO && insurance >= Amount::ZERO,
                "house accounts negative for asset {asset}"
            );
            total += i128::from(fees.0) + i128::from(dust.0) + i128::from(insurance.0);
            total += self.check_pool(asset)?;
            if self.settlement_asset().is_some_and(|a| usize::from(a.0) == asset) {
                total += self.check_perps()?;
            }
            let custody = self.ledger.custody[asset];
            ensure!(
                total == custody.deposited - custody.withdrawn,
                "asset {asset} does not balance: accounts and house hold {total}, custody {}",
                custody.deposited - custody.withdrawn
            );
        }
        Ok(())
    }

    /// Invariant 7; returns the settlement reserve for the conservation sum.
    fn check_perps(&self) -> Result<i128, InvariantViolation> {
        for (market_index, market) in self.markets.iter().enumerate() {
            let Some(perp) = &market.perp else { continue };
            let (mut longs, mut shorts, mut open_values) = (0i128, 0i128, 0i128);
            for account in &self.ledger.accounts {
                let Some(holding) = account.perps.iter().find(|h| usize::from(h.market.0) == market_index) else {
                    continue;
                };
                let size = i128::from(holding.position.size);
                if size > 0 {
                    longs += size
                } else {
                    shorts -= size
                }
                // Funding not yet applied to a position is part of its value already.
                open_values += holding.position.open_value + holding.pending_funding(perp.cumulative_funding);
                let (mut bids, mut asks) = (OpenSide::default(), OpenSide::default());
                let (mut reduce_bids, mut reduce_asks, mut reduce_counted) = (0i64, 0i64, 0usize);
                let mut handle = account.orders_head;
                while handle != NIL {
                    let order = self.orders.get(handle);
                    if usize::from(order.market.0) == market_index {
                        if order.reduce_only {
                            reduce_counted += 1;
                            match order.side {
                                Side::Bid => reduce_bids += order.remaining.0,
                                Side::Ask => reduce_asks += order.remaining.0,
                            }
                        }
                        let fee = market
                            .scale
                            .fee(
                                order.price,
                                rucksack_types::Lots(1),
                                market.spec.taker_fee_bps.max(market.spec.maker_fee_bps),
                                rucksack_types::Rounding::Up,
                            )
                            .map_err(|_| InvariantViolation("fee overflow".into()))?;
                        let open = OpenSide::at(order.price.0, order.remaining.0, fee.0 * order.remaining.0);
                        match order.side {
                            Side::Bid => bids = bids.plus(open),
                            Side::Ask => asks = asks.plus(open),
                        }
                    }
                    handle = order.account_next;
                }
                let size = holding.position.size;
                ensure!(
                    holding.reduce_only_orders as usize == reduce_counted,
                    "account {} in market {}: counts {} reduce-only orders, has {reduce_counted}",
                    account.id,
                    market.spec.symbol,
                    holding.reduce_only_orders
                );
                ensure!(
                    reduce_bids <= (-size).max(0) && reduce_asks <= size.max(0),
                    "account {} in market {}: reduce-only bids {reduce_bids} and asks {reduce_asks} against a position of {size}",
                    account.id,
                    market.spec.symbol
                );
                // The kept price range may be wider than the orders now there, never narrower.
                let covers = |kept: &OpenSide, fresh: &OpenSide| {
                    fresh.lots == 0 || (kept.low <= fresh.low && kept.high >= fresh.high)
                };
                ensure!(
                    (holding.bids.sums(), holding.asks.sums()) == (bids.sums(), asks.sums())
                        && covers(&holding.bids, &bids)
                        && covers(&holding.asks, &asks),
                    "account {} in market {}: open-order sums {:?}/{:?}, its orders {bids:?}/{asks:?}",
                    account.id,
                    market.spec.symbol,
                    holding.bids,
                    holding.asks
                );
            }
            ensure!(
                longs == shorts && longs == i128::from(perp.open_interest),
                "market {}: longs {longs}, shorts {shorts}, open interest {}",
                market.spec.symbol,
                perp.open_interest
            );
            let accounted =
                perp.fine_per_quote_unit * (perp.settled + perp.fees_charged) + perp.forfeited - perp.written_off;
            ensure!(
                open_values == accounted,
                "market {}: open values {open_values} do not match settled {} and fees {} (forfeited {}, written off {})",
                market.spec.symbol,
                perp.settled,
                perp.fees_charged,
                perp.forfeited,
                perp.written_off
            );
            ensure!(
                perp.fees_collected <= perp.fees_charged,
                "market {}: collected more fees than charged",
                market.spec.symbol
            );
        }
        let accounts = self.ledger.accounts.len() as crate::book::arena::AccountIndex;
        ensure!(
            self.liquidation.liquidating.iter().chain(self.liquidation.backstops.keys()).all(|&i| i < accounts),
            "liquidation state names an unknown account"
        );
        let unwatched = self.unwatched_liquidatable();
        ensure!(unwatched.is_empty(), "liquidatable accounts the next sweep would not value: {unwatched:?}");
        let reserve = self.settlement_reserve();
        ensure!(reserve >= 0, "the settlement reserve is negative: {reserve}");
        Ok(reserve)
    }

    /// The pool of `asset` holds non-negative cash, its shares are exactly the accounts' shares,
    /// and what accounts can claim never exceeds its totals (nor their debts fall short of
    /// them). Returns its cash for the conservation sum.
    fn check_pool(&self, asset: usize) -> Result<i128, InvariantViolation> {
        let pool = &self.risk.pools[asset];
        let (mut lend_shares, mut borrow_shares, mut claims, mut debts) = (0i128, 0i128, 0i128, 0i128);
        for account in &self.ledger.accounts {
            match account.positions[asset] {
                PoolPosition::None => {}
                PoolPosition::Lend(shares) => {
                    ensure!(shares > 0, "account {} holds an empty lend of asset {asset}", account.id);
                    lend_shares += shares;
                    claims += i128::from(pool.lend_value(shares).0);
                }
                PoolPosition::Borrow(shares) => {
                    ensure!(shares > 0, "account {} holds an empty borrow of asset {asset}", account.id);
                    borrow_shares += shares;
                    debts += i128::from(pool.debt_value(shares).0);
                }
            }
        }
        ensure!(
            lend_shares == pool.lend_shares && borrow_shares == pool.borrow_shares,
            "pool {asset} shares ({}, {}) differ from the accounts' ({lend_shares}, {borrow_shares})",
            pool.lend_shares,
            pool.borrow_shares
        );
        ensure!(pool.cash() >= 0, "pool {asset} holds negative cash: {pool:?}");
        ensure!(
            pool.lent >= Amount::ZERO
                && pool.borrowed >= Amount::ZERO
                && pool.fee_claim >= Amount::ZERO
                && pool.dust_claim >= Amount::ZERO,
            "pool {asset} has a negative total: {pool:?}"
        );
        ensure!(claims <= i128::from(pool.lent.0), "pool {asset}: lenders claim {claims} of {}", pool.lent);
        ensure!(debts >= i128::from(pool.borrowed.0), "pool {asset}: borrowers owe {debts} of {}", pool.borrowed);
        ensure!(
            (lend_shares != 0 || pool.lent.is_zero()) && (borrow_shares != 0 || pool.borrowed.is_zero()),
            "pool {asset} has a total without shares: {pool:?}"
        );
        Ok(pool.cash())
    }
}
