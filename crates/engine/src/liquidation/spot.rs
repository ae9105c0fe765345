//! Borrows in liquidation: collateral converted on the spot markets to repay them, and a debt
//! left when nothing is left to convert.
//!
//! A step works on the account's largest borrow. If the account holds the quote of a spot
//! market on the borrowed asset, it buys the asset there; otherwise it sells its largest other
//! collateral for the quote the borrowed asset trades in (or for the borrowed asset itself when
//! that is the quote). The order is an IOC limit no further from the index than the account's
//! margin fraction allows, and what the account then holds of the borrowed asset repays it.
//!
//! A bankrupt account with no position left hands what it still holds to the insurance fund,
//! which repays its borrows as far as it holds those assets. What is still owed is written off
//! against the pool's lenders, pro rata, and the fund pays them its dollar notional in the
//! settlement asset, as far as it holds: they are made whole in notional, not in the token.

use rucksack_types::{
    Amount, AssetId, BadDebt, BorrowLendAction, BorrowLendSource, Event, FinePrice, Fraction, InsuranceReason, Lots,
    NewOrder, OrderSpec, Rounding, SelfTradePrevention, Side, SystemOrderType, Ticks, TimeInForce, UsdValue,
};

use crate::book::arena::AccountIndex;
use crate::engine::Engine;
use crate::lending::PoolPosition;
use crate::margin::AccountHealth;

impl Engine {
    /// The account's largest borrow by value: its asset and that value.
    pub(super) fn largest_borrow(&self, index: AccountIndex) -> Option<(usize, UsdValue)> {
        let inputs = self.risk_inputs();
        let account = self.ledger.account(index);
        (0..self.assets.len())
            .filter(|&asset| matches!(account.positions[asset], PoolPosition::Borrow(_)))
            .map(|asset| {
                let holding = inputs.holding(asset, account.balances[asset], account.positions[asset]);
                let price = self.risk.prices[asset].map(|p| p.price).unwrap_or_default();
                (asset, price.value(holding.borrowed, self.assets[asset].decimals, Rounding::Up))
            })
            .max_by_key(|&(asset, value)| (value, std::cmp::Reverse(asset)))
    }

    /// One conversion step against the largest borrow, then a repay. Returns whether anything
    /// filled or was repaid.
    pub(super) fn step_spot(&mut self, index: AccountIndex, before: &AccountHealth) -> bool {
        let Some(margin_fraction) = before.margin_fraction() else { return false };
        let Some((asset, debt_value)) = self.largest_borrow(index) else { return false };
        let order = self.conversion_order(index, asset, debt_value, before);
        let mut notional = 0;
        if let Some(order) = order {
            let first_event = self.events.len();
            if self.place_system_order(&order, SystemOrderType::CollateralConversion).is_ok() {
                notional = self.events[first_event..]
                    .iter()
                    .filter_map(|event| match event {
                        Event::Trade(trade) if trade.taker_account == order.account => Some(trade.notional().0),
                        _ => None,
                    })
                    .sum();
            }
        }
        let repaid = self.repay_from_balance(index, asset);
        if notional == 0 && !repaid {
            return false;
        }
        if notional > 0 {
            self.charge_liquidation_fee(index, Amount(notional), margin_fraction);
        }
        self.record_step(index, rucksack_types::LiquidationStage::OnBook, before);
        true
    }

    /// Redeems as much of the account's lend of `asset` as the pool's throttle allows, and
    /// deleverages the rest against the asset's borrowers.
    pub(super) fn redeem_lend(&mut self, index: AccountIndex, asset: usize) {
        if let PoolPosition::Lend(shares) = self.ledger.account(index).positions[asset] {
            let redeemable = self.risk.redeemable(asset, shares);
            if redeemable.is_positive() {
                let _ =
                    self.pool_action(index, asset, BorrowLendAction::Redeem, redeemable, BorrowLendSource::Liquidation);
            }
        }
        if matches!(self.ledger.account(index).positions[asset], PoolPosition::Lend(_)) {
            self.deleverage_lend(index, asset);
        }
    }

