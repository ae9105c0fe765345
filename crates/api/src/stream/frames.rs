//! Stream payloads as the venue sends them: one-letter fields, decimals as strings, times in
//! microseconds. Each payload is encoded once per batch and wrapped once per stream name.

use serde_json::{Map, Value, json};

use rucksack_types::{AssetSpec, ExpiryReason, MarketSpec, SystemOrderType, Timestamp};

use crate::format;
use crate::views::{MarketView, TradeView, Views};

use super::batch::{Catalogue, DepthUpdate, Level, MarkPriceUpdate, OrderEvent, OrderUpdate, Update};
use super::names::KlineInterval;
use super::positions;

/// `{"stream":"<name>","data":<data>}`. Names are validated (letters, digits, `_`, `.`), so
/// they need no escaping.
pub fn envelope(name: &str, data: &str) -> String {
    let mut text = String::with_capacity(name.len() + data.len() + 22);
    text.push_str("{\"stream\":\"");
    text.push_str(name);
    text.push_str("\",\"data\":");
    text.push_str(data);
    text.push('}');
    text
}

/// An error reply: `{"id":null,"error":{"code":4006,"message":"Invalid stream"}}`.
pub fn error(code: u16, message: &str) -> String {
    json!({ "id": null, "error": { "code": code, "message": message } }).to_string()
}

fn levels(spec: &MarketSpec, levels: &[Level]) -> Value {
    Value::Array(levels.iter().map(|&(p, q)| json!([format::price(spec, p), format::quantity(spec, q)])).collect())
}

pub fn depth(spec: &MarketSpec, update: &DepthUpdate, emitted: Timestamp) -> String {
    json!({
        "e": "depth",
        "E": emitted.0,
        "s": spec.symbol.as_str(),
        "a": levels(spec, &update.asks),
        "b": levels(spec, &update.bids),
        "U": update.first,
        "u": update.last,
        "T": update.time.0,
    })
    .to_string()
}

/// The payload of one update, or `None` if it names something the catalogue does not hold.
pub fn update(catalogue: &Catalogue, update: &Update, emitted: Timestamp) -> Option<String> {
    let value = match update {
        Update::Depth(depth_update) => {
            return Some(depth(catalogue.market(depth_update.market)?, depth_update, emitted));
        }
        Update::BookTicker { market, bid, ask, update_id, time } => {
            let spec = catalogue.market(*market)?;
            let price = |l: &Option<Level>| l.map(|(p, _)| format::price(spec, p));
            let size = |l: &Option<Level>| l.map(|(_, q)| format::quantity(spec, q));
            json!({
                "e": "bookTicker",
                "E": emitted.0,
                "s": spec.symbol.as_str(),
                "a": price(ask),
                "A": size(ask),
                "b": price(bid),
                "B": size(bid),
                "u": update_id,
                "T": time.0,
            })
        }
        Update::Trade { market, trade, buyer_order, seller_order } => {
            let spec = catalogue.market(*market)?;
            trade_payload(spec, trade, buyer_order.0, seller_order.0, emitted)
        }
        Update::Order(order) => {
            let spec = catalogue.market(order.order.market)?;
            order_payload(spec, catalogue.asset(spec.quote)?, order, emitted)
        }
        Update::Balance { asset, balance, .. } => {
            let spec = catalogue.asset(*asset)?;
            json!({
                "e": "balanceUpdate",
                "E": emitted.0,
                "a": spec.symbol.as_str(),
                "A": format::amount(spec, balance.available),
                "L": format::amount(spec, balance.locked),
                "S": "0",
            })
        }
        Update::MarkPrice(mark) => {
            let spec = catalogue.market(mark.market)?;
            mark_price_payload(spec, mark, emitted)
        }
        Update::OpenInterest { market, open_interest, .. } => {
            let spec = catalogue.market(*market)?;
            json!({
                "e": "openInterest",
                "E": emitted.0,
                "s": spec.symbol.as_str(),
                "o": format::quantity(spec, *open_interest),
            })
        }
        Update::Position(position) => {
            let spec = catalogue.market(position.figures.market)?;
            positions::payload(spec, catalogue.asset(spec.quote)?, position, emitted)
        }
        Update::Liquidation(liquidation) => {
            let spec = catalogue.market(liquidation.market)?;
            json!({
                "e": "liquidation",
                "E": emitted.0,
                "q": format::quantity(spec, liquidation.quantity),
                "p": format::exact_price(spec, liquidation.price),
                "S": liquidation.side.as_str(),
                "s": spec.symbol.as_str(),
                "T": liquidation.time.0,
            })
        }
    };
    Some(value.to_string())
}

