//! History, read from the history store: an account's orders, fills, deposits and withdrawals,
//! and a market's trades and klines, with the venue's paging (`limit`, `offset`, `from`, `to`,
//! `sortDirection`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use rucksack_store::{
    Candle, CandleInterval, Fill, FillQuery, FillSource, OrderQuery, Page, PositionTransferRecord, SortDirection,
    StoreError, TradeRecord, TransferKind, TransferQuery, TransferRecord,
};
use rucksack_types::{MarketSpec, OrderId, SystemOrderType, Timestamp};

use crate::error::ApiError;
use crate::request::{self, market_filter, query_params};
use crate::server::{Shared, Signed};
use crate::views::{OrderView, TradeView, Views};
use crate::{format, wire};

/// Rows one page may hold at most.
const MAX_LIMIT: u32 = 1_000;
/// How long a history query waits for the store to catch up before answering from what it has.
const CATCH_UP_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How far the history store has got: the last sequence number it holds. The projector writes
/// behind the engine; a history query first waits until the store holds everything the read
/// models showed when the query arrived, so a client always finds an order it was told about.
#[derive(Clone, Debug)]
pub struct HistoryProgress(std::sync::Arc<tokio::sync::watch::Sender<u64>>);

impl HistoryProgress {
    pub fn new(stored: u64) -> HistoryProgress {
        HistoryProgress(std::sync::Arc::new(tokio::sync::watch::Sender::new(stored)))
    }

    pub fn advance(&self, stored: u64) {
        self.0.send_replace(stored);
    }

    pub fn stored(&self) -> u64 {
        *self.0.borrow()
    }

    /// Waits (at most [`CATCH_UP_WAIT`]) until the store holds `seq`.
    async fn reach(&self, seq: u64) {
        let mut stored = self.0.subscribe();
        let _ = tokio::time::timeout(CATCH_UP_WAIT, stored.wait_for(|s| *s >= seq)).await;
    }
}

/// Waits until the store holds everything the read models show now.
pub(crate) async fn catch_up(state: &Shared) {
    let target = state.model.read().last_seq;
    state.history_progress.reach(target).await;
}

pub(crate) fn respond(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(error) => error.into_response(),
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        tracing::error!(%error, "history store");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", "History is unavailable")
    }
}

/// `limit` (default 100, at most 1000), `offset`, and `sortDirection` (`Asc`/`Desc`; `default`
/// when absent).
pub(crate) fn page(params: &HashMap<String, String>, default: SortDirection) -> Result<Page, ApiError> {
    let limit = match params.get("limit") {
        None => 100,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if n <= MAX_LIMIT => n,
            _ => return Err(ApiError::bad_request(format!("limit must be an integer up to {MAX_LIMIT}"))),
        },
    };
    let offset = integer(params, "offset")?.unwrap_or(0);
    let direction = match params.get("sortDirection").map(String::as_str) {
        None => default,
        Some("Desc") => SortDirection::Desc,
        Some("Asc") => SortDirection::Asc,
        Some(_) => return Err(ApiError::bad_request("sortDirection must be Asc or Desc")),
    };
    Ok(Page { limit, offset, direction })
}

/// An optional whole-number query parameter.
fn integer(params: &HashMap<String, String>, name: &str) -> Result<Option<u64>, ApiError> {
    params
        .get(name)
        .map(|v| v.parse::<u64>())
        .transpose()
        .map_err(|_| ApiError::bad_request(format!("{name} must be a whole number")))
}

/// `from`/`to` in milliseconds, as the venue takes them.
fn millis(params: &HashMap<String, String>, name: &str) -> Result<Option<Timestamp>, ApiError> {
    integer(params, name)?
        .map(|ms| {
            ms.checked_mul(1_000).map(Timestamp).ok_or_else(|| ApiError::bad_request(format!("{name} is too large")))
        })
        .transpose()
}

impl From<TradeRecord> for TradeView {
    fn from(t: TradeRecord) -> TradeView {
        TradeView {
            id: t.id,
            price: t.price,
            quantity: t.quantity,
            quote: t.quote,
            buyer_is_maker: t.buyer_is_maker,
            time: t.time,
        }
    }
}

