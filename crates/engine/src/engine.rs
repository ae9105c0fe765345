//! The engine: one deterministic state machine over every market and account.
//!
//! `apply` takes a sequenced command and either refuses it (changing nothing) or applies it
//! completely and reports what happened as events. It reads no clock, does no I/O, uses no
//! randomness, and never lets hash-map iteration order reach a result, so the same journal
//! always produces the same state and the same [`Engine::state_hash`].
//!
//! Balances cannot overflow once a command is accepted: deposits are refused if an asset's
//! total outstanding would pass `i64::MAX`, and since no balance is negative and all of them
//! sum to that total, every single balance stays below it.

use rucksack_types::{
    AccountId, Amount, ApiKey, AssetId, AssetSpec, CancelTarget, ClientId, Command, Event, ExpiryReason, Lots,
    MarketId, MarketScale, MarketSpec, OrderId, OrderStatus, Permissions, Reject, Seq, Sequenced, Side, Timestamp,
    TxId,
};
use rustc_hash::FxHashMap;

use crate::book::Book;
use crate::book::arena::{AccountIndex, Handle, NIL, OrderArena};
use crate::ledger::{Balance, Ledger};

/// A listed market: its spec, its exact scale and its book.
#[derive(Clone, Debug)]
pub(crate) struct Market {
    pub spec: MarketSpec,
    pub scale: MarketScale,
    pub book: Book,
    /// A perpetual market's positions-side state; `None` for spot.
    pub perp: Option<crate::perp::PerpMarket>,
    /// The price of the market's last trade, which trigger orders may watch.
    pub last_price: Option<rucksack_types::Ticks>,
}

#[derive(Clone, Debug)]
pub struct Engine {
    pub(crate) last_seq: Seq,
    pub(crate) time: Timestamp,
    pub(crate) next_order_id: u64,
    pub(crate) assets: Vec<AssetSpec>,
    pub(crate) markets: Vec<Market>,
    pub(crate) ledger: Ledger,
    pub(crate) orders: OrderArena,
    pub(crate) order_index: FxHashMap<OrderId, Handle>,
    pub(crate) client_index: FxHashMap<(AccountIndex, ClientId), Handle>,
    pub(crate) events: Vec<Event>,
    pub(crate) risk: crate::money_market::RiskState,
    pub(crate) triggers: crate::triggers::Triggers,
    /// While a trigger order fires: its id, which the order it becomes keeps.
    pub(crate) fired: Option<OrderId>,
    pub(crate) liquidation: crate::liquidation::LiquidationState,
    /// While the exchange places an order for a liquidation: what kind it is. Such an order is
    /// not held to the margin rule.
    pub(crate) system_order: Option<rucksack_types::SystemOrderType>,
    check_invariants: bool,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    pub fn new() -> Engine {
        Engine {
            last_seq: Seq(0),
            time: Timestamp(0),
            next_order_id: 1,
            assets: Vec::new(),
            markets: Vec::new(),
            ledger: Ledger::default(),
            orders: OrderArena::default(),
            order_index: FxHashMap::default(),
            client_index: FxHashMap::default(),
            events: Vec::with_capacity(256),
            risk: crate::money_market::RiskState::default(),
            triggers: Default::default(),
            fired: None,
            liquidation: Default::default(),
            system_order: None,
            check_invariants: cfg!(debug_assertions),
        }
    }

    /// Reserves room for `orders` resting orders, so a venue that knows its scale never
    /// allocates while matching.
    pub fn reserve_orders(&mut self, orders: usize) {
        self.orders.reserve(orders);
        self.order_index.reserve(orders);
        self.client_index.reserve(orders);
    }

    /// Turns the full invariant check after every command on or off (on in debug builds).
    pub fn set_invariant_checks(&mut self, on: bool) {
        self.check_invariants = on;
    }

