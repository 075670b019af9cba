//! `run.json` (SPEC §6, schema version 1).

use std::path::Path;

use serde::{Deserialize, Serialize};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Completed,
    CompletedWithErrors,
    Failed,
}

impl Status {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::CompletedWithErrors => "completed_with_errors",
            Self::Failed => "failed",
        }
    }
}

/// Report rows by outcome; they add up to `rows` (SPEC §5 step 7).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub rows: u64,
    pub rejected: u64,
    pub skipped: u64,
    pub unmatched: u64,
    pub unchanged: u64,
    pub updated: u64,
    pub failed: u64,
    pub aborted: u64,
}

impl Counts {
    /// Rows that reached an outcome so far.
    #[must_use]
    pub fn accounted(&self) -> u64 {
        self.rejected
            + self.skipped
            + self.unmatched
            + self.unchanged
            + self.updated
            + self.failed
            + self.aborted
    }

    /// Whether every row is accounted for exactly once.
    #[must_use]
    pub fn balanced(&self) -> bool {
        self.accounted() == self.rows
    }

    /// A run that stopped early: the rows it never reached are aborted (SPEC §5 step 7).
    pub fn abort_the_rest(&mut self) {
        self.aborted += self.rows.saturating_sub(self.accounted());
    }
}

/// Salesforce records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordCounts {
    pub matched: u64,
    pub updated: u64,
    pub failed: u64,
}

/// The report a run read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRef {
    pub name: String,
    /// Absolute path or URL; empty when the run stopped before locating it.
    pub file: String,
}

/// `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema_version: u32,
    pub run_id: String,
    pub integration: String,
    pub environment: String,
    pub report: ReportRef,
    pub object: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub status: Status,
    pub dry_run: bool,
    pub error: Option<String>,
    pub api_calls: u64,
    pub counts: Counts,
    pub records: RecordCounts,
    /// The run this one reverted (`walkme-sf revert`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reverts: Option<String>,
}

impl RunRecord {
    /// How the run ended, in one line: `completed: 20 rows — updated 20, unchanged 0, …`, or
    /// for a revert, what became of the changed fields it took back.
    #[must_use]
    pub fn outcome(&self) -> String {
        let c = &self.counts;
        let status = self.status.as_str();
        if self.reverts.is_some() {
            let verb = if self.dry_run {
                "would write back"
            } else {
                "wrote back"
            };
            return format!(
                "{status}: {} changed fields — {verb} {}, already old {}, edited since {}, record \
                 gone {}, rejected {}, failed {}, aborted {}",
                c.rows,
                c.updated,
                c.unchanged,
                c.skipped,
                c.unmatched,
                c.rejected,
                c.failed,
                c.aborted
            );
        }
        let verb = if self.dry_run {
            "would update"
        } else {
            "updated"
        };
        format!(
            "{status}: {} rows — {verb} {}, unchanged {}, unmatched {}, skipped {}, rejected {}, \
             failed {}, aborted {}",
            c.rows, c.updated, c.unchanged, c.unmatched, c.skipped, c.rejected, c.failed, c.aborted
        )
    }

    pub fn read(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text).map_err(std::io::Error::other)
    }
}
