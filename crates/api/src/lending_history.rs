//! The money market's history from the history store: an account's borrow-lend movements and
//! interest payments, and the pools' rates over time.

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use rucksack_store::{Page, PoolQuery, SortDirection};
use rucksack_types::{AccountId, AssetId, Timestamp};

use crate::error::ApiError;
use crate::format;
use crate::history::{catch_up, page, respond};
use crate::request::query_params;
use crate::server::{Shared, Signed};
use crate::views::Views;

/// Interest is charged hourly; Backpack reports the interval in milliseconds.
const INTEREST_INTERVAL_MS: u64 = 3_600_000;
const MICROS_PER_DAY: u64 = 86_400_000_000;

/// The id the API gives an account's position in a pool (`/api/v1/borrowLend/positions`).
pub fn position_id(account: AccountId, asset: AssetId) -> String {
    format!("{}-{}", account.0, asset.0)
}

/// The asset a history query is about: `asset`/`symbol` as an asset, or a spot market's base.
fn asset_filter(
    views: &Views,
    params: &std::collections::HashMap<String, String>,
) -> Result<Option<AssetId>, ApiError> {
    let named = params.get("asset").or_else(|| params.get("symbol"));
    let Some(name) = named else { return Ok(None) };
    if let Some(asset) = views.asset_by_symbol(name) {
        return Ok(Some(asset.id));
    }
    views.market_by_symbol(name).map(|m| Some(m.spec.base)).ok_or_else(ApiError::invalid_asset)
}

/// `GET /wapi/v1/history/borrowLend`: the account's movements between its balance and the pools.
pub async fn movements(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, uri, .. } = request;
    let result = async {
        let params = query_params(&uri);
        let wanted = page(&params, SortDirection::Desc)?;
        let asset = asset_filter(&state.model.read(), &params)?;
        let kind = params.get("type").cloned();
        let sources: Option<Vec<String>> = params.get("sources").map(|s| s.split(',').map(str::to_string).collect());
        let position = params.get("positionId").cloned();
        catch_up(&state).await;
        let every = Page { limit: u32::MAX, offset: 0, direction: wanted.direction };
        let rows = state.history.pool_movements(&PoolQuery { account: caller.account, asset, page: every }).await?;
        let views = state.model.read();
        let selected = rows.iter().filter(|m| {
            kind.as_deref().is_none_or(|k| k == m.event_type())
                && sources.as_ref().is_none_or(|s| s.iter().any(|s| s == m.source.as_str()))
                && position.as_deref().is_none_or(|p| p == position_id(m.account, m.asset))
        });
        let page_rows = selected.skip(wanted.offset as usize).take(wanted.limit as usize);
        Ok(Value::Array(
            page_rows
                .filter_map(|m| {
                    let asset = views.asset(m.asset)?;
                    Some(json!({
                        "eventType": m.event_type(),
                        "positionId": position_id(m.account, m.asset),
                        "positionQuantity": format::signed_amount(asset, m.value),
                        "quantity": format::amount(asset, m.amount),
                        "source": m.source.as_str(),
                        "symbol": asset.symbol.as_str(),
                        "timestamp": format::naive_datetime(m.time),
                        "spotMarginOrderId": null,
                    }))
                })
                .collect(),
        ))
    }
    .await;
    respond(result)
}

/// `GET /wapi/v1/history/interest`: the account's interest payments, hour by hour.
pub async fn interest(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, uri, .. } = request;
    let result = async {
        let params = query_params(&uri);
        let wanted = page(&params, SortDirection::Desc)?;
        if params.get("source").is_some_and(|s| s == "UnrealizedPnl") {
            return Ok(json!([]));
        }
        let asset = asset_filter(&state.model.read(), &params)?;
        catch_up(&state).await;
        let rows = state.history.interest_payments(&PoolQuery { account: caller.account, asset, page: wanted }).await?;
        let views = state.model.read();
        Ok(Value::Array(
            rows.iter()
                .filter_map(|p| {
                    let asset = views.asset(p.asset)?;
                    let market = views
                        .markets
                        .iter()
                        .find(|m| m.spec.base == p.asset)
                        .map_or_else(|| asset.symbol.as_str().to_string(), |m| m.spec.symbol.as_str().to_string());
                    Some(json!({
                        "paymentType": p.kind.as_str(),
                        "interestRate": p.annual_rate.to_string(),
                        "interval": INTEREST_INTERVAL_MS,
                        "marketSymbol": market,
                        "positionId": position_id(caller.account, p.asset),
                        "quantity": format::signed_amount(asset, p.quantity),
                        "symbol": asset.symbol.as_str(),
                        "timestamp": format::naive_datetime(p.time),
                    }))
                })
                .collect(),
        ))
    }
    .await;
    respond(result)
}

/// `GET /api/v1/borrowLend/markets/history?interval=1d|1w|1month|1year&symbol?`: the pools'
/// hourly rates and totals over the interval.
pub async fn markets_history(State(state): State<Shared>, uri: axum::http::Uri) -> Response {
    let result = async {
        let params = query_params(&uri);
        let days = match params.get("interval").map(String::as_str) {
            Some("1d") => 1,
            Some("1w") => 7,
            Some("1month") => 30,
            Some("1year") => 365,
            _ => return Err(ApiError::bad_request("interval must be one of 1d, 1w, 1month, 1year")),
        };
        let (asset, now) = {
            let views = state.model.read();
            let asset = match params.get("symbol") {
                Some(symbol) => Some(views.asset_by_symbol(symbol).ok_or_else(ApiError::invalid_asset)?.id),
                None => None,
            };
            (asset, views.time)
        };
        let from = Timestamp(now.0.saturating_sub(days * MICROS_PER_DAY));
        catch_up(&state).await;
        let rows = state.history.pool_hours(asset, from).await?;
        let views = state.model.read();
        Ok(Value::Array(
            rows.iter()
                .filter_map(|record| {
                    let h = &record.charge;
                    let spec = views.asset(h.asset)?;
                    Some(json!({
                        "borrowInterestRate": h.borrow_rate.to_string(),
                        "borrowedQuantity": format::amount(spec, h.borrowed),
                        "lendInterestRate": h.lend_rate.to_string(),
                        "lentQuantity": format::amount(spec, h.lent),
                        "timestamp": format::rfc3339(h.hour),
                        "utilization": h.utilization.to_string(),
                    }))
                })
                .collect(),
        ))
    }
    .await;
    respond(result)
}