    /// Applies one command. On `Err` nothing changed except that `seq` was consumed.
    pub fn apply(&mut self, command: &Sequenced) -> Result<&[Event], Reject> {
        debug_assert!(command.seq > self.last_seq, "commands must arrive in sequence order");
        self.last_seq = command.seq;
        self.time = command.time;
        self.events.clear();
        let result = match self.refused_while_liquidating(&command.command) {
            Some(reject) => Err(reject),
            None => self.dispatch(&command.command),
        };
        if result.is_ok() {
            if matches!(
                command.command,
                Command::PlaceOrder(_)
                    | Command::PlaceOrderWithExits { .. }
                    | Command::SetIndexPrice { .. }
                    | Command::UpdateMarkPrices
                    | Command::RealizePnl
                    | Command::Liquidate
            ) {
                self.fire_triggers();
            }
            self.settle_after(&command.command);
            self.watch_events();
        }
        if self.check_invariants
            && let Err(violation) = self.check()
        {
            panic!("invariant violated after seq {}: {violation}", command.seq);
        }
        match result {
            Ok(()) => Ok(&self.events),
            Err(reject) => {
                debug_assert!(self.events.is_empty(), "a refused command must not emit events");
                Err(reject)
            }
        }
    }

    fn dispatch(&mut self, command: &Command) -> Result<(), Reject> {
        match command {
            Command::ListAsset(spec) => self.list_asset(spec),
            Command::ListMarket(spec) => self.list_market(spec),
            Command::CreateAccount { key, permissions } => self.create_account(*key, *permissions),
            Command::AddApiKey { account, key, permissions } => self.add_api_key(*account, *key, *permissions),
            Command::UpdateAccountSettings { account, change } => self.update_settings(*account, change),
            Command::Deposit { account, asset, amount, tx } => self.deposit(*account, *asset, *amount, *tx),
            Command::Withdraw { account, asset, amount, tx, margin } => {
                self.withdraw(*account, *asset, *amount, *tx, *margin)
            }
            Command::PlaceOrder(order) => self.place_order(order),
            Command::PlaceOrderWithExits { order, take_profit, stop_loss } => {
                self.place_order_with_exits(order, [*take_profit, *stop_loss])
            }
            Command::CancelOrder { account, market, target } => self.cancel_order(*account, *market, *target),
            Command::CancelAll { account, market, scope } => self.cancel_all(*account, *market, *scope),
            Command::SetAssetRisk(risk) => self.set_asset_risk(risk),
            Command::SetIndexPrice { asset, price } => self.set_index_price(*asset, *price),
            Command::BorrowLend { account, asset, action, amount } => {
                self.borrow_lend(*account, *asset, *action, *amount)
            }
            Command::AccrueInterest => self.accrue_interest(),
            Command::UpdateMarkPrices => self.update_mark_prices(),
            Command::RealizePnl => self.realize_pnl(),
            Command::SetLiquidationSpec(spec) => self.set_liquidation_spec(spec),
            Command::SetBackstopProvider { account, capacity } => self.set_backstop_provider(*account, *capacity),
            Command::FundInsurance { account, asset, amount } => self.fund_insurance(*account, *asset, *amount),
            Command::SetVolatilitySpec(spec) => self.set_volatility_spec(*spec),
            Command::Liquidate => self.liquidate(),
        }
    }

    /// Auto-repay and auto-lend for the accounts an accepted command touched. Explicit pool
    /// commands are left as the user asked.
    fn settle_after(&mut self, command: &Command) {
        let taker_repays = match command {
            Command::PlaceOrder(order) | Command::PlaceOrderWithExits { order, .. }
                if order.margin.auto_borrow_repay =>
            {
                self.ledger.find(order.account)
            }
            Command::Deposit { .. }
            | Command::Withdraw { .. }
            | Command::PlaceOrder(_)
            | Command::PlaceOrderWithExits { .. }
            | Command::CancelOrder { .. }
            | Command::CancelAll { .. }
            | Command::UpdateAccountSettings { .. }
            | Command::RealizePnl => None,
            _ => return,
        };
        self.settle_touched_accounts(0, taker_repays);
    }

    pub fn last_seq(&self) -> Seq {
        self.last_seq
    }

    /// The time stamped on the last applied command.
    pub fn time(&self) -> Timestamp {
        self.time
    }

    pub fn assets(&self) -> &[AssetSpec] {
        &self.assets
    }

    pub fn market_specs(&self) -> impl Iterator<Item = &MarketSpec> {
        self.markets.iter().map(|m| &m.spec)
    }

    pub fn balance(&self, account: AccountId, asset: AssetId) -> Balance {
        match self.ledger.find(account) {
            Some(index) if usize::from(asset.0) < self.ledger.asset_count() => self.ledger.balance(index, asset),
            _ => Balance::default(),
        }
    }

    /// Fees collected minus rebates paid, in `asset`.
    pub fn fee_balance(&self, asset: AssetId) -> Amount {
        self.ledger.fees.get(usize::from(asset.0)).copied().unwrap_or_default()
    }

