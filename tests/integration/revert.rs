//! `walkme-sf revert` through the real binary against the emulator: a run made by a broken
//! report is undone field by field, a later manual edit survives, and the revert is a run of its
//! own.

use serde_json::{Map, Value, json};

use crate::run::{LEAD_LOGINS, SyncEnv, csv_lines, example_report};
use crate::support::Run;

const FIELDS: [&str; 3] = [
    "WalkMe_First_Login__c",
    "WalkMe_Last_Login__c",
    "WalkMe_Logins_Last_30_Days__c",
];

/// Every Lead's e-mail and mapped fields, by Id.
fn state(env: &SyncEnv) -> std::collections::BTreeMap<String, Map<String, Value>> {
    env.emu
        .records("Lead")
        .into_iter()
        .map(|r| {
            let id = r["Id"].as_str().expect("Id").to_owned();
            let kept = ["Email"]
                .iter()
                .chain(FIELDS.iter())
                .map(|f| ((*f).to_owned(), r.get(*f).cloned().unwrap_or(Value::Null)))
                .collect();
            (id, kept)
        })
        .collect()
}

/// A person edits a record in Salesforce (a REST update, as the UI would make).
pub fn edit(env: &SyncEnv, id: &str, fields: &Value) {
    let token = env.emu.issue_access_token("admin@example.com");
    let url = format!("{}/services/data/v64.0/sobjects/Lead/{id}", env.emu.url());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .patch(&url)
            .bearer_auth(token)
            .json(fields)
            .send()
            .await
            .expect("PATCH");
        assert!(
            response.status().is_success(),
            "edit: {}",
            response.status()
        );
    });
}

fn id_of(env: &SyncEnv, email: &str) -> String {
    env.lead(email)["Id"].as_str().expect("Id").to_owned()
}

fn run_id(env: &SyncEnv) -> String {
    env.last("lead-logins").0["run_id"]
        .as_str()
        .expect("run_id")
        .to_owned()
}