/// `GET /wapi/v1/history/orders`: every order of the account, open ones included (clients look
/// orders up here first), newest first unless asked otherwise.
pub async fn orders(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, uri, .. } = request;
    let result = async {
        let params = query_params(&uri);
        let page = page(&params, SortDirection::Desc)?;
        let market = market_filter(&state.model.read(), &params)?;
        let order = integer(&params, "orderId")?.map(OrderId);
        let kinds = request::market_kinds(uri.query())?;
        catch_up(&state).await;
        let rows = state.history.orders(&OrderQuery { account: caller.account, market, order, page }).await?;
        let views = state.model.read();
        Ok(Value::Array(
            rows.into_iter()
                .filter_map(|row| {
                    let spec = views.markets.get(usize::from(row.market.0))?.spec;
                    kinds.includes(&spec.kind).then_some(())?;
                    let system_order_type = row.system_order_type;
                    let order = wire::order_history(&views, &spec, &OrderView::from(row));
                    Some(with_system_order_type(order, system_order_type))
                })
                .collect(),
        ))
    }
    .await;
    respond(result)
}

/// `GET /wapi/v1/history/fills`: fills of the account's own orders and of what the exchange
/// did for its liquidations (all of them unless `fillType` says which), newest first.
pub async fn fills(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, uri, .. } = request;
    let result = async {
        let params = query_params(&uri);
        let page = page(&params, SortDirection::Desc)?;
        let market = market_filter(&state.model.read(), &params)?;
        let (from, to) = (millis(&params, "from")?, millis(&params, "to")?);
        let order = integer(&params, "orderId")?.map(OrderId);
        let source = fill_source(params.get("fillType").map(String::as_str))?;
        let kinds = request::market_kinds(uri.query())?;
        let query = FillQuery { account: caller.account, market, order, from, to, page };
        catch_up(&state).await;
        let rows = state.history.fill_history(&query, source).await?;
        let views = state.model.read();
        Ok(Value::Array(
            rows.into_iter()
                .filter_map(|row| {
                    let spec = views.markets.get(usize::from(row.market().0))?.spec;
                    kinds.includes(&spec.kind).then(|| fill(&views, &spec, &row))
                })
                .collect(),
        ))
    }
    .await;
    respond(result)
}

/// The kinds of system order, so each `fillType` of one kind is found by its own name.
static SYSTEM_ORDER_TYPES: [SystemOrderType; 4] = [
    SystemOrderType::LiquidatePositionOnBook,
    SystemOrderType::LiquidatePositionOnBackstop,
    SystemOrderType::LiquidatePositionOnAdl,
    SystemOrderType::CollateralConversion,
];

/// Backpack's `fillType` as the fills it selects here.
fn fill_source(fill_type: Option<&str>) -> Result<FillSource, ApiError> {
    Ok(match fill_type {
        None => FillSource::All,
        Some("User") => FillSource::User,
        // Collateral is converted only to liquidate, so every system fill is a liquidation's.
        Some("Liquidation" | "AllLiquidation") => FillSource::System(&SYSTEM_ORDER_TYPES),
        Some("CollateralConversionAndSpotLiquidation") => FillSource::System(&SYSTEM_ORDER_TYPES[3..]),
        Some(name) => match SYSTEM_ORDER_TYPES.iter().position(|kind| kind.fill_type() == name) {
            Some(at) => FillSource::System(&SYSTEM_ORDER_TYPES[at..=at]),
            None => {
                return Err(ApiError::bad_request(format!(
                    "fillType must be one of User, BookLiquidation, Adl, Backstop, Liquidation, AllLiquidation, \
                     CollateralConversion, CollateralConversionAndSpotLiquidation, not {name}"
                )));
            }
        },
    })
}

