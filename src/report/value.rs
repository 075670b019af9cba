//! A field value normalised to its Salesforce type, the one representation shared by the report
//! side ([`crate::report::convert`]) and the Salesforce side (REST JSON, Bulk 2.0 query CSV), so the
//! diff is a plain `==` (SPEC §5 step 5).

use std::fmt;

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};

use super::convert::{self, ConvertError};
use super::decimal::Decimal;
use crate::salesforce::describe::{Field, FieldType};

/// A typed field value.
///
/// Invariants that make `==` mean "Salesforce holds the same value": numbers are rounded to the
/// field's scale and normalised (`5` == `5.0`); datetimes are UTC truncated to milliseconds
/// (Salesforce's storage precision, research §7.2); an empty text is `Null` (Salesforce stores an
/// empty text as null); Ids are 18 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Null,
    Text(String),
    Bool(bool),
    Number(Decimal),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
}

/// Make the CSV cell written into `line` from `start` (as [`crate::sync::packed::push_cell`]
/// writes a value) a Bulk API 2.0 ingest cell: empty (null, or an empty text, which Salesforce
/// stores as null) becomes [`BULK_NULL`], since an empty cell would leave the field as it is.
pub fn finish_bulk_cell(line: &mut Vec<u8>, start: usize) {
    if line.len() == start {
        line.extend_from_slice(BULK_NULL.as_bytes());
    }
}

/// How Bulk API 2.0 ingest clears a field: an empty cell leaves it unchanged (Bulk 2.0 guide,
/// "Valid CSV Record Rows"; research §5.2).
pub const BULK_NULL: &str = "#N/A";

impl Value {
    /// A value as the REST API returns it in a record (research §7.2): `null`, strings, JSON
    /// numbers, booleans, dates `YYYY-MM-DD`, datetimes `2024-03-23T08:00:00.000+0000`.
    pub fn from_salesforce_json(
        json: &serde_json::Value,
        field: &Field,
    ) -> Result<Self, ConvertError> {
        match json {
            serde_json::Value::Null => Ok(Self::Null),
            serde_json::Value::String(text) => Self::from_wire_text(text, field),
            serde_json::Value::Bool(b) if field.field_type == FieldType::Boolean => {
                Ok(Self::Bool(*b))
            }
            serde_json::Value::Number(n) if convert::is_number_type(field.field_type) => {
                // Without serde_json's `arbitrary_precision` a fractional JSON number arrives as
                // an f64; its shortest round-trip text is the decimal Salesforce wrote for any
                // value within 15 significant digits, and rounding to the field's scale removes
                // the float noise beyond that.
                let decimal = if let Some(i) = n.as_i64() {
                    Decimal::from_i64(i)
                } else {
                    Decimal::parse_wire(&n.to_string()).map_err(|_| ConvertError::Wire {
                        value: n.to_string(),
                        field_type: field.field_type,
                    })?
                };
                Ok(Self::Number(
                    decimal.round_half_up(convert::number_scale(field)),
                ))
            }
            other => Err(ConvertError::Wire {
                value: other.to_string(),
                field_type: field.field_type,
            }),
        }
    }

    /// A cell of a Bulk API 2.0 query result CSV (research §5.6): empty is null (CSV cannot tell
    /// null from an empty text), datetimes end in `Z` or `+0000`.
    pub fn from_bulk_csv(cell: &str, field: &Field) -> Result<Self, ConvertError> {
        Self::from_wire_text(cell, field)
    }

    /// Whether Salesforce's text for `field` is the value as it is (a non-empty cell is a
    /// [`Value::Text`] of the same text), so it can be compared without building a `Value`.
    #[must_use]
    pub fn wire_is_text(field: &Field) -> bool {
        !matches!(
            field.field_type,
            FieldType::Boolean
                | FieldType::Date
                | FieldType::Datetime
                | FieldType::Id
                | FieldType::Reference
                | FieldType::Multipicklist
        ) && !convert::is_number_type(field.field_type)
    }

