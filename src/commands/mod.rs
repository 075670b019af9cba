//! One module per subcommand: each reads its arguments, calls domain modules and prints.

pub mod accounts;
pub mod completions;
pub mod connect;
pub mod describe;
pub mod fields;
pub mod init;
pub mod login;
pub mod logout;
pub mod logs;
pub mod revert;
pub mod run;
pub mod validate;
mod validate_online;

use crate::cli::Command;
use crate::context::Context;
use crate::error::ExitStatus;

/// Run the chosen subcommand.
pub fn run(command: Command, ctx: &Context) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Validate(args) => validate::run(&args, ctx),
        Command::Run(args) => run::run(&args, ctx),
        Command::Login(args) => login::run(&args, ctx),
        Command::Logout(args) => logout::run(&args, ctx),
        Command::Accounts(args) => accounts::run(&args, ctx),
        Command::Describe(args) => describe::run(&args, ctx),
        Command::Logs(args) => logs::run(&args, ctx),
        Command::Fields(args) => fields::run(&args, ctx),
        Command::Completions(args) => completions::completions(&args, ctx),
        Command::Man(args) => completions::man(&args, ctx),
        Command::Init(args) => init::run(&args, ctx),
        Command::Revert(args) => revert::run(&args, ctx),
    }
}

/// Load the config for a command that acts on it: any problem is a usage error (exit 2), with
/// every problem printed as `validate` prints it.
pub fn load_config(ctx: &Context) -> anyhow::Result<crate::config::Config> {
    match crate::config::load(&ctx.config_path) {
        Ok(config) => Ok(config),
        Err(crate::config::LoadError::Invalid { path, problems }) => {
            for p in &problems {
                eprint!("{}", p.render(ctx.printer.color_stderr));
                eprintln!();
            }
            Err(crate::error::Fail::usage(format!(
                "{} has {} problem{}; nothing was done",
                path.display(),
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            ))
            .hint("fix them, then check with `walkme-sf validate`")
            .into())
        }
        Err(e) => Err(crate::error::Fail::usage(e.to_string())
            .hint("pass --config PATH, set $WALKME_SF_CONFIG, or start from integrations.example.toml")
            .into()),
    }
}
