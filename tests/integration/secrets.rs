//! No token or secret in any output: every command runs with known token values, and none of
//! them appears in stdout, stderr or any file outside the credential store.

use sf_emulator::Config;

use crate::sf;
use crate::support::{Run, TestEnv};

#[test]
fn no_command_prints_or_writes_a_token() {
    let emu = sf::emulator(Config {
        client_secret: Some("client-secret-KNOWN-1".to_owned()),
        device_interval_secs: 1,
        device_approve_after_polls: Some(1),
        ..Config::default()
    });
    let env = TestEnv::new();
    sf::write_config(&env, &sf::sandbox(&emu));
    env.write(
        "logins.csv",
        "User ID,Last Login\nann@acme.com,2024-05-01T10:00:00Z\n",
    );
    let access = emu.issue_access_token("admin@example.com");
    let refresh = emu.issue_refresh_token("admin@example.com");
    let mut secrets = vec![
        access.clone(),
        refresh.clone(),
        "client-secret-KNOWN-1".to_owned(),
    ];
    let mut runs: Vec<Run> = Vec::new();
    let with = |args: &[&str], vars: &[(&str, &str)]| {
        let mut cmd = env.command();
        cmd.args(args).arg("-vv");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        Run::from(cmd.output().unwrap())
    };

    let login = with(
        &["login", "--env", "sandbox", "--device", "--store", "file"],
        &[],
    );
    login.assert_code(0);
    let stored = sf::stored(&env, "sandbox")["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.push(stored);
    runs.push(login);
    for args in [
        &["accounts"][..],
        &["accounts", "--check"],
        &["accounts", "--check", "--json"],
        &["describe", "--env", "sandbox", "Lead"],
        &["validate", "--online"],
        &["validate", "--online", "--json"],
    ] {
        runs.push(with(args, &[]));
    }
    // Every run here has `-vv`, which shows each request: still no secret (checked below).
    assert!(
        runs.iter().any(|run| run
            .stderr
            .contains("GET /services/data/v64.0/sobjects/Lead/describe → 200 (")),
        "no request shown"
    );
    let access_vars = [
        ("WALKME_SF_ACCESS_TOKEN", access.as_str()),
        ("WALKME_SF_INSTANCE_URL", emu.url()),
    ];
    runs.push(with(
        &["describe", "--env", "sandbox", "Lead"],
        &access_vars,
    ));
    runs.push(with(&["validate", "--online"], &access_vars));
    // A bare access token Salesforce rejects: the error must not quote it.
    emu.expire_tokens();
    let rejected = with(&["describe", "--env", "sandbox", "Lead"], &access_vars);
    rejected.assert_code(3);
    runs.push(rejected);
    runs.push(with(
        &["describe", "--env", "sandbox", "Lead"],
        &[("WALKME_SF_REFRESH_TOKEN", refresh.as_str())],
    ));
    runs.push(with(
        &["login", "--env", "sandbox", "--client-credentials"],
        &[("WALKME_SF_CLIENT_SECRET", "client-secret-KNOWN-1")],
    ));
    runs.push(with(
        &["login", "--env", "sandbox", "--client-credentials"],
        &[("WALKME_SF_CLIENT_SECRET", "client-secret-KNOWN-1-wrong")],
    ));
    runs.push(with(&["logout", "--env", "sandbox"], &[]));

    for run in &runs {
        run.assert_no_panic();
        for secret in &secrets {
            assert!(
                !run.stdout.contains(secret.as_str()),
                "secret in stdout:\n{}",
                run.stdout
            );
            assert!(
                !run.stderr.contains(secret.as_str()),
                "secret in stderr:\n{}",
                run.stderr
            );
        }
    }
    // No file outside the credential store holds one (the store itself was deleted by logout).
    let credentials = env.path().join("xdg-config/walkme-sf/credentials");
    let mut pending = vec![env.path().to_path_buf()];
    let mut files = 0;
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.starts_with(&credentials) {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else {
                files += 1;
                let bytes = std::fs::read(&path).unwrap();
                let text = String::from_utf8_lossy(&bytes);
                for secret in &secrets {
                    assert!(
                        !text.contains(secret.as_str()),
                        "secret in {}",
                        path.display()
                    );
                }
            }
        }
    }
    assert!(files >= 2);
}
