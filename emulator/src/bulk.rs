//! Bulk API 2.0 ingest and query jobs (research §5): the job state machine, CSV upload with the
//! 100 MB limit, asynchronous processing after a delay, shuffled result CSVs, query results
//! paged with `Sforce-Locator`.

use std::time::Instant;

use base64::Engine as _;
use hyper::Method;
use rand::seq::SliceRandom;
use serde_json::{Value, json};

use crate::server::{Req, Resp};
use crate::state::{Inner, USER_ID, now_ms};
use crate::values::{self, FieldError, Val, format_datetime};
use crate::{BulkOutcome, EndpointKind, rest, soql};

/// Upload limit per job: 100 MB of raw CSV (Bulk guide "Upload Job Data", research §5.1).
pub const MAX_UPLOAD: usize = 100 * 1024 * 1024;

pub struct IngestJob {
    pub id: String,
    pub object: String,
    pub operation: String,
    pub external_id: Option<String>,
    pub state: &'static str,
    pub created_ms: i64,
    pub line_ending: String,
    pub delimiter: String,
    pub data: Option<bytes::Bytes>,
    pub closed_at: Option<Instant>,
    pub processed: u64,
    pub failed: u64,
    pub error_message: Option<String>,
    pub success_csv: String,
    pub failed_csv: String,
    pub unprocessed_csv: String,
    pub api_version: String,
}

pub struct QueryJob {
    pub id: String,
    pub object: String,
    pub operation: String,
    pub query: String,
    pub state: &'static str,
    pub created_ms: i64,
    pub created_at: Instant,
    pub fields: Vec<usize>,
    pub rows: Vec<usize>,
    pub api_version: String,
    pub delimiter: String,
    pub line_ending: String,
}

fn bulk_err(status: u16, code: &str, message: &str) -> Resp {
    Resp::json(status, &json!([{"errorCode": code, "message": message}]))
}

fn delimiter_char(name: &str) -> Option<u8> {
    Some(match name {
        "COMMA" => b',',
        "BACKQUOTE" => b'`',
        "CARET" => b'^',
        "PIPE" => b'|',
        "SEMICOLON" => b';',
        "TAB" => b'\t',
        _ => return None,
    })
}

fn api_version_num(v: &str) -> Value {
    v.parse::<f64>().map_or(Value::Null, |f| json!(f))
}

fn ingest_info(j: &IngestJob) -> Value {
    let mut v = json!({
        "id": j.id, "operation": j.operation, "object": j.object, "createdById": USER_ID,
        "createdDate": format_datetime(j.created_ms), "systemModstamp": format_datetime(now_ms()),
        "state": j.state, "concurrencyMode": "Parallel", "contentType": "CSV",
        "apiVersion": api_version_num(&j.api_version), "jobType": "V2Ingest",
        "contentUrl": format!("services/data/v{}/jobs/ingest/{}/batches", j.api_version, j.id),
        "lineEnding": j.line_ending, "columnDelimiter": j.delimiter,
        "numberRecordsProcessed": j.processed, "numberRecordsFailed": j.failed,
        "retries": 0, "totalProcessingTime": 0, "apiActiveProcessingTime": 0, "apexProcessingTime": 0,
    });
    if let Some(e) = &j.external_id {
        v["externalIdFieldName"] = json!(e);
    }
    if let Some(m) = &j.error_message {
        v["errorMessage"] = json!(m);
    }
    v
}

fn query_info(j: &QueryJob) -> Value {
    json!({
        "id": j.id, "operation": j.operation, "object": j.object, "createdById": USER_ID,
        "createdDate": format_datetime(j.created_ms), "systemModstamp": format_datetime(now_ms()),
        "state": j.state, "concurrencyMode": "Parallel", "contentType": "CSV",
        "apiVersion": api_version_num(&j.api_version), "jobType": "V2Query",
        "lineEnding": j.line_ending, "columnDelimiter": j.delimiter,
        "numberRecordsProcessed": if j.state == "JobComplete" { j.rows.len() } else { 0 },
        "retries": 0, "totalProcessingTime": 0, "isPkChunkingSupported": true,
    })
}

