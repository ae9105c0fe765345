//! The unified account over the API: collateral parameters, an account's collateral and margin,
//! the money markets and borrow-lend positions, all computed from the read models with the
//! engine's own margin code; and `POST /api/v1/borrowLend`.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use rucksack_engine::lending::{PoolPosition, lend_rate};
use rucksack_engine::what_if::{AccountSnapshot, OpenOrder, Venue, WhatIf};
use rucksack_types::decimal::parse_units;
use rucksack_types::volatility::scaled_fraction;
use rucksack_types::{
    AccountId, Amount, AssetRisk, AssetSpec, BorrowLendAction, Command, Decimal, Fraction, Haircut, Lots, MarketSpec,
    NewOrder, OrderSpec, SelfTradePrevention, Side, Ticks, TimeInForce, UsdValue,
};

use crate::error::ApiError;
use crate::format;
use crate::history::respond;
use crate::request::{Fields, margin_flags, query_params};
use crate::server::{Shared, Signed, acknowledge, json_body};
use crate::views::Views;

fn fraction(value: Option<Fraction>) -> Value {
    value.map_or(Value::Null, |f| Value::String(f.to_decimal_string()))
}

fn usd(value: UsdValue) -> String {
    value.to_decimal_string()
}

/// `GET /api/v1/collateral`: every asset's haircut and borrow margin functions, as they apply now.
pub async fn collateral_parameters(State(state): State<Shared>) -> Response {
    let views = state.model.read();
    let rows: Vec<Value> = views
        .assets
        .iter()
        .zip(&views.risk.specs)
        .filter_map(|(asset, risk)| {
            let multiplier = views.risk_inputs().multiplier(usize::from(asset.id.0));
            risk.as_ref().map(|risk| collateral_parameter_row(asset.symbol.as_str(), risk, multiplier))
        })
        .collect();
    Json(Value::Array(rows)).into_response()
}

/// One asset's collateral parameters as they apply now: scaled by its volatility `multiplier`.
fn collateral_parameter_row(symbol: &str, risk: &AssetRisk, multiplier: Fraction) -> Value {
    use rucksack_types::volatility::scaled_weight;
    let (weight, kind) = match risk.haircut {
        Haircut::Identity => (Fraction::ONE, json!({ "type": "identity" })),
        Haircut::InverseSqrt { base, penalty } => {
            let scaled = scaled_weight(base, multiplier);
            (
                base,
                json!({ "type": "inverseSqrt", "base": scaled.to_string(), "positiveCurvePenalty": penalty.to_string() }),
            )
        }
    };
    json!({
        "symbol": symbol,
        "imfFunction": crate::wire::effective_margin_function(&risk.borrow_imf, multiplier),
        "mmfFunction": crate::wire::effective_margin_function(&risk.borrow_mmf, multiplier),
        "haircutFunction": { "weight": scaled_weight(weight, multiplier).to_string(), "kind": kind },
        // The volatility multiplier of the functions above (1 when calm).
        "riskMultiplier": multiplier.to_string(),
    })
}

/// `GET /api/v1/capital/collateral`: the account's collateral, equity and margin fractions.
pub async fn account_collateral(State(state): State<Shared>, request: Signed) -> Response {
    let views = state.model.read();
    let empty = crate::views::AccountView::default();
    let account = views.accounts.get(&request.caller.account).unwrap_or(&empty);
    Json(collateral_summary(&views, account)).into_response()
}

