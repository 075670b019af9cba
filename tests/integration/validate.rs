//! `walkme-sf validate`: every problem located with file, line, column and a caret; exit 0 or 2.

use crate::support::TestEnv;

const BASE: &str = r#"[environments.sandbox]
client_id = "3MVG9example"

[integrations.lead-logins]
environment = "sandbox"
object = "Lead"
report = { name = "Logins Review", path = "logins.csv" }
key = { report = "User ID", salesforce = "Email" }

[[integrations.lead-logins.fields]]
report = "Last Login"
salesforce = "WalkMe_Last_Login__c"
"#;

/// Invalid configurations and the exact output `validate` gives for each.
const INVALID: &[(&str, &str)] = &[
    ("root_unknown_key", "verbose = true\n"),
    (
        "unknown_environment_key",
        "[environments.production]\nclientid = \"x\"\n",
    ),
    (
        "client_secret_in_config",
        "[environments.production]\nclient_secret = \"s3cr3t\"\n",
    ),
    (
        "unknown_integration_key",
        "[integrations.b]\nobjekt = \"Lead\"\n",
    ),
    (
        "unknown_report_key",
        "[integrations.b]\nreport = { name = \"R\", file = \"r.csv\" }\n",
    ),
    (
        "unknown_key_key",
        "[integrations.b]\nkey = { report = \"E\", salesforce = \"Email\", field = \"x\" }\n",
    ),
    (
        "unknown_mapping_key",
        "[[integrations.lead-logins.fields]]\nreport = \"A\"\nsalesforce = \"A__c\"\ntarget = \"x\"\n",
    ),
    (
        "wrong_type_object",
        "[integrations.b]\nenvironment = \"sandbox\"\nobject = 5\nreport = { name = \"R\", path = \"r.csv\" }\nkey = { report = \"E\", salesforce = \"Email\" }\nfields = [{ report = \"A\", salesforce = \"A__c\" }]\n",
    ),
    (
        "wrong_type_fields",
        "[integrations.b]\nenvironment = \"sandbox\"\nobject = \"Lead\"\nreport = { name = \"R\", path = \"r.csv\" }\nkey = { report = \"E\", salesforce = \"Email\" }\nfields = \"A__c\"\n",
    ),
    (
        "wrong_type_redirect_port",
        "[environments.production]\nredirect_port = \"1717\"\n",
    ),
    ("unknown_sub_table", "[integrations.lead-logins.x]\n"),
    ("integration_not_a_table", "[integrations]\nb = 1\n"),
    (
        "missing_object",
        "[integrations.b]\nenvironment = \"sandbox\"\nreport = { name = \"R\", path = \"r.csv\" }\nkey = { report = \"E\", salesforce = \"Email\" }\nfields = [{ report = \"A\", salesforce = \"A__c\" }]\n",
    ),
    (
        "missing_key",
        "[integrations.b]\nenvironment = \"sandbox\"\nobject = \"Lead\"\nreport = { name = \"R\", path = \"r.csv\" }\nfields = [{ report = \"A\", salesforce = \"A__c\" }]\n",
    ),
    (
        "unknown_environment",
        "[integrations.b]\nenvironment = \"prod\"\nobject = \"Lead\"\nreport = { name = \"R\", path = \"r.csv\" }\nkey = { report = \"E\", salesforce = \"Email\" }\nfields = [{ report = \"A\", salesforce = \"A__c\" }]\n",
    ),
    (
        "environment_without_kind",
        "[environments.uat]\nlogin_url = \"https://acme--uat.sandbox.my.salesforce.com\"\n",
    ),
    ("bad_kind", "[environments.uat]\nkind = \"staging\"\n"),
    (
        "builtin_of_other_kind",
        "[environments.production]\nkind = \"sandbox\"\n",
    ),
    (
        "http_login_url_off_loopback",
        "[environments.uat]\nkind = \"sandbox\"\nlogin_url = \"http://acme.my.salesforce.com\"\n",
    ),
    (
        "login_url_not_a_url",
        "[environments.uat]\nkind = \"sandbox\"\nlogin_url = \"acme.my.salesforce.com\"\n",
    ),
    (
        "bad_api_version",
        "[environments.production]\napi_version = \"sixty-four\"\n",
    ),
    (
        "old_api_version",
        "[environments.production]\napi_version = \"42.0\"\n",
    ),
    (
        "redirect_port_out_of_range",
        "[environments.production]\nredirect_port = 70000\n",
    ),
    (
        "username_without_key_file",
        "[environments.production]\nusername = \"integration@acme.com\"\n",
    ),
    (
        "bad_flow",
        "[environments.production]\nflow = \"password\"\n",
    ),
    (
        "report_without_path_or_url",
        "[integrations.b]\nenvironment = \"sandbox\"\nobject = \"Lead\"\nreport = { name = \"R\" }\nkey = { report = \"E\", salesforce = \"Email\" }\nfields = [{ report = \"A\", salesforce = \"A__c\" }]\n",
    ),
    (
        "report_with_path_and_url",
        "[integrations.b]\nenvironment = \"sandbox\"\nobject = \"Lead\"\nreport = { name = \"R\", path = \"r.csv\", url = \"https://x.example.com/r.csv\" }\nkey = { report = \"E\", salesforce = \"Email\" }\nfields = [{ report = \"A\", salesforce = \"A__c\" }]\n",
    ),
    (
        "report_url_plain_http",
        "[integrations.b]\nenvironment = \"sandbox\"\nobject = \"Lead\"\nreport = { name = \"R\", url = \"http://insights.example.com/r.csv\" }\nkey = { report = \"E\", salesforce = \"Email\" }\nfields = [{ report = \"A\", salesforce = \"A__c\" }]\n",
    ),
    (
        "report_url_plain_http_with_credentials",
        "[integrations.b]\nenvironment = \"sandbox\"\nobject = \"Lead\"\nreport = { name = \"R\", url = \"http://u:s3cr3t@insights.example.com/r.csv?sig=s3cr3t\" }\nkey = { report = \"E\", salesforce = \"Email\" }\nfields = [{ report = \"A\", salesforce = \"A__c\" }]\n",
    ),
    (
        "empty_report_name",
        "[integrations.b]\nenvironment = \"sandbox\"\nobject = \"Lead\"\nreport = { name = \"  \", path = \"r.csv\" }\nkey = { report = \"E\", salesforce = \"Email\" }\nfields = [{ report = \"A\", salesforce = \"A__c\" }]\n",
    ),
    (
        "key_field_also_mapped",
        "[[integrations.lead-logins.fields]]\nreport = \"User ID\"\nsalesforce = \"email\"\n",
    ),
    (
        "no_mappings",
        "[integrations.b]\nenvironment = \"sandbox\"\nobject = \"Lead\"\nreport = { name = \"R\", path = \"r.csv\" }\nkey = { report = \"E\", salesforce = \"Email\" }\n",
    ),
    (
        "duplicate_target",
        "[[integrations.lead-logins.fields]]\nreport = \"Last Seen\"\nsalesforce = \"walkme_last_login__c\"\n",
    ),
    (
        "duplicate_target_across_integrations",
        "[integrations.b]\nenvironment = \"sandbox\"\nobject = \"Lead\"\nreport = { name = \"R\", path = \"r.csv\" }\nkey = { report = \"E\", salesforce = \"Email\" }\nfields = [{ report = \"A\", salesforce = \"WalkMe_Last_Login__c\" }]\n",
    ),
    (
        "bad_option_value",
        "[integrations.b]\nenvironment = \"sandbox\"\nobject = \"Lead\"\nreport = { name = \"R\", path = \"r.csv\" }\nkey = { report = \"E\", salesforce = \"Email\" }\nfields = [{ report = \"A\", salesforce = \"A__c\" }]\non_multiple_matches = \"all\"\nempty_cells = \"null\"\nwrite_api = \"soap\"\n",
    ),
    (
        "bad_max_changes_text",
        "[integrations.b]\nenvironment = \"sandbox\"\nobject = \"Lead\"\nreport = { name = \"R\", path = \"r.csv\" }\nkey = { report = \"E\", salesforce = \"Email\" }\nfields = [{ report = \"A\", salesforce = \"A__c\" }]\nmax_changes = \"ten\"\n",
    ),
    (
        "bad_max_changes_negative",
        "[integrations.b]\nenvironment = \"sandbox\"\nobject = \"Lead\"\nreport = { name = \"R\", path = \"r.csv\" }\nkey = { report = \"E\", salesforce = \"Email\" }\nfields = [{ report = \"A\", salesforce = \"A__c\" }]\nmax_changes = -1\n",
    ),
    (
        "converted_leads_on_contact",
        "[integrations.b]\nenvironment = \"sandbox\"\nobject = \"Contact\"\nreport = { name = \"R\", path = \"r.csv\" }\nkey = { report = \"E\", salesforce = \"Email\" }\nfields = [{ report = \"A\", salesforce = \"A__c\" }]\nconverted_leads = \"include\"\n",
    ),
    (
        "bad_date_format",
        "[[integrations.lead-logins.fields]]\nreport = \"First Login\"\nsalesforce = \"WalkMe_First_Login__c\"\nformat = \"%Q/%m\"\n",
    ),
    (
        "invalid_integration_name",
        "[integrations.\"lead logins\"]\nenvironment = \"sandbox\"\nobject = \"Lead\"\nreport = { name = \"R\", path = \"r.csv\" }\nkey = { report = \"E\", salesforce = \"Email\" }\nfields = [{ report = \"A\", salesforce = \"A__c\" }]\n",
    ),
    (
        "empty_mapping_column",
        "[[integrations.lead-logins.fields]]\nreport = \"\"\nsalesforce = \"WalkMe_First_Login__c\"\n",
    ),
    (
        "label_instead_of_api_name",
        "[[integrations.lead-logins.fields]]\nreport = \"First Login\"\nsalesforce = \"WalkMe First Login\"\n",
    ),
    (
        "two_problems_in_one_file",
        "[integrations.b]\nenvironment = \"sandbx\"\nobject = \"Lead\"\nreport = { name = \"R\", path = \"r.csv\" }\nkey = { report = \"E\", salesforce = \"Email\" }\nfields = [{ report = \"A\", salesforce = \"A__c\" }]\non_duplicate_key = \"frist\"\n",
    ),
    (
        "toml_unclosed_string",
        "[integrations.b]\nobject = \"Lead\n",
    ),
    (
        "toml_duplicate_key",
        "[integrations.b]\nobject = \"Lead\"\nobject = \"Contact\"\n",
    ),
    (
        "toml_error_in_a_secret",
        "[environments.production]\nrefresh_token = \"s3cr3t\n",
    ),
    (
        "toml_bad_table_header",
        "[integrations.b\nobject = \"Lead\"\n",
    ),
];

