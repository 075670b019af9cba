//! `walkme-sf logs`: the run history as a table (or run.json objects), and `logs show RUN_ID`.

use std::fmt::Write as _;

use anyhow::Result;

use crate::cli::{LogsArgs, LogsCommand};
use crate::context::Context;
use crate::error::{ExitStatus, Fail};
use crate::output::sanitize;
use crate::runlog::{self, RunRecord};

pub fn run(args: &LogsArgs, ctx: &Context) -> Result<ExitStatus> {
    let state_dir = ctx.state_dir()?;
    if let Some(LogsCommand::Show { run_id, json }) = &args.show {
        return show(ctx, &state_dir, run_id, *json);
    }
    if let Some(name) = &args.integration {
        known_integration(ctx, &state_dir, name)?;
    }
    let mut runs = runlog::list(&state_dir, args.integration.as_deref())
        .map_err(|e| anyhow::anyhow!("cannot read the run log in {}: {e}", state_dir.display()))?;
    runs.truncate(usize::try_from(args.limit).unwrap_or(usize::MAX));
    if args.json {
        ctx.printer.json(&runs)?;
        return Ok(ExitStatus::Success);
    }
    if runs.is_empty() {
        ctx.printer.status(&match &args.integration {
            Some(name) => format!("no runs of `{}` recorded yet", sanitize(name)),
            None => "no runs recorded yet".to_owned(),
        });
        return Ok(ExitStatus::Success);
    }
    ctx.printer.data(&table(&runs, ctx.printer.color_stdout));
    Ok(ExitStatus::Success)
}

/// An integration name asked for must be one the config defines or the run log holds: a typo
/// gets a usage error with a suggestion, not "no runs recorded".
fn known_integration(ctx: &Context, state_dir: &std::path::Path, name: &str) -> Result<()> {
    let mut known: Vec<String> = runlog::integration_dirs(state_dir)
        .unwrap_or_default()
        .iter()
        .filter_map(|dir| dir.file_name()?.to_str().map(str::to_owned))
        .collect();
    if let Ok(config) = crate::config::load(&ctx.config_path) {
        known.extend(config.integrations.into_keys());
    }
    if known.iter().any(|k| k == name) {
        return Ok(());
    }
    known.sort();
    known.dedup();
    let hint = if known.is_empty() {
        "no run is recorded yet, and the config names no integration".to_owned()
    } else {
        crate::config::diagnostic::did_you_mean(name, known.iter().map(String::as_str))
            .unwrap_or_else(|| format!("integrations: {}", known.join(", ")))
    };
    Err(
        Fail::usage(format!("no integration named `{}`", sanitize(name)))
            .hint(sanitize(&hint))
            .into(),
    )
}

fn show(
    ctx: &Context,
    state_dir: &std::path::Path,
    run_id: &str,
    json: bool,
) -> Result<ExitStatus> {
    let Some(dir) = runlog::find(state_dir, run_id) else {
        return Err(
            Fail::usage(format!("no run with id `{}`", sanitize(run_id)))
                .hint("`walkme-sf logs` lists the runs and their ids")
                .into(),
        );
    };
    let record = RunRecord::read(&dir.join("run.json"))
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.join("run.json").display()))?;
    if json {
        ctx.printer.json(&record)?;
        return Ok(ExitStatus::Success);
    }
    let mut out = details(&record, &dir);
    out.push('\n');
    match std::fs::read_to_string(dir.join("log.txt")) {
        Ok(log) => out.push_str(&sanitize(&log)),
        Err(e) => {
            let _ = writeln!(out, "(log.txt cannot be read: {e})");
        }
    }
    ctx.printer.data(&out);
    Ok(ExitStatus::Success)
}

