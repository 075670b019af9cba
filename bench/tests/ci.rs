//! The CI version of the benchmarks: S1 and a 50,000-row S2 with the debug binaries, failing on
//! an API-call regression (more than 1.5 × the research §10 lower bound), a wrong number of
//! records written, or a memory blow-up (peak RSS of walkme-sf over 45 MB for 50,000 rows: the
//! debug binary measured 22.5 MB for S1's 2,000 rows and 27 MB for this S2; the row layout before
//! issue 6's packing, at ~900 bytes a row, would take ~66 MB).
//! Times and CPU are printed, never asserted: a debug build on a shared machine says nothing
//! about them. `cargo test -p walkme-sf-bench` runs it; `scripts/test` includes it.

use std::process::Command;

#[test]
fn small_benchmarks_stay_within_their_call_and_memory_budgets() {
    let bench = env!("CARGO_BIN_EXE_walkme-sf-bench");
    let walkme_sf = std::path::Path::new(bench).with_file_name(if cfg!(windows) {
        "walkme-sf.exe"
    } else {
        "walkme-sf"
    });
    if !walkme_sf.is_file() {
        // `cargo test --workspace` (scripts/test) builds it; `-p walkme-sf-bench` alone does not.
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "walkme-sf", "--bin", "walkme-sf"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building walkme-sf failed");
    }
    let out = Command::new(bench)
        .args([
            "--only",
            "S1,S2",
            "--large",
            "50000",
            "--check",
            "--rss-limit-mb",
            "45",
        ])
        .arg("--bin")
        .arg(&walkme_sf)
        .output()
        .expect("the harness runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2, "one line per scenario");
    for line in &lines {
        for (name, t) in line["targets"].as_object().expect("targets") {
            if t["asserted"] == true {
                assert_eq!(
                    t["pass"], true,
                    "{}: target {name} failed: {line}",
                    line["scenario"]
                );
            }
        }
    }
    assert!(out.status.success(), "the harness failed: {stderr}");
}
