//! `walkme-sf-bench`: runs the real `walkme-sf run` binary against the in-process Salesforce
//! emulator (with injected latency) for each scenario of issue 6 and prints one JSON line per
//! scenario: rows, records, changes, API calls by kind, wall time, the child's user+sys CPU and
//! peak RSS, the API-call lower bound of research §10, and each target as pass/fail.
//!
//! `cargo build --release -p walkme-sf && cargo build --release -p walkme-sf-bench && target/release/walkme-sf-bench`
//! (see BENCHMARKS.md). `--check` exits 1 when a call-count, write or memory target fails; time
//! and CPU targets are reported, never asserted (the machine decides them).

mod data;
mod rusage;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use clap::Parser;
use serde_json::{Value, json};
use sf_emulator::{Emulator, EndpointKind};

use data::RowPlan;

/// Rows per Bulk query result page walkme-sf asks for (`maxRecords`, src/sync/bulk_match.rs).
const BULK_PAGE_RECORDS: u64 = 200_000;
/// Salesforce's request-URI limit (research §3.2).
const URI_LIMIT: usize = 16_384;
/// Records per sObject Collections request (research §4.1).
const COLLECTION_RECORDS: u64 = 200;
/// Above this many records walkme-sf writes with Bulk ingest (`write_api = "auto"`).
const BULK_WRITE_THRESHOLD: u64 = 2_000;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Benchmarks of walkme-sf against the Salesforce emulator"
)]
struct Args {
    /// Scenarios to run, comma-separated (S1..S5); all by default.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Rows of S2/S3 and Leads of their org (and of S5's org).
    #[arg(long, default_value_t = 1_000_000)]
    large: usize,
    /// The walkme-sf binary; by default the one next to this binary.
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Exit 1 when an API-call, write or memory target fails (times are never asserted).
    #[arg(long)]
    check: bool,
    /// Peak-RSS limit in MB for the memory target of S2.
    #[arg(long, default_value_t = 150)]
    rss_limit_mb: u64,
    /// Keep the generated files and run logs here instead of a temporary directory.
    #[arg(long)]
    keep: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Org {
    Leads(usize),
    Wide(usize),
}

#[derive(Debug, Clone)]
struct Scenario {
    name: &'static str,
    what: &'static str,
    rows: usize,
    org: Org,
    matched_pct: usize,
    changed_pct: usize,
    latency_ms: u64,
    /// The generation of the changed values (distinct per scenario, so each one changes data).
    generation: usize,
    /// Run the previous scenario's report again.
    rerun: bool,
}

fn scenarios(large: usize) -> Vec<Scenario> {
    vec![
        Scenario {
            name: "S1",
            what: "daily: 2,000 rows, 50,000 Leads, 30 % changed, 200 ms latency",
            rows: 2_000,
            org: Org::Leads(50_000),
            matched_pct: 100,
            changed_pct: 30,
            latency_ms: 200,
            generation: 1,
            rerun: false,
        },
        Scenario {
            name: "S2",
            what: "large: every Lead in the report, all changed",
            rows: large,
            org: Org::Leads(large),
            matched_pct: 100,
            changed_pct: 100,
            latency_ms: 50,
            generation: 2,
            rerun: false,
        },
        Scenario {
            name: "S3",
            what: "no-op: S2 again",
            rows: large,
            org: Org::Leads(large),
            matched_pct: 100,
            changed_pct: 100,
            latency_ms: 50,
            generation: 2,
            rerun: true,
        },
        // S5 before S4: it reuses S2's org of `large` Leads.
        Scenario {
            name: "S5",
            what: "unmatched-heavy: 200,000 rows, 5 % match",
            rows: 200_000,
            org: Org::Leads(large),
            matched_pct: 5,
            changed_pct: 100,
            latency_ms: 50,
            generation: 3,
            rerun: false,
        },
        Scenario {
            name: "S4",
            what: "wide: 100,000 rows x 20 mapped fields of every type",
            rows: 100_000,
            org: Org::Wide(100_000),
            matched_pct: 100,
            changed_pct: 100,
            latency_ms: 50,
            generation: 1,
            rerun: false,
        },
    ]
}

fn main() {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == MEASURE) {
        std::process::exit(match measure(&argv[2..]) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("walkme-sf-bench {MEASURE}: {e:#}");
                2
            }
        });
    }
    match real_main() {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("walkme-sf-bench: {e:#}");
            std::process::exit(2);
        }
    }
}

