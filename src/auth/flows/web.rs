//! The browser login: authorization code + PKCE with the `oauth2` crate, and a loopback
//! listener for the redirect (research §1.2, rust-stack §3.3–§3.5).
//!
//! The redirect URI is `http://localhost:{redirect_port}/OauthRedirect`, as registered on the
//! app (Salesforce matches it exactly, port included). The listener binds 127.0.0.1 and, when it
//! can, `[::1]` on the same port, since a browser may resolve `localhost` to either.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use oauth2::TokenResponse as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::auth::http::oauth_url;
use crate::auth::secret::Secret;
use crate::auth::token::{AuthError, LoginFlow, TokenResponse, classify_error};

/// The default time the user has to finish the login in the browser (as the Salesforce CLI).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// How to open the authorization URL. The URL is printed to stderr in every case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opener {
    /// `$BROWSER`: run this program with the URL as its only argument.
    Command(String),
    /// The system's browser, through the `webbrowser` crate.
    System,
    /// Print only (e.g. over SSH).
    PrintOnly,
}

impl Opener {
    /// `$BROWSER` when set and not empty, else the system's browser.
    #[must_use]
    pub fn from_env() -> Self {
        match std::env::var("BROWSER") {
            Ok(cmd) if !cmd.trim().is_empty() => Self::Command(cmd),
            _ => Self::System,
        }
    }

    /// Try to open `url`; failures are reported as a note, never an error (the URL is printed).
    pub fn open(&self, url: &str) {
        let result = match self {
            Self::Command(cmd) => std::process::Command::new(cmd)
                .arg(url)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .spawn()
                .map(drop),
            Self::System => webbrowser::open(url),
            Self::PrintOnly => Ok(()),
        };
        if let Err(e) = result {
            eprintln!("(could not open a browser: {e}; open the URL above yourself)");
        }
    }
}

/// Settings of a browser login.
#[derive(Debug, Clone)]
pub struct WebOptions {
    pub redirect_port: u16,
    pub scope: String,
    pub timeout: Duration,
    pub opener: Opener,
}

impl WebOptions {
    #[must_use]
    pub fn new(redirect_port: u16) -> Self {
        Self {
            redirect_port,
            scope: "api refresh_token".to_owned(),
            timeout: DEFAULT_TIMEOUT,
            opener: Opener::from_env(),
        }
    }
}

/// The loopback listener waiting for the browser's redirect.
#[derive(Debug)]
pub struct Loopback {
    v4: TcpListener,
    v6: Option<TcpListener>,
    port: u16,
}

/// The callback path registered on the app.
pub const CALLBACK_PATH: &str = "/OauthRedirect";

impl Loopback {
    /// Bind 127.0.0.1 (required) and `[::1]` (best effort) at `port`; 0 picks a free port.
    pub async fn bind(port: u16) -> Result<Self, AuthError> {
        let v4 = TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
            AuthError::Local(format!(
                "cannot listen on 127.0.0.1:{port} for the browser's redirect: {e} (is another \
                 login running? `redirect_port` in the environment changes the port, which must \
                 match the app's callback URL)"
            ))
        })?;
        let port = v4
            .local_addr()
            .map_err(|e| AuthError::Local(e.to_string()))?
            .port();
        let v6 = TcpListener::bind(("::1", port)).await.ok();
        Ok(Self { v4, v6, port })
    }

    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://localhost:{port}/OauthRedirect`.
    #[must_use]
    pub fn redirect_uri(&self) -> String {
        format!("http://localhost:{}{CALLBACK_PATH}", self.port)
    }

    /// Serve requests until the redirect arrives; return the authorization code after checking
    /// `state`. Other paths get 404, other methods 405 (as sfdx-core's `webOAuthServer`).
    pub async fn wait(self, expected_state: &str, timeout: Duration) -> Result<Secret, AuthError> {
        let serve = async {
            loop {
                let stream = match &self.v6 {
                    Some(v6) => tokio::select! {
                        r = self.v4.accept() => r,
                        r = v6.accept() => r,
                    },
                    None => self.v4.accept().await,
                };
                let Ok((stream, _)) = stream else { continue };
                if let Some(outcome) = handle(stream, expected_state).await {
                    return outcome;
                }
            }
        };
        tokio::time::timeout(timeout, serve)
            .await
            .map_err(|_| AuthError::Timeout(timeout.as_secs()))?
    }
}

