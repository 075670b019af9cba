//! `walkme-sf init`: add an integration to the config — the seed's wizard screens 1–3 (environment;
//! report, object and key pair; field mappings) in a terminal, or entirely from flags.
//!
//! The result is checked with the same rules as `validate` (config and the report's header) before
//! anything is written, and is only ever appended: an existing file is never rewritten, a new one
//! never replaces a file that appeared meanwhile.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, MultiSelect, Select};

use crate::auth::session::{self, EnvVars, Stores};
use crate::auth::store::default_credentials_dir;
use crate::cli::InitArgs;
use crate::config;
use crate::context::Context;
use crate::error::{ExitStatus, Fail};
use crate::fields::PREFIX;
use crate::output::sanitize;
use crate::salesforce::client::Client;
use crate::salesforce::describe::ObjectDescribe;

/// What the new integration says, whichever way it was gathered.
#[derive(Debug, Default)]
struct Answers {
    name: String,
    env: String,
    object: String,
    report_name: String,
    /// As written into the config: relative to the config's folder, or absolute.
    report_path: String,
    key: (String, String),
    maps: Vec<(String, String)>,
}

pub fn run(args: &InitArgs, ctx: &Context) -> Result<ExitStatus> {
    let path = &ctx.config_path;
    let existing = read_existing(path)?;
    let config_dir = config_dir(path);
    let environments = existing.as_ref().map_or_else(
        || vec!["sandbox".to_owned(), "production".to_owned()],
        |(c, _)| c.environments.keys().cloned().collect(),
    );
    let taken: Vec<String> = existing
        .as_ref()
        .map(|(c, _)| c.integrations.keys().cloned().collect())
        .unwrap_or_default();

    let interactive =
        !args.no_input && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let answers = if interactive {
        ask(
            args,
            &config_dir,
            existing.as_ref().map(|(c, _)| c),
            &environments,
            &taken,
        )?
    } else {
        from_flags(args, &config_dir)?
    };

    if taken.contains(&answers.name) {
        return Err(Fail::usage(format!(
            "{} has an integration named `{}` already; {0} was not changed",
            path.display(),
            answers.name
        ))
        .hint("choose another --name; init only adds, it never edits an integration")
        .into());
    }
    let snippet = snippet(&answers);
    let header = if existing.is_none() {
        new_file_header(&answers.env)
    } else {
        String::new()
    };
    let before = existing.as_ref().map_or("", |(_, text)| text.as_str());
    let separator = if before.is_empty() || before.ends_with("\n\n") {
        ""
    } else if before.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    let addition = format!("{header}{separator}{snippet}");
    check(
        path,
        &config_dir,
        &format!("{before}{addition}"),
        &answers.name,
        ctx,
    )?;

    if args.dry_run {
        ctx.printer.data(&addition);
        ctx.printer
            .status(&format!("dry run: {} was not changed", path.display()));
        return Ok(ExitStatus::Success);
    }
    if interactive {
        eprintln!("\n{}", sanitize(&addition));
        let write = Confirm::with_theme(&ColorfulTheme::default())
            .with_prompt(format!("Append this to {}?", path.display()))
            .default(true)
            .interact()?;
        if !write {
            ctx.printer.status("nothing was written");
            return Ok(ExitStatus::Success);
        }
    }
    append(path, existing.as_ref().map(|(_, t)| t.as_str()), &addition)?;
    ctx.printer.status(&format!(
        "added integration `{}` to {}\nnext:\n  walkme-sf fields {0}     # the custom fields to ask the admin for\n  walkme-sf login --env {}\n  walkme-sf validate --online {0}\n  walkme-sf run {0} --dry-run",
        answers.name,
        path.display(),
        answers.env,
    ));
    Ok(ExitStatus::Success)
}

/// The config and its text when the file exists; a file that does not validate is refused, since
/// nothing appended to it could.
fn read_existing(path: &Path) -> Result<Option<(config::Config, String)>> {
    if !path.exists() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    match config::check(path) {
        Ok((Some(config), problems)) if problems.is_empty() => Ok(Some((config, text))),
        Ok(_) | Err(config::LoadError::Invalid { .. }) => Err(Fail::usage(format!(
            "{} has problems already; init appends only to a valid file",
            path.display()
        ))
        .hint("run `walkme-sf validate` and fix them first")
        .into()),
        Err(e) => Err(Fail::usage(e.to_string()).into()),
    }
}

