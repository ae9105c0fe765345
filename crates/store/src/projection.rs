//! The event fold: what a batch of applied commands changes in the history, computed in memory
//! before anything is written. It knows no SQL; the writer loads the rows the batch changes that
//! earlier batches wrote (open orders, the current minute's candle, open perpetual positions),
//! folds, and writes the result.
//!
//! A new kind of history is a new field here, a match arm in [`Projection::fold`] and a table.

use std::collections::{BTreeMap, BTreeSet};

use rucksack_types::{
    AccountId, Amount, AssetId, Event, InsuranceReason, MarketId, OrderId, OrderStatus, Seq, Side, SystemOrder,
    Timestamp, Trade, TxId,
};

use crate::StoreError;
use crate::candles::Piece;
use crate::lending::{PoolHourRecord, PoolMovementRecord};
use crate::liquidation::{InsuranceRecord, PositionTransferRecord};
use crate::perp::{FundingRateRecord, PerpProjection, PositionRow, fold::Place};
use crate::records::{Applied, FillRecord, OrderRecord, TradeRecord, TransferKind, TransferRecord};

const MICROS_PER_SECOND: u64 = 1_000_000;
const SECONDS_PER_MINUTE: u64 = 60;

/// A one-minute candle's key: the market and the minute's first second.
pub(crate) type MinuteKey = (MarketId, u64);

pub(crate) fn minute_of(time: Timestamp) -> u64 {
    let secs = time.0 / MICROS_PER_SECOND;
    secs - secs % SECONDS_PER_MINUTE
}

/// A transfer and its event's index within its command, which together identify it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PlacedTransfer {
    pub record: TransferRecord,
    pub position: u64,
}

/// Money moved by a deposit or withdrawal event.
struct Moved {
    kind: TransferKind,
    account: AccountId,
    asset: AssetId,
    amount: Amount,
    tx: TxId,
}

/// The rows a batch adds or changes.
#[derive(Debug, Default)]
pub(crate) struct Projection {
    /// Every order the batch touched, as it stands after the batch, plus the ones loaded for it.
    pub orders: BTreeMap<OrderId, OrderRecord>,
    pub fills: Vec<FillRecord>,
    pub trades: Vec<TradeRecord>,
    pub transfers: Vec<PlacedTransfer>,
    /// Every minute the batch traded in, merged with what was stored before.
    pub candles: BTreeMap<MinuteKey, Piece>,
    pub pool_movements: Vec<PoolMovementRecord>,
    pub pool_hours: Vec<PoolHourRecord>,
    pub perp: PerpProjection,
    pub position_transfers: Vec<PositionTransferRecord>,
    pub insurance: Vec<InsuranceRecord>,
    pub last_seq: Option<Seq>,
    /// The system order the last event announced; its `OrderAccepted` comes next.
    system_order: Option<SystemOrder>,
}

/// The orders `commands` change that they did not create: the writer loads these first.
pub(crate) fn earlier_orders(commands: &[Applied]) -> BTreeSet<OrderId> {
    let mut created = BTreeSet::new();
    let mut earlier = BTreeSet::new();
    let mut touch = |order: OrderId, created: &BTreeSet<OrderId>| {
        if !created.contains(&order) {
            earlier.insert(order);
        }
    };
    for event in commands.iter().flat_map(|c| &c.events) {
        match *event {
            Event::OrderAccepted { order, .. } => {
                created.insert(order);
            }
            Event::Trade(trade) => {
                touch(trade.taker_order, &created);
                touch(trade.maker_order, &created);
            }
            Event::OrderRested { order, .. }
            | Event::OrderModified { order, .. }
            | Event::OrderClosed { order, .. } => touch(order, &created),
            _ => {}
        }
    }
    earlier
}