pub fn handle(g: &mut Inner, kind: EndpointKind, req: &Req) -> Resp {
    let segs: Vec<String> = req.segs.iter().skip(4).cloned().collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match (kind, s.as_slice()) {
        (EndpointKind::BulkIngestCreate, ["ingest"]) => create_ingest(g, req),
        (EndpointKind::BulkIngestList, ["ingest"]) => {
            let list: Vec<Value> = g.ingest.values().map(ingest_info).collect();
            Resp::json(
                200,
                &json!({"done": true, "nextRecordsUrl": null, "records": list}),
            )
        }
        (EndpointKind::BulkIngestUpload, ["ingest", id, "batches"]) => upload(g, req, id),
        (EndpointKind::BulkIngestState, ["ingest", id]) => set_state(g, req, id),
        (EndpointKind::BulkIngestInfo, ["ingest", id]) => {
            tick_ingest(g, id);
            match g.ingest.get(*id) {
                Some(j) => Resp::json(200, &ingest_info(j)),
                None => not_found(),
            }
        }
        (EndpointKind::BulkIngestDelete, ["ingest", id]) => {
            if g.ingest.remove(*id).is_some() {
                Resp::empty(204)
            } else {
                not_found()
            }
        }
        (EndpointKind::BulkIngestResults, ["ingest", id, which]) => {
            tick_ingest(g, id);
            let Some(j) = g.ingest.get(*id) else {
                return not_found();
            };
            let body = match *which {
                "successfulResults" => &j.success_csv,
                "failedResults" => &j.failed_csv,
                "unprocessedrecords" => &j.unprocessed_csv,
                _ => return not_found(),
            };
            Resp::text(200, "text/csv", body.clone())
        }
        (EndpointKind::BulkQueryCreate, ["query"]) => create_query(g, req),
        (EndpointKind::BulkQueryInfo, ["query", id]) => {
            if req.method == Method::PATCH {
                let Some(j) = g.query_jobs.get_mut(*id) else {
                    return not_found();
                };
                let want = serde_json::from_slice::<Value>(&req.body)
                    .ok()
                    .and_then(|v| v.get("state").and_then(Value::as_str).map(str::to_owned));
                if want.as_deref() == Some("Aborted") {
                    j.state = "Aborted";
                    return Resp::json(200, &query_info(j));
                }
                return bulk_err(
                    400,
                    "INVALIDJOBSTATE",
                    "Only Aborted can be set on a query job",
                );
            }
            tick_query(g, id);
            match g.query_jobs.get(*id) {
                Some(j) => Resp::json(200, &query_info(j)),
                None => not_found(),
            }
        }
        (EndpointKind::BulkQueryDelete, ["query", id]) => {
            if g.query_jobs.remove(*id).is_some() {
                Resp::empty(204)
            } else {
                not_found()
            }
        }
        (EndpointKind::BulkQueryResults, ["query", id, "results"]) => query_results(g, req, id),
        _ => not_found(),
    }
}

fn not_found() -> Resp {
    bulk_err(404, "NOT_FOUND", "The requested resource does not exist")
}

