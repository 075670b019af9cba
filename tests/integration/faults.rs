//! The fault matrix (issue 7 item 1): the real binary against the emulator's fault injection.
//! Each case asserts the exit code, `run.json`'s status and counts (adding up to the rows), that
//! `changes.csv` names exactly what Salesforce now holds, and the emulator's final records
//! against the intended state. RELIABILITY.md lists the matrix with its results.

use sf_emulator::{BulkOutcome, Burst, EndpointKind, Faults, RowLock};

use crate::reliability::{LoadEnv, full, wait_until};

#[allow(clippy::unnecessary_wraps)] // `Faults` takes its bursts as options
fn burst(kind: EndpointKind, count: u32) -> Option<Burst> {
    Some(Burst {
        kind: Some(kind),
        count,
    })
}

/// A run that ends completed and writes everything, despite `faults`.
#[track_caller]
fn survives(n: usize, api: &str, faults: Faults) -> LoadEnv {
    let env = LoadEnv::new(n, api, faults);
    let run = env.run();
    run.assert_code(0);
    let (record, dir) = env.last();
    assert_eq!(record["status"], "completed", "{record}");
    let written = env.assert_subset();
    env.assert_converged();
    env.assert_recorded(&record, &dir, &written);
    assert_eq!(record["counts"]["unmatched"], 3);
    assert_eq!(record["counts"]["unchanged"], env.n.div_ceil(10) as u64);
    assert!(env.emu.stats().faults_injected > 0, "no fault was injected");
    env
}

#[test]
fn bursts_of_503_and_500_on_query_and_collections_are_retried() {
    survives(
        450,
        "rest",
        Faults {
            status_503: burst(EndpointKind::Query, 2),
            status_500: burst(EndpointKind::Collections, 2),
            ..Faults::default()
        },
    );
}

#[test]
fn bursts_of_503_and_500_on_bulk_endpoints_are_retried() {
    let env = survives(
        300,
        "bulk",
        Faults {
            status_503: burst(EndpointKind::BulkIngestUpload, 1),
            status_500: burst(EndpointKind::BulkIngestResults, 1),
            ..Faults::default()
        },
    );
    assert_eq!(env.emu.stats().calls_of(EndpointKind::BulkIngestCreate), 1);
    if full() {
        survives(
            300,
            "bulk",
            Faults {
                status_503: burst(EndpointKind::BulkIngestCreate, 2),
                status_500: burst(EndpointKind::BulkIngestInfo, 2),
                ..Faults::default()
            },
        );
    }
}

#[test]
fn a_503_burst_on_the_token_endpoint_is_retried() {
    let env = survives(
        120,
        "rest",
        Faults {
            status_503: burst(EndpointKind::Token, 2),
            ..Faults::default()
        },
    );
    assert_eq!(env.emu.stats().calls_of(EndpointKind::Token), 3);
}

#[test]
fn dropped_connections_are_retried() {
    survives(
        450,
        "rest",
        Faults {
            drop_connection: burst(EndpointKind::Collections, 2),
            ..Faults::default()
        },
    );
    survives(
        120,
        "bulk",
        Faults {
            drop_connection: burst(EndpointKind::BulkIngestUpload, 1),
            ..Faults::default()
        },
    );
    if full() {
        survives(
            450,
            "rest",
            Faults {
                drop_connection: burst(EndpointKind::Query, 3),
                ..Faults::default()
            },
        );
    }
}

#[test]
fn concurrency_limit_is_retried() {
    survives(
        450,
        "rest",
        Faults {
            concurrency_limit: burst(EndpointKind::Collections, 2),
            ..Faults::default()
        },
    );
}

/// Ids of the Leads `user{i}` for the given indexes.
fn ids(env: &LoadEnv, which: &[usize]) -> Vec<String> {
    which
        .iter()
        .map(|&i| {
            env.index
                .iter()
                .find(|(_, j)| **j == i)
                .map(|(id, _)| id.clone())
                .expect("Lead")
        })
        .collect()
}

