//! `walkme-sf run` through the real binary against the in-process Salesforce emulator: every
//! test checks the emulator's records and stats afterwards, and every `run.json` it reads must
//! account for each report row exactly once.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use sf_emulator::{Config, Emulator, EndpointKind, Faults, RowLock};

use crate::support::{Run, TestEnv};

/// A test directory, an emulator seeded with the example org's Leads, and a refresh token.
pub struct SyncEnv {
    pub t: TestEnv,
    pub emu: Emulator,
    token: String,
}

/// The repository's example files.
pub fn example(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The seed's end-to-end example integration, its report at `logins.csv`.
pub const LEAD_LOGINS: &str = r#"
[integrations.lead-logins]
environment = "sandbox"
object = "Lead"
report = { name = "Logins Review", path = "logins.csv" }
key = { report = "User ID", salesforce = "Email" }
max_changes = 500

[[integrations.lead-logins.fields]]
report = "First Login"
salesforce = "WalkMe_First_Login__c"

[[integrations.lead-logins.fields]]
report = "Last Login"
salesforce = "WalkMe_Last_Login__c"
format = "%m/%d/%Y %H:%M"

[[integrations.lead-logins.fields]]
report = "Logins Last 30 Days"
salesforce = "WalkMe_Logins_Last_30_Days__c"
"#;

impl SyncEnv {
    pub fn new() -> Self {
        Self::with(Config {
            default_seed: false,
            bulk_delay_ms: 20,
            ..Config::default()
        })
    }

    pub fn with(config: Config) -> Self {
        let emu = Emulator::start(config).expect("emulator");
        emu.seed_csv("Lead", example("examples/seed/Lead.csv"))
            .expect("seed Leads");
        emu.seed_csv("Contact", example("examples/seed/Contact.csv"))
            .expect("seed Contacts");
        let token = emu.issue_refresh_token("admin@example.com");
        Self {
            t: TestEnv::new(),
            emu,
            token,
        }
    }

    /// `integrations.toml`: the sandbox pointed at the emulator, plus `integrations`.
    pub fn config(&self, integrations: &str) {
        self.t.write(
            "integrations.toml",
            format!(
                "[environments.sandbox]\nclient_id = \"test-app\"\nlogin_url = \"{}\"\n{integrations}",
                self.emu.url()
            ),
        );
    }

    pub fn report(&self, name: &str, text: &str) {
        self.t.write(name, text);
    }

    pub fn command(&self) -> assert_cmd::Command {
        let mut cmd = self.t.command();
        cmd.env("WALKME_SF_REFRESH_TOKEN", &self.token);
        cmd
    }

    #[track_caller]
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command().args(args).output().expect("run walkme-sf"))
    }

    /// A background run of the binary (for overlapping runs).
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("walkme-sf"))
            .args(args)
            .current_dir(self.t.path())
            .env_remove("WALKME_SF_CONFIG")
            .env_remove("WALKME_SF_ACCESS_TOKEN")
            .env_remove("WALKME_SF_INSTANCE_URL")
            .env("WALKME_SF_REFRESH_TOKEN", &self.token)
            .env("WALKME_SF_STATE_DIR", self.t.path().join("state"))
            .env("XDG_CONFIG_HOME", self.t.path().join("xdg-config"))
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn walkme-sf")
    }

    /// Every recorded run of an integration, newest first, each checked for balanced counts.
    #[track_caller]
    pub fn runs(&self, integration: &str) -> Vec<(Value, PathBuf)> {
        let dir = self.t.path().join("state/runs").join(integration);
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        dirs.retain(|d| d.is_dir());
        dirs.sort();
        dirs.reverse();
        dirs.into_iter()
            .map(|d| {
                let text = std::fs::read_to_string(d.join("run.json")).expect("run.json");
                let record: Value = serde_json::from_str(&text).expect("run.json is JSON");
                assert_balanced(&record);
                (record, d)
            })
            .collect()
    }

    /// The newest run of an integration.
    #[track_caller]
    pub fn last(&self, integration: &str) -> (Value, PathBuf) {
        self.runs(integration)
            .into_iter()
            .next()
            .expect("a recorded run")
    }

    /// A record of `object` by the value of its `Email` field.
    #[track_caller]
    pub fn record(&self, object: &str, email: &str) -> Map<String, Value> {
        let mut found: Vec<_> = self
            .emu
            .records(object)
            .into_iter()
            .filter(|r| r.get("Email").and_then(Value::as_str) == Some(email))
            .collect();
        assert_eq!(found.len(), 1, "one {object} with Email {email}");
        found.remove(0)
    }

    pub fn lead(&self, email: &str) -> Map<String, Value> {
        self.record("Lead", email)
    }

    /// Write requests Salesforce received (collections, single updates, Bulk ingest jobs).
    pub fn writes(&self) -> u64 {
        let s = self.emu.stats();
        s.calls_of(EndpointKind::Collections)
            + s.calls_of(EndpointKind::SobjectUpdate)
            + s.calls_of(EndpointKind::Upsert)
            + s.calls_of(EndpointKind::BulkIngestCreate)
    }
}

/// SPEC §5 step 7: every row in exactly one outcome, even for a failed run.
#[track_caller]
pub fn assert_balanced(record: &Value) {
    let c = &record["counts"];
    let n = |k: &str| {
        c[k].as_u64()
            .unwrap_or_else(|| panic!("counts.{k} in {record}"))
    };
    let sum = [
        "rejected",
        "skipped",
        "unmatched",
        "unchanged",
        "updated",
        "failed",
        "aborted",
    ]
    .iter()
    .map(|k| n(k))
    .sum::<u64>();
    assert_eq!(sum, n("rows"), "counts do not add up: {c}");
}

#[track_caller]
fn counts(record: &Value) -> [u64; 8] {
    let c = &record["counts"];
    [
        "rows",
        "rejected",
        "skipped",
        "unmatched",
        "unchanged",
        "updated",
        "failed",
        "aborted",
    ]
    .map(|k| c[k].as_u64().expect("count"))
}

/// The data lines of a run CSV.
#[track_caller]
pub fn csv_lines(dir: &Path, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(name)).expect("run csv");
    text.lines().skip(1).map(str::to_owned).collect()
}

fn number(record: &Map<String, Value>, field: &str) -> Option<f64> {
    record.get(field).and_then(Value::as_f64)
}

fn text<'a>(record: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    record.get(field).and_then(Value::as_str)
}

pub fn example_report() -> String {
    std::fs::read_to_string(example("examples/reports/logins-review-2026-11-30.csv"))
        .expect("example report")
}

