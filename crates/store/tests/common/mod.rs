//! Shared by the history tests: a store on each backend, a recorded engine run, and the history
//! that run should leave, folded here from the same events independently of the store.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rucksack_engine::Engine;
use rucksack_store::{
    Applied, Backend, Candle, CandleInterval, FillRecord, HistoryStore, OrderRecord, TradeRecord, TransferKind,
    TransferRecord,
};
use rucksack_testkit::{SplitMix64, Workload, WorkloadMix};
use rucksack_types::{
    AccountId, Amount, Command, Event, Lots, MarginFlags, MarketId, MarketSize, NewOrder, OrderId, OrderSpec,
    OrderStatus, SelfTradePrevention, Seq, Sequenced, Side, Ticks, TimeInForce, Timestamp,
};
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgPoolOptions;

pub const ACCOUNTS: u64 = 8;
pub const MARKETS: [MarketId; 2] = [MarketId(0), MarketId(1)];

/// Runs `case` on a fresh SQLite file.
pub async fn on_sqlite<F, Fut>(case: F)
where
    F: FnOnce(HistoryStore) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("history.db").display());
    let store = HistoryStore::open(&url).await.expect("open SQLite store");
    assert_eq!(store.backend(), Backend::Sqlite);
    run(case(store)).await;
}

static DATABASES: AtomicU64 = AtomicU64::new(0);

/// Runs `case` on a fresh PostgreSQL database, dropped afterwards. Without a server the test
/// passes with a note, unless `RUCKSACK_REQUIRE_POSTGRES=1`.
pub async fn on_postgres<F, Fut>(case: F)
where
    F: FnOnce(HistoryStore) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let base = std::env::var("RUCKSACK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let admin =
        match PgPoolOptions::new().max_connections(1).acquire_timeout(Duration::from_secs(5)).connect(&base).await {
            Ok(admin) => admin,
            Err(error) => {
                assert!(
                    std::env::var("RUCKSACK_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                    "PostgreSQL is required but unreachable: {error}"
                );
                static SAID: std::sync::Once = std::sync::Once::new();
                SAID.call_once(|| println!("skipping PostgreSQL history tests: {error}"));
                return;
            }
        };
    let name = format!("rucksack_test_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::Relaxed));
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.expect("create database");
    let store = HistoryStore::open(&with_database(&base, &name)).await.expect("open PostgreSQL store");
    assert_eq!(store.backend(), Backend::Postgres);
    let outcome = tokio::spawn(case(store)).await;
    sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&admin).await.expect("drop");
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

async fn run(case: impl Future<Output = ()> + Send + 'static) {
    if let Err(error) = tokio::spawn(case).await {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// `base` with its database name replaced.
fn with_database(base: &str, name: &str) -> String {
    let (without_query, query) = base.split_once('?').map_or((base, ""), |(b, q)| (b, q));
    let (scheme, rest) = without_query.split_once("://").expect("a URL");
    let authority = rest.split('/').next().unwrap_or(rest);
    let query = if query.is_empty() { String::new() } else { format!("?{query}") };
    format!("{scheme}://{authority}/{name}{query}")
}

/// Every test case, on both backends: `cases!(a, b)` makes `a::sqlite`, `a::postgres`, ...
#[macro_export]
macro_rules! cases {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::common::on_sqlite(super::$case).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::common::on_postgres(super::$case).await
            }
        }
    )*};
}

fn perp_order(account: u64, side: Side, spec: OrderSpec) -> Command {
    Command::PlaceOrder(NewOrder {
        account: AccountId(account),
        market: rucksack_testkit::fixtures::SOL_USDC_PERP,
        side,
        client_id: None,
        self_trade_prevention: SelfTradePrevention::RejectTaker,
        spec,
        margin: MarginFlags::NONE,
        reduce_only: false,
        trigger: None,
    })
}

/// A good-till-cancelled SOL-perp order of `lots` at `price` ticks.
pub fn gtc(account: u64, side: Side, price: i64, lots: i64) -> Command {
    let spec = OrderSpec::Limit { price: Ticks(price), quantity: Lots(lots), time_in_force: TimeInForce::Gtc };
    perp_order(account, side, spec)
}

/// A SOL-perp market order of `lots`.
pub fn take(account: u64, side: Side, lots: i64) -> Command {
    perp_order(account, side, OrderSpec::Market { size: MarketSize::Base(Lots(lots)), time_in_force: TimeInForce::Ioc })
}