fn create_ingest(g: &mut Inner, req: &Req) -> Resp {
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return bulk_err(
            400,
            "JSON_PARSER_ERROR",
            "Unexpected character in the request body",
        );
    };
    let get = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let Some(object) = get("object") else {
        return bulk_err(400, "INVALIDJOB", "Object is required");
    };
    let Some(t) = g.table(&object) else {
        return bulk_err(
            400,
            "INVALIDENTITY",
            &format!("Entity '{object}' is not supported by the Bulk API."),
        );
    };
    let object = t.def.name.clone();
    let operation = get("operation").unwrap_or_default();
    if !matches!(
        operation.as_str(),
        "insert" | "update" | "upsert" | "delete"
    ) {
        return bulk_err(
            400,
            "INVALIDJOB",
            &format!("InvalidJob : Invalid operation: {operation}"),
        );
    }
    let external_id = get("externalIdFieldName");
    if operation == "upsert" {
        let ok = external_id
            .as_deref()
            .and_then(|f| t.field_index(f))
            .is_some_and(|i| t.field(i).external_id || t.field(i).id_lookup);
        if !ok {
            return bulk_err(
                400,
                "INVALIDJOB",
                "InvalidJob : External ID was blank or not found for upsert",
            );
        }
    }
    let delimiter = get("columnDelimiter").unwrap_or_else(|| "COMMA".into());
    if delimiter_char(&delimiter).is_none() {
        return bulk_err(
            400,
            "INVALIDJOB",
            &format!("InvalidJob : Invalid column delimiter: {delimiter}"),
        );
    }
    let line_ending = get("lineEnding").unwrap_or_else(|| "LF".into());
    if !matches!(line_ending.as_str(), "LF" | "CRLF") {
        return bulk_err(
            400,
            "INVALIDJOB",
            &format!("InvalidJob : Invalid line ending: {line_ending}"),
        );
    }
    let id = g.next_id("750");
    let job = IngestJob {
        id: id.clone(),
        object,
        operation,
        external_id,
        state: "Open",
        created_ms: now_ms(),
        line_ending,
        delimiter,
        data: None,
        closed_at: None,
        processed: 0,
        failed: 0,
        error_message: None,
        success_csv: String::new(),
        failed_csv: String::new(),
        unprocessed_csv: String::new(),
        api_version: req.version.clone(),
    };
    let info = ingest_info(&job);
    g.ingest.insert(id, job);
    Resp::json(200, &info)
}

fn upload(g: &mut Inner, req: &Req, id: &str) -> Resp {
    let Some(j) = g.ingest.get_mut(id) else {
        return not_found();
    };
    if req.body.len() > MAX_UPLOAD {
        // [U] exact code; the limit itself is documented (research §5.1).
        return bulk_err(
            400,
            "EXCEEDED_QUOTA",
            &format!(
                "InvalidBatch : Request exceeds the maximum upload size of {MAX_UPLOAD} bytes"
            ),
        );
    }
    if j.state != "Open" {
        return bulk_err(409, "INCORRECT_STATE", "Job is not in the Open state");
    }
    if j.data.is_some() {
        return bulk_err(
            400,
            "INVALIDJOBSTATE",
            &format!(
                "Found multiple contents for job: <{id}>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job."
            ),
        );
    }
    j.data = Some(req.body.clone());
    Resp::empty(201)
}

fn set_state(g: &mut Inner, req: &Req, id: &str) -> Resp {
    let want = serde_json::from_slice::<Value>(&req.body)
        .ok()
        .and_then(|v| v.get("state").and_then(Value::as_str).map(str::to_owned));
    let Some(j) = g.ingest.get_mut(id) else {
        return not_found();
    };
    match want.as_deref() {
        Some("UploadComplete") if j.state == "Open" => {
            j.state = "UploadComplete";
            j.closed_at = Some(Instant::now());
        }
        Some("Aborted") if matches!(j.state, "Open" | "UploadComplete" | "InProgress") => {
            j.state = "Aborted";
        }
        Some(s) => {
            return bulk_err(
                400,
                "INVALIDJOBSTATE",
                &format!(
                    "Cannot change the state of job {id} from {} to {s}",
                    j.state
                ),
            );
        }
        None => return bulk_err(400, "JSON_PARSER_ERROR", "state is required"),
    }
    let info = ingest_info(j);
    tick_ingest(g, id);
    Resp::json(200, &info)
}

