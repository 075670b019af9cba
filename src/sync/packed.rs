//! A compact byte encoding of field values, so a million report rows and their planned changes
//! fit in one buffer each instead of a `Vec<Option<Value>>` per row (a `Value` is 48 bytes; a
//! number packs into 2 bytes more than its text, a date into 12, a datetime into 7–12; issue 6).
//!
//! The encoding is canonical: two values are `==` exactly when their encodings are the same
//! bytes, so the diff compares bytes without building the record's values. A number and a date
//! are held as their `Display` text (one text per value: a `Decimal` is normalised), which the
//! Bulk upload and `changes.csv` copy as it is, and which is usually the report's or
//! Salesforce's own spelling, taken without writing the value again; a datetime is its seconds
//! and nanoseconds.

use chrono::{DateTime, NaiveDate};

use crate::report::convert::{Moment, wire_moment};
use crate::report::value::Rendered;
use crate::report::{Decimal, Value};

/// `None`: the row leaves the field alone (an empty cell under `empty_cells = "skip"`).
pub const LEAVE: u8 = 0;
const NULL: u8 = 1;
const FALSE: u8 = 2;
const TRUE: u8 = 3;
const NUMBER: u8 = 4;
const DATE: u8 = 5;
const DATETIME: u8 = 6;
const TEXT: u8 = 7;
/// In a planned record's old values: this field does not change.
pub const SAME: u8 = 8;

/// Append `value`'s encoding.
pub fn put(value: Option<&Value>, out: &mut Vec<u8>) {
    let Some(value) = value else {
        out.push(LEAVE);
        return;
    };
    match value {
        Value::Null => out.push(NULL),
        Value::Bool(false) => out.push(FALSE),
        Value::Bool(true) => out.push(TRUE),
        Value::Number(_) => put_display(NUMBER, value, out),
        Value::Date(_) => put_display(DATE, value, out),
        Value::DateTime(at) => put_moment(
            Moment::DateTime(at.timestamp(), at.timestamp_subsec_nanos()),
            out,
        ),
        Value::Text(text) => put_text(text, out),
    }
}

/// Append an item of `tag` holding `text` (a text, a number's or a date's).
#[inline]
fn put_tagged(tag: u8, text: &[u8], out: &mut Vec<u8>) {
    match u8::try_from(text.len()) {
        // The usual short text: its length is one byte of varint, written with the tag.
        Ok(len) if len < 0x80 => {
            out.extend_from_slice(&[tag, len]);
            out.extend_from_slice(text);
        }
        _ => put_long_tagged(tag, text, out),
    }
}

/// [`put_tagged`] for a text of 128 bytes or more, kept out of line.
#[inline(never)]
fn put_long_tagged(tag: u8, text: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    put_varint(text.len() as u128, out);
    out.extend_from_slice(text);
}

/// Append an item of `tag` holding `value`'s `Display` text (a number's or a date's), written
/// digit by digit where [`Value`] can.
fn put_display(tag: u8, value: &Value, out: &mut Vec<u8>) {
    let mut rendered = Rendered::default();
    match value.render(&mut rendered) {
        Some(text) => put_tagged(tag, text.as_bytes(), out),
        None => put_tagged(tag, value.to_string().as_bytes(), out),
    }
}

/// Append the encoding of `Value::Number(d)` for `d` read from `text` (parsed, then at most
/// rounded): `text` itself when it is `d`'s `Display` text, which is then not written again.
pub fn put_number_read_from(d: Decimal, text: &str, out: &mut Vec<u8>) {
    if displays_as(d, text.as_bytes()) {
        put_number_text(text, out);
    } else {
        put_display(NUMBER, &Value::Number(d), out);
    }
}

/// Append the encoding of the number whose `Display` text is `text` (checked by the caller).
pub fn put_number_text(text: &str, out: &mut Vec<u8>) {
    put_tagged(NUMBER, text.as_bytes(), out);
}

