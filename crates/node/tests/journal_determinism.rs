//! A random workload driven through the real pipeline (journal with group commit and
//! snapshots) recovers to the live engine's exact state hash, from genesis and from the newest
//! snapshot alike.

use std::sync::mpsc;

use rucksack_engine::Engine;
use rucksack_journal::JournalConfig;
use rucksack_node::generator::Generator;
use rucksack_node::pipeline::{Clock, Pipeline, PipelineConfig, Submission};
use rucksack_node::recovery::{self, Start};
use rucksack_testkit::WorkloadMix;

#[test]
fn replay_from_genesis_and_from_a_snapshot_reach_the_live_state() {
    let dir = tempfile::tempdir().unwrap();
    let config = PipelineConfig {
        snapshot_every: 3_000,
        journal: JournalConfig { segment_bytes: 128 * 1024 },
        clock: Clock::Wall,
        ..PipelineConfig::default()
    };
    let (acks_tx, acks) = mpsc::channel();
    let outcome = move |ticket: u64,
                        _: &rucksack_types::Sequenced,
                        _: Result<&[rucksack_types::Event], &rucksack_types::Reject>| {
        let _ = acks_tx.send(ticket);
    };
    let pipeline = Pipeline::start(dir.path(), Engine::new(), config, outcome).unwrap();
    let commands = Generator::commands(3, 24, WorkloadMix::everything(), 20_000);
    for (ticket, command) in commands.into_iter().enumerate() {
        pipeline.submit_wait(Submission { ticket: ticket as u64, command }).unwrap();
    }
    let live = pipeline.shutdown().unwrap();
    let tickets: Vec<u64> = acks.try_iter().collect();
    assert_eq!(tickets, (0..20_000).collect::<Vec<_>>(), "every command acknowledged once, in order");

    let from_snapshot = recovery::recover(dir.path(), Start::NewestSnapshot, |_| {}).unwrap();
    let from_genesis = recovery::recover(dir.path(), Start::Genesis, |_| {}).unwrap();
    assert!(from_snapshot.snapshot_seq.is_some_and(|seq| seq >= 15_000), "a recent snapshot was used");
    assert_eq!(from_genesis.commands, 20_000);
    assert_eq!(from_snapshot.engine.state_hash(), live.state_hash());
    assert_eq!(from_genesis.engine.state_hash(), live.state_hash());
}
