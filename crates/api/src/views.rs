//! Read models: what queries are answered from. The engine thread folds each batch's events into
//! them after the batch is durable and applied; request handlers only read them. Depth is
//! published as an immutable snapshot per market so a reader serialises it without holding any
//! lock.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, RwLock};

use rucksack_engine::lending::PoolPosition;
use rucksack_engine::perp::{PerpHolding, PerpMarket};
use rucksack_engine::{Balance, Engine, RiskInputs, RiskState};
use rucksack_types::{
    AccountId, AccountSettings, Amount, ApiKey, AssetId, AssetSpec, ClientId, Event, ExpiryReason, Lots, MarketId,
    MarketSpec, NewOrder, OrderId, OrderStatus, Permissions, SelfTradePrevention, Side, SystemOrder, SystemOrderType,
    Ticks, TimeInForce, Timestamp, TradeId,
};

/// Trades kept per market for the public trade feeds, tickers and klines.
const TRADES_KEPT: usize = 100_000;
/// Depth levels published per side.
const DEPTH_LEVELS: usize = 1_000;

/// One side of an order as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderView {
    pub id: OrderId,
    pub account: AccountId,
    pub market: MarketId,
    pub client_id: Option<ClientId>,
    pub side: Side,
    pub limit: Option<Ticks>,
    pub quantity: Option<Lots>,
    pub quote_quantity: Option<Amount>,
    pub time_in_force: TimeInForce,
    pub self_trade_prevention: SelfTradePrevention,
    pub status: OrderStatus,
    pub expiry_reason: Option<ExpiryReason>,
    pub executed: Lots,
    pub executed_quote: Amount,
    pub created_at: Timestamp,
    /// Known for live orders; the history store does not keep them.
    pub reduce_only: bool,
    pub trigger: Option<rucksack_types::Trigger>,
    /// The order a take-profit or stop-loss belongs to.
    pub related: Option<OrderId>,
    /// Set when the exchange placed the order for a liquidation.
    pub system_order_type: Option<SystemOrderType>,
}

impl OrderView {
    pub fn new(id: OrderId, new: &NewOrder, created_at: Timestamp) -> OrderView {
        let view = OrderView::from(rucksack_store::OrderRecord::accepted(id, new, created_at));
        OrderView { reduce_only: new.reduce_only, trigger: new.trigger, ..view }
    }

    pub fn is_limit(&self) -> bool {
        self.limit.is_some()
    }
}

/// The history store's row as the API shows it (the row's `updated_at` is not on the wire).
impl From<rucksack_store::OrderRecord> for OrderView {
    fn from(o: rucksack_store::OrderRecord) -> OrderView {
        OrderView {
            id: o.id,
            account: o.account,
            market: o.market,
            client_id: o.client_id,
            side: o.side,
            limit: o.limit,
            quantity: o.quantity,
            quote_quantity: o.quote_quantity,
            time_in_force: o.time_in_force,
            self_trade_prevention: o.self_trade_prevention,
            status: o.status,
            expiry_reason: o.expiry_reason,
            executed: o.executed,
            executed_quote: o.executed_quote,
            created_at: o.created_at,
            reduce_only: false,
            trigger: None,
            related: None,
            system_order_type: o.system_order_type,
        }
    }
}

/// The state of the order a `PlaceOrder` command created, from that command's events.
pub fn placed_order(events: &[Event], time: Timestamp) -> Option<OrderView> {
    let mut view = None;
    for event in events {
        match *event {
            Event::OrderAccepted { order, new } if view.is_none() => view = Some(OrderView::new(order, &new, time)),
            Event::Trade(trade) => {
                if let Some(view) = view.as_mut().filter(|v| v.id == trade.taker_order) {
                    view.executed.0 += trade.quantity.0;
                    view.executed_quote.0 += trade.notional().0;
                    view.status = OrderStatus::PartiallyFilled;
                }
            }
            Event::OrderRested { order, .. } => {
                if let Some(view) = view.as_mut().filter(|v| v.id == order) {
                    view.status = if view.executed.is_zero() { OrderStatus::New } else { OrderStatus::PartiallyFilled };
                }
            }
            Event::OrderClosed { order, status, reason, executed, executed_quote, .. } => {
                if let Some(view) = view.as_mut().filter(|v| v.id == order) {
                    view.status = status;
                    view.expiry_reason = reason;
                    view.executed = executed;
                    view.executed_quote = executed_quote;
                }
            }
            _ => {}
        }
    }
    view
}

