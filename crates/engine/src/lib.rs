//! The rucksack engine: a pure, deterministic state machine over every market and account.
//!
//! ```text
//! Sequenced command ──► Engine::apply ──► Ok(events) | Err(reject, nothing changed)
//! ```
//!
//! - `book`: price ladders over a shared order arena (price-time priority, O(1) cancel).
//! - [`ledger`]: available and locked balances, fee and dust accounts, custody totals.
//! - `matching`: order validation, reservation, matching and settlement.
//! - [`lending`]: one money-market pool per asset, interest by pool totals and shares.
//! - [`margin`]: account health (collateral, liabilities, exposure, margin requirements).
//! - `money_market`: the borrow-lend, price and interest commands.
//! - `margin_check`: the margin rule over open orders.
//! - `spot_margin`: funding orders and withdrawals from lends and borrows; auto-repay, auto-lend.
//! - [`perp`]: perpetual futures: positions, marks, funding and PnL realization.
//! - [`liquidation`]: the risk engine: account health as it stands and the liquidation
//!   waterfall (unwind, on-book steps, backstop, deleveraging, insurance fund).
//! - [`what_if`]: exact borrow, withdrawal and order limits, answered on a scratch engine.
//! - `triggers`: trigger orders, held until the price they watch reaches theirs.
//! - `volatility`: dynamic risk parameters from each asset's realized volatility.
//! - [`snapshot`]: the canonical state encoding, used for snapshots and the state hash.
//! - [`invariants`]: conservation and consistency checks run after every command in tests.
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![deny(clippy::float_arithmetic)]

mod book;
mod engine;
pub mod invariants;
pub mod ledger;
pub mod lending;
pub mod liquidation;
pub mod margin;
mod margin_check;
mod matching;
mod money_market;
pub mod perp;
pub mod snapshot;
mod spot_margin;
mod triggers;
mod volatility;
pub mod what_if;

pub use book::standalone::OrderBook;
pub use engine::Engine;
pub use invariants::InvariantViolation;
pub use ledger::{Balance, Custody};
pub use margin::{PricePoint, RiskInputs};
pub use money_market::RiskState;
pub use snapshot::SnapshotError;
