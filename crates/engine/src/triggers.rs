//! Trigger orders: held off the book until the price they watch (a market's last trade, a
//! perpetual's mark, or the base's index) reaches theirs, from whichever side it was on when
//! they arrived; then placed as ordinary orders under the id they were given.
//!
//! They reserve nothing and count for nothing in margin while they wait. When one fires, its
//! order passes every check an order placed then would; one that is refused ends
//! `TriggerFailed`. Prices move only through commands, so triggers are looked at after the
//! commands that move them (orders, index prices, mark prices), until none is left reached.

use std::collections::{BTreeMap, BTreeSet};

use rucksack_types::{
    AccountId, Amount, ClientId, Event, FinePrice, Lots, MarketId, NewOrder, OrderId, OrderStatus, Reject, Ticks,
    TriggerBy,
};

use crate::book::arena::AccountIndex;
use crate::engine::Engine;

/// A waiting trigger order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PendingTrigger {
    /// The order as placed, its trigger included.
    pub new: NewOrder,
    /// It fires when the price rises to its trigger (else when it falls to it).
    pub rising: bool,
    /// The order it is the take-profit or stop-loss of; when it fires, its sibling is cancelled.
    pub related: Option<OrderId>,
}

/// Waiting trigger orders, by id and by what reaches them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Triggers {
    pub pending: BTreeMap<OrderId, PendingTrigger>,
    /// (market, watched price, rising, trigger price, id).
    reached_by: BTreeSet<(MarketId, TriggerBy, bool, Ticks, OrderId)>,
}

impl Triggers {
    pub fn insert(&mut self, id: OrderId, trigger: PendingTrigger) {
        if let Some(t) = trigger.new.trigger {
            self.reached_by.insert((trigger.new.market, t.by, trigger.rising, t.price, id));
        }
        self.pending.insert(id, trigger);
    }

    pub fn remove(&mut self, id: OrderId) -> Option<PendingTrigger> {
        let trigger = self.pending.remove(&id)?;
        if let Some(t) = trigger.new.trigger {
            self.reached_by.remove(&(trigger.new.market, t.by, trigger.rising, t.price, id));
        }
        Some(trigger)
    }

    /// Every index entry is a pending trigger and the other way round. For the invariant checks.
    pub fn consistent(&self) -> bool {
        self.reached_by.len() == self.pending.len()
            && self.reached_by.iter().all(|(market, by, rising, price, id)| {
                self.pending.get(id).is_some_and(|t| {
                    t.new.market == *market
                        && t.rising == *rising
                        && t.new.trigger.is_some_and(|trigger| trigger.by == *by && trigger.price == *price)
                })
            })
    }

    /// The triggers of `market` watching `by` that `price` reaches.
    fn reached(&self, market: MarketId, by: TriggerBy, price: Ticks) -> impl Iterator<Item = OrderId> + '_ {
        let low = OrderId(0);
        let high = OrderId(u64::MAX);
        let rising = self.reached_by.range((market, by, true, Ticks(i64::MIN), low)..=(market, by, true, price, high));
        let falling =
            self.reached_by.range((market, by, false, price, low)..=(market, by, false, Ticks(i64::MAX), high));
        rising.chain(falling).map(|entry| entry.4)
    }

    fn watches(&self, market: MarketId, by: TriggerBy) -> bool {
        let low = (market, by, false, Ticks(i64::MIN), OrderId(0));
        let high = (market, by, true, Ticks(i64::MAX), OrderId(u64::MAX));
        self.reached_by.range(low..=high).next().is_some()
    }
}

impl Engine {
    /// A trigger order: checked as the order it will become, then held until its price.
    pub(crate) fn place_trigger(&mut self, new: &NewOrder) -> Result<(), Reject> {
        let rising = self.check_trigger(new)?;
        self.hold_trigger(new, rising, None);
        Ok(())
    }