/// Advances an ingest job: `UploadComplete` → `InProgress` at half the delay → processed at the
/// full delay (or the injected outcome).
fn tick_ingest(g: &mut Inner, id: &str) {
    let delay = u128::from(g.cfg.bulk_delay_ms);
    let outcome = g.faults.bulk_outcome;
    let Some(j) = g.ingest.get_mut(id) else {
        return;
    };
    let Some(closed) = j.closed_at else { return };
    let elapsed = closed.elapsed().as_millis();
    if j.state == "UploadComplete" && elapsed * 2 >= delay {
        j.state = "InProgress";
    }
    if j.state != "InProgress" || elapsed < delay {
        return;
    }
    match outcome {
        BulkOutcome::NeverComplete => {}
        BulkOutcome::Failed | BulkOutcome::Aborted => {
            j.state = if outcome == BulkOutcome::Failed {
                "Failed"
            } else {
                "Aborted"
            };
            if outcome == BulkOutcome::Failed {
                j.error_message = Some(
                    "InternalServerError : Failed to process job (injected by the emulator)".into(),
                );
            }
            j.unprocessed_csv = j
                .data
                .as_ref()
                .map(|d| String::from_utf8_lossy(d).into_owned())
                .unwrap_or_default();
            g.stats.faults_injected += 1;
        }
        BulkOutcome::Normal => {
            let Some(mut job) = g.ingest.remove(id) else {
                return;
            };
            process(g, &mut job);
            g.ingest.insert(id.to_owned(), job);
        }
    }
}

/// One CSV line, every field quoted and quotes doubled (csv's `QuoteStyle::Always`), without
/// the line ending. Written by hand: a csv writer per line allocated and zeroed an 8 KiB buffer
/// for every record, which made building a 200,000-row result page the emulator's main cost in
/// the benchmarks (issue 6).
fn csv_line(cells: &[String], delim: u8) -> String {
    let mut out = String::with_capacity(cells.iter().map(|c| c.len() + 3).sum());
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(char::from(delim));
        }
        out.push('"');
        for ch in cell.chars() {
            if ch == '"' {
                out.push('"');
            }
            out.push(ch);
        }
        out.push('"');
    }
    out
}

fn fail_job(job: &mut IngestJob, msg: String) {
    job.state = "Failed";
    job.error_message = Some(msg);
    job.unprocessed_csv = job
        .data
        .as_ref()
        .map(|d| String::from_utf8_lossy(d).into_owned())
        .unwrap_or_default();
}

