//! A report fetched from a URL at run time (SPEC §4): it is synced like a file and recorded by its
//! URL, without the credentials a link may carry; a URL that cannot be fetched fails the run (exit
//! 1) before anything is written.

use crate::run::{LEAD_LOGINS, SyncEnv, example};

/// The example integration, its report fetched from `url`.
fn config_with_url(env: &SyncEnv, url: &str) {
    env.config(&LEAD_LOGINS.replace(
        "report = { name = \"Logins Review\", path = \"logins.csv\" }",
        &format!("report = {{ name = \"Logins Review\", url = \"{url}\" }}"),
    ));
}

/// Serve `body` with `status` to each connection; the report's URL.
fn serve(status: impl Into<String>, body: String) -> String {
    format!(
        "{}/exports/logins.csv",
        crate::support::serve(status, "text/csv", body)
    )
}

#[test]
fn a_report_url_is_downloaded_synced_and_recorded_by_its_url() {
    let env = SyncEnv::new();
    let report = std::fs::read_to_string(example("examples/reports/logins-review-2026-11-30.csv"))
        .expect("example report");
    let url = serve("200 OK", report);
    config_with_url(&env, &url);
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
    config_with_url(&env, &url);
    let run = env.run(&["run", "lead-logins"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("cannot download the report"),
        "{}",
        run.stderr
    );
    assert_eq!(env.emu.stats().records_written, 0);
}

/// Every file of the run's directory and the run's output, as one text.
fn everything_shown(env: &SyncEnv, run: &crate::support::Run) -> String {
    let (_, dir) = env.last("lead-logins");
    let mut text = format!("{}{}", run.stdout, run.stderr);
    for entry in std::fs::read_dir(&dir).expect("run dir") {
        let path = entry.expect("entry").path();
        if path.file_name().is_some_and(|n| n != "report.csv") {
            text.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
    text
}

#[test]
fn a_download_link_is_followed_and_its_credentials_never_shown() {
    let env = SyncEnv::new();
    let report = std::fs::read_to_string(example("examples/reports/logins-review-2026-11-30.csv"))
        .expect("example report");
    let target = serve("200 OK", report);
    let redirect = format!("302 Found\r\nLocation: {target}");
    let link = serve(redirect, String::new());
    let signed = link.replacen("http://", "http://user:pw123@", 1) + "?sig=QSECRET&x=1";
    config_with_url(&env, &signed);
    let run = env.run(&["run", "lead-logins", "--json"]);
    run.assert_code(0);
    let record: serde_json::Value = serde_json::from_str(&run.stdout).expect("run.json");
    assert_eq!(record["report"]["file"], format!("{link}?…"));
    assert_eq!(record["counts"]["updated"], 26, "{record}");
    let shown = everything_shown(&env, &run);
    assert!(
        !shown.contains("QSECRET") && !shown.contains("pw123"),
        "{shown}"
    );
}

#[test]
fn a_failed_download_names_the_link_without_its_credentials() {
    let env = SyncEnv::new();
    for status in [
        "404 Not Found",
        "302 Found\r\nLocation: http://example.com/r.csv",
    ] {
        let link = serve(status, "gone".to_owned());
        let signed = link.replacen("http://", "http://user:pw123@", 1) + "?sig=QSECRET";
        config_with_url(&env, &signed);
        let run = env.run(&["run", "lead-logins"]);
        run.assert_code(1);
        assert!(
            run.stderr
                .contains(&format!("cannot download the report from {link}?…: ")),
            "{}",
            run.stderr
        );
        let (record, _) = env.last("lead-logins");
        assert_eq!(record["report"]["file"], format!("{link}?…"), "{record}");
        let shown = everything_shown(&env, &run);
        assert!(
            !shown.contains("QSECRET") && !shown.contains("pw123"),
            "{shown}"
        );
        assert_eq!(env.emu.stats().records_written, 0);
    }
}
