//! REST resources: limits, global and object describe, SOQL query with paging, sObject
//! Collections update, single-record get/create/update/delete and upsert by external id.

use hyper::Method;
use serde_json::{Map, Value, json};

use crate::server::{Req, Resp};
use crate::state::{ASSIGNMENT_QUEUE_ID, Cursor, Inner, now_ms};
use crate::store::{Table, malformed, not_found};
use crate::values::{self, FieldError, JsonValueError, Val};
use crate::{EndpointKind, ids, soql};

/// sObject Collections cap (REST guide "Update Records Using sObject Collections").
pub const MAX_COLLECTION: usize = 200;

pub fn handle(g: &mut Inner, kind: EndpointKind, req: &Req) -> Resp {
    let segs: Vec<&str> = req.segs.iter().skip(3).map(String::as_str).collect();
    let v = req.version.clone();
    match (kind, segs.as_slice()) {
        (EndpointKind::Resources, _) => Resp::json(200, &resources(&v)),
        (EndpointKind::Limits, _) => Resp::json(200, &limits(g)),
        (EndpointKind::GlobalDescribe, _) => {
            let mut objs: Vec<&Table> = g.tables.values().collect();
            objs.sort_by(|a, b| a.def.name.cmp(&b.def.name));
            let list: Vec<Value> = objs.iter().map(|t| t.def.global_entry(&v)).collect();
            Resp::json(
                200,
                &json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": list}),
            )
        }
        (EndpointKind::Describe, ["sobjects", obj, "describe"]) => describe(g, obj, req),
        (EndpointKind::Query, [which]) => query(g, req, *which == "queryAll"),
        (EndpointKind::QueryMore, [_, loc]) => query_more(g, req, loc),
        (EndpointKind::Collections, ["composite", "sobjects"]) if req.method == Method::PATCH => {
            collections_update(g, req)
        }
        (EndpointKind::SobjectGet, ["sobjects", obj, id]) => get_record(g, req, obj, id),
        (EndpointKind::SobjectUpdate, ["sobjects", obj, id]) => update_record(g, req, obj, id),
        (EndpointKind::SobjectDelete, ["sobjects", obj, id]) => delete_record(g, obj, id),
        (EndpointKind::SobjectCreate, ["sobjects", obj]) => create_record(g, req, obj),
        (EndpointKind::Upsert, ["sobjects", obj, field, value]) if req.method == Method::PATCH => {
            upsert(g, req, obj, field, value)
        }
        _ => Resp::err(404, "NOT_FOUND", "The requested resource does not exist"),
    }
}

fn resources(v: &str) -> Value {
    let b = format!("/services/data/v{v}");
    json!({
        "limits": format!("{b}/limits"), "sobjects": format!("{b}/sobjects"),
        "query": format!("{b}/query"), "queryAll": format!("{b}/queryAll"),
        "composite": format!("{b}/composite"), "jobs": format!("{b}/jobs"),
    })
}

fn limits(g: &Inner) -> Value {
    let max = g.cfg.api_max;
    let remaining = max.saturating_sub(g.stats.api_usage);
    let pair = |m: u64, r: u64| json!({"Max": m, "Remaining": r});
    json!({
        "DailyApiRequests": pair(max, remaining),
        "DailyBulkApiBatches": pair(15_000, 15_000),
        "DailyBulkApiRequests": pair(10_000, 10_000),
        "DailyBulkV2QueryFileStorageMB": pair(976_562, 976_562),
        "DailyBulkV2QueryJobs": pair(10_000, 10_000u64.saturating_sub(g.query_jobs.len() as u64)),
        "DataStorageMB": pair(1_024, 1_000),
        "FileStorageMB": pair(1_024, 1_024),
        "ConcurrentAsyncGetReportInstances": pair(200, 200),
    })
}

