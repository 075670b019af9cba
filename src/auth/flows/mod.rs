//! The OAuth flows of SPEC §2–§3 against a Salesforce login host: refresh, browser (web server
//! + PKCE), device, JWT bearer, client credentials, plus revoke and userinfo.
//!
//! Every function takes the shared `reqwest::Client` of [`crate::auth::http::http_client`] and
//! returns a typed [`AuthError`]; none prints secrets. Only `web` and `device` print (to stderr),
//! because showing the URL or the code is their job.

pub mod device;
pub mod web;

use std::path::Path;

use crate::auth::http::{bearer, oauth_url, post_form, request_token};
use crate::auth::secret::Secret;
use crate::auth::token::{AuthError, LoginFlow, TokenResponse, classify_error};
use crate::config::model::EnvKind;

/// Exchange a refresh token for an access token (research §1.4). The answer carries a new
/// `refresh_token` only when the app rotates them; the caller must store it at once.
pub async fn refresh(
    http: &reqwest::Client,
    login_url: &str,
    client_id: &str,
    refresh_token: &Secret,
) -> Result<TokenResponse, AuthError> {
    request_token(
        http,
        login_url,
        LoginFlow::RefreshToken,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", client_id),
        ],
    )
    .await
}

/// Client credentials (research §1.6, last paragraph): the secret comes from
/// `$WALKME_SF_CLIENT_SECRET` only (SPEC §3); Salesforce accepts it only at a My Domain host.
pub async fn client_credentials(
    http: &reqwest::Client,
    login_url: &str,
    client_id: &str,
    client_secret: &Secret,
) -> Result<TokenResponse, AuthError> {
    request_token(
        http,
        login_url,
        LoginFlow::ClientCredentials,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret.expose()),
        ],
    )
    .await
}

/// The audience of a JWT assertion: the standard login host of the environment's kind, also
/// when the token is requested at a My Domain or loopback URL (research §1.6: "It is not the
/// My Domain URL, even when you POST to the My Domain host").
#[must_use]
pub fn jwt_audience(kind: EnvKind) -> &'static str {
    kind.default_login_url()
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Eq)]
pub struct JwtClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
}

/// Build the RS256 assertion: iss = client id, sub = username, aud by kind, exp = now + 3 min
/// (research §1.6).
pub fn jwt_assertion(
    kind: EnvKind,
    client_id: &str,
    username: &str,
    private_key_pem: &Secret,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Secret, AuthError> {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem.expose().as_bytes())
        .map_err(|e| {
            AuthError::Usage(format!("the JWT key is not an RSA private key in PEM: {e}"))
        })?;
    let claims = JwtClaims {
        iss: client_id.to_owned(),
        sub: username.to_owned(),
        aud: jwt_audience(kind).to_owned(),
        exp: now.timestamp() + 180,
    };
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    jsonwebtoken::encode(&header, &claims, &key)
        .map(Secret::new)
        .map_err(|e| AuthError::Usage(format!("could not sign the JWT assertion: {e}")))
}

/// Read a JWT private key file.
pub fn read_key_file(path: &Path) -> Result<Secret, AuthError> {
    std::fs::read_to_string(path)
        .map(Secret::new)
        .map_err(|e| AuthError::Usage(format!("cannot read jwt_key_file {}: {e}", path.display())))
}

/// JWT bearer flow (research §1.6): a fresh assertion every time; no refresh token comes back.
pub async fn jwt(
    http: &reqwest::Client,
    login_url: &str,
    kind: EnvKind,
    client_id: &str,
    username: &str,
    private_key_pem: &Secret,
) -> Result<TokenResponse, AuthError> {
    let assertion = jwt_assertion(
        kind,
        client_id,
        username,
        private_key_pem,
        chrono::Utc::now(),
    )?;
    request_token(
        http,
        login_url,
        LoginFlow::Jwt,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion.expose()),
        ],
    )
    .await
}

/// Revoke a token (research §1.8): POST with the token in the form body, never in a URL.
/// Revoking a refresh token revokes its access tokens too.
pub async fn revoke(
    http: &reqwest::Client,
    login_url: &str,
    token: &Secret,
) -> Result<(), AuthError> {
    let url = oauth_url(login_url, "revoke");
    let (status, content_type, body) = post_form(http, &url, &[("token", token.expose())]).await?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(classify_error(
            LoginFlow::RefreshToken,
            &url,
            status,
            &content_type,
            &body,
        ))
    }
}

/// The `OpenID` userinfo answer (research §1.7); only the fields walkme-sf shows.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct UserInfo {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub organization_id: Option<String>,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// `GET {instance_url}/services/oauth2/userinfo` (as sfdx-core calls it, research §1.7).
pub async fn userinfo(
    http: &reqwest::Client,
    instance_url: &str,
    access_token: &Secret,
) -> Result<UserInfo, AuthError> {
    let url = oauth_url(instance_url, "userinfo");
    let network = |source| AuthError::Network {
        url: url.clone(),
        source,
    };
    let resp = http
        .get(&url)
        .header(reqwest::header::AUTHORIZATION, bearer(access_token))
        .header(reqwest::header::ACCEPT, "application/json")
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
    if !(200..300).contains(&status) {
        return Err(classify_error(
            LoginFlow::RefreshToken,
            &url,
            status,
            &content_type,
            &body,
        ));
    }
    serde_json::from_str(&body).map_err(|e| AuthError::Unexpected {
        url: url.clone(),
        status,
        detail: format!("userinfo could not be read: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_audience_follows_the_kind_not_the_host() {
        assert_eq!(
            jwt_audience(EnvKind::Production),
            "https://login.salesforce.com"
        );
        assert_eq!(
            jwt_audience(EnvKind::Sandbox),
            "https://test.salesforce.com"
        );
    }

    #[test]
    fn jwt_assertion_is_rs256_with_the_claims_salesforce_wants() {
        let pem = Secret::new(include_str!("../../../tests/fixtures/jwt/test-key.pem"));
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let jwt =
            jwt_assertion(EnvKind::Sandbox, "3MVG-client", "me@example.com", &pem, now).unwrap();
        let header = jsonwebtoken::decode_header(jwt.expose()).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        let public = jsonwebtoken::DecodingKey::from_rsa_pem(include_bytes!(
            "../../../tests/fixtures/jwt/test-key.pub.pem"
        ))
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_exp = false;
        validation.set_audience(&["https://test.salesforce.com"]);
        let data = jsonwebtoken::decode::<JwtClaims>(jwt.expose(), &public, &validation).unwrap();
        assert_eq!(
            data.claims,
            JwtClaims {
                iss: "3MVG-client".into(),
                sub: "me@example.com".into(),
                aud: "https://test.salesforce.com".into(),
                exp: 1_700_000_180,
            }
        );
    }

    #[test]
    fn a_bad_key_is_a_usage_error() {
        let e = jwt_assertion(
            EnvKind::Production,
            "c",
            "u",
            &Secret::new("not a key"),
            chrono::Utc::now(),
        )
        .unwrap_err();
        assert_eq!(e.status(), crate::error::ExitStatus::Usage);
    }
}
