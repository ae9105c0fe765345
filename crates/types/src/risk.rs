//! Risk vocabulary: the fixed-point numbers margin and lending are computed in, and the per-asset
//! parameters an operator sets for collateral and the money market.
//!
//! Three fixed-point types keep the units apart:
//! - [`Fraction`]: a dimensionless ratio (weights, margin fractions, rates, utilization) in
//!   millionths of a millionth (`10^-12`).
//! - [`IndexPrice`]: US dollars per whole unit of an asset, in `10^-12` dollars.
//! - [`UsdValue`]: a dollar amount in micro-dollars (`10^-6`), the precision of USDC.
//!
//! Every function states which way it rounds; valuation rounds assets down and liabilities and
//! requirements up.

use std::fmt;

use crate::decimal::{Decimal, DecimalError, format_scaled, pow10};
use crate::ids::AssetId;
use crate::money::{Amount, Overflow, Rounding, div_round};

/// Decimal places of a [`Fraction`] and an [`IndexPrice`].
pub const FRACTION_DECIMALS: u32 = 12;
const ONE: i128 = 1_000_000_000_000;
/// Decimal places of a [`UsdValue`].
pub const USD_DECIMALS: u32 = 6;
const USD_ONE: i128 = 1_000_000;

/// A dimensionless ratio in units of `10^-12`: `Fraction::ONE` is 1.0 (100%).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fraction(pub i64);

impl Fraction {
    pub const ZERO: Fraction = Fraction(0);
    pub const ONE: Fraction = Fraction(ONE as i64);

    /// Parses an exact decimal such as `"0.8"`; more than 12 places is an error, not a rounding.
    pub fn parse(text: &str) -> Result<Fraction, DecimalError> {
        fixed_from_decimal(Decimal::parse(text, crate::decimal::Sign::Unsigned)?).map(Fraction)
    }

    /// `value * self`, rounded as asked.
    pub fn of(self, value: i128, rounding: Rounding) -> Result<i128, Overflow> {
        crate::money::mul_div(value, i128::from(self.0), ONE, rounding)
    }

    /// `numerator / denominator` as a fraction, rounded as asked.
    pub fn ratio(numerator: i128, denominator: i128, rounding: Rounding) -> Result<Fraction, Overflow> {
        let value = crate::money::mul_div(numerator, ONE, denominator, rounding)?;
        i64::try_from(value).map(Fraction).map_err(|_| Overflow)
    }

    pub fn min(self, other: Fraction) -> Fraction {
        if self <= other { self } else { other }
    }

    pub fn max(self, other: Fraction) -> Fraction {
        if self >= other { self } else { other }
    }

    /// Plain decimal with trailing zeros removed, as the venue prints rates (`"0.05"`).
    pub fn to_decimal_string(self) -> String {
        trimmed(i128::from(self.0), FRACTION_DECIMALS)
    }
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string())
    }
}

/// The index price of one whole unit of an asset, in `10^-12` US dollars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IndexPrice(pub i64);

impl IndexPrice {
    pub fn parse(text: &str) -> Result<IndexPrice, DecimalError> {
        let price = fixed_from_decimal(Decimal::parse(text, crate::decimal::Sign::Unsigned)?)?;
        if price <= 0 {
            return Err(DecimalError::NotPositive);
        }
        Ok(IndexPrice(price))
    }

    /// The dollar value of `amount` smallest units of an asset with `decimals` decimals.
    /// Cannot overflow: both factors fit an i64, so their product fits an i128.
    pub fn value(self, amount: Amount, decimals: u8, rounding: Rounding) -> UsdValue {
        let product = i128::from(amount.0) * i128::from(self.0);
        // price is 10^-12 $ per whole unit, amount is 10^-decimals units; the result 10^-6 $.
        let divisor = pow10(u32::from(decimals) + FRACTION_DECIMALS - USD_DECIMALS).unwrap_or(i128::MAX);
        UsdValue(div_round(product, divisor, rounding).unwrap_or(0))
    }

