//! The journaled pipeline end to end, durability on, and replay of the journal it wrote.
//!
//! - `pipeline/durable`: the real `Pipeline` (sequencer thread: stamp, encode, append, one
//!   `fdatasync` per batch; engine thread: apply, report) in a fresh data directory on the real
//!   disk (Cargo's target tmp dir, ext4 here; never a tmpfs). The venue setup, opening deposits
//!   and a deep book go in first and are waited for; then ~300k pre-generated `book_churn`
//!   commands are submitted as fast as `submit_wait` allows, and the clock runs from the first
//!   of those submissions until `shutdown` returns, when every one is durable and applied.
//!   The submitting thread (this one) shares the machine's cores with the sequencer and engine
//!   threads.
//! - `replay/genesis`: `recover(dir, Start::Genesis, ..)` over that journal: read, check CRCs,
//!   decode and apply every command, from an empty engine. The journal was just written, so
//!   it is read from the page cache.
//!
//! Commands per `fdatasync`: the sequencer stamps every command of a batch with the same wall
//! clock time and each batch costs at least one sync, so the outcome sink counts batches by
//! counting changes of the command time.
//!
//! Run: `cargo bench -p rucksack-node --bench pipeline`.

use std::cell::Cell;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use rucksack_engine::Engine;
use rucksack_node::pipeline::{Clock, Outcome, Pipeline, PipelineConfig, Submission};
use rucksack_node::recovery::{Start, recover};
use rucksack_testkit::{Stamp, Workload, WorkloadMix};
use rucksack_types::{Command, Event, Reject, Sequenced};

const SEED: u64 = 0x9_1BE1;
const ACCOUNTS: u64 = 1_000;
/// Resting orders seeded per market before the timed flow (two markets).
const SEED_PER_MARKET: usize = 50_000;
const CHURN: usize = 300_000;

/// Commands generated in a closed loop against a scratch engine, so cancels name open orders.
/// The engine's results do not depend on the command times, so the pipeline's wall-clock
/// stamps lead to the same outcomes.
struct Flow {
    warm_up: Vec<Command>,
    churn: Vec<Command>,
    end_resting: usize,
}

fn flow() -> Flow {
    let mut workload = Workload::new(SEED, ACCOUNTS, WorkloadMix::book_churn());
    let mut stamp = Stamp::default();
    let mut engine = Engine::new();
    engine.set_invariant_checks(false);
    let mut warm_up = workload.setup();
    warm_up.extend(workload.seed_book(SEED_PER_MARKET));
    let mut churn = Vec::with_capacity(CHURN);
    for i in 0..warm_up.len() + CHURN {
        let command = match warm_up.get(i) {
            Some(command) => *command,
            None => {
                let command = workload.next_command();
                churn.push(command);
                command
            }
        };
        if let Ok(events) = engine.apply(&stamp.next(command)) {
            workload.observe(events);
        }
    }
    Flow { warm_up, churn, end_resting: engine.open_orders() }
}

#[derive(Default)]
struct Counters {
    applied: AtomicU64,
    batches: AtomicU64,
    refused: AtomicU64,
}

struct Sink {
    counters: Arc<Counters>,
    last_time: u64,
}

impl Outcome for Sink {
    fn applied(&mut self, _ticket: u64, command: &Sequenced, result: Result<&[Event], &Reject>) {
        if command.time.0 != self.last_time {
            self.last_time = command.time.0;
            self.counters.batches.fetch_add(1, Ordering::Relaxed);
        }
        if result.is_err() {
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
        }
        self.counters.applied.store(command.seq.0, Ordering::Release);
    }
}

struct Run {
    elapsed: Duration,
    batches: u64,
    refused: u64,
    end_resting: usize,
}

