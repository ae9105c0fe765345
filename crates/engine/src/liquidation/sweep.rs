//! The liquidation sweep: one step of the waterfall for every account that needs one.
//!
//! An account enters liquidation when its margin fraction falls to its maintenance fraction.
//! Its first step unwinds it: every open order is cancelled and every borrow repaid from the
//! account's balance of the same asset. Each later sweep reduces its largest position through
//! the book by a share of it, with an IOC order no further from the mark than the account's
//! margin allows, so a step never lowers the margin fraction. Liquidation ends once the margin
//! fraction reaches the maintenance fraction plus the buffer. When the margin fraction is at
//! or below the auto-close fraction, or the book cannot take a step, the account's positions
//! are closed out (see `close_out`).

use rucksack_types::{
    Amount, CancelScope, Event, Fraction, InsuranceChange, InsuranceReason, LiquidationStage, LiquidationStep,
    MarketId, NewOrder, Reject, Rounding, Side, SystemOrderType, Ticks, UsdValue,
};

use crate::book::arena::AccountIndex;
use crate::engine::Engine;
use crate::margin::AccountHealth;

/// A basis point as a fraction.
pub(super) const BASIS_POINT: i64 = Fraction::ONE.0 / 10_000;

/// Margin kept back from a step's price allowance, so that rounding in the valuation never
/// makes a step lower the margin fraction: one basis point.
pub(super) const ROUNDING_ALLOWANCE: Fraction = Fraction(BASIS_POINT);

impl Engine {
    /// The `Liquidate` command. Accounts are stepped in account order; an account's step sees
    /// the books as earlier steps left them.
    pub(crate) fn liquidate(&mut self) -> Result<(), Reject> {
        self.liquidation.adl_queues.clear();
        for index in self.sweep_candidates() {
            let first_event = self.events.len();
            self.liquidation_step(index);
            // Transfers change positions outside the book: reduce-only orders follow them.
            self.fit_reduce_only_orders(first_event);
            if !self.liquidation.liquidating.contains(&index) {
                let health = self.health_of(index);
                self.refile(index, &health);
            }
        }
        Ok(())
    }

    /// At or below maintenance with exposure, or owing more than it holds.
    pub(super) fn needs_liquidation(&self, index: AccountIndex) -> bool {
        let exposed = self.exposed(index);
        let owes = exposed || self.ledger.account(index).perps.iter().any(|h| h.position.open_value > 0);
        owes && {
            let health = self.health_of(index);
            (exposed && health.below_maintenance()) || health.net_equity().0 < 0
        }
    }

    fn liquidation_step(&mut self, index: AccountIndex) {
        // Earlier steps of the sweep may have changed the account's health since it was listed.
        if !self.liquidation.liquidating.contains(&index) && !self.needs_liquidation(index) {
            return;
        }
        if self.liquidation.liquidating.insert(index) {
            let before = self.health_of(index);
            self.unwind(index);
            if self.record_step(index, LiquidationStage::Unwind, &before) {
                return;
            }
        }
        let health = self.health_of(index);
        let has_position = self.largest_position(index).is_some();
        let auto_close = health.margin_fraction().is_none_or(|f| f <= self.liquidation.spec.auto_close_fraction);
        if has_position && auto_close {
            self.close_out(index, &health, true);
        } else if !self.step_on_book(index, &health) && has_position {
            self.close_out(index, &health, false);
        } else if !has_position && self.health_of(index).net_equity().0 < 0 {
            // Nothing left to close, and what the books could take did not cover it: what it
            // owes beyond what it holds is a deficit now.
            let health = self.health_of(index);
            self.settle_deficit(index, &health);
        }
    }

    /// Records a finished step, and ends the account's liquidation if its buffer is restored.
    /// Returns whether it ended.
    pub(super) fn record_step(&mut self, index: AccountIndex, stage: LiquidationStage, before: &AccountHealth) -> bool {
        let after = self.health_of(index);
        let finished = after.net_equity().0 >= 0 && (!self.exposed(index) || self.buffer_restored(&after));
        if finished {
            self.liquidation.liquidating.remove(&index);
        }
        self.events.push(Event::Liquidation(LiquidationStep {
            account: self.ledger.account(index).id,
            stage,
            margin_fraction_before: before.margin_fraction().unwrap_or(Fraction::ZERO),
            maintenance_fraction_before: before.mmf(),
            margin_fraction_after: after.margin_fraction(),
            net_equity_before: before.net_equity(),
            net_equity_after: after.net_equity(),
            finished,
        }));
        finished
    }

    /// No exposure left, but owing more than it holds: what the positions owe is absorbed, and a
    /// debt nothing is left to repay is written off.
    fn settle_deficit(&mut self, index: AccountIndex, before: &AccountHealth) {
        self.absorb_deficit(index, &[]);
        if self.health_of(index).net_equity().0 < 0 {
            self.settle_bankruptcy(index, &[]);
        }
        self.record_step(index, LiquidationStage::Deficit, before);
    }

