//! walkme-sf: push WalkMe Insights report metrics into Salesforce records.
//!
//! The pipeline is config → report → match → plan → write → run log; see `ARCHITECTURE.md`.

pub mod auth;
pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod error;
pub mod fields;
pub mod output;
pub mod report;
pub mod runlog;
pub mod salesforce;
pub mod sync;

use clap::Parser as _;

/// Entry point of the binary: parse, run, print any error once, return the SPEC §7 code.
#[must_use]
pub fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let printer = output::Printer::new(cli.color, false, cli.verbose);
    let color = printer.color_stderr;
    let ctx = context::Context {
        config_path: cli.config.clone(),
        printer,
    };
    match commands::run(cli.command, &ctx) {
        Ok(status) => status.into(),
        Err(error) => {
            error::report(&error, color);
            error::status_of(&error).into()
        }
    }
}