#[test]
fn the_seed_example_writes_exactly_the_report_then_nothing_then_only_what_changed() {
    let env = SyncEnv::new();
    env.config(LEAD_LOGINS);
    env.report("logins.csv", &example_report());

    let run = env.run(&["run", "lead-logins"]);
    run.assert_code(0);
    let (record, dir) = env.last("lead-logins");
    assert_eq!(record["status"], "completed");
    let file = record["report"]["file"].as_str().unwrap();
    assert!(
        Path::new(file).is_absolute() && file.ends_with("logins.csv"),
        "{file}"
    );
    // 28 rows: 26 Leads, liam.berg who is no Lead, and noah.kaya, whose Lead is converted.
    assert_eq!(counts(&record), [28, 0, 1, 1, 0, 26, 0, 0]);
    assert_eq!(record["records"]["updated"], 26);
    assert_eq!(
        csv_lines(&dir, "unmatched.csv"),
        ["28,liam.berg@initech.de"]
    );
    assert_eq!(
        csv_lines(&dir, "skipped.csv"),
        [
            "29,noah.kaya@umbrella.co.uk,\"matches only converted Leads (converted_leads = \"\"skip\"\")\""
        ]
    );
    let anna = env.lead("anna.schmidt@acme-corp.com");
    assert_eq!(
        text(&anna, "WalkMe_First_Login__c"),
        Some("2026-05-09T05:35:00.000+0000")
    );
    assert_eq!(
        text(&anna, "WalkMe_Last_Login__c"),
        Some("2026-11-27T06:08:00.000+0000")
    );
    assert_eq!(number(&anna, "WalkMe_Logins_Last_30_Days__c"), Some(21.0));
    // The key was written with spaces and in capitals.
    let david = env.lead("david.rossi@umbrella.co.uk");
    assert_eq!(
        text(&david, "WalkMe_First_Login__c"),
        Some("2026-03-18T07:08:00.000+0000")
    );
    assert_eq!(
        text(&david, "WalkMe_Last_Login__c"),
        Some("2026-11-23T04:20:00.000+0000")
    );
    assert_eq!(number(&david, "WalkMe_Logins_Last_30_Days__c"), Some(34.0));
    let maria = env.lead("maria.o'brien@acme-corp.com");
    assert_eq!(
        text(&maria, "WalkMe_Last_Login__c"),
        Some("2026-11-26T06:28:00.000+0000")
    );
    assert_eq!(number(&maria, "WalkMe_Logins_Last_30_Days__c"), Some(12.0));
    let ben = env.lead("ben.meyer@globex.io");
    assert_eq!(number(&ben, "WalkMe_Logins_Last_30_Days__c"), Some(0.0));
    // The converted Lead was left alone; Leads not in the report too.
    let noah = env.lead("noah.kaya@umbrella.co.uk");
    assert_eq!(noah.get("WalkMe_Last_Login__c"), Some(&Value::Null));
    assert_eq!(env.emu.stats().auto_assign_violations, 0);
    // changes.csv: three fields for each of the 26 records.
    let changes = csv_lines(&dir, "changes.csv");
    assert_eq!(changes.len(), 78);
    assert!(
        changes.iter().any(|l| l.ends_with(
            ",anna.schmidt@acme-corp.com,WalkMe_Last_Login__c,,2026-11-27T06:08:00.000Z"
        )),
        "{changes:?}"
    );

    // The same report again: not a single write.
    let writes = env.writes();
    let written = env.emu.stats().records_written;
    env.run(&["run", "lead-logins"]).assert_code(0);
    assert_eq!(env.writes(), writes);
    assert_eq!(env.emu.stats().records_written, written);
    let (record, dir) = env.last("lead-logins");
    assert_eq!(counts(&record), [28, 0, 1, 1, 26, 0, 0, 0]);
    assert!(csv_lines(&dir, "changes.csv").is_empty());

    // One changed cell: one record, one field.
    let edited = example_report().replace(
        "anna.schmidt@acme-corp.com,2026-05-09T05:35:00Z,11/27/2026 06:08,21",
        "anna.schmidt@acme-corp.com,2026-05-09T05:35:00Z,11/27/2026 06:08,22",
    );
    env.report("logins.csv", &edited);
    let before = env.emu.records("Lead");
    env.run(&["run", "lead-logins"]).assert_code(0);
    assert_eq!(env.emu.stats().records_written, written + 1);
    let (record, dir) = env.last("lead-logins");
    assert_eq!(counts(&record), [28, 0, 1, 1, 25, 1, 0, 0]);
    let id = text(&env.lead("anna.schmidt@acme-corp.com"), "Id")
        .unwrap()
        .to_owned();
    assert_eq!(
        csv_lines(&dir, "changes.csv"),
        [format!(
            "{id},anna.schmidt@acme-corp.com,WalkMe_Logins_Last_30_Days__c,21,22"
        )]
    );
    let after = env.emu.records("Lead");
    for (b, a) in before.iter().zip(&after) {
        for field in [
            "WalkMe_First_Login__c",
            "WalkMe_Last_Login__c",
            "Email",
            "OwnerId",
            "Status",
        ] {
            assert_eq!(b.get(field), a.get(field), "{field} of {}", b["Id"]);
        }
        if b["Id"] != id.as_str() {
            assert_eq!(
                b.get("WalkMe_Logins_Last_30_Days__c"),
                a.get("WalkMe_Logins_Last_30_Days__c")
            );
        }
    }
}

/// A one-field integration of Leads by e-mail with extra options.
fn lead_integration(name: &str, options: &str, fields: &[(&str, &str, Option<&str>)]) -> String {
    object_integration(name, "Lead", options, fields)
}

/// An integration of `object` by e-mail, its report `NAME.csv`: `(column, field, format)`.
fn object_integration(
    name: &str,
    object: &str,
    options: &str,
    fields: &[(&str, &str, Option<&str>)],
) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "\n[integrations.{name}]\nenvironment = \"sandbox\"\nobject = \"{object}\"\nreport = {{ name = \"R\", path = \"{name}.csv\" }}\nkey = {{ report = \"Email\", salesforce = \"Email\" }}\n{options}\n"
    );
    for (report, field, format) in fields {
        let _ = write!(
            out,
            "\n[[integrations.{name}.fields]]\nreport = \"{report}\"\nsalesforce = \"{field}\"\n"
        );
        if let Some(f) = format {
            let _ = writeln!(out, "format = \"{f}\"");
        }
    }
    out
}

const ANNA: &str = "anna.schmidt@acme-corp.com";
const BEN: &str = "ben.meyer@globex.io";

