//! Finishing an ingest that was killed: the journal written before any
//! copy says which originals that run meant to add; those that made it
//! (renamed into place, so complete) are listed in the manifest now.

use std::path::Path;

use anyhow::{Context, Result};
use heritage_archive::atomic::{remove_stale_temps, write_atomic};
use heritage_archive::{PhotosetDir, Sha256Hex, SiteDir, sha256_file};
use serde::{Deserialize, Serialize};

use crate::check::{Limits, check_photo};
use crate::record::{PhotoRecord, PhotosetRecord, now_rfc3339};

/// One copy an ingest is about to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingCopy {
    /// Path below `originals/`.
    pub stored: String,
    /// Expected SHA-256.
    pub sha256: Sha256Hex,
    /// Path in the handed-in folder.
    pub source: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Journal {
    #[serde(default)]
    pending: Vec<PendingCopy>,
}

/// Path of a photo set's ingest journal.
fn journal_path(photoset: &PhotosetDir) -> std::path::PathBuf {
    photoset.root().join("ingest-journal.toml")
}

/// Writes the journal of the copies about to be made.
pub fn write_journal(photoset: &PhotosetDir, pending: &[PendingCopy]) -> Result<()> {
    let text = toml::to_string(&Journal { pending: pending.to_vec() })?;
    write_atomic(&journal_path(photoset), text.as_bytes()).context("writing the ingest journal")
}

/// Removes the journal once the manifest and record are saved.
pub fn clear_journal(photoset: &PhotosetDir) -> Result<()> {
    match std::fs::remove_file(journal_path(photoset)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).context("removing the ingest journal"),
        _ => Ok(()),
    }
}

/// Repairs every photo set of `site` left by a killed ingest. Returns the
/// stored paths (`<photoset>/<path>`) that were completed.
pub fn recover_site(site: &SiteDir) -> Result<Vec<String>> {
    let mut recovered = Vec::new();
    for photoset in site.photosets()? {
        remove_temps_below(&photoset.originals_dir())?;
        let path = journal_path(&photoset);
        if !path.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let journal: Journal = toml::from_str(&text).unwrap_or_default();
        let mut manifest = photoset.manifest()?;
        let mut record = PhotosetRecord::load(&photoset)?;
        for copy in journal.pending {
            if manifest.get(&copy.stored).is_some() {
                continue;
            }
            let original = photoset.original(&copy.stored);
            if original.exists() && sha256_file(&original).ok().as_ref() == Some(&copy.sha256) {
                manifest.insert(copy.stored.clone(), copy.sha256.clone());
                recovered.push(format!("{}/{}", photoset.id(), copy.stored));
                tracing::info!("recovered {} from an interrupted ingest", copy.stored);
            }
            if manifest.get(&copy.stored).is_some() && !record.photos.iter().any(|p| p.path == copy.stored) {
                record.photos.push(describe_stored(&original, &copy)?);
            }
        }
        manifest.save(&photoset.manifest_path())?;
        record.updated = now_rfc3339();
        record.save(&photoset)?;
        clear_journal(&photoset)?;
    }
    Ok(recovered)
}

/// Rebuilds the record of an original that is already stored.
fn describe_stored(original: &Path, copy: &PendingCopy) -> Result<PhotoRecord> {
    let bytes = std::fs::read(original).with_context(|| format!("reading {}", original.display()))?;
    let checked = check_photo(&bytes, Limits { max_pixels: u64::MAX, min_long_side: 0 })
        .map_err(|e| anyhow::anyhow!("{}: {e}", original.display()))?;
    Ok(PhotoRecord {
        path: copy.stored.clone(),
        source: copy.source.clone(),
        sha256: copy.sha256.clone(),
        bytes: bytes.len() as u64,
        format: checked.kind.name().to_string(),
        width: checked.width,
        height: checked.height,
        ingested: now_rfc3339(),
        exif: checked.exif,
    })
}

/// Removes temporaries in `dir` and every folder below it.
fn remove_temps_below(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let dirs: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_dir())
        .map(walkdir::DirEntry::into_path)
        .collect();
    for dir in dirs {
        remove_stale_temps(&dir)?;
    }
    Ok(())
}