/// `logs show`: the run's fields, one a line.
fn details(r: &RunRecord, dir: &std::path::Path) -> String {
    let c = &r.counts;
    let mut out = String::new();
    let mut line = |name: &str, value: &str| {
        let _ = writeln!(out, "{name:<12} {}", sanitize(value));
    };
    line("run", &r.run_id);
    line("integration", &r.integration);
    line("environment", &r.environment);
    line("report", &format!("{} ({})", r.report.name, r.report.file));
    line("object", &r.object);
    line("started", &utc(&r.started_at));
    line(
        "finished",
        &r.finished_at.as_deref().map_or_else(|| "-".to_owned(), utc),
    );
    line(
        "duration",
        &r.duration_ms.map_or_else(|| "-".to_owned(), duration),
    );
    line(
        "status",
        &format!(
            "{}{}",
            r.status.as_str(),
            if r.dry_run { " (dry run)" } else { "" }
        ),
    );
    if let Some(error) = &r.error {
        line("error", error);
    }
    line("api calls", &r.api_calls.to_string());
    line(
        "rows",
        &format!(
            "{} — updated {}, unchanged {}, unmatched {}, skipped {}, rejected {}, failed {}, aborted {}",
            c.rows, c.updated, c.unchanged, c.unmatched, c.skipped, c.rejected, c.failed, c.aborted
        ),
    );
    line(
        "records",
        &format!(
            "matched {}, updated {}, failed {}",
            r.records.matched, r.records.updated, r.records.failed
        ),
    );
    if let Some(reverts) = &r.reverts {
        line("reverts", reverts);
    }
    line("directory", &dir.display().to_string());
    out
}

/// The history table; every cell sanitised (names and files come from the config and disk).
fn table(runs: &[RunRecord], color: bool) -> String {
    let header = [
        "RUN ID",
        "INTEGRATION",
        "REPORT",
        "OBJECT",
        "STARTED (UTC)",
        "DURATION",
        "STATUS",
        "UPDATED",
        "FAILED",
    ];
    let rows: Vec<[String; 9]> = runs
        .iter()
        .map(|r| {
            [
                r.run_id.clone(),
                r.integration.clone(),
                r.report.name.clone(),
                r.object.clone(),
                utc(&r.started_at),
                r.duration_ms.map_or_else(|| "-".to_owned(), duration),
                format!(
                    "{}{}",
                    r.status.as_str(),
                    if r.dry_run { " (dry run)" } else { "" }
                ),
                r.counts.updated.to_string(),
                r.counts.failed.to_string(),
            ]
            .map(|cell| sanitize(&cell).replace(['\n', '\t'], " "))
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push = |cells: &[&str]| {
        let mut line = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            // Counts align right, text left.
            if i >= 7 {
                let _ = write!(line, "{cell:>w$}  ");
            } else if i == 6 && color && cell != &"STATUS" {
                // Status in colour on a terminal; padded outside the escape codes so the
                // columns stay aligned.
                let code = if cell.starts_with("completed_with_errors") {
                    "33"
                } else if cell.starts_with("completed") {
                    "32"
                } else {
                    "31"
                };
                let pad = " ".repeat(w.saturating_sub(cell.chars().count()));
                let _ = write!(line, "\x1b[{code}m{cell}\x1b[0m{pad}  ");
            } else {
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push(&header);
    for row in &rows {
        push(&row.each_ref().map(String::as_str));
    }
    out
}

/// RFC 3339 as `2026-12-01 19:47:16`; anything else as it is.
fn utc(text: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(text).map_or_else(
        |_| text.to_owned(),
        |t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        },
    )
}

/// `0.4s`, `12.0s`, `1m 04s`, `2h 03m`.
fn duration(ms: u64) -> String {
    let secs = ms / 1000;
    if secs < 60 {
        format!("{secs}.{}s", (ms % 1000) / 100)
    } else if secs < 3600 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(duration(0), "0.0s");
        assert_eq!(duration(432), "0.4s");
        assert_eq!(duration(12_050), "12.0s");
        assert_eq!(duration(64_000), "1m 04s");
        assert_eq!(duration(3_599_999), "59m 59s");
        assert_eq!(duration(7_380_000), "2h 03m");
    }

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(utc("2026-12-01T19:47:16.123Z"), "2026-12-01 19:47:16");
        assert_eq!(utc("2026-12-01T21:47:16+02:00"), "2026-12-01 19:47:16");
        assert_eq!(utc("garbage"), "garbage");
    }
}
