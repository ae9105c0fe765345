//! Turning request bodies into commands, strictly: every field is checked, decimals are parsed
//! exactly against the market's tick and step, and anything wrong is a 400 naming the field.
//! Decimals may arrive as JSON strings (as clients send them) or JSON numbers.

use std::collections::HashMap;

use axum::http::Uri;
use serde_json::{Map, Value};

use rucksack_types::decimal::parse_units;
use rucksack_types::{
    AccountId, Amount, CancelTarget, ClientId, Command, Decimal, Lots, MarketSize, MarketSpec, NewOrder, OrderId,
    OrderSpec, SelfTradePrevention, Side, Ticks, TimeInForce,
};

use crate::auth::form_decode;
use crate::error::ApiError;
use crate::views::Views;

/// Fields a JSON object request body carries.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    pub fn new(value: &'a Value) -> Result<Fields<'a>, ApiError> {
        value
            .as_object()
            .map(|map| Fields { map })
            .ok_or_else(|| ApiError::bad_request("Request body must be a JSON object"))
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A string field (numbers are taken as their JSON text).
    pub fn text(&self, name: &'static str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(ApiError::bad_request(format!("{name} must be a string"))),
        }
    }

    pub fn required_text(&self, name: &'static str) -> Result<String, ApiError> {
        self.text(name)?.ok_or_else(|| ApiError::bad_request(format!("Missing field `{name}`")))
    }

    pub fn flag(&self, name: &'static str) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(ApiError::bad_request(format!("{name} must be a boolean"))),
        }
    }

    /// An unsigned integer that may arrive as a number or a numeric string (bpx-py sends
    /// `clientId` as a string when cancelling).
    pub fn integer(&self, name: &'static str, max: u64) -> Result<Option<u64>, ApiError> {
        let parsed = match self.get(name) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
            Some(_) => None,
        };
        match parsed {
            Some(v) if v <= max => Ok(Some(v)),
            _ => Err(ApiError::bad_request(format!("{name} must be an integer between 0 and {max}"))),
        }
    }
}

pub fn market<'v>(views: &'v Views, symbol: &str) -> Result<&'v MarketSpec, ApiError> {
    views.market_by_symbol(symbol).map(|m| &m.spec).ok_or_else(ApiError::invalid_symbol)
}

pub fn side(text: &str) -> Result<Side, ApiError> {
    match text {
        "Bid" => Ok(Side::Bid),
        "Ask" => Ok(Side::Ask),
        _ => Err(ApiError::bad_request("side must be Bid or Ask")),
    }
}

fn self_trade_prevention(text: Option<String>) -> Result<SelfTradePrevention, ApiError> {
    match text.as_deref() {
        None | Some("RejectTaker") => Ok(SelfTradePrevention::RejectTaker),
        Some("RejectMaker") => Ok(SelfTradePrevention::RejectMaker),
        Some("RejectBoth") => Ok(SelfTradePrevention::RejectBoth),
        Some(_) => Err(ApiError::bad_request("selfTradePrevention must be RejectTaker, RejectMaker or RejectBoth")),
    }
}

fn time_in_force(text: Option<String>, post_only: bool) -> Result<TimeInForce, ApiError> {
    let tif = match text.as_deref() {
        None | Some("GTC") => TimeInForce::Gtc,
        Some("IOC") => TimeInForce::Ioc,
        Some("FOK") => TimeInForce::Fok,
        Some(_) => return Err(ApiError::bad_request("timeInForce must be GTC, IOC or FOK")),
    };
    match (tif, post_only) {
        (_, false) => Ok(tif),
        (TimeInForce::Gtc, true) => Ok(TimeInForce::PostOnly),
        (_, true) => {
            Err(ApiError::new(axum::http::StatusCode::BAD_REQUEST, "INVALID_ORDER", "postOnly orders must be GTC"))
        }
    }
}

fn not_yet(feature: &str) -> ApiError {
    ApiError::new(axum::http::StatusCode::BAD_REQUEST, "NOT_IMPLEMENTED", format!("{feature} is not supported yet"))
}

