//! Reading a config file: TOML syntax, unknown keys, types, then every rule of SPEC §4. All
//! problems are collected, never just the first; only a file without problems becomes a
//! [`Config`].

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::diagnostic::{Problem, Source, did_you_mean};
use super::model::{
    Config, ConvertedLeads, DEFAULT_API_VERSION, DEFAULT_REDIRECT_PORT, EmptyCells, EnvKind,
    Environment, Flow, Integration, KeyPair, Loc, Mapping, MaxChanges, OnDuplicateKey,
    OnMultipleMatches, Options, ReportLocation, ReportSource, WriteApi,
};
use super::schema::{
    ENVIRONMENT_KEYS, INTEGRATION_KEYS, KEY_KEYS, MAPPING_KEYS, REPORT_KEYS, ROOT_KEYS,
    RawEnvironment, RawIntegration, RawMapping,
};

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} has {} problem{}", path.display(), problems.len(), if problems.len() == 1 { "" } else { "s" })]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

/// Load and validate a config file.
pub fn load(path: &Path) -> Result<Config, LoadError> {
    let (config, problems) = check(path)?;
    match config {
        Some(config) if problems.is_empty() => Ok(config),
        _ => Err(LoadError::Invalid {
            path: path.to_path_buf(),
            problems,
        }),
    }
}

/// Check a config file: every problem found, and the config as far as it could be read (the
/// integrations that passed; none when the file is not TOML). The file is valid only when there
/// is no problem: a run needs the whole file valid.
pub fn check(path: &Path) -> Result<(Option<Config>, Vec<Problem>), LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let source = Source {
                path: path.to_path_buf(),
                text,
            };
            let problem = Problem::at(&source, valid..valid + 1, "the config file is not UTF-8")
                .hint("save the file as UTF-8");
            return Ok((None, vec![problem]));
        }
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let source = Source {
        path: path.to_path_buf(),
        text,
    };
    let mut checker = Checker {
        source: &source,
        problems: Vec::new(),
        dir,
    };
    let config = checker.document();
    let mut problems = checker.problems;
    problems.sort_by_key(|p| (p.line.unwrap_or(usize::MAX), p.column.unwrap_or(0)));
    Ok((config, problems))
}

struct Checker<'s> {
    source: &'s Source,
    problems: Vec<Problem>,
    dir: PathBuf,
}

type Table<'i> = DeTable<'i>;

