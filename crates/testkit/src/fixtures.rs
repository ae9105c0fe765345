//! The standard test venue: SOL, BTC and USDC, with SOL_USDC and BTC_USDC spot markets, and
//! a stamp that gives commands consecutive sequence numbers and times.

use rucksack_types::decimal::Sign;
use rucksack_types::{
    AccountId, Amount, AssetId, AssetRisk, AssetSpec, Command, Decimal, Fraction, Haircut, IndexPrice, LendingSpec,
    Lots, MarketId, MarketSpec, RateCurve, Seq, Sequenced, Symbol, Ticks, Timestamp, TxId,
};

pub const SOL: AssetId = AssetId(0);
pub const USDC: AssetId = AssetId(1);
pub const BTC: AssetId = AssetId(2);
pub const SOL_USDC: MarketId = MarketId(0);
pub const BTC_USDC: MarketId = MarketId(1);
/// Listed by [`perp_listings`], after the spot markets.
pub const SOL_USDC_PERP: MarketId = MarketId(2);
pub const BTC_USDC_PERP: MarketId = MarketId(3);

fn decimal(text: &str) -> Decimal {
    match Decimal::parse(text, Sign::Unsigned) {
        Ok(value) => value,
        Err(e) => panic!("fixture decimal {text}: {e}"),
    }
}

fn symbol(text: &str) -> Symbol {
    match Symbol::new(text) {
        Ok(value) => value,
        Err(e) => panic!("fixture symbol {text}: {e}"),
    }
}

pub fn asset(id: AssetId, name: &str, decimals: u8) -> AssetSpec {
    AssetSpec { id, symbol: symbol(name), decimals }
}

/// SOL_USDC: tick 0.01, step 0.01 SOL, maker 2 bps, taker 5 bps.
pub fn sol_usdc() -> MarketSpec {
    MarketSpec {
        id: SOL_USDC,
        symbol: symbol("SOL_USDC"),
        base: SOL,
        quote: USDC,
        tick_size: decimal("0.01"),
        step_size: decimal("0.01"),
        min_price: Ticks(1),
        max_price: Ticks(100_000_000),
        min_quantity: Lots(1),
        max_quantity: Lots(10_000_000),
        maker_fee_bps: 2,
        taker_fee_bps: 5,
        kind: rucksack_types::MarketKind::Spot,
    }
}

/// BTC_USDC: tick 0.1, step 0.00001 BTC, maker rebate 1 bp, taker 4 bps. One tick-lot is
/// worth exactly one micro-USDC.
pub fn btc_usdc() -> MarketSpec {
    MarketSpec {
        id: BTC_USDC,
        symbol: symbol("BTC_USDC"),
        base: BTC,
        quote: USDC,
        tick_size: decimal("0.1"),
        step_size: decimal("0.00001"),
        min_price: Ticks(1),
        max_price: Ticks(100_000_000),
        min_quantity: Lots(1),
        max_quantity: Lots(100_000_000),
        maker_fee_bps: -1,
        taker_fee_bps: 4,
        kind: rucksack_types::MarketKind::Spot,
    }
}

/// SOL_USDC_PERP: SOL_USDC's tick and step (a quote unit is 10^10 fine units), maker 2 bps,
/// taker 5 bps, Backpack's SOL perp margin functions, hourly funding within ±1%, a 5% mark
/// band, and hedged pairs at a 1% haircut, 1.5% IMF and 1% MMF.
pub fn sol_perp() -> MarketSpec {
    MarketSpec {
        id: SOL_USDC_PERP,
        symbol: symbol("SOL_USDC_PERP"),
        kind: rucksack_types::MarketKind::Perp(perp_spec(("0.02", "0.0001275"), ("0.0125", "0.0000765"))),
        ..sol_usdc()
    }
}

/// BTC_USDC_PERP: BTC_USDC's tick and step (a quote unit is 10^12 fine units), maker 2 bps,
/// taker 5 bps, and Backpack's price bands (limits within 25% of the active price, takers within
/// 3% of the touch and 10% of the five-minute mean mark).
pub fn btc_perp() -> MarketSpec {
    let mut spec = perp_spec(("0.02", "0.0000935"), ("0.0125", "0.0000561"));
    spec.bands = rucksack_types::PriceBands {
        limit_min: fraction("0.75"),
        limit_max: fraction("1.25"),
        impact_min: fraction("0.97"),
        impact_max: fraction("1.03"),
        mean_mark_min: fraction("0.9"),
        mean_mark_max: fraction("1.1"),
    };
    MarketSpec {
        id: BTC_USDC_PERP,
        symbol: symbol("BTC_USDC_PERP"),
        maker_fee_bps: 2,
        taker_fee_bps: 5,
        kind: rucksack_types::MarketKind::Perp(spec),
        ..btc_usdc()
    }
}

