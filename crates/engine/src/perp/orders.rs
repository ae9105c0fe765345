//! Placing a perpetual order: reduce-only cuts, price bands and the margin rule before matching,
//! and reduce-only orders fitted to positions after it.

use rucksack_types::{
    Amount, Event, ExpiryReason, Lots, MarketSize, NewOrder, OrderSpec, OrderStatus, Reject, Side, TimeInForce,
};

use crate::book::arena::AccountIndex;
use crate::engine::Engine;
use crate::matching::{Funding, Prepared, order_shape};

impl Engine {
    /// A perpetual order: a reduce-only one cut to what it may reduce (or expired at once if
    /// nothing), then the margin rule, then matching. Afterwards the reduce-only orders of every
    /// account whose position changed are fitted to their positions.
    pub(crate) fn place_perp_order(
        &mut self,
        account: AccountIndex,
        market_index: usize,
        new: &NewOrder,
    ) -> Result<(), Reject> {
        let mut order = *new;
        let (limit, mut quantity, quote_budget) = order_shape(new);
        if new.reduce_only {
            let Some(cap) = self.reduce_only_cap(account, market_index, new.side) else {
                let id = self.take_order_id();
                self.events.push(Event::OrderAccepted { order: id, new: *new });
                let reason = Some(ExpiryReason::ReduceOnlyNotReduced);
                self.push_closed(id, new, OrderStatus::Expired, reason, Lots::ZERO, Amount::ZERO);
                return Ok(());
            };
            quantity = quantity.min(cap);
            order.spec = match order.spec {
                OrderSpec::Limit { price, time_in_force, .. } => OrderSpec::Limit { price, quantity, time_in_force },
                // A quote-sized one is held to the cut quantity too (its budget still applies).
                OrderSpec::Market { time_in_force, .. } => {
                    OrderSpec::Market { size: MarketSize::Base(quantity), time_in_force }
                }
            };
        }
        // The exchange's own orders (liquidation steps) carry their own price limit, from the
        // mark and the account's margin; the bands are for users' orders.
        let system = self.system_order.is_some();
        if let OrderSpec::Limit { price, .. } = order.spec
            && !system
        {
            self.check_limit_band(market_index, price)?;
        }
        // A taker fills only within its price bands; a band tighter than its own limit becomes
        // its limit, and what is left beyond it expires.
        // An order that does not cross on arrival takes nothing: it rests, unbanded.
        let book = &self.markets[market_index].book;
        let crosses = match (order.side, limit) {
            (_, None) => true,
            (Side::Bid, Some(limit)) => book.best_ask().is_some_and(|ask| ask <= limit),
            (Side::Ask, Some(limit)) => book.best_bid().is_some_and(|bid| bid >= limit),
        };
        let band = self.taker_band(market_index, order.side).filter(|_| !system).filter(|band| {
            crosses
                && match (order.side, limit) {
                    (_, None) => true,
                    (Side::Bid, Some(limit)) => *band < limit,
                    (Side::Ask, Some(limit)) => *band > limit,
                }
        });
        let (limit, banded) = match band {
            Some(band) if order.spec.time_in_force() != TimeInForce::PostOnly => (Some(band), true),
            _ => (limit, false),
        };
        self.check_perp_order(account, market_index, &order, limit)?;
        let killed = order.spec.time_in_force() == TimeInForce::Fok
            && !self.can_fill_completely(market_index, account, &order, limit, quantity, Amount(i64::MAX))?;
        // Perpetual orders lock nothing: their margin is the account's equity.
        let funding = Funding::Reserved { per_lot: Amount::ZERO };
        let prepared = Prepared { limit, quantity, quote_budget, funding, killed, banded };
        let first_event = self.events.len();
        self.execute_order(account, market_index, &order, prepared)?;
        self.fit_reduce_only_orders(first_event);
        Ok(())
    }
}