/// The spot-margin flags of an order, withdrawal or limits query; absent means false.
pub fn margin_flags(fields: &Fields<'_>) -> Result<rucksack_types::MarginFlags, ApiError> {
    Ok(rucksack_types::MarginFlags {
        auto_borrow: fields.flag("autoBorrow")?,
        auto_borrow_repay: fields.flag("autoBorrowRepay")?,
        auto_lend_redeem: fields.flag("autoLendRedeem")?,
    })
}

/// `OrderExecutePayload` to a `PlaceOrder` command for `account`.
pub fn new_order(views: &Views, account: AccountId, body: &Value) -> Result<Command, ApiError> {
    let fields = Fields::new(body)?;
    let spec = market(views, &fields.required_text("symbol")?)?;
    let side = side(&fields.required_text("side")?)?;
    let trigger = trigger(&fields, spec, &ORDER_TRIGGER)?;
    if trigger.is_none() && fields.has("triggerQuantity") {
        return Err(ApiError::bad_request("triggerQuantity needs a triggerPrice"));
    }
    let exits = [exit(&fields, spec, &TAKE_PROFIT)?, exit(&fields, spec, &STOP_LOSS)?];
    let reduce_only = fields.flag("reduceOnly")?;
    if reduce_only && spec.kind.perp().is_none() {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "INVALID_ORDER",
            "reduceOnly applies to futures only",
        ));
    }
    if fields.flag("autoLend")? {
        return Err(not_yet("Lending an order's proceeds"));
    }
    let margin = margin_flags(&fields)?;
    let client_id = fields.integer("clientId", u64::from(u32::MAX))?.map(|c| ClientId(c as u32));
    let stp = self_trade_prevention(fields.text("selfTradePrevention")?)?;
    let post_only = fields.flag("postOnly")?;
    let tif = time_in_force(fields.text("timeInForce")?, post_only)?;
    // A trigger order's quantity may come as `triggerQuantity` (ccxt sends it instead).
    let quantity = match (fields.text("quantity")?, fields.text("triggerQuantity")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("Specify either quantity or triggerQuantity, not both"));
        }
        (Some(q), None) => Some(parse_units("quantity", &q, spec.step_size)?),
        (None, Some(q)) => Some(parse_units("triggerQuantity", &q, spec.step_size)?),
        (None, None) => None,
    };
    let order_spec = match fields.required_text("orderType")?.as_str() {
        "Limit" => {
            if fields.has("quoteQuantity") {
                return Err(ApiError::bad_request("quoteQuantity applies to market orders only"));
            }
            let price = parse_units("price", &fields.required_text("price")?, spec.tick_size)?;
            let quantity = quantity.ok_or_else(|| ApiError::bad_request("Missing field `quantity`"))?;
            OrderSpec::Limit { price: Ticks(price), quantity: Lots(quantity), time_in_force: tif }
        }
        "Market" => {
            let quote = fields.text("quoteQuantity")?;
            let size = match (quantity, quote) {
                (Some(lots), None) => MarketSize::Base(Lots(lots)),
                (None, Some(quote)) => {
                    let asset = views.asset(spec.quote).ok_or_else(ApiError::invalid_symbol)?;
                    let unit = Decimal::unit(asset.decimals).map_err(|_| ApiError::invalid_symbol())?;
                    MarketSize::Quote(Amount(parse_units("quoteQuantity", &quote, unit)?))
                }
                (Some(_), Some(_)) => {
                    return Err(ApiError::bad_request("Specify either quantity or quoteQuantity, not both"));
                }
                (None, None) => return Err(ApiError::bad_request("Missing field `quantity` or `quoteQuantity`")),
            };
            OrderSpec::Market { size, time_in_force: tif }
        }
        _ => return Err(ApiError::bad_request("orderType must be Limit or Market")),
    };
    let order = NewOrder {
        account,
        market: spec.id,
        side,
        client_id,
        self_trade_prevention: stp,
        margin,
        reduce_only,
        trigger,
        spec: order_spec,
    };
    Ok(match exits {
        [None, None] => Command::PlaceOrder(order),
        [take_profit, stop_loss] => Command::PlaceOrderWithExits { order, take_profit, stop_loss },
    })
}

