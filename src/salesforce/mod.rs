//! The Salesforce API client: session, describe, query, collections, bulk, limits, errors.
//!
//! One [`Client`] per session; the API version is pinned in one place
//! ([`Client::data_path`]). Authentication comes from [`crate::auth::session`].

pub mod bulk;
pub mod client;
pub mod collections;
pub mod csv_stream;
pub mod describe;
pub mod error;
pub mod limits;
pub mod query;
pub mod soql;

pub use client::{ApiStats, CallKind, Client, PollPolicy, RetryPolicy};
pub use error::SfError;

#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
mod tests;
