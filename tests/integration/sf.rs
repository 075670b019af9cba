//! Helpers of the tests that talk to the emulator: start it, write a config pointing at it,
//! seed a stored login, and play the browser of the web login.
//!
//! The browser: `BROWSER` names a small script written into the test directory that saves the
//! URL it is given to a file (so the test proves `$BROWSER` receives the URL); the test then
//! follows that URL itself with plain HTTP/1.1 over `std::net`, as a browser would: the
//! emulator's authorize endpoint answers 302 to the loopback redirect, which the test requests
//! (optionally with a forged `state`). No external program besides `/bin/sh` is needed.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sf_emulator::{Config, Emulator};

use crate::support::{Run, TestEnv};

pub const CLIENT_ID: &str = "walkme-sf-test-client";

/// An emulator that accepts only [`CLIENT_ID`], with no sample records.
pub fn emulator(config: Config) -> Emulator {
    Emulator::start(Config {
        client_id: Some(CLIENT_ID.to_owned()),
        ..config
    })
    .expect("start the emulator")
}

/// A port nobody listens on right now, for `redirect_port`.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    listener.local_addr().expect("addr").port()
}

/// `[environments.sandbox]` at the emulator, with a free redirect port.
pub fn sandbox(emu: &Emulator) -> String {
    format!(
        "[environments.sandbox]\nlogin_url = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nredirect_port = {}\n",
        emu.url(),
        free_port()
    )
}

/// An integration of environment `env` (a config needs one).
pub fn integration(env: &str) -> String {
    format!(
        "\n[integrations.lead-logins]\nenvironment = \"{env}\"\nobject = \"Lead\"\n\
         report = {{ name = \"Logins Review\", path = \"logins.csv\" }}\n\
         key = {{ report = \"User ID\", salesforce = \"Email\" }}\n\
         fields = [{{ report = \"Last Login\", salesforce = \"WalkMe_Last_Login__c\" }}]\n"
    )
}

/// Write `integrations.toml`: the text, plus an integration of `sandbox` when it has none.
pub fn write_config(env: &TestEnv, text: &str) {
    if text.contains("[integrations") {
        env.write("integrations.toml", text);
    } else {
        env.write(
            "integrations.toml",
            format!("{text}{}", integration("sandbox")),
        );
    }
}

/// Store a login of `name` in the file store, as `login --store file` would, with a refresh
/// token the emulator issued.
pub fn seed_file_login(env: &TestEnv, name: &str, emu: &Emulator) -> String {
    let token = emu.issue_refresh_token("admin@example.com");
    let json = serde_json::json!({
        "version": 1,
        "refresh_token": token,
        "instance_url": emu.url(),
        "username": "admin@example.com",
        "org_id": "00D000000000001EAA",
        "login_url": emu.url(),
        "client_id": CLIENT_ID,
    });
    let path = env.credentials_file(name);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, serde_json::to_string_pretty(&json).expect("json")).expect("write");
    set_mode(&path, 0o600);
    token
}

pub fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A file's permission bits.
pub fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// The stored login of `name` in the file store.
pub fn stored(env: &TestEnv, name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(env.credentials_file(name)).expect("credentials file");
    serde_json::from_str(&text).expect("stored JSON")
}

/// Replace the emulator's URL in text, for snapshots.
pub fn redact(env: &TestEnv, emu: &Emulator, text: &str) -> String {
    env.redact(text).replace(emu.url(), "[EMULATOR]")
}

/// A `BROWSER` script that saves its argument to `browser-url.txt` in the test directory.
pub fn browser_script(env: &TestEnv) -> PathBuf {
    let out = env.path().join("browser-url.txt");
    let script = env.write(
        "browser.sh",
        format!(
            "#!/bin/sh\nprintf '%s' \"$1\" > '{0}.tmp' && mv '{0}.tmp' '{0}'\n",
            out.display()
        ),
    );
    set_mode(&script, 0o755);
    script
}

/// Run `walkme-sf args` in the background with `BROWSER` set, wait for the URL it opens, act
/// as the browser (with `state` replaced when `forge_state`), and return the finished run.
pub fn web_login(env: &TestEnv, args: &[&str], forge_state: bool) -> (Run, String) {
    let script = browser_script(env);
    let child = env
        .std_command()
        .args(args)
        .env("BROWSER", &script)
        .env("WALKME_SF_LOGIN_TIMEOUT", "30")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn walkme-sf");
    let url_file = env.path().join("browser-url.txt");
    let deadline = Instant::now() + Duration::from_secs(60);
    let url = loop {
        if let Ok(url) = std::fs::read_to_string(&url_file) {
            break url;
        }
        assert!(Instant::now() < deadline, "the browser was never opened");
        std::thread::sleep(Duration::from_millis(50));
    };
    // The authorize endpoint redirects to the loopback listener.
    let (status, location) = get(&url);
    assert_eq!(status, 302, "authorize answered {status}");
    let mut redirect = url::Url::parse(&location.expect("Location")).expect("redirect URL");
    if forge_state {
        let pairs: Vec<(String, String)> = redirect
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "state" { "forged".into() } else { v };
                (k.into_owned(), v.into_owned())
            })
            .collect();
        redirect.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let (status, _) = get(redirect.as_str());
    let output = child.wait_with_output().expect("wait for walkme-sf");
    (Run::from(output), format!("{status}"))
}

/// One HTTP/1.1 GET over a plain TCP connection: the status and the `Location` header.
pub fn get(url: &str) -> (u16, Option<String>) {
    let url = url::Url::parse(url).expect("URL");
    let host = url.host_str().expect("host");
    let port = url.port_or_known_default().expect("port");
    let mut stream = std::net::TcpStream::connect((host, port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let location = text.lines().take_while(|l| !l.is_empty()).find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("location")
            .then(|| value.trim().to_owned())
    });
    (status, location)
}
