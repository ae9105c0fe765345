//! PnL realization: positions' claims move into the quote balance at the mark price, without
//! changing any size.
//!
//! Money only moves as far as it exists. In three passes over the accounts (in account order,
//! so the result is deterministic):
//! 1. Accounts that owe on balance pay: from the available quote balance, then by redeeming
//!    their quote lend, then (with `autoBorrowSettlements`) by borrowing it, then by selling
//!    their other assets on the spot markets. What they cannot pay stays in their positions,
//!    still counted against their equity.
//! 2. The house collects the trading fees folded into positions, as far as the reserve holds.
//! 3. Accounts owed on balance are paid from the reserve, as far as it holds.
//!
//! Within an account, winning positions settle losing ones first. A claim rounds toward the
//! house: a position is owed whole quote units rounded down and owes them rounded up, and the
//! fraction stays in the position for later.

use rucksack_types::{
    Amount, AssetId, BorrowLendAction, BorrowLendSource, Event, MarketId, NewOrder, PerpPosition, Reject,
};

use crate::book::arena::AccountIndex;
use crate::engine::Engine;
use crate::lending::PoolPosition;
use crate::perp::trading::apply_funding;

/// One position's claim in whole quote units, rounded toward the house.
#[derive(Clone, Copy)]
pub(crate) struct Claim {
    slot: usize,
    pub(crate) quote: i128,
}

impl Engine {
    /// The quote asset every perpetual market settles in.
    pub(crate) fn settlement_asset(&self) -> Option<AssetId> {
        self.markets.iter().find(|m| m.perp.is_some()).map(|m| m.spec.quote)
    }

    /// Quote units collected from positions and not yet paid out or taken as fees.
    pub fn settlement_reserve(&self) -> i128 {
        self.markets.iter().filter_map(|m| m.perp.as_ref()).map(|p| -(p.settled + p.fees_collected)).sum()
    }

    pub(crate) fn realize_pnl(&mut self) -> Result<(), Reject> {
        let Some(quote) = self.settlement_asset() else { return Ok(()) };
        let accounts: Vec<AccountIndex> = (0..self.ledger.accounts.len() as AccountIndex)
            .filter(|&index| !self.ledger.account(index).perps.is_empty())
            .collect();
        let mut owed = Vec::new();
        for &index in &accounts {
            let claims = self.claims(index);
            let net: i128 = claims.iter().map(|c| c.quote).sum();
            if net <= 0 {
                let paid = self.collect_from(index, usize::from(quote.0), -net);
                self.settle_claims(index, &claims, -paid);
            } else {
                owed.push((index, claims, net));
            }
        }
        self.collect_fees(quote);
        for (index, claims, net) in owed {
            let paid = net.min(self.settlement_reserve());
            self.settle_claims(index, &claims, paid);
        }
        for &index in &accounts {
            self.close_empty_holdings(index);
        }
        Ok(())
    }

    /// The account's positions' claims at their marks, funding applied first.
    pub(crate) fn claims(&mut self, index: AccountIndex) -> Vec<Claim> {
        let mut claims = Vec::new();
        for slot in 0..self.ledger.account(index).perps.len() {
            let market = usize::from(self.ledger.account(index).perps[slot].market.0);
            let Some(perp) = self.markets[market].perp.as_ref() else { continue };
            let (cumulative, fine) = (perp.cumulative_funding, perp.fine_per_quote_unit);
            let Some(mark) = perp.mark else { continue };
            let holding = &mut self.ledger.account_mut(index).perps[slot];
            apply_funding(holding, cumulative);
            let claim = holding.claim(mark, cumulative);
            let quote = claim.div_euclid(fine);
            if quote != 0 || holding.position.unsettled_fees != 0 || holding.position.unsettled_funding != 0 {
                claims.push(Claim { slot, quote });
            }
        }
        claims
    }

