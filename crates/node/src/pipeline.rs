//! The single-writer pipeline:
//!
//! ```text
//! submit ─► bounded queue ─► sequencer thread ─────────────► engine thread ─► Outcome sink
//!                            stamp seq + time, encode,       apply in order,
//!                            append, fdatasync per batch     snapshot every N
//! ```
//!
//! The sequencer takes everything that queued up while its previous `fdatasync` ran and commits
//! it with one more (group commit), so throughput grows with load while each command waits for
//! at most about two syncs. The engine thread only sees durable commands, so every outcome it
//! reports is already safe on disk. A full queue refuses new submissions at once instead of
//! growing memory.

use std::path::Path;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use crossbeam_channel::{Receiver, Sender, bounded};
use rucksack_engine::Engine;
use rucksack_journal::{JournalConfig, JournalWriter, Recovery, SnapshotStore};
use rucksack_types::codec::{Writer, encode_command};
use rucksack_types::{Command, Event, Reject, Seq, Sequenced, Timestamp};

use crate::layout;

/// Where the sequencer's timestamps come from.
#[derive(Clone, Debug)]
pub enum Clock {
    /// The wall clock, never running backwards.
    Wall,
    /// Time that moves only when told to ([`ManualClock::advance`]): for tests of anything
    /// time-driven.
    Manual(ManualClock),
    /// `start + seq * step` microseconds: reproducible runs for tests, benchmarks and
    /// simulations.
    Synthetic { start_micros: u64, step_micros: u64 },
}

/// A clock an operator moves by hand. Shared: the sequencer reads it, the admin API moves it.
#[derive(Clone, Debug, Default)]
pub struct ManualClock(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl ManualClock {
    pub fn starting_at(micros: u64) -> ManualClock {
        ManualClock(std::sync::Arc::new(std::sync::atomic::AtomicU64::new(micros)))
    }

    pub fn now_micros(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Moves the clock forward and returns the new time.
    pub fn advance(&self, micros: u64) -> u64 {
        self.0.fetch_add(micros, std::sync::atomic::Ordering::AcqRel) + micros
    }
}

impl Clock {
    /// The clock `rucksack_testkit::Stamp` uses, so a pipeline run can be reproduced in memory.
    pub const TESTKIT: Clock = Clock::Synthetic { start_micros: 1_764_000_000_000_000, step_micros: 1_000 };
}

#[derive(Clone, Debug)]
pub struct PipelineConfig {
    /// Submissions that may wait for the sequencer before `submit` refuses more.
    pub queue_capacity: usize,
    /// The most commands committed with one `fdatasync`.
    pub max_batch: usize,
    /// Take a snapshot after every this many commands (0: never).
    pub snapshot_every: u64,
    /// Snapshots kept on disk.
    pub snapshots_kept: usize,
    pub journal: JournalConfig,
    pub clock: Clock,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            queue_capacity: 65_536,
            max_batch: 8_192,
            snapshot_every: 1_000_000,
            snapshots_kept: 3,
            journal: JournalConfig::default(),
            clock: Clock::Wall,
        }
    }
}

/// A command and an opaque ticket the caller uses to match the outcome to its request.
#[derive(Clone, Copy, Debug)]
pub struct Submission {
    pub ticket: u64,
    pub command: Command,
}

/// Receives every outcome, in sequence order, on the engine thread, after the command is
/// durable. Keep it quick: the engine waits for it.
pub trait Outcome: Send + 'static {
    fn applied(&mut self, ticket: u64, command: &Sequenced, result: Result<&[Event], &Reject>);

    /// Called after the last command of each batch, with the engine as it stands: the place
    /// to publish read models once per batch rather than once per command.
    fn batch_applied(&mut self, _engine: &Engine) {}
}

impl<F> Outcome for F
where
    F: FnMut(u64, &Sequenced, Result<&[Event], &Reject>) + Send + 'static,
{
    fn applied(&mut self, ticket: u64, command: &Sequenced, result: Result<&[Event], &Reject>) {
        self(ticket, command, result)
    }
}

type Batch = Vec<(u64, Sequenced)>;

pub struct Pipeline {
    recovery: Recovery,
    submissions: Sender<Submission>,
    sequencer: JoinHandle<anyhow::Result<()>>,
    engine: JoinHandle<anyhow::Result<Engine>>,
    snapshots: JoinHandle<anyhow::Result<()>>,
}

impl Pipeline {
    /// Opens (and repairs) the journal in `data_dir` and starts the threads. `engine` must be
    /// the state recovered from that same journal.
    pub fn start(
        data_dir: &Path,
        engine: Engine,
        config: PipelineConfig,
        outcome: impl Outcome,
    ) -> anyhow::Result<Pipeline> {
        let (journal, recovery) =
            JournalWriter::open(&layout::journal_dir(data_dir), config.journal).context("opening the journal")?;
        anyhow::ensure!(
            recovery.last_seq == engine.last_seq().0,
            "engine is at seq {} but the journal ends at {}",
            engine.last_seq(),
            recovery.last_seq
        );
        let store = SnapshotStore::open(&layout::snapshot_dir(data_dir)).context("opening the snapshot store")?;
        let (submissions, queue) = bounded::<Submission>(config.queue_capacity.max(1));
        let (batches_tx, batches_rx) = bounded::<Batch>(4);
        let (recycle_tx, recycle_rx) = bounded::<Batch>(8);
        let (snapshot_tx, snapshot_rx) = bounded::<(u64, Vec<u8>)>(1);
        let max_batch = config.max_batch.max(1);
        let last_time = engine_time_floor(&engine);
        let clock = config.clock.clone();
        let sequencer = std::thread::Builder::new()
            .name("sequencer".into())
            .spawn(move || sequence(journal, queue, batches_tx, recycle_rx, max_batch, clock, last_time))?;
        let snapshot_every = config.snapshot_every;
        let engine_thread = std::thread::Builder::new()
            .name("engine".into())
            .spawn(move || run_engine(engine, batches_rx, recycle_tx, snapshot_tx, snapshot_every, outcome))?;
        let kept = config.snapshots_kept.max(1);
        let snapshots = std::thread::Builder::new().name("snapshots".into()).spawn(move || {
            for (seq, body) in snapshot_rx {
                store.write(seq, &body).with_context(|| format!("writing the snapshot at seq {seq}"))?;
                store.prune(kept).context("pruning snapshots")?;
            }
            Ok(())
        })?;
        Ok(Pipeline { recovery, submissions, sequencer, engine: engine_thread, snapshots })
    }

