//! `walkme-sf login`: run an OAuth flow against the environment's login URL; for the browser
//! and device flows keep the refresh token and the org's identity in the chosen store; for the
//! unattended flows only prove that they work (SPEC §2–§3).

use anyhow::Result;

use crate::auth::AuthError;
use crate::auth::flows::{self, device::DeviceOptions, web::WebOptions};
use crate::auth::http::check_url;
use crate::auth::session::{EnvVars, stored_login};
use crate::auth::store::{CredentialStore, StoreError, StoreKind};
use crate::auth::token::{LoginFlow, TokenResponse};
use crate::cli::{LoginArgs, StoreChoice};
use crate::config::{Environment, Flow};
use crate::context::Context;
use crate::error::{ExitStatus, Fail};

use super::connect;

pub fn run(args: &LoginArgs, ctx: &Context) -> Result<ExitStatus> {
    let config = super::load_config(ctx)?;
    let env = connect::environment(&config, &args.env)?;
    let vars = EnvVars::from_process();
    let fail = |e: AuthError| e.into_fail(&env.name);
    let login_url = check_url("login URL", &env.login_url).map_err(fail)?;
    let client_id = env
        .client_id
        .clone()
        .or_else(|| vars.client_id.clone())
        .ok_or_else(|| {
            Fail::usage(format!(
                "no client id for environment `{}`: set `client_id` in its config or \
                 $WALKME_SF_CLIENT_ID (the consumer key of the External Client App)",
                env.name
            ))
        })?;
    let http = crate::auth::http::http_client().map_err(fail)?;
    let runtime = connect::runtime()?;

    if args.flow.jwt || args.flow.client_credentials {
        let token =
            runtime.block_on(unattended(args, env, &vars, &http, &login_url, &client_id))?;
        check_url("the token's instance URL", &token.instance_url).map_err(fail)?;
        let who = runtime.block_on(who(&http, &token));
        let flow = if args.flow.jwt {
            "the JWT bearer flow"
        } else {
            "the client credentials flow"
        };
        ctx.printer
            .data(&format!("{}\n", logged_in_line(env, &who, &token)));
        ctx.printer.status(&format!(
            "Nothing was stored: every run logs in afresh with {flow}."
        ));
        if args.flow.client_credentials && env.flow != Some(Flow::ClientCredentials) {
            ctx.printer.warn(&format!(
                "runs use this flow only when environment `{}` sets `flow = \"client_credentials\"`",
                env.name
            ));
        }
        return Ok(ExitStatus::Success);
    }

    // Open and probe the store first: a missing or locked keyring must stop the login before
    // the user goes through the browser, and is never replaced by a file (SPEC §3).
    let stores = connect::stores()?;
    let kind = match args.store.unwrap_or_default() {
        StoreChoice::Keyring => StoreKind::Keyring,
        StoreChoice::File => StoreKind::File,
    };
    let store = stores.store(kind).map_err(|e| store_fail(e, &env.name))?;
    probe(store.as_ref(), &env.name)?;

    let token = if args.flow.device {
        let mut options = DeviceOptions::default();
        if let Some(t) = vars.login_timeout {
            options.timeout = t;
        }
        runtime.block_on(flows::device::login(
            &http, &login_url, &client_id, &options,
        ))
    } else {
        let mut options = WebOptions::new(env.redirect_port);
        if let Some(t) = vars.login_timeout {
            options.timeout = t;
        }
        runtime.block_on(flows::web::login(&http, &login_url, &client_id, &options))
    }
    .map_err(fail)?;
    // The access token goes to the instance only at an address the URL rules allow.
    check_url("the token's instance URL", &token.instance_url).map_err(fail)?;
    let who = runtime.block_on(who(&http, &token));
    let login = stored_login(&token, &who.username, &login_url, Some(&client_id)).map_err(fail)?;
    store
        .save(&env.name, &login)
        .map_err(|e| store_fail(e, &env.name))?;
    if kind == StoreKind::Keyring {
        // A file login would hide the new keyring entry (the file is found first); the user
        // chose the keyring now, so the file goes.
        let file = crate::auth::FileStore::new(stores.credentials_dir.clone());
        if file.delete(&env.name).unwrap_or(false) {
            ctx.printer.status(&format!(
                "Deleted the older login of `{}` kept in {}.",
                env.name,
                file.path(&env.name).display()
            ));
        }
    }
    ctx.printer
        .data(&format!("{}\n", logged_in_line(env, &who, &token)));
    ctx.printer.status(&format!(
        "The login is kept in {}.",
        store.location(&env.name)
    ));
    if kind == StoreKind::File {
        ctx.printer.warn(
            "a file holds the refresh token; anyone who can read it can act as this user \
             (it is readable by you alone; keep it that way)",
        );
    }
    Ok(ExitStatus::Success)
}