#[test]
fn invalid_configs_are_reported_precisely() {
    for (name, extra) in INVALID {
        let env = TestEnv::new();
        // `root_` cases go before the first table, the others after the last.
        let text = if name.starts_with("root_") {
            format!("{extra}\n{BASE}")
        } else {
            format!("{BASE}\n{extra}")
        };
        env.write("integrations.toml", text);
        let run = env.run(&["validate"]);
        run.assert_code(2);
        assert_eq!(run.stdout, "", "{name}: validate prints problems on stderr");
        assert!(!run.stderr.contains("s3cr3t"), "{name}: a secret shown");
        insta::assert_snapshot!(format!("invalid_{name}"), env.redact(&run.stderr));
    }
}

#[test]
fn wrong_types_are_located() {
    let env = TestEnv::new();
    env.write(
        "integrations.toml",
        format!("{BASE}key_case_sensitive = \"yes\"\n").replace(
            "[[integrations.lead-logins.fields]]\nreport = \"Last Login\"",
            "[[integrations.lead-logins.fields]]\nreport = \"Last Login\"",
        ),
    );
    // `key_case_sensitive` lands in the last table opened, the mapping: an unknown key there.
    let run = env.run(&["validate"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("unknown key `key_case_sensitive` in a mapping"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("integrations.toml:13:1"),
        "{}",
        run.stderr
    );

    let env = TestEnv::new();
    let text = BASE.replace(
        "key = { report = \"User ID\", salesforce = \"Email\" }",
        "key = { report = \"User ID\", salesforce = \"Email\" }\nkey_case_sensitive = \"yes\"",
    );
    env.write("integrations.toml", text);
    let run = env.run(&["validate"]);
    run.assert_code(2);
    insta::assert_snapshot!("wrong_type_bool", env.redact(&run.stderr));
}

#[test]
fn config_that_is_not_utf8_is_a_located_problem() {
    let env = TestEnv::new();
    let mut bytes = BASE.as_bytes().to_vec();
    bytes.extend_from_slice(b"# caf\xe9\n");
    env.write("integrations.toml", bytes);
    let run = env.run(&["validate"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("the config file is not UTF-8"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("integrations.toml:13:6"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_valid_config_passes_with_exit_0() {
    let env = TestEnv::new();
    env.write("integrations.toml", BASE);
    env.write("logins.csv", "User ID,Last Login\n");
    let run = env.run(&["validate"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "integrations.toml: 1 integration valid\n");
    assert_eq!(run.stderr, "");
}

#[test]
fn loopback_http_is_allowed() {
    let env = TestEnv::new();
    env.write(
        "integrations.toml",
        format!(
            "{BASE}\n[environments.emulator]\nkind = \"sandbox\"\nlogin_url = \"http://127.0.0.1:8080/\"\n\n[environments.local]\nkind = \"production\"\nlogin_url = \"http://localhost:9000\"\n"
        ),
    );
    env.run(&["validate"]).assert_code(0);
}

#[test]
fn the_example_config_validates() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let env = TestEnv::new();
    let run = Run::from(
        env.command()
            .current_dir(root)
            .args(["--config", "integrations.example.toml", "validate"])
            .output()
            .expect("run"),
    );
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "integrations.example.toml: 4 integrations valid\n"
    );
}

use crate::support::Run;

#[test]
fn a_missing_config_file_is_a_usage_error() {
    let env = TestEnv::new();
    let run = env.run(&["validate"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .starts_with("error: cannot read the config file integrations.toml"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: pass --config PATH"),
        "{}",
        run.stderr
    );
}

#[test]
fn config_comes_from_the_environment_variable() {
    let env = TestEnv::new();
    env.write("conf/acme.toml", BASE);
    let run = Run::from(
        env.command()
            .env("WALKME_SF_CONFIG", "conf/acme.toml")
            .arg("validate")
            .output()
            .expect("run"),
    );
    run.assert_code(0);
    assert_eq!(run.stdout, "conf/acme.toml: 1 integration valid\n");
}

#[test]
fn an_unknown_integration_name_gets_a_suggestion() {
    let env = TestEnv::new();
    env.write("integrations.toml", BASE);
    let run = env.run(&["validate", "lead-login"]);
    run.assert_code(2);
    insta::assert_snapshot!(
        "unknown_integration_on_command_line",
        env.redact(&run.stderr)
    );
    // A name that exists validates only that integration.
    env.run(&["validate", "lead-logins"]).assert_code(0);
}

#[test]
fn json_output_escapes_what_a_terminal_would_act_on() {
    let env = TestEnv::new();
    // TOML lets C1 controls and bidi overrides into a quoted key; the problem quotes the key.
    env.write(
        "integrations.toml",
        format!("\"x\u{9b}2J\u{202E}y\" = 1\n{BASE}"),
    );
    let run = env.run(&["validate", "--json"]);
    run.assert_code(2);
    assert!(run.stdout.contains("x\\u009b2J\\u202ey"), "{}", run.stdout);
    assert!(!run.stdout.contains('\u{9b}') && !run.stdout.contains('\u{202E}'));
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let message = doc["problems"][0]["message"].as_str().expect("message");
    assert!(message.contains("x\u{9b}2J\u{202E}y"), "{message}");
}

#[test]
fn json_output_has_the_spec_shape() {
    let env = TestEnv::new();
    env.write(
        "integrations.toml",
        format!("{BASE}\n[integrations.b]\nenvironment = \"sandbx\"\n"),
    );
    let run = env.run(&["validate", "--json"]);
    run.assert_code(2);
    assert_eq!(run.stderr, "");
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(doc["ok"], false);
    let problems = doc["problems"].as_array().expect("problems");
    assert!(!problems.is_empty());
    for p in problems {
        let mut keys: Vec<&str> = p
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["column", "file", "hint", "integration", "line", "message"]
        );
    }
    assert_eq!(problems[0]["integration"], "b");
    assert_eq!(problems[0]["line"], 14);

    env.write("integrations.toml", BASE);
    let run = env.run(&["validate", "--json"]);
    run.assert_code(0);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(doc, serde_json::json!({"ok": true, "problems": []}));
}

#[test]
fn usage_errors_exit_2_without_a_panic() {
    let env = TestEnv::new();
    env.run(&["validate", "--nope"]).assert_code(2);
    env.run(&["frobnicate"]).assert_code(2);
    let run = env.run(&["--help"]);
    run.assert_code(0);
    assert!(run.stdout.contains("Examples:"));
    let run = env.run(&["validate", "--help"]);
    run.assert_code(0);
    assert!(run.stdout.contains("Examples:"));
}

#[test]
fn a_problem_elsewhere_in_the_file_fails_the_validation_of_one_integration() {
    let env = TestEnv::new();
    // `lead-logins` maps a column its report lacks; `b` has a bad option.
    let broken = format!(
        "{}\n[integrations.b]\nenvironment = \"sandbox\"\nobject = \"Contact\"\nreport = {{ name = \"R\", path = \"logins.csv\" }}\nkey = {{ report = \"User ID\", salesforce = \"Email\" }}\non_duplicate_key = \"bogus\"\nfields = [{{ report = \"Last Login\", salesforce = \"A__c\" }}]\n",
        BASE.replace("report = \"Last Login\"", "report = \"Missing Col\"")
    );
    env.write("integrations.toml", broken);
    env.write(
        "logins.csv",
        "User ID,Last Login\nann@acme.com,2026-11-30\n",
    );
    for args in [&["validate"][..], &["validate", "lead-logins"]] {
        let run = env.run(args);
        run.assert_code(2);
        assert!(
            run.stderr.contains("\"Missing Col\""),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("bogus"), "{args:?}: {}", run.stderr);
        assert!(!run.stdout.contains("valid"), "{args:?}: {}", run.stdout);
    }
    let run = env.run(&["validate", "lead-logins"]);
    assert!(
        run.stderr
            .contains("problems of other integrations are listed too"),
        "{}",
        run.stderr
    );
    let run = env.run(&["validate", "--json", "lead-logins"]);
    run.assert_code(2);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(out["ok"], false);
    assert_eq!(out["problems"].as_array().map(Vec::len), Some(2), "{out}");

    // `run` of the good-looking integration stops on the same problem.
    env.run(&["run", "lead-logins"]).assert_code(2);
}
