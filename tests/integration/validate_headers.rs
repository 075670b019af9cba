//! `validate` reads the header of each report file that exists: UTF-8 (BOM stripped), `,` `;` or
//! tab, quoted names; every key and mapped column must be there.

use crate::support::TestEnv;

const CONFIG: &str = r#"[integrations.lead-logins]
environment = "sandbox"
object = "Lead"
report = { name = "Logins Review", path = "reports/logins-*.csv" }
key = { report = "User ID", salesforce = "Email" }

[[integrations.lead-logins.fields]]
report = "Last Login"
salesforce = "WalkMe_Last_Login__c"

[[integrations.lead-logins.fields]]
report = "Logins Last 30 Days"
salesforce = "WalkMe_Logins_Last_30_Days__c"
"#;

fn validate(report: &[u8]) -> (i32, String) {
    let env = TestEnv::new();
    env.write("integrations.toml", CONFIG);
    env.write("reports/logins-2026-11-30.csv", report);
    let run = env.run(&["validate"]);
    run.assert_no_panic();
    (
        run.code,
        env.redact(&format!("{}{}", run.stdout, run.stderr)),
    )
}

#[test]
fn headers_that_work() {
    let cases: &[(&str, &[u8])] = &[
        (
            "comma",
            b"User ID,Last Login,Logins Last 30 Days\na@x.com,2026-11-01,3\n",
        ),
        (
            "bom",
            b"\xef\xbb\xbfUser ID,Last Login,Logins Last 30 Days\n",
        ),
        (
            "semicolon",
            b"User ID;Last Login;Logins Last 30 Days\r\na@x.com;2026-11-01;3\r\n",
        ),
        ("tab", b"User ID\tLast Login\tLogins Last 30 Days\n"),
        (
            "quoted",
            b"\"User ID\",\"Last Login\",\"Logins Last 30 Days\"\n",
        ),
        (
            "case and spaces forgiven",
            b"user id , LAST LOGIN,logins last 30 days\n",
        ),
        (
            "extra columns",
            b"Name,User ID,Last Login,Logins Last 30 Days,Country\n",
        ),
    ];
    for (name, report) in cases {
        let (code, out) = validate(report);
        assert_eq!(code, 0, "{name}: {out}");
        assert_eq!(out, "integrations.toml: 1 integration valid\n", "{name}");
    }
}

#[test]
fn headers_that_do_not() {
    let cases: &[(&str, &[u8])] = &[
        ("missing_column", b"User ID,Last Login\n"),
        (
            "ambiguous_case",
            b"user id,USER ID,Last Login,Logins Last 30 Days\n",
        ),
        ("empty_file", b""),
        ("not_utf8", b"User ID,Last Login,Logins Last 30 Days\xff\n"),
        ("utf16", b"\xff\xfeU\x00s\x00e\x00r\x00"),
        (
            "semicolon_missing_key",
            b"Email;Last Login;Logins Last 30 Days\n",
        ),
    ];
    for (name, report) in cases {
        let (code, out) = validate(report);
        assert_eq!(code, 2, "{name}: {out}");
        insta::assert_snapshot!(format!("header_{name}"), out);
    }
}

#[test]
fn a_report_not_exported_yet_is_a_note() {
    let env = TestEnv::new();
    env.write("integrations.toml", CONFIG);
    let run = env.run(&["validate"]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("note: lead-logins: no report file matches"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_newest_report_is_the_one_checked() {
    let env = TestEnv::new();
    env.write("integrations.toml", CONFIG);
    let old = env.write(
        "reports/logins-2026-11-29.csv",
        "User ID,Last Login,Logins Last 30 Days\n",
    );
    let new = env.write("reports/logins-2026-11-30.csv", "User ID,Last Login\n");
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(past)
        .unwrap();
    std::fs::File::options()
        .write(true)
        .open(&new)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    let run = env.run(&["validate"]);
    run.assert_code(2);
    assert!(run.stderr.contains("Logins Last 30 Days"), "{}", run.stderr);
}
