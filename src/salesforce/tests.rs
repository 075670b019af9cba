//! The client and the session against a scripted server: renewal shared by concurrent
//! requests, refresh-token rotation written back, retries of transient failures only, call
//! counts, paging, collections and Bulk requests on the wire.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::auth::secret::Secret;
use crate::auth::session::{EnvVars, Session, Stores, resolve};
use crate::auth::store::{CredentialStore, FileStore, STORED_VERSION, StoredLogin};
use crate::config::model::{DEFAULT_API_VERSION, DEFAULT_REDIRECT_PORT, EnvKind, Environment};
use crate::error::ExitStatus;
use crate::salesforce::bulk::{IngestOperation, JobState, ResultSet};
use crate::salesforce::client::{CallKind, Client, PollPolicy, RetryPolicy};
use crate::salesforce::error::SfError;
use crate::salesforce::fake::{FakeRequest, FakeResponse, FakeServer, start};

fn env(login_url: &str) -> Environment {
    Environment {
        name: "sandbox".into(),
        kind: EnvKind::Sandbox,
        login_url: login_url.into(),
        client_id: Some("3MVG-test".into()),
        api_version: DEFAULT_API_VERSION.into(),
        redirect_port: DEFAULT_REDIRECT_PORT,
        username: None,
        jwt_key_file: None,
        flow: None,
        loc: None,
    }
}

fn base(req: &FakeRequest) -> String {
    format!(
        "http://{}",
        req.headers.get("host").cloned().unwrap_or_default()
    )
}

fn token(req: &FakeRequest, access: &str, refresh: Option<&str>) -> FakeResponse {
    let mut body = json!({
        "access_token": access,
        "instance_url": base(req),
        "id": format!("{}/id/00Dxx0000001gPLEAY/005xx000001Sv6eAAC", base(req)),
        "issued_at": "1700000000000",
        "token_type": "Bearer",
        "signature": "c2ln",
    });
    if let Some(r) = refresh {
        body["refresh_token"] = Value::String(r.to_owned());
    }
    FakeResponse::json(200, &body)
}

fn invalid_session() -> FakeResponse {
    FakeResponse::json(
        401,
        &json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]),
    )
}

fn one_record_page() -> FakeResponse {
    FakeResponse::json(
        200,
        &json!({"totalSize": 1, "done": true, "records": [
            {"attributes": {"type": "Lead", "url": "/services/data/v64.0/sobjects/Lead/00Q1"}, "Id": "00Q1"}
        ]}),
    )
    .header("Sforce-Limit-Info", "api-usage=5/15000")
}

const FAST: RetryPolicy = RetryPolicy {
    min_delay: Duration::from_millis(1),
    max_delay: Duration::from_millis(5),
    max_retries: 3,
};

/// A session on a ready access token (no token call).
async fn bare_session(server: &FakeServer) -> Arc<Session> {
    let vars = EnvVars {
        access_token: Some(Secret::new("ready")),
        instance_url: Some(server.url.clone()),
        ..EnvVars::default()
    };
    let stores = Stores::new(std::env::temp_dir().join("walkme-sf-unused"));
    Arc::new(
        resolve(
            &env(&server.url),
            &vars,
            &stores,
            &crate::auth::http::http_client().unwrap(),
        )
        .await
        .unwrap(),
    )
}

#[derive(Default)]
struct Org {
    valid_access: String,
    refresh: String,
    issued: u32,
    used_refresh_tokens: Vec<String>,
}

/// An org with rotating refresh tokens: each refresh returns `a{n}` and rotates to `r{n+1}`.
async fn rotating_org() -> (FakeServer, Arc<Mutex<Org>>) {
    let org = Arc::new(Mutex::new(Org {
        refresh: "r1".into(),
        ..Org::default()
    }));
    let state = Arc::clone(&org);
    let server = start(move |req| {
        let mut org = state.lock().unwrap();
        if req.path == "/services/oauth2/token" {
            let form = req.form();
            let given = form.get("refresh_token").cloned().unwrap_or_default();
            org.used_refresh_tokens.push(given.clone());
            if form.get("grant_type").map(String::as_str) != Some("refresh_token")
                || given != org.refresh
                || form.get("client_id").map(String::as_str) != Some("3MVG-test")
            {
                return FakeResponse::json(
                    400,
                    &json!({"error": "invalid_grant", "error_description": "expired access/refresh token"}),
                );
            }
            org.issued += 1;
            org.valid_access = format!("a{}", org.issued);
            org.refresh = format!("r{}", org.issued + 1);
            let (access, refresh) = (org.valid_access.clone(), org.refresh.clone());
            return token(req, &access, Some(&refresh));
        }
        if req.bearer() != Some(org.valid_access.as_str()) {
            return invalid_session();
        }
        one_record_page()
    })
    .await;
    (server, org)
}