    /// Lending-side deleveraging: what the pool's throttle keeps the account from redeeming of
    /// its lend of `asset` is closed against the asset's borrowers, largest debt first. Each
    /// borrower's debt falls by the units its lend falls by (the pool's cash does not move), and
    /// the borrower pays the account their dollar notional at the index in the settlement asset,
    /// from its available balance: the lender is made whole in notional, not in the token.
    pub(super) fn deleverage_lend(&mut self, index: AccountIndex, asset: usize) {
        let Some(quote) = self.settlement_asset().map(|a| usize::from(a.0)) else { return };
        let Some(price) = self.risk.prices[asset].map(|p| p.price) else { return };
        if quote == asset {
            return;
        }
        let mut borrowers: Vec<(Amount, AccountIndex)> = (0..self.ledger.accounts.len() as AccountIndex)
            .filter(|&b| b != index && matches!(self.ledger.account(b).positions[asset], PoolPosition::Borrow(_)))
            .map(|b| (self.holding(b, asset).borrowed, b))
            .collect();
        borrowers.sort_by_key(|&(debt, b)| (std::cmp::Reverse(debt), b));
        let decimals = self.assets[asset].decimals;
        for (_, borrower) in borrowers {
            let (PoolPosition::Lend(lend), PoolPosition::Borrow(debt)) =
                (self.ledger.account(index).positions[asset], self.ledger.account(borrower).positions[asset])
            else {
                break;
            };
            let mut pool = self.risk.pools[asset];
            // The units: the lend's and the debt's worth, and what the borrower can pay for.
            let paying = self.ledger.account(borrower).balances[quote].available;
            let payable = self.risk.prices[quote]
                .map_or(rucksack_types::IndexPrice(1_000_000_000_000), |p| p.price)
                .value(paying, self.assets[quote].decimals, Rounding::Down);
            let affordable = price.quantity_for(payable, decimals, Rounding::Down).unwrap_or_default();
            let units = pool.lend_value(lend).min(pool.debt_value(debt)).min(affordable);
            if !units.is_positive() {
                continue;
            }
            // The borrower repays with the units the lend gives up: the pool's cash moves by the
            // repay's rounding at most, which goes to the dust account as on any repay.
            let Ok(repaid) = pool.repay(debt, units) else { continue };
            let Ok(redeemed) = pool.redeem(lend, repaid.amount) else { continue };
            if pool.cash() < 0 || redeemed.amount != repaid.amount {
                continue;
            }
            let value = price.value(repaid.amount, decimals, Rounding::Down);
            let paid = Amount((self.quote_units_worth(value) as i64).min(paying.0));
            self.risk.pools[asset] = pool;
            self.risk.touch(asset);
            self.ledger.dust[asset].0 += repaid.dust.0;
            let remaining = |shares: i128, kind: fn(i128) -> PoolPosition| {
                if shares > 0 { kind(shares) } else { PoolPosition::None }
            };
            self.ledger.account_mut(index).positions[asset] = remaining(lend - redeemed.shares, PoolPosition::Lend);
            self.ledger.account_mut(borrower).positions[asset] = remaining(debt - repaid.shares, PoolPosition::Borrow);
            self.ledger.account_mut(borrower).balances[quote].available.0 -= paid.0;
            self.ledger.account_mut(index).balances[quote].available.0 += paid.0;
            for (account, action, source) in [
                (index, BorrowLendAction::Redeem, BorrowLendSource::Liquidation),
                (borrower, BorrowLendAction::Repay, BorrowLendSource::AdlProvider),
            ] {
                self.push_pool_event(account, asset, action, repaid.amount, source);
            }
        }
    }

