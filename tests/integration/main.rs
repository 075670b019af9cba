//! The one integration-test binary: each module drives the real `walkme-sf` binary.

mod logs;
mod readme;
mod run;
mod support;
mod validate;
