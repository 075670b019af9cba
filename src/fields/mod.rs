//! The custom fields an integration needs (SPEC §2 `fields`): their API names, labels and a
//! Metadata API type inferred from the report's values, and the metadata source that creates them
//! ([`metadata`]).
//!
//! This module reads the report (through [`crate::report`], so a type is inferred exactly from
//! what the sync will accept) and nothing else: no network; the command decides which fields the
//! org already has.

pub mod metadata;

use std::fmt;

use chrono::format::{Fixed, Item, Numeric, StrftimeItems};
use serde::Serialize;

use crate::config::Integration;
use crate::report::{self, Decimal};
use crate::salesforce::describe::{Field, FieldType};

/// The prefix the setup guide recommends for every custom field the sync writes (seed, step 3).
pub const PREFIX: &str = "WalkMe_";

/// Salesforce's limits for a custom field (Metadata API Developer Guide, CustomField): a Text field
/// holds at most 255 characters, a Long Text Area up to 131,072; a number at most 18 digits.
const TEXT_MAX: usize = 255;
const LONG_TEXT_MAX: usize = 131_072;
const LONG_TEXT_DEFAULT: usize = 32_768;
const NUMBER_PRECISION: u32 = 18;
/// A label has at most 40 characters (CustomField `label`).
const LABEL_MAX: usize = 40;
/// A custom field's name has at most 40 characters before `__c` (CustomField `fullName`).
const NAME_MAX: usize = 40;

/// A custom field's type, as the Metadata API names it, with the attributes each type requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
pub enum Kind {
    Checkbox,
    /// `precision` digits in all, `scale` of them after the point.
    Number {
        precision: u32,
        scale: u32,
    },
    Percent {
        precision: u32,
        scale: u32,
    },
    Date,
    DateTime,
    Email,
    Text {
        length: usize,
    },
    LongTextArea {
        length: usize,
    },
}

impl Kind {
    /// The Metadata API's `<type>`.
    #[must_use]
    pub fn metadata_type(self) -> &'static str {
        match self {
            Self::Checkbox => "Checkbox",
            Self::Number { .. } => "Number",
            Self::Percent { .. } => "Percent",
            Self::Date => "Date",
            Self::DateTime => "DateTime",
            Self::Email => "Email",
            Self::Text { .. } => "Text",
            Self::LongTextArea { .. } => "LongTextArea",
        }
    }

    /// Whether Salesforce lets this type be an External ID (indexed, so matching on it is fast).
    #[must_use]
    pub fn can_be_external_id(self) -> bool {
        matches!(self, Self::Number { .. } | Self::Email | Self::Text { .. })
    }
}

impl fmt::Display for Kind {
    /// As Setup's "Fields & Relationships" list shows the type: a Number's first figure is the
    /// digits before the point (`precision − scale`), the second the decimal places.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Checkbox => f.write_str("Checkbox"),
            Self::Number { precision, scale } => {
                write!(f, "Number({}, {scale})", precision - scale)
            }
            Self::Percent { precision, scale } => {
                write!(f, "Percent({}, {scale})", precision - scale)
            }
            Self::Date => f.write_str("Date"),
            Self::DateTime => f.write_str("Date/Time"),
            Self::Email => f.write_str("Email"),
            Self::Text { length } => write!(f, "Text({length})"),
            Self::LongTextArea { length } => write!(f, "Text Area (Long)({length})"),
        }
    }
}

/// Why a field is part of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The key's Salesforce field: read for matching, never written.
    Key,
    /// A mapping's target.
    Mapping,
}

/// One custom field to create.
#[derive(Debug, Clone, Serialize)]
pub struct FieldSpec {
    /// The API name as the config maps it, `WalkMe_First_Login__c`.
    pub api_name: String,
    /// The label, from the report column.
    pub label: String,
    #[serde(flatten)]
    pub kind: Kind,
    /// Marked External ID: the key field, so Salesforce indexes it.
    pub external_id: bool,
    pub role: Role,
    /// The report column it is inferred from.
    pub report_column: String,
    /// Non-empty cells the type was inferred from.
    pub values_seen: u64,
}