/// Whether `d`, read from `text` (parsed, then at most rounded), shows as `text`: reading and
/// rounding only ever drop digits, so it does when `text` is a `Display` text with no more
/// fraction digits than `d` kept. The number itself is not compared: it was read from this text.
fn displays_as(d: Decimal, text: &[u8]) -> bool {
    Decimal::is_display_text(text, d.scale(), u32::MAX)
}

/// Append the encoding of a date or datetime read as its numbers (the same bytes as its `Value`).
pub fn put_moment(moment: Moment, out: &mut Vec<u8>) {
    match moment {
        // The readers give only real days; null for any other, as for a date nothing can hold.
        Moment::Date(days) => match NaiveDate::from_num_days_from_ce_opt(days) {
            Some(date) => put_display(DATE, &Value::Date(date), out),
            None => out.push(NULL),
        },
        Moment::DateTime(secs, nanos) => {
            // The tag and both varints made on the stack and appended at once, in 64-bit
            // arithmetic (an `i64`'s zigzag fits a `u64`): every datetime cell of both sides
            // is packed here (issue 6).
            let mut item = [0u8; 1 + 10 + 5];
            item[0] = DATETIME;
            #[allow(clippy::cast_sign_loss)] // the zigzag mapping is a bit pattern
            let secs = ((secs << 1) ^ (secs >> 63)) as u64;
            let n = 1 + write_varint64(secs, &mut item[1..]);
            let n = n + write_varint64(u64::from(nanos), &mut item[n..]);
            out.extend_from_slice(&item[..n]);
        }
    }
}

/// [`put_moment`] for a moment read from `text` by [`crate::report::convert::report_moment`] or
/// [`wire_moment`]: a date's text is its `Display` text (they read dates only as `YYYY-MM-DD`,
/// years 0000–9999), so it goes in as it is.
pub fn put_moment_read_from(moment: Moment, text: &str, out: &mut Vec<u8>) {
    match moment {
        Moment::Date(_) if text.len() == 10 => put_tagged(DATE, text.as_bytes(), out),
        _ => put_moment(moment, out),
    }
}

/// Append the encoding of `Value::Text(text)`.
pub fn put_text(text: &str, out: &mut Vec<u8>) {
    put_tagged(TEXT, text.as_bytes(), out);
}

/// Append the encoding of a Bulk query cell of `field` (what [`Value::from_bulk_csv`] reads,
/// null when it cannot be read): the usual text, number, checkbox, date or datetime goes in
/// without a `Value` (a scan packs every field of every record; issue 6).
pub fn put_bulk_cell(cell: &str, field: &crate::salesforce::describe::Field, out: &mut Vec<u8>) {
    use crate::report::convert::{is_number_type, number_scale};
    use crate::salesforce::describe::FieldType;
    if !cell.is_empty() {
        if Value::wire_is_text(field) {
            put_text(cell, out);
            return;
        }
        match field.field_type {
            FieldType::Boolean if cell == "true" => return out.push(TRUE),
            FieldType::Boolean if cell == "false" => return out.push(FALSE),
            FieldType::Date | FieldType::Datetime => {
                if let Some(moment) = wire_moment(cell, field.field_type) {
                    return put_moment_read_from(moment, cell, out);
                }
            }
            t if is_number_type(t) => {
                let scale = number_scale(field);
                if Decimal::is_display_text(cell.as_bytes(), scale, u32::MAX) {
                    return put_number_text(cell, out);
                }
                if let Ok(d) = Decimal::parse_wire(cell) {
                    return put_number_read_from(d.round_half_up(scale), cell, out);
                }
            }
            _ => {}
        }
    }
    put(
        Some(&Value::from_bulk_csv(cell, field).unwrap_or(Value::Null)),
        out,
    );
}

