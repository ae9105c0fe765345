//! A market's order book: two price ladders over the shared [`OrderArena`].
//!
//! Each side keeps its price levels in a vector sorted so that the best price is last: the
//! levels that change most often sit at the end, where inserting and removing moves almost
//! nothing. A level holds its orders as an intrusive FIFO (price-time priority) and its total
//! remaining quantity. Levels live in a slab with a free list, so a steady stream of orders
//! does not allocate.

pub(crate) mod arena;
pub mod standalone;

use rucksack_types::{Lots, Side, Ticks};

use arena::{Handle, NIL, OrderArena};

#[derive(Clone, Debug)]
pub(crate) struct Level {
    pub price: Ticks,
    pub total: Lots,
    pub orders: u32,
    pub head: Handle,
    pub tail: Handle,
}

/// One side's price levels, best last.
#[derive(Clone, Debug)]
pub(crate) struct Ladder {
    side: Side,
    prices: Vec<(Ticks, u32)>,
}

impl Ladder {
    fn new(side: Side) -> Ladder {
        Ladder { side, prices: Vec::new() }
    }

    /// `true` if `a` is a worse price than `b` for this side (sorts before it).
    fn worse(&self, a: Ticks, b: Ticks) -> bool {
        match self.side {
            Side::Bid => a < b,
            Side::Ask => a > b,
        }
    }

    fn position(&self, price: Ticks) -> Result<usize, usize> {
        self.prices.binary_search_by(|&(p, _)| {
            if p == price {
                std::cmp::Ordering::Equal
            } else if self.worse(p, price) {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Greater
            }
        })
    }

    pub fn best(&self) -> Option<(Ticks, u32)> {
        self.prices.last().copied()
    }

    /// The level at exactly `price`, if there is one.
    pub fn level_at(&self, price: Ticks) -> Option<u32> {
        self.position(price).ok().map(|at| self.prices[at].1)
    }

    /// Levels from best to worst.
    pub fn iter_best_first(&self) -> impl Iterator<Item = (Ticks, u32)> + '_ {
        self.prices.iter().rev().copied()
    }

    pub fn len(&self) -> usize {
        self.prices.len()
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Book {
    pub bids: Ladder,
    pub asks: Ladder,
    levels: Vec<Level>,
    free_levels: Vec<u32>,
    pub next_trade_id: u64,
    /// Counts changes to the book's levels (Backpack's depth `lastUpdateId`, and the `U`/`u`
    /// of depth streams).
    pub update_id: u64,
}

impl Default for Book {
    fn default() -> Self {
        Book {
            bids: Ladder::new(Side::Bid),
            asks: Ladder::new(Side::Ask),
            levels: Vec::new(),
            free_levels: Vec::new(),
            next_trade_id: 1,
            update_id: 0,
        }
    }
}

impl Book {
    pub fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }

    fn ladder_mut(&mut self, side: Side) -> &mut Ladder {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }

    pub fn level(&self, index: u32) -> &Level {
        &self.levels[index as usize]
    }

    /// Appends a resting order at the tail of its price level, creating the level if needed.
    /// The order's `side`, `price` and `remaining` must be set.
    pub fn push(&mut self, arena: &mut OrderArena, handle: Handle) {
        let (side, price, remaining) = {
            let order = arena.get(handle);
            (order.side, order.price, order.remaining)
        };
        let level_index = match self.ladder(side).position(price) {
            Ok(at) => self.ladder(side).prices[at].1,
            Err(at) => {
                let level = Level { price, total: Lots::ZERO, orders: 0, head: NIL, tail: NIL };
                let index = match self.free_levels.pop() {
                    Some(index) => {
                        self.levels[index as usize] = level;
                        index
                    }
                    None => {
                        self.levels.push(level);
                        (self.levels.len() - 1) as u32
                    }
                };
                self.ladder_mut(side).prices.insert(at, (price, index));
                index
            }
        };
        let level = &mut self.levels[level_index as usize];
        let old_tail = level.tail;
        level.tail = handle;
        if old_tail == NIL {
            level.head = handle;
        }
        level.total.0 += remaining.0;
        level.orders += 1;
        self.update_id += 1;
        let order = arena.get_mut(handle);
        order.level = level_index;
        order.prev = old_tail;
        order.next = NIL;
        if old_tail != NIL {
            arena.get_mut(old_tail).next = handle;
        }
    }

    /// Unlinks an order from its level (removing the level if it empties). The arena slot is
    /// left for the caller to free.
    pub fn unlink(&mut self, arena: &mut OrderArena, handle: Handle) {
        let (side, level_index, prev, next, remaining) = {
            let order = arena.get(handle);
            (order.side, order.level, order.prev, order.next, order.remaining)
        };
        if prev != NIL {
            arena.get_mut(prev).next = next;
        }
        if next != NIL {
            arena.get_mut(next).prev = prev;
        }
        let level = &mut self.levels[level_index as usize];
        if level.head == handle {
            level.head = next;
        }
        if level.tail == handle {
            level.tail = prev;
        }
        level.total.0 -= remaining.0;
        level.orders -= 1;
        if remaining.is_positive() {
            self.update_id += 1;
        }
        if level.orders == 0 {
            let price = level.price;
            let ladder = self.ladder_mut(side);
            if let Ok(at) = ladder.position(price) {
                ladder.prices.remove(at);
            }
            self.free_levels.push(level_index);
        }
    }

    /// Takes `lots` off a resting order that stays on the book.
    pub fn reduce(&mut self, arena: &mut OrderArena, handle: Handle, lots: Lots) {
        let order = arena.get_mut(handle);
        order.remaining.0 -= lots.0;
        self.levels[order.level as usize].total.0 -= lots.0;
        self.update_id += 1;
    }

    pub fn best_bid(&self) -> Option<Ticks> {
        self.bids.best().map(|(p, _)| p)
    }

    pub fn best_ask(&self) -> Option<Ticks> {
        self.asks.best().map(|(p, _)| p)
    }

    /// Orders of one side from best price to worst, each level in time priority.
    pub fn for_each_order(&self, arena: &OrderArena, side: Side, mut visit: impl FnMut(Handle)) {
        for (_, level_index) in self.ladder(side).iter_best_first() {
            let mut handle = self.levels[level_index as usize].head;
            while handle != NIL {
                visit(handle);
                handle = arena.get(handle).next;
            }
        }
    }
}

#[cfg(test)]
mod tests;