#[test]
fn duplicate_keys_follow_on_duplicate_key() {
    let report = format!(
        "Email,Logins\n{ANNA},1\n{BEN},5\n{},2\n",
        ANNA.to_uppercase()
    );
    for (policy, code, expected, outcome) in [
        ("reject", 4, None, [3, 2, 0, 0, 0, 1, 0, 0]),
        ("first", 0, Some(1.0), [3, 0, 1, 0, 0, 2, 0, 0]),
        ("last", 0, Some(2.0), [3, 0, 1, 0, 0, 2, 0, 0]),
    ] {
        let env = SyncEnv::new();
        env.config(&lead_integration(
            "d",
            &format!("on_duplicate_key = \"{policy}\""),
            &[("Logins", "WalkMe_Logins_Last_30_Days__c", None)],
        ));
        env.report("d.csv", &report);
        env.run(&["run", "d"]).assert_code(code);
        let (record, dir) = env.last("d");
        assert_eq!(counts(&record), outcome, "{policy}");
        assert_eq!(
            number(&env.lead(ANNA), "WalkMe_Logins_Last_30_Days__c"),
            expected,
            "{policy}"
        );
        assert_eq!(
            number(&env.lead(BEN), "WalkMe_Logins_Last_30_Days__c"),
            Some(5.0)
        );
        let file = if policy == "reject" {
            "rejected.csv"
        } else {
            "skipped.csv"
        };
        let lines = csv_lines(&dir, file);
        let loser = if policy == "last" { "2," } else { "4," };
        if policy == "reject" {
            assert_eq!(lines.len(), 2, "{lines:?}");
        } else {
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert!(lines[0].starts_with(loser), "{policy}: {lines:?}");
        }
        assert!(lines[0].contains("duplicate key (lines 2, 4"), "{lines:?}");
    }
}

fn seed_twins(env: &SyncEnv) {
    env.emu
        .seed_records(
            "Lead",
            vec![
                json!({"LastName": "Twin", "Company": "A", "Email": "twin@example.com", "Status": "Open - Not Contacted"}),
                json!({"LastName": "Twin", "Company": "B", "Email": "TWIN@example.com", "Status": "Open - Not Contacted"}),
            ],
        )
        .expect("seed");
}

#[test]
fn zero_one_and_many_matches_follow_on_multiple_matches() {
    for (policy, twins, outcome) in [
        ("update_all", Some(7.0), [3, 0, 0, 1, 0, 2, 0, 0]),
        ("skip", None, [3, 0, 1, 1, 0, 1, 0, 0]),
    ] {
        let env = SyncEnv::new();
        seed_twins(&env);
        env.config(&lead_integration(
            "m",
            &format!("on_multiple_matches = \"{policy}\""),
            &[("Logins", "WalkMe_Logins_Last_30_Days__c", None)],
        ));
        env.report(
            "m.csv",
            &format!("Email,Logins\ntwin@example.com,7\n{ANNA},3\nnobody@example.com,1\n"),
        );
        env.run(&["run", "m"]).assert_code(0);
        let (record, dir) = env.last("m");
        assert_eq!(counts(&record), outcome, "{policy}");
        let twin_values: Vec<Option<f64>> = env
            .emu
            .records("Lead")
            .iter()
            .filter(|r| r["LastName"] == "Twin")
            .map(|r| number(r, "WalkMe_Logins_Last_30_Days__c"))
            .collect();
        assert_eq!(twin_values, [twins, twins], "{policy}");
        assert_eq!(
            number(&env.lead(ANNA), "WalkMe_Logins_Last_30_Days__c"),
            Some(3.0)
        );
        assert_eq!(
            csv_lines(&dir, "unmatched.csv"),
            ["4,nobody@example.com"],
            "{policy}"
        );
        let matched = if policy == "skip" { 1 } else { 3 };
        assert_eq!(record["records"]["matched"], matched, "{policy}");
        if policy == "skip" {
            let skipped = csv_lines(&dir, "skipped.csv");
            assert!(
                skipped[0].starts_with("2,twin@example.com,")
                    && skipped[0].contains("matches 2 records"),
                "{skipped:?}"
            );
        }
    }
}

#[test]
fn converted_leads_are_skipped_or_included() {
    const NOAH: &str = "noah.kaya@umbrella.co.uk";
    for (policy, code, outcome) in [
        ("skip", 0, [1, 0, 1, 0, 0, 0, 0, 0]),
        ("include", 4, [1, 0, 0, 0, 0, 0, 1, 0]),
    ] {
        let env = SyncEnv::new();
        env.config(&lead_integration(
            "c",
            &format!("converted_leads = \"{policy}\""),
            &[("Logins", "WalkMe_Logins_Last_30_Days__c", None)],
        ));
        env.report("c.csv", &format!("Email,Logins\n{NOAH},9\n"));
        env.run(&["run", "c"]).assert_code(code);
        let (record, dir) = env.last("c");
        assert_eq!(counts(&record), outcome, "{policy}");
        assert_eq!(
            env.lead(NOAH).get("WalkMe_Logins_Last_30_Days__c"),
            Some(&Value::Null)
        );
        if policy == "include" {
            let failed = csv_lines(&dir, "failed.csv");
            assert_eq!(failed.len(), 1);
            assert!(
                failed[0].contains(&format!(",{NOAH},CANNOT_UPDATE_CONVERTED_LEAD,")),
                "{failed:?}"
            );
        }
    }
}

#[test]
fn key_case_sensitivity() {
    for (sensitive, outcome) in [
        (false, [2, 0, 0, 0, 0, 2, 0, 0]),
        (true, [2, 0, 0, 1, 0, 1, 0, 0]),
    ] {
        let env = SyncEnv::new();
        env.config(&lead_integration(
            "k",
            &format!("key_case_sensitive = {sensitive}"),
            &[("Logins", "WalkMe_Logins_Last_30_Days__c", None)],
        ));
        env.report(
            "k.csv",
            &format!("Email,Logins\n{},4\n  {BEN}  ,6\n", ANNA.to_uppercase()),
        );
        env.run(&["run", "k"]).assert_code(0);
        let (record, _) = env.last("k");
        assert_eq!(counts(&record), outcome, "sensitive = {sensitive}");
        let anna = if sensitive { None } else { Some(4.0) };
        assert_eq!(
            number(&env.lead(ANNA), "WalkMe_Logins_Last_30_Days__c"),
            anna
        );
        assert_eq!(
            number(&env.lead(BEN), "WalkMe_Logins_Last_30_Days__c"),
            Some(6.0)
        );
    }
}

const EMPTY_CELLS_REPORT: &str = "Email,Last,Active,Score,Segment\n\
anna.schmidt@acme-corp.com,,,,\n\
ben.meyer@globex.io,2026-01-02T03:04:05Z,no,,Regular\n";

