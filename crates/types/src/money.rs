//! Integer money. A price is a whole number of ticks, a quantity a whole number of lots, a
//! balance a whole number of an asset's smallest units. Arithmetic is checked: an overflow is
//! an error the caller must handle, never a wrap. Division states whether it rounds towards
//! the house (debts up, payouts down).

use std::fmt;

/// Arithmetic left the representable range, or divided by zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("arithmetic overflow")]
pub struct Overflow;

/// Which way an inexact division goes. Callers choose the direction that favours the house:
/// what an account owes rounds up, what it receives rounds down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// Towards negative infinity (payouts).
    Down,
    /// Towards positive infinity (debts, fees, reservations).
    Up,
}

/// `a * b / c` computed in i128 with the requested rounding. `c` must be positive.
pub fn mul_div(a: i128, b: i128, c: i128, rounding: Rounding) -> Result<i128, Overflow> {
    if c <= 0 {
        return Err(Overflow);
    }
    let product = a.checked_mul(b).ok_or(Overflow)?;
    div_round(product, c, rounding)
}

/// `n / d` with the requested rounding; `d` must be positive.
pub fn div_round(n: i128, d: i128, rounding: Rounding) -> Result<i128, Overflow> {
    if d <= 0 {
        return Err(Overflow);
    }
    let q = n.div_euclid(d);
    let r = n.rem_euclid(d);
    Ok(match rounding {
        Rounding::Down => q,
        Rounding::Up if r != 0 => q.checked_add(1).ok_or(Overflow)?,
        Rounding::Up => q,
    })
}

macro_rules! integer_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub i64);

        impl $name {
            pub const ZERO: Self = Self(0);
            pub const MAX: Self = Self(i64::MAX);

            pub fn checked_add(self, rhs: Self) -> Result<Self, Overflow> {
                self.0.checked_add(rhs.0).map(Self).ok_or(Overflow)
            }

            pub fn checked_sub(self, rhs: Self) -> Result<Self, Overflow> {
                self.0.checked_sub(rhs.0).map(Self).ok_or(Overflow)
            }

            pub fn checked_mul(self, rhs: i64) -> Result<Self, Overflow> {
                self.0.checked_mul(rhs).map(Self).ok_or(Overflow)
            }

            pub const fn is_zero(self) -> bool {
                self.0 == 0
            }

            pub const fn is_positive(self) -> bool {
                self.0 > 0
            }

            pub const fn is_negative(self) -> bool {
                self.0 < 0
            }

            pub fn min(self, other: Self) -> Self {
                if self <= other { self } else { other }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

integer_newtype!(
    /// A price as a whole number of the market's tick size.
    Ticks
);
integer_newtype!(
    /// A quantity as a whole number of the market's step size.
    Lots
);
integer_newtype!(
    /// A balance or notional in an asset's smallest unit (10^-decimals of one whole unit).
    Amount
);

impl Amount {
    /// Narrows an i128 intermediate result, failing instead of truncating.
    pub fn from_i128(value: i128) -> Result<Self, Overflow> {
        i64::try_from(value).map(Self).map_err(|_| Overflow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_rounds_in_the_requested_direction() {
        assert_eq!(div_round(7, 2, Rounding::Down), Ok(3));
        assert_eq!(div_round(7, 2, Rounding::Up), Ok(4));
        assert_eq!(div_round(8, 2, Rounding::Up), Ok(4));
        assert_eq!(div_round(-7, 2, Rounding::Down), Ok(-4));
        assert_eq!(div_round(-7, 2, Rounding::Up), Ok(-3));
        assert_eq!(div_round(1, 0, Rounding::Up), Err(Overflow));
    }

    #[test]
    fn checked_arithmetic_reports_overflow() {
        assert_eq!(Amount::MAX.checked_add(Amount(1)), Err(Overflow));
        assert_eq!(Lots(i64::MIN).checked_sub(Lots(1)), Err(Overflow));
        assert_eq!(Ticks(i64::MAX).checked_mul(2), Err(Overflow));
        assert_eq!(mul_div(i128::MAX, 2, 1, Rounding::Down), Err(Overflow));
        assert_eq!(Amount::from_i128(i128::from(i64::MAX) + 1), Err(Overflow));
    }
}