fn mark_price_payload(spec: &MarketSpec, update: &MarkPriceUpdate, emitted: Timestamp) -> Value {
    let mut map = Map::new();
    let fields = [
        ("e", json!("markPrice")),
        ("E", json!(emitted.0)),
        ("s", json!(spec.symbol.as_str())),
        ("p", json!(update.mark.to_decimal_string(spec.tick_size))),
        ("f", json!(update.funding_rate.to_string())),
    ];
    map.extend(fields.map(|(key, value)| (key.to_string(), value)));
    // A market without an index price marks from its book; a missing index is not a zero one.
    if let Some(index) = update.index {
        map.insert("i".to_string(), json!(index.to_decimal_string(spec.tick_size)));
    }
    map.insert("n".to_string(), json!(update.next_funding.millis()));
    map.insert("T".to_string(), json!(update.time.0));
    Value::Object(map)
}

fn trade_payload(spec: &MarketSpec, trade: &TradeView, buyer: u64, seller: u64, emitted: Timestamp) -> Value {
    json!({
        "e": "trade",
        "E": emitted.0,
        "s": spec.symbol.as_str(),
        "p": format::price(spec, trade.price),
        "q": format::quantity(spec, trade.quantity),
        "b": buyer.to_string(),
        "a": seller.to_string(),
        "t": trade.id.0,
        "T": trade.time.0,
        "m": trade.buyer_is_maker,
    })
}

fn order_payload(spec: &MarketSpec, quote: &AssetSpec, update: &OrderUpdate, emitted: Timestamp) -> Value {
    let order = &update.order;
    let mut map = Map::new();
    let mut put = |key: &str, value: Value| {
        map.insert(key.to_string(), value);
    };
    let event = match update.event {
        OrderEvent::Accepted => "orderAccepted",
        OrderEvent::Fill(_) => "orderFill",
        OrderEvent::Cancelled => "orderCancelled",
        OrderEvent::Expired => "orderExpired",
    };
    put("e", json!(event));
    put("E", json!(emitted.0));
    put("s", json!(spec.symbol.as_str()));
    if let Some(client_id) = order.client_id {
        put("c", json!(client_id.0));
    }
    put("S", json!(order.side.as_str()));
    put("o", json!(if order.is_limit() { "LIMIT" } else { "MARKET" }));
    put("f", json!(order.time_in_force.as_str()));
    if let Some(quantity) = order.quantity {
        put("q", json!(format::quantity(spec, quantity)));
    }
    if let Some(quote_quantity) = order.quote_quantity {
        put("Q", json!(format::amount(quote, quote_quantity)));
    }
    if let Some(price) = order.limit {
        put("p", json!(format::price(spec, price)));
    }
    put("X", json!(order.status.as_str()));
    if let (OrderEvent::Expired, Some(reason)) = (update.event, order.expiry_reason) {
        put("R", json!(ExpiryReason::as_str(reason)));
    }
    put("i", json!(order.id.0.to_string()));
    put("z", json!(format::quantity(spec, order.executed)));
    put("Z", json!(format::amount(quote, order.executed_quote)));
    if let OrderEvent::Fill(fill) = update.event {
        put("t", json!(fill.trade.0));
        put("l", json!(format::quantity(spec, fill.quantity)));
        put("L", json!(format::price(spec, fill.price)));
        put("m", json!(fill.is_maker));
        put("n", json!(format::amount(quote, fill.fee)));
        put("N", json!(quote.symbol.as_str()));
    }
    put("V", json!(order.self_trade_prevention.as_str()));
    put("T", json!(update.time.0));
    put("O", json!(origin(order.system_order_type)));
    put("y", json!(order.time_in_force == rucksack_types::TimeInForce::PostOnly));
    put("r", json!(false));
    Value::Object(map)
}

