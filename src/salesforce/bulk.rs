//! Bulk API 2.0 (research §5): ingest jobs (create, upload the CSV, `UploadComplete`, poll,
//! results, abort, delete) and query jobs (create, poll, results paged by locator). Every HTTP
//! request counts as one API call (research §5.4, budgeted as in Bulk 1.0).

use std::time::Duration;

use reqwest::Method;

use crate::salesforce::client::{Body, CallKind, Client, Request, check_api_name, decode};
use crate::salesforce::error::SfError;

/// A job's state (research §5.1 "How Requests Are Processed").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub enum JobState {
    Open,
    UploadComplete,
    InProgress,
    JobComplete,
    Failed,
    Aborted,
    #[serde(other)]
    Other,
}

impl JobState {
    #[must_use]
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::JobComplete | Self::Failed | Self::Aborted)
    }
}

/// Job info of an ingest or query job (fixtures `jobs_create_200`, `jobs_get_job_info_200`).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobInfo {
    pub id: String,
    #[serde(default)]
    pub operation: Option<String>,
    #[serde(default)]
    pub object: Option<String>,
    pub state: JobState,
    #[serde(default)]
    pub content_url: Option<String>,
    /// `37.0` or `37` in the recordings.
    #[serde(default)]
    pub api_version: Option<f64>,
    #[serde(default)]
    pub number_records_processed: Option<u64>,
    #[serde(default)]
    pub number_records_failed: Option<u64>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub job_type: Option<String>,
}

/// `GET /jobs/ingest` (fixture `jobs_get_all_200`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobList {
    pub done: bool,
    #[serde(default)]
    pub next_records_url: Option<String>,
    pub records: Vec<JobInfo>,
}

/// The operations walkme-sf uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOperation {
    Update,
    Upsert,
    Insert,
}

impl IngestOperation {
    fn as_str(self) -> &'static str {
        match self {
            Self::Update => "update",
            Self::Upsert => "upsert",
            Self::Insert => "insert",
        }
    }
}

/// Which results of an ingest job (research §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultSet {
    /// `sf__Id`, `sf__Created`, then the uploaded columns.
    Successful,
    /// `sf__Id`, `sf__Error`, then the uploaded columns.
    Failed,
    /// The uploaded columns of records never processed.
    Unprocessed,
}

impl ResultSet {
    fn path(self) -> &'static str {
        match self {
            Self::Successful => "successfulResults",
            Self::Failed => "failedResults",
            Self::Unprocessed => "unprocessedrecords",
        }
    }
}

/// A result CSV, parsed: the header and the rows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsvTable {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl CsvTable {
    /// The index of a column.
    #[must_use]
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }
}

