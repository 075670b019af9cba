//! Matching: fetch the records whose key field holds a report key, with the current values of
//! the mapped fields. Keys go into SOQL `IN` lists as escaped literals (a key is data, never
//! SOQL), packed by their URL-encoded size under Salesforce's 16,384-byte request-URI limit; a
//! chunk Salesforce still finds too long is halved (research §3.2, §3.3). When the keys need
//! more queries than a Bulk API 2.0 scan of the whole object costs, the object is scanned
//! instead (research §10).

use std::collections::HashMap;

use crate::config::Integration;
use crate::report::Value;
use crate::salesforce::bulk::{JobState, parse_csv};
use crate::salesforce::client::Client;
use crate::salesforce::error::SfError;
use crate::salesforce::soql;

use super::{Fields, Prepared, current_value, key};

/// Bytes of URL-encoded SOQL per query: well under the 16,384-byte URI limit, leaving room for
/// the path and the host's own headers.
pub const MAX_ENCODED_SOQL: usize = 14_000;

/// From this many `IN` queries on, a Bulk API 2.0 query of the object is the cheaper way to
/// match: a scan costs about 10 calls plus one per 50,000 records (research §10), so it wins for
/// objects up to about 2 million records, which covers the Leads and Contacts of most orgs.
pub const BULK_SCAN_MIN_QUERIES: usize = 50;

/// A record found for a key.
#[derive(Debug, Clone)]
pub struct Found {
    pub id: String,
    /// Current values, one per mapping.
    pub values: Vec<Value>,
    /// A converted Lead (read-only in Salesforce).
    pub converted: bool,
}

/// Records by report row.
#[derive(Debug, Default)]
pub struct Matched {
    pub by_row: HashMap<usize, Vec<Found>>,
}

impl Matched {
    /// Add a record to a row once: SOQL compares text case-insensitively, so the same record can
    /// come back from two `IN` chunks (with case-sensitive keys) and must not count twice.
    fn add(&mut self, row: usize, found: Found) {
        let records = self.by_row.entry(row).or_default();
        if !records.iter().any(|r| r.id == found.id) {
            records.push(found);
        }
    }
}

