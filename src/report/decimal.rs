//! An exact decimal number for Salesforce number fields (`int`, `long`, `double`, `currency`,
//! `percent`). Money and scores must never pass through a binary float on their way from the report
//! to the diff: `0.1 + 0.2` style noise would make an unchanged value look changed.
//!
//! The value is `mantissa × 10^-scale`, always kept normalised (no trailing zeros in the fraction),
//! so the derived `PartialEq` is numeric equality: `5` == `5.0` == `5.000`.

use std::fmt;

/// The most fraction digits kept; also bounds every power of ten computed below (10^38 < `i128::MAX`).
const MAX_SCALE: u32 = 38;

/// An exact decimal: `mantissa × 10^-scale`, normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

/// Why a text is not a decimal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("is not a number (use digits with `.` as the decimal point, no thousands separators)")]
    Syntax,
    #[error("has too many digits")]
    Overflow,
}

impl Decimal {
    /// Zero.
    pub const ZERO: Self = Self {
        mantissa: 0,
        scale: 0,
    };

    /// A decimal from an integer.
    #[must_use]
    pub fn from_i64(value: i64) -> Self {
        Self {
            mantissa: i128::from(value),
            scale: 0,
        }
    }

    /// Parses a report cell strictly: `[+-]digits[.digits]`, also `.5` and `5.`; no exponent, no
    /// thousands separators, no white space (the caller trims).
    pub fn parse(text: &str) -> Result<Self, DecimalError> {
        Self::parse_short(text.as_bytes()).map_or_else(|| Self::parse_general(text), Ok)
    }

