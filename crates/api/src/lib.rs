//! rucksack's Backpack-compatible API gateway.
//!
//! - [`auth`]: ED25519 request signing and verification, replay protection, rate limits.
//! - [`server`]: the axum router; [`market_data`], [`orders`] and [`history`] hold the handlers
//!   (history is read from the history store).
//! - [`perp`]: perpetual futures' mark prices, open interest and positions.
//! - [`request`]: request bodies to commands, strictly; [`wire`] and [`format`]: responses as
//!   the venue renders them.
//! - [`views`]: the read models queries are answered from, published by the engine thread.
//! - [`gateway`]: submitting a command and awaiting its durable outcome.
//! - [`stream`]: the WebSocket API (market-data and account streams).
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod auth;
pub mod error;
pub mod format;
pub mod gateway;
pub mod history;
pub mod lending;
pub mod lending_history;
pub mod market_data;
pub mod orders;
pub mod perp;
pub mod perp_history;
pub mod request;
pub mod server;
pub mod stream;
pub mod views;
pub mod wire;