/// Processes an ingest job's CSV with the same checks as REST (research §5.2: empty cell =
/// unchanged, `#N/A` = null); results are shuffled (research §5.3).
fn process(g: &mut Inner, job: &mut IngestJob) {
    let Some(data) = job.data.clone() else {
        fail_job(
            job,
            "InvalidBatch : No data was uploaded for the job".into(),
        );
        return;
    };
    let delim = delimiter_char(&job.delimiter).unwrap_or(b',');
    let first_line_end = data.iter().position(|&b| b == b'\n');
    let crlf = first_line_end.is_some_and(|p| p > 0 && data[p - 1] == b'\r');
    if crlf != (job.line_ending == "CRLF") && first_line_end.is_some() {
        fail_job(
            job,
            format!(
                "InvalidBatch : LineEnding is invalid on user data. Current LineEnding setting is {}",
                job.line_ending
            ),
        );
        return;
    }
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delim)
        .flexible(true)
        .from_reader(&data[..]);
    let Ok(headers) = rdr.headers().cloned() else {
        fail_job(job, "InvalidBatch : Failed to parse CSV header".into());
        return;
    };
    let Some(t) = g.table(&job.object) else {
        return;
    };
    let mut cols = Vec::new();
    for h in &headers {
        let Some(i) = t.field_index(h) else {
            fail_job(job, format!("InvalidBatch : Field name not found : {h}"));
            return;
        };
        cols.push(i);
    }
    let id_col = cols.iter().position(|&i| t.field(i).field_type == "id");
    let ext_col = job
        .external_id
        .as_deref()
        .and_then(|e| t.field_index(e))
        .and_then(|fi| cols.iter().position(|&c| c == fi));
    let needs_id = matches!(job.operation.as_str(), "update" | "delete");
    if needs_id && id_col.is_none() {
        fail_job(job, "InvalidBatch : Field name not found : Id".into());
        return;
    }
    if job.operation == "upsert" && ext_col.is_none() {
        fail_job(
            job,
            format!(
                "InvalidBatch : Field name not found : {}",
                job.external_id.clone().unwrap_or_default()
            ),
        );
        return;
    }
    let header_cells: Vec<String> = headers.iter().map(str::to_owned).collect();
    let mut ok_rows = Vec::new();
    let mut bad_rows = Vec::new();
    let object = job.object.clone();
    for rec in rdr.records() {
        let Ok(rec) = rec else { continue };
        let cells: Vec<String> = rec.iter().map(str::to_owned).collect();
        let outcome = process_row(g, job, &object, &cols, id_col, ext_col, &cells);
        g.stats.bulk_rows_processed += 1;
        match outcome {
            Ok((id, created)) => {
                let mut row = vec![id, created.to_string()];
                row.extend(cells);
                ok_rows.push(row);
            }
            Err((id, e)) => {
                let mut row = vec![id, e.to_bulk_error()];
                row.extend(cells);
                bad_rows.push(row);
            }
        }
    }
    let mut rng = rand::rng();
    ok_rows.shuffle(&mut rng);
    bad_rows.shuffle(&mut rng);
    let nl = if job.line_ending == "CRLF" {
        "\r\n"
    } else {
        "\n"
    };
    let build = |first: &[&str], rows: &[Vec<String>]| {
        let mut head: Vec<String> = first.iter().map(|s| (*s).to_owned()).collect();
        head.extend(header_cells.iter().cloned());
        let mut out = csv_line(&head, delim);
        for r in rows {
            out.push_str(nl);
            out.push_str(&csv_line(r, delim));
        }
        out.push_str(nl);
        out
    };
    job.processed = (ok_rows.len() + bad_rows.len()) as u64;
    job.failed = bad_rows.len() as u64;
    job.success_csv = build(&["sf__Id", "sf__Created"], &ok_rows);
    job.failed_csv = build(&["sf__Id", "sf__Error"], &bad_rows);
    job.unprocessed_csv = format!("{}{nl}", csv_line(&header_cells, delim));
    job.state = "JobComplete";
}

type RowOutcome = Result<(String, bool), (String, FieldError)>;

