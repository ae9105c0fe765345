//! Encoding of a perpetual market's spec.

use super::{CodecError, Reader, Writer};
use crate::money::Lots;
use crate::perp::{BasisSpec, PerpSpec, PriceBands};
use crate::risk::MarginFunction;

impl Writer {
    pub fn perp_spec(&mut self, spec: &PerpSpec) {
        for function in [spec.imf, spec.mmf] {
            self.fraction(function.base);
            self.fraction(function.factor);
        }
        self.u64(spec.funding_interval_micros);
        self.fraction(spec.funding_rate_upper);
        self.fraction(spec.funding_rate_lower);
        self.i64(spec.open_interest_limit.0);
        self.fraction(spec.mark_band);
        let b = spec.bands;
        for v in [b.limit_min, b.limit_max, b.impact_min, b.impact_max, b.mean_mark_min, b.mean_mark_max] {
            self.fraction(v);
        }
        match spec.basis {
            None => self.u8(0),
            Some(basis) => {
                self.u8(1);
                self.fraction(basis.haircut);
                self.fraction(basis.imf);
                self.fraction(basis.mmf);
            }
        }
    }
}

impl Reader<'_> {
    pub fn perp_spec(&mut self) -> Result<PerpSpec, CodecError> {
        let mut function = || -> Result<MarginFunction, CodecError> {
            Ok(MarginFunction { base: self.fraction()?, factor: self.fraction()? })
        };
        let (imf, mmf) = (function()?, function()?);
        Ok(PerpSpec {
            imf,
            mmf,
            funding_interval_micros: self.u64()?,
            funding_rate_upper: self.fraction()?,
            funding_rate_lower: self.fraction()?,
            open_interest_limit: Lots(self.i64()?),
            mark_band: self.fraction()?,
            bands: PriceBands {
                limit_min: self.fraction()?,
                limit_max: self.fraction()?,
                impact_min: self.fraction()?,
                impact_max: self.fraction()?,
                mean_mark_min: self.fraction()?,
                mean_mark_max: self.fraction()?,
            },
            basis: match self.u8()? {
                0 => None,
                1 => Some(BasisSpec { haircut: self.fraction()?, imf: self.fraction()?, mmf: self.fraction()? }),
                tag => return Err(CodecError::UnknownTag { what: "basis", tag }),
            },
        })
    }
}
