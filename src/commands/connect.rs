//! What the commands that talk to Salesforce share: the environment by name, the credential
//! stores, a session and its client, and the error for an object the org does not have.

use std::sync::Arc;

use anyhow::Result;

use crate::auth::session::{self, EnvVars, Source, Stores};
use crate::auth::store::{StoreKind, default_credentials_dir};
use crate::config::{Config, Environment, diagnostic::did_you_mean};
use crate::error::Fail;
use crate::output::Printer;
use crate::salesforce::client::Client;
use crate::salesforce::error::SfError;

/// A single-threaded runtime: the commands make one call at a time.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The environment called `name`, or a usage error that suggests a close name.
pub fn environment<'c>(config: &'c Config, name: &str) -> Result<&'c Environment, Fail> {
    config.environments.get(name).ok_or_else(|| {
        let hint = did_you_mean(name, config.environments.keys().map(String::as_str))
            .unwrap_or_else(|| {
                format!(
                    "environments in {}: {}",
                    config.path.display(),
                    config
                        .environments
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
        Fail::usage(format!("no environment named `{name}`")).hint(hint)
    })
}

/// The credential stores at their default place (`$XDG_CONFIG_HOME/walkme-sf/credentials`).
pub fn stores() -> Result<Stores, Fail> {
    let dir = default_credentials_dir()
        .map_err(|e| Fail::failed(format!("cannot find the credentials folder: {e}")))?;
    Ok(Stores::new(dir))
}

/// Open a session for `env` in SPEC §3's order and a client on it. A login kept in a file is
/// named on stderr at each use (SPEC §3), unless the printer is quiet.
pub async fn client(
    env: &Environment,
    vars: &EnvVars,
    stores: &Stores,
    printer: &Printer,
) -> Result<Client, Fail> {
    let http = crate::auth::http::http_client().map_err(|e| e.into_fail(&env.name))?;
    let session = session::resolve(env, vars, stores, &http).await?;
    if session.source() == Source::Stored(StoreKind::File) {
        let path = crate::auth::FileStore::new(stores.credentials_dir.clone()).path(&env.name);
        printer.warn(&format!(
            "using the login of `{}` kept in the file {}",
            env.name,
            path.display()
        ));
    }
    let client = Client::new(Arc::new(session), &env.api_version);
    Ok(if printer.verbose > 0 {
        client.with_trace(printer.clone())
    } else {
        client
    })
}

/// A failed describe: an unknown object is a usage error with a way forward; an auth failure
/// keeps its exit status 3 and hint.
#[must_use]
pub fn describe_error(e: SfError, object: &str, env: &str) -> anyhow::Error {
    match e {
        SfError::Auth(fail) => fail.into(),
        e if matches!(e.error_code(), Some("NOT_FOUND" | "INVALID_TYPE")) => Fail::usage(format!(
            "the object `{object}` does not exist in `{env}` (or its user cannot see it)"
        ))
        .hint("check the API name: custom objects end in `__c`")
        .into(),
        e => anyhow::Error::new(e).context(format!("cannot describe {object}")),
    }
}

/// An API failure as an error with the right exit status (3 for a refused session).
#[must_use]
pub fn api_error(e: SfError, what: &str) -> anyhow::Error {
    match e {
        SfError::Auth(fail) => fail.into(),
        e => anyhow::Error::new(e).context(what.to_owned()),
    }
}