/// Read one request, answer it, and say whether it ended the login.
async fn handle(mut stream: TcpStream, expected_state: &str) -> Option<Result<Secret, AuthError>> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 1024];
    // The request head only; 16 KiB is far more than a redirect needs.
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or_default().split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or("/"),
    );
    let (status, page, outcome) = callback_outcome(method, target, expected_state);
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{page}",
        page.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
    outcome
}

/// The error codes of an authorization answer (RFC 6749 §4.1.2.1).
const STANDARD_ERRORS: &[&str] = &[
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
];

/// Decide the answer to one request on the loopback port: the HTTP status line, the page, and
/// the login's outcome when this request ends it.
fn callback_outcome(
    method: &str,
    target: &str,
    expected_state: &str,
) -> (&'static str, String, Option<Result<Secret, AuthError>>) {
    let page = |title: &str, text: &str| {
        format!(
            "<!doctype html><html><head><title>walkme-sf</title></head><body><h1>{title}</h1>\
             <p>{text}</p></body></html>"
        )
    };
    let Ok(url) = url::Url::parse(&format!("http://localhost{target}")) else {
        return ("400 Bad Request", page("Bad request", ""), None);
    };
    if !url.path().starts_with(CALLBACK_PATH) {
        return ("404 Not Found", page("Not found", ""), None);
    }
    if method != "GET" {
        return (
            "405 Method Not Allowed",
            page("Method not allowed", ""),
            None,
        );
    }
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    // The state first: an answer with another state is not Salesforce's (any page in the
    // browser can open this port). An error without one may be (its documented examples carry
    // none), but then only an error code of RFC 6749 §4.1.2.1 is taken, without its
    // description: nothing a page made up reaches the terminal.
    let state = query.get("state").map(String::as_str);
    let standard_error = query
        .get("error")
        .is_some_and(|e| STANDARD_ERRORS.contains(&e.as_str()));
    if state.is_some_and(|s| s != expected_state) || (state.is_none() && !standard_error) {
        return (
            "400 Bad Request",
            page(
                "Login failed",
                "The answer did not match this login (state).",
            ),
            Some(Err(AuthError::StateMismatch)),
        );
    }
    if let Some(error) = query.get("error") {
        let description = match state {
            Some(_) => query.get("error_description").cloned().unwrap_or_default(),
            None => String::new(),
        };
        let err = if error == "access_denied" {
            AuthError::Denied { description }
        } else {
            classify_error(
                LoginFlow::Web,
                CALLBACK_PATH,
                400,
                "application/json",
                &serde_json::json!({"error": error, "error_description": description}).to_string(),
            )
        };
        let text = page(
            "Login failed",
            "You can close this tab and return to the terminal.",
        );
        return ("200 OK", text, Some(Err(err)));
    }
    match query.get("code") {
        Some(code) if !code.is_empty() => (
            "200 OK",
            page(
                "Logged in",
                "walkme-sf has the authorization. You can close this tab.",
            ),
            Some(Ok(Secret::new(code.clone()))),
        ),
        _ => ("400 Bad Request", page("Bad request", "No code."), None),
    }
}

/// Salesforce's extra token fields, for `oauth2`'s token response (rust-stack §3.2).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SfTokenFields {
    pub instance_url: String,
    pub id: String,
    #[serde(default)]
    pub issued_at: Option<String>,
}

impl oauth2::ExtraTokenFields for SfTokenFields {}

type SfOAuthToken = oauth2::StandardTokenResponse<SfTokenFields, oauth2::basic::BasicTokenType>;

