//! An exclusive lock on an archive, so that two processes that change it
//! (ingest, build) never run at once. The operating system drops the lock
//! when the process ends, even when it is killed.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Holds the archive lock until dropped.
#[derive(Debug)]
pub struct ArchiveLock {
    _file: File,
}

impl ArchiveLock {
    /// Takes the lock file at `path` or fails at once with a message that
    /// says what to do.
    pub fn acquire(path: &Path, purpose: &str) -> Result<ArchiveLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("opening the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(ArchiveLock { _file: file }),
            Err(TryLockError::WouldBlock) => bail!(
                "another heritage process is working on this archive, so {purpose} cannot start: wait for it to finish and run the command again"
            ),
            Err(TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_fails_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = ArchiveLock::acquire(&path, "build").unwrap();
        let err = ArchiveLock::acquire(&path, "build").unwrap_err();
        assert!(err.to_string().contains("another heritage process"));
        drop(first);
        ArchiveLock::acquire(&path, "build").unwrap();
    }
}
