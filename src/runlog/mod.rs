//! The run log (SPEC §6): one directory per run under `runs/<integration>/<run-id>/` with
//! `run.json`, the outcome CSVs and `log.txt`; the per-integration lock; listing and retention.
//! It owns the state directory's layout and nothing else.

mod lock;
mod record;
mod writer;

pub use lock::{Lock, LockError};
pub use record::{Counts, RecordCounts, ReportRef, RunRecord, Status};
pub use writer::{RunDir, StagedChanges, Start};

use std::path::{Path, PathBuf};

/// Runs kept per integration (SPEC §6).
pub const KEEP_RUNS: usize = 100;

/// `runs/<integration>` below the state directory.
#[must_use]
pub fn integration_dir(state_dir: &Path, integration: &str) -> PathBuf {
    state_dir.join("runs").join(integration)
}

/// The directories of the integrations that have runs (none before the first run).
pub fn integration_dirs(state_dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    match std::fs::read_dir(state_dir.join("runs")) {
        Ok(entries) => Ok(entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Every recorded run, newest first; `integration` narrows to one. Unreadable run
/// directories (a run killed before its first `run.json`) are left out.
pub fn list(state_dir: &Path, integration: Option<&str>) -> std::io::Result<Vec<RunRecord>> {
    let mut out = Vec::new();
    let integrations = match integration {
        Some(name) => vec![integration_dir(state_dir, name)],
        None => integration_dirs(state_dir)?,
    };
    for dir in integrations {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            if let Ok(record) = RunRecord::read(&entry.path().join("run.json")) {
                out.push(record);
            }
        }
    }
    // Run ids start with their UTC start time, so they sort by time.
    out.sort_by(|a, b| {
        b.started_at
            .cmp(&a.started_at)
            .then_with(|| b.run_id.cmp(&a.run_id))
    });
    Ok(out)
}

/// The directory of a run, by id, in any integration.
pub fn find(state_dir: &Path, run_id: &str) -> Option<PathBuf> {
    if run_id.is_empty() || run_id.contains(['/', '\\']) || run_id.starts_with('.') {
        return None;
    }
    let runs = state_dir.join("runs");
    std::fs::read_dir(runs)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join(run_id))
        .find(|p| p.join("run.json").is_file())
}

/// Delete the oldest runs of an integration beyond [`KEEP_RUNS`].
pub fn prune(state_dir: &Path, integration: &str) -> std::io::Result<()> {
    let dir = integration_dir(state_dir, integration);
    let mut ids: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    ids.sort();
    let excess = ids.len().saturating_sub(KEEP_RUNS);
    for id in &ids[..excess] {
        std::fs::remove_dir_all(dir.join(id))?;
    }
    Ok(())
}