/// Who made an order update happen (Backpack's `O`): the user, or the liquidation that placed it.
fn origin(system_order_type: Option<SystemOrderType>) -> &'static str {
    match system_order_type {
        None => "USER",
        Some(SystemOrderType::LiquidatePositionOnBook) => "LIQUIDATION_AUTOCLOSE",
        Some(SystemOrderType::CollateralConversion) => "COLLATERAL_CONVERSION",
        Some(SystemOrderType::LiquidatePositionOnBackstop) => "BACKSTOP_LIQUIDITY_PROVIDER",
        Some(SystemOrderType::LiquidatePositionOnAdl) => "ADL_AUTOCLOSE",
    }
}

/// Open, close, high, low, volumes and count of a run of trades, oldest first.
struct Candle {
    open: TradeView,
    close: TradeView,
    high: rucksack_types::Ticks,
    low: rucksack_types::Ticks,
    volume: i64,
    quote_volume: i64,
    trades: u64,
}

fn candle<'a>(trades: impl Iterator<Item = &'a TradeView>) -> Option<Candle> {
    let mut candle: Option<Candle> = None;
    for trade in trades {
        let c = candle.get_or_insert(Candle {
            open: *trade,
            close: *trade,
            high: trade.price,
            low: trade.price,
            volume: 0,
            quote_volume: 0,
            trades: 0,
        });
        c.close = *trade;
        c.high = c.high.max(trade.price);
        c.low = c.low.min(trade.price);
        c.volume = c.volume.saturating_add(trade.quantity.0);
        c.quote_volume = c.quote_volume.saturating_add(trade.quote.0);
        c.trades += 1;
    }
    candle
}

/// Trades of a market at or after `since`, oldest first.
fn trades_since(market: &MarketView, since: Timestamp) -> impl Iterator<Item = &TradeView> {
    let newer = market.trades.iter().rev().take_while(|t| t.time >= since).count();
    market.trades.range(market.trades.len() - newer..)
}

/// `ticker.<symbol>`: the last 24 hours, rolling.
pub fn ticker(views: &Views, market: &MarketView, now: Timestamp) -> String {
    let spec = &market.spec;
    let since = Timestamp(now.0.saturating_sub(86_400_000_000));
    let quote = views.asset(spec.quote);
    let amount = |a: i64| quote.map_or_else(|| "0".into(), |q| format::amount(q, rucksack_types::Amount(a)));
    let zero = || {
        let last = market.trades.back().map_or_else(|| "0".to_string(), |t| format::price(spec, t.price));
        (last.clone(), last.clone(), last.clone(), last, "0".to_string(), "0".to_string(), 0)
    };
    let (o, c, h, l, v, quote_volume, n) = match candle(trades_since(market, since)) {
        Some(s) => (
            format::price(spec, s.open.price),
            format::price(spec, s.close.price),
            format::price(spec, s.high),
            format::price(spec, s.low),
            format::quantity(spec, rucksack_types::Lots(s.volume)),
            amount(s.quote_volume),
            s.trades,
        ),
        None => zero(),
    };
    json!({
        "e": "ticker",
        "E": now.0,
        "s": spec.symbol.as_str(),
        "o": o, "c": c, "h": h, "l": l, "v": v, "V": quote_volume, "n": n,
    })
    .to_string()
}

/// `kline.<interval>.<symbol>` for the candle starting at `start`, or `None` if it had no trade.
pub fn kline(
    market: &MarketView,
    interval: KlineInterval,
    start: Timestamp,
    closed: bool,
    now: Timestamp,
) -> Option<String> {
    let spec = &market.spec;
    let (start, end) = interval.candle(start);
    let summary = candle(trades_since(market, start).take_while(|t| t.time < end))?;
    let iso = |t: Timestamp| format::kline_time(t).replace(' ', "T");
    Some(
        json!({
            "e": "kline",
            "E": now.0,
            "s": spec.symbol.as_str(),
            "t": iso(start),
            "T": iso(end),
            "o": format::price(spec, summary.open.price),
            "c": format::price(spec, summary.close.price),
            "h": format::price(spec, summary.high),
            "l": format::price(spec, summary.low),
            "v": format::quantity(spec, rucksack_types::Lots(summary.volume)),
            "n": summary.trades,
            "X": closed,
        })
        .to_string(),
    )
}