    /// Rounding residue held by the house, in `asset`.
    pub fn dust_balance(&self, asset: AssetId) -> Amount {
        self.ledger.dust.get(usize::from(asset.0)).copied().unwrap_or_default()
    }

    /// Price levels of one side of a market, best first, as (price, total remaining).
    pub fn depth(&self, market: MarketId, side: Side) -> Vec<(rucksack_types::Ticks, Lots)> {
        self.depth_top(market, side, usize::MAX)
    }

    /// The best `levels` price levels of one side, best first, as (price, total remaining).
    pub fn depth_top(&self, market: MarketId, side: Side, levels: usize) -> Vec<(rucksack_types::Ticks, Lots)> {
        let Some(market) = self.markets.get(usize::from(market.0)) else {
            return Vec::new();
        };
        market
            .book
            .ladder(side)
            .iter_best_first()
            .take(levels)
            .map(|(price, level)| (price, market.book.level(level).total))
            .collect()
    }

    /// Total remaining quantity resting at `price` on one side of a market (zero if no level is
    /// there): what a depth update reports for a level a batch touched.
    pub fn level_quantity(&self, market: MarketId, side: Side, price: rucksack_types::Ticks) -> Lots {
        self.markets
            .get(usize::from(market.0))
            .and_then(|market| market.book.ladder(side).level_at(price).map(|level| market.book.level(level).total))
            .unwrap_or(Lots::ZERO)
    }

    /// How many times the market's book has changed: Backpack's depth `lastUpdateId`.
    pub fn book_update_id(&self, market: MarketId) -> u64 {
        self.markets.get(usize::from(market.0)).map_or(0, |m| m.book.update_id)
    }

    /// Number of orders resting on all books.
    pub fn open_orders(&self) -> usize {
        self.orders.live()
    }

    /// Number of orders an account has resting.
    pub fn open_orders_of(&self, account: AccountId) -> usize {
        let Some(index) = self.ledger.find(account) else { return 0 };
        let (mut count, mut handle) = (0, self.ledger.account(index).orders_head);
        while handle != NIL {
            count += 1;
            handle = self.orders.get(handle).account_next;
        }
        count
    }

    fn list_asset(&mut self, spec: &AssetSpec) -> Result<(), Reject> {
        if usize::from(spec.id.0) != self.assets.len() {
            return Err(Reject::InvalidListingId);
        }
        if self.assets.iter().any(|a| a.symbol == spec.symbol) {
            return Err(Reject::DuplicateSymbol);
        }
        if spec.decimals > rucksack_types::spec::MAX_ASSET_DECIMALS {
            return Err(Reject::InvalidSpec(rucksack_types::SpecError::TooManyDecimals));
        }
        self.assets.push(*spec);
        self.ledger.add_asset();
        self.risk.add_asset();
        self.events.push(Event::AssetListed(*spec));
        Ok(())
    }

    fn list_market(&mut self, spec: &MarketSpec) -> Result<(), Reject> {
        if usize::from(spec.id.0) != self.markets.len() {
            return Err(Reject::InvalidListingId);
        }
        if self.markets.iter().any(|m| m.spec.symbol == spec.symbol) {
            return Err(Reject::DuplicateSymbol);
        }
        let base = self.assets.get(usize::from(spec.base.0)).ok_or(Reject::UnknownAsset)?;
        let quote = self.assets.get(usize::from(spec.quote.0)).ok_or(Reject::UnknownAsset)?;
        let scale = spec.scale(base, quote).map_err(Reject::InvalidSpec)?;
        let perp = match spec.kind.perp() {
            None => None,
            Some(perp) => Some(self.new_perp_market(spec, &scale, perp)?),
        };
        self.markets.push(Market { spec: *spec, scale, book: Book::default(), perp, last_price: None });
        self.events.push(Event::MarketListed(*spec));
        Ok(())
    }

