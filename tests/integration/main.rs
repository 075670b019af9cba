//! The one integration-test binary: each module drives the real `walkme-sf` binary.

mod accounts;
mod auth;
mod client;
mod completions;
mod describe;
mod fields;
mod init;
mod logs;
mod readme;
mod run;
mod schedule;
mod secrets;
mod sf;
mod support;
mod validate;
mod validate_headers;
mod validate_online;