impl FieldSpec {
    /// The name typed into Setup's "Field Name" box: Salesforce appends `__c` itself.
    #[must_use]
    pub fn setup_name(&self) -> &str {
        self.api_name.strip_suffix("__c").unwrap_or(&self.api_name)
    }
}

/// The fields of one integration, and what the admin should know about them.
#[derive(Debug, Clone)]
pub struct Plan {
    pub fields: Vec<FieldSpec>,
    /// Mapped or key fields that are not custom fields to create (standard or managed-package
    /// fields), with the reason.
    pub skipped: Vec<String>,
    /// Naming advice and inference caveats.
    pub warnings: Vec<String>,
}

/// Where the values come from.
pub enum Source<'a> {
    /// The report file, read now.
    File(&'a std::path::Path),
    /// No file to read (not exported yet, or a URL): types cannot be inferred.
    Unavailable(String),
}

/// Why a plan cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Report(#[from] report::ReportError),
    #[error("{0}")]
    Column(#[from] report::ColumnError),
}

/// The custom fields `integration` needs, with types inferred from the report.
pub fn plan(integration: &Integration, source: &Source<'_>) -> Result<Plan, PlanError> {
    let mut wanted: Vec<(Role, &str, &str, Option<&str>)> = Vec::new();
    wanted.push((
        Role::Key,
        integration.key.salesforce.as_str(),
        integration.key.report.as_str(),
        None,
    ));
    for m in &integration.fields {
        wanted.push((
            Role::Mapping,
            m.salesforce.as_str(),
            m.report.as_str(),
            m.format.as_deref(),
        ));
    }
    let mut skipped = Vec::new();
    let mut warnings = Vec::new();
    wanted.retain(|(role, name, _, _)| match custom_status(name) {
        Custom::Standard => {
            // A standard key field (Email) is the usual case and worth no remark.
            if *role == Role::Mapping {
                skipped.push(format!(
                    "`{name}` is a standard field of {}: nothing to create",
                    integration.object
                ));
            }
            false
        }
        Custom::Managed => {
            skipped.push(format!(
                "`{name}` belongs to a managed package (namespace prefix): its package creates it"
            ));
            false
        }
        Custom::Own => true,
    });

    let observed = match source {
        Source::File(path) => Some(observe(path, &wanted)?),
        Source::Unavailable(why) => {
            warnings.push(format!(
                "{why}; the types below are guesses (Text(255), or Date/Time for a mapping with \
                 a time format), not inferred from values"
            ));
            None
        }
    };

    let mut fields = Vec::new();
    for (i, (role, name, column, format)) in wanted.iter().enumerate() {
        let obs = observed.as_ref().map(|o| &o[i]);
        let kind = match (obs, format) {
            (Some(obs), _) => obs.kind(*format),
            (None, Some(format)) if has_time(format) => Kind::DateTime,
            (None, Some(_)) => Kind::Date,
            (None, None) => Kind::Text { length: TEXT_MAX },
        };
        if let Some(obs) = obs {
            if obs.seen == 0 {
                warnings.push(format!(
                    "column {column:?} has no values in the report; `{name}` is {kind}, a guess"
                ));
            } else if let Some(format) = format
                && obs.format_misses > 0
            {
                warnings.push(format!(
                    "{} value(s) of column {column:?} do not match its format {format:?}; the \
                     sync will reject those rows",
                    obs.format_misses
                ));
            }
        }
        warnings.extend(name_advice(name));
        fields.push(FieldSpec {
            api_name: (*name).to_owned(),
            label: label(column),
            kind,
            external_id: *role == Role::Key && kind.can_be_external_id(),
            role: *role,
            report_column: (*column).to_owned(),
            values_seen: obs.map_or(0, |o| o.seen),
        });
    }
    Ok(Plan {
        fields,
        skipped,
        warnings,
    })
}

