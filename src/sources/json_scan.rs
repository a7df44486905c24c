//! A single-pass JSON scanner's parts, shared by the log readers: find a string's end eight bytes
//! at a time, read scalars without building a value tree, skip what is not wanted. Every reader
//! built on it declines (returns `None`) rather than guess, and falls back to `serde_json`.

use std::borrow::Cow;

use crate::sources::record::Scalar;

/// The first `"`, `\\` or control character at or after `i`, eight bytes at a time (SWAR):
/// log strings are short, where a vector search costs more to set up than it saves.
#[inline]
pub(crate) fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    while let Some(word) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let quote = x ^ (LO * b'"' as u64);
        let escape = x ^ (LO * b'\\' as u64);
        // The classic has-zero-byte and has-byte-less-than tests; exact for the lowest match.
        let hits = (quote.wrapping_sub(LO) & !quote)
            | (escape.wrapping_sub(LO) & !escape)
            | (x.wrapping_sub(LO * 0x20) & !x);
        let hits = hits & HI;
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|k| i + k)
}

/// A position in one record's bytes.
pub(crate) struct Scan<'a> {
    pub b: &'a [u8],
    pub i: usize,
}

impl<'a> Scan<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Scan { b, i: 0 }
    }

    #[inline]
    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    pub(crate) fn eat(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    /// The raw bytes of a string without escapes or control characters.
    #[inline]
    pub(crate) fn raw_string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let end = string_end(self.b, self.i)?;
        // An escape or a raw control character: declined, serde_json decides.
        if self.b[end] != b'"' {
            return None;
        }
        let raw = &self.b[self.i..end];
        self.i = end + 1;
        Some(raw)
    }

    /// A string value with any escapes decoded: borrowed when it has none, decoded by
    /// `serde_json` when it has. `None` (declined) for a raw control character or bad UTF-8.
    pub(crate) fn string_cow(&mut self) -> Option<Cow<'a, str>> {
        let start = self.i;
        self.eat(b'"')?;
        let mut at = self.i;
        let mut escaped = false;
        loop {
            let end = string_end(self.b, at)?;
            match self.b[end] {
                b'"' => {
                    at = end;
                    break;
                }
                b'\\' => {
                    escaped = true;
                    at = end + 2;
                    if at > self.b.len() {
                        return None;
                    }
                }
                _ => return None,
            }
        }
        let inner = &self.b[self.i..at];
        self.i = at + 1;
        if !escaped {
            if inner.is_ascii() {
                // SAFETY: ASCII bytes are valid UTF-8.
                return Some(Cow::Borrowed(unsafe {
                    std::str::from_utf8_unchecked(inner)
                }));
            }
            return match std::str::from_utf8(inner) {
                Ok(s) => Some(Cow::Borrowed(s)),
                Err(_) => None,
            };
        }
        serde_json::from_slice::<String>(&self.b[start..self.i])
            .ok()
            .map(Cow::Owned)
    }

    /// A string value, as valid UTF-8.
    #[inline]
    pub(crate) fn string(&mut self) -> Option<&'a str> {
        let raw = self.raw_string()?;
        if raw.is_ascii() {
            // SAFETY: ASCII bytes are valid UTF-8.
            Some(unsafe { std::str::from_utf8_unchecked(raw) })
        } else {
            std::str::from_utf8(raw).ok()
        }
    }

    /// A scalar value; `Some(None)` for `null`.
    pub(crate) fn scalar(&mut self) -> Option<Option<Scalar<'a>>> {
        match *self.b.get(self.i)? {
            b'"' => Some(Some(Scalar::S(Cow::Borrowed(self.string()?)))),
            b't' if self.b[self.i..].starts_with(b"true") => {
                self.i += 4;
                Some(Some(Scalar::B(true)))
            }
            b'f' if self.b[self.i..].starts_with(b"false") => {
                self.i += 5;
                Some(Some(Scalar::B(false)))
            }
            b'n' if self.b[self.i..].starts_with(b"null") => {
                self.i += 4;
                Some(None)
            }
            b'-' | b'0'..=b'9' => self.number().map(Some),
            _ => None,
        }
    }

    /// Plain integers exactly; anything with a fraction or exponent as f64 like serde_json.
    pub(crate) fn number(&mut self) -> Option<Scalar<'a>> {
        let start = self.i;
        let neg = self.eat(b'-').is_some();
        let digits_from = self.i;
        let mut v: u64 = 0;
        while let Some(&c @ b'0'..=b'9') = self.b.get(self.i) {
            v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
            self.i += 1;
        }
        let n_digits = self.i - digits_from;
        if n_digits == 0 || (n_digits > 1 && self.b[digits_from] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.b.get(self.i) {
            if self.eat(b'.').is_some() {
                let from = self.i;
                while let Some(b'0'..=b'9') = self.b.get(self.i) {
                    self.i += 1;
                }
                if self.i == from {
                    return None;
                }
            }
            if let Some(b'e' | b'E') = self.b.get(self.i) {
                self.i += 1;
                if let Some(b'+' | b'-') = self.b.get(self.i) {
                    self.i += 1;
                }
                let from = self.i;
                while let Some(b'0'..=b'9') = self.b.get(self.i) {
                    self.i += 1;
                }
                if self.i == from {
                    return None;
                }
            }
            let text = std::str::from_utf8(&self.b[start..self.i]).ok()?;
            return text
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Scalar::F);
        }
        Some(if neg {
            if v > i64::MAX as u64 {
                return None;
            }
            if v == 0 {
                Scalar::U(0)
            } else {
                Scalar::I(-(v as i64))
            }
        } else {
            Scalar::U(v)
        })
    }

    /// Calls `f` on each key of an object, `f` reading (or skipping) its value.
    #[inline]
    pub(crate) fn each_key(
        &mut self,
        mut f: impl FnMut(&mut Self, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            let key = self.raw_string()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            f(self, key)?;
            self.ws();
            match self.b.get(self.i)? {
                b',' => {
                    self.i += 1;
                    self.ws();
                }
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Calls `f` on each item of an array (`null` reads as an empty one).
    #[inline]
    pub(crate) fn each_item(&mut self, mut f: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if self.b[self.i..].starts_with(b"null") {
            self.i += 4;
            return Some(());
        }
        self.eat(b'[')?;
        self.ws();
        if self.eat(b']').is_some() {
            return Some(());
        }
        loop {
            f(self)?;
            self.ws();
            match self.b.get(self.i)? {
                b',' => {
                    self.i += 1;
                    self.ws();
                }
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Skips any value; nesting is bounded so a hostile line cannot exhaust the stack.
    pub(crate) fn skip(&mut self, depth: u8) -> Option<()> {
        if depth > 32 {
            return None;
        }
        match *self.b.get(self.i)? {
            b'{' => self.each_key(|s, _| s.skip(depth + 1)),
            b'[' => self.each_item(|s| s.skip(depth + 1)),
            _ => self.scalar().map(|_| ()),
        }
    }
}
