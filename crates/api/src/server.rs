//! The HTTP surface: Backpack's REST paths, a few admin routes, and the glue that authenticates
//! signed requests, submits commands through the [`Gateway`] and answers queries from the
//! [`ReadModel`].

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use rucksack_types::decimal::Sign;
use rucksack_types::{AccountId, Amount, ApiKey, AssetSpec, Command, Decimal, FieldError, Permissions};

use crate::auth::{ApiKeyText, AuthHeaders, Authenticator, RequestParts};
use crate::error::ApiError;
use crate::gateway::Gateway;
use crate::views::ReadModel;
use crate::{history, market_data, orders};

/// Largest request body accepted (a batch of orders is a few KiB).
const MAX_BODY: usize = 64 * 1024;

pub struct AppState {
    pub model: ReadModel,
    pub gateway: Arc<Gateway>,
    pub auth: Authenticator,
    pub admin_token: String,
    /// Orders, fills, transfers, trades and candles, as the projector stores them.
    pub history: rucksack_store::HistoryStore,
    pub history_progress: history::HistoryProgress,
    /// WebSocket subscriptions and fan-out.
    pub hub: crate::stream::Hub,
}

pub type Shared = Arc<AppState>;

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/v1/status", get(|| async { Json(json!({ "status": "Ok", "message": null })) }))
        .route("/api/v1/ping", get(|| async { "pong" }))
        .route("/api/v1/time", get(|| async { now_ms().to_string() }))
        .route("/api/v1/assets", get(market_data::assets))
        .route("/api/v1/collateral", get(crate::lending::collateral_parameters))
        .route("/api/v1/capital/collateral", get(crate::lending::account_collateral))
        .route("/api/v1/borrowLend/markets", get(crate::lending::markets))
        .route("/api/v1/borrowLend/positions", get(crate::lending::positions))
        .route("/api/v1/borrowLend/markets/history", get(crate::lending_history::markets_history))
        .route("/wapi/v1/history/borrowLend", get(crate::lending_history::movements))
        .route("/wapi/v1/history/interest", get(crate::lending_history::interest))
        .route("/api/v1/borrowLend", post(crate::lending::execute))
        .route("/api/v1/markets", get(market_data::markets))
        .route("/api/v1/markPrices", get(crate::perp::mark_prices))
        .route("/api/v1/openInterest", get(crate::perp::open_interest))
        .route("/api/v1/position", get(crate::perp::positions))
        .route("/api/v1/fundingRates", get(crate::perp_history::funding_rates))
        .route("/wapi/v1/history/funding", get(crate::perp_history::funding_payments))
        .route("/wapi/v1/history/settlement", get(crate::perp_history::settlements))
        .route("/wapi/v1/history/position", get(crate::perp_history::positions))
        .route("/api/v1/market", get(market_data::market))
        .route("/api/v1/securities", get(|| async { Json(json!([])) }))
        .route("/api/v1/ticker", get(market_data::ticker))
        .route("/api/v1/tickers", get(market_data::tickers))
        .route("/api/v1/depth", get(market_data::depth))
        .route("/api/v1/trades", get(market_data::trades))
        .route("/api/v1/trades/history", get(history::trades))
        .route("/api/v1/klines", get(history::klines))
        .route("/api/v1/account", get(orders::account).patch(orders::update_account))
        .route("/api/v1/account/limits/order", get(crate::lending::max_order))
        .route("/api/v1/account/limits/borrow", get(crate::lending::max_borrow))
        .route("/api/v1/account/limits/withdrawal", get(crate::lending::max_withdrawal))
        .route("/api/v1/capital", get(orders::capital))
        .route("/api/v1/order", get(orders::query_order).post(orders::place_order).delete(orders::cancel_order))
        .route("/api/v1/orders", get(orders::open_orders).post(orders::place_batch).delete(orders::cancel_all))
        .route("/wapi/v1/history/orders", get(history::orders))
        .route("/wapi/v1/history/fills", get(history::fills))
        .route("/wapi/v1/capital/deposits", get(history::deposits))
        .route("/wapi/v1/capital/withdrawals", get(history::withdrawals).post(crate::lending::request_withdrawal))
        .route("/admin/v1/accounts", post(admin_create_account))
        .route("/admin/v1/deposits", post(admin_deposit))
        .route("/admin/v1/insurance", get(admin_insurance).post(admin_fund_insurance))
        .route("/admin/v1/backstop", get(admin_backstop_providers).post(admin_set_backstop))
        .route("/", get(crate::stream::session::upgrade))
        .route("/ws", get(crate::stream::session::upgrade))
        .route("/ws/", get(crate::stream::session::upgrade))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), limit_by_ip))
        .with_state(state)
}

