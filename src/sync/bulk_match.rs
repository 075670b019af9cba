//! Matching by scanning the whole object with one Bulk API 2.0 query job (research §5.6): worth
//! it when the report holds so many keys that the `IN` queries would cost more API calls than
//! the scan (research §10: 1 create + polls + ⌈R / maxRecords⌉ result pages, R from a `COUNT()`
//! query). The result CSV is read one page at a time and each record is matched, or dropped,
//! as it is read: the object is never held in memory, only the records of the report's keys.

use crate::config::Integration;
use crate::report::Value;
use crate::salesforce::bulk::QueryPage;
use crate::salesforce::client::Client;
use crate::salesforce::csv_stream::{CsvStream, Record};
use crate::salesforce::error::SfError;

use super::matcher::{Matched, select_list};
use super::{Fields, Prepared, packed};

/// Rows per result page (`maxRecords`). Salesforce documents no maximum; simple-salesforce uses
/// 50,000. 200,000 rows of a few fields are ~20 MB of CSV, a fair trade of memory for calls.
pub const PAGE_RECORDS: u64 = 200_000;
/// With this many `IN` queries or fewer a scan is never considered: it costs a count, a create,
/// a poll or two and a page at best, and it waits for the job (seconds) where the `IN` queries
/// run in flight together.
pub const SCAN_MIN_QUERIES: usize = 10;
/// Polls a scan is expected to need.
const EXPECTED_POLLS: usize = 2;

/// API calls a scan of `records` records is expected to cost: create, polls, result pages.
#[must_use]
pub fn scan_cost(records: u64) -> usize {
    let pages = usize::try_from(records.div_ceil(PAGE_RECORDS).max(1)).unwrap_or(usize::MAX);
    1 + EXPECTED_POLLS + pages
}

/// The scan's filter: only records with a key can match.
fn filter(fields: &Fields<'_>) -> String {
    format!("{} != null", fields.key.name)
}

/// How many records a scan would read (`SELECT COUNT() …`, one API call).
pub async fn count(
    integration: &Integration,
    fields: &Fields<'_>,
    client: &Client,
) -> Result<u64, SfError> {
    let soql = format!(
        "SELECT COUNT() FROM {} WHERE {}",
        integration.object,
        filter(fields)
    );
    Ok(client.query_page(&soql).await?.total_size)
}

/// Errors after which matching falls back to `IN` queries: the Bulk API refused the job (not
/// enabled, no permission), as opposed to the session or the daily limit, which stop the run.
#[must_use]
pub fn falls_back(e: &SfError) -> bool {
    !matches!(e, SfError::Auth(_) | SfError::DailyLimit { .. }) && !e.is_transient()
}

/// Run the scan and match its records against the prepared rows.
pub async fn fetch(
    integration: &Integration,
    fields: &Fields<'_>,
    prepared: &Prepared,
    client: &Client,
    progress: &indicatif::ProgressBar,
    records: u64,
) -> Result<Matched, SfError> {
    let select = select_list(fields);
    let soql = format!(
        "SELECT {} FROM {} WHERE {}",
        select.join(", "),
        integration.object,
        filter(fields)
    );
    let job = client.create_query_job(&soql).await?;
    // A job is rarely done the instant it is created: the first poll waits half the usual
    // interval instead of costing a call that only says "in progress".
    tokio::time::sleep(client.poll.first / 2).await;
    let info = client
        .wait_for_query_job(&job.id, crate::tuning::bulk_timeout())
        .await?;
    if info.state != crate::salesforce::bulk::JobState::JobComplete {
        return Err(SfError::Invalid(format!(
            "the Bulk API query job {} ended {:?}{}",
            job.id,
            info.state,
            info.error_message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )));
    }
    progress.set_length(records);
    let case_sensitive = integration.options.key_case_sensitive;
    let mut matched = Matched::default();
    let job_id = job.id.as_str();
    // Pages one after another: a page asked for while the previous one still streams would
    // wait, unread, in its connection, and its time would count against its own timeout.
    let mut locator: Option<String> = None;
    loop {
        let page = client
            .query_job_page(job_id, locator.as_deref(), Some(PAGE_RECORDS))
            .await?;
        let next = page.next.clone();
        read_page(
            client,
            job_id,
            locator.as_deref(),
            page,
            fields,
            prepared,
            case_sensitive,
            &mut matched,
            progress,
        )
        .await?;
        match next {
            Some(l) => locator = Some(l),
            None => break,
        }
    }
    // Done with the job; it would expire after 7 days anyway (research §5.6), so a failed delete
    // is no reason to fail the run.
    let _ = client.delete_query_job(&job.id).await;
    Ok(matched)
}

