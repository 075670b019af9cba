//! Authentication: the OAuth flows of SPEC §2–§3, credential stores, the session a command
//! runs with, and the [`Secret`] type every token travels in.
//!
//! Used by `salesforce`'s client (through [`session::Session`]) and by the login, logout and
//! accounts commands. Never prints a secret.

pub mod flows;
pub mod http;
pub mod secret;
pub mod session;
pub mod store;
pub mod token;

pub use secret::Secret;
pub use session::{EnvVars, Session, Source, Stores, resolve};
pub use store::{CredentialStore, FileStore, KeyringStore, StoreError, StoreKind, StoredLogin};
pub use token::{AuthError, TokenResponse};