    /// Text Salesforce wrote, in either API: lenient on format (it is Salesforce's), never
    /// checking lengths or picklist membership (a stored value is a fact, not a request).
    fn from_wire_text(text: &str, field: &Field) -> Result<Self, ConvertError> {
        if text.is_empty() {
            return Ok(Self::Null);
        }
        let wire_error = || ConvertError::Wire {
            value: text.to_owned(),
            field_type: field.field_type,
        };
        match field.field_type {
            FieldType::Boolean => match text {
                "true" | "TRUE" | "True" => Ok(Self::Bool(true)),
                "false" | "FALSE" | "False" => Ok(Self::Bool(false)),
                _ => Err(wire_error()),
            },
            t if convert::is_number_type(t) => Decimal::parse_wire(text)
                .map(|d| Self::Number(d.round_half_up(convert::number_scale(field))))
                .map_err(|_| wire_error()),
            FieldType::Date => convert::parse_iso_date(text)
                .map(Self::Date)
                .ok_or_else(wire_error),
            FieldType::Datetime => convert::parse_iso_datetime(text)
                .map(Self::DateTime)
                .ok_or_else(wire_error),
            FieldType::Id | FieldType::Reference => convert::normalise_id(text)
                .map(Self::Text)
                .ok_or_else(wire_error),
            FieldType::Multipicklist => Ok(convert::normalise_multipicklist(text, field, false)
                .map_or_else(|_| Self::Text(text.to_owned()), Self::Text)),
            _ => Ok(Self::Text(text.to_owned())),
        }
    }

    /// The value as the REST API takes it in a write body (research §7.1).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Null => serde_json::Value::Null,
            Self::Text(text) => serde_json::Value::String(text.clone()),
            Self::Bool(b) => serde_json::Value::Bool(*b),
            Self::Number(d) => number_to_json(*d),
            Self::Date(_) | Self::DateTime(_) => serde_json::Value::String(self.to_string()),
        }
    }

    /// The value as the Bulk upload sends it (its packed form written as a cell, as the sync's
    /// upload writes it, `#N/A` to clear), read back as CSV.
    #[cfg(test)]
    #[must_use]
    pub fn to_bulk_csv(&self) -> String {
        let mut packed = Vec::new();
        crate::sync::packed::put(Some(self), &mut packed);
        let mut line = Vec::new();
        crate::sync::packed::push_cell(&packed, &mut line);
        finish_bulk_cell(&mut line, 0);
        line.push(b'\n');
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_slice());
        let record = reader.records().next().and_then(Result::ok);
        record.map(|r| r[0].to_owned()).unwrap_or_default()
    }

    /// Whether this is `Null`.
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
}

/// A JSON number without float noise. Integers (every `int`/`long` value, and any scale-0
/// number) are exact. A fraction goes through an f64 only when the f64's shortest text is the
/// same decimal; otherwise (more than ~15 significant digits) the exact text is sent as a JSON
/// string, which the REST API parses for number fields (research §7.1, marked unverified there).
/// `serde_json`'s `arbitrary_precision` would avoid this but changes `serde_json::Value` for every
/// crate in the build (the emulator and its axum handlers included), so it stays off.
fn number_to_json(d: Decimal) -> serde_json::Value {
    if let Some(i) = d.to_i64() {
        return serde_json::Value::Number(i.into());
    }
    let text = d.to_string();
    if let Ok(float) = text.parse::<f64>()
        && let Some(number) = serde_json::Number::from_f64(float)
        && Decimal::parse_wire(&number.to_string()).ok() == Some(d)
    {
        return serde_json::Value::Number(number);
    }
    serde_json::Value::String(text)
}

impl fmt::Display for Value {
    /// The value as sent, for logs and `changes.csv`: the Bulk CSV text, with null as empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = Rendered::default();
        match self {
            Self::Null => Ok(()),
            Self::Text(text) => f.write_str(text),
            Self::Bool(b) => write!(f, "{b}"),
            _ => match self.render(&mut buf) {
                Some(text) => f.write_str(text),
                None => self.fmt_rare(f),
            },
        }
    }
}

