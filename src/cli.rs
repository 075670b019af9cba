//! The command line (clap derive types only).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::ColorChoice;

const EXAMPLES: &str = "\
Examples:
  walkme-sf validate                      check integrations.toml
  walkme-sf --config acme.toml validate   check another file
  walkme-sf run --all                     sync every integration
  walkme-sf logs                          the run history";

/// Push WalkMe Insights report metrics into Salesforce records, declaratively.
#[derive(Debug, Parser)]
#[command(name = "walkme-sf", version, after_help = EXAMPLES, max_term_width = 100)]
pub struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        env = "WALKME_SF_CONFIG",
        default_value = "integrations.toml"
    )]
    pub config: PathBuf,

    /// More detail on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// When to use colour.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the configuration and the reports' headers; exit 0 or 2.
    #[command(after_help = "\
Examples:
  walkme-sf validate                  every integration, offline
  walkme-sf validate lead-logins      one integration
  walkme-sf validate --json           machine-readable, for CI")]
    Validate(ValidateArgs),

    /// Sync integrations: match report rows to records and write what changed.
    #[command(after_help = "\
Examples:
  walkme-sf run lead-logins                    one integration
  walkme-sf run --all                          every integration, one after another
  walkme-sf run lead-logins --dry-run          show what would change, write nothing
  walkme-sf run lead-logins --env production   promote from sandbox to production
  walkme-sf run lead-logins --only ann@acme.com  just one key, for debugging")]
    Run(RunArgs),

    /// The run history, newest first; `logs show RUN_ID` prints one run in full.
    #[command(
        args_conflicts_with_subcommands = true,
        after_help = "\
Examples:
  walkme-sf logs                          the last 20 runs of every integration
  walkme-sf logs lead-logins --limit 5    the last 5 runs of one integration
  walkme-sf logs --json                   run.json of each run, as one JSON array
  walkme-sf logs show 20261201T194716123Z-1a2b   one run: its fields, then its log"
    )]
    Logs(LogsArgs),

    /// Undo a run: write back the old values from its changes.csv where nobody changed them since.
    #[command(after_help = "\
Examples:
  walkme-sf revert 20261201T194716123Z-1a2b            write back what that run replaced
  walkme-sf revert 20261201T194716123Z-1a2b --dry-run  show what would be written back")]
    Revert(RevertArgs),
}

#[derive(Debug, Args)]
pub struct RevertArgs {
    /// The run to undo (the first column of `walkme-sf logs`).
    pub run_id: String,

    /// Check and record what would be written back, but write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Print the revert's run.json to stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(subcommand)]
    pub show: Option<LogsCommand>,

    /// Only the runs of this integration.
    pub integration: Option<String>,

    /// How many runs to show.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,

    /// Print the runs' run.json as one JSON array.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// One run in full: its fields, then its log.
    Show {
        /// The run id (the first column of `walkme-sf logs`).
        run_id: String,

        /// Print the run's run.json.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The integrations to run.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub integrations: Vec<String>,

    /// Run every integration of the config.
    #[arg(long)]
    pub all: bool,

    /// Read, match and diff, but write nothing to Salesforce.
    #[arg(long)]
    pub dry_run: bool,

    /// Write to this environment instead of the integration's.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,

    /// Only the rows with these keys.
    #[arg(long, value_name = "KEY", num_args = 1..)]
    pub only: Vec<String>,

    /// Print run.json to stdout.
    #[arg(long)]
    pub json: bool,

    /// Print only errors.
    #[arg(long, short)]
    pub quiet: bool,

    /// Wait for a running sync of the same integration instead of failing.
    #[arg(long)]
    pub wait: bool,

    /// Daily API requests to leave for other tools (default: 5% of the org's allowance); a
    /// plan that would dig into them stops before its first write.
    #[arg(long, value_name = "N")]
    pub api_reserve: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Only these integrations (default: all).
    pub integrations: Vec<String>,

    /// Print one JSON document: `{"ok": bool, "problems": [...]}`.
    #[arg(long)]
    pub json: bool,
}
