//! The content-addressed build cache: `build/<stage>/<key>/`.
//!
//! A key is the SHA-256 of everything an output depends on: the stage's
//! name and version, its parameters and the digests of its inputs. An
//! entry folder exists only when complete, because it is built under a
//! temporary name and renamed into place.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::atomic::{remove_stale_temps, sync_parent, temp_sibling};

/// A cache key: 64 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key as hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Builds a [`CacheKey`] from labelled parts; the labels and lengths are
/// hashed too, so no two different part lists give the same key.
pub struct KeyBuilder(Sha256);

impl KeyBuilder {
    /// Starts a key for `stage` at `version`.
    pub fn new(stage: &str, version: u32) -> KeyBuilder {
        let mut builder = KeyBuilder(Sha256::new());
        builder.add("stage", stage.as_bytes());
        builder.add("version", &version.to_le_bytes());
        builder
    }

    /// Adds one labelled part.
    pub fn add(&mut self, label: &str, value: &[u8]) -> &mut Self {
        for part in [label.as_bytes(), value] {
            self.0.update((part.len() as u64).to_le_bytes());
            self.0.update(part);
        }
        self
    }

    /// The finished key.
    pub fn finish(&self) -> CacheKey {
        CacheKey(hex::encode(self.0.clone().finalize()))
    }
}

/// The build cache under an archive's `build/` folder.
#[derive(Debug, Clone)]
pub struct BuildCache {
    root: PathBuf,
}

impl BuildCache {
    /// The cache rooted at `root` (usually `<archive>/build`).
    pub fn new(root: PathBuf) -> BuildCache {
        BuildCache { root }
    }

    /// The folder of a finished entry (it may not exist).
    pub fn entry(&self, stage: &str, key: &CacheKey) -> PathBuf {
        self.root.join(stage).join(key.as_str())
    }

    /// True when the entry is complete.
    pub fn contains(&self, stage: &str, key: &CacheKey) -> bool {
        self.entry(stage, key).is_dir()
    }

    /// Starts writing an entry in a fresh temporary folder.
    pub fn begin(&self, stage: &str, key: &CacheKey) -> Result<PendingEntry> {
        let target = self.entry(stage, key);
        let temp = temp_sibling(&target);
        fs::create_dir_all(&temp).with_context(|| format!("creating {}", temp.display()))?;
        Ok(PendingEntry { temp, target, committed: false })
    }

    /// Removes temporaries of killed builds in every stage folder.
    /// Call only while holding the archive lock.
    pub fn remove_stale_temps(&self) -> Result<usize> {
        let mut removed = remove_stale_temps(&self.root)?;
        if let Ok(stages) = fs::read_dir(&self.root) {
            for stage in stages.flatten() {
                if stage.file_type()?.is_dir() {
                    removed += remove_stale_temps(&stage.path())?;
                }
            }
        }
        Ok(removed)
    }
}

/// A cache entry being written; dropped without [`commit`](Self::commit),
/// its temporary folder is removed.
#[derive(Debug)]
pub struct PendingEntry {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl PendingEntry {
    /// The temporary folder to write outputs into.
    pub fn dir(&self) -> &Path {
        &self.temp
    }

    /// Renames the finished folder into place and returns its final path.
    /// When a parallel build of the same key finished first, its entry is
    /// kept and this one dropped: equal keys mean equal content.
    pub fn commit(mut self) -> Result<PathBuf> {
        match fs::rename(&self.temp, &self.target) {
            Ok(()) => {
                sync_parent(&self.target).with_context(|| format!("finishing {}", self.target.display()))?;
                self.committed = true;
            }
            Err(_) if self.target.is_dir() => {}
            Err(e) => return Err(e).with_context(|| format!("finishing {}", self.target.display())),
        }
        Ok(self.target.clone())
    }
}

impl Drop for PendingEntry {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_every_part_and_its_boundaries() {
        let key = |parts: &[(&str, &[u8])]| {
            let mut b = KeyBuilder::new("thumbs", 1);
            for (l, v) in parts {
                b.add(l, v);
            }
            b.finish()
        };
        assert_eq!(key(&[("a", b"1")]), key(&[("a", b"1")]));
        assert_ne!(key(&[("a", b"1")]), key(&[("a", b"2")]));
        assert_ne!(key(&[("a", b"12")]), key(&[("a", b"1"), ("", b"2")]));
        assert_ne!(KeyBuilder::new("thumbs", 1).finish(), KeyBuilder::new("thumbs", 2).finish());
    }

    /// An empty cache in a temporary folder and a key of stage "s".
    fn fresh_cache() -> (tempfile::TempDir, BuildCache, CacheKey) {
        let dir = tempfile::tempdir().unwrap();
        let cache = BuildCache::new(dir.path().to_path_buf());
        (dir, cache, KeyBuilder::new("s", 1).finish())
    }

    #[test]
    fn entries_appear_only_when_committed() {
        let (dir, cache, key) = fresh_cache();
        {
            let pending = cache.begin("s", &key).unwrap();
            fs::write(pending.dir().join("out.txt"), "x").unwrap();
        }
        assert!(!cache.contains("s", &key));
        assert_eq!(fs::read_dir(dir.path().join("s")).unwrap().count(), 0);
        let pending = cache.begin("s", &key).unwrap();
        fs::write(pending.dir().join("out.txt"), "x").unwrap();
        let done = pending.commit().unwrap();
        assert!(cache.contains("s", &key));
        assert_eq!(fs::read_to_string(done.join("out.txt")).unwrap(), "x");
    }

    #[test]
    fn the_same_entry_built_twice_at_once_is_kept_once() {
        let (dir, cache, key) = fresh_cache();
        let first = cache.begin("s", &key).unwrap();
        let second = cache.begin("s", &key).unwrap();
        for pending in [&first, &second] {
            fs::write(pending.dir().join("out.txt"), "x").unwrap();
        }
        let done = first.commit().unwrap();
        assert_eq!(second.commit().unwrap(), done);
        assert_eq!(fs::read_to_string(done.join("out.txt")).unwrap(), "x");
        assert_eq!(fs::read_dir(dir.path().join("s")).unwrap().count(), 1);
    }

    #[test]
    fn stale_temporaries_are_cleaned() {
        let (dir, cache, key) = fresh_cache();
        let dead = dir.path().join("s").join(format!("{}4000000000-0-abc", crate::atomic::TEMP_PREFIX));
        fs::create_dir_all(&dead).unwrap();
        let live = cache.begin("s", &key).unwrap();
        assert_eq!(cache.remove_stale_temps().unwrap(), 1);
        assert!(live.dir().exists() && !dead.exists());
    }
}
