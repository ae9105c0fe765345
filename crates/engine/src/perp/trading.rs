//! Trading perpetuals: the checks an order passes, what a fill does to the two positions, and
//! the open-order sums the margin rule reads.

use rucksack_types::{
    Amount, Event, ExpiryReason, FinePrice, Lots, MarketSize, NewOrder, OrderSpec, OrderStatus, Reject, Rounding,
    SelfTradePrevention, Side, Ticks,
};

use crate::book::arena::{AccountIndex, Handle, NIL};
use crate::engine::Engine;
use crate::margin::perp::OpenSide;
use crate::margin_check::NewExposure;
use crate::perp::{PerpHolding, PerpMarket};

impl Engine {
    pub(crate) fn perp(&self, market_index: usize) -> Option<&PerpMarket> {
        self.markets[market_index].perp.as_ref()
    }

    /// The account's holding in a perpetual market, if it has one.
    pub(crate) fn perp_holding(&self, index: AccountIndex, market_index: usize) -> Option<&PerpHolding> {
        let market = rucksack_types::MarketId(market_index as u16);
        self.ledger.account(index).perps.iter().find(|h| h.market == market)
    }

    /// The account's holding in a perpetual market, opened empty if it has none. Pending funding
    /// is left pending: only a change of size needs it applied first.
    pub(crate) fn perp_holding_mut(&mut self, index: AccountIndex, market_index: usize) -> &mut PerpHolding {
        let market = rucksack_types::MarketId(market_index as u16);
        let cumulative = self.markets[market_index].perp.as_ref().map_or(0, |p| p.cumulative_funding);
        let perps = &mut self.ledger.account_mut(index).perps;
        let at = match perps.binary_search_by_key(&market, |h| h.market) {
            Ok(at) => at,
            Err(at) => {
                let mut holding = PerpHolding { market, ..PerpHolding::default() };
                holding.position.funding_index = cumulative;
                perps.insert(at, holding);
                at
            }
        };
        &mut perps[at]
    }

    /// The checks a perpetual order passes before anything changes: open interest and the
    /// margin rule. An order that can only shrink the account's position is not limited by open
    /// interest, and passes the margin rule whenever the account is already beyond it.
    pub(crate) fn check_perp_order(
        &self,
        account: AccountIndex,
        market_index: usize,
        new: &NewOrder,
        limit: Option<Ticks>,
    ) -> Result<(), Reject> {
        let perp = self.perp(market_index).ok_or(Reject::UnknownMarket)?;
        let open = self.new_open_side(account, market_index, new, limit)?;
        let size = self.perp_holding(account, market_index).map_or(0, |h| h.position.size);
        let resting_same_side = self.perp_holding(account, market_index).map_or(0, |h| match new.side {
            Side::Bid => h.bids.lots,
            Side::Ask => h.asks.lots,
        });
        let reduces = match new.side {
            Side::Bid => size < 0 && open.lots + resting_same_side <= -size,
            Side::Ask => size > 0 && open.lots + resting_same_side <= size,
        };
        if !reduces && perp.open_interest.saturating_add(open.lots) > perp.spec.open_interest_limit.0 {
            return Err(Reject::OpenInterestLimit);
        }
        // No account's position, with all its orders on one side filled, may pass twice the
        // open-interest limit: positions stay far inside the range their values were checked
        // for at listing, so no fill can overflow.
        let (bids, asks) = self.perp_holding(account, market_index).map_or((0, 0), |h| (h.bids.lots, h.asks.lots));
        let (bids, asks) = match new.side {
            Side::Bid => (bids.saturating_add(open.lots), asks),
            Side::Ask => (bids, asks.saturating_add(open.lots)),
        };
        let largest = size.saturating_add(bids).max(asks.saturating_sub(size)).max(size.saturating_abs());
        if largest > perp.spec.open_interest_limit.0.saturating_mul(2) {
            return Err(Reject::OpenInterestLimit);
        }
        if self.system_order.is_some() {
            return Ok(());
        }
        let (before, after) =
            self.worst_case_pair(account, Some(NewExposure::Perp { market: market_index, side: new.side, open }))?;
        // An account already beyond initial margin may always shrink its position; any other
        // order (a reducing one too) must not take the account beyond it.
        if reduces && !before.within_initial_margin() {
            return Ok(());
        }
        if after.free_equity() < before.free_equity() {
            self.require_fresh_base(market_index)?;
        }
        self.judge(account, &before, &after)
    }

