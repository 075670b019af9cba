//! Salesforce's token response and the errors of its OAuth endpoints (research
//! `salesforce-api.md` §1.3, §1.9): no `expires_in`, `issued_at` as a string of epoch
//! milliseconds, the org and user ids inside the `id` URL, and error bodies that are JSON
//! `{error, error_description}`, a REST error array, or an HTML page from a gateway.

use crate::auth::secret::Secret;
use crate::auth::store::StoreError;
use crate::error::{ExitStatus, Fail};

/// The body of a successful answer of `/services/oauth2/token` (research §1.3).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct TokenResponse {
    pub access_token: Secret,
    /// Only with the `refresh_token` scope, and on a refresh only when rotation is on (§1.4).
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    /// The host of every REST and Bulk call, not the login host.
    pub instance_url: String,
    /// The identity URL `https://login…/id/{orgId}/{userId}`.
    pub id: String,
    /// Epoch milliseconds, as a JSON string.
    #[serde(default)]
    pub issued_at: Option<String>,
    /// Space-separated granted scopes.
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub token_type: Option<String>,
}

/// The org and user a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub org_id: String,
    pub user_id: String,
}

impl TokenResponse {
    /// Org and user id from the `id` URL (as sfdx-core's `parseIdUrl` does); `None` when the URL
    /// does not end in `/id/{org}/{user}`.
    #[must_use]
    pub fn identity(&self) -> Option<Identity> {
        parse_identity_url(&self.id)
    }

    /// `issued_at` as a time; `None` when absent or not a number.
    #[must_use]
    pub fn issued_at_time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let millis: i64 = self.issued_at.as_deref()?.trim().parse().ok()?;
        chrono::DateTime::from_timestamp_millis(millis)
    }
}

/// `https://login.salesforce.com/id/00D…/005…` → org and user id.
#[must_use]
pub fn parse_identity_url(url: &str) -> Option<Identity> {
    let path = url.split(['?', '#']).next()?.trim_end_matches('/');
    let mut parts = path.rsplit('/');
    let user_id = parts.next()?;
    let org_id = parts.next()?;
    let marker = parts.next()?;
    (marker == "id" && !org_id.is_empty() && !user_id.is_empty()).then(|| Identity {
        org_id: org_id.to_owned(),
        user_id: user_id.to_owned(),
    })
}

/// An OAuth error body `{"error": …, "error_description": …}` (research §1.9).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct OAuthErrorBody {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
}

/// A failed login, refresh, revoke or userinfo call.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token endpoint refused the credentials: revoked or expired refresh token, unknown
    /// client id, user not approved (research §1.4, §1.9).
    #[error("Salesforce refused the credentials: {error}{}", describe(description))]
    Refused { error: String, description: String },
    /// The app is not set up for this flow (device flow, client credentials, JWT certificate).
    #[error("{}", flow_not_allowed(*flow, detail))]
    FlowNotAllowed { flow: LoginFlow, detail: String },
    /// The user clicked "Deny" (`error=access_denied` on the callback).
    #[error("the login was denied in the browser{}", describe(description))]
    Denied { description: String },
    /// The callback's `state` is not the one sent: a forged or stale redirect.
    #[error("the browser's answer carried the wrong `state`; the login was not completed")]
    StateMismatch,
    /// The user did not finish the login in time.
    #[error("the login timed out after {0} s")]
    Timeout(u64),
    #[error("could not reach {url}")]
    Network {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// An answer that is neither a token nor an OAuth error (HTML gateway page, 5xx).
    #[error("unexpected answer from {url} (HTTP {status}): {detail}")]
    Unexpected {
        url: String,
        status: u16,
        detail: String,
    },
    /// A local setting is missing or wrong (no client id, unreadable key file, `http://` URL).
    #[error("{0}")]
    Usage(String),
    /// A local failure that is neither usage nor credentials (loopback port taken, I/O).
    #[error("{0}")]
    Local(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The login flows, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFlow {
    Web,
    Device,
    Jwt,
    ClientCredentials,
    RefreshToken,
}

impl LoginFlow {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web server flow",
            Self::Device => "device flow",
            Self::Jwt => "JWT bearer flow",
            Self::ClientCredentials => "client credentials flow",
            Self::RefreshToken => "refresh token flow",
        }
    }
}

fn describe(description: &str) -> String {
    if description.is_empty() {
        String::new()
    } else {
        format!(" ({description})")
    }
}