fn store_login(dir: &std::path::Path, server: &FakeServer) -> FileStore {
    let store = FileStore::new(dir.to_owned());
    store
        .save(
            "sandbox",
            &StoredLogin {
                version: STORED_VERSION,
                refresh_token: Secret::new("r1"),
                instance_url: server.url.clone(),
                username: "me@example.com".into(),
                org_id: "00Dxx0000001gPLEAY".into(),
                login_url: server.url.clone(),
                client_id: None,
            },
        )
        .unwrap();
    store
}

#[tokio::test]
async fn expired_token_is_renewed_once_for_all_requests_and_rotation_is_stored() {
    let (server, org) = rotating_org().await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_login(dir.path(), &server);
    let stores = Stores::new(dir.path().to_owned());
    let session = resolve(
        &env(&server.url),
        &EnvVars::default(),
        &stores,
        &crate::auth::http::http_client().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        session.source(),
        crate::auth::session::Source::Stored(crate::auth::store::StoreKind::File)
    );
    // The first exchange rotated r1 → r2, and r2 is on disk already.
    assert_eq!(store.load("sandbox").unwrap().refresh_token.expose(), "r2");
    let client = Client::new(Arc::new(session), "v64.0").with_retry(FAST);
    assert_eq!(client.query("SELECT Id FROM Lead").await.unwrap().len(), 1);

    // The access token expires; five concurrent requests share one renewal.
    org.lock().unwrap().valid_access = "gone".into();
    let results =
        futures_util::future::join_all((0..5).map(|_| client.query("SELECT Id FROM Lead"))).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(org.lock().unwrap().issued, 2);
    assert_eq!(store.load("sandbox").unwrap().refresh_token.expose(), "r3");

    // A second expiry in the same run is final: exit 3 with the login hint.
    org.lock().unwrap().valid_access = "gone again".into();
    let err = client.query("SELECT Id FROM Lead").await.unwrap_err();
    assert!(matches!(err, SfError::Auth(_)));
    let err = anyhow::Error::new(err);
    assert_eq!(crate::error::status_of(&err), ExitStatus::Auth);
    assert_eq!(
        crate::error::hint_of(&err),
        Some("run `walkme-sf login --env sandbox`")
    );

    let stats = client.stats();
    assert_eq!(
        stats.calls.get(&CallKind::Query).copied(),
        Some(server.count("/services/data/v64.0/query") as u64)
    );
    assert_eq!(stats.total(), stats.calls[&CallKind::Query]);
    assert_eq!(stats.limit_info.map(|l| (l.used, l.max)), Some((5, 15000)));
    // No secret in the stats or the session's Debug.
    let shown = format!("{stats:?} {:?}", client.session());
    for secret in ["a1", "a2", "r2", "r3"] {
        assert!(!shown.contains(&format!("\"{secret}\"")), "{shown}");
    }
}

#[tokio::test]
async fn overlapping_runs_both_succeed_with_a_rotating_token() {
    let (server, org) = rotating_org().await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_login(dir.path(), &server);
    let stores = Stores::new(dir.path().to_owned());
    let http = crate::auth::http::http_client().unwrap();
    let e = env(&server.url);
    let vars = EnvVars::default();
    let (a, b) = tokio::join!(
        resolve(&e, &vars, &stores, &http),
        resolve(&e, &vars, &stores, &http)
    );
    a.unwrap();
    b.unwrap();
    // The second run waited for the first, then used the token the first stored.
    assert_eq!(org.lock().unwrap().used_refresh_tokens, ["r1", "r2"]);
    assert_eq!(store.load("sandbox").unwrap().refresh_token.expose(), "r3");
}

