//! The TOML schema as written by users. Every field's doc comment is the config reference:
//! `README.md`'s "Configuration reference" is generated from these comments and a test fails
//! when the two drift apart (`tests/integration/readme.rs`).
//!
//! Option values are read as strings (not serde enums) so that a bad value gets a message listing
//! the allowed ones, with its position; `config::rules` turns these into the validated model.

use serde::Deserialize;
use toml::Spanned;

/// `[environments.NAME]`: a Salesforce org to write to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnvironment {
    /// `sandbox` or `production`: sets the default login URL and the JWT audience. Required for
    /// environments other than the built-in `sandbox` and `production`.
    pub kind: Option<Spanned<String>>,
    /// Login host, e.g. a My Domain `https://acme--uat.sandbox.my.salesforce.com`. Default:
    /// `https://test.salesforce.com` (sandbox) or `https://login.salesforce.com` (production).
    /// `http://` only for loopback hosts.
    pub login_url: Option<Spanned<String>>,
    /// Consumer key of the External Client App (or `$WALKME_SF_CLIENT_ID`).
    pub client_id: Option<Spanned<String>>,
    /// Pinned Salesforce API version, e.g. `"64.0"` (default `"64.0"`; at least `"53.0"`).
    pub api_version: Option<Spanned<String>>,
    /// Loopback port of the browser login's redirect `http://localhost:PORT/OauthRedirect`
    /// (default 1717; must match the callback URL registered in the app).
    pub redirect_port: Option<Spanned<i64>>,
    /// JWT bearer flow: the Salesforce username to act as (with `jwt_key_file`).
    pub username: Option<Spanned<String>>,
    /// JWT bearer flow: PEM private key of the app's certificate (relative to the config file).
    pub jwt_key_file: Option<Spanned<String>>,
    /// `"client_credentials"`: log in with the app's client credentials flow; the secret comes
    /// from `$WALKME_SF_CLIENT_SECRET` only.
    pub flow: Option<Spanned<String>>,
}

/// Keys of `[environments.NAME]`, for unknown-key checks with suggestions.
pub const ENVIRONMENT_KEYS: &[&str] = &[
    "kind",
    "login_url",
    "client_id",
    "api_version",
    "redirect_port",
    "username",
    "jwt_key_file",
    "flow",
];

/// `[integrations.NAME]`: one report synced into one Salesforce object.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIntegration {
    /// The environment to write to (`sandbox`, `production` or one defined above);
    /// `run --env` overrides it.
    pub environment: Spanned<String>,
    /// The Salesforce object's API name, e.g. `Lead`, `Contact`, `WalkMe_Course_Progress__c`.
    pub object: Spanned<String>,
    /// The Insights report: `{ name = "Logins Review", path = "reports/logins-*.csv" }` or
    /// `{ name = …, url = "https://…" }`.
    pub report: Spanned<RawReport>,
    /// The key pair: `{ report = "User ID", salesforce = "Email" }`.
    pub key: Spanned<RawKey>,
    /// The field mappings, one `[[integrations.NAME.fields]]` table each.
    #[serde(default)]
    pub fields: Vec<Spanned<RawMapping>>,
    /// Report rows sharing a key: `reject` (default) | `first` | `last`.
    pub on_duplicate_key: Option<Spanned<String>>,
    /// One key matching several records: `update_all` (default) | `skip`.
    pub on_multiple_matches: Option<Spanned<String>>,
    /// An empty report cell: `skip` (default, leave the field) | `clear` (set it to null).
    pub empty_cells: Option<Spanned<String>>,
    /// How to write: `auto` (default) | `rest` (sObject Collections) | `bulk` (Bulk API 2.0).
    pub write_api: Option<Spanned<String>>,
    /// Safety brake: a run whose plan changes more records writes nothing and fails; a count
    /// (`500`) or a share of matched records (`"10%"`). Unset by default.
    pub max_changes: Option<Spanned<toml::Value>>,
    /// Converted Leads: `skip` (default, left out of matching) | `include`.
    pub converted_leads: Option<Spanned<String>>,
    /// `false` (default): keys are trimmed and compared case-insensitively; `true`: trimmed only.
    pub key_case_sensitive: Option<Spanned<bool>>,
}

/// Keys of `[integrations.NAME]`.
pub const INTEGRATION_KEYS: &[&str] = &[
    "environment",
    "object",
    "report",
    "key",
    "fields",
    "on_duplicate_key",
    "on_multiple_matches",
    "empty_cells",
    "write_api",
    "max_changes",
    "converted_leads",
    "key_case_sensitive",
];

/// `report = { … }`: where the report comes from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReport {
    /// The Insights report's name, as shown in run logs.
    pub name: Spanned<String>,
    /// A CSV file or glob, relative to the config file; a glob picks the file modified last.
    pub path: Option<Spanned<String>>,
    /// An `https://` URL the CSV is downloaded from at run time.
    pub url: Option<Spanned<String>>,
}

/// Keys of `report`.
pub const REPORT_KEYS: &[&str] = &["name", "path", "url"];

/// `key = { … }`: how report rows find their records.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    /// The report column holding the key, e.g. `User ID`.
    pub report: Spanned<String>,
    /// The Salesforce field it matches, e.g. `Email`; it must be filterable and is never written.
    pub salesforce: Spanned<String>,
}

/// Keys of `key`.
pub const KEY_KEYS: &[&str] = &["report", "salesforce"];

/// `[[integrations.NAME.fields]]`: one report column written to one Salesforce field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMapping {
    /// The report column.
    pub report: Spanned<String>,
    /// The Salesforce field's API name (custom fields usually `WalkMe_…__c`).
    pub salesforce: Spanned<String>,
    /// How the report writes dates/datetimes when not ISO 8601, as a strftime format,
    /// e.g. `"%m/%d/%Y %H:%M"`.
    pub format: Option<Spanned<String>>,
}

/// Keys of a mapping.
pub const MAPPING_KEYS: &[&str] = &["report", "salesforce", "format"];

/// Top-level keys.
pub const ROOT_KEYS: &[&str] = &["environments", "integrations"];