/// A recorded engine run: every command that produced events, with its seq, time and events.
/// Time moves unevenly (mostly seconds, sometimes days) so candles of every size get filled.
pub fn recorded_run(seed: u64, commands: usize) -> Vec<Applied> {
    let mut workload = Workload::new(seed, ACCOUNTS, WorkloadMix::everything());
    let mut engine = Engine::new();
    let mut clock = SplitMix64::new(seed ^ 0x5eed);
    let mut time = 1_764_000_000_000_000u64;
    let mut applied = Vec::new();
    let setup = workload.setup();
    let count = setup.len() + commands;
    let mut setup = setup.into_iter();
    for seq in 1..=count as u64 {
        let command = setup.next().unwrap_or_else(|| workload.next_command());
        time += if clock.chance(1) { clock.below(3 * 86_400_000_000) } else { clock.below(4_000_000) };
        let sequenced = Sequenced { seq: Seq(seq), time: Timestamp(time), command };
        let events = engine.apply(&sequenced).map(<[_]>::to_vec).unwrap_or_default();
        workload.observe(&events);
        if !events.is_empty() {
            applied.push(Applied { seq: sequenced.seq, time: sequenced.time, events });
        }
    }
    applied
}

/// The history a run should leave, folded straight from its events.
#[derive(Debug, Default)]
pub struct Expected {
    pub orders: BTreeMap<OrderId, OrderRecord>,
    pub fills: Vec<FillRecord>,
    pub trades: Vec<TradeRecord>,
    pub transfers: Vec<TransferRecord>,
}

impl Expected {
    pub fn of(run: &[Applied]) -> Expected {
        let mut expected = Expected::default();
        for command in run {
            let time = command.time;
            for event in &command.events {
                expected.fold(event, command.seq, time);
            }
        }
        expected
    }

    fn fold(&mut self, event: &Event, seq: Seq, time: Timestamp) {
        match *event {
            Event::OrderAccepted { order, new } => {
                let (limit, quantity, quote_quantity) = match new.spec {
                    OrderSpec::Limit { price, quantity, .. } => (Some(price), Some(quantity), None),
                    OrderSpec::Market { size: MarketSize::Base(q), .. } => (None, Some(q), None),
                    OrderSpec::Market { size: MarketSize::Quote(q), .. } => (None, None, Some(q)),
                };
                let record = OrderRecord {
                    id: order,
                    account: new.account,
                    market: new.market,
                    client_id: new.client_id,
                    side: new.side,
                    limit,
                    quantity,
                    quote_quantity,
                    time_in_force: new.spec.time_in_force(),
                    self_trade_prevention: new.self_trade_prevention,
                    status: OrderStatus::New,
                    expiry_reason: None,
                    executed: Lots::ZERO,
                    executed_quote: Amount::ZERO,
                    created_at: time,
                    updated_at: time,
                    system_order_type: None,
                };
                self.orders.insert(order, record);
            }
            Event::Trade(trade) => {
                for (order, account, side, fee, is_maker) in [
                    (trade.taker_order, trade.taker_account, trade.taker_side, trade.taker_fee, false),
                    (trade.maker_order, trade.maker_account, trade.taker_side.opposite(), trade.maker_fee, true),
                ] {
                    let record = self.orders.get_mut(&order).expect("a trading order was accepted");
                    record.executed.0 += trade.quantity.0;
                    record.executed_quote.0 += trade.quote_received.0;
                    record.status = OrderStatus::PartiallyFilled;
                    record.updated_at = time;
                    self.fills.push(FillRecord {
                        trade: trade.id,
                        order,
                        client_id: record.client_id,
                        account,
                        market: trade.market,
                        side,
                        price: trade.price,
                        quantity: trade.quantity,
                        fee,
                        is_maker,
                        time,
                        system_order_type: record.system_order_type,
                    });
                }
                self.trades.push(TradeRecord {
                    id: trade.id,
                    market: trade.market,
                    price: trade.price,
                    quantity: trade.quantity,
                    quote: trade.quote_received,
                    buyer_is_maker: trade.taker_side == Side::Ask,
                    time,
                });
            }
            Event::OrderRested { order, .. } => {
                let record = self.orders.get_mut(&order).expect("a resting order was accepted");
                record.status = if record.executed.is_zero() { OrderStatus::New } else { OrderStatus::PartiallyFilled };
                record.updated_at = time;
            }
            Event::OrderClosed { order, status, reason, executed, executed_quote, .. } => {
                let record = self.orders.get_mut(&order).expect("a closed order was accepted");
                record.status = status;
                record.expiry_reason = reason;
                record.executed = executed;
                record.executed_quote = executed_quote;
                record.updated_at = time;
            }
            Event::Deposited { account, asset, amount, tx } | Event::Withdrawn { account, asset, amount, tx } => {
                let kind = if matches!(event, Event::Deposited { .. }) {
                    TransferKind::Deposit
                } else {
                    TransferKind::Withdrawal
                };
                self.transfers.push(TransferRecord { kind, account, asset, amount, tx, seq, time });
            }
            _ => {}
        }
    }

    /// An account's orders by (created_at, id).
    pub fn orders_of(&self, account: AccountId) -> Vec<OrderRecord> {
        let mut orders: Vec<_> = self.orders.values().filter(|o| o.account == account).cloned().collect();
        orders.sort_by_key(|o| (o.created_at, o.id));
        orders
    }

