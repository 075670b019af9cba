//! The plan (pure, no I/O): per matched record, only the fields whose normalised value differs
//! from what Salesforce holds (SPEC §5 step 5).

use std::borrow::Cow;

use crate::report::Value;

use super::packed;
use super::prepare::Rows;

/// One field to write.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// Index of the mapping.
    pub mapping: usize,
    pub old: Value,
    pub new: Value,
}

/// One record to update.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordChange {
    pub id: String,
    /// Index of the report row (into the prepared rows).
    pub row: usize,
    pub changes: Vec<FieldChange>,
}

/// The plan of a sync, packed (issue 6): per record to change its Id, its report row and where
/// its old values start in one shared buffer of [`packed`] items (one per mapping, [`packed::SAME`]
/// for a field that keeps its value). The new values are the row's own, read from the
/// [`Rows`] when the plan is written.
#[derive(Debug, Default)]
pub struct Plan {
    entries: Vec<Planned>,
    olds: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct Planned {
    /// The 18-character Id (ASCII).
    id: [u8; 18],
    row: u32,
    /// Where the old values start in `olds` (64 bits: long texts can pass 4 GiB).
    olds: u64,
}

impl Plan {
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[must_use]
    pub fn id(&self, i: usize) -> &str {
        std::str::from_utf8(&self.entries[i].id).unwrap_or_default()
    }

    /// Record `i`'s Id as its bytes.
    #[must_use]
    pub fn id_bytes(&self, i: usize) -> &[u8] {
        &self.entries[i].id
    }

    #[must_use]
    pub fn row(&self, i: usize) -> usize {
        self.entries[i].row as usize
    }

    /// Diff a record (18-character `id`) against row `row`'s packed values (`new`) and plan it
    /// if any field differs; `old(m, out)` appends the packed current value of mapping `m`.
    /// Returns whether the record was planned.
    pub fn diff(
        &mut self,
        id: &str,
        row: usize,
        new: &[u8],
        mut old: impl FnMut(usize, &mut Vec<u8>),
    ) -> bool {
        let Ok(id) = <[u8; 18]>::try_from(id.as_bytes()) else {
            return false;
        };
        // Rows are counted in u32 when they are read (`Rows::push` refuses more).
        let Ok(row) = u32::try_from(row) else {
            return false;
        };
        let start = self.olds.len();
        let mut changed = false;
        for (m, item) in packed::items(new).enumerate() {
            if item.first() == Some(&packed::LEAVE) {
                self.olds.push(packed::SAME);
                continue;
            }
            // Packed where it is kept if it differs, taken back if it does not.
            let at = self.olds.len();
            old(m, &mut self.olds);
            if packed::same_item(&self.olds[at..], item) {
                self.olds.truncate(at);
                self.olds.push(packed::SAME);
            } else {
                changed = true;
            }
        }
        if changed {
            self.entries.push(Planned {
                id,
                row,
                olds: start as u64,
            });
        } else {
            self.olds.truncate(start);
        }
        changed
    }

    /// Keep only the records whose row `keep` says yes to.
    pub fn retain_rows(&mut self, mut keep: impl FnMut(usize) -> bool) {
        self.entries.retain(|e| keep(e.row as usize));
    }

    /// Records in report-row order (records of one row in the order they were found).
    pub fn sort_by_row(&mut self) {
        self.entries.sort_by_key(|e| e.row);
        self.entries.shrink_to_fit();
    }

    /// Record `i`'s changed fields as packed items: `(mapping, old, new)`.
    pub fn changed_items<'s>(
        &'s self,
        i: usize,
        rows: &'s Rows,
    ) -> impl Iterator<Item = (usize, &'s [u8], &'s [u8])> {
        let entry = &self.entries[i];
        let new = rows.values(entry.row as usize);
        let olds = &self.olds[usize::try_from(entry.olds)
            .unwrap_or(usize::MAX)
            .min(self.olds.len())..];
        packed::items(new)
            .zip(packed::items(olds))
            .enumerate()
            .filter(|(_, (_, old))| old.first() != Some(&packed::SAME))
            .map(|(mapping, (new, old))| (mapping, old, new))
    }

