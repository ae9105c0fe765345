//! Asset and market specifications, and the integer scale that turns ticks and lots into
//! balances.
//!
//! A market's price is quote per whole base, stepped by `tick_size`; its quantity is stepped by
//! `step_size`. One tick times one lot is worth `tick_size * step_size * 10^quote_decimals`
//! quote units: the [`MarketScale`] keeps that ratio exactly as `num / den`. A market is only
//! valid if that ratio is at least one quote unit, so every fill is worth at least one unit and
//! its fees can always be paid out of its proceeds.

use crate::decimal::{Decimal, pow10};
use crate::ids::{AssetId, MarketId};
use crate::money::{Amount, Lots, Overflow, Rounding, Ticks, div_round, mul_div};
use crate::symbol::Symbol;

/// The most decimals an asset may have (ERC-20's 18).
pub const MAX_ASSET_DECIMALS: u8 = 18;
/// Fees are quoted in basis points of notional.
pub const BPS_DENOMINATOR: i128 = 10_000;
/// The highest fee a market may charge (10%), far above any venue's schedule.
pub const MAX_FEE_BPS: i32 = 1_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssetSpec {
    pub id: AssetId,
    pub symbol: Symbol,
    /// Balances are integers of 10^-decimals of one whole unit.
    pub decimals: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketSpec {
    pub id: MarketId,
    pub symbol: Symbol,
    pub base: AssetId,
    pub quote: AssetId,
    pub tick_size: Decimal,
    pub step_size: Decimal,
    pub min_price: Ticks,
    pub max_price: Ticks,
    pub min_quantity: Lots,
    pub max_quantity: Lots,
    /// May be negative: a rebate paid to the maker out of the taker's fee.
    pub maker_fee_bps: i32,
    pub taker_fee_bps: i32,
    pub kind: crate::perp::MarketKind,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("asset decimals must be at most {MAX_ASSET_DECIMALS}")]
    TooManyDecimals,
    #[error("tick size and step size must be positive")]
    NonPositiveIncrement,
    #[error("step size is finer than the base asset's decimals")]
    StepFinerThanAsset,
    #[error("one tick times one lot must be worth at least one unit of the quote asset")]
    TickLotBelowQuoteUnit,
    #[error("base and quote must be different assets")]
    SameAsset,
    #[error("price and quantity bounds must be positive with min <= max")]
    InvalidBounds,
    #[error("taker fee must be within 0..={MAX_FEE_BPS} bps and the maker rebate no larger than it")]
    InvalidFees,
    #[error("market scale overflows")]
    Overflow,
}

/// Exact integer conversion between a market's ticks and lots and asset units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketScale {
    /// Base units in one lot.
    pub base_units_per_lot: i64,
    /// Quote units in one tick times one lot, as `num / den`, `num >= den`.
    pub quote_num: i128,
    pub quote_den: i128,
}

