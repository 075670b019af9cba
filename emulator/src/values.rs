//! Field values: parsing what clients send (REST JSON, Bulk CSV, seed CSV), validating them
//! against field metadata, and formatting them the way Salesforce returns them.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::{Value, json};

use crate::schema::{FieldDef, Kind};

/// A stored value. Datetimes are UTC epoch milliseconds (research §7.2: stored at ms precision).
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Text(String),
    Num(f64),
    Bool(bool),
    Date(NaiveDate),
    DateTime(i64),
}

/// A per-record error as Salesforce reports it (`statusCode`, `message`, `fields`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<String>,
}

impl FieldError {
    #[must_use]
    pub fn new(code: &'static str, message: impl Into<String>, fields: Vec<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields,
        }
    }

    /// Collections/SaveResult shape.
    #[must_use]
    pub fn to_save_error(&self) -> Value {
        json!({"statusCode": self.code, "message": self.message, "fields": self.fields})
    }

    /// REST error-array entry shape.
    #[must_use]
    pub fn to_rest_error(&self) -> Value {
        json!({"message": self.message, "errorCode": self.code, "fields": self.fields})
    }

    /// Bulk 2.0 `sf__Error` text: `CODE:message:fields --` (research §5.3).
    #[must_use]
    pub fn to_bulk_error(&self) -> String {
        format!(
            "{}:{}:{} --",
            self.code,
            self.message,
            self.fields.join(",")
        )
    }
}

/// Why a REST JSON value could not be taken.
#[derive(Debug, Clone)]
pub enum JsonValueError {
    /// The whole request fails with 400 `JSON_PARSER_ERROR` (Salesforce's JSON deserializer).
    Parser(String),
    /// Only this record fails.
    Record(FieldError),
}

/// Formats a datetime the way REST JSON returns it: `2024-03-23T08:00:00.000+0000` (research §7.2).
#[must_use]
pub fn format_datetime(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string())
        .unwrap_or_default()
}

/// Formats a datetime the way Bulk 2.0 query CSV returns it: `2024-03-23T08:00:00.000Z`.
#[must_use]
pub fn format_datetime_csv(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// Parses the datetime forms Salesforce accepts on write (REST guide `Valid Date and DateTime
/// Formats`): `Z` or `±hh:mm`/`±hhmm` offsets, with or without milliseconds.
#[must_use]
pub fn parse_datetime(s: &str) -> Option<i64> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.timestamp_millis());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(d) = DateTime::parse_from_str(s, fmt) {
            return Some(d.timestamp_millis());
        }
    }
    // Without an offset Salesforce takes UTC.
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(d.and_utc().timestamp_millis());
        }
    }
    None
}

#[must_use]
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

impl Val {
    /// REST JSON form.
    #[must_use]
    pub fn to_json(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Text(s) => json!(s),
            Val::Num(n) => num_json(*n),
            Val::Bool(b) => json!(b),
            Val::Date(d) => json!(d.format("%Y-%m-%d").to_string()),
            Val::DateTime(ms) => json!(format_datetime(*ms)),
        }
    }

    /// Bulk CSV form (null is an empty cell).
    #[must_use]
    pub fn to_csv(&self) -> String {
        match self {
            Val::Null => String::new(),
            Val::Text(s) => s.clone(),
            Val::Num(n) => num_json(*n).to_string(),
            Val::Bool(b) => b.to_string(),
            Val::Date(d) => d.format("%Y-%m-%d").to_string(),
            Val::DateTime(ms) => format_datetime_csv(*ms),
        }
    }

    /// The key used by equality indexes: text case-folded (research §3.4), `None` for null.
    #[must_use]
    pub fn index_key(&self) -> Option<String> {
        match self {
            Val::Null => None,
            Val::Text(s) => Some(s.to_lowercase()),
            Val::Num(n) => Some(format!("n{n}")),
            Val::Bool(b) => Some(b.to_string()),
            Val::Date(d) => Some(d.to_string()),
            Val::DateTime(ms) => Some(format!("t{ms}")),
        }
    }
}

fn num_json(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        // Whole values within f64's exact integer range.
        #[allow(clippy::cast_possible_truncation)]
        let i = n as i64;
        json!(i)
    } else {
        json!(n)
    }
}

fn parser_error(field: &FieldDef, ty: &str, shown: &str) -> JsonValueError {
    JsonValueError::Parser(format!(
        "Cannot deserialize instance of {ty} from VALUE_STRING value {shown} or request may be missing a required field at [line:1, column:1]; field {}",
        field.name
    ))
}

/// Converts a REST JSON value for `field` (before metadata validation).
pub fn from_json(field: &FieldDef, v: &Value) -> Result<Val, JsonValueError> {
    if v.is_null() {
        return Ok(Val::Null);
    }
    match field.kind() {
        Kind::Text => match v {
            Value::String(s) => Ok(Val::Text(s.clone())),
            Value::Number(n) => Ok(Val::Text(n.to_string())),
            Value::Bool(b) => Ok(Val::Text(b.to_string())),
            _ => Err(JsonValueError::Parser(format!(
                "Cannot deserialize instance of string from START_OBJECT value; field {}",
                field.name
            ))),
        },
        Kind::Number => match v {
            Value::Number(n) => n
                .as_f64()
                .map(Val::Num)
                .ok_or_else(|| parser_error(field, "double", &n.to_string())),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Val::Num)
                .ok_or_else(|| parser_error(field, "double", s)),
            _ => Err(parser_error(field, "double", &v.to_string())),
        },
        Kind::Boolean => match v {
            Value::Bool(b) => Ok(Val::Bool(*b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Val::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Val::Bool(false)),
            _ => Err(parser_error(field, "boolean", &v.to_string())),
        },
        Kind::Date => match v {
            Value::String(s) => parse_date(s)
                .map(Val::Date)
                .ok_or_else(|| parser_error(field, "date", s)),
            _ => Err(parser_error(field, "date", &v.to_string())),
        },
        Kind::DateTime => match v {
            Value::String(s) => parse_datetime(s)
                .map(Val::DateTime)
                .ok_or_else(|| parser_error(field, "datetime", s)),
            _ => Err(parser_error(field, "datetime", &v.to_string())),
        },
    }
}

