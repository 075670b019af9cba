//! Where `login` keeps a refresh token (SPEC §3): the OS keyring, or — only when asked with
//! `--store file` — an owner-only file.
//!
//! Which store holds an environment's login is found without guessing: **if the file
//! `<credentials dir>/<env>.json` exists, the file store holds it; otherwise the keyring does**
//! ([`locate`]). `login --store file` writes that file and `logout` deletes it, so the file's
//! existence is the marker and no second place can disagree with it.
//!
//! The stored value is a small versioned JSON ([`StoredLogin`]); the access token is never
//! persisted. Rotation of the refresh token happens under a [`RotationLock`] (a lock file next
//! to the credentials, used by both stores) so two overlapping runs cannot lose a rotated token.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::auth::secret::Secret;
use crate::auth::token::login_hint;
use crate::error::ExitStatus;

/// The keyring service name (SPEC §3).
pub const SERVICE: &str = "walkme-sf";
/// How long a keyring call may take before it is given up (a locked keyring may wait forever
/// on a prompt nobody can answer; rust-stack §2.5).
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(10);
/// The current version of [`StoredLogin`].
pub const STORED_VERSION: u32 = 1;

/// What `login` stores for an environment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredLogin {
    pub version: u32,
    pub refresh_token: Secret,
    pub instance_url: String,
    pub username: String,
    pub org_id: String,
    pub login_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// Which kind of store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Keyring,
    File,
}

impl StoreKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keyring => "keyring",
            Self::File => "file",
        }
    }
}

/// A store failure, classified as rust-stack §2.5 says the keyring errors can be told apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not logged in to environment `{env}`")]
    NotLoggedIn { env: String },
    #[error("no OS keyring is available ({detail})")]
    NoKeyring { detail: String },
    #[error("the OS keyring is locked or not accessible ({detail})")]
    KeyringLocked { detail: String },
    #[error("the OS keyring did not answer within {} s", KEYRING_TIMEOUT.as_secs())]
    KeyringTimeout,
    #[error("the OS keyring failed: {detail}")]
    Keyring { detail: String },
    #[error(
        "{} is readable by others (mode {mode:o}); refusing to use it",
        path.display()
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("the stored login of `{env}` cannot be read: {detail}")]
    Corrupt { env: String, detail: String },
    #[error("environment name `{0}` cannot name a credentials entry")]
    BadName(String),
    #[error("no config directory: {0}")]
    NoConfigDir(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("another walkme-sf process holds {} for more than {} s", path.display(), secs)]
    LockTimeout { path: PathBuf, secs: u64 },
}

impl StoreError {
    /// The exit status of SPEC §7: every "cannot get at the login" case is 3.
    #[must_use]
    pub fn status(&self) -> ExitStatus {
        match self {
            Self::NotLoggedIn { .. }
            | Self::NoKeyring { .. }
            | Self::KeyringLocked { .. }
            | Self::KeyringTimeout
            | Self::InsecurePermissions { .. }
            | Self::Corrupt { .. } => ExitStatus::Auth,
            Self::BadName(_) => ExitStatus::Usage,
            Self::Keyring { .. }
            | Self::NoConfigDir(_)
            | Self::Io { .. }
            | Self::LockTimeout { .. } => ExitStatus::Failed,
        }
    }

    /// What to do about it, for environment `env`. The keyring cases name the alternatives:
    /// never a silent fallback (SPEC §3).
    #[must_use]
    pub fn hint(&self, env: &str) -> Option<String> {
        match self {
            Self::NotLoggedIn { .. } | Self::Corrupt { .. } => Some(login_hint(env)),
            Self::NoKeyring { .. } | Self::KeyringLocked { .. } | Self::KeyringTimeout => {
                Some(format!(
                    "unlock the keyring, or use one of: `walkme-sf login --env {env} --store \
                     file` (an owner-only file), the WALKME_SF_REFRESH_TOKEN variable, or the JWT \
                     bearer flow (`username` and `jwt_key_file` in the environment)"
                ))
            }
            Self::InsecurePermissions { path, .. } => {
                Some(format!("run `chmod 600 {}`", path.display()))
            }
            _ => None,
        }
    }
}