    /// Reports an account's pool position after a movement the liquidation made directly.
    fn push_pool_event(
        &mut self,
        index: AccountIndex,
        asset: usize,
        action: BorrowLendAction,
        amount: Amount,
        source: BorrowLendSource,
    ) {
        let pool = self.risk.pools[asset];
        let (shares, position) = match self.ledger.account(index).positions[asset] {
            PoolPosition::None => (0, 0),
            PoolPosition::Lend(shares) => (shares, i128::from(pool.lend_value(shares).0)),
            PoolPosition::Borrow(shares) => (-shares, -i128::from(pool.debt_value(shares).0)),
        };
        self.events.push(Event::BorrowLendExecuted {
            account: self.ledger.account(index).id,
            asset: AssetId(asset as u16),
            action,
            amount,
            entry_fee: Amount::ZERO,
            source,
            shares,
            position,
        });
    }

    /// Repays the account's borrow of `asset` from its available balance of it.
    pub(super) fn repay_from_balance(&mut self, index: AccountIndex, asset: usize) -> bool {
        let account = self.ledger.account(index);
        let available = account.balances[asset].available;
        if !matches!(account.positions[asset], PoolPosition::Borrow(_)) || !available.is_positive() {
            return false;
        }
        self.pool_action(index, asset, BorrowLendAction::Repay, available, BorrowLendSource::Liquidation).is_ok()
    }

    /// The IOC order that converts toward `asset`: a buy of it with the account's quote, or a
    /// sale of its largest other collateral. `None` if there is nothing to convert, or no
    /// conversion that would not lower the margin fraction.
    fn conversion_order(
        &self,
        index: AccountIndex,
        asset: usize,
        debt_value: UsdValue,
        before: &AccountHealth,
    ) -> Option<NewOrder> {
        let account = self.ledger.account(index);
        let spot = |m: &&crate::engine::Market| m.perp.is_none();
        let buy = self.markets.iter().filter(spot).find(|m| {
            usize::from(m.spec.base.0) == asset && account.balances[usize::from(m.spec.quote.0)].available.is_positive()
        });
        let (market, side, lots) = match buy {
            Some(market) => {
                let debt = self.holding(index, asset).borrowed.0;
                let per_lot = market.scale.base_units_per_lot;
                (market, Side::Bid, (debt + per_lot - 1) / per_lot)
            }
            None => {
                let (market, lots) = self.collateral_to_sell(index, asset, debt_value)?;
                (market, Side::Ask, lots)
            }
        };
        let (base, quote) = (usize::from(market.spec.base.0), usize::from(market.spec.quote.0));
        let units = lots.checked_mul(market.scale.base_units_per_lot)?;
        let price = self.risk.prices[base]?.price;
        let value = price.value(Amount(units), self.assets[base].decimals, Rounding::Up);
        let quote_units =
            self.risk.prices[quote]?.price.quantity_for(value, self.assets[quote].decimals, Rounding::Up).ok()?;
        // The account after the conversion at the index and the repay that follows it.
        let (bought, spent, got) = match side {
            Side::Bid => (base, quote, units),
            Side::Ask => (quote, base, quote_units.0),
        };
        let (given, pool) = (if side == Side::Bid { quote_units.0 } else { units }, self.risk.pools[asset]);
        let at_index = self.health_with(index, |balances, positions, _| {
            balances[spent].available.0 -= given;
            balances[bought].available.0 += got;
            if bought == asset
                && let PoolPosition::Borrow(shares) = positions[asset]
            {
                let repaid = rucksack_types::money::mul_div(
                    i128::from(got),
                    pool.borrow_shares,
                    i128::from(pool.borrowed.0).max(1),
                    Rounding::Down,
                )
                .unwrap_or(0)
                .min(shares);
                let units_repaid = pool.debt_value(repaid).0.min(balances[asset].available.0);
                balances[asset].available.0 -= units_repaid;
                positions[asset] =
                    if repaid == shares { PoolPosition::None } else { PoolPosition::Borrow(shares - repaid) };
            }
        });
        let allowance = self.step_allowance(before, &at_index, value, market.spec.taker_fee_bps);
        if allowance.0 <= 0 {
            return None;
        }
        let limit = match side {
            Side::Bid => self.index_ticks(market, base, Fraction::ONE.0 + allowance.0, Rounding::Down)?,
            Side::Ask => self.index_ticks(market, base, Fraction::ONE.0 - allowance.0, Rounding::Up)?,
        };
        let lots = match side {
            Side::Bid => {
                let per_lot = crate::engine::bid_reservation_per_lot(market, limit).ok()?.0.max(1);
                lots.min(account.balances[quote].available.0 / per_lot)
            }
            Side::Ask => lots,
        }
        .min(market.spec.max_quantity.0);
        (lots >= market.spec.min_quantity.0).then(|| self.system_limit(index, market, side, limit, lots))
    }

