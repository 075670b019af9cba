//! Matching by scanning the whole object with one Bulk API 2.0 query job (research §5.6): worth
//! it when the report holds so many keys that the `IN` queries would cost more API calls than
//! the scan (research §10: 1 create + polls + ⌈R / maxRecords⌉ result pages, R from a `COUNT()`
//! query). The result CSV is read one page at a time and each record is matched, or dropped,
//! as it is read: the object is never held in memory, only the records of the report's keys.

use crate::config::Integration;
use crate::report::Value;
use crate::salesforce::client::Client;
use crate::salesforce::error::SfError;

use super::matcher::{Matched, select_list};
use super::{Fields, Prepared};

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
    let mut page = client
        .query_job_results(&job.id, None, Some(PAGE_RECORDS))
        .await?;
    loop {
        // The next page is requested before this one is parsed, so Salesforce prepares it and
        // the network carries it while the CPU matches (pages come in locator order only).
        let job_id = job.id.as_str();
        let next = page.locator.take().map(|l| async move {
            client
                .query_job_results(job_id, Some(&l), Some(PAGE_RECORDS))
                .await
        });
        let csv = std::mem::take(&mut page.csv);
        let parse = async {
            match_page(
                &csv,
                fields,
                prepared,
                case_sensitive,
                &mut matched,
                progress,
            )
        };
        let (next, parsed) = match next {
            Some(next) => {
                let (n, p) = futures_util::future::join(next, parse).await;
                (Some(n), p)
            }
            None => (None, parse.await),
        };
        parsed?;
        match next {
            Some(n) => page = n?,
            None => break,
        }
    }
    // Done with the job; it would expire after 7 days anyway (research §5.6), so a failed delete
    // is no reason to fail the run.
    let _ = client.delete_query_job(&job.id).await;
    Ok(matched)
}

/// Match one result page (a CSV with a header row, columns in SELECT order).
fn match_page(
    csv: &str,
    fields: &Fields<'_>,
    prepared: &Prepared,
    case_sensitive: bool,
    matched: &mut Matched,
    progress: &indicatif::ProgressBar,
) -> Result<(), SfError> {
    let decode = |e: csv::Error| SfError::Decode {
        what: "a Bulk API query result".to_owned(),
        detail: e.to_string(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv.as_bytes());
    let headers = reader.headers().map_err(decode)?.clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let missing = |name: &str| SfError::Decode {
        what: "a Bulk API query result".to_owned(),
        detail: format!("no column {name}"),
    };
    let id_col = column("Id").ok_or_else(|| missing("Id"))?;
    let key_col = column(&fields.key.name).ok_or_else(|| missing(&fields.key.name))?;
    let converted_col = if fields.skip_converted {
        Some(column("IsConverted").ok_or_else(|| missing("IsConverted"))?)
    } else {
        None
    };
    let value_cols = fields
        .mapped
        .iter()
        .map(|f| column(&f.name).ok_or_else(|| missing(&f.name)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut record = csv::StringRecord::new();
    let mut read = 0u64;
    while reader.read_record(&mut record).map_err(decode)? {
        read += 1;
        let cell = |i: usize| record.get(i).unwrap_or("");
        let converted = converted_col.is_some_and(|c| cell(c).eq_ignore_ascii_case("true"));
        matched.add_record(
            prepared,
            fields,
            case_sensitive,
            (cell(id_col), cell(key_col), converted),
            |m| Value::from_bulk_csv(cell(value_cols[m]), fields.mapped[m]).unwrap_or(Value::Null),
        );
    }
    progress.inc(read);
    Ok(())
}
