//! Ingest: a volunteer's folder of photos becomes a photo set of a site.
//!
//! Every file is checked from its content (a full decode catches
//! truncation), hashed, and, when good and new to the site, copied into
//! `originals/` (temporary file, fsync, rename, read-only) and listed in
//! the manifest. Bad files get a reason; one never stops the others.
//! A journal written before the copies lets a killed run be finished by
//! the next one, so every photo ends up stored exactly once.

pub mod check;
pub mod names;
pub mod record;
pub mod recover;

use std::collections::{HashMap, HashSet};
use std::fs::{self, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use heritage_archive::atomic::write_atomic_with;
use heritage_archive::fixity::list_files;
use heritage_archive::{PhotosetDir, Progress, Sha256Hex, SiteDir, Slug, sha256_hex};
use rayon::prelude::*;
use serde::Serialize;

pub use check::{CheckedPhoto, Limits, Rejection, check_photo};
pub use record::{PhotoRecord, PhotosetRecord};

use recover::{PendingCopy, clear_journal, recover_site, write_journal};

/// How to ingest.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Who took or handed in the photos.
    pub contributor: Option<String>,
    /// Photo set id; by default `YYYY-MM-DD` plus the contributor's slug.
    pub photoset: Option<Slug>,
    /// Size limits a photo must meet.
    pub limits: Limits,
}

/// A photo that was stored.
#[derive(Debug, Clone, Serialize)]
pub struct AcceptedFile {
    /// Path in the handed-in folder.
    pub source: String,
    /// Path below the photo set's `originals/`.
    pub stored: String,
    /// SHA-256 of the file.
    pub sha256: Sha256Hex,
    /// JPEG, PNG or TIFF.
    pub format: String,
    /// Stored pixel width.
    pub width: u32,
    /// Stored pixel height.
    pub height: u32,
}

/// A file whose exact bytes the site already has.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateFile {
    /// Path in the handed-in folder.
    pub source: String,
    /// SHA-256 of the file.
    pub sha256: Sha256Hex,
    /// Where the same bytes are: `<photoset>/<path>` in the archive, or
    /// the earlier file of this folder.
    pub same_as: String,
}

/// A file that was not taken, and why.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedFile {
    /// Path in the handed-in folder.
    pub source: String,
    /// The reason, with a code for scripts and a message for people.
    pub reason: Rejection,
}

/// Something in the folder that was not looked at, and why.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedEntry {
    /// Path in the handed-in folder.
    pub path: String,
    /// Why it was passed over.
    pub reason: String,
}

/// A problem that did not stop a photo.
#[derive(Debug, Clone, Serialize)]
pub struct FileWarning {
    /// Path in the handed-in folder.
    pub source: String,
    /// What is wrong.
    pub message: String,
}

/// Everything an ingest did, for the summary table and `--json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    /// The site's slug.
    pub site: String,
    /// The photo set that received the photos (none when nothing was new).
    pub photoset: Option<String>,
    /// Originals completed from an interrupted earlier ingest.
    pub recovered: Vec<String>,
    /// Photos stored.
    pub accepted: Vec<AcceptedFile>,
    /// Files the site already had.
    pub duplicates: Vec<DuplicateFile>,
    /// Files not taken.
    pub rejected: Vec<RejectedFile>,
    /// Entries not looked at (hidden files, link loops, unreadable folders).
    pub skipped: Vec<SkippedEntry>,
    /// Problems that did not stop a photo.
    pub warnings: Vec<FileWarning>,
}

/// A file found in the handed-in folder.
struct Candidate {
    path: PathBuf,
    relative: PathBuf,
}

impl Candidate {
    fn source(&self) -> String {
        self.relative.to_string_lossy().into_owned()
    }
}

/// The verdict on one candidate after the parallel check.
enum Verdict {
    Known { sha256: Sha256Hex, same_as: String },
    Good { sha256: Sha256Hex, bytes: u64, photo: Box<CheckedPhoto> },
    Bad(Rejection),
}