/// The hidden wrapper mode: `walkme-sf-bench __measure OUT.json PROGRAM ARGS…` runs PROGRAM,
/// waits for it with wait4 and writes its usage to OUT.json. The harness starts walkme-sf through
/// this small process because a child's peak RSS counts the memory of the process it was forked
/// from until its exec (Linux carries the pre-exec high-water mark over), and the harness itself
/// holds the emulator's whole org.
const MEASURE: &str = "__measure";

fn measure(args: &[std::ffi::OsString]) -> Result<()> {
    let [out, program, rest @ ..] = args else {
        bail!("usage: {MEASURE} OUT.json PROGRAM [ARGS…]");
    };
    let child = Command::new(program)
        .args(rest)
        .spawn()
        .with_context(|| format!("starting {}", program.to_string_lossy()))?;
    let usage = rusage::wait(child.id())?;
    let json = json!({
        "exit_code": usage.exit_code,
        "user_s": usage.user.as_secs_f64(),
        "sys_s": usage.system.as_secs_f64(),
        "max_rss": usage.max_rss,
    });
    std::fs::write(out, json.to_string())?;
    Ok(())
}

fn real_main() -> Result<i32> {
    let args = Args::parse();
    let bin = match &args.bin {
        Some(b) => b.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("the bench binary has no directory")?
            .join("walkme-sf"),
    };
    if !bin.is_file() {
        bail!(
            "{} does not exist; build it with `cargo build --release -p walkme-sf` or pass --bin",
            bin.display()
        );
    }
    let temp;
    let root = if let Some(dir) = &args.keep {
        std::fs::create_dir_all(dir)?;
        dir.clone()
    } else {
        temp = tempfile::tempdir()?;
        temp.path().to_path_buf()
    };
    let wanted: Vec<String> = args.only.iter().map(|s| s.to_uppercase()).collect();
    let mut current: Option<(Org, Emulator)> = None;
    let mut previous_report: Option<(PathBuf, Vec<RowPlan>)> = None;
    let mut failed = false;
    for scenario in scenarios(args.large) {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == scenario.name) {
            continue;
        }
        let result = run_scenario(
            &scenario,
            &args,
            &bin,
            &root,
            &mut current,
            &mut previous_report,
        )?;
        let pass = result["targets"].as_object().is_none_or(|t| {
            t.values()
                .all(|v| v["asserted"] != true || v["pass"] == true)
        });
        failed |= !pass;
        println!("{result}");
    }
    Ok(i32::from(args.check && failed))
}

