//! The margin rule: no user action may take an account from within initial margin to beyond it.
//!
//! An account's health for the rule is its worst case over its open orders: its holdings now,
//! and its holdings if every open order whose fill would lower its health filled entirely at its
//! limit. Fills then move an account only between states the rule already accepted, so a
//! counterparty's trade cannot push it beyond initial margin; only prices, interest and time can.
//!
//! Accounts without borrows owe nothing and need no margin: the rule costs them nothing.

use rucksack_types::{Amount, MarketSize, NewOrder, OrderSpec, Reject, Rounding, Side};

use crate::book::arena::{AccountIndex, NIL};
use crate::engine::Engine;
use crate::lending::PoolPosition;
use crate::margin::{AccountHealth, Holding};

/// What an order takes from one asset and gives in another if it fills entirely.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OrderFill {
    pub spend_asset: usize,
    pub spend: Amount,
    pub receive_asset: usize,
    pub receive: Amount,
    /// A new order spends from the available balance; a resting one from what it locked.
    pub resting: bool,
}

impl Engine {
    pub(crate) fn has_borrows(&self, index: AccountIndex) -> bool {
        self.ledger.account(index).positions.iter().any(|p| matches!(p, PoolPosition::Borrow(_)))
    }

    /// What `lots` of an order at `price` spends and receives in full, the fee counted at the
    /// taker rate (the higher).
    pub(crate) fn order_fill(
        &self,
        market: usize,
        side: Side,
        price: rucksack_types::Ticks,
        lots: rucksack_types::Lots,
        resting: bool,
    ) -> Result<OrderFill, Reject> {
        let market_ref = &self.markets[market];
        let (spec, scale) = (&market_ref.spec, &market_ref.scale);
        let base = scale.base_amount(lots)?;
        let (base_asset, quote_asset) = (usize::from(spec.base.0), usize::from(spec.quote.0));
        Ok(match side {
            Side::Bid => OrderFill {
                spend_asset: quote_asset,
                spend: if resting {
                    self.reservation(market, side, price, lots)?
                } else {
                    let quote = scale.quote_amount(price, lots, Rounding::Up)?;
                    quote.checked_add(scale.fee(price, lots, spec.taker_fee_bps, Rounding::Up)?)?
                },
                receive_asset: base_asset,
                receive: base,
                resting,
            },
            Side::Ask => {
                let quote = scale.quote_amount(price, lots, Rounding::Down)?;
                let fee = scale.fee(price, lots, spec.taker_fee_bps, Rounding::Up)?;
                OrderFill {
                    spend_asset: base_asset,
                    spend: base,
                    receive_asset: quote_asset,
                    receive: quote.checked_sub(fee)?,
                    resting,
                }
            }
        })
    }

    /// The fills of the account's resting orders.
    fn resting_fills(&self, index: AccountIndex) -> Result<Vec<OrderFill>, Reject> {
        let mut fills = Vec::new();
        let mut handle = self.ledger.account(index).orders_head;
        while handle != NIL {
            let order = self.orders.get(handle);
            fills.push(self.order_fill(usize::from(order.market.0), order.side, order.price, order.remaining, true)?);
            handle = order.account_next;
        }
        Ok(fills)
    }

