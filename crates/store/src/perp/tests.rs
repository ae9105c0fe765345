use rucksack_types::perp::FINE_PER_TICK;
use rucksack_types::{AccountId, Amount, MarketId, PerpPosition, Seq, Ticks, Timestamp};

use super::fold::{PerpProjection, Place, PositionRow};
use super::{PositionId, PositionState, SettlementSource};

const HOLDER: (AccountId, MarketId) = (AccountId(7), MarketId(2));

fn place(seq: u64) -> Place {
    Place { seq: Seq(seq), position: 1, time: Timestamp(seq * 1_000) }
}

/// Fills `lots` at `price` into `position` and folds the change with `fee`.
fn fill(projection: &mut PerpProjection, position: &mut PerpPosition, seq: u64, lots: i64, price: i64, fee: i64) {
    position.fill(lots, Ticks(price)).expect("fits");
    projection.position_changed(place(seq), HOLDER, Amount(fee), position, false).expect("folds");
}

fn rows(projection: &PerpProjection) -> Vec<PositionRow> {
    projection.positions.values().cloned().collect()
}

#[test]
fn a_lifetime_runs_from_leaving_zero_to_returning_and_a_flip_starts_the_next() {
    let mut projection = PerpProjection::default();
    let mut position = PerpPosition::default();
    fill(&mut projection, &mut position, 1, 1_000, 100, 10);
    fill(&mut projection, &mut position, 2, 500, 130, 5);
    fill(&mut projection, &mut position, 3, -300, 120, 3);
    // Sells 2,000 of a 1,200 long: 1,200 close it, 800 open a short; the fee of 20 is shared
    // 12 to 8.
    fill(&mut projection, &mut position, 4, -2_000, 150, 20);
    let rows = rows(&projection);
    assert_eq!(rows.len(), 2);
    let (first, second) = (&rows[0].record, &rows[1].record);
    assert_eq!(first.id, PositionId { seq: Seq(1), position: 1 });
    assert_eq!(first.state(), PositionState::Closed);
    assert_eq!((first.opened_at, first.closed_at), (Timestamp(1_000), Some(Timestamp(4_000))));
    // The size and entry it had before closing: 1,200 at the average of 110.
    assert_eq!((first.size, first.entry_value), (1_200, 1_200 * 110 * FINE_PER_TICK));
    assert_eq!(first.realized_pnl, (300 * 10 + 1_200 * 40) * FINE_PER_TICK);
    assert_eq!(first.fees, Amount(10 + 5 + 3 + 12));
    assert_eq!(second.id, PositionId { seq: Seq(4), position: 1 });
    assert_eq!(second.state(), PositionState::Open);
    assert_eq!((second.size, second.entry_value), (-800, -800 * 150 * FINE_PER_TICK));
    assert_eq!((second.realized_pnl, second.fees), (0, Amount(8)));
    assert_eq!(rows[1].pnl_base, position.realized_pnl, "the engine's figure runs on");

    // Bought back at 140 in two fills: the second lifetime closes with its own PnL.
    fill(&mut projection, &mut position, 5, 300, 140, -1);
    fill(&mut projection, &mut position, 6, 500, 140, -2);
    let second = &projection.positions[&PositionId { seq: Seq(4), position: 1 }].record;
    assert_eq!((second.size, second.closed_at), (-500, Some(Timestamp(6_000))));
    assert_eq!(second.realized_pnl, 800 * 10 * FINE_PER_TICK);
    assert_eq!(second.fees, Amount(8 - 1 - 2));
    assert_eq!(projection.positions.len(), 2, "flat again: nothing new opens");
}

#[test]
fn an_open_row_loaded_from_an_earlier_batch_is_continued() {
    let mut position = PerpPosition::default();
    let mut earlier = PerpProjection::default();
    fill(&mut earlier, &mut position, 1, -400, 200, 4);
    let loaded = rows(&earlier);
    let mut projection = PerpProjection::new(loaded.clone());
    fill(&mut projection, &mut position, 9, 100, 180, 1);
    let rows = rows(&projection);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].record.id, loaded[0].record.id);
    assert_eq!((rows[0].record.size, rows[0].record.fees), (-300, Amount(5)));
    assert_eq!(rows[0].record.realized_pnl, 100 * 20 * FINE_PER_TICK);
}

#[test]
fn a_fill_to_zero_without_an_open_row_opens_nothing() {
    // History that starts as a position closes: the close is not a lifetime of its own.
    let mut projection = PerpProjection::default();
    let closed = PerpPosition { realized_pnl: 5, ..PerpPosition::default() };
    projection.position_changed(place(3), HOLDER, Amount(1), &closed, false).expect("folds");
    assert!(projection.positions.is_empty());
}

#[test]
fn a_realization_is_split_into_its_non_zero_parts() {
    let mut projection = PerpProjection::default();
    // 1,000 realized, of which -30 fees and 200 funding: 830 trading PnL.
    projection.realized(place(1), HOLDER, Amount(1_000), Amount(-30), Amount(200)).expect("splits");
    // Only fees: no PnL row and no funding row.
    projection.realized(place(2), HOLDER, Amount(-7), Amount(-7), Amount(0)).expect("splits");
    let parts: Vec<_> = projection.settlements.iter().map(|s| (s.seq.0, s.source, s.quantity.0)).collect();
    assert_eq!(
        parts,
        [
            (1, SettlementSource::RealizePnl, 830),
            (1, SettlementSource::TradingFees, -30),
            (1, SettlementSource::FundingPayment, 200),
            (2, SettlementSource::TradingFees, -7),
        ]
    );
    let extreme = projection.realized(place(3), HOLDER, Amount(i64::MAX), Amount(-1), Amount(0));
    assert!(matches!(extreme, Err(crate::StoreError::Overflow(_))));
}

#[test]
fn settlement_sources_read_back_by_name() {
    for source in SettlementSource::ALL {
        assert_eq!(SettlementSource::from_name(source.as_str()), Some(source));
        assert_eq!(<SettlementSource as crate::columns::Named>::parse(source.as_str()).ok(), Some(source));
    }
    assert_eq!(SettlementSource::from_name("BackstopLiquidation"), None);
}

#[test]
fn liquidated_lots_and_their_fee_belong_to_the_lifetime_they_closed() {
    let mut projection = PerpProjection::default();
    let mut position = PerpPosition::default();
    fill(&mut projection, &mut position, 1, 1_000, 100, 10);
    fill(&mut projection, &mut position, 2, -200, 100, 2);
    // A liquidation step sells the remaining 800, closing the lifetime; its fee follows.
    position.fill(-800, Ticks(90)).expect("fits");
    projection.position_changed(place(3), HOLDER, Amount::ZERO, &position, true).expect("folds");
    projection.liquidation_fee(HOLDER.0, Amount(72)).expect("attributed");
    // Another account's fee, with nothing of its liquidated here, changes no row.
    projection.liquidation_fee(AccountId(99), Amount(5)).expect("ignored");
    let rows = rows(&projection);
    let record = &rows[0].record;
    assert_eq!(record.state(), PositionState::Closed);
    assert_eq!((record.closed_volume, record.liquidated, record.liquidation_fees), (1_000, 800, Amount(72)));
    assert_eq!(record.fees, Amount(12), "trading fees stay apart from liquidation fees");
}