fn run_scenario(
    s: &Scenario,
    args: &Args,
    bin: &Path,
    root: &Path,
    current: &mut Option<(Org, Emulator)>,
    previous: &mut Option<(PathBuf, Vec<RowPlan>)>,
) -> Result<Value> {
    let dir = root.join(s.name);
    std::fs::create_dir_all(&dir)?;
    let setup = Instant::now();
    // One org per shape: S3 and S5 reuse the org S2 left behind.
    if current.as_ref().is_none_or(|(org, _)| *org != s.org) {
        *current = None;
        let (object, seed, schema) = match s.org {
            Org::Leads(n) => ("Lead", data::lead_seed(n), None),
            Org::Wide(n) => (
                data::WIDE_OBJECT,
                data::wide_seed(n),
                Some(data::wide_schema()?),
            ),
        };
        let emu = Emulator::start(sf_emulator::Config {
            default_seed: false,
            schema_json: schema,
            api_max: 10_000_000,
            token_ttl_secs: None,
            ..sf_emulator::Config::default()
        })?;
        let seed_path = dir.join("seed.csv");
        std::fs::write(&seed_path, seed)?;
        emu.seed_csv(object, &seed_path)
            .with_context(|| format!("seeding {object}"))?;
        std::fs::remove_file(&seed_path)?;
        *current = Some((s.org, emu));
    }
    let (_, emu) = current.as_ref().context("an emulator is running")?;
    emu.set_faults(sf_emulator::Faults {
        latency_ms: s.latency_ms,
        ..sf_emulator::Faults::default()
    });
    let org_size = match s.org {
        Org::Leads(n) | Org::Wide(n) => n,
    };
    let (report, plan) = match previous.take() {
        Some(prev) if s.rerun => prev,
        _ => {
            let plan = data::plan_rows(s.rows, org_size, s.matched_pct, s.changed_pct);
            let text = match s.org {
                Org::Leads(_) => data::lead_report(&plan, s.generation),
                Org::Wide(_) => data::wide_report(&plan, s.generation),
            };
            let path = dir.join("report.csv");
            std::fs::write(&path, text)?;
            (path, plan)
        }
    };
    let config = dir.join("integrations.toml");
    std::fs::write(&config, config_text(s.org, emu.url(), &report))?;
    let refresh = emu.issue_refresh_token("admin@example.com");
    let setup_secs = setup.elapsed().as_secs_f64();

    emu.reset_stats();
    let started = Instant::now();
    let usage_path = dir.join("usage.json");
    let measured = Command::new(std::env::current_exe()?)
        .arg(MEASURE)
        .arg(&usage_path)
        .arg(bin)
        .args(["run", "bench", "--json", "--quiet"])
        .env("WALKME_SF_CONFIG", &config)
        .env("WALKME_SF_STATE_DIR", dir.join("state"))
        .env("WALKME_SF_REFRESH_TOKEN", &refresh)
        .env("HOME", &dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("stdout.json"))?)
        .stderr(std::fs::File::create(dir.join("stderr.txt"))?)
        .status()
        .with_context(|| format!("starting {}", bin.display()))?;
    let wall = started.elapsed();
    if !measured.success() {
        bail!("{}: measuring walkme-sf failed ({measured})", s.name);
    }
    let usage: Value = serde_json::from_str(&std::fs::read_to_string(&usage_path)?)?;
    let exit_code = usage["exit_code"].as_i64();
    let user_s = usage["user_s"].as_f64().unwrap_or(0.0);
    let sys_s = usage["sys_s"].as_f64().unwrap_or(0.0);
    let max_rss = usage["max_rss"].as_f64().unwrap_or(0.0);
    let stats = emu.stats();
    let record: Value = std::fs::read_to_string(dir.join("stdout.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    if exit_code != Some(0) {
        let stderr = std::fs::read_to_string(dir.join("stderr.txt")).unwrap_or_default();
        eprintln!(
            "{}: walkme-sf exited {:?}: {}",
            s.name,
            exit_code,
            stderr.trim()
        );
    }
    *previous = Some((report, plan.clone()));

    let calls = |kinds: &[EndpointKind]| kinds.iter().map(|k| stats.calls_of(*k)).sum::<u64>();
    let query = calls(&[EndpointKind::Query, EndpointKind::QueryMore]);
    let write = calls(&[
        EndpointKind::Collections,
        EndpointKind::SobjectUpdate,
        EndpointKind::SobjectCreate,
        EndpointKind::Upsert,
    ]);
    let bulk_query = calls(&[
        EndpointKind::BulkQueryCreate,
        EndpointKind::BulkQueryInfo,
        EndpointKind::BulkQueryResults,
        EndpointKind::BulkQueryDelete,
    ]);
    let bulk_ingest = calls(&[
        EndpointKind::BulkIngestCreate,
        EndpointKind::BulkIngestUpload,
        EndpointKind::BulkIngestState,
        EndpointKind::BulkIngestInfo,
        EndpointKind::BulkIngestResults,
        EndpointKind::BulkIngestDelete,
        EndpointKind::BulkIngestList,
    ]);
    let describe = calls(&[EndpointKind::Describe, EndpointKind::GlobalDescribe]);
    let total = stats.api_usage;

    let matched_records = plan.iter().filter(|r| r.record.is_some()).count() as u64;
    let expected_changes = if s.rerun {
        0
    } else {
        plan.iter().filter(|r| r.changed).count() as u64
    };
    let bound = lower_bound(s, &plan, org_size as u64, expected_changes);
    let cpu = user_s + sys_s;
    let rows_per_cpu_s = if cpu > 0.0 { s.rows as f64 / cpu } else { 0.0 };
    let rss_mb = max_rss / (1024.0 * 1024.0);
    let wall_s = wall.as_secs_f64();

    let mut targets = serde_json::Map::new();
    let bound_limit = bound.total as f64 * 1.5;
    targets.insert(
        "api_calls_le_1.5x_bound".into(),
        target(total as f64 <= bound_limit, true, json!(bound_limit)),
    );
    if s.name == "S2" {
        targets.insert(
            "api_calls_le_25".into(),
            target(total <= 25, args.large >= 1_000_000, json!(25)),
        );
        targets.insert(
            "peak_rss_le_limit_mb".into(),
            target(
                rss_mb <= args.rss_limit_mb as f64,
                true,
                json!(args.rss_limit_mb),
            ),
        );
    }
    if s.name == "S3" {
        targets.insert(
            "zero_writes".into(),
            target(write + stats.records_written == 0, true, json!(0)),
        );
    }
    if matches!(s.name, "S2" | "S4") {
        targets.insert(
            "cpu_rows_per_s_ge_250k".into(),
            target(rows_per_cpu_s >= 250_000.0, false, json!(250_000)),
        );
    }
    if s.name == "S1" {
        targets.insert(
            "wall_le_1.5s".into(),
            target(wall_s <= 1.5, false, json!(1.5)),
        );
    }
    targets.insert(
        "exit_0".into(),
        target(exit_code == Some(0), true, json!(0)),
    );
    targets.insert(
        "records_written_as_planned".into(),
        target(
            stats.records_written == expected_changes,
            true,
            json!(expected_changes),
        ),
    );

    Ok(json!({
        "scenario": s.name,
        "what": s.what,
        "rows": s.rows,
        "records": org_size,
        "matched": matched_records,
        "changed": stats.records_written,
        "latency_ms": s.latency_ms,
        "api_calls": {
            "total": total,
            "query": query,
            "write": write,
            "bulk": bulk_query + bulk_ingest,
            "bulk_query": bulk_query,
            "bulk_ingest": bulk_ingest,
            "describe": describe,
            "walkme_sf_counted": record["api_calls"],
        },
        "lower_bound": {
            "total": bound.total,
            "describe": 1,
            "match": bound.matching,
            "write": bound.write,
        },
        "wall_s": round3(wall_s),
        "cpu_s": round3(cpu),
        "user_s": round3(user_s),
        "sys_s": round3(sys_s),
        "rows_per_cpu_s": rows_per_cpu_s.round(),
        "peak_rss_mb": round3(rss_mb),
        "exit_code": exit_code,
        "counts": record["counts"],
        "setup_s": round3(setup_secs),
        "targets": targets,
    }))
}

