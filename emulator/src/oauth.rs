//! OAuth 2.0 endpoints as Salesforce serves them (research §1): authorize, token (authorization
//! code + PKCE, device, refresh, JWT bearer, client credentials), revoke, userinfo, identity.

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::EndpointKind;
use crate::server::{Req, Resp};
use crate::state::{AuthCode, DeviceCode, Inner, ORG_ID, USER_ID, random_token};

fn oauth_err(status: u16, error: &str, description: &str) -> Resp {
    Resp::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

fn client_ok(g: &Inner, client_id: Option<&String>) -> bool {
    match (client_id, &g.cfg.client_id) {
        (Some(c), Some(want)) => c == want,
        (Some(c), None) => !c.is_empty(),
        (None, _) => false,
    }
}

pub fn handle(g: &mut Inner, url: &str, kind: EndpointKind, req: &Req) -> Resp {
    match kind {
        EndpointKind::Authorize => authorize(g, req),
        EndpointKind::Token => token(g, url, req),
        EndpointKind::Revoke => revoke(g, req),
        EndpointKind::Userinfo => match req.bearer().and_then(|t| g.session(t)) {
            Some(user) => Resp::json(200, &userinfo(url, &user)),
            None => Resp::text(403, "text/plain", "Bad_OAuth_Token"),
        },
        _ => Resp::err(404, "NOT_FOUND", "The requested resource does not exist"),
    }
}

fn authorize(g: &mut Inner, req: &Req) -> Resp {
    let f = req.form();
    let Some(redirect) = f.get("redirect_uri").filter(|r| !r.is_empty()) else {
        return Resp::text(
            400,
            "text/html",
            "<html><body>error=redirect_uri_mismatch&amp;error_description=redirect_uri%20must%20match%20configuration</body></html>",
        );
    };
    let Ok(mut target) = url::Url::parse(redirect) else {
        return Resp::text(
            400,
            "text/html",
            "<html><body>error=redirect_uri_mismatch</body></html>",
        );
    };
    let state = f.get("state").cloned();
    let reply = |target: &mut url::Url, pairs: &[(&str, &str)]| {
        {
            let mut q = target.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
            if let Some(s) = &state {
                q.append_pair("state", s);
            }
        }
        Resp::empty(302).header("Location", target.as_str())
    };
    if !client_ok(g, f.get("client_id")) {
        return reply(
            &mut target,
            &[
                ("error", "invalid_client_id"),
                ("error_description", "client identifier invalid"),
            ],
        );
    }
    if f.get("response_type").map(String::as_str) != Some("code") {
        return reply(
            &mut target,
            &[
                ("error", "unsupported_response_type"),
                ("error_description", "response type not supported"),
            ],
        );
    }
    if let Some(m) = f.get("code_challenge_method")
        && m != "S256"
    {
        return reply(
            &mut target,
            &[
                ("error", "invalid_request"),
                ("error_description", "invalid code_challenge_method"),
            ],
        );
    }
    if g.cfg.authorize_deny {
        return reply(
            &mut target,
            &[
                ("error", "access_denied"),
                ("error_description", "end-user denied authorization"),
            ],
        );
    }
    let code = format!("aPrx{}", random_token(60).replace(['.', '_'], "x"));
    g.codes.insert(
        code.clone(),
        AuthCode {
            client_id: f.get("client_id").cloned().unwrap_or_default(),
            redirect_uri: redirect.clone(),
            challenge: f.get("code_challenge").cloned(),
            scope: f
                .get("scope")
                .cloned()
                .unwrap_or_else(|| "api refresh_token".into()),
            created: Instant::now(),
        },
    );
    reply(&mut target, &[("code", &code)])
}

fn wants_refresh(scope: &str) -> bool {
    scope
        .split_whitespace()
        .any(|s| matches!(s, "refresh_token" | "offline_access" | "full"))
}

fn token(g: &mut Inner, url: &str, req: &Req) -> Resp {
    let f = req.form();
    if f.get("response_type").map(String::as_str) == Some("device_code") {
        return device_start(g, url, &f);
    }
    let grant = f.get("grant_type").cloned().unwrap_or_default();
    let username = g.cfg.username.clone();
    match grant.as_str() {
        "authorization_code" => {
            let Some(code) = f.get("code") else {
                return oauth_err(400, "invalid_grant", "invalid authorization code");
            };
            let Some(ac) = g.codes.remove(code) else {
                return oauth_err(400, "invalid_grant", "invalid authorization code");
            };
            // Codes are single-use and short-lived (Salesforce: 15 minutes).
            if ac.created.elapsed() > Duration::from_secs(900) {
                return oauth_err(400, "invalid_grant", "expired authorization code");
            }
            if f.get("client_id") != Some(&ac.client_id) {
                return oauth_err(400, "invalid_client_id", "client identifier invalid");
            }
            if f.get("redirect_uri") != Some(&ac.redirect_uri) {
                return oauth_err(
                    400,
                    "redirect_uri_mismatch",
                    "redirect_uri must match configuration",
                );
            }
            if let Some(challenge) = &ac.challenge {
                // Research §1.2: missing verifier → invalid_grant; wrong verifier → invalid_request.
                let Some(verifier) = f.get("code_verifier") else {
                    return oauth_err(400, "invalid_grant", "invalid code verifier");
                };
                let digest = Sha256::digest(verifier.as_bytes());
                let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
                if &computed != challenge {
                    return oauth_err(400, "invalid_request", "invalid code verifier");
                }
            }
            let refresh = wants_refresh(&ac.scope).then(String::new);
            Resp::json(200, &g.token_response(url, &username, &ac.scope, refresh))
        }
        "device" => device_poll(g, url, &f),
        "refresh_token" => {
            let Some(rt) = f.get("refresh_token") else {
                return oauth_err(400, "invalid_grant", "expired access/refresh token");
            };
            if !client_ok(g, f.get("client_id")) {
                return oauth_err(400, "invalid_client_id", "client identifier invalid");
            }
            let Some(user) = g.refresh.get(rt).cloned() else {
                return oauth_err(400, "invalid_grant", "expired access/refresh token");
            };
            // Rotation (Help "refresh token flow"): a new refresh token each time; the old dies.
            let next = if g.cfg.rotate_refresh_tokens {
                g.refresh.remove(rt);
                Some(String::new())
            } else {
                None
            };
            let mut body = g.token_response(url, &user, "api refresh_token", next);
            if !g.cfg.rotate_refresh_tokens
                && let Some(m) = body.as_object_mut()
            {
                m.remove("refresh_token");
            }
            // Access tokens minted from a refresh token die with it on revoke.
            if let Some(at) = body.get("access_token").and_then(Value::as_str)
                && let Some(t) = g.access.get_mut(at)
            {
                t.refresh = Some(
                    body.get("refresh_token")
                        .and_then(Value::as_str)
                        .unwrap_or(rt)
                        .to_owned(),
                );
            }
            Resp::json(200, &body)
        }
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => jwt(g, url, &f),
        "client_credentials" => {
            let ok = client_ok(g, f.get("client_id"))
                && g.cfg
                    .client_secret
                    .as_ref()
                    .is_some_and(|s| f.get("client_secret") == Some(s));
            if !ok {
                return oauth_err(400, "invalid_client", "invalid client credentials");
            }
            Resp::json(200, &g.token_response(url, &username, "api", None))
        }
        _ => oauth_err(400, "unsupported_grant_type", "grant type not supported"),
    }
}

fn device_start(g: &mut Inner, url: &str, f: &std::collections::HashMap<String, String>) -> Resp {
    if !client_ok(g, f.get("client_id")) {
        return oauth_err(400, "invalid_client_id", "client identifier invalid");
    }
    if !g.cfg.device_flow_enabled {
        // [U] Salesforce's exact answer when the app does not allow the device flow.
        return oauth_err(
            400,
            "invalid_request",
            "device flow is not enabled for this app",
        );
    }
    let device_code = random_token(120).replace(['.', '_'], "M");
    let user_code: String = random_token(40)
        .chars()
        .filter(char::is_ascii_uppercase)
        .chain("XXXXXXXX".chars())
        .take(8)
        .collect();
    g.devices.insert(
        device_code.clone(),
        DeviceCode {
            user_code: user_code.clone(),
            client_id: f.get("client_id").cloned().unwrap_or_default(),
            scope: f
                .get("scope")
                .cloned()
                .unwrap_or_else(|| "api refresh_token".into()),
            polls: 0,
            approved: false,
            denied: g.cfg.device_deny,
        },
    );
    // research §1.5: no expires_in, no verification_uri_complete.
    Resp::json(
        200,
        &json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": format!("{url}/setup/connect"),
            "interval": g.cfg.device_interval_secs,
        }),
    )
}

