//! The demo profile: what a fresh data directory is given so `rucksack serve` is a working
//! venue at once: SOL, BTC, ETH and USDC, a spot market for each against USDC, and a perpetual
//! on each settled in USDC.

use rucksack_types::decimal::Sign;
use rucksack_types::{
    AssetId, AssetRisk, AssetSpec, BasisSpec, Command, Decimal, Fraction, Haircut, IndexPrice, LendingSpec, Lots,
    MarginFunction, MarketId, MarketKind, MarketSpec, PerpSpec, PriceBands, RateCurve, Symbol, Ticks,
};

struct Listing {
    base: &'static str,
    decimals: u8,
    tick: &'static str,
    step: &'static str,
    max_price: i64,
    max_quantity: i64,
    /// The perpetual's IMF and MMF functions (base, factor), Backpack's for the asset, and its
    /// open-interest limit in whole units.
    imf: (&'static str, &'static str),
    mmf: (&'static str, &'static str),
    open_interest_limit: &'static str,
}

const USDC_DECIMALS: u8 = 6;
const LISTINGS: [Listing; 3] = [
    Listing {
        base: "SOL",
        decimals: 9,
        tick: "0.01",
        step: "0.01",
        max_price: 100_000_000,
        max_quantity: 100_000_000,
        imf: ("0.02", "0.0001275"),
        mmf: ("0.0125", "0.0000765"),
        open_interest_limit: "4000000",
    },
    Listing {
        base: "BTC",
        decimals: 8,
        tick: "0.1",
        step: "0.00001",
        max_price: 100_000_000,
        max_quantity: 100_000_000,
        imf: ("0.02", "0.0000935"),
        mmf: ("0.0125", "0.0000561"),
        open_interest_limit: "1000",
    },
    Listing {
        base: "ETH",
        decimals: 8,
        tick: "0.01",
        step: "0.0001",
        max_price: 100_000_000,
        max_quantity: 100_000_000,
        imf: ("0.02", "0.0000935"),
        mmf: ("0.0125", "0.0000561"),
        open_interest_limit: "50000",
    },
];

fn decimal(text: &str) -> anyhow::Result<Decimal> {
    Decimal::parse(text, Sign::Unsigned).map_err(|e| anyhow::anyhow!("demo decimal {text}: {e}"))
}

fn symbol(text: &str) -> anyhow::Result<Symbol> {
    Symbol::new(text).map_err(|e| anyhow::anyhow!("demo symbol {text}: {e}"))
}

/// The listing commands of the demo venue.
pub fn listings() -> anyhow::Result<Vec<Command>> {
    let usdc = AssetId(0);
    let mut commands =
        vec![Command::ListAsset(AssetSpec { id: usdc, symbol: symbol("USDC")?, decimals: USDC_DECIMALS })];
    for (index, listing) in LISTINGS.iter().enumerate() {
        let base = AssetId(index as u16 + 1);
        commands.push(Command::ListAsset(AssetSpec {
            id: base,
            symbol: symbol(listing.base)?,
            decimals: listing.decimals,
        }));
    }
    let spot = |index: usize, listing: &Listing| -> anyhow::Result<MarketSpec> {
        Ok(MarketSpec {
            id: MarketId(index as u16),
            symbol: symbol(&format!("{}_USDC", listing.base))?,
            base: AssetId(index as u16 + 1),
            quote: usdc,
            tick_size: decimal(listing.tick)?,
            step_size: decimal(listing.step)?,
            min_price: Ticks(1),
            max_price: Ticks(listing.max_price),
            min_quantity: Lots(1),
            max_quantity: Lots(listing.max_quantity),
            maker_fee_bps: 2,
            taker_fee_bps: 5,
            kind: MarketKind::Spot,
        })
    };
    for (index, listing) in LISTINGS.iter().enumerate() {
        commands.push(Command::ListMarket(spot(index, listing)?));
    }
    // The perpetuals follow, on the spot markets' ticks and steps, at Backpack's futures fees.
    for (index, listing) in LISTINGS.iter().enumerate() {
        let spec = spot(index, listing)?;
        let f = |text: &str| Fraction::parse(text).map_err(|e| anyhow::anyhow!("demo fraction {text}: {e}"));
        let perp = PerpSpec {
            imf: MarginFunction { base: f(listing.imf.0)?, factor: f(listing.imf.1)? },
            mmf: MarginFunction { base: f(listing.mmf.0)?, factor: f(listing.mmf.1)? },
            funding_interval_micros: 3_600_000_000,
            funding_rate_upper: f("0.01")?,
            funding_rate_lower: Fraction(-f("0.01")?.0),
            open_interest_limit: Lots(
                rucksack_types::decimal::parse_units("open interest", listing.open_interest_limit, spec.step_size)
                    .map_err(|e| anyhow::anyhow!("demo open interest: {e:?}"))?,
            ),
            mark_band: f("0.05")?,
            basis: Some(BasisSpec { haircut: f("0.01")?, imf: f("0.015")?, mmf: f("0.01")? }),
            // Backpack's: limits within 25% of the active price, takers within 3% of the touch
            // and 10% of the five-minute mean mark.
            bands: PriceBands {
                limit_min: f("0.75")?,
                limit_max: f("1.25")?,
                impact_min: f("0.97")?,
                impact_max: f("1.03")?,
                mean_mark_min: f("0.9")?,
                mean_mark_max: f("1.1")?,
            },
        };
        commands.push(Command::ListMarket(MarketSpec {
            id: MarketId((LISTINGS.len() + index) as u16),
            symbol: symbol(&format!("{}_USDC_PERP", listing.base))?,
            maker_fee_bps: 2,
            taker_fee_bps: 5,
            kind: MarketKind::Perp(perp),
            ..spec
        }));
    }
    commands.extend(risk_settings()?);
    Ok(commands)
}

