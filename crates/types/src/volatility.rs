//! Dynamic risk parameters: how an asset's realized volatility tightens its margin fractions and
//! haircuts.
//!
//! Each index price update adds its squared return, per second elapsed, to an exponentially
//! weighted average over `window_micros`; the hourly volatility is the square root of that
//! average times 3,600 seconds. The highest tier whose threshold the volatility reaches sets
//! the asset's target multiplier (1 below every threshold). The multiplier in force moves
//! toward the target by at most one whole unit per `ramp_micros`, up and down, so no change of
//! parameters takes a crowd of accounts to maintenance at once.
//!
//! A multiplier `m` scales every initial and maintenance fraction of the asset (its borrows,
//! and perpetuals on it, hedged pairs included), capped at 1, and every haircut: a collateral
//! weight `w` becomes `1 - (1 - w) × m`, floored at 0.

use crate::risk::Fraction;

/// The most tiers a spec has.
pub const TIERS: usize = 4;

/// Volatility at or above `threshold` (hourly, as a fraction) sets the target multiplier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VolatilityTier {
    pub threshold: Fraction,
    pub multiplier: Fraction,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VolatilitySpec {
    pub window_micros: u64,
    pub ramp_micros: u64,
    /// In ascending order; unused tiers have a zero multiplier.
    pub tiers: [VolatilityTier; TIERS],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "volatility tiers need ascending thresholds and multipliers from 1 to 10, unused tiers last with a zero multiplier, and a window and ramp of at least a second"
)]
pub struct VolatilitySpecError;

/// The largest multiplier a tier may set.
pub const MAX_MULTIPLIER: Fraction = Fraction(10 * Fraction::ONE.0);

impl VolatilitySpec {
    pub fn validate(&self) -> Result<(), VolatilitySpecError> {
        let used: Vec<&VolatilityTier> = self.tiers.iter().take_while(|t| t.multiplier.0 != 0).collect();
        let unused_after = self.tiers[used.len()..].iter().all(|t| *t == VolatilityTier::default());
        let in_range =
            used.iter().all(|t| t.threshold.0 > 0 && t.multiplier >= Fraction::ONE && t.multiplier <= MAX_MULTIPLIER);
        let ascending = used.windows(2).all(|w| w[0].threshold < w[1].threshold && w[0].multiplier <= w[1].multiplier);
        let timed = self.window_micros >= 1_000_000 && self.ramp_micros >= 1_000_000;
        if unused_after && in_range && ascending && timed { Ok(()) } else { Err(VolatilitySpecError) }
    }

    /// The target multiplier at `hourly_volatility`: the highest tier it reaches, else 1.
    pub fn target(&self, hourly_volatility: Fraction) -> Fraction {
        self.tiers
            .iter()
            .take_while(|t| t.multiplier.0 != 0)
            .filter(|t| hourly_volatility >= t.threshold)
            .map(|t| t.multiplier)
            .last()
            .unwrap_or(Fraction::ONE)
    }
}

/// An asset's volatility estimate and the multiplier in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Volatility {
    /// The exponentially weighted average of squared returns per second, in 10^-24 (a
    /// fraction squared).
    pub variance_per_second: i128,
    pub multiplier: Fraction,
}

impl Default for Volatility {
    fn default() -> Self {
        Volatility { variance_per_second: 0, multiplier: Fraction::ONE }
    }
}

impl Volatility {
    /// Adds a move from `previous` to `price` over `elapsed_micros`, then ramps the multiplier
    /// toward `spec`'s target over the same time. Returns whether the multiplier changed.
    pub fn observe(&mut self, spec: &VolatilitySpec, previous: i64, price: i64, elapsed_micros: u64) -> bool {
        if previous > 0 && elapsed_micros > 0 {
            let one = i128::from(Fraction::ONE.0);
            let ret = (i128::from(price) - i128::from(previous)).saturating_mul(one) / i128::from(previous);
            // Squared return per second, 10^-24; returns are bounded by the price-update cap.
            let rate = ret.saturating_mul(ret).saturating_mul(1_000_000) / i128::from(elapsed_micros);
            let weight = i128::from(elapsed_micros.min(spec.window_micros));
            let window = i128::from(spec.window_micros.max(1));
            self.variance_per_second += (rate - self.variance_per_second) * weight / window;
        }
        let target = spec.target(self.hourly());
        let step = ramp_step(elapsed_micros, spec.ramp_micros);
        let before = self.multiplier;
        self.multiplier = if target > self.multiplier {
            Fraction(self.multiplier.0.saturating_add(step).min(target.0))
        } else {
            Fraction(self.multiplier.0.saturating_sub(step).max(target.0))
        };
        self.multiplier != before
    }