/// `systemOrderType` set on an order or fill object.
fn with_system_order_type(mut object: Value, kind: Option<SystemOrderType>) -> Value {
    if let Some(map) = object.as_object_mut() {
        map.insert("systemOrderType".into(), json!(kind.map(SystemOrderType::as_str)));
    }
    object
}

fn fill(views: &Views, spec: &MarketSpec, row: &Fill) -> Value {
    match row {
        Fill::Trade(trade) => with_system_order_type(wire::fill(views, spec, trade), trade.system_order_type),
        Fill::Transfer(transfer) => transfer_fill(views, spec, transfer),
    }
}

/// A position moved outside the book, as a fill: no fee and no order, a trade id numbered with
/// the market's trades. Clients need an order id, so it is the transfer's own (its command and
/// event, as position ids are), the same on both accounts' fills.
fn transfer_fill(views: &Views, spec: &MarketSpec, transfer: &PositionTransferRecord) -> Value {
    let quote = views.asset(spec.quote);
    json!({
        "tradeId": transfer.trade.0,
        "orderId": format!("{}-{}", transfer.seq.0, transfer.position),
        "clientId": null,
        "symbol": spec.symbol.as_str(),
        "side": transfer.side.as_str(),
        "price": format::exact_price(spec, transfer.price),
        "quantity": format::quantity(spec, transfer.quantity),
        "fee": quote.map_or_else(|| "0".to_string(), |q| format::amount(q, rucksack_types::Amount::ZERO)),
        "feeSymbol": quote.map_or("", |q| q.symbol.as_str()),
        "isMaker": false,
        "systemOrderType": transfer.kind.as_str(),
        "timestamp": format::naive_datetime(transfer.time),
    })
}

/// `GET /wapi/v1/capital/deposits`.
pub async fn deposits(state: State<Shared>, request: Signed) -> Response {
    transfers(state, request, TransferKind::Deposit).await
}

/// `GET /wapi/v1/capital/withdrawals`.
pub async fn withdrawals(state: State<Shared>, request: Signed) -> Response {
    transfers(state, request, TransferKind::Withdrawal).await
}

async fn transfers(State(state): State<Shared>, request: Signed, kind: TransferKind) -> Response {
    let Signed { caller, uri, .. } = request;
    let result = async {
        let params = query_params(&uri);
        let page = page(&params, SortDirection::Desc)?;
        let (from, to) = (millis(&params, "from")?, millis(&params, "to")?);
        let query = TransferQuery { account: caller.account, kind, from, to, page };
        catch_up(&state).await;
        let rows = state.history.transfers(&query).await?;
        let views = state.model.read();
        Ok(Value::Array(rows.iter().filter_map(|row| transfer(&views, row)).collect()))
    }
    .await;
    respond(result)
}

/// A deposit or withdrawal as the venue shows it. Both are made by the operator today, so they
/// come from `administrator` and are confirmed when they exist; the transaction hash is the
/// operator's transaction id digest.
fn transfer(views: &Views, row: &TransferRecord) -> Option<Value> {
    let asset = views.asset(row.asset)?;
    let hash = row.tx.to_string();
    let created = format::naive_datetime(row.time);
    Some(match row.kind {
        TransferKind::Deposit => json!({
            "id": row.seq.0,
            "toAddress": null,
            "fromAddress": null,
            "source": "administrator",
            "status": "confirmed",
            "transactionHash": hash,
            "symbol": asset.symbol.as_str(),
            "quantity": format::amount(asset, row.amount),
            "createdAt": created,
            "fiatAmount": null,
            "fiatCurrency": null,
            "institutionBic": null,
            "platformMemo": null,
        }),
        TransferKind::Withdrawal => json!({
            "id": row.seq.0,
            "blockchain": null,
            "clientId": null,
            "identifier": null,
            "quantity": format::amount(asset, row.amount),
            "fee": "0",
            "symbol": asset.symbol.as_str(),
            "status": "confirmed",
            "toAddress": null,
            "transactionHash": hash,
            "createdAt": created,
            "isInternal": true,
            "subaccountId": null,
            "triggerAt": null,
        }),
    })
}

type Params = Query<HashMap<String, String>>;

