//! Which accounts a sweep must value: the risk engine's index of accounts by the prices that
//! could take them to maintenance.
//!
//! When the sweep values an account with exposure and finds it healthy, it works out how far
//! every price the account depends on may move before it could reach maintenance:
//!
//! ```text
//! cushion   = net equity − maintenance requirement
//! gross     = assets value + exposure + |unrealized PnL|
//! tolerance = cushion / (2 × (gross + 2 × maintenance requirement))     (at most 50%)
//! ```
//!
//! A move of every price by less than `tolerance` changes equity by less than
//! `tolerance × gross` and the maintenance requirement (at most 1.5 times as sensitive as the
//! exposure it scales with) by less than `2 × tolerance × requirement`, so half the cushion is
//! left. The account is filed under each of its prices (the index of every asset it holds or
//! owes, the settlement asset's, and the mark of each market it has a position in) with the
//! band `price × (1 ± tolerance)`. A new price lists exactly the accounts whose band it leaves;
//! they, the accounts an event touched (a fill, a pool movement, a transfer), and every account
//! in a market that paid funding or a pool that charged interest are what the next sweep values.
//! Everyone else is untouched: O(accounts that could have changed), not O(accounts).
//!
//! Realization moves claims into balances without changing equity beyond rounding, which the
//! cushion leaves room for; what it sells or borrows on the way shows as fills and pool
//! movements.
//!
//! The index is derived state: not snapshotted, not hashed. A restored engine values every
//! account at its first sweep and builds the index again.

use std::collections::BTreeSet;

use rucksack_types::{AccountId, Event, Fraction, Rounding};
use rustc_hash::FxHashMap;

use crate::book::arena::AccountIndex;
use crate::engine::Engine;
use crate::margin::AccountHealth;

/// The index.
#[derive(Clone, Debug, Default)]
pub(crate) struct Watch {
    /// Every account must be valued at the next sweep (a new or restored engine).
    pub everyone: bool,
    /// Accounts to value at the next sweep, unsorted and with repeats.
    pub dirty: Vec<AccountIndex>,
    /// Per filed account: its bands, as (price key, low, high).
    bands: FxHashMap<AccountIndex, Vec<(usize, i128, i128)>>,
    /// Per price key (assets' index prices, then markets' marks): filed accounts by the low
    /// and by the high end of their bands.
    lows: Vec<BTreeSet<(i128, AccountIndex)>>,
    highs: Vec<BTreeSet<(i128, AccountIndex)>>,
}

impl Watch {
    fn key_count(&mut self, keys: usize) {
        if self.lows.len() < keys {
            self.lows.resize_with(keys, BTreeSet::new);
            self.highs.resize_with(keys, BTreeSet::new);
        }
    }

    /// Takes the account out of the index.
    pub fn unfile(&mut self, index: AccountIndex) {
        for (key, low, high) in self.bands.remove(&index).unwrap_or_default() {
            self.lows[key].remove(&(low, index));
            self.highs[key].remove(&(high, index));
        }
    }

    fn file(&mut self, index: AccountIndex, bands: Vec<(usize, i128, i128)>) {
        self.unfile(index);
        for &(key, low, high) in &bands {
            self.lows[key].insert((low, index));
            self.highs[key].insert((high, index));
        }
        self.bands.insert(index, bands);
    }

    pub fn is_filed(&self, index: AccountIndex) -> bool {
        self.bands.contains_key(&index)
    }

    /// A new price under `key`: every account whose band it leaves is dirty.
    fn price_moved(&mut self, key: usize, price: i128) {
        let Some((lows, highs)) = self.lows.get(key).zip(self.highs.get(key)) else { return };
        let dirty = &mut self.dirty;
        dirty.extend(lows.range((price.saturating_add(1), 0)..).map(|&(_, index)| index));
        dirty.extend(highs.range(..(price, 0)).map(|&(_, index)| index));
    }

    /// Everything filed under `key` is dirty (funding paid, interest charged, parameters changed).
    fn all_under(&mut self, key: usize) {
        if let Some(lows) = self.lows.get(key) {
            self.dirty.extend(lows.iter().map(|&(_, index)| index));
        }
    }
}

impl Engine {
    fn mark_key(&self, market: usize) -> usize {
        self.assets.len() + market
    }

    /// Files an account the sweep found healthy, or takes it out of the index if it has nothing
    /// liquidation could act on.
    pub(super) fn refile(&mut self, index: AccountIndex, health: &AccountHealth) {
        let owes = self.ledger.account(index).perps.iter().any(|h| h.position.open_value > 0);
        if !self.exposed(index) && !owes {
            self.liquidation.watch.unfile(index);
            return;
        }
        // Realization and valuation round by a micro-dollar or two per position; that much of
        // the cushion is not counted, so no rounding alone can cross the band's edge.
        let perps = self.ledger.account(index).perps.len() as i128;
        let cushion = health.net_equity().0 - health.maintenance_requirement.0 - 4 * (perps + 1);
        let gross = health.assets_value.0 + health.exposure.0 + health.unrealized_pnl.0.abs();
        let tolerance = if cushion <= 0 {
            Fraction::ZERO
        } else {
            let denominator = 2 * (gross + 2 * health.maintenance_requirement.0);
            Fraction::ratio(cushion, denominator.max(1), Rounding::Down)
                .unwrap_or(Fraction::ONE)
                .min(Fraction(Fraction::ONE.0 / 2))
        };
        let band = |price: i128| {
            let width = tolerance.of(price, Rounding::Down).unwrap_or(0);
            (price - width, price + width)
        };
        let mut bands = Vec::new();
        let account = self.ledger.account(index);
        let settlement = account.perps.iter().any(|h| h.position.size != 0 || h.position.open_value != 0);
        for asset in 0..self.assets.len() {
            let held = account.balances[asset] != Default::default()
                || account.positions[asset] != Default::default()
                || (settlement && self.settlement_asset().is_some_and(|a| usize::from(a.0) == asset));
            if let (true, Some(point)) = (held, self.risk.prices[asset]) {
                let (low, high) = band(i128::from(point.price.0));
                bands.push((asset, low, high));
            }
        }
        for holding in &account.perps {
            let market = usize::from(holding.market.0);
            if let Some(mark) = self.perp(market).and_then(|p| p.mark) {
                let (low, high) = band(mark.0);
                bands.push((self.mark_key(market), low, high));
            }
        }
        let keys = self.assets.len() + self.markets.len();
        let watch = &mut self.liquidation.watch;
        watch.key_count(keys);
        watch.file(index, bands);
    }

