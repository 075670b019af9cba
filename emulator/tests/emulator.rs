//! The emulator over HTTP with a plain client: OAuth flows, describe shapes against the recorded
//! fixtures, SOQL and paging, writes and validation, Bulk 2.0, limits and every fault.

// Short names (c = context, s = status, v = body) keep the HTTP assertions readable.
#![allow(clippy::many_single_char_names, clippy::similar_names)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sf_emulator::{BulkOutcome, Burst, Config, Emulator, EndpointKind, Faults, RowLock};
use sha2::{Digest, Sha256};

const V: &str = "v60.0";

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../tests/fixtures/salesforce-recorded/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    v["body"].clone()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

struct Ctx {
    emu: Emulator,
    http: reqwest::Client,
    token: String,
}

impl Ctx {
    fn new(cfg: Config) -> Self {
        let emu = Emulator::start(cfg).expect("start");
        let token = emu.issue_access_token("admin@example.com");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self { emu, http, token }
    }

    fn clean() -> Self {
        Self::new(Config {
            default_seed: false,
            bulk_delay_ms: 0,
            ..Config::default()
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emu.url())
    }

    fn data(&self, rest: &str) -> String {
        self.url(&format!("/services/data/{V}{rest}"))
    }

    async fn get(&self, rest: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(self.data(rest))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("send");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn query(&self, soql: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(self.data("/query"))
            .query(&[("q", soql)])
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("send");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn send_json(
        &self,
        method: reqwest::Method,
        rest: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let r = self
            .http
            .request(method, self.data(rest))
            .bearer_auth(&self.token)
            .header("Sforce-Auto-Assign", "FALSE")
            .json(body)
            .send()
            .await
            .expect("send");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let r = self
            .http
            .post(self.url("/services/oauth2/token"))
            .form(form)
            .send()
            .await
            .expect("send");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    fn lead_id(&self, email: &str) -> String {
        self.emu
            .records("Lead")
            .into_iter()
            .find(|r| r["Email"] == json!(email))
            .and_then(|r| r["Id"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("no lead {email}"))
    }
}

fn assert_token_shape(v: &Value, url: &str, refresh: bool) {
    let at = v["access_token"].as_str().expect("access_token");
    assert_eq!(
        &at[15..16],
        "!",
        "access token starts with the 15-char org id and '!'"
    );
    assert!(at.starts_with("00D"));
    assert_eq!(v["instance_url"], json!(url));
    assert_eq!(v["token_type"], json!("Bearer"));
    assert!(
        v["issued_at"]
            .as_str()
            .expect("issued_at string")
            .parse::<u64>()
            .is_ok()
    );
    assert!(
        v["id"]
            .as_str()
            .expect("id")
            .starts_with(&format!("{url}/id/00D"))
    );
    assert!(v["signature"].is_string() && v["scope"].is_string());
    assert!(
        v.get("expires_in").is_none(),
        "Salesforce sends no expires_in"
    );
    assert_eq!(v.get("refresh_token").is_some(), refresh);
    // Same fields as the recorded login response (plus refresh_token/scope).
    let recorded = keys(&fixture("login_response_200.json"));
    assert!(recorded.is_subset(&keys(v)), "{recorded:?} ⊄ {:?}", keys(v));
}

#[tokio::test]
async fn pkce_login_and_refresh_rotation_revoke_userinfo() {
    let c = Ctx::new(Config {
        rotate_refresh_tokens: true,
        ..Config::default()
    });
    let verifier = "a-verifier-that-is-long-enough-0123456789-abcdefghijklmnop";
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier));
    let redirect = "http://localhost:1717/OauthRedirect";
    let authorize = |state: &str| {
        c.http
            .get(c.url("/services/oauth2/authorize"))
            .query(&[
                ("response_type", "code"),
                ("client_id", "my-app"),
                ("redirect_uri", redirect),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("state", state),
                ("scope", "api refresh_token"),
            ])
            .send()
    };
    let r = authorize("st4te").await.expect("authorize");
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = url::Url::parse(r.headers()["location"].to_str().expect("location")).expect("url");
    assert!(loc.as_str().starts_with(redirect));
    let q: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "st4te");
    let code = q["code"].clone();

    // Wrong verifier, wrong redirect URI.
    let (s, v) = c
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "my-app"),
            ("redirect_uri", redirect),
            ("code_verifier", "wrong"),
        ])
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let r = authorize("s2").await.expect("authorize");
    let loc = url::Url::parse(r.headers()["location"].to_str().expect("loc")).expect("url");
    let code = loc
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let (s, v) = c
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "my-app"),
            ("redirect_uri", "http://localhost:9999/x"),
            ("code_verifier", verifier),
        ])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    let r = authorize("s3").await.expect("authorize");
    let loc = url::Url::parse(r.headers()["location"].to_str().expect("loc")).expect("url");
    let code = loc
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", "my-app"),
        ("redirect_uri", redirect),
        ("code_verifier", verifier),
    ];
    let (s, v) = c.token(&form).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_token_shape(&v, c.emu.url(), true);
    // A code is single-use.
    let (s, v2) = c.token(&form).await;
    assert_eq!(
        (s, v2["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // The access token works.
    let at = v["access_token"].as_str().expect("at").to_owned();
    let r = c
        .http
        .get(c.url("/services/oauth2/userinfo"))
        .bearer_auth(&at)
        .send()
        .await
        .expect("userinfo");
    let info: Value = r.json().await.expect("json");
    assert_eq!(info["preferred_username"], json!("admin@example.com"));
    assert!(
        info["organization_id"]
            .as_str()
            .is_some_and(|o| o.starts_with("00D"))
    );

    // Rotation: new refresh token each time, the old one dies.
    let rt1 = v["refresh_token"].as_str().expect("rt").to_owned();
    let (s, r2) = c
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt1),
            ("client_id", "my-app"),
        ])
        .await;
    assert_eq!(s, StatusCode::OK);
    let rt2 = r2["refresh_token"].as_str().expect("rotated").to_owned();
    assert_ne!(rt1, rt2);
    let (s, e) = c
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt1),
            ("client_id", "my-app"),
        ])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // Revoke: 200, then 400 invalid_token.
    let revoke = |t: String| {
        c.http
            .post(c.url("/services/oauth2/revoke"))
            .form(&[("token", t)])
            .send()
    };
    assert_eq!(
        revoke(rt2.clone()).await.expect("revoke").status(),
        StatusCode::OK
    );
    let r = revoke(rt2).await.expect("revoke");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.expect("json")["error"],
        json!("invalid_token")
    );
    assert!(c.emu.stats().calls_of(EndpointKind::Token) >= 6);
}