fn config_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `NAME=VALUE` of `--key` and `--map`; `--map COLUMN` alone gets the suggested field name.
fn pair(text: &str, what: &str, default_sf: bool) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((r, s)) if !r.trim().is_empty() && !s.trim().is_empty() => {
            Ok((r.trim().to_owned(), s.trim().to_owned()))
        }
        None if default_sf && !text.trim().is_empty() => {
            Ok((text.trim().to_owned(), suggest_field(text)))
        }
        _ => Err(Fail::usage(format!(
            "{what} {text:?}: write REPORT_COLUMN=SALESFORCE_FIELD, e.g. \"User ID=Email\""
        ))
        .into()),
    }
}

/// `Logins Last 30 Days` → `WalkMe_Logins_Last_30_Days__c`: the seed's prefix, and only what a
/// custom field's name may hold (letters, digits, single underscores).
fn suggest_field(column: &str) -> String {
    let mut name = String::from(PREFIX.trim_end_matches('_'));
    let mut pending = true;
    for c in column.chars() {
        if c.is_ascii_alphanumeric() {
            if pending {
                name.push('_');
                pending = false;
            }
            name.push(c);
        } else {
            pending = true;
        }
    }
    // 40 characters before `__c` at most (CustomField fullName).
    name.truncate(40);
    let name = name.trim_end_matches('_');
    format!("{name}__c")
}

/// The report's display name from its file name: `logins-review-2026-11-30.csv` → `logins-review`.
fn default_report_name(path: &str) -> String {
    let stem = Path::new(path)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("report");
    let trimmed =
        stem.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '_' || c == '*');
    if trimmed.is_empty() { stem } else { trimmed }.to_owned()
}

/// A name that needs no quoting in a TOML table header.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The report path as the config should hold it: relative to the config's folder when the file is
/// inside it, else absolute; a glob stays as typed.
fn config_relative(report: &str, config_dir: &Path) -> String {
    if report.contains(['*', '?', '[']) {
        return report.to_owned();
    }
    let (Ok(file), Ok(dir)) = (
        std::fs::canonicalize(report),
        std::fs::canonicalize(config_dir),
    ) else {
        return report.to_owned();
    };
    match file.strip_prefix(&dir) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => file.display().to_string(),
    }
}

/// The report's columns, for showing and for choosing; `None` when there is no file yet.
fn columns(report_path: &str, config_dir: &Path) -> Option<Vec<String>> {
    let pattern = if Path::new(report_path).is_absolute() {
        PathBuf::from(report_path)
    } else {
        config_dir.join(report_path)
    };
    let file = crate::report::locate(&pattern).ok()?;
    crate::report::read_header(&file)
        .ok()
        .map(|h| h.names().to_vec())
}

fn from_flags(args: &InitArgs, config_dir: &Path) -> Result<Answers> {
    let missing = |flag: &str| {
        Fail::usage(format!("{flag} is required without a terminal (or with --no-input)"))
            .hint("walkme-sf init --name lead-logins --object Lead --report reports/logins.csv --key \"User ID=Email\" --map \"Last Login=WalkMe_Last_Login__c\"")
    };
    let name = args.name.clone().ok_or_else(|| missing("--name"))?;
    let object = args.object.clone().ok_or_else(|| missing("--object"))?;
    let report = args.report.clone().ok_or_else(|| missing("--report"))?;
    let key = pair(
        args.key.as_deref().ok_or_else(|| missing("--key"))?,
        "--key",
        false,
    )?;
    if args.map.is_empty() {
        return Err(missing("--map (at least one)").into());
    }
    let maps = args
        .map
        .iter()
        .map(|m| pair(m, "--map", true))
        .collect::<Result<Vec<_>>>()?;
    if !valid_name(&name) {
        return Err(Fail::usage(format!(
            "integration name {name:?}: use letters, digits, `-` and `_`"
        ))
        .into());
    }
    let report_path = config_relative(&report, config_dir);
    Ok(Answers {
        name,
        env: args.env.clone().unwrap_or_else(|| "sandbox".to_owned()),
        object,
        report_name: args
            .report_name
            .clone()
            .unwrap_or_else(|| default_report_name(&report_path)),
        report_path,
        key,
        maps,
    })
}