    /// What a new order adds to its side's open orders for the margin rule: a limit order all at
    /// its limit; a market order what it would take from the book now, within `limit` (it never
    /// rests).
    fn new_open_side(
        &self,
        account: AccountIndex,
        market_index: usize,
        new: &NewOrder,
        limit: Option<Ticks>,
    ) -> Result<OpenSide, Reject> {
        let market = &self.markets[market_index];
        let fee_per_lot = |price: Ticks| {
            market.scale.fee(price, Lots(1), market.spec.taker_fee_bps.max(market.spec.maker_fee_bps), Rounding::Up)
        };
        match new.spec {
            OrderSpec::Limit { price, quantity, .. } => {
                FinePrice::from_ticks(price).0.checked_mul(i128::from(quantity.0)).ok_or(Reject::Overflow)?;
                Ok(OpenSide::at(price.0, quantity.0, fee_per_lot(price)?.checked_mul(quantity.0)?.0))
            }
            OrderSpec::Market { size, .. } => {
                let mut open = OpenSide::default();
                let (mut lots_left, mut budget) = match size {
                    MarketSize::Base(lots) => (lots.0, None),
                    MarketSize::Quote(budget) => (i64::MAX, Some(budget.0)),
                };
                let book = &market.book;
                'levels: for (price, level) in book.ladder(new.side.opposite()).iter_best_first() {
                    let beyond = match new.side {
                        Side::Bid => limit.is_some_and(|l| price > l),
                        Side::Ask => limit.is_some_and(|l| price < l),
                    };
                    if beyond {
                        break;
                    }
                    let mut handle = book.level(level).head;
                    while handle != NIL && lots_left > 0 {
                        let maker = self.orders.get(handle);
                        handle = maker.next;
                        if maker.account == account {
                            match new.self_trade_prevention {
                                SelfTradePrevention::RejectMaker => continue,
                                _ => break 'levels,
                            }
                        }
                        let mut take = lots_left.min(maker.remaining.0);
                        if let Some(budget) = &mut budget {
                            take = take.min(market.scale.lots_within(price, Amount(*budget)).0);
                            if take == 0 {
                                break 'levels;
                            }
                            *budget -= market.scale.quote_amount(price, Lots(take), Rounding::Up)?.0;
                        }
                        lots_left -= take;
                        open = open.plus(OpenSide::at(price.0, take, fee_per_lot(price)?.0 * take));
                    }
                    if lots_left == 0 {
                        break;
                    }
                }
                Ok(open)
            }
        }
    }

    /// Settles one perpetual fill of `lots` at `price`: the buyer's position grows by them, the
    /// seller's shrinks, and each side's fee is folded into its position.
    pub(crate) fn settle_perp_fill(
        &mut self,
        market_index: usize,
        buyer: (AccountIndex, Amount),
        seller: (AccountIndex, Amount),
        price: Ticks,
        lots: Lots,
    ) {
        for ((index, fee), signed) in [(buyer, lots.0), (seller, -lots.0)] {
            let (fine, cumulative) = self.markets[market_index]
                .perp
                .as_ref()
                .map_or((0, 0), |p| (p.fine_per_quote_unit, p.cumulative_funding));
            let holding = self.perp_holding_mut(index, market_index);
            apply_funding(holding, cumulative);
            let before = holding.position.size;
            // Bounded at listing: sizes stay within the open-interest limit, whose value at the
            // highest price fits.
            let _ = holding.position.fill(signed, price);
            holding.position.open_value += i128::from(fee.0) * fine;
            holding.position.unsettled_fees += fee.0;
            let (after, position) = (holding.position.size, holding.position);
            if let Some(perp) = self.markets[market_index].perp.as_mut() {
                perp.open_interest += after.max(0) - before.max(0);
                perp.fees_charged += i128::from(fee.0);
                perp.last_trade = Some(price);
            }
            let account = self.ledger.account(index).id;
            self.events.push(Event::PositionChanged {
                account,
                market: rucksack_types::MarketId(market_index as u16),
                fee,
                position,
            });
        }
    }

    /// Adds (or removes) a resting perpetual order to (from) its account's open-order sums.
    pub(crate) fn track_perp_order(&mut self, handle: Handle, add: bool) {
        let (account, market, side, price, lots, reduce_only) = {
            let order = self.orders.get(handle);
            (order.account, usize::from(order.market.0), order.side, order.price, order.remaining, order.reduce_only)
        };
        let spec = self.markets[market].spec;
        let scale = self.markets[market].scale;
        let fee =
            scale.fee(price, Lots(1), spec.taker_fee_bps.max(spec.maker_fee_bps), Rounding::Up).unwrap_or_default();
        let open = OpenSide::at(price.0, lots.0, fee.0 * lots.0);
        let holding = self.perp_holding_mut(account, market);
        let sum = match side {
            Side::Bid => &mut holding.bids,
            Side::Ask => &mut holding.asks,
        };
        *sum = if add { sum.plus(open) } else { sum.minus(open) };
        // A filled maker is taken out once more with nothing left: that counts for nothing.
        if reduce_only && lots.is_positive() {
            holding.reduce_only_orders =
                if add { holding.reduce_only_orders + 1 } else { holding.reduce_only_orders - 1 };
        }
    }
}

