//! Public market data: assets, markets, depth, trades, tickers and klines, all read from the
//! published views.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use rucksack_types::{Amount, Lots, Ticks, Timestamp};

use crate::error::ApiError;
use crate::format;
use crate::server::{Shared, now_ms};
use crate::views::{MarketView, TradeView, Views};
use crate::wire;

type Params = Query<HashMap<String, String>>;

fn market_of<'v>(views: &'v Views, params: &HashMap<String, String>) -> Result<&'v MarketView, ApiError> {
    let symbol = params.get("symbol").ok_or_else(|| ApiError::bad_request("Missing parameter `symbol`"))?;
    views.market_by_symbol(symbol).ok_or_else(ApiError::invalid_symbol)
}

/// A query parameter that failed to parse: the venue answers with a plain-text 400.
struct ParamError {
    name: &'static str,
    detail: String,
}

impl IntoResponse for ParamError {
    fn into_response(self) -> Response {
        let message = format!("failed to parse parameter `{}`: {}", self.name, self.detail);
        (StatusCode::BAD_REQUEST, message).into_response()
    }
}

fn parse_error(name: &'static str, detail: &str) -> Response {
    ParamError { name, detail: detail.to_string() }.into_response()
}

fn respond(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(error) => error.into_response(),
    }
}

pub async fn assets(State(state): State<Shared>) -> Response {
    let views = state.model.read();
    Json(Value::Array(views.assets.iter().map(wire::asset).collect())).into_response()
}

/// `GET /api/v1/markets`: spot and perpetual markets, or the kinds a `marketType` filter (the
/// key may repeat) names.
pub async fn markets(State(state): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let kinds = match crate::request::market_kinds(query.as_deref()) {
        Ok(kinds) => kinds,
        Err(error) => return error.into_response(),
    };
    let views = state.model.read();
    Json(Value::Array(
        views.markets.iter().filter(|m| kinds.includes(&m.spec.kind)).map(|m| wire::market(&views, &m.spec)).collect(),
    ))
    .into_response()
}

pub async fn market(State(state): State<Shared>, Query(params): Params) -> Response {
    let views = state.model.read();
    respond(market_of(&views, &params).map(|m| wire::market(&views, &m.spec)))
}

pub async fn depth(State(state): State<Shared>, Query(params): Params) -> Response {
    let limit = match params.get("limit").map(String::as_str) {
        None => 1_000,
        Some(text @ ("5" | "10" | "20" | "50" | "100" | "500" | "1000")) => text.parse().unwrap_or(1_000),
        Some(_) => {
            return parse_error("limit", "failed to parse \"DepthLimit\": Expect a valid enumeration value.");
        }
    };
    let (spec, depth) = {
        let views = state.model.read();
        match market_of(&views, &params) {
            Ok(market) => (market.spec, market.depth.clone()),
            Err(error) => return error.into_response(),
        }
    };
    // Serialised outside the lock: the snapshot is immutable.
    Json(wire::depth(&spec, &depth, limit)).into_response()
}

fn limit_param(params: &HashMap<String, String>, default: usize, max: usize) -> Result<usize, ParamError> {
    match params.get("limit") {
        None => Ok(default),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if n <= max => Ok(n),
            _ => Err(ParamError { name: "limit", detail: format!("expected an integer up to {max}") }),
        },
    }
}

pub async fn trades(State(state): State<Shared>, Query(params): Params) -> Response {
    let limit = match limit_param(&params, 100, 1_000) {
        Ok(limit) => limit,
        Err(error) => return error.into_response(),
    };
    let views = state.model.read();
    respond(market_of(&views, &params).map(|market| trade_list(&views, market, limit)))
}

/// The newest `limit` trades, oldest first.
fn trade_list(views: &Views, market: &MarketView, limit: usize) -> Value {
    let Some(quote) = views.asset(market.spec.quote) else {
        return json!([]);
    };
    let start = market.trades.len().saturating_sub(limit);
    Value::Array(market.trades.range(start..).map(|t| wire::trade(&market.spec, quote, t)).collect())
}

