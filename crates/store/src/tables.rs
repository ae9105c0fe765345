//! Each table's columns, and its records as rows and back. The column lists here are the only
//! ones: the writer and the reader both use them, so the two cannot disagree on the order.

use rucksack_types::{
    AccountId, Amount, AssetId, ClientId, Lots, MarketId, OrderId, Seq, SystemOrderType, Ticks, Timestamp, TradeId,
};

use crate::StoreError;
use crate::candles::Piece;
use crate::columns::{Named, int, narrow, tx, unsigned};
use crate::projection::{MinuteKey, PlacedTransfer};
use crate::records::{FillRecord, OrderRecord, TradeRecord, TransferKind, TransferRecord};
use crate::sql::{Row, Value};

/// A table the writer inserts into: its name, its columns, and what a repeated key updates.
pub(crate) struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    /// The `ON CONFLICT` clause, or "" where a repeated key is an error.
    pub on_conflict: &'static str,
}

impl Table {
    pub(crate) fn select_list(&self) -> String {
        self.columns.join(", ")
    }
}

pub(crate) const ORDERS: Table = Table {
    name: "orders",
    columns: &[
        "id",
        "account",
        "market",
        "client_id",
        "side",
        "limit_price",
        "quantity",
        "quote_quantity",
        "time_in_force",
        "self_trade_prevention",
        "status",
        "expiry_reason",
        "executed",
        "executed_quote",
        "created_at",
        "updated_at",
        "system_order_type",
    ],
    // What an order's later events change; the rest is fixed when it is accepted.
    on_conflict: " ON CONFLICT (id) DO UPDATE SET status = excluded.status, expiry_reason = excluded.expiry_reason, \
                  executed = excluded.executed, executed_quote = excluded.executed_quote, \
                  updated_at = excluded.updated_at",
};

pub(crate) const FILLS: Table = Table {
    name: "fills",
    columns: &[
        "trade",
        "order_id",
        "client_id",
        "account",
        "market",
        "side",
        "price",
        "quantity",
        "fee",
        "is_maker",
        "time",
        "system_order_type",
    ],
    on_conflict: "",
};

pub(crate) const TRADES: Table = Table {
    name: "trades",
    columns: &["id", "market", "price", "quantity", "quote", "buyer_is_maker", "time"],
    on_conflict: "",
};

pub(crate) const TRANSFERS: Table = Table {
    name: "transfers",
    columns: &["kind", "account", "asset", "amount", "tx", "seq", "time", "position"],
    on_conflict: "",
};

/// One-minute candles are merged in memory with the stored row first, so a conflict replaces.
pub(crate) const CANDLES_1M: Table = Table {
    name: "candles_1m",
    columns: &[
        "market",
        "start_secs",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "quote_volume",
        "trades",
        "first_trade",
        "last_trade",
    ],
    on_conflict: " ON CONFLICT (market, start_secs) DO UPDATE SET open = excluded.open, high = excluded.high, \
                  low = excluded.low, close = excluded.close, volume = excluded.volume, \
                  quote_volume = excluded.quote_volume, trades = excluded.trades, \
                  first_trade = excluded.first_trade, last_trade = excluded.last_trade",
};

/// Every table `clear` empties (the position row is reset instead).
pub(crate) const HISTORY_TABLES: [&str; 12] = [
    "orders",
    "fills",
    "trades",
    "transfers",
    "candles_1m",
    "pool_movements",
    "pool_hours",
    "funding_rates",
    "settlements",
    "perp_positions",
    "position_transfers",
    "insurance_fund",
];

fn client_id(value: Option<ClientId>) -> Value {
    Value::Int(value.map(|c| i64::from(c.0)))
}

fn time(value: Timestamp) -> Result<Value, StoreError> {
    Ok(int("time", value.0)?.into())
}

fn read_time(row: &Row, index: usize) -> Result<Timestamp, StoreError> {
    Ok(Timestamp(unsigned("time", row.get(index)?)?))
}