enum Custom {
    Standard,
    Managed,
    Own,
}

/// `Name__c` is a custom field of this org; `ns__Name__c` one of a managed package; anything else
/// is a standard field.
fn custom_status(name: &str) -> Custom {
    match name.strip_suffix("__c") {
        None => Custom::Standard,
        Some(base) if base.contains("__") => Custom::Managed,
        Some(_) => Custom::Own,
    }
}

/// The seed's advice (prefix) and Salesforce's naming rules for a custom field (Object Reference,
/// "Custom Fields": letters, digits and underscores; begins with a letter; no double or trailing
/// underscore; at most 40 characters before `__c`).
fn name_advice(name: &str) -> Vec<String> {
    let base = name.strip_suffix("__c").unwrap_or(name);
    let mut advice = Vec::new();
    let valid = base.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && base.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !base.contains("__")
        && !base.ends_with('_')
        && base.len() <= NAME_MAX;
    if !valid {
        advice.push(format!(
            "`{name}` is not a valid custom field name: use letters, digits and single \
             underscores, begin with a letter, at most {NAME_MAX} characters before `__c`"
        ));
    }
    if !base.starts_with(PREFIX) {
        advice.push(format!(
            "`{name}` lacks the `{PREFIX}` prefix recommended for the fields the sync writes \
             (e.g. `{PREFIX}{base}__c`)"
        ));
    }
    advice
}

/// The report column as a label, within Salesforce's 40 characters.
fn label(column: &str) -> String {
    let trimmed = column.trim();
    if trimmed.chars().count() <= LABEL_MAX {
        trimmed.to_owned()
    } else {
        trimmed.chars().take(LABEL_MAX).collect::<String>()
    }
}

/// Whether a strftime format writes a time of day (then the field is a DateTime).
fn has_time(format: &str) -> bool {
    StrftimeItems::new(format).any(|item| {
        matches!(
            item,
            Item::Numeric(
                Numeric::Hour
                    | Numeric::Hour12
                    | Numeric::Minute
                    | Numeric::Second
                    | Numeric::Nanosecond
                    | Numeric::Timestamp,
                _
            ) | Item::Fixed(
                Fixed::RFC2822
                    | Fixed::RFC3339
                    | Fixed::TimezoneOffset
                    | Fixed::TimezoneOffsetColon
                    | Fixed::TimezoneOffsetZ
                    | Fixed::LowerAmPm
                    | Fixed::UpperAmPm
            )
        )
    })
}

/// What the non-empty cells of one column allow.
#[derive(Debug, Default)]
struct Observed {
    seen: u64,
    not_checkbox: bool,
    not_number: bool,
    not_percent: bool,
    percent_sign: bool,
    int_digits: u32,
    scale: u32,
    not_date: bool,
    not_datetime: bool,
    not_email: bool,
    /// Cells the mapping's `format` does not read.
    format_misses: u64,
    max_chars: usize,
}

/// A describe field of `field_type` with no limits, to ask [`report::convert`] whether a cell
/// would be accepted by such a field.
fn probe(field_type: FieldType) -> Field {
    Field {
        name: String::new(),
        label: String::new(),
        field_type,
        updateable: true,
        createable: true,
        nillable: true,
        filterable: true,
        calculated: false,
        custom: true,
        external_id: false,
        unique: false,
        case_sensitive: false,
        length: 0,
        precision: NUMBER_PRECISION,
        scale: 0,
        digits: 0,
        picklist_values: Vec::new(),
        restricted_picklist: false,
    }
}

struct Probes {
    date: Field,
    datetime: Field,
    email: Field,
}

