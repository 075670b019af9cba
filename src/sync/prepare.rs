//! Reading the report for a sync: resolve the columns, convert each mapped cell to its field's
//! type, reject what cannot be sent (SPEC §5 step 3) and settle duplicate keys by
//! `on_duplicate_key`.

// Keys are hashed once per row and once per scanned record; FxHash is several times cheaper
// than SipHash there, and a report is the user's own input, so flooding is no concern (issue 6).
use rustc_hash::FxHashMap as HashMap;
use std::path::Path;

use crate::config::{EmptyCells, Integration, OnDuplicateKey};
use crate::error::Fail;
use crate::report::{self, Report, Value};
use crate::runlog::RunDir;

use super::{Fields, RunOptions, key};

/// Rows read between two advances of the progress bar: each `inc` reads the clock, and once per
/// row that was ~2 % of a million-row run's CPU (perf, issue 6).
const PROGRESS_STEP: u64 = 1024;

/// Normalised key → index into [`Prepared::rows`].
pub type KeyIndex = HashMap<String, usize>;

/// A usable report row.
#[derive(Debug)]
pub struct Row {
    pub line: u64,
    /// The key as written, trimmed (what logs and CSVs show and what is sent in SOQL).
    pub key: String,
    /// Per mapping: the value to write, or `None` to leave the field alone.
    pub values: Vec<Option<Value>>,
}

/// The report, ready to match.
#[derive(Debug, Default)]
pub struct Prepared {
    pub rows: Vec<Row>,
    /// Every data row of the report, whatever became of it.
    pub rows_total: u64,
    pub rejected: u64,
    pub skipped: u64,
    /// Normalised key → index into `rows`.
    pub index: KeyIndex,
}