    /// The whole number of smallest units worth at most (`Down`) or at least (`Up`) `value`.
    pub fn quantity_for(self, value: UsdValue, decimals: u8, rounding: Rounding) -> Result<Amount, Overflow> {
        let scale = pow10(u32::from(decimals) + FRACTION_DECIMALS - USD_DECIMALS).ok_or(Overflow)?;
        Amount::from_i128(crate::money::mul_div(value.0, scale, i128::from(self.0), rounding)?)
    }

    pub fn to_decimal_string(self) -> String {
        trimmed(i128::from(self.0), FRACTION_DECIMALS)
    }
}

impl fmt::Display for IndexPrice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string())
    }
}

/// A dollar amount in micro-dollars. Sums of many accounts' values stay far inside an i128.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UsdValue(pub i128);

impl UsdValue {
    pub const ZERO: UsdValue = UsdValue(0);

    /// Six decimal places, as USDC amounts print.
    pub fn to_decimal_string(self) -> String {
        format_scaled(self.0, USD_DECIMALS)
    }

    /// `sqrt(self in dollars)` as a fraction-scaled number (`10^-12`), rounded up.
    fn sqrt_dollars_up(self) -> i128 {
        // sqrt(v / 10^6) * 10^12 = sqrt(v * 10^18)
        let radicand = self.0.max(0).saturating_mul(ONE * USD_ONE) as u128;
        let root = radicand.isqrt();
        let root = if root * root == radicand { root } else { root + 1 };
        root as i128
    }
}

/// `mantissa * 10^-scale` as a `10^-12` fixed-point i64, exactly or not at all.
fn fixed_from_decimal(value: Decimal) -> Result<i64, DecimalError> {
    if value.scale() > FRACTION_DECIMALS {
        return Err(DecimalError::TooPrecise { unit: Decimal::new(1, FRACTION_DECIMALS)? });
    }
    let widened = pow10(FRACTION_DECIMALS - value.scale())
        .and_then(|p| value.mantissa().checked_mul(p))
        .ok_or(DecimalError::Overflow)?;
    i64::try_from(widened).map_err(|_| DecimalError::Overflow)
}

fn trimmed(value: i128, scale: u32) -> String {
    let text = format_scaled(value, scale);
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
}

/// How much of an asset's value counts as collateral (Backpack's `haircutFunction.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Haircut {
    /// Full value (USDC).
    Identity,
    /// `weight(N) = min(base, 1.1 / (1 + penalty * sqrt(N)))`, `N` the holding's notional in
    /// dollars: large holdings count for proportionally less.
    InverseSqrt { base: Fraction, penalty: Fraction },
}

impl Haircut {
    /// The collateral weight of a holding worth `notional`, rounded down.
    pub fn weight(&self, notional: UsdValue) -> Fraction {
        match *self {
            Haircut::Identity => Fraction::ONE,
            Haircut::InverseSqrt { base, penalty } => {
                let curve_denominator = ONE + i128::from(penalty.0) * notional.sqrt_dollars_up() / ONE;
                let curve = Fraction::ratio(11 * ONE / 10, curve_denominator, Rounding::Down).unwrap_or(Fraction::ZERO);
                base.min(curve)
            }
        }
    }
}

/// Where an asset's size-dependent functions stop being flat: below these notionals the haircut
/// weight is its base and the borrow IMF and MMF are theirs, so valuing a holding needs no square
/// root. Derived from an [`AssetRisk`] by [`AssetRisk::flat_regions`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlatRegions {
    pub haircut: UsdValue,
    pub imf: UsdValue,
    pub mmf: UsdValue,
}

/// The largest notional in `0..=2^100` micro-dollars at which `flat` holds, for a property that
/// holds from zero up to a point and not after.
fn flat_up_to(flat: impl Fn(UsdValue) -> bool) -> UsdValue {
    let (mut inside, mut outside) = (0i128, 1i128 << 100);
    if !flat(UsdValue(0)) {
        return UsdValue(-1);
    }
    if flat(UsdValue(outside)) {
        return UsdValue(outside);
    }
    while outside - inside > 1 {
        let middle = inside + (outside - inside) / 2;
        if flat(UsdValue(middle)) { inside = middle } else { outside = middle }
    }
    UsdValue(inside)
}

