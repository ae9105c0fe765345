//! Placing an order: validation, reservation, matching against the book with price-time
//! priority, settlement of each fill, and resting or expiring what is left.
//!
//! Everything that can refuse the order is checked before the first change; once an order id
//! is assigned the command cannot fail, so a refused order leaves the state untouched.

use rucksack_types::{
    Amount, Event, ExpiryReason, Lots, MarketSize, NewOrder, OrderId, OrderSpec, OrderStatus, Reject, Rounding,
    SelfTradePrevention, Side, Ticks, TimeInForce, Trade, TradeId,
};

use crate::book::arena::{AccountIndex, Handle, NIL, RestingOrder};
use crate::engine::{Engine, Market, bid_reservation_per_lot};

/// Where a taker's spending comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Funding {
    /// A limit order: reserved up front, `per_lot` of it released per lot filled.
    Reserved { per_lot: Amount },
    /// A market order: paid from the available balance fill by fill.
    Available,
}

/// An order that passed its checks, ready to commit.
pub(crate) struct Prepared {
    pub(crate) limit: Option<Ticks>,
    pub(crate) quantity: Lots,
    pub(crate) quote_budget: Option<Amount>,
    pub(crate) funding: Funding,
    pub(crate) killed: bool,
    /// `limit` is a price band's (a perpetual taker's): what it leaves unfilled expires.
    pub(crate) banded: bool,
}

/// Why the taker stopped matching.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Filled its quantity, or spent its quote budget down to less than one lot.
    Complete,
    /// No more acceptable prices on the other side.
    BookExhausted,
    SelfTrade,
    OutOfFunds,
}

struct Taker {
    id: OrderId,
    account: AccountIndex,
    side: Side,
    limit: Option<Ticks>,
    quantity: Lots,
    remaining: Lots,
    quote_budget: Option<Amount>,
    funding: Funding,
    self_trade_prevention: SelfTradePrevention,
    executed: Lots,
    executed_quote: Amount,
    banded: bool,
}

impl Engine {
    pub(crate) fn place_order(&mut self, new: &NewOrder) -> Result<(), Reject> {
        if new.trigger.is_some() {
            return self.place_trigger(new);
        }
        let market_index = self.market_index(new.market)?;
        let account = self.ledger.find(new.account).ok_or(Reject::InsufficientFunds)?;
        self.validate_order(market_index, new)?;
        if new.client_id.is_some_and(|client_id| self.client_in_use(account, client_id)) {
            return Err(Reject::DuplicateClientId);
        }
        let market = &self.markets[market_index];
        if let (TimeInForce::PostOnly, OrderSpec::Limit { price, .. }) = (new.spec.time_in_force(), new.spec) {
            let crosses = match new.side {
                Side::Bid => market.book.best_ask().is_some_and(|ask| ask <= price),
                Side::Ask => market.book.best_bid().is_some_and(|bid| bid >= price),
            };
            if crosses {
                return Err(Reject::PostOnlyWouldTake);
            }
        }
        if market.perp.is_some() {
            return self.place_perp_order(account, market_index, new);
        }
        if new.reduce_only {
            return Err(Reject::ReduceOnlySpot);
        }
        // Spot margin: redeem and borrow what the order needs beyond the available balance, with
        // the health before that for the margin rule. Everything below may still refuse the
        // order; then these steps are undone.
        let (steps, margin_before) = self.fund_order(account, market_index, new)?;
        match self.check_funds_and_margin(account, market_index, new, margin_before.as_ref()) {
            Ok(prepared) => self.execute_order(account, market_index, new, prepared),
            Err(reject) => {
                self.undo_all(steps);
                Err(reject)
            }
        }
    }