    /// Whether `text` is already the `Display` text of the number it reads as (by
    /// [`Decimal::parse`] or [`Decimal::parse_wire`]), with at most `max_scale` digits after the
    /// point and `max_integer_digits` before it (counted as [`Decimal::integer_digits`] does):
    /// such a text is its value's one spelling, taken without reading it (every number cell of
    /// a report and of a scan; issue 6). At most 18 digits; false for anything else, which the
    /// caller reads the long way.
    #[must_use]
    pub fn is_display_text(text: &[u8], max_scale: u32, max_integer_digits: u32) -> bool {
        let (negative, body) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, text),
        };
        if body.is_empty() || body.len() > 18 {
            return false;
        }
        let int_len = body
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(body.len());
        // One zero, or digits without a leading zero.
        if int_len == 0 || (int_len > 1 && body[0] == b'0') {
            return false;
        }
        let integer_digits = if body[0] == b'0' { 0 } else { int_len };
        if integer_digits > max_integer_digits as usize {
            return false;
        }
        match &body[int_len..] {
            // `-0` shows as `0`.
            [] => !negative || integer_digits > 0,
            // A fraction that ends in a digit other than zero: never `-0.0`.
            [b'.', fraction @ .., last] => {
                fraction.len() < max_scale as usize
                    && fraction.iter().all(u8::is_ascii_digit)
                    && matches!(last, b'1'..=b'9')
            }
            _ => false,
        }
    }

    /// [`Decimal::parse`] in one pass for the usual number: at most 18 bytes after the sign,
    /// digits and one point. `None` for anything else (the general path decides).
    fn parse_short(bytes: &[u8]) -> Option<Self> {
        let (negative, body) = match bytes.split_first() {
            Some((b'-', rest)) => (true, rest),
            Some((b'+', rest)) => (false, rest),
            _ => (false, bytes),
        };
        if body.len() > 18 {
            return None;
        }
        // The integer's digits, then the fraction's; `kept` and `scale` stop at the fraction's
        // last digit that is not zero.
        let int_len = body
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(body.len());
        let mut all = 0u64;
        for &b in &body[..int_len] {
            all = all * 10 + u64::from(b - b'0');
        }
        let (mut kept, mut scale) = (all, 0u32);
        let mut digits = int_len;
        if int_len < body.len() {
            if body[int_len] != b'.' {
                return None;
            }
            for (n, &b) in (1u32..).zip(&body[int_len + 1..]) {
                if !b.is_ascii_digit() {
                    return None;
                }
                all = all * 10 + u64::from(b - b'0');
                if b != b'0' {
                    (kept, scale) = (all, n);
                }
                digits += 1;
            }
        }
        if digits == 0 {
            return None;
        }
        let mantissa = i128::from(kept);
        Some(Self {
            mantissa: if negative { -mantissa } else { mantissa },
            scale,
        })
    }

    fn parse_general(text: &str) -> Result<Self, DecimalError> {
        let bytes = text.as_bytes();
        let (negative, body) = match bytes.first() {
            Some(b'-') => (true, &bytes[1..]),
            Some(b'+') => (false, &bytes[1..]),
            _ => (false, bytes),
        };
        let (int_part, frac_part) = match body.iter().position(|&b| b == b'.') {
            Some(dot) => (&body[..dot], &body[dot + 1..]),
            None => (body, &body[body.len()..]),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(DecimalError::Syntax);
        }
        if !int_part.iter().all(u8::is_ascii_digit) || !frac_part.iter().all(u8::is_ascii_digit) {
            return Err(DecimalError::Syntax);
        }
        // Trailing fraction zeros carry no value; dropping them first keeps `1.000…0` in range.
        let frac_len = frac_part
            .iter()
            .rposition(|&b| b != b'0')
            .map_or(0, |last| last + 1);
        let frac_part = &frac_part[..frac_len];
        let scale = u32::try_from(frac_part.len()).map_err(|_| DecimalError::Overflow)?;
        if scale > MAX_SCALE {
            return Err(DecimalError::Overflow);
        }
        let mut mantissa: i128 = if int_part.len() + frac_part.len() <= 18 {
            // Up to 18 digits fit 64 bits: the usual number skips 128-bit arithmetic.
            let digits = |m: u64, part: &[u8]| {
                part.iter()
                    .fold(m, |m, &digit| m * 10 + u64::from(digit - b'0'))
            };
            i128::from(digits(digits(0, int_part), frac_part))
        } else {
            let mut mantissa: i128 = 0;
            for &digit in int_part.iter().chain(frac_part) {
                mantissa = mantissa
                    .checked_mul(10)
                    .and_then(|m| m.checked_add(i128::from(digit - b'0')))
                    .ok_or(DecimalError::Overflow)?;
            }
            mantissa
        };
        if negative {
            mantissa = -mantissa;
        }
        // Already normalised: a fraction ends in a non-zero digit, and a zero has none.
        Ok(Self { mantissa, scale })
    }

    /// Parses a number as Salesforce or a JSON encoder writes it: what [`Decimal::parse`] accepts,
    /// plus an exponent (`1.5E7`, `2e-3`).
    pub fn parse_wire(text: &str) -> Result<Self, DecimalError> {
        // A byte search: `str::find` with a set of characters decodes each one (issue 6).
        let Some(e) = text.bytes().position(|b| b == b'e' || b == b'E') else {
            return Self::parse(text);
        };
        let base = Self::parse(&text[..e])?;
        let exponent: i32 = text[e + 1..].parse().map_err(|_| DecimalError::Syntax)?;
        let current = i64::from(base.scale) - i64::from(exponent);
        if current >= 0 {
            let scale = u32::try_from(current).map_err(|_| DecimalError::Overflow)?;
            if scale > MAX_SCALE {
                // Beyond 38 fraction digits the value rounds to what the scale keeps.
                return Err(DecimalError::Overflow);
            }
            Ok(Self::normalised(base.mantissa, scale))
        } else {
            let shift = u32::try_from(-current).map_err(|_| DecimalError::Overflow)?;
            let factor = pow10(shift).ok_or(DecimalError::Overflow)?;
            let mantissa = base
                .mantissa
                .checked_mul(factor)
                .ok_or(DecimalError::Overflow)?;
            Ok(Self::normalised(mantissa, 0))
        }
    }

    /// Rounds half away from zero ("half-up", Java's `ROUND_HALF_UP`, which Salesforce uses) to
    /// at most `scale` fraction digits.
    #[must_use]
    pub fn round_half_up(self, scale: u32) -> Self {
        if self.scale <= scale {
            return self;
        }
        // self.scale ≤ MAX_SCALE, so the divisor fits.
        let Some(divisor) = pow10(self.scale - scale) else {
            return Self::ZERO;
        };
        let quotient = self.mantissa / divisor;
        let remainder = (self.mantissa % divisor).abs();
        // `remainder >= divisor - remainder` is `2·remainder >= divisor` without overflow.
        let rounded = if remainder >= divisor - remainder {
            quotient + self.mantissa.signum()
        } else {
            quotient
        };
        Self::normalised(rounded, scale)
    }

    /// Digits before the decimal point, ignoring leading zeros (`0.5` has 0, `120.5` has 3).
    #[must_use]
    pub fn integer_digits(self) -> u32 {
        if let (Ok(magnitude), Some(divisor)) = (
            u64::try_from(self.mantissa.unsigned_abs()),
            10u64.checked_pow(self.scale),
        ) {
            let integer = magnitude / divisor;
            return if integer == 0 {
                0
            } else {
                integer.ilog10() + 1
            };
        }
        let integer = self.mantissa.unsigned_abs() / 10u128.pow(self.scale);
        if integer == 0 {
            0
        } else {
            integer.ilog10() + 1
        }
    }

    /// Digits after the decimal point (normalised, so never a trailing zero).
    #[must_use]
    pub fn scale(self) -> u32 {
        self.scale
    }

    /// Whether the value has no fraction.
    #[must_use]
    pub fn is_integer(self) -> bool {
        self.scale == 0
    }

    /// The value as an `i64` when it is an integer in range.
    #[must_use]
    pub fn to_i64(self) -> Option<i64> {
        if self.scale == 0 {
            i64::try_from(self.mantissa).ok()
        } else {
            None
        }
    }

    /// The mantissa and scale (`mantissa × 10^-scale`), for a compact encoding.
    #[must_use]
    pub fn to_parts(self) -> (i128, u32) {
        (self.mantissa, self.scale)
    }

    /// The decimal `mantissa × 10^-scale`, normalised (so parts of any spelling compare right).
    #[must_use]
    pub fn from_parts(mantissa: i128, scale: u32) -> Self {
        Self::normalised(mantissa, scale.min(MAX_SCALE))
    }

    fn normalised(mut mantissa: i128, mut scale: u32) -> Self {
        while scale > 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            scale -= 1;
        }
        if mantissa == 0 {
            scale = 0;
        }
        Self { mantissa, scale }
    }
}

