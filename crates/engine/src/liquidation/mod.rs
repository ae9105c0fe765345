//! The risk engine's view of an account: its health as it stands, open orders not counted, and
//! whether it is liquidatable.
//!
//! The margin rule judges an account at its worst over its open orders, because an order may
//! still fill. Liquidation starts by cancelling every open order, so what decides it is the
//! account as it stands: its collateral and borrows at index prices and its perpetual positions
//! at their marks. An account is liquidatable when that net equity no longer covers the
//! maintenance requirement (margin fraction ≤ account MMF, MMR ≥ 100%).
//!
//! The API values accounts from its read models with the same function, so the collateral and
//! position figures a client sees are the ones liquidation acts on.
//!
//! - `sweep`: the `Liquidate` command: every account at or below maintenance, or in
//!   liquidation short of its buffer, takes one step of the waterfall.
//! - `close_out`: the stages past the book: positions closed against opposing positions, and a
//!   deficit absorbed by the insurance fund, those positions, and as a last resort the market.

mod close_out;
mod spot;
mod sweep;
mod watch;

use std::collections::{BTreeMap, BTreeSet};

use rucksack_types::{AccountId, Amount, AssetId, BorrowLendAction, Command, LiquidationSpec, MarketId, Reject};

use crate::book::arena::AccountIndex;
use crate::engine::Engine;
use crate::ledger::Balance;
use crate::lending::PoolPosition;
use crate::margin::{AccountHealth, RiskInputs};
use crate::perp::{PerpHolding, PerpMarket};

/// The risk engine's own state.
#[derive(Clone, Debug, Default)]
pub(crate) struct LiquidationState {
    pub spec: LiquidationSpec,
    /// Accounts in liquidation: from the sweep that found them at or below maintenance until
    /// their buffer is restored or nothing is left to liquidate.
    pub liquidating: BTreeSet<AccountIndex>,
    /// Backstop liquidity providers and the quote notional each takes of a closed-out position.
    pub backstops: BTreeMap<AccountIndex, Amount>,
    pub watch: watch::Watch,
    /// Per (market, side: 1 longs, -1 shorts, 0 positions in profit): the ADL ranking, taken
    /// the first time a sweep deleverages there, and how far it is used up. Emptied at every
    /// sweep.
    pub adl_queues: BTreeMap<(usize, i8), AdlQueue>,
}

/// Accounts in ADL order and the first one not yet used up.
#[derive(Clone, Debug, Default)]
pub(crate) struct AdlQueue {
    pub ranked: Vec<AccountIndex>,
    pub cursor: usize,
}

/// What an account holds, as the risk engine values it.
#[derive(Clone, Copy, Debug)]
pub struct AccountHoldings<'a> {
    pub balances: &'a [Balance],
    pub positions: &'a [PoolPosition],
    pub perps: &'a [PerpHolding],
    pub leverage_limit: u16,
}

/// An account's health as it stands: collateral and borrows at index prices, perpetual
/// positions at their marks with pending funding applied; open orders not counted. A position
/// in a market without a mark yet counts for nothing (it cannot have been opened at a price).
pub fn health_now<'a>(
    inputs: &RiskInputs<'a>,
    holdings: AccountHoldings<'_>,
    perp_market: impl Fn(MarketId) -> Option<&'a PerpMarket>,
) -> AccountHealth {
    let leverage = holdings.leverage_limit;
    let mut health = inputs.health(holdings.balances, holdings.positions, leverage, |_, _, _| {});
    for holding in holdings.perps {
        let Some(perp) = perp_market(holding.market) else { continue };
        let Some(valuation) = perp.valuation(inputs, holdings.balances, holdings.positions) else { continue };
        let claim = holding.claim(valuation.mark, perp.cumulative_funding);
        health = health.plus(&valuation.health(holding.position.size, claim, leverage));
    }
    health
}

impl Engine {
    fn health_of(&self, index: AccountIndex) -> AccountHealth {
        let account = self.ledger.account(index);
        let holdings = AccountHoldings {
            balances: &account.balances,
            positions: &account.positions,
            perps: &account.perps,
            leverage_limit: account.settings.leverage_limit,
        };
        health_now(&self.risk_inputs(), holdings, |market| self.perp_market(market))
    }

    /// The account's health as it stands if its balances, pool positions and perpetual positions
    /// (with pending funding applied) were changed by `change`.
    fn health_with(
        &self,
        index: AccountIndex,
        change: impl FnOnce(&mut [Balance], &mut [PoolPosition], &mut Vec<PerpHolding>),
    ) -> AccountHealth {
        let account = self.ledger.account(index);
        let (mut balances, mut positions, mut perps) =
            (account.balances.clone(), account.positions.clone(), account.perps.clone());
        // Funding already due stays due whatever the change does to the size.
        for holding in &mut perps {
            let cumulative = self.perp_market(holding.market).map_or(0, |p| p.cumulative_funding);
            crate::perp::trading::apply_funding(holding, cumulative);
        }
        change(&mut balances, &mut positions, &mut perps);
        let holdings = AccountHoldings {
            balances: &balances,
            positions: &positions,
            perps: &perps,
            leverage_limit: account.settings.leverage_limit,
        };
        health_now(&self.risk_inputs(), holdings, |market| self.perp_market(market))
    }