    /// The checks that depend on funds and margin, after funding: whether the account can pay,
    /// and whether the order keeps it within the margin rule.
    fn check_funds_and_margin(
        &self,
        account: AccountIndex,
        market_index: usize,
        new: &NewOrder,
        margin_before: Option<&crate::margin::AccountHealth>,
    ) -> Result<Prepared, Reject> {
        self.check_order_margin(account, market_index, new, margin_before)?;
        let market = &self.markets[market_index];
        let time_in_force = new.spec.time_in_force();
        let (limit, quantity, quote_budget) = order_shape(new);
        let spend_asset = self.side_asset(market_index, new.side);
        let available = self.ledger.balance(account, spend_asset).available;
        let funding = match (limit, new.side) {
            (Some(price), Side::Bid) => {
                let per_lot = bid_reservation_per_lot(market, price)?;
                if per_lot.checked_mul(quantity.0)? > available {
                    return Err(Reject::InsufficientFunds);
                }
                Funding::Reserved { per_lot }
            }
            (Some(_), Side::Ask) => {
                let per_lot = Amount(market.scale.base_units_per_lot);
                if market.scale.base_amount(quantity)? > available {
                    return Err(Reject::InsufficientFunds);
                }
                Funding::Reserved { per_lot }
            }
            (None, side) => {
                if !self.can_afford_first_lot(market_index, side, quantity, quote_budget.is_some(), available)? {
                    return Err(Reject::InsufficientFunds);
                }
                Funding::Available
            }
        };
        let fill_or_kill = time_in_force == TimeInForce::Fok;
        let killed =
            fill_or_kill && !self.can_fill_completely(market_index, account, new, limit, quantity, available)?;
        Ok(Prepared { limit, quantity, quote_budget, funding, killed, banded: false })
    }

    /// Commits an order that passed every check: it cannot fail from here on.
    pub(crate) fn execute_order(
        &mut self,
        account: AccountIndex,
        market_index: usize,
        new: &NewOrder,
        prepared: Prepared,
    ) -> Result<(), Reject> {
        let Prepared { limit, quantity, quote_budget, funding, killed, banded } = prepared;
        let time_in_force = new.spec.time_in_force();
        let spend_asset = self.side_asset(market_index, new.side);
        let id = self.take_order_id();
        if let Some(kind) = self.system_order {
            let order = rucksack_types::SystemOrder { order: id, account: new.account, kind };
            self.events.push(Event::SystemOrderPlaced(order));
        }
        self.events.push(Event::OrderAccepted { order: id, new: *new });
        if killed {
            self.push_closed(id, new, OrderStatus::Expired, Some(ExpiryReason::FillOrKill), Lots::ZERO, Amount::ZERO);
            return Ok(());
        }
        if let Funding::Reserved { per_lot } = funding {
            let reserve = Amount(per_lot.0 * quantity.0);
            let balance = self.ledger.balance_mut(account, spend_asset);
            balance.available.0 -= reserve.0;
            balance.locked.0 += reserve.0;
        }
        let mut taker = Taker {
            id,
            account,
            side: new.side,
            limit,
            quantity,
            remaining: quantity,
            quote_budget,
            funding,
            self_trade_prevention: new.self_trade_prevention,
            executed: Lots::ZERO,
            executed_quote: Amount::ZERO,
            banded,
        };
        let stop = self.match_taker(market_index, &mut taker);
        self.finish_taker(market_index, new, &taker, stop, time_in_force);
        Ok(())
    }

    pub(crate) fn validate_order(&self, market_index: usize, new: &NewOrder) -> Result<(), Reject> {
        let spec = &self.markets[market_index].spec;
        let check_quantity = |quantity: Lots| {
            if quantity < spec.min_quantity || quantity > spec.max_quantity {
                Err(Reject::QuantityOutOfBounds)
            } else {
                Ok(())
            }
        };
        match new.spec {
            OrderSpec::Limit { price, quantity, .. } => {
                if price < spec.min_price || price > spec.max_price {
                    return Err(Reject::PriceOutOfBounds);
                }
                check_quantity(quantity)
            }
            OrderSpec::Market { time_in_force: TimeInForce::PostOnly, .. } => Err(Reject::PostOnlyMarketOrder),
            OrderSpec::Market { size: MarketSize::Base(quantity), .. } => check_quantity(quantity),
            OrderSpec::Market { size: MarketSize::Quote(_), time_in_force: TimeInForce::Fok } => {
                Err(Reject::FillOrKillQuoteQuantity)
            }
            OrderSpec::Market { size: MarketSize::Quote(budget), .. } => {
                if budget.is_positive() {
                    Ok(())
                } else {
                    Err(Reject::NonPositiveAmount)
                }
            }
        }
    }

