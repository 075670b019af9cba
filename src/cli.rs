//! The command line (clap derive types only).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::ColorChoice;

const EXAMPLES: &str = "\
Examples:
  walkme-sf validate                      check integrations.toml
  walkme-sf --config acme.toml validate   check another file";

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
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Only these integrations (default: all).
    pub integrations: Vec<String>,

    /// Print one JSON document: `{"ok": bool, "problems": [...]}`.
    #[arg(long)]
    pub json: bool,
}
