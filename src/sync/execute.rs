//! Writing the plan: sObject Collections (200 records a request, a few requests in flight) for
//! small plans, Bulk API 2.0 ingest above [`BULK_THRESHOLD`] records (research §10), or as
//! `write_api` forces. Only the changed fields of each record are sent. `UNABLE_TO_LOCK_ROW` is
//! retried for the affected records only; other per-record errors are final.

use std::io::Write as _;
use std::ops::Range;
use std::time::Duration;

use futures_util::StreamExt as _;
use indicatif::ProgressBar;
use serde_json::{Map, Value as Json};

use crate::config::{Integration, WriteApi};
use crate::output::Printer;
use crate::report::value::finish_bulk_cell;
use crate::salesforce::bulk::{IngestOperation, JobState, ResultSet, split_bulk_error};
use crate::salesforce::client::Client;
use crate::salesforce::collections::MAX_RECORDS;
use crate::salesforce::error::SfError;

use super::Fields;
use super::plan::{Cell, Changes};

/// Above this many records, `write_api = "auto"` writes with Bulk API 2.0 ("more than 2,000
/// records is a good candidate for Bulk API 2.0", research §5.4).
pub const BULK_THRESHOLD: usize = 2_000;
/// Collections requests in flight together (research §6.6).
pub const IN_FLIGHT: usize = 4;
/// Attempts for a locked record.
const LOCK_ATTEMPTS: u32 = 5;
/// How long an aborted job may take to settle before its results are read.
fn bulk_abort_wait() -> Duration {
    crate::tuning::bulk_timeout().min(Duration::from_secs(120))
}

/// Whether a plan of `records` records is written with Bulk API 2.0.
#[must_use]
pub fn uses_bulk(integration: &Integration, records: usize) -> bool {
    match integration.options.write_api {
        WriteApi::Rest => false,
        WriteApi::Bulk => true,
        WriteApi::Auto => records > BULK_THRESHOLD,
    }
}

/// Data-API requests a plan of `records` records needs at least: one collections request per
/// 200 records; per Bulk job its create, upload, close, a few status polls and the two result
/// sets (research §5.3, §6.2). Retries come on top; the reserve is for them.
#[must_use]
pub fn estimate_calls(bulk: bool, records: usize) -> u64 {
    const BULK_JOB_CALLS: u64 = 3 + 10 + 2;
    if records == 0 {
        0
    } else if bulk {
        BULK_JOB_CALLS
    } else {
        records.div_ceil(MAX_RECORDS) as u64
    }
}

/// What became of one planned record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordResult {
    Updated,
    Failed {
        code: String,
        message: String,
        fields: Vec<String>,
    },
    /// Not written: the run stopped, or Salesforce refused the whole request.
    Aborted,
}

/// What became of one planned record, without the details (one byte per record; the details
/// go to the [`Recorder`] as they come).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Updated,
    Failed,
    Aborted,
}

impl From<&RecordResult> for Written {
    fn from(result: &RecordResult) -> Self {
        match result {
            RecordResult::Updated => Self::Updated,
            RecordResult::Failed { .. } => Self::Failed,
            RecordResult::Aborted => Self::Aborted,
        }
    }
}

/// The write phase's result: one entry per planned record, and the error that stopped it.
#[derive(Debug)]
pub struct Outcome {
    pub results: Vec<Written>,
    pub stop: Option<SfError>,
}

/// Where the write phase reports to: the run log. Each record's final answer is recorded the
/// moment it is known (and flushed after each request), so a run killed mid-write still lists in
/// `changes.csv` every value Salesforce accepted — the audit trail `revert` relies on.
pub trait Recorder {
    fn log(&mut self, line: &str);
    fn result(&mut self, index: usize, result: &RecordResult);
    fn flush(&mut self);