    /// Notes what the command's events mean for the index: touched accounts and crossed bands.
    pub(crate) fn watch_events(&mut self) {
        let keys = self.assets.len() + self.markets.len();
        self.liquidation.watch.key_count(keys);
        for at in 0..self.events.len() {
            let event = self.events[at];
            let touched: [Option<AccountId>; 2] = match &event {
                Event::Trade(trade) => {
                    let perp = self.perp(usize::from(trade.market.0)).is_some();
                    let watched = |id: AccountId| {
                        self.ledger.find(id).is_some_and(|i| perp || self.liquidation.watch.is_filed(i))
                    };
                    [
                        Some(trade.taker_account).filter(|&a| watched(a)),
                        Some(trade.maker_account).filter(|&a| watched(a)),
                    ]
                }
                Event::BorrowLendExecuted { account, .. }
                | Event::PositionChanged { account, .. }
                | Event::Deposited { account, .. }
                | Event::Withdrawn { account, .. }
                | Event::AccountSettingsChanged { account, .. } => [Some(*account), None],
                Event::InsuranceFundChanged(change) => [Some(change.account), None],
                Event::PositionTransferred(transfer) => [Some(transfer.from), Some(transfer.to)],
                Event::IndexPriceSet { asset, price } => {
                    self.liquidation.watch.price_moved(usize::from(asset.0), i128::from(price.0));
                    [None, None]
                }
                Event::MarkPriceSet { market, mark, .. } => {
                    let key = self.mark_key(usize::from(market.0));
                    self.liquidation.watch.price_moved(key, mark.0);
                    [None, None]
                }
                Event::FundingPaid { market, .. } => {
                    let key = self.mark_key(usize::from(market.0));
                    self.liquidation.watch.all_under(key);
                    [None, None]
                }
                Event::InterestCharged(charge) => {
                    self.liquidation.watch.all_under(usize::from(charge.asset.0));
                    [None, None]
                }
                Event::AssetRiskSet(risk) => {
                    self.liquidation.watch.all_under(usize::from(risk.asset.0));
                    [None, None]
                }
                _ => [None, None],
            };
            for account in touched.into_iter().flatten() {
                if let Some(index) = self.ledger.find(account) {
                    self.liquidation.watch.dirty.push(index);
                }
            }
        }
    }

    /// An asset's parameters changed (its volatility multiplier): everyone filed under its
    /// price, or under the mark of a perpetual on it, is valued at the next sweep.
    pub(crate) fn watch_asset_parameters(&mut self, asset: usize) {
        let keys = self.assets.len() + self.markets.len();
        self.liquidation.watch.key_count(keys);
        self.liquidation.watch.all_under(asset);
        for market in 0..self.markets.len() {
            if self.perp(market).is_some_and(|p| usize::from(p.base.0) == asset) {
                let key = self.mark_key(market);
                self.liquidation.watch.all_under(key);
            }
        }
    }

    /// The accounts the next sweep values, in account order: those in liquidation, the dirty
    /// ones, and (after a restore) everyone. Empties the dirty list.
    pub(super) fn sweep_candidates(&mut self) -> Vec<AccountIndex> {
        let watch = &mut self.liquidation.watch;
        let mut candidates: Vec<AccountIndex> = if std::mem::take(&mut watch.everyone) {
            watch.dirty.clear();
            (0..self.ledger.accounts.len() as AccountIndex).collect()
        } else {
            let mut dirty = std::mem::take(&mut watch.dirty);
            dirty.extend(self.liquidation.liquidating.iter().copied());
            dirty.sort_unstable();
            dirty.dedup();
            watch.dirty = Vec::with_capacity(dirty.capacity());
            dirty
        };
        candidates.retain(|&index| (index as usize) < self.ledger.accounts.len());
        candidates
    }

    /// How many accounts the next sweep will value.
    pub fn accounts_to_value(&self) -> usize {
        let watch = &self.liquidation.watch;
        if watch.everyone {
            return self.ledger.accounts.len();
        }
        let pending: BTreeSet<AccountIndex> =
            watch.dirty.iter().chain(self.liquidation.liquidating.iter()).copied().collect();
        pending.len()
    }

    /// Accounts at or below maintenance (or owing more than they hold) that the next sweep
    /// would not value: always none. For the invariant checks.
    pub(crate) fn unwatched_liquidatable(&self) -> Vec<AccountId> {
        let watch = &self.liquidation.watch;
        if watch.everyone {
            return Vec::new();
        }
        let pending: BTreeSet<AccountIndex> =
            watch.dirty.iter().chain(self.liquidation.liquidating.iter()).copied().collect();
        (0..self.ledger.accounts.len() as AccountIndex)
            .filter(|index| !pending.contains(index) && self.needs_liquidation(*index))
            .map(|index| self.ledger.account(index).id)
            .collect()
    }
}
