//! The order book alone, and the same operations through `orderbook-rs` for comparison.
//!
//! Mix: 50% passive limit adds within 100 ticks of a fixed mid, 45% cancels of a random resting
//! order, 5% immediate-or-cancel orders that may sweep up to three levels. The book is pre-filled
//! to ~10k and to ~100k resting orders, and the operation list keeps it near that size. The list
//! is generated once, up front, by running it on a [`OrderBook`] (that is how the generator
//! knows which ids are still live, so every cancel hits a resting order); each timed run then
//! replays it on a fresh copy of the pre-filled book.
//!
//! The comparison with `orderbook-rs` uses the same pre-fill and the same operation list, on one
//! thread, in its cheapest configuration: no listeners, no risk limits, no order-state tracker,
//! self-trade prevention off (its default) and a `StubClock` instead of reading the wall clock.
//! What still differs, by design of the two libraries:
//! - `orderbook-rs` is built for concurrent access: skip-list price levels, a `DashMap` id index,
//!   an `Arc` per order and atomics throughout, and it returns a match result with trade ids per
//!   fill. Our book is single-threaded (the engine thread owns it) and reports only the quantity
//!   filled.
//! - Its IOC needs an order id; our `take` does not. The ids are drawn from the same counter, so
//!   both books see identical orders.
//! - Building its pre-filled book for each run is not timed, as copying ours is not.
//!
//! Run: `cargo bench -p rucksack-engine --bench book`.

use std::cell::Cell;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use rucksack_engine::OrderBook;
use rucksack_testkit::SplitMix64;
use rucksack_types::{Lots, OrderId, Side, Ticks};

const MID: i64 = 1_000_000;
/// Passive adds land 1..=BAND ticks away from the mid.
const BAND: i64 = 100;
/// Order quantities are 1..=MAX_QTY lots; an IOC asks for as much, so on average it takes about
/// one resting order.
const MAX_QTY: i64 = 100;
/// An IOC's limit is this many ticks through the opposite best price: at most three levels.
const SWEEP_TICKS: i64 = 2;
const OPS: usize = 400_000;

#[derive(Clone, Copy, Debug)]
enum Op {
    Add { id: u64, side: Side, price: i64, qty: i64 },
    Cancel { id: u64 },
    Ioc { id: u64, side: Side, limit: i64, qty: i64 },
}

struct Scenario {
    resting: usize,
    prefill: Vec<Op>,
    ops: Vec<Op>,
    /// The pre-filled book, copied for each timed run.
    start: OrderBook,
    /// Resting orders after the whole list, to check the other book did the same work.
    end_len: usize,
    end_best: (Option<Ticks>, Option<Ticks>),
}

fn passive(rng: &mut SplitMix64, id: u64) -> Op {
    let side = if rng.chance(50) { Side::Bid } else { Side::Ask };
    let offset = rng.range(1, BAND);
    let price = match side {
        Side::Bid => MID - offset,
        Side::Ask => MID + offset,
    };
    Op::Add { id, side, price, qty: rng.range(1, MAX_QTY) }
}

fn apply(book: &mut OrderBook, op: Op) -> i64 {
    match op {
        Op::Add { id, side, price, qty } => book.add(OrderId(id), side, Ticks(price), Lots(qty)).0,
        Op::Cancel { id } => i64::from(book.cancel(OrderId(id))),
        Op::Ioc { side, limit, qty, .. } => book.take(side, Ticks(limit), Lots(qty)).0,
    }
}

