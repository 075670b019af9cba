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

    /// Sync integrations: match report rows to records and write what changed.
    #[command(after_help = "\
Examples:
  walkme-sf run lead-logins                    one integration
  walkme-sf run --all                          every integration, one after another
  walkme-sf run lead-logins --dry-run          show what would change, write nothing
  walkme-sf run lead-logins --env production   promote from sandbox to production
  walkme-sf run lead-logins --only ann@acme.com  just one key, for debugging")]
    Run(RunArgs),

    /// The custom fields an integration needs: the e-mail to the Salesforce admin, or metadata.
    #[command(after_help = "\
Examples:
  walkme-sf fields lead-logins                       the e-mail to the Salesforce admin
  walkme-sf fields lead-logins --env sandbox         only the fields the sandbox lacks
  walkme-sf fields lead-logins --metadata sf-fields  a folder for `sf project deploy start`
  walkme-sf fields lead-logins --json                machine-readable")]
    Fields(FieldsArgs),

    /// Print a shell completion script.
    #[command(after_help = "\
Examples:
  walkme-sf completions bash > ~/.local/share/bash-completion/completions/walkme-sf
  walkme-sf completions zsh > ~/.zfunc/_walkme-sf      # with fpath+=~/.zfunc in ~/.zshrc
  walkme-sf completions fish > ~/.config/fish/completions/walkme-sf.fish
  walkme-sf completions powershell >> $PROFILE")]
    Completions(CompletionsArgs),

    /// Print the man page (roff), or write one per command into a folder.
    #[command(after_help = "\
Examples:
  walkme-sf man | man -l -                 read it now
  walkme-sf man --dir ~/.local/share/man/man1  install walkme-sf.1 and walkme-sf-run.1, …")]
    Man(ManArgs),

    /// Add an integration to the config: interactively, or entirely from flags.
    #[command(after_help = "\
Examples:
  walkme-sf init                                       the wizard (on a terminal)
  walkme-sf init --name lead-logins --object Lead \\
      --report 'reports/logins-review-*.csv' --report-name 'Logins Review' \\
      --key 'User ID=Email' --map 'First Login' --map 'Last Login=WalkMe_Last_Login__c'
  walkme-sf init ... --dry-run                         print the TOML, write nothing")]
    Init(InitArgs),
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
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Only these integrations (default: all).
    pub integrations: Vec<String>,

    /// Print one JSON document: `{"ok": bool, "problems": [...]}`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FieldsArgs {
    /// The integration whose fields to list.
    pub integration: String,

    /// Also write a Salesforce DX project creating the fields (and a permission set) here.
    #[arg(long, value_name = "DIR")]
    pub metadata: Option<std::path::PathBuf>,

    /// List only the fields this environment's org lacks (needs a login).
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,

    /// Print one JSON document (schema_version 1) instead of the e-mail.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `walkme-sf.1` and a page per command into this folder instead of printing.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The integration's name (letters, digits, `-`, `_`).
    #[arg(long)]
    pub name: Option<String>,

    /// The environment to write to [default: sandbox].
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,

    /// The Salesforce object's API name (Lead, Contact, WalkMe_Course_Progress__c…).
    #[arg(long)]
    pub object: Option<String>,

    /// The report CSV: a path or glob (the newest match is used).
    #[arg(long, value_name = "PATH")]
    pub report: Option<String>,

    /// The report's name in run logs [default: from the file name].
    #[arg(long, value_name = "NAME")]
    pub report_name: Option<String>,

    /// The key pair: report column = Salesforce field, e.g. "User ID=Email".
    #[arg(long, value_name = "REPORT=SF")]
    pub key: Option<String>,

    /// A mapping: report column = Salesforce field (repeat); a column alone gets WalkMe_<Column>__c.
    #[arg(long, value_name = "REPORT=SF")]
    pub map: Vec<String>,

    /// Never prompt, even on a terminal: every required flag must be given.
    #[arg(long)]
    pub no_input: bool,

    /// Print the TOML that would be appended; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}
