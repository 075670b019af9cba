//! `walkme-sf fields`: the custom fields an integration needs, as the e-mail to the Salesforce
//! admin (seed, step 3), as JSON, or as a deployable metadata folder.

use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::auth::session::{self, EnvVars, Stores};
use crate::auth::store::default_credentials_dir;
use crate::cli::FieldsArgs;
use crate::config::{Config, EnvKind, Integration, ReportLocation, diagnostic::did_you_mean};
use crate::context::Context;
use crate::error::{ExitStatus, Fail};
use crate::fields::{self, FieldSpec, Plan, Role, Source, metadata};
use crate::output::sanitize;
use crate::salesforce::client::Client;

/// `fields --json`, version 1.
#[derive(Serialize)]
struct Output<'a> {
    schema_version: u32,
    integration: &'a str,
    object: &'a str,
    report: ReportOut<'a>,
    /// The environment checked with `--env`; null offline (then every field is listed).
    environment: Option<&'a str>,
    fields: &'a [FieldSpec],
    /// Fields that exist in the org already (with `--env`).
    existing: &'a [String],
    skipped: &'a [String],
    warnings: &'a [String],
}

#[derive(Serialize)]
struct ReportOut<'a> {
    name: &'a str,
    /// The file the types were inferred from; null when none could be read.
    file: Option<String>,
}