/// A query parameter that failed to parse: the venue answers with a plain-text 400.
fn parse_error(name: &str, detail: &str) -> Response {
    (StatusCode::BAD_REQUEST, format!("failed to parse parameter `{name}`: {detail}")).into_response()
}

/// The market the `symbol` parameter names, and its quote asset.
fn market_of(
    state: &Shared,
    params: &HashMap<String, String>,
) -> Result<(MarketSpec, Option<rucksack_types::AssetSpec>), ApiError> {
    let symbol = params.get("symbol").ok_or_else(|| ApiError::bad_request("Missing parameter `symbol`"))?;
    let views = state.model.read();
    let market = views.market_by_symbol(symbol).ok_or_else(ApiError::invalid_symbol)?;
    Ok((market.spec, views.asset(market.spec.quote).copied()))
}

/// `GET /api/v1/trades/history?symbol&limit&offset`: the `limit` trades before the newest
/// `offset`, oldest first.
pub async fn trades(State(state): State<Shared>, Query(params): Params) -> Response {
    let limit = match params.get("limit").map(|l| l.parse::<u32>()) {
        None => 100,
        Some(Ok(limit)) if limit <= MAX_LIMIT => limit,
        Some(_) => return parse_error("limit", "expected an integer up to 1000"),
    };
    let offset = match params.get("offset").map(|o| o.parse::<u64>()) {
        None => 0,
        Some(Ok(offset)) => offset,
        Some(Err(_)) => return parse_error("offset", "expected a non-negative integer"),
    };
    let result = async {
        let (spec, quote) = market_of(&state, &params)?;
        let quote = quote.ok_or_else(ApiError::invalid_symbol)?;
        let page = Page { limit, offset, direction: SortDirection::Desc };
        catch_up(&state).await;
        let mut rows = state.history.trades(spec.id, page).await?;
        rows.reverse();
        Ok(Value::Array(rows.into_iter().map(|t| wire::trade(&spec, &quote, &TradeView::from(t))).collect()))
    }
    .await;
    respond(result)
}

/// `GET /api/v1/klines?symbol&interval&startTime&endTime?` (epoch seconds): whole candles whose
/// start lies in `[startTime, endTime)`, oldest first; the candle in progress holds every trade
/// so far.
pub async fn klines(State(state): State<Shared>, Query(params): Params) -> Response {
    let Some(interval) = params.get("interval").and_then(|i| i.parse::<CandleInterval>().ok()) else {
        return parse_error("interval", "failed to parse \"KlineInterval\": Expect a valid enumeration value.");
    };
    let Some(Ok(start)) = params.get("startTime").map(|s| s.parse::<u64>()) else {
        return parse_error("startTime", "expected epoch seconds");
    };
    let end = match params.get("endTime").map(|s| s.parse::<u64>()) {
        None => None,
        Some(Ok(end)) => Some(end),
        Some(Err(_)) => return parse_error("endTime", "expected epoch seconds"),
    };
    let result = async {
        let (spec, quote) = market_of(&state, &params)?;
        catch_up(&state).await;
        let candles = state.history.candles(spec.id, interval, start, end).await?;
        Ok(Value::Array(candles.iter().map(|c| kline(&spec, quote.as_ref(), c)).collect()))
    }
    .await;
    respond(result)
}

fn kline(spec: &MarketSpec, quote: Option<&rucksack_types::AssetSpec>, candle: &Candle) -> Value {
    json!({
        "start": format::kline_time(Timestamp(candle.start_secs.saturating_mul(1_000_000))),
        "end": format::kline_time(Timestamp(candle.end_secs.saturating_mul(1_000_000))),
        "open": format::price(spec, candle.open),
        "high": format::price(spec, candle.high),
        "low": format::price(spec, candle.low),
        "close": format::price(spec, candle.close),
        "volume": format::quantity(spec, candle.volume),
        "quoteVolume": quote.map_or_else(|| "0".into(), |q| format::amount(q, candle.quote_volume)),
        "trades": candle.trades.to_string(),
    })
}