impl MarketSpec {
    /// Checks the spec against its assets and derives its scale.
    pub fn scale(&self, base: &AssetSpec, quote: &AssetSpec) -> Result<MarketScale, SpecError> {
        if base.id == quote.id {
            return Err(SpecError::SameAsset);
        }
        if base.decimals > MAX_ASSET_DECIMALS || quote.decimals > MAX_ASSET_DECIMALS {
            return Err(SpecError::TooManyDecimals);
        }
        if !self.tick_size.is_positive() || !self.step_size.is_positive() {
            return Err(SpecError::NonPositiveIncrement);
        }
        if !(self.min_price.is_positive()
            && self.min_price <= self.max_price
            && self.min_quantity.is_positive()
            && self.min_quantity <= self.max_quantity)
        {
            return Err(SpecError::InvalidBounds);
        }
        if !(0..=MAX_FEE_BPS).contains(&self.taker_fee_bps)
            || self.maker_fee_bps > MAX_FEE_BPS
            || self.maker_fee_bps < -self.taker_fee_bps
        {
            return Err(SpecError::InvalidFees);
        }
        let step_scale = self.step_size.scale();
        if step_scale > u32::from(base.decimals) {
            return Err(SpecError::StepFinerThanAsset);
        }
        let base_units_per_lot = pow10(u32::from(base.decimals) - step_scale)
            .and_then(|p| p.checked_mul(self.step_size.mantissa()))
            .and_then(|v| i64::try_from(v).ok())
            .ok_or(SpecError::Overflow)?;
        // tick * step * 10^dq = tm * sm * 10^(dq - ts - ss)
        let mantissas = self.tick_size.mantissa().checked_mul(self.step_size.mantissa()).ok_or(SpecError::Overflow)?;
        let exponent = i64::from(quote.decimals) - i64::from(self.tick_size.scale()) - i64::from(step_scale);
        let (quote_num, quote_den) = if exponent >= 0 {
            let p = pow10(exponent as u32).ok_or(SpecError::Overflow)?;
            (mantissas.checked_mul(p).ok_or(SpecError::Overflow)?, 1)
        } else {
            let p = pow10((-exponent) as u32).ok_or(SpecError::Overflow)?;
            (mantissas, p)
        };
        if quote_num < quote_den {
            return Err(SpecError::TickLotBelowQuoteUnit);
        }
        let scale = MarketScale { base_units_per_lot, quote_num, quote_den };
        // The largest possible single notional must be representable.
        scale.quote_amount(self.max_price, self.max_quantity, Rounding::Up).map_err(|_| SpecError::Overflow)?;
        Ok(scale)
    }
}

impl MarketScale {
    /// Base units in `lots`.
    pub fn base_amount(&self, lots: Lots) -> Result<Amount, Overflow> {
        lots.0.checked_mul(self.base_units_per_lot).map(Amount).ok_or(Overflow)
    }

    /// Quote value of `lots` at `price`, rounded as asked.
    pub fn quote_amount(&self, price: Ticks, lots: Lots, rounding: Rounding) -> Result<Amount, Overflow> {
        let fine = i128::from(price.0).checked_mul(i128::from(lots.0)).ok_or(Overflow)?;
        Amount::from_i128(mul_div(fine, self.quote_num, self.quote_den, rounding)?)
    }

    /// A fee of `bps` on the notional of `lots` at `price`, rounded as asked. A negative `bps`
    /// gives a negative fee (a rebate).
    pub fn fee(&self, price: Ticks, lots: Lots, bps: i32, rounding: Rounding) -> Result<Amount, Overflow> {
        let fine = i128::from(price.0).checked_mul(i128::from(lots.0)).ok_or(Overflow)?;
        let numerator =
            fine.checked_mul(self.quote_num).and_then(|v| v.checked_mul(i128::from(bps))).ok_or(Overflow)?;
        let denominator = self.quote_den.checked_mul(BPS_DENOMINATOR).ok_or(Overflow)?;
        Amount::from_i128(div_round(numerator, denominator, rounding)?)
    }

    /// Fine units (see [`crate::perp`]) in one quote unit, if whole: perpetual markets need it
    /// so positions settle into balances exactly.
    pub fn fine_per_quote_unit(&self) -> Option<i128> {
        let fine = self.quote_den.checked_mul(crate::perp::FINE_PER_TICK)?;
        (fine % self.quote_num == 0).then_some(fine / self.quote_num)
    }

    /// Quote units in `fine` fine units, rounded as asked.
    pub fn quote_of_fine(&self, fine: i128, rounding: Rounding) -> Result<i128, Overflow> {
        div_round(fine, self.fine_per_quote_unit().ok_or(Overflow)?, rounding)
    }

    /// The most lots whose quote value at `price` (rounded up) fits in `budget`.
    pub fn lots_within(&self, price: Ticks, budget: Amount) -> Lots {
        if budget.0 <= 0 || price.0 <= 0 {
            return Lots::ZERO;
        }
        // lots * price * num / den <= budget  <=>  lots <= budget * den / (price * num)
        let numerator = i128::from(budget.0).saturating_mul(self.quote_den);
        let per_lot = i128::from(price.0).saturating_mul(self.quote_num);
        Lots(i64::try_from(numerator / per_lot).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests;
