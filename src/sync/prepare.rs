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

use super::{Fields, RunOptions, key, packed};

/// Rows read between two advances of the progress bar: each `inc` reads the clock, and once per
/// row that was ~2 % of a million-row run's CPU (perf, issue 6).
const PROGRESS_STEP: u64 = 1024;

/// The usable report rows, packed (issue 6): keys in one buffer, values in another (the
/// [`packed`] encoding), and a hash table of row numbers over the keys. A row is a few dozen bytes
/// where a `Row` struct with its `String` and `Vec<Option<Value>>` was several hundred.
///
/// Every key seen gets a slot, in the order keys first appear; a slot is dead when its key ended
/// up with no usable row (its rows were rejected, or all skipped by `on_duplicate_key`).
#[derive(Debug, Default)]
pub struct Rows {
    /// Normalised keys, one after another; slot `i`'s ends at `key_end[i]`.
    keys: String,
    key_end: Vec<u32>,
    /// Keys as written where they are not their normal form (upper case, an Id's 15
    /// characters): their text one after another, and per such slot, in slot order, the slot
    /// and where its text ends. A report of mixed-case e-mail addresses costs ~8 bytes a row
    /// more, not a map entry and an allocation each.
    written_keys: String,
    written_at: Vec<(u32, u32)>,
    /// The key as written of a slot given a later row of its key (duplicates settled): rare.
    rewritten: HashMap<u32, Box<str>>,
    lines: Vec<u64>,
    /// Packed values, one item per mapping; slot `i`'s are `values[value_at[i].0..value_at[i].1]`.
    values: Vec<u8>,
    value_at: Vec<(u32, u32)>,
    dead: Vec<bool>,
    /// Slot numbers, hashed by their normalised key.
    index: hashbrown::HashTable<u32>,
}

/// Key `i` of keys held one after another, key `i` ending at `ends[i]`.
fn key_at<'k>(keys: &'k str, ends: &[u32], i: usize) -> &'k str {
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    &keys[start..ends[i] as usize]
}

fn hash_key(key: &str) -> u64 {
    use std::hash::BuildHasher as _;
    rustc_hash::FxBuildHasher.hash_one(key)
}

fn offset(len: usize, what: &str) -> anyhow::Result<u32> {
    u32::try_from(len).map_err(|_| {
        Fail::usage(format!(
            "the report is too large: its {what} take more than 4 GiB; split it into several reports"
        ))
        .into()
    })
}