/// Converts one CSV cell (Bulk ingest or seed file). The caller handles empty cells and `#N/A`.
/// The error mirrors Bulk 2.0's deserialisation failure text.
pub fn from_csv(field: &FieldDef, s: &str, col: usize) -> Result<Val, FieldError> {
    let bad = |xsd: &str| {
        FieldError::new(
            "INVALID_FIELD",
            format!(
                "Failed to deserialize field at col {col}. Due to, '{s}' is not a valid value for the type {xsd}"
            ),
            vec![field.name.clone()],
        )
    };
    match field.kind() {
        Kind::Text => Ok(Val::Text(s.to_owned())),
        Kind::Number => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Val::Num)
            .ok_or_else(|| bad("xsd:double")),
        Kind::Boolean => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Val::Bool(true)),
            "false" | "0" | "no" => Ok(Val::Bool(false)),
            _ => Err(bad("xsd:boolean")),
        },
        Kind::Date => parse_date(s).map(Val::Date).ok_or_else(|| bad("xsd:date")),
        Kind::DateTime => parse_datetime(s)
            .map(Val::DateTime)
            .ok_or_else(|| bad("xsd:dateTime")),
    }
}

fn email_ok(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains(['@', ' ', ',', ';', '<', '>'])
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains(['@', ' ', ',', ';', '<', '>', '\'', '"'])
}

/// Checks a converted value against the field's metadata (length, e-mail syntax, restricted
/// picklist, numeric range, required) and normalises it (numbers rounded to `scale`).
/// Codes as in research §6.5.
pub fn validate(field: &FieldDef, val: Val) -> Result<Val, FieldError> {
    let f = || vec![field.name.clone()];
    match val {
        Val::Null => {
            if field.field_type == "boolean" {
                // A checkbox cannot be null: Salesforce stores false.
                return Ok(Val::Bool(false));
            }
            if field.nillable {
                Ok(Val::Null)
            } else {
                Err(FieldError::new(
                    "REQUIRED_FIELD_MISSING",
                    format!("Required fields are missing: [{}]", field.name),
                    f(),
                ))
            }
        }
        Val::Text(s) => {
            if s.is_empty() {
                // Salesforce stores an empty text as null.
                return validate(field, Val::Null);
            }
            let max = field.length as usize;
            if max > 0 && s.chars().count() > max {
                return Err(FieldError::new(
                    "STRING_TOO_LONG",
                    format!(
                        "{}: data value too large: {} (max length={max})",
                        field.label.as_deref().unwrap_or(&field.name),
                        s
                    ),
                    f(),
                ));
            }
            if field.field_type == "email" && !email_ok(&s) {
                return Err(FieldError::new(
                    "INVALID_EMAIL_ADDRESS",
                    format!(
                        "{}: invalid email address: {s}",
                        field.label.as_deref().unwrap_or(&field.name)
                    ),
                    f(),
                ));
            }
            if field.field_type == "picklist"
                && field.restricted_picklist
                && !field
                    .picklist_values
                    .iter()
                    .any(|p| p.active && p.value == s)
            {
                return Err(FieldError::new(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    format!(
                        "{}: bad value for restricted picklist field: {s}",
                        field.label.as_deref().unwrap_or(&field.name)
                    ),
                    f(),
                ));
            }
            Ok(Val::Text(s))
        }
        Val::Num(n) => {
            let out_of_range = || {
                FieldError::new(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    format!(
                        "{}: value outside of valid range on numeric field: {n}",
                        field.label.as_deref().unwrap_or(&field.name)
                    ),
                    f(),
                )
            };
            let (precision, scale) = if field.field_type == "int" {
                (field.digits.max(9), 0)
            } else {
                (field.precision, field.scale)
            };
            let factor = 10f64.powi(i32::try_from(scale).unwrap_or(0));
            let rounded = (n * factor).round() / factor;
            if precision > 0 {
                let int_digits = precision.saturating_sub(scale);
                let limit = 10f64.powi(i32::try_from(int_digits).unwrap_or(18));
                if rounded.abs() >= limit {
                    return Err(out_of_range());
                }
            }
            Ok(Val::Num(rounded))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_normalise_to_utc_millis() {
        let a = parse_datetime("2024-03-23T08:00:00Z");
        let b = parse_datetime("2024-03-23T09:00:00.000+01:00");
        let c = parse_datetime("2024-03-23T09:00:00+0100");
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(
            format_datetime(a.unwrap_or_default()),
            "2024-03-23T08:00:00.000+0000"
        );
        assert_eq!(parse_datetime("2024-03-23"), None);
        assert_eq!(parse_date("2024-3-23"), None);
    }

    #[test]
    fn emails() {
        assert!(email_ok("o'neil@example.com"));
        assert!(!email_ok("not-an-email"));
        assert!(!email_ok("a@b"));
    }
}
