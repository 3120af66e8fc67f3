//! Units as types. Conversions to and from wire numbers happen at the edges, never in formulas.

use std::ops::{Add, Mul};

/// A count of model parameters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Params(pub u64);

impl Add for Params {
    type Output = Params;
    fn add(self, rhs: Params) -> Params {
        Params(self.0.saturating_add(rhs.0))
    }
}

impl Mul<u64> for Params {
    type Output = Params;
    fn mul(self, rhs: u64) -> Params {
        Params(self.0.saturating_mul(rhs))
    }
}

impl std::iter::Sum for Params {
    fn sum<I: Iterator<Item = Params>>(iter: I) -> Params {
        iter.fold(Params(0), Add::add)
    }
}

/// A size in bytes. Fractional because packed formats store less than a byte per weight.
#[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd)]
pub struct Bytes(pub f64);

impl Bytes {
    /// Decimal gigabytes (1 GB = 1e9 bytes), as memory is sold.
    pub fn gb(self) -> f64 {
        self.0 / 1e9
    }

    /// Binary gibibytes (1 GiB = 2^30 bytes), as operating systems report memory.
    pub fn gib(self) -> f64 {
        self.0 / f64::from(1u32 << 30)
    }
}

/// Bits per stored weight of a number format, including any scales or zero points.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct BitsPerWeight(pub f64);

impl Mul<BitsPerWeight> for Params {
    type Output = Bytes;
    /// `params x bits / 8`.
    fn mul(self, bits: BitsPerWeight) -> Bytes {
        // u64 -> f64 loses precision only above 2^53 parameters, far beyond any model.
        #[allow(clippy::cast_precision_loss)]
        Bytes(self.0 as f64 * bits.0 / 8.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_follow_bits() {
        assert_eq!(Params(175_000_000_000) * BitsPerWeight(16.0), Bytes(350e9));
        assert_eq!((Params(2) * BitsPerWeight(4.5)).0, 1.125);
        assert_eq!(Bytes(2f64.powi(30)).gib(), 1.0);
        assert_eq!(Params(u64::MAX) * 2, Params(u64::MAX));
    }
}
