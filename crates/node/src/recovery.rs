//! Recovery: the newest valid snapshot, then every journaled command after it, applied in
//! order. The same code serves startup, `rucksack replay` and audits, and it is how the state
//! hash of a data directory is defined.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use rucksack_engine::Engine;
use rucksack_journal::{JournalReader, SnapshotStore, TruncatedTail};
use rucksack_types::codec::decode_command;
use rucksack_types::{Event, Reject, Seq, Sequenced};

use crate::layout;
use crate::pipeline::Outcome;

/// Where replay starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    NewestSnapshot,
    Genesis,
}

pub struct Recovered {
    pub engine: Engine,
    /// The snapshot replay started from, if any.
    pub snapshot_seq: Option<u64>,
    /// Journal commands applied after it.
    pub commands: u64,
    pub seconds: f64,
    /// A torn final record replay stopped before (the writer cuts it off when it next opens).
    pub torn_tail: Option<TruncatedTail>,
    /// Newer snapshots that failed verification and were passed over.
    pub skipped_snapshots: Vec<String>,
}

/// Rebuilds the engine from `data_dir`. `progress` is told the number of commands applied so far.
pub fn recover(data_dir: &Path, start: Start, progress: impl FnMut(u64)) -> anyhow::Result<Recovered> {
    recover_into(data_dir, start, progress, &mut Discard)
}

/// Ignores outcomes.
struct Discard;

impl Outcome for Discard {
    fn applied(&mut self, _: u64, _: &Sequenced, _: Result<&[Event], &Reject>) {}
}

/// Commands replayed between two `batch_applied` calls when recovery reports outcomes.
const REPLAY_BATCH: u64 = 65_536;

/// [`recover`], reporting every replayed command's outcome to `outcome` as the live pipeline
/// would (ticket 0), so read models can be rebuilt from the journal.
pub fn recover_into(
    data_dir: &Path,
    start: Start,
    mut progress: impl FnMut(u64),
    outcome: &mut impl Outcome,
) -> anyhow::Result<Recovered> {
    let started = Instant::now();
    let mut skipped_snapshots = Vec::new();
    let (mut engine, snapshot_seq) = match start {
        Start::Genesis => (Engine::new(), None),
        Start::NewestSnapshot => {
            let store = SnapshotStore::open(&layout::snapshot_dir(data_dir)).context("opening snapshots")?;
            match store.latest().context("reading snapshots")? {
                Some(snapshot) => {
                    skipped_snapshots =
                        snapshot.skipped.iter().map(|(path, why)| format!("{}: {why}", path.display())).collect();
                    let engine = Engine::decode_snapshot(&snapshot.body)
                        .with_context(|| format!("decoding snapshot {}", snapshot.path.display()))?;
                    anyhow::ensure!(
                        engine.last_seq().0 == snapshot.seq,
                        "snapshot {} holds seq {}",
                        snapshot.path.display(),
                        engine.last_seq()
                    );
                    (engine, Some(snapshot.seq))
                }
                None => (Engine::new(), None),
            }
        }
    };
    // Replay is the hot loop of a restart; the invariants were checked when the commands first ran.
    let checks = cfg!(debug_assertions);
    engine.set_invariant_checks(false);
    let mut reader = JournalReader::open(&layout::journal_dir(data_dir)).context("opening the journal")?;
    let from = engine.last_seq().0 + 1;
    let mut failure: Option<anyhow::Error> = None;
    let mut commands = 0u64;
    let stats = reader
        .for_each(from, |seq, payload| {
            if failure.is_some() {
                return;
            }
            match decode_command(payload) {
                Ok((time, command)) => {
                    let sequenced = Sequenced { seq: Seq(seq), time, command };
                    match engine.apply(&sequenced) {
                        Ok(events) => outcome.applied(0, &sequenced, Ok(events)),
                        Err(reject) => outcome.applied(0, &sequenced, Err(&reject)),
                    }
                    commands += 1;
                    if commands.is_multiple_of(REPLAY_BATCH) {
                        outcome.batch_applied(&engine);
                        progress(commands);
                    }
                }
                Err(e) => failure = Some(anyhow::anyhow!("journal record {seq} does not decode: {e}")),
            }
        })
        .context("reading the journal")?;
    if let Some(error) = failure {
        return Err(error);
    }
    if let Some(first) = stats.first_seq {
        anyhow::ensure!(first == from, "the journal starts at seq {first} but the state needs {from}");
    }
    outcome.batch_applied(&engine);
    progress(commands);
    engine.set_invariant_checks(checks);
    if checks {
        engine.check().context("recovered state violates an invariant")?;
    }
    Ok(Recovered {
        engine,
        snapshot_seq,
        commands,
        seconds: started.elapsed().as_secs_f64(),
        torn_tail: stats.torn_tail,
        skipped_snapshots,
    })
}