    /// A market order must be able to pay for at least one lot at the best price, otherwise it
    /// is refused outright rather than accepted and expired. An empty book is not a funding
    /// problem: the order is accepted and expires for lack of liquidity.
    fn can_afford_first_lot(
        &self,
        market_index: usize,
        side: Side,
        quantity: Lots,
        by_quote: bool,
        available: Amount,
    ) -> Result<bool, Reject> {
        let market = &self.markets[market_index];
        Ok(match side {
            Side::Bid => match market.book.best_ask() {
                Some(ask) => buy_cost(market, ask, Lots(1))? <= available,
                None => true,
            },
            Side::Ask if by_quote => available.0 >= market.scale.base_units_per_lot,
            Side::Ask => market.scale.base_amount(quantity)? <= available,
        })
    }

    /// Whether a fill-or-kill order would fill completely, walking the book without changing
    /// it, with self-trade prevention applied as the real match would (and, for a market buy,
    /// the cost checked against the available balance).
    pub(crate) fn can_fill_completely(
        &self,
        market_index: usize,
        account: AccountIndex,
        new: &NewOrder,
        limit: Option<Ticks>,
        quantity: Lots,
        available: Amount,
    ) -> Result<bool, Reject> {
        let market = &self.markets[market_index];
        let book = &market.book;
        let mut needed = quantity.0;
        let mut cost = Amount::ZERO;
        for (price, level_index) in book.ladder(new.side.opposite()).iter_best_first() {
            if limit.is_some_and(|limit| !crosses(new.side, limit, price)) {
                break;
            }
            let mut handle = book.level(level_index).head;
            while handle != NIL && needed > 0 {
                let maker = self.orders.get(handle);
                handle = maker.next;
                if maker.account == account {
                    match new.self_trade_prevention {
                        SelfTradePrevention::RejectMaker => continue,
                        SelfTradePrevention::RejectTaker | SelfTradePrevention::RejectBoth => return Ok(false),
                    }
                }
                let lots = Lots(needed.min(maker.remaining.0));
                needed -= lots.0;
                if limit.is_none() && new.side == Side::Bid {
                    cost = cost.checked_add(buy_cost(market, price, lots)?)?;
                }
            }
            if needed == 0 {
                return Ok(cost <= available);
            }
        }
        Ok(false)
    }

    fn match_taker(&mut self, market_index: usize, taker: &mut Taker) -> Stop {
        let opposite = taker.side.opposite();
        loop {
            let Some((price, level_index)) = self.markets[market_index].book.ladder(opposite).best() else {
                return Stop::BookExhausted;
            };
            if taker.limit.is_some_and(|limit| !crosses(taker.side, limit, price)) {
                return Stop::BookExhausted;
            }
            let mut handle = self.markets[market_index].book.level(level_index).head;
            while handle != NIL {
                let (maker_account, maker_remaining, next) = {
                    let maker = self.orders.get(handle);
                    (maker.account, maker.remaining, maker.next)
                };
                if maker_account == taker.account {
                    match taker.self_trade_prevention {
                        SelfTradePrevention::RejectTaker => return Stop::SelfTrade,
                        SelfTradePrevention::RejectMaker => {
                            self.close_resting(handle, OrderStatus::Expired, Some(ExpiryReason::SelfTradePrevention));
                            handle = next;
                            continue;
                        }
                        SelfTradePrevention::RejectBoth => {
                            self.close_resting(handle, OrderStatus::Expired, Some(ExpiryReason::SelfTradePrevention));
                            return Stop::SelfTrade;
                        }
                    }
                }
                let lots = self.fillable_lots(market_index, taker, price, maker_remaining);
                if lots.is_zero() {
                    return if taker
                        .quote_budget
                        .is_some_and(|b| self.markets[market_index].scale.lots_within(price, b).is_zero())
                    {
                        Stop::Complete
                    } else {
                        Stop::OutOfFunds
                    };
                }
                self.fill(market_index, taker, handle, price, lots);
                if taker.remaining.is_zero() {
                    return Stop::Complete;
                }
                if lots < maker_remaining {
                    // The maker still rests: the taker was limited by its budget or funds.
                    break;
                }
                handle = next;
            }
        }
    }

