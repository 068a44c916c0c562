//! Fixity: do the originals still match their manifest, byte for byte?

use std::path::Path;

use anyhow::Result;
use rayon::prelude::*;
use serde::Serialize;

use crate::atomic::is_temp_name;
use crate::layout::PhotosetDir;
use crate::manifest::sha256_file;

/// What a fixity check of one photo set found.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct FixityReport {
    /// The photo set id.
    pub photoset: String,
    /// Files whose digest matches the manifest.
    pub ok: usize,
    /// Listed in the manifest but not on disk.
    pub missing: Vec<String>,
    /// On disk with a digest that differs from the manifest's.
    pub modified: Vec<String>,
    /// On disk but not in the manifest.
    pub unlisted: Vec<String>,
    /// Listed and present but unreadable, with the reason.
    pub unreadable: Vec<(String, String)>,
}

impl FixityReport {
    /// True when every listed original is present and intact and nothing
    /// else is there.
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.modified.is_empty() && self.unlisted.is_empty() && self.unreadable.is_empty()
    }
}

/// Recomputes every original's SHA-256 (in parallel) and compares the
/// folder with the manifest.
pub fn check_photoset(photoset: &PhotosetDir) -> Result<FixityReport> {
    let manifest = photoset.manifest()?;
    let on_disk = list_files(&photoset.originals_dir())?;
    let mut report = FixityReport { photoset: photoset.id().to_string(), ..Default::default() };
    report.unlisted = on_disk.iter().filter(|p| manifest.get(p).is_none()).cloned().collect();
    let outcomes: Vec<(String, Result<bool, String>)> = manifest
        .iter()
        .collect::<Vec<_>>()
        .par_iter()
        .map(|(relative, expected)| {
            let path = photoset.original(relative);
            let outcome = match sha256_file(&path) {
                Ok(actual) => Ok(&actual == *expected),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(String::new()),
                Err(e) => Err(e.to_string()),
            };
            (relative.to_string(), outcome)
        })
        .collect();
    for (relative, outcome) in outcomes {
        match outcome {
            Ok(true) => report.ok += 1,
            Ok(false) => report.modified.push(relative),
            Err(reason) if reason.is_empty() => report.missing.push(relative),
            Err(reason) => report.unreadable.push((relative, reason)),
        }
    }
    Ok(report)
}

/// Every regular file below `dir` as a `/`-separated relative path, sorted,
/// skipping heritage's own temporaries. Symbolic links count as files.
pub fn list_files(dir: &Path) -> Result<Vec<String>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1) {
        let entry = entry?;
        if entry.file_type().is_dir() || is_temp_name(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let relative = entry.path().strip_prefix(dir)?;
        let parts: Vec<String> = relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        files.push(parts.join("/"));
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Manifest, sha256_hex};
    use crate::{Archive, SiteMeta, Slug};
    use std::fs;

    #[test]
    fn finds_missing_modified_and_unlisted_files() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::init(dir.path()).unwrap();
        let site = archive.add_site(&Slug::parse("s").unwrap(), &SiteMeta::default()).unwrap();
        let set = site.photoset("p1");
        let originals = set.originals_dir();
        fs::create_dir_all(originals.join("sub")).unwrap();
        let mut manifest = Manifest::default();
        for (name, content) in [("a.jpg", "A"), ("sub/b.jpg", "B"), ("gone.jpg", "G"), ("changed.jpg", "C")] {
            manifest.insert(name.into(), sha256_hex(content.as_bytes()));
            if name != "gone.jpg" {
                fs::write(originals.join(name), content).unwrap();
            }
        }
        fs::write(originals.join("changed.jpg"), "C2").unwrap();
        fs::write(originals.join("extra.jpg"), "E").unwrap();
        manifest.save(&set.manifest_path()).unwrap();

        let report = check_photoset(&set).unwrap();
        assert_eq!(report.ok, 2);
        assert_eq!(report.missing, vec!["gone.jpg"]);
        assert_eq!(report.modified, vec!["changed.jpg"]);
        assert_eq!(report.unlisted, vec!["extra.jpg"]);
        assert!(!report.is_clean());
    }
}
