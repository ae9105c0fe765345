//! Perpetual futures vocabulary: what a perpetual market is, the position an account holds in
//! one, and the pure formulas for its mark price and funding rate.
//!
//! Positions are valued in *fine* units: `10^-12` of one tick times one lot. A trade at `p`
//! ticks for `q` lots is worth exactly `p * q * 10^12` fine units, a mark price carries twelve
//! more decimals than the book, and a funding payment per lot (`rate * mark`) is a whole number
//! of fine units. So sizes sum to zero and funding sums to zero exactly; only moving money into
//! a balance rounds, and the market's scale makes that conversion exact (see
//! [`crate::MarketScale::fine_per_quote_unit`]).

use crate::decimal::{Decimal, format_scaled, pow10};
use crate::ids::Timestamp;
use crate::money::{Lots, Rounding, Ticks, div_round};
use crate::risk::{Fraction, IndexPrice, MarginFunction};

/// Fine units in one tick times one lot.
pub const FINE_PER_TICK: i128 = 1_000_000_000_000;

/// What trades in a market.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarketKind {
    /// The base asset itself, paid for in the quote asset.
    Spot,
    /// A perpetual future on the base asset, settled in the quote asset: no base changes hands.
    Perp(PerpSpec),
}

impl MarketKind {
    pub const fn perp(&self) -> Option<&PerpSpec> {
        match self {
            MarketKind::Spot => None,
            MarketKind::Perp(spec) => Some(spec),
        }
    }

    /// Backpack's `marketType`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            MarketKind::Spot => "SPOT",
            MarketKind::Perp(_) => "PERP",
        }
    }
}

/// A perpetual market's risk and funding parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PerpSpec {
    /// Initial and maintenance margin fractions of a position by its notional (Backpack's
    /// `imfFunction` and `mmfFunction`).
    pub imf: MarginFunction,
    pub mmf: MarginFunction,
    /// How often funding is paid, in microseconds (an hour on every Backpack perp).
    pub funding_interval_micros: u64,
    /// Bounds of one interval's funding rate (Backpack publishes them in basis points).
    pub funding_rate_upper: Fraction,
    pub funding_rate_lower: Fraction,
    /// The most lots all long positions together may hold.
    pub open_interest_limit: Lots,
    /// The mark price stays within the index price times `1 ± mark_band`.
    pub mark_band: Fraction,
    /// Margin for a short perpetual hedged by the base asset held in the same account; `None`:
    /// hedges get no credit in this market.
    pub basis: Option<BasisSpec>,
    /// How far from the market's prices an order may be placed or fill.
    pub bands: PriceBands,
}

/// Order-acceptance and execution bands, as multipliers (Backpack's `filters.price`):
/// - a limit order's price must be within `[active × limit_min, active × limit_max]`, the
///   active price being the median of best bid, best ask and last trade (refused otherwise);
/// - a taker buys only up to `best ask × impact_max` and sells down to `best bid × impact_min`,
///   as the book stood when it arrived;
/// - and only up to `mean mark × mean_mark_max` (down to `× mean_mark_min`), the mean being
///   the mark's five-minute average.
///
/// What a taker could not fill within its bands expires (`PriceImpact`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceBands {
    pub limit_min: Fraction,
    pub limit_max: Fraction,
    pub impact_min: Fraction,
    pub impact_max: Fraction,
    pub mean_mark_min: Fraction,
    pub mean_mark_max: Fraction,
}

impl PriceBands {
    /// Bands that allow every price.
    pub const OPEN: PriceBands = PriceBands {
        limit_min: Fraction(0),
        limit_max: Fraction(i64::MAX),
        impact_min: Fraction(0),
        impact_max: Fraction(i64::MAX),
        mean_mark_min: Fraction(0),
        mean_mark_max: Fraction(i64::MAX),
    };

    fn valid(&self) -> bool {
        let pair = |min: Fraction, max: Fraction| min.0 >= 0 && min <= Fraction::ONE && max >= Fraction::ONE;
        pair(self.limit_min, self.limit_max)
            && pair(self.impact_min, self.impact_max)
            && pair(self.mean_mark_min, self.mean_mark_max)
    }
}