/// A public trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeView {
    pub id: TradeId,
    pub price: Ticks,
    pub quantity: Lots,
    pub quote: Amount,
    pub buyer_is_maker: bool,
    pub time: Timestamp,
}

/// A market's book as last published.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Depth {
    /// Best first.
    pub bids: Vec<(Ticks, Lots)>,
    /// Best first.
    pub asks: Vec<(Ticks, Lots)>,
    pub update_id: u64,
    pub time: Timestamp,
}

#[derive(Clone, Debug)]
pub struct MarketView {
    pub spec: MarketSpec,
    pub depth: Arc<Depth>,
    pub trades: VecDeque<TradeView>,
    /// A perpetual market's mark, funding and open interest, as the engine last had them.
    pub perp: Option<PerpMarket>,
}

#[derive(Clone, Debug, Default)]
pub struct AccountView {
    pub balances: Vec<Balance>,
    /// Per asset: the account's lend or borrow shares.
    pub positions: Vec<PoolPosition>,
    pub open: BTreeMap<OrderId, OrderView>,
    pub settings: AccountSettings,
    /// Perpetual positions and open-order sums, in market order.
    pub perps: Vec<PerpHolding>,
}

/// Everything queries read.
#[derive(Debug, Default)]
pub struct Views {
    pub assets: Vec<AssetSpec>,
    pub markets: Vec<MarketView>,
    pub accounts: HashMap<AccountId, AccountView>,
    pub api_keys: HashMap<ApiKey, (AccountId, Permissions)>,
    /// Per asset: risk parameters, index price and money-market pool, as the engine last had them.
    pub risk: RiskState,
    /// Per asset (index = id): the insurance fund's balance.
    pub insurance: Vec<Amount>,
    /// Backstop liquidity providers and their capacities (settlement quote units), by account.
    pub backstop_providers: Vec<(AccountId, Amount)>,
    /// Accounts in liquidation.
    pub liquidating: BTreeSet<AccountId>,
    pub last_seq: u64,
    pub time: Timestamp,
}

impl Views {
    pub fn market_by_symbol(&self, symbol: &str) -> Option<&MarketView> {
        self.markets.iter().find(|m| m.spec.symbol.as_str() == symbol)
    }

    pub fn asset(&self, id: AssetId) -> Option<&AssetSpec> {
        self.assets.get(usize::from(id.0))
    }

    pub fn asset_by_symbol(&self, symbol: &str) -> Option<&AssetSpec> {
        self.assets.iter().find(|a| a.symbol.as_str() == symbol)
    }

    pub fn risk_inputs(&self) -> RiskInputs<'_> {
        self.risk.inputs(&self.assets)
    }
}

/// The read models, shared between the engine thread (the only writer) and request handlers.
#[derive(Debug, Default, Clone)]
pub struct ReadModel {
    views: Arc<RwLock<Views>>,
}

/// Folds events into a [`ReadModel`] on the engine thread: events as each command is applied,
/// then one [`Publisher::publish`] per batch refreshes balances and depth from the engine.
#[derive(Debug)]
pub struct Publisher {
    model: ReadModel,
    pending: Vec<(Timestamp, Event)>,
    dirty_accounts: Vec<AccountId>,
    dirty_markets: Vec<MarketId>,
    /// Whether the batch changed risk parameters, prices or pools.
    risk_changed: bool,
    /// Whether a perpetual market's mark, funding or open interest may have changed.
    perps_changed: bool,
    /// Whether the insurance fund, the backstop providers or the accounts in liquidation may
    /// have changed.
    liquidation_changed: bool,
    /// The system order the last event announced; its `OrderAccepted` comes next.
    system_order: Option<SystemOrder>,
    /// What the WebSocket streams take from each batch; absent while replaying at startup.
    streams: Option<crate::stream::Collector>,
}