fn empty_cells_env(api: &str, policy: &str) -> SyncEnv {
    let env = SyncEnv::new();
    env.config(&lead_integration(
        "e",
        &format!("empty_cells = \"{policy}\"\nwrite_api = \"{api}\""),
        &[
            ("Last", "WalkMe_Last_Login__c", None),
            ("Active", "WalkMe_Active__c", None),
            ("Score", "WalkMe_Engagement_Score__c", None),
            ("Segment", "WalkMe_Segment__c", None),
        ],
    ));
    // First give both Leads values through a run of their own.
    env.report(
        "e.csv",
        "Email,Last,Active,Score,Segment\n\
         anna.schmidt@acme-corp.com,2025-05-05T05:05:05Z,yes,1.5,Power\n\
         ben.meyer@globex.io,2025-05-05T05:05:05Z,yes,2.5,Power\n",
    );
    env.run(&["run", "e"]).assert_code(0);
    env.report("e.csv", EMPTY_CELLS_REPORT);
    env
}

#[test]
fn empty_cells_skip_and_clear_on_rest_and_bulk() {
    for api in ["rest", "bulk"] {
        for policy in ["skip", "clear"] {
            let env = empty_cells_env(api, policy);
            let bulk_jobs = env.emu.stats().calls_of(EndpointKind::BulkIngestCreate);
            env.run(&["run", "e"]).assert_code(0);
            let (record, _) = env.last("e");
            // Under "skip" Anna's empty row leaves her record as it is.
            let outcome = if policy == "skip" {
                [2, 0, 0, 0, 1, 1, 0, 0]
            } else {
                [2, 0, 0, 0, 0, 2, 0, 0]
            };
            assert_eq!(counts(&record), outcome, "{api} {policy}");
            let anna = env.lead(ANNA);
            let ben = env.lead(BEN);
            if policy == "skip" {
                assert_eq!(
                    text(&anna, "WalkMe_Last_Login__c"),
                    Some("2025-05-05T05:05:05.000+0000")
                );
                assert_eq!(anna["WalkMe_Active__c"], true, "{api} {policy}");
                assert_eq!(number(&anna, "WalkMe_Engagement_Score__c"), Some(1.5));
                assert_eq!(text(&anna, "WalkMe_Segment__c"), Some("Power"));
                assert_eq!(number(&ben, "WalkMe_Engagement_Score__c"), Some(2.5));
            } else {
                assert_eq!(anna["WalkMe_Last_Login__c"], Value::Null, "{api} {policy}");
                assert_eq!(anna["WalkMe_Active__c"], false, "{api} {policy}");
                assert_eq!(anna["WalkMe_Engagement_Score__c"], Value::Null);
                assert_eq!(anna["WalkMe_Segment__c"], Value::Null);
                assert_eq!(ben["WalkMe_Engagement_Score__c"], Value::Null);
            }
            assert_eq!(
                text(&ben, "WalkMe_Last_Login__c"),
                Some("2026-01-02T03:04:05.000+0000")
            );
            assert_eq!(ben["WalkMe_Active__c"], false);
            assert_eq!(text(&ben, "WalkMe_Segment__c"), Some("Regular"));
            let jobs = env.emu.stats().calls_of(EndpointKind::BulkIngestCreate) - bulk_jobs;
            assert_eq!(jobs, u64::from(api == "bulk"), "{api} {policy}");
            // And again: nothing left to write.
            let writes = env.writes();
            env.run(&["run", "e"]).assert_code(0);
            assert_eq!(env.writes(), writes, "{api} {policy}: second run wrote");
        }
    }
}

/// A mapping's `format` decides how a date or datetime cell reads, even one that looks like ISO:
/// `2026-03-05` under `%Y-%d-%m` is 3 May (the usual ISO cell takes a faster reading; a format
/// must keep it from that).
#[test]
fn a_mapping_format_reads_iso_looking_cells_its_own_way() {
    let env = SyncEnv::new();
    env.config(&object_integration(
        "c",
        "Contact",
        "",
        &[
            ("Responded", "WalkMe_NPS_Responded__c", Some("%Y-%d-%m")),
            ("Login", "WalkMe_Last_Login__c", Some("%Y-%d-%m %H:%M")),
        ],
    ));
    let contacts = env.emu.records("Contact");
    let c1 = text(&contacts[0], "Email").unwrap().to_owned();
    env.report(
        "c.csv",
        &format!("Email,Responded,Login\n{c1},2026-03-05,2026-03-05 08:00\n"),
    );
    env.run(&["run", "c"]).assert_code(0);
    let c = env.record("Contact", &c1);
    assert_eq!(text(&c, "WalkMe_NPS_Responded__c"), Some("2026-05-03"));
    assert_eq!(
        text(&c, "WalkMe_Last_Login__c"),
        Some("2026-05-03T08:00:00.000+0000")
    );
}

