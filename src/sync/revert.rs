//! Undoing a run (SPEC §2 `revert`): every line of the run's `changes.csv` names a field it
//! wrote, the value it found and the value it wrote. A line is written back only where the
//! field still holds what the run wrote; anything else — a person's edit, a later run, a
//! deleted record — is listed and left alone.
//!
//! A revert is recorded as a run of its own whose "rows" are the lines of the reverted run's
//! `changes.csv` (line numbers as in that file, header = 1), each in exactly one outcome:
//! updated (written back), unchanged (already holds the old value), skipped (edited since:
//! listed in `skipped.csv` with what it holds now), unmatched (the record is gone), rejected
//! (the field can no longer be written, or the line cannot be read), failed or aborted.

use std::collections::HashMap;
use std::path::Path;

use indicatif::ProgressBar;

use crate::config::Integration;
use crate::output::Printer;
use crate::report::Value;
use crate::runlog::RunDir;
use crate::salesforce::client::Client;
use crate::salesforce::describe::{Field, ObjectDescribe};
use crate::salesforce::error::SfError;

use super::plan::{FieldChange, RecordChange};
use super::{Fields, Stop, current_value, execute, matcher, stop_error};

/// Lines of "edited since" shown on the terminal; all of them are in `skipped.csv`.
const SHOWN_CONFLICTS: usize = 20;

/// One line of a run's `changes.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Physical line in `changes.csv` where the record starts (header = 1).
    pub line: u64,
    pub id: String,
    pub key: String,
    pub field: String,
    /// What the field held before the run.
    pub old: String,
    /// What the run wrote.
    pub new: String,
}

/// Read a run's `changes.csv`.
pub fn read_changes(path: &Path) -> anyhow::Result<Vec<Entry>> {
    let file = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(file);
    let headers = reader
        .headers()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        .clone();
    if headers.iter().collect::<Vec<_>>() != ["id", "key", "field", "old", "new"] {
        anyhow::bail!(
            "{} is not a changes.csv of walkme-sf (its header is not id,key,field,old,new)",
            path.display()
        );
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let line = record.position().map_or(0, csv::Position::line);
        let cell = |i: usize| record.get(i).unwrap_or_default().to_owned();
        out.push(Entry {
            line,
            id: cell(0),
            key: cell(1),
            field: cell(2),
            old: cell(3),
            new: cell(4),
        });
    }
    Ok(out)
}

/// What to do with one line, given the field's current value (`None`: the record is gone).
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The field still holds what the run wrote: write `old` back.
    Restore,
    /// The field already holds the old value again.
    AlreadyOld,
    /// Someone or something changed the field since: leave it.
    Edited { current: Value },
    /// The record no longer exists (or the user cannot see it).
    Gone,
}

#[must_use]
pub fn decide(written: &Value, old: &Value, current: Option<&Value>) -> Decision {
    match current {
        None => Decision::Gone,
        Some(c) if c == old => Decision::AlreadyOld,
        Some(c) if c == written => Decision::Restore,
        Some(c) => Decision::Edited { current: c.clone() },
    }
}