    /// Makes up to `due` quote units available by the waterfall and takes them from the
    /// account's available balance. Returns what was taken.
    pub(crate) fn collect_from(&mut self, index: AccountIndex, quote: usize, due: i128) -> i128 {
        if due <= 0 {
            return 0;
        }
        let due_amount = Amount(due.min(i128::from(i64::MAX)) as i64);
        let available = self.ledger.account(index).balances[quote].available;
        if available < due_amount {
            let short = due_amount.0 - available.0;
            if let PoolPosition::Lend(shares) = self.ledger.account(index).positions[quote] {
                let redeem = Amount(short).min(self.risk.redeemable(quote, shares));
                if redeem.is_positive() {
                    let _ = self.pool_action(
                        index,
                        quote,
                        BorrowLendAction::Redeem,
                        redeem,
                        BorrowLendSource::Reconciliation,
                    );
                }
            }
            let available = self.ledger.account(index).balances[quote].available;
            let short = due_amount.0 - available.0;
            let account = self.ledger.account(index);
            // Never while liquidating: a new borrow would only add exposure.
            let may_borrow = account.settings.auto_borrow_settlements
                && !matches!(account.positions[quote], PoolPosition::Lend(_))
                && self.system_order.is_none();
            if short > 0 && may_borrow {
                let _ = self.pool_action(
                    index,
                    quote,
                    BorrowLendAction::Borrow,
                    Amount(short),
                    BorrowLendSource::Reconciliation,
                );
            }
            self.convert_collateral(index, quote, due_amount);
        }
        let balance = &mut self.ledger.account_mut(index).balances[quote];
        let taken = balance.available.min(due_amount);
        balance.available.0 -= taken.0;
        i128::from(taken.0)
    }

    /// The waterfall's last step: sells the account's other available assets on their spot
    /// markets against the quote, market by market, with ordinary IOC orders, until `due` is
    /// available or nothing more can be sold. An order the book or the margin rule refuses is
    /// skipped.
    fn convert_collateral(&mut self, index: AccountIndex, quote: usize, due: Amount) {
        let account = self.ledger.account(index).id;
        for market_index in 0..self.markets.len() {
            let short = due.0 - self.ledger.account(index).balances[quote].available.0;
            if short <= 0 {
                return;
            }
            let market = &self.markets[market_index];
            let base = usize::from(market.spec.base.0);
            if market.perp.is_some()
                || usize::from(market.spec.quote.0) != quote
                || !self.ledger.account(index).balances[base].available.is_positive()
            {
                continue;
            }
            let held = self.ledger.account(index).balances[base].available.0 / market.scale.base_units_per_lot;
            let lots = lots_fetching(market, short).min(held).min(market.spec.max_quantity.0);
            if lots < market.spec.min_quantity.0 {
                continue;
            }
            let sale = NewOrder {
                account,
                market: market.spec.id,
                side: rucksack_types::Side::Ask,
                client_id: None,
                self_trade_prevention: rucksack_types::SelfTradePrevention::RejectTaker,
                spec: rucksack_types::OrderSpec::Market {
                    size: rucksack_types::MarketSize::Base(rucksack_types::Lots(lots)),
                    time_in_force: rucksack_types::TimeInForce::Ioc,
                },
                margin: rucksack_types::MarginFlags::NONE,
                reduce_only: false,
                trigger: None,
            };
            let _ = self.place_order(&sale);
        }
    }

    /// Settles the account's claims with `cash` quote units moving to it (negative: from it):
    /// owed positions are settled by owing ones and by the cash, as far as they cover.
    pub(crate) fn settle_claims(&mut self, index: AccountIndex, claims: &[Claim], cash: i128) {
        let owed_to: i128 = claims.iter().filter(|c| c.quote > 0).map(|c| c.quote).sum();
        let owing: i128 = claims.iter().filter(|c| c.quote < 0).map(|c| -c.quote).sum();
        // What settles the owed positions, and what settles the owing ones.
        let (mut to_owed, mut to_owing) = (owing + cash.max(0), owed_to + (-cash).max(0));
        for claim in claims {
            let budget = if claim.quote > 0 { &mut to_owed } else { &mut to_owing };
            let amount = claim.quote.abs().min(*budget);
            *budget -= amount;
            let realized = if claim.quote > 0 { amount } else { -amount };
            self.realize_position(index, claim, realized);
        }
        let quote = self.settlement_asset().map_or(0, |a| usize::from(a.0));
        if cash > 0 {
            self.ledger.account_mut(index).balances[quote].available.0 += cash as i64;
        }
    }

