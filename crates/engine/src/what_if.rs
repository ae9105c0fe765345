//! "What if": the largest borrow, withdrawal or order an account could make now, answered by
//! the engine's own code on a scratch engine that holds just that account, its open orders, and
//! the venue's assets, markets, prices and pools. A limit is found by bisection over real
//! commands, so the answer is exact by construction: that amount is accepted, one unit more is
//! refused (at the same time and prices).
//!
//! The books hold only the account's own orders, which is all a limit order's checks depend
//! on; a market order's cost would depend on the rest of the book and is not answered here.

use rucksack_types::{
    AccountId, AccountSettings, Amount, AssetSpec, ClientId, Command, Lots, MarketId, MarketSpec, OrderId,
    PerpPosition, Reject, SelfTradePrevention, Seq, Sequenced, Side, Ticks, TimeInForce, Timestamp,
};

use crate::book::Book;
use crate::book::arena::{NIL, RestingOrder};
use crate::engine::{Engine, Market};
use crate::ledger::Balance;
use crate::lending::PoolPosition;
use crate::money_market::RiskState;
use crate::perp::{PerpHolding, PerpMarket};

/// The venue as a read model holds it.
#[derive(Clone, Copy, Debug)]
pub struct Venue<'a> {
    pub assets: &'a [AssetSpec],
    pub markets: &'a [MarketSpec],
    /// Per market, a perpetual market's state (its mark, funding index and open interest).
    pub perps: &'a [Option<PerpMarket>],
    pub risk: &'a RiskState,
    pub time: Timestamp,
}

/// One open order of the account.
#[derive(Clone, Copy, Debug)]
pub struct OpenOrder {
    pub id: OrderId,
    pub market: MarketId,
    pub side: Side,
    pub price: Ticks,
    pub quantity: Lots,
    pub remaining: Lots,
    pub executed_quote: Amount,
    pub time_in_force: TimeInForce,
    pub client_id: Option<ClientId>,
    pub created_at: Timestamp,
}

/// The account as a read model holds it.
#[derive(Clone, Debug)]
pub struct AccountSnapshot {
    pub id: AccountId,
    pub balances: Vec<Balance>,
    pub positions: Vec<PoolPosition>,
    pub settings: AccountSettings,
    pub orders: Vec<OpenOrder>,
    /// Perpetual positions, in market order.
    pub perps: Vec<(MarketId, PerpPosition)>,
}

/// A scratch engine for one account's what-if questions.
#[derive(Clone, Debug)]
pub struct WhatIf {
    engine: Engine,
    time: Timestamp,
}

impl WhatIf {
    pub fn new(venue: &Venue<'_>, account: &AccountSnapshot) -> Result<WhatIf, Reject> {
        let mut engine = Engine::new();
        engine.set_invariant_checks(false);
        engine.time = venue.time;
        for asset in venue.assets {
            engine.assets.push(*asset);
            engine.ledger.add_asset();
            engine.risk.add_asset();
        }
        for (index, spec) in venue.markets.iter().enumerate() {
            let base = engine.assets.get(usize::from(spec.base.0)).ok_or(Reject::UnknownAsset)?;
            let quote = engine.assets.get(usize::from(spec.quote.0)).ok_or(Reject::UnknownAsset)?;
            let scale = spec.scale(base, quote).map_err(Reject::InvalidSpec)?;
            let perp = venue.perps.get(index).cloned().flatten();
            if perp.is_some() != spec.kind.perp().is_some() {
                return Err(Reject::UnknownMarket);
            }
            engine.markets.push(Market { spec: *spec, scale, book: Book::default(), perp, last_price: None });
        }
        let assets = engine.assets.len();
        if venue.risk.specs.len() != assets {
            return Err(Reject::UnknownAsset);
        }
        engine.risk = venue.risk.clone();
        let index = engine.ledger.find_or_open(account.id);
        {
            let state = engine.ledger.account_mut(index);
            state.balances = pad(&account.balances, assets);
            state.positions = pad(&account.positions, assets);
            state.settings = account.settings;
            state.perps = account
                .perps
                .iter()
                .filter(|(market, _)| venue.perps.get(usize::from(market.0)).is_some_and(Option::is_some))
                .map(|&(market, position)| PerpHolding { market, position, ..PerpHolding::default() })
                .collect();
        }
        let mut orders = account.orders.clone();
        orders.sort_unstable_by_key(|o| o.id);
        for order in orders {
            if usize::from(order.market.0) >= engine.markets.len() || !order.remaining.is_positive() {
                continue;
            }
            let handle = engine.orders.insert(RestingOrder {
                id: order.id,
                account: index,
                market: order.market,
                side: order.side,
                time_in_force: order.time_in_force,
                self_trade_prevention: SelfTradePrevention::RejectTaker,
                client_id: order.client_id,
                price: order.price,
                quantity: order.quantity,
                remaining: order.remaining,
                executed_quote: order.executed_quote,
                created_at: order.created_at,
                reserved_per_lot: engine.reservation(usize::from(order.market.0), order.side, order.price, Lots(1))?,
                counted: std::cell::Cell::new(false),
                reduce_only: false,
                level: 0,
                prev: NIL,
                next: NIL,
                account_prev: NIL,
                account_next: NIL,
            });
            engine.markets[usize::from(order.market.0)].book.push(&mut engine.orders, handle);
            engine.remember_resting(handle);
            engine.next_order_id = engine.next_order_id.max(order.id.0 + 1);
        }
        Ok(WhatIf { engine, time: venue.time })
    }

    /// Whether the engine would accept `command` now.
    pub fn accepts(&self, command: Command) -> bool {
        let mut engine = self.engine.clone();
        let seq = Seq(engine.last_seq.0 + 1);
        engine.apply(&Sequenced { seq, time: self.time, command }).is_ok()
    }

    /// The largest `n` in `0..=upper` for which `command(n)` is accepted, assuming acceptance
    /// only ever stops as `n` grows (more of anything is never easier to afford).
    pub fn largest(&self, upper: i64, command: impl Fn(i64) -> Command) -> i64 {
        let (mut accepted, mut refused) = (0i64, upper.saturating_add(1));
        if upper > 0 && self.accepts(command(upper)) {
            return upper;
        }
        while refused - accepted > 1 {
            let middle = accepted + (refused - accepted) / 2;
            if self.accepts(command(middle)) {
                accepted = middle;
            } else {
                refused = middle;
            }
        }
        accepted
    }
}

fn pad<T: Clone + Default>(values: &[T], len: usize) -> Vec<T> {
    let mut padded = values.to_vec();
    padded.resize(len, T::default());
    padded
}
