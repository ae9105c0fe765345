//! The money market's history: each movement between an account and a pool, each hour's
//! interest charge on a pool, and from the two an account's interest payments.
//!
//! Interest is charged on pool totals, not accounts, so the store keeps what the engine keeps:
//! per hour the pool's totals after the charge, and per movement the account's shares after it.
//! An account's payment in an hour is what its shares were worth after the charge minus before,
//! rounded as the engine rounds (lends down, debts up), computed when asked.

use rucksack_types::{
    AccountId, Amount, AssetId, BorrowLendAction, BorrowLendSource, Fraction, InterestCharge, Seq, Timestamp,
    money::{Rounding, mul_div},
};

use crate::StoreError;
use crate::columns::{Named, int, narrow, read_wide, unsigned, wide};
use crate::records::{Page, SortDirection};
use crate::sql::{Pool, Row, Value};
use crate::tables::Table;

/// One movement between an account and a pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolMovementRecord {
    pub seq: Seq,
    /// The event's index within its command.
    pub position: u64,
    pub account: AccountId,
    pub asset: AssetId,
    pub action: BorrowLendAction,
    pub source: BorrowLendSource,
    pub amount: Amount,
    pub entry_fee: Amount,
    /// The account's shares after the movement: positive a lend, negative a borrow.
    pub shares: i128,
    /// What those shares were worth then, in the asset's units, signed like `shares`.
    pub value: i128,
    pub time: Timestamp,
}

/// One hour's interest charge on a pool and the pool's totals after it, and the command that
/// charged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolHourRecord {
    pub seq: Seq,
    pub charge: InterestCharge,
}

impl PoolMovementRecord {
    /// Backpack's `BorrowLendEventType` of the movement.
    pub fn event_type(&self) -> &'static str {
        self.action.name()
    }
}

/// Why an account paid or earned interest (Backpack's `paymentType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentKind {
    EntryFee,
    Borrow,
    Lend,
}

impl PaymentKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            PaymentKind::EntryFee => "EntryFee",
            PaymentKind::Borrow => "Borrow",
            PaymentKind::Lend => "Lend",
        }
    }
}

/// One interest payment: negative when the account paid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterestPayment {
    pub kind: PaymentKind,
    pub asset: AssetId,
    pub annual_rate: Fraction,
    pub quantity: i128,
    pub time: Timestamp,
}

/// An account's movements or payments, optionally of one asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolQuery {
    pub account: AccountId,
    pub asset: Option<AssetId>,
    pub page: Page,
}

pub(crate) const POOL_MOVEMENTS: Table = Table {
    name: "pool_movements",
    columns: &[
        "seq",
        "position",
        "account",
        "asset",
        "action",
        "source",
        "amount",
        "entry_fee",
        "shares",
        "value",
        "time",
    ],
    on_conflict: "",
};

pub(crate) const POOL_HOURS: Table = Table {
    name: "pool_hours",
    columns: &[
        "asset",
        "hour",
        "seq",
        "utilization",
        "borrow_rate",
        "lend_rate",
        "interest",
        "fee",
        "dust",
        "lent",
        "lend_shares",
        "borrowed",
        "borrow_shares",
    ],
    on_conflict: "",
};

fn read_shares(row: &Row, index: usize) -> Result<i128, StoreError> {
    read_wide("a share count", row, index)
}

pub(crate) fn movement_row(m: &PoolMovementRecord, row: &mut Vec<Value>) -> Result<(), StoreError> {
    row.extend([
        int("sequence number", m.seq.0)?.into(),
        int("event position", m.position)?.into(),
        int("account id", m.account.0)?.into(),
        i64::from(m.asset.0).into(),
        m.action.name().into(),
        m.source.name().into(),
        m.amount.0.into(),
        m.entry_fee.0.into(),
        wide(m.shares),
        wide(m.value),
        int("time", m.time.0)?.into(),
    ]);
    Ok(())
}

fn read_movement(row: &Row) -> Result<PoolMovementRecord, StoreError> {
    Ok(PoolMovementRecord {
        seq: Seq(unsigned("sequence number", row.get(0)?)?),
        position: unsigned("event position", row.get(1)?)?,
        account: AccountId(unsigned("account id", row.get(2)?)?),
        asset: AssetId(narrow("asset id", row.get(3)?)?),
        action: BorrowLendAction::parse(&row.get::<String>(4)?)?,
        source: BorrowLendSource::parse(&row.get::<String>(5)?)?,
        amount: Amount(row.get(6)?),
        entry_fee: Amount(row.get(7)?),
        shares: read_shares(row, 8)?,
        value: read_shares(row, 9)?,
        time: Timestamp(unsigned("time", row.get(10)?)?),
    })
}

