//! How domain values become columns and back. Integers are stored as signed 64-bit values, so an
//! unsigned id beyond `i64::MAX` is refused rather than wrapped; enums are stored as the venue's
//! names and read back strictly.

use rucksack_types::{
    ExpiryReason, InsuranceReason, OrderStatus, SelfTradePrevention, Side, SystemOrderType, TimeInForce, TxId,
};

use crate::StoreError;
use crate::records::TransferKind;
use crate::sql::{Row, Value};

/// An unsigned value as a column.
pub(crate) fn int(what: &'static str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange { what, value })
}

/// A stored column as an unsigned value; a negative one means the row was not written by us.
pub(crate) fn unsigned(what: &'static str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative {what} {value}")))
}

/// A stored column as a narrower unsigned value (asset and market ids, client ids).
pub(crate) fn narrow<T: TryFrom<i64>>(what: &'static str, value: i64) -> Result<T, StoreError> {
    T::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value} is out of range")))
}

/// A value that can pass 64 bits (share counts, fine units) as 16 little-endian bytes.
pub(crate) fn wide(value: i128) -> Value {
    Value::Bytes(value.to_le_bytes().to_vec())
}

/// Column `index` as written by [`wide`].
pub(crate) fn read_wide(what: &'static str, row: &Row, index: usize) -> Result<i128, StoreError> {
    let bytes: Vec<u8> = row.get(index)?;
    <[u8; 16]>::try_from(bytes.as_slice())
        .map(i128::from_le_bytes)
        .map_err(|_| StoreError::Corrupt(format!("{what} of {} bytes", bytes.len())))
}

pub(crate) fn tx(bytes: &[u8]) -> Result<TxId, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(TxId)
        .map_err(|_| StoreError::Corrupt(format!("transaction id of {} bytes", bytes.len())))
}

/// An enum stored by name.
pub(crate) trait Named: Copy + 'static {
    const WHAT: &'static str;
    const ALL: &'static [Self];

    fn name(self) -> &'static str;

    fn parse(text: &str) -> Result<Self, StoreError> {
        Self::ALL
            .iter()
            .copied()
            .find(|value| value.name() == text)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown {} {text:?}", Self::WHAT)))
    }
}

impl Named for Side {
    const WHAT: &'static str = "side";
    const ALL: &'static [Side] = &[Side::Bid, Side::Ask];

    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for TimeInForce {
    const WHAT: &'static str = "time in force";
    const ALL: &'static [TimeInForce] = &[TimeInForce::Gtc, TimeInForce::PostOnly, TimeInForce::Ioc, TimeInForce::Fok];

    /// The venue shows post-only as GTC plus a flag; the store keeps it apart so it reads back.
    fn name(self) -> &'static str {
        match self {
            TimeInForce::PostOnly => "PostOnly",
            other => other.as_str(),
        }
    }
}

impl Named for SelfTradePrevention {
    const WHAT: &'static str = "self-trade prevention";
    const ALL: &'static [SelfTradePrevention] =
        &[SelfTradePrevention::RejectTaker, SelfTradePrevention::RejectMaker, SelfTradePrevention::RejectBoth];

    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for OrderStatus {
    const WHAT: &'static str = "order status";
    const ALL: &'static [OrderStatus] = &[
        OrderStatus::New,
        OrderStatus::PartiallyFilled,
        OrderStatus::Filled,
        OrderStatus::Cancelled,
        OrderStatus::Expired,
        OrderStatus::TriggerPending,
        OrderStatus::TriggerFailed,
    ];

    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for ExpiryReason {
    const WHAT: &'static str = "expiry reason";
    const ALL: &'static [ExpiryReason] = &[
        ExpiryReason::FillOrKill,
        ExpiryReason::ImmediateOrCancel,
        ExpiryReason::InsufficientFunds,
        ExpiryReason::InsufficientLiquidity,
        ExpiryReason::PriceImpact,
        ExpiryReason::ReduceOnlyNotReduced,
        ExpiryReason::SelfTradePrevention,
    ];

    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for SystemOrderType {
    const WHAT: &'static str = "system order type";
    const ALL: &'static [SystemOrderType] = &[
        SystemOrderType::CollateralConversion,
        SystemOrderType::LiquidatePositionOnBook,
        SystemOrderType::LiquidatePositionOnBackstop,
        SystemOrderType::LiquidatePositionOnAdl,
    ];

    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for InsuranceReason {
    const WHAT: &'static str = "insurance fund reason";
    const ALL: &'static [InsuranceReason] = &[
        InsuranceReason::Contribution,
        InsuranceReason::LiquidationFee,
        InsuranceReason::BackstopShare,
        InsuranceReason::DeficitCovered,
        InsuranceReason::BankruptCollateral,
        InsuranceReason::LenderCompensation,
    ];

    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for TransferKind {
    const WHAT: &'static str = "transfer kind";
    const ALL: &'static [TransferKind] = &[TransferKind::Deposit, TransferKind::Withdrawal];

    fn name(self) -> &'static str {
        match self {
            TransferKind::Deposit => "Deposit",
            TransferKind::Withdrawal => "Withdrawal",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Named + PartialEq + std::fmt::Debug>() {
        let mut names: Vec<_> = T::ALL.iter().map(|v| v.name()).collect();
        for value in T::ALL {
            assert_eq!(T::parse(value.name()).unwrap(), *value);
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), T::ALL.len(), "{} names must be distinct", T::WHAT);
        assert!(matches!(T::parse("bid"), Err(StoreError::Corrupt(_))));
        assert!(matches!(T::parse(""), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn every_enum_reads_back_what_it_wrote_and_nothing_else() {
        round_trips::<Side>();
        round_trips::<TimeInForce>();
        round_trips::<SelfTradePrevention>();
        round_trips::<OrderStatus>();
        round_trips::<ExpiryReason>();
        round_trips::<TransferKind>();
        round_trips::<SystemOrderType>();
        round_trips::<InsuranceReason>();
    }

    #[test]
    fn integers_beyond_the_signed_range_are_refused() {
        assert_eq!(int("order id", i64::MAX as u64).unwrap(), i64::MAX);
        assert!(matches!(int("order id", i64::MAX as u64 + 1), Err(StoreError::OutOfRange { what: "order id", .. })));
        assert!(matches!(unsigned("time", -1), Err(StoreError::Corrupt(_))));
        assert!(matches!(narrow::<u16>("market", 70_000), Err(StoreError::Corrupt(_))));
        assert!(matches!(tx(&[0; 31]), Err(StoreError::Corrupt(_))));
    }
}