impl Rows {
    /// Slots, dead ones included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.key_end.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.key_end.is_empty()
    }

    /// Whether slot `i` holds a usable row.
    #[must_use]
    pub fn is_live(&self, i: usize) -> bool {
        !self.dead[i]
    }

    /// Usable rows.
    #[must_use]
    pub fn live(&self) -> usize {
        self.dead.iter().filter(|d| !**d).count()
    }

    /// The normalised key of slot `i`.
    #[must_use]
    pub fn norm_key(&self, i: usize) -> &str {
        let start = if i == 0 {
            0
        } else {
            self.key_end[i - 1] as usize
        };
        &self.keys[start..self.key_end[i] as usize]
    }

    /// The key as written, trimmed (what logs and CSVs show and what is sent in SOQL).
    #[must_use]
    pub fn key(&self, i: usize) -> &str {
        #[allow(clippy::cast_possible_truncation)] // slots are counted in u32 (see `offset`)
        let slot = i as u32;
        if let Some(k) = self.rewritten.get(&slot) {
            return k;
        }
        match self.written_at.binary_search_by_key(&slot, |&(s, _)| s) {
            Ok(at) => {
                let start = if at == 0 {
                    0
                } else {
                    self.written_at[at - 1].1 as usize
                };
                &self.written_keys[start..self.written_at[at].1 as usize]
            }
            Err(_) => self.norm_key(i),
        }
    }

    #[must_use]
    pub fn line(&self, i: usize) -> u64 {
        self.lines[i]
    }

    /// Slot `i`'s packed values, one item per mapping.
    #[must_use]
    pub fn values(&self, i: usize) -> &[u8] {
        let (start, end) = self.value_at[i];
        &self.values[start as usize..end as usize]
    }

    /// The slot of a normalised key, dead or live (none once the index is dropped).
    #[must_use]
    pub fn find(&self, norm: &str) -> Option<usize> {
        self.index
            .find(hash_key(norm), |&slot| self.norm_key(slot as usize) == norm)
            .map(|&slot| slot as usize)
    }

    /// Free the key index (matching is done with it).
    pub fn drop_index(&mut self) {
        self.index = hashbrown::HashTable::new();
    }

    /// A new slot for a key not seen before.
    pub(crate) fn push(
        &mut self,
        norm: &str,
        written: &str,
        line: u64,
        values: Option<&[u8]>,
    ) -> anyhow::Result<usize> {
        let slot = offset(self.key_end.len(), "rows")?;
        self.keys.push_str(norm);
        self.key_end.push(offset(self.keys.len(), "keys")?);
        if written != norm {
            self.written_keys.push_str(written);
            let end = offset(self.written_keys.len(), "keys")?;
            self.written_at.push((slot, end));
        }
        self.lines.push(line);
        self.dead.push(values.is_none());
        let start = offset(self.values.len(), "values")?;
        self.values.extend_from_slice(values.unwrap_or_default());
        self.value_at
            .push((start, offset(self.values.len(), "values")?));
        let Self {
            index,
            keys,
            key_end,
            ..
        } = self;
        index.insert_unique(hash_key(norm), slot, |&s| {
            hash_key(key_at(keys, key_end, s as usize))
        });
        Ok(slot as usize)
    }

    /// Give slot `i` another row of its key (a later duplicate that won).
    fn replace(&mut self, i: usize, written: &str, line: u64, values: &[u8]) -> anyhow::Result<()> {
        #[allow(clippy::cast_possible_truncation)] // slots are counted in u32
        let slot = i as u32;
        self.rewritten.insert(slot, written.into());
        self.lines[i] = line;
        self.dead[i] = false;
        let start = offset(self.values.len(), "values")?;
        self.values.extend_from_slice(values);
        self.value_at[i] = (start, offset(self.values.len(), "values")?);
        Ok(())
    }

    fn shrink_to_fit(&mut self) {
        self.keys.shrink_to_fit();
        self.written_keys.shrink_to_fit();
        self.written_at.shrink_to_fit();
        self.key_end.shrink_to_fit();
        self.lines.shrink_to_fit();
        self.values.shrink_to_fit();
        self.value_at.shrink_to_fit();
        self.dead.shrink_to_fit();
    }
}

/// A row whose key was seen before, waiting until the whole report is read: the key as
/// written and its packed values, or `None` when it was rejected for its own reason.
type Repeat = (u64, Option<(String, Vec<u8>)>);

/// The report, ready to match.
#[derive(Debug, Default)]
pub struct Prepared {
    pub rows: Rows,
    /// Every data row of the report, whatever became of it.
    pub rows_total: u64,
    pub rejected: u64,
    pub skipped: u64,
    /// Keys asked for with `--only` that no row of the report has, as given.
    pub only_missing: Vec<String>,
}

/// Whether `--only` asks for the key `norm` (normalised as `only` is), marking every entry that
/// names it as seen.
fn asked_for(only: &[String], seen: &mut [bool], norm: &str) -> bool {
    let mut asked = false;
    for (o, seen) in only.iter().zip(seen) {
        if o == norm {
            *seen = true;
            asked = true;
        }
    }
    asked
}

#[cfg(test)]
impl Prepared {
    /// One report row, key `ann@example.com` (line 2), holding the packed `values`.
    pub(crate) fn ann(values: &[u8]) -> Self {
        let mut prepared = Self::default();
        prepared
            .rows
            .push("ann@example.com", "ann@example.com", 2, Some(values))
            .expect("a row");
        prepared
    }
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
    for (m, field) in integration.fields.iter().zip(&fields.mapped) {
        value_cols.push((
            columns
                .resolve(&m.report)
                .map_err(|e| usage(format!("the report {}: {e}", path.display())))?,
            Quick::of(m, field),
        ));
    }
    let case_sensitive = integration.options.key_case_sensitive;
    let only: Vec<String> = options
        .only
        .iter()
        .map(|k| key::normalise_for(k, fields.key, case_sensitive))
        .collect();

