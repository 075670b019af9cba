//! The checks of `validate --online` (SPEC §2): for each integration, the object's describe in
//! its org — the object and every field exist, mapped fields can be written, the key field can
//! be queried — and the report's values, each converted to its field's type as `run` would
//! convert it (picklist values and text lengths included). Every problem is located at the
//! setting it is about.

use std::collections::HashMap;
use std::fmt::Write as _;

use anyhow::Result;

use crate::auth::session::{EnvVars, Stores};
use crate::config::{
    Config, Integration, Loc, Problem, ReportLocation, Source, diagnostic::did_you_mean, problem_in,
};
use crate::output::Printer;
use crate::report::{ColumnError, ConvertError, Report, check_format, convert};
use crate::salesforce::client::Client;
use crate::salesforce::describe::{Field, FieldType, ObjectDescribe};

use super::connect;

/// How many bad cells each column lists; the rest are counted.
const SHOWN_PER_COLUMN: usize = 3;

/// Check `names` (every integration when empty) against their orgs. A login that is missing or
/// refused is an error of its own (exit 3), not a problem of the config.
/// The problems found online, and the first error that kept an environment from being checked
/// (a refused login): the other environments are still checked, so every problem is listed.
pub fn check(
    config: &Config,
    names: &[String],
    printer: &Printer,
) -> Result<(Vec<Problem>, Option<anyhow::Error>)> {
    let text = std::fs::read_to_string(&config.path)?;
    let source = Source {
        path: config.path.clone(),
        text,
    };
    let stores = connect::stores()?;
    let vars = EnvVars::from_process();
    let runtime = connect::runtime()?;
    let mut checker = Checker {
        source: &source,
        stores: &stores,
        vars: &vars,
        printer,
        clients: HashMap::new(),
        describes: HashMap::new(),
        problems: Vec::new(),
    };
    let mut deferred: Option<anyhow::Error> = None;
    let mut unreachable: Vec<String> = Vec::new();
    for integration in config.integrations.values() {
        if !names.is_empty() && !names.contains(&integration.name) {
            continue;
        }
        if unreachable.contains(&integration.environment) {
            continue;
        }
        let before = checker.problems.len();
        if let Err(e) = runtime.block_on(checker.integration(config, integration)) {
            unreachable.push(integration.environment.clone());
            deferred.get_or_insert(e);
        }
        for p in &mut checker.problems[before..] {
            p.integration = Some(integration.name.clone());
        }
    }
    let mut problems = checker.problems;
    problems.sort_by_key(|p| (p.line.unwrap_or(usize::MAX), p.column.unwrap_or(0)));
    Ok((problems, deferred))
}