impl Haircut {
    /// The weight at `notional`, taking the flat region's shortcut.
    pub fn weight_in(&self, notional: UsdValue, flat: &FlatRegions) -> Fraction {
        match *self {
            Haircut::Identity => Fraction::ONE,
            Haircut::InverseSqrt { base, .. } if notional <= flat.haircut => base,
            Haircut::InverseSqrt { .. } => self.weight(notional),
        }
    }
}

impl MarginFunction {
    /// The largest notional at which the fraction is still the base, found with the function
    /// itself, so [`MarginFunction::fraction_in`] below it gives exactly what `fraction` gives.
    pub fn flat_up_to(&self) -> UsdValue {
        flat_up_to(|n| self.fraction(n) == self.base)
    }

    /// The fraction at `notional`, taking the flat region's shortcut below `flat_up_to`.
    pub fn fraction_in(&self, notional: UsdValue, flat_up_to: UsdValue) -> Fraction {
        if notional <= flat_up_to { self.base } else { self.fraction(notional) }
    }
}

/// A size-dependent margin fraction (Backpack's `imfFunction`/`mmfFunction` of type `sqrt`):
/// `max(base, factor * sqrt(N))`, `N` the position's notional in dollars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarginFunction {
    pub base: Fraction,
    pub factor: Fraction,
}

/// The square root of a dollar notional, rounded up, for margin functions that share one
/// notional (a position's IMF and MMF) to take it once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SquareRoot(i128);

impl SquareRoot {
    pub fn of(notional: UsdValue) -> SquareRoot {
        SquareRoot(notional.sqrt_dollars_up())
    }
}

impl MarginFunction {
    /// Whether an initial and a maintenance function make sense together: `0 < base <= 1`,
    /// factors not negative, and maintenance no higher than initial at any size.
    pub fn valid_pair(imf: &MarginFunction, mmf: &MarginFunction) -> bool {
        let valid = |f: &MarginFunction| f.base.0 > 0 && f.base <= Fraction::ONE && !f.factor.is_negative();
        valid(imf) && valid(mmf) && mmf.base <= imf.base && mmf.factor <= imf.factor
    }

    /// The margin fraction for a position worth `notional`, rounded up.
    pub fn fraction(&self, notional: UsdValue) -> Fraction {
        self.fraction_at(SquareRoot::of(notional))
    }

    /// The margin fraction at a notional whose square root is already known.
    pub fn fraction_at(&self, root: SquareRoot) -> Fraction {
        let scaled = div_round(i128::from(self.factor.0) * root.0, ONE, Rounding::Up)
            .ok()
            .and_then(|v| i64::try_from(v).ok())
            .unwrap_or(i64::MAX);
        self.base.max(Fraction(scaled))
    }
}

/// A kinked borrow-rate curve, annual rates: linear from `rate_at_zero` at 0% utilization to
/// `rate_at_optimal` at `optimal_utilization`, then linear to `max_rate` at 100%.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateCurve {
    pub rate_at_zero: Fraction,
    pub optimal_utilization: Fraction,
    pub rate_at_optimal: Fraction,
    pub max_rate: Fraction,
}

impl RateCurve {
    /// The annual borrow rate at `utilization` (clamped to 0..=1), rounded up.
    pub fn borrow_rate(&self, utilization: Fraction) -> Fraction {
        let u = i128::from(utilization.0.clamp(0, Fraction::ONE.0));
        let (u0, r0) = (i128::from(self.optimal_utilization.0), i128::from(self.rate_at_optimal.0));
        let (from, to, span, progress) = if u <= u0 {
            (i128::from(self.rate_at_zero.0), r0, u0, u)
        } else {
            (r0, i128::from(self.max_rate.0), ONE - u0, u - u0)
        };
        let rise = div_round((to - from) * progress, span, Rounding::Up).unwrap_or(0);
        Fraction((from + rise) as i64)
    }
}

