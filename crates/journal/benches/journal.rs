//! Journal throughput with real `fdatasync`: group commit at several batch sizes, and replay.
//!
//! Files go under Cargo's target tmp dir (a real disk), not a tmpfs, so syncs cost what they
//! cost in production. Run: `cargo bench -p rucksack-journal`.

use std::cell::Cell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rucksack_journal::{JournalConfig, JournalReader, JournalWriter};

const APPEND_PAYLOAD: usize = 48;
const REPLAY_PAYLOAD: usize = 40;
const REPLAY_RECORDS: u64 = 2_000_000;

fn bench_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("bench temp dir")
}

fn report(what: &str, records: u64, elapsed: Duration) {
    if elapsed > Duration::ZERO {
        println!(
            "{what}: {:.0} records/s ({records} records in {elapsed:.2?})",
            records as f64 / elapsed.as_secs_f64()
        );
    }
}

fn append_commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("append_commit_fdatasync");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    let payload = [0x5Au8; APPEND_PAYLOAD];
    for batch in [1u64, 64, 1024] {
        let dir = bench_dir();
        let (mut writer, _) = JournalWriter::open(dir.path(), JournalConfig::default()).expect("open journal");
        let mut seq = 0u64;
        let total_records = Cell::new(0u64);
        let total_time = Cell::new(Duration::ZERO);
        group.throughput(Throughput::Elements(batch));
        group.bench_function(BenchmarkId::new("batch", batch), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    for _ in 0..batch {
                        seq += 1;
                        writer.append(seq, &payload).expect("append");
                    }
                    black_box(writer.commit().expect("commit"));
                }
                let elapsed = start.elapsed();
                total_records.set(total_records.get() + iters * batch);
                total_time.set(total_time.get() + elapsed);
                elapsed
            });
        });
        report(&format!("append+commit batch {batch:>4} x {APPEND_PAYLOAD} B"), total_records.get(), total_time.get());
    }
    group.finish();
}

fn replay(c: &mut Criterion) {
    let dir = bench_dir();
    {
        let (mut writer, _) = JournalWriter::open(dir.path(), JournalConfig::default()).expect("open journal");
        let payload = [0xA5u8; REPLAY_PAYLOAD];
        for seq in 1..=REPLAY_RECORDS {
            writer.append(seq, &payload).expect("append");
            if seq % 4096 == 0 {
                writer.commit().expect("commit");
            }
        }
        writer.commit().expect("commit");
    }
    let mut reader = JournalReader::open(dir.path()).expect("open reader");

    let mut group = c.benchmark_group("replay");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(REPLAY_RECORDS));
    let total_time = Cell::new(Duration::ZERO);
    let total_records = Cell::new(0u64);
    group.bench_function(BenchmarkId::new("for_each", REPLAY_PAYLOAD), |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let mut sum = 0u64;
                let stats = reader.for_each(0, |seq, payload| sum += seq ^ payload[0] as u64).expect("replay");
                assert_eq!(stats.records, REPLAY_RECORDS);
                black_box(sum);
            }
            let elapsed = start.elapsed();
            total_records.set(total_records.get() + iters * REPLAY_RECORDS);
            total_time.set(total_time.get() + elapsed);
            elapsed
        });
    });
    group.bench_function(BenchmarkId::new("lending_next", REPLAY_PAYLOAD), |b| {
        b.iter(|| {
            let mut records = reader.records(0);
            let mut n = 0u64;
            while let Some(record) = records.next() {
                n += record.expect("record").payload.len() as u64;
            }
            black_box(n)
        });
    });
    group.finish();
    report(&format!("replay for_each {REPLAY_PAYLOAD} B"), total_records.get(), total_time.get());
}

criterion_group!(benches, append_commit, replay);
criterion_main!(benches);