    /// How many lots the taker can take from a maker with `maker_remaining` at `price`, given
    /// its quantity, quote budget and (for a market order) available balance.
    fn fillable_lots(&self, market_index: usize, taker: &Taker, price: Ticks, maker_remaining: Lots) -> Lots {
        let market = &self.markets[market_index];
        let mut lots = taker.remaining.min(maker_remaining);
        if let Some(budget) = taker.quote_budget {
            lots = lots.min(market.scale.lots_within(price, budget));
        }
        if taker.funding == Funding::Available {
            let asset = self.side_asset(market_index, taker.side);
            let available = self.ledger.balance(taker.account, asset).available;
            lots = lots.min(match taker.side {
                Side::Bid => affordable_lots(market, price, available),
                Side::Ask => Lots(available.0 / market.scale.base_units_per_lot),
            });
        }
        lots
    }

    /// Settles one fill between the taker and the resting order at `handle`, at the maker's
    /// price. Buyer pays quote rounded up, seller receives it rounded down, the residue goes to
    /// dust; fees are in the quote asset, charged rounded up, rebates paid rounded down.
    fn fill(&mut self, market_index: usize, taker: &mut Taker, handle: Handle, price: Ticks, lots: Lots) {
        let market = &self.markets[market_index];
        let scale = market.scale;
        // Overflow is impossible here: the market's largest notional was checked at listing.
        let paid = scale.quote_amount(price, lots, Rounding::Up).unwrap_or_default();
        let received = scale.quote_amount(price, lots, Rounding::Down).unwrap_or_default();
        let taker_fee = scale.fee(price, lots, market.spec.taker_fee_bps, Rounding::Up).unwrap_or_default();
        let maker_fee = scale.fee(price, lots, market.spec.maker_fee_bps, Rounding::Up).unwrap_or_default();
        let maker_order = self.orders.get(handle).clone();
        let (reported_paid, received) = if market.perp.is_some() {
            // No quote changes hands: the notional is only reported, unrounded either way.
            let (buyer, seller) = match taker.side {
                Side::Bid => ((taker.account, taker_fee), (maker_order.account, maker_fee)),
                Side::Ask => ((maker_order.account, maker_fee), (taker.account, taker_fee)),
            };
            self.settle_perp_fill(market_index, buyer, seller, price, lots);
            (received, received)
        } else {
            self.settle_spot_fill(market_index, taker, &maker_order, lots, [paid, received, taker_fee, maker_fee]);
            (paid, received)
        };

        taker.remaining.0 -= lots.0;
        taker.executed.0 += lots.0;
        taker.executed_quote.0 += received.0;
        if let Some(budget) = &mut taker.quote_budget {
            budget.0 -= paid.0;
        }

        let market = &mut self.markets[market_index];
        let trade_id = TradeId(market.book.next_trade_id);
        market.book.next_trade_id += 1;
        market.last_price = Some(price);
        // The maker's part in its account's health-lowering set changes with what is left.
        self.uncount_resting(handle);
        let market = &mut self.markets[market_index];
        market.book.reduce(&mut self.orders, handle, lots);
        if self.orders.get(handle).remaining.is_positive() {
            self.count_resting(handle);
        }
        let maker = self.orders.get_mut(handle);
        maker.executed_quote.0 += received.0;
        let maker_done = maker.remaining.is_zero();
        let maker_account_id = self.ledger.account(maker_order.account).id;
        self.events.push(Event::Trade(Trade {
            market: maker_order.market,
            id: trade_id,
            price,
            quantity: lots,
            taker_side: taker.side,
            taker_order: taker.id,
            maker_order: maker_order.id,
            taker_account: self.ledger.account(taker.account).id,
            maker_account: maker_account_id,
            quote_paid: reported_paid,
            quote_received: received,
            taker_fee,
            maker_fee,
        }));
        if maker_done {
            let maker = self.orders.get(handle);
            let closed = Event::OrderClosed {
                order: maker.id,
                account: maker_account_id,
                market: maker.market,
                status: OrderStatus::Filled,
                reason: None,
                executed: maker.executed(),
                executed_quote: maker.executed_quote,
            };
            self.markets[market_index].book.unlink(&mut self.orders, handle);
            self.forget_resting(handle);
            self.events.push(closed);
        }
    }