#[tokio::test]
async fn refresh_without_rotation_and_client_credentials() {
    let c = Ctx::new(Config {
        client_secret: Some("s3cret".into()),
        ..Config::default()
    });
    let rt = c.emu.issue_refresh_token("admin@example.com");
    let (s, v) = c
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", "x"),
        ])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_token_shape(&v, c.emu.url(), false);
    let (s, v) = c
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "x"),
            ("client_secret", "s3cret"),
        ])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_token_shape(&v, c.emu.url(), false);
    let (s, _) = c
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "x"),
            ("client_secret", "nope"),
        ])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = c.token(&[("grant_type", "password")]).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn device_flow_pending_then_approved_denied_disabled() {
    let c = Ctx::new(Config {
        device_approve_after_polls: Some(2),
        ..Config::default()
    });
    let (s, d) = c
        .token(&[
            ("response_type", "device_code"),
            ("client_id", "app"),
            ("scope", "api refresh_token"),
        ])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        keys(&d),
        keys(&fixture("device_code_authorization_response_200.json"))
    );
    let code = d["device_code"].as_str().expect("code").to_owned();
    for _ in 0..2 {
        let (s, v) = c
            .token(&[
                ("grant_type", "device"),
                ("client_id", "app"),
                ("code", &code),
            ])
            .await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("authorization_pending"))
        );
    }
    let (s, v) = c
        .token(&[
            ("grant_type", "device"),
            ("client_id", "app"),
            ("code", &code),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_token_shape(&v, c.emu.url(), true);

    // Approval through the control API.
    c.http
        .patch(c.url("/__emulator/config"))
        .json(&json!({"device_approve_after_polls": null}))
        .send()
        .await
        .expect("cfg");
    let (_, d) = c
        .token(&[("response_type", "device_code"), ("client_id", "app")])
        .await;
    let code = d["device_code"].as_str().expect("code").to_owned();
    let (s, _) = c
        .token(&[
            ("grant_type", "device"),
            ("client_id", "app"),
            ("code", &code),
        ])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    c.http
        .post(c.url("/__emulator/device/approve"))
        .send()
        .await
        .expect("approve");
    let (s, _) = c
        .token(&[
            ("grant_type", "device"),
            ("client_id", "app"),
            ("code", &code),
        ])
        .await;
    assert_eq!(s, StatusCode::OK);

    // Denied.
    let (_, d) = c
        .token(&[("response_type", "device_code"), ("client_id", "app")])
        .await;
    let code = d["device_code"].as_str().expect("code").to_owned();
    c.http
        .post(c.url("/__emulator/device/deny"))
        .send()
        .await
        .expect("deny");
    let (s, v) = c
        .token(&[
            ("grant_type", "device"),
            ("client_id", "app"),
            ("code", &code),
        ])
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("access_denied"))
    );

    // The app does not allow the device flow.
    c.http
        .patch(c.url("/__emulator/config"))
        .json(&json!({"device_flow_enabled": false}))
        .send()
        .await
        .expect("cfg");
    let (s, v) = c
        .token(&[("response_type", "device_code"), ("client_id", "app")])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["error"].is_string());
}

