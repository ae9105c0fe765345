//! The history projector: the events of durable commands, written to the history store on a
//! thread of its own, so the engine thread never waits for a database.
//!
//! ```text
//! engine thread ─► ProjectorFeed ─► channel ─► projector thread ─► HistoryStore::apply
//!                  (durable, applied)           (batches, one transaction each, retried)
//! ```
//!
//! Every batch is stored in one transaction together with its last sequence number, and the
//! store skips what it already holds, so a crash at any point loses nothing: at the next start
//! the journal is replayed and every command after the store's last sequence is fed again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use crossbeam_channel::{Receiver, Sender, unbounded};
use rucksack_store::{Applied, HistoryStore};
use rucksack_types::{Event, Seq, Sequenced};

/// Commands written in one transaction at most.
const MAX_BATCH: usize = 4_096;
/// Attempts at a batch after the feed has closed (at shutdown) before leaving the rest to the
/// replay at the next start.
const ATTEMPTS_WHEN_STOPPING: u32 = 3;

/// The engine thread's end: hands over what each durable command produced.
#[derive(Clone, Debug)]
pub struct ProjectorFeed {
    sender: Sender<Applied>,
    /// The store already holds everything up to here.
    stored_before_start: Seq,
}

impl ProjectorFeed {
    /// Every command is handed over, refused ones (no events) too, so the store's position
    /// keeps up with the engine's and a reader can wait for it.
    pub fn record(&self, command: &Sequenced, events: &[Event]) {
        if command.seq <= self.stored_before_start {
            return;
        }
        let applied = Applied { seq: command.seq, time: command.time, events: events.to_vec() };
        // The projector thread outlives every feed; a send fails only if it died, which
        // `Projector::finish` reports.
        let _ = self.sender.send(applied);
    }
}

pub struct Projector {
    feed: ProjectorFeed,
    thread: JoinHandle<anyhow::Result<()>>,
    stored: Arc<AtomicU64>,
    stopping: Arc<AtomicBool>,
}

impl Projector {
    /// Opens the store at `database_url` and starts the projector thread on it. The projector
    /// has a pool and a runtime of its own: a pooled connection's socket belongs to the runtime
    /// that opened it.
    /// `on_stored` hears the last stored sequence number after every batch.
    pub fn start(database_url: &str, on_stored: impl Fn(Seq) + Send + 'static) -> anyhow::Result<Projector> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let store = runtime.block_on(HistoryStore::open(database_url)).context("opening the history store")?;
        let last = runtime.block_on(store.last_seq()).context("reading the history store's position")?;
        let (sender, receiver) = unbounded();
        let stored = Arc::new(AtomicU64::new(last.0));
        let stopping = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new().name("projector".into()).spawn({
            let (stored, stopping) = (stored.clone(), stopping.clone());
            move || project(&runtime, &store, &receiver, &stored, &stopping, on_stored)
        })?;
        Ok(Projector { feed: ProjectorFeed { sender, stored_before_start: last }, thread, stored, stopping })
    }

    /// A handle for the engine thread (or the startup replay) to feed commands through.
    pub fn feed(&self) -> ProjectorFeed {
        self.feed.clone()
    }

    /// The last sequence number the store holds.
    pub fn stored(&self) -> Seq {
        Seq(self.stored.load(Ordering::Acquire))
    }

    /// Waits until everything fed so far is stored (or given up on at shutdown) and stops.
    /// Every other feed must have been dropped first.
    pub fn finish(self) -> anyhow::Result<Seq> {
        self.stopping.store(true, Ordering::Release);
        drop(self.feed);
        self.thread.join().map_err(|_| anyhow::anyhow!("the projector thread panicked"))??;
        Ok(Seq(self.stored.load(Ordering::Acquire)))
    }
}

