//! The one integration-test binary: each module drives the real `walkme-sf` binary.

mod auth;
mod readme;
mod sf;
mod support;
mod validate;
