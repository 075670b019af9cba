//! Salesforce's device flow, hand-written because it is not RFC 8628 (research §1.5,
//! rust-stack §3.1): both steps POST to `/services/oauth2/token`; step 1 sends
//! `response_type=device_code`, the poll sends `grant_type=device&code=…`; the code answer has
//! no `expires_in`, so the deadline is ours.

use std::time::Duration;

use crate::auth::http::{oauth_url, parse_token, post_form};
use crate::auth::secret::Secret;
use crate::auth::token::{AuthError, LoginFlow, OAuthErrorBody, TokenResponse, classify_error};

/// The default deadline of the whole flow: Salesforce gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Step 1's answer (recorded fixture `device_code_authorization_response_200.json`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct DeviceCode {
    pub device_code: Secret,
    pub user_code: String,
    pub verification_uri: String,
    /// Seconds between polls; RFC 8628's default of 5 when absent.
    #[serde(default = "default_interval")]
    pub interval: u64,
}

fn default_interval() -> u64 {
    5
}

/// Settings of a device login.
#[derive(Debug, Clone)]
pub struct DeviceOptions {
    pub scope: String,
    /// The flow's own deadline (default 10 min, `$WALKME_SF_LOGIN_TIMEOUT` seconds).
    pub timeout: Duration,
}

