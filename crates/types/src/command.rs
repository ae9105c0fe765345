//! Commands: everything that can change the exchange enters the engine as one of these, in the
//! order the sequencer journaled them. Commands are plain `Copy` data so they cost nothing to
//! queue, journal and replay.

use crate::ids::{AccountId, ApiKey, AssetId, ClientId, MarketId, OrderId, Permissions, Seq, Timestamp, TxId};
use crate::money::{Amount, Lots, Ticks};
use crate::order::{SelfTradePrevention, Side, TimeInForce};
use crate::risk::{AssetRisk, IndexPrice};
use crate::spec::{AssetSpec, MarketSpec};

/// A command with the sequence number and time the sequencer gave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sequenced {
    pub seq: Seq,
    pub time: Timestamp,
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Admin: list a new asset. Its id must be the next free one.
    ListAsset(AssetSpec),
    /// Admin: open a new market between listed assets. Its id must be the next free one.
    ListMarket(MarketSpec),
    /// Admin: open a new account (the next free id) with one API key.
    CreateAccount {
        key: ApiKey,
        permissions: Permissions,
    },
    /// Admin: give an existing account another API key.
    AddApiKey {
        account: AccountId,
        key: ApiKey,
        permissions: Permissions,
    },
    /// Change an account's settings; fields left `None` keep their value.
    UpdateAccountSettings {
        account: AccountId,
        change: SettingsChange,
    },
    /// Credit an account with money that arrived from outside, identified by its external
    /// transaction id; a second deposit with the same id changes nothing.
    Deposit {
        account: AccountId,
        asset: AssetId,
        amount: Amount,
        tx: TxId,
    },
    /// Debit an account's available balance for money leaving the venue; idempotent by id.
    /// `margin` may redeem a lend of the asset or borrow what the balance lacks.
    Withdraw {
        account: AccountId,
        asset: AssetId,
        amount: Amount,
        tx: TxId,
        margin: MarginFlags,
    },
    PlaceOrder(NewOrder),
    /// An order with a take-profit and/or a stop-loss: trigger orders on the other side for the
    /// same quantity (reduce-only on a perpetual), placed with it; when one fires the other is
    /// cancelled.
    PlaceOrderWithExits {
        order: NewOrder,
        take_profit: Option<crate::order::Exit>,
        stop_loss: Option<crate::order::Exit>,
    },
    CancelOrder {
        account: AccountId,
        market: MarketId,
        target: CancelTarget,
    },
    /// Cancels the account's open orders in the market: resting, waiting trigger orders, or both.
    CancelAll {
        account: AccountId,
        market: MarketId,
        scope: CancelScope,
    },
    /// Admin: set or change an asset's collateral, margin and money-market parameters.
    SetAssetRisk(AssetRisk),
    /// Oracle: a new index price for an asset. The engine caps the move by the asset's
    /// price-update multipliers.
    SetIndexPrice {
        asset: AssetId,
        price: IndexPrice,
    },
    /// Move money between an account's available balance and the asset's money-market pool.
    BorrowLend {
        account: AccountId,
        asset: AssetId,
        action: BorrowLendAction,
        amount: Amount,
    },
    /// Time passed: charge interest for every hour boundary up to the command's time.
    AccrueInterest,
    /// The oracle's clock (about every second): sample each perpetual market's premium, set its
    /// mark price, and pay funding for every interval that ended by the command's time.
    UpdateMarkPrices,
    /// Realize every perpetual position's unrealized PnL into the quote balance at the mark
    /// price, without changing its size.
    RealizePnl,
    /// Admin: set the volatility tiers that tighten margin fractions and haircuts (`None`:
    /// static parameters; multipliers relax back to 1 from where they are).
    SetVolatilitySpec(Option<crate::volatility::VolatilitySpec>),
    /// Admin: set the parameters of the liquidation waterfall.
    SetLiquidationSpec(crate::liquidation::LiquidationSpec),
    /// Admin: register an account as a backstop liquidity provider that takes up to `capacity`
    /// (quote notional) of each position closed out; zero withdraws it.
    SetBackstopProvider {
        account: AccountId,
        capacity: Amount,
    },
    /// Admin: move `amount` of an account's available balance into the insurance fund (the
    /// operator seeding or topping up the fund).
    FundInsurance {
        account: AccountId,
        asset: AssetId,
        amount: Amount,
    },
    /// The risk engine's sweep (about every second, after the mark prices): every account at or
    /// below maintenance, or still in liquidation short of its buffer, takes one liquidation
    /// step.
    Liquidate,
}

/// What a borrow-lend command does with the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BorrowLendAction {
    /// Take from the pool; the account owes it back with interest.
    Borrow,
    /// Pay back (part of) a borrow.
    Repay,
    /// Put available balance into the pool to earn interest; it still counts as collateral.
    Lend,
    /// Take (part of) a lend back into the available balance.
    Redeem,
}