/// Per-IP rate limit on every request. The machine's own loopback clients (the operator's
/// tools and the demo bots) are not limited by address; their keys still are.
async fn limit_by_ip(State(state): State<Shared>, request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>()
        && !peer.ip().is_loopback()
        && let Err(error) = state.auth.check_ip(peer.ip(), now_ms())
    {
        return ApiError::from(error).into_response();
    }
    next.run(request).await
}

/// Who a verified request acts for.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub account: AccountId,
}

/// Verifies a signed request: headers, time window, key, signature, permission, rate limit and
/// replay, in that order (see [`Authenticator::authenticate`]).
pub fn authenticate(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Caller, ApiError> {
    let auth_headers = AuthHeaders::from_fn(|name| headers.get(name).and_then(|v| v.to_str().ok()));
    let request = RequestParts { method: method.as_str(), path: uri.path(), query: uri.query(), body };
    // The read lock is held only for the key lookup, never across the signature check.
    let authenticated = state
        .auth
        .authenticate(&request, &auth_headers, now_ms(), |key| state.model.read().api_keys.get(key).copied())?;
    Ok(Caller { account: authenticated.account })
}

/// A signed request that verified: who sent it, and the parts handlers read.
pub struct Signed {
    pub caller: Caller,
    pub uri: Uri,
    pub body: Bytes,
}

impl FromRequest<Shared> for Signed {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &Shared) -> Result<Signed, ApiError> {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "INVALID_CLIENT_REQUEST", "Request body is too large")
        })?;
        if parts.method == Method::GET && !body.is_empty() {
            return Err(ApiError::bad_request("A GET request must not carry a body"));
        }
        let caller = authenticate(state, &parts.method, &parts.uri, &parts.headers, &body)?;
        Ok(Signed { caller, uri: parts.uri, body })
    }
}

/// Parses a JSON body, refusing an empty or malformed one with a 400.
pub fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))
}

/// Executes `command`, answering the venue's empty 200 once the engine accepted it, or the
/// error that stopped it (building it or applying it).
pub async fn acknowledge(state: &AppState, command: Result<Command, ApiError>) -> Response {
    let result = async {
        let reply = state.gateway.execute(command?).await?;
        reply.result.map_err(ApiError::from)
    }
    .await;
    match result {
        Ok(_) => StatusCode::OK.into_response(),
        Err(error) => error.into_response(),
    }
}

/// Checks the `Authorization: Bearer <admin token>` header.
pub fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !state.admin_token.is_empty() && constant_time_eq(presented.as_bytes(), state.admin_token.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Admin token required"))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `POST /admin/v1/accounts {"apiKey": "<base64 public key>", "permissions": ["read","trade","withdraw"]}`
async fn admin_create_account(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let body = admin_body(&state, &headers, &body)?;
        let fields = crate::request::Fields::new(&body)?;
        let key = <ApiKey as ApiKeyText>::from_base64(&fields.required_text("apiKey")?)
            .map_err(|e| ApiError::bad_request(format!("apiKey: {}", e.0)))?;
        let permissions = match body.get("permissions") {
            None | Some(Value::Null) => Permissions::ALL,
            Some(Value::Array(names)) => {
                names.iter().try_fold(Permissions::default(), |set, name| match name.as_str() {
                    Some("read") => Ok(set.union(Permissions::READ)),
                    Some("trade") => Ok(set.union(Permissions::TRADE)),
                    Some("withdraw") => Ok(set.union(Permissions::WITHDRAW)),
                    _ => Err(ApiError::bad_request("permissions are read, trade and withdraw")),
                })?
            }
            Some(_) => return Err(ApiError::bad_request("permissions must be an array")),
        };
        let reply = state.gateway.execute(Command::CreateAccount { key, permissions }).await?;
        let events = reply.result.map_err(ApiError::from)?;
        match events.first() {
            Some(rucksack_types::Event::AccountCreated { account, .. }) => Ok(Json(json!({ "accountId": account.0 }))),
            _ => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "SERVER_ERROR", "account not created")),
        }
    }
    .await;
    result.into_response()
}