    /// The checks of a trigger order before anything changes; returns whether it waits for the
    /// price to rise to its trigger.
    fn check_trigger(&self, new: &NewOrder) -> Result<bool, Reject> {
        let market_index = self.market_index(new.market)?;
        let account = self.ledger.find(new.account).ok_or(Reject::InsufficientFunds)?;
        let trigger = new.trigger.ok_or(Reject::OrderNotFound)?;
        self.validate_order(market_index, new)?;
        if new.reduce_only && self.markets[market_index].perp.is_none() {
            return Err(Reject::ReduceOnlySpot);
        }
        let market = &self.markets[market_index].spec;
        if trigger.price < market.min_price || trigger.price > market.max_price {
            return Err(Reject::PriceOutOfBounds);
        }
        if new.client_id.is_some_and(|c| self.client_in_use(account, c)) {
            return Err(Reject::DuplicateClientId);
        }
        let now = self.watched_price(market_index, trigger.by).ok_or(Reject::PriceUnavailable)?;
        Ok(trigger.price > now)
    }

    fn hold_trigger(&mut self, new: &NewOrder, rising: bool, related: Option<OrderId>) {
        let id = self.take_order_id();
        self.events.push(Event::OrderAccepted { order: id, new: *new });
        self.events.push(Event::TriggerPlaced { order: id, account: new.account, market: new.market, related });
        self.triggers.insert(id, PendingTrigger { new: *new, rising, related });
    }

    /// An order with a take-profit and a stop-loss: each is checked first, then the order is
    /// placed, then they are held, related to it. A refusal of any of them refuses all.
    pub(crate) fn place_order_with_exits(
        &mut self,
        order: &NewOrder,
        exits: [Option<rucksack_types::Exit>; 2],
    ) -> Result<(), Reject> {
        let quantity = match order.spec {
            _ if order.trigger.is_some() => return Err(Reject::InvalidExit),
            rucksack_types::OrderSpec::Limit { quantity, .. }
            | rucksack_types::OrderSpec::Market { size: rucksack_types::MarketSize::Base(quantity), .. } => quantity,
            rucksack_types::OrderSpec::Market { .. } => return Err(Reject::InvalidExit),
        };
        let market_index = self.market_index(order.market)?;
        let perp = self.markets[market_index].perp.is_some();
        let mut held = Vec::new();
        for exit in exits.into_iter().flatten() {
            let spec = match exit.limit {
                Some(price) => rucksack_types::OrderSpec::Limit {
                    price,
                    quantity,
                    time_in_force: rucksack_types::TimeInForce::Gtc,
                },
                None => rucksack_types::OrderSpec::Market {
                    size: rucksack_types::MarketSize::Base(quantity),
                    time_in_force: rucksack_types::TimeInForce::Ioc,
                },
            };
            let new = NewOrder {
                side: order.side.opposite(),
                client_id: None,
                spec,
                margin: rucksack_types::MarginFlags::NONE,
                reduce_only: perp,
                trigger: Some(exit.trigger),
                ..*order
            };
            held.push((new, self.check_trigger(&new)?));
        }
        let parent = OrderId(self.next_order_id);
        self.place_order(order)?;
        for (new, rising) in held {
            self.hold_trigger(&new, rising, Some(parent));
        }
        Ok(())
    }

    /// Whether the account already uses `client` for a resting or waiting order.
    pub(crate) fn client_in_use(&self, account: AccountIndex, client: ClientId) -> bool {
        let id = self.ledger.account(account).id;
        self.client_index.contains_key(&(account, client))
            || self.triggers.pending.values().any(|t| t.new.account == id && t.new.client_id == Some(client))
    }

    /// The price a trigger watches, in the market's ticks (rounded down); `None` while there is
    /// none (no trade yet, no mark on a spot market, no index).
    fn watched_price(&self, market_index: usize, by: TriggerBy) -> Option<Ticks> {
        let market = &self.markets[market_index];
        let fine = match by {
            TriggerBy::LastPrice => return market.last_price,
            TriggerBy::MarkPrice => market.perp.as_ref()?.mark?,
            TriggerBy::IndexPrice => {
                let index = self.risk.prices[usize::from(market.spec.base.0)]?.price;
                FinePrice::from_index(index, market.spec.tick_size)?
            }
        };
        i64::try_from(fine.0.div_euclid(rucksack_types::perp::FINE_PER_TICK)).ok().map(Ticks)
    }

