//! rucksack's Backpack-compatible API gateway.
//!
//! - [`auth`]: ED25519 request signing and verification, replay protection, rate limits.
//! - [`server`]: the axum router; [`market_data`] and [`orders`] hold the handlers.
//! - [`request`]: request bodies to commands, strictly; [`wire`] and [`format`]: responses as
//!   the venue renders them.
//! - [`views`]: the read models queries are answered from, published by the engine thread.
//! - [`gateway`]: submitting a command and awaiting its durable outcome.
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod auth;
pub mod error;
pub mod format;
pub mod gateway;
pub mod market_data;
pub mod orders;
pub mod request;
pub mod server;
pub mod views;
pub mod wire;