/// Ingests `folder` into `site`. The caller holds the archive lock.
pub fn ingest(site: &SiteDir, folder: &Path, options: &IngestOptions, progress: &dyn Progress) -> Result<IngestReport> {
    if !folder.is_dir() {
        bail!("{} is not a folder: give the folder that holds the photos", folder.display());
    }
    let mut report = IngestReport { site: site.slug().to_string(), ..Default::default() };
    report.recovered = recover_site(site)?;
    let known = known_digests(site)?;
    let candidates = collect_candidates(folder, &mut report.skipped);

    progress.start("checking", candidates.len() as u64);
    let verdicts: Vec<Verdict> = candidates
        .par_iter()
        .map(|candidate| {
            let verdict = judge(&candidate.path, &known, options.limits);
            progress.advance(1);
            verdict
        })
        .collect();
    progress.finish();

    let mut seen: HashMap<Sha256Hex, String> = HashMap::new();
    let mut to_store: Vec<(&Candidate, Sha256Hex, u64, CheckedPhoto)> = Vec::new();
    for (candidate, verdict) in candidates.iter().zip(verdicts) {
        let source = candidate.source();
        match verdict {
            Verdict::Known { sha256, same_as } => report.duplicates.push(DuplicateFile { source, sha256, same_as }),
            Verdict::Bad(reason) => report.rejected.push(RejectedFile { source, reason }),
            Verdict::Good { sha256, bytes, photo } => {
                if let Some(first) = seen.get(&sha256) {
                    report.duplicates.push(DuplicateFile { source, sha256, same_as: first.clone() });
                    continue;
                }
                seen.insert(sha256.clone(), source.clone());
                report
                    .warnings
                    .extend(photo.warnings.iter().map(|m| FileWarning { source: source.clone(), message: m.clone() }));
                to_store.push((candidate, sha256, bytes, *photo));
            }
        }
    }
    if !to_store.is_empty() {
        let photoset = site.photoset(&photoset_id(options).to_string());
        store(&photoset, to_store, options, progress, &mut report)?;
        report.photoset = Some(photoset.id().to_string());
    }
    Ok(report)
}

/// Digest -> `<photoset>/<path>` for every original the site has.
fn known_digests(site: &SiteDir) -> Result<HashMap<Sha256Hex, String>> {
    let mut known = HashMap::new();
    for photoset in site.photosets()? {
        for (path, digest) in photoset.manifest()?.iter() {
            known.entry(digest.clone()).or_insert_with(|| format!("{}/{path}", photoset.id()));
        }
    }
    Ok(known)
}

/// Every regular file below `folder`, sorted, following links but never
/// around a loop; hidden entries and problems go to `skipped`.
fn collect_candidates(folder: &Path, skipped: &mut Vec<SkippedEntry>) -> Vec<Candidate> {
    let mut candidates = Vec::new();
    let walker = walkdir::WalkDir::new(folder).follow_links(true).sort_by_file_name().min_depth(1);
    let mut iter = walker.into_iter();
    while let Some(entry) = iter.next() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let path = e.path().map(|p| relative_to(p, folder)).unwrap_or_default();
                let reason = if e.loop_ancestor().is_some() {
                    "symbolic link loop: not followed".to_string()
                } else {
                    format!("cannot be read: {}", e.io_error().map_or_else(|| e.to_string(), ToString::to_string))
                };
                skipped.push(SkippedEntry { path, reason });
                continue;
            }
        };
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if entry.file_type().is_dir() {
            if hidden {
                skipped.push(SkippedEntry { path: relative_to(entry.path(), folder), reason: "hidden folder".into() });
                iter.skip_current_dir();
            }
            continue;
        }
        if hidden {
            skipped.push(SkippedEntry { path: relative_to(entry.path(), folder), reason: "hidden file".into() });
        } else if entry.file_type().is_file() {
            let relative = entry.path().strip_prefix(folder).unwrap_or(entry.path()).to_path_buf();
            candidates.push(Candidate { path: entry.path().to_path_buf(), relative });
        } else {
            skipped.push(SkippedEntry { path: relative_to(entry.path(), folder), reason: "not a regular file".into() });
        }
    }
    candidates
}

fn relative_to(path: &Path, folder: &Path) -> String {
    path.strip_prefix(folder).unwrap_or(path).to_string_lossy().into_owned()
}

/// Reads, hashes and (unless the site has it already) checks one file.
fn judge(path: &Path, known: &HashMap<Sha256Hex, String>, limits: Limits) -> Verdict {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => return Verdict::Bad(Rejection::Unreadable(e.to_string())),
    };
    let sha256 = sha256_hex(&bytes);
    if let Some(same_as) = known.get(&sha256) {
        return Verdict::Known { sha256, same_as: same_as.clone() };
    }
    match check_photo(&bytes, limits) {
        Ok(photo) => Verdict::Good { sha256, bytes: bytes.len() as u64, photo: Box::new(photo) },
        Err(reason) => Verdict::Bad(reason),
    }
}