fn device_poll(g: &mut Inner, url: &str, f: &std::collections::HashMap<String, String>) -> Resp {
    let Some(code) = f.get("code") else {
        return oauth_err(400, "invalid_request", "missing required code parameter");
    };
    let approve_after = g.cfg.device_approve_after_polls;
    let deny = g.cfg.device_deny;
    let Some(d) = g.devices.get_mut(code) else {
        return oauth_err(400, "invalid_grant", "invalid device code");
    };
    if f.get("client_id") != Some(&d.client_id) {
        return oauth_err(400, "invalid_client_id", "client identifier invalid");
    }
    if d.denied || deny {
        g.devices.remove(code);
        return oauth_err(400, "access_denied", "end-user denied authorization");
    }
    if !d.approved && approve_after.is_some_and(|n| d.polls >= n) {
        d.approved = true;
    }
    if !d.approved {
        d.polls += 1;
        return oauth_err(400, "authorization_pending", "authorization pending");
    }
    let scope = d.scope.clone();
    g.devices.remove(code);
    let username = g.cfg.username.clone();
    let refresh = wants_refresh(&scope).then(String::new);
    Resp::json(200, &g.token_response(url, &username, &scope, refresh))
}

#[derive(serde::Deserialize)]
struct JwtClaims {
    iss: String,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    prn: Option<String>,
}

