//! Asset and market names (`SOL`, `SOL_USDC`, `AAPL.US`) stored inline, so commands and
//! specs stay plain `Copy` data without heap strings.

use std::fmt;

const CAPACITY: usize = 31;

/// An ASCII name of 1 to 31 letters, digits, `_`, `.` or `-`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Symbol {
    len: u8,
    bytes: [u8; CAPACITY],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    #[error("symbol is empty")]
    Empty,
    #[error("symbol is longer than {CAPACITY} characters")]
    TooLong,
    #[error("symbol may hold only letters, digits, '_', '.' and '-'")]
    InvalidCharacter,
}

impl Symbol {
    pub fn new(text: &str) -> Result<Symbol, SymbolError> {
        if text.is_empty() {
            return Err(SymbolError::Empty);
        }
        if text.len() > CAPACITY {
            return Err(SymbolError::TooLong);
        }
        if !text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) {
            return Err(SymbolError::InvalidCharacter);
        }
        let mut bytes = [0u8; CAPACITY];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Ok(Symbol { len: text.len() as u8, bytes })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (checked in `new`), so this cannot fail.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_venue_names_and_refuses_others() {
        for ok in ["SOL", "SOL_USDC", "SOL_USDC_PERP", "AAPL.US", "kPEPE"] {
            assert_eq!(Symbol::new(ok).unwrap().as_str(), ok);
        }
        assert_eq!(Symbol::new(""), Err(SymbolError::Empty));
        assert_eq!(Symbol::new("SOL USDC"), Err(SymbolError::InvalidCharacter));
        assert_eq!(Symbol::new(&"X".repeat(32)), Err(SymbolError::TooLong));
    }
}
