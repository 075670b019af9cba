//! `login` and `logout`, and the credentials every command uses: each flow end to end against
//! the emulator, token renewal and rotation, refused tokens, the file store's rules and the
//! keyring (real Secret Service under `scripts/test`, none otherwise).

use std::time::{Duration, Instant};

use sf_emulator::{Config, Faults};

use crate::sf::{self, CLIENT_ID};
use crate::support::TestEnv;

#[test]
fn web_login_with_pkce_stores_the_login_in_a_file() {
    let emu = sf::emulator(Config::default());
    let env = TestEnv::new();
    sf::write_config(&env, &sf::sandbox(&emu));
    let (run, loopback_status) = sf::web_login(
        &env,
        &["login", "--env", "sandbox", "--store", "file"],
        false,
    );
    run.assert_code(0);
    assert_eq!(loopback_status, "200");
    assert!(
        run.stdout
            .contains("Logged in to `sandbox` (sandbox) as admin@example.com"),
        "{}",
        run.stdout
    );
    // The URL is printed as well as handed to $BROWSER, and carries a PKCE challenge.
    let url = std::fs::read_to_string(env.path().join("browser-url.txt")).unwrap();
    assert!(run.stderr.contains(&url), "{}", run.stderr);
    assert!(url.contains("code_challenge=") && url.contains("code_challenge_method=S256"));
    assert!(url.contains(&format!("client_id={CLIENT_ID}")));
    // Stored: versioned JSON with refresh token and identity, owner-only, path printed.
    let file = env.credentials_file("sandbox");
    assert!(
        run.stderr.contains(&file.display().to_string()),
        "{}",
        run.stderr
    );
    let stored = sf::stored(&env, "sandbox");
    assert_eq!(stored["version"], 1);
    assert_eq!(stored["username"], "admin@example.com");
    assert_eq!(stored["instance_url"], emu.url());
    assert!(stored["org_id"].as_str().unwrap().starts_with("00D"));
    assert!(!stored["refresh_token"].as_str().unwrap().is_empty());
    assert!(stored.get("access_token").is_none());
    assert_eq!(sf::mode(&file), 0o600);

    // The stored login works for the next command, which names the file it uses.
    let run = env.run(&["describe", "--env", "sandbox", "Lead"]);
    run.assert_code(0);
    assert!(run.stdout.contains("WalkMe_Last_Login__c"));
    assert!(run.stderr.contains(&file.display().to_string()));

    // logout revokes it at Salesforce, then deletes it.
    let token = stored["refresh_token"].as_str().unwrap().to_owned();
    let run = env.run(&["logout", "--env", "sandbox"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("revoked at Salesforce"),
        "{}",
        run.stdout
    );
    assert!(!file.exists());
    assert_eq!(emu.stats().calls_of(sf_emulator::EndpointKind::Revoke), 1);
    let refused = refresh_status(&emu, &token);
    assert_eq!(refused, 400, "the revoked token still works");
    // A second logout has nothing to do.
    let run = env.run(&["logout", "--env", "sandbox"]);
    run.assert_code(0);
    assert!(run.stdout.contains("Not logged in"));
}

/// The token endpoint's answer to a refresh with `token`.
fn refresh_status(emu: &sf_emulator::Emulator, token: &str) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/services/oauth2/token", emu.url()))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("client_id", CLIENT_ID),
            ])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

#[test]
fn web_login_with_a_forged_state_is_refused() {
    let emu = sf::emulator(Config::default());
    let env = TestEnv::new();
    sf::write_config(&env, &sf::sandbox(&emu));
    let (run, loopback_status) = sf::web_login(
        &env,
        &["login", "--env", "sandbox", "--store", "file"],
        true,
    );
    run.assert_code(3);
    assert_eq!(loopback_status, "400");
    assert!(run.stderr.contains("wrong `state`"), "{}", run.stderr);
    assert!(!env.credentials_file("sandbox").exists());
    // No code was exchanged.
    assert_eq!(emu.stats().tokens_issued, 0);
}

#[test]
fn web_login_denied_in_the_browser() {
    let emu = sf::emulator(Config {
        authorize_deny: true,
        ..Config::default()
    });
    let env = TestEnv::new();
    sf::write_config(&env, &sf::sandbox(&emu));
    let (run, _) = sf::web_login(
        &env,
        &["login", "--env", "sandbox", "--store", "file"],
        false,
    );
    run.assert_code(3);
    assert!(run.stderr.contains("denied"), "{}", run.stderr);
    assert!(!env.credentials_file("sandbox").exists());
}