#[allow(clippy::needless_pass_by_value)] // called with json!(…) temporaries
fn target(pass: bool, asserted: bool, limit: Value) -> Value {
    json!({ "pass": pass, "limit": limit, "asserted": asserted })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

struct Bound {
    total: u64,
    matching: u64,
    write: u64,
}

/// The fewest API calls the scenario can take (research §10): one describe; matching by the
/// cheaper of `IN` queries (every key's URL-encoded literal packed into 16,384-byte URIs) and a
/// Bulk query scan (create, one poll, ⌈R / maxRecords⌉ result pages); writing by the cheaper of
/// ⌈C / 200⌉ collections requests and one Bulk ingest job (create, upload, close, one poll, two
/// result sets). The login's token request is not an API call.
fn lower_bound(s: &Scenario, plan: &[RowPlan], records: u64, changes: u64) -> Bound {
    let (object, key, fields) = match s.org {
        Org::Leads(_) => (
            "Lead",
            "Email",
            "WalkMe_Last_Login__c, WalkMe_Logins_Last_30_Days__c, IsConverted".to_owned(),
        ),
        Org::Wide(_) => (
            data::WIDE_OBJECT,
            "Key__c",
            data::wide_field_names().join(", "),
        ),
    };
    let path = "/services/data/v64.0/query?q=";
    let prefix = format!("SELECT Id, {key}, {fields} FROM {object} WHERE {key} IN (");
    let budget = URI_LIMIT - path.len() - encoded_len(&prefix) - encoded_len(")");
    let mut key_bytes = 0usize;
    let mut keys = 0u64;
    for (r, row) in plan.iter().enumerate() {
        let k = row
            .record
            .map_or_else(|| data::unmatched_email(r), data::lead_email);
        key_bytes += encoded_len(&format!("'{k}',"));
        keys += 1;
    }
    let rest_match = if keys == 0 {
        0
    } else {
        key_bytes.div_ceil(budget) as u64
    };
    let bulk_match = 2 + records.div_ceil(BULK_PAGE_RECORDS).max(1);
    let matching = rest_match.min(bulk_match);
    let write = if changes == 0 {
        0
    } else {
        let rest = changes.div_ceil(COLLECTION_RECORDS);
        let bulk = 6;
        if changes > BULK_WRITE_THRESHOLD {
            rest.min(bulk)
        } else {
            rest
        }
    };
    Bound {
        total: 1 + matching + write,
        matching,
        write,
    }
}

fn encoded_len(text: &str) -> usize {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._*".contains(&b) || b == b' ' {
                1
            } else {
                3
            }
        })
        .sum()
}