/// How an asset's money-market pool behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LendingSpec {
    pub curve: RateCurve,
    /// The exchange's share of the interest borrowers pay (`lend rate = borrow rate * U * (1 - fee)`).
    pub fee: Fraction,
    /// Above this utilization new borrows and lend redemptions stop; repays and lends go on.
    pub throttle_utilization: Fraction,
    /// No borrow may take utilization above this.
    pub max_utilization: Fraction,
}

/// Everything risk needs to know about one asset, set by the operator and changeable later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssetRisk {
    pub asset: AssetId,
    pub haircut: Haircut,
    /// Margin fractions of a borrow of this asset.
    pub borrow_imf: MarginFunction,
    pub borrow_mmf: MarginFunction,
    /// `None`: the asset cannot be lent or borrowed.
    pub lending: Option<LendingSpec>,
    /// A price older than this (microseconds) blocks risk-increasing actions; 0 never expires.
    pub price_stale_after_micros: u64,
    /// One oracle update may move the index by at most these factors (e.g. 2.0 and 0.5).
    pub max_price_update_multiplier: Fraction,
    pub min_price_update_multiplier: Fraction,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RiskSpecError {
    #[error("collateral weight base must be within 0..=1 and the penalty not negative")]
    InvalidHaircut,
    #[error("margin functions need 0 < base <= 1, factor >= 0, and mmf no larger than imf")]
    InvalidMarginFunction,
    #[error("rate curve needs 0 < optimalUtilization < 1 and 0 <= rate at zero <= rate at optimal <= max rate")]
    InvalidRateCurve,
    #[error("fee must be within 0..1 and 0 < throttle <= max utilization <= 1")]
    InvalidPool,
    #[error("price update multipliers need min within (0, 1] and max >= 1")]
    InvalidPriceBand,
}

impl AssetRisk {
    /// Where the haircut and the borrow margin functions are flat, found with the functions
    /// themselves, so the shortcut gives exactly what they give.
    pub fn flat_regions(&self) -> FlatRegions {
        let haircut = match self.haircut {
            Haircut::Identity => UsdValue(i128::MAX),
            Haircut::InverseSqrt { base, .. } => flat_up_to(|n| self.haircut.weight(n) == base),
        };
        FlatRegions { haircut, imf: self.borrow_imf.flat_up_to(), mmf: self.borrow_mmf.flat_up_to() }
    }

    /// Checks the parameters make sense together: monotone, continuous curves, IMF above MMF.
    pub fn validate(&self) -> Result<(), RiskSpecError> {
        let unit = |f: Fraction| (0..=Fraction::ONE.0).contains(&f.0);
        if let Haircut::InverseSqrt { base, penalty } = self.haircut
            && (!unit(base) || penalty.is_negative())
        {
            return Err(RiskSpecError::InvalidHaircut);
        }
        if !MarginFunction::valid_pair(&self.borrow_imf, &self.borrow_mmf) {
            return Err(RiskSpecError::InvalidMarginFunction);
        }
        if let Some(lending) = &self.lending {
            let c = &lending.curve;
            if !(c.optimal_utilization.0 > 0 && c.optimal_utilization < Fraction::ONE)
                || c.rate_at_zero.is_negative()
                || c.rate_at_zero > c.rate_at_optimal
                || c.rate_at_optimal > c.max_rate
                || c.max_rate.0 > 100 * Fraction::ONE.0
            {
                return Err(RiskSpecError::InvalidRateCurve);
            }
            if !(lending.fee.0 >= 0 && lending.fee < Fraction::ONE)
                || lending.throttle_utilization.0 <= 0
                || lending.throttle_utilization > lending.max_utilization
                || lending.max_utilization > Fraction::ONE
            {
                return Err(RiskSpecError::InvalidPool);
            }
        }
        if !(self.min_price_update_multiplier.0 > 0 && self.min_price_update_multiplier <= Fraction::ONE)
            || self.max_price_update_multiplier < Fraction::ONE
        {
            return Err(RiskSpecError::InvalidPriceBand);
        }
        Ok(())
    }
}

impl Fraction {
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }
}

#[cfg(test)]
pub(crate) mod tests;
