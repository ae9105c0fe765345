//! The perpetual positions' part of the margin rule: each position at its worst over its open
//! orders, before and after a new order.

use rucksack_types::{Amount, Reject, Side};

use crate::book::arena::AccountIndex;
use crate::engine::Engine;
use crate::margin::AccountHealth;
use crate::margin::perp::OpenSide;
use crate::perp::PerpHolding;

impl Engine {
    /// The perpetual positions' part of the margin rule's health, before and after a new order:
    /// each position at its worst over its open orders, with `new` counted among them (or, for a
    /// spot order, the base it would lock taken out of the hedge). Only the market the order
    /// touches is valued twice.
    pub(crate) fn perp_worst_pair(
        &self,
        index: AccountIndex,
        new: Option<(usize, Side, OpenSide)>,
        locking: Option<(usize, Amount)>,
    ) -> Result<(AccountHealth, AccountHealth), Reject> {
        let account = self.ledger.account(index);
        if account.perps.is_empty() && new.is_none() {
            return Ok((AccountHealth::default(), AccountHealth::default()));
        }
        let inputs = self.risk_inputs();
        let locked_balances = locking.map(|(asset, amount)| {
            let mut balances = account.balances.clone();
            if let Some(balance) = balances.get_mut(asset) {
                let moved = amount.min(balance.available);
                balance.available.0 -= moved.0;
                balance.locked.0 += moved.0;
            }
            balances
        });
        let new_market = new.map(|(market, _, _)| rucksack_types::MarketId(market as u16));
        let unheld = new_market
            .filter(|m| !account.perps.iter().any(|h| h.market == *m))
            .map(|market| PerpHolding { market, ..Default::default() });
        let part = |holding: &PerpHolding,
                    added: Option<(Side, OpenSide)>,
                    balances: &[crate::ledger::Balance]|
         -> Result<AccountHealth, Reject> {
            let Some(perp) = self.markets[usize::from(holding.market.0)].perp.as_ref() else {
                return Ok(AccountHealth::default());
            };
            let (mut bids, mut asks) = (holding.bids, holding.asks);
            match added {
                Some((Side::Bid, open)) => bids = bids.plus(open),
                Some((Side::Ask, open)) => asks = asks.plus(open),
                None => {}
            }
            let Some(valuation) = perp.valuation(&inputs, balances, &account.positions) else {
                if holding.is_empty() && bids.lots == 0 && asks.lots == 0 {
                    return Ok(AccountHealth::default());
                }
                return Err(Reject::PriceUnavailable);
            };
            let claim = holding.claim(valuation.mark, perp.cumulative_funding);
            let size = holding.position.size;
            // The lots up to flat cost at most the side's most extreme price each (a bought lot
            // at its highest bid, a sold one at its lowest ask), with the fee at its highest price.
            let market_ref = &self.markets[usize::from(holding.market.0)];
            let fee_bps = market_ref.spec.taker_fee_bps.max(market_ref.spec.maker_fee_bps);
            let fee_at = |price: i64| {
                market_ref
                    .scale
                    .fee(rucksack_types::Ticks(price), rucksack_types::Lots(1), fee_bps, rucksack_types::Rounding::Up)
                    .map_or(0, |f| f.0)
            };
            let to_flat = [
                (size < 0 && size + bids.lots > 0).then(|| OpenSide::at(bids.high, -size, -size * fee_at(bids.high))),
                (size > 0 && size - asks.lots < 0).then(|| OpenSide::at(asks.low, size, size * fee_at(asks.high))),
            ];
            Ok(valuation.worst_health(size, claim, [bids, asks], to_flat, account.settings.leverage_limit))
        };
        let (mut before, mut after) = (AccountHealth::default(), AccountHealth::default());
        for holding in account.perps.iter().chain(unheld.iter()) {
            let was = if unheld.as_ref().is_some_and(|u| u.market == holding.market) {
                AccountHealth::default()
            } else {
                part(holding, None, &account.balances)?
            };
            let added = new.filter(|_| new_market == Some(holding.market)).map(|(_, side, open)| (side, open));
            let hedged_by_locked = locked_balances.is_some()
                && locking.is_some_and(|(asset, _)| {
                    self.markets[usize::from(holding.market.0)].spec.base.0 as usize == asset
                });
            let will = match (added, hedged_by_locked, &locked_balances) {
                (None, false, _) => was,
                (_, true, Some(balances)) => part(holding, added, balances)?,
                _ => part(holding, added, &account.balances)?,
            };
            before = before.plus(&was);
            after = after.plus(&will);
        }
        Ok((before, after))
    }
}