/// Parse a Bulk result CSV (comma, LF or CRLF, quoted fields).
pub fn parse_csv(text: &str) -> Result<CsvTable, SfError> {
    let decode_err = |e: csv::Error| SfError::Decode {
        what: "a Bulk API result CSV".to_owned(),
        detail: e.to_string(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(decode_err)?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        rows.push(
            record
                .map_err(decode_err)?
                .iter()
                .map(str::to_owned)
                .collect(),
        );
    }
    Ok(CsvTable { headers, rows })
}

/// Split `sf__Error` (`STATUS_CODE:message:fields --`) at the first `:` into code and the rest
/// (research §5.3: the message may itself contain `:`).
#[must_use]
pub fn split_bulk_error(sf_error: &str) -> (&str, &str) {
    sf_error.split_once(':').unwrap_or(("", sf_error))
}

/// One page of a query job's results.
#[derive(Debug, Clone)]
pub struct QueryResults {
    pub csv: String,
    /// The next page's locator; `None` on the last page (Salesforce sends the text `null`).
    pub locator: Option<String>,
    /// `Sforce-NumberOfRecords`.
    pub records: Option<u64>,
}

/// A result page whose CSV is still arriving.
#[derive(Debug)]
pub struct QueryPage {
    /// The locator of the next page (`None` on the last page).
    pub next: Option<String>,
    /// Records on this page, as Salesforce counts them.
    pub records: Option<u64>,
    body: Option<reqwest::Response>,
    path: String,
}

impl QueryPage {
    /// The next piece of the CSV; `None` at its end. A connection lost mid-page is a
    /// [`SfError::Network`] (transient): the caller asks for the page again.
    pub async fn chunk(&mut self) -> Result<Option<bytes::Bytes>, SfError> {
        let Some(body) = &mut self.body else {
            return Ok(None);
        };
        body.chunk().await.map_err(|e| SfError::Network {
            url: self.path.clone(),
            source: e.without_url(),
        })
    }
}

impl Client {
    fn ingest_path(&self) -> String {
        format!("{}/jobs/ingest", self.data_path())
    }

    fn query_jobs_path(&self) -> String {
        format!("{}/jobs/query", self.data_path())
    }

    /// Create an ingest job (CSV, comma, LF). `external_id` is required for upsert.
    pub async fn create_ingest_job(
        &self,
        object: &str,
        operation: IngestOperation,
        external_id: Option<&str>,
    ) -> Result<JobInfo, SfError> {
        check_api_name(object)?;
        let mut body = serde_json::json!({
            "object": object,
            "operation": operation.as_str(),
            "contentType": "CSV",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        });
        if let Some(field) = external_id {
            check_api_name(field)?;
            body["externalIdFieldName"] = serde_json::Value::String(field.to_owned());
        }
        let mut req = Request::new(Method::POST, self.ingest_path(), CallKind::BulkIngest);
        req.body = Body::Json(body);
        self.json(req, "a Bulk job creation").await
    }

    /// Upload the job's whole CSV (one upload per job, ≤ 100 MB; research §5.1).
    pub async fn upload_job_data(&self, job_id: &str, csv: String) -> Result<(), SfError> {
        self.upload(job_id, Body::Csv(bytes::Bytes::from(csv)))
            .await
    }

    async fn upload(&self, job_id: &str, body: Body) -> Result<(), SfError> {
        check_api_name(job_id)?;
        let mut req = Request::new(
            Method::PUT,
            format!("{}/{job_id}/batches", self.ingest_path()),
            CallKind::BulkIngest,
        );
        req.body = body;
        self.execute(req).await.map(drop)
    }

    async fn set_ingest_state(&self, job_id: &str, state: &str) -> Result<JobInfo, SfError> {
        check_api_name(job_id)?;
        let mut req = Request::new(
            Method::PATCH,
            format!("{}/{job_id}", self.ingest_path()),
            CallKind::BulkIngest,
        );
        req.body = Body::Json(serde_json::json!({ "state": state }));
        self.json(req, "a Bulk job state change").await
    }

    /// Upload the job's whole CSV from a file of `len` bytes (streamed, never held in memory).
    pub async fn upload_job_file(
        &self,
        job_id: &str,
        file: std::sync::Arc<tempfile::NamedTempFile>,
        len: u64,
    ) -> Result<(), SfError> {
        self.upload(job_id, Body::CsvFile(file, len)).await
    }

    /// Mark the upload complete: processing starts.
    pub async fn close_ingest_job(&self, job_id: &str) -> Result<JobInfo, SfError> {
        self.set_ingest_state(job_id, "UploadComplete").await
    }

    /// Abort a job (e.g. on Ctrl-C or an error while it is open).
    pub async fn abort_ingest_job(&self, job_id: &str) -> Result<JobInfo, SfError> {
        self.set_ingest_state(job_id, "Aborted").await
    }

    /// Delete a job.
    pub async fn delete_ingest_job(&self, job_id: &str) -> Result<(), SfError> {
        check_api_name(job_id)?;
        let req = Request::new(
            Method::DELETE,
            format!("{}/{job_id}", self.ingest_path()),
            CallKind::BulkIngest,
        );
        self.execute(req).await.map(drop)
    }

    /// The job's info (a poll).
    pub async fn ingest_job_info(&self, job_id: &str) -> Result<JobInfo, SfError> {
        check_api_name(job_id)?;
        let req = Request::new(
            Method::GET,
            format!("{}/{job_id}", self.ingest_path()),
            CallKind::BulkPoll,
        );
        self.json(req, "Bulk job info").await
    }

    /// Poll until the job is `JobComplete`, `Failed` or `Aborted`, waiting 2 s doubling to
    /// 30 s between polls, up to `deadline`. The terminal info is returned whatever the state.
    pub async fn wait_for_ingest_job(
        &self,
        job_id: &str,
        deadline: Duration,
    ) -> Result<JobInfo, SfError> {
        self.wait(job_id, deadline, false).await
    }

    async fn wait(
        &self,
        job_id: &str,
        deadline: Duration,
        query: bool,
    ) -> Result<JobInfo, SfError> {
        let end = tokio::time::Instant::now() + deadline;
        let mut delay = self.poll.first;
        loop {
            let info = if query {
                self.query_job_info(job_id).await?
            } else {
                self.ingest_job_info(job_id).await?
            };
            if info.state.is_terminal() {
                return Ok(info);
            }
            if tokio::time::Instant::now() + delay > end {
                return Err(SfError::JobTimeout {
                    id: job_id.to_owned(),
                    secs: deadline.as_secs(),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.poll.longest);
        }
    }

    /// One result set of an ingest job, as CSV text.
    pub async fn ingest_results(&self, job_id: &str, set: ResultSet) -> Result<String, SfError> {
        check_api_name(job_id)?;
        let mut req = Request::new(
            Method::GET,
            format!("{}/{job_id}/{}", self.ingest_path(), set.path()),
            CallKind::BulkIngest,
        );
        req.accept = "text/csv";
        Ok(self.execute(req).await?.body)
    }

    /// One result set of an ingest job, parsed.
    pub async fn ingest_results_table(
        &self,
        job_id: &str,
        set: ResultSet,
    ) -> Result<CsvTable, SfError> {
        parse_csv(&self.ingest_results(job_id, set).await?)
    }

    /// Create a query job (research §5.6).
    pub async fn create_query_job(&self, soql: &str) -> Result<JobInfo, SfError> {
        let mut req = Request::new(Method::POST, self.query_jobs_path(), CallKind::BulkQuery);
        req.body = Body::Json(serde_json::json!({
            "operation": "query",
            "query": soql,
            "contentType": "CSV",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }));
        self.json(req, "a Bulk query job creation").await
    }

    /// A query job's info (a poll).
    pub async fn query_job_info(&self, job_id: &str) -> Result<JobInfo, SfError> {
        check_api_name(job_id)?;
        let req = Request::new(
            Method::GET,
            format!("{}/{job_id}", self.query_jobs_path()),
            CallKind::BulkPoll,
        );
        self.json(req, "Bulk query job info").await
    }

    /// Poll a query job until it is terminal, up to `deadline`.
    pub async fn wait_for_query_job(
        &self,
        job_id: &str,
        deadline: Duration,
    ) -> Result<JobInfo, SfError> {
        self.wait(job_id, deadline, true).await
    }

    /// One page of a query job's results, its body left to stream: the request is answered
    /// (and retried) up to its headers; [`QueryPage::chunk`] reads the CSV as it arrives.
    pub async fn query_job_page(
        &self,
        job_id: &str,
        locator: Option<&str>,
        max_records: Option<u64>,
    ) -> Result<QueryPage, SfError> {
        check_api_name(job_id)?;
        let path = format!("{}/{job_id}/results", self.query_jobs_path());
        let mut req = Request::new(Method::GET, path.clone(), CallKind::BulkQuery);
        req.accept = "text/csv";
        req.stream = true;
        if let Some(n) = max_records {
            req.query.push(("maxRecords".to_owned(), n.to_string()));
        }
        if let Some(l) = locator {
            req.query.push(("locator".to_owned(), l.to_owned()));
        }
        let resp = self.execute(req).await?;
        let header = |name: &str| {
            resp.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .map(str::to_owned)
        };
        let next = header("sforce-locator").filter(|l| !l.is_empty() && l != "null");
        let records = header("sforce-numberofrecords").and_then(|n| n.parse().ok());
        Ok(QueryPage {
            next,
            records,
            body: resp.raw,
            path,
        })
    }

    /// One page of a query job's results, read whole; pass the previous page's locator to
    /// continue.
    pub async fn query_job_results(
        &self,
        job_id: &str,
        locator: Option<&str>,
        max_records: Option<u64>,
    ) -> Result<QueryResults, SfError> {
        let mut page = self.query_job_page(job_id, locator, max_records).await?;
        let mut csv = Vec::new();
        while let Some(chunk) = page.chunk().await? {
            csv.extend_from_slice(&chunk);
        }
        Ok(QueryResults {
            csv: String::from_utf8_lossy(&csv).into_owned(),
            locator: page.next,
            records: page.records,
        })
    }

    /// Delete a query job.
    pub async fn delete_query_job(&self, job_id: &str) -> Result<(), SfError> {
        check_api_name(job_id)?;
        let req = Request::new(
            Method::DELETE,
            format!("{}/{job_id}", self.query_jobs_path()),
            CallKind::BulkQuery,
        );
        self.execute(req).await.map(drop)
    }

    /// `GET /jobs/ingest`: the org's ingest jobs (first page).
    pub async fn list_ingest_jobs(&self) -> Result<JobList, SfError> {
        let req = Request::new(Method::GET, self.ingest_path(), CallKind::BulkIngest);
        let resp = self.execute(req).await?;
        decode("the Bulk job list", &resp.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(raw: &str) -> serde_json::Value {
        let exchange: serde_json::Value = serde_json::from_str(raw).unwrap();
        exchange["body"].clone()
    }

    #[test]
    fn parses_the_recorded_job_infos() {
        let created: JobInfo = serde_json::from_value(body(include_str!(
            "../../tests/fixtures/salesforce-recorded/jobs_create_200.json"
        )))
        .unwrap();
        assert_eq!(created.id, "7500Y00000BSfbrQAD");
        assert_eq!(created.state, JobState::Open);
        assert!(!created.state.is_terminal());
        let info: JobInfo = serde_json::from_value(body(include_str!(
            "../../tests/fixtures/salesforce-recorded/jobs_get_job_info_200.json"
        )))
        .unwrap();
        assert_eq!(info.job_type.as_deref(), Some("V2Ingest"));
        let closed: JobInfo = serde_json::from_value(body(include_str!(
            "../../tests/fixtures/salesforce-recorded/jobs_update_close_200.json"
        )))
        .unwrap();
        assert_eq!(closed.state, JobState::UploadComplete);
        assert_eq!(closed.api_version, Some(37.0));
        let all: JobList = serde_json::from_value(body(include_str!(
            "../../tests/fixtures/salesforce-recorded/jobs_get_all_200.json"
        )))
        .unwrap();
        assert!(all.done && all.next_records_url.is_none());
        assert_eq!(all.records.len(), 1);
        // Upload (201) and delete (204) answer with no body.
        for raw in [
            include_str!("../../tests/fixtures/salesforce-recorded/jobs_batches_201.json"),
            include_str!("../../tests/fixtures/salesforce-recorded/jobs_delete_204.json"),
        ] {
            assert!(body(raw).is_null());
        }
        let odd: JobInfo = serde_json::from_str(r#"{"id":"750","state":"SomethingNew"}"#).unwrap();
        assert_eq!(odd.state, JobState::Other);
    }

    #[test]
    fn parses_the_recorded_result_csvs() {
        let text = |raw: &str| body(raw).as_str().unwrap().to_owned();
        let ok = parse_csv(&text(include_str!(
            "../../tests/fixtures/salesforce-recorded/jobs_get_successes_200.json"
        )))
        .unwrap();
        assert_eq!(ok.headers, ["sf__Id", "sf__Created", "Name"]);
        assert_eq!(
            ok.rows[1],
            ["0011v00001rlVAMAA2", "true", "Universal Containers"]
        );

        let failed = parse_csv(&text(include_str!(
            "../../tests/fixtures/salesforce-recorded/jobs_get_failures_200.json"
        )))
        .unwrap();
        let err_col = failed.column("sf__Error").unwrap();
        let (code, message) = split_bulk_error(&failed.rows[0][err_col]);
        assert_eq!(code, "FIELD_CUSTOM_VALIDATION_EXCEPTION");
        assert_eq!(message, "Type must contain a value.:Type --");

        let unprocessed = parse_csv(&text(include_str!(
            "../../tests/fixtures/salesforce-recorded/jobs_get_unprocessed_200.json"
        )))
        .unwrap();
        assert_eq!(unprocessed.headers, ["Name"]);
        assert_eq!(unprocessed.rows.len(), 2);
    }
}