    /// Checks a perpetual market's parameters: its spec, an exact settlement scale, one quote
    /// asset for all perpetuals, and positions up to its open-interest limit valued without
    /// overflow at its highest price.
    fn new_perp_market(
        &self,
        spec: &MarketSpec,
        scale: &MarketScale,
        perp: &rucksack_types::PerpSpec,
    ) -> Result<crate::perp::PerpMarket, Reject> {
        use rucksack_types::PerpSpecError;
        perp.validate().map_err(Reject::InvalidPerpSpec)?;
        let market = crate::perp::PerpMarket::new(spec, *perp, scale)
            .ok_or(Reject::InvalidPerpSpec(PerpSpecError::InexactSettlement))?;
        if self.settlement_asset().is_some_and(|asset| asset != spec.quote) {
            return Err(Reject::InvalidPerpSpec(PerpSpecError::SettlementAssetMismatch));
        }
        // One spot holding backs one hedged short: a second perpetual crediting pairs on the same
        // base would count the same units twice.
        let pairs_on_base =
            |m: &Market| m.spec.base == spec.base && m.perp.as_ref().is_some_and(|p| p.spec.basis.is_some());
        if perp.basis.is_some() && self.markets.iter().any(pairs_on_base) {
            return Err(Reject::InvalidPerpSpec(PerpSpecError::InvalidBasis));
        }
        // The largest position's value, and four times it, fit.
        rucksack_types::FinePrice::from_ticks(spec.max_price)
            .0
            .checked_mul(i128::from(perp.open_interest_limit.0))
            .and_then(|v| v.checked_mul(4))
            .ok_or(Reject::InvalidPerpSpec(PerpSpecError::InvalidLimits))?;
        Ok(market)
    }

    fn create_account(&mut self, key: ApiKey, permissions: Permissions) -> Result<(), Reject> {
        if self.ledger.api_keys.contains_key(&key) {
            return Err(Reject::DuplicateApiKey);
        }
        let account = self.ledger.next_account_id();
        self.ledger.find_or_open(account);
        self.ledger.api_keys.insert(key, (account, permissions));
        self.events.push(Event::AccountCreated { account, key, permissions });
        Ok(())
    }

    fn add_api_key(&mut self, account: AccountId, key: ApiKey, permissions: Permissions) -> Result<(), Reject> {
        if self.ledger.find(account).is_none() {
            return Err(Reject::UnknownAccount);
        }
        if self.ledger.api_keys.contains_key(&key) {
            return Err(Reject::DuplicateApiKey);
        }
        self.ledger.api_keys.insert(key, (account, permissions));
        self.events.push(Event::ApiKeyAdded { account, key, permissions });
        Ok(())
    }

    fn update_settings(&mut self, account: AccountId, change: &rucksack_types::SettingsChange) -> Result<(), Reject> {
        let index = self.ledger.find(account).ok_or(Reject::UnknownAccount)?;
        if change.leverage_limit.is_some_and(|l| l == 0 || l > rucksack_types::AccountSettings::MAX_LEVERAGE) {
            return Err(Reject::InvalidLeverage);
        }
        let previous = self.ledger.account(index).settings;
        let settings = change.applied_to(previous);
        // A lower leverage limit raises margin requirements: it must not take the account
        // beyond initial margin.
        let before = self.margin_before(index, false);
        self.ledger.account_mut(index).settings = settings;
        if settings.leverage_limit < previous.leverage_limit
            && let Err(reject) = self.check_margin_change(index, &before)
        {
            self.ledger.account_mut(index).settings = previous;
            return Err(reject);
        }
        self.events.push(Event::AccountSettingsChanged { account, settings });
        Ok(())
    }

    /// An account's settings (the defaults for an account that does not exist yet).
    pub fn account_settings(&self, account: AccountId) -> rucksack_types::AccountSettings {
        self.ledger.find(account).map(|index| self.ledger.account(index).settings).unwrap_or_default()
    }

    /// The account an API key acts for, and what it may do.
    pub fn api_key(&self, key: &ApiKey) -> Option<(AccountId, Permissions)> {
        self.ledger.api_keys.get(key).copied()
    }

    /// Every registered API key, in key order.
    pub fn api_keys(&self) -> impl Iterator<Item = (&ApiKey, &(AccountId, Permissions))> {
        self.ledger.api_keys.iter()
    }