/// The hedged-pair terms of a perpetual market. Units of the base held (or lent, while its pool
/// is not throttled) against an equal short in the perpetual form a pair: those spot units count
/// as collateral at `1 - haircut` instead of the asset's haircut, and that part of the short
/// needs `imf` (`mmf`) instead of the size-scaled functions. Whatever is unhedged on either side
/// is valued as usual.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasisSpec {
    pub haircut: Fraction,
    pub imf: Fraction,
    pub mmf: Fraction,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PerpSpecError {
    #[error("margin functions need 0 < base <= 1, factor >= 0, and mmf no larger than imf")]
    InvalidMarginFunction,
    #[error("funding interval must be a positive whole number of seconds dividing a day")]
    InvalidFundingInterval,
    #[error("funding rate bounds need lower <= 0 <= upper <= 1")]
    InvalidFundingBounds,
    #[error("open interest limit must be positive and the mark band within (0, 1)")]
    InvalidLimits,
    #[error(
        "a perpetual market's quote must settle exactly: 10^12 fine units per tick-lot must divide into quote units"
    )]
    InexactSettlement,
    #[error("every perpetual market must settle in the same quote asset")]
    SettlementAssetMismatch,
    #[error("basis terms need 0 <= haircut < 1 and 0 < mmf <= imf, each no higher than the market's base")]
    InvalidBasis,
    #[error("price bands need each minimum within [0, 1] and each maximum at least 1")]
    InvalidBands,
}

/// Microseconds in a day.
pub const DAY_MICROS: u64 = 86_400_000_000;

impl PerpSpec {
    pub fn validate(&self) -> Result<(), PerpSpecError> {
        if !MarginFunction::valid_pair(&self.imf, &self.mmf) {
            return Err(PerpSpecError::InvalidMarginFunction);
        }
        let interval = self.funding_interval_micros;
        if interval == 0 || !interval.is_multiple_of(1_000_000) || !DAY_MICROS.is_multiple_of(interval) {
            return Err(PerpSpecError::InvalidFundingInterval);
        }
        if self.funding_rate_lower.0 > 0
            || self.funding_rate_lower.0 < -Fraction::ONE.0
            || self.funding_rate_upper.is_negative()
            || self.funding_rate_upper > Fraction::ONE
        {
            return Err(PerpSpecError::InvalidFundingBounds);
        }
        if !self.open_interest_limit.is_positive() || self.mark_band.0 <= 0 || self.mark_band >= Fraction::ONE {
            return Err(PerpSpecError::InvalidLimits);
        }
        if !self.bands.valid() {
            return Err(PerpSpecError::InvalidBands);
        }
        if let Some(basis) = self.basis
            && !(basis.haircut.0 >= 0
                && basis.haircut < Fraction::ONE
                && basis.mmf.0 > 0
                && basis.mmf <= basis.imf
                && basis.imf <= self.imf.base
                && basis.mmf <= self.mmf.base)
        {
            return Err(PerpSpecError::InvalidBasis);
        }
        Ok(())
    }

    /// The interest part of one interval's funding: 0.03% a day, pro rata (0.00125% an hour).
    pub fn interest_per_interval(&self) -> Fraction {
        const DAILY: i128 = 300_000_000; // 0.0003
        let micros = i128::from(self.funding_interval_micros);
        Fraction(div_round(DAILY * micros, i128::from(DAY_MICROS), Rounding::Down).unwrap_or(0) as i64)
    }

    /// The end of the funding interval running at `time`.
    pub fn interval_end(&self, time: Timestamp) -> Timestamp {
        let interval = self.funding_interval_micros.max(1);
        Timestamp((time.0 / interval + 1) * interval)
    }
}

/// The band funding's interest part may pull the mean premium by: ±0.05%.
pub const FUNDING_INTEREST_BAND: Fraction = Fraction(500_000_000);

