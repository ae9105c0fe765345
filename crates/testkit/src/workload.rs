//! Seeded workloads. A [`Workload`] produces commands and learns from the engine's events which
//! orders are still open, so its cancels mostly hit live orders, as a real client's do. The
//! caller runs the engine and feeds events back with [`Workload::observe`].

use std::collections::HashMap;

use rucksack_types::{
    AccountId, Amount, CancelTarget, ClientId, Command, Event, Lots, MarketId, MarketSize, MarketSpec, NewOrder,
    OrderId, OrderSpec, SelfTradePrevention, Side, Ticks, TimeInForce,
};

use crate::fixtures::{self, BTC, SOL, USDC};
use crate::rng::SplitMix64;

/// Relative weights of each kind of command.
#[derive(Clone, Copy, Debug)]
pub struct WorkloadMix {
    pub deposit: u64,
    pub withdraw: u64,
    /// Passive limit orders near the touch (GTC, some post-only).
    pub limit: u64,
    /// Crossing orders: IOC and FOK limits, market orders by quantity and by quote.
    pub take: u64,
    pub cancel: u64,
    pub cancel_all: u64,
    /// Whether to draw every option (all time-in-force kinds, STP modes, client ids, wrong
    /// ids) or only the plain order flow of a busy book.
    pub varied: bool,
}

impl WorkloadMix {
    /// Every command kind and option, with many refusals: for invariant and determinism tests.
    pub const fn everything() -> WorkloadMix {
        WorkloadMix { deposit: 6, withdraw: 4, limit: 40, take: 20, cancel: 25, cancel_all: 5, varied: true }
    }

    /// The 50% add / 45% cancel / 5% IOC mix near the touch used by the benchmarks.
    pub const fn book_churn() -> WorkloadMix {
        WorkloadMix { deposit: 0, withdraw: 0, limit: 50, take: 5, cancel: 45, cancel_all: 0, varied: false }
    }
}

#[derive(Clone, Copy, Debug)]
struct OpenOrder {
    account: AccountId,
    market: MarketId,
    id: OrderId,
    client_id: Option<ClientId>,
}

#[derive(Clone, Debug)]
pub struct Workload {
    rng: SplitMix64,
    mix: WorkloadMix,
    accounts: u64,
    markets: Vec<MarketSpec>,
    mids: Vec<i64>,
    next_client_id: u32,
    next_tx: u64,
    open: Vec<OpenOrder>,
    open_index: HashMap<OrderId, usize>,
    client_ids: HashMap<OrderId, ClientId>,
    last_order_id: u64,
}

impl Workload {
    pub fn new(seed: u64, accounts: u64, mix: WorkloadMix) -> Workload {
        Workload {
            rng: SplitMix64::new(seed),
            mix,
            accounts: accounts.max(1),
            markets: vec![fixtures::sol_usdc(), fixtures::btc_usdc()],
            mids: vec![14_300, 950_000],
            next_client_id: 1,
            next_tx: 1,
            open: Vec::new(),
            open_index: HashMap::new(),
            client_ids: HashMap::new(),
            last_order_id: 0,
        }
    }

    /// Listings plus an opening deposit of every asset for every account.
    pub fn setup(&mut self) -> Vec<Command> {
        let mut commands = fixtures::listings();
        let rich = !self.mix.varied;
        for account in 1..=self.accounts {
            for (asset, amount) in [(SOL, 10_000_000_000_000i64), (USDC, 1_000_000_000_000), (BTC, 10_000_000_000)] {
                let amount = if rich { amount * 1_000 } else { amount / 1_000 * (1 + (account as i64 % 7)) };
                commands.push(fixtures::deposit(account, asset, amount, self.tx()));
            }
        }
        commands
    }

