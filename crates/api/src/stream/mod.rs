//! The WebSocket API: Backpack's public and private streams.
//!
//! ```text
//! engine thread ── Publisher ── Collector ──(Batch, never blocks)──► Fanout task
//!                                                                     │ encode each frame once
//!                                                                     ▼
//!                                               bounded queue per client (shared bytes)
//!                                                                     │
//!                                               session writer: drain, feed all, flush once
//! ```
//!
//! - [`names`]: stream names to topics; [`frames`]: payloads; [`batch`]: what a batch carries.
//! - [`positions`]: perpetual positions' figures and payloads (`account.positionUpdate`).
//! - [`hub`]: subscriptions and fan-out; [`session`]: one connection.
//!
//! A new stream is a [`names::Topic`] variant, its name in [`names::StreamName::parse`], an
//! [`batch::Update`] the collector emits, and its payload in [`frames`].

pub mod batch;
pub mod frames;
pub mod hub;
pub mod names;
pub mod positions;
pub mod session;

#[cfg(test)]
mod tests;

pub use batch::Collector;
pub use hub::{Fanout, Hub, HubConfig, Sink, open};

use rucksack_types::Timestamp;

/// Wall-clock microseconds: frames' `E`, when the event left the engine thread.
pub fn wall_clock() -> Timestamp {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp(u64::try_from(since_epoch.as_micros()).unwrap_or(u64::MAX))
}
