//! The unified account's costs on the engine:
//!
//! - `pre_trade`: the same flow of limit orders (placed away from the touch so they rest, then
//!   cancelled) from an account holding 20 assets with borrows, which every order's margin check
//!   covers, and from an account holding the same assets without borrows, which skips the check.
//!   The ratio of the two is what the check costs the engine.
//! - `book_churn`: the engine benchmark's flow (passive limits near the touch, cancels, IOCs
//!   across 1,000 accounts with a deep book) as it is, and with every account borrowing USDC, so
//!   every order passes the margin check over the account's ~100 resting orders.
//! - `hourly_interest`: one hour's interest on every pool while 1,000,000 accounts hold lends and
//!   borrows in them.
//!
//! Run: `cargo bench -p rucksack-engine --bench margin`.

use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};

#[path = "shared/measure.rs"]
mod measure;
use measure::{measure, run};
use rucksack_engine::Engine;
use rucksack_testkit::Stamp;
use rucksack_testkit::fixtures;
use rucksack_types::{
    AccountId, Amount, AssetId, AssetSpec, BorrowLendAction, CancelTarget, ClientId, Command, Lots, MarginFlags,
    MarketId, MarketSpec, NewOrder, OrderSpec, SelfTradePrevention, Sequenced, Side, Symbol, Ticks, TimeInForce,
};

const BASES: u16 = 20;
const USDC: AssetId = AssetId(0);
const MARGIN: u64 = 1;
const PLAIN: u64 = 2;
const LENDER: u64 = 3;
const ORDERS: usize = 200_000;
const HOUR: u64 = 3_600_000_000;

/// USDC and 20 base assets with a market each, risk parameters and prices ($100 each).
fn venue() -> Vec<Command> {
    let mut commands =
        vec![Command::ListAsset(AssetSpec { id: USDC, symbol: Symbol::new("USDC").expect("symbol"), decimals: 6 })];
    for base in 1..=BASES {
        let symbol = Symbol::new(&format!("A{base:02}")).expect("symbol");
        commands.push(Command::ListAsset(AssetSpec { id: AssetId(base), symbol, decimals: 9 }));
    }
    for base in 1..=BASES {
        // The standard SOL_USDC market's terms, for each base.
        commands.push(Command::ListMarket(MarketSpec {
            id: MarketId(base - 1),
            symbol: Symbol::new(&format!("A{base:02}_USDC")).expect("symbol"),
            base: AssetId(base),
            quote: USDC,
            ..fixtures::sol_usdc()
        }));
    }
    for asset in 0..=BASES {
        // The standard venue's parameters: USDC's for USDC, SOL's for every base.
        let template = if asset == 0 { fixtures::USDC } else { fixtures::SOL };
        let risk = rucksack_types::AssetRisk {
            asset: AssetId(asset),
            price_stale_after_micros: 0,
            ..fixtures::asset_risk(template)
        };
        commands.push(Command::SetAssetRisk(risk));
        let price = if asset == 0 { "1" } else { "100" };
        commands.push(Command::SetIndexPrice { asset: AssetId(asset), price: fixtures::index_price(price) });
    }
    commands
}

fn pool(account: u64, asset: AssetId, action: BorrowLendAction, amount: i64) -> Command {
    Command::BorrowLend { account: AccountId(account), asset, action, amount: Amount(amount) }
}

fn order(account: u64, market: u16, client: u32, price: i64) -> Command {
    Command::PlaceOrder(NewOrder {
        account: AccountId(account),
        market: MarketId(market),
        side: Side::Bid,
        client_id: Some(ClientId(client)),
        self_trade_prevention: SelfTradePrevention::RejectTaker,
        spec: OrderSpec::Limit { price: Ticks(price), quantity: Lots(100), time_in_force: TimeInForce::Gtc },
        margin: MarginFlags::NONE,
        reduce_only: false,
        trigger: None,
    })
}