    /// How far from the reference price a step worth `notional` may fill, given the account's
    /// health `before` and as it would be after the step at the reference price, `after`: the
    /// step's cost (slippage and taker fee) must stay within what keeps the margin fraction from
    /// falling, `after.equity - mf × after.exposure`, and the slippage within the configured
    /// price impact. Zero or less: the step may not be taken.
    fn step_allowance(
        &self,
        before: &AccountHealth,
        after: &AccountHealth,
        notional: rucksack_types::UsdValue,
        taker_fee_bps: i32,
    ) -> rucksack_types::Fraction {
        use rucksack_types::{Fraction, Rounding};
        let Some(margin_fraction) = before.margin_fraction() else { return Fraction::ZERO };
        let kept = margin_fraction.of(after.exposure.0, Rounding::Up).unwrap_or(i128::MAX);
        let budget = after.net_equity().0.saturating_sub(kept);
        if budget <= 0 || notional.0 <= 0 {
            return Fraction::ZERO;
        }
        let room = Fraction::ratio(budget, notional.0, Rounding::Down).unwrap_or(Fraction::ONE);
        let fees = i64::from(taker_fee_bps.max(0)) * sweep::BASIS_POINT + sweep::ROUNDING_ALLOWANCE.0;
        Fraction(self.liquidation.spec.price_impact.0.min(room.0.saturating_sub(fees)))
    }

    /// An account's health as it stands (open orders not counted); empty for an unknown account.
    pub fn health_now(&self, account: AccountId) -> AccountHealth {
        self.ledger.find(account).map(|index| self.health_of(index)).unwrap_or_default()
    }

    /// Whether an account carries exposure that liquidation could act on: a borrow or a
    /// perpetual position.
    pub(crate) fn exposed(&self, index: AccountIndex) -> bool {
        let account = self.ledger.account(index);
        account.perps.iter().any(|h| h.position.size != 0)
            || account.positions.iter().any(|p| matches!(p, PoolPosition::Borrow(_)))
    }

    /// Every account whose net equity no longer covers its maintenance requirement, in account
    /// order. Accounts without a borrow or a perpetual position are never liquidatable and are
    /// not valued.
    pub fn liquidatable_accounts(&self) -> Vec<AccountId> {
        (0..self.ledger.accounts.len() as AccountIndex)
            .filter(|&index| self.exposed(index) && self.health_of(index).below_maintenance())
            .map(|index| self.ledger.account(index).id)
            .collect()
    }
}

impl Engine {
    /// An account in liquidation may deposit and repay, nothing that adds risk or takes money
    /// out.
    pub(crate) fn refused_while_liquidating(&self, command: &Command) -> Option<Reject> {
        let account = match command {
            Command::PlaceOrder(order) | Command::PlaceOrderWithExits { order, .. } => order.account,
            Command::Withdraw { account, .. } | Command::FundInsurance { account, .. } => *account,
            Command::BorrowLend { account, action, .. } if *action != BorrowLendAction::Repay => *account,
            _ => return None,
        };
        self.is_liquidating(account).then_some(Reject::AccountLiquidating)
    }

    /// The insurance fund's balance in `asset`.
    pub fn insurance_fund(&self, asset: AssetId) -> Amount {
        self.ledger.insurance.get(usize::from(asset.0)).copied().unwrap_or_default()
    }

    /// Accounts in liquidation, in account order.
    pub fn liquidating_accounts(&self) -> Vec<AccountId> {
        self.liquidation.liquidating.iter().map(|&index| self.ledger.account(index).id).collect()
    }

    /// Whether the account is being liquidated (and so may not trade, borrow or withdraw).
    pub fn is_liquidating(&self, account: AccountId) -> bool {
        self.ledger.find(account).is_some_and(|index| self.liquidation.liquidating.contains(&index))
    }

    pub fn liquidation_spec(&self) -> LiquidationSpec {
        self.liquidation.spec
    }

    /// Backstop liquidity providers and their capacities, in account order.
    pub fn backstop_providers(&self) -> Vec<(AccountId, Amount)> {
        self.liquidation.backstops.iter().map(|(&index, &capacity)| (self.ledger.account(index).id, capacity)).collect()
    }

    pub(crate) fn set_backstop_provider(&mut self, account: AccountId, capacity: Amount) -> Result<(), Reject> {
        let index = self.ledger.find(account).ok_or(Reject::UnknownAccount)?;
        if capacity.0 < 0 {
            return Err(Reject::NonPositiveAmount);
        }
        if capacity.is_zero() {
            self.liquidation.backstops.remove(&index);
        } else {
            self.liquidation.backstops.insert(index, capacity);
        }
        self.events.push(rucksack_types::Event::BackstopProviderSet { account, capacity });
        Ok(())
    }

    pub(crate) fn fund_insurance(&mut self, account: AccountId, asset: AssetId, amount: Amount) -> Result<(), Reject> {
        let asset_index = self.asset_index(asset)?;
        if !amount.is_positive() {
            return Err(Reject::NonPositiveAmount);
        }
        let index = self.ledger.find(account).ok_or(Reject::InsufficientFunds)?;
        if self.ledger.account(index).balances[asset_index].available < amount {
            return Err(Reject::InsufficientFunds);
        }
        // Like a withdrawal: it must not take the account beyond initial margin.
        let before = self.margin_before(index, false);
        self.ledger.account_mut(index).balances[asset_index].available.0 -= amount.0;
        if let Err(reject) = self.check_margin_change(index, &before) {
            self.ledger.account_mut(index).balances[asset_index].available.0 += amount.0;
            return Err(reject);
        }
        self.credit_insurance(index, asset, amount, rucksack_types::InsuranceReason::Contribution);
        Ok(())
    }

    pub(crate) fn set_liquidation_spec(&mut self, spec: &LiquidationSpec) -> Result<(), Reject> {
        spec.validate().map_err(Reject::InvalidLiquidationSpec)?;
        self.liquidation.spec = *spec;
        self.events.push(rucksack_types::Event::LiquidationSpecSet(*spec));
        Ok(())
    }
}
