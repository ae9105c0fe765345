//! What the store answers with, and the questions it takes. Records hold the domain's newtypes;
//! the conversion to and from columns lives in [`crate::columns`].

use rucksack_types::{
    AccountId, Amount, AssetId, ClientId, ExpiryReason, Lots, MarketId, MarketSize, NewOrder, OrderId, OrderSpec,
    OrderStatus, SelfTradePrevention, Seq, Side, SystemOrderType, Ticks, TimeInForce, Timestamp, TradeId, TxId,
};

use crate::liquidation::PositionTransferRecord;

/// One applied command's events, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub seq: Seq,
    pub time: Timestamp,
    pub events: Vec<rucksack_types::Event>,
}

/// An order as it stands after every stored event: open orders too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRecord {
    pub id: OrderId,
    pub account: AccountId,
    pub market: MarketId,
    pub client_id: Option<ClientId>,
    pub side: Side,
    /// The limit price; `None` for a market order.
    pub limit: Option<Ticks>,
    /// The base quantity; `None` for a market order sized in quote.
    pub quantity: Option<Lots>,
    pub quote_quantity: Option<Amount>,
    pub time_in_force: TimeInForce,
    pub self_trade_prevention: SelfTradePrevention,
    pub status: OrderStatus,
    pub expiry_reason: Option<ExpiryReason>,
    pub executed: Lots,
    pub executed_quote: Amount,
    pub created_at: Timestamp,
    /// The time of the last command that changed the order.
    pub updated_at: Timestamp,
    /// Set when the exchange placed the order for a liquidation.
    pub system_order_type: Option<SystemOrderType>,
}

impl OrderRecord {
    /// The row of a just-accepted order.
    pub fn accepted(id: OrderId, new: &NewOrder, time: Timestamp) -> OrderRecord {
        let (limit, quantity, quote_quantity) = match new.spec {
            OrderSpec::Limit { price, quantity, .. } => (Some(price), Some(quantity), None),
            OrderSpec::Market { size: MarketSize::Base(quantity), .. } => (None, Some(quantity), None),
            OrderSpec::Market { size: MarketSize::Quote(quote), .. } => (None, None, Some(quote)),
        };
        OrderRecord {
            id,
            account: new.account,
            market: new.market,
            client_id: new.client_id,
            side: new.side,
            limit,
            quantity,
            quote_quantity,
            time_in_force: new.spec.time_in_force(),
            self_trade_prevention: new.self_trade_prevention,
            status: OrderStatus::New,
            expiry_reason: None,
            executed: Lots::ZERO,
            executed_quote: Amount::ZERO,
            created_at: time,
            updated_at: time,
            system_order_type: None,
        }
    }
}

/// One side of a trade, as the account that traded sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FillRecord {
    pub trade: TradeId,
    pub order: OrderId,
    pub client_id: Option<ClientId>,
    pub account: AccountId,
    pub market: MarketId,
    pub side: Side,
    pub price: Ticks,
    pub quantity: Lots,
    /// In the quote asset; negative for a maker rebate.
    pub fee: Amount,
    pub is_maker: bool,
    pub time: Timestamp,
    /// The type of the order's liquidation, when the exchange placed it.
    pub system_order_type: Option<SystemOrderType>,
}

/// One line of an account's fill history: its side of a trade on the book, or of a position the
/// risk engine moved outside the book.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fill {
    Trade(FillRecord),
    Transfer(PositionTransferRecord),
}

impl Fill {
    pub fn market(&self) -> MarketId {
        match self {
            Fill::Trade(fill) => fill.market,
            Fill::Transfer(transfer) => transfer.market,
        }
    }

    pub fn system_order_type(&self) -> Option<SystemOrderType> {
        match self {
            Fill::Trade(fill) => fill.system_order_type,
            Fill::Transfer(transfer) => Some(transfer.kind),
        }
    }
}

/// Which of an account's fills a listing holds (Backpack's `fillType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillSource {
    All,
    /// Fills of the account's own orders.
    User,
    /// Fills of what the exchange did for a liquidation, of these kinds.
    System(&'static [SystemOrderType]),
}

/// A public trade.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TradeRecord {
    pub id: TradeId,
    pub market: MarketId,
    pub price: Ticks,
    pub quantity: Lots,
    /// The quote value traded (what the seller received).
    pub quote: Amount,
    pub buyer_is_maker: bool,
    pub time: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransferKind {
    Deposit,
    Withdrawal,
}

/// Money that entered or left the venue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferRecord {
    pub kind: TransferKind,
    pub account: AccountId,
    pub asset: AssetId,
    pub amount: Amount,
    pub tx: TxId,
    /// The command that moved the money; transfers are listed in this order.
    pub seq: Seq,
    pub time: Timestamp,
}

/// One candle: the trades whose time lies in `[start_secs, end_secs)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candle {
    pub start_secs: u64,
    pub end_secs: u64,
    pub open: Ticks,
    pub high: Ticks,
    pub low: Ticks,
    pub close: Ticks,
    pub volume: Lots,
    pub quote_volume: Amount,
    pub trades: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortDirection {
    Asc,
    Desc,
}

impl SortDirection {
    pub(crate) const fn sql(self) -> &'static str {
        match self {
            SortDirection::Asc => "ASC",
            SortDirection::Desc => "DESC",
        }
    }
}

/// Which slice of a sorted listing to return: skip `offset` rows, then at most `limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub offset: u64,
    pub direction: SortDirection,
}

/// An account's orders, sorted by (created_at, id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderQuery {
    pub account: AccountId,
    pub market: Option<MarketId>,
    pub order: Option<OrderId>,
    pub page: Page,
}

/// An account's fills, sorted by (time, trade id, is_maker). `from` and `to` bound the time,
/// both inclusive (the venue's "minimum" and "maximum" time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FillQuery {
    pub account: AccountId,
    pub market: Option<MarketId>,
    pub order: Option<OrderId>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub page: Page,
}

/// An account's deposits or withdrawals, sorted by sequence number; `from` and `to` as in
/// [`FillQuery`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferQuery {
    pub account: AccountId,
    pub kind: TransferKind,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub page: Page,
}
