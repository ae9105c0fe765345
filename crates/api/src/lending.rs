//! The unified account over the API: collateral parameters, an account's collateral and margin,
//! the money markets and borrow-lend positions, all computed from the read models with the
//! engine's own margin code; and `POST /api/v1/borrowLend`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use rucksack_engine::lending::{PoolPosition, lend_rate};
use rucksack_types::decimal::parse_units;
use rucksack_types::{AssetRisk, BorrowLendAction, Command, Decimal, Fraction, Haircut, MarginFunction, UsdValue};

use crate::error::ApiError;
use crate::format;
use crate::request::Fields;
use crate::server::{Shared, Signed, json_body};
use crate::views::Views;

fn fraction(value: Option<Fraction>) -> Value {
    value.map_or(Value::Null, |f| Value::String(f.to_decimal_string()))
}

fn usd(value: UsdValue) -> String {
    value.to_decimal_string()
}

fn margin_function(function: &MarginFunction) -> Value {
    json!({ "type": "sqrt", "base": function.base.to_string(), "factor": function.factor.to_string() })
}

/// `GET /api/v1/collateral`: every asset's haircut and borrow margin functions.
pub async fn collateral_parameters(State(state): State<Shared>) -> Response {
    let views = state.model.read();
    let rows: Vec<Value> = views
        .assets
        .iter()
        .zip(&views.risk)
        .filter_map(|(asset, risk)| risk.as_ref().map(|risk| collateral_parameter_row(asset.symbol.as_str(), risk)))
        .collect();
    Json(Value::Array(rows)).into_response()
}

fn collateral_parameter_row(symbol: &str, risk: &AssetRisk) -> Value {
    let (weight, kind) = match risk.haircut {
        Haircut::Identity => (Fraction::ONE, json!({ "type": "identity" })),
        Haircut::InverseSqrt { base, penalty } => (
            base,
            json!({ "type": "inverseSqrt", "base": base.to_string(), "positiveCurvePenalty": penalty.to_string() }),
        ),
    };
    json!({
        "symbol": symbol,
        "imfFunction": margin_function(&risk.borrow_imf),
        "mmfFunction": margin_function(&risk.borrow_mmf),
        "haircutFunction": { "weight": weight.to_string(), "kind": kind },
    })
}

/// `GET /api/v1/capital/collateral`: the account's collateral, equity and margin fractions.
pub async fn account_collateral(State(state): State<Shared>, request: Signed) -> Response {
    let views = state.model.read();
    let Some(account) = views.accounts.get(&request.caller.account) else {
        return Json(collateral_summary(&views, &[], &[], rucksack_types::AccountSettings::default().leverage_limit))
            .into_response();
    };
    Json(collateral_summary(&views, &account.balances, &account.positions, account.settings.leverage_limit))
        .into_response()
}

fn collateral_summary(
    views: &Views,
    balances: &[rucksack_engine::Balance],
    positions: &[PoolPosition],
    leverage: u16,
) -> Value {
    let inputs = views.risk_inputs();
    let mut rows = Vec::new();
    let health = inputs.health(balances, positions, leverage, |asset, holding, row| {
        let spec = &views.assets[asset];
        let price = views.prices[asset].map_or_else(|| "0".to_string(), |p| p.price.to_decimal_string());
        let total = holding.net().max(0);
        rows.push(json!({
            "symbol": spec.symbol.as_str(),
            "assetMarkPrice": price,
            "totalQuantity": format::amount(spec, rucksack_types::Amount(total as i64)),
            "balanceNotional": usd(row.notional),
            "collateralWeight": row.weight.to_string(),
            "collateralValue": usd(row.collateral_value),
            "openOrderQuantity": format::amount(spec, holding.locked),
            "lendQuantity": format::amount(spec, holding.lent),
            "availableQuantity": format::amount(spec, holding.available),
        }));
    });
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
        "netExposureFutures": "0",
        "pnlUnrealized": "0",
        "unsettledEquity": "0",
    })
}