impl ReadModel {
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, Views> {
        self.views.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Views> {
        self.views.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn publisher(&self) -> Publisher {
        Publisher {
            model: self.clone(),
            pending: Vec::new(),
            dirty_accounts: Vec::new(),
            dirty_markets: Vec::new(),
            risk_changed: false,
            perps_changed: false,
            liquidation_changed: false,
            system_order: None,
            streams: None,
        }
    }
}

fn depth_of(engine: &Engine, market: MarketId) -> Depth {
    let bids = engine.depth_top(market, Side::Bid, DEPTH_LEVELS);
    let asks = engine.depth_top(market, Side::Ask, DEPTH_LEVELS);
    Depth { bids, asks, update_id: engine.book_update_id(market), time: engine.time() }
}

impl Publisher {
    /// Also hands each batch's stream updates to `collector`.
    pub fn with_streams(mut self, collector: crate::stream::Collector) -> Publisher {
        self.streams = Some(collector);
        self
    }

    /// Remembers one applied command's events.
    pub fn record(&mut self, time: Timestamp, events: &[Event]) {
        for event in events {
            self.risk_changed |= matches!(
                event,
                Event::AssetRiskSet(_)
                    | Event::IndexPriceSet { .. }
                    | Event::BorrowLendExecuted { .. }
                    | Event::InterestCharged(_)
            );
            self.perps_changed |= matches!(
                event,
                Event::MarketListed(_)
                    | Event::MarkPriceSet { .. }
                    | Event::FundingPaid { .. }
                    | Event::PositionChanged { .. }
            );
            self.liquidation_changed |= matches!(
                event,
                Event::AssetListed(_)
                    | Event::InsuranceFundChanged(_)
                    | Event::BackstopProviderSet { .. }
                    | Event::Liquidation(_)
            );
            self.pending.push((time, *event));
        }
    }

    /// Folds everything recorded since the last call into the model, with balances and depth
    /// read from `engine` as it stands after the batch.
    pub fn publish(&mut self, engine: &Engine) {
        self.dirty_accounts.clear();
        self.dirty_markets.clear();
        let mut views = self.model.write();
        for (time, event) in self.pending.drain(..) {
            let (accounts, markets) = (&mut self.dirty_accounts, &mut self.dirty_markets);
            let closed = fold(&mut views, time, &event, accounts, markets, &mut self.system_order);
            if let Some(streams) = self.streams.as_mut() {
                streams.observe(&views, time, &event, closed.as_ref());
            }
        }
        self.dirty_accounts.sort_unstable();
        self.dirty_accounts.dedup();
        self.dirty_markets.sort_unstable();
        self.dirty_markets.dedup();
        let assets = views.assets.len();
        for account in &self.dirty_accounts {
            let view = views.accounts.entry(*account).or_default();
            let balances: Vec<Balance> = (0..assets).map(|a| engine.balance(*account, AssetId(a as u16))).collect();
            if let Some(streams) = self.streams.as_mut() {
                for (asset, after) in balances.iter().enumerate() {
                    let before = view.balances.get(asset).copied().unwrap_or_default();
                    streams.balance(*account, AssetId(asset as u16), before, *after);
                }
            }
            view.balances = balances;
            view.positions = engine.pool_positions(*account);
            view.perps = engine.perp_holdings(*account).to_vec();
        }
        if std::mem::take(&mut self.perps_changed) {
            for market in views.markets.iter_mut() {
                market.perp = engine.perp_market(market.spec.id).cloned();
            }
        }
        if std::mem::take(&mut self.risk_changed) {
            views.risk.clone_from(engine.risk_state());
        }
        if std::mem::take(&mut self.liquidation_changed) {
            views.insurance = (0..assets).map(|a| engine.insurance_fund(AssetId(a as u16))).collect();
            views.backstop_providers = engine.backstop_providers();
            views.liquidating = engine.liquidating_accounts().into_iter().collect();
        }
        for market in &self.dirty_markets {
            if let Some(view) = views.markets.get_mut(usize::from(market.0)) {
                let depth = Arc::new(depth_of(engine, *market));
                if let Some(streams) = self.streams.as_mut() {
                    streams.depth(engine, *market, &view.depth, &depth);
                }
                view.depth = depth;
            }
        }
        views.last_seq = engine.last_seq().0;
        views.time = engine.time();
        if let Some(streams) = self.streams.as_mut() {
            streams.finish(&views);
        }
    }
}

/// Folds one event in; returns the order an `OrderClosed` took off the open list, in its final
/// state (the history store keeps it from then on). `system_order` carries a
/// `SystemOrderPlaced` to the `OrderAccepted` right after it.
fn fold(
    views: &mut Views,
    time: Timestamp,
    event: &Event,
    accounts: &mut Vec<AccountId>,
    markets: &mut Vec<MarketId>,
    system_order: &mut Option<SystemOrder>,
) -> Option<OrderView> {
    match *event {
        Event::AssetListed(spec) => views.assets.push(spec),
        Event::MarketListed(spec) => {
            views.markets.push(MarketView {
                spec,
                depth: Arc::new(Depth::default()),
                trades: VecDeque::new(),
                perp: None,
            });
            markets.push(spec.id);
        }
        Event::AccountCreated { account, key, permissions } | Event::ApiKeyAdded { account, key, permissions } => {
            views.api_keys.insert(key, (account, permissions));
            accounts.push(account);
        }
        Event::Deposited { account, .. } | Event::Withdrawn { account, .. } => accounts.push(account),
        Event::AccountSettingsChanged { account, settings } => {
            views.accounts.entry(account).or_default().settings = settings
        }
        Event::SystemOrderPlaced(system) => *system_order = Some(system),
        Event::OrderAccepted { order, new } => {
            accounts.push(new.account);
            let mut view = OrderView::new(order, &new, time);
            view.system_order_type = system_order.take().filter(|s| s.order == order).map(|s| s.kind);
            // Held as open until the order's last event says otherwise.
            views.accounts.entry(new.account).or_default().open.insert(order, view);
        }
        Event::Trade(trade) => {
            markets.push(trade.market);
            accounts.push(trade.taker_account);
            accounts.push(trade.maker_account);
            let buyer_is_maker = trade.taker_side == Side::Ask;
            if let Some(market) = views.markets.get_mut(usize::from(trade.market.0)) {
                market.trades.push_back(TradeView {
                    id: trade.id,
                    price: trade.price,
                    quantity: trade.quantity,
                    quote: trade.notional(),
                    buyer_is_maker,
                    time,
                });
                if market.trades.len() > TRADES_KEPT {
                    market.trades.pop_front();
                }
            }
            for (account, order) in [(trade.taker_account, trade.taker_order), (trade.maker_account, trade.maker_order)]
            {
                if let Some(open) = views.accounts.entry(account).or_default().open.get_mut(&order) {
                    open.executed.0 += trade.quantity.0;
                    open.executed_quote.0 += trade.notional().0;
                    open.status = OrderStatus::PartiallyFilled;
                }
            }
        }
        Event::OrderRested { order, account, market, .. } => {
            markets.push(market);
            if let Some(open) = views.accounts.entry(account).or_default().open.get_mut(&order) {
                open.status = if open.executed.is_zero() { OrderStatus::New } else { OrderStatus::PartiallyFilled };
            }
        }
        Event::TriggerPlaced { order, account, related, .. } => {
            if let Some(open) = views.accounts.entry(account).or_default().open.get_mut(&order) {
                open.status = OrderStatus::TriggerPending;
                open.related = related;
            }
        }
        Event::OrderModified { order, account, market, quantity, .. } => {
            markets.push(market);
            if let Some(open) = views.accounts.entry(account).or_default().open.get_mut(&order) {
                open.quantity = Some(quantity);
            }
        }
        Event::OrderClosed { order, account, market, status, reason, executed, executed_quote } => {
            markets.push(market);
            accounts.push(account);
            let view = views.accounts.entry(account).or_default();
            if let Some(mut closed) = view.open.remove(&order) {
                closed.status = status;
                closed.expiry_reason = reason;
                closed.executed = executed;
                closed.executed_quote = executed_quote;
                return Some(closed);
            }
        }
        Event::BorrowLendExecuted { account, .. }
        | Event::PositionChanged { account, .. }
        | Event::PnlRealized { account, .. } => accounts.push(account),
        Event::InsuranceFundChanged(rucksack_types::InsuranceChange { account, .. })
        | Event::Bankrupt(rucksack_types::Bankruptcy { account, .. })
        | Event::BadDebt(rucksack_types::BadDebt { account, .. }) => accounts.push(account),
        Event::PositionTransferred(transfer) => {
            accounts.push(transfer.from);
            accounts.push(transfer.to);
        }
        Event::Liquidation(_)
        | Event::BackstopProviderSet { .. }
        | Event::LiquidationSpecSet(_)
        | Event::AssetRiskSet(_)
        | Event::IndexPriceSet { .. }
        | Event::InterestCharged(_)
        | Event::MarkPriceSet { .. }
        | Event::FundingPaid { .. } => {}
    }
    None
}
