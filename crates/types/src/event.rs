//! Events: what the engine reports after applying a command, and the reasons it refuses one.
//! Replies, market data and history are all built from these.

use crate::command::{BorrowLendAction, NewOrder};
use crate::ids::{AccountId, ApiKey, AssetId, MarketId, OrderId, Permissions, TradeId, TxId};
use crate::money::{Amount, Lots, Ticks};
use crate::order::{ExpiryReason, OrderStatus, Side};
use crate::perp::{FinePrice, PerpPosition, PerpSpecError};
use crate::risk::{AssetRisk, Fraction, IndexPrice};
use crate::spec::{AssetSpec, MarketSpec, SpecError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    AssetListed(AssetSpec),
    MarketListed(MarketSpec),
    AccountCreated {
        account: AccountId,
        key: ApiKey,
        permissions: Permissions,
    },
    ApiKeyAdded {
        account: AccountId,
        key: ApiKey,
        permissions: Permissions,
    },
    AccountSettingsChanged {
        account: AccountId,
        settings: crate::command::AccountSettings,
    },
    Deposited {
        account: AccountId,
        asset: AssetId,
        amount: Amount,
        tx: TxId,
    },
    Withdrawn {
        account: AccountId,
        asset: AssetId,
        amount: Amount,
        tx: TxId,
    },
    /// An order passed validation and got its id; fills and its final state follow.
    OrderAccepted {
        order: OrderId,
        new: NewOrder,
    },
    Trade(Trade),
    /// The order now rests on the book (status New or PartiallyFilled).
    OrderRested {
        order: OrderId,
        account: AccountId,
        market: MarketId,
        remaining: Lots,
        executed: Lots,
        executed_quote: Amount,
    },
    /// The order is a trigger order, waiting for its price (status TriggerPending). When it
    /// fires, `OrderAccepted` comes again with the same id and the order it became.
    TriggerPlaced {
        order: OrderId,
        account: AccountId,
        market: MarketId,
        /// The order it is the take-profit or stop-loss of.
        related: Option<OrderId>,
    },
    /// A resting order's quantity was cut (a reduce-only order shrinking with its position); it
    /// keeps its place in the queue.
    OrderModified {
        order: OrderId,
        account: AccountId,
        market: MarketId,
        quantity: Lots,
        remaining: Lots,
    },
    /// The order left the book or never rested: Filled, Cancelled or Expired.
    OrderClosed {
        order: OrderId,
        account: AccountId,
        market: MarketId,
        status: OrderStatus,
        reason: Option<ExpiryReason>,
        executed: Lots,
        executed_quote: Amount,
    },
    AssetRiskSet(AssetRisk),
    /// The index price now in force (after the update cap).
    IndexPriceSet {
        asset: AssetId,
        price: IndexPrice,
    },
    /// Money moved between an account and a pool. `amount` is what left or reached the
    /// available balance; a borrow also added `entry_fee` (interest up to the next charge) to
    /// the debt. After it the account holds `shares` of the pool (positive: a lend, negative: a
    /// borrow) worth `position` units.
    BorrowLendExecuted {
        account: AccountId,
        asset: AssetId,
        action: BorrowLendAction,
        amount: Amount,
        entry_fee: Amount,
        source: BorrowLendSource,
        shares: i128,
        position: i128,
    },
    /// One hour of interest charged on a pool.
    InterestCharged(InterestCharge),
    /// A perpetual market's prices after a clock sample: its index (if the base has one), its
    /// mark, the funding rate the interval would pay if it ended now, and its open interest.
    MarkPriceSet {
        market: MarketId,
        index: Option<FinePrice>,
        mark: FinePrice,
        funding_rate: Fraction,
        /// Lots held long (equal to lots held short).
        open_interest: Lots,
    },
    /// A funding interval ended: every position of `size` lots owes `size * per_lot` fine
    /// units (a long pays a positive rate, a short receives it), applied to each position the
    /// next time it is touched. `cumulative` is the market's running sum of `per_lot`.
    FundingPaid {
        market: MarketId,
        interval_end: crate::ids::Timestamp,
        rate: Fraction,
        mark: FinePrice,
        per_lot: i128,
        cumulative: i128,
    },
    /// A fill changed an account's position; `position` is the position after it, and
    /// `fee` the trading fee (quote units, negative: a rebate) folded into it.
    PositionChanged {
        account: AccountId,
        market: MarketId,
        fee: Amount,
        position: PerpPosition,
    },
    /// Unrealized PnL moved between a position and the account's quote balance: `realized`
    /// (quote units, negative: paid by the account), of which `fees` came from trading fees and
    /// `funding` from funding since the last realization. `position` is the position after it.
    PnlRealized {
        account: AccountId,
        market: MarketId,
        realized: Amount,
        fees: Amount,
        funding: Amount,
        position: PerpPosition,
    },
    /// The next order (its `OrderAccepted` follows) is the exchange's, placed for a
    /// liquidation.
    SystemOrderPlaced(crate::liquidation::SystemOrder),
    /// A position moved outside the book, to a backstop provider or a deleveraged account.
    PositionTransferred(crate::liquidation::PositionTransfer),
    InsuranceFundChanged(crate::liquidation::InsuranceChange),
    Bankrupt(crate::liquidation::Bankruptcy),
    BadDebt(crate::liquidation::BadDebt),
    /// One liquidation step finished on an account.
    Liquidation(crate::liquidation::LiquidationStep),
    /// An account's backstop capacity now (zero: no longer a provider).
    BackstopProviderSet {
        account: AccountId,
        capacity: Amount,
    },
    /// The liquidation parameters now in force.
    LiquidationSpecSet(crate::liquidation::LiquidationSpec),
}