/// The venue with both traders funded (100 of every base, 100,000 USDC), the margin account
/// borrowing USDC and three bases, and ten resting orders of each trader's.
fn pre_trade_start() -> (Engine, Stamp) {
    let mut engine = Engine::new();
    engine.set_invariant_checks(false);
    let mut stamp = Stamp::default();
    let mut setup = venue();
    setup.push(fixtures::deposit(LENDER, USDC, 10_000_000_000_000, 1));
    for base in 1..=BASES {
        setup.push(fixtures::deposit(LENDER, AssetId(base), 100_000_000_000_000, 100 + u64::from(base)));
        setup.push(pool(LENDER, AssetId(base), BorrowLendAction::Lend, 100_000_000_000_000));
    }
    setup.push(pool(LENDER, USDC, BorrowLendAction::Lend, 10_000_000_000_000));
    for (n, trader) in [MARGIN, PLAIN].into_iter().enumerate() {
        let tx = 1_000 * (n as u64 + 1);
        setup.push(fixtures::deposit(trader, USDC, 100_000_000_000, tx));
        for base in 1..=BASES {
            setup.push(fixtures::deposit(trader, AssetId(base), 100_000_000_000, tx + u64::from(base)));
        }
        for market in 0..10 {
            setup.push(order(trader, market, 1_000_000 + u32::from(market), 9_900));
        }
    }
    setup.push(pool(MARGIN, USDC, BorrowLendAction::Borrow, 20_000_000_000));
    for base in 1..=3 {
        setup.push(pool(MARGIN, AssetId(base), BorrowLendAction::Borrow, 10_000_000_000));
    }
    for command in setup {
        engine.apply(&stamp.next(command)).unwrap_or_else(|r| panic!("{command:?}: {r}"));
    }
    (engine, stamp)
}

/// `ORDERS` place-then-cancel pairs for `account` across the 20 markets.
fn churn(account: u64, stamp: &mut Stamp) -> Vec<Sequenced> {
    let mut commands = Vec::with_capacity(2 * ORDERS);
    for n in 0..ORDERS {
        let market = (n % usize::from(BASES)) as u16;
        let client = n as u32;
        commands.push(stamp.next(order(account, market, client, 9_000 + (n % 50) as i64)));
        commands.push(stamp.next(Command::CancelOrder {
            account: AccountId(account),
            market: MarketId(market),
            target: CancelTarget::Client(ClientId(client)),
        }));
    }
    commands
}

fn pre_trade(c: &mut Criterion) {
    let (start, mut stamp) = pre_trade_start();
    let flows = [("margin_account", churn(MARGIN, &mut stamp)), ("plain_account", churn(PLAIN, &mut stamp))];
    let mut group = c.benchmark_group("pre_trade");
    group.sample_size(10).sampling_mode(SamplingMode::Flat).warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    let mut rates = Vec::new();
    for (name, commands) in &flows {
        let mut check = start.clone();
        assert_eq!(run(&mut check, commands), commands.len(), "{name}: every command is accepted");
        rates.extend(measure(&mut group, "pre_trade", name, &start, commands));
    }
    group.finish();
    if let [margin, plain] = rates[..] {
        println!("pre_trade: the margin account runs at {:.1}% of the plain account's rate", margin / plain * 100.0);
    }
}

const CHURN_ACCOUNTS: u64 = 1_000;
const CHURN_COMMANDS: usize = 200_000;

/// The engine benchmark's `book_churn` flow, generated in a closed loop against an engine whose
/// accounts all borrow (or not).
fn book_churn_flow(borrowing: bool) -> (Engine, Vec<Sequenced>, usize) {
    use rucksack_testkit::{Workload, WorkloadMix};
    let mut workload = Workload::new(0xE_0001, CHURN_ACCOUNTS, WorkloadMix::book_churn());
    let mut stamp = Stamp::default();
    let mut engine = Engine::new();
    engine.set_invariant_checks(false);
    let mut warm_up = workload.setup();
    warm_up.extend(fixtures::risk_settings());
    warm_up.push(fixtures::deposit(LENDER_OF_ALL, fixtures::USDC, 1_000_000_000_000_000, 9_999_999));
    warm_up.push(pool(LENDER_OF_ALL, fixtures::USDC, BorrowLendAction::Lend, 1_000_000_000_000_000));
    if borrowing {
        for account in 1..=CHURN_ACCOUNTS {
            warm_up.push(pool(account, fixtures::USDC, BorrowLendAction::Borrow, 1_000_000_000));
        }
    }
    warm_up.extend(workload.seed_book(50_000));
    for command in warm_up {
        if let Ok(events) = engine.apply(&stamp.next(command)) {
            workload.observe(events);
        }
    }
    let start = engine.clone();
    let mut commands = Vec::with_capacity(CHURN_COMMANDS);
    let mut refused = 0;
    for _ in 0..CHURN_COMMANDS {
        let command = stamp.next(workload.next_command());
        match engine.apply(&command) {
            Ok(events) => workload.observe(events),
            Err(_) => refused += 1,
        }
        commands.push(command);
    }
    (start, commands, refused)
}

