//! The one integration-test binary: each module drives the real `walkme-sf` binary.

mod client;
mod completions;
mod fields;
mod init;
mod readme;
mod schedule;
mod support;
mod validate;
mod validate_headers;
