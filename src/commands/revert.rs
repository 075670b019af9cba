//! `walkme-sf revert RUN_ID [--dry-run]`: write back the old values a run replaced, only where
//! the field still holds what that run wrote, recorded as a run of the same integration whose
//! `run.json` names the run it reverts (SPEC §2, §6).

use std::sync::Arc;

use anyhow::{Context as _, Result};

use crate::auth::session::{self, EnvVars, Stores};
use crate::auth::store::default_credentials_dir;
use crate::cli::RevertArgs;
use crate::context::Context;
use crate::error::{ExitStatus, Fail};
use crate::runlog::{self, Lock, RunDir, RunRecord, Start, Status};
use crate::salesforce::client::Client;
use crate::sync::Stop;
use crate::sync::revert::{self, Entry};

pub fn run(args: &RevertArgs, ctx: &Context) -> Result<ExitStatus> {
    let config = super::load_config(ctx)?;
    let state_dir = ctx.state_dir()?;
    let Some(original_dir) = runlog::find(&state_dir, &args.run_id) else {
        return Err(Fail::usage(format!("no run with id `{}`", args.run_id))
            .hint("`walkme-sf logs` lists the runs and their ids")
            .into());
    };
    let original = RunRecord::read(&original_dir.join("run.json"))
        .with_context(|| format!("cannot read the run {}", args.run_id))?;
    if original.dry_run {
        return Err(Fail::usage(format!(
            "run {} was a dry run: it wrote nothing, so there is nothing to revert",
            args.run_id
        ))
        .into());
    }
    let Some(integration) = config.integrations.get(&original.integration) else {
        return Err(Fail::usage(format!(
            "run {} belongs to the integration `{}`, which the config no longer has",
            args.run_id, original.integration
        ))
        .hint("revert with the config the run used (--config PATH)")
        .into());
    };
    let Some(env) = config.environments.get(&original.environment) else {
        return Err(Fail::usage(format!(
            "run {} wrote to the environment `{}`, which the config no longer has",
            args.run_id, original.environment
        ))
        .into());
    };
    if original.finished_at.is_none() {
        // A killed run's changes.csv lacks what its unfinished write phase wrote (RELIABILITY.md).
        ctx.printer.warn(&format!(
            "run {} did not finish: its changes.csv may not list everything it wrote, and only \
             what it lists is reverted",
            args.run_id
        ));
    }
    let changes_path = original_dir.join("changes.csv");
    let entries = revert::read_changes(&changes_path).map_err(|e| Fail::usage(format!("{e:#}")))?;
    // The run wrote to its own object, whatever the config says today.
    let mut integration = integration.clone();
    integration.object.clone_from(&original.object);

    let printer = ctx.printer.clone();
    let dir = runlog::integration_dir(&state_dir, &integration.name);
    let _lock = Lock::acquire(&dir, &integration.name, false)
        .map_err(|e| Fail::failed(e.to_string()).hint("wait for it, then revert"))?;
    let start = Start {
        integration: &integration.name,
        environment: &env.name,
        object: &integration.object,
        report_name: &original.report.name,
        dry_run: args.dry_run,
    };
    let mut run = RunDir::create(&dir, &start).context("cannot create the run directory")?;
    run.record.reverts = Some(original.run_id.clone());
    // Counted from the start: a revert that stops before its first write aborts every line.
    run.record.counts.rows = entries.len() as u64;
    run.record.report.file = changes_path.display().to_string();
    printer.status(&format!(
        "{}: reverting run {} ({} changed fields) on {} in {}{}",
        integration.name,
        original.run_id,
        entries.len(),
        integration.object,
        env.name,
        if args.dry_run { " (dry run)" } else { "" }
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut client_slot = None;
    let result = runtime.block_on(revert_one(
        &integration,
        env,
        &entries,
        &original,
        args.dry_run,
        &mut run,
        &printer,
        &mut client_slot,
    ));
    if let Some(client) = &client_slot {
        run.record.api_calls = client.stats().total();
    }
    let (status, exit, error) = match result {
        Ok(Stop::Done) => {
            let c = &run.record.counts;
            if c.rejected > 0 || c.failed > 0 {
                (Status::CompletedWithErrors, ExitStatus::Partial, None)
            } else {
                (Status::Completed, ExitStatus::Success, None)
            }
        }
        Ok(Stop::Failed(message)) => {
            crate::error::report(
                &anyhow::Error::new(Fail::failed(message.clone())),
                printer.color_stderr,
            );
            (Status::Failed, ExitStatus::Failed, Some(message))
        }
        Ok(Stop::Auth(message)) => {
            crate::error::report(
                &anyhow::Error::new(Fail::auth(message.clone())),
                printer.color_stderr,
            );
            (Status::Failed, ExitStatus::Auth, Some(message))
        }
        Err(e) => {
            crate::error::report(&e, printer.color_stderr);
            run.record.counts.abort_the_rest();
            (
                Status::Failed,
                crate::error::status_of(&e),
                Some(format!("{e:#}")),
            )
        }
    };
    if let Some(message) = &error {
        run.log(&format!("failed: {message}"));
    }
    let path = run.path().to_path_buf();
    let record = run.finish(status, error).context("cannot write run.json")?;
    let _ = runlog::prune(&state_dir, &integration.name);
    printer.status(&format!("  {}", record.outcome()));
    printer.status(&format!(
        "  {} API calls; run {} in {}",
        record.api_calls,
        record.run_id,
        path.display()
    ));
    if args.json {
        ctx.printer.json(&record)?;
    }
    Ok(exit)
}

#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
async fn revert_one(
    integration: &crate::config::Integration,
    env: &crate::config::Environment,
    entries: &[Entry],
    original: &RunRecord,
    dry_run: bool,
    run: &mut RunDir,
    printer: &crate::output::Printer,
    client_slot: &mut Option<Client>,
) -> Result<Stop> {
    let http = crate::auth::http::http_client().map_err(|e| e.into_fail(&env.name))?;
    let stores = Stores::new(default_credentials_dir().map_err(|e| Fail::auth(e.to_string()))?);
    let session = session::resolve(env, &EnvVars::from_process(), &stores, &http).await?;
    let client = Client::new(Arc::new(session), &env.api_version);
    *client_slot = Some(client.clone());
    let describe = client.describe(&integration.object).await.map_err(|e| {
        anyhow::Error::new(e).context(format!("cannot describe {}", integration.object))
    })?;
    revert::revert(
        integration,
        &describe,
        entries,
        &client,
        run,
        dry_run,
        &original.run_id,
        printer,
    )
    .await
}