#[test]
fn every_field_type_converts() {
    let env = SyncEnv::new();
    let contact = "\n[integrations.c]\nenvironment = \"sandbox\"\nobject = \"Contact\"\n\
        report = { name = \"R\", path = \"c.csv\" }\nkey = { report = \"Email\", salesforce = \"Email\" }\n\
        fields = [\n\
        { report = \"Responded\", salesforce = \"WalkMe_NPS_Responded__c\", format = \"%d.%m.%Y\" },\n\
        { report = \"Score\", salesforce = \"WalkMe_NPS_Score__c\" },\n\
        { report = \"Category\", salesforce = \"WalkMe_NPS_Category__c\" },\n\
        { report = \"Completion\", salesforce = \"WalkMe_Onboarding_Completion__c\" },\n\
        { report = \"Done\", salesforce = \"WalkMe_Onboarding_Completed__c\" },\n\
        { report = \"Plan\", salesforce = \"WalkMe_Plan__c\" },\n\
        { report = \"Login\", salesforce = \"WalkMe_Last_Login__c\" },\n]\n";
    let lead = lead_integration(
        "l",
        "",
        &[
            ("Last", "WalkMe_Last_Login__c", None),
            ("Logins", "WalkMe_Logins_Last_30_Days__c", None),
            ("Score", "WalkMe_Engagement_Score__c", None),
            ("Active", "WalkMe_Active__c", None),
            ("Segment", "WalkMe_Segment__c", None),
        ],
    );
    env.config(&format!("{contact}{lead}"));
    let contacts = env.emu.records("Contact");
    let c1 = text(&contacts[0], "Email").unwrap().to_owned();
    let c2 = text(&contacts[1], "Email").unwrap().to_owned();
    env.report(
        "c.csv",
        &format!(
            "Email,Responded,Score,Category,Completion,Done,Plan,Login\n\
             {c1},03.11.2026,9,promoter,45.5%,Yes,Enterprise,2026-11-27T08:08:00+02:00\n\
             {c2},29.02.2026,10,Passive,12,1,Team,2026-11-27\n"
        ),
    );
    env.report(
        "l.csv",
        &format!(
            "Email,Last,Logins,Score,Active,Segment\n\
             {ANNA},2026-11-27T01:30:00-05:00,3.0,12.345,TRUE,power\n\
             {BEN},2026-11-27 06:08:09.5,3.5,1,y,Dormant\n\
             carla.okafor@initech.de,2026-11-27,3.5,1,2,Dormant\n\
             nobody@example.com,not a date,1,1,maybe,Other\n"
        ),
    );
    env.run(&["run", "c"]).assert_code(4);
    let (record, dir) = env.last("c");
    assert_eq!(counts(&record), [2, 1, 0, 0, 0, 1, 0, 0]);
    let rejected = csv_lines(&dir, "rejected.csv");
    assert_eq!(rejected.len(), 1);
    assert!(
        rejected[0].starts_with(&format!("3,{c2},")) && rejected[0].contains("Responded"),
        "{rejected:?}"
    );
    let c = env.record("Contact", &c1);
    assert_eq!(text(&c, "WalkMe_NPS_Responded__c"), Some("2026-11-03"));
    assert_eq!(number(&c, "WalkMe_NPS_Score__c"), Some(9.0));
    assert_eq!(text(&c, "WalkMe_NPS_Category__c"), Some("Promoter"));
    assert_eq!(number(&c, "WalkMe_Onboarding_Completion__c"), Some(45.5));
    assert_eq!(c["WalkMe_Onboarding_Completed__c"], true);
    assert_eq!(text(&c, "WalkMe_Plan__c"), Some("Enterprise"));
    assert_eq!(
        text(&c, "WalkMe_Last_Login__c"),
        Some("2026-11-27T06:08:00.000+0000")
    );
    // The rejected row sent nothing.
    assert_eq!(
        env.record("Contact", &c2).get("WalkMe_NPS_Score__c"),
        Some(&Value::Null)
    );

    env.run(&["run", "l"]).assert_code(4);
    let (record, dir) = env.last("l");
    assert_eq!(counts(&record), [4, 2, 0, 0, 0, 2, 0, 0]);
    let rejected = csv_lines(&dir, "rejected.csv");
    // `2` is no boolean; a date is no datetime… and nothing of those rows is sent.
    assert!(
        rejected[0].starts_with("4,carla.okafor@initech.de,"),
        "{rejected:?}"
    );
    assert!(
        rejected[1].starts_with("5,nobody@example.com,"),
        "{rejected:?}"
    );
    assert_eq!(
        env.lead("carla.okafor@initech.de")["WalkMe_Segment__c"],
        Value::Null
    );
    let anna = env.lead(ANNA);
    assert_eq!(
        text(&anna, "WalkMe_Last_Login__c"),
        Some("2026-11-27T06:30:00.000+0000")
    );
    assert_eq!(number(&anna, "WalkMe_Logins_Last_30_Days__c"), Some(3.0));
    assert_eq!(number(&anna, "WalkMe_Engagement_Score__c"), Some(12.35));
    assert_eq!(anna["WalkMe_Active__c"], true);
    assert_eq!(text(&anna, "WalkMe_Segment__c"), Some("Power"));
    let ben = env.lead(BEN);
    assert_eq!(ben["WalkMe_Active__c"], true);
    // A double of scale 0 rounds half up; a naive time is UTC, kept to the millisecond.
    assert_eq!(number(&ben, "WalkMe_Logins_Last_30_Days__c"), Some(4.0));
    assert_eq!(
        text(&ben, "WalkMe_Last_Login__c"),
        Some("2026-11-27T06:08:09.500+0000")
    );
    assert_eq!(text(&ben, "WalkMe_Segment__c"), Some("Dormant"));
    // Converted values compare equal to what Salesforce returns: the re-run writes nothing.
    let writes = env.writes();
    env.run(&["run", "c"]).assert_code(4);
    env.run(&["run", "l"]).assert_code(4);
    assert_eq!(env.writes(), writes);
}

#[test]
fn keys_with_quotes_backslashes_and_soql_are_data() {
    let env = SyncEnv::new();
    let odd = ["a\\b@x.com", "x'or'1'='1@example.com"];
    env.emu
        .seed_records(
            "Lead",
            odd.iter()
                .map(|e| json!({"LastName": "Odd", "Company": "X", "Email": e, "Status": "Open - Not Contacted"}))
                .collect(),
        )
        .expect("seed");
    env.config(&lead_integration(
        "q",
        "",
        &[("Logins", "WalkMe_Logins_Last_30_Days__c", None)],
    ));
    env.report(
        "q.csv",
        "Email,Logins\n\
         maria.o'brien@acme-corp.com,1\n\
         a\\b@x.com,2\n\
         x'or'1'='1@example.com,3\n\
         \"' OR Email != '\",4\n\
         \"x') OR (Email LIKE '%\",5\n\
         %,6\n",
    );
    env.run(&["run", "q"]).assert_code(0);
    let (record, dir) = env.last("q");
    assert_eq!(counts(&record), [6, 0, 0, 3, 0, 3, 0, 0]);
    assert_eq!(record["records"]["updated"], 3);
    assert_eq!(csv_lines(&dir, "unmatched.csv").len(), 3);
    assert_eq!(
        number(
            &env.lead("maria.o'brien@acme-corp.com"),
            "WalkMe_Logins_Last_30_Days__c"
        ),
        Some(1.0)
    );
    assert_eq!(
        number(&env.lead(odd[0]), "WalkMe_Logins_Last_30_Days__c"),
        Some(2.0)
    );
    assert_eq!(
        number(&env.lead(odd[1]), "WalkMe_Logins_Last_30_Days__c"),
        Some(3.0)
    );
    let touched = env
        .emu
        .records("Lead")
        .iter()
        .filter(|r| !r["WalkMe_Logins_Last_30_Days__c"].is_null())
        .count();
    assert_eq!(touched, 3);
}

