//! The margin rule: no user action may take an account from within initial margin to beyond it.
//!
//! An account's health for the rule is its worst case over its open orders: its holdings now,
//! and its holdings if every open order whose fill would lower its health filled entirely at its
//! limit. Fills then move an account only between states the rule already accepted, so a
//! counterparty's trade cannot push it beyond initial margin; only prices, interest and time can.
//!
//! Accounts without borrows owe nothing and need no margin: the rule costs them nothing.
//!
//! For the others the rule runs on every risk-increasing action, so it is memoised: each
//! asset's part of the account's health, now and in the worst case, is kept with what it was
//! computed from, and the set of health-lowering orders is kept as orders come and go. None of
//! it changes a result; the invariant checks compare all of it with fresh valuations.

use std::cell::RefCell;

use rucksack_types::{Amount, AssetId, MarketSize, NewOrder, OrderSpec, Reject, Rounding, Side};

use crate::book::arena::{AccountIndex, Handle, NIL, RestingOrder};
use crate::engine::Engine;
use crate::lending::PoolPosition;
use crate::margin::{AccountHealth, Holding, Valuation};

/// An account's memoised health parts, one per asset: of its holdings now, and of its
/// holdings with its health-lowering orders filled. Only the margin rule reads and fills them;
/// they never change a result, so they are neither snapshotted nor hashed.
#[derive(Clone, Debug, Default)]
pub(crate) struct MarginMemo {
    now: RefCell<Parts>,
    worst: RefCell<Parts>,
    lowering: RefCell<Lowering>,
}

/// An account's health-lowering resting orders and what they would move if they filled, kept
/// as orders come and go while the unit values they were judged at still hold.
#[derive(Clone, Debug, Default)]
struct Lowering {
    /// Whether the set is current; until the first walk (or after an error) it is not kept.
    judged: bool,
    /// The unit values (per asset) the orders were judged at.
    units: Vec<i128>,
    deltas: Vec<i128>,
    orders: usize,
}

/// Memoised parts and their sum, kept up to date part by part.
#[derive(Clone, Debug, Default)]
struct Parts {
    parts: Vec<MemoPart>,
    total: AccountHealth,
}

/// A holding with `delta` added to what is held, as its orders filling would: what they spend
/// comes out of what they locked (a net spend never exceeds it), what they bring in is
/// available.
fn moved(mut holding: Holding, delta: i128) -> Holding {
    let clamp = |v: i128| Amount(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64);
    if delta < 0 {
        holding.locked = clamp(i128::from(holding.locked.0) + delta);
    } else {
        holding.available = clamp(i128::from(holding.available.0) + delta);
    }
    holding
}

#[derive(Clone, Copy, Debug, Default)]
struct MemoPart {
    /// What `health` was computed from; `None` until it is.
    key: Option<PartKey>,
    health: AccountHealth,
    /// One smallest unit's collateral value in micro-dollars times 2^32, for ranking orders.
    unit_value: i128,
}

/// What a part was computed from: the account's holding of the asset and the asset's version
/// (its parameters, price and pool).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PartKey {
    held: i128,
    shares: i128,
    asset_version: u64,
    leverage: u16,
}

/// One smallest unit's collateral value at the holding's current weight, in micro-dollars
/// times 2^32 (an estimate for ranking orders, not a valuation).
fn unit_value(valuation: &Valuation<'_>, holding: &Holding) -> i128 {
    let (Some(risk), Some(price)) = (valuation.risk, valuation.price) else { return 0 };
    let held = Amount(holding.held().clamp(0, i128::from(i64::MAX)) as i64);
    let weight = risk.haircut.weight_in(price.value(held, valuation.asset.decimals, Rounding::Down), &valuation.flat);
    let per_unit = rucksack_types::decimal::pow10(u32::from(valuation.asset.decimals) + 6).unwrap_or(i128::MAX);
    let scaled = i128::from(price.0).saturating_mul(1 << 32) / per_unit;
    weight.of(scaled, Rounding::Down).unwrap_or(0)
}