fn flow_not_allowed(flow: LoginFlow, detail: &str) -> String {
    let what = match flow {
        LoginFlow::Device => {
            "device flow not enabled on the External Client App (enable \"Enable Device Flow\" \
             in its OAuth settings, or log in with --web)"
        }
        LoginFlow::ClientCredentials => {
            "client credentials flow not enabled on the External Client App (enable it and set \
             a Run As user; it works only at the org's My Domain login URL)"
        }
        LoginFlow::Jwt => {
            "JWT bearer flow not accepted by the External Client App (upload the certificate \
             and pre-authorize the user)"
        }
        LoginFlow::Web | LoginFlow::RefreshToken => {
            "the External Client App does not allow this flow"
        }
    };
    format!("{what}{}", describe(detail))
}

impl AuthError {
    /// The exit status of SPEC §7 this error stands for.
    #[must_use]
    pub fn status(&self) -> ExitStatus {
        match self {
            Self::Refused { .. }
            | Self::FlowNotAllowed { .. }
            | Self::Denied { .. }
            | Self::StateMismatch => ExitStatus::Auth,
            Self::Timeout(_) | Self::Network { .. } | Self::Unexpected { .. } | Self::Local(_) => {
                ExitStatus::Failed
            }
            Self::Usage(_) => ExitStatus::Usage,
            Self::Store(e) => e.status(),
        }
    }

    /// The error as a [`Fail`] with the hint the user needs for environment `env`.
    #[must_use]
    pub fn into_fail(self, env: &str) -> Fail {
        let status = self.status();
        let hint = match &self {
            Self::Store(e) => e.hint(env),
            Self::Refused { .. } | Self::Denied { .. } | Self::StateMismatch => {
                Some(login_hint(env))
            }
            _ => None,
        };
        let fail = Fail::new(status, self.to_string());
        match hint {
            Some(h) => fail.hint(h),
            None => fail,
        }
    }

    /// As [`into_fail`](Self::into_fail), for a flow that logs in without a person (JWT bearer,
    /// client credentials): a refused grant's hint names what to check, not `login`, which would
    /// be refused the same way.
    #[must_use]
    pub fn into_unattended_fail(self, env: &str, flow: LoginFlow) -> Fail {
        let refused = matches!(self, Self::Refused { .. });
        let fail = self.into_fail(env);
        let hint = match flow {
            LoginFlow::ClientCredentials => {
                "check $WALKME_SF_CLIENT_SECRET and the consumer key, and that the External \
                 Client App allows the client credentials flow with a run-as user"
            }
            LoginFlow::Jwt => {
                "check `jwt_key_file` (the key of the certificate uploaded to the External \
                 Client App), the consumer key, and that `username` is pre-authorized for the app"
            }
            _ => return fail,
        };
        if refused { fail.hint(hint) } else { fail }
    }
}

/// The hint of every "not logged in / credentials refused" error.
#[must_use]
pub fn login_hint(env: &str) -> String {
    format!("run `walkme-sf login --env {env}`")
}