/// The fields every match query selects.
fn select_list(fields: &Fields<'_>) -> Vec<String> {
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

fn encoded_len(text: &str) -> usize {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .map(str::len)
        .sum()
}

/// Split keys into `IN` lists whose query fits [`MAX_ENCODED_SOQL`].
#[must_use]
pub fn chunks(prefix: &str, keys: &[String]) -> Vec<Vec<String>> {
    let base = encoded_len(prefix) + encoded_len(")");
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut size = base;
    for k in keys {
        let literal = soql::quote(k);
        let cost = encoded_len(&literal) + encoded_len(",");
        if !current.is_empty() && size + cost > MAX_ENCODED_SOQL {
            out.push(std::mem::take(&mut current));
            size = base;
        }
        size += cost;
        current.push(literal);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Query every chunk and assign the records to the rows whose key they hold.
pub async fn fetch(
    integration: &Integration,
    fields: &Fields<'_>,
    prepared: &Prepared,
    client: &Client,
    progress: &indicatif::ProgressBar,
) -> Result<Matched, SfError> {
    let prefix = prefix(integration, fields);
    let is_id = matches!(
        fields.key.field_type,
        crate::salesforce::describe::FieldType::Id
            | crate::salesforce::describe::FieldType::Reference
    );
    let keys: Vec<String> = {
        let mut seen = std::collections::HashSet::new();
        prepared
            .rows
            .iter()
            // Ids go in their 18-character form; other keys as written (Salesforce's own
            // comparison then decides case, as it will for every other client).
            .map(|r| if is_id { r.norm.clone() } else { r.key.clone() })
            .filter(|k| seen.insert(k.clone()))
            .collect()
    };
    let mut pending: Vec<Vec<String>> = chunks(&prefix, &keys);
    progress.set_length(keys.len() as u64);
    if pending.len() >= BULK_SCAN_MIN_QUERIES {
        return scan(integration, fields, prepared, client, progress).await;
    }
    let mut matched = Matched::default();
    let case_sensitive = integration.options.key_case_sensitive;
    // Chunks run a few at a time; a chunk refused as too long is halved and queued again.
    while !pending.is_empty() {
        let batch: Vec<Vec<String>> = pending.drain(..pending.len().min(4)).collect();
        let queries = batch.iter().map(|chunk| {
            let soql = format!("{prefix}{})", chunk.join(","));
            async move { client.query(&soql).await }
        });
        let results = futures_util::future::join_all(queries).await;
        for (chunk, result) in batch.into_iter().zip(results) {
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
                        let norm = key::normalise_for(key_value, fields.key, case_sensitive);
                        let Some(&row) = prepared.index.get(&norm) else {
                            continue;
                        };
                        let converted = fields.skip_converted
                            && record
                                .get("IsConverted")
                                .and_then(serde_json::Value::as_bool)
                                .unwrap_or(false);
                        let values = fields
                            .mapped
                            .iter()
                            .map(|f| current_value(&record, f))
                            .collect();
                        matched.add(
                            row,
                            Found {
                                id: id.to_owned(),
                                values,
                                converted,
                            },
                        );
                    }
                }
                Err(e) if chunk.len() > 1 && too_long(&e) => {
                    let half = chunk.len() / 2;
                    pending.push(chunk[..half].to_vec());
                    pending.push(chunk[half..].to_vec());
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(matched)
}

/// Match by a Bulk API 2.0 query of every record of the object (research §5.6): CSV pages,
/// empty cells are null, datetimes in either of Salesforce's spellings.
async fn scan(
    integration: &Integration,
    fields: &Fields<'_>,
    prepared: &Prepared,
    client: &Client,
    progress: &indicatif::ProgressBar,
) -> Result<Matched, SfError> {
    let select = select_list(fields);
    let soql = format!("SELECT {} FROM {}", select.join(", "), integration.object);
    let job = client.create_query_job(&soql).await?;
    let info = client
        .wait_for_query_job(&job.id, crate::tuning::bulk_timeout())
        .await?;
    if info.state != JobState::JobComplete {
        return Err(SfError::Invalid(format!(
            "Bulk API query job {} ended {:?}{}",
            job.id,
            info.state,
            info.error_message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )));
    }
    let case_sensitive = integration.options.key_case_sensitive;
    let mut matched = Matched::default();
    let mut locator: Option<String> = None;
    loop {
        let page = client
            .query_job_results(&job.id, locator.as_deref(), None)
            .await?;
        let table = parse_csv(&page.csv)?;
        let column = |name: &str| {
            table
                .headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
        };
        let (Some(id_col), Some(key_col)) = (column("Id"), column(&fields.key.name)) else {
            return Err(SfError::Invalid(format!(
                "the Bulk query results of {} lack the Id or key column",
                integration.object
            )));
        };
        let value_cols: Vec<Option<usize>> =
            fields.mapped.iter().map(|f| column(&f.name)).collect();
        let converted_col = column("IsConverted");
        for row in &table.rows {
            let cell = |c: Option<usize>| c.and_then(|c| row.get(c)).map_or("", String::as_str);
            let norm = key::normalise_for(cell(Some(key_col)), fields.key, case_sensitive);
            let Some(&index) = prepared.index.get(&norm) else {
                continue;
            };
            progress.inc(1);
            let values = fields
                .mapped
                .iter()
                .zip(&value_cols)
                .map(|(f, &c)| Value::from_bulk_csv(cell(c), f).unwrap_or(Value::Null))
                .collect();
            matched.add(
                index,
                Found {
                    id: cell(Some(id_col)).to_owned(),
                    values,
                    converted: fields.skip_converted
                        && cell(converted_col).eq_ignore_ascii_case("true"),
                },
            );
        }
        match page.locator {
            Some(next) => locator = Some(next),
            None => break,
        }
    }
    // The results stay on Salesforce for days otherwise; failing to delete them harms nothing.
    let _ = client.delete_query_job(&job.id).await;
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

    #[test]
    fn chunks_fit_the_limit_and_keep_every_key() {
        let keys: Vec<String> = (0..3000)
            .map(|i| format!("user.number{i}@example.com"))
            .collect();
        let prefix = "SELECT Id, Email FROM Lead WHERE Email IN (";
        let chunks = chunks(prefix, &keys);
        assert!(chunks.len() > 1);
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
    fn a_record_returned_twice_counts_once() {
        let mut matched = Matched::default();
        let found = |id: &str| Found {
            id: id.to_owned(),
            values: Vec::new(),
            converted: false,
        };
        matched.add(0, found("00Q000000000001AAA"));
        matched.add(0, found("00Q000000000001AAA"));
        matched.add(0, found("00Q000000000002AAA"));
        assert_eq!(matched.by_row[&0].len(), 2);
    }

    #[test]
    fn keys_are_escaped_literals() {
        let keys = vec![
            "o'brien@example.com".to_owned(),
            "a\\b') OR Name LIKE ('%".to_owned(),
        ];
        let chunks = chunks("SELECT Id FROM Lead WHERE Email IN (", &keys);
        assert_eq!(chunks[0][0], "'o\\'brien@example.com'");
        assert_eq!(chunks[0][1], "'a\\\\b\\') OR Name LIKE (\\'%'");
    }
}
