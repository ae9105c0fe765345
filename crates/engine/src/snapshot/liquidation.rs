//! The risk-engine section of a snapshot: the waterfall's parameters, the insurance fund, the
//! accounts in liquidation, the backstop providers, each perpetual market's written-off
//! deficits, and the volatility tiers with each asset's volatility and multiplier.

use rucksack_types::codec::{Reader, Writer};
use rucksack_types::volatility::{Volatility, VolatilitySpec, VolatilityTier};
use rucksack_types::{AccountId, Amount, Fraction, LiquidationSpec};

use super::SnapshotError;
use crate::engine::Engine;

impl Engine {
    pub(super) fn encode_liquidation(&self, out: &mut Writer) {
        for fraction in self.liquidation.spec.fractions() {
            out.i64(fraction.0);
        }
        for amount in &self.ledger.insurance {
            out.i64(amount.0);
        }
        out.u64(self.liquidation.liquidating.len() as u64);
        for &index in &self.liquidation.liquidating {
            out.u64(self.ledger.account(index).id.0);
        }
        out.u64(self.liquidation.backstops.len() as u64);
        for (&index, capacity) in &self.liquidation.backstops {
            out.u64(self.ledger.account(index).id.0);
            out.i64(capacity.0);
        }
        for perp in self.markets.iter().filter_map(|m| m.perp.as_ref()) {
            out.i128(perp.written_off);
        }
        match &self.risk.volatility_spec {
            None => out.u8(0),
            Some(spec) => {
                out.u8(1);
                out.u64(spec.window_micros);
                out.u64(spec.ramp_micros);
                for tier in spec.tiers {
                    out.i64(tier.threshold.0);
                    out.i64(tier.multiplier.0);
                }
            }
        }
        for volatility in &self.risk.volatility {
            out.i128(volatility.variance_per_second);
            out.i64(volatility.multiplier.0);
        }
    }

    pub(super) fn decode_liquidation(&mut self, r: &mut Reader<'_>) -> Result<(), SnapshotError> {
        let mut fractions = [Fraction::ZERO; 6];
        for fraction in &mut fractions {
            *fraction = Fraction(r.i64()?);
        }
        let spec = LiquidationSpec::from_fractions(fractions);
        spec.validate().map_err(|_| SnapshotError::Inconsistent("liquidation parameters"))?;
        self.liquidation.spec = spec;
        for asset in 0..self.assets.len() {
            self.ledger.insurance[asset] = Amount(r.i64()?);
        }
        let find = |engine: &Engine, id: u64| {
            engine.ledger.find(AccountId(id)).ok_or(SnapshotError::Inconsistent("liquidation of unknown account"))
        };
        for _ in 0..r.u64()? {
            let index = find(self, r.u64()?)?;
            self.liquidation.liquidating.insert(index);
        }
        for _ in 0..r.u64()? {
            let index = find(self, r.u64()?)?;
            self.liquidation.backstops.insert(index, Amount(r.i64()?));
        }
        for market in &mut self.markets {
            if let Some(perp) = market.perp.as_mut() {
                perp.written_off = r.i128()?;
            }
        }
        self.risk.volatility_spec = match r.u8()? {
            0 => None,
            1 => {
                let (window_micros, ramp_micros) = (r.u64()?, r.u64()?);
                let mut tiers = [VolatilityTier::default(); rucksack_types::volatility::TIERS];
                for tier in &mut tiers {
                    tier.threshold = Fraction(r.i64()?);
                    tier.multiplier = Fraction(r.i64()?);
                }
                let spec = VolatilitySpec { window_micros, ramp_micros, tiers };
                spec.validate().map_err(|_| SnapshotError::Inconsistent("volatility tiers"))?;
                Some(spec)
            }
            _ => return Err(SnapshotError::Inconsistent("volatility tag")),
        };
        for volatility in &mut self.risk.volatility {
            *volatility = Volatility { variance_per_second: r.i128()?, multiplier: Fraction(r.i64()?) };
        }
        Ok(())
    }
}
