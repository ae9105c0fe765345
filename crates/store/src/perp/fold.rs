//! Perpetual events as rows: funding intervals and settlements are appended; a position's row
//! opens, changes and closes as its fills arrive.

use std::collections::{BTreeMap, BTreeSet};

use rucksack_types::{AccountId, Amount, Event, MarketId, PerpPosition, Seq, Timestamp};

use super::{FundingRateRecord, PositionId, PositionRecord, SettlementRecord, SettlementSource};
use crate::StoreError;
use crate::records::Applied;

/// A position row, and the position's realized PnL when the lifetime opened: the engine counts
/// realized PnL since the account's holding in the market was created, which can span several
/// lifetimes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PositionRow {
    pub record: PositionRecord,
    pub pnl_base: i128,
}

/// Where an event happened: its command, its index within it, and the command's time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Place {
    pub seq: Seq,
    pub position: u64,
    pub time: Timestamp,
}

/// An account's holding in a market.
pub(crate) type Holder = (AccountId, MarketId);

/// The holdings whose positions `commands` change: the writer loads their open rows first.
pub(crate) fn changed_positions(commands: &[Applied]) -> BTreeSet<Holder> {
    commands
        .iter()
        .flat_map(|c| &c.events)
        .filter_map(|event| match *event {
            Event::PositionChanged { account, market, .. } => Some((account, market)),
            _ => None,
        })
        .collect()
}

/// The perpetual rows a batch adds or changes.
#[derive(Debug, Default)]
pub(crate) struct PerpProjection {
    pub funding_rates: Vec<FundingRateRecord>,
    pub settlements: Vec<SettlementRecord>,
    /// Every position row the batch touched, as it stands after the batch, plus the open ones
    /// loaded for it. Written in id order, so a closed row is updated before the row that
    /// replaced it is inserted (at most one row per holding is open).
    pub positions: BTreeMap<PositionId, PositionRow>,
    /// The open row of each holding that has one.
    open: BTreeMap<Holder, PositionId>,
    /// The row each account's liquidation reduced last, which its liquidation fee is for.
    liquidated_last: BTreeMap<AccountId, PositionId>,
}

fn overflow<E>(what: &'static str) -> impl FnOnce(E) -> StoreError {
    move |_| StoreError::Overflow(what)
}

impl PerpProjection {
    /// A projection over the stored open rows of the holdings the batch changes.
    pub(crate) fn new(open: impl IntoIterator<Item = PositionRow>) -> PerpProjection {
        let mut projection = PerpProjection::default();
        for row in open {
            projection.open.insert((row.record.account, row.record.market), row.record.id);
            projection.positions.insert(row.record.id, row);
        }
        projection
    }

    pub(crate) fn funding_paid(&mut self, record: FundingRateRecord) {
        self.funding_rates.push(record);
    }

    /// A realization's parts, each non-zero one a row: the trading PnL is what is left of
    /// `realized` after `fees` and `funding`.
    pub(crate) fn realized(
        &mut self,
        place: Place,
        holder: Holder,
        realized: Amount,
        fees: Amount,
        funding: Amount,
    ) -> Result<(), StoreError> {
        let pnl = i128::from(realized.0) - i128::from(fees.0) - i128::from(funding.0);
        let pnl = Amount(i64::try_from(pnl).map_err(overflow("a realization's PnL part"))?);
        let parts = [
            (SettlementSource::RealizePnl, pnl),
            (SettlementSource::TradingFees, fees),
            (SettlementSource::FundingPayment, funding),
        ];
        for (source, quantity) in parts {
            if !quantity.is_zero() {
                self.settlements.push(SettlementRecord {
                    seq: place.seq,
                    position: place.position,
                    account: holder.0,
                    market: holder.1,
                    source,
                    quantity,
                    time: place.time,
                });
            }
        }
        Ok(())
    }

    /// A fill or transfer left the holding at `after`, paying `fee`; `liquidating`: the
    /// account's own liquidation made it. A holding with no open row opens one if the change
    /// left it with a size (history may start while a position is open: it is then seen from
    /// its next fill on).
    pub(crate) fn position_changed(
        &mut self,
        place: Place,
        holder: Holder,
        fee: Amount,
        after: &PerpPosition,
        liquidating: bool,
    ) -> Result<(), StoreError> {
        let Some(id) = self.open.get(&holder).copied() else {
            if after.size != 0 {
                self.open_row(place, holder, fee, after);
            }
            return Ok(());
        };
        let row = self
            .positions
            .get_mut(&id)
            .ok_or_else(|| StoreError::Corrupt(format!("open position {id:?} has no row")))?;
        let held = row.record.size;
        let realized = after.realized_pnl.checked_sub(row.pnl_base).ok_or(StoreError::Overflow("a realized PnL"))?;
        row.record.realized_pnl = realized;
        let same_side = after.size != 0 && (after.size > 0) == (held > 0);
        let closed = if same_side { (held.abs() - after.size.abs()).max(0) } else { held.abs() };
        let volume = || StoreError::Overflow("a position's closed volume");
        row.record.closed_volume = row.record.closed_volume.checked_add(closed).ok_or_else(volume)?;
        if liquidating && closed > 0 {
            row.record.liquidated = row.record.liquidated.checked_add(closed).ok_or_else(volume)?;
            self.liquidated_last.insert(holder.0, id);
        }
        if same_side {
            row.record.size = after.size;
            row.record.entry_value = after.entry_value;
            row.record.fees = row.record.fees.checked_add(fee).map_err(overflow("a position's fees"))?;
            return Ok(());
        }
        // Closed, to zero or past it. A flip's fee is shared by the lots that closed the old
        // position and those that opened the new one; the new one takes the rounding.
        let (held_lots, opened_lots) = (i128::from(held.unsigned_abs()), i128::from(after.size.unsigned_abs()));
        let closing = (i128::from(fee.0) * held_lots).checked_div(held_lots + opened_lots).unwrap_or(fee.0.into());
        let closing_fee = Amount(closing as i64);
        row.record.fees = row.record.fees.checked_add(closing_fee).map_err(overflow("a position's fees"))?;
        row.record.closed_at = Some(place.time);
        self.open.remove(&holder);
        if after.size != 0 {
            self.open_row(place, holder, Amount(fee.0 - closing_fee.0), after);
        }
        Ok(())
    }

    /// A liquidation fee `account` paid: it belongs to the row its liquidation reduced last.
    pub(crate) fn liquidation_fee(&mut self, account: AccountId, fee: Amount) -> Result<(), StoreError> {
        let Some(row) = self.liquidated_last.get(&account).and_then(|id| self.positions.get_mut(id)) else {
            return Ok(());
        };
        row.record.liquidation_fees =
            row.record.liquidation_fees.checked_add(fee).map_err(overflow("a position's liquidation fees"))?;
        Ok(())
    }

    fn open_row(&mut self, place: Place, (account, market): Holder, fee: Amount, after: &PerpPosition) {
        let id = PositionId { seq: place.seq, position: place.position };
        let record = PositionRecord {
            id,
            account,
            market,
            size: after.size,
            entry_value: after.entry_value,
            realized_pnl: 0,
            fees: fee,
            closed_volume: 0,
            liquidated: 0,
            liquidation_fees: Amount::ZERO,
            opened_at: place.time,
            closed_at: None,
        };
        self.positions.insert(id, PositionRow { record, pnl_base: after.realized_pnl });
        self.open.insert((account, market), id);
    }
}
