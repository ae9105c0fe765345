//! Account health: what an account's holdings are worth as collateral, what it owes, how
//! exposed it is and how much margin that exposure needs, as Backpack's margin model states it:
//!
//! ```text
//! held(asset)           = available + locked + lent   (borrowed units included)
//! collateral value      = Σ held × index price × weight(held notional)
//! borrow liability      = Σ borrowed × index price
//! net equity            = collateral value - borrow liability + unrealized PnL of perpetuals
//! exposure              = Σ borrow notional N_i + Σ perpetual exposure (see [`perp`])
//! initial requirement   = Σ N_i × max(IMF_i(N_i), 1 / leverage limit)
//! maintenance requirement = Σ N_i × MMF_i(N_i)
//! margin fraction       = net equity / exposure
//! ```
//!
//! An account is within initial margin while net equity covers the initial requirement (IMR ≤
//! 100%), and liquidatable once it no longer covers the maintenance requirement. Every fraction
//! and haircut is scaled by its asset's volatility multiplier (see
//! [`rucksack_types::volatility`]), 1 in calm markets.

use rucksack_types::volatility::{scaled_fraction, scaled_weight};
use rucksack_types::{Amount, AssetRisk, AssetSpec, FlatRegions, Fraction, IndexPrice, Rounding, Timestamp, UsdValue};

use crate::ledger::Balance;
use crate::lending::{Pool, PoolPosition};

pub mod perp;
#[cfg(test)]
mod tests;

/// One asset's part of an account's health.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Holding {
    pub available: Amount,
    pub locked: Amount,
    pub lent: Amount,
    pub borrowed: Amount,
}

impl Holding {
    pub fn net(&self) -> i128 {
        i128::from(self.available.0) + i128::from(self.locked.0) + i128::from(self.lent.0) - i128::from(self.borrowed.0)
    }

    /// What the account holds of the asset, borrowed units included.
    pub fn held(&self) -> i128 {
        i128::from(self.available.0) + i128::from(self.locked.0) + i128::from(self.lent.0)
    }

    pub fn is_empty(&self) -> bool {
        *self == Holding::default()
    }
}

/// An index price and when it was set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PricePoint {
    pub price: IndexPrice,
    pub updated: Timestamp,
}

/// Everything account health depends on besides the account itself, per asset. The engine
/// values accounts from its own state; the API's read models hold a copy and value accounts
/// the same way without touching the engine.
#[derive(Clone, Copy, Debug)]
pub struct RiskInputs<'a> {
    pub assets: &'a [AssetSpec],
    pub specs: &'a [Option<AssetRisk>],
    pub flat: &'a [FlatRegions],
    pub prices: &'a [Option<PricePoint>],
    pub pools: &'a [Pool],
    /// Per asset: its volatility and the multiplier of its fractions and haircuts in force.
    pub volatility: &'a [rucksack_types::volatility::Volatility],
}

impl<'a> RiskInputs<'a> {
    /// An account's holding of one asset, its lend or borrow valued at the pool's share prices.
    pub fn holding(&self, asset: usize, balance: Balance, position: PoolPosition) -> Holding {
        let pool = self.pools.get(asset).copied().unwrap_or_default();
        let (lent, borrowed) = match position {
            PoolPosition::None => (Amount::ZERO, Amount::ZERO),
            PoolPosition::Lend(shares) => (pool.lend_value(shares), Amount::ZERO),
            PoolPosition::Borrow(shares) => (Amount::ZERO, pool.debt_value(shares)),
        };
        Holding { available: balance.available, locked: balance.locked, lent, borrowed }
    }

    pub fn valuation(&self, asset: usize) -> Valuation<'a> {
        Valuation {
            asset: &self.assets[asset],
            risk: self.specs.get(asset).and_then(Option::as_ref),
            flat: self.flat.get(asset).copied().unwrap_or_default(),
            price: self.prices.get(asset).copied().flatten().map(|p| p.price),
            multiplier: self.multiplier(asset),
        }
    }

    /// The multiplier of an asset's margin fractions and haircuts in force (1 when calm).
    pub fn multiplier(&self, asset: usize) -> Fraction {
        self.volatility.get(asset).map_or(Fraction::ONE, |v| v.multiplier)
    }

    /// An account's health, calling `row` with each asset it holds.
    pub fn health(
        &self,
        balances: &[Balance],
        positions: &[PoolPosition],
        leverage_limit: u16,
        mut row: impl FnMut(usize, &Holding, &CollateralRow),
    ) -> AccountHealth {
        let mut health = AccountHealth::default();
        for asset in 0..self.assets.len() {
            let balance = balances.get(asset).copied().unwrap_or_default();
            let position = positions.get(asset).copied().unwrap_or_default();
            let holding = self.holding(asset, balance, position);
            if holding.is_empty() {
                continue;
            }
            let collateral = health.add(&holding, &self.valuation(asset), leverage_limit);
            row(asset, &holding, &collateral);
        }
        health
    }
}

/// What risk needs about an asset to value a holding of it.
#[derive(Clone, Copy, Debug)]
pub struct Valuation<'a> {
    pub asset: &'a AssetSpec,
    pub risk: Option<&'a AssetRisk>,
    /// Where `risk`'s functions are flat (the default: nowhere, always computed in full).
    pub flat: FlatRegions,
    pub price: Option<IndexPrice>,
    /// The volatility multiplier of the asset's fractions and haircuts.
    pub multiplier: Fraction,
}

/// One asset's row of the collateral report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CollateralRow {
    pub notional: UsdValue,
    pub weight: Fraction,
    pub collateral_value: UsdValue,
}

