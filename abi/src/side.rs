//! `Side`: buy or sell. The one type for it: the SDK's signals, the wire's signal
//! records and the host's validated signals all use this enum.

use std::fmt;

use crate::layout;

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// The side byte of a signal record.
    #[inline]
    pub const fn byte(self) -> u8 {
        match self {
            Side::Buy => layout::side::BUY,
            Side::Sell => layout::side::SELL,
        }
    }

    /// The side a signal record's side byte names, if it names one.
    #[inline]
    pub const fn from_byte(byte: u8) -> Option<Side> {
        match byte {
            layout::side::BUY => Some(Side::Buy),
            layout::side::SELL => Some(Side::Sell),
            _ => None,
        }
    }

    /// `"buy"` or `"sell"` (the golden vectors' spelling).
    pub const fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_others_are_refused() {
        for side in [Side::Buy, Side::Sell] {
            assert_eq!(Side::from_byte(side.byte()), Some(side));
        }
        assert_eq!(Side::Buy.byte(), 0);
        assert_eq!(Side::Sell.byte(), 1);
        assert!((2..=u8::MAX).all(|b| Side::from_byte(b).is_none()));
        assert_eq!(Side::Sell.to_string(), "sell");
    }
}