/// Open, high, low, close, volumes and count of a run of trades.
struct Summary {
    first: Ticks,
    last: Ticks,
    high: Ticks,
    low: Ticks,
    volume: Lots,
    quote_volume: Amount,
    trades: u64,
}

fn summarise<'a>(trades: impl Iterator<Item = &'a TradeView>) -> Option<Summary> {
    let mut summary: Option<Summary> = None;
    for trade in trades {
        let s = summary.get_or_insert(Summary {
            first: trade.price,
            last: trade.price,
            high: trade.price,
            low: trade.price,
            volume: Lots::ZERO,
            quote_volume: Amount::ZERO,
            trades: 0,
        });
        s.last = trade.price;
        s.high = s.high.max(trade.price);
        s.low = s.low.min(trade.price);
        s.volume.0 += trade.quantity.0;
        s.quote_volume.0 += trade.quote.0;
        s.trades += 1;
    }
    summary
}

fn ticker_of(views: &Views, market: &MarketView, window_micros: u64, now: Timestamp) -> Value {
    let spec = &market.spec;
    let since = now.0.saturating_sub(window_micros);
    let recent = market.trades.iter().filter(|t| t.time.0 >= since);
    let quote = views.asset(spec.quote);
    let amount = |a: Amount| quote.map_or_else(|| "0".into(), |q| format::amount(q, a));
    match summarise(recent) {
        Some(s) => {
            // priceChangePercent is a fraction with six decimals, rounded towards zero.
            let change = s.last.0 - s.first.0;
            let fraction = i128::from(change) * 1_000_000 / i128::from(s.first.0.max(1));
            json!({
                "symbol": spec.symbol.as_str(),
                "firstPrice": format::price(spec, s.first),
                "lastPrice": format::price(spec, s.last),
                "high": format::price(spec, s.high),
                "low": format::price(spec, s.low),
                "priceChange": format::price(spec, Ticks(change)),
                "priceChangePercent": rucksack_types::decimal::format_scaled(fraction, 6),
                "volume": format::quantity(spec, s.volume),
                "quoteVolume": amount(s.quote_volume),
                "trades": s.trades.to_string(),
            })
        }
        None => {
            // Every ticker field is a required decimal: a market that never traded shows zeros
            // (typed clients such as bpx-api-client reject nulls here).
            let last = market.trades.back().map_or_else(|| "0".to_string(), |t| format::price(spec, t.price));
            json!({
                "symbol": spec.symbol.as_str(),
                "firstPrice": last,
                "lastPrice": last,
                "high": last,
                "low": last,
                "priceChange": "0",
                "priceChangePercent": "0",
                "volume": "0",
                "quoteVolume": "0",
                "trades": "0",
            })
        }
    }
}

fn ticker_window(params: &HashMap<String, String>) -> Result<u64, ParamError> {
    match params.get("interval").map(String::as_str) {
        None | Some("1d") => Ok(86_400_000_000),
        Some("1w") => Ok(7 * 86_400_000_000),
        Some(_) => Err(ParamError {
            name: "interval",
            detail: "failed to parse \"TickerInterval\": Expect a valid enumeration value.".into(),
        }),
    }
}

fn now() -> Timestamp {
    Timestamp(now_ms() * 1_000)
}

pub async fn ticker(State(state): State<Shared>, Query(params): Params) -> Response {
    let window = match ticker_window(&params) {
        Ok(window) => window,
        Err(error) => return error.into_response(),
    };
    let views = state.model.read();
    respond(market_of(&views, &params).map(|market| ticker_of(&views, market, window, now())))
}

pub async fn tickers(State(state): State<Shared>, Query(params): Params) -> Response {
    let window = match ticker_window(&params) {
        Ok(window) => window,
        Err(error) => return error.into_response(),
    };
    let views = state.model.read();
    let now = now();
    Json(Value::Array(views.markets.iter().map(|m| ticker_of(&views, m, window, now)).collect())).into_response()
}
