//! Typed errors from Salesforce's answers (research §6.4–§6.5): the JSON error array
//! `[{message, errorCode, fields}]`, OAuth bodies, HTML pages from gateways; and which of them
//! are worth a retry.

use crate::error::Fail;

/// One item of a REST or Bulk error array.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub error_code: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

/// A failed Salesforce call.
#[derive(Debug, thiserror::Error)]
pub enum SfError {
    /// The org's rolling 24-hour API allocation is used up ("`TotalRequests` Limit exceeded.",
    /// research §6.3): never retried; the sync stops on it.
    #[error("the org's daily API request limit is used up ({message})")]
    DailyLimit { message: String },
    /// Too many concurrent long-running requests (`REQUEST_LIMIT_EXCEEDED` with another
    /// message, research §6.3): retried with backoff, returned when the retries run out.
    #[error("Salesforce's concurrent request limit was reached ({message})")]
    ConcurrencyLimit { message: String },
    /// An error array from REST or Bulk.
    #[error("Salesforce answered HTTP {status}: {}", join(errors))]
    Api { status: u16, errors: Vec<ApiError> },
    /// An HTML page (a gateway, a wrong host, maintenance).
    #[error(
        "Salesforce answered HTTP {status} with an HTML page; check that the org exists and can \
         be reached"
    )]
    Html { status: u16 },
    /// Any other non-2xx answer.
    #[error("Salesforce answered HTTP {status}: {detail}")]
    Http { status: u16, detail: String },
    /// The session was rejected and could not be renewed (exit 3 with the login hint).
    #[error("the Salesforce session is not valid")]
    Auth(#[source] Fail),
    #[error("could not reach Salesforce ({url})")]
    Network {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// A 2xx answer that is not what the API documents.
    #[error("unexpected answer from Salesforce to {what}: {detail}")]
    Decode { what: String, detail: String },
    /// A Bulk job that did not finish in time.
    #[error("Bulk API job {id} did not finish within {secs} s")]
    JobTimeout { id: String, secs: u64 },
    /// A call the client refuses to make (more than 200 records, a bad object name).
    #[error("{0}")]
    Invalid(String),
}

/// A Salesforce message without the statement it may echo: a query error repeats the whole SOQL
/// (with the report's keys, i.e. customer e-mails) before its last line, which says what is
/// wrong ("ERROR at Row:1:Column:8 … duplicate field selected: Id").
fn brief(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    match lines.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [.., position, last] if position.starts_with("ERROR at") => format!("{position}: {last}"),
        [.., last] => (*last).to_owned(),
    }
}

