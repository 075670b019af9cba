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

    /// Show each Salesforce API request (method, path, status, time) and each retry of one on
    /// stderr, instead of progress bars.
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
  walkme-sf validate --json           machine-readable, for CI
  walkme-sf validate --online         also check fields and report values against the orgs")]
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

    /// Log in to an environment's org and keep the login in the OS keyring (or a file).
    #[command(after_help = "\
Examples:
  walkme-sf login --env sandbox                   browser login (PKCE), stored in the OS keyring
  walkme-sf login --env sandbox --device          print a code to enter on another device
  walkme-sf login --env sandbox --store file      keep the login in an owner-only file
  walkme-sf login --env production --jwt          prove the JWT bearer settings work")]
    Login(LoginArgs),

    /// Revoke an environment's stored login and delete it.
    #[command(after_help = "\
Examples:
  walkme-sf logout --env sandbox")]
    Logout(LogoutArgs),

    /// Every environment of the config and whether it is logged in.
    #[command(after_help = "\
Examples:
  walkme-sf accounts                 what is stored, offline
  walkme-sf accounts --check         prove each login works; show the API requests left today
  walkme-sf accounts --json          machine-readable")]
    Accounts(AccountsArgs),

    /// An object's fields: type, length, whether they can be written or used as a key.
    #[command(after_help = "\
Examples:
  walkme-sf describe --env sandbox Lead
  walkme-sf describe --env sandbox Contact --json")]
    Describe(DescribeArgs),

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

    /// How many runs to show (at least 1).
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,

    /// Print the runs' run.json as one JSON array.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// One run in full: its fields, then its log.
    #[command(after_help = "\
Examples:
  walkme-sf logs show 20261201T194716123Z-1a2b          the run's fields, then log.txt
  walkme-sf logs show 20261201T194716123Z-1a2b --json   its run.json")]
    Show {
        /// The run id (the first column of `walkme-sf logs`).
        run_id: String,

        /// Print the run's run.json.
        #[arg(long)]
        json: bool,
    },
}

/// `login`'s flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
#[group(multiple = false)]
#[allow(clippy::struct_excessive_bools)] // mutually exclusive switches of one choice
pub struct FlowArgs {
    /// Browser login: authorization code with PKCE and a loopback redirect (the default).
    #[arg(long)]
    pub web: bool,
    /// Salesforce's device flow: enter a code on another device.
    #[arg(long)]
    pub device: bool,
    /// JWT bearer flow (`username` and `jwt_key_file` in the environment); stores nothing.
    #[arg(long)]
    pub jwt: bool,
    /// Client credentials flow (`$WALKME_SF_CLIENT_SECRET`); stores nothing.
    #[arg(long)]
    pub client_credentials: bool,
}

/// Where `login` keeps the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum StoreChoice {
    /// The OS keyring (Secret Service, Keychain, Credential Manager).
    #[default]
    Keyring,
    /// An owner-only file under `$XDG_CONFIG_HOME/walkme-sf/credentials/`.
    File,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The environment to log in to.
    #[arg(long, value_name = "NAME")]
    pub env: String,

    #[command(flatten)]
    pub flow: FlowArgs,

    /// Where to keep the login (browser and device flows).
    #[arg(long, value_enum, conflicts_with_all = ["jwt", "client_credentials"])]
    pub store: Option<StoreChoice>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The environment to log out of.
    #[arg(long, value_name = "NAME")]
    pub env: String,
}

#[derive(Debug, Args)]
pub struct AccountsArgs {
    /// Prove each login works and show the remaining daily API requests.
    #[arg(long)]
    pub check: bool,

    /// Print one JSON array.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The environment whose org to ask.
    #[arg(long, value_name = "NAME")]
    pub env: String,

    /// The object's API name (`Lead`, `Contact`, `WalkMe_Course_Progress__c`).
    pub object: String,

    /// Print the fields as JSON.
    #[arg(long)]
    pub json: bool,
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

    /// Also check against each org: fields exist and can be written, the key can be queried,
    /// and the reports' values convert to the fields' types.
    #[arg(long)]
    pub online: bool,
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