/// The `accountId` field of an admin body.
fn account_field(fields: &crate::request::Fields<'_>) -> Result<AccountId, ApiError> {
    let id =
        fields.integer("accountId", u64::MAX)?.ok_or_else(|| ApiError::bad_request("Missing field `accountId`"))?;
    Ok(AccountId(id))
}

/// The listed asset the `asset` field names.
fn asset_field(state: &AppState, fields: &crate::request::Fields<'_>) -> Result<AssetSpec, ApiError> {
    let symbol = fields.required_text("asset")?;
    state.model.read().asset_by_symbol(&symbol).copied().ok_or_else(ApiError::invalid_asset)
}

/// The `accountId`, `asset` and `amount` of an admin body that moves money.
fn account_asset_amount(
    state: &AppState,
    fields: &crate::request::Fields<'_>,
) -> Result<(AccountId, AssetSpec, Amount), ApiError> {
    let account = account_field(fields)?;
    let asset = asset_field(state, fields)?;
    let amount = crate::request::amount("amount", &fields.required_text("amount")?, asset.decimals)?;
    Ok((account, asset, amount))
}

/// The JSON body of an admin request, once its token is checked.
fn admin_body(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    require_admin(state, headers)?;
    json_body(body)
}

/// `POST /admin/v1/deposits {"accountId": 1, "asset": "USDC", "amount": "1000", "txId": "..."}`
async fn admin_deposit(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let body = admin_body(&state, &headers, &body)?;
        let fields = crate::request::Fields::new(&body)?;
        let (account, asset, amount) = account_asset_amount(&state, &fields)?;
        let tx = tx_id(&fields.required_text("txId")?);
        let reply = state.gateway.execute(Command::Deposit { account, asset: asset.id, amount, tx }).await?;
        reply.result.map_err(ApiError::from)?;
        Ok::<_, ApiError>(Json(json!({
            "accountId": account.0,
            "asset": asset.symbol.as_str(),
            "amount": crate::format::amount(&asset, amount),
        })))
    }
    .await;
    result.into_response()
}

/// `GET /admin/v1/insurance?asset&limit&offset&sortDirection`: the insurance fund's balance of
/// every asset, and its changes from the history store, newest first.
async fn admin_insurance(State(state): State<Shared>, headers: HeaderMap, uri: Uri) -> Response {
    let result = async {
        require_admin(&state, &headers)?;
        let params = crate::request::query_params(&uri);
        let page = history::page(&params, rucksack_store::SortDirection::Desc)?;
        let asset = match params.get("asset") {
            Some(symbol) => Some(state.model.read().asset_by_symbol(symbol).ok_or_else(ApiError::invalid_asset)?.id),
            None => None,
        };
        history::catch_up(&state).await;
        let changes = state.history.insurance_history(&rucksack_store::InsuranceQuery { asset, page }).await?;
        let views = state.model.read();
        let balance = |asset: &AssetSpec| views.insurance.get(usize::from(asset.id.0)).copied().unwrap_or_default();
        let balances: Vec<Value> = views
            .assets
            .iter()
            .map(|a| json!({ "asset": a.symbol.as_str(), "balance": crate::format::amount(a, balance(a)) }))
            .collect();
        let history: Vec<Value> = changes
            .iter()
            .filter_map(|change| {
                let asset = views.asset(change.asset)?;
                Some(json!({
                    "seq": change.seq.0,
                    "timestamp": crate::format::naive_datetime(change.time),
                    "asset": asset.symbol.as_str(),
                    "accountId": change.account.0,
                    "reason": change.reason.as_str(),
                    "change": crate::format::signed_amount(asset, i128::from(change.change.0)),
                    "balance": crate::format::amount(asset, change.balance),
                }))
            })
            .collect();
        Ok::<_, ApiError>(Json(json!({ "balances": balances, "history": history })))
    }
    .await;
    result.into_response()
}