type SfOAuthClient = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    SfOAuthToken,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
>;

type AdapterFuture = Pin<
    Box<
        dyn Future<Output = Result<oauth2::HttpResponse, oauth2::HttpClientError<reqwest::Error>>>
            + Send,
    >,
>;

/// oauth2 5 over reqwest 0.13 (rust-stack §3.3): oauth2 accepts any async closure as its client.
fn oauth_http(client: &reqwest::Client) -> impl Fn(oauth2::HttpRequest) -> AdapterFuture + use<> {
    let client = client.clone();
    move |req| {
        let client = client.clone();
        Box::pin(async move {
            let req = reqwest::Request::try_from(req).map_err(Box::new)?;
            let resp = client.execute(req).await.map_err(Box::new)?;
            let mut builder = oauth2::http::Response::builder().status(resp.status());
            for (k, v) in resp.headers() {
                builder = builder.header(k, v);
            }
            let body = resp.bytes().await.map_err(Box::new)?.to_vec();
            builder.body(body).map_err(oauth2::HttpClientError::Http)
        }) as AdapterFuture
    }
}

/// The whole browser login: listen, print and open the authorization URL, wait for the
/// redirect, check `state`, exchange the code with the PKCE verifier.
pub async fn login(
    http: &reqwest::Client,
    login_url: &str,
    client_id: &str,
    options: &WebOptions,
) -> Result<TokenResponse, AuthError> {
    let loopback = Loopback::bind(options.redirect_port).await?;
    let config_error = |e: url::ParseError| AuthError::Usage(format!("bad login URL: {e}"));
    let client = SfOAuthClient::new(oauth2::ClientId::new(client_id.to_owned()))
        .set_auth_uri(
            oauth2::AuthUrl::new(oauth_url(login_url, "authorize")).map_err(config_error)?,
        )
        .set_token_uri(oauth2::TokenUrl::new(oauth_url(login_url, "token")).map_err(config_error)?)
        .set_redirect_uri(oauth2::RedirectUrl::new(loopback.redirect_uri()).map_err(config_error)?)
        // Salesforce takes the client id in the form body (jsforce does the same).
        .set_auth_type(oauth2::AuthType::RequestBody);
    let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(oauth2::CsrfToken::new_random)
        .set_pkce_challenge(challenge);
    for scope in options.scope.split_whitespace() {
        request = request.add_scope(oauth2::Scope::new(scope.to_owned()));
    }
    let (url, state) = request.url();
    eprintln!("Open this URL in a browser to log in:\n\n  {url}\n");
    options.opener.open(url.as_str());
    let code = loopback.wait(state.secret(), options.timeout).await?;
    let token = client
        .exchange_code(oauth2::AuthorizationCode::new(code.expose().to_owned()))
        .set_pkce_verifier(verifier)
        .request_async(&oauth_http(http))
        .await
        .map_err(|e| exchange_error(login_url, e))?;
    Ok(TokenResponse {
        access_token: Secret::new(token.access_token().secret().clone()),
        refresh_token: token
            .refresh_token()
            .map(|t| Secret::new(t.secret().clone())),
        instance_url: token.extra_fields().instance_url.clone(),
        id: token.extra_fields().id.clone(),
        issued_at: token.extra_fields().issued_at.clone(),
        scope: token
            .scopes()
            .map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")),
        token_type: Some("Bearer".to_owned()),
    })
}

