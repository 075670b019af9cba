//! `walkme-sf describe`: an object's fields from the org, as a table and as JSON.

use sf_emulator::Config;

use crate::sf;
use crate::support::TestEnv;

fn setup() -> (sf_emulator::Emulator, TestEnv) {
    let emu = sf::emulator(Config::default());
    let env = TestEnv::new();
    sf::write_config(&env, &sf::sandbox(&emu));
    sf::seed_file_login(&env, "sandbox", &emu);
    (emu, env)
}

#[test]
fn describe_prints_an_aligned_table() {
    let (emu, env) = setup();
    let run = env.run(&["describe", "--env", "sandbox", "Lead"]);
    run.assert_code(0);
    insta::assert_snapshot!("describe_lead", sf::redact(&env, &emu, &run.stdout));
    insta::assert_snapshot!("describe_lead_stderr", sf::redact(&env, &emu, &run.stderr));
}

#[test]
fn describe_json_has_every_field_with_its_limits() {
    let (_emu, env) = setup();
    let run = env.run(&["describe", "--env", "sandbox", "Lead", "--json"]);
    run.assert_code(0);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["object"], "Lead");
    let fields = out["fields"].as_array().unwrap();
    let field = |name: &str| fields.iter().find(|f| f["name"] == name).unwrap().clone();
    let email = field("Email");
    assert_eq!(
        (email["type"].as_str(), email["length"].as_u64()),
        (Some("email"), Some(80))
    );
    assert_eq!(email["filterable"], true);
    let score = field("WalkMe_Engagement_Score__c");
    assert_eq!(
        (score["precision"].as_u64(), score["scale"].as_u64()),
        (Some(5), Some(2))
    );
    assert_eq!(field("WalkMe_Score_Formula__c")["updateable"], false);
    assert_eq!(field("Id")["updateable"], false);
    let segment = field("WalkMe_Segment__c");
    assert_eq!(segment["restricted_picklist"], true);
    assert_eq!(
        segment["picklist_values"],
        serde_json::json!(["Power", "Regular", "Dormant"])
    );
}

#[test]
fn describe_of_an_unknown_object_is_a_usage_error() {
    let (_emu, env) = setup();
    let run = env.run(&["describe", "--env", "sandbox", "Leed"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("the object `Leed` does not exist in `sandbox`")
    );
    let run = env.run(&["describe", "--env", "sandbx", "Lead"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("did you mean `sandbox`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn describe_without_a_login_is_exit_3() {
    let emu = sf::emulator(Config::default());
    let env = TestEnv::new();
    sf::write_config(&env, &sf::sandbox(&emu));
    let run = env.run(&["describe", "--env", "sandbox", "Lead"]);
    run.assert_code(3);
    assert!(run.stderr.contains("--store file"), "{}", run.stderr);
}