fn collateral_summary(views: &Views, account: &crate::views::AccountView) -> Value {
    let inputs = views.risk_inputs();
    let mut rows = Vec::new();
    let leverage = account.settings.leverage_limit;
    let spot = inputs.health(&account.balances, &account.positions, leverage, |asset, holding, row| {
        let spec = &views.assets[asset];
        let price = views.risk.prices[asset].map_or_else(|| "0".to_string(), |p| p.price.to_decimal_string());
        let total = holding.net().max(0);
        rows.push(json!({
            "symbol": spec.symbol.as_str(),
            "assetMarkPrice": price,
            "totalQuantity": format::amount(spec, Amount(total as i64)),
            "balanceNotional": usd(row.notional),
            "collateralWeight": row.weight.to_string(),
            "collateralValue": usd(row.collateral_value),
            "openOrderQuantity": format::amount(spec, holding.locked),
            "lendQuantity": format::amount(spec, holding.lent),
            "availableQuantity": format::amount(spec, holding.available),
        }));
    });
    // Perpetual positions add their unrealized PnL and exposure.
    let health = crate::perp::account_health(views, account);
    let futures = UsdValue(health.exposure.0 - spot.exposure.0);
    let net_equity = health.net_equity();
    let locked = health.initial_requirement;
    json!({
        "assetsValue": usd(health.assets_value),
        "borrowLiability": usd(health.borrow_liability),
        "liabilitiesValue": usd(health.borrow_liability),
        "collateral": rows,
        "imf": fraction(Some(health.imf().unwrap_or(Fraction::ZERO))),
        "mmf": fraction(Some(health.mmf().unwrap_or(Fraction::ZERO))),
        "marginFraction": fraction(health.margin_fraction()),
        "netEquity": usd(net_equity),
        "netEquityAvailable": usd(UsdValue(net_equity.0 - locked.0)),
        "netEquityLocked": usd(locked),
        "netExposureFutures": usd(futures),
        "pnlUnrealized": usd(health.unrealized_pnl),
        "unsettledEquity": "0",
    })
}

/// `GET /api/v1/borrowLend/markets`: every lendable asset's pool and rates.
pub async fn markets(State(state): State<Shared>) -> Response {
    let views = state.model.read();
    let time = format::rfc3339(views.time);
    let mut rows = Vec::new();
    for (index, asset) in views.assets.iter().enumerate() {
        let Some(lending) = views.risk.specs[index].as_ref().and_then(|r| r.lending) else { continue };
        let pool = &views.risk.pools[index];
        let utilization = pool.utilization();
        let borrow_rate = lending.curve.borrow_rate(utilization);
        rows.push(json!({
            "state": "Open",
            "symbol": asset.symbol.as_str(),
            "assetMarkPrice": views.risk.prices[index].map_or_else(|| "0".to_string(), |p| p.price.to_decimal_string()),
            "borrowInterestRate": borrow_rate.to_string(),
            "lendInterestRate": lend_rate(borrow_rate, utilization, lending.fee).to_string(),
            "borrowedQuantity": format::amount(asset, pool.borrowed),
            "lentQuantity": format::amount(asset, pool.lent),
            "utilization": utilization.to_string(),
            "optimalUtilization": lending.curve.optimal_utilization.to_string(),
            "maxUtilization": lending.max_utilization.to_string(),
            "throttleUtilizationThreshold": lending.throttle_utilization.to_string(),
            "throttleUtilizationBound": lending.max_utilization.to_string(),
            "throttleUpdateFraction": "1",
            "openBorrowLendLimit": format::amount(asset, Amount::MAX),
            "fee": lending.fee.to_string(),
            "stepSize": Decimal::unit(asset.decimals).map(|d| d.to_string()).unwrap_or_default(),
            "timestamp": time,
        }));
    }
    Json(Value::Array(rows)).into_response()
}

/// `GET /api/v1/borrowLend/positions`: the account's open lends (positive) and borrows.
pub async fn positions(State(state): State<Shared>, request: Signed) -> Response {
    let account = request.caller.account;
    crate::history::catch_up(&state).await;
    let every = rucksack_store::Page { limit: u32::MAX, offset: 0, direction: rucksack_store::SortDirection::Asc };
    let movements =
        match state.history.pool_movements(&rucksack_store::PoolQuery { account, asset: None, page: every }).await {
            Ok(movements) => movements,
            Err(error) => return ApiError::from(error).into_response(),
        };
    let views = state.model.read();
    let Some(account) = views.accounts.get(&request.caller.account) else {
        return Json(json!([])).into_response();
    };
    let principal = open_principal(&movements, views.assets.len());
    let inputs = views.risk_inputs();
    let mut rows = Vec::new();
    for (index, position) in account.positions.iter().enumerate() {
        let (Some(risk), asset) = (views.risk.specs[index].as_ref(), &views.assets[index]) else { continue };
        let holding = inputs.holding(index, rucksack_engine::Balance::default(), *position);
        let net = i128::from(holding.lent.0) - i128::from(holding.borrowed.0);
        if net == 0 && *position == PoolPosition::None {
            continue;
        }
        let price = views.risk.prices[index].map(|p| p.price);
        let multiplier = inputs.multiplier(index);
        let exposure = if net < 0 {
            price.map_or(UsdValue::ZERO, |p| p.value(holding.borrowed, asset.decimals, rucksack_types::Rounding::Up))
        } else {
            UsdValue::ZERO
        };
        rows.push(json!({
            "id": crate::lending_history::position_id(request.caller.account, asset.id),
            "symbol": asset.symbol.as_str(),
            "netQuantity": format::signed_amount(asset, net),
            "netExposureQuantity": format::signed_amount(asset, net.min(0)),
            "netExposureNotional": usd(exposure),
            "markPrice": price.map_or_else(|| "0".to_string(), |p| p.to_decimal_string()),
            "imf": scaled_fraction(risk.borrow_imf.fraction(exposure), multiplier).to_string(),
            "imfFunction": crate::wire::effective_margin_function(&risk.borrow_imf, multiplier),
            "mmf": scaled_fraction(risk.borrow_mmf.fraction(exposure), multiplier).to_string(),
            "mmfFunction": crate::wire::effective_margin_function(&risk.borrow_mmf, multiplier),
            "cumulativeInterest": format::signed_amount(asset, net - principal[index]),
            "estLiquidationPrice": "0",
        }));
    }
    Json(Value::Array(rows)).into_response()
}

