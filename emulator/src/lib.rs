//! A local Salesforce emulator for walkme-sf's tests, benchmarks and demo.
//!
//! One HTTP server plays both the login host and the instance: OAuth (authorization code with
//! PKCE, Salesforce's device flow, refresh with optional rotation, JWT bearer, client
//! credentials), REST (versions, limits, describe, SOQL query with paging, sObject Collections,
//! single-record update and upsert), Bulk API 2.0 ingest and query jobs, `Sforce-Limit-Info`
//! accounting, and injectable faults. A control API under `/__emulator/` and the [`Emulator`]
//! handle read stats and records and change faults at run time.
//!
//! ```no_run
//! let emu = sf_emulator::Emulator::start(sf_emulator::Config::default())?;
//! let base = emu.url(); // login URL and instance URL
//! let refresh = emu.issue_refresh_token("admin@example.com");
//! # let _ = (base, refresh);
//! # Ok::<(), anyhow::Error>(())
//! ```

#![recursion_limit = "256"]
// Parser and handler code uses short conventional names (g = state, t = table, q = query).
#![allow(clippy::many_single_char_names, clippy::similar_names)]

mod bulk;
mod control;
pub mod ids;
mod oauth;
mod rest;
pub mod schema;
mod server;
pub mod soql;
mod state;
pub mod store;
pub mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use schema::Schema;
pub use state::Shared;

/// What kind of endpoint a request hit; used for stats and to aim faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    Versions,
    Authorize,
    Token,
    Revoke,
    Userinfo,
    Identity,
    Resources,
    Limits,
    GlobalDescribe,
    Describe,
    Query,
    QueryMore,
    Collections,
    SobjectGet,
    SobjectCreate,
    SobjectUpdate,
    SobjectDelete,
    Upsert,
    BulkIngestCreate,
    BulkIngestUpload,
    BulkIngestState,
    BulkIngestInfo,
    BulkIngestResults,
    BulkIngestDelete,
    BulkIngestList,
    BulkQueryCreate,
    BulkQueryInfo,
    BulkQueryResults,
    BulkQueryDelete,
    Other,
}

/// A burst of injected failures: the next `count` requests of `kind` (any kind when `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Burst {
    #[serde(default)]
    pub kind: Option<EndpointKind>,
    pub count: u32,
}

/// `UNABLE_TO_LOCK_ROW` for one record Id: the next `attempts` writes (forever when `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowLock {
    pub id: String,
    #[serde(default)]
    pub attempts: Option<u32>,
}

/// How Bulk ingest jobs end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkOutcome {
    /// Process the data and end `JobComplete`.
    #[default]
    Normal,
    /// End `Failed` with an `errorMessage`; no record is processed.
    Failed,
    /// End `Aborted`; no record is processed.
    Aborted,
    /// Stay `InProgress` forever.
    NeverComplete,
}

/// Injectable faults, settable at start, through [`Emulator::set_faults`] or `PUT /__emulator/faults`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Added to every Salesforce request (not to the control API).
    pub latency_ms: u64,
    /// 503 with an HTML body, as Salesforce's front end sends during maintenance.
    pub status_503: Option<Burst>,
    /// 500 `UNKNOWN_EXCEPTION`.
    pub status_500: Option<Burst>,
    /// Close the connection without a response.
    pub drop_connection: Option<Burst>,
    /// Answer with the headers and the first half of the body, then close the connection (a
    /// connection lost while a large answer streams in).
    #[serde(default)]
    pub cut_body: Option<Burst>,
    /// 403 `REQUEST_LIMIT_EXCEEDED` `ConcurrentPerOrgLongTxn Limit exceeded.` (research §6.3).
    pub concurrency_limit: Option<Burst>,
    /// Per-record `UNABLE_TO_LOCK_ROW` on writes.
    pub lock_rows: Vec<RowLock>,
    pub bulk_outcome: BulkOutcome,
}

