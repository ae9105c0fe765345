//! Queries. Each builds its statement from fixed fragments (the filters present and the sort
//! direction), so a handful of statement shapes serve every request, each matching an index.

use rucksack_types::{AccountId, Amount, Lots, MarketId, OrderId, Ticks, Timestamp, TradeId};

use crate::StoreError;
use crate::candles::{self, Piece};
use crate::columns::{Named, unsigned};
use crate::interval::CandleInterval;
use crate::liquidation;
use crate::records::{
    Candle, Fill, FillQuery, FillRecord, FillSource, OrderQuery, OrderRecord, Page, TradeRecord, TransferQuery,
    TransferRecord,
};
use crate::sql::{Pool, Row, Value};
use crate::tables::{self, CANDLES_1M, FILLS, ORDERS, TRADES, TRANSFERS};

/// A statement's WHERE conditions and their values, numbered as they are added.
#[derive(Default)]
pub(crate) struct Filter {
    conditions: Vec<String>,
    values: Vec<Value>,
}

impl Filter {
    pub(crate) fn and(&mut self, condition: &str, value: impl Into<Value>) -> &mut Filter {
        self.values.push(value.into());
        self.conditions.push(format!("{condition} ${}", self.values.len()));
        self
    }

    /// A condition that takes no value.
    pub(crate) fn holds(&mut self, condition: &str) -> &mut Filter {
        self.conditions.push(condition.to_owned());
        self
    }

    /// `column IN (values)`; `None` if `values` is empty (nothing can match).
    fn any_of(&mut self, column: &str, values: impl IntoIterator<Item = Value>) -> Option<()> {
        let first = self.values.len() + 1;
        self.values.extend(values);
        let placeholders: Vec<String> = (first..=self.values.len()).map(|n| format!("${n}")).collect();
        if placeholders.is_empty() {
            return None;
        }
        self.conditions.push(format!("{column} IN ({})", placeholders.join(", ")));
        Some(())
    }

    /// `from` and `to` inclusive, on a microsecond time column; `None` if nothing can match.
    fn time_range(&mut self, column: &str, from: Option<Timestamp>, to: Option<Timestamp>) -> Option<()> {
        if let Some(from) = from {
            self.and(&format!("{column} >="), stored(from.0)?);
        }
        if let Some(to) = to {
            // A bound past the last storable time excludes nothing.
            self.and(&format!("{column} <="), stored(to.0).unwrap_or(i64::MAX));
        }
        Some(())
    }

    /// The statement, sorted by `order` columns in the page's direction and paged.
    pub(crate) fn select(mut self, columns: &str, table: &str, order: &[&str], page: Page) -> (String, Vec<Value>) {
        let direction = page.direction.sql();
        let order = order.iter().map(|column| format!("{column} {direction}")).collect::<Vec<_>>().join(", ");
        self.values.push(i64::from(page.limit).into());
        // An offset past every row selects nothing either way.
        self.values.push(i64::try_from(page.offset).unwrap_or(i64::MAX).into());
        let (limit, offset) = (self.values.len() - 1, self.values.len());
        let sql = format!(
            "SELECT {columns} FROM {table} WHERE {} ORDER BY {order} LIMIT ${limit} OFFSET ${offset}",
            self.conditions.join(" AND ")
        );
        (sql, self.values)
    }
}

/// A value as stored, or `None` if it is beyond every stored value (so a filter on it matches
/// nothing).
pub(crate) fn stored(value: u64) -> Option<i64> {
    i64::try_from(value).ok()
}

pub(crate) fn decode<T>(rows: Vec<Row>, read: fn(&Row) -> Result<T, StoreError>) -> Result<Vec<T>, StoreError> {
    rows.iter().map(read).collect()
}

/// An account's rows, optionally of one market and one order (`order_condition` names the
/// column); `None` if nothing can match.
pub(crate) fn account_filter(
    account: AccountId,
    market: Option<MarketId>,
    order: Option<OrderId>,
    order_condition: &str,
) -> Option<Filter> {
    let mut filter = Filter::default();
    filter.and("account =", stored(account.0)?);
    if let Some(market) = market {
        filter.and("market =", i64::from(market.0));
    }
    if let Some(order) = order {
        filter.and(order_condition, stored(order.0)?);
    }
    Some(filter)
}

pub(crate) async fn orders(pool: &Pool, query: &OrderQuery) -> Result<Vec<OrderRecord>, StoreError> {
    let Some(filter) = account_filter(query.account, query.market, query.order, "id =") else {
        return Ok(Vec::new());
    };
    let (sql, values) = filter.select(&ORDERS.select_list(), ORDERS.name, &["created_at", "id"], query.page);
    decode(pool.fetch(&sql, &values).await?, tables::read_order)
}

/// The filter of a fill query; `None` if nothing can match.
fn fill_filter(query: &FillQuery) -> Option<Filter> {
    let mut filter = account_filter(query.account, query.market, query.order, "order_id =")?;
    filter.time_range("time", query.from, query.to)?;
    Some(filter)
}

pub(crate) async fn fills(pool: &Pool, query: &FillQuery) -> Result<Vec<FillRecord>, StoreError> {
    let Some(filter) = fill_filter(query) else {
        return Ok(Vec::new());
    };
    // Trade ids count per market, so the market breaks the last tie.
    let order = ["time", "trade", "is_maker", "market"];
    let (sql, values) = filter.select(&FILLS.select_list(), FILLS.name, &order, query.page);
    decode(pool.fetch(&sql, &values).await?, tables::read_fill)
}

