//! Writing one run's directory. Every file exists from the start (CSVs with their headers), and
//! `run.json` first says the run did not finish, so a run killed at any point still leaves an
//! honest record; the final `run.json` replaces it atomically.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};

use super::record::{RunRecord, Status};
use super::{Counts, RecordCounts, ReportRef};

type Csv = csv::Writer<BufWriter<File>>;

/// One CSV line (`\n`-terminated), each field quoted only when it must be.
fn csv_line(
    out: &mut impl std::io::Write,
    line: &mut Vec<u8>,
    fields: &[&str],
) -> std::io::Result<()> {
    line.clear();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        crate::csvtext::push_cell(line, field);
    }
    line.push(b'\n');
    out.write_all(line)
}

/// An open run directory.
pub struct RunDir {
    path: PathBuf,
    pub record: RunRecord,
    started: DateTime<Utc>,
    rejected: Csv,
    skipped: Csv,
    unmatched: Csv,
    failed: Csv,
    /// Written line by line without the `csv` crate: a wide run writes millions of lines here
    /// and its writer was ~15 % of the CPU (issue 6).
    changes: BufWriter<File>,
    /// Whether `changes.csv` has a line past its header.
    changes_written: bool,
    /// The `changes.csv` line being written, reused.
    line: Vec<u8>,
    log: BufWriter<File>,
}

const CHANGES_HEADER: &[u8] = b"id,key,field,old,new\n";

/// `changes.csv` lines written ahead ([`RunDir::stage_changes`]).
pub struct StagedChanges {
    file: tempfile::NamedTempFile,
    /// Lines not yet written, appended to in place: a wide run stages millions of lines, and
    /// building each record's lines elsewhere to copy them in here cost a copy of every byte
    /// (issue 6).
    buf: Vec<u8>,
}

/// How much [`StagedChanges`] holds before it writes: writes of 1 MiB cost the kernel less
/// per byte than writes of 64 KiB (`dd` of 159 MB on ext4 here: 36 ms of CPU against 43).
const STAGE_WRITE: usize = 1 << 20;

