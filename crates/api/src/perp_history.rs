//! Perpetual futures' history from the history store: markets' funding rates, and an account's
//! funding payments, settlements and positions.

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use rucksack_engine::perp::PerpMarket;
use rucksack_store::{
    FundingPaymentQuery, PositionQuery, PositionState, SettlementQuery, SettlementSource, SortDirection,
};
use rucksack_types::{AccountId, Amount, AssetSpec, FinePrice, MarketId, MarketSpec};

use crate::error::ApiError;
use crate::format;
use crate::history::{catch_up, page, respond};
use crate::request::query_params;
use crate::server::{Shared, Signed};
use crate::stream::positions::PositionFigures;
use crate::views::Views;

/// A perpetual market by `symbol`, with its quote asset and state.
fn perp_market<'v>(views: &'v Views, symbol: &str) -> Result<(MarketSpec, &'v AssetSpec, &'v PerpMarket), ApiError> {
    let market = views.market_by_symbol(symbol).ok_or_else(ApiError::invalid_symbol)?;
    let perp = market.perp.as_ref().ok_or_else(ApiError::invalid_symbol)?;
    let quote = views.asset(market.spec.quote).ok_or_else(ApiError::invalid_symbol)?;
    Ok((market.spec, quote, perp))
}

/// The perpetual market `symbol` names, if any.
fn market_filter(
    views: &Views,
    params: &std::collections::HashMap<String, String>,
) -> Result<Option<MarketId>, ApiError> {
    params.get("symbol").map(|symbol| perp_market(views, symbol).map(|(spec, _, _)| spec.id)).transpose()
}

/// `GET /api/v1/fundingRates?symbol`: a market's funding rates, newest first, starting with the
/// interval in progress.
pub async fn funding_rates(State(state): State<Shared>, uri: axum::http::Uri) -> Response {
    let result = async {
        let params = query_params(&uri);
        let symbol = params.get("symbol").ok_or_else(|| ApiError::bad_request("Missing parameter `symbol`"))?;
        let (market, running) = {
            let views = state.model.read();
            let (spec, _, perp) = perp_market(&views, symbol)?;
            (spec, (perp.funding_estimate(), perp.next_funding(views.time)))
        };
        let wanted = page(&params, SortDirection::Desc)?;
        catch_up(&state).await;
        let row = |rate: rucksack_types::Fraction, end: rucksack_types::Timestamp| {
            json!({
                "symbol": market.symbol.as_str(),
                "fundingRate": rate.to_string(),
                "intervalEndTimestamp": format::naive_datetime(end),
            })
        };
        // The venue lists the interval in progress too, at its running estimate, first.
        let first_page = wanted.offset == 0 && wanted.direction == SortDirection::Desc;
        let paid = rucksack_store::Page { limit: wanted.limit.saturating_sub(u32::from(first_page)), ..wanted };
        let rows = state.history.funding_rates(market.id, paid).await?;
        let mut listed: Vec<Value> = Vec::with_capacity(rows.len() + 1);
        if first_page && wanted.limit > 0 {
            listed.push(row(running.0, running.1));
        }
        listed.extend(rows.iter().map(|r| row(r.rate, r.interval_end)));
        Ok(Value::Array(listed))
    }
    .await;
    respond(result)
}

/// `GET /wapi/v1/history/funding`: the account's funding payments (positive: received).
pub async fn funding_payments(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, uri, .. } = request;
    let result = async {
        let params = query_params(&uri);
        let wanted = page(&params, SortDirection::Desc)?;
        let market = market_filter(&state.model.read(), &params)?;
        catch_up(&state).await;
        let query = FundingPaymentQuery { account: caller.account, market, page: wanted };
        let rows = state.history.funding_payments(&query).await?;
        let views = state.model.read();
        Ok(Value::Array(
            rows.iter()
                .filter_map(|row| {
                    let spec = views.markets.get(usize::from(row.market.0))?.spec;
                    let quote = views.asset(spec.quote)?;
                    Some(json!({
                        "userId": row.account.0,
                        "subaccountId": 0,
                        "symbol": spec.symbol.as_str(),
                        "quantity": format::amount(quote, row.quantity),
                        "fundingRate": row.rate.map(|r| r.to_string()),
                        "intervalEndTimestamp": row.interval_end.map(format::naive_datetime),
                    }))
                })
                .collect(),
        ))
    }
    .await;
    respond(result)
}

