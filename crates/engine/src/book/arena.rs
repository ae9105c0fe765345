//! The order arena: one slab of resting orders shared by every book, with a free list so
//! steady-state placing and cancelling never allocates. Orders are addressed by a `u32`
//! handle; each order is linked into its price level's FIFO and its account's list of open
//! orders, so removing one is O(1).

use rucksack_types::{
    Amount, ClientId, Lots, MarketId, OrderId, SelfTradePrevention, Side, Ticks, TimeInForce, Timestamp,
};

/// The end of an intrusive list.
pub(crate) const NIL: u32 = u32::MAX;

/// A handle to an order in the arena. Valid until the order is removed.
pub(crate) type Handle = u32;

/// Dense index of an account in the ledger.
pub(crate) type AccountIndex = u32;

#[derive(Clone, Debug)]
pub(crate) struct RestingOrder {
    pub id: OrderId,
    pub account: AccountIndex,
    pub market: MarketId,
    pub side: Side,
    pub time_in_force: TimeInForce,
    pub self_trade_prevention: SelfTradePrevention,
    pub client_id: Option<ClientId>,
    pub price: Ticks,
    pub quantity: Lots,
    pub remaining: Lots,
    pub executed_quote: Amount,
    pub created_at: Timestamp,
    /// What each remaining lot keeps locked (quote with the taker fee for a bid, base for an
    /// ask), fixed by the price when the order rests. Zero in the standalone book.
    pub reserved_per_lot: Amount,
    /// Whether the order is counted in its account's health-lowering set (margin rule).
    pub counted: std::cell::Cell<bool>,
    /// A perpetual order that may only shrink its account's position.
    pub reduce_only: bool,
    /// Index of the price level in its book.
    pub level: u32,
    pub prev: Handle,
    pub next: Handle,
    pub account_prev: Handle,
    pub account_next: Handle,
}

impl RestingOrder {
    pub fn executed(&self) -> Lots {
        Lots(self.quantity.0 - self.remaining.0)
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct OrderArena {
    slots: Vec<RestingOrder>,
    free: Vec<Handle>,
    live: usize,
}

impl OrderArena {
    pub fn insert(&mut self, order: RestingOrder) -> Handle {
        self.live += 1;
        match self.free.pop() {
            Some(handle) => {
                self.slots[handle as usize] = order;
                handle
            }
            None => {
                self.slots.push(order);
                (self.slots.len() - 1) as Handle
            }
        }
    }

    /// Frees the slot. The caller has already unlinked the order from every list.
    pub fn remove(&mut self, handle: Handle) {
        self.live -= 1;
        self.slots[handle as usize].id = OrderId(0);
        self.free.push(handle);
    }

    pub fn reserve(&mut self, orders: usize) {
        self.slots.reserve(orders.saturating_sub(self.slots.len()));
        self.free.reserve(orders.saturating_sub(self.free.len()));
    }

    pub fn get(&self, handle: Handle) -> &RestingOrder {
        &self.slots[handle as usize]
    }

    pub fn get_mut(&mut self, handle: Handle) -> &mut RestingOrder {
        &mut self.slots[handle as usize]
    }

    pub fn live(&self) -> usize {
        self.live
    }
}
