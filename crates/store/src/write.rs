//! Storing batches: one transaction per batch, holding the rows and the new position together,
//! so a batch is either wholly stored or not at all, and replaying it is a no-op.

use std::collections::{BTreeMap, BTreeSet};

use rucksack_types::{MarketId, OrderId, Seq};

use crate::candles::Piece;
use crate::columns::{int, unsigned};
use crate::lending;
use crate::liquidation::{self, INSURANCE_FUND, POSITION_TRANSFERS};
use crate::perp::{self, PositionRow, fold::Holder};
use crate::projection::{self, MinuteKey, Projection};
use crate::records::Applied;
use crate::sql::{Pool, Tx, Value};
use crate::tables::{self, CANDLES_1M, FILLS, HISTORY_TABLES, ORDERS, TRADES, TRANSFERS, Table};
use crate::{StoreError, records::OrderRecord};

/// Rows per INSERT at most. Smaller remainders go in power-of-two chunks, so each table has a
/// handful of distinct statements that stay in the prepared-statement cache.
const MAX_ROWS_PER_INSERT: usize = 256;
/// Ids per lookup of stored rows (orders, open positions by account); short lists are padded
/// by repeating their last id, so every lookup is the same prepared statement.
const IDS_PER_LOOKUP: usize = 64;

/// Takes the store's write lock before reading the position: PostgreSQL locks the row, and
/// SQLite's first statement being a write takes the database's write lock (waiting for
/// another writer) instead of upgrading a read later, which could fail.
const LOCK_POSITION: &str = "UPDATE projection SET last_seq = last_seq WHERE id = 1 RETURNING last_seq";
const SET_POSITION: &str = "UPDATE projection SET last_seq = $1 WHERE id = 1";

pub(crate) async fn last_seq(pool: &Pool) -> Result<Seq, StoreError> {
    let rows = pool.fetch("SELECT last_seq FROM projection WHERE id = 1", &[]).await?;
    position(rows.first())
}

fn position(row: Option<&crate::sql::Row>) -> Result<Seq, StoreError> {
    let row = row.ok_or_else(|| StoreError::Corrupt("the position row is missing".into()))?;
    Ok(Seq(unsigned("sequence number", row.get(0)?)?))
}

pub(crate) async fn apply(pool: &Pool, commands: &[Applied]) -> Result<(), StoreError> {
    if let Some(pair) = commands.windows(2).find(|pair| pair[1].seq <= pair[0].seq) {
        return Err(StoreError::OutOfOrder { previous: pair[0].seq, next: pair[1].seq });
    }
    if commands.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    let stored = position(tx.fetch(LOCK_POSITION, &[]).await?.first())?;
    let fresh = &commands[commands.partition_point(|c| c.seq <= stored)..];
    let Some(last) = fresh.last() else {
        return Ok(());
    };
    let orders = load_orders(&mut tx, &projection::earlier_orders(fresh)).await?;
    let candles = load_candles(&mut tx, &projection::traded_minutes(fresh)).await?;
    let positions = load_open_positions(&mut tx, &perp::fold::changed_positions(fresh)).await?;
    let mut projection = Projection::new(orders, candles, positions);
    for command in fresh {
        projection.fold(command)?;
    }
    insert(&mut tx, &ORDERS, projection.orders.values(), tables::order_row).await?;
    insert(&mut tx, &FILLS, &projection.fills, tables::fill_row).await?;
    insert(&mut tx, &TRADES, &projection.trades, tables::trade_row).await?;
    insert(&mut tx, &TRANSFERS, &projection.transfers, tables::transfer_row).await?;
    insert(&mut tx, &CANDLES_1M, &projection.candles, |(key, piece), row| tables::candle_row(key, piece, row)).await?;
    insert(&mut tx, &lending::POOL_MOVEMENTS, &projection.pool_movements, lending::movement_row).await?;
    insert(&mut tx, &lending::POOL_HOURS, &projection.pool_hours, lending::hour_row).await?;
    let perps = &projection.perp;
    insert(&mut tx, &perp::FUNDING_RATES, &perps.funding_rates, perp::funding_row).await?;
    insert(&mut tx, &perp::SETTLEMENTS, &perps.settlements, perp::settlement_row).await?;
    insert(&mut tx, &perp::PERP_POSITIONS, perps.positions.values(), perp::position_row).await?;
    insert(&mut tx, &POSITION_TRANSFERS, &projection.position_transfers, liquidation::transfer_row).await?;
    insert(&mut tx, &INSURANCE_FUND, &projection.insurance, liquidation::insurance_row).await?;
    tx.execute(SET_POSITION, &[int("sequence number", last.seq.0)?.into()]).await?;
    tx.commit().await
}

