//! The engine's unified-account commands: risk parameters, index prices, borrowing and
//! lending, hourly interest, and the margin checks every risk-increasing action passes.

use rucksack_types::{
    AccountId, Amount, AssetId, AssetRisk, BorrowLendAction, BorrowLendSource, Event, FlatRegions, IndexPrice,
    LendingSpec, Reject, Rounding, Timestamp,
};

use crate::book::arena::AccountIndex;
use crate::engine::Engine;
use crate::lending::{self, MICROS_PER_HOUR, Movement, Pool, PoolPosition};
use crate::margin::{Holding, PricePoint, RiskInputs};

/// What a pool action changed, so a later refusal in the same command can restore it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolUndo {
    account: AccountIndex,
    asset: usize,
    pool: Pool,
    balance: crate::ledger::Balance,
    position: PoolPosition,
    dust: Amount,
    events: usize,
}

/// Per-asset risk state, indexed by asset id. Read models keep a copy and value accounts with it.
#[derive(Clone, Debug, Default)]
pub struct RiskState {
    pub specs: Vec<Option<AssetRisk>>,
    /// Derived from `specs`: where each asset's functions are flat.
    pub flat: Vec<FlatRegions>,
    /// Per asset, bumped whenever its parameters, price or pool change, so memoised valuations
    /// notice.
    pub versions: Vec<u64>,
    pub prices: Vec<Option<PricePoint>>,
    pub pools: Vec<Pool>,
    /// The last hour boundary (hours since the epoch) whose interest was charged; 0 before the
    /// first pool opens.
    pub charged_hour: u64,
    /// The volatility tiers in force (`None`: static parameters), and per asset its
    /// volatility and multiplier.
    pub volatility_spec: Option<rucksack_types::volatility::VolatilitySpec>,
    pub volatility: Vec<rucksack_types::volatility::Volatility>,
}

impl RiskState {
    pub fn add_asset(&mut self) {
        self.specs.push(None);
        self.flat.push(FlatRegions::default());
        self.versions.push(0);
        self.prices.push(None);
        self.pools.push(Pool::default());
        self.volatility.push(Default::default());
    }

    /// Sets an asset's parameters and the flat regions derived from them.
    pub fn set_spec(&mut self, asset: usize, spec: Option<AssetRisk>) {
        self.flat[asset] = spec.map(|s| s.flat_regions()).unwrap_or_default();
        self.specs[asset] = spec;
        self.touch(asset);
    }

    /// Marks a change to an asset's parameters, price or pool.
    pub fn touch(&mut self, asset: usize) {
        self.versions[asset] = self.versions[asset].wrapping_add(1);
    }

    /// The inputs of account health over `assets`.
    pub fn inputs<'a>(&'a self, assets: &'a [rucksack_types::AssetSpec]) -> RiskInputs<'a> {
        RiskInputs {
            assets,
            specs: &self.specs,
            flat: &self.flat,
            prices: &self.prices,
            pools: &self.pools,
            volatility: &self.volatility,
        }
    }

    pub fn lending_spec(&self, asset: usize) -> Option<&LendingSpec> {
        self.specs[asset].as_ref().and_then(|s| s.lending.as_ref())
    }

    /// How much of a lend of `shares` can be redeemed now without passing the throttle.
    pub fn redeemable(&self, asset: usize, shares: i128) -> Amount {
        let (Some(spec), pool) = (self.lending_spec(asset), &self.pools[asset]) else { return Amount::ZERO };
        pool.lend_value(shares).min(pool.max_redeemable(spec.throttle_utilization))
    }
}

impl Engine {
    pub(crate) fn set_asset_risk(&mut self, risk: &AssetRisk) -> Result<(), Reject> {
        let asset = self.asset_index(risk.asset)?;
        risk.validate().map_err(Reject::InvalidRiskSpec)?;
        let pool = &self.risk.pools[asset];
        if risk.lending.is_none() && (pool.lend_shares != 0 || pool.borrow_shares != 0) {
            return Err(Reject::NotLendable);
        }
        if risk.lending.is_some() && self.risk.charged_hour == 0 {
            self.risk.charged_hour = self.time.0 / MICROS_PER_HOUR;
        }
        self.risk.set_spec(asset, Some(*risk));
        self.events.push(Event::AssetRiskSet(*risk));
        Ok(())
    }

    pub(crate) fn set_index_price(&mut self, asset: AssetId, price: IndexPrice) -> Result<(), Reject> {
        let index = self.asset_index(asset)?;
        if price.0 <= 0 {
            return Err(Reject::NonPositiveAmount);
        }
        let capped = match (self.risk.prices[index], &self.risk.specs[index]) {
            (Some(last), Some(spec)) => {
                let last = i128::from(last.price.0);
                let high = spec.max_price_update_multiplier.of(last, Rounding::Down)?;
                let low = spec.min_price_update_multiplier.of(last, Rounding::Up)?;
                IndexPrice(i128::from(price.0).clamp(low.max(1), high.max(1)) as i64)
            }
            _ => price,
        };
        let previous = self.risk.prices[index];
        self.risk.prices[index] = Some(PricePoint { price: capped, updated: self.time });
        self.risk.touch(index);
        if let (Some(spec), Some(previous)) = (self.risk.volatility_spec, previous) {
            let elapsed = self.time.0.saturating_sub(previous.updated.0);
            if self.risk.volatility[index].observe(&spec, previous.price.0, capped.0, elapsed) {
                self.multiplier_changed(index);
            }
        }
        self.events.push(Event::IndexPriceSet { asset, price: capped });
        Ok(())
    }

