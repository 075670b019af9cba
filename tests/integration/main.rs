//! The one integration-test binary: each module drives the real `walkme-sf` binary.

mod bad_input;
mod client;
mod faults;
mod interrupt;
mod logs;
mod readme;
mod reliability;
mod revert;
mod run;
mod security;
mod support;
mod validate;
mod validate_headers;