/// Read the whole report. A report that cannot be used as a whole is a usage error (exit 2).
pub fn read(
    integration: &Integration,
    fields: &Fields<'_>,
    path: &Path,
    options: &RunOptions,
    run: &mut RunDir,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<Prepared> {
    let usage = |message: String| Fail::usage(message);
    let mut report = Report::open(path)
        .map_err(|e| usage(format!("the report {} cannot be used: {e}", path.display())))?;
    let columns = report.columns().clone();
    let key_col = columns
        .resolve(&integration.key.report)
        .map_err(|e| usage(format!("the report {}: {e}", path.display())))?;
    let mut value_cols = Vec::with_capacity(integration.fields.len());
    for m in &integration.fields {
        value_cols.push(
            columns
                .resolve(&m.report)
                .map_err(|e| usage(format!("the report {}: {e}", path.display())))?,
        );
    }
    let case_sensitive = integration.options.key_case_sensitive;
    let only: Vec<String> = options
        .only
        .iter()
        .map(|k| key::normalise_for(k, fields.key, case_sensitive))
        .collect();

    let mut prepared = Prepared::default();
    // Rows in the order their key first appears; `prepared.index` maps each key to its slot.
    // A slot is `None` when that first row was rejected for its own reason. Rows whose key was
    // seen before wait in `repeats` (rare) until the whole report is read. Each key is held
    // once (in the index): at a million rows the rows are most of the run's memory (issue 6).
    let mut slots: Vec<Option<Row>> = Vec::new();
    let mut first_rejected: HashMap<usize, u64> = HashMap::default();
    let mut repeats: HashMap<usize, Vec<(u64, Option<Row>)>> = HashMap::default();
    let mut unreported = 0u64;
    for item in report.by_ref() {
        unreported += 1;
        if unreported == PROGRESS_STEP {
            progress.inc(unreported);
            unreported = 0;
        }
        let row = match item {
            Ok(row) => row,
            Err(rejected) => {
                let key = rejected
                    .cells
                    .as_ref()
                    .and_then(|c| c.get(key_col))
                    .map_or("", |k| k.trim());
                // `--only`: a row whose key can be read and is not asked for is not part of
                // the run; one whose key cannot be read may be, so it is reported.
                if !only.is_empty()
                    && !key.is_empty()
                    && !only.contains(&key::normalise_for(key, fields.key, case_sensitive))
                {
                    continue;
                }
                prepared.rows_total += 1;
                prepared.rejected += 1;
                run.rejected(rejected.line, key, &rejected.reason)?;
                continue;
            }
        };
        let raw_key = row.cells.get(key_col).map_or("", |k| k.trim());
        let norm = key::normalise_for(raw_key, fields.key, case_sensitive);
        if !only.is_empty() && !only.contains(&norm) {
            continue;
        }
        prepared.rows_total += 1;
        if norm.is_empty() {
            prepared.rejected += 1;
            run.rejected(
                row.line,
                "",
                &format!("the key column {:?} is empty", integration.key.report),
            )?;
            continue;
        }
        let converted = convert_row(integration, fields, &value_cols, &row.cells);
        let entry = match converted {
            Ok(values) => Some(Row {
                line: row.line,
                key: raw_key.to_owned(),
                values,
            }),
            Err(reason) => {
                prepared.rejected += 1;
                run.rejected(row.line, raw_key, &reason)?;
                None
            }
        };
        if let Some(&slot) = prepared.index.get(&norm) {
            repeats.entry(slot).or_default().push((row.line, entry));
        } else {
            prepared.index.insert(norm, slots.len());
            if entry.is_none() {
                first_rejected.insert(slots.len(), row.line);
            }
            slots.push(entry);
        }
    }
    progress.inc(unreported);
    report
        .finish()
        .map_err(|e| anyhow::anyhow!("reading the report {} failed: {e}", path.display()))?;

    // Settle duplicate keys, in the order the keys first appeared.
    let mut repeated: Vec<usize> = repeats.keys().copied().collect();
    repeated.sort_unstable();
    for slot in repeated {
        let Some(later) = repeats.remove(&slot) else {
            continue;
        };
        let first = slots[slot].take();
        let first_line = first.as_ref().map_or_else(
            || first_rejected.get(&slot).copied().unwrap_or(0),
            |r| r.line,
        );
        let mut rows = Vec::with_capacity(later.len() + 1);
        rows.push((first_line, first));
        rows.extend(later);
        let lines: Vec<String> = rows.iter().map(|(l, _)| l.to_string()).collect();
        let lines = lines.join(", ");
        match integration.options.on_duplicate_key {
            OnDuplicateKey::Reject => {
                for (line, row) in rows {
                    // A row rejected for its own reason was counted already.
                    if let Some(row) = row {
                        prepared.rejected += 1;
                        run.rejected(
                            line,
                            &row.key,
                            &format!(
                                "duplicate key (lines {lines}; on_duplicate_key = \"reject\")"
                            ),
                        )?;
                    }
                }
            }
            OnDuplicateKey::First | OnDuplicateKey::Last => {
                let policy = if integration.options.on_duplicate_key == OnDuplicateKey::First {
                    "first"
                } else {
                    "last"
                };
                let winner = if policy == "first" { 0 } else { rows.len() - 1 };
                for (i, (line, row)) in rows.into_iter().enumerate() {
                    let Some(row) = row else { continue };
                    if i == winner {
                        slots[slot] = Some(row);
                    } else {
                        prepared.skipped += 1;
                        run.skipped(
                            line,
                            &row.key,
                            &format!(
                                "duplicate key (lines {lines}; on_duplicate_key = \"{policy}\")"
                            ),
                        )?;
                    }
                }
            }
        }
    }

    // Drop the empty slots and point the index at the rows' final places.
    if slots.iter().any(Option::is_none) {
        let mut next = 0usize;
        let place: Vec<Option<usize>> = slots
            .iter()
            .map(|s| {
                s.as_ref().map(|_| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        prepared.index.retain(|_, slot| match place[*slot] {
            Some(p) => {
                *slot = p;
                true
            }
            None => false,
        });
    }
    // `Option<Row>` and `Row` have one layout, so this reuses the slots' allocation.
    #[allow(clippy::filter_map_identity)] // `flatten` would not collect in place
    let rows: Vec<Row> = slots.into_iter().filter_map(|s| s).collect();
    prepared.rows = rows;
    prepared.index.shrink_to_fit();
    Ok(prepared)
}

/// Convert a row's mapped cells, or say why it cannot be sent.
fn convert_row(
    integration: &Integration,
    fields: &Fields<'_>,
    cols: &[usize],
    cells: &[String],
) -> Result<Vec<Option<Value>>, String> {
    let mut values = Vec::with_capacity(cols.len());
    for ((mapping, field), col) in integration.fields.iter().zip(&fields.mapped).zip(cols) {
        let cell = cells.get(*col).map_or("", |c| c.trim());
        if cell.is_empty() {
            values.push(match integration.options.empty_cells {
                EmptyCells::Skip => None,
                EmptyCells::Clear
                    if field.nillable
                        || field.field_type == crate::salesforce::describe::FieldType::Boolean =>
                {
                    // A checkbox cannot be null; clearing it means false (Salesforce's own reading).
                    Some(
                        if field.field_type == crate::salesforce::describe::FieldType::Boolean {
                            Value::Bool(false)
                        } else {
                            Value::Null
                        },
                    )
                }
                EmptyCells::Clear => {
                    return Err(format!(
                        "column {:?} is empty and {} cannot be cleared (it is required)",
                        mapping.report, field.name
                    ));
                }
            });
            continue;
        }
        match report::convert(cell, field, mapping.format.as_deref()) {
            Ok(v) => values.push(Some(v)),
            Err(e) => return Err(format!("column {:?} → {}: {e}", mapping.report, field.name)),
        }
    }
    Ok(values)
}