fn describe(g: &Inner, obj: &str, req: &Req) -> Resp {
    let Some(t) = g.table(obj) else {
        return Resp::err(404, "NOT_FOUND", "The requested resource does not exist");
    };
    // If-Modified-Since → 304 when the schema has not changed since (REST errorcodes 304).
    if let Some(since) = req.header("if-modified-since")
        && let Ok(d) = chrono::DateTime::parse_from_rfc2822(since)
        && d.timestamp_millis() >= g.schema_loaded_ms - 1000
    {
        return Resp::empty(304);
    }
    let last_modified = chrono::DateTime::from_timestamp_millis(g.schema_loaded_ms)
        .map(|d| d.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default();
    Resp::json(200, &t.def.describe(&req.version)).header("Last-Modified", last_modified)
}

/// A record as the query and GET resources return it (`attributes` first, selected fields).
pub fn render(t: &Table, row: usize, fields: &[usize], version: &str) -> Value {
    let r = &t.rows[row];
    let mut m = Map::new();
    m.insert(
        "attributes".into(),
        json!({"type": t.def.name, "url": format!("/services/data/v{version}/sobjects/{}/{}", t.def.name, r.id)}),
    );
    for &fi in fields {
        m.insert(t.field(fi).name.clone(), r.vals[fi].to_json());
    }
    Value::Object(m)
}

fn soql_err(e: &soql::SoqlError) -> Resp {
    Resp::err(400, e.code, &e.message)
}

/// `Sforce-Query-Options: batchSize=N` (200–2,000; research §3.1).
fn page_size(g: &Inner, req: &Req) -> usize {
    req.header("sforce-query-options")
        .and_then(|h| {
            h.split(',').find_map(|p| {
                p.trim()
                    .strip_prefix("batchSize=")
                    .and_then(|n| n.trim().parse::<usize>().ok())
            })
        })
        .map_or(g.cfg.query_page_size, |n| n.clamp(200, 2000))
}

fn query(g: &mut Inner, req: &Req, _all: bool) -> Resp {
    let Some(q) = req.q("q").filter(|q| !q.trim().is_empty()) else {
        return Resp::err(400, "MALFORMED_QUERY", "A query string has to be specified");
    };
    let parsed = {
        let tables = &g.tables;
        match soql::parse(q, &|n| tables.get(&n.to_ascii_lowercase())) {
            Ok(p) => p,
            Err(e) => return soql_err(&e),
        }
    };
    let page = page_size(g, req);
    let Some(t) = g.table_mut(&parsed.object) else {
        return Resp::err(400, "INVALID_TYPE", "sObject type is not supported");
    };
    let rows = soql::execute(&parsed, t);
    let Some(fields) = parsed.fields.clone() else {
        return Resp::json(
            200,
            &json!({"totalSize": rows.len(), "done": true, "records": []}),
        );
    };
    let total = rows.len();
    let first: Vec<Value> = rows
        .iter()
        .take(page)
        .map(|&r| render(t, r, &fields, &req.version))
        .collect();
    let mut body = json!({"totalSize": total, "done": total <= page, "records": first});
    if total > page {
        let loc = g.next_id("01g");
        let loc15 = loc[..15].to_owned();
        body["nextRecordsUrl"] = json!(format!(
            "/services/data/v{}/query/{loc15}-{page}",
            req.version
        ));
        g.cursors.insert(
            loc15,
            Cursor {
                object: parsed.object,
                fields,
                rows,
                page,
                version: req.version.clone(),
            },
        );
    }
    Resp::json(200, &body)
}

fn query_more(g: &mut Inner, req: &Req, loc: &str) -> Resp {
    let invalid = || Resp::err(400, "INVALID_QUERY_LOCATOR", "invalid query locator");
    let Some((id, offset)) = loc.rsplit_once('-') else {
        return invalid();
    };
    let Ok(offset) = offset.parse::<usize>() else {
        return invalid();
    };
    let Some(c) = g.cursors.get(id) else {
        return invalid();
    };
    if offset >= c.rows.len() {
        return invalid();
    }
    let (object, fields, page, version) = (
        c.object.clone(),
        c.fields.clone(),
        c.page,
        c.version.clone(),
    );
    let slice: Vec<usize> = c.rows[offset..(offset + page).min(c.rows.len())].to_vec();
    let total = c.rows.len();
    let Some(t) = g.table(&object) else {
        return invalid();
    };
    let records: Vec<Value> = slice
        .iter()
        .map(|&r| render(t, r, &fields, &req.version))
        .collect();
    let next = offset + page;
    let mut body = json!({"totalSize": total, "done": next >= total, "records": records});
    if next < total {
        body["nextRecordsUrl"] = json!(format!("/services/data/v{version}/query/{id}-{next}"));
    } else {
        g.cursors.remove(id);
    }
    Resp::json(200, &body)
}

/// A staged write that failed for the whole request (400) rather than one record.
pub struct RequestError {
    pub code: &'static str,
    pub message: String,
}

/// Field changes of one record, or its per-record errors.
pub type Staged = Result<Vec<(usize, Val)>, Vec<FieldError>>;

/// Converts and validates a JSON record's fields for update (`for_insert` checks createable).
pub fn stage_json(
    t: &Table,
    rec: &Map<String, Value>,
    for_insert: bool,
) -> Result<Staged, RequestError> {
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    for (k, v) in rec {
        if k == "attributes" || k.eq_ignore_ascii_case("id") {
            continue;
        }
        let Some(fi) = t.field_index(k) else {
            return Err(RequestError {
                code: "INVALID_FIELD",
                message: format!("No such column '{k}' on sobject of type {}", t.def.name),
            });
        };
        let f = t.field(fi);
        let allowed = if for_insert {
            f.createable
        } else {
            f.updateable
        };
        if !allowed {
            errors.push(FieldError::new(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!("Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", f.name),
                vec![f.name.clone()],
            ));
            continue;
        }
        match values::from_json(f, v) {
            Ok(val) => match values::validate(f, val) {
                Ok(val) => changes.push((fi, val)),
                Err(e) => errors.push(e),
            },
            Err(JsonValueError::Parser(m)) => {
                return Err(RequestError {
                    code: "JSON_PARSER_ERROR",
                    message: m,
                });
            }
            Err(JsonValueError::Record(e)) => errors.push(e),
        }
    }
    Ok(if errors.is_empty() {
        Ok(changes)
    } else {
        Err(errors)
    })
}

/// Finds the row an update targets and applies the per-record checks that do not depend on
/// the values: Id syntax, existence, injected row locks, converted leads.
pub fn target_row(g: &mut Inner, obj: &str, raw_id: &str) -> Result<usize, FieldError> {
    let Some(id) = ids::normalize(raw_id) else {
        return Err(malformed(raw_id));
    };
    let Some(t) = g.table(obj) else {
        return Err(malformed(raw_id));
    };
    if !id.starts_with(&t.def.key_prefix) {
        return Err(malformed(raw_id));
    }
    let Some(row) = t.row_of(&id) else {
        return Err(not_found(raw_id));
    };
    if t.rows[row].deleted {
        return Err(FieldError::new(
            "ENTITY_IS_DELETED",
            "entity is deleted",
            vec![],
        ));
    }
    let converted = t.def.name == "Lead"
        && t.field_index("IsConverted")
            .is_some_and(|fi| t.rows[row].vals[fi] == Val::Bool(true));
    // Injected lock contention (research §6.5: UNABLE_TO_LOCK_ROW, retryable).
    let mut locked = false;
    g.faults.lock_rows.retain_mut(|l| {
        if ids::normalize(&l.id).as_deref() != Some(id.as_str()) || locked {
            return true;
        }
        match &mut l.attempts {
            None => {
                locked = true;
                true
            }
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                locked = true;
                *n > 0
            }
        }
    });
    if locked {
        g.stats.faults_injected += 1;
        return Err(FieldError::new(
            "UNABLE_TO_LOCK_ROW",
            format!("unable to obtain exclusive access to this record or 1 records: {id}"),
            vec![],
        ));
    }
    if converted {
        return Err(FieldError::new(
            "CANNOT_UPDATE_CONVERTED_LEAD",
            "cannot reference converted lead",
            vec![],
        ));
    }
    Ok(row)
}