    /// Resting orders on both sides of every market, `per_market` each, to start from a deep book.
    pub fn seed_book(&mut self, per_market: usize) -> Vec<Command> {
        let mut commands = Vec::with_capacity(per_market * self.markets.len());
        for market in 0..self.markets.len() {
            for i in 0..per_market {
                let side = if i % 2 == 0 { Side::Bid } else { Side::Ask };
                let offset = 1 + (i as i64 / 2) % 400;
                commands.push(self.passive(market, side, offset));
            }
        }
        commands
    }

    pub fn open_orders(&self) -> usize {
        self.open.len()
    }

    pub fn next_command(&mut self) -> Command {
        let m = self.mix;
        let total = m.deposit + m.withdraw + m.limit + m.take + m.cancel + m.cancel_all;
        let mut pick = self.rng.below(total);
        let market = self.rng.below(self.markets.len() as u64) as usize;
        self.walk_mid(market);
        if pick < m.deposit {
            return self.deposit();
        }
        pick -= m.deposit;
        if pick < m.withdraw {
            return self.withdraw();
        }
        pick -= m.withdraw;
        if pick < m.limit {
            let side = self.side();
            let offset = self.rng.range(1, if m.varied { 30 } else { 20 });
            return self.passive(market, side, offset);
        }
        pick -= m.limit;
        if pick < m.take {
            return self.take(market);
        }
        pick -= m.take;
        if pick < m.cancel {
            return self.cancel();
        }
        self.cancel_all()
    }

