//! The Salesforce API client: session, describe, query, collections, bulk, limits, errors.

pub mod describe;
