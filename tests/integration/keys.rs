//! Key fields beyond e-mail: Salesforce Ids (15 or 18 characters), key types that cannot match
//! report text, and environment credentials that must not leak across environments.

use crate::run::SyncEnv;

/// 15 → 18 characters: the case-safe suffix Salesforce appends (one letter per 5-char block).
fn id15(id18: &str) -> &str {
    &id18[..15]
}

#[test]
fn a_key_on_the_record_id_matches_15_and_18_character_ids() {
    let env = SyncEnv::new();
    let leads = env.emu.records("Lead");
    let id_of = |email: &str| {
        leads
            .iter()
            .find(|r| r["Email"] == email)
            .and_then(|r| r["Id"].as_str())
            .expect("seeded lead")
            .to_owned()
    };
    let anna = id_of("anna.schmidt@acme-corp.com");
    let ben = id_of("ben.meyer@globex.io");
    env.config(
        r#"
[integrations.by-id]
environment = "sandbox"
object = "Lead"
report = { name = "Scores", path = "scores.csv" }
key = { report = "Lead Id", salesforce = "Id" }

[[integrations.by-id.fields]]
report = "Score"
salesforce = "WalkMe_Engagement_Score__c"
"#,
    );
    env.report(
        "scores.csv",
        &format!("Lead Id,Score\n{},41\n {} ,42\n", id15(&anna), ben),
    );
    let run = env.run(&["run", "by-id"]);
    run.assert_code(0);
    let leads = env.emu.records("Lead");
    let score = |id: &str| {
        leads
            .iter()
            .find(|r| r["Id"] == id)
            .map(|r| r["WalkMe_Engagement_Score__c"].clone())
    };
    assert_eq!(score(&anna), Some(serde_json::json!(41)), "{}", run.stderr);
    assert_eq!(score(&ben), Some(serde_json::json!(42)));
    // Again: nothing left to write.
    let again = env.run(&["run", "by-id"]);
    again.assert_code(0);
    assert!(again.stderr.contains("0 to change"), "{}", again.stderr);
}

#[test]
fn a_key_field_that_cannot_match_text_is_refused_before_anything_is_written() {
    let env = SyncEnv::new();
    env.config(
        r#"
[integrations.by-number]
environment = "sandbox"
object = "Lead"
report = { name = "Scores", path = "scores.csv" }
key = { report = "Logins", salesforce = "WalkMe_Logins_Last_30_Days__c" }

[[integrations.by-number.fields]]
report = "Score"
salesforce = "WalkMe_Engagement_Score__c"
"#,
    );
    env.report("scores.csv", "Logins,Score\n21,5\n");
    let run = env.run(&["run", "by-number"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("is a double field; keys must be text"),
        "{}",
        run.stderr
    );
    let online = env.run(&["validate", "--online"]);
    online.assert_code(2);
    assert!(
        online.stderr.contains("is a double field"),
        "{}",
        online.stderr
    );
    assert_eq!(env.emu.stats().records_written, 0);
}

#[test]
fn environment_credentials_are_not_spread_over_several_environments() {
    let env = SyncEnv::new();
    env.config(&format!(
        "{}\n[environments.production]\nclient_id = \"test-app\"\nlogin_url = \"{}\"\n\n{}",
        crate::run::LEAD_LOGINS,
        env.emu.url(),
        crate::run::LEAD_LOGINS
            .replace("lead-logins", "prod-logins")
            .replace("environment = \"sandbox\"", "environment = \"production\"")
            .replace("WalkMe_Last_Login__c", "WalkMe_Engagement_Score__c")
            .replace("format = \"%m/%d/%Y %H:%M\"\n", "")
            .replace(
                "\"First Login\"\nsalesforce = \"WalkMe_First_Login__c\"",
                "\"First Login\"\nsalesforce = \"WalkMe_Active__c\""
            )
    ));
    let run = env.run(&["run", "--all"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("spans the environments production, sandbox"),
        "{}",
        run.stderr
    );
    assert_eq!(env.emu.stats().records_written, 0);
}
