//! Response bodies, field for field as the venue sends them: decimals as strings, explicit
//! `null` for unset optionals, and each timestamp in the encoding that field uses on the wire.

use serde_json::{Value, json};

use rucksack_types::{AssetSpec, ExpiryReason, MarketSpec, OrderStatus, Timestamp};

use crate::format;
use crate::views::{Depth, OrderView, TradeView, Views};

/// When markets were listed, as `createdAt` (the venue's own field; fixed so responses are stable).
const LISTED_AT: Timestamp = Timestamp(1_735_689_600_000_000);

pub fn asset(asset: &AssetSpec) -> Value {
    json!({
        "symbol": asset.symbol.as_str(),
        "displayName": asset.symbol.as_str(),
        "coingeckoId": null,
        "tokens": [{
            "blockchain": "Solana",
            "contractAddress": null,
            "depositEnabled": true,
            "withdrawEnabled": true,
            "displayName": asset.symbol.as_str(),
            "minimumDeposit": "0",
            "minimumWithdrawal": "0",
            "maximumWithdrawal": null,
            "withdrawalFee": "0",
            "nativeDecimals": asset.decimals,
        }],
    })
}

/// Backpack's `{"type": "sqrt", "base", "factor"}` margin function.
pub fn margin_function(function: &rucksack_types::MarginFunction) -> Value {
    json!({ "type": "sqrt", "base": function.base.to_string(), "factor": function.factor.to_string() })
}

/// A margin function as it applies now: scaled by its asset's volatility multiplier (base
/// capped at 1).
pub fn effective_margin_function(
    function: &rucksack_types::MarginFunction,
    multiplier: rucksack_types::Fraction,
) -> Value {
    let scaled = rucksack_types::MarginFunction {
        base: rucksack_types::volatility::scaled_fraction(function.base, multiplier),
        factor: rucksack_types::Fraction(
            multiplier.of(i128::from(function.factor.0), rucksack_types::Rounding::Up).unwrap_or(0) as i64,
        ),
    };
    margin_function(&scaled)
}

pub fn market(views: &Views, spec: &MarketSpec) -> Value {
    let symbol = |id| views.asset(id).map_or("", |a| a.symbol.as_str());
    let perp = spec.kind.perp();
    let multiplier = views.risk_inputs().multiplier(usize::from(spec.base.0));
    // A band that allows every price is published as none.
    let bands = perp.map(|p| p.bands);
    let open = rucksack_types::PriceBands::OPEN;
    let band = |multiplier: Option<rucksack_types::Fraction>| {
        multiplier.filter(|m| *m != open.limit_max && *m != open.limit_min).map(|m| m.to_string())
    };
    // Funding bounds are published in basis points.
    let bps = |rate: rucksack_types::Fraction| rucksack_types::Fraction(rate.0.saturating_mul(10_000)).to_string();
    json!({
        "symbol": spec.symbol.as_str(),
        "baseSymbol": symbol(spec.base),
        "quoteSymbol": symbol(spec.quote),
        "marketType": spec.kind.as_str(),
        "filters": {
            "price": {
                "minPrice": format::price(spec, spec.min_price),
                "maxPrice": format::price(spec, spec.max_price),
                "tickSize": spec.tick_size.to_string(),
                "maxMultiplier": band(bands.map(|b| b.limit_max)),
                "minMultiplier": band(bands.map(|b| b.limit_min)),
                "maxImpactMultiplier": band(bands.map(|b| b.impact_max)),
                "minImpactMultiplier": band(bands.map(|b| b.impact_min)),
                "meanMarkPriceBand": bands.filter(|b| b.mean_mark_max != rucksack_types::PriceBands::OPEN.mean_mark_max).map(|b| {
                    json!({ "maxMultiplier": b.mean_mark_max.to_string(), "minMultiplier": b.mean_mark_min.to_string() })
                }),
                "meanPremiumBand": null,
                "borrowEntryFeeMaxMultiplier": null,
                "borrowEntryFeeMinMultiplier": null,
            },
            "quantity": {
                "minQuantity": format::quantity(spec, spec.min_quantity),
                "maxQuantity": format::quantity(spec, spec.max_quantity),
                "stepSize": spec.step_size.to_string(),
            },
        },
        "imfFunction": perp.map(|p| effective_margin_function(&p.imf, multiplier)),
        "mmfFunction": perp.map(|p| effective_margin_function(&p.mmf, multiplier)),
        // The base asset's volatility multiplier of the functions above (1 when calm).
        "riskMultiplier": perp.map(|_| multiplier.to_string()),
        "fundingInterval": perp.map(|p| p.funding_interval_micros / 1_000),
        "fundingRateUpperBound": perp.map(|p| bps(p.funding_rate_upper)),
        "fundingRateLowerBound": perp.map(|p| bps(p.funding_rate_lower)),
        "openInterestLimit": perp.map_or("0".to_string(), |p| format::quantity(spec, p.open_interest_limit)),
        "orderBookState": "Open",
        "createdAt": format::naive_datetime(LISTED_AT),
        "visible": true,
    })
}

