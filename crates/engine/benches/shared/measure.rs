//! The measurement the engine benchmarks share: a flow of commands timed on fresh clones of a
//! start state, reported in commands per second.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Throughput;
use rucksack_engine::Engine;
use rucksack_types::Sequenced;

pub fn run(engine: &mut Engine, commands: &[Sequenced]) -> usize {
    commands.iter().filter(|command| engine.apply(command).is_ok()).count()
}

/// Times `commands` applied to fresh clones of `start` and prints the rate; returns it in
/// commands per second (`None` when the benchmark is filtered out).
pub fn measure(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    label: &str,
    name: &str,
    start: &Engine,
    commands: &[Sequenced],
) -> Option<f64> {
    group.throughput(Throughput::Elements(commands.len() as u64));
    let (mut total, mut count) = (Duration::ZERO, 0u64);
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                let mut engine = start.clone();
                let began = Instant::now();
                black_box(run(&mut engine, black_box(commands)));
                elapsed += began.elapsed();
            }
            total += elapsed;
            count += iters * commands.len() as u64;
            elapsed
        });
    });
    (count > 0).then(|| {
        let rate = count as f64 / total.as_secs_f64();
        println!("{label}/{name}: {:.2} M commands/s, {:.0} ns/command", rate / 1e6, 1e9 / rate);
        rate
    })
}