fn config_text(org: Org, url: &str, report: &Path) -> String {
    let report = report.display().to_string().replace('\\', "\\\\");
    let mut out = format!(
        "[environments.bench]\nkind = \"sandbox\"\nclient_id = \"bench-app\"\nlogin_url = \"{url}\"\n\n\
         [integrations.bench]\nenvironment = \"bench\"\n"
    );
    match org {
        Org::Leads(_) => {
            let _ = write!(
                out,
                "object = \"Lead\"\nreport = {{ name = \"Logins Review\", path = \"{report}\" }}\n\
                 key = {{ report = \"User ID\", salesforce = \"Email\" }}\n\n\
                 [[integrations.bench.fields]]\nreport = \"Last Login\"\nsalesforce = \"WalkMe_Last_Login__c\"\n\n\
                 [[integrations.bench.fields]]\nreport = \"Logins Last 30 Days\"\nsalesforce = \"WalkMe_Logins_Last_30_Days__c\"\n"
            );
        }
        Org::Wide(_) => {
            let _ = write!(
                out,
                "object = \"{}\"\nreport = {{ name = \"Wide\", path = \"{report}\" }}\n\
                 key = {{ report = \"Key\", salesforce = \"Key__c\" }}\n",
                data::WIDE_OBJECT
            );
            for name in data::wide_field_names() {
                let _ = write!(
                    out,
                    "\n[[integrations.bench.fields]]\nreport = \"{}\"\nsalesforce = \"{name}\"\n",
                    name.trim_end_matches("__c")
                );
            }
        }
    }
    out
}