    /// What opening the journal found, including a torn tail it cut off.
    pub fn journal_recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// Queues a command, waiting for room. Fails only if the pipeline stopped.
    pub fn submit_wait(&self, submission: Submission) -> anyhow::Result<()> {
        self.submissions.send(submission).map_err(|_| anyhow::anyhow!("the pipeline has stopped"))
    }

    /// A handle other threads can submit through.
    pub fn submitter(&self) -> Sender<Submission> {
        self.submissions.clone()
    }

    /// Stops taking submissions, lets everything queued become durable and applied, and returns
    /// the final engine.
    pub fn shutdown(self) -> anyhow::Result<Engine> {
        drop(self.submissions);
        let sequenced = join(self.sequencer, "sequencer");
        let engine = join(self.engine, "engine");
        let snapshots = join(self.snapshots, "snapshots");
        sequenced?;
        snapshots?;
        engine
    }
}

fn join<T>(handle: JoinHandle<anyhow::Result<T>>, name: &str) -> anyhow::Result<T> {
    handle.join().map_err(|_| anyhow::anyhow!("the {name} thread panicked"))?
}

/// Time never runs backwards across a restart, even if the wall clock does.
fn engine_time_floor(engine: &Engine) -> u64 {
    engine.time().0
}

fn now_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

fn sequence(
    mut journal: JournalWriter,
    queue: Receiver<Submission>,
    batches: Sender<Batch>,
    recycled: Receiver<Batch>,
    max_batch: usize,
    clock: Clock,
    mut last_time: u64,
) -> anyhow::Result<()> {
    let mut payload = Writer::with_capacity(256);
    let mut seq = journal.last_seq();
    while let Ok(first) = queue.recv() {
        let mut batch = recycled.try_recv().unwrap_or_else(|_| Vec::with_capacity(max_batch));
        batch.clear();
        // One timestamp per batch; it never runs backwards, even across restarts.
        let batch_time = match &clock {
            Clock::Wall => now_micros(),
            Clock::Manual(manual) => manual.now_micros(),
            Clock::Synthetic { .. } => 0,
        }
        .max(last_time);
        last_time = batch_time;
        let mut next = Some(first);
        while let Some(submission) = next {
            seq += 1;
            let time = match &clock {
                Clock::Wall | Clock::Manual(_) => batch_time,
                Clock::Synthetic { start_micros, step_micros } => start_micros + seq * step_micros,
            };
            let sequenced = Sequenced { seq: Seq(seq), time: Timestamp(time), command: submission.command };
            payload.bytes.clear();
            encode_command(sequenced.time, &sequenced.command, &mut payload);
            journal.append(seq, &payload.bytes).context("appending to the journal")?;
            batch.push((submission.ticket, sequenced));
            next = if batch.len() < max_batch { queue.try_recv().ok() } else { None };
        }
        // Fail-stop: if the sync fails nothing in this batch is acknowledged.
        let syncing = std::time::Instant::now();
        journal.commit().context("committing the journal")?;
        metrics::histogram!("rucksack_fsync_seconds").record(syncing.elapsed().as_secs_f64());
        metrics::histogram!("rucksack_batch_commands").record(batch.len() as f64);
        metrics::gauge!("rucksack_queue_depth").set(queue.len() as f64);
        if batches.send(batch).is_err() {
            anyhow::bail!("the engine thread stopped");
        }
    }
    Ok(())
}

fn run_engine(
    mut engine: Engine,
    batches: Receiver<Batch>,
    recycle: Sender<Batch>,
    snapshots: Sender<(u64, Vec<u8>)>,
    snapshot_every: u64,
    mut outcome: impl Outcome,
) -> anyhow::Result<Engine> {
    for batch in batches {
        for (ticket, command) in &batch {
            match engine.apply(command) {
                Ok(events) => outcome.applied(*ticket, command, Ok(events)),
                Err(reject) => {
                    metrics::counter!("rucksack_rejected_commands_total", "code" => reject.code()).increment(1);
                    outcome.applied(*ticket, command, Err(&reject));
                }
            }
            if snapshot_every > 0 && command.seq.0.is_multiple_of(snapshot_every) {
                // The snapshot thread writes one at a time; if it is still busy, skip this one.
                let _ = snapshots.try_send((command.seq.0, engine.encode_snapshot()));
            }
        }
        outcome.batch_applied(&engine);
        metrics::counter!("rucksack_commands_total").increment(batch.len() as u64);
        metrics::gauge!("rucksack_sequence").set(engine.last_seq().0 as f64);
        let _ = recycle.try_send(batch);
    }
    Ok(engine)
}
