//! Matching: fetch the records whose key field holds a report key, with the current values of
//! the mapped fields. Keys go into SOQL `IN` lists as escaped literals (a key is data, never
//! SOQL), packed by their URL-encoded size under Salesforce's 16,384-byte request-URI limit; a
//! chunk Salesforce still finds too long is halved (research §3.2, §3.3).

use crate::config::Integration;
use crate::salesforce::client::Client;
use crate::salesforce::error::SfError;
use crate::salesforce::soql;

use futures_util::StreamExt as _;

use super::packed;
use super::plan::Plan;
use super::{Fields, Prepared, bulk_match, current_value, key};

/// `IN` queries in flight together (research §6.6: a few, ≤ 10).
pub const IN_FLIGHT: usize = 4;

/// Bytes of URL-encoded SOQL per query: well under the 16,384-byte URI limit, leaving room for
/// the path and the host's own headers.
pub const MAX_ENCODED_SOQL: usize = 14_000;

/// What matching found: per report row the records that hold its key, counted, and the plan of
/// the ones whose values differ. Records are diffed as they arrive, so a scan of a million
/// records keeps none of them (issue 6).
#[derive(Debug, Default)]
pub struct Matched {
    /// Live (not converted) records per row slot (rows past the end have none).
    pub live: Vec<u32>,
    /// Rows with a converted Lead among their records.
    pub converted: rustc_hash::FxHashSet<usize>,
    /// The records to change, in the order they were found.
    pub plan: Plan,
    /// Record Ids filed already, on the `IN` path only: SOQL compares text case-insensitively,
    /// so with case-sensitive keys the same record can come back from two chunks.
    seen: Option<rustc_hash::FxHashSet<String>>,
    /// How the records were found (for the run log).
    pub strategy: Strategy,
}

/// The way matching went, with the numbers that chose it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Strategy {
    #[default]
    None,
    /// SOQL `IN` queries.
    In { queries: usize },
    /// One Bulk API 2.0 query of the object's `records` records instead of `in_queries` queries.
    BulkScan { records: u64, in_queries: usize },
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("no query"),
            Self::In { queries } => write!(f, "{queries} IN queries"),
            Self::BulkScan {
                records,
                in_queries,
            } => write!(
                f,
                "a Bulk API query of {records} records (cheaper than {in_queries} IN queries)"
            ),
        }
    }
}

/// The fields every match reads: Id, the key, the mapped fields, and `IsConverted` when
/// converted Leads are told apart.
pub(crate) fn select_list(fields: &Fields<'_>) -> Vec<String> {
    let mut select = vec!["Id".to_owned()];
    for f in std::iter::once(&fields.key).chain(&fields.mapped) {
        if !select.iter().any(|s| s.eq_ignore_ascii_case(&f.name)) {
            select.push(f.name.clone());
        }
    }
    if fields.skip_converted {
        select.push("IsConverted".to_owned());
    }
    select
}

/// The SELECT … WHERE prefix every chunk shares.
fn prefix(integration: &Integration, fields: &Fields<'_>) -> String {
    format!(
        "SELECT {} FROM {} WHERE {} IN (",
        select_list(fields).join(", "),
        integration.object,
        fields.key.name
    )
}

/// The length of `text` as `form_urlencoded::byte_serialize` writes it (what `reqwest` sends in
/// the query string), counted without building it: pricing `IN` queries counts every key of the
/// report. Unreserved bytes stay, a space becomes `+`, any other byte `%XX`.
fn encoded_len(text: &str) -> usize {
    text.bytes()
        .map(|b| usize::from(ENCODED[usize::from(b)]))
        .sum()
}

/// Each byte's size once form-URL-encoded: 1 for an unreserved byte or a space, 3 for `%XX`.
const ENCODED: [u8; 256] = {
    let mut table = [3u8; 256];
    let mut b = 0;
    while b < 256 {
        #[allow(clippy::cast_possible_truncation)] // below 256
        let byte = b as u8;
        if byte.is_ascii_alphanumeric() || matches!(byte, b'*' | b'-' | b'.' | b'_' | b' ') {
            table[b] = 1;
        }
        b += 1;
    }
    table
};

