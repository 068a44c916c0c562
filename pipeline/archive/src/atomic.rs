//! Atomic writes: every file and folder appears complete or not at all.
//!
//! Data goes to a temporary sibling, is flushed to disk, and is renamed
//! into place; the parent folder is then synced so the rename survives a
//! power cut. A process killed at any moment leaves either the old
//! version or the new one, plus at worst a temporary that the next run
//! removes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Prefix of every temporary file or folder heritage writes.
pub const TEMP_PREFIX: &str = ".heritage-tmp-";

/// A fresh temporary path beside `target`, unique within this process
/// and across processes (it carries the process id).
pub fn temp_sibling(target: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let short: String = name.chars().take(40).collect();
    let dir = target.parent().unwrap_or(Path::new("."));
    dir.join(format!("{TEMP_PREFIX}{}-{n}-{short}", std::process::id()))
}

/// True for names made by [`temp_sibling`].
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX)
}

/// Writes `bytes` to `target` atomically, creating parent folders.
pub fn write_atomic(target: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(target, |file| file.write_all(bytes))
}

/// Writes `target` atomically with a callback that fills the file.
pub fn write_atomic_with(target: &Path, fill: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent)?;
    }
    let temp = temp_sibling(target);
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&temp)?;
        fill(&mut file)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, target)?;
        sync_parent(target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Renames a finished temporary folder `temp` to `target`, replacing an
/// older `target` if there is one, and syncs the parent folder.
pub fn commit_dir(temp: &Path, target: &Path) -> io::Result<()> {
    if target.exists() {
        let old = temp_sibling(target);
        fs::rename(target, &old)?;
        fs::rename(temp, target)?;
        fs::remove_dir_all(&old)?;
    } else {
        fs::rename(temp, target)?;
    }
    sync_parent(target)
}

/// Flushes the folder entry of `path` (the rename that made it) to disk.
pub fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => File::open(parent)?.sync_all(),
        _ => Ok(()),
    }
}

/// The id of the process that made a temporary name, if it is one.
fn temp_owner(name: &str) -> Option<u32> {
    name.strip_prefix(TEMP_PREFIX)?.split('-').next()?.parse().ok()
}

/// True when the process that made temporary `name` is still running (on
/// Linux, where `/proc` tells), so its temporary is in use.
fn owner_is_running(name: &str) -> bool {
    temp_owner(name).is_some_and(|pid| Path::new("/proc").join(pid.to_string()).exists())
}

/// Removes temporaries left in `dir` by processes that are gone (not
/// recursive); temporaries of running processes, this one included, are
/// in use and stay. Returns how many were removed.
pub fn remove_stale_temps(dir: &Path) -> io::Result<usize> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_temp_name(&name) || owner_is_running(&name) {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            fs::remove_dir_all(&path)?;
        } else {
            fs::remove_file(&path)?;
        }
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_content_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a/b/file.txt");
        write_atomic(&target, b"one").unwrap();
        write_atomic(&target, b"two").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(target.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn failed_fill_leaves_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("file.txt");
        write_atomic(&target, b"old").unwrap();
        let err = write_atomic_with(&target, |_| Err(io::Error::other("boom")));
        assert!(err.is_err());
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn commit_dir_replaces_a_folder_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("old.txt"), "x").unwrap();
        let temp = temp_sibling(&target);
        fs::create_dir(&temp).unwrap();
        fs::write(temp.join("new.txt"), "y").unwrap();
        commit_dir(&temp, &target).unwrap();
        assert!(target.join("new.txt").exists());
        assert!(!target.join("old.txt").exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temporaries_of_running_processes_stay() {
        let dir = tempfile::tempdir().unwrap();
        let mine = temp_sibling(&dir.path().join("x"));
        fs::create_dir(&mine).unwrap();
        assert_eq!(temp_owner(&mine.file_name().unwrap().to_string_lossy()), Some(std::process::id()));
        assert_eq!(remove_stale_temps(dir.path()).unwrap(), 0);
        assert!(mine.exists());
    }

    #[test]
    fn stale_temps_are_removed_with_read_only_content() {
        let dir = tempfile::tempdir().unwrap();
        // A temporary of a process that cannot exist (pids stay far below this).
        let temp = dir.path().join(format!("{TEMP_PREFIX}4000000000-0-x"));
        fs::create_dir(&temp).unwrap();
        let inner = temp.join("ro.jpg");
        fs::write(&inner, "x").unwrap();
        let mut perms = fs::metadata(&inner).unwrap().permissions();
        perms.set_readonly(true);
        fs::set_permissions(&inner, perms).unwrap();
        fs::write(dir.path().join("keep.txt"), "k").unwrap();
        assert_eq!(remove_stale_temps(dir.path()).unwrap(), 1);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
