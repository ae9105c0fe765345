//! Signed account endpoints: account and balances, placing, querying and cancelling orders,
//! and order and fill history.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use rucksack_types::{AccountId, CancelTarget, Command, Event, MarketSpec};

use crate::error::ApiError;
use crate::request::{self, Fields, market_filter, query_params};
use crate::server::{Shared, Signed, acknowledge, json_body};
use crate::views::{OrderView, Views, placed_order};
use crate::{format, wire};

/// The most orders one batch may hold.
const MAX_BATCH: usize = 50;

fn respond(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(error) => error.into_response(),
    }
}

fn spec_of(views: &Views, order: &OrderView) -> Option<MarketSpec> {
    views.markets.get(usize::from(order.market.0)).map(|m| m.spec)
}

pub async fn account(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, .. } = request;
    let body = {
        let views = state.model.read();
        let account = views.accounts.get(&caller.account);
        let open = account.map_or(0, |a| a.open.len());
        let settings = account.map(|a| a.settings).unwrap_or_default();
        let maker = views.markets.iter().map(|m| m.spec.maker_fee_bps).max().unwrap_or(0);
        let taker = views.markets.iter().map(|m| m.spec.taker_fee_bps).max().unwrap_or(0);
        json!({
            "autoBorrowSettlements": settings.auto_borrow_settlements,
            "autoLend": settings.auto_lend,
            "autoRealizePnl": settings.auto_realize_pnl,
            "autoRepayBorrows": settings.auto_repay_borrows,
            "borrowLimit": "0",
            "futuresMakerFee": "0",
            "futuresTakerFee": "0",
            "leverageLimit": settings.leverage_limit.to_string(),
            "limitOrders": open,
            "liquidating": views.liquidating.contains(&caller.account),
            "positionLimit": "0",
            "spotMakerFee": maker.to_string(),
            "spotTakerFee": taker.to_string(),
            "triggerOrders": 0,
        })
    };
    Json(body).into_response()
}

/// `PATCH /api/v1/account`: change settings; the venue answers 200 with an empty body.
pub async fn update_account(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, body, .. } = request;
    let command = json_body(&body)
        .and_then(|body| request::settings_change(&body))
        .map(|change| Command::UpdateAccountSettings { account: caller.account, change });
    acknowledge(&state, command).await
}

pub async fn capital(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, .. } = request;
    let body = {
        let views = state.model.read();
        let mut balances = serde_json::Map::new();
        if let Some(account) = views.accounts.get(&caller.account) {
            for (asset, balance) in views.assets.iter().zip(&account.balances) {
                if balance.available.is_zero() && balance.locked.is_zero() {
                    continue;
                }
                balances.insert(
                    asset.symbol.as_str().to_string(),
                    json!({
                        "available": format::amount(asset, balance.available),
                        "locked": format::amount(asset, balance.locked),
                        "staked": "0",
                    }),
                );
            }
        }
        Value::Object(balances)
    };
    Json(body).into_response()
}

/// Submits a parsed order and renders the order as it stands after matching.
async fn execute_order(state: &Shared, command: Command) -> Result<Value, ApiError> {
    let reply = state.gateway.execute(command).await?;
    let events = reply.result.map_err(ApiError::from)?;
    let order = placed_order(&events, reply.time).ok_or_else(|| ApiError::bad_request("Order not accepted"))?;
    let views = state.model.read();
    let spec = spec_of(&views, &order).ok_or_else(ApiError::invalid_symbol)?;
    Ok(wire::order(&views, &spec, &order))
}

pub async fn place_order(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, body, .. } = request;
    let result = async {
        let body = json_body(&body)?;
        let command = request::new_order(&state.model.read(), caller.account, &body)?;
        execute_order(&state, command).await
    }
    .await;
    respond(result)
}

pub async fn place_batch(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, body, .. } = request;
    let result = async {
        let body = json_body(&body)?;
        let items = body.as_array().ok_or_else(|| ApiError::bad_request("Request body must be a JSON array"))?;
        if items.is_empty() || items.len() > MAX_BATCH {
            return Err(ApiError::bad_request(format!("A batch holds 1 to {MAX_BATCH} orders")));
        }
        let mut results = Vec::with_capacity(items.len());
        for item in items {
            let parsed = request::new_order(&state.model.read(), caller.account, item);
            let outcome = match parsed {
                Ok(command) => execute_order(&state, command).await,
                Err(error) => Err(error),
            };
            results.push(match outcome {
                Ok(mut order) => {
                    if let Some(map) = order.as_object_mut() {
                        map.insert("operation".into(), json!("Ok"));
                    }
                    order
                }
                Err(error) => json!({ "operation": "Err", "code": error.code, "message": error.message }),
            });
        }
        Ok(Value::Array(results))
    }
    .await;
    respond(result)
}

