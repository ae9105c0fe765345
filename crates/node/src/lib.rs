//! The rucksack node: everything around the pure engine that touches the world.
//!
//! - [`pipeline`]: the single-writer flow. Submissions enter a bounded queue; the sequencer
//!   thread stamps each with a sequence number and time, appends the batch to the journal and
//!   group-commits it (one `fdatasync`); only then does the engine thread apply the batch and
//!   report each outcome. Nothing is acknowledged before it is durable.
//! - [`recovery`]: rebuilds the engine from the newest snapshot (or genesis) plus the journal.
//! - [`generator`]: a deterministic order flow for demos, load tests and crash tests.
//! - [`serve`]: the running exchange: pipeline, read models and the HTTP gateway.
//! - [`projector`]: writes the events of durable commands to the history store.
//! - [`admin`]: operator commands against a running server.

pub mod admin;
pub mod client;
pub mod config;
pub mod demo;
pub mod generator;
pub mod http;
pub mod layout;
pub mod loadgen;
pub mod market_maker;
pub mod pipeline;
pub mod projector;
pub mod recovery;
pub mod serve;
pub mod wsbench;