/// `GET /api/v1/borrowLend/markets`: every lendable asset's pool and rates.
pub async fn markets(State(state): State<Shared>) -> Response {
    let views = state.model.read();
    let time = format::rfc3339(views.time);
    let mut rows = Vec::new();
    for (index, asset) in views.assets.iter().enumerate() {
        let Some(lending) = views.risk[index].as_ref().and_then(|r| r.lending) else { continue };
        let pool = &views.pools[index];
        let utilization = pool.utilization();
        let borrow_rate = lending.curve.borrow_rate(utilization);
        rows.push(json!({
            "state": "Open",
            "symbol": asset.symbol.as_str(),
            "assetMarkPrice": views.prices[index].map_or_else(|| "0".to_string(), |p| p.price.to_decimal_string()),
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
            "openBorrowLendLimit": format::amount(asset, rucksack_types::Amount::MAX),
            "fee": lending.fee.to_string(),
            "stepSize": Decimal::unit(asset.decimals).map(|d| d.to_string()).unwrap_or_default(),
            "timestamp": time,
        }));
    }
    Json(Value::Array(rows)).into_response()
}

/// `GET /api/v1/borrowLend/positions`: the account's open lends (positive) and borrows.
pub async fn positions(State(state): State<Shared>, request: Signed) -> Response {
    let views = state.model.read();
    let Some(account) = views.accounts.get(&request.caller.account) else {
        return Json(json!([])).into_response();
    };
    let inputs = views.risk_inputs();
    let mut rows = Vec::new();
    for (index, position) in account.positions.iter().enumerate() {
        let (Some(risk), asset) = (views.risk[index].as_ref(), &views.assets[index]) else { continue };
        let holding = inputs.holding(index, rucksack_engine::Balance::default(), *position);
        let net = i128::from(holding.lent.0) - i128::from(holding.borrowed.0);
        if net == 0 && *position == PoolPosition::None {
            continue;
        }
        let price = views.prices[index].map(|p| p.price);
        let exposure = if net < 0 {
            price.map_or(UsdValue::ZERO, |p| p.value(holding.borrowed, asset.decimals, rucksack_types::Rounding::Up))
        } else {
            UsdValue::ZERO
        };
        rows.push(json!({
            "id": format!("{}-{}", request.caller.account.0, index),
            "symbol": asset.symbol.as_str(),
            "netQuantity": signed_amount(asset, net),
            "netExposureQuantity": signed_amount(asset, net.min(0)),
            "netExposureNotional": usd(exposure),
            "markPrice": price.map_or_else(|| "0".to_string(), |p| p.to_decimal_string()),
            "imf": risk.borrow_imf.fraction(exposure).to_string(),
            "imfFunction": margin_function(&risk.borrow_imf),
            "mmf": risk.borrow_mmf.fraction(exposure).to_string(),
            "mmfFunction": margin_function(&risk.borrow_mmf),
            "cumulativeInterest": "0",
            "estLiquidationPrice": "0",
        }));
    }
    Json(Value::Array(rows)).into_response()
}

fn signed_amount(asset: &rucksack_types::AssetSpec, value: i128) -> String {
    let magnitude = format::amount(asset, rucksack_types::Amount(value.unsigned_abs() as i64));
    if value < 0 { format!("-{magnitude}") } else { magnitude }
}

/// `POST /api/v1/borrowLend {"symbol","side","quantity"}`. `Borrow` redeems the account's lend
/// of the asset if it has one, else borrows; `Lend` repays its borrow if it has one, else lends.
/// Redeeming and repaying take at most the position; the rest is not turned into the opposite
/// side, so an account never lends and borrows the same asset.
pub async fn execute(State(state): State<Shared>, request: Signed) -> Response {
    let Signed { caller, body, .. } = request;
    let result = async {
        let body = json_body(&body)?;
        let command = {
            let fields = Fields::new(&body)?;
            let views = state.model.read();
            let symbol = fields.required_text("symbol")?;
            let asset = *views
                .asset_by_symbol(&symbol)
                .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "INVALID_ASSET", "Invalid asset"))?;
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
            Command::BorrowLend {
                account: caller.account,
                asset: asset.id,
                action,
                amount: rucksack_types::Amount(quantity),
            }
        };
        let reply = state.gateway.execute(command).await?;
        reply.result.map_err(ApiError::from)?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => error.into_response(),
    }
}
