//! `walkme-sf completions SHELL` and `walkme-sf man`: generated from the clap definitions, so
//! they never drift from the real command line.

use anyhow::Result;
use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::context::Context;
use crate::error::ExitStatus;

const BIN: &str = "walkme-sf";

pub fn completions(args: &CompletionsArgs, ctx: &Context) -> Result<ExitStatus> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, BIN, &mut out);
    ctx.printer.data(&String::from_utf8_lossy(&out));
    Ok(ExitStatus::Success)
}

pub fn man(args: &ManArgs, ctx: &Context) -> Result<ExitStatus> {
    let command = Cli::command();
    match &args.dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(command).render(&mut out)?;
            ctx.printer.data(&String::from_utf8_lossy(&out));
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            // One page for the tool and one per subcommand (`walkme-sf-run.1`), as git does.
            clap_mangen::generate_to(command, dir)?;
            ctx.printer
                .status(&format!("wrote the man pages to {}", dir.display()));
        }
    }
    Ok(ExitStatus::Success)
}