impl Checker<'_> {
    fn problem(&mut self, span: Range<usize>, message: impl Into<String>) -> &mut Problem {
        self.problems.push(Problem::at(self.source, span, message));
        self.problems.last_mut().expect("just pushed")
    }

    fn loc(&self, span: Range<usize>) -> Loc {
        self.source.loc(span)
    }

    fn document(&mut self) -> Option<Config> {
        let text = self.source.text.as_str();
        let (root, errors) = DeTable::parse_recoverable(text);
        if !errors.is_empty() {
            for e in errors {
                let span = e.span().unwrap_or(0..0);
                let message = format!("invalid TOML: {}", e.message().trim_end());
                self.problem(span, message);
            }
            return None;
        }
        let mut root = root.into_inner();
        self.strip_unknown(&mut root, ROOT_KEYS, "at the top level", None);

        let mut environments = builtin_environments();
        let mut env_ok = true;
        if let Some(value) = take(&mut root, "environments") {
            for (name, value) in self.sub_tables(value, "environments") {
                match self.environment(&name, value) {
                    Some(env) => {
                        environments.insert(env.name.clone(), env);
                    }
                    None => env_ok = false,
                }
            }
        }

        let mut integrations = BTreeMap::new();
        let mut ints_ok = true;
        if let Some(value) = take(&mut root, "integrations") {
            let tables = self.sub_tables(value, "integrations");
            for (name, value) in tables {
                match self.integration(&name, value, &environments) {
                    Some(i) => {
                        integrations.insert(i.name.clone(), i);
                    }
                    None => ints_ok = false,
                }
            }
        } else {
            let problem = Problem::general(&self.source.path, "the config defines no integration")
                .hint("add an `[integrations.NAME]` table; see integrations.example.toml");
            self.problems.push(problem);
        }
        if env_ok && ints_ok {
            self.cross_integration_rules(&integrations);
        }
        // The integrations that passed, also when others did not: `validate` still checks
        // their reports' headers.
        Some(Config {
            path: self.source.path.clone(),
            dir: self.dir.clone(),
            environments,
            integrations,
        })
    }

    /// Report and remove keys a table does not know, each with a suggestion.
    fn strip_unknown(
        &mut self,
        table: &mut Table<'_>,
        allowed: &[&str],
        place: &str,
        integration: Option<&str>,
    ) {
        let unknown: Vec<(String, Range<usize>)> = table
            .iter()
            .filter(|(k, _)| !allowed.contains(&k.get_ref().as_ref()))
            .map(|(k, _)| (k.get_ref().to_string(), k.span()))
            .collect();
        for (key, span) in unknown {
            let hint = if key == "client_secret" {
                Some(
                    "a client secret is never read from the config file: set $WALKME_SF_CLIENT_SECRET"
                        .to_owned(),
                )
            } else {
                did_you_mean(&key, allowed.iter().copied())
                    .or_else(|| Some(format!("known keys here: {}", allowed.join(", "))))
            };
            let p = self.problem(span, format!("unknown key `{key}` {place}"));
            p.hint = hint;
            if let Some(name) = integration {
                p.integration = Some(name.to_owned());
            }
            take(table, &key);
        }
    }

    /// The `NAME = { … }` tables under `[environments]` or `[integrations]`.
    fn sub_tables<'i>(
        &mut self,
        value: Spanned<DeValue<'i>>,
        what: &str,
    ) -> Vec<(Spanned<String>, Spanned<DeValue<'i>>)> {
        let span = value.span();
        match value.into_inner() {
            DeValue::Table(table) => table
                .into_iter()
                .filter_map(|(k, v)| {
                    let key = Spanned::new(k.span(), k.get_ref().to_string());
                    if v.get_ref().is_table() {
                        Some((key, v))
                    } else {
                        let found = v.get_ref().type_str();
                        self.problem(
                            v.span(),
                            format!("`{what}.{}` must be a table, found {found}", key.get_ref()),
                        )
                        .hint = Some(format!(
                            "write it as `[{what}.{}]` followed by its keys",
                            key.get_ref()
                        ));
                        None
                    }
                })
                .collect(),
            other => {
                let found = other.type_str();
                self.problem(span, format!("`{what}` must be a table, found {found}"));
                Vec::new()
            }
        }
    }

    fn check_name(&mut self, name: &Spanned<String>, what: &str) -> bool {
        let n = name.get_ref();
        let ok = !n.is_empty()
            && !n.starts_with('.')
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            self.problem(name.span(), format!("invalid {what} name `{n}`")).hint = Some(
                "use letters, digits, `-`, `_` and `.` (it names run-log folders and keyring entries)"
                    .to_owned(),
            );
        }
        ok
    }

    fn deserialize<T: for<'de> Deserialize<'de>>(
        &mut self,
        value: Spanned<DeValue<'_>>,
        place: &str,
        integration: Option<&str>,
    ) -> Option<T> {
        let span = value.span();
        match T::deserialize(ValueDeserializer::from(value)) {
            Ok(v) => Some(v),
            Err(e) => {
                let at = e.span().unwrap_or(span);
                let message = format!("{place}: {}", friendly(e.message().trim_end()));
                let p = self.problem(at, message);
                p.integration = integration.map(str::to_owned);
                None
            }
        }
    }

    fn environment(
        &mut self,
        name: &Spanned<String>,
        value: Spanned<DeValue<'_>>,
    ) -> Option<Environment> {
        let name_ok = self.check_name(name, "environment");
        let env_name = name.get_ref().clone();
        let mut value = value;
        if let DeValue::Table(t) = value.get_mut() {
            self.strip_unknown(
                t,
                ENVIRONMENT_KEYS,
                &format!("in environment `{env_name}`"),
                None,
            );
        }
        let raw: RawEnvironment =
            self.deserialize(value, &format!("environment `{env_name}`"), None)?;
        let before = self.problems.len();

        let builtin = match env_name.as_str() {
            "sandbox" => Some(EnvKind::Sandbox),
            "production" => Some(EnvKind::Production),
            _ => None,
        };
        let kind = match (&raw.kind, builtin) {
            (Some(k), _) => match k.get_ref().as_str() {
                "sandbox" => Some(EnvKind::Sandbox),
                "production" => Some(EnvKind::Production),
                other => {
                    self.problem(
                        k.span(),
                        format!("invalid kind `{other}` for environment `{env_name}`"),
                    )
                    .hint = Some("use `sandbox` or `production`".to_owned());
                    None
                }
            },
            (None, Some(k)) => Some(k),
            (None, None) => {
                self.problem(
                    name.span(),
                    format!("environment `{env_name}` has no `kind`"),
                )
                .hint = Some("add `kind = \"sandbox\"` or `kind = \"production\"`".to_owned());
                None
            }
        };
        if let (Some(k), Some(b), Some(raw_kind)) = (kind, builtin, &raw.kind)
            && k != b
        {
            self.problem(
                raw_kind.span(),
                format!(
                    "the built-in environment `{env_name}` cannot be of kind `{}`",
                    k.as_str()
                ),
            )
            .hint = Some("define a new environment name for an org of the other kind".to_owned());
        }
        let login_url = match &raw.login_url {
            Some(u) => self
                .url(u, "login_url")
                .map(|u| u.trim_end_matches('/').to_owned()),
            None => kind.map(|k| k.default_login_url().to_owned()),
        };
        if let Some(id) = &raw.client_id
            && id.get_ref().trim().is_empty()
        {
            self.problem(id.span(), "`client_id` is empty").hint =
                    Some("set the External Client App's consumer key, or remove the key and use $WALKME_SF_CLIENT_ID".to_owned());
        }
        let api_version = match &raw.api_version {
            Some(v) => self.api_version(v),
            None => Some(DEFAULT_API_VERSION.to_owned()),
        };
        let redirect_port = match &raw.redirect_port {
            Some(p) => match u16::try_from(*p.get_ref()) {
                Ok(port) if port > 0 => Some(port),
                _ => {
                    self.problem(
                        p.span(),
                        format!("`redirect_port` {} is not a TCP port", p.get_ref()),
                    )
                    .hint = Some(
                        "use a port from 1 to 65535, as registered in the app's callback URL"
                            .to_owned(),
                    );
                    None
                }
            },
            None => Some(DEFAULT_REDIRECT_PORT),
        };
        match (&raw.username, &raw.jwt_key_file) {
            (Some(u), None) => {
                self.problem(u.span(), "`username` is set without `jwt_key_file`")
                    .hint =
                    Some("the JWT bearer flow needs both `username` and `jwt_key_file`".to_owned());
            }
            (None, Some(k)) => {
                self.problem(k.span(), "`jwt_key_file` is set without `username`")
                    .hint =
                    Some("the JWT bearer flow needs both `username` and `jwt_key_file`".to_owned());
            }
            _ => {}
        }
        for (s, what) in [
            (&raw.username, "username"),
            (&raw.jwt_key_file, "jwt_key_file"),
        ] {
            if let Some(s) = s.as_ref().filter(|s| s.get_ref().trim().is_empty()) {
                self.problem(s.span(), format!("`{what}` is empty"));
            }
        }
        let flow = match &raw.flow {
            Some(f) if f.get_ref() == "client_credentials" => Some(Flow::ClientCredentials),
            Some(f) => {
                self.problem(f.span(), format!("invalid flow `{}`", f.get_ref())).hint = Some(
                    "the only flow set in the config is `client_credentials`; JWT is chosen by `username` + `jwt_key_file`, interactive logins by `walkme-sf login`".to_owned(),
                );
                None
            }
            None => None,
        };
        if let (Some(f), Some(_)) = (&raw.flow, &raw.jwt_key_file) {
            self.problem(
                f.span(),
                "both `flow = \"client_credentials\"` and the JWT settings are set",
            )
            .hint = Some("choose one unattended flow".to_owned());
        }
        if !name_ok || self.problems.len() > before {
            return None;
        }
        Some(Environment {
            name: env_name,
            kind: kind?,
            login_url: login_url?,
            client_id: raw.client_id.map(Spanned::into_inner),
            api_version: api_version?,
            redirect_port: redirect_port?,
            username: raw.username.map(Spanned::into_inner),
            jwt_key_file: raw.jwt_key_file.map(|k| self.dir.join(k.get_ref())),
            flow,
            loc: Some(self.loc(name.span())),
        })
    }

    /// An `https://` URL, or `http://` on a loopback host (SPEC §3).
    fn url(&mut self, value: &Spanned<String>, what: &str) -> Option<String> {
        let text = value.get_ref().trim();
        match url::Url::parse(text) {
            Ok(u) if u.scheme() == "https" && u.host().is_some() => Some(text.to_owned()),
            Ok(u) if u.scheme() == "http" && is_loopback(&u) => Some(text.to_owned()),
            Ok(u) if u.scheme() == "http" => {
                self.problem(value.span(), format!("`{what}` uses plain http:// off loopback: {}", crate::auth::http::shown_url(text)))
                    .hint = Some("use https:// (plain http is allowed only for localhost, 127.0.0.0/8 and [::1])".to_owned());
                None
            }
            Ok(u) => {
                self.problem(
                    value.span(),
                    format!("`{what}` must be an https:// URL, not {}:", u.scheme()),
                );
                None
            }
            Err(e) => {
                self.problem(value.span(), format!("`{what}` is not a URL: {e}"))
                    .hint =
                    Some("write the full URL, e.g. https://acme.my.salesforce.com".to_owned());
                None
            }
        }
    }

    fn api_version(&mut self, v: &Spanned<String>) -> Option<String> {
        let text = v.get_ref().trim().trim_start_matches(['v', 'V']);
        let parsed = text
            .split_once('.')
            .filter(|(_, minor)| *minor == "0")
            .and_then(|(major, _)| major.parse::<u32>().ok());
        match parsed {
            Some(major) if major >= 53 => Some(format!("{major}.0")),
            Some(_) => {
                self.problem(v.span(), format!("API version {} is too old", v.get_ref())).hint =
                    Some("walkme-sf needs API 53.0 or later (sf__Id in Bulk API 2.0 failed results); the default is 64.0".to_owned());
                None
            }
            None => {
                self.problem(v.span(), format!("invalid API version `{}`", v.get_ref()))
                    .hint = Some("write it like \"64.0\"".to_owned());
                None
            }
        }
    }

    fn integration(
        &mut self,
        name: &Spanned<String>,
        value: Spanned<DeValue<'_>>,
        environments: &BTreeMap<String, Environment>,
    ) -> Option<Integration> {
        let name_ok = self.check_name(name, "integration");
        let iname = name.get_ref().clone();
        let here = Some(iname.as_str());
        let mut value = value;
        let mut no_fields_span = None;
        if let DeValue::Table(t) = value.get_mut() {
            self.strip_unknown(
                t,
                INTEGRATION_KEYS,
                &format!("in integration `{iname}`"),
                here,
            );
            for (key, allowed) in [("report", REPORT_KEYS), ("key", KEY_KEYS)] {
                if let Some(DeValue::Table(sub)) = t.get_mut(key).map(Spanned::get_mut) {
                    self.strip_unknown(
                        sub,
                        allowed,
                        &format!("in `{key}` of integration `{iname}`"),
                        here,
                    );
                }
            }
            if let Some(DeValue::Array(arr)) = t.get_mut("fields").map(Spanned::get_mut) {
                for item in arr.iter_mut() {
                    if let DeValue::Table(sub) = item.get_mut() {
                        self.strip_unknown(
                            sub,
                            MAPPING_KEYS,
                            &format!("in a mapping of integration `{iname}`"),
                            here,
                        );
                    }
                }
            }
            if t.get("fields").is_none() {
                no_fields_span = Some(name.span());
            }
        }
        let raw: RawIntegration =
            self.deserialize(value, &format!("integration `{iname}`"), here)?;
        let before = self.problems.len();

        let env_name = raw.environment.get_ref().clone();
        if !environments.contains_key(&env_name) {
            let hint = did_you_mean(&env_name, environments.keys().map(String::as_str))
                .unwrap_or_else(|| {
                    format!(
                        "known environments: {}; define others under [environments.NAME]",
                        environments.keys().cloned().collect::<Vec<_>>().join(", ")
                    )
                });
            self.problem(
                raw.environment.span(),
                format!("unknown environment `{env_name}`"),
            )
            .hint = Some(hint);
        }
        self.api_name(&raw.object, "object");

        let report = &raw.report.get_ref();
        if report.name.get_ref().trim().is_empty() {
            self.problem(report.name.span(), "the report's `name` is empty")
                .hint = Some("name the Insights report, e.g. \"Logins Review\"".to_owned());
        }
        let location = match (&report.path, &report.url) {
            (Some(p), None) => {
                if p.get_ref().trim().is_empty() {
                    self.problem(p.span(), "the report's `path` is empty");
                    None
                } else {
                    Some(ReportLocation::Path(self.dir.join(p.get_ref())))
                }
            }
            (None, Some(u)) => self.url(u, "url").map(ReportLocation::Url),
            (Some(_), Some(u)) => {
                self.problem(u.span(), "the report has both `path` and `url`")
                    .hint = Some("keep one of them".to_owned());
                None
            }
            (None, None) => {
                self.problem(raw.report.span(), "the report has neither `path` nor `url`").hint =
                    Some("add `path = \"reports/….csv\"` (a glob picks the newest file) or `url = \"https://…\"`".to_owned());
                None
            }
        };

        let key = raw.key.get_ref();
        self.non_empty(&key.report, "the key's report column");
        self.api_name(&key.salesforce, "key field");

        if raw.fields.is_empty() {
            let span = no_fields_span.unwrap_or_else(|| name.span());
            self.problem(span, format!("integration `{iname}` maps no field"))
                .hint = Some(format!(
                "add at least one [[integrations.{iname}.fields]] table with `report` and `salesforce`"
            ));
        }
        let mut targets: HashMap<String, Range<usize>> = HashMap::new();
        for m in &raw.fields {
            let m: &RawMapping = m.get_ref();
            self.non_empty(&m.report, "the mapping's report column");
            self.api_name(&m.salesforce, "mapped field");
            let lower = m.salesforce.get_ref().to_lowercase();
            if lower == key.salesforce.get_ref().to_lowercase() {
                self.problem(
                    m.salesforce.span(),
                    format!(
                        "`{}` is the key field and cannot also be mapped",
                        m.salesforce.get_ref()
                    ),
                )
                .hint = Some("the key only finds records; it is never written".to_owned());
            }
            if let Some(first) = targets.get(&lower) {
                let first = self.loc(first.clone());
                self.problem(
                    m.salesforce.span(),
                    format!("`{}` is the target of two mappings", m.salesforce.get_ref()),
                )
                .hint = Some(format!(
                    "the first is at line {}; a field can be fed by one column only",
                    first.line
                ));
            } else {
                targets.insert(lower, m.salesforce.span());
            }
            if let Some(f) = &m.format {
                self.strftime(f);
            }
        }

        let options = self.options(&raw);
        for p in &mut self.problems[before..] {
            p.integration = Some(iname.clone());
        }
        if !name_ok || self.problems.len() > before {
            return None;
        }
        Some(Integration {
            name: iname,
            environment: env_name,
            object: raw.object.get_ref().clone(),
            object_loc: self.loc(raw.object.span()),
            report: ReportSource {
                name: report.name.get_ref().clone(),
                location: location?,
                loc: self.loc(raw.report.span()),
            },
            key: KeyPair {
                report: key.report.get_ref().clone(),
                salesforce: key.salesforce.get_ref().clone(),
                loc: self.loc(raw.key.span()),
                report_loc: self.loc(key.report.span()),
                salesforce_loc: self.loc(key.salesforce.span()),
            },
            fields: raw
                .fields
                .iter()
                .map(|m| {
                    let m = m.get_ref();
                    Mapping {
                        report: m.report.get_ref().clone(),
                        salesforce: m.salesforce.get_ref().clone(),
                        format: m.format.as_ref().map(|f| f.get_ref().clone()),
                        loc: self.loc(m.salesforce.span()),
                        report_loc: self.loc(m.report.span()),
                    }
                })
                .collect(),
            options: options?,
            loc: self.loc(name.span()),
        })
    }

    fn non_empty(&mut self, value: &Spanned<String>, what: &str) {
        if value.get_ref().trim().is_empty() {
            self.problem(value.span(), format!("{what} is empty"));
        }
    }

    /// Salesforce API names: letters, digits and underscores, starting with a letter.
    fn api_name(&mut self, value: &Spanned<String>, what: &str) {
        let n = value.get_ref();
        if n.trim().is_empty() {
            self.problem(value.span(), format!("the {what} is empty"));
            return;
        }
        let ok = n.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            self.problem(
                value.span(),
                format!("`{n}` is not a Salesforce API name ({what})"),
            )
            .hint =
                Some("use the API name (e.g. `WalkMe_Last_Login__c`), not the label".to_owned());
        }
    }

    fn strftime(&mut self, f: &Spanned<String>) {
        use chrono::format::{Item, StrftimeItems};
        let text = f.get_ref();
        let bad =
            text.trim().is_empty() || StrftimeItems::new(text).any(|i| matches!(i, Item::Error));
        let has_field =
            StrftimeItems::new(text).any(|i| matches!(i, Item::Numeric(..) | Item::Fixed(..)));
        if bad || !has_field {
            self.problem(f.span(), format!("invalid date format `{text}`"))
                .hint =
                Some("use strftime codes, e.g. \"%d.%m.%Y\" or \"%m/%d/%Y %H:%M\"".to_owned());
        }
    }

    fn options(&mut self, raw: &RawIntegration) -> Option<Options> {
        let mut ok = true;
        let mut pick = |this: &mut Self,
                        v: &Option<Spanned<String>>,
                        what: &str,
                        allowed: &[&str]|
         -> Option<usize> {
            let v = v.as_ref()?;
            let i = allowed.iter().position(|a| a == v.get_ref());
            if i.is_none() {
                ok = false;
                let hint = did_you_mean(v.get_ref(), allowed.iter().copied()).map_or_else(
                    || format!("use one of: {}", allowed.join(", ")),
                    |d| format!("{d} (one of: {})", allowed.join(", ")),
                );
                this.problem(
                    v.span(),
                    format!("invalid `{what}` value `{}`", v.get_ref()),
                )
                .hint = Some(hint);
            }
            i
        };
        let mut o = Options::default();
        if let Some(i) = pick(
            self,
            &raw.on_duplicate_key,
            "on_duplicate_key",
            &["reject", "first", "last"],
        ) {
            o.on_duplicate_key = [
                OnDuplicateKey::Reject,
                OnDuplicateKey::First,
                OnDuplicateKey::Last,
            ][i];
        }
        if let Some(i) = pick(
            self,
            &raw.on_multiple_matches,
            "on_multiple_matches",
            &["update_all", "skip"],
        ) {
            o.on_multiple_matches = [OnMultipleMatches::UpdateAll, OnMultipleMatches::Skip][i];
        }
        if let Some(i) = pick(self, &raw.empty_cells, "empty_cells", &["skip", "clear"]) {
            o.empty_cells = [EmptyCells::Skip, EmptyCells::Clear][i];
        }
        if let Some(i) = pick(self, &raw.write_api, "write_api", &["auto", "rest", "bulk"]) {
            o.write_api = [WriteApi::Auto, WriteApi::Rest, WriteApi::Bulk][i];
        }
        if let Some(i) = pick(
            self,
            &raw.converted_leads,
            "converted_leads",
            &["skip", "include"],
        ) {
            o.converted_leads = [ConvertedLeads::Skip, ConvertedLeads::Include][i];
        }
        if let Some(v) = &raw.converted_leads
            && !raw.object.get_ref().eq_ignore_ascii_case("lead")
        {
            self.problem(
                v.span(),
                "`converted_leads` applies to the Lead object only",
            )
            .hint = Some(format!(
                "remove it: this integration writes to `{}`",
                raw.object.get_ref()
            ));
            ok = false;
        }
        o.key_case_sensitive = raw
            .key_case_sensitive
            .as_ref()
            .is_some_and(|v| *v.get_ref());
        if let Some(v) = &raw.max_changes {
            o.max_changes = self.max_changes(v);
            ok &= o.max_changes.is_some();
        }
        ok.then_some(o)
    }

    fn max_changes(&mut self, v: &Spanned<toml::Value>) -> Option<MaxChanges> {
        let hint = "write a record count (`max_changes = 500`) or a share of matched records (`max_changes = \"10%\"`)";
        match v.get_ref() {
            toml::Value::Integer(n) if *n >= 0 => Some(MaxChanges::Count(n.unsigned_abs())),
            toml::Value::String(s) => {
                let pct = s
                    .trim()
                    .strip_suffix('%')
                    .and_then(|n| n.trim().parse::<f64>().ok());
                match pct {
                    Some(p) if p > 0.0 && p <= 100.0 => Some(MaxChanges::Percent(p)),
                    _ => {
                        self.problem(v.span(), format!("invalid `max_changes` value \"{s}\""))
                            .hint =
                            Some(format!("{hint}; a share is more than 0% and at most 100%"));
                        None
                    }
                }
            }
            other => {
                self.problem(v.span(), format!("invalid `max_changes` value {other}"))
                    .hint = Some(hint.to_owned());
                None
            }
        }
    }

    /// Two integrations writing the same field of the same object in the same org would
    /// overwrite each other every morning.
    fn cross_integration_rules(&mut self, integrations: &BTreeMap<String, Integration>) {
        let mut seen: HashMap<(String, String, String), (String, Loc)> = HashMap::new();
        let mut ordered: Vec<&Integration> = integrations.values().collect();
        ordered.sort_by_key(|i| (i.loc.line, i.loc.column));
        for i in ordered {
            for m in &i.fields {
                let target = (
                    i.environment.clone(),
                    i.object.to_lowercase(),
                    m.salesforce.to_lowercase(),
                );
                if let Some((other, first)) = seen.get(&target) {
                    let problem = located(&self.source.path, m.loc, self.source)
                        .with_message(format!(
                            "`{}.{}` in `{}` is also written by integration `{other}`",
                            i.object, m.salesforce, i.environment
                        ))
                        .hint(format!(
                            "two integrations would overwrite each other's values; `{other}` maps it at line {}",
                            first.line
                        ))
                        .integration(&i.name);
                    self.problems.push(problem);
                } else {
                    seen.insert(target, (i.name.clone(), m.loc));
                }
            }
        }
    }
}