impl Value {
    /// Append the value as [`Display`](fmt::Display) shows it, without the formatting machinery
    /// for the usual numbers, dates and datetimes (a million-row run writes millions; issue 6).
    pub fn write_text(&self, out: &mut String) {
        let mut buf = Rendered::default();
        match self {
            Self::Null => {}
            Self::Text(text) => out.push_str(text),
            Self::Bool(true) => out.push_str("true"),
            Self::Bool(false) => out.push_str("false"),
            _ => {
                if let Some(text) = self.render(&mut buf) {
                    out.push_str(text);
                } else {
                    use fmt::Write as _;
                    let _ = write!(out, "{self}");
                }
            }
        }
    }

    /// Numbers within 19 digits, dates and datetimes of years 0–9999 (no leap second), written
    /// digit by digit into `buf`; `None` for anything else.
    pub(crate) fn render<'b>(&self, buf: &'b mut Rendered) -> Option<&'b str> {
        let ok = match self {
            Self::Number(d) => {
                let (mantissa, scale) = d.to_parts();
                buf.number(mantissa, scale)
            }
            Self::Date(date) => buf.date(i64::from(date.num_days_from_ce())),
            Self::DateTime(dt) => buf.datetime(dt.timestamp(), dt.timestamp_subsec_nanos()),
            _ => false,
        };
        if !ok {
            return None;
        }
        std::str::from_utf8(buf.bytes()).ok()
    }

    /// Years outside 0..=9999, leap seconds, numbers beyond 19 digits: chrono's and the
    /// decimal's own spelling.
    fn fmt_rare(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(d) => write!(f, "{d}"),
            Self::Date(date) => write!(f, "{}", date.format("%Y-%m-%d")),
            Self::DateTime(dt) => write!(f, "{}", dt.format("%Y-%m-%dT%H:%M:%S%.3fZ")),
            other => write!(f, "{other:?}"),
        }
    }
}

/// A number, date or datetime written digit by digit as [`Value`]'s `Display` shows it: numbers
/// whose mantissa fits 64 bits, dates and datetimes of years 0–9999 (no leap second). The packed
/// rows of a sync render from their parts without building a `Value` (issue 6).
#[derive(Clone, Copy)]
pub struct Rendered {
    buf: [u8; 64],
    /// The text is `buf[start..end]` (a number is written from the end of the buffer).
    start: usize,
    end: usize,
}

impl Default for Rendered {
    fn default() -> Self {
        Self {
            buf: [0; 64],
            start: 0,
            end: 0,
        }
    }
}

/// Days from 0001-01-01 (chrono's `num_days_from_ce` minus one) to 1970-01-01.
const CE_TO_UNIX_DAYS: i64 = 719_162;

impl Rendered {
    /// The text written.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// `mantissa × 10^-scale` (normalised or not, spelled as given); false when out of range.
    pub fn number(&mut self, mantissa: i128, scale: u32) -> bool {
        (self.start, self.end) = (0, 0);
        let Ok(magnitude) = u64::try_from(mantissa.unsigned_abs()) else {
            return false;
        };
        if scale > 30 {
            return false;
        }
        // Written backwards from the end of the buffer, so its length need not be known first:
        // the fraction's digits (`0.05`: with leading zeros), the point, the integer's digits
        // (at least one), the sign. At most 1 + 20 + 1 + 30 bytes.
        let buf = &mut self.buf;
        let mut at = buf.len();
        let mut rest = magnitude;
        for _ in 0..scale {
            at -= 1;
            buf[at] = digit64(rest);
            rest /= 10;
        }
        if scale > 0 {
            at -= 1;
            buf[at] = b'.';
        }
        while rest >= 100 {
            at -= 2;
            buf[at..at + 2].copy_from_slice(&pair(rest % 100));
            rest /= 100;
        }
        if rest >= 10 {
            at -= 2;
            buf[at..at + 2].copy_from_slice(&pair(rest));
        } else {
            at -= 1;
            buf[at] = digit64(rest);
        }
        if mantissa < 0 {
            at -= 1;
            buf[at] = b'-';
        }
        (self.start, self.end) = (at, buf.len());
        true
    }

