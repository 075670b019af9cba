//! walkme-sf: push WalkMe Insights report metrics into Salesforce records.
//!
//! The pipeline is config → report → match → plan → write → run log; see `ARCHITECTURE.md`.

pub mod auth;
pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod csvtext;
pub mod error;
pub mod fields;
pub mod output;
pub mod report;
pub mod runlog;
pub mod salesforce;
mod swar;
pub mod sync;
#[cfg(test)]
mod testrng;
pub mod tuning;

use clap::Parser as _;

/// Entry point of the binary: parse, run, print any error once, return the SPEC §7 code.
#[must_use]
pub fn main() -> std::process::ExitCode {
    install_panic_hook();
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

/// A bug must not greet a cron mail with a stack dump (this machine sets `RUST_BACKTRACE=1`):
/// print one line that says what happened and how to report it; the backtrace only with
/// `WALKME_SF_BACKTRACE=1`.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: internal error in walkme-sf {}{place}: {}\nhint: this is a bug; please report it with the command you ran",
            env!("CARGO_PKG_VERSION"),
            output::sanitize(&message)
        );
        if std::env::var_os("WALKME_SF_BACKTRACE").is_some() {
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
        }
    }));
}