struct Checker<'a> {
    source: &'a Source,
    stores: &'a Stores,
    vars: &'a EnvVars,
    printer: &'a Printer,
    clients: HashMap<String, Client>,
    /// By environment and lower-cased object; `None` when the org has no such object.
    describes: HashMap<(String, String), Option<ObjectDescribe>>,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn problem(&mut self, loc: Loc, message: impl Into<String>) -> &mut Problem {
        self.problems.push(problem_in(self.source, loc, message));
        self.problems.last_mut().expect("just pushed")
    }

    async fn describe(
        &mut self,
        config: &Config,
        env_name: &str,
        object: &str,
    ) -> Result<Option<ObjectDescribe>> {
        let cache_key = (env_name.to_owned(), object.to_lowercase());
        if let Some(d) = self.describes.get(&cache_key) {
            return Ok(d.clone());
        }
        if !self.clients.contains_key(env_name) {
            let env = connect::environment(config, env_name)?;
            let client = connect::client(env, self.vars, self.stores, self.printer).await?;
            self.clients.insert(env_name.to_owned(), client);
        }
        let client = &self.clients[env_name];
        let describe = match client.describe(object).await {
            Ok(d) => Some(d),
            Err(e) if matches!(e.error_code(), Some("NOT_FOUND" | "INVALID_TYPE")) => None,
            Err(e) => return Err(connect::describe_error(e, object, env_name)),
        };
        self.describes.insert(cache_key, describe.clone());
        Ok(describe)
    }

    async fn integration(&mut self, config: &Config, i: &Integration) -> Result<()> {
        let Some(describe) = self.describe(config, &i.environment, &i.object).await? else {
            self.problem(
                i.object_loc,
                format!(
                    "the object `{}` does not exist in `{}` (or its user cannot see it)",
                    i.object, i.environment
                ),
            )
            .hint = Some(
                "check the API name with `walkme-sf describe`; custom objects end in `__c`"
                    .to_owned(),
            );
            return Ok(());
        };
        let names = || describe.fields.iter().map(|f| f.name.as_str());
        let key = describe.field(&i.key.salesforce);
        match key {
            None => {
                let hint = did_you_mean(&i.key.salesforce, names());
                self.problem(
                    i.key.salesforce_loc,
                    format!(
                        "the key field `{}` does not exist on {}",
                        i.key.salesforce, describe.name
                    ),
                )
                .hint = hint;
            }
            Some(f) if !f.filterable => {
                self.problem(
                    i.key.salesforce_loc,
                    format!(
                        "the key field `{}` of {} cannot be used to find records (it is not \
                         filterable: {} fields cannot appear in a query's WHERE)",
                        f.name,
                        describe.name,
                        f.field_type.as_str()
                    ),
                )
                .hint = Some(
                    "choose a filterable field, such as Email or an External ID field".to_owned(),
                );
            }
            Some(f) if !crate::sync::key::supported(f) => {
                self.problem(
                    i.key.salesforce_loc,
                    format!(
                        "the key field `{}` of {} is a {} field; keys must be text, e-mail, \
                         phone, URL, picklist or Id fields",
                        f.name,
                        describe.name,
                        f.field_type.as_str()
                    ),
                )
                .hint = Some(
                    "match on a text External ID field (e.g. the WalkMe user id) or on Email"
                        .to_owned(),
                );
            }
            Some(_) => {}
        }
        // The fields whose values can be checked: (mapping index, field).
        let mut targets: Vec<(usize, &Field)> = Vec::new();
        for (index, m) in i.fields.iter().enumerate() {
            let Some(f) = describe.field(&m.salesforce) else {
                let hint = did_you_mean(&m.salesforce, names()).unwrap_or_else(|| {
                    if m.salesforce.to_ascii_lowercase().ends_with("__c") {
                        format!(
                            "ask the Salesforce admin to create it (`walkme-sf fields {}`)",
                            i.name
                        )
                    } else {
                        // `fields` lists custom fields only: a standard one cannot be created.
                        format!(
                            "a standard field's name: check it with `walkme-sf describe --env {} \
                             {}`; only custom fields (ending in `__c`) can be created",
                            i.environment, describe.name
                        )
                    }
                });
                self.problem(
                    m.loc,
                    format!(
                        "the field `{}` does not exist on {}",
                        m.salesforce, describe.name
                    ),
                )
                .hint = Some(hint);
                continue;
            };
            if f.calculated || !f.updateable {
                let why = if f.calculated {
                    "it is a formula field"
                } else {
                    "it is read-only for this user"
                };
                self.problem(
                    m.loc,
                    format!(
                        "the field `{}` of {} cannot be written: {why}",
                        f.name, describe.name
                    ),
                )
                .hint = Some("map the report column to a writable field".to_owned());
                continue;
            }
            if let Err(ConvertError::UnsupportedType(t)) = convert("0", f, None) {
                self.problem(
                    m.loc,
                    format!(
                        "the field `{}` has type {}, which a report value cannot be written to",
                        f.name,
                        t.as_str()
                    ),
                );
                continue;
            }
            if let Some(format) = &m.format
                && let Err(e) = check_format(format, f.field_type)
            {
                self.problem(m.loc, format!("`format` of `{}`: {e}", f.name));
                continue;
            }
            targets.push((index, f));
        }
        let key_target = key.filter(|f| f.filterable);
        self.values(i, key_target, &targets);
        Ok(())
    }

    fn column_problem(&mut self, loc: Loc, e: &ColumnError, path: &std::path::Path) {
        let file = path.display();
        match e {
            ColumnError::Missing {
                name,
                available,
                close,
            } => {
                let hint = if close.is_empty() {
                    format!("the report's columns: {}", available.join(", "))
                } else {
                    format!("did you mean {}?", close.join(", "))
                };
                self.problem(loc, format!("column {name:?} is not in the report {file}"))
                    .hint = Some(hint);
            }
            other => {
                self.problem(loc, format!("{file}: {other}"));
            }
        }
    }

    /// Convert every non-empty cell of the key and mapped columns, as `run` will.
    fn values(&mut self, i: &Integration, key: Option<&Field>, targets: &[(usize, &Field)]) {
        let path = match &i.report.location {
            ReportLocation::Path(pattern) => match crate::report::locate(pattern) {
                Ok(path) => path,
                Err(e) => {
                    self.printer.status(&format!(
                        "note: {}: the report's values were not checked: {e}",
                        i.name
                    ));
                    return;
                }
            },
            ReportLocation::Url(_) => {
                self.printer.status(&format!(
                    "note: {}: the report is downloaded at each run; its values were not checked",
                    i.name
                ));
                return;
            }
        };
        let report = match Report::open(&path) {
            Ok(r) => r,
            Err(e) => {
                let mut message = format!("{}: {e}", path.display());
                if let Some(source) = std::error::Error::source(&e) {
                    let _ = write!(message, ": {source}");
                }
                self.problem(i.report.loc, message);
                return;
            }
        };
        // (column index, field, where to report, what the column feeds, format)
        let mut columns: Vec<Column<'_>> = Vec::new();
        // The key column's values must be ones the key field can hold to match at all; a key
        // field of a type keys cannot have is reported above, not once more per value.
        if let Some(f) = key.filter(|f| f.filterable && crate::sync::key::supported(f)) {
            match report.columns().resolve(&i.key.report) {
                Ok(index) => {
                    let mut column = Column::new(index, f, i.key.report_loc, &i.key.report, None);
                    column.key = true;
                    columns.push(column);
                }
                Err(e) => self.column_problem(i.key.report_loc, &e, &path),
            }
        }
        for (mi, f) in targets {
            let m = &i.fields[*mi];
            match report.columns().resolve(&m.report) {
                Ok(index) => {
                    columns.push(Column::new(index, f, m.loc, &m.report, m.format.as_deref()));
                }
                Err(e) => self.column_problem(m.loc, &e, &path),
            }
        }
        if columns.is_empty() {
            return;
        }
        let mut report = report;
        for row in report.by_ref() {
            // Rows the reader rejects are rejected by `run` as well, with their reason.
            let Ok(row) = row else { continue };
            for c in &mut columns {
                let Some(cell) = row.cells.get(c.index) else {
                    continue;
                };
                if cell.trim().is_empty() {
                    continue;
                }
                c.checked += 1;
                if let Err(e) = convert(cell, c.field, c.format) {
                    c.bad += 1;
                    if c.shown.len() < SHOWN_PER_COLUMN {
                        c.shown.push((row.line, e));
                    }
                }
            }
        }
        if let Err(e) = report.finish() {
            self.problem(i.report.loc, format!("{}: {e}", path.display()));
        }
        for c in columns {
            if c.bad == 0 {
                continue;
            }
            let mut message = format!(
                "{} of {} values in column {:?} of {} cannot {} `{}` ({}",
                c.bad,
                c.checked,
                c.name,
                path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into_owned()
                ),
                if c.key {
                    "match values of"
                } else {
                    "be written to"
                },
                c.field.name,
                c.field.field_type.as_str()
            );
            match c.field.field_type {
                FieldType::String
                | FieldType::Textarea
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
                | FieldType::Picklist
                | FieldType::Multipicklist
                    if c.field.length > 0 =>
                {
                    let _ = write!(message, ", at most {} characters", c.field.length);
                }
                FieldType::Double | FieldType::Currency | FieldType::Percent => {
                    let _ = write!(
                        message,
                        ", {} digits with {} decimals",
                        c.field.precision, c.field.scale
                    );
                }
                _ => {}
            }
            message.push_str("): ");
            let shown: Vec<String> = c
                .shown
                .iter()
                .map(|(line, e)| format!("line {line}: {e}"))
                .collect();
            message.push_str(&shown.join("; "));
            if c.bad > c.shown.len() {
                let _ = write!(message, "; and {} more", c.bad - c.shown.len());
            }
            let hint = hint_for(c.field.field_type, &c.shown);
            self.problem(c.loc, message).hint = hint;
        }
    }
}

