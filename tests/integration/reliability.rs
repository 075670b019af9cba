//! The reliability suite's common ground: a load of `n` Leads in the emulator, a report that sets
//! two fields on each, and the checks every fault and interruption case makes — Salesforce holds
//! a subset of the intended values and no other change, the run record adds up, and what
//! `changes.csv` says was written is exactly what was written.
//!
//! `WALKME_SF_RELIABILITY=full` (set by `scripts/reliability`) scales the cases up; CI runs the
//! small variant inside `scripts/test`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::{Map, Value, json};
use sf_emulator::{Config, Emulator, Faults};

use crate::run::assert_balanced;
use crate::support::{Run, TestEnv};

/// Whether the full matrix was asked for (`scripts/reliability`).
pub fn full() -> bool {
    std::env::var("WALKME_SF_RELIABILITY").is_ok_and(|v| v == "full")
}

pub const LOGINS: &str = "WalkMe_Logins_Last_30_Days__c";
pub const LAST_LOGIN: &str = "WalkMe_Last_Login__c";

/// What the report says of Lead `i`.
pub fn intended(i: usize) -> (f64, String) {
    let logins = ((i * 7) % 1000) as f64;
    let minute = i % 60;
    let hour = (i / 60) % 24;
    let day = 1 + (i / 1440) % 28;
    (
        logins,
        format!("2026-11-{day:02}T{hour:02}:{minute:02}:00.000+0000"),
    )
}

fn email(i: usize) -> String {
    format!("user{i}@load.example")
}

/// A load of `n` Leads, every tenth already holding its intended values, and a report of all
/// of them plus three keys that match nothing.
pub struct LoadEnv {
    pub t: TestEnv,
    pub emu: Emulator,
    pub token: String,
    pub n: usize,
    /// Every Lead as seeded, by Id.
    pub initial: BTreeMap<String, Map<String, Value>>,
    /// Lead index by Id.
    pub index: BTreeMap<String, usize>,
}

impl LoadEnv {
    /// `api` is `rest` or `bulk`.
    pub fn new(n: usize, api: &str, faults: Faults) -> Self {
        Self::with(
            n,
            api,
            Config {
                default_seed: false,
                bulk_delay_ms: 20,
                faults,
                ..Config::default()
            },
        )
    }

    pub fn with(n: usize, api: &str, config: Config) -> Self {
        let emu = Emulator::start(config).expect("emulator");
        let records: Vec<Value> = (0..n)
            .map(|i| {
                let mut r = json!({
                    "FirstName": format!("F{i}"),
                    "LastName": format!("L{i}"),
                    "Company": "Load Inc",
                    "Email": email(i),
                });
                if i % 10 == 0 {
                    let (logins, last) = intended(i);
                    r[LOGINS] = json!(logins);
                    r[LAST_LOGIN] = json!(last);
                }
                r
            })
            .collect();
        emu.seed_records("Lead", records).expect("seed");
        let token = emu.issue_refresh_token("admin@example.com");
        let t = TestEnv::new();
        t.write(
            "integrations.toml",
            format!(
                "[environments.sandbox]\nclient_id = \"test-app\"\nlogin_url = \"{}\"\n\n\
                 [integrations.load]\nenvironment = \"sandbox\"\nobject = \"Lead\"\n\
                 report = {{ name = \"Load\", path = \"load.csv\" }}\n\
                 key = {{ report = \"Email\", salesforce = \"Email\" }}\n\
                 write_api = \"{api}\"\n\n\
                 [[integrations.load.fields]]\nreport = \"Logins\"\nsalesforce = \"{LOGINS}\"\n\n\
                 [[integrations.load.fields]]\nreport = \"Last Login\"\nsalesforce = \"{LAST_LOGIN}\"\n",
                emu.url()
            ),
        );
        let mut report = String::from("Email,Logins,Last Login\n");
        for i in 0..n {
            let (logins, last) = intended(i);
            let _ = writeln!(report, "{},{logins},{}", email(i), &last[..19]);
        }
        for k in 0..3 {
            let _ = writeln!(report, "nobody{k}@load.example,1,2026-01-01T00:00:00");
        }
        t.write("load.csv", report);
        let initial: BTreeMap<String, Map<String, Value>> = emu
            .records("Lead")
            .into_iter()
            .map(|r| (r["Id"].as_str().expect("Id").to_owned(), r))
            .collect();
        let index = initial
            .iter()
            .map(|(id, r)| {
                let mail = r["Email"].as_str().expect("Email");
                let i = mail
                    .trim_start_matches("user")
                    .trim_end_matches("@load.example")
                    .parse()
                    .expect("index");
                (id.clone(), i)
            })
            .collect();
        Self {
            t,
            emu,
            token,
            n,
            initial,
            index,
        }
    }

    /// Report rows: the Leads and the three unmatched keys.
    pub fn rows(&self) -> u64 {
        self.n as u64 + 3
    }

    /// Leads the report changes (the others already hold its values).
    pub fn to_change(&self) -> u64 {
        (self.n - self.n.div_ceil(10)) as u64
    }

