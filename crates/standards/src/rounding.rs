//! Rounding rules. GB/T 8170-2008 (数值修约规则): round half to even on the *decimal*
//! value, once; the AQI rounds IAQI and AQI *up* (HJ 633-2012 §6.2, HJ 633-2026 §4.2.6).

use rust_decimal::{Decimal, RoundingStrategy};

/// GB/T 8170 rounding (四舍六入五成双) to `dp` decimal places, done once on the exact value.
pub fn gbt8170(x: Decimal, dp: u32) -> Decimal {
    x.round_dp_with_strategy(dp, RoundingStrategy::MidpointNearestEven)
}

/// Exact ceiling of `num / den` for decimals, computed on integers (no binary floating point,
/// no 28-digit truncation). `den` must be positive.
pub fn ceil_div(num: Decimal, den: Decimal) -> i128 {
    assert!(
        den > Decimal::ZERO,
        "ceil_div: denominator must be positive"
    );
    let scale = num.scale().max(den.scale());
    let mut n = num;
    let mut d = den;
    n.rescale(scale);
    d.rescale(scale);
    let (n, d) = (n.mantissa(), d.mantissa());
    let q = n.div_euclid(d);
    if n.rem_euclid(d) == 0 {
        q
    } else {
        q + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    /// GB/T 8170 §3.3: a 5 followed by nothing rounds to the even neighbour.
    #[test]
    fn gbt8170_half_even() {
        assert_eq!(gbt8170(dec!(35.5), 0), dec!(36));
        assert_eq!(gbt8170(dec!(36.5), 0), dec!(36));
        assert_eq!(gbt8170(dec!(1.25), 1), dec!(1.2));
        assert_eq!(gbt8170(dec!(1.35), 1), dec!(1.4));
        assert_eq!(gbt8170(dec!(1.251), 1), dec!(1.3));
        assert_eq!(gbt8170(dec!(2.449), 0), dec!(2));
    }

    #[test]
    fn ceil_div_exact() {
        assert_eq!(ceil_div(dec!(110), dec!(2)), 55);
        assert_eq!(ceil_div(dec!(110.1), dec!(2)), 56);
        assert_eq!(ceil_div(dec!(1), dec!(3)), 1);
        assert_eq!(ceil_div(dec!(0), dec!(3)), 0);
        assert_eq!(ceil_div(dec!(-1), dec!(3)), 0);
    }
}
