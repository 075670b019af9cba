//! `walkme-sf validate --online`: the config against each object's describe and the report's
//! values converted to each field's type; every problem located in the config; exit 0 or 2.

use sf_emulator::Config;

use crate::sf;
use crate::support::TestEnv;

/// An org whose Lead has one field for each kind of problem.
const SCHEMA: &str = r#"{"objects": [{"name": "Lead", "label": "Lead", "labelPlural": "Leads", "keyPrefix": "00Q", "fields": [
  {"name": "Id", "type": "id", "label": "Lead ID", "length": 18, "updateable": false, "createable": false, "nillable": false},
  {"name": "Email", "type": "email", "label": "Email", "length": 80},
  {"name": "LastName", "type": "string", "label": "Last Name", "length": 80},
  {"name": "Notes__c", "type": "textarea", "label": "Notes", "length": 32000, "filterable": false},
  {"name": "Short__c", "type": "string", "label": "Short", "length": 5},
  {"name": "Segment__c", "type": "picklist", "label": "Segment", "length": 255, "restrictedPicklist": true,
   "picklistValues": [{"value": "Power"}, {"value": "Regular"}]},
  {"name": "Score__c", "type": "double", "label": "Score", "precision": 5, "scale": 2},
  {"name": "When__c", "type": "datetime", "label": "When"},
  {"name": "Formula__c", "type": "double", "label": "Formula", "precision": 18, "scale": 2, "calculated": true, "updateable": false, "createable": false},
  {"name": "Read_Only__c", "type": "string", "label": "Read only", "length": 10, "updateable": false},
  {"name": "Title__c", "type": "string", "label": "Title", "length": 100}
]}]}"#;

const REPORT: &str = "\
User ID,Last Login,Segment,Nickname,Score,X,Y,Z
ann@acme.com,2024-05-01T10:00:00Z,Power,ann,12.5,1,a,b
bob@acme.com,yesterday,Gold,bobby-the-builder,12345.5,1,a,b
not-an-email,2024-13-45,Silver,c,1.5,1,a,b
";

fn integrations() -> &'static str {
    r#"
[integrations.a-object]
environment = "sandbox"
object = "Leed"
report = { name = "Logins Review", path = "logins.csv" }
key = { report = "User ID", salesforce = "Email" }
fields = [{ report = "Last Login", salesforce = "When__c" }]

[integrations.b-key-missing]
environment = "sandbox"
object = "Lead"
report = { name = "Logins Review", path = "logins.csv" }
key = { report = "User ID", salesforce = "Emial" }
fields = [{ report = "Segment", salesforce = "Segment__c" }]

[integrations.c-key-not-filterable]
environment = "sandbox"
object = "Lead"
report = { name = "Logins Review", path = "logins.csv" }
key = { report = "User ID", salesforce = "Notes__c" }
fields = [{ report = "Nickname", salesforce = "Short__c" }]

[integrations.d-fields]
environment = "sandbox"
object = "Lead"
report = { name = "Logins Review", path = "logins.csv" }
key = { report = "User ID", salesforce = "Email" }

[[integrations.d-fields.fields]]
report = "Last Login"
salesforce = "When__c"

[[integrations.d-fields.fields]]
report = "Score"
salesforce = "Score__c"

[[integrations.d-fields.fields]]
report = "X"
salesforce = "Formula__c"

[[integrations.d-fields.fields]]
report = "Y"
salesforce = "Read_Only__c"

[[integrations.d-fields.fields]]
report = "Z"
salesforce = "Missing__c"

[[integrations.d-fields.fields]]
report = "Z"
salesforce = "Xyzzy"
"#
}

fn setup(integrations: &str) -> (sf_emulator::Emulator, TestEnv) {
    let emu = sf::emulator(Config {
        schema_json: Some(SCHEMA.to_owned()),
        default_seed: false,
        ..Config::default()
    });
    let env = TestEnv::new();
    sf::write_config(&env, &format!("{}{integrations}", sf::sandbox(&emu)));
    env.write("logins.csv", REPORT);
    sf::seed_file_login(&env, "sandbox", &emu);
    (emu, env)
}

#[test]
fn validate_online_lists_one_problem_of_each_kind() {
    let (emu, env) = setup(integrations());
    // Offline, the config is fine.
    env.run(&["validate"]).assert_code(0);
    let run = env.run(&["validate", "--online"]);
    run.assert_code(2);
    insta::assert_snapshot!("online_problems", sf::redact(&env, &emu, &run.stderr));
    // One describe per object, whatever the number of integrations.
    assert_eq!(emu.stats().calls_of(sf_emulator::EndpointKind::Describe), 2);

    let run = env.run(&["validate", "--online", "--json"]);
    run.assert_code(2);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["ok"], false);
    let problems = out["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 12, "{problems:#?}");
    for p in problems {
        assert!(
            p["line"].as_u64().is_some() && p["column"].as_u64().is_some(),
            "{p}"
        );
        assert!(p["integration"].is_string());
        assert!(p["file"].as_str().unwrap().ends_with("integrations.toml"));
    }
}

#[test]
fn validate_online_of_a_good_integration_is_exit_0() {
    let (_emu, env) = setup(
        r#"
[integrations.good]
environment = "sandbox"
object = "Lead"
report = { name = "Logins Review", path = "good.csv" }
key = { report = "User ID", salesforce = "Email" }
fields = [{ report = "Last Login", salesforce = "When__c" }, { report = "Score", salesforce = "Score__c" }]
"#,
    );
    env.write(
        "good.csv",
        "User ID,Last Login,Score\nann@acme.com,2024-05-01T10:00:00Z,12.5\nbob@acme.com,,\n",
    );
    let run = env.run(&["validate", "--online", "good"]);
    run.assert_code(0);
    assert!(run.stdout.contains("1 integration valid"), "{}", run.stdout);
}

#[test]
fn validate_online_without_a_login_is_exit_3() {
    let (_emu, env) = setup(integrations());
    std::fs::remove_file(env.credentials_file("sandbox")).unwrap();
    let run = env.run(&["validate", "--online"]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("walkme-sf login --env sandbox"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_environment_without_a_login_does_not_hide_the_problems_of_the_others() {
    let (emu, env) = setup(
        r#"
[integrations.good]
environment = "sandbox"
object = "Leed"
report = { name = "Logins Review", path = "good.csv" }
key = { report = "User ID", salesforce = "Email" }
fields = [{ report = "Score", salesforce = "Score__c" }]

[integrations.prod]
environment = "uat"
object = "Lead"
report = { name = "Logins Review", path = "good.csv" }
key = { report = "User ID", salesforce = "Email" }
fields = [{ report = "Score", salesforce = "Score__c" }]
"#,
    );
    let text = std::fs::read_to_string(env.file("integrations.toml")).unwrap();
    env.write(
        "integrations.toml",
        format!(
            "{text}\n[environments.uat]\nkind = \"sandbox\"\nlogin_url = \"{}\"\nclient_id = \"x\"\n",
            emu.url()
        ),
    );
    env.write("good.csv", "User ID,Score\nann@acme.com,12.5\n");
    let run = env.run(&["validate", "--online", "good", "prod"]);
    // `uat` has no login (exit 3), yet the sandbox integration's problem is listed first.
    run.assert_code(3);
    assert!(
        run.stderr.contains("the object `Leed` does not exist"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("walkme-sf login --env uat"),
        "{}",
        run.stderr
    );
}
