//! The perpetual positions' part of the margin rule: each position at its worst over its open
//! orders, before and after a new order.

use rucksack_types::{Amount, Reject, Side, Ticks};

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
            let to_flat = [
                (size < 0 && size + bids.lots > 0)
                    .then(|| self.worst_lots(index, holding.market, Side::Bid, -size, added)),
                (size > 0 && size - asks.lots < 0)
                    .then(|| self.worst_lots(index, holding.market, Side::Ask, size, added)),
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

    /// What the account's `lots` worst-priced open orders on one side of a perpetual market (the
    /// new order among them) would cost to fill: the highest bids or the lowest asks first.
    fn worst_lots(
        &self,
        index: AccountIndex,
        market: rucksack_types::MarketId,
        side: Side,
        lots: i64,
        added: Option<(Side, OpenSide)>,
    ) -> OpenSide {
        let spec = &self.markets[usize::from(market.0)].spec;
        let scale = &self.markets[usize::from(market.0)].scale;
        let fee_bps = spec.taker_fee_bps.max(spec.maker_fee_bps);
        let mut orders: Vec<(Ticks, i64)> = Vec::new();
        let mut handle = self.ledger.account(index).orders_head;
        while handle != crate::book::arena::NIL {
            let order = self.orders.get(handle);
            if order.market == market && order.side == side {
                orders.push((order.price, order.remaining.0));
            }
            handle = order.account_next;
        }
        // The new order at its average price, rounded against the account.
        if let Some((new_side, open)) = added.filter(|(s, open)| *s == side && open.lots > 0) {
            let per_lot = open.value / i128::from(open.lots);
            let fine = if new_side == Side::Bid {
                per_lot + i128::from(open.value % i128::from(open.lots) != 0)
            } else {
                per_lot
            };
            let ticks = fine.div_euclid(rucksack_types::perp::FINE_PER_TICK)
                + i128::from(new_side == Side::Bid && fine % rucksack_types::perp::FINE_PER_TICK != 0);
            orders.push((Ticks(ticks as i64), open.lots));
        }
        match side {
            Side::Bid => orders.sort_unstable_by_key(|order| std::cmp::Reverse(order.0)),
            Side::Ask => orders.sort_unstable_by_key(|order| order.0),
        }
        let (mut left, mut cost) = (lots, OpenSide::default());
        for (price, remaining) in orders {
            if left == 0 {
                break;
            }
            let take = remaining.min(left);
            let fee =
                scale.fee(price, rucksack_types::Lots(1), fee_bps, rucksack_types::Rounding::Up).map_or(0, |f| f.0);
            cost = cost.plus(OpenSide {
                lots: take,
                value: rucksack_types::FinePrice::from_ticks(price).0 * i128::from(take),
                fees: fee * take,
            });
            left -= take;
        }
        cost
    }
}
