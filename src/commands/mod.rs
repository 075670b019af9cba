//! One module per subcommand: each reads its arguments, calls domain modules and prints.

pub mod validate;

use crate::cli::Command;
use crate::context::Context;
use crate::error::ExitStatus;

/// Run the chosen subcommand.
pub fn run(command: Command, ctx: &Context) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Validate(args) => validate::run(&args, ctx),
    }
}
