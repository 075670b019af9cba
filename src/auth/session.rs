//! The credentials a command runs with (SPEC §3): found in a fixed order, exchanged for an
//! access token, and renewed — once per run — when Salesforce rejects it.
//!
//! Order: `WALKME_SF_ACCESS_TOKEN` + `WALKME_SF_INSTANCE_URL`; `WALKME_SF_REFRESH_TOKEN`; JWT
//! bearer (`username` + `jwt_key_file`); client credentials (`flow = "client_credentials"`);
//! the login stored by `login`. Environment variables are read once into [`EnvVars`], so tests
//! can pass their own.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::flows;
use crate::auth::http::check_url;
use crate::auth::secret::Secret;
use crate::auth::store::{
    CredentialStore, FileStore, KeyringStore, RotationLock, STORED_VERSION, StoreError, StoreKind,
    StoredLogin, locate,
};
use crate::auth::token::{AuthError, Identity, LoginFlow, TokenResponse, login_hint};
use crate::config::model::{Environment, Flow};
use crate::error::Fail;

/// How long to wait for another process's refresh-token rotation.
const ROTATION_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// The environment variables of SPEC §3, read once.
#[derive(Debug, Clone, Default)]
pub struct EnvVars {
    pub access_token: Option<Secret>,
    pub instance_url: Option<String>,
    pub refresh_token: Option<Secret>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    /// `WALKME_SF_LOGIN_TIMEOUT`, seconds.
    pub login_timeout: Option<Duration>,
}

impl EnvVars {
    /// Read the process environment; empty values count as unset.
    #[must_use]
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self {
            access_token: var("WALKME_SF_ACCESS_TOKEN").map(Secret::new),
            instance_url: var("WALKME_SF_INSTANCE_URL"),
            refresh_token: var("WALKME_SF_REFRESH_TOKEN").map(Secret::new),
            client_id: var("WALKME_SF_CLIENT_ID"),
            client_secret: var("WALKME_SF_CLIENT_SECRET").map(Secret::new),
            login_timeout: var("WALKME_SF_LOGIN_TIMEOUT")
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        }
    }
}

/// Where the credentials of a session came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `WALKME_SF_ACCESS_TOKEN` + `WALKME_SF_INSTANCE_URL`.
    AccessToken,
    /// `WALKME_SF_REFRESH_TOKEN`.
    RefreshTokenVar,
    Jwt,
    ClientCredentials,
    /// The login stored in this store.
    Stored(StoreKind),
}

/// Access to the credential stores: the file store's folder, and the keyring (opened only
/// when an environment's login is there).
#[derive(Debug, Clone)]
pub struct Stores {
    pub credentials_dir: PathBuf,
    /// A keyring to use instead of the OS one (tests pass keyring-core's mock store).
    pub keyring: Option<Arc<dyn CredentialStore>>,
}

impl Stores {
    #[must_use]
    pub fn new(credentials_dir: PathBuf) -> Self {
        Self {
            credentials_dir,
            keyring: None,
        }
    }

    /// The store holding (or to hold) `env`'s login, by [`locate`]'s rule.
    pub fn store_for(&self, env: &str) -> Result<Arc<dyn CredentialStore>, StoreError> {
        match locate(&self.credentials_dir, env) {
            StoreKind::File => Ok(Arc::new(FileStore::new(self.credentials_dir.clone()))),
            StoreKind::Keyring => self.keyring(),
        }
    }

    /// The store of a given kind (for `login --store`).
    pub fn store(&self, kind: StoreKind) -> Result<Arc<dyn CredentialStore>, StoreError> {
        match kind {
            StoreKind::File => Ok(Arc::new(FileStore::new(self.credentials_dir.clone()))),
            StoreKind::Keyring => self.keyring(),
        }
    }

    fn keyring(&self) -> Result<Arc<dyn CredentialStore>, StoreError> {
        match &self.keyring {
            Some(k) => Ok(Arc::clone(k)),
            None => Ok(Arc::new(KeyringStore::open()?)),
        }
    }
}

/// The access token in use and the generation it belongs to.
#[derive(Debug, Clone)]
pub struct Current {
    pub access_token: Secret,
    pub instance_url: String,
    /// Bumped by each renewal; a request that got 401 with generation N asks to renew after N.
    pub generation: u64,
}

/// An access token shared by concurrent requests, renewed at most `max_renewals` times.
/// Requests that find it being renewed wait for that renewal instead of starting their own.
#[derive(Debug)]
pub struct SharedToken {
    state: tokio::sync::Mutex<(Current, u32)>,
    max_renewals: u32,
}