    /// Margin fraction at least the maintenance fraction plus the buffer.
    fn buffer_restored(&self, health: &AccountHealth) -> bool {
        match (health.margin_fraction(), health.mmf()) {
            (Some(fraction), Some(mmf)) => fraction.0 >= mmf.0.saturating_add(self.liquidation.spec.buffer.0),
            _ => true,
        }
    }

    /// Cancels every open order of the account, redeems its lends (as far as each pool's
    /// throttle allows) so the books can take them, and repays its borrows from its balances of
    /// the same assets. None of it changes the account's equity: a lend counts as collateral
    /// like the balance it becomes.
    fn unwind(&mut self, index: AccountIndex) {
        let account = self.ledger.account(index).id;
        for market in 0..self.markets.len() {
            let _ = self.cancel_all(account, MarketId(market as u16), CancelScope::All);
        }
        for asset in 0..self.assets.len() {
            self.redeem_lend(index, asset);
            self.repay_from_balance(index, asset);
        }
    }

    /// One step through the books against the account's largest exposure, a perpetual position
    /// or a borrow, then the other if that one could not take a step. Returns whether one was
    /// taken.
    fn step_on_book(&mut self, index: AccountIndex, before: &AccountHealth) -> bool {
        let position = self.largest_position(index).and_then(|(market, size)| {
            let mark = self.perp(market)?.mark?;
            let notional = i128::from(size).abs().saturating_mul(mark.0);
            Some(self.perp(market)?.quote_units(notional))
        });
        let borrow = self.largest_borrow(index).map(|(_, value)| self.quote_units_worth(value));
        let position_first = match (position, borrow) {
            (Some(position), Some(borrow)) => i128::from(position.0) >= borrow,
            (position, _) => position.is_some(),
        };
        type Step = fn(&mut Engine, AccountIndex, &AccountHealth) -> bool;
        let (first, second): (Step, Step) = if position_first {
            (Engine::step_position, Engine::step_spot)
        } else {
            (Engine::step_spot, Engine::step_position)
        };
        first(self, index, before) || second(self, index, before)
    }

    /// Reduces the account's largest position through the book by one step. Returns whether
    /// anything filled.
    fn step_position(&mut self, index: AccountIndex, before: &AccountHealth) -> bool {
        let Some(margin_fraction) = before.margin_fraction() else { return false };
        let Some((market_index, size)) = self.largest_position(index) else { return false };
        let Some(perp) = self.perp(market_index) else { return false };
        let Some(mark) = perp.mark else { return false };
        let quantity = self.step_lots(market_index, size.unsigned_abs() as i64);
        // The account closed by `quantity` at the mark: what the step may cost beyond that
        // (hedged-pair credit lost included) without lowering the margin fraction. The
        // liquidation fee takes only part of the room the fill leaves.
        let delta = -size.signum() * quantity;
        let market = MarketId(market_index as u16);
        let at_mark = self.health_with(index, |_, _, perps| {
            if let Some(holding) = perps.iter_mut().find(|h| h.market == market) {
                holding.position.size += delta;
                holding.position.open_value += i128::from(delta) * mark.0;
            }
        });
        let notional = perp.quote_units(i128::from(quantity) * mark.0);
        let notional = self.quote_value(notional);
        let market = &self.markets[market_index];
        let allowance = self.step_allowance(before, &at_mark, notional, market.spec.taker_fee_bps).0;
        if allowance <= 0 {
            return false;
        }
        let (side, rounding, factor) = match size > 0 {
            true => (Side::Ask, Rounding::Up, Fraction::ONE.0 - allowance),
            false => (Side::Bid, Rounding::Down, Fraction::ONE.0 + allowance),
        };
        let limit = Fraction(factor)
            .of(mark.0, rounding)
            .ok()
            .and_then(|fine| rucksack_types::money::div_round(fine, rucksack_types::perp::FINE_PER_TICK, rounding).ok())
            .map(|ticks| ticks.clamp(i128::from(market.spec.min_price.0), i128::from(market.spec.max_price.0)));
        let Some(limit) = limit else { return false };
        let order = self.system_limit(index, market, side, Ticks(limit as i64), quantity);
        let first_event = self.events.len();
        if self.place_system_order(&order, SystemOrderType::LiquidatePositionOnBook).is_err() {
            return false;
        }
        let notional: i64 = self.events[first_event..]
            .iter()
            .filter_map(|event| match event {
                Event::Trade(trade) if trade.taker_account == order.account => Some(trade.notional().0),
                _ => None,
            })
            .sum();
        if notional == 0 {
            return false;
        }
        self.charge_liquidation_fee(index, Amount(notional), margin_fraction);
        self.record_step(index, LiquidationStage::OnBook, before);
        true
    }