/// Generates the pre-fill and an operation list that keeps the book within 5% of `resting`.
fn scenario(resting: usize, seed: u64) -> Scenario {
    let mut rng = SplitMix64::new(seed);
    let mut book = OrderBook::with_capacity(resting * 2);
    let mut next_id = 0u64;
    // Ids that may still rest; filled ones are found and dropped when a cancel picks them.
    let mut live: Vec<u64> = Vec::with_capacity(resting * 2);
    let mut prefill = Vec::with_capacity(resting);
    while book.len() < resting {
        next_id += 1;
        let op = passive(&mut rng, next_id);
        apply(&mut book, op);
        prefill.push(op);
        live.push(next_id);
    }
    let start = book.clone();
    let (low, high) = (resting - resting / 20, resting + resting / 20);
    let mut ops = Vec::with_capacity(OPS);
    while ops.len() < OPS {
        let pick = rng.below(100);
        let mut add = pick < 50;
        let ioc = pick >= 95;
        // Hold the size steady: an add above the band becomes a cancel, a cancel below it an add.
        if !ioc {
            if add && book.len() > high {
                add = false;
            } else if !add && book.len() < low {
                add = true;
            }
        }
        let op = if ioc {
            let side = if rng.chance(50) { Side::Bid } else { Side::Ask };
            let limit = match side {
                Side::Bid => book.best_ask().map(|p| p.0 + SWEEP_TICKS),
                Side::Ask => book.best_bid().map(|p| p.0 - SWEEP_TICKS),
            };
            let Some(limit) = limit else { continue };
            next_id += 1;
            Op::Ioc { id: next_id, side, limit, qty: rng.range(1, MAX_QTY) }
        } else if add {
            next_id += 1;
            live.push(next_id);
            passive(&mut rng, next_id)
        } else {
            // A random order that really rests: drop ids an IOC filled until one cancels.
            let mut found = None;
            while !live.is_empty() {
                let at = rng.below(live.len() as u64) as usize;
                let id = live.swap_remove(at);
                if book.cancel(OrderId(id)) {
                    found = Some(id);
                    break;
                }
            }
            let Some(id) = found else { continue };
            ops.push(Op::Cancel { id });
            continue;
        };
        apply(&mut book, op);
        ops.push(op);
    }
    Scenario { resting, prefill, ops, start, end_len: book.len(), end_best: (book.best_bid(), book.best_ask()) }
}

fn describe(s: &Scenario) {
    let (mut adds, mut cancels, mut iocs) = (0, 0, 0);
    for op in &s.ops {
        match op {
            Op::Add { .. } => adds += 1,
            Op::Cancel { .. } => cancels += 1,
            Op::Ioc { .. } => iocs += 1,
        }
    }
    let n = s.ops.len() as f64 / 100.0;
    println!(
        "book/{}: {} ops = {:.1}% add / {:.1}% cancel / {:.1}% IOC; {} resting at start, {} at end",
        label(s.resting),
        s.ops.len(),
        adds as f64 / n,
        cancels as f64 / n,
        iocs as f64 / n,
        s.start.len(),
        s.end_len
    );
}

fn label(resting: usize) -> String {
    format!("churn-{}k", resting / 1000)
}

fn run_ours(book: &mut OrderBook, ops: &[Op]) -> i64 {
    let mut sum = 0i64;
    for &op in ops {
        sum = sum.wrapping_add(apply(book, op));
    }
    sum
}

mod theirs {
    use super::*;
    use orderbook_rs::Id;
    use orderbook_rs::{OrderBook as TheirBook, Side as TheirSide, StubClock, TimeInForce};

    pub type Book = TheirBook<()>;

    fn side(side: Side) -> TheirSide {
        match side {
            Side::Bid => TheirSide::Buy,
            Side::Ask => TheirSide::Sell,
        }
    }

    /// Its cheapest single-threaded setup: see the module docs.
    pub fn new_book() -> Book {
        TheirBook::with_clock("BENCH", Arc::new(StubClock::new()))
    }

    #[inline]
    pub fn apply(book: &Book, op: Op) -> bool {
        match op {
            Op::Add { id, side: s, price, qty } => book
                .add_limit_order(Id::from_u64(id), price as u128, qty as u64, side(s), TimeInForce::Gtc, None)
                .is_ok(),
            Op::Cancel { id } => matches!(book.cancel_order(Id::from_u64(id)), Ok(Some(_))),
            Op::Ioc { id, side: s, limit, qty } => book
                .add_limit_order(Id::from_u64(id), limit as u128, qty as u64, side(s), TimeInForce::Ioc, None)
                .is_ok(),
        }
    }