/// Counters, readable through [`Emulator::stats`] or `GET /__emulator/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests per endpoint kind (every request, including failed and faulted ones).
    pub calls: BTreeMap<EndpointKind, u64>,
    /// Records successfully updated, created or deleted (REST and Bulk).
    pub records_written: u64,
    /// API requests counted against the daily limit (`Sforce-Limit-Info` used value).
    pub api_usage: u64,
    /// The daily limit.
    pub api_max: u64,
    /// Lead records written without `Sforce-Auto-Assign: FALSE` (their owner was reassigned).
    pub auto_assign_violations: u64,
    /// Faults injected (latency excluded).
    pub faults_injected: u64,
    /// Access tokens issued by the token endpoint or the control API.
    pub tokens_issued: u64,
    /// Rows processed by Bulk ingest jobs.
    pub bulk_rows_processed: u64,
}

impl Stats {
    /// Calls of one kind.
    #[must_use]
    pub fn calls_of(&self, kind: EndpointKind) -> u64 {
        self.calls.get(&kind).copied().unwrap_or(0)
    }
}

/// Emulator settings. Most can be changed at run time (`PATCH /__emulator/config`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
#[allow(clippy::struct_excessive_bools)] // independent switches
pub struct Config {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Schema JSON text (describe-shaped, see `schema/default.json`); `None` = the default schema.
    pub schema_json: Option<String>,
    /// Load the built-in sample records (a few Leads incl. a converted one, Contacts, Accounts).
    pub default_seed: bool,
    /// CSV seed files: (object, path).
    pub seeds: Vec<(String, PathBuf)>,
    /// Access-token lifetime; `None` = until revoked or expired through the control API.
    pub token_ttl_secs: Option<u64>,
    /// Refresh-token rotation: each refresh returns a new refresh token and kills the old one.
    pub rotate_refresh_tokens: bool,
    /// Daily API request limit (`Sforce-Limit-Info` max).
    pub api_max: u64,
    /// API usage at start.
    pub api_usage_start: u64,
    /// The org's user (token `sub`, userinfo `preferred_username`).
    pub username: String,
    /// When set, only this `client_id` is accepted.
    pub client_id: Option<String>,
    /// Secret for the client-credentials flow (and the token `signature`); never serialized.
    #[serde(skip_serializing)]
    pub client_secret: Option<String>,
    /// PEM public key that verifies JWT-bearer assertions; `None` rejects the JWT flow.
    pub jwt_public_key_pem: Option<String>,
    /// Device flow enabled on the app.
    pub device_flow_enabled: bool,
    /// Device flow: approve after this many `authorization_pending` polls (`None` = only via the
    /// control API).
    pub device_approve_after_polls: Option<u32>,
    /// Device flow: the user denies.
    pub device_deny: bool,
    /// Device flow `interval` sent to the client (seconds).
    pub device_interval_secs: u64,
    /// Authorize endpoint: the user denies consent (redirect with `error=access_denied`).
    pub authorize_deny: bool,
    /// Time a Bulk job spends queued/in progress after `UploadComplete` or creation.
    pub bulk_delay_ms: u64,
    /// Query page size when the client sends no `Sforce-Query-Options` (Salesforce: 2,000).
    pub query_page_size: usize,
    /// Initial faults.
    pub faults: Faults,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client secret never reaches Debug output.
        f.debug_struct("Config")
            .field("port", &self.port)
            .field("default_seed", &self.default_seed)
            .field("seeds", &self.seeds)
            .field("token_ttl_secs", &self.token_ttl_secs)
            .field("rotate_refresh_tokens", &self.rotate_refresh_tokens)
            .field("api_max", &self.api_max)
            .field("username", &self.username)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("device_flow_enabled", &self.device_flow_enabled)
            .field("bulk_delay_ms", &self.bulk_delay_ms)
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            port: 0,
            schema_json: None,
            default_seed: true,
            seeds: Vec::new(),
            token_ttl_secs: Some(7200),
            rotate_refresh_tokens: false,
            api_max: 100_000,
            api_usage_start: 0,
            username: "admin@example.com".to_owned(),
            client_id: None,
            client_secret: None,
            jwt_public_key_pem: None,
            device_flow_enabled: true,
            device_approve_after_polls: Some(2),
            device_deny: false,
            device_interval_secs: 5,
            authorize_deny: false,
            bulk_delay_ms: 200,
            query_page_size: 2000,
            faults: Faults::default(),
        }
    }
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    shared: Arc<Shared>,
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Binds 127.0.0.1:`config.port`, loads schema and seeds, and serves on a thread that owns
    /// its own tokio runtime (callers need no runtime).
    pub fn start(config: Config) -> anyhow::Result<Self> {
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", config.port))?;
        std_listener.set_nonblocking(true)?;
        let port = std_listener.local_addr()?.port();
        let url = format!("http://127.0.0.1:{port}");
        let shared = Arc::new(Shared::new(config, url.clone())?);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("sf-emulator".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow::anyhow!("tokio runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(listener) => {
                            let _ = ready_tx.send(Ok(()));
                            server::serve(listener, sh, stop_rx).await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(anyhow::anyhow!("listener: {e}")));
                        }
                    }
                });
                // Dropping the runtime here cancels open connections.
            })?;
        ready_rx
            .recv()
            .map_err(|_| anyhow::anyhow!("emulator thread ended early"))??;
        Ok(Self {
            shared,
            url,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Base URL, both login URL and instance URL: `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Adds records from a CSV file (header = field API names, `Id` optional).
    pub fn seed_csv(&self, object: &str, path: impl AsRef<Path>) -> anyhow::Result<usize> {
        let text = std::fs::read_to_string(path.as_ref())?;
        self.shared.seed_csv_text(object, &text)
    }

    /// Adds records given as JSON objects in REST formats (`Id` optional).
    #[allow(clippy::needless_pass_by_value)] // owned for call-site convenience (`vec![json!(..)]`)
    pub fn seed_records(&self, object: &str, records: Vec<Value>) -> anyhow::Result<usize> {
        self.shared.seed_json(object, &records)
    }

    /// Every live record of `object` with every field (REST JSON formats, `Id` included).
    #[must_use]
    pub fn records(&self, object: &str) -> Vec<Map<String, Value>> {
        self.shared.records(object)
    }

    #[must_use]
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Zeroes the counters (API usage included).
    pub fn reset_stats(&self) {
        self.shared.reset_stats();
    }

    /// Restores the initial state: seeds, tokens, jobs, stats and faults.
    pub fn reset(&self) -> anyhow::Result<()> {
        self.shared.reset()
    }

    /// A refresh token for `username`, as if an interactive login had happened.
    #[must_use]
    pub fn issue_refresh_token(&self, username: &str) -> String {
        self.shared.issue_refresh_token(username)
    }

    /// An access token for `username`.
    #[must_use]
    pub fn issue_access_token(&self, username: &str) -> String {
        self.shared.issue_access_token(username)
    }

    #[must_use]
    pub fn faults(&self) -> Faults {
        self.shared.faults()
    }

    pub fn set_faults(&self, faults: Faults) {
        self.shared.set_faults(faults);
    }

    /// Expires every access token issued so far (the next API call gets 401 `INVALID_SESSION_ID`).
    pub fn expire_tokens(&self) {
        self.shared.expire_tokens();
    }

    /// Approves every pending device-flow authorization.
    pub fn approve_device_codes(&self) {
        self.shared.approve_devices(true);
    }

    /// Sets the API usage counter (e.g. to near the limit).
    pub fn set_api_usage(&self, used: u64) {
        self.shared.set_api_usage(used);
    }

    /// The shared state (for embedding the server elsewhere).
    #[must_use]
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
