//! Steady-state matching allocates nothing: after a warm-up, a long run of the 50% add / 45%
//! cancel / 5% IOC mix through the full engine (books and ledger) makes zero heap allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use rucksack_engine::Engine;
use rucksack_testkit::{Stamp, Workload, WorkloadMix};

struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged, only counting them.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn steady_state_matching_makes_no_heap_allocations() {
    let mut workload = Workload::new(42, 64, WorkloadMix::book_churn());
    let mut engine = Engine::new();
    engine.set_invariant_checks(false);
    engine.reserve_orders(1 << 16);
    let mut stamp = Stamp::default();
    let mut setup = workload.setup();
    setup.extend(workload.seed_book(5_000));
    for command in setup {
        let events = engine.apply(&stamp.next(command)).map(<[_]>::to_vec).unwrap_or_default();
        workload.observe(&events);
    }
    let mut counted = 0u64;
    let mut applied = 0u64;
    let mut trades = 0usize;
    for round in 0..300_000 {
        let command = workload.next_command();
        let sequenced = stamp.next(command);
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        let result = engine.apply(&sequenced);
        let after = ALLOCATIONS.load(Ordering::Relaxed);
        // The first 100k commands warm up capacities; the rest must not allocate.
        if round >= 100_000 {
            counted += after - before;
            applied += 1;
        }
        let events = result.map(<[_]>::to_vec).unwrap_or_default();
        trades += events.iter().filter(|e| matches!(e, rucksack_types::Event::Trade(_))).count();
        workload.observe(&events);
    }
    assert!(trades > 1_000, "the mix must trade ({trades} trades)");
    assert!(workload.open_orders() > 5_000, "the book must stay deep ({} open)", workload.open_orders());
    eprintln!("{applied} commands, {trades} trades, {} open orders", workload.open_orders());
    assert_eq!(counted, 0, "{counted} heap allocations in {applied} steady-state commands");
}
