//! The one Salesforce API client: the pinned API version, authentication with one shared
//! renewal on 401 `INVALID_SESSION_ID`, retries of transient failures with jittered exponential
//! backoff, and the count of API calls and the last `Sforce-Limit-Info` for the run log.
//!
//! Resource methods live beside their types: `query.rs`, `collections.rs`, `bulk.rs`; the
//! small ones (versions, describe, userinfo, limits) are here.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap};

use crate::auth::flows::UserInfo;
use crate::auth::session::{Current, Session};
use crate::salesforce::describe::ObjectDescribe;
use crate::salesforce::error::SfError;
use crate::salesforce::limits::{LimitInfo, Limits, parse_limit_info};

/// What an API call was for, for the run log's `api_calls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    Versions,
    Describe,
    Query,
    Update,
    BulkIngest,
    BulkQuery,
    /// Polls of Bulk job state.
    BulkPoll,
    Limits,
    Other,
}

/// Calls made under `/services/data` (retries and polls included), and the last usage header.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApiStats {
    pub calls: BTreeMap<CallKind, u64>,
    /// How many of the calls were retries.
    pub retries: u64,
    /// The last `Sforce-Limit-Info` seen.
    pub limit_info: Option<LimitInfo>,
}

impl ApiStats {
    #[must_use]
    pub fn total(&self) -> u64 {
        self.calls.values().sum()
    }
}

/// Backoff of retried calls.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Retries after the first attempt.
    pub max_retries: usize,
}

impl Default for RetryPolicy {
    /// 1 s doubling to 30 s, 5 retries, jittered (research §6.6).
    fn default() -> Self {
        Self {
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_retries: 5,
        }
    }
}

/// Polling of Bulk jobs: the first wait, doubled up to the longest.
#[derive(Debug, Clone, Copy)]
pub struct PollPolicy {
    pub first: Duration,
    pub longest: Duration,
}

impl Default for PollPolicy {
    /// 2 s → 30 s (research §5.1).
    fn default() -> Self {
        Self {
            first: Duration::from_secs(2),
            longest: Duration::from_secs(30),
        }
    }
}

/// A request body.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    None,
    Json(serde_json::Value),
    /// Shared, so a retry or a re-send after a token renewal does not copy a Bulk upload of up
    /// to 100 MB (issue 6).
    Csv(bytes::Bytes),
    /// A CSV in a file of `len` bytes, streamed from its start on every send: a Bulk upload
    /// of a million records is ~50 MB that need not sit in memory (issue 6). Each send opens
    /// the file anew, so an earlier send's stream never moves its read position.
    CsvFile(std::sync::Arc<tempfile::NamedTempFile>, u64),
}

/// One API request, re-sendable for retries and after a renewal.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: Method,
    /// A path on the instance (`/services/data/v64.0/…`).
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Body,
    pub accept: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub kind: CallKind,
    /// A 2xx answer's body is left unread, for the caller to stream ([`Response::raw`]).
    pub stream: bool,
}

impl Request {
    pub fn new(method: Method, path: String, kind: CallKind) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body: Body::None,
            accept: "application/json",
            headers: Vec::new(),
            kind,
            stream: false,
        }
    }
}

/// A 2xx answer.
#[derive(Debug)]
pub(crate) struct Response {
    pub headers: HeaderMap,
    pub body: String,
    /// The unread answer of a streamed request (its `body` is empty).
    pub raw: Option<reqwest::Response>,
}

/// The Salesforce API client of one session.
#[derive(Debug, Clone)]
pub struct Client {
    session: Arc<Session>,
    version: String,
    stats: Arc<Mutex<ApiStats>>,
    retry: RetryPolicy,
    pub(crate) poll: PollPolicy,
    /// Where `-v` shows each request and retry (`None`: not shown).
    trace: Option<crate::output::Printer>,
}

/// An API version such as `64.0` (a leading `v` is tolerated).
fn normalise_version(version: &str) -> String {
    version.trim().trim_start_matches(['v', 'V']).to_owned()
}