fn process_row(
    g: &mut Inner,
    job: &IngestJob,
    object: &str,
    cols: &[usize],
    id_col: Option<usize>,
    ext_col: Option<usize>,
    cells: &[String],
) -> RowOutcome {
    let raw_id = id_col
        .and_then(|c| cells.get(c))
        .cloned()
        .unwrap_or_default();
    let for_insert = job.operation == "insert";
    // Stage values.
    let stage = |g: &Inner, insert: bool| -> Result<Vec<(usize, Val)>, FieldError> {
        let Some(t) = g.table(object) else {
            return Err(FieldError::new("INVALID_TYPE", "no such object", vec![]));
        };
        let mut changes = Vec::new();
        for (col, (&fi, cell)) in cols.iter().zip(cells).enumerate() {
            let f = t.field(fi);
            if f.field_type == "id" || cell.is_empty() {
                continue;
            }
            if !(if insert { f.createable } else { f.updateable }) && Some(col) != ext_col {
                return Err(FieldError::new(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    format!(
                        "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                        f.name
                    ),
                    vec![f.name.clone()],
                ));
            }
            let v = if cell == "#N/A" {
                Val::Null
            } else {
                values::from_csv(f, cell, col + 1)?
            };
            changes.push((fi, values::validate(f, v)?));
        }
        Ok(changes)
    };
    match job.operation.as_str() {
        "delete" => {
            let row = rest::target_row(g, object, &raw_id).map_err(|e| (String::new(), e))?;
            if let Some(t) = g.table_mut(object) {
                t.rows[row].deleted = true;
            }
            g.stats.records_written += 1;
            Ok((raw_id, false))
        }
        "insert" => {
            let changes = stage(g, for_insert).map_err(|e| (String::new(), e))?;
            let id = rest::insert(g, object, changes, false).map_err(|e| (String::new(), e))?;
            Ok((id, true))
        }
        "upsert" => {
            let key = ext_col
                .and_then(|c| cells.get(c))
                .cloned()
                .unwrap_or_default();
            let fi = ext_col.map(|c| cols[c]).unwrap_or_default();
            let hits: Vec<usize> = g
                .table_mut(object)
                .map(|t| {
                    t.lookup(
                        fi,
                        &[Val::Text(key.clone()).index_key().unwrap_or_default()],
                    )
                })
                .unwrap_or_default();
            let live: Vec<usize> = g
                .table(object)
                .map(|t| hits.into_iter().filter(|&r| !t.rows[r].deleted).collect())
                .unwrap_or_default();
            match live.as_slice() {
                [] => {
                    let changes = stage(g, true).map_err(|e| (String::new(), e))?;
                    let id =
                        rest::insert(g, object, changes, false).map_err(|e| (String::new(), e))?;
                    Ok((id, true))
                }
                [row] => {
                    let id = g
                        .table(object)
                        .map(|t| t.rows[*row].id.clone())
                        .unwrap_or_default();
                    let row = rest::target_row(g, object, &id).map_err(|e| (id.clone(), e))?;
                    let changes = stage(g, false).map_err(|e| (id.clone(), e))?;
                    rest::apply(g, object, row, changes, false);
                    Ok((id, false))
                }
                _ => Err((
                    String::new(),
                    FieldError::new(
                        "DUPLICATE_EXTERNAL_ID",
                        format!("The external ID value {key} matches more than one record"),
                        vec![],
                    ),
                )),
            }
        }
        _ => {
            let row = rest::target_row(g, object, &raw_id).map_err(|e| {
                (
                    if e.code == "MALFORMED_ID" {
                        String::new()
                    } else {
                        raw_id.clone()
                    },
                    e,
                )
            })?;
            let id = g
                .table(object)
                .map(|t| t.rows[row].id.clone())
                .unwrap_or_default();
            let changes = stage(g, false).map_err(|e| (id.clone(), e))?;
            // Bulk API runs no lead assignment rule unless the job names one.
            rest::apply(g, object, row, changes, false);
            Ok((id, false))
        }
    }
}

fn create_query(g: &mut Inner, req: &Req) -> Resp {
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return bulk_err(
            400,
            "JSON_PARSER_ERROR",
            "Unexpected character in the request body",
        );
    };
    let operation = body
        .get("operation")
        .and_then(Value::as_str)
        .unwrap_or("query")
        .to_owned();
    if !matches!(operation.as_str(), "query" | "queryAll") {
        return bulk_err(
            400,
            "INVALIDJOB",
            &format!("InvalidJob : Invalid operation: {operation}"),
        );
    }
    let Some(q) = body.get("query").and_then(Value::as_str).map(str::to_owned) else {
        return bulk_err(400, "INVALIDJOB", "InvalidJob : query is required");
    };
    let parsed = {
        let tables = &g.tables;
        match soql::parse(&q, &|n| tables.get(&n.to_ascii_lowercase())) {
            Ok(p) => p,
            Err(e) => return bulk_err(400, e.code, &e.message),
        }
    };
    let Some(fields) = parsed.fields.clone() else {
        return bulk_err(
            400,
            "INVALIDJOB",
            "InvalidJob : Aggregate queries are not supported by Bulk API 2.0 query jobs",
        );
    };
    let delimiter = body
        .get("columnDelimiter")
        .and_then(Value::as_str)
        .unwrap_or("COMMA")
        .to_owned();
    if delimiter_char(&delimiter).is_none() {
        return bulk_err(
            400,
            "INVALIDJOB",
            &format!("InvalidJob : Invalid column delimiter: {delimiter}"),
        );
    }
    let line_ending = body
        .get("lineEnding")
        .and_then(Value::as_str)
        .unwrap_or("LF")
        .to_owned();
    let Some(t) = g.table_mut(&parsed.object) else {
        return not_found();
    };
    let rows = soql::execute(&parsed, t);
    let id = g.next_id("750");
    let job = QueryJob {
        id: id.clone(),
        object: parsed.object,
        operation,
        query: q,
        state: "UploadComplete",
        created_ms: now_ms(),
        created_at: Instant::now(),
        fields,
        rows,
        api_version: req.version.clone(),
        delimiter,
        line_ending,
    };
    let info = query_info(&job);
    g.query_jobs.insert(id, job);
    Resp::json(200, &info)
}