fn project(
    runtime: &tokio::runtime::Runtime,
    store: &HistoryStore,
    receiver: &Receiver<Applied>,
    stored: &AtomicU64,
    stopping: &AtomicBool,
    on_stored: impl Fn(Seq),
) -> anyhow::Result<()> {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = receiver.recv() {
        batch.clear();
        batch.push(first);
        while batch.len() < MAX_BATCH
            && let Ok(next) = receiver.try_recv()
        {
            batch.push(next);
        }
        let mut attempt = 0u32;
        loop {
            match runtime.block_on(store.apply(&batch)) {
                Ok(()) => break,
                Err(error) => {
                    attempt += 1;
                    // While the server runs, keep trying: history is behind, trading is not.
                    // Once the feed is closed, the journal replay at the next start catches up.
                    tracing::error!(%error, attempt, "storing history failed");
                    metrics::counter!("rucksack_history_errors_total").increment(1);
                    if stopping.load(Ordering::Acquire) && attempt >= ATTEMPTS_WHEN_STOPPING {
                        return Err(anyhow::Error::new(error).context("storing history at shutdown"));
                    }
                    std::thread::sleep(Duration::from_millis(100 * u64::from(attempt.min(50))));
                }
            }
        }
        if let Some(last) = batch.last() {
            stored.store(last.seq.0, Ordering::Release);
            on_stored(last.seq);
            metrics::gauge!("rucksack_history_seq").set(last.seq.0 as f64);
        }
        metrics::gauge!("rucksack_history_backlog").set(receiver.len() as f64);
    }
    Ok(())
}

/// `rucksack history rebuild`: empties the store and projects the whole journal into it again.
/// Holds the journal's lock throughout, so no server can run on the data directory meanwhile.
pub fn rebuild(data_dir: &std::path::Path, database_url: &str) -> anyhow::Result<Rebuilt> {
    let _lock = rucksack_journal::JournalLock::acquire(&crate::layout::journal_dir(data_dir))
        .map_err(|e| anyhow::anyhow!("{e} (stop the server before rebuilding its history)"))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let store = runtime.block_on(HistoryStore::open(database_url)).context("opening the history store")?;
    runtime.block_on(store.clear()).context("emptying the history store")?;
    let mut sink = RebuildSink { runtime, store, pending: Vec::with_capacity(MAX_BATCH), error: None, stored: 0 };
    let recovered = crate::recovery::recover_into(data_dir, crate::recovery::Start::Genesis, |_| {}, &mut sink)?;
    sink.flush();
    if let Some(error) = sink.error {
        return Err(anyhow::Error::new(error).context("storing history"));
    }
    Ok(Rebuilt { last_seq: recovered.engine.last_seq(), commands: recovered.commands, stored: sink.stored })
}

#[derive(Clone, Copy, Debug)]
pub struct Rebuilt {
    pub last_seq: Seq,
    /// Journal commands replayed.
    pub commands: u64,
    /// Commands whose events were stored.
    pub stored: u64,
}

struct RebuildSink {
    runtime: tokio::runtime::Runtime,
    store: HistoryStore,
    pending: Vec<Applied>,
    error: Option<rucksack_store::StoreError>,
    stored: u64,
}

impl RebuildSink {
    fn flush(&mut self) {
        if self.pending.is_empty() || self.error.is_some() {
            return;
        }
        match self.runtime.block_on(self.store.apply(&self.pending)) {
            Ok(()) => self.stored += self.pending.len() as u64,
            Err(error) => self.error = Some(error),
        }
        self.pending.clear();
    }
}

impl crate::pipeline::Outcome for RebuildSink {
    fn applied(&mut self, _: u64, command: &Sequenced, result: Result<&[Event], &rucksack_types::Reject>) {
        if let Ok(events) = result
            && !events.is_empty()
        {
            self.pending.push(Applied { seq: command.seq, time: command.time, events: events.to_vec() });
            if self.pending.len() >= MAX_BATCH {
                self.flush();
            }
        }
    }
}