/// Whether lead assignment rules run: REST defaults `Sforce-Auto-Assign` to TRUE
/// (REST guide `headers_autoassign.htm`, research §2.2).
#[must_use]
pub fn auto_assign(req: &Req) -> bool {
    !req.header("sforce-auto-assign")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))
}

/// Applies staged changes; reassigns Lead owners when assignment rules run.
pub fn apply(g: &mut Inner, obj: &str, row: usize, mut changes: Vec<(usize, Val)>, assign: bool) {
    let now = now_ms();
    let mut violated = false;
    if let Some(t) = g.table_mut(obj) {
        if assign
            && t.def.name == "Lead"
            && let Some(owner) = t.field_index("OwnerId")
        {
            changes.push((owner, Val::Text(ASSIGNMENT_QUEUE_ID.to_owned())));
            violated = true;
        }
        t.update(row, &changes, now);
    }
    if violated {
        g.stats.auto_assign_violations += 1;
    }
    g.stats.records_written += 1;
}

/// A body that must be one JSON object (single-record writes).
fn parse_object(req: &Req) -> Result<serde_json::Map<String, Value>, Resp> {
    match parse_body(req)? {
        Value::Object(map) => Ok(map),
        _ => Err(Resp::err(
            400,
            "JSON_PARSER_ERROR",
            "Expected a JSON object",
        )),
    }
}

