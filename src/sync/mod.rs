//! The sync (SPEC §5), top to bottom: read and convert the report, match rows to records by
//! key, plan only what differs, write it (sObject Collections or Bulk API 2.0), and account for
//! every row in exactly one outcome.

pub mod bulk_match;
pub mod execute;
pub mod key;
pub mod matcher;
pub mod packed;
pub mod plan;
pub mod prepare;
pub mod revert;

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{Integration, MaxChanges};
use crate::report::Value;
use crate::runlog::{RunDir, StagedChanges};
use crate::salesforce::client::Client;
use crate::salesforce::describe::Field;
use crate::salesforce::error::SfError;

pub use prepare::Prepared;

/// What a run may do.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub dry_run: bool,
    /// `--only KEY…`: just the rows with these keys (normalised like every key).
    pub only: Vec<String>,
    /// Daily API requests to leave for others; `None` = [`DEFAULT_RESERVE_PERCENT`] of the
    /// org's allowance.
    pub api_reserve: Option<u64>,
}

/// The share of the org's daily API allowance a run leaves for everything else by default.
pub const DEFAULT_RESERVE_PERCENT: u64 = 5;

/// Records a dry run shows field by field; the rest is in `changes.csv`.
pub const PREVIEW_RECORDS: usize = 20;

/// How a sync ended, with what the command shows of its plan.
#[derive(Debug)]
pub struct Finished {
    pub stop: Stop,
    /// Records the plan changes (or, stopped by `max_changes`, would have changed).
    pub planned: usize,
    /// The first [`PREVIEW_RECORDS`] planned records, field by field.
    pub preview: Vec<PreviewRecord>,
}

/// One planned record as a dry run shows it; text as sent or read, not yet sanitised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewRecord {
    pub id: String,
    pub key: String,
    /// (field, old, new); an empty value is null.
    pub fields: Vec<(String, String, String)>,
}

/// How a sync ended, for the run record and the exit code.
#[derive(Debug)]
pub enum Stop {
    /// Every row was accounted for.
    Done,
    /// `max_changes` or a fatal error stopped the run; the message is recorded.
    Failed(String),
    /// The credentials were refused mid-run (exit 3).
    Auth(String),
}

/// The fields a sync reads and writes, resolved from the describe.
#[derive(Debug)]
pub struct Fields<'a> {
    pub key: &'a Field,
    pub mapped: Vec<&'a Field>,
    /// Whether converted Leads must be told apart (object Lead, `converted_leads = "skip"`).
    pub skip_converted: bool,
}

#[cfg(test)]
impl<'a> Fields<'a> {
    /// A key and mapped fields, converted Leads not told apart.
    pub(crate) fn of(key: &'a Field, mapped: Vec<&'a Field>) -> Self {
        Self {
            key,
            mapped,
            skip_converted: false,
        }
    }
}

/// Row outcomes while the run goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowState {
    Unchanged,
    Pending,
    Updated,
    Failed,
    Aborted,
    /// Already counted as unmatched or skipped.
    Counted,
}

