//! A report fetched from a URL at run time (SPEC §4): it is synced like a file and recorded by its
//! URL; a URL that cannot be fetched fails the run (exit 1) before anything is written.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;

use crate::run::{LEAD_LOGINS, SyncEnv, example};

/// Serve `body` with `status` to each connection, on a loopback port, in the background.
fn serve(status: &'static str, body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/exports/logins.csv",
        listener.local_addr().expect("addr")
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn a_report_url_is_downloaded_synced_and_recorded_by_its_url() {
    let env = SyncEnv::new();
    let report = std::fs::read_to_string(example("examples/reports/logins-review-2026-11-30.csv"))
        .expect("example report");
    let url = serve("200 OK", report);
    env.config(&LEAD_LOGINS.replace(
        "report = { name = \"Logins Review\", path = \"logins.csv\" }",
        &format!("report = {{ name = \"Logins Review\", url = \"{url}\" }}"),
    ));
    let run = env.run(&["run", "lead-logins", "--json"]);
    run.assert_code(0);
    let record: serde_json::Value = serde_json::from_str(&run.stdout).expect("run.json");
    assert_eq!(record["report"]["file"], url.as_str());
    assert_eq!(record["counts"]["updated"], 26, "{record}");
    assert_eq!(env.emu.stats().records_written, 26);
}

#[test]
fn a_report_url_that_cannot_be_fetched_fails_before_writing() {
    let env = SyncEnv::new();
    let url = serve("404 Not Found", "gone".to_owned());
    env.config(&LEAD_LOGINS.replace(
        "report = { name = \"Logins Review\", path = \"logins.csv\" }",
        &format!("report = {{ name = \"Logins Review\", url = \"{url}\" }}"),
    ));
    let run = env.run(&["run", "lead-logins"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("cannot download the report"),
        "{}",
        run.stderr
    );
    assert_eq!(env.emu.stats().records_written, 0);
}
