//! Encoding of the risk parameters and the money-market commands.

use super::{CodecError, Reader, Writer};
use crate::command::BorrowLendAction;
use crate::ids::AssetId;
use crate::risk::{AssetRisk, Fraction, Haircut, LendingSpec, MarginFunction, RateCurve};

impl Writer {
    pub fn fraction(&mut self, v: Fraction) {
        self.i64(v.0);
    }

    pub fn asset_risk(&mut self, risk: &AssetRisk) {
        self.u16(risk.asset.0);
        match risk.haircut {
            Haircut::Identity => self.u8(0),
            Haircut::InverseSqrt { base, penalty } => {
                self.u8(1);
                self.fraction(base);
                self.fraction(penalty);
            }
        }
        for function in [risk.borrow_imf, risk.borrow_mmf] {
            self.fraction(function.base);
            self.fraction(function.factor);
        }
        match &risk.lending {
            None => self.u8(0),
            Some(lending) => {
                self.u8(1);
                let c = lending.curve;
                for v in [c.rate_at_zero, c.optimal_utilization, c.rate_at_optimal, c.max_rate] {
                    self.fraction(v);
                }
                self.fraction(lending.fee);
                self.fraction(lending.throttle_utilization);
                self.fraction(lending.max_utilization);
            }
        }
        self.u64(risk.price_stale_after_micros);
        self.fraction(risk.max_price_update_multiplier);
        self.fraction(risk.min_price_update_multiplier);
    }
}

impl Reader<'_> {
    pub fn fraction(&mut self) -> Result<Fraction, CodecError> {
        Ok(Fraction(self.i64()?))
    }

    fn margin_function(&mut self) -> Result<MarginFunction, CodecError> {
        Ok(MarginFunction { base: self.fraction()?, factor: self.fraction()? })
    }

    pub fn asset_risk(&mut self) -> Result<AssetRisk, CodecError> {
        let asset = AssetId(self.u16()?);
        let haircut = match self.u8()? {
            0 => Haircut::Identity,
            1 => Haircut::InverseSqrt { base: self.fraction()?, penalty: self.fraction()? },
            tag => return Err(CodecError::UnknownTag { what: "haircut", tag }),
        };
        let (borrow_imf, borrow_mmf) = (self.margin_function()?, self.margin_function()?);
        let lending = match self.u8()? {
            0 => None,
            1 => Some(LendingSpec {
                curve: RateCurve {
                    rate_at_zero: self.fraction()?,
                    optimal_utilization: self.fraction()?,
                    rate_at_optimal: self.fraction()?,
                    max_rate: self.fraction()?,
                },
                fee: self.fraction()?,
                throttle_utilization: self.fraction()?,
                max_utilization: self.fraction()?,
            }),
            tag => return Err(CodecError::UnknownTag { what: "lending", tag }),
        };
        Ok(AssetRisk {
            asset,
            haircut,
            borrow_imf,
            borrow_mmf,
            lending,
            price_stale_after_micros: self.u64()?,
            max_price_update_multiplier: self.fraction()?,
            min_price_update_multiplier: self.fraction()?,
        })
    }
}

pub fn borrow_lend_tag(action: BorrowLendAction) -> u8 {
    match action {
        BorrowLendAction::Borrow => 0,
        BorrowLendAction::Repay => 1,
        BorrowLendAction::Lend => 2,
        BorrowLendAction::Redeem => 3,
    }
}

pub fn borrow_lend_from(tag: u8) -> Result<BorrowLendAction, CodecError> {
    match tag {
        0 => Ok(BorrowLendAction::Borrow),
        1 => Ok(BorrowLendAction::Repay),
        2 => Ok(BorrowLendAction::Lend),
        3 => Ok(BorrowLendAction::Redeem),
        tag => Err(CodecError::UnknownTag { what: "borrow-lend action", tag }),
    }
}
