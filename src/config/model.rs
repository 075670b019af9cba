//! The validated configuration: what `config::load` returns once every rule of SPEC §4 holds.
//! Only validation constructs these types; downstream code trusts them.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// A place in the config file, for messages about a setting (`FILE:LINE:COLUMN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loc {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// The whole configuration file, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// The folder relative report paths resolve against.
    pub dir: PathBuf,
    /// Built-in `sandbox` and `production`, plus any the file names.
    pub environments: BTreeMap<String, Environment>,
    pub integrations: BTreeMap<String, Integration>,
}

/// `sandbox` or `production`: sets the default login URL and the JWT audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvKind {
    Sandbox,
    Production,
}

impl EnvKind {
    /// The standard login host of this kind.
    #[must_use]
    pub fn default_login_url(self) -> &'static str {
        match self {
            Self::Sandbox => "https://test.salesforce.com",
            Self::Production => "https://login.salesforce.com",
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Production => "production",
        }
    }
}

/// The unattended flow an environment is set to use by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    ClientCredentials,
}

/// The API version pinned when the config names none.
pub const DEFAULT_API_VERSION: &str = "64.0";
/// The loopback port of the browser login, as the Salesforce CLI registers it.
pub const DEFAULT_REDIRECT_PORT: u16 = 1717;

/// A Salesforce org to write to.
#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    pub kind: EnvKind,
    /// Login host without a trailing slash (`https://test.salesforce.com`, a My Domain, or a
    /// loopback `http://` URL for the emulator).
    pub login_url: String,
    /// The connected app's consumer key, when the config names it (else `$WALKME_SF_CLIENT_ID`).
    pub client_id: Option<String>,
    /// API version such as `64.0`.
    pub api_version: String,
    pub redirect_port: u16,
    /// JWT bearer: the user to act as.
    pub username: Option<String>,
    /// JWT bearer: the private key of the app's certificate.
    pub jwt_key_file: Option<PathBuf>,
    pub flow: Option<Flow>,
    /// Where the environment is defined (None for an untouched built-in).
    pub loc: Option<Loc>,
}

/// Where a report comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportLocation {
    /// A path or glob, already joined to the config file's folder when relative.
    Path(PathBuf),
    /// An `https://` URL (or loopback `http://`).
    Url(String),
}

/// The report an integration reads.
#[derive(Debug, Clone)]
pub struct ReportSource {
    /// The Insights report's name ("Logins Review").
    pub name: String,
    pub location: ReportLocation,
    pub loc: Loc,
}

/// Report column ↔ Salesforce field.
#[derive(Debug, Clone)]
pub struct KeyPair {
    pub report: String,
    pub salesforce: String,
    /// Where the `key = { … }` table is written.
    pub loc: Loc,
    /// Where its `report = …` is written.
    pub report_loc: Loc,
    /// Where its `salesforce = …` is written.
    pub salesforce_loc: Loc,
}

/// Report column → Salesforce field.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub report: String,
    pub salesforce: String,
    /// strftime format of dates/datetimes when the report does not write ISO 8601.
    pub format: Option<String>,
    /// Where `salesforce = …` is written.
    pub loc: Loc,
    /// Where `report = …` is written.
    pub report_loc: Loc,
}

/// `on_duplicate_key`: report rows sharing a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDuplicateKey {
    #[default]
    Reject,
    First,
    Last,
}

/// `on_multiple_matches`: one key matching several records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnMultipleMatches {
    #[default]
    UpdateAll,
    Skip,
}

/// `empty_cells`: what an empty report cell means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmptyCells {
    /// Leave the field as it is.
    #[default]
    Skip,
    /// Set the field to null.
    Clear,
}

/// `write_api`: how to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteApi {
    #[default]
    Auto,
    Rest,
    Bulk,
}

/// `max_changes`: the safety brake.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxChanges {
    Count(u64),
    /// Whole percent of matched records, 0–100 (rounded down when applied).
    Percent(f64),
}

impl MaxChanges {
    /// The number of records a plan may change, given how many records matched.
    #[must_use]
    pub fn limit(self, matched: u64) -> u64 {
        match self {
            Self::Count(n) => n,
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Self::Percent(p) => ((matched as f64) * p / 100.0).floor() as u64,
        }
    }
}

/// `converted_leads`: whether converted Leads take part in matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConvertedLeads {
    #[default]
    Skip,
    Include,
}

/// The per-integration options of SPEC §4, defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Options {
    pub on_duplicate_key: OnDuplicateKey,
    pub on_multiple_matches: OnMultipleMatches,
    pub empty_cells: EmptyCells,
    pub write_api: WriteApi,
    pub max_changes: Option<MaxChanges>,
    pub converted_leads: ConvertedLeads,
    pub key_case_sensitive: bool,
}

/// One integration: report → object, by a key, with mappings.
#[derive(Debug, Clone)]
pub struct Integration {
    pub name: String,
    pub environment: String,
    pub object: String,
    pub object_loc: Loc,
    pub report: ReportSource,
    pub key: KeyPair,
    pub fields: Vec<Mapping>,
    pub options: Options,
    pub loc: Loc,
}
