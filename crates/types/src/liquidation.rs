//! Liquidation vocabulary: the parameters of the waterfall, the kinds of order and transfer the
//! risk engine makes, and the record each step leaves.

use crate::ids::{AccountId, AssetId, MarketId, OrderId};
use crate::money::Amount;
use crate::perp::FinePrice;
use crate::risk::{Fraction, UsdValue};

/// How the risk engine liquidates an account whose margin fraction fell to its maintenance
/// fraction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiquidationSpec {
    /// The share of a position one on-book step closes (the whole position once what is left is
    /// a single lot).
    pub step_fraction: Fraction,
    /// The furthest from the mark an on-book step may fill, as a fraction of it. A step never
    /// fills so far that it would lower the account's margin fraction, so a thin margin narrows it.
    pub price_impact: Fraction,
    /// Liquidation goes on until the margin fraction is at least the account's maintenance
    /// fraction plus this (hysteresis: an account does not flicker in and out of liquidation).
    pub buffer: Fraction,
    /// At or below this margin fraction the book is not used: positions are closed by the
    /// backstop or deleveraged.
    pub auto_close_fraction: Fraction,
    /// The liquidation fee on liquidated notional, paid to the insurance fund. It never takes
    /// more than half of what the step's fill raised the account's equity above its margin
    /// fraction's share of the exposure left, so a step always leaves the margin fraction
    /// higher, and the fee never takes the account below zero.
    pub fee: Fraction,
    /// The share of an account's equity left at a backstop transfer that goes to the insurance
    /// fund (the rest stays with the account).
    pub backstop_fund_share: Fraction,
}

impl LiquidationSpec {
    /// Backpack's published fee and step size; a buffer and auto-close fraction in line with its
    /// maintenance fractions.
    pub const DEFAULT: LiquidationSpec = LiquidationSpec {
        step_fraction: Fraction(200_000_000_000),
        price_impact: Fraction(20_000_000_000),
        buffer: Fraction(5_000_000_000),
        auto_close_fraction: Fraction(5_000_000_000),
        fee: Fraction(10_000_000_000),
        backstop_fund_share: Fraction(500_000_000_000),
    };

    /// The parameters in declaration order, as the journal and snapshots write them.
    pub const fn fractions(&self) -> [Fraction; 6] {
        [
            self.step_fraction,
            self.price_impact,
            self.buffer,
            self.auto_close_fraction,
            self.fee,
            self.backstop_fund_share,
        ]
    }

    pub const fn from_fractions(f: [Fraction; 6]) -> LiquidationSpec {
        LiquidationSpec {
            step_fraction: f[0],
            price_impact: f[1],
            buffer: f[2],
            auto_close_fraction: f[3],
            fee: f[4],
            backstop_fund_share: f[5],
        }
    }

    pub fn validate(&self) -> Result<(), LiquidationSpecError> {
        let within = |f: Fraction, open_at_zero: bool| f <= Fraction::ONE && (f.0 > 0 || (!open_at_zero && f.0 == 0));
        let valid = within(self.step_fraction, true)
            && within(self.price_impact, false)
            && within(self.buffer, false)
            && within(self.auto_close_fraction, false)
            && within(self.fee, false)
            && within(self.backstop_fund_share, false);
        if valid { Ok(()) } else { Err(LiquidationSpecError) }
    }
}

impl Default for LiquidationSpec {
    fn default() -> Self {
        LiquidationSpec::DEFAULT
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("liquidation fractions must be within [0, 1], the step fraction above 0")]
pub struct LiquidationSpecError;

/// An order or transfer the exchange makes on an account's behalf (Backpack's
/// `systemOrderType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SystemOrderType {
    /// Collateral sold on a spot market to cover a borrow during liquidation.
    CollateralConversion,
    LiquidatePositionOnBook,
    LiquidatePositionOnBackstop,
    LiquidatePositionOnAdl,
}

impl SystemOrderType {
    pub const fn as_str(self) -> &'static str {
        match self {
            SystemOrderType::CollateralConversion => "CollateralConversion",
            SystemOrderType::LiquidatePositionOnBook => "LiquidatePositionOnBook",
            SystemOrderType::LiquidatePositionOnBackstop => "LiquidatePositionOnBackstop",
            SystemOrderType::LiquidatePositionOnAdl => "LiquidatePositionOnAdl",
        }
    }

    /// The fill type of fills this produces (Backpack's `fillType`).
    pub const fn fill_type(self) -> &'static str {
        match self {
            SystemOrderType::CollateralConversion => "CollateralConversion",
            SystemOrderType::LiquidatePositionOnBook => "BookLiquidation",
            SystemOrderType::LiquidatePositionOnBackstop => "Backstop",
            SystemOrderType::LiquidatePositionOnAdl => "Adl",
        }
    }
}