/// `POST /admin/v1/insurance {"accountId": 1, "asset": "USDC", "amount": "1000"}`: moves the
/// amount from the account's available balance into the fund; answers with the fund's balance.
async fn admin_fund_insurance(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let body = admin_body(&state, &headers, &body)?;
        let (account, asset, amount) = account_asset_amount(&state, &crate::request::Fields::new(&body)?)?;
        let reply = state.gateway.execute(Command::FundInsurance { account, asset: asset.id, amount }).await?;
        let events = reply.result.map_err(ApiError::from)?;
        let balance = events
            .iter()
            .find_map(|event| match event {
                rucksack_types::Event::InsuranceFundChanged(change) => Some(change.balance),
                _ => None,
            })
            .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "SERVER_ERROR", "fund not changed"))?;
        Ok::<_, ApiError>(Json(json!({
            "accountId": account.0,
            "asset": asset.symbol.as_str(),
            "amount": crate::format::amount(&asset, amount),
            "balance": crate::format::amount(&asset, balance),
        })))
    }
    .await;
    result.into_response()
}

/// The asset the perpetual markets settle in, which backstop capacity is counted in.
fn settlement_asset(views: &crate::views::Views) -> Result<AssetSpec, ApiError> {
    let mut quotes = views.markets.iter().filter(|m| m.spec.kind.perp().is_some()).map(|m| m.spec.quote);
    let first = quotes.next().ok_or_else(|| {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_MARKET", "No perpetual market is listed to back")
    })?;
    if quotes.any(|quote| quote != first) {
        return Err(ApiError::bad_request("Perpetual markets settle in more than one asset"));
    }
    views.asset(first).copied().ok_or_else(ApiError::invalid_asset)
}

/// The backstop providers and their capacities.
fn backstop_listing(views: &crate::views::Views) -> Result<Value, ApiError> {
    let asset = settlement_asset(views)?;
    let providers: Vec<Value> = views
        .backstop_providers
        .iter()
        .map(|(account, capacity)| {
            json!({ "accountId": account.0, "capacity": crate::format::amount(&asset, *capacity) })
        })
        .collect();
    Ok(json!({ "asset": asset.symbol.as_str(), "providers": providers }))
}

/// `GET /admin/v1/backstop`: the backstop liquidity providers.
async fn admin_backstop_providers(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let result = require_admin(&state, &headers).and_then(|()| backstop_listing(&state.model.read()));
    history::respond(result)
}

/// `POST /admin/v1/backstop {"accountId": 3, "capacity": "50000"}`: the account takes up to
/// `capacity` (in the settlement asset) of each position closed out; "0" withdraws it. Answers
/// with the providers after the change.
async fn admin_set_backstop(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let body = admin_body(&state, &headers, &body)?;
        let fields = crate::request::Fields::new(&body)?;
        let account = account_field(&fields)?;
        let asset = settlement_asset(&state.model.read())?;
        let text = fields.required_text("capacity")?;
        let units = Decimal::unit(asset.decimals).map_err(|_| ApiError::invalid_asset())?;
        // Zero is a capacity too: it withdraws the provider.
        let capacity = Decimal::parse(&text, Sign::Unsigned)
            .and_then(|value| value.to_units(units))
            .map_err(|e| FieldError::new("capacity", e))?;
        let reply = state.gateway.execute(Command::SetBackstopProvider { account, capacity: Amount(capacity) }).await?;
        reply.result.map_err(ApiError::from)?;
        backstop_listing(&state.model.read())
    }
    .await;
    history::respond(result)
}

/// External transaction ids of any length are reduced to a 32-byte digest.
fn tx_id(text: &str) -> rucksack_types::TxId {
    rucksack_types::TxId(*blake3::hash(text.as_bytes()).as_bytes())
}

#[cfg(test)]
#[path = "liquidation_tests.rs"]
mod liquidation_tests;