/// Whether two items are the same bytes: the usual item (a number, a date, a datetime, a short
/// text) is compared in line as two words that overlap in the middle, without a call to
/// `memcmp` nor a step per byte (the diff compares every field of every matched record; issue
/// 6).
#[must_use]
#[inline]
pub fn same_item(a: &[u8], b: &[u8]) -> bool {
    use crate::swar::load;
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0..4 => a.iter().zip(b).all(|(x, y)| x == y),
        4..8 => {
            let word =
                |s: &[u8], at: usize| u32::from_le_bytes([s[at], s[at + 1], s[at + 2], s[at + 3]]);
            word(a, 0) == word(b, 0) && word(a, n - 4) == word(b, n - 4)
        }
        8..=16 => load(a) == load(b) && load(&a[n - 8..]) == load(&b[n - 8..]),
        _ => a == b,
    }
}

/// The length of the first encoded item of `bytes`.
#[must_use]
#[allow(clippy::inline_always)] // measured: left to itself the compiler calls it (issue 6)
#[inline(always)]
pub fn item_len(bytes: &[u8]) -> usize {
    // The usual items, measured in line: a short text, number or date (a one-byte length),
    // and the items that are a tag alone.
    match bytes {
        [TEXT | NUMBER | DATE, len @ 0..0x80, rest @ ..] => 2 + usize::from(*len).min(rest.len()),
        [LEAVE | NULL | FALSE | TRUE | SAME, ..] => 1,
        _ => other_item_len(bytes),
    }
}

/// [`item_len`] of every other item.
#[inline(never)]
fn other_item_len(bytes: &[u8]) -> usize {
    let Some(&tag) = bytes.first() else {
        return 0;
    };
    let rest = &bytes[1..];
    // A varint ends at its first byte without the high bit.
    let varint = |b: &[u8]| {
        b.iter()
            .position(|x| x & 0x80 == 0)
            .map_or(b.len(), |p| p + 1)
    };
    1 + match tag {
        DATETIME => {
            let a = varint(rest);
            a + varint(&rest[a..])
        }
        TEXT | NUMBER | DATE => {
            let (len, n) = get_varint(rest);
            n + usize::try_from(len)
                .unwrap_or(usize::MAX)
                .min(rest.len() - n)
        }
        _ => 0,
    }
}

/// The encoded items of `bytes`, one slice each.
#[must_use]
pub fn items(bytes: &[u8]) -> Items<'_> {
    Items { bytes }
}

/// The iterator of [`items`]: its `next` is inlined where items are walked (the diff and the
/// write phase walk every field of every record; issue 6).
pub struct Items<'a> {
    bytes: &'a [u8],
}

impl<'a> Iterator for Items<'a> {
    type Item = &'a [u8];

    #[allow(clippy::inline_always)] // measured: left to itself the compiler calls it (issue 6)
    #[inline(always)]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.bytes.is_empty() {
            return None;
        }
        let (item, rest) = self.bytes.split_at(item_len(self.bytes));
        self.bytes = rest;
        Some(item)
    }
}

/// Decode one item ([`LEAVE`] and [`SAME`] are `None`).
#[must_use]
pub fn get(item: &[u8]) -> Option<Value> {
    let (&tag, rest) = item.split_first()?;
    Some(match tag {
        NULL => Value::Null,
        FALSE => Value::Bool(false),
        TRUE => Value::Bool(true),
        NUMBER => {
            Value::Number(Decimal::parse(std::str::from_utf8(tagged_text(rest)?).ok()?).ok()?)
        }
        DATE => Value::Date(std::str::from_utf8(tagged_text(rest)?).ok()?.parse().ok()?),
        DATETIME => {
            let (secs, n) = get_varint(rest);
            let (nanos, _) = get_varint(&rest[n..]);
            let secs = i64::try_from(unzigzag(secs)).ok()?;
            Value::DateTime(DateTime::from_timestamp(secs, u32::try_from(nanos).ok()?)?)
        }
        TEXT => Value::Text(String::from_utf8_lossy(tagged_text(rest)?).into_owned()),
        _ => return None,
    })
}