/// A problem at a place of a config file that validated (checks after loading: report
/// headers, the org's describe). Falls back to a problem without a place if the file changed.
#[must_use]
pub fn problem_at(path: &Path, loc: Loc, message: impl Into<String>) -> Problem {
    let message = message.into();
    match std::fs::read_to_string(path) {
        Ok(text) if loc.line > 0 && text.lines().count() >= loc.line => {
            let source = Source {
                path: path.to_path_buf(),
                text,
            };
            let mut p = located(path, loc, &source);
            p.message = message;
            p
        }
        _ => Problem::general(path, message),
    }
}

/// A problem at a line and column of the config's text, for checks made after loading (such
/// as `validate --online`, which only has the [`Loc`]s of the validated config).
pub fn problem_in(source: &Source, loc: Loc, message: impl Into<String>) -> Problem {
    located(&source.path, loc, source).with_message(message.into())
}

/// A problem at a known line and column (used after spans are gone).
fn located(path: &Path, loc: Loc, source: &Source) -> Problem {
    let offset = line_col_offset(&source.text, loc);
    if source.text[offset..].starts_with('{') {
        let line_end = source.text[offset..]
            .find('\n')
            .map_or(source.text.len(), |i| offset + i);
        let end = source.text[offset..line_end]
            .rfind('}')
            .map_or(line_end, |i| offset + i + 1);
        return Problem::at(source, offset..end, String::new()).with_file(path);
    }
    let end = source.text[offset..]
        .find(['"', '\n', ',', '}'])
        .map_or(offset, |i| {
            offset + i + usize::from(source.text[offset..].starts_with('"'))
        });
    let end = if source.text[offset..].starts_with('"') {
        source.text[offset + 1..]
            .find('"')
            .map_or(end, |i| offset + i + 2)
    } else {
        end
    };
    let mut p = Problem::at(source, offset..end.max(offset + 1), String::new());
    p.file = path.to_path_buf();
    p
}

