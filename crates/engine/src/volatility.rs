//! Dynamic risk parameters: each index price update feeds its asset's volatility estimate, and
//! the multiplier of its fractions and haircuts ramps toward the tier that volatility reaches
//! (see [`rucksack_types::volatility`]). A multiplier that moved makes every account depending
//! on the asset one the next sweep values.

use rucksack_types::volatility::{Volatility, VolatilitySpec};
use rucksack_types::{AssetId, Reject};

use crate::engine::Engine;

impl Engine {
    pub(crate) fn set_volatility_spec(&mut self, spec: Option<VolatilitySpec>) -> Result<(), Reject> {
        if let Some(spec) = &spec {
            spec.validate().map_err(Reject::InvalidVolatilitySpec)?;
        }
        self.risk.volatility_spec = spec;
        if spec.is_none() {
            // Loosening never takes anyone to maintenance: static parameters apply at once.
            for asset in 0..self.assets.len() {
                if self.risk.volatility[asset] != Volatility::default() {
                    self.risk.volatility[asset] = Volatility::default();
                    self.multiplier_changed(asset);
                }
            }
        }
        Ok(())
    }

    /// An asset's multiplier moved: memoised valuations of it are stale, and every account
    /// depending on it is valued at the next sweep.
    pub(crate) fn multiplier_changed(&mut self, asset: usize) {
        self.risk.touch(asset);
        self.watch_asset_parameters(asset);
    }

    /// An asset's volatility estimate and the multiplier of its fractions and haircuts.
    pub fn volatility(&self, asset: AssetId) -> Volatility {
        self.risk.volatility.get(usize::from(asset.0)).copied().unwrap_or_default()
    }

    pub fn volatility_spec(&self) -> Option<VolatilitySpec> {
        self.risk.volatility_spec
    }
}