/// What a resting order takes and gives if it fills entirely: its reservation, and what it
/// buys or (after the taker fee) fetches at its limit.
fn resting_fill(
    order: &RestingOrder,
    spec: &rucksack_types::MarketSpec,
    scale: &rucksack_types::MarketScale,
) -> Result<OrderFill, Reject> {
    let (base_asset, quote_asset) = (usize::from(spec.base.0), usize::from(spec.quote.0));
    let reserved = order.reserved_per_lot.checked_mul(order.remaining.0)?;
    Ok(match order.side {
        Side::Bid => OrderFill {
            spend_asset: quote_asset,
            spend: reserved,
            receive_asset: base_asset,
            receive: scale.base_amount(order.remaining)?,
        },
        Side::Ask => {
            let quote = scale.quote_amount(order.price, order.remaining, Rounding::Down)?;
            let fee = scale.fee(order.price, order.remaining, spec.taker_fee_bps, Rounding::Up)?;
            OrderFill {
                spend_asset: base_asset,
                spend: reserved,
                receive_asset: quote_asset,
                receive: quote.checked_sub(fee)?,
            }
        }
    })
}

/// What an order takes from one asset and gives in another if it fills entirely.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OrderFill {
    pub spend_asset: usize,
    pub spend: Amount,
    pub receive_asset: usize,
    pub receive: Amount,
}

/// An order the margin rule judges as if it were already open.
#[derive(Clone, Copy, Debug)]
pub(crate) enum NewExposure {
    Spot(OrderFill),
    Perp { market: usize, side: Side, open: crate::margin::perp::OpenSide },
}

impl Engine {
    /// Whether the margin rule applies to the account: it borrows, or holds perpetual positions
    /// or orders.
    pub(crate) fn needs_margin(&self, index: AccountIndex) -> bool {
        let account = self.ledger.account(index);
        !account.perps.is_empty() || account.positions.iter().any(|p| matches!(p, PoolPosition::Borrow(_)))
    }

    /// What a new order of `lots` at `price` spends and receives in full, the fee counted at
    /// the taker rate (the higher).
    pub(crate) fn order_fill(
        &self,
        market: usize,
        side: Side,
        price: rucksack_types::Ticks,
        lots: rucksack_types::Lots,
    ) -> Result<OrderFill, Reject> {
        let market_ref = &self.markets[market];
        let (spec, scale) = (&market_ref.spec, &market_ref.scale);
        let base = scale.base_amount(lots)?;
        let (base_asset, quote_asset) = (usize::from(spec.base.0), usize::from(spec.quote.0));
        Ok(match side {
            Side::Bid => OrderFill {
                spend_asset: quote_asset,
                spend: {
                    let quote = scale.quote_amount(price, lots, Rounding::Up)?;
                    quote.checked_add(scale.fee(price, lots, spec.taker_fee_bps, Rounding::Up)?)?
                },
                receive_asset: base_asset,
                receive: base,
            },
            Side::Ask => {
                let quote = scale.quote_amount(price, lots, Rounding::Down)?;
                let fee = scale.fee(price, lots, spec.taker_fee_bps, Rounding::Up)?;
                OrderFill {
                    spend_asset: base_asset,
                    spend: base,
                    receive_asset: quote_asset,
                    receive: quote.checked_sub(fee)?,
                }
            }
        })
    }

    /// The sum of an account's memoised parts, each part computed again only if its inputs
    /// changed: the account's holdings, moved by `deltas` (per asset, added to what it holds)
    /// when the memo is of its worst case.
    fn summed_parts(&self, index: AccountIndex, memo: &RefCell<Parts>, deltas: Option<&[i128]>) -> AccountHealth {
        let account = self.ledger.account(index);
        let inputs = self.risk_inputs();
        let mut memo = memo.borrow_mut();
        let Parts { parts, total } = &mut *memo;
        if parts.len() != self.assets.len() {
            parts.resize(self.assets.len(), MemoPart::default());
            *total = parts.iter().fold(AccountHealth::default(), |sum, part| sum.plus(&part.health));
        }
        for (asset, part) in parts.iter_mut().enumerate() {
            let delta = deltas.map_or(0, |d| d[asset]);
            let key = self.part_key(index, asset, delta);
            if part.key != Some(key) {
                let holding = moved(self.holding(index, asset), delta);
                let valuation = inputs.valuation(asset);
                let health = AccountHealth::of_holding(&holding, &valuation, account.settings.leverage_limit);
                *total = total.minus(&part.health).plus(&health);
                *part = MemoPart { key: Some(key), health, unit_value: unit_value(&valuation, &holding) };
            }
        }
        *total
    }

