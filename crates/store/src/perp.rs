//! Perpetual futures' history: each market's funding at each interval end, the money each
//! realization moved between a position and its account (split by where it came from), and each
//! position's lifetime from leaving zero to returning to it.
//!
//! Values stay in the engine's units: sizes in lots, entry values and PnL in fine units (10^-12
//! of a tick times a lot), settlements in quote units. The store knows no market scales; the
//! API converts with the market's.
//!
//! An account's funding payments are not stored apart: they are its `FundingPayment`
//! settlements, each shown with the market's latest funding at or before it.

pub(crate) mod fold;
#[cfg(test)]
mod tests;

use rucksack_types::{AccountId, Amount, FinePrice, Fraction, MarketId, Seq, Timestamp};

pub(crate) use fold::{PerpProjection, PositionRow};

use crate::StoreError;
use crate::columns::{Named, int, narrow, read_wide, unsigned, wide};
use crate::read::{Filter, account_filter, decode, stored};
use crate::records::Page;
use crate::sql::{Pool, Row, Value};
use crate::tables::Table;

/// One funding interval of a market, as the command that ended it paid it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundingRateRecord {
    pub market: MarketId,
    pub interval_end: Timestamp,
    pub rate: Fraction,
    pub mark: FinePrice,
    /// Fine units a long position paid per lot (a short received them; negative: the reverse).
    pub per_lot: i128,
    /// The market's running sum of `per_lot`.
    pub cumulative: i128,
    pub seq: Seq,
}

/// Where a settled amount came from (Backpack's settlement `source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SettlementSource {
    /// The position's trading PnL: what was realized less fees and funding.
    RealizePnl,
    TradingFees,
    FundingPayment,
}

impl SettlementSource {
    pub const ALL: [SettlementSource; 3] =
        [SettlementSource::RealizePnl, SettlementSource::TradingFees, SettlementSource::FundingPayment];

    pub const fn as_str(self) -> &'static str {
        match self {
            SettlementSource::RealizePnl => "RealizePnl",
            SettlementSource::TradingFees => "TradingFees",
            SettlementSource::FundingPayment => "FundingPayment",
        }
    }

    /// The source of a Backpack filter name; `None` for a name rucksack never settles by.
    pub fn from_name(name: &str) -> Option<SettlementSource> {
        SettlementSource::ALL.into_iter().find(|source| source.as_str() == name)
    }
}

/// One part of one realization: quote units moved to the account (negative: from it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementRecord {
    pub seq: Seq,
    /// The realization event's index within its command.
    pub position: u64,
    pub account: AccountId,
    pub market: MarketId,
    pub source: SettlementSource,
    pub quantity: Amount,
    pub time: Timestamp,
}

/// An account's settlements, optionally from one source, sorted by (seq, position, source).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettlementQuery {
    pub account: AccountId,
    pub source: Option<SettlementSource>,
    pub page: Page,
}

/// Funding an account settled: positive when it received it. `rate` and `interval_end` are the
/// market's latest funding at or before the settlement (`None` if the stored history holds
/// none); a settlement covering several intervals shows the last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundingPaymentRecord {
    pub seq: Seq,
    pub position: u64,
    pub account: AccountId,
    pub market: MarketId,
    pub quantity: Amount,
    pub rate: Option<Fraction>,
    pub interval_end: Option<Timestamp>,
    pub time: Timestamp,
}

/// An account's funding payments, optionally in one market, sorted by (seq, position).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FundingPaymentQuery {
    pub account: AccountId,
    pub market: Option<MarketId>,
    pub page: Page,
}

/// A position's lifetime is named by the fill that opened it: its command and event index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PositionId {
    pub seq: Seq,
    pub position: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PositionState {
    Open,
    Closed,
}

impl PositionState {
    /// Backpack's position `state`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PositionState::Open => "Open",
            PositionState::Closed => "Closed",
        }
    }
}

