//! Spot margin and the automatic pool actions of the unified account.
//!
//! - An order or withdrawal that needs more than the available balance redeems the account's
//!   lend of that asset (with `autoLendRedeem`, or whenever the account auto-lends) as far as
//!   the throttle allows, then borrows the rest (with `autoBorrow`). Nothing is borrowed while
//!   a lend of the same asset remains.
//! - After a command, assets an account received repay its borrow of them when it auto-repays
//!   (or the order asked for `autoBorrowRepay`), and an auto-lending account lends everything
//!   left available.
//!
//! Each step is an ordinary pool action with its own event, so history shows why money moved.

use rucksack_types::{
    Amount, BorrowLendAction, BorrowLendSource, Event, Lots, MarginFlags, MarketSize, NewOrder, OrderSpec, Reject,
    Rounding, Side,
};

use crate::book::arena::AccountIndex;
use crate::engine::Engine;
use crate::lending::PoolPosition;
use crate::margin::AccountHealth;
use crate::matching::buy_cost;
use crate::money_market::PoolUndo;

/// An account and the asset it received (`None`: only its available balances changed).
type Touched = (AccountIndex, Option<usize>);

impl Engine {
    /// Makes `need` of an asset available to the account, redeeming and borrowing as `margin`
    /// allows. On `Err` nothing changed; on `Ok` the returned steps undo it.
    pub(crate) fn fund(
        &mut self,
        index: AccountIndex,
        asset: usize,
        need: Amount,
        margin: MarginFlags,
        source: BorrowLendSource,
    ) -> Result<Vec<PoolUndo>, Reject> {
        let available = self.ledger.account(index).balances[asset].available;
        if available >= need || self.risk.lending_spec(asset).is_none() {
            return Ok(Vec::new());
        }
        let mut short = need.checked_sub(available)?;
        let mut steps = Vec::new();
        let redeem = margin.auto_lend_redeem || self.ledger.account(index).settings.auto_lend;
        if let (true, PoolPosition::Lend(shares)) = (redeem, self.ledger.account(index).positions[asset]) {
            let amount = short.min(self.risk.redeemable(asset, shares));
            if amount.is_positive() {
                let (moved, undo) = self.pool_action(index, asset, BorrowLendAction::Redeem, amount, source)?;
                steps.push(undo);
                short = short.checked_sub(moved.amount)?;
            }
        }
        if short.is_positive() && margin.auto_borrow {
            let borrowed = match self.ledger.account(index).positions[asset] {
                PoolPosition::Lend(_) => Err(Reject::BorrowRequiresLendRedeem),
                _ => self.pool_action(index, asset, BorrowLendAction::Borrow, short, source),
            };
            match borrowed {
                Ok((_, undo)) => steps.push(undo),
                Err(reject) => {
                    self.undo_all(steps);
                    return Err(reject);
                }
            }
        }
        Ok(steps)
    }

    pub(crate) fn undo_all(&mut self, steps: Vec<PoolUndo>) {
        for undo in steps.into_iter().rev() {
            self.undo_pool_action(undo);
        }
    }

    /// Runs auto-repay and auto-lend for the accounts the events from `first_event` on touched.
    /// `taker_repays` is the account whose order asked to repay from its proceeds.
    pub(crate) fn settle_touched_accounts(&mut self, first_event: usize, taker_repays: Option<AccountIndex>) {
        if taker_repays.is_none() && !self.any_auto_account(first_event) {
            // The common case, checked without allocating: nobody to settle.
            return;
        }
        let touched = self.touched_since(first_event);
        for &(index, received) in &touched {
            let Some(asset) = received else { continue };
            let settings = self.ledger.account(index).settings;
            if !(settings.auto_repay_borrows || taker_repays == Some(index)) {
                continue;
            }
            if let PoolPosition::Borrow(_) = self.ledger.account(index).positions[asset] {
                let available = self.ledger.account(index).balances[asset].available;
                if available.is_positive() {
                    let _ = self.pool_action(
                        index,
                        asset,
                        BorrowLendAction::Repay,
                        available,
                        BorrowLendSource::AutoBorrowRepay,
                    );
                }
            }
        }
        let mut lenders: Vec<AccountIndex> = touched
            .iter()
            .map(|(index, _)| *index)
            .filter(|index| self.ledger.account(*index).settings.auto_lend)
            .collect();
        lenders.sort_unstable();
        lenders.dedup();
        for index in lenders {
            self.lend_idle(index);
        }
    }

    /// Lends every available unit of each lendable asset the account does not borrow.
    pub(crate) fn lend_idle(&mut self, index: AccountIndex) {
        for asset in 0..self.assets.len() {
            let account = self.ledger.account(index);
            let available = account.balances[asset].available;
            if available.is_positive()
                && self.risk.lending_spec(asset).is_some()
                && !matches!(account.positions[asset], PoolPosition::Borrow(_))
                && !self.backs_a_hedge_through_a_throttle(index, asset)
            {
                let _ = self.pool_action(index, asset, BorrowLendAction::Lend, available, BorrowLendSource::AutoLend);
            }
        }
    }

    /// Whether lending `asset` now would take it out of a hedged pair: the account is short a
    /// perpetual on it that credits pairs, and the asset's pool is over its throttle (where a
    /// lend no longer backs the pair). Auto-lend leaves such units where they are.
    fn backs_a_hedge_through_a_throttle(&self, index: AccountIndex, asset: usize) -> bool {
        let throttled = self
            .risk
            .lending_spec(asset)
            .is_some_and(|spec| self.risk.pools[asset].utilization() > spec.throttle_utilization);
        throttled
            && self.ledger.account(index).perps.iter().any(|holding| {
                let market = &self.markets[usize::from(holding.market.0)];
                holding.position.size < 0
                    && usize::from(market.spec.base.0) == asset
                    && market.perp.as_ref().is_some_and(|p| p.spec.basis.is_some())
            })
    }

