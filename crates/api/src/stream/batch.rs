//! What the engine thread hands to the streams after each batch: typed updates with every
//! number already read from the engine, so the fan-out stage never touches engine state.
//!
//! The [`Collector`] is driven by the [`Publisher`](crate::views::Publisher): it sees each event
//! after the read model folded it (so an order's running totals are current), then, once per
//! batch, the depth and balances as the engine stands.

use std::collections::HashMap;
use std::sync::Arc;

use rucksack_engine::{Balance, Engine};
use rucksack_types::{
    AccountId, Amount, AssetId, AssetSpec, Event, FinePrice, Fraction, Lots, MarketId, MarketSpec, OrderId,
    OrderStatus, PerpPosition, Side, Ticks, Timestamp, TradeId,
};

use crate::views::{Depth, OrderView, TradeView, Views};

use super::hub::Sink;
use super::positions::{self, PositionEvent, PositionUpdate};

/// How often `openInterest` is sent: once a minute per market.
const OPEN_INTEREST_EVERY_MICROS: u64 = 60_000_000;

/// Listed assets and markets, as of a batch (index = id).
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    pub assets: Vec<AssetSpec>,
    pub markets: Vec<MarketSpec>,
}

impl Catalogue {
    pub fn market(&self, id: MarketId) -> Option<&MarketSpec> {
        self.markets.get(usize::from(id.0))
    }

    pub fn asset(&self, id: AssetId) -> Option<&AssetSpec> {
        self.assets.get(usize::from(id.0))
    }

    pub fn market_by_symbol(&self, symbol: &str) -> Option<&MarketSpec> {
        self.markets.iter().find(|m| m.symbol.as_str() == symbol)
    }
}

/// One price level's absolute size after a batch; zero means the level is gone.
pub type Level = (Ticks, Lots);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepthUpdate {
    pub market: MarketId,
    /// First and last book update ids this covers (`U`, `u`).
    pub first: u64,
    pub last: u64,
    /// Ascending by price, each side.
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
    /// Engine time of the batch's last change.
    pub time: Timestamp,
}

/// What happened to an order, as `account.orderUpdate` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderEvent {
    Accepted,
    Fill(Fill),
    Cancelled,
    Expired,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    pub trade: TradeId,
    pub price: Ticks,
    pub quantity: Lots,
    pub is_maker: bool,
    /// In the quote asset; negative for a rebate.
    pub fee: Amount,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderUpdate {
    pub event: OrderEvent,
    /// The order after the event.
    pub order: OrderView,
    pub time: Timestamp,
}

/// A perpetual market's clock sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarkPriceUpdate {
    pub market: MarketId,
    pub mark: FinePrice,
    pub index: Option<FinePrice>,
    /// What the running interval would pay if it ended now.
    pub funding_rate: Fraction,
    /// When the running interval ends.
    pub next_funding: Timestamp,
    pub time: Timestamp,
}

/// A liquidation's fill on the book, or a position it moved outside the book, as the liquidated
/// account traded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiquidationUpdate {
    pub market: MarketId,
    pub side: Side,
    pub quantity: Lots,
    /// Exact: a transfer's price need not be a whole tick.
    pub price: FinePrice,
    pub time: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Update {
    Depth(DepthUpdate),
    BookTicker { market: MarketId, bid: Option<Level>, ask: Option<Level>, update_id: u64, time: Timestamp },
    Trade { market: MarketId, trade: TradeView, buyer_order: OrderId, seller_order: OrderId },
    Order(OrderUpdate),
    Balance { account: AccountId, asset: AssetId, balance: Balance, time: Timestamp },
    MarkPrice(MarkPriceUpdate),
    OpenInterest { market: MarketId, open_interest: Lots, time: Timestamp },
    Position(PositionUpdate),
    Liquidation(LiquidationUpdate),
}

/// When the funding interval running at `time` in a perpetual market ends. The read model's
/// market is as the last batch left it: if its interval has ended since, this batch paid it and
/// the next one runs.
fn next_funding(views: &Views, market: MarketId, time: Timestamp) -> Option<Timestamp> {
    let view = views.markets.get(usize::from(market.0))?;
    match &view.perp {
        Some(perp) => Some(perp.next_funding(time)),
        // Listed in this batch.
        None => view.spec.kind.perp().map(|spec| spec.interval_end(time)),
    }
}

/// A position change seen this batch, valued once the batch is folded in.
#[derive(Debug)]
struct PositionChange {
    account: AccountId,
    market: MarketId,
    event: PositionEvent,
    position: PerpPosition,
    time: Timestamp,
}

/// Everything one engine batch changed that streams carry.
#[derive(Clone, Debug)]
pub struct Batch {
    pub catalogue: Arc<Catalogue>,
    pub updates: Vec<Update>,
    /// Wall-clock microseconds when the engine thread handed the batch over (frames' `E`).
    pub emitted: Timestamp,
}