/// One position's lifetime: from the fill that took its size off zero to the fill that brought
/// it back to zero or past it (a flip closes one lifetime and opens the next).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionRecord {
    pub id: PositionId,
    pub account: AccountId,
    pub market: MarketId,
    /// Lots, positive long, negative short: the latest size while open. A closed position keeps
    /// the size it had before the fill that closed it, so its side and entry stay readable.
    pub size: i64,
    /// The cost of `size` at its average entry price, fine units (negative for a short).
    pub entry_value: i128,
    /// PnL of closing fills against the average entry during this lifetime, fine units (fees
    /// and funding excluded).
    pub realized_pnl: i128,
    /// Trading fees of the lifetime's fills, quote units (negative: rebates). A flipping fill's
    /// fee is split by the lots that closed and opened, the rounding to the new position.
    pub fees: Amount,
    /// Lots the lifetime's fills and transfers closed.
    pub closed_volume: i64,
    /// Of those, the lots the account's own liquidation closed: its book steps, and the
    /// backstop and auto-deleveraging transfers that took its position.
    pub liquidated: i64,
    /// Liquidation fees the lifetime's liquidation steps paid to the insurance fund, quote units.
    pub liquidation_fees: Amount,
    pub opened_at: Timestamp,
    pub closed_at: Option<Timestamp>,
}

impl PositionRecord {
    pub const fn state(&self) -> PositionState {
        if self.closed_at.is_some() { PositionState::Closed } else { PositionState::Open }
    }
}

/// An account's positions, optionally of one market and one state, sorted by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PositionQuery {
    pub account: AccountId,
    pub market: Option<MarketId>,
    pub state: Option<PositionState>,
    pub page: Page,
}

pub(crate) const FUNDING_RATES: Table = Table {
    name: "funding_rates",
    columns: &["market", "interval_end", "seq", "rate", "mark", "per_lot", "cumulative"],
    on_conflict: "",
};

pub(crate) const SETTLEMENTS: Table = Table {
    name: "settlements",
    columns: &["seq", "position", "source", "account", "market", "quantity", "time"],
    on_conflict: "",
};

/// A position row is written when it opens and rewritten as later fills change it.
pub(crate) const PERP_POSITIONS: Table = Table {
    name: "perp_positions",
    columns: &[
        "seq",
        "position",
        "account",
        "market",
        "size",
        "entry_value",
        "realized_pnl",
        "pnl_base",
        "fees",
        "opened_at",
        "closed_at",
        "closed_volume",
        "liquidated",
        "liquidation_fees",
    ],
    on_conflict: " ON CONFLICT (seq, position) DO UPDATE SET size = excluded.size, \
                  entry_value = excluded.entry_value, realized_pnl = excluded.realized_pnl, \
                  fees = excluded.fees, closed_at = excluded.closed_at, \
                  closed_volume = excluded.closed_volume, liquidated = excluded.liquidated, \
                  liquidation_fees = excluded.liquidation_fees",
};

impl Named for SettlementSource {
    const WHAT: &'static str = "settlement source";
    const ALL: &'static [SettlementSource] = &SettlementSource::ALL;

    fn name(self) -> &'static str {
        self.as_str()
    }
}

fn read_market(row: &Row, index: usize) -> Result<MarketId, StoreError> {
    narrow("market id", row.get(index)?).map(MarketId)
}

fn read_time(row: &Row, index: usize) -> Result<Timestamp, StoreError> {
    Ok(Timestamp(unsigned("time", row.get(index)?)?))
}

pub(crate) fn funding_row(f: &FundingRateRecord, row: &mut Vec<Value>) -> Result<(), StoreError> {
    row.extend([
        i64::from(f.market.0).into(),
        int("interval end", f.interval_end.0)?.into(),
        int("sequence number", f.seq.0)?.into(),
        f.rate.0.into(),
        wide(f.mark.0),
        wide(f.per_lot),
        wide(f.cumulative),
    ]);
    Ok(())
}

