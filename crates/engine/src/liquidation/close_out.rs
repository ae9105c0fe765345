//! Past the book: an account's positions closed outside it, and a deficit absorbed.
//!
//! 1. **Backstop.** Each position moves at the mark to the registered backstop providers, pro
//!    rata to their declared capacity (quote notional per close-out), each only as far as it
//!    stays within initial margin. Of the equity the account has left, the configured share goes
//!    to the insurance fund and the rest to the providers: they take the positions at the
//!    bankruptcy-adjacent price.
//! 2. **Auto-deleveraging.** What no provider took is closed at the mark against the opposing
//!    positions, most profitable and most leveraged first (ranked by PnL fraction × leverage,
//!    once per sweep and market side, at its first deleveraging there).
//! 3. **Deficit.** If the account then owes more than it holds, the loss is collected from its
//!    balances and collateral, and what is left is absorbed in the same step: by the insurance
//!    fund as far as it holds; then by the accounts that took its positions by deleveraging, pro
//!    rata to the lots each took (so they took them at the bankruptcy price); then by any other
//!    position in profit in the market, in ADL order; each only down to zero equity. What is
//!    still left is written off against the market: possible only when no position is in profit,
//!    so it is owed to no one but the house's uncollected fees.
//!
//! Every transfer happens at the mark, so it changes neither side's equity: the money moves in
//! the explicit share and deficit steps, which are capped so no counterparty goes below zero.

use rucksack_types::{
    Amount, Bankruptcy, Event, Fraction, InsuranceReason, LiquidationStage, MarketId, PositionTransfer, Rounding,
    SystemOrderType, UsdValue,
};

use crate::book::arena::AccountIndex;
use crate::engine::Engine;
use crate::margin::AccountHealth;
use crate::perp::trading::apply_funding;

impl Engine {
    /// Closes every position of the account outside the book. With `deleverage` false only
    /// backstop providers may take them (the book was merely thin); what they do not take waits
    /// for the next sweep.
    pub(super) fn close_out(&mut self, index: AccountIndex, before: &AccountHealth, deleverage: bool) {
        let markets: Vec<usize> = self
            .ledger
            .account(index)
            .perps
            .iter()
            .filter(|h| h.position.size != 0)
            .map(|h| usize::from(h.market.0))
            .filter(|&m| self.perp(m).is_some_and(|p| p.mark.is_some()))
            .collect();
        let (mut backstopped, mut deleveraged, mut stage) = (Vec::new(), Vec::new(), None);
        for market_index in markets {
            let taken = self.transfer_to_backstops(index, market_index);
            if !taken.is_empty() {
                stage = Some(LiquidationStage::Backstop);
                backstopped.extend(taken.into_iter().map(|(provider, lots)| (market_index, provider, lots)));
            }
            if deleverage && self.size_of(index, market_index) != 0 {
                let taken = self.deleverage_position(index, market_index);
                deleveraged.extend(taken.into_iter().map(|(other, lots)| (market_index, other, lots)));
                stage = Some(LiquidationStage::Adl);
            }
        }
        let Some(stage) = stage else { return };
        if before.net_equity().0 > 0 && !backstopped.is_empty() {
            self.pay_backstop_share(index, before, &backstopped);
        }
        self.absorb_deficit(index, &deleveraged);
        if self.health_of(index).net_equity().0 < 0 && self.largest_position(index).is_none() {
            self.settle_bankruptcy(index, &deleveraged);
        }
        self.record_step(index, stage, before);
    }

    fn size_of(&self, index: AccountIndex, market_index: usize) -> i64 {
        self.perp_holding(index, market_index).map_or(0, |h| h.position.size)
    }

    /// Moves `lots` of `from`'s position (negative: `from` sells) to `to` at the mark.
    fn transfer_position(
        &mut self,
        kind: SystemOrderType,
        market_index: usize,
        from: AccountIndex,
        to: AccountIndex,
        lots: i64,
    ) {
        let Some(perp) = self.perp(market_index) else { return };
        let (Some(mark), cumulative) = (perp.mark, perp.cumulative_funding) else { return };
        for (index, signed) in [(from, lots), (to, -lots)] {
            let holding = self.perp_holding_mut(index, market_index);
            apply_funding(holding, cumulative);
            let before = holding.position.size;
            // A transfer only moves lots between positions already within the market's limits.
            let _ = holding.position.fill_at(signed, mark);
            let (after, position) = (holding.position.size, holding.position);
            if let Some(perp) = self.markets[market_index].perp.as_mut() {
                perp.open_interest += after.max(0) - before.max(0);
            }
            let account = self.ledger.account(index).id;
            let market = MarketId(market_index as u16);
            self.events.push(Event::PositionChanged { account, market, fee: Amount::ZERO, position });
        }
        let book = &mut self.markets[market_index].book;
        let trade = rucksack_types::TradeId(book.next_trade_id);
        book.next_trade_id += 1;
        self.events.push(Event::PositionTransferred(PositionTransfer {
            trade,
            kind,
            market: MarketId(market_index as u16),
            from: self.ledger.account(from).id,
            to: self.ledger.account(to).id,
            lots,
            price: mark,
        }));
    }