impl Client {
    #[must_use]
    pub fn new(session: Arc<Session>, api_version: &str) -> Self {
        Self {
            session,
            version: normalise_version(api_version),
            stats: Arc::new(Mutex::new(ApiStats::default())),
            retry: RetryPolicy::default(),
            poll: PollPolicy::default(),
            trace: None,
        }
    }

    /// Show each request (method, path without its query string, status, time) and each retry
    /// on stderr, as `-v` asks.
    #[must_use]
    pub fn with_trace(mut self, printer: crate::output::Printer) -> Self {
        self.trace = Some(printer);
        self
    }

    fn trace(&self, line: impl FnOnce() -> String) {
        if let Some(printer) = &self.trace {
            printer.verbose(&crate::output::sanitize(&line()));
        }
    }

    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    #[must_use]
    pub fn with_poll(mut self, poll: PollPolicy) -> Self {
        self.poll = poll;
        self
    }

    #[must_use]
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The pinned API version (`64.0`).
    #[must_use]
    pub fn api_version(&self) -> &str {
        &self.version
    }

    /// The one place the versioned path is built: `/services/data/vNN.N`.
    #[must_use]
    pub fn data_path(&self) -> String {
        format!("/services/data/v{}", self.version)
    }

    /// The calls made so far.
    #[must_use]
    pub fn stats(&self) -> ApiStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn record(&self, kind: CallKind, path: &str, headers: Option<&HeaderMap>) {
        if let Ok(mut stats) = self.stats.lock() {
            if path.starts_with("/services/data") {
                *stats.calls.entry(kind).or_default() += 1;
            }
            let info = headers
                .and_then(|h| h.get("sforce-limit-info"))
                .and_then(|v| v.to_str().ok())
                .and_then(parse_limit_info);
            if info.is_some() {
                stats.limit_info = info;
            }
        }
    }

    fn count_retry(&self) {
        if let Ok(mut stats) = self.stats.lock() {
            stats.retries += 1;
        }
    }

    /// Send once with the given token.
    async fn send_once(&self, req: &Request, current: &Current) -> Result<Response, SfError> {
        let url = format!("{}{}", current.instance_url, req.path);
        let http = self.session.http();
        let mut builder = http
            .request(req.method.clone(), &url)
            .header(
                AUTHORIZATION,
                format!("Bearer {}", current.access_token.expose()),
            )
            .header(ACCEPT, req.accept);
        if !req.query.is_empty() {
            builder = builder.query(&req.query);
        }
        for (name, value) in &req.headers {
            builder = builder.header(*name, value);
        }
        builder = match &req.body {
            Body::None => builder,
            Body::Json(v) => builder.json(v),
            Body::Csv(text) => builder.header(CONTENT_TYPE, "text/csv").body(text.clone()), // a reference count, not a copy
            Body::CsvFile(file, len) => builder
                .header(CONTENT_TYPE, "text/csv")
                .header(reqwest::header::CONTENT_LENGTH, *len)
                .body(file_body(file).map_err(|e| {
                    SfError::Invalid(format!("cannot read the upload's temporary file: {e}"))
                })?),
        };
        // reqwest's message would repeat the URL with its query string, which for a SOQL
        // query holds report keys (e-mail addresses); the path is enough.
        let network = |source: reqwest::Error| SfError::Network {
            url: format!("{}{}", current.instance_url, req.path),
            source: source.without_url(),
        };
        let started = std::time::Instant::now();
        let result = builder.send().await;
        let shown = |outcome: &dyn std::fmt::Display| {
            format!(
                "  {} {} → {outcome} ({} ms)",
                req.method,
                req.path,
                started.elapsed().as_millis()
            )
        };
        let resp = match result {
            Ok(r) => r,
            Err(e) => {
                self.record(req.kind, &req.path, None);
                self.trace(|| shown(&"no answer"));
                return Err(network(e));
            }
        };
        let status = resp.status().as_u16();
        self.trace(|| shown(&status));
        let headers = resp.headers().clone();
        self.record(req.kind, &req.path, Some(&headers));
        if req.stream && (200..300).contains(&status) {
            return Ok(Response {
                headers,
                body: String::new(),
                raw: Some(resp),
            });
        }
        let body = resp.text().await.map_err(network)?;
        if (200..300).contains(&status) {
            Ok(Response {
                headers,
                body,
                raw: None,
            })
        } else {
            let content_type = headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            Err(SfError::from_response(status, content_type, &body))
        }
    }