fn read_funding(row: &Row) -> Result<FundingRateRecord, StoreError> {
    Ok(FundingRateRecord {
        market: read_market(row, 0)?,
        interval_end: Timestamp(unsigned("interval end", row.get(1)?)?),
        seq: Seq(unsigned("sequence number", row.get(2)?)?),
        rate: Fraction(row.get(3)?),
        mark: FinePrice(read_wide("a mark price", row, 4)?),
        per_lot: read_wide("funding per lot", row, 5)?,
        cumulative: read_wide("cumulative funding", row, 6)?,
    })
}

pub(crate) fn settlement_row(s: &SettlementRecord, row: &mut Vec<Value>) -> Result<(), StoreError> {
    row.extend([
        int("sequence number", s.seq.0)?.into(),
        int("event position", s.position)?.into(),
        s.source.name().into(),
        int("account id", s.account.0)?.into(),
        i64::from(s.market.0).into(),
        s.quantity.0.into(),
        int("time", s.time.0)?.into(),
    ]);
    Ok(())
}

fn read_settlement(row: &Row) -> Result<SettlementRecord, StoreError> {
    Ok(SettlementRecord {
        seq: Seq(unsigned("sequence number", row.get(0)?)?),
        position: unsigned("event position", row.get(1)?)?,
        source: Named::parse(&row.get::<String>(2)?)?,
        account: AccountId(unsigned("account id", row.get(3)?)?),
        market: read_market(row, 4)?,
        quantity: Amount(row.get(5)?),
        time: read_time(row, 6)?,
    })
}

pub(crate) fn position_row(p: &PositionRow, row: &mut Vec<Value>) -> Result<(), StoreError> {
    let r = &p.record;
    let closed_at = r.closed_at.map(|t| int("time", t.0)).transpose()?;
    row.extend([
        int("sequence number", r.id.seq.0)?.into(),
        int("event position", r.id.position)?.into(),
        int("account id", r.account.0)?.into(),
        i64::from(r.market.0).into(),
        r.size.into(),
        wide(r.entry_value),
        wide(r.realized_pnl),
        wide(p.pnl_base),
        r.fees.0.into(),
        int("time", r.opened_at.0)?.into(),
        closed_at.into(),
        r.closed_volume.into(),
        r.liquidated.into(),
        r.liquidation_fees.0.into(),
    ]);
    Ok(())
}

pub(crate) fn read_position(row: &Row) -> Result<PositionRow, StoreError> {
    let record = PositionRecord {
        id: PositionId {
            seq: Seq(unsigned("sequence number", row.get(0)?)?),
            position: unsigned("event position", row.get(1)?)?,
        },
        account: AccountId(unsigned("account id", row.get(2)?)?),
        market: read_market(row, 3)?,
        size: row.get(4)?,
        entry_value: read_wide("an entry value", row, 5)?,
        realized_pnl: read_wide("a realized PnL", row, 6)?,
        fees: Amount(row.get(8)?),
        opened_at: read_time(row, 9)?,
        closed_at: row.get::<Option<i64>>(10)?.map(|t| unsigned("time", t).map(Timestamp)).transpose()?,
        closed_volume: row.get(11)?,
        liquidated: row.get(12)?,
        liquidation_fees: Amount(row.get(13)?),
    };
    Ok(PositionRow { record, pnl_base: read_wide("a realized PnL", row, 7)? })
}

/// A market's funding intervals, sorted by interval end.
pub(crate) async fn funding_rates(
    pool: &Pool,
    market: MarketId,
    page: Page,
) -> Result<Vec<FundingRateRecord>, StoreError> {
    let mut filter = Filter::default();
    filter.and("market =", i64::from(market.0));
    let (sql, values) = filter.select(&FUNDING_RATES.select_list(), FUNDING_RATES.name, &["interval_end"], page);
    decode(pool.fetch(&sql, &values).await?, read_funding)
}