    /// Places every trigger order its price has reached, oldest first, and again after those
    /// orders traded, until none is left reached.
    pub(crate) fn fire_triggers(&mut self) {
        while !self.triggers.pending.is_empty() {
            let mut reached = Vec::new();
            for market_index in 0..self.markets.len() {
                let market = MarketId(market_index as u16);
                for by in [TriggerBy::LastPrice, TriggerBy::MarkPrice, TriggerBy::IndexPrice] {
                    if !self.triggers.watches(market, by) {
                        continue;
                    }
                    if let Some(price) = self.watched_price(market_index, by) {
                        reached.extend(self.triggers.reached(market, by, price));
                    }
                }
            }
            if reached.is_empty() {
                return;
            }
            reached.sort_unstable();
            for id in reached {
                // An earlier one in this round may have been cancelled by its own fill's effects.
                let Some(trigger) = self.triggers.remove(id) else { continue };
                // A take-profit firing cancels its stop-loss, and the other way round.
                if let Some(related) = trigger.related {
                    let siblings: Vec<OrderId> = self
                        .triggers
                        .pending
                        .iter()
                        .filter(|(_, t)| t.related == Some(related))
                        .map(|(id, _)| *id)
                        .collect();
                    for sibling in siblings {
                        self.close_trigger(sibling);
                    }
                }
                let new = NewOrder { trigger: None, ..trigger.new };
                self.fired = Some(id);
                let placed = self.place_order(&new);
                self.fired = None;
                if placed.is_err() {
                    self.events.push(Event::OrderClosed {
                        order: id,
                        account: new.account,
                        market: new.market,
                        status: OrderStatus::TriggerFailed,
                        reason: None,
                        executed: Lots::ZERO,
                        executed_quote: Amount::ZERO,
                    });
                }
            }
        }
    }

    /// Cancels a waiting trigger order of `account` in `market`, by id or client id. `false` if
    /// there is none.
    pub(crate) fn cancel_trigger(
        &mut self,
        account: AccountId,
        market: MarketId,
        target: rucksack_types::CancelTarget,
    ) -> bool {
        let found = self.triggers.pending.iter().find_map(|(id, t)| {
            let named = match target {
                rucksack_types::CancelTarget::Order(order) => order == *id,
                rucksack_types::CancelTarget::Client(client) => t.new.client_id == Some(client),
            };
            (named && t.new.account == account && t.new.market == market).then_some(*id)
        });
        match found {
            Some(id) => {
                self.close_trigger(id);
                true
            }
            None => false,
        }
    }

    /// Cancels every waiting trigger order of `account` in `market`.
    pub(crate) fn cancel_triggers(&mut self, account: AccountId, market: MarketId) {
        let ids: Vec<OrderId> = self
            .triggers
            .pending
            .iter()
            .filter(|(_, t)| t.new.account == account && t.new.market == market)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.close_trigger(id);
        }
    }

    fn close_trigger(&mut self, id: OrderId) {
        if let Some(trigger) = self.triggers.remove(id) {
            self.events.push(Event::OrderClosed {
                order: id,
                account: trigger.new.account,
                market: trigger.new.market,
                status: OrderStatus::Cancelled,
                reason: None,
                executed: Lots::ZERO,
                executed_quote: Amount::ZERO,
            });
        }
    }

    /// The id a new order gets: the next free one, or a firing trigger's own.
    pub(crate) fn take_order_id(&mut self) -> OrderId {
        match self.fired {
            Some(id) => id,
            None => {
                let id = OrderId(self.next_order_id);
                self.next_order_id += 1;
                id
            }
        }
    }
}
