//! Conversion of one report cell to its Salesforce field's type (SPEC §5 step 3).
//!
//! [`convert`] is called only for a cell that is not empty after trimming: what an empty cell
//! means (`empty_cells = "skip" | "clear"`) is the caller's policy, not a conversion. It trims
//! Unicode white space around every cell, for every type: report exports pad cells, and a value
//! that differed from Salesforce's only by padding would be rewritten on every run.
//!
//! Types that cannot be a mapping target give [`ConvertError::UnsupportedType`]: `base64`,
//! `location`, `address`, `anyType`, `complexvalue`, `datacategorygroupreference`, unknown future
//! types, and `time` (Insights reports carry dates and datetimes, never a bare time of day, and a
//! `Value` has no time variant).

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};

use super::decimal::{Decimal, DecimalError};
use super::value::Value;
use crate::salesforce::describe::{Field, FieldType};

/// Why a cell cannot be written to its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("the cell is empty")]
    Empty,
    #[error("\"#N/A\" cannot be written as text: Bulk API 2.0 reads it as \"clear the field\"")]
    BulkNull,
    #[error("{chars} characters is too long for this field (at most {max})")]
    TooLong { chars: usize, max: u32 },
    #[error("{value:?} is not an e-mail address")]
    InvalidEmail { value: String },
    #[error("{value:?} is not a value of this restricted picklist (allowed: {allowed})")]
    NotInPicklist { value: String, allowed: String },
    #[error("{value:?} is not a boolean (use true/false, yes/no, 1/0 or y/n)")]
    InvalidBoolean { value: String },
    #[error("{value:?} {reason}")]
    InvalidNumber { value: String, reason: DecimalError },
    #[error("{value:?} is not a whole number")]
    NotAnInteger { value: String },
    #[error("{value:?} has {digits} digits before the decimal point; this field allows {max}")]
    TooManyDigits {
        value: String,
        digits: u32,
        max: u32,
    },
    #[error("{value:?} is not a date ({expected})")]
    InvalidDate { value: String, expected: String },
    #[error("{value:?} is not a date and time ({expected})")]
    InvalidDateTime { value: String, expected: String },
    #[error("{value:?} is outside the dates Salesforce accepts (years 1700 to 4000)")]
    DateOutOfRange { value: String },
    #[error("{value:?} is not a Salesforce Id (15 or 18 letters and digits)")]
    InvalidId { value: String },
    #[error("fields of type {} cannot be written from a report", .0.as_str())]
    UnsupportedType(FieldType),
    #[error("Salesforce returned {value} for a {} field", .field_type.as_str())]
    Wire {
        value: String,
        field_type: FieldType,
    },
}

/// What a cell quoted in an error shows at most, so a 100 KB cell does not flood a log line.
const QUOTED_CHARS: usize = 60;

fn quoted(cell: &str) -> String {
    match cell.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => format!("{}…", &cell[..cut]),
        None => cell.to_owned(),
    }
}

/// Converts a report cell to `field`'s type. `format` is the mapping's strftime format for dates
/// and datetimes written in another style than ISO 8601. The cell must not be empty after
/// trimming (see the module docs); an empty one gives [`ConvertError::Empty`].
pub fn convert(cell: &str, field: &Field, format: Option<&str>) -> Result<Value, ConvertError> {
    convert_ref(cell, field, format).map(Converted::into_value)
}

/// A converted cell: a text value borrowed from the cell or the field's picklist, or any value.
#[derive(Debug, PartialEq, Eq)]
pub enum Converted<'a> {
    Text(&'a str),
    Value(Value),
}

impl Converted<'_> {
    #[must_use]
    pub fn into_value(self) -> Value {
        match self {
            Self::Text(text) => Value::Text(text.to_owned()),
            Self::Value(value) => value,
        }
    }
}

/// [`convert`] without copying a text value (a sync converts millions of cells; issue 6).
pub fn convert_ref<'a>(
    cell: &'a str,
    field: &'a Field,
    format: Option<&str>,
) -> Result<Converted<'a>, ConvertError> {
    let cell = trim(cell);
    if cell.is_empty() {
        return Err(ConvertError::Empty);
    }
    let value = match field.field_type {
        FieldType::String
        | FieldType::Textarea
        | FieldType::Phone
        | FieldType::Url
        | FieldType::Combobox
        | FieldType::Encryptedstring => return text(cell, field),
        FieldType::Email => return email(cell, field),
        FieldType::Picklist => return picklist(cell, field),
        FieldType::Multipicklist => {
            check_bulk_null(cell)?;
            let joined = normalise_multipicklist(cell, field, field.restricted_picklist)?;
            check_length(&joined, field)?;
            Ok(Value::Text(joined))
        }
        FieldType::Boolean => boolean(cell),
        FieldType::Int | FieldType::Long => integer(cell, field),
        FieldType::Double | FieldType::Currency | FieldType::Percent => number(cell, field),
        FieldType::Date => date(cell, format),
        FieldType::Datetime => datetime(cell, format),
        FieldType::Id | FieldType::Reference => {
            normalise_id(cell)
                .map(Value::Text)
                .ok_or_else(|| ConvertError::InvalidId {
                    value: quoted(cell),
                })
        }
        other @ (FieldType::Base64
        | FieldType::Location
        | FieldType::Address
        | FieldType::AnyType
        | FieldType::Complexvalue
        | FieldType::Datacategorygroupreference
        | FieldType::Time
        | FieldType::Other) => Err(ConvertError::UnsupportedType(other)),
    };
    value.map(Converted::Value)
}

/// `str::trim`, without its character decoding for the usual cell that starts and ends in a
/// printable ASCII character.
#[must_use]
pub fn trim(cell: &str) -> &str {
    match (cell.as_bytes().first(), cell.as_bytes().last()) {
        (Some(&a), Some(&b)) if a.is_ascii_graphic() && b.is_ascii_graphic() => cell,
        _ => cell.trim(),
    }
}

/// `#N/A` means "set to null" in a Bulk API 2.0 ingest CSV ("Valid CSV Record Rows"), so the same
/// text would be written by REST and cleared by Bulk; it is refused so both paths agree.
fn check_bulk_null(cell: &str) -> Result<(), ConvertError> {
    if cell == super::value::BULK_NULL {
        Err(ConvertError::BulkNull)
    } else {
        Ok(())
    }
}

/// `length` is in characters (research §2.4); a describe without one (0) sets no limit here and
/// leaves the check to Salesforce.
fn check_length(cell: &str, field: &Field) -> Result<(), ConvertError> {
    if field.length == 0 {
        return Ok(());
    }
    // A character takes at least one byte.
    if cell.len() <= field.length as usize {
        return Ok(());
    }
    let chars = cell.chars().count();
    if chars > field.length as usize {
        return Err(ConvertError::TooLong {
            chars,
            max: field.length,
        });
    }
    Ok(())
}

fn text<'a>(cell: &'a str, field: &Field) -> Result<Converted<'a>, ConvertError> {
    check_bulk_null(cell)?;
    check_length(cell, field)?;
    Ok(Converted::Text(cell))
}

/// Whether a cell of a text-like field (`string`, `textarea`, `phone`, `url`, `combobox`,
/// `encryptedstring`; `email` with its syntax) goes in as it is, without [`convert_ref`]'s
/// general path: when this says yes, `convert_ref` gives `Converted::Text(cell)`; when it says
/// no, the cell goes the long way (which also explains a refusal). Byte length within the
/// limit settles it here; a longer one is counted in characters there (issue 6).
/// Any other type ([`takes_text_as_written`]): no.
#[must_use]
pub fn text_as_written(cell: &str, field: &Field) -> bool {
    let fits = field.length == 0 || cell.len() <= field.length as usize;
    match field.field_type {
        FieldType::Email => fits && email_syntax(cell),
        t if takes_text_as_written(t) => fits && cell != super::value::BULK_NULL,
        _ => false,
    }
}

/// The types [`text_as_written`] reads: the text-like ones and e-mail addresses.
#[must_use]
pub fn takes_text_as_written(field_type: FieldType) -> bool {
    matches!(
        field_type,
        FieldType::String
            | FieldType::Textarea
            | FieldType::Phone
            | FieldType::Url
            | FieldType::Combobox
            | FieldType::Encryptedstring
            | FieldType::Email
    )
}

