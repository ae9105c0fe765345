//! Perpetual futures on the wire: mark prices, open interest and positions, read from the
//! published views.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use rucksack_engine::margin::AccountHealth;
use rucksack_engine::perp::{PerpHolding, PerpMarket};
use rucksack_types::{AssetSpec, FinePrice, Lots, MarketSpec};

use crate::error::ApiError;
use crate::format;
use crate::server::{Shared, Signed};
use crate::views::{AccountView, MarketView, Views};

type Params = Query<HashMap<String, String>>;

fn respond(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(error) => error.into_response(),
    }
}

/// The perpetual markets a request names: the one `symbol` says (which must be a perpetual), or
/// all of them.
fn perp_markets<'v>(
    views: &'v Views,
    symbol: Option<&String>,
) -> Result<Vec<(&'v MarketView, &'v PerpMarket)>, ApiError> {
    let perps = views.markets.iter().filter_map(|m| m.perp.as_ref().map(|p| (m, p)));
    match symbol {
        None => Ok(perps.collect()),
        Some(symbol) => {
            let found: Vec<_> = perps.filter(|(m, _)| m.spec.symbol.as_str() == symbol).collect();
            if found.is_empty() { Err(ApiError::invalid_symbol()) } else { Ok(found) }
        }
    }
}

fn price(spec: &MarketSpec, price: Option<FinePrice>) -> String {
    price.map_or_else(|| "0".to_string(), |p| p.to_decimal_string(spec.tick_size))
}

/// `GET /api/v1/markPrices`: each perpetual's mark and index price, the funding rate its running
/// interval would pay, and when that interval ends.
pub async fn mark_prices(State(state): State<Shared>, RawQuery(query): RawQuery, Query(params): Params) -> Response {
    let views = state.model.read();
    respond((|| {
        if !crate::request::market_kinds(query.as_deref())?.perp {
            return Ok(json!([]));
        }
        let rows = perp_markets(&views, params.get("symbol"))?
            .into_iter()
            .map(|(market, perp)| {
                json!({
                    "symbol": market.spec.symbol.as_str(),
                    "markPrice": price(&market.spec, perp.mark),
                    "indexPrice": price(&market.spec, perp.index),
                    "fundingRate": perp.funding_estimate().to_string(),
                    "nextFundingTimestamp": perp.next_funding(views.time).millis(),
                })
            })
            .collect();
        Ok(Value::Array(rows))
    })())
}

/// `GET /api/v1/openInterest`: lots held long (equal to lots held short), in base units.
pub async fn open_interest(State(state): State<Shared>, Query(params): Params) -> Response {
    let views = state.model.read();
    respond(perp_markets(&views, params.get("symbol")).map(|markets| {
        Value::Array(
            markets
                .into_iter()
                .map(|(market, perp)| {
                    json!({
                        "symbol": market.spec.symbol.as_str(),
                        "openInterest": format::quantity(&market.spec, Lots(perp.open_interest)),
                        "timestamp": views.time.millis(),
                    })
                })
                .collect(),
        )
    }))
}

/// `GET /api/v1/position`: the caller's open perpetual positions with their margin.
pub async fn positions(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, uri, .. } = request;
    let views = state.model.read();
    respond((|| {
        let params = crate::request::query_params(&uri);
        let markets = perp_markets(&views, params.get("symbol"))?;
        if !crate::request::market_kinds(uri.query())?.perp {
            return Ok(json!([]));
        }
        let Some(account) = views.accounts.get(&caller.account) else { return Ok(json!([])) };
        let equity = account_health(&views, account).net_equity();
        let rows = account
            .perps
            .iter()
            .filter(|h| h.position.size != 0)
            .filter_map(|holding| {
                let (market, perp) = markets.iter().find(|(m, _)| m.spec.id == holding.market)?;
                position_json(&views, caller.account, market, perp, holding, account, equity)
            })
            .collect();
        Ok(Value::Array(rows))
    })())
}

/// The id the API gives an account's position in a perpetual market.
pub fn position_id(account: rucksack_types::AccountId, market: rucksack_types::MarketId) -> String {
    format!("{}-{}", account.0, market.0)
}