/// Builds a [`Batch`] while the publisher folds one engine batch.
#[derive(Debug)]
pub struct Collector {
    sink: Sink,
    catalogue: Arc<Catalogue>,
    updates: Vec<Update>,
    /// (market, side, price) of levels the batch touched.
    touched: Vec<(MarketId, Side, Ticks)>,
    /// Index in `updates` of each order's latest fill this batch, to mark it Filled when the
    /// order closes (a quote-sized market order knows it is done only then).
    last_fill: Vec<(OrderId, usize)>,
    /// Position changes of the batch, in order.
    positions: Vec<PositionChange>,
    /// Per market, the minute `openInterest` was last sent in.
    open_interest_minute: HashMap<MarketId, u64>,
    last_time: Timestamp,
}

impl Collector {
    pub fn new(sink: Sink) -> Collector {
        Collector {
            sink,
            catalogue: Arc::default(),
            updates: Vec::new(),
            touched: Vec::new(),
            last_fill: Vec::new(),
            positions: Vec::new(),
            open_interest_minute: HashMap::new(),
            last_time: Timestamp(0),
        }
    }

    fn order_update(&mut self, order: Option<&OrderView>, event: OrderEvent, time: Timestamp) {
        if let Some(order) = order {
            self.updates.push(Update::Order(OrderUpdate { event, order: order.clone(), time }));
        }
    }

    /// Sees one event after the read model folded it.
    /// One event, after the read models folded it in; `closed` is the order an `OrderClosed`
    /// took off the open list.
    pub fn observe(&mut self, views: &Views, time: Timestamp, event: &Event, closed: Option<&OrderView>) {
        self.last_time = time;
        let open = |account: AccountId, order: OrderId| views.accounts.get(&account).and_then(|a| a.open.get(&order));
        match *event {
            Event::OrderAccepted { order, new } => {
                self.order_update(open(new.account, order), OrderEvent::Accepted, time);
            }
            Event::Trade(trade) => {
                let maker_side = trade.taker_side.opposite();
                self.touched.push((trade.market, maker_side, trade.price));
                let (buyer_order, seller_order) = match trade.taker_side {
                    Side::Bid => (trade.taker_order, trade.maker_order),
                    Side::Ask => (trade.maker_order, trade.taker_order),
                };
                let view = TradeView {
                    id: trade.id,
                    price: trade.price,
                    quantity: trade.quantity,
                    quote: trade.notional(),
                    buyer_is_maker: trade.taker_side == Side::Ask,
                    time,
                };
                self.updates.push(Update::Trade { market: trade.market, trade: view, buyer_order, seller_order });
                // The exchange's orders are always the taker.
                if open(trade.taker_account, trade.taker_order).is_some_and(|v| v.system_order_type.is_some()) {
                    self.updates.push(Update::Liquidation(LiquidationUpdate {
                        market: trade.market,
                        side: trade.taker_side,
                        quantity: trade.quantity,
                        price: FinePrice::from_ticks(trade.price),
                        time,
                    }));
                }
                let sides = [
                    (trade.taker_account, trade.taker_order, trade.taker_fee, false),
                    (trade.maker_account, trade.maker_order, trade.maker_fee, true),
                ];
                for (account, order, fee, is_maker) in sides {
                    let Some(view) = open(account, order) else { continue };
                    let mut view = view.clone();
                    if view.quantity == Some(view.executed) {
                        view.status = OrderStatus::Filled;
                    }
                    let fill = Fill { trade: trade.id, price: trade.price, quantity: trade.quantity, is_maker, fee };
                    self.last_fill.retain(|(o, _)| *o != order);
                    self.last_fill.push((order, self.updates.len()));
                    self.order_update(Some(&view), OrderEvent::Fill(fill), time);
                }
            }
            Event::OrderRested { order, account, market, .. } => {
                if let Some(limit) = open(account, order).and_then(|v| v.limit.map(|p| (v.side, p))) {
                    self.touched.push((market, limit.0, limit.1));
                }
            }
            Event::OrderClosed { order, account, market, status, .. } => {
                let Some(closed) = closed.filter(|v| v.id == order && v.account == account) else { return };
                if let Some(price) = closed.limit {
                    self.touched.push((market, closed.side, price));
                }
                match status {
                    OrderStatus::Cancelled => self.order_update(Some(closed), OrderEvent::Cancelled, time),
                    OrderStatus::Expired => self.order_update(Some(closed), OrderEvent::Expired, time),
                    OrderStatus::Filled => {
                        let at = self.last_fill.iter().find(|(o, _)| *o == order).map(|(_, at)| *at);
                        if let Some(Update::Order(update)) = at.and_then(|at| self.updates.get_mut(at)) {
                            update.order.status = OrderStatus::Filled;
                        }
                    }
                    _ => {}
                }
            }
            Event::MarkPriceSet { market, index, mark, funding_rate, open_interest } => {
                let Some(next_funding) = next_funding(views, market, time) else { return };
                let update = MarkPriceUpdate { market, mark, index, funding_rate, next_funding, time };
                self.updates.push(Update::MarkPrice(update));
                let minute = time.0 / OPEN_INTEREST_EVERY_MICROS;
                if self.open_interest_minute.insert(market, minute) != Some(minute) {
                    self.updates.push(Update::OpenInterest { market, open_interest, time });
                }
            }
            Event::PositionChanged { account, market, position, .. } => {
                let event = PositionEvent::between(self.size_before(views, account, market), position.size);
                self.positions.push(PositionChange { account, market, event, position, time });
            }
            Event::PositionTransferred(transfer) => {
                let Some(lots) = transfer.lots.checked_abs() else { return };
                self.updates.push(Update::Liquidation(LiquidationUpdate {
                    market: transfer.market,
                    side: if transfer.lots < 0 { Side::Ask } else { Side::Bid },
                    quantity: Lots(lots),
                    price: transfer.price,
                    time,
                }));
            }
            // Realization leaves the size as it is; a flat position's leftovers are no position.
            Event::PnlRealized { account, market, position, .. } if position.size != 0 => {
                let event = PositionEvent::Adjusted;
                self.positions.push(PositionChange { account, market, event, position, time });
            }
            _ => {}
        }
    }

