//! The HTTP client every Salesforce call goes through, the URL rules of SPEC §3 and the form
//! POST every token endpoint shares.

use std::time::Duration;

use crate::auth::secret::Secret;
use crate::auth::token::{AuthError, LoginFlow, TokenResponse, classify_error};

/// The user-agent: the tool and its version.
pub const USER_AGENT: &str = concat!("walkme-sf/", env!("CARGO_PKG_VERSION"));

/// One `reqwest::Client`: rustls with the system's trust store (reqwest's default), timeouts
/// connect 10 s / request 120 s, redirects off (oauth2's advice against SSRF; Salesforce API
/// calls need none), proxies from the environment (reqwest's default).
pub fn http_client() -> Result<reqwest::Client, AuthError> {
    client_with(reqwest::redirect::Policy::none())
}

/// The client a report is downloaded with: as [`http_client`], but following up to five
/// redirects (a download link often leads to storage elsewhere), each to an address the URL
/// rules allow (`https://`, or `http://` on loopback), and to this machine only from a link on
/// this machine: a remote link must not make the tool read a local service. It sends no
/// Salesforce credential.
pub fn download_client() -> Result<reqwest::Client, AuthError> {
    client_with(reqwest::redirect::Policy::custom(|attempt| {
        let from_loopback = attempt.previous().first().is_some_and(is_loopback);
        let to = attempt.url();
        let allowed = match to.scheme() {
            "https" => from_loopback || !is_loopback(to),
            "http" => from_loopback && is_loopback(to),
            _ => false,
        };
        if attempt.previous().len() > 5 {
            attempt.error("more than five redirects")
        } else if allowed {
            attempt.follow()
        } else {
            attempt.error("a redirect to an address that is not https://, or to this machine")
        }
    }))
}

fn client_with(redirect: reqwest::redirect::Policy) -> Result<reqwest::Client, AuthError> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(10))
        .timeout(crate::tuning::http_timeout())
        .redirect(redirect)
        .build()
        .map_err(|e| AuthError::Local(format!("could not set up HTTPS: {e}")))
}

/// A URL as run logs and messages show it: without user name, password, query string
/// or fragment (a signed download link carries its signature in the query), `?…` marking a
/// query left out; as written when it has none of them.
#[must_use]
pub fn shown_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return String::from("(a URL that does not parse)");
    };
    let query = url.query().is_some();
    if !query && url.username().is_empty() && url.password().is_none() && url.fragment().is_none() {
        return raw.to_owned();
    }
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    let mut shown = url.to_string();
    if query {
        shown.push_str("?…");
    }
    shown
}

/// Whether a URL's host is loopback: `localhost`, `127.0.0.0/8`, `[::1]`.
#[must_use]
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Check a login or instance URL: `https://`, or `http://` on a loopback host (SPEC §3).
/// Returns the URL without a trailing slash.
pub fn check_url(what: &str, raw: &str) -> Result<String, AuthError> {
    let url = url::Url::parse(raw)
        .map_err(|e| AuthError::Usage(format!("{what} `{raw}` is not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(AuthError::Usage(format!(
                "{what} `{raw}` uses plain http://, which is allowed only for loopback hosts \
                 (localhost, 127.0.0.0/8, [::1]); use https://"
            )));
        }
        other => {
            return Err(AuthError::Usage(format!(
                "{what} `{raw}` has scheme `{other}`; use https://"
            )));
        }
    }
    if url.host().is_none() {
        return Err(AuthError::Usage(format!("{what} `{raw}` has no host")));
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// `{login_url}/services/oauth2/{endpoint}`.
#[must_use]
pub fn oauth_url(login_url: &str, endpoint: &str) -> String {
    format!(
        "{}/services/oauth2/{endpoint}",
        login_url.trim_end_matches('/')
    )
}

/// A form POST to an OAuth endpoint; the answer's status, content type and body.
pub(crate) async fn post_form(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> Result<(u16, String, String), AuthError> {
    let network = |source| AuthError::Network {
        url: url.to_owned(),
        source,
    };
    let resp = http
        .post(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .form(form)
        .send()
        .await
        .map_err(network)?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = resp.text().await.map_err(network)?;
    Ok((status, content_type, body))
}

/// POST a grant to `/services/oauth2/token` and parse the token response. A request that did
/// not reach Salesforce (no connection) or that was turned away unprocessed (502, 503) is sent
/// again, after 1, 2 and 4 s (jittered): a daily run must not fail on a moment's outage. Nothing
/// else is repeated, a gateway timeout (504) neither: a grant Salesforce may have taken (a
/// rotated refresh token, a used code) must not be sent twice.
pub(crate) async fn request_token(
    http: &reqwest::Client,
    login_url: &str,
    flow: LoginFlow,
    form: &[(&str, &str)],
) -> Result<TokenResponse, AuthError> {
    use backon::Retryable as _;
    let url = oauth_url(login_url, "token");
    let url = url.as_str();
    let once = || async move {
        let (status, content_type, body) = post_form(http, url, form).await?;
        if (200..300).contains(&status) {
            parse_token(url, status, &body)
        } else {
            Err(classify_error(flow, url, status, &content_type, &body))
        }
    };
    let backoff = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(1))
        .with_max_times(3)
        .with_jitter();
    once.retry(backoff)
        .sleep(tokio::time::sleep)
        .when(not_taken)
        .await
}

/// Whether a token request was not taken by Salesforce's token service: no connection, or a
/// front end that answered 502 or 503 itself.
fn not_taken(error: &AuthError) -> bool {
    match error {
        AuthError::Network { source, .. } => source.is_connect(),
        AuthError::Unexpected { status, .. } => matches!(status, 502 | 503),
        _ => false,
    }
}

/// Parse a 2xx token body. The body holds tokens: on failure it is never quoted.
pub(crate) fn parse_token(url: &str, status: u16, body: &str) -> Result<TokenResponse, AuthError> {
    serde_json::from_str(body).map_err(|e| AuthError::Unexpected {
        url: url.to_owned(),
        status,
        detail: format!(
            "the token response could not be read (line {}, column {})",
            e.line(),
            e.column()
        ),
    })
}

/// The bearer header value.
pub(crate) fn bearer(token: &Secret) -> String {
    format!("Bearer {}", token.expose())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_spec_3() {
        assert_eq!(
            check_url("login URL", "https://test.salesforce.com/").unwrap(),
            "https://test.salesforce.com"
        );
        for ok in [
            "http://localhost:8080",
            "http://127.0.0.5:1",
            "http://[::1]:9",
        ] {
            check_url("login URL", ok).unwrap();
        }
        for bad in [
            "http://example.com",
            "ftp://x",
            "not a url",
            "http://10.0.0.1",
        ] {
            let e = check_url("login URL", bad).unwrap_err();
            assert_eq!(e.status(), crate::error::ExitStatus::Usage, "{bad}");
        }
    }

    #[test]
    fn user_agent_names_tool_and_version() {
        assert!(USER_AGENT.starts_with("walkme-sf/0."));
    }
}