/// One run in `dir` (empty): warm-up submitted and waited for, then the churn, timed.
fn run_pipeline(dir: &Path, flow: &Flow) -> Run {
    let counters = Arc::new(Counters::default());
    let sink = Sink { counters: counters.clone(), last_time: u64::MAX };
    let config = PipelineConfig { clock: Clock::Wall, ..PipelineConfig::default() };
    let mut engine = Engine::new();
    engine.set_invariant_checks(false);
    let pipeline = Pipeline::start(dir, engine, config, sink).expect("start the pipeline");
    let mut ticket = 0u64;
    for &command in &flow.warm_up {
        ticket += 1;
        pipeline.submit_wait(Submission { ticket, command }).expect("submit");
    }
    while counters.applied.load(Ordering::Acquire) < ticket {
        std::thread::sleep(Duration::from_millis(1));
    }
    let (batches_before, refused_before) =
        (counters.batches.load(Ordering::Relaxed), counters.refused.load(Ordering::Relaxed));
    let started = Instant::now();
    for &command in &flow.churn {
        ticket += 1;
        pipeline.submit_wait(Submission { ticket, command }).expect("submit");
    }
    let engine = pipeline.shutdown().expect("shut down the pipeline");
    let elapsed = started.elapsed();
    Run {
        elapsed,
        batches: counters.batches.load(Ordering::Relaxed) - batches_before,
        refused: counters.refused.load(Ordering::Relaxed) - refused_before,
        end_resting: engine.open_orders(),
    }
}

fn bench_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("bench temp dir")
}

fn pipeline_and_replay(c: &mut Criterion) {
    let flow = flow();
    let churn = flow.churn.len() as u64;
    println!(
        "pipeline: {} warm-up commands ({ACCOUNTS} accounts, {} seeded orders), then {churn} book_churn commands",
        flow.warm_up.len(),
        2 * SEED_PER_MARKET
    );

    let mut group = c.benchmark_group("pipeline");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(churn));
    let total = Cell::new((0u64, Duration::ZERO, 0u64));
    let mut last_run = None;
    // The journal of the last run is kept for the replay benchmark.
    let mut kept_dir = None;
    group.bench_function(BenchmarkId::new("durable", churn), |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                let dir = bench_dir();
                let run = run_pipeline(dir.path(), &flow);
                elapsed += run.elapsed;
                let (commands, time, batches) = total.get();
                total.set((commands + churn, time + run.elapsed, batches + run.batches));
                last_run = Some(run);
                kept_dir = Some(dir);
            }
            elapsed
        });
    });
    group.finish();
    let (commands, time, batches) = total.get();
    if let Some(last_run) = &last_run {
        if last_run.end_resting != flow.end_resting {
            println!(
                "note: the pipeline ended with {} resting orders, the generator with {}",
                last_run.end_resting, flow.end_resting
            );
        }
        println!(
            "pipeline/durable: {:.0} k commands/s ({churn} commands, fdatasync on); {:.0} commands per \
             fdatasync on average ({:.0} µs per batch); {} refused in the last run",
            commands as f64 / time.as_secs_f64() / 1e3,
            commands as f64 / batches as f64,
            time.as_secs_f64() * 1e6 / batches as f64,
            last_run.refused
        );
    }

    // With a filter that skipped the durable run, write a journal to replay anyway.
    let dir = kept_dir.unwrap_or_else(|| {
        let dir = bench_dir();
        run_pipeline(dir.path(), &flow);
        dir
    });
    let journaled = flow.warm_up.len() as u64 + churn;
    let mut group = c.benchmark_group("replay");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6))
        .throughput(Throughput::Elements(journaled));
    let total = Cell::new((0u64, Duration::ZERO));
    group.bench_function(BenchmarkId::new("genesis", journaled), |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let recovered = recover(dir.path(), Start::Genesis, |_| {}).expect("replay");
                let took = started.elapsed();
                assert_eq!(recovered.commands, journaled, "replayed every journaled command");
                elapsed += took;
                let (commands, time) = total.get();
                total.set((commands + recovered.commands, time + took));
                // Dropping the engine is not part of replay.
                black_box(recovered.engine);
            }
            elapsed
        });
    });
    group.finish();
    let (commands, time) = total.get();
    println!(
        "replay/genesis: {:.2} M commands/s ({journaled} commands: read, CRC, decode, apply)",
        commands as f64 / time.as_secs_f64() / 1e6
    );
}

criterion_group!(benches, pipeline_and_replay);
criterion_main!(benches);