/// Why [`SharedToken::renew_after`] gave no new token.
#[derive(Debug)]
pub enum RenewError<E> {
    /// The run already used its renewals.
    Exhausted,
    /// The renewal itself failed.
    Failed(E),
}

impl SharedToken {
    #[must_use]
    pub fn new(access_token: Secret, instance_url: String, max_renewals: u32) -> Self {
        Self {
            state: tokio::sync::Mutex::new((
                Current {
                    access_token,
                    instance_url,
                    generation: 0,
                },
                0,
            )),
            max_renewals,
        }
    }

    pub async fn current(&self) -> Current {
        self.state.lock().await.0.clone()
    }

    /// Renew unless someone already did since `seen_generation`; then the newer token is
    /// returned without a call. The lock is held across `renew`, so other callers wait.
    pub async fn renew_after<E, F, Fut>(
        &self,
        seen_generation: u64,
        renew: F,
    ) -> Result<Current, RenewError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(Secret, String), E>>,
    {
        let mut state = self.state.lock().await;
        if state.0.generation != seen_generation {
            return Ok(state.0.clone());
        }
        if state.1 >= self.max_renewals {
            return Err(RenewError::Exhausted);
        }
        state.1 += 1;
        let (access_token, instance_url) = renew().await.map_err(RenewError::Failed)?;
        state.0 = Current {
            access_token,
            instance_url,
            generation: seen_generation + 1,
        };
        Ok(state.0.clone())
    }
}

/// How a session gets a new access token.
#[derive(Debug)]
enum Renew {
    /// A bare access token: nothing to renew with.
    Nothing,
    RefreshToken {
        login_url: String,
        client_id: String,
        token: tokio::sync::Mutex<Secret>,
        /// The store to write a rotated token back to, and its lock file.
        store: Option<(Arc<dyn CredentialStore>, PathBuf)>,
    },
    Jwt {
        login_url: String,
        kind: crate::config::model::EnvKind,
        client_id: String,
        username: String,
        key: Secret,
    },
    ClientCredentials {
        login_url: String,
        client_id: String,
        secret: Secret,
    },
}

/// A logged-in session for one environment.
#[derive(Debug)]
pub struct Session {
    env_name: String,
    source: Source,
    http: reqwest::Client,
    renew: Renew,
    token: SharedToken,
    identity: Option<Identity>,
}

fn fail(env: &str) -> impl Fn(AuthError) -> Fail + '_ {
    move |e| e.into_fail(env)
}

fn client_id(env: &Environment, vars: &EnvVars, stored: Option<&str>) -> Result<String, Fail> {
    env.client_id
        .clone()
        .or_else(|| vars.client_id.clone())
        .or_else(|| stored.map(str::to_owned))
        .ok_or_else(|| {
            Fail::usage(format!(
                "no client id for environment `{}`: set `client_id` in its config or \
                 $WALKME_SF_CLIENT_ID (the consumer key of the External Client App)",
                env.name
            ))
        })
}