/// One interval's funding rate from the mean premium of mark over index:
/// `clamp(mean + clamp(interest - mean, ±0.05%), lower, upper)`.
///
/// Backpack's futures page divides the sum by 8 (a leftover of 8-hour intervals), but its quiet
/// hourly markets publish exactly the hourly interest part, 0.00125%, which only the formula
/// without `/8` gives. rucksack follows the published numbers and leaves the `/8` out.
pub fn funding_rate(mean_premium: Fraction, interest: Fraction, lower: Fraction, upper: Fraction) -> Fraction {
    let band = FUNDING_INTEREST_BAND.0;
    let pull = (interest.0.saturating_sub(mean_premium.0)).clamp(-band, band);
    Fraction(mean_premium.0.saturating_add(pull).clamp(lower.0, upper.0))
}

/// A price in fine units: `10^-12` ticks. Mark and index prices of perpetual markets are kept
/// this way so a position's value at them is exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FinePrice(pub i128);

impl FinePrice {
    pub const fn from_ticks(ticks: Ticks) -> FinePrice {
        FinePrice(ticks.0 as i128 * FINE_PER_TICK)
    }

    /// An index price (dollars per whole base unit) on a market with `tick_size`, rounded down.
    pub fn from_index(index: IndexPrice, tick_size: Decimal) -> Option<FinePrice> {
        // fine = index * 10^-12 / (m * 10^-s) * 10^12 = index * 10^s / m
        let scaled = i128::from(index.0).checked_mul(pow10(tick_size.scale())?)?;
        Some(FinePrice(div_round(scaled, tick_size.mantissa(), Rounding::Down).ok()?))
    }

    /// The price as a plain decimal in quote per whole base, trailing zeros removed.
    pub fn to_decimal_string(self, tick_size: Decimal) -> String {
        let value = self.0.saturating_mul(tick_size.mantissa());
        let text = format_scaled(value, tick_size.scale() + 12);
        if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
    }

    /// `(self - other) / other` as a fraction, rounded toward zero; `None` if `other` is not
    /// positive.
    pub fn premium_over(self, other: FinePrice) -> Option<Fraction> {
        if other.0 <= 0 {
            return None;
        }
        Fraction::ratio(self.0 - other.0, other.0, Rounding::Down).ok()
    }
}

/// The mark price by the venue's fallback chain: the index plus the smoothed premium of the
/// book's mid over it, bounded to `index * (1 ± band)`; the index alone while there is no
/// premium yet; without an index, the median of best bid, best ask and last trade, then the mid,
/// then the last trade.
pub fn mark_price(
    index: Option<FinePrice>,
    smoothed_premium: Option<i128>,
    band: Fraction,
    book: BookPrices,
) -> Option<FinePrice> {
    if let Some(index) = index {
        let Some(premium) = smoothed_premium else { return Some(index) };
        let bound = band.of(index.0, Rounding::Down).unwrap_or(0);
        return Some(FinePrice(index.0 + premium.clamp(-bound, bound)));
    }
    let median = match (book.best_bid, book.best_ask, book.last) {
        (Some(bid), Some(ask), Some(last)) => {
            let mut three = [bid.0, ask.0, last.0];
            three.sort_unstable();
            Some(FinePrice(three[1]))
        }
        _ => None,
    };
    median.or_else(|| book.mid()).or(book.last)
}

/// What the book says about price: best bid, best ask, last trade.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BookPrices {
    pub best_bid: Option<FinePrice>,
    pub best_ask: Option<FinePrice>,
    pub last: Option<FinePrice>,
}

impl BookPrices {
    /// The midpoint of best bid and best ask, rounded down.
    pub fn mid(&self) -> Option<FinePrice> {
        let (bid, ask) = (self.best_bid?, self.best_ask?);
        Some(FinePrice((bid.0 + ask.0).div_euclid(2)))
    }
}

/// The window of the mid-over-index average: one minute.
pub const PREMIUM_WINDOW_MICROS: u64 = 60_000_000;

/// The window of the mean mark price the takers' band is measured from: five minutes.
pub const MEAN_MARK_WINDOW_MICROS: u64 = 300_000_000;

