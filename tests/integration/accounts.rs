//! `walkme-sf accounts`: every environment and its login; `--check` proves each and shows the
//! daily API requests left (from `Sforce-Limit-Info`).

use sf_emulator::Config;

use crate::sf::{self, CLIENT_ID};
use crate::support::TestEnv;

fn setup() -> (sf_emulator::Emulator, TestEnv) {
    let emu = sf::emulator(Config {
        jwt_public_key_pem: Some(include_str!("../fixtures/jwt/test-key.pub.pem").to_owned()),
        ..Config::default()
    });
    let env = TestEnv::new();
    let key = env.write("server.key", include_str!("../fixtures/jwt/test-key.pem"));
    sf::write_config(
        &env,
        &format!(
            "{}\n[environments.uat]\nkind = \"sandbox\"\nlogin_url = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nusername = \"admin@example.com\"\njwt_key_file = \"{}\"\n",
            sf::sandbox(&emu),
            emu.url(),
            key.display()
        ),
    );
    sf::seed_file_login(&env, "sandbox", &emu);
    (emu, env)
}

#[test]
fn accounts_lists_every_environment() {
    let (emu, env) = setup();
    let run = env.run(&["accounts"]);
    run.assert_code(0);
    // Column widths depend on the emulator's port; the snapshot compares the cells.
    let cells: Vec<String> = sf::redact(&env, &emu, &run.stdout)
        .lines()
        .map(|l| {
            l.split("  ")
                .filter(|c| !c.is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    insta::assert_snapshot!("accounts_table", cells.join("\n"));
    // Offline: no call at all.
    assert_eq!(emu.stats().calls.values().sum::<u64>(), 0);

    let run = env.run(&["accounts", "--json"]);
    run.assert_code(0);
    let accounts: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let names: Vec<&str> = accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["environment"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["production", "sandbox", "uat"]);
    let sandbox = &accounts[1];
    for key in [
        "environment",
        "kind",
        "login_url",
        "logged_in",
        "store",
        "username",
        "org_id",
        "instance_url",
    ] {
        assert!(sandbox.get(key).is_some(), "{key} missing");
    }
    assert!(sandbox.get("api_remaining").is_none());
    assert_eq!(sandbox["store"], "file");
    assert_eq!(accounts[0]["logged_in"], false);
    assert_eq!(accounts[2]["store"], "jwt");
}

#[test]
fn accounts_check_proves_each_login_and_shows_the_api_requests_left() {
    let (emu, env) = setup();
    emu.set_api_usage(1234);
    let run = env.run(&["accounts", "--check", "--json"]);
    run.assert_code(0);
    let accounts: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let used = emu.stats().api_usage;
    assert!(used > 1234);
    let remaining: Vec<Option<u64>> = accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["api_remaining"].as_u64())
        .collect();
    // production is not logged in; sandbox and uat each made one counted call.
    assert_eq!(remaining[0], None);
    assert!(accounts[0].get("api_remaining").is_some());
    assert_eq!(remaining[1], Some(100_000 - 1235));
    assert_eq!(remaining[2], Some(100_000 - 1236));
    assert_eq!(accounts[1]["username"], "admin@example.com");

    let run = env.run(&["accounts", "--check"]);
    run.assert_code(0);
    assert!(run.stdout.contains("API LEFT"));

    // A login Salesforce refuses: exit 3, the others still checked.
    let token = sf::stored(&env, "sandbox")["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    env.run(&["logout", "--env", "sandbox"]).assert_code(0);
    let mut stored = serde_json::json!({
        "version": 1, "refresh_token": token, "instance_url": emu.url(),
        "username": "admin@example.com", "org_id": "00D", "login_url": emu.url(),
    });
    stored["client_id"] = CLIENT_ID.into();
    let file = env.credentials_file("sandbox");
    std::fs::write(&file, stored.to_string()).unwrap();
    sf::set_mode(&file, 0o600);
    let run = env.run(&["accounts", "--check", "--json"]);
    run.assert_code(3);
    let accounts: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        accounts[1]["error"]
            .as_str()
            .unwrap()
            .contains("walkme-sf login --env sandbox")
    );
    assert!(accounts[2]["api_remaining"].as_u64().is_some());
}