impl Observed {
    fn add(&mut self, cell: &str, format: Option<&str>, probes: &Probes) {
        let cell = cell.trim();
        if cell.is_empty() {
            return;
        }
        self.seen += 1;
        self.max_chars = self.max_chars.max(cell.chars().count());
        // Checkbox: the words an Insights export uses; `1`/`0` stay numbers.
        if !matches!(
            cell.to_lowercase().as_str(),
            "true" | "false" | "yes" | "no"
        ) {
            self.not_checkbox = true;
        }
        match Decimal::parse(cell) {
            Ok(d) => self.number(d),
            Err(_) => self.not_number = true,
        }
        match cell.strip_suffix('%').map(str::trim_end) {
            Some(digits) => match Decimal::parse(digits) {
                Ok(d) => {
                    self.percent_sign = true;
                    self.number(d);
                }
                Err(_) => self.not_percent = true,
            },
            None if Decimal::parse(cell).is_err() => self.not_percent = true,
            None => {}
        }
        let ok = |field: &Field| report::convert(cell, field, format).is_ok();
        let date = ok(&probes.date);
        let datetime = ok(&probes.datetime);
        self.not_date |= !date;
        self.not_datetime |= !datetime;
        if format.is_some() && !date && !datetime {
            self.format_misses += 1;
        }
        self.not_email |= !ok(&probes.email);
    }

    fn number(&mut self, d: Decimal) {
        self.int_digits = self.int_digits.max(d.integer_digits());
        self.scale = self.scale.max(d.scale());
    }

    fn kind(&self, format: Option<&str>) -> Kind {
        if let Some(format) = format {
            // The mapping says how the column writes dates: that decides, whatever the values.
            return if has_time(format) {
                Kind::DateTime
            } else {
                Kind::Date
            };
        }
        if self.seen == 0 {
            return Kind::Text { length: TEXT_MAX };
        }
        let fits = self.int_digits + self.scale <= NUMBER_PRECISION;
        if !self.not_checkbox {
            Kind::Checkbox
        } else if !self.not_number && fits {
            // Counts and scores grow: all 18 digits cost nothing and never overflow.
            Kind::Number {
                precision: NUMBER_PRECISION,
                scale: self.scale,
            }
        } else if !self.not_percent && self.percent_sign && fits {
            // Percentages rarely pass 100, but a growth rate may: three digits at least.
            Kind::Percent {
                precision: self.int_digits.max(3) + self.scale,
                scale: self.scale,
            }
        } else if !self.not_date {
            Kind::Date
        } else if !self.not_datetime {
            Kind::DateTime
        } else if !self.not_email {
            Kind::Email
        } else {
            text_kind(self.max_chars)
        }
    }
}

/// Room for values twice as long as the longest seen, in steps an admin would pick.
fn text_kind(max_chars: usize) -> Kind {
    let wanted = max_chars.saturating_mul(2);
    match [50, 100, TEXT_MAX].into_iter().find(|&l| l >= wanted) {
        Some(length) => Kind::Text { length },
        None if max_chars <= TEXT_MAX => Kind::Text { length: TEXT_MAX },
        None if max_chars <= LONG_TEXT_DEFAULT / 2 => Kind::LongTextArea {
            length: LONG_TEXT_DEFAULT,
        },
        None => Kind::LongTextArea {
            length: LONG_TEXT_MAX,
        },
    }
}