    /// Record `i`'s field changes, decoded.
    #[must_use]
    pub fn changes(&self, i: usize, rows: &Rows) -> Vec<FieldChange> {
        self.changed_items(i, rows)
            .filter_map(|(mapping, old, new)| {
                Some(FieldChange {
                    mapping,
                    old: packed::get(old)?,
                    new: packed::get(new)?,
                })
            })
            .collect()
    }
}

/// A packed [`Plan`] with the rows it was made from, as the write phase reads it.
pub struct PlanView<'a> {
    pub plan: &'a Plan,
    pub rows: &'a Rows,
}

/// One value of a planned change, to be written as a CSV cell.
#[derive(Clone, Copy)]
pub enum Cell<'a> {
    /// A packed item ([`packed`]).
    Packed(&'a [u8]),
    Value(&'a Value),
}

impl Cell<'_> {
    /// Append the value as one CSV cell, as `Display` shows it (null as empty), quoted where it
    /// must be: straight from the packed bytes, without a `Value` or a `String` (issue 6).
    #[inline]
    pub fn push(self, out: &mut Vec<u8>) {
        match self {
            Self::Packed(item) => packed::push_cell(item, out),
            Self::Value(value) => {
                let mut text = String::new();
                value.write_text(&mut text);
                crate::csvtext::push_cell(out, &text);
            }
        }
    }
}

/// Called with a record's `(mapping, old value, new value)` for each field it changes (the values
/// borrowed from the plan, for as long as it is).
pub type EachChange<'s, 'a> = dyn FnMut(usize, Cell<'s>, Cell<'s>) + 'a;

/// What the write phase needs of a plan: a record's Id and its field changes.
pub trait Changes {
    fn count(&self) -> usize;
    fn record_id(&self, i: usize) -> &str;
    /// [`Changes::record_id`] as bytes, for sorting and searching by Id without a UTF-8 check
    /// per comparison (issue 6).
    fn record_id_bytes(&self, i: usize) -> &[u8] {
        self.record_id(i).as_bytes()
    }
    /// Record `i`'s changes as values (the REST path's JSON).
    fn field_changes(&self, i: usize) -> Cow<'_, [FieldChange]>;
    /// Record `i`'s changes in mapping order, each written where the caller needs it
    /// (`changes.csv`, the Bulk upload) without a copy in between.
    fn each_change<'s>(&'s self, i: usize, each: &mut EachChange<'s, '_>);
    /// The mappings record `i` changes.
    fn each_mapping(&self, i: usize, each: &mut dyn FnMut(usize));
}

impl Changes for Vec<RecordChange> {
    fn count(&self) -> usize {
        self.len()
    }

    fn record_id(&self, i: usize) -> &str {
        &self[i].id
    }

    fn field_changes(&self, i: usize) -> Cow<'_, [FieldChange]> {
        Cow::Borrowed(&self[i].changes)
    }

    fn each_change<'s>(&'s self, i: usize, each: &mut EachChange<'s, '_>) {
        // A revert's changes come in the order of the run's `changes.csv` lines.
        let mut order: Vec<&FieldChange> = self[i].changes.iter().collect();
        order.sort_by_key(|c| c.mapping);
        for c in order {
            each(c.mapping, Cell::Value(&c.old), Cell::Value(&c.new));
        }
    }

    fn each_mapping(&self, i: usize, each: &mut dyn FnMut(usize)) {
        for c in &self[i].changes {
            each(c.mapping);
        }
    }
}