pub(crate) async fn clear(pool: &Pool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    tx.fetch(LOCK_POSITION, &[]).await?;
    for table in HISTORY_TABLES {
        tx.execute(&format!("DELETE FROM {table}"), &[]).await?;
    }
    tx.execute(SET_POSITION, &[0i64.into()]).await?;
    tx.commit().await
}

async fn load_orders(tx: &mut Tx, ids: &BTreeSet<OrderId>) -> Result<Vec<OrderRecord>, StoreError> {
    let ids = ids.iter().map(|id| int("order id", id.0)).collect::<Result<Vec<_>, _>>()?;
    let head = format!("SELECT {} FROM orders WHERE id", ORDERS.select_list());
    fetch_in(tx, &head, &ids).await?.iter().map(tables::read_order).collect()
}

/// The open position rows of `holders`.
async fn load_open_positions(tx: &mut Tx, holders: &BTreeSet<Holder>) -> Result<Vec<PositionRow>, StoreError> {
    let mut accounts =
        holders.iter().map(|(account, _)| int("account id", account.0)).collect::<Result<Vec<_>, _>>()?;
    accounts.dedup();
    let head = format!(
        "SELECT {} FROM perp_positions WHERE closed_at IS NULL AND account",
        perp::PERP_POSITIONS.select_list()
    );
    let mut open = Vec::new();
    for row in fetch_in(tx, &head, &accounts).await? {
        let row = perp::read_position(&row)?;
        if holders.contains(&(row.record.account, row.record.market)) {
            open.push(row);
        }
    }
    Ok(open)
}

/// The rows of `{head} IN (ids)`, looked up [`IDS_PER_LOOKUP`] ids at a time.
async fn fetch_in(tx: &mut Tx, head: &str, ids: &[i64]) -> Result<Vec<crate::sql::Row>, StoreError> {
    let sql = format!("{head} IN ({})", (1..=IDS_PER_LOOKUP).map(|n| format!("${n}")).collect::<Vec<_>>().join(", "));
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let padding = chunk.last().copied().unwrap_or_default();
        let values: Vec<Value> =
            chunk.iter().copied().chain(std::iter::repeat(padding)).take(IDS_PER_LOOKUP).map(Value::from).collect();
        rows.extend(tx.fetch(&sql, &values).await?);
    }
    Ok(rows)
}

async fn load_candles(tx: &mut Tx, minutes: &BTreeSet<MinuteKey>) -> Result<BTreeMap<MinuteKey, Piece>, StoreError> {
    let sql = format!("SELECT {} FROM candles_1m WHERE market = $1 AND start_secs = $2", CANDLES_1M.select_list());
    let mut candles = BTreeMap::new();
    for (market, start) in minutes {
        let values = [i64::from(market.0).into(), int("candle start", *start)?.into()];
        for row in tx.fetch(&sql, &values).await? {
            let (market, start, piece): (MarketId, u64, Piece) = tables::read_candle(&row)?;
            candles.insert((market, start), piece);
        }
    }
    Ok(candles)
}

/// Inserts `records` with multi-row statements.
async fn insert<'r, R: 'r>(
    tx: &mut Tx,
    table: &Table,
    records: impl IntoIterator<Item = R>,
    encode: impl Fn(R, &mut Vec<Value>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let columns = table.columns.len();
    let mut values = Vec::new();
    let mut count = 0;
    for record in records {
        encode(record, &mut values)?;
        count += 1;
    }
    let mut done = 0;
    while done < count {
        let rows = chunk_rows(count - done);
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}{}",
            table.name,
            table.select_list(),
            tx.rows_of_placeholders(rows, columns),
            table.on_conflict
        );
        tx.execute(&sql, &values[done * columns..(done + rows) * columns]).await?;
        done += rows;
    }
    Ok(())
}

/// The rows of the next INSERT when `remaining` are left: the most allowed, else the largest
/// power of two that fits.
fn chunk_rows(remaining: usize) -> usize {
    if remaining >= MAX_ROWS_PER_INSERT { MAX_ROWS_PER_INSERT } else { 1 << remaining.ilog2() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_are_split_into_a_few_statement_shapes() {
        let mut shapes = BTreeSet::new();
        for total in 1..2_000 {
            let (mut left, mut rows) = (total, 0);
            while left > 0 {
                let n = chunk_rows(left);
                shapes.insert(n);
                left -= n;
                rows += n;
            }
            assert_eq!(rows, total);
        }
        assert_eq!(shapes.len(), 9, "{shapes:?}");
    }
}