#[test]
fn locked_rows_are_written_once_freed() {
    for api in ["rest", "bulk"] {
        let env = LoadEnv::new(60, api, Faults::default());
        let locked = ids(&env, &[1, 2]);
        env.emu.set_faults(Faults {
            lock_rows: vec![
                // Freed after one retry …
                RowLock {
                    id: locked[0].clone(),
                    attempts: Some(1),
                },
                // … and after many.
                RowLock {
                    id: locked[1].clone(),
                    attempts: Some(if full() { 4 } else { 3 }),
                },
            ],
            ..Faults::default()
        });
        let run = env.run();
        run.assert_code(0);
        let (record, dir) = env.last();
        assert_eq!(record["status"], "completed", "{api}: {record}");
        env.assert_converged();
        env.assert_recorded(&record, &dir, &env.assert_subset());
        assert!(env.emu.stats().faults_injected >= 2, "{api}");
    }
}

/// Fault cases with the run spread out by latency, so the test can act during the write.
fn slow_env(n: usize, api: &str, latency_ms: u64) -> LoadEnv {
    LoadEnv::new(
        n,
        api,
        Faults {
            latency_ms,
            ..Faults::default()
        },
    )
}

#[test]
fn an_access_token_expired_during_the_write_is_renewed_once() {
    let env = slow_env(1000, "rest", 150);
    let child = env.spawn();
    wait_until(60, "the first write", || {
        env.emu.stats().calls_of(EndpointKind::Collections) > 0
    });
    let tokens = env.emu.stats().tokens_issued;
    env.emu.expire_tokens();
    let run = crate::support::Run::from(child.wait_with_output().expect("wait"));
    run.assert_code(0);
    let (record, dir) = env.last();
    assert_eq!(record["status"], "completed", "{record}");
    env.assert_converged();
    env.assert_recorded(&record, &dir, &env.assert_subset());
    assert_eq!(env.emu.stats().tokens_issued, tokens + 1, "one renewal");
}

/// Revoke the refresh token and the access tokens issued from it, as the OAuth revoke endpoint
/// does (research §1.8) — in-process, so it lands while the write requests are in flight.
fn revoke(env: &LoadEnv) {
    let mut g = env.emu.shared().lock();
    assert!(g.refresh.remove(&env.token).is_some(), "the refresh token");
    g.access.clear();
}

#[test]
fn a_refresh_token_revoked_mid_run_exits_3_with_a_subset_written() {
    let env = slow_env(1200, "rest", 150);
    let child = env.spawn();
    wait_until(60, "the first write", || {
        env.emu.stats().records_written > 0
    });
    revoke(&env);
    let run = crate::support::Run::from(child.wait_with_output().expect("wait"));
    run.assert_code(3);
    assert!(run.stderr.contains("walkme-sf login"), "{}", run.stderr);
    let (record, dir) = env.last();
    assert_eq!(record["status"], "failed", "{record}");
    assert!(record["counts"]["aborted"].as_u64() > Some(0), "{record}");
    let written = env.assert_subset();
    assert!(!written.is_empty() && (written.len() as u64) < env.to_change());
    env.assert_recorded(&record, &dir, &written);
}

#[test]
fn the_daily_limit_stops_cleanly_and_the_concurrency_limit_does_not() {
    let env = slow_env(1200, "rest", 150);
    let child = env.spawn();
    wait_until(60, "the first write", || {
        env.emu.stats().records_written > 0
    });
    env.emu.set_api_usage(env.emu.stats().api_max);
    let run = crate::support::Run::from(child.wait_with_output().expect("wait"));
    run.assert_code(1);
    assert!(run.stderr.contains("TotalRequests"), "{}", run.stderr);
    let (record, dir) = env.last();
    assert_eq!(record["status"], "failed", "{record}");
    let written = env.assert_subset();
    assert!(!written.is_empty() && (written.len() as u64) < env.to_change());
    // Nothing half-recorded: changes.csv and the counts name exactly what was written; the
    // rest is aborted.
    env.assert_recorded(&record, &dir, &written);
    let c = &record["counts"];
    assert_eq!(
        c["aborted"].as_u64(),
        Some(env.to_change() - written.len() as u64),
        "{record}"
    );
    // The next day the same run completes it.
    env.emu.set_api_usage(0);
    env.emu.set_faults(Faults::default());
    env.run().assert_code(0);
    env.assert_converged();
}