/// The fields a trigger is read from: an order's own, or its take-profit's or stop-loss's.
struct TriggerFields {
    price: &'static str,
    by: &'static str,
    limit: &'static str,
}

const ORDER_TRIGGER: TriggerFields = TriggerFields { price: "triggerPrice", by: "triggerBy", limit: "" };
const TAKE_PROFIT: TriggerFields =
    TriggerFields { price: "takeProfitTriggerPrice", by: "takeProfitTriggerBy", limit: "takeProfitLimitPrice" };
const STOP_LOSS: TriggerFields =
    TriggerFields { price: "stopLossTriggerPrice", by: "stopLossTriggerBy", limit: "stopLossLimitPrice" };

/// A trigger from its price and `by` fields. `by` defaults to the mark price on a perpetual and
/// to the last price on spot.
fn trigger(
    fields: &Fields<'_>,
    spec: &MarketSpec,
    names: &TriggerFields,
) -> Result<Option<rucksack_types::Trigger>, ApiError> {
    let Some(price) = fields.text(names.price)? else {
        if fields.has(names.by) {
            return Err(ApiError::bad_request(format!("{} needs a {}", names.by, names.price)));
        }
        return Ok(None);
    };
    let price = parse_units(names.price, &price, spec.tick_size)?;
    let by = match fields.text(names.by)?.as_deref() {
        None if spec.kind.perp().is_some() => rucksack_types::TriggerBy::MarkPrice,
        None | Some("LastPrice") => rucksack_types::TriggerBy::LastPrice,
        Some("MarkPrice") => rucksack_types::TriggerBy::MarkPrice,
        Some("IndexPrice") => rucksack_types::TriggerBy::IndexPrice,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "{} must be LastPrice, MarkPrice or IndexPrice, not {other}",
                names.by
            )));
        }
    };
    Ok(Some(rucksack_types::Trigger { price: Ticks(price), by }))
}

/// A take-profit or stop-loss: its trigger and, for a limit order when it fires, its limit price.
fn exit(
    fields: &Fields<'_>,
    spec: &MarketSpec,
    names: &TriggerFields,
) -> Result<Option<rucksack_types::Exit>, ApiError> {
    let Some(trigger) = trigger(fields, spec, names)? else {
        if fields.has(names.limit) {
            return Err(ApiError::bad_request(format!("{} needs a {}", names.limit, names.price)));
        }
        return Ok(None);
    };
    let limit = fields.text(names.limit)?.map(|p| parse_units(names.limit, &p, spec.tick_size)).transpose()?;
    Ok(Some(rucksack_types::Exit { trigger, limit: limit.map(Ticks) }))
}

/// `orderId` (a decimal string or number) or `clientId`, exactly one.
pub fn order_target(fields: &Fields<'_>) -> Result<CancelTarget, ApiError> {
    let order_id = fields.integer("orderId", u64::MAX)?;
    let client_id = fields.integer("clientId", u64::from(u32::MAX))?;
    match (order_id, client_id) {
        (Some(id), None) => Ok(CancelTarget::Order(OrderId(id))),
        (None, Some(id)) => Ok(CancelTarget::Client(ClientId(id as u32))),
        (Some(_), Some(_)) => Err(ApiError::bad_request("Specify either orderId or clientId, not both")),
        (None, None) => Err(ApiError::bad_request("Missing field `orderId` or `clientId`")),
    }
}

/// Parses an admin amount like `"1000.5"` for `asset_decimals`.
pub fn amount(field: &'static str, text: &str, asset_decimals: u8) -> Result<Amount, ApiError> {
    let unit = Decimal::unit(asset_decimals).map_err(|_| ApiError::bad_request("bad asset"))?;
    Ok(Amount(parse_units(field, text, unit)?))
}

/// Every value of query parameter `name`, in order; the venue takes some filters (`marketType`)
/// repeated, which a map of parameters would collapse to one.
pub fn query_values<'q>(query: Option<&'q str>, name: &str) -> Vec<&'q str> {
    query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .collect()
}