/// The wizard: every answer a flag did not give, asked on the terminal (stderr).
fn ask(
    args: &InitArgs,
    config_dir: &Path,
    existing: Option<&config::Config>,
    environments: &[String],
    taken: &[String],
) -> Result<Answers> {
    let theme = ColorfulTheme::default();
    eprintln!("Add an integration: a report, the Salesforce object it updates, and how.\n");

    // Screen 1: the environment.
    let env = if let Some(env) = &args.env {
        env.clone()
    } else {
        let default = environments
            .iter()
            .position(|e| e == "sandbox")
            .unwrap_or(0);
        let i = Select::with_theme(&theme)
            .with_prompt("Environment (test in the sandbox first)")
            .items(environments)
            .default(default)
            .interact()?;
        environments[i].clone()
    };

    // Screen 2: report, object, key pair.
    let report = match &args.report {
        Some(r) => r.clone(),
        None => Input::<String>::with_theme(&theme)
            .with_prompt("Report CSV (a path or glob such as reports/logins-*.csv)")
            .validate_with(|p: &String| {
                if p.trim().is_empty() {
                    Err("a path is needed")
                } else {
                    Ok(())
                }
            })
            .interact_text()?,
    };
    let report_path = config_relative(report.trim(), config_dir);
    let report_columns = columns(&report_path, config_dir);
    match &report_columns {
        Some(cols) => eprintln!(
            "  columns: {}",
            sanitize(
                &cols
                    .iter()
                    .map(|c| format!("{c:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        ),
        None => eprintln!("  (no file matches yet: type the column names)"),
    }
    let report_name = match &args.report_name {
        Some(n) => n.clone(),
        None => Input::with_theme(&theme)
            .with_prompt("Report name, as run logs show it")
            .default(default_report_name(&report_path))
            .interact_text()?,
    };
    let object = match &args.object {
        Some(o) => o.clone(),
        None => Input::with_theme(&theme)
            .with_prompt("Salesforce object (API name)")
            .default("Lead".to_owned())
            .interact_text()?,
    };
    let describe = describe(
        existing.and_then(|c| c.environments.get(&env)),
        &env,
        &object,
    );
    let key = if let Some(k) = &args.key {
        pair(k, "--key", false)?
    } else {
        let column = choose_column(
            &theme,
            "Report column with the key (e-mail or user id)",
            report_columns.as_deref(),
            None,
        )?;
        let sf = Input::with_theme(&theme)
            .with_prompt(format!("{object} field it matches"))
            .default("Email".to_owned())
            .interact_text()?;
        (column, sf)
    };

    // Screen 3: mappings.
    let maps = if args.map.is_empty() {
        let mut maps = Vec::new();
        let candidates: Vec<String> = report_columns
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| *c != key.0)
            .collect();
        let chosen: Vec<String> = if candidates.is_empty() {
            let typed: String = Input::with_theme(&theme)
                .with_prompt("Report columns to sync (comma-separated)")
                .interact_text()?;
            typed
                .split(',')
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect()
        } else {
            let picked = MultiSelect::with_theme(&theme)
                .with_prompt("Columns to sync (space selects, enter confirms)")
                .items(shown(&candidates))
                .defaults(&vec![true; candidates.len()])
                .interact()?;
            picked.into_iter().map(|i| candidates[i].clone()).collect()
        };
        for column in chosen {
            let sf: String = Input::with_theme(&theme)
                .with_prompt(format!("  {} →", crate::output::sanitize(&column)))
                .default(suggest_field(&column))
                .interact_text()?;
            if let Some(d) = &describe
                && d.field(&sf).is_none()
            {
                eprintln!(
                    "  note: {object} has no field `{sf}` yet; `walkme-sf fields` lists it for the admin"
                );
            }
            maps.push((column, sf));
        }
        maps
    } else {
        args.map
            .iter()
            .map(|m| pair(m, "--map", true))
            .collect::<Result<Vec<_>>>()?
    };

    let name = if let Some(n) = &args.name {
        n.clone()
    } else {
        let default = format!(
            "{}-{}",
            object
                .trim_end_matches("__c")
                .to_lowercase()
                .replace('_', "-"),
            default_report_name(&report_path)
                .to_lowercase()
                .replace(' ', "-")
        );
        let taken = taken.to_vec();
        Input::with_theme(&theme)
            .with_prompt("Integration name")
            .default(default)
            .validate_with(move |n: &String| {
                if !valid_name(n) {
                    Err("letters, digits, `-` and `_` only".to_owned())
                } else if taken.contains(n) {
                    Err(format!("`{n}` exists already"))
                } else {
                    Ok(())
                }
            })
            .interact_text()?
    };
    if !valid_name(&name) {
        return Err(Fail::usage(format!(
            "integration name {name:?}: use letters, digits, `-` and `_`"
        ))
        .into());
    }
    Ok(Answers {
        name,
        env,
        object,
        report_name,
        report_path,
        key,
        maps,
    })
}

/// Report column names as the wizard lists them: made safe for the terminal (they come from
/// the report's header); the names written to the config stay as they are.
fn shown(columns: &[String]) -> Vec<String> {
    columns.iter().map(|c| crate::output::sanitize(c)).collect()
}

fn choose_column(
    theme: &ColorfulTheme,
    prompt: &str,
    columns: Option<&[String]>,
    default: Option<usize>,
) -> Result<String> {
    Ok(match columns {
        Some(cols) if !cols.is_empty() => {
            let i = Select::with_theme(theme)
                .with_prompt(prompt)
                .items(shown(cols))
                .default(default.unwrap_or(0))
                .interact()?;
            cols[i].clone()
        }
        _ => Input::with_theme(theme)
            .with_prompt(prompt)
            .interact_text()?,
    })
}

/// The object's fields when a login for the environment works, shown as the wizard's drop-down
/// would; `None` (with a note) otherwise — init works offline.
fn describe(
    env: Option<&config::Environment>,
    env_name: &str,
    object: &str,
) -> Option<ObjectDescribe> {
    let Some(env) = env else {
        eprintln!("  (fields of {object} not shown: no config defines `{env_name}` yet)");
        return None;
    };
    let result = (|| -> Result<ObjectDescribe> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let http = crate::auth::http::http_client().map_err(|e| e.into_fail(&env.name))?;
            let stores =
                Stores::new(default_credentials_dir().map_err(|e| Fail::auth(e.to_string()))?);
            let session = session::resolve(env, &EnvVars::from_process(), &stores, &http).await?;
            let client = Client::new(Arc::new(session), &env.api_version);
            Ok(client.describe(object).await?)
        })
    })();
    match result {
        Ok(d) => {
            let mut shown = String::new();
            for f in d.fields.iter().filter(|f| f.updateable || f.filterable) {
                let _ = write!(
                    shown,
                    "\n    {:40} {:10} {}",
                    f.name,
                    f.field_type.as_str(),
                    match (f.updateable, f.filterable) {
                        (true, true) => "writable, key",
                        (true, false) => "writable",
                        _ => "key",
                    }
                );
            }
            eprintln!("  fields of {object}:{}", sanitize(&shown));
            Some(d)
        }
        Err(e) => {
            eprintln!(
                "  (fields of {object} not shown: {}; `walkme-sf login --env {env_name}` first to see them)",
                sanitize(&format!("{e:#}"))
            );
            None
        }
    }
}