/// Turn a non-2xx answer of an OAuth endpoint into an [`AuthError`] (research §1.9). `flow`
/// decides the wording when Salesforce says the app does not allow what was asked.
#[must_use]
pub fn classify_error(
    flow: LoginFlow,
    url: &str,
    status: u16,
    content_type: &str,
    body: &str,
) -> AuthError {
    if let Ok(err) = serde_json::from_str::<OAuthErrorBody>(body) {
        let description = err.error_description.unwrap_or_default();
        return classify_oauth(flow, url, status, err.error, description);
    }
    // A REST-style error array (`[{"message":…,"errorCode":…}]`), as the recorded 401 shows.
    if let Ok(items) = serde_json::from_str::<Vec<RestError>>(body)
        && let Some(first) = items.into_iter().next()
    {
        return AuthError::Refused {
            error: first.error_code,
            description: first.message,
        };
    }
    let detail = if content_type.contains("html") || body.trim_start().starts_with('<') {
        "an HTML page instead of an OAuth answer; check that the login URL is a Salesforce login \
         host"
            .to_owned()
    } else {
        snippet(body)
    };
    AuthError::Unexpected {
        url: url.to_owned(),
        status,
        detail,
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RestError {
    message: String,
    error_code: String,
}

fn classify_oauth(
    flow: LoginFlow,
    url: &str,
    status: u16,
    error: String,
    description: String,
) -> AuthError {
    let lower = description.to_ascii_lowercase();
    let not_enabled = lower.contains("not enabled")
        || lower.contains("not supported")
        || lower.contains("not allowed")
        || lower.contains("no client credentials user enabled");
    match error.as_str() {
        "unsupported_grant_type" | "unsupported_response_type" => AuthError::FlowNotAllowed {
            flow,
            detail: format!("{error}: {description}"),
        },
        "access_denied" => AuthError::Denied { description },
        _ if not_enabled && flow != LoginFlow::RefreshToken => AuthError::FlowNotAllowed {
            flow,
            detail: format!("{error}: {description}"),
        },
        _ if status >= 500 => AuthError::Unexpected {
            url: url.to_owned(),
            status,
            detail: format!("{error}: {description}"),
        },
        _ => AuthError::Refused { error, description },
    }
}

/// The first 200 characters of a body, for messages. Token endpoints never echo secrets in
/// error bodies, but the text is still cut short to keep messages readable.
fn snippet(body: &str) -> String {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return "empty body".to_owned();
    }
    let mut out: String = trimmed.chars().take(200).collect();
    if trimmed.chars().count() > 200 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_body(raw: &str) -> serde_json::Value {
        let exchange: serde_json::Value = serde_json::from_str(raw).unwrap();
        exchange["body"].clone()
    }

    #[test]
    fn parses_the_recorded_token_responses() {
        for raw in [
            include_str!("../../tests/fixtures/salesforce-recorded/login_response_200.json"),
            include_str!(
                "../../tests/fixtures/salesforce-recorded/sandbox_login_response_200.json"
            ),
            include_str!(
                "../../tests/fixtures/salesforce-recorded/poll_device_code_authentication_response_200.json"
            ),
        ] {
            let token: TokenResponse = serde_json::from_value(fixture_body(raw)).unwrap();
            assert_eq!(token.instance_url, "https://eu11.salesforce.com");
            assert!(token.access_token.expose().starts_with("00D"));
            let identity = token.identity().unwrap();
            assert!(identity.org_id.starts_with("00D"));
            assert!(identity.user_id.starts_with("005"));
            assert!(token.issued_at_time().unwrap().timestamp() > 1_476_000_000);
            assert!(!format!("{token:?}").contains(token.access_token.expose()));
        }
        let device: TokenResponse = serde_json::from_value(fixture_body(include_str!(
            "../../tests/fixtures/salesforce-recorded/poll_device_code_authentication_response_200.json"
        )))
        .unwrap();
        assert_eq!(
            device.refresh_token.as_ref().unwrap().expose(),
            "your token here"
        );
        assert_eq!(device.scope.as_deref(), Some("api"));
        assert_eq!(
            device.identity().unwrap(),
            Identity {
                org_id: "00DD00000008Uw2MAE".into(),
                user_id: "005D0000001cAGmIAM".into()
            }
        );
    }

    #[test]
    fn identity_url_parsing_is_strict() {
        assert!(parse_identity_url("https://x/id/00D/005/").is_some());
        assert!(parse_identity_url("https://x/other/00D/005").is_none());
        assert!(parse_identity_url("").is_none());
    }

    #[test]
    fn the_recorded_401_is_a_refusal() {
        let body = fixture_body(include_str!(
            "../../tests/fixtures/salesforce-recorded/login_response_401.json"
        ));
        let err = classify_error(
            LoginFlow::RefreshToken,
            "https://login.salesforce.com/services/oauth2/token",
            401,
            "application/json",
            &body.to_string(),
        );
        assert!(matches!(&err, AuthError::Refused { error, .. } if error == "INVALID_SESSION_ID"));
        let fail = err.into_fail("sandbox");
        assert_eq!(fail.status, ExitStatus::Auth);
        assert_eq!(
            fail.hint.as_deref(),
            Some("run `walkme-sf login --env sandbox`")
        );
    }

    #[test]
    fn oauth_errors_are_classified() {
        let url = "https://login.salesforce.com/services/oauth2/token";
        let e = classify_error(
            LoginFlow::RefreshToken,
            url,
            400,
            "application/json",
            r#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#,
        );
        assert_eq!(e.status(), ExitStatus::Auth);
        assert!(e.to_string().contains("expired access/refresh token"));

        let e = classify_error(
            LoginFlow::Device,
            url,
            400,
            "application/json",
            r#"{"error":"invalid_request","error_description":"device flow not enabled for this app"}"#,
        );
        assert!(matches!(e, AuthError::FlowNotAllowed { .. }));
        assert!(
            e.to_string()
                .contains("device flow not enabled on the External Client App")
        );

        let e = classify_error(
            LoginFlow::Device,
            url,
            400,
            "application/json",
            r#"{"error":"unsupported_response_type"}"#,
        );
        assert!(e.to_string().contains("device flow not enabled"));

        let e = classify_error(
            LoginFlow::Web,
            url,
            503,
            "text/html",
            "<html><body>Down</body></html>",
        );
        assert!(matches!(e, AuthError::Unexpected { status: 503, .. }));
        assert_eq!(e.status(), ExitStatus::Failed);
        assert!(e.to_string().contains("HTML"));
    }
}