/// Streams the report once, observing the columns of `wanted` (same order).
fn observe(
    path: &std::path::Path,
    wanted: &[(Role, &str, &str, Option<&str>)],
) -> Result<Vec<Observed>, PlanError> {
    let mut rows = report::Report::open(path)?;
    let mut columns = Vec::with_capacity(wanted.len());
    for (_, _, column, _) in wanted {
        columns.push(rows.columns().resolve(column)?);
    }
    let probes = Probes {
        date: probe(FieldType::Date),
        datetime: probe(FieldType::Datetime),
        email: probe(FieldType::Email),
    };
    let mut observed: Vec<Observed> = wanted.iter().map(|_| Observed::default()).collect();
    // Rejected rows (ragged, not UTF-8) would be rejected by the sync too: they say nothing
    // about a column's type.
    for row in rows.by_ref().flatten() {
        for (i, &column) in columns.iter().enumerate() {
            if let Some(cell) = row.cells.get(column) {
                observed[i].add(cell, wanted[i].3, &probes);
            }
        }
    }
    rows.finish()?;
    Ok(observed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(cells: &[&str], format: Option<&str>) -> Kind {
        let probes = Probes {
            date: probe(FieldType::Date),
            datetime: probe(FieldType::Datetime),
            email: probe(FieldType::Email),
        };
        let mut o = Observed::default();
        for c in cells {
            o.add(c, format, &probes);
        }
        o.kind(format)
    }

    #[test]
    fn infers_each_type_from_values() {
        assert_eq!(kind_of(&["true", "No", "YES", ""], None), Kind::Checkbox);
        assert_eq!(
            kind_of(&["21", "0", "34"], None),
            Kind::Number {
                precision: 18,
                scale: 0
            }
        );
        assert_eq!(
            kind_of(&["1", "0"], None),
            Kind::Number {
                precision: 18,
                scale: 0
            }
        );
        assert_eq!(
            kind_of(&["4.25", "-3.5", "7"], None),
            Kind::Number {
                precision: 18,
                scale: 2
            }
        );
        assert_eq!(
            kind_of(&["25%", "12.5%", "100 %"], None),
            Kind::Percent {
                precision: 4,
                scale: 1
            }
        );
        assert_eq!(kind_of(&["2026-11-06", "2026-01-31"], None), Kind::Date);
        assert_eq!(
            kind_of(&["2026-05-09T05:35:00Z", "2026-05-09 05:35"], None),
            Kind::DateTime
        );
        assert_eq!(kind_of(&["a@b.co", " c@d.de "], None), Kind::Email);
        assert_eq!(
            kind_of(&["Promoter", "Detractor"], None),
            Kind::Text { length: 50 }
        );
        assert_eq!(kind_of(&[], None), Kind::Text { length: 255 });
    }

    #[test]
    fn a_format_decides_date_or_datetime() {
        assert_eq!(
            kind_of(&["11/27/2026 06:08"], Some("%m/%d/%Y %H:%M")),
            Kind::DateTime
        );
        assert_eq!(kind_of(&["23.11.2026"], Some("%d.%m.%Y")), Kind::Date);
    }

    #[test]
    fn mixed_values_fall_back_to_text() {
        assert_eq!(kind_of(&["12", "n/a"], None), Kind::Text { length: 50 });
        assert_eq!(
            kind_of(&["2026-11-06", "2026-11-06T08:00:00Z"], None),
            Kind::Text { length: 50 }
        );
    }

    #[test]
    fn text_lengths_round_up() {
        assert_eq!(text_kind(1), Kind::Text { length: 50 });
        assert_eq!(text_kind(26), Kind::Text { length: 100 });
        assert_eq!(text_kind(120), Kind::Text { length: 255 });
        assert_eq!(text_kind(255), Kind::Text { length: 255 });
        assert_eq!(text_kind(256), Kind::LongTextArea { length: 32_768 });
        assert_eq!(text_kind(20_000), Kind::LongTextArea { length: 131_072 });
    }

    #[test]
    fn numbers_too_long_for_salesforce_are_text() {
        assert_eq!(
            kind_of(&["1234567890123456789"], None),
            Kind::Text { length: 50 }
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(name_advice("WalkMe_First_Login__c").is_empty());
        let advice = name_advice("First_Login__c");
        assert_eq!(advice.len(), 1);
        assert!(advice[0].contains("WalkMe_First_Login__c"), "{advice:?}");
        assert_eq!(name_advice("WalkMe_#_Logins__c").len(), 1);
        assert_eq!(name_advice("WalkMe_Bad_Name___c").len(), 1);
        assert!(matches!(custom_status("Email"), Custom::Standard));
        assert!(matches!(custom_status("ns__Score__c"), Custom::Managed));
    }

    #[test]
    fn setup_units_in_display() {
        assert_eq!(
            Kind::Number {
                precision: 18,
                scale: 2
            }
            .to_string(),
            "Number(16, 2)"
        );
        assert_eq!(Kind::DateTime.to_string(), "Date/Time");
    }
}