    let mut only_seen = vec![false; only.len()];
    let mut prepared = Prepared::default();
    // Rows whose key was seen before wait in `repeats` (rare) until the whole report is read.
    let mut repeats: HashMap<usize, Vec<Repeat>> = HashMap::default();
    let mut packed: Vec<u8> = Vec::new();
    let mut unreported = 0u64;
    while let Some(item) = report.next_row() {
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
                    && !asked_for(
                        &only,
                        &mut only_seen,
                        &key::normalise_for(key, fields.key, case_sensitive),
                    )
                {
                    continue;
                }
                prepared.rows_total += 1;
                prepared.rejected += 1;
                run.rejected(rejected.line, key, &rejected.reason)?;
                continue;
            }
        };
        let raw_key = row.get(key_col).map_or("", report::convert::trim);
        let norm = key::normal_form(raw_key, fields.key, case_sensitive);
        if !only.is_empty() && !asked_for(&only, &mut only_seen, &norm) {
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
        packed.clear();
        let usable = match convert_row(integration, fields, &value_cols, &row, &mut packed) {
            Ok(()) => true,
            Err(reason) => {
                prepared.rejected += 1;
                run.rejected(row.line, raw_key, &reason)?;
                false
            }
        };
        if let Some(slot) = prepared.rows.find(&norm) {
            let entry = usable.then(|| (raw_key.to_owned(), packed.clone()));
            repeats.entry(slot).or_default().push((row.line, entry));
        } else {
            prepared.rows.push(
                &norm,
                raw_key,
                row.line,
                usable.then_some(packed.as_slice()),
            )?;
        }
    }
    progress.inc(unreported);
    prepared.only_missing = (options.only.iter().zip(&only_seen))
        .filter(|&(_, &seen)| !seen)
        .map(|(key, _)| key.clone())
        .collect();
    report
        .finish()
        .map_err(|e| anyhow::anyhow!("reading the report {} failed: {e}", path.display()))?;

    // Settle duplicate keys, in the order the keys first appeared.
    let mut repeated: Vec<usize> = repeats.keys().copied().collect();
    repeated.sort_unstable();
    let rows = &mut prepared.rows;
    for slot in repeated {
        let Some(later) = repeats.remove(&slot) else {
            continue;
        };
        let first = rows
            .is_live(slot)
            .then(|| (rows.key(slot).to_owned(), rows.values(slot).to_vec()));
        let mut all: Vec<Repeat> = Vec::with_capacity(later.len() + 1);
        all.push((rows.line(slot), first));
        all.extend(later);
        let lines: Vec<String> = all.iter().map(|(l, _)| l.to_string()).collect();
        let lines = lines.join(", ");
        rows.dead[slot] = true;
        match integration.options.on_duplicate_key {
            OnDuplicateKey::Reject => {
                for (line, row) in all {
                    // A row rejected for its own reason was counted already.
                    if let Some((key, _)) = row {
                        prepared.rejected += 1;
                        run.rejected(
                            line,
                            &key,
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
                let winner = if policy == "first" { 0 } else { all.len() - 1 };
                for (i, (line, row)) in all.into_iter().enumerate() {
                    let Some((key, values)) = row else { continue };
                    if i == winner {
                        rows.replace(slot, &key, line, &values)?;
                    } else {
                        prepared.skipped += 1;
                        run.skipped(
                            line,
                            &key,
                            &format!(
                                "duplicate key (lines {lines}; on_duplicate_key = \"{policy}\")"
                            ),
                        )?;
                    }
                }
            }
        }
    }
    prepared.rows.shrink_to_fit();
    Ok(prepared)
}

/// Which usual cells of a mapping go straight to their packed form, decided once per mapping
/// rather than per cell (issue 6).
#[derive(Clone, Copy)]
enum Quick {
    /// An ISO date or datetime (no mapping `format`).
    Moment,
    /// A number spelled as it shows.
    Number,
    /// A text that fits its field (text-like types and e-mail addresses).
    Text,
    /// `true` or `false`.
    Boolean,
    No,
}

impl Quick {
    fn of(mapping: &crate::config::Mapping, field: &crate::salesforce::describe::Field) -> Self {
        use crate::salesforce::describe::FieldType;
        match field.field_type {
            FieldType::Date | FieldType::Datetime if mapping.format.is_none() => Self::Moment,
            t if report::convert::is_number_type(t) => Self::Number,
            t if report::convert::takes_text_as_written(t) => Self::Text,
            FieldType::Boolean => Self::Boolean,
            _ => Self::No,
        }
    }
}

/// Convert a row's mapped cells (each at its column, with its [`Quick`]), or say why it cannot
/// be sent.
fn convert_row(
    integration: &Integration,
    fields: &Fields<'_>,
    cols: &[(usize, Quick)],
    row: &report::RowRef<'_>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    for ((mapping, field), &(col, quick)) in integration.fields.iter().zip(&fields.mapped).zip(cols)
    {
        let cell = row.get(col).map_or("", report::convert::trim);
        if cell.is_empty() {
            let value = match integration.options.empty_cells {
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
            };
            packed::put(value.as_ref(), out);
            continue;
        }
        match quick {
            // The usual ISO date or datetime goes straight to its packed form.
            Quick::Moment => {
                if let Some(moment) = report::convert::report_moment(cell, field.field_type) {
                    packed::put_moment_read_from(moment, cell, out);
                    continue;
                }
            }
            // So does a number spelled as it shows.
            Quick::Number => {
                if report::convert::number_as_written(cell, field) {
                    packed::put_number_text(cell, out);
                    continue;
                }
            }
            // So does a text that fits its field, and a checkbox's usual words.
            Quick::Text => {
                if report::convert::text_as_written(cell, field) {
                    packed::put_text(cell, out);
                    continue;
                }
            }
            Quick::Boolean => match cell {
                "true" => {
                    packed::put(Some(&Value::Bool(true)), out);
                    continue;
                }
                "false" => {
                    packed::put(Some(&Value::Bool(false)), out);
                    continue;
                }
                _ => {}
            },
            Quick::No => {}
        }
        match report::convert::convert_ref(cell, field, mapping.format.as_deref()) {
            Ok(report::convert::Converted::Text(text)) => packed::put_text(text, out),
            // A number spelled as it shows is packed as that text.
            Ok(report::convert::Converted::Value(Value::Number(d))) => {
                packed::put_number_read_from(d, cell, out);
            }
            Ok(report::convert::Converted::Value(v)) => packed::put(Some(&v), out),
            Err(e) => return Err(format!("column {:?} → {}: {e}", mapping.report, field.name)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_keys_as_written_and_find_them_by_normal_form() {
        let mut rows = Rows::default();
        let keys = [
            ("a@example.com", "a@example.com"),
            ("b@example.com", "B@Example.com"),
            ("c@example.com", "c@example.com"),
            ("d@example.com", "D@EXAMPLE.COM"),
        ];
        for (i, (norm, written)) in keys.iter().enumerate() {
            let values = [u8::try_from(i).expect("small")];
            rows.push(norm, written, 2 + i as u64, Some(&values))
                .expect("a row");
        }
        rows.push("e@example.com", "e@example.com", 9, None)
            .expect("a rejected row");
        for (i, (norm, written)) in keys.iter().enumerate() {
            assert_eq!(rows.find(norm), Some(i));
            assert_eq!(rows.key(i), *written);
            assert_eq!(rows.norm_key(i), *norm);
            assert_eq!(rows.values(i), [u8::try_from(i).expect("small")]);
            assert!(rows.is_live(i));
        }
        assert_eq!(rows.find("e@example.com"), Some(4));
        assert!(!rows.is_live(4));
        assert_eq!(rows.live(), 4);
        assert_eq!(rows.find("B@Example.com"), None);
        // A later row of a key replaces the slot's row, its key as written included.
        rows.replace(1, "b@example.com", 20, &[7, 7])
            .expect("replaced");
        rows.replace(4, "E@example.com", 21, &[8]).expect("revived");
        assert_eq!(rows.key(1), "b@example.com");
        assert_eq!(rows.values(1), [7, 7]);
        assert_eq!(rows.line(1), 20);
        assert_eq!(rows.key(3), "D@EXAMPLE.COM");
        assert_eq!(rows.key(4), "E@example.com");
        assert!(rows.is_live(4));
        rows.drop_index();
        assert_eq!(rows.find("a@example.com"), None);
        assert_eq!(rows.key(0), "a@example.com");
    }
}