/// Which stage of the waterfall a liquidation step was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiquidationStage {
    /// Open orders cancelled and borrows repaid from balances of the same asset.
    Unwind,
    /// Positions reduced through the book.
    OnBook,
    /// Positions transferred to backstop liquidity providers.
    Backstop,
    /// Positions closed against opposing profitable positions.
    Adl,
    /// Nothing left to close, but owing more than the account holds: the deficit absorbed.
    Deficit,
}

impl LiquidationStage {
    pub const fn as_str(self) -> &'static str {
        match self {
            LiquidationStage::Unwind => "Unwind",
            LiquidationStage::OnBook => "OnBook",
            LiquidationStage::Backstop => "Backstop",
            LiquidationStage::Adl => "Adl",
            LiquidationStage::Deficit => "Deficit",
        }
    }
}

/// One atomic liquidation step on one account, with its margin fraction before and after
/// (`None`: no exposure left).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiquidationStep {
    pub account: AccountId,
    pub stage: LiquidationStage,
    pub margin_fraction_before: Fraction,
    /// The account's maintenance fraction before the step (`None`: no exposure).
    pub maintenance_fraction_before: Option<Fraction>,
    pub margin_fraction_after: Option<Fraction>,
    pub net_equity_before: UsdValue,
    pub net_equity_after: UsdValue,
    /// Liquidation ended with this step: the buffer is restored or nothing is left to act on.
    pub finished: bool,
}

/// A position moved between two accounts outside the book, at `price`: `lots` is the change of
/// `from`'s size (negative: `from` sold them to `to`), and `to`'s changed by the opposite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PositionTransfer {
    /// Numbered with the market's trades, so both accounts' fills have a trade id.
    pub trade: crate::ids::TradeId,
    pub kind: SystemOrderType,
    pub market: MarketId,
    pub from: AccountId,
    pub to: AccountId,
    pub lots: i64,
    pub price: FinePrice,
}

/// Why the insurance fund's balance changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsuranceReason {
    /// The operator paid into the fund.
    Contribution,
    LiquidationFee,
    BackstopShare,
    /// The fund paid an account's negative equity.
    DeficitCovered,
    /// A bankrupt account's remaining collateral, taken over by the fund, which pays its debts.
    BankruptCollateral,
    /// A lender who lost tokens to a bad debt, paid their dollar notional.
    LenderCompensation,
}

impl InsuranceReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            InsuranceReason::Contribution => "Contribution",
            InsuranceReason::LiquidationFee => "LiquidationFee",
            InsuranceReason::BackstopShare => "BackstopShare",
            InsuranceReason::DeficitCovered => "DeficitCovered",
            InsuranceReason::BankruptCollateral => "BankruptCollateral",
            InsuranceReason::LenderCompensation => "LenderCompensation",
        }
    }
}

/// A change of the insurance fund: `change` (negative: paid out) from or to `account` (the
/// account liquidated, or the one that contributed), leaving `balance`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InsuranceChange {
    pub asset: AssetId,
    pub account: AccountId,
    pub reason: InsuranceReason,
    pub change: Amount,
    pub balance: Amount,
}

/// An order the engine placed for a liquidation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemOrder {
    pub order: OrderId,
    pub account: AccountId,
    pub kind: SystemOrderType,
}

/// An account whose liquidation left it owing more than it held in a market, and how the
/// deficit (quote units) was absorbed, all in the step that found it: by the insurance fund, by
/// the market's positions in profit (deleveraged at the bankruptcy price), and (only what
/// neither could, when no position is in profit) written off against the market.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bankruptcy {
    pub account: AccountId,
    pub market: MarketId,
    pub deficit: Amount,
    pub from_fund: Amount,
    pub from_adl: Amount,
    pub written_off: Amount,
}

/// A borrow a bankrupt account could not repay: the insurance fund repaid `from_fund` of it in
/// kind; `from_lenders` was written off against the pool's lenders, who were paid
/// `lenders_compensated` (settlement-asset units) of its dollar notional by the fund. Only what
/// the fund could not pay is a loss to them (the documented last resort).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadDebt {
    pub account: AccountId,
    pub asset: AssetId,
    pub from_fund: Amount,
    pub from_lenders: Amount,
    pub lenders_compensated: Amount,
}
