//! `walkme-sf validate`: every problem of the config and the reports' headers, offline.

use anyhow::Result;
use serde::Serialize;

use crate::cli::ValidateArgs;
use crate::config::{self, Problem, diagnostic::did_you_mean};
use crate::context::Context;
use crate::error::{ExitStatus, Fail};

#[derive(Serialize)]
struct Output<'a> {
    ok: bool,
    problems: &'a [Problem],
}

pub fn run(args: &ValidateArgs, ctx: &Context) -> Result<ExitStatus> {
    let path = &ctx.config_path;
    let (config, mut problems) = match config::check(path) {
        Ok(checked) => checked,
        Err(e @ config::LoadError::Read { .. }) => {
            return Err(Fail::usage(e.to_string())
                .hint("pass --config PATH, set $WALKME_SF_CONFIG, or start from integrations.example.toml")
                .into());
        }
        Err(e) => return Err(e.into()),
    };
    // The problems of the file as a whole: a run of any of its integrations needs them fixed,
    // so naming integrations on the command line does not leave them out.
    let file_problems = problems.len();
    // The headers of the report files that exist, of every integration that passed.
    let mut notes = Vec::new();
    if let Some(config) = &config {
        let (header_problems, header_notes) = config::headers::check(config, &args.integrations);
        problems.extend(header_problems);
        notes = header_notes;
    }
    // Names asked for on the command line must exist.
    let known = if args.integrations.is_empty() {
        Vec::new()
    } else {
        integration_names(path)
    };
    for name in &args.integrations {
        if !known.contains(name) {
            let hint = did_you_mean(name, known.iter().map(String::as_str))
                .unwrap_or_else(|| format!("integrations in this file: {}", known.join(", ")));
            problems.push(
                Problem::general(path, format!("no integration named `{name}`"))
                    .hint(hint)
                    .integration(name),
            );
        }
    }
    if !args.integrations.is_empty()
        && problems[..file_problems].iter().any(|p| {
            p.integration
                .as_ref()
                .is_some_and(|i| !args.integrations.contains(i))
        })
    {
        notes.push(
            "problems of other integrations are listed too: no integration of a file runs \
             until the whole file is valid"
                .to_owned(),
        );
    }

    let mut unchecked: Option<anyhow::Error> = None;
    if args.online {
        match &config {
            Some(config) if problems.is_empty() => {
                let (online, error) =
                    super::validate_online::check(config, &args.integrations, &ctx.printer)?;
                problems.extend(online);
                unchecked = error;
            }
            _ => ctx.printer.status(
                "note: the online checks need a valid config; fix the problems below first",
            ),
        }
    }

    let ok = problems.is_empty() && unchecked.is_none();
    if args.json {
        ctx.printer.json(&Output {
            ok,
            problems: &problems,
        })?;
    } else {
        for p in &problems {
            eprint!("{}", p.render(ctx.printer.color_stderr));
            eprintln!();
        }
        for note in &notes {
            ctx.printer.status(&format!("note: {note}"));
        }
        if ok {
            let count = config.as_ref().map_or(0, |c| {
                if args.integrations.is_empty() {
                    c.integrations.len()
                } else {
                    args.integrations.len()
                }
            });
            ctx.printer.data(&format!(
                "{}: {count} integration{} valid\n",
                path.display(),
                if count == 1 { "" } else { "s" }
            ));
        } else if !problems.is_empty() {
            eprintln!(
                "{}: {} problem{} found",
                path.display(),
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
        }
    }
    // Every problem that could be found is printed; then the environment that could not be
    // checked decides the exit status (a refused login: 3).
    if let Some(error) = unchecked {
        return Err(error);
    }
    Ok(if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Usage
    })
}

/// The integration names the file holds, valid or not: names on the command line must be among
/// them, and a wrong one gets a suggestion.
fn integration_names(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| {
            t.get("integrations")
                .and_then(|i| i.as_table())
                .map(|i| i.keys().cloned().collect())
        })
        .unwrap_or_default()
}