fn jwt(g: &mut Inner, url: &str, f: &std::collections::HashMap<String, String>) -> Resp {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, errors::ErrorKind};
    let Some(assertion) = f.get("assertion") else {
        return oauth_err(400, "invalid_grant", "invalid assertion");
    };
    let Some(pem) = g.cfg.jwt_public_key_pem.clone() else {
        return oauth_err(400, "invalid_grant", "invalid assertion");
    };
    let Ok(key) = DecodingKey::from_rsa_pem(pem.as_bytes()) else {
        return oauth_err(400, "invalid_grant", "invalid assertion");
    };
    // research §1.6: RS256 only; aud is login. or test.salesforce.com, never the My Domain.
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[
        "https://login.salesforce.com",
        "https://test.salesforce.com",
    ]);
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    v.leeway = 0;
    let data = match decode::<JwtClaims>(assertion, &key, &v) {
        Ok(d) => d,
        Err(e) => {
            let msg = match e.kind() {
                ErrorKind::InvalidAudience => "Audience validation failed",
                ErrorKind::ExpiredSignature => "expired authorization code",
                _ => "invalid assertion",
            };
            return oauth_err(400, "invalid_grant", msg);
        }
    };
    if !client_ok(g, Some(&data.claims.iss)) {
        return oauth_err(400, "invalid_client_id", "client identifier invalid");
    }
    // `prn` wins over `sub` in old clients (research §1.6).
    let user = data.claims.prn.or(data.claims.sub).unwrap_or_default();
    if user != g.cfg.username {
        return oauth_err(400, "invalid_grant", "user hasn't approved this consumer");
    }
    Resp::json(200, &g.token_response(url, &user, "api", None))
}

fn revoke(g: &mut Inner, req: &Req) -> Resp {
    let f = req.form();
    let Some(token) = f.get("token") else {
        return oauth_err(400, "unsupported_token_type", "missing token");
    };
    if g.access.remove(token).is_some() {
        return Resp::empty(200);
    }
    if g.refresh.remove(token).is_some() {
        // Revoking a refresh token revokes the access tokens issued from it (research §1.8).
        g.access
            .retain(|_, t| t.refresh.as_deref() != Some(token.as_str()));
        return Resp::empty(200);
    }
    oauth_err(400, "invalid_token", "invalid token")
}

#[must_use]
pub fn userinfo(url: &str, user: &str) -> Value {
    json!({
        "sub": format!("{url}/id/{ORG_ID}/{USER_ID}"),
        "user_id": USER_ID,
        "organization_id": ORG_ID,
        "preferred_username": user,
        "nickname": user.split('@').next().unwrap_or(user),
        "name": "Emulator Admin",
        "email": user,
        "email_verified": true,
        "zoneinfo": "Europe/London",
        "locale": "en_US",
        "language": "en_US",
        "user_type": "STANDARD",
        "active": true,
        "utcOffset": 0,
        "updated_at": "2024-01-01T00:00:00Z",
        "is_app_installed": true,
        "urls": {
            "rest": format!("{url}/services/data/v{{version}}/"),
            "sobjects": format!("{url}/services/data/v{{version}}/sobjects/"),
            "query": format!("{url}/services/data/v{{version}}/query/"),
            "profile": format!("{url}/{USER_ID}"),
        },
    })
}

#[must_use]
pub fn identity(url: &str, user: &str) -> Value {
    json!({
        "id": format!("{url}/id/{ORG_ID}/{USER_ID}"),
        "asserted_user": true,
        "user_id": USER_ID,
        "organization_id": ORG_ID,
        "username": user,
        "nick_name": user.split('@').next().unwrap_or(user),
        "display_name": "Emulator Admin",
        "email": user,
        "email_verified": true,
        "active": true,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "urls": {
            "rest": format!("{url}/services/data/v{{version}}/"),
            "query": format!("{url}/services/data/v{{version}}/query/"),
        },
    })
}
