//! `account.positionUpdate`: an account's perpetual positions as the venue streams them, valued
//! the way `GET /api/v1/position` values them. The figures are read on the engine thread from
//! the read models as a batch left them (the market's mark and funding, the account's open
//! orders), so the fan-out only formats them; a subscription opens with the same figures of
//! the positions held then.

use serde_json::{Map, Value, json};

use rucksack_engine::perp::PerpHolding;
use rucksack_types::{
    AccountId, AccountSettings, Amount, AssetSpec, FinePrice, Fraction, Lots, MarketId, MarketSpec, PerpPosition,
    Rounding, Timestamp, UsdValue,
};

use crate::format;
use crate::views::Views;

/// What happened to a position, as `e` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PositionEvent {
    Opened,
    Adjusted,
    Closed,
}

impl PositionEvent {
    /// The event that took a position from `before` lots to `after`.
    pub const fn between(before: i64, after: i64) -> PositionEvent {
        match (before, after) {
            (_, 0) => PositionEvent::Closed,
            (0, _) => PositionEvent::Opened,
            _ => PositionEvent::Adjusted,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            PositionEvent::Opened => "positionOpened",
            PositionEvent::Adjusted => "positionAdjusted",
            PositionEvent::Closed => "positionClosed",
        }
    }
}

/// One position's figures. Prices in fine units, money in quote units (rounded toward zero),
/// quantities in lots (negative: short).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PositionFigures {
    pub market: MarketId,
    pub size: i64,
    /// The position as the side of its open orders that would leave it biggest would.
    pub exposure: i64,
    pub exposure_notional: Amount,
    /// `None` when flat.
    pub entry: Option<FinePrice>,
    pub break_even: Option<FinePrice>,
    pub mark: FinePrice,
    pub imf: Fraction,
    pub mmf: Fraction,
    pub realized: Amount,
    pub unrealized: Amount,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PositionUpdate {
    pub account: AccountId,
    /// `None` for the positions a subscription opens with.
    pub event: Option<PositionEvent>,
    pub figures: PositionFigures,
    pub time: Timestamp,
}

/// The figures of `position`, held by `account` in `market`, at the market's mark. `None` if
/// the market is not a perpetual or has no mark yet: nothing can be valued before its first
/// clock sample (the REST positions leave such a position out too).
pub fn figures(views: &Views, account: AccountId, market: MarketId, position: PerpPosition) -> Option<PositionFigures> {
    let perp = views.markets.get(usize::from(market.0))?.perp.as_ref()?;
    let holder = views.accounts.get(&account);
    let (balances, pools) = holder.map_or((&[][..], &[][..]), |a| (&a.balances[..], &a.positions[..]));
    let valuation = perp.valuation(&views.risk_inputs(), balances, pools)?;
    let leverage = holder.map_or(AccountSettings::default().leverage_limit, |a| a.settings.leverage_limit);
    let orders = holder.and_then(|a| a.perps.iter().find(|h| h.market == market));
    let holding =
        PerpHolding { position, ..orders.copied().unwrap_or(PerpHolding { market, ..PerpHolding::default() }) };
    let claim = holding.claim(valuation.mark, perp.cumulative_funding);
    let health = valuation.health(position.size, claim, leverage);
    let size = position.size;
    let exposure = [size, size.saturating_add(holding.bids.lots), size.saturating_sub(holding.asks.lots)]
        .into_iter()
        .max_by_key(|lots| lots.unsigned_abs())
        .unwrap_or(size);
    // A requirement over the position's notional; a flat position shows the functions' fractions
    // at no notional.
    let leverage_floor = Fraction::ratio(1, i128::from(leverage.max(1)), Rounding::Up).unwrap_or(Fraction::ONE);
    let fraction = |requirement: UsdValue, at_zero: Fraction| {
        if health.exposure.0 > 0 {
            Fraction::ratio(requirement.0, health.exposure.0, Rounding::Up).unwrap_or(at_zero)
        } else {
            at_zero
        }
    };
    let quote_units = |fine: i128| perp.quote_units(fine);
    // Break-even: the mark at which the position, with the fees and funding it has not settled,
    // would be owed nothing.
    let unsettled =
        i128::from(position.unsettled_fees).saturating_mul(perp.fine_per_quote_unit) - position.unsettled_funding;
    let break_even = (size != 0).then(|| FinePrice((position.entry_value + unsettled) / i128::from(size)));
    Some(PositionFigures {
        market,
        size,
        exposure,
        exposure_notional: quote_units(i128::from(exposure).saturating_mul(valuation.mark.0)),
        entry: position.entry_price(),
        break_even,
        mark: valuation.mark,
        imf: fraction(health.initial_requirement, perp.spec.imf.fraction(UsdValue::ZERO).max(leverage_floor)),
        mmf: fraction(health.maintenance_requirement, perp.spec.mmf.fraction(UsdValue::ZERO)),
        realized: quote_units(position.realized_pnl),
        unrealized: quote_units(claim),
    })
}

/// The positions `account` holds now (in `market`, if one is named), as a subscription opens.
pub fn open_positions(views: &Views, account: AccountId, market: Option<MarketId>) -> Vec<PositionUpdate> {
    let Some(holder) = views.accounts.get(&account) else { return Vec::new() };
    holder
        .perps
        .iter()
        .filter(|h| h.position.size != 0 && market.is_none_or(|m| m == h.market))
        .filter_map(|h| figures(views, account, h.market, h.position))
        .map(|figures| PositionUpdate { account, event: None, figures, time: views.time })
        .collect()
}

/// The payload of one position update; `quote` is the market's settlement asset.
pub fn payload(spec: &MarketSpec, quote: &AssetSpec, update: &PositionUpdate, emitted: Timestamp) -> Value {
    let figures = &update.figures;
    let price = |p: Option<FinePrice>| p.map_or_else(|| "0".to_string(), |p| p.to_decimal_string(spec.tick_size));
    let mut map = Map::new();
    if let Some(event) = update.event {
        map.insert("e".to_string(), json!(event.as_str()));
    }
    let fields = [
        ("E", json!(emitted.0)),
        ("s", json!(spec.symbol.as_str())),
        ("b", json!(price(figures.break_even))),
        ("B", json!(price(figures.entry))),
        ("f", json!(figures.imf.to_string())),
        ("M", json!(price(Some(figures.mark)))),
        ("m", json!(figures.mmf.to_string())),
        ("q", json!(format::quantity(spec, Lots(figures.size)))),
        ("Q", json!(format::quantity(spec, Lots(figures.exposure)))),
        ("n", json!(format::amount(quote, figures.exposure_notional))),
        ("i", json!(crate::perp::position_id(update.account, figures.market))),
        ("p", json!(format::amount(quote, figures.realized))),
        ("P", json!(format::amount(quote, figures.unrealized))),
        // The estimated liquidation price, which the venue no longer fills in.
        ("l", json!("0")),
        ("T", json!(update.time.0)),
    ];
    map.extend(fields.map(|(key, value)| (key.to_string(), value)));
    Value::Object(map)
}