/// [`ENCODED`] for the bytes a SOQL literal keeps as they are (printable ASCII but `\`, `'` and
/// `"`), 0 for the others: a key's literal size in one pass over its bytes.
const PLAIN_ENCODED: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0x20;
    while b < 0x7f {
        if !matches!(b, 0x5c | 0x27 | 0x22) {
            table[b] = ENCODED[b];
        }
        b += 1;
    }
    table
};

/// Split keys into `IN` lists whose query fits [`MAX_ENCODED_SOQL`].
#[must_use]
pub fn chunks<K: AsRef<str>>(prefix: &str, keys: impl IntoIterator<Item = K>) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut literal = String::new();
    pack(prefix, keys, Some(&mut literal), |literal, new_chunk| {
        if new_chunk || out.is_empty() {
            out.push(Vec::new());
        }
        if let Some(last) = out.last_mut() {
            last.push(literal.to_owned());
        }
    });
    out
}

/// How many `IN` queries [`chunks`] would make, without building them.
#[must_use]
pub fn chunk_count<K: AsRef<str>>(prefix: &str, keys: impl IntoIterator<Item = K>) -> usize {
    let mut count = 0;
    pack(prefix, keys, None, |_, new_chunk| {
        count += usize::from(new_chunk);
    });
    count
}

/// The encoded size of `key`'s SOQL literal and the comma after it; the literal is built in
/// `literal` when it is asked for or when `key` holds a character the literal escapes.
fn literal_cost(key: &str, literal: &mut String, build: bool) -> usize {
    literal.clear();
    if !build {
        // One pass: the encoded size, and whether any byte is one the literal escapes (0).
        let (size, least) = key.bytes().fold((0, u8::MAX), |(size, least), b| {
            let cost = PLAIN_ENCODED[usize::from(b)];
            (size + usize::from(cost), least.min(cost))
        });
        if least > 0 {
            // `'key'`: the key as it is between two quotes.
            return size + 2 * encoded_len("'") + encoded_len(",");
        }
    }
    soql::quote_into(key, literal);
    encoded_len(literal) + encoded_len(",")
}

/// Greedy packing: calls `place(literal, starts_a_new_chunk)` for every key in order (the
/// literal is empty unless `literal` is given to build them in).
fn pack<K: AsRef<str>>(
    prefix: &str,
    keys: impl IntoIterator<Item = K>,
    literal: Option<&mut String>,
    mut place: impl FnMut(&str, bool),
) {
    let base = encoded_len(prefix) + encoded_len(")");
    let mut size = base;
    let mut empty = true;
    let build = literal.is_some();
    let mut own = String::new();
    let literal = literal.unwrap_or(&mut own);
    for k in keys {
        let cost = literal_cost(k.as_ref(), literal, build);
        let new_chunk = empty || size + cost > MAX_ENCODED_SOQL;
        if new_chunk {
            size = base;
        }
        size += cost;
        empty = false;
        place(literal, new_chunk);
    }
}

impl Matched {
    /// File a record under the report row whose key it holds (shared by the `IN` and the
    /// Bulk-scan paths) and plan it if its values differ; a record whose key is in no row (a
    /// scan reads the whole object) is dropped at once, before its values are converted.
    /// `value(m, out)` appends the packed current value of mapping `m` to `out`.
    pub(crate) fn add_record(
        &mut self,
        prepared: &Prepared,
        fields: &Fields<'_>,
        case_sensitive: bool,
        record: (&str, &str, bool),
        value: impl FnMut(usize, &mut Vec<u8>),
    ) -> bool {
        let (id, key_value, converted) = record;
        // Most keys (e-mail addresses as Salesforce stores them) are already in normal form:
        // look them up as they are, without allocating their folded copy (a scan does this
        // for every record of the object). Ids always go through their 18-character form.
        // One pass over the bytes: ASCII, no upper-case letter (unless case counts), and no
        // white space at either end (`str::trim`'s, for ASCII: tab to carriage return, space).
        let bytes = key_value.as_bytes();
        let space = |b: Option<&u8>| b.is_some_and(|&b| matches!(b, b'\t'..=b'\r' | b' '));
        let plain = !is_id(fields)
            && bytes
                .iter()
                .all(|&b| b.is_ascii() && (case_sensitive || !b.is_ascii_uppercase()))
            && !space(bytes.first())
            && !space(bytes.last());
        let rows = &prepared.rows;
        let found = if plain {
            rows.find(key_value)
        } else {
            rows.find(&key::normalise_for(key_value, fields.key, case_sensitive))
        };
        let Some(row) = found.filter(|&r| rows.is_live(r)) else {
            return false;
        };
        // Salesforce returns 18-character Ids; a 15-character one is made whole.
        let id18;
        let id = if id.len() == 18 && id.is_ascii() {
            id
        } else if let Some(whole) = crate::report::convert::normalise_id(id) {
            id18 = whole;
            &id18
        } else {
            return false;
        };
        if let Some(seen) = &mut self.seen
            && !seen.insert(id.to_owned())
        {
            return true;
        }
        if converted {
            self.converted.insert(row);
            return true;
        }
        if self.live.len() <= row {
            self.live.resize(row + 1, 0);
        }
        self.live[row] = self.live[row].saturating_add(1);
        self.plan.diff(id, row, rows.values(row), value);
        true
    }
}

