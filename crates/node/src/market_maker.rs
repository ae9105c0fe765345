//! The demo's liveliness: a price oracle that moves each market's reference price as a seeded
//! random walk, a market maker that keeps two-sided books of several levels around it, and a
//! taker that now and then trades against them. Both bots are ordinary API clients with funded
//! accounts of their own; they sign every request like any trader.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use rucksack_testkit::SplitMix64;
use rucksack_types::{Decimal, MarketSpec, Ticks};

use crate::admin::Admin;
use crate::client::ApiClient;

/// One market's reference price, in ticks. A perpetual's follows its base's spot market at a
/// premium of its own (in basis points), which the funding rate then pays down.
#[derive(Clone, Debug)]
struct Reference {
    spec: MarketSpec,
    price: Ticks,
    pinned: bool,
    premium_bps: i64,
}

/// The most a perpetual's demo premium wanders from its spot market.
const MAX_PREMIUM_BPS: i64 = 30;

/// Index prices for the demo: a seeded random walk per market, unless an operator pins one.
#[derive(Debug)]
pub struct Oracle {
    references: Mutex<Vec<Reference>>,
    rng: Mutex<SplitMix64>,
}

/// Where each demo market starts, in whole quote units.
fn starting_price(base: &str) -> &'static str {
    match base {
        "BTC" => "95000",
        "ETH" => "3500",
        _ => "150",
    }
}

impl Oracle {
    pub fn new(markets: &[MarketSpec], base_symbols: &[String], seed: u64) -> Oracle {
        let references = markets
            .iter()
            .zip(base_symbols)
            .map(|(spec, base)| {
                let start = Decimal::parse(starting_price(base), rucksack_types::decimal::Sign::Unsigned)
                    .ok()
                    .and_then(|d| d.to_units(spec.tick_size).ok())
                    .unwrap_or(spec.min_price.0.max(1) * 100);
                Reference { spec: *spec, price: Ticks(start), pinned: false, premium_bps: 0 }
            })
            .collect();
        Oracle { references: Mutex::new(references), rng: Mutex::new(SplitMix64::new(seed)) }
    }

    /// Moves every unpinned spot price by up to ±0.1%, then each perpetual's premium by up to
    /// ±2 bps, and sets the perpetual at its spot price plus that premium.
    pub fn step(&self) {
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        let mut references = self.references.lock().unwrap_or_else(PoisonError::into_inner);
        for reference in references.iter_mut().filter(|r| r.spec.kind.perp().is_none()) {
            if reference.pinned {
                continue;
            }
            let bps = rng.range(-10, 10);
            let moved = reference.price.0 + reference.price.0 * bps / 10_000;
            reference.price = Ticks(moved.clamp(reference.spec.min_price.0, reference.spec.max_price.0));
        }
        let spot: Vec<(rucksack_types::AssetId, Ticks)> =
            references.iter().filter(|r| r.spec.kind.perp().is_none()).map(|r| (r.spec.base, r.price)).collect();
        for reference in references.iter_mut().filter(|r| r.spec.kind.perp().is_some()) {
            let Some(&(_, price)) = spot.iter().find(|(base, _)| *base == reference.spec.base) else { continue };
            reference.premium_bps = (reference.premium_bps + rng.range(-2, 2)).clamp(-MAX_PREMIUM_BPS, MAX_PREMIUM_BPS);
            let moved = price.0 + price.0 * reference.premium_bps / 10_000;
            reference.price = Ticks(moved.clamp(reference.spec.min_price.0, reference.spec.max_price.0));
        }
    }

    /// Pins the price of the market whose base asset is `asset`; the walk stops for it.
    pub fn pin(&self, asset: &str, price: &str) -> anyhow::Result<()> {
        let mut references = self.references.lock().unwrap_or_else(PoisonError::into_inner);
        let reference = references
            .iter_mut()
            .find(|r| r.spec.kind.perp().is_none() && r.spec.symbol.as_str().split('_').next() == Some(asset))
            .ok_or_else(|| anyhow::anyhow!("no market for asset {asset}"))?;
        let ticks = rucksack_types::decimal::parse_units("price", price, reference.spec.tick_size)?;
        reference.price = Ticks(ticks);
        reference.pinned = true;
        Ok(())
    }

    pub fn prices(&self) -> Vec<(MarketSpec, Ticks)> {
        self.references.lock().unwrap_or_else(PoisonError::into_inner).iter().map(|r| (r.spec, r.price)).collect()
    }
}