fn photoset_id(options: &IngestOptions) -> Slug {
    if let Some(id) = &options.photoset {
        return id.clone();
    }
    let date = record::today();
    let id = match options.contributor.as_deref().and_then(|c| Slug::from_title(c).ok()) {
        Some(who) => format!("{date}-{who}"),
        None => date,
    };
    Slug::parse(&id).expect("a date and a slug joined by a hyphen form a slug")
}

/// Copies the good new photos into `photoset` and records them.
fn store(
    photoset: &PhotosetDir,
    photos: Vec<(&Candidate, Sha256Hex, u64, CheckedPhoto)>,
    options: &IngestOptions,
    progress: &dyn Progress,
    report: &mut IngestReport,
) -> Result<()> {
    let mut manifest = photoset.manifest()?;
    let mut record = PhotosetRecord::load(photoset)?;
    let mut taken: HashSet<String> = manifest.iter().map(|(p, _)| p.clone()).collect();
    taken.extend(list_files(&photoset.originals_dir())?);
    let planned: Vec<(PendingCopy, &Candidate, u64, CheckedPhoto)> = photos
        .into_iter()
        .map(|(candidate, sha256, bytes, photo)| {
            let stored = names::unique_name(&names::stored_name(&candidate.relative), &mut taken);
            (PendingCopy { stored, sha256, source: candidate.source() }, candidate, bytes, photo)
        })
        .collect();
    let pending: Vec<PendingCopy> = planned.iter().map(|(p, ..)| p.clone()).collect();
    write_journal(photoset, &pending)?;

    progress.start("copying", planned.len() as u64);
    let outcomes: Vec<Result<(), CopyError>> = planned
        .par_iter()
        .map(|(copy, candidate, ..)| {
            let outcome = copy_original(&candidate.path, &photoset.original(&copy.stored), &copy.sha256);
            if outcome.is_ok() {
                tracing::info!("stored {}", copy.stored);
                progress.note(&format!("stored {}", copy.stored));
            }
            progress.advance(1);
            outcome
        })
        .collect();
    progress.finish();

    let now = record::now_rfc3339();
    let mut archive_error = None;
    for ((copy, _, bytes, photo), outcome) in planned.into_iter().zip(outcomes) {
        match outcome {
            Ok(()) => {
                manifest.insert(copy.stored.clone(), copy.sha256.clone());
                record.photos.push(PhotoRecord {
                    path: copy.stored.clone(),
                    source: copy.source.clone(),
                    sha256: copy.sha256.clone(),
                    bytes,
                    format: photo.kind.name().to_string(),
                    width: photo.width,
                    height: photo.height,
                    ingested: now.clone(),
                    exif: photo.exif,
                });
                report.accepted.push(AcceptedFile {
                    source: copy.source,
                    stored: copy.stored,
                    sha256: copy.sha256,
                    format: photo.kind.name().to_string(),
                    width: photo.width,
                    height: photo.height,
                });
            }
            Err(CopyError::Source(reason)) => report.rejected.push(RejectedFile { source: copy.source, reason }),
            Err(CopyError::Archive(e)) => archive_error = Some(e),
        }
    }
    manifest.save(&photoset.manifest_path()).context("saving the manifest")?;
    if record.created.is_empty() {
        record.created = now.clone();
    }
    record.updated = now;
    if record.contributor.is_none() {
        record.contributor = options.contributor.clone();
    }
    record.save(photoset)?;
    clear_journal(photoset)?;
    report.rejected.sort_by(|a, b| a.source.cmp(&b.source));
    match archive_error {
        Some(e) => {
            Err(e.context("writing into the archive failed (is the disk full?); run the same ingest again when fixed"))
        }
        None => Ok(()),
    }
}

enum CopyError {
    /// The handed-in file is at fault.
    Source(Rejection),
    /// Writing the archive failed.
    Archive(anyhow::Error),
}

/// Copies `source` to `target` atomically and read-only, checking that the
/// bytes written are the bytes that were checked.
fn copy_original(source: &Path, target: &Path, sha256: &Sha256Hex) -> Result<(), CopyError> {
    let bytes = fs::read(source).map_err(|e| CopyError::Source(Rejection::Unreadable(e.to_string())))?;
    if &sha256_hex(&bytes) != sha256 {
        return Err(CopyError::Source(Rejection::Changed));
    }
    write_atomic_with(target, |file| {
        use std::io::Write;
        file.write_all(&bytes)?;
        file.set_permissions(Permissions::from_mode(0o444))
    })
    .with_context(|| format!("storing {}", target.display()))
    .map_err(CopyError::Archive)
}