impl StagedChanges {
    /// Append whole lines: `write` appends them to the buffer given, in the form
    /// [`RunDir::change_lines`] takes.
    pub fn append(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> std::io::Result<()> {
        write(&mut self.buf);
        if self.buf.len() >= STAGE_WRITE {
            self.file.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Write what the buffer holds.
    fn finish(mut self) -> std::io::Result<tempfile::NamedTempFile> {
        self.file.write_all(&self.buf)?;
        Ok(self.file)
    }
}

impl std::fmt::Debug for RunDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunDir")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// What the run was about, known at its start.
#[derive(Debug, Clone)]
pub struct Start<'a> {
    pub integration: &'a str,
    pub environment: &'a str,
    pub object: &'a str,
    pub report_name: &'a str,
    pub dry_run: bool,
}

impl RunDir {
    /// Create `runs/<integration>/<run-id>/` (owner-only: it holds customer e-mails).
    pub fn create(integration_dir: &Path, start: &Start<'_>) -> std::io::Result<Self> {
        let started = Utc::now();
        let run_id = format!(
            "{}-{:04x}",
            started
                .format("%Y%m%dT%H%M%S%.3fZ")
                .to_string()
                .replace('.', ""),
            rand::random::<u16>()
        );
        let path = integration_dir.join(&run_id);
        create_private_dir(integration_dir)?;
        create_private_dir(&path)?;
        let csv = |name: &str, header: &[&str]| -> std::io::Result<Csv> {
            let mut w = csv::Writer::from_writer(BufWriter::new(File::create(path.join(name))?));
            w.write_record(header)?;
            w.flush()?;
            Ok(w)
        };
        let record = RunRecord {
            schema_version: 1,
            run_id,
            integration: start.integration.to_owned(),
            environment: start.environment.to_owned(),
            report: ReportRef {
                name: start.report_name.to_owned(),
                file: String::new(),
            },
            object: start.object.to_owned(),
            started_at: rfc3339(started),
            finished_at: None,
            duration_ms: None,
            status: Status::Failed,
            dry_run: start.dry_run,
            error: Some("the run did not finish (it was killed or crashed)".to_owned()),
            api_calls: 0,
            counts: Counts::default(),
            records: RecordCounts::default(),
            reverts: None,
        };
        let dir = Self {
            rejected: csv("rejected.csv", &["line", "key", "reason"])?,
            skipped: csv("skipped.csv", &["line", "key", "reason"])?,
            unmatched: csv("unmatched.csv", &["line", "key"])?,
            failed: csv(
                "failed.csv",
                &["id", "key", "status_code", "message", "fields"],
            )?,
            changes: {
                let mut w =
                    BufWriter::with_capacity(64 * 1024, File::create(path.join("changes.csv"))?);
                w.write_all(CHANGES_HEADER)?;
                w.flush()?;
                w
            },
            changes_written: false,
            line: Vec::new(),
            log: BufWriter::new(File::create(path.join("log.txt"))?),
            path,
            record,
            started,
        };
        dir.write_record()?;
        Ok(dir)
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    #[must_use]
    pub fn run_id(&self) -> &str {
        &self.record.run_id
    }

    /// A line of `log.txt`, stamped with UTC time.
    pub fn log(&mut self, line: &str) {
        let now = Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let _ = writeln!(self.log, "{now} {line}");
    }

    pub fn rejected(&mut self, line: u64, key: &str, reason: &str) -> std::io::Result<()> {
        self.rejected
            .write_record([line.to_string().as_str(), key, reason])?;
        Ok(())
    }

    pub fn skipped(&mut self, line: u64, key: &str, reason: &str) -> std::io::Result<()> {
        self.skipped
            .write_record([line.to_string().as_str(), key, reason])?;
        Ok(())
    }

    pub fn unmatched(&mut self, line: u64, key: &str) -> std::io::Result<()> {
        self.unmatched
            .write_record([line.to_string().as_str(), key])?;
        Ok(())
    }

    pub fn failed(
        &mut self,
        id: &str,
        key: &str,
        code: &str,
        message: &str,
        fields: &str,
    ) -> std::io::Result<()> {
        self.failed.write_record([id, key, code, message, fields])?;
        Ok(())
    }

    /// One field Salesforce accepted (or, in a dry run, would be sent).
    pub fn change(
        &mut self,
        id: &str,
        key: &str,
        field: &str,
        old: &str,
        new: &str,
    ) -> std::io::Result<()> {
        self.changes_written = true;
        csv_line(
            &mut self.changes,
            &mut self.line,
            &[id, key, field, old, new],
        )
    }

    /// Append whole `changes.csv` lines (`id,key,field,old,new`, each cell already quoted where
    /// it must be, each line ending in `\n`): the sync's fast path.
    pub fn change_lines(&mut self, lines: &[u8]) -> std::io::Result<()> {
        self.changes_written = true;
        self.changes.write_all(lines)
    }

    /// A file beside `changes.csv` for lines written ahead of Salesforce's answer (a Bulk job's,
    /// as its upload is written, so each new value is written as text once; issue 6). It
    /// becomes `changes.csv` through [`RunDir::commit_staged`] when every record was accepted;
    /// dropped, it is deleted.
    pub fn stage_changes(&self) -> std::io::Result<StagedChanges> {
        let file = tempfile::Builder::new()
            .prefix(".changes-")
            .suffix(".staged")
            .tempfile_in(&self.path)?;
        let mut buf = Vec::with_capacity(STAGE_WRITE + 64 * 1024);
        buf.extend_from_slice(CHANGES_HEADER);
        Ok(StagedChanges { file, buf })
    }

    /// Make the staged lines the run's `changes.csv`, if it holds no line of its own yet; false,
    /// and `changes.csv` as it was, if it does or the staged file cannot take its place. An
    /// error: `changes.csv` could not be opened again, or, the rename having failed, made
    /// again (two I/O failures in a row); the run log is then broken and the run says so.
    ///
    /// The header-only `changes.csv` is removed first and the staged file renamed to its name:
    /// renamed over an existing file, ext4 writes the staged file's data out before the rename
    /// returns (its `auto_da_alloc` safeguard), which took ~0.1 s for 2 million lines. A kill
    /// between the two steps leaves the lines in the `.staged` file beside it.
    pub fn commit_staged(&mut self, staged: StagedChanges) -> std::io::Result<bool> {
        if self.changes_written {
            return Ok(false);
        }
        let path = self.path.join("changes.csv");
        // Until `changes.csv` is removed, a failure leaves everything as it was.
        let Ok(file) = staged.finish() else {
            return Ok(false);
        };
        // The staged file (created owner-only) takes the header-only file's permissions.
        let kept =
            std::fs::metadata(&path).and_then(|m| file.as_file().set_permissions(m.permissions()));
        if kept.is_err() || self.changes.flush().is_err() || std::fs::remove_file(&path).is_err() {
            return Ok(false);
        }
        let committed = file.persist(&path).is_ok();
        if !committed {
            // Back to a header-only file, as it was.
            std::fs::write(&path, CHANGES_HEADER)?;
        }
        self.changes = BufWriter::with_capacity(
            64 * 1024,
            std::fs::OpenOptions::new().append(true).open(&path)?,
        );
        self.changes_written = committed;
        Ok(committed)
    }

    /// Flush the CSVs and the log (after each write batch, so a kill loses little).
    pub fn flush(&mut self) -> std::io::Result<()> {
        for w in [
            &mut self.rejected,
            &mut self.skipped,
            &mut self.unmatched,
            &mut self.failed,
        ] {
            w.flush()?;
        }
        self.changes.flush()?;
        self.log.flush()
    }

    /// Record how the run ended and write the final `run.json`.
    pub fn finish(mut self, status: Status, error: Option<String>) -> std::io::Result<RunRecord> {
        let finished = Utc::now();
        self.record.status = status;
        self.record.error = error;
        self.record.finished_at = Some(rfc3339(finished));
        self.record.duration_ms =
            Some(u64::try_from((finished - self.started).num_milliseconds()).unwrap_or(0));
        let last = format!(
            "{}; {} API calls",
            self.record.outcome(),
            self.record.api_calls
        );
        self.log(&last);
        self.flush()?;
        self.write_record()?;
        Ok(self.record)
    }

    fn write_record(&self) -> std::io::Result<()> {
        let mut tmp = tempfile::NamedTempFile::new_in(&self.path)?;
        serde_json::to_writer_pretty(&mut tmp, &self.record)?;
        tmp.write_all(b"\n")?;
        tmp.persist(self.path.join("run.json"))
            .map_err(|e| e.error)?;
        Ok(())
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn create_private_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_dir_has_every_file_and_an_honest_record_from_the_start() {
        let state = tempfile::tempdir().unwrap();
        let dir = state.path().join("runs/a");
        let start = Start {
            integration: "a",
            environment: "sandbox",
            object: "Lead",
            report_name: "R",
            dry_run: false,
        };
        let mut run = RunDir::create(&dir, &start).unwrap();
        for f in [
            "run.json",
            "rejected.csv",
            "skipped.csv",
            "unmatched.csv",
            "failed.csv",
            "changes.csv",
            "log.txt",
        ] {
            assert!(run.path().join(f).is_file(), "{f}");
        }
        let early = RunRecord::read(&run.path().join("run.json")).unwrap();
        assert_eq!(early.status, Status::Failed);
        assert!(early.error.unwrap().contains("did not finish"));
        run.unmatched(3, "x@example.com").unwrap();
        run.record.counts.rows = 1;
        run.record.counts.unmatched = 1;
        let path = run.path().to_path_buf();
        let record = run.finish(Status::Completed, None).unwrap();
        assert_eq!(RunRecord::read(&path.join("run.json")).unwrap(), record);
        assert_eq!(
            std::fs::read_to_string(path.join("unmatched.csv")).unwrap(),
            "line,key\n3,x@example.com\n"
        );
        assert_eq!(crate::runlog::list(state.path(), None).unwrap().len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
    }
}
