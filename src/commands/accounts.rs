//! `walkme-sf accounts`: every environment of the config and the login it would use; with
//! `--check`, proof that the login works and the org's remaining daily API requests (SPEC §2,
//! §8).

use std::sync::Arc;

use anyhow::Result;
use serde::Serialize;

use crate::auth::session::{EnvVars, Stores};
use crate::auth::store::{
    CredentialStore, FileStore, KeyringStore, StoreError, StoreKind, StoredLogin, locate,
};
use crate::auth::token::login_hint;
use crate::cli::AccountsArgs;
use crate::config::{Environment, Flow};
use crate::context::Context;
use crate::error::ExitStatus;
use crate::output::sanitize;
use crate::salesforce::limits::LimitInfo;

use super::connect;

/// One environment, in the shape of SPEC §8.
#[derive(Debug, Serialize)]
struct Account {
    environment: String,
    kind: &'static str,
    login_url: String,
    logged_in: bool,
    /// `keyring`, `file`, or the unattended flow (`jwt`, `client_credentials`).
    store: Option<&'static str>,
    username: Option<String>,
    org_id: Option<String>,
    instance_url: Option<String>,
    /// With `--check` only (added to the JSON then, `null` when unknown).
    #[serde(skip)]
    api_remaining: Option<u64>,
    /// Why the login could not be read or did not work.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub fn run(args: &AccountsArgs, ctx: &Context) -> Result<ExitStatus> {
    let config = super::load_config(ctx)?;
    let mut stores = connect::stores()?;
    // One keyring connection for every environment, opened only when one needs it.
    let mut keyring: Option<Result<Arc<dyn CredentialStore>, String>> = None;
    let mut worst = ExitStatus::Success;
    let mut accounts = Vec::new();
    for env in config.environments.values() {
        let mut account = Account {
            environment: env.name.clone(),
            kind: env.kind.as_str(),
            login_url: env.login_url.clone(),
            logged_in: false,
            store: None,
            username: None,
            org_id: None,
            instance_url: None,
            api_remaining: None,
            error: None,
        };
        if env.username.is_some() && env.jwt_key_file.is_some() {
            account.logged_in = true;
            account.store = Some("jwt");
            account.username.clone_from(&env.username);
        } else if env.flow == Some(Flow::ClientCredentials) {
            account.logged_in = true;
            account.store = Some("client_credentials");
        } else {
            let kind = locate(&stores.credentials_dir, &env.name);
            let loaded = match kind {
                StoreKind::File => FileStore::new(stores.credentials_dir.clone()).load(&env.name),
                StoreKind::Keyring => {
                    let store = keyring.get_or_insert_with(|| {
                        KeyringStore::open()
                            .map(|k| Arc::new(k) as Arc<dyn CredentialStore>)
                            .map_err(|e| e.to_string())
                    });
                    match store {
                        Ok(store) => store.load(&env.name),
                        // Said once below, for every environment at once.
                        Err(_) => Err(StoreError::NotLoggedIn {
                            env: env.name.clone(),
                        }),
                    }
                }
            };
            match loaded {
                Ok(login) => fill(&mut account, kind, login),
                Err(StoreError::NotLoggedIn { .. }) => {}
                Err(e) => {
                    account.store = Some(kind.as_str());
                    account.error = Some(e.to_string());
                }
            }
        }
        accounts.push(account);
    }
    if let Some(Ok(k)) = &keyring {
        stores.keyring = Some(Arc::clone(k));
    }
    if let Some(Err(detail)) = &keyring {
        ctx.printer.warn(&format!(
            "the OS keyring cannot be read ({}); logins kept there are shown as not logged in",
            sanitize(detail)
        ));
    }
    if args.check {
        let runtime = connect::runtime()?;
        // Only what the config and the stores hold: the token variables of SPEC §3 belong to
        // one environment at a time and would stand in for every one here.
        let vars = EnvVars {
            access_token: None,
            instance_url: None,
            refresh_token: None,
            ..EnvVars::from_process()
        };
        for (account, env) in accounts.iter_mut().zip(config.environments.values()) {
            if !account.logged_in {
                continue;
            }
            let status = runtime.block_on(check(account, env, &vars, &stores, ctx));
            worst = worst.worst(status);
        }
    }
    if args.json {
        let mut out = Vec::with_capacity(accounts.len());
        for a in &accounts {
            let mut value = serde_json::to_value(a)?;
            if let (true, Some(map)) = (args.check, value.as_object_mut()) {
                map.insert("api_remaining".to_owned(), a.api_remaining.into());
            }
            out.push(value);
        }
        ctx.printer.json(&out)?;
    } else {
        ctx.printer.data(&table(&accounts, args.check));
        for a in &accounts {
            if let Some(error) = &a.error {
                ctx.printer
                    .warn(&format!("`{}`: {}", a.environment, sanitize(error)));
            }
        }
    }
    Ok(worst)
}

