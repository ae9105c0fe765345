//! The risk engine under a crash: 100,000 accounts with leveraged SOL perpetual positions and a
//! −20% shock.
//!
//! Half the accounts are long, each against a short account with ten times its equity. The longs'
//! leverage is spread evenly from 1x to 10x, so a 20% fall takes those above about 4.8x to
//! maintenance and those above 5x below zero. A market maker bids below the new price for the
//! on-book steps.
//!
//! - `find`: every liquidatable account, by a full valuation of all accounts
//!   (`liquidatable_accounts`), against the sweep's own choice of whom to value after a 0.1%
//!   move (the index) when nobody is near maintenance.
//! - `first_round`: the first sweep after the shock: unwinds, on-book steps, deleveraging and
//!   deficits.
//! - `during_liquidation`: engine commands per second while the cascade runs: rounds of a sweep
//!   and 2,000 orders (the maker requoting, takers trading), until nobody is left in liquidation.
//!
//! Run: `cargo bench -p rucksack-engine --bench liquidation`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use rucksack_engine::Engine;
use rucksack_testkit::Stamp;
use rucksack_testkit::fixtures::{self, SOL, SOL_USDC_PERP, USDC};
use rucksack_types::{
    AccountId, CancelScope, Command, Event, Lots, MarketSize, NewOrder, OrderSpec, SelfTradePrevention, Sequenced,
    SettingsChange, Side, Ticks, TimeInForce,
};

const ACCOUNTS: u64 = 100_000;
const MAKER: u64 = ACCOUNTS + 1;
/// Each long's position: 1 SOL (100 lots) at $143.
const LOTS: i64 = 100;

fn order(account: u64, side: Side, spec: OrderSpec) -> Command {
    Command::PlaceOrder(NewOrder {
        account: AccountId(account),
        market: SOL_USDC_PERP,
        side,
        client_id: None,
        self_trade_prevention: SelfTradePrevention::RejectTaker,
        spec,
        margin: rucksack_types::MarginFlags::NONE,
        reduce_only: false,
        trigger: None,
    })
}

fn limit(account: u64, side: Side, price: i64, lots: i64) -> Command {
    order(
        account,
        side,
        OrderSpec::Limit { price: Ticks(price), quantity: Lots(lots), time_in_force: TimeInForce::Gtc },
    )
}

fn market(account: u64, side: Side, lots: i64) -> Command {
    order(account, side, OrderSpec::Market { size: MarketSize::Base(Lots(lots)), time_in_force: TimeInForce::Ioc })
}

/// The venue with its 100,000 positioned accounts, marked at $143, and the market maker's bids.
fn crash_start() -> (Engine, Stamp) {
    let mut engine = Engine::new();
    engine.set_invariant_checks(false);
    let mut stamp = Stamp::default();
    let mut setup = fixtures::listings();
    setup.extend(fixtures::risk_settings());
    setup.extend(fixtures::perp_listings());
    setup.push(Command::UpdateMarkPrices);
    let mut tx = 0;
    let mut deposit = |account: u64, amount: i64| {
        tx += 1;
        fixtures::deposit(account, USDC, amount, tx)
    };
    for pair in 0..ACCOUNTS / 2 {
        let (short, long) = (2 * pair + 1, 2 * pair + 2);
        // Leverage from 1x to 10x: equity $143 / leverage.
        let leverage = 1 + pair % 10;
        let equity = 143_000_000 / leverage as i64 + 1_000_000;
        setup.push(deposit(short, 10 * equity));
        setup.push(deposit(long, equity));
        setup.push(Command::UpdateAccountSettings {
            account: AccountId(long),
            change: SettingsChange { leverage_limit: Some(20), ..SettingsChange::default() },
        });
        setup.push(limit(short, Side::Ask, 14_300, LOTS));
        setup.push(market(long, Side::Bid, LOTS));
    }
    setup.push(deposit(MAKER, 1_000_000_000_000));
    for command in setup {
        engine.apply(&stamp.next(command)).unwrap_or_else(|r| panic!("setup: {r}"));
    }
    // A first sweep values everyone once and files them in the index.
    stamp.advance(1_000_000);
    engine.apply(&stamp.next(Command::Liquidate)).expect("first sweep");
    // The maker's bids from $115 down to $105, 50 SOL a level, and an ask above.
    for price in (10_500..=11_500).rev().step_by(10) {
        engine.apply(&stamp.next(limit(MAKER, Side::Bid, price, 5_000))).expect("bid");
    }
    engine.apply(&stamp.next(limit(MAKER, Side::Ask, 11_600, 5_000))).expect("ask");
    (engine, stamp)
}