/// A TOML basic string.
fn quote(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// The commented integration (TOML), as appended.
fn snippet(a: &Answers) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Added by `walkme-sf init`: {} → {} in {}.",
        a.report_name.replace('\n', " "),
        a.object,
        a.env
    );
    let _ = writeln!(t, "[integrations.{}]", a.name);
    let _ = writeln!(
        t,
        "environment = {}          # `run --env production` promotes it",
        quote(&a.env)
    );
    let _ = writeln!(t, "object = {}", quote(&a.object));
    let glob_note = if a.report_path.contains('*') {
        "   # the newest match"
    } else {
        ""
    };
    let _ = writeln!(
        t,
        "report = {{ name = {}, path = {} }}{glob_note}",
        quote(&a.report_name),
        quote(&a.report_path)
    );
    let _ = writeln!(
        t,
        "key = {{ report = {}, salesforce = {} }}   # report column ↔ Salesforce field",
        quote(&a.key.0),
        quote(&a.key.1)
    );
    let _ = writeln!(
        t,
        "# max_changes = \"10%\"            # a safety brake: fail rather than change more records"
    );
    for (report, sf) in &a.maps {
        let _ = writeln!(
            t,
            "\n[[integrations.{}.fields]]\nreport = {}\nsalesforce = {}",
            a.name,
            quote(report),
            quote(sf)
        );
    }
    t
}