/// Map oauth2's error. Its `Parse` variant carries the raw body, which may hold tokens: it is
/// never shown (rust-stack §3.2).
fn exchange_error(
    login_url: &str,
    e: oauth2::RequestTokenError<
        oauth2::HttpClientError<reqwest::Error>,
        oauth2::basic::BasicErrorResponse,
    >,
) -> AuthError {
    let url = oauth_url(login_url, "token");
    match e {
        oauth2::RequestTokenError::ServerResponse(r) => {
            let body = serde_json::json!({
                "error": r.error().as_ref(),
                "error_description": r.error_description().cloned().unwrap_or_default(),
            });
            classify_error(
                LoginFlow::Web,
                &url,
                400,
                "application/json",
                &body.to_string(),
            )
        }
        oauth2::RequestTokenError::Request(oauth2::HttpClientError::Reqwest(source)) => {
            AuthError::Network {
                url,
                source: *source,
            }
        }
        oauth2::RequestTokenError::Request(other) => {
            AuthError::Local(format!("the token request failed: {other}"))
        }
        oauth2::RequestTokenError::Parse(..) => AuthError::Unexpected {
            url,
            status: 0,
            detail: "the token response could not be read".to_owned(),
        },
        oauth2::RequestTokenError::Other(detail) => AuthError::Unexpected {
            url,
            status: 0,
            detail,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_checks_path_method_state_and_errors() {
        let (s, _, o) = callback_outcome("GET", "/OauthRedirect?code=aPrx%3D%3D&state=S1", "S1");
        assert_eq!(s, "200 OK");
        assert_eq!(o.unwrap().unwrap().expose(), "aPrx==");

        let (s, _, o) = callback_outcome("GET", "/OauthRedirect?code=c&state=forged", "S1");
        assert_eq!(s, "400 Bad Request");
        assert!(matches!(o, Some(Err(AuthError::StateMismatch))));

        let (_, _, o) = callback_outcome(
            "GET",
            "/OauthRedirect?error=access_denied&error_description=end-user+denied+authorization&state=S1",
            "S1",
        );
        let err = o.unwrap().unwrap_err();
        assert!(matches!(err, AuthError::Denied { .. }));
        assert!(err.to_string().contains("end-user denied authorization"));

        // An error with another state is not Salesforce's; one without a state ends the login,
        // but its description is not shown.
        let forged = "/OauthRedirect?error=access_denied&error_description=run+this";
        let (s, _, o) = callback_outcome("GET", &format!("{forged}&state=forged"), "S1");
        assert_eq!(s, "400 Bad Request");
        assert!(matches!(o, Some(Err(AuthError::StateMismatch))));
        let err = callback_outcome("GET", forged, "S1")
            .2
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, AuthError::Denied { .. }), "{err}");
        assert!(!err.to_string().contains("run this"), "{err}");
        for made_up in [
            "/OauthRedirect?code=c",
            "/OauthRedirect?error=run+curl+evil",
        ] {
            let (s, _, o) = callback_outcome("GET", made_up, "S1");
            assert_eq!(s, "400 Bad Request", "{made_up}");
            let err = o.unwrap().unwrap_err();
            assert!(matches!(err, AuthError::StateMismatch), "{made_up}");
            assert!(!err.to_string().contains("curl"), "{err}");
        }

        assert!(callback_outcome("GET", "/favicon.ico", "S1").2.is_none());
        assert_eq!(
            callback_outcome("POST", "/OauthRedirect", "S1").0,
            "405 Method Not Allowed"
        );
    }

    async fn get(port: u16, target: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn loopback_serves_until_the_redirect() {
        let lb = Loopback::bind(0).await.unwrap();
        let port = lb.port();
        assert_eq!(
            lb.redirect_uri(),
            format!("http://localhost:{port}/OauthRedirect")
        );
        let waiter = tokio::spawn(lb.wait("xyz", Duration::from_secs(10)));
        assert!(get(port, "/favicon.ico").await.starts_with("HTTP/1.1 404"));
        assert!(
            get(port, "/OauthRedirect?code=abc&state=xyz")
                .await
                .starts_with("HTTP/1.1 200")
        );
        assert_eq!(waiter.await.unwrap().unwrap().expose(), "abc");
    }

    #[tokio::test]
    async fn loopback_times_out() {
        let lb = Loopback::bind(0).await.unwrap();
        let err = lb.wait("s", Duration::from_millis(50)).await.unwrap_err();
        assert!(matches!(err, AuthError::Timeout(_)));
    }
}