#[tokio::test]
async fn a_refused_refresh_token_is_exit_3() {
    let (server, _org) = rotating_org().await;
    let vars = EnvVars {
        refresh_token: Some(Secret::new("revoked")),
        ..EnvVars::default()
    };
    let stores = Stores::new(std::env::temp_dir().join("walkme-sf-unused"));
    let fail = resolve(
        &env(&server.url),
        &vars,
        &stores,
        &crate::auth::http::http_client().unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(fail.status, ExitStatus::Auth);
    assert!(fail.message.contains("expired access/refresh token"));
    assert!(!fail.message.contains("revoked"));
    assert_eq!(
        fail.hint.as_deref(),
        Some("run `walkme-sf login --env sandbox`")
    );
}

#[tokio::test]
async fn transient_failures_are_retried_and_the_daily_limit_is_not() {
    let calls = Arc::new(Mutex::new(0u32));
    let counter = Arc::clone(&calls);
    let server = start(move |req| {
        let mut n = counter.lock().unwrap();
        *n += 1;
        match (req.query.get("q").map(String::as_str), *n) {
            (Some("flaky"), 1) => FakeResponse::text(503, "text/html", "<html>down</html>"),
            (Some("flaky"), 2) => FakeResponse::json(
                403,
                &json!([{"message": "ConcurrentPerOrgLongTxn Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]),
            ),
            (Some("flaky"), _) => one_record_page(),
            (Some("daily"), _) => FakeResponse::json(
                403,
                &json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]),
            ),
            _ => FakeResponse::json(
                400,
                &json!([{"message": "unexpected token: x", "errorCode": "MALFORMED_QUERY"}]),
            ),
        }
    })
    .await;
    let client = Client::new(bare_session(&server).await, "64.0").with_retry(FAST);
    assert_eq!(client.query("flaky").await.unwrap().len(), 1);
    assert_eq!(client.stats().retries, 2);
    assert_eq!(client.stats().calls[&CallKind::Query], 3);

    let err = client.query("daily").await.unwrap_err();
    assert!(matches!(err, SfError::DailyLimit { .. }));
    let err = client.query("bad").await.unwrap_err();
    assert_eq!(err.error_code(), Some("MALFORMED_QUERY"));
    // One call each: neither was retried.
    assert_eq!(client.stats().calls[&CallKind::Query], 5);
    assert_eq!(client.stats().retries, 2);
}

#[tokio::test]
async fn query_follows_next_records_url() {
    let server = start(|req| match req.path.as_str() {
        "/services/data/v64.0/query" => FakeResponse::json(
            200,
            &json!({"totalSize": 3, "done": false, "nextRecordsUrl": "/services/data/v64.0/query/01gxx-2",
                    "records": [{"Id": "1"}, {"Id": "2"}]}),
        ),
        "/services/data/v64.0/query/01gxx-2" => FakeResponse::json(
            200,
            &json!({"totalSize": 3, "done": true, "records": [{"Id": "3"}]}),
        ),
        _ => FakeResponse::text(404, "text/plain", "no"),
    })
    .await;
    let client = Client::new(bare_session(&server).await, "64.0");
    let records = client
        .query("SELECT Id FROM Lead WHERE Email = 'o\\'brien@example.com'")
        .await
        .unwrap();
    let ids: Vec<&str> = records.iter().map(|r| r["Id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["1", "2", "3"]);
    let streamed: Vec<_> = futures_util::TryStreamExt::try_collect::<Vec<_>>(
        client.query_stream("SELECT Id FROM Lead"),
    )
    .await
    .unwrap();
    assert_eq!(streamed, records);
    let first = &server.requests()[0];
    assert_eq!(
        first.query["q"],
        "SELECT Id FROM Lead WHERE Email = 'o\\'brien@example.com'"
    );
    assert_eq!(first.bearer(), Some("ready"));
    assert!(first.headers["user-agent"].starts_with("walkme-sf/"));
}

#[tokio::test]
async fn update_sends_a_collections_patch_without_assignment_rules() {
    let server = start(|req| {
        let body: Value = serde_json::from_str(&req.body).unwrap_or_default();
        let results: Vec<Value> = body["records"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .map(|r| {
                        if r["Id"] == "bad" {
                            json!({"success": false, "errors": [{"statusCode": "MALFORMED_ID", "message": "malformed id bad", "fields": []}]})
                        } else {
                            json!({"id": r["Id"], "success": true, "errors": []})
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        FakeResponse::json(200, &Value::Array(results))
    })
    .await;
    let client = Client::new(bare_session(&server).await, "64.0");
    let record = |id: &str| {
        let mut m = serde_json::Map::new();
        m.insert("Id".into(), json!(id));
        m.insert("WalkMe_Logins__c".into(), json!(3));
        m
    };
    let results = client
        .update("Lead", vec![record("00Q1"), record("bad")])
        .await
        .unwrap();
    assert!(results[0].success && !results[1].success);
    assert_eq!(results[1].errors[0].status_code, "MALFORMED_ID");
    let req = &server.requests()[0];
    assert_eq!(req.method, "PATCH");
    assert_eq!(req.path, "/services/data/v64.0/composite/sobjects");
    assert_eq!(req.headers["sforce-auto-assign"], "FALSE");
    let body: Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(body["allOrNone"], false);
    assert_eq!(body["records"][0]["attributes"]["type"], "Lead");

    let too_many = (0..201).map(|i| record(&i.to_string())).collect();
    assert!(matches!(
        client.update("Lead", too_many).await,
        Err(SfError::Invalid(_))
    ));
    assert_eq!(client.stats().calls[&CallKind::Update], 1);
}

#[tokio::test]
async fn bulk_ingest_lifecycle_and_query_results_paging() {
    let polls = Arc::new(Mutex::new(0u32));
    let p = Arc::clone(&polls);
    let server = start(move |req| {
        let job = |state: &str| {
            FakeResponse::json(
                200,
                &json!({"id": "750xx0000000001", "operation": "update", "object": "Lead", "state": state}),
            )
        };
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/services/data/v64.0/jobs/ingest") => job("Open"),
            ("PUT", "/services/data/v64.0/jobs/ingest/750xx0000000001/batches") => {
                FakeResponse::text(201, "text/plain", "")
            }
            ("PATCH", "/services/data/v64.0/jobs/ingest/750xx0000000001") => job("UploadComplete"),
            ("GET", "/services/data/v64.0/jobs/ingest/750xx0000000001") => {
                let mut n = p.lock().unwrap();
                *n += 1;
                job(if *n < 3 { "InProgress" } else { "JobComplete" })
            }
            ("GET", "/services/data/v64.0/jobs/ingest/750xx0000000001/failedResults") => {
                FakeResponse::text(
                    200,
                    "text/csv",
                    "\"sf__Id\",\"sf__Error\",Id\n\"\",\"MALFORMED_ID:bad id:Id --\",\"x\"\n",
                )
            }
            ("GET", "/services/data/v64.0/jobs/query/750xx0000000002/results") => {
                if req.query.contains_key("locator") {
                    FakeResponse::text(200, "text/csv", "Id\n2\n")
                        .header("Sforce-Locator", "null")
                        .header("Sforce-NumberOfRecords", "1")
                } else {
                    FakeResponse::text(200, "text/csv", "Id\n1\n")
                        .header("Sforce-Locator", "abc")
                        .header("Sforce-NumberOfRecords", "1")
                }
            }
            _ => FakeResponse::text(404, "text/plain", "no"),
        }
    })
    .await;
    let client = Client::new(bare_session(&server).await, "64.0").with_poll(PollPolicy {
        first: Duration::from_millis(1),
        longest: Duration::from_millis(2),
    });
    let job = client
        .create_ingest_job("Lead", IngestOperation::Update, None)
        .await
        .unwrap();
    client
        .upload_job_data(&job.id, "Id,WalkMe_Logins__c\n00Q1,3\n".into())
        .await
        .unwrap();
    client.close_ingest_job(&job.id).await.unwrap();
    let done = client
        .wait_for_ingest_job(&job.id, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(done.state, JobState::JobComplete);
    let failed = client
        .ingest_results_table(&job.id, ResultSet::Failed)
        .await
        .unwrap();
    assert_eq!(failed.rows.len(), 1);
    let upload = server
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert_eq!(upload.headers["content-type"], "text/csv");
    let create: Value = serde_json::from_str(&server.requests()[0].body).unwrap();
    assert_eq!(create["lineEnding"], "LF");

    let first = client
        .query_job_results("750xx0000000002", None, Some(1000))
        .await
        .unwrap();
    assert_eq!(first.locator.as_deref(), Some("abc"));
    let last = client
        .query_job_results("750xx0000000002", first.locator.as_deref(), Some(1000))
        .await
        .unwrap();
    assert_eq!(last.locator, None);
    assert_eq!(last.csv, "Id\n2\n");

    let stats = client.stats();
    assert_eq!(stats.calls[&CallKind::BulkPoll], 3);
    assert_eq!(stats.calls[&CallKind::BulkIngest], 4);
    assert_eq!(stats.calls[&CallKind::BulkQuery], 2);
}