/// A place that keeps one [`StoredLogin`] per environment name.
pub trait CredentialStore: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> StoreKind;
    /// Where the login of `env` lives, for messages ("OS keyring, service walkme-sf, entry
    /// prod" or the file's path).
    fn location(&self, env: &str) -> String;
    /// The stored login; [`StoreError::NotLoggedIn`] when there is none.
    fn load(&self, env: &str) -> Result<StoredLogin, StoreError>;
    /// Store (replace) the login of `env`.
    fn save(&self, env: &str, login: &StoredLogin) -> Result<(), StoreError>;
    /// Delete the login; `false` when there was none.
    fn delete(&self, env: &str) -> Result<bool, StoreError>;
}

fn check_name(env: &str) -> Result<(), StoreError> {
    let ok = !env.is_empty()
        && !env.starts_with('.')
        && env
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadName(env.to_owned()))
    }
}

fn decode(env: &str, text: &str) -> Result<StoredLogin, StoreError> {
    let login: StoredLogin = serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        env: env.to_owned(),
        detail: format!(
            "not the JSON walkme-sf writes (line {}, column {})",
            e.line(),
            e.column()
        ),
    })?;
    if login.version != STORED_VERSION {
        return Err(StoreError::Corrupt {
            env: env.to_owned(),
            detail: format!(
                "version {} (this walkme-sf reads version {STORED_VERSION})",
                login.version
            ),
        });
    }
    Ok(login)
}

fn encode(login: &StoredLogin) -> String {
    // Serialising these plain fields cannot fail.
    serde_json::to_string_pretty(login).unwrap_or_default()
}

/// `$XDG_CONFIG_HOME/walkme-sf/credentials` (`~/.config/walkme-sf/credentials`).
pub fn default_credentials_dir() -> Result<PathBuf, StoreError> {
    use etcetera::BaseStrategy as _;
    let base =
        etcetera::choose_base_strategy().map_err(|e| StoreError::NoConfigDir(e.to_string()))?;
    Ok(base.config_dir().join("walkme-sf").join("credentials"))
}

/// The store that holds `env`'s login: the file store when its file exists, else the keyring
/// (see the module documentation).
#[must_use]
pub fn locate(credentials_dir: &Path, env: &str) -> StoreKind {
    if FileStore::new(credentials_dir.to_owned())
        .path(env)
        .is_file()
    {
        StoreKind::File
    } else {
        StoreKind::Keyring
    }
}

/// Open a store of the given kind.
pub fn open(
    kind: StoreKind,
    credentials_dir: &Path,
) -> Result<Arc<dyn CredentialStore>, StoreError> {
    Ok(match kind {
        StoreKind::File => Arc::new(FileStore::new(credentials_dir.to_owned())),
        StoreKind::Keyring => Arc::new(KeyringStore::open()?),
    })
}

// ---------------------------------------------------------------------------------------------

/// Owner-only JSON files, one per environment.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    #[must_use]
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// `<dir>/<env>.json`.
    #[must_use]
    pub fn path(&self, env: &str) -> PathBuf {
        self.dir.join(format!("{env}.json"))
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        move |source| StoreError::Io {
            path: path.to_owned(),
            source,
        }
    }

    fn create_dir(&self) -> Result<(), StoreError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        builder.create(&self.dir).map_err(Self::io(&self.dir))
    }
}

/// Refuse a credentials file that group or others can access (SPEC §3: exit 3).
#[cfg(unix)]
fn check_permissions(path: &Path, meta: &std::fs::Metadata) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o777;
    if mode.trailing_zeros() >= 6 {
        Ok(())
    } else {
        Err(StoreError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        })
    }
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path, _meta: &std::fs::Metadata) -> Result<(), StoreError> {
    // Windows: the file lives in the user's profile, whose ACL is owner-only by default.
    Ok(())
}

impl CredentialStore for FileStore {
    fn kind(&self) -> StoreKind {
        StoreKind::File
    }

    fn location(&self, env: &str) -> String {
        self.path(env).display().to_string()
    }

    fn load(&self, env: &str) -> Result<StoredLogin, StoreError> {
        check_name(env)?;
        let path = self.path(env);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotLoggedIn {
                    env: env.to_owned(),
                });
            }
            Err(e) => return Err(Self::io(&path)(e)),
        };
        check_permissions(&path, &meta)?;
        let text = std::fs::read_to_string(&path).map_err(Self::io(&path))?;
        decode(env, &text)
    }

    fn save(&self, env: &str, login: &StoredLogin) -> Result<(), StoreError> {
        use std::io::Write as _;
        check_name(env)?;
        self.create_dir()?;
        let path = self.path(env);
        // tempfile creates the file 0600 on Unix; `persist` renames it over the old one, so a
        // reader sees the old or the new file, never half of one.
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(Self::io(&self.dir))?;
        tmp.write_all(encode(login).as_bytes())
            .map_err(Self::io(&path))?;
        tmp.as_file().sync_all().map_err(Self::io(&path))?;
        tmp.persist(&path).map_err(|e| Self::io(&path)(e.error))?;
        Ok(())
    }

    fn delete(&self, env: &str) -> Result<bool, StoreError> {
        check_name(env)?;
        let path = self.path(env);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Self::io(&path)(e)),
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// The OS keyring through keyring-core: Secret Service on Linux, Keychain on macOS, Credential
/// Manager on Windows. Service `walkme-sf`, one entry per environment name.
pub struct KeyringStore {
    store: Arc<keyring_core::CredentialStore>,
}