pub fn run(args: &FieldsArgs, ctx: &Context) -> Result<ExitStatus> {
    let config = super::load_config(ctx)?;
    let Some(integration) = config.integrations.get(&args.integration) else {
        let hint = did_you_mean(
            &args.integration,
            config.integrations.keys().map(String::as_str),
        )
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
        return Err(
            Fail::usage(format!("no integration named `{}`", args.integration))
                .hint(hint)
                .into(),
        );
    };

    let (file, source) = match &integration.report.location {
        ReportLocation::Path(pattern) => match crate::report::locate(pattern) {
            Ok(path) => (Some(path), None),
            Err(e) => (None, Some(format!("no report to read ({e})"))),
        },
        ReportLocation::Url(_) => (
            None,
            Some("the report is a URL, read only at run time".to_owned()),
        ),
    };
    let source = match (&file, source) {
        (Some(path), _) => Source::File(path),
        (None, why) => Source::Unavailable(why.unwrap_or_default()),
    };
    let mut plan = fields::plan(integration, &source).map_err(|e| {
        Fail::usage(format!("cannot read the report: {e}"))
            .hint("check the report with `walkme-sf validate`")
    })?;

    let mut existing = Vec::new();
    let env_name = args.env.as_deref();
    if let Some(env_name) = env_name {
        existing = lacking(&config, integration, env_name, &mut plan)?;
    }

    for w in &plan.warnings {
        ctx.printer.warn(&sanitize(w));
    }
    for s in &plan.skipped {
        ctx.printer.status(&format!("note: {}", sanitize(s)));
    }

    if let Some(dir) = &args.metadata {
        if plan.fields.is_empty() {
            ctx.printer
                .status("no custom field to create: nothing written to the metadata folder");
        } else {
            let api_version = config
                .environments
                .get(env_name.unwrap_or(&integration.environment))
                .map_or(crate::config::DEFAULT_API_VERSION, |e| {
                    e.api_version.as_str()
                });
            let written = metadata::write(
                dir,
                &metadata::Request {
                    integration: &integration.name,
                    report: &integration.report.name,
                    object: &integration.object,
                    api_version,
                    fields: &plan.fields,
                },
            )
            .with_context(|| format!("cannot write the metadata folder {}", dir.display()))?;
            ctx.printer.status(&format!(
                "wrote {} field{} and permission set {} to {}{}",
                plan.fields.len(),
                plural(plan.fields.len()),
                written.permission_set,
                dir.display(),
                if written.kept_project {
                    " (its sfdx-project.json was kept)"
                } else {
                    ""
                }
            ));
            ctx.printer.status(&format!(
                "deploy: cd {} && sf project deploy start --manifest package.xml --target-org ALIAS",
                dir.display()
            ));
            ctx.printer.status(&format!(
                "then:   sf org assign permset --name {} --on-behalf-of INTEGRATION_USER --target-org ALIAS",
                written.permission_set
            ));
        }
    }

    if args.json {
        ctx.printer.json(&Output {
            schema_version: 1,
            integration: &integration.name,
            object: &integration.object,
            report: ReportOut {
                name: &integration.report.name,
                file: file.as_ref().map(|p| p.display().to_string()),
            },
            environment: env_name,
            fields: &plan.fields,
            existing: &existing,
            skipped: &plan.skipped,
            warnings: &plan.warnings,
        })?;
    } else {
        let kind = env_name
            .and_then(|n| config.environments.get(n))
            .map(|e| (e.name.as_str(), e.kind));
        ctx.printer
            .data(&sanitize(&letter(integration, &plan, kind, &existing)));
    }
    Ok(ExitStatus::Success)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Drops the fields `env_name`'s org has; returns their names.
fn lacking(
    config: &Config,
    integration: &Integration,
    env_name: &str,
    plan: &mut Plan,
) -> Result<Vec<String>> {
    let Some(env) = config.environments.get(env_name) else {
        let mut f = Fail::usage(format!("no environment named `{env_name}`"));
        f.hint = did_you_mean(env_name, config.environments.keys().map(String::as_str));
        return Err(f.into());
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let describe = runtime.block_on(async {
        let http = crate::auth::http::http_client().map_err(|e| e.into_fail(&env.name))?;
        let stores = Stores::new(default_credentials_dir().map_err(|e| Fail::auth(e.to_string()))?);
        let session = session::resolve(env, &EnvVars::from_process(), &stores, &http).await?;
        let client = Client::new(Arc::new(session), &env.api_version);
        client
            .describe(&integration.object)
            .await
            .map_err(|e| match e.error_code() {
                Some("NOT_FOUND" | "INVALID_TYPE") => Fail::usage(format!(
                    "the object `{}` does not exist in {} (or the user cannot see it)",
                    integration.object, env.name
                ))
                .hint("a custom object must be created before its fields")
                .into(),
                _ => {
                    anyhow::Error::new(e).context(format!("cannot describe {}", integration.object))
                }
            })
    })?;
    let mut existing = Vec::new();
    plan.fields.retain(|f| {
        if let Some(have) = describe.field(&f.api_name) {
            existing.push(have.name.clone());
            false
        } else {
            true
        }
    });
    Ok(existing)
}

/// Width of the e-mail's paragraphs.
const WIDTH: usize = 90;

/// Appends `text` wrapped at [`WIDTH`] columns, then a blank line.
fn paragraph(out: &mut String, text: &str) {
    let mut line = 0;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if line > 0 && line + 1 + len > WIDTH {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += len;
    }
    out.push_str("\n\n");
}

/// The e-mail to the Salesforce admin (seed, "End-to-end example", step 3).
fn letter(
    integration: &Integration,
    plan: &Plan,
    env: Option<(&str, EnvKind)>,
    existing: &[String],
) -> String {
    let object = &integration.object;
    let mut t = String::new();
    if plan.fields.is_empty() {
        match env {
            Some((name, _)) => {
                let _ = writeln!(
                    t,
                    "{object} in {name} has every custom field the integration {} needs ({}): \
                     nothing to create.",
                    integration.name,
                    existing.join(", ")
                );
            }
            None => {
                let _ = writeln!(
                    t,
                    "The integration {} writes no custom field: nothing to create.",
                    integration.name
                );
            }
        }
        return t;
    }
    let where_ = match env {
        Some((name, EnvKind::Production)) => format!("in production (the org of `{name}`)"),
        Some((name, EnvKind::Sandbox)) => format!("in the sandbox (the org of `{name}`)"),
        None => "first in the sandbox and, once the sync is tested there, in production".into(),
    };
    let _ = writeln!(
        t,
        "Subject: custom fields on {object} for the WalkMe Insights sync\n\nDear Salesforce admin,\n"
    );
    paragraph(
        &mut t,
        &format!(
            "we copy WalkMe Insights metrics from the report \"{}\" into Salesforce once a day, \
             so that our workflows and reports can act on how customers use our software. Each \
             report row updates the {object} record whose {} matches the report's \"{}\".",
            integration.report.name, integration.key.salesforce, integration.key.report
        ),
    );
    let mut ask = format!("Could you add these custom fields to the {object} object, {where_}?");
    if object.ends_with("__c") {
        ask.push_str(" (The custom object itself must exist first.)");
    }
    paragraph(&mut t, &ask);
    let rows: Vec<[String; 3]> = plan
        .fields
        .iter()
        .map(|f| {
            let mut kind = f.kind.to_string();
            if f.role == Role::Key {
                kind.push_str(if f.external_id {
                    ", External ID (the key)"
                } else {
                    " (the key)"
                });
            }
            [f.setup_name().to_owned(), f.label.clone(), kind]
        })
        .collect();
    let header = [
        "Field Name".to_owned(),
        "Field Label".to_owned(),
        "Data Type".to_owned(),
    ];
    let widths: Vec<usize> = (0..3)
        .map(|i| {
            rows.iter()
                .chain(std::iter::once(&header))
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in std::iter::once(&header).chain(&rows) {
        let _ = writeln!(
            t,
            "  {:w0$}  {:w1$}  {}",
            r[0],
            r[1],
            r[2],
            w0 = widths[0],
            w1 = widths[1]
        );
    }
    t.push('\n');
    paragraph(
        &mut t,
        &format!(
            "Salesforce adds `__c` to each Field Name (API name {}{}). The integration user \
             needs read and edit access to these fields (field-level security), best through a \
             permission set. `walkme-sf fields {} --metadata DIR` writes the fields and such a \
             permission set as a folder that deploys with `sf project deploy start`.",
            plan.fields[0].api_name,
            if plan.fields.len() > 1 { ", …" } else { "" },
            integration.name,
        ),
    );
    t.push_str("Thank you!\n");
    if !existing.is_empty() {
        let _ = writeln!(t, "\n(Already there: {}.)", existing.join(", "));
    }
    t
}