/// Run one integration's sync against an open run directory.
pub async fn run(
    integration: &Integration,
    fields: &Fields<'_>,
    report_path: &std::path::Path,
    client: &Client,
    run: &mut RunDir,
    options: &RunOptions,
    printer: &crate::output::Printer,
) -> anyhow::Result<Finished> {
    let finished = |stop: Stop| Finished {
        stop,
        planned: 0,
        preview: Vec::new(),
    };
    // 1. Read and convert the report (rejections are recorded as they are found).
    let progress = bar(printer, None, "read");
    let mut prepared = prepare::read(integration, fields, report_path, options, run, &progress)?;
    progress.finish_and_clear();
    run.record.counts.rows = prepared.rows_total;
    run.record.counts.rejected = prepared.rejected;
    run.record.counts.skipped = prepared.skipped;
    let usable = prepared.rows.live();
    run.log(&format!(
        "read {} rows from {}: {usable} usable, {} rejected, {} skipped",
        prepared.rows_total,
        report_path.display(),
        prepared.rejected,
        prepared.skipped
    ));
    printer.status(&format!(
        "  read {} rows ({} rejected, {} skipped as duplicates)",
        prepared.rows_total, prepared.rejected, prepared.skipped
    ));
    if let Some(first) = prepared.only_missing.first() {
        let more = prepared.only_missing.len() - 1;
        let line = match more {
            0 => format!("--only: no row of the report has the key {first:?}"),
            _ => format!("--only: no row of the report has the key {first:?}, nor {more} more"),
        };
        run.log(&line);
        printer.warn(&crate::output::sanitize(&line));
    }

    // 2. Match rows to records; records are diffed as they come (the plan is made here).
    let progress = bar(printer, Some(0), "match");
    let matched = matcher::fetch(integration, fields, &prepared, client, &progress).await;
    progress.finish_and_clear();
    let matched = match matched {
        Ok(m) => m,
        Err(e) => {
            run.record.counts.aborted += usable as u64;
            return Ok(finished(stop_error(&e)));
        }
    };
    run.log(&format!("matching used {}", matched.strategy));
    // The key index served matching only; freed before the plan is written (memory: issue 6).
    prepared.rows.drop_index();
    let matcher::Matched {
        live,
        converted,
        mut plan,
        ..
    } = matched;
    let rows = &prepared.rows;
    let mut states = vec![RowState::Unchanged; rows.len()];
    let mut matched_records = 0u64;
    for (i, state) in states.iter_mut().enumerate() {
        if !rows.is_live(i) {
            // Rejected or skipped while reading, and counted then.
            *state = RowState::Counted;
            continue;
        }
        let live_count = live.get(i).copied().unwrap_or(0);
        if live_count == 0 && !converted.contains(&i) {
            run.record.counts.unmatched += 1;
            run.unmatched(rows.line(i), rows.key(i))?;
            *state = RowState::Counted;
            continue;
        }
        if live_count == 0 {
            run.record.counts.skipped += 1;
            run.skipped(
                rows.line(i),
                rows.key(i),
                "matches only converted Leads (converted_leads = \"skip\")",
            )?;
            *state = RowState::Counted;
            continue;
        }
        if live_count > 1
            && integration.options.on_multiple_matches == crate::config::OnMultipleMatches::Skip
        {
            run.record.counts.skipped += 1;
            run.skipped(
                rows.line(i),
                rows.key(i),
                &format!("matches {live_count} records (on_multiple_matches = \"skip\")"),
            )?;
            *state = RowState::Counted;
            continue;
        }
        matched_records += u64::from(live_count);
    }
    drop(live);
    drop(converted);
    plan.retain_rows(|row| states[row] != RowState::Counted);
    plan.sort_by_row();
    for i in 0..plan.len() {
        states[plan.row(i)] = RowState::Pending;
    }
    let planned = plan.len();
    run.record.records.matched = matched_records;
    run.log(&format!(
        "matched {matched_records} records; {planned} records to change"
    ));
    printer.status(&format!(
        "  matched {matched_records} records; {planned} to change, {} unchanged",
        states.iter().filter(|s| **s == RowState::Unchanged).count()
    ));

    let preview: Vec<PreviewRecord> = (0..planned.min(PREVIEW_RECORDS))
        .map(|i| PreviewRecord {
            id: plan.id(i).to_owned(),
            key: rows.key(plan.row(i)).to_owned(),
            fields: plan
                .changes(i, rows)
                .iter()
                .map(|f| {
                    (
                        fields.mapped[f.mapping].name.clone(),
                        f.old.to_string(),
                        f.new.to_string(),
                    )
                })
                .collect(),
        })
        .collect();
    let finished = |stop: Stop| Finished {
        stop,
        planned,
        preview: preview.clone(),
    };
    let view = plan::PlanView { plan: &plan, rows };

    // 3. The safety brake, before anything is written.
    if let Some(max) = integration.options.max_changes {
        let limit = max.limit(matched_records);
        if planned as u64 > limit {
            let what = match max {
                MaxChanges::Count(n) => format!("max_changes = {n}"),
                MaxChanges::Percent(p) => {
                    format!("max_changes = \"{p}%\" of {matched_records} matched records = {limit}")
                }
            };
            finish_counts(run, &states, RowState::Aborted);
            return Ok(finished(Stop::Failed(format!(
                "the plan changes {planned} records, more than {what}; nothing was written"
            ))));
        }
    }

    // 4. A dry run stops here: the plan is the result.
    if options.dry_run {
        let mut lines = ChangeLines::new(integration);
        for i in 0..planned {
            lines.write(run, &view, i)?;
        }
        finish_counts(run, &states, RowState::Updated);
        run.log("dry run: nothing was written");
        return Ok(finished(Stop::Done));
    }

    // 5. Enough daily API allowance left for the plan, keeping the reserve?
    if let Some(reason) = allowance_short(integration, planned, client, options) {
        finish_counts(run, &states, RowState::Aborted);
        return Ok(finished(Stop::Failed(reason)));
    }

    // 6. Write.
    let progress = bar(printer, Some(planned as u64), "write");
    let mut stage_lines = ChangeLines::new(integration);
    let mut stage =
        |staged: &mut StagedChanges, i: usize, row: &[u8], cells: &[execute::StagedCell<'_>]| {
            stage_lines.stage(staged, &view, i, row, cells)
        };
    let mut recorder = LogRecorder {
        run,
        changes: &view,
        accepted: {
            let mut lines = ChangeLines::new(integration);
            let view = &view;
            move |run: &mut RunDir, i: usize| lines.write(run, view, i)
        },
        key: |i: usize| rows.key(plan.row(i)).to_owned(),
        stage: Some(&mut stage),
        staged: None,
        error: None,
    };
    let outcome = execute::write(
        integration,
        fields,
        &view,
        client,
        &mut recorder,
        printer,
        &progress,
    )
    .await;
    if let Some(e) = recorder.error.take() {
        return Err(anyhow::Error::new(e).context("cannot write the run log"));
    }
    progress.finish_and_clear();
    for (index, result) in outcome.results.iter().enumerate() {
        let row = plan.row(index);
        match result {
            execute::Written::Updated => {
                if states[row] == RowState::Pending {
                    states[row] = RowState::Updated;
                }
            }
            execute::Written::Failed => states[row] = RowState::Failed,
            execute::Written::Aborted => {
                if states[row] != RowState::Failed {
                    states[row] = RowState::Aborted;
                }
            }
        }
    }
    // A row some of whose records were written and some aborted stays aborted; pending rows
    // whose records all succeeded are updated.
    finish_counts(run, &states, RowState::Aborted);
    run.flush()?;
    Ok(finished(match outcome.stop {
        None => Stop::Done,
        Some(e) => stop_error(&e),
    }))
}