    /// Accounts in the order they were opened.
    pub fn account_ids(&self) -> impl Iterator<Item = AccountId> + '_ {
        self.ledger.accounts.iter().map(|a| a.id)
    }

    fn deposit(&mut self, account: AccountId, asset: AssetId, amount: Amount, tx: TxId) -> Result<(), Reject> {
        let asset_index = self.asset_index(asset)?;
        if !amount.is_positive() {
            return Err(Reject::NonPositiveAmount);
        }
        if self.ledger.deposits_seen.contains(&tx) {
            return Ok(());
        }
        let custody = self.ledger.custody[asset_index];
        let outstanding = custody.deposited - custody.withdrawn + i128::from(amount.0);
        if outstanding > i128::from(i64::MAX) {
            return Err(Reject::Overflow);
        }
        let index = self.ledger.find_or_open(account);
        self.ledger.balance_mut(index, asset).available.0 += amount.0;
        self.ledger.custody[asset_index].deposited += i128::from(amount.0);
        self.ledger.deposits_seen.insert(tx);
        self.events.push(Event::Deposited { account, asset, amount, tx });
        Ok(())
    }

    fn withdraw(
        &mut self,
        account: AccountId,
        asset: AssetId,
        amount: Amount,
        tx: TxId,
        margin: rucksack_types::MarginFlags,
    ) -> Result<(), Reject> {
        let asset_index = self.asset_index(asset)?;
        if !amount.is_positive() {
            return Err(Reject::NonPositiveAmount);
        }
        if self.ledger.withdrawals_seen.contains(&tx) {
            return Ok(());
        }
        let index = self.ledger.find(account).ok_or(Reject::InsufficientFunds)?;
        let before = self.margin_before(index, margin.auto_borrow);
        let steps = self.fund(index, asset_index, amount, margin, rucksack_types::BorrowLendSource::Withdrawal)?;
        if self.ledger.balance(index, asset).available < amount {
            self.undo_all(steps);
            return Err(Reject::InsufficientFunds);
        }
        self.ledger.balance_mut(index, asset).available.0 -= amount.0;
        if let Err(reject) = self.check_margin_change(index, &before) {
            self.ledger.balance_mut(index, asset).available.0 += amount.0;
            self.undo_all(steps);
            return Err(reject);
        }
        self.ledger.custody[asset_index].withdrawn += i128::from(amount.0);
        self.ledger.withdrawals_seen.insert(tx);
        self.events.push(Event::Withdrawn { account, asset, amount, tx });
        Ok(())
    }

    pub(crate) fn asset_index(&self, asset: AssetId) -> Result<usize, Reject> {
        let index = usize::from(asset.0);
        if index < self.assets.len() { Ok(index) } else { Err(Reject::UnknownAsset) }
    }

    pub(crate) fn market_index(&self, market: MarketId) -> Result<usize, Reject> {
        let index = usize::from(market.0);
        if index < self.markets.len() { Ok(index) } else { Err(Reject::UnknownMarket) }
    }

    fn cancel_order(&mut self, account: AccountId, market: MarketId, target: CancelTarget) -> Result<(), Reject> {
        self.market_index(market)?;
        let account_index = self.ledger.find(account).ok_or(Reject::OrderNotFound)?;
        let handle = match target {
            CancelTarget::Order(id) => self.order_index.get(&id).copied(),
            CancelTarget::Client(id) => self.client_index.get(&(account_index, id)).copied(),
        };
        let Some(handle) = handle else {
            return if self.cancel_trigger(account, market, target) { Ok(()) } else { Err(Reject::OrderNotFound) };
        };
        let order = self.orders.get(handle);
        if order.account != account_index || order.market != market {
            return Err(Reject::OrderNotFound);
        }
        self.close_resting(handle, OrderStatus::Cancelled, None);
        Ok(())
    }

    pub(crate) fn cancel_all(
        &mut self,
        account: AccountId,
        market: MarketId,
        scope: rucksack_types::CancelScope,
    ) -> Result<(), Reject> {
        use rucksack_types::CancelScope;
        self.market_index(market)?;
        let Some(account_index) = self.ledger.find(account) else {
            return Ok(());
        };
        if scope != CancelScope::Resting {
            self.cancel_triggers(account, market);
        }
        if scope == CancelScope::Triggers {
            return Ok(());
        }
        let mut handle = self.ledger.account(account_index).orders_head;
        while handle != NIL {
            let order = self.orders.get(handle);
            let next = order.account_next;
            if order.market == market {
                self.close_resting(handle, OrderStatus::Cancelled, None);
            }
            handle = next;
        }
        Ok(())
    }

    /// What a resting order keeps locked: quote at its price plus the largest fee it could
    /// pay for a bid, the base quantity for an ask.
    pub(crate) fn reservation(
        &self,
        market_index: usize,
        side: Side,
        price: rucksack_types::Ticks,
        lots: Lots,
    ) -> Result<Amount, Reject> {
        let market = &self.markets[market_index];
        if market.perp.is_some() {
            return Ok(Amount::ZERO);
        }
        Ok(match side {
            Side::Bid => bid_reservation_per_lot(market, price)?.checked_mul(lots.0)?,
            Side::Ask => market.scale.base_amount(lots)?,
        })
    }

    /// Takes a resting order off its book, releases what it still reserves and reports its
    /// final status.
    pub(crate) fn close_resting(&mut self, handle: Handle, status: OrderStatus, reason: Option<ExpiryReason>) {
        let order = self.orders.get(handle).clone();
        let market_index = usize::from(order.market.0);
        let released = Amount(order.reserved_per_lot.0 * order.remaining.0);
        let asset = self.side_asset(market_index, order.side);
        let balance = self.ledger.balance_mut(order.account, asset);
        balance.locked.0 -= released.0;
        balance.available.0 += released.0;
        self.markets[market_index].book.unlink(&mut self.orders, handle);
        self.forget_resting(handle);
        self.events.push(Event::OrderClosed {
            order: order.id,
            account: self.ledger.account(order.account).id,
            market: order.market,
            status,
            reason,
            executed: order.executed(),
            executed_quote: order.executed_quote,
        });
    }

    /// Removes an order, already unlinked from its level, from the indices, its account's list
    /// and the arena.
    pub(crate) fn forget_resting(&mut self, handle: Handle) {
        self.uncount_resting(handle);
        let (id, account, client_id, prev, next) = {
            let order = self.orders.get(handle);
            (order.id, order.account, order.client_id, order.account_prev, order.account_next)
        };
        self.order_index.remove(&id);
        if let Some(client_id) = client_id {
            self.client_index.remove(&(account, client_id));
        }
        if prev != NIL {
            self.orders.get_mut(prev).account_next = next;
        } else {
            self.ledger.account_mut(account).orders_head = next;
        }
        if next != NIL {
            self.orders.get_mut(next).account_prev = prev;
        } else {
            self.ledger.account_mut(account).orders_tail = prev;
        }
        self.orders.remove(handle);
    }

    /// Puts an order into the indices and into its account's list, which stays in id order.
    pub(crate) fn remember_resting(&mut self, handle: Handle) {
        let (id, account, client_id) = {
            let order = self.orders.get(handle);
            (order.id, order.account, order.client_id)
        };
        self.order_index.insert(id, handle);
        if let Some(client_id) = client_id {
            self.client_index.insert((account, client_id), handle);
        }
        // After the last order with a lower id: the tail, unless a trigger order fired with an
        // id older than orders placed while it waited.
        let mut prev = self.ledger.account(account).orders_tail;
        while prev != NIL && self.orders.get(prev).id > id {
            prev = self.orders.get(prev).account_prev;
        }
        let next =
            if prev == NIL { self.ledger.account(account).orders_head } else { self.orders.get(prev).account_next };
        {
            let order = self.orders.get_mut(handle);
            order.account_prev = prev;
            order.account_next = next;
        }
        if prev != NIL {
            self.orders.get_mut(prev).account_next = handle;
        } else {
            self.ledger.account_mut(account).orders_head = handle;
        }
        if next != NIL {
            self.orders.get_mut(next).account_prev = handle;
        } else {
            self.ledger.account_mut(account).orders_tail = handle;
        }
        self.count_resting(handle);
    }

    /// The asset an order on `side` spends: quote for a bid, base for an ask.
    pub(crate) fn side_asset(&self, market_index: usize, side: Side) -> AssetId {
        let spec = &self.markets[market_index].spec;
        match side {
            Side::Bid => spec.quote,
            Side::Ask => spec.base,
        }
    }
}

/// Quote a bid reserves per lot at `price`: the lot's cost rounded up plus the taker fee on it
/// rounded up. Because ceilings are superadditive, `lots` times this covers the cost and fee
/// of any fills of those lots at `price` or better, as maker or taker.
pub(crate) fn bid_reservation_per_lot(market: &Market, price: rucksack_types::Ticks) -> Result<Amount, Reject> {
    let scale = &market.scale;
    let cost = scale.quote_amount(price, Lots(1), rucksack_types::Rounding::Up)?;
    let fee = scale.fee(price, Lots(1), market.spec.taker_fee_bps, rucksack_types::Rounding::Up)?;
    Ok(cost.checked_add(fee)?)
}