/// A light check, enough to catch a shifted column; Salesforce has the last word
/// (`INVALID_EMAIL_ADDRESS`).
fn email<'a>(cell: &'a str, field: &Field) -> Result<Converted<'a>, ConvertError> {
    check_length(cell, field)?;
    if email_syntax(cell) {
        Ok(Converted::Text(cell))
    } else {
        Err(ConvertError::InvalidEmail {
            value: quoted(cell),
        })
    }
}

/// `local@domain`: one `@`, something before it, a domain with a dot, neither at its ends nor
/// two in a row, and no whitespace or control character anywhere. Byte tests, and a character
/// test only for a non-ASCII cell (issue 6: decoding every character of every address was 1.5 %
/// of a wide sync's instructions).
fn email_syntax(cell: &str) -> bool {
    let bytes = cell.as_bytes();
    let Some(at) = memchr::memchr(b'@', bytes) else {
        return false;
    };
    let domain = &bytes[at + 1..];
    if at == 0 || domain.first() == Some(&b'.') || domain.last() == Some(&b'.') {
        return false;
    }
    let mut dot = false;
    let mut previous = 0u8;
    for &b in domain {
        if b == b'@' || (b == b'.' && previous == b'.') {
            return false;
        }
        dot |= b == b'.';
        previous = b;
    }
    if !dot {
        return false;
    }
    // ASCII's whitespace and control characters are the bytes up to the space, and DEL.
    if bytes.is_ascii() {
        !bytes.iter().any(|&b| b <= b' ' || b == 0x7f)
    } else {
        !cell.chars().any(|c| c.is_whitespace() || c.is_control())
    }
}

/// Active values only: Salesforce rejects an inactive value on a restricted picklist
/// (`INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`, research §2.4).
fn defined_value<'f>(value: &str, field: &'f Field) -> Option<&'f str> {
    // `str::to_lowercase` (context-aware: a final `Σ` is `ς`), without its copies when both
    // sides are ASCII.
    let same_lower = |a: &str, b: &str| {
        if a.is_ascii() && b.is_ascii() {
            a.eq_ignore_ascii_case(b)
        } else {
            a.to_lowercase() == b.to_lowercase()
        }
    };
    field
        .picklist_values
        .iter()
        .filter(|v| v.active)
        .find(|v| v.value == value || same_lower(&v.value, value))
        .map(|v| v.value.as_str())
}

fn allowed_values(field: &Field) -> String {
    const SHOWN: usize = 10;
    let active: Vec<&str> = field
        .picklist_values
        .iter()
        .filter(|v| v.active)
        .map(|v| v.value.as_str())
        .collect();
    let mut list = active
        .iter()
        .take(SHOWN)
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if active.len() > SHOWN {
        let _ = write!(list, " and {} more", active.len() - SHOWN);
    }
    if list.is_empty() {
        list.push_str("none");
    }
    list
}

/// A defined value is written as defined, restricted or not, so `open` and `Open` are one value
/// to the diff; an unrestricted picklist also takes any other value as written.
fn picklist<'a>(cell: &'a str, field: &'a Field) -> Result<Converted<'a>, ConvertError> {
    match defined_value(cell, field) {
        Some(defined) => Ok(Converted::Text(defined)),
        None if !field.restricted_picklist => text(cell, field),
        None => Err(ConvertError::NotInPicklist {
            value: quoted(cell),
            allowed: allowed_values(field),
        }),
    }
}

/// A multi-select value: parts split on `;`, trimmed, empty parts and repeats dropped. When the
/// field's values are known, defined values are written as defined and in definition order, the
/// order Salesforce returns them in, so the diff sees `Blue;Red` and `red;blue` as one value.
/// `strict` (a restricted picklist written from a report) rejects unknown parts; otherwise they
/// are kept after the known ones, in their written order.
pub(crate) fn normalise_multipicklist(
    cell: &str,
    field: &Field,
    strict: bool,
) -> Result<String, ConvertError> {
    let mut known: Vec<(usize, &str)> = Vec::new();
    let mut unknown: Vec<&str> = Vec::new();
    for part in cell.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let position = field
            .picklist_values
            .iter()
            .position(|v| v.value == part || v.value.to_lowercase() == part.to_lowercase());
        match position {
            Some(index) => {
                let value = field.picklist_values[index].value.as_str();
                let active = field.picklist_values[index].active;
                if strict && !active {
                    return Err(ConvertError::NotInPicklist {
                        value: quoted(part),
                        allowed: allowed_values(field),
                    });
                }
                if !known.iter().any(|&(i, _)| i == index) {
                    known.push((index, value));
                }
            }
            None if strict => {
                return Err(ConvertError::NotInPicklist {
                    value: quoted(part),
                    allowed: allowed_values(field),
                });
            }
            None => {
                if !unknown.contains(&part) {
                    unknown.push(part);
                }
            }
        }
    }
    if known.is_empty() && unknown.is_empty() {
        return Err(ConvertError::Empty);
    }
    known.sort_by_key(|&(index, _)| index);
    Ok(known
        .into_iter()
        .map(|(_, v)| v)
        .chain(unknown)
        .collect::<Vec<_>>()
        .join(";"))
}

fn boolean(cell: &str) -> Result<Value, ConvertError> {
    let is = |words: [&str; 4]| words.iter().any(|w| cell.eq_ignore_ascii_case(w));
    if is(["true", "yes", "1", "y"]) {
        Ok(Value::Bool(true))
    } else if is(["false", "no", "0", "n"]) {
        Ok(Value::Bool(false))
    } else {
        Err(ConvertError::InvalidBoolean {
            value: quoted(cell),
        })
    }
}

pub(crate) fn is_number_type(field_type: FieldType) -> bool {
    matches!(
        field_type,
        FieldType::Int
            | FieldType::Long
            | FieldType::Double
            | FieldType::Currency
            | FieldType::Percent
    )
}

/// The scale values of a number field are compared and written at: `int`/`long` have none.
pub(crate) fn number_scale(field: &Field) -> u32 {
    match field.field_type {
        FieldType::Int | FieldType::Long => 0,
        _ => field.scale,
    }
}

fn parse_decimal(cell: &str) -> Result<Decimal, ConvertError> {
    Decimal::parse(cell).map_err(|reason| ConvertError::InvalidNumber {
        value: quoted(cell),
        reason,
    })
}

/// Whether a number cell converts to the number it spells, as it is: it is that number's
/// `Display` text and fits `field` without rounding. Such a cell is packed as it stands, without
/// reading it (every number cell of a report; issue 6).
pub(crate) fn number_as_written(cell: &str, field: &Field) -> bool {
    let max_integer_digits = match field.field_type {
        FieldType::Int | FieldType::Long => integer_max_digits(field),
        FieldType::Double | FieldType::Currency | FieldType::Percent => number_max_digits(field),
        _ => return false,
    };
    Decimal::is_display_text(cell.as_bytes(), number_scale(field), max_integer_digits)
}

/// The most digits an `int` or `long` field takes.
fn integer_max_digits(field: &Field) -> u32 {
    match (field.digits, field.field_type) {
        (0, FieldType::Int) => 9,
        (0, _) => 18,
        (digits, _) => digits,
    }
}

/// The most digits a `double`, `currency` or `percent` field takes before the point.
fn number_max_digits(field: &Field) -> u32 {
    let precision = if field.precision == 0 {
        18
    } else {
        field.precision
    };
    precision.saturating_sub(field.scale)
}

/// `int` has `digits` 9 and `long` 18 in describes; a describe without `digits` (0) falls back to
/// those.
fn integer(cell: &str, field: &Field) -> Result<Value, ConvertError> {
    let value = parse_decimal(cell)?;
    if !value.is_integer() {
        return Err(ConvertError::NotAnInteger {
            value: quoted(cell),
        });
    }
    let max = integer_max_digits(field);
    let digits = value.integer_digits();
    if digits > max {
        return Err(ConvertError::TooManyDigits {
            value: quoted(cell),
            digits,
            max,
        });
    }
    Ok(Value::Number(value))
}