#[test]
fn a_broken_reports_run_is_reverted_except_where_edited_since() {
    let env = SyncEnv::new();
    env.config(LEAD_LOGINS);
    env.report("logins.csv", &example_report());
    env.run(&["run", "lead-logins"]).assert_code(0);
    let good = state(&env);

    // A broken export: every date the epoch, every count zero, for five Leads.
    env.report(
        "logins.csv",
        "User ID,First Login,Last Login,Logins Last 30 Days\n\
         anna.schmidt@acme-corp.com,1970-01-01T00:00:00Z,01/01/1970 00:00,0\n\
         ben.meyer@globex.io,1970-01-01T00:00:00Z,01/01/1970 00:00,0\n\
         carla.okafor@initech.de,1970-01-01T00:00:00Z,01/01/1970 00:00,0\n\
         david.rossi@umbrella.co.uk,1970-01-01T00:00:00Z,01/01/1970 00:00,0\n\
         nobody@example.com,1970-01-01T00:00:00Z,01/01/1970 00:00,0\n",
    );
    env.run(&["run", "lead-logins"]).assert_code(0);
    let broken_id = run_id(&env);
    let (broken, broken_dir) = env.last("lead-logins");
    assert_eq!(broken["records"]["updated"], 4);
    // Ben had 0 logins already: 3 + 3 + 2 + 3 + 3 fields... 11 lines in all.
    let broken_changes = csv_lines(&broken_dir, "changes.csv");
    assert_eq!(broken_changes.len(), 11, "{broken_changes:#?}");

    // Later, a person sets Carla's count by hand.
    let carla = id_of(&env, "carla.okafor@initech.de");
    edit(
        &env,
        &carla,
        &json!({ "WalkMe_Logins_Last_30_Days__c": 99 }),
    );
    let before_revert = state(&env);

    // A dry run writes nothing and records what it would write back.
    let writes = env.writes();
    let dry = env.run(&["revert", &broken_id, "--dry-run"]);
    dry.assert_code(0);
    assert_eq!(env.writes(), writes);
    assert_eq!(state(&env), before_revert);
    let (record, dir) = env.last("lead-logins");
    assert_eq!(record["dry_run"], true);
    assert_eq!(record["reverts"], broken_id.as_str());
    assert_eq!(record["counts"]["rows"], 11);
    assert_eq!(record["counts"]["updated"], 10);
    assert_eq!(record["counts"]["skipped"], 1);
    assert_eq!(csv_lines(&dir, "changes.csv").len(), 10);

    // The revert.
    let out = env.run(&["revert", &broken_id]);
    out.assert_code(0);
    assert!(
        out.stderr.contains("carla.okafor@initech.de") && out.stderr.contains("99"),
        "the edit is listed:\n{}",
        out.stderr
    );
    let (record, dir) = env.last("lead-logins");
    assert_eq!(record["status"], "completed");
    assert_eq!(record["dry_run"], false);
    assert_eq!(record["reverts"], broken_id.as_str());
    assert_eq!(record["integration"], "lead-logins");
    let c = &record["counts"];
    assert_eq!(
        [
            &c["rows"],
            &c["updated"],
            &c["skipped"],
            &c["unchanged"],
            &c["failed"],
            &c["aborted"],
        ],
        [11, 10, 1, 0, 0, 0]
    );
    assert_eq!(record["records"]["updated"], 4);
    let skipped = csv_lines(&dir, "skipped.csv");
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(
        skipped[0].contains("carla.okafor@initech.de")
            && skipped[0].contains("WalkMe_Logins_Last_30_Days__c"),
        "{skipped:?}"
    );
    // changes.csv: what the revert replaced (the broken values) and wrote back (the good ones).
    let changes = csv_lines(&dir, "changes.csv");
    assert_eq!(changes.len(), 10);
    let anna = id_of(&env, "anna.schmidt@acme-corp.com");
    assert!(changes.contains(&format!(
        "{anna},anna.schmidt@acme-corp.com,WalkMe_Logins_Last_30_Days__c,0,21"
    )));

    // Record by record: the good state, except the field a person edited.
    let now = state(&env);
    assert_eq!(now.len(), good.len());
    for (id, fields) in &good {
        let mut expected = fields.clone();
        if *id == carla {
            expected.insert("WalkMe_Logins_Last_30_Days__c".to_owned(), json!(99));
        }
        let actual = &now[id];
        for f in FIELDS {
            let same = match (&expected[f], &actual[f]) {
                (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
                (a, b) => a == b,
            };
            assert!(same, "{id} {f}: {} != {}", expected[f], actual[f]);
        }
    }

    // Reverting again writes nothing: every field holds its old value or was edited since.
    let writes = env.writes();
    env.run(&["revert", &broken_id]).assert_code(0);
    assert_eq!(env.writes(), writes);
    let (record, _) = env.last("lead-logins");
    assert_eq!(record["counts"]["unchanged"], 10);
    assert_eq!(record["counts"]["skipped"], 1);
    assert_eq!(record["counts"]["updated"], 0);

    // And the revert itself can be reverted: the broken values come back, except Carla's count.
    let reverts = env.runs("lead-logins");
    let revert_id = reverts
        .iter()
        .find(|(r, _)| r["reverts"] == broken_id.as_str() && r["records"]["updated"] == 4)
        .map(|(r, _)| r["run_id"].as_str().expect("id").to_owned())
        .expect("the revert run");
    env.run(&["revert", &revert_id]).assert_code(0);
    let anna_now = env.lead("anna.schmidt@acme-corp.com");
    assert_eq!(
        anna_now["WalkMe_Logins_Last_30_Days__c"].as_f64(),
        Some(0.0)
    );
    assert_eq!(
        env.lead("carla.okafor@initech.de")["WalkMe_Logins_Last_30_Days__c"].as_f64(),
        Some(99.0)
    );
}

#[test]
fn what_cannot_be_reverted_is_a_usage_error() {
    let env = SyncEnv::new();
    env.config(LEAD_LOGINS);
    env.report(
        "logins.csv",
        "User ID,First Login,Last Login,Logins Last 30 Days\n\
         anna.schmidt@acme-corp.com,2026-05-09T05:35:00Z,11/27/2026 06:08,21\n",
    );
    let out = env.run(&["revert", "20260101T000000000Z-0000"]);
    out.assert_code(2);
    assert!(out.stderr.contains("no run with id"), "{}", out.stderr);
    let out = env.run(&["revert", "../../etc"]);
    out.assert_code(2);

    env.run(&["run", "lead-logins", "--dry-run"]).assert_code(0);
    let dry = run_id(&env);
    let writes = env.writes();
    let out = env.run(&["revert", &dry]);
    out.assert_code(2);
    assert!(out.stderr.contains("dry run"), "{}", out.stderr);
    assert_eq!(env.writes(), writes);
}

#[test]
fn reverting_a_run_that_did_not_finish_warns() {
    let env = SyncEnv::new();
    env.config(LEAD_LOGINS);
    env.report(
        "logins.csv",
        "User ID,First Login,Last Login,Logins Last 30 Days\n\
         anna.schmidt@acme-corp.com,2026-05-09T05:35:00Z,11/27/2026 06:08,21\n",
    );
    env.run(&["run", "lead-logins"]).assert_code(0);
    let id = run_id(&env);
    // As a killed run leaves it: run.json never finished.
    let (mut record, dir) = env.last("lead-logins");
    record["finished_at"] = Value::Null;
    std::fs::write(dir.join("run.json"), record.to_string()).expect("run.json");
    let out = env.run(&["revert", &id, "--dry-run"]);
    out.assert_code(0);
    assert!(out.stderr.contains("did not finish"), "{}", out.stderr);
    let (revert, _) = env.last("lead-logins");
    assert_eq!(revert["counts"]["updated"], 3);
}

#[test]
fn a_revert_refused_before_its_first_write_aborts_every_line() {
    let env = SyncEnv::new();
    env.config(LEAD_LOGINS);
    env.report("logins.csv", &example_report());
    env.run(&["run", "lead-logins"]).assert_code(0);
    let id = run_id(&env);
    let run = Run::from(
        env.command()
            .args(["revert", &id])
            .env("WALKME_SF_REFRESH_TOKEN", "5Aep861-not-a-token")
            .output()
            .expect("revert"),
    );
    run.assert_code(3);
    let (record, dir) = env.last("lead-logins");
    assert_eq!(record["reverts"], id.as_str());
    assert_eq!(record["counts"]["rows"], 78, "{record}");
    assert_eq!(record["counts"]["aborted"], 78, "{record}");
    assert!(
        run.stderr.contains("failed: 78 changed fields"),
        "{}",
        run.stderr
    );
    let log = std::fs::read_to_string(dir.join("log.txt")).expect("log.txt");
    assert!(
        log.lines()
            .last()
            .unwrap_or_default()
            .contains("aborted 78"),
        "{log}"
    );
}
