//! The demo profile: what a fresh data directory is given so `rucksack serve` is a working
//! venue at once: SOL, BTC, ETH and USDC, and a spot market for each against USDC.

use rucksack_types::decimal::Sign;
use rucksack_types::{AssetId, AssetSpec, Command, Decimal, Lots, MarketId, MarketSpec, Symbol, Ticks};

struct Listing {
    base: &'static str,
    decimals: u8,
    tick: &'static str,
    step: &'static str,
    max_price: i64,
    max_quantity: i64,
}

const USDC_DECIMALS: u8 = 6;
const LISTINGS: [Listing; 3] = [
    Listing { base: "SOL", decimals: 9, tick: "0.01", step: "0.01", max_price: 100_000_000, max_quantity: 100_000_000 },
    Listing {
        base: "BTC",
        decimals: 8,
        tick: "0.1",
        step: "0.00001",
        max_price: 100_000_000,
        max_quantity: 100_000_000,
    },
    Listing {
        base: "ETH",
        decimals: 8,
        tick: "0.01",
        step: "0.0001",
        max_price: 100_000_000,
        max_quantity: 100_000_000,
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
    for (index, listing) in LISTINGS.iter().enumerate() {
        commands.push(Command::ListMarket(MarketSpec {
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
        }));
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
        assert_eq!(engine.market_specs().count(), 3);
        assert_eq!(engine.assets().len(), 4);
    }
}
