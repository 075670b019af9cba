//! `walkme-sf run`: the sync of SPEC §5 for one or more integrations, each recorded as a run.

use std::path::PathBuf;

use anyhow::{Context as _, Result};

use crate::auth::session::EnvVars;
use crate::cli::RunArgs;
use crate::config::{self, Config, Integration, ReportLocation, diagnostic::did_you_mean};
use crate::context::Context;
use crate::error::{ExitStatus, Fail};
use crate::output::Printer;
use crate::runlog::{self, Lock, RunDir, RunRecord, Start, Status};
use crate::salesforce::client::Client;
use crate::salesforce::describe::ObjectDescribe;
use crate::sync::{self, Fields, RunOptions, Stop};

pub fn run(args: &RunArgs, ctx: &Context) -> Result<ExitStatus> {
    let config = super::load_config(ctx)?;
    let names: Vec<String> = if args.all {
        config.integrations.keys().cloned().collect()
    } else {
        for name in &args.integrations {
            if !config.integrations.contains_key(name) {
                let hint = did_you_mean(name, config.integrations.keys().map(String::as_str))
                    .unwrap_or_else(|| {
                        format!(
                            "integrations: {}",
                            config
                                .integrations
                                .keys()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    });
                return Err(Fail::usage(format!("no integration named `{name}`"))
                    .hint(hint)
                    .into());
            }
        }
        args.integrations.clone()
    };
    if names.is_empty() {
        return Err(Fail::usage("name the integrations to run, or pass --all").into());
    }
    // Credentials from the environment name no environment: they are meant for one org. A run
    // spanning several environments would send every integration to that one org (a sandbox
    // test integration into production), so it is refused.
    let mut envs: Vec<&str> = names
        .iter()
        .map(|n| {
            args.env
                .as_deref()
                .unwrap_or(&config.integrations[n].environment)
        })
        .collect();
    envs.sort_unstable();
    envs.dedup();
    let env_credentials = ["WALKME_SF_ACCESS_TOKEN", "WALKME_SF_REFRESH_TOKEN"]
        .into_iter()
        .find(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
    if let (Some(var), true) = (env_credentials, envs.len() > 1) {
        return Err(Fail::usage(format!(
            "${var} holds the credentials of one org, but this run spans the environments {}",
            envs.join(", ")
        ))
        .hint("run the integrations of each environment separately (e.g. `walkme-sf run --all --env production`), or use `walkme-sf login` per environment")
        .into());
    }
    let mut printer = ctx.printer.clone();
    printer.quiet |= args.quiet;
    printer.progress &= !printer.quiet;
    let state_dir = ctx.state_dir()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut worst = ExitStatus::Success;
    let mut records = Vec::new();
    for name in &names {
        let integration = &config.integrations[name];
        let (status, record) =
            runtime.block_on(run_one(&config, integration, args, &state_dir, &printer));
        worst = worst.worst(status);
        records.extend(record);
    }
    if args.json {
        if records.len() == 1 {
            ctx.printer.json(&records[0])?;
        } else {
            ctx.printer.json(&records)?;
        }
    }
    Ok(worst)
}

/// One integration: everything it does ends in its run record and an exit status.
async fn run_one(
    config: &Config,
    integration: &Integration,
    args: &RunArgs,
    state_dir: &std::path::Path,
    printer: &Printer,
) -> (ExitStatus, Option<RunRecord>) {
    let env_name = args
        .env
        .clone()
        .unwrap_or_else(|| integration.environment.clone());
    let fail = |e: anyhow::Error| {
        crate::error::report(&e, printer.color_stderr);
        (crate::error::status_of(&e), None)
    };
    let Some(env) = config.environments.get(&env_name) else {
        let hint = did_you_mean(&env_name, config.environments.keys().map(String::as_str));
        let mut f = Fail::usage(format!("no environment named `{env_name}`"));
        f.hint = hint;
        return fail(f.into());
    };
    let dir = runlog::integration_dir(state_dir, &integration.name);
    let _lock = match Lock::acquire(&dir, &integration.name, args.wait) {
        Ok(lock) => lock,
        Err(e) => {
            return fail(anyhow::Error::new(
                Fail::failed(e.to_string()).hint("wait for it, or pass --wait"),
            ));
        }
    };
    let start = Start {
        integration: &integration.name,
        environment: &env.name,
        object: &integration.object,
        report_name: &integration.report.name,
        dry_run: args.dry_run,
    };
    let mut run = match RunDir::create(&dir, &start).context("cannot create the run directory") {
        Ok(run) => run,
        Err(e) => return fail(e),
    };
    printer.status(&format!(
        "{}: {} → {} in {}{}",
        integration.name,
        integration.report.name,
        integration.object,
        env.name,
        if args.dry_run { " (dry run)" } else { "" }
    ));
    let mut client_slot = None;
    let result = sync_one(integration, env, args, &mut run, printer, &mut client_slot).await;
    let (result, planned, preview) = match result {
        Ok(f) => (Ok(f.stop), f.planned, f.preview),
        Err(e) => (Err(e), 0, Vec::new()),
    };
    if let Some(client) = &client_slot {
        let stats = client.stats();
        run.record.api_calls = stats.total();
    }
    // Whether the error still has to be printed (errors of `Err` are printed where they occur).
    let reported = matches!(result, Ok(Stop::Failed(_) | Stop::Auth(_)));
    let (status, exit, error) = match result {
        Ok(Stop::Done) => {
            let c = &run.record.counts;
            if c.rejected > 0 || c.failed > 0 {
                (Status::CompletedWithErrors, ExitStatus::Partial, None)
            } else {
                (Status::Completed, ExitStatus::Success, None)
            }
        }
        Ok(Stop::Failed(message)) => (Status::Failed, ExitStatus::Failed, Some(message)),
        Ok(Stop::Auth(message)) => (Status::Failed, ExitStatus::Auth, Some(message)),
        Err(e) => {
            let exit = crate::error::status_of(&e);
            crate::error::report(&e, printer.color_stderr);
            // Rows never reached by a run that stopped early are aborted.
            run.record.counts.abort_the_rest();
            (Status::Failed, exit, Some(format!("{e:#}")))
        }
    };
    if let Some(message) = &error {
        run.log(&format!("failed: {message}"));
    }
    let path = run.path().to_path_buf();
    let record = match run.finish(status, error.clone()) {
        Ok(record) => record,
        Err(e) => return fail(anyhow::Error::new(e).context("cannot write run.json")),
    };
    let _ = runlog::prune(state_dir, &integration.name);
    // A preview only of a plan that was made: a run that stopped has none.
    if args.dry_run && !args.json && status != Status::Failed {
        print_preview(printer, planned, &preview, &path);
    }
    summary(printer, &record, &path);
    // A stop the sync reported (not an error already printed): shown even with --quiet.
    if let (Some(message), true) = (&error, reported) {
        crate::error::report(
            &anyhow::Error::new(Fail::failed(format!("{}: {message}", integration.name))),
            printer.color_stderr,
        );
    }
    (exit, Some(record))
}

async fn sync_one(
    integration: &Integration,
    env: &config::Environment,
    args: &RunArgs,
    run: &mut RunDir,
    printer: &Printer,
    client_slot: &mut Option<Client>,
) -> Result<sync::Finished> {
    // The report as configured, until the file is found: a run that stops before still says
    // which report it was for.
    run.record.report.file = match &integration.report.location {
        ReportLocation::Url(url) => crate::auth::http::shown_url(url),
        ReportLocation::Path(pattern) => pattern.display().to_string(),
    };
    let report_path = locate_report(integration, run).await?;
    if let ReportLocation::Path(_) = &integration.report.location {
        run.record.report.file = report_path.display().to_string();
    }
    // The same session rules as every command (SPEC §3), naming a file-kept login on stderr.
    let client = super::connect::client(
        env,
        &EnvVars::from_process(),
        &super::connect::stores()?,
        printer,
    )
    .await?;
    *client_slot = Some(client.clone());
    let describe = client
        .describe(&integration.object)
        .await
        .map_err(|e| describe_error(e, &integration.object))?;
    let fields = check_fields(integration, &describe)?;
    let options = RunOptions {
        dry_run: args.dry_run,
        only: args.only.clone(),
        api_reserve: args.api_reserve,
    };
    sync::run(
        integration,
        &fields,
        &report_path,
        &client,
        run,
        &options,
        printer,
    )
    .await
}

fn describe_error(e: crate::salesforce::error::SfError, object: &str) -> anyhow::Error {
    match e.error_code() {
        Some("NOT_FOUND" | "INVALID_TYPE") => Fail::usage(format!(
            "the object `{object}` does not exist in this org (or the user cannot see it)"
        ))
        .hint("check the object's API name with `walkme-sf describe`")
        .into(),
        _ => anyhow::Error::new(e).context(format!("cannot describe {object}")),
    }
}

/// The checks of `validate --online` that `run` needs before it touches anything (SPEC §5 step 2).
fn check_fields<'a>(integration: &Integration, describe: &'a ObjectDescribe) -> Result<Fields<'a>> {
    let mut problems = Vec::new();
    let key = describe.field(&integration.key.salesforce);
    match key {
        None => problems.push(format!(
            "the key field `{}` does not exist on {}",
            integration.key.salesforce, describe.name
        )),
        Some(f) if !f.filterable => problems.push(format!(
            "the key field `{}` cannot be used in a query (not filterable)",
            f.name
        )),
        Some(f) if !sync::key::supported(f) => problems.push(format!(
            "the key field `{}` is a {} field; keys must be text, e-mail, phone, URL, picklist or Id fields",
            f.name,
            f.field_type.as_str()
        )),
        Some(_) => {}
    }
    let mut mapped = Vec::new();
    for m in &integration.fields {
        match describe.field(&m.salesforce) {
            None => problems.push(format!(
                "the field `{}` does not exist on {}",
                m.salesforce, describe.name
            )),
            Some(f) if !f.updateable || f.calculated => problems.push(format!(
                "the field `{}` of {} cannot be written",
                f.name, describe.name
            )),
            Some(f) => mapped.push(f),
        }
    }
    if !problems.is_empty() {
        return Err(Fail::usage(problems.join("; ")).hint("run `walkme-sf validate --online` for every problem, or ask the admin for the fields (`walkme-sf fields`)").into());
    }
    let skip_converted = describe.name.eq_ignore_ascii_case("Lead")
        && integration.options.converted_leads == config::ConvertedLeads::Skip
        && describe.field("IsConverted").is_some();
    Ok(Fields {
        key: key.expect("checked"),
        mapped,
        skip_converted,
    })
}

