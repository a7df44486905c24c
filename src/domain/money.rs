//! Exact USD (`rust_decimal`, never a float) and how amounts are written.

/// Exact USD. Never a float.
pub type Money = rust_decimal::Decimal;

/// Money as exact decimal text: no exponent, no thousands separator, at least two decimals.
pub fn money(m: Money) -> String {
    let m = m.normalize();
    if m.scale() < 2 {
        let mut r = m;
        r.rescale(2);
        r.to_string()
    } else {
        m.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn money_is_plain_decimal() {
        assert_eq!(money(dec!(1055)), "1055.00");
        assert_eq!(money(dec!(0.0054000)), "0.0054");
        assert_eq!(money(dec!(12.5)), "12.50");
        assert_eq!(money(dec!(0.000000001)), "0.000000001");
    }
}
