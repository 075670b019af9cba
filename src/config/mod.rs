//! Configuration: the TOML schema (serde, spans), the rules of SPEC §4, and diagnostics that
//! point at the file.

pub mod diagnostic;
pub mod headers;
pub mod load;
pub mod model;
pub mod schema;

pub use diagnostic::{Problem, Source};
pub use load::{LoadError, check, load, problem_at, problem_in, url_allowed};
pub use model::*;