fn join(errors: &[ApiError]) -> String {
    if errors.is_empty() {
        return "no details".to_owned();
    }
    errors
        .iter()
        .map(|e| {
            let message = brief(&e.message);
            if e.fields.is_empty() {
                format!("{}: {message}", e.error_code)
            } else {
                format!("{}: {message} ({})", e.error_code, e.fields.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl SfError {
    /// Transient failures worth a retry with backoff: 5xx, dropped connections and timeouts,
    /// and the concurrency limit — never the daily limit or validation errors (research §6.5).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::ConcurrencyLimit { .. } | Self::Network { .. } => true,
            Self::Api { status, .. } | Self::Html { status } | Self::Http { status, .. } => {
                *status >= 500
            }
            _ => false,
        }
    }

    /// The first error code of an error array.
    #[must_use]
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Self::Api { errors, .. } => errors.first().map(|e| e.error_code.as_str()),
            Self::DailyLimit { .. } | Self::ConcurrencyLimit { .. } => {
                Some("REQUEST_LIMIT_EXCEEDED")
            }
            _ => None,
        }
    }

    /// Build the error for a non-2xx answer.
    #[must_use]
    pub fn from_response(status: u16, content_type: &str, body: &str) -> Self {
        if let Ok(errors) = serde_json::from_str::<Vec<ApiError>>(body) {
            if let Some(limit) = errors
                .iter()
                .find(|e| e.error_code == "REQUEST_LIMIT_EXCEEDED")
            {
                // The daily allocation and the concurrency limit share the code; the message
                // tells them apart (research §6.3).
                return if limit.message.contains("TotalRequests") {
                    Self::DailyLimit {
                        message: limit.message.clone(),
                    }
                } else {
                    Self::ConcurrencyLimit {
                        message: limit.message.clone(),
                    }
                };
            }
            return Self::Api { status, errors };
        }
        if let Ok(oauth) = serde_json::from_str::<crate::auth::token::OAuthErrorBody>(body) {
            return Self::Api {
                status,
                errors: vec![ApiError {
                    message: oauth.error_description.unwrap_or_default(),
                    error_code: oauth.error,
                    fields: Vec::new(),
                }],
            };
        }
        if content_type.contains("html") || body.trim_start().starts_with('<') {
            return Self::Html { status };
        }
        let trimmed = body.trim();
        let detail = if trimmed.is_empty() {
            "empty body".to_owned()
        } else if trimmed.chars().count() > 300 {
            let mut cut: String = trimmed.chars().take(300).collect();
            cut.push('…');
            cut
        } else {
            trimmed.to_owned()
        };
        Self::Http { status, detail }
    }

    /// Whether this is a 401 `INVALID_SESSION_ID`, the one 401 a renewal can cure (research
    /// §1.10: other 401 bodies, e.g. "not valid for use with the REST API", are final).
    #[must_use]
    pub fn is_invalid_session(&self) -> bool {
        matches!(self, Self::Api { status: 401, errors }
            if errors.iter().any(|e| e.error_code == "INVALID_SESSION_ID"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_errors_do_not_echo_the_statement() {
        let echoed = "\nSELECT Id, Id FROM Lead WHERE Email IN ('ann@x.com')\n       ^\nERROR at Row:1:Column:12\nduplicate field selected: Id";
        let short = super::brief(echoed);
        assert_eq!(
            short,
            "ERROR at Row:1:Column:12: duplicate field selected: Id"
        );
        assert!(!short.contains("ann@x.com"));
        assert_eq!(
            super::brief("Session expired or invalid"),
            "Session expired or invalid"
        );
    }

    use super::*;

    #[test]
    fn parses_error_arrays_and_classifies_limits() {
        let raw = include_str!("../../tests/fixtures/salesforce-recorded/login_response_401.json");
        let exchange: serde_json::Value = serde_json::from_str(raw).unwrap();
        let e = SfError::from_response(401, "application/json", &exchange["body"].to_string());
        assert!(e.is_invalid_session());
        assert!(!e.is_transient());

        let daily = SfError::from_response(
            403,
            "application/json",
            r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
        );
        assert!(matches!(daily, SfError::DailyLimit { .. }));
        assert!(!daily.is_transient());

        let concurrent = SfError::from_response(
            403,
            "application/json",
            r#"[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
        );
        assert!(matches!(concurrent, SfError::ConcurrencyLimit { .. }));
        assert!(concurrent.is_transient());

        let invalid = SfError::from_response(
            400,
            "application/json",
            r#"[{"message":"No such column 'Foo__c'","errorCode":"INVALID_FIELD","fields":["Foo__c"]}]"#,
        );
        assert_eq!(invalid.error_code(), Some("INVALID_FIELD"));
        assert!(!invalid.is_transient());
        assert!(
            invalid
                .to_string()
                .contains("INVALID_FIELD: No such column 'Foo__c' (Foo__c)")
        );
    }

    #[test]
    fn html_oauth_and_5xx() {
        let e = SfError::from_response(503, "text/html", "<html>maintenance</html>");
        assert!(matches!(e, SfError::Html { status: 503 }));
        assert!(e.is_transient());
        let e = SfError::from_response(
            400,
            "application/json",
            r#"{"error":"invalid_grant","error_description":"x"}"#,
        );
        assert_eq!(e.error_code(), Some("invalid_grant"));
        let e = SfError::from_response(500, "text/plain", "");
        assert!(e.is_transient());
        assert!(e.to_string().contains("empty body"));
    }
}