    /// Staging, for a Bulk job: called as the upload is written, with record `index`'s upload
    /// row and its changed fields in mapping order, each new value's range in the row (a null
    /// an empty range), so `changes.csv` can take the values as written instead of writing each
    /// again (issue 6). False when the recorder does not stage; then it is not called again.
    fn stage(&mut self, _index: usize, _row: &[u8], _cells: &[StagedCell<'_>]) -> bool {
        false
    }
    /// Every staged record was accepted: make their lines the run's. False when they cannot
    /// be; each record's result is then recorded as usual.
    fn commit_staged(&mut self) -> bool {
        false
    }
    /// Forget what was staged (a record failed, or the upload takes more than one job).
    fn drop_staged(&mut self) {}
    /// Staged record `index` was accepted, its lines already committed.
    fn accepted_staged(&mut self, index: usize) {
        self.result(index, &RecordResult::Updated);
    }
}

/// A changed field of a record being uploaded ([`Recorder::stage`]).
pub struct StagedCell<'a> {
    pub mapping: usize,
    pub old: Cell<'a>,
    /// Where the new value is in the upload row.
    pub new: Range<usize>,
}

/// Final answers per planned record, each passed to the recorder as it is set.
struct Results<'r> {
    items: Vec<Written>,
    recorder: &'r mut dyn Recorder,
}

impl Results<'_> {
    #[allow(clippy::needless_pass_by_value)] // the result is final: callers hand it over
    fn set(&mut self, index: usize, result: RecordResult) {
        self.recorder.result(index, &result);
        self.items[index] = Written::from(&result);
    }

    /// A staged record was accepted, its lines committed.
    fn set_staged(&mut self, index: usize) {
        self.recorder.accepted_staged(index);
        self.items[index] = Written::Updated;
    }
}

/// Write every planned record.
pub async fn write(
    integration: &Integration,
    fields: &Fields<'_>,
    changes: &dyn Changes,
    client: &Client,
    recorder: &mut dyn Recorder,
    printer: &Printer,
    progress: &ProgressBar,
) -> Outcome {
    let count = changes.count();
    let bulk = uses_bulk(integration, count);
    if count == 0 {
        return Outcome {
            results: Vec::new(),
            stop: None,
        };
    }
    recorder.log(&format!(
        "writing {count} records with {}",
        if bulk {
            "Bulk API 2.0"
        } else {
            "sObject Collections"
        }
    ));
    printer.status(&format!(
        "  writing {count} records ({})",
        if bulk {
            "Bulk API 2.0"
        } else {
            "sObject Collections"
        }
    ));
    let mut results = Results {
        items: vec![Written::Aborted; count],
        recorder,
    };
    let all: Vec<usize> = (0..count).collect();
    let mut stop = None;
    let retry = if bulk {
        match write_bulk(
            integration,
            fields,
            changes,
            &all,
            client,
            &mut results,
            progress,
        )
        .await
        {
            Ok(locked) => locked,
            Err(e) => {
                stop = Some(e);
                Vec::new()
            }
        }
    } else {
        all
    };
    // Collections: the REST path, and locked rows the Bulk path hands back.
    let mut todo = retry;
    let mut attempt = 0;
    while !todo.is_empty() && stop.is_none() {
        if attempt > 0 {
            let wait = Duration::from_millis(250 * (1 << attempt.min(5)));
            results.recorder.log(&format!(
                "retrying {} locked records in {} ms",
                todo.len(),
                wait.as_millis()
            ));
            tokio::time::sleep(wait).await;
            // The retried records are written again.
            progress.set_position(progress.position().saturating_sub(todo.len() as u64));
        }
        attempt += 1;
        let job = Job {
            integration,
            fields,
            changes,
            client,
            progress,
        };
        let (locked, error) =
            write_collections(&job, &todo, &mut results, attempt >= LOCK_ATTEMPTS).await;
        stop = error;
        todo = locked;
    }
    Outcome {
        results: results.items,
        stop,
    }
}

/// What every collections pass works on.
#[derive(Clone, Copy)]
struct Job<'a> {
    integration: &'a Integration,
    fields: &'a Fields<'a>,
    changes: &'a dyn Changes,
    client: &'a Client,
    progress: &'a ProgressBar,
}

fn record_json(fields: &Fields<'_>, changes: &dyn Changes, i: usize) -> Map<String, Json> {
    let mut map = Map::new();
    map.insert(
        "Id".to_owned(),
        Json::String(changes.record_id(i).to_owned()),
    );
    for c in changes.field_changes(i).iter() {
        map.insert(fields.mapped[c.mapping].name.clone(), c.new.to_json());
    }
    map
}