/// Per asset, what the account put into its open position (lent minus redeemed, or minus what
/// it borrowed plus what it repaid) since the position last stood at zero: its value now less
/// this is the interest it earned or paid.
fn open_principal(movements: &[rucksack_store::PoolMovementRecord], assets: usize) -> Vec<i128> {
    let mut principal = vec![0i128; assets];
    for m in movements {
        let Some(slot) = principal.get_mut(usize::from(m.asset.0)) else { continue };
        let amount = i128::from(m.amount.0);
        *slot += match m.action {
            BorrowLendAction::Lend | BorrowLendAction::Repay => amount,
            BorrowLendAction::Redeem | BorrowLendAction::Borrow => -amount,
        };
        if m.shares == 0 {
            *slot = 0;
        }
    }
    principal
}

/// `POST /api/v1/borrowLend {"symbol","side","quantity"}`. `Borrow` redeems the account's lend
/// of the asset if it has one, else borrows; `Lend` repays its borrow if it has one, else lends.
/// Redeeming and repaying take at most the position; the rest is not turned into the opposite
/// side, so an account never lends and borrows the same asset.
pub async fn execute(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, body, .. } = request;
    let command = json_body(&body).and_then(|body| {
        let fields = Fields::new(&body)?;
        let views = state.model.read();
        let asset = *asset_of(&views, &fields)?;
        let unit = Decimal::unit(asset.decimals).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let quantity = parse_units("quantity", &fields.required_text("quantity")?, unit)?;
        let position = views
            .accounts
            .get(&caller.account)
            .and_then(|a| a.positions.get(usize::from(asset.id.0)).copied())
            .unwrap_or_default();
        let action = match (fields.required_text("side")?.as_str(), position) {
            ("Borrow", PoolPosition::Lend(_)) => BorrowLendAction::Redeem,
            ("Borrow", _) => BorrowLendAction::Borrow,
            ("Lend", PoolPosition::Borrow(_)) => BorrowLendAction::Repay,
            ("Lend", _) => BorrowLendAction::Lend,
            (other, _) => return Err(ApiError::bad_request(format!("Invalid side `{other}`: Borrow or Lend"))),
        };
        Ok(Command::BorrowLend { account: caller.account, asset: asset.id, action, amount: Amount(quantity) })
    });
    acknowledge(&state, command).await
}

/// A scratch engine holding the caller's account, for exact limits.
fn what_if(views: &Views, account: AccountId) -> Result<WhatIf, ApiError> {
    let markets: Vec<MarketSpec> = views.markets.iter().map(|m| m.spec).collect();
    let perps: Vec<_> = views.markets.iter().map(|m| m.perp.clone()).collect();
    let venue = Venue { assets: &views.assets, markets: &markets, perps: &perps, risk: &views.risk, time: views.time };
    let snapshot = match views.accounts.get(&account) {
        Some(view) => AccountSnapshot {
            id: account,
            balances: view.balances.clone(),
            positions: view.positions.clone(),
            settings: view.settings,
            perps: view.perps.iter().map(|h| (h.market, h.position)).collect(),
            orders: view
                .open
                .values()
                .filter_map(|order| {
                    Some(OpenOrder {
                        id: order.id,
                        market: order.market,
                        side: order.side,
                        price: order.limit?,
                        quantity: order.quantity?,
                        remaining: Lots(order.quantity?.0 - order.executed.0),
                        executed_quote: order.executed_quote,
                        time_in_force: order.time_in_force,
                        client_id: order.client_id,
                        created_at: order.created_at,
                    })
                })
                .collect(),
        },
        None => AccountSnapshot {
            id: account,
            balances: Vec::new(),
            positions: Vec::new(),
            settings: Default::default(),
            orders: Vec::new(),
            perps: Vec::new(),
        },
    };
    WhatIf::new(&venue, &snapshot).map_err(ApiError::from)
}