/// Times a page whose connection breaks mid-way is asked for again.
const PAGE_ATTEMPTS: u32 = 3;

/// Stream one result page through a [`PageReader`]. A connection lost mid-page asks for the
/// page again (by the same locator) and skips the records already filed, by their Ids.
#[allow(clippy::too_many_arguments)]
async fn read_page(
    client: &Client,
    job_id: &str,
    locator: Option<&str>,
    mut page: QueryPage,
    fields: &Fields<'_>,
    prepared: &Prepared,
    case_sensitive: bool,
    matched: &mut Matched,
    progress: &indicatif::ProgressBar,
) -> Result<(), SfError> {
    let mut reader = PageReader::default();
    let mut attempt = 1;
    loop {
        let before = reader.read;
        let result = async {
            let mut each = |record: Record<'_>| {
                reader.record(record, fields, prepared, case_sensitive, matched)
            };
            let mut csv = CsvStream::new();
            while let Some(chunk) = page.chunk().await? {
                csv.feed(&chunk, &mut each)?;
            }
            csv.finish(&mut each)
        }
        .await;
        progress.inc(reader.read - before);
        match result {
            Ok(()) => return Ok(()),
            Err(e)
                if e.is_transient()
                    && matches!(e, SfError::Network { .. })
                    && attempt < PAGE_ATTEMPTS =>
            {
                attempt += 1;
                reader.again();
                page = client
                    .query_job_page(job_id, locator, Some(PAGE_RECORDS))
                    .await?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Matches the records of one result page (a CSV with a header row, columns in SELECT order).
#[derive(Default)]
struct PageReader {
    /// Column of Id, key, IsConverted and each mapping, once the header is read.
    columns: Option<Columns>,
    /// Records newly read on this page (for the progress bar).
    read: u64,
    /// Ids of the records filed from this page (18 characters).
    filed: Vec<[u8; 18]>,
    /// On a page asked for again: the Ids filed by the earlier attempts, not filed again (Ids,
    /// not a count: nothing promises the same order twice).
    skip: rustc_hash::FxHashSet<[u8; 18]>,
}

struct Columns {
    id: usize,
    key: usize,
    converted: Option<usize>,
    values: Vec<usize>,
    /// Fields of the header row: every record must have as many.
    width: usize,
}

impl PageReader {
    /// Start the page over: its header comes again; what was filed is skipped.
    fn again(&mut self) {
        self.columns = None;
        self.skip.extend(self.filed.drain(..));
    }

    fn record(
        &mut self,
        record: Record<'_>,
        fields: &Fields<'_>,
        prepared: &Prepared,
        case_sensitive: bool,
        matched: &mut Matched,
    ) -> Result<(), SfError> {
        let Some(columns) = &self.columns else {
            self.columns = Some(header(record, fields)?);
            return Ok(());
        };
        let decode = |detail: String| SfError::Decode {
            what: "a Bulk API query result".to_owned(),
            detail,
        };
        if record.len() != columns.width {
            return Err(decode(format!(
                "a record has {} fields, the header {}",
                record.len(),
                columns.width
            )));
        }
        let not_utf8 = || decode("a record is not UTF-8".to_owned());
        let record = record.text().map_err(|_| not_utf8())?;
        let text = |i: usize| record.get(i).ok_or_else(not_utf8);
        let id = text(columns.id)?;
        // The Id as filed: 18 characters (a 15-character one made whole); any other is no
        // record Id, and matching drops it.
        let id18: Option<[u8; 18]> = <[u8; 18]>::try_from(id.as_bytes()).ok().or_else(|| {
            crate::report::convert::normalise_id(id)
                .and_then(|whole| <[u8; 18]>::try_from(whole.as_bytes()).ok())
        });
        if self.skip.contains(&id18.unwrap_or_default()) {
            return Ok(());
        }
        self.read += 1;
        let converted = match columns.converted {
            Some(c) => text(c)?.eq_ignore_ascii_case("true"),
            None => false,
        };
        let mut bad = None;
        let filed = matched.add_record(
            prepared,
            fields,
            case_sensitive,
            (id, text(columns.key)?, converted),
            |m, out| match text(columns.values[m]) {
                Ok(cell) => packed::put_bulk_cell(cell, fields.mapped[m], out),
                Err(e) => {
                    bad = Some(e);
                    packed::put(Some(&Value::Null), out);
                }
            },
        );
        if filed && let Some(id) = id18 {
            self.filed.push(id);
        }
        bad.map_or(Ok(()), Err)
    }
}

/// The columns of a result page's header row.
fn header(record: Record<'_>, fields: &Fields<'_>) -> Result<Columns, SfError> {
    let column = |name: &str| {
        (0..record.len()).find(|&i| record.get(i).eq_ignore_ascii_case(name.as_bytes()))
    };
    let missing = |name: &str| SfError::Decode {
        what: "a Bulk API query result".to_owned(),
        detail: format!("no column {name}"),
    };
    Ok(Columns {
        width: record.len(),
        id: column("Id").ok_or_else(|| missing("Id"))?,
        key: column(&fields.key.name).ok_or_else(|| missing(&fields.key.name))?,
        converted: if fields.skip_converted {
            Some(column("IsConverted").ok_or_else(|| missing("IsConverted"))?)
        } else {
            None
        },
        values: fields
            .mapped
            .iter()
            .map(|f| column(&f.name).ok_or_else(|| missing(&f.name)))
            .collect::<Result<Vec<_>, _>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Decimal;

    /// Feed `csv` to a page reader over one row (`ann@example.com`, value 3); the error if any.
    fn read(csv: &str, reader: &mut PageReader, matched: &mut Matched) -> Result<(), SfError> {
        let (key_field, logins) = crate::report::test_support::email_key_and_number();
        let fields = Fields::of(&key_field, vec![&logins]);
        let mut values = Vec::new();
        packed::put(Some(&Value::Number(Decimal::from_i64(3))), &mut values);
        let prepared = Prepared::ann(&values);
        let mut each =
            |record: Record<'_>| reader.record(record, &fields, &prepared, false, matched);
        let mut stream = CsvStream::new();
        stream.feed(csv.as_bytes(), &mut each)?;
        stream.finish(&mut each)
    }

    #[test]
    fn a_record_narrower_than_the_header_is_refused() {
        let mut matched = Matched::default();
        let err = read(
            "\"Id\",\"Email\",\"Test__c\"\n\"00Q000000000001AAA\",\"ann@example.com\"\n",
            &mut PageReader::default(),
            &mut matched,
        )
        .expect_err("refused");
        assert!(err.to_string().contains("2 fields, the header 3"), "{err}");
        assert!(matched.plan.is_empty());
    }

    #[test]
    fn a_page_read_again_files_each_record_once_in_any_order() {
        let mut matched = Matched::default();
        let mut reader = PageReader::default();
        let header = "Id,Email,Test__c\n";
        read(
            &format!("{header}00Q000000000001AAA,ann@example.com,1\n"),
            &mut reader,
            &mut matched,
        )
        .expect("first attempt");
        reader.again();
        // The page again, in another order, with a record the first attempt never reached.
        read(
            &format!(
                "{header}00Q000000000002AAA,ann@example.com,2\n00Q000000000001AAA,ann@example.com,1\n"
            ),
            &mut reader,
            &mut matched,
        )
        .expect("second attempt");
        assert_eq!(matched.live, [2]);
        assert_eq!(matched.plan.len(), 2);
        assert_eq!(reader.read, 2);
    }
}