pub(crate) fn hour_row(record: &PoolHourRecord, row: &mut Vec<Value>) -> Result<(), StoreError> {
    let h = &record.charge;
    row.extend([
        i64::from(h.asset.0).into(),
        int("hour", h.hour.0)?.into(),
        int("sequence number", record.seq.0)?.into(),
        h.utilization.0.into(),
        h.borrow_rate.0.into(),
        h.lend_rate.0.into(),
        h.interest.0.into(),
        h.fee.0.into(),
        h.dust.0.into(),
        h.lent.0.into(),
        wide(h.lend_shares),
        h.borrowed.0.into(),
        wide(h.borrow_shares),
    ]);
    Ok(())
}

fn read_hour(row: &Row) -> Result<PoolHourRecord, StoreError> {
    let seq = Seq(unsigned("sequence number", row.get(2)?)?);
    let charge = InterestCharge {
        asset: AssetId(narrow("asset id", row.get(0)?)?),
        hour: Timestamp(unsigned("hour", row.get(1)?)?),
        utilization: Fraction(row.get(3)?),
        borrow_rate: Fraction(row.get(4)?),
        lend_rate: Fraction(row.get(5)?),
        interest: Amount(row.get(6)?),
        fee: Amount(row.get(7)?),
        dust: Amount(row.get(8)?),
        lent: Amount(row.get(9)?),
        lend_shares: read_shares(row, 10)?,
        borrowed: Amount(row.get(11)?),
        borrow_shares: read_shares(row, 12)?,
    };
    Ok(PoolHourRecord { seq, charge })
}

impl Named for BorrowLendAction {
    const WHAT: &'static str = "borrow-lend action";
    const ALL: &'static [BorrowLendAction] =
        &[BorrowLendAction::Borrow, BorrowLendAction::Repay, BorrowLendAction::Lend, BorrowLendAction::Redeem];

    /// Backpack's `BorrowLendEventType`.
    fn name(self) -> &'static str {
        match self {
            BorrowLendAction::Borrow => "Borrow",
            BorrowLendAction::Repay => "BorrowRepay",
            BorrowLendAction::Lend => "Lend",
            BorrowLendAction::Redeem => "LendRedeem",
        }
    }
}

impl Named for BorrowLendSource {
    const WHAT: &'static str = "borrow-lend source";
    const ALL: &'static [BorrowLendSource] = &[
        BorrowLendSource::Manual,
        BorrowLendSource::AutoLend,
        BorrowLendSource::AutoBorrowRepay,
        BorrowLendSource::SpotMargin,
        BorrowLendSource::Withdrawal,
        BorrowLendSource::Reconciliation,
        BorrowLendSource::Liquidation,
        BorrowLendSource::AdlProvider,
    ];

    fn name(self) -> &'static str {
        self.as_str()
    }
}

fn asset_filter(query: &PoolQuery) -> Result<(String, Vec<Value>), StoreError> {
    let mut values: Vec<Value> = vec![int("account id", query.account.0)?.into()];
    let mut condition = "account = $1".to_string();
    if let Some(asset) = query.asset {
        values.push(i64::from(asset.0).into());
        condition.push_str(" AND asset = $2");
    }
    Ok((condition, values))
}

/// An account's movements, paged in sequence order.
pub(crate) async fn movements(pool: &Pool, query: &PoolQuery) -> Result<Vec<PoolMovementRecord>, StoreError> {
    let (condition, mut values) = asset_filter(query)?;
    let direction = query.page.direction.sql();
    values.push(i64::from(query.page.limit).into());
    values.push(i64::try_from(query.page.offset).unwrap_or(i64::MAX).into());
    let sql = format!(
        "SELECT {} FROM pool_movements WHERE {condition} ORDER BY seq {direction}, position {direction} \
         LIMIT ${} OFFSET ${}",
        POOL_MOVEMENTS.select_list(),
        values.len() - 1,
        values.len()
    );
    pool.fetch(&sql, &values).await?.iter().map(read_movement).collect()
}

/// A pool's hours from `from` on (inclusive), oldest first, at most `limit`.
pub(crate) async fn hours(
    pool: &Pool,
    asset: AssetId,
    from: Timestamp,
    limit: u32,
) -> Result<Vec<PoolHourRecord>, StoreError> {
    let sql = format!(
        "SELECT {} FROM pool_hours WHERE asset = $1 AND hour >= $2 ORDER BY hour ASC LIMIT $3",
        POOL_HOURS.select_list()
    );
    let values = [i64::from(asset.0).into(), i64::try_from(from.0).unwrap_or(i64::MAX).into(), i64::from(limit).into()];
    pool.fetch(&sql, &values).await?.iter().map(read_hour).collect()
}