    /// An account's size in a market before the change now seen: as an earlier change of this
    /// batch left it, or else as the read model holds it (the batch's changes are folded into
    /// it only at the end).
    fn size_before(&self, views: &Views, account: AccountId, market: MarketId) -> i64 {
        let earlier = self.positions.iter().rev().find(|c| c.account == account && c.market == market);
        earlier.map(|c| c.position.size).unwrap_or_else(|| {
            let holdings = views.accounts.get(&account).map_or(&[][..], |a| &a.perps[..]);
            holdings.iter().find(|h| h.market == market).map_or(0, |h| h.position.size)
        })
    }

    /// A balance the batch changed (called with the value before and after).
    pub fn balance(&mut self, account: AccountId, asset: AssetId, before: Balance, after: Balance) {
        if before != after {
            self.updates.push(Update::Balance { account, asset, balance: after, time: self.last_time });
        }
    }

    /// A market whose depth was republished: the levels the batch touched, read from the
    /// engine, and the top of book if it moved.
    pub fn depth(&mut self, engine: &Engine, market: MarketId, before: &Depth, after: &Depth) {
        if after.update_id != before.update_id {
            let mut bids = Vec::new();
            let mut asks = Vec::new();
            for &(m, side, price) in &self.touched {
                if m != market {
                    continue;
                }
                let level = (price, engine.level_quantity(market, side, price));
                match side {
                    Side::Bid => bids.push(level),
                    Side::Ask => asks.push(level),
                }
            }
            for side in [&mut bids, &mut asks] {
                side.sort_unstable_by_key(|&(price, _)| price);
                side.dedup_by_key(|&mut (price, _)| price);
            }
            self.updates.push(Update::Depth(DepthUpdate {
                market,
                first: before.update_id + 1,
                last: after.update_id,
                bids,
                asks,
                time: after.time,
            }));
        }
        let (bid, ask) = (after.bids.first().copied(), after.asks.first().copied());
        if (bid, ask) != (before.bids.first().copied(), before.asks.first().copied()) {
            self.updates.push(Update::BookTicker { market, bid, ask, update_id: after.update_id, time: after.time });
        }
    }

    /// Hands the batch over (never blocks) and starts the next.
    pub fn finish(&mut self, views: &Views) {
        self.touched.clear();
        self.last_fill.clear();
        for change in self.positions.drain(..) {
            let Some(figures) = positions::figures(views, change.account, change.market, change.position) else {
                continue;
            };
            let PositionChange { account, event, time, .. } = change;
            self.updates.push(Update::Position(PositionUpdate { account, event: Some(event), figures, time }));
        }
        if self.catalogue.assets.len() != views.assets.len() || self.catalogue.markets.len() != views.markets.len() {
            self.catalogue = Arc::new(Catalogue {
                assets: views.assets.clone(),
                markets: views.markets.iter().map(|m| m.spec).collect(),
            });
        }
        if self.updates.is_empty() {
            return;
        }
        let updates = std::mem::take(&mut self.updates);
        self.sink.send(Batch { catalogue: self.catalogue.clone(), updates, emitted: super::wall_clock() });
    }
}