/// Whether the key is an Id (compared in its 18-character form).
fn is_id(fields: &Fields<'_>) -> bool {
    matches!(
        fields.key.field_type,
        crate::salesforce::describe::FieldType::Id
            | crate::salesforce::describe::FieldType::Reference
    )
}

/// Match every row: by `IN` queries, or by one Bulk API 2.0 query of the whole object when
/// that takes fewer API calls (research §10; [`bulk_match`]).
pub async fn fetch(
    integration: &Integration,
    fields: &Fields<'_>,
    prepared: &Prepared,
    client: &Client,
    progress: &indicatif::ProgressBar,
) -> Result<Matched, SfError> {
    let prefix = prefix(integration, fields);
    // Prepared rows have distinct keys already (duplicates are settled while reading). Ids go
    // in their 18-character form; other keys as written (Salesforce's own comparison then
    // decides case, as it will for every other client).
    let case_sensitive = integration.options.key_case_sensitive;
    let id_keys: Vec<String> = if is_id(fields) {
        let mut seen = std::collections::HashSet::new();
        let rows = &prepared.rows;
        (0..rows.len())
            .filter(|&i| rows.is_live(i))
            .map(|i| key::normalise_for(rows.key(i), fields.key, case_sensitive))
            .filter(|k| seen.insert(k.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let keys = || -> Box<dyn Iterator<Item = &str>> {
        if is_id(fields) {
            Box::new(id_keys.iter().map(String::as_str))
        } else {
            let rows = &prepared.rows;
            Box::new(
                (0..rows.len())
                    .filter(|&i| rows.is_live(i))
                    .map(|i| rows.key(i)),
            )
        }
    };
    let queries = chunk_count(&prefix, keys());
    if queries > bulk_match::SCAN_MIN_QUERIES {
        let records = bulk_match::count(integration, fields, client).await?;
        let scan = bulk_match::scan_cost(records);
        if scan < queries {
            match bulk_match::fetch(integration, fields, prepared, client, progress, records).await
            {
                Ok(mut matched) => {
                    matched.strategy = Strategy::BulkScan {
                        records,
                        in_queries: queries,
                    };
                    return Ok(matched);
                }
                // Without the Bulk API (a permission, an edition), the IN queries still work.
                Err(e) if bulk_match::falls_back(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }
    let mut matched = fetch_in(
        integration,
        fields,
        prepared,
        client,
        progress,
        &prefix,
        keys(),
    )
    .await?;
    matched.strategy = Strategy::In { queries };
    Ok(matched)
}

/// The `IN` path: chunks a few at a time; a chunk refused as too long is halved and queued again.
async fn fetch_in<'k>(
    integration: &Integration,
    fields: &Fields<'_>,
    prepared: &Prepared,
    client: &Client,
    progress: &indicatif::ProgressBar,
    prefix: &str,
    keys: impl IntoIterator<Item = &'k str>,
) -> Result<Matched, SfError> {
    let mut pending: Vec<Vec<String>> = chunks(prefix, keys);
    pending.reverse();
    progress.set_length(prepared.rows.live() as u64);
    let mut matched = Matched {
        seen: Some(rustc_hash::FxHashSet::default()),
        ..Matched::default()
    };
    let case_sensitive = integration.options.key_case_sensitive;
    let mut in_flight = futures_util::stream::FuturesUnordered::new();
    loop {
        // Keep IN_FLIGHT queries going: the next starts as soon as one answers.
        while in_flight.len() < IN_FLIGHT {
            let Some(chunk) = pending.pop() else { break };
            let soql = format!("{prefix}{})", chunk.join(","));
            in_flight.push(async move { (client.query(&soql).await, chunk) });
        }
        let Some((result, chunk)) = in_flight.next().await else {
            break;
        };
        match result {
            Ok(records) => {
                progress.inc(chunk.len() as u64);
                for record in records {
                    let Some(id) = record.get("Id").and_then(|v| v.as_str()) else {
                        continue;
                    };
                    let key_value = record
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(&fields.key.name))
                        .and_then(|(_, v)| v.as_str())
                        .unwrap_or("");
                    let converted = fields.skip_converted
                        && record
                            .get("IsConverted")
                            .and_then(serde_json::Value::as_bool)
                            .unwrap_or(false);
                    matched.add_record(
                        prepared,
                        fields,
                        case_sensitive,
                        (id, key_value, converted),
                        |m, out| {
                            packed::put(Some(&current_value(&record, fields.mapped[m])), out);
                        },
                    );
                }
            }
            Err(e) if chunk.len() > 1 && too_long(&e) => {
                let half = chunk.len() / 2;
                pending.push(chunk[half..].to_vec());
                pending.push(chunk[..half].to_vec());
            }
            Err(e) => return Err(e),
        }
    }
    Ok(matched)
}

/// Salesforce's ways of saying a query is too long: 414/431, `MALFORMED_QUERY` about length,
/// `QUERY_TOO_COMPLICATED` (research §3.2).
fn too_long(e: &SfError) -> bool {
    match e {
        SfError::Http { status, .. } | SfError::Html { status } | SfError::Api { status, .. }
            if *status == 414 || *status == 431 =>
        {
            true
        }
        _ => {
            matches!(e.error_code(), Some("QUERY_TOO_COMPLICATED"))
                || (e.error_code() == Some("MALFORMED_QUERY")
                    && e.to_string().to_lowercase().contains("too long"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Value;

    #[test]
    fn a_keys_cost_without_its_literal_is_the_cost_of_its_literal() {
        let mut literal = String::new();
        for key in [
            "ann@example.com",
            "a b+c*d-e.f_g~h%20",
            "o'brien",
            "back\\slash",
            "say \"hi\"",
            "tab\there",
            "zoë",
            "\u{7f}",
            "",
        ] {
            let without = literal_cost(key, &mut literal, false);
            let with = literal_cost(key, &mut literal, true);
            assert_eq!(literal, soql::quote(key));
            assert_eq!(without, with, "{key:?}");
            assert_eq!(with, encoded_len(&soql::quote(key)) + encoded_len(","));
        }
        // Every character of the first 256, alone and inside a key.
        for c in (0..=255u8).map(char::from) {
            for key in [c.to_string(), format!("a{c}@b.example")] {
                let without = literal_cost(&key, &mut literal, false);
                let with = literal_cost(&key, &mut literal, true);
                assert_eq!(without, with, "{key:?}");
            }
        }
    }

    #[test]
    fn encoded_len_counts_what_form_urlencoding_writes() {
        for text in [
            "",
            "ann@example.com",
            "'o\\'brien'",
            "a b+c*d-e.f_g~h",
            "zoë 日本 \" %20 \n",
            "SELECT Id FROM Lead WHERE Email IN (",
        ] {
            let written: usize = url::form_urlencoded::byte_serialize(text.as_bytes())
                .map(str::len)
                .sum();
            assert_eq!(encoded_len(text), written, "{text:?}");
        }
    }

    #[test]
    fn chunks_fit_the_limit_and_keep_every_key() {
        let keys: Vec<String> = (0..3000)
            .map(|i| format!("user.number{i}@example.com"))
            .collect();
        let prefix = "SELECT Id, Email FROM Lead WHERE Email IN (";
        let chunks = chunks(prefix, keys.iter().map(String::as_str));
        assert!(chunks.len() > 1);
        assert_eq!(
            chunk_count(prefix, keys.iter().map(String::as_str)),
            chunks.len()
        );
        assert_eq!(chunks.iter().map(Vec::len).sum::<usize>(), keys.len());
        for c in &chunks {
            let soql = format!("{prefix}{})", c.join(","));
            assert!(
                encoded_len(&soql) <= MAX_ENCODED_SOQL,
                "{}",
                encoded_len(&soql)
            );
        }
    }

    #[test]
    fn a_record_returned_twice_counts_once_and_only_differences_are_planned() {
        use crate::report::Decimal;
        let (key_field, logins) = crate::report::test_support::email_key_and_number();
        let fields = Fields::of(&key_field, vec![&logins]);
        let number = |n| Value::Number(Decimal::from_i64(n));
        let mut prepared = Prepared::default();
        let mut values = Vec::new();
        packed::put(Some(&number(3)), &mut values);
        // As the report spells it: found by its normal form.
        prepared
            .rows
            .push("ann@example.com", "Ann@example.com", 2, Some(&values))
            .expect("a row");
        let mut matched = Matched {
            seen: Some(rustc_hash::FxHashSet::default()),
            ..Matched::default()
        };
        for (id, current) in [
            ("00Q000000000001AAA", 1),
            ("00Q000000000001AAA", 1),
            ("00Q000000000002AAA", 3),
            ("00Q000000000003AAA", 2),
        ] {
            assert!(matched.add_record(
                &prepared,
                &fields,
                false,
                (id, "ann@example.com", false),
                |_, out| packed::put(Some(&number(current)), out),
            ));
        }
        assert!(!matched.add_record(
            &prepared,
            &fields,
            false,
            ("00Q000000000004AAA", "bob@example.com", false),
            |_, out| packed::put(Some(&number(0)), out),
        ));
        assert_eq!(matched.live, [3]);
        // Record 2 already holds 3: only records 1 and 3 are planned.
        assert_eq!(matched.plan.len(), 2);
        assert_eq!(matched.plan.id(0), "00Q000000000001AAA");
        assert_eq!(matched.plan.id(1), "00Q000000000003AAA");
        let changes = matched.plan.changes(1, &prepared.rows);
        assert_eq!(changes.len(), 1);
        assert_eq!((&changes[0].old, &changes[0].new), (&number(2), &number(3)));
        assert_eq!(prepared.rows.key(0), "Ann@example.com");
    }

    #[test]
    fn salesforce_keys_match_in_any_case_and_with_space_around_them() {
        let (key_field, logins) = crate::report::test_support::email_key_and_number();
        let fields = Fields::of(&key_field, vec![&logins]);
        let mut values = Vec::new();
        packed::put(None, &mut values);
        let prepared = Prepared::ann(&values);
        let mut matched = Matched::default();
        // The plain path (looked up as it is) must not take any of these.
        for key in [
            "ann@example.com",
            "Ann@example.com",
            " ann@example.com",
            "ann@example.com\t",
            "ann@example.com\u{b}",
            "\u{c}ann@example.com\r",
            "ann@example.com\u{a0}",
        ] {
            assert!(
                matched.add_record(
                    &prepared,
                    &fields,
                    false,
                    ("00Q000000000001AAA", key, false),
                    |_, out| packed::put(None, out),
                ),
                "{key:?}"
            );
        }
        assert!(!matched.add_record(
            &prepared,
            &fields,
            true,
            ("00Q000000000001AAA", "Ann@example.com", false),
            |_, out| packed::put(None, out),
        ));
    }

    #[test]
    fn keys_are_escaped_literals() {
        let keys = ["o'brien@example.com", "a\\b') OR Name LIKE ('%"];
        let chunks = chunks("SELECT Id FROM Lead WHERE Email IN (", keys);
        assert_eq!(chunks[0][0], "'o\\'brien@example.com'");
        assert_eq!(chunks[0][1], "'a\\\\b\\') OR Name LIKE (\\'%'");
    }
}