/// A Salesforce record Id: 15 or 18 letters and digits.
fn is_record_id(id: &str) -> bool {
    matches!(id.len(), 15 | 18) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineState {
    Counted,
    Pending,
    Updated,
    Failed,
    Aborted,
}

/// Write back the old values of `entries` (the reverted run's `changes.csv`); the counts and
/// CSVs of `run` record the outcome of every line. `run`'s `counts.rows` is `entries.len()`
/// already: the command counts the lines before it logs in.
#[allow(clippy::too_many_arguments)] // the same context `sync::run` gets, plus the entries
pub async fn revert(
    integration: &Integration,
    describe: &ObjectDescribe,
    entries: &[Entry],
    client: &Client,
    run: &mut RunDir,
    dry_run: bool,
    reverted: &str,
    printer: &Printer,
) -> anyhow::Result<Stop> {
    run.log(&format!(
        "reverting run {reverted}: {} changed fields",
        entries.len()
    ));
    let mut states = vec![LineState::Counted; entries.len()];

    // 1. The fields, each still writable, and the lines' values read back as that field's type.
    let mut mapped: Vec<&Field> = Vec::new();
    let mut parsed: Vec<Option<(usize, Value, Value)>> = Vec::with_capacity(entries.len());
    for e in entries {
        let field = describe.field(&e.field);
        let problem = match field {
            _ if !is_record_id(&e.id) => Some(format!("`{}` is not a record Id", e.id)),
            None => Some(format!(
                "the field `{}` no longer exists on {}",
                e.field, describe.name
            )),
            Some(f) if !f.updateable || f.calculated => Some(format!(
                "the field `{}` of {} can no longer be written",
                f.name, describe.name
            )),
            Some(_) => None,
        };
        let values = field.and_then(|f| {
            Some((
                Value::from_bulk_csv(&e.old, f).ok()?,
                Value::from_bulk_csv(&e.new, f).ok()?,
            ))
        });
        match (problem, field, values) {
            (None, Some(f), Some((old, new))) => {
                let index = mapped
                    .iter()
                    .position(|m| m.name == f.name)
                    .unwrap_or_else(|| {
                        mapped.push(f);
                        mapped.len() - 1
                    });
                parsed.push(Some((index, old, new)));
            }
            (problem, _, _) => {
                let reason = problem.unwrap_or_else(|| {
                    format!("the values of `{}` cannot be read as its type", e.field)
                });
                run.record.counts.rejected += 1;
                run.rejected(e.line, &e.key, &reason)?;
                parsed.push(None);
            }
        }
    }

    // 2. The records' current values, queried by Id.
    let mut ids: Vec<String> = Vec::new();
    for (e, p) in entries.iter().zip(&parsed) {
        if p.is_some() && !ids.contains(&e.id) {
            ids.push(e.id.clone());
        }
    }
    let current = match fetch(describe, &mapped, &ids, client).await {
        Ok(c) => c,
        Err(e) => {
            for (state, p) in states.iter_mut().zip(&parsed) {
                if p.is_some() {
                    *state = LineState::Aborted;
                }
            }
            count(run, &states);
            return Ok(stop_error(&e));
        }
    };
    run.record.records.matched = current.len() as u64;

    // 3. Decide line by line; group what is written back by record.
    let mut changes: Vec<RecordChange> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut conflicts = Vec::new();
    for (i, (e, p)) in entries.iter().zip(&parsed).enumerate() {
        let Some((mapping, old, written)) = p else {
            continue;
        };
        let now = current.get(&id18(&e.id)).map(|values| &values[*mapping]);
        match decide(written, old, now) {
            Decision::Restore => {
                states[i] = LineState::Pending;
                let change = FieldChange {
                    mapping: *mapping,
                    old: written.clone(),
                    new: old.clone(),
                };
                if let Some(at) = changes.iter().position(|c| c.id == e.id) {
                    changes[at].changes.push(change);
                    members[at].push(i);
                } else {
                    changes.push(RecordChange {
                        id: e.id.clone(),
                        row: changes.len(),
                        changes: vec![change],
                    });
                    members.push(vec![i]);
                }
            }
            Decision::AlreadyOld => run.record.counts.unchanged += 1,
            Decision::Gone => {
                run.record.counts.unmatched += 1;
                run.unmatched(e.line, &e.key)?;
            }
            Decision::Edited { current } => {
                let reason = format!(
                    "{} now holds {}, not {} that run {reverted} wrote; left as it is",
                    e.field,
                    shown(&current.to_string()),
                    shown(&e.new)
                );
                run.record.counts.skipped += 1;
                run.skipped(e.line, &e.key, &reason)?;
                conflicts.push(format!("{} {}: {reason}", e.key, e.id));
            }
        }
    }
    let restore = states.iter().filter(|s| **s == LineState::Pending).count();
    run.log(&format!(
        "{restore} fields of {} records to write back; {} edited since, left as they are",
        changes.len(),
        conflicts.len()
    ));
    for c in &conflicts {
        run.log(&format!("edited since: {c}"));
    }
    if !conflicts.is_empty() {
        printer.status(&format!(
            "  {} field{} changed since the run; left as they are:",
            conflicts.len(),
            if conflicts.len() == 1 { "" } else { "s" }
        ));
        for c in conflicts.iter().take(SHOWN_CONFLICTS) {
            printer.status(&format!("    {}", crate::output::sanitize(c)));
        }
        if conflicts.len() > SHOWN_CONFLICTS {
            printer.status(&format!(
                "    … and {} more in skipped.csv",
                conflicts.len() - SHOWN_CONFLICTS
            ));
        }
    }
    let Some(id_field) = describe.field("Id").or_else(|| mapped.first().copied()) else {
        // No line could be read: nothing to write back.
        count(run, &states);
        return Ok(Stop::Done);
    };
    let fields = Fields {
        key: id_field,
        mapped,
        skip_converted: false,
    };

    // 4. A dry run records what it would write back.
    if dry_run {
        for change in &changes {
            record_changes(run, entries, &fields, change, &members[change.row])?;
        }
        for s in &mut states {
            if *s == LineState::Pending {
                *s = LineState::Updated;
            }
        }
        count(run, &states);
        run.log("dry run: nothing was written");
        return Ok(Stop::Done);
    }

    // 5. Write back, the way a run writes (recorded as Salesforce answers).
    let mut recorder = super::LogRecorder {
        run,
        changes: &changes,
        accepted: |run: &mut RunDir, i: usize| {
            let change = &changes[i];
            record_changes(run, entries, &fields, change, &members[change.row])
        },
        key: |i: usize| entries[members[changes[i].row][0]].key.clone(),
        // Its lines come from the reverted run's, not from the upload.
        stage: None,
        staged: None,
        error: None,
    };
    let outcome = execute::write(
        integration,
        &fields,
        &changes,
        client,
        &mut recorder,
        printer,
        &ProgressBar::hidden(),
    )
    .await;
    if let Some(e) = recorder.error.take() {
        return Err(anyhow::Error::new(e).context("cannot write the run log"));
    }
    for (change, result) in changes.iter().zip(&outcome.results) {
        let state = match result {
            execute::Written::Updated => LineState::Updated,
            execute::Written::Failed => LineState::Failed,
            execute::Written::Aborted => LineState::Aborted,
        };
        for &i in &members[change.row] {
            states[i] = state;
        }
    }
    count(run, &states);
    run.flush()?;
    Ok(match outcome.stop {
        None => Stop::Done,
        Some(e) => stop_error(&e),
    })
}

fn shown(value: &str) -> String {
    if value.is_empty() {
        "(empty)".to_owned()
    } else {
        format!("\"{value}\"")
    }
}

/// The 18-character form of an Id, for lookups (15-character Ids are case-sensitive; the
/// 18-character form adds a case-insensitive checksum, which is what queries return).
fn id18(id: &str) -> String {
    crate::report::convert::normalise_id(id).unwrap_or_else(|| id.to_owned())
}

/// Current values, one per field of `mapped`, by 18-character Id.
async fn fetch(
    describe: &ObjectDescribe,
    mapped: &[&Field],
    ids: &[String],
    client: &Client,
) -> Result<HashMap<String, Vec<Value>>, SfError> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut select = vec!["Id".to_owned()];
    select.extend(mapped.iter().map(|f| f.name.clone()));
    let prefix = format!(
        "SELECT {} FROM {} WHERE Id IN (",
        select.join(", "),
        describe.name
    );
    for chunk in matcher::chunks(&prefix, ids) {
        let soql = format!("{prefix}{})", chunk.join(","));
        for record in client.query(&soql).await? {
            let Some(id) = record.get("Id").and_then(|v| v.as_str()) else {
                continue;
            };
            let values = mapped.iter().map(|f| current_value(&record, f)).collect();
            out.insert(id18(id), values);
        }
    }
    Ok(out)
}

