//! The whole engine with its ledger: `Engine::apply` on sequenced commands, invariant checks off.
//!
//! The flow is generated once, before timing, in a closed loop: a seeded `Workload` proposes
//! commands and a scratch engine applies them and tells it (through the events) which orders
//! are open. The scratch engine starts from the standard venue with opening deposits and a deep
//! book; a copy of that warmed-up engine is taken before the flow, and every timed run applies
//! the same commands to a fresh clone of it, so each run does exactly the same work.
//!
//! Two flows:
//! - `book_churn`: 50% passive limits near the touch / 45% cancels of open orders / 5% IOC,
//!   the benchmark flow.
//! - `everything`: every command kind and option, with many refusals (one run for contrast).
//!
//! Run: `cargo bench -p rucksack-engine --bench engine`.

use std::cell::Cell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use rucksack_engine::Engine;
use rucksack_testkit::{Stamp, Workload, WorkloadMix};
use rucksack_types::{Command, Sequenced};

const ACCOUNTS: u64 = 1_000;
/// Resting orders seeded per market before the flow (two markets).
const SEED_PER_MARKET: usize = 50_000;
const COMMANDS: usize = 500_000;

struct Flow {
    name: &'static str,
    start: Engine,
    commands: Vec<Sequenced>,
    /// Of the flow: (places, cancels, other), refused, events, resting at the end.
    kinds: (usize, usize, usize),
    refused: usize,
    events: usize,
    end_resting: usize,
}

fn flow(name: &'static str, mix: WorkloadMix, seed: u64) -> Flow {
    let mut workload = Workload::new(seed, ACCOUNTS, mix);
    let mut stamp = Stamp::default();
    let mut engine = Engine::new();
    engine.set_invariant_checks(false);
    let mut warm_up = workload.setup();
    warm_up.extend(workload.seed_book(SEED_PER_MARKET));
    for command in warm_up {
        if let Ok(events) = engine.apply(&stamp.next(command)) {
            workload.observe(events);
        }
    }
    let start = engine.clone();
    let mut commands = Vec::with_capacity(COMMANDS);
    let (mut places, mut cancels, mut other, mut refused, mut events) = (0, 0, 0, 0, 0);
    for _ in 0..COMMANDS {
        let command = stamp.next(workload.next_command());
        match command.command {
            Command::PlaceOrder(_) => places += 1,
            Command::CancelOrder { .. } => cancels += 1,
            _ => other += 1,
        }
        match engine.apply(&command) {
            Ok(emitted) => {
                events += emitted.len();
                workload.observe(emitted);
            }
            Err(_) => refused += 1,
        }
        commands.push(command);
    }
    Flow { name, start, commands, kinds: (places, cancels, other), refused, events, end_resting: engine.open_orders() }
}

fn run(engine: &mut Engine, commands: &[Sequenced]) -> usize {
    let mut events = 0;
    for command in commands {
        if let Ok(emitted) = engine.apply(command) {
            events += emitted.len();
        }
    }
    events
}

fn engine_apply(c: &mut Criterion) {
    let flows = [
        flow("book_churn", WorkloadMix::book_churn(), 0xE_0001),
        flow("everything", WorkloadMix::everything(), 0xE_0002),
    ];
    for f in &flows {
        let n = f.commands.len();
        let pct = |k: usize| k as f64 * 100.0 / n as f64;
        println!(
            "engine/{}: {n} commands = {:.1}% place / {:.1}% cancel / {:.1}% other; {:.1}% refused; \
             {:.2} events/command; {} accounts; {} resting at start, {} at end",
            f.name,
            pct(f.kinds.0),
            pct(f.kinds.1),
            pct(f.kinds.2),
            pct(f.refused),
            f.events as f64 / n as f64,
            ACCOUNTS,
            f.start.open_orders(),
            f.end_resting,
        );

        let mut group = c.benchmark_group("engine");
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(6))
            .throughput(Throughput::Elements(n as u64));
        let total_commands = Cell::new(0u64);
        let total_time = Cell::new(Duration::ZERO);
        group.bench_function(BenchmarkId::new(f.name, n), |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    let mut engine = f.start.clone();
                    let started = Instant::now();
                    black_box(run(&mut engine, black_box(&f.commands)));
                    elapsed += started.elapsed();
                }
                total_commands.set(total_commands.get() + iters * n as u64);
                total_time.set(total_time.get() + elapsed);
                elapsed
            });
        });
        group.finish();
        let seconds = total_time.get().as_secs_f64();
        let commands = total_commands.get() as f64;
        if commands == 0.0 {
            continue; // filtered out
        }
        println!(
            "engine/{}: {:.2} M commands/s, {:.0} ns/command mean",
            f.name,
            commands / seconds / 1e6,
            seconds * 1e9 / commands
        );
    }
}

criterion_group!(benches, engine_apply);
criterion_main!(benches);