fn line_col_offset(text: &str, loc: Loc) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(loc.line.saturating_sub(1))
        .map(str::len)
        .sum();
    let col: usize = text[line_start..]
        .chars()
        .take(loc.column.saturating_sub(1))
        .map(char::len_utf8)
        .sum();
    line_start + col
}

impl Problem {
    fn with_file(mut self, path: &Path) -> Self {
        self.file = path.to_path_buf();
        self
    }

    fn with_message(mut self, message: String) -> Self {
        self.message = message;
        self
    }
}

/// serde's type names in words a config author knows.
fn friendly(message: &str) -> String {
    message
        .replace("expected i64", "expected an integer")
        .replace("expected a sequence", "expected an array of tables")
        .replace("missing field", "missing key")
}

fn take<'i>(table: &mut Table<'i>, key: &str) -> Option<Spanned<DeValue<'i>>> {
    let found = table
        .iter()
        .position(|(k, _)| k.get_ref().as_ref() == key)?;
    let k = table.keys().nth(found)?.clone();
    table.remove(&k)
}

fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether a URL may be used without TLS: loopback hosts only (SPEC §3).
#[must_use]
pub fn url_allowed(text: &str) -> bool {
    url::Url::parse(text)
        .is_ok_and(|u| u.scheme() == "https" || (u.scheme() == "http" && is_loopback(&u)))
}

fn builtin_environments() -> BTreeMap<String, Environment> {
    [EnvKind::Sandbox, EnvKind::Production]
        .into_iter()
        .map(|kind| {
            let env = Environment {
                name: kind.as_str().to_owned(),
                kind,
                login_url: kind.default_login_url().to_owned(),
                client_id: None,
                api_version: DEFAULT_API_VERSION.to_owned(),
                redirect_port: DEFAULT_REDIRECT_PORT,
                username: None,
                jwt_key_file: None,
                flow: None,
                loc: None,
            };
            (env.name.clone(), env)
        })
        .collect()
}