/// Collateral, margin and money-market parameters of the demo assets, and their starting index
/// prices. USDC counts at full value; the others take an inverse-sqrt haircut. Borrowing USDC
/// needs 10% initial margin, the others 20%.
fn risk_settings() -> anyhow::Result<Vec<Command>> {
    let f = |text: &str| Fraction::parse(text).map_err(|e| anyhow::anyhow!("demo fraction {text}: {e}"));
    let mut commands = Vec::new();
    for (index, (symbol, price)) in
        [("USDC", "1"), ("SOL", "150"), ("BTC", "95000"), ("ETH", "3500")].iter().enumerate()
    {
        let asset = AssetId(index as u16);
        let stable = *symbol == "USDC";
        let function = |base, factor| -> anyhow::Result<MarginFunction> {
            Ok(MarginFunction { base: f(base)?, factor: f(factor)? })
        };
        let risk = AssetRisk {
            asset,
            haircut: if stable {
                Haircut::Identity
            } else {
                Haircut::InverseSqrt { base: f("0.9")?, penalty: f("0.00001")? }
            },
            borrow_imf: if stable { function("0.1", "0.00002")? } else { function("0.2", "0.0002")? },
            borrow_mmf: if stable { function("0.05", "0.00001")? } else { function("0.1", "0.0001")? },
            lending: Some(LendingSpec {
                curve: RateCurve {
                    rate_at_zero: f("0")?,
                    optimal_utilization: f("0.8")?,
                    rate_at_optimal: f(if stable { "0.1" } else { "0.05" })?,
                    max_rate: f("1")?,
                },
                fee: f("0.1")?,
                throttle_utilization: f("0.9")?,
                max_utilization: f("0.95")?,
            }),
            price_stale_after_micros: if stable { 0 } else { 600_000_000 },
            max_price_update_multiplier: f("2")?,
            min_price_update_multiplier: f("0.5")?,
        };
        commands.push(Command::SetAssetRisk(risk));
        let price = IndexPrice::parse(price).map_err(|e| anyhow::anyhow!("demo price {price}: {e}"))?;
        commands.push(Command::SetIndexPrice { asset, price });
    }
    Ok(commands)
}

#[cfg(test)]
mod tests {
    use rucksack_engine::Engine;
    use rucksack_types::{Seq, Sequenced, Timestamp};

    #[test]
    fn the_demo_listings_are_valid() {
        let mut engine = Engine::new();
        for (seq, command) in super::listings().unwrap().into_iter().enumerate() {
            let sequenced = Sequenced { seq: Seq(seq as u64 + 1), time: Timestamp(1), command };
            engine.apply(&sequenced).unwrap();
        }
        assert_eq!(engine.market_specs().count(), 6);
        assert_eq!(engine.market_specs().filter(|m| m.kind.perp().is_some()).count(), 3);
        assert_eq!(engine.assets().len(), 4);
    }
}
