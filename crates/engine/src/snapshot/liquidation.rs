//! The liquidation section of a snapshot: the waterfall's parameters, the insurance fund, the
//! accounts in liquidation, the backstop providers, and each perpetual market's written-off
//! deficits.

use rucksack_types::codec::{Reader, Writer};
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
        Ok(())
    }
}