/// Wait until the emulator has answered `kind` at least once.
fn wait_for_call(env: &SyncEnv, kind: EndpointKind) {
    for _ in 0..2000 {
        if env.emu.stats().calls_of(kind) > 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    panic!("no {kind:?} call");
}

#[test]
fn record_failures_exit_4_with_failed_csv() {
    for api in ["rest", "bulk"] {
        record_failures(api);
    }
}

fn record_failures(api: &str) {
    // Every request takes 300 ms, so the admin's change after the describe lands before the
    // write: Salesforce then refuses values the describe allowed.
    let env = SyncEnv::with(Config {
        default_seed: false,
        faults: Faults {
            latency_ms: 300,
            ..Faults::default()
        },
        ..Config::default()
    });
    let contact = |i: usize| {
        text(&env.emu.records("Contact")[i], "Email")
            .unwrap()
            .to_owned()
    };
    let ids: Vec<String> = env
        .emu
        .records("Contact")
        .iter()
        .take(5)
        .map(|r| text(r, "Id").unwrap().to_owned())
        .collect();
    env.config(
        &"\n[integrations.f]\nenvironment = \"sandbox\"\nobject = \"Contact\"\n\
         report = { name = \"R\", path = \"f.csv\" }\nkey = { report = \"Email\", salesforce = \"Email\" }\n\
         write_api = \"API\"\n\
         fields = [{ report = \"Plan\", salesforce = \"WalkMe_Plan__c\" }, { report = \"Category\", salesforce = \"WalkMe_NPS_Category__c\" }]\n"
            .replace("API", api),
    );
    env.report(
        "f.csv",
        &format!(
            "Email,Plan,Category\n{},A plan name too long,Promoter\n{},Team,Detractor\n{},Team,Promoter\n{},Team,Passive\n{},Team,Promoter\n",
            contact(0),
            contact(1),
            contact(2),
            contact(3),
            contact(4)
        ),
    );
    let mut faults = env.emu.faults();
    faults.lock_rows = vec![
        RowLock {
            id: ids[2].clone(),
            attempts: Some(1),
        },
        RowLock {
            id: ids[3].clone(),
            attempts: None,
        },
    ];
    env.emu.set_faults(faults);
    let child = env.spawn(&["run", "f"]);
    // The query comes after the describe's answer.
    wait_for_call(&env, EndpointKind::Query);
    {
        let mut g = env.emu.shared().lock();
        let table = g.table_mut("Contact").expect("Contact table");
        for f in &mut table.def.fields {
            if f.name == "WalkMe_Plan__c" {
                f.length = 10;
            }
            if f.name == "WalkMe_NPS_Category__c" {
                for v in &mut f.picklist_values {
                    if v.value == "Detractor" {
                        v.active = false;
                    }
                }
            }
        }
    }
    let out = child.wait_with_output().expect("wait");
    let run = Run::from(out);
    run.assert_code(4);
    let (record, dir) = env.last("f");
    assert_eq!(record["status"], "completed_with_errors");
    assert_eq!(counts(&record), [5, 0, 0, 0, 0, 2, 3, 0]);
    assert_eq!(record["records"]["failed"], 3);
    let failed = csv_lines(&dir, "failed.csv");
    let line = |id: &str| {
        failed
            .iter()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} in {failed:?}"))
            .clone()
    };
    assert!(
        line(&ids[0]).contains(&format!(",{},STRING_TOO_LONG,", contact(0)))
            && line(&ids[0]).ends_with(",WalkMe_Plan__c"),
        "{failed:?}"
    );
    assert!(
        line(&ids[1]).contains(",INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST,")
            && line(&ids[1]).ends_with(",WalkMe_NPS_Category__c"),
        "{failed:?}"
    );
    assert!(line(&ids[3]).contains(",UNABLE_TO_LOCK_ROW,"), "{failed:?}");
    assert_eq!(failed.len(), 3);
    // changes.csv lists the accepted records only (on Bulk, its lines staged with the upload
    // are dropped when a record fails), and nothing staged is left behind.
    let changes = csv_lines(&dir, "changes.csv");
    for accepted in [&ids[2], &ids[4]] {
        assert!(
            changes.iter().any(|l| l.starts_with(accepted.as_str())),
            "{accepted} in {changes:?}"
        );
    }
    assert!(
        changes
            .iter()
            .all(|l| l.starts_with(ids[2].as_str()) || l.starts_with(ids[4].as_str())),
        "{api}: {changes:?}"
    );
    assert_no_staged_file(&dir);
    // The row locked once was written on the retry.
    let third = env.record("Contact", &contact(2));
    assert_eq!(text(&third, "WalkMe_NPS_Category__c"), Some("Promoter"));
    assert_eq!(
        env.record("Contact", &contact(0)).get("WalkMe_Plan__c"),
        Some(&Value::Null)
    );
    assert!(run.stderr.contains("failed 3"), "{}", run.stderr);
}