/// Finds one of the caller's open orders by `orderId` or `clientId`.
fn find_open(views: &Views, account: AccountId, spec: &MarketSpec, target: CancelTarget) -> Option<OrderView> {
    let open = &views.accounts.get(&account)?.open;
    open.values()
        .find(|o| {
            o.market == spec.id
                && match target {
                    CancelTarget::Order(id) => o.id == id,
                    CancelTarget::Client(id) => o.client_id == Some(id),
                }
        })
        .cloned()
}

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", "Order not found")
}

pub async fn query_order(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, uri, .. } = request;
    respond((|| {
        let params = query_params(&uri);
        let value = serde_json::to_value(&params).unwrap_or_default();
        let fields = Fields::new(&value)?;
        let views = state.model.read();
        let spec = *request::market(&views, &fields.required_text("symbol")?)?;
        let target = request::order_target(&fields)?;
        let order = find_open(&views, caller.account, &spec, target).ok_or_else(not_found)?;
        Ok(wire::order(&views, &spec, &order))
    })())
}

pub async fn cancel_order(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, body, .. } = request;
    let result = async {
        let body = json_body(&body)?;
        let fields = Fields::new(&body)?;
        let target = request::order_target(&fields)?;
        let (command, before) = {
            let views = state.model.read();
            let spec = *request::market(&views, &fields.required_text("symbol")?)?;
            let command = Command::CancelOrder { account: caller.account, market: spec.id, target };
            (command, find_open(&views, caller.account, &spec, target).map(|o| (spec, o)))
        };
        let reply = state.gateway.execute(command).await?;
        let events = reply.result.map_err(|reject| match reject {
            rucksack_types::Reject::OrderNotFound => ApiError::bad_request("Order not found"),
            other => ApiError::from(other),
        })?;
        let (spec, mut order) = before.ok_or_else(|| ApiError::bad_request("Order not found"))?;
        apply_closed(&mut order, &events);
        let views = state.model.read();
        Ok(wire::order(&views, &spec, &order))
    }
    .await;
    respond(result)
}

/// Copies the final state an `OrderClosed` event reports into `order`.
fn apply_closed(order: &mut OrderView, events: &[Event]) {
    for event in events {
        if let Event::OrderClosed { order: id, status, reason, executed, executed_quote, .. } = *event
            && id == order.id
        {
            order.status = status;
            order.expiry_reason = reason;
            order.executed = executed;
            order.executed_quote = executed_quote;
        }
    }
}

pub async fn open_orders(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, uri, .. } = request;
    respond((|| {
        let params = query_params(&uri);
        let views = state.model.read();
        let market = market_filter(&views, &params)?;
        let kinds = request::market_kinds(uri.query())?;
        let orders = views
            .accounts
            .get(&caller.account)
            .map(|a| a.open.values().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        Ok(Value::Array(
            orders
                .iter()
                .filter(|o| market.is_none_or(|m| o.market == m))
                .filter_map(|o| {
                    let spec = spec_of(&views, o).filter(|spec| kinds.includes(&spec.kind))?;
                    Some(wire::order(&views, &spec, o))
                })
                .collect(),
        ))
    })())
}

pub async fn cancel_all(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, body, .. } = request;
    let result = async {
        let body = json_body(&body)?;
        let fields = Fields::new(&body)?;
        let (spec, before) = {
            let views = state.model.read();
            let spec = *request::market(&views, &fields.required_text("symbol")?)?;
            let open: Vec<OrderView> = views
                .accounts
                .get(&caller.account)
                .map(|a| a.open.values().filter(|o| o.market == spec.id).cloned().collect())
                .unwrap_or_default();
            (spec, open)
        };
        let scope = match fields.text("orderType")?.as_deref() {
            None => rucksack_types::CancelScope::All,
            Some("RestingLimitOrder") => rucksack_types::CancelScope::Resting,
            Some("ConditionalOrder") => rucksack_types::CancelScope::Triggers,
            Some(_) => return Err(ApiError::bad_request("orderType must be RestingLimitOrder or ConditionalOrder")),
        };
        let command = Command::CancelAll { account: caller.account, market: spec.id, scope };
        let reply = state.gateway.execute(command).await?;
        let events = reply.result.map_err(ApiError::from)?;
        let views = state.model.read();
        let cancelled: Vec<Value> = before
            .into_iter()
            .filter_map(|mut order| {
                let closed =
                    events.iter().any(|e| matches!(e, Event::OrderClosed { order: id, .. } if *id == order.id));
                closed.then(|| {
                    apply_closed(&mut order, &events);
                    wire::order(&views, &spec, &order)
                })
            })
            .collect();
        Ok(Value::Array(cancelled))
    }
    .await;
    respond(result)
}
