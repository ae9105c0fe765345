//! Liquidations' history: the positions the risk engine moved outside the book (to backstop
//! providers and deleveraged accounts), kept as fills of both accounts, and every change of the
//! insurance fund with the balance after it. Which orders the exchange placed is a column of the
//! orders and fills themselves.

use rucksack_types::{
    AccountId, Amount, AssetId, FinePrice, InsuranceChange, InsuranceReason, Lots, MarketId, PositionTransfer, Seq,
    Side, SystemOrderType, Timestamp, TradeId,
};

use crate::StoreError;
use crate::columns::{Named, int, narrow, read_wide, unsigned, wide};
use crate::records::Page;
use crate::sql::{Pool, Row, Value};
use crate::tables::Table;

/// One account's side of a position moved outside the book: a backstop or ADL transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionTransferRecord {
    /// Numbered with the market's trades.
    pub trade: TradeId,
    pub seq: Seq,
    /// The transfer event's index within its command.
    pub position: u64,
    pub kind: SystemOrderType,
    pub account: AccountId,
    /// The account on the other side.
    pub counterparty: AccountId,
    pub market: MarketId,
    /// As this account traded: `Ask` when it gave lots up.
    pub side: Side,
    pub quantity: Lots,
    /// Exactly as the engine moved it, in fine units (10^-12 of a tick).
    pub price: FinePrice,
    pub time: Timestamp,
}

impl PositionTransferRecord {
    /// Both accounts' sides of `transfer`: `lots` is from `from`'s side, negative when it sold.
    pub(crate) fn both_sides(
        transfer: &PositionTransfer,
        seq: Seq,
        position: u64,
        time: Timestamp,
    ) -> Result<[PositionTransferRecord; 2], StoreError> {
        let quantity = Lots(transfer.lots.checked_abs().ok_or(StoreError::Overflow("a transfer's lots"))?);
        let from_side = if transfer.lots < 0 { Side::Ask } else { Side::Bid };
        let side = |account, counterparty, side| PositionTransferRecord {
            trade: transfer.trade,
            seq,
            position,
            kind: transfer.kind,
            account,
            counterparty,
            market: transfer.market,
            side,
            quantity,
            price: transfer.price,
            time,
        };
        Ok([side(transfer.from, transfer.to, from_side), side(transfer.to, transfer.from, from_side.opposite())])
    }
}

/// One change of the insurance fund.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsuranceRecord {
    pub seq: Seq,
    /// The event's index within its command.
    pub position: u64,
    pub asset: AssetId,
    /// The account liquidated, or the one that contributed.
    pub account: AccountId,
    pub reason: InsuranceReason,
    /// Negative when the fund paid out.
    pub change: Amount,
    /// The fund's balance of the asset after the change.
    pub balance: Amount,
    pub time: Timestamp,
}

impl InsuranceRecord {
    pub(crate) fn of(change: &InsuranceChange, seq: Seq, position: u64, time: Timestamp) -> InsuranceRecord {
        let InsuranceChange { asset, account, reason, change, balance } = *change;
        InsuranceRecord { seq, position, asset, account, reason, change, balance, time }
    }
}

/// The insurance fund's changes, of one asset or all, sorted by sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InsuranceQuery {
    pub asset: Option<AssetId>,
    pub page: Page,
}

pub(crate) const POSITION_TRANSFERS: Table = Table {
    name: "position_transfers",
    columns: &[
        "seq",
        "position",
        "side",
        "account",
        "counterparty",
        "market",
        "system_order_type",
        "quantity",
        "price",
        "time",
        "trade_id",
    ],
    on_conflict: "",
};

pub(crate) const INSURANCE_FUND: Table = Table {
    name: "insurance_fund",
    columns: &["seq", "position", "asset", "account", "reason", "change", "balance", "time"],
    on_conflict: "",
};

pub(crate) fn transfer_row(t: &PositionTransferRecord, row: &mut Vec<Value>) -> Result<(), StoreError> {
    row.extend([
        int("sequence number", t.seq.0)?.into(),
        int("event position", t.position)?.into(),
        t.side.name().into(),
        int("account id", t.account.0)?.into(),
        int("account id", t.counterparty.0)?.into(),
        i64::from(t.market.0).into(),
        t.kind.name().into(),
        t.quantity.0.into(),
        wide(t.price.0),
        int("time", t.time.0)?.into(),
        int("trade id", t.trade.0)?.into(),
    ]);
    Ok(())
}

/// A transfer's row of the fill history, in `read::FILL_HISTORY_COLUMNS` order.
pub(crate) fn read_listed_transfer(row: &Row) -> Result<PositionTransferRecord, StoreError> {
    Ok(PositionTransferRecord {
        trade: TradeId(unsigned("trade id", row.get(1)?)?),
        account: AccountId(unsigned("account id", row.get(4)?)?),
        market: MarketId(narrow("market id", row.get(5)?)?),
        side: Side::parse(&row.get::<String>(6)?)?,
        quantity: Lots(row.get(8)?),
        time: Timestamp(unsigned("time", row.get(11)?)?),
        kind: SystemOrderType::parse(&row.get::<String>(12)?)?,
        seq: Seq(unsigned("sequence number", row.get(13)?)?),
        position: unsigned("event position", row.get(14)?)?,
        counterparty: AccountId(unsigned("account id", row.get(15)?)?),
        price: FinePrice(read_wide("a transfer price", row, 16)?),
    })
}

pub(crate) fn insurance_row(r: &InsuranceRecord, row: &mut Vec<Value>) -> Result<(), StoreError> {
    row.extend([
        int("sequence number", r.seq.0)?.into(),
        int("event position", r.position)?.into(),
        i64::from(r.asset.0).into(),
        int("account id", r.account.0)?.into(),
        r.reason.name().into(),
        r.change.0.into(),
        r.balance.0.into(),
        int("time", r.time.0)?.into(),
    ]);
    Ok(())
}

fn read_insurance(row: &Row) -> Result<InsuranceRecord, StoreError> {
    Ok(InsuranceRecord {
        seq: Seq(unsigned("sequence number", row.get(0)?)?),
        position: unsigned("event position", row.get(1)?)?,
        asset: AssetId(narrow("asset id", row.get(2)?)?),
        account: AccountId(unsigned("account id", row.get(3)?)?),
        reason: InsuranceReason::parse(&row.get::<String>(4)?)?,
        change: Amount(row.get(5)?),
        balance: Amount(row.get(6)?),
        time: Timestamp(unsigned("time", row.get(7)?)?),
    })
}

/// The fund's changes, paged in sequence order.
pub(crate) async fn insurance(pool: &Pool, query: &InsuranceQuery) -> Result<Vec<InsuranceRecord>, StoreError> {
    let mut filter = crate::read::Filter::default();
    match query.asset {
        Some(asset) => filter.and("asset =", i64::from(asset.0)),
        None => filter.holds("TRUE"),
    };
    let (sql, values) =
        filter.select(&INSURANCE_FUND.select_list(), INSURANCE_FUND.name, &["seq", "position"], query.page);
    crate::read::decode(pool.fetch(&sql, &values).await?, read_insurance)
}