fn read_client_id(row: &Row, index: usize) -> Result<Option<ClientId>, StoreError> {
    row.get::<Option<i64>>(index)?.map(|c| narrow("client id", c).map(ClientId)).transpose()
}

fn read_market(row: &Row, index: usize) -> Result<MarketId, StoreError> {
    narrow("market id", row.get(index)?).map(MarketId)
}

fn read_name<T: Named>(row: &Row, index: usize) -> Result<T, StoreError> {
    T::parse(&row.get::<String>(index)?)
}

fn read_system_order_type(row: &Row, index: usize) -> Result<Option<SystemOrderType>, StoreError> {
    row.get::<Option<String>>(index)?.map(|name| Named::parse(&name)).transpose()
}

pub(crate) fn order_row(o: &OrderRecord, row: &mut Vec<Value>) -> Result<(), StoreError> {
    row.extend([
        int("order id", o.id.0)?.into(),
        int("account id", o.account.0)?.into(),
        i64::from(o.market.0).into(),
        client_id(o.client_id),
        o.side.name().into(),
        o.limit.map(|p| p.0).into(),
        o.quantity.map(|q| q.0).into(),
        o.quote_quantity.map(|q| q.0).into(),
        o.time_in_force.name().into(),
        o.self_trade_prevention.name().into(),
        o.status.name().into(),
        o.expiry_reason.map(Named::name).into(),
        o.executed.0.into(),
        o.executed_quote.0.into(),
        time(o.created_at)?,
        time(o.updated_at)?,
        o.system_order_type.map(Named::name).into(),
    ]);
    Ok(())
}

pub(crate) fn read_order(row: &Row) -> Result<OrderRecord, StoreError> {
    Ok(OrderRecord {
        id: OrderId(unsigned("order id", row.get(0)?)?),
        account: AccountId(unsigned("account id", row.get(1)?)?),
        market: read_market(row, 2)?,
        client_id: read_client_id(row, 3)?,
        side: read_name(row, 4)?,
        limit: row.get::<Option<i64>>(5)?.map(Ticks),
        quantity: row.get::<Option<i64>>(6)?.map(Lots),
        quote_quantity: row.get::<Option<i64>>(7)?.map(Amount),
        time_in_force: read_name(row, 8)?,
        self_trade_prevention: read_name(row, 9)?,
        status: read_name(row, 10)?,
        expiry_reason: row.get::<Option<String>>(11)?.map(|r| Named::parse(&r)).transpose()?,
        executed: Lots(row.get(12)?),
        executed_quote: Amount(row.get(13)?),
        created_at: read_time(row, 14)?,
        updated_at: read_time(row, 15)?,
        system_order_type: read_system_order_type(row, 16)?,
    })
}

pub(crate) fn fill_row(f: &FillRecord, row: &mut Vec<Value>) -> Result<(), StoreError> {
    row.extend([
        int("trade id", f.trade.0)?.into(),
        int("order id", f.order.0)?.into(),
        client_id(f.client_id),
        int("account id", f.account.0)?.into(),
        i64::from(f.market.0).into(),
        f.side.name().into(),
        f.price.0.into(),
        f.quantity.0.into(),
        f.fee.0.into(),
        f.is_maker.into(),
        time(f.time)?,
        f.system_order_type.map(Named::name).into(),
    ]);
    Ok(())
}

pub(crate) fn read_fill(row: &Row) -> Result<FillRecord, StoreError> {
    read_fill_at(row, 0)
}