fn fill(account: &mut Account, kind: StoreKind, login: StoredLogin) {
    account.logged_in = true;
    account.store = Some(kind.as_str());
    account.username = Some(login.username);
    account.org_id = Some(login.org_id).filter(|s| !s.is_empty());
    account.instance_url = Some(login.instance_url);
}

/// Prove the login: a session, one data call for the usage header, userinfo for the user.
async fn check(
    account: &mut Account,
    env: &Environment,
    vars: &EnvVars,
    stores: &Stores,
    ctx: &Context,
) -> ExitStatus {
    let client = match connect::client(env, vars, stores, &ctx.printer).await {
        Ok(client) => client,
        Err(fail) => {
            account.error = Some(match &fail.hint {
                Some(hint) => format!("{} ({hint})", fail.message),
                None => fail.message.clone(),
            });
            return fail.status;
        }
    };
    let result = async {
        client.resources().await?;
        client.userinfo().await
    }
    .await;
    match result {
        Ok(info) => {
            if let Some(name) = info.preferred_username {
                account.username = Some(name);
            }
            if let Some(org) = info.organization_id {
                account.org_id = Some(org);
            }
            account.instance_url = Some(client.session().current().await.instance_url);
            account.api_remaining = client.stats().limit_info.map(LimitInfo::remaining);
            ExitStatus::Success
        }
        Err(e) => {
            let error = connect::api_error(e, "the check failed");
            let status = crate::error::status_of(&error);
            let mut message = format!("{error:#}");
            if status == ExitStatus::Auth {
                message = format!("{message} ({})", login_hint(&env.name));
            }
            account.error = Some(message);
            status
        }
    }
}

/// Aligned columns; empty values as `-`.
fn table(accounts: &[Account], check: bool) -> String {
    let mut rows = vec![vec![
        "ENVIRONMENT".to_owned(),
        "KIND".to_owned(),
        "LOGGED IN".to_owned(),
        "STORE".to_owned(),
        "USERNAME".to_owned(),
        "ORG ID".to_owned(),
        "INSTANCE URL".to_owned(),
        "LOGIN URL".to_owned(),
    ]];
    if check {
        rows[0].push("API LEFT".to_owned());
    }
    let dash = |v: Option<&str>| v.filter(|s| !s.is_empty()).unwrap_or("-").to_owned();
    for a in accounts {
        let mut row = vec![
            a.environment.clone(),
            a.kind.to_owned(),
            if a.logged_in { "yes" } else { "no" }.to_owned(),
            dash(a.store),
            dash(a.username.as_deref()),
            dash(a.org_id.as_deref()),
            dash(a.instance_url.as_deref()),
            a.login_url.clone(),
        ];
        if check {
            row.push(match a.api_remaining {
                Some(n) => n.to_string(),
                None if a.logged_in && a.error.is_some() => "failed".to_owned(),
                None => "-".to_owned(),
            });
        }
        rows.push(row);
    }
    super::describe::align(&rows)
}