    /// An account's fills by (time, trade, is_maker, market).
    pub fn fills_of(&self, account: AccountId) -> Vec<FillRecord> {
        let mut fills: Vec<_> = self.fills.iter().filter(|f| f.account == account).cloned().collect();
        fills.sort_by_key(|f| (f.time, f.trade, f.is_maker, f.market));
        fills
    }

    pub fn trades_of(&self, market: MarketId) -> Vec<TradeRecord> {
        self.trades.iter().filter(|t| t.market == market).cloned().collect()
    }

    pub fn transfers_of(&self, account: AccountId, kind: TransferKind) -> Vec<TransferRecord> {
        self.transfers.iter().filter(|t| t.account == account && t.kind == kind).cloned().collect()
    }

    /// Candles straight from the trades: each trade into the bucket of its second; a bucket
    /// counts if its start lies in `[start, end)`.
    pub fn candles(&self, market: MarketId, interval: CandleInterval, start: u64, end: Option<u64>) -> Vec<Candle> {
        let mut buckets: BTreeMap<u64, Candle> = BTreeMap::new();
        for trade in self.trades_of(market) {
            let (bucket_start, bucket_end) = interval.bounds(trade.time.0 / 1_000_000);
            if bucket_start < start || end.is_some_and(|end| bucket_start >= end) {
                continue;
            }
            let candle = buckets.entry(bucket_start).or_insert(Candle {
                start_secs: bucket_start,
                end_secs: bucket_end,
                open: trade.price,
                high: trade.price,
                low: trade.price,
                close: trade.price,
                volume: Lots::ZERO,
                quote_volume: Amount::ZERO,
                trades: 0,
            });
            candle.high = candle.high.max(trade.price);
            candle.low = candle.low.min(trade.price);
            candle.close = trade.price;
            candle.volume.0 += trade.quantity.0;
            candle.quote_volume.0 += trade.quote.0;
            candle.trades += 1;
        }
        buckets.into_values().collect()
    }
}

/// Everything the store holds for the test venue, in each listing's order.
#[derive(Debug, PartialEq, Eq)]
pub struct Dump {
    pub orders: Vec<OrderRecord>,
    pub fills: Vec<FillRecord>,
    pub trades: Vec<TradeRecord>,
    pub transfers: Vec<TransferRecord>,
    pub candles: Vec<Candle>,
}

pub fn everything() -> rucksack_store::Page {
    rucksack_store::Page { limit: u32::MAX, offset: 0, direction: rucksack_store::SortDirection::Asc }
}

pub async fn dump(store: &HistoryStore) -> Dump {
    use rucksack_store::{FillQuery, OrderQuery, TransferQuery};
    let page = everything();
    let mut dump = Dump { orders: vec![], fills: vec![], trades: vec![], transfers: vec![], candles: vec![] };
    for account in (1..=ACCOUNTS).map(AccountId) {
        dump.orders.extend(store.orders(&OrderQuery { account, market: None, order: None, page }).await.unwrap());
        let query = FillQuery { account, market: None, order: None, from: None, to: None, page };
        dump.fills.extend(store.fills(&query).await.unwrap());
        for kind in [TransferKind::Deposit, TransferKind::Withdrawal] {
            let query = TransferQuery { account, kind, from: None, to: None, page };
            dump.transfers.extend(store.transfers(&query).await.unwrap());
        }
    }
    for market in MARKETS {
        dump.trades.extend(store.trades(market, page).await.unwrap());
        dump.candles.extend(store.candles(market, CandleInterval::Minute1, 0, None).await.unwrap());
    }
    dump
}

/// What [`dump`] should return for `expected`.
pub fn expected_dump(expected: &Expected) -> Dump {
    let mut dump = Dump { orders: vec![], fills: vec![], trades: vec![], transfers: vec![], candles: vec![] };
    for account in (1..=ACCOUNTS).map(AccountId) {
        dump.orders.extend(expected.orders_of(account));
        dump.fills.extend(expected.fills_of(account));
        dump.transfers.extend(expected.transfers_of(account, TransferKind::Deposit));
        dump.transfers.extend(expected.transfers_of(account, TransferKind::Withdrawal));
    }
    for market in MARKETS {
        dump.trades.extend(expected.trades_of(market));
        dump.candles.extend(expected.candles(market, CandleInterval::Minute1, 0, None));
    }
    dump
}

/// Stores `run` in batches of the given sizes (the last one repeats).
pub async fn apply_in_batches(store: &HistoryStore, run: &[Applied], sizes: &[usize]) {
    let mut rest = run;
    let mut sizes = sizes.iter().copied().chain(std::iter::repeat(*sizes.last().unwrap_or(&1_000)));
    while !rest.is_empty() {
        let (batch, tail) = rest.split_at(sizes.next().unwrap_or(1).clamp(1, rest.len()));
        store.apply(batch).await.expect("apply");
        rest = tail;
    }
}