fn parse_body(req: &Req) -> Result<Value, Resp> {
    serde_json::from_slice(&req.body).map_err(|e| {
        Resp::err(
            400,
            "JSON_PARSER_ERROR",
            &format!(
                "Unexpected character or end of input at [line:{}, column:{}]",
                e.line(),
                e.column()
            ),
        )
    })
}

type Target = (String, usize, Vec<(usize, Val)>);

fn collections_update(g: &mut Inner, req: &Req) -> Resp {
    let body = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let all_or_none = body
        .get("allOrNone")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some(records) = body.get("records").and_then(Value::as_array) else {
        return Resp::err(400, "JSON_PARSER_ERROR", "records is required");
    };
    if records.len() > MAX_COLLECTION {
        return Resp::err(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        );
    }
    let assign = auto_assign(req);
    // Stage every record first (positional results, research §4.1).
    let mut staged: Vec<Result<Target, Vec<FieldError>>> = Vec::new();
    for rec in records {
        let Some(map) = rec.as_object() else {
            return Resp::err(
                400,
                "JSON_PARSER_ERROR",
                "Each record must be a JSON object",
            );
        };
        let Some(ty) = map
            .get("attributes")
            .and_then(|a| a.get("type"))
            .and_then(Value::as_str)
        else {
            staged.push(Err(vec![FieldError::new(
                "INVALID_TYPE",
                "Must send a concrete entity type.",
                vec![],
            )]));
            continue;
        };
        let Some(t) = g.table(ty) else {
            staged.push(Err(vec![FieldError::new(
                "INVALID_TYPE",
                format!("sObject type '{ty}' is not supported."),
                vec![],
            )]));
            continue;
        };
        let obj = t.def.name.clone();
        let id = map
            .get("id")
            .or_else(|| map.get("Id"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if id.is_empty() {
            staged.push(Err(vec![FieldError::new(
                "MISSING_ARGUMENT",
                "Id not specified in an update call",
                vec![],
            )]));
            continue;
        }
        let changes = match stage_json(t, map, false) {
            Err(e) => return Resp::err(400, e.code, &e.message),
            Ok(c) => c,
        };
        let row = target_row(g, &obj, &id);
        staged.push(match (row, changes) {
            (Err(e), _) => Err(vec![e]),
            (Ok(_), Err(errs)) => Err(errs),
            (Ok(row), Ok(changes)) => Ok((obj, row, changes)),
        });
    }
    let any_failed = staged.iter().any(Result::is_err);
    let mut results = Vec::with_capacity(staged.len());
    for s in staged {
        match s {
            Err(errs) => results.push(json!({"success": false, "errors": errs.iter().map(FieldError::to_save_error).collect::<Vec<_>>()})),
            Ok((_, row, _)) if all_or_none && any_failed => {
                let _ = row;
                results.push(json!({"success": false, "errors": [{
                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
                    "fields": []
                }]}));
            }
            Ok((obj, row, changes)) => {
                let id = g.table(&obj).map(|t| t.rows[row].id.clone()).unwrap_or_default();
                apply(g, &obj, row, changes, assign);
                results.push(json!({"id": id, "success": true, "errors": []}));
            }
        }
    }
    Resp::json(200, &Value::Array(results))
}

fn errors_resp(status: u16, errs: &[FieldError]) -> Resp {
    Resp::json(
        status,
        &Value::Array(errs.iter().map(FieldError::to_rest_error).collect()),
    )
}

fn get_record(g: &Inner, req: &Req, obj: &str, id: &str) -> Resp {
    let Some(t) = g.table(obj) else {
        return Resp::err(404, "NOT_FOUND", "The requested resource does not exist");
    };
    let Some(row) = ids::normalize(id)
        .and_then(|i| t.row_of(&i))
        .filter(|&r| !t.rows[r].deleted)
    else {
        return Resp::err(404, "NOT_FOUND", "The requested resource does not exist");
    };
    let fields: Vec<usize> = match req.q("fields") {
        Some(list) => {
            let mut v = Vec::new();
            for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                match t.field_index(name) {
                    Some(i) => v.push(i),
                    None => {
                        return Resp::err(
                            400,
                            "INVALID_FIELD",
                            &format!("No such column '{name}' on sobject of type {}", t.def.name),
                        );
                    }
                }
            }
            v
        }
        None => (0..t.def.fields.len()).collect(),
    };
    Resp::json(200, &render(t, row, &fields, &req.version))
}

fn update_record(g: &mut Inner, req: &Req, obj: &str, id: &str) -> Resp {
    let body = match parse_object(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let map = &body;
    let Some(t) = g.table(obj) else {
        return Resp::err(404, "NOT_FOUND", "The requested resource does not exist");
    };
    let name = t.def.name.clone();
    let changes = match stage_json(t, map, false) {
        Err(e) => return Resp::err(400, e.code, &e.message),
        Ok(c) => c,
    };
    let row = match target_row(g, &name, id) {
        Ok(r) => r,
        Err(e) if e.code == "INVALID_CROSS_REFERENCE_KEY" => {
            return Resp::err(
                404,
                "NOT_FOUND",
                "Provided external ID field does not exist or is not accessible: Id",
            );
        }
        Err(e) => return errors_resp(400, &[e]),
    };
    match changes {
        Err(errs) => errors_resp(400, &errs),
        Ok(changes) => {
            apply(g, &name, row, changes, auto_assign(req));
            Resp::empty(204)
        }
    }
}

fn delete_record(g: &mut Inner, obj: &str, id: &str) -> Resp {
    let Some(t) = g.table_mut(obj) else {
        return Resp::err(404, "NOT_FOUND", "The requested resource does not exist");
    };
    let Some(row) = ids::normalize(id).and_then(|i| t.row_of(&i)) else {
        return Resp::err(404, "NOT_FOUND", "The requested resource does not exist");
    };
    if t.rows[row].deleted {
        return Resp::err(404, "ENTITY_IS_DELETED", "entity is deleted");
    }
    t.rows[row].deleted = true;
    g.stats.records_written += 1;
    Resp::empty(204)
}

/// Validates and inserts a new record; `extra` sets the upsert key.
pub fn insert(
    g: &mut Inner,
    obj: &str,
    changes: Vec<(usize, Val)>,
    assign: bool,
) -> Result<String, FieldError> {
    let owner = crate::state::USER_ID.to_owned();
    let Some(t) = g.table_mut(obj) else {
        return Err(FieldError::new(
            "INVALID_TYPE",
            "sObject type is not supported",
            vec![],
        ));
    };
    let mut vals = vec![Val::Null; t.def.fields.len()];
    for (fi, v) in changes {
        vals[fi] = v;
    }
    let missing: Vec<String> = t
        .def
        .fields
        .iter()
        .enumerate()
        .filter(|(i, f)| {
            f.createable
                && !f.nillable
                && f.field_type != "boolean"
                && f.field_type != "picklist"
                && f.name != "OwnerId"
                && vals[*i] == Val::Null
        })
        .map(|(_, f)| f.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(FieldError::new(
            "REQUIRED_FIELD_MISSING",
            format!("Required fields are missing: [{}]", missing.join(", ")),
            missing,
        ));
    }
    let _ = assign; // Assignment rules on insert do not change what a sync client sees.
    let id = t.insert(None, vals, now_ms(), &owner);
    g.stats.records_written += 1;
    Ok(id)
}

fn create_record(g: &mut Inner, req: &Req, obj: &str) -> Resp {
    let body = match parse_object(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let map = &body;
    let Some(t) = g.table(obj) else {
        return Resp::err(404, "NOT_FOUND", "The requested resource does not exist");
    };
    let name = t.def.name.clone();
    match stage_json(t, map, true) {
        Err(e) => Resp::err(400, e.code, &e.message),
        Ok(Err(errs)) => errors_resp(400, &errs),
        Ok(Ok(changes)) => match insert(g, &name, changes, auto_assign(req)) {
            Ok(id) => Resp::json(201, &json!({"id": id, "success": true, "errors": []})),
            Err(e) => errors_resp(400, &[e]),
        },
    }
}

fn upsert(g: &mut Inner, req: &Req, obj: &str, field: &str, value: &str) -> Resp {
    let body = match parse_object(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let map = &body;
    let Some(t) = g.table(obj) else {
        return Resp::err(404, "NOT_FOUND", "The requested resource does not exist");
    };
    let name = t.def.name.clone();
    let Some(fi) = t
        .field_index(field)
        .filter(|&i| t.field(i).external_id || t.field(i).id_lookup)
    else {
        return Resp::err(
            404,
            "NOT_FOUND",
            &format!("Provided external ID field does not exist or is not accessible: {field}"),
        );
    };
    let is_id = t.field(fi).field_type == "id";
    let staged = match stage_json(t, map, false) {
        Err(e) => return Resp::err(400, e.code, &e.message),
        Ok(c) => c,
    };
    let matches: Vec<usize> = if is_id {
        ids::normalize(value)
            .and_then(|i| t.row_of(&i))
            .into_iter()
            .collect()
    } else {
        let key = Val::Text(value.to_owned()).index_key().unwrap_or_default();
        g.table_mut(&name)
            .map(|t| t.lookup(fi, &[key]))
            .unwrap_or_default()
    };
    let Some(t) = g.table(&name) else {
        return Resp::err(404, "NOT_FOUND", "The requested resource does not exist");
    };
    let live: Vec<usize> = matches
        .into_iter()
        .filter(|&r| !t.rows[r].deleted)
        .collect();
    match live.as_slice() {
        [] if is_id => Resp::err(404, "NOT_FOUND", "The requested resource does not exist"),
        [] => {
            let changes = match staged {
                Err(errs) => return errors_resp(400, &errs),
                Ok(mut c) => {
                    let f = t.field(fi).clone();
                    match values::validate(&f, Val::Text(value.to_owned())) {
                        Ok(v) => c.push((fi, v)),
                        Err(e) => return errors_resp(400, &[e]),
                    }
                    c
                }
            };
            match insert(g, &name, changes, auto_assign(req)) {
                Ok(id) => Resp::json(
                    201,
                    &json!({"id": id, "success": true, "errors": [], "created": true}),
                ),
                Err(e) => errors_resp(400, &[e]),
            }
        }
        [row] => {
            let id = t.rows[*row].id.clone();
            let row = match target_row(g, &name, &id) {
                Ok(r) => r,
                Err(e) => return errors_resp(400, &[e]),
            };
            match staged {
                Err(errs) => errors_resp(400, &errs),
                Ok(changes) => {
                    apply(g, &name, row, changes, auto_assign(req));
                    // REST guide upsert: 204 before API 46.0, then 200 with a body.
                    let major: u32 = req
                        .version
                        .split('.')
                        .next()
                        .and_then(|m| m.parse().ok())
                        .unwrap_or(0);
                    if major >= 46 {
                        Resp::json(
                            200,
                            &json!({"id": id, "success": true, "errors": [], "created": false}),
                        )
                    } else {
                        Resp::empty(204)
                    }
                }
            }
        }
        many => {
            let urls: Vec<String> = many
                .iter()
                .map(|&r| {
                    format!(
                        "/services/data/v{}/sobjects/{name}/{}",
                        req.version, t.rows[r].id
                    )
                })
                .collect();
            Resp::json(300, &json!(urls))
        }
    }
}