/// Answers a limits query. `prepare` reads its parameters and the read models and returns the
/// search to run, which runs after the read models are released: bisecting on a scratch engine
/// must not hold up the engine thread's publishing.
fn limits_query<Search: FnOnce() -> Value>(
    state: &Shared,
    request: &Signed,
    prepare: impl FnOnce(&Views, &Fields<'_>, AccountId) -> Result<Search, ApiError>,
) -> Response {
    let value = serde_json::to_value(query_params(&request.uri)).unwrap_or_default();
    let search = Fields::new(&value).and_then(|fields| prepare(&state.model.read(), &fields, request.caller.account));
    respond(search.map(|search| search()))
}

fn asset_of<'v>(views: &'v Views, fields: &Fields<'_>) -> Result<&'v AssetSpec, ApiError> {
    let symbol = fields.required_text("symbol")?;
    views.asset_by_symbol(&symbol).ok_or_else(ApiError::invalid_asset)
}

/// `GET /api/v1/account/limits/borrow?symbol=`: the most the account can borrow now.
pub async fn max_borrow(State(state): State<Shared>, request: Signed) -> Response {
    limits_query(&state, &request, |views, fields, account| {
        let asset = *asset_of(views, fields)?;
        let cash =
            views.risk.pools.get(usize::from(asset.id.0)).map_or(0, |p| p.cash().clamp(0, i128::from(i64::MAX)) as i64);
        let scratch = what_if(views, account)?;
        Ok(move || {
            let max = scratch.largest(cash, |amount| Command::BorrowLend {
                account,
                asset: asset.id,
                action: BorrowLendAction::Borrow,
                amount: Amount(amount),
            });
            json!({ "symbol": asset.symbol.as_str(), "maxBorrowQuantity": format::amount(&asset, Amount(max)) })
        })
    })
}

/// `GET /api/v1/account/limits/withdrawal?symbol=&autoBorrow=&autoLendRedeem=`: the most the
/// account can withdraw now.
pub async fn max_withdrawal(State(state): State<Shared>, request: Signed) -> Response {
    limits_query(&state, &request, |views, fields, account| {
        let margin = margin_flags(fields)?;
        let asset = *asset_of(views, fields)?;
        let index = usize::from(asset.id.0);
        let held = views.accounts.get(&account).map_or(0i128, |view| {
            let holding = views.risk_inputs().holding(
                index,
                view.balances.get(index).copied().unwrap_or_default(),
                view.positions.get(index).copied().unwrap_or_default(),
            );
            i128::from(holding.available.0) + i128::from(holding.lent.0)
        });
        let cash = views.risk.pools.get(index).map_or(0, |p| p.cash().max(0));
        let upper = (held + if margin.auto_borrow { cash } else { 0 }).clamp(0, i128::from(i64::MAX)) as i64;
        let scratch = what_if(views, account)?;
        Ok(move || {
            let max = scratch.largest(upper, |amount| Command::Withdraw {
                account,
                asset: asset.id,
                amount: Amount(amount),
                tx: rucksack_types::TxId([0; 32]),
                margin,
            });
            json!({
                "symbol": asset.symbol.as_str(),
                "maxWithdrawalQuantity": format::amount(&asset, Amount(max)),
                "autoBorrow": margin.auto_borrow,
                "autoLendRedeem": margin.auto_lend_redeem,
            })
        })
    })
}

/// `GET /api/v1/account/limits/order?symbol=&side=&price?&autoBorrow?&autoBorrowRepay?&autoLendRedeem?`:
/// the largest limit order the account could place now, at `price`, else at the best price on
/// the other side (for an ask with no bids, the lowest price the market allows).
pub async fn max_order(State(state): State<Shared>, request: Signed) -> Response {
    limits_query(&state, &request, |views, fields, account| {
        let margin = margin_flags(fields)?;
        let market = views.market_by_symbol(&fields.required_text("symbol")?).ok_or_else(ApiError::invalid_symbol)?;
        let spec = market.spec;
        let side = crate::request::side(&fields.required_text("side")?)?;
        let price = match fields.text("price")? {
            Some(text) => Some(Ticks(parse_units("price", &text, spec.tick_size)?)),
            None => match side {
                Side::Bid => market.depth.asks.first().map(|level| level.0),
                // Selling needs no price to be afforded; margin then assumes the worst one.
                Side::Ask => Some(market.depth.bids.first().map_or(spec.min_price, |level| level.0)),
            },
        };
        let scratch = price.map(|_| what_if(views, account)).transpose()?;
        Ok(move || {
            let lots = match (price, scratch) {
                (Some(price), Some(scratch)) => {
                    let order = |lots: i64| {
                        Command::PlaceOrder(NewOrder {
                            account,
                            market: spec.id,
                            side,
                            client_id: None,
                            self_trade_prevention: SelfTradePrevention::RejectTaker,
                            spec: OrderSpec::Limit { price, quantity: Lots(lots), time_in_force: TimeInForce::Gtc },
                            margin,
                            reduce_only: false,
                            trigger: None,
                        })
                    };
                    // Below the market's minimum every quantity is refused: search above it.
                    let below_minimum = spec.min_quantity.0 - 1;
                    let extra = scratch.largest(spec.max_quantity.0 - below_minimum, |n| order(below_minimum + n));
                    if extra == 0 { 0 } else { below_minimum + extra }
                }
                _ => 0,
            };
            json!({
                "symbol": spec.symbol.as_str(),
                "side": side.as_str(),
                "price": price.map(|p| format::price(&spec, p)),
                "maxOrderQuantity": format::quantity(&spec, Lots(lots)),
                "autoBorrow": margin.auto_borrow,
                "autoBorrowRepay": margin.auto_borrow_repay,
                "autoLendRedeem": margin.auto_lend_redeem,
            })
        })
    })
}

/// `POST /wapi/v1/capital/withdrawals {"symbol","quantity","address","blockchain",
/// "autoBorrow"?, "autoLendRedeem"?}`: debits the account, redeeming its lend and borrowing as
/// the flags allow. The chain transfer itself belongs to custody; the ledger side is final here.
pub async fn request_withdrawal(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, body, .. } = request;
    let result = async {
        let body = json_body(&body)?;
        let (command, asset, amount, tx, address, blockchain, client_id) = {
            let fields = Fields::new(&body)?;
            let views = state.model.read();
            let asset = *asset_of(&views, &fields)?;
            let unit = Decimal::unit(asset.decimals).map_err(|e| ApiError::bad_request(e.to_string()))?;
            let quantity = Amount(parse_units("quantity", &fields.required_text("quantity")?, unit)?);
            let address = fields.required_text("address")?;
            let blockchain = fields.required_text("blockchain")?;
            let margin = margin_flags(&fields)?;
            let client_id = fields.text("clientId")?;
            let tx = withdrawal_id(caller.account);
            let command = Command::Withdraw { account: caller.account, asset: asset.id, amount: quantity, tx, margin };
            (command, asset, quantity, tx, address, blockchain, client_id)
        };
        let reply = state.gateway.execute(command).await?;
        reply.result.map_err(ApiError::from)?;
        Ok::<_, ApiError>(json!({
            "id": reply.seq.0,
            "blockchain": blockchain,
            "clientId": client_id,
            "identifier": null,
            "quantity": format::amount(&asset, amount),
            "fee": "0",
            "symbol": asset.symbol.as_str(),
            "status": "pending",
            "subaccountId": null,
            "toAddress": address,
            "transactionHash": tx.to_string(),
            "createdAt": format::naive_datetime(reply.time),
            "isInternal": false,
        }))
    }
    .await;
    respond(result)
}

/// A withdrawal's own transaction id: unique per request (the clock and a process-wide counter),
/// journaled with the command, so replay sees the same id.
fn withdrawal_id(account: AccountId) -> rucksack_types::TxId {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"withdrawal");
    hasher.update(&account.0.to_le_bytes());
    hasher.update(&nanos.to_le_bytes());
    hasher.update(&count.to_le_bytes());
    rucksack_types::TxId(*hasher.finalize().as_bytes())
}