impl Default for DeviceOptions {
    fn default() -> Self {
        Self {
            scope: "api refresh_token".to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Step 1: ask for a device code and a user code.
pub async fn request_code(
    http: &reqwest::Client,
    login_url: &str,
    client_id: &str,
    scope: &str,
) -> Result<DeviceCode, AuthError> {
    let url = oauth_url(login_url, "token");
    let (status, content_type, body) = post_form(
        http,
        &url,
        &[
            ("response_type", "device_code"),
            ("client_id", client_id),
            ("scope", scope),
        ],
    )
    .await?;
    if !(200..300).contains(&status) {
        // Salesforce's wording for "device flow not enabled" is not documented (research
        // §1.5 [U]); a refused code request with a known client id can only mean that.
        return Err(
            match classify_error(LoginFlow::Device, &url, status, &content_type, &body) {
                AuthError::Refused { error, description }
                    if !matches!(error.as_str(), "invalid_client_id" | "invalid_client") =>
                {
                    AuthError::FlowNotAllowed {
                        flow: LoginFlow::Device,
                        detail: format!("{error}: {description}"),
                    }
                }
                other => other,
            },
        );
    }
    serde_json::from_str(&body).map_err(|_| AuthError::FlowNotAllowed {
        flow: LoginFlow::Device,
        detail: "the answer to the device code request is not a device code".to_owned(),
    })
}

/// What one poll learnt.
#[derive(Debug)]
pub enum Poll {
    Done(Box<TokenResponse>),
    Pending,
    SlowDown,
}

/// One poll of step 2.
pub async fn poll_once(
    http: &reqwest::Client,
    login_url: &str,
    client_id: &str,
    code: &DeviceCode,
) -> Result<Poll, AuthError> {
    let url = oauth_url(login_url, "token");
    let (status, content_type, body) = post_form(
        http,
        &url,
        &[
            ("grant_type", "device"),
            ("client_id", client_id),
            ("code", code.device_code.expose()),
        ],
    )
    .await?;
    if (200..300).contains(&status) {
        return parse_token(&url, status, &body).map(|t| Poll::Done(Box::new(t)));
    }
    // Only `authorization_pending` (and RFC 8628's `slow_down`) mean "keep polling"; any other
    // error is terminal, as sfdx-core treats it (research §1.5).
    if let Ok(err) = serde_json::from_str::<OAuthErrorBody>(&body) {
        match err.error.as_str() {
            "authorization_pending" => return Ok(Poll::Pending),
            "slow_down" => return Ok(Poll::SlowDown),
            _ => {}
        }
    }
    Err(classify_error(
        LoginFlow::Device,
        &url,
        status,
        &content_type,
        &body,
    ))
}

/// The whole device login: request the codes, print the URL and the user code to stderr, poll
/// at `interval` (+5 s on each `slow_down`) until success, a terminal error or the deadline.
pub async fn login(
    http: &reqwest::Client,
    login_url: &str,
    client_id: &str,
    options: &DeviceOptions,
) -> Result<TokenResponse, AuthError> {
    let deadline = tokio::time::Instant::now() + options.timeout;
    let code = request_code(http, login_url, client_id, &options.scope).await?;
    eprintln!(
        "To log in, open {} and enter the code {}",
        crate::output::sanitize(&code.verification_uri),
        crate::output::sanitize(&code.user_code)
    );
    let mut interval = Duration::from_secs(code.interval.max(1));
    loop {
        if tokio::time::Instant::now() + interval > deadline {
            return Err(AuthError::Timeout(options.timeout.as_secs()));
        }
        tokio::time::sleep(interval).await;
        match poll_once(http, login_url, client_id, &code).await? {
            Poll::Done(token) => return Ok(*token),
            Poll::Pending => {}
            Poll::SlowDown => interval += Duration::from_secs(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_recorded_device_code() {
        let raw = include_str!(
            "../../../tests/fixtures/salesforce-recorded/device_code_authorization_response_200.json"
        );
        let exchange: serde_json::Value = serde_json::from_str(raw).unwrap();
        let code: DeviceCode = serde_json::from_value(exchange["body"].clone()).unwrap();
        assert_eq!(code.user_code, "X1D9SEET");
        assert_eq!(code.interval, 5);
        assert_eq!(
            code.verification_uri,
            "https://login.salesforce.com/setup/connect"
        );
        assert!(!format!("{code:?}").contains("M01WRzlQ"));
    }

    #[tokio::test]
    async fn code_request_refusals_and_poll_answers() {
        use crate::salesforce::fake::{FakeResponse, start};
        let server = start(|req| {
            let form = req.form();
            let oauth = |error: &str| {
                FakeResponse::json(
                    400,
                    &serde_json::json!({"error": error, "error_description": "x"}),
                )
            };
            match (
                form.get("client_id").map(String::as_str),
                form.get("code").map(String::as_str),
            ) {
                (Some("unknown"), _) => oauth("invalid_client_id"),
                (Some("no-device"), _) => oauth("invalid_request"),
                (_, Some("pending")) => oauth("authorization_pending"),
                (_, Some("slow")) => oauth("slow_down"),
                (_, Some("denied")) => oauth("access_denied"),
                _ => FakeResponse::text(500, "text/html", "<html></html>"),
            }
        })
        .await;
        let http = reqwest::Client::new();
        let e = request_code(&http, &server.url, "no-device", "api")
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("device flow not enabled on the External Client App")
        );
        let e = request_code(&http, &server.url, "unknown", "api")
            .await
            .unwrap_err();
        assert!(matches!(e, AuthError::Refused { .. }));

        let code = |c: &str| DeviceCode {
            device_code: Secret::new(c),
            user_code: "U".into(),
            verification_uri: "https://x/setup/connect".into(),
            interval: 1,
        };
        let poll = |c: &'static str| {
            let http = http.clone();
            let url = server.url.clone();
            async move { poll_once(&http, &url, "id", &code(c)).await }
        };
        assert!(matches!(poll("pending").await, Ok(Poll::Pending)));
        assert!(matches!(poll("slow").await, Ok(Poll::SlowDown)));
        assert!(matches!(
            poll("denied").await,
            Err(AuthError::Denied { .. })
        ));
        assert!(matches!(
            poll("other").await,
            Err(AuthError::Unexpected { status: 500, .. })
        ));
        let form = server.requests()[2].form();
        assert_eq!(form["grant_type"], "device");
        assert_eq!(form["code"], "pending");
    }
}