    /// The account's largest available collateral on a spot market whose quote is `asset` or the
    /// quote `asset` trades in, and the lots of it worth the debt (all of it if less).
    fn collateral_to_sell(
        &self,
        index: AccountIndex,
        asset: usize,
        debt_value: UsdValue,
    ) -> Option<(&crate::engine::Market, i64)> {
        let account = self.ledger.account(index);
        let spot = |m: &&crate::engine::Market| m.perp.is_none();
        let trades_in: Vec<usize> = self
            .markets
            .iter()
            .filter(spot)
            .filter(|m| usize::from(m.spec.base.0) == asset)
            .map(|m| usize::from(m.spec.quote.0))
            .collect();
        let inputs = self.risk_inputs();
        let (market, held, value) = self
            .markets
            .iter()
            .filter(spot)
            .filter(|m| {
                let (base, quote) = (usize::from(m.spec.base.0), usize::from(m.spec.quote.0));
                base != asset
                    && (quote == asset || trades_in.contains(&quote))
                    && account.balances[base].available.is_positive()
                    && !matches!(account.positions[base], PoolPosition::Borrow(_))
            })
            .map(|m| {
                let base = usize::from(m.spec.base.0);
                let held = account.balances[base].available;
                let price = inputs.valuation(base).price.unwrap_or_default();
                (m, held, price.value(held, self.assets[base].decimals, Rounding::Down))
            })
            .max_by_key(|&(m, _, value)| (value, std::cmp::Reverse(m.spec.id)))?;
        let held_lots = held.0 / market.scale.base_units_per_lot;
        if value.0 <= 0 {
            return None;
        }
        // The debt's share of the holding, with the price impact allowed twice over (this sale
        // and a buy that may follow).
        let impact = 2 * i128::from(self.liquidation.spec.price_impact.0);
        let wanted = rucksack_types::money::mul_div(
            i128::from(held_lots),
            debt_value.0 * (i128::from(Fraction::ONE.0) + impact),
            value.0 * i128::from(Fraction::ONE.0),
            Rounding::Up,
        )
        .ok()?;
        Some((market, wanted.min(i128::from(held_lots)) as i64))
    }

    /// `asset`'s index price on `market`'s ticks, times `factor` (a fraction), rounded.
    fn index_ticks(
        &self,
        market: &crate::engine::Market,
        asset: usize,
        factor: i64,
        rounding: Rounding,
    ) -> Option<Ticks> {
        let index = self.risk.prices[asset]?.price;
        let fine = FinePrice::from_index(index, market.spec.tick_size)?;
        let scaled = Fraction(factor).of(fine.0, rounding).ok()?;
        let ticks = rucksack_types::money::div_round(scaled, rucksack_types::perp::FINE_PER_TICK, rounding).ok()?;
        let ticks = ticks.clamp(i128::from(market.spec.min_price.0), i128::from(market.spec.max_price.0));
        Some(Ticks(ticks as i64))
    }

    /// An IOC limit order the exchange places for the account.
    pub(super) fn system_limit(
        &self,
        index: AccountIndex,
        market: &crate::engine::Market,
        side: Side,
        price: Ticks,
        lots: i64,
    ) -> NewOrder {
        NewOrder {
            account: self.ledger.account(index).id,
            market: market.spec.id,
            side,
            client_id: None,
            self_trade_prevention: SelfTradePrevention::RejectTaker,
            spec: OrderSpec::Limit { price, quantity: Lots(lots), time_in_force: TimeInForce::Ioc },
            margin: rucksack_types::MarginFlags::NONE,
            reduce_only: market.perp.is_some(),
            trigger: None,
        }
    }

