//! The order book on its own: the same ladders and arena the engine uses, with plain
//! price-time matching and no accounts, fees or self-trade rules. It exists to measure and test
//! the data structure apart from the ledger, and as a building block for tools that replay
//! public order flow.

use rucksack_types::{Amount, Lots, MarketId, OrderId, SelfTradePrevention, Side, Ticks, TimeInForce, Timestamp};
use rustc_hash::FxHashMap;

use super::Book;
use super::arena::{Handle, NIL, OrderArena, RestingOrder};

#[derive(Clone, Debug, Default)]
pub struct OrderBook {
    book: Book,
    arena: OrderArena,
    index: FxHashMap<OrderId, Handle>,
}

impl OrderBook {
    pub fn with_capacity(orders: usize) -> OrderBook {
        let mut book = OrderBook::default();
        book.arena.reserve(orders);
        book.index.reserve(orders);
        book
    }

    /// A limit order: takes what crosses, rests the remainder. Returns the quantity filled.
    pub fn add(&mut self, id: OrderId, side: Side, price: Ticks, quantity: Lots) -> Lots {
        let filled = self.take(side, price, quantity);
        let remaining = Lots(quantity.0 - filled.0);
        if remaining.is_positive() {
            let handle = self.arena.insert(RestingOrder {
                id,
                account: 0,
                market: MarketId(0),
                side,
                time_in_force: TimeInForce::Gtc,
                self_trade_prevention: SelfTradePrevention::RejectTaker,
                client_id: None,
                price,
                quantity,
                remaining,
                executed_quote: Amount::ZERO,
                created_at: Timestamp(0),
                reserved_per_lot: Amount::ZERO,
                counted: std::cell::Cell::new(false),
                reduce_only: false,
                level: 0,
                prev: NIL,
                next: NIL,
                account_prev: NIL,
                account_next: NIL,
            });
            self.book.push(&mut self.arena, handle);
            self.index.insert(id, handle);
        }
        filled
    }

    /// An immediate-or-cancel order: takes what crosses, nothing rests. Returns the quantity filled.
    pub fn take(&mut self, side: Side, limit: Ticks, quantity: Lots) -> Lots {
        let mut left = quantity.0;
        while left > 0 {
            let Some((price, level)) = self.book.ladder(side.opposite()).best() else {
                break;
            };
            let crosses = match side {
                Side::Bid => price <= limit,
                Side::Ask => price >= limit,
            };
            if !crosses {
                break;
            }
            let handle = self.book.level(level).head;
            let maker = self.arena.get(handle);
            let lots = left.min(maker.remaining.0);
            left -= lots;
            if lots == maker.remaining.0 {
                let id = maker.id;
                self.book.reduce(&mut self.arena, handle, Lots(lots));
                self.book.unlink(&mut self.arena, handle);
                self.index.remove(&id);
                self.arena.remove(handle);
            } else {
                self.book.reduce(&mut self.arena, handle, Lots(lots));
            }
        }
        Lots(quantity.0 - left)
    }

    /// Removes a resting order; `false` if it is not on the book.
    pub fn cancel(&mut self, id: OrderId) -> bool {
        let Some(handle) = self.index.remove(&id) else {
            return false;
        };
        self.book.unlink(&mut self.arena, handle);
        self.arena.remove(handle);
        true
    }

    pub fn best_bid(&self) -> Option<Ticks> {
        self.book.best_bid()
    }

    pub fn best_ask(&self) -> Option<Ticks> {
        self.book.best_ask()
    }

    /// Orders resting on the book.
    pub fn len(&self) -> usize {
        self.arena.live()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Levels of one side, best first, as (price, total remaining).
    pub fn depth(&self, side: Side) -> Vec<(Ticks, Lots)> {
        self.book.ladder(side).iter_best_first().map(|(price, level)| (price, self.book.level(level).total)).collect()
    }
}
