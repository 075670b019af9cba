//! The one integration-test binary: each module drives the real `walkme-sf` binary.

mod accounts;
mod auth;
mod client;
mod describe;
mod logs;
mod readme;
mod run;
mod secrets;
mod sf;
mod support;
mod validate;
mod validate_headers;
mod validate_online;