    /// Whether an account the events from `first_event` on name auto-lends or auto-repays.
    fn any_auto_account(&self, first_event: usize) -> bool {
        let auto = |id| {
            self.ledger.find(id).is_some_and(|index| {
                let settings = self.ledger.account(index).settings;
                settings.auto_lend || settings.auto_repay_borrows
            })
        };
        self.events[first_event..].iter().any(|event| match *event {
            Event::Deposited { account, .. }
            | Event::OrderClosed { account, .. }
            | Event::AccountSettingsChanged { account, .. }
            | Event::PnlRealized { account, .. } => auto(account),
            Event::Trade(trade) => auto(trade.taker_account) || auto(trade.maker_account),
            _ => false,
        })
    }

    /// Accounts named by the events from `first_event` on, each with the asset it received.
    fn touched_since(&self, first_event: usize) -> Vec<Touched> {
        let mut touched = Vec::new();
        let find = |id| self.ledger.find(id);
        for event in &self.events[first_event..] {
            match *event {
                Event::Deposited { account, asset, .. } => {
                    touched.extend(find(account).map(|i| (i, Some(usize::from(asset.0)))));
                }
                Event::Trade(trade) if self.markets[usize::from(trade.market.0)].perp.is_some() => {
                    touched.extend(find(trade.taker_account).map(|i| (i, None)));
                    touched.extend(find(trade.maker_account).map(|i| (i, None)));
                }
                Event::PnlRealized { account, market, realized, .. } => {
                    let quote = usize::from(self.markets[usize::from(market.0)].spec.quote.0);
                    touched.extend(find(account).map(|i| (i, realized.is_positive().then_some(quote))));
                }
                Event::Trade(trade) => {
                    let market = &self.markets[usize::from(trade.market.0)].spec;
                    let (base, quote) = (usize::from(market.base.0), usize::from(market.quote.0));
                    let (taker_gets, maker_gets) = match trade.taker_side {
                        Side::Bid => (base, quote),
                        Side::Ask => (quote, base),
                    };
                    touched.extend(find(trade.taker_account).map(|i| (i, Some(taker_gets))));
                    touched.extend(find(trade.maker_account).map(|i| (i, Some(maker_gets))));
                }
                Event::OrderClosed { account, .. } | Event::AccountSettingsChanged { account, .. } => {
                    touched.extend(find(account).map(|i| (i, None)));
                }
                _ => {}
            }
        }
        touched.sort_unstable();
        touched.dedup();
        touched
    }

    /// Funds an order that needs more than the available balance, as its flags and the
    /// account's settings allow. Returns the steps (to undo them if the order is refused) and,
    /// if any were taken, the account's margin-rule health before them. An order that cannot
    /// fund itself this way costs nothing here.
    pub(crate) fn fund_order(
        &mut self,
        account: AccountIndex,
        market_index: usize,
        new: &NewOrder,
    ) -> Result<(Vec<PoolUndo>, Option<AccountHealth>), Reject> {
        let may_fund =
            new.margin.auto_borrow || new.margin.auto_lend_redeem || self.ledger.account(account).settings.auto_lend;
        if !may_fund {
            return Ok((Vec::new(), None));
        }
        let spend_asset = self.side_asset(market_index, new.side);
        let need = self.order_need(market_index, new)?;
        if self.ledger.balance(account, spend_asset).available >= need {
            return Ok((Vec::new(), None));
        }
        let before = self.margin_before(account, new.margin.auto_borrow);
        let steps = self.fund(account, usize::from(spend_asset.0), need, new.margin, BorrowLendSource::SpotMargin)?;
        Ok((steps, Some(before)))
    }

    /// What an order must be able to spend: its reservation for a limit order, its quantity or
    /// quote budget (with the fee) for a market order. Zero where that is unknown in advance (a
    /// market sell by quote budget).
    fn order_need(&self, market_index: usize, new: &NewOrder) -> Result<Amount, Reject> {
        let market = &self.markets[market_index];
        Ok(match (new.spec, new.side) {
            (OrderSpec::Limit { price, quantity, .. }, side) => {
                self.reservation(market_index, side, price, quantity)?
            }
            (OrderSpec::Market { size: MarketSize::Base(lots), .. }, Side::Ask) => market.scale.base_amount(lots)?,
            (OrderSpec::Market { size: MarketSize::Quote(budget), .. }, Side::Bid) => {
                let fee = rucksack_types::money::mul_div(
                    i128::from(budget.0),
                    i128::from(market.spec.taker_fee_bps),
                    rucksack_types::spec::BPS_DENOMINATOR,
                    Rounding::Up,
                )?;
                budget.checked_add(Amount::from_i128(fee)?)?
            }
            (OrderSpec::Market { size: MarketSize::Base(lots), .. }, Side::Bid) => {
                self.cost_to_take(market_index, lots)?
            }
            (OrderSpec::Market { size: MarketSize::Quote(_), .. }, Side::Ask) => Amount::ZERO,
        })
    }

    /// What buying `lots` from the asks now would cost with taker fees (or what the whole ask
    /// side costs, if it holds less).
    fn cost_to_take(&self, market_index: usize, lots: Lots) -> Result<Amount, Reject> {
        let market = &self.markets[market_index];
        let (mut left, mut cost) = (lots, Amount::ZERO);
        for (price, level) in market.book.ladder(Side::Ask).iter_best_first() {
            if !left.is_positive() {
                break;
            }
            let take = left.min(market.book.level(level).total);
            cost = cost.checked_add(buy_cost(market, price, take)?)?;
            left = left.checked_sub(take)?;
        }
        Ok(cost)
    }
}