/// `/depth`: both sides ascending by price (asks best first, bids best last), as the venue
/// orders them; `lastUpdateId` a string, `timestamp` in microseconds.
pub fn depth(spec: &MarketSpec, depth: &Depth, limit: usize) -> Value {
    let level = |&(price, lots)| json!([format::price(spec, price), format::quantity(spec, lots)]);
    let asks: Vec<Value> = depth.asks.iter().take(limit).map(level).collect();
    let mut bids: Vec<Value> = depth.bids.iter().take(limit).map(level).collect();
    bids.reverse();
    json!({
        "asks": asks,
        "bids": bids,
        "lastUpdateId": depth.update_id.to_string(),
        "timestamp": depth.time.0,
    })
}

pub fn trade(spec: &MarketSpec, quote: &AssetSpec, trade: &TradeView) -> Value {
    json!({
        "id": trade.id.0,
        "price": format::price(spec, trade.price),
        "quantity": format::quantity(spec, trade.quantity),
        "quoteQuantity": format::amount(quote, trade.quote),
        "timestamp": trade.time.millis(),
        "isBuyerMaker": trade.buyer_is_maker,
    })
}

fn status(status: OrderStatus) -> &'static str {
    status.as_str()
}

fn order_fields(views: &Views, spec: &MarketSpec, order: &OrderView) -> serde_json::Map<String, Value> {
    let quote = views.asset(spec.quote);
    let fmt_amount = |a| quote.map_or_else(|| "0".to_string(), |q| format::amount(q, a));
    let mut map = serde_json::Map::new();
    let mut put = |key: &str, value: Value| {
        map.insert(key.to_string(), value);
    };
    put("id", json!(order.id.0.to_string()));
    put("clientId", json!(order.client_id.map(|c| c.0)));
    put("symbol", json!(spec.symbol.as_str()));
    put("side", json!(order.side.as_str()));
    put("orderType", json!(if order.is_limit() { "Limit" } else { "Market" }));
    put("timeInForce", json!(order.time_in_force.as_str()));
    put("selfTradePrevention", json!(order.self_trade_prevention.as_str()));
    put("status", json!(status(order.status)));
    put("executedQuantity", json!(format::quantity(spec, order.executed)));
    put("executedQuoteQuantity", json!(fmt_amount(order.executed_quote)));
    put("price", json!(order.limit.map(|p| format::price(spec, p))));
    put("quantity", json!(order.quantity.map(|q| format::quantity(spec, q))));
    put("quoteQuantity", json!(order.quote_quantity.map(fmt_amount)));
    put("postOnly", json!(order.time_in_force == rucksack_types::TimeInForce::PostOnly));
    put("reduceOnly", json!(order.reduce_only));
    put("triggerPrice", json!(order.trigger.map(|t| format::price(spec, t.price))));
    put("triggerBy", json!(order.trigger.map(|t| t.by.as_str())));
    put("triggerQuantity", json!(order.trigger.and(order.quantity).map(|q| format::quantity(spec, q))));
    put("relatedOrderId", json!(order.related.map(|id| id.0.to_string())));
    for key in [
        "strategyId",
        "systemOrderType",
        "stopLossTriggerPrice",
        "stopLossLimitPrice",
        "stopLossTriggerBy",
        "takeProfitTriggerPrice",
        "takeProfitLimitPrice",
        "takeProfitTriggerBy",
        "triggeredAt",
    ] {
        put(key, Value::Null);
    }
    map
}

/// The order object of `POST/GET/DELETE /order` and `GET/DELETE /orders`; `createdAt` in ms.
pub fn order(views: &Views, spec: &MarketSpec, order: &OrderView) -> Value {
    let mut map = order_fields(views, spec, order);
    map.insert("createdAt".into(), json!(order.created_at.millis()));
    Value::Object(map)
}

/// An order in `/history/orders`: `createdAt` as naive date-time, with its expiry reason.
pub fn order_history(views: &Views, spec: &MarketSpec, order: &OrderView) -> Value {
    let mut map = order_fields(views, spec, order);
    map.insert("createdAt".into(), json!(format::naive_datetime(order.created_at)));
    map.insert("expiryReason".into(), json!(order.expiry_reason.map(ExpiryReason::as_str)));
    Value::Object(map)
}

pub fn fill(views: &Views, spec: &MarketSpec, fill: &rucksack_store::FillRecord) -> Value {
    let quote = views.asset(spec.quote);
    json!({
        "tradeId": fill.trade.0,
        "orderId": fill.order.0.to_string(),
        "clientId": fill.client_id.map(|c| c.0.to_string()),
        "symbol": spec.symbol.as_str(),
        "side": fill.side.as_str(),
        "price": format::price(spec, fill.price),
        "quantity": format::quantity(spec, fill.quantity),
        "fee": quote.map_or_else(|| "0".to_string(), |q| format::amount(q, fill.fee)),
        "feeSymbol": quote.map_or("", |q| q.symbol.as_str()),
        "isMaker": fill.is_maker,
        "systemOrderType": null,
        "timestamp": format::naive_datetime(fill.time),
    })
}