    /// Moves the position in `market_index` to the backstop providers, pro rata to capacity and
    /// each within initial margin. Returns who took how many lots.
    fn transfer_to_backstops(&mut self, index: AccountIndex, market_index: usize) -> Vec<(AccountIndex, i64)> {
        let size = self.size_of(index, market_index);
        let Some(perp) = self.perp(market_index) else { return Vec::new() };
        let Some(mark) = perp.mark else { return Vec::new() };
        let lot_value = rucksack_types::money::div_round(mark.0, perp.fine_per_quote_unit, Rounding::Up)
            .unwrap_or(i128::MAX)
            .max(1);
        let providers: Vec<(AccountIndex, i128)> = self
            .liquidation
            .backstops
            .iter()
            .filter(|&(&provider, _)| provider != index)
            .map(|(&provider, capacity)| (provider, i128::from(capacity.0) / lot_value))
            .filter(|&(_, lots)| lots > 0)
            .collect();
        let capacity: i128 = providers.iter().map(|(_, lots)| lots).sum();
        if capacity == 0 {
            return Vec::new();
        }
        let wanted = i128::from(size).abs().min(capacity);
        // Pro rata, rounded down; the lots that rounding leaves go one each to the providers
        // with the most capacity.
        let mut shares: Vec<i128> = providers
            .iter()
            .map(|&(_, lots)| rucksack_types::money::mul_div(wanted, lots, capacity, Rounding::Down).unwrap_or(0))
            .collect();
        let mut by_capacity: Vec<usize> = (0..providers.len()).collect();
        by_capacity.sort_by_key(|&i| std::cmp::Reverse(providers[i].1));
        let mut left = wanted - shares.iter().sum::<i128>();
        for &i in by_capacity.iter().cycle().take(providers.len() * 2) {
            if left > 0 && shares[i] < providers[i].1 {
                shares[i] += 1;
                left -= 1;
            }
        }
        let mut taken = Vec::new();
        for (&(provider, _), share) in providers.iter().zip(shares) {
            let mut take = share as i64;
            // The most the provider can take within initial margin, halving from its share.
            while take > 0 && !self.within_initial_margin_after(provider, market_index, size.signum() * take) {
                take /= 2;
            }
            if take > 0 {
                self.transfer_position(
                    SystemOrderType::LiquidatePositionOnBackstop,
                    market_index,
                    index,
                    provider,
                    -size.signum() * take,
                );
                taken.push((provider, take));
            }
        }
        taken
    }

    /// Whether `provider` would be within initial margin holding `lots` more (negative: fewer)
    /// in `market_index`, taken at the mark.
    fn within_initial_margin_after(&self, provider: AccountIndex, market_index: usize, lots: i64) -> bool {
        let Some(perp) = self.perp(market_index) else { return false };
        let (Some(mark), cumulative) = (perp.mark, perp.cumulative_funding) else { return false };
        let market = MarketId(market_index as u16);
        let after = self.health_with(provider, |_, _, perps| {
            let at = perps.binary_search_by_key(&market, |h| h.market).unwrap_or_else(|at| {
                let mut holding = crate::perp::PerpHolding { market, ..Default::default() };
                holding.position.funding_index = cumulative;
                perps.insert(at, holding);
                at
            });
            let position = &mut perps[at].position;
            position.size = position.size.saturating_add(lots);
            position.open_value = position.open_value.saturating_add(i128::from(lots).saturating_mul(mark.0));
        });
        after.within_initial_margin()
    }