    /// The account's health for the margin rule: the worse of now and of every health-lowering
    /// open order (and `new`, if given) filled at its limit.
    pub(crate) fn worst_case_health(
        &self,
        index: AccountIndex,
        new: Option<OrderFill>,
    ) -> Result<AccountHealth, Reject> {
        let inputs = self.risk_inputs();
        let leverage = self.ledger.account(index).settings.leverage_limit;
        let holdings: Vec<Holding> = (0..self.assets.len()).map(|asset| self.holding(index, asset)).collect();
        let health_of = |holdings: &[Holding]| {
            let mut health = AccountHealth::default();
            for (asset, holding) in holdings.iter().enumerate() {
                if !holding.is_empty() {
                    health.add(holding, &inputs.valuation(asset), leverage);
                }
            }
            health
        };
        let now = health_of(&holdings);
        let mut fills = self.resting_fills(index)?;
        if fills.is_empty() && new.is_none() {
            return Ok(now);
        }
        // Which orders lower health, judged by each asset's value per unit now.
        let unit_value = |asset: usize, amount: Amount| -> i128 {
            let valuation = inputs.valuation(asset);
            let (Some(risk), Some(price)) = (valuation.risk, valuation.price) else { return 0 };
            let held = Amount(holdings[asset].held().clamp(0, i128::from(i64::MAX)) as i64);
            let weight = risk.haircut.weight(price.value(held, valuation.asset.decimals, Rounding::Down));
            weight.of(price.value(amount, valuation.asset.decimals, Rounding::Down).0, Rounding::Down).unwrap_or(0)
        };
        fills.retain(|fill| unit_value(fill.receive_asset, fill.receive) < unit_value(fill.spend_asset, fill.spend));
        fills.extend(new);
        let mut filled = holdings.clone();
        for fill in &fills {
            let spent = &mut filled[fill.spend_asset];
            if fill.resting {
                spent.locked = Amount(spent.locked.0 - fill.spend.0);
            } else {
                spent.available = Amount(spent.available.0 - fill.spend.0);
            }
            filled[fill.receive_asset].available =
                Amount(filled[fill.receive_asset].available.0.saturating_add(fill.receive.0));
        }
        // A shortfall is borrowed: it is owed, not held.
        for holding in &mut filled {
            if holding.available.is_negative() {
                holding.borrowed = Amount(holding.borrowed.0.saturating_sub(holding.available.0));
                holding.available = Amount::ZERO;
            }
        }
        let worst = health_of(&filled);
        Ok(if worst.free_equity() < now.free_equity() { worst } else { now })
    }

    /// A user action may leave an account beyond initial margin only if it made it no worse.
    /// Accounts with borrows also need every price they hold to be fresh.
    pub(crate) fn check_margin_change(&self, index: AccountIndex, before: &AccountHealth) -> Result<(), Reject> {
        if !self.has_borrows(index) {
            return Ok(());
        }
        let after = self.worst_case_health(index, None)?;
        self.judge(index, before, &after)
    }

    /// The margin-rule health before an action, for [`Engine::check_margin_change`]: computed
    /// only for an account that borrows or may borrow in the action (otherwise the rule does not
    /// apply and this costs nothing).
    pub(crate) fn margin_before(&self, index: AccountIndex, may_borrow: bool) -> AccountHealth {
        if may_borrow || self.has_borrows(index) {
            self.worst_case_health(index, None).unwrap_or_default()
        } else {
            AccountHealth::default()
        }
    }

    fn require_fresh_prices(&self, index: AccountIndex) -> Result<(), Reject> {
        for asset in 0..self.assets.len() {
            if self.risk.specs[asset].is_some()
                && self.fresh_price(asset).is_none()
                && !self.holding(index, asset).is_empty()
            {
                return Err(Reject::PriceUnavailable);
            }
        }
        Ok(())
    }

    /// For an account with borrows (after any borrowing for this order): would the order, filled
    /// entirely at its limit (a market order by quantity at the market's worst price), keep the
    /// account within the margin rule, judged against its health `before` the order?
    /// A market order by quote budget from such an account is refused: its fill is unbounded.
    pub(crate) fn check_order_margin(
        &self,
        index: AccountIndex,
        market: usize,
        new: &NewOrder,
        before: &AccountHealth,
    ) -> Result<(), Reject> {
        if !self.has_borrows(index) {
            return Ok(());
        }
        let spec = &self.markets[market].spec;
        let (price, lots) = match new.spec {
            OrderSpec::Limit { price, quantity, .. } => (price, quantity),
            OrderSpec::Market { size: MarketSize::Base(lots), .. } => {
                (if new.side == Side::Bid { spec.max_price } else { spec.min_price }, lots)
            }
            OrderSpec::Market { size: MarketSize::Quote(_), .. } => return Err(Reject::InsufficientMargin),
        };
        let after = self.worst_case_health(index, Some(self.order_fill(market, new.side, price, lots, false)?))?;
        self.judge(index, before, &after)
    }

    /// The margin rule itself. An action that leaves free equity no lower is always allowed, so
    /// an account can reduce its risk even on stale prices; any other action needs fresh prices
    /// for everything the account holds, and must end within initial margin.
    fn judge(&self, index: AccountIndex, before: &AccountHealth, after: &AccountHealth) -> Result<(), Reject> {
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