/// One pass of collections requests over `todo`; returns the records still locked and the error
/// that must stop the run (daily limit, credentials).
async fn write_collections(
    job: &Job<'_>,
    todo: &[usize],
    results: &mut Results<'_>,
    last_attempt: bool,
) -> (Vec<usize>, Option<SfError>) {
    let Job {
        integration,
        fields,
        changes,
        client,
        progress,
    } = *job;
    let batches: Vec<Vec<usize>> = todo.chunks(MAX_RECORDS).map(<[usize]>::to_vec).collect();
    let object = integration.object.as_str();
    // After a stop no new request is sent, but the answers of requests already in flight are
    // still read and recorded: Salesforce may have written them.
    let stopped = std::cell::Cell::new(false);
    let stopped = &stopped;
    let mut stream = futures_util::stream::iter(batches.into_iter().map(|batch| {
        let records: Vec<Map<String, Json>> = batch
            .iter()
            .map(|&i| record_json(fields, changes, i))
            .collect();
        async move {
            if stopped.get() {
                return (batch, None);
            }
            (batch, Some(client.update(object, records).await))
        }
    }))
    .buffer_unordered(IN_FLIGHT);
    let mut locked = Vec::new();
    let mut stop = None;
    while let Some((batch, result)) = stream.next().await {
        let Some(result) = result else {
            continue; // not sent: the run stopped
        };
        progress.inc(batch.len() as u64);
        match result {
            Ok(saves) => {
                for (&i, save) in batch.iter().zip(saves) {
                    if save.success {
                        results.set(i, RecordResult::Updated);
                        continue;
                    }
                    let first = save.errors.first();
                    let code = first.map_or_else(String::new, |e| e.status_code.clone());
                    if code == "UNABLE_TO_LOCK_ROW" && !last_attempt {
                        locked.push(i);
                        continue;
                    }
                    let failed = RecordResult::Failed {
                        code,
                        message: save
                            .errors
                            .iter()
                            .map(|e| e.message.clone())
                            .collect::<Vec<_>>()
                            .join("; "),
                        fields: save.errors.iter().flat_map(|e| e.fields.clone()).collect(),
                    };
                    results.set(i, failed);
                }
                results.recorder.flush();
            }
            Err(e @ (SfError::DailyLimit { .. } | SfError::Auth(_))) => {
                // Stop cleanly (SPEC §5 step 6): no further request is sent; records never
                // sent stay aborted.
                stop.get_or_insert(e);
                stopped.set(true);
            }
            Err(e) => {
                // Salesforce refused the whole request: its records are aborted; a transient
                // failure already had its retries inside the client.
                stop.get_or_insert(e);
            }
        }
    }
    (locked, stop)
}