    /// Closes what is left of the position against opposing positions, in ADL order. Returns
    /// who took how many lots.
    fn deleverage_position(&mut self, index: AccountIndex, market_index: usize) -> Vec<(AccountIndex, i64)> {
        let size = self.size_of(index, market_index);
        let opposite = -size.signum() as i8;
        let (mut left, mut taken) = (size.abs(), Vec::new());
        let mut at = self.adl_queue(market_index, opposite);
        while left > 0 {
            let Some(other) = self.adl_next(market_index, opposite, &mut at) else { break };
            let other_size = self.size_of(other, market_index);
            if other == index || other_size.signum() as i8 != opposite {
                continue;
            }
            let take = left.min(other_size.abs());
            self.transfer_position(
                SystemOrderType::LiquidatePositionOnAdl,
                market_index,
                index,
                other,
                -size.signum() * take,
            );
            taken.push((other, take));
            left -= take;
        }
        taken
    }

    /// The ADL queue of a market side (`0`: every position in profit), ranked now if this sweep
    /// has not yet; returns where to start reading it.
    fn adl_queue(&mut self, market_index: usize, side: i8) -> usize {
        if let Some(queue) = self.liquidation.adl_queues.get(&(market_index, side)) {
            return queue.cursor;
        }
        let ranked = self.adl_ranking(market_index, side);
        self.liquidation.adl_queues.insert((market_index, side), super::AdlQueue { ranked, cursor: 0 });
        0
    }

    /// The account at `at` in a ranked queue, moving `at` on; accounts at the front with nothing
    /// left to give (flat, flipped, or no longer in profit) are used up for the rest of the sweep.
    fn adl_next(&mut self, market_index: usize, side: i8, at: &mut usize) -> Option<AccountIndex> {
        loop {
            let queue = self.liquidation.adl_queues.get(&(market_index, side))?;
            let &other = queue.ranked.get(*at)?;
            let cursor = queue.cursor;
            let used_up = match side {
                0 => self.absorbable(other, market_index, i128::MAX) == 0,
                _ => self.size_of(other, market_index).signum() as i8 != side,
            };
            *at += 1;
            if used_up {
                if cursor + 1 == *at
                    && let Some(queue) = self.liquidation.adl_queues.get_mut(&(market_index, side))
                {
                    queue.cursor = *at;
                }
                continue;
            }
            return Some(other);
        }
    }

    /// Accounts holding a position on `side` of the market (`1` long, `-1` short, `0` any
    /// position in profit), in ADL order: those in profit first, by PnL fraction (claim over
    /// entry value) times leverage (notional over equity), highest first; then the rest; account
    /// order among equals.
    fn adl_ranking(&self, market_index: usize, side: i8) -> Vec<AccountIndex> {
        let Some(perp) = self.perp(market_index) else { return Vec::new() };
        let Some(mark) = perp.mark else { return Vec::new() };
        let mut ranked: Vec<(bool, i128, AccountIndex)> = Vec::new();
        for index in 0..self.ledger.accounts.len() as AccountIndex {
            let Some(holding) = self.perp_holding(index, market_index) else { continue };
            let claim = holding.claim(mark, perp.cumulative_funding);
            let on_side = match side {
                0 => claim > 0,
                _ => holding.position.size.signum() as i8 == side,
            };
            if !on_side {
                continue;
            }
            let score = if claim > 0 { self.adl_score(index, claim, holding.position.entry_value) } else { 0 };
            ranked.push((claim > 0, score, index));
        }
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        ranked.into_iter().map(|(_, _, index)| index).collect()
    }

    /// PnL fraction times leverage, as a product of two fractions (each at most 10^6).
    fn adl_score(&self, index: AccountIndex, claim: i128, entry_value: i128) -> i128 {
        let health = self.health_of(index);
        let cap = 1_000_000 * i128::from(Fraction::ONE.0);
        let ratio = |numerator: i128, denominator: i128| {
            if denominator <= 0 {
                return cap;
            }
            rucksack_types::money::mul_div(numerator, i128::from(Fraction::ONE.0), denominator, Rounding::Down)
                .unwrap_or(cap)
                .min(cap)
        };
        let pnl_fraction = ratio(claim, entry_value.abs());
        let leverage = ratio(health.exposure.0, health.net_equity().0);
        pnl_fraction.saturating_mul(leverage)
    }