#[tokio::test]
async fn jwt_bearer_checks_signature_audience_expiry_subject() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let dir = format!("{}/tests/data", env!("CARGO_MANIFEST_DIR"));
    let public = std::fs::read_to_string(format!("{dir}/jwt_test_key.pub.pem")).expect("pub");
    let private = std::fs::read(format!("{dir}/jwt_test_key.pem")).expect("key");
    let key = EncodingKey::from_rsa_pem(&private).expect("key");
    let c = Ctx::new(Config {
        jwt_public_key_pem: Some(public),
        ..Config::default()
    });
    let now = chrono::Utc::now().timestamp();
    let jwt = |aud: &str, exp: i64, sub: &str| {
        encode(
            &Header::new(Algorithm::RS256),
            &json!({"iss": "app", "sub": sub, "aud": aud, "exp": exp}),
            &key,
        )
        .expect("sign")
    };
    let grant = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    let (s, v) = c
        .token(&[
            ("grant_type", grant),
            (
                "assertion",
                &jwt(
                    "https://login.salesforce.com",
                    now + 180,
                    "admin@example.com",
                ),
            ),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_token_shape(&v, c.emu.url(), false);
    let (s, v) = c
        .token(&[
            ("grant_type", grant),
            (
                "assertion",
                &jwt(
                    "https://test.salesforce.com",
                    now + 180,
                    "admin@example.com",
                ),
            ),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = c
        .token(&[
            ("grant_type", grant),
            (
                "assertion",
                &jwt(c.emu.url(), now + 180, "admin@example.com"),
            ),
        ])
        .await;
    assert_eq!(
        (s, v["error_description"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Audience validation failed"))
    );
    let (s, v) = c
        .token(&[
            ("grant_type", grant),
            (
                "assertion",
                &jwt(
                    "https://login.salesforce.com",
                    now - 60,
                    "admin@example.com",
                ),
            ),
        ])
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (s, _) = c
        .token(&[
            ("grant_type", grant),
            (
                "assertion",
                &jwt(
                    "https://login.salesforce.com",
                    now + 180,
                    "someone@else.com",
                ),
            ),
        ])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let mut forged = jwt(
        "https://login.salesforce.com",
        now + 180,
        "admin@example.com",
    );
    forged.pop();
    let (s, _) = c
        .token(&[("grant_type", grant), ("assertion", &forged)])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn expired_session_is_401_invalid_session_id() {
    let c = Ctx::clean();
    let (s, _) = c.get("/limits").await;
    assert_eq!(s, StatusCode::OK);
    c.http
        .post(c.url("/__emulator/expire-tokens"))
        .send()
        .await
        .expect("expire");
    let (s, v) = c.get("/limits").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        v,
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    let r = c
        .http
        .get(c.data("/sobjects"))
        .send()
        .await
        .expect("no auth");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn versions_and_describe_match_recorded_shapes() {
    let c = Ctx::clean();
    // Versions: no auth, same entry shape as the recording, not counted.
    let r = c
        .http
        .get(c.url("/services/data/"))
        .send()
        .await
        .expect("versions");
    assert!(r.headers().get("sforce-limit-info").is_none());
    let versions: Value = r.json().await.expect("json");
    let rec = fixture("api_version_response_200.json");
    assert_eq!(keys(&versions[0]), keys(&rec[0]));
    assert!(
        versions
            .as_array()
            .expect("array")
            .iter()
            .any(|v| v["version"] == json!("60.0"))
    );
    assert_eq!(c.emu.stats().api_usage, 0);

    let (s, g) = c.get("/sobjects").await;
    assert_eq!(s, StatusCode::OK);
    let rec = fixture("describe_global_response_200.json");
    assert_eq!(keys(&g), keys(&rec));
    let lead = g["sobjects"]
        .as_array()
        .expect("list")
        .iter()
        .find(|o| o["name"] == json!("Lead"))
        .expect("Lead")
        .clone();
    assert_eq!(keys(&lead), keys(&rec["sobjects"][0]));
    assert_eq!(keys(&lead["urls"]), keys(&rec["sobjects"][0]["urls"]));

    let (s, d) = c.get("/sobjects/lead/describe").await;
    assert_eq!(s, StatusCode::OK);
    let rec = fixture("describe_response_200.json");
    assert_eq!(keys(&d), keys(&rec));
    let rec_field = keys(&rec["fields"][0]);
    for f in d["fields"].as_array().expect("fields") {
        assert_eq!(keys(f), rec_field, "field {}", f["name"]);
        for (k, v) in f.as_object().expect("obj") {
            let rv = &rec["fields"][0][k];
            if !rv.is_null() && !v.is_null() {
                assert_eq!(
                    std::mem::discriminant(v),
                    std::mem::discriminant(rv),
                    "type of {k} on {}",
                    f["name"]
                );
            }
        }
    }
    let field = |n: &str| {
        d["fields"]
            .as_array()
            .expect("f")
            .iter()
            .find(|f| f["name"] == json!(n))
            .expect(n)
            .clone()
    };
    assert_eq!(field("IsConverted")["updateable"], json!(false));
    assert_eq!(field("Status")["restrictedPicklist"], json!(true));
    assert_eq!(
        field("WalkMe_Logins_Last_30_Days__c")["precision"],
        json!(18)
    );
    assert_eq!(
        field("WalkMe_Last_Login__c")["soapType"],
        json!("xsd:dateTime")
    );
    let (s, v) = c.get("/sobjects/Nope__c/describe").await;
    assert_eq!(
        (s, v[0]["errorCode"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND"))
    );
    let (s, cp) = c.get("/sobjects/WalkMe_Course_Progress__c/describe").await;
    assert_eq!(
        (s, &cp["custom"], &cp["keyPrefix"]),
        (StatusCode::OK, &json!(true), &json!("a01"))
    );
    let (s, l) = c.get("/limits").await;
    assert_eq!(s, StatusCode::OK);
    assert!(l["DailyApiRequests"]["Max"].is_u64());
}

#[tokio::test]
async fn pagination_over_5000_records() {
    let c = Ctx::clean();
    let recs: Vec<Value> = (0..5000)
        .map(|i| json!({"Email": format!("user{i}@example.com"), "LastName": "L", "Company": "C"}))
        .collect();
    c.emu.seed_records("Lead", recs).expect("seed");
    let (s, p1) = c.query("SELECT Id, Email FROM Lead").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        keys(&p1),
        keys(&fixture("query_more_multibatch_0_200.json"))
    );
    assert_eq!(
        (p1["totalSize"].as_u64(), p1["done"].as_bool()),
        (Some(5000), Some(false))
    );
    assert_eq!(p1["records"].as_array().map(Vec::len), Some(2000));
    let rec0 = &p1["records"][0];
    assert_eq!(rec0["attributes"]["type"], json!("Lead"));
    assert!(
        rec0["attributes"]["url"]
            .as_str()
            .expect("url")
            .ends_with(rec0["Id"].as_str().expect("id"))
    );
    let next = p1["nextRecordsUrl"].as_str().expect("next");
    assert!(
        next.starts_with(&format!("/services/data/{V}/query/01g")) && next.ends_with("-2000"),
        "{next}"
    );
    let mut seen: BTreeSet<String> = p1["records"]
        .as_array()
        .expect("r")
        .iter()
        .map(|r| r["Id"].as_str().expect("id").to_owned())
        .collect();
    let mut next = next.to_owned();
    let mut pages = 1;
    loop {
        let r: Value = c
            .http
            .get(c.url(&next))
            .bearer_auth(&c.token)
            .send()
            .await
            .expect("more")
            .json()
            .await
            .expect("json");
        pages += 1;
        for rec in r["records"].as_array().expect("records") {
            seen.insert(rec["Id"].as_str().expect("id").to_owned());
        }
        if r["done"] == json!(true) {
            assert!(r.get("nextRecordsUrl").is_none());
            break;
        }
        next = r["nextRecordsUrl"].as_str().expect("next").to_owned();
    }
    assert_eq!((pages, seen.len()), (3, 5000));
    assert_eq!(c.emu.stats().calls_of(EndpointKind::QueryMore), 2);

    // batchSize header.
    let r: Value = c
        .http
        .get(c.data("/query"))
        .query(&[("q", "SELECT Id FROM Lead")])
        .header("Sforce-Query-Options", "batchSize=500")
        .bearer_auth(&c.token)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(r["records"].as_array().map(Vec::len), Some(500));
    let (_, n) = c
        .query("SELECT COUNT() FROM Lead WHERE Email LIKE 'user1%'")
        .await;
    assert_eq!(n["totalSize"], json!(1111));
    let (_, o) = c
        .query("SELECT Email FROM Lead ORDER BY Email DESC LIMIT 3 OFFSET 1")
        .await;
    // Text order: "user9@" > "user99@" > "user999@" ('@' sorts after digits).
    assert_eq!(o["records"][0]["Email"], json!("user99@example.com"));
}

#[tokio::test]
async fn soql_escapes_case_insensitivity_errors_and_limits() {
    let c = Ctx::clean();
    let tricky = r"o'brien\x@example.com";
    c.emu
        .seed_records("Lead", vec![json!({"Email": tricky, "LastName": "O'Brien", "Company": "C"}), json!({"Email": "Ann@Example.com", "LastName": "A", "Company": "C", "IsConverted": true})])
        .expect("seed");
    let (s, v) = c.query(r"SELECT Id, Email FROM Lead WHERE Email IN ('O\'BRIEN\\x@EXAMPLE.com', 'nobody@x.com')").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["records"][0]["Email"], json!(tricky));
    let (_, v) = c
        .query("select id from LEAD where email = 'ann@example.COM' and isconverted = true")
        .await;
    assert_eq!(v["totalSize"], json!(1));
    let (_, v) = c
        .query("SELECT Id FROM Lead WHERE IsConverted = false AND Email != null")
        .await;
    assert_eq!(v["totalSize"], json!(1));
    let (s, v) = c.query(r"SELECT Id FROM Lead WHERE Email = 'a\qb'").await;
    assert_eq!(
        (s, v[0]["errorCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("MALFORMED_QUERY"))
    );
    let (s, v) = c.query("SELECT Id, Emial FROM Lead").await;
    assert_eq!(
        (s, v[0]["errorCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_FIELD"))
    );
    assert!(
        v[0]["message"]
            .as_str()
            .expect("msg")
            .contains("No such column 'Emial' on entity 'Lead'")
    );
    let (s, v) = c.query("SELECT Id FROM Leed").await;
    assert_eq!(
        (s, v[0]["errorCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_TYPE"))
    );
    let (s, v) = c.query("SELECT Id FROM Lead WHERE").await;
    assert_eq!(
        (s, v[0]["errorCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("MALFORMED_QUERY"))
    );

    // 16,384-byte request URI limit → 414.
    let keys: Vec<String> = (0..600)
        .map(|i| format!("'someone{i}@example.com'"))
        .collect();
    let long = format!("SELECT Id FROM Lead WHERE Email IN ({})", keys.join(","));
    let (s, _) = c.query(&long).await;
    assert_eq!(s, StatusCode::URI_TOO_LONG);
    // SOQL over 100,000 characters → MALFORMED_QUERY (through a Bulk query job, which has no URI limit).
    let huge = format!(
        "SELECT Id FROM Lead WHERE Email = '{}'",
        "x".repeat(100_001)
    );
    let (s, v) = c
        .send_json(
            reqwest::Method::POST,
            "/jobs/query",
            &json!({"operation": "query", "query": huge}),
        )
        .await;
    assert_eq!(
        (s, v[0]["errorCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("MALFORMED_QUERY"))
    );
}

#[tokio::test]
async fn collections_validation_rollback_auto_assign_and_single_writes() {
    let c = Ctx::new(Config {
        bulk_delay_ms: 0,
        ..Config::default()
    });
    let ann = c.lead_id("ann.lee@example.com");
    let bob = c.lead_id("bob.stone@example.com");
    let carla = c.lead_id("carla.diaz@example.com"); // converted
    let rec = |id: &str, fields: Value| {
        let mut m = fields;
        m["attributes"] = json!({"type": "Lead"});
        m["id"] = json!(id);
        m
    };
    let body = json!({"allOrNone": false, "records": [
        rec(&ann, json!({"WalkMe_Last_Login__c": "2024-03-23T09:00:00+01:00", "WalkMe_Logins_Last_30_Days__c": 7})),
        rec(&bob, json!({"Email": "not-an-email"})),
        rec(&bob, json!({"Status": "Bogus"})),
        rec(&bob, json!({"FirstName": "x".repeat(41)})),
        rec(&bob, json!({"IsConverted": true})),
        rec(&bob, json!({"WalkMe_Engagement_Score__c": 1000.5})),
        rec(&carla, json!({"FirstName": "C"})),
        rec("00Q5e000000zzzz", json!({"FirstName": "C"})),
        rec("garbage", json!({"FirstName": "C"})),
    ]});
    let (s, v) = c
        .send_json(reqwest::Method::PATCH, "/composite/sobjects", &body)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let codes: Vec<Option<&str>> = v
        .as_array()
        .expect("arr")
        .iter()
        .map(|r| r["errors"][0]["statusCode"].as_str())
        .collect();
    assert_eq!(
        codes,
        vec![
            None,
            Some("INVALID_EMAIL_ADDRESS"),
            Some("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
            Some("STRING_TOO_LONG"),
            Some("INVALID_FIELD_FOR_INSERT_UPDATE"),
            Some("NUMBER_OUTSIDE_VALID_RANGE"),
            Some("CANNOT_UPDATE_CONVERTED_LEAD"),
            Some("INVALID_CROSS_REFERENCE_KEY"),
            Some("MALFORMED_ID"),
        ]
    );
    assert_eq!(v[0], json!({"id": ann, "success": true, "errors": []}));
    assert_eq!(v[1]["errors"][0]["fields"], json!(["Email"]));
    let (_, q) = c
        .query(&format!(
            "SELECT WalkMe_Last_Login__c, WalkMe_Logins_Last_30_Days__c FROM Lead WHERE Id = '{}'",
            &ann[..15]
        ))
        .await;
    assert_eq!(
        q["records"][0]["WalkMe_Last_Login__c"],
        json!("2024-03-23T08:00:00.000+0000")
    );
    assert_eq!(q["records"][0]["WalkMe_Logins_Last_30_Days__c"], json!(7));

    // allOrNone: the valid record is rolled back.
    let body = json!({"allOrNone": true, "records": [rec(&ann, json!({"FirstName": "Changed"})), rec(&bob, json!({"Email": "bad"}))]});
    let (_, v) = c
        .send_json(reqwest::Method::PATCH, "/composite/sobjects", &body)
        .await;
    assert_eq!(
        v[0]["errors"][0]["statusCode"],
        json!("ALL_OR_NONE_OPERATION_ROLLED_BACK")
    );
    assert!(
        c.emu
            .records("Lead")
            .iter()
            .all(|r| r["FirstName"] != json!("Changed"))
    );

    // Request-level errors: > 200 records, unknown field, bad date.
    let many: Vec<Value> = (0..201).map(|_| rec(&ann, json!({}))).collect();
    let (s, v) = c
        .send_json(
            reqwest::Method::PATCH,
            "/composite/sobjects",
            &json!({"records": many}),
        )
        .await;
    assert_eq!(
        (s, v[0]["errorCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("EXCEEDED_ID_LIMIT"))
    );
    let (s, v) = c
        .send_json(
            reqwest::Method::PATCH,
            "/composite/sobjects",
            &json!({"records": [rec(&ann, json!({"Nope__c": 1}))]}),
        )
        .await;
    assert_eq!(
        (s, v[0]["errorCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_FIELD"))
    );
    let (s, v) = c
        .send_json(
            reqwest::Method::PATCH,
            "/composite/sobjects",
            &json!({"records": [rec(&ann, json!({"WalkMe_First_Login__c": "yesterday"}))]}),
        )
        .await;
    assert_eq!(
        (s, v[0]["errorCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("JSON_PARSER_ERROR"))
    );

    // Sforce-Auto-Assign missing → owner reassigned and counted.
    let before = c.emu.stats().auto_assign_violations;
    let r = c
        .http
        .patch(c.data("/composite/sobjects"))
        .bearer_auth(&c.token)
        .json(&json!({"records": [rec(&bob, json!({"FirstName": "Bobby"}))]}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(c.emu.stats().auto_assign_violations, before + 1);
    let bob_rec = c
        .emu
        .records("Lead")
        .into_iter()
        .find(|r| r["Id"] == json!(bob))
        .expect("bob");
    assert_ne!(bob_rec["OwnerId"], json!("0055e000000EmuLAAS"));

    // Single PATCH → 204; upsert 201 / 200 / 300; deleted → ENTITY_IS_DELETED.
    let (s, _) = c
        .send_json(
            reqwest::Method::PATCH,
            &format!("/sobjects/Lead/{ann}"),
            &json!({"Title": "CTO"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = c
        .send_json(
            reqwest::Method::PATCH,
            "/sobjects/Account/WalkMe_Account_Id__c/acct-009",
            &json!({"Name": "New Co"}),
        )
        .await;
    assert_eq!(
        (s, v["created"].as_bool()),
        (StatusCode::CREATED, Some(true))
    );
    let (s, v) = c
        .send_json(
            reqwest::Method::PATCH,
            "/sobjects/Account/WalkMe_Account_Id__c/ACCT-009",
            &json!({"Website": "https://n.example.com"}),
        )
        .await;
    assert_eq!((s, v["created"].as_bool()), (StatusCode::OK, Some(false)));
    c.emu
        .seed_records(
            "Account",
            vec![json!({"Name": "Dup", "WalkMe_Account_Id__c": "acct-009"})],
        )
        .expect("seed");
    let (s, v) = c
        .send_json(
            reqwest::Method::PATCH,
            "/sobjects/Account/WalkMe_Account_Id__c/acct-009",
            &json!({"Website": "https://n.example.com"}),
        )
        .await;
    assert_eq!(s, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(v.as_array().map(Vec::len), Some(2));
    let r = c
        .http
        .delete(c.data(&format!("/sobjects/Lead/{bob}")))
        .bearer_auth(&c.token)
        .send()
        .await
        .expect("del");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, v) = c
        .send_json(
            reqwest::Method::PATCH,
            "/composite/sobjects",
            &json!({"records": [rec(&bob, json!({"Title": "x"}))]}),
        )
        .await;
    assert_eq!(v[0]["errors"][0]["statusCode"], json!("ENTITY_IS_DELETED"));
    assert!(c.emu.stats().records_written >= 5);
}

async fn wait_job(c: &Ctx, kind: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, info) = c.get(&format!("/jobs/{kind}/{id}")).await;
        let state = info["state"].as_str().unwrap_or_default().to_owned();
        if matches!(state.as_str(), "JobComplete" | "Failed" | "Aborted")
            || Instant::now() > deadline
        {
            return info;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn bulk_ingest_50000_rows_with_failures() {
    let c = Ctx::new(Config {
        default_seed: false,
        bulk_delay_ms: 50,
        ..Config::default()
    });
    let recs: Vec<Value> = (0..50_000).map(|i| json!({"Email": format!("u{i}@example.com"), "LastName": "L", "Company": "C", "Title": "Keep"})).collect();
    c.emu.seed_records("Lead", recs).expect("seed");
    let leads = c.emu.records("Lead");
    let mut csv = String::from("Id,WalkMe_Logins_Last_30_Days__c,Title,Email\n");
    for (i, r) in leads.iter().enumerate() {
        let id = r["Id"].as_str().expect("id");
        let email = if i % 10 == 0 {
            "broken".to_owned()
        } else {
            format!("u{i}@example.com")
        };
        let title = if i % 2 == 0 { "" } else { "#N/A" };
        let _ = writeln!(csv, "{id},{i},{title},{email}");
    }
    let (s, job) = c
        .send_json(
            reqwest::Method::POST,
            "/jobs/ingest",
            &json!({"object": "Lead", "operation": "update", "lineEnding": "LF"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        keys(&job),
        keys(&fixture("jobs_get_job_info_200.json"))
            .union(
                &[
                    "numberRecordsProcessed".to_owned(),
                    "numberRecordsFailed".to_owned()
                ]
                .into()
            )
            .cloned()
            .collect()
    );
    assert_eq!(job["state"], json!("Open"));
    let id = job["id"].as_str().expect("id").to_owned();
    let started = Instant::now();
    let r = c
        .http
        .put(c.data(&format!("/jobs/ingest/{id}/batches")))
        .bearer_auth(&c.token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), StatusCode::CREATED);
    let (s, closed) = c
        .send_json(
            reqwest::Method::PATCH,
            &format!("/jobs/ingest/{id}"),
            &json!({"state": "UploadComplete"}),
        )
        .await;
    assert_eq!(
        (s, closed["state"].as_str()),
        (StatusCode::OK, Some("UploadComplete"))
    );
    let info = wait_job(&c, "ingest", &id).await;
    assert_eq!(info["state"], json!("JobComplete"), "{info}");
    assert_eq!(
        (
            info["numberRecordsProcessed"].as_u64(),
            info["numberRecordsFailed"].as_u64()
        ),
        (Some(50_000), Some(5_000))
    );
    eprintln!(
        "50,000-row bulk update processed in {:?}",
        started.elapsed()
    );

    let get_csv = |which: &str| {
        c.http
            .get(c.data(&format!("/jobs/ingest/{id}/{which}/")))
            .bearer_auth(&c.token)
            .send()
    };
    let ok = get_csv("successfulResults")
        .await
        .expect("ok")
        .text()
        .await
        .expect("text");
    let bad = get_csv("failedResults")
        .await
        .expect("bad")
        .text()
        .await
        .expect("text");
    let mut ok_lines = ok.lines();
    assert_eq!(
        ok_lines.next(),
        Some(r#""sf__Id","sf__Created","Id","WalkMe_Logins_Last_30_Days__c","Title","Email""#)
    );
    let ok_rows: Vec<&str> = ok_lines.collect();
    assert_eq!(ok_rows.len(), 45_000);
    let bad_rows: Vec<&str> = bad.lines().skip(1).collect();
    assert_eq!(bad_rows.len(), 5_000);
    assert!(
        bad_rows[0].contains("INVALID_EMAIL_ADDRESS:Email: invalid email address: broken:Email --"),
        "{}",
        bad_rows[0]
    );
    // Results are not in upload order (research §5.3).
    let first_ids: Vec<&str> = ok_rows
        .iter()
        .take(20)
        .map(|l| l.split(',').next().unwrap_or_default())
        .collect();
    let upload_ids: Vec<String> = leads
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 10 != 0)
        .take(20)
        .map(|(_, r)| format!("\"{}\"", r["Id"].as_str().unwrap_or_default()))
        .collect();
    assert_ne!(first_ids, upload_ids);
    // Empty cell = unchanged, #N/A = null.
    let after = c.emu.records("Lead");
    assert_eq!(after[2]["Title"], json!("Keep"));
    assert_eq!(after[3]["Title"], Value::Null);
    assert_eq!(after[3]["WalkMe_Logins_Last_30_Days__c"], json!(3));
    assert_eq!(after[10]["WalkMe_Logins_Last_30_Days__c"], Value::Null);
    let un = get_csv("unprocessedrecords")
        .await
        .expect("un")
        .text()
        .await
        .expect("text");
    assert_eq!(un.lines().count(), 1);

    // A second upload to a closed job, and an unknown column, are refused.
    let r = c
        .http
        .put(c.data(&format!("/jobs/ingest/{id}/batches")))
        .bearer_auth(&c.token)
        .body("Id\n")
        .send()
        .await
        .expect("put");
    assert!(r.status().is_client_error());
    let (_, job) = c
        .send_json(
            reqwest::Method::POST,
            "/jobs/ingest",
            &json!({"object": "Lead", "operation": "update"}),
        )
        .await;
    let id2 = job["id"].as_str().expect("id").to_owned();
    c.http
        .put(c.data(&format!("/jobs/ingest/{id2}/batches")))
        .bearer_auth(&c.token)
        .body("Id,Bogus__c\nx,y\n")
        .send()
        .await
        .expect("put");
    c.send_json(
        reqwest::Method::PATCH,
        &format!("/jobs/ingest/{id2}"),
        &json!({"state": "UploadComplete"}),
    )
    .await;
    let info = wait_job(&c, "ingest", &id2).await;
    assert_eq!(info["state"], json!("Failed"));
    assert!(
        info["errorMessage"]
            .as_str()
            .expect("msg")
            .contains("Bogus__c")
    );
}

#[tokio::test]
async fn bulk_query_pages_with_locator() {
    let c = Ctx::clean();
    let recs: Vec<Value> = (0..2500).map(|i| json!({"Email": format!("q{i}@example.com"), "LastName": "L", "Company": "C", "WalkMe_Last_Login__c": "2024-03-23T08:00:00Z"})).collect();
    c.emu.seed_records("Lead", recs).expect("seed");
    let (s, job) = c.send_json(reqwest::Method::POST, "/jobs/query", &json!({"operation": "query", "query": "SELECT Id, Email, WalkMe_Last_Login__c FROM Lead"})).await;
    assert_eq!(s, StatusCode::OK, "{job}");
    let id = job["id"].as_str().expect("id").to_owned();
    assert_eq!(
        wait_job(&c, "query", &id).await["state"],
        json!("JobComplete")
    );
    let mut locator: Option<String> = None;
    let mut rows = 0;
    let mut pages = 0;
    loop {
        let mut req = c
            .http
            .get(c.data(&format!("/jobs/query/{id}/results")))
            .bearer_auth(&c.token)
            .query(&[("maxRecords", "1000")]);
        if let Some(l) = &locator {
            req = req.query(&[("locator", l)]);
        }
        let r = req.send().await.expect("results");
        assert_eq!(r.status(), StatusCode::OK);
        let n: usize = r.headers()["sforce-numberofrecords"]
            .to_str()
            .expect("n")
            .parse()
            .expect("num");
        let loc = r.headers()["sforce-locator"]
            .to_str()
            .expect("loc")
            .to_owned();
        let body = r.text().await.expect("text");
        assert!(body.starts_with("\"Id\",\"Email\",\"WalkMe_Last_Login__c\""));
        assert!(body.contains("2024-03-23T08:00:00.000Z"));
        assert_eq!(body.lines().count() - 1, n);
        rows += n;
        pages += 1;
        if loc == "null" {
            break;
        }
        locator = Some(loc);
    }
    assert_eq!((rows, pages), (2500, 3));
    let r = c
        .http
        .delete(c.data(&format!("/jobs/query/{id}")))
        .bearer_auth(&c.token)
        .send()
        .await
        .expect("del");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn faults_limits_and_latency() {
    let c = Ctx::clean();
    c.emu
        .seed_records(
            "Lead",
            vec![json!({"Email": "lock@example.com", "LastName": "L", "Company": "C"})],
        )
        .expect("seed");
    let id = c.lead_id("lock@example.com");

    // 503 with an HTML body, then normal.
    c.emu.set_faults(Faults {
        status_503: Some(Burst {
            kind: Some(EndpointKind::Query),
            count: 2,
        }),
        ..Faults::default()
    });
    for _ in 0..2 {
        let r = c
            .http
            .get(c.data("/query"))
            .query(&[("q", "SELECT Id FROM Lead")])
            .bearer_auth(&c.token)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .expect("ct")
                .starts_with("text/html")
        );
    }
    let (s, _) = c.get("/limits").await;
    assert_eq!(s, StatusCode::OK, "other kinds are not affected");
    assert_eq!(c.query("SELECT Id FROM Lead").await.0, StatusCode::OK);

    // 500.
    c.emu.set_faults(Faults {
        status_500: Some(Burst {
            kind: None,
            count: 1,
        }),
        ..Faults::default()
    });
    let (s, v) = c.get("/limits").await;
    assert_eq!(
        (s, v[0]["errorCode"].as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("UNKNOWN_EXCEPTION"))
    );

    // Dropped connection.
    c.emu.set_faults(Faults {
        drop_connection: Some(Burst {
            kind: Some(EndpointKind::Limits),
            count: 1,
        }),
        ..Faults::default()
    });
    let err = c
        .http
        .get(c.data("/limits"))
        .bearer_auth(&c.token)
        .send()
        .await;
    assert!(err.is_err(), "connection should be dropped");
    assert_eq!(c.get("/limits").await.0, StatusCode::OK);

    // UNABLE_TO_LOCK_ROW for 2 attempts.
    c.emu.set_faults(Faults {
        lock_rows: vec![RowLock {
            id: id.clone(),
            attempts: Some(2),
        }],
        ..Faults::default()
    });
    let body = json!({"records": [{"attributes": {"type": "Lead"}, "id": id, "Title": "T"}]});
    for expect_lock in [true, true, false] {
        let (_, v) = c
            .send_json(reqwest::Method::PATCH, "/composite/sobjects", &body)
            .await;
        assert_eq!(v[0]["success"], json!(!expect_lock), "{v}");
        if expect_lock {
            assert_eq!(v[0]["errors"][0]["statusCode"], json!("UNABLE_TO_LOCK_ROW"));
        }
    }

    // Concurrency limit.
    c.emu.set_faults(Faults {
        concurrency_limit: Some(Burst {
            kind: None,
            count: 1,
        }),
        ..Faults::default()
    });
    let (s, v) = c.get("/limits").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        v[0]["message"],
        json!("ConcurrentPerOrgLongTxn Limit exceeded.")
    );

    // Sforce-Limit-Info and the daily limit.
    c.emu.set_api_usage(99_998);
    let r = c
        .http
        .get(c.data("/limits"))
        .bearer_auth(&c.token)
        .send()
        .await
        .expect("send");
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=99999/100000");
    assert_eq!(c.get("/limits").await.0, StatusCode::OK);
    let (s, v) = c.get("/limits").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        v,
        json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    c.emu.set_api_usage(0);

    // Latency.
    c.emu.set_faults(Faults {
        latency_ms: 150,
        ..Faults::default()
    });
    let t = Instant::now();
    assert_eq!(c.get("/limits").await.0, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(150));

    // Bulk job ends Failed; never completes.
    c.emu.set_faults(Faults {
        bulk_outcome: BulkOutcome::Failed,
        ..Faults::default()
    });
    let run_job = async || {
        let (_, job) = c
            .send_json(
                reqwest::Method::POST,
                "/jobs/ingest",
                &json!({"object": "Lead", "operation": "update"}),
            )
            .await;
        let jid = job["id"].as_str().expect("id").to_owned();
        c.http
            .put(c.data(&format!("/jobs/ingest/{jid}/batches")))
            .bearer_auth(&c.token)
            .body(format!("Id,Title\n{id},X\n"))
            .send()
            .await
            .expect("put");
        c.send_json(
            reqwest::Method::PATCH,
            &format!("/jobs/ingest/{jid}"),
            &json!({"state": "UploadComplete"}),
        )
        .await;
        jid
    };
    let jid = run_job().await;
    assert_eq!(wait_job(&c, "ingest", &jid).await["state"], json!("Failed"));
    c.emu.set_faults(Faults {
        bulk_outcome: BulkOutcome::NeverComplete,
        ..Faults::default()
    });
    let jid = run_job().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        c.get(&format!("/jobs/ingest/{jid}")).await.1["state"],
        json!("InProgress")
    );
    assert!(c.emu.stats().faults_injected >= 8);
}

#[tokio::test]
async fn control_api_stats_records_seed_reset() {
    let c = Ctx::new(Config {
        bulk_delay_ms: 0,
        ..Config::default()
    });
    let http = &c.http;
    let stats: Value = http
        .get(c.url("/__emulator/stats"))
        .send()
        .await
        .expect("s")
        .json()
        .await
        .expect("j");
    assert!(stats["calls"].is_object());
    let leads: Value = http
        .get(c.url("/__emulator/records/Lead"))
        .send()
        .await
        .expect("r")
        .json()
        .await
        .expect("j");
    assert!(
        leads
            .as_array()
            .expect("arr")
            .iter()
            .any(|l| l["IsConverted"] == json!(true)),
        "default seed has a converted lead"
    );
    let r: Value = http
        .post(c.url("/__emulator/seed/Contact"))
        .header("content-type", "text/csv")
        .body("Email,LastName\nz@example.com,Z\n")
        .send()
        .await
        .expect("seed")
        .json()
        .await
        .expect("j");
    assert_eq!(r["seeded"], json!(1));
    let t: Value = http
        .post(c.url("/__emulator/token"))
        .json(&json!({"username": "admin@example.com"}))
        .send()
        .await
        .expect("t")
        .json()
        .await
        .expect("j");
    let (s, _) = c
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().expect("rt")),
            ("client_id", "x"),
        ])
        .await;
    assert_eq!(s, StatusCode::OK);
    let f: Value = http
        .put(c.url("/__emulator/faults"))
        .json(&json!({"latency_ms": 0, "status_503": {"kind": "collections", "count": 1}}))
        .send()
        .await
        .expect("f")
        .json()
        .await
        .expect("j");
    assert_eq!(f["status_503"]["count"], json!(1));
    assert_eq!(c.emu.faults().status_503.map(|b| b.count), Some(1));
    http.post(c.url("/__emulator/reset"))
        .send()
        .await
        .expect("reset");
    assert_eq!(c.emu.records("Contact").len(), 3);
    assert_eq!(c.emu.faults(), Faults::default());
}

#[test]
fn binary_prints_listening_line_and_browse_follows_redirects() {
    use std::io::BufRead as _;
    let exe = env!("CARGO_BIN_EXE_sf-emulator");
    let mut child = std::process::Command::new(exe)
        .args(["--port", "0", "--no-default-seed"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    let url = line
        .trim()
        .strip_prefix("listening ")
        .expect("listening line")
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    // authorize redirects at once to the redirect URI (here the emulator's versions resource).
    let auth = format!(
        "{url}/services/oauth2/authorize?response_type=code&client_id=app&redirect_uri={url}/services/data/&state=s"
    );
    let out = std::process::Command::new(exe)
        .args(["browse", &auth])
        .output()
        .expect("browse");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let out = std::process::Command::new(exe)
        .args(["browse", &format!("{url}/nowhere")])
        .output()
        .expect("browse");
    assert!(!out.status.success());
    let _ = child.kill();
    let _ = child.wait();
}