impl std::fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyringStore")
    }
}

/// Run a keyring call on its own thread, giving up after [`KEYRING_TIMEOUT`]. (A thread that
/// hangs on a prompt is left behind; the process exits soon after anyway.)
fn with_timeout<T: Send + 'static>(
    env: &str,
    call: impl FnOnce() -> keyring_core::Result<T> + Send + 'static,
) -> Result<T, StoreError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(call());
    });
    match rx.recv_timeout(KEYRING_TIMEOUT) {
        Ok(result) => result.map_err(|e| classify_keyring(env, e)),
        Err(_) => Err(StoreError::KeyringTimeout),
    }
}

/// rust-stack §2.5: a failing store or no default store → no keyring; `NoStorageAccess` →
/// locked; `NoEntry` → not logged in.
fn classify_keyring(env: &str, e: keyring_core::Error) -> StoreError {
    use keyring_core::Error as K;
    match e {
        K::PlatformFailure(detail) => StoreError::NoKeyring {
            detail: detail.to_string(),
        },
        K::NoDefaultStore => StoreError::NoKeyring {
            detail: "no keyring backend".to_owned(),
        },
        K::NoStorageAccess(detail) => StoreError::KeyringLocked {
            detail: detail.to_string(),
        },
        K::NoEntry => StoreError::NotLoggedIn {
            env: env.to_owned(),
        },
        K::BadEncoding(_) | K::BadDataFormat(..) => StoreError::Corrupt {
            env: env.to_owned(),
            detail: "the keyring entry is not text".to_owned(),
        },
        other => StoreError::Keyring {
            detail: other.to_string(),
        },
    }
}

impl KeyringStore {
    /// The platform's keyring. Fails with [`StoreError::NoKeyring`] when there is none (no
    /// session bus, no Secret Service provider).
    pub fn open() -> Result<Self, StoreError> {
        let store = with_timeout("", platform_store)?;
        Ok(Self { store })
    }

    /// A given keyring-core store (tests use `keyring_core::mock::Store`).
    #[must_use]
    pub fn with_store(store: Arc<keyring_core::CredentialStore>) -> Self {
        Self { store }
    }

    fn entry(
        &self,
        env: &str,
    ) -> impl FnOnce() -> keyring_core::Result<keyring_core::Entry> + Send + 'static {
        let store = Arc::clone(&self.store);
        let user = env.to_owned();
        move || keyring_core::Entry::new_in_store(&store, SERVICE, &user)
    }
}

#[cfg(target_os = "linux")]
fn platform_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    Ok(zbus_secret_service_keyring_store::Store::new()?)
}

#[cfg(target_os = "macos")]
fn platform_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}

#[cfg(target_os = "windows")]
fn platform_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    Ok(windows_native_keyring_store::Store::new()?)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn platform_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    Err(keyring_core::Error::NoDefaultStore)
}

