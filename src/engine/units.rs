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

/// A count of floating-point operations.
#[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd)]
pub struct Flops(pub f64);

/// Floating-point operations per second.
#[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd)]
pub struct FlopsPerSecond(pub f64);

/// Bytes per second.
#[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd)]
pub struct BytesPerSecond(pub f64);

/// A duration in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd)]
pub struct Seconds(pub f64);

/// US dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd)]
pub struct Usd(pub f64);

/// Divides, treating a zero or non-finite divisor as "infinitely fast": zero time. Edges
/// guarantee positive rates; this keeps the engine total if one slips through.
fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 && denominator.is_finite() && numerator.is_finite() {
        (numerator / denominator).min(f64::MAX)
    } else {
        0.0
    }
}

impl std::ops::Div<FlopsPerSecond> for Flops {
    type Output = Seconds;
    fn div(self, rate: FlopsPerSecond) -> Seconds {
        Seconds(ratio(self.0, rate.0))
    }
}

impl std::ops::Div<BytesPerSecond> for Bytes {
    type Output = Seconds;
    fn div(self, rate: BytesPerSecond) -> Seconds {
        Seconds(ratio(self.0, rate.0))
    }
}

impl Add for Seconds {
    type Output = Seconds;
    fn add(self, rhs: Seconds) -> Seconds {
        Seconds(self.0 + rhs.0)
    }
}

impl Add for Bytes {
    type Output = Bytes;
    fn add(self, rhs: Bytes) -> Bytes {
        Bytes(self.0 + rhs.0)
    }
}

impl Add for Flops {
    type Output = Flops;
    fn add(self, rhs: Flops) -> Flops {
        Flops(self.0 + rhs.0)
    }
}

impl Mul<f64> for Bytes {
    type Output = Bytes;
    fn mul(self, rhs: f64) -> Bytes {
        Bytes(self.0 * rhs)
    }
}

impl Mul<f64> for Seconds {
    type Output = Seconds;
    fn mul(self, rhs: f64) -> Seconds {
        Seconds(self.0 * rhs)
    }
}

impl Params {
    /// As a float, for formulas (exact below 2^53 parameters).
    pub fn as_f64(self) -> f64 {
        self.0 as f64
    }
}