    /// Learns which orders rest and which left the book.
    pub fn observe(&mut self, events: &[Event]) {
        for event in events {
            match *event {
                Event::OrderAccepted { order, new } => {
                    self.last_order_id = order.0;
                    if let Some(client_id) = new.client_id {
                        self.client_ids.insert(order, client_id);
                    }
                }
                Event::OrderRested { order, account, market, .. } => {
                    let client_id = self.client_ids.get(&order).copied();
                    self.open_index.insert(order, self.open.len());
                    self.open.push(OpenOrder { account, market, id: order, client_id });
                }
                Event::OrderClosed { order, .. } => {
                    self.client_ids.remove(&order);
                    if let Some(at) = self.open_index.remove(&order) {
                        self.open.swap_remove(at);
                        if let Some(moved) = self.open.get(at) {
                            self.open_index.insert(moved.id, at);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn tx(&mut self) -> u64 {
        self.next_tx += 1;
        self.next_tx
    }

    fn account(&mut self) -> AccountId {
        AccountId(1 + self.rng.below(self.accounts))
    }

    fn side(&mut self) -> Side {
        if self.rng.chance(50) { Side::Bid } else { Side::Ask }
    }

    /// Varied workloads move the price around so orders cross; the churn mix keeps it still so
    /// passive orders rest near the touch and only the IOCs take.
    fn walk_mid(&mut self, market: usize) {
        if self.mix.varied && self.rng.chance(10) {
            let mid = &mut self.mids[market];
            *mid = (*mid + self.rng.range(-2, 2)).max(100);
        }
    }

    fn client_id(&mut self) -> Option<ClientId> {
        if self.mix.varied && self.rng.chance(30) {
            return None;
        }
        self.next_client_id = self.next_client_id.wrapping_add(1).max(1);
        Some(ClientId(self.next_client_id))
    }

    fn stp(&mut self) -> SelfTradePrevention {
        if !self.mix.varied {
            return SelfTradePrevention::RejectTaker;
        }
        match self.rng.below(3) {
            0 => SelfTradePrevention::RejectTaker,
            1 => SelfTradePrevention::RejectMaker,
            _ => SelfTradePrevention::RejectBoth,
        }
    }

    fn quantity(&mut self, market: usize) -> Lots {
        let scale = if market == 0 { 1 } else { 100 };
        let lots =
            if self.mix.varied && self.rng.chance(5) { self.rng.range(1, 100_000) } else { self.rng.range(1, 500) };
        Lots(lots * scale)
    }

    fn passive(&mut self, market: usize, side: Side, offset: i64) -> Command {
        let mid = self.mids[market];
        let price = match side {
            Side::Bid => mid - offset,
            Side::Ask => mid + offset,
        };
        let time_in_force =
            if self.mix.varied && self.rng.chance(15) { TimeInForce::PostOnly } else { TimeInForce::Gtc };
        let quantity = self.quantity(market);
        self.order(market, side, OrderSpec::Limit { price: Ticks(price.max(1)), quantity, time_in_force })
    }

    fn take(&mut self, market: usize) -> Command {
        let side = self.side();
        let mid = self.mids[market];
        let through = self.rng.range(0, 6);
        let price = Ticks(match side {
            Side::Bid => mid + through,
            Side::Ask => (mid - through).max(1),
        });
        let quantity = self.quantity(market);
        let spec = if !self.mix.varied {
            let quantity = Lots(quantity.0 / 10 + 1);
            OrderSpec::Limit { price, quantity, time_in_force: TimeInForce::Ioc }
        } else {
            match self.rng.below(5) {
                0 => OrderSpec::Limit { price, quantity, time_in_force: TimeInForce::Ioc },
                1 => OrderSpec::Limit { price, quantity, time_in_force: TimeInForce::Fok },
                2 => OrderSpec::Limit { price, quantity, time_in_force: TimeInForce::Gtc },
                3 => OrderSpec::Market {
                    size: MarketSize::Base(quantity),
                    time_in_force: if self.rng.chance(20) { TimeInForce::Fok } else { TimeInForce::Ioc },
                },
                _ => OrderSpec::Market {
                    size: MarketSize::Quote(Amount(self.rng.range(1, 5_000_000_000))),
                    time_in_force: TimeInForce::Ioc,
                },
            }
        };
        self.order(market, side, spec)
    }

    fn order(&mut self, market: usize, side: Side, spec: OrderSpec) -> Command {
        let account = self.account();
        let client_id = self.client_id();
        let self_trade_prevention = self.stp();
        Command::PlaceOrder(NewOrder {
            account,
            market: self.markets[market].id,
            side,
            client_id,
            self_trade_prevention,
            spec,
            margin: rucksack_types::MarginFlags::NONE,
            reduce_only: false,
            trigger: None,
        })
    }

    fn cancel(&mut self) -> Command {
        if self.open.is_empty() || (self.mix.varied && self.rng.chance(10)) {
            // A cancel that misses: an order id that is gone or belongs to someone else.
            let id = OrderId(self.rng.below(self.last_order_id + 2));
            return Command::CancelOrder {
                account: self.account(),
                market: self.markets[0].id,
                target: CancelTarget::Order(id),
            };
        }
        let open = self.open[self.rng.below(self.open.len() as u64) as usize];
        let target = match open.client_id {
            Some(client_id) if self.rng.chance(50) => CancelTarget::Client(client_id),
            _ => CancelTarget::Order(open.id),
        };
        Command::CancelOrder { account: open.account, market: open.market, target }
    }

    fn cancel_all(&mut self) -> Command {
        let market = self.markets[self.rng.below(self.markets.len() as u64) as usize].id;
        Command::CancelAll { account: self.account(), market, scope: rucksack_types::CancelScope::All }
    }

    fn deposit(&mut self) -> Command {
        let asset = [SOL, USDC, BTC][self.rng.below(3) as usize];
        let account = self.account();
        // Now and then replay an old transaction id: it must change nothing.
        let tx = if self.rng.chance(10) && self.next_tx > 2 { self.rng.below(self.next_tx) + 1 } else { self.tx() };
        Command::Deposit { account, asset, amount: Amount(self.rng.range(1, 50_000_000_000)), tx: fixtures::tx(tx) }
    }

    fn withdraw(&mut self) -> Command {
        let asset = [SOL, USDC, BTC][self.rng.below(3) as usize];
        let account = self.account();
        let tx = self.tx();
        Command::Withdraw {
            account,
            asset,
            amount: Amount(self.rng.range(1, 50_000_000_000)),
            tx: fixtures::tx(tx),
            margin: rucksack_types::MarginFlags::NONE,
        }
    }
}