/// `precision` is the total of digits and `scale` the decimals (research §2.4), so at most
/// `precision − scale` digits stand before the point; Salesforce answers more with
/// `NUMBER_OUTSIDE_VALID_RANGE`. A percent is the number itself (`12.5` means 12.5 %), and may
/// carry its `%` sign. A describe without `precision` (0) gets Salesforce's maximum, 18.
fn number(cell: &str, field: &Field) -> Result<Value, ConvertError> {
    let digits_text = if field.field_type == FieldType::Percent {
        cell.strip_suffix('%').map_or(cell, str::trim_end)
    } else {
        cell
    };
    let value = parse_decimal(digits_text)?.round_half_up(field.scale);
    let max = number_max_digits(field);
    let digits = value.integer_digits();
    if digits > max {
        return Err(ConvertError::TooManyDigits {
            value: quoted(cell),
            digits,
            max,
        });
    }
    Ok(Value::Number(value))
}

/// Salesforce's valid range for dates and datetimes: 1700-01-01 to 4000-12-31 (Object Reference,
/// "Primitive Data Types": date and dateTime).
const YEARS: std::ops::RangeInclusive<i32> = 1700..=4000;

fn in_range(date: NaiveDate) -> bool {
    YEARS.contains(&date.year())
}

const ISO_DATE: &str = "ISO 8601 YYYY-MM-DD";

/// `YYYY-MM-DD` exactly: chrono's `%m` would also take `2024-3-5`, and a short form is more
/// likely a different convention than a typo.
pub(crate) fn parse_iso_date(text: &str) -> Option<NaiveDate> {
    if text.len() != 10 {
        return None;
    }
    let (year, month, day) = iso_date_parts(text.as_bytes())?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// `YYYY-MM-DD` at the start of `bytes`: the year, month and day of a real date. The ten bytes
/// are checked and read as two words, without a branch per byte, which gives what chrono's
/// `%Y-%m-%d` would without interpreting a pattern per cell (every date cell of both sides of a
/// sync, and every datetime cell's date, is read here; issue 6).
fn iso_date_parts(bytes: &[u8]) -> Option<(i32, u32, u32)> {
    use crate::swar::load;
    const DASHES: u64 = 0xff00_00ff_0000_0000;
    let date = bytes.get(..10)?;
    // Digits become 0–9 and the dashes 0x1d; bytes 4 and 7 of the first word are the dashes.
    let head = load(date) ^ 0x3030_3030_3030_3030;
    let day = u64::from(u16::from_le_bytes([date[8], date[9]]) ^ 0x3030);
    if head & DASHES != 0x1d00_001d_0000_0000 {
        return None;
    }
    let head = head & !DASHES;
    if !all_digits(head) || !all_digits(day) {
        return None;
    }
    let year =
        byte_at(head, 0) * 1000 + byte_at(head, 1) * 100 + byte_at(head, 2) * 10 + byte_at(head, 3);
    let month = byte_at(head, 5) * 10 + byte_at(head, 6);
    let day = byte_at(day, 0) * 10 + byte_at(day, 1);
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days_in_month = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => 0,
    };
    // At most 9999: an `i32`.
    #[allow(clippy::cast_possible_wrap)]
    (1..=days_in_month)
        .contains(&day)
        .then_some((year as i32, month, day))
}

/// Byte `i` of `word` (little-endian).
#[inline]
fn byte_at(word: u64, i: usize) -> u32 {
    u32::from(word.to_le_bytes()[i])
}

/// Whether every byte of `word` is 0–9 (bytes that are not wanted already zeroed): below 16,
/// and still below 16 with 6 added (no byte carries into the next: 15 + 6 < 256).
#[inline]
fn all_digits(word: u64) -> bool {
    const HIGH_NIBBLES: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    word & HIGH_NIBBLES == 0 && word.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES == 0
}

/// Days from 1970-01-01 to a valid proleptic Gregorian date of years 0–9999 (H. Hinnant's
/// `days_from_civil`), in unsigned 32-bit arithmetic counted from -0400-03-01 (issue 6).
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let year = year.unsigned_abs() + 400 - u32::from(month <= 2);
    let era = year / 400;
    let yoe = year - era * 400;
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    i64::from(era * 146_097 + doe) - 719_468 - 146_097
}

/// Two ASCII digits at `at`, if both are digits.
fn two_digits(bytes: &[u8], at: usize) -> Option<u32> {
    match bytes.get(at..at + 2) {
        Some(&[a, b]) if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
        }
        _ => None,
    }
}

/// The common spellings of an ISO datetime read without chrono's pattern parser:
/// `YYYY-MM-DD`, a separator already checked, `HH:MM`, optional `:SS`, an optional fraction of
/// 1 to 9 digits, then nothing, `Z`/`z`, `±hh:mm` or `±hhmm`. Anything else (leap seconds,
/// one-digit fields, longer fractions, `±hh` alone) gives `None` and takes the general path, so
/// this only ever agrees with it.
fn fast_iso_datetime(bytes: &[u8]) -> Option<DateTime<Utc>> {
    let (secs, nanos) = iso_datetime_parts(bytes)?;
    DateTime::from_timestamp(secs, nanos)
}

/// What [`fast_iso_datetime`] reads, as seconds since the epoch and nanoseconds (truncated to
/// milliseconds); `bytes` has at least 16 bytes and a date/time separator at byte 10.
fn iso_datetime_parts(bytes: &[u8]) -> Option<(i64, u32)> {
    let (year, month, day) = iso_date_parts(bytes)?;
    if let Some((seconds, millis)) = utc_time_of_day(bytes) {
        return (seconds < 86_400).then(|| {
            (
                days_from_civil(year, month, day) * 86_400 + i64::from(seconds),
                millis * 1_000_000,
            )
        });
    }
    general_time_of_day(bytes, year, month, day)
}

/// The time of the two usual spellings, Salesforce's own, after a date and its separator:
/// `HH:MM:SSZ` and `HH:MM:SS.sssZ` (a whole datetime of 20 or 24 bytes), read as words
/// without a branch per byte (issue 6). The seconds of the day (86,400 or more when a field is
/// out of range) and the milliseconds; `None` for any other text, which
/// [`general_time_of_day`] reads.
fn utc_time_of_day(bytes: &[u8]) -> Option<(u32, u32)> {
    use crate::swar::load;
    const COLONS: u64 = 0x0000_ff00_00ff_0000;
    let (millis, millis_ok) = match *bytes {
        [.., b'Z'] if bytes.len() == 20 => (0, true),
        [.., b'.', a, b, c, b'Z'] if bytes.len() == 24 => {
            let word = u64::from_le_bytes([a, b, c, 0, 0, 0, 0, 0]) ^ 0x30_3030;
            (
                byte_at(word, 0) * 100 + byte_at(word, 1) * 10 + byte_at(word, 2),
                all_digits(word),
            )
        }
        _ => return None,
    };
    // `HH:MM:SS`: digits become 0–9, the colons (bytes 2 and 5) 0x0a.
    let time = load(&bytes[11..]) ^ 0x3030_3030_3030_3030;
    let digits = time & !COLONS;
    if time & COLONS != 0x0000_0a00_000a_0000 || !all_digits(digits) || !millis_ok {
        return None;
    }
    let two = |i: usize| byte_at(digits, i) * 10 + byte_at(digits, i + 1);
    let (hour, minute, second) = (two(0), two(3), two(6));
    // An hour past 23 makes a day's seconds or more already.
    if minute > 59 || second > 59 {
        return Some((86_400, 0));
    }
    Some((hour * 3600 + minute * 60 + second, millis))
}