/// An account's health at current index prices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccountHealth {
    /// Notional of positive holdings before haircuts.
    pub assets_value: UsdValue,
    pub collateral_value: UsdValue,
    pub borrow_liability: UsdValue,
    pub exposure: UsdValue,
    pub initial_requirement: UsdValue,
    pub maintenance_requirement: UsdValue,
    /// Perpetual positions' unrealized PnL (funding and fees since realization included).
    pub unrealized_pnl: UsdValue,
}

impl AccountHealth {
    /// The sum of two accounts' (or two assets') health: every figure adds.
    pub fn plus(&self, other: &AccountHealth) -> AccountHealth {
        self.combine(other, |a, b| a + b)
    }

    pub fn minus(&self, other: &AccountHealth) -> AccountHealth {
        self.combine(other, |a, b| a - b)
    }

    fn combine(&self, other: &AccountHealth, op: impl Fn(i128, i128) -> i128) -> AccountHealth {
        let f = |a: UsdValue, b: UsdValue| UsdValue(op(a.0, b.0));
        AccountHealth {
            assets_value: f(self.assets_value, other.assets_value),
            collateral_value: f(self.collateral_value, other.collateral_value),
            borrow_liability: f(self.borrow_liability, other.borrow_liability),
            exposure: f(self.exposure, other.exposure),
            initial_requirement: f(self.initial_requirement, other.initial_requirement),
            maintenance_requirement: f(self.maintenance_requirement, other.maintenance_requirement),
            unrealized_pnl: f(self.unrealized_pnl, other.unrealized_pnl),
        }
    }

    /// One holding's part of an account's health.
    pub fn of_holding(holding: &Holding, valuation: &Valuation<'_>, leverage_limit: u16) -> AccountHealth {
        let mut health = AccountHealth::default();
        if !holding.is_empty() {
            health.add(holding, valuation, leverage_limit);
        }
        health
    }

    pub fn net_equity(&self) -> UsdValue {
        UsdValue(self.collateral_value.0 - self.borrow_liability.0 + self.unrealized_pnl.0)
    }

    /// Net equity covers the initial requirement (IMR ≤ 100%).
    pub fn within_initial_margin(&self) -> bool {
        self.net_equity() >= self.initial_requirement
    }

    /// Net equity no longer covers the maintenance requirement (MMR ≥ 100%).
    pub fn below_maintenance(&self) -> bool {
        !self.exposure.0.eq(&0) && self.net_equity() <= self.maintenance_requirement
    }

    /// Equity left after the initial requirement: what can still be put at risk.
    pub fn free_equity(&self) -> UsdValue {
        UsdValue(self.net_equity().0 - self.initial_requirement.0)
    }

    /// Net equity over exposure; `None` without exposure.
    pub fn margin_fraction(&self) -> Option<Fraction> {
        self.fraction_of_exposure(self.net_equity(), Rounding::Down)
    }

    /// Exposure-weighted initial margin fraction; `None` without exposure.
    pub fn imf(&self) -> Option<Fraction> {
        self.fraction_of_exposure(self.initial_requirement, Rounding::Up)
    }

    pub fn mmf(&self) -> Option<Fraction> {
        self.fraction_of_exposure(self.maintenance_requirement, Rounding::Up)
    }

    fn fraction_of_exposure(&self, value: UsdValue, rounding: Rounding) -> Option<Fraction> {
        (self.exposure.0 > 0).then(|| Fraction::ratio(value.0, self.exposure.0, rounding).ok()).flatten()
    }

    /// Adds one asset's holding. A borrow is exposure even while its proceeds are still held:
    /// they count as collateral after the haircut, the debt in full. Assets without risk
    /// parameters or a price count for nothing; a debt in them cannot arise.
    pub fn add(&mut self, holding: &Holding, valuation: &Valuation<'_>, leverage_limit: u16) -> CollateralRow {
        let held = holding.held();
        let (Some(risk), Some(price)) = (valuation.risk, valuation.price) else {
            return CollateralRow::default();
        };
        let decimals = valuation.asset.decimals;
        let notional = price.value(Amount(held as i64), decimals, Rounding::Down);
        let weight = scaled_weight(risk.haircut.weight_in(notional, &valuation.flat), valuation.multiplier);
        let collateral_value = UsdValue(weight.of(notional.0, Rounding::Down).unwrap_or(0));
        self.assets_value.0 += notional.0;
        self.collateral_value.0 += collateral_value.0;
        if holding.borrowed.is_positive() {
            let borrowed = price.value(holding.borrowed, decimals, Rounding::Up);
            let leverage_floor =
                Fraction::ratio(1, i128::from(leverage_limit.max(1)), Rounding::Up).unwrap_or(Fraction::ONE);
            let multiplier = valuation.multiplier;
            let imf = scaled_fraction(risk.borrow_imf.fraction_in(borrowed, valuation.flat.imf), multiplier)
                .max(leverage_floor);
            let mmf = scaled_fraction(risk.borrow_mmf.fraction_in(borrowed, valuation.flat.mmf), multiplier);
            self.borrow_liability.0 += borrowed.0;
            self.exposure.0 += borrowed.0;
            self.initial_requirement.0 += imf.of(borrowed.0, Rounding::Up).unwrap_or(i128::MAX / 4);
            self.maintenance_requirement.0 += mmf.of(borrowed.0, Rounding::Up).unwrap_or(i128::MAX / 4);
        }
        CollateralRow { notional, weight, collateral_value }
    }
}