/// The one-minute candles `commands` add trades to.
pub(crate) fn traded_minutes(commands: &[Applied]) -> BTreeSet<MinuteKey> {
    let mut minutes = BTreeSet::new();
    for command in commands {
        for event in &command.events {
            if let Event::Trade(trade) = event {
                minutes.insert((trade.market, minute_of(command.time)));
            }
        }
    }
    minutes
}

impl Projection {
    /// A projection over the stored rows the batch will change. An order a trade or close names
    /// that is neither here nor accepted in the batch (history started after it) is left alone,
    /// and its fills carry no client id.
    pub(crate) fn new(
        orders: impl IntoIterator<Item = OrderRecord>,
        candles: BTreeMap<MinuteKey, Piece>,
        open_positions: impl IntoIterator<Item = PositionRow>,
    ) -> Projection {
        Projection {
            orders: orders.into_iter().map(|o| (o.id, o)).collect(),
            candles,
            perp: PerpProjection::new(open_positions),
            ..Projection::default()
        }
    }

    pub(crate) fn fold(&mut self, command: &Applied) -> Result<(), StoreError> {
        let time = command.time;
        // Accounts whose liquidation steps this command takes: their positions' reductions in
        // it are liquidations (a sweep places no order of the account's own).
        let liquidating: BTreeSet<AccountId> = command
            .events
            .iter()
            .filter_map(|event| match event {
                Event::Liquidation(step) => Some(step.account),
                _ => None,
            })
            .collect();
        for (position, event) in command.events.iter().enumerate() {
            match *event {
                Event::SystemOrderPlaced(system) => self.system_order = Some(system),
                Event::OrderAccepted { order, new } => {
                    let mut record = OrderRecord::accepted(order, &new, time);
                    let system = self.system_order.take().filter(|s| s.order == order);
                    record.system_order_type = system.map(|s| s.kind);
                    self.orders.insert(order, record);
                }
                Event::Trade(trade) => self.trade(&trade, time)?,
                Event::OrderRested { order, .. } => {
                    if let Some(record) = self.orders.get_mut(&order) {
                        record.status =
                            if record.executed.is_zero() { OrderStatus::New } else { OrderStatus::PartiallyFilled };
                        record.updated_at = time;
                    }
                }
                Event::TriggerPlaced { order, .. } => {
                    if let Some(record) = self.orders.get_mut(&order) {
                        record.status = OrderStatus::TriggerPending;
                        record.updated_at = time;
                    }
                }
                Event::OrderModified { order, quantity, .. } => {
                    if let Some(record) = self.orders.get_mut(&order) {
                        record.quantity = Some(quantity);
                        record.updated_at = time;
                    }
                }
                Event::OrderClosed { order, status, reason, executed, executed_quote, .. } => {
                    if let Some(record) = self.orders.get_mut(&order) {
                        record.status = status;
                        record.expiry_reason = reason;
                        record.executed = executed;
                        record.executed_quote = executed_quote;
                        record.updated_at = time;
                    }
                }
                Event::Deposited { account, asset, amount, tx } => {
                    self.transfer(command, position, Moved { kind: TransferKind::Deposit, account, asset, amount, tx })
                }
                Event::Withdrawn { account, asset, amount, tx } => self.transfer(
                    command,
                    position,
                    Moved { kind: TransferKind::Withdrawal, account, asset, amount, tx },
                ),
                Event::BorrowLendExecuted {
                    account,
                    asset,
                    action,
                    amount,
                    entry_fee,
                    source,
                    shares,
                    position: value,
                } => {
                    self.pool_movements.push(PoolMovementRecord {
                        seq: command.seq,
                        position: position as u64,
                        account,
                        asset,
                        action,
                        source,
                        amount,
                        entry_fee,
                        shares,
                        value,
                        time,
                    });
                }
                Event::InterestCharged(charge) => self.pool_hours.push(PoolHourRecord { seq: command.seq, charge }),
                Event::FundingPaid { market, interval_end, rate, mark, per_lot, cumulative } => {
                    self.perp.funding_paid(FundingRateRecord {
                        market,
                        interval_end,
                        rate,
                        mark,
                        per_lot,
                        cumulative,
                        seq: command.seq,
                    })
                }
                Event::PositionChanged { account, market, fee, position: after } => {
                    let place = Place { seq: command.seq, position: position as u64, time };
                    let by_liquidation = liquidating.contains(&account);
                    self.perp.position_changed(place, (account, market), fee, &after, by_liquidation)?
                }
                Event::PnlRealized { account, market, realized, fees, funding, .. } => {
                    let place = Place { seq: command.seq, position: position as u64, time };
                    self.perp.realized(place, (account, market), realized, fees, funding)?
                }
                Event::PositionTransferred(transfer) => self
                    .position_transfers
                    .extend(PositionTransferRecord::both_sides(&transfer, command.seq, position as u64, time)?),
                Event::InsuranceFundChanged(change) => {
                    if change.reason == InsuranceReason::LiquidationFee {
                        self.perp.liquidation_fee(change.account, change.change)?;
                    }
                    self.insurance.push(InsuranceRecord::of(&change, command.seq, position as u64, time))
                }
                Event::AssetListed(_)
                | Event::MarketListed(_)
                | Event::AccountCreated { .. }
                | Event::ApiKeyAdded { .. }
                | Event::AccountSettingsChanged { .. }
                | Event::AssetRiskSet(_)
                | Event::IndexPriceSet { .. }
                | Event::MarkPriceSet { .. }
                | Event::Bankrupt(_)
                | Event::BadDebt(_)
                | Event::Liquidation(_)
                | Event::BackstopProviderSet { .. }
                | Event::LiquidationSpecSet(_) => {}
            }
        }
        self.last_seq = Some(command.seq);
        Ok(())
    }