/// A market's latest funding paid by command `at` or earlier.
pub(crate) async fn latest_funding(
    pool: &Pool,
    market: MarketId,
    at: Seq,
) -> Result<Option<FundingRateRecord>, StoreError> {
    let sql = format!(
        "SELECT {} FROM funding_rates WHERE market = $1 AND seq <= $2 ORDER BY seq DESC, interval_end DESC LIMIT 1",
        FUNDING_RATES.select_list()
    );
    // A seq beyond the stored range is after every stored row.
    let values = [i64::from(market.0).into(), stored(at.0).unwrap_or(i64::MAX).into()];
    pool.fetch(&sql, &values).await?.first().map(read_funding).transpose()
}

pub(crate) async fn settlements(pool: &Pool, query: &SettlementQuery) -> Result<Vec<SettlementRecord>, StoreError> {
    let Some(mut filter) = account_filter(query.account, None, None, "") else {
        return Ok(Vec::new());
    };
    if let Some(source) = query.source {
        filter.and("source =", source.name());
    }
    let order = ["seq", "position", "source"];
    let (sql, values) = filter.select(&SETTLEMENTS.select_list(), SETTLEMENTS.name, &order, query.page);
    decode(pool.fetch(&sql, &values).await?, read_settlement)
}

/// The market's latest funding at or before a settlement row, one column of it.
fn funding_at_settlement(column: &str) -> String {
    format!(
        "(SELECT f.{column} FROM funding_rates f WHERE f.market = settlements.market AND f.seq <= settlements.seq \
         ORDER BY f.seq DESC, f.interval_end DESC LIMIT 1)"
    )
}

pub(crate) async fn funding_payments(
    pool: &Pool,
    query: &FundingPaymentQuery,
) -> Result<Vec<FundingPaymentRecord>, StoreError> {
    let Some(mut filter) = account_filter(query.account, query.market, None, "") else {
        return Ok(Vec::new());
    };
    filter.and("source =", SettlementSource::FundingPayment.name());
    let columns = format!(
        "seq, position, account, market, quantity, time, {}, {}",
        funding_at_settlement("rate"),
        funding_at_settlement("interval_end")
    );
    let (sql, values) = filter.select(&columns, SETTLEMENTS.name, &["seq", "position"], query.page);
    decode(pool.fetch(&sql, &values).await?, read_funding_payment)
}

fn read_funding_payment(row: &Row) -> Result<FundingPaymentRecord, StoreError> {
    Ok(FundingPaymentRecord {
        seq: Seq(unsigned("sequence number", row.get(0)?)?),
        position: unsigned("event position", row.get(1)?)?,
        account: AccountId(unsigned("account id", row.get(2)?)?),
        market: read_market(row, 3)?,
        quantity: Amount(row.get(4)?),
        time: read_time(row, 5)?,
        rate: row.get::<Option<i64>>(6)?.map(Fraction),
        interval_end: row.get::<Option<i64>>(7)?.map(|t| unsigned("interval end", t).map(Timestamp)).transpose()?,
    })
}

pub(crate) async fn positions(pool: &Pool, query: &PositionQuery) -> Result<Vec<PositionRecord>, StoreError> {
    let Some(mut filter) = account_filter(query.account, query.market, None, "") else {
        return Ok(Vec::new());
    };
    match query.state {
        Some(PositionState::Open) => filter.holds("closed_at IS NULL"),
        Some(PositionState::Closed) => filter.holds("closed_at IS NOT NULL"),
        None => &mut filter,
    };
    let (sql, values) =
        filter.select(&PERP_POSITIONS.select_list(), PERP_POSITIONS.name, &["seq", "position"], query.page);
    let rows = pool.fetch(&sql, &values).await?;
    rows.iter().map(|row| read_position(row).map(|p| p.record)).collect()
}