/// The report file: the newest match of the path, or the URL downloaded into the run directory.
async fn locate_report(integration: &Integration, run: &RunDir) -> Result<PathBuf> {
    match &integration.report.location {
        ReportLocation::Path(pattern) => crate::report::locate(pattern).map_err(|e| {
            Fail::usage(e.to_string())
                .hint("export the report there, or fix `report.path`")
                .into()
        }),
        ReportLocation::Url(url) => {
            let shown = crate::auth::http::shown_url(url);
            let failed = |what: String| {
                Fail::failed(format!("cannot download the report from {shown}: {what}"))
            };
            let http = crate::auth::http::download_client().map_err(|e| anyhow::anyhow!("{e}"))?;
            let response = http
                .get(url)
                .send()
                .await
                .map_err(|e| failed(download_error(e)))?;
            let status = response.status();
            if !status.is_success() {
                return Err(failed(format!("HTTP {status}")).into());
            }
            let bytes = response
                .bytes()
                .await
                .map_err(|e| failed(download_error(e)))?;
            let path = run.path().join("report.csv");
            std::fs::write(&path, &bytes)?;
            Ok(path)
        }
    }
}

/// A failed download's reason, with its causes, without the URL (which [`crate::auth::http::shown_url`] gives).
fn download_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The dry run's plan: old → new per field for the first records (stdout: it is the result).
fn print_preview(
    printer: &Printer,
    planned: usize,
    preview: &[sync::PreviewRecord],
    path: &std::path::Path,
) {
    use std::fmt::Write as _;
    if printer.quiet {
        return;
    }
    let clean = crate::output::sanitize;
    let shown = |v: &str| {
        if v.is_empty() {
            "(empty)".to_owned()
        } else {
            clean(v)
        }
    };
    let mut out = String::new();
    if planned == 0 {
        out.push_str("  the plan changes nothing\n");
    } else {
        let _ = writeln!(
            out,
            "  the plan changes {planned} record{}:",
            if planned == 1 { "" } else { "s" }
        );
    }
    for record in preview {
        let _ = writeln!(out, "    {} {}", clean(&record.key), clean(&record.id));
        for (field, old, new) in &record.fields {
            let _ = writeln!(out, "      {field}: {} → {}", shown(old), shown(new));
        }
    }
    if planned > preview.len() {
        let _ = writeln!(out, "    … and {} more records", planned - preview.len());
    }
    if planned > 0 {
        let _ = writeln!(
            out,
            "  the full plan is in {}",
            path.join("changes.csv").display()
        );
    }
    printer.data(&out);
}

/// The few lines a run prints (a mail from cron carries them).
fn summary(printer: &Printer, r: &RunRecord, path: &std::path::Path) {
    printer.status(&format!("  {}", r.outcome()));
    printer.status(&format!(
        "  {} API calls; run {} in {}",
        r.api_calls,
        r.run_id,
        path.display()
    ));
}