    pub fn prefilled(ops: &[Op]) -> Book {
        let book = new_book();
        for &op in ops {
            apply(&book, op);
        }
        book
    }

    pub fn run(book: &Book, ops: &[Op]) -> u64 {
        let mut n = 0u64;
        for &op in ops {
            n += u64::from(apply(book, op));
        }
        n
    }

    pub fn resting(book: &Book) -> usize {
        book.get_all_orders().len()
    }

    pub fn best(book: &Book) -> (Option<Ticks>, Option<Ticks>) {
        (book.best_bid().map(|p| Ticks(p as i64)), book.best_ask().map(|p| Ticks(p as i64)))
    }
}

fn rate(ops: u64, elapsed: Duration) -> f64 {
    ops as f64 / elapsed.as_secs_f64()
}

fn book_churn(c: &mut Criterion) {
    for (resting, seed) in [(10_000usize, 0xB00C_0010u64), (100_000, 0xB00C_0100)] {
        let s = scenario(resting, seed);
        describe(&s);

        // Same work on both books: same resting count and touch after the list.
        let check = theirs::prefilled(&s.prefill);
        assert_eq!(theirs::resting(&check), s.start.len(), "orderbook-rs pre-fill differs");
        theirs::run(&check, &s.ops);
        let (their_len, their_best) = (theirs::resting(&check), theirs::best(&check));
        if their_len != s.end_len || their_best != s.end_best {
            println!(
                "note: books diverged: ours {} resting {:?}, orderbook-rs {} resting {:?}",
                s.end_len, s.end_best, their_len, their_best
            );
        }
        drop(check);

        let mut group = c.benchmark_group(format!("book/{}", label(resting)));
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .throughput(Throughput::Elements(s.ops.len() as u64));

        let ours_ops = Cell::new(0u64);
        let ours_time = Cell::new(Duration::ZERO);
        group.bench_function(BenchmarkId::new("rucksack", s.ops.len()), |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    let mut book = s.start.clone();
                    let started = Instant::now();
                    black_box(run_ours(&mut book, black_box(&s.ops)));
                    elapsed += started.elapsed();
                }
                ours_ops.set(ours_ops.get() + iters * s.ops.len() as u64);
                ours_time.set(ours_time.get() + elapsed);
                elapsed
            });
        });

        let their_ops = Cell::new(0u64);
        let their_time = Cell::new(Duration::ZERO);
        // About 1 µs (10k) to 4 µs (100k) per op: ten runs need this long.
        group.measurement_time(Duration::from_secs(if resting >= 100_000 { 20 } else { 8 }));
        group.bench_function(BenchmarkId::new("orderbook-rs", s.ops.len()), |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    let book = theirs::prefilled(&s.prefill);
                    let started = Instant::now();
                    black_box(theirs::run(&book, black_box(&s.ops)));
                    elapsed += started.elapsed();
                }
                their_ops.set(their_ops.get() + iters * s.ops.len() as u64);
                their_time.set(their_time.get() + elapsed);
                elapsed
            });
        });
        group.finish();

        if ours_ops.get() == 0 || their_ops.get() == 0 {
            continue; // filtered out
        }
        let ours = rate(ours_ops.get(), ours_time.get());
        let theirs = rate(their_ops.get(), their_time.get());
        println!(
            "book/{}: {:.1} M ops/s ({:.1} ns/op); orderbook-rs 0.15: {:.2} M ops/s ({:.0} ns/op); ratio {:.1}x",
            label(resting),
            ours / 1e6,
            1e9 / ours,
            theirs / 1e6,
            1e9 / theirs,
            ours / theirs
        );
    }
}

criterion_group!(benches, book_churn);
criterion_main!(benches);