/// A keyring that cannot be reached stops the login; anything but "not logged in yet" or an
/// unreadable old entry (which the login replaces) is an error with the alternatives.
fn probe(store: &dyn CredentialStore, env: &str) -> Result<(), Fail> {
    match store.load(env) {
        Ok(_)
        | Err(
            StoreError::NotLoggedIn { .. }
            | StoreError::Corrupt { .. }
            | StoreError::InsecurePermissions { .. },
        ) => Ok(()),
        Err(e) => Err(store_fail(e, env)),
    }
}

fn store_fail(e: StoreError, env: &str) -> Fail {
    AuthError::from(e).into_fail(env)
}

async fn unattended(
    args: &LoginArgs,
    env: &Environment,
    vars: &EnvVars,
    http: &reqwest::Client,
    login_url: &str,
    client_id: &str,
) -> Result<TokenResponse, Fail> {
    let fail = |e: AuthError| e.into_fail(&env.name);
    if args.flow.jwt {
        let (Some(username), Some(key_file)) = (&env.username, &env.jwt_key_file) else {
            return Err(Fail::usage(format!(
                "--jwt needs `username` and `jwt_key_file` in environment `{}`",
                env.name
            ))
            .hint("name the user to act as and the private key of the app's certificate"));
        };
        let key = flows::read_key_file(key_file).map_err(fail)?;
        flows::jwt(http, login_url, env.kind, client_id, username, &key)
            .await
            .map_err(|e| e.into_unattended_fail(&env.name, LoginFlow::Jwt))
    } else {
        let secret = vars.client_secret.clone().ok_or_else(|| {
            Fail::usage("--client-credentials needs the app's secret in $WALKME_SF_CLIENT_SECRET")
        })?;
        flows::client_credentials(http, login_url, client_id, &secret)
            .await
            .map_err(|e| e.into_unattended_fail(&env.name, LoginFlow::ClientCredentials))
    }
}

/// Who a token belongs to.
struct Who {
    username: String,
    org_id: String,
}

/// The user's name from userinfo (research §1.7); when that call fails, the ids of the token
/// response are all there is.
async fn who(http: &reqwest::Client, token: &TokenResponse) -> Who {
    let identity = token.identity();
    let info = flows::userinfo(http, &token.instance_url, &token.access_token)
        .await
        .unwrap_or_default();
    Who {
        username: info
            .preferred_username
            .or(info.email)
            .or_else(|| identity.as_ref().map(|i| i.user_id.clone()))
            .unwrap_or_default(),
        org_id: info
            .organization_id
            .or_else(|| identity.map(|i| i.org_id))
            .unwrap_or_default(),
    }
}

fn logged_in_line(env: &Environment, who: &Who, token: &TokenResponse) -> String {
    crate::output::sanitize(&format!(
        "Logged in to `{}` ({}) as {}, org {} at {}.",
        env.name,
        env.kind.as_str(),
        who.username,
        who.org_id,
        token.instance_url
    ))
}