    /// The date `days_from_ce` days after 0001-01-01 counted from 1 (chrono's
    /// `num_days_from_ce`), `YYYY-MM-DD`; false outside years 0–9999.
    pub fn date(&mut self, days_from_ce: i64) -> bool {
        (self.start, self.end) = (0, 0);
        let unix_days = days_from_ce.checked_sub(1 + CE_TO_UNIX_DAYS);
        let Some((year, month, day)) = unix_days.and_then(civil) else {
            return false;
        };
        let [y0, y1] = pair(u64::from(year / 100));
        let [y2, y3] = pair(u64::from(year % 100));
        let [m0, m1] = pair(u64::from(month));
        let [d0, d1] = pair(u64::from(day));
        self.buf[..10].copy_from_slice(&[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1]);
        self.end = 10;
        true
    }

    /// The UTC datetime `secs` after the Unix epoch, `YYYY-MM-DDTHH:MM:SS.mmmZ`; false outside
    /// years 0–9999 or in a leap second.
    pub fn datetime(&mut self, secs: i64, nanos: u32) -> bool {
        if nanos >= 1_000_000_000 {
            (self.start, self.end) = (0, 0);
            return false;
        }
        let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        if !self.date(days + 1 + CE_TO_UNIX_DAYS) {
            return false;
        }
        let of_day = u64::try_from(of_day).unwrap_or(0);
        let [h0, h1] = pair(of_day / 3600);
        let [n0, n1] = pair(of_day / 60 % 60);
        let [s0, s1] = pair(of_day % 60);
        let millis = u64::from(nanos / 1_000_000);
        let [f0, f1] = pair(millis / 10);
        let f2 = digit64(millis);
        self.buf[10..24].copy_from_slice(&[
            b'T', h0, h1, b':', n0, n1, b':', s0, s1, b'.', f0, f1, f2, b'Z',
        ]);
        self.end = 24;
        true
    }
}

/// `00` to `99`, two digits for each.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// The last two decimal digits of `n`.
fn pair(n: u64) -> [u8; 2] {
    #[allow(clippy::cast_possible_truncation)] // below 100
    let i = (n % 100) as usize * 2;
    [PAIRS[i], PAIRS[i + 1]]
}

#[allow(clippy::cast_possible_truncation)] // n % 10 is one digit
fn digit64(n: u64) -> u8 {
    b'0' + (n % 10) as u8
}

