//! The history store: the venue's past for the API (orders, fills, public trades, deposits,
//! withdrawals, candles, the money market's movements and hourly charges, perpetual funding,
//! settlements and positions, and liquidations' transfers and the insurance fund), kept in
//! SQLite on one machine or PostgreSQL at scale.
//!
//! ```text
//! engine events ─► Applied (per command) ─► HistoryStore::apply ─► one transaction per batch:
//!                                            projection (in memory) ─► multi-row inserts + position
//! ```
//!
//! - `projection`: the event fold, backend-neutral; a new kind of history
//!   is a field, a match arm and a table.
//! - `tables`: each table's columns and its records as rows; `read` and `write` use them.
//! - `sql`: the only code that knows two backends exist; `sqlite` and `postgres` connect and
//!   hold each backend's schema (`migrations/<backend>/`).
//!
//! Every batch is stored together with its last sequence number and commands at or below the
//! stored one are skipped, so the journal can be replayed over the store after a crash without
//! duplicating or losing a row.
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![deny(clippy::float_arithmetic)]

mod candles;
mod columns;
mod interval;
mod lending;
mod liquidation;
mod perp;
mod postgres;
mod projection;
mod read;
mod records;
mod sql;
mod sqlite;
mod tables;
mod write;

use rucksack_types::{MarketId, Seq};

pub use interval::{CandleInterval, UnknownInterval};
pub use lending::{InterestPayment, PaymentKind, PoolHourRecord, PoolMovementRecord, PoolQuery};
pub use liquidation::{InsuranceQuery, InsuranceRecord, PositionTransferRecord};
pub use perp::{
    FundingPaymentQuery, FundingPaymentRecord, FundingRateRecord, PositionId, PositionQuery, PositionRecord,
    PositionState, SettlementQuery, SettlementRecord, SettlementSource,
};
pub use records::{
    Applied, Candle, Fill, FillQuery, FillRecord, FillSource, OrderQuery, OrderRecord, Page, SortDirection,
    TradeRecord, TransferKind, TransferQuery, TransferRecord,
};