/// Applies funding since the position last saw the market's cumulative index.
pub(crate) fn apply_funding(holding: &mut PerpHolding, cumulative: i128) {
    let owed = holding.pending_funding(cumulative);
    if owed != 0 {
        let position = &mut holding.position;
        position.open_value += owed;
        position.unsettled_funding -= owed;
        position.cumulative_funding -= owed;
    }
    holding.position.funding_index = cumulative;
}

impl Engine {
    /// A limit order's price must be within the limit band around the active price: the median
    /// of best bid, best ask and last trade (of those there are; of two, their midpoint).
    pub(crate) fn check_limit_band(&self, market_index: usize, price: Ticks) -> Result<(), Reject> {
        let market = &self.markets[market_index];
        let Some(perp) = &market.perp else { return Ok(()) };
        let mut known: Vec<i64> = [market.book.best_bid(), market.book.best_ask(), perp.last_trade]
            .into_iter()
            .flatten()
            .map(|t| t.0)
            .collect();
        if known.is_empty() {
            return Ok(());
        }
        known.sort_unstable();
        // The median of three; of two, their midpoint.
        let active = match known[..] {
            [one] => i128::from(one),
            [low, high] => (i128::from(low) + i128::from(high)) / 2,
            _ => i128::from(known[1]),
        };
        let bands = &perp.spec.bands;
        let low = bands.limit_min.of(active, Rounding::Up).unwrap_or(0);
        let high = bands.limit_max.of(active, Rounding::Down).unwrap_or(i128::MAX);
        if (low..=high).contains(&i128::from(price.0)) { Ok(()) } else { Err(Reject::PriceBand) }
    }

    /// The furthest price a taker on `side` may fill at: the touch times the impact band, and
    /// the five-minute mean mark times its band, whichever is tighter. `None` if neither binds.
    pub(crate) fn taker_band(&self, market_index: usize, side: Side) -> Option<Ticks> {
        let market = &self.markets[market_index];
        let perp = market.perp.as_ref()?;
        let bands = &perp.spec.bands;
        let (touch, impact, mean_band, rounding) = match side {
            Side::Bid => (market.book.best_ask(), bands.impact_max, bands.mean_mark_max, Rounding::Down),
            Side::Ask => (market.book.best_bid(), bands.impact_min, bands.mean_mark_min, Rounding::Up),
        };
        let by_impact = touch.and_then(|t| impact.of(i128::from(t.0), rounding).ok());
        let by_mean = perp.mean_mark.and_then(|mean| {
            let ticks = rucksack_types::money::div_round(mean.0, rucksack_types::perp::FINE_PER_TICK, rounding).ok()?;
            mean_band.of(ticks, rounding).ok()
        });
        let tighter = match (by_impact, by_mean, side) {
            (Some(a), Some(b), Side::Bid) => Some(a.min(b)),
            (Some(a), Some(b), Side::Ask) => Some(a.max(b)),
            (a, b, _) => a.or(b),
        }?;
        // A band beyond every price the market allows does not bind.
        let bound = tighter.clamp(i128::from(market.spec.min_price.0), i128::from(market.spec.max_price.0));
        (bound == tighter).then_some(Ticks(bound as i64))
    }

