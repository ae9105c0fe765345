//! The vocabulary every part of rucksack shares: integer money newtypes, identifiers, asset and
//! market specifications, the commands that enter the engine and the events that leave it, and
//! the exact decimal conversion used at the API edge.
//!
//! Nothing here does I/O. Money never touches floating point: prices are [`Ticks`], quantities
//! are [`Lots`], balances are [`Amount`]s in an asset's smallest unit, and every conversion
//! states its rounding direction.
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![deny(clippy::float_arithmetic)]

pub mod codec;
pub mod command;
pub mod decimal;
pub mod event;
pub mod ids;
pub mod liquidation;
pub mod money;
pub mod order;
pub mod perp;
pub mod risk;
pub mod spec;
pub mod symbol;
pub mod volatility;

pub use command::{
    AccountSettings, BorrowLendAction, CancelScope, CancelTarget, Command, MarginFlags, MarketSize, NewOrder,
    OrderSpec, Sequenced, SettingsChange,
};
pub use decimal::{Decimal, DecimalError, FieldError};
pub use event::{BorrowLendSource, Event, InterestCharge, Reject, Trade};
pub use ids::{AccountId, ApiKey, AssetId, ClientId, MarketId, OrderId, Permissions, Seq, Timestamp, TradeId, TxId};
pub use liquidation::{
    BadDebt, Bankruptcy, InsuranceChange, InsuranceReason, LiquidationSpec, LiquidationStage, LiquidationStep,
    PositionTransfer, SystemOrder, SystemOrderType,
};
pub use money::{Amount, Lots, Rounding, Ticks};
pub use order::{Exit, ExpiryReason, OrderStatus, SelfTradePrevention, Side, TimeInForce, Trigger, TriggerBy};
pub use perp::{BasisSpec, BookPrices, FinePrice, MarketKind, PerpPosition, PerpSpec, PerpSpecError, PriceBands};
pub use risk::{
    AssetRisk, FlatRegions, Fraction, Haircut, IndexPrice, LendingSpec, MarginFunction, RateCurve, SquareRoot, UsdValue,
};
pub use spec::{AssetSpec, MarketScale, MarketSpec, SpecError};
pub use symbol::Symbol;