const LENDER_OF_ALL: u64 = 5_000_000;

fn book_churn(c: &mut Criterion) {
    let mut group = c.benchmark_group("book_churn");
    group.sample_size(10).sampling_mode(SamplingMode::Flat).warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    let mut rates = Vec::new();
    for (name, borrowing) in [("borrowing_accounts", true), ("plain_accounts", false)] {
        let (start, commands, refused) = book_churn_flow(borrowing);
        println!(
            "book_churn/{name}: {} commands, {refused} refused, {} resting at start",
            commands.len(),
            start.open_orders()
        );
        rates.extend(measure(&mut group, "book_churn", name, &start, &commands));
    }
    group.finish();
    if let [margin, plain] = rates[..] {
        println!(
            "book_churn: with borrowing accounts the engine runs at {:.1}% of its plain rate",
            margin / plain * 100.0
        );
    }
}

/// 1,000,000 accounts: each deposits and lends USDC; every fourth also deposits SOL and borrows
/// USDC against it.
fn hourly_start() -> (Engine, Stamp) {
    const ACCOUNTS: u64 = 1_000_000;
    let mut engine = Engine::new();
    engine.set_invariant_checks(false);
    let mut stamp = Stamp::default();
    let mut setup = fixtures::listings();
    setup.extend(fixtures::risk_settings());
    setup.push(Command::AccrueInterest);
    for command in setup {
        engine.apply(&stamp.next(command)).expect("setup");
    }
    for account in 1..=ACCOUNTS {
        let mut commands = vec![
            fixtures::deposit(account, fixtures::USDC, 1_000_000_000, 2 * account),
            pool(account, fixtures::USDC, BorrowLendAction::Lend, 1_000_000_000),
        ];
        if account % 4 == 0 {
            commands.push(fixtures::deposit(account, fixtures::SOL, 10_000_000_000, 2 * account + 1));
            commands.push(pool(account, fixtures::USDC, BorrowLendAction::Redeem, 1_000_000_000));
            commands.push(pool(account, fixtures::USDC, BorrowLendAction::Borrow, 300_000_000));
        }
        for command in commands {
            engine.apply(&stamp.next(command)).unwrap_or_else(|r| panic!("account {account}: {r}"));
        }
    }
    // Setting up took simulated time too: charge it, so each timed step charges one hour.
    engine.apply(&stamp.next(Command::AccrueInterest)).expect("accrues");
    (engine, stamp)
}

fn hourly_interest(c: &mut Criterion) {
    let (engine, mut stamp) = hourly_start();
    let pool = engine.pool(fixtures::USDC).expect("USDC pool");
    println!(
        "hourly_interest: {} accounts; USDC pool lent {} borrowed {} (utilization {})",
        engine.account_ids().count(),
        pool.lent,
        pool.borrowed,
        pool.utilization()
    );
    let mut group = c.benchmark_group("hourly_interest");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(20));
    // Each timed step charges one hour on a fresh copy, so interest never compounds across
    // samples into another regime.
    stamp.advance(HOUR);
    let step = stamp.next(Command::AccrueInterest);
    group.bench_function("one_hour_1m_accounts", |b| {
        b.iter_batched(
            || engine.clone(),
            |mut engine| {
                let events = engine.apply(&step).expect("accrues").len();
                assert_eq!(events, 1, "the USDC pool is charged one hour");
                engine
            },
            criterion::BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, pre_trade, book_churn, hourly_interest);
criterion_main!(benches);