impl Changes for PlanView<'_> {
    fn count(&self) -> usize {
        self.plan.len()
    }

    fn record_id(&self, i: usize) -> &str {
        self.plan.id(i)
    }

    fn record_id_bytes(&self, i: usize) -> &[u8] {
        self.plan.id_bytes(i)
    }

    fn field_changes(&self, i: usize) -> Cow<'_, [FieldChange]> {
        Cow::Owned(self.plan.changes(i, self.rows))
    }

    fn each_change<'s>(&'s self, i: usize, each: &mut EachChange<'s, '_>) {
        for (mapping, old, new) in self.plan.changed_items(i, self.rows) {
            each(mapping, Cell::Packed(old), Cell::Packed(new));
        }
    }

    fn each_mapping(&self, i: usize, each: &mut dyn FnMut(usize)) {
        for (mapping, _, _) in self.plan.changed_items(i, self.rows) {
            each(mapping);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One report row of `new` values, and the plan of one record holding `old` ones.
    fn planned(new: &[Option<Value>], old: &[Value]) -> (Rows, Plan) {
        let mut packed_new = Vec::new();
        for v in new {
            packed::put(v.as_ref(), &mut packed_new);
        }
        let mut rows = Rows::default();
        rows.push("k", "k", 2, Some(&packed_new)).expect("a row");
        let mut plan = Plan::default();
        let id = "00Q000000000001AAA";
        assert!(plan.diff(id, 0, rows.values(0), |m, out| packed::put(
            Some(&old[m]),
            out
        )));
        (rows, plan)
    }

    #[test]
    fn cells_of_a_planned_record_are_its_values_as_csv_text() {
        let new = [
            Some(Value::Text("a, \"b\"".into())),
            Some(Value::Number(
                crate::report::Decimal::parse("-1.5").expect("number"),
            )),
            Some(Value::Null),
            Some(Value::Bool(true)),
        ];
        let old = [
            Value::Text("a".into()),
            Value::Number(crate::report::Decimal::parse("2").expect("number")),
            Value::Text("x y".into()),
            Value::Bool(true),
        ];
        let (rows, plan) = planned(&new, &old);
        let view = PlanView {
            plan: &plan,
            rows: &rows,
        };
        let expected = [
            (0, b"a".to_vec(), b"\"a, \"\"b\"\"\"".to_vec()),
            (1, b"2".to_vec(), b"-1.5".to_vec()),
            (2, b"x y".to_vec(), Vec::new()),
        ];
        let cells = |changes: &dyn Changes| {
            let mut seen = Vec::new();
            changes.each_change(0, &mut |m, old, new| {
                let (mut o, mut n) = (Vec::new(), Vec::new());
                old.push(&mut o);
                new.push(&mut n);
                seen.push((m, o, n));
            });
            seen
        };
        assert_eq!(cells(&view), expected);
        // The same record unpacked writes the same cells.
        let unpacked = vec![RecordChange {
            id: plan.id(0).to_owned(),
            row: 0,
            changes: plan.changes(0, &rows),
        }];
        assert_eq!(cells(&unpacked), expected);
    }

    #[test]
    fn only_differing_fields_are_planned() {
        let new = [
            Some(Value::Text("a".into())),
            None,
            Some(Value::Null),
            Some(Value::Bool(true)),
        ];
        let old = [
            Value::Text("a".into()),
            Value::Text("keep".into()),
            Value::Text("x".into()),
            Value::Bool(false),
        ];
        let (rows, mut plan) = planned(&new, &old);
        let id = "00Q000000000001AAA";
        let changes = plan.changes(0, &rows);
        assert_eq!(
            changes.iter().map(|c| c.mapping).collect::<Vec<_>>(),
            [2, 3]
        );
        assert_eq!(changes[0].old, Value::Text("x".into()));
        assert_eq!(changes[0].new, Value::Null);
        // Nothing differs: nothing is planned, and nothing of the record is kept.
        assert!(!plan.diff(id, 0, rows.values(0), |m, out| packed::put(
            Some(if m == 2 {
                &Value::Null
            } else if m == 3 {
                &Value::Bool(true)
            } else {
                &old[m]
            }),
            out
        )));
        assert_eq!(plan.len(), 1);
        // An Id that is not 18 characters is never planned.
        assert!(!plan.diff("00Q", 0, rows.values(0), |m, out| packed::put(
            Some(&old[m]),
            out
        )));
    }
}
