//! Configuration: the TOML schema (serde, spans), the rules of SPEC §4, and diagnostics that
//! point at the file.

pub mod model;

pub use model::*;