    /// The account's perpetual position with the largest notional at its mark (the first
    /// market's of equals): market index and size.
    pub(super) fn largest_position(&self, index: AccountIndex) -> Option<(usize, i64)> {
        let mut largest: Option<(i128, usize, i64)> = None;
        for holding in &self.ledger.account(index).perps {
            let market_index = usize::from(holding.market.0);
            let Some(mark) = self.perp(market_index).and_then(|p| p.mark) else { continue };
            let size = holding.position.size;
            let notional = i128::from(size).saturating_abs().saturating_mul(mark.0);
            if size != 0 && largest.is_none_or(|(best, _, _)| notional > best) {
                largest = Some((notional, market_index, size));
            }
        }
        largest.map(|(_, market_index, size)| (market_index, size))
    }

    /// One step's lots of a position of `lots`: the configured share rounded up, at least the
    /// market's minimum quantity, and all of it when less than a minimum would be left.
    fn step_lots(&self, market_index: usize, lots: i64) -> i64 {
        let spec = &self.markets[market_index].spec;
        let share = self.liquidation.spec.step_fraction.of(i128::from(lots), Rounding::Up).unwrap_or(i128::from(lots));
        let step = (share as i64).max(spec.min_quantity.0).min(lots);
        if lots - step < spec.min_quantity.0 { lots } else { step.min(spec.max_quantity.0) }
    }

    /// Places an order on the account's behalf: no margin rule applies, and its fills are
    /// marked as the exchange's.
    pub(super) fn place_system_order(&mut self, order: &NewOrder, kind: SystemOrderType) -> Result<(), Reject> {
        self.system_order = Some(kind);
        let result = self.place_order(order);
        self.system_order = None;
        result
    }

    /// The liquidation fee on `notional` quote units liquidated, from the account's available
    /// quote balance to the insurance fund: at most half the room the fill left above
    /// `margin_fraction` (what it was before the step), so the step still raises it.
    pub(super) fn charge_liquidation_fee(&mut self, index: AccountIndex, notional: Amount, margin_fraction: Fraction) {
        let Some(quote) = self.settlement_asset() else { return };
        let quote_index = usize::from(quote.0);
        let nominal = self.liquidation.spec.fee.of(i128::from(notional.0), Rounding::Up).unwrap_or(0);
        let after = self.health_of(index);
        let kept = margin_fraction.of(after.exposure.0, Rounding::Up).unwrap_or(i128::MAX);
        // One micro-dollar held back against the rounding of the collateral valuation.
        let room = UsdValue((after.net_equity().0 - kept - 1) / 2);
        let room_units = if room.0 <= 0 { 0 } else { self.quote_units_worth(room) };
        let available = i128::from(self.ledger.account(index).balances[quote_index].available.0);
        let fee = nominal.min(room_units).min(available).max(0) as i64;
        if fee == 0 {
            return;
        }
        self.ledger.account_mut(index).balances[quote_index].available.0 -= fee;
        self.credit_insurance(index, quote, Amount(fee), InsuranceReason::LiquidationFee);
    }

    /// What `units` of the quote are worth at its index (a dollar without one), rounded up.
    pub(super) fn quote_value(&self, units: Amount) -> UsdValue {
        let Some(quote) = self.settlement_asset() else { return UsdValue::ZERO };
        let quote = usize::from(quote.0);
        let price = self.risk.prices[quote].map_or(rucksack_types::IndexPrice(1_000_000_000_000), |p| p.price);
        price.value(units, self.assets[quote].decimals, Rounding::Up)
    }

    /// Whole quote units worth at most `value` at the quote's index (a dollar without one).
    pub(super) fn quote_units_worth(&self, value: UsdValue) -> i128 {
        let Some(quote) = self.settlement_asset() else { return 0 };
        let quote = usize::from(quote.0);
        let price = self.risk.prices[quote].map_or(rucksack_types::IndexPrice(1_000_000_000_000), |p| p.price);
        price.quantity_for(value, self.assets[quote].decimals, Rounding::Down).map_or(0, |a| i128::from(a.0))
    }

    /// Moves `change` (negative: out) into the insurance fund, for `index`'s liquidation.
    pub(super) fn credit_insurance(
        &mut self,
        index: AccountIndex,
        asset: rucksack_types::AssetId,
        change: Amount,
        reason: InsuranceReason,
    ) {
        let balance = &mut self.ledger.insurance[usize::from(asset.0)];
        balance.0 += change.0;
        let balance = *balance;
        self.events.push(Event::InsuranceFundChanged(InsuranceChange {
            asset,
            account: self.ledger.account(index).id,
            reason,
            change,
            balance,
        }));
    }
}