/// One hour of interest charged on a pool at `hour`: borrowers owe `interest` more, of which
/// lenders earn `interest - fee - dust`, the exchange `fee`, and `dust` is rounding residue. The
/// pool's totals after the charge come with it, so each position's part follows from its shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterestCharge {
    pub asset: AssetId,
    pub hour: crate::ids::Timestamp,
    pub utilization: Fraction,
    pub borrow_rate: Fraction,
    pub lend_rate: Fraction,
    pub interest: Amount,
    pub fee: Amount,
    pub dust: Amount,
    pub lent: Amount,
    pub lend_shares: i128,
    pub borrowed: Amount,
    pub borrow_shares: i128,
}

impl InterestCharge {
    /// What the lenders earned.
    pub fn lenders_part(&self) -> i128 {
        i128::from(self.interest.0) - i128::from(self.fee.0) - i128::from(self.dust.0)
    }
}

/// Why money moved between an account and a pool (Backpack's `BorrowLendSource`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BorrowLendSource {
    Manual,
    AutoLend,
    AutoBorrowRepay,
    SpotMargin,
    Withdrawal,
    /// Settling a perpetual position's loss into the quote balance.
    Reconciliation,
    /// Repaying a borrow while the account is liquidated.
    Liquidation,
    /// A borrow closed against a liquidated account's lend its pool's throttle held back
    /// (lending-side deleveraging): the borrower paid its dollar notional.
    AdlProvider,
}

impl BorrowLendSource {
    pub const fn as_str(self) -> &'static str {
        match self {
            BorrowLendSource::Manual => "Manual",
            BorrowLendSource::AutoLend => "AutoLend",
            BorrowLendSource::AutoBorrowRepay => "AutoBorrowRepay",
            BorrowLendSource::SpotMargin => "SpotMargin",
            BorrowLendSource::Withdrawal => "Withdrawal",
            BorrowLendSource::Reconciliation => "Reconciliation",
            BorrowLendSource::Liquidation => "Liquidation",
            BorrowLendSource::AdlProvider => "AdlProvider",
        }
    }
}

/// One match between a taker and a resting maker, at the maker's price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trade {
    pub market: MarketId,
    pub id: TradeId,
    pub price: Ticks,
    pub quantity: Lots,
    pub taker_side: Side,
    pub taker_order: OrderId,
    pub maker_order: OrderId,
    pub taker_account: AccountId,
    pub maker_account: AccountId,
    /// Quote the buyer paid (rounded up) and the seller received (rounded down); the
    /// difference, if any, went to the dust account.
    pub quote_paid: Amount,
    pub quote_received: Amount,
    /// In the quote asset. A negative maker fee is a rebate.
    pub taker_fee: Amount,
    pub maker_fee: Amount,
}

impl Trade {
    /// The quote value traded, as executed-quote counters show it.
    pub const fn notional(&self) -> Amount {
        self.quote_received
    }
}