/// `changes.csv` of the revert: per line written back, the value it replaced and the old value.
fn record_changes(
    run: &mut RunDir,
    entries: &[Entry],
    fields: &Fields<'_>,
    change: &RecordChange,
    lines: &[usize],
) -> std::io::Result<()> {
    for (f, &i) in change.changes.iter().zip(lines) {
        run.change(
            &change.id,
            &entries[i].key,
            &fields.mapped[f.mapping].name,
            &f.old.to_string(),
            &f.new.to_string(),
        )?;
    }
    Ok(())
}

fn count(run: &mut RunDir, states: &[LineState]) {
    let c = &mut run.record.counts;
    for s in states {
        match s {
            LineState::Counted => {}
            LineState::Updated => c.updated += 1,
            LineState::Failed => c.failed += 1,
            LineState::Aborted | LineState::Pending => c.aborted += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.to_owned())
    }

    #[test]
    fn only_what_the_run_wrote_is_written_back() {
        let (old, new) = (text("a"), text("b"));
        assert_eq!(decide(&new, &old, Some(&text("b"))), Decision::Restore);
        assert_eq!(decide(&new, &old, Some(&text("a"))), Decision::AlreadyOld);
        assert_eq!(
            decide(&new, &old, Some(&text("c"))),
            Decision::Edited { current: text("c") }
        );
        assert_eq!(
            decide(&new, &old, Some(&Value::Null)),
            Decision::Edited {
                current: Value::Null
            }
        );
        assert_eq!(decide(&new, &old, None), Decision::Gone);
        // A run that cleared a field: the revert fills it again.
        assert_eq!(
            decide(&Value::Null, &old, Some(&Value::Null)),
            Decision::Restore
        );
    }

    #[test]
    fn changes_csv_lines_are_physical_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("changes.csv");
        std::fs::write(
            &path,
            "id,key,field,old,new\n00Q000000000001AAA,a@x.com,F__c,\"two\nlines\",b\n00Q000000000002AAA,b@x.com,F__c,,c\n",
        )
        .unwrap();
        let entries = read_changes(&path).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].line, 2);
        assert_eq!(entries[0].old, "two\nlines");
        assert_eq!(entries[1].line, 4);
        assert_eq!(entries[1].old, "");
        std::fs::write(&path, "line,key\n").unwrap();
        assert!(read_changes(&path).is_err());
    }

    #[test]
    fn record_ids_are_checked() {
        assert!(is_record_id("00Q000000000001AAA"));
        assert!(is_record_id("00Q000000000001"));
        assert!(!is_record_id("00Q' OR Id != '"));
        assert!(!is_record_id(""));
    }
}