/// [`iso_datetime_parts`] after the date, for every spelling it reads.
fn general_time_of_day(bytes: &[u8], year: i32, month: u32, day: u32) -> Option<(i64, u32)> {
    let hour = two_digits(bytes, 11)?;
    if bytes.get(13) != Some(&b':') {
        return None;
    }
    let minute = two_digits(bytes, 14)?;
    let mut at = 16;
    let mut second = 0;
    let mut nanos = 0;
    if bytes.get(at) == Some(&b':') {
        second = two_digits(bytes, at + 1)?;
        at += 3;
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            let start = at;
            while at < bytes.len() && bytes[at].is_ascii_digit() {
                at += 1;
            }
            let count = at - start;
            if count == 0 || count > 9 {
                return None;
            }
            let value = bytes[start..at]
                .iter()
                .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
            nanos = value * 10u32.pow(u32::try_from(9 - count).ok()?);
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let offset_seconds: i32 = match &bytes[at..] {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest.len() {
                5 if rest[2] == b':' => (two_digits(rest, 0)?, two_digits(rest, 3)?),
                4 => (two_digits(rest, 0)?, two_digits(rest, 2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let magnitude = i32::try_from(h * 3600 + m * 60).ok()?;
            if *sign == b'-' { -magnitude } else { magnitude }
        }
        _ => return None,
    };
    // Seconds since the epoch by arithmetic: chrono's date and time constructors and its
    // checked subtraction cost several times as much, and this runs for every datetime cell.
    let secs = days_from_civil(year, month, day) * 86_400
        + i64::from(hour * 3600 + minute * 60 + second)
        - i64::from(offset_seconds);
    Some((secs, nanos - nanos % 1_000_000))
}

/// A date or datetime as the numbers its packed form holds ([`crate::sync::packed`]), read
/// without chrono's types: every date and datetime cell of both sides of a sync goes through
/// here (issue 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// The day as chrono's `num_days_from_ce` counts it: 0001-01-01 is 1.
    Date(i32),
    /// Seconds since the Unix epoch and nanoseconds.
    DateTime(i64, u32),
}

/// The `num_days_from_ce` of 1970-01-01.
const UNIX_EPOCH_DAY_CE: i64 = 719_163;

/// A `YYYY-MM-DD` text's year and day (counted as [`Moment::Date`]).
fn iso_date_day(text: &[u8]) -> Option<(i32, i32)> {
    if text.len() != 10 {
        return None;
    }
    let (year, month, day) = iso_date_parts(text)?;
    let days = i32::try_from(days_from_civil(year, month, day) + UNIX_EPOCH_DAY_CE).ok()?;
    Some((year, days))
}

/// Whether `text` can be a datetime at all: a date, `T`, `t` or a space, then at least `HH:MM`.
fn datetime_shaped(text: &[u8]) -> bool {
    text.len() >= 16 && matches!(text[10], b'T' | b't' | b' ')
}

/// A datetime's text in the spellings [`fast_iso_datetime`] reads.
fn iso_datetime_moment(text: &[u8]) -> Option<(i64, u32)> {
    if !datetime_shaped(text) {
        return None;
    }
    iso_datetime_parts(text)
}

/// A report's date or datetime cell without a mapping `format`, as [`convert_ref`] reads it, when
/// it is in the usual ISO spelling and in range; `None` leaves the cell to [`convert_ref`], which
/// reads (or explains) everything.
#[must_use]
pub fn report_moment(cell: &str, field_type: FieldType) -> Option<Moment> {
    let text = cell.as_bytes();
    match field_type {
        FieldType::Date => {
            let (year, days) = iso_date_day(text)?;
            YEARS.contains(&year).then_some(Moment::Date(days))
        }
        FieldType::Datetime => {
            let (secs, nanos) = iso_datetime_moment(text)?;
            // In range when the UTC date is.
            let day = secs.div_euclid(86_400);
            let first = days_from_civil(*YEARS.start(), 1, 1);
            let after = days_from_civil(*YEARS.end() + 1, 1, 1);
            (first..after)
                .contains(&day)
                .then_some(Moment::DateTime(secs, nanos))
        }
        _ => None,
    }
}

/// Salesforce's text of a date or datetime field, as [`Value::from_bulk_csv`] reads it, when it
/// is in the usual ISO spelling; `None` leaves it to that.
#[must_use]
pub fn wire_moment(text: &str, field_type: FieldType) -> Option<Moment> {
    match field_type {
        FieldType::Date => iso_date_day(text.as_bytes()).map(|(_, days)| Moment::Date(days)),
        FieldType::Datetime => {
            iso_datetime_moment(text.as_bytes()).map(|(secs, nanos)| Moment::DateTime(secs, nanos))
        }
        _ => None,
    }
}

fn date(cell: &str, format: Option<&str>) -> Result<Value, ConvertError> {
    let parsed = match format {
        Some(format) => NaiveDate::parse_from_str(cell, format).ok(),
        None => parse_iso_date(cell),
    };
    let expected = || format.map_or_else(|| ISO_DATE.to_owned(), |f| format!("format {f:?}"));
    let date = parsed.ok_or_else(|| ConvertError::InvalidDate {
        value: quoted(cell),
        expected: expected(),
    })?;
    if !in_range(date) {
        return Err(ConvertError::DateOutOfRange {
            value: quoted(cell),
        });
    }
    Ok(Value::Date(date))
}

/// Checks a mapping's `format` for a date or datetime field, for `validate`: it must be valid
/// strftime and read back a whole date (a format without the year, say, can never parse one).
/// Formatting a sample and converting it back proves both without trusting a list of specifiers.
pub fn check_format(format: &str, field_type: FieldType) -> Result<(), String> {
    use chrono::format::{Item, StrftimeItems};

    if !matches!(field_type, FieldType::Date | FieldType::Datetime) {
        return Err(format!(
            "a format applies to date and datetime fields, not to a {} field",
            field_type.as_str()
        ));
    }
    if StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
        return Err(format!("{format:?} is not a valid strftime format"));
    }
    let sample = NaiveDate::from_ymd_opt(2024, 11, 23)
        .and_then(|d| d.and_hms_opt(17, 45, 31))
        .map(|n| n.and_utc().fixed_offset())
        .ok_or_else(|| "internal: sample date".to_owned())?;
    let mut text = String::new();
    // `write!` reports a specifier the value cannot fill instead of panicking as `to_string` would.
    if write!(text, "{}", sample.format(format)).is_err() {
        return Err(format!("{format:?} is not a valid strftime format"));
    }
    let date = sample.date_naive();
    let accepted = match (field_type, date_or_datetime(&text, field_type, format)) {
        (FieldType::Date, Ok(Value::Date(d))) => d == date,
        // A datetime format may leave the time out (midnight UTC) but must keep the whole date.
        (_, Ok(Value::DateTime(dt))) => dt.date_naive() == date,
        _ => false,
    };
    if accepted {
        Ok(())
    } else {
        Err(format!(
            "{format:?} cannot read a whole date back (it writes 2024-11-23 17:45:31 as {text:?})"
        ))
    }
}

fn date_or_datetime(
    text: &str,
    field_type: FieldType,
    format: &str,
) -> Result<Value, ConvertError> {
    if field_type == FieldType::Date {
        date(text.trim(), Some(format))
    } else {
        datetime(text.trim(), Some(format))
    }
}

/// Salesforce stores datetimes at millisecond precision (research §7.2).
fn truncate_to_millis(dt: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = dt.nanosecond();
    dt.with_nanosecond(nanos - nanos % 1_000_000).unwrap_or(dt)
}

/// ISO 8601 / RFC 3339 datetimes as reports and Salesforce write them: `T`, `t` or a space
/// between date and time; seconds and fractional seconds optional; `Z`, `+hh:mm`, `+hhmm`
/// (Salesforce's `…000+0000`) or no offset, which means UTC.
pub(crate) fn parse_iso_datetime(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    if !datetime_shaped(bytes) {
        return None;
    }
    if let Some(fast) = fast_iso_datetime(bytes) {
        return Some(fast);
    }
    chrono_iso_datetime(text)
}

/// The general path of [`parse_iso_datetime`], through chrono's patterns; `text` has at least 16
/// bytes and a date/time separator at byte 10.
fn chrono_iso_datetime(text: &str) -> Option<DateTime<Utc>> {
    const NAIVE: [&str; 2] = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"];
    parse_iso_date(text.get(..10)?)?;
    let normalised = format!("{}T{}", &text[..10], text.get(11..)?);
    let s = normalised.as_str();
    let naive_utc = |s: &str| {
        NAIVE
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
            .map(|n| n.and_utc())
    };
    let parsed = if let Some(rest) = s.strip_suffix(['Z', 'z']) {
        naive_utc(rest)
    } else {
        ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z"]
            .iter()
            .find_map(|f| DateTime::parse_from_str(s, f).ok())
            .map(|dt| dt.with_timezone(&Utc))
            .or_else(|| naive_utc(s))
    };
    parsed.map(truncate_to_millis)
}

fn datetime(cell: &str, format: Option<&str>) -> Result<Value, ConvertError> {
    let parsed = match format {
        // A format may carry an offset (%z), a naive time (UTC), or only a date (midnight UTC).
        Some(format) => DateTime::parse_from_str(cell, format)
            .map(|dt| dt.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                NaiveDateTime::parse_from_str(cell, format)
                    .ok()
                    .map(|n| n.and_utc())
            })
            .or_else(|| {
                NaiveDate::parse_from_str(cell, format)
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|n| n.and_utc())
            })
            .map(truncate_to_millis),
        None => parse_iso_datetime(cell),
    };
    let dt = parsed.ok_or_else(|| ConvertError::InvalidDateTime {
        value: quoted(cell),
        expected: format.map_or_else(
            || {
                let hint = if parse_iso_date(cell).is_some() {
                    "; a date alone needs the mapping's format = \"%Y-%m-%d\""
                } else {
                    ""
                };
                format!("ISO 8601 like 2024-03-23T08:00:00Z{hint}")
            },
            |f| format!("format {f:?}"),
        ),
    })?;
    if !in_range(dt.date_naive()) {
        return Err(ConvertError::DateOutOfRange {
            value: quoted(cell),
        });
    }
    Ok(Value::DateTime(dt))
}