    /// One attempt: send; on 401 `INVALID_SESSION_ID` renew (once per run, shared) and send
    /// again. Any other 401 is final (research §1.10).
    async fn attempt(&self, req: &Request) -> Result<Response, SfError> {
        let mut current = self.session.current().await;
        loop {
            match self.send_once(req, &current).await {
                Err(e) if e.is_invalid_session() => {
                    current = self
                        .session
                        .renew_after(current.generation)
                        .await
                        .map_err(SfError::Auth)?;
                }
                Err(SfError::Api {
                    status: 401,
                    errors,
                }) => {
                    let message = errors
                        .first()
                        .map_or_else(|| "HTTP 401".to_owned(), |e| e.message.clone());
                    return Err(SfError::Auth(
                        crate::error::Fail::auth(format!(
                            "Salesforce refused the session: {message}"
                        ))
                        .hint(crate::auth::token::login_hint(self.session.env_name())),
                    ));
                }
                other => return other,
            }
        }
    }

    /// Send with retries of transient failures (jittered exponential backoff).
    pub(crate) async fn execute(&self, req: Request) -> Result<Response, SfError> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry.min_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(self.retry.max_retries)
            .with_jitter();
        let req = &req;
        (|| async move { self.attempt(req).await })
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(SfError::is_transient)
            .notify(|error, wait| {
                self.count_retry();
                self.trace(|| format!("  retrying in {:.1} s: {error}", wait.as_secs_f64()));
            })
            .await
    }

    /// Send and parse a JSON answer.
    pub(crate) async fn json<T: serde::de::DeserializeOwned>(
        &self,
        req: Request,
        what: &str,
    ) -> Result<T, SfError> {
        let resp = self.execute(req).await?;
        decode(what, &resp.body)
    }

    /// `GET /services/data/`: the versions the instance offers (research §2.1).
    pub async fn versions(&self) -> Result<Vec<ApiVersion>, SfError> {
        self.json(
            Request::new(
                Method::GET,
                "/services/data/".to_owned(),
                CallKind::Versions,
            ),
            "the versions list",
        )
        .await
    }

    /// `GET …/sobjects`: the org's objects (research §2.3).
    pub async fn describe_global(&self) -> Result<GlobalDescribe, SfError> {
        let path = format!("{}/sobjects", self.data_path());
        self.json(
            Request::new(Method::GET, path, CallKind::Describe),
            "the global describe",
        )
        .await
    }

    /// `GET …/sobjects/{object}/describe` (research §2.4).
    pub async fn describe(&self, object: &str) -> Result<ObjectDescribe, SfError> {
        check_api_name(object)?;
        let path = format!("{}/sobjects/{object}/describe", self.data_path());
        self.json(
            Request::new(Method::GET, path, CallKind::Describe),
            &format!("the describe of {object}"),
        )
        .await
    }

    /// `GET …/vNN.N/`: the resources of the pinned version (REST guide "Resources by Version").
    /// The cheapest authenticated data call: it proves the session and, like every data call,
    /// brings a `Sforce-Limit-Info` header (research §1.7, §6.2), read through [`Client::stats`].
    pub async fn resources(&self) -> Result<serde_json::Value, SfError> {
        let path = format!("{}/", self.data_path());
        self.json(
            Request::new(Method::GET, path, CallKind::Other),
            "the resources list",
        )
        .await
    }

    /// `GET {instance}/services/oauth2/userinfo` (research §1.7); proves the token works.
    pub async fn userinfo(&self) -> Result<UserInfo, SfError> {
        self.json(
            Request::new(
                Method::GET,
                "/services/oauth2/userinfo".to_owned(),
                CallKind::Other,
            ),
            "userinfo",
        )
        .await
    }

    /// The org's API usage from `Sforce-Limit-Info`, at the cost of one cheap call (the
    /// resources list of the pinned version). Works without the permission `/limits` needs.
    pub async fn api_usage(&self) -> Result<Option<LimitInfo>, SfError> {
        self.execute(Request::new(Method::GET, self.data_path(), CallKind::Other))
            .await?;
        Ok(self.stats().limit_info)
    }

    /// `GET …/limits` (research §6.1; needs "View Setup and Configuration").
    pub async fn limits(&self) -> Result<Limits, SfError> {
        let path = format!("{}/limits", self.data_path());
        let value: serde_json::Value = self
            .json(Request::new(Method::GET, path, CallKind::Limits), "limits")
            .await?;
        Ok(Limits::from_json(&value))
    }
}