/// The Bulk API 2.0 path: one job per ≤ 100 MB of CSV with `Id` and the changed columns, `#N/A`
/// to clear, an empty cell for "leave as it is"; results joined on Id, since they are unordered.
/// Each job's CSV is written to a temporary file and streamed from there (issue 6).
/// Returns the records that failed only for a row lock, for a collections retry.
async fn write_bulk(
    integration: &Integration,
    fields: &Fields<'_>,
    changes: &dyn Changes,
    todo: &[usize],
    client: &Client,
    results: &mut Results<'_>,
    progress: &ProgressBar,
) -> Result<Vec<usize>, SfError> {
    const MAX_UPLOAD: u64 = 100_000_000;
    let mut used = vec![false; fields.mapped.len()];
    let mut unused = used.len();
    for &i in todo {
        if unused == 0 {
            // Every column is in: the rest of the records cannot add one.
            break;
        }
        changes.each_mapping(i, &mut |m| {
            if !used[m] {
                used[m] = true;
                unused -= 1;
            }
        });
    }
    let columns: Vec<usize> = (0..used.len()).filter(|&m| used[m]).collect();
    let mut header = Vec::new();
    crate::csvtext::push_cell(&mut header, "Id");
    for &m in &columns {
        header.push(b',');
        crate::csvtext::push_cell(&mut header, &fields.mapped[m].name);
    }
    header.push(b'\n');
    let file_error = |e: std::io::Error| {
        SfError::Invalid(format!("cannot write the upload's temporary file: {e}"))
    };
    // A row that would take a job's CSV over MAX_UPLOAD starts the next job.
    let mut jobs: Vec<(tempfile::NamedTempFile, u64, Vec<usize>)> = Vec::new();
    let mut current: Option<(std::io::BufWriter<tempfile::NamedTempFile>, u64)> = None;
    let mut members: Vec<usize> = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    // Where each mapping's cell is: its column, or none when no record changes it.
    let mut column_of = vec![None; fields.mapped.len()];
    for (c, &m) in columns.iter().enumerate() {
        column_of[m] = Some(c);
    }
    // Where each record's new values are in its row, for the recorder's staging; staged only
    // while the upload fits one job.
    let mut new_cells: Vec<StagedCell<'_>> = Vec::new();
    let mut staging = true;
    for &i in todo {
        line.clear();
        new_cells.clear();
        crate::csvtext::push_cell_bytes(&mut line, changes.record_id_bytes(i));
        // Changes come in mapping order, as the columns are: each cell is written in place,
        // after a comma for every column up to its own (empty cells leave fields alone).
        let mut next = 0;
        changes.each_change(i, &mut |m, old, new| {
            let Some(c) = column_of[m] else { return };
            // A mapping changed twice (a revert of an edited `changes.csv`) adds to its cell.
            line.resize(line.len() + (c + 1).saturating_sub(next), b',');
            next = next.max(c + 1);
            let start = line.len();
            new.push(&mut line);
            new_cells.push(StagedCell {
                mapping: m,
                old,
                new: start..line.len(),
            });
            finish_bulk_cell(&mut line, start);
        });
        line.resize(line.len() + (columns.len() - next), b',');
        line.push(b'\n');
        if let Some((_, len)) = &current
            && *len + line.len() as u64 > MAX_UPLOAD
            && !members.is_empty()
            && let Some((writer, len)) = current.take()
        {
            let file = writer
                .into_inner()
                .map_err(|e| file_error(e.into_error()))?;
            jobs.push((file, len, std::mem::take(&mut members)));
            if staging {
                results.recorder.drop_staged();
                staging = false;
            }
        }
        if staging && !results.recorder.stage(i, &line, &new_cells) {
            results.recorder.drop_staged();
            staging = false;
        }
        if current.is_none() {
            let mut writer = std::io::BufWriter::with_capacity(
                256 * 1024,
                tempfile::NamedTempFile::new().map_err(file_error)?,
            );
            writer.write_all(&header).map_err(file_error)?;
            current = Some((writer, header.len() as u64));
        }
        let Some((writer, len)) = &mut current else {
            continue;
        };
        writer.write_all(&line).map_err(file_error)?;
        *len += line.len() as u64;
        members.push(i);
    }
    if let Some((writer, len)) = current.take() {
        let file = writer
            .into_inner()
            .map_err(|e| file_error(e.into_error()))?;
        jobs.push((file, len, members));
    }
    let mut locked = Vec::new();
    // Results name records by Id: plan indices sorted by Id, searched (a hash map of a million
    // Ids was ~80 MB; issue 6).
    let mut by_id: Vec<usize> = todo.to_vec();
    by_id.sort_unstable_by(|&a, &b| changes.record_id_bytes(a).cmp(changes.record_id_bytes(b)));
    let by_id = ById {
        changes,
        sorted: by_id,
    };
    for (file, len, members) in jobs {
        let job = client
            .create_ingest_job(&integration.object, IngestOperation::Update, None)
            .await?;
        if let Err(e) = client
            .upload_job_file(&job.id, std::sync::Arc::new(file), len)
            .await
        {
            let _ = client.abort_ingest_job(&job.id).await;
            return Err(e);
        }
        if let Err(e) = client.close_ingest_job(&job.id).await {
            // A retried close whose first attempt went through finds the job already closed:
            // carry on with it rather than abandon records Salesforce is writing.
            let closed = client
                .ingest_job_info(&job.id)
                .await
                .is_ok_and(|info| info.state != JobState::Open && info.state != JobState::Aborted);
            if !closed {
                let _ = client.abort_ingest_job(&job.id).await;
                return Err(e);
            }
        }
        let info = match client
            .wait_for_ingest_job(&job.id, crate::tuning::bulk_timeout())
            .await
        {
            Ok(info) => info,
            Err(e) => {
                // Out of time: stop the job, and record whatever it wrote before it stopped,
                // so changes.csv lists every value Salesforce holds.
                let _ = client.abort_ingest_job(&job.id).await;
                if client
                    .wait_for_ingest_job(&job.id, bulk_abort_wait())
                    .await
                    .is_ok()
                {
                    let _ = collect_bulk(client, &job.id, None, &by_id, results, &mut locked).await;
                }
                return Err(e);
            }
        };
        if info.state != JobState::JobComplete {
            // Failed or aborted: whatever Salesforce reports as done still counts.
            collect_bulk(client, &job.id, None, &by_id, results, &mut locked).await?;
            return Err(SfError::Invalid(format!(
                "Bulk API job {} ended {:?}{}",
                job.id,
                info.state,
                info.error_message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            )));
        }
        let done = Some((&info, members.as_slice(), staging));
        collect_bulk(client, &job.id, done, &by_id, results, &mut locked).await?;
        progress.inc(members.len() as u64);
    }
    Ok(locked)
}