/// Market types a `marketType` filter may name.
const MARKET_TYPES: [&str; 6] = ["SPOT", "PERP", "IPERP", "DATED", "PREDICTION", "RFQ"];

/// Which kinds of market a `marketType` filter (absent, once or repeated) selects: all listed
/// kinds when absent; kinds the venue does not list (IPERP, DATED, ...) select nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketKinds {
    pub spot: bool,
    pub perp: bool,
}

impl MarketKinds {
    pub fn includes(&self, kind: &rucksack_types::MarketKind) -> bool {
        match kind {
            rucksack_types::MarketKind::Spot => self.spot,
            rucksack_types::MarketKind::Perp(_) => self.perp,
        }
    }
}

pub fn market_kinds(query: Option<&str>) -> Result<MarketKinds, ApiError> {
    let types = query_values(query, "marketType");
    if let Some(unknown) = types.iter().find(|t| !MARKET_TYPES.contains(t)) {
        return Err(ApiError::bad_request(format!(
            "marketType must be one of {}, not {unknown}",
            MARKET_TYPES.join(", ")
        )));
    }
    Ok(MarketKinds {
        spot: types.is_empty() || types.contains(&"SPOT"),
        perp: types.is_empty() || types.contains(&"PERP"),
    })
}

/// `PATCH /account` body: optional `autoBorrowSettlements`, `autoLend`, `autoRealizePnl`,
/// `autoRepayBorrows` (booleans) and `leverageLimit` (a whole number, as a string or number).
pub fn settings_change(body: &Value) -> Result<rucksack_types::SettingsChange, ApiError> {
    let fields = Fields::new(body)?;
    let flag = |name: &'static str| -> Result<Option<bool>, ApiError> {
        if fields.has(name) { fields.flag(name).map(Some) } else { Ok(None) }
    };
    let leverage_limit = match fields.text("leverageLimit")? {
        None => None,
        Some(text) => Some(
            text.parse::<u16>()
                .ok()
                .filter(|l| (1..=rucksack_types::AccountSettings::MAX_LEVERAGE).contains(l))
                .ok_or_else(|| ApiError::bad_request("leverageLimit must be a whole number from 1 to 100"))?,
        ),
    };
    Ok(rucksack_types::SettingsChange {
        auto_borrow_settlements: flag("autoBorrowSettlements")?,
        auto_lend: flag("autoLend")?,
        auto_realize_pnl: flag("autoRealizePnl")?,
        auto_repay_borrows: flag("autoRepayBorrows")?,
        leverage_limit,
    })
}

/// A URI's query parameters, form-decoded (the last of a repeated name wins).
pub fn query_params(uri: &Uri) -> HashMap<String, String> {
    uri.query()
        .map(|q| {
            q.split('&')
                .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (form_decode(k), form_decode(v)))
                .collect()
        })
        .unwrap_or_default()
}

/// The market a `symbol` parameter names, if one is given.
pub fn market_filter(
    views: &Views,
    params: &HashMap<String, String>,
) -> Result<Option<rucksack_types::MarketId>, ApiError> {
    params.get("symbol").map(|symbol| market(views, symbol).map(|spec| spec.id)).transpose()
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    #[test]
    fn market_type_filters_select_the_kinds_named() {
        let kinds = |spot, perp| Ok(MarketKinds { spot, perp });
        assert_eq!(market_kinds(None), kinds(true, true));
        assert_eq!(market_kinds(Some("symbol=SOL_USDC")), kinds(true, true));
        assert_eq!(market_kinds(Some("marketType=SPOT")), kinds(true, false));
        assert_eq!(market_kinds(Some("marketType=PERP&marketType=SPOT")), kinds(true, true));
        assert_eq!(market_kinds(Some("marketType=PERP")), kinds(false, true));
        assert_eq!(market_kinds(Some("marketType=DATED")), kinds(false, false));
        assert!(market_kinds(Some("marketType=spot")).is_err());
    }
}