/// A request body streaming `file` from its start in 256 KiB chunks, through a handle of its
/// own.
fn file_body(file: &tempfile::NamedTempFile) -> std::io::Result<reqwest::Body> {
    use std::io::Read as _;
    const CHUNK: usize = 256 * 1024;
    let file = file.reopen()?;
    let chunks = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        // Read into capacity, not a zeroed buffer: zeroing each chunk first was a pass over the
        // whole upload (issue 6). A local file read of 256 KiB blocks for microseconds; the
        // runtime has nothing else waiting on this thread that long.
        let mut chunk = Vec::with_capacity(CHUNK);
        match (&mut file).take(CHUNK as u64).read_to_end(&mut chunk) {
            Ok(0) => None,
            Ok(_) => Some((Ok(bytes::Bytes::from(chunk)), Some(file))),
            Err(e) => Some((Err(e), None)),
        }
    });
    Ok(reqwest::Body::wrap_stream(chunks))
}

/// Parse a 2xx JSON body.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(what: &str, body: &str) -> Result<T, SfError> {
    serde_json::from_str(body).map_err(|e| SfError::Decode {
        what: what.to_owned(),
        detail: e.to_string(),
    })
}

/// Object and field API names: letters, digits, underscores. They go into URL paths.
pub(crate) fn check_api_name(name: &str) -> Result<(), SfError> {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(SfError::Invalid(format!(
            "`{name}` is not a Salesforce API name"
        )))
    }
}

/// One entry of the versions list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct ApiVersion {
    pub label: String,
    pub url: String,
    pub version: String,
}

/// The global describe, reduced to what walkme-sf checks.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct GlobalDescribe {
    pub sobjects: Vec<SObjectSummary>,
}

/// One object of the global describe.
#[derive(Debug, Clone, serde::Deserialize)]
#[allow(clippy::struct_excessive_bools)] // Salesforce's own flags, one per capability.
pub struct SObjectSummary {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub custom: bool,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub queryable: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(raw: &str) -> String {
        let exchange: serde_json::Value = serde_json::from_str(raw).unwrap();
        exchange["body"].to_string()
    }

    #[test]
    fn parses_the_recorded_versions_and_global_describe() {
        for raw in [
            include_str!("../../tests/fixtures/salesforce-recorded/api_version_response_200.json"),
            include_str!(
                "../../tests/fixtures/salesforce-recorded/api_version_response_v58_200.json"
            ),
        ] {
            let versions: Vec<ApiVersion> = decode("versions", &body(raw)).unwrap();
            assert!(
                versions
                    .iter()
                    .any(|v| v.version == "37.0" && v.url == "/services/data/v37.0")
            );
        }
        let global: GlobalDescribe = decode(
            "global",
            &body(include_str!(
                "../../tests/fixtures/salesforce-recorded/describe_global_response_200.json"
            )),
        )
        .unwrap();
        let account = global
            .sobjects
            .iter()
            .find(|o| o.name == "Account")
            .unwrap();
        assert!(account.updateable && account.queryable && !account.custom);
    }

    #[test]
    fn api_names_are_checked() {
        check_api_name("WalkMe_Last_Login__c").unwrap();
        for bad in ["", "Lead/../x", "Lead?x", "a b"] {
            assert!(check_api_name(bad).is_err(), "{bad}");
        }
        assert_eq!(normalise_version("v64.0"), "64.0");
    }
}