fn tick_query(g: &mut Inner, id: &str) {
    let delay = u128::from(g.cfg.bulk_delay_ms);
    let outcome = g.faults.bulk_outcome;
    let Some(j) = g.query_jobs.get_mut(id) else {
        return;
    };
    if matches!(j.state, "JobComplete" | "Failed" | "Aborted") {
        return;
    }
    let elapsed = j.created_at.elapsed().as_millis();
    if elapsed * 2 >= delay {
        j.state = "InProgress";
    }
    if elapsed >= delay {
        j.state = match outcome {
            BulkOutcome::Normal => "JobComplete",
            BulkOutcome::Failed => "Failed",
            BulkOutcome::Aborted => "Aborted",
            BulkOutcome::NeverComplete => "InProgress",
        };
    }
}

fn query_results(g: &mut Inner, req: &Req, id: &str) -> Resp {
    tick_query(g, id);
    let Some(j) = g.query_jobs.get(id) else {
        return not_found();
    };
    if j.api_version != req.version {
        // Bulk guide "Get Results for a Query Job": same API version as the job, else 409.
        return bulk_err(
            409,
            "INVALIDJOBSTATE",
            "The API version of the request does not match the job's API version",
        );
    }
    if j.state != "JobComplete" {
        return bulk_err(
            400,
            "INVALIDJOBSTATE",
            &format!(
                "Query job {id} is in state {}, results are not available",
                j.state
            ),
        );
    }
    let offset = match req.q("locator") {
        None | Some("") => 0,
        Some(l) => {
            let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(l.trim_end_matches('='))
                .ok();
            match decoded
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.parse::<usize>().ok())
            {
                Some(o) if o <= j.rows.len() => o,
                _ => return bulk_err(400, "INVALIDLOCATOR", &format!("Invalid locator: {l}")),
            }
        }
    };
    let max = match req.q("maxRecords") {
        None => usize::MAX,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return bulk_err(
                    400,
                    "INVALIDMAXRECORDS",
                    "maxRecords must be a positive integer",
                );
            }
        },
    };
    let Some(t) = g.table(&j.object) else {
        return not_found();
    };
    let delim = delimiter_char(&j.delimiter).unwrap_or(b',');
    let nl = if j.line_ending == "CRLF" {
        "\r\n"
    } else {
        "\n"
    };
    let end = offset.saturating_add(max).min(j.rows.len());
    let header: Vec<String> = j
        .fields
        .iter()
        .map(|&fi| t.field(fi).name.clone())
        .collect();
    let mut out = csv_line(&header, delim);
    out.push_str(nl);
    for &r in &j.rows[offset..end] {
        let cells: Vec<String> = j
            .fields
            .iter()
            .map(|&fi| t.rows[r].vals[fi].to_csv())
            .collect();
        out.push_str(&csv_line(&cells, delim));
        out.push_str(nl);
    }
    // The last page carries the literal locator "null" (research §5.6).
    let locator = if end < j.rows.len() {
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(end.to_string())
    } else {
        "null".to_owned()
    };
    Resp::text(200, "text/csv", out)
        .header("Sforce-Locator", locator)
        .header("Sforce-NumberOfRecords", (end - offset).to_string())
}

#[cfg(test)]
mod csv_line_tests {
    #[test]
    fn quotes_like_the_csv_crate() {
        let cells: Vec<String> = ["a", "", "say \"hi\"", "x,y", "two\nlines"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let mut w = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::Always)
            .from_writer(Vec::new());
        w.write_record(&cells).unwrap();
        let expected = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(
            super::csv_line(&cells, b','),
            expected.trim_end_matches('\n')
        );
    }
}