/// The text of a text, number or date item (after its tag).
#[inline]
fn tagged_text(rest: &[u8]) -> Option<&[u8]> {
    let (len, n) = get_varint(rest);
    rest.get(n..n.checked_add(usize::try_from(len).ok()?)?)
}

/// Append an item as one CSV cell of its `Display` text (quoted where it must be; empty for
/// null, [`LEAVE`] and [`SAME`]), written from the bytes without building a [`Value`]: every
/// planned value goes through here for the Bulk upload and `changes.csv` (issue 6).
#[inline]
pub fn push_cell(item: &[u8], out: &mut Vec<u8>) {
    // The usual item, a text, number or date shorter than 128 bytes (a one-byte length), in
    // line: the general writer's stack frame costs more than copying a short cell. A longer
    // length's first byte (128 + its low seven bits) never equals what follows it in a whole
    // item.
    if let [tag @ (TEXT | NUMBER | DATE), len, text @ ..] = item
        && usize::from(*len) == text.len()
    {
        if *tag == TEXT {
            crate::csvtext::push_cell_bytes(out, text);
        } else {
            // Digits, signs, dashes and a point: never quoted.
            out.extend_from_slice(text);
        }
        return;
    }
    push_other_cell(item, out);
}

/// [`push_cell`] for every other item.
fn push_other_cell(item: &[u8], out: &mut Vec<u8>) {
    let Some((&tag, rest)) = item.split_first() else {
        return;
    };
    match tag {
        TEXT => crate::csvtext::push_cell_bytes(out, tagged_text(rest).unwrap_or_default()),
        FALSE => out.extend_from_slice(b"false"),
        TRUE => out.extend_from_slice(b"true"),
        // Digits, signs, dashes and a point: never quoted.
        NUMBER | DATE => out.extend_from_slice(tagged_text(rest).unwrap_or_default()),
        DATETIME => {
            let mut rendered = Rendered::default();
            if render_datetime(rest, &mut rendered) {
                // Digits, dashes, colons and dots: never quoted.
                out.extend_from_slice(rendered.bytes());
            } else if let Some(value) = get(item) {
                let mut text = String::new();
                value.write_text(&mut text);
                crate::csvtext::push_cell(out, &text);
            }
        }
        // LEAVE, NULL, SAME: nothing.
        _ => {}
    }
}

/// Write a datetime item's text (after its tag) digit by digit; false when it is out of
/// [`Rendered`]'s range.
fn render_datetime(rest: &[u8], rendered: &mut Rendered) -> bool {
    // The usual datetime, its seconds in five bytes (years 1426–2514), in 64-bit arithmetic.
    if let [a, b, c, d, e @ 0..0x80, ref nanos @ ..] = *rest
        && a & b & c & d & 0x80 != 0
    {
        let zigzag = u64::from(a & 0x7f)
            | u64::from(b & 0x7f) << 7
            | u64::from(c & 0x7f) << 14
            | u64::from(d & 0x7f) << 21
            | u64::from(e) << 28;
        #[allow(clippy::cast_possible_wrap)] // 35 bits
        let secs = (zigzag >> 1) as i64 ^ -((zigzag & 1) as i64);
        let (nanos, _) = get_varint(nanos);
        return u32::try_from(nanos).is_ok_and(|nanos| rendered.datetime(secs, nanos));
    }
    let (secs, n) = get_varint(rest);
    let (nanos, _) = get_varint(&rest[n..]);
    match (i64::try_from(unzigzag(secs)), u32::try_from(nanos)) {
        (Ok(secs), Ok(nanos)) => rendered.datetime(secs, nanos),
        _ => false,
    }
}

fn unzigzag(v: u128) -> i128 {
    #[allow(clippy::cast_possible_wrap)] // the zigzag mapping is a bit pattern
    let v = ((v >> 1) as i128) ^ -((v & 1) as i128);
    v
}