impl CredentialStore for KeyringStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyring
    }

    fn location(&self, env: &str) -> String {
        format!("OS keyring (service {SERVICE}, entry {env})")
    }

    fn load(&self, env: &str) -> Result<StoredLogin, StoreError> {
        check_name(env)?;
        let entry = self.entry(env);
        let text = with_timeout(env, move || entry()?.get_password())?;
        decode(env, &text)
    }

    fn save(&self, env: &str, login: &StoredLogin) -> Result<(), StoreError> {
        check_name(env)?;
        let entry = self.entry(env);
        let text = encode(login);
        with_timeout(env, move || entry()?.set_password(&text))
    }

    fn delete(&self, env: &str) -> Result<bool, StoreError> {
        check_name(env)?;
        let entry = self.entry(env);
        match with_timeout(env, move || entry()?.delete_credential()) {
            Ok(()) => Ok(true),
            Err(StoreError::NotLoggedIn { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// An exclusive lock around the read-refresh-write of a rotating refresh token, shared by
/// processes through a lock file `<credentials dir>/<env>.lock`. Released on drop.
#[derive(Debug)]
pub struct RotationLock {
    _file: std::fs::File,
}

impl RotationLock {
    /// `<dir>/<env>.lock`.
    #[must_use]
    pub fn path(credentials_dir: &Path, env: &str) -> PathBuf {
        credentials_dir.join(format!("{env}.lock"))
    }

    /// Wait for the lock, up to `timeout`.
    pub async fn acquire(path: &Path, timeout: Duration) -> Result<Self, StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            FileStore::new(dir.to_owned()).create_dir()?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io)?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(StoreError::LockTimeout {
                            path: path.to_owned(),
                            secs: timeout.as_secs(),
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StoredLogin {
        StoredLogin {
            version: STORED_VERSION,
            refresh_token: Secret::new("5Aep-refresh"),
            instance_url: "https://eu11.salesforce.com".into(),
            username: "me@example.com".into(),
            org_id: "00D0Y000000ZNZAUA4".into(),
            login_url: "https://test.salesforce.com".into(),
            client_id: None,
        }
    }

    #[test]
    fn file_store_round_trip_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("credentials");
        let store = FileStore::new(creds.clone());
        assert!(matches!(
            store.load("prod"),
            Err(StoreError::NotLoggedIn { .. })
        ));
        assert_eq!(locate(&creds, "prod"), StoreKind::Keyring);
        store.save("prod", &sample()).unwrap();
        assert_eq!(locate(&creds, "prod"), StoreKind::File);
        assert_eq!(store.load("prod").unwrap(), sample());
        let text = std::fs::read_to_string(store.path("prod")).unwrap();
        assert!(text.contains("\"version\": 1"));
        assert!(!text.contains("access_token"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(store.path("prod"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(store.delete("prod").unwrap());
        assert!(!store.delete("prod").unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn file_store_refuses_wide_permissions() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().to_owned());
        store.save("sandbox", &sample()).unwrap();
        std::fs::set_permissions(
            store.path("sandbox"),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        let err = store.load("sandbox").unwrap_err();
        assert_eq!(err.status(), ExitStatus::Auth);
        assert!(err.hint("sandbox").unwrap().contains("chmod 600"));
    }

    #[test]
    fn corrupt_and_future_versions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().to_owned());
        let mut newer = sample();
        newer.version = 2;
        store.save("a", &newer).unwrap();
        assert!(matches!(store.load("a"), Err(StoreError::Corrupt { .. })));
        assert!(matches!(store.load("../x"), Err(StoreError::BadName(_))));
    }

    #[test]
    fn keyring_store_with_the_mock_backend() {
        let mock: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
        let store = KeyringStore::with_store(mock);
        let err = store.load("prod").unwrap_err();
        assert!(matches!(err, StoreError::NotLoggedIn { .. }));
        assert_eq!(
            err.hint("prod").unwrap(),
            "run `walkme-sf login --env prod`"
        );
        store.save("prod", &sample()).unwrap();
        assert_eq!(store.load("prod").unwrap(), sample());
        assert!(store.delete("prod").unwrap());
        assert!(!store.delete("prod").unwrap());
    }

    #[test]
    fn keyring_errors_are_classified() {
        let no = classify_keyring("p", keyring_core::Error::PlatformFailure("no bus".into()));
        assert!(matches!(no, StoreError::NoKeyring { .. }));
        let hint = no.hint("p").unwrap();
        for alternative in ["--store file", "WALKME_SF_REFRESH_TOKEN", "JWT"] {
            assert!(hint.contains(alternative), "{hint}");
        }
        let locked = classify_keyring(
            "p",
            keyring_core::Error::NoStorageAccess("prompt dismissed".into()),
        );
        assert!(matches!(locked, StoreError::KeyringLocked { .. }));
        assert_eq!(locked.status(), ExitStatus::Auth);
        assert!(matches!(
            classify_keyring("p", keyring_core::Error::NoEntry),
            StoreError::NotLoggedIn { .. }
        ));
    }

    #[tokio::test]
    async fn rotation_lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let path = RotationLock::path(dir.path(), "prod");
        let first = RotationLock::acquire(&path, Duration::from_secs(1))
            .await
            .unwrap();
        let err = RotationLock::acquire(&path, Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::LockTimeout { .. }));
        drop(first);
        RotationLock::acquire(&path, Duration::from_millis(100))
            .await
            .unwrap();
    }
}