    pub fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("walkme-sf"));
        cmd.current_dir(self.t.path())
            .env_remove("WALKME_SF_CONFIG")
            .env_remove("WALKME_SF_ACCESS_TOKEN")
            .env_remove("WALKME_SF_INSTANCE_URL")
            .env_remove("WALKME_SF_CLIENT_ID")
            .env_remove("WALKME_SF_CLIENT_SECRET")
            .env("WALKME_SF_REFRESH_TOKEN", &self.token)
            .env("WALKME_SF_STATE_DIR", self.t.path().join("state"))
            .env("XDG_CONFIG_HOME", self.t.path().join("xdg-config"))
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd
    }

    #[track_caller]
    pub fn run(&self) -> Run {
        let out = self
            .command()
            .args(["run", "load"])
            .output()
            .expect("run walkme-sf");
        let run = Run::from(out);
        run.assert_no_panic();
        run
    }

    pub fn spawn(&self) -> std::process::Child {
        self.command()
            .args(["run", "load"])
            .spawn()
            .expect("spawn walkme-sf")
    }

    /// Every run directory, oldest first.
    pub fn run_dirs(&self) -> Vec<PathBuf> {
        let dir = self.t.path().join("state/runs/load");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        dirs.retain(|d| d.is_dir());
        dirs.sort();
        dirs
    }

    /// The newest finished run's record (balanced) and directory.
    #[track_caller]
    pub fn last(&self) -> (Value, PathBuf) {
        let dir = self.run_dirs().pop().expect("a run directory");
        let text = std::fs::read_to_string(dir.join("run.json")).expect("run.json");
        let record: Value = serde_json::from_str(&text).expect("run.json is JSON");
        assert_balanced(&record);
        (record, dir)
    }

    /// Salesforce holds a subset of the intended values and no other change: every Lead is as
    /// seeded or as seeded with both intended values (a record's fields travel together), and
    /// no Lead appeared or vanished. Returns the Ids that hold the intended values but did not
    /// at the start.
    #[track_caller]
    pub fn assert_subset(&self) -> Vec<String> {
        let now = self.emu.records("Lead");
        assert_eq!(now.len(), self.initial.len(), "Leads appeared or vanished");
        let mut written = Vec::new();
        for record in now {
            let id = record["Id"].as_str().expect("Id").to_owned();
            let before = self
                .initial
                .get(&id)
                .unwrap_or_else(|| panic!("unknown Lead {id}"));
            for (k, v) in &record {
                // The audit fields Salesforce itself moves on every write.
                let audit = matches!(
                    k.as_str(),
                    "LastModifiedDate" | "SystemModstamp" | "LastModifiedById"
                );
                if k != LOGINS && k != LAST_LOGIN && !audit {
                    assert_eq!(before.get(k), Some(v), "{id}: {k} changed");
                }
            }
            let i = self.index[&id];
            let (logins, last) = intended(i);
            let holds = record[LOGINS].as_f64() == Some(logins)
                && record[LAST_LOGIN].as_str() == Some(last.as_str());
            let untouched =
                record[LOGINS] == before[LOGINS] && record[LAST_LOGIN] == before[LAST_LOGIN];
            assert!(
                holds || untouched,
                "{id} (user{i}) holds neither its old nor its intended values: {} {}",
                record[LOGINS],
                record[LAST_LOGIN]
            );
            if holds && !untouched {
                written.push(id);
            }
        }
        written.sort();
        written
    }

    /// Every Lead holds its intended values.
    #[track_caller]
    pub fn assert_converged(&self) {
        let written = self.assert_subset();
        assert_eq!(
            written.len() as u64,
            self.to_change(),
            "not every Lead written"
        );
    }

    /// The Ids in a run's `changes.csv`, each with both fields.
    pub fn changed_ids(dir: &std::path::Path) -> Vec<String> {
        let mut reader = csv::Reader::from_path(dir.join("changes.csv")).expect("changes.csv");
        let mut fields: BTreeMap<String, usize> = BTreeMap::new();
        for row in reader.records() {
            let row = row.expect("changes.csv row");
            *fields.entry(row[0].to_owned()).or_default() += 1;
        }
        for (id, k) in &fields {
            assert_eq!(*k, 2, "{id}: {k} fields in changes.csv");
        }
        fields.into_keys().collect()
    }

    /// A finished run's record agrees with Salesforce: `changes.csv` names exactly the records
    /// the run wrote (`written`: what changed in Salesforce during it), and the counts say so.
    #[track_caller]
    pub fn assert_recorded(&self, record: &Value, dir: &std::path::Path, written: &[String]) {
        assert_balanced(record);
        assert_eq!(record["counts"]["rows"], self.rows(), "{record}");
        assert_eq!(
            Self::changed_ids(dir),
            written,
            "changes.csv ≠ what was written"
        );
        assert_eq!(
            record["records"]["updated"],
            written.len() as u64,
            "{record}"
        );
        assert_eq!(
            record["counts"]["updated"],
            written.len() as u64,
            "{record}"
        );
    }
}

/// Wait until `pred` holds (polling every 2 ms, at most `secs`).
#[track_caller]
pub fn wait_until(secs: u64, what: &str, mut pred: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if pred() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    panic!("timed out waiting for {what}");
}