/// Which open orders a cancel-all takes (Backpack's `orderType` filter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CancelScope {
    #[default]
    All,
    /// Orders on the book (`RestingLimitOrder`).
    Resting,
    /// Trigger orders waiting for their price (`ConditionalOrder`).
    Triggers,
}

/// Which order a cancel means: the engine's id or the client's own id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelTarget {
    Order(OrderId),
    Client(ClientId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewOrder {
    pub account: AccountId,
    pub market: MarketId,
    pub side: Side,
    pub client_id: Option<ClientId>,
    pub self_trade_prevention: SelfTradePrevention,
    pub spec: OrderSpec,
    pub margin: MarginFlags,
    /// Perpetuals only: the order may only shrink the account's position. Its quantity is cut to
    /// what the position (less the account's other reduce-only orders on that side) allows, and
    /// while it rests it shrinks with the position.
    pub reduce_only: bool,
    /// A trigger order: placed as this order once the trigger's price is reached.
    pub trigger: Option<crate::order::Trigger>,
}

/// How an order or withdrawal may go beyond the available balance: Backpack's spot-margin
/// flags. An account with auto-lend on redeems its lends for orders and withdrawals whatever
/// `auto_lend_redeem` says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MarginFlags {
    /// Borrow what the available balance and redeemable lends do not cover.
    pub auto_borrow: bool,
    /// Repay a borrow of the asset an order receives from its proceeds.
    pub auto_borrow_repay: bool,
    /// Redeem a lend of the asset being spent before borrowing it.
    pub auto_lend_redeem: bool,
}

impl MarginFlags {
    pub const NONE: MarginFlags = MarginFlags { auto_borrow: false, auto_borrow_repay: false, auto_lend_redeem: false };

    /// The journal's one-byte form.
    pub fn to_byte(self) -> u8 {
        u8::from(self.auto_borrow) | u8::from(self.auto_borrow_repay) << 1 | u8::from(self.auto_lend_redeem) << 2
    }

    pub fn from_byte(byte: u8) -> Option<MarginFlags> {
        (byte < 8).then_some(MarginFlags {
            auto_borrow: byte & 1 != 0,
            auto_borrow_repay: byte & 2 != 0,
            auto_lend_redeem: byte & 4 != 0,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderSpec {
    Limit {
        price: Ticks,
        quantity: Lots,
        time_in_force: TimeInForce,
    },
    /// Takes liquidity at any price. GTC and IOC both mean "take what is there"; FOK means
    /// all or nothing. Post-only is meaningless here and refused.
    Market {
        size: MarketSize,
        time_in_force: TimeInForce,
    },
}

/// How much a market order trades: a base quantity, or a quote budget (Backpack's
/// `quoteQuantity`: at most this much quote spent on a buy, or received on a sell, fees apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarketSize {
    Base(Lots),
    Quote(Amount),
}

impl OrderSpec {
    pub const fn time_in_force(&self) -> TimeInForce {
        match self {
            OrderSpec::Limit { time_in_force, .. } | OrderSpec::Market { time_in_force, .. } => *time_in_force,
        }
    }
}

/// An account's trading settings, as Backpack's `/account` shows them. The margin settings take
/// effect once the account has margin; they are kept from the start so clients can set them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountSettings {
    pub auto_borrow_settlements: bool,
    pub auto_lend: bool,
    pub auto_realize_pnl: bool,
    pub auto_repay_borrows: bool,
    /// The most leverage the account allows itself (1 to [`AccountSettings::MAX_LEVERAGE`]).
    pub leverage_limit: u16,
}

impl AccountSettings {
    pub const MAX_LEVERAGE: u16 = 100;
}

impl Default for AccountSettings {
    fn default() -> Self {
        AccountSettings {
            auto_borrow_settlements: false,
            auto_lend: false,
            auto_realize_pnl: false,
            auto_repay_borrows: false,
            leverage_limit: 10,
        }
    }
}

/// A partial update of [`AccountSettings`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SettingsChange {
    pub auto_borrow_settlements: Option<bool>,
    pub auto_lend: Option<bool>,
    pub auto_realize_pnl: Option<bool>,
    pub auto_repay_borrows: Option<bool>,
    pub leverage_limit: Option<u16>,
}

impl SettingsChange {
    /// `settings` with this change applied.
    pub fn applied_to(&self, settings: AccountSettings) -> AccountSettings {
        AccountSettings {
            auto_borrow_settlements: self.auto_borrow_settlements.unwrap_or(settings.auto_borrow_settlements),
            auto_lend: self.auto_lend.unwrap_or(settings.auto_lend),
            auto_realize_pnl: self.auto_realize_pnl.unwrap_or(settings.auto_realize_pnl),
            auto_repay_borrows: self.auto_repay_borrows.unwrap_or(settings.auto_repay_borrows),
            leverage_limit: self.leverage_limit.unwrap_or(settings.leverage_limit),
        }
    }
}