/// The run directory as the write phase's recorder (of a run and of a revert): accepted values go
/// to `changes.csv` (through `accepted`) and final failures to `failed.csv` as soon as Salesforce
/// answers; the first I/O error is kept for the end.
pub(crate) struct LogRecorder<'a, C: ?Sized, A, K> {
    pub run: &'a mut RunDir,
    pub changes: &'a C,
    /// Writes an accepted record's fields to `changes.csv`.
    pub accepted: A,
    /// The report key a record was written for.
    pub key: K,
    /// Writes a record's `changes.csv` lines ahead, with its new values as uploaded
    /// ([`execute::Recorder::stage`]); `None`: no staging.
    pub stage: Option<&'a mut StageLines<'a>>,
    pub staged: Option<StagedChanges>,
    pub error: Option<std::io::Error>,
}

/// Writes record `i`'s `changes.csv` lines to the staged file, its new values taken from its
/// upload row.
pub(crate) type StageLines<'a> = dyn FnMut(&mut StagedChanges, usize, &[u8], &[execute::StagedCell<'_>]) -> std::io::Result<()>
    + 'a;

impl<C, A, K> execute::Recorder for LogRecorder<'_, C, A, K>
where
    C: plan::Changes + ?Sized,
    A: FnMut(&mut RunDir, usize) -> std::io::Result<()>,
    K: Fn(usize) -> String,
{
    fn log(&mut self, line: &str) {
        self.run.log(line);
    }

    fn result(&mut self, index: usize, result: &execute::RecordResult) {
        let written = match result {
            execute::RecordResult::Updated => {
                self.run.record.records.updated += 1;
                (self.accepted)(self.run, index)
            }
            execute::RecordResult::Failed {
                code,
                message,
                fields,
            } => {
                self.run.record.records.failed += 1;
                let key = (self.key)(index);
                self.run.failed(
                    self.changes.record_id(index),
                    &key,
                    code,
                    message,
                    &fields.join(";"),
                )
            }
            execute::RecordResult::Aborted => Ok(()),
        };
        if let Err(e) = written {
            self.error.get_or_insert(e);
        }
    }

    fn flush(&mut self) {
        if let Err(e) = self.run.flush() {
            self.error.get_or_insert(e);
        }
    }

    fn stage(&mut self, index: usize, row: &[u8], cells: &[execute::StagedCell<'_>]) -> bool {
        let Some(stage) = self.stage.as_mut() else {
            return false;
        };
        if self.staged.is_none() {
            // Without a staged file the lines are written as results come, as always.
            self.staged = self.run.stage_changes().ok();
        }
        self.staged
            .as_mut()
            .is_some_and(|staged| stage(staged, index, row, cells).is_ok())
    }

    fn commit_staged(&mut self) -> bool {
        let Some(staged) = self.staged.take() else {
            return false;
        };
        match self.run.commit_staged(staged) {
            Ok(committed) => {
                if committed {
                    self.run
                        .log("changes.csv: the lines staged with the upload are committed");
                }
                committed
            }
            Err(e) => {
                // The run log is broken (see `RunDir::commit_staged`): the run reports the
                // error; the lines are written as results come, wherever `changes.csv` is.
                self.error.get_or_insert(e);
                false
            }
        }
    }

    fn drop_staged(&mut self) {
        self.stage = None;
        self.staged = None;
    }

    fn accepted_staged(&mut self, _index: usize) {
        self.run.record.records.updated += 1;
    }
}

/// Why the org's remaining daily API requests (from the last `Sforce-Limit-Info`, research
/// §6.2) minus the reserve cannot cover the plan, if they cannot.
fn allowance_short(
    integration: &Integration,
    records: usize,
    client: &Client,
    options: &RunOptions,
) -> Option<String> {
    let info = client.stats().limit_info?;
    let bulk = execute::uses_bulk(integration, records);
    let needed = execute::estimate_calls(bulk, records);
    let reserve = options
        .api_reserve
        .unwrap_or(info.max * DEFAULT_RESERVE_PERCENT / 100);
    let usable = info.remaining().saturating_sub(reserve);
    (needed > usable).then(|| {
        format!(
            "the plan needs about {needed} API request{}, but only {} of the org's daily API \
             allowance remain ({}/{} used) and {reserve} are kept in reserve (`--api-reserve`); \
             nothing was written",
            if needed == 1 { "" } else { "s" },
            info.remaining(),
            info.used,
            info.max
        )
    })
}

/// A progress bar on stderr when it is a terminal, else one that draws nothing.
fn bar(printer: &crate::output::Printer, len: Option<u64>, what: &str) -> ProgressBar {
    if !printer.progress {
        return ProgressBar::hidden();
    }
    let (bar, template) = match len {
        Some(n) => (
            ProgressBar::new(n),
            "  {msg:5} [{bar:30}] {pos}/{len} {elapsed}",
        ),
        None => (ProgressBar::new_spinner(), "  {msg:5} {spinner} {pos} rows"),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Count every row not yet counted; `pending` says what a still-pending row became.
fn finish_counts(run: &mut RunDir, states: &[RowState], pending: RowState) {
    let c = &mut run.record.counts;
    for state in states {
        let state = if *state == RowState::Pending {
            pending
        } else {
            *state
        };
        match state {
            RowState::Unchanged => c.unchanged += 1,
            RowState::Updated => c.updated += 1,
            RowState::Failed => c.failed += 1,
            RowState::Aborted | RowState::Pending => c.aborted += 1,
            RowState::Counted => {}
        }
    }
}

/// Writes planned records' `changes.csv` lines: the record's `id,key,` once, each field's name
/// quoted once, old and new values straight from the packed rows (issue 6).
struct ChangeLines {
    /// Each mapping's Salesforce field name as a CSV cell, and the comma after it.
    field_cells: Vec<Vec<u8>>,
    prefix: Vec<u8>,
    lines: Vec<u8>,
}

impl ChangeLines {
    fn new(integration: &Integration) -> Self {
        let field_cells = integration
            .fields
            .iter()
            .map(|f| {
                let mut cell = Vec::new();
                crate::csvtext::push_cell(&mut cell, &f.salesforce);
                cell.push(b',');
                cell
            })
            .collect();
        Self {
            field_cells,
            prefix: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// Append planned record `i`'s lines to `changes.csv`.
    fn write(
        &mut self,
        run: &mut RunDir,
        view: &plan::PlanView<'_>,
        i: usize,
    ) -> std::io::Result<()> {
        use plan::Changes as _;
        self.begin(view, i);
        let mut lines = std::mem::take(&mut self.lines);
        lines.clear();
        view.each_change(i, &mut |mapping, old, new| {
            self.line(&mut lines, mapping, old, |l| new.push(l));
        });
        let written = run.change_lines(&lines);
        self.lines = lines;
        written
    }

    /// Append planned record `i`'s lines to the staged file: its changed fields as its upload
    /// row was written, each new value taken from `row` (written as text once).
    fn stage(
        &mut self,
        staged: &mut StagedChanges,
        view: &plan::PlanView<'_>,
        i: usize,
        row: &[u8],
        cells: &[execute::StagedCell<'_>],
    ) -> std::io::Result<()> {
        self.begin(view, i);
        staged.append(|lines| {
            for cell in cells {
                let new = &row[cell.new.clone()];
                self.line(lines, cell.mapping, cell.old, |l| l.extend_from_slice(new));
            }
        })
    }

    /// Start record `i`'s lines: its `id,key,` prefix.
    fn begin(&mut self, view: &plan::PlanView<'_>, i: usize) {
        self.prefix.clear();
        crate::csvtext::push_cell_bytes(&mut self.prefix, view.plan.id_bytes(i));
        self.prefix.push(b',');
        crate::csvtext::push_cell(&mut self.prefix, view.rows.key(view.plan.row(i)));
        self.prefix.push(b',');
    }

    /// Append one line to `lines`: the record's `id,key,` prefix, the field, the old value, the
    /// new one.
    #[inline]
    fn line(
        &self,
        lines: &mut Vec<u8>,
        mapping: usize,
        old: plan::Cell<'_>,
        new: impl FnOnce(&mut Vec<u8>),
    ) {
        lines.extend_from_slice(&self.prefix);
        lines.extend_from_slice(&self.field_cells[mapping]);
        old.push(lines);
        lines.push(b',');
        new(lines);
        lines.push(b'\n');
    }
}

fn stop_error(error: &SfError) -> Stop {
    match error {
        // The hint names the `login` command to run (SPEC §3); the stop keeps only text.
        SfError::Auth(fail) => Stop::Auth(match &fail.hint {
            Some(hint) => format!("{error}: {fail}; {hint}"),
            None => format!("{error}: {fail}"),
        }),
        other => Stop::Failed(other.to_string()),
    }
}

/// The current value of a record's field, normalised for the diff.
#[must_use]
pub fn current_value(record: &serde_json::Map<String, serde_json::Value>, field: &Field) -> Value {
    let raw = record
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&field.name))
        .map_or(&serde_json::Value::Null, |(_, v)| v);
    Value::from_salesforce_json(raw, field).unwrap_or(Value::Null)
}