    /// The spot side of a fill: the buyer pays quote rounded up and receives base, the seller
    /// the reverse with quote rounded down; fees go to the house, the rounding residue to dust.
    fn settle_spot_fill(
        &mut self,
        market_index: usize,
        taker: &Taker,
        maker_order: &RestingOrder,
        lots: Lots,
        [paid, received, taker_fee, maker_fee]: [Amount; 4],
    ) {
        let market = &self.markets[market_index];
        let (base_asset, quote_asset) = (market.spec.base, market.spec.quote);
        let base = Amount(lots.0 * market.scale.base_units_per_lot);
        let maker_per_lot = maker_order.reserved_per_lot;

        // The taker's side of the fill.
        match (taker.side, taker.funding) {
            (Side::Bid, Funding::Reserved { per_lot }) => {
                let quote = self.ledger.balance_mut(taker.account, quote_asset);
                let unlocked = per_lot.0 * lots.0;
                quote.locked.0 -= unlocked;
                quote.available.0 += unlocked - paid.0 - taker_fee.0;
            }
            (Side::Bid, Funding::Available) => {
                self.ledger.balance_mut(taker.account, quote_asset).available.0 -= paid.0 + taker_fee.0;
            }
            (Side::Ask, Funding::Reserved { .. }) => {
                self.ledger.balance_mut(taker.account, base_asset).locked.0 -= base.0;
            }
            (Side::Ask, Funding::Available) => {
                self.ledger.balance_mut(taker.account, base_asset).available.0 -= base.0;
            }
        }
        match taker.side {
            Side::Bid => self.ledger.balance_mut(taker.account, base_asset).available.0 += base.0,
            Side::Ask => self.ledger.balance_mut(taker.account, quote_asset).available.0 += received.0 - taker_fee.0,
        }

        // The maker's side: its reservation pays for the fill.
        match maker_order.side {
            Side::Bid => {
                let quote = self.ledger.balance_mut(maker_order.account, quote_asset);
                let unlocked = maker_per_lot.0 * lots.0;
                quote.locked.0 -= unlocked;
                quote.available.0 += unlocked - paid.0 - maker_fee.0;
                self.ledger.balance_mut(maker_order.account, base_asset).available.0 += base.0;
            }
            Side::Ask => {
                self.ledger.balance_mut(maker_order.account, base_asset).locked.0 -= base.0;
                self.ledger.balance_mut(maker_order.account, quote_asset).available.0 += received.0 - maker_fee.0;
            }
        }
        let quote_index = usize::from(quote_asset.0);
        self.ledger.fees[quote_index].0 += taker_fee.0 + maker_fee.0;
        self.ledger.dust[quote_index].0 += paid.0 - received.0;
    }