/// `GET /wapi/v1/history/settlement`: what realization moved between the account's positions and
/// its USDC balance, by source.
pub async fn settlements(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, uri, .. } = request;
    let result = async {
        let params = query_params(&uri);
        let wanted = page(&params, SortDirection::Desc)?;
        let source = match params.get("source") {
            None => None,
            Some(name) => Some(SettlementSource::from_name(name).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "source must be one of RealizePnl, TradingFees, FundingPayment, not {name}"
                ))
            })?),
        };
        catch_up(&state).await;
        let rows =
            state.history.settlements(&SettlementQuery { account: caller.account, source, page: wanted }).await?;
        let views = state.model.read();
        Ok(Value::Array(
            rows.iter()
                .filter_map(|row| {
                    let spec = views.markets.get(usize::from(row.market.0))?.spec;
                    let quote = views.asset(spec.quote)?;
                    Some(json!({
                        "userId": row.account.0,
                        "subaccountId": null,
                        "source": row.source.as_str(),
                        "quantity": format::amount(quote, row.quantity),
                        "timestamp": format::naive_datetime(row.time),
                        "positionId": crate::perp::position_id(row.account, spec.id),
                        "engineSequence": row.seq.0,
                    }))
                })
                .collect(),
        ))
    }
    .await;
    respond(result)
}

/// The figures of the account's position in `market` as it stands.
fn live_position(views: &Views, account: AccountId, market: MarketId) -> Option<PositionFigures> {
    let holding = views.accounts.get(&account)?.perps.iter().find(|h| h.market == market)?;
    crate::stream::positions::figures(views, account, market, holding.position)
}

/// `GET /wapi/v1/history/position`: the account's positions, one row per lifetime (opened when
/// the size left zero, closed when it returned to zero or flipped).
pub async fn positions(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, uri, .. } = request;
    let result = async {
        let params = query_params(&uri);
        let wanted = page(&params, SortDirection::Desc)?;
        let market = market_filter(&state.model.read(), &params)?;
        let state_filter = match params.get("state").map(String::as_str) {
            None => None,
            Some("Open") => Some(PositionState::Open),
            Some("Closed") => Some(PositionState::Closed),
            Some(other) => return Err(ApiError::bad_request(format!("state must be Open or Closed, not {other}"))),
        };
        catch_up(&state).await;
        let query = PositionQuery { account: caller.account, market, state: state_filter, page: wanted };
        let rows = state.history.positions(&query).await?;
        let views = state.model.read();
        Ok(Value::Array(
            rows.iter()
                .filter_map(|row| {
                    let market = views.markets.get(usize::from(row.market.0))?;
                    let (spec, perp) = (market.spec, market.perp.as_ref()?);
                    let quote = views.asset(spec.quote)?;
                    let open = row.state() == PositionState::Open;
                    let size = i128::from(row.size);
                    let entry = (size != 0).then(|| FinePrice(row.entry_value / size));
                    let price = |p: Option<FinePrice>| {
                        p.map_or_else(|| "0".to_string(), |p| p.to_decimal_string(spec.tick_size))
                    };
                    // An open lifetime is the account's position now: its exposure, unrealized
                    // PnL and margin are the live ones; a closed one has none.
                    let live = open.then(|| live_position(&views, row.account, row.market)).flatten();
                    let lots = |lots: i64| format::quantity(&spec, rucksack_types::Lots(lots));
                    Some(json!({
                        "id": format!("{}-{}", row.id.seq.0, row.id.position),
                        "symbol": spec.symbol.as_str(),
                        "state": row.state().as_str(),
                        "netQuantity": lots(if open { row.size } else { 0 }),
                        "netExposureQuantity": lots(live.map_or(0, |f| f.exposure)),
                        "netExposureNotional": format::amount(quote, live.map_or(Amount::ZERO, |f| f.exposure_notional)),
                        "netCost": crate::perp::quote_amount(quote, perp, if open { row.entry_value } else { 0 }),
                        "entryPrice": price(entry),
                        "markPrice": price(perp.mark),
                        "cumulativePnlRealized": crate::perp::quote_amount(quote, perp, row.realized_pnl),
                        "unrealizedPnl": format::amount(quote, live.map_or(Amount::ZERO, |f| f.unrealized)),
                        "imf": live.map_or_else(|| "0".to_string(), |f| f.imf.to_string()),
                        // Perpetual positions borrow nothing here: no interest accrues on them.
                        "interest": "0",
                        "fees": format::amount(quote, row.fees),
                        "closedVolume": lots(row.closed_volume),
                        "liquidated": lots(row.liquidated),
                        "liquidationFees": format::amount(quote, row.liquidation_fees),
                        "openedAt": format::naive_datetime(row.opened_at),
                        "closedAt": row.closed_at.map(format::naive_datetime),
                    }))
                })
                .collect(),
        ))
    }
    .await;
    respond(result)
}
