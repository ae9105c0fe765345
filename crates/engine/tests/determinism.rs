//! The same commands give the same state on any engine: two separate engines fed one command
//! list agree on every event and on the state hash, and a different list gives a different hash.

use rucksack_engine::Engine;
use rucksack_testkit::{Stamp, Workload, WorkloadMix};
use rucksack_types::{Event, Sequenced};

/// A closed-loop workload: commands chosen with knowledge of the engine's open orders.
fn recorded_run(seed: u64, count: usize) -> (Vec<Sequenced>, Vec<Vec<Event>>, [u8; 32]) {
    let mut workload = Workload::new(seed, 12, WorkloadMix::everything());
    let mut engine = Engine::new();
    let mut stamp = Stamp::default();
    let mut commands = Vec::new();
    let mut outcomes = Vec::new();
    for command in workload.setup() {
        let sequenced = stamp.next(command);
        outcomes.push(engine.apply(&sequenced).map(<[_]>::to_vec).unwrap_or_default());
        commands.push(sequenced);
    }
    for _ in 0..count {
        let sequenced = stamp.next(workload.next_command());
        let events = engine.apply(&sequenced).map(<[_]>::to_vec).unwrap_or_default();
        workload.observe(&events);
        outcomes.push(events);
        commands.push(sequenced);
    }
    (commands, outcomes, engine.state_hash())
}

#[test]
fn two_engines_fed_the_same_commands_agree_on_every_event_and_the_hash() {
    let (commands, outcomes, hash) = recorded_run(5, 20_000);
    let mut other = Engine::new();
    for (command, expected) in commands.iter().zip(&outcomes) {
        let events = other.apply(command).map(<[_]>::to_vec).unwrap_or_default();
        assert_eq!(&events, expected, "diverged at seq {}", command.seq);
    }
    assert_eq!(other.state_hash(), hash);
    let trades = outcomes.iter().flatten().filter(|e| matches!(e, Event::Trade(_))).count();
    assert!(trades > 1_000, "the workload must trade ({trades})");
}

#[test]
fn different_histories_hash_differently() {
    let (_, _, a) = recorded_run(5, 2_000);
    let (_, _, b) = recorded_run(6, 2_000);
    assert_ne!(a, b);
}