fn put_varint(mut v: u128, out: &mut Vec<u8>) {
    // 128-bit shifts only while the value needs more than 64 bits.
    while v > u128::from(u64::MAX) {
        #[allow(clippy::cast_possible_truncation)] // the low seven bits
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    let mut rest = [0u8; 10];
    let n = write_varint64(u64::try_from(v).unwrap_or(u64::MAX), &mut rest);
    out.extend_from_slice(&rest[..n]);
}

/// Write `v` as a varint at the start of `out` (room for ten bytes); the bytes written.
fn write_varint64(mut v: u64, out: &mut [u8]) -> usize {
    let mut n = 0;
    while v >= 0x80 {
        #[allow(clippy::cast_possible_truncation)] // the low seven bits
        let low = v as u8;
        out[n] = low | 0x80;
        v >>= 7;
        n += 1;
    }
    #[allow(clippy::cast_possible_truncation)] // below 0x80
    let last = v as u8;
    out[n] = last;
    n + 1
}

/// The value and the bytes it took; a truncated varint reads as far as it goes.
#[inline]
fn get_varint(bytes: &[u8]) -> (u128, usize) {
    // One byte: a length, a scale, no nanoseconds.
    if let Some(&b) = bytes.first()
        && b < 0x80
    {
        return (u128::from(b), 1);
    }
    // The usual value (a length, a day, seconds) fits in 63 bits: 64-bit arithmetic first.
    let mut small = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(9) {
        small |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (u128::from(small), i + 1);
        }
    }
    let mut v = 0u128;
    for (i, &b) in bytes.iter().enumerate().take(19) {
        v |= u128::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (v, i + 1);
        }
    }
    (v, bytes.len().min(19))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike as _;

    /// The zigzag mapping of a 128-bit value, as `put_moment` makes it of an `i64`.
    fn zigzag(v: i128) -> u128 {
        #[allow(clippy::cast_sign_loss)] // the zigzag mapping is a bit pattern
        let v = ((v << 1) ^ (v >> 127)) as u128;
        v
    }

    fn values() -> Vec<Option<Value>> {
        let at = |s: &str| {
            Value::DateTime(
                DateTime::parse_from_rfc3339(s)
                    .expect("datetime")
                    .with_timezone(&chrono::Utc),
            )
        };
        vec![
            None,
            Some(Value::Null),
            Some(Value::Bool(false)),
            Some(Value::Bool(true)),
            Some(Value::Number(Decimal::ZERO)),
            Some(Value::Number(Decimal::parse("-12.50").expect("number"))),
            Some(Value::Number(
                Decimal::parse("123456789012345678.123456789012345678").expect("number"),
            )),
            Some(Value::Number(Decimal::from_i64(i64::MIN))),
            // 38 digits: past what `Rendered` writes (its mantissa is 64 bits).
            Some(Value::Number(
                Decimal::parse("-99999999999999999999999999999999999999").expect("number"),
            )),
            Some(Value::Number(
                Decimal::parse("0.00000000000000000000000000000000000001").expect("number"),
            )),
            Some(Value::Date(
                NaiveDate::from_ymd_opt(2026, 2, 28).expect("date"),
            )),
            Some(Value::Date(
                NaiveDate::from_ymd_opt(-40, 1, 1).expect("date"),
            )),
            Some(at("2026-12-01T10:11:12.345Z")),
            Some(at("1901-01-01T00:00:00Z")),
            // Datetimes whose first varint could pass for a short text's length.
            Some(at("1969-12-31T23:59:57.999Z")),
            Some(at("1970-01-01T00:00:01.5Z")),
            Some(Value::Text(String::new())),
            // Items of up to 16 bytes and just past, one byte apart (compared in line).
            Some(Value::Text("alpha 1".into())),
            Some(Value::Text("alpha 2".into())),
            Some(Value::Text("fourteen bytes".into())),
            Some(Value::Text("fourteen bytez".into())),
            Some(Value::Text("fifteen bytes..".into())),
            Some(Value::Text("fifteen bytes.,".into())),
            Some(Value::Text("ünïcode, \"quotes\"\nand lines".repeat(20))),
            // Lengths around the one-byte length's end (written in line below 128).
            Some(Value::Text("x".repeat(127))),
            Some(Value::Text(",".repeat(127))),
            Some(Value::Text("x".repeat(128))),
            Some(Value::Text(format!("{},", "x".repeat(128)))),
        ]
    }

    #[test]
    fn every_value_round_trips_and_items_split_where_they_end() {
        let values = values();
        let mut buf = Vec::new();
        for v in &values {
            put(v.as_ref(), &mut buf);
        }
        let decoded: Vec<Option<Value>> = items(&buf).map(get).collect();
        assert_eq!(decoded, values);
        for (item, value) in items(&buf).zip(&values) {
            let text = value.as_ref().map(ToString::to_string).unwrap_or_default();
            let mut cell = Vec::new();
            push_cell(item, &mut cell);
            let mut expected = Vec::new();
            crate::csvtext::push_cell(&mut expected, &text);
            assert_eq!(cell, expected, "{value:?}");
        }
    }

    #[test]
    fn a_datetime_packs_as_its_two_varints_and_is_written_as_its_value_shows_it() {
        // Seconds and nanoseconds of every bit length (so of every varint length, in every
        // pairing), before and after 1970, and around the ends of years 0–9999.
        let mut rng = crate::testrng::XorShift::new(0xd47e_7153);
        let bits = |rng: &mut crate::testrng::XorShift, max: usize| {
            let len = rng.below(max + 1);
            rng.next() & ((1u64 << len) - 1) | u64::from(len > 0) << len.saturating_sub(1)
        };
        let edges = [-62_167_219_200_i64, 253_402_300_799];
        for i in 0..200_000 {
            let secs = if i % 10 == 0 {
                edges[rng.below(2)] + i64::try_from(rng.below(5)).expect("small") - 2
            } else {
                let magnitude = i64::try_from(bits(&mut rng, 40)).expect("40 bits");
                if rng.below(2) == 0 {
                    magnitude
                } else {
                    -magnitude
                }
            };
            let nanos = u32::try_from(bits(&mut rng, 30)).expect("30 bits");
            let Some(at) = DateTime::from_timestamp(secs, nanos) else {
                continue;
            };
            let value = Value::DateTime(at);
            let mut item = Vec::new();
            put(Some(&value), &mut item);
            let mut expected = vec![DATETIME];
            put_varint(zigzag(i128::from(secs)), &mut expected);
            put_varint(u128::from(nanos), &mut expected);
            assert_eq!(item, expected, "{secs} {nanos}");
            let mut cell = Vec::new();
            push_cell(&item, &mut cell);
            let mut expected = Vec::new();
            crate::csvtext::push_cell(&mut expected, &value.to_string());
            assert_eq!(cell, expected, "{secs} {nanos}");
        }
    }

    #[test]
    fn a_cut_short_buffer_splits_into_what_it_holds() {
        // Every value's item cut at every length: the items never reach past the end, and
        // together they are the buffer.
        for v in values() {
            let mut item = Vec::new();
            put(v.as_ref(), &mut item);
            for cut in 0..=item.len() {
                let parts: Vec<&[u8]> = items(&item[..cut]).collect();
                assert_eq!(parts.concat(), &item[..cut], "{v:?} {cut}");
            }
        }
    }

    #[test]
    fn a_text_item_is_its_tag_its_length_and_its_bytes() {
        for len in [0, 1, 127, 128, 300, 16_384] {
            let text = "x".repeat(len);
            let mut item = Vec::new();
            put_text(&text, &mut item);
            let mut expected = vec![TEXT];
            put_varint(len as u128, &mut expected);
            expected.extend_from_slice(text.as_bytes());
            assert_eq!(item, expected, "{len}");
            let low = u8::try_from(len % 128).expect("seven bits");
            assert_eq!(item[1], if len < 128 { low } else { 0x80 | low });
        }
    }

    #[test]
    fn varints_round_trip_on_both_sides_of_64_bits() {
        let mut values: Vec<u128> = (0..128).map(|b| 1u128 << b).collect();
        values.extend((1..128).map(|b| (1u128 << b) - 1));
        values.extend([0, u128::MAX]);
        for v in values {
            let mut buf = Vec::new();
            put_varint(v, &mut buf);
            buf.push(0xff);
            assert_eq!(get_varint(&buf), (v, buf.len() - 1), "{v}");
        }
    }

    #[test]
    fn a_bulk_cell_packs_as_its_value_does() {
        use crate::salesforce::describe::FieldType;
        let types = [
            FieldType::String,
            FieldType::Email,
            FieldType::Textarea,
            FieldType::Picklist,
            FieldType::Multipicklist,
            FieldType::Boolean,
            FieldType::Double,
            FieldType::Currency,
            FieldType::Date,
            FieldType::Datetime,
            FieldType::Id,
        ];
        let cells = [
            "",
            "a@b.example",
            "Gold;Silver",
            "true",
            "12.50",
            "2026-11-30",
            "2026-11-30T10:00:00.000Z",
            "00Q5e00000AbCdEAAA",
            " spaced ",
        ];
        let same = |cell: &str, field: &crate::salesforce::describe::Field| {
            let mut direct = Vec::new();
            put_bulk_cell(cell, field, &mut direct);
            let mut via_value = Vec::new();
            let value = Value::from_bulk_csv(cell, field).unwrap_or(Value::Null);
            put(Some(&value), &mut via_value);
            assert_eq!(direct, via_value, "{:?} {cell:?}", field.field_type);
        };
        for t in types {
            let field = crate::report::test_support::field(t);
            for cell in cells {
                same(cell, &field);
            }
        }
        // Numbers and checkboxes in many spellings, for number fields of several scales
        // (rounded as the describe says): the direct reading and the `Value`'s agree.
        let mut numeric = number_fields();
        numeric.push(crate::report::test_support::field(FieldType::Boolean));
        let mut rng = crate::testrng::XorShift::new(0x5eed_b01c);
        let fixed = [
            "0",
            "-0",
            "-0.0",
            "1.005",
            "-1.005",
            "2.5",
            "1e3",
            "1E-3",
            // An exponent: the fraction's length alone would match the number's scale.
            "1.5e-3",
            "2.25E-2",
            "-7.5e-1",
            "1.5e+2",
            "+7",
            ".5",
            "5.",
            "-",
            ".",
            "1e",
            "e1",
            "TRUE",
            "False",
            "yes",
            "true ",
            "99999999999999999999.5",
            "123456789012345678901234567890123456789",
        ];
        for field in &numeric {
            for cell in fixed {
                same(cell, field);
            }
            for _ in 0..20_000 {
                let len = 1 + rng.below(24);
                let cell = rng.bytes(b"0123456789012345678901234567890.-+eE x", len);
                same(std::str::from_utf8(&cell).expect("ASCII"), field);
            }
        }
    }

    /// Number fields of each kind, at several scales (18 digits of precision).
    fn number_fields() -> Vec<crate::salesforce::describe::Field> {
        use crate::salesforce::describe::FieldType;
        [
            (FieldType::Double, 0),
            (FieldType::Double, 3),
            (FieldType::Currency, 2),
            (FieldType::Percent, 2),
            (FieldType::Percent, 4),
            (FieldType::Int, 0),
        ]
        .into_iter()
        .map(|(t, scale)| {
            let mut field = crate::report::test_support::field(t);
            (field.precision, field.scale) = (18, scale);
            field
        })
        .collect()
    }

    /// A report's number cell packs as the number it converts to, whether its text is taken as
    /// it is or the number written again: random spellings for number fields of several kinds
    /// and scales.
    #[test]
    fn a_report_number_packs_as_its_value_does() {
        let fields = number_fields();
        let mut rng = crate::testrng::XorShift::new(0x0dd_5ca1e);
        let mut as_written = 0;
        for _ in 0..40_000 {
            let len = 1 + rng.below(12);
            let cell = String::from_utf8(rng.bytes(b"0001234567890.-+%", len)).expect("ASCII");
            for field in &fields {
                let Ok(Value::Number(d)) = crate::report::convert::convert(&cell, field, None)
                else {
                    continue;
                };
                let mut read_from = Vec::new();
                put_number_read_from(d, &cell, &mut read_from);
                let mut via_value = Vec::new();
                put(Some(&Value::Number(d)), &mut via_value);
                assert_eq!(read_from, via_value, "{:?} {cell:?}", field.field_type);
                as_written += usize::from(displays_as(d, cell.as_bytes()));
            }
        }
        assert!(as_written > 1_000, "only {as_written} taken as written");
    }

    #[test]
    fn a_spelling_is_taken_as_written_only_when_it_is_the_display_text() {
        let shows =
            |text: &str| displays_as(Decimal::parse(text).expect("number"), text.as_bytes());
        for text in ["0", "7", "-7", "10", "0.5", "-0.5", "12.25", "100.001"] {
            assert!(shows(text), "{text}");
        }
        for text in [
            "-0", "-0.0", "00", "007", "0.50", "1.", ".5", "+1", "1.0", "-",
        ] {
            assert!(Decimal::parse(text).is_err() || !shows(text), "{text}");
        }
        // Rounded to fewer digits: the text is not the number's.
        let rounded = Decimal::parse("1.25").expect("number").round_half_up(1);
        assert!(!displays_as(rounded, b"1.25"));
        assert!(!displays_as(Decimal::parse("12").expect("number"), b"12%"));
        // A date's text is taken only in the 10-byte form its readers accept.
        let day = crate::report::convert::Moment::Date(
            NaiveDate::from_ymd_opt(2026, 3, 5)
                .expect("date")
                .num_days_from_ce(),
        );
        for text in ["2026-03-05", "2026-3-5"] {
            let mut read_from = Vec::new();
            put_moment_read_from(day, text, &mut read_from);
            let mut rendered = Vec::new();
            put_moment(day, &mut rendered);
            assert_eq!(read_from, rendered, "{text}");
        }
    }

    #[test]
    fn equal_values_have_equal_bytes_and_different_ones_do_not() {
        let values = values();
        let enc = |v: Option<&Value>| {
            let mut b = Vec::new();
            put(v, &mut b);
            b
        };
        for (i, a) in values.iter().enumerate() {
            for (j, b) in values.iter().enumerate() {
                let (x, y) = (enc(a.as_ref()), enc(b.as_ref()));
                assert_eq!(x == y, i == j, "{a:?} vs {b:?}");
                assert_eq!(same_item(&x, &y), i == j, "{a:?} vs {b:?}");
            }
        }
        // Every length to 40, one byte changed at every position, and the same bytes.
        let bytes: Vec<u8> = (1..=40).collect();
        for len in 0..=40 {
            let a = &bytes[..len];
            assert!(same_item(a, a), "{len}");
            assert!(!same_item(a, &bytes[..len.saturating_sub(1)]) || len == 0);
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] ^= 0x80;
                assert!(!same_item(a, &b), "{len} {at}");
            }
        }
        // Different spellings of one number are one encoding.
        let five = Decimal::parse("5").expect("number");
        let five_oh = Decimal::parse("5.000").expect("number");
        assert_eq!(
            enc(Some(&Value::Number(five))),
            enc(Some(&Value::Number(five_oh)))
        );
    }
}