/// A fill's columns in [`FILLS`] order, starting at `at`.
pub(crate) fn read_fill_at(row: &Row, at: usize) -> Result<FillRecord, StoreError> {
    Ok(FillRecord {
        trade: TradeId(unsigned("trade id", row.get(at)?)?),
        order: OrderId(unsigned("order id", row.get(at + 1)?)?),
        client_id: read_client_id(row, at + 2)?,
        account: AccountId(unsigned("account id", row.get(at + 3)?)?),
        market: read_market(row, at + 4)?,
        side: read_name(row, at + 5)?,
        price: Ticks(row.get(at + 6)?),
        quantity: Lots(row.get(at + 7)?),
        fee: Amount(row.get(at + 8)?),
        is_maker: row.get(at + 9)?,
        time: read_time(row, at + 10)?,
        system_order_type: read_system_order_type(row, at + 11)?,
    })
}

pub(crate) fn trade_row(t: &TradeRecord, row: &mut Vec<Value>) -> Result<(), StoreError> {
    row.extend([
        int("trade id", t.id.0)?.into(),
        i64::from(t.market.0).into(),
        t.price.0.into(),
        t.quantity.0.into(),
        t.quote.0.into(),
        t.buyer_is_maker.into(),
        time(t.time)?,
    ]);
    Ok(())
}

pub(crate) fn read_trade(row: &Row) -> Result<TradeRecord, StoreError> {
    Ok(TradeRecord {
        id: TradeId(unsigned("trade id", row.get(0)?)?),
        market: read_market(row, 1)?,
        price: Ticks(row.get(2)?),
        quantity: Lots(row.get(3)?),
        quote: Amount(row.get(4)?),
        buyer_is_maker: row.get(5)?,
        time: read_time(row, 6)?,
    })
}

pub(crate) fn transfer_row(t: &PlacedTransfer, row: &mut Vec<Value>) -> Result<(), StoreError> {
    let r = &t.record;
    row.extend([
        r.kind.name().into(),
        int("account id", r.account.0)?.into(),
        i64::from(r.asset.0).into(),
        r.amount.0.into(),
        Value::Bytes(r.tx.0.to_vec()),
        int("sequence number", r.seq.0)?.into(),
        time(r.time)?,
        int("event position", t.position)?.into(),
    ]);
    Ok(())
}

pub(crate) fn read_transfer(row: &Row) -> Result<TransferRecord, StoreError> {
    Ok(TransferRecord {
        kind: read_name::<TransferKind>(row, 0)?,
        account: AccountId(unsigned("account id", row.get(1)?)?),
        asset: narrow("asset id", row.get(2)?).map(AssetId)?,
        amount: Amount(row.get(3)?),
        tx: tx(&row.get::<Vec<u8>>(4)?)?,
        seq: Seq(unsigned("sequence number", row.get(5)?)?),
        time: read_time(row, 6)?,
    })
}

pub(crate) fn candle_row((market, start): &MinuteKey, c: &Piece, row: &mut Vec<Value>) -> Result<(), StoreError> {
    row.extend([
        i64::from(market.0).into(),
        int("candle start", *start)?.into(),
        c.open.0.into(),
        c.high.0.into(),
        c.low.0.into(),
        c.close.0.into(),
        c.volume.0.into(),
        c.quote_volume.0.into(),
        int("candle trade count", c.trades)?.into(),
        int("trade id", c.first_trade.0)?.into(),
        int("trade id", c.last_trade.0)?.into(),
    ]);
    Ok(())
}

/// A stored one-minute candle as (market, start second, piece).
pub(crate) fn read_candle(row: &Row) -> Result<(MarketId, u64, Piece), StoreError> {
    let piece = Piece {
        open: Ticks(row.get(2)?),
        high: Ticks(row.get(3)?),
        low: Ticks(row.get(4)?),
        close: Ticks(row.get(5)?),
        volume: Lots(row.get(6)?),
        quote_volume: Amount(row.get(7)?),
        trades: unsigned("candle trade count", row.get(8)?)?,
        first_trade: TradeId(unsigned("trade id", row.get(9)?)?),
        last_trade: TradeId(unsigned("trade id", row.get(10)?)?),
    };
    Ok((read_market(row, 0)?, unsigned("candle start", row.get(1)?)?, piece))
}