    /// The equity that went with the backstopped positions, their share of the account's
    /// exposure `before` (a basis point less, so the account's margin fraction does not fall by
    /// rounding, and never more than keeps that fraction where it was): the configured share of it goes to the insurance fund (from the available quote
    /// balance) and the rest to the providers as claims on their new positions, pro rata to
    /// what each took.
    fn pay_backstop_share(
        &mut self,
        index: AccountIndex,
        before: &AccountHealth,
        backstopped: &[(usize, AccountIndex, i64)],
    ) {
        let Some(quote) = self.settlement_asset() else { return };
        let transferred: i128 = backstopped
            .iter()
            .filter_map(|&(market_index, _, lots)| {
                let perp = self.perp(market_index)?;
                let notional = i128::from(lots).saturating_mul(perp.mark?.0);
                Some(i128::from(perp.quote_units(notional).0))
            })
            .sum();
        let exposure = self.quote_units_worth(before.exposure).max(1);
        let equity = self.quote_units_worth(before.net_equity());
        let with_positions =
            rucksack_types::money::mul_div(equity, transferred.min(exposure), exposure, Rounding::Down).unwrap_or(0);
        let units =
            Fraction(Fraction::ONE.0 - super::sweep::BASIS_POINT).of(with_positions, Rounding::Down).unwrap_or(0);
        // Never so much that the account's margin fraction ends below where it was.
        let after = self.health_of(index);
        let room = match before.margin_fraction() {
            Some(fraction) if after.exposure.0 > 0 => {
                let kept = fraction.of(after.exposure.0, Rounding::Up).unwrap_or(i128::MAX);
                self.quote_units_worth(UsdValue(after.net_equity().0.saturating_sub(kept).max(0)))
            }
            _ => self.quote_units_worth(after.net_equity()),
        };
        let units = units.min(room);
        let share = self.liquidation.spec.backstop_fund_share.of(units, Rounding::Down).unwrap_or(0);
        let available = i128::from(self.ledger.account(index).balances[usize::from(quote.0)].available.0);
        let to_fund = share.min(available).max(0);
        if to_fund > 0 {
            self.ledger.account_mut(index).balances[usize::from(quote.0)].available.0 -= to_fund as i64;
            self.credit_insurance(index, quote, Amount(to_fund as i64), InsuranceReason::BackstopShare);
        }
        let to_providers = units - to_fund;
        let total_lots: i128 = backstopped.iter().map(|&(_, _, lots)| i128::from(lots)).sum();
        if to_providers <= 0 || total_lots == 0 {
            return;
        }
        for &(market_index, provider, lots) in backstopped {
            let part =
                rucksack_types::money::mul_div(to_providers, i128::from(lots), total_lots, Rounding::Down).unwrap_or(0);
            let fine = self.perp(market_index).map_or(0, |p| p.fine_per_quote_unit);
            self.move_claim(market_index, index, provider, part * fine);
        }
    }

    /// Moves `fine` of claim from `from`'s position to `to`'s: `from` is owed that much less.
    fn move_claim(&mut self, market_index: usize, from: AccountIndex, to: AccountIndex, fine: i128) {
        if fine == 0 {
            return;
        }
        for (index, change) in [(from, fine), (to, -fine)] {
            let holding = self.perp_holding_mut(index, market_index);
            holding.position.open_value += change;
            let position = holding.position;
            let account = self.ledger.account(index).id;
            let market = MarketId(market_index as u16);
            self.events.push(Event::PositionChanged { account, market, fee: Amount::ZERO, position });
        }
    }

    /// A bankrupt account with no position left: the fund takes what it holds and repays its
    /// borrows (see `spot`), then what its positions still owe, no longer covered by that
    /// collateral, is absorbed like any deficit.
    pub(super) fn settle_bankruptcy(&mut self, index: AccountIndex, deleveraged: &[(usize, AccountIndex, i64)]) {
        self.settle_bad_debt(index);
        self.absorb_deficit(index, deleveraged);
    }

    /// Collects what the account owes on its positions from its balances and collateral; if it
    /// still owes more than it holds, absorbs the deficit (see the module docs).
    pub(super) fn absorb_deficit(&mut self, index: AccountIndex, deleveraged: &[(usize, AccountIndex, i64)]) {
        let Some(quote) = self.settlement_asset() else { return };
        let claims = self.claims(index);
        let net: i128 = claims.iter().map(|c| c.quote).sum();
        if net < 0 {
            self.system_order = Some(SystemOrderType::CollateralConversion);
            let paid = self.collect_from(index, usize::from(quote.0), -net);
            self.system_order = None;
            self.settle_claims(index, &claims, -paid);
        }
        let equity = self.health_of(index).net_equity();
        if equity.0 < 0 {
            let mut deficit_units = self.quote_units_worth(UsdValue(-equity.0)) + 1;
            let markets: Vec<usize> =
                self.ledger.account(index).perps.iter().map(|h| usize::from(h.market.0)).collect();
            for market_index in markets {
                if deficit_units <= 0 {
                    break;
                }
                let takers: Vec<(AccountIndex, i64)> =
                    deleveraged.iter().filter(|t| t.0 == market_index).map(|&(_, other, lots)| (other, lots)).collect();
                deficit_units -= self.absorb_in_market(index, market_index, deficit_units, &takers);
            }
        }
        self.close_empty_holdings(index);
    }

