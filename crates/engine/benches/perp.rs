//! Perpetual futures' costs on the engine:
//!
//! - `order_path`: the engine benchmark's `book_churn` flow (passive limits near the touch,
//!   cancels, IOCs across 1,000 accounts with a deep book) on the spot markets, and the same flow
//!   on the perpetual markets, where every order passes the margin rule over the account's
//!   positions and open orders, and every fill changes two positions.
//! - `mark_prices`: one clock sample (mark prices, funding at an interval end) and one PnL
//!   realization while 100,000 accounts hold positions.
//!
//! Run: `cargo bench -p rucksack-engine --bench perp`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};

#[path = "shared/measure.rs"]
mod measure;
use measure::measure;
use rucksack_engine::Engine;
use rucksack_testkit::fixtures::{self, SOL_USDC_PERP};
use rucksack_testkit::{Stamp, Workload, WorkloadMix};
use rucksack_types::{
    AccountId, Command, Lots, MarketId, MarketSize, NewOrder, OrderSpec, SelfTradePrevention, Sequenced, Side, Ticks,
    TimeInForce,
};

const ACCOUNTS: u64 = 1_000;
const COMMANDS: usize = 200_000;

/// An order command moved from a spot market to the perpetual on the same base.
fn on_perp(command: Command) -> Command {
    match command {
        Command::PlaceOrder(new) => Command::PlaceOrder(NewOrder { market: MarketId(new.market.0 + 2), ..new }),
        other => other,
    }
}

/// The churn flow, on the spot markets or on the perpetuals, from a deep book.
fn churn_flow(perp: bool) -> (Engine, Vec<Sequenced>, usize) {
    let mut workload = Workload::new(0xE_0001, ACCOUNTS, WorkloadMix::book_churn());
    let mut stamp = Stamp::default();
    let mut engine = Engine::new();
    engine.set_invariant_checks(false);
    let mut warm_up = workload.setup();
    warm_up.extend(fixtures::risk_settings());
    warm_up.extend(fixtures::perp_listings());
    warm_up.push(Command::UpdateMarkPrices);
    let route = |command| if perp { on_perp(command) } else { command };
    warm_up.extend(workload.seed_book(50_000).into_iter().map(route));
    for command in warm_up {
        if let Ok(events) = engine.apply(&stamp.next(command)) {
            workload.observe(events);
        }
    }
    let start = engine.clone();
    let (mut commands, mut refused) = (Vec::with_capacity(COMMANDS), 0);
    for _ in 0..COMMANDS {
        let command = stamp.next(route(workload.next_command()));
        match engine.apply(&command) {
            Ok(events) => workload.observe(events),
            Err(_) => refused += 1,
        }
        commands.push(command);
    }
    (start, commands, refused)
}

fn order_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("order_path");
    group.sample_size(10).sampling_mode(SamplingMode::Flat).warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    let mut rates = Vec::new();
    for (name, perp) in [("spot_markets", false), ("perp_markets", true)] {
        let (start, commands, refused) = churn_flow(perp);
        println!("order_path/{name}: {} commands, {refused} refused, {} resting", commands.len(), start.open_orders());
        rates.extend(measure(&mut group, "order_path", name, &start, &commands));
    }
    group.finish();
    if let [spot, perp] = rates[..] {
        println!("order_path: the perpetual flow runs at {:.1}% of the spot flow's rate", perp / spot * 100.0);
    }
}

const POSITIONS: u64 = 100_000;

/// 100,000 accounts with a SOL perpetual position each: pairs of accounts trade 1 SOL, the maker
/// short and the taker long. Then SOL moves, so realization has money to move.
fn positions_start() -> (Engine, Stamp) {
    let mut engine = Engine::new();
    engine.set_invariant_checks(false);
    let mut stamp = Stamp::default();
    let mut setup = fixtures::listings();
    setup.extend(fixtures::risk_settings());
    setup.extend(fixtures::perp_listings());
    setup.push(Command::UpdateMarkPrices);
    for command in setup {
        engine.apply(&stamp.next(command)).expect("setup");
    }
    let order = |account: u64, side: Side, spec: OrderSpec| {
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
    };
    for pair in 0..POSITIONS / 2 {
        let (maker, taker) = (2 * pair + 1, 2 * pair + 2);
        let commands = [
            fixtures::deposit(maker, fixtures::USDC, 1_000_000_000, 2 * pair + 1),
            fixtures::deposit(taker, fixtures::USDC, 1_000_000_000, 2 * pair + 2),
            order(
                maker,
                Side::Ask,
                OrderSpec::Limit { price: Ticks(14_300), quantity: Lots(100), time_in_force: TimeInForce::Gtc },
            ),
            order(
                taker,
                Side::Bid,
                OrderSpec::Market { size: MarketSize::Base(Lots(100)), time_in_force: TimeInForce::Ioc },
            ),
        ];
        for command in commands {
            engine.apply(&stamp.next(command)).unwrap_or_else(|r| panic!("pair {pair}: {r}"));
        }
    }
    engine
        .apply(&stamp.next(Command::SetIndexPrice { asset: fixtures::SOL, price: fixtures::index_price("150") }))
        .expect("price");
    (engine, stamp)
}

fn mark_prices(c: &mut Criterion) {
    let (engine, mut stamp) = positions_start();
    let open_interest = engine.perp_market(SOL_USDC_PERP).map_or(0, |p| p.open_interest);
    println!("mark_prices: {} accounts, open interest {open_interest} lots", engine.account_ids().count());
    let mut group = c.benchmark_group("mark_prices");
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(10));
    let sample = stamp.next(Command::UpdateMarkPrices);
    group.bench_function("sample_100k_positions", |b| {
        b.iter_batched(
            || engine.clone(),
            |mut engine| {
                black_box(engine.apply(&sample).expect("samples").len());
                engine
            },
            criterion::BatchSize::LargeInput,
        );
    });
    // A sample at the interval's end pays funding too: still O(markets).
    let end = engine.perp_market(SOL_USDC_PERP).map_or(0, |p| p.interval_end.0);
    stamp.advance(end.saturating_sub(engine.time().0));
    let funding = stamp.next(Command::UpdateMarkPrices);
    group.bench_function("funding_100k_positions", |b| {
        b.iter_batched(
            || engine.clone(),
            |mut engine| {
                let events = engine.apply(&funding).expect("pays funding");
                assert!(events.iter().any(|e| matches!(e, rucksack_types::Event::FundingPaid { .. })));
                engine
            },
            criterion::BatchSize::LargeInput,
        );
    });
    let mut marked = engine.clone();
    marked.apply(&sample).expect("samples");
    let realize = stamp.next(Command::RealizePnl);
    group.bench_function("realize_100k_positions", |b| {
        b.iter_batched(
            || marked.clone(),
            |mut engine| {
                let events = engine.apply(&realize).expect("realizes").len();
                assert!(events >= POSITIONS as usize, "every position realized: {events}");
                engine
            },
            criterion::BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, order_path, mark_prices);
criterion_main!(benches);