    /// The hourly volatility: `sqrt(variance per second × 3,600)`, as a fraction.
    pub fn hourly(&self) -> Fraction {
        let hourly_variance = self.variance_per_second.max(0).saturating_mul(3_600) as u128;
        Fraction(hourly_variance.isqrt().min(i64::MAX as u128) as i64)
    }
}

/// How far a multiplier may move in `elapsed_micros`: one whole unit per `ramp_micros`.
fn ramp_step(elapsed_micros: u64, ramp_micros: u64) -> i64 {
    let step = i128::from(Fraction::ONE.0) * i128::from(elapsed_micros) / i128::from(ramp_micros.max(1));
    step.min(i128::from(i64::MAX)) as i64
}

/// Scales a margin fraction by `multiplier`, capped at 1.
pub fn scaled_fraction(fraction: Fraction, multiplier: Fraction) -> Fraction {
    if multiplier == Fraction::ONE {
        return fraction;
    }
    let scaled =
        multiplier.of(i128::from(fraction.0), crate::money::Rounding::Up).unwrap_or(i128::from(Fraction::ONE.0));
    Fraction(scaled.min(i128::from(Fraction::ONE.0)) as i64)
}

/// Scales a collateral weight's haircut by `multiplier`: `1 - (1 - w) × m`, floored at 0.
pub fn scaled_weight(weight: Fraction, multiplier: Fraction) -> Fraction {
    if multiplier == Fraction::ONE {
        return weight;
    }
    let haircut = scaled_fraction(Fraction(Fraction::ONE.0 - weight.0), multiplier);
    Fraction(Fraction::ONE.0 - haircut.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> VolatilitySpec {
        let tier = |threshold: i64, multiplier: i64| VolatilityTier {
            threshold: Fraction(threshold * Fraction::ONE.0 / 100),
            multiplier: Fraction(multiplier * Fraction::ONE.0 / 10),
        };
        VolatilitySpec {
            window_micros: 600_000_000,
            ramp_micros: 600_000_000,
            tiers: [tier(2, 15), tier(5, 20), VolatilityTier::default(), VolatilityTier::default()],
        }
    }

    #[test]
    fn calm_prices_keep_the_multiplier_at_one_and_violent_ones_ramp_it_gradually() {
        let spec = spec();
        assert!(spec.validate().is_ok());
        let mut calm = Volatility::default();
        for second in 0..600 {
            // 0.01% a second: 0.6% an hour.
            let (a, b) = if second % 2 == 0 { (100_000, 100_010) } else { (100_010, 100_000) };
            assert!(!calm.observe(&spec, a, b, 1_000_000));
        }
        assert_eq!(calm.multiplier, Fraction::ONE);
        let mut violent = Volatility::default();
        let mut last = violent.multiplier;
        for second in 0..1_200 {
            // 1% a second: 60% an hour.
            let (a, b) = if second % 2 == 0 { (100_000, 101_000) } else { (101_000, 100_000) };
            violent.observe(&spec, a, b, 1_000_000);
            // Never more than 1/600 of a unit in a second.
            assert!(violent.multiplier.0 - last.0 <= Fraction::ONE.0 / 600 + 1);
            last = violent.multiplier;
        }
        assert!(violent.hourly() >= Fraction(5 * Fraction::ONE.0 / 100), "{:?}", violent.hourly());
        assert_eq!(violent.multiplier, Fraction(2 * Fraction::ONE.0));
        // Calm again: it relaxes the same way, back to 1.
        for _ in 0..20_000 {
            violent.observe(&spec, 100_000, 100_000, 1_000_000);
        }
        assert_eq!(violent.multiplier, Fraction::ONE);
    }

    #[test]
    fn scaling_caps_fractions_at_one_and_weights_at_zero() {
        let two = Fraction(2 * Fraction::ONE.0);
        assert_eq!(scaled_fraction(Fraction(Fraction::ONE.0 / 10), two), Fraction(Fraction::ONE.0 / 5));
        assert_eq!(scaled_fraction(Fraction(Fraction::ONE.0 * 3 / 4), two), Fraction::ONE);
        assert_eq!(scaled_weight(Fraction(Fraction::ONE.0 * 9 / 10), two), Fraction(Fraction::ONE.0 * 8 / 10));
        assert_eq!(scaled_weight(Fraction(Fraction::ONE.0 / 4), two), Fraction::ZERO);
    }
}
