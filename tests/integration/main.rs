//! The one integration-test binary: each module drives the real `walkme-sf` binary.

mod accounts;
mod auth;
mod bad_input;
mod client;
mod completions;
mod describe;
mod faults;
mod fields;
mod init;
mod interrupt;
mod keys;
mod logs;
mod readme;
mod reliability;
mod report_url;
mod revert;
mod run;
mod schedule;
mod secrets;
mod security;
mod sf;
mod support;
mod validate;
mod validate_headers;
mod validate_online;