/// SOL moves to `price` and the marks follow.
fn move_to(engine: &mut Engine, stamp: &mut Stamp, price: &str) {
    stamp.advance(1_000_000);
    let index = Command::SetIndexPrice { asset: SOL, price: fixtures::index_price(price) };
    engine.apply(&stamp.next(index)).expect("index");
    engine.apply(&stamp.next(Command::UpdateMarkPrices)).expect("marks");
}

fn steps(events: &[Event]) -> usize {
    events.iter().filter(|e| matches!(e, Event::Liquidation(_))).count()
}

fn find(c: &mut Criterion) {
    let (engine, mut stamp) = crash_start();
    let mut group = c.benchmark_group("find");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    let mut shocked = engine.clone();
    move_to(&mut shocked, &mut stamp.clone(), "114.4");
    println!("find: {} of {} accounts liquidatable after −20%", shocked.liquidatable_accounts().len(), ACCOUNTS + 1);
    group.bench_function("full_valuation_100k", |b| b.iter(|| black_box(shocked.liquidatable_accounts().len())));
    // A 0.1% move (the maker's bids, far below, withdrawn so the mark follows the index)
    // crosses nobody's band: the sweep values only what the index lists.
    let mut calm = engine.clone();
    let withdraw = Command::CancelAll { account: AccountId(MAKER), market: SOL_USDC_PERP, scope: CancelScope::All };
    calm.apply(&stamp.next(withdraw)).expect("cancel");
    move_to(&mut calm, &mut stamp, "142.86");
    println!("find: the sweep after a 0.1% move values {} accounts", calm.accounts_to_value());
    let sweep = stamp.next(Command::Liquidate);
    group.bench_function("indexed_sweep_after_0.1%_move", |b| {
        b.iter_batched(
            || calm.clone(),
            |mut engine| {
                black_box(engine.apply(&sweep).expect("sweep").len());
                engine
            },
            criterion::BatchSize::LargeInput,
        );
    });
    group.finish();
}

fn first_round(c: &mut Criterion) {
    let (mut engine, mut stamp) = crash_start();
    move_to(&mut engine, &mut stamp, "114.4");
    let sweep = stamp.next(Command::Liquidate);
    let taken = steps(engine.clone().apply(&sweep).expect("sweep"));
    println!("first_round: {taken} liquidation steps in the first sweep");
    let mut group = c.benchmark_group("first_round");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(20));
    group.bench_function("sweep_after_20%_shock", |b| {
        b.iter_batched(
            || engine.clone(),
            |mut engine| {
                black_box(engine.apply(&sweep).expect("sweep").len());
                engine
            },
            criterion::BatchSize::LargeInput,
        );
    });
    group.finish();
}

/// Rounds of one sweep and 2,000 orders: the maker requotes a bid and takers (the shorts, who
/// are flush) buy and sell a lot each.
fn cascade(stamp: &mut Stamp, rounds: usize) -> Vec<Sequenced> {
    let mut commands = Vec::new();
    for round in 0..rounds {
        stamp.advance(1_000_000);
        commands.push(stamp.next(Command::Liquidate));
        for i in 0..2_000u64 {
            let short = 2 * ((round as u64 * 2_000 + i) % (ACCOUNTS / 2)) + 1;
            let command = match i % 4 {
                0 => limit(MAKER, Side::Bid, 11_000 + (i % 400) as i64, 10),
                1 => market(short, Side::Bid, 1),
                2 => market(short, Side::Ask, 1),
                _ => limit(short, Side::Ask, 11_700 + (i % 50) as i64, 1),
            };
            commands.push(stamp.next(command));
        }
    }
    commands
}

fn during_liquidation(_: &mut Criterion) {
    let (mut engine, mut stamp) = crash_start();
    move_to(&mut engine, &mut stamp, "114.4");
    let commands = cascade(&mut stamp, 20);
    let mut best = f64::MAX;
    let mut summary = (0, 0, 0);
    for _ in 0..3 {
        let mut run = engine.clone();
        let began = Instant::now();
        let (mut accepted, mut taken) = (0, 0);
        for command in &commands {
            if let Ok(events) = run.apply(command) {
                accepted += 1;
                taken += steps(events);
            }
        }
        best = best.min(began.elapsed().as_secs_f64());
        summary = (accepted, taken, run.liquidating_accounts().len());
    }
    let (accepted, taken, left) = summary;
    println!(
        "during_liquidation: {} commands ({accepted} accepted, {taken} liquidation steps, {left} accounts still in liquidation) in {:.3} s: {:.0} commands/s",
        commands.len(),
        best,
        commands.len() as f64 / best
    );
}

criterion_group!(benches, find, first_round, during_liquidation);
criterion_main!(benches);