/// Find the credentials for `env` in SPEC §3's order and open a session (one token call,
/// except for a ready access token). Errors carry the exit status and hint of SPEC §7.
pub async fn resolve(
    env: &Environment,
    vars: &EnvVars,
    stores: &Stores,
    http: &reqwest::Client,
) -> Result<Session, Fail> {
    let name = env.name.as_str();
    let login_url = check_url("login URL", &env.login_url).map_err(fail(name))?;
    let (source, renew) = match (&vars.access_token, &vars.instance_url) {
        (Some(token), Some(instance)) => {
            let instance = check_url("WALKME_SF_INSTANCE_URL", instance).map_err(fail(name))?;
            return Ok(Session {
                env_name: name.to_owned(),
                source: Source::AccessToken,
                http: http.clone(),
                renew: Renew::Nothing,
                token: SharedToken::new(token.clone(), instance, 0),
                identity: None,
            });
        }
        (Some(_), None) => {
            return Err(Fail::usage(
                "WALKME_SF_ACCESS_TOKEN is set without WALKME_SF_INSTANCE_URL; set both or neither",
            ));
        }
        (None, Some(_)) => {
            return Err(Fail::usage(
                "WALKME_SF_INSTANCE_URL is set without WALKME_SF_ACCESS_TOKEN; set both or neither",
            ));
        }
        (None, None) => {
            if let Some(token) = &vars.refresh_token {
                let renew = Renew::RefreshToken {
                    login_url,
                    client_id: client_id(env, vars, None)?,
                    token: tokio::sync::Mutex::new(token.clone()),
                    store: None,
                };
                (Source::RefreshTokenVar, renew)
            } else if let (Some(username), Some(key_file)) = (&env.username, &env.jwt_key_file) {
                let key = flows::read_key_file(key_file).map_err(fail(name))?;
                let renew = Renew::Jwt {
                    login_url,
                    kind: env.kind,
                    client_id: client_id(env, vars, None)?,
                    username: username.clone(),
                    key,
                };
                (Source::Jwt, renew)
            } else if env.flow == Some(Flow::ClientCredentials) {
                let secret = vars.client_secret.clone().ok_or_else(|| {
                    Fail::usage(format!(
                        "environment `{name}` uses the client credentials flow, but \
                         $WALKME_SF_CLIENT_SECRET is not set"
                    ))
                })?;
                let renew = Renew::ClientCredentials {
                    login_url,
                    client_id: client_id(env, vars, None)?,
                    secret,
                };
                (Source::ClientCredentials, renew)
            } else {
                let store = stores
                    .store_for(name)
                    .map_err(|e| AuthError::from(e).into_fail(name))?;
                let login = store
                    .load(name)
                    .map_err(|e| AuthError::from(e).into_fail(name))?;
                let stored_login_url =
                    check_url("stored login URL", &login.login_url).map_err(fail(name))?;
                let lock = RotationLock::path(&stores.credentials_dir, name);
                let renew = Renew::RefreshToken {
                    login_url: stored_login_url,
                    client_id: client_id(env, vars, login.client_id.as_deref())?,
                    token: tokio::sync::Mutex::new(login.refresh_token.clone()),
                    store: Some((Arc::clone(&store), lock)),
                };
                (Source::Stored(store.kind()), renew)
            }
        }
    };
    let response = renew_token(name, http, &renew).await?;
    let instance = check_url("instance URL", &response.instance_url).map_err(fail(name))?;
    Ok(Session {
        env_name: name.to_owned(),
        source,
        http: http.clone(),
        identity: response.identity(),
        renew,
        token: SharedToken::new(response.access_token, instance, 1),
    })
}

/// Salesforce refused `WALKME_SF_ACCESS_TOKEN`, which nothing can renew.
fn bare_token_refused() -> Fail {
    Fail::auth(
        "Salesforce rejected WALKME_SF_ACCESS_TOKEN and a bare access token cannot be renewed",
    )
    .hint("provide a fresh WALKME_SF_ACCESS_TOKEN, or use WALKME_SF_REFRESH_TOKEN")
}

/// One token call with the session's means. For a stored refresh token: under the rotation
/// lock, re-read the store (another run may have rotated the token meanwhile — then use that
/// one), refresh, and write a rotated token back at once (research §1.4).
async fn renew_token(
    env: &str,
    http: &reqwest::Client,
    renew: &Renew,
) -> Result<TokenResponse, Fail> {
    match renew {
        Renew::Nothing => Err(bare_token_refused()),
        Renew::Jwt {
            login_url,
            kind,
            client_id,
            username,
            key,
        } => flows::jwt(http, login_url, *kind, client_id, username, key)
            .await
            .map_err(|e| e.into_unattended_fail(env, LoginFlow::Jwt)),
        Renew::ClientCredentials {
            login_url,
            client_id,
            secret,
        } => flows::client_credentials(http, login_url, client_id, secret)
            .await
            .map_err(|e| e.into_unattended_fail(env, LoginFlow::ClientCredentials)),
        Renew::RefreshToken {
            login_url,
            client_id,
            token,
            store,
        } => {
            let mut token = token.lock().await;
            let Some((store, lock_path)) = store else {
                let response = flows::refresh(http, login_url, client_id, &token)
                    .await
                    .map_err(fail(env))?;
                if let Some(new) = &response.refresh_token {
                    // Rotated, but an environment variable cannot be written back.
                    *token = new.clone();
                }
                return Ok(response);
            };
            let as_fail = |e: StoreError| AuthError::from(e).into_fail(env);
            let _lock = RotationLock::acquire(lock_path, ROTATION_LOCK_TIMEOUT)
                .await
                .map_err(as_fail)?;
            let mut stored = store.load(env).map_err(as_fail)?;
            if stored.refresh_token != *token {
                *token = stored.refresh_token.clone();
            }
            let response = flows::refresh(http, login_url, client_id, &token)
                .await
                .map_err(fail(env))?;
            if let Some(new) = &response.refresh_token
                && new != &*token
            {
                stored.refresh_token = new.clone();
                stored.instance_url.clone_from(&response.instance_url);
                store.save(env, &stored).map_err(as_fail)?;
                *token = new.clone();
            }
            Ok(response)
        }
    }
}

