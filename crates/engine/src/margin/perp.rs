//! A perpetual position's part of account health, as Backpack's margin model states it:
//!
//! ```text
//! unrealized PnL      = size × mark − open value              (funding and fees folded in)
//! exposure N          = |net exposure quantity| × mark
//! initial requirement = N × max(IMF(N), 1 / leverage limit),  IMF(N) = max(base, factor × √N)
//! maintenance         = N × MMF(N)
//! ```
//!
//! The net exposure quantity is the worst case over the position's open orders: the position
//! as it is, with every open bid filled at its limit, or with every open ask filled at its
//! limit, whichever leaves the least equity free. A fill at a limit worse than the mark loses
//! the difference at once, and the taker fee is counted on every lot; both lower equity in
//! that scenario.

use rucksack_types::{Amount, AssetSpec, FinePrice, Fraction, IndexPrice, PerpSpec, Rounding, UsdValue};

use super::AccountHealth;

/// What a side's open orders would do to a position if they all filled at their limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenSide {
    pub lots: i64,
    /// Σ lots × limit price, in fine units.
    pub value: i128,
    /// The most their fills could pay in fees (quote units): the taker fee per lot, rounded
    /// up, on every lot.
    pub fees: i64,
}

impl OpenSide {
    pub fn plus(self, other: OpenSide) -> OpenSide {
        OpenSide { lots: self.lots + other.lots, value: self.value + other.value, fees: self.fees + other.fees }
    }

    pub fn minus(self, other: OpenSide) -> OpenSide {
        OpenSide { lots: self.lots - other.lots, value: self.value - other.value, fees: self.fees - other.fees }
    }
}

/// Everything a perpetual position is valued with besides the position.
#[derive(Clone, Copy, Debug)]
pub struct PerpValuation<'a> {
    pub spec: &'a PerpSpec,
    pub mark: FinePrice,
    /// Fine units per quote unit.
    pub fine_per_quote_unit: i128,
    /// The settlement (quote) asset and its index price; a dollar when it has none.
    pub quote: &'a AssetSpec,
    pub quote_price: Option<IndexPrice>,
}

impl PerpValuation<'_> {
    fn usd(&self, fine: i128, rounding: Rounding) -> UsdValue {
        let quote = rucksack_types::money::div_round(fine, self.fine_per_quote_unit, rounding).unwrap_or(0);
        let quote = Amount(quote.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64);
        let one_dollar = IndexPrice(1_000_000_000_000);
        self.quote_price.unwrap_or(one_dollar).value(quote, self.quote.decimals, rounding)
    }

    /// The health of a position of `size` lots owed `claim` fine units.
    pub fn health(&self, size: i64, claim: i128, leverage_limit: u16) -> AccountHealth {
        let pnl = self.usd(claim, Rounding::Down);
        let notional = self.usd(i128::from(size).saturating_abs().saturating_mul(self.mark.0), Rounding::Up);
        let leverage_floor =
            Fraction::ratio(1, i128::from(leverage_limit.max(1)), Rounding::Up).unwrap_or(Fraction::ONE);
        let imf = self.spec.imf.fraction(notional).max(leverage_floor);
        let mmf = self.spec.mmf.fraction(notional);
        AccountHealth {
            unrealized_pnl: pnl,
            exposure: notional,
            initial_requirement: UsdValue(imf.of(notional.0, Rounding::Up).unwrap_or(i128::MAX / 4)),
            maintenance_requirement: UsdValue(mmf.of(notional.0, Rounding::Up).unwrap_or(i128::MAX / 4)),
            ..AccountHealth::default()
        }
    }

    /// The worst of the position as it is (`size` lots owed `claim`), with all `bids` filled, and
    /// with all `asks` filled.
    pub fn worst_health(
        &self,
        size: i64,
        claim: i128,
        bids: OpenSide,
        asks: OpenSide,
        leverage_limit: u16,
    ) -> AccountHealth {
        let mut worst = self.health(size, claim, leverage_limit);
        for (lots, value, fees) in [(bids.lots, -bids.value, bids.fees), (-asks.lots, asks.value, asks.fees)] {
            if lots == 0 {
                continue;
            }
            let fee_fine = i128::from(fees).saturating_mul(self.fine_per_quote_unit);
            let filled_claim = claim
                .saturating_add(i128::from(lots).saturating_mul(self.mark.0))
                .saturating_add(value)
                .saturating_sub(fee_fine);
            let filled = self.health(size.saturating_add(lots), filled_claim, leverage_limit);
            if filled.free_equity() < worst.free_equity() {
                worst = filled;
            }
        }
        worst
    }
}

#[cfg(test)]
mod tests;
