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