impl Session {
    #[must_use]
    pub fn env_name(&self) -> &str {
        &self.env_name
    }

    #[must_use]
    pub fn source(&self) -> Source {
        self.source
    }

    /// Org and user of the token, when the token response said (not for a bare access token).
    #[must_use]
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    #[must_use]
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The token to send now.
    pub async fn current(&self) -> Current {
        self.token.current().await
    }

    /// Salesforce rejected the token of `generation` (401 `INVALID_SESSION_ID`): renew it once
    /// per run; concurrent callers share that one renewal. A second rejection, or a refused
    /// renewal, is exit 3 with the login hint.
    pub async fn renew_after(&self, generation: u64) -> Result<Current, Fail> {
        let env = self.env_name.as_str();
        let result = self
            .token
            .renew_after(generation, || async {
                let response = renew_token(env, &self.http, &self.renew).await?;
                let instance = check_url("instance URL", &response.instance_url)
                    .map_err(|e| e.into_fail(env))?;
                Ok::<_, Fail>((response.access_token, instance))
            })
            .await;
        match result {
            Ok(current) => Ok(current),
            Err(RenewError::Failed(f)) => Err(f),
            Err(RenewError::Exhausted) if matches!(self.renew, Renew::Nothing) => {
                Err(bare_token_refused())
            }
            Err(RenewError::Exhausted) => Err(Fail::auth(
                "Salesforce rejected the session again after it was renewed",
            )
            .hint(login_hint(env))),
        }
    }
}

/// What `login` stores after a successful interactive flow. The token response must carry a
/// refresh token (the app needs the `refresh_token` scope).
pub fn stored_login(
    token: &TokenResponse,
    username: &str,
    login_url: &str,
    client_id: Option<&str>,
) -> Result<StoredLogin, AuthError> {
    let refresh_token = token
        .refresh_token
        .clone()
        .ok_or_else(|| AuthError::Refused {
            error: "no refresh token".to_owned(),
            description: "the External Client App must grant the `refresh_token` (or \
                          `offline_access`) scope"
                .to_owned(),
        })?;
    Ok(StoredLogin {
        version: STORED_VERSION,
        refresh_token,
        instance_url: token.instance_url.clone(),
        username: username.to_owned(),
        org_id: token.identity().map(|i| i.org_id).unwrap_or_default(),
        login_url: login_url.to_owned(),
        client_id: client_id.map(str::to_owned),
    })
}