fn device_emulator(config: Config) -> sf_emulator::Emulator {
    sf::emulator(Config {
        device_interval_secs: 1,
        device_approve_after_polls: Some(1),
        ..config
    })
}

#[test]
fn device_login_prints_the_code_and_stores_the_login() {
    let emu = device_emulator(Config::default());
    let env = TestEnv::new();
    sf::write_config(&env, &sf::sandbox(&emu));
    let run = env.run(&["login", "--env", "sandbox", "--device", "--store", "file"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains(&format!(
            "open {}/setup/connect and enter the code",
            emu.url()
        )),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("as admin@example.com"));
    assert_eq!(sf::stored(&env, "sandbox")["username"], "admin@example.com");
}

#[test]
fn device_login_denied() {
    let emu = device_emulator(Config {
        device_deny: true,
        ..Config::default()
    });
    let env = TestEnv::new();
    sf::write_config(&env, &sf::sandbox(&emu));
    let run = env.run(&["login", "--env", "sandbox", "--device", "--store", "file"]);
    run.assert_code(3);
    assert!(run.stderr.contains("denied"), "{}", run.stderr);
    assert!(!env.credentials_file("sandbox").exists());
}

#[test]
fn device_login_when_the_app_does_not_allow_it() {
    let emu = device_emulator(Config {
        device_flow_enabled: false,
        ..Config::default()
    });
    let env = TestEnv::new();
    sf::write_config(&env, &sf::sandbox(&emu));
    let run = env.run(&["login", "--env", "sandbox", "--device", "--store", "file"]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("device flow not enabled"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--web"));
}

#[test]
fn jwt_login_proves_the_settings_and_stores_nothing() {
    let emu = sf::emulator(Config {
        jwt_public_key_pem: Some(include_str!("../fixtures/jwt/test-key.pub.pem").to_owned()),
        ..Config::default()
    });
    let env = TestEnv::new();
    let key = env.write("server.key", include_str!("../fixtures/jwt/test-key.pem"));
    sf::write_config(
        &env,
        &format!(
            "{}username = \"admin@example.com\"\njwt_key_file = \"{}\"\n",
            sf::sandbox(&emu),
            key.display()
        ),
    );
    let run = env.run(&["login", "--env", "sandbox", "--jwt"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("as admin@example.com"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("Nothing was stored"));
    assert!(!env.path().join("xdg-config/walkme-sf").exists());

    // A user the app has not pre-authorised is refused: exit 3.
    sf::write_config(
        &env,
        &format!(
            "{}username = \"someone@example.com\"\njwt_key_file = \"{}\"\n",
            sf::sandbox(&emu),
            key.display()
        ),
    );
    let run = env.run(&["login", "--env", "sandbox", "--jwt"]);
    run.assert_code(3);
    assert!(run.stderr.contains("approved"), "{}", run.stderr);
}

/// `login --client-credentials` of the sandbox with `secret` in `$WALKME_SF_CLIENT_SECRET`.
fn client_credentials_login(env: &TestEnv, secret: &str) -> crate::support::Run {
    crate::support::Run::from(
        env.command()
            .args(["login", "--env", "sandbox", "--client-credentials"])
            .env("WALKME_SF_CLIENT_SECRET", secret)
            .output()
            .expect("login"),
    )
}

#[test]
fn client_credentials_login_needs_the_secret_variable() {
    let emu = sf::emulator(Config {
        client_secret: Some("s3cr3t-known".to_owned()),
        ..Config::default()
    });
    let env = TestEnv::new();
    sf::write_config(
        &env,
        &format!("{}flow = \"client_credentials\"\n", sf::sandbox(&emu)),
    );
    let run = env.run(&["login", "--env", "sandbox", "--client-credentials"]);
    run.assert_code(2);
    assert!(run.stderr.contains("WALKME_SF_CLIENT_SECRET"));

    let run = client_credentials_login(&env, "s3cr3t-known");
    run.assert_code(0);
    assert!(run.stdout.contains("Logged in to `sandbox`"));
    assert!(!env.path().join("xdg-config/walkme-sf").exists());

    let run = client_credentials_login(&env, "wrong");
    run.assert_code(3);
    // The hint says what to check; `login` would be refused the same way.
    assert!(
        run.stderr.contains("hint: check $WALKME_SF_CLIENT_SECRET"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("run `walkme-sf login"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_access_token_that_expires_mid_command_is_renewed_once() {
    let emu = sf::emulator(Config::default());
    let env = TestEnv::new();
    sf::write_config(&env, &sf::sandbox(&emu));
    sf::seed_file_login(&env, "sandbox", &emu);
    // Slow answers give the test time to expire the token the command just got, while its
    // describe request is on the way.
    emu.set_faults(Faults {
        latency_ms: 1500,
        ..Faults::default()
    });
    let child = env
        .std_command()
        .args(["describe", "--env", "sandbox", "Lead"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while emu.stats().tokens_issued == 0 {
        assert!(Instant::now() < deadline, "no token was issued");
        std::thread::sleep(Duration::from_millis(10));
    }
    emu.expire_tokens();
    emu.set_faults(Faults::default());
    let run = crate::support::Run::from(child.wait_with_output().unwrap());
    run.assert_code(0);
    assert!(run.stdout.contains("WalkMe_Last_Login__c"));
    let stats = emu.stats();
    // One refresh at the start, one after the 401, and the describe twice.
    assert_eq!(stats.tokens_issued, 2, "{stats:?}");
    assert_eq!(stats.calls_of(sf_emulator::EndpointKind::Describe), 2);
}

#[test]
fn a_rotated_refresh_token_is_written_back() {
    let emu = sf::emulator(Config {
        rotate_refresh_tokens: true,
        ..Config::default()
    });
    let env = TestEnv::new();
    sf::write_config(&env, &sf::sandbox(&emu));
    let first = sf::seed_file_login(&env, "sandbox", &emu);
    env.run(&["describe", "--env", "sandbox", "Lead"])
        .assert_code(0);
    let second = sf::stored(&env, "sandbox")["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second, "the rotated token was not stored");
    assert_eq!(refresh_status(&emu, &first), 400);
    // The next command uses the new token, and rotates it again.
    env.run(&["describe", "--env", "sandbox", "Lead"])
        .assert_code(0);
    let third = sf::stored(&env, "sandbox")["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second, third);
    assert_eq!(sf::mode(&env.credentials_file("sandbox")), 0o600);
}

#[test]
fn a_revoked_refresh_token_ends_with_exit_3_and_the_login_hint() {
    let emu = sf::emulator(Config::default());
    let env = TestEnv::new();
    sf::write_config(&env, &sf::sandbox(&emu));
    sf::seed_file_login(&env, "sandbox", &emu);
    let saved = std::fs::read(env.credentials_file("sandbox")).unwrap();
    env.run(&["logout", "--env", "sandbox"]).assert_code(0);
    // The file comes back (a backup, another machine): its token is revoked.
    std::fs::write(env.credentials_file("sandbox"), saved).unwrap();
    sf::set_mode(&env.credentials_file("sandbox"), 0o600);
    let run = env.run(&["describe", "--env", "sandbox", "Lead"]);
    run.assert_code(3);
    assert!(
        run.stderr
            .contains("hint: run `walkme-sf login --env sandbox`"),
        "{}",
        run.stderr
    );
}

#[test]
fn logout_without_salesforce_deletes_locally_with_a_note() {
    let emu = sf::emulator(Config::default());
    let env = TestEnv::new();
    sf::write_config(&env, &sf::sandbox(&emu));
    sf::seed_file_login(&env, "sandbox", &emu);
    drop(emu);
    let run = env.run(&["logout", "--env", "sandbox"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("only deleted locally"),
        "{}",
        run.stderr
    );
    assert!(!env.credentials_file("sandbox").exists());
}

#[test]
fn a_credentials_file_readable_by_others_is_refused() {
    let emu = sf::emulator(Config::default());
    let env = TestEnv::new();
    sf::write_config(&env, &sf::sandbox(&emu));
    sf::seed_file_login(&env, "sandbox", &emu);
    sf::set_mode(&env.credentials_file("sandbox"), 0o644);
    let run = env.run(&["describe", "--env", "sandbox", "Lead"]);
    run.assert_code(3);
    assert!(run.stderr.contains("readable by others"), "{}", run.stderr);
    assert!(run.stderr.contains("chmod 600"));
    assert_eq!(emu.stats().tokens_issued, 0);
}

#[test]
fn without_a_keyring_login_names_the_alternatives_and_stores_nothing() {
    let emu = sf::emulator(Config::default());
    let env = TestEnv::new();
    sf::write_config(&env, &sf::sandbox(&emu));
    let script = sf::browser_script(&env);
    let output = env
        .command()
        .args(["login", "--env", "sandbox"])
        .env("BROWSER", &script)
        .output()
        .unwrap();
    let run = crate::support::Run::from(output);
    run.assert_code(3);
    for alternative in [
        "--store file",
        "WALKME_SF_REFRESH_TOKEN",
        "JWT",
        "jwt_key_file",
    ] {
        assert!(
            run.stderr.contains(alternative),
            "{alternative}: {}",
            run.stderr
        );
    }
    // Stopped before the browser, and no file appeared in its place.
    assert!(!env.path().join("browser-url.txt").exists());
    assert!(
        !env.path()
            .join("xdg-config/walkme-sf/credentials/sandbox.json")
            .exists()
    );
    assert_eq!(emu.stats().tokens_issued, 0);
}

/// login → accounts → logout through the real Secret Service; `scripts/test` runs the suite in
/// a private D-Bus session with an unlocked gnome-keyring and sets `WALKME_SF_TEST_KEYRING=1`.
#[test]
fn keyring_login_accounts_logout() {
    if std::env::var("WALKME_SF_TEST_KEYRING").as_deref() != Ok("1") {
        // Covered by `without_a_keyring_…` here; the real keyring only under scripts/test.
        return;
    }
    let emu = device_emulator(Config::default());
    let env = TestEnv::with_keyring();
    // A name of its own: the keyring is shared by every test of the session.
    let name = format!("kr-{}", std::process::id());
    sf::write_config(
        &env,
        &format!(
            "[environments.{name}]\nkind = \"sandbox\"\nlogin_url = \"{}\"\nclient_id = \"{CLIENT_ID}\"\n{}",
            emu.url(),
            sf::integration(&name)
        ),
    );
    let run = env.run(&["login", "--env", &name, "--device"]);
    run.assert_code(0);
    assert!(run.stderr.contains("OS keyring"), "{}", run.stderr);
    assert!(!env.credentials_file(&name).exists());

    let run = env.run(&["accounts", "--check", "--json"]);
    run.assert_code(0);
    let accounts: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let account = accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["environment"] == name.as_str())
        .unwrap();
    assert_eq!(account["logged_in"], true);
    assert_eq!(account["store"], "keyring");
    assert_eq!(account["username"], "admin@example.com");
    assert!(account["api_remaining"].as_u64().is_some());

    let run = env.run(&["logout", "--env", &name]);
    run.assert_code(0);
    assert!(run.stdout.contains("revoked at Salesforce"));
    let run = env.run(&["accounts", "--json"]);
    let accounts: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        accounts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["environment"] == name.as_str() && a["logged_in"] == false)
    );
}

#[test]
fn a_token_for_a_plain_http_instance_is_not_used() {
    // A token endpoint answering with an instance at a plain http:// address off loopback.
    let body = r#"{"access_token":"00Dxx!ACCESS-never-sent","instance_url":"http://na1.example.com","id":"https://login.salesforce.com/id/00Dxx0000001gPFEAY/005xx000001Sv6zAAC","token_type":"Bearer","issued_at":"1700000000000","signature":"c2ln"}"#;
    let login_url = crate::support::serve("200 OK", "application/json", body.to_owned());
    let env = TestEnv::new();
    sf::write_config(
        &env,
        &format!(
            "[environments.sandbox]\nlogin_url = \"{login_url}\"\nclient_id = \"{CLIENT_ID}\"\nflow = \"client_credentials\"\n"
        ),
    );
    let run = client_credentials_login(&env, "s3cr3t-known");
    run.assert_code(2);
    assert!(
        run.stderr.contains("http://na1.example.com") && run.stderr.contains("plain http://"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("Logged in"), "{}", run.stdout);
    assert!(!run.stderr.contains("ACCESS-never-sent"), "{}", run.stderr);
}
