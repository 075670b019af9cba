//! One run per integration at a time: an OS file lock on `runs/<integration>/.lock`. The kernel
//! drops the lock when its process dies, so a lock left by a killed run is never stale; the file's
//! text only names the holder for the message.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::Path;

/// A held integration lock; released on drop.
#[derive(Debug)]
pub struct Lock {
    file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("integration `{integration}` is already running ({holder})")]
    Busy { integration: String, holder: String },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl Lock {
    /// Take the lock of an integration; with `wait`, block until it is free.
    pub fn acquire(dir: &Path, integration: &str, wait: bool) -> Result<Self, LockError> {
        let path = dir.join(".lock");
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) if wait => file.lock().map_err(io)?,
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let holder = if holder.is_empty() {
                    "holder unknown".to_owned()
                } else {
                    holder.to_owned()
                };
                return Err(LockError::Busy {
                    integration: integration.to_owned(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let started = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "pid {}, started {started}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(Self { file })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let first = Lock::acquire(dir.path(), "a", false).unwrap();
        let err = Lock::acquire(dir.path(), "a", false).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("integration `a` is already running (pid "),
            "{text}"
        );
        drop(first);
        Lock::acquire(dir.path(), "a", false).unwrap();
    }
}
