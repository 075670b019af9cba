//! Security (issue 7 item 4) through the real binary: known secrets never appear in any output
//! or file a command leaves; run directories are private; plain `http://` is refused off
//! loopback; control characters from report cells and Salesforce messages never reach the
//! terminal raw.

use std::path::{Path, PathBuf};

use sf_emulator::{Config, Emulator, EndpointKind, Faults};

use crate::support::{Run, TestEnv};

const CLIENT_SECRET: &str = "cs-7f3a9b1e5d2c4a8f-CLIENT-SECRET";
const BOGUS_ACCESS_TOKEN: &str = "00Dbogus!AQ8AQbogusAccessTokenValue1234567890";

const INTEGRATION: &str = r#"
[integrations.sec]
environment = "sandbox"
object = "Lead"
report = { name = "Sec", path = "sec.csv" }
key = { report = "Email", salesforce = "Email" }
fields = [{ report = "Logins", salesforce = "WalkMe_Logins_Last_30_Days__c" }, { report = "Title", salesforce = "Title" }]
"#;

struct Sec {
    t: TestEnv,
    emu: Emulator,
    refresh: String,
    /// Every secret the commands could have seen.
    secrets: Vec<String>,
}

impl Sec {
    fn new(latency_ms: u64) -> Self {
        let emu = Emulator::start(Config {
            client_secret: Some(CLIENT_SECRET.to_owned()),
            default_seed: false,
            faults: Faults {
                latency_ms,
                ..Faults::default()
            },
            ..Config::default()
        })
        .expect("emulator");
        emu.seed_csv("Lead", crate::run::example("examples/seed/Lead.csv"))
            .expect("seed Leads");
        let refresh = emu.issue_refresh_token("admin@example.com");
        let t = TestEnv::new();
        t.write(
            "integrations.toml",
            format!(
                "[environments.sandbox]\nclient_id = \"test-app\"\nlogin_url = \"{url}\"\n\n\
                 [environments.cc]\nkind = \"sandbox\"\nclient_id = \"test-app\"\nlogin_url = \"{url}\"\n\
                 flow = \"client_credentials\"\n{INTEGRATION}",
                url = emu.url()
            ),
        );
        Self {
            secrets: vec![
                refresh.clone(),
                CLIENT_SECRET.to_owned(),
                BOGUS_ACCESS_TOKEN.to_owned(),
            ],
            t,
            emu,
            refresh,
        }
    }

    /// Run with the refresh token and the client secret in the environment, plus `env`.
    fn run(&mut self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.t.command();
        cmd.env("WALKME_SF_REFRESH_TOKEN", &self.refresh)
            .env("WALKME_SF_CLIENT_SECRET", CLIENT_SECRET)
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let run = Run::from(cmd.output().expect("run walkme-sf"));
        run.assert_no_panic();
        // Access tokens the emulator minted so far are secrets too.
        let minted: Vec<String> = self.emu.shared().lock().access.keys().cloned().collect();
        for token in minted {
            if !self.secrets.contains(&token) {
                self.secrets.push(token);
            }
        }
        self.scan(&format!("{args:?} stdout"), &run.stdout);
        self.scan(&format!("{args:?} stderr"), &run.stderr);
        run
    }

    #[track_caller]
    fn scan(&self, what: &str, text: &str) {
        for secret in &self.secrets {
            // The whole secret, or a telling piece of it.
            let piece = &secret[secret.len().saturating_sub(20)..];
            assert!(
                !text.contains(secret.as_str()) && !text.contains(piece),
                "a secret in {what}:\n{text}"
            );
        }
    }

    /// Every file a command may have written: the state dir and anything new in the test dir,
    /// but not the config, the report or the credentials store (where a refresh token belongs).
    fn scan_files(&self) {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(self.t.path(), &mut files);
        let mut scanned = 0;
        for f in files {
            let name = f
                .strip_prefix(self.t.path())
                .expect("below")
                .to_string_lossy()
                .into_owned();
            if name == "integrations.toml" || name == "sec.csv" || name.starts_with("xdg-config") {
                continue;
            }
            let text = String::from_utf8_lossy(&std::fs::read(&f).expect("read")).into_owned();
            self.scan(&name, &text);
            scanned += 1;
        }
        assert!(scanned >= 7, "only {scanned} files scanned");
    }
}

