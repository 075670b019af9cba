//! `TestEnv`: a temporary directory with a config, reports and a state dir, and a way to run the
//! real binary in it.

use std::path::PathBuf;
use std::process::Output;

pub struct TestEnv {
    dir: tempfile::TempDir,
    /// Let the binary reach the session's keyring (only the keyring tests do).
    keyring: bool,
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TestEnv {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            keyring: false,
        }
    }

    /// A test environment whose commands reach the D-Bus session's keyring.
    pub fn with_keyring() -> Self {
        Self {
            keyring: true,
            ..Self::new()
        }
    }

    /// The test directory.
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Where `login --store file` keeps the login of `env`.
    pub fn credentials_file(&self, env: &str) -> PathBuf {
        self.dir
            .path()
            .join("xdg-config/walkme-sf/credentials")
            .join(format!("{env}.json"))
    }

    /// Write a file below the test directory (parents created).
    #[track_caller]
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, contents).expect("write");
        path
    }

    /// A path below the test directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A `walkme-sf` command run in the test directory with an isolated environment.
    pub fn command(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.std_command());
        cmd.timeout(std::time::Duration::from_secs(120));
        cmd
    }

    /// The same command as a `std::process::Command`, for tests that run it in the background.
    pub fn std_command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("walkme-sf"));
        if !self.keyring {
            // No session bus: the OS keyring is unavailable, so no test touches the user's
            // keyring, and parallel tests cannot share entries.
            let runtime = self.dir.path().join("xdg-runtime");
            std::fs::create_dir_all(&runtime).expect("mkdir");
            cmd.env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/walkme-sf-test-bus",
            )
            .env("XDG_RUNTIME_DIR", runtime);
        }
        cmd.current_dir(self.dir.path())
            .env_remove("BROWSER")
            .env_remove("WALKME_SF_LOGIN_TIMEOUT")
            .env_remove("WALKME_SF_CONFIG")
            .env_remove("WALKME_SF_ACCESS_TOKEN")
            .env_remove("WALKME_SF_INSTANCE_URL")
            .env_remove("WALKME_SF_REFRESH_TOKEN")
            .env_remove("WALKME_SF_CLIENT_ID")
            .env_remove("WALKME_SF_CLIENT_SECRET")
            .env("WALKME_SF_STATE_DIR", self.dir.path().join("state"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg-config"))
            .env("NO_COLOR", "1")
            .env("RUST_BACKTRACE", "1");
        cmd
    }

    /// Run with arguments and capture everything.
    #[track_caller]
    pub fn run(&self, args: &[&str]) -> Run {
        let output = self.command().args(args).output().expect("run walkme-sf");
        Run::from(output)
    }

    /// Replace this environment's directory in text, for stable snapshots.
    pub fn redact(&self, text: &str) -> String {
        let dir = self.dir.path().display().to_string();
        let canonical = std::fs::canonicalize(self.dir.path())
            .map_or_else(|_| dir.clone(), |p| p.display().to_string());
        text.replace(&canonical, "[DIR]").replace(&dir, "[DIR]")
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// No command may ever print a Rust panic or a debug dump.
    #[track_caller]
    pub fn assert_no_panic(&self) -> &Self {
        for text in [&self.stdout, &self.stderr] {
            assert!(!text.contains("panicked at"), "panic in output:\n{text}");
            assert!(
                !text.contains("stack backtrace"),
                "backtrace in output:\n{text}"
            );
            assert!(
                !text.contains("RUST_BACKTRACE"),
                "panic hint in output:\n{text}"
            );
        }
        self
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self.assert_no_panic()
    }
}

/// A web server on a loopback port, in the background, answering every request with `status`
/// (a status line's rest, which may carry headers: `"302 Found\r\nLocation: …"`), a body of
/// `content_type` and `body`. Returns its base URL, `http://127.0.0.1:PORT`.
pub fn serve(status: impl Into<String>, content_type: &'static str, body: String) -> String {
    use std::io::{Read as _, Write as _};
    let status = status.into();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}