/// The proleptic Gregorian (year, month, day) of `days` after 1970-01-01 (H. Hinnant's
/// `civil_from_days`), for years 0–9999: in unsigned 32-bit arithmetic, counted from a 400-year
/// era before the first day so that nothing is negative (the signed `div_euclid` was a third of
/// writing a date; issue 6).
fn civil(days: i64) -> Option<(u32, u32, u32)> {
    // 0000-01-01 and 9999-12-31, as days after 1970-01-01.
    const FIRST: i64 = -719_528;
    const LAST: i64 = 2_932_896;
    if !(FIRST..=LAST).contains(&days) {
        return None;
    }
    // Days after -0400-03-01.
    let z = u32::try_from(days + 719_468 + 146_097).ok()?;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u32::from(month <= 2) - 400;
    Some((year, month, day))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::convert::convert;
    use crate::report::test_support::field;
    use serde_json::json;

    /// `civil` as it was first written, in signed arithmetic.
    fn civil_signed(days: i64) -> Option<(u32, u32, u32)> {
        let z = days.checked_add(719_468)?;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Some((
            u32::try_from(year).ok().filter(|y| *y <= 9999)?,
            u32::try_from(month).ok()?,
            u32::try_from(day).ok()?,
        ))
    }

    #[test]
    fn every_day_of_years_0_to_9999_is_the_same_date_as_chrono_makes_it() {
        use chrono::Datelike as _;
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
        for days in -719_540..=2_932_910_i64 {
            let got = civil(days);
            assert_eq!(got, civil_signed(days), "{days}");
            let expected = epoch
                .checked_add_signed(chrono::TimeDelta::days(days))
                .filter(|d| (0..=9999).contains(&d.year()))
                .map(|d| (d.year().unsigned_abs(), d.month(), d.day()));
            assert_eq!(got, expected, "{days}");
        }
    }

    fn num(text: &str) -> Value {
        Value::Number(Decimal::parse(text).unwrap())
    }

    #[test]
    fn numbers_are_written_as_the_decimal_writes_them() {
        let mut buf = Rendered::default();
        // A fixed pseudo-random walk over mantissas of every length and scales 0–30.
        let mut rng = crate::testrng::XorShift::new(0x9e37_79b9_7f4a_7c15);
        for i in 0..20_000u32 {
            let x = rng.next();
            let shift = i % 64;
            let magnitude = i128::from(x >> shift);
            let mantissa = if i % 3 == 0 { -magnitude } else { magnitude };
            let (mantissa, scale) = Decimal::from_parts(mantissa, i % 31).to_parts();
            assert!(buf.number(mantissa, scale));
            let expected = Decimal::from_parts(mantissa, scale).to_string();
            assert_eq!(buf.bytes(), expected.as_bytes(), "{mantissa} {scale}");
        }
        assert!(!buf.number(i128::from(u64::MAX) + 1, 0));
        assert!(!buf.number(1, 31));
    }

    #[test]
    fn every_day_and_second_of_the_calendar_is_written_as_chrono_writes_it() {
        let mut buf = Rendered::default();
        // Every day of a whole 400-year cycle of leap rules at each end and around the epoch,
        // every 97th day between, and the days just outside years 0–9999.
        let day = |y| NaiveDate::from_ymd_opt(y, 1, 1).unwrap().num_days_from_ce();
        let first = day(0);
        let last = NaiveDate::from_ymd_opt(9999, 12, 31)
            .unwrap()
            .num_days_from_ce();
        let every = (first..day(401))
            .chain(day(1900)..day(2101))
            .chain(day(9599)..=last)
            .chain((first..last).step_by(97));
        for days in every {
            let date = NaiveDate::from_num_days_from_ce_opt(days).unwrap();
            assert!(buf.date(i64::from(days)), "{date}");
            assert_eq!(buf.bytes(), date.format("%Y-%m-%d").to_string().as_bytes());
        }
        assert!(!buf.date(i64::from(first) - 1));
        assert!(!buf.date(i64::MIN) && !buf.date(i64::MAX));
        assert!(!buf.date(i64::from(last) + 1));
        // Datetimes across the epoch, the seconds of a day, and milliseconds.
        for secs in (-86_400 * 3..86_400 * 3).step_by(7).chain([
            -62_167_219_200,
            253_402_300_799,
            1_764_547_200,
        ]) {
            for nanos in [0, 1_000_000, 999_999_999, 123_456_789] {
                let at = DateTime::from_timestamp(secs, nanos).unwrap();
                assert!(buf.datetime(secs, nanos), "{at}");
                assert_eq!(
                    buf.bytes(),
                    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string().as_bytes()
                );
            }
        }
        assert!(!buf.datetime(253_402_300_800, 0), "year 10000");
        assert!(!buf.datetime(-62_167_219_201, 0), "year -1");
        assert!(!buf.datetime(0, 1_000_000_000), "a leap second");
    }

    #[test]
    fn text_written_by_hand_is_chronos_and_the_decimals_own() {
        let mut values = Vec::new();
        for text in [
            "0",
            "7",
            "-7",
            "0.05",
            "-0.5",
            "12.5",
            "123456789012345678",
            "-9223372036854775808",
            "18446744073709551615",
            "18446744073709551616.5",
            "0.000000000000000000000000000001",
        ] {
            values.push(num(text));
        }
        let mut t = chrono::DateTime::parse_from_rfc3339("1969-12-31T23:59:59.999Z")
            .unwrap()
            .with_timezone(&Utc);
        for _ in 0..400 {
            values.push(Value::DateTime(t));
            values.push(Value::Date(t.date_naive()));
            t += chrono::Duration::milliseconds(86_399_987 * 37);
        }
        values.push(Value::Date(NaiveDate::from_ymd_opt(-5, 1, 1).unwrap()));
        values.push(Value::Date(NaiveDate::from_ymd_opt(12_345, 1, 1).unwrap()));
        for v in values {
            let expected = match &v {
                Value::Number(d) => d.to_string(),
                Value::Date(d) => d.format("%Y-%m-%d").to_string(),
                Value::DateTime(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                _ => unreachable!(),
            };
            let mut written = String::from("x");
            v.write_text(&mut written);
            assert_eq!(written, format!("x{expected}"), "{v:?}");
            assert_eq!(v.to_string(), expected, "{v:?}");
        }
    }

    #[test]
    fn report_datetime_with_offset_equals_salesforce_utc() {
        let f = field(FieldType::Datetime);
        let from_report = convert("2024-03-23T09:00:00+01:00", &f, None).unwrap();
        let from_sf =
            Value::from_salesforce_json(&json!("2024-03-23T08:00:00.000+0000"), &f).unwrap();
        assert_eq!(from_report, from_sf);
        let from_bulk = Value::from_bulk_csv("2024-03-23T08:00:00.000Z", &f).unwrap();
        assert_eq!(from_bulk, from_sf);
        let from_bulk = Value::from_bulk_csv("2024-03-23T08:00:00.000+0000", &f).unwrap();
        assert_eq!(from_bulk, from_sf);
        assert_ne!(
            from_sf,
            Value::from_salesforce_json(&json!("2024-03-23T08:00:00.001+0000"), &f).unwrap()
        );
    }

    #[test]
    fn numbers_compare_at_the_fields_scale() {
        let mut f = field(FieldType::Double);
        f.precision = 18;
        f.scale = 2;
        let sf = Value::from_salesforce_json(&json!(5), &f).unwrap();
        assert_eq!(sf, convert("5.0", &f, None).unwrap());
        assert_eq!(sf, convert("5.004", &f, None).unwrap());
        let sf = Value::from_salesforce_json(&json!(0.3), &f).unwrap();
        assert_eq!(sf, convert("0.30", &f, None).unwrap());
        assert_eq!(sf, Value::from_bulk_csv("0.3", &f).unwrap());
        assert_eq!(
            Value::from_salesforce_json(&json!(1.5e7), &f).unwrap(),
            num("15000000")
        );
        let int = field(FieldType::Int);
        assert_eq!(
            Value::from_salesforce_json(&json!(42), &int).unwrap(),
            convert("42.0", &int, None).unwrap()
        );
    }

    #[test]
    fn text_null_and_empty_are_one() {
        let f = field(FieldType::String);
        assert_eq!(
            Value::from_salesforce_json(&json!(""), &f).unwrap(),
            Value::Null
        );
        assert_eq!(
            Value::from_salesforce_json(&json!(null), &f).unwrap(),
            Value::Null
        );
        assert_eq!(Value::from_bulk_csv("", &f).unwrap(), Value::Null);
        assert_eq!(
            Value::from_bulk_csv("x", &f).unwrap(),
            Value::Text("x".into())
        );
    }

    #[test]
    fn wire_booleans_dates_and_ids() {
        let b = field(FieldType::Boolean);
        assert_eq!(
            Value::from_salesforce_json(&json!(true), &b).unwrap(),
            convert("Yes", &b, None).unwrap()
        );
        assert_eq!(
            Value::from_bulk_csv("false", &b).unwrap(),
            Value::Bool(false)
        );
        assert!(Value::from_bulk_csv("maybe", &b).is_err());
        let d = field(FieldType::Date);
        assert_eq!(
            Value::from_salesforce_json(&json!("2024-03-23"), &d).unwrap(),
            convert("2024-03-23", &d, None).unwrap()
        );
        let r = field(FieldType::Reference);
        assert_eq!(
            Value::from_salesforce_json(&json!("001000000000001AAA"), &r).unwrap(),
            convert("001000000000001", &r, None).unwrap()
        );
    }

    #[test]
    fn wire_type_mismatch_is_an_error_not_a_panic() {
        let f = field(FieldType::Double);
        assert!(Value::from_salesforce_json(&json!(true), &f).is_err());
        assert!(Value::from_salesforce_json(&json!({"a": 1}), &f).is_err());
        assert!(Value::from_salesforce_json(&json!("abc"), &f).is_err());
        let s = field(FieldType::String);
        assert!(Value::from_salesforce_json(&json!(1), &s).is_err());
        let dt = field(FieldType::Datetime);
        assert!(Value::from_salesforce_json(&json!("yesterday"), &dt).is_err());
    }

    #[test]
    fn multipicklist_order_is_normalised_from_the_definition() {
        let mut f = field(FieldType::Multipicklist);
        f.restricted_picklist = true;
        f.picklist_values = crate::report::test_support::picklist(&["Red", "Green", "Blue"]);
        assert_eq!(
            Value::from_salesforce_json(&json!("Blue;Red"), &f).unwrap(),
            convert("red;blue", &f, None).unwrap()
        );
    }

    #[test]
    fn writes_json() {
        assert_eq!(Value::Null.to_json(), json!(null));
        assert_eq!(Value::Text("a".into()).to_json(), json!("a"));
        assert_eq!(Value::Bool(true).to_json(), json!(true));
        assert_eq!(num("42").to_json(), json!(42));
        assert_eq!(num("12.5").to_json(), json!(12.5));
        assert_eq!(num("0.1").to_json().to_string(), "0.1");
        assert_eq!(num("-3.75").to_json().to_string(), "-3.75");
        // Beyond f64's exact range the exact text is kept.
        assert_eq!(
            num("1234567890123456.78").to_json(),
            json!("1234567890123456.78")
        );
        let date = NaiveDate::from_ymd_opt(2024, 3, 23).unwrap();
        assert_eq!(Value::Date(date).to_json(), json!("2024-03-23"));
        let dt = date.and_hms_opt(8, 0, 0).unwrap().and_utc();
        assert_eq!(
            Value::DateTime(dt).to_json(),
            json!("2024-03-23T08:00:00.000Z")
        );
    }

    #[test]
    fn writes_bulk_csv_and_display() {
        assert_eq!(Value::Null.to_bulk_csv(), "#N/A");
        assert_eq!(Value::Null.to_string(), "");
        assert_eq!(Value::Bool(false).to_bulk_csv(), "false");
        assert_eq!(num("0.05").to_bulk_csv(), "0.05");
        assert_eq!(Value::Text("a,b".into()).to_bulk_csv(), "a,b");
        let dt = NaiveDate::from_ymd_opt(2024, 3, 23)
            .unwrap()
            .and_hms_milli_opt(8, 0, 0, 120)
            .unwrap()
            .and_utc();
        assert_eq!(
            Value::DateTime(dt).to_bulk_csv(),
            "2024-03-23T08:00:00.120Z"
        );
        assert_eq!(Value::DateTime(dt).to_string(), "2024-03-23T08:00:00.120Z");
    }

    #[test]
    fn dates_display_as_chrono_formats_them() {
        use chrono::TimeZone as _;
        for (y, mo, d, h, mi, sec, ms) in [
            (2026, 11, 27, 6, 8, 0, 0),
            (1, 1, 1, 0, 0, 0, 7),
            (9999, 12, 31, 23, 59, 59, 999),
            (1970, 1, 1, 0, 0, 0, 120),
        ] {
            let dt = Utc
                .with_ymd_and_hms(y, mo, d, h, mi, sec)
                .unwrap()
                .checked_add_signed(chrono::Duration::milliseconds(ms))
                .unwrap();
            assert_eq!(
                Value::DateTime(dt).to_string(),
                dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            );
            let date = dt.date_naive();
            assert_eq!(
                Value::Date(date).to_string(),
                date.format("%Y-%m-%d").to_string()
            );
        }
        let far = NaiveDate::from_ymd_opt(12_000, 1, 2).unwrap();
        assert_eq!(
            Value::Date(far).to_string(),
            far.format("%Y-%m-%d").to_string()
        );
    }
}
