//! Finding the report file a config's `path` names (SPEC §4): a plain path, or a glob whose
//! matching file modified last wins, ties broken by name (the greatest name wins, so
//! `report-2024-03-24.csv` beats `report-2024-03-23.csv` when both were copied in one second).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Why no report file was found (exit 2, nothing written).
#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    #[error("no file matches {pattern:?}")]
    NoMatch { pattern: String },
    #[error("the report {path:?} does not exist")]
    NotFound { path: String },
    #[error("the report {path:?} is not a file")]
    NotAFile { path: String },
    #[error("{pattern:?} is not a valid glob pattern: {reason}")]
    BadPattern { pattern: String, reason: String },
    #[error("cannot read {path:?}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// The report file for `pattern`. A path naming an existing file is taken as is, even when it
/// holds glob characters (`report [1].csv`).
pub fn locate(pattern: &Path) -> Result<PathBuf, LocateError> {
    let shown = pattern.display().to_string();
    if pattern.is_file() {
        return Ok(pattern.to_owned());
    }
    let Some(text) = pattern.to_str().filter(|t| is_glob(t)) else {
        return Err(if pattern.exists() {
            LocateError::NotAFile { path: shown }
        } else {
            LocateError::NotFound { path: shown }
        });
    };
    let entries = glob::glob(text).map_err(|e| LocateError::BadPattern {
        pattern: shown.clone(),
        reason: e.msg.to_owned(),
    })?;
    let mut best: Option<(SystemTime, PathBuf)> = None;
    for entry in entries {
        // An unreadable directory on the way is not a match; the file it hides cannot be read.
        let Ok(path) = entry else { continue };
        let metadata = match std::fs::metadata(&path) {
            Ok(metadata) => metadata,
            Err(source) => {
                return Err(LocateError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        if !metadata.is_file() {
            continue;
        }
        let modified = metadata.modified().map_err(|source| LocateError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let newer = best
            .as_ref()
            .is_none_or(|(time, name)| (modified, &path) > (*time, name));
        if newer {
            best = Some((modified, path));
        }
    }
    best.map(|(_, path)| path)
        .ok_or(LocateError::NoMatch { pattern: shown })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{File, FileTimes};
    use std::time::Duration;

    fn touch(dir: &Path, name: &str, age_seconds: u64) -> PathBuf {
        let path = dir.join(name);
        let file = File::create(&path).unwrap();
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000 - age_seconds);
        file.set_times(FileTimes::new().set_modified(time)).unwrap();
        path
    }

    #[test]
    fn a_plain_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = touch(dir.path(), "report [1].csv", 0);
        assert_eq!(locate(&path).unwrap(), path);
        let missing = dir.path().join("missing.csv");
        let e = locate(&missing).unwrap_err();
        assert!(matches!(e, LocateError::NotFound { .. }));
        assert!(e.to_string().contains("missing.csv"));
        assert!(matches!(
            locate(dir.path()).unwrap_err(),
            LocateError::NotAFile { .. }
        ));
    }

    #[test]
    fn the_newest_match_wins() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "logins-a.csv", 10);
        let newest = touch(dir.path(), "logins-b.csv", 5);
        touch(dir.path(), "logins-c.csv", 20);
        touch(dir.path(), "other.csv", 0);
        std::fs::create_dir(dir.path().join("logins-dir.csv")).unwrap();
        let pattern = dir.path().join("logins-*.csv");
        assert_eq!(locate(&pattern).unwrap(), newest);
    }

    #[test]
    fn ties_go_to_the_greatest_name() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "r-2024-03-23.csv", 0);
        let last = touch(dir.path(), "r-2024-03-24.csv", 0);
        touch(dir.path(), "r-2024-03-22.csv", 0);
        assert_eq!(locate(&dir.path().join("r-*.csv")).unwrap(), last);
    }

    #[test]
    fn no_match_names_the_pattern() {
        let dir = tempfile::tempdir().unwrap();
        let pattern = dir.path().join("nothing-*.csv");
        let e = locate(&pattern).unwrap_err();
        assert!(matches!(e, LocateError::NoMatch { .. }));
        assert!(e.to_string().contains("nothing-*.csv"), "{e}");
        let bad = dir.path().join("a[.csv");
        assert!(matches!(
            locate(&bad).unwrap_err(),
            LocateError::BadPattern { .. }
        ));
    }
}