    /// Moves `realized` quote units out of a position (negative: into it).
    fn realize_position(&mut self, index: AccountIndex, claim: &Claim, realized: i128) {
        let market = usize::from(self.ledger.account(index).perps[claim.slot].market.0);
        let Some(perp) = self.markets[market].perp.as_mut() else { return };
        let fine = perp.fine_per_quote_unit;
        perp.settled += realized;
        let position = &mut self.ledger.account_mut(index).perps[claim.slot].position;
        position.open_value += realized * fine;
        let (fees, funding) = if realized == claim.quote {
            let parts = (-i128::from(position.unsettled_fees), position.unsettled_funding.div_euclid(fine));
            position.unsettled_fees = 0;
            position.unsettled_funding = 0;
            parts
        } else {
            (0, 0)
        };
        if realized == 0 && fees == 0 && funding == 0 {
            return;
        }
        let position: PerpPosition = *position;
        let account = self.ledger.account(index).id;
        let amount = |v: i128| Amount(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64);
        self.events.push(Event::PnlRealized {
            account,
            market: MarketId(market as u16),
            realized: amount(realized),
            fees: amount(fees),
            funding: amount(funding),
            position,
        });
    }

    /// The house takes the fees owed to it, market by market, as far as the reserve holds.
    fn collect_fees(&mut self, quote: AssetId) {
        for market in 0..self.markets.len() {
            let reserve = self.settlement_reserve();
            let Some(perp) = self.markets[market].perp.as_mut() else { continue };
            let take = (perp.fees_charged - perp.fees_collected).min(reserve).max(0);
            perp.fees_collected += take;
            self.ledger.fees[usize::from(quote.0)].0 += take as i64;
        }
    }

    /// Drops holdings with no size, no orders and less than a quote unit owed to them; that
    /// fraction is forfeited to the market.
    pub(crate) fn close_empty_holdings(&mut self, index: AccountIndex) {
        let mut slot = 0;
        while slot < self.ledger.account(index).perps.len() {
            let holding = self.ledger.account(index).perps[slot];
            let market = usize::from(holding.market.0);
            let fine = self.markets[market].perp.as_ref().map_or(1, |p| p.fine_per_quote_unit);
            let owed = -holding.position.open_value;
            let flat = holding.position.size == 0 && holding.bids.lots == 0 && holding.asks.lots == 0;
            if flat && (0..fine).contains(&owed) && holding.position.unsettled_fees == 0 {
                if let Some(perp) = self.markets[market].perp.as_mut() {
                    perp.forfeited += owed;
                }
                self.ledger.account_mut(index).perps.remove(slot);
            } else {
                slot += 1;
            }
        }
    }
}

/// The lots a market sell must sell into the book's bids to fetch `wanted` quote units after
/// its taker fee (all the bids, if they fetch less).
fn lots_fetching(market: &crate::engine::Market, wanted: i64) -> i64 {
    let (mut lots, mut fetched) = (0i64, 0i64);
    for (price, level) in market.book.ladder(rucksack_types::Side::Bid).iter_best_first() {
        let per_lot = market.scale.quote_amount(price, rucksack_types::Lots(1), rucksack_types::Rounding::Down);
        let fee =
            market.scale.fee(price, rucksack_types::Lots(1), market.spec.taker_fee_bps, rucksack_types::Rounding::Up);
        let (Ok(per_lot), Ok(fee)) = (per_lot, fee) else { break };
        let net = (per_lot.0 - fee.0).max(1);
        let need = (wanted - fetched + net - 1) / net;
        let take = need.min(market.book.level(level).total.0);
        lots += take;
        fetched += take * net;
        if fetched >= wanted {
            break;
        }
    }
    lots
}