/// Finish an interactive login: ask userinfo who logged in, build the [`StoredLogin`] and save
/// it in `store`. Returns what was stored (for "Logged in as … to org …").
pub async fn save_login(
    http: &reqwest::Client,
    store: &dyn CredentialStore,
    env: &Environment,
    token: &TokenResponse,
    client_id: Option<&str>,
) -> Result<StoredLogin, AuthError> {
    let instance = check_url("instance URL", &token.instance_url)?;
    let info = flows::userinfo(http, &instance, &token.access_token).await?;
    let username = info.preferred_username.or(info.email).unwrap_or_default();
    let mut login = stored_login(token, &username, &env.login_url, client_id)?;
    if login.org_id.is_empty() {
        login.org_id = info.organization_id.unwrap_or_default();
    }
    store.save(&env.name, &login)?;
    Ok(login)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{DEFAULT_API_VERSION, DEFAULT_REDIRECT_PORT, EnvKind};
    use crate::error::ExitStatus;
    use std::sync::atomic::{AtomicU32, Ordering};

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

    fn stores() -> (tempfile::TempDir, Stores) {
        let dir = tempfile::tempdir().unwrap();
        let mock: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
        let stores = Stores {
            credentials_dir: dir.path().join("credentials"),
            keyring: Some(Arc::new(KeyringStore::with_store(mock))),
        };
        (dir, stores)
    }

    #[tokio::test]
    async fn access_token_pair_needs_both_halves() {
        let (_d, stores) = stores();
        let http = reqwest::Client::new();
        let e = env("https://test.salesforce.com");
        let only_token = EnvVars {
            access_token: Some(Secret::new("00D!x")),
            ..EnvVars::default()
        };
        let f = resolve(&e, &only_token, &stores, &http).await.unwrap_err();
        assert_eq!(f.status, ExitStatus::Usage);
        let only_url = EnvVars {
            instance_url: Some("https://x.my.salesforce.com".into()),
            ..EnvVars::default()
        };
        let f = resolve(&e, &only_url, &stores, &http).await.unwrap_err();
        assert_eq!(f.status, ExitStatus::Usage);

        let both = EnvVars {
            access_token: Some(Secret::new("00D!x")),
            instance_url: Some("https://x.my.salesforce.com/".into()),
            ..EnvVars::default()
        };
        let s = resolve(&e, &both, &stores, &http).await.unwrap();
        assert_eq!(s.source(), Source::AccessToken);
        let current = s.current().await;
        assert_eq!(current.instance_url, "https://x.my.salesforce.com");
        // A bare access token cannot be renewed: exit 3.
        let f = s.renew_after(current.generation).await.unwrap_err();
        assert_eq!(f.status, ExitStatus::Auth);
        assert!(!format!("{s:?}").contains("00D!x"));
    }

    #[tokio::test]
    async fn plain_http_is_refused_unless_loopback() {
        let (_d, stores) = stores();
        let http = reqwest::Client::new();
        let f = resolve(
            &env("http://login.example.com"),
            &EnvVars::default(),
            &stores,
            &http,
        )
        .await
        .unwrap_err();
        assert_eq!(f.status, ExitStatus::Usage);
        let vars = EnvVars {
            access_token: Some(Secret::new("t")),
            instance_url: Some("http://eu11.salesforce.com".into()),
            ..EnvVars::default()
        };
        let f = resolve(&env("https://test.salesforce.com"), &vars, &stores, &http)
            .await
            .unwrap_err();
        assert_eq!(f.status, ExitStatus::Usage);
    }

    #[tokio::test]
    async fn nothing_stored_is_not_logged_in() {
        let (_d, stores) = stores();
        let f = resolve(
            &env("http://127.0.0.1:9"),
            &EnvVars::default(),
            &stores,
            &reqwest::Client::new(),
        )
        .await
        .unwrap_err();
        assert_eq!(f.status, ExitStatus::Auth);
        assert_eq!(
            f.hint.as_deref(),
            Some("run `walkme-sf login --env sandbox`")
        );
    }

    #[tokio::test]
    async fn client_credentials_need_the_secret_variable() {
        let (_d, stores) = stores();
        let mut e = env("https://acme.my.salesforce.com");
        e.flow = Some(Flow::ClientCredentials);
        let f = resolve(&e, &EnvVars::default(), &stores, &reqwest::Client::new())
            .await
            .unwrap_err();
        assert_eq!(f.status, ExitStatus::Usage);
        assert!(f.message.contains("WALKME_SF_CLIENT_SECRET"));
    }

    #[tokio::test]
    async fn concurrent_rejections_share_one_renewal() {
        let shared = Arc::new(SharedToken::new(Secret::new("old"), "https://i".into(), 1));
        let calls = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let shared = Arc::clone(&shared);
            let calls = Arc::clone(&calls);
            tasks.push(tokio::spawn(async move {
                shared
                    .renew_after(0, || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, ()>((Secret::new("new"), "https://i".into()))
                    })
                    .await
            }));
        }
        for t in tasks {
            let current = t.await.unwrap().unwrap();
            assert_eq!(current.access_token.expose(), "new");
            assert_eq!(current.generation, 1);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // The run's one renewal is used: a rejection of the new token is final.
        let again = shared
            .renew_after(1, || async {
                Ok::<_, ()>((Secret::new("x"), String::new()))
            })
            .await;
        assert!(matches!(again, Err(RenewError::Exhausted)));
    }

    #[test]
    fn stored_login_needs_a_refresh_token() {
        let raw = include_str!(
            "../../tests/fixtures/salesforce-recorded/poll_device_code_authentication_response_200.json"
        );
        let exchange: serde_json::Value = serde_json::from_str(raw).unwrap();
        let token: TokenResponse = serde_json::from_value(exchange["body"].clone()).unwrap();
        let login = stored_login(
            &token,
            "me@example.com",
            "https://login.salesforce.com",
            None,
        )
        .unwrap();
        assert_eq!(login.org_id, "00DD00000008Uw2MAE");
        let mut no_refresh = token.clone();
        no_refresh.refresh_token = None;
        assert!(stored_login(&no_refresh, "u", "https://l", None).is_err());
    }
}