/// A 15- or 18-character Id, returned as the 18-character form Salesforce's APIs return, so both
/// spellings of one record compare equal. An 18-character Id's suffix must match its first 15
/// characters (the case-safe checksum: each suffix letter encodes which of five characters are
/// upper case).
pub(crate) fn normalise_id(text: &str) -> Option<String> {
    if !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    match text.len() {
        15 => Some(format!("{text}{}", id_suffix(text))),
        18 if text[15..].eq_ignore_ascii_case(&id_suffix(&text[..15])) => {
            Some(format!("{}{}", &text[..15], id_suffix(&text[..15])))
        }
        _ => None,
    }
}

fn id_suffix(id15: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    id15.as_bytes()
        .chunks(5)
        .map(|chunk| {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_uppercase())
                .fold(0usize, |acc, (i, _)| acc | (1 << i));
            char::from(ALPHABET[bits])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::{field, picklist};

    /// A plain reading of `YYYY-MM-DD`, a byte at a time, to check the direct one against.
    fn iso_date_parts_bytewise(bytes: &[u8]) -> Option<(i32, u32, u32)> {
        let date = bytes.get(..10)?;
        let shape = date.iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
        if !shape {
            return None;
        }
        let number = |r: std::ops::Range<usize>| {
            date[r]
                .iter()
                .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'))
        };
        let (year, month, day) = (number(0..4), number(5..7), number(8..10));
        let real = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day).is_some();
        real.then_some((i32::try_from(year).ok()?, month, day))
    }

    /// Random cells (ASCII and two-byte letters, spaces, control bytes, `@`, dots, `#N/A`)
    /// against text-like fields with and without length limits: a cell taken as written is one
    /// `convert_ref` gives back as that text, and every such cell within the limit in bytes is
    /// taken.
    #[test]
    fn a_text_is_taken_as_written_exactly_when_it_converts_to_itself() {
        let pieces = [
            "a", "Z", "é", " ", "\t", "\u{7f}", "@", ".", "..", "#N/A", "x@y.z", ",", "\"",
        ];
        let mut rng = crate::testrng::XorShift::new(0x7e47_a5e1);
        let mut taken = 0;
        for field_type in [
            FieldType::String,
            FieldType::Textarea,
            FieldType::Phone,
            FieldType::Url,
            FieldType::Combobox,
            FieldType::Encryptedstring,
            FieldType::Email,
        ] {
            for length in [0, 1, 4, 8, 12] {
                let mut f = field(field_type);
                f.length = length;
                for _ in 0..4_000 {
                    let raw: String = (0..rng.below(6))
                        .map(|_| pieces[rng.below(pieces.len())])
                        .collect();
                    let cell = trim(&raw);
                    if cell.is_empty() {
                        continue;
                    }
                    let converted = convert_ref(cell, &f, None);
                    let fits = length == 0 || cell.len() <= length as usize;
                    let as_itself = converted == Ok(Converted::Text(cell));
                    assert_eq!(
                        text_as_written(cell, &f),
                        as_itself && fits,
                        "{field_type:?} {length} {cell:?}: {converted:?}"
                    );
                    taken += usize::from(as_itself && fits);
                }
            }
        }
        assert!(taken > 20_000, "{taken}");
        // Types with their own reading are never taken as written.
        for field_type in [
            FieldType::Picklist,
            FieldType::Multipicklist,
            FieldType::Id,
            FieldType::Reference,
            FieldType::Boolean,
            FieldType::Double,
            FieldType::Date,
        ] {
            assert!(
                !text_as_written("abc", &field(field_type)),
                "{field_type:?}"
            );
        }
    }

    #[test]
    fn a_date_is_read_as_a_byte_by_byte_reading_reads_it() {
        // Every byte value at every position of real and impossible dates.
        for base in [
            "2024-02-29",
            "2023-02-28",
            "2023-12-31",
            "0000-01-01",
            "9999-12-31",
            "1900-02-28",
        ] {
            for at in 0..10 {
                for byte in 0..=255u8 {
                    let mut text = base.as_bytes().to_vec();
                    text[at] = byte;
                    assert_eq!(
                        iso_date_parts(&text),
                        iso_date_parts_bytewise(&text),
                        "{text:?}"
                    );
                }
            }
        }
        assert_eq!(iso_date_parts(b"2024-02-2"), None);
    }

    #[test]
    fn a_usual_datetime_is_read_as_the_general_reading_reads_it() {
        // Every byte value at every position of the two spellings read as words (and of a
        // few others), against the general reading of the time.
        let general = |text: &[u8]| {
            let (year, month, day) = iso_date_parts(text)?;
            general_time_of_day(text, year, month, day)
        };
        let mut fast = 0;
        for base in [
            "2024-02-29T23:59:59Z",
            "2024-02-29T23:59:59.999Z",
            "1970-01-01T00:00:00.000Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T10:09:08.070Z",
            "2023-06-15T12:34:56.78Z",
            "2023-06-15T12:34:56+01:00",
            "2023-06-15T12:34Z",
        ] {
            for at in 0..base.len() {
                for byte in 0..=255u8 {
                    let mut text = base.as_bytes().to_vec();
                    text[at] = byte;
                    assert_eq!(iso_datetime_parts(&text), general(&text), "{text:?}");
                    fast += usize::from(utc_time_of_day(&text).is_some());
                }
            }
        }
        assert!(fast > 10_000, "{fast}");
        assert_eq!(
            iso_datetime_parts(b"2024-02-29T23:59:59.999Z"),
            Some((1_709_251_199, 999_000_000))
        );
    }

    #[test]
    fn days_from_civil_counts_every_day_of_years_0_to_9999_as_chrono_does() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
        let mut date = NaiveDate::from_ymd_opt(0, 1, 1).expect("a date");
        let last = NaiveDate::from_ymd_opt(9999, 12, 31).expect("a date");
        loop {
            let days = days_from_civil(date.year(), date.month(), date.day());
            assert_eq!(days, (date - epoch).num_days(), "{date}");
            if date == last {
                break;
            }
            date = date.succ_opt().expect("a next day");
        }
    }

    fn ok(cell: &str, f: &Field) -> Value {
        convert(cell, f, None).unwrap_or_else(|e| panic!("{cell:?}: {e}"))
    }

    fn err(cell: &str, f: &Field) -> ConvertError {
        convert(cell, f, None).expect_err(cell)
    }

    fn num(text: &str) -> Value {
        Value::Number(Decimal::parse(text).unwrap())
    }

    fn utc(text: &str) -> Value {
        Value::DateTime(
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc),
        )
    }

    #[test]
    fn the_fast_datetime_path_agrees_with_chrono() {
        let accepted = [
            "2024-03-23T08:00:00Z",
            "2024-03-23t08:00:00z",
            "2024-03-23 08:00:00",
            "2024-03-23T08:00",
            "2024-03-23T08:00Z",
            "2024-03-23T08:00+02:00",
            "2024-03-23T08:00:59.5",
            "2024-03-23T08:00:00.000+0000",
            "2024-03-23T23:59:59.999999999-09:30",
            "2024-12-31T23:30:00-01:00",
            "1700-01-01T00:00:00+01:00",
            "2024-02-29T12:34:56.1234Z",
        ];
        for text in accepted {
            let fast = fast_iso_datetime(text.as_bytes());
            assert!(fast.is_some(), "{text:?} should take the fast path");
            assert_eq!(fast, chrono_iso_datetime(text), "{text:?}");
        }
        // Spellings the fast path leaves to chrono; whatever chrono says stands.
        let general = [
            "2024-03-23T08:00:60Z",
            "2024-03-23T8:00:00Z",
            "2024-03-23T08:00:00+02",
            "2024-03-23T08:00:00.1234567891Z",
            "2024-03-23T08:00:00.Z",
            "2024-02-30T08:00:00Z",
            "2024-03-23T24:00:00Z",
            "2024-03-23T08:00:00 Z",
        ];
        for text in general {
            assert_eq!(fast_iso_datetime(text.as_bytes()), None, "{text:?}");
            assert_eq!(
                parse_iso_datetime(text),
                chrono_iso_datetime(text),
                "{text:?}"
            );
        }
        assert_eq!(
            parse_iso_date("2024-02-29"),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        assert_eq!(parse_iso_date("2023-02-29"), None);
        assert_eq!(parse_iso_date("2023-00-10"), None);
    }

    #[test]
    fn every_day_of_the_calendar_is_read_as_chrono_reads_it() {
        let day = |y| NaiveDate::from_ymd_opt(y, 1, 1).expect("a date");
        let days = |from: NaiveDate, to: NaiveDate| from.iter_days().take_while(move |d| *d < to);
        // Whole 400-year cycles of leap rules at the ends of the range and around today, every
        // 13th day between.
        let every = days(day(0), day(401))
            .chain(days(day(1900), day(2101)))
            .chain(days(day(9599), NaiveDate::MAX).take_while(|d| d.year() <= 9999))
            .chain(days(day(0), day(9999)).step_by(13));
        let times = ["T00:00:00Z", "T12:34:56.789+01:30", "T23:59:59-11:00"];
        for (i, date) in every.enumerate() {
            let text = date.format("%Y-%m-%d").to_string();
            assert_eq!(parse_iso_date(&text), Some(date), "{text}");
            // A datetime on every 7th day, with offsets that move it to the day before or after.
            if i % 7 == 0 {
                let text = format!("{text}{}", times[i / 7 % times.len()]);
                assert_eq!(
                    fast_iso_datetime(text.as_bytes()),
                    chrono_iso_datetime(&text),
                    "{text}"
                );
            }
        }
        // Days past a month's end, leap years or not.
        for year in [1900, 2000, 2023, 2024, 9999] {
            for month in 0..=13 {
                for day in 27..=32 {
                    let text = format!("{year:04}-{month:02}-{day:02}");
                    let chrono = NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok();
                    assert_eq!(parse_iso_date(&text), chrono, "{text}");
                    let text = format!("{text}T10:00:00Z");
                    assert_eq!(
                        fast_iso_datetime(text.as_bytes()),
                        chrono_iso_datetime(&text),
                        "{text}"
                    );
                }
            }
        }
    }

    #[test]
    fn empty_cells_are_not_converted() {
        let f = field(FieldType::String);
        assert_eq!(err("", &f), ConvertError::Empty);
        assert_eq!(err(" \t ", &f), ConvertError::Empty);
    }

    #[test]
    fn text_is_trimmed_and_counted_in_characters() {
        let mut f = field(FieldType::String);
        f.length = 5;
        assert_eq!(ok("  héllo ", &f), Value::Text("héllo".into()));
        assert_eq!(ok("日本語です", &f), Value::Text("日本語です".into()));
        assert_eq!(
            err("123456", &f),
            ConvertError::TooLong { chars: 6, max: 5 }
        );
        for t in [
            FieldType::Textarea,
            FieldType::Phone,
            FieldType::Url,
            FieldType::Combobox,
            FieldType::Encryptedstring,
        ] {
            let mut f = field(t);
            f.length = 3;
            assert_eq!(ok("abc", &f), Value::Text("abc".into()), "{t:?}");
            assert!(matches!(err("abcd", &f), ConvertError::TooLong { .. }));
        }
        assert_eq!(
            err("#N/A", &field(FieldType::String)),
            ConvertError::BulkNull
        );
        assert_eq!(
            err(" #N/A ", &field(FieldType::Picklist)),
            ConvertError::BulkNull
        );
        assert_eq!(
            err("#N/A", &field(FieldType::Multipicklist)),
            ConvertError::BulkNull
        );
        assert_eq!(
            ok("#N/A!", &field(FieldType::String)),
            Value::Text("#N/A!".into())
        );
        // Formula-like cells are data, sent as text.
        let f = field(FieldType::String);
        assert_eq!(
            ok("=cmd|' /C calc'!A0", &f),
            Value::Text("=cmd|' /C calc'!A0".into())
        );
    }

    #[test]
    fn email_syntax_and_length() {
        let mut f = field(FieldType::Email);
        f.length = 20;
        assert_eq!(
            ok("o'brien@example.com", &f),
            Value::Text("o'brien@example.com".into())
        );
        assert_eq!(ok(" A@b.co ", &f), Value::Text("A@b.co".into()));
        for bad in [
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@.com",
            "a@b.com.",
            "a@b..com",
        ] {
            assert!(
                matches!(err(bad, &f), ConvertError::InvalidEmail { .. }),
                "{bad}"
            );
        }
        assert!(matches!(
            err("averyveryverylong@example.com", &f),
            ConvertError::TooLong { .. }
        ));
    }

    /// Random date and datetime spellings (real and impossible days, years at and beyond
    /// Salesforce's range, offsets that move the UTC day across it, fractions of 0–10 digits,
    /// stray bytes): where the direct readings answer, they pack exactly as the `Value` the
    /// general readers make; and they do answer for the usual spellings.
    #[test]
    fn moments_pack_as_the_values_the_general_readers_make() {
        use crate::sync::packed;
        fn pick<'a>(rng: &mut crate::testrng::XorShift, from: &[&'a str]) -> &'a str {
            from[rng.below(from.len())]
        }
        let packed_value = |v: &Value| {
            let mut out = Vec::new();
            packed::put(Some(v), &mut out);
            out
        };
        // As the general path packs it, and as the readers pack it with the text they read.
        let packed_moment = |m: Moment, text: &str| {
            let mut out = Vec::new();
            packed::put_moment(m, &mut out);
            let mut read_from = Vec::new();
            packed::put_moment_read_from(m, text, &mut read_from);
            assert_eq!(out, read_from, "{text:?}");
            out
        };
        let years = [
            "1699", "1700", "1701", "1969", "1970", "2000", "2024", "2100", "3999", "4000", "4001",
            "0000", "9999", "20x4",
        ];
        let months = ["01", "02", "06", "12", "00", "13", "1"];
        let days = ["01", "28", "29", "30", "31", "32", "00"];
        let separators = ["T", "t", " ", "x", ""];
        let times = ["00:00", "23:59", "12:30", "24:00", "07:60", "7:00"];
        let seconds = ["", ":00", ":59", ":60", ":5"];
        let fractions = [
            "",
            ".",
            ".1",
            ".123",
            ".1239",
            ".123456789",
            ".1234567891",
            ".x",
        ];
        let offsets = [
            "", "Z", "z", "+00:00", "-00:00", "+23:59", "-23:59", "+0530", "-0800", "+24:00",
            "+05", "+05:", " Z", "ZZ",
        ];
        let (date_field, datetime_field) = (field(FieldType::Date), field(FieldType::Datetime));
        let mut rng = crate::testrng::XorShift::new(0xda7e_0fce);
        let (mut fast_dates, mut fast_datetimes) = (0, 0);
        for _ in 0..60_000 {
            let date = format!(
                "{}-{}-{}",
                pick(&mut rng, &years),
                pick(&mut rng, &months),
                pick(&mut rng, &days)
            );
            let datetime = format!(
                "{date}{}{}{}{}{}",
                pick(&mut rng, &separators),
                pick(&mut rng, &times),
                pick(&mut rng, &seconds),
                pick(&mut rng, &fractions),
                pick(&mut rng, &offsets)
            );
            for (text, f) in [(&date, &date_field), (&datetime, &datetime_field)] {
                if let Some(m) = report_moment(text, f.field_type) {
                    let v = convert(text, f, None).unwrap_or_else(|e| panic!("{text:?}: {e}"));
                    assert_eq!(packed_moment(m, text), packed_value(&v), "report {text:?}");
                    if f.field_type == FieldType::Date {
                        fast_dates += 1;
                    } else {
                        fast_datetimes += 1;
                    }
                }
                if let Some(m) = wire_moment(text, f.field_type) {
                    let v =
                        Value::from_bulk_csv(text, f).unwrap_or_else(|e| panic!("{text:?}: {e}"));
                    assert_eq!(packed_moment(m, text), packed_value(&v), "wire {text:?}");
                }
            }
        }
        assert!(
            fast_dates > 5_000 && fast_datetimes > 500,
            "{fast_dates} {fast_datetimes}"
        );
        // The usual spellings take the direct reading.
        for (text, f) in [
            ("2024-02-29", &date_field),
            ("2024-03-23T08:00:00Z", &datetime_field),
            ("2024-03-23T08:00:00.123+02:00", &datetime_field),
            ("2024-03-23 08:00", &datetime_field),
        ] {
            assert!(report_moment(text, f.field_type).is_some(), "{text}");
            assert!(wire_moment(text, f.field_type).is_some(), "{text}");
        }
        // Out of range for a report, yet read from Salesforce; a format is not this reading's.
        assert_eq!(report_moment("1699-12-31", FieldType::Date), None);
        assert_eq!(
            report_moment("1700-01-01T00:30:00+01:00", FieldType::Datetime),
            None
        );
        assert!(wire_moment("1699-12-31", FieldType::Date).is_some());
        assert_eq!(report_moment("2024-03-23", FieldType::String), None);
    }

    /// The byte check against the rule written with `str` methods, on random addresses
    /// of the characters that matter (NBSP, a non-ASCII letter, tab, DEL, NUL, dots, `@`).
    #[test]
    fn email_syntax_is_the_rule_written_with_str_methods() {
        fn rule(cell: &str) -> bool {
            cell.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
                    && !cell.chars().any(|c| c.is_whitespace() || c.is_control())
            })
        }
        let pieces = [
            "a", "b", ".", "@", " ", "\t", "\u{7f}", "\0", "\u{a0}", "é", "\u{2028}", "-", "~",
        ];
        let mut rng = crate::testrng::XorShift::new(0x5eed_e4a1);
        let mut valid = 0;
        for _ in 0..100_000 {
            // An address of plain letters, then up to three pieces put in anywhere.
            let mut cell: Vec<&str> = ["a", "b", "@", "b", ".", "a"]
                .into_iter()
                .filter(|_| rng.below(8) != 0)
                .collect();
            for _ in 0..rng.below(4) {
                let at = rng.below(cell.len() + 1);
                cell.insert(at, pieces[rng.below(pieces.len())]);
            }
            let cell = cell.concat();
            assert_eq!(email_syntax(&cell), rule(&cell), "{cell:?}");
            valid += usize::from(rule(&cell));
        }
        // Both answers are well represented.
        assert!(valid > 1_000, "{valid}");
    }

    #[test]
    fn picklists() {
        let mut f = field(FieldType::Picklist);
        f.picklist_values = picklist(&["Open", "Closed"]);
        f.picklist_values[1].active = false;
        // Unrestricted: anything goes, as written, but a defined value as defined.
        assert_eq!(ok("whatever", &f), Value::Text("whatever".into()));
        assert_eq!(ok("OPEN", &f), Value::Text("Open".into()));
        f.restricted_picklist = true;
        assert_eq!(ok("open", &f), Value::Text("Open".into()));
        assert_eq!(ok("OPEN ", &f), Value::Text("Open".into()));
        let e = err("Closed", &f);
        assert!(matches!(e, ConvertError::NotInPicklist { .. }));
        assert!(e.to_string().contains("\"Open\""), "{e}");
        assert!(matches!(
            err("Pending", &f),
            ConvertError::NotInPicklist { .. }
        ));
        // Letters whose lower case is not one character's own: a word-final capital sigma
        // lowers to `ς`, the Kelvin sign to an ASCII `k`; the first defined value that matches
        // wins.
        f.picklist_values = picklist(&["ΟΔΟΣ", "\u{212a}elvin", "open", "Open"]);
        assert_eq!(ok("οδος", &f), Value::Text("ΟΔΟΣ".into()));
        assert!(matches!(
            err("οδοσ", &f),
            ConvertError::NotInPicklist { .. }
        ));
        assert_eq!(ok("kelvin", &f), Value::Text("\u{212a}elvin".into()));
        assert_eq!(ok("Open", &f), Value::Text("open".into()));
    }

    #[test]
    fn multipicklists() {
        let mut f = field(FieldType::Multipicklist);
        f.picklist_values = picklist(&["Red", "Green", "Blue"]);
        assert_eq!(ok("blue; red;;Red", &f), Value::Text("Red;Blue".into()));
        assert_eq!(ok("Pink;green", &f), Value::Text("Green;Pink".into()));
        f.restricted_picklist = true;
        assert_eq!(ok("GREEN;red", &f), Value::Text("Red;Green".into()));
        assert!(matches!(
            err("Red;Pink", &f),
            ConvertError::NotInPicklist { .. }
        ));
        assert_eq!(err(";;", &f), ConvertError::Empty);
    }

    #[test]
    fn booleans() {
        let f = field(FieldType::Boolean);
        for yes in ["true", "TRUE", "Yes", "y", "Y", "1"] {
            assert_eq!(ok(yes, &f), Value::Bool(true), "{yes}");
        }
        for no in ["false", "False", "NO", "n", "0"] {
            assert_eq!(ok(no, &f), Value::Bool(false), "{no}");
        }
        for bad in ["2", "t", "oui", "-1", "truee"] {
            assert!(
                matches!(err(bad, &f), ConvertError::InvalidBoolean { .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn integers() {
        let mut f = field(FieldType::Int);
        f.digits = 9;
        assert_eq!(ok("3", &f), num("3"));
        assert_eq!(ok("3.0", &f), num("3"));
        assert_eq!(ok("-42", &f), num("-42"));
        assert_eq!(ok("999999999", &f), num("999999999"));
        assert!(matches!(err("3.5", &f), ConvertError::NotAnInteger { .. }));
        assert!(matches!(
            err("1000000000", &f),
            ConvertError::TooManyDigits {
                digits: 10,
                max: 9,
                ..
            }
        ));
        assert!(matches!(
            err("1,000", &f),
            ConvertError::InvalidNumber { .. }
        ));
        assert!(matches!(err("1e3", &f), ConvertError::InvalidNumber { .. }));
        let mut long = field(FieldType::Long);
        long.digits = 18;
        assert_eq!(ok("123456789012345678", &long), num("123456789012345678"));
        assert!(matches!(
            err("1234567890123456789", &long),
            ConvertError::TooManyDigits { .. }
        ));
        // Without `digits` in the describe, Salesforce's defaults apply.
        let bare = field(FieldType::Int);
        assert!(matches!(
            err("1234567890", &bare),
            ConvertError::TooManyDigits { max: 9, .. }
        ));
    }

    #[test]
    fn a_number_as_written_converts_to_itself() {
        // Every number type at tight limits: a cell is taken as written exactly when it
        // converts to the number it spells (so never when it is too long for the field).
        let mut fields = Vec::new();
        for (t, digits, precision, scale) in [
            (FieldType::Int, 0, 0, 0),
            (FieldType::Int, 3, 0, 0),
            (FieldType::Long, 0, 0, 0),
            (FieldType::Long, 5, 0, 0),
            (FieldType::Double, 0, 0, 2),
            (FieldType::Double, 0, 5, 2),
            (FieldType::Currency, 0, 4, 0),
            (FieldType::Percent, 0, 3, 1),
            // A describe may give an integer field a scale: it still takes no fraction.
            (FieldType::Int, 0, 0, 2),
        ] {
            let mut f = field(t);
            (f.digits, f.precision, f.scale) = (digits, precision, scale);
            fields.push(f);
        }
        let mut rng = crate::testrng::XorShift::new(0x51_7cc1_b727_220a);
        let mut taken = 0;
        for _ in 0..40_000 {
            let len = 1 + rng.below(12);
            let cell = String::from_utf8(rng.bytes(b"00123456789.-%", len)).expect("ASCII");
            for f in &fields {
                let converted = match convert_ref(&cell, f, None) {
                    Ok(Converted::Value(Value::Number(d))) => Some(d),
                    _ => None,
                };
                let itself = converted.is_some_and(|d| d.to_string() == cell);
                assert_eq!(number_as_written(&cell, f), itself, "{cell:?} {f:?}");
                taken += usize::from(itself);
            }
        }
        assert!(taken > 5_000, "only {taken} taken as written");
        assert!(!number_as_written("1000", &fields[1]));
        assert!(number_as_written("999", &fields[1]));
        assert!(number_as_written("999.9", &fields[5]));
        assert!(!number_as_written("1000.5", &fields[5]));
        assert!(!number_as_written("0.125", &fields[5]));
    }

    #[test]
    fn decimals_round_half_up_within_precision() {
        for t in [FieldType::Double, FieldType::Currency, FieldType::Percent] {
            let mut f = field(t);
            f.precision = 5;
            f.scale = 2;
            assert_eq!(ok("1.005", &f), num("1.01"), "{t:?}");
            assert_eq!(ok("-1.005", &f), num("-1.01"));
            assert_eq!(ok("1.004", &f), num("1"));
            assert_eq!(ok("999.994", &f), num("999.99"));
            assert_eq!(ok("5", &f), ok("5.00", &f));
            assert!(matches!(
                err("999.995", &f),
                ConvertError::TooManyDigits {
                    digits: 4,
                    max: 3,
                    ..
                }
            ));
            assert!(matches!(
                err("1000", &f),
                ConvertError::TooManyDigits { .. }
            ));
            assert!(matches!(err("1,5", &f), ConvertError::InvalidNumber { .. }));
            assert!(matches!(err("NaN", &f), ConvertError::InvalidNumber { .. }));
        }
        let mut whole = field(FieldType::Double);
        whole.precision = 18;
        whole.scale = 0;
        assert_eq!(ok("2.5", &whole), num("3"));
    }

    #[test]
    fn percent_may_carry_its_sign() {
        let mut f = field(FieldType::Percent);
        f.precision = 5;
        f.scale = 1;
        assert_eq!(ok("12.5%", &f), num("12.5"));
        assert_eq!(ok("12.25 %", &f), num("12.3"));
        assert_eq!(ok("12.5", &f), num("12.5"));
        assert!(matches!(err("%", &f), ConvertError::InvalidNumber { .. }));
        assert!(matches!(
            err("12%%", &f),
            ConvertError::InvalidNumber { .. }
        ));
        let mut d = field(FieldType::Double);
        d.precision = 5;
        assert!(matches!(err("12%", &d), ConvertError::InvalidNumber { .. }));
    }

    #[test]
    fn dates() {
        let f = field(FieldType::Date);
        let march = Value::Date(NaiveDate::from_ymd_opt(2024, 3, 23).unwrap());
        assert_eq!(ok("2024-03-23", &f), march);
        for bad in [
            "2024-3-23",
            "23/03/2024",
            "2024-02-30",
            "2024-03-23T08:00:00Z",
            "soon",
        ] {
            assert!(
                matches!(err(bad, &f), ConvertError::InvalidDate { .. }),
                "{bad}"
            );
        }
        assert_eq!(convert("23/03/2024", &f, Some("%d/%m/%Y")).unwrap(), march);
        assert_eq!(
            convert("Mar 23, 2024", &f, Some("%b %d, %Y")).unwrap(),
            march
        );
        let e = convert("2024-03-23", &f, Some("%d/%m/%Y")).unwrap_err();
        assert!(e.to_string().contains("%d/%m/%Y"), "{e}");
        assert!(matches!(
            err("1699-12-31", &f),
            ConvertError::DateOutOfRange { .. }
        ));
        assert!(matches!(
            err("4001-01-01", &f),
            ConvertError::DateOutOfRange { .. }
        ));
    }

    #[test]
    fn datetimes() {
        let f = field(FieldType::Datetime);
        let eight = utc("2024-03-23T08:00:00Z");
        for same in [
            "2024-03-23T08:00:00Z",
            "2024-03-23T08:00:00z",
            "2024-03-23 08:00:00",
            "2024-03-23T08:00",
            "2024-03-23T08:00:00.000+0000",
            "2024-03-23T09:00:00+01:00",
            "2024-03-23T09:00:00+0100",
            "2024-03-23t03:00:00.0000-05:00",
            "2024-03-23 08:00:00.000Z",
            "  2024-03-23T08:00:00Z ",
        ] {
            assert_eq!(ok(same, &f), eight, "{same}");
        }
        // Stored to the millisecond: finer digits are cut, not rounded.
        assert_eq!(
            ok("2024-03-23T08:00:00.123999Z", &f),
            utc("2024-03-23T08:00:00.123Z")
        );
        for bad in [
            "2024-03-23",
            "2024-03-23T25:00:00Z",
            "08:00",
            "2024-03-23T08:00:00+25:00",
            "20240323T080000Z",
        ] {
            assert!(
                matches!(err(bad, &f), ConvertError::InvalidDateTime { .. }),
                "{bad}"
            );
        }
        assert!(err("2024-03-23", &f).to_string().contains("%Y-%m-%d"));
        assert!(matches!(
            err("1600-01-01T00:00:00Z", &f),
            ConvertError::DateOutOfRange { .. }
        ));
    }

    #[test]
    fn datetimes_with_a_format() {
        let f = field(FieldType::Datetime);
        assert_eq!(
            convert("23/03/2024 08:00", &f, Some("%d/%m/%Y %H:%M")).unwrap(),
            utc("2024-03-23T08:00:00Z")
        );
        assert_eq!(
            convert("23/03/2024 10:00 +0200", &f, Some("%d/%m/%Y %H:%M %z")).unwrap(),
            utc("2024-03-23T08:00:00Z")
        );
        assert_eq!(
            convert("03/23/2024", &f, Some("%m/%d/%Y")).unwrap(),
            utc("2024-03-23T00:00:00Z")
        );
        assert!(matches!(
            convert("2024-03-23T08:00:00Z", &f, Some("%m/%d/%Y")),
            Err(ConvertError::InvalidDateTime { .. })
        ));
    }

    #[test]
    fn checks_formats_for_validate() {
        for good in ["%d/%m/%Y", "%m/%d/%Y", "%b %d, %Y", "%Y-%m-%d"] {
            assert_eq!(check_format(good, FieldType::Date), Ok(()), "{good}");
            assert_eq!(check_format(good, FieldType::Datetime), Ok(()), "{good}");
        }
        for good in [
            "%d/%m/%Y %H:%M",
            "%d.%m.%Y %H:%M:%S %z",
            "%Y-%m-%dT%H:%M:%S%.3fZ",
        ] {
            assert_eq!(check_format(good, FieldType::Datetime), Ok(()), "{good}");
        }
        for bad in ["%d/%m", "%Q", "%", "hello", "%H:%M", "%m/%Y"] {
            assert!(check_format(bad, FieldType::Date).is_err(), "{bad}");
            assert!(check_format(bad, FieldType::Datetime).is_err(), "{bad}");
        }
        let e = check_format("%d/%m", FieldType::Date).unwrap_err();
        assert!(e.contains("\"23/11\""), "{e}");
        assert!(check_format("%Y-%m-%d", FieldType::String).is_err());
    }

    #[test]
    fn ids() {
        let f = field(FieldType::Id);
        let full = Value::Text("001000000000001AAA".into());
        assert_eq!(ok("001000000000001", &f), full);
        assert_eq!(ok("001000000000001AAA", &f), full);
        assert_eq!(ok("001000000000001aaa", &f), full);
        // Upper-case letters set bits per chunk of five: `00Q5e` → Q at 2 → 4 → `E`;
        // `00000` → `A`; `AbCdE` → 1 + 4 + 16 = 21 → `V`.
        assert_eq!(
            normalise_id("00Q5e00000AbCdE").as_deref(),
            Some("00Q5e00000AbCdEEAV")
        );
        for bad in [
            "001",
            "001000000000001AAB",
            "00100000000000!",
            "001000000000001AAAA",
        ] {
            assert!(
                matches!(err(bad, &f), ConvertError::InvalidId { .. }),
                "{bad}"
            );
        }
        assert_eq!(ok("001000000000001", &field(FieldType::Reference)), full);
    }

    #[test]
    fn unsupported_targets_say_so() {
        for t in [
            FieldType::Base64,
            FieldType::Location,
            FieldType::Address,
            FieldType::AnyType,
            FieldType::Complexvalue,
            FieldType::Time,
            FieldType::Datacategorygroupreference,
            FieldType::Other,
        ] {
            let e = err("x", &field(t));
            assert_eq!(e, ConvertError::UnsupportedType(t));
            assert!(e.to_string().contains(t.as_str()));
        }
    }

    #[test]
    fn long_cells_are_quoted_short_in_messages() {
        let f = field(FieldType::Boolean);
        let message = err(&"x".repeat(10_000), &f).to_string();
        assert!(message.len() < 200, "{message}");
    }
}