    /// Rests what is left of a GTC limit order, or releases its reservation and reports how it
    /// ended.
    fn finish_taker(
        &mut self,
        market_index: usize,
        new: &NewOrder,
        taker: &Taker,
        stop: Stop,
        time_in_force: TimeInForce,
    ) {
        let rests_at = taker.limit.filter(|_| {
            !taker.banded
                && matches!(time_in_force, TimeInForce::Gtc | TimeInForce::PostOnly)
                && !taker.remaining.is_zero()
                && stop == Stop::BookExhausted
        });
        if let Some(price) = rests_at {
            // Only limit orders rest, and a limit order is always funded by reservation.
            let reserved_per_lot = match taker.funding {
                Funding::Reserved { per_lot } => per_lot,
                Funding::Available => Amount::ZERO,
            };
            let handle = self.orders.insert(RestingOrder {
                id: taker.id,
                account: taker.account,
                market: new.market,
                side: new.side,
                time_in_force,
                self_trade_prevention: new.self_trade_prevention,
                client_id: new.client_id,
                price,
                quantity: taker.quantity,
                remaining: taker.remaining,
                executed_quote: taker.executed_quote,
                created_at: self.time,
                reserved_per_lot,
                counted: std::cell::Cell::new(false),
                reduce_only: new.reduce_only,
                level: 0,
                prev: NIL,
                next: NIL,
                account_prev: NIL,
                account_next: NIL,
            });
            self.markets[market_index].book.push(&mut self.orders, handle);
            self.remember_resting(handle);
            self.events.push(Event::OrderRested {
                order: taker.id,
                account: new.account,
                market: new.market,
                remaining: taker.remaining,
                executed: taker.executed,
                executed_quote: taker.executed_quote,
            });
            return;
        }
        if let Funding::Reserved { per_lot } = taker.funding {
            let left = Amount(per_lot.0 * taker.remaining.0);
            let asset = self.side_asset(market_index, taker.side);
            let balance = self.ledger.balance_mut(taker.account, asset);
            balance.locked.0 -= left.0;
            balance.available.0 += left.0;
        }
        let (status, reason) = match stop {
            Stop::Complete => (OrderStatus::Filled, None),
            Stop::SelfTrade => (OrderStatus::Expired, Some(ExpiryReason::SelfTradePrevention)),
            Stop::OutOfFunds => (OrderStatus::Expired, Some(ExpiryReason::InsufficientFunds)),
            Stop::BookExhausted if taker.banded => (OrderStatus::Expired, Some(ExpiryReason::PriceImpact)),
            Stop::BookExhausted => match time_in_force {
                TimeInForce::Ioc if taker.limit.is_some() => {
                    (OrderStatus::Expired, Some(ExpiryReason::ImmediateOrCancel))
                }
                TimeInForce::Fok => (OrderStatus::Expired, Some(ExpiryReason::FillOrKill)),
                _ => (OrderStatus::Expired, Some(ExpiryReason::InsufficientLiquidity)),
            },
        };
        self.push_closed(taker.id, new, status, reason, taker.executed, taker.executed_quote);
    }

    pub(crate) fn push_closed(
        &mut self,
        id: OrderId,
        new: &NewOrder,
        status: OrderStatus,
        reason: Option<ExpiryReason>,
        executed: Lots,
        executed_quote: Amount,
    ) {
        self.events.push(Event::OrderClosed {
            order: id,
            account: new.account,
            market: new.market,
            status,
            reason,
            executed,
            executed_quote,
        });
    }
}

/// An order's limit (none for a market order), quantity (unbounded for a market order by
/// quote budget) and quote budget.
pub(crate) fn order_shape(new: &NewOrder) -> (Option<Ticks>, Lots, Option<Amount>) {
    match new.spec {
        OrderSpec::Limit { price, quantity, .. } => (Some(price), quantity, None),
        OrderSpec::Market { size: MarketSize::Base(quantity), .. } => (None, quantity, None),
        OrderSpec::Market { size: MarketSize::Quote(budget), .. } => (None, Lots::MAX, Some(budget)),
    }
}

/// Whether a taker with `limit` on `side` accepts a maker at `price`.
fn crosses(side: Side, limit: Ticks, price: Ticks) -> bool {
    match side {
        Side::Bid => price <= limit,
        Side::Ask => price >= limit,
    }
}

/// What a market buy of `lots` at `price` costs from the available balance: quote rounded up
/// plus the taker fee rounded up.
pub(crate) fn buy_cost(market: &Market, price: Ticks, lots: Lots) -> Result<Amount, Reject> {
    let cost = market.scale.quote_amount(price, lots, Rounding::Up)?;
    let fee = market.scale.fee(price, lots, market.spec.taker_fee_bps, Rounding::Up)?;
    Ok(cost.checked_add(fee)?)
}

/// The most lots at `price` whose cost and taker fee fit in `available`.
fn affordable_lots(market: &Market, price: Ticks, available: Amount) -> Lots {
    let mut lots = market.scale.lots_within(price, available);
    // Cost plus fee exceeds the fee-free estimate by the fee and at most two rounding units;
    // each lot removed lowers the total by at least one unit, so this settles quickly.
    while lots.is_positive() {
        match buy_cost(market, price, lots) {
            Ok(cost) if cost <= available => break,
            Ok(cost) => {
                let excess = cost.0 - available.0;
                let per_lot = buy_cost(market, price, Lots(1)).map(|c| c.0).unwrap_or(1).max(1);
                lots.0 -= (excess / per_lot).max(1);
            }
            Err(_) => lots.0 /= 2,
        }
    }
    lots.max(Lots::ZERO)
}