/// Why a command was refused. A refused command changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    #[error("Invalid market symbol")]
    UnknownMarket,
    #[error("Invalid asset")]
    UnknownAsset,
    #[error("Asset or market id is not the next free id")]
    InvalidListingId,
    #[error("Symbol already listed")]
    DuplicateSymbol,
    #[error("Invalid market: {0}")]
    InvalidSpec(SpecError),
    #[error("Amount must be positive")]
    NonPositiveAmount,
    #[error("Insufficient funds")]
    InsufficientFunds,
    #[error("Price is outside the market's bounds")]
    PriceOutOfBounds,
    #[error("Quantity is outside the market's bounds")]
    QuantityOutOfBounds,
    #[error("Order would immediately match and take")]
    PostOnlyWouldTake,
    #[error("Post-only applies to limit orders only")]
    PostOnlyMarketOrder,
    #[error("Fill or kill quote-quantity market orders are not supported")]
    FillOrKillQuoteQuantity,
    #[error("Duplicate client id")]
    DuplicateClientId,
    #[error("Order not found")]
    OrderNotFound,
    #[error("Value overflows")]
    Overflow,
    #[error("API key already registered")]
    DuplicateApiKey,
    #[error("Account not found")]
    UnknownAccount,
    #[error("leverageLimit must be between 1 and 100")]
    InvalidLeverage,
    #[error("Invalid risk parameters: {0}")]
    InvalidRiskSpec(crate::risk::RiskSpecError),
    #[error("Asset cannot be borrowed or lent")]
    NotLendable,
    #[error("No current index price for the asset")]
    PriceUnavailable,
    #[error("Borrow or redeem would take utilization above the pool's limit")]
    BorrowLimit,
    #[error("Not enough in the pool")]
    InsufficientSupply,
    #[error("Redeem the lend of this asset before borrowing it")]
    BorrowRequiresLendRedeem,
    #[error("Repay the borrow of this asset before lending it")]
    LendRequiresBorrowRepay,
    #[error("Insufficient margin")]
    InsufficientMargin,
    #[error("No position to repay or redeem")]
    NoPosition,
    #[error("Invalid perpetual market: {0}")]
    InvalidPerpSpec(PerpSpecError),
    #[error("Order would take open interest above the market's limit")]
    OpenInterestLimit,
    #[error("Reduce only applies to futures")]
    ReduceOnlySpot,
    #[error("Price is too far from the last active price")]
    PriceBand,
    #[error("Take-profit and stop-loss attach to an order with a base quantity that is not a trigger order")]
    InvalidExit,
    #[error("Invalid volatility tiers: {0}")]
    InvalidVolatilitySpec(crate::volatility::VolatilitySpecError),
    #[error("Account is being liquidated")]
    AccountLiquidating,
    #[error("Invalid liquidation parameters: {0}")]
    InvalidLiquidationSpec(crate::liquidation::LiquidationSpecError),
}

impl Reject {
    /// Backpack's `ApiErrorCode` for this refusal.
    pub const fn code(&self) -> &'static str {
        match self {
            Reject::UnknownMarket => "INVALID_MARKET",
            Reject::UnknownAsset => "INVALID_ASSET",
            Reject::InsufficientFunds => "INSUFFICIENT_FUNDS",
            Reject::PriceOutOfBounds | Reject::PriceBand => "INVALID_PRICE",
            Reject::QuantityOutOfBounds | Reject::NonPositiveAmount => "INVALID_QUANTITY",
            Reject::PostOnlyWouldTake
            | Reject::PostOnlyMarketOrder
            | Reject::FillOrKillQuoteQuantity
            | Reject::DuplicateClientId => "INVALID_ORDER",
            Reject::InvalidListingId
            | Reject::DuplicateSymbol
            | Reject::InvalidSpec(_)
            | Reject::OrderNotFound
            | Reject::Overflow
            | Reject::DuplicateApiKey => "INVALID_CLIENT_REQUEST",
            Reject::UnknownAccount => "RESOURCE_NOT_FOUND",
            Reject::InvalidLeverage | Reject::InvalidRiskSpec(_) => "INVALID_CLIENT_REQUEST",
            Reject::NotLendable => "INVALID_ASSET",
            Reject::PriceUnavailable => "PRECONDITION_FAILED",
            Reject::BorrowLimit => "BORROW_LIMIT",
            Reject::InsufficientSupply => "INSUFFICIENT_SUPPLY",
            Reject::BorrowRequiresLendRedeem => "BORROW_REQUIRES_LEND_REDEEM",
            Reject::LendRequiresBorrowRepay => "LEND_REQUIRES_BORROW_REPAY",
            Reject::InsufficientMargin => "INSUFFICIENT_MARGIN",
            Reject::NoPosition => "RESOURCE_NOT_FOUND",
            Reject::InvalidPerpSpec(_) | Reject::InvalidLiquidationSpec(_) => "INVALID_CLIENT_REQUEST",
            Reject::AccountLiquidating => "ACCOUNT_LIQUIDATING",
            Reject::InvalidVolatilitySpec(_) => "INVALID_CLIENT_REQUEST",
            Reject::OpenInterestLimit | Reject::ReduceOnlySpot | Reject::InvalidExit => "INVALID_ORDER",
        }
    }
}

impl From<crate::money::Overflow> for Reject {
    fn from(_: crate::money::Overflow) -> Reject {
        Reject::Overflow
    }
}