    /// How much of `wanted` (fine units) `other`'s position in `market_index` can absorb: no
    /// more than it is owed, nor than leaves its account at zero equity (a quote unit held back
    /// against rounding).
    fn absorbable(&self, other: AccountIndex, market_index: usize, wanted: i128) -> i128 {
        let Some(perp) = self.perp(market_index) else { return 0 };
        let (Some(mark), fine) = (perp.mark, perp.fine_per_quote_unit) else { return 0 };
        let Some(holding) = self.perp_holding(other, market_index) else { return 0 };
        let claim = holding.claim(mark, perp.cumulative_funding);
        let equity_units = self.quote_units_worth(self.health_of(other).net_equity()) - 1;
        wanted.min(claim).min(equity_units.saturating_mul(fine)).max(0)
    }

    /// Absorbs up to `deficit_units` of what the account's position in `market_index` owes.
    /// Returns the quote units absorbed.
    fn absorb_in_market(
        &mut self,
        index: AccountIndex,
        market_index: usize,
        deficit_units: i128,
        takers: &[(AccountIndex, i64)],
    ) -> i128 {
        let Some(quote) = self.settlement_asset() else { return 0 };
        let Some(perp) = self.perp(market_index) else { return 0 };
        let (fine, cumulative) = (perp.fine_per_quote_unit, perp.cumulative_funding);
        let Some(mark) = perp.mark else { return 0 };
        let Some(holding) = self.perp_holding(index, market_index) else { return 0 };
        let owed = -holding.claim(mark, cumulative);
        let mut left = owed.min(deficit_units.saturating_mul(fine));
        if left <= 0 {
            return 0;
        }
        let absorbing = left;
        // The insurance fund, in whole quote units.
        let fund = i128::from(self.insurance_fund(quote).0);
        let from_fund = fund.min(left / fine);
        if from_fund > 0 {
            if let Some(perp) = self.markets[market_index].perp.as_mut() {
                perp.settled -= from_fund;
            }
            self.perp_holding_mut(index, market_index).position.open_value -= from_fund * fine;
            self.credit_insurance(index, quote, Amount(-(from_fund as i64)), InsuranceReason::DeficitCovered);
            left -= from_fund * fine;
        }
        // The deleveraged accounts pro rata to their lots, then positions in profit in ADL order,
        // each down to zero equity at most.
        let mut from_adl = 0;
        let taken_lots: i128 = takers.iter().map(|&(_, lots)| i128::from(lots)).sum();
        let share_of_takers = left;
        for &(other, lots) in takers {
            let share = rucksack_types::money::mul_div(share_of_takers, i128::from(lots), taken_lots, Rounding::Up)
                .unwrap_or(share_of_takers);
            let take = self.absorbable(other, market_index, share.min(left));
            self.move_claim(market_index, other, index, take);
            from_adl += take;
            left -= take;
        }
        let mut at = self.adl_queue(market_index, 0);
        while left > 0 {
            let Some(other) = self.adl_next(market_index, 0, &mut at) else { break };
            if other != index {
                let take = self.absorbable(other, market_index, left);
                self.move_claim(market_index, other, index, take);
                from_adl += take;
                left -= take;
            }
        }
        if left > 0 {
            if let Some(perp) = self.markets[market_index].perp.as_mut() {
                perp.written_off += left;
            }
            self.perp_holding_mut(index, market_index).position.open_value -= left;
        }
        let units =
            |value: i128| Amount(rucksack_types::money::div_round(value, fine, Rounding::Up).unwrap_or(0) as i64);
        self.events.push(Event::Bankrupt(Bankruptcy {
            account: self.ledger.account(index).id,
            market: MarketId(market_index as u16),
            deficit: units(absorbing),
            from_fund: Amount(from_fund as i64),
            from_adl: units(from_adl),
            written_off: units(left),
        }));
        let position = self.perp_holding_mut(index, market_index).position;
        let account = self.ledger.account(index).id;
        let market = MarketId(market_index as u16);
        self.events.push(Event::PositionChanged { account, market, fee: Amount::ZERO, position });
        rucksack_types::money::div_round(absorbing, fine, Rounding::Up).unwrap_or(deficit_units)
    }
}
