//! The client and authentication library against the in-process emulator: every login flow,
//! renewal on expiry with rotation written back, retries of 503, the daily limit not retried,
//! SOQL quoting, collections and Bulk 2.0 round trips.

use std::sync::Arc;
use std::time::Duration;

use sf_emulator::{Burst, Config, Emulator, EndpointKind, Faults};
use walkme_sf::auth::Secret;
use walkme_sf::auth::flows::{self, device, web};
use walkme_sf::auth::http::http_client;
use walkme_sf::auth::session::{EnvVars, Source, Stores, resolve, stored_login};
use walkme_sf::auth::store::{CredentialStore, FileStore, StoreKind};
use walkme_sf::auth::token::AuthError;
use walkme_sf::config::model::{DEFAULT_API_VERSION, EnvKind, Environment, Flow};
use walkme_sf::error::ExitStatus;
use walkme_sf::salesforce::bulk::{IngestOperation, JobState, ResultSet};
use walkme_sf::salesforce::{CallKind, Client, PollPolicy, RetryPolicy, SfError, soql};

const USER: &str = "admin@example.com";

fn env(emu: &Emulator) -> Environment {
    Environment {
        name: "sandbox".into(),
        kind: EnvKind::Sandbox,
        login_url: emu.url().to_owned(),
        client_id: Some("3MVG-walkme".into()),
        api_version: DEFAULT_API_VERSION.into(),
        redirect_port: 0,
        username: None,
        jwt_key_file: None,
        flow: None,
        loc: None,
    }
}

const FAST: RetryPolicy = RetryPolicy {
    min_delay: Duration::from_millis(5),
    max_delay: Duration::from_millis(20),
    max_retries: 4,
};

/// A login stored in a file store, as `login --store file` leaves it.
fn file_login(emu: &Emulator, dir: &std::path::Path) -> FileStore {
    let store = FileStore::new(dir.to_owned());
    let refresh = emu.issue_refresh_token(USER);
    let token: walkme_sf::auth::TokenResponse = serde_json::from_value(serde_json::json!({
        "access_token": "unused",
        "refresh_token": refresh,
        "instance_url": emu.url(),
        "id": format!("{}/id/00D000000000001AAA/005000000000001AAA", emu.url()),
    }))
    .unwrap();
    let login = stored_login(&token, USER, emu.url(), None).unwrap();
    store.save("sandbox", &login).unwrap();
    store
}

async fn stored_client(emu: &Emulator, dir: &std::path::Path) -> Client {
    let session = resolve(
        &env(emu),
        &EnvVars::default(),
        &Stores::new(dir.to_owned()),
        &http_client().unwrap(),
    )
    .await
    .unwrap();
    Client::new(Arc::new(session), DEFAULT_API_VERSION).with_retry(FAST)
}