/// Trades' and position transfers' fills as one listing. The fills' columns come first, in
/// [`FILLS`] order, then the transfers' own; each branch fills the other's with constants, and
/// `is_transfer` tells them apart. A transfer's trade id is numbered with its market's trades;
/// it has no order.
const FILL_HISTORY: &str = "(SELECT FALSE AS is_transfer, trade, order_id, client_id, account, market, side, price, \
    quantity, fee, is_maker, time, system_order_type, 0 AS seq, 0 AS position, NULL AS counterparty, \
    NULL AS exact_price FROM fills \
    UNION ALL SELECT TRUE, trade_id, NULL, NULL, account, market, side, NULL, quantity, 0, FALSE, time, system_order_type, \
    seq, position, counterparty, price FROM position_transfers) AS listed";

const FILL_HISTORY_COLUMNS: &str = "is_transfer, trade, order_id, client_id, account, market, side, price, quantity, \
    fee, is_maker, time, system_order_type, seq, position, counterparty, exact_price";

pub(crate) async fn fill_history(pool: &Pool, query: &FillQuery, source: FillSource) -> Result<Vec<Fill>, StoreError> {
    let Some(mut filter) = fill_filter(query) else {
        return Ok(Vec::new());
    };
    match source {
        FillSource::All => {}
        FillSource::User => {
            filter.holds("system_order_type IS NULL");
        }
        FillSource::System(kinds) => {
            if filter.any_of("system_order_type", kinds.iter().map(|k| Value::from(k.name()))).is_none() {
                return Ok(Vec::new());
            }
        }
    }
    let order = ["time", "trade", "is_maker", "market", "seq", "position", "side"];
    let (sql, values) = filter.select(FILL_HISTORY_COLUMNS, FILL_HISTORY, &order, query.page);
    decode(pool.fetch(&sql, &values).await?, |row| {
        if row.get::<bool>(0)? {
            liquidation::read_listed_transfer(row).map(Fill::Transfer)
        } else {
            tables::read_fill_at(row, 1).map(Fill::Trade)
        }
    })
}

pub(crate) async fn trades(pool: &Pool, market: MarketId, page: Page) -> Result<Vec<TradeRecord>, StoreError> {
    let mut filter = Filter::default();
    filter.and("market =", i64::from(market.0));
    let (sql, values) = filter.select(&TRADES.select_list(), TRADES.name, &["id"], page);
    decode(pool.fetch(&sql, &values).await?, tables::read_trade)
}

pub(crate) async fn transfers(pool: &Pool, query: &TransferQuery) -> Result<Vec<TransferRecord>, StoreError> {
    let Some(mut filter) = account_filter(query.account, None, None, "") else {
        return Ok(Vec::new());
    };
    filter.and("kind =", query.kind.name());
    if filter.time_range("time", query.from, query.to).is_none() {
        return Ok(Vec::new());
    }
    let (sql, values) = filter.select(&TRANSFERS.select_list(), TRANSFERS.name, &["seq", "position"], query.page);
    decode(pool.fetch(&sql, &values).await?, tables::read_transfer)
}

/// Whole candles whose start lies in `[start_secs, end_secs)`, oldest first. Intervals of a
/// minute or more are summed from the stored one-minute candles; seconds from the trades.
pub(crate) async fn candles(
    pool: &Pool,
    market: MarketId,
    interval: CandleInterval,
    start_secs: u64,
    end_secs: Option<u64>,
) -> Result<Vec<Candle>, StoreError> {
    let Some((first, end)) = candles::span(interval, start_secs, end_secs) else {
        return Ok(Vec::new());
    };
    let mut filter = Filter::default();
    filter.and("market =", i64::from(market.0));
    if interval == CandleInterval::Second1 {
        let micros = |secs: u64| i64::try_from(secs.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
        filter.and("time >=", micros(first));
        if let Some(end) = end {
            filter.and("time <", micros(end));
        }
        let sql = format!(
            "SELECT id, price, quantity, quote, time FROM trades WHERE {} ORDER BY id",
            filter.conditions.join(" AND ")
        );
        let rows = pool.fetch(&sql, &filter.values).await?;
        return candles::aggregate(interval, rows.iter().map(trade_piece));
    }
    let secs = |secs: u64| i64::try_from(secs).unwrap_or(i64::MAX);
    filter.and("start_secs >=", secs(first));
    if let Some(end) = end {
        filter.and("start_secs <", secs(end));
    }
    let sql = format!(
        "SELECT {} FROM candles_1m WHERE {} ORDER BY start_secs",
        CANDLES_1M.select_list(),
        filter.conditions.join(" AND ")
    );
    let rows = pool.fetch(&sql, &filter.values).await?;
    candles::aggregate(
        interval,
        rows.iter().map(|row| tables::read_candle(row).map(|(_, start, piece)| (start, piece))),
    )
}

/// A trade row (id, price, quantity, quote, time) as a one-trade piece at its second.
fn trade_piece(row: &Row) -> Result<(u64, Piece), StoreError> {
    let id = TradeId(unsigned("trade id", row.get(0)?)?);
    let piece = Piece::trade(id, Ticks(row.get(1)?), Lots(row.get(2)?), Amount(row.get(3)?));
    let time = unsigned("time", row.get(4)?)?;
    Ok((time / 1_000_000, piece))
}