    /// A bankrupt account with no position left: the insurance fund takes what it holds and
    /// repays its borrows as far as it holds those assets; the rest is written off against the
    /// lenders.
    pub(super) fn settle_bad_debt(&mut self, index: AccountIndex) {
        for asset in 0..self.assets.len() {
            self.redeem_lend(index, asset);
            let available = self.ledger.account(index).balances[asset].available;
            if available.is_positive() {
                self.ledger.account_mut(index).balances[asset].available.0 = 0;
                self.credit_insurance(index, AssetId(asset as u16), available, InsuranceReason::BankruptCollateral);
            }
        }
        for asset in 0..self.assets.len() {
            if !matches!(self.ledger.account(index).positions[asset], PoolPosition::Borrow(_)) {
                continue;
            }
            let debt = self.holding(index, asset).borrowed;
            let mut from_fund = debt.min(self.ledger.insurance[asset]);
            if from_fund.is_positive() {
                self.credit_insurance(
                    index,
                    AssetId(asset as u16),
                    Amount(-from_fund.0),
                    InsuranceReason::DeficitCovered,
                );
                self.ledger.account_mut(index).balances[asset].available.0 += from_fund.0;
                self.repay_from_balance(index, asset);
                // A repay rounds to whole shares: what it did not take goes back to the fund.
                let left = self.ledger.account(index).balances[asset].available;
                if left.is_positive() {
                    self.ledger.account_mut(index).balances[asset].available.0 = 0;
                    self.credit_insurance(index, AssetId(asset as u16), left, InsuranceReason::DeficitCovered);
                    from_fund.0 -= left.0;
                }
            }
            let mut from_lenders = Amount::ZERO;
            if let PoolPosition::Borrow(shares) = self.ledger.account(index).positions[asset] {
                from_lenders = self.risk.pools[asset].write_off(shares);
                self.ledger.account_mut(index).positions[asset] = PoolPosition::None;
                self.risk.touch(asset);
            }
            let lenders_compensated = self.compensate_lenders(asset, from_lenders);
            self.events.push(Event::BadDebt(BadDebt {
                account: self.ledger.account(index).id,
                asset: AssetId(asset as u16),
                from_fund,
                from_lenders,
                lenders_compensated,
            }));
        }
    }

    /// Lenders of `asset` who lost `written_off` of it to a bad debt are made whole in dollar
    /// notional at the index now: the insurance fund pays them its value in the settlement
    /// asset, pro rata to their shares, as far as it holds. Returns what it paid.
    fn compensate_lenders(&mut self, asset: usize, written_off: Amount) -> Amount {
        let Some(quote) = self.settlement_asset() else { return Amount::ZERO };
        let quote_index = usize::from(quote.0);
        let Some(price) = self.risk.prices[asset].map(|p| p.price) else { return Amount::ZERO };
        let value = price.value(written_off, self.assets[asset].decimals, Rounding::Down);
        let owed = self.quote_units_worth(value).min(i128::from(self.ledger.insurance[quote_index].0));
        let total_shares = self.risk.pools[asset].lend_shares;
        if owed <= 0 || total_shares <= 0 {
            return Amount::ZERO;
        }
        let lenders: Vec<(AccountIndex, i128)> = (0..self.ledger.accounts.len() as AccountIndex)
            .filter_map(|i| match self.ledger.account(i).positions[asset] {
                PoolPosition::Lend(shares) => Some((i, shares)),
                _ => None,
            })
            .collect();
        let mut paid = 0;
        for (lender, shares) in lenders {
            let part = rucksack_types::money::mul_div(owed, shares, total_shares, Rounding::Down).unwrap_or(0) as i64;
            if part > 0 {
                self.ledger.account_mut(lender).balances[quote_index].available.0 += part;
                self.credit_insurance(lender, quote, Amount(-part), InsuranceReason::LenderCompensation);
                paid += part;
            }
        }
        Amount(paid)
    }
}
