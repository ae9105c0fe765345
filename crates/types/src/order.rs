//! Order vocabulary with Backpack's names: sides, time in force, self-trade prevention,
//! statuses and expiry reasons.

/// Backpack's `Bid` (buy) and `Ask` (sell).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Bid,
    Ask,
}

impl Side {
    pub const fn opposite(self) -> Side {
        match self {
            Side::Bid => Side::Ask,
            Side::Ask => Side::Bid,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Side::Bid => "Bid",
            Side::Ask => "Ask",
        }
    }
}

/// How long an order may live. Backpack sends post-only as a separate `postOnly` flag on a GTC
/// limit order; here it is its own variant so a post-only IOC cannot be expressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeInForce {
    /// Good till cancelled: takes what it can, rests the remainder.
    Gtc,
    /// GTC that must not take: refused if it would match on arrival.
    PostOnly,
    /// Immediate or cancel: takes what it can, the remainder expires.
    Ioc,
    /// Fill or kill: fills completely on arrival or nothing happens.
    Fok,
}

impl TimeInForce {
    /// Backpack's `timeInForce` value (post-only is GTC with `postOnly: true`).
    pub const fn as_str(self) -> &'static str {
        match self {
            TimeInForce::Gtc | TimeInForce::PostOnly => "GTC",
            TimeInForce::Ioc => "IOC",
            TimeInForce::Fok => "FOK",
        }
    }
}

/// What happens when an order would trade against another order of the same account. The
/// taker's setting decides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SelfTradePrevention {
    /// The incoming order's remainder expires.
    #[default]
    RejectTaker,
    /// The resting order expires and matching continues.
    RejectMaker,
    /// Both expire.
    RejectBoth,
}

impl SelfTradePrevention {
    pub const fn as_str(self) -> &'static str {
        match self {
            SelfTradePrevention::RejectTaker => "RejectTaker",
            SelfTradePrevention::RejectMaker => "RejectMaker",
            SelfTradePrevention::RejectBoth => "RejectBoth",
        }
    }
}

/// Backpack's order statuses (the trigger statuses arrive with conditional orders).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    New,
    PartiallyFilled,
    Filled,
    Cancelled,
    Expired,
    /// A trigger order waiting for its price.
    TriggerPending,
    /// A trigger order whose order was refused when it fired.
    TriggerFailed,
}

impl OrderStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderStatus::New => "New",
            OrderStatus::PartiallyFilled => "PartiallyFilled",
            OrderStatus::Filled => "Filled",
            OrderStatus::Cancelled => "Cancelled",
            OrderStatus::Expired => "Expired",
            OrderStatus::TriggerPending => "TriggerPending",
            OrderStatus::TriggerFailed => "TriggerFailed",
        }
    }

    pub const fn is_open(self) -> bool {
        matches!(self, OrderStatus::New | OrderStatus::PartiallyFilled | OrderStatus::TriggerPending)
    }
}

/// Why an order expired, with Backpack's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExpiryReason {
    FillOrKill,
    ImmediateOrCancel,
    InsufficientFunds,
    InsufficientLiquidity,
    /// A taker reached its price band (impact or mean mark) with quantity left.
    PriceImpact,
    /// A reduce-only order that had nothing left to reduce.
    ReduceOnlyNotReduced,
    SelfTradePrevention,
}

impl ExpiryReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            ExpiryReason::FillOrKill => "FillOrKill",
            ExpiryReason::ImmediateOrCancel => "ImmediateOrCancel",
            ExpiryReason::InsufficientFunds => "InsufficientFunds",
            ExpiryReason::InsufficientLiquidity => "InsufficientLiquidity",
            ExpiryReason::PriceImpact => "PriceImpact",
            ExpiryReason::ReduceOnlyNotReduced => "ReduceOnlyNotReduced",
            ExpiryReason::SelfTradePrevention => "SelfTradePrevention",
        }
    }
}

/// Which price a trigger order watches (Backpack's `triggerBy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TriggerBy {
    /// The market's last trade.
    LastPrice,
    /// A perpetual's mark price.
    MarkPrice,
    /// The base asset's index price.
    IndexPrice,
}

impl TriggerBy {
    pub const fn as_str(self) -> &'static str {
        match self {
            TriggerBy::LastPrice => "LastPrice",
            TriggerBy::MarkPrice => "MarkPrice",
            TriggerBy::IndexPrice => "IndexPrice",
        }
    }
}

/// A trigger order's condition: the order is placed once the watched price reaches `price`,
/// from whichever side it was on when the order arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trigger {
    pub price: crate::money::Ticks,
    pub by: TriggerBy,
}

/// A take-profit or stop-loss attached to an order: a trigger order on the other side, for the
/// same quantity, placed with it. It becomes a limit order at `limit`, or a market order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    pub trigger: Trigger,
    pub limit: Option<crate::money::Ticks>,
}