    /// Every memoised part that claims to be current equals a fresh valuation of what its key
    /// says it valued: a change that should have invalidated a part and did not would show
    /// here. For the invariant checks.
    pub(crate) fn check_margin_memo(&self) -> Result<(), String> {
        let inputs = self.risk_inputs();
        for (index, account) in self.ledger.accounts.iter().enumerate() {
            let index = index as AccountIndex;
            self.check_lowering(index)?;
            for memo in [&account.margin_memo.now, &account.margin_memo.worst] {
                let memo = memo.borrow();
                let sum = memo.parts.iter().fold(AccountHealth::default(), |sum, part| sum.plus(&part.health));
                if sum != memo.total {
                    return Err(format!(
                        "account {}: memo total {:?}, its parts sum to {sum:?}",
                        account.id, memo.total
                    ));
                }
                for (asset, part) in memo.parts.iter().enumerate() {
                    let Some(key) = part.key else { continue };
                    let current = self.part_key(index, asset, 0);
                    if (key.shares, key.asset_version, key.leverage)
                        != (current.shares, current.asset_version, current.leverage)
                    {
                        continue;
                    }
                    let holding = self.holding(index, asset);
                    let valued = moved(holding, key.held - current.held);
                    let fresh =
                        AccountHealth::of_holding(&valued, &inputs.valuation(asset), account.settings.leverage_limit);
                    if fresh != part.health {
                        return Err(format!(
                            "account {} asset {asset}: memo {:?}, fresh {fresh:?}",
                            account.id, part.health
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// An account's kept health-lowering set equals a fresh judgement of its orders at the
    /// same unit values. For the invariant checks.
    fn check_lowering(&self, index: AccountIndex) -> Result<(), String> {
        let account = self.ledger.account(index);
        let kept = account.margin_memo.lowering.borrow();
        if !kept.judged {
            return Ok(());
        }
        let mut fresh =
            Lowering { judged: true, units: kept.units.clone(), deltas: vec![0; self.assets.len()], orders: 0 };
        let mut handle = account.orders_head;
        while handle != NIL {
            let order = self.orders.get(handle);
            let counted = order.counted.get();
            self.count_into(&mut fresh, order).map_err(|e| e.to_string())?;
            order.counted.set(counted);
            handle = order.account_next;
        }
        if (fresh.orders, &fresh.deltas) != (kept.orders, &kept.deltas) {
            return Err(format!(
                "account {}: kept {} lowering orders moving {:?}, fresh {} moving {:?}",
                account.id, kept.orders, kept.deltas, fresh.orders, fresh.deltas
            ));
        }
        Ok(())
    }

    /// What one asset's part of an account's health depends on, with `delta` added to what the
    /// account holds.
    #[inline]
    fn part_key(&self, index: AccountIndex, asset: usize, delta: i128) -> PartKey {
        let account = self.ledger.account(index);
        let balance = account.balances[asset];
        PartKey {
            held: i128::from(balance.available.0) + i128::from(balance.locked.0) + delta,
            shares: match account.positions[asset] {
                PoolPosition::None => 0,
                PoolPosition::Lend(shares) => shares,
                PoolPosition::Borrow(shares) => -shares,
            },
            asset_version: self.risk.versions[asset],
            leverage: account.settings.leverage_limit,
        }
    }

    /// The margin rule's health before and after `new` is added to the account's open orders:
    /// each the worse of now and of the health-lowering open orders (and `new`) filled at their
    /// limits.
    pub(crate) fn worst_case_pair(
        &self,
        index: AccountIndex,
        new: Option<NewExposure>,
    ) -> Result<(AccountHealth, AccountHealth), Reject> {
        let (spot_new, perp_new) = match new {
            None => (None, None),
            Some(NewExposure::Spot(fill)) => (Some(fill), None),
            Some(NewExposure::Perp { market, side, open }) => (None, Some((market, side, open))),
        };
        // A spot order locks what it would spend: base units it locks no longer back a hedged
        // pair, so the perpetual part after it is judged as if they were locked already.
        let locking = spot_new.map(|fill| (fill.spend_asset, fill.spend));
        let (perps_before, perps_after) = self.perp_worst_pair(index, perp_new, locking)?;
        let (before, after) = self.spot_worst_pair(index, spot_new)?;
        Ok((before.plus(&perps_before), after.plus(&perps_after)))
    }

    /// The spot part of [`Engine::worst_case_pair`].
    fn spot_worst_pair(
        &self,
        index: AccountIndex,
        new: Option<OrderFill>,
    ) -> Result<(AccountHealth, AccountHealth), Reject> {
        let memo = &self.ledger.account(index).margin_memo;
        let now = self.summed_parts(index, &memo.now, None);
        self.refresh_lowering(index)?;
        let lowering = memo.lowering.borrow();
        let deltas = (lowering.orders > 0).then_some(lowering.deltas.as_slice());
        let (base, base_memo) = match deltas {
            None => (now, &memo.now),
            Some(deltas) => (self.summed_parts(index, &memo.worst, Some(deltas)), &memo.worst),
        };
        let worse = |a: AccountHealth, b: AccountHealth| if b.free_equity() < a.free_equity() { b } else { a };
        let before = worse(now, base);
        let after = match new {
            None => before,
            Some(fill) => worse(now, self.with_new_order(index, base, base_memo, deltas, &fill)),
        };
        Ok((before, after))
    }

    pub(crate) fn worst_case_health(
        &self,
        index: AccountIndex,
        new: Option<NewExposure>,
    ) -> Result<AccountHealth, Reject> {
        Ok(self.worst_case_pair(index, new)?.1)
    }

    /// Brings the account's health-lowering set up to date: per asset, what its health-lowering
    /// resting orders would take from and add to its holdings if they filled at their limits.
    ///
    /// Which orders lower health depends on each asset's value per unit. The set and its sums
    /// are kept as orders rest, fill and leave ([`Engine::count_resting`],
    /// [`Engine::uncount_resting`]), judged at the unit values of the last walk; only when those
    /// values have moved (a price, or a holding deep in a haircut's curve) are the orders walked
    /// and judged again.
    fn refresh_lowering(&self, index: AccountIndex) -> Result<(), Reject> {
        let account = self.ledger.account(index);
        let now = account.margin_memo.now.borrow();
        let mut lowering = account.margin_memo.lowering.borrow_mut();
        let same_units = lowering.units.len() == now.parts.len()
            && lowering.units.iter().zip(&now.parts).all(|(unit, part)| *unit == part.unit_value);
        if !(lowering.judged && same_units) {
            lowering.units = now.parts.iter().map(|p| p.unit_value).collect();
            lowering.deltas = vec![0; self.assets.len()];
            lowering.orders = 0;
            lowering.judged = true;
            let mut handle = account.orders_head;
            while handle != NIL {
                let order = self.orders.get(handle);
                order.counted.set(false);
                self.count_into(&mut lowering, order)?;
                handle = order.account_next;
            }
        }
        Ok(())
    }

    /// Adds a resting order to its account's health-lowering set if it lowers health at the
    /// set's unit values.
    fn count_into(&self, lowering: &mut Lowering, order: &RestingOrder) -> Result<(), Reject> {
        let market = &self.markets[usize::from(order.market.0)];
        if market.perp.is_some() {
            // Perpetual orders lock nothing; their open-order sums are kept apart.
            return Ok(());
        }
        let (spec, scale) = (&market.spec, &market.scale);
        let unit = |asset: AssetId| lowering.units.get(usize::from(asset.0)).copied().unwrap_or(0);
        let (base, quote) = (unit(spec.base), unit(spec.quote));
        // What a lot costs or fetches at the order's price, valued in quote, against what the
        // lot itself is worth, valued in base (both times the same factors).
        let fee = i128::from(spec.taker_fee_bps);
        let in_quote = |fee_sign: i128| {
            quote
                .checked_mul(i128::from(order.price.0))
                .and_then(|v| v.checked_mul(scale.quote_num))
                .and_then(|v| v.checked_mul(10_000 + fee_sign * fee))
        };
        let in_base = base
            .checked_mul(i128::from(scale.base_units_per_lot))
            .and_then(|v| v.checked_mul(scale.quote_den))
            .and_then(|v| v.checked_mul(10_000));
        let lowers = match (order.side, in_quote(if order.side == Side::Bid { 1 } else { -1 }), in_base) {
            (Side::Bid, Some(paid), Some(worth)) => paid > worth,
            (Side::Ask, Some(fetched), Some(worth)) => fetched < worth,
            _ => true,
        };
        if lowers {
            let fill = resting_fill(order, spec, scale)?;
            lowering.deltas[fill.spend_asset] -= i128::from(fill.spend.0);
            lowering.deltas[fill.receive_asset] += i128::from(fill.receive.0);
            lowering.orders += 1;
            order.counted.set(true);
        }
        Ok(())
    }

    /// A resting order joined its account's orders (or was partly filled): counts it in the
    /// account's health-lowering set, if the set is being kept.
    pub(crate) fn count_resting(&mut self, handle: Handle) {
        if self.markets[usize::from(self.orders.get(handle).market.0)].perp.is_some() {
            self.track_perp_order(handle, true);
            return;
        }
        let order = self.orders.get(handle);
        let mut lowering = self.ledger.account(order.account).margin_memo.lowering.borrow_mut();
        if lowering.judged && self.count_into(&mut lowering, order).is_err() {
            lowering.judged = false;
        }
    }

    /// A resting order is about to leave its account's orders (or to be partly filled): takes
    /// it out of the account's health-lowering set.
    pub(crate) fn uncount_resting(&mut self, handle: Handle) {
        if self.markets[usize::from(self.orders.get(handle).market.0)].perp.is_some() {
            self.track_perp_order(handle, false);
            return;
        }
        let order = self.orders.get(handle);
        if !order.counted.replace(false) {
            return;
        }
        let mut lowering = self.ledger.account(order.account).margin_memo.lowering.borrow_mut();
        if !lowering.judged {
            return;
        }
        let market = &self.markets[usize::from(order.market.0)];
        match resting_fill(order, &market.spec, &market.scale) {
            Ok(fill) => {
                lowering.deltas[fill.spend_asset] += i128::from(fill.spend.0);
                lowering.deltas[fill.receive_asset] -= i128::from(fill.receive.0);
                lowering.orders = lowering.orders.saturating_sub(1);
            }
            Err(_) => lowering.judged = false,
        }
    }

    /// `base` (the account's health with `deltas` applied, summed from `memo`) with a new order
    /// filled in full too: only the two assets it touches are valued again. What the new order
    /// spends beyond the available balance is borrowed: owed, not held.
    fn with_new_order(
        &self,
        index: AccountIndex,
        base: AccountHealth,
        memo: &RefCell<Parts>,
        deltas: Option<&[i128]>,
        fill: &OrderFill,
    ) -> AccountHealth {
        let inputs = self.risk_inputs();
        let leverage = self.ledger.account(index).settings.leverage_limit;
        let memo = memo.borrow();
        let mut health = base;
        let assets: &[usize] = if fill.spend_asset == fill.receive_asset {
            &[fill.spend_asset]
        } else {
            &[fill.spend_asset, fill.receive_asset]
        };
        for &asset in assets {
            let mut holding = moved(self.holding(index, asset), deltas.map_or(0, |d| d[asset]));
            if asset == fill.spend_asset {
                holding.available = Amount(holding.available.0 - fill.spend.0);
            }
            if asset == fill.receive_asset {
                holding.available = Amount(holding.available.0.saturating_add(fill.receive.0));
            }
            if holding.available.is_negative() {
                holding.borrowed = Amount(holding.borrowed.0.saturating_sub(holding.available.0));
                holding.available = Amount::ZERO;
            }
            let part = memo.parts.get(asset).map(|p| p.health).unwrap_or_default();
            health = health.minus(&part).plus(&AccountHealth::of_holding(&holding, &inputs.valuation(asset), leverage));
        }
        health
    }

    /// A user action may leave an account beyond initial margin only if it made it no worse.
    /// Accounts with borrows also need every price they hold to be fresh.
    pub(crate) fn check_margin_change(&self, index: AccountIndex, before: &AccountHealth) -> Result<(), Reject> {
        if !self.needs_margin(index) {
            return Ok(());
        }
        let after = self.worst_case_health(index, None)?;
        self.judge(index, before, &after)
    }

    /// The margin-rule health before an action, for [`Engine::check_margin_change`]: computed
    /// only for an account that borrows or may borrow in the action (otherwise the rule does not
    /// apply and this costs nothing).
    pub(crate) fn margin_before(&self, index: AccountIndex, may_borrow: bool) -> AccountHealth {
        if may_borrow || self.needs_margin(index) {
            self.worst_case_health(index, None).unwrap_or_default()
        } else {
            AccountHealth::default()
        }
    }

    fn require_fresh_prices(&self, index: AccountIndex) -> Result<(), Reject> {
        let account = self.ledger.account(index);
        for asset in 0..self.assets.len() {
            let balance = account.balances[asset];
            let holds = !balance.available.is_zero()
                || !balance.locked.is_zero()
                || account.positions[asset] != PoolPosition::None;
            if holds && self.risk.specs[asset].is_some() && self.fresh_price(asset).is_none() {
                return Err(Reject::PriceUnavailable);
            }
        }
        // A perpetual position is valued at a mark that follows its base's index.
        for holding in &account.perps {
            self.require_fresh_base(usize::from(holding.market.0))?;
        }
        Ok(())
    }

    /// A perpetual market's base index price must be fresh (if the base has risk parameters).
    pub(crate) fn require_fresh_base(&self, market_index: usize) -> Result<(), Reject> {
        let base = usize::from(self.markets[market_index].spec.base.0);
        if self.risk.specs[base].is_some() && self.fresh_price(base).is_none() {
            return Err(Reject::PriceUnavailable);
        }
        Ok(())
    }

    /// For an account with borrows (after any borrowing for this order): would the order, filled
    /// entirely at its limit (a market order by quantity at the market's worst price), keep the
    /// account within the margin rule? Judged against its health `before` any borrowing for the
    /// order, or, when nothing was borrowed, against its health now.
    /// A market order by quote budget from such an account is refused: its fill is unbounded.
    pub(crate) fn check_order_margin(
        &self,
        index: AccountIndex,
        market: usize,
        new: &NewOrder,
        before: Option<&AccountHealth>,
    ) -> Result<(), Reject> {
        if !self.needs_margin(index) || self.system_order.is_some() {
            return Ok(());
        }
        let (price, lots) = match new.spec {
            OrderSpec::Limit { price, quantity, .. } => (price, quantity),
            OrderSpec::Market { size, .. } => match self.market_reach(market, new.side, size) {
                Some(reach) => reach,
                // Nothing to take: the order changes nothing.
                None => return Ok(()),
            },
        };
        let fill = self.order_fill(market, new.side, price, lots)?;
        let (unchanged_before, after) = self.worst_case_pair(index, Some(NewExposure::Spot(fill)))?;
        self.judge(index, before.unwrap_or(&unchanged_before), &after)
    }

    /// How far a market order could reach into the book now: the worst price it could fill at
    /// and the most lots it could take (a quote budget spent level by level). `None` for an
    /// empty side. Its fills happen within this command, against this book, so all its lots at
    /// that price bound what it does.
    fn market_reach(
        &self,
        market: usize,
        side: Side,
        size: MarketSize,
    ) -> Option<(rucksack_types::Ticks, rucksack_types::Lots)> {
        let book = &self.markets[market].book;
        let scale = &self.markets[market].scale;
        let (mut lots, mut worst) = (0i64, None);
        let (mut left, mut budget) = match size {
            MarketSize::Base(lots) => (lots.0, None),
            MarketSize::Quote(budget) => (i64::MAX, Some(budget)),
        };
        for (price, level) in book.ladder(side.opposite()).iter_best_first() {
            let mut take = left.min(book.level(level).total.0);
            if let Some(budget) = &mut budget {
                take = take.min(scale.lots_within(price, *budget).0);
                let spent = scale.quote_amount(price, rucksack_types::Lots(take), Rounding::Up).ok()?;
                *budget = Amount(budget.0.saturating_sub(spent.0));
            }
            if take == 0 {
                break;
            }
            lots += take;
            left -= take;
            worst = Some(price);
            if left == 0 {
                break;
            }
        }
        worst.map(|price| (price, rucksack_types::Lots(lots)))
    }

    /// The margin rule itself. An action that leaves free equity no lower is always allowed, so
    /// an account can reduce its risk even on stale prices; any other action needs fresh prices
    /// for everything the account holds, and must end within initial margin.
    pub(crate) fn judge(
        &self,
        index: AccountIndex,
        before: &AccountHealth,
        after: &AccountHealth,
    ) -> Result<(), Reject> {
        if after.free_equity() >= before.free_equity() {
            return Ok(());
        }
        self.require_fresh_prices(index)?;
        if !after.within_initial_margin() {
            return Err(Reject::InsufficientMargin);
        }
        Ok(())
    }

    /// An account's health for the margin rule (the worst case over its open orders).
    pub fn margin_health(&self, account: rucksack_types::AccountId) -> AccountHealth {
        self.ledger.find(account).and_then(|index| self.worst_case_health(index, None).ok()).unwrap_or_default()
    }
}
