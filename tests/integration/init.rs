//! `walkme-sf init`, non-interactive: the integration built from flags, checked with validate's
//! rules and the report's header, appended (never clobbering), or refused with every problem.

use crate::support::TestEnv;

const REPORT: &str = "User ID,First Login,Last Login,Logins Last 30 Days\n\
                      anna@acme.com,2026-05-09T05:35:00Z,2026-11-27T06:08:00Z,21\n";

fn env() -> TestEnv {
    let env = TestEnv::new();
    env.write("reports/logins-review-2026-11-30.csv", REPORT);
    env
}

const FLAGS: &[&str] = &[
    "init",
    "--name",
    "lead-logins",
    "--object",
    "Lead",
    "--report",
    "reports/logins-review-*.csv",
    "--report-name",
    "Logins Review",
    "--key",
    "User ID=Email",
    "--map",
    "First Login",
    "--map",
    "Logins Last 30 Days=WalkMe_Logins_30__c",
];

#[test]
fn creates_a_valid_commented_config() {
    let env = env();
    let run = env.run(FLAGS);
    run.assert_code(0);
    assert!(
        run.stderr.contains("added integration `lead-logins`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("walkme-sf fields lead-logins"),
        "{}",
        run.stderr
    );
    let text = std::fs::read_to_string(env.file("integrations.toml")).expect("config");
    for needle in [
        "# walkme-sf configuration",
        "[environments.sandbox]",
        "[integrations.lead-logins]",
        "environment = \"sandbox\"",
        "object = \"Lead\"",
        "report = { name = \"Logins Review\", path = \"reports/logins-review-*.csv\" }",
        "key = { report = \"User ID\", salesforce = \"Email\" }",
        "salesforce = \"WalkMe_First_Login__c\"",
        "report = \"Logins Last 30 Days\"\nsalesforce = \"WalkMe_Logins_30__c\"",
        "# max_changes",
    ] {
        assert!(text.contains(needle), "{needle:?} missing in:\n{text}");
    }
    // The result passes validate, report header included.
    let run = env.run(&["validate"]);
    run.assert_code(0);
    assert!(run.stdout.contains("1 integration valid"), "{}", run.stdout);
}

#[test]
fn appends_to_an_existing_config_without_touching_it() {
    let env = env();
    let before = "# my comments stay\n[environments.sandbox]\nclient_id = \"3MVG9abc\"  # keep\n\n\
                  [integrations.other]\nenvironment = \"sandbox\"\nobject = \"Contact\"\n\
                  report = { name = \"NPS\", path = \"nps.csv\" }\n\
                  key = { report = \"Email\", salesforce = \"Email\" }\n\n\
                  [[integrations.other.fields]]\nreport = \"NPS\"\nsalesforce = \"WalkMe_NPS__c\"";
    env.write("integrations.toml", before);
    let run = env.run(FLAGS);
    run.assert_code(0);
    let text = std::fs::read_to_string(env.file("integrations.toml")).expect("config");
    assert!(text.starts_with(before), "{text}");
    assert!(
        !text.contains("# walkme-sf configuration"),
        "no second header: {text}"
    );
    assert!(text.contains("\n\n# Added by `walkme-sf init`"), "{text}");
    let run = env.run(&["validate"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("2 integrations valid"),
        "{}",
        run.stdout
    );
}

#[test]
fn dry_run_prints_and_writes_nothing() {
    let env = env();
    let mut args = FLAGS.to_vec();
    args.push("--dry-run");
    let run = env.run(&args);
    run.assert_code(0);
    assert!(
        run.stdout.contains("[integrations.lead-logins]"),
        "{}",
        run.stdout
    );
    assert!(!env.file("integrations.toml").exists());
}

#[test]
fn a_rule_broken_is_refused_with_the_problem_and_nothing_written() {
    let env = env();
    let before = "[integrations.lead-logins]\nenvironment = \"sandbox\"\nobject = \"Lead\"\n\
                  report = { name = \"X\", path = \"reports/*.csv\" }\n\
                  key = { report = \"User ID\", salesforce = \"Email\" }\n\n\
                  [[integrations.lead-logins.fields]]\nreport = \"First Login\"\nsalesforce = \"WalkMe_A__c\"\n";
    env.write("integrations.toml", before);
    // The name is taken.
    let run = env.run(FLAGS);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("an integration named `lead-logins` already"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("was not changed"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(env.file("integrations.toml")).expect("config"),
        before
    );
    // The key field mapped as well (SPEC §4), under a new name.
    let mut args = FLAGS.to_vec();
    args[2] = "lead-logins-2";
    args.extend(["--map", "Last Login=Email"]);
    let run = env.run(&args);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("`Email` is the key field and cannot also be mapped"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("integrations.toml:"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(env.file("integrations.toml")).expect("config"),
        before
    );
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(env.file("."))
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".walkme-sf-init")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_column_missing_from_the_report_is_refused() {
    let env = env();
    let mut args = FLAGS.to_vec();
    args.extend(["--map", "Last Logn=WalkMe_Last_Login__c"]);
    let run = env.run(&args);
    run.assert_code(2);
    assert!(run.stderr.contains("Last Logn"), "{}", run.stderr);
    assert!(
        run.stderr.contains("Last Login"),
        "did you mean: {}",
        run.stderr
    );
    assert!(!env.file("integrations.toml").exists());
}

#[test]
fn an_invalid_existing_config_is_not_appended_to() {
    let env = env();
    env.write("integrations.toml", "[integrations.x]\nobjekt = \"Lead\"\n");
    let run = env.run(FLAGS);
    run.assert_code(2);
    assert!(
        run.stderr.contains("has problems already"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("walkme-sf validate"), "{}", run.stderr);
}

#[test]
fn without_a_terminal_missing_flags_are_named() {
    let env = env();
    let run = env.run(&["init", "--name", "x", "--object", "Lead"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("--report is required"),
        "{}",
        run.stderr
    );
    let run = env.run(&[
        "init", "--name", "x", "--object", "Lead", "--report", "r.csv", "--key", "User ID",
        "--map", "A",
    ]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("REPORT_COLUMN=SALESFORCE_FIELD"),
        "{}",
        run.stderr
    );
    let run = env.run(&[
        "init",
        "--name",
        "bad name",
        "--object",
        "Lead",
        "--report",
        "r.csv",
        "--key",
        "User ID=Email",
        "--map",
        "A",
    ]);
    run.assert_code(2);
    assert!(run.stderr.contains("letters, digits"), "{}", run.stderr);
}

#[test]
fn a_report_path_is_written_relative_to_the_config() {
    let env = env();
    std::fs::create_dir_all(env.file("conf")).expect("mkdir");
    let output = env
        .command()
        .args([
            "--config",
            "conf/integrations.toml",
            "init",
            "--name",
            "nps",
            "--object",
            "Contact",
            "--report",
            "reports/logins-review-2026-11-30.csv",
            "--key",
            "User ID=Email",
            "--map",
            "Logins Last 30 Days",
        ])
        .output()
        .expect("run");
    let run = crate::support::Run::from(output);
    run.assert_code(0);
    let text = std::fs::read_to_string(env.file("conf/integrations.toml")).expect("config");
    // Outside the config's folder: absolute, so it resolves from anywhere.
    let canonical =
        std::fs::canonicalize(env.file("reports/logins-review-2026-11-30.csv")).expect("canonical");
    assert!(
        text.contains(&format!("path = \"{}\"", canonical.display())),
        "{text}"
    );
    assert!(text.contains("name = \"logins-review\""), "{text}");
    let run = env.run(&["--config", "conf/integrations.toml", "validate"]);
    run.assert_code(0);
}