    fn trade(&mut self, trade: &Trade, time: Timestamp) -> Result<(), StoreError> {
        let sides = [
            (trade.taker_account, trade.taker_order, trade.taker_side, trade.taker_fee, false),
            (trade.maker_account, trade.maker_order, trade.taker_side.opposite(), trade.maker_fee, true),
        ];
        for (account, order, side, fee, is_maker) in sides {
            let (mut client_id, mut system_order_type) = (None, None);
            if let Some(record) = self.orders.get_mut(&order) {
                let overflow = |_| StoreError::Overflow("an order's executed quantity");
                record.executed = record.executed.checked_add(trade.quantity).map_err(overflow)?;
                record.executed_quote = record.executed_quote.checked_add(trade.notional()).map_err(overflow)?;
                record.status = OrderStatus::PartiallyFilled;
                record.updated_at = time;
                client_id = record.client_id;
                system_order_type = record.system_order_type;
            }
            self.fills.push(FillRecord {
                trade: trade.id,
                order,
                client_id,
                account,
                market: trade.market,
                side,
                price: trade.price,
                quantity: trade.quantity,
                fee,
                is_maker,
                time,
                system_order_type,
            });
        }
        self.trades.push(TradeRecord {
            id: trade.id,
            market: trade.market,
            price: trade.price,
            quantity: trade.quantity,
            quote: trade.notional(),
            buyer_is_maker: trade.taker_side == Side::Ask,
            time,
        });
        let piece = Piece::trade(trade.id, trade.price, trade.quantity, trade.notional());
        match self.candles.get_mut(&(trade.market, minute_of(time))) {
            Some(candle) => candle.merge(&piece)?,
            None => {
                self.candles.insert((trade.market, minute_of(time)), piece);
            }
        }
        Ok(())
    }

    fn transfer(&mut self, command: &Applied, position: usize, moved: Moved) {
        let Moved { kind, account, asset, amount, tx } = moved;
        let record = TransferRecord { kind, account, asset, amount, tx, seq: command.seq, time: command.time };
        self.transfers.push(PlacedTransfer { record, position: position as u64 });
    }
}