fn run_id(run: &Run) -> String {
    let record: serde_json::Value = serde_json::from_str(&run.stdout).expect("run --json");
    record["run_id"].as_str().expect("run_id").to_owned()
}

/// The subcommands `--help` lists.
fn commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect()
}

#[test]
fn no_command_leaks_a_secret() {
    let mut s = Sec::new(0);
    s.t.write(
        "sec.csv",
        "Email,Logins,Title\nanna.schmidt@acme-corp.com,5,Ms\nben.meyer@globex.io,x,Mr\n",
    );
    let help = s.run(&["--help"], &[]);
    help.assert_code(0);
    s.run(&["--version"], &[]).assert_code(0);
    s.run(&["validate"], &[]).assert_code(0);
    s.run(&["validate", "--json"], &[]).assert_code(0);
    s.run(&["run", "sec", "--dry-run", "-vv"], &[])
        .assert_code(4);
    let first = s.run(&["run", "sec", "--json", "-vv"], &[]);
    first.assert_code(4);
    let id = run_id(&first);
    s.run(&["run", "sec", "--env", "cc", "-vv"], &[])
        .assert_code(4);
    let access = s.emu.issue_access_token("admin@example.com");
    s.secrets.push(access.clone());
    let bare = [
        ("WALKME_SF_ACCESS_TOKEN", access.as_str()),
        ("WALKME_SF_INSTANCE_URL", s.emu.url()),
    ];
    let bare: Vec<(&str, String)> = bare.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    let bare: Vec<(&str, &str)> = bare.iter().map(|(k, v)| (*k, v.as_str())).collect();
    s.run(&["run", "sec", "-vv"], &bare).assert_code(4);
    // Refused credentials: the messages name the problem, never the token.
    let bogus = [
        ("WALKME_SF_ACCESS_TOKEN", BOGUS_ACCESS_TOKEN),
        ("WALKME_SF_INSTANCE_URL", s.emu.url()),
    ];
    let bogus: Vec<(&str, String)> = bogus.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    let bogus: Vec<(&str, &str)> = bogus.iter().map(|(k, v)| (*k, v.as_str())).collect();
    s.run(&["run", "sec", "-vv"], &bogus).assert_code(3);
    s.run(&["logs"], &[]).assert_code(0);
    s.run(&["logs", "--json"], &[]).assert_code(0);
    s.run(&["logs", "show", &id], &[]).assert_code(0);
    s.run(&["logs", "show", &id, "--json"], &[]).assert_code(0);
    s.run(&["revert", &id, "--dry-run", "-vv"], &[])
        .assert_code(0);
    s.run(&["revert", &id, "-vv"], &[]).assert_code(0);
    // A refresh token Salesforce no longer accepts.
    {
        let mut g = s.emu.shared().lock();
        g.refresh.clear();
        g.access.clear();
    }
    let refused = s.run(&["run", "sec", "-vv"], &[]);
    refused.assert_code(3);
    // Every other command (added later), with the same secrets around.
    let known = ["validate", "run", "logs", "revert"];
    for command in commands(&help.stdout) {
        let command = command.as_str();
        s.run(&[command, "--help"], &[]);
        if !known.contains(&command) {
            s.run(&[command], &[]);
            s.run(&[command, "--env", "sandbox", "-vv"], &[]);
        }
    }
    s.scan_files();
    assert!(s.secrets.len() > 4, "the emulator minted access tokens");
}