/// Credentials the bots keep in the data directory so a restart reuses their accounts.
fn bot_credentials(admin: &Admin, data_dir: &Path, funds: &[(String, String)]) -> anyhow::Result<(Value, Value)> {
    let path = data_dir.join("demo-bots.json");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(saved) = serde_json::from_str::<Value>(&text)
    {
        return Ok((saved["maker"].clone(), saved["taker"].clone()));
    }
    let maker = admin.create_account(funds)?;
    let taker = admin.create_account(funds)?;
    // The file holds the bots' secret keys: readable by the operator only.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).with_context(|| format!("writing {}", path.display()))?;
    std::io::Write::write_all(&mut file, json!({ "maker": maker, "taker": taker }).to_string().as_bytes())?;
    Ok((maker, taker))
}

fn client(server: &str, credentials: &Value) -> anyhow::Result<ApiClient> {
    ApiClient::new(server, credentials["apiSecret"].as_str().unwrap_or_default())
}

/// Levels quoted on each side, and their distance apart in basis points of the price.
const LEVELS: i64 = 5;
const LEVEL_SPACING_BPS: i64 = 5;

fn quote_orders(spec: &MarketSpec, price: Ticks, rng: &mut SplitMix64) -> Vec<Value> {
    let mut orders = Vec::new();
    let step = (price.0 * LEVEL_SPACING_BPS / 10_000).max(1);
    for level in 1..=LEVELS {
        for (side, sign) in [("Bid", -1), ("Ask", 1)] {
            let ticks = Ticks(price.0 + sign * level * step);
            if ticks < spec.min_price || ticks > spec.max_price {
                continue;
            }
            let lots = spec.min_quantity.0.max(1) * rng.range(20, 200);
            orders.push(json!({
                "symbol": spec.symbol.as_str(),
                "side": side,
                "orderType": "Limit",
                "price": format_price(spec, ticks),
                "quantity": Decimal::format_units(lots, spec.step_size),
                "timeInForce": "GTC",
                "postOnly": true,
            }));
        }
    }
    orders
}

fn format_price(spec: &MarketSpec, price: Ticks) -> String {
    Decimal::format_units(price.0, spec.tick_size)
}

/// Runs the oracle and both bots until `stop` is set. Errors are reported and retried: the demo
/// must not take the exchange down.
pub fn run(
    server: String,
    admin: Admin,
    data_dir: std::path::PathBuf,
    oracle: Arc<Oracle>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let funds: Vec<(String, String)> = [("USDC", "50000000"), ("SOL", "200000"), ("BTC", "500"), ("ETH", "10000")]
        .iter()
        .map(|(a, n)| (a.to_string(), n.to_string()))
        .collect();
    let (maker, taker) = loop {
        match bot_credentials(&admin, &data_dir, &funds) {
            Ok(credentials) => break credentials,
            Err(error) if !stop.load(Ordering::Relaxed) => {
                tracing::warn!(error = %format!("{error:#}"), "demo bots cannot start yet; retrying");
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(_) => return,
        }
    };
    let (Ok(maker), Ok(taker)) = (client(&server, &maker), client(&server, &taker)) else {
        tracing::error!("demo bots: unusable saved credentials in demo-bots.json");
        return;
    };
    let mut rng = SplitMix64::new(seed ^ 0x5eed);
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        oracle.step();
        for (spec, price) in oracle.prices() {
            let symbol = spec.symbol.as_str();
            // A spot reference price is the base asset's index price (the quote is USDC, $1).
            if let (None, Some(base)) = (spec.kind.perp(), symbol.split('_').next()) {
                let index = Decimal::format_units(price.0, spec.tick_size);
                if let Err(error) = admin.publish_index_price(base, &index) {
                    tracing::warn!(error = %format!("{error:#}"), "demo oracle could not publish a price");
                }
            }
            let _ = maker.call("DELETE", "/api/v1/orders", None, Some(&json!({ "symbol": symbol })));
            let orders = Value::Array(quote_orders(&spec, price, &mut rng));
            if let Err(error) = maker.call("POST", "/api/v1/orders", None, Some(&orders)) {
                tracing::warn!(error = %format!("{error:#}"), "demo market maker request failed");
            }
            if round.is_multiple_of(3) && rng.chance(50) {
                let side = if rng.chance(50) { "Bid" } else { "Ask" };
                let lots = spec.min_quantity.0.max(1) * rng.range(1, 20);
                let order = json!({
                    "symbol": symbol,
                    "side": side,
                    "orderType": "Market",
                    "quantity": Decimal::format_units(lots, spec.step_size),
                });
                let _ = taker.call("POST", "/api/v1/order", None, Some(&order));
            }
        }
        round += 1;
        std::thread::sleep(Duration::from_millis(1_000));
    }
}