#[test]
fn a_bulk_job_that_fails_or_is_aborted_fails_the_run_and_writes_nothing() {
    for outcome in [BulkOutcome::Failed, BulkOutcome::Aborted] {
        let env = LoadEnv::new(
            80,
            "bulk",
            Faults {
                bulk_outcome: outcome,
                ..Faults::default()
            },
        );
        let run = env.run();
        run.assert_code(1);
        let (record, dir) = env.last();
        assert_eq!(record["status"], "failed", "{outcome:?}: {record}");
        assert!(
            record["error"]
                .as_str()
                .is_some_and(|e| e.contains(&format!("{outcome:?}"))),
            "{record}"
        );
        assert!(env.assert_subset().is_empty(), "{outcome:?}");
        env.assert_recorded(&record, &dir, &[]);
        assert_eq!(record["counts"]["aborted"], env.to_change(), "{record}");
        // The next run, with Bulk healthy again, converges.
        env.emu.set_faults(Faults::default());
        env.run().assert_code(0);
        env.assert_converged();
    }
}

/// An outage longer than the client's retries (1 s doubling, 5 retries: about a minute) fails
/// the run cleanly: nothing written, every planned row aborted, and the next run converges.
/// Only in the full matrix (it waits out the whole backoff).
#[test]
fn an_outage_longer_than_the_retries_fails_cleanly() {
    if !full() {
        return;
    }
    for kind in [EndpointKind::Query, EndpointKind::Collections] {
        let env = LoadEnv::new(
            250,
            "rest",
            Faults {
                status_503: burst(kind, 1000),
                ..Faults::default()
            },
        );
        let run = env.run();
        run.assert_code(1);
        let (record, dir) = env.last();
        assert_eq!(record["status"], "failed", "{kind:?}: {record}");
        assert!(env.assert_subset().is_empty(), "{kind:?}");
        env.assert_recorded(&record, &dir, &[]);
        env.emu.set_faults(Faults::default());
        env.run().assert_code(0);
        env.assert_converged();
    }
}

/// `walkme-sf run load` with one setting in its environment.
fn run_with(env: &LoadEnv, var: &str, value: &str) -> crate::support::Run {
    let out = env
        .command()
        .env(var, value)
        .args(["run", "load"])
        .output()
        .expect("run walkme-sf");
    crate::support::Run::from(out)
}

/// Bulk results that never arrive: the job is given up after `WALKME_SF_BULK_TIMEOUT`, aborted,
/// the run fails cleanly (exit 1, every planned row aborted, nothing half-recorded), and the next
/// run with a healthy Bulk API converges.
#[test]
fn a_bulk_job_that_never_completes_is_given_up_at_the_deadline() {
    let env = LoadEnv::new(
        80,
        "bulk",
        Faults {
            bulk_outcome: BulkOutcome::NeverComplete,
            ..Faults::default()
        },
    );
    let started = std::time::Instant::now();
    let run = run_with(&env, "WALKME_SF_BULK_TIMEOUT", "3");
    run.assert_code(1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "the deadline was not kept"
    );
    let (record, dir) = env.last();
    assert_eq!(record["status"], "failed", "{record}");
    assert!(
        record["error"]
            .as_str()
            .is_some_and(|e| e.contains("did not finish within")),
        "{record}"
    );
    let written = env.assert_subset();
    env.assert_recorded(&record, &dir, &written);
    env.emu.set_faults(Faults::default());
    env.run().assert_code(0);
    env.assert_converged();
}

/// A Salesforce slower than the client's request timeout (`WALKME_SF_HTTP_TIMEOUT`): the run
/// gives up cleanly instead of hanging — exit 1, nothing written — and once the org answers in
/// time again the next run converges.
#[test]
fn a_response_slower_than_the_client_timeout_fails_cleanly() {
    let env = LoadEnv::new(
        50,
        "rest",
        Faults {
            latency_ms: 2_500,
            ..Faults::default()
        },
    );
    let started = std::time::Instant::now();
    let run = run_with(&env, "WALKME_SF_HTTP_TIMEOUT", "1");
    run.assert_code(1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(90),
        "the timeout was not kept"
    );
    assert!(run.stderr.contains("could not reach"), "{}", run.stderr);
    assert!(env.assert_subset().is_empty());
    env.emu.set_faults(Faults::default());
    env.run().assert_code(0);
    env.assert_converged();
}
