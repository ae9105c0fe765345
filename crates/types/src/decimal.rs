//! Exact decimal strings at the API edge.
//!
//! Backpack sends every price, quantity and amount as a JSON string. Parsing is strict and
//! never rounds: an exponent, whitespace, a sign where none belongs, a word like `NaN`, a
//! value finer than the tick or step it must be a multiple of, or an overflow is an error that
//! names the field. Trailing zeros after the point are accepted (`"1.50"` is `1.5`).

use std::fmt;

/// The most digits after the point we keep. Enough for any asset (18-decimal tokens) with room.
const MAX_SCALE: u32 = 30;

/// A non-rounded decimal number: `mantissa * 10^-scale`, trailing zeros stripped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

/// Why a decimal string was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("is empty")]
    Empty,
    #[error("must not contain whitespace")]
    Whitespace,
    #[error("must not carry a sign")]
    Sign,
    #[error("must not use an exponent")]
    Exponent,
    #[error("is not a decimal number")]
    NotANumber,
    #[error("is too large")]
    Overflow,
    #[error("has more decimal places than {unit} allows")]
    TooPrecise { unit: Decimal },
    #[error("is not a multiple of {unit}")]
    NotMultiple { unit: Decimal },
    #[error("must be positive")]
    NotPositive,
}

/// A [`DecimalError`] tied to the request field it came from, so the client is told which
/// field to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} {error}")]
pub struct FieldError {
    pub field: &'static str,
    pub error: DecimalError,
}

/// Whether a field may be negative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    Unsigned,
    Signed,
}

impl Decimal {
    pub const ZERO: Decimal = Decimal { mantissa: 0, scale: 0 };

    /// `mantissa * 10^-scale`, normalised.
    pub fn new(mantissa: i128, scale: u32) -> Result<Decimal, DecimalError> {
        if scale > MAX_SCALE {
            return Err(DecimalError::Overflow);
        }
        Ok(Decimal { mantissa, scale }.normalised())
    }

    /// One unit of an asset with `decimals` decimals, e.g. `0.000001` for USDC.
    pub fn unit(decimals: u8) -> Result<Decimal, DecimalError> {
        Decimal::new(1, u32::from(decimals))
    }

    pub const fn mantissa(self) -> i128 {
        self.mantissa
    }

    pub const fn scale(self) -> u32 {
        self.scale
    }

    pub const fn is_positive(self) -> bool {
        self.mantissa > 0
    }

    /// Parses a plain decimal: optional `-` (only when `sign` is [`Sign::Signed`]), digits,
    /// optionally a point followed by digits.
    pub fn parse(text: &str, sign: Sign) -> Result<Decimal, DecimalError> {
        if text.is_empty() {
            return Err(DecimalError::Empty);
        }
        let (negative, digits) = match text.as_bytes()[0] {
            b'-' if sign == Sign::Signed => (true, &text[1..]),
            b'-' | b'+' => return Err(DecimalError::Sign),
            _ => (false, text),
        };
        let mut mantissa: i128 = 0;
        let mut scale: u32 = 0;
        let mut seen_point = false;
        let mut digits_before = 0usize;
        let mut digits_after = 0usize;
        for byte in digits.bytes() {
            match byte {
                b'0'..=b'9' => {
                    mantissa = mantissa
                        .checked_mul(10)
                        .and_then(|m| m.checked_add(i128::from(byte - b'0')))
                        .ok_or(DecimalError::Overflow)?;
                    if seen_point {
                        digits_after += 1;
                        scale += 1;
                        if scale > MAX_SCALE + 8 {
                            return Err(DecimalError::Overflow);
                        }
                    } else {
                        digits_before += 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                b'e' | b'E' if digits_before > 0 => return Err(DecimalError::Exponent),
                b'+' | b'-' => return Err(DecimalError::Sign),
                byte if byte.is_ascii_whitespace() => return Err(DecimalError::Whitespace),
                _ => return Err(DecimalError::NotANumber),
            }
        }
        if digits_before == 0 || (seen_point && digits_after == 0) {
            return Err(DecimalError::NotANumber);
        }
        let value = Decimal { mantissa: if negative { -mantissa } else { mantissa }, scale };
        let value = value.normalised();
        if value.scale > MAX_SCALE {
            return Err(DecimalError::Overflow);
        }
        Ok(value)
    }

    /// How many whole `unit`s this value is, exactly. `unit` must be positive.
    pub fn to_units(self, unit: Decimal) -> Result<i64, DecimalError> {
        if !unit.is_positive() {
            return Err(DecimalError::NotPositive);
        }
        if self.scale > unit.scale {
            return Err(DecimalError::TooPrecise { unit });
        }
        // Both at the unit's scale: value = m * 10^(unit.scale - scale) over unit.mantissa.
        let widened =
            pow10(unit.scale - self.scale).and_then(|p| self.mantissa.checked_mul(p)).ok_or(DecimalError::Overflow)?;
        if widened % unit.mantissa != 0 {
            return Err(DecimalError::NotMultiple { unit });
        }
        i64::try_from(widened / unit.mantissa).map_err(|_| DecimalError::Overflow)
    }

    /// Formats `units` whole multiples of `unit` with exactly `unit`'s decimal places, the way
    /// the venue prints prices (`"143.20"` for a 0.01 tick).
    pub fn format_units(units: i64, unit: Decimal) -> String {
        let value = i128::from(units).saturating_mul(unit.mantissa);
        format_scaled(value, unit.scale)
    }

    fn normalised(mut self) -> Decimal {
        while self.scale > 0 && self.mantissa % 10 == 0 {
            self.mantissa /= 10;
            self.scale -= 1;
        }
        self
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_scaled(self.mantissa, self.scale))
    }
}

impl FieldError {
    pub fn new(field: &'static str, error: DecimalError) -> FieldError {
        FieldError { field, error }
    }
}

/// Parses `text` as a positive multiple of `unit` (a price in ticks, a quantity in lots, an
/// amount in asset units), naming `field` in the error.
pub fn parse_units(field: &'static str, text: &str, unit: Decimal) -> Result<i64, FieldError> {
    let value = Decimal::parse(text, Sign::Unsigned).map_err(|e| FieldError::new(field, e))?;
    let units = value.to_units(unit).map_err(|e| FieldError::new(field, e))?;
    if units <= 0 {
        return Err(FieldError::new(field, DecimalError::NotPositive));
    }
    Ok(units)
}

/// `10^exp` if it fits an i128.
pub fn pow10(exp: u32) -> Option<i128> {
    10i128.checked_pow(exp)
}

/// `value * 10^-scale` as a plain decimal string with exactly `scale` places.
pub fn format_scaled(value: i128, scale: u32) -> String {
    let digits = value.unsigned_abs().to_string();
    let sign = if value < 0 { "-" } else { "" };
    let scale = scale as usize;
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    if digits.len() > scale {
        let (whole, frac) = digits.split_at(digits.len() - scale);
        format!("{sign}{whole}.{frac}")
    } else {
        format!("{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
    }
}

#[cfg(test)]
mod tests;
