//! The standard test venue: SOL, BTC and USDC, with SOL_USDC and BTC_USDC spot markets, and
//! a stamp that gives commands consecutive sequence numbers and times.

use rucksack_types::decimal::Sign;
use rucksack_types::{
    AccountId, Amount, AssetId, AssetSpec, Command, Decimal, Lots, MarketId, MarketSpec, Seq, Sequenced, Symbol, Ticks,
    Timestamp, TxId,
};

pub const SOL: AssetId = AssetId(0);
pub const USDC: AssetId = AssetId(1);
pub const BTC: AssetId = AssetId(2);
pub const SOL_USDC: MarketId = MarketId(0);
pub const BTC_USDC: MarketId = MarketId(1);

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
    }
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

    pub fn last_seq(&self) -> u64 {
        self.seq
    }
}