/// One step of the exponentially weighted average of `mid - index` after `elapsed`
/// microseconds: the new sample gets weight `elapsed / window` (all of it once a window has
/// passed). The first sample starts the average.
pub fn smoothed_premium(previous: Option<i128>, sample: i128, elapsed_micros: u64) -> i128 {
    moving_average(previous, sample, elapsed_micros, PREMIUM_WINDOW_MICROS)
}

/// One step of an exponentially weighted average over `window` microseconds.
pub fn moving_average(previous: Option<i128>, sample: i128, elapsed_micros: u64, window: u64) -> i128 {
    let Some(previous) = previous else { return sample };
    let window = window.max(1);
    let weight = i128::from(elapsed_micros.min(window));
    previous + (sample - previous) * weight / i128::from(window)
}

/// An account's position in one perpetual market. All values but `size` are in fine units.
///
/// `size * mark - open_value` is what the position is owed (negative: what it owes) and not yet
/// settled into a balance: its unrealized PnL, with funding and trading fees since the last
/// realization folded in. Realization moves that into the quote balance and raises `open_value`
/// by what moved, without touching the size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerpPosition {
    /// Lots, positive long, negative short.
    pub size: i64,
    pub open_value: i128,
    /// The cost of the current position at its average entry price: `entry_value / size`.
    pub entry_value: i128,
    /// PnL of closing fills against the average entry, since the position opened.
    pub realized_pnl: i128,
    /// The market's cumulative funding per lot when funding was last applied to the position.
    pub funding_index: i128,
    /// Funding received (negative: paid) since the position opened.
    pub cumulative_funding: i128,
    /// Trading fees (quote units) and funding (fine units, positive: received) folded into
    /// `open_value` since the last realization; they say where realized money came from.
    pub unsettled_fees: i64,
    pub unsettled_funding: i128,
}

impl PerpPosition {
    pub const fn is_flat(&self) -> bool {
        self.size == 0
    }

    /// What the position is owed at `mark`, in fine units (negative: what it owes).
    pub fn claim(&self, mark: FinePrice) -> Option<i128> {
        i128::from(self.size).checked_mul(mark.0)?.checked_sub(self.open_value)
    }

    /// The average entry price, rounded toward zero; `None` when flat.
    pub fn entry_price(&self) -> Option<FinePrice> {
        (self.size != 0).then(|| FinePrice(self.entry_value / i128::from(self.size)))
    }

    /// Applies a fill of `lots` (positive: bought) at `price`, keeping the average entry of
    /// what remains and realizing the closed part's PnL against it. A flip opens the new side
    /// at `price`.
    pub fn fill(&mut self, lots: i64, price: Ticks) -> Option<()> {
        self.fill_at(lots, FinePrice::from_ticks(price))
    }

    /// [`PerpPosition::fill`] at a price in fine units: a transfer outside the book at a mark.
    pub fn fill_at(&mut self, lots: i64, price: FinePrice) -> Option<()> {
        // Worked out on a copy: an overflow leaves the position as it was.
        let mut next = *self;
        let fine = price.0;
        let value = i128::from(lots).checked_mul(fine)?;
        let old = self.size;
        let new = old.checked_add(lots)?;
        next.open_value = self.open_value.checked_add(value)?;
        if old == 0 || (old > 0) == (lots > 0) {
            next.entry_value = self.entry_value.checked_add(value)?;
        } else {
            let closed = lots.checked_abs()?.min(old.checked_abs()?);
            // The closed lots' part of the entry value, in proportion.
            let closed_entry = self.entry_value.checked_mul(i128::from(closed))? / i128::from(old.abs());
            let closed_value = fine.checked_mul(i128::from(closed))?;
            // A short's entry value is negative: it was paid `-closed_entry` for the lots.
            let pnl = if old > 0 { closed_value - closed_entry } else { -closed_entry - closed_value };
            next.realized_pnl = self.realized_pnl.checked_add(pnl)?;
            next.entry_value = self.entry_value - closed_entry;
            if new != 0 && (new > 0) != (old > 0) {
                next.entry_value = i128::from(new).checked_mul(fine)?;
            }
        }
        if new == 0 {
            next.entry_value = 0;
        }
        next.size = new;
        *self = next;
        Some(())
    }
}

#[cfg(test)]
mod tests;