    /// The index price of `asset`, if one is set and not stale.
    pub(crate) fn fresh_price(&self, asset: usize) -> Option<IndexPrice> {
        let point = self.risk.prices[asset]?;
        let limit = self.risk.specs[asset].as_ref().map_or(0, |s| s.price_stale_after_micros);
        (limit == 0 || self.time.0.saturating_sub(point.updated.0) <= limit).then_some(point.price)
    }

    pub(crate) fn borrow_lend(
        &mut self,
        account: AccountId,
        asset: AssetId,
        action: BorrowLendAction,
        amount: Amount,
    ) -> Result<(), Reject> {
        let asset_index = self.asset_index(asset)?;
        let index = self.ledger.find(account).ok_or(Reject::InsufficientFunds)?;
        let before = self.margin_before(index, action == BorrowLendAction::Borrow);
        let (_, undo) = self.pool_action(index, asset_index, action, amount, BorrowLendSource::Manual)?;
        if let Err(reject) = self.check_margin_change(index, &before) {
            self.undo_pool_action(undo);
            return Err(reject);
        }
        Ok(())
    }

    /// Performs one pool action for an account with every check but the margin rule, and
    /// reports it. Returns what moved and how to undo it.
    pub(crate) fn pool_action(
        &mut self,
        index: AccountIndex,
        asset_index: usize,
        action: BorrowLendAction,
        amount: Amount,
        source: BorrowLendSource,
    ) -> Result<(Movement, PoolUndo), Reject> {
        if !amount.is_positive() {
            return Err(Reject::NonPositiveAmount);
        }
        let spec = *self.risk.lending_spec(asset_index).ok_or(Reject::NotLendable)?;
        let asset = AssetId(asset_index as u16);
        let position = self.ledger.account(index).positions[asset_index];
        let mut pool = self.risk.pools[asset_index];
        let mut balance = self.ledger.balance(index, asset);
        let (movement, new_position, entry_fee) = match (action, position) {
            (BorrowLendAction::Lend, PoolPosition::Borrow(_)) => return Err(Reject::LendRequiresBorrowRepay),
            (BorrowLendAction::Borrow, PoolPosition::Lend(_)) => return Err(Reject::BorrowRequiresLendRedeem),
            (BorrowLendAction::Repay, PoolPosition::Borrow(shares)) => {
                if balance.available.is_zero() {
                    return Err(Reject::InsufficientFunds);
                }
                let movement = pool.repay(shares, amount.min(balance.available))?;
                balance.available = balance.available.checked_sub(movement.amount)?;
                (movement, remaining(shares - movement.shares, PoolPosition::Borrow), Amount::ZERO)
            }
            (BorrowLendAction::Redeem, PoolPosition::Lend(shares)) => {
                let movement = pool.redeem(shares, amount)?;
                if pool.cash() < 0 {
                    return Err(Reject::InsufficientSupply);
                }
                if pool.utilization() > spec.throttle_utilization {
                    return Err(Reject::BorrowLimit);
                }
                balance.available = balance.available.checked_add(movement.amount)?;
                (movement, remaining(shares - movement.shares, PoolPosition::Lend), Amount::ZERO)
            }
            (BorrowLendAction::Repay | BorrowLendAction::Redeem, _) => return Err(Reject::NoPosition),
            (BorrowLendAction::Lend, _) => {
                if balance.available < amount {
                    return Err(Reject::InsufficientFunds);
                }
                let movement = pool.lend(amount).map_err(|_| Reject::QuantityOutOfBounds)?;
                balance.available = balance.available.checked_sub(amount)?;
                let shares = if let PoolPosition::Lend(s) = position { s } else { 0 };
                (movement, PoolPosition::Lend(shares + movement.shares), Amount::ZERO)
            }
            (BorrowLendAction::Borrow, _) => {
                if self.fresh_price(asset_index).is_none() {
                    return Err(Reject::PriceUnavailable);
                }
                if i128::from(amount.0) > pool.cash() {
                    return Err(Reject::InsufficientSupply);
                }
                let rate = spec.curve.borrow_rate(pool.utilization_after(i128::from(amount.0), 0));
                let next_charge = (self.risk.charged_hour + 1) * MICROS_PER_HOUR;
                let entry_fee = lending::interest_for(amount, rate, next_charge.saturating_sub(self.time.0))?;
                let movement = pool.borrow(amount, entry_fee, &spec)?;
                let limit = spec.throttle_utilization.min(spec.max_utilization);
                if pool.utilization() > limit {
                    return Err(Reject::BorrowLimit);
                }
                balance.available = balance.available.checked_add(amount)?;
                let shares = if let PoolPosition::Borrow(s) = position { s } else { 0 };
                (movement, PoolPosition::Borrow(shares + movement.shares), entry_fee)
            }
        };
        let undo = PoolUndo {
            account: index,
            asset: asset_index,
            pool: self.risk.pools[asset_index],
            balance: self.ledger.balance(index, asset),
            position,
            dust: self.ledger.dust[asset_index],
            events: self.events.len(),
        };
        self.ledger.dust[asset_index] = self.ledger.dust[asset_index].checked_add(movement.dust)?;
        self.risk.pools[asset_index] = pool;
        self.risk.touch(asset_index);
        *self.ledger.balance_mut(index, asset) = balance;
        self.ledger.account_mut(index).positions[asset_index] = new_position;
        let (shares, value) = match new_position {
            PoolPosition::None => (0, 0),
            PoolPosition::Lend(shares) => (shares, i128::from(pool.lend_value(shares).0)),
            PoolPosition::Borrow(shares) => (-shares, -i128::from(pool.debt_value(shares).0)),
        };
        self.events.push(Event::BorrowLendExecuted {
            account: self.ledger.account(index).id,
            asset,
            action,
            amount: movement.amount,
            entry_fee,
            source,
            shares,
            position: value,
        });
        Ok((movement, undo))
    }