#[cfg(unix)]
#[test]
fn run_directories_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let mut s = Sec::new(0);
    s.t.write(
        "sec.csv",
        "Email,Logins,Title\nanna.schmidt@acme-corp.com,5,Ms\n",
    );
    s.run(&["run", "sec"], &[]).assert_code(0);
    s.run(&["run", "sec", "--dry-run"], &[]).assert_code(0);
    let integration = s.t.path().join("state/runs/sec");
    let mut dirs = vec![integration.clone()];
    dirs.extend(
        std::fs::read_dir(&integration)
            .expect("runs")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir()),
    );
    assert_eq!(dirs.len(), 3);
    for d in dirs {
        let mode = std::fs::metadata(&d).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "{} is {:o}", d.display(), mode & 0o777);
    }
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let t = TestEnv::new();
    t.write(
        "sec.csv",
        "Email,Logins,Title\nanna.schmidt@acme-corp.com,5,Ms\n",
    );
    for url in [
        "http://login.example.com",
        "http://127.0.0.1.evil.example",
        "http://localhost.evil.example",
    ] {
        t.write(
            "integrations.toml",
            format!(
                "[environments.sandbox]\nclient_id = \"test-app\"\nlogin_url = \"{url}\"\n{INTEGRATION}"
            ),
        );
        let out = t.run(&["validate"]);
        out.assert_code(2);
        assert!(
            out.stderr.contains("http://") || out.stdout.contains("http://"),
            "{url}: {out:?}"
        );
        let out = t
            .command()
            .env("WALKME_SF_REFRESH_TOKEN", "5Aep861refresh")
            .args(["run", "sec"])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{url}");
    }
    // A ready session whose instance is plain http off loopback.
    t.write(
        "integrations.toml",
        format!("[environments.sandbox]\nclient_id = \"test-app\"\n{INTEGRATION}"),
    );
    let out = t
        .command()
        .env("WALKME_SF_ACCESS_TOKEN", "00Dx!token")
        .env("WALKME_SF_INSTANCE_URL", "http://acme.my.salesforce.com")
        .args(["run", "sec"])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("00Dx!token"));
}

/// No terminal control other than newline and tab: ESC, BEL, CR, C1 controls.
#[track_caller]
fn assert_inert(what: &str, text: &str) {
    if let Some(c) = text
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        panic!("{what}: raw control {c:?} on the terminal:\n{text:?}");
    }
}

#[test]
fn control_characters_never_reach_the_terminal_raw() {
    // Requests take 300 ms, so the field can shrink after the describe: Salesforce then
    // answers with a message that quotes the value, controls and all.
    let mut s = Sec::new(300);
    let evil = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m";
    s.t.write(
        "sec.csv",
        format!(
            "Email,Logins,Title\n\
             anna.schmidt@acme-corp.com,5,\"A{evil}\"\n\
             ben.meyer@globex.io,6,\"{evil}much too long for the field\"\n\
             carla.okafor@initech.de,{evil}7,Dr\n\
             \"x{evil}@evil.example\",1,T\n"
        ),
    );
    let dry = s.run(&["run", "sec", "--dry-run", "-vv"], &[]);
    assert_inert("run --dry-run stdout", &dry.stdout);
    assert_inert("run --dry-run stderr", &dry.stderr);
    let queries = s.emu.stats().calls_of(EndpointKind::Query);
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("walkme-sf"))
        .args(["run", "sec", "-vv"])
        .current_dir(s.t.path())
        .env_remove("WALKME_SF_CONFIG")
        .env("WALKME_SF_REFRESH_TOKEN", &s.refresh)
        .env("WALKME_SF_STATE_DIR", s.t.path().join("state"))
        .env("XDG_CONFIG_HOME", s.t.path().join("xdg-config"))
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // Once the match query arrived, the describe has been answered.
    while s.emu.stats().calls_of(EndpointKind::Query) == queries {
        assert!(std::time::Instant::now() < deadline, "no query");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    {
        let mut g = s.emu.shared().lock();
        let table = g.table_mut("Lead").expect("Lead table");
        for f in &mut table.def.fields {
            if f.name == "Title" {
                f.length = 20;
            }
        }
    }
    let run = Run::from(child.wait_with_output().expect("wait"));
    run.assert_code(4);
    assert_inert("run stdout", &run.stdout);
    assert_inert("run stderr", &run.stderr);
    // Salesforce's message, with the value's controls, is in failed.csv as data …
    let dir = std::fs::read_dir(s.t.path().join("state/runs/sec"))
        .expect("runs")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .max()
        .expect("a run");
    let failed = std::fs::read_to_string(dir.join("failed.csv")).expect("failed.csv");
    assert!(
        failed.contains("STRING_TOO_LONG"),
        "{failed}\n{}\n{}",
        run.stderr,
        std::fs::read_to_string(dir.join("rejected.csv")).unwrap_or_default()
    );
    let id = dir.file_name().expect("id").to_string_lossy().into_owned();
    // … and every command that shows the run shows it escaped.
    for args in [
        vec!["logs"],
        vec!["logs", "show", id.as_str()],
        vec!["revert", id.as_str(), "--dry-run"],
        vec!["revert", id.as_str()],
    ] {
        let out = s.run(&args, &[]);
        assert_inert(&format!("{args:?} stdout"), &out.stdout);
        assert_inert(&format!("{args:?} stderr"), &out.stderr);
    }
}