    /// The most a reduce-only order may be for: the position it reduces, less the account's
    /// other reduce-only orders resting on the same side. `None` when the order's side does not
    /// reduce the position or nothing is left.
    pub(crate) fn reduce_only_cap(&self, account: AccountIndex, market_index: usize, side: Side) -> Option<Lots> {
        let size = self.perp_holding(account, market_index).map_or(0, |h| h.position.size);
        let reduces = match side {
            Side::Bid => size < 0,
            Side::Ask => size > 0,
        };
        if !reduces {
            return None;
        }
        let resting =
            self.reduce_only_orders(account, market_index).filter(|&(_, s, _)| s == side).map(|(_, _, l)| l.0);
        let cap = size.abs() - resting.sum::<i64>();
        (cap > 0).then_some(Lots(cap))
    }

    /// The account's resting reduce-only orders in a market, oldest first: handle, side,
    /// remaining.
    fn reduce_only_orders(
        &self,
        account: AccountIndex,
        market_index: usize,
    ) -> impl Iterator<Item = (Handle, Side, Lots)> + '_ {
        let market = rucksack_types::MarketId(market_index as u16);
        let mut handle = self.ledger.account(account).orders_head;
        std::iter::from_fn(move || {
            while handle != NIL {
                let current = handle;
                let order = self.orders.get(current);
                handle = order.account_next;
                if order.reduce_only && order.market == market {
                    return Some((current, order.side, order.remaining));
                }
            }
            None
        })
    }

    /// After a command changed positions: each account's resting reduce-only orders shrink (oldest
    /// first keeping their place) so that together they never exceed the position they reduce,
    /// and those on a side that no longer reduces expire.
    pub(crate) fn fit_reduce_only_orders(&mut self, first_event: usize) {
        let mut changed: Vec<(AccountIndex, usize)> = self.events[first_event..]
            .iter()
            .filter_map(|e| match *e {
                Event::PositionChanged { account, market, .. } => {
                    self.ledger.find(account).map(|index| (index, usize::from(market.0)))
                }
                _ => None,
            })
            .collect();
        changed.sort_unstable();
        changed.dedup();
        for (account, market_index) in changed {
            let Some(holding) = self.perp_holding(account, market_index).filter(|h| h.reduce_only_orders > 0) else {
                continue;
            };
            let size = holding.position.size;
            let mut room = size.abs();
            let orders: Vec<_> = self.reduce_only_orders(account, market_index).collect();
            for (handle, side, remaining) in orders {
                let reduces = (side == Side::Bid && size < 0) || (side == Side::Ask && size > 0);
                if !reduces || room == 0 {
                    self.close_resting(handle, OrderStatus::Expired, Some(ExpiryReason::ReduceOnlyNotReduced));
                    continue;
                }
                if remaining.0 > room {
                    self.shrink_resting(handle, Lots(remaining.0 - room));
                }
                room -= remaining.0.min(room);
            }
        }
    }

    /// Takes `lots` off a resting order's quantity and remaining, keeping its place in the queue.
    fn shrink_resting(&mut self, handle: Handle, lots: Lots) {
        self.uncount_resting(handle);
        let market_index = usize::from(self.orders.get(handle).market.0);
        self.markets[market_index].book.reduce(&mut self.orders, handle, lots);
        let order = self.orders.get_mut(handle);
        order.quantity.0 -= lots.0;
        let event = Event::OrderModified {
            order: order.id,
            account: self.ledger.account(order.account).id,
            market: order.market,
            quantity: order.quantity,
            remaining: order.remaining,
        };
        self.count_resting(handle);
        self.events.push(event);
    }
}