#[tokio::test]
async fn expired_access_token_is_refreshed_and_the_rotated_token_written_back() {
    let emu = Emulator::start(Config {
        rotate_refresh_tokens: true,
        ..Config::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = file_login(&emu, dir.path());
    let original = store.load("sandbox").unwrap().refresh_token;
    let client = stored_client(&emu, dir.path()).await;
    assert_eq!(client.session().source(), Source::Stored(StoreKind::File));
    let after_login = store.load("sandbox").unwrap().refresh_token;
    assert_ne!(
        after_login, original,
        "rotation on the first exchange is stored"
    );

    let leads = client.query("SELECT Id, Email FROM Lead").await.unwrap();
    assert_eq!(leads.len(), 4);
    emu.expire_tokens();
    let leads = client.query("SELECT Id, Email FROM Lead").await.unwrap();
    assert_eq!(leads.len(), 4);
    let after_renewal = store.load("sandbox").unwrap().refresh_token;
    assert_ne!(after_renewal, after_login);
    assert_eq!(emu.stats().calls_of(EndpointKind::Token), 2);

    // The old token is dead; the stored one works for the next run.
    let next_run = stored_client(&emu, dir.path()).await;
    next_run.query("SELECT Id FROM Lead").await.unwrap();
}

#[tokio::test]
async fn revoked_refresh_token_is_exit_3_with_the_login_hint() {
    let emu = Emulator::start(Config::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = file_login(&emu, dir.path());
    let login = store.load("sandbox").unwrap();
    flows::revoke(&http_client().unwrap(), emu.url(), &login.refresh_token)
        .await
        .unwrap();
    let fail = resolve(
        &env(&emu),
        &EnvVars::default(),
        &Stores::new(dir.path().to_owned()),
        &http_client().unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(fail.status, ExitStatus::Auth);
    assert_eq!(
        fail.hint.as_deref(),
        Some("run `walkme-sf login --env sandbox`")
    );
    assert!(!fail.message.contains(login.refresh_token.expose()));
}

#[tokio::test]
async fn transient_503_is_retried_and_the_daily_limit_is_not() {
    let emu = Emulator::start(Config::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    file_login(&emu, dir.path());
    let client = stored_client(&emu, dir.path()).await;
    emu.set_faults(Faults {
        status_503: Some(Burst {
            kind: Some(EndpointKind::Query),
            count: 2,
        }),
        ..Faults::default()
    });
    assert_eq!(client.query("SELECT Id FROM Lead").await.unwrap().len(), 4);
    assert_eq!(client.stats().retries, 2);
    assert_eq!(client.stats().calls[&CallKind::Query], 3);

    emu.set_faults(Faults {
        concurrency_limit: Some(Burst {
            kind: Some(EndpointKind::Query),
            count: 1,
        }),
        ..Faults::default()
    });
    client.query("SELECT Id FROM Lead").await.unwrap();
    assert_eq!(client.stats().retries, 3);

    emu.set_faults(Faults {
        drop_connection: Some(Burst {
            kind: Some(EndpointKind::Query),
            count: 1,
        }),
        ..Faults::default()
    });
    client.query("SELECT Id FROM Lead").await.unwrap();
    assert_eq!(client.stats().retries, 4);

    let max = emu.stats().api_max;
    emu.set_api_usage(max);
    let before = emu.stats().calls_of(EndpointKind::Query);
    let err = client.query("SELECT Id FROM Lead").await.unwrap_err();
    assert!(matches!(err, SfError::DailyLimit { .. }), "{err}");
    assert_eq!(
        emu.stats().calls_of(EndpointKind::Query),
        before + 1,
        "not retried"
    );
    let info = client.stats().limit_info.unwrap();
    assert_eq!(info.max, max);
}

#[tokio::test]
async fn quoted_keys_query_and_collections_update() {
    let emu = Emulator::start(Config::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    file_login(&emu, dir.path());
    let client = stored_client(&emu, dir.path()).await;
    let soql_text = format!(
        "SELECT Id, Email FROM Lead WHERE Email IN ({}, {})",
        soql::quote("dan.o'neil@example.com"),
        soql::quote("x' OR Email != '")
    );
    let found = client.query(&soql_text).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["Email"], "dan.o'neil@example.com");

    let describe = client.describe("Lead").await.unwrap();
    assert!(
        describe
            .field("WalkMe_Logins_Last_30_Days__c")
            .unwrap()
            .updateable
    );

    let id = found[0]["Id"].as_str().unwrap().to_owned();
    let mut record = serde_json::Map::new();
    record.insert("Id".into(), id.clone().into());
    record.insert("WalkMe_Logins_Last_30_Days__c".into(), 7.into());
    let mut bad = serde_json::Map::new();
    bad.insert("Id".into(), "00Qbad".into());
    bad.insert("WalkMe_Logins_Last_30_Days__c".into(), 1.into());
    let results = client.update("Lead", vec![record, bad]).await.unwrap();
    assert!(results[0].success, "{results:?}");
    assert!(!results[1].success);
    let stored = emu.records("Lead");
    let lead = stored.iter().find(|r| r["Id"] == id.as_str()).unwrap();
    assert_eq!(lead["WalkMe_Logins_Last_30_Days__c"].as_f64(), Some(7.0));
    assert_eq!(emu.stats().auto_assign_violations, 0);
    assert_eq!(client.stats().calls[&CallKind::Update], 1);

    let usage = client.api_usage().await.unwrap().unwrap();
    assert_eq!(usage.used, emu.stats().api_usage);
    let info = client.userinfo().await.unwrap();
    assert_eq!(info.preferred_username.as_deref(), Some(USER));
    assert!(!client.versions().await.unwrap().is_empty());
}

#[tokio::test]
async fn bulk_ingest_and_query_round_trip() {
    let emu = Emulator::start(Config {
        bulk_delay_ms: 20,
        ..Config::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    file_login(&emu, dir.path());
    let client = stored_client(&emu, dir.path()).await.with_poll(PollPolicy {
        first: Duration::from_millis(10),
        longest: Duration::from_millis(50),
    });
    let leads = client
        .query("SELECT Id FROM Lead ORDER BY Email")
        .await
        .unwrap();
    let id = leads[0]["Id"].as_str().unwrap();
    let job = client
        .create_ingest_job("Lead", IngestOperation::Update, None)
        .await
        .unwrap();
    client
        .upload_job_data(
            &job.id,
            format!("Id,WalkMe_Logins_Last_30_Days__c\n{id},42\n00Qnope000000000AAA,1\n"),
        )
        .await
        .unwrap();
    client.close_ingest_job(&job.id).await.unwrap();
    let done = client
        .wait_for_ingest_job(&job.id, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(done.state, JobState::JobComplete);
    let ok = client
        .ingest_results_table(&job.id, ResultSet::Successful)
        .await
        .unwrap();
    assert_eq!(ok.rows.len(), 1);
    let failed = client
        .ingest_results_table(&job.id, ResultSet::Failed)
        .await
        .unwrap();
    assert_eq!(failed.rows.len(), 1);

    let qjob = client
        .create_query_job("SELECT Id, Email FROM Lead")
        .await
        .unwrap();
    let qdone = client
        .wait_for_query_job(&qjob.id, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(qdone.state, JobState::JobComplete);
    let mut rows = 0;
    let mut locator: Option<String> = None;
    loop {
        let page = client
            .query_job_results(&qjob.id, locator.as_deref(), Some(2))
            .await
            .unwrap();
        rows += walkme_sf::salesforce::bulk::parse_csv(&page.csv)
            .unwrap()
            .rows
            .len();
        match page.locator {
            Some(l) => locator = Some(l),
            None => break,
        }
    }
    assert_eq!(rows, 4);
    assert!(client.stats().calls[&CallKind::BulkPoll] >= 2);
}

#[tokio::test]
async fn device_flow_polls_until_approved_and_reports_a_disabled_app() {
    let emu = Emulator::start(Config {
        device_interval_secs: 1,
        device_approve_after_polls: Some(1),
        ..Config::default()
    })
    .unwrap();
    let http = http_client().unwrap();
    let options = device::DeviceOptions {
        timeout: Duration::from_secs(30),
        ..device::DeviceOptions::default()
    };
    let token = device::login(&http, emu.url(), "3MVG-walkme", &options)
        .await
        .unwrap();
    assert!(token.refresh_token.is_some());
    assert_eq!(emu.stats().calls_of(EndpointKind::Token), 3);

    let disabled = Emulator::start(Config {
        device_flow_enabled: false,
        ..Config::default()
    })
    .unwrap();
    let err = device::login(&http, disabled.url(), "3MVG-walkme", &options)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("device flow not enabled on the External Client App"),
        "{err}"
    );

    let denied = Emulator::start(Config {
        device_interval_secs: 1,
        device_deny: true,
        ..Config::default()
    })
    .unwrap();
    let err = device::login(&http, denied.url(), "3MVG-walkme", &options)
        .await
        .unwrap_err();
    assert_eq!(err.status(), ExitStatus::Auth, "{err}");
}

#[tokio::test]
async fn jwt_and_client_credentials_sessions() {
    let key_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jwt");
    let emu = Emulator::start(Config {
        jwt_public_key_pem: Some(
            std::fs::read_to_string(key_dir.join("test-key.pub.pem")).unwrap(),
        ),
        client_secret: Some("s3cret".into()),
        ..Config::default()
    })
    .unwrap();
    let http = http_client().unwrap();
    let stores = Stores::new(std::env::temp_dir().join("walkme-sf-no-store"));

    let mut jwt_env = env(&emu);
    jwt_env.username = Some(USER.into());
    jwt_env.jwt_key_file = Some(key_dir.join("test-key.pem"));
    let session = resolve(&jwt_env, &EnvVars::default(), &stores, &http)
        .await
        .unwrap();
    assert_eq!(session.source(), Source::Jwt);
    let client = Client::new(Arc::new(session), DEFAULT_API_VERSION);
    client.query("SELECT Id FROM Lead").await.unwrap();
    // A JWT session renews by minting a new assertion.
    emu.expire_tokens();
    client.query("SELECT Id FROM Lead").await.unwrap();

    let mut cc_env = env(&emu);
    cc_env.flow = Some(Flow::ClientCredentials);
    let vars = EnvVars {
        client_secret: Some(Secret::new("s3cret")),
        ..EnvVars::default()
    };
    let session = resolve(&cc_env, &vars, &stores, &http).await.unwrap();
    assert_eq!(session.source(), Source::ClientCredentials);
    let wrong = EnvVars {
        client_secret: Some(Secret::new("wrong")),
        ..EnvVars::default()
    };
    let fail = resolve(&cc_env, &wrong, &stores, &http).await.unwrap_err();
    assert_eq!(fail.status, ExitStatus::Auth);
}

/// A stand-in browser: a script run as `$BROWSER URL` that follows the authorization URL with
/// curl, optionally forging the `state` of the redirect.
#[cfg(unix)]
fn browser(dir: &std::path::Path, forge_state: bool) -> web::Opener {
    use std::os::unix::fs::PermissionsExt as _;
    let script = if forge_state {
        "#!/bin/sh\nnext=$(curl -s -o /dev/null -w '%{redirect_url}' \"$1\" | sed 's/state=[^&]*/state=forged/')\nexec curl -s -o /dev/null \"$next\"\n"
    } else {
        "#!/bin/sh\nexec curl -s -o /dev/null -L \"$1\"\n"
    };
    let path = dir.join(if forge_state {
        "forger.sh"
    } else {
        "browser.sh"
    });
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    web::Opener::Command(path.display().to_string())
}

#[cfg(unix)]
#[tokio::test]
async fn web_flow_with_pkce_through_a_simulated_browser() {
    let emu = Emulator::start(Config::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let http = http_client().unwrap();
    let options = web::WebOptions {
        redirect_port: 0,
        scope: "api refresh_token".into(),
        timeout: Duration::from_secs(20),
        opener: browser(dir.path(), false),
    };
    let token = web::login(&http, emu.url(), "3MVG-walkme", &options)
        .await
        .unwrap();
    assert!(token.refresh_token.is_some());
    assert_eq!(token.instance_url, emu.url());

    let forged = web::WebOptions {
        opener: browser(dir.path(), true),
        ..options.clone()
    };
    let err = web::login(&http, emu.url(), "3MVG-walkme", &forged)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::StateMismatch), "{err}");
    assert_eq!(err.status(), ExitStatus::Auth);

    let deny = Emulator::start(Config {
        authorize_deny: true,
        ..Config::default()
    })
    .unwrap();
    let err = web::login(&http, deny.url(), "3MVG-walkme", &options)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Denied { .. }), "{err}");
}

#[tokio::test]
async fn login_saved_in_the_keyring_is_used_and_rotated_there() {
    let emu = Emulator::start(Config {
        rotate_refresh_tokens: true,
        ..Config::default()
    })
    .unwrap();
    let http = http_client().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mock: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
    let keyring: Arc<dyn CredentialStore> =
        Arc::new(walkme_sf::auth::KeyringStore::with_store(mock));
    let stores = Stores {
        credentials_dir: dir.path().to_owned(),
        keyring: Some(Arc::clone(&keyring)),
    };
    // What `login` does after a flow: userinfo, then save.
    let refresh = emu.issue_refresh_token(USER);
    let token = flows::refresh(&http, emu.url(), "3MVG-walkme", &Secret::new(refresh))
        .await
        .unwrap();
    let saved =
        walkme_sf::auth::session::save_login(&http, keyring.as_ref(), &env(&emu), &token, None)
            .await
            .unwrap();
    assert_eq!(saved.username, USER);
    assert!(!saved.org_id.is_empty());
    assert_eq!(
        walkme_sf::auth::store::locate(dir.path(), "sandbox"),
        StoreKind::Keyring
    );

    let session = resolve(&env(&emu), &EnvVars::default(), &stores, &http)
        .await
        .unwrap();
    assert_eq!(session.source(), Source::Stored(StoreKind::Keyring));
    let rotated = keyring.load("sandbox").unwrap();
    assert_ne!(rotated.refresh_token, saved.refresh_token);
    assert_eq!(session.identity().unwrap().org_id, saved.org_id);
}