/// The hours at most this many a single interest query reads per asset (a year).
const HOURS_READ: u32 = 24 * 366;

/// An account's interest payments: entry fees from its borrows and, for every hour it held a
/// position, its part of that hour's charge. Paged by time.
pub(crate) async fn payments(pool: &Pool, query: &PoolQuery) -> Result<Vec<InterestPayment>, StoreError> {
    let every = PoolQuery { page: Page { limit: u32::MAX, offset: 0, direction: SortDirection::Asc }, ..*query };
    let moves = movements(pool, &every).await?;
    let mut assets: Vec<AssetId> = moves.iter().map(|m| m.asset).collect();
    assets.sort_unstable();
    assets.dedup();
    let mut payments: Vec<InterestPayment> = moves
        .iter()
        .filter(|m| m.entry_fee.is_positive())
        .map(|m| InterestPayment {
            kind: PaymentKind::EntryFee,
            asset: m.asset,
            annual_rate: Fraction::ZERO,
            quantity: -i128::from(m.entry_fee.0),
            time: m.time,
        })
        .collect();
    for asset in assets {
        let history: Vec<&PoolMovementRecord> = moves.iter().filter(|m| m.asset == asset).collect();
        let Some(first) = history.first() else { continue };
        for hour in hours(pool, asset, first.time, HOURS_READ).await? {
            // The account's shares when the hour was charged: after its last earlier movement.
            let held = history.iter().take_while(|m| m.seq < hour.seq).last().map_or(0, |m| m.shares);
            if let Some(payment) = hour_payment(&hour.charge, held) {
                payments.push(payment);
            }
        }
    }
    payments.sort_by_key(|p| p.time);
    if query.page.direction == SortDirection::Desc {
        payments.reverse();
    }
    let start = usize::try_from(query.page.offset).unwrap_or(usize::MAX).min(payments.len());
    let end = start.saturating_add(query.page.limit as usize).min(payments.len());
    Ok(payments[start..end].to_vec())
}

/// What `shares` (positive: a lend, negative: a borrow) earned or paid in `hour`.
fn hour_payment(hour: &InterestCharge, shares: i128) -> Option<InterestPayment> {
    let value = |shares: i128, total: i128, of: i128, rounding| mul_div(shares, total, of, rounding).ok();
    let (kind, quantity, rate) = if shares > 0 && hour.lend_shares > 0 {
        let after = value(shares, i128::from(hour.lent.0), hour.lend_shares, Rounding::Down)?;
        let before = value(shares, i128::from(hour.lent.0) - hour.lenders_part(), hour.lend_shares, Rounding::Down)?;
        (PaymentKind::Lend, after - before, hour.lend_rate)
    } else if shares < 0 && hour.borrow_shares > 0 {
        let after = value(-shares, i128::from(hour.borrowed.0), hour.borrow_shares, Rounding::Up)?;
        let before = value(-shares, i128::from(hour.borrowed.0 - hour.interest.0), hour.borrow_shares, Rounding::Up)?;
        (PaymentKind::Borrow, before - after, hour.borrow_rate)
    } else {
        return None;
    };
    Some(InterestPayment { kind, asset: hour.asset, annual_rate: rate, quantity, time: hour.hour })
}

/// Every pool's hours between two times, oldest first (the borrow-lend markets' history).
pub(crate) async fn market_hours(
    pool: &Pool,
    asset: Option<AssetId>,
    from: Timestamp,
) -> Result<Vec<PoolHourRecord>, StoreError> {
    let from_value: Value = i64::try_from(from.0).unwrap_or(i64::MAX).into();
    let (sql, values) = match asset {
        Some(asset) => (
            format!(
                "SELECT {} FROM pool_hours WHERE asset = $1 AND hour >= $2 ORDER BY hour ASC, asset ASC",
                POOL_HOURS.select_list()
            ),
            vec![i64::from(asset.0).into(), from_value],
        ),
        None => (
            format!(
                "SELECT {} FROM pool_hours WHERE hour >= $1 ORDER BY hour ASC, asset ASC",
                POOL_HOURS.select_list()
            ),
            vec![from_value],
        ),
    };
    pool.fetch(&sql, &values).await?.iter().map(read_hour).collect()
}
