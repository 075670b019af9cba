//! `walkme-sf logs` and `logs show` over runs recorded by the real binary.

use serde_json::Value;

use crate::run::{LEAD_LOGINS, SyncEnv, assert_balanced};

fn env_with_three_runs() -> SyncEnv {
    let env = SyncEnv::new();
    let nps = "\n[integrations.nps]\nenvironment = \"sandbox\"\nobject = \"Contact\"\n\
        report = { name = \"NPS\", path = \"nps.csv\" }\nkey = { report = \"Email\", salesforce = \"Email\" }\n\
        fields = [{ report = \"Score\", salesforce = \"WalkMe_NPS_Score__c\" }]\n";
    env.config(&format!("{LEAD_LOGINS}{nps}"));
    env.report(
        "logins.csv",
        "User ID,First Login,Last Login,Logins Last 30 Days\n\
         anna.schmidt@acme-corp.com,2026-05-09T05:35:00Z,11/27/2026 06:08,21\n\
         ben.meyer@globex.io,2026-09-03T02:23:00Z,11/26/2026 23:47,0\n",
    );
    let contact = env.emu.records("Contact")[0]["Email"]
        .as_str()
        .unwrap()
        .to_owned();
    env.report(
        "nps.csv",
        &format!("Email,Score\n{contact},9\n{contact}x,12\n"),
    );
    env.run(&["run", "lead-logins", "--dry-run"]).assert_code(0);
    env.run(&["run", "lead-logins"]).assert_code(0);
    env.run(&["run", "nps"]).assert_code(0);
    env
}

#[test]
fn logs_lists_runs_newest_first() {
    let env = env_with_three_runs();
    let run = env.run(&["logs"]);
    run.assert_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    for column in [
        "RUN ID",
        "INTEGRATION",
        "REPORT",
        "OBJECT",
        "STARTED (UTC)",
        "DURATION",
        "STATUS",
        "UPDATED",
        "FAILED",
    ] {
        assert!(lines[0].contains(column), "{}", lines[0]);
    }
    let nps = env.last("nps").0;
    let id = nps["run_id"].as_str().unwrap();
    assert!(lines[1].starts_with(id), "{}", run.stdout);
    assert!(
        lines[1].contains(" nps ") && lines[1].contains(" NPS ") && lines[1].contains(" Contact "),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains(" completed "), "{}", lines[1]);
    assert!(lines[2].contains(" lead-logins ") && lines[2].contains(" Logins Review "));
    assert!(lines[3].contains(" completed (dry run) "), "{}", lines[3]);
    // updated, failed: right-aligned counts at the end of the line.
    assert!(lines[2].trim_end().ends_with(" 2       0"), "{}", lines[2]);
    let started = nps["started_at"].as_str().unwrap();
    assert!(
        lines[1].contains(&started[..19].replace('T', " ")),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains('s'), "a duration: {}", lines[1]);

    let one = env.run(&["logs", "lead-logins", "--limit", "1"]);
    one.assert_code(0);
    let lines: Vec<&str> = one.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", one.stdout);
    let newest = env.last("lead-logins").0;
    assert!(lines[1].starts_with(newest["run_id"].as_str().unwrap()));

    // A name neither the config nor the run log knows is a usage error, with a suggestion.
    let none = env.run(&["logs", "lead-logns"]);
    none.assert_code(2);
    assert_eq!(none.stdout, "");
    assert!(
        none.stderr.contains("no integration named `lead-logns`")
            && none.stderr.contains("did you mean `lead-logins`?"),
        "{}",
        none.stderr
    );
    env.run(&["logs", "../.."]).assert_code(2);
    env.run(&["logs", "--limit", "0"]).assert_code(2);
}

#[test]
fn logs_json_is_an_array_of_run_json() {
    let env = env_with_three_runs();
    let run = env.run(&["logs", "--json"]);
    run.assert_code(0);
    let runs: Vec<Value> = serde_json::from_str(&run.stdout).expect("a JSON array");
    assert_eq!(runs.len(), 3);
    for r in &runs {
        assert_balanced(r);
    }
    assert_eq!(runs[0], env.last("nps").0);
    let leads = env.runs("lead-logins");
    assert_eq!(runs[1], leads[0].0);
    assert_eq!(runs[2], leads[1].0);
    assert_eq!(runs[2]["dry_run"], true);
    let limited: Vec<Value> =
        serde_json::from_str(&env.run(&["logs", "--json", "--limit", "2"]).stdout).unwrap();
    assert_eq!(limited.len(), 2);
    let empty = SyncEnv::new();
    let run = empty.run(&["logs", "--json"]);
    run.assert_code(0);
    assert_eq!(run.stdout.trim(), "[]");
}

#[test]
fn logs_show_prints_the_run_then_its_log() {
    let env = env_with_three_runs();
    let (record, dir) = env.last("nps");
    let id = record["run_id"].as_str().unwrap();
    let run = env.run(&["logs", "show", id]);
    run.assert_code(0);
    let out = &run.stdout;
    for expected in [
        format!("run          {id}"),
        "integration  nps".to_owned(),
        "environment  sandbox".to_owned(),
        "object       Contact".to_owned(),
        "status       completed".to_owned(),
        "rows         2 — updated 1, unchanged 0, unmatched 1,".to_owned(),
        "records      matched 1, updated 1, failed 0".to_owned(),
    ] {
        assert!(out.contains(&expected), "{expected:?} in\n{out}");
    }
    let log = std::fs::read_to_string(dir.join("log.txt")).unwrap();
    assert!(log.contains("read 2 rows"), "{log}");
    assert!(out.ends_with(&log), "{out}");

    let json = env.run(&["logs", "show", id, "--json"]);
    json.assert_code(0);
    let printed: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(printed, record);

    let missing = env.run(&["logs", "show", "20990101T000000000Z-ffff"]);
    missing.assert_code(2);
    assert!(
        missing.stderr.contains("no run with id"),
        "{}",
        missing.stderr
    );
    env.run(&["logs", "show", "../nps"]).assert_code(2);
}

#[test]
fn run_and_logs_help_show_examples() {
    let env = SyncEnv::new();
    for command in ["run", "logs"] {
        let run = env.run(&[command, "--help"]);
        run.assert_code(0);
        assert!(run.stdout.contains("Examples:"), "{}", run.stdout);
    }
    let run = env.run(&["--help"]);
    assert!(run.stdout.contains("walkme-sf logs"), "{}", run.stdout);
}

#[test]
fn logs_colours_the_status_only_when_asked_and_keeps_columns_aligned() {
    let env = env_with_three_runs();
    let plain = env.run(&["logs"]);
    plain.assert_code(0);
    assert!(
        !plain.stdout.contains('\x1b'),
        "NO_COLOR and a pipe: no colour"
    );
    let coloured = env.run(&["--color", "always", "logs"]);
    coloured.assert_code(0);
    assert!(
        coloured.stdout.contains("\x1b[32mcompleted"),
        "{}",
        coloured.stdout
    );
    // Without the escape codes the table is the plain one, so the columns line up.
    let stripped = coloured
        .stdout
        .replace("\x1b[32m", "")
        .replace("\x1b[33m", "")
        .replace("\x1b[31m", "")
        .replace("\x1b[0m", "");
    assert_eq!(stripped, plain.stdout);
}