use sql::Pool;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("history database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrating the history database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported history store URL scheme {0:?} (expected sqlite:// or postgres://)")]
    UnsupportedUrl(String),
    #[error("{what} {value} is beyond the store's signed 64-bit range")]
    OutOfRange { what: &'static str, value: u64 },
    #[error("{0} overflows")]
    Overflow(&'static str),
    #[error("commands must be in ascending sequence: {next} after {previous}")]
    OutOfOrder { previous: Seq, next: Seq },
    #[error("the history database holds data this version did not write: {0}")]
    Corrupt(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle on the history database; cheap to clone (a connection pool inside).
#[derive(Clone, Debug)]
pub struct HistoryStore {
    pool: Pool,
}

impl HistoryStore {
    /// `sqlite://<path>` (file created if missing, WAL mode) or `postgres://...`; brings the
    /// schema up to date with the backend's embedded migrations.
    pub async fn open(url: &str) -> Result<HistoryStore, StoreError> {
        let scheme = url.split(':').next().unwrap_or_default();
        let pool = match scheme {
            "sqlite" => Pool::Sqlite(sqlite::open(url).await?),
            "postgres" | "postgresql" => Pool::Postgres(postgres::open(url).await?),
            // Only the scheme is echoed: the rest may hold a password.
            other => return Err(StoreError::UnsupportedUrl(other.to_owned())),
        };
        Ok(HistoryStore { pool })
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The last sequence number whose events are stored (`Seq(0)` when empty).
    pub async fn last_seq(&self) -> Result<Seq, StoreError> {
        write::last_seq(&self.pool).await
    }

    /// Stores the events of `commands` (ascending seq) in one transaction, together with the
    /// new last seq. Commands at or below [`HistoryStore::last_seq`] are skipped, so replaying
    /// an overlapping range never duplicates or loses a row. On error nothing is stored.
    pub async fn apply(&self, commands: &[Applied]) -> Result<(), StoreError> {
        write::apply(&self.pool, commands).await
    }

    /// Empties every table and resets the position to `Seq(0)` (to rebuild from the journal).
    pub async fn clear(&self) -> Result<(), StoreError> {
        write::clear(&self.pool).await
    }

    /// An account's orders, open and closed, sorted by (created_at, id).
    pub async fn orders(&self, query: &OrderQuery) -> Result<Vec<OrderRecord>, StoreError> {
        read::orders(&self.pool, query).await
    }

    /// An account's fills on the book, sorted by (time, trade id, is_maker).
    pub async fn fills(&self, query: &FillQuery) -> Result<Vec<FillRecord>, StoreError> {
        read::fills(&self.pool, query).await
    }

    /// An account's fills of `source`, on the book and by position transfer together, sorted by
    /// time (a transfer before the trades of its microsecond), then as [`HistoryStore::fills`].
    pub async fn fill_history(&self, query: &FillQuery, source: FillSource) -> Result<Vec<Fill>, StoreError> {
        read::fill_history(&self.pool, query, source).await
    }

    /// The insurance fund's changes, sorted by sequence number.
    pub async fn insurance_history(&self, query: &InsuranceQuery) -> Result<Vec<InsuranceRecord>, StoreError> {
        liquidation::insurance(&self.pool, query).await
    }

    /// A market's public trades, sorted by id.
    pub async fn trades(&self, market: MarketId, page: Page) -> Result<Vec<TradeRecord>, StoreError> {
        read::trades(&self.pool, market, page).await
    }

    /// An account's deposits or withdrawals, sorted by sequence number.
    pub async fn transfers(&self, query: &TransferQuery) -> Result<Vec<TransferRecord>, StoreError> {
        read::transfers(&self.pool, query).await
    }

    /// The candles that had trades and whose start lies in `[start_secs, end_secs)`, each whole,
    /// oldest first.
    pub async fn candles(
        &self,
        market: MarketId,
        interval: CandleInterval,
        start_secs: u64,
        end_secs: Option<u64>,
    ) -> Result<Vec<Candle>, StoreError> {
        read::candles(&self.pool, market, interval, start_secs, end_secs).await
    }

    /// An account's movements between its balance and the pools, by sequence number.
    pub async fn pool_movements(&self, query: &PoolQuery) -> Result<Vec<PoolMovementRecord>, StoreError> {
        lending::movements(&self.pool, query).await
    }

    /// An account's interest payments (entry fees and hourly charges and earnings), by time.
    pub async fn interest_payments(&self, query: &PoolQuery) -> Result<Vec<InterestPayment>, StoreError> {
        lending::payments(&self.pool, query).await
    }

    /// The pools' hourly charges from `from` on, oldest first; one asset's or every asset's.
    pub async fn pool_hours(
        &self,
        asset: Option<rucksack_types::AssetId>,
        from: rucksack_types::Timestamp,
    ) -> Result<Vec<PoolHourRecord>, StoreError> {
        lending::market_hours(&self.pool, asset, from).await
    }

    /// A market's funding intervals, sorted by interval end (Backpack lists them newest first).
    pub async fn funding_rates(&self, market: MarketId, page: Page) -> Result<Vec<FundingRateRecord>, StoreError> {
        perp::funding_rates(&self.pool, market, page).await
    }

    /// A market's latest funding paid by command `at` or an earlier one.
    pub async fn latest_funding(&self, market: MarketId, at: Seq) -> Result<Option<FundingRateRecord>, StoreError> {
        perp::latest_funding(&self.pool, market, at).await
    }

    /// An account's settlements (the parts of each PnL realization), by (seq, position, source).
    pub async fn settlements(&self, query: &SettlementQuery) -> Result<Vec<SettlementRecord>, StoreError> {
        perp::settlements(&self.pool, query).await
    }

    /// An account's funding payments (its `FundingPayment` settlements with the market's
    /// funding rate then), by (seq, position).
    pub async fn funding_payments(&self, query: &FundingPaymentQuery) -> Result<Vec<FundingPaymentRecord>, StoreError> {
        perp::funding_payments(&self.pool, query).await
    }

    /// An account's perpetual position lifetimes, open and closed, by id (the order they opened).
    pub async fn positions(&self, query: &PositionQuery) -> Result<Vec<PositionRecord>, StoreError> {
        perp::positions(&self.pool, query).await
    }
}
