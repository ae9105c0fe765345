//! A deterministic order flow. A seeded [`Workload`] proposes commands and a shadow engine tells
//! it which orders are open, so the stream depends only on the seed and can be regenerated
//! exactly, which is what lets a crash test check a recovered journal command by command.

use rucksack_engine::Engine;
use rucksack_testkit::{Stamp, Workload, WorkloadMix};
use rucksack_types::Command;

pub struct Generator {
    workload: Workload,
    shadow: Engine,
    stamp: Stamp,
    setup: std::vec::IntoIter<Command>,
}

impl Generator {
    /// The venue listings and opening deposits come first, then `mix` order flow.
    pub fn new(seed: u64, accounts: u64, mix: WorkloadMix) -> Generator {
        let mut workload = Workload::new(seed, accounts, mix);
        let setup = workload.setup();
        let mut shadow = Engine::new();
        shadow.set_invariant_checks(false);
        Generator { workload, shadow, stamp: Stamp::default(), setup: setup.into_iter() }
    }

    /// The first `count` commands.
    pub fn commands(seed: u64, accounts: u64, mix: WorkloadMix, count: usize) -> Vec<Command> {
        Generator::new(seed, accounts, mix).take(count).collect()
    }
}

impl Iterator for Generator {
    type Item = Command;

    fn next(&mut self) -> Option<Command> {
        let command = self.setup.next().unwrap_or_else(|| self.workload.next_command());
        if let Ok(events) = self.shadow.apply(&self.stamp.next(command)) {
            let events = events.to_vec();
            self.workload.observe(&events);
        }
        Some(command)
    }
}
