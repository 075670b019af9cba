//! `walkme-sf logout`: revoke the stored refresh token at Salesforce, then delete it; when
//! Salesforce cannot be reached the login is deleted all the same, with a note (SPEC §2).

use anyhow::Result;

use crate::auth::flows;
use crate::auth::store::{RotationLock, StoreError};
use crate::auth::{AuthError, http::check_url};
use crate::cli::LogoutArgs;
use crate::context::Context;
use crate::error::ExitStatus;

use super::connect;

pub fn run(args: &LogoutArgs, ctx: &Context) -> Result<ExitStatus> {
    let config = super::load_config(ctx)?;
    let env = connect::environment(&config, &args.env)?;
    let name = env.name.as_str();
    let stores = connect::stores()?;
    let store = match stores.store_for(name) {
        Ok(store) => store,
        // No file and no keyring at all: nothing can be stored anywhere. (A locked keyring
        // may hold the login: that stays an error.)
        Err(StoreError::NoKeyring { detail }) => {
            ctx.printer.data(&format!(
                "Not logged in to `{name}`: there is no login file, and no OS keyring ({}).\n",
                crate::output::sanitize(&detail)
            ));
            return Ok(ExitStatus::Success);
        }
        Err(e) => return Err(AuthError::from(e).into_fail(name).into()),
    };
    let location = store.location(name);
    let revoked = match store.load(name) {
        Ok(login) => {
            let http = crate::auth::http::http_client().map_err(|e| e.into_fail(name))?;
            let url = check_url("stored login URL", &login.login_url);
            let result = match url {
                Ok(url) => {
                    connect::runtime()?.block_on(flows::revoke(&http, &url, &login.refresh_token))
                }
                Err(e) => Err(e),
            };
            Some(result)
        }
        Err(StoreError::NotLoggedIn { .. }) => {
            ctx.printer
                .data(&format!("Not logged in to `{name}`; nothing to do.\n"));
            return Ok(ExitStatus::Success);
        }
        // An entry that cannot be used cannot be revoked either; it is still deleted.
        Err(StoreError::Corrupt { .. } | StoreError::InsecurePermissions { .. }) => None,
        Err(e) => return Err(AuthError::from(e).into_fail(name).into()),
    };
    store
        .delete(name)
        .map_err(|e| AuthError::from(e).into_fail(name))?;
    let _ = std::fs::remove_file(RotationLock::path(&stores.credentials_dir, name));
    match revoked {
        Some(Ok(())) => ctx.printer.data(&format!(
            "Logged out of `{name}`: the token was revoked at Salesforce and deleted from \
             {location}.\n"
        )),
        Some(Err(AuthError::Refused { .. })) => ctx.printer.data(&format!(
            "Logged out of `{name}`: Salesforce no longer accepted the token (revoked or \
             expired); it was deleted from {location}.\n"
        )),
        Some(Err(e)) => {
            ctx.printer.data(&format!(
                "Logged out of `{name}` locally: the token was deleted from {location}.\n"
            ));
            ctx.printer.warn(&format!(
                "the token was only deleted locally; Salesforce could not revoke it ({}). It \
                 stays valid until it expires or an admin revokes it (Setup → Connected Apps \
                 OAuth Usage)",
                crate::output::sanitize(&e.to_string())
            ));
        }
        None => ctx.printer.data(&format!(
            "Logged out of `{name}`: the unreadable login was deleted from {location}; it \
             could not be revoked at Salesforce.\n"
        )),
    }
    Ok(ExitStatus::Success)
}