fn perp_spec(imf: (&str, &str), mmf: (&str, &str)) -> rucksack_types::PerpSpec {
    let function = |(base, factor)| rucksack_types::MarginFunction { base: fraction(base), factor: fraction(factor) };
    rucksack_types::PerpSpec {
        imf: function(imf),
        mmf: function(mmf),
        funding_interval_micros: 3_600_000_000,
        funding_rate_upper: fraction("0.01"),
        funding_rate_lower: Fraction(-fraction("0.01").0),
        open_interest_limit: Lots(1_000_000_000),
        mark_band: fraction("0.05"),
        bands: rucksack_types::PriceBands::OPEN,
        basis: Some(rucksack_types::BasisSpec {
            haircut: fraction("0.01"),
            imf: fraction("0.015"),
            mmf: fraction("0.01"),
        }),
    }
}

/// The perpetual markets of the standard venue, to follow [`listings`].
pub fn perp_listings() -> Vec<Command> {
    vec![Command::ListMarket(sol_perp()), Command::ListMarket(btc_perp())]
}

/// The listing commands of the standard venue.
pub fn listings() -> Vec<Command> {
    vec![
        Command::ListAsset(asset(SOL, "SOL", 9)),
        Command::ListAsset(asset(USDC, "USDC", 6)),
        Command::ListAsset(asset(BTC, "BTC", 8)),
        Command::ListMarket(sol_usdc()),
        Command::ListMarket(btc_usdc()),
    ]
}

fn fraction(text: &str) -> Fraction {
    match Fraction::parse(text) {
        Ok(value) => value,
        Err(e) => panic!("fixture fraction {text}: {e}"),
    }
}

/// The standard venue's risk parameters: USDC at full value, SOL and BTC with inverse-sqrt
/// haircuts; every asset lendable on a curve of 10% at 80% utilization (SOL: 8% at 70%).
pub fn asset_risk(asset: AssetId) -> AssetRisk {
    let function = |base, factor| rucksack_types::MarginFunction { base: fraction(base), factor: fraction(factor) };
    let curve = |zero, optimal, at_optimal, max| RateCurve {
        rate_at_zero: fraction(zero),
        optimal_utilization: fraction(optimal),
        rate_at_optimal: fraction(at_optimal),
        max_rate: fraction(max),
    };
    let (haircut, borrow_imf, borrow_mmf, curve) = match asset {
        USDC => {
            (Haircut::Identity, function("0.1", "0.00002"), function("0.05", "0.00001"), curve("0", "0.8", "0.1", "1"))
        }
        SOL => (
            Haircut::InverseSqrt { base: fraction("0.9"), penalty: fraction("0.00001") },
            function("0.2", "0.0002"),
            function("0.1", "0.0001"),
            curve("0.01", "0.7", "0.08", "1.5"),
        ),
        _ => (
            Haircut::InverseSqrt { base: fraction("0.85"), penalty: fraction("0.00002") },
            function("0.2", "0.0002"),
            function("0.1", "0.0001"),
            curve("0.005", "0.8", "0.06", "1"),
        ),
    };
    AssetRisk {
        asset,
        haircut,
        borrow_imf,
        borrow_mmf,
        lending: Some(LendingSpec {
            curve,
            fee: fraction("0.1"),
            throttle_utilization: fraction("0.9"),
            max_utilization: fraction("0.95"),
        }),
        price_stale_after_micros: if asset == USDC { 0 } else { 3_600_000_000 },
        max_price_update_multiplier: fraction("2"),
        min_price_update_multiplier: fraction("0.5"),
    }
}

/// Risk parameters and starting index prices (SOL $143, USDC $1, BTC $95,000) of the standard
/// venue, to follow [`listings`].
pub fn risk_settings() -> Vec<Command> {
    let mut commands: Vec<Command> = [SOL, USDC, BTC].map(|asset| Command::SetAssetRisk(asset_risk(asset))).into();
    for (asset, price) in [(SOL, "143"), (USDC, "1"), (BTC, "95000")] {
        commands.push(Command::SetIndexPrice { asset, price: index_price(price) });
    }
    commands
}

pub fn index_price(text: &str) -> IndexPrice {
    match IndexPrice::parse(text) {
        Ok(value) => value,
        Err(e) => panic!("fixture price {text}: {e}"),
    }
}

/// A deterministic external transaction id.
pub fn tx(n: u64) -> TxId {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    TxId(bytes)
}

pub fn deposit(account: u64, asset: AssetId, amount: i64, tx_number: u64) -> Command {
    Command::Deposit { account: AccountId(account), asset, amount: Amount(amount), tx: tx(tx_number) }
}

/// Stamps commands with consecutive sequence numbers and a clock that advances 1 ms each.
#[derive(Clone, Debug)]
pub struct Stamp {
    seq: u64,
    time: u64,
}

impl Default for Stamp {
    fn default() -> Self {
        Stamp { seq: 0, time: 1_764_000_000_000_000 }
    }
}

impl Stamp {
    pub fn next(&mut self, command: Command) -> Sequenced {
        self.seq += 1;
        self.time += 1_000;
        Sequenced { seq: Seq(self.seq), time: Timestamp(self.time), command }
    }

    /// Moves the clock forward, as time passing between commands.
    pub fn advance(&mut self, micros: u64) {
        self.time += micros;
    }

    pub fn last_seq(&self) -> u64 {
        self.seq
    }
}