/// Planned records by Id.
struct ById<'a> {
    changes: &'a dyn Changes,
    sorted: Vec<usize>,
}

impl ById<'_> {
    fn get(&self, id: &str) -> Option<usize> {
        self.sorted
            .binary_search_by(|&i| self.changes.record_id_bytes(i).cmp(id.as_bytes()))
            .ok()
            .map(|at| self.sorted[at])
    }
}

/// The outcome of every record of a job. The result CSVs are read row by row (a million-row
/// result was ~300 MB as a table of strings; issue 6). When the job completed and its info
/// says all of `members` were processed and none failed, the successful-results request is
/// skipped: every one of them was written (research §5.3).
async fn collect_bulk(
    client: &Client,
    job_id: &str,
    done: Option<(&crate::salesforce::bulk::JobInfo, &[usize], bool)>,
    by_id: &ById<'_>,
    results: &mut Results<'_>,
    locked: &mut Vec<usize>,
) -> Result<(), SfError> {
    if let Some((info, members, staged)) = done
        && info.state == JobState::JobComplete
        && info.number_records_failed == Some(0)
        && info.number_records_processed == Some(members.len() as u64)
    {
        // Their `changes.csv` lines were staged with the upload: committed at once.
        if staged && results.recorder.commit_staged() {
            for &i in members {
                results.set_staged(i);
            }
        } else {
            for &i in members {
                results.set(i, RecordResult::Updated);
            }
        }
        results.recorder.flush();
        return Ok(());
    }
    results.recorder.drop_staged();
    let ok = client.ingest_results(job_id, ResultSet::Successful).await?;
    for_each_result(&ok, &["sf__Id"], |row| {
        if let Some(i) = by_id.get(row[0]) {
            results.set(i, RecordResult::Updated);
        }
    })?;
    drop(ok);
    let failed = client.ingest_results(job_id, ResultSet::Failed).await?;
    for_each_result(&failed, &["sf__Id", "Id", "sf__Error"], |row| {
        let id = if row[0].is_empty() { row[1] } else { row[0] };
        let Some(i) = by_id.get(id) else {
            return;
        };
        let (code, rest) = split_bulk_error(row[2]);
        if code == "UNABLE_TO_LOCK_ROW" {
            locked.push(i);
            return;
        }
        let (message, fields) = rest.rsplit_once(':').map_or((rest, ""), |(m, f)| (m, f));
        let failed = RecordResult::Failed {
            code: code.to_owned(),
            message: message.to_owned(),
            fields: fields
                .trim_end_matches("--")
                .split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        results.set(i, failed);
    })?;
    results.recorder.flush();
    Ok(())
}

/// Call `each` with the cells of `columns` (empty when a column is absent) for every row of a
/// result CSV; at most four columns, so no row allocates.
fn for_each_result(
    text: &str,
    columns: &[&str],
    mut each: impl FnMut(&[&str]),
) -> Result<(), SfError> {
    let decode = |e: csv::Error| SfError::Decode {
        what: "a Bulk API result CSV".to_owned(),
        detail: e.to_string(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(decode)?.clone();
    let at: Vec<Option<usize>> = columns
        .iter()
        .map(|c| headers.iter().position(|h| h == *c))
        .collect();
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(decode)? {
        let mut cells = [""; 4];
        for (cell, col) in cells.iter_mut().zip(&at) {
            *cell = col.and_then(|c| record.get(c)).unwrap_or("");
        }
        each(&cells[..at.len().min(4)]);
    }
    Ok(())
}