/// One report column being checked.
struct Column<'a> {
    index: usize,
    field: &'a Field,
    loc: Loc,
    name: &'a str,
    format: Option<&'a str>,
    /// The key column (its values are compared, never written).
    key: bool,
    checked: usize,
    bad: usize,
    shown: Vec<(u64, ConvertError)>,
}

impl<'a> Column<'a> {
    fn new(
        index: usize,
        field: &'a Field,
        loc: Loc,
        name: &'a str,
        format: Option<&'a str>,
    ) -> Self {
        Self {
            index,
            field,
            loc,
            name,
            format,
            key: false,
            checked: 0,
            bad: 0,
            shown: Vec::new(),
        }
    }
}

fn hint_for(field_type: FieldType, shown: &[(u64, ConvertError)]) -> Option<String> {
    let first = shown.first().map(|(_, e)| e)?;
    Some(
        match (field_type, first) {
            (FieldType::Date | FieldType::Datetime, _) => {
                "if the report writes dates another way, set `format` on the mapping (strftime, \
                 e.g. \"%d/%m/%Y %H:%M\")"
            }
            (_, ConvertError::TooLong { .. }) => {
                "shorten the values in the report, or ask the admin for a longer field"
            }
            (_, ConvertError::NotInPicklist { .. }) => {
                "add the values to the picklist in Salesforce, or map to a text field"
            }
            _ => "fix the values in the report, or map the column to a field of a matching type",
        }
        .to_owned(),
    )
}