fn pow10(exponent: u32) -> Option<i128> {
    10i128.checked_pow(exponent)
}

impl fmt::Display for Decimal {
    /// Plain notation, never an exponent: `-12.5`, `0.05`, `42`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            write!(f, "{sign}{int}.{frac}")
        } else {
            write!(f, "{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::parse(text).unwrap()
    }

    #[test]
    fn the_one_pass_parse_agrees_with_the_general_one() {
        // Random spellings from the bytes that matter, of every length around the 18-byte
        // limit; a fixed seed, so a failure repeats.
        let alphabet = b"0000123456789..-+e ";
        let mut rng = crate::testrng::XorShift::new(0x2545_f491_4f6c_dd1d);
        let mut checked = 0;
        for _ in 0..200_000 {
            let len = rng.below(22);
            let text = String::from_utf8(rng.bytes(alphabet, len)).expect("ASCII");
            if let Some(short) = Decimal::parse_short(text.as_bytes()) {
                assert_eq!(Ok(short), Decimal::parse_general(&text), "{text:?}");
                checked += 1;
            }
            assert_eq!(
                Decimal::parse(&text).is_ok(),
                Decimal::parse_general(&text).is_ok()
            );
        }
        assert!(checked > 10_000, "only {checked} took the one-pass path");
    }

    #[test]
    fn a_display_text_is_known_without_reading_it() {
        // Random spellings, signs, points and zeros in every place, around the 18-digit limit,
        // each against every limit of fraction and integer digits up to past its length.
        let alphabet = b"000123456789.-+e ";
        let mut rng = crate::testrng::XorShift::new(0x9e37_79b9_7f4a_7c15);
        let mut shown = 0;
        for _ in 0..100_000 {
            let len = rng.below(21);
            let text = String::from_utf8(rng.bytes(alphabet, len)).expect("ASCII");
            let read = Decimal::parse(&text).ok();
            let body = text.strip_prefix('-').unwrap_or(&text);
            for max_scale in 0..4 {
                for max_integer_digits in [0, 1, 2, 5, 17, 18, u32::MAX] {
                    let expected = read.is_some_and(|d| {
                        d.to_string() == text
                            && d.scale() <= max_scale
                            && d.integer_digits() <= max_integer_digits
                    });
                    let fast =
                        Decimal::is_display_text(text.as_bytes(), max_scale, max_integer_digits);
                    // Longer texts are left to the long way.
                    assert_eq!(fast, expected && body.len() <= 18, "{text:?}");
                    if fast {
                        assert_eq!(Decimal::parse_wire(&text), Ok(read.expect("read")));
                        shown += 1;
                    }
                }
            }
        }
        assert!(shown > 10_000, "only {shown} display texts");
        assert!(Decimal::is_display_text(b"-0.5", 1, 0));
        assert!(!Decimal::is_display_text(b"-0", 0, 1));
        assert!(!Decimal::is_display_text(b"0.50", 2, 1));
        assert!(!Decimal::is_display_text(b"0.05", 1, 1));
        assert!(!Decimal::is_display_text(b"120", 0, 2));
        assert!(Decimal::is_display_text(b"120", 0, 3));
    }

    #[test]
    fn parsed_numbers_are_normalised_on_both_sides_of_18_digits() {
        for text in [
            "0",
            "-0",
            "00",
            "0.0",
            "7",
            "-7.50",
            "120",
            "120.0",
            "0.05",
            "999999999999999999",
            "-999999999999999999.9",
            "1234567890123456789",
            "12345678901234567.80",
            "0.000001",
            "100000000000000000000",
            "-0.00000000000000000000000000000000001",
        ] {
            let parsed = d(text);
            let (mantissa, scale) = parsed.to_parts();
            assert_eq!(Decimal::from_parts(mantissa, scale), parsed, "{text}");
            assert_eq!(
                parsed.to_string().parse::<f64>().ok(),
                text.parse::<f64>().ok(),
                "{text}"
            );
        }
    }

    #[test]
    fn parses_and_normalises() {
        assert_eq!(d("5"), d("5.0"));
        assert_eq!(d("5.000"), d("+5"));
        assert_eq!(d("-0.0"), Decimal::ZERO);
        assert_eq!(d(".5").to_string(), "0.5");
        assert_eq!(d("5.").to_string(), "5");
        assert_eq!(d("-12.50").to_string(), "-12.5");
        assert_eq!(d("0.050").to_string(), "0.05");
        assert_eq!(d("007").to_string(), "7");
        assert_eq!(
            d("123456789012345678.1234").to_string(),
            "123456789012345678.1234"
        );
    }

    #[test]
    fn rejects_what_is_not_a_plain_number() {
        for bad in [
            "", "-", ".", "1,000", "1 000", "1e3", "abc", "1.2.3", "--1", "0x10", "١٢", " 1",
        ] {
            assert_eq!(Decimal::parse(bad), Err(DecimalError::Syntax), "{bad:?}");
        }
        assert_eq!(Decimal::parse(&"9".repeat(60)), Err(DecimalError::Overflow));
        // Trailing zeros do not count against the range.
        assert_eq!(d(&format!("1.{}", "0".repeat(100))), d("1"));
    }

    #[test]
    fn wire_numbers_may_have_an_exponent() {
        assert_eq!(Decimal::parse_wire("1.5E7").unwrap(), d("15000000"));
        assert_eq!(Decimal::parse_wire("25e-3").unwrap(), d("0.025"));
        assert_eq!(Decimal::parse_wire("12.5").unwrap(), d("12.5"));
        assert!(Decimal::parse_wire("1e999").is_err());
        assert!(Decimal::parse_wire("1e").is_err());
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(d("2.345").round_half_up(2), d("2.35"));
        assert_eq!(d("2.344").round_half_up(2), d("2.34"));
        assert_eq!(d("-2.345").round_half_up(2), d("-2.35"));
        assert_eq!(d("0.5").round_half_up(0), d("1"));
        assert_eq!(d("-0.5").round_half_up(0), d("-1"));
        assert_eq!(d("0.49").round_half_up(0), Decimal::ZERO);
        assert_eq!(d("9.999").round_half_up(2), d("10"));
        assert_eq!(d("1.5").round_half_up(3), d("1.5"));
        let tiny = format!("0.{}5", "0".repeat(36));
        assert_eq!(d(&tiny).round_half_up(0), Decimal::ZERO);
    }

    #[test]
    fn counts_integer_digits() {
        assert_eq!(d("0.5").integer_digits(), 0);
        assert_eq!(d("120.5").integer_digits(), 3);
        assert_eq!(d("-99").integer_digits(), 2);
        assert_eq!(d("100").integer_digits(), 3);
        assert_eq!(Decimal::ZERO.integer_digits(), 0);
    }

    #[test]
    fn integers_convert() {
        assert_eq!(d("3.0").to_i64(), Some(3));
        assert_eq!(d("3.5").to_i64(), None);
        assert!(d("3.0").is_integer());
        assert_eq!(Decimal::from_i64(-7).to_string(), "-7");
    }
}
