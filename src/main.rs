//! The `walkme-sf` binary: parse the command line, run, exit with the SPEC §7 code.

use std::process::ExitCode;

fn main() -> ExitCode {
    walkme_sf::main()
}