/// No `changes.csv` lines staged for a Bulk job are left in the run directory, and
/// `changes.csv` (staged or not) has the permissions of the run's other CSVs.
fn assert_no_staged_file(dir: &std::path::Path) {
    let names: Vec<String> = std::fs::read_dir(dir)
        .expect("run dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".staged")), "{names:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |name: &str| {
            std::fs::metadata(dir.join(name))
                .expect(name)
                .permissions()
                .mode()
        };
        assert_eq!(mode("changes.csv"), mode("failed.csv"), "{}", dir.display());
    }
}

#[test]
fn dry_run_writes_nothing_and_prints_the_diff() {
    let env = SyncEnv::new();
    env.config(LEAD_LOGINS);
    env.report("logins.csv", &example_report());
    let before = env.emu.records("Lead");
    let run = env.run(&["run", "lead-logins", "--dry-run"]);
    run.assert_code(0);
    assert_eq!(env.writes(), 0);
    assert_eq!(env.emu.stats().records_written, 0);
    assert_eq!(env.emu.records("Lead"), before);
    let (record, dir) = env.last("lead-logins");
    assert_eq!(record["dry_run"], true);
    assert_eq!(record["records"]["updated"], 0);
    assert_eq!(counts(&record), [28, 0, 1, 1, 0, 26, 0, 0]);
    assert_eq!(csv_lines(&dir, "changes.csv").len(), 78);
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(out.contains("would update 26"), "{out}");
    assert!(
        out.contains("anna.schmidt@acme-corp.com")
            && out.contains("WalkMe_Last_Login__c: (empty) → 2026-11-27T06:08:00.000Z"),
        "{out}"
    );
    assert!(out.contains("changes.csv"), "{out}");
    assert!(out.contains("and 6 more records"), "{out}");
    assert!(
        !out.contains("GET /services"),
        "requests are shown with -v only: {out}"
    );
    // The log ends with the outcome, as the terminal's summary says it.
    let log = std::fs::read_to_string(dir.join("log.txt")).expect("log.txt");
    let last = log.lines().last().unwrap_or_default();
    assert!(
        last.ends_with(
            "completed: 28 rows — would update 26, unchanged 0, unmatched 1, skipped 1, \
             rejected 0, failed 0, aborted 0; 2 API calls"
        ),
        "{log}"
    );
}

#[test]
fn a_dry_run_that_stops_prints_no_plan() {
    let env = SyncEnv::new();
    env.config(LEAD_LOGINS);
    env.report(
        "logins.csv",
        &example_report().replacen("Last Login", "Last Seen", 1),
    );
    let run = env.run(&["run", "lead-logins", "--dry-run"]);
    run.assert_code(2);
    assert_eq!(run.stdout, "", "no plan was made");
    let (_, dir) = env.last("lead-logins");
    let log = std::fs::read_to_string(dir.join("log.txt")).expect("log.txt");
    assert!(
        log.lines()
            .last()
            .unwrap_or_default()
            .contains("failed: 0 rows"),
        "{log}"
    );
}

#[test]
fn max_changes_blocks_before_any_write() {
    let env = SyncEnv::new();
    env.config(&LEAD_LOGINS.replace("max_changes = 500", "max_changes = \"50%\""));
    env.report("logins.csv", &example_report());
    for args in [
        &["run", "lead-logins", "--dry-run"][..],
        &["run", "lead-logins"],
    ] {
        let run = env.run(args);
        run.assert_code(1);
        assert!(run.stderr.contains("max_changes"), "{}", run.stderr);
        assert_eq!(
            run.stdout, "",
            "a plan over the brake is not shown as the plan"
        );
        assert_eq!(env.writes(), 0);
        let (record, _) = env.last("lead-logins");
        assert_eq!(record["status"], "failed");
        assert!(
            record["error"]
                .as_str()
                .unwrap()
                .contains("more than max_changes"),
            "{record}"
        );
        assert_eq!(counts(&record), [28, 0, 1, 1, 0, 0, 0, 26]);
    }
}

#[test]
fn rest_and_bulk_leave_identical_records() {
    let cases: &[(&str, &str)] = &[
        ("example", &example_report()),
        (
            "clears",
            "User ID,First Login,Last Login,Logins Last 30 Days\n\
             anna.schmidt@acme-corp.com,,,\n\
             ben.meyer@globex.io,2026-01-01T00:00:00.001Z,01/02/2026 03:04,\n\
             carla.okafor@initech.de,,12/31/2026 23:59,1000000\n",
        ),
    ];
    for (name, report) in cases {
        let mut finals = Vec::new();
        let mut changes = Vec::new();
        for api in ["rest", "bulk"] {
            let env = SyncEnv::new();
            // The options belong to the integration table, before its field arrays.
            let config = LEAD_LOGINS.replace(
                "max_changes = 500\n",
                &format!("empty_cells = \"clear\"\nwrite_api = \"{api}\"\n"),
            );
            env.config(&config);
            // Values to clear first.
            // The same audit trail of both runs: Bulk's lines are staged with the upload and
            // committed when every record is accepted, REST's written as each answer comes.
            let mut trail = Vec::new();
            for report in [example_report().as_str(), report] {
                env.report("logins.csv", report);
                env.run(&["run", "lead-logins"]).assert_code(0);
                let (_, dir) = env.last("lead-logins");
                let mut lines = csv_lines(&dir, "changes.csv");
                lines.sort();
                trail.push(lines);
                assert_no_staged_file(&dir);
                let log = std::fs::read_to_string(dir.join("log.txt")).expect("log.txt");
                let staged = log.contains("lines staged with the upload are committed");
                assert_eq!(
                    staged,
                    api == "bulk" && !trail[trail.len() - 1].is_empty(),
                    "{log}"
                );
            }
            assert!(!trail[0].is_empty(), "{name} {api}");
            changes.push(trail);
            let records: Vec<Map<String, Value>> = env
                .emu
                .records("Lead")
                .into_iter()
                .map(|mut r| {
                    for volatile in ["Id", "LastModifiedDate", "SystemModstamp", "CreatedDate"] {
                        r.remove(volatile);
                    }
                    r
                })
                .collect();
            finals.push(records);
        }
        assert_eq!(finals[0], finals[1], "{name}: REST and Bulk differ");
        assert_eq!(
            changes[0], changes[1],
            "{name}: changes.csv of REST and Bulk differ"
        );
    }
}

#[test]
fn overlapping_runs_of_one_integration() {
    let env = SyncEnv::with(Config {
        default_seed: false,
        faults: Faults {
            latency_ms: 150,
            ..Faults::default()
        },
        ..Config::default()
    });
    env.config(LEAD_LOGINS);
    env.report("logins.csv", &example_report());
    let first = env.spawn(&["run", "lead-logins"]);
    wait_for_call(&env, EndpointKind::Token);
    let second = env.run(&["run", "lead-logins"]);
    second.assert_code(1);
    assert!(
        second
            .stderr
            .contains("integration `lead-logins` is already running (pid "),
        "{}",
        second.stderr
    );
    let waiting = env.spawn(&["run", "lead-logins", "--wait"]);
    let first = Run::from(first.wait_with_output().expect("first"));
    first.assert_code(0);
    let waiting = Run::from(waiting.wait_with_output().expect("waiting"));
    waiting.assert_code(0);
    let runs = env.runs("lead-logins");
    // The refused run records nothing; the waiting one ran after the first and found it done.
    assert_eq!(runs.len(), 2);
    assert_eq!(counts(&runs[1].0), [28, 0, 1, 1, 0, 26, 0, 0]);
    assert_eq!(counts(&runs[0].0), [28, 0, 1, 1, 26, 0, 0, 0]);
    assert!(runs[0].0["started_at"].as_str() >= runs[1].0["finished_at"].as_str());
}

#[test]
fn only_syncs_the_named_keys() {
    let env = SyncEnv::new();
    env.config(LEAD_LOGINS);
    env.report("logins.csv", &example_report());
    let run = env.run(&[
        "run",
        "lead-logins",
        "--only",
        "ANNA.schmidt@acme-corp.com",
        "nobody@acme-corp.com",
        "anna.schmidt@acme-corp.com",
        "david.rossi@umbrella.co.uk",
        "ghost@acme-corp.com",
    ]);
    run.assert_code(0);
    // The keys no row has are named in one line; the keys found, in any case, are not.
    assert_eq!(
        run.stderr
            .matches("--only: no row of the report has the key")
            .count(),
        1,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("the key \"nobody@acme-corp.com\", nor 1 more"),
        "{}",
        run.stderr
    );
    let (record, dir) = env.last("lead-logins");
    assert_eq!(counts(&record), [2, 0, 0, 0, 0, 2, 0, 0]);
    let log = std::fs::read_to_string(dir.join("log.txt")).expect("log.txt");
    assert!(log.contains("the key \"nobody@acme-corp.com\""), "{log}");
    let written: Vec<_> = env
        .emu
        .records("Lead")
        .into_iter()
        .filter(|r| !r["WalkMe_Last_Login__c"].is_null())
        .map(|r| r["Email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        written,
        ["anna.schmidt@acme-corp.com", "david.rossi@umbrella.co.uk"]
    );
}

#[test]
fn json_prints_run_json() {
    let env = SyncEnv::new();
    env.config(LEAD_LOGINS);
    env.report("logins.csv", &example_report());
    let run = env.run(&["run", "lead-logins", "--json", "--quiet"]);
    run.assert_code(0);
    assert_eq!(run.stderr, "");
    let printed: Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    let (record, _) = env.last("lead-logins");
    assert_eq!(printed, record);
    assert_eq!(printed["schema_version"], 1);
    assert!(printed["api_calls"].as_u64().unwrap() >= 3);
}

#[test]
fn cron_output_is_short() {
    let env = SyncEnv::new();
    env.config(LEAD_LOGINS);
    env.report("logins.csv", &example_report());
    let run = env.run(&["run", "lead-logins"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    let lines = run.stderr.lines().count();
    assert!((2..=10).contains(&lines), "{}", run.stderr);
    assert!(run.stderr.contains("updated 26"), "{}", run.stderr);
}

#[test]
fn a_plan_beyond_the_daily_allowance_stops_before_writing() {
    let env = SyncEnv::with(Config {
        default_seed: false,
        api_max: 1_000,
        ..Config::default()
    });
    env.config(&LEAD_LOGINS.replace("max_changes = 500\n", "write_api = \"rest\"\n"));
    env.report("logins.csv", &example_report());
    env.emu.set_api_usage(1_000 - 5);
    let run = env.run(&["run", "lead-logins"]);
    run.assert_code(1);
    assert!(run.stderr.contains("daily API"), "{}", run.stderr);
    assert_eq!(env.writes(), 0);
    let (record, _) = env.last("lead-logins");
    assert_eq!(record["status"], "failed");
    assert_eq!(counts(&record), [28, 0, 1, 1, 0, 0, 0, 26]);
    // With room left the same run goes through.
    env.emu.set_api_usage(0);
    env.run(&["run", "lead-logins"]).assert_code(0);
}

#[test]
fn transient_failures_are_retried_and_counted() {
    let env = SyncEnv::new();
    env.config(LEAD_LOGINS);
    env.report("logins.csv", &example_report());
    env.emu.set_faults(Faults {
        status_503: Some(sf_emulator::Burst {
            kind: Some(EndpointKind::Collections),
            count: 2,
        }),
        ..Faults::default()
    });
    env.run(&["run", "lead-logins"]).assert_code(0);
    let (record, _) = env.last("lead-logins");
    assert_eq!(counts(&record), [28, 0, 1, 1, 0, 26, 0, 0]);
    // describe, query, and the collections request three times.
    assert_eq!(record["api_calls"], 5);
    assert_eq!(env.emu.stats().calls_of(EndpointKind::Collections), 3);
    assert_eq!(
        text(&env.lead(ANNA), "WalkMe_Last_Login__c"),
        Some("2026-11-27T06:08:00.000+0000")
    );
}

#[test]
fn a_failed_bulk_job_fails_the_run_and_aborts_its_rows() {
    let env = SyncEnv::new();
    env.config(&LEAD_LOGINS.replace("max_changes = 500\n", "write_api = \"bulk\"\n"));
    env.report("logins.csv", &example_report());
    env.emu.set_faults(Faults {
        bulk_outcome: sf_emulator::BulkOutcome::Failed,
        ..Faults::default()
    });
    let run = env.run(&["run", "lead-logins"]);
    run.assert_code(1);
    assert!(run.stderr.contains("Bulk API job"), "{}", run.stderr);
    let (record, dir) = env.last("lead-logins");
    assert_eq!(record["status"], "failed");
    assert_eq!(counts(&record), [28, 0, 1, 1, 0, 0, 0, 26]);
    assert_eq!(record["records"]["updated"], 0);
    assert!(csv_lines(&dir, "changes.csv").is_empty());
    assert_eq!(env.emu.stats().records_written, 0);
}

/// The example's rows and 2,500 long keys no Lead has: more IN queries than a scan costs.
fn scan_sized_report() -> String {
    use std::fmt::Write as _;
    let mut report = example_report();
    for i in 0..2_500 {
        let _ = writeln!(
            report,
            "nobody.{i}.{}@example.com,2026-01-01T00:00:00Z,01/01/2026 00:00,1",
            "x".repeat(280)
        );
    }
    report
}

#[test]
fn many_keys_are_matched_with_one_bulk_query() {
    let env = SyncEnv::new();
    env.config(LEAD_LOGINS);
    let report = scan_sized_report();
    env.report("logins.csv", &report);
    env.run(&["run", "lead-logins"]).assert_code(0);
    let (record, dir) = env.last("lead-logins");
    assert_eq!(counts(&record), [2_528, 0, 1, 2_501, 0, 26, 0, 0]);
    let stats = env.emu.stats();
    assert_eq!(stats.calls_of(EndpointKind::BulkQueryCreate), 1);
    // One REST query: the COUNT() that priced the scan against the IN queries.
    assert_eq!(stats.calls_of(EndpointKind::Query), 1);
    assert_eq!(csv_lines(&dir, "changes.csv").len(), 78);
    let anna = env.lead(ANNA);
    assert_eq!(
        text(&anna, "WalkMe_Last_Login__c"),
        Some("2026-11-27T06:08:00.000+0000")
    );
    // The scan reads current values as the IN queries do: the re-run writes nothing.
    let writes = env.writes();
    env.run(&["run", "lead-logins"]).assert_code(0);
    assert_eq!(env.writes(), writes);
    let (record, _) = env.last("lead-logins");
    assert_eq!(counts(&record), [2_528, 0, 1, 2_501, 26, 0, 0, 0]);
}

#[test]
fn a_scan_page_cut_off_mid_way_is_read_again_without_counting_twice() {
    let env = SyncEnv::new();
    env.config(LEAD_LOGINS);
    let report = scan_sized_report();
    env.report("logins.csv", &report);
    // The scan's one page breaks off after half its bytes: the records already matched from it
    // must not be matched again when it is read anew.
    env.emu.set_faults(Faults {
        cut_body: Some(sf_emulator::Burst {
            kind: Some(EndpointKind::BulkQueryResults),
            count: 1,
        }),
        ..Faults::default()
    });
    env.run(&["run", "lead-logins"]).assert_code(0);
    let (record, dir) = env.last("lead-logins");
    assert_eq!(counts(&record), [2_528, 0, 1, 2_501, 0, 26, 0, 0]);
    assert_eq!(record["records"]["matched"], 26);
    let stats = env.emu.stats();
    assert_eq!(stats.faults_injected, 1);
    assert_eq!(stats.calls_of(EndpointKind::BulkQueryResults), 2);
    assert_eq!(stats.calls_of(EndpointKind::BulkQueryCreate), 1);
    assert_eq!(csv_lines(&dir, "changes.csv").len(), 78);
}

#[test]
fn a_refused_bare_access_token_says_it_cannot_be_renewed() {
    let env = SyncEnv::new();
    env.config(LEAD_LOGINS);
    env.report("logins.csv", &example_report());
    let run = Run::from(
        env.command()
            .args(["run", "lead-logins"])
            .env("WALKME_SF_ACCESS_TOKEN", "00Dxx!not-a-token")
            .env("WALKME_SF_INSTANCE_URL", env.emu.url())
            .output()
            .expect("run"),
    );
    run.assert_code(3);
    assert!(
        run.stderr.contains("a bare access token cannot be renewed")
            && run
                .stderr
                .contains("hint: provide a fresh WALKME_SF_ACCESS_TOKEN"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("after it was renewed"),
        "{}",
        run.stderr
    );
    assert_eq!(env.emu.stats().records_written, 0);
}