/// An account's health now (open orders not counted), valued as the risk engine values it.
pub fn account_health(views: &Views, account: &AccountView) -> AccountHealth {
    let holdings = rucksack_engine::liquidation::AccountHoldings {
        balances: &account.balances,
        positions: &account.positions,
        perps: &account.perps,
        leverage_limit: account.settings.leverage_limit,
    };
    let perp_market =
        |market: rucksack_types::MarketId| views.markets.get(usize::from(market.0)).and_then(|m| m.perp.as_ref());
    rucksack_engine::liquidation::health_now(&views.risk_inputs(), holdings, perp_market)
}

/// Fine units as a quote amount, rounded toward zero.
pub(crate) fn quote_amount(quote: &AssetSpec, perp: &PerpMarket, fine: i128) -> String {
    format::amount(quote, perp.quote_units(fine))
}

fn position_json(
    views: &Views,
    account: rucksack_types::AccountId,
    market: &MarketView,
    perp: &PerpMarket,
    holding: &PerpHolding,
    view: &AccountView,
    equity: rucksack_types::UsdValue,
) -> Option<Value> {
    let spec = &market.spec;
    let quote = views.asset(spec.quote)?;
    let figures = crate::stream::positions::figures(views, account, spec.id, holding.position)?;
    let valuation = perp.valuation(&views.risk_inputs(), &view.balances, &view.positions)?;
    let claim = holding.claim(valuation.mark, perp.cumulative_funding);
    let health = valuation.health(holding.position.size, claim, view.settings.leverage_limit);
    Some(json!({
        "symbol": spec.symbol.as_str(),
        "positionId": position_id(account, spec.id),
        "userId": account.0,
        "subaccountId": null,
        "netQuantity": format::quantity(spec, Lots(figures.size)),
        "netExposureQuantity": format::quantity(spec, Lots(figures.exposure)),
        "netExposureNotional": format::amount(quote, figures.exposure_notional),
        "netCost": quote_amount(quote, perp, holding.position.entry_value),
        "entryPrice": price(spec, figures.entry),
        "breakEvenPrice": price(spec, figures.break_even),
        "markPrice": price(spec, Some(figures.mark)),
        "estLiquidationPrice": price(spec, liquidation_price(&valuation, holding.position.size, equity, health)),
        "pnlUnrealized": format::amount(quote, figures.unrealized),
        "pnlRealized": format::amount(quote, figures.realized),
        "cumulativeFundingPayment": quote_amount(quote, perp, holding.position.cumulative_funding),
        "cumulativeInterest": "0",
        "imf": figures.imf.to_string(),
        "mmf": figures.mmf.to_string(),
        "imfFunction": crate::wire::effective_margin_function(&perp.spec.imf, valuation.multiplier),
        "mmfFunction": crate::wire::effective_margin_function(&perp.spec.mmf, valuation.multiplier),
    }))
}

/// The mark at which the account's net equity would meet this position's maintenance
/// requirement if nothing else changed: `E + s × (P − M) = mmf × |s| × P`, so
/// `P = (s × M − E) / (s − mmf × |s|)`, with the equity counted a dollar per quote unit.
fn liquidation_price(
    valuation: &rucksack_engine::margin::perp::PerpValuation<'_>,
    size: i64,
    equity: rucksack_types::UsdValue,
    health: AccountHealth,
) -> Option<FinePrice> {
    const ONE: i128 = 1_000_000_000_000;
    let mmf = i128::from(health.mmf()?.0);
    let size = i128::from(size);
    let decimals = u32::from(valuation.quote.decimals);
    let quote_units = if decimals >= 6 {
        equity.0.checked_mul(rucksack_types::decimal::pow10(decimals - 6)?)?
    } else {
        equity.0 / rucksack_types::decimal::pow10(6 - decimals)?
    };
    let equity_fine = quote_units.checked_mul(valuation.fine_per_quote_unit)?;
    let numerator = size.checked_mul(valuation.mark.0)?.checked_sub(equity_fine)?.checked_mul(ONE)?;
    let denominator = size * ONE - mmf * size.abs();
    if denominator == 0 {
        return None;
    }
    Some(FinePrice((numerator / denominator).max(0)))
}