fn new_file_header(env: &str) -> String {
    format!(
        "# walkme-sf configuration: `walkme-sf validate` checks it, integrations.example.toml shows \
         every option.\n\
         # Environments `sandbox` and `production` are built in; set the consumer key of your\n\
         # External Client App (docs/salesforce-setup.md) here or in $WALKME_SF_CLIENT_ID.\n\
         [environments.{env}]\n\
         # client_id = \"3MVG9...\"\n\n"
    )
}

/// Checks the file as it would be after the append, with `validate`'s rules and the report's
/// header, and prints every problem against the real file's name.
fn check(path: &Path, dir: &Path, text: &str, name: &str, ctx: &Context) -> Result<()> {
    // The copy sits next to the config, so relative report paths resolve the same way.
    let mut temp = tempfile::Builder::new()
        .prefix(".walkme-sf-init-")
        .suffix(".toml")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write a temporary file in {}", dir.display()))?;
    temp.write_all(text.as_bytes())?;
    temp.flush()?;
    let (config, mut problems) = config::check(temp.path())?;
    if let Some(config) = &config
        && problems.is_empty()
    {
        let (header_problems, _) = config::headers::check(config, &[name.to_owned()]);
        problems.extend(header_problems);
    }
    if problems.is_empty() {
        return Ok(());
    }
    for mut p in problems {
        p.file = path.to_path_buf();
        eprint!("{}", p.render(ctx.printer.color_stderr));
        eprintln!();
    }
    Err(Fail::usage(format!(
        "the new integration `{name}` would not be valid; {} was not changed",
        path.display()
    ))
    .into())
}

/// Appends to the file as read, or creates it; never replaces what another process wrote since.
fn append(path: &Path, read: Option<&str>, addition: &str) -> Result<()> {
    let mut file = match read {
        None => std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| {
                Fail::failed(format!("cannot create {}: {e}", path.display()))
                    .hint("a file appeared there meanwhile: run init again")
            })?,
        Some(before) => {
            let now = std::fs::read_to_string(path)?;
            if now != before {
                return Err(Fail::failed(format!(
                    "{} changed while init was running; nothing was written",
                    path.display()
                ))
                .hint("run init again")
                .into());
            }
            std::fs::OpenOptions::new().append(true).open(path)?
        }
    };
    file.write_all(addition.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggested_names_follow_the_seed_and_salesforce_rules() {
        assert_eq!(
            suggest_field("Logins Last 30 Days"),
            "WalkMe_Logins_Last_30_Days__c"
        );
        assert_eq!(suggest_field("# Logins (30d)"), "WalkMe_Logins_30d__c");
        assert!(suggest_field(&"x".repeat(100)).len() <= 43);
    }

    #[test]
    fn report_names_drop_the_export_date() {
        assert_eq!(
            default_report_name("reports/logins-review-2026-11-30.csv"),
            "logins-review"
        );
        assert_eq!(default_report_name("reports/nps-*.csv"), "nps");
        assert_eq!(default_report_name("2026.csv"), "2026");
    }

    #[test]
    fn pairs_need_both_sides() {
        assert!(pair("User ID=Email", "--key", false).is_ok());
        assert!(pair("User ID", "--key", false).is_err());
        assert!(pair("=Email", "--key", false).is_err());
        assert_eq!(
            pair("NPS Score", "--map", true).unwrap().1,
            "WalkMe_NPS_Score__c"
        );
    }
}
