//! The operator's configuration file (`rucksack serve --config FILE`): where to listen and keep
//! data, limits, and the venue a fresh data directory is listed with. Without a file the demo
//! venue is used. Flags given on the command line override the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rucksack_types::decimal::{Sign, parse_units};
use rucksack_types::{AssetId, AssetSpec, Command, Decimal, Lots, MarketId, MarketSpec, Symbol, Ticks};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    /// Run the demo's oracle, market maker and taker (default: only with the demo venue).
    pub demo_bots: Option<bool>,
    pub key_rate_limit: Option<u32>,
    pub ip_rate_limit: Option<u32>,
    /// Where history is kept (`sqlite://PATH` or `postgres://...`).
    pub database_url: Option<String>,
    #[serde(default)]
    pub assets: Vec<AssetConfig>,
    #[serde(default)]
    pub markets: Vec<MarketConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetConfig {
    pub symbol: String,
    pub decimals: u8,
}

/// A spot market; prices and quantities as decimal strings, fees in basis points.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketConfig {
    pub base: String,
    pub quote: String,
    pub tick_size: String,
    pub step_size: String,
    pub min_price: String,
    pub max_price: String,
    pub min_quantity: String,
    pub max_quantity: String,
    pub maker_fee_bps: i32,
    pub taker_fee_bps: i32,
}

impl Config {
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// The listing commands of the configured venue; `None` if the file lists none (use the
    /// demo venue then).
    pub fn listings(&self) -> anyhow::Result<Option<Vec<Command>>> {
        if self.assets.is_empty() && self.markets.is_empty() {
            return Ok(None);
        }
        let mut commands = Vec::new();
        let mut assets = Vec::new();
        for (index, asset) in self.assets.iter().enumerate() {
            let spec = AssetSpec {
                id: AssetId(u16::try_from(index)?),
                symbol: Symbol::new(&asset.symbol).map_err(|e| anyhow::anyhow!("asset {}: {e}", asset.symbol))?,
                decimals: asset.decimals,
            };
            assets.push(spec);
            commands.push(Command::ListAsset(spec));
        }
        let find = |symbol: &str| {
            assets
                .iter()
                .find(|a| a.symbol.as_str() == symbol)
                .ok_or_else(|| anyhow::anyhow!("market uses unlisted asset {symbol}"))
        };
        for (index, market) in self.markets.iter().enumerate() {
            let (base, quote) = (find(&market.base)?, find(&market.quote)?);
            let name = format!("{}_{}", market.base, market.quote);
            let decimal = |field: &str, text: &str| {
                Decimal::parse(text, Sign::Unsigned).map_err(|e| anyhow::anyhow!("market {name}: {field} {e}"))
            };
            let (tick_size, step_size) =
                (decimal("tick_size", &market.tick_size)?, decimal("step_size", &market.step_size)?);
            let units = |field: &'static str, text: &str, unit: Decimal| {
                parse_units(field, text, unit).map_err(|e| anyhow::anyhow!("market {name}: {e}"))
            };
            let spec = MarketSpec {
                id: MarketId(u16::try_from(index)?),
                symbol: Symbol::new(&name).map_err(|e| anyhow::anyhow!("market {name}: {e}"))?,
                base: base.id,
                quote: quote.id,
                tick_size,
                step_size,
                min_price: Ticks(units("min_price", &market.min_price, tick_size)?),
                max_price: Ticks(units("max_price", &market.max_price, tick_size)?),
                min_quantity: Lots(units("min_quantity", &market.min_quantity, step_size)?),
                max_quantity: Lots(units("max_quantity", &market.max_quantity, step_size)?),
                maker_fee_bps: market.maker_fee_bps,
                taker_fee_bps: market.taker_fee_bps,
                kind: rucksack_types::MarketKind::Spot,
            };
            spec.scale(base, quote).map_err(|e| anyhow::anyhow!("market {name}: {e}"))?;
            commands.push(Command::ListMarket(spec));
        }
        Ok(Some(commands))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_lists_its_venue_and_refuses_mistakes() {
        let config: Config = toml::from_str(
            r#"
            listen = "127.0.0.1:9000"
            [[assets]]
            symbol = "USDC"
            decimals = 6
            [[assets]]
            symbol = "JTO"
            decimals = 9
            [[markets]]
            base = "JTO"
            quote = "USDC"
            tick_size = "0.001"
            step_size = "0.1"
            min_price = "0.001"
            max_price = "10000"
            min_quantity = "0.1"
            max_quantity = "1000000"
            maker_fee_bps = 2
            taker_fee_bps = 5
            "#,
        )
        .unwrap();
        let listings = config.listings().unwrap().unwrap();
        assert_eq!(listings.len(), 3);
        let Command::ListMarket(market) = listings[2] else { panic!("no market") };
        assert_eq!((market.symbol.as_str(), market.max_price), ("JTO_USDC", Ticks(10_000_000)));
        assert!(Config::default().listings().unwrap().is_none(), "no venue: the demo one");

        let unknown: Result<Config, _> = toml::from_str("listne = \"x\"");
        assert!(unknown.is_err(), "a misspelt key is an error, not ignored");
        let mut bad = config;
        bad.markets[0].tick_size = "0.0000001".into();
        assert!(bad.listings().is_err(), "a market whose tick times step is below a quote unit");
    }
}
