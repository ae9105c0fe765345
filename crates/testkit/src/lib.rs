//! Test and benchmark support for rucksack: standard listings, a command builder that stamps
//! sequence numbers and time, a small seeded random generator, and seeded workloads that
//! exercise every command kind. Everything here is deterministic for a given seed.

pub mod fixtures;
pub mod rng;
pub mod workload;

pub use fixtures::{Stamp, listings};
pub use rng::SplitMix64;
pub use workload::{Workload, WorkloadMix};
