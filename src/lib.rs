//! walkme-sf: push WalkMe Insights report metrics into Salesforce records.
//!
//! The pipeline is config → report → match → plan → write → run log; see `ARCHITECTURE.md`.

pub mod auth;
pub mod config;
pub mod error;
pub mod output;
pub mod salesforce;

/// Entry point of the binary.
#[must_use]
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