    /// Restores what a [`Engine::pool_action`] changed, its event included.
    pub(crate) fn undo_pool_action(&mut self, undo: PoolUndo) {
        self.risk.pools[undo.asset] = undo.pool;
        self.risk.touch(undo.asset);
        *self.ledger.balance_mut(undo.account, AssetId(undo.asset as u16)) = undo.balance;
        self.ledger.account_mut(undo.account).positions[undo.asset] = undo.position;
        self.ledger.dust[undo.asset] = undo.dust;
        self.events.truncate(undo.events);
    }

    /// Charges interest for every hour boundary passed since the last charge, one hour at a
    /// time at the utilization of that moment, and collects the house's claims as cash allows.
    pub(crate) fn accrue_interest(&mut self) -> Result<(), Reject> {
        let now_hour = self.time.0 / MICROS_PER_HOUR;
        if self.risk.charged_hour == 0 {
            self.risk.charged_hour = now_hour;
            return Ok(());
        }
        while self.risk.charged_hour < now_hour {
            self.risk.charged_hour += 1;
            let hour = Timestamp(self.risk.charged_hour * MICROS_PER_HOUR);
            for asset in 0..self.risk.pools.len() {
                let Some(spec) = self.risk.lending_spec(asset).copied() else { continue };
                if self.risk.pools[asset].borrowed.is_zero() {
                    continue;
                }
                self.risk.touch(asset);
                let pool = &mut self.risk.pools[asset];
                let utilization = pool.utilization();
                let borrow_rate = spec.curve.borrow_rate(utilization);
                let split = pool.charge_hour(borrow_rate, &spec)?;
                let (fee, dust) = pool.collect_claims();
                self.ledger.fees[asset] = self.ledger.fees[asset].checked_add(fee)?;
                self.ledger.dust[asset] = self.ledger.dust[asset].checked_add(dust)?;
                self.events.push(Event::InterestCharged(rucksack_types::InterestCharge {
                    asset: AssetId(asset as u16),
                    hour,
                    utilization,
                    borrow_rate,
                    lend_rate: lending::lend_rate(borrow_rate, utilization, spec.fee),
                    interest: split.interest,
                    fee: split.fee,
                    dust: split.dust,
                    lent: pool.lent,
                    lend_shares: pool.lend_shares,
                    borrowed: pool.borrowed,
                    borrow_shares: pool.borrow_shares,
                }));
            }
        }
        Ok(())
    }

    pub(crate) fn risk_inputs(&self) -> RiskInputs<'_> {
        self.risk.inputs(&self.assets)
    }

    pub(crate) fn holding(&self, index: AccountIndex, asset: usize) -> Holding {
        let account = self.ledger.account(index);
        self.risk_inputs().holding(asset, account.balances[asset], account.positions[asset])
    }

    pub fn pool(&self, asset: AssetId) -> Option<&Pool> {
        self.risk.pools.get(usize::from(asset.0))
    }

    /// Risk parameters, index prices and pools of every asset, for read models.
    pub fn risk_state(&self) -> &RiskState {
        &self.risk
    }

    /// What an account's position in an asset's pool is worth now: its lend (positive) or its
    /// debt (negative).
    pub fn pool_position_value(&self, account: AccountId, asset: AssetId) -> i128 {
        let Some(index) = self.ledger.find(account) else { return 0 };
        let holding = self.holding(index, usize::from(asset.0));
        i128::from(holding.lent.0) - i128::from(holding.borrowed.0)
    }

    /// An account's position in every pool (none for an unknown account).
    pub fn pool_positions(&self, account: AccountId) -> Vec<PoolPosition> {
        self.ledger.find(account).map(|index| self.ledger.account(index).positions.clone()).unwrap_or_default()
    }
}

fn remaining(shares: i128, position: fn(i128) -> PoolPosition) -> PoolPosition {
    if shares == 0 { PoolPosition::None } else { position(shares) }
}
