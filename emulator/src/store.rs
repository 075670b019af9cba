//! In-memory records: one table per object, rows as value vectors in schema field order, with
//! lazily built case-folded equality indexes so `IN (…)` lookups cost O(keys).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::ids;
use crate::schema::{FieldDef, ObjectDef};
use crate::values::{self, FieldError, Val};

/// One record.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub vals: Vec<Val>,
    pub deleted: bool,
}

/// All records of one object.
#[derive(Debug, Clone)]
pub struct Table {
    pub def: ObjectDef,
    by_name: HashMap<String, usize>,
    pub rows: Vec<Row>,
    by_id: HashMap<String, usize>,
    indexes: HashMap<usize, HashMap<String, Vec<usize>>>,
    next_seq: u64,
}

impl Table {
    #[must_use]
    pub fn new(def: ObjectDef) -> Self {
        let by_name = def
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.to_ascii_lowercase(), i))
            .collect();
        Self {
            def,
            by_name,
            rows: Vec::new(),
            by_id: HashMap::new(),
            indexes: HashMap::new(),
            next_seq: 1,
        }
    }

    /// Field position by case-insensitive API name.
    #[must_use]
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.by_name.get(&name.to_ascii_lowercase()).copied()
    }

    #[must_use]
    pub fn field(&self, i: usize) -> &FieldDef {
        &self.def.fields[i]
    }

    /// Row position of a live or deleted record by its 18-character Id.
    #[must_use]
    pub fn row_of(&self, id18: &str) -> Option<usize> {
        self.by_id.get(id18).copied()
    }

    #[must_use]
    pub fn live_count(&self) -> usize {
        self.rows.iter().filter(|r| !r.deleted).count()
    }

    fn new_id(&mut self) -> String {
        loop {
            let id = ids::make_id(&self.def.key_prefix, self.next_seq);
            self.next_seq += 1;
            if !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }

    /// Inserts a record (values already converted); fills Id, system dates and defaults.
    pub fn insert(
        &mut self,
        id: Option<String>,
        mut vals: Vec<Val>,
        now_ms: i64,
        owner: &str,
    ) -> String {
        let id = match id {
            Some(id) if !self.by_id.contains_key(&id) => id,
            _ => self.new_id(),
        };
        vals.resize(self.def.fields.len(), Val::Null);
        for (i, f) in self.def.fields.iter().enumerate() {
            if vals[i] != Val::Null {
                continue;
            }
            vals[i] = match f.name.as_str() {
                "Id" => Val::Text(id.clone()),
                "CreatedDate" | "LastModifiedDate" | "SystemModstamp" => Val::DateTime(now_ms),
                "OwnerId" => Val::Text(owner.to_owned()),
                _ if f.field_type == "boolean" => {
                    Val::Bool(matches!(f.default_value, Some(Value::Bool(true))))
                }
                _ if f.field_type == "picklist" => f
                    .picklist_values
                    .iter()
                    .find(|p| p.default_value)
                    .map_or(Val::Null, |p| Val::Text(p.value.clone())),
                _ => Val::Null,
            };
        }
        self.refresh_name(&mut vals);
        let pos = self.rows.len();
        for (&fi, idx) in &mut self.indexes {
            if let Some(k) = vals[fi].index_key() {
                idx.entry(k).or_default().push(pos);
            }
        }
        self.rows.push(Row {
            id: id.clone(),
            vals,
            deleted: false,
        });
        self.by_id.insert(id.clone(), pos);
        id
    }

    /// Lead/Contact `Name` is computed from first and last name.
    fn refresh_name(&self, vals: &mut [Val]) {
        if let (Some(n), Some(fi), Some(li)) = (
            self.field_index("Name"),
            self.field_index("FirstName"),
            self.field_index("LastName"),
        ) {
            let part = |v: &Val| {
                if let Val::Text(s) = v {
                    s.clone()
                } else {
                    String::new()
                }
            };
            let full = format!("{} {}", part(&vals[fi]), part(&vals[li]))
                .trim()
                .to_owned();
            vals[n] = if full.is_empty() {
                Val::Null
            } else {
                Val::Text(full)
            };
        }
    }

    /// Sets field values on a row, keeping indexes current.
    pub fn update(&mut self, row: usize, changes: &[(usize, Val)], now_ms: i64) {
        for (fi, v) in changes {
            let old = std::mem::replace(&mut self.rows[row].vals[*fi], v.clone());
            if let Some(idx) = self.indexes.get_mut(fi) {
                if let Some(k) = old.index_key()
                    && let Some(list) = idx.get_mut(&k)
                {
                    list.retain(|&r| r != row);
                }
                if let Some(k) = v.index_key() {
                    idx.entry(k).or_default().push(row);
                }
            }
        }
        for name in ["LastModifiedDate", "SystemModstamp"] {
            if let Some(i) = self.field_index(name) {
                self.rows[row].vals[i] = Val::DateTime(now_ms);
            }
        }
        let mut vals = std::mem::take(&mut self.rows[row].vals);
        self.refresh_name(&mut vals);
        self.rows[row].vals = vals;
    }

    /// Rows whose field equals one of `keys` (index keys, see [`Val::index_key`]); builds the
    /// index on first use.
    pub fn lookup(&mut self, field: usize, keys: &[String]) -> Vec<usize> {
        if !self.indexes.contains_key(&field) {
            let mut idx: HashMap<String, Vec<usize>> = HashMap::new();
            for (pos, row) in self.rows.iter().enumerate() {
                if let Some(k) = row.vals[field].index_key() {
                    idx.entry(k).or_default().push(pos);
                }
            }
            self.indexes.insert(field, idx);
        }
        let idx = &self.indexes[&field];
        let mut out: Vec<usize> = keys
            .iter()
            .filter_map(|k| idx.get(k))
            .flatten()
            .copied()
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The record as the control API and `Emulator::records` show it: every field, REST formats.
    #[must_use]
    pub fn row_json(&self, row: usize) -> Map<String, Value> {
        let mut m = Map::new();
        for (f, v) in self.def.fields.iter().zip(&self.rows[row].vals) {
            m.insert(f.name.clone(), v.to_json());
        }
        m
    }

    /// Loads CSV seed data: header = field API names (case-insensitive), `Id` optional.
    pub fn seed_csv(&mut self, text: &str, now_ms: i64, owner: &str) -> anyhow::Result<usize> {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(text.as_bytes());
        let headers = rdr.headers()?.clone();
        let mut cols = Vec::new();
        for h in &headers {
            let i = self
                .field_index(h.trim())
                .ok_or_else(|| anyhow::anyhow!("seed for {}: no field {h:?}", self.def.name))?;
            cols.push(i);
        }
        let mut n = 0;
        for (line, rec) in rdr.records().enumerate() {
            let rec = rec?;
            let mut vals = vec![Val::Null; self.def.fields.len()];
            let mut id = None;
            for (col, (cell, &fi)) in rec.iter().zip(&cols).enumerate() {
                if cell.is_empty() {
                    continue;
                }
                if self.def.fields[fi].name == "Id" {
                    id = Some(ids::normalize(cell).ok_or_else(|| {
                        anyhow::anyhow!("seed row {}: malformed id {cell}", line + 2)
                    })?);
                    continue;
                }
                let v = values::from_csv(&self.def.fields[fi], cell, col + 1)
                    .map_err(|e| anyhow::anyhow!("seed row {}: {}", line + 2, e.message))?;
                vals[fi] = v;
            }
            self.insert(id, vals, now_ms, owner);
            n += 1;
        }
        Ok(n)
    }

    /// Loads JSON records (`{"Field": value}`; `Id` optional); values in REST JSON formats.
    pub fn seed_json(
        &mut self,
        records: &[Value],
        now_ms: i64,
        owner: &str,
    ) -> anyhow::Result<usize> {
        for (n, r) in records.iter().enumerate() {
            let obj = r
                .as_object()
                .ok_or_else(|| anyhow::anyhow!("record {n} is not an object"))?;
            let mut vals = vec![Val::Null; self.def.fields.len()];
            let mut id = None;
            for (k, v) in obj {
                if k == "attributes" {
                    continue;
                }
                let fi = self.field_index(k).ok_or_else(|| {
                    anyhow::anyhow!("record {n}: no field {k:?} on {}", self.def.name)
                })?;
                if self.def.fields[fi].name == "Id" {
                    let s = v.as_str().unwrap_or_default();
                    id = Some(
                        ids::normalize(s)
                            .ok_or_else(|| anyhow::anyhow!("record {n}: malformed id {s}"))?,
                    );
                    continue;
                }
                vals[fi] = values::from_json(&self.def.fields[fi], v).map_err(|e| match e {
                    values::JsonValueError::Parser(m) => anyhow::anyhow!("record {n}: {m}"),
                    values::JsonValueError::Record(f) => {
                        anyhow::anyhow!("record {n}: {}", f.message)
                    }
                })?;
            }
            self.insert(id, vals, now_ms, owner);
        }
        Ok(records.len())
    }
}

/// Per-record write errors common to REST and Bulk.
#[must_use]
pub fn not_found(id: &str) -> FieldError {
    FieldError::new(
        "INVALID_CROSS_REFERENCE_KEY",
        format!("invalid cross reference id {id}"),
        vec![],
    )
}

#[must_use]
pub fn malformed(id: &str) -> FieldError {
    FieldError::new("MALFORMED_ID", format!("malformed id {id}"), vec![])
}

/// Error body helper: `[{"message","errorCode"}]`.
#[must_use]
pub fn rest_error(code: &str, message: &str) -> Value {
    json!([{"message": message, "errorCode": code}])
}
